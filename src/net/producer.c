/* The producer's public calls: options, send, flush, destroy. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/conn.h"
#include "net/producer_int.h"

#define DEFAULT_LINGER_MS 5
#define DEFAULT_BATCH_BYTES 1000000u
#define DEFAULT_MAX_IN_FLIGHT 5u
#define IDEMPOTENT_MAX_IN_FLIGHT 5u /* the broker keeps the last 5 batches' sequences */
#define DEFAULT_BUFFER_BYTES (64ull << 20)
#define DEFAULT_DELIVERY_TIMEOUT_MS 120000u

static int options_fail(char *errbuf, size_t errlen, int err, const char *what)
{
    if (errbuf && errlen)
        snprintf(errbuf, errlen, "producer options: %s", what);
    return err;
}

static int options_apply(kw_producer *p, const kw_producer_options *o, char *errbuf, size_t errlen)
{
    static const kw_producer_options none;
    if (!o)
        o = &none;
    char why[200];
    if (o->acks < KW_CLIENT_ACKS_ALL || o->acks > KW_CLIENT_ACKS_NONE) {
        snprintf(why, sizeof(why), "acks %d is not KW_CLIENT_ACKS_ALL, _LEADER or _NONE", o->acks);
        return options_fail(errbuf, errlen, KW_EINVAL, why);
    }
    static const int16_t acks[] = {-1, 1, 0};
    p->acks = acks[o->acks];
    switch (o->idempotence) {
    case KW_PRODUCER_IDEMPOTENCE_DEFAULT:
        p->idempotent = p->acks == -1;
        break;
    case KW_PRODUCER_IDEMPOTENCE_ON:
        if (p->acks != -1)
            return options_fail(errbuf, errlen, KW_ECONFIG,
                                "idempotence needs acks ALL (a record acknowledged by the leader "
                                "alone can be lost, and its sequence with it)");
        p->idempotent = true;
        break;
    case KW_PRODUCER_IDEMPOTENCE_OFF:
        p->idempotent = false;
        break;
    default:
        snprintf(why, sizeof(why), "idempotence %d is not DEFAULT, ON or OFF", o->idempotence);
        return options_fail(errbuf, errlen, KW_EINVAL, why);
    }
    if (o->linger_ms < KW_PRODUCER_LINGER_NONE) {
        snprintf(why, sizeof(why), "linger_ms %d is negative", (int)o->linger_ms);
        return options_fail(errbuf, errlen, KW_EINVAL, why);
    }
    p->linger_ns = o->linger_ms == KW_PRODUCER_LINGER_NONE
                       ? 0
                       : (uint64_t)(o->linger_ms ? o->linger_ms : DEFAULT_LINGER_MS) * 1000000u;
    p->batch_bytes = o->batch_bytes ? o->batch_bytes : DEFAULT_BATCH_BYTES;
    if (p->batch_bytes < 1024 || p->batch_bytes > KW__MAX_BATCH_BYTES) {
        snprintf(why, sizeof(why),
                 "batch_bytes %u is outside 1024 .. 33554432 (32 MiB: consumers must be able to "
                 "fetch the batch within the client's 100 MiB response limit)",
                 p->batch_bytes);
        return options_fail(errbuf, errlen, KW_EINVAL, why);
    }
    p->max_in_flight = o->max_in_flight ? o->max_in_flight : DEFAULT_MAX_IN_FLIGHT;
    if (p->idempotent && p->max_in_flight > IDEMPOTENT_MAX_IN_FLIGHT) {
        snprintf(why, sizeof(why),
                 "max_in_flight %u is above 5, the most an idempotent producer may have (the "
                 "broker checks the sequences of a partition's last 5 batches only)",
                 p->max_in_flight);
        return options_fail(errbuf, errlen, KW_ECONFIG, why);
    }
    if (o->compression < KW_COMPRESSION_NONE || o->compression > KW_COMPRESSION_ZSTD) {
        snprintf(why, sizeof(why), "compression %d is not a kw_compression", o->compression);
        return options_fail(errbuf, errlen, KW_EINVAL, why);
    }
    p->codec = o->compression; /* the same numbers as the batch attribute's codec bits */
    p->buffer_bytes = o->buffer_bytes ? o->buffer_bytes : DEFAULT_BUFFER_BYTES;
    p->delivery_timeout_ns =
        (uint64_t)(o->delivery_timeout_ms ? o->delivery_timeout_ms : DEFAULT_DELIVERY_TIMEOUT_MS) *
        1000000u;
    if (o->request_timeout_ms > INT32_MAX)
        return options_fail(errbuf, errlen, KW_EINVAL,
                            "request_timeout_ms is more than 2147483647 (a Produce request's "
                            "timeout field)");
    p->request_timeout_ms = o->request_timeout_ms ? o->request_timeout_ms : 30000u;
    p->log = o->log;
    p->log_arg = o->log_arg;
    return kw__producer_txn_options(p, o, errbuf, errlen);
}

KW_API int kw_producer_new(kw_producer **out, kw_client *client, const kw_producer_options *opts,
                           char *errbuf, size_t errlen)
{
    if (errbuf && errlen)
        errbuf[0] = 0;
    if (!out)
        return options_fail(errbuf, errlen, KW_EINVAL, "out is NULL");
    *out = NULL;
    if (!client)
        return options_fail(errbuf, errlen, KW_EINVAL, "client is NULL");
    kw_producer *p = calloc(1, sizeof(*p));
    if (!p)
        return KW_ENOMEM;
    int rc = options_apply(p, opts, errbuf, errlen);
    if (rc) {
        free(p->txn_id);
        free(p);
        return rc;
    }
    p->c = client;
    p->cl = client->cluster;
    p->loop = client->loop;
    p->producer_id = -1;
    p->producer_epoch = -1;
    p->pid_state = KW__PID_NEED;
    /* seeded per producer from the clock and its address: no shared generator */
    p->rng = kw__clock_now_ns() ^ (uint64_t)(uintptr_t)p ^ 0x9E3779B97F4A7C15ull;
    if (!p->rng)
        p->rng = 1;
    uint64_t pool = p->buffer_bytes / p->batch_bytes;
    p->cappool = pool < 2 ? 2 : pool > 64 ? 64 : (size_t)pool;
    p->pool = calloc(p->cappool, sizeof(*p->pool));
    if (!p->pool) {
        free(p->txn_id);
        free(p);
        return KW_ENOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    *out = p;
    return 0;
}

/* Lock held.  The topic named name, created (unknown) when new; NULL: no memory. */
static kw__producer_topic *topic_find(kw_producer *p, const char *name)
{
    kw__producer_topic *t = p->last_topic;
    if (t && strcmp(t->name, name) == 0)
        return t;
    for (t = p->topics; t; t = t->next)
        if (strcmp(t->name, name) == 0)
            return p->last_topic = t;
    t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->name = strdup(name);
    if (!t->name) {
        free(t);
        return NULL;
    }
    t->producer = p;
    t->sticky = -1;
    t->state = KW__PT_UNKNOWN;
    if (p->topics_tail)
        p->topics_tail->next = t;
    else
        p->topics = t;
    p->topics_tail = t;
    return p->last_topic = t;
}

/* Lock held: a copy of rec waiting for t's metadata. */
static int pending_add(kw_producer *p, kw__producer_topic *t, const kw_producer_record *rec,
                       kw_producer_cb *cb, void *arg, size_t cost)
{
    size_t need = sizeof(kw__producer_pending) + rec->header_count * sizeof(kw_header) +
                  rec->key_len + rec->value_len;
    for (size_t i = 0; i < rec->header_count; i++)
        need += rec->headers[i].key_len + rec->headers[i].value_len;
    kw__producer_pending *e = malloc(need);
    if (!e)
        return kw__producer_fail(p, KW_ENOMEM, "no memory to hold a record for %s", t->name);
    memset(e, 0, sizeof(*e));
    e->rec = *rec;
    e->rec.topic = t->name;
    e->cb = cb;
    e->arg = arg;
    e->bytes = cost;
    e->deadline_ns = kw__clock_now_ns() + p->delivery_timeout_ns;
    if (!e->rec.timestamp_ms) { /* the send time, not the time the metadata came */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        e->rec.timestamp_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
    kw_header *hs = (kw_header *)(e + 1);
    uint8_t *bytes = (uint8_t *)(hs + rec->header_count);
    for (size_t i = 0; i < rec->header_count; i++) {
        const kw_header *h = &rec->headers[i];
        hs[i] = *h;
        memcpy(bytes, h->key, h->key_len);
        hs[i].key = (const char *)bytes;
        bytes += h->key_len;
        if (h->value) {
            if (h->value_len)
                memcpy(bytes, h->value, h->value_len);
            hs[i].value = bytes;
            bytes += h->value_len;
        }
    }
    e->rec.headers = rec->header_count ? hs : NULL;
    if (rec->key) {
        if (rec->key_len)
            memcpy(bytes, rec->key, rec->key_len);
        e->rec.key = bytes;
        bytes += rec->key_len;
    }
    if (rec->value) {
        if (rec->value_len)
            memcpy(bytes, rec->value, rec->value_len);
        e->rec.value = bytes;
    }
    if (t->pend_tail)
        t->pend_tail->next = e;
    else
        t->pend_head = e;
    t->pend_tail = e;
    return 0;
}

static int check_record(kw_producer *p, const kw_producer_record *rec)
{
    if (!rec->topic || !*rec->topic)
        return kw__producer_fail(p, KW_EINVAL, "record has no topic");
    if (rec->partition < -1)
        return kw__producer_fail(p, KW_EINVAL,
                                 "record for %s has partition %d (use -1 to let "
                                 "the partitioner pick)",
                                 rec->topic, rec->partition);
    if (rec->key_len > INT32_MAX || rec->value_len > INT32_MAX)
        return kw__producer_fail(p, KW_ETOOBIG, "record for %s: key or value over 2 GiB",
                                 rec->topic);
    if (rec->header_count && !rec->headers)
        return kw__producer_fail(p, KW_EINVAL, "record for %s: header_count %zu with no headers",
                                 rec->topic, rec->header_count);
    for (size_t i = 0; i < rec->header_count; i++) {
        const kw_header *h = &rec->headers[i];
        if (!h->key)
            return kw__producer_fail(p, KW_EINVAL,
                                     "record for %s: header %zu has a NULL key (header keys are "
                                     "never null)",
                                     rec->topic, i);
        if (h->key_len > INT32_MAX || (h->value && h->value_len > INT32_MAX))
            return kw__producer_fail(p, KW_ETOOBIG, "record for %s: header %zu over 2 GiB",
                                     rec->topic, i);
    }
    return 0;
}

KW_API int kw_producer_send(kw_producer *p, const kw_producer_record *rec, kw_producer_cb *cb,
                            void *arg)
{
    if (!p)
        return KW_EINVAL;
    pthread_mutex_lock(&p->mu);
    int rc = rec ? check_record(p, rec) : kw__producer_fail(p, KW_EINVAL, "record is NULL");
    if (rc)
        goto out;
    kw_producer_record r = *rec;
    if (!r.key)
        r.key_len = 0;
    if (!r.value)
        r.value_len = 0;
    size_t cost = kw__producer_record_cost(&r);
    if (cost > p->batch_bytes) {
        rc = kw__producer_fail(p, KW_ETOOBIG,
                               "record for %s of about %zu bytes is larger than batch_bytes (%u)",
                               r.topic, cost, p->batch_bytes);
        goto out;
    }
    if (p->closing) {
        rc = kw__producer_fail(p, KW_ECLOSED, "the producer is being destroyed");
        goto out;
    }
    if (p->txn_id && (rc = kw__producer_txn_check_send(p)) != 0)
        goto out;
    if (p->buffered + cost > p->buffer_bytes) {
        rc =
            kw__producer_fail(p, KW_EFULL,
                              "buffer full: %llu of buffer_bytes %llu held by records not yet "
                              "delivered",
                              (unsigned long long)p->buffered, (unsigned long long)p->buffer_bytes);
        goto out;
    }
    kw__producer_topic *t = topic_find(p, r.topic);
    if (!t) {
        rc = kw__producer_fail(p, KW_ENOMEM, "no memory for topic %s", r.topic);
        goto out;
    }
    if (t->state != KW__PT_KNOWN) {
        rc = pending_add(p, t, &r, cb, arg, cost);
        if (!rc)
            kw__producer_kick(p);
    } else {
        int32_t part = r.partition >= 0 ? r.partition : kw__producer_pick(p, t, &r);
        if (part >= t->nparts)
            rc = kw__producer_fail(p, KW_ENOTFOUND,
                                   "partition %d of topic %s does not exist (it has %d)", part,
                                   t->name, t->nparts);
        else
            rc = kw__producer_append(p, &t->parts[part], &r, cb, arg, cost, 0);
    }
    if (!rc) {
        p->buffered += cost;
        p->sent_records++;
    }
out:
    pthread_mutex_unlock(&p->mu);
    return rc;
}

static bool all_delivered(const kw_producer *p, uint64_t target)
{
    return p->done_records >= target;
}

static bool room_for(const kw_producer *p, uint64_t bytes)
{
    return p->buffered + bytes <= p->buffer_bytes;
}

/*
 * Blocks until until(p, arg) holds or the deadline (CLOCK_MONOTONIC ns,
 * UINT64_MAX: none) passes: 0 or KW_ETIMEDOUT.  Sleeps on p->cv, which
 * deliveries signal while p->waiters is not 0.  Host-driven mode: when no
 * thread runs the client's loop this one does (deliveries then run here);
 * while another thread runs it, this one sleeps as in own-thread mode but
 * looks again every 10 ms, since the driver may stop before we are done.
 * The caller checked that this thread may block.
 */
int kw__producer_wait(kw_producer *p, kw__producer_until_fn *until, uint64_t arg,
                      uint64_t deadline)
{
    kw_client *c = p->c;
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    p->waiters++;
    while (!until(p, arg)) {
        uint64_t now = kw__clock_now_ns();
        if (now >= deadline) {
            rc = KW_ETIMEDOUT;
            break;
        }
        uint64_t wake = deadline;
        if (c->host_driven) {
            pthread_mutex_unlock(&p->mu); /* deliveries run inside the loop and take p->mu */
            uint64_t ms = (deadline - now) / 1000000u;
            bool drove = kw__client_drive(c, ms > 100 ? 100 : (int)ms) == 1;
            pthread_mutex_lock(&p->mu);
            if (drove)
                continue;
            if (wake - now > 10000000u)
                wake = now + 10000000u;
        } else if (deadline == UINT64_MAX) {
            pthread_cond_wait(&p->cv, &p->mu);
            continue;
        }
        struct timespec ts = {(time_t)(wake / 1000000000u), (long)(wake % 1000000000u)};
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    p->waiters--;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

uint64_t kw__producer_deadline(int timeout_ms)
{
    return timeout_ms < 0 ? UINT64_MAX : kw__clock_now_ns() + (uint64_t)timeout_ms * 1000000u;
}

/* Waits for every record sent so far (blocking allowed: checked by the caller). */
int kw__producer_flush_wait(kw_producer *p, int timeout_ms)
{
    uint64_t deadline = kw__producer_deadline(timeout_ms);
    pthread_mutex_lock(&p->mu);
    uint64_t target = p->sent_records;
    p->flushing++;
    kw__producer_kick(p); /* the loop closes every open batch while flushing */
    pthread_mutex_unlock(&p->mu);
    int rc = kw__producer_wait(p, all_delivered, target, deadline);
    pthread_mutex_lock(&p->mu);
    p->flushing--;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

KW_API int kw_producer_wait_room(kw_producer *p, size_t bytes, int timeout_ms)
{
    if (!p)
        return KW_EINVAL;
    if (kw__client_can_block(p->c))
        return KW_EDEADLK;
    return kw__producer_wait(p, room_for, bytes, kw__producer_deadline(timeout_ms));
}

KW_API int kw_producer_flush(kw_producer *p, int timeout_ms)
{
    if (!p)
        return KW_EINVAL;
    if (kw__client_can_block(p->c))
        return KW_EDEADLK;
    return kw__producer_flush_wait(p, timeout_ms);
}

/* destroy's last task: no cluster call of ours is out, so nothing will call back into p. */
static void stop_task(kw_loop *loop, void *arg)
{
    (void)loop;
    kw_producer *p = arg;
    if (p->loop_calls == 0) {
        if (p->timer_ready)
            kw__loop_timer_stop(&p->timer);
        pthread_mutex_lock(&p->mu);
        p->stopped = true;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    } else {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv); /* not yet: the waiter posts again */
        pthread_mutex_unlock(&p->mu);
    }
}

static bool is_stopped(kw_producer *p)
{
    pthread_mutex_lock(&p->mu);
    bool s = p->stopped;
    pthread_mutex_unlock(&p->mu);
    return s;
}

KW_API int kw_producer_destroy(kw_producer *p)
{
    if (!p)
        return 0;
    if (kw__client_can_block(p->c))
        return KW_EDEADLK;
    pthread_mutex_lock(&p->mu);
    p->closing = true;
    pthread_mutex_unlock(&p->mu);
    int rc = kw__producer_flush_wait(p, -1);
    if (rc)
        return rc;
    /* an InitProducerId or metadata call may still be out: wait until none is */
    kw_client *c = p->c;
    while (!is_stopped(p)) {
        if (kw__loop_post(p->loop, stop_task, NULL, p) != 0)
            break; /* the loop is gone (the client was destroyed first): nothing will call */
        /* Drive the loop here, or let the I/O thread (or the host's) run stop_task. */
        if (kw__client_drive(c, 10) != 1) {
            uint64_t wake = kw__clock_now_ns() + 10000000u;
            struct timespec ts = {(time_t)(wake / 1000000000u), (long)(wake % 1000000000u)};
            pthread_mutex_lock(&p->mu);
            if (!p->stopped)
                pthread_cond_timedwait(&p->cv, &p->mu, &ts);
            pthread_mutex_unlock(&p->mu);
        }
    }
    for (kw__producer_topic *t = p->topics, *next; t; t = next) {
        next = t->next;
        for (int32_t i = 0; t->parts && i < t->nparts; i++) {
            kw__producer_partition *pt = &t->parts[i];
            kw__producer_batch_free(pt->open);
            for (kw__producer_batch *b = pt->closed_head, *n; b; b = n) {
                n = b->next;
                kw__producer_batch_free(b);
            }
            for (kw__producer_batch *b = pt->head, *n; b; b = n) {
                n = b->next;
                kw__producer_batch_free(b);
            }
        }
        for (kw__producer_pending *e = t->pend_head, *n; e; e = n) {
            n = e->next;
            free(e);
        }
        free(t->parts);
        free(t->name);
        free(t);
    }
    for (size_t i = 0; i < p->npool; i++)
        kw__wr_free(&p->pool[i]);
    kw__producer_txn_free(p);
    free(p->pool);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
    return 0;
}

KW_API void kw_producer_last_error(kw_producer *p, char *buf, size_t len)
{
    if (!buf || !len)
        return;
    if (!p) {
        buf[0] = 0;
        return;
    }
    pthread_mutex_lock(&p->mu);
    snprintf(buf, len, "%s", p->last_error);
    pthread_mutex_unlock(&p->mu);
}
