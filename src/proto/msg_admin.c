/* CreateTopics, DeleteTopics, DescribeConfigs, CreatePartitions and SASL message tables. */
#include "msg_admin.h"

/* SKELETON: the owner of this file replaces the placeholder schemas below. */
typedef struct kw__placeholder { int32_t unused; } kw__placeholder;
static const kw_field placeholder_fields[] = {KW_F(kw__placeholder, unused, KW_T_INT32, 0)};
static const kw_schema placeholder = KW_SCHEMA(kw__placeholder, placeholder_fields);

const kw_api kw__api_create_topics = {
    .key = KW_API_CREATE_TOPICS,
    .name = "CreateTopics",
    .vmin = 2,
    .vmax = 7,
    .flex = 5,
    .req = &placeholder,
    .resp = &placeholder,
};

const kw_api kw__api_delete_topics = {
    .key = KW_API_DELETE_TOPICS,
    .name = "DeleteTopics",
    .vmin = 1,
    .vmax = 6,
    .flex = 4,
    .req = &placeholder,
    .resp = &placeholder,
};

const kw_api kw__api_describe_configs = {
    .key = KW_API_DESCRIBE_CONFIGS,
    .name = "DescribeConfigs",
    .vmin = 1,
    .vmax = 4,
    .flex = 4,
    .req = &placeholder,
    .resp = &placeholder,
};

const kw_api kw__api_create_partitions = {
    .key = KW_API_CREATE_PARTITIONS,
    .name = "CreatePartitions",
    .vmin = 0,
    .vmax = 3,
    .flex = 2,
    .req = &placeholder,
    .resp = &placeholder,
};

const kw_api kw__api_sasl_handshake = {
    .key = KW_API_SASL_HANDSHAKE,
    .name = "SaslHandshake",
    .vmin = 0,
    .vmax = 1,
    .flex = INT16_MAX,
    .req = &placeholder,
    .resp = &placeholder,
};

const kw_api kw__api_sasl_authenticate = {
    .key = KW_API_SASL_AUTHENTICATE,
    .name = "SaslAuthenticate",
    .vmin = 0,
    .vmax = 2,
    .flex = 2,
    .req = &placeholder,
    .resp = &placeholder,
};
