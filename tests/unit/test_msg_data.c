/* Produce, Fetch, ListOffsets, Metadata and DeleteRecords against frames worked out by hand. */
#include <check.h>
#include <stdlib.h>

#include "proto/msg_data.h"

/*
 * Every vector below is a whole frame: the int32 size, the header, the body.
 * Requests carry correlation id 7 and client id "kw" (00 02 6B 77); flexible
 * requests add the header's empty tagged-field section (00).  Responses carry
 * correlation id 7, plus 00 for the header's tags when flexible.
 */
#define CORR 7
#define REQ_HDR(key, ver) 0x00, (key), 0x00, (ver), 0x00, 0x00, 0x00, 0x07, 0x00, 0x02, 0x6B, 0x77
#define RESP_HDR 0x00, 0x00, 0x00, 0x07
#define I64_M1 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF
#define I64(b) 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, (b)

#define ARRAY(p, count) {(p), (count)}

static const uint8_t rec3[] = {0xAA, 0xBB, 0xCC};

/* ---- helpers ---- */

static void expect_frame(const kw_wr *w, int rc, const uint8_t *want, size_t n)
{
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(w->err, 0);
    ck_assert_uint_eq(w->len, n);
    ck_assert_mem_eq(w->buf, want, n);
}

static void expect_request_bytes(const kw_api *api, int ver, const void *req, const uint8_t *want,
                                 size_t n)
{
    kw_wr w;
    kw__wr_init(&w);
    int rc = kw__request_encode(&w, api, ver, CORR, kw_str_c("kw"), req);
    expect_frame(&w, rc, want, n);
    kw__wr_free(&w);
}

static void expect_response_bytes(const kw_api *api, int ver, const void *resp,
                                  const uint8_t *want, size_t n)
{
    kw_wr w;
    kw__wr_init(&w);
    int rc = kw__response_encode(&w, api, ver, CORR, resp);
    expect_frame(&w, rc, want, n);
    kw__wr_free(&w);
}

/* Decodes a whole request frame and checks the header it names. */
static void decode_request(const uint8_t *frame, size_t n, kw_arena *a, const kw_api *api,
                           int ver, void *out, size_t size)
{
    kw_request_header hdr;
    const kw_api *got = NULL;
    ck_assert_int_eq(kw__request_decode(frame + 4, n - 4, a, &hdr, &got, out, size), 0);
    ck_assert_ptr_eq(got, api);
    ck_assert_int_eq(hdr.api_key, api->key);
    ck_assert_int_eq(hdr.api_version, ver);
    ck_assert_int_eq(hdr.correlation_id, CORR);
    ck_assert(kw_str_eq(hdr.client_id, "kw"));
}

static void decode_response(const uint8_t *frame, size_t n, kw_arena *a, const kw_api *api,
                            int ver, void *out)
{
    int32_t corr = 0;
    ck_assert_int_eq(kw__response_correlation_id(frame + 4, n - 4, &corr), 0);
    ck_assert_int_eq(corr, CORR);
    ck_assert_int_eq(kw__response_decode(frame + 4, n - 4, api, ver, a, out), 0);
}

/* Every cut-off frame is an error, and a byte too many is KW_EMALFORMED. */
static void expect_request_cuts_fail(const uint8_t *frame, size_t n, size_t size)
{
    void *out = malloc(size);
    uint8_t *longer = malloc(n + 1);
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(longer);
    kw_arena a;
    kw__arena_init(&a, 1 << 20);
    for (size_t len = 0; len < n - 4; len++) {
        /* a copy of exactly len bytes so ASan would see any read past the end */
        uint8_t *cut = malloc(len ? len : 1);
        memcpy(cut, frame + 4, len);
        kw_request_header hdr;
        const kw_api *api;
        int rc = kw__request_decode(cut, len, &a, &hdr, &api, out, size);
        ck_assert_msg(rc < 0, "a request cut to %zu of %zu bytes decoded", len, n - 4);
        free(cut);
    }
    memcpy(longer, frame + 4, n - 4);
    longer[n - 4] = 0;
    kw_request_header hdr;
    const kw_api *api;
    ck_assert_int_eq(kw__request_decode(longer, n - 3, &a, &hdr, &api, out, size), KW_EMALFORMED);
    kw__arena_reset(&a);
    free(longer);
    free(out);
}

static void expect_response_cuts_fail(const uint8_t *frame, size_t n, const kw_api *api, int ver,
                                      size_t size)
{
    void *out = malloc(size);
    uint8_t *longer = malloc(n + 1);
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(longer);
    kw_arena a;
    kw__arena_init(&a, 1 << 20);
    for (size_t len = 0; len < n - 4; len++) {
        uint8_t *cut = malloc(len ? len : 1);
        memcpy(cut, frame + 4, len);
        int rc = kw__response_decode(cut, len, api, ver, &a, out);
        ck_assert_msg(rc < 0, "a response cut to %zu of %zu bytes decoded", len, n - 4);
        free(cut);
    }
    memcpy(longer, frame + 4, n - 4);
    longer[n - 4] = 0;
    ck_assert_int_eq(kw__response_decode(longer, n - 3, api, ver, &a, out), KW_EMALFORMED);
    kw__arena_reset(&a);
    free(longer);
    free(out);
}

/* ---- the API table entries ---- */

START_TEST(api_entries_name_the_versions_kwal_speaks)
{
    ck_assert_ptr_eq(kw__api(0), &kw__api_produce);
    ck_assert_int_eq(kw__api_produce.vmin, 3);
    ck_assert_int_eq(kw__api_produce.vmax, 12);
    ck_assert_int_eq(kw__api_produce.flex, 9);
    ck_assert_ptr_eq(kw__api(1), &kw__api_fetch);
    ck_assert_int_eq(kw__api_fetch.vmin, 4);
    ck_assert_int_eq(kw__api_fetch.vmax, 17);
    ck_assert_int_eq(kw__api_fetch.flex, 12);
    ck_assert_ptr_eq(kw__api(2), &kw__api_list_offsets);
    ck_assert_int_eq(kw__api_list_offsets.vmin, 1);
    ck_assert_int_eq(kw__api_list_offsets.vmax, 10);
    ck_assert_int_eq(kw__api_list_offsets.flex, 6);
    ck_assert_ptr_eq(kw__api(3), &kw__api_metadata);
    ck_assert_int_eq(kw__api_metadata.vmin, 0);
    ck_assert_int_eq(kw__api_metadata.vmax, 13);
    ck_assert_int_eq(kw__api_metadata.flex, 9);
    ck_assert_ptr_eq(kw__api(21), &kw__api_delete_records);
    ck_assert_int_eq(kw__api_delete_records.vmin, 0);
    ck_assert_int_eq(kw__api_delete_records.vmax, 2);
    ck_assert_int_eq(kw__api_delete_records.flex, 2);
    ck_assert_str_eq(kw__api_list_offsets.name, "ListOffsets");
    ck_assert_str_eq(kw__api_delete_records.name, "DeleteRecords");
}
END_TEST

START_TEST(defaults_come_from_the_specs)
{
    kw_fetch_req f;
    kw__schema_init(kw__api_fetch.req, 12, &f);
    ck_assert(f.cluster_id.len == -1);
    ck_assert_int_eq(f.replica_id, -1);
    ck_assert_int_eq(f.max_bytes, 0x7fffffff);
    ck_assert_int_eq(f.session_id, 0);
    ck_assert_int_eq(f.session_epoch, -1);
    ck_assert_int_eq(f.topics.n, 0);
    ck_assert(f.rack_id.len == 0);

    kw_produce_req p;
    kw__schema_init(kw__api_produce.req, 9, &p);
    ck_assert(p.transactional_id.len == -1);

    kw_metadata_req m;
    kw__schema_init(kw__api_metadata.req, 12, &m);
    ck_assert(m.allow_auto_topic_creation);
    ck_assert_int_eq(m.topics.n, 0);

    kw_metadata_resp mr;
    kw__schema_init(kw__api_metadata.resp, 13, &mr);
    ck_assert_int_eq(mr.controller_id, -1);
    ck_assert_int_eq(mr.cluster_authorized_operations, INT32_MIN);
    ck_assert(mr.cluster_id.len == -1);

    kw_produce_resp pr;
    kw__schema_init(kw__api_produce.resp, 10, &pr);
    ck_assert_int_eq(pr.node_endpoints.n, 0);

    kw_list_offsets_req lo;
    kw__schema_init(kw__api_list_offsets.req, 10, &lo);
    ck_assert_int_eq(lo.replica_id, 0); /* no spec default: callers set -1 */
    ck_assert_int_eq(lo.timeout_ms, 0);
}
END_TEST

/* ---- Produce (0) ---- */

/* v3: classic strings and arrays, a null transactional id, raw record bytes. */
static const uint8_t produce_req_v3[] = {
    0x00, 0x00, 0x00, 0x2A, REQ_HDR(0x00, 0x03),
    0xFF, 0xFF,             /* transactional_id null */
    0xFF, 0xFF,             /* acks -1 */
    0x00, 0x00, 0x05, 0xDC, /* timeout_ms 1500 */
    0x00, 0x00, 0x00, 0x01, /* 1 topic */
    0x00, 0x01, 't',        /* name */
    0x00, 0x00, 0x00, 0x01, /* 1 partition */
    0x00, 0x00, 0x00, 0x00, /* index 0 */
    0x00, 0x00, 0x00, 0x03, 0xAA, 0xBB, 0xCC, /* records */
};

START_TEST(produce_request_v3_matches_hand_bytes)
{
    kw_produce_req_partition part = {.index = 0, .records = {rec3, 3}};
    kw_produce_req_topic topic = {.name = kw_str_c("t"), .partition_data = ARRAY(&part, 1)};
    kw_produce_req req;
    kw__schema_init(kw__api_produce.req, 3, &req);
    req.acks = -1;
    req.timeout_ms = 1500;
    req.topic_data.v = &topic;
    req.topic_data.n = 1;
    expect_request_bytes(&kw__api_produce, 3, &req, produce_req_v3, sizeof(produce_req_v3));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_produce_req got;
    decode_request(produce_req_v3, sizeof(produce_req_v3), &a, &kw__api_produce, 3, &got,
                   sizeof(got));
    ck_assert(got.transactional_id.len == -1);
    ck_assert_int_eq(got.acks, -1);
    ck_assert_int_eq(got.timeout_ms, 1500);
    ck_assert_int_eq(got.topic_data.n, 1);
    ck_assert(kw_str_eq(got.topic_data.v[0].name, "t"));
    ck_assert_int_eq(got.topic_data.v[0].partition_data.n, 1);
    ck_assert_int_eq(got.topic_data.v[0].partition_data.v[0].index, 0);
    ck_assert_int_eq(got.topic_data.v[0].partition_data.v[0].records.len, 3);
    ck_assert_mem_eq(got.topic_data.v[0].partition_data.v[0].records.ptr, rec3, 3);
    /* zero-copy: the records point into the frame */
    ck_assert_ptr_eq(got.topic_data.v[0].partition_data.v[0].records.ptr,
                     produce_req_v3 + sizeof(produce_req_v3) - 3);
    kw__arena_reset(&a);

    expect_request_cuts_fail(produce_req_v3, sizeof(produce_req_v3), sizeof(kw_produce_req));
}
END_TEST

/* v9: the first flexible version - compact strings, arrays and records, tag sections. */
static const uint8_t produce_req_v9[] = {
    0x00, 0x00, 0x00, 0x25, REQ_HDR(0x00, 0x09), 0x00,
    0x03, 't', 'x',         /* transactional_id "tx" */
    0x00, 0x01,             /* acks 1 */
    0x00, 0x00, 0x75, 0x30, /* timeout_ms 30000 */
    0x02,                   /* 1 topic */
    0x02, 't',
    0x02,                   /* 1 partition */
    0x00, 0x00, 0x00, 0x02, /* index 2 */
    0x04, 0xAA, 0xBB, 0xCC, /* records */
    0x00,                   /* partition tags */
    0x00,                   /* topic tags */
    0x00,                   /* body tags */
};

START_TEST(produce_request_v9_is_compact)
{
    kw_produce_req_partition part = {.index = 2, .records = {rec3, 3}};
    kw_produce_req_topic topic = {.name = kw_str_c("t"), .partition_data = ARRAY(&part, 1)};
    kw_produce_req req = {.transactional_id = kw_str_c("tx"), .acks = 1, .timeout_ms = 30000,
                          .topic_data = ARRAY(&topic, 1)};
    expect_request_bytes(&kw__api_produce, 9, &req, produce_req_v9, sizeof(produce_req_v9));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_produce_req got;
    decode_request(produce_req_v9, sizeof(produce_req_v9), &a, &kw__api_produce, 9, &got,
                   sizeof(got));
    ck_assert(kw_str_eq(got.transactional_id, "tx"));
    ck_assert_int_eq(got.acks, 1);
    ck_assert_int_eq(got.timeout_ms, 30000);
    ck_assert_int_eq(got.topic_data.n, 1);
    ck_assert(kw_str_eq(got.topic_data.v[0].name, "t"));
    ck_assert_int_eq(got.topic_data.v[0].partition_data.n, 1);
    ck_assert_int_eq(got.topic_data.v[0].partition_data.v[0].index, 2);
    ck_assert_int_eq(got.topic_data.v[0].partition_data.v[0].records.len, 3);
    ck_assert_mem_eq(got.topic_data.v[0].partition_data.v[0].records.ptr, rec3, 3);
    kw__arena_reset(&a);

    expect_request_cuts_fail(produce_req_v9, sizeof(produce_req_v9), sizeof(kw_produce_req));
}
END_TEST

START_TEST(produce_request_v12_differs_from_v9_only_in_the_header)
{
    kw_produce_req_partition part = {.index = 2, .records = {rec3, 3}};
    kw_produce_req_topic topic = {.name = kw_str_c("t"), .partition_data = ARRAY(&part, 1)};
    kw_produce_req req = {.transactional_id = kw_str_c("tx"), .acks = 1, .timeout_ms = 30000,
                          .topic_data = ARRAY(&topic, 1)};
    uint8_t want[sizeof(produce_req_v9)];
    memcpy(want, produce_req_v9, sizeof(want));
    want[7] = 12; /* api_version */
    expect_request_bytes(&kw__api_produce, 12, &req, want, sizeof(want));
}
END_TEST

/* The pieces of a writer with referred records, joined: the frame a socket would get. */
static uint8_t *join_pieces(const kw_wr *w, size_t *len)
{
    size_t n = kw__wr_pieces(w, NULL, 0);
    struct iovec *v = calloc(n ? n : 1, sizeof(*v));
    ck_assert_uint_eq(kw__wr_pieces(w, v, n), n);
    uint8_t *out = malloc(kw__wr_size(w) + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_gt(v[i].iov_len, 0); /* empty runs are left out */
        memcpy(out + o, v[i].iov_base, v[i].iov_len);
        o += v[i].iov_len;
    }
    free(v);
    *len = o;
    return out;
}

START_TEST(produce_pieces_join_to_the_flat_frame_at_every_version)
{
    enum { BIG1 = 2000, BIG2 = 5000 };
    uint8_t *big1 = malloc(BIG1), *big2 = malloc(BIG2);
    for (size_t i = 0; i < BIG1; i++)
        big1[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < BIG2; i++)
        big2[i] = (uint8_t)(i * 13 + 5);
    /* two topics: a big batch, a small one and a null; then a big one alone */
    kw_produce_req_partition p1[] = {{.index = 0, .records = {big1, BIG1}},
                                     {.index = 1, .records = {rec3, 3}},
                                     {.index = 2, .records = KW_BYTES_NULL}};
    kw_produce_req_partition p2[] = {{.index = 7, .records = {big2, BIG2}}};
    kw_produce_req_topic topics[] = {{.name = kw_str_c("first"), .partition_data = ARRAY(p1, 3)},
                                     {.name = kw_str_c("second"), .partition_data = ARRAY(p2, 1)}};
    for (int ver = kw__api_produce.vmin; ver <= kw__api_produce.vmax; ver++) {
        kw_produce_req req;
        kw__schema_init(kw__api_produce.req, ver, &req);
        req.acks = -1;
        req.timeout_ms = 30000;
        req.topic_data.v = topics;
        req.topic_data.n = 2;
        kw_wr flat, ref;
        kw__wr_init(&flat);
        kw__wr_init(&ref);
        kw__wr_refer_records(&ref, 1024);
        ck_assert_int_eq(kw__request_encode(&flat, &kw__api_produce, ver, CORR, kw_str_c("kw"), &req), 0);
        ck_assert_int_eq(kw__request_encode(&ref, &kw__api_produce, ver, CORR, kw_str_c("kw"), &req), 0);
        /* the two big batches are referred to, the small one copied */
        ck_assert_uint_eq(ref.nrefs, 2);
        ck_assert_ptr_eq(ref.refs[0].ptr, big1);
        ck_assert_ptr_eq(ref.refs[1].ptr, big2);
        ck_assert_uint_eq(ref.len, flat.len - BIG1 - BIG2);
        ck_assert_uint_eq(kw__wr_size(&ref), flat.len);
        /* header + fields, batch, fields between, batch, and in flexible versions the tags */
        ck_assert_uint_eq(kw__wr_pieces(&ref, NULL, 0), ver >= kw__api_produce.flex ? 5 : 4);
        size_t len;
        uint8_t *joined = join_pieces(&ref, &len);
        ck_assert_uint_eq(len, flat.len);
        ck_assert_mem_eq(joined, flat.buf, flat.len);
        /* the size prefix counts the referred bytes */
        ck_assert_uint_eq(kw_load_be32(joined), flat.len - 4);
        free(joined);
        kw__wr_free(&flat);
        kw__wr_free(&ref);
    }
    free(big1);
    free(big2);
}
END_TEST

START_TEST(produce_pieces_match_the_hand_bytes_and_end_with_the_batch)
{
    /* refer even 3 bytes: v3's frame ends with the batch, so there is no trailing run */
    kw_produce_req_partition part = {.index = 0, .records = {rec3, 3}};
    kw_produce_req_topic topic = {.name = kw_str_c("t"), .partition_data = ARRAY(&part, 1)};
    kw_produce_req req;
    kw__schema_init(kw__api_produce.req, 3, &req);
    req.acks = -1;
    req.timeout_ms = 1500;
    req.topic_data.v = &topic;
    req.topic_data.n = 1;
    kw_wr w;
    kw__wr_init(&w);
    kw__wr_refer_records(&w, 1);
    ck_assert_int_eq(kw__request_encode(&w, &kw__api_produce, 3, CORR, kw_str_c("kw"), &req), 0);
    struct iovec v[1];
    ck_assert_uint_eq(kw__wr_pieces(&w, v, 1), 2); /* the count, though only one fits */
    ck_assert_uint_eq(v[0].iov_len, sizeof(produce_req_v3) - 3);
    size_t len;
    uint8_t *joined = join_pieces(&w, &len);
    ck_assert_uint_eq(len, sizeof(produce_req_v3));
    ck_assert_mem_eq(joined, produce_req_v3, len);
    free(joined);
    kw__wr_free(&w);
}
END_TEST

START_TEST(produce_request_null_records_allowed_null_topic_refused)
{
    /* Records are nullable in every version: v3 with records FF FF FF FF. */
    static const uint8_t frame[] = {
        0x00, 0x00, 0x00, 0x27, REQ_HDR(0x00, 0x03),
        0xFF, 0xFF, 0x00, 0x01, 0x00, 0x00, 0x03, 0xE8,
        0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05,
        0xFF, 0xFF, 0xFF, 0xFF,
    };
    kw_produce_req_partition part = {.index = 5, .records = KW_BYTES_NULL};
    kw_produce_req_topic topic = {.name = kw_str_c("t"), .partition_data = ARRAY(&part, 1)};
    kw_produce_req req = {.transactional_id = KW_STR_NULL, .acks = 1, .timeout_ms = 1000,
                          .topic_data = ARRAY(&topic, 1)};
    expect_request_bytes(&kw__api_produce, 3, &req, frame, sizeof(frame));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_produce_req got;
    decode_request(frame, sizeof(frame), &a, &kw__api_produce, 3, &got, sizeof(got));
    ck_assert_int_eq(got.topic_data.v[0].partition_data.v[0].index, 5);
    ck_assert_int_eq(got.topic_data.v[0].partition_data.v[0].records.len, -1);
    ck_assert_ptr_null(got.topic_data.v[0].partition_data.v[0].records.ptr);
    kw__arena_reset(&a);

    /* A topic name is never nullable. */
    topic.name = KW_STR_NULL;
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__request_encode(&w, &kw__api_produce, 9, CORR, kw_str_c("kw"), &req),
                     KW_EINVAL);
    kw__wr_free(&w);

    /* ...and a decoder refuses one (name length FF FF). */
    uint8_t bad[sizeof(frame)];
    memcpy(bad, frame, sizeof(bad));
    bad[4 + 12 + 12] = 0xFF;
    bad[4 + 12 + 13] = 0xFF;
    kw__arena_init(&a, 0);
    kw_request_header hdr;
    const kw_api *api;
    ck_assert_int_eq(
        kw__request_decode(bad + 4, sizeof(bad) - 4, &a, &hdr, &api, &got, sizeof(got)),
        KW_EMALFORMED);
    kw__arena_reset(&a);
}
END_TEST

/* v10: a NOT_LEADER_OR_FOLLOWER answer with the new leader (tag 0 of the
 * partition) and its endpoint (tag 0 of the body). */
static const uint8_t produce_resp_v10[] = {
    0x00, 0x00, 0x00, 0x4A, RESP_HDR, 0x00,
    0x02,                   /* 1 topic */
    0x02, 't',
    0x02,                   /* 1 partition */
    0x00, 0x00, 0x00, 0x00, /* index 0 */
    0x00, 0x06,             /* error_code 6 */
    I64_M1,                 /* base_offset -1 */
    I64_M1,                 /* log_append_time_ms -1 */
    I64(0x10),              /* log_start_offset 16 */
    0x01,                   /* record_errors: empty */
    0x00,                   /* error_message null */
    0x01, 0x00, 0x09,       /* 1 tag: tag 0 (CurrentLeader), 9 bytes */
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x05, 0x00,
    0x00,                   /* topic tags */
    0x00, 0x00, 0x00, 0x00, /* throttle_time_ms 0 */
    0x01, 0x00, 0x0D,       /* 1 tag: tag 0 (NodeEndpoints), 13 bytes */
    0x02,                   /* 1 endpoint */
    0x00, 0x00, 0x00, 0x02, /* node_id 2 */
    0x02, 'h',              /* host */
    0x00, 0x00, 0x23, 0x84, /* port 9092 */
    0x00,                   /* rack null */
    0x00,                   /* endpoint tags */
};

START_TEST(produce_response_v10_carries_current_leader_and_endpoints)
{
    kw_produce_resp_partition part = {.index = 0, .error_code = 6, .base_offset = -1,
                                      .log_append_time_ms = -1, .log_start_offset = 16,
                                      .error_message = KW_STR_NULL,
                                      .current_leader = {.leader_id = 2, .leader_epoch = 5}};
    kw_produce_resp_topic topic = {.name = kw_str_c("t"), .partition_responses = ARRAY(&part, 1)};
    kw_produce_resp_node_endpoint ep = {.node_id = 2, .host = kw_str_c("h"), .port = 9092,
                                        .rack = KW_STR_NULL};
    kw_produce_resp resp = {.responses = ARRAY(&topic, 1), .throttle_time_ms = 0,
                            .node_endpoints = ARRAY(&ep, 1)};
    expect_response_bytes(&kw__api_produce, 10, &resp, produce_resp_v10, sizeof(produce_resp_v10));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_produce_resp got;
    decode_response(produce_resp_v10, sizeof(produce_resp_v10), &a, &kw__api_produce, 10, &got);
    ck_assert_int_eq(got.responses.n, 1);
    ck_assert(kw_str_eq(got.responses.v[0].name, "t"));
    ck_assert_int_eq(got.responses.v[0].partition_responses.n, 1);
    const kw_produce_resp_partition *p = &got.responses.v[0].partition_responses.v[0];
    ck_assert_int_eq(p->index, 0);
    ck_assert_int_eq(p->error_code, 6);
    ck_assert(p->base_offset == -1);
    ck_assert(p->log_append_time_ms == -1);
    ck_assert(p->log_start_offset == 16);
    ck_assert_int_eq(p->record_errors.n, 0);
    ck_assert(p->error_message.len == -1);
    ck_assert_int_eq(p->current_leader.leader_id, 2);
    ck_assert_int_eq(p->current_leader.leader_epoch, 5);
    ck_assert_int_eq(got.throttle_time_ms, 0);
    ck_assert_int_eq(got.node_endpoints.n, 1);
    ck_assert_int_eq(got.node_endpoints.v[0].node_id, 2);
    ck_assert(kw_str_eq(got.node_endpoints.v[0].host, "h"));
    ck_assert_int_eq(got.node_endpoints.v[0].port, 9092);
    ck_assert(got.node_endpoints.v[0].rack.len == -1);
    kw__arena_reset(&a);

    expect_response_cuts_fail(produce_resp_v10, sizeof(produce_resp_v10), &kw__api_produce, 10,
                              sizeof(kw_produce_resp));
}
END_TEST

START_TEST(produce_response_tags_at_default_are_left_out)
{
    /* v12, a success: no CurrentLeader (both -1) and no endpoints, so both
     * tag sections are empty. */
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x30, RESP_HDR, 0x00,
        0x02, 0x02, 't', 0x02,
        0x00, 0x00, 0x00, 0x01, /* index 1 */
        0x00, 0x00,             /* no error */
        I64(0x2A),              /* base_offset 42 */
        I64_M1,                 /* log_append_time_ms -1 */
        I64(0x00),              /* log_start_offset 0 */
        0x01, 0x00,             /* no record errors, error_message null */
        0x00,                   /* partition tags: none */
        0x00,                   /* topic tags */
        0x00, 0x00, 0x00, 0x00, /* throttle */
        0x00,                   /* body tags: none */
    };
    kw_produce_resp_partition part = {.index = 1, .base_offset = 42, .log_append_time_ms = -1,
                                      .error_message = KW_STR_NULL,
                                      .current_leader = {-1, -1}};
    kw_produce_resp_topic topic = {.name = kw_str_c("t"), .partition_responses = ARRAY(&part, 1)};
    kw_produce_resp resp = {.responses = ARRAY(&topic, 1)};
    expect_response_bytes(&kw__api_produce, 12, &resp, want, sizeof(want));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_produce_resp got;
    decode_response(want, sizeof(want), &a, &kw__api_produce, 12, &got);
    const kw_produce_resp_partition *p = &got.responses.v[0].partition_responses.v[0];
    ck_assert(p->base_offset == 42);
    /* absent tags decode to the spec's defaults */
    ck_assert_int_eq(p->current_leader.leader_id, -1);
    ck_assert_int_eq(p->current_leader.leader_epoch, -1);
    ck_assert_int_eq(got.node_endpoints.n, 0);
    kw__arena_reset(&a);
}
END_TEST

/* v8 (not flexible): an INVALID_RECORD answer naming the bad record. */
static const uint8_t produce_resp_v8[] = {
    0x00, 0x00, 0x00, 0x40, RESP_HDR,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
    0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x01, /* index 1 */
    0x00, 0x57,             /* error_code 87 */
    I64_M1, I64_M1,
    I64(0x00),              /* log_start_offset 0 */
    0x00, 0x00, 0x00, 0x01, /* 1 record error */
    0x00, 0x00, 0x00, 0x03, /* batch_index 3 */
    0x00, 0x03, 'b', 'a', 'd',
    0xFF, 0xFF,             /* error_message null */
    0x00, 0x00, 0x00, 0x64, /* throttle_time_ms 100 */
};

START_TEST(produce_response_v8_lists_record_errors)
{
    kw_produce_resp_record_error re = {.batch_index = 3,
                                       .batch_index_error_message = kw_str_c("bad")};
    kw_produce_resp_partition part = {.index = 1, .error_code = 87, .base_offset = -1,
                                      .log_append_time_ms = -1, .log_start_offset = 0,
                                      .record_errors = ARRAY(&re, 1), .error_message = KW_STR_NULL};
    kw_produce_resp_topic topic = {.name = kw_str_c("t"), .partition_responses = ARRAY(&part, 1)};
    kw_produce_resp resp = {.responses = ARRAY(&topic, 1), .throttle_time_ms = 100};
    expect_response_bytes(&kw__api_produce, 8, &resp, produce_resp_v8, sizeof(produce_resp_v8));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_produce_resp got;
    decode_response(produce_resp_v8, sizeof(produce_resp_v8), &a, &kw__api_produce, 8, &got);
    const kw_produce_resp_partition *p = &got.responses.v[0].partition_responses.v[0];
    ck_assert_int_eq(p->index, 1);
    ck_assert_int_eq(p->error_code, 87);
    ck_assert(p->log_start_offset == 0);
    ck_assert_int_eq(p->record_errors.n, 1);
    ck_assert_int_eq(p->record_errors.v[0].batch_index, 3);
    ck_assert(kw_str_eq(p->record_errors.v[0].batch_index_error_message, "bad"));
    ck_assert(p->error_message.len == -1);
    ck_assert_int_eq(got.throttle_time_ms, 100);
    /* a v10+ field keeps its default in a v8 answer */
    ck_assert_int_eq(p->current_leader.leader_id, -1);
    kw__arena_reset(&a);

    expect_response_cuts_fail(produce_resp_v8, sizeof(produce_resp_v8), &kw__api_produce, 8,
                              sizeof(kw_produce_resp));
}
END_TEST

START_TEST(produce_response_tag_size_must_match_its_value)
{
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_produce_resp got;
    uint8_t bad[sizeof(produce_resp_v10) + 1];

    /* CurrentLeader declared 10 bytes long, holding 9 and a stray byte. */
    size_t at = 4 + 5 + 1 + 2 + 1 + 4 + 2 + 24 + 2; /* the partition tag count */
    ck_assert_uint_eq(produce_resp_v10[at], 0x01);
    ck_assert_uint_eq(produce_resp_v10[at + 2], 0x09);
    memcpy(bad, produce_resp_v10, at + 3);
    bad[at + 2] = 0x0A;
    memcpy(bad + at + 3, produce_resp_v10 + at + 3, 9);
    bad[at + 12] = 0x00; /* the stray byte */
    memcpy(bad + at + 13, produce_resp_v10 + at + 12, sizeof(produce_resp_v10) - at - 12);
    ck_assert_int_eq(kw__response_decode(bad + 4, sizeof(bad) - 4, &kw__api_produce, 10, &a, &got),
                     KW_EMALFORMED);

    /* CurrentLeader declared 8 bytes long: its value runs out. */
    memcpy(bad, produce_resp_v10, sizeof(produce_resp_v10));
    bad[at + 2] = 0x08;
    ck_assert_int_lt(kw__response_decode(bad + 4, sizeof(produce_resp_v10) - 4, &kw__api_produce,
                                         10, &a, &got),
                     0);

    /* A tag size past the end of the frame. */
    memcpy(bad, produce_resp_v10, sizeof(produce_resp_v10));
    bad[at + 2] = 0x7F;
    ck_assert_int_eq(kw__response_decode(bad + 4, sizeof(produce_resp_v10) - 4, &kw__api_produce,
                                         10, &a, &got),
                     KW_ETRUNCATED);
    kw__arena_reset(&a);
}
END_TEST

/* ---- Fetch (1) ---- */

/* v4: the oldest version kwal speaks - no sessions, no epochs, no rack. */
static const uint8_t fetch_req_v4[] = {
    0x00, 0x00, 0x00, 0x38, REQ_HDR(0x01, 0x04),
    0xFF, 0xFF, 0xFF, 0xFF, /* replica_id -1 */
    0x00, 0x00, 0x01, 0xF4, /* max_wait_ms 500 */
    0x00, 0x00, 0x00, 0x01, /* min_bytes 1 */
    0x00, 0x10, 0x00, 0x00, /* max_bytes 1 MiB */
    0x01,                   /* isolation_level read committed */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
    0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, /* partition 0 */
    I64(0x2A),              /* fetch_offset 42 */
    0x00, 0x10, 0x00, 0x00, /* partition_max_bytes 1 MiB */
};

START_TEST(fetch_request_v4_matches_hand_bytes)
{
    kw_fetch_req_partition part = {.partition = 0, .current_leader_epoch = -1,
                                    .fetch_offset = 42, .last_fetched_epoch = -1,
                                    .log_start_offset = -1, .partition_max_bytes = 1 << 20};
    kw_fetch_req_topic topic = {.topic = kw_str_c("t"), .partitions = ARRAY(&part, 1)};
    kw_fetch_req req;
    kw__schema_init(kw__api_fetch.req, 4, &req);
    req.max_wait_ms = 500;
    req.min_bytes = 1;
    req.max_bytes = 1 << 20;
    req.isolation_level = 1;
    req.topics.v = &topic;
    req.topics.n = 1;
    expect_request_bytes(&kw__api_fetch, 4, &req, fetch_req_v4, sizeof(fetch_req_v4));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_fetch_req got;
    decode_request(fetch_req_v4, sizeof(fetch_req_v4), &a, &kw__api_fetch, 4, &got, sizeof(got));
    ck_assert_int_eq(got.replica_id, -1);
    ck_assert_int_eq(got.max_wait_ms, 500);
    ck_assert_int_eq(got.min_bytes, 1);
    ck_assert_int_eq(got.max_bytes, 1 << 20);
    ck_assert_int_eq(got.isolation_level, 1);
    ck_assert_int_eq(got.topics.n, 1);
    ck_assert(kw_str_eq(got.topics.v[0].topic, "t"));
    ck_assert_int_eq(got.topics.v[0].partitions.n, 1);
    ck_assert_int_eq(got.topics.v[0].partitions.v[0].partition, 0);
    ck_assert(got.topics.v[0].partitions.v[0].fetch_offset == 42);
    ck_assert_int_eq(got.topics.v[0].partitions.v[0].partition_max_bytes, 1 << 20);
    /* fields newer than v4 hold their defaults */
    ck_assert_int_eq(got.topics.v[0].partitions.v[0].current_leader_epoch, -1);
    ck_assert(got.topics.v[0].partitions.v[0].log_start_offset == -1);
    ck_assert_int_eq(got.session_epoch, -1);
    ck_assert_int_eq(got.forgotten_topics_data.n, 0);
    kw__arena_reset(&a);

    expect_request_cuts_fail(fetch_req_v4, sizeof(fetch_req_v4), sizeof(kw_fetch_req));
}
END_TEST

/* v12: flexible, with ClusterId as tag 0, a forgotten topic and a rack. */
static const uint8_t fetch_req_v12[] = {
    0x00, 0x00, 0x00, 0x63, REQ_HDR(0x01, 0x0C), 0x00,
    0xFF, 0xFF, 0xFF, 0xFF, /* replica_id -1 */
    0x00, 0x00, 0x01, 0xF4, /* max_wait_ms 500 */
    0x00, 0x00, 0x00, 0x01, /* min_bytes 1 */
    0x7F, 0xFF, 0xFF, 0xFF, /* max_bytes default */
    0x00,                   /* isolation_level */
    0x00, 0x00, 0x00, 0x00, /* session_id 0 */
    0xFF, 0xFF, 0xFF, 0xFF, /* session_epoch -1 */
    0x02, 0x02, 't', 0x02,
    0x00, 0x00, 0x00, 0x03, /* partition 3 */
    0x00, 0x00, 0x00, 0x04, /* current_leader_epoch 4 */
    I64(0x2A),              /* fetch_offset 42 */
    0xFF, 0xFF, 0xFF, 0xFF, /* last_fetched_epoch -1 */
    I64_M1,                 /* log_start_offset -1 */
    0x00, 0x10, 0x00, 0x00, /* partition_max_bytes */
    0x00, 0x00,             /* partition tags, topic tags */
    0x02,                   /* 1 forgotten topic */
    0x02, 'u',
    0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, /* partitions [1, 2] */
    0x00,                   /* forgotten topic tags */
    0x03, 'r', '1',         /* rack_id */
    0x01, 0x00, 0x04, 0x04, 'c', 'i', 'd', /* 1 tag: ClusterId "cid" */
};

START_TEST(fetch_request_v12_sends_cluster_id_as_tag_0)
{
    kw_fetch_req_partition part = {.partition = 3, .current_leader_epoch = 4, .fetch_offset = 42,
                                   .last_fetched_epoch = -1, .log_start_offset = -1,
                                   .partition_max_bytes = 1 << 20};
    kw_fetch_req_topic topic = {.topic = kw_str_c("t"), .partitions = ARRAY(&part, 1)};
    int32_t forget[] = {1, 2};
    kw_fetch_req_forgotten_topic ft = {.topic = kw_str_c("u"), .partitions = ARRAY(forget, 2)};
    kw_fetch_req req;
    kw__schema_init(kw__api_fetch.req, 12, &req);
    req.cluster_id = kw_str_c("cid");
    req.max_wait_ms = 500;
    req.min_bytes = 1;
    req.topics.v = &topic;
    req.topics.n = 1;
    req.forgotten_topics_data.v = &ft;
    req.forgotten_topics_data.n = 1;
    req.rack_id = kw_str_c("r1");
    expect_request_bytes(&kw__api_fetch, 12, &req, fetch_req_v12, sizeof(fetch_req_v12));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_fetch_req got;
    decode_request(fetch_req_v12, sizeof(fetch_req_v12), &a, &kw__api_fetch, 12, &got,
                   sizeof(got));
    ck_assert(kw_str_eq(got.cluster_id, "cid"));
    ck_assert_int_eq(got.replica_id, -1);
    ck_assert_int_eq(got.max_bytes, 0x7fffffff);
    ck_assert_int_eq(got.session_id, 0);
    ck_assert_int_eq(got.session_epoch, -1);
    const kw_fetch_req_partition *p = &got.topics.v[0].partitions.v[0];
    ck_assert_int_eq(p->partition, 3);
    ck_assert_int_eq(p->current_leader_epoch, 4);
    ck_assert(p->fetch_offset == 42);
    ck_assert_int_eq(p->last_fetched_epoch, -1);
    ck_assert(p->log_start_offset == -1);
    ck_assert_int_eq(got.forgotten_topics_data.n, 1);
    ck_assert(kw_str_eq(got.forgotten_topics_data.v[0].topic, "u"));
    ck_assert_int_eq(got.forgotten_topics_data.v[0].partitions.n, 2);
    ck_assert_int_eq(got.forgotten_topics_data.v[0].partitions.v[0], 1);
    ck_assert_int_eq(got.forgotten_topics_data.v[0].partitions.v[1], 2);
    ck_assert(kw_str_eq(got.rack_id, "r1"));
    kw__arena_reset(&a);

    expect_request_cuts_fail(fetch_req_v12, sizeof(fetch_req_v12), sizeof(kw_fetch_req));

    /* Without a cluster id the tag section is empty: 7 bytes become 1. */
    req.cluster_id = KW_STR_NULL;
    uint8_t want[sizeof(fetch_req_v12) - 6];
    memcpy(want, fetch_req_v12, sizeof(want) - 1);
    want[3] = 0x63 - 6;
    want[sizeof(want) - 1] = 0x00;
    expect_request_bytes(&kw__api_fetch, 12, &req, want, sizeof(want));
}
END_TEST

#define ID16(b) (b), (b) + 1, (b) + 2, (b) + 3, (b) + 4, (b) + 5, (b) + 6, (b) + 7, (b) + 8, \
    (b) + 9, (b) + 10, (b) + 11, (b) + 12, (b) + 13, (b) + 14, (b) + 15

/* v17: topics by id (v13), no ReplicaId but a ReplicaState tag (v15), a directory id tag per
 * partition (v17). */
static const uint8_t fetch_req_v17[] = {
    0x00, 0x00, 0x00, 0x90, REQ_HDR(0x01, 0x11), 0x00,
    0x00, 0x00, 0x01, 0xF4, /* max_wait_ms 500 */
    0x00, 0x00, 0x00, 0x01, /* min_bytes 1 */
    0x7F, 0xFF, 0xFF, 0xFF, /* max_bytes default */
    0x00,                   /* isolation_level */
    0x00, 0x00, 0x00, 0x00, /* session_id 0 */
    0xFF, 0xFF, 0xFF, 0xFF, /* session_epoch -1 */
    0x02, ID16(0x01),       /* 1 topic, by id */
    0x02,
    0x00, 0x00, 0x00, 0x03, /* partition 3 */
    0x00, 0x00, 0x00, 0x04, /* current_leader_epoch 4 */
    I64(0x2A),              /* fetch_offset 42 */
    0xFF, 0xFF, 0xFF, 0xFF, /* last_fetched_epoch -1 */
    I64_M1,                 /* log_start_offset -1 */
    0x00, 0x10, 0x00, 0x00, /* partition_max_bytes */
    0x01, 0x00, 0x10, ID16(0xA0), /* 1 tag: ReplicaDirectoryId */
    0x00,                   /* topic tags */
    0x02, ID16(0x11),       /* 1 forgotten topic, by id */
    0x02, 0x00, 0x00, 0x00, 0x01, /* partitions [1] */
    0x00,                   /* forgotten topic tags */
    0x01,                   /* rack_id "" */
    0x01, 0x01, 0x0D, 0x00, 0x00, 0x00, 0x01, I64(0x05), 0x00, /* 1 tag: ReplicaState {1, 5} */
};

START_TEST(fetch_request_v17_names_topics_by_id_with_v15_and_v17_tags)
{
    kw_fetch_req_partition part = {.partition = 3, .current_leader_epoch = 4, .fetch_offset = 42,
                                   .last_fetched_epoch = -1, .log_start_offset = -1,
                                   .partition_max_bytes = 1 << 20,
                                   .replica_directory_id = {{ID16(0xA0)}}};
    /* The name stays in the struct (callers fill both); from v13 it is not on the wire. */
    kw_fetch_req_topic topic = {.topic = kw_str_c("t"), .topic_id = {{ID16(0x01)}},
                                .partitions = ARRAY(&part, 1)};
    int32_t forget[] = {1};
    kw_fetch_req_forgotten_topic ft = {.topic = kw_str_c("u"), .topic_id = {{ID16(0x11)}},
                                       .partitions = ARRAY(forget, 1)};
    kw_fetch_req req;
    kw__schema_init(kw__api_fetch.req, 17, &req);
    ck_assert_int_eq(req.replica_state.replica_id, -1);
    ck_assert(req.replica_state.replica_epoch == -1);
    req.replica_state = (kw_fetch_req_replica_state){.replica_id = 1, .replica_epoch = 5};
    req.max_wait_ms = 500;
    req.min_bytes = 1;
    req.topics.v = &topic;
    req.topics.n = 1;
    req.forgotten_topics_data.v = &ft;
    req.forgotten_topics_data.n = 1;
    req.rack_id = kw_str_c("");
    expect_request_bytes(&kw__api_fetch, 17, &req, fetch_req_v17, sizeof(fetch_req_v17));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_fetch_req got;
    decode_request(fetch_req_v17, sizeof(fetch_req_v17), &a, &kw__api_fetch, 17, &got,
                   sizeof(got));
    const kw_uuid id = {{ID16(0x01)}}, forgot = {{ID16(0x11)}}, dir = {{ID16(0xA0)}};
    ck_assert(kw_uuid_eq(got.topics.v[0].topic_id, id));
    ck_assert_int_lt(got.topics.v[0].topic.len, 1);
    ck_assert(kw_uuid_eq(got.topics.v[0].partitions.v[0].replica_directory_id, dir));
    ck_assert(kw_uuid_eq(got.forgotten_topics_data.v[0].topic_id, forgot));
    ck_assert_int_eq(got.replica_state.replica_id, 1);
    ck_assert(got.replica_state.replica_epoch == 5);
    ck_assert(kw_str_eq(got.rack_id, ""));
    kw__arena_reset(&a);
    expect_request_cuts_fail(fetch_req_v17, sizeof(fetch_req_v17), sizeof(kw_fetch_req));

    /* A consumer's request: replica state and directory id at their defaults are not sent
     * (tag sections of 19 and 16 bytes become one empty byte each). */
    part.replica_directory_id = (kw_uuid){{0}};
    req.replica_state = (kw_fetch_req_replica_state){.replica_id = -1, .replica_epoch = -1};
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__request_encode(&w, &kw__api_fetch, 17, CORR, kw_str_c("kw"), &req), 0);
    ck_assert_uint_eq(w.len, sizeof(fetch_req_v17) - 18 - 15);
    kw__wr_free(&w);

    /* v13 and v14 still carry ReplicaId (4 bytes) and have neither tag. */
    for (int v = 13; v <= 16; v++) {
        kw__wr_init(&w);
        ck_assert_int_eq(kw__request_encode(&w, &kw__api_fetch, v, CORR, kw_str_c("kw"), &req),
                         0);
        ck_assert_uint_eq(w.len, sizeof(fetch_req_v17) - 18 - 15 + (v <= 14 ? 4 : 0));
        kw__wr_free(&w);
    }
}
END_TEST

START_TEST(fetch_request_v18_is_out_of_range)
{
    kw_fetch_req req;
    kw__schema_init(kw__api_fetch.req, 17, &req);
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__request_encode(&w, &kw__api_fetch, 18, CORR, kw_str_c("kw"), &req),
                     KW_EINVAL);
    ck_assert_uint_eq(w.len, 0);
    kw__wr_free(&w);
    kw__wr_init(&w);
    ck_assert_int_eq(kw__request_encode(&w, &kw__api_fetch, 3, CORR, kw_str_c("kw"), &req),
                     KW_EINVAL);
    kw__wr_free(&w);

    /* A decoder refuses a header naming Fetch v18. */
    uint8_t frame[sizeof(fetch_req_v12)];
    memcpy(frame, fetch_req_v12, sizeof(frame));
    frame[7] = 18;
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_request_header hdr;
    const kw_api *api;
    ck_assert_int_eq(kw__request_decode(frame + 4, sizeof(frame) - 4, &a, &hdr, &api, &req,
                                        sizeof(req)),
                     KW_EUNSUPPORTED);
    ck_assert_int_eq(hdr.api_version, 18);
    kw__arena_reset(&a);
}
END_TEST

/* v16: the topic by id, a partition fenced with its new leader, and that leader's endpoint. */
static const uint8_t fetch_resp_v16[] = {
    0x00, 0x00, 0x00, 0x62, RESP_HDR, 0x00,
    0x00, 0x00, 0x00, 0x00, /* throttle_time_ms */
    0x00, 0x00,             /* error_code */
    0x00, 0x00, 0x00, 0x09, /* session_id 9 */
    0x02, ID16(0x01),       /* 1 topic, by id */
    0x02,
    0x00, 0x00, 0x00, 0x00, /* partition 0 */
    0x00, 0x4A,             /* FENCED_LEADER_EPOCH */
    I64(0x64),              /* high_watermark 100 */
    I64(0x64),              /* last_stable_offset 100 */
    I64(0x00),              /* log_start_offset 0 */
    0x00,                   /* aborted_transactions null */
    0xFF, 0xFF, 0xFF, 0xFF, /* preferred_read_replica -1 */
    0x00,                   /* records null */
    0x01, 0x01, 0x09, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x07, 0x00, /* CurrentLeader {2, 7} */
    0x00,                   /* topic tags */
    0x01, 0x00, 0x0D,       /* 1 tag: NodeEndpoints */
    0x02, 0x00, 0x00, 0x00, 0x02, 0x02, 'h', 0x00, 0x00, 0x23, 0x84, 0x00, 0x00, /* {2, h, 9092} */
};

START_TEST(fetch_response_v16_names_the_new_leader_endpoint)
{
    kw_fetch_resp_partition part = {
        .partition_index = 0, .error_code = 74, .high_watermark = 100,
        .last_stable_offset = 100, .log_start_offset = 0,
        .diverging_epoch = {.epoch = -1, .end_offset = -1},
        .current_leader = {.leader_id = 2, .leader_epoch = 7},
        .snapshot_id = {.end_offset = -1, .epoch = -1}, .aborted_transactions = ARRAY(NULL, -1),
        .preferred_read_replica = -1, .records = KW_BYTES_NULL};
    kw_fetch_resp_topic topic = {.topic_id = {{ID16(0x01)}}, .partitions = ARRAY(&part, 1)};
    kw_fetch_resp_node_endpoint ne = {.node_id = 2, .host = kw_str_c("h"), .port = 9092,
                                      .rack = KW_STR_NULL};
    kw_fetch_resp resp = {.session_id = 9, .responses = ARRAY(&topic, 1),
                          .node_endpoints = ARRAY(&ne, 1)};
    expect_response_bytes(&kw__api_fetch, 16, &resp, fetch_resp_v16, sizeof(fetch_resp_v16));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_fetch_resp got;
    decode_response(fetch_resp_v16, sizeof(fetch_resp_v16), &a, &kw__api_fetch, 16, &got);
    const kw_uuid id = {{ID16(0x01)}}, other = {{ID16(0x02)}};
    ck_assert(kw_uuid_eq(got.responses.v[0].topic_id, id));
    const kw_fetch_resp_partition *p = &got.responses.v[0].partitions.v[0];
    ck_assert_int_eq(p->error_code, KW_KERR_FENCED_LEADER_EPOCH);
    ck_assert_int_eq(p->current_leader.leader_id, 2);
    ck_assert_int_eq(p->current_leader.leader_epoch, 7);
    ck_assert_int_eq(p->records.len, -1);
    ck_assert_int_eq(got.node_endpoints.n, 1);
    ck_assert_int_eq(got.node_endpoints.v[0].node_id, 2);
    ck_assert(kw_str_eq(got.node_endpoints.v[0].host, "h"));
    ck_assert_int_eq(got.node_endpoints.v[0].port, 9092);
    ck_assert_int_eq(got.node_endpoints.v[0].rack.len, -1);
    /* Matched by id from v13: the name means nothing there, another id matches nothing. */
    ck_assert_ptr_eq(kw__fetch_resp_find(&got, 16, "whatever", id, 0), p);
    ck_assert_ptr_null(kw__fetch_resp_find(&got, 16, "whatever", other, 0));
    ck_assert_ptr_null(kw__fetch_resp_find(&got, 16, "whatever", id, 1));
    ck_assert_ptr_null(kw__fetch_resp_find(&got, 16, "whatever", (kw_uuid){{0}}, 0));
    kw__arena_reset(&a);
    expect_response_cuts_fail(fetch_resp_v16, sizeof(fetch_resp_v16), &kw__api_fetch, 16,
                              sizeof(kw_fetch_resp));

    /* v15 has no NodeEndpoints: its 16-byte tag section is one empty byte. */
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__response_encode(&w, &kw__api_fetch, 15, CORR, &resp), 0);
    ck_assert_uint_eq(w.len, sizeof(fetch_resp_v16) - 15);
    kw__wr_free(&w);
}
END_TEST

START_TEST(uuids_print_as_kafka_prints_topic_ids)
{
    char out[23];
    kw__uuid_format((kw_uuid){{0}}, out);
    ck_assert_str_eq(out, "AAAAAAAAAAAAAAAAAAAAAA");
    kw_uuid ff;
    memset(ff.b, 0xFF, sizeof(ff.b));
    kw__uuid_format(ff, out);
    ck_assert_str_eq(out, "_____________________w");
    kw__uuid_format((kw_uuid){{ID16(0x01)}}, out);
    ck_assert_str_eq(out, "AQIDBAUGBwgJCgsMDQ4PEA");
}
END_TEST

/* v12: one partition with records and all three tagged structs. */
static const uint8_t fetch_resp_v12[] = {
    0x00, 0x00, 0x00, 0x66, RESP_HDR, 0x00,
    0x00, 0x00, 0x00, 0x00, /* throttle_time_ms */
    0x00, 0x00,             /* error_code */
    0x00, 0x00, 0x00, 0x09, /* session_id 9 */
    0x02, 0x02, 't', 0x02,
    0x00, 0x00, 0x00, 0x00, /* partition 0 */
    0x00, 0x00,             /* error_code */
    I64(0x64),              /* high_watermark 100 */
    I64(0x64),              /* last_stable_offset 100 */
    I64(0x00),              /* log_start_offset 0 */
    0x00,                   /* aborted_transactions null */
    0xFF, 0xFF, 0xFF, 0xFF, /* preferred_read_replica -1 */
    0x04, 0xAA, 0xBB, 0xCC, /* records */
    0x03,                   /* 3 tags */
    0x00, 0x0D, 0x00, 0x00, 0x00, 0x02, I64(0x50), 0x00, /* DivergingEpoch {2, 80} */
    0x01, 0x09, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, /* CurrentLeader {1, 3} */
    0x02, 0x0D, I64(0x46), 0x00, 0x00, 0x00, 0x02, 0x00, /* SnapshotId {70, 2} */
    0x00,                   /* topic tags */
    0x00,                   /* body tags */
};

START_TEST(fetch_response_v12_carries_three_tagged_structs)
{
    kw_fetch_resp_partition part = {
        .partition_index = 0, .high_watermark = 100, .last_stable_offset = 100,
        .log_start_offset = 0, .diverging_epoch = {.epoch = 2, .end_offset = 80},
        .current_leader = {.leader_id = 1, .leader_epoch = 3},
        .snapshot_id = {.end_offset = 70, .epoch = 2}, .aborted_transactions = ARRAY(NULL, -1),
        .preferred_read_replica = -1, .records = {rec3, 3}};
    kw_fetch_resp_topic topic = {.topic = kw_str_c("t"), .partitions = ARRAY(&part, 1)};
    kw_fetch_resp resp = {.session_id = 9, .responses = ARRAY(&topic, 1)};
    expect_response_bytes(&kw__api_fetch, 12, &resp, fetch_resp_v12, sizeof(fetch_resp_v12));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_fetch_resp got;
    decode_response(fetch_resp_v12, sizeof(fetch_resp_v12), &a, &kw__api_fetch, 12, &got);
    ck_assert_int_eq(got.session_id, 9);
    ck_assert_int_eq(got.responses.n, 1);
    ck_assert(kw_str_eq(got.responses.v[0].topic, "t"));
    const kw_fetch_resp_partition *p = &got.responses.v[0].partitions.v[0];
    ck_assert(p->high_watermark == 100);
    ck_assert(p->last_stable_offset == 100);
    ck_assert(p->log_start_offset == 0);
    ck_assert_int_eq(p->diverging_epoch.epoch, 2);
    ck_assert(p->diverging_epoch.end_offset == 80);
    ck_assert_int_eq(p->current_leader.leader_id, 1);
    ck_assert_int_eq(p->current_leader.leader_epoch, 3);
    ck_assert(p->snapshot_id.end_offset == 70);
    ck_assert_int_eq(p->snapshot_id.epoch, 2);
    ck_assert_int_eq(p->aborted_transactions.n, -1);
    ck_assert_int_eq(p->preferred_read_replica, -1);
    ck_assert_int_eq(p->records.len, 3);
    ck_assert_mem_eq(p->records.ptr, rec3, 3);
    kw__arena_reset(&a);

    expect_response_cuts_fail(fetch_resp_v12, sizeof(fetch_resp_v12), &kw__api_fetch, 12,
                              sizeof(kw_fetch_resp));
}
END_TEST

START_TEST(fetch_response_unknown_tags_are_skipped)
{
    /* The v12 frame with a fourth tag, 9 (unknown), 2 bytes, appended to the
     * partition's tags: the answer decodes to the same values. */
    static const size_t tags_at = 4 + 5 + 4 + 2 + 4 + 4 + 4 + 2 + 24 + 1 + 4 + 4;
    uint8_t frame[sizeof(fetch_resp_v12) + 4];
    ck_assert_uint_eq(fetch_resp_v12[tags_at], 0x03);
    size_t tags_end = tags_at + 1 + 15 + 11 + 15;
    memcpy(frame, fetch_resp_v12, tags_end);
    frame[3] = 0x66 + 4;
    frame[tags_at] = 0x04;
    frame[tags_end + 0] = 0x09;
    frame[tags_end + 1] = 0x02;
    frame[tags_end + 2] = 0xEE;
    frame[tags_end + 3] = 0xEE;
    memcpy(frame + tags_end + 4, fetch_resp_v12 + tags_end, sizeof(fetch_resp_v12) - tags_end);

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_fetch_resp got;
    decode_response(frame, sizeof(frame), &a, &kw__api_fetch, 12, &got);
    const kw_fetch_resp_partition *p = &got.responses.v[0].partitions.v[0];
    ck_assert_int_eq(p->current_leader.leader_epoch, 3);
    ck_assert(p->snapshot_id.end_offset == 70);
    ck_assert_int_eq(p->records.len, 3);
    kw__arena_reset(&a);
}
END_TEST

/* v11 (not flexible): an aborted transaction and two record bytes. */
static const uint8_t fetch_resp_v11[] = {
    0x00, 0x00, 0x00, 0x55, RESP_HDR,
    0x00, 0x00, 0x00, 0x05, /* throttle_time_ms 5 */
    0x00, 0x00,             /* error_code */
    0x00, 0x00, 0x00, 0x00, /* session_id */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
    0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x01, /* partition 1 */
    0x00, 0x00,
    I64(0x0A),              /* high_watermark 10 */
    I64(0x08),              /* last_stable_offset 8 */
    I64(0x00),              /* log_start_offset 0 */
    0x00, 0x00, 0x00, 0x01, /* 1 aborted transaction */
    I64(0x07), I64(0x05),   /* producer 7 from offset 5 */
    0xFF, 0xFF, 0xFF, 0xFF, /* preferred_read_replica -1 */
    0x00, 0x00, 0x00, 0x02, 0xDE, 0xAD, /* records */
};

START_TEST(fetch_response_v11_lists_aborted_transactions)
{
    static const uint8_t rec2[] = {0xDE, 0xAD};
    kw_fetch_resp_aborted_txn at = {.producer_id = 7, .first_offset = 5};
    kw_fetch_resp_partition part = {.partition_index = 1, .high_watermark = 10,
                                    .last_stable_offset = 8, .aborted_transactions = ARRAY(&at, 1),
                                    .preferred_read_replica = -1, .records = {rec2, 2}};
    kw_fetch_resp_topic topic = {.topic = kw_str_c("t"), .partitions = ARRAY(&part, 1)};
    kw_fetch_resp resp = {.throttle_time_ms = 5, .responses = ARRAY(&topic, 1)};
    expect_response_bytes(&kw__api_fetch, 11, &resp, fetch_resp_v11, sizeof(fetch_resp_v11));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_fetch_resp got;
    decode_response(fetch_resp_v11, sizeof(fetch_resp_v11), &a, &kw__api_fetch, 11, &got);
    ck_assert_int_eq(got.throttle_time_ms, 5);
    const kw_fetch_resp_partition *p = &got.responses.v[0].partitions.v[0];
    ck_assert_int_eq(p->partition_index, 1);
    ck_assert(p->high_watermark == 10);
    ck_assert(p->last_stable_offset == 8);
    ck_assert_int_eq(p->aborted_transactions.n, 1);
    ck_assert(p->aborted_transactions.v[0].producer_id == 7);
    ck_assert(p->aborted_transactions.v[0].first_offset == 5);
    ck_assert_int_eq(p->records.len, 2);
    ck_assert_mem_eq(p->records.ptr, rec2, 2);
    /* the tagged structs of v12 keep their defaults */
    ck_assert_int_eq(p->diverging_epoch.epoch, -1);
    ck_assert(p->diverging_epoch.end_offset == -1);
    ck_assert_int_eq(p->current_leader.leader_id, -1);
    ck_assert(p->snapshot_id.end_offset == -1);
    kw__arena_reset(&a);

    expect_response_cuts_fail(fetch_resp_v11, sizeof(fetch_resp_v11), &kw__api_fetch, 11,
                              sizeof(kw_fetch_resp));
}
END_TEST

START_TEST(fetch_response_huge_counts_are_refused_before_allocating)
{
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_fetch_resp got;
    uint8_t bad[sizeof(fetch_resp_v11)];

    /* responses count 0x7FFFFFFF */
    memcpy(bad, fetch_resp_v11, sizeof(bad));
    memcpy(bad + 4 + 4 + 10, (const uint8_t[]){0x7F, 0xFF, 0xFF, 0xFF}, 4);
    ck_assert_int_eq(kw__response_decode(bad + 4, sizeof(bad) - 4, &kw__api_fetch, 11, &a, &got),
                     KW_ETRUNCATED);
    ck_assert_uint_eq(a.used, 0);
    /* aborted_transactions count -2: only -1 means null */
    memcpy(bad, fetch_resp_v11, sizeof(bad));
    size_t at = 4 + 4 + 10 + 4 + 3 + 4 + 4 + 2 + 24;
    ck_assert_uint_eq(bad[at + 3], 0x01);
    memcpy(bad + at, (const uint8_t[]){0xFF, 0xFF, 0xFF, 0xFE}, 4);
    ck_assert_int_eq(kw__response_decode(bad + 4, sizeof(bad) - 4, &kw__api_fetch, 11, &a, &got),
                     KW_EMALFORMED);
    /* records length -2 */
    memcpy(bad, fetch_resp_v11, sizeof(bad));
    memcpy(bad + sizeof(bad) - 6, (const uint8_t[]){0xFF, 0xFF, 0xFF, 0xFE}, 4);
    ck_assert_int_eq(kw__response_decode(bad + 4, sizeof(bad) - 4, &kw__api_fetch, 11, &a, &got),
                     KW_EMALFORMED);
    kw__arena_reset(&a);
}
END_TEST

/* ---- ListOffsets (2) ---- */

static const uint8_t list_offsets_req_v1[] = {
    0x00, 0x00, 0x00, 0x27, REQ_HDR(0x02, 0x01),
    0xFF, 0xFF, 0xFF, 0xFF, /* replica_id -1 */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
    0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, /* partition 0 */
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, /* timestamp -2: earliest */
};

START_TEST(list_offsets_request_v1_matches_hand_bytes)
{
    kw_list_offsets_req_partition part = {.partition_index = 0, .current_leader_epoch = -1,
                                          .timestamp = -2, .max_num_offsets = 1};
    kw_list_offsets_req_topic topic = {.name = kw_str_c("t"), .partitions = ARRAY(&part, 1)};
    kw_list_offsets_req req = {.replica_id = -1, .topics = ARRAY(&topic, 1)};
    expect_request_bytes(&kw__api_list_offsets, 1, &req, list_offsets_req_v1,
                         sizeof(list_offsets_req_v1));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_list_offsets_req got;
    decode_request(list_offsets_req_v1, sizeof(list_offsets_req_v1), &a, &kw__api_list_offsets,
                   1, &got, sizeof(got));
    ck_assert_int_eq(got.replica_id, -1);
    ck_assert_int_eq(got.topics.n, 1);
    ck_assert(kw_str_eq(got.topics.v[0].name, "t"));
    ck_assert_int_eq(got.topics.v[0].partitions.n, 1);
    ck_assert(got.topics.v[0].partitions.v[0].timestamp == -2);
    ck_assert_int_eq(got.topics.v[0].partitions.v[0].current_leader_epoch, -1);
    ck_assert_int_eq(got.topics.v[0].partitions.v[0].max_num_offsets, 1); /* v0's default */
    kw__arena_reset(&a);

    expect_request_cuts_fail(list_offsets_req_v1, sizeof(list_offsets_req_v1),
                             sizeof(kw_list_offsets_req));
}
END_TEST

/* v10: flexible, with the leader epoch and the v10 timeout. */
static const uint8_t list_offsets_req_v10[] = {
    0x00, 0x00, 0x00, 0x2D, REQ_HDR(0x02, 0x0A), 0x00,
    0xFF, 0xFF, 0xFF, 0xFF, /* replica_id -1 */
    0x01,                   /* isolation_level read committed */
    0x02, 0x02, 't', 0x02,
    0x00, 0x00, 0x00, 0x00, /* partition 0 */
    0x00, 0x00, 0x00, 0x03, /* current_leader_epoch 3 */
    I64_M1,                 /* timestamp -1: latest */
    0x00, 0x00,             /* partition tags, topic tags */
    0x00, 0x00, 0x75, 0x30, /* timeout_ms 30000 */
    0x00,                   /* body tags */
};

START_TEST(list_offsets_request_v10_adds_the_timeout)
{
    kw_list_offsets_req_partition part = {.partition_index = 0, .current_leader_epoch = 3,
                                          .timestamp = -1};
    kw_list_offsets_req_topic topic = {.name = kw_str_c("t"), .partitions = ARRAY(&part, 1)};
    kw_list_offsets_req req = {.replica_id = -1, .isolation_level = 1,
                               .topics = ARRAY(&topic, 1), .timeout_ms = 30000};
    expect_request_bytes(&kw__api_list_offsets, 10, &req, list_offsets_req_v10,
                         sizeof(list_offsets_req_v10));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_list_offsets_req got;
    decode_request(list_offsets_req_v10, sizeof(list_offsets_req_v10), &a, &kw__api_list_offsets,
                   10, &got, sizeof(got));
    ck_assert_int_eq(got.replica_id, -1);
    ck_assert_int_eq(got.isolation_level, 1);
    ck_assert_int_eq(got.timeout_ms, 30000);
    ck_assert_int_eq(got.topics.v[0].partitions.v[0].current_leader_epoch, 3);
    ck_assert(got.topics.v[0].partitions.v[0].timestamp == -1);
    kw__arena_reset(&a);

    expect_request_cuts_fail(list_offsets_req_v10, sizeof(list_offsets_req_v10),
                             sizeof(kw_list_offsets_req));

    /* v9 is the same body without the timeout. */
    uint8_t v9[sizeof(list_offsets_req_v10) - 4];
    memcpy(v9, list_offsets_req_v10, sizeof(v9) - 1);
    v9[3] = 0x2D - 4;
    v9[7] = 9;
    v9[sizeof(v9) - 1] = 0x00;
    expect_request_bytes(&kw__api_list_offsets, 9, &req, v9, sizeof(v9));
}
END_TEST

static const uint8_t list_offsets_resp_v6[] = {
    0x00, 0x00, 0x00, 0x2A, RESP_HDR, 0x00,
    0x00, 0x00, 0x00, 0x00, /* throttle_time_ms */
    0x02, 0x02, 't', 0x02,
    0x00, 0x00, 0x00, 0x00, /* partition 0 */
    0x00, 0x00,             /* error_code */
    I64_M1,                 /* timestamp -1 */
    I64(0x2A),              /* offset 42 */
    0x00, 0x00, 0x00, 0x03, /* leader_epoch 3 */
    0x00, 0x00, 0x00,       /* partition, topic, body tags */
};

START_TEST(list_offsets_response_v6_matches_hand_bytes)
{
    kw_list_offsets_resp_partition part = {.partition_index = 0, .timestamp = -1, .offset = 42,
                                           .leader_epoch = 3};
    kw_list_offsets_resp_topic topic = {.name = kw_str_c("t"), .partitions = ARRAY(&part, 1)};
    kw_list_offsets_resp resp = {.topics = ARRAY(&topic, 1)};
    expect_response_bytes(&kw__api_list_offsets, 6, &resp, list_offsets_resp_v6,
                          sizeof(list_offsets_resp_v6));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_list_offsets_resp got;
    decode_response(list_offsets_resp_v6, sizeof(list_offsets_resp_v6), &a, &kw__api_list_offsets,
                    6, &got);
    ck_assert_int_eq(got.topics.n, 1);
    ck_assert(kw_str_eq(got.topics.v[0].name, "t"));
    const kw_list_offsets_resp_partition *p = &got.topics.v[0].partitions.v[0];
    ck_assert_int_eq(p->error_code, 0);
    ck_assert(p->timestamp == -1);
    ck_assert(p->offset == 42);
    ck_assert_int_eq(p->leader_epoch, 3);
    kw__arena_reset(&a);

    expect_response_cuts_fail(list_offsets_resp_v6, sizeof(list_offsets_resp_v6),
                              &kw__api_list_offsets, 6, sizeof(kw_list_offsets_resp));

    /* An unknown tag (5, bytes "zz") in the partition is skipped. */
    static const uint8_t tagged[] = {
        0x00, 0x00, 0x00, 0x2E, RESP_HDR, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 't', 0x02,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, I64_M1, I64(0x2A), 0x00, 0x00, 0x00, 0x03,
        0x01, 0x05, 0x02, 'z', 'z', /* partition tags */
        0x00, 0x00,
    };
    kw__arena_init(&a, 0);
    decode_response(tagged, sizeof(tagged), &a, &kw__api_list_offsets, 6, &got);
    ck_assert(got.topics.v[0].partitions.v[0].offset == 42);
    ck_assert_int_eq(got.topics.v[0].partitions.v[0].leader_epoch, 3);
    kw__arena_reset(&a);
}
END_TEST

static const uint8_t list_offsets_resp_v1[] = {
    0x00, 0x00, 0x00, 0x25, RESP_HDR,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
    0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, /* partition 0 */
    0x00, 0x00,             /* error_code */
    I64_M1,                 /* timestamp -1 */
    I64(0x2A),              /* offset 42 */
};

START_TEST(list_offsets_response_v1_has_no_throttle_time)
{
    kw_list_offsets_resp_partition part = {.partition_index = 0, .timestamp = -1, .offset = 42,
                                           .leader_epoch = -1};
    kw_list_offsets_resp_topic topic = {.name = kw_str_c("t"), .partitions = ARRAY(&part, 1)};
    kw_list_offsets_resp resp = {.throttle_time_ms = 99, .topics = ARRAY(&topic, 1)};
    expect_response_bytes(&kw__api_list_offsets, 1, &resp, list_offsets_resp_v1,
                          sizeof(list_offsets_resp_v1));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_list_offsets_resp got;
    decode_response(list_offsets_resp_v1, sizeof(list_offsets_resp_v1), &a, &kw__api_list_offsets,
                    1, &got);
    ck_assert_int_eq(got.throttle_time_ms, 0);
    ck_assert(got.topics.v[0].partitions.v[0].offset == 42);
    ck_assert_int_eq(got.topics.v[0].partitions.v[0].leader_epoch, -1);
    ck_assert_int_eq(got.topics.v[0].partitions.v[0].old_style_offsets.n, 0);
    kw__arena_reset(&a);

    expect_response_cuts_fail(list_offsets_resp_v1, sizeof(list_offsets_resp_v1),
                              &kw__api_list_offsets, 1, sizeof(kw_list_offsets_resp));

    /* ListOffsets v0 is below kwal's range. */
    kw__arena_init(&a, 0);
    ck_assert_int_eq(kw__response_decode(list_offsets_resp_v1 + 4, sizeof(list_offsets_resp_v1) - 4,
                                         &kw__api_list_offsets, 0, &a, &got),
                     KW_EINVAL);
    kw__arena_reset(&a);
}
END_TEST

/* ---- Metadata (3) ---- */

START_TEST(metadata_request_topic_list_nullability_follows_the_version)
{
    kw_metadata_req req;
    kw__schema_init(kw__api_metadata.req, 1, &req);
    req.topics.v = NULL;
    req.topics.n = -1;

    /* v1: null = every topic (FF FF FF FF). */
    static const uint8_t v1[] = {0x00, 0x00, 0x00, 0x10, REQ_HDR(0x03, 0x01),
                                 0xFF, 0xFF, 0xFF, 0xFF};
    expect_request_bytes(&kw__api_metadata, 1, &req, v1, sizeof(v1));
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_metadata_req got;
    decode_request(v1, sizeof(v1), &a, &kw__api_metadata, 1, &got, sizeof(got));
    ck_assert_int_eq(got.topics.n, -1);
    ck_assert_ptr_null(got.topics.v);
    kw__arena_reset(&a);
    expect_request_cuts_fail(v1, sizeof(v1), sizeof(kw_metadata_req));

    /* v0 has no null array: the encoder refuses, the decoder too. */
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__request_encode(&w, &kw__api_metadata, 0, CORR, kw_str_c("kw"), &req),
                     KW_EINVAL);
    kw__wr_free(&w);
    uint8_t v0[sizeof(v1)];
    memcpy(v0, v1, sizeof(v0));
    v0[7] = 0;
    kw__arena_init(&a, 0);
    kw_request_header hdr;
    const kw_api *api;
    ck_assert_int_eq(kw__request_decode(v0 + 4, sizeof(v0) - 4, &a, &hdr, &api, &got, sizeof(got)),
                     KW_EMALFORMED);
    kw__arena_reset(&a);

    /* v0 with an empty list (every topic in v0). */
    static const uint8_t v0_empty[] = {0x00, 0x00, 0x00, 0x10, REQ_HDR(0x03, 0x00),
                                       0x00, 0x00, 0x00, 0x00};
    req.topics.n = 0;
    expect_request_bytes(&kw__api_metadata, 0, &req, v0_empty, sizeof(v0_empty));
}
END_TEST

static const uint8_t metadata_req_v4[] = {
    0x00, 0x00, 0x00, 0x14, REQ_HDR(0x03, 0x04),
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', /* topics ["t"] */
    0x01,                                     /* allow_auto_topic_creation */
};

START_TEST(metadata_request_v4_names_a_topic)
{
    kw_metadata_req_topic t = {.name = kw_str_c("t")};
    kw_metadata_req req;
    kw__schema_init(kw__api_metadata.req, 4, &req);
    req.topics.v = &t;
    req.topics.n = 1;
    expect_request_bytes(&kw__api_metadata, 4, &req, metadata_req_v4, sizeof(metadata_req_v4));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_metadata_req got;
    decode_request(metadata_req_v4, sizeof(metadata_req_v4), &a, &kw__api_metadata, 4, &got,
                   sizeof(got));
    ck_assert_int_eq(got.topics.n, 1);
    ck_assert(kw_str_eq(got.topics.v[0].name, "t"));
    ck_assert(got.allow_auto_topic_creation);
    kw__arena_reset(&a);
    expect_request_cuts_fail(metadata_req_v4, sizeof(metadata_req_v4), sizeof(kw_metadata_req));
}
END_TEST

static const uint8_t metadata_req_v12[] = {
    0x00, 0x00, 0x00, 0x24, REQ_HDR(0x03, 0x0C), 0x00,
    0x02,                   /* 1 topic */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* topic_id: none */
    0x02, 't',
    0x00,                   /* topic tags */
    0x00,                   /* allow_auto_topic_creation false */
    0x01,                   /* include_topic_authorized_operations */
    0x00,                   /* body tags */
};

START_TEST(metadata_request_v12_drops_cluster_operations)
{
    kw_metadata_req_topic t = {.name = kw_str_c("t")};
    kw_metadata_req req = {.topics = ARRAY(&t, 1), .allow_auto_topic_creation = false,
                           .include_cluster_authorized_operations = true,
                           .include_topic_authorized_operations = true};
    expect_request_bytes(&kw__api_metadata, 12, &req, metadata_req_v12, sizeof(metadata_req_v12));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_metadata_req got;
    decode_request(metadata_req_v12, sizeof(metadata_req_v12), &a, &kw__api_metadata, 12, &got,
                   sizeof(got));
    ck_assert_int_eq(got.topics.n, 1);
    ck_assert(kw_str_eq(got.topics.v[0].name, "t"));
    ck_assert(!got.allow_auto_topic_creation);
    ck_assert(!got.include_cluster_authorized_operations); /* v8-10 only */
    ck_assert(got.include_topic_authorized_operations);
    kw__arena_reset(&a);
    expect_request_cuts_fail(metadata_req_v12, sizeof(metadata_req_v12), sizeof(kw_metadata_req));

    /* A null topic name is allowed from v10, refused in v9. */
    t.name = KW_STR_NULL;
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__request_encode(&w, &kw__api_metadata, 10, CORR, kw_str_c("kw"), &req), 0);
    kw__wr_free(&w);
    kw__wr_init(&w);
    ck_assert_int_eq(kw__request_encode(&w, &kw__api_metadata, 9, CORR, kw_str_c("kw"), &req),
                     KW_EINVAL);
    kw__wr_free(&w);
}
END_TEST

static const uint8_t metadata_resp_v13[] = {
    0x00, 0x00, 0x00, 0x5F, RESP_HDR, 0x00,
    0x00, 0x00, 0x00, 0x00, /* throttle_time_ms */
    0x02,                   /* 1 broker */
    0x00, 0x00, 0x00, 0x01, /* node_id 1 */
    0x0A, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't',
    0x00, 0x00, 0x23, 0x84, /* port 9092 */
    0x00,                   /* rack null */
    0x00,                   /* broker tags */
    0x04, 'c', 'i', 'd',    /* cluster_id */
    0x00, 0x00, 0x00, 0x01, /* controller_id 1 */
    0x02,                   /* 1 topic */
    0x00, 0x00,             /* error_code */
    0x02, 't',
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, /* topic_id */
    0x00,                   /* is_internal */
    0x02,                   /* 1 partition */
    0x00, 0x00,             /* error_code */
    0x00, 0x00, 0x00, 0x00, /* partition 0 */
    0x00, 0x00, 0x00, 0x01, /* leader 1 */
    0x00, 0x00, 0x00, 0x07, /* leader_epoch 7 */
    0x02, 0x00, 0x00, 0x00, 0x01, /* replicas [1] */
    0x02, 0x00, 0x00, 0x00, 0x01, /* isr [1] */
    0x01,                   /* offline: empty */
    0x00,                   /* partition tags */
    0x80, 0x00, 0x00, 0x00, /* topic_authorized_operations INT32_MIN */
    0x00,                   /* topic tags */
    0x00, 0x81,             /* error_code (v13), non-zero so it shows */
    0x00,                   /* body tags */
};

START_TEST(metadata_response_v13_ends_with_the_top_level_error)
{
    int32_t one[] = {1};
    kw_metadata_resp_partition part = {.partition_index = 0, .leader_id = 1, .leader_epoch = 7,
                                       .replica_nodes = ARRAY(one, 1), .isr_nodes = ARRAY(one, 1)};
    kw_metadata_resp_topic topic = {.name = kw_str_c("t"), .partitions = ARRAY(&part, 1),
                                    .topic_authorized_operations = INT32_MIN};
    for (int i = 0; i < 16; i++)
        topic.topic_id.b[i] = (uint8_t)(i + 1);
    kw_metadata_resp_broker broker = {.node_id = 1, .host = kw_str_c("localhost"), .port = 9092,
                                      .rack = KW_STR_NULL};
    kw_metadata_resp resp = {.brokers = ARRAY(&broker, 1), .cluster_id = kw_str_c("cid"),
                             .controller_id = 1, .topics = ARRAY(&topic, 1),
                             .cluster_authorized_operations = 5, .error_code = 0x81};
    expect_response_bytes(&kw__api_metadata, 13, &resp, metadata_resp_v13,
                          sizeof(metadata_resp_v13));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_metadata_resp got;
    decode_response(metadata_resp_v13, sizeof(metadata_resp_v13), &a, &kw__api_metadata, 13, &got);
    ck_assert_int_eq(got.brokers.n, 1);
    ck_assert_int_eq(got.brokers.v[0].node_id, 1);
    ck_assert(kw_str_eq(got.brokers.v[0].host, "localhost"));
    ck_assert_int_eq(got.brokers.v[0].port, 9092);
    ck_assert(got.brokers.v[0].rack.len == -1);
    ck_assert(kw_str_eq(got.cluster_id, "cid"));
    ck_assert_int_eq(got.controller_id, 1);
    ck_assert_int_eq(got.topics.n, 1);
    const kw_metadata_resp_topic *t = &got.topics.v[0];
    ck_assert(kw_str_eq(t->name, "t"));
    for (int i = 0; i < 16; i++)
        ck_assert_uint_eq(t->topic_id.b[i], (unsigned)(i + 1));
    ck_assert(!t->is_internal);
    ck_assert_int_eq(t->partitions.n, 1);
    ck_assert_int_eq(t->partitions.v[0].leader_id, 1);
    ck_assert_int_eq(t->partitions.v[0].leader_epoch, 7);
    ck_assert_int_eq(t->partitions.v[0].replica_nodes.n, 1);
    ck_assert_int_eq(t->partitions.v[0].replica_nodes.v[0], 1);
    ck_assert_int_eq(t->partitions.v[0].isr_nodes.n, 1);
    ck_assert_int_eq(t->partitions.v[0].isr_nodes.v[0], 1);
    ck_assert_int_eq(t->partitions.v[0].offline_replicas.n, 0);
    ck_assert_int_eq(t->topic_authorized_operations, INT32_MIN);
    ck_assert_int_eq(got.cluster_authorized_operations, INT32_MIN); /* not in v13 */
    ck_assert_int_eq(got.error_code, 0x81);
    kw__arena_reset(&a);

    expect_response_cuts_fail(metadata_resp_v13, sizeof(metadata_resp_v13), &kw__api_metadata, 13,
                              sizeof(kw_metadata_resp));

    /* v12 is the same answer without the last error code. */
    uint8_t v12[sizeof(metadata_resp_v13) - 2];
    memcpy(v12, metadata_resp_v13, sizeof(v12) - 1);
    v12[3] = 0x5F - 2;
    v12[sizeof(v12) - 1] = 0x00;
    expect_response_bytes(&kw__api_metadata, 12, &resp, v12, sizeof(v12));
}
END_TEST

static const uint8_t metadata_resp_v1[] = {
    0x00, 0x00, 0x00, 0x29, RESP_HDR,
    0x00, 0x00, 0x00, 0x01, /* 1 broker */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'h', 0x00, 0x00, 0x23, 0x84,
    0x00, 0x02, 'r', '1',   /* rack "r1" */
    0x00, 0x00, 0x00, 0x01, /* controller_id 1 */
    0x00, 0x00, 0x00, 0x01, /* 1 topic */
    0x00, 0x03,             /* UNKNOWN_TOPIC_OR_PARTITION */
    0x00, 0x01, 't',
    0x00,                   /* is_internal */
    0x00, 0x00, 0x00, 0x00, /* no partitions */
};

START_TEST(metadata_response_v1_matches_hand_bytes)
{
    kw_metadata_resp_broker broker = {.node_id = 1, .host = kw_str_c("h"), .port = 9092,
                                      .rack = kw_str_c("r1")};
    kw_metadata_resp_topic topic = {.error_code = 3, .name = kw_str_c("t")};
    kw_metadata_resp resp = {.brokers = ARRAY(&broker, 1), .cluster_id = kw_str_c("ignored"),
                             .controller_id = 1, .topics = ARRAY(&topic, 1)};
    expect_response_bytes(&kw__api_metadata, 1, &resp, metadata_resp_v1, sizeof(metadata_resp_v1));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_metadata_resp got;
    decode_response(metadata_resp_v1, sizeof(metadata_resp_v1), &a, &kw__api_metadata, 1, &got);
    ck_assert(kw_str_eq(got.brokers.v[0].host, "h"));
    ck_assert(kw_str_eq(got.brokers.v[0].rack, "r1"));
    ck_assert(got.cluster_id.len == -1); /* v2+ */
    ck_assert_int_eq(got.controller_id, 1);
    ck_assert_int_eq(got.topics.v[0].error_code, 3);
    ck_assert(kw_str_eq(got.topics.v[0].name, "t"));
    ck_assert_int_eq(got.topics.v[0].partitions.n, 0);
    kw__arena_reset(&a);

    expect_response_cuts_fail(metadata_resp_v1, sizeof(metadata_resp_v1), &kw__api_metadata, 1,
                              sizeof(kw_metadata_resp));
}
END_TEST

START_TEST(metadata_response_topic_name_is_nullable_only_from_v12)
{
    /* A v12 answer whose topic name is null (compact 00) decodes; the same
     * byte in a v11 answer is an error. */
    static const uint8_t v12[] = {
        0x00, 0x00, 0x00, 0x2B, RESP_HDR, 0x00,
        0x00, 0x00, 0x00, 0x00, /* throttle */
        0x01,                   /* no brokers */
        0x00,                   /* cluster_id null */
        0xFF, 0xFF, 0xFF, 0xFF, /* controller_id -1 */
        0x02, 0x00, 0x03,       /* 1 topic: error 3 */
        0x00,                   /* name null */
        0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA,
        0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, /* topic_id */
        0x00, 0x01,             /* not internal, no partitions */
        0x80, 0x00, 0x00, 0x00, 0x00, /* authorized ops, topic tags */
        0x00,                   /* body tags */
    };
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_metadata_resp got;
    decode_response(v12, sizeof(v12), &a, &kw__api_metadata, 12, &got);
    ck_assert_int_eq(got.topics.n, 1);
    ck_assert_int_eq(got.topics.v[0].error_code, 3);
    ck_assert(got.topics.v[0].name.len == -1);
    ck_assert_uint_eq(got.topics.v[0].topic_id.b[15], 0xAA);
    ck_assert_int_eq(got.controller_id, -1);
    ck_assert_int_eq(kw__response_decode(v12 + 4, sizeof(v12) - 4, &kw__api_metadata, 11, &a, &got),
                     KW_EMALFORMED);
    kw__arena_reset(&a);
}
END_TEST

/* ---- DeleteRecords (21) ---- */

static const uint8_t delete_records_req_v0[] = {
    0x00, 0x00, 0x00, 0x27, REQ_HDR(0x15, 0x00),
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
    0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, /* partition 0 */
    I64(0x64),              /* offset 100 */
    0x00, 0x00, 0x75, 0x30, /* timeout_ms 30000 */
};

static const uint8_t delete_records_req_v2[] = {
    0x00, 0x00, 0x00, 0x24, REQ_HDR(0x15, 0x02), 0x00,
    0x02, 0x02, 't', 0x02,
    0x00, 0x00, 0x00, 0x00, /* partition 0 */
    I64(0x64),              /* offset 100 */
    0x00, 0x00,             /* partition tags, topic tags */
    0x00, 0x00, 0x75, 0x30, /* timeout_ms 30000 */
    0x00,                   /* body tags */
};

START_TEST(delete_records_request_v0_and_v2_match_hand_bytes)
{
    kw_delete_records_req_partition part = {.partition_index = 0, .offset = 100};
    kw_delete_records_req_topic topic = {.name = kw_str_c("t"), .partitions = ARRAY(&part, 1)};
    kw_delete_records_req req = {.topics = ARRAY(&topic, 1), .timeout_ms = 30000};
    expect_request_bytes(&kw__api_delete_records, 0, &req, delete_records_req_v0,
                         sizeof(delete_records_req_v0));
    expect_request_bytes(&kw__api_delete_records, 2, &req, delete_records_req_v2,
                         sizeof(delete_records_req_v2));

    const uint8_t *frames[] = {delete_records_req_v0, delete_records_req_v2};
    size_t sizes[] = {sizeof(delete_records_req_v0), sizeof(delete_records_req_v2)};
    int vers[] = {0, 2};
    for (int i = 0; i < 2; i++) {
        kw_arena a;
        kw__arena_init(&a, 0);
        kw_delete_records_req got;
        decode_request(frames[i], sizes[i], &a, &kw__api_delete_records, vers[i], &got,
                       sizeof(got));
        ck_assert_int_eq(got.topics.n, 1);
        ck_assert(kw_str_eq(got.topics.v[0].name, "t"));
        ck_assert_int_eq(got.topics.v[0].partitions.n, 1);
        ck_assert_int_eq(got.topics.v[0].partitions.v[0].partition_index, 0);
        ck_assert(got.topics.v[0].partitions.v[0].offset == 100);
        ck_assert_int_eq(got.timeout_ms, 30000);
        kw__arena_reset(&a);
        expect_request_cuts_fail(frames[i], sizes[i], sizeof(kw_delete_records_req));
    }
}
END_TEST

static const uint8_t delete_records_resp_v2[] = {
    0x00, 0x00, 0x00, 0x1E, RESP_HDR, 0x00,
    0x00, 0x00, 0x00, 0x00, /* throttle_time_ms */
    0x02, 0x02, 't', 0x02,
    0x00, 0x00, 0x00, 0x00, /* partition 0 */
    I64(0x64),              /* low_watermark 100 */
    0x00, 0x00,             /* error_code */
    0x00, 0x00, 0x00,       /* partition, topic, body tags */
};

static const uint8_t delete_records_resp_v0[] = {
    0x00, 0x00, 0x00, 0x21, RESP_HDR,
    0x00, 0x00, 0x00, 0x0A, /* throttle_time_ms 10 */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
    0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, /* partition 0 */
    I64_M1,                 /* low_watermark -1 */
    0x00, 0x01,             /* OFFSET_OUT_OF_RANGE */
};

START_TEST(delete_records_responses_match_hand_bytes)
{
    kw_delete_records_resp_partition p2 = {.partition_index = 0, .low_watermark = 100};
    kw_delete_records_resp_topic t2 = {.name = kw_str_c("t"), .partitions = ARRAY(&p2, 1)};
    kw_delete_records_resp r2 = {.topics = ARRAY(&t2, 1)};
    expect_response_bytes(&kw__api_delete_records, 2, &r2, delete_records_resp_v2,
                          sizeof(delete_records_resp_v2));

    kw_delete_records_resp_partition p0 = {.partition_index = 0, .low_watermark = -1,
                                           .error_code = 1};
    kw_delete_records_resp_topic t0 = {.name = kw_str_c("t"), .partitions = ARRAY(&p0, 1)};
    kw_delete_records_resp r0 = {.throttle_time_ms = 10, .topics = ARRAY(&t0, 1)};
    expect_response_bytes(&kw__api_delete_records, 0, &r0, delete_records_resp_v0,
                          sizeof(delete_records_resp_v0));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_delete_records_resp got;
    decode_response(delete_records_resp_v2, sizeof(delete_records_resp_v2), &a,
                    &kw__api_delete_records, 2, &got);
    ck_assert_int_eq(got.throttle_time_ms, 0);
    ck_assert(kw_str_eq(got.topics.v[0].name, "t"));
    ck_assert(got.topics.v[0].partitions.v[0].low_watermark == 100);
    ck_assert_int_eq(got.topics.v[0].partitions.v[0].error_code, 0);
    decode_response(delete_records_resp_v0, sizeof(delete_records_resp_v0), &a,
                    &kw__api_delete_records, 0, &got);
    ck_assert_int_eq(got.throttle_time_ms, 10);
    ck_assert(got.topics.v[0].partitions.v[0].low_watermark == -1);
    ck_assert_int_eq(got.topics.v[0].partitions.v[0].error_code, 1);
    kw__arena_reset(&a);

    expect_response_cuts_fail(delete_records_resp_v2, sizeof(delete_records_resp_v2),
                              &kw__api_delete_records, 2, sizeof(kw_delete_records_resp));
    expect_response_cuts_fail(delete_records_resp_v0, sizeof(delete_records_resp_v0),
                              &kw__api_delete_records, 0, sizeof(kw_delete_records_resp));
}
END_TEST

START_TEST(delete_records_malformed_varints_and_tags_are_errors)
{
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_delete_records_resp got;
    uint8_t bad[sizeof(delete_records_resp_v2) + 8];

    /* A compact topic count of six continuation bytes: too long for a uvarint. */
    static const uint8_t overlong[] = {RESP_HDR, 0x00, 0x00, 0x00, 0x00, 0x00,
                                       0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    ck_assert_int_lt(kw__response_decode(overlong, sizeof(overlong), &kw__api_delete_records, 2,
                                         &a, &got),
                     0);

    /* A body tag section claiming 3 tags but holding one. */
    memcpy(bad, delete_records_resp_v2, sizeof(delete_records_resp_v2));
    size_t last = sizeof(delete_records_resp_v2) - 1;
    bad[last] = 0x03;
    bad[last + 1] = 0x07; /* tag 7 */
    bad[last + 2] = 0x01; /* 1 byte */
    bad[last + 3] = 0x00;
    size_t with_tag = sizeof(delete_records_resp_v2) - 4 + 3;
    ck_assert_int_eq(kw__response_decode(bad + 4, with_tag, &kw__api_delete_records, 2, &a, &got),
                     KW_ETRUNCATED);
    /* ...and with one tag it is fine: unknown tag 7 is skipped. */
    bad[last] = 0x01;
    ck_assert_int_eq(kw__response_decode(bad + 4, with_tag, &kw__api_delete_records, 2, &a, &got),
                     0);
    ck_assert(got.topics.v[0].partitions.v[0].low_watermark == 100);

    /* A string length running past the end of the frame. */
    memcpy(bad, delete_records_resp_v2, sizeof(delete_records_resp_v2));
    bad[4 + 5 + 4 + 1] = 0x40; /* topic name: 63 bytes */
    ck_assert_int_eq(kw__response_decode(bad + 4, sizeof(delete_records_resp_v2) - 4,
                                         &kw__api_delete_records, 2, &a, &got),
                     KW_ETRUNCATED);
    kw__arena_reset(&a);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("msg_data");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, api_entries_name_the_versions_kwal_speaks);
    tcase_add_test(tc, defaults_come_from_the_specs);
    tcase_add_test(tc, produce_request_v3_matches_hand_bytes);
    tcase_add_test(tc, produce_request_v9_is_compact);
    tcase_add_test(tc, produce_request_v12_differs_from_v9_only_in_the_header);
    tcase_add_test(tc, produce_request_null_records_allowed_null_topic_refused);
    tcase_add_test(tc, produce_pieces_join_to_the_flat_frame_at_every_version);
    tcase_add_test(tc, produce_pieces_match_the_hand_bytes_and_end_with_the_batch);
    tcase_add_test(tc, produce_response_v10_carries_current_leader_and_endpoints);
    tcase_add_test(tc, produce_response_tags_at_default_are_left_out);
    tcase_add_test(tc, produce_response_v8_lists_record_errors);
    tcase_add_test(tc, produce_response_tag_size_must_match_its_value);
    tcase_add_test(tc, fetch_request_v4_matches_hand_bytes);
    tcase_add_test(tc, fetch_request_v12_sends_cluster_id_as_tag_0);
    tcase_add_test(tc, fetch_request_v17_names_topics_by_id_with_v15_and_v17_tags);
    tcase_add_test(tc, fetch_request_v18_is_out_of_range);
    tcase_add_test(tc, fetch_response_v16_names_the_new_leader_endpoint);
    tcase_add_test(tc, uuids_print_as_kafka_prints_topic_ids);
    tcase_add_test(tc, fetch_response_v12_carries_three_tagged_structs);
    tcase_add_test(tc, fetch_response_unknown_tags_are_skipped);
    tcase_add_test(tc, fetch_response_v11_lists_aborted_transactions);
    tcase_add_test(tc, fetch_response_huge_counts_are_refused_before_allocating);
    tcase_add_test(tc, list_offsets_request_v1_matches_hand_bytes);
    tcase_add_test(tc, list_offsets_request_v10_adds_the_timeout);
    tcase_add_test(tc, list_offsets_response_v6_matches_hand_bytes);
    tcase_add_test(tc, list_offsets_response_v1_has_no_throttle_time);
    tcase_add_test(tc, metadata_request_topic_list_nullability_follows_the_version);
    tcase_add_test(tc, metadata_request_v4_names_a_topic);
    tcase_add_test(tc, metadata_request_v12_drops_cluster_operations);
    tcase_add_test(tc, metadata_response_v13_ends_with_the_top_level_error);
    tcase_add_test(tc, metadata_response_v1_matches_hand_bytes);
    tcase_add_test(tc, metadata_response_topic_name_is_nullable_only_from_v12);
    tcase_add_test(tc, delete_records_request_v0_and_v2_match_hand_bytes);
    tcase_add_test(tc, delete_records_responses_match_hand_bytes);
    tcase_add_test(tc, delete_records_malformed_varints_and_tags_are_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
