/* CreateTopics, DeleteTopics, DescribeConfigs, CreatePartitions and SASL message tables. */
#include "msg_admin.h"

/*
 * Transcribed from Kafka's message specs (versions, nullableVersions,
 * taggedVersions, defaults).  Fields that exist only below kwal's vmin stay
 * in the tables with their exact masks, so a table reads like the spec.
 */

/* ---- CreateTopics (19): versions 2-7, flexible from 5 ---- */

static const kw_field create_topics_req_assignment_fields[] = {
    KW_F(kw_create_topics_req_assignment, partition_index, KW_T_INT32, KW_VALL),
    KW_FP(kw_create_topics_req_assignment, broker_ids, KW_T_INT32, KW_VALL),
};
static const kw_schema create_topics_req_assignment =
    KW_SCHEMA(kw_create_topics_req_assignment, create_topics_req_assignment_fields);

static const kw_field create_topics_req_config_fields[] = {
    KW_F(kw_create_topics_req_config, name, KW_T_STRING, KW_VALL),
    KW_F(kw_create_topics_req_config, value, KW_T_STRING, KW_VALL, .nullv = KW_VALL),
};
static const kw_schema create_topics_req_config =
    KW_SCHEMA(kw_create_topics_req_config, create_topics_req_config_fields);

static const kw_field create_topics_req_topic_fields[] = {
    KW_F(kw_create_topics_req_topic, name, KW_T_STRING, KW_VALL),
    KW_F(kw_create_topics_req_topic, num_partitions, KW_T_INT32, KW_VALL),
    KW_F(kw_create_topics_req_topic, replication_factor, KW_T_INT16, KW_VALL),
    KW_FA(kw_create_topics_req_topic, assignments, create_topics_req_assignment, KW_VALL),
    KW_FA(kw_create_topics_req_topic, configs, create_topics_req_config, KW_VALL),
};
static const kw_schema create_topics_req_topic =
    KW_SCHEMA(kw_create_topics_req_topic, create_topics_req_topic_fields);

static const kw_field create_topics_req_fields[] = {
    KW_FA(kw_create_topics_req, topics, create_topics_req_topic, KW_VALL),
    KW_F(kw_create_topics_req, timeout_ms, KW_T_INT32, KW_VALL, .dflt = 60000),
    KW_F(kw_create_topics_req, validate_only, KW_T_BOOL, KW_VFROM(1)),
};
static const kw_schema create_topics_req =
    KW_SCHEMA(kw_create_topics_req, create_topics_req_fields);

static const kw_field create_topics_resp_config_fields[] = {
    KW_F(kw_create_topics_resp_config, name, KW_T_STRING, KW_VFROM(5)),
    KW_F(kw_create_topics_resp_config, value, KW_T_STRING, KW_VFROM(5), .nullv = KW_VFROM(5)),
    KW_F(kw_create_topics_resp_config, read_only, KW_T_BOOL, KW_VFROM(5)),
    KW_F(kw_create_topics_resp_config, config_source, KW_T_INT8, KW_VFROM(5), .dflt = -1),
    KW_F(kw_create_topics_resp_config, is_sensitive, KW_T_BOOL, KW_VFROM(5)),
};
static const kw_schema create_topics_resp_config =
    KW_SCHEMA(kw_create_topics_resp_config, create_topics_resp_config_fields);

static const kw_field create_topics_resp_topic_fields[] = {
    KW_F(kw_create_topics_resp_topic, name, KW_T_STRING, KW_VALL),
    KW_F(kw_create_topics_resp_topic, topic_id, KW_T_UUID, KW_VFROM(7)),
    KW_F(kw_create_topics_resp_topic, error_code, KW_T_INT16, KW_VALL),
    KW_F(kw_create_topics_resp_topic, error_message, KW_T_STRING, KW_VFROM(1), .nullv = KW_VALL),
    KW_F(kw_create_topics_resp_topic, topic_config_error_code, KW_T_INT16, KW_VFROM(5), .tag = 0,
         .tagv = KW_VFROM(5)),
    KW_F(kw_create_topics_resp_topic, num_partitions, KW_T_INT32, KW_VFROM(5), .dflt = -1),
    KW_F(kw_create_topics_resp_topic, replication_factor, KW_T_INT16, KW_VFROM(5), .dflt = -1),
    KW_FA(kw_create_topics_resp_topic, configs, create_topics_resp_config, KW_VFROM(5),
          .nullv = KW_VFROM(5)),
};
static const kw_schema create_topics_resp_topic =
    KW_SCHEMA(kw_create_topics_resp_topic, create_topics_resp_topic_fields);

static const kw_field create_topics_resp_fields[] = {
    KW_F(kw_create_topics_resp, throttle_time_ms, KW_T_INT32, KW_VFROM(2)),
    KW_FA(kw_create_topics_resp, topics, create_topics_resp_topic, KW_VALL),
};
static const kw_schema create_topics_resp =
    KW_SCHEMA(kw_create_topics_resp, create_topics_resp_fields);

const kw_api kw__api_create_topics = {
    .key = KW_API_CREATE_TOPICS,
    .name = "CreateTopics",
    .vmin = 2,
    .vmax = 7,
    .flex = 5,
    .req = &create_topics_req,
    .resp = &create_topics_resp,
};

/* ---- DeleteTopics (20): versions 1-6, flexible from 4 ---- */

static const kw_field delete_topics_req_topic_fields[] = {
    KW_F(kw_delete_topics_req_topic, name, KW_T_STRING, KW_VFROM(6), .nullv = KW_VFROM(6),
         .dflt = -1),
    KW_F(kw_delete_topics_req_topic, topic_id, KW_T_UUID, KW_VFROM(6)),
};
static const kw_schema delete_topics_req_topic =
    KW_SCHEMA(kw_delete_topics_req_topic, delete_topics_req_topic_fields);

/* v6 replaced the list of names by (name, id) pairs: the two arrays never
 * share a version. */
static const kw_field delete_topics_req_fields[] = {
    KW_FA(kw_delete_topics_req, topics, delete_topics_req_topic, KW_VFROM(6)),
    KW_FP(kw_delete_topics_req, topic_names, KW_T_STRING, KW_V(0, 5)),
    KW_F(kw_delete_topics_req, timeout_ms, KW_T_INT32, KW_VALL),
};
static const kw_schema delete_topics_req =
    KW_SCHEMA(kw_delete_topics_req, delete_topics_req_fields);

static const kw_field delete_topics_resp_result_fields[] = {
    KW_F(kw_delete_topics_resp_result, name, KW_T_STRING, KW_VALL, .nullv = KW_VFROM(6)),
    KW_F(kw_delete_topics_resp_result, topic_id, KW_T_UUID, KW_VFROM(6)),
    KW_F(kw_delete_topics_resp_result, error_code, KW_T_INT16, KW_VALL),
    KW_F(kw_delete_topics_resp_result, error_message, KW_T_STRING, KW_VFROM(5),
         .nullv = KW_VFROM(5), .dflt = -1),
};
static const kw_schema delete_topics_resp_result =
    KW_SCHEMA(kw_delete_topics_resp_result, delete_topics_resp_result_fields);

static const kw_field delete_topics_resp_fields[] = {
    KW_F(kw_delete_topics_resp, throttle_time_ms, KW_T_INT32, KW_VFROM(1)),
    KW_FA(kw_delete_topics_resp, responses, delete_topics_resp_result, KW_VALL),
};
static const kw_schema delete_topics_resp =
    KW_SCHEMA(kw_delete_topics_resp, delete_topics_resp_fields);

const kw_api kw__api_delete_topics = {
    .key = KW_API_DELETE_TOPICS,
    .name = "DeleteTopics",
    .vmin = 1,
    .vmax = 6,
    .flex = 4,
    .req = &delete_topics_req,
    .resp = &delete_topics_resp,
};

/* ---- DescribeConfigs (32): versions 1-4, flexible from 4 ---- */

static const kw_field describe_configs_req_resource_fields[] = {
    KW_F(kw_describe_configs_req_resource, resource_type, KW_T_INT8, KW_VALL),
    KW_F(kw_describe_configs_req_resource, resource_name, KW_T_STRING, KW_VALL),
    KW_FP(kw_describe_configs_req_resource, configuration_keys, KW_T_STRING, KW_VALL,
          .nullv = KW_VALL),
};
static const kw_schema describe_configs_req_resource =
    KW_SCHEMA(kw_describe_configs_req_resource, describe_configs_req_resource_fields);

static const kw_field describe_configs_req_fields[] = {
    KW_FA(kw_describe_configs_req, resources, describe_configs_req_resource, KW_VALL),
    KW_F(kw_describe_configs_req, include_synonyms, KW_T_BOOL, KW_VFROM(1)),
    KW_F(kw_describe_configs_req, include_documentation, KW_T_BOOL, KW_VFROM(3)),
};
static const kw_schema describe_configs_req =
    KW_SCHEMA(kw_describe_configs_req, describe_configs_req_fields);

static const kw_field describe_configs_resp_synonym_fields[] = {
    KW_F(kw_describe_configs_resp_synonym, name, KW_T_STRING, KW_VFROM(1)),
    KW_F(kw_describe_configs_resp_synonym, value, KW_T_STRING, KW_VFROM(1), .nullv = KW_VALL),
    KW_F(kw_describe_configs_resp_synonym, source, KW_T_INT8, KW_VFROM(1)),
};
static const kw_schema describe_configs_resp_synonym =
    KW_SCHEMA(kw_describe_configs_resp_synonym, describe_configs_resp_synonym_fields);

static const kw_field describe_configs_resp_config_fields[] = {
    KW_F(kw_describe_configs_resp_config, name, KW_T_STRING, KW_VALL),
    KW_F(kw_describe_configs_resp_config, value, KW_T_STRING, KW_VALL, .nullv = KW_VALL),
    KW_F(kw_describe_configs_resp_config, read_only, KW_T_BOOL, KW_VALL),
    KW_F(kw_describe_configs_resp_config, is_default, KW_T_BOOL, KW_V(0, 0)),
    KW_F(kw_describe_configs_resp_config, config_source, KW_T_INT8, KW_VFROM(1), .dflt = -1),
    KW_F(kw_describe_configs_resp_config, is_sensitive, KW_T_BOOL, KW_VALL),
    KW_FA(kw_describe_configs_resp_config, synonyms, describe_configs_resp_synonym, KW_VFROM(1)),
    KW_F(kw_describe_configs_resp_config, config_type, KW_T_INT8, KW_VFROM(3)),
    KW_F(kw_describe_configs_resp_config, documentation, KW_T_STRING, KW_VFROM(3),
         .nullv = KW_VALL),
};
static const kw_schema describe_configs_resp_config =
    KW_SCHEMA(kw_describe_configs_resp_config, describe_configs_resp_config_fields);

static const kw_field describe_configs_resp_result_fields[] = {
    KW_F(kw_describe_configs_resp_result, error_code, KW_T_INT16, KW_VALL),
    KW_F(kw_describe_configs_resp_result, error_message, KW_T_STRING, KW_VALL, .nullv = KW_VALL),
    KW_F(kw_describe_configs_resp_result, resource_type, KW_T_INT8, KW_VALL),
    KW_F(kw_describe_configs_resp_result, resource_name, KW_T_STRING, KW_VALL),
    KW_FA(kw_describe_configs_resp_result, configs, describe_configs_resp_config, KW_VALL),
};
static const kw_schema describe_configs_resp_result =
    KW_SCHEMA(kw_describe_configs_resp_result, describe_configs_resp_result_fields);

static const kw_field describe_configs_resp_fields[] = {
    KW_F(kw_describe_configs_resp, throttle_time_ms, KW_T_INT32, KW_VALL),
    KW_FA(kw_describe_configs_resp, results, describe_configs_resp_result, KW_VALL),
};
static const kw_schema describe_configs_resp =
    KW_SCHEMA(kw_describe_configs_resp, describe_configs_resp_fields);

const kw_api kw__api_describe_configs = {
    .key = KW_API_DESCRIBE_CONFIGS,
    .name = "DescribeConfigs",
    .vmin = 1,
    .vmax = 4,
    .flex = 4,
    .req = &describe_configs_req,
    .resp = &describe_configs_resp,
};

/* ---- CreatePartitions (37): versions 0-3, flexible from 2 ---- */

static const kw_field create_partitions_req_assignment_fields[] = {
    KW_FP(kw_create_partitions_req_assignment, broker_ids, KW_T_INT32, KW_VALL),
};
static const kw_schema create_partitions_req_assignment =
    KW_SCHEMA(kw_create_partitions_req_assignment, create_partitions_req_assignment_fields);

static const kw_field create_partitions_req_topic_fields[] = {
    KW_F(kw_create_partitions_req_topic, name, KW_T_STRING, KW_VALL),
    KW_F(kw_create_partitions_req_topic, count, KW_T_INT32, KW_VALL),
    KW_FA(kw_create_partitions_req_topic, assignments, create_partitions_req_assignment, KW_VALL,
          .nullv = KW_VALL),
};
static const kw_schema create_partitions_req_topic =
    KW_SCHEMA(kw_create_partitions_req_topic, create_partitions_req_topic_fields);

static const kw_field create_partitions_req_fields[] = {
    KW_FA(kw_create_partitions_req, topics, create_partitions_req_topic, KW_VALL),
    KW_F(kw_create_partitions_req, timeout_ms, KW_T_INT32, KW_VALL),
    KW_F(kw_create_partitions_req, validate_only, KW_T_BOOL, KW_VALL),
};
static const kw_schema create_partitions_req =
    KW_SCHEMA(kw_create_partitions_req, create_partitions_req_fields);

static const kw_field create_partitions_resp_result_fields[] = {
    KW_F(kw_create_partitions_resp_result, name, KW_T_STRING, KW_VALL),
    KW_F(kw_create_partitions_resp_result, error_code, KW_T_INT16, KW_VALL),
    KW_F(kw_create_partitions_resp_result, error_message, KW_T_STRING, KW_VALL, .nullv = KW_VALL,
         .dflt = -1),
};
static const kw_schema create_partitions_resp_result =
    KW_SCHEMA(kw_create_partitions_resp_result, create_partitions_resp_result_fields);

static const kw_field create_partitions_resp_fields[] = {
    KW_F(kw_create_partitions_resp, throttle_time_ms, KW_T_INT32, KW_VALL),
    KW_FA(kw_create_partitions_resp, results, create_partitions_resp_result, KW_VALL),
};
static const kw_schema create_partitions_resp =
    KW_SCHEMA(kw_create_partitions_resp, create_partitions_resp_fields);

const kw_api kw__api_create_partitions = {
    .key = KW_API_CREATE_PARTITIONS,
    .name = "CreatePartitions",
    .vmin = 0,
    .vmax = 3,
    .flex = 2,
    .req = &create_partitions_req,
    .resp = &create_partitions_resp,
};

/* ---- SaslHandshake (17): versions 0-1, never flexible ---- */

static const kw_field sasl_handshake_req_fields[] = {
    KW_F(kw_sasl_handshake_req, mechanism, KW_T_STRING, KW_VALL),
};
static const kw_schema sasl_handshake_req =
    KW_SCHEMA(kw_sasl_handshake_req, sasl_handshake_req_fields);

static const kw_field sasl_handshake_resp_fields[] = {
    KW_F(kw_sasl_handshake_resp, error_code, KW_T_INT16, KW_VALL),
    KW_FP(kw_sasl_handshake_resp, mechanisms, KW_T_STRING, KW_VALL),
};
static const kw_schema sasl_handshake_resp =
    KW_SCHEMA(kw_sasl_handshake_resp, sasl_handshake_resp_fields);

/* Kafka cannot make this API flexible: clients up to 2.4 negotiate it wrongly
 * (KAFKA-9577), so both versions stay on classic encodings. */
const kw_api kw__api_sasl_handshake = {
    .key = KW_API_SASL_HANDSHAKE,
    .name = "SaslHandshake",
    .vmin = 0,
    .vmax = 1,
    .flex = INT16_MAX,
    .req = &sasl_handshake_req,
    .resp = &sasl_handshake_resp,
};

/* ---- SaslAuthenticate (36): versions 0-2, flexible from 2 ---- */

static const kw_field sasl_authenticate_req_fields[] = {
    KW_F(kw_sasl_authenticate_req, auth_bytes, KW_T_BYTES, KW_VALL),
};
static const kw_schema sasl_authenticate_req =
    KW_SCHEMA(kw_sasl_authenticate_req, sasl_authenticate_req_fields);

static const kw_field sasl_authenticate_resp_fields[] = {
    KW_F(kw_sasl_authenticate_resp, error_code, KW_T_INT16, KW_VALL),
    KW_F(kw_sasl_authenticate_resp, error_message, KW_T_STRING, KW_VALL, .nullv = KW_VALL),
    KW_F(kw_sasl_authenticate_resp, auth_bytes, KW_T_BYTES, KW_VALL),
    KW_F(kw_sasl_authenticate_resp, session_lifetime_ms, KW_T_INT64, KW_VFROM(1)),
};
static const kw_schema sasl_authenticate_resp =
    KW_SCHEMA(kw_sasl_authenticate_resp, sasl_authenticate_resp_fields);

const kw_api kw__api_sasl_authenticate = {
    .key = KW_API_SASL_AUTHENTICATE,
    .name = "SaslAuthenticate",
    .vmin = 0,
    .vmax = 2,
    .flex = 2,
    .req = &sasl_authenticate_req,
    .resp = &sasl_authenticate_resp,
};
