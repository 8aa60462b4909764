/* What the consumer's files share: the consumer, its partitions, the fetch slots and the queued responses. */
#ifndef KW_NET_CONSUMER_INT_H
#define KW_NET_CONSUMER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kwal/consumer.h"
#include "net/aborted.h"
#include "net/client_int.h"
#include "proto/batch.h"
#include "proto/msg_data.h"

/*
 * Who owns what.  `mu` guards every field marked (mu): the loop thread
 * (fetch pipeline, consumer_fetch.c) and the poll thread (consumer.c)
 * both reach them.  Fields marked (poll) belong to the poll thread alone;
 * fields marked (loop) to the loop thread alone.
 *
 * Lifetime.  Every fetch or ListOffsets in flight and every posted kick task
 * holds one reference (refs, mu).  kw_consumer_destroy marks the consumer
 * closing and frees it at once when refs is 0; else the last answer does.
 * A partition that is unassigned while requests for it are out is kept
 * (removed set) until they answer.
 */

/* Read buffers kept for reuse (each about fetch_bytes). */
#define KW__CONSUMER_SPARES 2


/* A compressed batch the loop inflated ahead (its records section, in the chunk's inflated). */
typedef struct kw__consumer_inflated {
    int64_t base_offset;
    size_t start, len;
} kw__consumer_inflated;

/*
 * One Fetch response's whole batches, as the poll thread decodes them.
 * When the poll thread is behind (answers wait in its queue), the loop
 * thread checks the CRCs and inflates the compressed batches of the next
 * answer before filing it, so the two threads decompress side by side.
 */
typedef struct kw__consumer_chunk {
    struct kw__consumer_chunk *next;
    uint8_t *mem;   /* what to free: the taken read buffer (buf lies inside) or a copy (= buf) */
    size_t mem_cap; /* the taken buffer's size (0 for a copy): it can be a spare again */
    const uint8_t *buf;
    size_t len;
    int64_t skip_below; /* records below this were delivered from an earlier chunk */
    kw__aborted_set aborted; /* the transactions this answer listed as aborted */
    kw_wr inflated; /* records sections of the compressed batches, inflated by the loop */
    kw__consumer_inflated *table; /* by offset; NULL when the loop inflated nothing */
    size_t ntable;
    bool crc_checked; /* the loop checked every whole batch's CRC */
} kw__consumer_chunk;

enum kw__consumer_state {
    KW__CONSUMER_RESOLVE = 0, /* needs ListOffsets for start */
    KW__CONSUMER_RESOLVING,   /* ListOffsets out */
    KW__CONSUMER_FETCHING,
    KW__CONSUMER_STOPPED, /* an error was reported: waits for seek */
    /* Records are missing past what is queued: poll delivers the queue, then reports
     * KW_EDATALOSS (loss_offset, loss_detail) and the partition is STOPPED. */
    KW__CONSUMER_LOSING,
};

/* The topic's cleanup.policy, asked (DescribeConfigs) at the first gap in offsets an answer shows. */
enum kw__consumer_policy {
    KW__CONSUMER_POLICY_UNKNOWN = 0,
    KW__CONSUMER_POLICY_ASKING,
    KW__CONSUMER_POLICY_COMPACT, /* compaction removes records: gaps are expected */
    KW__CONSUMER_POLICY_DELETE,  /* no gaps but below the log start */
    KW__CONSUMER_POLICY_UNREADABLE, /* DescribeConfigs failed: a gap is reported, saying so */
};

typedef struct kw__consumer_part kw__consumer_part;

/* A Fetch (or ListOffsets) in flight or answered and not yet filed in order. */
typedef struct kw__consumer_slot {
    struct kw__consumer_slot *next; /* the partition's slots, by offset */
    kw__consumer_part *p;
    uint64_t gen; /* the partition's generation when sent: a seek makes the answer stale */
    int64_t offset;
    bool list; /* a ListOffsets for p->start, not a Fetch */
    bool done;
    kw__consumer_chunk *chunk; /* the answer (NULL: it had no whole batch) */
    int64_t end;               /* done: the offset after the answer's last whole batch */
    int64_t first;             /* done, with a chunk: the base offset of its first batch */
    int64_t log_start;         /* done: the log start offset the answer gave (-1 unknown) */
    /* done: the first hole between two batches of the answer, [gap_from, gap_to) (gap_to -1:
     * none), the batch after it starting gap_pos bytes into the records */
    int64_t gap_from, gap_to;
    size_t gap_pos;
    union {
        struct {
            kw_fetch_req_partition fp;
            kw_fetch_req_topic ft;
            kw_fetch_req req;
        } f;
        struct {
            kw_list_offsets_req_partition lp;
            kw_list_offsets_req_topic lt;
            kw_list_offsets_req req;
            int64_t timestamp;
        } l;
    } u;
} kw__consumer_slot;

struct kw__consumer_part {
    kw__consumer_part *next; /* the consumer's partitions (mu) */
    kw_consumer *c;
    char *topic;
    int32_t partition;

    /* (mu) */
    uint64_t gen;
    int state; /* enum kw__consumer_state */
    kw_consumer_start start; /* what RESOLVE asks ListOffsets for */
    bool removed;
    bool paused;
    kw__consumer_slot *slots; /* in flight or answered, by offset */
    unsigned in_flight;
    int64_t frontier; /* the next offset no queued chunk covers */
    kw__consumer_chunk *qhead, *qtail;
    unsigned qlen;
    atomic_uint backlog; /* qlen, for the loop to read before it takes mu (a hint) */
    int64_t bound; /* the high watermark (read_committed: last stable offset) last seen; -1 */
    double bytes_per_offset; /* 0 until a response had records */
    double batch_bytes;
    unsigned retries; /* passing failures in a row, for the backoff */
    unsigned range_retries; /* OFFSET_OUT_OF_RANGE below the bound, in a row (a new leader) */
    uint64_t retry_at_ns;
    int64_t known_position; /* the resolved start until poll delivers (poll reads it): -1 */
    int64_t loss_offset; /* LOSING (or lose_after): the first missing offset */
    bool lose_after;     /* advance: go LOSING once the slot being filed (cut at the hole) is in */
    char loss_detail[KW_CONSUMER_DETAIL_MAX];
    /* The topic id this partition reads (zero until a Fetch found one in the metadata cache):
     * a later id under the same name is another topic, whose offsets it must not read on. */
    kw_uuid topic_id;
    kw_uuid topic_id_now; /* the other id, when a build found one (for the report) */
    int policy; /* enum kw__consumer_policy */
    char policy_err[96]; /* POLICY_UNREADABLE: why */

    /* (poll) */
    kw__consumer_chunk *cur;  /* the chunk being decoded */
    kw_batch_iter bit;
    kw_record_iter rit;
    kw_batch batch;
    bool in_batch;
    /* A compressed batch left half-delivered by a poll: its inflated records live here (moved
     * out of the poll's scratch pool, which the next poll reuses). */
    kw_wr held;
    size_t inflated_next; /* the next entry of cur->table */
    size_t batch_scratch;   /* the pool index of the last scratch this partition took ... */
    uint64_t scratch_poll;  /* ... in this poll (c->poll_seq) */
    int64_t position; /* the next offset to deliver, -1 unknown */
    kw__aborted_set aborted; /* aborted transactions not yet ended by their marker */
};

/* A stopped partition's report, queued for poll (mu). */
typedef struct kw__consumer_event {
    struct kw__consumer_event *next;
    kw__consumer_part *p;
    uint64_t gen;
    kw_consumer_error e;
} kw__consumer_event;

struct kw_consumer {
    kw_client *client;
    kw_consumer_options o;

    pthread_mutex_t mu;
    pthread_cond_t cond; /* signalled when a chunk or an event is queued */
    /* (mu) */
    kw__consumer_part *parts;   /* assigned */
    kw__consumer_part *zombies; /* unassigned with requests still out: freed when they answer */
    kw__consumer_event *ehead, **etail;
    unsigned refs;
    bool closing;
    bool kick_posted;
    /* Decoded chunks' buffers, for the connections to read the next answers into: mapped
     * memory instead of fresh pages to fault in for every answer. */
    uint8_t *spare[KW__CONSUMER_SPARES];
    size_t spare_cap[KW__CONSUMER_SPARES];
    kw_loop_timer retry_timer; /* (loop) */
    /* Run by poll at its start, on the poll thread: the group that drives the consumer's
     * assignment (group.c); NULL none.  Set and cleared under mu. */
    void (*driver)(void *arg);
    void *driver_arg;

    /* (poll) */
    kw__consumer_part *rr; /* where the next poll starts taking records */
    kw__consumer_chunk *retired; /* chunks decoded by the last poll: freed at the next */
    kw_consumer_record *recs;
    size_t nrecs, caprecs;
    kw_header *hdrs;
    size_t nhdrs, caphdrs;
    kw__consumer_event *delivered; /* events handed out by the last poll */
    kw_consumer_error *errs;
    size_t caperrs;
    kw_wr *scratch; /* one per compressed batch decoded by the last poll */
    size_t nscratch, usedscratch;
    uint64_t poll_seq;
};

/* What the consumer uses of the client, in one place (the client's layout is its own). */
static inline kw_loop *kw__consumer_loop(const kw_consumer *c)
{
    return kw__client_loop(c->client);
}
static inline kw_cluster *kw__consumer_cluster(const kw_consumer *c)
{
    return kw__client_cluster(c->client);
}

/* Any thread: installs (fn non-NULL) or removes the poll driver.  KW_EEXISTS when another is set. */
int kw__consumer_set_driver(kw_consumer *c, void (*fn)(void *arg), void *arg);
/* The poll thread: assigns a partition already stopped with an error poll reports (err, detail);
 * kw_consumer_seek starts it.  0, or kw_consumer_assign's error. */
int kw__consumer_assign_stopped(kw_consumer *c, const char *topic, int32_t partition, int err,
                                const char *detail);
/* Any thread (not holding mu): wakes a poll waiting for records, so its driver runs again. */
void kw__consumer_wake(kw_consumer *c);

/* ---- consumer_fetch.c: the loop side ---- */

/* Any thread, mu held: ask the loop to (re)start fetching (one task per burst). */
void kw__consumer_kick(kw_consumer *c);
/* mu held: drops a partition's slots' answers and queued chunks and bumps its generation. */
void kw__consumer_part_reset(kw__consumer_part *p);
/* Releases mu; frees the consumer instead when it is closing and nothing refers to it (true). */
bool kw__consumer_unlock(kw_consumer *c);
/* mu held: unlinks an unassigned partition (from zombies) and frees it (nothing in flight for it). */
void kw__consumer_part_release(kw__consumer_part *p);
/* Once, from kw_consumer_new. */
void kw__consumer_init_timer(kw_consumer *c);
/* mu held: stops p with an error for poll to report, after what was queued for it; drops its slots. */
void kw__consumer_report(kw__consumer_part *p, int64_t offset, int err, int16_t kerr,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* mu held: stops fetching p; poll reports KW_EDATALOSS (p->loss_offset, p->loss_detail, set by
 * the caller) once the queue is delivered. */
void kw__consumer_lose(kw__consumer_part *p);
/* mu held, loop thread: files answered slots in order, and sends what the pipeline lacks. */
void kw__consumer_advance(kw__consumer_part *p);
void kw__consumer_pump(kw__consumer_part *p);

/* ---- consumer_gap.c: records missing from an answer (loop thread, mu held) ---- */

/*
 * The records of [*from, first) are absent from the log and the log start
 * (log_start, -1 unknown) does not explain it: 1 with *from set, else 0.
 * frontier is the next offset to file; first the base offset of the first
 * batch of the answer being filed.  Pure.
 */
int kw__consumer_gap(int64_t frontier, int64_t first, int64_t log_start, int64_t *from);
/*
 * Before advance files slot s: 0 to file it (no gap, or one compaction or the
 * log start explains), 1 to wait (the topic's cleanup.policy is being asked;
 * advance runs again when it answers), or -1 when the answer starts past a
 * hole that is data loss (kw__consumer_lose: the partition stopped
 * fetching; its slots, s too, are freed).  A hole inside the answer that is
 * data loss cuts the answer there (s->end, its chunk's length), sets
 * p->lose_after and returns 0: advance files what came before the hole and
 * then stops the partition.
 */
int kw__consumer_gap_check(kw__consumer_part *p, kw__consumer_slot *s);

/* mu held: stops p with an error for poll to report (what was queued for it is dropped). */
void kw__consumer_fail(kw__consumer_part *p, int64_t offset, int err, const char *detail);
/* The poll thread, from kw_consumer_destroy (mu held): posts the task that disarms the retry timer. */
int kw__consumer_post_close(kw_consumer *c);
void kw__consumer_chunk_free(kw_consumer *c, kw__consumer_chunk *ch);
/* Logs through the consumer's callback. */
void kw__consumer_log(kw_consumer *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- consumer_records.c: decoding on the poll thread (pure: no locks, no I/O) ---- */

/*
 * The record sink decoding fills: one call per record to hand out.  Return 0
 * to go on, 1 to stop after this record (poll is full), or a negative error.
 */
typedef struct kw__consumer_decoder {
    bool read_committed;
    bool verify_crc;
    /* the aborted transactions seen so far and not yet closed by their marker */
    kw__aborted_set *aborted;
    /* one scratch per compressed batch: returns a fresh (len 0) writer, or NULL (no memory) */
    kw_wr *(*scratch)(void *arg);
    void *scratch_arg;
    /* May be NULL.  For a compressed batch: 1 with *plain set to the batch with its records
     * already inflated (codec bits cleared), or 0 to inflate it here. */
    int (*inflated)(void *arg, const kw_batch *b, kw_batch *plain);
    void *inflated_arg;
    int (*emit)(void *arg, const kw_batch *b, const kw_record *r);
    void *emit_arg;
    char errstr[KW_BATCH_ERRSTR_LEN + 64];
} kw__consumer_decoder;

/*
 * Decodes records from the batch iterator (and the record iterator of a
 * batch already begun, *in_batch) onward, calling emit for each record at or
 * above *position, which it advances past every batch it walks (control and
 * aborted batches included).  Returns 1 when emit said it is full (the
 * iterators keep their place, possibly inside a batch), 0 at the end of the
 * chunk, or a negative error with d->errstr saying what was wrong.
 */
int kw__consumer_decode(kw__consumer_decoder *d, kw_batch_iter *bit, kw_record_iter *rit,
                        kw_batch *batch, bool *in_batch, int64_t *position);

#endif /* KW_NET_CONSUMER_INT_H */
