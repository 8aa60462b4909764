/* The Kafka WAL provider: open/close on a client, the region map, append, state, wal.c's table. */
#include "wal/kafka.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/conn.h"
#include "wal/batch_policy.h"
#include "wal/kafka_int.h"
#include "net/log.h"

/*
 * The life of an append (kafka provider):
 *  1. kw_wal_append (any thread): the entry is copied (LZ4-compressed on the
 *     way with kwal's format), queued on its region's topic under k->mu, and a
 *     kick is posted to the client's loop (kafka_append, below).
 *  2. Loop thread: the kick pumps the topic (kafka_produce.c): queued entries
 *     are packed into RecordBatches of at most max_batch_bytes (big entries
 *     split into parts), numbered with the topic's producer id, epoch and
 *     sequence (kafka_producer_id.c), and sent as Produce acks=all, batches of
 *     many topics for one broker sharing a request: a round per broker, sent
 *     when batch_policy.h says (at once when nothing is out; else when the
 *     batches are worth sending, or when an earlier round is answered).
 *  3. The broker's answer settles batches in order at the topic's head: each
 *     entry ending in an acked batch gets id = its last record's offset and its
 *     callback runs on the loop thread (err 0, detail ""); a failure fails the
 *     entries with the detail text and bumps the epoch before anything else goes.
 */

#define DEFAULT_TOPIC "greptimedb_wal_topic_0"

uint64_t kw__wal_kafka_deadline(uint32_t ms)
{
    return kw__clock_now_ns() + (uint64_t)ms * 1000000ull;
}

void kw__wal_kafka_log(kw_wal_kafka *k, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kw__vlog(k->o.log, k->o.log_arg, level, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- waiting */

int kw__wal_kafka_wait(kw_wal_kafka *k, pthread_mutex_t *mu, pthread_cond_t *cond,
                       const struct timespec *until)
{
    return kw__client_wait_cond(k->client, mu, cond, until);
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

kregion *kw__wal_kafka_region_slot(kw_wal_kafka *k, uint64_t region_id, bool create)
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
    k->regions[j] = (kregion){.region_id = region_id, .used = true, .ix_from = -1,
                              .ix_covered = -1};
    k->nregions++;
    return &k->regions[j];
}

ktopic *kw__wal_kafka_region_topic(kw_wal_kafka *k, uint64_t region_id)
{
    kregion *r = kw__wal_kafka_region_slot(k, region_id, false);
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
    kregion *r = kw__wal_kafka_region_slot(k, region_id, true);
    ktopic *t = r ? kw__wal_kafka_topic(k, topic) : NULL;
    if (r && t)
        r->topic = t;
    pthread_mutex_unlock(&k->mu);
    return r && t ? 0 : KW_ENOMEM;
}

/* ---------------------------------------------------------------- append */


/*
 * Copies an entry into one allocation with its bookkeeping; with kwal's format
 * and LZ4 on, compressed on the way (in the appending thread, so compression
 * runs on as many cores as there are appenders, and the copy is the
 * compressor's output rather than an extra memcpy).
 */
static kentry *entry_new(kw_wal_kafka *k, const void *data, size_t len)
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
        size_t n = kw__wal_compress(&k->lz4, data, len, small, bound);
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
    size_t n = bound ? kw__wal_compress(&k->lz4, data, len, e->data, cap) : 0;
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
    if (len > KW_WAL_MAX_ENTRY_BYTES) {
        pthread_mutex_lock(&k->mu);
        snprintf(k->errstr, sizeof(k->errstr),
                 "append: an entry of %zu bytes is larger than the %zu bytes replay reassembles",
                 len, KW_WAL_MAX_ENTRY_BYTES);
        pthread_mutex_unlock(&k->mu);
        return KW_ETOOBIG;
    }
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
        /* From a callback the space would never come: the loop waits for this thread. */
        if (k->o.append_fail_fast ||
            (rc = kw__wal_kafka_wait(k, &k->mu, &k->cond, NULL)) != 0) {
            pthread_mutex_unlock(&k->mu);
            free(e);
            return k->o.append_fail_fast ? KW_EAGAIN : rc;
        }
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
    if (post) /* a failure means the loop is gone: only while closing, which fails the queue */
        (void)kw__loop_post(k->loop, kw__wal_kafka_kick_run, NULL, t);
    return 0;
}

/* ---------------------------------------------------------------- state */

static int kafka_obsolete(void *p, uint64_t region_id, uint64_t entry_id)
{
    kw_wal_kafka *k = p;
    pthread_mutex_lock(&k->mu);
    kregion *r = kw__wal_kafka_region_slot(k, region_id, true);
    if (r && entry_id > r->obsolete)
        r->obsolete = entry_id;
    if (r)
        kw__wal_kafka_index_obsolete(k, r, entry_id);
    pthread_mutex_unlock(&k->mu);
    return r ? 0 : KW_ENOMEM;
}

static int kafka_latest(void *p, uint64_t region_id, uint64_t *out)
{
    kw_wal_kafka *k = p;
    pthread_mutex_lock(&k->mu);
    kregion *r = kw__wal_kafka_region_slot(k, region_id, false);
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

/* The WAL's own client logs through the WAL's callback, without the connections' debug lines. */
static void client_log(void *arg, int level, const char *msg)
{
    kw_wal_kafka *k = arg;
    if (level <= KW_LOG_INFO)
        kw__wal_kafka_log(k, level, "%s", msg);
}

static void kafka_free(kw_wal_kafka *k)
{
    if (k->own_client)
        kw_client_destroy(k->client);
    while (k->topics) {
        ktopic *t = k->topics;
        k->topics = t->next;
        free(t->name);
        free(t);
    }
    kw__wal_kafka_rounds_free(k);
    for (size_t i = 0; i < k->capregions; i++)
        kw__wal_kafka_index_region_free(&k->regions[i]);
    free(k->regions);
    free(k->ix_topic);
    free(k->default_topic);
    kw__wal_kafka_index_cache_free(k);
    pthread_mutex_destroy(&k->ixc_mu);
    kw__wal_compressor_free(&k->lz4);
    pthread_mutex_destroy(&k->mu);
    pthread_cond_destroy(&k->cond);
    free(k);
}

static int kafka_open(void **out, const kw_wal_options *o, char *errbuf, size_t errlen)
{
    *out = NULL;
    if (!o->client && (!o->kafka.bootstrap || !*o->kafka.bootstrap)) {
        snprintf(errbuf, errlen,
                 "kafka provider: broker_endpoints (kafka.bootstrap) or a client is required");
        return KW_ECONFIG;
    }
    kw_wal_kafka *k = calloc(1, sizeof(*k));
    if (!k)
        return KW_ENOMEM;
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cond, NULL);
    pthread_mutex_init(&k->ixc_mu, NULL);
    k->ixc_next = -1;
    kw__wal_compressor_init(&k->lz4);
    k->o = *o;
    k->o.kafka = (kw_client_options){0}; /* the client keeps its own copies */
    k->default_topic = strdup(o->topic && *o->topic ? o->topic : DEFAULT_TOPIC);
    k->o.topic = k->default_topic;
    if (!k->o.max_batch_bytes)
        k->o.max_batch_bytes = 1 << 20;
    if (!k->o.timeout_ms)
        k->o.timeout_ms = 3000;
    if (!k->o.fetch_max_bytes)
        k->o.fetch_max_bytes = 4u << 20;
    if (!k->o.max_buffered_bytes)
        k->o.max_buffered_bytes = 64u << 20;
    if (!k->o.max_in_flight)
        k->o.max_in_flight = 5;
    if (!k->o.index_interval_ms)
        k->o.index_interval_ms = 5000;
    k->ix_on = !k->o.no_index;
    k->ix_topic = strdup(o->index_topic && *o->index_topic ? o->index_topic : "kwal_wal_index");
    k->o.index_topic = k->ix_topic;
    k->max_part = kw__wal_split_max_payload(k->o.max_batch_bytes);
    k->max_rounds = KW_WAL_ROUND_MAX_DEFAULT;
    k->min_fill = KW_WAL_ROUND_MIN_FILL_DEFAULT;
    int rc = 0;
    if (!k->default_topic || !k->ix_topic) {
        rc = KW_ENOMEM;
    } else if (strlen(k->ix_topic) > 249) {
        snprintf(errbuf, errlen, "index_topic: longer than Kafka's 249 characters");
        rc = KW_ECONFIG;
    } else if (k->o.max_batch_bytes > KW__MAX_BATCH_BYTES) {
        snprintf(errbuf, errlen,
                 "max_batch_bytes: %zu is over 33554432 (32 MiB): replay must fetch a batch "
                 "within the client's 100 MiB response limit",
                 k->o.max_batch_bytes);
        rc = KW_ECONFIG;
    } else if (k->o.fetch_max_bytes > KW__MAX_FETCH_BYTES) {
        snprintf(errbuf, errlen,
                 "fetch_max_bytes: %zu is over 67108864 (64 MiB): an answer holds the budget "
                 "plus a first batch larger than it, within the client's 100 MiB response limit",
                 k->o.fetch_max_bytes);
        rc = KW_ECONFIG;
    } else if (k->max_part == 0) {
        snprintf(errbuf, errlen, "max_batch_bytes: %zu is too small (more than %d bytes needed)",
                 k->o.max_batch_bytes, KW_WAL_RECORD_OVERHEAD);
        rc = KW_ECONFIG;
    } else if (k->o.record_format != KW_WAL_FORMAT_KWAL &&
               k->o.record_format != KW_WAL_FORMAT_GREPTIMEDB) {
        snprintf(errbuf, errlen, "record_format: unknown format %d", k->o.record_format);
        rc = KW_ECONFIG;
    }
    if (!rc && RAND_bytes((unsigned char *)&k->tag_base, sizeof(k->tag_base)) != 1)
        rc = KW_EIO;
    k->tag_base &= ~(uint64_t)0xFFFFFFFF; /* room for 2^32 entries before wrapping into another run */
    if (!rc && o->client) {
        k->client = o->client;
    } else if (!rc) {
        kw_client_options co = o->kafka;
        if (!co.client_id)
            co.client_id = "kwal-wal";
        if (!co.connect_timeout_ms)
            co.connect_timeout_ms = 3000; /* GreptimeDB's connect_timeout */
        if (!co.log && o->log) {
            co.log = client_log;
            co.log_arg = k;
        }
        char why[512] = "";
        rc = kw_client_new(&k->client, &co, why, sizeof(why));
        if (rc)
            snprintf(errbuf, errlen, "broker_endpoints: %s", why);
        k->own_client = rc == 0;
    }
    if (rc) {
        kafka_free(k);
        return rc;
    }
    k->loop = kw__client_loop(k->client);
    k->cl = kw__client_cluster(k->client);
    if (k->ix_on && (rc = kw__client_run(k->client, kw__wal_kafka_index_start, k)) != 0) {
        snprintf(errbuf, errlen, "index: cannot start its timer: %s", kw_strerror(rc));
        kafka_free(k);
        return rc;
    }
    *out = k;
    return 0;
}

/* Loop thread: nothing new goes out from here on (the client may be the host's, and live on). */
static int stop_run(void *arg)
{
    kw_wal_kafka *k = arg;
    k->stopping = true;
    for (ktopic *t = k->topics; t; t = t->next)
        if (t->timer.loop)
            kw__loop_timer_stop(&t->timer);
    if (k->flush_init)
        kw__loop_timer_stop(&k->flush);
    if (k->ix_timer_init)
        kw__loop_timer_stop(&k->ix_timer);
    return 0;
}

/* Fails what is not written, so every callback runs once; no request of ours may be out. */
static void fail_rest(kw_wal_kafka *k)
{
    static const char closed[] = "the WAL was closed before the entry was durable";
    for (ktopic *t = k->topics; t; t = t->next) {
        for (kbatch *b = t->head; b; b = b->next)
            if (b->state != KB_ACKED && b->state != KB_FAILED) {
                b->state = KB_FAILED;
                b->err = KW_ECLOSED;
                snprintf(t->last_error, sizeof(t->last_error), "%s", closed);
            }
        kw__wal_kafka_settle(t);
        kentry *e = t->partial;
        t->partial = NULL;
        if (e && e->batches == 0)
            kw__wal_kafka_entry_done(k, e, KW_ECLOSED, 0, closed);
        kw__wal_kafka_take_queue(t);
        kentry *q = t->rhead;
        t->rhead = t->rtail = NULL;
        t->rbytes = 0;
        while (q) {
            kentry *n = q->next;
            kw__wal_kafka_entry_done(k, q, KW_ECLOSED, 0, closed);
            q = n;
        }
    }
}

/* Loop thread, shared client: 1 once our last request is answered and the rest failed. */
static int finish_run(void *arg)
{
    kw_wal_kafka *k = arg;
    if (k->calls_out > 0)
        return 0;
    fail_rest(k);
    return 1;
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
        if (kw__clock_now_ns() >= until)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        if (kw__wal_kafka_wait(k, &k->mu, &k->cond, &ts) == KW_EDEADLK)
            break; /* documented as not allowed; do not hang */
    }
    pthread_mutex_unlock(&k->mu);
    /* What the index learnt since its last write (acked batches only: never ahead of the log). */
    kw__wal_kafka_index_close(k);
    /* An error means the client is being destroyed under us: its calls are failed already. */
    (void)kw__client_run(k->client, stop_run, k);
    if (k->own_client) {
        /* Destroying our client fails what is out (produce_done settles it), then the rest. */
        kw_client_destroy(k->client);
        k->own_client = false;
        k->client = NULL;
        fail_rest(k);
    } else {
        /* The host's client lives on: wait for our requests' answers (each has a deadline). */
        int rc;
        while ((rc = kw__client_run(k->client, finish_run, k)) == 0) {
            struct timespec ts = {0, 10 * 1000000};
            if (kw__client_drive(k->client, 10) != 1)
                nanosleep(&ts, NULL);
        }
        if (rc < 0) /* the client is closed: nothing of ours can be out any more */
            fail_rest(k);
    }
    kafka_free(k);
}

static size_t kafka_regions(void *p, kw_wal_region_info *out, size_t cap)
{
    kw_wal_kafka *k = p;
    size_t n = 0;
    pthread_mutex_lock(&k->mu);
    for (size_t i = 0; i < k->capregions; i++) {
        const kregion *r = &k->regions[i];
        if (!r->used)
            continue;
        if (out && n < cap)
            out[n] = (kw_wal_region_info){r->region_id, r->latest, r->obsolete};
        n++;
    }
    pthread_mutex_unlock(&k->mu);
    return n;
}

static kw_client *kafka_client(const void *p)
{
    return ((const kw_wal_kafka *)p)->client;
}

static int kafka_can_block(void *p)
{
    return kw__client_can_block(((kw_wal_kafka *)p)->client);
}

static int kafka_wait(void *p, pthread_mutex_t *mu, pthread_cond_t *cond)
{
    return kw__wal_kafka_wait(p, mu, cond, NULL);
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
    .client = kafka_client,
    .regions = kafka_regions,
    .can_block = kafka_can_block,
    .wait = kafka_wait,
    .replay_open = kw__wal_kafka_replay_open,
    .replay_next = kw__wal_kafka_replay_next,
    .replay_stats = kw__wal_kafka_replay_stats,
    .replay_errstr = kw__wal_kafka_replay_errstr,
    .replay_close = kw__wal_kafka_replay_close,
};
