/* CreateTopics, DeleteTopics, DescribeConfigs, CreatePartitions and SASL message tables. */
#ifndef KW_PROTO_MSG_ADMIN_H
#define KW_PROTO_MSG_ADMIN_H

#include "msg.h"

/*
 * Version notes on members give the versions a field is in; a field outside
 * the version being encoded is neither written nor read.  Members tagged
 * "null ok" may be null (len/n == -1) in the versions named.
 */

/* ---- CreateTopics (19) ---- */

/* CreateTopics request manual assignment, versions 2-7, flexible from 5. */
typedef struct kw_create_topics_req_assignment {
    int32_t partition_index;
    KW_ARRAY(int32_t) broker_ids;
} kw_create_topics_req_assignment;

/* CreateTopics request topic config, versions 2-7, flexible from 5. */
typedef struct kw_create_topics_req_config {
    kw_str name;
    kw_str value; /* null ok */
} kw_create_topics_req_config;

/* CreateTopics request topic, versions 2-7, flexible from 5. */
typedef struct kw_create_topics_req_topic {
    kw_str name;
    int32_t num_partitions;     /* -1 with assignments or for the broker default (v4+) */
    int16_t replication_factor; /* -1 likewise */
    KW_ARRAY(kw_create_topics_req_assignment) assignments;
    KW_ARRAY(kw_create_topics_req_config) configs;
} kw_create_topics_req_topic;

/* CreateTopics (19) request, versions 2-7, flexible from 5. */
typedef struct kw_create_topics_req {
    KW_ARRAY(kw_create_topics_req_topic) topics;
    int32_t timeout_ms; /* default 60000 */
    bool validate_only; /* v1+ */
} kw_create_topics_req;

/* CreateTopics response config of a created topic, versions 5-7 (flexible). */
typedef struct kw_create_topics_resp_config {
    kw_str name;
    kw_str value; /* null ok */
    bool read_only;
    int8_t config_source; /* default -1 */
    bool is_sensitive;
} kw_create_topics_resp_config;

/* CreateTopics response topic result, versions 2-7, flexible from 5. */
typedef struct kw_create_topics_resp_topic {
    kw_str name;
    kw_uuid topic_id; /* v7+ */
    int16_t error_code;
    kw_str error_message;                           /* v1+, null ok */
    int16_t topic_config_error_code;                /* v5+, tag 0 */
    int32_t num_partitions;                         /* v5+, default -1 */
    int16_t replication_factor;                     /* v5+, default -1 */
    KW_ARRAY(kw_create_topics_resp_config) configs; /* v5+, null ok */
} kw_create_topics_resp_topic;

/* CreateTopics (19) response, versions 2-7, flexible from 5. */
typedef struct kw_create_topics_resp {
    int32_t throttle_time_ms; /* v2+ */
    KW_ARRAY(kw_create_topics_resp_topic) topics;
} kw_create_topics_resp;

/* ---- DeleteTopics (20) ---- */

/* DeleteTopics request topic by name or id, versions 6+ of 1-6, flexible from 4. */
typedef struct kw_delete_topics_req_topic {
    kw_str name; /* null ok (delete by id); default null */
    kw_uuid topic_id;
} kw_delete_topics_req_topic;

/* DeleteTopics (20) request, versions 1-6, flexible from 4. */
typedef struct kw_delete_topics_req {
    KW_ARRAY(kw_delete_topics_req_topic) topics; /* v6+ */
    KW_ARRAY(kw_str) topic_names;                /* v0-5 */
    int32_t timeout_ms;
} kw_delete_topics_req;

/* DeleteTopics response topic result, versions 1-6, flexible from 4. */
typedef struct kw_delete_topics_resp_result {
    kw_str name;      /* null ok v6+ */
    kw_uuid topic_id; /* v6+ */
    int16_t error_code;
    kw_str error_message; /* v5+, null ok, default null */
} kw_delete_topics_resp_result;

/* DeleteTopics (20) response, versions 1-6, flexible from 4. */
typedef struct kw_delete_topics_resp {
    int32_t throttle_time_ms; /* v1+ */
    KW_ARRAY(kw_delete_topics_resp_result) responses;
} kw_delete_topics_resp;

/* ---- DescribeConfigs (32) ---- */

/* DescribeConfigs request resource, versions 1-4, flexible from 4. */
typedef struct kw_describe_configs_req_resource {
    int8_t resource_type; /* 2 topic, 4 broker, 8 broker logger */
    kw_str resource_name;
    KW_ARRAY(kw_str) configuration_keys; /* null ok: null = every key */
} kw_describe_configs_req_resource;

/* DescribeConfigs (32) request, versions 1-4, flexible from 4. */
typedef struct kw_describe_configs_req {
    KW_ARRAY(kw_describe_configs_req_resource) resources;
    bool include_synonyms;      /* v1+ */
    bool include_documentation; /* v3+ */
} kw_describe_configs_req;

/* DescribeConfigs response config synonym, versions 1-4, flexible from 4. */
typedef struct kw_describe_configs_resp_synonym {
    kw_str name;
    kw_str value; /* null ok */
    int8_t source;
} kw_describe_configs_resp_synonym;

/* DescribeConfigs response config entry, versions 1-4, flexible from 4. */
typedef struct kw_describe_configs_resp_config {
    kw_str name;
    kw_str value; /* null ok */
    bool read_only;
    bool is_default;      /* v0 only */
    int8_t config_source; /* v1+, default -1 */
    bool is_sensitive;
    KW_ARRAY(kw_describe_configs_resp_synonym) synonyms; /* v1+ */
    int8_t config_type;                                  /* v3+ */
    kw_str documentation;                                /* v3+, null ok */
} kw_describe_configs_resp_config;

/* DescribeConfigs response resource result, versions 1-4, flexible from 4. */
typedef struct kw_describe_configs_resp_result {
    int16_t error_code;
    kw_str error_message; /* null ok */
    int8_t resource_type;
    kw_str resource_name;
    KW_ARRAY(kw_describe_configs_resp_config) configs;
} kw_describe_configs_resp_result;

/* DescribeConfigs (32) response, versions 1-4, flexible from 4. */
typedef struct kw_describe_configs_resp {
    int32_t throttle_time_ms;
    KW_ARRAY(kw_describe_configs_resp_result) results;
} kw_describe_configs_resp;

/* ---- CreatePartitions (37) ---- */

/* CreatePartitions request assignment of one new partition, versions 0-3, flexible from 2. */
typedef struct kw_create_partitions_req_assignment {
    KW_ARRAY(int32_t) broker_ids;
} kw_create_partitions_req_assignment;

/* CreatePartitions request topic, versions 0-3, flexible from 2. */
typedef struct kw_create_partitions_req_topic {
    kw_str name;
    int32_t count; /* the new total partition count */
    /* null ok; the spec default is empty, but the broker places partitions
     * itself only when this is null, so callers wanting that set n = -1 */
    KW_ARRAY(kw_create_partitions_req_assignment) assignments;
} kw_create_partitions_req_topic;

/* CreatePartitions (37) request, versions 0-3, flexible from 2. */
typedef struct kw_create_partitions_req {
    KW_ARRAY(kw_create_partitions_req_topic) topics;
    int32_t timeout_ms;
    bool validate_only;
} kw_create_partitions_req;

/* CreatePartitions response topic result, versions 0-3, flexible from 2. */
typedef struct kw_create_partitions_resp_result {
    kw_str name;
    int16_t error_code;
    kw_str error_message; /* null ok, default null */
} kw_create_partitions_resp_result;

/* CreatePartitions (37) response, versions 0-3, flexible from 2. */
typedef struct kw_create_partitions_resp {
    int32_t throttle_time_ms;
    KW_ARRAY(kw_create_partitions_resp_result) results;
} kw_create_partitions_resp;

/* ---- SaslHandshake (17) ---- */

/* SaslHandshake (17) request, versions 0-1, never flexible. */
typedef struct kw_sasl_handshake_req {
    kw_str mechanism;
} kw_sasl_handshake_req;

/* SaslHandshake (17) response, versions 0-1, never flexible. */
typedef struct kw_sasl_handshake_resp {
    int16_t error_code;
    KW_ARRAY(kw_str) mechanisms;
} kw_sasl_handshake_resp;

/* ---- SaslAuthenticate (36) ---- */

/* SaslAuthenticate (36) request, versions 0-2, flexible from 2. */
typedef struct kw_sasl_authenticate_req {
    kw_bytes auth_bytes;
} kw_sasl_authenticate_req;

/* SaslAuthenticate (36) response, versions 0-2, flexible from 2. */
typedef struct kw_sasl_authenticate_resp {
    int16_t error_code;
    kw_str error_message; /* null ok */
    kw_bytes auth_bytes;
    int64_t session_lifetime_ms; /* v1+; 0 = the session never expires (KIP-368) */
} kw_sasl_authenticate_resp;

#endif /* KW_PROTO_MSG_ADMIN_H */
