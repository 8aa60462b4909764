/* Unit tests of CRC-32C and RecordBatch v2: a hand-made batch, interop, round trips, bad input. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "proto/batch.h"
#include "proto/crc32c.h"

/* ---- helpers ---- */

static uint64_t rng_state;
static uint32_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ULL) >> 32);
}

static kw_bytes B(const char *s)
{
    return (kw_bytes){(const uint8_t *)s, (int32_t)strlen(s)};
}

static bool bytes_eq(kw_bytes a, const char *s)
{
    if (!s)
        return a.len == -1;
    return a.len == (int32_t)strlen(s) && memcmp(a.ptr, s, (size_t)a.len) == 0;
}

/* Re-seals a batch after a test edited it, so only the edit is wrong. */
static void reseal(uint8_t *batch, size_t len)
{
    kw_store_be32(batch + KW_BATCH_OFF_CRC,
                  kw__crc32c(0, batch + KW_BATCH_OFF_ATTRIBUTES, len - KW_BATCH_OFF_ATTRIBUTES));
}

/* A batch of `count` (claimed) records whose records section is given raw. */
static void raw_batch(kw_wr *w, int32_t count, const uint8_t *records, size_t n)
{
    size_t start = w->len;
    kw__wr_i64(w, 0);                     /* base offset */
    kw__wr_i32(w, (int32_t)(49 + n));     /* batch length */
    kw__wr_i32(w, -1);                    /* leader epoch */
    kw__wr_i8(w, 2);                      /* magic */
    kw__wr_u32(w, 0);                     /* crc, below */
    kw__wr_i16(w, 0);                     /* attributes */
    kw__wr_i32(w, count ? count - 1 : 0); /* last offset delta */
    kw__wr_i64(w, 1000);
    kw__wr_i64(w, 1000);
    kw__wr_i64(w, -1);
    kw__wr_i16(w, -1);
    kw__wr_i32(w, -1);
    kw__wr_i32(w, count);
    kw__wr_raw(w, records, n);
    reseal(w->buf + start, w->len - start);
}

/* Reads the only batch of buf and all its records; returns what kw__record_next ended with. */
static int read_all(const uint8_t *buf, size_t len, kw_record *recs, int max, int *n,
                    kw_record_iter *it_out)
{
    kw_batch_iter bi;
    kw_batch b;
    kw__batch_iter_init(&bi, buf, len, KW_BATCH_VERIFY_CRC);
    int rc = kw__batch_next(&bi, &b);
    if (rc != 1)
        return rc == 0 ? -1000 : rc;
    kw_record_iter it;
    rc = kw__record_iter_init(&it, &b, NULL, 0, 0);
    *n = 0;
    if (!rc) {
        while ((rc = kw__record_next(&it, &recs[*n < max ? *n : max - 1])) == 1)
            (*n)++;
    }
    if (it_out)
        *it_out = it;
    return rc;
}

/* ---- CRC-32C ---- */

START_TEST(crc32c_check_value)
{
    const char *s = "123456789";
    ck_assert_uint_eq(kw__crc32c(0, s, 9), 0xE3069283u);
    ck_assert_uint_eq(kw__crc32c_sw(0, s, 9), 0xE3069283u);
    if (kw__crc32c_hw_available())
        ck_assert_uint_eq(kw__crc32c_hw(0, s, 9), 0xE3069283u);
    if (kw__crc32c_hw1_available())
        ck_assert_uint_eq(kw__crc32c_hw1(0, s, 9), 0xE3069283u);
    ck_assert_uint_eq(kw__crc32c(0, s, 0), 0);
}
END_TEST

START_TEST(crc32c_rfc3720_vectors)
{
    uint8_t zeros[32], ones[32], inc[32], dec[32];
    memset(zeros, 0, 32);
    memset(ones, 0xFF, 32);
    for (int i = 0; i < 32; i++) {
        inc[i] = (uint8_t)i;
        dec[i] = (uint8_t)(31 - i);
    }
    uint32_t (*fns[3])(uint32_t, const void *, size_t) = {kw__crc32c, kw__crc32c_sw,
                                                          kw__crc32c_hw1};
    int nfns = kw__crc32c_hw1_available() ? 3 : 2;
    for (int f = 0; f < nfns; f++) {
        ck_assert_uint_eq(fns[f](0, zeros, 32), 0x8A9136AAu);
        ck_assert_uint_eq(fns[f](0, ones, 32), 0x62A8AB43u);
        ck_assert_uint_eq(fns[f](0, inc, 32), 0x46DD794Eu);
        ck_assert_uint_eq(fns[f](0, dec, 32), 0x113FDB5Cu);
    }
}
END_TEST

START_TEST(crc32c_paths_agree_on_every_length_and_alignment)
{
    size_t big = 3 * 3 * 8192 + 3 * 256 * 2 + 77;
    uint8_t *buf = malloc(big + 16);
    rng_state = 42;
    for (size_t i = 0; i < big + 16; i++)
        buf[i] = (uint8_t)rnd();
    bool hw = kw__crc32c_hw_available(), hw1 = kw__crc32c_hw1_available();
    for (size_t align = 0; align < 8; align++) {
        for (size_t n = 0; n <= 1000; n++) {
            uint32_t want = kw__crc32c_sw(0, buf + align, n);
            ck_assert_uint_eq(kw__crc32c(0, buf + align, n), want);
            if (hw)
                ck_assert_uint_eq(kw__crc32c_hw(0, buf + align, n), want);
            if (hw1)
                ck_assert_uint_eq(kw__crc32c_hw1(0, buf + align, n), want);
        }
    }
    /* lengths that go through the long three-way blocks, with a running crc */
    size_t longs[] = {3 * 8192, 3 * 8192 + 1, 6 * 8192 + 3 * 256 + 9, big};
    for (size_t i = 0; i < 4; i++) {
        for (size_t align = 0; align < 8; align += 3) {
            uint32_t want = kw__crc32c_sw(0x12345678, buf + align, longs[i]);
            ck_assert_uint_eq(kw__crc32c(0x12345678, buf + align, longs[i]), want);
            if (hw)
                ck_assert_uint_eq(kw__crc32c_hw(0x12345678, buf + align, longs[i]), want);
        }
    }
    free(buf);
}
END_TEST

START_TEST(crc32c_is_incremental)
{
    uint8_t buf[3000];
    rng_state = 7;
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)rnd();
    uint32_t whole = kw__crc32c(0, buf, sizeof(buf));
    for (size_t cut = 0; cut <= sizeof(buf); cut += 37) {
        ck_assert_uint_eq(kw__crc32c(kw__crc32c(0, buf, cut), buf + cut, sizeof(buf) - cut), whole);
        ck_assert_uint_eq(kw__crc32c_sw(kw__crc32c_sw(0, buf, cut), buf + cut, sizeof(buf) - cut),
                          whole);
    }
}
END_TEST

/* ---- a batch worked out by hand ---- */

/*
 * Two records, no compression, base offset 0, base timestamp 1700000000000
 * (0x0000018BCFE56800), no producer id.
 *   record 0: timestamp base+0, key "k", value "v1", no headers
 *     body 00 (attrs) 00 (ts delta 0) 00 (offset delta 0) 02 'k' (len 1)
 *          04 'v' '1' (len 2) 00 (no headers)             = 9 bytes, length 0x12
 *   record 1: timestamp base+5, key null, value "v2", header "h" = "x"
 *     body 00 0A (ts delta 5) 02 (offset delta 1) 01 (null) 04 'v' '2'
 *          02 (1 header) 02 'h' 02 'x'                      = 12 bytes, length 0x18
 * Records: 10 + 13 = 23 bytes; batchLength = 49 + 23 = 72 (0x48).
 * The CRC-32C of bytes 21..83 is 0xFDE86579 (computed with a bit-at-a-time
 * implementation of the Castagnoli polynomial written apart from kwal's).
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

START_TEST(builder_writes_the_hand_built_batch_exactly)
{
    kw_wr w;
    kw__wr_init(&w);
    kw_batch_builder b;
    kw_batch_opts o = {.base_timestamp = HAND_TS};
    ck_assert_int_eq(kw__batch_begin(&b, &w, &o), 0);
    ck_assert_int_eq(kw__batch_add(&b, HAND_TS, B("k"), B("v1"), NULL, 0), 0);
    kw_record_header h = {kw_str_c("h"), B("x")};
    ck_assert_int_eq(kw__batch_add(&b, HAND_TS + 5, KW_BYTES_NULL, B("v2"), &h, 1), 0);
    ck_assert_int_eq(kw__batch_finish(&b), 0);
    ck_assert_uint_eq(w.len, sizeof(hand_batch));
    ck_assert_mem_eq(w.buf, hand_batch, sizeof(hand_batch));
    kw__wr_free(&w);
}
END_TEST

START_TEST(decoder_reads_the_hand_built_batch)
{
    kw_batch_iter bi;
    kw_batch b;
    kw__batch_iter_init(&bi, hand_batch, sizeof(hand_batch), KW_BATCH_VERIFY_CRC);
    ck_assert_int_eq(kw__batch_next(&bi, &b), 1);
    ck_assert(b.base_offset == 0);
    ck_assert_int_eq(b.batch_length, 72);
    ck_assert_int_eq(b.partition_leader_epoch, -1);
    ck_assert_int_eq(b.magic, 2);
    ck_assert_uint_eq(b.crc, 0xFDE86579u);
    ck_assert_int_eq(b.attributes, 0);
    ck_assert_int_eq(b.last_offset_delta, 1);
    ck_assert(b.base_timestamp == HAND_TS);
    ck_assert(b.max_timestamp == HAND_TS + 5);
    ck_assert(b.producer_id == -1);
    ck_assert_int_eq(b.producer_epoch, -1);
    ck_assert_int_eq(b.base_sequence, -1);
    ck_assert_int_eq(b.records_count, 2);
    ck_assert_ptr_eq(b.records, hand_batch + 61);
    ck_assert_uint_eq(b.records_len, 23);
    ck_assert_ptr_eq(b.raw, hand_batch);
    ck_assert_uint_eq(b.raw_len, 84);
    ck_assert_int_eq(kw__batch_codec(&b), KW_CODEC_NONE);
    ck_assert(!kw__batch_is_control(&b));
    ck_assert(!kw__batch_is_transactional(&b));
    ck_assert(kw__batch_next_offset(&b) == 2);

    kw_record_iter it;
    kw_record r;
    ck_assert_int_eq(kw__record_iter_init(&it, &b, NULL, 0, 0), 0);
    ck_assert_int_eq(kw__record_next(&it, &r), 1);
    ck_assert(r.offset == 0);
    ck_assert(r.timestamp == HAND_TS);
    ck_assert(bytes_eq(r.key, "k"));
    ck_assert_ptr_eq(r.key.ptr, hand_batch + 66); /* points into the input: no copy */
    ck_assert(bytes_eq(r.value, "v1"));
    ck_assert_int_eq(r.header_count, 0);
    ck_assert_int_eq(kw__record_next(&it, &r), 1);
    ck_assert(r.offset == 1);
    ck_assert(r.timestamp == HAND_TS + 5);
    ck_assert_int_eq(r.key.len, -1);
    ck_assert(bytes_eq(r.value, "v2"));
    ck_assert_int_eq(r.header_count, 1);
    kw_header_iter hi = kw__record_headers(&r);
    kw_record_header h;
    ck_assert_int_eq(kw__header_next(&hi, &h), 1);
    ck_assert(kw_str_eq(h.key, "h"));
    ck_assert(bytes_eq(h.value, "x"));
    ck_assert_int_eq(kw__header_next(&hi, &h), 0);
    ck_assert_int_eq(kw__record_next(&it, &r), 0);
    ck_assert_int_eq(kw__batch_next(&bi, &b), 0);
    ck_assert_uint_eq(bi.pos, 84);
}
END_TEST

/*
 * A batch as another client (sarama, the Go client) encodes it in its tests:
 * leader epoch 0, producer id 0, max timestamp 0, one record with a header.
 * Its CRC was computed by that implementation, not ours.
 */
static const uint8_t other_client_batch[] = {
    0, 0, 0, 0, 0, 0, 0, 0,         /* baseOffset */
    0, 0, 0, 70,                    /* batchLength */
    0, 0, 0, 0,                     /* partitionLeaderEpoch */
    2,                              /* magic */
    84, 121, 97, 253,               /* crc */
    0, 0,                           /* attributes */
    0, 0, 0, 0,                     /* lastOffsetDelta */
    0, 0, 1, 88, 141, 205, 89, 56,  /* baseTimestamp */
    0, 0, 0, 0, 0, 0, 0, 0,         /* maxTimestamp */
    0, 0, 0, 0, 0, 0, 0, 0,         /* producerId */
    0, 0,                           /* producerEpoch */
    0, 0, 0, 0,                     /* baseSequence */
    0, 0, 0, 1,                     /* recordsCount */
    40, 0, 10, 0, 8, 1, 2, 3, 4, 6, 5, 6, 7, 2, 6, 8, 9, 10, 4, 11, 12,
};

START_TEST(decoder_reads_a_batch_another_client_wrote)
{
    kw_batch_iter bi;
    kw_batch b;
    kw__batch_iter_init(&bi, other_client_batch, sizeof(other_client_batch), KW_BATCH_VERIFY_CRC);
    ck_assert_int_eq(kw__batch_next(&bi, &b), 1);
    ck_assert_uint_eq(b.crc, 0x547961FDu);
    ck_assert(b.base_timestamp == 1479847795000LL);
    ck_assert(b.producer_id == 0);
    ck_assert_int_eq(b.records_count, 1);
    kw_record_iter it;
    kw_record r;
    ck_assert_int_eq(kw__record_iter_init(&it, &b, NULL, 0, 0), 0);
    ck_assert_int_eq(kw__record_next(&it, &r), 1);
    ck_assert(r.timestamp == 1479847795005LL);
    ck_assert_int_eq(r.key.len, 4);
    ck_assert_int_eq(r.key.ptr[3], 4);
    ck_assert_int_eq(r.value.len, 3);
    ck_assert_int_eq(r.value.ptr[0], 5);
    kw_header_iter hi = kw__record_headers(&r);
    kw_record_header h;
    ck_assert_int_eq(kw__header_next(&hi, &h), 1);
    ck_assert_int_eq(h.key.len, 3);
    ck_assert_int_eq(h.key.ptr[0], 8);
    ck_assert_int_eq(h.value.len, 2);
    ck_assert_int_eq(h.value.ptr[1], 12);
    ck_assert_int_eq(kw__record_next(&it, &r), 0);
}
END_TEST

/* ---- batches the Java client wrote ---- */

/*
 * Two records as kafka-clients 4.3.1 writes them (MemoryRecords.withRecords,
 * base offset 42, one batch per codec): record 42 at 1700000000000, key
 * "region-1", value "entry one, entry one, entry one", header h=x; record 43
 * seven ms later, null key, value "entry two".
 */
static const uint8_t java_none[127] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x73, 0xff, 0xff, 0xff, 0xff,
    0x02, 0xa8, 0x5f, 0x34, 0x73, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x8b, 0xcf,
    0xe5, 0x68, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x07, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x02, 0x62, 0x00, 0x00,
    0x00, 0x10, 0x72, 0x65, 0x67, 0x69, 0x6f, 0x6e, 0x2d, 0x31, 0x3e, 0x65, 0x6e, 0x74, 0x72, 0x79,
    0x20, 0x6f, 0x6e, 0x65, 0x2c, 0x20, 0x65, 0x6e, 0x74, 0x72, 0x79, 0x20, 0x6f, 0x6e, 0x65, 0x2c,
    0x20, 0x65, 0x6e, 0x74, 0x72, 0x79, 0x20, 0x6f, 0x6e, 0x65, 0x02, 0x02, 0x68, 0x02, 0x78, 0x1e,
    0x00, 0x0e, 0x02, 0x01, 0x12, 0x65, 0x6e, 0x74, 0x72, 0x79, 0x20, 0x74, 0x77, 0x6f, 0x00,
};
static const uint8_t java_gzip[125] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x71, 0xff, 0xff, 0xff, 0xff,
    0x02, 0xfe, 0xfd, 0x05, 0x9a, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x8b, 0xcf,
    0xe5, 0x68, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x07, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x02, 0x1f, 0x8b, 0x08,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x4b, 0x62, 0x60, 0x60, 0x10, 0x28, 0x4a, 0x4d, 0xcf,
    0xcc, 0xcf, 0xd3, 0x35, 0xb4, 0x4b, 0xcd, 0x2b, 0x29, 0xaa, 0x54, 0xc8, 0xcf, 0x4b, 0xd5, 0x51,
    0xc0, 0xc6, 0x64, 0x62, 0xca, 0x60, 0xaa, 0x90, 0x63, 0xe0, 0x63, 0x62, 0x14, 0x82, 0x88, 0x95,
    0x94, 0xe7, 0x33, 0x00, 0x00, 0xc7, 0xc4, 0xab, 0x74, 0x42, 0x00, 0x00, 0x00,
};
static const uint8_t java_snappy[133] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x79, 0xff, 0xff, 0xff, 0xff,
    0x02, 0x7d, 0x57, 0x62, 0x17, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x8b, 0xcf,
    0xe5, 0x68, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x07, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x02, 0x82, 0x53, 0x4e,
    0x41, 0x50, 0x50, 0x59, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x34, 0x42, 0x60, 0x62, 0x00, 0x00, 0x00, 0x10, 0x72, 0x65, 0x67, 0x69, 0x6f, 0x6e, 0x2d, 0x31,
    0x3e, 0x65, 0x6e, 0x74, 0x72, 0x79, 0x20, 0x6f, 0x6e, 0x65, 0x2c, 0x20, 0x4e, 0x0b, 0x00, 0x50,
    0x02, 0x02, 0x68, 0x02, 0x78, 0x1e, 0x00, 0x0e, 0x02, 0x01, 0x12, 0x65, 0x6e, 0x74, 0x72, 0x79,
    0x20, 0x74, 0x77, 0x6f, 0x00,
};
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
static const uint8_t java_zstd[123] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x6f, 0xff, 0xff, 0xff, 0xff,
    0x02, 0x91, 0x22, 0x7c, 0xec, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x8b, 0xcf,
    0xe5, 0x68, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x07, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x02, 0x28, 0xb5, 0x2f,
    0xfd, 0x00, 0x58, 0x94, 0x01, 0x00, 0x84, 0x02, 0x62, 0x00, 0x00, 0x00, 0x10, 0x72, 0x65, 0x67,
    0x69, 0x6f, 0x6e, 0x2d, 0x31, 0x3e, 0x65, 0x6e, 0x74, 0x72, 0x79, 0x20, 0x6f, 0x6e, 0x65, 0x2c,
    0x20, 0x02, 0x02, 0x68, 0x02, 0x78, 0x1e, 0x00, 0x0e, 0x02, 0x01, 0x12, 0x74, 0x77, 0x6f, 0x00,
    0x02, 0x00, 0x42, 0x0d, 0x3e, 0xd3, 0x65, 0x0c, 0x01, 0x00, 0x00,
};

static void check_java_batch(const uint8_t *buf, size_t len, int codec)
{
    kw_batch_iter bi;
    kw_batch b;
    kw__batch_iter_init(&bi, buf, len, KW_BATCH_VERIFY_CRC);
    ck_assert_int_eq(kw__batch_next(&bi, &b), 1);
    ck_assert_int_eq(kw__batch_codec(&b), codec);
    ck_assert(b.base_offset == 42);
    ck_assert_int_eq(b.records_count, 2);
    ck_assert(b.max_timestamp == 1700000000007LL);
    kw_wr scratch;
    kw__wr_init(&scratch);
    kw_record_iter it;
    kw_record r;
    ck_assert_int_eq(kw__record_iter_init(&it, &b, &scratch, 4096, 0), 0);
    ck_assert_int_eq(kw__record_next(&it, &r), 1);
    ck_assert(r.offset == 42);
    ck_assert(r.timestamp == 1700000000000LL);
    ck_assert(bytes_eq(r.key, "region-1"));
    ck_assert(bytes_eq(r.value, "entry one, entry one, entry one"));
    kw_header_iter hi = kw__record_headers(&r);
    kw_record_header h;
    ck_assert_int_eq(kw__header_next(&hi, &h), 1);
    ck_assert(kw_str_eq(h.key, "h"));
    ck_assert(bytes_eq(h.value, "x"));
    ck_assert_int_eq(kw__record_next(&it, &r), 1);
    ck_assert(r.offset == 43);
    ck_assert(r.timestamp == 1700000000007LL);
    ck_assert_int_eq(r.key.len, -1);
    ck_assert(bytes_eq(r.value, "entry two"));
    ck_assert_int_eq(kw__record_next(&it, &r), 0);
    ck_assert_int_eq(kw__batch_next(&bi, &b), 0);
    kw__wr_free(&scratch);
}

START_TEST(decoder_reads_what_the_java_client_wrote)
{
    check_java_batch(java_none, sizeof(java_none), KW_CODEC_NONE);
    check_java_batch(java_gzip, sizeof(java_gzip), KW_CODEC_GZIP);
    check_java_batch(java_snappy, sizeof(java_snappy), KW_CODEC_SNAPPY);
    check_java_batch(java_lz4, sizeof(java_lz4), KW_CODEC_LZ4);
    check_java_batch(java_zstd, sizeof(java_zstd), KW_CODEC_ZSTD);
}
END_TEST

/*
 * Uncompressed, snappy and lz4 batches come out byte for byte as the Java
 * client writes them (CRC included).  gzip and zstd decode either way but
 * differ in bytes: Java's compressors are other implementations (the gzip
 * header's OS byte, zstd-jni's parameters).
 */
START_TEST(builder_matches_the_java_client_byte_for_byte)
{
    struct {
        int codec;
        const uint8_t *want;
        size_t n;
    } cases[] = {{KW_CODEC_NONE, java_none, sizeof(java_none)},
                 {KW_CODEC_SNAPPY, java_snappy, sizeof(java_snappy)},
                 {KW_CODEC_LZ4, java_lz4, sizeof(java_lz4)}};
    for (size_t i = 0; i < 3; i++) {
        kw_wr w;
        kw__wr_init(&w);
        kw_batch_builder b;
        kw_batch_opts o = {.base_offset = 42, .codec = cases[i].codec};
        ck_assert_int_eq(kw__batch_begin(&b, &w, &o), 0);
        kw_record_header h = {kw_str_c("h"), B("x")};
        ck_assert_int_eq(kw__batch_add(&b, 1700000000000LL, B("region-1"),
                                       B("entry one, entry one, entry one"), &h, 1),
                         0);
        ck_assert_int_eq(kw__batch_add(&b, 1700000000007LL, KW_BYTES_NULL, B("entry two"), NULL, 0),
                         0);
        ck_assert_int_eq(kw__batch_finish(&b), 0);
        ck_assert_uint_eq(w.len, cases[i].n);
        ck_assert_mem_eq(w.buf, cases[i].want, cases[i].n);
        kw__wr_free(&w);
    }
}
END_TEST

/* ---- round trips ---- */

struct rec {
    int64_t ts;
    const char *key; /* NULL = null */
    const char *value;
    kw_record_header h[3];
    size_t nh;
};

static void build(kw_wr *w, const kw_batch_opts *o, const struct rec *recs, size_t n)
{
    kw_batch_builder b;
    ck_assert_int_eq(kw__batch_begin(&b, w, o), 0);
    size_t predicted = KW_BATCH_HEADER_SIZE;
    for (size_t i = 0; i < n; i++) {
        kw_bytes k = recs[i].key ? B(recs[i].key) : KW_BYTES_NULL;
        kw_bytes v = recs[i].value ? B(recs[i].value) : KW_BYTES_NULL;
        predicted += kw__batch_record_size(&b, recs[i].ts, k, v, recs[i].h, recs[i].nh);
        ck_assert_int_eq(kw__batch_add(&b, recs[i].ts, k, v, recs[i].h, recs[i].nh), 0);
        ck_assert_uint_eq(kw__batch_size(&b), predicted);
    }
    ck_assert_int_eq(kw__batch_finish(&b), 0);
}

static const struct rec sample[] = {
    {5000, "key-0", "value-0", {{{"trace", 5}, {(const uint8_t *)"abc", 3}}}, 1},
    {5001, NULL, "no key", {{{0}}}, 0},
    {4990, "no value", NULL, {{{0}}}, 0},
    {5100, "", "", {{{"a", 1}, {NULL, -1}}, {{"b", 1}, {(const uint8_t *)"", 0}}}, 2},
    {5002, NULL, NULL, {{{0}}}, 0},
};
#define NSAMPLE (sizeof(sample) / sizeof(sample[0]))

static void check_sample(const uint8_t *buf, size_t len, int64_t base_offset, int codec)
{
    kw_batch_iter bi;
    kw_batch b;
    kw__batch_iter_init(&bi, buf, len, KW_BATCH_VERIFY_CRC);
    ck_assert_int_eq(kw__batch_next(&bi, &b), 1);
    ck_assert_int_eq(kw__batch_codec(&b), codec);
    ck_assert(b.base_offset == base_offset);
    ck_assert(b.base_timestamp == 5000);
    ck_assert(b.max_timestamp == 5100);
    ck_assert_int_eq(b.records_count, (int)NSAMPLE);
    ck_assert_int_eq(b.last_offset_delta, (int)NSAMPLE - 1);
    kw_wr scratch;
    kw__wr_init(&scratch);
    kw_record_iter it;
    ck_assert_int_eq(kw__record_iter_init(&it, &b, &scratch, 1 << 20, 0), 0);
    kw_record r;
    for (size_t i = 0; i < NSAMPLE; i++) {
        ck_assert_int_eq(kw__record_next(&it, &r), 1);
        ck_assert(r.offset == base_offset + (int64_t)i);
        ck_assert(r.timestamp == sample[i].ts);
        ck_assert(bytes_eq(r.key, sample[i].key));
        ck_assert(bytes_eq(r.value, sample[i].value));
        ck_assert_int_eq(r.header_count, (int)sample[i].nh);
        kw_header_iter hi = kw__record_headers(&r);
        kw_record_header h;
        for (size_t j = 0; j < sample[i].nh; j++) {
            ck_assert_int_eq(kw__header_next(&hi, &h), 1);
            ck_assert_int_eq(h.key.len, sample[i].h[j].key.len);
            ck_assert_mem_eq(h.key.ptr, sample[i].h[j].key.ptr, (size_t)h.key.len);
            ck_assert_int_eq(h.value.len, sample[i].h[j].value.len);
            if (h.value.len > 0)
                ck_assert_mem_eq(h.value.ptr, sample[i].h[j].value.ptr, (size_t)h.value.len);
        }
        ck_assert_int_eq(kw__header_next(&hi, &h), 0);
    }
    ck_assert_int_eq(kw__record_next(&it, &r), 0);
    ck_assert_int_eq(kw__batch_next(&bi, &b), 0);
    kw__wr_free(&scratch);
}

START_TEST(every_codec_round_trips_headers_and_nulls)
{
    int codecs[] = {KW_CODEC_NONE, KW_CODEC_GZIP, KW_CODEC_SNAPPY, KW_CODEC_LZ4, KW_CODEC_ZSTD};
    for (int c = 0; c < 5; c++) {
        kw_wr w;
        kw__wr_init(&w);
        kw__wr_raw(&w, "junk", 4); /* the batch starts wherever the writer is */
        kw_batch_opts o = {.base_offset = 1000, .codec = codecs[c]};
        build(&w, &o, sample, NSAMPLE);
        check_sample(w.buf + 4, w.len - 4, 1000, codecs[c]);
        kw__wr_free(&w);
    }
}
END_TEST

START_TEST(lz4_batch_of_many_records_compresses_and_reads_back)
{
    kw_wr w, scratch;
    kw__wr_init(&w);
    kw__wr_init(&scratch);
    kw_batch_builder b;
    kw_batch_opts o = {.codec = KW_CODEC_LZ4};
    ck_assert_int_eq(kw__batch_begin(&b, &w, &o), 0);
    char val[1024];
    for (int i = 0; i < 500; i++) {
        memset(val, 'a' + i % 26, sizeof(val));
        kw_bytes v = {(uint8_t *)val, 1024};
        ck_assert_int_eq(kw__batch_add(&b, 1000 + i, B("region-7"), v, NULL, 0), 0);
    }
    size_t uncompressed = kw__batch_size(&b);
    ck_assert_int_eq(kw__batch_finish(&b), 0);
    ck_assert_uint_lt(w.len, uncompressed / 10);
    /* the frame sits right after the header */
    const uint8_t lz4_magic[4] = {0x04, 0x22, 0x4D, 0x18};
    ck_assert_mem_eq(w.buf + KW_BATCH_HEADER_SIZE, lz4_magic, 4);
    kw_batch_iter bi;
    kw_batch bt;
    kw__batch_iter_init(&bi, w.buf, w.len, KW_BATCH_VERIFY_CRC);
    ck_assert_int_eq(kw__batch_next(&bi, &bt), 1);
    kw_record_iter it;
    ck_assert_int_eq(kw__record_iter_init(&it, &bt, &scratch, 1 << 20, 0), 0);
    kw_record r;
    int n = 0;
    while (kw__record_next(&it, &r) == 1) {
        ck_assert(r.offset == n);
        ck_assert(r.timestamp == 1000 + n);
        ck_assert_int_eq(r.value.len, 1024);
        ck_assert_int_eq(r.value.ptr[1023], 'a' + n % 26);
        n++;
    }
    ck_assert_int_eq(it.err, 0);
    ck_assert_int_eq(n, 500);
    /* a limit below the records' size refuses the batch */
    ck_assert_int_eq(kw__record_iter_init(&it, &bt, &scratch, 4096, 0), KW_ETOOBIG);
    ck_assert(strstr(it.errstr, "lz4") != NULL);
    /* no scratch for a compressed batch */
    ck_assert_int_eq(kw__record_iter_init(&it, &bt, NULL, 0, 0), KW_EINVAL);
    kw__wr_free(&w);
    kw__wr_free(&scratch);
}
END_TEST

START_TEST(idempotent_and_transactional_fields_are_written)
{
    kw_wr w;
    kw__wr_init(&w);
    kw_batch_opts o = {.idempotent = true,
                       .producer_id = 4242,
                       .producer_epoch = 3,
                       .base_sequence = 17,
                       .transactional = true,
                       .set_leader_epoch = true,
                       .leader_epoch = 9};
    build(&w, &o, sample, 2);
    kw_batch_iter bi;
    kw_batch b;
    kw__batch_iter_init(&bi, w.buf, w.len, KW_BATCH_VERIFY_CRC);
    ck_assert_int_eq(kw__batch_next(&bi, &b), 1);
    ck_assert(b.producer_id == 4242);
    ck_assert_int_eq(b.producer_epoch, 3);
    ck_assert_int_eq(b.base_sequence, 17);
    ck_assert_int_eq(b.partition_leader_epoch, 9);
    ck_assert(kw__batch_is_transactional(&b));
    ck_assert(!kw__batch_is_control(&b));
    ck_assert_int_eq(b.attributes, KW_BATCH_ATTR_TRANSACTIONAL);
    kw__wr_free(&w);
}
END_TEST

START_TEST(builder_refuses_bad_input)
{
    kw_wr w;
    kw__wr_init(&w);
    kw_batch_builder b;
    kw_batch_opts txn_only = {.transactional = true};
    ck_assert_int_eq(kw__batch_begin(&b, &w, &txn_only), KW_EINVAL);
    kw_batch_opts bad_codec = {.codec = 5};
    ck_assert_int_eq(kw__batch_begin(&b, &w, &bad_codec), KW_EINVAL);
    ck_assert_uint_eq(w.len, 0);

    /* no records: the broker would refuse it, so finish does */
    ck_assert_int_eq(kw__batch_begin(&b, &w, NULL), 0);
    ck_assert_uint_eq(w.len, KW_BATCH_HEADER_SIZE);
    ck_assert_int_eq(kw__batch_finish(&b), KW_EINVAL);
    ck_assert_uint_eq(w.len, 0);

    /* a null header key, or a length with no bytes */
    ck_assert_int_eq(kw__batch_begin(&b, &w, NULL), 0);
    kw_record_header h = {KW_STR_NULL, B("x")};
    ck_assert_int_eq(kw__batch_add(&b, 1, B("k"), B("v"), &h, 1), KW_EINVAL);
    ck_assert_int_eq(kw__batch_add(&b, 1, B("k"), B("v"), NULL, 0), KW_EINVAL); /* sticks */
    kw__batch_abort(&b);
    ck_assert_uint_eq(w.len, 0);
    ck_assert_int_eq(kw__batch_begin(&b, &w, NULL), 0);
    ck_assert_int_eq(kw__batch_add(&b, 1, (kw_bytes){NULL, 3}, B("v"), NULL, 0), KW_EINVAL);
    ck_assert_int_eq(kw__batch_finish(&b), KW_EINVAL);
    ck_assert_uint_eq(w.len, 0);

    /* a fixed writer too small for the record */
    uint8_t small[80];
    kw_wr f;
    kw__wr_init_fixed(&f, small, sizeof(small));
    ck_assert_int_eq(kw__batch_begin(&b, &f, NULL), 0);
    uint8_t big[64] = {0};
    ck_assert_int_eq(kw__batch_add(&b, 1, KW_BYTES_NULL, (kw_bytes){big, 64}, NULL, 0),
                     KW_ETOOBIG);
    kw__wr_free(&w);
}
END_TEST

START_TEST(base_timestamp_defaults_to_the_first_record)
{
    kw_wr w;
    kw__wr_init(&w);
    struct rec r[] = {{777000, "a", "b", {{{0}}}, 0}, {776990, "c", "d", {{{0}}}, 0}};
    build(&w, NULL, r, 2);
    kw_batch_iter bi;
    kw_batch b;
    kw__batch_iter_init(&bi, w.buf, w.len, KW_BATCH_VERIFY_CRC);
    ck_assert_int_eq(kw__batch_next(&bi, &b), 1);
    ck_assert(b.base_timestamp == 777000);
    ck_assert(b.max_timestamp == 777000);
    kw_record_iter it;
    kw_record rec;
    ck_assert_int_eq(kw__record_iter_init(&it, &b, NULL, 0, 0), 0);
    ck_assert_int_eq(kw__record_next(&it, &rec), 1);
    ck_assert(rec.timestamp == 777000);
    ck_assert_int_eq(kw__record_next(&it, &rec), 1);
    ck_assert(rec.timestamp == 776990); /* a negative delta */
    kw__wr_free(&w);
}
END_TEST

/* ---- fetch responses: several batches, cut tails ---- */

START_TEST(batches_follow_each_other)
{
    kw_wr w;
    kw__wr_init(&w);
    for (int i = 0; i < 50; i++) {
        kw_batch_opts o = {.base_offset = i * 5, .codec = i % 2 ? KW_CODEC_LZ4 : KW_CODEC_NONE};
        build(&w, &o, sample, NSAMPLE);
    }
    kw_batch_iter bi;
    kw_batch b;
    kw_wr scratch;
    kw__wr_init(&scratch);
    kw__batch_iter_init(&bi, w.buf, w.len, KW_BATCH_VERIFY_CRC);
    int64_t next = 0;
    int batches = 0;
    while (kw__batch_next(&bi, &b) == 1) {
        ck_assert(b.base_offset == next);
        kw_record_iter it;
        kw_record r;
        ck_assert_int_eq(kw__record_iter_init(&it, &b, &scratch, 0, 0), 0);
        while (kw__record_next(&it, &r) == 1)
            ck_assert(r.offset == next++);
        ck_assert_int_eq(it.err, 0);
        ck_assert(kw__batch_next_offset(&b) == next);
        batches++;
    }
    ck_assert_int_eq(bi.err, 0);
    ck_assert_int_eq(batches, 50);
    ck_assert(next == 250);
    ck_assert_uint_eq(bi.pos, w.len);
    kw__wr_free(&w);
    kw__wr_free(&scratch);
}
END_TEST

START_TEST(a_cut_last_batch_ends_the_walk_cleanly)
{
    kw_wr w;
    kw__wr_init(&w);
    kw_batch_opts o = {.base_offset = 0};
    build(&w, &o, sample, NSAMPLE);
    size_t first = w.len;
    o.base_offset = 5;
    o.codec = KW_CODEC_LZ4;
    build(&w, &o, sample, NSAMPLE);
    /* every cut inside the second batch, from nothing to one byte short */
    for (size_t cut = first; cut < w.len; cut++) {
        kw_batch_iter bi;
        kw_batch b;
        kw__batch_iter_init(&bi, w.buf, cut, KW_BATCH_VERIFY_CRC);
        ck_assert_int_eq(kw__batch_next(&bi, &b), 1);
        ck_assert(b.base_offset == 0);
        ck_assert_int_eq(kw__batch_next(&bi, &b), 0);
        ck_assert_int_eq(bi.err, 0);
        ck_assert_uint_eq(bi.pos, first);
    }
    /* and a cut first batch yields nothing at all */
    for (size_t cut = 0; cut < first; cut++) {
        kw_batch_iter bi;
        kw_batch b;
        kw__batch_iter_init(&bi, w.buf, cut, KW_BATCH_VERIFY_CRC);
        ck_assert_int_eq(kw__batch_next(&bi, &b), 0);
        ck_assert_uint_eq(bi.pos, 0);
    }
    kw__wr_free(&w);
}
END_TEST

START_TEST(a_bad_crc_is_reported_unless_not_verified)
{
    uint8_t buf[sizeof(hand_batch)];
    memcpy(buf, hand_batch, sizeof(buf));
    buf[68] ^= 0x20; /* in record 0's value: 'v' becomes 'V' */
    kw_batch_iter bi;
    kw_batch b;
    kw__batch_iter_init(&bi, buf, sizeof(buf), KW_BATCH_VERIFY_CRC);
    ck_assert_int_eq(kw__batch_next(&bi, &b), KW_ECRC);
    ck_assert_str_eq(bi.errstr, "batch at offset 0 has CRC fde86579 but its bytes give d1a43407");
    ck_assert_int_eq(kw__batch_next(&bi, &b), KW_ECRC); /* sticks */
    kw__batch_iter_init(&bi, buf, sizeof(buf), 0);
    ck_assert_int_eq(kw__batch_next(&bi, &b), 1);
    /* the CRC field itself */
    memcpy(buf, hand_batch, sizeof(buf));
    buf[KW_BATCH_OFF_CRC + 3] ^= 1;
    kw__batch_iter_init(&bi, buf, sizeof(buf), KW_BATCH_VERIFY_CRC);
    ck_assert_int_eq(kw__batch_next(&bi, &b), KW_ECRC);
}
END_TEST

START_TEST(magic_other_than_2_is_unsupported)
{
    uint8_t buf[sizeof(hand_batch)];
    memcpy(buf, hand_batch, sizeof(buf));
    buf[KW_BATCH_OFF_MAGIC] = 1;
    kw_batch_iter bi;
    kw_batch b;
    kw__batch_iter_init(&bi, buf, sizeof(buf), KW_BATCH_VERIFY_CRC);
    ck_assert_int_eq(kw__batch_next(&bi, &b), KW_EUNSUPPORTED);
    ck_assert_str_eq(bi.errstr, "batch at offset 0 has magic 1; kwal reads only magic 2");
    /* an old-format message shorter than a v2 header is still named by its magic */
    kw__batch_iter_init(&bi, buf, 30, 0);
    ck_assert_int_eq(kw__batch_next(&bi, &b), KW_EUNSUPPORTED);
}
END_TEST

START_TEST(batch_length_shorter_than_the_header_is_malformed)
{
    uint8_t buf[sizeof(hand_batch)];
    memcpy(buf, hand_batch, sizeof(buf));
    kw_store_be32(buf + KW_BATCH_OFF_LENGTH, 48);
    kw_batch_iter bi;
    kw_batch b;
    kw__batch_iter_init(&bi, buf, sizeof(buf), 0);
    ck_assert_int_eq(kw__batch_next(&bi, &b), KW_EMALFORMED);
    ck_assert_str_eq(bi.errstr,
                     "batch at offset 0 declares batchLength 48, less than the 49-byte header");
    kw_store_be32(buf + KW_BATCH_OFF_LENGTH, (uint32_t)-1);
    kw__batch_iter_init(&bi, buf, sizeof(buf), 0);
    ck_assert_int_eq(kw__batch_next(&bi, &b), KW_EMALFORMED);
    /* 49 is a header with no records section: fine at the batch level */
    memcpy(buf, hand_batch, sizeof(buf));
    kw_store_be32(buf + KW_BATCH_OFF_LENGTH, 49);
    kw__batch_iter_init(&bi, buf, sizeof(buf), 0);
    ck_assert_int_eq(kw__batch_next(&bi, &b), 1);
    ck_assert_uint_eq(b.records_len, 0);
    /* ...but its two records are missing */
    kw_record_iter it;
    kw_record r;
    ck_assert_int_eq(kw__record_iter_init(&it, &b, NULL, 0, 0), 0);
    ck_assert_int_eq(kw__record_next(&it, &r), KW_EMALFORMED);
    /* a negative record count */
    memcpy(buf, hand_batch, sizeof(buf));
    kw_store_be32(buf + KW_BATCH_OFF_RECORDS_COUNT, (uint32_t)-3);
    kw__batch_iter_init(&bi, buf, sizeof(buf), 0);
    ck_assert_int_eq(kw__batch_next(&bi, &b), KW_EMALFORMED);
}
END_TEST

/* ---- malformed records ---- */

static int records_rc(int32_t count, const uint8_t *recs, size_t n, int *got)
{
    kw_wr w;
    kw__wr_init(&w);
    raw_batch(&w, count, recs, n);
    kw_record r[8];
    int rc = read_all(w.buf, w.len, r, 8, got, NULL);
    kw__wr_free(&w);
    return rc;
}

START_TEST(malformed_records_are_errors)
{
    int got;
    /* a good record: len 7: attrs, ts 0, od 0, key null, value "a", 0 headers */
    const uint8_t good[] = {0x0E, 0, 0, 0, 0x01, 0x02, 'a', 0};
    ck_assert_int_eq(records_rc(1, good, sizeof(good), &got), 0);
    ck_assert_int_eq(got, 1);

    /* record length past the end of the batch */
    const uint8_t past[] = {0x20, 0, 0, 0, 0x01, 0x02, 'a', 0};
    ck_assert_int_eq(records_rc(1, past, sizeof(past), &got), KW_EMALFORMED);
    ck_assert_int_eq(got, 0);
    /* negative record length */
    const uint8_t neg[] = {0x03, 0, 0, 0, 0x01, 0x02, 'a', 0};
    ck_assert_int_eq(records_rc(1, neg, sizeof(neg), &got), KW_EMALFORMED);
    /* key length -2 */
    const uint8_t key_m2[] = {0x0E, 0, 0, 0, 0x03, 0x02, 'a', 0};
    ck_assert_int_eq(records_rc(1, key_m2, sizeof(key_m2), &got), KW_EMALFORMED);
    /* value length 5 inside a record that ends sooner */
    const uint8_t val_past[] = {0x0E, 0, 0, 0, 0x01, 0x0A, 'a', 0, 'x', 'y', 'z', 'w'};
    ck_assert_int_eq(records_rc(1, val_past, sizeof(val_past), &got), KW_EMALFORMED);
    /* a record longer than its fields (a byte left over) */
    const uint8_t slack[] = {0x10, 0, 0, 0, 0x01, 0x02, 'a', 0, 0};
    ck_assert_int_eq(records_rc(1, slack, sizeof(slack), &got), KW_EMALFORMED);
    /* header count -1, header key null, header value -2 */
    const uint8_t hc_neg[] = {0x0E, 0, 0, 0, 0x01, 0x02, 'a', 0x01};
    ck_assert_int_eq(records_rc(1, hc_neg, sizeof(hc_neg), &got), KW_EMALFORMED);
    const uint8_t hk_null[] = {0x12, 0, 0, 0, 0x01, 0x02, 'a', 0x02, 0x01, 0x00};
    ck_assert_int_eq(records_rc(1, hk_null, sizeof(hk_null), &got), KW_EMALFORMED);
    const uint8_t hv_m2[] = {0x14, 0, 0, 0, 0x01, 0x02, 'a', 0x02, 0x02, 'h', 0x03};
    ck_assert_int_eq(records_rc(1, hv_m2, sizeof(hv_m2), &got), KW_EMALFORMED);
    /* a huge header count in a short record */
    const uint8_t hc_huge[] = {0x16, 0, 0, 0, 0x01, 0x02, 'a', 0xFE, 0xFF, 0xFF, 0xFF, 0x07};
    ck_assert_int_eq(records_rc(1, hc_huge, sizeof(hc_huge), &got), KW_EMALFORMED);
    /* a record length varint cut off at the end */
    const uint8_t cut_len[] = {0x0E, 0, 0, 0, 0x01, 0x02, 'a', 0, 0x80};
    ck_assert_int_eq(records_rc(2, cut_len, sizeof(cut_len), &got), KW_EMALFORMED);
    ck_assert_int_eq(got, 1);
}
END_TEST

START_TEST(a_record_count_that_disagrees_is_malformed)
{
    int got;
    const uint8_t two[] = {0x0E, 0, 0, 0, 0x01, 0x02, 'a', 0, 0x0E, 0, 0, 0x02, 0x01, 0x02, 'b', 0};
    ck_assert_int_eq(records_rc(2, two, sizeof(two), &got), 0);
    ck_assert_int_eq(got, 2);
    /* says 3, has 2 */
    kw_wr w;
    kw__wr_init(&w);
    raw_batch(&w, 3, two, sizeof(two));
    kw_record r[4];
    kw_record_iter it;
    ck_assert_int_eq(read_all(w.buf, w.len, r, 4, &got, &it), KW_EMALFORMED);
    ck_assert_int_eq(got, 2);
    ck_assert_str_eq(it.errstr,
                     "batch at offset 0: 1 of the records its header counts are missing");
    kw__wr_free(&w);
    /* says 1, has 2 */
    kw__wr_init(&w);
    raw_batch(&w, 1, two, sizeof(two));
    ck_assert_int_eq(read_all(w.buf, w.len, r, 4, &got, &it), KW_EMALFORMED);
    ck_assert_int_eq(got, 1);
    ck_assert_str_eq(it.errstr, "batch at offset 0: 8 bytes after the records its header counts");
    kw__wr_free(&w);
    /* says 0, has none: an empty batch (compaction leaves these) */
    ck_assert_int_eq(records_rc(0, two, 0, &got), 0);
    ck_assert_int_eq(got, 0);
}
END_TEST

/* ---- skipping, control batches, log append time ---- */

START_TEST(records_below_the_start_offset_are_skipped)
{
    kw_wr w, scratch;
    kw__wr_init(&w);
    kw__wr_init(&scratch);
    kw_batch_opts o = {.base_offset = 100, .codec = KW_CODEC_LZ4};
    build(&w, &o, sample, NSAMPLE); /* offsets 100..104 */
    kw_batch_iter bi;
    kw_batch b;
    kw__batch_iter_init(&bi, w.buf, w.len, KW_BATCH_VERIFY_CRC);
    ck_assert_int_eq(kw__batch_next(&bi, &b), 1);
    kw_record_iter it;
    kw_record r;
    ck_assert_int_eq(kw__record_iter_init(&it, &b, &scratch, 0, 103), 0);
    ck_assert_int_eq(kw__record_next(&it, &r), 1);
    ck_assert(r.offset == 103);
    ck_assert(bytes_eq(r.value, ""));
    ck_assert_int_eq(kw__record_next(&it, &r), 1);
    ck_assert(r.offset == 104);
    ck_assert_int_eq(kw__record_next(&it, &r), 0);
    /* a batch entirely below is not even decompressed: no scratch needed */
    ck_assert_int_eq(kw__record_iter_init(&it, &b, NULL, 0, 105), 0);
    ck_assert_int_eq(kw__record_next(&it, &r), 0);
    kw__wr_free(&w);
    kw__wr_free(&scratch);
}
END_TEST

START_TEST(control_batches_carry_transaction_markers)
{
    kw_wr w;
    kw__wr_init(&w);
    kw_batch_builder b;
    kw_batch_opts o = {.idempotent = true,
                       .producer_id = 77,
                       .producer_epoch = 1,
                       .base_sequence = -1,
                       .transactional = true,
                       .control = true};
    uint8_t keybuf[4];
    /* value: EndTransactionMarker version 0, coordinator epoch 5 */
    const uint8_t marker[6] = {0, 0, 0, 0, 0, 5};
    ck_assert_int_eq(kw__batch_begin(&b, &w, &o), 0);
    ck_assert_int_eq(kw__batch_add(&b, 9000, kw__control_key(keybuf, KW_CONTROL_COMMIT),
                                   (kw_bytes){marker, 6}, NULL, 0),
                     0);
    ck_assert_int_eq(kw__batch_finish(&b), 0);
    o.base_offset = 1;
    ck_assert_int_eq(kw__batch_begin(&b, &w, &o), 0);
    ck_assert_int_eq(kw__batch_add(&b, 9001, kw__control_key(keybuf, KW_CONTROL_ABORT),
                                   (kw_bytes){marker, 6}, NULL, 0),
                     0);
    ck_assert_int_eq(kw__batch_finish(&b), 0);

    kw_batch_iter bi;
    kw_batch bt;
    kw__batch_iter_init(&bi, w.buf, w.len, KW_BATCH_VERIFY_CRC);
    int16_t want[2] = {KW_CONTROL_COMMIT, KW_CONTROL_ABORT};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(kw__batch_next(&bi, &bt), 1);
        ck_assert(kw__batch_is_control(&bt));
        ck_assert(kw__batch_is_transactional(&bt));
        ck_assert(bt.producer_id == 77);
        ck_assert_int_eq(bt.attributes, KW_BATCH_ATTR_CONTROL | KW_BATCH_ATTR_TRANSACTIONAL);
        kw_record_iter it;
        kw_record r;
        ck_assert_int_eq(kw__record_iter_init(&it, &bt, NULL, 0, 0), 0);
        ck_assert_int_eq(kw__record_next(&it, &r), 1);
        int16_t version = -1, type = -1;
        ck_assert_int_eq(kw__control_record_parse(&r, &version, &type), 0);
        ck_assert_int_eq(version, 0);
        ck_assert_int_eq(type, want[i]);
        ck_assert_int_eq(r.value.len, 6);
        ck_assert_int_eq(r.value.ptr[5], 5);
    }
    /* a key too short to be a control key */
    kw_record r = {.key = B("abc")};
    int16_t version, type;
    ck_assert_int_eq(kw__control_record_parse(&r, &version, &type), KW_EMALFORMED);
    r.key = KW_BYTES_NULL;
    ck_assert_int_eq(kw__control_record_parse(&r, &version, &type), KW_EMALFORMED);
    kw__wr_free(&w);
}
END_TEST

START_TEST(log_append_time_gives_every_record_the_max_timestamp)
{
    uint8_t buf[sizeof(hand_batch)];
    memcpy(buf, hand_batch, sizeof(buf));
    buf[KW_BATCH_OFF_ATTRIBUTES + 1] |= KW_BATCH_ATTR_LOG_APPEND_TIME;
    kw_store_be64(buf + KW_BATCH_OFF_MAX_TIMESTAMP, 1800000000000ULL); /* the broker's clock */
    reseal(buf, sizeof(buf));
    kw_record r[2];
    int got;
    ck_assert_int_eq(read_all(buf, sizeof(buf), r, 2, &got, NULL), 0);
    ck_assert_int_eq(got, 2);
    ck_assert(r[0].timestamp == 1800000000000LL);
    ck_assert(r[1].timestamp == 1800000000000LL);
}
END_TEST

START_TEST(unknown_codec_bits_are_unsupported)
{
    uint8_t buf[sizeof(hand_batch)];
    memcpy(buf, hand_batch, sizeof(buf));
    buf[KW_BATCH_OFF_ATTRIBUTES + 1] |= 6;
    reseal(buf, sizeof(buf));
    kw_batch_iter bi;
    kw_batch b;
    kw__batch_iter_init(&bi, buf, sizeof(buf), KW_BATCH_VERIFY_CRC);
    ck_assert_int_eq(kw__batch_next(&bi, &b), 1);
    kw_wr scratch;
    kw__wr_init(&scratch);
    kw_record_iter it;
    ck_assert_int_eq(kw__record_iter_init(&it, &b, &scratch, 0, 0), KW_EUNSUPPORTED);
    ck_assert_str_eq(it.errstr, "batch at offset 0 uses compression codec 6");
    kw_record r;
    ck_assert_int_eq(kw__record_next(&it, &r), KW_EUNSUPPORTED);
    kw__wr_free(&scratch);
}
END_TEST

/* ---- hostile bytes ---- */

START_TEST(flipped_bytes_never_read_out_of_bounds)
{
    kw_wr w, scratch;
    kw__wr_init(&w);
    kw__wr_init(&scratch);
    kw_batch_opts o = {.base_offset = 3};
    build(&w, &o, sample, NSAMPLE);
    o.codec = KW_CODEC_LZ4;
    build(&w, &o, sample, NSAMPLE);
    /* a copy of exactly the right size, so ASan sees any read past it */
    uint8_t *buf = malloc(w.len);
    rng_state = 99;
    int outcomes[3] = {0, 0, 0};
    for (int t = 0; t < 20000; t++) {
        memcpy(buf, w.buf, w.len);
        int flips = 1 + (int)(rnd() % 3);
        for (int f = 0; f < flips; f++)
            buf[rnd() % w.len] ^= (uint8_t)(1u << (rnd() % 8));
        kw_batch_iter bi;
        kw_batch b;
        kw__batch_iter_init(&bi, buf, w.len, 0);
        int rc;
        while ((rc = kw__batch_next(&bi, &b)) == 1) {
            kw_record_iter it;
            kw_record r;
            if (kw__record_iter_init(&it, &b, &scratch, 1 << 16, 0))
                continue;
            const uint8_t *lo = b.records, *up = b.records + b.records_len;
            if (kw__batch_codec(&b) != KW_CODEC_NONE) {
                lo = scratch.buf;
                up = scratch.buf + scratch.len;
            }
            while ((rc = kw__record_next(&it, &r)) == 1) {
                /* everything handed out lies inside the batch or the scratch */
                if (r.key.len > 0)
                    ck_assert(r.key.ptr >= lo && r.key.ptr + r.key.len <= up);
                if (r.value.len > 0)
                    ck_assert(r.value.ptr >= lo && r.value.ptr + r.value.len <= up);
                ck_assert(r.headers >= lo && r.headers + r.headers_len <= up);
                kw_header_iter hi = kw__record_headers(&r);
                kw_record_header h;
                int nh = 0;
                while (kw__header_next(&hi, &h) == 1)
                    nh++;
                ck_assert_int_eq(nh, r.header_count);
            }
            ck_assert(rc == 0 || rc == KW_EMALFORMED);
            outcomes[rc == 0 ? 0 : 1]++;
        }
        ck_assert(rc == 0 || rc == KW_EMALFORMED || rc == KW_EUNSUPPORTED);
        if (rc)
            outcomes[2]++;
    }
    /* the flips hit both clean and broken paths */
    ck_assert_int_gt(outcomes[0], 0);
    ck_assert_int_gt(outcomes[1], 0);
    free(buf);
    kw__wr_free(&w);
    kw__wr_free(&scratch);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("batch");
    TCase *crc = tcase_create("crc32c");
    tcase_add_test(crc, crc32c_check_value);
    tcase_add_test(crc, crc32c_rfc3720_vectors);
    tcase_add_test(crc, crc32c_paths_agree_on_every_length_and_alignment);
    tcase_add_test(crc, crc32c_is_incremental);
    suite_add_tcase(s, crc);
    TCase *tc = tcase_create("record batch");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, builder_writes_the_hand_built_batch_exactly);
    tcase_add_test(tc, decoder_reads_the_hand_built_batch);
    tcase_add_test(tc, decoder_reads_a_batch_another_client_wrote);
    tcase_add_test(tc, decoder_reads_what_the_java_client_wrote);
    tcase_add_test(tc, builder_matches_the_java_client_byte_for_byte);
    tcase_add_test(tc, every_codec_round_trips_headers_and_nulls);
    tcase_add_test(tc, lz4_batch_of_many_records_compresses_and_reads_back);
    tcase_add_test(tc, idempotent_and_transactional_fields_are_written);
    tcase_add_test(tc, builder_refuses_bad_input);
    tcase_add_test(tc, base_timestamp_defaults_to_the_first_record);
    tcase_add_test(tc, batches_follow_each_other);
    tcase_add_test(tc, a_cut_last_batch_ends_the_walk_cleanly);
    tcase_add_test(tc, a_bad_crc_is_reported_unless_not_verified);
    tcase_add_test(tc, magic_other_than_2_is_unsupported);
    tcase_add_test(tc, batch_length_shorter_than_the_header_is_malformed);
    tcase_add_test(tc, malformed_records_are_errors);
    tcase_add_test(tc, a_record_count_that_disagrees_is_malformed);
    tcase_add_test(tc, records_below_the_start_offset_are_skipped);
    tcase_add_test(tc, control_batches_carry_transaction_markers);
    tcase_add_test(tc, log_append_time_gives_every_record_the_max_timestamp);
    tcase_add_test(tc, unknown_codec_bits_are_unsupported);
    tcase_add_test(tc, flipped_bytes_never_read_out_of_bounds);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
