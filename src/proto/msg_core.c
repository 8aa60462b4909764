/* ApiVersions message tables (Kafka's ApiVersionsRequest/Response, versions 0-4). */
#include "msg_core.h"

static const kw_field api_versions_req_fields[] = {
    KW_F(kw_api_versions_req, client_software_name, KW_T_STRING, KW_VFROM(3)),
    KW_F(kw_api_versions_req, client_software_version, KW_T_STRING, KW_VFROM(3)),
};
static const kw_schema api_versions_req = KW_SCHEMA(kw_api_versions_req, api_versions_req_fields);

static const kw_field api_versions_key_fields[] = {
    KW_F(kw_api_versions_key, api_key, KW_T_INT16, KW_VALL),
    KW_F(kw_api_versions_key, min_version, KW_T_INT16, KW_VALL),
    KW_F(kw_api_versions_key, max_version, KW_T_INT16, KW_VALL),
};
static const kw_schema api_versions_key = KW_SCHEMA(kw_api_versions_key, api_versions_key_fields);

static const kw_field api_versions_feature_fields[] = {
    KW_F(kw_api_versions_feature, name, KW_T_STRING, KW_VFROM(3)),
    KW_F(kw_api_versions_feature, min_version, KW_T_INT16, KW_VFROM(3)),
    KW_F(kw_api_versions_feature, max_version, KW_T_INT16, KW_VFROM(3)),
};
static const kw_schema api_versions_feature =
    KW_SCHEMA(kw_api_versions_feature, api_versions_feature_fields);

static const kw_field api_versions_finalized_fields[] = {
    KW_F(kw_api_versions_finalized, name, KW_T_STRING, KW_VFROM(3)),
    KW_F(kw_api_versions_finalized, max_version_level, KW_T_INT16, KW_VFROM(3)),
    KW_F(kw_api_versions_finalized, min_version_level, KW_T_INT16, KW_VFROM(3)),
};
static const kw_schema api_versions_finalized =
    KW_SCHEMA(kw_api_versions_finalized, api_versions_finalized_fields);

static const kw_field api_versions_resp_fields[] = {
    KW_F(kw_api_versions_resp, error_code, KW_T_INT16, KW_VALL),
    KW_FA(kw_api_versions_resp, api_keys, api_versions_key, KW_VALL),
    KW_F(kw_api_versions_resp, throttle_time_ms, KW_T_INT32, KW_VFROM(1)),
    KW_FA(kw_api_versions_resp, supported_features, api_versions_feature, KW_VFROM(3),
          .tag = 0, .tagv = KW_VFROM(3)),
    KW_F(kw_api_versions_resp, finalized_features_epoch, KW_T_INT64, KW_VFROM(3), .tag = 1,
         .tagv = KW_VFROM(3), .dflt = -1),
    KW_FA(kw_api_versions_resp, finalized_features, api_versions_finalized, KW_VFROM(3),
          .tag = 2, .tagv = KW_VFROM(3)),
    KW_F(kw_api_versions_resp, zk_migration_ready, KW_T_BOOL, KW_VFROM(3), .tag = 3,
         .tagv = KW_VFROM(3)),
};
static const kw_schema api_versions_resp =
    KW_SCHEMA(kw_api_versions_resp, api_versions_resp_fields);

const kw_api kw__api_api_versions = {
    .key = KW_API_API_VERSIONS,
    .name = "ApiVersions",
    .vmin = 0,
    .vmax = 4,
    .flex = 3,
    .req = &api_versions_req,
    .resp = &api_versions_resp,
};
