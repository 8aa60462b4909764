/* Produce, Fetch, ListOffsets, Metadata and DeleteRecords message tables. */
#include "msg_data.h"

/* SKELETON: the owner of this file replaces the placeholder schemas below. */
typedef struct kw__placeholder { int32_t unused; } kw__placeholder;
static const kw_field placeholder_fields[] = {KW_F(kw__placeholder, unused, KW_T_INT32, 0)};
static const kw_schema placeholder = KW_SCHEMA(kw__placeholder, placeholder_fields);

const kw_api kw__api_produce = {
    .key = KW_API_PRODUCE,
    .name = "Produce",
    .vmin = 3,
    .vmax = 12,
    .flex = 9,
    .req = &placeholder,
    .resp = &placeholder,
};

const kw_api kw__api_fetch = {
    .key = KW_API_FETCH,
    .name = "Fetch",
    .vmin = 4,
    .vmax = 12,
    .flex = 12,
    .req = &placeholder,
    .resp = &placeholder,
};

const kw_api kw__api_list_offsets = {
    .key = KW_API_LIST_OFFSETS,
    .name = "ListOffsets",
    .vmin = 1,
    .vmax = 10,
    .flex = 6,
    .req = &placeholder,
    .resp = &placeholder,
};

const kw_api kw__api_metadata = {
    .key = KW_API_METADATA,
    .name = "Metadata",
    .vmin = 0,
    .vmax = 13,
    .flex = 9,
    .req = &placeholder,
    .resp = &placeholder,
};

const kw_api kw__api_delete_records = {
    .key = KW_API_DELETE_RECORDS,
    .name = "DeleteRecords",
    .vmin = 0,
    .vmax = 2,
    .flex = 2,
    .req = &placeholder,
    .resp = &placeholder,
};
