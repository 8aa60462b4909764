/* Unit tests of the batch codecs: round trips, other libraries' streams, bombs and garbage. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "proto/compress.h"

/* ---- helpers ---- */

static uint64_t rng_state;
static uint32_t rnd(void)
{
    /* xorshift64*: a fixed, reproducible stream */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ULL) >> 32);
}

/* Text-like bytes that compress (words from a small set) or random ones. */
static uint8_t *make_data(size_t n, bool compressible)
{
    static const char *words[] = {"region", "entry", "kafka", "wal", " ", "topic", "42", "\n"};
    uint8_t *b = malloc(n ? n : 1);
    rng_state = 0x9E3779B97F4A7C15ULL ^ n;
    size_t i = 0;
    while (i < n) {
        if (compressible) {
            const char *w = words[rnd() % 8];
            for (; *w && i < n; w++)
                b[i++] = (uint8_t)*w;
        } else {
            b[i++] = (uint8_t)rnd();
        }
    }
    return b;
}

static void expect_round_trip(int codec, const uint8_t *data, size_t n)
{
    kw_wr c, d;
    kw__wr_init(&c);
    kw__wr_init(&d);
    ck_assert_int_eq(kw__compress(codec, data, n, &c), 0);
    ck_assert_uint_le(c.len, kw__compress_bound(codec, n));
    ck_assert_int_eq(kw__decompress(codec, c.buf, c.len, &d, n), 0);
    ck_assert_uint_eq(d.len, n);
    if (n)
        ck_assert_mem_eq(d.buf, data, n);
    kw__wr_free(&c);
    kw__wr_free(&d);
}

static const size_t sizes[] = {0, 1, 17, 4096, 32767, 32768, 32769, 65535, 65536, 65537, 300001};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

/* ---- every codec ---- */

START_TEST(every_codec_round_trips_at_block_edges)
{
    int codecs[] = {KW_CODEC_NONE, KW_CODEC_GZIP, KW_CODEC_SNAPPY, KW_CODEC_LZ4, KW_CODEC_ZSTD};
    for (size_t c = 0; c < 5; c++) {
        for (size_t i = 0; i < NSIZES; i++) {
            for (int comp = 0; comp < 2; comp++) {
                uint8_t *data = make_data(sizes[i], comp);
                expect_round_trip(codecs[c], data, sizes[i]);
                free(data);
            }
        }
    }
}
END_TEST

START_TEST(unknown_codecs_are_unsupported)
{
    uint8_t x[4] = {1, 2, 3, 4};
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__compress(5, x, 4, &w), KW_EUNSUPPORTED);
    ck_assert_int_eq(kw__compress(-1, x, 4, &w), KW_EUNSUPPORTED);
    ck_assert_int_eq(kw__decompress(7, x, 4, &w, 100), KW_EUNSUPPORTED);
    ck_assert_uint_eq(kw__compress_bound(6, 100), 0);
    ck_assert_uint_eq(w.len, 0);
    ck_assert_str_eq(kw__codec_name(KW_CODEC_LZ4), "lz4");
    ck_assert_str_eq(kw__codec_name(9), "unknown");
    kw__wr_free(&w);
}
END_TEST

START_TEST(output_is_appended_and_failure_restores_the_length)
{
    uint8_t *data = make_data(5000, true);
    kw_wr c, d;
    kw__wr_init(&c);
    kw__wr_init(&d);
    ck_assert_int_eq(kw__compress(KW_CODEC_LZ4, data, 5000, &c), 0);
    kw__wr_raw(&d, "prefix", 6);
    ck_assert_int_eq(kw__decompress(KW_CODEC_LZ4, c.buf, c.len, &d, 5000), 0);
    ck_assert_uint_eq(d.len, 5006);
    ck_assert_mem_eq(d.buf, "prefix", 6);
    ck_assert_mem_eq(d.buf + 6, data, 5000);
    /* a limit one byte short fails and leaves what was there */
    ck_assert_int_eq(kw__decompress(KW_CODEC_LZ4, c.buf, c.len, &d, 4999), KW_ETOOBIG);
    ck_assert_uint_eq(d.len, 5006);
    ck_assert_int_eq(d.err, 0);
    kw__wr_free(&c);
    kw__wr_free(&d);
    free(data);
}
END_TEST

START_TEST(fixed_writer_too_small_is_too_big)
{
    uint8_t *data = make_data(10000, true);
    kw_wr c, d;
    kw__wr_init(&c);
    uint8_t buf[4096];
    kw__wr_init_fixed(&d, buf, sizeof(buf));
    int codecs[] = {KW_CODEC_GZIP, KW_CODEC_SNAPPY, KW_CODEC_LZ4, KW_CODEC_ZSTD};
    for (int i = 0; i < 4; i++) {
        c.len = 0;
        ck_assert_int_eq(kw__compress(codecs[i], data, 10000, &c), 0);
        ck_assert_int_eq(kw__decompress(codecs[i], c.buf, c.len, &d, 1 << 20), KW_ETOOBIG);
        ck_assert_uint_eq(d.len, 0);
    }
    kw__wr_free(&c);
    free(data);
}
END_TEST

/* ---- lz4 ---- */

START_TEST(lz4_frame_header_is_the_one_kafka_writes)
{
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__compress(KW_CODEC_LZ4, (const uint8_t *)"hello", 5, &w), 0);
    /* magic, FLG 0x60 (version 1, independent blocks), BD 0x40 (64 KiB), HC */
    const uint8_t head[] = {0x04, 0x22, 0x4D, 0x18, 0x60, 0x40, 0x82};
    ck_assert_mem_eq(w.buf, head, sizeof(head));
    /* "hello" does not shrink: stored raw (high bit), then the end mark */
    const uint8_t rest[] = {0x05, 0x00, 0x00, 0x80, 'h', 'e', 'l', 'l', 'o', 0, 0, 0, 0};
    ck_assert_uint_eq(w.len, sizeof(head) + sizeof(rest));
    ck_assert_mem_eq(w.buf + sizeof(head), rest, sizeof(rest));

    /* liblz4 computes the same header checksum for the same descriptor */
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    uint8_t ref[64];
    size_t n = LZ4F_compressFrame(ref, sizeof(ref), "hello", 5, &prefs);
    ck_assert(!LZ4F_isError(n));
    ck_assert_mem_eq(ref, head, sizeof(head));
    kw__wr_free(&w);
}
END_TEST

START_TEST(liblz4_reads_what_we_write)
{
    for (size_t i = 0; i < NSIZES; i++) {
        uint8_t *data = make_data(sizes[i], true);
        kw_wr w;
        kw__wr_init(&w);
        ck_assert_int_eq(kw__compress(KW_CODEC_LZ4, data, sizes[i], &w), 0);
        LZ4F_dctx *dctx;
        ck_assert(!LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)));
        uint8_t *back = malloc(sizes[i] + 1);
        size_t out_n = sizes[i] + 1, in_n = w.len;
        size_t r = LZ4F_decompress(dctx, back, &out_n, w.buf, &in_n, NULL);
        ck_assert_uint_eq(r, 0); /* 0: the frame is complete */
        ck_assert_uint_eq(in_n, w.len);
        ck_assert_uint_eq(out_n, sizes[i]);
        if (sizes[i])
            ck_assert_mem_eq(back, data, sizes[i]);
        LZ4F_freeDecompressionContext(dctx);
        free(back);
        kw__wr_free(&w);
        free(data);
    }
}
END_TEST

/* A frame liblz4 writes with the given options, decoded by us. */
static void check_liblz4_frame(size_t n, LZ4F_blockSizeID_t bs, LZ4F_blockMode_t mode,
                               bool block_sum, bool content_sum, bool content_size)
{
    uint8_t *data = make_data(n, true);
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.blockSizeID = bs;
    prefs.frameInfo.blockMode = mode;
    prefs.frameInfo.blockChecksumFlag =
        block_sum ? LZ4F_blockChecksumEnabled : LZ4F_noBlockChecksum;
    prefs.frameInfo.contentChecksumFlag =
        content_sum ? LZ4F_contentChecksumEnabled : LZ4F_noContentChecksum;
    prefs.frameInfo.contentSize = content_size ? n : 0;
    size_t cap = LZ4F_compressFrameBound(n, &prefs);
    uint8_t *frame = malloc(cap);
    size_t fl = LZ4F_compressFrame(frame, cap, data, n, &prefs);
    ck_assert(!LZ4F_isError(fl));
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__decompress(KW_CODEC_LZ4, frame, fl, &w, n), 0);
    ck_assert_uint_eq(w.len, n);
    ck_assert_mem_eq(w.buf, data, n);
    kw__wr_free(&w);
    free(frame);
    free(data);
}

START_TEST(lz4_reads_frames_liblz4_writes)
{
    /* liblz4's default: linked blocks, which copy from the previous block */
    check_liblz4_frame(300000, LZ4F_max64KB, LZ4F_blockLinked, false, false, false);
    check_liblz4_frame(300000, LZ4F_max256KB, LZ4F_blockLinked, true, true, true);
    check_liblz4_frame(5000000, LZ4F_max4MB, LZ4F_blockIndependent, false, true, false);
    check_liblz4_frame(1000000, LZ4F_max1MB, LZ4F_blockIndependent, true, false, true);
    check_liblz4_frame(7, LZ4F_max64KB, LZ4F_blockIndependent, true, true, true);
}
END_TEST

START_TEST(lz4_concatenated_and_skippable_frames)
{
    kw_wr c, d;
    kw__wr_init(&c);
    kw__wr_init(&d);
    ck_assert_int_eq(kw__compress(KW_CODEC_LZ4, (const uint8_t *)"first ", 6, &c), 0);
    const uint8_t skip[] = {0x53, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 'x', 'y', 'z'};
    kw__wr_raw(&c, skip, sizeof(skip));
    ck_assert_int_eq(kw__compress(KW_CODEC_LZ4, (const uint8_t *)"second", 6, &c), 0);
    ck_assert_int_eq(kw__decompress(KW_CODEC_LZ4, c.buf, c.len, &d, 100), 0);
    ck_assert_uint_eq(d.len, 12);
    ck_assert_mem_eq(d.buf, "first second", 12);
    kw__wr_free(&c);
    kw__wr_free(&d);
}
END_TEST

START_TEST(lz4_checksums_are_verified)
{
    uint8_t *data = make_data(70000, true);
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
    prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    size_t cap = LZ4F_compressFrameBound(70000, &prefs);
    uint8_t *frame = malloc(cap);
    size_t fl = LZ4F_compressFrame(frame, cap, data, 70000, &prefs);
    ck_assert(!LZ4F_isError(fl));
    kw_wr w;
    kw__wr_init(&w);
    /* header checksum byte */
    frame[6] ^= 1;
    ck_assert_int_eq(kw__decompress(KW_CODEC_LZ4, frame, fl, &w, 70000), KW_ECOMPRESSION);
    frame[6] ^= 1;
    /* content checksum: the last four bytes */
    frame[fl - 1] ^= 0x10;
    ck_assert_int_eq(kw__decompress(KW_CODEC_LZ4, frame, fl, &w, 70000), KW_ECOMPRESSION);
    frame[fl - 1] ^= 0x10;
    /* the first block's checksum sits right after its data */
    uint32_t b0 = (uint32_t)frame[7] | (uint32_t)frame[8] << 8 | (uint32_t)frame[9] << 16 |
                  (uint32_t)(frame[10] & 0x7f) << 24;
    frame[11 + b0] ^= 0x01;
    ck_assert_int_eq(kw__decompress(KW_CODEC_LZ4, frame, fl, &w, 70000), KW_ECOMPRESSION);
    frame[11 + b0] ^= 0x01;
    ck_assert_int_eq(kw__decompress(KW_CODEC_LZ4, frame, fl, &w, 70000), 0);
    ck_assert_mem_eq(w.buf, data, 70000);
    kw__wr_free(&w);
    free(frame);
    free(data);
}
END_TEST

/* ---- gzip ---- */

static size_t zlib_gzip(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    ck_assert_int_eq(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t got = zs.total_out;
    deflateEnd(&zs);
    return got;
}

START_TEST(gzip_reads_what_zlib_writes_and_zlib_reads_ours)
{
    uint8_t *data = make_data(200000, true);
    size_t cap = compressBound(200000) + 64;
    uint8_t *gz = malloc(2 * cap);
    size_t n1 = zlib_gzip(data, 200000, gz, cap);
    ck_assert(gz[0] == 0x1f && gz[1] == 0x8b);
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__decompress(KW_CODEC_GZIP, gz, n1, &w, 200000), 0);
    ck_assert_uint_eq(w.len, 200000);
    ck_assert_mem_eq(w.buf, data, 200000);

    /* two members in a row decode to both, as java.util.zip reads them */
    size_t n2 = zlib_gzip(data, 1000, gz + n1, cap);
    w.len = 0;
    ck_assert_int_eq(kw__decompress(KW_CODEC_GZIP, gz, n1 + n2, &w, 201000), 0);
    ck_assert_uint_eq(w.len, 201000);
    ck_assert_mem_eq(w.buf + 200000, data, 1000);

    /* ours is a gzip member zlib inflates */
    kw_wr c;
    kw__wr_init(&c);
    ck_assert_int_eq(kw__compress(KW_CODEC_GZIP, data, 200000, &c), 0);
    ck_assert(c.buf[0] == 0x1f && c.buf[1] == 0x8b);
    uint8_t *back = malloc(200000);
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    ck_assert_int_eq(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = c.buf;
    zs.avail_in = (uInt)c.len;
    zs.next_out = back;
    zs.avail_out = 200000;
    ck_assert_int_eq(inflate(&zs, Z_FINISH), Z_STREAM_END);
    ck_assert_uint_eq(zs.total_out, 200000);
    inflateEnd(&zs);
    ck_assert_mem_eq(back, data, 200000);
    free(back);
    kw__wr_free(&c);
    kw__wr_free(&w);
    free(gz);
    free(data);
}
END_TEST

/* ---- zstd ---- */

START_TEST(zstd_reads_frames_with_and_without_content_size)
{
    uint8_t *data = make_data(500000, true);
    size_t cap = ZSTD_compressBound(500000);
    uint8_t *z = malloc(cap);
    size_t n = ZSTD_compress(z, cap, data, 500000, 19);
    ck_assert(!ZSTD_isError(n));
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__decompress(KW_CODEC_ZSTD, z, n, &w, 500000), 0);
    ck_assert_uint_eq(w.len, 500000);
    ck_assert_mem_eq(w.buf, data, 500000);

    /* a streaming writer that never says the size, as zstd-jni's stream does */
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
    ZSTD_inBuffer ib = {data, 500000, 0};
    ZSTD_outBuffer ob = {z, cap, 0};
    ck_assert_uint_eq(ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end), 0);
    ZSTD_freeCCtx(cc);
    ck_assert(ZSTD_getFrameContentSize(z, ob.pos) == ZSTD_CONTENTSIZE_UNKNOWN);
    w.len = 0;
    ck_assert_int_eq(kw__decompress(KW_CODEC_ZSTD, z, ob.pos, &w, 500000), 0);
    ck_assert_uint_eq(w.len, 500000);
    ck_assert_mem_eq(w.buf, data, 500000);

    /* ours decodes with the plain API */
    kw_wr c;
    kw__wr_init(&c);
    ck_assert_int_eq(kw__compress(KW_CODEC_ZSTD, data, 500000, &c), 0);
    uint8_t *back = malloc(500000);
    ck_assert_uint_eq(ZSTD_decompress(back, 500000, c.buf, c.len), 500000);
    ck_assert_mem_eq(back, data, 500000);
    free(back);
    kw__wr_free(&c);
    kw__wr_free(&w);
    free(z);
    free(data);
}
END_TEST

/* ---- snappy ---- */

START_TEST(snappy_raw_block)
{
    uint8_t *data = make_data(100000, true);
    size_t cl = snappy_max_compressed_length(100000);
    uint8_t *s = malloc(cl);
    ck_assert_int_eq(snappy_compress((const char *)data, 100000, (char *)s, &cl), SNAPPY_OK);
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__decompress(KW_CODEC_SNAPPY, s, cl, &w, 100000), 0);
    ck_assert_uint_eq(w.len, 100000);
    ck_assert_mem_eq(w.buf, data, 100000);
    kw__wr_free(&w);
    free(s);
    free(data);
}
END_TEST

/* Appends xerial's header: magic, version 1, compatible version 1. */
static void xerial_header(kw_wr *w)
{
    const uint8_t h[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
    kw__wr_raw(w, h, sizeof(h));
}

/* Appends one xerial block: big-endian int32 length and a raw snappy block. */
static void xerial_block(kw_wr *w, const uint8_t *data, size_t n)
{
    size_t cl = snappy_max_compressed_length(n);
    uint8_t *s = malloc(cl);
    ck_assert_int_eq(snappy_compress((const char *)data, n, (char *)s, &cl), SNAPPY_OK);
    kw__wr_i32(w, (int32_t)cl);
    kw__wr_raw(w, s, cl);
    free(s);
}

START_TEST(snappy_xerial_framing_built_by_hand)
{
    uint8_t *data = make_data(90000, true);
    kw_wr x, w;
    kw__wr_init(&x);
    kw__wr_init(&w);
    xerial_header(&x);
    xerial_block(&x, data, 32768);
    xerial_block(&x, data + 32768, 32768);
    xerial_block(&x, data + 65536, 90000 - 65536);
    ck_assert_int_eq(kw__decompress(KW_CODEC_SNAPPY, x.buf, x.len, &w, 90000), 0);
    ck_assert_uint_eq(w.len, 90000);
    ck_assert_mem_eq(w.buf, data, 90000);

    /* a second stream header in the middle (concatenated streams) is stepped over */
    xerial_header(&x);
    xerial_block(&x, (const uint8_t *)"tail", 4);
    w.len = 0;
    ck_assert_int_eq(kw__decompress(KW_CODEC_SNAPPY, x.buf, x.len, &w, 90004), 0);
    ck_assert_uint_eq(w.len, 90004);
    ck_assert_mem_eq(w.buf + 90000, "tail", 4);

    /* a header and no blocks is an empty stream */
    kw_wr e;
    kw__wr_init(&e);
    xerial_header(&e);
    w.len = 0;
    ck_assert_int_eq(kw__decompress(KW_CODEC_SNAPPY, e.buf, e.len, &w, 10), 0);
    ck_assert_uint_eq(w.len, 0);

    /* a block length past the end, or negative */
    kw__wr_i32(&e, 1000);
    kw__wr_raw(&e, "abc", 3);
    ck_assert_int_eq(kw__decompress(KW_CODEC_SNAPPY, e.buf, e.len, &w, 10), KW_ECOMPRESSION);
    e.len = 16;
    kw__wr_i32(&e, -5);
    ck_assert_int_eq(kw__decompress(KW_CODEC_SNAPPY, e.buf, e.len, &w, 10), KW_ECOMPRESSION);

    /* what we write is this framing, with 32 KiB blocks */
    kw_wr c;
    kw__wr_init(&c);
    ck_assert_int_eq(kw__compress(KW_CODEC_SNAPPY, data, 90000, &c), 0);
    ck_assert_mem_eq(c.buf, x.buf, 16);
    size_t first = (size_t)kw_load_be32(c.buf + 16);
    size_t ulen;
    ck_assert_int_eq(snappy_uncompressed_length((const char *)c.buf + 20, first, &ulen), SNAPPY_OK);
    ck_assert_uint_eq(ulen, 32768);
    kw__wr_free(&c);
    kw__wr_free(&e);
    kw__wr_free(&x);
    kw__wr_free(&w);
    free(data);
}
END_TEST

/* ---- bombs ---- */

/* 64 MiB of zeros in the codec's format, as a hostile producer might send. */
static void make_bomb(int codec, kw_wr *out)
{
    size_t n = (size_t)64 << 20;
    uint8_t *zeros = calloc(1, n);
    ck_assert_int_eq(kw__compress(codec, zeros, n, out), 0);
    free(zeros);
}

static void expect_bomb_refused(int codec, const uint8_t *in, size_t n)
{
    const size_t limit = (size_t)1 << 20;
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__decompress(codec, in, n, &w, limit), KW_ETOOBIG);
    ck_assert_uint_eq(w.len, 0);
    ck_assert_int_eq(w.err, 0);
    ck_assert_uint_le(w.cap, limit); /* never allocated past the limit */
    kw__wr_free(&w);
}

START_TEST(bombs_stop_at_the_limit_without_allocating_past_it)
{
    int codecs[] = {KW_CODEC_GZIP, KW_CODEC_SNAPPY, KW_CODEC_LZ4, KW_CODEC_ZSTD};
    for (int i = 0; i < 4; i++) {
        kw_wr b;
        kw__wr_init(&b);
        make_bomb(codecs[i], &b);
        ck_assert_uint_lt(b.len, (size_t)8 << 20); /* it really is a bomb */
        expect_bomb_refused(codecs[i], b.buf, b.len);
        kw__wr_free(&b);
    }

    /* one raw snappy block that declares 64 MiB: refused from its header */
    size_t n = (size_t)64 << 20;
    uint8_t *zeros = calloc(1, n);
    size_t cl = snappy_max_compressed_length(n);
    uint8_t *s = malloc(cl);
    ck_assert_int_eq(snappy_compress((const char *)zeros, n, (char *)s, &cl), SNAPPY_OK);
    expect_bomb_refused(KW_CODEC_SNAPPY, s, cl);
    free(s);

    /* an LZ4 frame that states its content size is refused from its header */
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.contentSize = n;
    size_t fcap = LZ4F_compressFrameBound(n, &prefs);
    uint8_t *f = malloc(fcap);
    size_t fl = LZ4F_compressFrame(f, fcap, zeros, n, &prefs);
    ck_assert(!LZ4F_isError(fl));
    expect_bomb_refused(KW_CODEC_LZ4, f, fl);
    free(f);
    free(zeros);
}
END_TEST

START_TEST(output_of_exactly_the_limit_is_allowed)
{
    uint8_t *data = make_data(100000, true);
    int codecs[] = {KW_CODEC_NONE, KW_CODEC_GZIP, KW_CODEC_SNAPPY, KW_CODEC_LZ4, KW_CODEC_ZSTD};
    for (int i = 0; i < 5; i++) {
        kw_wr c, d;
        kw__wr_init(&c);
        kw__wr_init(&d);
        ck_assert_int_eq(kw__compress(codecs[i], data, 100000, &c), 0);
        ck_assert_int_eq(kw__decompress(codecs[i], c.buf, c.len, &d, 100000), 0);
        ck_assert_uint_eq(d.len, 100000);
        ck_assert_uint_le(d.cap, 100000);
        ck_assert_int_eq(kw__decompress(codecs[i], c.buf, c.len, &d, 99999), KW_ETOOBIG);
        ck_assert_uint_eq(d.len, 100000);
        kw__wr_free(&c);
        kw__wr_free(&d);
    }
    free(data);
}
END_TEST

/* ---- garbage ---- */

START_TEST(garbage_is_a_compression_error)
{
    uint8_t junk[4096];
    rng_state = 12345;
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)rnd();
    /* keep a raw snappy length small so the answer is "corrupt", not "too big" */
    junk[0] = 0x40;
    int codecs[] = {KW_CODEC_GZIP, KW_CODEC_SNAPPY, KW_CODEC_LZ4, KW_CODEC_ZSTD};
    for (int c = 0; c < 4; c++) {
        size_t lens[] = {0, 1, 3, 16, 100, 4096};
        for (size_t i = 0; i < 6; i++) {
            kw_wr w;
            kw__wr_init(&w);
            ck_assert_msg(kw__decompress(codecs[c], junk, lens[i], &w, 1 << 20) == KW_ECOMPRESSION,
                          "codec %d len %zu", codecs[c], lens[i]);
            ck_assert_uint_eq(w.len, 0);
            kw__wr_free(&w);
        }
    }
}
END_TEST

START_TEST(every_truncation_is_a_compression_error)
{
    uint8_t *data = make_data(3000, true);
    int codecs[] = {KW_CODEC_GZIP, KW_CODEC_LZ4, KW_CODEC_ZSTD};
    for (int c = 0; c < 3; c++) {
        kw_wr z, w;
        kw__wr_init(&z);
        kw__wr_init(&w);
        ck_assert_int_eq(kw__compress(codecs[c], data, 3000, &z), 0);
        for (size_t cut = 0; cut < z.len; cut++)
            ck_assert_msg(kw__decompress(codecs[c], z.buf, cut, &w, 3000) == KW_ECOMPRESSION,
                          "codec %d cut at %zu of %zu", codecs[c], cut, z.len);
        kw__wr_free(&z);
        kw__wr_free(&w);
    }
    /* a raw snappy block cut anywhere */
    size_t cl = snappy_max_compressed_length(3000);
    uint8_t *s = malloc(cl);
    ck_assert_int_eq(snappy_compress((const char *)data, 3000, (char *)s, &cl), SNAPPY_OK);
    kw_wr w;
    kw__wr_init(&w);
    for (size_t cut = 0; cut < cl; cut++)
        ck_assert_int_eq(kw__decompress(KW_CODEC_SNAPPY, s, cut, &w, 3000), KW_ECOMPRESSION);
    kw__wr_free(&w);
    free(s);
    free(data);
}
END_TEST

START_TEST(flipped_bytes_never_crash)
{
    uint8_t *data = make_data(20000, true);
    int codecs[] = {KW_CODEC_GZIP, KW_CODEC_SNAPPY, KW_CODEC_LZ4, KW_CODEC_ZSTD};
    for (int c = 0; c < 4; c++) {
        kw_wr z, w;
        kw__wr_init(&z);
        kw__wr_init(&w);
        ck_assert_int_eq(kw__compress(codecs[c], data, 20000, &z), 0);
        rng_state = 777 + (uint64_t)c;
        for (int t = 0; t < 2000; t++) {
            size_t at = rnd() % z.len;
            uint8_t mask = (uint8_t)(1u << (rnd() % 8));
            z.buf[at] ^= mask;
            w.len = 0;
            int rc = kw__decompress(codecs[c], z.buf, z.len, &w, 20000);
            ck_assert_msg(rc == 0 || rc == KW_ECOMPRESSION || rc == KW_ETOOBIG,
                          "codec %d rc %d", codecs[c], rc);
            ck_assert_uint_le(w.len, 20000);
            z.buf[at] ^= mask;
        }
        kw__wr_free(&z);
        kw__wr_free(&w);
    }
    free(data);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("compress");
    TCase *tc = tcase_create("codecs");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_codec_round_trips_at_block_edges);
    tcase_add_test(tc, unknown_codecs_are_unsupported);
    tcase_add_test(tc, output_is_appended_and_failure_restores_the_length);
    tcase_add_test(tc, fixed_writer_too_small_is_too_big);
    tcase_add_test(tc, lz4_frame_header_is_the_one_kafka_writes);
    tcase_add_test(tc, liblz4_reads_what_we_write);
    tcase_add_test(tc, lz4_reads_frames_liblz4_writes);
    tcase_add_test(tc, lz4_concatenated_and_skippable_frames);
    tcase_add_test(tc, lz4_checksums_are_verified);
    tcase_add_test(tc, gzip_reads_what_zlib_writes_and_zlib_reads_ours);
    tcase_add_test(tc, zstd_reads_frames_with_and_without_content_size);
    tcase_add_test(tc, snappy_raw_block);
    tcase_add_test(tc, snappy_xerial_framing_built_by_hand);
    tcase_add_test(tc, bombs_stop_at_the_limit_without_allocating_past_it);
    tcase_add_test(tc, output_of_exactly_the_limit_is_allowed);
    tcase_add_test(tc, garbage_is_a_compression_error);
    tcase_add_test(tc, every_truncation_is_a_compression_error);
    tcase_add_test(tc, flipped_bytes_never_crash);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
