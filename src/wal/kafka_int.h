/* The Kafka WAL provider's shared state: topics, producer pipeline, replay; private to kafka*.c. */
#ifndef KW_WAL_KAFKA_INT_H
#define KW_WAL_KAFKA_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "kwal/wal.h"
#include "net/client_int.h"
#include "net/cluster.h"
#include "net/loop.h"
#include "proto/batch.h"
#include "proto/msg_data.h"
#include "wal/index.h"
#include "wal/record.h"
#include "wal/regions.h"

typedef struct kw_wal_kafka kw_wal_kafka;
typedef struct ktopic ktopic;
typedef struct kbatch kbatch;
typedef struct kbroker kbroker;
typedef struct kround kround;

/* One appended entry, owned by the provider from append until its callback. */
typedef struct kentry {
    struct kentry *next; /* in its topic's queue */
    uint64_t region_id;
    uint64_t tag; /* the same in all its records: lets replay drop retransmissions exactly */
    kw_wal_append_cb *cb;
    void *arg;
    uint8_t *data; /* the bytes as stored (a copy, maybe compressed), in the same allocation */
    size_t len;     /* stored bytes */
    size_t raw_len; /* appended bytes */
    int codec;      /* enum kw_wal_entry_codec: how data holds them */
    uint32_t nparts;    /* records the entry takes */
    uint32_t next_part; /* parts already put in a batch */
    uint32_t batches;   /* batches holding some of its parts and not yet resolved */
    uint64_t deadline_ns; /* appended + timeout_ms: still queued then, it fails (KW_ETIMEDOUT) */
    int err;            /* the first failure of any batch holding a part */
} kentry;

/* One entry's share of a batch. */
typedef struct kslot {
    kentry *e;
    int32_t record; /* index of the entry's last record in this batch */
    bool completes; /* this batch holds the entry's FULL or LAST record */
} kslot;

enum kbatch_state {
    KB_INFLIGHT = 1, /* a Produce is out for it */
    KB_ACKED,        /* written: base_offset is set */
    KB_FAILED,       /* failed for good: err */
    KB_HELD,         /* OUT_OF_ORDER_SEQUENCE behind an earlier batch: resent once that one is acked */
};

/* One record batch = one Produce request; kept until it is resolved at the head of its topic. */
struct kbatch {
    kbatch *next; /* the topic's batches in sequence order */
    ktopic *t;
    kw_wr buf; /* the encoded batch */
    int32_t count;
    int32_t base_seq;
    int state;
    int err;
    int16_t kerr;
    int64_t base_offset;
    kslot *slots;
    size_t nslots, capslots;
    kround *round; /* the round its first send belongs to, until that send is answered */
    bool order_resent; /* held once for OUT_OF_ORDER with every earlier batch acked */
    /* the request, valid while the Produce is out */
    kw_produce_req_partition rp;
    kw_produce_req_topic rt;
    kw_produce_req req;
};

/* A region's run this long (stored bytes) gets batches of its own (kafka_produce.c). */
#define KW__WAL_RUN_BYTES (32u * 1024)

/* A topic (one partition, 0) and its idempotent producer. */
enum kproducer_state {
    KP_NEED_ID = 0, /* InitProducerId not asked yet */
    KP_ASKING,      /* InitProducerId out */
    KP_READY,       /* sending */
    KP_DRAINING,    /* a batch failed for good: wait for the rest, then bump the epoch */
};

struct ktopic {
    ktopic *next; /* every topic of the provider */
    kw_wal_kafka *k;
    char *name;
    /* appended, not yet in a batch: guarded by k->mu */
    kentry *qhead, *qtail;
    size_t qbytes; /* bytes in the queue */
    bool kicked;   /* a pump task is posted */
    /* loop thread only */
    kentry *rhead, *rtail; /* queued entries taken off qhead in one go, not yet in a batch */
    size_t rbytes;
    kentry *partial; /* an entry whose parts are only partly in batches */
    kbatch *head, *tail;
    unsigned in_flight;
    int pstate;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t next_seq;
    /*
     * A batch was acked under this producer id and epoch.  Until then one
     * batch at a time: the broker takes any first sequence from a producer
     * it has no state for, so a later batch overtaking the first (the first
     * waiting out a backoff for a new topic's leader, or resent after a cut)
     * would be written first and leave the first OUT_OF_ORDER for good.
     */
    bool seq_anchored;
    uint64_t retry_at_ns; /* InitProducerId backoff */
    unsigned init_failures; /* InitProducerId failures in a row (its backoff doubles) */
    bool own_id;      /* the handle's first id went stale here: this topic asks its own */
    bool waits_first; /* KP_ASKING for the handle's first id (one request for every topic) */
    kw_loop_timer timer;
    char last_error[200];
    /* the round scheduling (kafka_rounds.c), loop thread only */
    kbroker *broker;     /* the leader's, as the metadata cache said at leader_seq; NULL unknown */
    uint64_t leader_seq; /* 1 + the cluster's refresh count when broker was looked up; 0 never */
    bool ready;          /* on k's ready list */
    ktopic *ready_next;
};

/* A broker leading some of the WAL's topics (loop thread). */
struct kbroker {
    kbroker *next;
    int32_t node_id;
    uint32_t rounds_out; /* rounds sent to it with a batch not answered yet */
    /* what one flush gathers */
    size_t topics_waiting, bytes_waiting, topics_full;
    kround *forming; /* the round this flush is making, if any */
};

/*
 * One round: the batches the WAL sent a broker at once, so they share one
 * Produce request (the cluster coalesces calls ready in the same loop round).
 * It is out until each batch's first send is answered; a resend of a held
 * batch belongs to no round.
 */
struct kround {
    kbroker *b;
    unsigned batches; /* first sends not answered, plus one while the round is being made */
};

/* The region -> topic map (open addressing). */
typedef struct kregion {
    uint64_t region_id;
    ktopic *topic;
    uint64_t latest;   /* last durable entry id */
    uint64_t obsolete; /* flushed up to here */
    bool used;
    /* the replay index (kafka_index.c): what this handle knows of the region's records in
     * ix_topic: all of them in [ix_from, ix_covered) lie in ix.  ix_from < 0: nothing known */
    ktopic *ix_topic;
    int64_t ix_from, ix_covered;
    kw_wal_index_list ix;
    bool ix_dirty; /* changed since last written */
} kregion;

struct kw_wal_kafka {
    kw_wal_options o; /* topic points at default_topic; kafka is zeroed (the client copied it) */
    char *default_topic;
    size_t max_part;
    kw_client *client; /* the session: the host's (o.client) or our own */
    bool own_client;
    kw_loop *loop;   /* the client's */
    kw_cluster *cl;  /* the client's */
    unsigned calls_out; /* loop thread: Produce and InitProducerId calls of ours not answered */
    /*
     * Loop thread: the handle's first producer id, which every topic starts
     * with (epochs are per partition on the broker, so a topic bumps its own).
     * One InitProducerId for a WAL of 1,024 topics instead of 1,024: those ran
     * the broker's block of ids dry (COORDINATOR_LOAD_IN_PROGRESS, then backoff).
     */
    int first_id_state; /* 0 not asked, 1 asking, 2 have */
    int64_t first_id;
    int16_t first_epoch;
    kw__wal_compressor lz4; /* appending threads compress entries in its states (no lock) */
    bool stopping;      /* loop thread: closing, send nothing new */
    /* loop thread: rounds (kafka_rounds.c) */
    kbroker *brokers;
    ktopic *ready_head, *ready_tail; /* topics with entries for their broker's next round */
    kw_loop_timer flush;             /* decides the rounds; armed when something may go */
    bool flush_init;
    uint32_t max_rounds;             /* per broker */
    size_t min_fill;

    pthread_mutex_t mu; /* guards the queues, the region map, counters, buffered bytes */
    pthread_cond_t cond;
    ktopic *topics;
    kregion *regions;
    size_t nregions, capregions;
    uint64_t tag_base; /* random per open, so tags of two runs never meet */
    uint64_t tag_next;
    size_t buffered; /* bytes appended and not yet called back */
    uint64_t pending; /* entries appended and not yet called back */
    bool closing;
    kw_wal_stats stats;
    char errstr[512];
    /* the replay index's writer (kafka_index.c) */
    bool ix_on;
    char *ix_topic;
    kw_loop_timer ix_timer; /* loop thread */
    bool ix_timer_init;
    bool ix_out;     /* guarded by mu: a write of the index is out */
    bool ix_created; /* loop thread: the index topic exists (created or found) */
    uint64_t ix_writes, ix_write_errors;
    /*
     * The index topic as last read (kafka_index.c): its newest record per key,
     * and where reading goes on.  A replay reads only what came since, not the
     * whole topic again: 1,000 one-region replays on a broker whose index held
     * a few hundred thousand records took minutes.  Guarded by ixc_mu.
     */
    pthread_mutex_t ixc_mu;
    struct kw__ixc_entry *ixc;
    size_t ixc_n, ixc_cap;
    int64_t ixc_next; /* the next offset to read; -1: nothing read */
};

/* Finds or makes the topic called name (k->mu held). */
ktopic *kw__wal_kafka_topic(kw_wal_kafka *k, const char *name);
/* The topic of a region (k->mu held): its assigned one, or the default. */
ktopic *kw__wal_kafka_region_topic(kw_wal_kafka *k, uint64_t region_id);
/*
 * Waits on cond (mu held) for something the loop thread does, until the
 * CLOCK_REALTIME time until (NULL: until woken).  Own-thread client: a
 * condition wait.  Host-driven client: runs a loop round on this thread (mu
 * released meanwhile), or waits briefly while another thread runs it; the
 * caller re-checks its condition either way.  0, KW_ETIMEDOUT, or KW_EDEADLK
 * on the loop thread (a callback), which must not wait for itself.
 */
int kw__wal_kafka_wait(kw_wal_kafka *k, pthread_mutex_t *mu, pthread_cond_t *cond,
                       const struct timespec *until);
/* CLOCK_MONOTONIC now + ms, in ns. */
uint64_t kw__wal_kafka_deadline(uint32_t ms);
void kw__wal_kafka_log(kw_wal_kafka *k, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* kafka.c: the region slot of region_id (k->mu held); create adds it.  NULL: none / no memory. */
kregion *kw__wal_kafka_region_slot(kw_wal_kafka *k, uint64_t region_id, bool create);

/* The produce pipeline (kafka_produce.c); loop thread unless said otherwise. */
/* Accounts an entry's end and calls its callback (k->mu not held). */
void kw__wal_kafka_entry_done(kw_wal_kafka *k, kentry *e, int err, uint64_t id,
                              const char *detail);
/* Resolves the acked or failed batches at the topic's head, callbacks in append order. */
void kw__wal_kafka_settle(ktopic *t);
/* Batches what is queued and sends while the in-flight limit allows. */
void kw__wal_kafka_pump(ktopic *t);
void kw__wal_kafka_send_batch(kbatch *b);
/* Rewrites a held batch's producer epoch and base sequence (and its CRC). */
void kw__wal_kafka_renumber(kbatch *b, int64_t pid, int16_t epoch, int32_t seq);
/* Packs queued entries into one batch on the topic's list; NULL when there is nothing to send. */
kbatch *kw__wal_kafka_build_batch(ktopic *t);
/* Whether another batch may go while the topic has some in flight (see seq_anchored). */
bool kw__wal_kafka_may_overlap(const ktopic *t);
bool kw__wal_kafka_has_room(const ktopic *t);
/* Bytes queued and not yet in a batch; whether any entry is (an empty entry has 0 bytes). */
size_t kw__wal_kafka_queued_bytes(ktopic *t);
bool kw__wal_kafka_has_queued(ktopic *t);
/* Moves what appenders queued (under k->mu) onto the loop's own list. */
void kw__wal_kafka_take_queue(ktopic *t);
/* Posted by kafka_append (any thread -> loop): pump the topic. */
void kw__wal_kafka_kick_run(kw_loop *loop, void *arg);

/* Rounds (kafka_rounds.c), loop thread. */
/* The broker leading the topic, as the metadata cache has it; NULL when unknown. */
kbroker *kw__wal_kafka_topic_broker(ktopic *t);
/* The topic's queued entries go in its broker's next round. */
void kw__wal_kafka_mark_ready(ktopic *t);
/* The batch's first send was answered (or never left): its round has one fewer out. */
void kw__wal_kafka_round_release(kbatch *b);
/* Frees the broker list (closing; no round is out). */
void kw__wal_kafka_rounds_free(kw_wal_kafka *k);

/* Producer id and epoch (kafka_producer_id.c), loop thread. */
/* Asks for a producer id, or an epoch bump once nothing is in flight. */
void kw__wal_kafka_start_bump(ktopic *t);
/* The topic's timer: expires queued entries past their deadline, asks again for an id. */
void kw__wal_kafka_retry_timer(kw_loop_timer *timer, void *arg);

/* The replay index (kafka_index.c). */
/* Starts the index writer's timer (open, on the loop thread through kw__client_run). */
int kw__wal_kafka_index_start(void *k);
/* Settle of an acked (or failed) batch: its regions' ranges grow (or are forgotten); mu held. */
void kw__wal_kafka_index_batch(kw_wal_kafka *k, const kbatch *b, bool acked);
/* kw_wal_obsolete: ranges below entry_id + 1 are no longer needed; mu held. */
void kw__wal_kafka_index_obsolete(kw_wal_kafka *k, kregion *r, uint64_t entry_id);
/* Frees the cache of the index topic's records (closing). */
void kw__wal_kafka_index_cache_free(kw_wal_kafka *k);
/* Close, on the caller's thread before the loop stops: waits for a write out, writes the rest. */
void kw__wal_kafka_index_close(kw_wal_kafka *k);
void kw__wal_kafka_index_region_free(kregion *r);

/* What a replay learnt from the index topic for one region of its set. */
typedef struct kw_wal_index_found {
    int state; /* 0: no record, 1: record (rec valid), -1: corrupt (why) */
    kw_wal_index_record rec;
    int64_t at; /* the record's offset in the index topic */
    char why[120];
} kw_wal_index_found;
/*
 * Reads the index topic (blocking, caller's thread) for the n regions' records
 * about topic: found[i] for ids[i]; only what came since the handle last read
 * it (*records_read: how many records that was).  0, or an error with note saying why the
 * index cannot be used (topic missing, fetch failed).
 */
int kw__wal_kafka_index_load(kw_wal_kafka *k, const char *topic, const uint64_t *ids, size_t n,
                             kw_wal_index_found *found, uint64_t *records_read, char *note,
                             size_t notelen);
/*
 * A finished single-region replay saw every record of the region in [from, end): the handle
 * takes that as its index of the region when it has none (a region moved here).
 */
void kw__wal_kafka_index_seed(kw_wal_kafka *k, const char *topic, uint64_t region_id, int64_t from,
                              int64_t end, const kw_wal_index_list *seen);

/* Replay (kafka_replay.c), behind the provider table. */
int kw__wal_kafka_replay_open(void *p, const kw_wal_region_set *set, unsigned flags, void **out);
int kw__wal_kafka_replay_next(void *r, uint64_t *region_id, uint64_t *entry_id,
                              const uint8_t **data, size_t *len, int timeout_ms);
void kw__wal_kafka_replay_stats(const void *r, kw_wal_replay_stats *out);
const char *kw__wal_kafka_replay_errstr(const void *r);
void kw__wal_kafka_replay_close(void *r);

#endif /* KW_WAL_KAFKA_INT_H */
