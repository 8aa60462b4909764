/* When the Kafka WAL sends its next Produce request to a broker: a pure decision, tested alone. */
#ifndef KW_WAL_BATCH_POLICY_H
#define KW_WAL_BATCH_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The WAL sends a broker its topics' batches in rounds: every topic of that
 * broker with entries waiting puts one batch (more when it holds more than a
 * full batch) in the same Produce request.  A broker answers one request per
 * connection at a time, so a request sent while others are out only waits at
 * the broker; holding the entries back meanwhile lets each topic's batch fill,
 * which matters when many topics each receive a few entries: the broker's cost
 * is per batch.  The decision needs nothing but these numbers.
 */
typedef struct kw__wal_round_view {
    uint32_t rounds_out;   /* requests of this WAL out to the broker, not answered yet */
    uint32_t max_rounds;   /* the most that may be out at once (0 counts as 1) */
    size_t topics_waiting; /* topics of the broker with entries queued that may send a batch */
    size_t bytes_waiting;  /* their queued bytes */
    size_t topics_full;    /* how many of them hold at least a full batch (max_batch_bytes) */
    size_t min_fill;       /* a request while others are out needs batches this big on average */
} kw__wal_round_view;

enum kw__wal_round_decision {
    KW_WAL_ROUND_WAIT = 0, /* nothing to send, or let the batches fill while requests are out */
    KW_WAL_ROUND_SEND = 1, /* send a round now */
};

/*
 * The rules, in order:
 *  - nothing waiting: WAIT;
 *  - nothing out: SEND (an idle broker gets the entries at once: no added latency);
 *  - max_rounds out: WAIT (the answer of one brings the next round);
 *  - a topic holds a full batch, or the waiting batches average min_fill
 *    bytes: SEND (they gain nothing more by waiting);
 *  - else WAIT.
 */
int kw__wal_round_decide(const kw__wal_round_view *v);

/* The defaults the kafka provider uses. */
#define KW_WAL_ROUND_MAX_DEFAULT 2u
#define KW_WAL_ROUND_MIN_FILL_DEFAULT ((size_t)4 << 10)

#endif /* KW_WAL_BATCH_POLICY_H */
