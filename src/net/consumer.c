/* The consumer's public calls: options, assignment, seek/pause, and poll (decoding on the caller's thread). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/conn.h"
#include "net/consumer_int.h"

enum {
    DEFAULT_FETCHES = 1,
    DEFAULT_FETCH_BYTES = 4 << 20,
    DEFAULT_MAX_WAIT_MS = 500,
    DEFAULT_MAX_POLL_RECORDS = 10000,
    MAX_FETCHES = 64,
};

static int new_fail(char *errbuf, size_t errlen, const char *why)
{
    if (errbuf && errlen)
        snprintf(errbuf, errlen, "%s", why);
    return KW_EINVAL;
}

KW_API int kw_consumer_new(kw_consumer **out, kw_client *client, const kw_consumer_options *opts,
                           char *errbuf, size_t errlen)
{
    if (errbuf && errlen)
        errbuf[0] = 0;
    if (!out)
        return new_fail(errbuf, errlen, "out is NULL");
    *out = NULL;
    if (!client)
        return new_fail(errbuf, errlen, "client is NULL");
    kw_consumer_options o = opts ? *opts : (kw_consumer_options){0};
    if (o.isolation != KW_CONSUMER_READ_UNCOMMITTED && o.isolation != KW_CONSUMER_READ_COMMITTED)
        return new_fail(errbuf, errlen, "isolation must be READ_UNCOMMITTED or READ_COMMITTED");
    if (o.offset_reset < KW_CONSUMER_RESET_ERROR || o.offset_reset > KW_CONSUMER_RESET_LATEST)
        return new_fail(errbuf, errlen, "offset_reset must be RESET_ERROR, EARLIEST or LATEST");
    if (o.fetches > MAX_FETCHES)
        return new_fail(errbuf, errlen, "fetches must be at most 64");
    if (o.fetch_bytes > KW__MAX_FETCH_BYTES)
        return new_fail(errbuf, errlen,
                        "fetch_bytes must be at most 67108864 (64 MiB): an answer holds the budget "
                        "plus a first batch larger than it, within the client's 100 MiB response "
                        "limit");
    if (o.max_wait_ms > INT32_MAX)
        return new_fail(errbuf, errlen, "max_wait_ms must fit in an int32");
    if (!o.fetches)
        o.fetches = DEFAULT_FETCHES;
    if (!o.fetch_bytes)
        o.fetch_bytes = DEFAULT_FETCH_BYTES;
    if (!o.max_wait_ms)
        o.max_wait_ms = DEFAULT_MAX_WAIT_MS;
    if (!o.max_poll_records)
        o.max_poll_records = DEFAULT_MAX_POLL_RECORDS;
    kw_consumer *c = calloc(1, sizeof(*c));
    if (!c)
        return KW_ENOMEM;
    c->client = client;
    c->o = o;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cond, NULL);
    c->etail = &c->ehead;
    kw__consumer_init_timer(c);
    *out = c;
    return 0;
}

static kw__consumer_part *find_part(kw_consumer *c, const char *topic, int32_t partition)
{
    for (kw__consumer_part *p = c->parts; p; p = p->next)
        if (!p->removed && p->partition == partition && strcmp(p->topic, topic) == 0)
            return p;
    return NULL;
}

static bool start_valid(kw_consumer_start s)
{
    switch (s.kind) {
    case KW_CONSUMER_START_OFFSET: return s.value >= 0;
    case KW_CONSUMER_START_EARLIEST:
    case KW_CONSUMER_START_LATEST:
    case KW_CONSUMER_START_TIMESTAMP: return true;
    default: return false;
    }
}

/* Drops the reports queued for p (a seek or unassign answers them). */
static void drop_events(kw_consumer *c, kw__consumer_part *p)
{
    kw__consumer_event **pp = &c->ehead;
    c->etail = &c->ehead;
    while (*pp) {
        kw__consumer_event *e = *pp;
        if (e->p == p) {
            *pp = e->next;
            free(e);
        } else {
            pp = &e->next;
            c->etail = pp;
        }
    }
}

/* mu held, poll thread: everything fetched or being decoded for p goes; it starts at `start`. */
static void part_restart(kw_consumer *c, kw__consumer_part *p, kw_consumer_start start)
{
    kw__consumer_part_reset(p);
    drop_events(c, p);
    if (p->cur) { /* records of the last poll may point into it: freed at the next poll */
        p->cur->next = c->retired;
        c->retired = p->cur;
        p->cur = NULL;
    }
    p->in_batch = false;
    p->aborted.n = 0;
    p->position = -1;
    p->bound = -1;
    p->start = start;
    if (start.kind == KW_CONSUMER_START_OFFSET) {
        p->state = KW__CONSUMER_FETCHING;
        p->frontier = start.value;
        p->known_position = start.value;
    } else {
        p->state = KW__CONSUMER_RESOLVE;
        p->frontier = -1;
        p->known_position = -1;
    }
    kw__consumer_kick(c);
}

KW_API int kw_consumer_assign(kw_consumer *c, const char *topic, int32_t partition,
                              kw_consumer_start start)
{
    if (!c || !topic || !*topic || partition < 0 || !start_valid(start))
        return KW_EINVAL;
    pthread_mutex_lock(&c->mu);
    kw__consumer_part *p = find_part(c, topic, partition);
    if (!p) {
        p = calloc(1, sizeof(*p));
        if (p && !(p->topic = strdup(topic))) {
            free(p);
            p = NULL;
        }
        if (!p) {
            pthread_mutex_unlock(&c->mu);
            return KW_ENOMEM;
        }
        p->c = c;
        p->partition = partition;
        kw__consumer_part **pp = &c->parts;
        while (*pp)
            pp = &(*pp)->next;
        *pp = p;
    }
    part_restart(c, p, start);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

KW_API int kw_consumer_seek(kw_consumer *c, const char *topic, int32_t partition,
                            kw_consumer_start start)
{
    if (!c || !topic || !start_valid(start))
        return KW_EINVAL;
    pthread_mutex_lock(&c->mu);
    kw__consumer_part *p = find_part(c, topic, partition);
    if (p) {
        part_restart(c, p, start);
        /* A seek is the way on after the topic was created again: read the id there now. */
        p->topic_id = p->topic_id_now = (kw_uuid){{0}};
    }
    pthread_mutex_unlock(&c->mu);
    return p ? 0 : KW_ENOTFOUND;
}

KW_API int kw_consumer_unassign(kw_consumer *c, const char *topic, int32_t partition)
{
    if (!c || !topic)
        return KW_EINVAL;
    pthread_mutex_lock(&c->mu);
    kw__consumer_part *p = find_part(c, topic, partition);
    if (p) {
        part_restart(c, p, kw_consumer_at_latest());
        p->removed = true;
        if (c->rr == p)
            c->rr = NULL;
        kw__consumer_part **pp = &c->parts;
        while (*pp != p)
            pp = &(*pp)->next;
        *pp = p->next;
        p->next = c->zombies;
        c->zombies = p;
        if (p->in_flight == 0)
            kw__consumer_part_release(p);
    }
    pthread_mutex_unlock(&c->mu);
    return p ? 0 : KW_ENOTFOUND;
}

static int set_paused(kw_consumer *c, const char *topic, int32_t partition, bool paused)
{
    if (!c || !topic)
        return KW_EINVAL;
    pthread_mutex_lock(&c->mu);
    kw__consumer_part *p = find_part(c, topic, partition);
    if (p) {
        p->paused = paused;
        if (!paused)
            kw__consumer_kick(c);
    }
    pthread_mutex_unlock(&c->mu);
    return p ? 0 : KW_ENOTFOUND;
}

KW_API int kw_consumer_pause(kw_consumer *c, const char *topic, int32_t partition)
{
    return set_paused(c, topic, partition, true);
}

KW_API int kw_consumer_resume(kw_consumer *c, const char *topic, int32_t partition)
{
    return set_paused(c, topic, partition, false);
}

KW_API int kw_consumer_position(kw_consumer *c, const char *topic, int32_t partition,
                                int64_t *offset)
{
    if (!c || !topic || !offset)
        return KW_EINVAL;
    pthread_mutex_lock(&c->mu);
    kw__consumer_part *p = find_part(c, topic, partition);
    if (p)
        *offset = p->position >= 0 ? p->position : p->known_position;
    pthread_mutex_unlock(&c->mu);
    return p ? 0 : KW_ENOTFOUND;
}

/* ---------------------------------------------------------------- poll */

typedef struct poll_ctx {
    kw_consumer *c;
    kw__consumer_part *p;
    int err; /* KW_ENOMEM while growing the output */
} poll_ctx;

static kw_wr *take_scratch(void *arg)
{
    poll_ctx *x = arg;
    kw_consumer *c = x->c;
    if (c->usedscratch == c->nscratch) {
        size_t n = c->nscratch ? c->nscratch * 2 : 4;
        kw_wr *v = realloc(c->scratch, n * sizeof(*v));
        if (!v)
            return NULL;
        for (size_t i = c->nscratch; i < n; i++)
            kw__wr_init(&v[i]);
        c->scratch = v;
        c->nscratch = n;
    }
    x->p->batch_scratch = c->usedscratch;
    x->p->scratch_poll = c->poll_seq;
    return &c->scratch[c->usedscratch++];
}

/* The decoder's hook: the loop's inflated copy of a compressed batch of p->cur, if it made one. */
static int take_inflated(void *arg, const kw_batch *b, kw_batch *plain)
{
    kw__consumer_part *p = ((poll_ctx *)arg)->p;
    const kw__consumer_chunk *ch = p->cur;
    while (p->inflated_next < ch->ntable && ch->table[p->inflated_next].base_offset < b->base_offset)
        p->inflated_next++;
    if (p->inflated_next == ch->ntable || ch->table[p->inflated_next].base_offset != b->base_offset)
        return 0;
    const kw__consumer_inflated *e = &ch->table[p->inflated_next++];
    *plain = *b;
    plain->attributes = (int16_t)(b->attributes & ~KW_BATCH_ATTR_CODEC_MASK);
    plain->records = ch->inflated.buf + e->start;
    plain->records_len = e->len;
    return 1;
}

static const uint8_t empty_bytes[1];

static int emit(void *arg, const kw_batch *b, const kw_record *r)
{
    poll_ctx *x = arg;
    kw_consumer *c = x->c;
    if (c->nrecs == c->caprecs) {
        size_t n = c->caprecs ? c->caprecs * 2 : 1024;
        kw_consumer_record *v = realloc(c->recs, n * sizeof(*v));
        if (!v)
            return x->err = KW_ENOMEM;
        c->recs = v;
        c->caprecs = n;
    }
    if (r->header_count > 0 && c->nhdrs + (size_t)r->header_count > c->caphdrs) {
        size_t n = c->caphdrs ? c->caphdrs * 2 : 256;
        while (n < c->nhdrs + (size_t)r->header_count)
            n *= 2;
        kw_header *v = realloc(c->hdrs, n * sizeof(*v));
        if (!v)
            return x->err = KW_ENOMEM;
        c->hdrs = v;
        c->caphdrs = n;
    }
    kw_consumer_record *o = &c->recs[c->nrecs++];
    o->topic = x->p->topic;
    o->partition = x->p->partition;
    o->offset = r->offset;
    o->timestamp_ms = r->timestamp;
    o->timestamp_type = kw__batch_log_append_time(b) ? KW_TIMESTAMP_LOG_APPEND_TIME
                                                     : KW_TIMESTAMP_CREATE_TIME;
    o->leader_epoch = b->partition_leader_epoch;
    o->key = r->key.len < 0 ? NULL : r->key.ptr ? (const void *)r->key.ptr : empty_bytes;
    o->key_len = r->key.len < 0 ? 0 : (size_t)r->key.len;
    o->value = r->value.len < 0 ? NULL : r->value.ptr ? (const void *)r->value.ptr : empty_bytes;
    o->value_len = r->value.len < 0 ? 0 : (size_t)r->value.len;
    o->headers = NULL; /* pointed at c->hdrs once the poll is complete (it may move meanwhile) */
    o->header_count = (size_t)(r->header_count > 0 ? r->header_count : 0);
    kw_header_iter hi = kw__record_headers(r);
    kw_record_header h;
    while (kw__header_next(&hi, &h) == 1) {
        c->hdrs[c->nhdrs++] = (kw_header){
            .key = h.key.len > 0 ? h.key.ptr : "",
            .key_len = h.key.len > 0 ? (size_t)h.key.len : 0,
            .value = h.value.len < 0 ? NULL : h.value.ptr ? (const void *)h.value.ptr : empty_bytes,
            .value_len = h.value.len > 0 ? (size_t)h.value.len : 0,
        };
    }
    return c->nrecs >= c->o.max_poll_records;
}

/* Poll thread: takes p's next queued chunk (mu held); false when there is none to take now. */
static bool take_chunk(kw_consumer *c, kw__consumer_part *p)
{
    if (p->paused || p->removed || p->state == KW__CONSUMER_STOPPED || !p->qhead)
        return false;
    kw__consumer_chunk *ch = p->qhead;
    p->qhead = ch->next;
    if (!p->qhead)
        p->qtail = NULL;
    if (p->qlen-- >= c->o.fetches)
        kw__consumer_kick(c); /* the loop stopped fetching for a full queue */
    atomic_store(&p->backlog, p->qlen);
    ch->next = NULL;
    p->cur = ch;
    p->position = ch->skip_below;
    p->in_batch = false;
    p->inflated_next = 0;
    bool verify = !c->o.skip_crc_check && !ch->crc_checked;
    kw__batch_iter_init(&p->bit, ch->buf, ch->len, verify ? KW_BATCH_VERIFY_CRC : 0);
    return true;
}

/* Decodes what is queued for p until the poll is full: 1 full, 0 nothing more now. */
static int drain_part(kw_consumer *c, kw__consumer_part *p)
{
    poll_ctx x = {.c = c, .p = p};
    kw__consumer_decoder d = {
        .read_committed = c->o.isolation == KW_CONSUMER_READ_COMMITTED,
        .aborted = &p->aborted,
        .scratch = take_scratch,
        .scratch_arg = &x,
        .inflated = take_inflated,
        .inflated_arg = &x,
        .emit = emit,
        .emit_arg = &x,
    };
    /* paused and removed are written by this thread only (under mu): reading them is safe. */
    if (p->paused || p->removed)
        return 0;
    for (;;) {
        if (!p->cur) {
            pthread_mutex_lock(&c->mu);
            bool got = take_chunk(c, p);
            if (!got && p->state == KW__CONSUMER_LOSING && !p->qhead) /* all before it is out */
                kw__consumer_report(p, p->loss_offset, KW_EDATALOSS, 0, "%s", p->loss_detail);
            pthread_mutex_unlock(&c->mu);
            if (!got)
                return 0;
            if (kw__aborted_merge(&p->aborted, &p->cur->aborted) != 0) {
                snprintf(d.errstr, sizeof(d.errstr), "no memory for the aborted transactions");
                x.err = KW_ENOMEM;
            }
        }
        int rc = x.err ? x.err : kw__consumer_decode(&d, &p->bit, &p->rit, &p->batch, &p->in_batch,
                                                     &p->position);
        if (rc == 1) {
            if (p->in_batch && kw__batch_codec(&p->batch) != 0 && p->scratch_poll == c->poll_seq) {
                /* Half a compressed batch delivered: its records stay where the iterator reads
                 * them; the pool gets the partition's previous buffer instead. */
                kw_wr tmp = p->held;
                p->held = c->scratch[p->batch_scratch];
                c->scratch[p->batch_scratch] = tmp;
            }
            return 1;
        }
        /* The chunk is done (or bad): records of this poll may point into it until the next. */
        p->cur->next = c->retired;
        c->retired = p->cur;
        p->cur = NULL;
        if (rc < 0) {
            pthread_mutex_lock(&c->mu);
            kw__consumer_fail(p, p->position, x.err ? x.err : rc,
                              x.err ? "no memory for the records of a poll" : d.errstr);
            pthread_mutex_unlock(&c->mu);
            return 0;
        }
    }
}

/* mu held: something for poll to hand out now. */
static bool ready(const kw_consumer *c)
{
    if (c->ehead)
        return true;
    for (const kw__consumer_part *p = c->parts; p; p = p->next)
        if (!p->paused && !p->removed &&
            ((p->state != KW__CONSUMER_STOPPED && p->qhead) || p->state == KW__CONSUMER_LOSING))
            return true;
    return false;
}

/* Waits until something is ready or deadline (0: do not wait); host-driven clients run the loop. */
static void wait_ready(kw_consumer *c, uint64_t deadline, bool driving)
{
    uint64_t now = kw__clock_now_ns();
    if (deadline <= now)
        return;
    uint64_t left_ms = (deadline - now + 999999) / 1000000;
    if (left_ms > 1000)
        left_ms = 1000;
    if (driving) {
        kw__loop_run_once(kw__consumer_loop(c), (int)left_ms);
        return;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(left_ms / 1000);
    until.tv_nsec += (long)(left_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&c->mu);
    if (!ready(c))
        pthread_cond_timedwait(&c->cond, &c->mu, &until);
    pthread_mutex_unlock(&c->mu);
}

int kw__consumer_assign_stopped(kw_consumer *c, const char *topic, int32_t partition, int err,
                                const char *detail)
{
    int rc = kw_consumer_assign(c, topic, partition, kw_consumer_at_latest());
    if (rc)
        return rc;
    pthread_mutex_lock(&c->mu);
    kw__consumer_part *p = find_part(c, topic, partition);
    if (p)
        kw__consumer_fail(p, -1, err, detail);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

void kw__consumer_wake(kw_consumer *c)
{
    pthread_mutex_lock(&c->mu);
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
}

int kw__consumer_set_driver(kw_consumer *c, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&c->mu);
    int rc = 0;
    if (fn && c->driver)
        rc = KW_EEXISTS;
    else {
        c->driver = fn;
        c->driver_arg = fn ? arg : NULL;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

KW_API int kw_consumer_poll(kw_consumer *c, int timeout_ms, kw_consumer_poll_result *out)
{
    if (!c || !out)
        return KW_EINVAL;
    *out = (kw_consumer_poll_result){0};
    if (kw__client_can_block(c->client) != 0)
        return KW_EDEADLK;
    kw_client *cl = c->client;
    bool driving = false;
    if (cl->host_driven) {
        if (!kw__client_enter_loop(cl))
            return KW_EDEADLK;
        driving = true;
    }
    uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : kw__clock_now_ns() + (uint64_t)timeout_ms * 1000000u;

    /* What the last poll handed out goes now. */
    pthread_mutex_lock(&c->mu);
    while (c->retired) {
        kw__consumer_chunk *ch = c->retired;
        c->retired = ch->next;
        kw__consumer_chunk_free(c, ch);
    }
    while (c->delivered) {
        kw__consumer_event *e = c->delivered;
        c->delivered = e->next;
        free(e);
    }
    pthread_mutex_unlock(&c->mu);
    c->nrecs = c->nhdrs = c->usedscratch = 0;
    c->poll_seq++;

    size_t nerr = 0;
    int rc = 0;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        void (*driver)(void *) = c->driver;
        void *driver_arg = c->driver_arg;
        pthread_mutex_unlock(&c->mu);
        /* A group assigns and unassigns partitions here, on the poll thread, before records are
         * taken (and again after each wait, when it may have woken the poll: kw__consumer_wake). */
        if (driver)
            driver(driver_arg);
        pthread_mutex_lock(&c->mu);
        kw__consumer_event *ev = c->ehead;
        c->ehead = NULL;
        c->etail = &c->ehead;
        for (kw__consumer_event *e = ev; e; e = e->next)
            nerr++;
        if (ev) { /* delivered events are kept (their texts) until the next poll */
            kw__consumer_event *last = ev;
            while (last->next)
                last = last->next;
            last->next = c->delivered;
            c->delivered = ev;
        }
        kw__consumer_part *start = c->rr ? c->rr : c->parts;
        pthread_mutex_unlock(&c->mu);
        /* Partitions in turn, from where the last poll stopped, so none starves. */
        kw__consumer_part *p = start;
        bool full = false;
        while (p && !full) {
            full = drain_part(c, p) == 1;
            pthread_mutex_lock(&c->mu);
            kw__consumer_part *next = p->next ? p->next : c->parts;
            if (full)
                c->rr = next;
            pthread_mutex_unlock(&c->mu);
            p = next == start ? NULL : next;
        }
        if (c->nrecs > 0 || nerr > 0)
            break;
        if (timeout_ms == 0 || kw__clock_now_ns() >= deadline)
            break;
        wait_ready(c, deadline, driving);
    }
    if (driving)
        kw__client_leave_loop(cl);

    if (nerr > c->caperrs) {
        kw_consumer_error *v = realloc(c->errs, nerr * sizeof(*v));
        if (!v)
            rc = KW_ENOMEM;
        else {
            c->errs = v;
            c->caperrs = nerr;
        }
    }
    if (!rc) {
        size_t i = 0;
        for (kw__consumer_event *e = c->delivered; e && i < nerr; e = e->next)
            c->errs[i++] = e->e;
        out->errors = nerr ? c->errs : NULL;
        out->error_count = nerr;
    }
    size_t h = 0;
    for (size_t i = 0; i < c->nrecs; i++) {
        c->recs[i].headers = c->recs[i].header_count ? &c->hdrs[h] : NULL;
        h += c->recs[i].header_count;
    }
    out->records = c->nrecs ? c->recs : NULL;
    out->record_count = c->nrecs;
    return rc;
}

KW_API void kw_consumer_destroy(kw_consumer *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->closing = true;
    for (kw__consumer_part *p = c->parts; p; p = p->next)
        kw__consumer_part_reset(p);
    kw__consumer_post_close(c);
    kw__consumer_unlock(c);
}
