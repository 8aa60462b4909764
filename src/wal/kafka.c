/* The Kafka WAL provider: per-topic batching, an idempotent pipelined producer, entry ids from offsets. */
#include "wal/kafka.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/crc32c.h"
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
 * keeps up to max_in_flight Produce requests out.  Each batch carries the
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

#define DEFAULT_TOPIC "greptimedb_wal_topic_0"

uint64_t kw__wal_kafka_deadline(uint32_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + (uint64_t)ms * 1000000ull;
}

void kw__wal_kafka_log(kw_wal_kafka *k, int level, const char *fmt, ...)
{
    if (!k->o.log)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    k->o.log(k->o.log_arg, level, msg);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---------------------------------------------------------------- loop calls */

typedef struct kcall {
    kw_wal_kafka *k;
    int (*fn)(kw_wal_kafka *, void *);
    void *arg;
    int rc;
    bool done;
} kcall;

static void call_run(kw_loop *loop, void *arg)
{
    kcall *c = arg;
    int rc = c->fn(c->k, c->arg);
    pthread_mutex_lock(&c->k->mu);
    c->rc = rc;
    c->done = true;
    pthread_cond_broadcast(&c->k->cond);
    pthread_mutex_unlock(&c->k->mu);
}

static void call_drop(void *arg)
{
    kcall *c = arg;
    pthread_mutex_lock(&c->k->mu);
    c->rc = KW_ECLOSED;
    c->done = true;
    pthread_cond_broadcast(&c->k->cond);
    pthread_mutex_unlock(&c->k->mu);
}

int kw__wal_kafka_call(kw_wal_kafka *k, int (*fn)(kw_wal_kafka *, void *), void *arg)
{
    kcall c = {k, fn, arg, 0, false};
    int rc = kw__loop_post(k->loop, call_run, call_drop, &c);
    if (rc)
        return rc;
    pthread_mutex_lock(&k->mu);
    while (!c.done)
        pthread_cond_wait(&k->cond, &k->mu);
    pthread_mutex_unlock(&k->mu);
    return c.rc;
}

/* ---------------------------------------------------------------- topics and regions */

ktopic *kw__wal_kafka_topic(kw_wal_kafka *k, const char *name)
{
    for (ktopic *t = k->topics; t; t = t->next)
        if (strcmp(t->name, name) == 0)
            return t;
    ktopic *t = calloc(1, sizeof(*t));
    if (!t || !(t->name = strdup(name))) {
        free(t);
        return NULL;
    }
    t->k = k;
    t->producer_id = -1;
    t->producer_epoch = -1;
    t->pstate = k->o.no_idempotence ? KP_READY : KP_NEED_ID;
    t->next = k->topics;
    k->topics = t;
    return t;
}

static kregion *region_slot(kw_wal_kafka *k, uint64_t region_id, bool create)
{
    if (create && (k->nregions + 1) * 2 > k->capregions) {
        size_t cap = k->capregions ? k->capregions * 2 : 64;
        kregion *n = calloc(cap, sizeof(*n));
        if (!n)
            return NULL;
        for (size_t i = 0; i < k->capregions; i++) {
            if (!k->regions[i].used)
                continue;
            size_t j = (size_t)(k->regions[i].region_id * 0x9E3779B97F4A7C15ull) & (cap - 1);
            while (n[j].used)
                j = (j + 1) & (cap - 1);
            n[j] = k->regions[i];
        }
        free(k->regions);
        k->regions = n;
        k->capregions = cap;
    }
    if (!k->capregions)
        return NULL;
    size_t mask = k->capregions - 1;
    size_t j = (size_t)(region_id * 0x9E3779B97F4A7C15ull) & mask;
    while (k->regions[j].used) {
        if (k->regions[j].region_id == region_id)
            return &k->regions[j];
        j = (j + 1) & mask;
    }
    if (!create)
        return NULL;
    k->regions[j] = (kregion){.region_id = region_id, .used = true};
    k->nregions++;
    return &k->regions[j];
}

ktopic *kw__wal_kafka_region_topic(kw_wal_kafka *k, uint64_t region_id)
{
    kregion *r = region_slot(k, region_id, false);
    if (r && r->topic)
        return r->topic;
    return kw__wal_kafka_topic(k, k->default_topic);
}

static int kafka_set_region_topic(void *p, uint64_t region_id, const char *topic)
{
    kw_wal_kafka *k = p;
    if (!topic || !*topic || strlen(topic) > 249)
        return KW_EINVAL;
    pthread_mutex_lock(&k->mu);
    kregion *r = region_slot(k, region_id, true);
    ktopic *t = r ? kw__wal_kafka_topic(k, topic) : NULL;
    if (r && t)
        r->topic = t;
    pthread_mutex_unlock(&k->mu);
    return r && t ? 0 : KW_ENOMEM;
}

/* ---------------------------------------------------------------- completion */

/* The bookkeeping of an entry's end (k->mu held; the caller wakes k->cond). */
static void entry_account(kw_wal_kafka *k, const kentry *e, int err, uint64_t id)
{
    if (err == 0) {
        k->stats.appends++;
        k->stats.bytes += e->raw_len;
        kregion *r = region_slot(k, e->region_id, true);
        if (r && id > r->latest)
            r->latest = id;
    } else {
        k->stats.append_errors++;
    }
    k->buffered -= e->len;
    k->pending--;
}

/* Calls the entry's callback and frees it (k->mu not held; accounted already). */
static void entry_finish(kentry *e, int err, uint64_t id)
{
    if (e->cb)
        e->cb(e->arg, err, id);
    free(e);
}

/* Hands an entry back to its caller and forgets it (k->mu not held). */
static void entry_done(kw_wal_kafka *k, kentry *e, int err, uint64_t id)
{
    pthread_mutex_lock(&k->mu);
    entry_account(k, e, err, id);
    pthread_cond_broadcast(&k->cond);
    pthread_mutex_unlock(&k->mu);
    entry_finish(e, err, id);
}

static void batch_free(kbatch *b)
{
    kw__wr_free(&b->buf);
    free(b->slots);
    free(b);
}

static void pump(ktopic *t);
static void start_bump(ktopic *t);

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
static void settle(ktopic *t)
{
    kw_wal_kafka *k = t->k;
    while (t->head && (t->head->state == KB_ACKED || t->head->state == KB_FAILED)) {
        kbatch *b = t->head;
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
                entry_finish(e, e->err, e->err ? 0 : slot_id(b, i));
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

static void send_batch(kbatch *b);

static void produce_done(const kw_cluster_result *res, void *arg)
{
    kbatch *b = arg;
    ktopic *t = b->t;
    kw_wal_kafka *k = t->k;
    t->in_flight--;
    pthread_mutex_lock(&k->mu);
    if (res->attempts > 1)
        k->stats.retries += res->attempts - 1;
    pthread_mutex_unlock(&k->mu);

    if (res->err == 0) {
        const kw_produce_resp *r = res->resp;
        b->base_offset = r->responses.v[0].partition_responses.v[0].base_offset;
        b->state = KB_ACKED;
    } else if (res->kerr == KW_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER && earlier_unsettled(t, b) &&
               !k->o.no_idempotence) {
        /* An earlier batch is being resent after a lost connection and this
         * one overtook it: send it again once that one is in. */
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
    settle(t);
    /* held batches whose predecessors are all in go out again, in order */
    for (kbatch *x = t->head; x; x = x->next) {
        if (x->state == KB_HELD && !earlier_unsettled(t, x) && t->pstate == KP_READY)
            send_batch(x);
        else if (x->state != KB_ACKED)
            break;
    }
    if (t->pstate == KP_DRAINING && t->in_flight == 0)
        start_bump(t);
    pump(t);
}

static void send_batch(kbatch *b)
{
    ktopic *t = b->t;
    kw_wal_kafka *k = t->k;
    b->state = KB_INFLIGHT;
    t->in_flight++;
    int rc = kw__cluster_send_partition(k->cl, KW_API_PRODUCE, t->name, 0, build_produce, b,
                                        kw__wal_kafka_deadline(k->o.timeout_ms), produce_done, b);
    if (rc) {
        t->in_flight--;
        b->state = KB_FAILED;
        b->err = rc;
        if (!k->o.no_idempotence)
            t->pstate = KP_DRAINING;
    }
}

/* Rewrites a held batch's producer epoch and base sequence (the CRC covers them). */
static void renumber(kbatch *b, int64_t pid, int16_t epoch, int32_t seq)
{
    uint8_t *p = b->buf.buf;
    kw_store_be64(p + KW_BATCH_OFF_PRODUCER_ID, (uint64_t)pid);
    kw_store_be16(p + KW_BATCH_OFF_PRODUCER_EPOCH, (uint16_t)epoch);
    kw_store_be32(p + KW_BATCH_OFF_BASE_SEQUENCE, (uint32_t)seq);
    kw_store_be32(p + KW_BATCH_OFF_CRC, kw__crc32c(0, p + KW_BATCH_OFF_ATTRIBUTES,
                                                   b->buf.len - KW_BATCH_OFF_ATTRIBUTES));
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
static void take_queue(ktopic *t)
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

/* Bytes queued and not yet in a batch (loop thread). */
static size_t queued_bytes(ktopic *t)
{
    pthread_mutex_lock(&t->k->mu);
    size_t q = t->qbytes;
    pthread_mutex_unlock(&t->k->mu);
    return q + t->rbytes;
}

/* The next entry to batch: the one partly batched, else the queue's head. */
static kentry *next_entry(ktopic *t)
{
    if (t->partial)
        return t->partial;
    if (!t->rhead)
        take_queue(t);
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

/* Packs queued entries into one batch; NULL when there is nothing to send. */
static kbatch *build_batch(ktopic *t)
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
    size_t want = queued_bytes(t) + (t->partial ? t->partial->len : 0);
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
    while ((e = next_entry(t))) {
        bool full = false;
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
            entry_done(k, e, e->err, 0);
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

static void pump(ktopic *t)
{
    kw_wal_kafka *k = t->k;
    if (t->pstate == KP_NEED_ID) {
        start_bump(t);
        return;
    }
    uint32_t max = k->o.no_idempotence ? 1 : k->o.max_in_flight;
    while (t->pstate == KP_READY && t->in_flight < max) {
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
            if (queued_bytes(t) < k->o.max_batch_bytes)
                break;
        }
        kbatch *b = build_batch(t);
        if (!b)
            break;
        if (b->state == KB_FAILED) {
            settle(t);
            continue;
        }
        send_batch(b);
    }
    settle(t);
}

/* ---------------------------------------------------------------- producer id */

typedef struct kinit {
    ktopic *t;
    kw_init_producer_id_req req;
} kinit;

static int build_init(void *arg, int version, int32_t leader_epoch, const void **req)
{
    kinit *in = arg;
    ktopic *t = in->t;
    kw__schema_init(kw__api(KW_API_INIT_PRODUCER_ID)->req, version, &in->req);
    in->req.transactional_id = KW_STR_NULL;
    in->req.transaction_timeout_ms = 60000;
    /* KIP-360: asking with the current id and epoch bumps the epoch, so the
     * broker forgets the old sequence state without a new producer id. */
    in->req.producer_id = version >= 3 ? t->producer_id : -1;
    in->req.producer_epoch = version >= 3 ? t->producer_epoch : -1;
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
    take_queue(t);
    for (;;) {
        kentry *e = t->rhead;
        if (!e || e->deadline_ns > now)
            return;
        t->rhead = e->next;
        if (!t->rhead)
            t->rtail = NULL;
        t->rbytes -= e->len;
        kw__wal_kafka_log(k, KW_LOG_WARN, "region %llu: append to %s failed after %u ms: %s",
                          (unsigned long long)e->region_id, t->name, k->o.timeout_ms,
                          *t->last_error ? t->last_error : "no producer id");
        entry_done(k, e, KW_ETIMEDOUT, 0);
    }
}

static void retry_timer(kw_loop_timer *timer, void *arg)
{
    ktopic *t = arg;
    expire_queue(t);
    t->pstate = KP_NEED_ID;
    pump(t);
}

static void init_done(const kw_cluster_result *res, void *arg)
{
    kinit *in = arg;
    ktopic *t = in->t;
    kw_wal_kafka *k = t->k;
    free(in);
    const kw_init_producer_id_resp *r = res->resp;
    int16_t kerr = r ? r->error_code : 0;
    if (res->err == 0 && kerr == 0) {
        t->producer_id = r->producer_id;
        t->producer_epoch = r->producer_epoch;
        t->next_seq = 0;
        /* every batch not yet written goes out again under the new epoch, renumbered */
        for (kbatch *b = t->head; b; b = b->next) {
            if (b->state == KB_HELD) {
                renumber(b, t->producer_id, t->producer_epoch, t->next_seq);
                t->next_seq += b->count;
            }
        }
        t->pstate = KP_READY;
        kw__wal_kafka_log(k, KW_LOG_INFO, "topic %s: producer id %lld epoch %d", t->name,
                          (long long)t->producer_id, t->producer_epoch);
        for (kbatch *b = t->head; b; b = b->next)
            if (b->state == KB_HELD)
                send_batch(b);
        pump(t);
        return;
    }
    /* A stale or fenced id: start over with a fresh one. */
    if (kerr == KW_KERR_INVALID_PRODUCER_EPOCH || kerr == KW_KERR_PRODUCER_FENCED ||
        kerr == 49 /* INVALID_PRODUCER_ID_MAPPING */) {
        t->producer_id = -1;
        t->producer_epoch = -1;
    }
    snprintf(t->last_error, sizeof(t->last_error), "InitProducerId for %s: %s", t->name,
             kerr ? kw__kerr_name(kerr) : (res->detail ? res->detail : kw_strerror(res->err)));
    kw__wal_kafka_log(k, KW_LOG_WARN, "%s; retrying", t->last_error);
    /* Entries waiting meanwhile keep waiting; their appends time out on their own terms. */
    t->pstate = KP_ASKING;
    kw__loop_timer_start(&t->timer, 200);
}

static void start_bump(ktopic *t)
{
    kw_wal_kafka *k = t->k;
    if (t->pstate == KP_ASKING)
        return;
    kinit *in = calloc(1, sizeof(*in));
    if (!in)
        return;
    in->t = t;
    t->pstate = KP_ASKING;
    /* batches that failed for good stay failed; the others (held) are renumbered after */
    for (kbatch *b = t->head; b; b = b->next)
        if (b->state == KB_INFLIGHT)
            return; /* not drained yet: produce_done calls back here */
    if (kw__cluster_send_any(k->cl, KW_API_INIT_PRODUCER_ID, build_init, in,
                             kw__wal_kafka_deadline(k->o.timeout_ms), init_done, in) != 0) {
        free(in);
        kw__loop_timer_start(&t->timer, 200);
    }
}

/* ---------------------------------------------------------------- append */

static void kick_run(kw_loop *loop, void *arg)
{
    ktopic *t = arg;
    pthread_mutex_lock(&t->k->mu);
    t->kicked = false;
    pthread_mutex_unlock(&t->k->mu);
    if (!kw__loop_timer_armed(&t->timer) && t->timer.loop == NULL)
        kw__loop_timer_init(t->k->loop, &t->timer, retry_timer, t);
    pump(t);
}

/*
 * Copies an entry into one allocation with its bookkeeping; with kwal's format
 * and LZ4 on, compressed on the way (in the appending thread, so compression
 * runs on as many cores as there are appenders, and the copy is the
 * compressor's output rather than an extra memcpy).
 */
static kentry *entry_new(const kw_wal_kafka *k, const void *data, size_t len)
{
    bool compress = k->o.record_format == KW_WAL_FORMAT_KWAL &&
                    k->o.compression == KW_WAL_COMPRESSION_LZ4 && len >= 64;
    size_t bound = compress ? kw__wal_compress_bound(len) : 0;
    /*
     * A small entry is compressed on the stack and allocated at its stored
     * size (one malloc, no shrinking realloc); a large one straight into its
     * allocation, which is then shrunk.
     */
    uint8_t small[8192];
    if (bound && bound <= sizeof(small)) {
        size_t n = kw__wal_compress(data, len, small, bound);
        size_t stored = n ? n : len;
        kentry *e = malloc(sizeof(*e) + (stored ? stored : 1));
        if (!e)
            return NULL;
        memset(e, 0, sizeof(*e));
        e->data = (uint8_t *)(e + 1);
        e->raw_len = len;
        e->len = stored;
        e->codec = n ? KW_WAL_CODEC_LZ4 : KW_WAL_CODEC_RAW;
        memcpy(e->data, n ? small : (const uint8_t *)data, stored);
        return e;
    }
    size_t cap = bound > len ? bound : len;
    kentry *e = malloc(sizeof(*e) + (cap ? cap : 1));
    if (!e)
        return NULL;
    memset(e, 0, sizeof(*e));
    e->data = (uint8_t *)(e + 1);
    e->raw_len = len;
    size_t n = bound ? kw__wal_compress(data, len, e->data, cap) : 0;
    if (n) {
        e->codec = KW_WAL_CODEC_LZ4;
        e->len = n;
        if (cap - n >= 256) { /* give back what compression saved */
            kentry *s = realloc(e, sizeof(*e) + n);
            if (s) {
                e = s;
                e->data = (uint8_t *)(e + 1);
            }
        }
    } else {
        e->codec = KW_WAL_CODEC_RAW;
        e->len = len;
        if (len)
            memcpy(e->data, data, len);
    }
    return e;
}

static int kafka_append(void *p, uint64_t region_id, const void *data, size_t len,
                        kw_wal_append_cb *cb, void *arg)
{
    kw_wal_kafka *k = p;
    uint32_t nparts;
    int rc = kw__wal_split(len, k->max_part, &nparts);
    if (rc)
        return rc;
    kentry *e = entry_new(k, data, len);
    if (!e)
        return KW_ENOMEM;
    if (e->len != len && (rc = kw__wal_split(e->len, k->max_part, &nparts)) != 0) {
        free(e);
        return rc;
    }
    e->region_id = region_id;
    e->cb = cb;
    e->arg = arg;
    e->nparts = nparts;
    e->deadline_ns = kw__wal_kafka_deadline(k->o.timeout_ms); /* outside the lock */

    pthread_mutex_lock(&k->mu);
    bool waited = false;
    while (!k->closing && k->buffered > 0 && k->buffered + e->len > k->o.max_buffered_bytes) {
        if (k->o.append_fail_fast) {
            pthread_mutex_unlock(&k->mu);
            free(e);
            return KW_EAGAIN;
        }
        pthread_cond_wait(&k->cond, &k->mu);
        waited = true;
    }
    if (waited) /* the timeout counts from when the entry is queued */
        e->deadline_ns = kw__wal_kafka_deadline(k->o.timeout_ms);
    if (k->closing) {
        pthread_mutex_unlock(&k->mu);
        free(e);
        return KW_ECLOSED;
    }
    ktopic *t = kw__wal_kafka_region_topic(k, region_id);
    if (!t) {
        pthread_mutex_unlock(&k->mu);
        free(e);
        return KW_ENOMEM;
    }
    e->tag = k->tag_base + ++k->tag_next;
    if (t->qtail)
        t->qtail->next = e;
    else
        t->qhead = e;
    t->qtail = e;
    t->qbytes += e->len;
    k->buffered += e->len;
    k->pending++;
    bool post = !t->kicked;
    t->kicked = true;
    pthread_mutex_unlock(&k->mu);
    if (post && (rc = kw__loop_post(k->loop, kick_run, NULL, t)) != 0) {
        /* the loop is gone: only possible while closing, which fails the queue */
        return 0;
    }
    return 0;
}

/* ---------------------------------------------------------------- state */

static int kafka_obsolete(void *p, uint64_t region_id, uint64_t entry_id)
{
    kw_wal_kafka *k = p;
    pthread_mutex_lock(&k->mu);
    kregion *r = region_slot(k, region_id, true);
    if (r && entry_id > r->obsolete)
        r->obsolete = entry_id;
    pthread_mutex_unlock(&k->mu);
    return r ? 0 : KW_ENOMEM;
}

static int kafka_latest(void *p, uint64_t region_id, uint64_t *out)
{
    kw_wal_kafka *k = p;
    pthread_mutex_lock(&k->mu);
    kregion *r = region_slot(k, region_id, false);
    *out = r ? r->latest : 0;
    pthread_mutex_unlock(&k->mu);
    return 0;
}

static void kafka_stats(void *p, kw_wal_stats *out)
{
    kw_wal_kafka *k = p;
    pthread_mutex_lock(&k->mu);
    *out = k->stats;
    out->in_flight = k->pending;
    out->buffered_bytes = k->buffered;
    pthread_mutex_unlock(&k->mu);
    out->requests = k->cl ? kw__cluster_produce_requests(k->cl) : 0;
}

static const char *kafka_errstr(const void *p)
{
    return ((const kw_wal_kafka *)p)->errstr;
}

/* ---------------------------------------------------------------- open / close */

static void conn_log(void *arg, int level, const char *msg)
{
    kw_wal_kafka *k = arg;
    int l = level <= KW_CONN_LOG_ERROR  ? KW_LOG_ERROR
            : level == KW_CONN_LOG_WARN ? KW_LOG_WARN
                                        : KW_LOG_INFO;
    if (level <= KW_CONN_LOG_INFO)
        kw__wal_kafka_log(k, l, "%s", msg);
}

static void kafka_free(kw_wal_kafka *k)
{
    if (k->cl)
        kw__cluster_free(k->cl);
    if (k->loop)
        kw__loop_free(k->loop);
    kw__tls_ctx_unref(k->tls);
    while (k->topics) {
        ktopic *t = k->topics;
        k->topics = t->next;
        free(t->name);
        free(t);
    }
    free(k->regions);
    free(k->bootstrap);
    free(k->default_topic);
    free(k->sasl_type);
    free(k->sasl_user);
    free(k->sasl_krb);
    if (k->sasl_pass) {
        OPENSSL_cleanse(k->sasl_pass, strlen(k->sasl_pass));
        free(k->sasl_pass);
    }
    free(k->ca);
    free(k->cert);
    free(k->key);
    pthread_mutex_destroy(&k->mu);
    pthread_cond_destroy(&k->cond);
    free(k);
}

static int start_run(kw_wal_kafka *k, void *arg)
{
    (void)arg;
    kw_cluster_options co = {
        .bootstrap = k->bootstrap,
        .conn = {.client_id = "kwal-wal",
                 .connect_timeout_ms = k->o.connect_timeout_ms,
                 .tls = k->tls,
                 .sasl = k->sasl_type ? &k->sasl : NULL,
                 .log = conn_log,
                 .log_arg = k},
        /* Topics' batches ready in one loop round share a Produce request per broker. */
        .coalesce_produce = !k->o.no_coalesce,
    };
    int rc = kw__cluster_new(&k->cl, k->loop, &co);
    if (rc)
        snprintf(k->errstr, sizeof(k->errstr), "broker_endpoints: %s",
                 kw__cluster_errstr(k->cl));
    return rc;
}

static int kafka_open(void **out, const kw_wal_options *o, char *errbuf, size_t errlen)
{
    *out = NULL;
    if (!o->broker_endpoints || !*o->broker_endpoints) {
        snprintf(errbuf, errlen, "kafka provider: broker_endpoints is required");
        return KW_ECONFIG;
    }
    kw_wal_kafka *k = calloc(1, sizeof(*k));
    if (!k)
        return KW_ENOMEM;
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cond, NULL);
    k->o = *o;
    k->bootstrap = strdup(o->broker_endpoints);
    k->default_topic = strdup(o->topic && *o->topic ? o->topic : DEFAULT_TOPIC);
    k->sasl_type = dup_or_null(o->sasl_type);
    k->sasl_user = dup_or_null(o->sasl_username);
    k->sasl_pass = dup_or_null(o->sasl_password);
    k->sasl_krb = dup_or_null(o->sasl_kerberos_service_name);
    k->ca = dup_or_null(o->tls_server_ca_cert_path);
    k->cert = dup_or_null(o->tls_client_cert_path);
    k->key = dup_or_null(o->tls_client_key_path);
    /* options point at our copies from here on */
    k->o.broker_endpoints = k->bootstrap;
    k->o.topic = k->default_topic;
    if (!k->o.max_batch_bytes)
        k->o.max_batch_bytes = 1 << 20;
    if (!k->o.connect_timeout_ms)
        k->o.connect_timeout_ms = 3000;
    if (!k->o.timeout_ms)
        k->o.timeout_ms = 3000;
    if (!k->o.fetch_max_bytes)
        k->o.fetch_max_bytes = 4u << 20;
    if (!k->o.max_buffered_bytes)
        k->o.max_buffered_bytes = 64u << 20;
    if (!k->o.max_in_flight)
        k->o.max_in_flight = 5;
    k->max_part = kw__wal_split_max_payload(k->o.max_batch_bytes);
    int rc = 0;
    if (!k->bootstrap || !k->default_topic) {
        rc = KW_ENOMEM;
    } else if (k->max_part == 0) {
        snprintf(errbuf, errlen, "max_batch_bytes: %zu is too small (more than %d bytes needed)",
                 k->o.max_batch_bytes, KW_WAL_RECORD_OVERHEAD);
        rc = KW_ECONFIG;
    } else if (k->o.record_format != KW_WAL_FORMAT_KWAL &&
               k->o.record_format != KW_WAL_FORMAT_GREPTIMEDB) {
        snprintf(errbuf, errlen, "record_format: unknown format %d", k->o.record_format);
        rc = KW_ECONFIG;
    }
    if (!rc && k->sasl_type) {
        k->sasl = (kw_sasl_config){.mechanism = k->sasl_type,
                                   .username = k->sasl_user,
                                   .password = k->sasl_pass,
                                   .kerberos_service_name = k->sasl_krb};
    }
    if (!rc && (o->tls || k->ca || k->cert || k->key)) {
        kw_tls_config tc = {.ca_file = k->ca, .cert_file = k->cert, .key_file = k->key};
        rc = kw__tls_ctx_new(&k->tls, &tc, errbuf, errlen);
    }
    if (!rc && RAND_bytes((unsigned char *)&k->tag_base, sizeof(k->tag_base)) != 1)
        rc = KW_EIO;
    k->tag_base &= ~(uint64_t)0xFFFFFFFF; /* room for 2^32 entries before wrapping into another run */
    if (!rc)
        rc = kw__loop_new(&k->loop);
    if (!rc)
        rc = kw__loop_start_thread(k->loop);
    if (!rc) {
        rc = kw__wal_kafka_call(k, start_run, NULL);
        if (rc && *k->errstr)
            snprintf(errbuf, errlen, "%s", k->errstr);
    }
    if (rc) {
        if (k->loop)
            kw__loop_stop_thread(k->loop);
        kafka_free(k);
        return rc;
    }
    *out = k;
    return 0;
}

/* On the loop: fail what is still queued and what is out, so every callback runs once. */
static int shutdown_run(kw_wal_kafka *k, void *arg)
{
    (void)arg;
    for (ktopic *t = k->topics; t; t = t->next)
        if (t->timer.loop)
            kw__loop_timer_stop(&t->timer);
    kw__cluster_free(k->cl); /* fails every Produce still out: produce_done settles them */
    k->cl = NULL;
    for (ktopic *t = k->topics; t; t = t->next) {
        for (kbatch *b = t->head; b; b = b->next)
            if (b->state != KB_ACKED && b->state != KB_FAILED) {
                b->state = KB_FAILED;
                b->err = KW_ECLOSED;
            }
        settle(t);
        kentry *e = t->partial;
        t->partial = NULL;
        if (e && e->batches == 0)
            entry_done(k, e, KW_ECLOSED, 0);
        take_queue(t);
        kentry *q = t->rhead;
        t->rhead = t->rtail = NULL;
        t->rbytes = 0;
        while (q) {
            kentry *n = q->next;
            entry_done(k, q, KW_ECLOSED, 0);
            q = n;
        }
    }
    return 0;
}

static void kafka_close(void *p)
{
    kw_wal_kafka *k = p;
    /* Appends already queued get up to one timeout to become durable. */
    uint64_t until = kw__wal_kafka_deadline(k->o.timeout_ms + 1000);
    pthread_mutex_lock(&k->mu);
    k->closing = true;
    pthread_cond_broadcast(&k->cond);
    while (k->pending > 0) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        uint64_t n = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
        if (n >= until)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&k->cond, &k->mu, &ts);
    }
    pthread_mutex_unlock(&k->mu);
    kw__wal_kafka_call(k, shutdown_run, NULL);
    kw__loop_stop_thread(k->loop);
    kafka_free(k);
}

const kw_wal_provider_ops kw__wal_kafka_ops = {
    .name = "kafka",
    .open = kafka_open,
    .close = kafka_close,
    .errstr = kafka_errstr,
    .set_region_topic = kafka_set_region_topic,
    .append = kafka_append,
    .obsolete = kafka_obsolete,
    .latest = kafka_latest,
    .stats = kafka_stats,
    .replay_open = kw__wal_kafka_replay_open,
    .replay_next = kw__wal_kafka_replay_next,
    .replay_stats = kw__wal_kafka_replay_stats,
    .replay_errstr = kw__wal_kafka_replay_errstr,
    .replay_close = kw__wal_kafka_replay_close,
};
