/* Consumer-group and transaction message tables (Kafka's OffsetCommit ... EndTxn message specs). */
#include "msg_group.h"

/*
 * Transcribed from the spec's field lists: one entry per field in spec
 * order, with the spec's versions, nullable versions and defaults.  None of
 * these messages has a tagged field up to the versions kwal speaks.  Fields
 * of versions below an API's vmin (OffsetCommit v1's commit timestamp) are
 * kept so each table is the whole spec up to vmax.
 */

/* ---- OffsetCommit (8): versions 2-9, flexible from 8 ---- */

static const kw_field offset_commit_req_partition_fields[] = {
    KW_F(kw_offset_commit_req_partition, partition_index, KW_T_INT32, KW_VALL),
    KW_F(kw_offset_commit_req_partition, committed_offset, KW_T_INT64, KW_VALL),
    KW_F(kw_offset_commit_req_partition, committed_leader_epoch, KW_T_INT32, KW_VFROM(6),
         .dflt = -1),
    KW_F(kw_offset_commit_req_partition, commit_timestamp, KW_T_INT64, KW_V(1, 1), .dflt = -1),
    KW_F(kw_offset_commit_req_partition, committed_metadata, KW_T_STRING, KW_VALL,
         .nullv = KW_VALL),
};
static const kw_schema offset_commit_req_partition =
    KW_SCHEMA(kw_offset_commit_req_partition, offset_commit_req_partition_fields);

static const kw_field offset_commit_req_topic_fields[] = {
    KW_F(kw_offset_commit_req_topic, name, KW_T_STRING, KW_VALL),
    KW_FA(kw_offset_commit_req_topic, partitions, offset_commit_req_partition, KW_VALL),
};
static const kw_schema offset_commit_req_topic =
    KW_SCHEMA(kw_offset_commit_req_topic, offset_commit_req_topic_fields);

static const kw_field offset_commit_req_fields[] = {
    KW_F(kw_offset_commit_req, group_id, KW_T_STRING, KW_VALL),
    KW_F(kw_offset_commit_req, generation_id_or_member_epoch, KW_T_INT32, KW_VFROM(1),
         .dflt = -1),
    KW_F(kw_offset_commit_req, member_id, KW_T_STRING, KW_VFROM(1)),
    KW_F(kw_offset_commit_req, group_instance_id, KW_T_STRING, KW_VFROM(7), .nullv = KW_VFROM(7),
         .dflt = -1),
    KW_F(kw_offset_commit_req, retention_time_ms, KW_T_INT64, KW_V(2, 4), .dflt = -1),
    KW_FA(kw_offset_commit_req, topics, offset_commit_req_topic, KW_VALL),
};
static const kw_schema offset_commit_req =
    KW_SCHEMA(kw_offset_commit_req, offset_commit_req_fields);

static const kw_field offset_commit_resp_partition_fields[] = {
    KW_F(kw_offset_commit_resp_partition, partition_index, KW_T_INT32, KW_VALL),
    KW_F(kw_offset_commit_resp_partition, error_code, KW_T_INT16, KW_VALL),
};
static const kw_schema offset_commit_resp_partition =
    KW_SCHEMA(kw_offset_commit_resp_partition, offset_commit_resp_partition_fields);

static const kw_field offset_commit_resp_topic_fields[] = {
    KW_F(kw_offset_commit_resp_topic, name, KW_T_STRING, KW_VALL),
    KW_FA(kw_offset_commit_resp_topic, partitions, offset_commit_resp_partition, KW_VALL),
};
static const kw_schema offset_commit_resp_topic =
    KW_SCHEMA(kw_offset_commit_resp_topic, offset_commit_resp_topic_fields);

static const kw_field offset_commit_resp_fields[] = {
    KW_F(kw_offset_commit_resp, throttle_time_ms, KW_T_INT32, KW_VFROM(3)),
    KW_FA(kw_offset_commit_resp, topics, offset_commit_resp_topic, KW_VALL),
};
static const kw_schema offset_commit_resp =
    KW_SCHEMA(kw_offset_commit_resp, offset_commit_resp_fields);

const kw_api kw__api_offset_commit = {
    .key = KW_API_OFFSET_COMMIT,
    .name = "OffsetCommit",
    .vmin = 2,
    .vmax = 9,
    .flex = 8,
    .req = &offset_commit_req,
    .resp = &offset_commit_resp,
};

/* ---- OffsetFetch (9): versions 1-9, flexible from 6, one group up to v7, many from v8 ---- */

static const kw_field offset_fetch_req_topic_fields[] = {
    KW_F(kw_offset_fetch_req_topic, name, KW_T_STRING, KW_V(0, 7)),
    KW_FP(kw_offset_fetch_req_topic, partition_indexes, KW_T_INT32, KW_V(0, 7)),
};
static const kw_schema offset_fetch_req_topic =
    KW_SCHEMA(kw_offset_fetch_req_topic, offset_fetch_req_topic_fields);

static const kw_field offset_fetch_req_group_topic_fields[] = {
    KW_F(kw_offset_fetch_req_group_topic, name, KW_T_STRING, KW_VFROM(8)),
    KW_FP(kw_offset_fetch_req_group_topic, partition_indexes, KW_T_INT32, KW_VFROM(8)),
};
static const kw_schema offset_fetch_req_group_topic =
    KW_SCHEMA(kw_offset_fetch_req_group_topic, offset_fetch_req_group_topic_fields);

static const kw_field offset_fetch_req_group_fields[] = {
    KW_F(kw_offset_fetch_req_group, group_id, KW_T_STRING, KW_VFROM(8)),
    KW_F(kw_offset_fetch_req_group, member_id, KW_T_STRING, KW_VFROM(9), .nullv = KW_VFROM(9),
         .dflt = -1),
    KW_F(kw_offset_fetch_req_group, member_epoch, KW_T_INT32, KW_VFROM(9), .dflt = -1),
    KW_FA(kw_offset_fetch_req_group, topics, offset_fetch_req_group_topic, KW_VFROM(8),
          .nullv = KW_VFROM(8)),
};
static const kw_schema offset_fetch_req_group =
    KW_SCHEMA(kw_offset_fetch_req_group, offset_fetch_req_group_fields);

static const kw_field offset_fetch_req_fields[] = {
    KW_F(kw_offset_fetch_req, group_id, KW_T_STRING, KW_V(0, 7)),
    KW_FA(kw_offset_fetch_req, topics, offset_fetch_req_topic, KW_V(0, 7), .nullv = KW_V(2, 7)),
    KW_FA(kw_offset_fetch_req, groups, offset_fetch_req_group, KW_VFROM(8)),
    KW_F(kw_offset_fetch_req, require_stable, KW_T_BOOL, KW_VFROM(7)),
};
static const kw_schema offset_fetch_req = KW_SCHEMA(kw_offset_fetch_req, offset_fetch_req_fields);

static const kw_field offset_fetch_resp_partition_fields[] = {
    KW_F(kw_offset_fetch_resp_partition, partition_index, KW_T_INT32, KW_V(0, 7)),
    KW_F(kw_offset_fetch_resp_partition, committed_offset, KW_T_INT64, KW_V(0, 7)),
    KW_F(kw_offset_fetch_resp_partition, committed_leader_epoch, KW_T_INT32, KW_V(5, 7),
         .dflt = -1),
    KW_F(kw_offset_fetch_resp_partition, metadata, KW_T_STRING, KW_V(0, 7), .nullv = KW_V(0, 7)),
    KW_F(kw_offset_fetch_resp_partition, error_code, KW_T_INT16, KW_V(0, 7)),
};
static const kw_schema offset_fetch_resp_partition =
    KW_SCHEMA(kw_offset_fetch_resp_partition, offset_fetch_resp_partition_fields);

static const kw_field offset_fetch_resp_topic_fields[] = {
    KW_F(kw_offset_fetch_resp_topic, name, KW_T_STRING, KW_V(0, 7)),
    KW_FA(kw_offset_fetch_resp_topic, partitions, offset_fetch_resp_partition, KW_V(0, 7)),
};
static const kw_schema offset_fetch_resp_topic =
    KW_SCHEMA(kw_offset_fetch_resp_topic, offset_fetch_resp_topic_fields);

static const kw_field offset_fetch_resp_group_partition_fields[] = {
    KW_F(kw_offset_fetch_resp_group_partition, partition_index, KW_T_INT32, KW_VFROM(8)),
    KW_F(kw_offset_fetch_resp_group_partition, committed_offset, KW_T_INT64, KW_VFROM(8)),
    KW_F(kw_offset_fetch_resp_group_partition, committed_leader_epoch, KW_T_INT32, KW_VFROM(8),
         .dflt = -1),
    KW_F(kw_offset_fetch_resp_group_partition, metadata, KW_T_STRING, KW_VFROM(8),
         .nullv = KW_VFROM(8)),
    KW_F(kw_offset_fetch_resp_group_partition, error_code, KW_T_INT16, KW_VFROM(8)),
};
static const kw_schema offset_fetch_resp_group_partition =
    KW_SCHEMA(kw_offset_fetch_resp_group_partition, offset_fetch_resp_group_partition_fields);

static const kw_field offset_fetch_resp_group_topic_fields[] = {
    KW_F(kw_offset_fetch_resp_group_topic, name, KW_T_STRING, KW_VFROM(8)),
    KW_FA(kw_offset_fetch_resp_group_topic, partitions, offset_fetch_resp_group_partition,
          KW_VFROM(8)),
};
static const kw_schema offset_fetch_resp_group_topic =
    KW_SCHEMA(kw_offset_fetch_resp_group_topic, offset_fetch_resp_group_topic_fields);

static const kw_field offset_fetch_resp_group_fields[] = {
    KW_F(kw_offset_fetch_resp_group, group_id, KW_T_STRING, KW_VFROM(8)),
    KW_FA(kw_offset_fetch_resp_group, topics, offset_fetch_resp_group_topic, KW_VFROM(8)),
    KW_F(kw_offset_fetch_resp_group, error_code, KW_T_INT16, KW_VFROM(8)),
};
static const kw_schema offset_fetch_resp_group =
    KW_SCHEMA(kw_offset_fetch_resp_group, offset_fetch_resp_group_fields);

static const kw_field offset_fetch_resp_fields[] = {
    KW_F(kw_offset_fetch_resp, throttle_time_ms, KW_T_INT32, KW_VFROM(3)),
    KW_FA(kw_offset_fetch_resp, topics, offset_fetch_resp_topic, KW_V(0, 7)),
    KW_F(kw_offset_fetch_resp, error_code, KW_T_INT16, KW_V(2, 7)),
    KW_FA(kw_offset_fetch_resp, groups, offset_fetch_resp_group, KW_VFROM(8)),
};
static const kw_schema offset_fetch_resp =
    KW_SCHEMA(kw_offset_fetch_resp, offset_fetch_resp_fields);

const kw_api kw__api_offset_fetch = {
    .key = KW_API_OFFSET_FETCH,
    .name = "OffsetFetch",
    .vmin = 1,
    .vmax = 9,
    .flex = 6,
    .req = &offset_fetch_req,
    .resp = &offset_fetch_resp,
};

/* ---- FindCoordinator (10): versions 0-6, flexible from 3, batched keys from 4 ---- */

static const kw_field find_coordinator_req_fields[] = {
    KW_F(kw_find_coordinator_req, key, KW_T_STRING, KW_V(0, 3)),
    KW_F(kw_find_coordinator_req, key_type, KW_T_INT8, KW_VFROM(1)),
    KW_FP(kw_find_coordinator_req, coordinator_keys, KW_T_STRING, KW_VFROM(4)),
};
static const kw_schema find_coordinator_req =
    KW_SCHEMA(kw_find_coordinator_req, find_coordinator_req_fields);

static const kw_field find_coordinator_resp_coordinator_fields[] = {
    KW_F(kw_find_coordinator_resp_coordinator, key, KW_T_STRING, KW_VFROM(4)),
    KW_F(kw_find_coordinator_resp_coordinator, node_id, KW_T_INT32, KW_VFROM(4)),
    KW_F(kw_find_coordinator_resp_coordinator, host, KW_T_STRING, KW_VFROM(4)),
    KW_F(kw_find_coordinator_resp_coordinator, port, KW_T_INT32, KW_VFROM(4)),
    KW_F(kw_find_coordinator_resp_coordinator, error_code, KW_T_INT16, KW_VFROM(4)),
    KW_F(kw_find_coordinator_resp_coordinator, error_message, KW_T_STRING, KW_VFROM(4),
         .nullv = KW_VFROM(4)),
};
static const kw_schema find_coordinator_resp_coordinator =
    KW_SCHEMA(kw_find_coordinator_resp_coordinator, find_coordinator_resp_coordinator_fields);

static const kw_field find_coordinator_resp_fields[] = {
    KW_F(kw_find_coordinator_resp, throttle_time_ms, KW_T_INT32, KW_VFROM(1)),
    KW_F(kw_find_coordinator_resp, error_code, KW_T_INT16, KW_V(0, 3)),
    KW_F(kw_find_coordinator_resp, error_message, KW_T_STRING, KW_V(1, 3), .nullv = KW_V(1, 3)),
    KW_F(kw_find_coordinator_resp, node_id, KW_T_INT32, KW_V(0, 3)),
    KW_F(kw_find_coordinator_resp, host, KW_T_STRING, KW_V(0, 3)),
    KW_F(kw_find_coordinator_resp, port, KW_T_INT32, KW_V(0, 3)),
    KW_FA(kw_find_coordinator_resp, coordinators, find_coordinator_resp_coordinator, KW_VFROM(4)),
};
static const kw_schema find_coordinator_resp =
    KW_SCHEMA(kw_find_coordinator_resp, find_coordinator_resp_fields);

const kw_api kw__api_find_coordinator = {
    .key = KW_API_FIND_COORDINATOR,
    .name = "FindCoordinator",
    .vmin = 0,
    .vmax = 6,
    .flex = 3,
    .req = &find_coordinator_req,
    .resp = &find_coordinator_resp,
};

/* ---- JoinGroup (11): versions 0-9, flexible from 6 ---- */

static const kw_field join_group_req_protocol_fields[] = {
    KW_F(kw_join_group_req_protocol, name, KW_T_STRING, KW_VALL),
    KW_F(kw_join_group_req_protocol, metadata, KW_T_BYTES, KW_VALL),
};
static const kw_schema join_group_req_protocol =
    KW_SCHEMA(kw_join_group_req_protocol, join_group_req_protocol_fields);

static const kw_field join_group_req_fields[] = {
    KW_F(kw_join_group_req, group_id, KW_T_STRING, KW_VALL),
    KW_F(kw_join_group_req, session_timeout_ms, KW_T_INT32, KW_VALL),
    KW_F(kw_join_group_req, rebalance_timeout_ms, KW_T_INT32, KW_VFROM(1), .dflt = -1),
    KW_F(kw_join_group_req, member_id, KW_T_STRING, KW_VALL),
    KW_F(kw_join_group_req, group_instance_id, KW_T_STRING, KW_VFROM(5), .nullv = KW_VFROM(5),
         .dflt = -1),
    KW_F(kw_join_group_req, protocol_type, KW_T_STRING, KW_VALL),
    KW_FA(kw_join_group_req, protocols, join_group_req_protocol, KW_VALL),
    KW_F(kw_join_group_req, reason, KW_T_STRING, KW_VFROM(8), .nullv = KW_VFROM(8), .dflt = -1),
};
static const kw_schema join_group_req = KW_SCHEMA(kw_join_group_req, join_group_req_fields);

static const kw_field join_group_resp_member_fields[] = {
    KW_F(kw_join_group_resp_member, member_id, KW_T_STRING, KW_VALL),
    KW_F(kw_join_group_resp_member, group_instance_id, KW_T_STRING, KW_VFROM(5),
         .nullv = KW_VFROM(5), .dflt = -1),
    KW_F(kw_join_group_resp_member, metadata, KW_T_BYTES, KW_VALL),
};
static const kw_schema join_group_resp_member =
    KW_SCHEMA(kw_join_group_resp_member, join_group_resp_member_fields);

static const kw_field join_group_resp_fields[] = {
    KW_F(kw_join_group_resp, throttle_time_ms, KW_T_INT32, KW_VFROM(2)),
    KW_F(kw_join_group_resp, error_code, KW_T_INT16, KW_VALL),
    KW_F(kw_join_group_resp, generation_id, KW_T_INT32, KW_VALL, .dflt = -1),
    KW_F(kw_join_group_resp, protocol_type, KW_T_STRING, KW_VFROM(7), .nullv = KW_VFROM(7),
         .dflt = -1),
    /* present in every version, but nullable only from v7 */
    KW_F(kw_join_group_resp, protocol_name, KW_T_STRING, KW_VALL, .nullv = KW_VFROM(7)),
    KW_F(kw_join_group_resp, leader, KW_T_STRING, KW_VALL),
    KW_F(kw_join_group_resp, skip_assignment, KW_T_BOOL, KW_VFROM(9)),
    KW_F(kw_join_group_resp, member_id, KW_T_STRING, KW_VALL),
    KW_FA(kw_join_group_resp, members, join_group_resp_member, KW_VALL),
};
static const kw_schema join_group_resp = KW_SCHEMA(kw_join_group_resp, join_group_resp_fields);

const kw_api kw__api_join_group = {
    .key = KW_API_JOIN_GROUP,
    .name = "JoinGroup",
    .vmin = 0,
    .vmax = 9,
    .flex = 6,
    .req = &join_group_req,
    .resp = &join_group_resp,
};

/* ---- Heartbeat (12): versions 0-4, flexible from 4 ---- */

static const kw_field heartbeat_req_fields[] = {
    KW_F(kw_heartbeat_req, group_id, KW_T_STRING, KW_VALL),
    KW_F(kw_heartbeat_req, generation_id, KW_T_INT32, KW_VALL),
    KW_F(kw_heartbeat_req, member_id, KW_T_STRING, KW_VALL),
    KW_F(kw_heartbeat_req, group_instance_id, KW_T_STRING, KW_VFROM(3), .nullv = KW_VFROM(3),
         .dflt = -1),
};
static const kw_schema heartbeat_req = KW_SCHEMA(kw_heartbeat_req, heartbeat_req_fields);

static const kw_field heartbeat_resp_fields[] = {
    KW_F(kw_heartbeat_resp, throttle_time_ms, KW_T_INT32, KW_VFROM(1)),
    KW_F(kw_heartbeat_resp, error_code, KW_T_INT16, KW_VALL),
};
static const kw_schema heartbeat_resp = KW_SCHEMA(kw_heartbeat_resp, heartbeat_resp_fields);

const kw_api kw__api_heartbeat = {
    .key = KW_API_HEARTBEAT,
    .name = "Heartbeat",
    .vmin = 0,
    .vmax = 4,
    .flex = 4,
    .req = &heartbeat_req,
    .resp = &heartbeat_resp,
};

/* ---- LeaveGroup (13): versions 0-5, flexible from 4, a member list from 3 ---- */

static const kw_field leave_group_req_member_fields[] = {
    KW_F(kw_leave_group_req_member, member_id, KW_T_STRING, KW_VFROM(3)),
    KW_F(kw_leave_group_req_member, group_instance_id, KW_T_STRING, KW_VFROM(3),
         .nullv = KW_VFROM(3), .dflt = -1),
    KW_F(kw_leave_group_req_member, reason, KW_T_STRING, KW_VFROM(5), .nullv = KW_VFROM(5),
         .dflt = -1),
};
static const kw_schema leave_group_req_member =
    KW_SCHEMA(kw_leave_group_req_member, leave_group_req_member_fields);

static const kw_field leave_group_req_fields[] = {
    KW_F(kw_leave_group_req, group_id, KW_T_STRING, KW_VALL),
    KW_F(kw_leave_group_req, member_id, KW_T_STRING, KW_V(0, 2)),
    KW_FA(kw_leave_group_req, members, leave_group_req_member, KW_VFROM(3)),
};
static const kw_schema leave_group_req = KW_SCHEMA(kw_leave_group_req, leave_group_req_fields);

static const kw_field leave_group_resp_member_fields[] = {
    KW_F(kw_leave_group_resp_member, member_id, KW_T_STRING, KW_VFROM(3)),
    /* nullable, but the spec gives no null default here (unlike the request) */
    KW_F(kw_leave_group_resp_member, group_instance_id, KW_T_STRING, KW_VFROM(3),
         .nullv = KW_VFROM(3)),
    KW_F(kw_leave_group_resp_member, error_code, KW_T_INT16, KW_VFROM(3)),
};
static const kw_schema leave_group_resp_member =
    KW_SCHEMA(kw_leave_group_resp_member, leave_group_resp_member_fields);

static const kw_field leave_group_resp_fields[] = {
    KW_F(kw_leave_group_resp, throttle_time_ms, KW_T_INT32, KW_VFROM(1)),
    KW_F(kw_leave_group_resp, error_code, KW_T_INT16, KW_VALL),
    KW_FA(kw_leave_group_resp, members, leave_group_resp_member, KW_VFROM(3)),
};
static const kw_schema leave_group_resp = KW_SCHEMA(kw_leave_group_resp, leave_group_resp_fields);

const kw_api kw__api_leave_group = {
    .key = KW_API_LEAVE_GROUP,
    .name = "LeaveGroup",
    .vmin = 0,
    .vmax = 5,
    .flex = 4,
    .req = &leave_group_req,
    .resp = &leave_group_resp,
};

/* ---- SyncGroup (14): versions 0-5, flexible from 4 ---- */

static const kw_field sync_group_req_assignment_fields[] = {
    KW_F(kw_sync_group_req_assignment, member_id, KW_T_STRING, KW_VALL),
    KW_F(kw_sync_group_req_assignment, assignment, KW_T_BYTES, KW_VALL),
};
static const kw_schema sync_group_req_assignment =
    KW_SCHEMA(kw_sync_group_req_assignment, sync_group_req_assignment_fields);

static const kw_field sync_group_req_fields[] = {
    KW_F(kw_sync_group_req, group_id, KW_T_STRING, KW_VALL),
    KW_F(kw_sync_group_req, generation_id, KW_T_INT32, KW_VALL),
    KW_F(kw_sync_group_req, member_id, KW_T_STRING, KW_VALL),
    KW_F(kw_sync_group_req, group_instance_id, KW_T_STRING, KW_VFROM(3), .nullv = KW_VFROM(3),
         .dflt = -1),
    KW_F(kw_sync_group_req, protocol_type, KW_T_STRING, KW_VFROM(5), .nullv = KW_VFROM(5),
         .dflt = -1),
    KW_F(kw_sync_group_req, protocol_name, KW_T_STRING, KW_VFROM(5), .nullv = KW_VFROM(5),
         .dflt = -1),
    KW_FA(kw_sync_group_req, assignments, sync_group_req_assignment, KW_VALL),
};
static const kw_schema sync_group_req = KW_SCHEMA(kw_sync_group_req, sync_group_req_fields);

static const kw_field sync_group_resp_fields[] = {
    KW_F(kw_sync_group_resp, throttle_time_ms, KW_T_INT32, KW_VFROM(1)),
    KW_F(kw_sync_group_resp, error_code, KW_T_INT16, KW_VALL),
    KW_F(kw_sync_group_resp, protocol_type, KW_T_STRING, KW_VFROM(5), .nullv = KW_VFROM(5),
         .dflt = -1),
    KW_F(kw_sync_group_resp, protocol_name, KW_T_STRING, KW_VFROM(5), .nullv = KW_VFROM(5),
         .dflt = -1),
    KW_F(kw_sync_group_resp, assignment, KW_T_BYTES, KW_VALL),
};
static const kw_schema sync_group_resp = KW_SCHEMA(kw_sync_group_resp, sync_group_resp_fields);

const kw_api kw__api_sync_group = {
    .key = KW_API_SYNC_GROUP,
    .name = "SyncGroup",
    .vmin = 0,
    .vmax = 5,
    .flex = 4,
    .req = &sync_group_req,
    .resp = &sync_group_resp,
};

/* ---- InitProducerId (22): versions 0-5, flexible from 2 ---- */

static const kw_field init_producer_id_req_fields[] = {
    KW_F(kw_init_producer_id_req, transactional_id, KW_T_STRING, KW_VALL, .nullv = KW_VALL),
    KW_F(kw_init_producer_id_req, transaction_timeout_ms, KW_T_INT32, KW_VALL),
    KW_F(kw_init_producer_id_req, producer_id, KW_T_INT64, KW_VFROM(3), .dflt = -1),
    KW_F(kw_init_producer_id_req, producer_epoch, KW_T_INT16, KW_VFROM(3), .dflt = -1),
};
static const kw_schema init_producer_id_req =
    KW_SCHEMA(kw_init_producer_id_req, init_producer_id_req_fields);

static const kw_field init_producer_id_resp_fields[] = {
    KW_F(kw_init_producer_id_resp, throttle_time_ms, KW_T_INT32, KW_VALL),
    KW_F(kw_init_producer_id_resp, error_code, KW_T_INT16, KW_VALL),
    KW_F(kw_init_producer_id_resp, producer_id, KW_T_INT64, KW_VALL, .dflt = -1),
    KW_F(kw_init_producer_id_resp, producer_epoch, KW_T_INT16, KW_VALL),
};
static const kw_schema init_producer_id_resp =
    KW_SCHEMA(kw_init_producer_id_resp, init_producer_id_resp_fields);

const kw_api kw__api_init_producer_id = {
    .key = KW_API_INIT_PRODUCER_ID,
    .name = "InitProducerId",
    .vmin = 0,
    .vmax = 5,
    .flex = 2,
    .req = &init_producer_id_req,
    .resp = &init_producer_id_resp,
};

/* ---- AddPartitionsToTxn (24): versions 0-5, flexible from 3, batched transactions from 4 ---- */

/* The spec's one "common struct" of the request, used by both the v0-3 and the v4+ forms. */
static const kw_field add_partitions_to_txn_req_topic_fields[] = {
    KW_F(kw_add_partitions_to_txn_req_topic, name, KW_T_STRING, KW_VALL),
    KW_FP(kw_add_partitions_to_txn_req_topic, partitions, KW_T_INT32, KW_VALL),
};
static const kw_schema add_partitions_to_txn_req_topic =
    KW_SCHEMA(kw_add_partitions_to_txn_req_topic, add_partitions_to_txn_req_topic_fields);

static const kw_field add_partitions_to_txn_req_transaction_fields[] = {
    KW_F(kw_add_partitions_to_txn_req_transaction, transactional_id, KW_T_STRING, KW_VFROM(4)),
    KW_F(kw_add_partitions_to_txn_req_transaction, producer_id, KW_T_INT64, KW_VFROM(4)),
    KW_F(kw_add_partitions_to_txn_req_transaction, producer_epoch, KW_T_INT16, KW_VFROM(4)),
    KW_F(kw_add_partitions_to_txn_req_transaction, verify_only, KW_T_BOOL, KW_VFROM(4)),
    KW_FA(kw_add_partitions_to_txn_req_transaction, topics, add_partitions_to_txn_req_topic,
          KW_VFROM(4)),
};
static const kw_schema add_partitions_to_txn_req_transaction = KW_SCHEMA(
    kw_add_partitions_to_txn_req_transaction, add_partitions_to_txn_req_transaction_fields);

static const kw_field add_partitions_to_txn_req_fields[] = {
    KW_FA(kw_add_partitions_to_txn_req, transactions, add_partitions_to_txn_req_transaction,
          KW_VFROM(4)),
    KW_F(kw_add_partitions_to_txn_req, v3_and_below_transactional_id, KW_T_STRING, KW_V(0, 3)),
    KW_F(kw_add_partitions_to_txn_req, v3_and_below_producer_id, KW_T_INT64, KW_V(0, 3)),
    KW_F(kw_add_partitions_to_txn_req, v3_and_below_producer_epoch, KW_T_INT16, KW_V(0, 3)),
    KW_FA(kw_add_partitions_to_txn_req, v3_and_below_topics, add_partitions_to_txn_req_topic,
          KW_V(0, 3)),
};
static const kw_schema add_partitions_to_txn_req =
    KW_SCHEMA(kw_add_partitions_to_txn_req, add_partitions_to_txn_req_fields);

static const kw_field add_partitions_to_txn_resp_partition_result_fields[] = {
    KW_F(kw_add_partitions_to_txn_resp_partition_result, partition_index, KW_T_INT32, KW_VALL),
    KW_F(kw_add_partitions_to_txn_resp_partition_result, partition_error_code, KW_T_INT16,
         KW_VALL),
};
static const kw_schema add_partitions_to_txn_resp_partition_result =
    KW_SCHEMA(kw_add_partitions_to_txn_resp_partition_result,
              add_partitions_to_txn_resp_partition_result_fields);

static const kw_field add_partitions_to_txn_resp_topic_result_fields[] = {
    KW_F(kw_add_partitions_to_txn_resp_topic_result, name, KW_T_STRING, KW_VALL),
    KW_FA(kw_add_partitions_to_txn_resp_topic_result, results_by_partition,
          add_partitions_to_txn_resp_partition_result, KW_VALL),
};
static const kw_schema add_partitions_to_txn_resp_topic_result = KW_SCHEMA(
    kw_add_partitions_to_txn_resp_topic_result, add_partitions_to_txn_resp_topic_result_fields);

static const kw_field add_partitions_to_txn_resp_result_fields[] = {
    KW_F(kw_add_partitions_to_txn_resp_result, transactional_id, KW_T_STRING, KW_VFROM(4)),
    KW_FA(kw_add_partitions_to_txn_resp_result, topic_results,
          add_partitions_to_txn_resp_topic_result, KW_VFROM(4)),
};
static const kw_schema add_partitions_to_txn_resp_result =
    KW_SCHEMA(kw_add_partitions_to_txn_resp_result, add_partitions_to_txn_resp_result_fields);

static const kw_field add_partitions_to_txn_resp_fields[] = {
    KW_F(kw_add_partitions_to_txn_resp, throttle_time_ms, KW_T_INT32, KW_VALL),
    KW_F(kw_add_partitions_to_txn_resp, error_code, KW_T_INT16, KW_VFROM(4)),
    KW_FA(kw_add_partitions_to_txn_resp, results_by_transaction, add_partitions_to_txn_resp_result,
          KW_VFROM(4)),
    KW_FA(kw_add_partitions_to_txn_resp, results_by_topic_v3_and_below,
          add_partitions_to_txn_resp_topic_result, KW_V(0, 3)),
};
static const kw_schema add_partitions_to_txn_resp =
    KW_SCHEMA(kw_add_partitions_to_txn_resp, add_partitions_to_txn_resp_fields);

const kw_api kw__api_add_partitions_to_txn = {
    .key = KW_API_ADD_PARTITIONS_TO_TXN,
    .name = "AddPartitionsToTxn",
    .vmin = 0,
    .vmax = 5,
    .flex = 3,
    .req = &add_partitions_to_txn_req,
    .resp = &add_partitions_to_txn_resp,
};

/* ---- EndTxn (26): versions 0-5, flexible from 3 ---- */

static const kw_field end_txn_req_fields[] = {
    KW_F(kw_end_txn_req, transactional_id, KW_T_STRING, KW_VALL),
    KW_F(kw_end_txn_req, producer_id, KW_T_INT64, KW_VALL),
    KW_F(kw_end_txn_req, producer_epoch, KW_T_INT16, KW_VALL),
    KW_F(kw_end_txn_req, committed, KW_T_BOOL, KW_VALL),
};
static const kw_schema end_txn_req = KW_SCHEMA(kw_end_txn_req, end_txn_req_fields);

/* v5 answers with the (possibly bumped) producer id and epoch: transactions v2, KIP-890. */
static const kw_field end_txn_resp_fields[] = {
    KW_F(kw_end_txn_resp, throttle_time_ms, KW_T_INT32, KW_VALL),
    KW_F(kw_end_txn_resp, error_code, KW_T_INT16, KW_VALL),
    KW_F(kw_end_txn_resp, producer_id, KW_T_INT64, KW_VFROM(5), .dflt = -1),
    KW_F(kw_end_txn_resp, producer_epoch, KW_T_INT16, KW_VFROM(5), .dflt = -1),
};
static const kw_schema end_txn_resp = KW_SCHEMA(kw_end_txn_resp, end_txn_resp_fields);

const kw_api kw__api_end_txn = {
    .key = KW_API_END_TXN,
    .name = "EndTxn",
    .vmin = 0,
    .vmax = 5,
    .flex = 3,
    .req = &end_txn_req,
    .resp = &end_txn_resp,
};
