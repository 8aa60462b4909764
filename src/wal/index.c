/* The WAL index record's codec and the writer's range list (pure: no I/O). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kwal/error.h"
#include "wal/index.h"

static const uint8_t MAGIC[4] = {'K', 'W', 'I', 'X'};
#define VERSION 1

int kw__wal_index_key(char *buf, const char *topic, uint64_t region_id)
{
    size_t tl = strlen(topic);
    if (tl == 0 || tl > KW_WAL_INDEX_TOPIC_MAX)
        return -1;
    return snprintf(buf, KW_WAL_INDEX_KEY_MAX, "kwix/%s/%llu", topic,
                    (unsigned long long)region_id);
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

int kw__wal_index_encode(const kw_wal_index_record *rec, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (rec->topic_len == 0 || rec->topic_len > KW_WAL_INDEX_TOPIC_MAX || rec->valid_from < 0 ||
        rec->covered < rec->valid_from || rec->n > KW_WAL_INDEX_MAX_RANGES)
        return KW_EINVAL;
    int64_t prev = rec->valid_from;
    for (size_t i = 0; i < rec->n; i++) {
        const kw_wal_index_range *r = &rec->ranges[i];
        if (r->start < prev || r->end <= r->start || r->end > rec->covered)
            return KW_EINVAL;
        prev = r->end;
    }
    size_t cap = 4 + 1 + 2 + rec->topic_len + 8 + 3 * 10 + rec->n * 30;
    uint8_t *p = malloc(cap);
    if (!p)
        return KW_ENOMEM;
    size_t n = 0;
    memcpy(p, MAGIC, 4);
    n = 4;
    p[n++] = VERSION;
    p[n++] = (uint8_t)(rec->topic_len >> 8);
    p[n++] = (uint8_t)rec->topic_len;
    memcpy(p + n, rec->topic, rec->topic_len);
    n += rec->topic_len;
    for (int s = 56; s >= 0; s -= 8)
        p[n++] = (uint8_t)(rec->region_id >> s);
    n += put_varint(p + n, (uint64_t)rec->valid_from);
    n += put_varint(p + n, (uint64_t)(rec->covered - rec->valid_from));
    n += put_varint(p + n, rec->n);
    prev = rec->valid_from;
    for (size_t i = 0; i < rec->n; i++) {
        const kw_wal_index_range *r = &rec->ranges[i];
        n += put_varint(p + n, (uint64_t)(r->start - prev));
        n += put_varint(p + n, (uint64_t)(r->end - r->start));
        n += put_varint(p + n, r->bytes);
        prev = r->end;
    }
    *out = p;
    *len = n;
    return 0;
}

/* An unsigned varint of at most 63 bits (offsets are non-negative int64). */
static bool get_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*pos >= len)
            return false;
        uint8_t b = buf[(*pos)++];
        if (shift == 63 && b > 1)
            return false;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return x <= (uint64_t)INT64_MAX;
        }
    }
    return false;
}

int kw__wal_index_decode(const uint8_t *buf, size_t len, kw_wal_index_record *rec,
                         const char **why)
{
    memset(rec, 0, sizeof(*rec));
    size_t pos = 0;
    if (len < 7 || memcmp(buf, MAGIC, 4) != 0) {
        *why = len < 7 ? "index record: shorter than its header" : "index record: bad magic";
        return KW_EMALFORMED;
    }
    if (buf[4] != VERSION) {
        *why = "index record: unknown version";
        return KW_EMALFORMED;
    }
    size_t tl = (size_t)buf[5] << 8 | buf[6];
    pos = 7;
    if (tl == 0 || tl > KW_WAL_INDEX_TOPIC_MAX) {
        *why = "index record: topic length outside 1..249";
        return KW_EMALFORMED;
    }
    if (len - pos < tl + 8) {
        *why = "index record: truncated in the topic or region id";
        return KW_EMALFORMED;
    }
    rec->topic = (const char *)buf + pos;
    rec->topic_len = tl;
    pos += tl;
    for (int i = 0; i < 8; i++)
        rec->region_id = rec->region_id << 8 | buf[pos++];
    uint64_t vf, span, n;
    if (!get_varint(buf, len, &pos, &vf) || !get_varint(buf, len, &pos, &span) ||
        !get_varint(buf, len, &pos, &n)) {
        *why = "index record: truncated or overlong varint in the header";
        return KW_EMALFORMED;
    }
    if (span > (uint64_t)INT64_MAX - vf) {
        *why = "index record: covered offset past 2^63";
        return KW_EMALFORMED;
    }
    rec->valid_from = (int64_t)vf;
    rec->covered = (int64_t)(vf + span);
    /* each range takes at least 3 bytes: a count larger than that cannot be honest */
    if (n > KW_WAL_INDEX_MAX_RANGES || n > (len - pos) / 3) {
        *why = "index record: range count larger than the record holds";
        return KW_EMALFORMED;
    }
    if (n > 0 && !(rec->ranges = calloc(n, sizeof(*rec->ranges))))
        return KW_ENOMEM;
    int64_t prev = rec->valid_from;
    for (size_t i = 0; i < n; i++) {
        uint64_t gap, width, bytes;
        if (!get_varint(buf, len, &pos, &gap) || !get_varint(buf, len, &pos, &width) ||
            !get_varint(buf, len, &pos, &bytes)) {
            *why = "index record: truncated or overlong varint in a range";
            goto bad;
        }
        if (width == 0 || gap > (uint64_t)(rec->covered - prev) ||
            width > (uint64_t)(rec->covered - prev) - gap) {
            *why = "index record: a range is empty or outside [valid_from, covered)";
            goto bad;
        }
        rec->ranges[i].start = prev + (int64_t)gap;
        rec->ranges[i].end = rec->ranges[i].start + (int64_t)width;
        rec->ranges[i].bytes = bytes;
        prev = rec->ranges[i].end;
    }
    rec->n = n;
    if (pos != len) {
        *why = "index record: bytes after the last range";
        goto bad;
    }
    return 0;
bad:
    free(rec->ranges);
    rec->ranges = NULL;
    rec->n = 0;
    return KW_EMALFORMED;
}

int kw__wal_index_list_add(kw_wal_index_list *l, int64_t start, int64_t end, uint64_t bytes)
{
    if (l->n > 0 && start <= l->v[l->n - 1].end) {
        kw_wal_index_range *last = &l->v[l->n - 1];
        if (end > last->end)
            last->end = end;
        last->bytes += bytes;
        return 0;
    }
    if (l->n == KW_WAL_INDEX_MAX_RANGES) {
        /* join the closest pair: a wider range only costs a larger fetch */
        size_t best = 0;
        for (size_t i = 1; i + 1 < l->n; i++)
            if (l->v[i + 1].start - l->v[i].end < l->v[best + 1].start - l->v[best].end)
                best = i;
        l->v[best].end = l->v[best + 1].end;
        l->v[best].bytes = 0; /* the gap's size is not known */
        memmove(&l->v[best + 1], &l->v[best + 2], (l->n - best - 2) * sizeof(*l->v));
        l->n--;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        kw_wal_index_range *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return KW_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (kw_wal_index_range){start, end, bytes};
    return 0;
}

void kw__wal_index_list_drop_below(kw_wal_index_list *l, int64_t below)
{
    size_t i = 0;
    while (i < l->n && l->v[i].end <= below)
        i++;
    if (i > 0) {
        memmove(l->v, l->v + i, (l->n - i) * sizeof(*l->v));
        l->n -= i;
    }
}

void kw__wal_index_list_free(kw_wal_index_list *l)
{
    free(l->v);
    *l = (kw_wal_index_list){0};
}
