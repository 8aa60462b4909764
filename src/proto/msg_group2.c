/* Message tables of DescribeGroups, ListGroups, AddOffsetsToTxn, TxnOffsetCommit and the KIP-848 group APIs. */
#include "msg_group2.h"

/*
 * Transcribed from the spec's field lists (Kafka 4.3's message specs), one
 * entry per field in spec order with the spec's versions, nullable versions
 * and defaults.  None of these messages has a tagged field.  vmax is the
 * spec's newest version; the broker's ApiVersions answer (and the release cap
 * of kw_client_options.api_version_max) lowers it per connection.  Kafka 3.9
 * serves DescribeGroups 0-5, ListGroups 0-5, AddOffsetsToTxn 0-4,
 * TxnOffsetCommit 0-4, ConsumerGroupHeartbeat 0 and ConsumerGroupDescribe 0;
 * Kafka 4.x serves the ranges below up to vmax.  vmin is 0 everywhere, so
 * kwal reaches down to whatever the broker still accepts.
 */

/* ---- DescribeGroups (15): versions 0-6, flexible from 5 ---- */

static const kw_field describe_groups_req_fields[] = {
    KW_FP(kw_describe_groups_req, groups, KW_T_STRING, KW_VALL),
    KW_F(kw_describe_groups_req, include_authorized_operations, KW_T_BOOL, KW_VFROM(3)),
};
static const kw_schema describe_groups_req =
    KW_SCHEMA(kw_describe_groups_req, describe_groups_req_fields);

static const kw_field describe_groups_resp_member_fields[] = {
    KW_F(kw_describe_groups_resp_member, member_id, KW_T_STRING, KW_VALL),
    KW_F(kw_describe_groups_resp_member, group_instance_id, KW_T_STRING, KW_VFROM(4),
         .nullv = KW_VFROM(4), .dflt = -1),
    KW_F(kw_describe_groups_resp_member, client_id, KW_T_STRING, KW_VALL),
    KW_F(kw_describe_groups_resp_member, client_host, KW_T_STRING, KW_VALL),
    KW_F(kw_describe_groups_resp_member, member_metadata, KW_T_BYTES, KW_VALL),
    KW_F(kw_describe_groups_resp_member, member_assignment, KW_T_BYTES, KW_VALL),
};
static const kw_schema describe_groups_resp_member =
    KW_SCHEMA(kw_describe_groups_resp_member, describe_groups_resp_member_fields);

static const kw_field describe_groups_resp_group_fields[] = {
    KW_F(kw_describe_groups_resp_group, error_code, KW_T_INT16, KW_VALL),
    KW_F(kw_describe_groups_resp_group, error_message, KW_T_STRING, KW_VFROM(6),
         .nullv = KW_VFROM(6), .dflt = -1),
    KW_F(kw_describe_groups_resp_group, group_id, KW_T_STRING, KW_VALL),
    KW_F(kw_describe_groups_resp_group, group_state, KW_T_STRING, KW_VALL),
    KW_F(kw_describe_groups_resp_group, protocol_type, KW_T_STRING, KW_VALL),
    KW_F(kw_describe_groups_resp_group, protocol_data, KW_T_STRING, KW_VALL),
    KW_FA(kw_describe_groups_resp_group, members, describe_groups_resp_member, KW_VALL),
    KW_F(kw_describe_groups_resp_group, authorized_operations, KW_T_INT32, KW_VFROM(3),
         .dflt = INT32_MIN),
};
static const kw_schema describe_groups_resp_group =
    KW_SCHEMA(kw_describe_groups_resp_group, describe_groups_resp_group_fields);

static const kw_field describe_groups_resp_fields[] = {
    KW_F(kw_describe_groups_resp, throttle_time_ms, KW_T_INT32, KW_VFROM(1)),
    KW_FA(kw_describe_groups_resp, groups, describe_groups_resp_group, KW_VALL),
};
static const kw_schema describe_groups_resp =
    KW_SCHEMA(kw_describe_groups_resp, describe_groups_resp_fields);

const kw_api kw__api_describe_groups = {
    .key = KW_API_DESCRIBE_GROUPS,
    .name = "DescribeGroups",
    .vmin = 0,
    .vmax = 6,
    .flex = 5,
    .req = &describe_groups_req,
    .resp = &describe_groups_resp,
};

/* ---- ListGroups (16): versions 0-5, flexible from 3 ---- */

static const kw_field list_groups_req_fields[] = {
    KW_FP(kw_list_groups_req, states_filter, KW_T_STRING, KW_VFROM(4)),
    KW_FP(kw_list_groups_req, types_filter, KW_T_STRING, KW_VFROM(5)),
};
static const kw_schema list_groups_req = KW_SCHEMA(kw_list_groups_req, list_groups_req_fields);

static const kw_field list_groups_resp_group_fields[] = {
    KW_F(kw_list_groups_resp_group, group_id, KW_T_STRING, KW_VALL),
    KW_F(kw_list_groups_resp_group, protocol_type, KW_T_STRING, KW_VALL),
    KW_F(kw_list_groups_resp_group, group_state, KW_T_STRING, KW_VFROM(4)),
    KW_F(kw_list_groups_resp_group, group_type, KW_T_STRING, KW_VFROM(5)),
};
static const kw_schema list_groups_resp_group =
    KW_SCHEMA(kw_list_groups_resp_group, list_groups_resp_group_fields);

static const kw_field list_groups_resp_fields[] = {
    KW_F(kw_list_groups_resp, throttle_time_ms, KW_T_INT32, KW_VFROM(1)),
    KW_F(kw_list_groups_resp, error_code, KW_T_INT16, KW_VALL),
    KW_FA(kw_list_groups_resp, groups, list_groups_resp_group, KW_VALL),
};
static const kw_schema list_groups_resp = KW_SCHEMA(kw_list_groups_resp, list_groups_resp_fields);

const kw_api kw__api_list_groups = {
    .key = KW_API_LIST_GROUPS,
    .name = "ListGroups",
    .vmin = 0,
    .vmax = 5,
    .flex = 3,
    .req = &list_groups_req,
    .resp = &list_groups_resp,
};

/* ---- AddOffsetsToTxn (25): versions 0-4, flexible from 3 ---- */

static const kw_field add_offsets_to_txn_req_fields[] = {
    KW_F(kw_add_offsets_to_txn_req, transactional_id, KW_T_STRING, KW_VALL),
    KW_F(kw_add_offsets_to_txn_req, producer_id, KW_T_INT64, KW_VALL),
    KW_F(kw_add_offsets_to_txn_req, producer_epoch, KW_T_INT16, KW_VALL),
    KW_F(kw_add_offsets_to_txn_req, group_id, KW_T_STRING, KW_VALL),
};
static const kw_schema add_offsets_to_txn_req =
    KW_SCHEMA(kw_add_offsets_to_txn_req, add_offsets_to_txn_req_fields);

static const kw_field add_offsets_to_txn_resp_fields[] = {
    KW_F(kw_add_offsets_to_txn_resp, throttle_time_ms, KW_T_INT32, KW_VALL),
    KW_F(kw_add_offsets_to_txn_resp, error_code, KW_T_INT16, KW_VALL),
};
static const kw_schema add_offsets_to_txn_resp =
    KW_SCHEMA(kw_add_offsets_to_txn_resp, add_offsets_to_txn_resp_fields);

const kw_api kw__api_add_offsets_to_txn = {
    .key = KW_API_ADD_OFFSETS_TO_TXN,
    .name = "AddOffsetsToTxn",
    .vmin = 0,
    .vmax = 4,
    .flex = 3,
    .req = &add_offsets_to_txn_req,
    .resp = &add_offsets_to_txn_resp,
};

/* ---- TxnOffsetCommit (28): versions 0-5, flexible from 3 ---- */

/*
 * v5 is the transactions-v2 form (KIP-890 part 2): the broker adds the
 * group's offsets partition to the transaction itself, so AddOffsetsToTxn is
 * not needed before it.  The spec allows v5 only in a transaction that runs
 * as v2 (ended with EndTxn v5); a caller in a v1 transaction uses v4 at most.
 */
static const kw_field txn_offset_commit_req_partition_fields[] = {
    KW_F(kw_txn_offset_commit_req_partition, partition_index, KW_T_INT32, KW_VALL),
    KW_F(kw_txn_offset_commit_req_partition, committed_offset, KW_T_INT64, KW_VALL),
    KW_F(kw_txn_offset_commit_req_partition, committed_leader_epoch, KW_T_INT32, KW_VFROM(2),
         .dflt = -1),
    KW_F(kw_txn_offset_commit_req_partition, committed_metadata, KW_T_STRING, KW_VALL,
         .nullv = KW_VALL),
};
static const kw_schema txn_offset_commit_req_partition =
    KW_SCHEMA(kw_txn_offset_commit_req_partition, txn_offset_commit_req_partition_fields);

static const kw_field txn_offset_commit_req_topic_fields[] = {
    KW_F(kw_txn_offset_commit_req_topic, name, KW_T_STRING, KW_VALL),
    KW_FA(kw_txn_offset_commit_req_topic, partitions, txn_offset_commit_req_partition, KW_VALL),
};
static const kw_schema txn_offset_commit_req_topic =
    KW_SCHEMA(kw_txn_offset_commit_req_topic, txn_offset_commit_req_topic_fields);

static const kw_field txn_offset_commit_req_fields[] = {
    KW_F(kw_txn_offset_commit_req, transactional_id, KW_T_STRING, KW_VALL),
    KW_F(kw_txn_offset_commit_req, group_id, KW_T_STRING, KW_VALL),
    KW_F(kw_txn_offset_commit_req, producer_id, KW_T_INT64, KW_VALL),
    KW_F(kw_txn_offset_commit_req, producer_epoch, KW_T_INT16, KW_VALL),
    KW_F(kw_txn_offset_commit_req, generation_id, KW_T_INT32, KW_VFROM(3), .dflt = -1),
    KW_F(kw_txn_offset_commit_req, member_id, KW_T_STRING, KW_VFROM(3)),
    KW_F(kw_txn_offset_commit_req, group_instance_id, KW_T_STRING, KW_VFROM(3),
         .nullv = KW_VFROM(3), .dflt = -1),
    KW_FA(kw_txn_offset_commit_req, topics, txn_offset_commit_req_topic, KW_VALL),
};
static const kw_schema txn_offset_commit_req =
    KW_SCHEMA(kw_txn_offset_commit_req, txn_offset_commit_req_fields);

static const kw_field txn_offset_commit_resp_partition_fields[] = {
    KW_F(kw_txn_offset_commit_resp_partition, partition_index, KW_T_INT32, KW_VALL),
    KW_F(kw_txn_offset_commit_resp_partition, error_code, KW_T_INT16, KW_VALL),
};
static const kw_schema txn_offset_commit_resp_partition =
    KW_SCHEMA(kw_txn_offset_commit_resp_partition, txn_offset_commit_resp_partition_fields);

static const kw_field txn_offset_commit_resp_topic_fields[] = {
    KW_F(kw_txn_offset_commit_resp_topic, name, KW_T_STRING, KW_VALL),
    KW_FA(kw_txn_offset_commit_resp_topic, partitions, txn_offset_commit_resp_partition,
          KW_VALL),
};
static const kw_schema txn_offset_commit_resp_topic =
    KW_SCHEMA(kw_txn_offset_commit_resp_topic, txn_offset_commit_resp_topic_fields);

static const kw_field txn_offset_commit_resp_fields[] = {
    KW_F(kw_txn_offset_commit_resp, throttle_time_ms, KW_T_INT32, KW_VALL),
    KW_FA(kw_txn_offset_commit_resp, topics, txn_offset_commit_resp_topic, KW_VALL),
};
static const kw_schema txn_offset_commit_resp =
    KW_SCHEMA(kw_txn_offset_commit_resp, txn_offset_commit_resp_fields);

const kw_api kw__api_txn_offset_commit = {
    .key = KW_API_TXN_OFFSET_COMMIT,
    .name = "TxnOffsetCommit",
    .vmin = 0,
    .vmax = 5,
    .flex = 3,
    .req = &txn_offset_commit_req,
    .resp = &txn_offset_commit_resp,
};

/* ---- ConsumerGroupHeartbeat (68): versions 0-1, flexible from 0 ---- */

static const kw_field consumer_group_heartbeat_req_topic_fields[] = {
    KW_F(kw_consumer_group_heartbeat_req_topic, topic_id, KW_T_UUID, KW_VALL),
    KW_FP(kw_consumer_group_heartbeat_req_topic, partitions, KW_T_INT32, KW_VALL),
};
static const kw_schema consumer_group_heartbeat_req_topic =
    KW_SCHEMA(kw_consumer_group_heartbeat_req_topic, consumer_group_heartbeat_req_topic_fields);

static const kw_field consumer_group_heartbeat_req_fields[] = {
    KW_F(kw_consumer_group_heartbeat_req, group_id, KW_T_STRING, KW_VALL),
    KW_F(kw_consumer_group_heartbeat_req, member_id, KW_T_STRING, KW_VALL),
    KW_F(kw_consumer_group_heartbeat_req, member_epoch, KW_T_INT32, KW_VALL),
    KW_F(kw_consumer_group_heartbeat_req, instance_id, KW_T_STRING, KW_VALL, .nullv = KW_VALL,
         .dflt = -1),
    KW_F(kw_consumer_group_heartbeat_req, rack_id, KW_T_STRING, KW_VALL, .nullv = KW_VALL,
         .dflt = -1),
    KW_F(kw_consumer_group_heartbeat_req, rebalance_timeout_ms, KW_T_INT32, KW_VALL, .dflt = -1),
    KW_FP(kw_consumer_group_heartbeat_req, subscribed_topic_names, KW_T_STRING, KW_VALL,
          .nullv = KW_VALL, .dflt = -1),
    KW_F(kw_consumer_group_heartbeat_req, subscribed_topic_regex, KW_T_STRING, KW_VFROM(1),
         .nullv = KW_VFROM(1), .dflt = -1),
    KW_F(kw_consumer_group_heartbeat_req, server_assignor, KW_T_STRING, KW_VALL,
         .nullv = KW_VALL, .dflt = -1),
    KW_FA(kw_consumer_group_heartbeat_req, topic_partitions, consumer_group_heartbeat_req_topic,
          KW_VALL, .nullv = KW_VALL, .dflt = -1),
};
static const kw_schema consumer_group_heartbeat_req =
    KW_SCHEMA(kw_consumer_group_heartbeat_req, consumer_group_heartbeat_req_fields);

/* The spec's common struct TopicPartitions of the response. */
static const kw_field consumer_group_heartbeat_resp_topic_fields[] = {
    KW_F(kw_consumer_group_heartbeat_resp_topic, topic_id, KW_T_UUID, KW_VALL),
    KW_FP(kw_consumer_group_heartbeat_resp_topic, partitions, KW_T_INT32, KW_VALL),
};
static const kw_schema consumer_group_heartbeat_resp_topic = KW_SCHEMA(
    kw_consumer_group_heartbeat_resp_topic, consumer_group_heartbeat_resp_topic_fields);

static const kw_field consumer_group_heartbeat_resp_assignment_fields[] = {
    KW_FA(kw_consumer_group_heartbeat_resp_assignment, topic_partitions,
          consumer_group_heartbeat_resp_topic, KW_VALL),
};
static const kw_schema consumer_group_heartbeat_resp_assignment =
    KW_SCHEMA(kw_consumer_group_heartbeat_resp_assignment,
              consumer_group_heartbeat_resp_assignment_fields);

static const kw_field consumer_group_heartbeat_resp_fields[] = {
    KW_F(kw_consumer_group_heartbeat_resp, throttle_time_ms, KW_T_INT32, KW_VALL),
    KW_F(kw_consumer_group_heartbeat_resp, error_code, KW_T_INT16, KW_VALL),
    KW_F(kw_consumer_group_heartbeat_resp, error_message, KW_T_STRING, KW_VALL,
         .nullv = KW_VALL, .dflt = -1),
    KW_F(kw_consumer_group_heartbeat_resp, member_id, KW_T_STRING, KW_VALL, .nullv = KW_VALL,
         .dflt = -1),
    KW_F(kw_consumer_group_heartbeat_resp, member_epoch, KW_T_INT32, KW_VALL),
    KW_F(kw_consumer_group_heartbeat_resp, heartbeat_interval_ms, KW_T_INT32, KW_VALL),
    /* a nullable struct: a pointer in the C struct (schema.h) */
    KW_FS(kw_consumer_group_heartbeat_resp, assignment, consumer_group_heartbeat_resp_assignment,
          KW_VALL, .nullv = KW_VALL, .dflt = -1),
};
static const kw_schema consumer_group_heartbeat_resp =
    KW_SCHEMA(kw_consumer_group_heartbeat_resp, consumer_group_heartbeat_resp_fields);

const kw_api kw__api_consumer_group_heartbeat = {
    .key = KW_API_CONSUMER_GROUP_HEARTBEAT,
    .name = "ConsumerGroupHeartbeat",
    .vmin = 0,
    .vmax = 1,
    .flex = 0,
    .req = &consumer_group_heartbeat_req,
    .resp = &consumer_group_heartbeat_resp,
};

/* ---- ConsumerGroupDescribe (69): versions 0-1, flexible from 0 ---- */

static const kw_field consumer_group_describe_req_fields[] = {
    KW_FP(kw_consumer_group_describe_req, group_ids, KW_T_STRING, KW_VALL),
    KW_F(kw_consumer_group_describe_req, include_authorized_operations, KW_T_BOOL, KW_VALL),
};
static const kw_schema consumer_group_describe_req =
    KW_SCHEMA(kw_consumer_group_describe_req, consumer_group_describe_req_fields);

/* The spec's common structs TopicPartitions and Assignment of the response. */
static const kw_field consumer_group_describe_resp_topic_fields[] = {
    KW_F(kw_consumer_group_describe_resp_topic, topic_id, KW_T_UUID, KW_VALL),
    KW_F(kw_consumer_group_describe_resp_topic, topic_name, KW_T_STRING, KW_VALL),
    KW_FP(kw_consumer_group_describe_resp_topic, partitions, KW_T_INT32, KW_VALL),
};
static const kw_schema consumer_group_describe_resp_topic =
    KW_SCHEMA(kw_consumer_group_describe_resp_topic, consumer_group_describe_resp_topic_fields);

static const kw_field consumer_group_describe_resp_assignment_fields[] = {
    KW_FA(kw_consumer_group_describe_resp_assignment, topic_partitions,
          consumer_group_describe_resp_topic, KW_VALL),
};
static const kw_schema consumer_group_describe_resp_assignment =
    KW_SCHEMA(kw_consumer_group_describe_resp_assignment,
              consumer_group_describe_resp_assignment_fields);

static const kw_field consumer_group_describe_resp_member_fields[] = {
    KW_F(kw_consumer_group_describe_resp_member, member_id, KW_T_STRING, KW_VALL),
    KW_F(kw_consumer_group_describe_resp_member, instance_id, KW_T_STRING, KW_VALL,
         .nullv = KW_VALL, .dflt = -1),
    KW_F(kw_consumer_group_describe_resp_member, rack_id, KW_T_STRING, KW_VALL,
         .nullv = KW_VALL, .dflt = -1),
    KW_F(kw_consumer_group_describe_resp_member, member_epoch, KW_T_INT32, KW_VALL),
    KW_F(kw_consumer_group_describe_resp_member, client_id, KW_T_STRING, KW_VALL),
    KW_F(kw_consumer_group_describe_resp_member, client_host, KW_T_STRING, KW_VALL),
    KW_FP(kw_consumer_group_describe_resp_member, subscribed_topic_names, KW_T_STRING, KW_VALL),
    KW_F(kw_consumer_group_describe_resp_member, subscribed_topic_regex, KW_T_STRING, KW_VALL,
         .nullv = KW_VALL, .dflt = -1),
    KW_FS(kw_consumer_group_describe_resp_member, assignment,
          consumer_group_describe_resp_assignment, KW_VALL),
    KW_FS(kw_consumer_group_describe_resp_member, target_assignment,
          consumer_group_describe_resp_assignment, KW_VALL),
    KW_F(kw_consumer_group_describe_resp_member, member_type, KW_T_INT8, KW_VFROM(1), .dflt = -1),
};
static const kw_schema consumer_group_describe_resp_member =
    KW_SCHEMA(kw_consumer_group_describe_resp_member, consumer_group_describe_resp_member_fields);

static const kw_field consumer_group_describe_resp_group_fields[] = {
    KW_F(kw_consumer_group_describe_resp_group, error_code, KW_T_INT16, KW_VALL),
    KW_F(kw_consumer_group_describe_resp_group, error_message, KW_T_STRING, KW_VALL,
         .nullv = KW_VALL, .dflt = -1),
    KW_F(kw_consumer_group_describe_resp_group, group_id, KW_T_STRING, KW_VALL),
    KW_F(kw_consumer_group_describe_resp_group, group_state, KW_T_STRING, KW_VALL),
    KW_F(kw_consumer_group_describe_resp_group, group_epoch, KW_T_INT32, KW_VALL),
    KW_F(kw_consumer_group_describe_resp_group, assignment_epoch, KW_T_INT32, KW_VALL),
    KW_F(kw_consumer_group_describe_resp_group, assignor_name, KW_T_STRING, KW_VALL),
    KW_FA(kw_consumer_group_describe_resp_group, members, consumer_group_describe_resp_member,
          KW_VALL),
    KW_F(kw_consumer_group_describe_resp_group, authorized_operations, KW_T_INT32, KW_VALL,
         .dflt = INT32_MIN),
};
static const kw_schema consumer_group_describe_resp_group =
    KW_SCHEMA(kw_consumer_group_describe_resp_group, consumer_group_describe_resp_group_fields);

static const kw_field consumer_group_describe_resp_fields[] = {
    KW_F(kw_consumer_group_describe_resp, throttle_time_ms, KW_T_INT32, KW_VALL),
    KW_FA(kw_consumer_group_describe_resp, groups, consumer_group_describe_resp_group, KW_VALL),
};
static const kw_schema consumer_group_describe_resp =
    KW_SCHEMA(kw_consumer_group_describe_resp, consumer_group_describe_resp_fields);

const kw_api kw__api_consumer_group_describe = {
    .key = KW_API_CONSUMER_GROUP_DESCRIBE,
    .name = "ConsumerGroupDescribe",
    .vmin = 0,
    .vmax = 1,
    .flex = 0,
    .req = &consumer_group_describe_req,
    .resp = &consumer_group_describe_resp,
};
