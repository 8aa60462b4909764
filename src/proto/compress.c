/* Compression codecs of Kafka record batches: lz4 frame, gzip, snappy (raw and xerial), zstd. */
#include "compress.h"

#include <limits.h>
#include <stdlib.h>

#include <lz4.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

const char *kw__codec_name(int codec)
{
    switch (codec) {
    case KW_CODEC_NONE:
        return "none";
    case KW_CODEC_GZIP:
        return "gzip";
    case KW_CODEC_SNAPPY:
        return "snappy";
    case KW_CODEC_LZ4:
        return "lz4";
    case KW_CODEC_ZSTD:
        return "zstd";
    }
    return "unknown";
}

/* ---- helpers ---- */

static inline uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void store_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/*
 * Room for `want` more bytes after out->len (len itself is not moved).  A
 * growable writer is reallocated here rather than through kw__wr_reserve,
 * whose doubling could give a decompression twice its limit in capacity:
 * the new capacity never passes cap_max unless the bytes asked for need it.
 * A fixed writer without room is KW_ETOOBIG.  Leaves out->err alone.
 */
static uint8_t *out_room(kw_wr *w, size_t want, size_t cap_max, int *err)
{
    if (w->cap - w->len >= want)
        return w->buf + w->len;
    if (w->fixed) {
        *err = KW_ETOOBIG;
        return NULL;
    }
    if (want > SIZE_MAX - w->len) {
        *err = KW_ENOMEM;
        return NULL;
    }
    size_t need = w->len + want;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > cap_max)
        cap = cap_max > need ? cap_max : need;
    uint8_t *b = realloc(w->buf, cap);
    if (!b) {
        *err = KW_ENOMEM;
        return NULL;
    }
    w->buf = b;
    w->cap = cap;
    return b + w->len;
}

/* How much to ask for next when the output size is unknown: double what is there. */
static inline size_t grow_step(size_t produced, size_t room)
{
    size_t step = produced < 65536 ? 65536 : produced;
    return min_size(step, room);
}

/*
 * XXH32, written from the xxHash specification: the LZ4 frame format uses it
 * for the header checksum byte and for the optional block and content
 * checksums.  liblz4 carries a copy but does not export it.
 */
#define XXH_P1 2654435761u
#define XXH_P2 2246822519u
#define XXH_P3 3266489917u
#define XXH_P4 668265263u
#define XXH_P5 374761393u

static inline uint32_t rotl32(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

static inline uint32_t xxh_round(uint32_t acc, uint32_t lane)
{
    return rotl32(acc + lane * XXH_P2, 13) * XXH_P1;
}

static uint32_t xxh32(const uint8_t *p, size_t n, uint32_t seed)
{
    const uint8_t *end = p + n;
    uint32_t h;
    if (n >= 16) {
        uint32_t v1 = seed + XXH_P1 + XXH_P2, v2 = seed + XXH_P2, v3 = seed, v4 = seed - XXH_P1;
        for (; end - p >= 16; p += 16) {
            v1 = xxh_round(v1, load_le32(p));
            v2 = xxh_round(v2, load_le32(p + 4));
            v3 = xxh_round(v3, load_le32(p + 8));
            v4 = xxh_round(v4, load_le32(p + 12));
        }
        h = rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18);
    } else {
        h = seed + XXH_P5;
    }
    h += (uint32_t)n;
    for (; end - p >= 4; p += 4)
        h = rotl32(h + load_le32(p) * XXH_P3, 17) * XXH_P4;
    for (; p < end; p++)
        h = rotl32(h + (uint32_t)*p * XXH_P5, 11) * XXH_P1;
    h ^= h >> 15;
    h *= XXH_P2;
    h ^= h >> 13;
    h *= XXH_P3;
    h ^= h >> 16;
    return h;
}

/* ---- lz4 frame ---- */

#define LZ4F_MAGIC 0x184D2204u
#define LZ4F_SKIPPABLE_MASK 0xFFFFFFF0u
#define LZ4F_SKIPPABLE 0x184D2A50u
enum {
    LZ4_BLOCK = 65536, /* what Kafka's producers use */
    LZ4_FLG_VERSION = 0x40,
    LZ4_FLG_INDEPENDENT = 0x20,
    LZ4_FLG_BLOCK_SUM = 0x10,
    LZ4_FLG_CONTENT_SIZE = 0x08,
    LZ4_FLG_CONTENT_SUM = 0x04,
    LZ4_FLG_RESERVED = 0x02,
    LZ4_FLG_DICT_ID = 0x01,
};

static size_t lz4_bound(size_t n)
{
    /* header 7, a size word per block, blocks never larger than their input, end mark 4 */
    return 7 + n + 4 * (n / LZ4_BLOCK + 1) + 4;
}

static int lz4_compress(const uint8_t *in, size_t n, kw_wr *out)
{
    if (n > (size_t)INT_MAX)
        return KW_ETOOBIG;
    size_t start = out->len;
    uint8_t *dst = kw__wr_reserve(out, lz4_bound(n));
    if (!dst)
        return out->err;
    uint8_t *q = dst;
    store_le32(q, LZ4F_MAGIC);
    q[4] = LZ4_FLG_VERSION | LZ4_FLG_INDEPENDENT;
    q[5] = 4 << 4; /* block maximum size id 4 = 64 KiB */
    q[6] = (uint8_t)(xxh32(q + 4, 2, 0) >> 8);
    q += 7;
    while (n) {
        int chunk = (int)min_size(n, LZ4_BLOCK);
        /* one byte less than the input: a block that does not shrink fails and is stored raw */
        int c = LZ4_compress_default((const char *)in, (char *)q + 4, chunk, chunk - 1);
        if (c > 0) {
            store_le32(q, (uint32_t)c);
            q += 4 + c;
        } else {
            store_le32(q, (uint32_t)chunk | 0x80000000u);
            memcpy(q + 4, in, (size_t)chunk);
            q += 4 + chunk;
        }
        in += chunk;
        n -= (size_t)chunk;
    }
    store_le32(q, 0); /* end mark */
    q += 4;
    out->len = start + (size_t)(q - dst);
    return 0;
}

/*
 * After a block failed to decode into `cap` bytes that the limit allowed
 * (less than a whole block): KW_ETOOBIG when the block is fine but longer than
 * that, KW_ECOMPRESSION when it is corrupt within the first cap bytes.
 */
static int lz4_overflow_or_corrupt(const uint8_t *src, int n, uint8_t *dst, int cap,
                                   const uint8_t *dict, int dict_len)
{
    int r;
    if (!dict_len)
        r = LZ4_decompress_safe_partial((const char *)src, (char *)dst, n, cap, cap);
    else
#if LZ4_VERSION_NUMBER >= 10904
        r = LZ4_decompress_safe_partial_usingDict((const char *)src, (char *)dst, n, cap, cap,
                                                  (const char *)dict, dict_len);
#else
        return KW_ETOOBIG; /* older liblz4 cannot tell; the limit is the likelier cause */
#endif
    return r == cap ? KW_ETOOBIG : KW_ECOMPRESSION;
}

static int lz4_frame(const uint8_t **pp, const uint8_t *end, kw_wr *out, size_t base,
                     size_t limit, size_t cap_max)
{
    const uint8_t *p = *pp + 4; /* past the magic */
    if (end - p < 3)
        return KW_ECOMPRESSION;
    uint8_t flg = p[0], bd = p[1];
    if ((flg & 0xC0) != LZ4_FLG_VERSION || (flg & LZ4_FLG_RESERVED) || (bd & 0x8F))
        return KW_ECOMPRESSION;
    int size_id = (bd >> 4) & 7;
    if (size_id < 4)
        return KW_ECOMPRESSION;
    size_t block_max = (size_t)1 << (8 + 2 * size_id); /* 4..7: 64 KiB .. 4 MiB */
    size_t desc = 2 + (flg & LZ4_FLG_CONTENT_SIZE ? 8 : 0) + (flg & LZ4_FLG_DICT_ID ? 4 : 0);
    if ((size_t)(end - p) < desc + 1)
        return KW_ECOMPRESSION;
    if ((uint8_t)(xxh32(p, desc, 0) >> 8) != p[desc])
        return KW_ECOMPRESSION;
    if (flg & LZ4_FLG_DICT_ID)
        return KW_ECOMPRESSION; /* a dictionary we were never given */
    uint64_t content_size = 0;
    if (flg & LZ4_FLG_CONTENT_SIZE) {
        content_size = (uint64_t)load_le32(p + 2) | (uint64_t)load_le32(p + 6) << 32;
        if (content_size > limit - (out->len - base))
            return KW_ETOOBIG; /* said up front: no need to decode to find out */
    }
    p += desc + 1;

    bool independent = flg & LZ4_FLG_INDEPENDENT;
    bool block_sum = flg & LZ4_FLG_BLOCK_SUM;
    size_t frame_start = out->len;
    for (;;) {
        if (end - p < 4)
            return KW_ECOMPRESSION;
        uint32_t word = load_le32(p);
        p += 4;
        if (word == 0)
            break;
        bool raw = word & 0x80000000u;
        size_t bs = word & 0x7FFFFFFFu;
        if (bs > block_max || bs > (size_t)(end - p))
            return KW_ECOMPRESSION;
        if (block_sum) {
            if ((size_t)(end - p) - bs < 4 || xxh32(p, bs, 0) != load_le32(p + bs))
                return KW_ECOMPRESSION;
        }
        size_t room = limit - (out->len - base);
        int err = 0;
        if (raw) {
            if (bs > room)
                return KW_ETOOBIG;
            if (bs) {
                uint8_t *dst = out_room(out, bs, cap_max, &err);
                if (!dst)
                    return err;
                memcpy(dst, p, bs);
                out->len += bs;
            }
        } else {
            /* With the limit reached, a one-byte probe tells an empty block
             * (allowed) from one that would pass the limit. */
            size_t cap = min_size(block_max, room);
            uint8_t probe;
            uint8_t *dst = &probe;
            if (cap && !(dst = out_room(out, cap, cap_max, &err)))
                return err;
            /* Linked blocks may copy from the 64 KiB decoded before them,
             * which sit right before dst in the same buffer. */
            size_t dict_len = independent ? 0 : min_size(out->len - frame_start, 65536);
            const uint8_t *dict = dict_len ? out->buf + out->len - dict_len : NULL;
            int dst_cap = cap ? (int)cap : 1;
            int r = dict_len ? LZ4_decompress_safe_usingDict((const char *)p, (char *)dst, (int)bs,
                                                             dst_cap, (const char *)dict,
                                                             (int)dict_len)
                             : LZ4_decompress_safe((const char *)p, (char *)dst, (int)bs, dst_cap);
            if (r < 0) {
                if (cap < block_max)
                    return lz4_overflow_or_corrupt(p, (int)bs, dst, dst_cap, dict, (int)dict_len);
                return KW_ECOMPRESSION;
            }
            if (!cap && r > 0)
                return KW_ETOOBIG;
            out->len += (size_t)r;
        }
        p += bs + (block_sum ? 4 : 0);
    }
    if (flg & LZ4_FLG_CONTENT_SUM) {
        if (end - p < 4)
            return KW_ECOMPRESSION;
        size_t produced = out->len - frame_start;
        uint32_t sum = produced ? xxh32(out->buf + frame_start, produced, 0) : xxh32(p, 0, 0);
        if (sum != load_le32(p))
            return KW_ECOMPRESSION;
        p += 4;
    }
    if ((flg & LZ4_FLG_CONTENT_SIZE) && content_size != out->len - frame_start)
        return KW_ECOMPRESSION;
    *pp = p;
    return 0;
}

static int lz4_decompress(const uint8_t *p, size_t n, kw_wr *out, size_t base, size_t limit,
                          size_t cap_max)
{
    if (n == 0)
        return KW_ECOMPRESSION; /* not even a frame */
    const uint8_t *end = p + n;
    while (p < end) {
        if (end - p < 4)
            return KW_ECOMPRESSION;
        uint32_t magic = load_le32(p);
        if ((magic & LZ4F_SKIPPABLE_MASK) == LZ4F_SKIPPABLE) {
            if (end - p < 8 || load_le32(p + 4) > (size_t)(end - p) - 8)
                return KW_ECOMPRESSION;
            p += 8 + load_le32(p + 4);
            continue;
        }
        if (magic != LZ4F_MAGIC)
            return KW_ECOMPRESSION;
        int rc = lz4_frame(&p, end, out, base, limit, cap_max);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- gzip ---- */

static size_t gzip_bound(size_t n)
{
    /* compressBound covers the 6-byte zlib wrapper; gzip's is 18 bytes */
    return compressBound((uLong)n) + 32;
}

static int gzip_compress(const uint8_t *in, size_t n, kw_wr *out)
{
    if (n > UINT_MAX)
        return KW_ETOOBIG;
    size_t bound = gzip_bound(n);
    size_t start = out->len;
    uint8_t *dst = kw__wr_reserve(out, bound);
    if (!dst)
        return out->err;
    out->len = start;
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    /* 15 + 16: a 32 KiB window and the gzip wrapper, as java.util.zip writes */
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return KW_ENOMEM;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = dst;
    zs.avail_out = (uInt)min_size(bound, UINT_MAX);
    int r = deflate(&zs, Z_FINISH);
    size_t got = zs.total_out;
    deflateEnd(&zs);
    if (r != Z_STREAM_END)
        return KW_ECOMPRESSION;
    out->len = start + got;
    return 0;
}

static int gzip_decompress(const uint8_t *in, size_t n, kw_wr *out, size_t base, size_t limit,
                           size_t cap_max)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    /* 15 + 32: gzip or zlib header, detected */
    if (inflateInit2(&zs, 15 + 32) != Z_OK)
        return KW_ENOMEM;
    const uint8_t *end = in + n;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)min_size(n, UINT_MAX);
    int rc = KW_ECOMPRESSION;
    for (;;) {
        size_t room = limit - (out->len - base);
        uint8_t probe;
        uint8_t *dst = &probe;
        size_t avail = 1; /* with the limit reached, one byte tells whether more is coming */
        if (room) {
            avail = min_size(grow_step(out->len - base, room), UINT_MAX);
            int err = 0;
            dst = out_room(out, avail, cap_max, &err);
            if (!dst) {
                rc = err;
                break;
            }
        }
        const Bytef *in_before = zs.next_in;
        zs.next_out = dst;
        zs.avail_out = (uInt)avail;
        int r = inflate(&zs, Z_NO_FLUSH);
        size_t got = avail - zs.avail_out;
        if (!room && got) {
            rc = KW_ETOOBIG;
            break;
        }
        if (room)
            out->len += got;
        /* zlib takes at most 4 GiB of input per call: top it up */
        if (zs.avail_in == 0 && (const uint8_t *)zs.next_in < end)
            zs.avail_in = (uInt)min_size((size_t)(end - (const uint8_t *)zs.next_in), UINT_MAX);
        if (r == Z_STREAM_END) {
            const uint8_t *rest = zs.next_in;
            /* Another gzip member may follow; like java.util.zip, anything
             * else after a complete member is ignored. */
            if (end - rest >= 2 && rest[0] == 0x1f && rest[1] == 0x8b) {
                if (inflateReset(&zs) != Z_OK)
                    break;
                continue;
            }
            rc = 0;
            break;
        }
        if (r == Z_MEM_ERROR) {
            rc = KW_ENOMEM;
            break;
        }
        if (r != Z_OK && r != Z_BUF_ERROR)
            break; /* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
        if (got == 0 && zs.next_in == in_before)
            break; /* no progress: the input ends inside the stream */
    }
    inflateEnd(&zs);
    return rc;
}

/* ---- snappy ---- */

static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
enum {
    XERIAL_HEADER = 16,  /* magic, int32 version, int32 compatible version */
    XERIAL_BLOCK = 32768, /* the block size of xerial's SnappyOutputStream */
};

static size_t snappy_bound(size_t n)
{
    size_t blocks = n / XERIAL_BLOCK + 1;
    return XERIAL_HEADER + blocks * (4 + snappy_max_compressed_length(XERIAL_BLOCK));
}

static int snappy_compress_xerial(const uint8_t *in, size_t n, kw_wr *out)
{
    if (n > UINT_MAX)
        return KW_ETOOBIG;
    size_t start = out->len;
    uint8_t *dst = kw__wr_reserve(out, snappy_bound(n));
    if (!dst)
        return out->err;
    uint8_t *q = dst;
    memcpy(q, xerial_magic, 8);
    kw_store_be32(q + 8, 1);  /* version */
    kw_store_be32(q + 12, 1); /* compatible version */
    q += XERIAL_HEADER;
    while (n) {
        size_t chunk = min_size(n, XERIAL_BLOCK);
        size_t clen = snappy_max_compressed_length(chunk);
        if (snappy_compress((const char *)in, chunk, (char *)q + 4, &clen) != SNAPPY_OK) {
            out->len = start;
            return KW_ECOMPRESSION;
        }
        kw_store_be32(q, (uint32_t)clen);
        q += 4 + clen;
        in += chunk;
        n -= chunk;
    }
    out->len = start + (size_t)(q - dst);
    return 0;
}

static int snappy_raw(const uint8_t *in, size_t n, kw_wr *out, size_t base, size_t limit,
                      size_t cap_max)
{
    size_t len;
    if (snappy_uncompressed_length((const char *)in, n, &len) != SNAPPY_OK)
        return KW_ECOMPRESSION;
    /* the length is declared up front, so a bomb is refused before any work */
    if (len > limit - (out->len - base))
        return KW_ETOOBIG;
    if (len == 0)
        return snappy_validate_compressed_buffer((const char *)in, n) == SNAPPY_OK
                   ? 0
                   : KW_ECOMPRESSION;
    int err = 0;
    uint8_t *dst = out_room(out, len, cap_max, &err);
    if (!dst)
        return err;
    size_t got = len;
    if (snappy_uncompress((const char *)in, n, (char *)dst, &got) != SNAPPY_OK || got != len)
        return KW_ECOMPRESSION;
    out->len += len;
    return 0;
}

static int snappy_decompress(const uint8_t *p, size_t n, kw_wr *out, size_t base, size_t limit,
                             size_t cap_max)
{
    if (n == 0)
        return KW_ECOMPRESSION; /* not even the length of a raw block */
    if (n < XERIAL_HEADER || memcmp(p, xerial_magic, 8) != 0)
        return snappy_raw(p, n, out, base, limit, cap_max);
    const uint8_t *end = p + n;
    p += XERIAL_HEADER;
    while (p < end) {
        /* Concatenated xerial streams repeat the header; a block length
         * cannot start with 0x82 (it would be negative), so this is unambiguous. */
        if ((size_t)(end - p) >= XERIAL_HEADER && memcmp(p, xerial_magic, 8) == 0) {
            p += XERIAL_HEADER;
            continue;
        }
        if (end - p < 4)
            return KW_ECOMPRESSION;
        int32_t len = (int32_t)kw_load_be32(p);
        p += 4;
        if (len < 0 || (size_t)len > (size_t)(end - p))
            return KW_ECOMPRESSION;
        int rc = snappy_raw(p, (size_t)len, out, base, limit, cap_max);
        if (rc)
            return rc;
        p += len;
    }
    return 0;
}

/* ---- zstd ---- */

static int zstd_compress(const uint8_t *in, size_t n, kw_wr *out)
{
    size_t bound = ZSTD_compressBound(n);
    if (ZSTD_isError(bound))
        return KW_ETOOBIG;
    size_t start = out->len;
    uint8_t *dst = kw__wr_reserve(out, bound);
    if (!dst)
        return out->err;
    size_t r = ZSTD_compress(dst, bound, in, n, 3);
    if (ZSTD_isError(r)) {
        out->len = start;
        return ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? KW_ENOMEM : KW_ECOMPRESSION;
    }
    out->len = start + r;
    return 0;
}

/* The largest window a frame may ask for: enough for any producer's default
 * (Java's level 3 streams use 2-4 MiB), and at most zstd's own default cap
 * (2^27, ZSTD_WINDOWLOG_LIMIT_DEFAULT, which zstd.h only shows to static
 * builds). */
static int zstd_window_log(size_t limit)
{
    int log = 23;
    while (log < 27 && ((size_t)1 << log) < limit)
        log++;
    return log;
}

static int zstd_decompress(const uint8_t *in, size_t n, kw_wr *out, size_t base, size_t limit,
                           size_t cap_max)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (!dctx)
        return KW_ENOMEM;
    /* A frame header can claim a window of gigabytes; zstd would allocate it. */
    ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, zstd_window_log(limit));
    ZSTD_inBuffer ib = {in, n, 0};
    int rc = KW_ECOMPRESSION;
    for (;;) {
        size_t room = limit - (out->len - base);
        uint8_t probe;
        uint8_t *dst = &probe;
        size_t avail = 1;
        if (room) {
            avail = grow_step(out->len - base, room);
            int err = 0;
            dst = out_room(out, avail, cap_max, &err);
            if (!dst) {
                rc = err;
                break;
            }
        }
        ZSTD_outBuffer ob = {dst, avail, 0};
        size_t in_before = ib.pos;
        size_t r = ZSTD_decompressStream(dctx, &ob, &ib);
        if (ZSTD_isError(r)) {
            ZSTD_ErrorCode code = ZSTD_getErrorCode(r);
            rc = code == ZSTD_error_frameParameter_windowTooLarge ? KW_ETOOBIG
                 : code == ZSTD_error_memory_allocation           ? KW_ENOMEM
                                                                  : KW_ECOMPRESSION;
            break;
        }
        if (!room && ob.pos) {
            rc = KW_ETOOBIG;
            break;
        }
        if (room)
            out->len += ob.pos;
        if (r == 0 && ib.pos == ib.size) {
            rc = 0; /* the last frame is decoded and flushed */
            break;
        }
        if (ob.pos == 0 && ib.pos == in_before)
            break; /* no progress: the input ends inside a frame */
    }
    ZSTD_freeDCtx(dctx);
    return rc;
}

/* ---- entry points ---- */

size_t kw__compress_bound(int codec, size_t n)
{
    switch (codec) {
    case KW_CODEC_NONE:
        return n;
    case KW_CODEC_GZIP:
        return gzip_bound(n);
    case KW_CODEC_SNAPPY:
        return snappy_bound(n);
    case KW_CODEC_LZ4:
        return lz4_bound(n);
    case KW_CODEC_ZSTD: {
        size_t b = ZSTD_compressBound(n);
        return ZSTD_isError(b) ? 0 : b;
    }
    }
    return 0;
}

int kw__compress(int codec, const uint8_t *in, size_t n, kw_wr *out)
{
    if (out->err)
        return out->err;
    switch (codec) {
    case KW_CODEC_NONE: {
        uint8_t *dst = kw__wr_reserve(out, n);
        if (!dst)
            return out->err;
        if (n)
            memmove(dst, in, n); /* in may sit in out's own spare capacity */
        return 0;
    }
    case KW_CODEC_GZIP:
        return gzip_compress(in, n, out);
    case KW_CODEC_SNAPPY:
        return snappy_compress_xerial(in, n, out);
    case KW_CODEC_LZ4:
        return lz4_compress(in, n, out);
    case KW_CODEC_ZSTD:
        return zstd_compress(in, n, out);
    }
    return KW_EUNSUPPORTED;
}

int kw__decompress(int codec, const uint8_t *in, size_t n, kw_wr *out, size_t limit)
{
    if (out->err)
        return out->err;
    /* No codec has a valid empty stream: even "nothing" has a header. */
    if (n == 0 && codec >= KW_CODEC_GZIP && codec <= KW_CODEC_ZSTD)
        return KW_ECOMPRESSION;
    size_t base = out->len;
    /* A fixed writer's free space is a limit too: output that does not fit
     * is KW_ETOOBIG, and the streaming codecs must not ask it for more room
     * than it has. */
    if (out->fixed && limit > out->cap - out->len)
        limit = out->cap - out->len;
    size_t cap_max = limit > SIZE_MAX - base ? SIZE_MAX : base + limit;
    int rc;
    switch (codec) {
    case KW_CODEC_NONE: {
        int err = 0;
        uint8_t *dst;
        rc = 0;
        if (n > limit)
            rc = KW_ETOOBIG;
        else if (n && !(dst = out_room(out, n, cap_max, &err)))
            rc = err;
        else if (n) {
            memcpy(dst, in, n); /* the writer had room or was grown, so dst is set */
            out->len += n;
        }
        break;
    }
    case KW_CODEC_GZIP:
        rc = gzip_decompress(in, n, out, base, limit, cap_max);
        break;
    case KW_CODEC_SNAPPY:
        rc = snappy_decompress(in, n, out, base, limit, cap_max);
        break;
    case KW_CODEC_LZ4:
        rc = lz4_decompress(in, n, out, base, limit, cap_max);
        break;
    case KW_CODEC_ZSTD:
        rc = zstd_decompress(in, n, out, base, limit, cap_max);
        break;
    default:
        rc = KW_EUNSUPPORTED;
    }
    if (rc)
        out->len = base;
    return rc;
}
