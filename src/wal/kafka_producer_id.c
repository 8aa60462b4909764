/* The Kafka WAL's producer id and epoch: one InitProducerId for the handle, epoch bumps per topic. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/crc32c.h"
#include "proto/kerr.h"
#include "proto/msg_group.h"
#include "net/producer_id.h"
#include "wal/kafka_int.h"

/* ---------------------------------------------------------------- producer id */

typedef struct kinit {
    ktopic *t;
    bool first; /* the handle's first id, for every topic waiting for it */
    kw_init_producer_id_req req;
} kinit;

static int build_init(void *arg, int version, int32_t leader_epoch, const void **req)
{
    kinit *in = arg;
    ktopic *t = in->t;
    (void)leader_epoch;
    /* KIP-360: asking with the current id and epoch bumps the epoch, so the
     * broker forgets the old sequence state without a new producer id. */
    kw__producer_id_request(&in->req, version, NULL, 60000, t->producer_id, t->producer_epoch);
    *req = &in->req;
    return 0;
}

/*
 * Fails entries that waited in the queue past their deadline without getting
 * into a batch (no producer id, because no broker answers): an append never
 * waits longer than timeout_ms for a producer id.  The queue is in append
 * order, so the expired ones are at its head.
 */
static void expire_queue(ktopic *t)
{
    kw_wal_kafka *k = t->k;
    uint64_t now = kw__loop_update_time(k->loop);
    kw__wal_kafka_take_queue(t);
    for (;;) {
        kentry *e = t->rhead;
        if (!e || e->deadline_ns > now)
            return;
        t->rhead = e->next;
        if (!t->rhead)
            t->rtail = NULL;
        t->rbytes -= e->len;
        char why[400];
        snprintf(why, sizeof(why), "region %llu: append to %s failed after %u ms: %s",
                 (unsigned long long)e->region_id, t->name, k->o.timeout_ms,
                 *t->last_error ? t->last_error : "no producer id");
        kw__wal_kafka_log(k, KW_LOG_WARN, "%s", why);
        kw__wal_kafka_entry_done(k, e, KW_ETIMEDOUT, 0, why);
    }
}

void kw__wal_kafka_retry_timer(kw_loop_timer *timer, void *arg)
{
    ktopic *t = arg;
    if (t->k->stopping)
        return;
    expire_queue(t);
    t->pstate = KP_NEED_ID;
    kw__wal_kafka_pump(t);
}

/*
 * The wait before asking again: 200 ms, doubling to 3.2 s.  A broker still
 * loading just-created partitions answers COORDINATOR_LOAD_IN_PROGRESS for
 * seconds, and a WAL with 1,024 new topics asking every 200 ms for each
 * kept it busier than the loading itself.
 */
static unsigned init_backoff_ms(ktopic *t)
{
    unsigned n = t->init_failures < 4 ? t->init_failures : 4;
    t->init_failures++;
    return 200u << n;
}

/* Takes an id and epoch: held batches are renumbered from 0 under them, the first goes out. */
static void adopt(ktopic *t, int64_t id, int16_t epoch)
{
    kw_wal_kafka *k = t->k;
    t->producer_id = id;
    t->producer_epoch = epoch;
    t->next_seq = 0;
    t->seq_anchored = false;
    /* every batch not yet written goes out again under the new epoch, renumbered */
    for (kbatch *b = t->head; b; b = b->next) {
        if (b->state == KB_HELD) {
            kw__wal_kafka_renumber(b, t->producer_id, t->producer_epoch, t->next_seq);
            t->next_seq += b->count;
        }
    }
    t->pstate = KP_READY;
    kw__wal_kafka_log(k, KW_LOG_INFO, "topic %s: producer id %lld epoch %d", t->name,
                      (long long)t->producer_id, t->producer_epoch);
    /* the first only: the rest follow it once it is acked (produce_done), see seq_anchored */
    for (kbatch *b = t->head; b; b = b->next)
        if (b->state == KB_HELD) {
            kw__wal_kafka_send_batch(b);
            break;
        }
    kw__wal_kafka_pump(t);
}

/* A topic's InitProducerId failed (or could not be sent): ask again after a backoff. */
static void init_failed(ktopic *t, const char *why, bool log)
{
    snprintf(t->last_error, sizeof(t->last_error), "InitProducerId for %s: %s", t->name, why);
    if (log)
        kw__wal_kafka_log(t->k, KW_LOG_WARN, "%s; retrying", t->last_error);
    /* Entries waiting meanwhile keep waiting; their appends time out on their own terms. */
    t->pstate = KP_ASKING;
    kw__loop_timer_start(&t->timer, init_backoff_ms(t));
}

/* The handle's first id came (or not): every topic waiting for it takes it (or backs off). */
static void first_done(kw_wal_kafka *k, bool ok, const kw_init_producer_id_resp *r,
                       const char *why)
{
    bool log = true; /* once, not once per topic */
    k->first_id_state = ok ? 2 : 0;
    if (ok) {
        k->first_id = r->producer_id;
        k->first_epoch = r->producer_epoch;
    }
    for (ktopic *t = k->topics; t; t = t->next) {
        if (!t->waits_first)
            continue;
        t->waits_first = false;
        if (ok) {
            t->init_failures = 0;
            adopt(t, k->first_id, k->first_epoch);
        } else {
            init_failed(t, why, log);
            log = false;
        }
    }
}

static void init_done(const kw_cluster_result *res, void *arg)
{
    kinit *in = arg;
    ktopic *t = in->t;
    kw_wal_kafka *k = t->k;
    k->calls_out--;
    if (k->stopping) {
        free(in);
        return;
    }
    const kw_init_producer_id_resp *r = res->resp;
    int16_t kerr = r ? r->error_code : 0;
    bool first = in->first;
    free(in);
    if (first) {
        first_done(k, res->err == 0 && kerr == 0, r,
                   kerr ? kw__kerr_name(kerr) : (res->detail ? res->detail : kw_strerror(res->err)));
        return;
    }
    if (res->err == 0 && kerr == 0) {
        t->init_failures = 0;
        adopt(t, r->producer_id, r->producer_epoch);
        return;
    }
    /* A stale or fenced id: start over with a fresh one. */
    if (kw__producer_id_stale(kerr)) {
        t->producer_id = -1;
        t->producer_epoch = -1;
        t->own_id = true; /* not the handle's first id again */
    }
    init_failed(t, kerr ? kw__kerr_name(kerr) : (res->detail ? res->detail : kw_strerror(res->err)),
                true);
}

void kw__wal_kafka_start_bump(ktopic *t)
{
    kw_wal_kafka *k = t->k;
    if (t->pstate == KP_ASKING || k->stopping)
        return;
    /* batches that failed for good stay failed; the others (held) are renumbered after */
    for (kbatch *b = t->head; b; b = b->next)
        if (b->state == KB_INFLIGHT)
            return; /* not drained yet: produce_done calls back here */
    /*
     * With an id, the epoch is bumped here, as the Java client's idempotent
     * producer does: the same id, the next epoch, sequences from 0.  A batch
     * of the old epoch that reaches the broker late (its append was reported
     * failed) is refused once the new epoch has written there; under a new
     * id, which InitProducerId gives a producer without a transactional id,
     * it would be written after newer batches (seen in the network-partition
     * runs: an append reported failed, in the log after the next one).
     */
    if (t->producer_id >= 0 && t->producer_epoch >= 0 && t->producer_epoch < INT16_MAX) {
        adopt(t, t->producer_id, (int16_t)(t->producer_epoch + 1));
        return;
    }
    /* A topic's first id is the handle's, asked once for all of them. */
    bool first = t->producer_id < 0 && !t->own_id;
    if (first && k->first_id_state == 2) {
        adopt(t, k->first_id, k->first_epoch);
        return;
    }
    if (first && k->first_id_state == 1) {
        t->pstate = KP_ASKING;
        t->waits_first = true;
        return;
    }
    kinit *in = calloc(1, sizeof(*in));
    if (!in) {
        t->pstate = KP_ASKING;
        kw__loop_timer_start(&t->timer, init_backoff_ms(t));
        return;
    }
    in->t = t;
    in->first = first;
    t->pstate = KP_ASKING;
    if (first) {
        k->first_id_state = 1;
        t->waits_first = true;
    }
    if (kw__cluster_send_any(k->cl, KW_API_INIT_PRODUCER_ID, build_init, in,
                             kw__wal_kafka_deadline(k->o.timeout_ms), init_done, in) != 0) {
        free(in);
        if (first)
            first_done(k, false, NULL, "cannot send the request");
        else
            kw__loop_timer_start(&t->timer, init_backoff_ms(t));
        return;
    }
    k->calls_out++;
}
