/* WAL record keys: kwal's binary key (encode, decode) and the choice between it and GreptimeDB's JSON. */
#include <string.h>

#include "record.h"

static bool kind_valid(int kind)
{
    return kind >= KW_WAL_PART_FULL && kind <= KW_WAL_PART_LAST;
}

/* The index rules both formats share: FULL/FIRST 0, MIDDLE from 1, LAST from 1 (or unknown). */
bool kw__wal_record_part_valid(int kind, uint32_t index)
{
    if (!kind_valid(kind))
        return false;
    switch (kind) {
    case KW_WAL_PART_FULL:
    case KW_WAL_PART_FIRST:
        return index == 0;
    case KW_WAL_PART_MIDDLE:
        return index >= 1 && index != KW_WAL_PART_INDEX_NONE;
    default:
        return index >= 1;
    }
}

static int encode_kwal(const kw_wal_record_key *k, uint8_t *out, size_t cap)
{
    if (!kw__wal_record_part_valid(k->kind, k->index) || k->index == KW_WAL_PART_INDEX_NONE)
        return KW_EINVAL;
    bool first = k->kind == KW_WAL_PART_FIRST;
    if (first && (k->total_parts < 2 || k->total_parts == KW_WAL_PART_INDEX_NONE ||
                  k->entry_len < k->total_parts))
        return KW_EINVAL;
    bool coded = k->codec != KW_WAL_CODEC_RAW;
    if (coded && (k->codec != KW_WAL_CODEC_LZ4 || k->raw_len == 0 ||
                  (k->kind != KW_WAL_PART_FULL && !first)))
        return KW_EINVAL;
    size_t n = first ? KW_WAL_RECORD_KWAL_FIRST_KEY_LEN : KW_WAL_RECORD_KWAL_KEY_LEN;
    if (cap < n + (coded ? KW_WAL_RECORD_KWAL_CODEC_LEN : 0))
        return KW_ETOOBIG;
    out[0] = coded ? KW_WAL_RECORD_KWAL_VERSION_CODEC : KW_WAL_RECORD_KWAL_VERSION;
    kw_store_be64(out + 1, k->region_id);
    out[9] = (uint8_t)k->kind;
    kw_store_be32(out + 10, k->index);
    kw_store_be64(out + 14, k->tag);
    if (first) {
        kw_store_be32(out + 22, k->total_parts);
        kw_store_be64(out + 26, k->entry_len);
    }
    if (coded) {
        out[n] = (uint8_t)k->codec;
        kw_store_be64(out + n + 1, k->raw_len);
        n += KW_WAL_RECORD_KWAL_CODEC_LEN;
    }
    return (int)n;
}

static int fail(const char **why, const char *text, int err)
{
    if (why)
        *why = text;
    return err;
}

int kw__wal_record_key_decode_kwal(const uint8_t *key, size_t len, kw_wal_record_key *out,
                                   const char **why)
{
    memset(out, 0, sizeof(*out));
    out->format = KW_WAL_FORMAT_KWAL;
    out->topic = (kw_str){"", 0};
    if (len == 0)
        return fail(why, "empty key", KW_ETRUNCATED);
    if (key[0] != KW_WAL_RECORD_KWAL_VERSION && key[0] != KW_WAL_RECORD_KWAL_VERSION_CODEC)
        return fail(why, "unknown kwal key version", KW_EUNSUPPORTED);
    if (len < KW_WAL_RECORD_KWAL_KEY_LEN)
        return fail(why, "kwal key cut short", KW_ETRUNCATED);
    out->region_id = kw_load_be64(key + 1);
    out->kind = key[9];
    out->index = kw_load_be32(key + 10);
    out->tag = kw_load_be64(key + 14);
    if (!kind_valid(out->kind))
        return fail(why, "kwal key: unknown part kind", KW_EMALFORMED);
    if (!kw__wal_record_part_valid(out->kind, out->index) || out->index == KW_WAL_PART_INDEX_NONE)
        return fail(why, "kwal key: part index does not fit the part kind", KW_EMALFORMED);
    size_t want = KW_WAL_RECORD_KWAL_KEY_LEN;
    if (out->kind == KW_WAL_PART_FIRST) {
        want = KW_WAL_RECORD_KWAL_FIRST_KEY_LEN;
        if (len < want)
            return fail(why, "kwal FIRST key cut short", KW_ETRUNCATED);
        out->total_parts = kw_load_be32(key + 22);
        out->entry_len = kw_load_be64(key + 26);
        if (out->total_parts < 2 || out->total_parts == KW_WAL_PART_INDEX_NONE)
            return fail(why, "kwal FIRST key: fewer than 2 parts", KW_EMALFORMED);
        /* every part of a split entry holds at least one byte */
        if (out->entry_len < out->total_parts)
            return fail(why, "kwal FIRST key: fewer bytes than parts", KW_EMALFORMED);
    }
    if (key[0] == KW_WAL_RECORD_KWAL_VERSION_CODEC) {
        if (out->kind != KW_WAL_PART_FULL && out->kind != KW_WAL_PART_FIRST)
            return fail(why, "kwal key version 2 on a MIDDLE or LAST part", KW_EMALFORMED);
        if (len < want + KW_WAL_RECORD_KWAL_CODEC_LEN)
            return fail(why, "kwal key version 2 cut short", KW_ETRUNCATED);
        out->codec = key[want];
        out->raw_len = kw_load_be64(key + want + 1);
        if (out->codec != KW_WAL_CODEC_LZ4)
            return fail(why, "kwal key: unknown entry codec", KW_EUNSUPPORTED);
        if (out->raw_len == 0)
            return fail(why, "kwal key: compressed entry of 0 bytes", KW_EMALFORMED);
        want += KW_WAL_RECORD_KWAL_CODEC_LEN;
    }
    if (len != want)
        return fail(why, "kwal key: trailing bytes", KW_EMALFORMED);
    return 0;
}

int kw__wal_record_key_decode(const uint8_t *key, size_t len, kw_wal_record_key *out,
                              const char **why)
{
    if (len > 0 &&
        (key[0] == KW_WAL_RECORD_KWAL_VERSION || key[0] == KW_WAL_RECORD_KWAL_VERSION_CODEC))
        return kw__wal_record_key_decode_kwal(key, len, out, why);
    if (len > 0 &&
        (key[0] == '{' || key[0] == ' ' || key[0] == '\t' || key[0] == '\n' || key[0] == '\r'))
        return kw__wal_record_key_decode_greptimedb(key, len, out, why);
    memset(out, 0, sizeof(*out));
    out->topic = (kw_str){"", 0};
    if (len == 0)
        return fail(why, "empty key", KW_ETRUNCATED);
    if (key[0] < 0x20)
        return fail(why, "unknown kwal key version", KW_EUNSUPPORTED);
    return fail(why, "key is neither a kwal key nor GreptimeDB JSON", KW_EMALFORMED);
}

int kw__wal_record_key_encode(const kw_wal_record_key *k, uint8_t *out, size_t cap)
{
    if (k->format == KW_WAL_FORMAT_KWAL)
        return encode_kwal(k, out, cap);
    if (k->format == KW_WAL_FORMAT_GREPTIMEDB)
        return kw__wal_record_key_encode_greptimedb(k, out, cap);
    return KW_EINVAL;
}
