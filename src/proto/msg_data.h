/* Produce, Fetch, ListOffsets, Metadata, DeleteRecords: the messages that move and find data. */
#ifndef KW_PROTO_MSG_DATA_H
#define KW_PROTO_MSG_DATA_H

#include "msg.h"

/* The API descriptors (also reachable through kw__api(key)). */
extern const kw_api kw__api_produce, kw__api_fetch, kw__api_list_offsets, kw__api_metadata,
    kw__api_delete_records;

/*
 * Member notes give the versions a field is in (none = every version); a
 * field outside the version being encoded is neither written nor read.
 * "null ok" members may be null (len/n == -1) in the versions named; "tag N"
 * members are tagged fields, written only when they differ from their
 * default.  Fields of versions below the range kwal speaks are kept so the
 * tables match Kafka's specs exactly.
 */

/* ---- Produce (0) ---- */

/* Produce request partition, versions 3-12, flexible from 9. */
typedef struct kw_produce_req_partition {
    int32_t index;
    kw_bytes records; /* record batches; null ok, default null */
} kw_produce_req_partition;

/* Produce request topic, versions 3-12, flexible from 9. */
typedef struct kw_produce_req_topic {
    kw_str name;
    KW_ARRAY(kw_produce_req_partition) partition_data;
} kw_produce_req_topic;

/* Produce (0) request, versions 3-12, flexible from 9. */
typedef struct kw_produce_req {
    kw_str transactional_id; /* v3+, null ok, default null */
    int16_t acks;            /* 0, 1 or -1 (all in-sync replicas) */
    int32_t timeout_ms;
    KW_ARRAY(kw_produce_req_topic) topic_data;
} kw_produce_req;

/* Produce response record error (BatchIndexAndErrorMessage), versions 3-12, flexible from 9. */
typedef struct kw_produce_resp_record_error {
    int32_t batch_index;                /* v8+ */
    kw_str batch_index_error_message;   /* v8+, null ok, default null */
} kw_produce_resp_record_error;

/* Produce response leader (LeaderIdAndEpoch), versions 3-12, flexible from 9. */
typedef struct kw_produce_resp_leader {
    int32_t leader_id;    /* v10+, default -1 */
    int32_t leader_epoch; /* v10+, default -1 */
} kw_produce_resp_leader;

/* Produce response partition, versions 3-12, flexible from 9. */
typedef struct kw_produce_resp_partition {
    int32_t index;
    int16_t error_code;
    int64_t base_offset;
    int64_t log_append_time_ms; /* v2+, default -1 */
    int64_t log_start_offset;   /* v5+, default -1 */
    KW_ARRAY(kw_produce_resp_record_error) record_errors; /* v8+ */
    kw_str error_message;                  /* v8+, null ok, default null */
    kw_produce_resp_leader current_leader; /* v10+, tag 0 */
} kw_produce_resp_partition;

/* Produce response topic, versions 3-12, flexible from 9. */
typedef struct kw_produce_resp_topic {
    kw_str name;
    KW_ARRAY(kw_produce_resp_partition) partition_responses;
} kw_produce_resp_topic;

/* Produce response node endpoint, versions 3-12, flexible from 9. */
typedef struct kw_produce_resp_node_endpoint {
    int32_t node_id; /* v10+ */
    kw_str host;     /* v10+ */
    int32_t port;    /* v10+ */
    kw_str rack;     /* v10+, null ok, default null */
} kw_produce_resp_node_endpoint;

/* Produce (0) response, versions 3-12, flexible from 9. */
typedef struct kw_produce_resp {
    KW_ARRAY(kw_produce_resp_topic) responses;
    int32_t throttle_time_ms;                                /* v1+ */
    KW_ARRAY(kw_produce_resp_node_endpoint) node_endpoints;  /* v10+, tag 0 */
} kw_produce_resp;

/* ---- Fetch (1) ---- */

/* Fetch request partition, versions 4-17, flexible from 12. */
typedef struct kw_fetch_req_partition {
    int32_t partition;
    int32_t current_leader_epoch; /* v9+, default -1 */
    int64_t fetch_offset;
    int32_t last_fetched_epoch;   /* v12+, default -1 */
    int64_t log_start_offset;     /* v5+, default -1 */
    int32_t partition_max_bytes;
    kw_uuid replica_directory_id; /* v17+, tag 0: a follower's; zero from a consumer */
} kw_fetch_req_partition;

/* Fetch request topic, versions 4-17, flexible from 12. */
typedef struct kw_fetch_req_topic {
    kw_str topic;     /* v0-12 */
    kw_uuid topic_id; /* v13+, instead of the name */
    KW_ARRAY(kw_fetch_req_partition) partitions;
} kw_fetch_req_topic;

/* Fetch request forgotten topic, versions 4-17, flexible from 12. */
typedef struct kw_fetch_req_forgotten_topic {
    kw_str topic;                 /* v7-12 */
    kw_uuid topic_id;             /* v13+ */
    KW_ARRAY(int32_t) partitions; /* v7+ */
} kw_fetch_req_forgotten_topic;

/* Fetch request replica state (KIP-903), versions 15+: a follower's; defaults from a consumer. */
typedef struct kw_fetch_req_replica_state {
    int32_t replica_id;    /* default -1 */
    int64_t replica_epoch; /* default -1 */
} kw_fetch_req_replica_state;

/* Fetch (1) request, versions 4-17, flexible from 12. */
typedef struct kw_fetch_req {
    kw_str cluster_id;      /* v12+, tag 0, null ok, default null */
    int32_t replica_id;     /* v0-14, default -1 (a consumer) */
    kw_fetch_req_replica_state replica_state; /* v15+, tag 1 (replaces replica_id) */
    int32_t max_wait_ms;
    int32_t min_bytes;
    int32_t max_bytes;      /* v3+, default 0x7fffffff */
    int8_t isolation_level; /* v4+, 0 read uncommitted, 1 read committed */
    int32_t session_id;     /* v7+ */
    int32_t session_epoch;  /* v7+, default -1 */
    KW_ARRAY(kw_fetch_req_topic) topics;
    KW_ARRAY(kw_fetch_req_forgotten_topic) forgotten_topics_data; /* v7+ */
    kw_str rack_id;                                               /* v11+ */
} kw_fetch_req;

/* Fetch response diverging epoch (EpochEndOffset), versions 4-17, flexible from 12. */
typedef struct kw_fetch_resp_epoch_end_offset {
    int32_t epoch;      /* v12+, default -1 */
    int64_t end_offset; /* v12+, default -1 */
} kw_fetch_resp_epoch_end_offset;

/* Fetch response leader (LeaderIdAndEpoch), versions 4-17, flexible from 12. */
typedef struct kw_fetch_resp_leader {
    int32_t leader_id;    /* v12+, default -1 */
    int32_t leader_epoch; /* v12+, default -1 */
} kw_fetch_resp_leader;

/* Fetch response snapshot id, versions 4-17, flexible from 12. */
typedef struct kw_fetch_resp_snapshot_id {
    int64_t end_offset; /* default -1 */
    int32_t epoch;      /* default -1 */
} kw_fetch_resp_snapshot_id;

/* Fetch response aborted transaction, versions 4-17, flexible from 12. */
typedef struct kw_fetch_resp_aborted_txn {
    int64_t producer_id;  /* v4+ */
    int64_t first_offset; /* v4+ */
} kw_fetch_resp_aborted_txn;

/* Fetch response partition, versions 4-17, flexible from 12. */
typedef struct kw_fetch_resp_partition {
    int32_t partition_index;
    int16_t error_code;
    int64_t high_watermark;
    int64_t last_stable_offset;                    /* v4+, default -1 */
    int64_t log_start_offset;                      /* v5+, default -1 */
    kw_fetch_resp_epoch_end_offset diverging_epoch; /* v12+, tag 0 */
    kw_fetch_resp_leader current_leader;           /* v12+, tag 1 */
    kw_fetch_resp_snapshot_id snapshot_id;         /* v12+, tag 2 */
    KW_ARRAY(kw_fetch_resp_aborted_txn) aborted_transactions; /* v4+, null ok */
    int32_t preferred_read_replica;                /* v11+, default -1 */
    kw_bytes records;                              /* null ok, default null */
} kw_fetch_resp_partition;

/* Fetch response topic, versions 4-17, flexible from 12. */
typedef struct kw_fetch_resp_topic {
    kw_str topic;     /* v0-12 */
    kw_uuid topic_id; /* v13+, instead of the name */
    KW_ARRAY(kw_fetch_resp_partition) partitions;
} kw_fetch_resp_topic;

/* Fetch response node endpoint (KIP-951), versions 16+: where the new leaders named by
 * current_leader are. */
typedef struct kw_fetch_resp_node_endpoint {
    int32_t node_id;
    kw_str host;
    int32_t port;
    kw_str rack; /* null ok, default null */
} kw_fetch_resp_node_endpoint;

/* Fetch (1) response, versions 4-17, flexible from 12. */
typedef struct kw_fetch_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;       /* v7+ */
    int32_t session_id;       /* v7+ */
    KW_ARRAY(kw_fetch_resp_topic) responses;
    KW_ARRAY(kw_fetch_resp_node_endpoint) node_endpoints; /* v16+, tag 0 */
} kw_fetch_resp;

/*
 * The partition of a Fetch response at `version` for (topic, partition): by the
 * name below v13, by topic_id from v13 (a zero id matches nothing there).  NULL
 * when the response does not have it.
 */
const kw_fetch_resp_partition *kw__fetch_resp_find(const kw_fetch_resp *r, int version,
                                                   const char *topic, kw_uuid topic_id,
                                                   int32_t partition);

/* ---- ListOffsets (2) ---- */

/* ListOffsets request partition, versions 1-10, flexible from 6. */
typedef struct kw_list_offsets_req_partition {
    int32_t partition_index;
    int32_t current_leader_epoch; /* v4+, default -1 */
    int64_t timestamp;            /* -1 latest, -2 earliest, ... */
    int32_t max_num_offsets;      /* v0 only, default 1 */
} kw_list_offsets_req_partition;

/* ListOffsets request topic, versions 1-10, flexible from 6. */
typedef struct kw_list_offsets_req_topic {
    kw_str name;
    KW_ARRAY(kw_list_offsets_req_partition) partitions;
} kw_list_offsets_req_topic;

/* ListOffsets (2) request, versions 1-10, flexible from 6. */
typedef struct kw_list_offsets_req {
    int32_t replica_id;     /* -1 for a consumer (no spec default: set it) */
    int8_t isolation_level; /* v2+ */
    KW_ARRAY(kw_list_offsets_req_topic) topics;
    int32_t timeout_ms; /* v10+ */
} kw_list_offsets_req;

/* ListOffsets response partition, versions 1-10, flexible from 6. */
typedef struct kw_list_offsets_resp_partition {
    int32_t partition_index;
    int16_t error_code;
    KW_ARRAY(int64_t) old_style_offsets; /* v0 only */
    int64_t timestamp;                   /* v1+, default -1 */
    int64_t offset;                      /* v1+, default -1 */
    int32_t leader_epoch;                /* v4+, default -1 */
} kw_list_offsets_resp_partition;

/* ListOffsets response topic, versions 1-10, flexible from 6. */
typedef struct kw_list_offsets_resp_topic {
    kw_str name;
    KW_ARRAY(kw_list_offsets_resp_partition) partitions;
} kw_list_offsets_resp_topic;

/* ListOffsets (2) response, versions 1-10, flexible from 6. */
typedef struct kw_list_offsets_resp {
    int32_t throttle_time_ms; /* v2+ */
    KW_ARRAY(kw_list_offsets_resp_topic) topics;
} kw_list_offsets_resp;

/* ---- Metadata (3) ---- */

/* Metadata request topic, versions 0-13, flexible from 9. */
typedef struct kw_metadata_req_topic {
    kw_uuid topic_id; /* v10+ (brokers honour it from v12) */
    kw_str name;      /* null ok v10+ */
} kw_metadata_req_topic;

/* Metadata (3) request, versions 0-13, flexible from 9. */
typedef struct kw_metadata_req {
    /* v0: empty = every topic; v1+: null = every topic, empty = none. */
    KW_ARRAY(kw_metadata_req_topic) topics;     /* null ok v1+ */
    bool allow_auto_topic_creation;             /* v4+, default true */
    bool include_cluster_authorized_operations; /* v8-10 */
    bool include_topic_authorized_operations;   /* v8+ */
} kw_metadata_req;

/* Metadata response broker, versions 0-13, flexible from 9. */
typedef struct kw_metadata_resp_broker {
    int32_t node_id;
    kw_str host;
    int32_t port;
    kw_str rack; /* v1+, null ok, default null */
} kw_metadata_resp_broker;

/* Metadata response partition, versions 0-13, flexible from 9. */
typedef struct kw_metadata_resp_partition {
    int16_t error_code;
    int32_t partition_index;
    int32_t leader_id;
    int32_t leader_epoch; /* v7+, default -1 */
    KW_ARRAY(int32_t) replica_nodes;
    KW_ARRAY(int32_t) isr_nodes;
    KW_ARRAY(int32_t) offline_replicas; /* v5+ */
} kw_metadata_resp_partition;

/* Metadata response topic, versions 0-13, flexible from 9. */
typedef struct kw_metadata_resp_topic {
    int16_t error_code;
    kw_str name;      /* null ok v12+ */
    kw_uuid topic_id; /* v10+ */
    bool is_internal; /* v1+ */
    KW_ARRAY(kw_metadata_resp_partition) partitions;
    int32_t topic_authorized_operations; /* v8+, default INT32_MIN */
} kw_metadata_resp_topic;

/* Metadata (3) response, versions 0-13, flexible from 9. */
typedef struct kw_metadata_resp {
    int32_t throttle_time_ms; /* v3+ */
    KW_ARRAY(kw_metadata_resp_broker) brokers;
    kw_str cluster_id;     /* v2+, null ok, default null */
    int32_t controller_id; /* v1+, default -1 */
    KW_ARRAY(kw_metadata_resp_topic) topics;
    int32_t cluster_authorized_operations; /* v8-10, default INT32_MIN */
    int16_t error_code;                    /* v13+ */
} kw_metadata_resp;

/* ---- DeleteRecords (21) ---- */

/* DeleteRecords request partition, versions 0-2, flexible from 2. */
typedef struct kw_delete_records_req_partition {
    int32_t partition_index;
    int64_t offset; /* delete everything before this offset; -1 = the high watermark */
} kw_delete_records_req_partition;

/* DeleteRecords request topic, versions 0-2, flexible from 2. */
typedef struct kw_delete_records_req_topic {
    kw_str name;
    KW_ARRAY(kw_delete_records_req_partition) partitions;
} kw_delete_records_req_topic;

/* DeleteRecords (21) request, versions 0-2, flexible from 2. */
typedef struct kw_delete_records_req {
    KW_ARRAY(kw_delete_records_req_topic) topics;
    int32_t timeout_ms;
} kw_delete_records_req;

/* DeleteRecords response partition, versions 0-2, flexible from 2. */
typedef struct kw_delete_records_resp_partition {
    int32_t partition_index;
    int64_t low_watermark;
    int16_t error_code;
} kw_delete_records_resp_partition;

/* DeleteRecords response topic, versions 0-2, flexible from 2. */
typedef struct kw_delete_records_resp_topic {
    kw_str name;
    KW_ARRAY(kw_delete_records_resp_partition) partitions;
} kw_delete_records_resp_topic;

/* DeleteRecords (21) response, versions 0-2, flexible from 2. */
typedef struct kw_delete_records_resp {
    int32_t throttle_time_ms;
    KW_ARRAY(kw_delete_records_resp_topic) topics;
} kw_delete_records_resp;

#endif /* KW_PROTO_MSG_DATA_H */
