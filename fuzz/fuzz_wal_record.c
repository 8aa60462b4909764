/* libFuzzer target for the WAL record format: both key decoders, and the reassembler fed fuzzed
 * records. */
#include <stdlib.h>
#include <string.h>

#include "wal/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decodes the input as a key; what decodes must encode back to a key that decodes the same. */
static void keys(const uint8_t *data, size_t size)
{
    kw_wal_record_key k, k2;
    const char *why = NULL;
    (void)kw__wal_record_key_decode_kwal(data, size, &k, &why);
    (void)kw__wal_record_key_decode_greptimedb(data, size, &k, &why);
    int rc = kw__wal_record_key_decode(data, size, &k, &why);
    if (rc != 0) {
        if (!why)
            abort();
        return;
    }
    uint8_t out[KW_WAL_RECORD_KEY_MAX];
    char topic[KW_WAL_RECORD_KEY_MAX];
    if (k.format == KW_WAL_FORMAT_GREPTIMEDB) {
        /* the canonical form of the same key (when its topic fits GreptimeDB's limit) */
        int tl = kw__wal_record_topic_unescape(&k, topic, sizeof(topic));
        if (tl < 0)
            return;
        k.topic = (kw_str){topic, tl};
    }
    int n = kw__wal_record_key_encode(&k, out, sizeof(out));
    if (n == KW_ETOOBIG && k.format == KW_WAL_FORMAT_GREPTIMEDB)
        return;
    if (n <= 0)
        abort(); /* a decoded key is always a valid part */
    if (kw__wal_record_key_decode(out, (size_t)n, &k2, &why) != 0)
        abort();
    if (k2.format != k.format || k2.kind != k.kind || k2.region_id != k.region_id ||
        k2.index != k.index || k2.tag != k.tag || k2.total_parts != k.total_parts ||
        k2.entry_len != k.entry_len || k2.entry_id != k.entry_id || k2.codec != k.codec ||
        k2.raw_len != k.raw_len)
        abort();
    if (k.format == KW_WAL_FORMAT_KWAL && ((size_t)n != size || memcmp(out, data, size) != 0))
        abort(); /* kwal keys have one encoding only */
}

/* A byte reader over the fuzz input that yields zeros once it runs out. */
typedef struct src {
    const uint8_t *p, *end;
} src;

static uint8_t byte(src *s)
{
    return s->p < s->end ? *s->p++ : 0;
}

static const uint8_t *take(src *s, size_t *n)
{
    size_t left = (size_t)(s->end - s->p);
    if (*n > left)
        *n = left;
    const uint8_t *r = s->p;
    s->p += *n;
    return r;
}

/*
 * Input after the first byte (options): records, each
 *   u8 flags: bit0 null key, bit1 null value, bit2 raw key (else built from
 *             fields), bit3 GreptimeDB format for a built key, bit4 a built
 *             kwal FULL/FIRST key says its entry is LZ4 (version 2 key)
 *   raw key:   u8 length, bytes
 *   built key: u8 kind (1-4), u8 region, u8 index, u8 tag, u8 parts, u8 length,
 *              with bit4 also u8 decompressed length
 *   u8 value length, bytes
 * Built keys let the fuzzer reach deep reassembly states without first
 * discovering valid JSON; raw keys keep the decoders in the loop.
 */
static void reassemble(const uint8_t *data, size_t size)
{
    src s = {data, data + size};
    uint8_t opt = byte(&s);
    kw_wal_record_asm_options o = {
        .max_entry_bytes = 64 + (size_t)(opt & 0x0f) * 64,
        .max_buffered_bytes = (opt & 0x10) ? 300 : 0,
        .max_regions = (opt & 0x20) ? 3 : 0,
        .only_region = (opt & 0x40) != 0,
        .region_id = 1,
        .strict = (opt & 0x80) != 0,
    };
    kw_wal_record_asm a;
    kw__wal_record_asm_init(&a, &o);
    int64_t offset = 0;
    while (s.p < s.end) {
        uint8_t f = byte(&s);
        uint8_t key[KW_WAL_RECORD_KEY_MAX];
        const uint8_t *kp = key;
        size_t klen = 0;
        if (f & 4) {
            klen = byte(&s);
            kp = take(&s, &klen);
        } else {
            kw_wal_record_key k = {
                .format = (f & 8) ? KW_WAL_FORMAT_GREPTIMEDB : KW_WAL_FORMAT_KWAL,
                .kind = 1 + byte(&s) % 4,
                .region_id = byte(&s) % 4,
                .index = byte(&s),
                .tag = byte(&s) % 8,
                .total_parts = byte(&s),
                .entry_len = byte(&s),
                .topic = {"", 0},
            };
            if (k.kind == KW_WAL_PART_FULL || k.kind == KW_WAL_PART_FIRST)
                k.index = 0;
            else if (k.index == 0)
                k.index = 1;
            if (k.format == KW_WAL_FORMAT_GREPTIMEDB && k.kind == KW_WAL_PART_LAST)
                k.index = KW_WAL_PART_INDEX_NONE;
            if (f & 16) {
                uint8_t raw = byte(&s);
                if (k.format == KW_WAL_FORMAT_KWAL &&
                    (k.kind == KW_WAL_PART_FULL || k.kind == KW_WAL_PART_FIRST)) {
                    k.codec = KW_WAL_CODEC_LZ4;
                    k.raw_len = raw;
                }
            }
            int n = kw__wal_record_key_encode(&k, key, sizeof(key));
            klen = n > 0 ? (size_t)n : 0;
        }
        size_t vlen = byte(&s);
        const uint8_t *v = take(&s, &vlen);
        int rc = kw__wal_record_asm_feed(&a, offset++, (f & 1) ? NULL : kp, klen,
                                         (f & 2) ? NULL : (v ? v : (const uint8_t *)""), vlen);
        if (rc != 0 && rc != KW_EMALFORMED && rc != KW_ENOMEM)
            abort();
        kw_wal_record_event ev;
        while (kw__wal_record_asm_next(&a, &ev)) {
            if (ev.kind == KW_WAL_REC_ENTRY) {
                if ((ev.parts > 1 || ev.data == a.plain) && ev.len > o.max_entry_bytes)
                    abort();
                if (ev.len && !ev.data)
                    abort();
                volatile uint8_t sink = 0;
                for (size_t i = 0; i < ev.len; i++)
                    sink ^= ev.data[i]; /* the bytes are readable */
                (void)sink;
            } else if (!ev.why || ev.kind < KW_WAL_REC_BAD || ev.kind > KW_WAL_REC_INCOMPLETE) {
                abort();
            }
        }
        if (a.stats.buffered_bytes >
            (o.max_buffered_bytes ? o.max_buffered_bytes : (size_t)256 << 20))
            abort();
    }
    kw__wal_record_asm_finish(&a);
    kw_wal_record_event ev;
    while (kw__wal_record_asm_next(&a, &ev))
        ;
    if (a.stats.buffered_bytes != 0)
        abort();
    kw__wal_record_asm_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 16))
        return 0;
    keys(data, size);
    reassemble(data, size);
    return 0;
}
