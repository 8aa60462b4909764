/* Kafka record batches (RecordBatch v2) for kw_client_produce / kw_client_fetch: a writer and a reader. */
#ifndef KW_BATCH_H
#define KW_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwal/error.h"
#include "kwal/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A host that talks to the broker in batches (kw_client_produce takes batch
 * bytes, kw_client_fetch returns them) builds them with a kw_batch_writer and
 * reads them with a kw_batch_reader: CRC-32C, varints, compression and the
 * header fields are done here.
 *
 * Threads.  A writer or a reader is used by one thread at a time; different
 * handles share nothing and may be used on different threads at once.  No
 * callbacks.
 *
 * Null and empty keys and values follow kwal/record.h: a NULL pointer is
 * null, a non-NULL pointer with length 0 is empty; the reader gives them back
 * the same way.
 *
 * Producing (errors unchecked for brevity):
 *
 *     kw_batch_writer_options o = {.compression = KW_COMPRESSION_LZ4};
 *     kw_batch_writer_new(&w, &o, NULL, 0);
 *     kw_batch_writer_add(w, now_ms, "key", 3, "value", 5, NULL, 0);   (and more)
 *     kw_batch_writer_finish(w, &view, &len);
 *     kw_batch_writer_take(w, &batch, &len);     (malloc'd; the client frees it)
 *     kw_client_produce_args a = {.topic = "t", .partition = 0, .batch = batch,
 *                                 .batch_len = len, .flags = KW_CLIENT_PRODUCE_TAKE_BATCH};
 *     kw_client_produce_async(client, &a, on_produced, arg);
 *
 * Consuming a fetch result r from offset next:
 *
 *     kw_batch_reader_set(rd, r->records, r->records_len, next);
 *     while (kw_batch_reader_next_batch(rd, &info) == 1) {
 *         while (!info.control && kw_batch_reader_next_record(rd, &rec) == 1)
 *             use(&rec);                         (rec.offset, rec.key, rec.value, ...)
 *         next = info.last_offset + 1;
 *     }
 */

/* ---------------------------------------------------------------- writer */

typedef struct kw_batch_writer kw_batch_writer;

/*
 * How a batch is written; zero for every field is a plain batch for
 * Produce: no compression, no producer id, base timestamp from the first
 * record.
 */
typedef struct kw_batch_writer_options {
    int compression;        /* enum kw_compression; the records are compressed at finish */
    int64_t base_timestamp; /* ms; 0: the first record's timestamp */
    int64_t base_offset;    /* 0: what Produce wants (the broker assigns offsets) */
    /*
     * Idempotent producer: with `idempotent` the header carries producer_id,
     * producer_epoch and base_sequence (from InitProducerId; the sequence of
     * the batch's first record).  Without it they are written as -1.
     */
    bool idempotent;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    bool transactional; /* the batch belongs to a transaction; needs idempotent */
} kw_batch_writer_options;

/*
 * Creates a writer for one batch at a time.  opt may be NULL (all zero).
 * Returns 0, KW_ENOMEM, or KW_EINVAL for bad options (compression outside
 * enum kw_compression, transactional without idempotent), with the reason in
 * errbuf (may be NULL) and *out NULL.
 */
KW_API int kw_batch_writer_new(kw_batch_writer **out, const kw_batch_writer_options *opt,
                               char *errbuf, size_t errlen);

/* Frees the writer and its buffer (any bytes finish returned are gone).  NULL is a no-op. */
KW_API void kw_batch_writer_destroy(kw_batch_writer *w);

/*
 * Adds one record.  key/value: NULL is null, else key_len/value_len bytes
 * (copied; the caller's memory is free again on return).  headers may be
 * NULL when header_count is 0; a header's key may not be NULL (header keys
 * are never null; an empty one is "" with key_len 0).  timestamp in ms
 * (CreateTime).
 * Returns 0 or an error that sticks until reset: KW_EINVAL (a bad argument,
 * or a batch finished already), KW_ETOOBIG (a key, value or the batch past
 * 2 GiB, or INT32_MAX records), KW_ENOMEM.  kw_batch_writer_errstr says why.
 */
KW_API int kw_batch_writer_add(kw_batch_writer *w, int64_t timestamp, const void *key,
                               size_t key_len, const void *value, size_t value_len,
                               const kw_header *headers, size_t header_count);

/*
 * The bytes the record would add to the batch before compression: with
 * kw_batch_writer_size, what a caller needs to cut batches at a byte size
 * (compare the sum before adding).  SIZE_MAX for a record add would refuse
 * for its arguments (or when out of memory converting over 16 headers).
 */
KW_API size_t kw_batch_writer_record_size(const kw_batch_writer *w, int64_t timestamp,
                                          const void *key, size_t key_len, const void *value,
                                          size_t value_len, const kw_header *headers,
                                          size_t header_count);

/* Bytes of the batch so far, header included, uncompressed. */
KW_API size_t kw_batch_writer_size(const kw_batch_writer *w);

/* Records added since the last reset. */
KW_API int32_t kw_batch_writer_count(const kw_batch_writer *w);

/*
 * Completes the batch: compresses the records, fills the header and the
 * CRC.  (*bytes, *len) is the batch, ready for kw_client_produce_args.batch;
 * the memory is the writer's, valid until the next reset, take or destroy.
 * Returns 0, KW_EINVAL for a batch without records (brokers refuse them) or
 * after an earlier error, KW_ECOMPRESSION, KW_ETOOBIG, KW_ENOMEM.  Once
 * finished, add and finish fail with KW_EINVAL until reset.
 */
KW_API int kw_batch_writer_finish(kw_batch_writer *w, const uint8_t **bytes, size_t *len);

/*
 * After a successful finish: hands the batch's buffer to the caller, who
 * frees it with free() (what KW_CLIENT_PRODUCE_TAKE_BATCH expects), and
 * resets the writer (same options, a new buffer on the next add).
 * Returns 0, or KW_EINVAL when no finished batch is waiting.
 */
KW_API int kw_batch_writer_take(kw_batch_writer *w, uint8_t **bytes, size_t *len);

/*
 * Starts a new batch in the same buffer, dropping what was added or
 * finished.  opt NULL keeps the options; otherwise they replace them (a new
 * base_sequence, say), checked as kw_batch_writer_new does (KW_EINVAL: the
 * old options stay).  Clears a sticky error.
 */
KW_API int kw_batch_writer_reset(kw_batch_writer *w, const kw_batch_writer_options *opt);

/* What went wrong last, "" when nothing did; valid until the next call on w. */
KW_API const char *kw_batch_writer_errstr(const kw_batch_writer *w);

/* ---------------------------------------------------------------- reader */

typedef struct kw_batch_reader kw_batch_reader;

typedef struct kw_batch_reader_options {
    /* The most bytes one batch's records may decompress to (more: KW_ETOOBIG); 0: 64 MiB. */
    size_t max_decompressed_bytes;
    /* Skip the CRC-32C check of each batch (on by default: a mismatch is KW_ECRC). */
    bool skip_crc_check;
} kw_batch_reader_options;

/* Creates a reader; opt may be NULL (all zero).  Returns 0 or KW_ENOMEM. */
KW_API int kw_batch_reader_new(kw_batch_reader **out, const kw_batch_reader_options *opt);

/* Frees the reader and its decompression buffer.  NULL is a no-op. */
KW_API void kw_batch_reader_destroy(kw_batch_reader *r);

/*
 * Starts a walk over bytes[0..len): zero or more whole batches, the last of
 * which may be cut off (brokers cut Fetch responses at max_bytes; such a
 * tail ends the walk cleanly).  The bytes are not copied: they must stay
 * unchanged until the next set or destroy.  Records with an offset below
 * start_offset are stepped over (a fetch may begin with a batch holding
 * older records); 0 returns them all.  Clears a sticky error.
 * Returns 0, or KW_EINVAL for NULL bytes with len > 0.
 */
KW_API int kw_batch_reader_set(kw_batch_reader *r, const void *bytes, size_t len,
                               int64_t start_offset);

/* One batch's header, as kw_batch_reader_next_batch reads it. */
typedef struct kw_batch_info {
    int64_t base_offset;
    int64_t last_offset;   /* base_offset + lastOffsetDelta (also after compaction) */
    int32_t record_count;  /* as the header says */
    int64_t base_timestamp;
    int64_t max_timestamp; /* the broker's append time when timestamp_type is LOG_APPEND_TIME */
    int timestamp_type;    /* enum kw_timestamp_type */
    int compression;       /* enum kw_compression */
    int64_t producer_id;   /* -1: none */
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t partition_leader_epoch;
    bool transactional;
    bool control; /* transaction markers: its records carry control_type */
    /* The whole batch as it sits in the bytes given to set (e.g. to store or forward it). */
    const uint8_t *bytes;
    size_t len;
} kw_batch_info;

/*
 * The next batch: 1 with *out filled, 0 at the end (including a cut-off
 * tail: see kw_batch_reader_remaining), or a negative error that sticks
 * until the next set, with kw_batch_reader_errstr naming the batch's offset
 * and what is wrong: KW_EUNSUPPORTED (a message format other than magic 2),
 * KW_EMALFORMED (a length shorter than the header, a negative record count),
 * KW_ECRC (the checksum does not match the bytes).  The records are read
 * lazily, by kw_batch_reader_next_record; a batch whose records are not
 * wanted costs no decompression.  out->bytes points into the caller's bytes.
 */
KW_API int kw_batch_reader_next_batch(kw_batch_reader *r, kw_batch_info *out);

/* The kinds of control records (the records of a control batch). */
enum kw_batch_control_type {
    KW_BATCH_CONTROL_ABORT = 0,  /* the producer's transaction was aborted */
    KW_BATCH_CONTROL_COMMIT = 1, /* the producer's transaction was committed */
};

/*
 * One record.  key/value: NULL for null, else key_len/value_len bytes (maybe
 * 0: empty).  They point into the caller's bytes (uncompressed batch) or the
 * reader's decompression buffer: valid until the next next_batch, set or
 * destroy.  headers: header_count entries in the reader's memory, valid
 * until the next next_record, next_batch, set or destroy; their keys and
 * values live as long as the record's key and value.
 */
typedef struct kw_batch_record {
    int64_t offset;
    int64_t timestamp; /* the batch's max_timestamp when it uses LogAppendTime */
    const uint8_t *key;
    size_t key_len;
    const uint8_t *value;
    size_t value_len;
    const kw_header *headers;
    size_t header_count;
    /* In a control batch (kw_batch_info.control): the type in the record's key, an enum
     * kw_batch_control_type or a type this kwal does not know.  In a data batch: -1. */
    int control_type;
} kw_batch_record;

/*
 * The next record of the batch the last next_batch returned, at or past
 * start_offset: 1 with *out filled, 0 at the end of the batch, or a negative
 * error.  KW_EINVAL when there is no batch (next_batch was not called, or
 * did not return 1) is a misuse and does not stick; the others are bad input
 * and stick until the next set, kw_batch_reader_errstr naming the batch's
 * offset and what is wrong: KW_EMALFORMED (a record that does
 * not fit its length or the batch, a record count that disagrees, a control
 * record without its 4-byte key), KW_EUNSUPPORTED (an unknown codec),
 * KW_ECOMPRESSION (compressed bytes that do not decompress), KW_ETOOBIG
 * (more than max_decompressed_bytes), KW_ENOMEM.
 */
KW_API int kw_batch_reader_next_record(kw_batch_reader *r, kw_batch_record *out);

/*
 * Bytes after the last whole batch read so far: after next_batch returned
 * 0, more than 0 means the input ended in a cut-off batch.
 */
KW_API size_t kw_batch_reader_remaining(const kw_batch_reader *r);

/* What went wrong, "" when nothing did; valid until the next call on r. */
KW_API const char *kw_batch_reader_errstr(const kw_batch_reader *r);

#ifdef __cplusplus
}
#endif
#endif /* KW_BATCH_H */
