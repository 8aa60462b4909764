/* Unit tests of compressed WAL entries: version 2 kwal keys, per-entry LZ4, and reassembly of them.
 */
#include <check.h>
#include <lz4.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wal/record.h"

/* Text-like bytes (LZ4 shrinks them) or xorshift noise (it cannot). */
static void fill(uint8_t *p, size_t n, bool text, uint64_t seed)
{
    static const char *const words[] = {"region ", "append ", "offset ", "flush ", "kafka "};
    uint64_t x = seed | 1;
    for (size_t i = 0; i < n;) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (text) {
            for (const char *w = words[x % 5]; *w && i < n; w++)
                p[i++] = (uint8_t)*w;
        } else {
            p[i++] = (uint8_t)(x >> 24);
        }
    }
}

/* ---- keys ---- */

START_TEST(version_2_keys_match_the_layout_by_hand)
{
    uint8_t out[KW_WAL_RECORD_KEY_MAX];
    kw_wal_record_key k = {.format = KW_WAL_FORMAT_KWAL,
                           .kind = KW_WAL_PART_FULL,
                           .region_id = 0x0102030405060708ull,
                           .tag = 0x1112131415161718ull,
                           .codec = KW_WAL_CODEC_LZ4,
                           .raw_len = 1024};
    ck_assert_int_eq(kw__wal_record_key_encode(&k, out, sizeof(out)), 31);
    static const uint8_t full[31] = {2, 1, 2, 3,    4,    5,    6,    7,    8,    1,    0,
                                     0, 0, 0, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
                                     1, 0, 0, 0,    0,    0,    0,    4,    0};
    ck_assert_mem_eq(out, full, 31);
    kw_wal_record_key d;
    const char *why = NULL;
    ck_assert_int_eq(kw__wal_record_key_decode(out, 31, &d, &why), 0);
    ck_assert_int_eq(d.kind, KW_WAL_PART_FULL);
    ck_assert_int_eq(d.codec, KW_WAL_CODEC_LZ4);
    ck_assert_uint_eq(d.raw_len, 1024);
    ck_assert_uint_eq(d.tag, 0x1112131415161718ull);

    k.kind = KW_WAL_PART_FIRST;
    k.total_parts = 3;
    k.entry_len = 700;
    k.raw_len = 5000;
    ck_assert_int_eq(kw__wal_record_key_encode(&k, out, sizeof(out)), 43);
    ck_assert_uint_eq(out[0], 2);
    ck_assert_uint_eq(kw_load_be32(out + 22), 3);
    ck_assert_uint_eq(kw_load_be64(out + 26), 700);
    ck_assert_uint_eq(out[34], KW_WAL_CODEC_LZ4);
    ck_assert_uint_eq(kw_load_be64(out + 35), 5000);
    ck_assert_int_eq(kw__wal_record_key_decode(out, 43, &d, &why), 0);
    ck_assert_uint_eq(d.total_parts, 3);
    ck_assert_uint_eq(d.entry_len, 700);
    ck_assert_uint_eq(d.raw_len, 5000);

    /* an uncompressed entry keeps the version 1 key, which older readers know */
    k.codec = KW_WAL_CODEC_RAW;
    k.raw_len = 0;
    ck_assert_int_eq(kw__wal_record_key_encode(&k, out, sizeof(out)), 34);
    ck_assert_uint_eq(out[0], 1);
    ck_assert_int_eq(kw__wal_record_key_decode(out, 34, &d, &why), 0);
    ck_assert_int_eq(d.codec, KW_WAL_CODEC_RAW);
}
END_TEST

static void expect_bad(const uint8_t *key, size_t len, int rc, const char *why_part)
{
    kw_wal_record_key d;
    const char *why = NULL;
    int got = kw__wal_record_key_decode(key, len, &d, &why);
    ck_assert_msg(got == rc, "len %zu: got %d, want %d (%s)", len, got, rc, why ? why : "-");
    ck_assert_msg(why && strstr(why, why_part), "why '%s' lacks '%s'", why ? why : "-", why_part);
}

START_TEST(bad_version_2_keys_are_refused_with_a_reason)
{
    uint8_t k[48] = {0};
    kw_wal_record_key e = {.format = KW_WAL_FORMAT_KWAL,
                           .kind = KW_WAL_PART_FULL,
                           .region_id = 9,
                           .codec = KW_WAL_CODEC_LZ4,
                           .raw_len = 100};
    ck_assert_int_eq(kw__wal_record_key_encode(&e, k, sizeof(k)), 31);
    expect_bad(k, 30, KW_ETRUNCATED, "version 2 cut short");
    expect_bad(k, 32, KW_EMALFORMED, "trailing");
    k[22] = 2;
    expect_bad(k, 31, KW_EUNSUPPORTED, "unknown entry codec");
    k[22] = 0;
    expect_bad(k, 31, KW_EUNSUPPORTED, "unknown entry codec");
    k[22] = KW_WAL_CODEC_LZ4;
    kw_store_be64(k + 23, 0);
    expect_bad(k, 31, KW_EMALFORMED, "0 bytes");
    /* only the FULL and FIRST records of an entry say how it is stored */
    k[9] = KW_WAL_PART_LAST;
    k[13] = 2;
    expect_bad(k, 31, KW_EMALFORMED, "MIDDLE or LAST");
    /* the encoder refuses what the decoder would */
    uint8_t out[64];
    e.codec = 7;
    ck_assert_int_eq(kw__wal_record_key_encode(&e, out, sizeof(out)), KW_EINVAL);
    e.codec = KW_WAL_CODEC_LZ4;
    e.raw_len = 0;
    ck_assert_int_eq(kw__wal_record_key_encode(&e, out, sizeof(out)), KW_EINVAL);
    e.raw_len = 10;
    e.kind = KW_WAL_PART_MIDDLE;
    e.index = 1;
    ck_assert_int_eq(kw__wal_record_key_encode(&e, out, sizeof(out)), KW_EINVAL);
    e.kind = KW_WAL_PART_FULL;
    e.index = 0;
    ck_assert_int_eq(kw__wal_record_key_encode(&e, out, 30), KW_ETOOBIG);
}
END_TEST

/* ---- compression ---- */

START_TEST(compress_shrinks_text_and_declines_noise_and_tiny_entries)
{
    uint8_t in[4096], out[8192], back[4096];
    fill(in, sizeof(in), true, 42);
    kw__wal_compressor lz4;
    kw__wal_compressor_init(&lz4);
    ck_assert_uint_ge(kw__wal_compress_bound(sizeof(in)), sizeof(in));
    size_t n = kw__wal_compress(&lz4, in, sizeof(in), out, sizeof(out));
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_lt(n, sizeof(in) / 2);
    ck_assert_int_eq(LZ4_decompress_safe((const char *)out, (char *)back, (int)n, sizeof(back)),
                     (int)sizeof(in));
    ck_assert_mem_eq(back, in, sizeof(in));
    /* again: the reused state must not leak the previous entry in (independent) */
    uint8_t in2[1024];
    fill(in2, sizeof(in2), true, 43);
    size_t n2 = kw__wal_compress(&lz4, in2, sizeof(in2), out, sizeof(out));
    ck_assert_uint_gt(n2, 0);
    ck_assert_int_eq(LZ4_decompress_safe((const char *)out, (char *)back, (int)n2, sizeof(in2)),
                     (int)sizeof(in2));
    ck_assert_mem_eq(back, in2, sizeof(in2));
    /* noise does not shrink by 1/16: stored raw */
    fill(in, sizeof(in), false, 7);
    ck_assert_uint_eq(kw__wal_compress(&lz4, in, sizeof(in), out, sizeof(out)), 0);
    /* under 64 bytes is not worth a codec */
    memset(in, 'a', 63);
    ck_assert_uint_eq(kw__wal_compress(&lz4, in, 63, out, sizeof(out)), 0);
    memset(in, 'a', 64);
    ck_assert_uint_gt(kw__wal_compress(&lz4, in, 64, out, sizeof(out)), 0);
    kw__wal_compressor_free(&lz4);
}
END_TEST

/*
 * Entries of several sizes, compressed by more threads than a compressor
 * keeps states for, with two compressors at once (two WAL handles): every
 * block must be byte for byte the one a fresh compressor makes, whichever
 * state (new, reused, reused after another thread's entry) made it.
 */
#define SHARED_INPUTS 24
#define SHARED_THREADS 12
#define SHARED_ROUNDS 200

typedef struct shared_compress {
    kw__wal_compressor *lz4[2];
    const uint8_t (*in)[9000];
    const size_t *len;
    const uint8_t (*want)[9100];
    const size_t *want_len;
    unsigned seed;
    int mismatches;
} shared_compress;

static void *compress_many(void *arg)
{
    shared_compress *t = arg;
    uint8_t out[9100];
    for (unsigned r = 0; r < SHARED_ROUNDS; r++) {
        unsigned i = (t->seed * 7 + r * 13) % SHARED_INPUTS;
        kw__wal_compressor *c = t->lz4[(t->seed + r) % 2];
        size_t n = kw__wal_compress(c, t->in[i], t->len[i], out, sizeof(out));
        if (n != t->want_len[i] || (n && memcmp(out, t->want[i], n) != 0))
            t->mismatches++;
    }
    return NULL;
}

START_TEST(compressors_shared_by_many_threads_make_the_same_blocks_as_fresh_ones)
{
    static uint8_t in[SHARED_INPUTS][9000], want[SHARED_INPUTS][9100];
    size_t len[SHARED_INPUTS], want_len[SHARED_INPUTS];
    for (unsigned i = 0; i < SHARED_INPUTS; i++) {
        len[i] = 64 + (size_t)i * 373;
        fill(in[i], len[i], i % 5 != 4, 100 + i); /* every fifth is noise: stored raw */
        kw__wal_compressor fresh;
        kw__wal_compressor_init(&fresh);
        want_len[i] = kw__wal_compress(&fresh, in[i], len[i], want[i], sizeof(want[i]));
        kw__wal_compressor_free(&fresh);
        ck_assert_uint_eq(want_len[i] == 0, i % 5 == 4);
    }
    kw__wal_compressor lz4[2];
    kw__wal_compressor_init(&lz4[0]);
    kw__wal_compressor_init(&lz4[1]);
    pthread_t th[SHARED_THREADS];
    shared_compress t[SHARED_THREADS];
    for (unsigned i = 0; i < SHARED_THREADS; i++) {
        t[i] = (shared_compress){.lz4 = {&lz4[0], &lz4[1]}, .in = in, .len = len, .want = want,
                                 .want_len = want_len, .seed = i};
        ck_assert_int_eq(pthread_create(&th[i], NULL, compress_many, &t[i]), 0);
    }
    for (unsigned i = 0; i < SHARED_THREADS; i++) {
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        ck_assert_int_eq(t[i].mismatches, 0);
    }
    /* at most KW_WAL_COMPRESSOR_IDLE states are kept, and freeing twice is harmless */
    unsigned kept = 0;
    for (unsigned i = 0; i < KW_WAL_COMPRESSOR_IDLE; i++)
        kept += atomic_load(&lz4[0].idle[i].state) != NULL;
    ck_assert_uint_ge(kept, 1);
    kw__wal_compressor_free(&lz4[0]);
    kw__wal_compressor_free(&lz4[0]);
    kw__wal_compressor_free(&lz4[1]);
}
END_TEST

/* ---- reassembly ---- */

typedef struct rec {
    uint8_t key[KW_WAL_RECORD_KEY_MAX];
    int klen;
    const uint8_t *val;
    size_t vlen;
} rec;

static rec key_rec(int kind, uint32_t index, uint64_t region, uint64_t tag, uint32_t nparts,
                   size_t stored_len, int codec, uint64_t raw_len, const uint8_t *v, size_t vlen)
{
    rec r = {.val = v, .vlen = vlen};
    kw_wal_record_key k = {.format = KW_WAL_FORMAT_KWAL,
                           .kind = kind,
                           .index = index,
                           .region_id = region,
                           .tag = tag};
    if (kind == KW_WAL_PART_FIRST) {
        k.total_parts = nparts;
        k.entry_len = stored_len;
    }
    if (kind == KW_WAL_PART_FIRST || kind == KW_WAL_PART_FULL) {
        k.codec = codec;
        k.raw_len = raw_len;
    }
    r.klen = kw__wal_record_key_encode(&k, r.key, sizeof(r.key));
    ck_assert_int_gt(r.klen, 0);
    return r;
}

/* Feeds r at offset and returns the one event it makes (ck fails on none or more). */
static kw_wal_record_event feed_one(kw_wal_record_asm *a, int64_t offset, const rec *r, int want_rc)
{
    ck_assert_int_eq(kw__wal_record_asm_feed(a, offset, r->key, (size_t)r->klen, r->val, r->vlen),
                     want_rc);
    kw_wal_record_event ev, extra;
    ck_assert(kw__wal_record_asm_next(a, &ev));
    ck_assert(!kw__wal_record_asm_next(a, &extra));
    return ev;
}

START_TEST(a_compressed_full_record_comes_back_decompressed)
{
    uint8_t raw[1024], z[1200];
    fill(raw, sizeof(raw), true, 1);
    kw__wal_compressor lz4;
    kw__wal_compressor_init(&lz4);
    size_t n = kw__wal_compress(&lz4, raw, sizeof(raw), z, sizeof(z));
    kw__wal_compressor_free(&lz4);
    ck_assert_uint_gt(n, 0);
    kw_wal_record_asm a;
    kw__wal_record_asm_init(&a, NULL);
    rec r = key_rec(KW_WAL_PART_FULL, 0, 5, 77, 1, 0, KW_WAL_CODEC_LZ4, sizeof(raw), z, n);
    kw_wal_record_event ev = feed_one(&a, 40, &r, 0);
    ck_assert_int_eq(ev.kind, KW_WAL_REC_ENTRY);
    ck_assert_uint_eq(ev.entry_id, 40);
    ck_assert_uint_eq(ev.region_id, 5);
    ck_assert_uint_eq(ev.len, sizeof(raw));
    ck_assert_mem_eq(ev.data, raw, sizeof(raw));
    /* the same record again (a retried produce) is dropped by its tag */
    ev = feed_one(&a, 41, &r, 0);
    ck_assert_int_eq(ev.kind, KW_WAL_REC_DUPLICATE);
    ck_assert_uint_eq(a.stats.entries, 1);
    kw__wal_record_asm_free(&a);

    /* a reader of one region skips another region's compressed entry without decompressing */
    kw_wal_record_asm_options o = {.only_region = true, .region_id = 6};
    kw__wal_record_asm_init(&a, &o);
    ck_assert_int_eq(kw__wal_record_asm_feed(&a, 42, r.key, (size_t)r.klen, r.val, r.vlen), 0);
    kw_wal_record_event none;
    ck_assert(!kw__wal_record_asm_next(&a, &none));
    ck_assert_uint_eq(a.stats.other_region, 1);
    ck_assert_ptr_null(a.plain);
    kw__wal_record_asm_free(&a);
}
END_TEST

START_TEST(a_compressed_split_entry_is_decompressed_at_its_last_part)
{
    uint8_t raw[20000], z[21000];
    fill(raw, sizeof(raw), true, 2);
    kw__wal_compressor lz4;
    kw__wal_compressor_init(&lz4);
    size_t n = kw__wal_compress(&lz4, raw, sizeof(raw), z, sizeof(z));
    kw__wal_compressor_free(&lz4);
    ck_assert_uint_gt(n, 300);
    /* the stored (compressed) bytes are what is split, in three parts */
    size_t cut1 = n / 3, cut2 = 2 * n / 3;
    kw_wal_record_asm a;
    kw__wal_record_asm_init(&a, NULL);
    rec f = key_rec(KW_WAL_PART_FIRST, 0, 8, 99, 3, n, KW_WAL_CODEC_LZ4, sizeof(raw), z, cut1);
    rec m = key_rec(KW_WAL_PART_MIDDLE, 1, 8, 99, 3, n, 0, 0, z + cut1, cut2 - cut1);
    rec l = key_rec(KW_WAL_PART_LAST, 2, 8, 99, 3, n, 0, 0, z + cut2, n - cut2);
    kw_wal_record_event ev;
    ck_assert_int_eq(kw__wal_record_asm_feed(&a, 10, f.key, (size_t)f.klen, f.val, f.vlen), 0);
    ck_assert(!kw__wal_record_asm_next(&a, &ev));
    ck_assert_int_eq(kw__wal_record_asm_feed(&a, 11, m.key, (size_t)m.klen, m.val, m.vlen), 0);
    ck_assert(!kw__wal_record_asm_next(&a, &ev));
    ev = feed_one(&a, 12, &l, 0);
    ck_assert_int_eq(ev.kind, KW_WAL_REC_ENTRY);
    ck_assert_uint_eq(ev.entry_id, 12);
    ck_assert_int_eq(ev.first_offset, 10);
    ck_assert_uint_eq(ev.parts, 3);
    ck_assert_uint_eq(ev.len, sizeof(raw));
    ck_assert_mem_eq(ev.data, raw, sizeof(raw));
    ck_assert_uint_eq(a.stats.buffered_bytes, 0);
    kw__wal_record_asm_free(&a);
}
END_TEST

START_TEST(a_compressed_entry_that_does_not_decompress_is_a_bad_record)
{
    uint8_t raw[2048], z[2200];
    fill(raw, sizeof(raw), true, 3);
    kw__wal_compressor lz4;
    kw__wal_compressor_init(&lz4);
    size_t n = kw__wal_compress(&lz4, raw, sizeof(raw), z, sizeof(z));
    kw__wal_compressor_free(&lz4);
    ck_assert_uint_gt(n, 0);
    kw_wal_record_asm a;
    kw__wal_record_asm_init(&a, NULL);
    /* a declared length one byte off */
    rec r = key_rec(KW_WAL_PART_FULL, 0, 5, 1, 1, 0, KW_WAL_CODEC_LZ4, sizeof(raw) + 1, z, n);
    kw_wal_record_event ev = feed_one(&a, 1, &r, 0);
    ck_assert_int_eq(ev.kind, KW_WAL_REC_BAD);
    ck_assert_uint_eq(ev.region_id, 5);
    ck_assert_ptr_nonnull(strstr(ev.why, "does not decompress"));
    r = key_rec(KW_WAL_PART_FULL, 0, 5, 2, 1, 0, KW_WAL_CODEC_LZ4, sizeof(raw) - 1, z, n);
    ev = feed_one(&a, 2, &r, 0);
    ck_assert_int_eq(ev.kind, KW_WAL_REC_BAD);
    /* the block cut short */
    r = key_rec(KW_WAL_PART_FULL, 0, 5, 3, 1, 0, KW_WAL_CODEC_LZ4, sizeof(raw), z, n - 3);
    ev = feed_one(&a, 3, &r, 0);
    ck_assert_int_eq(ev.kind, KW_WAL_REC_BAD);
    /* a length LZ4 could never reach from so few bytes is refused before allocating it */
    r = key_rec(KW_WAL_PART_FULL, 0, 5, 4, 1, 0, KW_WAL_CODEC_LZ4, 1000000, z, 16);
    ev = feed_one(&a, 4, &r, 0);
    ck_assert_int_eq(ev.kind, KW_WAL_REC_BAD);
    ck_assert_ptr_nonnull(strstr(ev.why, "not possible"));
    ck_assert_uint_lt(a.plain_cap, 1000000);
    ck_assert_uint_eq(a.stats.bad, 4);
    ck_assert_uint_eq(a.stats.entries, 0);
    /* the good one still reads after them */
    r = key_rec(KW_WAL_PART_FULL, 0, 5, 5, 1, 0, KW_WAL_CODEC_LZ4, sizeof(raw), z, n);
    ev = feed_one(&a, 5, &r, 0);
    ck_assert_int_eq(ev.kind, KW_WAL_REC_ENTRY);
    ck_assert_mem_eq(ev.data, raw, sizeof(raw));
    kw__wal_record_asm_free(&a);

    /* past max_entry_bytes once decompressed; strict mode stops there */
    kw_wal_record_asm_options o = {.max_entry_bytes = 1000, .strict = true};
    kw__wal_record_asm_init(&a, &o);
    r = key_rec(KW_WAL_PART_FULL, 0, 5, 6, 1, 0, KW_WAL_CODEC_LZ4, sizeof(raw), z, n);
    ev = feed_one(&a, 6, &r, KW_EMALFORMED);
    ck_assert_int_eq(ev.kind, KW_WAL_REC_BAD);
    ck_assert_ptr_nonnull(strstr(ev.why, "max_entry_bytes"));
    kw__wal_record_asm_free(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("record codec");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, version_2_keys_match_the_layout_by_hand);
    tcase_add_test(tc, bad_version_2_keys_are_refused_with_a_reason);
    tcase_add_test(tc, compress_shrinks_text_and_declines_noise_and_tiny_entries);
    tcase_add_test(tc, compressors_shared_by_many_threads_make_the_same_blocks_as_fresh_ones);
    tcase_add_test(tc, a_compressed_full_record_comes_back_decompressed);
    tcase_add_test(tc, a_compressed_split_entry_is_decompressed_at_its_last_part);
    tcase_add_test(tc, a_compressed_entry_that_does_not_decompress_is_a_bad_record);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
