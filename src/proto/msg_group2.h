/* Group listing/describing, KIP-848 consumer groups and transactional offsets: the second group message file */
#ifndef KW_PROTO_MSG_GROUP2_H
#define KW_PROTO_MSG_GROUP2_H

#include "msg.h"

/* The API descriptions (key, versions, tables); msg.c lists them in its registry too. */
extern const kw_api kw__api_describe_groups, kw__api_list_groups, kw__api_add_offsets_to_txn,
    kw__api_txn_offset_commit, kw__api_consumer_group_heartbeat,
    kw__api_consumer_group_describe;

/*
 * The C structs of Kafka's DescribeGroups, ListGroups, AddOffsetsToTxn,
 * TxnOffsetCommit, ConsumerGroupHeartbeat and ConsumerGroupDescribe
 * messages, with the conventions of msg_group.h: members in the spec's field
 * order, a comment giving the versions a member exists in when that is not
 * every version and its default when that is not zero or empty ("null").
 * msg_group.h holds the older group and transaction APIs; this file keeps
 * both under the project's size limit.
 */

/* ---- DescribeGroups (15) ---- */

/* DescribeGroups (15) request, versions 0-6, flexible from 5. */
typedef struct kw_describe_groups_req {
    KW_ARRAY(kw_str) groups;
    bool include_authorized_operations; /* v3+ */
} kw_describe_groups_req;

/* DescribeGroups (15) response member, versions 0-6, flexible from 5. */
typedef struct kw_describe_groups_resp_member {
    kw_str member_id;
    kw_str group_instance_id; /* v4+, nullable, default null */
    kw_str client_id;
    kw_str client_host;
    kw_bytes member_metadata;   /* only while the group is Stable */
    kw_bytes member_assignment; /* only while the group is Stable */
} kw_describe_groups_resp_member;

/* DescribeGroups (15) response group, versions 0-6, flexible from 5. */
typedef struct kw_describe_groups_resp_group {
    int16_t error_code;
    kw_str error_message; /* v6+, nullable, default null */
    kw_str group_id;
    kw_str group_state;
    kw_str protocol_type;
    kw_str protocol_data;
    KW_ARRAY(kw_describe_groups_resp_member) members;
    int32_t authorized_operations; /* v3+, default INT32_MIN (not asked for) */
} kw_describe_groups_resp_group;

/* DescribeGroups (15) response, versions 0-6, flexible from 5. */
typedef struct kw_describe_groups_resp {
    int32_t throttle_time_ms; /* v1+ */
    KW_ARRAY(kw_describe_groups_resp_group) groups;
} kw_describe_groups_resp;

/* ---- ListGroups (16) ---- */

/* ListGroups (16) request, versions 0-5, flexible from 3. */
typedef struct kw_list_groups_req {
    KW_ARRAY(kw_str) states_filter; /* v4+: empty = every state */
    KW_ARRAY(kw_str) types_filter;  /* v5+: empty = every type ("classic", "consumer", ...) */
} kw_list_groups_req;

/* ListGroups (16) response group, versions 0-5, flexible from 3. */
typedef struct kw_list_groups_resp_group {
    kw_str group_id;
    kw_str protocol_type;
    kw_str group_state; /* v4+ */
    kw_str group_type;  /* v5+ */
} kw_list_groups_resp_group;

/* ListGroups (16) response, versions 0-5, flexible from 3. */
typedef struct kw_list_groups_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
    KW_ARRAY(kw_list_groups_resp_group) groups;
} kw_list_groups_resp;

/* ---- AddOffsetsToTxn (25) ---- */

/* AddOffsetsToTxn (25) request, versions 0-4, flexible from 3. */
typedef struct kw_add_offsets_to_txn_req {
    kw_str transactional_id;
    int64_t producer_id;
    int16_t producer_epoch;
    kw_str group_id;
} kw_add_offsets_to_txn_req;

/* AddOffsetsToTxn (25) response, versions 0-4, flexible from 3. */
typedef struct kw_add_offsets_to_txn_resp {
    int32_t throttle_time_ms;
    int16_t error_code;
} kw_add_offsets_to_txn_resp;

/* ---- TxnOffsetCommit (28) ---- */

/* TxnOffsetCommit (28) request partition, versions 0-5, flexible from 3. */
typedef struct kw_txn_offset_commit_req_partition {
    int32_t partition_index;
    int64_t committed_offset;
    int32_t committed_leader_epoch; /* v2+, default -1 */
    kw_str committed_metadata;      /* nullable */
} kw_txn_offset_commit_req_partition;

/* TxnOffsetCommit (28) request topic, versions 0-5, flexible from 3. */
typedef struct kw_txn_offset_commit_req_topic {
    kw_str name;
    KW_ARRAY(kw_txn_offset_commit_req_partition) partitions;
} kw_txn_offset_commit_req_topic;

/* TxnOffsetCommit (28) request, versions 0-5, flexible from 3. */
typedef struct kw_txn_offset_commit_req {
    kw_str transactional_id;
    kw_str group_id;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t generation_id;    /* v3+, default -1 */
    kw_str member_id;         /* v3+ */
    kw_str group_instance_id; /* v3+, nullable, default null */
    KW_ARRAY(kw_txn_offset_commit_req_topic) topics;
} kw_txn_offset_commit_req;

/* TxnOffsetCommit (28) response partition, versions 0-5, flexible from 3. */
typedef struct kw_txn_offset_commit_resp_partition {
    int32_t partition_index;
    int16_t error_code;
} kw_txn_offset_commit_resp_partition;

/* TxnOffsetCommit (28) response topic, versions 0-5, flexible from 3. */
typedef struct kw_txn_offset_commit_resp_topic {
    kw_str name;
    KW_ARRAY(kw_txn_offset_commit_resp_partition) partitions;
} kw_txn_offset_commit_resp_topic;

/* TxnOffsetCommit (28) response, versions 0-5, flexible from 3. */
typedef struct kw_txn_offset_commit_resp {
    int32_t throttle_time_ms;
    KW_ARRAY(kw_txn_offset_commit_resp_topic) topics;
} kw_txn_offset_commit_resp;

/* ---- ConsumerGroupHeartbeat (68) ---- */

/* ConsumerGroupHeartbeat (68) request topic partitions, versions 0-1, flexible from 0. */
typedef struct kw_consumer_group_heartbeat_req_topic {
    kw_uuid topic_id;
    KW_ARRAY(int32_t) partitions;
} kw_consumer_group_heartbeat_req_topic;

/* ConsumerGroupHeartbeat (68) request, versions 0-1, flexible from 0. */
typedef struct kw_consumer_group_heartbeat_req {
    kw_str group_id;
    kw_str member_id;                          /* v1: the member makes its own (a UUID string) */
    int32_t member_epoch;                      /* 0 joins, -1 leaves, -2 leaves (static member) */
    kw_str instance_id;                        /* nullable, default null */
    kw_str rack_id;                            /* nullable, default null */
    int32_t rebalance_timeout_ms;              /* default -1 */
    KW_ARRAY(kw_str) subscribed_topic_names;   /* nullable, default null: unchanged */
    kw_str subscribed_topic_regex;             /* v1+, nullable, default null */
    kw_str server_assignor;                    /* nullable, default null */
    KW_ARRAY(kw_consumer_group_heartbeat_req_topic) topic_partitions; /* nullable, default null */
} kw_consumer_group_heartbeat_req;

/* ConsumerGroupHeartbeat (68) response topic partitions, versions 0-1, flexible from 0. */
typedef struct kw_consumer_group_heartbeat_resp_topic {
    kw_uuid topic_id;
    KW_ARRAY(int32_t) partitions;
} kw_consumer_group_heartbeat_resp_topic;

/* ConsumerGroupHeartbeat (68) response assignment, versions 0-1, flexible from 0. */
typedef struct kw_consumer_group_heartbeat_resp_assignment {
    KW_ARRAY(kw_consumer_group_heartbeat_resp_topic) topic_partitions;
} kw_consumer_group_heartbeat_resp_assignment;

/* ConsumerGroupHeartbeat (68) response, versions 0-1, flexible from 0. */
typedef struct kw_consumer_group_heartbeat_resp {
    int32_t throttle_time_ms;
    int16_t error_code;
    kw_str error_message; /* nullable, default null */
    kw_str member_id;     /* nullable, default null */
    int32_t member_epoch;
    int32_t heartbeat_interval_ms;
    /* nullable struct (schema.h): NULL = null, the default, meaning "assignment unchanged" */
    const kw_consumer_group_heartbeat_resp_assignment *assignment;
} kw_consumer_group_heartbeat_resp;

/* ---- ConsumerGroupDescribe (69) ---- */

/* ConsumerGroupDescribe (69) request, versions 0-1, flexible from 0. */
typedef struct kw_consumer_group_describe_req {
    KW_ARRAY(kw_str) group_ids;
    bool include_authorized_operations;
} kw_consumer_group_describe_req;

/* ConsumerGroupDescribe (69) response topic partitions, versions 0-1, flexible from 0. */
typedef struct kw_consumer_group_describe_resp_topic {
    kw_uuid topic_id;
    kw_str topic_name;
    KW_ARRAY(int32_t) partitions;
} kw_consumer_group_describe_resp_topic;

/* ConsumerGroupDescribe (69) response assignment, versions 0-1, flexible from 0. */
typedef struct kw_consumer_group_describe_resp_assignment {
    KW_ARRAY(kw_consumer_group_describe_resp_topic) topic_partitions;
} kw_consumer_group_describe_resp_assignment;

/* ConsumerGroupDescribe (69) response member, versions 0-1, flexible from 0. */
typedef struct kw_consumer_group_describe_resp_member {
    kw_str member_id;
    kw_str instance_id; /* nullable, default null */
    kw_str rack_id;     /* nullable, default null */
    int32_t member_epoch;
    kw_str client_id;
    kw_str client_host;
    KW_ARRAY(kw_str) subscribed_topic_names;
    kw_str subscribed_topic_regex; /* nullable, default null */
    kw_consumer_group_describe_resp_assignment assignment;
    kw_consumer_group_describe_resp_assignment target_assignment;
    int8_t member_type; /* v1+, default -1 (unknown); 0 classic, 1 consumer */
} kw_consumer_group_describe_resp_member;

/* ConsumerGroupDescribe (69) response group, versions 0-1, flexible from 0. */
typedef struct kw_consumer_group_describe_resp_group {
    int16_t error_code;
    kw_str error_message; /* nullable, default null */
    kw_str group_id;
    kw_str group_state;
    int32_t group_epoch;
    int32_t assignment_epoch;
    kw_str assignor_name;
    KW_ARRAY(kw_consumer_group_describe_resp_member) members;
    int32_t authorized_operations; /* default INT32_MIN */
} kw_consumer_group_describe_resp_group;

/* ConsumerGroupDescribe (69) response, versions 0-1, flexible from 0. */
typedef struct kw_consumer_group_describe_resp {
    int32_t throttle_time_ms;
    KW_ARRAY(kw_consumer_group_describe_resp_group) groups;
} kw_consumer_group_describe_resp;

#endif /* KW_PROTO_MSG_GROUP2_H */
