/* What the producer's files share: the producer, its topics, partitions and batches. */
#ifndef KW_NET_PRODUCER_INT_H
#define KW_NET_PRODUCER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "kwal/producer.h"
#include "net/client_int.h"
#include "proto/batch.h"
#include "proto/msg_data.h"
#include "proto/msg_group.h"

/*
 * Locking.  One mutex (p->mu) guards what senders and the loop thread share:
 * the topic table, each partition's open batch and its list of closed
 * batches, the byte and record counters.  A send takes it once.  Everything
 * marked "loop" below is touched only on the loop thread, without the lock:
 * sending, sequence numbers, producer id, in-flight counts, callbacks.
 * Callbacks always run with the lock released.
 *
 * Life of a record: send appends it to its partition's open batch (under
 * the lock) and, when the batch was new or became full, posts one wake-up
 * task for the loop (one per burst: p->kick_posted).  The loop moves closed
 * batches (full, lingered, flushed) to the partition's queue, compresses
 * them (kw__batch_finish), stamps producer id / epoch / sequence when it
 * first sends them, hands the bytes to the cluster without copying, and on
 * the answer settles batches from the head of the partition's queue, so
 * callbacks come in send order.
 */

/* One record's delivery bookkeeping, in batch order. */
typedef struct kw__producer_slot {
    kw_producer_cb *cb;
    void *arg;
    int64_t timestamp_ms;
} kw__producer_slot;

enum kw__producer_batch_state {
    KW__PB_OPEN,     /* taking records (under the lock) */
    KW__PB_CLOSED,   /* full, lingered or flushed: for the loop to compress and seal */
    KW__PB_QUEUED,   /* closed and compressed, not sent yet (loop) */
    KW__PB_INFLIGHT, /* with the cluster */
    KW__PB_HELD,     /* OUT_OF_ORDER_SEQUENCE behind an earlier batch being retried: resend later */
    KW__PB_EXPLAINING, /* refused as too large: waits for the topic's limit to name (loop) */
    KW__PB_ACKED,
    KW__PB_FAILED,
};

typedef struct kw__producer_partition kw__producer_partition;

typedef struct kw__producer_batch {
    struct kw__producer_batch *next;
    kw__producer_partition *part;
    int state;
    kw_wr buf;
    kw_batch_builder builder;
    kw__producer_slot *slots;
    size_t nslots, capslots;
    size_t bytes;         /* counted against buffer_bytes */
    uint64_t opened_ns;   /* CLOCK_MONOTONIC: linger runs from here */
    uint64_t deadline_ns; /* the first record's delivery deadline */
    /* loop */
    int32_t base_seq;
    bool resent_in_order; /* sent again after the batches before it were acknowledged */
    int64_t base_offset;
    int64_t log_append_time_ms;
    int err;
    int16_t kerr;
    char *detail; /* failure text (heap) */
    kw_produce_req_partition rp;
    kw_produce_req_topic rt;
    kw_produce_req req;
} kw__producer_batch;

typedef struct kw__producer_topic kw__producer_topic;

struct kw__producer_partition {
    kw__producer_topic *topic;
    int32_t index;
    /* lock */
    kw__producer_batch *open;
    /* closed by a sender, not yet taken by the loop */
    kw__producer_batch *closed_head, *closed_tail;
    kw__producer_batch *unsent; /* loop: the first batch of head..tail not yet sent (NULL: none) */
    kw__producer_batch *unsealed; /* loop: the first batch taken this round, to compress and seal */
    size_t last_batch_bytes;      /* sizes the next batch's first allocation */
    /* loop: every batch taken and not settled, in sequence order */
    kw__producer_batch *head, *tail;
    int32_t next_seq;
    int32_t acked_next_seq; /* the sequence after the last acknowledged batch */
    uint32_t inflight;      /* batches with the cluster */
    /* loop: a batch of this producer id and epoch was acknowledged here, so the broker checks
     * sequences strictly (before that it takes the first batch whatever its sequence) */
    bool seq_anchored;
    uint8_t txn;            /* loop: enum kw__producer_txn_partition */
};

/* A record waiting for its topic's metadata: everything copied in one allocation. */
typedef struct kw__producer_pending {
    struct kw__producer_pending *next;
    kw_producer_record rec;
    kw_header *headers;
    kw_producer_cb *cb;
    void *arg;
    size_t bytes;
    uint64_t deadline_ns;
    int16_t kerr; /* at expiry: what the topic's last metadata said */
} kw__producer_pending;

enum kw__producer_topic_state { KW__PT_UNKNOWN, KW__PT_ASKING, KW__PT_KNOWN };

struct kw__producer_topic {
    struct kw__producer_topic *next; /* lock: appended by senders, never removed until destroy */
    kw_producer *producer;
    char *name;
    int state;      /* lock */
    int32_t nparts; /* lock; valid when KNOWN */
    kw__producer_partition *parts;
    int32_t sticky; /* lock: the null-key partition, -1: pick one at the next record */
    kw__producer_pending *pend_head, *pend_tail; /* lock: waiting for metadata */
    uint64_t retry_at_ns;                        /* loop: next metadata attempt */
    bool asking;                                 /* loop: a metadata refresh for it is out */
    int16_t kerr; /* lock: the topic error of the last metadata (3: no such topic) */
};

enum kw__producer_id_state { KW__PID_NEED, KW__PID_ASKING, KW__PID_READY, KW__PID_DRAINING };

/*
 * A transactional producer's state, as the Java client's TransactionManager
 * has it.  ABORTABLE: something in the transaction failed (a record, an
 * AddPartitionsToTxn); only abort gets out.  FATAL: fenced (or a fatal broker
 * answer); every call fails with txn_err from then on.
 */
enum kw__producer_txn_state {
    KW__TXN_UNINIT,
    KW__TXN_INITIALIZING,
    KW__TXN_READY,
    KW__TXN_IN,
    KW__TXN_COMMITTING,
    KW__TXN_ABORTING,
    KW__TXN_ABORTABLE,
    KW__TXN_FATAL,
};

/* Where a partition stands in the open transaction. */
enum kw__producer_txn_partition {
    KW__TXP_NONE,   /* not in it */
    KW__TXP_WANTED, /* a batch waits to be sent: AddPartitionsToTxn first */
    KW__TXP_ADDING, /* in the AddPartitionsToTxn that is out */
    KW__TXP_ADDED,
};

typedef struct kw__producer_txn_op kw__producer_txn_op;

struct kw_producer {
    kw_client *c;
    kw_cluster *cl;
    kw_loop *loop;
    /* resolved options */
    int16_t acks; /* -1, 1, 0 */
    bool idempotent;
    uint64_t linger_ns;
    uint32_t batch_bytes;
    uint32_t max_in_flight;
    int codec;
    uint64_t buffer_bytes;
    uint64_t delivery_timeout_ns;
    uint32_t request_timeout_ms; /* one Produce attempt's longest wait */
    kw_log_fn *log;
    void *log_arg;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC: flush waits for done_records */
    kw__producer_topic *topics, *topics_tail;
    kw__producer_topic *last_topic; /* the fast path: sends to one topic in a row */
    uint64_t buffered;
    uint64_t sent_records, done_records;
    unsigned flushing;
    unsigned waiters; /* threads in flush or wait_room: deliveries wake them */
    /* Buffers of settled batches, kept for the next ones: a fresh 1 MB buffer costs 256 page
     * faults, more than filling it. */
    kw_wr *pool;
    size_t npool, cappool;
    bool kick_posted;
    bool closing;
    uint64_t rng;
    char last_error[256];

    /* loop */
    kw_loop_timer timer;
    bool timer_ready;
    int pid_state;
    int64_t producer_id;
    int16_t producer_epoch;
    uint64_t pid_retry_ns;
    unsigned loop_calls;     /* cluster calls out (produce, metadata, producer id): destroy waits */
    bool stopped;            /* destroy's last task ran: no more wake-ups */
    uint32_t inflight_total; /* batches with the cluster, all partitions */
    bool coalescing;         /* the cluster was asked to share Produce requests */

    /* transactions (producer_txn.c); txn_id NULL: not transactional */
    char *txn_id;
    int32_t txn_timeout_ms;
    int txn_state;      /* lock: enum kw__producer_txn_state */
    int txn_err;        /* lock: why ABORTABLE or FATAL */
    int16_t txn_kerr;   /* lock: the Kafka error behind txn_err, if any */
    char txn_why[256];  /* lock: its text */
    kw__producer_txn_op *txn_op; /* loop: the blocking call being carried out */
    kw__producer_txn_op *txn_op_pending; /* lock: the op a caller started, until collected */
    bool txn_adding;    /* loop: an AddPartitionsToTxn is out */
    bool txn_started;   /* loop: partitions or offsets were added: ending needs EndTxn */
    bool txn_bump;      /* loop: a batch's fate is unknown: bump the epoch at the abort */
    bool txn_v2;        /* loop: KIP-890 part 2: Produce adds partitions, no AddPartitionsToTxn */
};

/* producer_partitioner.c */
/* The partition for rec among nparts (lock held: may move t's sticky partition). */
int32_t kw__producer_pick(kw_producer *p, kw__producer_topic *t, const kw_producer_record *rec);

/* producer_batch.c (sender side, lock held unless said otherwise) */
/* Bytes a record costs against buffer_bytes (its encoded size, near enough). */
size_t kw__producer_record_cost(const kw_producer_record *rec);
/*
 * Appends rec to partition pt's open batch, closing it first when full.  deadline_ns: the
 * record's delivery deadline when it was sent earlier (waiting for metadata), 0 for now + the
 * delivery timeout; the batch keeps the earliest of its records'.  0 or KW_E*.
 */
int kw__producer_append(kw_producer *p, kw__producer_partition *pt, const kw_producer_record *rec,
                        kw_producer_cb *cb, void *arg, size_t cost, uint64_t deadline_ns);
/* Closes pt's open batch (if any): it joins the closed list for the loop. */
void kw__producer_close(kw_producer *p, kw__producer_partition *pt);
/* Posts the loop's wake-up task unless one is pending. */
void kw__producer_kick(kw_producer *p);
void kw__producer_batch_free(kw__producer_batch *b);
/* Lock held: frees b, keeping its buffer for a later batch when the pool has room. */
void kw__producer_batch_recycle(kw_producer *p, kw__producer_batch *b);
/* Formats p->last_error (lock held) and returns err. */
int kw__producer_fail(kw_producer *p, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The last topic present now (lock taken here): the loop walks p->topics up to it unlocked. */
kw__producer_topic *kw__producer_topics_end(kw_producer *p);

/* producer.c */
/* A condition a blocking call waits for; called with p->mu held. */
typedef bool kw__producer_until_fn(const kw_producer *p, uint64_t arg);
/*
 * Blocks (the caller checked it may) until until(p, arg) holds or deadline
 * (CLOCK_MONOTONIC ns, UINT64_MAX: none): 0 or KW_ETIMEDOUT.  Host-driven
 * clients' loops are run here when no other thread runs them.
 */
int kw__producer_wait(kw_producer *p, kw__producer_until_fn *until, uint64_t arg,
                      uint64_t deadline);
/* Sends every batch now and waits until every record sent so far was called back. */
int kw__producer_flush_wait(kw_producer *p, int timeout_ms);
uint64_t kw__producer_deadline(int timeout_ms);

/* producer_txn.c */
/* Options: copies the transactional id; KW_EINVAL / KW_ECONFIG / KW_ENOMEM with errbuf. */
int kw__producer_txn_options(kw_producer *p, const kw_producer_options *o, char *errbuf,
                             size_t errlen);
/* Lock held, transactional: 0 when a record may be sent now, else the error (last_error set). */
int kw__producer_txn_check_send(kw_producer *p);
/*
 * Lock held: a record of the transaction failed (err, kerr, detail): the
 * transaction can only be aborted now, or, fenced, the producer is done.
 */
void kw__producer_txn_failed(kw_producer *p, int err, int16_t kerr, const char *detail);
/*
 * Loop: whether pt's queued batches may go now.  Marks the partition wanted
 * for the transaction when it is not in it yet (kw__producer_txn_add sends
 * the adds), and says false while it is not added.  *fail: the batches
 * cannot go at all (the transaction is aborting or failed): fail them with it.
 */
bool kw__producer_txn_may_send(kw_producer *p, kw__producer_partition *pt, int *fail);
/* Loop, end of a round: sends one AddPartitionsToTxn for every wanted partition. */
void kw__producer_txn_add(kw_producer *p);
/* Loop: a produce answer in a transaction failed with kerr: true when it fences the producer. */
bool kw__producer_txn_fencing(int16_t kerr);
/* Loop: every partition's sequences start over at 0 (a new producer id or epoch). */
void kw__producer_reset_sequences(kw_producer *p);
/* destroy */
void kw__producer_txn_free(kw_producer *p);

/* producer_send.c (loop thread) */
/* The wake-up task and the timer: take closed batches, send, expire, look up topics. */
void kw__producer_run(kw_producer *p);
void kw__producer_log(kw_producer *p, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* KW_NET_PRODUCER_INT_H */
