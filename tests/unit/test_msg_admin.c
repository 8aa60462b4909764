/* Unit tests of the admin and SASL messages: hand-made frames from the Kafka specs, both ways. */
#include <check.h>
#include <stddef.h>
#include <stdlib.h>

#include "proto/msg_admin.h"

/*
 * Every vector below is a whole frame without its int32 size prefix, written
 * byte by byte from the spec: request header (key, version, correlation id,
 * client id "kw", plus an empty tag section from header v2 on), or response
 * header (correlation id, plus an empty tag section for flexible versions),
 * then the body.  The encoder must produce the size prefix and exactly these
 * bytes; the decoder must give back the values.
 */

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define KW_CLIENT 0x00, 0x02, 'k', 'w'
#define WAL 'w', 'a', 'l'
#define RETENTION_MS 'r', 'e', 't', 'e', 'n', 't', 'i', 'o', 'n', '.', 'm', 's'
#define CLEANUP_POLICY 'c', 'l', 'e', 'a', 'n', 'u', 'p', '.', 'p', 'o', 'l', 'i', 'c', 'y'
#define SEVEN_DAYS_MS '6', '0', '4', '8', '0', '0', '0', '0', '0'
#define SCRAM_256 'S', 'C', 'R', 'A', 'M', '-', 'S', 'H', 'A', '-', '2', '5', '6'
#define PLAIN_AUTH                                                                                 \
    0, 'a', 'l', 'i', 'c', 'e', 0, 'a', 'l', 'i', 'c', 'e', '-', 's', 'e', 'c', 'r', 'e', 't'

/* Big enough for any message struct of this module, aligned for any member. */
typedef union scratch {
    max_align_t align;
    unsigned char bytes[512];
} scratch;

static const kw_api *api(int key)
{
    const kw_api *a = kw__api(key);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(a->key, key);
    return a;
}

static void expect_frame(const kw_wr *w, const uint8_t *frame, size_t n)
{
    ck_assert_int_eq(w->err, 0);
    ck_assert_uint_eq(w->len, n + 4);
    ck_assert_uint_eq(kw_load_be32(w->buf), n);
    ck_assert_mem_eq(w->buf + 4, frame, n);
}

static void expect_request_bytes(int key, int ver, int32_t corr, const void *req,
                                 const uint8_t *frame, size_t n)
{
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__request_encode(&w, api(key), ver, corr, kw_str_c("kw"), req), 0);
    expect_frame(&w, frame, n);
    kw__wr_free(&w);
}

static void expect_response_bytes(int key, int ver, int32_t corr, const void *resp,
                                  const uint8_t *frame, size_t n)
{
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__response_encode(&w, api(key), ver, corr, resp), 0);
    expect_frame(&w, frame, n);
    kw__wr_free(&w);
}

/* Decodes a request frame and checks its header. */
static void decode_request(const uint8_t *frame, size_t n, kw_arena *a, int key, int ver,
                           int32_t corr, void *req, size_t size)
{
    kw_request_header hdr;
    const kw_api *got = NULL;
    ck_assert_int_eq(kw__request_decode(frame, n, a, &hdr, &got, req, size), 0);
    ck_assert_ptr_eq(got, api(key));
    ck_assert_int_eq(hdr.api_key, key);
    ck_assert_int_eq(hdr.api_version, ver);
    ck_assert_int_eq(hdr.correlation_id, corr);
    ck_assert(kw_str_eq(hdr.client_id, "kw"));
}

static void decode_response(const uint8_t *frame, size_t n, kw_arena *a, int key, int ver,
                            void *resp)
{
    int32_t corr = 0;
    ck_assert_int_eq(kw__response_correlation_id(frame, n, &corr), 0);
    ck_assert_int_eq(kw__response_decode(frame, n, api(key), ver, a, resp), 0);
}

/* A copy of exactly n bytes on the heap, so a read past the end is a real overrun. */
static uint8_t *dup_bytes(const uint8_t *p, size_t n, size_t extra)
{
    uint8_t *c = malloc(n + extra + 1);
    ck_assert_ptr_nonnull(c);
    memcpy(c, p, n);
    memset(c + n, 0, extra);
    return c;
}

/* Every proper prefix of a request frame is truncated input, and one byte too many is malformed. */
static void expect_request_cut_and_padded_fail(const uint8_t *frame, size_t n)
{
    for (size_t len = 0; len < n; len++) {
        uint8_t *c = dup_bytes(frame, len, 0);
        kw_arena a;
        kw__arena_init(&a, 0);
        scratch s;
        kw_request_header hdr;
        const kw_api *got = NULL;
        int rc = kw__request_decode(c, len, &a, &hdr, &got, &s, sizeof(s));
        ck_assert_msg(rc == KW_ETRUNCATED, "prefix of %zu/%zu bytes gave %d", len, n, rc);
        kw__arena_reset(&a);
        free(c);
    }
    uint8_t *c = dup_bytes(frame, n, 1);
    kw_arena a;
    kw__arena_init(&a, 0);
    scratch s;
    kw_request_header hdr;
    const kw_api *got = NULL;
    ck_assert_int_eq(kw__request_decode(c, n + 1, &a, &hdr, &got, &s, sizeof(s)), KW_EMALFORMED);
    kw__arena_reset(&a);
    free(c);
}

static void expect_response_cut_and_padded_fail(int key, int ver, const uint8_t *frame, size_t n)
{
    for (size_t len = 0; len < n; len++) {
        uint8_t *c = dup_bytes(frame, len, 0);
        kw_arena a;
        kw__arena_init(&a, 0);
        scratch s;
        int rc = kw__response_decode(c, len, api(key), ver, &a, &s);
        ck_assert_msg(rc == KW_ETRUNCATED, "prefix of %zu/%zu bytes gave %d", len, n, rc);
        kw__arena_reset(&a);
        free(c);
    }
    uint8_t *c = dup_bytes(frame, n, 1);
    kw_arena a;
    kw__arena_init(&a, 0);
    scratch s;
    ck_assert_int_eq(kw__response_decode(c, n + 1, api(key), ver, &a, &s), KW_EMALFORMED);
    kw__arena_reset(&a);
    free(c);
}

static kw_uuid uuid_from(uint8_t first)
{
    kw_uuid u;
    for (int i = 0; i < 16; i++)
        u.b[i] = (uint8_t)(first + i);
    return u;
}

static void expect_uuid(kw_uuid u, uint8_t first)
{
    kw_uuid want = uuid_from(first);
    ck_assert_mem_eq(u.b, want.b, 16);
}

static void expect_uuid_zero(kw_uuid u)
{
    static const kw_uuid zero;
    ck_assert_mem_eq(u.b, zero.b, 16);
}

/* ---- CreateTopics ---- */

/* v5: compact strings and arrays, tag sections everywhere, a null config value. */
/* clang-format off */
static const uint8_t create_topics_v5_req[] = {
    0x00, 0x13, 0x00, 0x05, 0x00, 0x00, 0x00, 0x07, KW_CLIENT, 0x00,
    0x02,                         /* topics: 1 */
    0x04, WAL,                    /* name */
    0xFF, 0xFF, 0xFF, 0xFF,       /* num_partitions -1 */
    0xFF, 0xFF,                   /* replication_factor -1 */
    0x02,                         /* assignments: 1 */
    0x00, 0x00, 0x00, 0x00,       /* partition_index 0 */
    0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, /* broker_ids [1, 2] */
    0x00,                         /* assignment tags */
    0x03,                         /* configs: 2 */
    0x0D, RETENTION_MS, 0x03, '-', '1', 0x00,
    0x0F, CLEANUP_POLICY, 0x00, 0x00, /* value null */
    0x00,                         /* topic tags */
    0x00, 0x00, 0x75, 0x30,       /* timeout_ms 30000 */
    0x01,                         /* validate_only */
    0x00,                         /* body tags */
};
/* clang-format on */

START_TEST(create_topics_v5_request_is_compact_with_tag_sections)
{
    int32_t brokers[] = {1, 2};
    kw_create_topics_req_assignment asg = {.partition_index = 0, .broker_ids = {brokers, 2}};
    kw_create_topics_req_config cfg[] = {
        {kw_str_c("retention.ms"), kw_str_c("-1")},
        {kw_str_c("cleanup.policy"), KW_STR_NULL},
    };
    kw_create_topics_req_topic topic = {
        .name = kw_str_c("wal"),
        .num_partitions = -1,
        .replication_factor = -1,
        .assignments = {&asg, 1},
        .configs = {cfg, 2},
    };
    kw_create_topics_req req;
    kw__schema_init(api(KW_API_CREATE_TOPICS)->req, 5, &req);
    req.topics.v = &topic;
    req.topics.n = 1;
    req.timeout_ms = 30000;
    req.validate_only = true;
    expect_request_bytes(KW_API_CREATE_TOPICS, 5, 7, &req, create_topics_v5_req,
                         N(create_topics_v5_req));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_create_topics_req got;
    decode_request(create_topics_v5_req, N(create_topics_v5_req), &a, KW_API_CREATE_TOPICS, 5, 7,
                   &got, sizeof(got));
    ck_assert_int_eq(got.topics.n, 1);
    const kw_create_topics_req_topic *t = &got.topics.v[0];
    ck_assert(kw_str_eq(t->name, "wal"));
    ck_assert_int_eq(t->num_partitions, -1);
    ck_assert_int_eq(t->replication_factor, -1);
    ck_assert_int_eq(t->assignments.n, 1);
    ck_assert_int_eq(t->assignments.v[0].partition_index, 0);
    ck_assert_int_eq(t->assignments.v[0].broker_ids.n, 2);
    ck_assert_int_eq(t->assignments.v[0].broker_ids.v[0], 1);
    ck_assert_int_eq(t->assignments.v[0].broker_ids.v[1], 2);
    ck_assert_int_eq(t->configs.n, 2);
    ck_assert(kw_str_eq(t->configs.v[0].name, "retention.ms"));
    ck_assert(kw_str_eq(t->configs.v[0].value, "-1"));
    ck_assert(kw_str_eq(t->configs.v[1].name, "cleanup.policy"));
    ck_assert_int_eq(t->configs.v[1].value.len, -1);
    ck_assert_int_eq(got.timeout_ms, 30000);
    ck_assert(got.validate_only);
    kw__arena_reset(&a);

    expect_request_cut_and_padded_fail(create_topics_v5_req, N(create_topics_v5_req));
}
END_TEST

/* v4: classic int16 string lengths and int32 array counts, header v1 (no tag section). */
/* clang-format off */
static const uint8_t create_topics_v4_req[] = {
    0x00, 0x13, 0x00, 0x04, 0x00, 0x00, 0x00, 0x08, KW_CLIENT,
    0x00, 0x00, 0x00, 0x01,       /* topics: 1 */
    0x00, 0x03, WAL,
    0x00, 0x00, 0x00, 0x01,       /* num_partitions 1 */
    0x00, 0x03,                   /* replication_factor 3 */
    0x00, 0x00, 0x00, 0x00,       /* assignments: 0 */
    0x00, 0x00, 0x00, 0x01,       /* configs: 1 */
    0x00, 0x0C, RETENTION_MS, 0x00, 0x02, '-', '1',
    0x00, 0x00, 0xEA, 0x60,       /* timeout_ms 60000, the spec default */
    0x00,                         /* validate_only */
};
/* clang-format on */

START_TEST(create_topics_v4_request_is_classic_and_defaults_timeout)
{
    kw_create_topics_req_config cfg = {kw_str_c("retention.ms"), kw_str_c("-1")};
    kw_create_topics_req_topic topic = {
        .name = kw_str_c("wal"),
        .num_partitions = 1,
        .replication_factor = 3,
        .assignments = {NULL, 0},
        .configs = {&cfg, 1},
    };
    kw_create_topics_req req;
    kw__schema_init(api(KW_API_CREATE_TOPICS)->req, 4, &req);
    ck_assert_int_eq(req.timeout_ms, 60000);
    ck_assert(!req.validate_only);
    ck_assert_int_eq(req.topics.n, 0);
    req.topics.v = &topic;
    req.topics.n = 1;
    expect_request_bytes(KW_API_CREATE_TOPICS, 4, 8, &req, create_topics_v4_req,
                         N(create_topics_v4_req));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_create_topics_req got;
    decode_request(create_topics_v4_req, N(create_topics_v4_req), &a, KW_API_CREATE_TOPICS, 4, 8,
                   &got, sizeof(got));
    ck_assert_int_eq(got.topics.n, 1);
    ck_assert(kw_str_eq(got.topics.v[0].name, "wal"));
    ck_assert_int_eq(got.topics.v[0].num_partitions, 1);
    ck_assert_int_eq(got.topics.v[0].replication_factor, 3);
    ck_assert_int_eq(got.topics.v[0].assignments.n, 0);
    ck_assert_int_eq(got.topics.v[0].configs.n, 1);
    ck_assert(kw_str_eq(got.topics.v[0].configs.v[0].name, "retention.ms"));
    ck_assert(kw_str_eq(got.topics.v[0].configs.v[0].value, "-1"));
    ck_assert_int_eq(got.timeout_ms, 60000);
    ck_assert(!got.validate_only);
    kw__arena_reset(&a);

    expect_request_cut_and_padded_fail(create_topics_v4_req, N(create_topics_v4_req));
}
END_TEST

/* v7: topic id, the v5+ configs, and TopicConfigErrorCode (tag 0) present. */
/* clang-format off */
static const uint8_t create_topics_v7_resp[] = {
    0x00, 0x00, 0x00, 0x07, 0x00,
    0x00, 0x00, 0x00, 0x00,       /* throttle_time_ms */
    0x02,                         /* topics: 1 */
    0x04, WAL,
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, /* topic_id */
    0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F,
    0x00, 0x00,                   /* error_code */
    0x00,                         /* error_message null */
    0x00, 0x00, 0x00, 0x01,       /* num_partitions 1 */
    0x00, 0x03,                   /* replication_factor 3 */
    0x02,                         /* configs: 1 */
    0x0F, CLEANUP_POLICY,
    0x07, 'd', 'e', 'l', 'e', 't', 'e',
    0x00,                         /* read_only */
    0x05,                         /* config_source DEFAULT_CONFIG */
    0x00,                         /* is_sensitive */
    0x00,                         /* config tags */
    0x01, 0x00, 0x02, 0x00, 0x1D, /* topic tags: tag 0, 2 bytes, 29 */
    0x00,                         /* body tags */
};
/* clang-format on */

START_TEST(create_topics_v7_response_carries_topic_id_configs_and_tagged_error)
{
    kw_create_topics_resp_config cfg = {
        .name = kw_str_c("cleanup.policy"),
        .value = kw_str_c("delete"),
        .read_only = false,
        .config_source = 5,
        .is_sensitive = false,
    };
    kw_create_topics_resp_topic topic = {
        .name = kw_str_c("wal"),
        .topic_id = uuid_from(0),
        .error_code = 0,
        .error_message = KW_STR_NULL,
        .topic_config_error_code = 29,
        .num_partitions = 1,
        .replication_factor = 3,
        .configs = {&cfg, 1},
    };
    kw_create_topics_resp resp = {.throttle_time_ms = 0, .topics = {&topic, 1}};
    expect_response_bytes(KW_API_CREATE_TOPICS, 7, 7, &resp, create_topics_v7_resp,
                          N(create_topics_v7_resp));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_create_topics_resp got;
    decode_response(create_topics_v7_resp, N(create_topics_v7_resp), &a, KW_API_CREATE_TOPICS, 7,
                    &got);
    ck_assert_int_eq(got.throttle_time_ms, 0);
    ck_assert_int_eq(got.topics.n, 1);
    const kw_create_topics_resp_topic *t = &got.topics.v[0];
    ck_assert(kw_str_eq(t->name, "wal"));
    expect_uuid(t->topic_id, 0);
    ck_assert_int_eq(t->error_code, 0);
    ck_assert_int_eq(t->error_message.len, -1);
    ck_assert_int_eq(t->topic_config_error_code, 29);
    ck_assert_int_eq(t->num_partitions, 1);
    ck_assert_int_eq(t->replication_factor, 3);
    ck_assert_int_eq(t->configs.n, 1);
    ck_assert(kw_str_eq(t->configs.v[0].name, "cleanup.policy"));
    ck_assert(kw_str_eq(t->configs.v[0].value, "delete"));
    ck_assert(!t->configs.v[0].read_only);
    ck_assert_int_eq(t->configs.v[0].config_source, 5);
    ck_assert(!t->configs.v[0].is_sensitive);
    kw__arena_reset(&a);

    expect_response_cut_and_padded_fail(KW_API_CREATE_TOPICS, 7, create_topics_v7_resp,
                                        N(create_topics_v7_resp));
}
END_TEST

/* v6: a failed topic; configs null; TopicConfigErrorCode at its default is not written. */
/* clang-format off */
static const uint8_t create_topics_v6_resp[] = {
    0x00, 0x00, 0x00, 0x0A, 0x00,
    0x00, 0x00, 0x00, 0x00,
    0x02,
    0x04, WAL,
    0x00, 0x24,                   /* error_code 36 TOPIC_ALREADY_EXISTS */
    0x07, 'e', 'x', 'i', 's', 't', 's',
    0xFF, 0xFF, 0xFF, 0xFF,       /* num_partitions -1 */
    0xFF, 0xFF,                   /* replication_factor -1 */
    0x00,                         /* configs null */
    0x00,                         /* topic tags: none */
    0x00,
};
/* clang-format on */

START_TEST(create_topics_v6_response_omits_default_tag_and_allows_null_configs)
{
    kw_create_topics_resp_topic topic = {
        .name = kw_str_c("wal"),
        .error_code = 36,
        .error_message = kw_str_c("exists"),
        .topic_config_error_code = 0,
        .num_partitions = -1,
        .replication_factor = -1,
        .configs = {NULL, -1},
    };
    kw_create_topics_resp resp = {.throttle_time_ms = 0, .topics = {&topic, 1}};
    expect_response_bytes(KW_API_CREATE_TOPICS, 6, 10, &resp, create_topics_v6_resp,
                          N(create_topics_v6_resp));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_create_topics_resp got;
    decode_response(create_topics_v6_resp, N(create_topics_v6_resp), &a, KW_API_CREATE_TOPICS, 6,
                    &got);
    ck_assert_int_eq(got.topics.n, 1);
    ck_assert(kw_str_eq(got.topics.v[0].name, "wal"));
    ck_assert_int_eq(got.topics.v[0].error_code, 36);
    ck_assert(kw_str_eq(got.topics.v[0].error_message, "exists"));
    ck_assert_int_eq(got.topics.v[0].topic_config_error_code, 0);
    ck_assert_int_eq(got.topics.v[0].num_partitions, -1);
    ck_assert_int_eq(got.topics.v[0].replication_factor, -1);
    ck_assert_int_eq(got.topics.v[0].configs.n, -1);
    ck_assert_ptr_null(got.topics.v[0].configs.v);
    kw__arena_reset(&a);

    expect_response_cut_and_padded_fail(KW_API_CREATE_TOPICS, 6, create_topics_v6_resp,
                                        N(create_topics_v6_resp));
}
END_TEST

/* v2: no topic id, no configs, no num_partitions on the wire; decode fills the spec defaults. */
/* clang-format off */
static const uint8_t create_topics_v2_resp[] = {
    0x00, 0x00, 0x00, 0x09,
    0x00, 0x00, 0x00, 0x64,       /* throttle_time_ms 100 */
    0x00, 0x00, 0x00, 0x01,
    0x00, 0x03, WAL,
    0x00, 0x24,
    0x00, 0x06, 'e', 'x', 'i', 's', 't', 's',
};
/* clang-format on */

START_TEST(create_topics_v2_response_is_classic_and_leaves_v5_fields_at_defaults)
{
    kw_create_topics_resp_topic topic = {
        .name = kw_str_c("wal"),
        .error_code = 36,
        .error_message = kw_str_c("exists"),
        /* v5+ members: must not reach the wire at v2 */
        .topic_id = uuid_from(0x40),
        .topic_config_error_code = 29,
        .num_partitions = 12,
        .replication_factor = 3,
        .configs = {NULL, -1},
    };
    kw_create_topics_resp resp = {.throttle_time_ms = 100, .topics = {&topic, 1}};
    expect_response_bytes(KW_API_CREATE_TOPICS, 2, 9, &resp, create_topics_v2_resp,
                          N(create_topics_v2_resp));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_create_topics_resp got;
    decode_response(create_topics_v2_resp, N(create_topics_v2_resp), &a, KW_API_CREATE_TOPICS, 2,
                    &got);
    ck_assert_int_eq(got.throttle_time_ms, 100);
    ck_assert_int_eq(got.topics.n, 1);
    const kw_create_topics_resp_topic *t = &got.topics.v[0];
    ck_assert(kw_str_eq(t->name, "wal"));
    ck_assert_int_eq(t->error_code, 36);
    ck_assert(kw_str_eq(t->error_message, "exists"));
    expect_uuid_zero(t->topic_id);
    ck_assert_int_eq(t->topic_config_error_code, 0);
    ck_assert_int_eq(t->num_partitions, -1);
    ck_assert_int_eq(t->replication_factor, -1);
    ck_assert_int_eq(t->configs.n, 0);
    kw__arena_reset(&a);

    expect_response_cut_and_padded_fail(KW_API_CREATE_TOPICS, 2, create_topics_v2_resp,
                                        N(create_topics_v2_resp));
}
END_TEST

/* A v5 response whose topic carries the tag section given by the macro argument. */
#define CREATE_TOPICS_V5_RESP(...)                                                                 \
    {                                                                                              \
        0x00, 0x00, 0x00, 0x0B, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 'a', 0x00, 0x00, 0x00,   \
            0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x01, __VA_ARGS__, 0x00                            \
    }

START_TEST(create_topics_unknown_tags_are_skipped)
{
    /* tag 0 (29), then tag 5 that kwal does not know: 3 bytes skipped */
    /* clang-format off */
    static const uint8_t frame[] =
        CREATE_TOPICS_V5_RESP(0x02, 0x00, 0x02, 0x00, 0x1D, 0x05, 0x03, 0xAA, 0xBB, 0xCC);
    /* clang-format on */
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_create_topics_resp got;
    decode_response(frame, N(frame), &a, KW_API_CREATE_TOPICS, 5, &got);
    ck_assert_int_eq(got.topics.n, 1);
    ck_assert(kw_str_eq(got.topics.v[0].name, "a"));
    ck_assert_int_eq(got.topics.v[0].error_message.len, -1);
    ck_assert_int_eq(got.topics.v[0].num_partitions, 1);
    ck_assert_int_eq(got.topics.v[0].replication_factor, 1);
    ck_assert_int_eq(got.topics.v[0].configs.n, 0);
    ck_assert_int_eq(got.topics.v[0].topic_config_error_code, 29);
    kw__arena_reset(&a);
}
END_TEST

START_TEST(create_topics_bad_tagged_field_sizes_are_errors)
{
    scratch s;
    kw_arena a;
    kw__arena_init(&a, 0);
    /* tag 0 declares 3 bytes but its int16 takes 2 */
    static const uint8_t too_long[] = CREATE_TOPICS_V5_RESP(0x01, 0x00, 0x03, 0x00, 0x1D, 0x00);
    ck_assert_int_eq(
        kw__response_decode(too_long, N(too_long), api(KW_API_CREATE_TOPICS), 5, &a, &s),
        KW_EMALFORMED);
    /* tag 0 declares 1 byte: the int16 inside runs out */
    static const uint8_t too_short[] = CREATE_TOPICS_V5_RESP(0x01, 0x00, 0x01, 0x1D);
    ck_assert_int_eq(
        kw__response_decode(too_short, N(too_short), api(KW_API_CREATE_TOPICS), 5, &a, &s),
        KW_ETRUNCATED);
    /* tag 0 declares 127 bytes, far past the frame */
    static const uint8_t past_end[] = CREATE_TOPICS_V5_RESP(0x01, 0x00, 0x7F, 0x00, 0x1D);
    ck_assert_int_eq(
        kw__response_decode(past_end, N(past_end), api(KW_API_CREATE_TOPICS), 5, &a, &s),
        KW_ETRUNCATED);
    /* two tagged fields announced, one present */
    static const uint8_t missing[] = CREATE_TOPICS_V5_RESP(0x02, 0x00, 0x02, 0x00, 0x1D);
    ck_assert_int_eq(kw__response_decode(missing, N(missing), api(KW_API_CREATE_TOPICS), 5, &a, &s),
                     KW_ETRUNCATED);
    kw__arena_reset(&a);
}
END_TEST

START_TEST(create_topics_null_where_spec_forbids_is_refused)
{
    kw_wr w;
    /* a null topic name */
    kw_create_topics_req_topic topic = {
        .name = KW_STR_NULL, .num_partitions = 1, .replication_factor = 1};
    kw_create_topics_req req = {.topics = {&topic, 1}, .timeout_ms = 1000};
    kw__wr_init(&w);
    ck_assert_int_eq(kw__request_encode(&w, api(KW_API_CREATE_TOPICS), 5, 1, kw_str_c("kw"), &req),
                     KW_EINVAL);
    kw__wr_free(&w);
    /* a null assignments array (nullable nowhere) */
    topic.name = kw_str_c("wal");
    topic.assignments.n = -1;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__request_encode(&w, api(KW_API_CREATE_TOPICS), 2, 1, kw_str_c("kw"), &req),
                     KW_EINVAL);
    kw__wr_free(&w);
    /* a null topics array on the wire (classic count -1) */
    /* clang-format off */
    static const uint8_t null_topics[] = {0x00, 0x13, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, KW_CLIENT,
                                          0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x03, 0xE8, 0x00};
    /* clang-format on */
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_request_header hdr;
    const kw_api *got;
    ck_assert_int_eq(
        kw__request_decode(null_topics, N(null_topics), &a, &hdr, &got, &req, sizeof(req)),
        KW_EMALFORMED);
    kw__arena_reset(&a);
}
END_TEST

START_TEST(create_topics_versions_outside_2_to_7_are_rejected)
{
    const kw_api *ct = api(KW_API_CREATE_TOPICS);
    ck_assert_int_eq(ct->vmin, 2);
    ck_assert_int_eq(ct->vmax, 7);
    ck_assert_int_eq(ct->flex, 5);
    kw_create_topics_req req;
    kw__schema_init(ct->req, 2, &req);
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__request_encode(&w, ct, 1, 1, KW_STR_NULL, &req), KW_EINVAL);
    kw__wr_free(&w);
    kw__wr_init(&w);
    ck_assert_int_eq(kw__request_encode(&w, ct, 8, 1, KW_STR_NULL, &req), KW_EINVAL);
    kw__wr_free(&w);
    /* a v8 request frame: not spoken */
    /* clang-format off */
    static const uint8_t v8[] = {0x00, 0x13, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01, 0xFF, 0xFF,
                                 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
    /* clang-format on */
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_request_header hdr;
    const kw_api *got;
    ck_assert_int_eq(kw__request_decode(v8, N(v8), &a, &hdr, &got, &req, sizeof(req)),
                     KW_EUNSUPPORTED);
    kw_create_topics_resp resp;
    ck_assert_int_eq(
        kw__response_decode(create_topics_v2_resp, N(create_topics_v2_resp), ct, 1, &a, &resp),
        KW_EINVAL);
    kw__arena_reset(&a);
}
END_TEST

START_TEST(create_topics_hostile_counts_fail_before_allocating)
{
    const kw_api *ct = api(KW_API_CREATE_TOPICS);
    scratch s;
    kw_arena a;
    kw__arena_init(&a, 0);
    /* classic count INT32_MAX with 4 bytes left */
    /* clang-format off */
    static const uint8_t huge[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                   0x7F, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00};
    /* clang-format on */
    ck_assert_int_eq(kw__response_decode(huge, N(huge), ct, 2, &a, &s), KW_ETRUNCATED);
    ck_assert_uint_eq(a.used, 0);
    /* classic count -2 */
    /* clang-format off */
    static const uint8_t neg[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                  0xFF, 0xFF, 0xFF, 0xFE};
    /* clang-format on */
    ck_assert_int_eq(kw__response_decode(neg, N(neg), ct, 2, &a, &s), KW_EMALFORMED);
    /* compact count 0xFFFFFFFF-1 (above INT32_MAX) */
    /* clang-format off */
    static const uint8_t compact_huge[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
                                           0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00};
    /* clang-format on */
    ck_assert_int_eq(kw__response_decode(compact_huge, N(compact_huge), ct, 5, &a, &s),
                     KW_EMALFORMED);
    /* a six-byte varint count */
    /* clang-format off */
    static const uint8_t overlong[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
                                       0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x00};
    /* clang-format on */
    ck_assert_int_eq(kw__response_decode(overlong, N(overlong), ct, 5, &a, &s), KW_EMALFORMED);
    ck_assert_uint_eq(a.used, 0);
    kw__arena_reset(&a);

    /* a well-formed response needing more than the arena allows */
    kw__arena_init(&a, 16);
    ck_assert_int_eq(
        kw__response_decode(create_topics_v7_resp, N(create_topics_v7_resp), ct, 7, &a, &s),
        KW_ETOOBIG);
    kw__arena_reset(&a);
}
END_TEST

/* ---- DeleteTopics ---- */

/* clang-format off */
static const uint8_t delete_topics_v1_req[] = {
    0x00, 0x14, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0C, KW_CLIENT,
    0x00, 0x00, 0x00, 0x02,       /* topic_names: 2 */
    0x00, 0x01, 'a',
    0x00, 0x02, 'b', 'c',
    0x00, 0x00, 0x13, 0x88,       /* timeout_ms 5000 */
};
/* clang-format on */

START_TEST(delete_topics_v1_request_sends_names)
{
    kw_str names[] = {kw_str_c("a"), kw_str_c("bc")};
    kw_delete_topics_req_topic ignored = {kw_str_c("x"), {{0}}};
    kw_delete_topics_req req = {
        .topics = {&ignored, 1}, /* v6+ only: not written at v1 */
        .topic_names = {names, 2},
        .timeout_ms = 5000,
    };
    expect_request_bytes(KW_API_DELETE_TOPICS, 1, 12, &req, delete_topics_v1_req,
                         N(delete_topics_v1_req));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_delete_topics_req got;
    decode_request(delete_topics_v1_req, N(delete_topics_v1_req), &a, KW_API_DELETE_TOPICS, 1, 12,
                   &got, sizeof(got));
    ck_assert_int_eq(got.topic_names.n, 2);
    ck_assert(kw_str_eq(got.topic_names.v[0], "a"));
    ck_assert(kw_str_eq(got.topic_names.v[1], "bc"));
    ck_assert_int_eq(got.topics.n, 0);
    ck_assert_int_eq(got.timeout_ms, 5000);
    kw__arena_reset(&a);

    expect_request_cut_and_padded_fail(delete_topics_v1_req, N(delete_topics_v1_req));
}
END_TEST

/* v6: (name, id) pairs; the second deletes by id with a null name. */
/* clang-format off */
static const uint8_t delete_topics_v6_req[] = {
    0x00, 0x14, 0x00, 0x06, 0x00, 0x00, 0x00, 0x0D, KW_CLIENT, 0x00,
    0x03,                         /* topics: 2 */
    0x04, WAL,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00,
    0x00,                         /* name null */
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F,
    0x00,
    0x00, 0x00, 0x13, 0x88,
    0x00,
};
/* clang-format on */

START_TEST(delete_topics_v6_request_sends_ids_and_null_names)
{
    kw_delete_topics_req_topic topics[2];
    ck_assert_str_eq(api(KW_API_DELETE_TOPICS)->req->fields[0].name, "topics");
    kw__schema_init(api(KW_API_DELETE_TOPICS)->req->fields[0].sub, 6, &topics[0]);
    ck_assert_int_eq(topics[0].name.len, -1); /* spec default null */
    topics[0].name = kw_str_c("wal");
    topics[1] = (kw_delete_topics_req_topic){KW_STR_NULL, uuid_from(0x10)};
    kw_str stale[] = {kw_str_c("not-at-v6")};
    kw_delete_topics_req req = {
        .topics = {topics, 2}, .topic_names = {stale, 1}, .timeout_ms = 5000};
    expect_request_bytes(KW_API_DELETE_TOPICS, 6, 13, &req, delete_topics_v6_req,
                         N(delete_topics_v6_req));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_delete_topics_req got;
    decode_request(delete_topics_v6_req, N(delete_topics_v6_req), &a, KW_API_DELETE_TOPICS, 6, 13,
                   &got, sizeof(got));
    ck_assert_int_eq(got.topics.n, 2);
    ck_assert(kw_str_eq(got.topics.v[0].name, "wal"));
    expect_uuid_zero(got.topics.v[0].topic_id);
    ck_assert_int_eq(got.topics.v[1].name.len, -1);
    expect_uuid(got.topics.v[1].topic_id, 0x10);
    ck_assert_int_eq(got.topic_names.n, 0);
    ck_assert_int_eq(got.timeout_ms, 5000);
    kw__arena_reset(&a);

    expect_request_cut_and_padded_fail(delete_topics_v6_req, N(delete_topics_v6_req));
}
END_TEST

/* clang-format off */
static const uint8_t delete_topics_v6_resp[] = {
    0x00, 0x00, 0x00, 0x0E, 0x00,
    0x00, 0x00, 0x00, 0x00,
    0x03,                         /* responses: 2 */
    0x04, WAL,
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10,
    0x00, 0x00,
    0x00,                         /* error_message null */
    0x00,
    0x00,                         /* name null */
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F,
    0x00, 0x64,                   /* error_code 100 UNKNOWN_TOPIC_ID */
    0x0B, 'u', 'n', 'k', 'n', 'o', 'w', 'n', ' ', 'i', 'd',
    0x00,
    0x00,
};
/* clang-format on */

START_TEST(delete_topics_v6_response_has_ids_null_names_and_messages)
{
    kw_delete_topics_resp_result res[] = {
        {kw_str_c("wal"), uuid_from(1), 0, KW_STR_NULL},
        {KW_STR_NULL, uuid_from(0x10), 100, kw_str_c("unknown id")},
    };
    kw_delete_topics_resp resp = {.throttle_time_ms = 0, .responses = {res, 2}};
    expect_response_bytes(KW_API_DELETE_TOPICS, 6, 14, &resp, delete_topics_v6_resp,
                          N(delete_topics_v6_resp));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_delete_topics_resp got;
    decode_response(delete_topics_v6_resp, N(delete_topics_v6_resp), &a, KW_API_DELETE_TOPICS, 6,
                    &got);
    ck_assert_int_eq(got.throttle_time_ms, 0);
    ck_assert_int_eq(got.responses.n, 2);
    ck_assert(kw_str_eq(got.responses.v[0].name, "wal"));
    expect_uuid(got.responses.v[0].topic_id, 1);
    ck_assert_int_eq(got.responses.v[0].error_code, 0);
    ck_assert_int_eq(got.responses.v[0].error_message.len, -1);
    ck_assert_int_eq(got.responses.v[1].name.len, -1);
    expect_uuid(got.responses.v[1].topic_id, 0x10);
    ck_assert_int_eq(got.responses.v[1].error_code, 100);
    ck_assert(kw_str_eq(got.responses.v[1].error_message, "unknown id"));
    kw__arena_reset(&a);

    expect_response_cut_and_padded_fail(KW_API_DELETE_TOPICS, 6, delete_topics_v6_resp,
                                        N(delete_topics_v6_resp));
}
END_TEST

/* v4: first flexible version; no id, no message (null by default). */
/* clang-format off */
static const uint8_t delete_topics_v4_resp[] = {
    0x00, 0x00, 0x00, 0x0F, 0x00,
    0x00, 0x00, 0x00, 0x05,       /* throttle_time_ms 5 */
    0x02,
    0x04, WAL,
    0x00, 0x00,
    0x00,
    0x00,
};
/* clang-format on */

START_TEST(delete_topics_v4_response_is_compact_without_v5_fields)
{
    kw_delete_topics_resp_result res = {kw_str_c("wal"), uuid_from(9), 0, kw_str_c("skipped")};
    kw_delete_topics_resp resp = {.throttle_time_ms = 5, .responses = {&res, 1}};
    expect_response_bytes(KW_API_DELETE_TOPICS, 4, 15, &resp, delete_topics_v4_resp,
                          N(delete_topics_v4_resp));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_delete_topics_resp got;
    decode_response(delete_topics_v4_resp, N(delete_topics_v4_resp), &a, KW_API_DELETE_TOPICS, 4,
                    &got);
    ck_assert_int_eq(got.throttle_time_ms, 5);
    ck_assert_int_eq(got.responses.n, 1);
    ck_assert(kw_str_eq(got.responses.v[0].name, "wal"));
    expect_uuid_zero(got.responses.v[0].topic_id);
    ck_assert_int_eq(got.responses.v[0].error_code, 0);
    ck_assert_int_eq(got.responses.v[0].error_message.len, -1);
    kw__arena_reset(&a);

    expect_response_cut_and_padded_fail(KW_API_DELETE_TOPICS, 4, delete_topics_v4_resp,
                                        N(delete_topics_v4_resp));
}
END_TEST

START_TEST(delete_topics_null_names_only_from_v6)
{
    /* encoding a null result name at v5 is refused */
    kw_delete_topics_resp_result res = {KW_STR_NULL, {{0}}, 0, KW_STR_NULL};
    kw_delete_topics_resp resp = {.responses = {&res, 1}};
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__response_encode(&w, api(KW_API_DELETE_TOPICS), 5, 1, &resp), KW_EINVAL);
    kw__wr_free(&w);
    kw__wr_init(&w);
    ck_assert_int_eq(kw__response_encode(&w, api(KW_API_DELETE_TOPICS), 6, 1, &resp), 0);
    kw__wr_free(&w);

    /* a null entry in the v1 list of names is malformed */
    /* clang-format off */
    static const uint8_t null_name[] = {0x00, 0x14, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, KW_CLIENT,
                                        0x00, 0x00, 0x00, 0x01, 0xFF, 0xFF,
                                        0x00, 0x00, 0x13, 0x88};
    /* clang-format on */
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_delete_topics_req req;
    kw_request_header hdr;
    const kw_api *got;
    ck_assert_int_eq(kw__request_decode(null_name, N(null_name), &a, &hdr, &got, &req, sizeof(req)),
                     KW_EMALFORMED);
    /* a null name in a v5 response (compact 0) is malformed too */
    /* clang-format off */
    static const uint8_t v5_null[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
                                      0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    /* clang-format on */
    kw_delete_topics_resp out;
    ck_assert_int_eq(
        kw__response_decode(v5_null, N(v5_null), api(KW_API_DELETE_TOPICS), 5, &a, &out),
        KW_EMALFORMED);
    kw__arena_reset(&a);
}
END_TEST

/* ---- DescribeConfigs ---- */

/* clang-format off */
static const uint8_t describe_configs_v1_req[] = {
    0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10, KW_CLIENT,
    0x00, 0x00, 0x00, 0x01,       /* resources: 1 */
    0x02,                         /* resource_type TOPIC */
    0x00, 0x03, WAL,
    0xFF, 0xFF, 0xFF, 0xFF,       /* configuration_keys null: all */
    0x01,                         /* include_synonyms */
};
/* clang-format on */

START_TEST(describe_configs_v1_request_with_null_keys)
{
    kw_describe_configs_req_resource res = {2, kw_str_c("wal"), {NULL, -1}};
    kw_describe_configs_req req = {
        .resources = {&res, 1}, .include_synonyms = true, .include_documentation = true /* v3+ */};
    expect_request_bytes(KW_API_DESCRIBE_CONFIGS, 1, 16, &req, describe_configs_v1_req,
                         N(describe_configs_v1_req));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_describe_configs_req got;
    decode_request(describe_configs_v1_req, N(describe_configs_v1_req), &a, KW_API_DESCRIBE_CONFIGS,
                   1, 16, &got, sizeof(got));
    ck_assert_int_eq(got.resources.n, 1);
    ck_assert_int_eq(got.resources.v[0].resource_type, 2);
    ck_assert(kw_str_eq(got.resources.v[0].resource_name, "wal"));
    ck_assert_int_eq(got.resources.v[0].configuration_keys.n, -1);
    ck_assert(got.include_synonyms);
    ck_assert(!got.include_documentation);
    kw__arena_reset(&a);

    expect_request_cut_and_padded_fail(describe_configs_v1_req, N(describe_configs_v1_req));
}
END_TEST

/* clang-format off */
static const uint8_t describe_configs_v4_req[] = {
    0x00, 0x20, 0x00, 0x04, 0x00, 0x00, 0x00, 0x11, KW_CLIENT, 0x00,
    0x02,
    0x02,
    0x04, WAL,
    0x02, 0x0D, RETENTION_MS,     /* configuration_keys ["retention.ms"] */
    0x00,                         /* resource tags */
    0x00,                         /* include_synonyms */
    0x01,                         /* include_documentation */
    0x00,
};
/* clang-format on */

START_TEST(describe_configs_v4_request_is_flexible_with_keys)
{
    kw_str keys[] = {kw_str_c("retention.ms")};
    kw_describe_configs_req_resource res = {2, kw_str_c("wal"), {keys, 1}};
    kw_describe_configs_req req = {
        .resources = {&res, 1}, .include_synonyms = false, .include_documentation = true};
    expect_request_bytes(KW_API_DESCRIBE_CONFIGS, 4, 17, &req, describe_configs_v4_req,
                         N(describe_configs_v4_req));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_describe_configs_req got;
    decode_request(describe_configs_v4_req, N(describe_configs_v4_req), &a, KW_API_DESCRIBE_CONFIGS,
                   4, 17, &got, sizeof(got));
    ck_assert_int_eq(got.resources.n, 1);
    ck_assert_int_eq(got.resources.v[0].resource_type, 2);
    ck_assert(kw_str_eq(got.resources.v[0].resource_name, "wal"));
    ck_assert_int_eq(got.resources.v[0].configuration_keys.n, 1);
    ck_assert(kw_str_eq(got.resources.v[0].configuration_keys.v[0], "retention.ms"));
    ck_assert(!got.include_synonyms);
    ck_assert(got.include_documentation);
    kw__arena_reset(&a);

    expect_request_cut_and_padded_fail(describe_configs_v4_req, N(describe_configs_v4_req));
}
END_TEST

/* clang-format off */
static const uint8_t describe_configs_v4_resp[] = {
    0x00, 0x00, 0x00, 0x12, 0x00,
    0x00, 0x00, 0x00, 0x00,
    0x02,                         /* results: 1 */
    0x00, 0x00,                   /* error_code */
    0x00,                         /* error_message null */
    0x02,                         /* resource_type */
    0x04, WAL,
    0x02,                         /* configs: 1 */
    0x0D, RETENTION_MS,
    0x0A, SEVEN_DAYS_MS,
    0x00,                         /* read_only */
    0x05,                         /* config_source DEFAULT_CONFIG */
    0x00,                         /* is_sensitive */
    0x03,                         /* synonyms: 2 */
    0x11, 'l', 'o', 'g', '.', RETENTION_MS,
    0x0A, SEVEN_DAYS_MS,
    0x05,                         /* source STATIC_BROKER_CONFIG */
    0x00,                         /* synonym tags */
    0x0D, RETENTION_MS,
    0x00,                         /* value null */
    0x01,                         /* source DYNAMIC_TOPIC_CONFIG */
    0x00,
    0x05,                         /* config_type LONG */
    0x00,                         /* documentation null */
    0x00,                         /* config tags */
    0x00,                         /* result tags */
    0x00,
};
/* clang-format on */

START_TEST(describe_configs_v4_response_has_synonyms_type_and_documentation)
{
    kw_describe_configs_resp_synonym syn[] = {
        {kw_str_c("log.retention.ms"), kw_str_c("604800000"), 5},
        {kw_str_c("retention.ms"), KW_STR_NULL, 1},
    };
    kw_describe_configs_resp_config cfg = {
        .name = kw_str_c("retention.ms"),
        .value = kw_str_c("604800000"),
        .read_only = false,
        .is_default = true, /* v0 only: not written */
        .config_source = 5,
        .is_sensitive = false,
        .synonyms = {syn, 2},
        .config_type = 5,
        .documentation = KW_STR_NULL,
    };
    kw_describe_configs_resp_result res = {0, KW_STR_NULL, 2, kw_str_c("wal"), {&cfg, 1}};
    kw_describe_configs_resp resp = {0, {&res, 1}};
    expect_response_bytes(KW_API_DESCRIBE_CONFIGS, 4, 18, &resp, describe_configs_v4_resp,
                          N(describe_configs_v4_resp));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_describe_configs_resp got;
    decode_response(describe_configs_v4_resp, N(describe_configs_v4_resp), &a,
                    KW_API_DESCRIBE_CONFIGS, 4, &got);
    ck_assert_int_eq(got.throttle_time_ms, 0);
    ck_assert_int_eq(got.results.n, 1);
    const kw_describe_configs_resp_result *r = &got.results.v[0];
    ck_assert_int_eq(r->error_code, 0);
    ck_assert_int_eq(r->error_message.len, -1);
    ck_assert_int_eq(r->resource_type, 2);
    ck_assert(kw_str_eq(r->resource_name, "wal"));
    ck_assert_int_eq(r->configs.n, 1);
    const kw_describe_configs_resp_config *c = &r->configs.v[0];
    ck_assert(kw_str_eq(c->name, "retention.ms"));
    ck_assert(kw_str_eq(c->value, "604800000"));
    ck_assert(!c->read_only);
    ck_assert(!c->is_default);
    ck_assert_int_eq(c->config_source, 5);
    ck_assert(!c->is_sensitive);
    ck_assert_int_eq(c->synonyms.n, 2);
    ck_assert(kw_str_eq(c->synonyms.v[0].name, "log.retention.ms"));
    ck_assert(kw_str_eq(c->synonyms.v[0].value, "604800000"));
    ck_assert_int_eq(c->synonyms.v[0].source, 5);
    ck_assert(kw_str_eq(c->synonyms.v[1].name, "retention.ms"));
    ck_assert_int_eq(c->synonyms.v[1].value.len, -1);
    ck_assert_int_eq(c->synonyms.v[1].source, 1);
    ck_assert_int_eq(c->config_type, 5);
    ck_assert_int_eq(c->documentation.len, -1);
    kw__arena_reset(&a);

    expect_response_cut_and_padded_fail(KW_API_DESCRIBE_CONFIGS, 4, describe_configs_v4_resp,
                                        N(describe_configs_v4_resp));
}
END_TEST

/* v1: a sensitive broker config, value null, no synonyms; nothing from v3. */
/* clang-format off */
static const uint8_t describe_configs_v1_resp[] = {
    0x00, 0x00, 0x00, 0x13,
    0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x01,
    0x00, 0x00,
    0xFF, 0xFF,                   /* error_message null */
    0x04,                         /* resource_type BROKER */
    0x00, 0x01, '1',
    0x00, 0x00, 0x00, 0x01,
    0x00, 0x10, 's', 's', 'l', '.', 'k', 'e', 'y', '.', 'p', 'a', 's', 's', 'w', 'o', 'r', 'd',
    0xFF, 0xFF,                   /* value null */
    0x00,                         /* read_only */
    0x04,                         /* config_source STATIC_BROKER_CONFIG */
    0x01,                         /* is_sensitive */
    0x00, 0x00, 0x00, 0x00,       /* synonyms: 0 */
};
/* clang-format on */

START_TEST(describe_configs_v1_response_is_classic_with_null_value)
{
    kw_describe_configs_resp_config cfg = {
        .name = kw_str_c("ssl.key.password"),
        .value = KW_STR_NULL,
        .config_source = 4,
        .is_sensitive = true,
        .synonyms = {NULL, 0},
        .config_type = 9, /* v3+: not written */
        .documentation = kw_str_c("v3+"),
    };
    kw_describe_configs_resp_result res = {0, KW_STR_NULL, 4, kw_str_c("1"), {&cfg, 1}};
    kw_describe_configs_resp resp = {0, {&res, 1}};
    expect_response_bytes(KW_API_DESCRIBE_CONFIGS, 1, 19, &resp, describe_configs_v1_resp,
                          N(describe_configs_v1_resp));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_describe_configs_resp got;
    decode_response(describe_configs_v1_resp, N(describe_configs_v1_resp), &a,
                    KW_API_DESCRIBE_CONFIGS, 1, &got);
    ck_assert_int_eq(got.results.n, 1);
    const kw_describe_configs_resp_result *r = &got.results.v[0];
    ck_assert_int_eq(r->error_message.len, -1);
    ck_assert_int_eq(r->resource_type, 4);
    ck_assert(kw_str_eq(r->resource_name, "1"));
    ck_assert_int_eq(r->configs.n, 1);
    const kw_describe_configs_resp_config *c = &r->configs.v[0];
    ck_assert(kw_str_eq(c->name, "ssl.key.password"));
    ck_assert_int_eq(c->value.len, -1);
    ck_assert(!c->read_only);
    ck_assert_int_eq(c->config_source, 4);
    ck_assert(c->is_sensitive);
    ck_assert_int_eq(c->synonyms.n, 0);
    ck_assert_int_eq(c->config_type, 0);
    ck_assert_int_eq(c->documentation.len, 0); /* spec default "" when absent */
    kw__arena_reset(&a);

    expect_response_cut_and_padded_fail(KW_API_DESCRIBE_CONFIGS, 1, describe_configs_v1_resp,
                                        N(describe_configs_v1_resp));
}
END_TEST

/* ---- CreatePartitions ---- */

/* clang-format off */
static const uint8_t create_partitions_v0_req[] = {
    0x00, 0x25, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, KW_CLIENT,
    0x00, 0x00, 0x00, 0x01,
    0x00, 0x03, WAL,
    0x00, 0x00, 0x00, 0x03,       /* count 3 */
    0xFF, 0xFF, 0xFF, 0xFF,       /* assignments null: the broker places them */
    0x00, 0x00, 0x75, 0x30,
    0x00,
};
/* clang-format on */

START_TEST(create_partitions_v0_request_with_null_assignments)
{
    kw_create_partitions_req_topic topic = {kw_str_c("wal"), 3, {NULL, -1}};
    kw_create_partitions_req req = {{&topic, 1}, 30000, false};
    expect_request_bytes(KW_API_CREATE_PARTITIONS, 0, 20, &req, create_partitions_v0_req,
                         N(create_partitions_v0_req));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_create_partitions_req got;
    decode_request(create_partitions_v0_req, N(create_partitions_v0_req), &a,
                   KW_API_CREATE_PARTITIONS, 0, 20, &got, sizeof(got));
    ck_assert_int_eq(got.topics.n, 1);
    ck_assert(kw_str_eq(got.topics.v[0].name, "wal"));
    ck_assert_int_eq(got.topics.v[0].count, 3);
    ck_assert_int_eq(got.topics.v[0].assignments.n, -1);
    ck_assert_int_eq(got.timeout_ms, 30000);
    ck_assert(!got.validate_only);
    kw__arena_reset(&a);

    expect_request_cut_and_padded_fail(create_partitions_v0_req, N(create_partitions_v0_req));
}
END_TEST

/* clang-format off */
static const uint8_t create_partitions_v2_req[] = {
    0x00, 0x25, 0x00, 0x02, 0x00, 0x00, 0x00, 0x15, KW_CLIENT, 0x00,
    0x02,
    0x04, WAL,
    0x00, 0x00, 0x00, 0x03,
    0x03,                                     /* assignments: 2 */
    0x02, 0x00, 0x00, 0x00, 0x01, 0x00,       /* [1] */
    0x02, 0x00, 0x00, 0x00, 0x02, 0x00,       /* [2] */
    0x00,                                     /* topic tags */
    0x00, 0x00, 0x75, 0x30,
    0x01,
    0x00,
};
/* clang-format on */

START_TEST(create_partitions_v2_request_is_flexible_with_assignments)
{
    int32_t b1 = 1, b2 = 2;
    kw_create_partitions_req_assignment asg[] = {{{&b1, 1}}, {{&b2, 1}}};
    kw_create_partitions_req_topic topic = {kw_str_c("wal"), 3, {asg, 2}};
    kw_create_partitions_req req = {{&topic, 1}, 30000, true};
    expect_request_bytes(KW_API_CREATE_PARTITIONS, 2, 21, &req, create_partitions_v2_req,
                         N(create_partitions_v2_req));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_create_partitions_req got;
    decode_request(create_partitions_v2_req, N(create_partitions_v2_req), &a,
                   KW_API_CREATE_PARTITIONS, 2, 21, &got, sizeof(got));
    ck_assert_int_eq(got.topics.n, 1);
    ck_assert(kw_str_eq(got.topics.v[0].name, "wal"));
    ck_assert_int_eq(got.topics.v[0].count, 3);
    ck_assert_int_eq(got.topics.v[0].assignments.n, 2);
    ck_assert_int_eq(got.topics.v[0].assignments.v[0].broker_ids.n, 1);
    ck_assert_int_eq(got.topics.v[0].assignments.v[0].broker_ids.v[0], 1);
    ck_assert_int_eq(got.topics.v[0].assignments.v[1].broker_ids.n, 1);
    ck_assert_int_eq(got.topics.v[0].assignments.v[1].broker_ids.v[0], 2);
    ck_assert_int_eq(got.timeout_ms, 30000);
    ck_assert(got.validate_only);
    kw__arena_reset(&a);

    expect_request_cut_and_padded_fail(create_partitions_v2_req, N(create_partitions_v2_req));
}
END_TEST

/* clang-format off */
static const uint8_t create_partitions_v1_resp[] = {
    0x00, 0x00, 0x00, 0x16,
    0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x01,
    0x00, 0x03, WAL,
    0x00, 0x00,
    0xFF, 0xFF,                   /* error_message null */
};
/* clang-format on */

START_TEST(create_partitions_v1_response_is_classic)
{
    kw_create_partitions_resp_result res = {kw_str_c("wal"), 0, KW_STR_NULL};
    kw_create_partitions_resp resp = {0, {&res, 1}};
    expect_response_bytes(KW_API_CREATE_PARTITIONS, 1, 22, &resp, create_partitions_v1_resp,
                          N(create_partitions_v1_resp));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_create_partitions_resp got;
    decode_response(create_partitions_v1_resp, N(create_partitions_v1_resp), &a,
                    KW_API_CREATE_PARTITIONS, 1, &got);
    ck_assert_int_eq(got.throttle_time_ms, 0);
    ck_assert_int_eq(got.results.n, 1);
    ck_assert(kw_str_eq(got.results.v[0].name, "wal"));
    ck_assert_int_eq(got.results.v[0].error_code, 0);
    ck_assert_int_eq(got.results.v[0].error_message.len, -1);
    kw__arena_reset(&a);

    expect_response_cut_and_padded_fail(KW_API_CREATE_PARTITIONS, 1, create_partitions_v1_resp,
                                        N(create_partitions_v1_resp));
}
END_TEST

/* clang-format off */
static const uint8_t create_partitions_v3_resp[] = {
    0x00, 0x00, 0x00, 0x17, 0x00,
    0x00, 0x00, 0x00, 0x00,
    0x02,
    0x04, WAL,
    0x00, 0x25,                   /* error_code 37 INVALID_PARTITIONS */
    0x0A, 't', 'o', 'o', ' ', 's', 'm', 'a', 'l', 'l',
    0x00,
    0x00,
};
/* clang-format on */

START_TEST(create_partitions_v3_response_is_flexible_with_message)
{
    kw_create_partitions_resp_result res = {kw_str_c("wal"), 37, kw_str_c("too small")};
    kw_create_partitions_resp resp = {0, {&res, 1}};
    expect_response_bytes(KW_API_CREATE_PARTITIONS, 3, 23, &resp, create_partitions_v3_resp,
                          N(create_partitions_v3_resp));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_create_partitions_resp got;
    decode_response(create_partitions_v3_resp, N(create_partitions_v3_resp), &a,
                    KW_API_CREATE_PARTITIONS, 3, &got);
    ck_assert_int_eq(got.results.n, 1);
    ck_assert(kw_str_eq(got.results.v[0].name, "wal"));
    ck_assert_int_eq(got.results.v[0].error_code, 37);
    ck_assert(kw_str_eq(got.results.v[0].error_message, "too small"));
    kw__arena_reset(&a);

    expect_response_cut_and_padded_fail(KW_API_CREATE_PARTITIONS, 3, create_partitions_v3_resp,
                                        N(create_partitions_v3_resp));
}
END_TEST

/* ---- SaslHandshake ---- */

/* clang-format off */
static const uint8_t sasl_handshake_v1_req[] = {
    0x00, 0x11, 0x00, 0x01, 0x00, 0x00, 0x00, 0x18, KW_CLIENT,
    0x00, 0x0D, SCRAM_256,
};
/* clang-format on */

START_TEST(sasl_handshake_v1_request_names_the_mechanism)
{
    const kw_api *hs = api(KW_API_SASL_HANDSHAKE);
    ck_assert_int_eq(hs->flex, INT16_MAX);
    ck_assert_int_eq(kw__request_header_version(hs, 1), 1);
    ck_assert_int_eq(kw__response_header_version(hs, 1), 0);
    kw_sasl_handshake_req req = {kw_str_c("SCRAM-SHA-256")};
    expect_request_bytes(KW_API_SASL_HANDSHAKE, 1, 24, &req, sasl_handshake_v1_req,
                         N(sasl_handshake_v1_req));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_sasl_handshake_req got;
    decode_request(sasl_handshake_v1_req, N(sasl_handshake_v1_req), &a, KW_API_SASL_HANDSHAKE, 1,
                   24, &got, sizeof(got));
    ck_assert(kw_str_eq(got.mechanism, "SCRAM-SHA-256"));
    kw__arena_reset(&a);

    expect_request_cut_and_padded_fail(sasl_handshake_v1_req, N(sasl_handshake_v1_req));
}
END_TEST

/* clang-format off */
static const uint8_t sasl_handshake_v1_resp[] = {
    0x00, 0x00, 0x00, 0x18,
    0x00, 0x00,
    0x00, 0x00, 0x00, 0x02,
    0x00, 0x05, 'P', 'L', 'A', 'I', 'N',
    0x00, 0x0D, SCRAM_256,
};
/* clang-format on */

/* clang-format off */
static const uint8_t sasl_handshake_v0_resp[] = {
    0x00, 0x00, 0x00, 0x19,
    0x00, 0x21,                   /* error_code 33 UNSUPPORTED_SASL_MECHANISM */
    0x00, 0x00, 0x00, 0x01,
    0x00, 0x05, 'P', 'L', 'A', 'I', 'N',
};
/* clang-format on */

START_TEST(sasl_handshake_responses_list_mechanisms)
{
    kw_str mechs[] = {kw_str_c("PLAIN"), kw_str_c("SCRAM-SHA-256")};
    kw_sasl_handshake_resp resp = {0, {mechs, 2}};
    expect_response_bytes(KW_API_SASL_HANDSHAKE, 1, 24, &resp, sasl_handshake_v1_resp,
                          N(sasl_handshake_v1_resp));
    kw_sasl_handshake_resp err = {33, {mechs, 1}};
    expect_response_bytes(KW_API_SASL_HANDSHAKE, 0, 25, &err, sasl_handshake_v0_resp,
                          N(sasl_handshake_v0_resp));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_sasl_handshake_resp got;
    decode_response(sasl_handshake_v1_resp, N(sasl_handshake_v1_resp), &a, KW_API_SASL_HANDSHAKE, 1,
                    &got);
    ck_assert_int_eq(got.error_code, 0);
    ck_assert_int_eq(got.mechanisms.n, 2);
    ck_assert(kw_str_eq(got.mechanisms.v[0], "PLAIN"));
    ck_assert(kw_str_eq(got.mechanisms.v[1], "SCRAM-SHA-256"));
    decode_response(sasl_handshake_v0_resp, N(sasl_handshake_v0_resp), &a, KW_API_SASL_HANDSHAKE, 0,
                    &got);
    ck_assert_int_eq(got.error_code, 33);
    ck_assert_int_eq(got.mechanisms.n, 1);
    ck_assert(kw_str_eq(got.mechanisms.v[0], "PLAIN"));
    kw__arena_reset(&a);

    expect_response_cut_and_padded_fail(KW_API_SASL_HANDSHAKE, 1, sasl_handshake_v1_resp,
                                        N(sasl_handshake_v1_resp));
    expect_response_cut_and_padded_fail(KW_API_SASL_HANDSHAKE, 0, sasl_handshake_v0_resp,
                                        N(sasl_handshake_v0_resp));
}
END_TEST

/* ---- SaslAuthenticate ---- */

/* clang-format off */
static const uint8_t sasl_authenticate_v0_req[] = {
    0x00, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1A, KW_CLIENT,
    0x00, 0x00, 0x00, 0x13, PLAIN_AUTH, /* 19 bytes: \0alice\0alice-secret */
};
/* clang-format on */

/* clang-format off */
static const uint8_t sasl_authenticate_v2_req[] = {
    0x00, 0x24, 0x00, 0x02, 0x00, 0x00, 0x00, 0x1B, KW_CLIENT, 0x00,
    0x14, PLAIN_AUTH,             /* compact: 19 + 1 */
    0x00,
};
/* clang-format on */

START_TEST(sasl_authenticate_requests_carry_auth_bytes)
{
    static const uint8_t plain[] = {PLAIN_AUTH};
    kw_sasl_authenticate_req req = {{plain, (int32_t)sizeof(plain)}};
    expect_request_bytes(KW_API_SASL_AUTHENTICATE, 0, 26, &req, sasl_authenticate_v0_req,
                         N(sasl_authenticate_v0_req));
    expect_request_bytes(KW_API_SASL_AUTHENTICATE, 2, 27, &req, sasl_authenticate_v2_req,
                         N(sasl_authenticate_v2_req));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_sasl_authenticate_req got;
    decode_request(sasl_authenticate_v0_req, N(sasl_authenticate_v0_req), &a,
                   KW_API_SASL_AUTHENTICATE, 0, 26, &got, sizeof(got));
    ck_assert_int_eq(got.auth_bytes.len, 19);
    ck_assert_mem_eq(got.auth_bytes.ptr, plain, 19);
    decode_request(sasl_authenticate_v2_req, N(sasl_authenticate_v2_req), &a,
                   KW_API_SASL_AUTHENTICATE, 2, 27, &got, sizeof(got));
    ck_assert_int_eq(got.auth_bytes.len, 19);
    ck_assert_mem_eq(got.auth_bytes.ptr, plain, 19);
    kw__arena_reset(&a);

    /* auth bytes are not nullable */
    kw_sasl_authenticate_req null_req = {KW_BYTES_NULL};
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(
        kw__request_encode(&w, api(KW_API_SASL_AUTHENTICATE), 2, 1, kw_str_c("kw"), &null_req),
        KW_EINVAL);
    kw__wr_free(&w);

    expect_request_cut_and_padded_fail(sasl_authenticate_v0_req, N(sasl_authenticate_v0_req));
    expect_request_cut_and_padded_fail(sasl_authenticate_v2_req, N(sasl_authenticate_v2_req));
}
END_TEST

/* clang-format off */
static const uint8_t sasl_authenticate_v1_resp[] = {
    0x00, 0x00, 0x00, 0x1C,
    0x00, 0x00,
    0xFF, 0xFF,                   /* error_message null */
    0x00, 0x00, 0x00, 0x00,       /* auth_bytes empty */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x36, 0xEE, 0x80, /* session_lifetime_ms 3600000 */
};
/* clang-format on */

/* clang-format off */
static const uint8_t sasl_authenticate_v2_resp[] = {
    0x00, 0x00, 0x00, 0x1D, 0x00,
    0x00, 0x3A,                   /* error_code 58 SASL_AUTHENTICATION_FAILED */
    0x16, 'A', 'u', 't', 'h', 'e', 'n', 't', 'i', 'c', 'a', 't', 'i', 'o', 'n', ' ',
    'f', 'a', 'i', 'l', 'e', 'd',
    0x01,                         /* auth_bytes empty */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00,
};
/* clang-format on */

/* clang-format off */
static const uint8_t sasl_authenticate_v0_resp[] = {
    0x00, 0x00, 0x00, 0x1E,
    0x00, 0x00,
    0xFF, 0xFF,
    0x00, 0x00, 0x00, 0x04, 'v', '=', 'x', 'y',
};
/* clang-format on */

START_TEST(sasl_authenticate_responses_and_session_lifetime)
{
    kw_sasl_authenticate_resp ok = {0, KW_STR_NULL, {(const uint8_t *)"", 0}, 3600000};
    expect_response_bytes(KW_API_SASL_AUTHENTICATE, 1, 28, &ok, sasl_authenticate_v1_resp,
                          N(sasl_authenticate_v1_resp));
    kw_sasl_authenticate_resp fail = {
        58, kw_str_c("Authentication failed"), {(const uint8_t *)"", 0}, 0};
    expect_response_bytes(KW_API_SASL_AUTHENTICATE, 2, 29, &fail, sasl_authenticate_v2_resp,
                          N(sasl_authenticate_v2_resp));
    kw_sasl_authenticate_resp v0 = {0, KW_STR_NULL, {(const uint8_t *)"v=xy", 4}, 777};
    expect_response_bytes(KW_API_SASL_AUTHENTICATE, 0, 30, &v0, sasl_authenticate_v0_resp,
                          N(sasl_authenticate_v0_resp));

    kw_arena a;
    kw__arena_init(&a, 0);
    kw_sasl_authenticate_resp got;
    decode_response(sasl_authenticate_v1_resp, N(sasl_authenticate_v1_resp), &a,
                    KW_API_SASL_AUTHENTICATE, 1, &got);
    ck_assert_int_eq(got.error_code, 0);
    ck_assert_int_eq(got.error_message.len, -1);
    ck_assert_int_eq(got.auth_bytes.len, 0);
    ck_assert(got.session_lifetime_ms == 3600000);
    decode_response(sasl_authenticate_v2_resp, N(sasl_authenticate_v2_resp), &a,
                    KW_API_SASL_AUTHENTICATE, 2, &got);
    ck_assert_int_eq(got.error_code, 58);
    ck_assert(kw_str_eq(got.error_message, "Authentication failed"));
    ck_assert_int_eq(got.auth_bytes.len, 0);
    ck_assert(got.session_lifetime_ms == 0);
    decode_response(sasl_authenticate_v0_resp, N(sasl_authenticate_v0_resp), &a,
                    KW_API_SASL_AUTHENTICATE, 0, &got);
    ck_assert_int_eq(got.error_code, 0);
    ck_assert_int_eq(got.auth_bytes.len, 4);
    ck_assert_mem_eq(got.auth_bytes.ptr, "v=xy", 4);
    ck_assert(got.session_lifetime_ms == 0); /* v0 has none: the default */
    kw__arena_reset(&a);

    expect_response_cut_and_padded_fail(KW_API_SASL_AUTHENTICATE, 1, sasl_authenticate_v1_resp,
                                        N(sasl_authenticate_v1_resp));
    expect_response_cut_and_padded_fail(KW_API_SASL_AUTHENTICATE, 2, sasl_authenticate_v2_resp,
                                        N(sasl_authenticate_v2_resp));
    expect_response_cut_and_padded_fail(KW_API_SASL_AUTHENTICATE, 0, sasl_authenticate_v0_resp,
                                        N(sasl_authenticate_v0_resp));
}
END_TEST

/* ---- registry and defaults ---- */

START_TEST(version_ranges_match_kafka_4)
{
    static const struct {
        int key;
        const char *name;
        int vmin, vmax, flex;
    } want[] = {
        {KW_API_CREATE_TOPICS, "CreateTopics", 2, 7, 5},
        {KW_API_DELETE_TOPICS, "DeleteTopics", 1, 6, 4},
        {KW_API_DESCRIBE_CONFIGS, "DescribeConfigs", 1, 4, 4},
        {KW_API_CREATE_PARTITIONS, "CreatePartitions", 0, 3, 2},
        {KW_API_SASL_HANDSHAKE, "SaslHandshake", 0, 1, INT16_MAX},
        {KW_API_SASL_AUTHENTICATE, "SaslAuthenticate", 0, 2, 2},
    };
    for (size_t i = 0; i < N(want); i++) {
        const kw_api *x = api(want[i].key);
        ck_assert_str_eq(x->name, want[i].name);
        ck_assert_int_eq(x->vmin, want[i].vmin);
        ck_assert_int_eq(x->vmax, want[i].vmax);
        ck_assert_int_eq(x->flex, want[i].flex);
        ck_assert_ptr_nonnull(x->req);
        ck_assert_ptr_nonnull(x->resp);
    }
}
END_TEST

START_TEST(schema_init_applies_spec_defaults)
{
    kw_create_topics_req ct;
    kw__schema_init(api(KW_API_CREATE_TOPICS)->req, 7, &ct);
    ck_assert_int_eq(ct.timeout_ms, 60000);
    ck_assert(!ct.validate_only);
    ck_assert_int_eq(ct.topics.n, 0);

    /* DescribeConfigs v0 had no ConfigSource: the spec's placeholder is -1 */
    const kw_field *results = &api(KW_API_DESCRIBE_CONFIGS)->resp->fields[1];
    ck_assert_str_eq(results->name, "results");
    const kw_field *configs = &results->sub->fields[4];
    ck_assert_str_eq(configs->name, "configs");
    kw_describe_configs_resp_config dc;
    kw__schema_init(configs->sub, 0, &dc);
    ck_assert_int_eq(dc.config_source, -1);
    ck_assert_int_eq(dc.config_type, 0);
    ck_assert(!dc.is_default);

    const kw_field *topics = &api(KW_API_CREATE_TOPICS)->resp->fields[1];
    ck_assert_str_eq(topics->name, "topics");
    kw_create_topics_resp_topic ctt;
    kw__schema_init(topics->sub, 5, &ctt);
    ck_assert_int_eq(ctt.num_partitions, -1);
    ck_assert_int_eq(ctt.replication_factor, -1);
    ck_assert_int_eq(ctt.topic_config_error_code, 0);
    ck_assert_int_eq(ctt.configs.n, 0);
    const kw_field *ctc = &topics->sub->fields[7];
    ck_assert_str_eq(ctc->name, "configs");
    kw_create_topics_resp_config cc;
    kw__schema_init(ctc->sub, 5, &cc);
    ck_assert_int_eq(cc.config_source, -1);

    kw_delete_topics_resp_result dr;
    ck_assert_str_eq(api(KW_API_DELETE_TOPICS)->resp->fields[1].name, "responses");
    kw__schema_init(api(KW_API_DELETE_TOPICS)->resp->fields[1].sub, 6, &dr);
    ck_assert_int_eq(dr.error_message.len, -1);
    ck_assert_int_eq(dr.name.len, 0);

    kw_create_partitions_resp_result cr;
    ck_assert_str_eq(api(KW_API_CREATE_PARTITIONS)->resp->fields[1].name, "results");
    kw__schema_init(api(KW_API_CREATE_PARTITIONS)->resp->fields[1].sub, 3, &cr);
    ck_assert_int_eq(cr.error_message.len, -1);

    kw_sasl_authenticate_resp sa;
    kw__schema_init(api(KW_API_SASL_AUTHENTICATE)->resp, 2, &sa);
    ck_assert(sa.session_lifetime_ms == 0);
    ck_assert_int_eq(sa.error_message.len, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("msg_admin");
    TCase *tc = tcase_create("by hand");
    tcase_add_test(tc, create_topics_v5_request_is_compact_with_tag_sections);
    tcase_add_test(tc, create_topics_v4_request_is_classic_and_defaults_timeout);
    tcase_add_test(tc, create_topics_v7_response_carries_topic_id_configs_and_tagged_error);
    tcase_add_test(tc, create_topics_v6_response_omits_default_tag_and_allows_null_configs);
    tcase_add_test(tc, create_topics_v2_response_is_classic_and_leaves_v5_fields_at_defaults);
    tcase_add_test(tc, create_topics_unknown_tags_are_skipped);
    tcase_add_test(tc, create_topics_bad_tagged_field_sizes_are_errors);
    tcase_add_test(tc, create_topics_null_where_spec_forbids_is_refused);
    tcase_add_test(tc, create_topics_versions_outside_2_to_7_are_rejected);
    tcase_add_test(tc, create_topics_hostile_counts_fail_before_allocating);
    tcase_add_test(tc, delete_topics_v1_request_sends_names);
    tcase_add_test(tc, delete_topics_v6_request_sends_ids_and_null_names);
    tcase_add_test(tc, delete_topics_v6_response_has_ids_null_names_and_messages);
    tcase_add_test(tc, delete_topics_v4_response_is_compact_without_v5_fields);
    tcase_add_test(tc, delete_topics_null_names_only_from_v6);
    tcase_add_test(tc, describe_configs_v1_request_with_null_keys);
    tcase_add_test(tc, describe_configs_v4_request_is_flexible_with_keys);
    tcase_add_test(tc, describe_configs_v4_response_has_synonyms_type_and_documentation);
    tcase_add_test(tc, describe_configs_v1_response_is_classic_with_null_value);
    tcase_add_test(tc, create_partitions_v0_request_with_null_assignments);
    tcase_add_test(tc, create_partitions_v2_request_is_flexible_with_assignments);
    tcase_add_test(tc, create_partitions_v1_response_is_classic);
    tcase_add_test(tc, create_partitions_v3_response_is_flexible_with_message);
    tcase_add_test(tc, sasl_handshake_v1_request_names_the_mechanism);
    tcase_add_test(tc, sasl_handshake_responses_list_mechanisms);
    tcase_add_test(tc, sasl_authenticate_requests_carry_auth_bytes);
    tcase_add_test(tc, sasl_authenticate_responses_and_session_lifetime);
    tcase_add_test(tc, version_ranges_match_kafka_4);
    tcase_add_test(tc, schema_init_applies_spec_defaults);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
