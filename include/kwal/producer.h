/* kwal's record-level producer: records batched, compressed and acknowledged one by one. */
#ifndef KW_PRODUCER_H
#define KW_PRODUCER_H

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
 * A kw_producer turns records into RecordBatches: kw_producer_send appends the
 * record to its partition's open batch (the value, key and headers are copied
 * there at once, so the caller's buffers are free when send returns); a batch
 * is sent when it reaches batch_bytes, when it has waited linger_ms, or at
 * kw_producer_flush; each record then gets one delivery callback.
 *
 * Threads.  kw_producer_send may be called from any thread, callbacks
 * included, concurrently.  kw_producer_flush and kw_producer_destroy block:
 * called from a delivery callback or any other callback of the client (the
 * client's I/O thread, or inside kw_client_run_once) they return KW_EDEADLK
 * at once and do nothing.  In host-driven client mode they run the loop
 * themselves until done while no other thread runs it, and otherwise wait
 * for the thread that does (as the client's blocking calls do).
 *
 * Callbacks run on the client's I/O thread (own-thread mode) or inside
 * kw_client_run_once / kw_producer_flush / kw_producer_destroy (host-driven
 * mode).  The callbacks of one partition run in the order the records were
 * sent.  A callback may call kw_producer_send; it must not block for long
 * (it holds up every connection of the client).  What a callback receives
 * is valid only during the callback.
 *
 * Durability.  err == 0 in a callback means: with acks ALL, every in-sync
 * replica holds the record at `offset`; with acks LEADER, the leader does;
 * with acks NONE, only that the request was written to the socket (offset
 * -1).  With idempotence (the default with acks ALL) the batch carries a
 * producer id and sequence numbers, so the retries kwal makes after a lost
 * connection or a timed-out request never write a record twice, and the
 * records of a partition are written in send order.  A record whose callback
 * has an error (KW_ETIMEDOUT after delivery_timeout_ms, a broker error) may
 * still have been written if its batch had been sent: "not known durable".
 */
typedef struct kw_producer kw_producer;

enum kw_producer_idempotence {
    /* On when acks is ALL (the default), off otherwise. */
    KW_PRODUCER_IDEMPOTENCE_DEFAULT = 0,
    /* On; kw_producer_new fails with KW_ECONFIG unless acks is ALL. */
    KW_PRODUCER_IDEMPOTENCE_ON = 1,
    KW_PRODUCER_IDEMPOTENCE_OFF = 2,
};

/* Zero means default for every field. */
typedef struct kw_producer_options {
    int acks;        /* enum kw_client_acks: KW_CLIENT_ACKS_ALL */
    int idempotence; /* enum kw_producer_idempotence */
    /* How long a batch that is not full waits for more records before it is sent: 5 ms.
     * KW_PRODUCER_LINGER_NONE: send as soon as the partition may send. */
    int32_t linger_ms;
    /* Most bytes of records in one batch, before compression: 1000000, at most 32 MiB.  A
     * record larger than this is refused by send (KW_ETOOBIG).  Must fit the topic's
     * max.message.bytes (the broker's message.max.bytes by default, about 1 MB): a batch over
     * it fails with KW_EBROKER, kerr MESSAGE_TOO_LARGE, and a detail naming the batch's size,
     * its largest record's and the topic's limit.  Mimir-sized records (up to 15,983,616
     * bytes): 16000000 here and max.message.bytes=16000000 on the topic. */
    uint32_t batch_bytes;
    /* Batches sent and unanswered per partition: 5 (at most 5 with idempotence, which is what
     * the broker checks sequences against).  Batches of several partitions that are ready
     * together for one broker share one Produce request, so this also bounds the requests in
     * flight per broker when one partition is written. */
    uint32_t max_in_flight;
    int compression; /* enum kw_compression: KW_COMPRESSION_NONE */
    /* Bytes of records held (open, waiting, in flight, not yet called back) before send fails
     * with KW_EFULL: 64 MiB.  send never blocks. */
    uint64_t buffer_bytes;
    /* Longest time from send to the callback: 120000 ms.  Retries (lost connections,
     * retriable broker errors, waiting for a leader or for metadata) stop there and the
     * record fails with KW_ETIMEDOUT. */
    uint32_t delivery_timeout_ms;
    kw_log_fn *log; /* NULL: no logging; called on the loop thread */
    void *log_arg;
    /* A transactional producer (see "Transactions" below): its transactional id, copied.
     * NULL: not transactional.  Needs acks ALL and idempotence DEFAULT or ON. */
    const char *transactional_id;
    /* The longest a transaction may stay open before the coordinator aborts it: 60000 ms.  The
     * abort bumps the producer's epoch, so the producer is done (its next calls fail fatally:
     * KW_EFENCED, or KW_EBROKER with INVALID_TXN_STATE from the commit). */
    uint32_t transaction_timeout_ms;
    /* The longest one Produce request waits for its answer: 30000 ms (never past the records'
     * delivery timeout).  Then its connection is closed (the answers on it come in order, so
     * none can be skipped) and the batch goes again on a new one, which idempotence makes
     * safe: a connection gone silent costs this, not delivery_timeout_ms. */
    uint32_t request_timeout_ms;
} kw_producer_options;

#define KW_PRODUCER_LINGER_NONE (-1)

/* One record.  NULL key or value: null; non-NULL with length 0: empty (record.h). */
typedef struct kw_producer_record {
    const char *topic;
    int32_t partition; /* -1: the partitioner picks (see kw_producer_partition) */
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    const kw_header *headers;
    size_t header_count;
    int64_t timestamp_ms; /* CreateTime in ms since the epoch; 0: now */
} kw_producer_record;

/* What a delivery callback gets; every pointer is valid during the callback only. */
typedef struct kw_producer_delivery {
    int err;            /* 0, or a negative KW_E* code */
    int16_t kerr;       /* the Kafka error behind KW_EBROKER (or the last one seen), else 0 */
    const char *detail; /* "" on success, else what went wrong */
    const char *topic;
    int32_t partition;
    int64_t offset;       /* the record's offset; -1 on error or with acks NONE */
    int64_t timestamp_ms; /* the record's CreateTime, or the broker's LogAppendTime */
    int timestamp_type;   /* enum kw_timestamp_type */
} kw_producer_delivery;

typedef void kw_producer_cb(const kw_producer_delivery *d, void *arg);

/*
 * Creates a producer on client (which must outlive it).  Returns 0, or
 * KW_EINVAL / KW_ECONFIG with errbuf (if not NULL) naming the bad option, or
 * KW_ENOMEM.  *out is NULL on failure.
 */
KW_API int kw_producer_new(kw_producer **out, kw_client *client, const kw_producer_options *opts,
                           char *errbuf, size_t errlen);

/*
 * Queues one record; cb (may be NULL) is called exactly once with its fate,
 * later, never from inside this call.  Never blocks.  Returns 0, or an error
 * and then cb is never called:
 *   KW_EFULL      buffer_bytes are held: kw_producer_wait_room, then send again;
 *   KW_ETOOBIG    the record is larger than batch_bytes;
 *   KW_ENOTFOUND  the partition does not exist (the topic's metadata is known);
 *   KW_EINVAL     bad record (no topic, partition < -1, a header with a NULL key);
 *   KW_ECLOSED    the producer is being destroyed;  KW_ENOMEM.
 * kw_producer_last_error says what was wrong.  A topic the producer has not
 * seen yet is looked up on the loop thread: its records wait (and count
 * against buffer_bytes) until the metadata arrives, and fail with
 * KW_EBROKER, kerr 3 (UNKNOWN_TOPIC_OR_PARTITION), at their delivery timeout
 * if the topic never shows up.
 */
KW_API int kw_producer_send(kw_producer *p, const kw_producer_record *rec, kw_producer_cb *cb,
                            void *arg);

/*
 * Sends every batch now (ignoring linger) and waits until every record sent
 * before this call has had its callback, or timeout_ms (-1: no limit) passed.
 * Returns 0, KW_ETIMEDOUT, or KW_EDEADLK (from a callback: nothing waited).
 */
KW_API int kw_producer_flush(kw_producer *p, int timeout_ms);

/*
 * Waits until `bytes` more fit in buffer_bytes (callbacks ran for records
 * held before), or timeout_ms (-1: no limit) passed: what to do after
 * kw_producer_send returned KW_EFULL, instead of sleeping.  It does not send
 * anything sooner (unlike flush, which ends every batch's linger).  Returns
 * 0, KW_ETIMEDOUT, or KW_EDEADLK (from a callback).  Host-driven mode: runs
 * the loop, as flush does.
 */
KW_API int kw_producer_wait_room(kw_producer *p, size_t bytes, int timeout_ms);

/*
 * Flushes without a time limit (every record gets its callback, at its
 * delivery timeout at the latest), then frees the producer.  Returns 0, or
 * KW_EDEADLK from a callback (the producer is left as it was).  NULL is fine.
 */
KW_API int kw_producer_destroy(kw_producer *p);

/*
 * The text of the last error a kw_producer_send call on this producer
 * returned ("" if none), copied into buf (NUL-terminated, cut to len).
 */
KW_API void kw_producer_last_error(kw_producer *p, char *buf, size_t len);

/*
 * The partition the default partitioner gives a key among partition_count:
 * murmur2 of the key bytes (seed 0x9747b28c) with the sign bit cleared,
 * modulo partition_count, as the Java client's default partitioner does, so
 * kwal and Java producers put a key on the same partition.  Records with a
 * NULL key are not hashed: they stick to one partition until its batch is
 * sent, then move to another (returns -1 here).
 */
KW_API int32_t kw_producer_partition(const void *key, size_t key_len, int32_t partition_count);

/*
 * Transactions.  A producer made with a transactional_id writes every record
 * inside a transaction: the records of a committed transaction become
 * visible to read_committed consumers together, those of an aborted one
 * never.  The sequence is the Java client's:
 *
 *   kw_producer_init_transactions(p, t)     once, before anything else
 *   kw_producer_begin_transaction(p)
 *   kw_producer_send(p, ...) ...            records (each callback as usual)
 *   kw_producer_send_offsets_to_transaction(p, ...)   optional
 *   kw_producer_commit_transaction(p, t)    or kw_producer_abort_transaction(p, t)
 *
 * A send outside begin .. commit/abort fails with KW_EINVAL.  A callback's
 * err == 0 in a transaction means the broker holds the record at `offset`
 * as part of the open transaction: visible to read_committed readers only
 * once commit returns 0.
 *
 * Fencing.  init_transactions makes this producer the only writer of its
 * transactional id: a second producer initialising the same id bumps the
 * epoch and the older producer is fenced.  The transaction it had open is
 * aborted by the coordinator (none of its records ever becomes visible
 * read_committed), and every later send, callback, commit and abort of the
 * fenced producer fails with KW_EFENCED (PRODUCER_FENCED,
 * INVALID_PRODUCER_EPOCH, or TRANSACTIONAL_ID_AUTHORIZATION_FAILED behind it;
 * kw_producer_last_error has the detail).  It is fatal: destroy the producer.
 *
 * Abortable errors.  When a record of the transaction fails (its callback
 * has an error) or a partition cannot join it, the transaction cannot
 * commit: commit returns that error and leaves the transaction open; further
 * sends fail with it too; kw_producer_abort_transaction ends the transaction
 * and the producer can begin the next one.
 *
 * Destroying a producer with a transaction open flushes its records and
 * leaves the transaction to the coordinator, which aborts it after
 * transaction_timeout_ms (or when the next producer of the id initialises):
 * abort it first to end it at once.
 *
 * Blocking.  init, commit, abort and send_offsets block like flush (they
 * return KW_EDEADLK from a callback, run a host-driven loop themselves) and
 * return KW_ETIMEDOUT when timeout_ms (-1: none) passes; the call can then
 * be made again (a commit or abort that timed out resumes where it was).
 * On a producer without transactional_id they return KW_EINVAL.
 *
 * Protocol.  A partition joins the transaction with its first record:
 * AddPartitionsToTxn (the partitions new in one loop round in one request,
 * at v3 at most: v4+ is the brokers' own form) runs while the records
 * linger, and the partition's batches wait for it.  Produce goes at the
 * version negotiated (v12 on Kafka 4, where the broker's implicit add of an
 * added partition changes nothing).  EndTxn v5 (Kafka 4, KIP-890) bumps the
 * epoch at every commit or abort and answers with it: the producer takes it
 * and starts its sequences over.  A CONCURRENT_TRANSACTIONS answer (the last
 * transaction's markers are still being written) is asked again after 2 ms,
 * doubling to 20 ms.  Not done: skipping AddPartitionsToTxn on brokers with
 * transaction.version 2 (the Java client does; kwal's connections do not
 * keep the finalized features it needs to know that).
 */

/*
 * Gets the producer id and epoch of transactional_id from its transaction
 * coordinator (InitProducerId; CONCURRENT_TRANSACTIONS and a coordinator
 * that is loading are waited out).  Any transaction the id left open, by
 * this process or an earlier one, is aborted or completed first.  Returns 0,
 * KW_EFENCED (authorization or an even newer producer), KW_EBROKER with the
 * Kafka error, KW_ETIMEDOUT, KW_EINVAL (called twice, or not transactional).
 */
KW_API int kw_producer_init_transactions(kw_producer *p, int timeout_ms);

/* Starts a transaction (local: nothing is sent).  0, KW_EINVAL (one is open, or no init yet),
 * KW_EFENCED. */
KW_API int kw_producer_begin_transaction(kw_producer *p);

/*
 * Sends every record of the transaction, waits for their callbacks, then
 * commits it (EndTxn): when this returns 0 every record and offset of the
 * transaction is visible to read_committed readers.  Errors: KW_EFENCED;
 * the abortable error of a failed record (the transaction stays open: abort
 * it); KW_EBROKER; KW_ETIMEDOUT (call commit again, or abort); KW_EINVAL (no
 * transaction open).
 */
KW_API int kw_producer_commit_transaction(kw_producer *p, int timeout_ms);

/*
 * Aborts the open transaction: records not sent yet fail (KW_ECLOSED), the
 * ones sent are waited for, then EndTxn abort.  None of the transaction's
 * records or offsets will be visible to read_committed readers.  0,
 * KW_EFENCED, KW_EBROKER, KW_ETIMEDOUT, KW_EINVAL (no transaction open).
 */
KW_API int kw_producer_abort_transaction(kw_producer *p, int timeout_ms);

/* The consumed offsets kw_producer_send_offsets_to_transaction commits with the transaction. */
typedef struct kw_producer_txn_offsets {
    const char *group;
    /* The group member's id and generation (consume-transform-produce in a group: a zombie
     * member's commit is then refused); NULL member_id: without membership. */
    const char *member_id;
    int32_t generation;
    const char *group_instance_id; /* NULL: none */
    const kw_client_committed *offsets; /* topic, partition, offset (the next to read),
                                           leader_epoch (-1), metadata (NULL) */
    size_t count;
} kw_producer_txn_offsets;

/*
 * Adds the group's offsets to the open transaction (AddOffsetsToTxn, then
 * TxnOffsetCommit to the group coordinator): they become the group's
 * committed offsets when the transaction commits, and are dropped when it
 * aborts.  0, KW_EFENCED, KW_EBROKER (the group's or a partition's error,
 * e.g. ILLEGAL_GENERATION: the transaction is then abortable), KW_ETIMEDOUT,
 * KW_EINVAL (no transaction, bad arguments).
 */
KW_API int kw_producer_send_offsets_to_transaction(kw_producer *p,
                                                   const kw_producer_txn_offsets *offsets,
                                                   int timeout_ms);

/* Kafka's murmur2 (32-bit, seed 0x9747b28c) of data, as the Java client computes it. */
KW_API uint32_t kw_murmur2(const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* KW_PRODUCER_H */
