/* The Kafka WAL's produce pipeline: entries into batches, Produce requests, acks in order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/kerr.h"
#include "proto/msg_group.h"
#include "wal/kafka_int.h"

/*
 * Durability: an append's callback fires with an entry id only after the
 * broker acknowledged (acks=all, so every in-sync replica has it) the batch
 * holding the entry's last record, and every batch before it on the topic.
 * Callbacks of one topic therefore come in append order, and ids grow.
 *
 * The pipeline, per topic: entries queue from any thread; the loop thread
 * packs them into record batches of at most max_batch_bytes (an entry larger
 * than a batch is split into parts, which go out in consecutive batches), and
 * keeps up to max_in_flight Produce requests out.  When the batches go is
 * decided per broker (kafka_rounds.c): a topic whose leader is known sends in
 * its broker's next round, so its batch fills while earlier requests are out.  Each batch carries the
 * topic's producer id, epoch and sequence numbers, so a batch the cluster
 * layer resends after a lost connection is written once.  Outcomes:
 *
 *  - acked: its entries that end here get their ids (in order, at the head);
 *  - OUT_OF_ORDER_SEQUENCE while an earlier batch is still out: the earlier
 *    one is being retried; this one waits (HELD) and is resent after it;
 *  - anything else final (timeout, broker error, or OUT_OF_ORDER with nothing
 *    before it): its entries fail, and since the broker's view of the
 *    sequence is now unknown, the topic stops sending, waits for what is out,
 *    bumps the producer epoch (InitProducerId with the old id, KIP-360) and
 *    renumbers the held batches from sequence 0.  A failed entry may still be
 *    in the log (a timed-out batch can land later): the callback says "not
 *    known durable", and the entry tag lets replay drop a copy written twice.
 */

/* ---------------------------------------------------------------- completion */

/* The bookkeeping of an entry's end (k->mu held; the caller wakes k->cond). */
static void entry_account(kw_wal_kafka *k, const kentry *e, int err, uint64_t id)
{
    if (err == 0) {
        k->stats.appends++;
        k->stats.bytes += e->raw_len;
        kregion *r = kw__wal_kafka_region_slot(k, e->region_id, true);
        if (r && id > r->latest)
            r->latest = id;
    } else {
        k->stats.append_errors++;
    }
    k->buffered -= e->len;
    k->pending--;
}

/* Calls the entry's callback and frees it (k->mu not held; accounted already). */
static void entry_finish(kentry *e, int err, uint64_t id, const char *detail)
{
    if (e->cb)
        e->cb(e->arg, err, id, err ? (detail && *detail ? detail : kw_strerror(err)) : "");
    free(e);
}

/* Hands an entry back to its caller and forgets it (k->mu not held). */
void kw__wal_kafka_entry_done(kw_wal_kafka *k, kentry *e, int err, uint64_t id, const char *detail)
{
    pthread_mutex_lock(&k->mu);
    entry_account(k, e, err, id);
    pthread_cond_broadcast(&k->cond);
    pthread_mutex_unlock(&k->mu);
    entry_finish(e, err, id, detail);
}

static void batch_free(kbatch *b)
{
    kw__wr_free(&b->buf);
    free(b->slots);
    free(b);
}


/* The id of the entry completed by slot i of an acked batch: its last record's offset. */
static uint64_t slot_id(const kbatch *b, size_t i)
{
    return (uint64_t)(b->base_offset + b->slots[i].record);
}

/*
 * Resolves batches at the head of the topic in sequence order, so callbacks
 * keep append order: an acked head gives its completed entries their ids, a
 * failed head fails every entry it holds a part of.
 */
void kw__wal_kafka_settle(ktopic *t)
{
    kw_wal_kafka *k = t->k;
    while (t->head && (t->head->state == KB_ACKED || t->head->state == KB_FAILED)) {
        kbatch *b = t->head;
        if (k->ix_on) {
            pthread_mutex_lock(&k->mu);
            kw__wal_kafka_index_batch(k, b, b->state == KB_ACKED);
            pthread_mutex_unlock(&k->mu);
        }
        /* One lock for the whole batch's bookkeeping, then the callbacks, in append order. */
        bool any = false;
        for (size_t i = 0; i < b->nslots; i++) {
            kentry *e = b->slots[i].e;
            if (b->state == KB_FAILED && !e->err)
                e->err = b->err;
            e->batches--;
            if (!b->slots[i].completes)
                continue;
            if (!any)
                pthread_mutex_lock(&k->mu);
            any = true;
            entry_account(k, e, e->err, e->err ? 0 : slot_id(b, i));
        }
        if (any) {
            pthread_cond_broadcast(&k->cond);
            pthread_mutex_unlock(&k->mu);
        }
        for (size_t i = 0; i < b->nslots; i++) {
            kentry *e = b->slots[i].e;
            if (b->slots[i].completes)
                entry_finish(e, e->err, e->err ? 0 : slot_id(b, i), t->last_error);
        }
        t->head = b->next;
        if (!t->head)
            t->tail = NULL;
        batch_free(b);
    }
}

/* ---------------------------------------------------------------- produce */

static int build_produce(void *arg, int version, int32_t leader_epoch, const void **req)
{
    kbatch *b = arg;
    kw_wal_kafka *k = b->t->k;
    b->rp = (kw_produce_req_partition){.index = 0,
                                       .records = {b->buf.buf, (int32_t)b->buf.len}};
    b->rt = (kw_produce_req_topic){.name = kw_str_c(b->t->name)};
    b->rt.partition_data.v = &b->rp;
    b->rt.partition_data.n = 1;
    kw__schema_init(kw__api(KW_API_PRODUCE)->req, version, &b->req);
    b->req.transactional_id = KW_STR_NULL;
    b->req.acks = -1;
    b->req.timeout_ms = (int32_t)k->o.timeout_ms;
    b->req.topic_data.v = &b->rt;
    b->req.topic_data.n = 1;
    *req = &b->req;
    return 0;
}

static bool earlier_unsettled(const ktopic *t, const kbatch *b)
{
    for (const kbatch *x = t->head; x && x != b; x = x->next)
        if (x->state != KB_ACKED)
            return true;
    return false;
}

static void produce_done(const kw_cluster_result *res, void *arg)
{
    kbatch *b = arg;
    ktopic *t = b->t;
    kw_wal_kafka *k = t->k;
    t->in_flight--;
    k->calls_out--;
    kw__wal_kafka_round_release(b);
    pthread_mutex_lock(&k->mu);
    if (res->attempts > 1)
        k->stats.retries += res->attempts - 1;
    pthread_mutex_unlock(&k->mu);

    if (res->err == 0) {
        const kw_produce_resp *r = res->resp;
        b->base_offset = r->responses.v[0].partition_responses.v[0].base_offset;
        b->state = KB_ACKED;
        t->seq_anchored = true;
    } else if (res->kerr == KW_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER && !k->o.no_idempotence &&
               (earlier_unsettled(t, b) || !b->order_resent)) {
        /* An earlier batch is being resent after a lost connection and this
         * one overtook it: send it again once that one is in.  The earlier
         * one may be in already (its resend was answered before this
         * answer came): then this goes again at once, but only once, since
         * a second OUT_OF_ORDER with nothing before it is the broker's
         * state, not a race. */
        if (!earlier_unsettled(t, b))
            b->order_resent = true;
        b->state = KB_HELD;
    } else {
        b->state = KB_FAILED;
        b->err = res->err;
        b->kerr = res->kerr;
        snprintf(t->last_error, sizeof(t->last_error), "produce to %s: %s", t->name,
                 res->detail && *res->detail ? res->detail : kw_strerror(res->err));
        kw__wal_kafka_log(k, KW_LOG_WARN, "%s (%u attempts)", t->last_error, res->attempts);
        if (!k->o.no_idempotence && t->pstate == KP_READY)
            t->pstate = KP_DRAINING;
    }
    kw__wal_kafka_settle(t);
    /* held batches whose predecessors are all in go out again, in order */
    for (kbatch *x = t->head; x && !k->stopping; x = x->next) {
        if (x->state == KB_HELD && !earlier_unsettled(t, x) && t->pstate == KP_READY)
            kw__wal_kafka_send_batch(x);
        else if (x->state != KB_ACKED)
            break;
    }
    if (t->pstate == KP_DRAINING && t->in_flight == 0)
        kw__wal_kafka_start_bump(t);
    kw__wal_kafka_pump(t);
}

void kw__wal_kafka_send_batch(kbatch *b)
{
    ktopic *t = b->t;
    kw_wal_kafka *k = t->k;
    b->state = KB_INFLIGHT;
    t->in_flight++;
    k->calls_out++;
    uint64_t deadline = kw__wal_kafka_deadline(k->o.timeout_ms);
    /* Batches of many topics ready for one broker share a request, also on a host's client. */
    int rc = k->o.no_coalesce
                 ? kw__cluster_send_partition(k->cl, KW_API_PRODUCE, t->name, 0, build_produce, b,
                                              deadline, produce_done, b)
                 : kw__cluster_send_produce_coalesced(k->cl, t->name, 0, build_produce, b,
                                                      deadline, produce_done, b);
    if (rc) {
        t->in_flight--;
        k->calls_out--;
        kw__wal_kafka_round_release(b);
        b->state = KB_FAILED;
        b->err = rc;
        snprintf(t->last_error, sizeof(t->last_error), "produce to %s: cannot send: %s", t->name,
                 kw_strerror(rc));
        if (!k->o.no_idempotence)
            t->pstate = KP_DRAINING;
    }
}

/* Rewrites a held batch's producer epoch and base sequence (the CRC covers them). */
void kw__wal_kafka_renumber(kbatch *b, int64_t pid, int16_t epoch, int32_t seq)
{
    kw__batch_set_producer(b->buf.buf, b->buf.len, pid, epoch, seq);
    b->base_seq = seq;
}

static int slot_add(kbatch *b, kentry *e, int32_t record, bool completes)
{
    if (b->nslots && b->slots[b->nslots - 1].e == e) {
        b->slots[b->nslots - 1].record = record;
        b->slots[b->nslots - 1].completes = completes;
        return 0;
    }
    if (b->nslots == b->capslots) {
        size_t cap = b->capslots ? b->capslots * 2 : 128;
        kslot *s = realloc(b->slots, cap * sizeof(*s));
        if (!s)
            return KW_ENOMEM;
        b->slots = s;
        b->capslots = cap;
    }
    b->slots[b->nslots++] = (kslot){e, record, completes};
    e->batches++;
    return 0;
}

/* Moves everything appended so far onto the loop's own list: one lock for many entries. */
void kw__wal_kafka_take_queue(ktopic *t)
{
    kw_wal_kafka *k = t->k;
    pthread_mutex_lock(&k->mu);
    kentry *h = t->qhead, *tl = t->qtail;
    size_t bytes = t->qbytes;
    t->qhead = t->qtail = NULL;
    t->qbytes = 0;
    pthread_mutex_unlock(&k->mu);
    if (!h)
        return;
    if (t->rtail)
        t->rtail->next = h;
    else
        t->rhead = h;
    t->rtail = tl;
    t->rbytes += bytes;
}

/*
 * Room for one more batch: the batches sent and not yet settled, acknowledged
 * ones behind an unsettled one included, stay under max_in_flight.  The
 * broker remembers a producer's last 5 batches per partition; a resend of an
 * older one is answered OUT_OF_ORDER_SEQUENCE instead of as a duplicate, so
 * a later batch's acknowledgement must not free room while an earlier one
 * still waits for its resend after a lost connection (resends go in the
 * order of their backoffs).
 */
bool kw__wal_kafka_has_room(const ktopic *t)
{
    const kw_wal_kafka *k = t->k;
    uint32_t max = k->o.no_idempotence ? 1 : k->o.max_in_flight, sent = 0;
    for (const kbatch *b = t->head; b && sent < max; b = b->next)
        sent++;
    return sent < max;
}

bool kw__wal_kafka_may_overlap(const ktopic *t)
{
    return t->in_flight == 0 || t->seq_anchored || t->k->o.no_idempotence;
}

size_t kw__wal_kafka_queued_bytes(ktopic *t)
{
    pthread_mutex_lock(&t->k->mu);
    size_t q = t->qbytes;
    pthread_mutex_unlock(&t->k->mu);
    return q + t->rbytes;
}

bool kw__wal_kafka_has_queued(ktopic *t)
{
    if (t->partial || t->rhead)
        return true;
    pthread_mutex_lock(&t->k->mu);
    bool any = t->qhead != NULL;
    pthread_mutex_unlock(&t->k->mu);
    return any;
}

/* The next entry to batch: the one partly batched, else the queue's head. */
static kentry *next_entry(ktopic *t)
{
    if (t->partial)
        return t->partial;
    if (!t->rhead)
        kw__wal_kafka_take_queue(t);
    kentry *e = t->rhead;
    if (e) {
        t->rbytes -= e->len;
        t->rhead = e->next;
        if (!t->rhead)
            t->rtail = NULL;
        e->next = NULL;
    }
    t->partial = e;
    return e;
}

/*
 * A region's run: entries of one region in a row in the topic's queue (a
 * region writing a burst).  A run of at least KW__WAL_RUN_BYTES stored bytes
 * gets batches of its own, so a replay of another region skips it through
 * the index (Kafka fetches whole batches): the batch being filled ends before
 * such a run starts and when it ends.  Entries keep their append order; mixed
 * entries (runs of one, the common case) never cut a batch.
 */
static bool long_run_starts(const ktopic *t, const kentry *e)
{
    /* at most 256 entries ahead: a longer run of tiny (or empty) entries is not worth a
     * batch of its own, and the look stays short for each entry of a mixed batch */
    size_t n = e->len;
    unsigned steps = 0;
    for (const kentry *x = t->rhead; x && n < KW__WAL_RUN_BYTES && steps < 256;
         x = x->next, steps++) {
        if (x->region_id != e->region_id)
            break;
        n += x->len;
    }
    return n >= KW__WAL_RUN_BYTES;
}

kbatch *kw__wal_kafka_build_batch(ktopic *t)
{
    kw_wal_kafka *k = t->k;
    if (!next_entry(t))
        return NULL;
    kbatch *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->t = t;
    kw__wr_init(&b->buf);
    /* Size the batch once for what is queued (records add about 1/8 for keys and framing)
     * rather than doubling from 256 bytes with a copy each time. */
    size_t want = kw__wal_kafka_queued_bytes(t) + (t->partial ? t->partial->len : 0);
    want += want / 8 + 256;
    if (want > k->o.max_batch_bytes + 256)
        want = k->o.max_batch_bytes + 256;
    if (kw__wr_reserve(&b->buf, want))
        b->buf.len = 0; /* only the room was wanted */
    /* kwal's format compresses each entry instead (kafka_append); GreptimeDB's values are raw */
    kw_batch_opts bo = {.codec = k->o.record_format == KW_WAL_FORMAT_GREPTIMEDB &&
                                         k->o.compression == KW_WAL_COMPRESSION_LZ4
                                     ? KW_CODEC_LZ4
                                     : KW_CODEC_NONE};
    if (!k->o.no_idempotence) {
        bo.idempotent = true;
        bo.producer_id = t->producer_id;
        bo.producer_epoch = t->producer_epoch;
        bo.base_sequence = t->next_seq;
    }
    kw_batch_builder bb;
    kw__batch_begin(&bb, &b->buf, &bo);
    int64_t now_ms = (int64_t)time(NULL) * 1000;
    kentry *e;
    uint64_t run_region = 0;  /* the region of the batch's entries while they are one region's */
    bool one_region = false;  /* every entry so far is run_region's */
    size_t run_len = 0;       /* their stored bytes */
    while ((e = next_entry(t))) {
        bool full = false;
        if (bb.count > 0 && e->next_part == 0 && !k->o.no_region_runs &&
            !(one_region && e->region_id == run_region) &&
            ((one_region && run_len >= KW__WAL_RUN_BYTES) || long_run_starts(t, e)))
            break; /* a long run ends or starts here: e opens the next batch */
        if (bb.count == 0 || (one_region && e->region_id == run_region)) {
            one_region = true;
            run_region = e->region_id;
            run_len += e->len;
        } else {
            one_region = false;
        }
        while (e->next_part < e->nparts) {
            kw_wal_part part = kw__wal_split_part(e->len, k->max_part, e->nparts, e->next_part);
            kw_wal_record_key key;
            kw__wal_record_key_for_part(&key, k->o.record_format, e->region_id, e->tag, &part,
                                        e->nparts, e->len);
            if (e->codec != KW_WAL_CODEC_RAW && e->next_part == 0) {
                key.codec = e->codec;
                key.raw_len = e->raw_len;
            }
            uint8_t kb[KW_WAL_RECORD_KEY_MAX];
            int kl = kw__wal_record_key_encode(&key, kb, sizeof(kb));
            kw_bytes kbytes = {kb, kl > 0 ? kl : 0};
            kw_bytes value = {e->data + part.off, (int32_t)part.len};
            size_t need = kw__batch_record_size(&bb, now_ms, kbytes, value, NULL, 0);
            if (bb.count > 0 && kw__batch_size(&bb) + need > k->o.max_batch_bytes) {
                full = true;
                break;
            }
            if (kl < 0 || kw__batch_add(&bb, now_ms, kbytes, value, NULL, 0) != 0 ||
                slot_add(b, e, bb.count - 1, e->next_part + 1 == e->nparts) != 0) {
                /* cannot happen for a valid entry; fail it rather than loop */
                e->err = kl < 0 ? kl : KW_ENOMEM;
                e->next_part = e->nparts;
                break;
            }
            e->next_part++;
        }
        if (full)
            break;
        t->partial = NULL; /* every part of e is in a batch now */
        if (e->batches == 0) /* failed before any part got in: answer now */
            kw__wal_kafka_entry_done(k, e, e->err, 0, "the entry could not be put in a batch");
    }
    if (bb.count == 0) {
        kw__batch_abort(&bb);
        batch_free(b);
        return NULL;
    }
    if (kw__batch_finish(&bb) != 0) {
        b->state = KB_FAILED;
        b->err = KW_ENOMEM;
    }
    b->count = bb.count;
    b->base_seq = t->next_seq;
    if (!k->o.no_idempotence)
        t->next_seq += b->count;
    if (t->tail)
        t->tail->next = b;
    else
        t->head = b;
    t->tail = b;
    pthread_mutex_lock(&k->mu);
    k->stats.batches++;
    pthread_mutex_unlock(&k->mu);
    return b;
}

/*
 * Sends the topic's batches on its own, without rounds: while its leader is
 * unknown (the cluster finds it, and the batch waits there) and with
 * no_coalesce (every batch is its own request anyway).
 */
static void pump_alone(ktopic *t)
{
    kw_wal_kafka *k = t->k;
    while (t->pstate == KP_READY && kw__wal_kafka_has_room(t) && kw__wal_kafka_may_overlap(t)) {
        /*
         * Two batches in flight at once, then another only once a full batch
         * is waiting: the broker's cost is per batch and per request, so
         * many small batches behind those cost throughput and gain no
         * latency (they would wait behind them anyway).  The second keeps
         * the topic busy while the first is answered: batches of many topics
         * share requests (coalesce_produce), and with one per topic they
         * went in lock-step rounds (+6-13% MB/s, p50 27 -> 23 ms, on the
         * WAL bench's append).  With nothing out, send at once.
         */
        if (t->in_flight > 1 && !t->partial) {
            if (kw__wal_kafka_queued_bytes(t) < k->o.max_batch_bytes)
                break;
        }
        kbatch *b = kw__wal_kafka_build_batch(t);
        if (!b)
            break;
        if (b->state == KB_FAILED) {
            kw__wal_kafka_settle(t);
            continue;
        }
        kw__wal_kafka_send_batch(b);
    }
}

void kw__wal_kafka_pump(ktopic *t)
{
    kw_wal_kafka *k = t->k;
    if (k->stopping) { /* closing: nothing new goes out */
        kw__wal_kafka_settle(t);
        return;
    }
    if (t->pstate == KP_NEED_ID) {
        kw__wal_kafka_start_bump(t);
        return;
    }
    if (t->pstate == KP_READY) {
        /* With a known leader the entries go in that broker's next round (kafka_rounds.c). */
        if (!k->o.no_coalesce && kw__wal_kafka_topic_broker(t))
            kw__wal_kafka_mark_ready(t);
        else
            pump_alone(t);
    }
    kw__wal_kafka_settle(t);
}


void kw__wal_kafka_kick_run(kw_loop *loop, void *arg)
{
    ktopic *t = arg;
    pthread_mutex_lock(&t->k->mu);
    t->kicked = false;
    pthread_mutex_unlock(&t->k->mu);
    if (!kw__loop_timer_armed(&t->timer) && t->timer.loop == NULL)
        kw__loop_timer_init(t->k->loop, &t->timer, kw__wal_kafka_retry_timer, t);
    kw__wal_kafka_pump(t);
}
