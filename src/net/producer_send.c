/* Producer loop side: sending in sequence, idempotent retries, epoch bumps, ordered callbacks. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/producer_int.h"
#include "net/too_large.h"
#include "proto/kerr.h"
#include "proto/msg.h"
#include "proto/schema.h"
#include "net/log.h"
#include "net/producer_id.h"

/*
 * Idempotence, as the WAL's kafka provider does it: one producer id and epoch
 * for the producer, a sequence number per partition.  A batch gets its
 * sequence when first sent; the cluster resends the same bytes after a lost
 * connection, so the broker writes it once.  Outcomes:
 *  - acked (or DUPLICATE_SEQUENCE_NUMBER: written before): callbacks, in order;
 *  - OUT_OF_ORDER_SEQUENCE while an earlier batch of the partition is still
 *    unsettled: that one is being retried and this one overtook it; it waits
 *    (HELD) and goes again once everything before it is acknowledged;
 *  - anything else final: its records fail; the broker's idea of the
 *    sequence is now unknown, so sending stops, what is out is waited for,
 *    the epoch is bumped (InitProducerId with the current id, KIP-360), and
 *    held batches are renumbered from 0 and resent.
 */

void kw__producer_log(kw_producer *p, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kw__vlog(p->log, p->log_arg, level, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- in-flight limit */

/*
 * A broker with no state for a producer id and epoch on a partition takes the
 * first batch it sees whatever its sequence (its state may have gone with
 * retention).  So until one batch of the epoch is acknowledged on a
 * partition, only one goes out there: with more, a resend after a lost
 * connection (resends go in the order of their backoffs) could land a later
 * batch first, and the earlier ones would then be out of order for good (seen:
 * the epoch bumped and the batches written twice).
 */
static bool anchored(const kw_producer *p, const kw__producer_partition *pt)
{
    return !p->idempotent || pt->seq_anchored;
}

/*
 * The limit is per partition: the batches of different partitions that
 * become ready in one loop round for the same broker share one Produce
 * request (the cluster's coalesce_produce), so a per-partition count also
 * bounds the requests per broker in practice.
 *
 * A resend must reach a broker that still remembers the batch: the broker
 * keeps the last 5 batches of each producer and partition, and answers a
 * resend of an older one OUT_OF_ORDER_SEQUENCE, not as a duplicate.  So what
 * counts for a new batch is not the calls out but every batch sent and not
 * yet settled, acknowledged ones included: after a cut the resends go in the
 * order of their backoffs, and a later batch's acknowledgement frees no room
 * while an earlier batch of the partition still waits for its resend, or its
 * window would slide past a batch the broker wrote from the dead connection
 * (seen: a batch held and resent until its delivery timeout).
 */
static bool partition_has_room(const kw_producer *p, const kw__producer_partition *pt)
{
    uint32_t sent = 0;
    for (const kw__producer_batch *b = pt->head; b && b != pt->unsent; b = b->next)
        sent++;
    return sent < (anchored(p, pt) ? p->max_in_flight : 1);
}

/* Held batches go out again within the calls-out limit: they are in the window already. */
static bool partition_may_resend(const kw_producer *p, const kw__producer_partition *pt)
{
    return pt->inflight < (anchored(p, pt) ? p->max_in_flight : 1);
}

/* ---------------------------------------------------------------- callbacks */

static void deliver(kw_producer *p, kw__producer_batch *b)
{
    kw__producer_partition *pt = b->part;
    kw_producer_delivery d = {
        .err = b->state == KW__PB_ACKED ? 0 : b->err,
        .kerr = b->kerr,
        .detail = b->state == KW__PB_ACKED ? "" : (b->detail ? b->detail : kw_strerror(b->err)),
        .topic = pt->topic->name,
        .partition = pt->index,
        .timestamp_type =
            b->log_append_time_ms >= 0 ? KW_TIMESTAMP_LOG_APPEND_TIME : KW_TIMESTAMP_CREATE_TIME,
    };
    if (d.err == 0)
        d.kerr = 0;
    if (d.err && p->txn_id) {
        pthread_mutex_lock(&p->mu);
        kw__producer_txn_failed(p, d.err, d.kerr, d.detail);
        pthread_mutex_unlock(&p->mu);
    }
    for (size_t i = 0; i < b->nslots; i++) {
        const kw__producer_slot *s = &b->slots[i];
        if (!s->cb)
            continue;
        d.offset = d.err == 0 && b->base_offset >= 0 ? b->base_offset + (int64_t)i : -1;
        d.timestamp_ms = b->log_append_time_ms >= 0 ? b->log_append_time_ms : s->timestamp_ms;
        s->cb(&d, s->arg);
    }
    pthread_mutex_lock(&p->mu);
    p->buffered -= b->bytes;
    p->done_records += b->nslots;
    if (p->waiters)
        pthread_cond_broadcast(&p->cv);
    kw__producer_batch_recycle(p, b);
    pthread_mutex_unlock(&p->mu);
}

/* Resolves batches at the head of pt's queue in sequence order, so callbacks keep send order. */
static void settle(kw_producer *p, kw__producer_partition *pt)
{
    while (pt->head && (pt->head->state == KW__PB_ACKED || pt->head->state == KW__PB_FAILED)) {
        kw__producer_batch *b = pt->head;
        pt->head = b->next;
        if (!pt->head)
            pt->tail = NULL;
        if (pt->unsent == b)
            pt->unsent = b->next;
        deliver(p, b); /* frees b */
    }
}

static void batch_fail(kw__producer_batch *b, int err, int16_t kerr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void batch_fail(kw__producer_batch *b, int err, int16_t kerr, const char *fmt, ...)
{
    b->state = KW__PB_FAILED;
    b->err = err;
    b->kerr = kerr;
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    free(b->detail);
    b->detail = strdup(text);
}

/* ---------------------------------------------------------------- produce */

/* Writes producer id, epoch and base sequence into a finished batch (the CRC covers them). */
static void stamp(kw__producer_batch *b, int64_t pid, int16_t epoch, int32_t seq)
{
    kw__batch_set_producer(b->buf.buf, b->buf.len, pid, epoch, seq);
    b->base_seq = seq;
    b->resent_in_order = false;
}

static int build_produce(void *arg, int version, int32_t leader_epoch, const void **req)
{
    kw__producer_batch *b = arg;
    (void)version;
    (void)leader_epoch;
    b->rp = (kw_produce_req_partition){.index = b->part->index,
                                       .records = {b->buf.buf, (int32_t)b->buf.len}};
    b->rt = (kw_produce_req_topic){.name = kw_str_c(b->part->topic->name)};
    b->rt.partition_data.v = &b->rp;
    b->rt.partition_data.n = 1;
    b->req.transactional_id = kw_str_c(b->part->topic->producer->txn_id); /* null: not in a txn */
    int32_t left = kw__client_ms_left(b->deadline_ns);
    kw_producer *p = b->part->topic->producer;
    b->req.timeout_ms = left < (int32_t)p->request_timeout_ms ? left : (int32_t)p->request_timeout_ms;
    b->req.topic_data.v = &b->rt;
    b->req.topic_data.n = 1;
    *req = &b->req;
    return 0;
}

static bool earlier_unsettled(const kw__producer_partition *pt, const kw__producer_batch *b)
{
    for (const kw__producer_batch *x = pt->head; x && x != b; x = x->next)
        if (x->state != KW__PB_ACKED)
            return true;
    return false;
}

static void produce_done(const kw_cluster_result *res, void *arg);
static void start_bump(kw_producer *p);

/*
 * A batch's fate is unknown to the broker's sequence state.  Idempotent:
 * stop sending, drain, bump the epoch.  Transactional: the transaction can
 * only abort now (its records fail on their own); the epoch is bumped with
 * the abort, when nothing of the transaction is out any more.
 */
static void sequence_lost(kw_producer *p)
{
    if (p->txn_id)
        p->txn_bump = true;
    else if (p->idempotent && p->pid_state == KW__PID_READY)
        p->pid_state = KW__PID_DRAINING;
}

static void send_batch(kw_producer *p, kw__producer_batch *b)
{
    kw__producer_partition *pt = b->part;
    pt->inflight++;
    p->inflight_total++;
    b->state = KW__PB_INFLIGHT;
    b->req.acks = p->acks;
    int rc = kw__cluster_send_partition(p->cl, KW_API_PRODUCE, pt->topic->name, pt->index,
                                        build_produce, b, b->deadline_ns, produce_done, b);
    if (rc == 0)
        p->loop_calls++;
    if (rc) {
        pt->inflight--;
        p->inflight_total--;
        batch_fail(b, rc, 0, "produce to %s/%d: %s", pt->topic->name, pt->index, kw_strerror(rc));
        sequence_lost(p);
    }
}

/* The first send of a queued batch: it takes the partition's next sequence numbers. */
static void send_new(kw_producer *p, kw__producer_batch *b)
{
    kw__producer_partition *pt = b->part;
    pt->unsent = b->next;
    if (p->idempotent) {
        stamp(b, p->producer_id, p->producer_epoch, pt->next_seq);
        pt->next_seq += b->builder.count;
    }
    send_batch(p, b);
}

/*
 * Held batches go out again, in order, once everything before the first of
 * them is acknowledged: that one and the held ones right behind it, pipelined,
 * within the in-flight limit.
 */
static void resend_held(kw_producer *p, kw__producer_partition *pt)
{
    if (p->pid_state != KW__PID_READY)
        return;
    kw__producer_batch *x = pt->head;
    while (x && x->state == KW__PB_ACKED)
        x = x->next;
    for (; x && x->state == KW__PB_HELD; x = x->next) {
        if (!partition_may_resend(p, pt))
            break; /* a done callback runs this again */
        x->resent_in_order = !earlier_unsettled(pt, x);
        send_batch(p, x);
    }
}

/* True when pt has a held batch: new batches wait behind it (they would only be held too). */
static bool has_held(const kw__producer_partition *pt)
{
    for (const kw__producer_batch *x = pt->head; x && x != pt->unsent; x = x->next)
        if (x->state == KW__PB_HELD)
            return true;
    return false;
}

/* A too-large batch's detail, naming its size and the topic's limit: now it settles. */
static void too_large_explained(void *arg, const char *detail)
{
    kw__producer_batch *b = arg;
    kw__producer_partition *pt = b->part;
    kw_producer *p = pt->topic->producer;
    p->loop_calls--;
    batch_fail(b, KW_EBROKER, b->kerr, "produce to %s/%d: %s", pt->topic->name, pt->index, detail);
    settle(p, pt);
    resend_held(p, pt);
    kw__producer_run(p);
}

static void produce_done(const kw_cluster_result *res, void *arg)
{
    kw__producer_batch *b = arg;
    kw__producer_partition *pt = b->part;
    kw_producer *p = pt->topic->producer;
    p->loop_calls--;
    kw__producer_log(p, KW_LOG_DEBUG, "%s/%d: sequence %d (%u records): %s after %u attempts",
                     pt->topic->name, pt->index, b->base_seq, (unsigned)b->builder.count,
                     res->err ? (res->kerr ? kw__kerr_name(res->kerr) : kw_strerror(res->err))
                              : "acknowledged",
                     res->attempts);
    pt->inflight--;
    p->inflight_total--;

    if (res->err == 0) {
        b->state = KW__PB_ACKED;
        pt->acked_next_seq = b->base_seq + b->builder.count;
        pt->seq_anchored = true;
        const kw_produce_resp *r = res->resp;
        if (r && r->responses.n > 0 && r->responses.v[0].partition_responses.n > 0) {
            const kw_produce_resp_partition *rp = &r->responses.v[0].partition_responses.v[0];
            b->base_offset = rp->base_offset;
            b->log_append_time_ms = rp->log_append_time_ms;
        }
    } else if (p->idempotent && res->kerr == KW_KERR_DUPLICATE_SEQUENCE_NUMBER) {
        b->state = KW__PB_ACKED; /* written by an earlier attempt; its offset is not known */
        pt->acked_next_seq = b->base_seq + b->builder.count;
        pt->seq_anchored = true;
    } else if (p->idempotent && res->kerr == KW_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER &&
               b->deadline_ns > kw__clock_now_ns()) {
        /*
         * Not written.  If an earlier batch is unsettled, or the broker's next
         * sequence (as far as acks tell) is not this batch's, a retry overtook
         * it: hold it and send it again after.  If it is this batch's, the
         * broker lost the partition's producer state (a leader change with
         * truncation, say): the sequences start over under a bumped epoch, and
         * the held batch goes out again with them.
         */
        b->state = KW__PB_HELD;
        kw__producer_log(p, KW_LOG_DEBUG,
                         "%s/%d: OUT_OF_ORDER_SEQUENCE for sequence %d (acked up to %d, %s "
                         "earlier unsettled): held",
                         pt->topic->name, pt->index, b->base_seq, pt->acked_next_seq,
                         earlier_unsettled(pt, b) ? "some" : "none");
        if (p->txn_id && !earlier_unsettled(pt, b) && b->base_seq == pt->acked_next_seq) {
            /* in a transaction the epoch is bumped only with the abort */
            batch_fail(b, KW_EBROKER, res->kerr, "produce to %s/%d: OUT_OF_ORDER_SEQUENCE_NUMBER "
                       "at the expected sequence %d (the broker lost the producer's state)",
                       pt->topic->name, pt->index, b->base_seq);
            sequence_lost(p);
        } else if (!earlier_unsettled(pt, b) &&
                   (b->base_seq == pt->acked_next_seq || b->resent_in_order) &&
                   p->pid_state == KW__PID_READY) {
            /* (a batch refused again after everything before it was acknowledged: the
             * broker's idea of the sequence is not ours, and resending cannot change it) */
            kw__producer_log(p, KW_LOG_WARN,
                             "%s/%d: OUT_OF_ORDER_SEQUENCE at sequence %d with everything before "
                             "it acknowledged (next expected %d): bumping the producer epoch",
                             pt->topic->name, pt->index, b->base_seq, pt->acked_next_seq);
            p->pid_state = KW__PID_DRAINING;
        }
    } else if (p->txn_id && kw__producer_txn_fencing(res->kerr)) {
        batch_fail(b, KW_EFENCED, res->kerr,
                   "produce to %s/%d: %s: fenced: %s transactional id %s", pt->topic->name,
                   pt->index, kw__kerr_name(res->kerr),
                   res->kerr == KW_KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED
                       ? "not authorized to write as"
                       : "a newer producer took over",
                   p->txn_id);
        kw__producer_log(p, KW_LOG_WARN, "%s", b->detail);
    } else {
        batch_fail(b, res->err, res->kerr, "produce to %s/%d: %s", pt->topic->name, pt->index,
                   res->detail && *res->detail ? res->detail : kw_strerror(res->err));
        kw__producer_log(p, KW_LOG_WARN, "%s (%u attempts)", b->detail, res->attempts);
        sequence_lost(p);
        if (res->err == KW_EBROKER && (res->kerr == KW_KERR_MESSAGE_TOO_LARGE ||
                                       res->kerr == KW_KERR_RECORD_LIST_TOO_LARGE) &&
            kw__too_large_explain(p->c, pt->topic->name, pt->index, res->kerr, b->buf.buf,
                                  b->buf.len, too_large_explained, b) == 0) {
            /* Settled once the topic's limit is known, so the callbacks can name it. */
            b->state = KW__PB_EXPLAINING;
            p->loop_calls++;
        }
    }
    settle(p, pt);
    resend_held(p, pt);
    kw__producer_run(p);
}

/* ---------------------------------------------------------------- producer id */

typedef struct init_call {
    kw_producer *p;
    kw_init_producer_id_req req;
} init_call;

static int build_init(void *arg, int version, int32_t leader_epoch, const void **req)
{
    init_call *in = arg;
    kw_producer *p = in->p;
    (void)leader_epoch;
    /* KIP-360: the current id and epoch ask for a bump of the same id. */
    kw__producer_id_request(&in->req, version, NULL, 60000, p->producer_id, p->producer_epoch);
    *req = &in->req;
    return 0;
}

static void init_done(const kw_cluster_result *res, void *arg)
{
    init_call *in = arg;
    kw_producer *p = in->p;
    free(in);
    p->loop_calls--;
    const kw_init_producer_id_resp *r = res->resp;
    int16_t kerr = r ? r->error_code : res->kerr;
    if (res->err == 0 && kerr == 0) {
        p->producer_id = r->producer_id;
        p->producer_epoch = r->producer_epoch;
        p->pid_state = KW__PID_READY;
        kw__producer_log(p, KW_LOG_INFO, "producer id %lld epoch %d", (long long)p->producer_id,
                         p->producer_epoch);
        kw__producer_reset_sequences(p);
        kw__producer_run(p);
        return;
    }
    if (kw__producer_id_stale(kerr)) {
        p->producer_id = -1;
        p->producer_epoch = -1;
    }
    kw__producer_log(p, KW_LOG_WARN, "InitProducerId: %s; retrying",
                     kerr ? kw__kerr_name(kerr)
                          : (res->detail && *res->detail ? res->detail : kw_strerror(res->err)));
    p->pid_state = KW__PID_NEED;
    p->pid_retry_ns = kw__clock_now_ns() + 200000000ull;
    kw__producer_run(p);
}

void kw__producer_reset_sequences(kw_producer *p)
{
    /* every partition starts over at sequence 0; held batches are renumbered and resent */
    kw__producer_topic *end = kw__producer_topics_end(p);
    for (kw__producer_topic *t = end ? p->topics : NULL; t; t = t == end ? NULL : t->next) {
        for (int32_t j = 0; t->parts && j < t->nparts; j++) {
            kw__producer_partition *pt = &t->parts[j];
            pt->next_seq = 0;
            pt->acked_next_seq = 0;
            pt->seq_anchored = false; /* a new id or epoch: the broker has no state for it */
            for (kw__producer_batch *b = pt->head; b; b = b->next)
                if (b->state == KW__PB_HELD) {
                    stamp(b, p->producer_id, p->producer_epoch, pt->next_seq);
                    pt->next_seq += b->builder.count;
                }
        }
    }
}

static void start_bump(kw_producer *p)
{
    if (p->pid_state == KW__PID_ASKING)
        return;
    if (p->inflight_total > 0) { /* the broker may still answer those: wait for them */
        p->pid_state = KW__PID_DRAINING;
        return;
    }
    /*
     * With an id, the epoch is bumped here, as the Java client's idempotent
     * producer does: the same id, the next epoch, sequences from 0.  A batch
     * of the old epoch reaching the broker late (its records reported failed)
     * is refused once the new epoch has written there; under a new id, which
     * is what InitProducerId gives a producer without a transactional id, it
     * would be written after newer batches.
     */
    if (p->producer_id >= 0 && p->producer_epoch >= 0 && p->producer_epoch < INT16_MAX) {
        p->producer_epoch++;
        p->pid_state = KW__PID_READY;
        kw__producer_log(p, KW_LOG_INFO, "producer id %lld: epoch bumped to %d",
                         (long long)p->producer_id, p->producer_epoch);
        kw__producer_reset_sequences(p);
        return; /* the caller runs the loop's round again */
    }
    init_call *in = calloc(1, sizeof(*in));
    if (!in) {
        p->pid_state = KW__PID_NEED;
        p->pid_retry_ns = kw__clock_now_ns() + 200000000ull;
        return;
    }
    in->p = p;
    p->pid_state = KW__PID_ASKING;
    uint64_t timeout_ns =
        p->delivery_timeout_ns < 30000000000ull ? p->delivery_timeout_ns : 30000000000ull;
    if (kw__cluster_send_any(p->cl, KW_API_INIT_PRODUCER_ID, build_init, in,
                             kw__clock_now_ns() + timeout_ns, init_done, in) != 0) {
        free(in);
        p->pid_state = KW__PID_NEED;
        p->pid_retry_ns = kw__clock_now_ns() + 200000000ull;
        return;
    }
    p->loop_calls++;
}

/* ---------------------------------------------------------------- topics */

static void topic_done(const kw_cluster_result *res, void *arg);

static void topic_ask(kw_producer *p, kw__producer_topic *t, uint64_t now)
{
    uint64_t timeout_ns =
        p->delivery_timeout_ns < 10000000000ull ? p->delivery_timeout_ns : 10000000000ull;
    if (kw__cluster_refresh(p->cl, t->name, now + timeout_ns, topic_done, t) == 0) {
        p->loop_calls++;
        t->asking = true;
    } else {
        pthread_mutex_lock(&p->mu);
        t->state = KW__PT_UNKNOWN;
        pthread_mutex_unlock(&p->mu);
        t->retry_at_ns = now + 200000000ull;
    }
}

/*
 * Fails a list of pending records (lock not held), counting them done.  With
 * detail NULL they expired: each says what its topic's metadata last said.
 */
static void pending_fail(kw_producer *p, kw__producer_pending *list, int err, int16_t kerr,
                         const char *detail)
{
    while (list) {
        kw__producer_pending *e = list;
        list = e->next;
        char text[512];
        int e_err = err;
        int16_t e_kerr = kerr;
        if (!detail) {
            e_kerr = e->kerr;
            e_err = e_kerr ? KW_EBROKER : KW_ETIMEDOUT;
            if (e_kerr == KW_KERR_UNKNOWN_TOPIC_OR_PARTITION)
                snprintf(text, sizeof(text),
                         "topic %s does not exist (UNKNOWN_TOPIC_OR_PARTITION) and the delivery "
                         "timeout (%llu ms) passed",
                         e->rec.topic, (unsigned long long)(p->delivery_timeout_ns / 1000000u));
            else if (e_kerr)
                snprintf(text, sizeof(text), "topic %s: %s, until the delivery timeout passed",
                         e->rec.topic, kw__kerr_name(e_kerr));
            else
                snprintf(text, sizeof(text),
                         "the delivery timeout (%llu ms) passed with no metadata for topic %s "
                         "(no broker answered)",
                         (unsigned long long)(p->delivery_timeout_ns / 1000000u), e->rec.topic);
        }
        if (e->cb) {
            kw_producer_delivery d = {.err = e_err,
                                      .kerr = e_kerr,
                                      .detail = detail ? detail : text,
                                      .topic = e->rec.topic,
                                      .partition = e->rec.partition,
                                      .offset = -1,
                                      .timestamp_ms = e->rec.timestamp_ms};
            e->cb(&d, e->arg);
        }
        pthread_mutex_lock(&p->mu);
        if (p->txn_id)
            kw__producer_txn_failed(p, e_err, e_kerr, detail ? detail : text);
        p->buffered -= e->bytes;
        p->done_records++;
        if (p->waiters)
            pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        free(e);
    }
}

static void topic_done(const kw_cluster_result *res, void *arg)
{
    kw__producer_topic *t = arg;
    kw_producer *p = t->producer;
    p->loop_calls--;
    t->asking = false;
    int16_t kerr = 0;
    int32_t n = kw__cluster_partition_count(p->cl, t->name, &kerr);
    kw__producer_partition *parts = n > 0 ? calloc((size_t)n, sizeof(*parts)) : NULL;
    kw__producer_pending *bad = NULL, **badp = &bad, *moved = NULL;
    char why[256] = "";
    pthread_mutex_lock(&p->mu);
    if (parts) {
        for (int32_t i = 0; i < n; i++)
            parts[i] = (kw__producer_partition){.topic = t, .index = i};
        t->parts = parts;
        t->nparts = n;
        t->state = KW__PT_KNOWN;
        /* the waiting records go in now, in send order, before any later send can */
        moved = t->pend_head;
        t->pend_head = t->pend_tail = NULL;
        for (kw__producer_pending *e = moved, *next; e; e = next) {
            next = e->next;
            int32_t part =
                e->rec.partition >= 0 ? e->rec.partition : kw__producer_pick(p, t, &e->rec);
            int rc = part < n ? kw__producer_append(p, &parts[part], &e->rec, e->cb, e->arg,
                                                    e->bytes, e->deadline_ns)
                              : KW_ENOTFOUND;
            if (rc) {
                e->rec.partition = part;
                e->next = NULL;
                *badp = e;
                badp = &e->next;
                if (part >= n)
                    snprintf(why, sizeof(why),
                             "partition %d of topic %s does not exist (it has %d)", part, t->name,
                             n);
                else
                    snprintf(why, sizeof(why), "%s", p->last_error);
            } else {
                free(e);
            }
        }
    } else {
        t->state = KW__PT_UNKNOWN;
        t->kerr = res->err == 0 ? (kerr ? kerr : KW_KERR_UNKNOWN_TOPIC_OR_PARTITION) : 0;
        t->retry_at_ns = kw__clock_now_ns() + 500000000ull;
        if (res->err)
            kw__producer_log(p, KW_LOG_DEBUG, "metadata for %s: %s", t->name,
                             res->detail ? res->detail : kw_strerror(res->err));
    }
    pthread_mutex_unlock(&p->mu);
    if (bad)
        pending_fail(p, bad, KW_EBROKER, KW_KERR_UNKNOWN_TOPIC_OR_PARTITION, why);
    kw__producer_run(p);
}

/* ---------------------------------------------------------------- the loop's round */

static void on_timer(kw_loop_timer *timer, void *arg)
{
    (void)timer;
    kw__producer_run(arg);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Fails queued and held batches past their delivery deadline, from the head. */
static void expire(kw_producer *p, kw__producer_partition *pt, uint64_t now)
{
    for (kw__producer_batch *b = pt->head; b; b = b->next) {
        if (b == pt->unsent && b->deadline_ns > now)
            break; /* unsent batches were opened in order: the rest are due later */
        if ((b->state != KW__PB_QUEUED && b->state != KW__PB_HELD) || b->deadline_ns > now)
            continue;
        bool was_held = b->state == KW__PB_HELD;
        batch_fail(b, KW_ETIMEDOUT, 0,
                   "delivery timeout (%llu ms) passed before %s/%d could take the batch%s",
                   (unsigned long long)(p->delivery_timeout_ns / 1000000u), pt->topic->name,
                   pt->index,
                   p->idempotent && p->pid_state != KW__PID_READY ? " (no producer id yet)" : "");
        if (was_held)
            sequence_lost(p); /* a sequence gap now: renumber */
    }
}

/*
 * Fails b and the queued batches behind it (none has a sequence yet) with
 * the transaction's error: it is aborting, or failed, so they must not go.
 */
static void txn_fail_unsent(kw_producer *p, kw__producer_batch *b, int err)
{
    char why[256];
    pthread_mutex_lock(&p->mu);
    int16_t kerr = p->txn_kerr;
    snprintf(why, sizeof(why), "%s", *p->txn_why ? p->txn_why : "the transaction is aborting");
    pthread_mutex_unlock(&p->mu);
    kw__producer_partition *pt = b->part;
    for (; b; b = b->next)
        if (b->state == KW__PB_QUEUED)
            batch_fail(b, err, kerr, "%s/%d: not sent: %s", pt->topic->name, pt->index, why);
}

void kw__producer_run(kw_producer *p)
{
    if (!p->coalescing) {
        /* partitions' batches ready in one round for one broker share a Produce request */
        kw__cluster_coalesce_produce(p->cl);
        kw__cluster_produce_attempt(p->cl, p->request_timeout_ms);
        p->coalescing = true;
    }
    uint64_t now = kw__clock_now_ns();
    uint64_t next = UINT64_MAX;
    kw__producer_pending *expired = NULL, **expp = &expired;
    bool sendable = !p->idempotent || p->pid_state == KW__PID_READY;

    pthread_mutex_lock(&p->mu);
    bool flushing = p->flushing > 0;
    kw__producer_topic *end = p->topics_tail;
    for (kw__producer_topic *t = p->topics; t; t = t == end ? NULL : t->next) {
        if (t->state != KW__PT_KNOWN) {
            /* records waiting for metadata: those past their deadline fail */
            while (t->pend_head && t->pend_head->deadline_ns <= now) {
                kw__producer_pending *e = t->pend_head;
                t->pend_head = e->next;
                if (!t->pend_head)
                    t->pend_tail = NULL;
                e->next = NULL;
                e->kerr = t->kerr;
                *expp = e;
                expp = &e->next;
            }
            if (t->pend_head) {
                next = min_u64(next, t->pend_head->deadline_ns);
                if (t->state == KW__PT_UNKNOWN) {
                    if (t->retry_at_ns <= now)
                        t->state = KW__PT_ASKING; /* asked below, without the lock */
                    else
                        next = min_u64(next, t->retry_at_ns);
                }
            }
            continue;
        }
        for (int32_t j = 0; j < t->nparts; j++) {
            kw__producer_partition *pt = &t->parts[j];
            kw__producer_batch *b = pt->open;
            /* a partition joins the transaction with its first record, not when its batch
             * goes: the AddPartitionsToTxn round trip overlaps the linger and the sends */
            if (b && p->txn_id && !p->txn_v2 && pt->txn == KW__TXP_NONE &&
                p->txn_state == KW__TXN_IN)
                pt->txn = KW__TXP_WANTED;
            if (b) {
                uint64_t due = b->opened_ns + p->linger_ns;
                if (b->deadline_ns < due)
                    due = b->deadline_ns;
                bool idle = !pt->head && !pt->closed_head && sendable && partition_has_room(p, pt);
                if (flushing || due <= now || (p->linger_ns == 0 && idle))
                    kw__producer_close(p, pt);
                else if (p->linger_ns == 0)
                    ; /* goes when the partition has room: a done callback runs this again */
                else
                    next = min_u64(next, due);
            }
            /* closed batches move to the loop's queue, still in order */
            if (pt->closed_head) {
                if (!pt->unsent)
                    pt->unsent = pt->closed_head;
                pt->unsealed = pt->closed_head;
                if (pt->tail)
                    pt->tail->next = pt->closed_head;
                else
                    pt->head = pt->closed_head;
                pt->tail = pt->closed_tail;
                pt->closed_head = pt->closed_tail = NULL;
            }
        }
    }
    pthread_mutex_unlock(&p->mu);

    if (expired)
        pending_fail(p, expired, 0, 0, NULL);

    bool need_pid = false;
    for (kw__producer_topic *t = end ? p->topics : NULL; t; t = t == end ? NULL : t->next) {
        if (t->state == KW__PT_ASKING && !t->asking)
            topic_ask(p, t, now);
        if (t->state != KW__PT_KNOWN)
            continue;
        for (int32_t j = 0; j < t->nparts; j++) {
            kw__producer_partition *pt = &t->parts[j];
            /* compress and seal what was just taken, outside the lock (all unsent) */
            for (kw__producer_batch *b = pt->unsealed; b; b = b->next) {
                if (b->state != KW__PB_CLOSED)
                    continue;
                int rc = kw__batch_finish(&b->builder);
                if (rc)
                    batch_fail(b, rc, 0, "sealing a batch of %s/%d: %s", t->name, pt->index,
                               kw_strerror(rc));
                else
                    b->state = KW__PB_QUEUED;
            }
            pt->unsealed = NULL;
            expire(p, pt, now);
            settle(p, pt);
            resend_held(p, pt);
            for (kw__producer_batch *b = pt->unsent; b; b = b->next) {
                if (b->state != KW__PB_QUEUED)
                    continue; /* failed at sealing or expired: settled in order */
                int fail = 0;
                if (p->txn_id && !kw__producer_txn_may_send(p, pt, &fail)) {
                    if (fail)
                        txn_fail_unsent(p, b, fail);
                    break; /* not added yet: kw__producer_txn_add runs this again */
                }
                need_pid = true;
                if (p->idempotent && p->pid_state != KW__PID_READY) {
                    next = min_u64(next, b->deadline_ns);
                    break;
                }
                if (has_held(pt) || !partition_has_room(p, pt))
                    break; /* a done callback runs this again */
                send_new(p, b);
            }
            settle(p, pt);
            /* a batch still waiting to be sent fails at its deadline even if nothing answers */
            for (kw__producer_batch *b = pt->unsent; b; b = b->next)
                if (b->state == KW__PB_QUEUED) {
                    next = min_u64(next, b->deadline_ns);
                    break;
                }
        }
    }
    if (p->txn_id) {
        kw__producer_txn_add(p); /* the producer id comes from kw_producer_init_transactions */
    } else if (p->idempotent && need_pid) {
        if (p->pid_state == KW__PID_NEED && p->pid_retry_ns <= now) {
            start_bump(p);
            if (p->pid_state == KW__PID_READY)
                next = now; /* bumped here: the held batches go in the next round */
        } else if (p->pid_state == KW__PID_NEED)
            next = min_u64(next, p->pid_retry_ns);
    }
    if (p->idempotent && p->pid_state == KW__PID_DRAINING && p->inflight_total == 0) {
        p->pid_state = KW__PID_NEED;
        start_bump(p);
        if (p->pid_state == KW__PID_READY)
            next = now; /* bumped here: the held batches go in the next round */
    }
    if (p->pid_state == KW__PID_NEED && need_pid && !p->txn_id)
        next = min_u64(next, p->pid_retry_ns > now ? p->pid_retry_ns : now + 1000000u);

    if (!p->timer_ready) {
        kw__loop_timer_init(p->loop, &p->timer, on_timer, p);
        p->timer_ready = true;
    }
    if (next == UINT64_MAX)
        kw__loop_timer_stop(&p->timer);
    else
        kw__loop_timer_start_at(&p->timer, next);
}
