/* kwal's partition consumer: assigned partitions fetched ahead on the client's loop, records handed out by poll. */
#ifndef KW_CONSUMER_H
#define KW_CONSUMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwal/client.h"
#include "kwal/error.h"
#include "kwal/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A kw_consumer reads partitions the caller assigns (no consumer group, no
 * committed offsets: the caller says where each partition starts).  It sits
 * on a kw_client and uses its connections.
 *
 * Pipeline.  For every assigned partition the client's loop keeps up to
 * `fetches` Fetch requests in flight at increasing offsets (each asking for
 * at most fetch_bytes), guessing where the next one starts from the bytes
 * per offset seen so far, and never past the high watermark (the last
 * stable offset with read_committed) last reported.  Responses are queued in
 * offset order: the part of a response an earlier one already covered is
 * dropped, and when a response starts past where the one before it ended the
 * hole is fetched before anything after it is delivered, so poll returns
 * every record once, in offset order.  Responses are kept as they arrived
 * (the connection's read buffer is taken, not copied) and records are
 * decoded by poll, on the caller's thread, pointing into those buffers.
 * While answers wait for poll, the loop thread checks the CRCs of the next
 * one and inflates its compressed batches, so both threads share that work.
 *
 * Threads.  Every kw_consumer_* call on one consumer must come from one
 * thread at a time (the "poll thread"; the calls are not serialized against
 * each other), never from a client callback.  The client's I/O thread (or,
 * host-driven, whoever runs the client's loop) sends the fetches, files the
 * answers and calls the log callback; records are decoded by
 * kw_consumer_poll on the poll thread.  Blocking: kw_consumer_poll called
 * on the client's loop thread (any client callback, or while a host-driven
 * client's loop is being run by another call) returns KW_EDEADLK at once
 * instead of waiting for a loop that cannot run.  In host-driven mode
 * kw_consumer_poll runs the client's loop itself while it waits (callbacks
 * of other client calls then run inside it).  Two consumers on one client
 * are independent.
 *
 * Lifetimes.  The records and errors kw_consumer_poll returns, and all they
 * point to (keys, values, headers, topic names, detail texts), stay valid
 * until the next kw_consumer_poll or kw_consumer_destroy on the consumer;
 * a partition's also until it is unassigned.  Destroy every consumer before
 * its client.
 *
 * Memory.  Per partition at most `fetches` answers are out or waiting to be
 * filed and at most `fetches` are queued for poll (each about fetch_bytes,
 * plus its compressed batches inflated when the loop thread inflated them
 * ahead because poll was behind), and the answers the records of the last
 * poll point into.
 *
 * Errors.  A partition that cannot go on (offset out of range with no reset
 * policy, a deleted or unknown topic, an authorization failure, a corrupt
 * batch) is reported once, as a kw_consumer_error from poll, and stops:
 * nothing more is fetched for it until kw_consumer_seek or a new
 * kw_consumer_assign.  Passing failures (a broker down, a leader moving, a
 * fetch timing out) are retried by the client and then by the consumer,
 * logged at KW_LOG_WARN, not reported.
 *
 * Topic ids.  With Fetch v13 or later (Kafka 3.1+, unless api_version_max
 * caps it lower) fetches name the topic by its id, and the consumer keeps the
 * id its partition started reading.  A topic deleted and created again under
 * the same name has a new id and a new log whose offsets start over: the
 * partition stops with err KW_ENOTFOUND, kerr 100 (UNKNOWN_TOPIC_ID) and a
 * detail naming both ids (or with kerr 3 when the topic was still missing at
 * the fetch deadline), never with the new topic's records at the old one's
 * offsets.  kw_consumer_seek goes on with the new topic.
 *
 * Data loss.  The broker answers a fetch with the batch holding the offset
 * asked, and batches follow each other without holes, so an answer that
 * starts past the offset asked, or has a hole between two batches, means
 * records are missing.  That is expected below the log start the answer
 * reports (retention, DeleteRecords: delivery goes on past it, logged at
 * INFO) and on a compacted topic (the consumer asks the topic's
 * cleanup.policy with DescribeConfigs once, at the first hole it sees).
 * Otherwise the records before the hole are delivered and then the
 * partition is reported with err KW_EDATALOSS, offset the first missing
 * one and the detail naming the missing range ("T[P]: offsets A..B are
 * missing: ..."); kw_consumer_seek past it goes on.  When cleanup.policy
 * cannot be read (no DescribeConfigs permission) a hole is reported too,
 * and the detail says why.
 */
typedef struct kw_consumer kw_consumer;

/* Longest detail text of a partition error, NUL included. */
#define KW_CONSUMER_DETAIL_MAX 256

/* Where a partition starts (kw_consumer_assign) or goes (kw_consumer_seek). */
enum kw_consumer_start_kind {
    KW_CONSUMER_START_OFFSET = 0,    /* value is an offset (>= 0) */
    KW_CONSUMER_START_EARLIEST = 1,  /* the log start offset */
    KW_CONSUMER_START_LATEST = 2,    /* the high watermark (read_committed: the last stable offset) */
    /*
     * value is a timestamp in ms: the first offset whose record timestamp is
     * at or after it (ListOffsets by time).  When no record is that late the
     * partition starts at the latest offset: only records written later are
     * read (no error is reported).
     */
    KW_CONSUMER_START_TIMESTAMP = 3,
};

typedef struct kw_consumer_start {
    int kind; /* enum kw_consumer_start_kind */
    int64_t value;
} kw_consumer_start;

static inline kw_consumer_start kw_consumer_at_offset(int64_t offset)
{
    kw_consumer_start s = {KW_CONSUMER_START_OFFSET, offset};
    return s;
}
static inline kw_consumer_start kw_consumer_at_earliest(void)
{
    kw_consumer_start s = {KW_CONSUMER_START_EARLIEST, 0};
    return s;
}
static inline kw_consumer_start kw_consumer_at_latest(void)
{
    kw_consumer_start s = {KW_CONSUMER_START_LATEST, 0};
    return s;
}
static inline kw_consumer_start kw_consumer_at_timestamp(int64_t timestamp_ms)
{
    kw_consumer_start s = {KW_CONSUMER_START_TIMESTAMP, timestamp_ms};
    return s;
}

enum kw_consumer_isolation {
    /* Every record, including those of open and aborted transactions. */
    KW_CONSUMER_READ_UNCOMMITTED = 0,
    /*
     * Records of committed transactions and non-transactional records only:
     * batches of aborted transactions (the Fetch response's aborted list) are
     * dropped, and reading stops at the last stable offset until the open
     * transactions before it end.
     */
    KW_CONSUMER_READ_COMMITTED = 1,
};

/* What an OFFSET_OUT_OF_RANGE answer (the offset was deleted, or is past the end) does. */
enum kw_consumer_offset_reset {
    KW_CONSUMER_RESET_ERROR = 0,    /* report it (kerr 1) and stop the partition */
    KW_CONSUMER_RESET_EARLIEST = 1, /* go on from the log start offset (logged at WARN) */
    KW_CONSUMER_RESET_LATEST = 2,   /* go on from the high watermark (logged at WARN) */
};

/* Zero means default for every field. */
typedef struct kw_consumer_options {
    int isolation;        /* enum kw_consumer_isolation: READ_UNCOMMITTED */
    /* 1: Fetch requests in flight per partition (and responses queued), at most 64.  One
     * already overlaps the next fetch with decoding; more pay off when the broker is far away
     * (round trips), and cost CPU and memory next to it (answers inflated ahead, guessed
     * offsets overlapping a little).  Catching up on a long partition from a remote broker
     * the way Mimir's concurrent fetchers do: 12, each fetch at its own offset range, sized
     * from the bytes per offset seen so far; records still come out once, in offset order. */
    uint32_t fetches;
    uint32_t fetch_bytes; /* 4 MiB, at most 64 MiB: max bytes of one Fetch (per partition and per
                           * request); a first batch larger than this still comes whole (a 16 MB
                           * record is read with a 1 MiB budget) */
    uint32_t max_wait_ms; /* 500: how long the broker may hold a Fetch that has no data yet */
    uint32_t fetch_timeout_ms; /* 0: the client's request timeout, added to max_wait_ms */
    uint32_t max_poll_records; /* 10000: records one poll returns at most */
    int offset_reset;          /* enum kw_consumer_offset_reset: RESET_ERROR */
    bool skip_crc_check; /* do not check each batch's CRC-32C (checked by default) */
    /* Called on the client's loop thread or the poll thread (possibly both at once); must not
     * call the consumer.  Retries and resets at WARN, reported errors at ERROR, the pipeline's
     * holes and loop-side inflation at DEBUG. */
    kw_log_fn *log;
    void *log_arg;
} kw_consumer_options;

/* One record.  Pointers are valid until the next poll (see Lifetimes). */
typedef struct kw_consumer_record {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms;
    int timestamp_type;    /* enum kw_timestamp_type (LOG_APPEND_TIME: the broker's clock) */
    int32_t leader_epoch;  /* of the batch, -1 unknown */
    const void *key;       /* NULL: a null key; non-NULL with key_len 0: an empty one */
    size_t key_len;
    const void *value;     /* NULL: a null value (a tombstone) */
    size_t value_len;
    const kw_header *headers; /* header_count entries (NULL when 0); see kw_header for null values */
    size_t header_count;
} kw_consumer_record;

/* A partition that stopped.  Valid until the next poll. */
typedef struct kw_consumer_error {
    const char *topic;
    int32_t partition;
    int err;        /* KW_EBROKER (kerr says which), KW_EDATALOSS, KW_ECRC, KW_EMALFORMED, ... */
    int16_t kerr;   /* the Kafka error code: 1 OFFSET_OUT_OF_RANGE, 3 UNKNOWN_TOPIC_OR_PARTITION, ... */
    int64_t offset; /* the offset being fetched when it happened */
    char detail[KW_CONSUMER_DETAIL_MAX];
} kw_consumer_error;

typedef struct kw_consumer_poll_result {
    const kw_consumer_record *records; /* in offset order within each partition */
    size_t record_count;
    const kw_consumer_error *errors;
    size_t error_count;
} kw_consumer_poll_result;

/*
 * Creates a consumer on client (which must outlive it) with no partition
 * assigned; nothing is sent yet.  opts may be NULL.  Returns 0, KW_EINVAL
 * (bad options: errbuf, when not NULL, says which) or KW_ENOMEM.  *out is
 * NULL on failure.
 */
KW_API int kw_consumer_new(kw_consumer **out, kw_client *client, const kw_consumer_options *opts,
                           char *errbuf, size_t errlen);

/*
 * Starts reading partition of topic from start (ListOffsets runs on the
 * loop for EARLIEST, LATEST and TIMESTAMP).  Fetching begins at once; the
 * records come out of poll.  Assigning a partition already assigned moves it
 * like kw_consumer_seek.  Returns 0, KW_EINVAL (NULL topic, negative
 * partition or offset, unknown start kind), KW_ENOMEM or KW_ECLOSED (the
 * client is being destroyed).  A topic that does not exist is reported by
 * poll (kerr 3) once the fetch deadline passes.
 */
KW_API int kw_consumer_assign(kw_consumer *c, const char *topic, int32_t partition,
                              kw_consumer_start start);

/*
 * Stops reading a partition: fetches in flight are dropped when they
 * answer, queued records are discarded.  Returns 0 or KW_ENOTFOUND (not
 * assigned).
 */
KW_API int kw_consumer_unassign(kw_consumer *c, const char *topic, int32_t partition);

/*
 * Moves an assigned partition (also one stopped by an error, which this
 * restarts): what was fetched for the old position is discarded and the
 * next record poll returns for it is the first at the new position.
 * Returns 0, KW_ENOTFOUND (not assigned) or KW_EINVAL.
 */
KW_API int kw_consumer_seek(kw_consumer *c, const char *topic, int32_t partition,
                            kw_consumer_start start);

/*
 * Pause: poll returns no records of the partition and no new fetches are
 * sent for it; what was fetched already is kept and delivered after
 * resume, which picks up exactly where delivery stopped.  0 or KW_ENOTFOUND.
 */
KW_API int kw_consumer_pause(kw_consumer *c, const char *topic, int32_t partition);
KW_API int kw_consumer_resume(kw_consumer *c, const char *topic, int32_t partition);

/*
 * The offset of the next record poll will return for the partition (the
 * start resolved by ListOffsets once it has answered), or -1 when not known
 * yet.  0 or KW_ENOTFOUND.
 */
KW_API int kw_consumer_position(kw_consumer *c, const char *topic, int32_t partition,
                                int64_t *offset);

/*
 * Waits up to timeout_ms (0: no wait, -1: until something comes) for
 * records or partition errors and returns what is ready: at most
 * max_poll_records records (a poll may stop inside a batch; the next goes
 * on from there), taken from the partitions in turn.  *out is valid until
 * the next poll (see Lifetimes); records of the previous poll are released
 * on entry.  Returns 0 (out may be empty when the time ran out), KW_EDEADLK
 * (called on the client's loop thread: a client callback, or while a
 * host-driven loop is being run by another call), KW_EINVAL or KW_ENOMEM.
 */
KW_API int kw_consumer_poll(kw_consumer *c, int timeout_ms, kw_consumer_poll_result *out);

/*
 * Releases the consumer without waiting: requests still in flight are left
 * to finish on the loop (their answers are dropped), and the last of them
 * frees what is left; kw_client_destroy ends them all.  Call it from the
 * poll thread, before kw_client_destroy.  NULL is fine.
 */
KW_API void kw_consumer_destroy(kw_consumer *c);

#ifdef __cplusplus
}
#endif
#endif /* KW_CONSUMER_H */
