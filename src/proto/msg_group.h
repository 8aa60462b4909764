/* Consumer-group and transaction messages: offsets, coordinators, membership, producer ids, txns */
#ifndef KW_PROTO_MSG_GROUP_H
#define KW_PROTO_MSG_GROUP_H

#include "msg.h"

/* The API descriptions (key, versions, tables); msg.c lists them in its registry too. */
extern const kw_api kw__api_offset_commit, kw__api_offset_fetch, kw__api_find_coordinator,
    kw__api_join_group, kw__api_heartbeat, kw__api_leave_group, kw__api_sync_group,
    kw__api_init_producer_id, kw__api_add_partitions_to_txn, kw__api_end_txn;

/*
 * The C structs of Kafka's OffsetCommit, OffsetFetch, FindCoordinator,
 * JoinGroup, Heartbeat, LeaveGroup, SyncGroup, InitProducerId,
 * AddPartitionsToTxn and EndTxn messages.  Members follow the spec's field
 * order; a comment gives the versions a member exists in when that is not
 * every version, and its default when that is not zero or empty ("null").
 * kw__schema_init sets the defaults.  Versions below the API's vmin are
 * described too, so the tables say all the spec says up to vmax.
 */

/* ---- OffsetCommit (8) ---- */

/* OffsetCommit (8) request partition, versions 2-9, flexible from 8. */
typedef struct kw_offset_commit_req_partition {
    int32_t partition_index;
    int64_t committed_offset;
    int32_t committed_leader_epoch; /* v6+, default -1 */
    int64_t commit_timestamp;       /* v1 only, default -1 */
    kw_str committed_metadata;      /* nullable */
} kw_offset_commit_req_partition;

/* OffsetCommit (8) request topic, versions 2-9, flexible from 8. */
typedef struct kw_offset_commit_req_topic {
    kw_str name;
    KW_ARRAY(kw_offset_commit_req_partition) partitions;
} kw_offset_commit_req_topic;

/* OffsetCommit (8) request, versions 2-9, flexible from 8. */
typedef struct kw_offset_commit_req {
    kw_str group_id;
    int32_t generation_id_or_member_epoch; /* v1+, default -1 */
    kw_str member_id;                      /* v1+ */
    kw_str group_instance_id;              /* v7+, nullable, default null */
    int64_t retention_time_ms;             /* v2-4, default -1 */
    KW_ARRAY(kw_offset_commit_req_topic) topics;
} kw_offset_commit_req;

/* OffsetCommit (8) response partition, versions 2-9, flexible from 8. */
typedef struct kw_offset_commit_resp_partition {
    int32_t partition_index;
    int16_t error_code;
} kw_offset_commit_resp_partition;

/* OffsetCommit (8) response topic, versions 2-9, flexible from 8. */
typedef struct kw_offset_commit_resp_topic {
    kw_str name;
    KW_ARRAY(kw_offset_commit_resp_partition) partitions;
} kw_offset_commit_resp_topic;

/* OffsetCommit (8) response, versions 2-9, flexible from 8. */
typedef struct kw_offset_commit_resp {
    int32_t throttle_time_ms; /* v3+ */
    KW_ARRAY(kw_offset_commit_resp_topic) topics;
} kw_offset_commit_resp;

/* ---- OffsetFetch (9) ---- */

/* OffsetFetch (9) request topic of the single-group form, versions 1-7, flexible from 6. */
typedef struct kw_offset_fetch_req_topic {
    kw_str name;
    KW_ARRAY(int32_t) partition_indexes;
} kw_offset_fetch_req_topic;

/* OffsetFetch (9) request topic inside a group, versions 8-9, flexible (from 6). */
typedef struct kw_offset_fetch_req_group_topic {
    kw_str name;
    KW_ARRAY(int32_t) partition_indexes;
} kw_offset_fetch_req_group_topic;

/* OffsetFetch (9) request group, versions 8-9, flexible (from 6). */
typedef struct kw_offset_fetch_req_group {
    kw_str group_id;
    kw_str member_id;     /* v9+, nullable, default null */
    int32_t member_epoch; /* v9+, default -1 */
    KW_ARRAY(kw_offset_fetch_req_group_topic) topics; /* nullable: null = all topics */
} kw_offset_fetch_req_group;

/* OffsetFetch (9) request, versions 1-9, flexible from 6 (v8+ batches groups). */
typedef struct kw_offset_fetch_req {
    kw_str group_id;                            /* v0-7 */
    KW_ARRAY(kw_offset_fetch_req_topic) topics; /* v0-7, nullable in v2-7: null = all topics */
    KW_ARRAY(kw_offset_fetch_req_group) groups; /* v8+ */
    bool require_stable;                        /* v7+ */
} kw_offset_fetch_req;

/* OffsetFetch (9) response partition of the single-group form, versions 1-7, flexible from 6. */
typedef struct kw_offset_fetch_resp_partition {
    int32_t partition_index;
    int64_t committed_offset;
    int32_t committed_leader_epoch; /* v5-7, default -1 */
    kw_str metadata;                /* nullable */
    int16_t error_code;
} kw_offset_fetch_resp_partition;

/* OffsetFetch (9) response topic of the single-group form, versions 1-7, flexible from 6. */
typedef struct kw_offset_fetch_resp_topic {
    kw_str name;
    KW_ARRAY(kw_offset_fetch_resp_partition) partitions;
} kw_offset_fetch_resp_topic;

/* OffsetFetch (9) response partition inside a group, versions 8-9, flexible (from 6). */
typedef struct kw_offset_fetch_resp_group_partition {
    int32_t partition_index;
    int64_t committed_offset;
    int32_t committed_leader_epoch; /* default -1 */
    kw_str metadata;                /* nullable */
    int16_t error_code;
} kw_offset_fetch_resp_group_partition;

/* OffsetFetch (9) response topic inside a group, versions 8-9, flexible (from 6). */
typedef struct kw_offset_fetch_resp_group_topic {
    kw_str name;
    KW_ARRAY(kw_offset_fetch_resp_group_partition) partitions;
} kw_offset_fetch_resp_group_topic;

/* OffsetFetch (9) response group, versions 8-9, flexible (from 6). */
typedef struct kw_offset_fetch_resp_group {
    kw_str group_id;
    KW_ARRAY(kw_offset_fetch_resp_group_topic) topics;
    int16_t error_code;
} kw_offset_fetch_resp_group;

/* OffsetFetch (9) response, versions 1-9, flexible from 6 (v8+ batches groups). */
typedef struct kw_offset_fetch_resp {
    int32_t throttle_time_ms;                     /* v3+ */
    KW_ARRAY(kw_offset_fetch_resp_topic) topics;  /* v0-7 */
    int16_t error_code;                           /* v2-7 */
    KW_ARRAY(kw_offset_fetch_resp_group) groups;  /* v8+ */
} kw_offset_fetch_resp;

/* ---- FindCoordinator (10) ---- */

/* FindCoordinator key types. */
enum { KW_COORDINATOR_GROUP = 0, KW_COORDINATOR_TRANSACTION = 1, KW_COORDINATOR_SHARE = 2 };

/* FindCoordinator (10) request, versions 0-6, flexible from 3 (v4+ batches keys). */
typedef struct kw_find_coordinator_req {
    kw_str key;                       /* v0-3 */
    int8_t key_type;                  /* v1+ */
    KW_ARRAY(kw_str) coordinator_keys; /* v4+ */
} kw_find_coordinator_req;

/* FindCoordinator (10) response coordinator, versions 4-6, flexible (from 3). */
typedef struct kw_find_coordinator_resp_coordinator {
    kw_str key;
    int32_t node_id;
    kw_str host;
    int32_t port;
    int16_t error_code;
    kw_str error_message; /* nullable */
} kw_find_coordinator_resp_coordinator;

/* FindCoordinator (10) response, versions 0-6, flexible from 3 (v4+ batches keys). */
typedef struct kw_find_coordinator_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;       /* v0-3 */
    kw_str error_message;     /* v1-3, nullable */
    int32_t node_id;          /* v0-3 */
    kw_str host;              /* v0-3 */
    int32_t port;             /* v0-3 */
    KW_ARRAY(kw_find_coordinator_resp_coordinator) coordinators; /* v4+ */
} kw_find_coordinator_resp;

/* ---- JoinGroup (11) ---- */

/* JoinGroup (11) request protocol, versions 0-9, flexible from 6. */
typedef struct kw_join_group_req_protocol {
    kw_str name;
    kw_bytes metadata;
} kw_join_group_req_protocol;

/* JoinGroup (11) request, versions 0-9, flexible from 6. */
typedef struct kw_join_group_req {
    kw_str group_id;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms; /* v1+, default -1 */
    kw_str member_id;
    kw_str group_instance_id;     /* v5+, nullable, default null */
    kw_str protocol_type;
    KW_ARRAY(kw_join_group_req_protocol) protocols;
    kw_str reason;                /* v8+, nullable, default null */
} kw_join_group_req;

/* JoinGroup (11) response member, versions 0-9, flexible from 6. */
typedef struct kw_join_group_resp_member {
    kw_str member_id;
    kw_str group_instance_id; /* v5+, nullable, default null */
    kw_bytes metadata;
} kw_join_group_resp_member;

/* JoinGroup (11) response, versions 0-9, flexible from 6. */
typedef struct kw_join_group_resp {
    int32_t throttle_time_ms; /* v2+ */
    int16_t error_code;
    int32_t generation_id;    /* default -1 */
    kw_str protocol_type;     /* v7+, nullable, default null */
    kw_str protocol_name;     /* nullable in v7+ */
    kw_str leader;
    bool skip_assignment;     /* v9+ */
    kw_str member_id;
    KW_ARRAY(kw_join_group_resp_member) members;
} kw_join_group_resp;

/* ---- Heartbeat (12) ---- */

/* Heartbeat (12) request, versions 0-4, flexible from 4. */
typedef struct kw_heartbeat_req {
    kw_str group_id;
    int32_t generation_id;
    kw_str member_id;
    kw_str group_instance_id; /* v3+, nullable, default null */
} kw_heartbeat_req;

/* Heartbeat (12) response, versions 0-4, flexible from 4. */
typedef struct kw_heartbeat_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
} kw_heartbeat_resp;

/* ---- LeaveGroup (13) ---- */

/* LeaveGroup (13) request member, versions 3-5, flexible from 4. */
typedef struct kw_leave_group_req_member {
    kw_str member_id;
    kw_str group_instance_id; /* nullable, default null */
    kw_str reason;            /* v5+, nullable, default null */
} kw_leave_group_req_member;

/* LeaveGroup (13) request, versions 0-5, flexible from 4 (v3+ batches members). */
typedef struct kw_leave_group_req {
    kw_str group_id;
    kw_str member_id;                             /* v0-2 */
    KW_ARRAY(kw_leave_group_req_member) members;  /* v3+ */
} kw_leave_group_req;

/* LeaveGroup (13) response member, versions 3-5, flexible from 4. */
typedef struct kw_leave_group_resp_member {
    kw_str member_id;
    kw_str group_instance_id; /* nullable */
    int16_t error_code;
} kw_leave_group_resp_member;

/* LeaveGroup (13) response, versions 0-5, flexible from 4. */
typedef struct kw_leave_group_resp {
    int32_t throttle_time_ms;                     /* v1+ */
    int16_t error_code;
    KW_ARRAY(kw_leave_group_resp_member) members; /* v3+ */
} kw_leave_group_resp;

/* ---- SyncGroup (14) ---- */

/* SyncGroup (14) request assignment, versions 0-5, flexible from 4. */
typedef struct kw_sync_group_req_assignment {
    kw_str member_id;
    kw_bytes assignment;
} kw_sync_group_req_assignment;

/* SyncGroup (14) request, versions 0-5, flexible from 4. */
typedef struct kw_sync_group_req {
    kw_str group_id;
    int32_t generation_id;
    kw_str member_id;
    kw_str group_instance_id; /* v3+, nullable, default null */
    kw_str protocol_type;     /* v5+, nullable, default null */
    kw_str protocol_name;     /* v5+, nullable, default null */
    KW_ARRAY(kw_sync_group_req_assignment) assignments;
} kw_sync_group_req;

/* SyncGroup (14) response, versions 0-5, flexible from 4. */
typedef struct kw_sync_group_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
    kw_str protocol_type;     /* v5+, nullable, default null */
    kw_str protocol_name;     /* v5+, nullable, default null */
    kw_bytes assignment;
} kw_sync_group_resp;

/* ---- InitProducerId (22) ---- */

/* InitProducerId (22) request, versions 0-5, flexible from 2. */
typedef struct kw_init_producer_id_req {
    kw_str transactional_id; /* nullable: null for an idempotent, non-transactional producer */
    int32_t transaction_timeout_ms;
    int64_t producer_id;     /* v3+, default -1 */
    int16_t producer_epoch;  /* v3+, default -1 */
} kw_init_producer_id_req;

/* InitProducerId (22) response, versions 0-5, flexible from 2. */
typedef struct kw_init_producer_id_resp {
    int32_t throttle_time_ms;
    int16_t error_code;
    int64_t producer_id; /* default -1 */
    int16_t producer_epoch;
} kw_init_producer_id_resp;

/* ---- AddPartitionsToTxn (24) ---- */

/* AddPartitionsToTxn (24) request topic, versions 0-5, flexible from 3. */
typedef struct kw_add_partitions_to_txn_req_topic {
    kw_str name;
    KW_ARRAY(int32_t) partitions;
} kw_add_partitions_to_txn_req_topic;

/* AddPartitionsToTxn (24) request transaction, versions 4-5, flexible (from 3). */
typedef struct kw_add_partitions_to_txn_req_transaction {
    kw_str transactional_id;
    int64_t producer_id;
    int16_t producer_epoch;
    bool verify_only;
    KW_ARRAY(kw_add_partitions_to_txn_req_topic) topics;
} kw_add_partitions_to_txn_req_transaction;

/* AddPartitionsToTxn (24) request, versions 0-5, flexible from 3 (v4+ batches transactions). */
typedef struct kw_add_partitions_to_txn_req {
    KW_ARRAY(kw_add_partitions_to_txn_req_transaction) transactions; /* v4+ */
    kw_str v3_and_below_transactional_id;                            /* v0-3 */
    int64_t v3_and_below_producer_id;                                /* v0-3 */
    int16_t v3_and_below_producer_epoch;                             /* v0-3 */
    KW_ARRAY(kw_add_partitions_to_txn_req_topic) v3_and_below_topics; /* v0-3 */
} kw_add_partitions_to_txn_req;

/* AddPartitionsToTxn (24) response partition result, versions 0-5, flexible from 3. */
typedef struct kw_add_partitions_to_txn_resp_partition_result {
    int32_t partition_index;
    int16_t partition_error_code;
} kw_add_partitions_to_txn_resp_partition_result;

/* AddPartitionsToTxn (24) response topic result, versions 0-5, flexible from 3. */
typedef struct kw_add_partitions_to_txn_resp_topic_result {
    kw_str name;
    KW_ARRAY(kw_add_partitions_to_txn_resp_partition_result) results_by_partition;
} kw_add_partitions_to_txn_resp_topic_result;

/* AddPartitionsToTxn (24) response result of one transaction, versions 4-5, flexible (from 3). */
typedef struct kw_add_partitions_to_txn_resp_result {
    kw_str transactional_id;
    KW_ARRAY(kw_add_partitions_to_txn_resp_topic_result) topic_results;
} kw_add_partitions_to_txn_resp_result;

/* AddPartitionsToTxn (24) response, versions 0-5, flexible from 3 (v4+ batches transactions). */
typedef struct kw_add_partitions_to_txn_resp {
    int32_t throttle_time_ms;
    int16_t error_code;                                                   /* v4+ */
    KW_ARRAY(kw_add_partitions_to_txn_resp_result) results_by_transaction; /* v4+ */
    KW_ARRAY(kw_add_partitions_to_txn_resp_topic_result) results_by_topic_v3_and_below; /* v0-3 */
} kw_add_partitions_to_txn_resp;

/* ---- EndTxn (26) ---- */

/* EndTxn (26) request, versions 0-5, flexible from 3. */
typedef struct kw_end_txn_req {
    kw_str transactional_id;
    int64_t producer_id;
    int16_t producer_epoch;
    bool committed; /* true = commit, false = abort */
} kw_end_txn_req;

/* EndTxn (26) response, versions 0-5, flexible from 3. */
typedef struct kw_end_txn_resp {
    int32_t throttle_time_ms;
    int16_t error_code;
    int64_t producer_id;    /* v5+, default -1 */
    int16_t producer_epoch; /* v5+, default -1 */
} kw_end_txn_resp;

#endif /* KW_PROTO_MSG_GROUP_H */
