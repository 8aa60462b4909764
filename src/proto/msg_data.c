/* Produce, Fetch, ListOffsets, Metadata and DeleteRecords tables, from Kafka's message specs. */
#include "msg_data.h"

/*
 * Masks start where Kafka's spec starts a field, even below the versions
 * kwal speaks, so each table reads like the spec it transcribes.  Fields
 * that only exist above kwal's maximum (Produce's topic ids, Fetch's v18
 * HighWatermark) are left out: no version kwal speaks has them.
 *
 * Records fields have no default in the specs; Kafka's generated code starts
 * them as null, and so do these tables.
 */

/* ---- Produce (0) ---- */

static const kw_field produce_req_partition_fields[] = {
    KW_F(kw_produce_req_partition, index, KW_T_INT32, KW_VALL),
    KW_F(kw_produce_req_partition, records, KW_T_RECORDS, KW_VALL, .nullv = KW_VALL, .dflt = -1),
};
static const kw_schema produce_req_partition =
    KW_SCHEMA(kw_produce_req_partition, produce_req_partition_fields);

static const kw_field produce_req_topic_fields[] = {
    KW_F(kw_produce_req_topic, name, KW_T_STRING, KW_VALL),
    KW_FA(kw_produce_req_topic, partition_data, produce_req_partition, KW_VALL),
};
static const kw_schema produce_req_topic =
    KW_SCHEMA(kw_produce_req_topic, produce_req_topic_fields);

static const kw_field produce_req_fields[] = {
    KW_F(kw_produce_req, transactional_id, KW_T_STRING, KW_VFROM(3), .nullv = KW_VFROM(3),
         .dflt = -1),
    KW_F(kw_produce_req, acks, KW_T_INT16, KW_VALL),
    KW_F(kw_produce_req, timeout_ms, KW_T_INT32, KW_VALL),
    KW_FA(kw_produce_req, topic_data, produce_req_topic, KW_VALL),
};
static const kw_schema produce_req = KW_SCHEMA(kw_produce_req, produce_req_fields);

static const kw_field produce_resp_record_error_fields[] = {
    KW_F(kw_produce_resp_record_error, batch_index, KW_T_INT32, KW_VFROM(8)),
    KW_F(kw_produce_resp_record_error, batch_index_error_message, KW_T_STRING, KW_VFROM(8),
         .nullv = KW_VFROM(8), .dflt = -1),
};
static const kw_schema produce_resp_record_error =
    KW_SCHEMA(kw_produce_resp_record_error, produce_resp_record_error_fields);

static const kw_field produce_resp_leader_fields[] = {
    KW_F(kw_produce_resp_leader, leader_id, KW_T_INT32, KW_VFROM(10), .dflt = -1),
    KW_F(kw_produce_resp_leader, leader_epoch, KW_T_INT32, KW_VFROM(10), .dflt = -1),
};
static const kw_schema produce_resp_leader =
    KW_SCHEMA(kw_produce_resp_leader, produce_resp_leader_fields);

static const kw_field produce_resp_partition_fields[] = {
    KW_F(kw_produce_resp_partition, index, KW_T_INT32, KW_VALL),
    KW_F(kw_produce_resp_partition, error_code, KW_T_INT16, KW_VALL),
    KW_F(kw_produce_resp_partition, base_offset, KW_T_INT64, KW_VALL),
    KW_F(kw_produce_resp_partition, log_append_time_ms, KW_T_INT64, KW_VFROM(2), .dflt = -1),
    KW_F(kw_produce_resp_partition, log_start_offset, KW_T_INT64, KW_VFROM(5), .dflt = -1),
    KW_FA(kw_produce_resp_partition, record_errors, produce_resp_record_error, KW_VFROM(8)),
    KW_F(kw_produce_resp_partition, error_message, KW_T_STRING, KW_VFROM(8), .nullv = KW_VFROM(8),
         .dflt = -1),
    KW_FS(kw_produce_resp_partition, current_leader, produce_resp_leader, KW_VFROM(10), .tag = 0,
          .tagv = KW_VFROM(10)),
};
static const kw_schema produce_resp_partition =
    KW_SCHEMA(kw_produce_resp_partition, produce_resp_partition_fields);

static const kw_field produce_resp_topic_fields[] = {
    KW_F(kw_produce_resp_topic, name, KW_T_STRING, KW_VALL),
    KW_FA(kw_produce_resp_topic, partition_responses, produce_resp_partition, KW_VALL),
};
static const kw_schema produce_resp_topic =
    KW_SCHEMA(kw_produce_resp_topic, produce_resp_topic_fields);

static const kw_field produce_resp_node_endpoint_fields[] = {
    KW_F(kw_produce_resp_node_endpoint, node_id, KW_T_INT32, KW_VFROM(10)),
    KW_F(kw_produce_resp_node_endpoint, host, KW_T_STRING, KW_VFROM(10)),
    KW_F(kw_produce_resp_node_endpoint, port, KW_T_INT32, KW_VFROM(10)),
    KW_F(kw_produce_resp_node_endpoint, rack, KW_T_STRING, KW_VFROM(10), .nullv = KW_VFROM(10),
         .dflt = -1),
};
static const kw_schema produce_resp_node_endpoint =
    KW_SCHEMA(kw_produce_resp_node_endpoint, produce_resp_node_endpoint_fields);

static const kw_field produce_resp_fields[] = {
    KW_FA(kw_produce_resp, responses, produce_resp_topic, KW_VALL),
    KW_F(kw_produce_resp, throttle_time_ms, KW_T_INT32, KW_VFROM(1)),
    KW_FA(kw_produce_resp, node_endpoints, produce_resp_node_endpoint, KW_VFROM(10), .tag = 0,
          .tagv = KW_VFROM(10)),
};
static const kw_schema produce_resp = KW_SCHEMA(kw_produce_resp, produce_resp_fields);

const kw_api kw__api_produce = {
    .key = KW_API_PRODUCE,
    .name = "Produce",
    .vmin = 3,
    .vmax = 12,
    .flex = 9,
    .req = &produce_req,
    .resp = &produce_resp,
};

/* ---- Fetch (1) ---- */

static const kw_field fetch_req_partition_fields[] = {
    KW_F(kw_fetch_req_partition, partition, KW_T_INT32, KW_VALL),
    KW_F(kw_fetch_req_partition, current_leader_epoch, KW_T_INT32, KW_VFROM(9), .dflt = -1),
    KW_F(kw_fetch_req_partition, fetch_offset, KW_T_INT64, KW_VALL),
    KW_F(kw_fetch_req_partition, last_fetched_epoch, KW_T_INT32, KW_VFROM(12), .dflt = -1),
    KW_F(kw_fetch_req_partition, log_start_offset, KW_T_INT64, KW_VFROM(5), .dflt = -1),
    KW_F(kw_fetch_req_partition, partition_max_bytes, KW_T_INT32, KW_VALL),
    KW_F(kw_fetch_req_partition, replica_directory_id, KW_T_UUID, KW_VFROM(17), .tag = 0,
         .tagv = KW_VFROM(17)),
};
static const kw_schema fetch_req_partition =
    KW_SCHEMA(kw_fetch_req_partition, fetch_req_partition_fields);

static const kw_field fetch_req_topic_fields[] = {
    KW_F(kw_fetch_req_topic, topic, KW_T_STRING, KW_V(0, 12)),
    KW_F(kw_fetch_req_topic, topic_id, KW_T_UUID, KW_VFROM(13)),
    KW_FA(kw_fetch_req_topic, partitions, fetch_req_partition, KW_VALL),
};
static const kw_schema fetch_req_topic = KW_SCHEMA(kw_fetch_req_topic, fetch_req_topic_fields);

static const kw_field fetch_req_forgotten_topic_fields[] = {
    KW_F(kw_fetch_req_forgotten_topic, topic, KW_T_STRING, KW_V(7, 12)),
    KW_F(kw_fetch_req_forgotten_topic, topic_id, KW_T_UUID, KW_VFROM(13)),
    KW_FP(kw_fetch_req_forgotten_topic, partitions, KW_T_INT32, KW_VFROM(7)),
};
static const kw_schema fetch_req_forgotten_topic =
    KW_SCHEMA(kw_fetch_req_forgotten_topic, fetch_req_forgotten_topic_fields);

static const kw_field fetch_req_replica_state_fields[] = {
    KW_F(kw_fetch_req_replica_state, replica_id, KW_T_INT32, KW_VFROM(15), .dflt = -1),
    KW_F(kw_fetch_req_replica_state, replica_epoch, KW_T_INT64, KW_VFROM(15), .dflt = -1),
};
static const kw_schema fetch_req_replica_state =
    KW_SCHEMA(kw_fetch_req_replica_state, fetch_req_replica_state_fields);

static const kw_field fetch_req_fields[] = {
    KW_F(kw_fetch_req, cluster_id, KW_T_STRING, KW_VFROM(12), .nullv = KW_VFROM(12), .tag = 0,
         .tagv = KW_VFROM(12), .dflt = -1),
    KW_F(kw_fetch_req, replica_id, KW_T_INT32, KW_V(0, 14), .dflt = -1),
    KW_FS(kw_fetch_req, replica_state, fetch_req_replica_state, KW_VFROM(15), .tag = 1,
          .tagv = KW_VFROM(15)),
    KW_F(kw_fetch_req, max_wait_ms, KW_T_INT32, KW_VALL),
    KW_F(kw_fetch_req, min_bytes, KW_T_INT32, KW_VALL),
    KW_F(kw_fetch_req, max_bytes, KW_T_INT32, KW_VFROM(3), .dflt = 0x7fffffff),
    KW_F(kw_fetch_req, isolation_level, KW_T_INT8, KW_VFROM(4)),
    KW_F(kw_fetch_req, session_id, KW_T_INT32, KW_VFROM(7)),
    KW_F(kw_fetch_req, session_epoch, KW_T_INT32, KW_VFROM(7), .dflt = -1),
    KW_FA(kw_fetch_req, topics, fetch_req_topic, KW_VALL),
    KW_FA(kw_fetch_req, forgotten_topics_data, fetch_req_forgotten_topic, KW_VFROM(7)),
    KW_F(kw_fetch_req, rack_id, KW_T_STRING, KW_VFROM(11)),
};
static const kw_schema fetch_req = KW_SCHEMA(kw_fetch_req, fetch_req_fields);

static const kw_field fetch_resp_epoch_end_offset_fields[] = {
    KW_F(kw_fetch_resp_epoch_end_offset, epoch, KW_T_INT32, KW_VFROM(12), .dflt = -1),
    KW_F(kw_fetch_resp_epoch_end_offset, end_offset, KW_T_INT64, KW_VFROM(12), .dflt = -1),
};
static const kw_schema fetch_resp_epoch_end_offset =
    KW_SCHEMA(kw_fetch_resp_epoch_end_offset, fetch_resp_epoch_end_offset_fields);

static const kw_field fetch_resp_leader_fields[] = {
    KW_F(kw_fetch_resp_leader, leader_id, KW_T_INT32, KW_VFROM(12), .dflt = -1),
    KW_F(kw_fetch_resp_leader, leader_epoch, KW_T_INT32, KW_VFROM(12), .dflt = -1),
};
static const kw_schema fetch_resp_leader =
    KW_SCHEMA(kw_fetch_resp_leader, fetch_resp_leader_fields);

/* The spec gives SnapshotId's members "0+" although the struct itself is 12+. */
static const kw_field fetch_resp_snapshot_id_fields[] = {
    KW_F(kw_fetch_resp_snapshot_id, end_offset, KW_T_INT64, KW_VALL, .dflt = -1),
    KW_F(kw_fetch_resp_snapshot_id, epoch, KW_T_INT32, KW_VALL, .dflt = -1),
};
static const kw_schema fetch_resp_snapshot_id =
    KW_SCHEMA(kw_fetch_resp_snapshot_id, fetch_resp_snapshot_id_fields);

static const kw_field fetch_resp_aborted_txn_fields[] = {
    KW_F(kw_fetch_resp_aborted_txn, producer_id, KW_T_INT64, KW_VFROM(4)),
    KW_F(kw_fetch_resp_aborted_txn, first_offset, KW_T_INT64, KW_VFROM(4)),
};
static const kw_schema fetch_resp_aborted_txn =
    KW_SCHEMA(kw_fetch_resp_aborted_txn, fetch_resp_aborted_txn_fields);

static const kw_field fetch_resp_partition_fields[] = {
    KW_F(kw_fetch_resp_partition, partition_index, KW_T_INT32, KW_VALL),
    KW_F(kw_fetch_resp_partition, error_code, KW_T_INT16, KW_VALL),
    KW_F(kw_fetch_resp_partition, high_watermark, KW_T_INT64, KW_VALL),
    KW_F(kw_fetch_resp_partition, last_stable_offset, KW_T_INT64, KW_VFROM(4), .dflt = -1),
    KW_F(kw_fetch_resp_partition, log_start_offset, KW_T_INT64, KW_VFROM(5), .dflt = -1),
    KW_FS(kw_fetch_resp_partition, diverging_epoch, fetch_resp_epoch_end_offset, KW_VFROM(12),
          .tag = 0, .tagv = KW_VFROM(12)),
    KW_FS(kw_fetch_resp_partition, current_leader, fetch_resp_leader, KW_VFROM(12), .tag = 1,
          .tagv = KW_VFROM(12)),
    KW_FS(kw_fetch_resp_partition, snapshot_id, fetch_resp_snapshot_id, KW_VFROM(12), .tag = 2,
          .tagv = KW_VFROM(12)),
    KW_FA(kw_fetch_resp_partition, aborted_transactions, fetch_resp_aborted_txn, KW_VFROM(4),
          .nullv = KW_VFROM(4)),
    KW_F(kw_fetch_resp_partition, preferred_read_replica, KW_T_INT32, KW_VFROM(11), .dflt = -1),
    KW_F(kw_fetch_resp_partition, records, KW_T_RECORDS, KW_VALL, .nullv = KW_VALL, .dflt = -1),
};
static const kw_schema fetch_resp_partition =
    KW_SCHEMA(kw_fetch_resp_partition, fetch_resp_partition_fields);

static const kw_field fetch_resp_topic_fields[] = {
    KW_F(kw_fetch_resp_topic, topic, KW_T_STRING, KW_V(0, 12)),
    KW_F(kw_fetch_resp_topic, topic_id, KW_T_UUID, KW_VFROM(13)),
    KW_FA(kw_fetch_resp_topic, partitions, fetch_resp_partition, KW_VALL),
};
static const kw_schema fetch_resp_topic = KW_SCHEMA(kw_fetch_resp_topic, fetch_resp_topic_fields);

static const kw_field fetch_resp_node_endpoint_fields[] = {
    KW_F(kw_fetch_resp_node_endpoint, node_id, KW_T_INT32, KW_VFROM(16)),
    KW_F(kw_fetch_resp_node_endpoint, host, KW_T_STRING, KW_VFROM(16)),
    KW_F(kw_fetch_resp_node_endpoint, port, KW_T_INT32, KW_VFROM(16)),
    KW_F(kw_fetch_resp_node_endpoint, rack, KW_T_STRING, KW_VFROM(16), .nullv = KW_VFROM(16),
         .dflt = -1),
};
static const kw_schema fetch_resp_node_endpoint =
    KW_SCHEMA(kw_fetch_resp_node_endpoint, fetch_resp_node_endpoint_fields);

static const kw_field fetch_resp_fields[] = {
    KW_F(kw_fetch_resp, throttle_time_ms, KW_T_INT32, KW_VFROM(1)),
    KW_F(kw_fetch_resp, error_code, KW_T_INT16, KW_VFROM(7)),
    KW_F(kw_fetch_resp, session_id, KW_T_INT32, KW_VFROM(7)),
    KW_FA(kw_fetch_resp, responses, fetch_resp_topic, KW_VALL),
    KW_FA(kw_fetch_resp, node_endpoints, fetch_resp_node_endpoint, KW_VFROM(16), .tag = 0,
          .tagv = KW_VFROM(16)),
};
static const kw_schema fetch_resp = KW_SCHEMA(kw_fetch_resp, fetch_resp_fields);

const kw_api kw__api_fetch = {
    .key = KW_API_FETCH,
    .name = "Fetch",
    .vmin = 4,
    .vmax = 17,
    .flex = 12,
    .req = &fetch_req,
    .resp = &fetch_resp,
};

/* ---- ListOffsets (2) ---- */

static const kw_field list_offsets_req_partition_fields[] = {
    KW_F(kw_list_offsets_req_partition, partition_index, KW_T_INT32, KW_VALL),
    KW_F(kw_list_offsets_req_partition, current_leader_epoch, KW_T_INT32, KW_VFROM(4), .dflt = -1),
    KW_F(kw_list_offsets_req_partition, timestamp, KW_T_INT64, KW_VALL),
    KW_F(kw_list_offsets_req_partition, max_num_offsets, KW_T_INT32, KW_V(0, 0), .dflt = 1),
};
static const kw_schema list_offsets_req_partition =
    KW_SCHEMA(kw_list_offsets_req_partition, list_offsets_req_partition_fields);

static const kw_field list_offsets_req_topic_fields[] = {
    KW_F(kw_list_offsets_req_topic, name, KW_T_STRING, KW_VALL),
    KW_FA(kw_list_offsets_req_topic, partitions, list_offsets_req_partition, KW_VALL),
};
static const kw_schema list_offsets_req_topic =
    KW_SCHEMA(kw_list_offsets_req_topic, list_offsets_req_topic_fields);

static const kw_field list_offsets_req_fields[] = {
    KW_F(kw_list_offsets_req, replica_id, KW_T_INT32, KW_VALL),
    KW_F(kw_list_offsets_req, isolation_level, KW_T_INT8, KW_VFROM(2)),
    KW_FA(kw_list_offsets_req, topics, list_offsets_req_topic, KW_VALL),
    KW_F(kw_list_offsets_req, timeout_ms, KW_T_INT32, KW_VFROM(10)),
};
static const kw_schema list_offsets_req = KW_SCHEMA(kw_list_offsets_req, list_offsets_req_fields);

static const kw_field list_offsets_resp_partition_fields[] = {
    KW_F(kw_list_offsets_resp_partition, partition_index, KW_T_INT32, KW_VALL),
    KW_F(kw_list_offsets_resp_partition, error_code, KW_T_INT16, KW_VALL),
    KW_FP(kw_list_offsets_resp_partition, old_style_offsets, KW_T_INT64, KW_V(0, 0)),
    KW_F(kw_list_offsets_resp_partition, timestamp, KW_T_INT64, KW_VFROM(1), .dflt = -1),
    KW_F(kw_list_offsets_resp_partition, offset, KW_T_INT64, KW_VFROM(1), .dflt = -1),
    KW_F(kw_list_offsets_resp_partition, leader_epoch, KW_T_INT32, KW_VFROM(4), .dflt = -1),
};
static const kw_schema list_offsets_resp_partition =
    KW_SCHEMA(kw_list_offsets_resp_partition, list_offsets_resp_partition_fields);

static const kw_field list_offsets_resp_topic_fields[] = {
    KW_F(kw_list_offsets_resp_topic, name, KW_T_STRING, KW_VALL),
    KW_FA(kw_list_offsets_resp_topic, partitions, list_offsets_resp_partition, KW_VALL),
};
static const kw_schema list_offsets_resp_topic =
    KW_SCHEMA(kw_list_offsets_resp_topic, list_offsets_resp_topic_fields);

static const kw_field list_offsets_resp_fields[] = {
    KW_F(kw_list_offsets_resp, throttle_time_ms, KW_T_INT32, KW_VFROM(2)),
    KW_FA(kw_list_offsets_resp, topics, list_offsets_resp_topic, KW_VALL),
};
static const kw_schema list_offsets_resp =
    KW_SCHEMA(kw_list_offsets_resp, list_offsets_resp_fields);

const kw_api kw__api_list_offsets = {
    .key = KW_API_LIST_OFFSETS,
    .name = "ListOffsets",
    .vmin = 1,
    .vmax = 10,
    .flex = 6,
    .req = &list_offsets_req,
    .resp = &list_offsets_resp,
};

/* ---- Metadata (3) ---- */

static const kw_field metadata_req_topic_fields[] = {
    KW_F(kw_metadata_req_topic, topic_id, KW_T_UUID, KW_VFROM(10)),
    KW_F(kw_metadata_req_topic, name, KW_T_STRING, KW_VALL, .nullv = KW_VFROM(10)),
};
static const kw_schema metadata_req_topic =
    KW_SCHEMA(kw_metadata_req_topic, metadata_req_topic_fields);

static const kw_field metadata_req_fields[] = {
    KW_FA(kw_metadata_req, topics, metadata_req_topic, KW_VALL, .nullv = KW_VFROM(1)),
    KW_F(kw_metadata_req, allow_auto_topic_creation, KW_T_BOOL, KW_VFROM(4), .dflt = 1),
    KW_F(kw_metadata_req, include_cluster_authorized_operations, KW_T_BOOL, KW_V(8, 10)),
    KW_F(kw_metadata_req, include_topic_authorized_operations, KW_T_BOOL, KW_VFROM(8)),
};
static const kw_schema metadata_req = KW_SCHEMA(kw_metadata_req, metadata_req_fields);

static const kw_field metadata_resp_broker_fields[] = {
    KW_F(kw_metadata_resp_broker, node_id, KW_T_INT32, KW_VALL),
    KW_F(kw_metadata_resp_broker, host, KW_T_STRING, KW_VALL),
    KW_F(kw_metadata_resp_broker, port, KW_T_INT32, KW_VALL),
    KW_F(kw_metadata_resp_broker, rack, KW_T_STRING, KW_VFROM(1), .nullv = KW_VFROM(1),
         .dflt = -1),
};
static const kw_schema metadata_resp_broker =
    KW_SCHEMA(kw_metadata_resp_broker, metadata_resp_broker_fields);

static const kw_field metadata_resp_partition_fields[] = {
    KW_F(kw_metadata_resp_partition, error_code, KW_T_INT16, KW_VALL),
    KW_F(kw_metadata_resp_partition, partition_index, KW_T_INT32, KW_VALL),
    KW_F(kw_metadata_resp_partition, leader_id, KW_T_INT32, KW_VALL),
    KW_F(kw_metadata_resp_partition, leader_epoch, KW_T_INT32, KW_VFROM(7), .dflt = -1),
    KW_FP(kw_metadata_resp_partition, replica_nodes, KW_T_INT32, KW_VALL),
    KW_FP(kw_metadata_resp_partition, isr_nodes, KW_T_INT32, KW_VALL),
    KW_FP(kw_metadata_resp_partition, offline_replicas, KW_T_INT32, KW_VFROM(5)),
};
static const kw_schema metadata_resp_partition =
    KW_SCHEMA(kw_metadata_resp_partition, metadata_resp_partition_fields);

static const kw_field metadata_resp_topic_fields[] = {
    KW_F(kw_metadata_resp_topic, error_code, KW_T_INT16, KW_VALL),
    KW_F(kw_metadata_resp_topic, name, KW_T_STRING, KW_VALL, .nullv = KW_VFROM(12)),
    KW_F(kw_metadata_resp_topic, topic_id, KW_T_UUID, KW_VFROM(10)),
    KW_F(kw_metadata_resp_topic, is_internal, KW_T_BOOL, KW_VFROM(1)),
    KW_FA(kw_metadata_resp_topic, partitions, metadata_resp_partition, KW_VALL),
    KW_F(kw_metadata_resp_topic, topic_authorized_operations, KW_T_INT32, KW_VFROM(8),
         .dflt = INT32_MIN),
};
static const kw_schema metadata_resp_topic =
    KW_SCHEMA(kw_metadata_resp_topic, metadata_resp_topic_fields);

static const kw_field metadata_resp_fields[] = {
    KW_F(kw_metadata_resp, throttle_time_ms, KW_T_INT32, KW_VFROM(3)),
    KW_FA(kw_metadata_resp, brokers, metadata_resp_broker, KW_VALL),
    KW_F(kw_metadata_resp, cluster_id, KW_T_STRING, KW_VFROM(2), .nullv = KW_VFROM(2), .dflt = -1),
    KW_F(kw_metadata_resp, controller_id, KW_T_INT32, KW_VFROM(1), .dflt = -1),
    KW_FA(kw_metadata_resp, topics, metadata_resp_topic, KW_VALL),
    KW_F(kw_metadata_resp, cluster_authorized_operations, KW_T_INT32, KW_V(8, 10),
         .dflt = INT32_MIN),
    KW_F(kw_metadata_resp, error_code, KW_T_INT16, KW_VFROM(13)),
};
static const kw_schema metadata_resp = KW_SCHEMA(kw_metadata_resp, metadata_resp_fields);

const kw_api kw__api_metadata = {
    .key = KW_API_METADATA,
    .name = "Metadata",
    .vmin = 0,
    .vmax = 13,
    .flex = 9,
    .req = &metadata_req,
    .resp = &metadata_resp,
};

/* ---- DeleteRecords (21) ---- */

static const kw_field delete_records_req_partition_fields[] = {
    KW_F(kw_delete_records_req_partition, partition_index, KW_T_INT32, KW_VALL),
    KW_F(kw_delete_records_req_partition, offset, KW_T_INT64, KW_VALL),
};
static const kw_schema delete_records_req_partition =
    KW_SCHEMA(kw_delete_records_req_partition, delete_records_req_partition_fields);

static const kw_field delete_records_req_topic_fields[] = {
    KW_F(kw_delete_records_req_topic, name, KW_T_STRING, KW_VALL),
    KW_FA(kw_delete_records_req_topic, partitions, delete_records_req_partition, KW_VALL),
};
static const kw_schema delete_records_req_topic =
    KW_SCHEMA(kw_delete_records_req_topic, delete_records_req_topic_fields);

static const kw_field delete_records_req_fields[] = {
    KW_FA(kw_delete_records_req, topics, delete_records_req_topic, KW_VALL),
    KW_F(kw_delete_records_req, timeout_ms, KW_T_INT32, KW_VALL),
};
static const kw_schema delete_records_req =
    KW_SCHEMA(kw_delete_records_req, delete_records_req_fields);

static const kw_field delete_records_resp_partition_fields[] = {
    KW_F(kw_delete_records_resp_partition, partition_index, KW_T_INT32, KW_VALL),
    KW_F(kw_delete_records_resp_partition, low_watermark, KW_T_INT64, KW_VALL),
    KW_F(kw_delete_records_resp_partition, error_code, KW_T_INT16, KW_VALL),
};
static const kw_schema delete_records_resp_partition =
    KW_SCHEMA(kw_delete_records_resp_partition, delete_records_resp_partition_fields);

static const kw_field delete_records_resp_topic_fields[] = {
    KW_F(kw_delete_records_resp_topic, name, KW_T_STRING, KW_VALL),
    KW_FA(kw_delete_records_resp_topic, partitions, delete_records_resp_partition, KW_VALL),
};
static const kw_schema delete_records_resp_topic =
    KW_SCHEMA(kw_delete_records_resp_topic, delete_records_resp_topic_fields);

static const kw_field delete_records_resp_fields[] = {
    KW_F(kw_delete_records_resp, throttle_time_ms, KW_T_INT32, KW_VALL),
    KW_FA(kw_delete_records_resp, topics, delete_records_resp_topic, KW_VALL),
};
static const kw_schema delete_records_resp =
    KW_SCHEMA(kw_delete_records_resp, delete_records_resp_fields);

const kw_api kw__api_delete_records = {
    .key = KW_API_DELETE_RECORDS,
    .name = "DeleteRecords",
    .vmin = 0,
    .vmax = 2,
    .flex = 2,
    .req = &delete_records_req,
    .resp = &delete_records_resp,
};

const kw_fetch_resp_partition *kw__fetch_resp_find(const kw_fetch_resp *r, int version,
                                                   const char *topic, kw_uuid topic_id,
                                                   int32_t partition)
{
    if (!r)
        return NULL;
    for (int32_t i = 0; i < r->responses.n; i++) {
        const kw_fetch_resp_topic *t = &r->responses.v[i];
        bool same = version >= 13 ? !kw_uuid_is_zero(topic_id) && kw_uuid_eq(t->topic_id, topic_id)
                                  : kw_str_eq(t->topic, topic);
        if (!same)
            continue;
        for (int32_t j = 0; j < t->partitions.n; j++)
            if (t->partitions.v[j].partition_index == partition)
                return &t->partitions.v[j];
    }
    return NULL;
}
