/* kw_batch_writer (kwal/batch.h): the public face of the internal batch builder, one batch at a time. */
#include "kwal/batch.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "batch.h"

/* Headers converted for the builder: on the stack up to this many, else in the writer's array. */
#define STACK_HEADERS 16

struct kw_batch_writer {
    kw_wr buf; /* the batch: header then records, compressed in place by finish */
    kw_batch_builder builder;
    kw_batch_opts opts;
    bool finished;
    int err; /* sticky until reset */
    char errstr[160];
    kw_record_header *headers; /* conversion room for records with many headers */
    size_t headers_cap;
};

__attribute__((format(printf, 3, 4))) static int fail(kw_batch_writer *w, int code,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->errstr, sizeof w->errstr, fmt, ap);
    va_end(ap);
    return w->err = code;
}

/* Checks public options and turns them into the builder's; errbuf gets the reason. */
static int convert_options(const kw_batch_writer_options *opt, kw_batch_opts *out, char *errbuf,
                           size_t errlen)
{
    kw_batch_writer_options o = opt ? *opt : (kw_batch_writer_options){0};
    if (o.compression < KW_COMPRESSION_NONE || o.compression > KW_COMPRESSION_ZSTD) {
        snprintf(errbuf, errlen,
                 "compression %d is not one of none (0), gzip (1), snappy (2), lz4 (3), zstd (4)",
                 o.compression);
        return KW_EINVAL;
    }
    if (o.transactional && !o.idempotent) {
        snprintf(errbuf, errlen,
                 "a transactional batch needs idempotent (a producer id and epoch)");
        return KW_EINVAL;
    }
    /* enum kw_compression has Kafka's codec numbers, as enum kw_codec does */
    *out = (kw_batch_opts){
        .base_offset = o.base_offset,
        .base_timestamp = o.base_timestamp,
        .codec = o.compression,
        .idempotent = o.idempotent,
        .producer_id = o.producer_id,
        .producer_epoch = o.producer_epoch,
        .base_sequence = o.base_sequence,
        .transactional = o.transactional,
    };
    return 0;
}

/* Starts a batch at the start of the buffer. */
static int begin(kw_batch_writer *w)
{
    w->buf.len = 0;
    w->buf.err = 0;
    w->finished = false;
    w->err = 0;
    w->errstr[0] = 0;
    int rc = kw__batch_begin(&w->builder, &w->buf, &w->opts);
    if (rc < 0)
        return fail(w, rc, "cannot start a batch: %s", kw_strerror(rc));
    return 0;
}

int kw_batch_writer_new(kw_batch_writer **out, const kw_batch_writer_options *opt, char *errbuf,
                        size_t errlen)
{
    char why[160];
    *out = NULL;
    kw_batch_opts o;
    int rc = convert_options(opt, &o, why, sizeof why);
    if (rc < 0) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "%s", why);
        return rc;
    }
    kw_batch_writer *w = calloc(1, sizeof *w);
    if (!w) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "out of memory");
        return KW_ENOMEM;
    }
    kw__wr_init(&w->buf);
    w->opts = o;
    rc = begin(w);
    if (rc < 0) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "%s", w->errstr);
        kw_batch_writer_destroy(w);
        return rc;
    }
    *out = w;
    return 0;
}

void kw_batch_writer_destroy(kw_batch_writer *w)
{
    if (!w)
        return;
    kw__wr_free(&w->buf);
    free(w->headers);
    free(w);
}

/* A key or value: NULL is null; a length the wire cannot carry is -2 (KW_ETOOBIG). */
static kw_bytes to_bytes(const void *p, size_t len)
{
    if (!p)
        return KW_BYTES_NULL;
    if (len > INT32_MAX)
        return (kw_bytes){NULL, -2};
    return (kw_bytes){(const uint8_t *)p, (int32_t)len};
}

/*
 * Converts the headers for the builder into room (stack_room or the
 * writer's array).  Returns 0 or an error with *why saying which header.
 */
static int convert_headers(kw_record_header *room, const kw_header *headers, size_t count,
                           char *why, size_t whylen)
{
    for (size_t i = 0; i < count; i++) {
        const kw_header *h = &headers[i];
        if (!h->key) {
            snprintf(why, whylen, "header %zu has a NULL key (header keys are never null)", i);
            return KW_EINVAL;
        }
        kw_bytes v = to_bytes(h->value, h->value_len);
        if (h->key_len > INT32_MAX || v.len == -2) {
            snprintf(why, whylen, "header %zu has a key or value over 2 GiB", i);
            return KW_ETOOBIG;
        }
        room[i] = (kw_record_header){{h->key, (int32_t)h->key_len}, v};
    }
    return 0;
}

/* Room for count converted headers: the stack array or the writer's (grown); NULL: no memory. */
static kw_record_header *header_room(kw_batch_writer *w, kw_record_header *stack, size_t count)
{
    if (count <= STACK_HEADERS)
        return stack;
    if (count > w->headers_cap) {
        if (count > SIZE_MAX / sizeof *w->headers)
            return NULL;
        kw_record_header *n = realloc(w->headers, count * sizeof *n);
        if (!n)
            return NULL;
        w->headers = n;
        w->headers_cap = count;
    }
    return w->headers;
}

int kw_batch_writer_add(kw_batch_writer *w, int64_t timestamp, const void *key, size_t key_len,
                        const void *value, size_t value_len, const kw_header *headers,
                        size_t header_count)
{
    if (w->err)
        return w->err;
    if (w->finished)
        return fail(w, KW_EINVAL, "the batch is finished: reset the writer before adding");
    if (header_count && !headers)
        return fail(w, KW_EINVAL, "%zu headers given with a NULL array", header_count);
    kw_bytes k = to_bytes(key, key_len), v = to_bytes(value, value_len);
    if (k.len == -2 || v.len == -2)
        return fail(w, KW_ETOOBIG, "record %" PRId32 ": a key or value over 2 GiB",
                    w->builder.count);
    kw_record_header stack[STACK_HEADERS];
    kw_record_header *room = header_room(w, stack, header_count);
    if (!room)
        return fail(w, KW_ENOMEM, "out of memory for %zu headers", header_count);
    char why[96];
    int rc = convert_headers(room, headers, header_count, why, sizeof why);
    if (rc < 0)
        return fail(w, rc, "record %" PRId32 ": %s", w->builder.count, why);
    rc = kw__batch_add(&w->builder, timestamp, k, v, room, header_count);
    if (rc < 0)
        return fail(w, rc, "record %" PRId32 ": %s", w->builder.count,
                    rc == KW_ETOOBIG ? "the batch would pass 2 GiB or INT32_MAX records"
                                     : kw_strerror(rc));
    return 0;
}

size_t kw_batch_writer_record_size(const kw_batch_writer *w, int64_t timestamp, const void *key,
                                   size_t key_len, const void *value, size_t value_len,
                                   const kw_header *headers, size_t header_count)
{
    kw_bytes k = to_bytes(key, key_len), v = to_bytes(value, value_len);
    if (k.len == -2 || v.len == -2 || (header_count && !headers))
        return SIZE_MAX; /* add would refuse it: no batch can hold it */
    kw_record_header stack[STACK_HEADERS];
    kw_record_header *room = stack;
    if (header_count > STACK_HEADERS) {
        room = header_count <= SIZE_MAX / sizeof *room ? malloc(header_count * sizeof *room) : NULL;
        if (!room)
            return SIZE_MAX;
    }
    char why[96];
    size_t n = SIZE_MAX;
    if (convert_headers(room, headers, header_count, why, sizeof why) == 0)
        n = kw__batch_record_size(&w->builder, timestamp, k, v, room, header_count);
    if (room != stack)
        free(room);
    return n;
}

size_t kw_batch_writer_size(const kw_batch_writer *w)
{
    return kw__batch_size(&w->builder);
}

int32_t kw_batch_writer_count(const kw_batch_writer *w)
{
    return w->builder.count;
}

int kw_batch_writer_finish(kw_batch_writer *w, const uint8_t **bytes, size_t *len)
{
    *bytes = NULL;
    *len = 0;
    if (w->err)
        return w->err;
    if (w->finished)
        return fail(w, KW_EINVAL, "the batch is finished already: reset the writer first");
    if (w->builder.count == 0)
        return fail(w, KW_EINVAL, "a batch needs at least one record (brokers refuse empty ones)");
    int rc = kw__batch_finish(&w->builder);
    if (rc < 0)
        return fail(w, rc, "cannot finish the batch of %" PRId32 " records (%s): %s",
                    w->builder.count, kw__codec_name(w->opts.codec), kw_strerror(rc));
    w->finished = true;
    *bytes = w->buf.buf;
    *len = w->buf.len;
    return 0;
}

int kw_batch_writer_take(kw_batch_writer *w, uint8_t **bytes, size_t *len)
{
    *bytes = NULL;
    *len = 0;
    if (!w->finished || w->err) {
        snprintf(w->errstr, sizeof w->errstr, "no finished batch to take");
        return KW_EINVAL;
    }
    *bytes = w->buf.buf;
    *len = w->buf.len;
    kw__wr_init(&w->buf); /* the buffer is the caller's now */
    (void)begin(w);       /* out of memory here sticks to the writer: the next add reports it */
    return 0;
}

int kw_batch_writer_reset(kw_batch_writer *w, const kw_batch_writer_options *opt)
{
    if (opt) {
        kw_batch_opts o;
        int rc = convert_options(opt, &o, w->errstr, sizeof w->errstr);
        if (rc < 0)
            return rc; /* the old options and the batch stay as they were */
        w->opts = o;
    }
    return begin(w);
}

const char *kw_batch_writer_errstr(const kw_batch_writer *w)
{
    return w->errstr;
}
