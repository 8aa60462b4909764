/* ApiVersions: the first request on every connection, and the one the version negotiation reads. */
#ifndef KW_PROTO_MSG_CORE_H
#define KW_PROTO_MSG_CORE_H

#include "msg.h"

/* ApiVersions (18), versions 0-4, flexible from 3. */
typedef struct kw_api_versions_req {
    kw_str client_software_name;    /* v3+ */
    kw_str client_software_version; /* v3+ */
} kw_api_versions_req;

typedef struct kw_api_versions_key {
    int16_t api_key;
    int16_t min_version;
    int16_t max_version;
} kw_api_versions_key;

typedef struct kw_api_versions_feature {
    kw_str name;
    int16_t min_version;
    int16_t max_version;
} kw_api_versions_feature;

typedef struct kw_api_versions_finalized {
    kw_str name;
    int16_t max_version_level;
    int16_t min_version_level;
} kw_api_versions_finalized;

typedef struct kw_api_versions_resp {
    int16_t error_code;
    KW_ARRAY(kw_api_versions_key) api_keys;
    int32_t throttle_time_ms;                                   /* v1+ */
    KW_ARRAY(kw_api_versions_feature) supported_features;       /* v3+, tag 0 */
    int64_t finalized_features_epoch;                           /* v3+, tag 1, default -1 */
    KW_ARRAY(kw_api_versions_finalized) finalized_features;     /* v3+, tag 2 */
    bool zk_migration_ready;                                    /* v3+, tag 3 */
} kw_api_versions_resp;

#endif /* KW_PROTO_MSG_CORE_H */
