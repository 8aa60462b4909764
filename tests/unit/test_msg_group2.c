/* DescribeGroups, ListGroups, AddOffsetsToTxn, TxnOffsetCommit and the KIP-848 group APIs against vectors worked out by hand. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/msg_group2.h"

/*
 * The conventions of test_msg_group.c: each vector is a whole frame without
 * its size prefix, request header v1 (classic) or v2 (flexible, one empty
 * tagged-field byte) with correlation id 7 and client id "c", or response
 * header v0 / v1; then the body field by field in spec order.
 */
#define HDR1(key, ver) 0x00, (key), 0x00, (ver), 0x00, 0x00, 0x00, 0x07, 0x00, 0x01, 'c'
#define HDR2(key, ver) HDR1(key, ver), 0x00
#define RHDR0 0x00, 0x00, 0x00, 0x07
#define RHDR1 RHDR0, 0x00
#define I32(v) (uint8_t)((uint32_t)(v) >> 24), (uint8_t)((uint32_t)(v) >> 16), \
               (uint8_t)((uint32_t)(v) >> 8), (uint8_t)(v)
#define I16(v) (uint8_t)((uint16_t)(v) >> 8), (uint8_t)(v)
#define I64(v) I32((uint64_t)(v) >> 32), I32(v)
#define UUID1 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16

static kw_arena arena;

static void setup(void)
{
    kw__arena_init(&arena, 1 << 20);
}

static void teardown(void)
{
    kw__arena_reset(&arena);
}

static void assert_str(kw_str s, const char *want)
{
    ck_assert_msg(kw_str_eq(s, want), "string is \"%.*s\" (len %d), want %s",
                  s.len > 0 ? (int)s.len : 0, s.ptr ? s.ptr : "", (int)s.len,
                  want ? want : "null");
}

static void expect_frame(kw_wr *w, const uint8_t *want, size_t n)
{
    ck_assert_int_eq(w->err, 0);
    ck_assert_uint_eq(w->len, n + 4);
    ck_assert_uint_eq(kw_load_be32(w->buf), n);
    ck_assert_mem_eq(w->buf + 4, want, n);
    kw__wr_free(w);
}

static void req_both_ways(const kw_api *api, int ver, const void *in, const uint8_t *vec,
                          size_t n, void *out, size_t size)
{
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__request_encode(&w, api, ver, 7, kw_str_c("c"), in), 0);
    expect_frame(&w, vec, n);
    kw_request_header h;
    const kw_api *got = NULL;
    ck_assert_int_eq(kw__request_decode(vec, n, &arena, &h, &got, out, size), 0);
    ck_assert_ptr_eq(got, api);
    ck_assert_int_eq(h.api_version, ver);
}

static void resp_both_ways(const kw_api *api, int ver, const void *in, const uint8_t *vec,
                           size_t n, void *out)
{
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__response_encode(&w, api, ver, 7, in), 0);
    expect_frame(&w, vec, n);
    ck_assert_int_eq(kw__response_decode(vec, n, api, ver, &arena, out), 0);
    /* every strict prefix is truncated input */
    for (size_t cut = 0; cut < n; cut++) {
        kw_arena b;
        kw__arena_init(&b, 0);
        void *tmp = kw__arena_alloc(&b, api->resp->size);
        ck_assert_msg(kw__response_decode(vec, cut, api, ver, &b, tmp) == KW_ETRUNCATED,
                      "%s v%d cut to %zu", api->name, ver, cut);
        kw__arena_reset(&b);
    }
}

#define REQ(api, ver, in, vec, out) \
    req_both_ways((api), (ver), &(in), (vec), sizeof(vec), &(out), sizeof(out))
#define RESP(api, ver, in, vec, out) resp_both_ways((api), (ver), &(in), (vec), sizeof(vec), &(out))

START_TEST(registry_has_the_kafka_keys_and_spec_versions)
{
    struct {
        int key;
        const kw_api *api;
        const char *name;
        int vmax, flex;
    } want[] = {
        {15, &kw__api_describe_groups, "DescribeGroups", 6, 5},
        {16, &kw__api_list_groups, "ListGroups", 5, 3},
        {25, &kw__api_add_offsets_to_txn, "AddOffsetsToTxn", 4, 3},
        {28, &kw__api_txn_offset_commit, "TxnOffsetCommit", 5, 3},
        {68, &kw__api_consumer_group_heartbeat, "ConsumerGroupHeartbeat", 1, 0},
        {69, &kw__api_consumer_group_describe, "ConsumerGroupDescribe", 1, 0},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        ck_assert_ptr_eq(kw__api(want[i].key), want[i].api);
        ck_assert_str_eq(want[i].api->name, want[i].name);
        ck_assert_int_eq(want[i].api->key, want[i].key);
        ck_assert_int_eq(want[i].api->vmin, 0);
        ck_assert_int_eq(want[i].api->vmax, want[i].vmax);
        ck_assert_int_eq(want[i].api->flex, want[i].flex);
    }
    ck_assert_int_ge(KW_API_KEY_MAX, 69);
}
END_TEST

/* DescribeGroups v0 (classic) and v5 (compact) requests. */
static const uint8_t dg_req_v0[] = {HDR1(15, 0), I32(1), 0x00, 0x01, 'g'};
static const uint8_t dg_req_v5[] = {HDR2(15, 5), 0x02, 0x02, 'g', 0x00, 0x00};

/* DescribeGroups v6 response: one Stable group with one member. */
static const uint8_t dg_resp_v6[] = {
    RHDR1,
    I32(0),             /* throttle_time_ms */
    0x02,               /* groups: 1 */
    I16(0),             /*   error_code */
    0x00,               /*   error_message null (v6+) */
    0x02, 'g',          /*   group_id */
    0x07, 'S', 't', 'a', 'b', 'l', 'e',
    0x09, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r',
    0x06, 'r', 'a', 'n', 'g', 'e', /* protocol_data */
    0x02,               /*   members: 1 */
    0x02, 'm',          /*     member_id */
    0x00,               /*     group_instance_id null */
    0x02, 'c',          /*     client_id */
    0x03, 'h', '1',     /*     client_host */
    0x02, 0xaa,         /*     member_metadata */
    0x01,               /*     member_assignment empty */
    0x00,               /*     member tags */
    I32(INT32_MIN),     /*   authorized_operations */
    0x00,               /*   group tags */
    0x00,               /* tags */
};

/* DescribeGroups v0 response: a group the broker does not know is Dead with no members. */
static const uint8_t dg_resp_v0[] = {
    RHDR0, I32(1), I16(0), 0x00, 0x01, 'g', 0x00, 0x04, 'D', 'e', 'a', 'd', 0x00, 0x00, 0x00,
    0x00, I32(0),
};

START_TEST(describe_groups_requests_and_responses)
{
    const kw_api *api = &kw__api_describe_groups;
    kw_str g = kw_str_c("g");
    kw_describe_groups_req r, d;
    kw__schema_init(api->req, 0, &r);
    r.groups.v = &g;
    r.groups.n = 1;
    REQ(api, 0, r, dg_req_v0, d);
    ck_assert_int_eq(d.groups.n, 1);
    assert_str(d.groups.v[0], "g");
    REQ(api, 5, r, dg_req_v5, d);
    assert_str(d.groups.v[0], "g");
    ck_assert(!d.include_authorized_operations);

    kw_describe_groups_resp_member m;
    kw__schema_init(api->resp->fields[1].sub->fields[6].sub, 6, &m);
    ck_assert_int_eq(m.group_instance_id.len, -1);
    m.member_id = kw_str_c("m");
    m.client_id = kw_str_c("c");
    m.client_host = kw_str_c("h1");
    m.member_metadata = (kw_bytes){(const uint8_t *)"\xaa", 1};
    kw_describe_groups_resp_group grp;
    kw__schema_init(api->resp->fields[1].sub, 6, &grp);
    ck_assert_int_eq(grp.authorized_operations, INT32_MIN);
    ck_assert_int_eq(grp.error_message.len, -1);
    grp.group_id = kw_str_c("g");
    grp.group_state = kw_str_c("Stable");
    grp.protocol_type = kw_str_c("consumer");
    grp.protocol_data = kw_str_c("range");
    grp.members.v = &m;
    grp.members.n = 1;
    kw_describe_groups_resp s = {0}, e;
    s.groups.v = &grp;
    s.groups.n = 1;
    RESP(api, 6, s, dg_resp_v6, e);
    ck_assert_int_eq(e.groups.n, 1);
    assert_str(e.groups.v[0].group_state, "Stable");
    assert_str(e.groups.v[0].protocol_data, "range");
    ck_assert_int_eq(e.groups.v[0].members.n, 1);
    assert_str(e.groups.v[0].members.v[0].client_host, "h1");
    ck_assert_int_eq(e.groups.v[0].members.v[0].group_instance_id.len, -1);
    ck_assert_int_eq(e.groups.v[0].members.v[0].member_metadata.len, 1);
    ck_assert_int_eq(e.groups.v[0].members.v[0].member_assignment.len, 0);

    kw__schema_init(api->resp->fields[1].sub, 0, &grp);
    grp.group_id = kw_str_c("g");
    grp.group_state = kw_str_c("Dead");
    kw__schema_init(api->resp, 0, &s);
    s.groups.v = &grp;
    s.groups.n = 1;
    RESP(api, 0, s, dg_resp_v0, e);
    assert_str(e.groups.v[0].group_state, "Dead");
    ck_assert_int_eq(e.groups.v[0].members.n, 0);
    ck_assert_int_eq(e.throttle_time_ms, 0);
}
END_TEST

/* ListGroups: v2 has an empty body; v5 carries both filters, compact. */
static const uint8_t lg_req_v2[] = {HDR1(16, 2)};
static const uint8_t lg_req_v5[] = {HDR2(16, 5), 0x02, 0x07, 'S', 't', 'a', 'b', 'l', 'e',
                                    0x02, 0x09, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r', 0x00};
static const uint8_t lg_resp_v5[] = {
    RHDR1, I32(0), I16(0), 0x02,
    0x02, 'g', 0x09, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r', /* group_id, protocol_type */
    0x06, 'E', 'm', 'p', 't', 'y',                         /* group_state (v4+) */
    0x08, 'c', 'l', 'a', 's', 's', 'i', 'c',               /* group_type (v5+) */
    0x00, 0x00,
};
static const uint8_t lg_resp_v0[] = {RHDR0, I16(0), I32(1), 0x00, 0x01, 'g', 0x00, 0x00};

START_TEST(list_groups_filters_and_responses)
{
    const kw_api *api = &kw__api_list_groups;
    kw_list_groups_req r, d;
    kw__schema_init(api->req, 2, &r);
    REQ(api, 2, r, lg_req_v2, d);
    kw_str state = kw_str_c("Stable"), type = kw_str_c("consumer");
    r.states_filter.v = &state;
    r.states_filter.n = 1;
    r.types_filter.v = &type;
    r.types_filter.n = 1;
    REQ(api, 5, r, lg_req_v5, d);
    assert_str(d.states_filter.v[0], "Stable");
    assert_str(d.types_filter.v[0], "consumer");

    kw_list_groups_resp_group g = {kw_str_c("g"), kw_str_c("consumer"), kw_str_c("Empty"),
                                   kw_str_c("classic")};
    kw_list_groups_resp s = {0}, e;
    s.groups.v = &g;
    s.groups.n = 1;
    RESP(api, 5, s, lg_resp_v5, e);
    ck_assert_int_eq(e.groups.n, 1);
    assert_str(e.groups.v[0].group_id, "g");
    assert_str(e.groups.v[0].group_state, "Empty");
    assert_str(e.groups.v[0].group_type, "classic");
    g.protocol_type = kw_str_c("");
    RESP(api, 0, s, lg_resp_v0, e);
    assert_str(e.groups.v[0].protocol_type, "");
    assert_str(e.groups.v[0].group_state, ""); /* not in v0 */
}
END_TEST

static const uint8_t ao_req_v0[] = {HDR1(25, 0), 0x00, 0x02, 't', 'x', I64(1000), I16(3),
                                    0x00, 0x01, 'g'};
static const uint8_t ao_req_v4[] = {HDR2(25, 4), 0x03, 't', 'x', I64(1000), I16(3), 0x02, 'g',
                                    0x00};
static const uint8_t ao_resp_v2[] = {RHDR0, I32(5), I16(48)};
static const uint8_t ao_resp_v3[] = {RHDR1, I32(5), I16(0), 0x00};

START_TEST(add_offsets_to_txn_classic_and_flexible)
{
    const kw_api *api = &kw__api_add_offsets_to_txn;
    kw_add_offsets_to_txn_req r = {kw_str_c("tx"), 1000, 3, kw_str_c("g")}, d;
    REQ(api, 0, r, ao_req_v0, d);
    assert_str(d.transactional_id, "tx");
    ck_assert_int_eq(d.producer_id, 1000);
    ck_assert_int_eq(d.producer_epoch, 3);
    assert_str(d.group_id, "g");
    REQ(api, 4, r, ao_req_v4, d);
    assert_str(d.group_id, "g");
    kw_add_offsets_to_txn_resp s = {5, 48}, e; /* INVALID_TXN_STATE */
    RESP(api, 2, s, ao_resp_v2, e);
    ck_assert_int_eq(e.throttle_time_ms, 5);
    ck_assert_int_eq(e.error_code, 48);
    s.error_code = 0;
    RESP(api, 3, s, ao_resp_v3, e);
    ck_assert_int_eq(e.error_code, 0);
}
END_TEST

/* TxnOffsetCommit v0: no leader epoch, no member; v3: compact with generation -1, member "",
 * group instance null, leader epoch -1 and null metadata. */
static const uint8_t tc_req_v0[] = {
    HDR1(28, 0), 0x00, 0x02, 't', 'x', 0x00, 0x01, 'g', I64(1000), I16(0),
    I32(1), 0x00, 0x01, 't', I32(1), I32(0), I64(42), 0x00, 0x01, 'm',
};
static const uint8_t tc_req_v3[] = {
    HDR2(28, 3), 0x03, 't', 'x', 0x02, 'g', I64(1000), I16(0),
    I32(-1),     /* generation_id */
    0x01,        /* member_id "" */
    0x00,        /* group_instance_id null */
    0x02, 0x02, 't', 0x02, I32(0), I64(42), I32(-1), 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t tc_resp_v3[] = {RHDR1, I32(0), 0x02, 0x02, 't', 0x02, I32(0), I16(0),
                                     0x00, 0x00, 0x00};
static const uint8_t tc_resp_v1[] = {RHDR0, I32(0), I32(1), 0x00, 0x01, 't', I32(1), I32(0),
                                     I16(47)};

START_TEST(txn_offset_commit_without_and_with_membership)
{
    const kw_api *api = &kw__api_txn_offset_commit;
    kw_txn_offset_commit_req_partition p;
    kw__schema_init(api->req->fields[7].sub->fields[1].sub, 3, &p);
    ck_assert_int_eq(p.committed_leader_epoch, -1);
    p.committed_offset = 42;
    p.committed_metadata = kw_str_c("m");
    kw_txn_offset_commit_req_topic t = {.name = kw_str_c("t")};
    t.partitions.v = &p;
    t.partitions.n = 1;
    kw_txn_offset_commit_req r, d;
    kw__schema_init(api->req, 3, &r);
    ck_assert_int_eq(r.generation_id, -1);
    ck_assert_int_eq(r.group_instance_id.len, -1);
    r.transactional_id = kw_str_c("tx");
    r.group_id = kw_str_c("g");
    r.producer_id = 1000;
    r.topics.v = &t;
    r.topics.n = 1;
    REQ(api, 0, r, tc_req_v0, d);
    ck_assert_int_eq(d.topics.v[0].partitions.v[0].committed_offset, 42);
    assert_str(d.topics.v[0].partitions.v[0].committed_metadata, "m");
    ck_assert_int_eq(d.generation_id, -1); /* v3+: the default */
    p.committed_metadata = KW_STR_NULL;
    REQ(api, 3, r, tc_req_v3, d);
    ck_assert_int_eq(d.topics.v[0].partitions.v[0].committed_leader_epoch, -1);
    ck_assert_int_eq(d.topics.v[0].partitions.v[0].committed_metadata.len, -1);
    assert_str(d.member_id, "");
    ck_assert_int_eq(d.group_instance_id.len, -1);

    kw_txn_offset_commit_resp_partition rp = {0, 0};
    kw_txn_offset_commit_resp_topic rt = {.name = kw_str_c("t")};
    rt.partitions.v = &rp;
    rt.partitions.n = 1;
    kw_txn_offset_commit_resp s = {0}, e;
    s.topics.v = &rt;
    s.topics.n = 1;
    RESP(api, 3, s, tc_resp_v3, e);
    ck_assert_int_eq(e.topics.v[0].partitions.v[0].error_code, 0);
    rp.error_code = 47; /* INVALID_PRODUCER_EPOCH */
    RESP(api, 1, s, tc_resp_v1, e);
    ck_assert_int_eq(e.topics.v[0].partitions.v[0].error_code, 47);
}
END_TEST

/* ConsumerGroupHeartbeat v1 join: member id chosen by the client, epoch 0, one topic. */
static const uint8_t hb_req_v1[] = {
    HDR2(68, 1), 0x02, 'g', 0x03, 'm', '1', I32(0),
    0x00,            /* instance_id null */
    0x00,            /* rack_id null */
    I32(45000),      /* rebalance_timeout_ms */
    0x02, 0x02, 't', /* subscribed_topic_names ["t"] */
    0x00,            /* subscribed_topic_regex null (v1+) */
    0x00,            /* server_assignor null */
    0x01,            /* topic_partitions [] */
    0x00,
};
/* v0 join: no regex field; names null means "unchanged"; owned partitions null. */
static const uint8_t hb_req_v0[] = {HDR2(68, 0), 0x02, 'g', 0x01, I32(-1), 0x00, 0x00, I32(-1),
                                    0x00, 0x00, 0x00, 0x00};
/* A response without an assignment (null struct), then one with topic UUID1 partitions 0 and 2. */
static const uint8_t hb_resp_null[] = {RHDR1, I32(0), I16(0), 0x00, 0x03, 'm', '1', I32(1),
                                       I32(5000), 0xff, 0x00};
static const uint8_t hb_resp_asg[] = {
    RHDR1, I32(0), I16(0), 0x00, 0x03, 'm', '1', I32(2), I32(5000),
    0x01,                                 /* assignment present */
    0x02, UUID1, 0x03, I32(0), I32(2), 0x00, /* one topic: id, partitions, tags */
    0x00,                                 /* assignment tags */
    0x00,
};

START_TEST(consumer_group_heartbeat_join_and_nullable_assignment)
{
    const kw_api *api = &kw__api_consumer_group_heartbeat;
    kw_consumer_group_heartbeat_req r, d;
    kw__schema_init(api->req, 1, &r);
    ck_assert_int_eq(r.rebalance_timeout_ms, -1);
    ck_assert_int_eq(r.subscribed_topic_names.n, -1);
    ck_assert_int_eq(r.topic_partitions.n, -1);
    ck_assert_int_eq(r.subscribed_topic_regex.len, -1);
    r.group_id = kw_str_c("g");
    r.member_id = kw_str_c("");
    r.member_epoch = -1;
    REQ(api, 0, r, hb_req_v0, d);
    ck_assert_int_eq(d.member_epoch, -1);
    ck_assert_int_eq(d.subscribed_topic_names.n, -1);
    kw_str topic = kw_str_c("t");
    r.member_id = kw_str_c("m1");
    r.member_epoch = 0;
    r.rebalance_timeout_ms = 45000;
    r.subscribed_topic_names.v = &topic;
    r.subscribed_topic_names.n = 1;
    r.topic_partitions.n = 0;
    REQ(api, 1, r, hb_req_v1, d);
    assert_str(d.member_id, "m1");
    ck_assert_int_eq(d.subscribed_topic_names.n, 1);
    assert_str(d.subscribed_topic_names.v[0], "t");
    ck_assert_int_eq(d.topic_partitions.n, 0);
    ck_assert_int_eq(d.subscribed_topic_regex.len, -1);

    kw_consumer_group_heartbeat_resp s, e;
    kw__schema_init(api->resp, 1, &s);
    ck_assert_ptr_null(s.assignment);
    s.member_id = kw_str_c("m1");
    s.member_epoch = 1;
    s.heartbeat_interval_ms = 5000;
    RESP(api, 1, s, hb_resp_null, e);
    ck_assert_ptr_null(e.assignment);
    ck_assert_int_eq(e.member_epoch, 1);
    ck_assert_int_eq(e.error_message.len, -1);

    int32_t parts[] = {0, 2};
    kw_consumer_group_heartbeat_resp_topic tp = {.topic_id = {{UUID1}}};
    tp.partitions.v = parts;
    tp.partitions.n = 2;
    kw_consumer_group_heartbeat_resp_assignment asg;
    asg.topic_partitions.v = &tp;
    asg.topic_partitions.n = 1;
    s.assignment = &asg;
    s.member_epoch = 2;
    RESP(api, 0, s, hb_resp_asg, e);
    ck_assert_ptr_nonnull(e.assignment);
    ck_assert_int_eq(e.assignment->topic_partitions.n, 1);
    ck_assert_int_eq(e.assignment->topic_partitions.v[0].topic_id.b[15], 16);
    ck_assert_int_eq(e.assignment->topic_partitions.v[0].partitions.n, 2);
    ck_assert_int_eq(e.assignment->topic_partitions.v[0].partitions.v[1], 2);

    /* Kafka writes only -1 or 1 before a nullable struct; anything else is malformed. */
    uint8_t bad[sizeof(hb_resp_asg)];
    memcpy(bad, hb_resp_asg, sizeof(bad));
    for (int m = -128; m < 128; m++) {
        if (m == 1 || m == -1)
            continue;
        bad[4 + 1 + 4 + 2 + 1 + 3 + 4 + 4] = (uint8_t)m;
        ck_assert_int_eq(kw__response_decode(bad, sizeof(bad), api, 0, &arena, &e),
                         KW_EMALFORMED);
    }
}
END_TEST

/* ConsumerGroupDescribe v1: one group with one member, assignment and target the same. */
static const uint8_t cd_req_v0[] = {HDR2(69, 0), 0x02, 0x02, 'g', 0x00, 0x00};
#define CD_ASSIGNMENT 0x02, UUID1, 0x02, 't', 0x02, I32(0), 0x00, 0x00
static const uint8_t cd_resp_v1[] = {
    RHDR1, I32(0), 0x02,
    I16(0), 0x00, 0x02, 'g', 0x07, 'S', 't', 'a', 'b', 'l', 'e', I32(3), I32(3),
    0x08, 'u', 'n', 'i', 'f', 'o', 'r', 'm',  /* assignor_name */
    0x02,                                     /* members: 1 */
    0x03, 'm', '1', 0x00, 0x00, I32(3), 0x02, 'c', 0x02, 'h',
    0x02, 0x02, 't',                          /* subscribed_topic_names */
    0x00,                                     /* subscribed_topic_regex null */
    CD_ASSIGNMENT, CD_ASSIGNMENT,
    0x01,                                     /* member_type consumer (v1+) */
    0x00,                                     /* member tags */
    I32(INT32_MIN), 0x00,                     /* authorized_operations, group tags */
    0x00,
};

START_TEST(consumer_group_describe_member_and_assignments)
{
    const kw_api *api = &kw__api_consumer_group_describe;
    kw_str g = kw_str_c("g");
    kw_consumer_group_describe_req r = {0}, d;
    r.group_ids.v = &g;
    r.group_ids.n = 1;
    REQ(api, 0, r, cd_req_v0, d);
    assert_str(d.group_ids.v[0], "g");

    int32_t part0 = 0;
    kw_consumer_group_describe_resp_topic tp = {.topic_id = {{UUID1}}, .topic_name = kw_str_c("t")};
    tp.partitions.v = &part0;
    tp.partitions.n = 1;
    kw_consumer_group_describe_resp_member m;
    kw__schema_init(api->resp->fields[1].sub->fields[7].sub, 1, &m);
    ck_assert_int_eq(m.member_type, -1);
    m.member_id = kw_str_c("m1");
    m.member_epoch = 3;
    m.client_id = kw_str_c("c");
    m.client_host = kw_str_c("h");
    kw_str t = kw_str_c("t");
    m.subscribed_topic_names.v = &t;
    m.subscribed_topic_names.n = 1;
    m.assignment.topic_partitions.v = &tp;
    m.assignment.topic_partitions.n = 1;
    m.target_assignment = m.assignment;
    m.member_type = 1;
    kw_consumer_group_describe_resp_group grp;
    kw__schema_init(api->resp->fields[1].sub, 1, &grp);
    grp.group_id = kw_str_c("g");
    grp.group_state = kw_str_c("Stable");
    grp.group_epoch = 3;
    grp.assignment_epoch = 3;
    grp.assignor_name = kw_str_c("uniform");
    grp.members.v = &m;
    grp.members.n = 1;
    kw_consumer_group_describe_resp s = {0}, e;
    s.groups.v = &grp;
    s.groups.n = 1;
    RESP(api, 1, s, cd_resp_v1, e);
    const kw_consumer_group_describe_resp_member *em = &e.groups.v[0].members.v[0];
    assert_str(em->member_id, "m1");
    ck_assert_int_eq(em->member_epoch, 3);
    ck_assert_int_eq(em->member_type, 1);
    assert_str(em->target_assignment.topic_partitions.v[0].topic_name, "t");
    ck_assert_int_eq(e.groups.v[0].authorized_operations, INT32_MIN);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("msg_group2");
    TCase *tc = tcase_create("by hand");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, registry_has_the_kafka_keys_and_spec_versions);
    tcase_add_test(tc, describe_groups_requests_and_responses);
    tcase_add_test(tc, list_groups_filters_and_responses);
    tcase_add_test(tc, add_offsets_to_txn_classic_and_flexible);
    tcase_add_test(tc, txn_offset_commit_without_and_with_membership);
    tcase_add_test(tc, consumer_group_heartbeat_join_and_nullable_assignment);
    tcase_add_test(tc, consumer_group_describe_member_and_assignments);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
