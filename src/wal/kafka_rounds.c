/* The Kafka WAL's send rounds: each broker gets its topics' batches together, when batch_policy says. */
#include <stdlib.h>

#include "wal/batch_policy.h"
#include "wal/kafka_int.h"

/*
 * Loop thread only.  A topic with entries queued and a known leader joins the
 * ready list; the flush timer then asks kw__wal_round_decide, per broker,
 * whether a round goes now.  A round sends one batch of every ready topic of
 * that broker (another while a topic holds more than a full batch) in the same
 * loop round, so they share one Produce request.  Otherwise the entries wait
 * in their topics' queues, where the next round finds them fuller; the answer
 * to a round (its last batch's) arms the flush again.  Nothing here changes
 * what a batch holds or its order: batches are built and numbered as before,
 * only later.
 */

static kbroker *broker_get(kw_wal_kafka *k, int32_t node_id)
{
    for (kbroker *b = k->brokers; b; b = b->next)
        if (b->node_id == node_id)
            return b;
    kbroker *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL; /* the topic sends on its own instead */
    b->node_id = node_id;
    b->next = k->brokers;
    k->brokers = b;
    return b;
}

kbroker *kw__wal_kafka_topic_broker(ktopic *t)
{
    kw_wal_kafka *k = t->k;
    /* The cache changes only when a Metadata answer is applied: look again only then. */
    uint64_t seq = kw__cluster_refresh_count(k->cl) + 1;
    if (t->leader_seq != seq) {
        int32_t leader = -1, epoch = -1;
        if (kw__cluster_leader(k->cl, t->name, 0, &leader, &epoch) != 0)
            leader = -1;
        t->broker = leader >= 0 ? broker_get(k, leader) : NULL;
        t->leader_seq = seq;
    }
    return t->broker;
}

static void flush_run(kw_loop_timer *timer, void *arg);

static void flush_arm(kw_wal_kafka *k)
{
    if (k->stopping)
        return;
    if (!k->flush_init) {
        kw__loop_timer_init(k->loop, &k->flush, flush_run, k);
        k->flush_init = true;
    }
    if (!kw__loop_timer_armed(&k->flush))
        kw__loop_timer_start(&k->flush, 0);
}

void kw__wal_kafka_mark_ready(ktopic *t)
{
    kw_wal_kafka *k = t->k;
    if (!t->ready) {
        if (!kw__wal_kafka_has_queued(t))
            return;
        t->ready = true;
        t->ready_next = NULL;
        if (k->ready_tail)
            k->ready_tail->ready_next = t;
        else
            k->ready_head = t;
        k->ready_tail = t;
    }
    /* A broker with every round out waits for an answer, which arms the flush itself. */
    kbroker *b = t->broker;
    if (!b || b->rounds_out < (k->max_rounds ? k->max_rounds : 1))
        flush_arm(k);
}

void kw__wal_kafka_round_release(kbatch *b)
{
    kround *r = b->round;
    if (!r)
        return;
    b->round = NULL;
    if (--r->batches > 0)
        return;
    kw_wal_kafka *k = b->t->k;
    r->b->rounds_out--;
    free(r);
    if (k->ready_head)
        flush_arm(k);
}

/* Whether the topic may put a batch in a round now. */
static bool topic_can_send(const ktopic *t)
{
    return t->pstate == KP_READY && kw__wal_kafka_has_room(t) && kw__wal_kafka_may_overlap(t);
}

/* Sends the topic's batches in round r: one, and more while a full batch is left. */
static void round_add(kround *r, ktopic *t)
{
    kw_wal_kafka *k = t->k;
    bool first = true;
    while (t->pstate == KP_READY && kw__wal_kafka_has_room(t) && kw__wal_kafka_may_overlap(t) &&
           !k->stopping) {
        if (!first && !t->partial && kw__wal_kafka_queued_bytes(t) < k->o.max_batch_bytes)
            break;
        kbatch *b = kw__wal_kafka_build_batch(t);
        if (!b)
            break;
        first = false;
        if (b->state == KB_FAILED) {
            kw__wal_kafka_settle(t);
            continue;
        }
        b->round = r;
        r->batches++;
        kw__wal_kafka_send_batch(b);
    }
    kw__wal_kafka_settle(t);
}

/* Takes t off the ready list (prev is the one before it, NULL at the head). */
static void ready_unlink(kw_wal_kafka *k, ktopic *prev, ktopic *t)
{
    if (prev)
        prev->ready_next = t->ready_next;
    else
        k->ready_head = t->ready_next;
    if (k->ready_tail == t)
        k->ready_tail = prev;
    t->ready_next = NULL;
    t->ready = false;
}

static void flush_run(kw_loop_timer *timer, void *arg)
{
    (void)timer;
    kw_wal_kafka *k = arg;
    if (k->stopping)
        return;
    for (kbroker *b = k->brokers; b; b = b->next)
        b->topics_waiting = b->bytes_waiting = b->topics_full = 0;
    /*
     * Gather what waits per broker.  A topic whose leader is no longer known
     * leaves the list and sends on its own (kw__wal_kafka_pump); one with
     * nothing queued leaves it too (its next append brings it back).
     */
    ktopic *prev = NULL, *t = k->ready_head;
    while (t) {
        ktopic *next = t->ready_next;
        kbroker *b = k->o.no_coalesce ? NULL : kw__wal_kafka_topic_broker(t);
        if (!b || t->pstate != KP_READY || !kw__wal_kafka_has_queued(t)) {
            ready_unlink(k, prev, t);
            if (!b)
                kw__wal_kafka_pump(t);
            t = next;
            continue;
        }
        if (topic_can_send(t)) {
            size_t q = kw__wal_kafka_queued_bytes(t) + (t->partial ? t->partial->len : 0);
            b->topics_waiting++;
            b->bytes_waiting += q;
            if (q >= k->o.max_batch_bytes)
                b->topics_full++;
        }
        prev = t;
        t = next;
    }
    /* One round per broker that the policy lets go now. */
    for (kbroker *b = k->brokers; b; b = b->next) {
        kw__wal_round_view v = {.rounds_out = b->rounds_out,
                                .max_rounds = k->max_rounds,
                                .topics_waiting = b->topics_waiting,
                                .bytes_waiting = b->bytes_waiting,
                                .topics_full = b->topics_full,
                                .min_fill = k->min_fill};
        b->forming = NULL;
        if (kw__wal_round_decide(&v) != KW_WAL_ROUND_SEND)
            continue;
        /* one reference while the round is being made, so a send failing at once cannot end it */
        kround *r = calloc(1, sizeof(*r));
        if (!r)
            continue; /* the next answer or append tries again */
        r->b = b;
        r->batches = 1;
        b->rounds_out++;
        b->forming = r;
    }
    prev = NULL;
    t = k->ready_head;
    while (t) {
        ktopic *next = t->ready_next;
        kbroker *b = t->broker;
        if (b && b->forming && topic_can_send(t)) {
            round_add(b->forming, t);
            if (!kw__wal_kafka_has_queued(t)) {
                ready_unlink(k, prev, t);
                t = next;
                continue;
            }
        }
        prev = t;
        t = next;
    }
    for (kbroker *b = k->brokers; b; b = b->next) {
        kround *r = b->forming;
        b->forming = NULL;
        if (!r)
            continue;
        if (--r->batches == 0) { /* nothing went, or everything already failed */
            b->rounds_out--;
            free(r);
        }
    }
}

void kw__wal_kafka_rounds_free(kw_wal_kafka *k)
{
    while (k->brokers) {
        kbroker *b = k->brokers;
        k->brokers = b->next;
        free(b);
    }
}
