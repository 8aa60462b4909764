/* Kafka wire primitives: bounds-checked reader, growable writer, and the decode arena. */
#ifndef KW_PROTO_WIRE_H
#define KW_PROTO_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "kwal/error.h"

/*
 * A string or byte string as it sits in a message.  Decoded values point into
 * the buffer that was decoded (nothing is copied), so they are not
 * NUL-terminated.  len == -1 means null.
 */
typedef struct kw_str {
    const char *ptr;
    int32_t len;
} kw_str;

typedef struct kw_bytes {
    const uint8_t *ptr;
    int32_t len;
} kw_bytes;

typedef struct kw_uuid {
    uint8_t b[16];
} kw_uuid;

#define KW_STR_NULL ((kw_str){NULL, -1})
#define KW_BYTES_NULL ((kw_bytes){NULL, -1})
/* A kw_str for a C string literal or a NUL-terminated string (NULL stays null). */
static inline kw_str kw_str_c(const char *s)
{
    return s ? (kw_str){s, (int32_t)strlen(s)} : KW_STR_NULL;
}
static inline bool kw_uuid_eq(kw_uuid a, kw_uuid b)
{
    return memcmp(a.b, b.b, sizeof(a.b)) == 0;
}
static inline bool kw_uuid_is_zero(kw_uuid a)
{
    static const kw_uuid zero;
    return kw_uuid_eq(a, zero);
}
/* Kafka's text form of a topic id: URL-safe base64 without padding (22 characters + NUL). */
void kw__uuid_format(kw_uuid id, char out[23]);
static inline bool kw_str_eq(kw_str a, const char *b)
{
    if (!b)
        return a.len < 0;
    size_t n = strlen(b);
    return a.len >= 0 && (size_t)a.len == n && memcmp(a.ptr, b, n) == 0;
}

/*
 * An array inside a decoded or to-be-encoded message: v points to n
 * elements; n == -1 means a null array.  Every KW_ARRAY(T) has this layout so
 * the codec can treat them alike.
 */
#define KW_ARRAY(T)  \
    struct {         \
        T *v;        \
        int32_t n;   \
    }
typedef KW_ARRAY(void) kw_array;

/*
 * The arena every decoder allocates from.  The caller creates it with a byte
 * limit, decodes as many messages as it likes, and frees everything at once;
 * a decoder never allocates anywhere else.  A hostile count can therefore
 * never take more than `limit` bytes.
 */
typedef struct kw_arena_chunk kw_arena_chunk;
typedef struct kw_arena {
    kw_arena_chunk *head;
    size_t used;  /* bytes handed out, for the limit */
    size_t limit; /* 0 = 64 MiB */
} kw_arena;

void kw__arena_init(kw_arena *a, size_t limit);
/* Zeroed memory aligned for any type, or NULL when the limit or malloc says no. */
void *kw__arena_alloc(kw_arena *a, size_t size);
/* Frees every chunk; the arena can be used again. */
void kw__arena_reset(kw_arena *a);

/*
 * Reader over caller memory.  The first error sticks: later reads return
 * zero values, and the caller checks `err` once at the end.
 */
typedef struct kw_rd {
    const uint8_t *p;
    const uint8_t *end;
    int err;
} kw_rd;

static inline kw_rd kw_rd_init(const void *buf, size_t len)
{
    return (kw_rd){(const uint8_t *)buf, (const uint8_t *)buf + len, 0};
}
static inline size_t kw_rd_left(const kw_rd *r)
{
    return r->err ? 0 : (size_t)(r->end - r->p);
}

int8_t kw__rd_i8(kw_rd *r);
int16_t kw__rd_i16(kw_rd *r);
uint16_t kw__rd_u16(kw_rd *r);
int32_t kw__rd_i32(kw_rd *r);
uint32_t kw__rd_u32(kw_rd *r);
int64_t kw__rd_i64(kw_rd *r);
double kw__rd_f64(kw_rd *r);
bool kw__rd_bool(kw_rd *r);
kw_uuid kw__rd_uuid(kw_rd *r);
/* Unsigned LEB128 of at most 5 bytes (compact lengths, tags). */
uint32_t kw__rd_uvarint(kw_rd *r);
/* Zigzag varint (5 bytes) and varlong (10 bytes), as in records. */
int32_t kw__rd_varint(kw_rd *r);
int64_t kw__rd_varlong(kw_rd *r);
/* n raw bytes, returned in place; NULL on error. */
const uint8_t *kw__rd_raw(kw_rd *r, size_t n);
void kw__rd_skip(kw_rd *r, size_t n);
/* Length-prefixed strings and bytes; compact = unsigned varint of len+1. */
kw_str kw__rd_str(kw_rd *r, bool compact, bool nullable);
kw_bytes kw__rd_bytes(kw_rd *r, bool compact, bool nullable);
/* An array count; -1 for null (only when nullable).  Checked against the
 * bytes left with `min_elem` bytes per element before anyone allocates. */
int32_t kw__rd_count(kw_rd *r, bool compact, bool nullable, size_t min_elem);
/* Sets err (if not already set) and returns it. */
int kw__rd_fail(kw_rd *r, int err);

/*
 * Bytes an encoder referred to instead of copying them into the writer's
 * buffer (see kw__wr_refer_records): they belong just before buffer offset
 * `at`.
 */
typedef struct kw_wr_ref {
    size_t at;
    const uint8_t *ptr;
    size_t len;
} kw_wr_ref;

/*
 * Writer into a growable buffer the caller owns (kw_wr_free releases it).
 * With `fixed` set it never grows: running out of room is KW_ETOOBIG.
 *
 * With records referral on, the encoding is the buffer with each ref's
 * bytes spliced in at its `at` (kw__wr_pieces lists it in order); the
 * referred bytes are not copied, so they must stay alive and unchanged for
 * as long as the encoding is used.
 */
typedef struct kw_wr {
    uint8_t *buf;
    size_t len;
    size_t cap;
    int err;
    bool fixed;
    kw_wr_ref *refs; /* in buffer order; freed by kw__wr_free */
    size_t nrefs, refs_cap;
    size_t refs_len;  /* bytes the refs add to the encoding */
    size_t refer_min; /* 0: referral off; else records of at least this many bytes are referred to */
} kw_wr;

void kw__wr_init(kw_wr *w);
void kw__wr_init_fixed(kw_wr *w, void *buf, size_t cap);
void kw__wr_free(kw_wr *w);
/* Makes room for n more bytes; returns a pointer to them or NULL on error. */
uint8_t *kw__wr_reserve(kw_wr *w, size_t n);
void kw__wr_raw(kw_wr *w, const void *p, size_t n);
void kw__wr_i8(kw_wr *w, int8_t v);
void kw__wr_i16(kw_wr *w, int16_t v);
void kw__wr_u16(kw_wr *w, uint16_t v);
void kw__wr_i32(kw_wr *w, int32_t v);
void kw__wr_u32(kw_wr *w, uint32_t v);
void kw__wr_i64(kw_wr *w, int64_t v);
void kw__wr_f64(kw_wr *w, double v);
void kw__wr_bool(kw_wr *w, bool v);
void kw__wr_uuid(kw_wr *w, kw_uuid v);
void kw__wr_uvarint(kw_wr *w, uint32_t v);
void kw__wr_varint(kw_wr *w, int32_t v);
void kw__wr_varlong(kw_wr *w, int64_t v);
void kw__wr_str(kw_wr *w, kw_str s, bool compact);
void kw__wr_bytes(kw_wr *w, kw_bytes b, bool compact);
/*
 * Record batches (KW_T_RECORDS): like kw__wr_bytes, except that with
 * referral on (kw__wr_refer_records) bytes of at least refer_min are
 * referred to, not copied: a Produce frame then carries each batch from
 * where it is.
 */
void kw__wr_records(kw_wr *w, kw_bytes b, bool compact);
/* Turns records referral on for w (min_len >= 1). */
void kw__wr_refer_records(kw_wr *w, size_t min_len);
/* The encoding's length: the buffer plus the referred bytes. */
static inline size_t kw__wr_size(const kw_wr *w)
{
    return w->len + w->refs_len;
}
/*
 * The encoding as pieces in order (buffer runs and referred bytes, empty
 * runs left out), written to out[0..max).  Returns how many pieces there
 * are, which may exceed max (then only max are written); at most
 * 2 * nrefs + 1.  The pieces point into w's buffer and the referred memory.
 */
size_t kw__wr_pieces(const kw_wr *w, struct iovec *out, size_t max);
void kw__wr_count(kw_wr *w, int32_t n, bool compact);
/* Overwrites a big-endian int32 at an offset already written (size prefixes). */
void kw__wr_put_i32_at(kw_wr *w, size_t off, int32_t v);

/* Size of a value in varint encodings, for computing lengths up front. */
size_t kw__uvarint_size(uint32_t v);
size_t kw__varint_size(int32_t v);
size_t kw__varlong_size(int64_t v);

/* Big-endian loads and stores for the hot paths that work on raw bytes. */
static inline uint16_t kw_load_be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}
static inline uint32_t kw_load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t kw_load_be64(const uint8_t *p)
{
    return (uint64_t)kw_load_be32(p) << 32 | kw_load_be32(p + 4);
}
static inline void kw_store_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void kw_store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void kw_store_be64(uint8_t *p, uint64_t v)
{
    kw_store_be32(p, (uint32_t)(v >> 32));
    kw_store_be32(p + 4, (uint32_t)v);
}

#endif /* KW_PROTO_WIRE_H */
