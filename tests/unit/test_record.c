/* Unit tests of the WAL record format: kwal and GreptimeDB keys, entry splitting, reassembly. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wal/record.h"

/* ---- helpers ---- */

static uint64_t rng_state;
static uint32_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ULL) >> 32);
}

static kw_wal_record_key gkey(int kind, uint32_t index, uint64_t region, const char *topic)
{
    kw_wal_record_key k = {.format = KW_WAL_FORMAT_GREPTIMEDB,
                           .kind = kind,
                           .index = index,
                           .region_id = region,
                           .topic = kw_str_c(topic ? topic : "")};
    return k;
}

/* Encodes k and returns it as a NUL-terminated string (static buffer). */
static const char *enc(const kw_wal_record_key *k)
{
    static char buf[KW_WAL_RECORD_KEY_MAX + 1];
    int n = kw__wal_record_key_encode(k, (uint8_t *)buf, KW_WAL_RECORD_KEY_MAX);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    return buf;
}

static int dec(const char *s, kw_wal_record_key *k, const char **why)
{
    return kw__wal_record_key_decode((const uint8_t *)s, strlen(s), k, why);
}

/* ---- GreptimeDB keys ---- */

START_TEST(greptimedb_keys_are_written_as_serde_json_writes_them)
{
    kw_wal_record_key k = gkey(KW_WAL_PART_FULL, 0, 0, "");
    ck_assert_str_eq(
        enc(&k),
        "{\"version\":0,\"tp\":\"Full\",\"entry_id\":0,\"ns\":{\"region_id\":0,\"topic\":\"\"}}");
    /* RegionId::new(1024, 1) = table 1024 << 32 | region 1 */
    k = gkey(KW_WAL_PART_FIRST, 0, 4398046511105ULL, "");
    ck_assert_str_eq(enc(&k),
                     "{\"version\":0,\"tp\":\"First\",\"entry_id\":0,\"ns\":{\"region_id\":"
                     "4398046511105,\"topic\":\"\"}}");
    k = gkey(KW_WAL_PART_MIDDLE, 1, 1, "");
    ck_assert_str_eq(enc(&k),
                     "{\"version\":0,\"tp\":{\"Middle\":1},\"entry_id\":0,\"ns\":{\"region_"
                     "id\":1,\"topic\":\"\"}}");
    k = gkey(KW_WAL_PART_MIDDLE, 4294967294u, 1, "");
    ck_assert_str_eq(enc(&k),
                     "{\"version\":0,\"tp\":{\"Middle\":4294967294},\"entry_id\":0,\"ns\":{"
                     "\"region_id\":1,\"topic\":\"\"}}");
    k = gkey(KW_WAL_PART_LAST, KW_WAL_PART_INDEX_NONE, UINT64_MAX, "greptimedb_wal_topic_0");
    k.entry_id = UINT64_MAX;
    ck_assert_str_eq(enc(&k), "{\"version\":0,\"tp\":\"Last\",\"entry_id\":18446744073709551615,"
                              "\"ns\":{\"region_id\":18446744073709551615,\"topic\":"
                              "\"greptimedb_wal_topic_0\"}}");
    /* LAST with an index: GreptimeDB's Last carries none, so it is not written */
    k = gkey(KW_WAL_PART_LAST, 7, 2, "");
    ck_assert_str_eq(enc(&k),
                     "{\"version\":0,\"tp\":\"Last\",\"entry_id\":0,\"ns\":{\"region_id\":2,"
                     "\"topic\":\"\"}}");
}
END_TEST

START_TEST(greptimedb_topic_is_escaped_like_serde_json)
{
    /* quote, backslash, slash (kept), control bytes, DEL (kept), non-ASCII (kept) */
    const char *topic = "a\"b\\c/d\x01\x1f\x7f\n\t\r\b\f\xc3\xa9\xf0\x9f\x98\x80";
    kw_wal_record_key k = gkey(KW_WAL_PART_FULL, 0, 5, topic);
    const char *want = "{\"version\":0,\"tp\":\"Full\",\"entry_id\":0,\"ns\":{\"region_id\":5,"
                       "\"topic\":\"a\\\"b\\\\c/d\\u0001\\u001f\x7f\\n\\t\\r\\b\\f\xc3\xa9\xf0\x9f"
                       "\x98\x80\"}}";
    ck_assert_str_eq(enc(&k), want);
    kw_wal_record_key d;
    const char *why = NULL;
    ck_assert_int_eq(dec(want, &d, &why), 0);
    ck_assert(d.topic_escaped);
    char buf[64];
    ck_assert_int_eq(kw__wal_record_topic_unescape(&d, buf, sizeof(buf)), (int)strlen(topic));
    ck_assert_str_eq(buf, topic);
    /* too small a buffer */
    ck_assert_int_eq(kw__wal_record_topic_unescape(&d, buf, 4), KW_ETOOBIG);
}
END_TEST

START_TEST(greptimedb_keys_decode_back)
{
    const uint64_t regions[] = {0, 1, 4398046511105ULL, INT64_MAX, UINT64_MAX - 1, UINT64_MAX};
    const int kinds[] = {KW_WAL_PART_FULL, KW_WAL_PART_FIRST, KW_WAL_PART_MIDDLE, KW_WAL_PART_LAST};
    for (size_t r = 0; r < sizeof(regions) / sizeof(regions[0]); r++) {
        for (int i = 0; i < 4; i++) {
            uint32_t idx = kinds[i] == KW_WAL_PART_MIDDLE ? 3
                           : kinds[i] == KW_WAL_PART_LAST ? KW_WAL_PART_INDEX_NONE
                                                          : 0;
            kw_wal_record_key k = gkey(kinds[i], idx, regions[r], "t\"1");
            k.entry_id = regions[r] ^ 1;
            kw_wal_record_key d;
            const char *why = NULL;
            ck_assert_int_eq(dec(enc(&k), &d, &why), 0);
            ck_assert_int_eq(d.format, KW_WAL_FORMAT_GREPTIMEDB);
            ck_assert_int_eq(d.kind, kinds[i]);
            ck_assert_uint_eq(d.index, idx);
            ck_assert_uint_eq(d.region_id, regions[r]);
            ck_assert_uint_eq(d.entry_id, regions[r] ^ 1);
            ck_assert_uint_eq(d.tag, 0);
            ck_assert_int_eq(d.topic.len, 4);
            ck_assert(memcmp(d.topic.ptr, "t\\\"1", 4) == 0);
        }
    }
}
END_TEST

START_TEST(greptimedb_keys_decode_leniently_where_json_allows)
{
    kw_wal_record_key d;
    const char *why = NULL;
    /* white space everywhere, fields in another order, unknown fields of every JSON type */
    ck_assert_int_eq(
        dec(" \t\r\n{ \"ns\" : { \"topic\" : \"x\" , \"extra\" : [1, -2.5e+3, {\"a\":[]}],"
            " \"region_id\" : 42 } , \"future\" : {\"deep\": [true, false, null]}, "
            "\"entry_id\" :7, \"tp\" : { \"Middle\" : 3 } ,\"version\":0 } \n",
            &d, &why),
        0);
    ck_assert_int_eq(d.kind, KW_WAL_PART_MIDDLE);
    ck_assert_uint_eq(d.index, 3);
    ck_assert_uint_eq(d.region_id, 42);
    ck_assert_uint_eq(d.entry_id, 7);
    ck_assert(!d.topic_escaped);
    /* escaped field and variant names, as serde matches them after unescaping */
    ck_assert_int_eq(dec("{\"ver\\u0073ion\":0,\"tp\":\"F\\u0075ll\",\"entry_id\":0,\"n\\u0073\":"
                         "{\"region_id\":1,\"topic\":\"\"}}",
                         &d, &why),
                     0);
    ck_assert_int_eq(d.kind, KW_WAL_PART_FULL);
    /* a unit variant in map form */
    ck_assert_int_eq(
        dec("{\"version\":0,\"tp\":{\"Last\":null},\"entry_id\":0,\"ns\":{\"region_id\":1,"
            "\"topic\":\"\"}}",
            &d, &why),
        0);
    ck_assert_int_eq(d.kind, KW_WAL_PART_LAST);
    ck_assert_uint_eq(d.index, KW_WAL_PART_INDEX_NONE);
    /* surrogate pair escapes in the topic */
    ck_assert_int_eq(dec("{\"version\":0,\"tp\":\"First\",\"entry_id\":0,\"ns\":{\"region_id\":1,"
                         "\"topic\":\"\\ud83d\\ude00\\u00e9\\/\"}}",
                         &d, &why),
                     0);
    char buf[16];
    ck_assert_int_eq(kw__wal_record_topic_unescape(&d, buf, sizeof(buf)), 7);
    ck_assert_str_eq(buf, "\xf0\x9f\x98\x80\xc3\xa9/");
    /* unknown fields nested 100 deep are fine */
    char deep[512];
    int n = snprintf(deep, sizeof(deep), "{\"x\":");
    for (int i = 0; i < 100; i++)
        deep[n++] = '[';
    for (int i = 0; i < 100; i++)
        deep[n++] = ']';
    snprintf(
        deep + n, sizeof(deep) - (size_t)n,
        ",\"version\":0,\"tp\":\"Full\",\"entry_id\":0,\"ns\":{\"region_id\":1,\"topic\":\"\"}}");
    ck_assert_int_eq(dec(deep, &d, &why), 0);
}
END_TEST

/* A GreptimeDB key with one piece replaced: the pieces are version, tp, entry_id, region_id, topic.
 */
static char *gdb_with(const char *version, const char *tp, const char *entry_id, const char *region,
                      const char *topic)
{
    static char buf[1024];
    snprintf(buf, sizeof(buf),
             "{\"version\":%s,\"tp\":%s,\"entry_id\":%s,\"ns\":{\"region_id\":%s,\"topic\":%s}}",
             version ? version : "0", tp ? tp : "\"Full\"", entry_id ? entry_id : "0",
             region ? region : "1", topic ? topic : "\"\"");
    return buf;
}

static void expect_bad(const char *key, int rc, const char *why_part)
{
    kw_wal_record_key d;
    const char *why = NULL;
    int got = dec(key, &d, &why);
    ck_assert_msg(got == rc, "%s: got %d, want %d (%s)", key, got, rc, why ? why : "-");
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, why_part), "%s: why '%s' lacks '%s'", key, why, why_part);
}

START_TEST(greptimedb_bad_keys_are_refused_with_a_reason)
{
    expect_bad("", KW_ETRUNCATED, "empty");
    expect_bad("{", KW_EMALFORMED, "expected a string");
    expect_bad("x", KW_EMALFORMED, "neither");
    expect_bad("[0,\"Full\",0,{\"region_id\":1,\"topic\":\"\"}]", KW_EMALFORMED, "neither");
    expect_bad(" [1]", KW_EMALFORMED, "not a JSON object");
    char trailing[1100];
    snprintf(trailing, sizeof(trailing), "%s x", gdb_with(0, 0, 0, 0, 0));
    expect_bad(trailing, KW_EMALFORMED, "trailing");
    expect_bad(gdb_with("1", 0, 0, 0, 0), KW_EUNSUPPORTED, "version");
    expect_bad(gdb_with("\"0\"", 0, 0, 0, 0), KW_EMALFORMED, "version: not a number");
    expect_bad(gdb_with("4294967296", 0, 0, 0, 0), KW_EMALFORMED, "version: larger than 32");
    expect_bad(gdb_with(0, 0, 0, "-1", 0), KW_EMALFORMED, "region_id: negative");
    expect_bad(gdb_with(0, 0, 0, "-0", 0), KW_EMALFORMED, "region_id: negative");
    expect_bad(gdb_with(0, 0, 0, "18446744073709551616", 0), KW_EMALFORMED,
               "region_id: larger than 64");
    expect_bad(gdb_with(0, 0, 0, "99999999999999999999999", 0), KW_EMALFORMED, "larger than 64");
    expect_bad(gdb_with(0, 0, 0, "1.0", 0), KW_EMALFORMED, "region_id: not an integer");
    expect_bad(gdb_with(0, 0, 0, "1e3", 0), KW_EMALFORMED, "region_id: not an integer");
    expect_bad(gdb_with(0, 0, 0, "01", 0), KW_EMALFORMED, "leading zero");
    expect_bad(gdb_with(0, 0, 0, "true", 0), KW_EMALFORMED, "region_id: not a number");
    expect_bad(gdb_with(0, 0, "null", 0, 0), KW_EMALFORMED, "entry_id: not a number");
    expect_bad(gdb_with(0, "\"Middle\"", 0, 0, 0), KW_EMALFORMED, "Middle without");
    expect_bad(gdb_with(0, "{\"Middle\":0}", 0, 0, 0), KW_EMALFORMED, "Middle index 0");
    expect_bad(gdb_with(0, "{\"Middle\":-1}", 0, 0, 0), KW_EMALFORMED, "negative");
    expect_bad(gdb_with(0, "{\"Middle\":4294967295}", 0, 0, 0), KW_EMALFORMED, "too large");
    expect_bad(gdb_with(0, "{\"Middle\":1.5}", 0, 0, 0), KW_EMALFORMED, "not an integer");
    expect_bad(gdb_with(0, "{\"Middle\":1,\"Last\":null}", 0, 0, 0), KW_EMALFORMED,
               "more than one");
    expect_bad(gdb_with(0, "{\"Full\":1}", 0, 0, 0), KW_EMALFORMED, "must be null");
    expect_bad(gdb_with(0, "{}", 0, 0, 0), KW_EMALFORMED, "expected a string");
    expect_bad(gdb_with(0, "\"full\"", 0, 0, 0), KW_EMALFORMED, "unknown part type");
    expect_bad(gdb_with(0, "3", 0, 0, 0), KW_EMALFORMED, "tp: not a string");
    expect_bad(gdb_with(0, 0, 0, 0, "5"), KW_EMALFORMED, "topic: not a string");
    expect_bad(gdb_with(0, 0, 0, 0, "\"a\\x\""), KW_EMALFORMED, "unknown escape");
    expect_bad(gdb_with(0, 0, 0, 0, "\"\\ud800\""), KW_EMALFORMED, "lone high surrogate");
    expect_bad(gdb_with(0, 0, 0, 0, "\"\\ud800\\u0041\""), KW_EMALFORMED, "lone high surrogate");
    expect_bad(gdb_with(0, 0, 0, 0, "\"\\udc00\""), KW_EMALFORMED, "lone low surrogate");
    expect_bad(gdb_with(0, 0, 0, 0, "\"\\u12g4\""), KW_EMALFORMED, "bad \\u");
    expect_bad(gdb_with(0, 0, 0, 0, "\"a\tb\""), KW_EMALFORMED, "control character");
    expect_bad(gdb_with(0, 0, 0, 0, "\"\xff\""), KW_EMALFORMED, "UTF-8");
    expect_bad(gdb_with(0, 0, 0, 0, "\"\xc0\xaf\""), KW_EMALFORMED, "UTF-8");     /* overlong */
    expect_bad(gdb_with(0, 0, 0, 0, "\"\xed\xa0\x80\""), KW_EMALFORMED, "UTF-8"); /* surrogate */
    expect_bad(gdb_with(0, 0, 0, 0, "\"abc"), KW_EMALFORMED, "");
    expect_bad("{\"version\":0,\"tp\":\"Full\",\"entry_id\":0}", KW_EMALFORMED, "missing field ns");
    expect_bad("{\"tp\":\"Full\",\"entry_id\":0,\"ns\":{\"region_id\":1,\"topic\":\"\"}}",
               KW_EMALFORMED, "missing field version");
    expect_bad("{\"version\":0,\"entry_id\":0,\"ns\":{\"region_id\":1,\"topic\":\"\"}}",
               KW_EMALFORMED, "missing field tp");
    expect_bad("{\"version\":0,\"tp\":\"Full\",\"ns\":{\"region_id\":1,\"topic\":\"\"}}",
               KW_EMALFORMED, "missing field entry_id");
    expect_bad("{\"version\":0,\"tp\":\"Full\",\"entry_id\":0,\"ns\":{\"topic\":\"\"}}",
               KW_EMALFORMED, "missing field region_id");
    expect_bad("{\"version\":0,\"tp\":\"Full\",\"entry_id\":0,\"ns\":{\"region_id\":1}}",
               KW_EMALFORMED, "missing field topic");
    expect_bad(
        "{\"version\":0,\"version\":0,\"tp\":\"Full\",\"entry_id\":0,\"ns\":{\"region_id\":1,"
        "\"topic\":\"\"}}",
        KW_EMALFORMED, "duplicate field version");
    expect_bad(
        "{\"version\":0,\"tp\":\"Full\",\"entry_id\":0,\"ns\":{\"region_id\":1,\"region_id\":2,"
        "\"topic\":\"\"}}",
        KW_EMALFORMED, "duplicate field region_id");
    expect_bad(
        "{\"version\":0,\"tp\":\"Full\",\"entry_id\":0,\"ns\":{\"region_id\":1,\"topic\":\"\"},}",
        KW_EMALFORMED, "expected a string");
    expect_bad("{\"version\":0 \"tp\":\"Full\"}", KW_EMALFORMED, "expected ','");
    expect_bad("{\"x\":tru,\"version\":0}", KW_EMALFORMED, "expected a JSON value");
    expect_bad("{\"x\":1.,\"version\":0}", KW_EMALFORMED, "bad number");
    expect_bad("{\"x\":[1,],\"version\":0}", KW_EMALFORMED, "expected a JSON value");
    char deep[512];
    int n = snprintf(deep, sizeof(deep), "{\"x\":");
    for (int i = 0; i < 200; i++)
        deep[n++] = '[';
    deep[n] = '\0';
    expect_bad(deep, KW_EMALFORMED, "nested too deep");
}
END_TEST

START_TEST(greptimedb_encode_refuses_what_greptimedb_could_not_write)
{
    uint8_t out[KW_WAL_RECORD_KEY_MAX];
    kw_wal_record_key k = gkey(KW_WAL_PART_FULL, 0, 1, "bad\xff");
    ck_assert_int_eq(kw__wal_record_key_encode(&k, out, sizeof(out)), KW_EINVAL);
    char longt[300];
    memset(longt, 'a', sizeof(longt) - 1);
    longt[sizeof(longt) - 1] = '\0';
    k = gkey(KW_WAL_PART_FULL, 0, 1, longt);
    ck_assert_int_eq(kw__wal_record_key_encode(&k, out, sizeof(out)), KW_ETOOBIG);
    /* the 256-byte limit is on the key: 255 is fine, 256 is not */
    size_t base = strlen(gdb_with(0, 0, 0, 0, "\"\""));
    longt[255 - base] = '\0';
    k = gkey(KW_WAL_PART_FULL, 0, 1, longt);
    ck_assert_int_eq(kw__wal_record_key_encode(&k, out, sizeof(out)), 255);
    longt[255 - base] = 'a';
    longt[256 - base] = '\0';
    k = gkey(KW_WAL_PART_FULL, 0, 1, longt);
    ck_assert_int_eq(kw__wal_record_key_encode(&k, out, sizeof(out)), KW_ETOOBIG);
    k = gkey(KW_WAL_PART_FULL, 0, 1, "");
    ck_assert_int_eq(kw__wal_record_key_encode(&k, out, 10), KW_ETOOBIG);
    k = gkey(KW_WAL_PART_MIDDLE, 0, 1, "");
    ck_assert_int_eq(kw__wal_record_key_encode(&k, out, sizeof(out)), KW_EINVAL);
    k = gkey(0, 0, 1, "");
    ck_assert_int_eq(kw__wal_record_key_encode(&k, out, sizeof(out)), KW_EINVAL);
    k.format = 7;
    ck_assert_int_eq(kw__wal_record_key_encode(&k, out, sizeof(out)), KW_EINVAL);
}
END_TEST

/* ---- kwal keys ---- */

START_TEST(kwal_keys_match_the_layout_by_hand)
{
    uint8_t out[KW_WAL_RECORD_KEY_MAX];
    kw_wal_record_key k = {.format = KW_WAL_FORMAT_KWAL,
                           .kind = KW_WAL_PART_FULL,
                           .region_id = 0x0102030405060708ULL,
                           .tag = 0x1112131415161718ULL};
    static const uint8_t full[] = {1, 1, 2, 3,    4,    5,    6,    7,    8,    1,    0,
                                   0, 0, 0, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18};
    ck_assert_int_eq(kw__wal_record_key_encode(&k, out, sizeof(out)), 22);
    ck_assert(memcmp(out, full, 22) == 0);

    k.kind = KW_WAL_PART_FIRST;
    k.total_parts = 3;
    k.entry_len = 0x1000;
    k.region_id = UINT64_MAX;
    static const uint8_t first[] = {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2,    0, 0,
                                    0, 0,    0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0, 0,
                                    0, 3,    0,    0,    0,    0,    0,    0,    0x10, 0x00};
    ck_assert_int_eq(kw__wal_record_key_encode(&k, out, sizeof(out)), 34);
    ck_assert(memcmp(out, first, 34) == 0);

    kw_wal_record_key m = {.format = KW_WAL_FORMAT_KWAL,
                           .kind = KW_WAL_PART_MIDDLE,
                           .index = 0x01020304,
                           .region_id = 0,
                           .tag = 9};
    static const uint8_t middle[] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 3, 1,
                                     2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 9};
    ck_assert_int_eq(kw__wal_record_key_encode(&m, out, sizeof(out)), 22);
    ck_assert(memcmp(out, middle, 22) == 0);

    kw_wal_record_key d;
    const char *why = NULL;
    ck_assert_int_eq(kw__wal_record_key_decode(first, sizeof(first), &d, &why), 0);
    ck_assert_int_eq(d.format, KW_WAL_FORMAT_KWAL);
    ck_assert_int_eq(d.kind, KW_WAL_PART_FIRST);
    ck_assert_uint_eq(d.region_id, UINT64_MAX);
    ck_assert_uint_eq(d.tag, 0x1112131415161718ULL);
    ck_assert_uint_eq(d.total_parts, 3);
    ck_assert_uint_eq(d.entry_len, 0x1000);
    ck_assert_int_eq(kw__wal_record_key_decode(middle, sizeof(middle), &d, &why), 0);
    ck_assert_int_eq(d.kind, KW_WAL_PART_MIDDLE);
    ck_assert_uint_eq(d.index, 0x01020304);
    ck_assert_uint_eq(d.region_id, 0);
    ck_assert_uint_eq(d.tag, 9);
    ck_assert_uint_eq(d.total_parts, 0);

    /* LAST carries its index */
    kw_wal_record_key l = {.format = KW_WAL_FORMAT_KWAL,
                           .kind = KW_WAL_PART_LAST,
                           .index = 2,
                           .region_id = 1,
                           .tag = 1};
    ck_assert_int_eq(kw__wal_record_key_encode(&l, out, sizeof(out)), 22);
    ck_assert_int_eq(out[9], 4);
    ck_assert_uint_eq(kw_load_be32(out + 10), 2);
    /* and is too short a buffer refused */
    ck_assert_int_eq(kw__wal_record_key_encode(&k, out, 33), KW_ETOOBIG);
}
END_TEST

static void expect_bad_kwal(const uint8_t *key, size_t len, int rc, const char *why_part)
{
    kw_wal_record_key d;
    const char *why = NULL;
    int got = kw__wal_record_key_decode(key, len, &d, &why);
    ck_assert_msg(got == rc, "len %zu: got %d, want %d (%s)", len, got, rc, why ? why : "-");
    ck_assert_msg(why && strstr(why, why_part), "why '%s' lacks '%s'", why ? why : "-", why_part);
}

START_TEST(kwal_bad_keys_are_refused_with_a_reason)
{
    uint8_t k[40] = {1, 0, 0, 0, 0, 0, 0, 0, 7, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5};
    kw_wal_record_key d;
    const char *why = NULL;
    ck_assert_int_eq(kw__wal_record_key_decode(k, 22, &d, &why), 0);
    ck_assert_uint_eq(d.region_id, 7);
    expect_bad_kwal(k, 0, KW_ETRUNCATED, "empty");
    expect_bad_kwal(k, 21, KW_ETRUNCATED, "cut short");
    expect_bad_kwal(k, 1, KW_ETRUNCATED, "cut short");
    expect_bad_kwal(k, 23, KW_EMALFORMED, "trailing");
    k[0] = 3;
    expect_bad_kwal(k, 22, KW_EUNSUPPORTED, "version");
    k[0] = 2; /* version 2 adds a codec and a length: 22 bytes are too few */
    expect_bad_kwal(k, 22, KW_ETRUNCATED, "version 2 cut short");
    k[0] = 0;
    expect_bad_kwal(k, 22, KW_EUNSUPPORTED, "version");
    k[0] = 1;
    k[9] = 0;
    expect_bad_kwal(k, 22, KW_EMALFORMED, "part kind");
    k[9] = 5;
    expect_bad_kwal(k, 22, KW_EMALFORMED, "part kind");
    k[9] = KW_WAL_PART_FULL;
    k[13] = 1;
    expect_bad_kwal(k, 22, KW_EMALFORMED, "index");
    k[9] = KW_WAL_PART_MIDDLE;
    k[13] = 0;
    expect_bad_kwal(k, 22, KW_EMALFORMED, "index");
    k[9] = KW_WAL_PART_LAST;
    expect_bad_kwal(k, 22, KW_EMALFORMED, "index");
    memset(k + 10, 0xff, 4);
    expect_bad_kwal(k, 22, KW_EMALFORMED, "index");
    memset(k + 10, 0, 4);
    k[9] = KW_WAL_PART_FIRST;
    expect_bad_kwal(k, 22, KW_ETRUNCATED, "FIRST key cut short");
    expect_bad_kwal(k, 33, KW_ETRUNCATED, "FIRST key cut short");
    kw_store_be32(k + 22, 1);
    kw_store_be64(k + 26, 100);
    expect_bad_kwal(k, 34, KW_EMALFORMED, "fewer than 2 parts");
    kw_store_be32(k + 22, 5);
    kw_store_be64(k + 26, 4);
    expect_bad_kwal(k, 34, KW_EMALFORMED, "fewer bytes than parts");
    kw_store_be64(k + 26, 5);
    ck_assert_int_eq(kw__wal_record_key_decode(k, 34, &d, &why), 0);
    expect_bad_kwal(k, 35, KW_EMALFORMED, "trailing");
    /* the decoders refuse each other's keys */
    ck_assert_int_eq(kw__wal_record_key_decode_greptimedb(k, 34, &d, &why), KW_EMALFORMED);
    const char *j = gdb_with(0, 0, 0, 0, 0);
    ck_assert_int_eq(kw__wal_record_key_decode_kwal((const uint8_t *)j, strlen(j), &d, &why),
                     KW_EUNSUPPORTED);
    /* encoding an impossible part */
    uint8_t out[64];
    kw_wal_record_key e = {
        .format = KW_WAL_FORMAT_KWAL, .kind = KW_WAL_PART_FIRST, .total_parts = 1, .entry_len = 10};
    ck_assert_int_eq(kw__wal_record_key_encode(&e, out, sizeof(out)), KW_EINVAL);
    e.kind = KW_WAL_PART_LAST;
    e.index = KW_WAL_PART_INDEX_NONE;
    ck_assert_int_eq(kw__wal_record_key_encode(&e, out, sizeof(out)), KW_EINVAL);
}
END_TEST

/* ---- splitting ---- */

static void expect_split(size_t len, size_t max, uint32_t want_n, const size_t *lens)
{
    uint32_t n = 0;
    ck_assert_int_eq(kw__wal_split(len, max, &n), 0);
    ck_assert_uint_eq(n, want_n);
    size_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        kw_wal_part p = kw__wal_split_part(len, max, n, i);
        int kind = n == 1       ? KW_WAL_PART_FULL
                   : i == 0     ? KW_WAL_PART_FIRST
                   : i == n - 1 ? KW_WAL_PART_LAST
                                : KW_WAL_PART_MIDDLE;
        ck_assert_int_eq(p.kind, kind);
        ck_assert_uint_eq(p.index, n == 1 ? 0 : i);
        ck_assert_uint_eq(p.off, off);
        ck_assert_uint_eq(p.len, lens[i]);
        off += p.len;
    }
    ck_assert_uint_eq(off, len);
}

START_TEST(split_follows_greptimedb_chunking)
{
    expect_split(0, 10, 1, (size_t[]){0}); /* an empty entry is one empty FULL */
    expect_split(1, 10, 1, (size_t[]){1});
    expect_split(10, 10, 1, (size_t[]){10}); /* exactly the limit still fits */
    expect_split(11, 10, 2, (size_t[]){10, 1});
    expect_split(20, 10, 2, (size_t[]){10, 10}); /* exact multiple: no empty tail */
    expect_split(21, 10, 3, (size_t[]){10, 10, 1});
    expect_split(30, 10, 3, (size_t[]){10, 10, 10});
    expect_split(31, 10, 4, (size_t[]){10, 10, 10, 1});
    expect_split(2, 1, 2, (size_t[]){1, 1});
    uint32_t n;
    ck_assert_int_eq(kw__wal_split(5, 0, &n), KW_EINVAL);
    ck_assert_int_eq(kw__wal_split(SIZE_MAX, 1, &n), KW_ETOOBIG);
    ck_assert_int_eq(kw__wal_split((size_t)UINT32_MAX, 1, &n), KW_ETOOBIG);
    ck_assert_int_eq(kw__wal_split((size_t)UINT32_MAX - 1, 1, &n), 0);
    ck_assert_uint_eq(n, UINT32_MAX - 1);
    /* GreptimeDB's default: 1 MiB batches leave 1 MiB - 256 per part */
    ck_assert_uint_eq(kw__wal_split_max_payload(1 << 20), (1 << 20) - 256);
    ck_assert_uint_eq(kw__wal_split_max_payload(256), 0);
    ck_assert_uint_eq(kw__wal_split_max_payload(257), 1);
    ck_assert_uint_eq(kw__wal_split_max_payload(0), 0);

    /* keys for the parts, in both formats */
    kw_wal_part p = kw__wal_split_part(21, 10, 3, 2);
    kw_wal_record_key k;
    kw__wal_record_key_for_part(&k, KW_WAL_FORMAT_GREPTIMEDB, 9, 77, &p, 3, 21);
    ck_assert_uint_eq(k.index, KW_WAL_PART_INDEX_NONE);
    ck_assert_uint_eq(k.tag, 0);
    ck_assert_str_eq(enc(&k),
                     "{\"version\":0,\"tp\":\"Last\",\"entry_id\":0,\"ns\":{\"region_id\":9,"
                     "\"topic\":\"\"}}");
    kw__wal_record_key_for_part(&k, KW_WAL_FORMAT_KWAL, 9, 77, &p, 3, 21);
    ck_assert_uint_eq(k.index, 2);
    ck_assert_uint_eq(k.tag, 77);
    p = kw__wal_split_part(21, 10, 3, 0);
    kw__wal_record_key_for_part(&k, KW_WAL_FORMAT_KWAL, 9, 77, &p, 3, 21);
    ck_assert_uint_eq(k.total_parts, 3);
    ck_assert_uint_eq(k.entry_len, 21);
}
END_TEST

/* ---- reassembly ---- */

/* A record in a test log: key (or null), value (or null). */
typedef struct rec {
    uint8_t key[KW_WAL_RECORD_KEY_MAX];
    int klen; /* -1 = null */
    const uint8_t *val;
    size_t vlen;
    bool vnull;
} rec;

/* What the reassembler reported, with entry bytes copied. */
typedef struct seen {
    int kind;
    uint64_t region, entry_id;
    int64_t offset, first_offset;
    uint32_t parts;
    uint8_t *data;
    size_t len;
    const uint8_t *ptr;
    const char *why;
} seen;

typedef struct log {
    rec *r;
    size_t n, cap;
    seen *ev;
    size_t nev, evcap;
    int last_rc;
} log_t;

static void log_free(log_t *l)
{
    for (size_t i = 0; i < l->nev; i++)
        free(l->ev[i].data);
    free(l->ev);
    free(l->r);
    memset(l, 0, sizeof(*l));
}

static rec *log_add(log_t *l)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->r = realloc(l->r, l->cap * sizeof(*l->r));
        ck_assert_ptr_nonnull(l->r);
    }
    rec *r = &l->r[l->n++];
    memset(r, 0, sizeof(*r));
    return r;
}

/* Adds a part record; for kwal keys total/len go into FIRST. */
static void add_part(log_t *l, int format, int kind, uint64_t region, uint32_t index, uint64_t tag,
                     uint32_t total, uint64_t len, const void *val, size_t vlen)
{
    rec *r = log_add(l);
    kw_wal_record_key k = {.format = format,
                           .kind = kind,
                           .region_id = region,
                           .index = index,
                           .tag = format == KW_WAL_FORMAT_KWAL ? tag : 0,
                           .topic = kw_str_c("")};
    if (format == KW_WAL_FORMAT_GREPTIMEDB && kind == KW_WAL_PART_LAST)
        k.index = KW_WAL_PART_INDEX_NONE;
    if (format == KW_WAL_FORMAT_KWAL && kind == KW_WAL_PART_FIRST) {
        k.total_parts = total;
        k.entry_len = len;
    }
    r->klen = kw__wal_record_key_encode(&k, r->key, sizeof(r->key));
    ck_assert_int_gt(r->klen, 0);
    r->val = val;
    r->vlen = vlen;
}

static void add_raw(log_t *l, const char *key, const void *val, size_t vlen, bool vnull)
{
    rec *r = log_add(l);
    r->klen = key ? (int)strlen(key) : -1;
    if (key)
        memcpy(r->key, key, strlen(key));
    r->val = val;
    r->vlen = vlen;
    r->vnull = vnull;
}

/* Adds a whole entry split with max_part, in order. */
static void add_entry(log_t *l, int format, uint64_t region, uint64_t tag, const uint8_t *data,
                      size_t len, size_t max_part)
{
    uint32_t n;
    ck_assert_int_eq(kw__wal_split(len, max_part, &n), 0);
    for (uint32_t i = 0; i < n; i++) {
        kw_wal_part p = kw__wal_split_part(len, max_part, n, i);
        add_part(l, format, p.kind, region, p.index, tag, n, len, data + p.off, p.len);
    }
}

static void collect(kw_wal_record_asm *a, log_t *l)
{
    kw_wal_record_event ev;
    while (kw__wal_record_asm_next(a, &ev)) {
        if (l->nev == l->evcap) {
            l->evcap = l->evcap ? l->evcap * 2 : 16;
            l->ev = realloc(l->ev, l->evcap * sizeof(*l->ev));
            ck_assert_ptr_nonnull(l->ev);
        }
        seen *s = &l->ev[l->nev++];
        *s = (seen){ev.kind,  ev.region_id, ev.entry_id, ev.offset, ev.first_offset,
                    ev.parts, NULL,         ev.len,      ev.data,   ev.why};
        if (ev.kind == KW_WAL_REC_ENTRY) {
            s->data = malloc(ev.len ? ev.len : 1);
            if (ev.len)
                memcpy(s->data, ev.data, ev.len);
        } else {
            ck_assert_ptr_nonnull(ev.why);
        }
    }
}

/* Feeds records [from, to) with offsets base + i, collecting events; finish at the end if asked. */
static void run(kw_wal_record_asm *a, log_t *l, size_t from, size_t to, int64_t base, bool finish)
{
    for (size_t i = from; i < to; i++) {
        rec *r = &l->r[i];
        l->last_rc = kw__wal_record_asm_feed(
            a, base + (int64_t)i, r->klen < 0 ? NULL : r->key, r->klen < 0 ? 0 : (size_t)r->klen,
            r->vnull ? NULL : (r->val ? r->val : (const uint8_t *)""), r->vlen);
        collect(a, l);
    }
    if (finish) {
        kw__wal_record_asm_finish(a);
        collect(a, l);
    }
}

static size_t count_kind(const log_t *l, int kind)
{
    size_t n = 0;
    for (size_t i = 0; i < l->nev; i++)
        n += l->ev[i].kind == kind;
    return n;
}

static const seen *nth_kind(const log_t *l, int kind, size_t nth)
{
    for (size_t i = 0; i < l->nev; i++)
        if (l->ev[i].kind == kind && nth-- == 0)
            return &l->ev[i];
    ck_abort_msg("no event %d #%zu", kind, nth);
    return NULL;
}

static void expect_entry(const seen *s, uint64_t region, int64_t id, int64_t first, uint32_t parts,
                         const void *data, size_t len)
{
    ck_assert_int_eq(s->kind, KW_WAL_REC_ENTRY);
    ck_assert_uint_eq(s->region, region);
    ck_assert_uint_eq(s->entry_id, (uint64_t)id);
    ck_assert_int_eq(s->offset, id);
    ck_assert_int_eq(s->first_offset, first);
    ck_assert_uint_eq(s->parts, parts);
    ck_assert_uint_eq(s->len, len);
    ck_assert(len == 0 || memcmp(s->data, data, len) == 0);
}

static const uint8_t ABC[] = "abcdefghijklmnopqrstuvwxyz0123456789";

START_TEST(a_full_record_is_an_entry_without_copying)
{
    for (int f = 0; f < 2; f++) {
        kw_wal_record_asm a;
        kw__wal_record_asm_init(&a, NULL);
        log_t l = {0};
        add_entry(&l, f, 3, 11, ABC, 5, 10);
        add_entry(&l, f, 3, 12, ABC, 0, 10); /* an empty entry */
        run(&a, &l, 0, l.n, 100, true);
        ck_assert_uint_eq(l.nev, 2);
        expect_entry(&l.ev[0], 3, 100, 100, 1, ABC, 5);
        ck_assert_ptr_eq(l.ev[0].ptr, ABC); /* the value itself */
        expect_entry(&l.ev[1], 3, 101, 101, 1, "", 0);
        ck_assert_uint_eq(a.stats.entries, 2);
        ck_assert_uint_eq(a.stats.records, 2);
        log_free(&l);
        kw__wal_record_asm_free(&a);
    }
}
END_TEST

START_TEST(split_entries_come_back_whole_with_the_last_offset_as_id)
{
    for (int f = 0; f < 2; f++) {
        kw_wal_record_asm a;
        kw__wal_record_asm_init(&a, NULL);
        log_t l = {0};
        add_entry(&l, f, 1, 5, ABC, 36, 10); /* F M1 M2 L(6) */
        add_entry(&l, f, 1, 6, ABC, 20, 10); /* F L, no middle */
        run(&a, &l, 0, l.n, 0, true);
        ck_assert_uint_eq(l.nev, 2);
        expect_entry(&l.ev[0], 1, 3, 0, 4, ABC, 36);
        expect_entry(&l.ev[1], 1, 5, 4, 2, ABC, 20);
        ck_assert_uint_eq(a.stats.buffered_bytes, 0);
        log_free(&l);
        kw__wal_record_asm_free(&a);
    }
}
END_TEST

START_TEST(duplicate_parts_from_retried_produces_are_dropped)
{
    /* GreptimeDB keys: F F M1 M1 M2 L L (each part its own retried produce) */
    kw_wal_record_asm a;
    kw__wal_record_asm_init(&a, NULL);
    log_t l = {0};
    int g = KW_WAL_FORMAT_GREPTIMEDB;
    add_part(&l, g, KW_WAL_PART_FIRST, 1, 0, 0, 0, 0, ABC, 10);
    add_part(&l, g, KW_WAL_PART_FIRST, 1, 0, 0, 0, 0, ABC, 10);
    add_part(&l, g, KW_WAL_PART_MIDDLE, 1, 1, 0, 0, 0, ABC + 10, 10);
    add_part(&l, g, KW_WAL_PART_MIDDLE, 1, 1, 0, 0, 0, ABC + 10, 10);
    add_part(&l, g, KW_WAL_PART_MIDDLE, 1, 2, 0, 0, 0, ABC + 20, 10);
    add_part(&l, g, KW_WAL_PART_LAST, 1, 0, 0, 0, 0, ABC + 30, 6);
    add_part(&l, g, KW_WAL_PART_LAST, 1, 0, 0, 0, 0, ABC + 30, 6);
    run(&a, &l, 0, l.n, 0, true);
    ck_assert_uint_eq(count_kind(&l, KW_WAL_REC_ENTRY), 1);
    expect_entry(nth_kind(&l, KW_WAL_REC_ENTRY, 0), 1, 5, 0, 4, ABC, 36);
    ck_assert_uint_eq(count_kind(&l, KW_WAL_REC_DUPLICATE), 2);
    ck_assert_int_eq(nth_kind(&l, KW_WAL_REC_DUPLICATE, 0)->offset, 1);
    ck_assert_int_eq(nth_kind(&l, KW_WAL_REC_DUPLICATE, 1)->offset, 3);
    /* a GreptimeDB Last after its entry completed cannot be told from a stray one */
    ck_assert_uint_eq(count_kind(&l, KW_WAL_REC_ORPHAN), 1);
    ck_assert_uint_eq(l.nev, 4);
    log_free(&l);
    kw__wal_record_asm_free(&a);

    /* kwal keys: the tag makes every duplicate exact, also whole entries and FULL records */
    kw__wal_record_asm_init(&a, NULL);
    int k = KW_WAL_FORMAT_KWAL;
    add_part(&l, k, KW_WAL_PART_FIRST, 1, 0, 9, 3, 30, ABC, 10);
    add_part(&l, k, KW_WAL_PART_FIRST, 1, 0, 9, 3, 30, ABC, 10);
    add_part(&l, k, KW_WAL_PART_MIDDLE, 1, 1, 9, 0, 0, ABC + 10, 10);
    add_part(&l, k, KW_WAL_PART_MIDDLE, 1, 1, 9, 0, 0, ABC + 10, 10);
    add_part(&l, k, KW_WAL_PART_LAST, 1, 2, 9, 0, 0, ABC + 20, 10);
    add_part(&l, k, KW_WAL_PART_LAST, 1, 2, 9, 0, 0, ABC + 20, 10);
    add_entry(&l, k, 1, 10, ABC, 3, 10); /* a FULL ... */
    add_entry(&l, k, 1, 9, ABC, 30, 10); /* the split entry again (retried request) */
    add_entry(&l, k, 1, 10, ABC, 3, 10); /* ... and the FULL again */
    run(&a, &l, 0, l.n, 0, true);
    ck_assert_uint_eq(count_kind(&l, KW_WAL_REC_ENTRY), 2);
    expect_entry(nth_kind(&l, KW_WAL_REC_ENTRY, 0), 1, 4, 0, 3, ABC, 30);
    expect_entry(nth_kind(&l, KW_WAL_REC_ENTRY, 1), 1, 6, 6, 1, ABC, 3);
    ck_assert_uint_eq(count_kind(&l, KW_WAL_REC_DUPLICATE), 7);
    ck_assert_uint_eq(l.nev, 9);
    ck_assert_uint_eq(a.stats.duplicates, 7);
    log_free(&l);
    kw__wal_record_asm_free(&a);
}
END_TEST

START_TEST(a_gap_abandons_the_entry_once)
{
    for (int f = 0; f < 2; f++) {
        kw_wal_record_asm a;
        kw__wal_record_asm_init(&a, NULL);
        log_t l = {0};
        /* F M1 M3 M4 L: M2 lost; then a good entry */
        add_part(&l, f, KW_WAL_PART_FIRST, 1, 0, 4, 6, 36, ABC, 6);
        add_part(&l, f, KW_WAL_PART_MIDDLE, 1, 1, 4, 0, 0, ABC + 6, 6);
        add_part(&l, f, KW_WAL_PART_MIDDLE, 1, 3, 4, 0, 0, ABC + 18, 6);
        add_part(&l, f, KW_WAL_PART_MIDDLE, 1, 4, 4, 0, 0, ABC + 24, 6);
        add_part(&l, f, KW_WAL_PART_LAST, 1, 5, 4, 0, 0, ABC + 30, 6);
        add_entry(&l, f, 1, 5, ABC, 15, 10);
        run(&a, &l, 0, l.n, 0, true);
        ck_assert_uint_eq(l.nev, 2);
        const seen *ab = nth_kind(&l, KW_WAL_REC_ABANDONED, 0);
        ck_assert_int_eq(ab->offset, 2);
        ck_assert_int_eq(ab->first_offset, 0);
        ck_assert_uint_eq(ab->parts, 2);
        ck_assert_str_eq(ab->why, "a MIDDLE part is missing");
        ck_assert_uint_eq(a.stats.dropped_parts, 2);
        expect_entry(nth_kind(&l, KW_WAL_REC_ENTRY, 0), 1, 6, 5, 2, ABC, 15);
        log_free(&l);
        kw__wal_record_asm_free(&a);
    }
}
END_TEST

START_TEST(a_kwal_last_after_a_lost_middle_is_caught)
{
    /* GreptimeDB's Last has no index; kwal's has, so F M1 [M2 lost] L(3) is not an entry */
    kw_wal_record_asm a;
    kw__wal_record_asm_init(&a, NULL);
    log_t l = {0};
    int k = KW_WAL_FORMAT_KWAL;
    add_part(&l, k, KW_WAL_PART_FIRST, 1, 0, 4, 4, 24, ABC, 6);
    add_part(&l, k, KW_WAL_PART_MIDDLE, 1, 1, 4, 0, 0, ABC + 6, 6);
    add_part(&l, k, KW_WAL_PART_LAST, 1, 3, 4, 0, 0, ABC + 18, 6);
    run(&a, &l, 0, l.n, 0, true);
    ck_assert_uint_eq(l.nev, 1);
    ck_assert_int_eq(l.ev[0].kind, KW_WAL_REC_ABANDONED);
    ck_assert_str_eq(l.ev[0].why, "parts missing before the LAST part");
    log_free(&l);
    kw__wal_record_asm_free(&a);

    /* the FIRST said 3 parts, a LAST came as part 2 but with too few bytes */
    kw__wal_record_asm_init(&a, NULL);
    add_part(&l, k, KW_WAL_PART_FIRST, 1, 0, 4, 3, 18, ABC, 6);
    add_part(&l, k, KW_WAL_PART_MIDDLE, 1, 1, 4, 0, 0, ABC + 6, 6);
    add_part(&l, k, KW_WAL_PART_LAST, 1, 2, 4, 0, 0, ABC + 12, 3);
    /* and one with more parts than declared */
    add_part(&l, k, KW_WAL_PART_FIRST, 1, 0, 5, 2, 12, ABC, 6);
    add_part(&l, k, KW_WAL_PART_MIDDLE, 1, 1, 5, 0, 0, ABC + 6, 6);
    add_part(&l, k, KW_WAL_PART_LAST, 1, 2, 5, 0, 0, ABC + 12, 6);
    /* and one longer than declared */
    add_part(&l, k, KW_WAL_PART_FIRST, 1, 0, 6, 2, 7, ABC, 6);
    add_part(&l, k, KW_WAL_PART_LAST, 1, 1, 6, 0, 0, ABC + 6, 6);
    run(&a, &l, 0, l.n, 0, true);
    ck_assert_uint_eq(l.nev, 3);
    ck_assert_str_eq(l.ev[0].why, "entry shorter than its FIRST part declared");
    ck_assert_str_eq(l.ev[1].why, "more parts than the FIRST part declared");
    ck_assert_str_eq(l.ev[2].why, "entry longer than its FIRST part declared");
    ck_assert_uint_eq(count_kind(&l, KW_WAL_REC_ABANDONED), 3);
    ck_assert_uint_eq(a.stats.dropped_parts, 1); /* the LAST after "more parts" */
    log_free(&l);
    kw__wal_record_asm_free(&a);
}
END_TEST

START_TEST(parts_without_a_first_are_orphans)
{
    for (int f = 0; f < 2; f++) {
        kw_wal_record_asm a;
        kw__wal_record_asm_init(&a, NULL);
        log_t l = {0};
        add_part(&l, f, KW_WAL_PART_LAST, 1, 1, 4, 0, 0, ABC, 6);
        add_part(&l, f, KW_WAL_PART_MIDDLE, 2, 1, 4, 0, 0, ABC, 6);
        add_entry(&l, f, 1, 5, ABC, 3, 10);
        run(&a, &l, 0, l.n, 0, true);
        ck_assert_uint_eq(l.nev, 3);
        ck_assert_int_eq(l.ev[0].kind, KW_WAL_REC_ORPHAN);
        ck_assert_str_eq(l.ev[0].why, "a LAST part with no FIRST before it");
        ck_assert_int_eq(l.ev[1].kind, KW_WAL_REC_ORPHAN);
        ck_assert_uint_eq(l.ev[1].region, 2);
        expect_entry(&l.ev[2], 1, 2, 2, 1, ABC, 3);
        ck_assert_uint_eq(a.stats.orphans, 2);
        log_free(&l);
        kw__wal_record_asm_free(&a);
    }
}
END_TEST

START_TEST(a_new_first_or_full_abandons_the_open_entry)
{
    for (int f = 0; f < 2; f++) {
        kw_wal_record_asm a;
        kw__wal_record_asm_init(&a, NULL);
        log_t l = {0};
        add_part(&l, f, KW_WAL_PART_FIRST, 1, 0, 4, 2, 12, ABC, 6); /* torn: writer died */
        add_entry(&l, f, 1, 5, ABC + 1, 12, 6);                     /* another split entry */
        add_part(&l, f, KW_WAL_PART_FIRST, 1, 0, 6, 2, 12, ABC + 2, 6);
        add_entry(&l, f, 1, 7, ABC, 4, 6); /* a FULL while the third is open */
        run(&a, &l, 0, l.n, 0, true);
        ck_assert_uint_eq(l.nev, 4);
        ck_assert_int_eq(l.ev[0].kind, KW_WAL_REC_ABANDONED);
        ck_assert_str_eq(l.ev[0].why, "a new entry began before the open entry's LAST part");
        ck_assert_int_eq(l.ev[0].first_offset, 0);
        ck_assert_int_eq(l.ev[0].offset, 1);
        expect_entry(&l.ev[1], 1, 2, 1, 2, ABC + 1, 12);
        /* one feed: the abandonment first, then the FULL */
        ck_assert_int_eq(l.ev[2].kind, KW_WAL_REC_ABANDONED);
        ck_assert_int_eq(l.ev[2].offset, 4);
        ck_assert_int_eq(l.ev[2].first_offset, 3);
        expect_entry(&l.ev[3], 1, 4, 4, 1, ABC, 4);
        log_free(&l);
        kw__wal_record_asm_free(&a);
    }
}
END_TEST

START_TEST(a_greptimedb_entry_sharing_the_first_part_of_a_torn_one_survives)
{
    /* F_A M1_A (torn), then B: F_B == F_A, M1_B differs, L_B */
    kw_wal_record_asm a;
    kw__wal_record_asm_init(&a, NULL);
    log_t l = {0};
    int g = KW_WAL_FORMAT_GREPTIMEDB;
    add_part(&l, g, KW_WAL_PART_FIRST, 1, 0, 0, 0, 0, ABC, 6);
    add_part(&l, g, KW_WAL_PART_MIDDLE, 1, 1, 0, 0, 0, ABC + 6, 6);
    add_part(&l, g, KW_WAL_PART_FIRST, 1, 0, 0, 0, 0, ABC, 6);
    add_part(&l, g, KW_WAL_PART_MIDDLE, 1, 1, 0, 0, 0, ABC + 20, 6);
    add_part(&l, g, KW_WAL_PART_LAST, 1, 0, 0, 0, 0, ABC + 26, 2);
    run(&a, &l, 0, l.n, 0, true);
    ck_assert_uint_eq(l.nev, 3);
    ck_assert_int_eq(l.ev[0].kind, KW_WAL_REC_DUPLICATE); /* F_B looked like a retry */
    ck_assert_int_eq(l.ev[1].kind, KW_WAL_REC_ABANDONED);
    ck_assert_str_eq(l.ev[1].why, "a new entry began with the same FIRST part");
    ck_assert_uint_eq(l.ev[1].parts, 2);
    ck_assert_int_eq(l.ev[1].first_offset, 0);
    uint8_t want[14];
    memcpy(want, ABC, 6);
    memcpy(want + 6, ABC + 20, 8);
    expect_entry(&l.ev[2], 1, 4, 2, 3, want, 14);
    log_free(&l);
    kw__wal_record_asm_free(&a);

    /* the same index with other bytes but no new FIRST: inconsistent, abandoned */
    kw__wal_record_asm_init(&a, NULL);
    add_part(&l, g, KW_WAL_PART_FIRST, 1, 0, 0, 0, 0, ABC, 6);
    add_part(&l, g, KW_WAL_PART_MIDDLE, 1, 1, 0, 0, 0, ABC + 6, 6);
    add_part(&l, g, KW_WAL_PART_MIDDLE, 1, 1, 0, 0, 0, ABC + 20, 6);
    add_part(&l, g, KW_WAL_PART_LAST, 1, 0, 0, 0, 0, ABC + 26, 2);
    run(&a, &l, 0, l.n, 0, true);
    ck_assert_uint_eq(l.nev, 1);
    ck_assert_str_eq(l.ev[0].why, "a MIDDLE part repeats an index with other bytes");
    ck_assert_uint_eq(a.stats.dropped_parts, 1);
    log_free(&l);
    kw__wal_record_asm_free(&a);
}
END_TEST

START_TEST(interleaved_regions_reassemble_independently)
{
    for (int f = 0; f < 2; f++) {
        kw_wal_record_asm a;
        kw__wal_record_asm_init(&a, NULL);
        log_t l = {0};
        add_part(&l, f, KW_WAL_PART_FIRST, 10, 0, 1, 3, 18, ABC, 6);              /* 0 A.F */
        add_part(&l, f, KW_WAL_PART_FIRST, UINT64_MAX, 0, 1, 2, 12, ABC + 20, 6); /* 1 B.F */
        add_part(&l, f, KW_WAL_PART_MIDDLE, 10, 1, 1, 0, 0, ABC + 6, 6);          /* 2 A.M1 */
        add_entry(&l, f, 0, 2, ABC, 1, 10);                                       /* 3 C full */
        add_part(&l, f, KW_WAL_PART_LAST, UINT64_MAX, 1, 1, 0, 0, ABC + 26, 6);   /* 4 B.L */
        add_part(&l, f, KW_WAL_PART_LAST, 10, 2, 1, 0, 0, ABC + 12, 6);           /* 5 A.L */
        run(&a, &l, 0, l.n, 0, true);
        ck_assert_uint_eq(l.nev, 3);
        expect_entry(&l.ev[0], 0, 3, 3, 1, ABC, 1);
        expect_entry(&l.ev[1], UINT64_MAX, 4, 1, 2, ABC + 20, 12);
        expect_entry(&l.ev[2], 10, 5, 0, 3, ABC, 18);

        /* only one region: the others are skipped without buffering */
        kw__wal_record_asm_free(&a);
        kw_wal_record_asm_options o = {.only_region = true, .region_id = 10};
        kw__wal_record_asm_init(&a, &o);
        size_t before = l.nev;
        run(&a, &l, 0, 2, 0, false);
        ck_assert_uint_eq(a.stats.buffered_bytes, 6 + sizeof(size_t));
        run(&a, &l, 2, l.n, 0, true);
        ck_assert_uint_eq(l.nev, before + 1);
        expect_entry(&l.ev[before], 10, 5, 0, 3, ABC, 18);
        ck_assert_uint_eq(a.stats.other_region, 3);
        log_free(&l);
        kw__wal_record_asm_free(&a);
    }
}
END_TEST

START_TEST(an_open_entry_at_the_tail_is_incomplete_not_an_error)
{
    for (int f = 0; f < 2; f++) {
        kw_wal_record_asm_options o = {.strict = true};
        kw_wal_record_asm a;
        kw__wal_record_asm_init(&a, &o);
        log_t l = {0};
        add_entry(&l, f, 1, 1, ABC, 3, 10);
        add_part(&l, f, KW_WAL_PART_FIRST, 1, 0, 2, 3, 30, ABC, 10);
        add_part(&l, f, KW_WAL_PART_MIDDLE, 1, 1, 2, 0, 0, ABC + 10, 10);
        add_part(&l, f, KW_WAL_PART_FIRST, 2, 0, 3, 2, 20, ABC, 10);
        run(&a, &l, 0, l.n, 50, false);
        ck_assert_int_eq(l.last_rc, 0);
        ck_assert_uint_eq(a.stats.buffered_bytes, 30 + 3 * sizeof(size_t));
        kw__wal_record_asm_finish(&a);
        collect(&a, &l);
        ck_assert_uint_eq(l.nev, 3);
        ck_assert_uint_eq(count_kind(&l, KW_WAL_REC_INCOMPLETE), 2);
        for (size_t i = 1; i < 3; i++) {
            const seen *s = &l.ev[i];
            ck_assert_int_eq(s->kind, KW_WAL_REC_INCOMPLETE);
            if (s->region == 1) {
                ck_assert_int_eq(s->first_offset, 51);
                ck_assert_int_eq(s->offset, 52);
                ck_assert_uint_eq(s->parts, 2);
            } else {
                ck_assert_uint_eq(s->region, 2);
                ck_assert_int_eq(s->first_offset, 53);
                ck_assert_uint_eq(s->parts, 1);
            }
        }
        ck_assert_uint_eq(a.stats.incomplete, 2);
        ck_assert_uint_eq(a.stats.buffered_bytes, 0);
        /* empty again, and usable */
        kw_wal_record_event ev;
        ck_assert(!kw__wal_record_asm_next(&a, &ev));
        log_free(&l);
        add_entry(&l, f, 1, 9, ABC, 25, 10);
        run(&a, &l, 0, l.n, 0, true);
        ck_assert_uint_eq(l.nev, 1);
        expect_entry(&l.ev[0], 1, 2, 0, 3, ABC, 25);
        log_free(&l);
        kw__wal_record_asm_free(&a);
    }
}
END_TEST

START_TEST(noop_records_are_skipped_and_keyless_records_reported)
{
    kw_wal_record_asm a;
    kw__wal_record_asm_init(&a, NULL);
    log_t l = {0};
    add_raw(&l, NULL, NULL, 0, true);                    /* GreptimeDB's noop: null key and value */
    add_raw(&l, gdb_with(0, 0, 0, 0, 0), NULL, 0, true); /* a null value with a key */
    add_raw(&l, NULL, ABC, 3, false);                    /* crash-looped GreptimeDB */
    add_raw(&l, "{\"version\":", ABC, 3, false);
    add_raw(&l, "", ABC, 3, false);
    add_part(&l, KW_WAL_FORMAT_KWAL, KW_WAL_PART_MIDDLE, 1, 1, 0, 0, 0, ABC, 0); /* empty part */
    add_entry(&l, KW_WAL_FORMAT_GREPTIMEDB, 1, 0, ABC, 3, 10);
    run(&a, &l, 0, l.n, 0, true);
    ck_assert_uint_eq(a.stats.noop, 2);
    ck_assert_uint_eq(a.stats.bad, 4);
    ck_assert_uint_eq(l.nev, 5);
    ck_assert_str_eq(l.ev[0].why, "record has no key");
    ck_assert_int_eq(l.ev[0].offset, 2);
    ck_assert_str_eq(l.ev[1].why, "version: not a number");
    ck_assert_str_eq(l.ev[2].why, "empty key");
    ck_assert_str_eq(l.ev[3].why, "an empty part of a split entry");
    expect_entry(&l.ev[4], 1, 6, 6, 1, ABC, 3);
    log_free(&l);
    kw__wal_record_asm_free(&a);

    /* strict: the feed says stop, and the note says why */
    kw_wal_record_asm_options o = {.strict = true};
    kw__wal_record_asm_init(&a, &o);
    add_raw(&l, NULL, NULL, 0, true);
    run(&a, &l, 0, 1, 0, false);
    ck_assert_int_eq(l.last_rc, 0);
    add_raw(&l, NULL, ABC, 3, false);
    run(&a, &l, 1, 2, 0, false);
    ck_assert_int_eq(l.last_rc, KW_EMALFORMED);
    ck_assert_uint_eq(l.nev, 1);
    ck_assert_int_eq(l.ev[0].kind, KW_WAL_REC_BAD);
    /* a duplicate is not malformed */
    add_entry(&l, KW_WAL_FORMAT_KWAL, 1, 3, ABC, 3, 10);
    add_entry(&l, KW_WAL_FORMAT_KWAL, 1, 3, ABC, 3, 10);
    run(&a, &l, 2, 4, 0, false);
    ck_assert_int_eq(l.last_rc, 0);
    ck_assert_int_eq(l.ev[l.nev - 1].kind, KW_WAL_REC_DUPLICATE);
    add_part(&l, KW_WAL_FORMAT_KWAL, KW_WAL_PART_LAST, 1, 1, 4, 0, 0, ABC, 3);
    run(&a, &l, 4, 5, 0, false);
    ck_assert_int_eq(l.last_rc, KW_EMALFORMED);
    log_free(&l);
    kw__wal_record_asm_free(&a);
}
END_TEST

START_TEST(entries_past_the_memory_limits_are_abandoned)
{
    kw_wal_record_asm_options o = {.max_entry_bytes = 40};
    kw_wal_record_asm a;
    kw__wal_record_asm_init(&a, &o);
    log_t l = {0};
    /* kwal: the FIRST declares 36 bytes in 4 parts = 36 + 32 > 40: refused before buffering */
    add_entry(&l, KW_WAL_FORMAT_KWAL, 1, 1, ABC, 36, 10);
    /* GreptimeDB: found out on the way */
    add_entry(&l, KW_WAL_FORMAT_GREPTIMEDB, 1, 0, ABC, 36, 10);
    add_entry(&l, KW_WAL_FORMAT_GREPTIMEDB, 1, 0, ABC, 20, 10); /* 20 + 16 fits */
    run(&a, &l, 0, l.n, 0, true);
    ck_assert_uint_eq(l.nev, 3);
    ck_assert_int_eq(l.ev[0].kind, KW_WAL_REC_ABANDONED);
    ck_assert_int_eq(l.ev[0].offset, 0);
    ck_assert_str_eq(l.ev[0].why, "entry larger than max_entry_bytes");
    ck_assert_int_eq(l.ev[1].kind, KW_WAL_REC_ABANDONED);
    ck_assert_int_eq(l.ev[1].offset, 6); /* the third part: 30 + 24 > 40 */
    ck_assert_uint_eq(l.ev[1].parts, 2);
    expect_entry(&l.ev[2], 1, 9, 8, 2, ABC, 20);
    ck_assert_uint_eq(a.stats.dropped_parts, 4);
    ck_assert_uint_eq(a.stats.buffered_bytes, 0);
    log_free(&l);
    kw__wal_record_asm_free(&a);

    /* all regions together: max_buffered_bytes */
    o = (kw_wal_record_asm_options){.max_buffered_bytes = 50};
    kw__wal_record_asm_init(&a, &o);
    add_part(&l, KW_WAL_FORMAT_KWAL, KW_WAL_PART_FIRST, 1, 0, 1, 2, 20, ABC, 10);
    add_part(&l, KW_WAL_FORMAT_KWAL, KW_WAL_PART_FIRST, 2, 0, 1, 2, 20, ABC, 10);
    add_part(&l, KW_WAL_FORMAT_KWAL, KW_WAL_PART_FIRST, 3, 0, 1, 2, 20, ABC, 10);
    run(&a, &l, 0, l.n, 0, false);
    ck_assert_uint_eq(l.nev, 1);
    ck_assert_uint_eq(l.ev[0].region, 3);
    ck_assert_str_eq(l.ev[0].why, "open entries exceed max_buffered_bytes");
    log_free(&l);
    kw__wal_record_asm_free(&a);

    /* regions tracked at once: idle ones are forgotten, open ones are not */
    o = (kw_wal_record_asm_options){.max_regions = 2};
    kw__wal_record_asm_init(&a, &o);
    for (uint64_t r = 1; r <= 5; r++)
        add_entry(&l, KW_WAL_FORMAT_KWAL, r, r, ABC, 3, 10); /* FULLs: tags remembered */
    add_part(&l, KW_WAL_FORMAT_KWAL, KW_WAL_PART_FIRST, 6, 0, 1, 2, 20, ABC, 10);
    add_part(&l, KW_WAL_FORMAT_KWAL, KW_WAL_PART_FIRST, 7, 0, 1, 2, 20, ABC, 10);
    add_part(&l, KW_WAL_FORMAT_KWAL, KW_WAL_PART_FIRST, 8, 0, 1, 2, 20, ABC, 10);
    add_part(&l, KW_WAL_FORMAT_KWAL, KW_WAL_PART_LAST, 6, 1, 1, 0, 0, ABC + 10, 10);
    run(&a, &l, 0, l.n, 0, true);
    ck_assert_uint_eq(count_kind(&l, KW_WAL_REC_ENTRY), 6);
    ck_assert_uint_eq(count_kind(&l, KW_WAL_REC_ABANDONED), 1);
    ck_assert_str_eq(nth_kind(&l, KW_WAL_REC_ABANDONED, 0)->why,
                     "too many regions with open entries");
    ck_assert_uint_eq(nth_kind(&l, KW_WAL_REC_ABANDONED, 0)->region, 8);
    expect_entry(nth_kind(&l, KW_WAL_REC_ENTRY, 5), 6, 8, 5, 2, ABC, 20);
    ck_assert_uint_eq(count_kind(&l, KW_WAL_REC_INCOMPLETE), 1);
    log_free(&l);
    kw__wal_record_asm_free(&a);
}
END_TEST

/*
 * The randomized test.  Writers append random entries (random sizes around
 * the part size) for a few regions; records go out in produce requests of 1-3
 * records.  A request may land twice (the first attempt succeeded but its
 * answer was lost): right after itself, or - kwal's format with several
 * requests in flight and no idempotence - after the next request.  Every
 * entry must come out exactly once, with the offset of its final record's
 * first copy as its id, and nothing may be reported but duplicates (and,
 * for GreptimeDB's Last which has no tag, orphans).
 */
/* The part kind of a test record's key. */
static int rec_kind(const rec *r)
{
    kw_wal_record_key k;
    const char *why;
    ck_assert_int_eq(kw__wal_record_key_decode(r->key, (size_t)r->klen, &k, &why), 0);
    return k.kind;
}

typedef struct want {
    uint64_t region;
    uint8_t *data;
    size_t len;
    int64_t id;
    int seen;
} want_t;

/* What the rounds went through, so the test can show it covered duplicates and torn tails. */
typedef struct round_totals {
    uint64_t entries, multi_part, duplicates, orphans, incomplete, reordered;
} round_totals;

static void randomized_round(int format, uint64_t seed, bool cut_tail, round_totals *t)
{
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    size_t max_part = 1 + rnd() % 16;
    size_t nentries = 1 + rnd() % 60;
    want_t *w = calloc(nentries, sizeof(*w));
    log_t parts = {0};    /* records in write order */
    size_t *owner = NULL; /* entry of each record */
    size_t owner_cap = 0;
    uint64_t tag_base = (uint64_t)rnd() << 32 | rnd();
    for (size_t e = 0; e < nentries; e++) {
        w[e].region = rnd() % 4 == 0 ? UINT64_MAX - rnd() % 2 : rnd() % 3;
        w[e].len = rnd() % (max_part * 4 + 1);
        w[e].data = malloc(w[e].len + 1);
        for (size_t i = 0; i < w[e].len; i++)
            w[e].data[i] = (uint8_t)rnd();
        w[e].id = -1;
        size_t before = parts.n;
        add_entry(&parts, format, w[e].region, tag_base + e, w[e].data, w[e].len, max_part);
        if (parts.n > owner_cap) {
            owner_cap = parts.n * 2;
            owner = realloc(owner, owner_cap * sizeof(*owner));
        }
        for (size_t i = before; i < parts.n; i++)
            owner[i] = e;
    }
    /* the log as the broker stores it */
    log_t l = {0};
    size_t *lowner = NULL;
    size_t lcap = 0;
    size_t pending_from = 0, pending_to = 0;
    bool pending = false;
#define APPEND(i)                                                                                  \
    do {                                                                                           \
        *log_add(&l) = parts.r[i];                                                                 \
        if (l.n > lcap) {                                                                          \
            lcap = l.n * 2;                                                                        \
            lowner = realloc(lowner, lcap * sizeof(*lowner));                                      \
        }                                                                                          \
        lowner[l.n - 1] = owner[i];                                                                \
    } while (0)
    for (size_t i = 0; i < parts.n;) {
        size_t n = 1 + rnd() % 3;
        if (format == KW_WAL_FORMAT_GREPTIMEDB)
            n = 1; /* GreptimeDB's parts are about a batch each: one request per part */
        if (n > parts.n - i)
            n = parts.n - i;
        for (size_t j = i; j < i + n; j++)
            APPEND(j);
        if (pending) { /* the earlier request's second copy, after this one */
            for (size_t j = pending_from; j < pending_to; j++)
                APPEND(j);
            pending = false;
        }
        /* GreptimeDB has no way to tell a FULL landing twice from two entries */
        bool may_dup = format == KW_WAL_FORMAT_KWAL || rec_kind(&parts.r[i]) != KW_WAL_PART_FULL;
        if (may_dup && rnd() % 4 == 0) {
            if (format == KW_WAL_FORMAT_KWAL && rnd() % 2) {
                t->reordered++;
                pending = true;
                pending_from = i;
                pending_to = i + n;
            } else {
                for (size_t j = i; j < i + n; j++)
                    APPEND(j);
            }
        }
        i += n;
    }
    if (pending)
        for (size_t j = pending_from; j < pending_to; j++)
            APPEND(j);
#undef APPEND

    size_t cut = cut_tail ? rnd() % (l.n + 1) : l.n;
    /* expected ids: the first copy of each entry's final record (below the cut) */
    for (size_t i = 0; i < cut; i++) {
        want_t *x = &w[lowner[i]];
        int kind = rec_kind(&l.r[i]);
        if ((kind == KW_WAL_PART_FULL || kind == KW_WAL_PART_LAST) && x->id < 0)
            x->id = (int64_t)i;
    }

    kw_wal_record_asm a;
    kw__wal_record_asm_init(&a, NULL);
    log_t out = {0};
    out.r = l.r;
    out.n = l.n;
    run(&a, &out, 0, cut, 0, true);
    for (size_t i = 0; i < out.nev; i++) {
        const seen *s = &out.ev[i];
        if (s->kind == KW_WAL_REC_ENTRY) {
            ck_assert_int_ge(s->offset, 0);
            want_t *x = &w[lowner[s->offset]];
            ck_assert_msg(x->id == s->offset, "seed %llu: entry id %lld, want %lld",
                          (unsigned long long)seed, (long long)s->offset, (long long)x->id);
            ck_assert_uint_eq(s->region, x->region);
            ck_assert_uint_eq(s->len, x->len);
            ck_assert(x->len == 0 || memcmp(s->data, x->data, x->len) == 0);
            x->seen++;
            t->entries++;
            t->multi_part += s->parts > 1;
        } else if (s->kind == KW_WAL_REC_INCOMPLETE) {
            ck_assert(cut_tail);
        } else {
            ck_assert_msg(s->kind == KW_WAL_REC_DUPLICATE ||
                              (format == KW_WAL_FORMAT_GREPTIMEDB && s->kind == KW_WAL_REC_ORPHAN),
                          "seed %llu: event %d at %lld: %s", (unsigned long long)seed, s->kind,
                          (long long)s->offset, s->why);
        }
    }
    for (size_t e = 0; e < nentries; e++) {
        ck_assert_msg(w[e].seen == (w[e].id >= 0 ? 1 : 0), "seed %llu: entry %zu seen %d times",
                      (unsigned long long)seed, e, w[e].seen);
        free(w[e].data);
    }
    ck_assert_uint_eq(a.stats.buffered_bytes, 0);
    t->duplicates += a.stats.duplicates;
    t->orphans += a.stats.orphans;
    t->incomplete += a.stats.incomplete;
    out.r = NULL;
    log_free(&out);
    log_free(&l);
    log_free(&parts);
    free(owner);
    free(lowner);
    free(w);
    kw__wal_record_asm_free(&a);
}

START_TEST(randomized_split_duplicate_reassemble_exactly_once)
{
    round_totals k = {0}, g = {0}, kt = {0}, gt = {0};
    for (uint64_t seed = 1; seed <= 400; seed++) {
        randomized_round(KW_WAL_FORMAT_KWAL, seed, false, &k);
        randomized_round(KW_WAL_FORMAT_GREPTIMEDB, seed, false, &g);
        randomized_round(KW_WAL_FORMAT_KWAL, seed, true, &kt);
        randomized_round(KW_WAL_FORMAT_GREPTIMEDB, seed, true, &gt);
    }
    /* the rounds did meet what they are meant to: split entries, retries, reorders, torn tails */
    ck_assert_uint_gt(k.multi_part, 1000);
    ck_assert_uint_gt(g.multi_part, 1000);
    ck_assert_uint_gt(k.duplicates, 1000);
    ck_assert_uint_gt(g.duplicates, 1000);
    ck_assert_uint_gt(g.orphans, 100); /* duplicate GreptimeDB Lasts */
    ck_assert_uint_gt(k.reordered, 500);
    ck_assert_uint_eq(k.orphans, 0);
    ck_assert_uint_gt(kt.incomplete, 50);
    ck_assert_uint_gt(gt.incomplete, 50);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("wal record");
    TCase *keys = tcase_create("keys");
    tcase_add_test(keys, greptimedb_keys_are_written_as_serde_json_writes_them);
    tcase_add_test(keys, greptimedb_topic_is_escaped_like_serde_json);
    tcase_add_test(keys, greptimedb_keys_decode_back);
    tcase_add_test(keys, greptimedb_keys_decode_leniently_where_json_allows);
    tcase_add_test(keys, greptimedb_bad_keys_are_refused_with_a_reason);
    tcase_add_test(keys, greptimedb_encode_refuses_what_greptimedb_could_not_write);
    tcase_add_test(keys, kwal_keys_match_the_layout_by_hand);
    tcase_add_test(keys, kwal_bad_keys_are_refused_with_a_reason);
    tcase_add_test(keys, split_follows_greptimedb_chunking);
    suite_add_tcase(s, keys);
    TCase *as = tcase_create("reassembly");
    tcase_add_test(as, a_full_record_is_an_entry_without_copying);
    tcase_add_test(as, split_entries_come_back_whole_with_the_last_offset_as_id);
    tcase_add_test(as, duplicate_parts_from_retried_produces_are_dropped);
    tcase_add_test(as, a_gap_abandons_the_entry_once);
    tcase_add_test(as, a_kwal_last_after_a_lost_middle_is_caught);
    tcase_add_test(as, parts_without_a_first_are_orphans);
    tcase_add_test(as, a_new_first_or_full_abandons_the_open_entry);
    tcase_add_test(as, a_greptimedb_entry_sharing_the_first_part_of_a_torn_one_survives);
    tcase_add_test(as, interleaved_regions_reassemble_independently);
    tcase_add_test(as, an_open_entry_at_the_tail_is_incomplete_not_an_error);
    tcase_add_test(as, noop_records_are_skipped_and_keyless_records_reported);
    tcase_add_test(as, entries_past_the_memory_limits_are_abandoned);
    tcase_add_test(as, randomized_split_duplicate_reassemble_exactly_once);
    tcase_set_timeout(as, 60);
    suite_add_tcase(s, as);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
