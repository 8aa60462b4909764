/* RecordBatch v2: the builder that writes one batch and the iterators over batches and records. */
#include "batch.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "crc32c.h"

#define BATCH_MAGIC 2
/* batchLength counts everything after itself: the smallest legal one is the rest of the header */
#define MIN_BATCH_LENGTH (KW_BATCH_HEADER_SIZE - KW_BATCH_LENGTH_OVERHEAD)
#define DEFAULT_DECOMPRESS_LIMIT ((size_t)64 << 20)

/* Offsets and timestamps are base + delta; hostile input may overflow, which
 * must wrap rather than be undefined. */
static inline int64_t add_wrap(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

static inline int64_t sub_wrap(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a - (uint64_t)b);
}

/* ---------------------------------------------------------------- builder */

int kw__batch_begin(kw_batch_builder *b, kw_wr *out, const kw_batch_opts *opts)
{
    memset(b, 0, sizeof(*b));
    b->out = out;
    if (opts)
        b->opts = *opts;
    b->start = out->len;
    if (b->opts.codec < KW_CODEC_NONE || b->opts.codec > KW_CODEC_ZSTD ||
        (b->opts.transactional && !b->opts.idempotent))
        return b->err = KW_EINVAL;
    if (out->err)
        return b->err = out->err;
    /* The header is filled in by finish, once the records are known. */
    uint8_t *h = kw__wr_reserve(out, KW_BATCH_HEADER_SIZE);
    if (!h)
        return b->err = out->err;
    memset(h, 0, KW_BATCH_HEADER_SIZE);
    b->base_timestamp = b->opts.base_timestamp;
    return 0;
}

/*
 * Varints for the record hot path.  A record is sized once, reserved once and
 * then written with these straight into the writer: a 100-byte record went
 * through a dozen kw__wr_* calls (each a reserve and a small memcpy) before.
 */
static inline uint64_t zigzag64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline size_t uvarint_size(uint64_t v)
{
    /* Record fields are mostly small: one or two compares, not a loop or a division. */
    if (v < (1u << 7))
        return 1;
    if (v < (1u << 14))
        return 2;
    size_t n = 3;
    for (v >>= 21; v; v >>= 7)
        n++;
    return n;
}

static inline size_t zz_size(int64_t v)
{
    return uvarint_size(zigzag64(v));
}

static inline uint8_t *put_uvarint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static inline uint8_t *put_zz(uint8_t *p, int64_t v)
{
    return put_uvarint(p, zigzag64(v));
}

/* Record key/value: zigzag varint length (-1 = null) and the bytes. */
static inline size_t varbytes_size(kw_bytes v)
{
    return v.len < 0 ? 1 : zz_size(v.len) + (size_t)v.len;
}

static inline uint8_t *put_varbytes(uint8_t *p, kw_bytes v)
{
    if (v.len < 0)
        return put_zz(p, -1);
    p = put_zz(p, v.len);
    if (v.len > 0)
        memcpy(p, v.ptr, (size_t)v.len);
    return p + v.len;
}

/* The record's bytes after its length prefix. */
static inline size_t record_body_size(int64_t ts_delta, int32_t offset_delta, kw_bytes key,
                                      kw_bytes value, const kw_record_header *headers,
                                      size_t n_headers)
{
    size_t n = 1 /* attributes */ + zz_size(ts_delta) + zz_size(offset_delta) +
               varbytes_size(key) + varbytes_size(value) +
               zz_size(n_headers > INT32_MAX ? INT32_MAX : (int64_t)n_headers);
    for (size_t i = 0; i < n_headers; i++) {
        kw_bytes k = {(const uint8_t *)headers[i].key.ptr, headers[i].key.len};
        n += varbytes_size(k) + varbytes_size(headers[i].value);
    }
    return n;
}

/* Any negative length is null (written as -1). */
static inline kw_bytes norm_bytes(kw_bytes v)
{
    return v.len < 0 ? KW_BYTES_NULL : v;
}

/* A length with no bytes behind it is a caller bug, as kw__wr_bytes treats it. */
static inline bool bytes_bad(kw_bytes v)
{
    return !v.ptr && v.len > 0;
}

size_t kw__batch_record_size(const kw_batch_builder *b, int64_t timestamp, kw_bytes key,
                             kw_bytes value, const kw_record_header *headers, size_t n_headers)
{
    int64_t base = b->count == 0 && b->opts.base_timestamp == 0 ? timestamp : b->base_timestamp;
    size_t body = record_body_size(sub_wrap(timestamp, base), b->count, norm_bytes(key),
                                   norm_bytes(value), headers, n_headers);
    return zz_size(body > INT32_MAX ? INT32_MAX : (int64_t)body) + body;
}

int kw__batch_add(kw_batch_builder *b, int64_t timestamp, kw_bytes key, kw_bytes value,
                  const kw_record_header *headers, size_t n_headers)
{
    if (b->err)
        return b->err;
    if (n_headers && !headers)
        return b->err = KW_EINVAL;
    if (bytes_bad(key) || bytes_bad(value))
        return b->err = KW_EINVAL;
    for (size_t i = 0; i < n_headers; i++) {
        /* header keys are never null on the wire */
        if (headers[i].key.len < 0 || (!headers[i].key.ptr && headers[i].key.len > 0) ||
            bytes_bad(headers[i].value))
            return b->err = KW_EINVAL;
    }
    if (b->count == INT32_MAX || n_headers > INT32_MAX)
        return b->err = KW_ETOOBIG;
    key = norm_bytes(key);
    value = norm_bytes(value);
    if (b->count == 0 && b->opts.base_timestamp == 0)
        b->base_timestamp = timestamp;
    int64_t ts_delta = sub_wrap(timestamp, b->base_timestamp);
    size_t body = record_body_size(ts_delta, b->count, key, value, headers, n_headers);
    if (body > INT32_MAX)
        return b->err = KW_ETOOBIG;

    size_t total = zz_size((int64_t)body) + body;
    uint8_t *p = kw__wr_reserve(b->out, total);
    if (!p)
        return b->err = b->out->err;
    p = put_zz(p, (int64_t)body);
    *p++ = 0; /* record attributes: unused */
    p = put_zz(p, ts_delta);
    p = put_zz(p, b->count); /* offset delta */
    p = put_varbytes(p, key);
    p = put_varbytes(p, value);
    p = put_zz(p, (int64_t)n_headers);
    for (size_t i = 0; i < n_headers; i++) {
        p = put_varbytes(p, (kw_bytes){(const uint8_t *)headers[i].key.ptr, headers[i].key.len});
        p = put_varbytes(p, norm_bytes(headers[i].value));
    }
    if (b->count == 0 || timestamp > b->max_timestamp)
        b->max_timestamp = timestamp;
    b->count++;
    return 0;
}

void kw__batch_abort(kw_batch_builder *b)
{
    if (b->out->len > b->start)
        b->out->len = b->start;
}

void kw__batch_set_producer(uint8_t *batch, size_t len, int64_t producer_id, int16_t epoch,
                            int32_t base_sequence)
{
    kw_store_be64(batch + KW_BATCH_OFF_PRODUCER_ID, (uint64_t)producer_id);
    kw_store_be16(batch + KW_BATCH_OFF_PRODUCER_EPOCH, (uint16_t)epoch);
    kw_store_be32(batch + KW_BATCH_OFF_BASE_SEQUENCE, (uint32_t)base_sequence);
    kw_store_be32(batch + KW_BATCH_OFF_CRC, kw__crc32c(0, batch + KW_BATCH_OFF_ATTRIBUTES,
                                                       len - KW_BATCH_OFF_ATTRIBUTES));
}

int kw__batch_finish(kw_batch_builder *b)
{
    kw_wr *w = b->out;
    if (!b->err && b->count == 0)
        b->err = KW_EINVAL;
    if (b->err)
        goto fail;
    size_t rec_off = b->start + KW_BATCH_HEADER_SIZE;
    if (b->opts.codec != KW_CODEC_NONE) {
        /* Compress the records from the writer into its own spare room after
         * them, then slide the result down over them: no second buffer.
         * Reserving the bound first means nothing moves while the
         * compressor reads from the same buffer. */
        size_t n = w->len - rec_off;
        size_t bound = kw__compress_bound(b->opts.codec, n);
        if (!kw__wr_reserve(w, bound)) {
            b->err = w->err;
            goto fail;
        }
        w->len -= bound;
        size_t cstart = w->len;
        int rc = kw__compress(b->opts.codec, w->buf + rec_off, n, w);
        if (rc) {
            b->err = rc;
            goto fail;
        }
        size_t clen = w->len - cstart;
        memmove(w->buf + rec_off, w->buf + cstart, clen);
        w->len = rec_off + clen;
    }
    size_t total = w->len - b->start;
    if (total - KW_BATCH_LENGTH_OVERHEAD > INT32_MAX) {
        b->err = KW_ETOOBIG;
        goto fail;
    }

    const kw_batch_opts *o = &b->opts;
    uint8_t *h = w->buf + b->start;
    int16_t attributes = (int16_t)(o->codec | (o->transactional ? KW_BATCH_ATTR_TRANSACTIONAL : 0) |
                                   (o->control ? KW_BATCH_ATTR_CONTROL : 0));
    kw_store_be64(h + KW_BATCH_OFF_BASE_OFFSET, (uint64_t)o->base_offset);
    kw_store_be32(h + KW_BATCH_OFF_LENGTH, (uint32_t)(total - KW_BATCH_LENGTH_OVERHEAD));
    kw_store_be32(h + KW_BATCH_OFF_LEADER_EPOCH,
                  (uint32_t)(o->set_leader_epoch ? o->leader_epoch : -1));
    h[KW_BATCH_OFF_MAGIC] = BATCH_MAGIC;
    kw_store_be16(h + KW_BATCH_OFF_ATTRIBUTES, (uint16_t)attributes);
    kw_store_be32(h + KW_BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)(b->count - 1));
    kw_store_be64(h + KW_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)b->base_timestamp);
    kw_store_be64(h + KW_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)b->max_timestamp);
    kw_store_be64(h + KW_BATCH_OFF_PRODUCER_ID, (uint64_t)(o->idempotent ? o->producer_id : -1));
    kw_store_be16(h + KW_BATCH_OFF_PRODUCER_EPOCH,
                  (uint16_t)(o->idempotent ? o->producer_epoch : -1));
    kw_store_be32(h + KW_BATCH_OFF_BASE_SEQUENCE,
                  (uint32_t)(o->idempotent ? o->base_sequence : -1));
    kw_store_be32(h + KW_BATCH_OFF_RECORDS_COUNT, (uint32_t)b->count);
    uint32_t crc = kw__crc32c(0, h + KW_BATCH_OFF_ATTRIBUTES, total - KW_BATCH_OFF_ATTRIBUTES);
    kw_store_be32(h + KW_BATCH_OFF_CRC, crc);
    return 0;
fail:
    kw__batch_abort(b);
    return b->err;
}

/* ---------------------------------------------------------------- batches */

/* Sets the sticky error and its text; returns the error. */
__attribute__((format(printf, 4, 5))) static int fail(int *err, int code, char *errstr,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, KW_BATCH_ERRSTR_LEN, fmt, ap);
    va_end(ap);
    return *err = code;
}

#define BATCH_FAIL(it, code, ...) fail(&(it)->err, (code), (it)->errstr, __VA_ARGS__)

void kw__batch_iter_init(kw_batch_iter *it, const uint8_t *buf, size_t len, unsigned flags)
{
    memset(it, 0, sizeof(*it));
    it->buf = buf;
    it->len = buf ? len : 0;
    it->flags = flags;
}

int kw__batch_next(kw_batch_iter *it, kw_batch *out)
{
    if (it->err)
        return it->err;
    size_t left = it->len - it->pos;
    /* Fewer bytes than baseOffset + batchLength: the cut tail of a fetch. */
    if (left < KW_BATCH_LENGTH_OVERHEAD)
        return 0;
    const uint8_t *p = it->buf + it->pos;
    int64_t base_offset = (int64_t)kw_load_be64(p + KW_BATCH_OFF_BASE_OFFSET);
    int32_t length = (int32_t)kw_load_be32(p + KW_BATCH_OFF_LENGTH);
    /* The magic sits at the same place in the old message formats, so it is
     * checked before the length, whose meaning depends on it. */
    if (left > KW_BATCH_OFF_MAGIC && p[KW_BATCH_OFF_MAGIC] != BATCH_MAGIC)
        return BATCH_FAIL(it, KW_EUNSUPPORTED,
                          "batch at offset %" PRId64 " has magic %d; kwal reads only magic 2",
                          base_offset, (int8_t)p[KW_BATCH_OFF_MAGIC]);
    if (length < MIN_BATCH_LENGTH)
        return BATCH_FAIL(it, KW_EMALFORMED,
                          "batch at offset %" PRId64 " declares batchLength %" PRId32
                          ", less than the %d-byte header",
                          base_offset, length, MIN_BATCH_LENGTH);
    if ((size_t)length > left - KW_BATCH_LENGTH_OVERHEAD)
        return 0; /* cut off */
    size_t total = (size_t)length + KW_BATCH_LENGTH_OVERHEAD;

    kw_rd r = kw_rd_init(p, total);
    out->base_offset = kw__rd_i64(&r);
    out->batch_length = kw__rd_i32(&r);
    out->partition_leader_epoch = kw__rd_i32(&r);
    out->magic = kw__rd_i8(&r);
    out->crc = kw__rd_u32(&r);
    out->attributes = kw__rd_i16(&r);
    out->last_offset_delta = kw__rd_i32(&r);
    out->base_timestamp = kw__rd_i64(&r);
    out->max_timestamp = kw__rd_i64(&r);
    out->producer_id = kw__rd_i64(&r);
    out->producer_epoch = kw__rd_i16(&r);
    out->base_sequence = kw__rd_i32(&r);
    out->records_count = kw__rd_i32(&r);
    if (r.err) /* cannot happen: total >= the header */
        return BATCH_FAIL(it, KW_EMALFORMED, "batch at offset %" PRId64 " header unreadable",
                          base_offset);
    out->records = r.p;
    out->records_len = kw_rd_left(&r);
    out->raw = p;
    out->raw_len = total;
    if (out->records_count < 0)
        return BATCH_FAIL(it, KW_EMALFORMED,
                          "batch at offset %" PRId64 " has a negative record count %" PRId32,
                          base_offset, out->records_count);
    if (it->flags & KW_BATCH_VERIFY_CRC) {
        uint32_t crc =
            kw__crc32c(0, p + KW_BATCH_OFF_ATTRIBUTES, total - KW_BATCH_OFF_ATTRIBUTES);
        if (crc != out->crc)
            return BATCH_FAIL(it, KW_ECRC,
                              "batch at offset %" PRId64 " has CRC %08" PRIx32
                              " but its bytes give %08" PRIx32,
                              base_offset, out->crc, crc);
    }
    it->pos += total;
    return 1;
}

/* ---------------------------------------------------------------- records */

int kw__record_iter_init(kw_record_iter *it, const kw_batch *b, kw_wr *scratch, size_t limit,
                         int64_t skip_below)
{
    memset(it, 0, sizeof(*it));
    it->base_offset = b->base_offset;
    it->base_timestamp = b->base_timestamp;
    it->max_timestamp = b->max_timestamp;
    it->log_append_time = kw__batch_log_append_time(b);
    it->skip_below = skip_below;
    it->left = b->records_count;
    if (skip_below > kw__batch_last_offset(b)) {
        /* Every record is below the start: skip the batch without decoding it. */
        it->left = 0;
        it->p = it->end = b->records;
        return 0;
    }
    int codec = kw__batch_codec(b);
    if (codec == KW_CODEC_NONE) {
        it->p = b->records;
        it->end = b->records_len ? b->records + b->records_len : b->records;
        return 0;
    }
    if (codec > KW_CODEC_ZSTD)
        return BATCH_FAIL(it, KW_EUNSUPPORTED,
                          "batch at offset %" PRId64 " uses compression codec %d", b->base_offset,
                          codec);
    if (!scratch)
        return BATCH_FAIL(it, KW_EINVAL,
                          "batch at offset %" PRId64 " is compressed (%s) and no scratch was given",
                          b->base_offset, kw__codec_name(codec));
    /* The scratch belongs to this batch now: what it held is dropped. */
    scratch->len = 0;
    scratch->err = 0;
    int rc = kw__decompress(codec, b->records, b->records_len, scratch,
                            limit ? limit : DEFAULT_DECOMPRESS_LIMIT);
    if (rc)
        return BATCH_FAIL(it, rc, "batch at offset %" PRId64 ": %s records: %s", b->base_offset,
                          kw__codec_name(codec),
                          rc == KW_ETOOBIG ? "decompressed size over the limit"
                                           : kw_strerror(rc));
    it->p = scratch->buf;
    it->end = scratch->len ? scratch->buf + scratch->len : scratch->buf;
    return 0;
}

/* A record key or value: zigzag varint length, -1 for null, then the bytes. */
static inline kw_bytes rd_varbytes(kw_rd *r)
{
    int32_t n = kw__rd_varint(r);
    if (r->err)
        return KW_BYTES_NULL;
    if (n < 0) {
        if (n != -1)
            kw__rd_fail(r, KW_EMALFORMED);
        return KW_BYTES_NULL;
    }
    const uint8_t *p = kw__rd_raw(r, (size_t)n);
    return p ? (kw_bytes){p, n} : KW_BYTES_NULL;
}

#define RECORD_FAIL(it, ...) BATCH_FAIL(it, KW_EMALFORMED, __VA_ARGS__)

int kw__record_next(kw_record_iter *it, kw_record *out)
{
    if (it->err)
        return it->err;
    for (;;) {
        size_t avail = (size_t)(it->end - it->p);
        if (it->left == 0) {
            if (avail)
                return RECORD_FAIL(it,
                                   "batch at offset %" PRId64
                                   ": %zu bytes after the records its header counts",
                                   it->base_offset, avail);
            return 0;
        }
        if (avail == 0)
            return RECORD_FAIL(it,
                               "batch at offset %" PRId64 ": %" PRId32
                               " of the records its header counts are missing",
                               it->base_offset, it->left);
        kw_rd r = kw_rd_init(it->p, avail);
        int32_t len = kw__rd_varint(&r);
        if (r.err || len < 0 || (size_t)len > kw_rd_left(&r))
            return RECORD_FAIL(it,
                               "batch at offset %" PRId64 ": record length %" PRId32
                               " with %zu bytes left",
                               it->base_offset, r.err ? -1 : len, kw_rd_left(&r));
        kw_rd rr = kw_rd_init(r.p, (size_t)len);
        it->p = r.p + len;
        it->left--;

        int8_t attributes = kw__rd_i8(&rr);
        int64_t ts_delta = kw__rd_varlong(&rr);
        int32_t offset_delta = kw__rd_varint(&rr);
        int64_t offset = add_wrap(it->base_offset, offset_delta);
        if (rr.err)
            return RECORD_FAIL(it, "batch at offset %" PRId64 ": record fields past its length",
                               it->base_offset);
        if (offset < it->skip_below)
            continue; /* the rest is not even looked at */

        kw_bytes key = rd_varbytes(&rr);
        kw_bytes value = rd_varbytes(&rr);
        int32_t header_count = kw__rd_varint(&rr);
        if (!rr.err && header_count < 0)
            kw__rd_fail(&rr, KW_EMALFORMED);
        const uint8_t *headers = rr.p;
        /* Checked here so walking them later cannot fail; each header takes
         * at least two bytes, so a huge count runs out of bytes quickly. */
        for (int32_t i = 0; i < header_count && !rr.err; i++) {
            int32_t klen = kw__rd_varint(&rr);
            if (!rr.err && klen < 0)
                kw__rd_fail(&rr, KW_EMALFORMED);
            kw__rd_skip(&rr, (size_t)(klen < 0 ? 0 : klen));
            (void)rd_varbytes(&rr);
        }
        if (rr.err)
            return RECORD_FAIL(it,
                               "batch at offset %" PRId64 ", record at offset %" PRId64
                               ": bad length or field past the record's end",
                               it->base_offset, offset);
        if (kw_rd_left(&rr))
            return RECORD_FAIL(it,
                               "batch at offset %" PRId64 ", record at offset %" PRId64
                               ": %zu bytes left over inside the record",
                               it->base_offset, offset, kw_rd_left(&rr));
        out->offset = offset;
        out->timestamp =
            it->log_append_time ? it->max_timestamp : add_wrap(it->base_timestamp, ts_delta);
        out->attributes = attributes;
        out->key = key;
        out->value = value;
        out->header_count = header_count;
        out->headers = headers;
        out->headers_len = (size_t)(rr.p - headers);
        return 1;
    }
}

int kw__header_next(kw_header_iter *it, kw_record_header *out)
{
    if (it->left <= 0)
        return 0;
    kw_rd r = kw_rd_init(it->p, (size_t)(it->end - it->p));
    kw_bytes k = rd_varbytes(&r);
    kw_bytes v = rd_varbytes(&r);
    if (r.err || k.len < 0) {
        it->left = 0; /* only for headers that did not come from kw__record_next */
        return 0;
    }
    out->key = (kw_str){(const char *)k.ptr, k.len};
    out->value = v;
    it->p = r.p;
    it->left--;
    return 1;
}

/* ---------------------------------------------------------------- control records */

int kw__control_record_parse(const kw_record *r, int16_t *version, int16_t *type)
{
    if (r->key.len < 4)
        return KW_EMALFORMED;
    *version = (int16_t)kw_load_be16(r->key.ptr);
    *type = (int16_t)kw_load_be16(r->key.ptr + 2);
    return 0;
}
