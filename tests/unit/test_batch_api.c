/* Unit tests of the public batch API (kwal/batch.h): exact bytes, interop with the internal codec, bad input. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kwal/batch.h"
#include "proto/batch.h"
#include "proto/crc32c.h"

/* ---- helpers ---- */

static kw_batch_writer *writer(const kw_batch_writer_options *o)
{
    kw_batch_writer *w = NULL;
    char why[160] = "";
    ck_assert_msg(kw_batch_writer_new(&w, o, why, sizeof why) == 0, "writer: %s", why);
    ck_assert_ptr_nonnull(w);
    return w;
}

static kw_batch_reader *reader(const kw_batch_reader_options *o)
{
    kw_batch_reader *r = NULL;
    ck_assert_int_eq(kw_batch_reader_new(&r, o), 0);
    ck_assert_ptr_nonnull(r);
    return r;
}

/* Adds a record whose key and value are C strings (NULL = null). */
static int add(kw_batch_writer *w, int64_t ts, const char *key, const char *value,
               const kw_header *h, size_t nh)
{
    return kw_batch_writer_add(w, ts, key, key ? strlen(key) : 0, value, value ? strlen(value) : 0,
                               h, nh);
}

static kw_header H(const char *key, const char *value)
{
    return (kw_header){key, strlen(key), value, value ? strlen(value) : 0};
}

static bool mem_is(const uint8_t *p, size_t n, const char *s)
{
    if (!s)
        return p == NULL && n == 0;
    return p != NULL && n == strlen(s) && memcmp(p, s, n) == 0;
}

static bool kw_bytes_is(kw_bytes b, const char *s)
{
    if (!s)
        return b.len == -1;
    return b.len == (int32_t)strlen(s) && memcmp(b.ptr, s, (size_t)b.len) == 0;
}

static void reseal(uint8_t *batch, size_t len)
{
    kw_store_be32(batch + KW_BATCH_OFF_CRC,
                  kw__crc32c(0, batch + KW_BATCH_OFF_ATTRIBUTES, len - KW_BATCH_OFF_ATTRIBUTES));
}

/*
 * The batch worked out by hand in test_batch.c (two records, base timestamp
 * 1700000000000, record 1 with a null key and header h=x; CRC 0xFDE86579
 * from an implementation of CRC-32C written apart from kwal's).
 */
static const uint8_t hand_batch[84] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* baseOffset 0 */
    0x00, 0x00, 0x00, 0x48,                         /* batchLength 72 */
    0xFF, 0xFF, 0xFF, 0xFF,                         /* partitionLeaderEpoch -1 */
    0x02,                                           /* magic */
    0xFD, 0xE8, 0x65, 0x79,                         /* crc */
    0x00, 0x00,                                     /* attributes */
    0x00, 0x00, 0x00, 0x01,                         /* lastOffsetDelta 1 */
    0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x00, /* baseTimestamp */
    0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x05, /* maxTimestamp */
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, /* producerId -1 */
    0xFF, 0xFF,                                     /* producerEpoch -1 */
    0xFF, 0xFF, 0xFF, 0xFF,                         /* baseSequence -1 */
    0x00, 0x00, 0x00, 0x02,                         /* recordsCount 2 */
    0x12, 0x00, 0x00, 0x00, 0x02, 'k', 0x04, 'v', '1', 0x00,
    0x18, 0x00, 0x0A, 0x02, 0x01, 0x04, 'v', '2', 0x02, 0x02, 'h', 0x02, 'x',
};
#define HAND_TS 1700000000000LL

/*
 * Two records as kafka-clients 4.3.1 writes them with lz4 (base offset 42):
 * record 42 at 1700000000000, key "region-1", value "entry one, entry one,
 * entry one", header h=x; record 43 seven ms later, null key, value "entry
 * two".  The same bytes as test_batch.c's java_lz4.
 */
static const uint8_t java_lz4[129] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x75, 0xff, 0xff, 0xff, 0xff,
    0x02, 0xa0, 0x7d, 0xd9, 0xc0, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x8b, 0xcf,
    0xe5, 0x68, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x07, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x02, 0x04, 0x22, 0x4d,
    0x18, 0x60, 0x40, 0x82, 0x35, 0x00, 0x00, 0x00, 0xff, 0x0a, 0x62, 0x00, 0x00, 0x00, 0x10, 0x72,
    0x65, 0x67, 0x69, 0x6f, 0x6e, 0x2d, 0x31, 0x3e, 0x65, 0x6e, 0x74, 0x72, 0x79, 0x20, 0x6f, 0x6e,
    0x65, 0x2c, 0x20, 0x0b, 0x00, 0x01, 0xf0, 0x06, 0x02, 0x02, 0x68, 0x02, 0x78, 0x1e, 0x00, 0x0e,
    0x02, 0x01, 0x12, 0x65, 0x6e, 0x74, 0x72, 0x79, 0x20, 0x74, 0x77, 0x6f, 0x00, 0x00, 0x00, 0x00,
    0x00,
};

/* ---- the writer ---- */

START_TEST(writer_writes_the_hand_built_batch_exactly)
{
    kw_batch_writer_options o = {.base_timestamp = HAND_TS};
    kw_batch_writer *w = writer(&o);
    ck_assert_int_eq(add(w, HAND_TS, "k", "v1", NULL, 0), 0);
    kw_header h = H("h", "x");
    ck_assert_int_eq(add(w, HAND_TS + 5, NULL, "v2", &h, 1), 0);
    ck_assert_int_eq(kw_batch_writer_count(w), 2);
    const uint8_t *bytes;
    size_t len;
    ck_assert_int_eq(kw_batch_writer_finish(w, &bytes, &len), 0);
    ck_assert_uint_eq(len, sizeof hand_batch);
    ck_assert_mem_eq(bytes, hand_batch, sizeof hand_batch);
    ck_assert_str_eq(kw_batch_writer_errstr(w), "");
    kw_batch_writer_destroy(w);
}
END_TEST

START_TEST(writer_matches_the_java_client_with_lz4)
{
    kw_batch_writer_options o = {.base_offset = 42, .compression = KW_COMPRESSION_LZ4};
    kw_batch_writer *w = writer(&o);
    kw_header h = H("h", "x");
    ck_assert_int_eq(add(w, 1700000000000LL, "region-1", "entry one, entry one, entry one", &h, 1),
                     0);
    ck_assert_int_eq(add(w, 1700000000007LL, NULL, "entry two", NULL, 0), 0);
    const uint8_t *bytes;
    size_t len;
    ck_assert_int_eq(kw_batch_writer_finish(w, &bytes, &len), 0);
    ck_assert_uint_eq(len, sizeof java_lz4);
    ck_assert_mem_eq(bytes, java_lz4, sizeof java_lz4);
    kw_batch_writer_destroy(w);
}
END_TEST

/* Keys, values and header values: null is the varint -1 (0x01), empty is length 0 (0x00). */
START_TEST(writer_tells_null_from_empty_on_the_wire)
{
    kw_batch_writer *w = writer(NULL);
    kw_header hs[2] = {{"n", 1, NULL, 5}, {"", 0, "", 0}};
    ck_assert_int_eq(kw_batch_writer_add(w, 7, NULL, 3, "", 0, hs, 2), 0);
    const uint8_t *bytes;
    size_t len;
    ck_assert_int_eq(kw_batch_writer_finish(w, &bytes, &len), 0);
    /* length 11 (zigzag 0x16): attrs, ts delta, offset delta, key null, value empty,
     * 2 headers, "n" = null, "" = empty */
    static const uint8_t rec[] = {0x16, 0x00, 0x00, 0x00, 0x01, 0x00, 0x04,
                                  0x02, 'n',  0x01, 0x00, 0x00};
    ck_assert_uint_eq(len, KW_BATCH_HEADER_SIZE + sizeof rec);
    ck_assert_mem_eq(bytes + KW_BATCH_HEADER_SIZE, rec, sizeof rec);
    kw_batch_writer_destroy(w);
}
END_TEST

START_TEST(writer_sets_the_idempotent_and_transactional_fields)
{
    kw_batch_writer_options o = {.idempotent = true,
                                 .producer_id = 0x0102030405060708LL,
                                 .producer_epoch = 9,
                                 .base_sequence = 1000,
                                 .transactional = true};
    kw_batch_writer *w = writer(&o);
    ck_assert_int_eq(add(w, 1, "a", "b", NULL, 0), 0);
    const uint8_t *bytes;
    size_t len;
    ck_assert_int_eq(kw_batch_writer_finish(w, &bytes, &len), 0);
    static const uint8_t want[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* pid */
                                   0x00, 0x09,                                     /* epoch */
                                   0x00, 0x00, 0x03, 0xE8};                        /* seq */
    ck_assert_mem_eq(bytes + KW_BATCH_OFF_PRODUCER_ID, want, sizeof want);
    ck_assert_uint_eq(kw_load_be16(bytes + KW_BATCH_OFF_ATTRIBUTES), 0x10);
    ck_assert_uint_eq(kw_load_be32(bytes + KW_BATCH_OFF_CRC),
                      kw__crc32c(0, bytes + KW_BATCH_OFF_ATTRIBUTES,
                                 len - KW_BATCH_OFF_ATTRIBUTES));
    kw_batch_writer_destroy(w);
}
END_TEST

START_TEST(writer_refuses_bad_options_with_a_reason)
{
    kw_batch_writer *w = (kw_batch_writer *)&w; /* overwritten with NULL */
    char why[160];
    kw_batch_writer_options bad_codec = {.compression = 5};
    ck_assert_int_eq(kw_batch_writer_new(&w, &bad_codec, why, sizeof why), KW_EINVAL);
    ck_assert_ptr_null(w);
    ck_assert_str_eq(why, "compression 5 is not one of none (0), gzip (1), snappy (2), lz4 (3), "
                          "zstd (4)");
    kw_batch_writer_options txn = {.transactional = true};
    ck_assert_int_eq(kw_batch_writer_new(&w, &txn, why, sizeof why), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "idempotent"));
    ck_assert_int_eq(kw_batch_writer_new(&w, &bad_codec, NULL, 0), KW_EINVAL);

    /* a bad reset keeps the old options and the records */
    w = writer(NULL);
    ck_assert_int_eq(add(w, 1, "a", "b", NULL, 0), 0);
    kw_batch_writer_options neg = {.compression = -1};
    ck_assert_int_eq(kw_batch_writer_reset(w, &neg), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(kw_batch_writer_errstr(w), "compression -1"));
    ck_assert_int_eq(kw_batch_writer_count(w), 1);
    const uint8_t *bytes;
    size_t len;
    ck_assert_int_eq(kw_batch_writer_finish(w, &bytes, &len), 0);
    ck_assert_uint_eq(kw_load_be16(bytes + KW_BATCH_OFF_ATTRIBUTES), 0);
    kw_batch_writer_destroy(w);
}
END_TEST

START_TEST(writer_errors_stick_until_reset)
{
    kw_batch_writer *w = writer(NULL);
    const uint8_t *bytes = (const uint8_t *)"x";
    size_t len = 1;
    /* no records: brokers refuse empty batches */
    ck_assert_int_eq(kw_batch_writer_finish(w, &bytes, &len), KW_EINVAL);
    ck_assert_ptr_null(bytes);
    ck_assert_uint_eq(len, 0);
    ck_assert_ptr_nonnull(strstr(kw_batch_writer_errstr(w), "at least one record"));
    ck_assert_int_eq(kw_batch_writer_reset(w, NULL), 0);
    ck_assert_str_eq(kw_batch_writer_errstr(w), "");

    /* a header with a NULL key */
    kw_header h[2] = {H("ok", "1"), {NULL, 0, "v", 1}};
    ck_assert_int_eq(add(w, 1, "k", "v", h, 2), KW_EINVAL);
    ck_assert_str_eq(kw_batch_writer_errstr(w),
                     "record 0: header 1 has a NULL key (header keys are never null)");
    ck_assert_int_eq(add(w, 1, "k", "v", NULL, 0), KW_EINVAL); /* sticks */
    ck_assert_int_eq(kw_batch_writer_finish(w, &bytes, &len), KW_EINVAL);
    ck_assert_int_eq(kw_batch_writer_reset(w, NULL), 0);
    ck_assert_int_eq(add(w, 1, "k", "v", NULL, 0), 0);

    /* headers given without their array */
    ck_assert_int_eq(kw_batch_writer_reset(w, NULL), 0);
    ck_assert_int_eq(add(w, 1, "k", "v", NULL, 3), KW_EINVAL);
    ck_assert_str_eq(kw_batch_writer_errstr(w), "3 headers given with a NULL array");

    /* a key the wire cannot carry */
    ck_assert_int_eq(kw_batch_writer_reset(w, NULL), 0);
    ck_assert_int_eq(kw_batch_writer_add(w, 1, "k", (size_t)INT32_MAX + 1, "v", 1, NULL, 0),
                     KW_ETOOBIG);
    ck_assert_uint_eq(
        kw_batch_writer_record_size(w, 1, "k", (size_t)INT32_MAX + 1, "v", 1, NULL, 0), SIZE_MAX);

    /* adding to or finishing a finished batch */
    ck_assert_int_eq(kw_batch_writer_reset(w, NULL), 0);
    ck_assert_int_eq(add(w, 1, "k", "v", NULL, 0), 0);
    ck_assert_int_eq(kw_batch_writer_finish(w, &bytes, &len), 0);
    ck_assert_int_eq(add(w, 2, "k", "v", NULL, 0), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(kw_batch_writer_errstr(w), "finished"));
    kw_batch_writer_destroy(w);
    kw_batch_writer_destroy(NULL);
}
END_TEST

/* record_size predicts exactly what add adds, so a caller can cut batches at a size. */
START_TEST(writer_record_size_predicts_the_growth)
{
    kw_batch_writer *w = writer(NULL);
    ck_assert_uint_eq(kw_batch_writer_size(w), KW_BATCH_HEADER_SIZE);
    kw_header many[40];
    char names[40][8];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof names[i], "h%d", i);
        many[i] = H(names[i], i % 3 ? "value" : NULL);
    }
    static const char value[] = "value value value value value value";
    size_t want = KW_BATCH_HEADER_SIZE;
    for (int i = 0; i < 30; i++) {
        size_t nh = (size_t)(i % 4 == 3 ? 40 : i % 3); /* over 16 headers takes the heap path */
        int64_t ts = 1000 + i * 1000;
        size_t n = kw_batch_writer_record_size(w, ts, "key", 3, value, (size_t)i, many, nh);
        ck_assert_uint_gt(n, 8);
        ck_assert_int_eq(kw_batch_writer_add(w, ts, "key", 3, value, (size_t)i, many, nh), 0);
        want += n;
        ck_assert_uint_eq(kw_batch_writer_size(w), want);
    }
    const uint8_t *bytes;
    size_t len;
    ck_assert_int_eq(kw_batch_writer_finish(w, &bytes, &len), 0);
    ck_assert_uint_eq(len, want);
    kw_batch_writer_destroy(w);
}
END_TEST

/* take hands over a malloc'd buffer (for KW_CLIENT_PRODUCE_TAKE_BATCH); the writer goes on. */
START_TEST(writer_take_hands_over_the_buffer_and_starts_afresh)
{
    kw_batch_writer_options o = {.base_timestamp = HAND_TS};
    kw_batch_writer *w = writer(&o);
    uint8_t *taken;
    size_t len;
    ck_assert_int_eq(kw_batch_writer_take(w, &taken, &len), KW_EINVAL); /* nothing finished */
    for (int round = 0; round < 3; round++) {
        ck_assert_int_eq(add(w, HAND_TS, "k", "v1", NULL, 0), 0);
        kw_header h = H("h", "x");
        ck_assert_int_eq(add(w, HAND_TS + 5, NULL, "v2", &h, 1), 0);
        const uint8_t *bytes;
        ck_assert_int_eq(kw_batch_writer_finish(w, &bytes, &len), 0);
        ck_assert_int_eq(kw_batch_writer_take(w, &taken, &len), 0);
        ck_assert_ptr_eq(taken, bytes);
        ck_assert_uint_eq(len, sizeof hand_batch);
        ck_assert_mem_eq(taken, hand_batch, sizeof hand_batch);
        free(taken);
        ck_assert_int_eq(kw_batch_writer_count(w), 0);
        ck_assert_uint_eq(kw_batch_writer_size(w), KW_BATCH_HEADER_SIZE);
    }
    kw_batch_writer_destroy(w);
}
END_TEST

/* reset reuses the buffer, with new options when given (the next base sequence, say). */
START_TEST(writer_reset_reuses_with_new_options)
{
    kw_batch_writer_options o = {.idempotent = true, .producer_id = 5, .base_sequence = 0};
    kw_batch_writer *w = writer(&o);
    const uint8_t *bytes;
    size_t len;
    for (int32_t seq = 0; seq < 30; seq += 10) {
        o.base_sequence = seq;
        ck_assert_int_eq(kw_batch_writer_reset(w, &o), 0);
        for (int i = 0; i < 10; i++)
            ck_assert_int_eq(add(w, 100 + i, "k", "v", NULL, 0), 0);
        ck_assert_int_eq(kw_batch_writer_finish(w, &bytes, &len), 0);
        ck_assert_int_eq((int32_t)kw_load_be32(bytes + KW_BATCH_OFF_BASE_SEQUENCE), seq);
        ck_assert_int_eq((int32_t)kw_load_be32(bytes + KW_BATCH_OFF_RECORDS_COUNT), 10);
        ck_assert_int_eq((int64_t)kw_load_be64(bytes + KW_BATCH_OFF_BASE_TIMESTAMP), 100);
    }
    /* NULL keeps the options */
    ck_assert_int_eq(kw_batch_writer_reset(w, NULL), 0);
    ck_assert_int_eq(add(w, 1, "k", "v", NULL, 0), 0);
    ck_assert_int_eq(kw_batch_writer_finish(w, &bytes, &len), 0);
    ck_assert_int_eq((int32_t)kw_load_be32(bytes + KW_BATCH_OFF_BASE_SEQUENCE), 20);
    ck_assert_int_eq((int64_t)kw_load_be64(bytes + KW_BATCH_OFF_PRODUCER_ID), 5);
    kw_batch_writer_destroy(w);
}
END_TEST

/* ---- writer and reader against the internal codec, every codec ---- */

#define NREC 40

/* Record i of the round-trip set: null and empty keys and values, 0 to 20 headers. */
static void nth_record(int i, char *key, char *value, const char **k, const char **v, kw_header *h,
                       size_t *nh, char names[][8])
{
    snprintf(key, 16, "key-%d", i % 5);
    static const char pad[] = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    snprintf(value, 64, "value %d %.*s", i, i, pad);
    *k = i % 7 == 0 ? NULL : i % 7 == 1 ? "" : key;
    *v = i % 11 == 0 ? NULL : i % 11 == 1 ? "" : value;
    *nh = (size_t)(i % 9 == 8 ? 20 : i % 3);
    for (int j = 0; j < (int)*nh; j++) {
        snprintf(names[j], 8, "h%d", j % 100);
        h[j] = H(names[j], j % 2 ? NULL : j % 4 ? "" : "hv");
    }
}

static void write_set(kw_batch_writer *w)
{
    char key[16], value[64], names[20][8];
    const char *k, *v;
    kw_header h[20];
    size_t nh;
    for (int i = 0; i < NREC; i++) {
        nth_record(i, key, value, &k, &v, h, &nh, names);
        ck_assert_int_eq(add(w, 1700000000000LL + i * 3, k, v, h, nh), 0);
    }
}

/* Reads the set back with the internal iterators. */
static void check_set_internal(const uint8_t *buf, size_t len, int codec, int64_t base)
{
    kw_batch_iter bi;
    kw_batch b;
    kw__batch_iter_init(&bi, buf, len, KW_BATCH_VERIFY_CRC);
    ck_assert_int_eq(kw__batch_next(&bi, &b), 1);
    ck_assert_int_eq(kw__batch_codec(&b), codec);
    ck_assert(b.base_offset == base);
    ck_assert_int_eq(b.records_count, NREC);
    kw_wr scratch;
    kw__wr_init(&scratch);
    kw_record_iter it;
    ck_assert_int_eq(kw__record_iter_init(&it, &b, &scratch, 0, 0), 0);
    char key[16], value[64], names[20][8];
    const char *k, *v;
    kw_header h[20];
    size_t nh;
    kw_record r;
    for (int i = 0; i < NREC; i++) {
        nth_record(i, key, value, &k, &v, h, &nh, names);
        ck_assert_int_eq(kw__record_next(&it, &r), 1);
        ck_assert(r.offset == base + i);
        ck_assert(r.timestamp == 1700000000000LL + i * 3);
        ck_assert(kw_bytes_is(r.key, k));
        ck_assert(kw_bytes_is(r.value, v));
        ck_assert_int_eq(r.header_count, (int)nh);
        kw_header_iter hi = kw__record_headers(&r);
        kw_record_header rh;
        for (size_t j = 0; j < nh; j++) {
            ck_assert_int_eq(kw__header_next(&hi, &rh), 1);
            ck_assert(kw_str_eq(rh.key, h[j].key));
            ck_assert(kw_bytes_is(rh.value, h[j].value));
        }
    }
    ck_assert_int_eq(kw__record_next(&it, &r), 0);
    ck_assert_int_eq(kw__batch_next(&bi, &b), 0);
    kw__wr_free(&scratch);
}

/* Reads the set back with the public reader. */
static void check_set_public(kw_batch_reader *rd, const uint8_t *buf, size_t len, int codec,
                             int64_t base)
{
    ck_assert_int_eq(kw_batch_reader_set(rd, buf, len, 0), 0);
    kw_batch_info info;
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 1);
    ck_assert_int_eq(info.compression, codec);
    ck_assert(info.base_offset == base);
    ck_assert(info.last_offset == base + NREC - 1);
    ck_assert_int_eq(info.record_count, NREC);
    ck_assert(info.base_timestamp == 1700000000000LL);
    ck_assert(info.max_timestamp == 1700000000000LL + (NREC - 1) * 3);
    ck_assert_int_eq(info.timestamp_type, KW_TIMESTAMP_CREATE_TIME);
    ck_assert(info.producer_id == -1 && info.producer_epoch == -1 && info.base_sequence == -1);
    ck_assert_int_eq(info.partition_leader_epoch, -1);
    ck_assert(!info.transactional && !info.control);
    ck_assert_ptr_eq(info.bytes, buf);
    ck_assert_uint_eq(info.len, len);
    char key[16], value[64], names[20][8];
    const char *k, *v;
    kw_header h[20];
    size_t nh;
    kw_batch_record r;
    for (int i = 0; i < NREC; i++) {
        nth_record(i, key, value, &k, &v, h, &nh, names);
        ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), 1);
        ck_assert(r.offset == base + i);
        ck_assert(r.timestamp == 1700000000000LL + i * 3);
        ck_assert_msg(mem_is(r.key, r.key_len, k), "record %d key", i);
        ck_assert_msg(mem_is(r.value, r.value_len, v), "record %d value", i);
        ck_assert_uint_eq(r.header_count, nh);
        ck_assert(nh ? r.headers != NULL : r.headers == NULL);
        for (size_t j = 0; j < nh; j++) {
            ck_assert(mem_is((const uint8_t *)r.headers[j].key, r.headers[j].key_len, h[j].key));
            ck_assert(mem_is(r.headers[j].value, r.headers[j].value_len, h[j].value));
        }
        ck_assert_int_eq(r.control_type, -1);
    }
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), 0);
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 0);
    ck_assert_uint_eq(kw_batch_reader_remaining(rd), 0);
    ck_assert_str_eq(kw_batch_reader_errstr(rd), "");
}

START_TEST(every_codec_round_trips_through_the_internal_codec_both_ways)
{
    static const int codecs[] = {KW_COMPRESSION_NONE, KW_COMPRESSION_GZIP, KW_COMPRESSION_SNAPPY,
                                 KW_COMPRESSION_LZ4, KW_COMPRESSION_ZSTD};
    kw_batch_reader *rd = reader(NULL);
    for (size_t c = 0; c < 5; c++) {
        /* public writer -> internal iterators and public reader */
        kw_batch_writer_options o = {.compression = codecs[c], .base_offset = 1000};
        kw_batch_writer *w = writer(&o);
        write_set(w);
        const uint8_t *bytes;
        size_t len;
        ck_assert_int_eq(kw_batch_writer_finish(w, &bytes, &len), 0);
        ck_assert_int_eq(kw_load_be16(bytes + KW_BATCH_OFF_ATTRIBUTES), codecs[c]);
        check_set_internal(bytes, len, codecs[c], 1000);
        check_set_public(rd, bytes, len, codecs[c], 1000);

        /* internal builder -> public reader: the same bytes as the public writer's */
        kw_wr iw;
        kw__wr_init(&iw);
        kw_batch_builder b;
        kw_batch_opts io = {.codec = codecs[c], .base_offset = 1000};
        ck_assert_int_eq(kw__batch_begin(&b, &iw, &io), 0);
        char key[16], value[64], names[20][8];
        const char *k, *v;
        kw_header h[20];
        kw_record_header rh[20];
        size_t nh;
        for (int i = 0; i < NREC; i++) {
            nth_record(i, key, value, &k, &v, h, &nh, names);
            for (size_t j = 0; j < nh; j++)
                rh[j] = (kw_record_header){kw_str_c(h[j].key),
                                           h[j].value ? (kw_bytes){(const uint8_t *)h[j].value,
                                                                   (int32_t)h[j].value_len}
                                                      : KW_BYTES_NULL};
            kw_bytes kb = k ? (kw_bytes){(const uint8_t *)k, (int32_t)strlen(k)} : KW_BYTES_NULL;
            kw_bytes vb = v ? (kw_bytes){(const uint8_t *)v, (int32_t)strlen(v)} : KW_BYTES_NULL;
            ck_assert_int_eq(kw__batch_add(&b, 1700000000000LL + i * 3, kb, vb, rh, nh), 0);
        }
        ck_assert_int_eq(kw__batch_finish(&b), 0);
        check_set_public(rd, iw.buf, iw.len, codecs[c], 1000);
        ck_assert_uint_eq(iw.len, len);
        ck_assert_mem_eq(iw.buf, bytes, len);
        kw__wr_free(&iw);
        kw_batch_writer_destroy(w);
    }
    kw_batch_reader_destroy(rd);
}
END_TEST

/* ---- the reader ---- */

START_TEST(reader_reads_the_hand_built_batch)
{
    kw_batch_reader *rd = reader(NULL);
    ck_assert_int_eq(kw_batch_reader_set(rd, hand_batch, sizeof hand_batch, 0), 0);
    kw_batch_info info;
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 1);
    ck_assert(info.base_offset == 0 && info.last_offset == 1);
    ck_assert(info.base_timestamp == HAND_TS && info.max_timestamp == HAND_TS + 5);
    ck_assert_int_eq(info.compression, KW_COMPRESSION_NONE);
    kw_batch_record r;
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), 1);
    ck_assert(r.offset == 0 && r.timestamp == HAND_TS);
    ck_assert(mem_is(r.key, r.key_len, "k"));
    ck_assert(mem_is(r.value, r.value_len, "v1"));
    ck_assert_uint_eq(r.header_count, 0);
    /* uncompressed records point into the caller's bytes */
    ck_assert_ptr_eq(r.key, hand_batch + KW_BATCH_HEADER_SIZE + 5);
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), 1);
    ck_assert(r.offset == 1 && r.timestamp == HAND_TS + 5);
    ck_assert_ptr_null(r.key);
    ck_assert(mem_is(r.value, r.value_len, "v2"));
    ck_assert_uint_eq(r.header_count, 1);
    ck_assert(mem_is((const uint8_t *)r.headers[0].key, r.headers[0].key_len, "h"));
    ck_assert(mem_is(r.headers[0].value, r.headers[0].value_len, "x"));
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), 0);
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 0);
    kw_batch_reader_destroy(rd);
}
END_TEST

START_TEST(reader_reads_the_java_client_batch)
{
    kw_batch_reader *rd = reader(NULL);
    ck_assert_int_eq(kw_batch_reader_set(rd, java_lz4, sizeof java_lz4, 0), 0);
    kw_batch_info info;
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 1);
    ck_assert_int_eq(info.compression, KW_COMPRESSION_LZ4);
    ck_assert(info.base_offset == 42 && info.last_offset == 43);
    kw_batch_record r;
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), 1);
    ck_assert(r.offset == 42 && r.timestamp == 1700000000000LL);
    ck_assert(mem_is(r.key, r.key_len, "region-1"));
    ck_assert(mem_is(r.value, r.value_len, "entry one, entry one, entry one"));
    ck_assert_uint_eq(r.header_count, 1);
    ck_assert(mem_is(r.headers[0].value, r.headers[0].value_len, "x"));
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), 1);
    ck_assert(r.offset == 43 && r.timestamp == 1700000000007LL);
    ck_assert_ptr_null(r.key);
    ck_assert(mem_is(r.value, r.value_len, "entry two"));
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), 0);
    kw_batch_reader_destroy(rd);
}
END_TEST

/* Three batches of offsets 10-12, 13-15, 16-18 in one buffer, as a fetch returns them. */
static void three_batches(kw_wr *out, int codec)
{
    kw__wr_init(out);
    for (int b = 0; b < 3; b++) {
        kw_batch_writer_options o = {.base_offset = 10 + 3 * b, .compression = codec};
        kw_batch_writer *w = writer(&o);
        for (int i = 0; i < 3; i++) {
            char v[16];
            snprintf(v, sizeof v, "v%d", 10 + 3 * b + i);
            ck_assert_int_eq(add(w, 500 + i, NULL, v, NULL, 0), 0);
        }
        const uint8_t *bytes;
        size_t len;
        ck_assert_int_eq(kw_batch_writer_finish(w, &bytes, &len), 0);
        kw__wr_raw(out, bytes, len);
        kw_batch_writer_destroy(w);
    }
}

START_TEST(reader_skips_records_below_the_start_offset)
{
    for (int codec = KW_COMPRESSION_NONE; codec <= KW_COMPRESSION_ZSTD; codec++) {
        kw_wr buf;
        three_batches(&buf, codec);
        kw_batch_reader *rd = reader(NULL);
        ck_assert_int_eq(kw_batch_reader_set(rd, buf.buf, buf.len, 14), 0);
        kw_batch_info info;
        kw_batch_record r;
        /* the first batch is returned, without records */
        ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 1);
        ck_assert(info.base_offset == 10);
        ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), 0);
        ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 1);
        ck_assert(info.base_offset == 13);
        ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), 1);
        ck_assert(r.offset == 14);
        ck_assert(mem_is(r.value, r.value_len, "v14"));
        /* next_batch without reading the rest of the records moves on */
        ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 1);
        ck_assert(info.base_offset == 16);
        for (int i = 16; i <= 18; i++) {
            ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), 1);
            ck_assert(r.offset == i);
        }
        ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), 0);
        ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 0);
        kw_batch_reader_destroy(rd);
        kw__wr_free(&buf);
    }
}
END_TEST

START_TEST(a_cut_last_batch_ends_the_walk_cleanly)
{
    kw_wr buf;
    three_batches(&buf, KW_COMPRESSION_NONE);
    size_t whole = buf.len;
    size_t one = whole / 3; /* the three batches are the same size */
    kw_batch_reader *rd = reader(NULL);
    /* every cut inside the third batch, including inside its length field */
    for (size_t cut = 2 * one; cut < whole; cut++) {
        ck_assert_int_eq(kw_batch_reader_set(rd, buf.buf, cut, 0), 0);
        kw_batch_info info;
        kw_batch_record r;
        int batches = 0, records = 0;
        while (kw_batch_reader_next_batch(rd, &info) == 1) {
            batches++;
            while (kw_batch_reader_next_record(rd, &r) == 1)
                records++;
        }
        ck_assert_int_eq(batches, 2);
        ck_assert_int_eq(records, 6);
        ck_assert_uint_eq(kw_batch_reader_remaining(rd), cut - 2 * one);
        ck_assert_str_eq(kw_batch_reader_errstr(rd), "");
    }
    kw_batch_reader_destroy(rd);
    kw__wr_free(&buf);
}
END_TEST

START_TEST(a_bad_crc_names_the_batch_unless_the_check_is_off)
{
    kw_wr buf;
    three_batches(&buf, KW_COMPRESSION_NONE);
    size_t one = buf.len / 3;
    buf.buf[one + KW_BATCH_HEADER_SIZE + 3] ^= 0x20; /* a byte in the second batch's records */
    kw_batch_reader *rd = reader(NULL);
    ck_assert_int_eq(kw_batch_reader_set(rd, buf.buf, buf.len, 0), 0);
    kw_batch_info info;
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 1);
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), KW_ECRC);
    ck_assert_ptr_nonnull(strstr(kw_batch_reader_errstr(rd), "batch at offset 13 has CRC"));
    /* the error sticks until set */
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), KW_ECRC);
    kw_batch_record r;
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), KW_ECRC);
    ck_assert_int_eq(kw_batch_reader_set(rd, buf.buf, one, 0), 0);
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 1);
    kw_batch_reader_destroy(rd);

    kw_batch_reader_options o = {.skip_crc_check = true};
    rd = reader(&o);
    ck_assert_int_eq(kw_batch_reader_set(rd, buf.buf, buf.len, 0), 0);
    int batches = 0;
    while (kw_batch_reader_next_batch(rd, &info) == 1)
        batches++;
    ck_assert_int_eq(batches, 3);
    kw_batch_reader_destroy(rd);
    kw__wr_free(&buf);
}
END_TEST

START_TEST(bad_batches_are_errors_that_say_why)
{
    kw_batch_reader *rd = reader(NULL);
    kw_batch_info info;
    kw_batch_record r;
    uint8_t b[sizeof hand_batch];

    /* an old message format */
    memcpy(b, hand_batch, sizeof b);
    b[KW_BATCH_OFF_MAGIC] = 1;
    ck_assert_int_eq(kw_batch_reader_set(rd, b, sizeof b, 0), 0);
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), KW_EUNSUPPORTED);
    ck_assert_str_eq(kw_batch_reader_errstr(rd),
                     "batch at offset 0 has magic 1; kwal reads only magic 2");

    /* a length shorter than the header */
    memcpy(b, hand_batch, sizeof b);
    kw_store_be32(b + KW_BATCH_OFF_LENGTH, 20);
    ck_assert_int_eq(kw_batch_reader_set(rd, b, sizeof b, 0), 0);
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), KW_EMALFORMED);
    ck_assert_ptr_nonnull(strstr(kw_batch_reader_errstr(rd), "batchLength 20"));

    /* a record count that disagrees with the records present */
    memcpy(b, hand_batch, sizeof b);
    kw_store_be32(b + KW_BATCH_OFF_RECORDS_COUNT, 3);
    reseal(b, sizeof b);
    ck_assert_int_eq(kw_batch_reader_set(rd, b, sizeof b, 0), 0);
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 1);
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), 1);
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), 1);
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), KW_EMALFORMED);
    ck_assert_str_eq(kw_batch_reader_errstr(rd),
                     "batch at offset 0: 1 of the records its header counts are missing");
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), KW_EMALFORMED); /* sticks */

    /* a record length past the batch */
    memcpy(b, hand_batch, sizeof b);
    b[KW_BATCH_HEADER_SIZE] = 0x7e;
    reseal(b, sizeof b);
    ck_assert_int_eq(kw_batch_reader_set(rd, b, sizeof b, 0), 0);
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 1);
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), KW_EMALFORMED);
    ck_assert_ptr_nonnull(
        strstr(kw_batch_reader_errstr(rd), "batch at offset 0: record length 63"));

    /* an unknown codec */
    memcpy(b, hand_batch, sizeof b);
    b[KW_BATCH_OFF_ATTRIBUTES + 1] = 6;
    reseal(b, sizeof b);
    ck_assert_int_eq(kw_batch_reader_set(rd, b, sizeof b, 0), 0);
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 1);
    ck_assert_int_eq(info.compression, 6);
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), KW_EUNSUPPORTED);
    ck_assert_str_eq(kw_batch_reader_errstr(rd), "batch at offset 0 uses compression codec 6");

    /* records that are not a gzip stream */
    memcpy(b, hand_batch, sizeof b);
    b[KW_BATCH_OFF_ATTRIBUTES + 1] = KW_COMPRESSION_GZIP;
    reseal(b, sizeof b);
    ck_assert_int_eq(kw_batch_reader_set(rd, b, sizeof b, 0), 0);
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 1);
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), KW_ECOMPRESSION);
    ck_assert_ptr_nonnull(strstr(kw_batch_reader_errstr(rd), "batch at offset 0: gzip records"));

    /* misuse: records before a batch, NULL bytes */
    ck_assert_int_eq(kw_batch_reader_set(rd, hand_batch, sizeof hand_batch, 0), 0);
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(kw_batch_reader_errstr(rd), "no batch"));
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 1); /* EINVAL did not stick */
    ck_assert_int_eq(kw_batch_reader_set(rd, NULL, 5, 0), KW_EINVAL);
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 0);
    ck_assert_int_eq(kw_batch_reader_set(rd, NULL, 0, 0), 0);
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 0);
    ck_assert_uint_eq(kw_batch_reader_remaining(rd), 0);
    kw_batch_reader_destroy(rd);
    kw_batch_reader_destroy(NULL);
}
END_TEST

/* A batch that inflates past max_decompressed_bytes is refused before it takes the memory. */
START_TEST(the_decompression_limit_holds)
{
    kw_batch_writer_options o = {.compression = KW_COMPRESSION_ZSTD};
    kw_batch_writer *w = writer(&o);
    static char big[100000];
    memset(big, 'z', sizeof big);
    ck_assert_int_eq(kw_batch_writer_add(w, 1, NULL, 0, big, sizeof big, NULL, 0), 0);
    const uint8_t *bytes;
    size_t len;
    ck_assert_int_eq(kw_batch_writer_finish(w, &bytes, &len), 0);
    ck_assert_uint_lt(len, 1000);

    kw_batch_reader_options ro = {.max_decompressed_bytes = 50000};
    kw_batch_reader *rd = reader(&ro);
    ck_assert_int_eq(kw_batch_reader_set(rd, bytes, len, 0), 0);
    kw_batch_info info;
    kw_batch_record r;
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 1);
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), KW_ETOOBIG);
    ck_assert_str_eq(kw_batch_reader_errstr(rd),
                     "batch at offset 0: zstd records: decompressed size over the limit");
    kw_batch_reader_destroy(rd);

    ro.max_decompressed_bytes = 200000;
    rd = reader(&ro);
    ck_assert_int_eq(kw_batch_reader_set(rd, bytes, len, 0), 0);
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 1);
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), 1);
    ck_assert_uint_eq(r.value_len, sizeof big);
    kw_batch_reader_destroy(rd);
    kw_batch_writer_destroy(w);
}
END_TEST

START_TEST(control_batches_give_the_marker_type)
{
    kw_wr buf;
    kw__wr_init(&buf);
    kw_batch_builder b;
    kw_batch_opts o = {.control = true, .transactional = true, .idempotent = true,
                       .producer_id = 77, .producer_epoch = 3, .base_offset = 9};
    ck_assert_int_eq(kw__batch_begin(&b, &buf, &o), 0);
    uint8_t ck[4];
    ck_assert_int_eq(kw__batch_add(&b, 123, kw__control_key(ck, KW_CONTROL_COMMIT),
                                   (kw_bytes){(const uint8_t *)"\0\0\0\0\0\0", 6}, NULL, 0),
                     0);
    ck_assert_int_eq(kw__batch_finish(&b), 0);
    size_t first = buf.len;
    /* a type this kwal does not know is passed on */
    ck_assert_int_eq(kw__batch_begin(&b, &buf, &o), 0);
    ck_assert_int_eq(kw__batch_add(&b, 124, kw__control_key(ck, 5), KW_BYTES_NULL, NULL, 0), 0);
    ck_assert_int_eq(kw__batch_finish(&b), 0);
    size_t second = buf.len;
    /* a third one whose key is too short to be a control key */
    ck_assert_int_eq(kw__batch_begin(&b, &buf, &o), 0);
    ck_assert_int_eq(kw__batch_add(&b, 124, (kw_bytes){ck, 2}, KW_BYTES_NULL, NULL, 0), 0);
    ck_assert_int_eq(kw__batch_finish(&b), 0);

    kw_batch_reader *rd = reader(NULL);
    ck_assert_int_eq(kw_batch_reader_set(rd, buf.buf, buf.len, 0), 0);
    kw_batch_info info;
    kw_batch_record r;
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 1);
    ck_assert(info.control && info.transactional);
    ck_assert(info.producer_id == 77 && info.producer_epoch == 3);
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), 1);
    ck_assert(r.offset == 9);
    ck_assert_int_eq(r.control_type, KW_BATCH_CONTROL_COMMIT);
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), 0);
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 1);
    ck_assert_ptr_eq(info.bytes, buf.buf + first);
    ck_assert_uint_eq(info.len, second - first);
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), 1);
    ck_assert_int_eq(r.control_type, 5);
    ck_assert_ptr_null(r.value);
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 1);
    ck_assert_ptr_eq(info.bytes, buf.buf + second);
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), KW_EMALFORMED);
    ck_assert_str_eq(kw_batch_reader_errstr(rd),
                     "batch at offset 9, control record at offset 9: its key has 2 bytes, a "
                     "control key needs 4 (version, type)");
    kw_batch_reader_destroy(rd);
    kw__wr_free(&buf);
}
END_TEST

START_TEST(log_append_time_batches_give_the_broker_time)
{
    uint8_t b[sizeof hand_batch];
    memcpy(b, hand_batch, sizeof b);
    b[KW_BATCH_OFF_ATTRIBUTES + 1] = 0x08; /* timestampType: LogAppendTime */
    kw_store_be64(b + KW_BATCH_OFF_MAX_TIMESTAMP, 1800000000000ULL);
    reseal(b, sizeof b);
    kw_batch_reader *rd = reader(NULL);
    ck_assert_int_eq(kw_batch_reader_set(rd, b, sizeof b, 0), 0);
    kw_batch_info info;
    kw_batch_record r;
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 1);
    ck_assert_int_eq(info.timestamp_type, KW_TIMESTAMP_LOG_APPEND_TIME);
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), 1);
    ck_assert(r.timestamp == 1800000000000LL);
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), 1);
    ck_assert(r.timestamp == 1800000000000LL);
    kw_batch_reader_destroy(rd);
}
END_TEST

/* Each header array is the reader's and holds the current record's headers, many or none. */
START_TEST(headers_of_each_record_are_given_in_order)
{
    kw_batch_writer *w = writer(NULL);
    kw_header hs[50];
    char names[50][8];
    for (int i = 0; i < 50; i++) {
        snprintf(names[i], sizeof names[i], "k%d", i);
        hs[i] = (kw_header){names[i], strlen(names[i]), names[i], (size_t)(i % 4)};
    }
    ck_assert_int_eq(add(w, 1, "a", "1", hs, 50), 0);
    ck_assert_int_eq(add(w, 2, "b", "2", NULL, 0), 0);
    ck_assert_int_eq(add(w, 3, "c", "3", hs + 10, 3), 0);
    const uint8_t *bytes;
    size_t len;
    ck_assert_int_eq(kw_batch_writer_finish(w, &bytes, &len), 0);
    kw_batch_reader *rd = reader(NULL);
    ck_assert_int_eq(kw_batch_reader_set(rd, bytes, len, 0), 0);
    kw_batch_info info;
    kw_batch_record r;
    ck_assert_int_eq(kw_batch_reader_next_batch(rd, &info), 1);
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), 1);
    ck_assert_uint_eq(r.header_count, 50);
    for (int i = 0; i < 50; i++) {
        ck_assert(mem_is((const uint8_t *)r.headers[i].key, r.headers[i].key_len, names[i]));
        ck_assert_uint_eq(r.headers[i].value_len, (size_t)(i % 4));
        ck_assert_ptr_nonnull(r.headers[i].value); /* empty, not null, when the length is 0 */
        ck_assert_mem_eq(r.headers[i].value, names[i], (size_t)(i % 4));
    }
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), 1);
    ck_assert_uint_eq(r.header_count, 0);
    ck_assert_ptr_null(r.headers);
    ck_assert_int_eq(kw_batch_reader_next_record(rd, &r), 1);
    ck_assert_uint_eq(r.header_count, 3);
    ck_assert(mem_is((const uint8_t *)r.headers[2].key, r.headers[2].key_len, "k12"));
    kw_batch_reader_destroy(rd);
    kw_batch_writer_destroy(w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("batch api");
    TCase *tw = tcase_create("writer");
    tcase_add_test(tw, writer_writes_the_hand_built_batch_exactly);
    tcase_add_test(tw, writer_matches_the_java_client_with_lz4);
    tcase_add_test(tw, writer_tells_null_from_empty_on_the_wire);
    tcase_add_test(tw, writer_sets_the_idempotent_and_transactional_fields);
    tcase_add_test(tw, writer_refuses_bad_options_with_a_reason);
    tcase_add_test(tw, writer_errors_stick_until_reset);
    tcase_add_test(tw, writer_record_size_predicts_the_growth);
    tcase_add_test(tw, writer_take_hands_over_the_buffer_and_starts_afresh);
    tcase_add_test(tw, writer_reset_reuses_with_new_options);
    suite_add_tcase(s, tw);
    TCase *ti = tcase_create("interop");
    tcase_add_test(ti, every_codec_round_trips_through_the_internal_codec_both_ways);
    suite_add_tcase(s, ti);
    TCase *tr = tcase_create("reader");
    tcase_add_test(tr, reader_reads_the_hand_built_batch);
    tcase_add_test(tr, reader_reads_the_java_client_batch);
    tcase_add_test(tr, reader_skips_records_below_the_start_offset);
    tcase_add_test(tr, a_cut_last_batch_ends_the_walk_cleanly);
    tcase_add_test(tr, a_bad_crc_names_the_batch_unless_the_check_is_off);
    tcase_add_test(tr, bad_batches_are_errors_that_say_why);
    tcase_add_test(tr, the_decompression_limit_holds);
    tcase_add_test(tr, control_batches_give_the_marker_type);
    tcase_add_test(tr, log_append_time_batches_give_the_broker_time);
    tcase_add_test(tr, headers_of_each_record_are_given_in_order);
    suite_add_tcase(s, tr);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
