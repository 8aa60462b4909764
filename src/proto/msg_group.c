/* Consumer-group and transaction message tables. */
#include "msg_group.h"

/* SKELETON: the owner of this file replaces the placeholder schemas below. */
typedef struct kw__placeholder { int32_t unused; } kw__placeholder;
static const kw_field placeholder_fields[] = {KW_F(kw__placeholder, unused, KW_T_INT32, 0)};
static const kw_schema placeholder = KW_SCHEMA(kw__placeholder, placeholder_fields);

const kw_api kw__api_offset_commit = {
    .key = KW_API_OFFSET_COMMIT,
    .name = "OffsetCommit",
    .vmin = 2,
    .vmax = 9,
    .flex = 8,
    .req = &placeholder,
    .resp = &placeholder,
};

const kw_api kw__api_offset_fetch = {
    .key = KW_API_OFFSET_FETCH,
    .name = "OffsetFetch",
    .vmin = 1,
    .vmax = 9,
    .flex = 6,
    .req = &placeholder,
    .resp = &placeholder,
};

const kw_api kw__api_find_coordinator = {
    .key = KW_API_FIND_COORDINATOR,
    .name = "FindCoordinator",
    .vmin = 0,
    .vmax = 6,
    .flex = 3,
    .req = &placeholder,
    .resp = &placeholder,
};

const kw_api kw__api_join_group = {
    .key = KW_API_JOIN_GROUP,
    .name = "JoinGroup",
    .vmin = 0,
    .vmax = 9,
    .flex = 6,
    .req = &placeholder,
    .resp = &placeholder,
};

const kw_api kw__api_heartbeat = {
    .key = KW_API_HEARTBEAT,
    .name = "Heartbeat",
    .vmin = 0,
    .vmax = 4,
    .flex = 4,
    .req = &placeholder,
    .resp = &placeholder,
};

const kw_api kw__api_leave_group = {
    .key = KW_API_LEAVE_GROUP,
    .name = "LeaveGroup",
    .vmin = 0,
    .vmax = 5,
    .flex = 4,
    .req = &placeholder,
    .resp = &placeholder,
};

const kw_api kw__api_sync_group = {
    .key = KW_API_SYNC_GROUP,
    .name = "SyncGroup",
    .vmin = 0,
    .vmax = 5,
    .flex = 4,
    .req = &placeholder,
    .resp = &placeholder,
};

const kw_api kw__api_init_producer_id = {
    .key = KW_API_INIT_PRODUCER_ID,
    .name = "InitProducerId",
    .vmin = 0,
    .vmax = 5,
    .flex = 2,
    .req = &placeholder,
    .resp = &placeholder,
};

const kw_api kw__api_add_partitions_to_txn = {
    .key = KW_API_ADD_PARTITIONS_TO_TXN,
    .name = "AddPartitionsToTxn",
    .vmin = 0,
    .vmax = 5,
    .flex = 3,
    .req = &placeholder,
    .resp = &placeholder,
};

const kw_api kw__api_end_txn = {
    .key = KW_API_END_TXN,
    .name = "EndTxn",
    .vmin = 0,
    .vmax = 5,
    .flex = 3,
    .req = &placeholder,
    .resp = &placeholder,
};
