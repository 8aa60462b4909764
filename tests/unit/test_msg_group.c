/* Group and transaction messages against byte vectors worked out by hand from the Kafka specs. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/msg_group.h"

/*
 * Every vector below is a whole frame without its int32 size prefix: the
 * request header (v1 for classic versions, v2 with its empty tagged-field
 * byte for flexible ones; correlation id 7, client id "c") or the response
 * header (v0, or v1 with its tagged-field byte), then the body, field by
 * field in spec order.  Classic strings are int16 length + bytes (-1 null),
 * classic arrays and bytes int32 count; compact ones are uvarint length+1
 * (0 null), and every flexible struct ends with its tagged-field count.
 */
#define HDR1(key, ver) 0x00, (key), 0x00, (ver), 0x00, 0x00, 0x00, 0x07, 0x00, 0x01, 'c'
#define HDR2(key, ver) HDR1(key, ver), 0x00
#define RHDR0 0x00, 0x00, 0x00, 0x07
#define RHDR1 RHDR0, 0x00
#define I32(v) (uint8_t)((uint32_t)(v) >> 24), (uint8_t)((uint32_t)(v) >> 16), \
               (uint8_t)((uint32_t)(v) >> 8), (uint8_t)(v)
#define I16(v) (uint8_t)((uint16_t)(v) >> 8), (uint8_t)(v)
#define I64(v) I32((uint64_t)(v) >> 32), I32(v)
#define CONSUMER 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r'
#define RANGE 'r', 'a', 'n', 'g', 'e'
#define LOCALHOST 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't'

/* ---- helpers ---- */

static void assert_str(kw_str s, const char *want)
{
    ck_assert_msg(kw_str_eq(s, want), "string is \"%.*s\" (len %d), want %s%s%s",
                  s.len > 0 ? (int)s.len : 0, s.ptr ? s.ptr : "", (int)s.len, want ? "\"" : "",
                  want ? want : "null", want ? "\"" : "");
}

static void assert_bytes(kw_bytes b, const void *want, int32_t n)
{
    ck_assert_int_eq(b.len, n);
    if (n > 0)
        ck_assert_mem_eq(b.ptr, want, (size_t)n);
}

static void expect_frame(const kw_wr *w, const uint8_t *want, size_t n)
{
    ck_assert_int_eq(w->err, 0);
    ck_assert_uint_eq(w->len, n + 4);
    ck_assert_uint_eq(kw_load_be32(w->buf), n);
    ck_assert_mem_eq(w->buf + 4, want, n);
}

static void req_encodes_to(const kw_api *api, int ver, const void *req, const uint8_t *want,
                           size_t n)
{
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__request_encode(&w, api, ver, 7, kw_str_c("c"), req), 0);
    expect_frame(&w, want, n);
    kw__wr_free(&w);
}

static void resp_encodes_to(const kw_api *api, int ver, const void *resp, const uint8_t *want,
                            size_t n)
{
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__response_encode(&w, api, ver, 7, resp), 0);
    expect_frame(&w, want, n);
    kw__wr_free(&w);
}

static void req_decodes(const kw_api *api, int ver, const uint8_t *b, size_t n, kw_arena *a,
                        void *out, size_t size)
{
    kw_request_header h;
    const kw_api *got = NULL;
    ck_assert_int_eq(kw__request_decode(b, n, a, &h, &got, out, size), 0);
    ck_assert_ptr_eq(got, api);
    ck_assert_int_eq(h.api_key, api->key);
    ck_assert_int_eq(h.api_version, ver);
    ck_assert_int_eq(h.correlation_id, 7);
    assert_str(h.client_id, "c");
}

static void resp_decodes(const kw_api *api, int ver, const uint8_t *b, size_t n, kw_arena *a,
                         void *out)
{
    int32_t corr = 0;
    ck_assert_int_eq(kw__response_correlation_id(b, n, &corr), 0);
    ck_assert_int_eq(corr, 7);
    ck_assert_int_eq(kw__response_decode(b, n, api, ver, a, out), 0);
}

/* The request encode/decode pair: the struct's exact bytes, and the bytes' exact struct. */
#define REQ_BOTH_WAYS(api, ver, in, vec, out)                                                 \
    do {                                                                                     \
        req_encodes_to((api), (ver), &(in), (vec), sizeof(vec));                             \
        req_decodes((api), (ver), (vec), sizeof(vec), &arena, &(out), sizeof(out));          \
    } while (0)
#define RESP_BOTH_WAYS(api, ver, in, vec, out)                                                \
    do {                                                                                     \
        resp_encodes_to((api), (ver), &(in), (vec), sizeof(vec));                            \
        resp_decodes((api), (ver), (vec), sizeof(vec), &arena, &(out));                      \
    } while (0)

static kw_arena arena;

static void setup(void)
{
    kw__arena_init(&arena, 1 << 20);
}

static void teardown(void)
{
    kw__arena_reset(&arena);
}

/* ---- the hand-made vectors ---- */

/* OffsetCommit v2: generation, member, retention -1; metadata null. */
static const uint8_t oc_req_v2[] = {
    HDR1(8, 2),
    0x00, 0x01, 'g',     /* group_id */
    I32(5),              /* generation_id_or_member_epoch */
    0x00, 0x01, 'm',     /* member_id */
    I64(-1),             /* retention_time_ms (v2-4) */
    I32(1),              /* topics */
    0x00, 0x01, 't',     /*   name */
    I32(1),              /*   partitions */
    I32(0),              /*     partition_index */
    I64(100),            /*     committed_offset */
    0xff, 0xff,          /*     committed_metadata: null */
};

/* OffsetCommit v9 (flexible): no retention, leader epoch and group instance id present. */
static const uint8_t oc_req_v9[] = {
    HDR2(8, 9),
    0x02, 'g',   /* group_id */
    I32(3),      /* generation_id_or_member_epoch */
    0x02, 'm',   /* member_id */
    0x02, 'i',   /* group_instance_id */
    0x02,        /* topics: 1 */
    0x02, 't',   /*   name */
    0x02,        /*   partitions: 1 */
    I32(2),      /*     partition_index */
    I64(0x0102), /*     committed_offset */
    I32(4),      /*     committed_leader_epoch (v6+) */
    0x01,        /*     committed_metadata: "" */
    0x00,        /*     partition tags */
    0x00,        /*   topic tags */
    0x00,        /* request tags */
};

static const uint8_t oc_resp_v2[] = {
    RHDR0,
    I32(1), 0x00, 0x01, 't', I32(1), I32(1), I16(25), /* UNKNOWN_MEMBER_ID */
};

static const uint8_t oc_resp_v8[] = {
    RHDR1,
    I32(10),                        /* throttle_time_ms */
    0x02, 0x02, 't', 0x02, I32(1), I16(25), 0x00, 0x00,
    0x00,
};

/* OffsetFetch v1: one group, one topic, two partitions. */
static const uint8_t of_req_v1[] = {
    HDR1(9, 1),
    0x00, 0x01, 'g',
    I32(1), 0x00, 0x01, 't', I32(2), I32(0), I32(1),
};

/* OffsetFetch v2: topics null = every topic the group has committed. */
static const uint8_t of_req_v2_all[] = {
    HDR1(9, 2),
    0x00, 0x01, 'g',
    0xff, 0xff, 0xff, 0xff,
};

/* OffsetFetch v7 (flexible, still one group): null topics, require_stable. */
static const uint8_t of_req_v7[] = {
    HDR2(9, 7),
    0x02, 'g', 0x00, 0x01, 0x00,
};

/* OffsetFetch v8: the batched form. */
static const uint8_t of_req_v8[] = {
    HDR2(9, 8),
    0x02,            /* groups: 1 */
    0x02, 'g',       /*   group_id */
    0x00,            /*   topics: null */
    0x00,            /*   group tags */
    0x01,            /* require_stable */
    0x00,
};

/* OffsetFetch v9: member id and epoch per group. */
static const uint8_t of_req_v9[] = {
    HDR2(9, 9),
    0x03,                                           /* groups: 2 */
    0x02, 'g', 0x02, 'm', I32(3),                   /*   "g", member "m", epoch 3 */
    0x02, 0x02, 't', 0x02, I32(2), 0x00,            /*   topics [t: [2]] */
    0x00,                                           /*   group tags */
    0x02, 'h', 0x00, I32(-1), 0x00, 0x00,           /*   "h", member null, -1, all topics */
    0x00,                                           /* require_stable false */
    0x00,
};

static const uint8_t of_resp_v5[] = {
    RHDR0,
    I32(0),                                 /* throttle_time_ms */
    I32(1), 0x00, 0x01, 't',                /* topics [t] */
    I32(1), I32(0), I64(42), I32(7),        /*   partition 0 at 42, leader epoch 7 */
    0x00, 0x00,                             /*   metadata "" */
    I16(0),                                 /*   error_code */
    I16(0),                                 /* error_code (v2-7) */
};

static const uint8_t of_resp_v8[] = {
    RHDR1,
    I32(0),
    0x02, 0x02, 'g',                          /* groups [g] */
    0x02, 0x02, 't',                          /*   topics [t] */
    0x02, I32(1), I64(10), I32(-1), 0x00,     /*     partition 1 at 10, epoch -1, null */
    I16(0), 0x00,                             /*     error, tags */
    0x00,                                     /*   topic tags */
    I16(16),                                  /*   group error NOT_COORDINATOR */
    0x00,                                     /*   group tags */
    0x00,
};

static const uint8_t fc_req_v0[] = {HDR1(10, 0), 0x00, 0x01, 'g'};
static const uint8_t fc_req_v1[] = {HDR1(10, 1), 0x00, 0x02, 't', 'x', 0x01};
static const uint8_t fc_req_v3[] = {HDR2(10, 3), 0x02, 'g', 0x00, 0x00};
static const uint8_t fc_req_v4[] = {HDR2(10, 4), 0x00, 0x03, 0x02, 'a', 0x02, 'b', 0x00};

static const uint8_t fc_resp_v0[] = {
    RHDR0, I16(0), I32(1), 0x00, 0x09, LOCALHOST, I32(9092),
};
static const uint8_t fc_resp_v1[] = {
    RHDR0, I32(0), I16(15), 0xff, 0xff, I32(-1), 0x00, 0x00, I32(-1),
};
static const uint8_t fc_resp_v3[] = {
    RHDR1, I32(0), I16(0), 0x00, I32(1), 0x02, 'h', I32(9092), 0x00,
};
static const uint8_t fc_resp_v4[] = {
    RHDR1, I32(0),
    0x02,                                                       /* coordinators: 1 */
    0x02, 'g', I32(1), 0x02, 'h', I32(9092), I16(0), 0x00, 0x00, /*   key g -> 1 h:9092 */
    0x00,
};

static const uint8_t jg_req_v0[] = {
    HDR1(11, 0),
    0x00, 0x01, 'g', I32(30000), 0x00, 0x00, 0x00, 0x08, CONSUMER,
    I32(1), 0x00, 0x05, RANGE, I32(2), 0x01, 0x02,
};
static const uint8_t jg_req_v5[] = {
    HDR1(11, 5),
    0x00, 0x01, 'g', I32(30000), I32(60000), 0x00, 0x00, /* member "" */
    0x00, 0x01, 'i',                                     /* group_instance_id */
    0x00, 0x08, CONSUMER, I32(1), 0x00, 0x05, RANGE, I32(0),
};
static const uint8_t jg_req_v8[] = {
    HDR2(11, 8),
    0x02, 'g', I32(30000), I32(60000), 0x02, 'm', 0x00, /* instance null */
    0x09, CONSUMER, 0x02, 0x06, RANGE, 0x03, 0x01, 0x02, 0x00,
    0x03, 'u', 'p',                                     /* reason (v8+) */
    0x00,
};

static const uint8_t jg_resp_v0[] = {
    RHDR0,
    I16(0), I32(1), 0x00, 0x05, RANGE, 0x00, 0x01, 'm', 0x00, 0x01, 'm',
    I32(1), 0x00, 0x01, 'm', I32(1), 0x09,
};
static const uint8_t jg_resp_v7[] = {
    RHDR1,
    I32(0), I16(0), I32(2),
    0x09, CONSUMER, /* protocol_type (v7+) */
    0x00,           /* protocol_name: null, allowed from v7 */
    0x02, 'm', 0x02, 'n', 0x01, 0x00,
};
static const uint8_t jg_resp_v9[] = {
    RHDR1,
    I32(0), I16(0), I32(3), 0x00, 0x06, RANGE, 0x02, 'm',
    0x01, /* skip_assignment (v9+) */
    0x02, 'm', 0x02, 0x02, 'm', 0x02, 'i', 0x02, 0x07, 0x00, 0x00,
};

static const uint8_t hb_req_v0[] = {HDR1(12, 0), 0x00, 0x01, 'g', I32(4), 0x00, 0x01, 'm'};
static const uint8_t hb_req_v4[] = {HDR2(12, 4), 0x02, 'g', I32(4), 0x02, 'm', 0x02, 'i', 0x00};
static const uint8_t hb_resp_v0[] = {RHDR0, I16(27)};
static const uint8_t hb_resp_v4[] = {RHDR1, I32(100), I16(0), 0x00};

static const uint8_t lg_req_v0[] = {HDR1(13, 0), 0x00, 0x01, 'g', 0x00, 0x01, 'm'};
static const uint8_t lg_req_v3[] = {
    HDR1(13, 3), 0x00, 0x01, 'g', I32(2),
    0x00, 0x01, 'a', 0xff, 0xff, /* a, no instance id */
    0x00, 0x01, 'b', 0x00, 0x01, 'i',
};
static const uint8_t lg_req_v5[] = {
    HDR2(13, 5), 0x02, 'g', 0x02, 0x02, 'a', 0x00, 0x04, 'b', 'y', 'e', 0x00, 0x00,
};
static const uint8_t lg_resp_v0[] = {RHDR0, I16(0)};
static const uint8_t lg_resp_v3[] = {
    RHDR0, I32(0), I16(0), I32(1), 0x00, 0x01, 'a', 0xff, 0xff, I16(25),
};
static const uint8_t lg_resp_v4[] = {
    RHDR1, I32(0), I16(0), 0x02, 0x02, 'a', 0x02, 'i', I16(0), 0x00, 0x00,
};

static const uint8_t sg_req_v0[] = {
    HDR1(14, 0), 0x00, 0x01, 'g', I32(1), 0x00, 0x01, 'm',
    I32(1), 0x00, 0x01, 'm', I32(3), 0x00, 0x01, 0x02,
};
static const uint8_t sg_req_v5[] = {
    HDR2(14, 5), 0x02, 'g', I32(1), 0x02, 'm', 0x00, 0x09, CONSUMER, 0x06, RANGE, 0x01, 0x00,
};
static const uint8_t sg_resp_v0[] = {RHDR0, I16(0), I32(2), 0x09, 0x08};
static const uint8_t sg_resp_v5[] = {
    RHDR1, I32(0), I16(0), 0x09, CONSUMER, 0x06, RANGE, 0x03, 0x09, 0x08, 0x00,
};

static const uint8_t ip_req_v0[] = {HDR1(22, 0), 0xff, 0xff, I32(60000)};
static const uint8_t ip_req_v1[] = {HDR1(22, 1), 0x00, 0x02, 't', 'x', I32(60000)};
static const uint8_t ip_req_v2[] = {HDR2(22, 2), 0x00, I32(60000), 0x00};
static const uint8_t ip_req_v4[] = {
    HDR2(22, 4), 0x03, 't', 'x', I32(60000), I64(1000), I16(5), 0x00,
};
static const uint8_t ip_resp_v0[] = {RHDR0, I32(0), I16(0), I64(1000), I16(0)};
static const uint8_t ip_resp_v3[] = {RHDR1, I32(0), I16(0), I64(1000), I16(1), 0x00};

static const uint8_t ap_req_v0[] = {
    HDR1(24, 0), 0x00, 0x02, 't', 'x', I64(1000), I16(1),
    I32(1), 0x00, 0x01, 't', I32(2), I32(0), I32(1),
};
static const uint8_t ap_req_v3[] = {
    HDR2(24, 3), 0x03, 't', 'x', I64(1000), I16(1), 0x02, 0x02, 't', 0x02, I32(0), 0x00, 0x00,
};
static const uint8_t ap_req_v4[] = {
    HDR2(24, 4),
    0x02,                                      /* transactions: 1 */
    0x03, 't', 'x', I64(1000), I16(1), 0x01,   /*   tx, pid, epoch, verify_only */
    0x02, 0x02, 't', 0x02, I32(0), 0x00,       /*   topics [t: [0]] */
    0x00,                                      /*   transaction tags */
    0x00,
};
static const uint8_t ap_resp_v0[] = {
    RHDR0, I32(0), I32(1), 0x00, 0x01, 't', I32(1), I32(0), I16(0),
};
static const uint8_t ap_resp_v3[] = {
    RHDR1, I32(0), 0x02, 0x02, 't', 0x02, I32(0), I16(0), 0x00, 0x00, 0x00,
};
static const uint8_t ap_resp_v4[] = {
    RHDR1, I32(0), I16(0),
    0x02, 0x03, 't', 'x',                                 /* results_by_transaction [tx] */
    0x02, 0x02, 't', 0x02, I32(0), I16(48), 0x00, 0x00,   /*   t: [0 -> 48] */
    0x00,                                                 /*   result tags */
    0x00,
};

static const uint8_t et_req_v0[] = {HDR1(26, 0), 0x00, 0x02, 't', 'x', I64(1000), I16(1), 0x01};
static const uint8_t et_req_v3[] = {HDR2(26, 3), 0x03, 't', 'x', I64(1000), I16(1), 0x00, 0x00};
static const uint8_t et_resp_v0[] = {RHDR0, I32(0), I16(0)};
static const uint8_t et_resp_v4[] = {RHDR1, I32(0), I16(51), 0x00};
static const uint8_t et_resp_v5[] = {RHDR1, I32(0), I16(0), I64(1000), I16(2), 0x00};

/* Every vector, for the tests that break them. */
static const struct vec {
    const char *name;
    const kw_api *api;
    int ver;
    bool req;
    const uint8_t *b;
    size_t n;
} vecs[] = {
#define VEC(api, ver, req, x) {#x, &(api), (ver), (req), (x), sizeof(x)}
    VEC(kw__api_offset_commit, 2, true, oc_req_v2),
    VEC(kw__api_offset_commit, 9, true, oc_req_v9),
    VEC(kw__api_offset_commit, 2, false, oc_resp_v2),
    VEC(kw__api_offset_commit, 8, false, oc_resp_v8),
    VEC(kw__api_offset_fetch, 1, true, of_req_v1),
    VEC(kw__api_offset_fetch, 2, true, of_req_v2_all),
    VEC(kw__api_offset_fetch, 7, true, of_req_v7),
    VEC(kw__api_offset_fetch, 8, true, of_req_v8),
    VEC(kw__api_offset_fetch, 9, true, of_req_v9),
    VEC(kw__api_offset_fetch, 5, false, of_resp_v5),
    VEC(kw__api_offset_fetch, 8, false, of_resp_v8),
    VEC(kw__api_find_coordinator, 0, true, fc_req_v0),
    VEC(kw__api_find_coordinator, 1, true, fc_req_v1),
    VEC(kw__api_find_coordinator, 3, true, fc_req_v3),
    VEC(kw__api_find_coordinator, 4, true, fc_req_v4),
    VEC(kw__api_find_coordinator, 0, false, fc_resp_v0),
    VEC(kw__api_find_coordinator, 1, false, fc_resp_v1),
    VEC(kw__api_find_coordinator, 3, false, fc_resp_v3),
    VEC(kw__api_find_coordinator, 4, false, fc_resp_v4),
    VEC(kw__api_join_group, 0, true, jg_req_v0),
    VEC(kw__api_join_group, 5, true, jg_req_v5),
    VEC(kw__api_join_group, 8, true, jg_req_v8),
    VEC(kw__api_join_group, 0, false, jg_resp_v0),
    VEC(kw__api_join_group, 7, false, jg_resp_v7),
    VEC(kw__api_join_group, 9, false, jg_resp_v9),
    VEC(kw__api_heartbeat, 0, true, hb_req_v0),
    VEC(kw__api_heartbeat, 4, true, hb_req_v4),
    VEC(kw__api_heartbeat, 0, false, hb_resp_v0),
    VEC(kw__api_heartbeat, 4, false, hb_resp_v4),
    VEC(kw__api_leave_group, 0, true, lg_req_v0),
    VEC(kw__api_leave_group, 3, true, lg_req_v3),
    VEC(kw__api_leave_group, 5, true, lg_req_v5),
    VEC(kw__api_leave_group, 0, false, lg_resp_v0),
    VEC(kw__api_leave_group, 3, false, lg_resp_v3),
    VEC(kw__api_leave_group, 4, false, lg_resp_v4),
    VEC(kw__api_sync_group, 0, true, sg_req_v0),
    VEC(kw__api_sync_group, 5, true, sg_req_v5),
    VEC(kw__api_sync_group, 0, false, sg_resp_v0),
    VEC(kw__api_sync_group, 5, false, sg_resp_v5),
    VEC(kw__api_init_producer_id, 0, true, ip_req_v0),
    VEC(kw__api_init_producer_id, 1, true, ip_req_v1),
    VEC(kw__api_init_producer_id, 2, true, ip_req_v2),
    VEC(kw__api_init_producer_id, 4, true, ip_req_v4),
    VEC(kw__api_init_producer_id, 0, false, ip_resp_v0),
    VEC(kw__api_init_producer_id, 3, false, ip_resp_v3),
    VEC(kw__api_add_partitions_to_txn, 0, true, ap_req_v0),
    VEC(kw__api_add_partitions_to_txn, 3, true, ap_req_v3),
    VEC(kw__api_add_partitions_to_txn, 4, true, ap_req_v4),
    VEC(kw__api_add_partitions_to_txn, 0, false, ap_resp_v0),
    VEC(kw__api_add_partitions_to_txn, 3, false, ap_resp_v3),
    VEC(kw__api_add_partitions_to_txn, 4, false, ap_resp_v4),
    VEC(kw__api_end_txn, 0, true, et_req_v0),
    VEC(kw__api_end_txn, 3, true, et_req_v3),
    VEC(kw__api_end_txn, 0, false, et_resp_v0),
    VEC(kw__api_end_txn, 4, false, et_resp_v4),
    VEC(kw__api_end_txn, 5, false, et_resp_v5),
#undef VEC
};
#define NVECS (sizeof(vecs) / sizeof(vecs[0]))

/* Room for any message struct of this module. */
typedef union any_msg {
    kw_offset_commit_req a;
    kw_offset_fetch_req b;
    kw_offset_fetch_resp c;
    kw_find_coordinator_resp d;
    kw_join_group_req e;
    kw_join_group_resp f;
    kw_sync_group_req g;
    kw_add_partitions_to_txn_req h;
    kw_add_partitions_to_txn_resp i;
    char pad[512];
} any_msg;

/* Decodes one vector (or a changed copy of it) as what it claims to be. */
static int decode_vec(const struct vec *v, const uint8_t *b, size_t n)
{
    any_msg out;
    if (v->req) {
        kw_request_header h;
        const kw_api *got;
        return kw__request_decode(b, n, &arena, &h, &got, &out, sizeof(out));
    }
    return kw__response_decode(b, n, v->api, v->ver, &arena, &out);
}

/* ---- the registry ---- */

START_TEST(apis_have_the_kafka_keys_and_version_ranges)
{
    static const struct {
        const kw_api *api;
        int key, vmin, vmax, flex;
        const char *name;
    } want[] = {
        {&kw__api_offset_commit, 8, 2, 9, 8, "OffsetCommit"},
        {&kw__api_offset_fetch, 9, 1, 9, 6, "OffsetFetch"},
        {&kw__api_find_coordinator, 10, 0, 6, 3, "FindCoordinator"},
        {&kw__api_join_group, 11, 0, 9, 6, "JoinGroup"},
        {&kw__api_heartbeat, 12, 0, 4, 4, "Heartbeat"},
        {&kw__api_leave_group, 13, 0, 5, 4, "LeaveGroup"},
        {&kw__api_sync_group, 14, 0, 5, 4, "SyncGroup"},
        {&kw__api_init_producer_id, 22, 0, 5, 2, "InitProducerId"},
        {&kw__api_add_partitions_to_txn, 24, 0, 5, 3, "AddPartitionsToTxn"},
        {&kw__api_end_txn, 26, 0, 5, 3, "EndTxn"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const kw_api *api = want[i].api;
        ck_assert_ptr_eq(kw__api(want[i].key), api);
        ck_assert_int_eq(api->key, want[i].key);
        ck_assert_int_eq(api->vmin, want[i].vmin);
        ck_assert_int_eq(api->vmax, want[i].vmax);
        ck_assert_int_eq(api->flex, want[i].flex);
        ck_assert_str_eq(api->name, want[i].name);
        ck_assert_ptr_nonnull(api->req);
        ck_assert_ptr_nonnull(api->resp);
    }
    /* Header versions follow the flexible switch. */
    ck_assert_int_eq(kw__request_header_version(&kw__api_heartbeat, 3), 1);
    ck_assert_int_eq(kw__request_header_version(&kw__api_heartbeat, 4), 2);
    ck_assert_int_eq(kw__response_header_version(&kw__api_init_producer_id, 1), 0);
    ck_assert_int_eq(kw__response_header_version(&kw__api_init_producer_id, 2), 1);
}
END_TEST

/* ---- every version's field set ---- */

static const kw_schema *sub_of(const kw_schema *s, const char *member)
{
    for (uint16_t i = 0; i < s->nfields; i++)
        if (strcmp(s->fields[i].name, member) == 0)
            return s->fields[i].sub;
    ck_abort_msg("%s has no member %s", s->name, member);
    return NULL;
}

/* Encodes a default struct of s at each version vmin..vmax of api and checks its size. */
static void check_sizes(const kw_api *api, const kw_schema *s, int vmin, int vmax,
                        const int *want)
{
    any_msg obj;
    ck_assert_uint_le(s->size, sizeof(obj));
    for (int v = vmin; v <= vmax; v++) {
        kw__schema_init(s, v, &obj);
        kw_wr w;
        kw__wr_init(&w);
        ck_assert_int_eq(kw__schema_encode(&w, s, v, kw__api_flexible(api, v), &obj), 0);
        ck_assert_msg(w.len == (size_t)want[v - vmin], "%s v%d: %zu bytes, want %d", s->name, v,
                      w.len, want[v - vmin]);
        kw__wr_free(&w);
    }
}

/*
 * The size of an all-default message at every version, worked out from the
 * spec's version ranges: classic string 2, array and bytes 4; compact string,
 * array and bytes 1, plus 1 for each flexible struct's tag count.  A field
 * given the wrong version range changes the size at the version it is off by.
 */
START_TEST(default_messages_have_the_spec_size_at_every_version)
{
    const kw_api *oc = &kw__api_offset_commit, *of = &kw__api_offset_fetch,
                 *fc = &kw__api_find_coordinator, *jg = &kw__api_join_group,
                 *hb = &kw__api_heartbeat, *lg = &kw__api_leave_group, *sg = &kw__api_sync_group,
                 *ip = &kw__api_init_producer_id, *ap = &kw__api_add_partitions_to_txn,
                 *et = &kw__api_end_txn;
    /* OffsetCommit v2-9: retention only in v2-4, instance id from v7 */
    check_sizes(oc, oc->req, 2, 9, (const int[]){20, 20, 20, 12, 12, 14, 9, 9});
    check_sizes(oc, oc->resp, 2, 9, (const int[]){4, 8, 8, 8, 8, 8, 6, 6});
    check_sizes(oc, sub_of(sub_of(oc->req, "topics"), "partitions"), 2, 9,
                (const int[]){14, 14, 14, 14, 18, 18, 18, 18});
    /* OffsetFetch v1-9 */
    check_sizes(of, of->req, 1, 9, (const int[]){6, 6, 6, 6, 6, 3, 4, 3, 3});
    check_sizes(of, of->resp, 1, 9, (const int[]){4, 6, 10, 10, 10, 8, 8, 6, 6});
    check_sizes(of, sub_of(sub_of(of->resp, "topics"), "partitions"), 1, 7,
                (const int[]){16, 16, 16, 16, 20, 20, 20});
    check_sizes(of, sub_of(of->req, "groups"), 8, 9, (const int[]){3, 8});
    /* FindCoordinator v0-6 */
    check_sizes(fc, fc->req, 0, 6, (const int[]){2, 3, 3, 3, 3, 3, 3});
    check_sizes(fc, fc->resp, 0, 6, (const int[]){12, 18, 18, 17, 6, 6, 6});
    check_sizes(fc, sub_of(fc->resp, "coordinators"), 4, 6, (const int[]){14, 14, 14});
    /* JoinGroup v0-9 */
    check_sizes(jg, jg->req, 0, 9, (const int[]){14, 18, 18, 18, 18, 20, 14, 14, 15, 15});
    check_sizes(jg, jg->resp, 0, 9, (const int[]){16, 16, 20, 20, 20, 20, 15, 16, 16, 17});
    check_sizes(jg, sub_of(jg->resp, "members"), 0, 9, (const int[]){6, 6, 6, 6, 6, 8, 4, 4, 4, 4});
    /* Heartbeat v0-4 */
    check_sizes(hb, hb->req, 0, 4, (const int[]){8, 8, 8, 10, 8});
    check_sizes(hb, hb->resp, 0, 4, (const int[]){2, 6, 6, 6, 7});
    /* LeaveGroup v0-5 */
    check_sizes(lg, lg->req, 0, 5, (const int[]){4, 4, 4, 6, 3, 3});
    check_sizes(lg, lg->resp, 0, 5, (const int[]){2, 6, 6, 10, 8, 8});
    check_sizes(lg, sub_of(lg->req, "members"), 3, 5, (const int[]){4, 3, 4});
    /* SyncGroup v0-5 */
    check_sizes(sg, sg->req, 0, 5, (const int[]){12, 12, 12, 14, 9, 11});
    check_sizes(sg, sg->resp, 0, 5, (const int[]){6, 10, 10, 10, 8, 10});
    /* InitProducerId v0-5 */
    check_sizes(ip, ip->req, 0, 5, (const int[]){6, 6, 6, 16, 16, 16});
    check_sizes(ip, ip->resp, 0, 5, (const int[]){16, 16, 17, 17, 17, 17});
    /* AddPartitionsToTxn v0-5 */
    check_sizes(ap, ap->req, 0, 5, (const int[]){16, 16, 16, 13, 2, 2});
    check_sizes(ap, ap->resp, 0, 5, (const int[]){8, 8, 8, 6, 8, 8});
    check_sizes(ap, sub_of(ap->req, "transactions"), 4, 5, (const int[]){14, 14});
    /* EndTxn v0-5 */
    check_sizes(et, et->req, 0, 5, (const int[]){13, 13, 13, 13, 13, 13});
    check_sizes(et, et->resp, 0, 5, (const int[]){6, 6, 6, 7, 7, 17});
}
END_TEST

/* ---- OffsetCommit ---- */

START_TEST(offset_commit_v2_request_carries_retention_and_null_metadata)
{
    const kw_api *api = &kw__api_offset_commit;
    kw_offset_commit_req r;
    kw__schema_init(api->req, 2, &r);
    ck_assert_int_eq(r.generation_id_or_member_epoch, -1);
    ck_assert_int_eq(r.retention_time_ms, -1);
    ck_assert_int_eq(r.group_instance_id.len, -1);
    kw_offset_commit_req_partition p = {.partition_index = 0,
                                        .committed_offset = 100,
                                        .committed_leader_epoch = 9, /* v6+: not sent */
                                        .commit_timestamp = 5,       /* v1 only: not sent */
                                        .committed_metadata = KW_STR_NULL};
    kw_offset_commit_req_topic t = {.name = kw_str_c("t"), .partitions = {&p, 1}};
    r.group_id = kw_str_c("g");
    r.generation_id_or_member_epoch = 5;
    r.member_id = kw_str_c("m");
    r.topics.v = &t;
    r.topics.n = 1;
    kw_offset_commit_req d;
    REQ_BOTH_WAYS(api, 2, r, oc_req_v2, d);
    assert_str(d.group_id, "g");
    ck_assert_int_eq(d.generation_id_or_member_epoch, 5);
    assert_str(d.member_id, "m");
    assert_str(d.group_instance_id, NULL);
    ck_assert_int_eq(d.retention_time_ms, -1);
    ck_assert_int_eq(d.topics.n, 1);
    assert_str(d.topics.v[0].name, "t");
    ck_assert_int_eq(d.topics.v[0].partitions.n, 1);
    const kw_offset_commit_req_partition *dp = &d.topics.v[0].partitions.v[0];
    ck_assert_int_eq(dp->partition_index, 0);
    ck_assert_int_eq(dp->committed_offset, 100);
    ck_assert_int_eq(dp->committed_leader_epoch, -1); /* absent in v2: the default */
    ck_assert_int_eq(dp->commit_timestamp, -1);
    assert_str(dp->committed_metadata, NULL);
}
END_TEST

START_TEST(offset_commit_v9_request_is_compact_without_retention)
{
    const kw_api *api = &kw__api_offset_commit;
    kw_offset_commit_req r;
    kw__schema_init(api->req, 9, &r);
    kw_offset_commit_req_partition p = {.partition_index = 2,
                                        .committed_offset = 0x0102,
                                        .committed_leader_epoch = 4,
                                        .commit_timestamp = -1,
                                        .committed_metadata = kw_str_c("")};
    kw_offset_commit_req_topic t = {.name = kw_str_c("t"), .partitions = {&p, 1}};
    r.group_id = kw_str_c("g");
    r.generation_id_or_member_epoch = 3;
    r.member_id = kw_str_c("m");
    r.group_instance_id = kw_str_c("i");
    r.retention_time_ms = 1234; /* v2-4 only: must not appear */
    r.topics.v = &t;
    r.topics.n = 1;
    kw_offset_commit_req d;
    REQ_BOTH_WAYS(api, 9, r, oc_req_v9, d);
    assert_str(d.group_id, "g");
    ck_assert_int_eq(d.generation_id_or_member_epoch, 3);
    assert_str(d.member_id, "m");
    assert_str(d.group_instance_id, "i");
    ck_assert_int_eq(d.retention_time_ms, -1);
    ck_assert_int_eq(d.topics.n, 1);
    assert_str(d.topics.v[0].name, "t");
    const kw_offset_commit_req_partition *dp = &d.topics.v[0].partitions.v[0];
    ck_assert_int_eq(d.topics.v[0].partitions.n, 1);
    ck_assert_int_eq(dp->partition_index, 2);
    ck_assert_int_eq(dp->committed_offset, 0x0102);
    ck_assert_int_eq(dp->committed_leader_epoch, 4);
    assert_str(dp->committed_metadata, "");
}
END_TEST

START_TEST(offset_commit_responses_classic_and_flexible)
{
    const kw_api *api = &kw__api_offset_commit;
    kw_offset_commit_resp_partition p = {.partition_index = 1, .error_code = 25};
    kw_offset_commit_resp_topic t = {.name = kw_str_c("t"), .partitions = {&p, 1}};
    kw_offset_commit_resp r = {.throttle_time_ms = 10, .topics = {&t, 1}};
    kw_offset_commit_resp d;

    /* v2 has no throttle time: the 10 is not sent and reads back as 0. */
    RESP_BOTH_WAYS(api, 2, r, oc_resp_v2, d);
    ck_assert_int_eq(d.throttle_time_ms, 0);
    ck_assert_int_eq(d.topics.n, 1);
    assert_str(d.topics.v[0].name, "t");
    ck_assert_int_eq(d.topics.v[0].partitions.n, 1);
    ck_assert_int_eq(d.topics.v[0].partitions.v[0].partition_index, 1);
    ck_assert_int_eq(d.topics.v[0].partitions.v[0].error_code, 25);

    RESP_BOTH_WAYS(api, 8, r, oc_resp_v8, d);
    ck_assert_int_eq(d.throttle_time_ms, 10);
    assert_str(d.topics.v[0].name, "t");
    ck_assert_int_eq(d.topics.v[0].partitions.v[0].partition_index, 1);
    ck_assert_int_eq(d.topics.v[0].partitions.v[0].error_code, 25);
}
END_TEST

/* ---- OffsetFetch ---- */

START_TEST(offset_fetch_single_group_requests)
{
    const kw_api *api = &kw__api_offset_fetch;
    int32_t parts[] = {0, 1};
    kw_offset_fetch_req_topic t = {.name = kw_str_c("t"), .partition_indexes = {parts, 2}};
    kw_offset_fetch_req r;
    kw__schema_init(api->req, 1, &r);
    r.group_id = kw_str_c("g");
    r.topics.v = &t;
    r.topics.n = 1;
    kw_offset_fetch_req d;
    REQ_BOTH_WAYS(api, 1, r, of_req_v1, d);
    assert_str(d.group_id, "g");
    ck_assert_int_eq(d.topics.n, 1);
    assert_str(d.topics.v[0].name, "t");
    ck_assert_int_eq(d.topics.v[0].partition_indexes.n, 2);
    ck_assert_int_eq(d.topics.v[0].partition_indexes.v[0], 0);
    ck_assert_int_eq(d.topics.v[0].partition_indexes.v[1], 1);
    ck_assert_int_eq(d.groups.n, 0);
    ck_assert(!d.require_stable);

    /* Null topics ("all") exists from v2 only. */
    r.topics.v = NULL;
    r.topics.n = -1;
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__request_encode(&w, api, 1, 7, kw_str_c("c"), &r), KW_EINVAL);
    kw__wr_free(&w);
    REQ_BOTH_WAYS(api, 2, r, of_req_v2_all, d);
    assert_str(d.group_id, "g");
    ck_assert_int_eq(d.topics.n, -1);
    ck_assert_ptr_null(d.topics.v);

    r.require_stable = true;
    REQ_BOTH_WAYS(api, 7, r, of_req_v7, d);
    assert_str(d.group_id, "g");
    ck_assert_int_eq(d.topics.n, -1);
    ck_assert(d.require_stable);
}
END_TEST

START_TEST(offset_fetch_batched_requests_v8_v9)
{
    const kw_api *api = &kw__api_offset_fetch;
    kw_offset_fetch_req r;
    kw__schema_init(api->req, 8, &r);
    kw_offset_fetch_req_group g1;
    kw__schema_init(api->req->fields[2].sub, 8, &g1);
    ck_assert_int_eq(g1.member_epoch, -1);
    ck_assert_int_eq(g1.member_id.len, -1);
    g1.group_id = kw_str_c("g");
    g1.topics.v = NULL;
    g1.topics.n = -1;
    g1.member_id = kw_str_c("m"); /* v9+: not in v8 */
    g1.member_epoch = 3;
    r.group_id = kw_str_c("ignored"); /* v0-7 only */
    r.groups.v = &g1;
    r.groups.n = 1;
    r.require_stable = true;
    kw_offset_fetch_req d;
    REQ_BOTH_WAYS(api, 8, r, of_req_v8, d);
    ck_assert_int_eq(d.groups.n, 1);
    assert_str(d.groups.v[0].group_id, "g");
    assert_str(d.groups.v[0].member_id, NULL);
    ck_assert_int_eq(d.groups.v[0].member_epoch, -1);
    ck_assert_int_eq(d.groups.v[0].topics.n, -1);
    ck_assert(d.require_stable);
    assert_str(d.group_id, ""); /* absent: the default */

    int32_t part = 2;
    kw_offset_fetch_req_group_topic t = {.name = kw_str_c("t"), .partition_indexes = {&part, 1}};
    kw_offset_fetch_req_group gs[2] = {
        {.group_id = kw_str_c("g"), .member_id = kw_str_c("m"), .member_epoch = 3,
         .topics = {&t, 1}},
        {.group_id = kw_str_c("h"), .member_id = KW_STR_NULL, .member_epoch = -1,
         .topics = {NULL, -1}},
    };
    r.groups.v = gs;
    r.groups.n = 2;
    r.require_stable = false;
    REQ_BOTH_WAYS(api, 9, r, of_req_v9, d);
    ck_assert_int_eq(d.groups.n, 2);
    assert_str(d.groups.v[0].group_id, "g");
    assert_str(d.groups.v[0].member_id, "m");
    ck_assert_int_eq(d.groups.v[0].member_epoch, 3);
    ck_assert_int_eq(d.groups.v[0].topics.n, 1);
    assert_str(d.groups.v[0].topics.v[0].name, "t");
    ck_assert_int_eq(d.groups.v[0].topics.v[0].partition_indexes.n, 1);
    ck_assert_int_eq(d.groups.v[0].topics.v[0].partition_indexes.v[0], 2);
    assert_str(d.groups.v[1].group_id, "h");
    assert_str(d.groups.v[1].member_id, NULL);
    ck_assert_int_eq(d.groups.v[1].member_epoch, -1);
    ck_assert_int_eq(d.groups.v[1].topics.n, -1);
    ck_assert(!d.require_stable);
}
END_TEST

START_TEST(offset_fetch_responses_single_and_batched)
{
    const kw_api *api = &kw__api_offset_fetch;
    kw_offset_fetch_resp_partition p = {.partition_index = 0,
                                        .committed_offset = 42,
                                        .committed_leader_epoch = 7,
                                        .metadata = kw_str_c(""),
                                        .error_code = 0};
    kw_offset_fetch_resp_topic t = {.name = kw_str_c("t"), .partitions = {&p, 1}};
    kw_offset_fetch_resp r;
    kw__schema_init(api->resp, 5, &r);
    r.topics.v = &t;
    r.topics.n = 1;
    kw_offset_fetch_resp d;
    RESP_BOTH_WAYS(api, 5, r, of_resp_v5, d);
    ck_assert_int_eq(d.throttle_time_ms, 0);
    ck_assert_int_eq(d.error_code, 0);
    ck_assert_int_eq(d.topics.n, 1);
    assert_str(d.topics.v[0].name, "t");
    ck_assert_int_eq(d.topics.v[0].partitions.n, 1);
    ck_assert_int_eq(d.topics.v[0].partitions.v[0].committed_offset, 42);
    ck_assert_int_eq(d.topics.v[0].partitions.v[0].committed_leader_epoch, 7);
    assert_str(d.topics.v[0].partitions.v[0].metadata, "");
    ck_assert_int_eq(d.groups.n, 0);

    kw_offset_fetch_resp_group_partition gp = {.partition_index = 1,
                                               .committed_offset = 10,
                                               .committed_leader_epoch = -1,
                                               .metadata = KW_STR_NULL,
                                               .error_code = 0};
    kw_offset_fetch_resp_group_topic gt = {.name = kw_str_c("t"), .partitions = {&gp, 1}};
    kw_offset_fetch_resp_group g = {.group_id = kw_str_c("g"), .topics = {&gt, 1},
                                    .error_code = 16};
    kw__schema_init(api->resp, 8, &r);
    r.groups.v = &g;
    r.groups.n = 1;
    RESP_BOTH_WAYS(api, 8, r, of_resp_v8, d);
    ck_assert_int_eq(d.topics.n, 0);
    ck_assert_int_eq(d.groups.n, 1);
    assert_str(d.groups.v[0].group_id, "g");
    ck_assert_int_eq(d.groups.v[0].error_code, 16);
    ck_assert_int_eq(d.groups.v[0].topics.n, 1);
    assert_str(d.groups.v[0].topics.v[0].name, "t");
    const kw_offset_fetch_resp_group_partition *dp = &d.groups.v[0].topics.v[0].partitions.v[0];
    ck_assert_int_eq(d.groups.v[0].topics.v[0].partitions.n, 1);
    ck_assert_int_eq(dp->partition_index, 1);
    ck_assert_int_eq(dp->committed_offset, 10);
    ck_assert_int_eq(dp->committed_leader_epoch, -1);
    assert_str(dp->metadata, NULL);
    ck_assert_int_eq(dp->error_code, 0);
}
END_TEST

/* ---- FindCoordinator ---- */

START_TEST(find_coordinator_requests_single_key_and_batched)
{
    const kw_api *api = &kw__api_find_coordinator;
    kw_find_coordinator_req r, d;
    kw__schema_init(api->req, 0, &r);
    r.key = kw_str_c("g");
    r.key_type = KW_COORDINATOR_TRANSACTION; /* v1+: not in v0 */
    REQ_BOTH_WAYS(api, 0, r, fc_req_v0, d);
    assert_str(d.key, "g");
    ck_assert_int_eq(d.key_type, 0);

    r.key = kw_str_c("tx");
    REQ_BOTH_WAYS(api, 1, r, fc_req_v1, d);
    assert_str(d.key, "tx");
    ck_assert_int_eq(d.key_type, KW_COORDINATOR_TRANSACTION);

    r.key = kw_str_c("g");
    r.key_type = KW_COORDINATOR_GROUP;
    REQ_BOTH_WAYS(api, 3, r, fc_req_v3, d);
    assert_str(d.key, "g");
    ck_assert_int_eq(d.key_type, 0);
    ck_assert_int_eq(d.coordinator_keys.n, 0);

    kw_str keys[] = {kw_str_c("a"), kw_str_c("b")};
    r.key = kw_str_c("not-sent-in-v4");
    r.coordinator_keys.v = keys;
    r.coordinator_keys.n = 2;
    REQ_BOTH_WAYS(api, 4, r, fc_req_v4, d);
    assert_str(d.key, "");
    ck_assert_int_eq(d.key_type, 0);
    ck_assert_int_eq(d.coordinator_keys.n, 2);
    assert_str(d.coordinator_keys.v[0], "a");
    assert_str(d.coordinator_keys.v[1], "b");
}
END_TEST

START_TEST(find_coordinator_responses_single_and_batched)
{
    const kw_api *api = &kw__api_find_coordinator;
    kw_find_coordinator_resp r, d;
    kw__schema_init(api->resp, 0, &r);
    r.node_id = 1;
    r.host = kw_str_c("localhost");
    r.port = 9092;
    RESP_BOTH_WAYS(api, 0, r, fc_resp_v0, d);
    ck_assert_int_eq(d.error_code, 0);
    ck_assert_int_eq(d.node_id, 1);
    assert_str(d.host, "localhost");
    ck_assert_int_eq(d.port, 9092);

    kw__schema_init(api->resp, 1, &r);
    r.error_code = 15;
    r.error_message = KW_STR_NULL;
    r.node_id = -1;
    r.port = -1;
    RESP_BOTH_WAYS(api, 1, r, fc_resp_v1, d);
    ck_assert_int_eq(d.throttle_time_ms, 0);
    ck_assert_int_eq(d.error_code, 15);
    assert_str(d.error_message, NULL);
    ck_assert_int_eq(d.node_id, -1);
    assert_str(d.host, "");
    ck_assert_int_eq(d.port, -1);

    kw__schema_init(api->resp, 3, &r);
    r.error_message = KW_STR_NULL;
    r.node_id = 1;
    r.host = kw_str_c("h");
    r.port = 9092;
    RESP_BOTH_WAYS(api, 3, r, fc_resp_v3, d);
    ck_assert_int_eq(d.node_id, 1);
    assert_str(d.host, "h");
    assert_str(d.error_message, NULL);
    ck_assert_int_eq(d.port, 9092);

    kw_find_coordinator_resp_coordinator c = {.key = kw_str_c("g"),
                                              .node_id = 1,
                                              .host = kw_str_c("h"),
                                              .port = 9092,
                                              .error_code = 0,
                                              .error_message = KW_STR_NULL};
    kw__schema_init(api->resp, 4, &r);
    r.coordinators.v = &c;
    r.coordinators.n = 1;
    RESP_BOTH_WAYS(api, 4, r, fc_resp_v4, d);
    ck_assert_int_eq(d.coordinators.n, 1);
    assert_str(d.coordinators.v[0].key, "g");
    ck_assert_int_eq(d.coordinators.v[0].node_id, 1);
    assert_str(d.coordinators.v[0].host, "h");
    ck_assert_int_eq(d.coordinators.v[0].port, 9092);
    ck_assert_int_eq(d.coordinators.v[0].error_code, 0);
    assert_str(d.coordinators.v[0].error_message, NULL);
    assert_str(d.host, ""); /* v0-3 only */
}
END_TEST

/* ---- JoinGroup ---- */

START_TEST(join_group_requests_v0_v5_v8)
{
    const kw_api *api = &kw__api_join_group;
    static const uint8_t meta[] = {1, 2};
    kw_join_group_req_protocol p = {.name = kw_str_c("range"), .metadata = {meta, 2}};
    kw_join_group_req r, d;
    kw__schema_init(api->req, 0, &r);
    ck_assert_int_eq(r.rebalance_timeout_ms, -1);
    ck_assert_int_eq(r.reason.len, -1);
    r.group_id = kw_str_c("g");
    r.session_timeout_ms = 30000;
    r.rebalance_timeout_ms = 60000; /* v1+ */
    r.protocol_type = kw_str_c("consumer");
    r.protocols.v = &p;
    r.protocols.n = 1;
    REQ_BOTH_WAYS(api, 0, r, jg_req_v0, d);
    assert_str(d.group_id, "g");
    ck_assert_int_eq(d.session_timeout_ms, 30000);
    ck_assert_int_eq(d.rebalance_timeout_ms, -1);
    assert_str(d.member_id, "");
    assert_str(d.group_instance_id, NULL);
    assert_str(d.protocol_type, "consumer");
    ck_assert_int_eq(d.protocols.n, 1);
    assert_str(d.protocols.v[0].name, "range");
    assert_bytes(d.protocols.v[0].metadata, meta, 2);
    assert_str(d.reason, NULL);

    kw_join_group_req_protocol p5 = {.name = kw_str_c("range"), .metadata = {meta, 0}};
    r.protocols.v = &p5;
    r.group_instance_id = kw_str_c("i");
    r.reason = kw_str_c("v8 only");
    REQ_BOTH_WAYS(api, 5, r, jg_req_v5, d);
    ck_assert_int_eq(d.rebalance_timeout_ms, 60000);
    assert_str(d.group_instance_id, "i");
    assert_bytes(d.protocols.v[0].metadata, NULL, 0);
    assert_str(d.reason, NULL);

    r.protocols.v = &p;
    r.member_id = kw_str_c("m");
    r.group_instance_id = KW_STR_NULL;
    r.reason = kw_str_c("up");
    REQ_BOTH_WAYS(api, 8, r, jg_req_v8, d);
    assert_str(d.group_id, "g");
    ck_assert_int_eq(d.session_timeout_ms, 30000);
    ck_assert_int_eq(d.rebalance_timeout_ms, 60000);
    assert_str(d.member_id, "m");
    assert_str(d.group_instance_id, NULL);
    assert_str(d.protocol_type, "consumer");
    assert_str(d.protocols.v[0].name, "range");
    assert_bytes(d.protocols.v[0].metadata, meta, 2);
    assert_str(d.reason, "up");
}
END_TEST

START_TEST(join_group_responses_v0_v7_v9)
{
    const kw_api *api = &kw__api_join_group;
    static const uint8_t meta9[] = {9}, meta7[] = {7};
    kw_join_group_resp_member m = {.member_id = kw_str_c("m"),
                                   .group_instance_id = KW_STR_NULL,
                                   .metadata = {meta9, 1}};
    kw_join_group_resp r, d;
    kw__schema_init(api->resp, 0, &r);
    ck_assert_int_eq(r.generation_id, -1);
    ck_assert_int_eq(r.protocol_type.len, -1);
    r.generation_id = 1;
    r.protocol_name = kw_str_c("range");
    r.leader = kw_str_c("m");
    r.member_id = kw_str_c("m");
    r.members.v = &m;
    r.members.n = 1;
    RESP_BOTH_WAYS(api, 0, r, jg_resp_v0, d);
    ck_assert_int_eq(d.error_code, 0);
    ck_assert_int_eq(d.generation_id, 1);
    assert_str(d.protocol_type, NULL);
    assert_str(d.protocol_name, "range");
    assert_str(d.leader, "m");
    assert_str(d.member_id, "m");
    ck_assert_int_eq(d.members.n, 1);
    assert_str(d.members.v[0].member_id, "m");
    assert_str(d.members.v[0].group_instance_id, NULL);
    assert_bytes(d.members.v[0].metadata, meta9, 1);

    /* v7: protocol type appears, and protocol name may be null. */
    kw__schema_init(api->resp, 7, &r);
    r.generation_id = 2;
    r.protocol_type = kw_str_c("consumer");
    r.protocol_name = KW_STR_NULL;
    r.leader = kw_str_c("m");
    r.member_id = kw_str_c("n");
    RESP_BOTH_WAYS(api, 7, r, jg_resp_v7, d);
    ck_assert_int_eq(d.generation_id, 2);
    assert_str(d.protocol_type, "consumer");
    assert_str(d.protocol_name, NULL);
    assert_str(d.leader, "m");
    assert_str(d.member_id, "n");
    ck_assert_int_eq(d.members.n, 0);

    kw_join_group_resp_member m9 = {.member_id = kw_str_c("m"),
                                    .group_instance_id = kw_str_c("i"),
                                    .metadata = {meta7, 1}};
    kw__schema_init(api->resp, 9, &r);
    r.generation_id = 3;
    r.protocol_name = kw_str_c("range");
    r.leader = kw_str_c("m");
    r.skip_assignment = true;
    r.member_id = kw_str_c("m");
    r.members.v = &m9;
    r.members.n = 1;
    RESP_BOTH_WAYS(api, 9, r, jg_resp_v9, d);
    ck_assert_int_eq(d.generation_id, 3);
    assert_str(d.protocol_type, NULL);
    assert_str(d.protocol_name, "range");
    ck_assert(d.skip_assignment);
    ck_assert_int_eq(d.members.n, 1);
    assert_str(d.members.v[0].group_instance_id, "i");
    assert_bytes(d.members.v[0].metadata, meta7, 1);
}
END_TEST

START_TEST(join_group_protocol_name_is_nullable_only_from_v7)
{
    const kw_api *api = &kw__api_join_group;
    kw_join_group_resp r;
    kw__schema_init(api->resp, 6, &r);
    r.protocol_name = KW_STR_NULL;
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__response_encode(&w, api, 6, 7, &r), KW_EINVAL);
    kw__wr_free(&w);
    kw__wr_init(&w);
    ck_assert_int_eq(kw__response_encode(&w, api, 7, 7, &r), 0);
    kw__wr_free(&w);

    /* The same null on the wire at v6 is malformed. */
    static const uint8_t v6_null_name[] = {
        RHDR1, I32(0), I16(0), I32(1), 0x00, 0x02, 'm', 0x02, 'm', 0x01, 0x00,
    };
    kw_join_group_resp d;
    ck_assert_int_eq(
        kw__response_decode(v6_null_name, sizeof(v6_null_name), api, 6, &arena, &d),
        KW_EMALFORMED);
    /* ... and well formed at v7, where protocol_type comes first. */
    static const uint8_t v7_null_both[] = {
        RHDR1, I32(0), I16(0), I32(1), 0x00, 0x00, 0x02, 'm', 0x02, 'm', 0x01, 0x00,
    };
    ck_assert_int_eq(
        kw__response_decode(v7_null_both, sizeof(v7_null_both), api, 7, &arena, &d), 0);
    assert_str(d.protocol_type, NULL);
    assert_str(d.protocol_name, NULL);
    ck_assert_int_eq(d.generation_id, 1);
}
END_TEST

/* ---- Heartbeat, LeaveGroup, SyncGroup ---- */

START_TEST(heartbeat_classic_and_flexible)
{
    const kw_api *api = &kw__api_heartbeat;
    kw_heartbeat_req r, d;
    kw__schema_init(api->req, 0, &r);
    r.group_id = kw_str_c("g");
    r.generation_id = 4;
    r.member_id = kw_str_c("m");
    r.group_instance_id = kw_str_c("i"); /* v3+ */
    REQ_BOTH_WAYS(api, 0, r, hb_req_v0, d);
    assert_str(d.group_id, "g");
    ck_assert_int_eq(d.generation_id, 4);
    assert_str(d.member_id, "m");
    assert_str(d.group_instance_id, NULL);
    REQ_BOTH_WAYS(api, 4, r, hb_req_v4, d);
    assert_str(d.group_id, "g");
    ck_assert_int_eq(d.generation_id, 4);
    assert_str(d.member_id, "m");
    assert_str(d.group_instance_id, "i");

    kw_heartbeat_resp s = {.throttle_time_ms = 100, .error_code = 27}, e;
    RESP_BOTH_WAYS(api, 0, s, hb_resp_v0, e);
    ck_assert_int_eq(e.throttle_time_ms, 0);
    ck_assert_int_eq(e.error_code, 27);
    s.error_code = 0;
    RESP_BOTH_WAYS(api, 4, s, hb_resp_v4, e);
    ck_assert_int_eq(e.throttle_time_ms, 100);
    ck_assert_int_eq(e.error_code, 0);
}
END_TEST

START_TEST(leave_group_single_member_then_member_list)
{
    const kw_api *api = &kw__api_leave_group;
    kw_leave_group_req r, d;
    kw__schema_init(api->req, 0, &r);
    r.group_id = kw_str_c("g");
    r.member_id = kw_str_c("m");
    REQ_BOTH_WAYS(api, 0, r, lg_req_v0, d);
    assert_str(d.group_id, "g");
    assert_str(d.member_id, "m");
    ck_assert_int_eq(d.members.n, 0);

    kw_leave_group_req_member ms[2] = {
        {.member_id = kw_str_c("a"), .group_instance_id = KW_STR_NULL, .reason = kw_str_c("x")},
        {.member_id = kw_str_c("b"), .group_instance_id = kw_str_c("i"), .reason = KW_STR_NULL},
    };
    r.members.v = ms;
    r.members.n = 2;
    REQ_BOTH_WAYS(api, 3, r, lg_req_v3, d);
    assert_str(d.member_id, ""); /* v0-2 only */
    ck_assert_int_eq(d.members.n, 2);
    assert_str(d.members.v[0].member_id, "a");
    assert_str(d.members.v[0].group_instance_id, NULL);
    assert_str(d.members.v[0].reason, NULL); /* v5+ */
    assert_str(d.members.v[1].member_id, "b");
    assert_str(d.members.v[1].group_instance_id, "i");

    kw_leave_group_req_member m5 = {
        .member_id = kw_str_c("a"), .group_instance_id = KW_STR_NULL, .reason = kw_str_c("bye")};
    r.members.v = &m5;
    r.members.n = 1;
    REQ_BOTH_WAYS(api, 5, r, lg_req_v5, d);
    ck_assert_int_eq(d.members.n, 1);
    assert_str(d.members.v[0].member_id, "a");
    assert_str(d.members.v[0].group_instance_id, NULL);
    assert_str(d.members.v[0].reason, "bye");

    kw_leave_group_resp s, e;
    kw__schema_init(api->resp, 0, &s);
    RESP_BOTH_WAYS(api, 0, s, lg_resp_v0, e);
    ck_assert_int_eq(e.error_code, 0);
    ck_assert_int_eq(e.members.n, 0);

    kw_leave_group_resp_member rm = {
        .member_id = kw_str_c("a"), .group_instance_id = KW_STR_NULL, .error_code = 25};
    s.members.v = &rm;
    s.members.n = 1;
    RESP_BOTH_WAYS(api, 3, s, lg_resp_v3, e);
    ck_assert_int_eq(e.members.n, 1);
    assert_str(e.members.v[0].member_id, "a");
    assert_str(e.members.v[0].group_instance_id, NULL);
    ck_assert_int_eq(e.members.v[0].error_code, 25);

    rm.group_instance_id = kw_str_c("i");
    rm.error_code = 0;
    RESP_BOTH_WAYS(api, 4, s, lg_resp_v4, e);
    assert_str(e.members.v[0].group_instance_id, "i");
    ck_assert_int_eq(e.members.v[0].error_code, 0);
}
END_TEST

START_TEST(sync_group_v0_and_v5_with_protocol)
{
    const kw_api *api = &kw__api_sync_group;
    static const uint8_t assign[] = {0, 1, 2};
    kw_sync_group_req_assignment a = {.member_id = kw_str_c("m"), .assignment = {assign, 3}};
    kw_sync_group_req r, d;
    kw__schema_init(api->req, 0, &r);
    ck_assert_int_eq(r.protocol_type.len, -1);
    ck_assert_int_eq(r.protocol_name.len, -1);
    r.group_id = kw_str_c("g");
    r.generation_id = 1;
    r.member_id = kw_str_c("m");
    r.assignments.v = &a;
    r.assignments.n = 1;
    REQ_BOTH_WAYS(api, 0, r, sg_req_v0, d);
    assert_str(d.group_id, "g");
    ck_assert_int_eq(d.generation_id, 1);
    assert_str(d.member_id, "m");
    ck_assert_int_eq(d.assignments.n, 1);
    assert_str(d.assignments.v[0].member_id, "m");
    assert_bytes(d.assignments.v[0].assignment, assign, 3);

    r.protocol_type = kw_str_c("consumer");
    r.protocol_name = kw_str_c("range");
    r.assignments.n = 0; /* a follower sends none */
    r.assignments.v = NULL;
    REQ_BOTH_WAYS(api, 5, r, sg_req_v5, d);
    assert_str(d.group_instance_id, NULL);
    assert_str(d.protocol_type, "consumer");
    assert_str(d.protocol_name, "range");
    ck_assert_int_eq(d.assignments.n, 0);

    static const uint8_t mine[] = {9, 8};
    kw_sync_group_resp s, e;
    kw__schema_init(api->resp, 0, &s);
    s.assignment = (kw_bytes){mine, 2};
    RESP_BOTH_WAYS(api, 0, s, sg_resp_v0, e);
    ck_assert_int_eq(e.error_code, 0);
    assert_str(e.protocol_type, NULL);
    assert_bytes(e.assignment, mine, 2);
    s.protocol_type = kw_str_c("consumer");
    s.protocol_name = kw_str_c("range");
    RESP_BOTH_WAYS(api, 5, s, sg_resp_v5, e);
    assert_str(e.protocol_type, "consumer");
    assert_str(e.protocol_name, "range");
    assert_bytes(e.assignment, mine, 2);
}
END_TEST

/* ---- transactions ---- */

START_TEST(init_producer_id_idempotent_and_transactional)
{
    const kw_api *api = &kw__api_init_producer_id;
    kw_init_producer_id_req r, d;
    kw__schema_init(api->req, 0, &r);
    ck_assert_int_eq(r.producer_id, -1);
    ck_assert_int_eq(r.producer_epoch, -1);
    r.transactional_id = KW_STR_NULL;
    r.transaction_timeout_ms = 60000;
    REQ_BOTH_WAYS(api, 0, r, ip_req_v0, d);
    assert_str(d.transactional_id, NULL);
    ck_assert_int_eq(d.transaction_timeout_ms, 60000);
    ck_assert_int_eq(d.producer_id, -1);
    ck_assert_int_eq(d.producer_epoch, -1);
    REQ_BOTH_WAYS(api, 2, r, ip_req_v2, d);
    assert_str(d.transactional_id, NULL);
    ck_assert_int_eq(d.transaction_timeout_ms, 60000);

    r.transactional_id = kw_str_c("tx");
    r.producer_id = 1000; /* v3+ */
    r.producer_epoch = 5;
    REQ_BOTH_WAYS(api, 1, r, ip_req_v1, d);
    assert_str(d.transactional_id, "tx");
    ck_assert_int_eq(d.producer_id, -1);
    REQ_BOTH_WAYS(api, 4, r, ip_req_v4, d);
    assert_str(d.transactional_id, "tx");
    ck_assert_int_eq(d.transaction_timeout_ms, 60000);
    ck_assert_int_eq(d.producer_id, 1000);
    ck_assert_int_eq(d.producer_epoch, 5);

    kw_init_producer_id_resp s, e;
    kw__schema_init(api->resp, 0, &s);
    ck_assert_int_eq(s.producer_id, -1);
    s.producer_id = 1000;
    RESP_BOTH_WAYS(api, 0, s, ip_resp_v0, e);
    ck_assert_int_eq(e.producer_id, 1000);
    ck_assert_int_eq(e.producer_epoch, 0);
    s.producer_epoch = 1;
    RESP_BOTH_WAYS(api, 3, s, ip_resp_v3, e);
    ck_assert_int_eq(e.throttle_time_ms, 0);
    ck_assert_int_eq(e.error_code, 0);
    ck_assert_int_eq(e.producer_id, 1000);
    ck_assert_int_eq(e.producer_epoch, 1);
}
END_TEST

START_TEST(add_partitions_to_txn_v3_form_and_batched_v4)
{
    const kw_api *api = &kw__api_add_partitions_to_txn;
    int32_t parts[] = {0, 1};
    kw_add_partitions_to_txn_req_topic t = {.name = kw_str_c("t"), .partitions = {parts, 2}};
    kw_add_partitions_to_txn_req r, d;
    kw__schema_init(api->req, 0, &r);
    r.v3_and_below_transactional_id = kw_str_c("tx");
    r.v3_and_below_producer_id = 1000;
    r.v3_and_below_producer_epoch = 1;
    r.v3_and_below_topics.v = &t;
    r.v3_and_below_topics.n = 1;
    REQ_BOTH_WAYS(api, 0, r, ap_req_v0, d);
    assert_str(d.v3_and_below_transactional_id, "tx");
    ck_assert_int_eq(d.v3_and_below_producer_id, 1000);
    ck_assert_int_eq(d.v3_and_below_producer_epoch, 1);
    ck_assert_int_eq(d.v3_and_below_topics.n, 1);
    assert_str(d.v3_and_below_topics.v[0].name, "t");
    ck_assert_int_eq(d.v3_and_below_topics.v[0].partitions.n, 2);
    ck_assert_int_eq(d.v3_and_below_topics.v[0].partitions.v[1], 1);
    ck_assert_int_eq(d.transactions.n, 0);

    t.partitions.n = 1;
    REQ_BOTH_WAYS(api, 3, r, ap_req_v3, d);
    assert_str(d.v3_and_below_transactional_id, "tx");
    ck_assert_int_eq(d.v3_and_below_topics.v[0].partitions.n, 1);
    ck_assert_int_eq(d.v3_and_below_topics.v[0].partitions.v[0], 0);

    kw_add_partitions_to_txn_req_transaction tx = {.transactional_id = kw_str_c("tx"),
                                                   .producer_id = 1000,
                                                   .producer_epoch = 1,
                                                   .verify_only = true,
                                                   .topics = {&t, 1}};
    kw__schema_init(api->req, 4, &r);
    r.transactions.v = &tx;
    r.transactions.n = 1;
    REQ_BOTH_WAYS(api, 4, r, ap_req_v4, d);
    ck_assert_int_eq(d.transactions.n, 1);
    assert_str(d.transactions.v[0].transactional_id, "tx");
    ck_assert_int_eq(d.transactions.v[0].producer_id, 1000);
    ck_assert_int_eq(d.transactions.v[0].producer_epoch, 1);
    ck_assert(d.transactions.v[0].verify_only);
    assert_str(d.transactions.v[0].topics.v[0].name, "t");
    ck_assert_int_eq(d.transactions.v[0].topics.v[0].partitions.v[0], 0);
    assert_str(d.v3_and_below_transactional_id, "");
    ck_assert_int_eq(d.v3_and_below_topics.n, 0);

    kw_add_partitions_to_txn_resp_partition_result pr = {.partition_index = 0,
                                                         .partition_error_code = 0};
    kw_add_partitions_to_txn_resp_topic_result tr = {.name = kw_str_c("t"),
                                                     .results_by_partition = {&pr, 1}};
    kw_add_partitions_to_txn_resp s, e;
    kw__schema_init(api->resp, 0, &s);
    s.results_by_topic_v3_and_below.v = &tr;
    s.results_by_topic_v3_and_below.n = 1;
    RESP_BOTH_WAYS(api, 0, s, ap_resp_v0, e);
    ck_assert_int_eq(e.results_by_topic_v3_and_below.n, 1);
    assert_str(e.results_by_topic_v3_and_below.v[0].name, "t");
    ck_assert_int_eq(e.results_by_topic_v3_and_below.v[0].results_by_partition.n, 1);
    ck_assert_int_eq(e.results_by_topic_v3_and_below.v[0].results_by_partition.v[0]
                         .partition_error_code,
                     0);
    RESP_BOTH_WAYS(api, 3, s, ap_resp_v3, e);
    assert_str(e.results_by_topic_v3_and_below.v[0].name, "t");
    ck_assert_int_eq(e.results_by_transaction.n, 0);

    pr.partition_error_code = 48;
    kw_add_partitions_to_txn_resp_result res = {.transactional_id = kw_str_c("tx"),
                                                .topic_results = {&tr, 1}};
    kw__schema_init(api->resp, 4, &s);
    s.results_by_transaction.v = &res;
    s.results_by_transaction.n = 1;
    RESP_BOTH_WAYS(api, 4, s, ap_resp_v4, e);
    ck_assert_int_eq(e.error_code, 0);
    ck_assert_int_eq(e.results_by_transaction.n, 1);
    assert_str(e.results_by_transaction.v[0].transactional_id, "tx");
    ck_assert_int_eq(e.results_by_transaction.v[0].topic_results.n, 1);
    assert_str(e.results_by_transaction.v[0].topic_results.v[0].name, "t");
    ck_assert_int_eq(e.results_by_transaction.v[0].topic_results.v[0].results_by_partition.v[0]
                         .partition_error_code,
                     48);
    ck_assert_int_eq(e.results_by_topic_v3_and_below.n, 0);
}
END_TEST

START_TEST(end_txn_commit_abort_and_v5_epoch)
{
    const kw_api *api = &kw__api_end_txn;
    kw_end_txn_req r = {.transactional_id = kw_str_c("tx"),
                        .producer_id = 1000,
                        .producer_epoch = 1,
                        .committed = true},
                   d;
    REQ_BOTH_WAYS(api, 0, r, et_req_v0, d);
    assert_str(d.transactional_id, "tx");
    ck_assert_int_eq(d.producer_id, 1000);
    ck_assert_int_eq(d.producer_epoch, 1);
    ck_assert(d.committed);
    r.committed = false;
    REQ_BOTH_WAYS(api, 3, r, et_req_v3, d);
    assert_str(d.transactional_id, "tx");
    ck_assert_int_eq(d.producer_id, 1000);
    ck_assert(!d.committed);

    kw_end_txn_resp s, e;
    kw__schema_init(api->resp, 0, &s);
    ck_assert_int_eq(s.producer_id, -1);
    ck_assert_int_eq(s.producer_epoch, -1);
    RESP_BOTH_WAYS(api, 0, s, et_resp_v0, e);
    ck_assert_int_eq(e.error_code, 0);
    ck_assert_int_eq(e.producer_id, -1);
    s.error_code = 51;
    RESP_BOTH_WAYS(api, 4, s, et_resp_v4, e);
    ck_assert_int_eq(e.error_code, 51);
    ck_assert_int_eq(e.producer_id, -1); /* v5+ */
    ck_assert_int_eq(e.producer_epoch, -1);
    s.error_code = 0;
    s.producer_id = 1000;
    s.producer_epoch = 2;
    RESP_BOTH_WAYS(api, 5, s, et_resp_v5, e);
    ck_assert_int_eq(e.producer_id, 1000);
    ck_assert_int_eq(e.producer_epoch, 2);
}
END_TEST

/* ---- broken input ---- */

START_TEST(every_truncated_vector_is_an_error)
{
    for (size_t i = 0; i < NVECS; i++) {
        const struct vec *v = &vecs[i];
        ck_assert_int_eq(decode_vec(v, v->b, v->n), 0);
        for (size_t n = 0; n < v->n; n++) {
            int rc = decode_vec(v, v->b, n);
            ck_assert_msg(rc == KW_ETRUNCATED, "%s cut to %zu bytes gave %d", v->name, n, rc);
        }
        kw__arena_reset(&arena);
    }
}
END_TEST

START_TEST(a_byte_after_the_body_is_malformed)
{
    uint8_t buf[256];
    for (size_t i = 0; i < NVECS; i++) {
        const struct vec *v = &vecs[i];
        ck_assert_uint_lt(v->n, sizeof(buf));
        memcpy(buf, v->b, v->n);
        buf[v->n] = 0;
        ck_assert_msg(decode_vec(v, buf, v->n + 1) == KW_EMALFORMED, "%s", v->name);
    }
}
END_TEST

/* Every byte of every vector set to values that break lengths and counts: an error code or a
 * clean decode, never a crash or a read past the frame (the sanitizer build checks that). */
START_TEST(corrupted_bytes_never_crash)
{
    static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
    uint8_t *buf = malloc(256);
    ck_assert_ptr_nonnull(buf);
    size_t errors = 0, runs = 0;
    for (size_t i = 0; i < NVECS; i++) {
        const struct vec *v = &vecs[i];
        for (size_t at = 0; at < v->n; at++) {
            for (size_t k = 0; k < sizeof(vals); k++) {
                memcpy(buf, v->b, v->n);
                buf[at] = vals[k];
                /* exactly sized heap copy so ASan sees any overread */
                uint8_t *exact = malloc(v->n);
                ck_assert_ptr_nonnull(exact);
                memcpy(exact, buf, v->n);
                int rc = decode_vec(v, exact, v->n);
                free(exact);
                ck_assert_int_le(rc, 0);
                ck_assert_int_ge(rc, KW_ECORRUPT);
                errors += rc < 0;
                runs++;
            }
        }
        kw__arena_reset(&arena);
    }
    free(buf);
    /* Most corruptions are caught: a wrong length or count always leaves bytes over or short. */
    ck_assert_uint_gt(errors, runs / 4);
}
END_TEST

START_TEST(huge_counts_fail_before_allocating)
{
    const kw_api *api = &kw__api_offset_commit;
    kw_offset_commit_resp d;
    static const uint8_t classic[] = {RHDR0, 0x7f, 0xff, 0xff, 0xff, 0x00, 0x01, 't'};
    ck_assert_int_eq(kw__response_decode(classic, sizeof(classic), api, 2, &arena, &d),
                     KW_ETRUNCATED);
    /* Compact count: uvarint 0x7fffffff is 2^31-2 elements, far more than the bytes left. */
    static const uint8_t compact[] = {RHDR1, I32(0), 0xff, 0xff, 0xff, 0xff, 0x07, 0x00};
    ck_assert_int_eq(kw__response_decode(compact, sizeof(compact), api, 8, &arena, &d),
                     KW_ETRUNCATED);
    ck_assert_uint_eq(arena.used, 0);
    /* A compact length over INT32_MAX is malformed. */
    static const uint8_t over[] = {RHDR1, I32(0), 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
    ck_assert_int_eq(kw__response_decode(over, sizeof(over), api, 8, &arena, &d),
                     KW_EMALFORMED);
    /* A classic string length below -1 is malformed. */
    static const uint8_t neg[] = {RHDR0, I32(1), 0xff, 0xfe, I32(0)};
    ck_assert_int_eq(kw__response_decode(neg, sizeof(neg), api, 2, &arena, &d), KW_EMALFORMED);
}
END_TEST

START_TEST(nulls_where_the_spec_has_none_are_malformed)
{
    kw_find_coordinator_resp fc;
    static const uint8_t null_host[] = {RHDR0, I16(0), I32(1), 0xff, 0xff, I32(9092)};
    ck_assert_int_eq(kw__response_decode(null_host, sizeof(null_host), &kw__api_find_coordinator,
                                         0, &arena, &fc),
                     KW_EMALFORMED);
    /* OffsetFetch v1 topics may not be null (v2+ may). */
    static const uint8_t null_topics_v1[] = {HDR1(9, 1), 0x00, 0x01, 'g', 0xff, 0xff, 0xff, 0xff};
    kw_offset_fetch_req of;
    kw_request_header h;
    const kw_api *got;
    ck_assert_int_eq(kw__request_decode(null_topics_v1, sizeof(null_topics_v1), &arena, &h, &got,
                                        &of, sizeof(of)),
                     KW_EMALFORMED);
    /* A compact null for a non-nullable compact string (Heartbeat v4 group id). */
    static const uint8_t null_group[] = {HDR2(12, 4), 0x00, I32(4), 0x02, 'm', 0x00, 0x00};
    kw_heartbeat_req hb;
    ck_assert_int_eq(kw__request_decode(null_group, sizeof(null_group), &arena, &h, &got, &hb,
                                        sizeof(hb)),
                     KW_EMALFORMED);
    /* The OffsetFetch v8 group list itself is not nullable. */
    static const uint8_t null_groups[] = {HDR2(9, 8), 0x00, 0x00, 0x00};
    ck_assert_int_eq(kw__request_decode(null_groups, sizeof(null_groups), &arena, &h, &got, &of,
                                        sizeof(of)),
                     KW_EMALFORMED);
}
END_TEST

START_TEST(encoding_refuses_nulls_and_bad_versions)
{
    kw_wr w;
    kw_heartbeat_req hb;
    kw__schema_init(kw__api_heartbeat.req, 4, &hb);
    hb.group_id = kw_str_c("g");
    hb.member_id = KW_STR_NULL;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__request_encode(&w, &kw__api_heartbeat, 4, 1, KW_STR_NULL, &hb),
                     KW_EINVAL);
    kw__wr_free(&w);

    /* An array that says it has elements but has none. */
    kw_offset_commit_req oc;
    kw__schema_init(kw__api_offset_commit.req, 8, &oc);
    oc.topics.v = NULL;
    oc.topics.n = 2;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__request_encode(&w, &kw__api_offset_commit, 8, 1, KW_STR_NULL, &oc),
                     KW_EINVAL);
    kw__wr_free(&w);

    /* OffsetCommit below v2 and above v9 are outside kwal's range. */
    oc.topics.n = 0;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__request_encode(&w, &kw__api_offset_commit, 1, 1, KW_STR_NULL, &oc),
                     KW_EINVAL);
    kw__wr_free(&w);
    kw__wr_init(&w);
    ck_assert_int_eq(kw__request_encode(&w, &kw__api_offset_commit, 10, 1, KW_STR_NULL, &oc),
                     KW_EINVAL);
    kw__wr_free(&w);
    kw_offset_commit_resp ocr;
    ck_assert_int_eq(
        kw__response_decode(oc_resp_v8, sizeof(oc_resp_v8), &kw__api_offset_commit, 10, &arena,
                            &ocr),
        KW_EINVAL);

    /* A request frame naming OffsetCommit v1 is not one kwal can read. */
    static const uint8_t oc_v1[] = {HDR1(8, 1), 0x00, 0x01, 'g'};
    kw_request_header h;
    const kw_api *got;
    ck_assert_int_eq(kw__request_decode(oc_v1, sizeof(oc_v1), &arena, &h, &got, &oc, sizeof(oc)),
                     KW_EUNSUPPORTED);
    /* A request struct too small for the API named in the header is refused. */
    kw_heartbeat_resp small;
    ck_assert_int_eq(kw__request_decode(oc_req_v9, sizeof(oc_req_v9), &arena, &h, &got, &small,
                                        sizeof(small)),
                     KW_EINVAL);
}
END_TEST

START_TEST(unknown_tagged_fields_are_skipped)
{
    /* Heartbeat v4 response with an unknown tag 5 of two bytes at the top level. */
    static const uint8_t tagged[] = {RHDR1, I32(100), I16(0), 0x01, 0x05, 0x02, 0xaa, 0xbb};
    kw_heartbeat_resp d;
    ck_assert_int_eq(
        kw__response_decode(tagged, sizeof(tagged), &kw__api_heartbeat, 4, &arena, &d), 0);
    ck_assert_int_eq(d.throttle_time_ms, 100);
    ck_assert_int_eq(d.error_code, 0);
    /* ... and inside a nested struct (an OffsetCommit v8 response partition). */
    static const uint8_t nested[] = {
        RHDR1, I32(0), 0x02, 0x02, 't', 0x02, I32(3), I16(0), 0x01, 0x09, 0x01, 0x00, 0x00, 0x00,
    };
    kw_offset_commit_resp oc;
    ck_assert_int_eq(
        kw__response_decode(nested, sizeof(nested), &kw__api_offset_commit, 8, &arena, &oc), 0);
    ck_assert_int_eq(oc.topics.n, 1);
    ck_assert_int_eq(oc.topics.v[0].partitions.v[0].partition_index, 3);
    /* A tag whose size runs past the frame is truncated input. */
    static const uint8_t past[] = {RHDR1, I32(100), I16(0), 0x01, 0x05, 0x09, 0xaa};
    ck_assert_int_eq(kw__response_decode(past, sizeof(past), &kw__api_heartbeat, 4, &arena, &d),
                     KW_ETRUNCATED);
    /* An overlong tag-count varint is malformed. */
    static const uint8_t overlong[] = {RHDR1, I32(100), I16(0), 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    ck_assert_int_eq(
        kw__response_decode(overlong, sizeof(overlong), &kw__api_heartbeat, 4, &arena, &d),
        KW_EMALFORMED);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("msg_group");
    TCase *tc = tcase_create("by hand");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, apis_have_the_kafka_keys_and_version_ranges);
    tcase_add_test(tc, default_messages_have_the_spec_size_at_every_version);
    tcase_add_test(tc, offset_commit_v2_request_carries_retention_and_null_metadata);
    tcase_add_test(tc, offset_commit_v9_request_is_compact_without_retention);
    tcase_add_test(tc, offset_commit_responses_classic_and_flexible);
    tcase_add_test(tc, offset_fetch_single_group_requests);
    tcase_add_test(tc, offset_fetch_batched_requests_v8_v9);
    tcase_add_test(tc, offset_fetch_responses_single_and_batched);
    tcase_add_test(tc, find_coordinator_requests_single_key_and_batched);
    tcase_add_test(tc, find_coordinator_responses_single_and_batched);
    tcase_add_test(tc, join_group_requests_v0_v5_v8);
    tcase_add_test(tc, join_group_responses_v0_v7_v9);
    tcase_add_test(tc, join_group_protocol_name_is_nullable_only_from_v7);
    tcase_add_test(tc, heartbeat_classic_and_flexible);
    tcase_add_test(tc, leave_group_single_member_then_member_list);
    tcase_add_test(tc, sync_group_v0_and_v5_with_protocol);
    tcase_add_test(tc, init_producer_id_idempotent_and_transactional);
    tcase_add_test(tc, add_partitions_to_txn_v3_form_and_batched_v4);
    tcase_add_test(tc, end_txn_commit_abort_and_v5_epoch);
    suite_add_tcase(s, tc);
    TCase *bad = tcase_create("broken input");
    tcase_add_checked_fixture(bad, setup, teardown);
    tcase_set_timeout(bad, 60);
    tcase_add_test(bad, every_truncated_vector_is_an_error);
    tcase_add_test(bad, a_byte_after_the_body_is_malformed);
    tcase_add_test(bad, corrupted_bytes_never_crash);
    tcase_add_test(bad, huge_counts_fail_before_allocating);
    tcase_add_test(bad, nulls_where_the_spec_has_none_are_malformed);
    tcase_add_test(bad, encoding_refuses_nulls_and_bad_versions);
    tcase_add_test(bad, unknown_tagged_fields_are_skipped);
    suite_add_tcase(s, bad);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
