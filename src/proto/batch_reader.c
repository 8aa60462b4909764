/* kw_batch_reader (kwal/batch.h): the public face of the internal batch and record iterators. */
#include "kwal/batch.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "batch.h"

struct kw_batch_reader {
    kw_batch_reader_options opts;
    kw_batch_iter batches;
    int64_t start_offset;
    kw_batch batch;       /* the batch next_batch returned last */
    bool have_batch;      /* batch is valid: next_record may read it */
    bool records_started; /* records is set up for batch */
    kw_record_iter records;
    kw_wr scratch; /* where compressed records are inflated, reused batch after batch */
    kw_header *headers; /* the current record's headers */
    size_t headers_cap;
    int err; /* sticky until set */
    char errstr[KW_BATCH_ERRSTR_LEN + 96];
};

/* An empty (not null) key or value whose bytes have no address of their own. */
static const uint8_t empty_bytes[1];

__attribute__((format(printf, 3, 4))) static int fail(kw_batch_reader *r, int code,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->errstr, sizeof r->errstr, fmt, ap);
    va_end(ap);
    return r->err = code;
}

int kw_batch_reader_new(kw_batch_reader **out, const kw_batch_reader_options *opt)
{
    kw_batch_reader *r = calloc(1, sizeof *r);
    *out = r;
    if (!r)
        return KW_ENOMEM;
    if (opt)
        r->opts = *opt;
    kw__wr_init(&r->scratch);
    kw__batch_iter_init(&r->batches, NULL, 0, 0);
    return 0;
}

void kw_batch_reader_destroy(kw_batch_reader *r)
{
    if (!r)
        return;
    kw__wr_free(&r->scratch);
    free(r->headers);
    free(r);
}

int kw_batch_reader_set(kw_batch_reader *r, const void *bytes, size_t len, int64_t start_offset)
{
    r->have_batch = false;
    r->records_started = false;
    r->err = 0;
    r->errstr[0] = 0;
    if (!bytes && len > 0) {
        kw__batch_iter_init(&r->batches, NULL, 0, 0); /* remaining() reads 0 */
        snprintf(r->errstr, sizeof r->errstr, "NULL bytes with a length of %zu", len);
        return KW_EINVAL;
    }
    kw__batch_iter_init(&r->batches, bytes, len, r->opts.skip_crc_check ? 0 : KW_BATCH_VERIFY_CRC);
    r->start_offset = start_offset;
    return 0;
}

int kw_batch_reader_next_batch(kw_batch_reader *r, kw_batch_info *out)
{
    r->have_batch = false;
    r->records_started = false;
    if (r->err)
        return r->err;
    kw_batch *b = &r->batch;
    int rc = kw__batch_next(&r->batches, b);
    if (rc < 0)
        return fail(r, rc, "%s", r->batches.errstr);
    if (rc == 0)
        return 0;
    *out = (kw_batch_info){
        .base_offset = b->base_offset,
        .last_offset = kw__batch_last_offset(b),
        .record_count = b->records_count,
        .base_timestamp = b->base_timestamp,
        .max_timestamp = b->max_timestamp,
        .timestamp_type = kw__batch_log_append_time(b) ? KW_TIMESTAMP_LOG_APPEND_TIME
                                                       : KW_TIMESTAMP_CREATE_TIME,
        .compression = kw__batch_codec(b),
        .producer_id = b->producer_id,
        .producer_epoch = b->producer_epoch,
        .base_sequence = b->base_sequence,
        .partition_leader_epoch = b->partition_leader_epoch,
        .transactional = kw__batch_is_transactional(b),
        .control = kw__batch_is_control(b),
        .bytes = b->raw,
        .len = b->raw_len,
    };
    r->have_batch = true;
    return 1;
}

/* A key or value as the public struct has it: NULL for null, else a non-NULL pointer. */
static void from_bytes(kw_bytes in, const uint8_t **ptr, size_t *len)
{
    if (in.len < 0) {
        *ptr = NULL;
        *len = 0;
        return;
    }
    *ptr = in.ptr ? in.ptr : empty_bytes;
    *len = (size_t)in.len;
}

/* Fills the reader's header array from the record (whose headers kw__record_next checked). */
static int read_headers(kw_batch_reader *r, const kw_record *rec)
{
    size_t n = (size_t)rec->header_count;
    if (n > r->headers_cap) {
        /* each header took at least two bytes of the record, so n is bounded by the input */
        kw_header *h = realloc(r->headers, n * sizeof *h);
        if (!h)
            return fail(r, KW_ENOMEM, "batch at offset %" PRId64 ", record at offset %" PRId64
                                      ": out of memory for %zu headers",
                        r->batch.base_offset, rec->offset, n);
        r->headers = h;
        r->headers_cap = n;
    }
    kw_header_iter it = kw__record_headers(rec);
    kw_record_header h;
    size_t i = 0;
    while (i < n && kw__header_next(&it, &h) == 1) {
        const uint8_t *k, *v;
        size_t klen, vlen;
        from_bytes((kw_bytes){(const uint8_t *)h.key.ptr, h.key.len}, &k, &klen);
        from_bytes(h.value, &v, &vlen);
        r->headers[i++] = (kw_header){(const char *)k, klen, v, vlen};
    }
    if (i != n) /* cannot happen for headers kw__record_next accepted */
        return fail(r, KW_EMALFORMED,
                    "batch at offset %" PRId64 ", record at offset %" PRId64
                    ": %zu of %zu headers readable",
                    r->batch.base_offset, rec->offset, i, n);
    return 0;
}

int kw_batch_reader_next_record(kw_batch_reader *r, kw_batch_record *out)
{
    if (r->err)
        return r->err;
    if (!r->have_batch) {
        /* a misuse, not bad input: it does not stick */
        snprintf(r->errstr, sizeof r->errstr,
                 "no batch to read records from: kw_batch_reader_next_batch did not return 1");
        return KW_EINVAL;
    }
    if (!r->records_started) {
        int rc = kw__record_iter_init(&r->records, &r->batch, &r->scratch,
                                      r->opts.max_decompressed_bytes, r->start_offset);
        if (rc < 0)
            return fail(r, rc, "%s", r->records.errstr);
        r->records_started = true;
    }
    kw_record rec;
    int rc = kw__record_next(&r->records, &rec);
    if (rc < 0)
        return fail(r, rc, "%s", r->records.errstr);
    if (rc == 0)
        return 0;
    int control_type = -1;
    if (kw__batch_is_control(&r->batch)) {
        int16_t version, type;
        if (kw__control_record_parse(&rec, &version, &type) < 0)
            return fail(r, KW_EMALFORMED,
                        "batch at offset %" PRId64 ", control record at offset %" PRId64
                        ": its key has %" PRId32 " bytes, a control key needs 4 (version, type)",
                        r->batch.base_offset, rec.offset, rec.key.len);
        control_type = type;
    }
    rc = read_headers(r, &rec);
    if (rc < 0)
        return rc;
    *out = (kw_batch_record){
        .offset = rec.offset,
        .timestamp = rec.timestamp,
        .headers = rec.header_count ? r->headers : NULL,
        .header_count = (size_t)rec.header_count,
        .control_type = control_type,
    };
    from_bytes(rec.key, &out->key, &out->key_len);
    from_bytes(rec.value, &out->value, &out->value_len);
    return 1;
}

size_t kw_batch_reader_remaining(const kw_batch_reader *r)
{
    return r->batches.len - r->batches.pos;
}

const char *kw_batch_reader_errstr(const kw_batch_reader *r)
{
    return r->errstr;
}
