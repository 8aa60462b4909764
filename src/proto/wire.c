/* Kafka wire primitives: the bounds-checked reader, the writer and the decode arena. */
#include "wire.h"

#include <stdlib.h>

/* ---- arena ---- */

struct kw_arena_chunk {
    kw_arena_chunk *next;
    max_align_t data[];
};

void kw__arena_init(kw_arena *a, size_t limit)
{
    a->head = NULL;
    a->used = 0;
    a->limit = limit ? limit : (size_t)64 << 20;
}

void *kw__arena_alloc(kw_arena *a, size_t size)
{
    if (size == 0)
        size = 1;
    if (size > a->limit || a->used > a->limit - size)
        return NULL;
    /* One malloc per allocation keeps it simple and lets ASan see every
     * overrun; decoders allocate a handful of arrays per message. */
    kw_arena_chunk *c = calloc(1, sizeof(*c) + size);
    if (!c)
        return NULL;
    c->next = a->head;
    a->head = c;
    a->used += size;
    return c->data;
}

void kw__arena_reset(kw_arena *a)
{
    kw_arena_chunk *c = a->head;
    while (c) {
        kw_arena_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
    a->used = 0;
}

/* ---- reader ---- */

int kw__rd_fail(kw_rd *r, int err)
{
    if (!r->err)
        r->err = err;
    return r->err;
}

static inline const uint8_t *take(kw_rd *r, size_t n)
{
    if (r->err)
        return NULL;
    if ((size_t)(r->end - r->p) < n) {
        r->err = KW_ETRUNCATED;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}

int8_t kw__rd_i8(kw_rd *r)
{
    const uint8_t *p = take(r, 1);
    return p ? (int8_t)p[0] : 0;
}

int16_t kw__rd_i16(kw_rd *r)
{
    const uint8_t *p = take(r, 2);
    return p ? (int16_t)kw_load_be16(p) : 0;
}

uint16_t kw__rd_u16(kw_rd *r)
{
    const uint8_t *p = take(r, 2);
    return p ? kw_load_be16(p) : 0;
}

int32_t kw__rd_i32(kw_rd *r)
{
    const uint8_t *p = take(r, 4);
    return p ? (int32_t)kw_load_be32(p) : 0;
}

uint32_t kw__rd_u32(kw_rd *r)
{
    const uint8_t *p = take(r, 4);
    return p ? kw_load_be32(p) : 0;
}

int64_t kw__rd_i64(kw_rd *r)
{
    const uint8_t *p = take(r, 8);
    return p ? (int64_t)kw_load_be64(p) : 0;
}

double kw__rd_f64(kw_rd *r)
{
    uint64_t u = (uint64_t)kw__rd_i64(r);
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

bool kw__rd_bool(kw_rd *r)
{
    const uint8_t *p = take(r, 1);
    return p && p[0] != 0;
}

kw_uuid kw__rd_uuid(kw_rd *r)
{
    kw_uuid u = {{0}};
    const uint8_t *p = take(r, 16);
    if (p)
        memcpy(u.b, p, 16);
    return u;
}

/* LEB128 with at most `maxbytes` bytes; a longer run is malformed. */
static uint64_t rd_leb(kw_rd *r, int maxbytes)
{
    uint64_t v = 0;
    for (int i = 0; i < maxbytes; i++) {
        const uint8_t *p = take(r, 1);
        if (!p)
            return 0;
        v |= (uint64_t)(p[0] & 0x7f) << (7 * i);
        if (!(p[0] & 0x80))
            return v;
    }
    kw__rd_fail(r, KW_EMALFORMED);
    return 0;
}

uint32_t kw__rd_uvarint(kw_rd *r)
{
    uint64_t v = rd_leb(r, 5);
    if (v > UINT32_MAX) {
        kw__rd_fail(r, KW_EMALFORMED);
        return 0;
    }
    return (uint32_t)v;
}

int32_t kw__rd_varint(kw_rd *r)
{
    uint64_t v = rd_leb(r, 5);
    if (v > UINT32_MAX) {
        kw__rd_fail(r, KW_EMALFORMED);
        return 0;
    }
    uint32_t u = (uint32_t)v;
    return (int32_t)((u >> 1) ^ (~(u & 1) + 1));
}

int64_t kw__rd_varlong(kw_rd *r)
{
    uint64_t u = rd_leb(r, 10);
    return (int64_t)((u >> 1) ^ (~(u & 1) + 1));
}

const uint8_t *kw__rd_raw(kw_rd *r, size_t n)
{
    return take(r, n);
}

void kw__rd_skip(kw_rd *r, size_t n)
{
    (void)take(r, n);
}

/* A length: classic int16/int32 with -1 for null, or compact uvarint len+1 with 0 for null. */
static int64_t rd_len(kw_rd *r, bool compact, bool wide)
{
    if (compact) {
        int64_t n = (int64_t)kw__rd_uvarint(r) - 1;
        if (n > INT32_MAX) {
            kw__rd_fail(r, KW_EMALFORMED);
            return 0;
        }
        return n;
    }
    return wide ? kw__rd_i32(r) : kw__rd_i16(r);
}

kw_str kw__rd_str(kw_rd *r, bool compact, bool nullable)
{
    int64_t n = rd_len(r, compact, false);
    if (r->err)
        return KW_STR_NULL;
    if (n < 0) {
        if (n != -1 || !nullable)
            kw__rd_fail(r, KW_EMALFORMED);
        return KW_STR_NULL;
    }
    const uint8_t *p = take(r, (size_t)n);
    return p ? (kw_str){(const char *)p, (int32_t)n} : KW_STR_NULL;
}

kw_bytes kw__rd_bytes(kw_rd *r, bool compact, bool nullable)
{
    int64_t n = rd_len(r, compact, true);
    if (r->err)
        return KW_BYTES_NULL;
    if (n < 0) {
        if (n != -1 || !nullable)
            kw__rd_fail(r, KW_EMALFORMED);
        return KW_BYTES_NULL;
    }
    const uint8_t *p = take(r, (size_t)n);
    return p ? (kw_bytes){p, (int32_t)n} : KW_BYTES_NULL;
}

int32_t kw__rd_count(kw_rd *r, bool compact, bool nullable, size_t min_elem)
{
    int64_t n = rd_len(r, compact, true);
    if (r->err)
        return 0;
    if (n < 0) {
        if (n != -1 || !nullable)
            kw__rd_fail(r, KW_EMALFORMED);
        return -1;
    }
    /* Every element takes at least min_elem bytes: a count the remaining
     * input cannot hold is rejected before anything is allocated for it. */
    if (min_elem && (uint64_t)n > (uint64_t)(r->end - r->p) / min_elem) {
        kw__rd_fail(r, KW_ETRUNCATED);
        return 0;
    }
    return (int32_t)n;
}

/* ---- writer ---- */

void kw__wr_init(kw_wr *w)
{
    memset(w, 0, sizeof(*w));
}

void kw__wr_init_fixed(kw_wr *w, void *buf, size_t cap)
{
    memset(w, 0, sizeof(*w));
    w->buf = buf;
    w->cap = cap;
    w->fixed = true;
}

void kw__wr_free(kw_wr *w)
{
    if (!w->fixed)
        free(w->buf);
    free(w->refs);
    memset(w, 0, sizeof(*w));
}

uint8_t *kw__wr_reserve(kw_wr *w, size_t n)
{
    if (w->err)
        return NULL;
    /* An empty writer gets its first buffer even for n == 0, so the pointer
     * returned is never NULL + 0 (undefined behaviour) on success. */
    if (w->cap - w->len < n || !w->buf) {
        if (w->fixed) {
            w->err = KW_ETOOBIG;
            return NULL;
        }
        size_t cap = w->cap ? w->cap : 256;
        while (cap - w->len < n) {
            if (cap > SIZE_MAX / 2) {
                w->err = KW_ENOMEM;
                return NULL;
            }
            cap *= 2;
        }
        uint8_t *b = realloc(w->buf, cap);
        if (!b) {
            w->err = KW_ENOMEM;
            return NULL;
        }
        w->buf = b;
        w->cap = cap;
    }
    uint8_t *p = w->buf + w->len;
    w->len += n;
    return p;
}

void kw__wr_raw(kw_wr *w, const void *src, size_t n)
{
    uint8_t *p = kw__wr_reserve(w, n);
    if (p && n)
        memcpy(p, src, n);
}

void kw__wr_i8(kw_wr *w, int8_t v)
{
    uint8_t *p = kw__wr_reserve(w, 1);
    if (p)
        p[0] = (uint8_t)v;
}

void kw__wr_i16(kw_wr *w, int16_t v)
{
    uint8_t *p = kw__wr_reserve(w, 2);
    if (p)
        kw_store_be16(p, (uint16_t)v);
}

void kw__wr_u16(kw_wr *w, uint16_t v)
{
    uint8_t *p = kw__wr_reserve(w, 2);
    if (p)
        kw_store_be16(p, v);
}

void kw__wr_i32(kw_wr *w, int32_t v)
{
    uint8_t *p = kw__wr_reserve(w, 4);
    if (p)
        kw_store_be32(p, (uint32_t)v);
}

void kw__wr_u32(kw_wr *w, uint32_t v)
{
    uint8_t *p = kw__wr_reserve(w, 4);
    if (p)
        kw_store_be32(p, v);
}

void kw__wr_i64(kw_wr *w, int64_t v)
{
    uint8_t *p = kw__wr_reserve(w, 8);
    if (p)
        kw_store_be64(p, (uint64_t)v);
}

void kw__wr_f64(kw_wr *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    kw__wr_i64(w, (int64_t)u);
}

void kw__wr_bool(kw_wr *w, bool v)
{
    kw__wr_i8(w, v ? 1 : 0);
}

void kw__wr_uuid(kw_wr *w, kw_uuid v)
{
    kw__wr_raw(w, v.b, 16);
}

static void wr_leb(kw_wr *w, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    kw__wr_raw(w, tmp, n);
}

void kw__wr_uvarint(kw_wr *w, uint32_t v)
{
    wr_leb(w, v);
}

void kw__wr_varint(kw_wr *w, int32_t v)
{
    wr_leb(w, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

void kw__wr_varlong(kw_wr *w, int64_t v)
{
    wr_leb(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void wr_len(kw_wr *w, int32_t n, bool compact, bool wide)
{
    if (compact)
        kw__wr_uvarint(w, (uint32_t)(n + 1));
    else if (wide)
        kw__wr_i32(w, n);
    else
        kw__wr_i16(w, (int16_t)n);
}

void kw__wr_str(kw_wr *w, kw_str s, bool compact)
{
    if (!s.ptr && s.len > 0) { /* a length with nothing behind it is a caller bug */
        if (!w->err)
            w->err = KW_EINVAL;
        return;
    }
    if (s.len < 0) {
        wr_len(w, -1, compact, false);
        return;
    }
    if (s.len > INT16_MAX) {
        if (!w->err)
            w->err = KW_ETOOBIG;
        return;
    }
    wr_len(w, s.len, compact, false);
    kw__wr_raw(w, s.ptr, (size_t)s.len);
}

void kw__wr_bytes(kw_wr *w, kw_bytes b, bool compact)
{
    if (!b.ptr && b.len > 0) {
        if (!w->err)
            w->err = KW_EINVAL;
        return;
    }
    if (b.len < 0) {
        wr_len(w, -1, compact, true);
        return;
    }
    wr_len(w, b.len, compact, true);
    kw__wr_raw(w, b.ptr, (size_t)b.len);
}

void kw__wr_refer_records(kw_wr *w, size_t min_len)
{
    w->refer_min = min_len ? min_len : 1;
}

void kw__wr_records(kw_wr *w, kw_bytes b, bool compact)
{
    if (!w->refer_min || b.len < 0 || (size_t)b.len < w->refer_min || !b.ptr) {
        kw__wr_bytes(w, b, compact);
        return;
    }
    wr_len(w, b.len, compact, true);
    if (w->err)
        return;
    if (w->nrefs == w->refs_cap) {
        size_t cap = w->refs_cap ? w->refs_cap * 2 : 8;
        kw_wr_ref *r = realloc(w->refs, cap * sizeof(*r));
        if (!r) {
            w->err = KW_ENOMEM;
            return;
        }
        w->refs = r;
        w->refs_cap = cap;
    }
    w->refs[w->nrefs++] = (kw_wr_ref){.at = w->len, .ptr = b.ptr, .len = (size_t)b.len};
    w->refs_len += (size_t)b.len;
}

size_t kw__wr_pieces(const kw_wr *w, struct iovec *out, size_t max)
{
    size_t n = 0, from = 0;
    for (size_t i = 0; i <= w->nrefs; i++) {
        size_t to = i < w->nrefs ? w->refs[i].at : w->len;
        if (to > from) {
            if (n < max)
                out[n] = (struct iovec){.iov_base = w->buf + from, .iov_len = to - from};
            n++;
        }
        from = to;
        if (i < w->nrefs) {
            if (n < max)
                out[n] = (struct iovec){.iov_base = (void *)w->refs[i].ptr,
                                        .iov_len = w->refs[i].len};
            n++;
        }
    }
    return n;
}

void kw__wr_count(kw_wr *w, int32_t n, bool compact)
{
    wr_len(w, n < 0 ? -1 : n, compact, true);
}

void kw__wr_put_i32_at(kw_wr *w, size_t off, int32_t v)
{
    if (!w->err && off + 4 <= w->len)
        kw_store_be32(w->buf + off, (uint32_t)v);
}

size_t kw__uvarint_size(uint32_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t kw__varint_size(int32_t v)
{
    return kw__uvarint_size(((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

size_t kw__varlong_size(int64_t v)
{
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 1;
    while (u >= 0x80) {
        u >>= 7;
        n++;
    }
    return n;
}

void kw__uuid_format(kw_uuid id, char out[23])
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < 16; i += 3) {
        uint32_t v = (uint32_t)id.b[i] << 16;
        if (i + 1 < 16)
            v |= (uint32_t)id.b[i + 1] << 8;
        if (i + 2 < 16)
            v |= id.b[i + 2];
        size_t chars = i + 2 < 16 ? 4 : i + 1 < 16 ? 3 : 2;
        for (size_t k = 0; k < chars; k++)
            out[o++] = abc[(v >> (18 - 6 * k)) & 63];
    }
    out[o] = '\0';
}
