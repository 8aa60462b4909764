/* RecordBatch v2: the builder that writes one batch and the iterators over batches and records. */
#ifndef KW_PROTO_BATCH_H
#define KW_PROTO_BATCH_H

#include "compress.h"
#include "wire.h"

/* Byte offsets of the batch header (magic 2), as KAFKA-NOTES.md lays them out. */
enum {
    KW_BATCH_OFF_BASE_OFFSET = 0,
    KW_BATCH_OFF_LENGTH = 8,
    KW_BATCH_OFF_LEADER_EPOCH = 12,
    KW_BATCH_OFF_MAGIC = 16,
    KW_BATCH_OFF_CRC = 17,
    KW_BATCH_OFF_ATTRIBUTES = 21, /* the CRC covers from here to the end */
    KW_BATCH_OFF_LAST_OFFSET_DELTA = 23,
    KW_BATCH_OFF_BASE_TIMESTAMP = 27,
    KW_BATCH_OFF_MAX_TIMESTAMP = 35,
    KW_BATCH_OFF_PRODUCER_ID = 43,
    KW_BATCH_OFF_PRODUCER_EPOCH = 51,
    KW_BATCH_OFF_BASE_SEQUENCE = 53,
    KW_BATCH_OFF_RECORDS_COUNT = 57,
    KW_BATCH_HEADER_SIZE = 61,
    /* batchLength counts the bytes after itself */
    KW_BATCH_LENGTH_OVERHEAD = 12,
};

/* Attribute bits. */
enum {
    KW_BATCH_ATTR_CODEC_MASK = 0x07,
    KW_BATCH_ATTR_LOG_APPEND_TIME = 0x08,
    KW_BATCH_ATTR_TRANSACTIONAL = 0x10,
    KW_BATCH_ATTR_CONTROL = 0x20,
    KW_BATCH_ATTR_DELETE_HORIZON = 0x40,
};

/* A record header: the key is never null on the wire, the value may be. */
typedef struct kw_record_header {
    kw_str key;
    kw_bytes value;
} kw_record_header;

/* ---------------------------------------------------------------- builder */

/*
 * How a batch is written.  Zero is the default for every field: offset 0,
 * leader epoch -1, no producer id (-1/-1/-1), no codec, base timestamp
 * taken from the first record.
 */
typedef struct kw_batch_opts {
    int64_t base_offset;    /* 0 for Produce (the broker assigns offsets) */
    int64_t base_timestamp; /* ms; 0 = the first record's timestamp */
    int codec;              /* enum kw_codec; the records section is compressed at finish */
    bool idempotent;        /* write producer_id/epoch/base_sequence, else -1/-1/-1 */
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    bool transactional; /* attribute bit 4; needs idempotent */
    bool control;       /* attribute bit 5: for writing transaction markers in tests */
    bool set_leader_epoch;
    int32_t leader_epoch; /* used when set_leader_epoch; clients send -1 */
} kw_batch_opts;

/*
 * Writes one batch straight into a writer: records are encoded into the
 * writer as they are added (no per-record allocation; the writer only grows),
 * and the header, the compression and the CRC are done by finish.
 */
typedef struct kw_batch_builder {
    kw_wr *out;
    size_t start; /* where the batch begins in out */
    kw_batch_opts opts;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int32_t count;
    int err;
} kw_batch_builder;

/* Starts a batch at the end of out (opts may be NULL).  Returns 0 or KW_EINVAL. */
int kw__batch_begin(kw_batch_builder *b, kw_wr *out, const kw_batch_opts *opts);

/*
 * Appends one record.  key and value may be null (len -1); headers may be NULL
 * when n_headers is 0, and a header key may not be null.  Returns 0 or the
 * sticky error (KW_EINVAL, KW_ENOMEM, KW_ETOOBIG for a fixed writer or past
 * INT32_MAX records/bytes).
 */
int kw__batch_add(kw_batch_builder *b, int64_t timestamp, kw_bytes key, kw_bytes value,
                  const kw_record_header *headers, size_t n_headers);

/* The bytes a record would add to the batch before compression (length prefix included). */
size_t kw__batch_record_size(const kw_batch_builder *b, int64_t timestamp, kw_bytes key,
                             kw_bytes value, const kw_record_header *headers, size_t n_headers);

/* Bytes the batch takes in out so far (header + uncompressed records). */
static inline size_t kw__batch_size(const kw_batch_builder *b)
{
    return b->out->len - b->start;
}

/*
 * Completes the batch: compresses the records section when a codec is set,
 * then fills batchLength, lastOffsetDelta, maxTimestamp, the record count and
 * the CRC.  The batch is out->buf[b->start .. out->len).  A batch needs at
 * least one record (KW_EINVAL otherwise: the broker rejects empty batches).
 * On error out->len is back at b->start.
 */
int kw__batch_finish(kw_batch_builder *b);

/* Drops the batch: out->len goes back to where begin found it. */
void kw__batch_abort(kw_batch_builder *b);

/*
 * Rewrites a finished batch's producer id, epoch and base sequence and its
 * CRC, in place: how an idempotent producer renumbers a batch it resends
 * after an epoch bump.  batch is one whole batch of len bytes (at least the
 * header).
 */
void kw__batch_set_producer(uint8_t *batch, size_t len, int64_t producer_id, int16_t epoch,
                            int32_t base_sequence);

/* ---------------------------------------------------------------- batches */

/* One batch header as read; `records` points at the (possibly compressed) records section. */
typedef struct kw_batch {
    int64_t base_offset;
    int32_t batch_length;
    int32_t partition_leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t records_count;
    const uint8_t *records;
    size_t records_len;
    const uint8_t *raw; /* the whole batch, header included */
    size_t raw_len;
} kw_batch;

static inline int kw__batch_codec(const kw_batch *b)
{
    return b->attributes & KW_BATCH_ATTR_CODEC_MASK;
}
static inline bool kw__batch_is_transactional(const kw_batch *b)
{
    return b->attributes & KW_BATCH_ATTR_TRANSACTIONAL;
}
static inline bool kw__batch_is_control(const kw_batch *b)
{
    return b->attributes & KW_BATCH_ATTR_CONTROL;
}
static inline bool kw__batch_log_append_time(const kw_batch *b)
{
    return b->attributes & KW_BATCH_ATTR_LOG_APPEND_TIME;
}
/* The offset of the batch's last record (also after compaction removed some). */
static inline int64_t kw__batch_last_offset(const kw_batch *b)
{
    return (int64_t)((uint64_t)b->base_offset + (uint64_t)(int64_t)b->last_offset_delta);
}
/* The offset to fetch from after this batch. */
static inline int64_t kw__batch_next_offset(const kw_batch *b)
{
    return (int64_t)((uint64_t)kw__batch_last_offset(b) + 1);
}

/* Room for the detail text an iterator keeps about its error. */
#define KW_BATCH_ERRSTR_LEN 128

/* Flags for kw__batch_iter_init. */
enum {
    KW_BATCH_VERIFY_CRC = 1, /* check every batch's CRC-32C (KW_ECRC on mismatch) */
};

/*
 * Walks the batches of a `records` byte string (one partition of a Fetch
 * response, or a WAL segment).  Nothing is copied.
 */
typedef struct kw_batch_iter {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    unsigned flags;
    int err;
    char errstr[KW_BATCH_ERRSTR_LEN];
} kw_batch_iter;

void kw__batch_iter_init(kw_batch_iter *it, const uint8_t *buf, size_t len, unsigned flags);

/*
 * The next batch: 1 with *out filled, 0 at the end, or a negative error that
 * sticks (it->errstr says which batch and why).  A last batch that is cut off
 * (fewer bytes left than its header or its batchLength) ends the walk
 * cleanly: brokers cut Fetch responses at max bytes.  it->pos is then the
 * number of whole batches' bytes.  Errors: KW_EUNSUPPORTED for magic other
 * than 2, KW_EMALFORMED for a batchLength shorter than the header or a
 * negative record count, KW_ECRC for a bad checksum (with KW_BATCH_VERIFY_CRC).
 */
int kw__batch_next(kw_batch_iter *it, kw_batch *out);

/* ---------------------------------------------------------------- records */

/* One record; key, value and headers point into the batch (or the scratch it was inflated into). */
typedef struct kw_record {
    int64_t offset;
    int64_t timestamp;
    int8_t attributes;
    kw_bytes key;
    kw_bytes value;
    int32_t header_count;
    const uint8_t *headers; /* header_count encoded headers, already checked */
    size_t headers_len;
} kw_record;

typedef struct kw_record_iter {
    const uint8_t *p;
    const uint8_t *end;
    int32_t left; /* records the header says are still to come */
    int64_t base_offset;
    int64_t base_timestamp;
    int64_t max_timestamp;
    bool log_append_time;
    int64_t skip_below; /* records with a lower offset are stepped over */
    int err;
    char errstr[KW_BATCH_ERRSTR_LEN];
} kw_record_iter;

/*
 * Starts reading the records of batch b.  A compressed batch is decompressed
 * into scratch (its length is reset to 0 first, so the records of the
 * previous batch read through it are gone) with at most `limit` bytes
 * (0 = 64 MiB); scratch may be NULL for uncompressed batches.  Records whose
 * offset is below skip_below are not returned (pass 0 or INT64_MIN to get
 * all); a batch that ends below it is not even decompressed.  Returns 0 or an
 * error: KW_EUNSUPPORTED (codec 5-7), KW_EINVAL (compressed, no scratch),
 * KW_ETOOBIG, KW_ECOMPRESSION, KW_ENOMEM.
 */
int kw__record_iter_init(kw_record_iter *it, const kw_batch *b, kw_wr *scratch, size_t limit,
                         int64_t skip_below);

/*
 * The next record: 1 with *out filled, 0 at the end of the batch, or a
 * negative error that sticks: KW_EMALFORMED for a length past the end of the
 * batch, a negative length other than -1 for null, a record that does not
 * fill exactly its declared length, or a record count that disagrees with the
 * records present.
 */
int kw__record_next(kw_record_iter *it, kw_record *out);

/* Walks the headers of one record (checked by kw__record_next, so this cannot fail). */
typedef struct kw_header_iter {
    const uint8_t *p;
    const uint8_t *end;
    int32_t left;
} kw_header_iter;

static inline kw_header_iter kw__record_headers(const kw_record *r)
{
    return (kw_header_iter){r->headers, r->headers + r->headers_len, r->header_count};
}
/* 1 with *out filled, 0 when there are no more. */
int kw__header_next(kw_header_iter *it, kw_record_header *out);

/* ---------------------------------------------------------------- control records */

/* The control record types of transaction markers. */
enum kw_control_type {
    KW_CONTROL_ABORT = 0,
    KW_CONTROL_COMMIT = 1,
};

/*
 * Reads the key of a record from a control batch: int16 version, int16 type.
 * Returns 0, or KW_EMALFORMED when the key is null or shorter than 4 bytes.
 * A consumer reading committed data drops the records of producer_id between
 * its first batch and an ABORT marker of the same producer id.
 */
int kw__control_record_parse(const kw_record *r, int16_t *version, int16_t *type);

/* Writes a control record key (version 0) into a 4-byte buffer, for tests and tools. */
static inline kw_bytes kw__control_key(uint8_t buf[4], int16_t type)
{
    kw_store_be16(buf, 0);
    kw_store_be16(buf + 2, (uint16_t)type);
    return (kw_bytes){buf, 4};
}

#endif /* KW_PROTO_BATCH_H */
