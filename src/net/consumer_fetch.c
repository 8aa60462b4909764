/* The consumer's fetch pipeline on the client's loop: fetches ahead per partition, answers filed in offset order. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/conn.h"
#include "net/consumer_int.h"
#include "proto/kerr.h"
#include "net/log.h"

/*
 * Every function here runs on the loop thread with c->mu held, except the
 * callbacks (fetch_done, list_done, kick_run, retry_run), which take it.
 *
 * The slots of a partition are its requests by offset.  The first one is
 * always sent at the frontier (the offset after everything queued for poll);
 * the ones after it at frontier + k * span, span being how many offsets
 * fetch_bytes covered in the answers so far, less two batches so that
 * neighbours overlap a little rather than leave holes.  They are sent only
 * below the bound (the high watermark, or the last stable offset with
 * read_committed, as the last answer gave it): a fetch past the log end
 * would fail with OFFSET_OUT_OF_RANGE or wait for max_wait_ms.  As answers
 * come, advance() files the first slots in order: an answer wholly behind
 * the frontier is dropped, one that overlaps is queued with the overlap
 * skipped (skip_below), and when the first slot starts past the frontier
 * (the answer before it ended early) a fetch for the hole goes out first.
 */

/* RANGE_RETRIES: OFFSET_OUT_OF_RANGE answers in a row, below the high watermark last seen,
 * retried (with the backoff: about 3 s in all) before the offset reset policy applies. */
enum { BACKOFF_MS = 100, BACKOFF_MAX_MS = 2000, RANGE_RETRIES = 5 };

void kw__consumer_log(kw_consumer *c, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kw__vlog(c->o.log, c->o.log_arg, level, fmt, ap);
    va_end(ap);
}

void kw__consumer_chunk_free(kw_consumer *c, kw__consumer_chunk *ch)
{
    if (!ch)
        return;
    /* A taken read buffer is worth keeping: the next response lands in mapped memory. */
    for (int i = 0; i < KW__CONSUMER_SPARES && ch->mem && ch->mem_cap; i++)
        if (!c->spare[i]) {
            c->spare[i] = ch->mem;
            c->spare_cap[i] = ch->mem_cap;
            ch->mem = NULL;
        }
    free(ch->mem);
    kw__aborted_free(&ch->aborted);
    kw__wr_free(&ch->inflated);
    free(ch->table);
    free(ch);
}

static void part_free(kw__consumer_part *p)
{
    kw_consumer *c = p->c;
    while (p->slots) {
        kw__consumer_slot *s = p->slots;
        p->slots = s->next;
        kw__consumer_chunk_free(c, s->chunk);
        free(s);
    }
    while (p->qhead) {
        kw__consumer_chunk *ch = p->qhead;
        p->qhead = ch->next;
        kw__consumer_chunk_free(c, ch);
    }
    kw__consumer_chunk_free(c, p->cur);
    kw__wr_free(&p->held);
    kw__aborted_free(&p->aborted);
    free(p->topic);
    free(p);
}

static void consumer_free(kw_consumer *c)
{
    while (c->parts) {
        kw__consumer_part *p = c->parts;
        c->parts = p->next;
        part_free(p);
    }
    while (c->zombies) {
        kw__consumer_part *p = c->zombies;
        c->zombies = p->next;
        part_free(p);
    }
    while (c->ehead) {
        kw__consumer_event *e = c->ehead;
        c->ehead = e->next;
        free(e);
    }
    while (c->delivered) {
        kw__consumer_event *e = c->delivered;
        c->delivered = e->next;
        free(e);
    }
    while (c->retired) {
        kw__consumer_chunk *ch = c->retired;
        c->retired = ch->next;
        kw__consumer_chunk_free(c, ch);
    }
    for (int i = 0; i < KW__CONSUMER_SPARES; i++)
        free(c->spare[i]);
    for (size_t i = 0; i < c->nscratch; i++)
        kw__wr_free(&c->scratch[i]);
    free(c->scratch);
    free(c->recs);
    free(c->hdrs);
    free(c->errs);
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cond);
    free(c);
}

bool kw__consumer_unlock(kw_consumer *c)
{
    if (c->closing && c->refs == 0) {
        consumer_free(c); /* unlocks */
        return true;
    }
    pthread_mutex_unlock(&c->mu);
    return false;
}

/* A slot whose answer no longer matters (seek, error, unassign): freed when it answers. */
static void slots_drop(kw__consumer_part *p)
{
    kw__consumer_slot *s = p->slots;
    p->slots = NULL;
    while (s) {
        kw__consumer_slot *next = s->next;
        s->next = NULL;
        if (s->done) {
            kw__consumer_chunk_free(p->c, s->chunk);
            free(s);
        } else {
            s->gen = 0; /* never a live generation: the answer is dropped */
        }
        s = next;
    }
    p->gen++;
}

void kw__consumer_part_reset(kw__consumer_part *p)
{
    slots_drop(p);
    while (p->qhead) {
        kw__consumer_chunk *ch = p->qhead;
        p->qhead = ch->next;
        kw__consumer_chunk_free(p->c, ch);
    }
    p->qtail = NULL;
    p->qlen = 0;
    atomic_store(&p->backlog, 0);
    p->retries = 0;
    p->retry_at_ns = 0;
}

/* ---------------------------------------------------------------- errors and retries */

static void vreport(kw__consumer_part *p, int64_t offset, int err, int16_t kerr, const char *fmt,
                    va_list ap) __attribute__((format(printf, 5, 0)));
static void vreport(kw__consumer_part *p, int64_t offset, int err, int16_t kerr, const char *fmt,
                    va_list ap)
{
    kw_consumer *c = p->c;
    slots_drop(p);
    p->state = KW__CONSUMER_STOPPED;
    kw__consumer_event *e = calloc(1, sizeof(*e));
    if (e) {
        e->p = p;
        e->gen = p->gen;
        e->e = (kw_consumer_error){.topic = p->topic, .partition = p->partition, .err = err,
                                   .kerr = kerr, .offset = offset};
        vsnprintf(e->e.detail, sizeof(e->e.detail), fmt, ap);
        *c->etail = e;
        c->etail = &e->next;
        pthread_cond_broadcast(&c->cond);
        kw__consumer_log(c, KW_LOG_ERROR, "%s", e->e.detail);
    }
}

static void report(kw__consumer_part *p, int64_t offset, int err, int16_t kerr, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));
static void report(kw__consumer_part *p, int64_t offset, int err, int16_t kerr, const char *fmt,
                   ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(p, offset, err, kerr, fmt, ap);
    va_end(ap);
}

void kw__consumer_lose(kw__consumer_part *p)
{
    slots_drop(p);
    p->state = KW__CONSUMER_LOSING;
    p->lose_after = false;
    kw__consumer_log(p->c, KW_LOG_ERROR, "%s", p->loss_detail);
    pthread_cond_broadcast(&p->c->cond);
}

void kw__consumer_report(kw__consumer_part *p, int64_t offset, int err, int16_t kerr,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(p, offset, err, kerr, fmt, ap);
    va_end(ap);
}

static void retry_run(kw_loop_timer *t, void *arg);

/* A passing failure: everything in flight is dropped and the partition tries again after a
 * backoff, from the frontier (or resolves its start again). */
static void retry_later(kw__consumer_part *p, const char *what, int err, const char *detail)
{
    kw_consumer *c = p->c;
    slots_drop(p);
    uint64_t ms = BACKOFF_MS << (p->retries < 5 ? p->retries : 5);
    if (ms > BACKOFF_MAX_MS)
        ms = BACKOFF_MAX_MS;
    p->retries++;
    kw_loop *loop = kw__consumer_loop(c);
    p->retry_at_ns = kw__loop_now_ns(loop) + ms * 1000000u;
    kw__consumer_log(c, KW_LOG_WARN, "%s %s[%" PRId32 "] at offset %" PRId64 ": %s: %s; retrying in %"
                     PRIu64 " ms", what, p->topic, p->partition, p->frontier, kw_err_name(err),
                     detail && *detail ? detail : kw_strerror(err), ms);
    if (!kw__loop_timer_armed(&c->retry_timer)) {
        c->refs++;
        kw__loop_timer_start(&c->retry_timer, ms);
    } else if (c->retry_timer.deadline_ns > p->retry_at_ns) {
        kw__loop_timer_start_at(&c->retry_timer, p->retry_at_ns);
    }
}

/* True for the failures the consumer waits out (the client retried them until its deadline). */
static bool passing(int err, int16_t kerr)
{
    switch (err) {
    case KW_ETIMEDOUT:
        return kerr != KW_KERR_UNKNOWN_TOPIC_OR_PARTITION && kerr != KW_KERR_UNKNOWN_TOPIC_ID;
    case KW_ECONNECT:
    case KW_EIO:
    case KW_EAGAIN:
        return true;
    case KW_EBROKER:
        return kerr == KW_KERR_NOT_LEADER_OR_FOLLOWER || kerr == KW_KERR_LEADER_NOT_AVAILABLE ||
               kerr == KW_KERR_FENCED_LEADER_EPOCH || kerr == KW_KERR_UNKNOWN_LEADER_EPOCH ||
               kerr == KW_KERR_REQUEST_TIMED_OUT || kerr == KW_KERR_NETWORK_EXCEPTION ||
               kerr == KW_KERR_KAFKA_STORAGE_ERROR || kerr == -1;
    default:
        return false;
    }
}

/* ---------------------------------------------------------------- requests */

static void pump(kw__consumer_part *p);
static void advance(kw__consumer_part *p);

static int build_fetch(void *arg, int version, int32_t leader_epoch, const void **req)
{
    kw__consumer_slot *s = arg;
    kw__consumer_part *p = s->p;
    const kw_consumer_options *o = &p->c->o;
    kw_uuid id;
    kw__cluster_topic_id(kw__consumer_cluster(p->c), p->topic, &id);
    if (!kw_uuid_is_zero(id)) {
        pthread_mutex_lock(&p->c->mu);
        bool other = !kw_uuid_is_zero(p->topic_id) && !kw_uuid_eq(p->topic_id, id);
        if (other)
            p->topic_id_now = id;
        else
            p->topic_id = id;
        pthread_mutex_unlock(&p->c->mu);
        if (other)
            return KW_ENOTFOUND; /* fetch_done reports it */
    }
    kw__schema_init(kw__api(KW_API_FETCH)->req, version, &s->u.f.req);
    s->u.f.fp = (kw_fetch_req_partition){.partition = p->partition,
                                         .current_leader_epoch = leader_epoch,
                                         .fetch_offset = s->offset,
                                         .last_fetched_epoch = -1,
                                         .log_start_offset = -1,
                                         .partition_max_bytes = (int32_t)o->fetch_bytes};
    s->u.f.ft = (kw_fetch_req_topic){.topic = kw_str_c(p->topic), .topic_id = id};
    s->u.f.ft.partitions.v = &s->u.f.fp;
    s->u.f.ft.partitions.n = 1;
    s->u.f.req.replica_id = -1;
    s->u.f.req.max_wait_ms = (int32_t)o->max_wait_ms;
    s->u.f.req.min_bytes = 1;
    s->u.f.req.max_bytes = (int32_t)o->fetch_bytes;
    s->u.f.req.isolation_level = (int8_t)o->isolation;
    s->u.f.req.session_id = 0;
    s->u.f.req.session_epoch = -1; /* no fetch session: each request stands alone */
    s->u.f.req.topics.v = &s->u.f.ft;
    s->u.f.req.topics.n = 1;
    s->u.f.req.forgotten_topics_data.n = 0;
    s->u.f.req.rack_id = kw_str_c("");
    *req = &s->u.f.req;
    return 0;
}

static int build_list(void *arg, int version, int32_t leader_epoch, const void **req)
{
    kw__consumer_slot *s = arg;
    kw__consumer_part *p = s->p;
    kw__schema_init(kw__api(KW_API_LIST_OFFSETS)->req, version, &s->u.l.req);
    s->u.l.lp = (kw_list_offsets_req_partition){.partition_index = p->partition,
                                                .current_leader_epoch = leader_epoch,
                                                .timestamp = s->u.l.timestamp,
                                                .max_num_offsets = 1};
    s->u.l.lt = (kw_list_offsets_req_topic){.name = kw_str_c(p->topic)};
    s->u.l.lt.partitions.v = &s->u.l.lp;
    s->u.l.lt.partitions.n = 1;
    s->u.l.req.replica_id = -1;
    s->u.l.req.isolation_level = (int8_t)p->c->o.isolation;
    s->u.l.req.topics.v = &s->u.l.lt;
    s->u.l.req.topics.n = 1;
    s->u.l.req.timeout_ms = (int32_t)p->c->client->request_timeout_ms;
    *req = &s->u.l.req;
    return 0;
}

static void fetch_done(const kw_cluster_result *res, void *arg);
static void list_done(const kw_cluster_result *res, void *arg);

/* Sends a request for p at offset (a Fetch) or for p->start (list); the slot goes in offset order. */
static int send_slot(kw__consumer_part *p, int64_t offset, bool list)
{
    kw_consumer *c = p->c;
    kw__consumer_slot *s = calloc(1, sizeof(*s));
    if (!s)
        return KW_ENOMEM;
    s->p = p;
    s->gen = p->gen;
    s->offset = offset;
    s->list = list;
    uint32_t wait = list ? 0 : c->o.max_wait_ms;
    uint64_t deadline = kw__client_deadline(c->client, c->o.fetch_timeout_ms) + wait * 1000000ull;
    int rc;
    if (list) {
        switch (p->start.kind) {
        case KW_CONSUMER_START_EARLIEST: s->u.l.timestamp = -2; break;
        case KW_CONSUMER_START_LATEST: s->u.l.timestamp = -1; break;
        default: s->u.l.timestamp = p->start.value; break;
        }
        rc = kw__cluster_send_partition(kw__consumer_cluster(c), KW_API_LIST_OFFSETS, p->topic,
                                        p->partition, build_list, s, deadline, list_done, s);
    } else {
        rc = kw__cluster_send_partition(kw__consumer_cluster(c), KW_API_FETCH, p->topic, p->partition,
                                        build_fetch, s, deadline, fetch_done, s);
    }
    if (rc) {
        free(s);
        return rc;
    }
    c->refs++;
    p->in_flight++;
    if (!list) {
        kw__consumer_slot **pp = &p->slots;
        while (*pp && (*pp)->offset <= offset)
            pp = &(*pp)->next;
        s->next = *pp;
        *pp = s;
    }
    return 0;
}

/* How far apart speculative fetches start, in offsets (0: no estimate yet). */
static int64_t span(const kw__consumer_part *p)
{
    if (p->bytes_per_offset <= 0)
        return 0;
    double budget = (double)p->c->o.fetch_bytes;
    double useful = budget - 2 * p->batch_bytes;
    if (useful < budget / 2)
        useful = budget / 2;
    double n = useful / p->bytes_per_offset;
    return n < 1 ? 1 : n > 1e15 ? (int64_t)1e15 : (int64_t)n;
}

static void pump(kw__consumer_part *p)
{
    kw_consumer *c = p->c;
    if (p->removed || p->paused || c->closing || p->state == KW__CONSUMER_STOPPED ||
        p->state == KW__CONSUMER_LOSING)
        return;
    if (p->retry_at_ns && p->retry_at_ns > kw__loop_now_ns(kw__consumer_loop(c)))
        return;
    p->retry_at_ns = 0;
    int rc = 0;
    if (p->state == KW__CONSUMER_RESOLVE) {
        if ((rc = send_slot(p, -1, true)) == 0)
            p->state = KW__CONSUMER_RESOLVING;
    }
    /* The partition's slots count, answered ones waiting to be filed too (they hold memory);
     * dropped ones still out (after a seek or a retry) are not in the list and not waited for. */
    unsigned live = 0;
    kw__consumer_slot *tail = p->slots;
    for (kw__consumer_slot *s = p->slots; s; s = s->next) {
        live++;
        tail = s;
    }
    while (rc == 0 && p->state == KW__CONSUMER_FETCHING && live < c->o.fetches &&
           p->qlen < c->o.fetches) {
        int64_t at = p->frontier;
        if (tail) {
            int64_t step = span(p);
            if (step == 0 || p->bound < 0)
                break;
            if (tail->done && tail->end <= tail->offset)
                break; /* nothing there: wait for the slots before it */
            at = tail->done ? tail->end : tail->offset + step;
            if (at >= p->bound)
                break;
        }
        rc = send_slot(p, at, false);
        if (rc == 0) {
            live++;
            tail = tail ? tail->next : p->slots; /* appended: its offset is the highest */
        }
    }
    if (rc)
        report(p, p->frontier, rc, 0, "%s[%" PRId32 "]: cannot send a request: %s", p->topic,
               p->partition, kw_strerror(rc));
}

static void advance(kw__consumer_part *p)
{
    kw_consumer *c = p->c;
    kw__consumer_slot *s;
    while ((s = p->slots) && s->done && s->offset <= p->frontier) {
        if (s->chunk && s->end > p->frontier && kw__consumer_gap_check(p, s) != 0)
            return; /* waiting for the topic's policy, or reported (s is gone) */
        p->slots = s->next;
        kw__consumer_chunk *ch = s->chunk;
        if (ch && s->end > p->frontier) {
            ch->skip_below = p->frontier;
            if (p->qtail)
                p->qtail->next = ch;
            else
                p->qhead = ch;
            p->qtail = ch;
            p->qlen++;
            atomic_store(&p->backlog, p->qlen);
            p->frontier = s->end;
            pthread_cond_broadcast(&c->cond);
        } else {
            kw__consumer_chunk_free(c, ch);
        }
        free(s);
        if (p->lose_after) { /* what came before the hole is queued: stop there */
            kw__consumer_lose(p);
            return;
        }
    }
    /* The first answer waiting starts past the frontier: fetch the hole first. */
    if ((s = p->slots) && s->offset > p->frontier) {
        kw__consumer_log(c, KW_LOG_DEBUG,
                         "%s[%" PRId32 "]: fetching the hole %" PRId64 "..%" PRId64
                         " before the fetch ahead",
                         p->topic, p->partition, p->frontier, s->offset - 1);
        int rc = send_slot(p, p->frontier, false);
        if (rc)
            report(p, p->frontier, rc, 0, "%s[%" PRId32 "]: cannot send a fetch: %s", p->topic,
                   p->partition, kw_strerror(rc));
    }
}

void kw__consumer_advance(kw__consumer_part *p)
{
    advance(p);
}

void kw__consumer_pump(kw__consumer_part *p)
{
    pump(p);
}

/* What the loop inflated of an answer before taking mu. */
typedef struct pre_inflated {
    kw_wr w;
    kw__consumer_inflated *table;
    size_t n, cap;
    bool crc_checked;
} pre_inflated;

static void pre_free(pre_inflated *pre)
{
    kw__wr_free(&pre->w);
    free(pre->table);
    *pre = (pre_inflated){0};
}

/*
 * Loop thread, before mu: when the poll thread has answers waiting, check
 * the CRCs and inflate the compressed batches of this one here, so that
 * both threads check and decompress.  Any failure just leaves the work to
 * the poll thread (which then reports it).
 */
static void pre_inflate(kw__consumer_part *p, const kw_fetch_resp_partition *fp,
                        pre_inflated *pre)
{
    const kw_consumer_options *o = &p->c->o;
    *pre = (pre_inflated){0};
    if (atomic_load(&p->backlog) == 0 || fp->records.len <= 0)
        return;
    int64_t lso = o->isolation == KW_CONSUMER_READ_COMMITTED && fp->last_stable_offset >= 0
                      ? fp->last_stable_offset
                      : INT64_MAX;
    kw_batch_iter it;
    kw_batch b;
    int rc;
    /* Only answers with something to inflate: with plain batches the loop's recv is already the
     * longer half of the work, and the CRC pass is better left to the poll thread. */
    kw__batch_iter_init(&it, fp->records.ptr, (size_t)fp->records.len, 0);
    while ((rc = kw__batch_next(&it, &b)) == 1 && kw__batch_codec(&b) == 0)
        ;
    if (rc != 1)
        return;
    kw__batch_iter_init(&it, fp->records.ptr, (size_t)fp->records.len,
                        o->skip_crc_check ? 0 : KW_BATCH_VERIFY_CRC);
    kw__wr_init(&pre->w);
    while ((rc = kw__batch_next(&it, &b)) == 1 && b.base_offset < lso) {
        if (kw__batch_codec(&b) == 0 || kw__batch_is_control(&b))
            continue;
        if (pre->n == pre->cap) {
            size_t cap = pre->cap ? pre->cap * 2 : 16;
            kw__consumer_inflated *v = realloc(pre->table, cap * sizeof(*v));
            if (!v)
                goto drop;
            pre->table = v;
            pre->cap = cap;
        }
        size_t start = pre->w.len;
        if (kw__decompress(kw__batch_codec(&b), b.records, b.records_len, &pre->w,
                           (size_t)64 << 20) != 0)
            goto drop;
        pre->table[pre->n++] = (kw__consumer_inflated){b.base_offset, start, pre->w.len - start};
    }
    if (rc < 0)
        goto drop; /* the poll thread finds it again and says which batch */
    pre->crc_checked = !o->skip_crc_check;
    return;
drop:
    pre_free(pre);
}

/* Keeps the response's whole batches (below the last stable offset with read_committed). */
static int take_chunk(kw__consumer_slot *s, const kw_cluster_result *res,
                      const kw_fetch_resp_partition *fp, pre_inflated *pre)
{
    kw__consumer_part *p = s->p;
    kw_consumer *c = p->c;
    size_t len = fp->records.len > 0 ? (size_t)fp->records.len : 0;
    int64_t lso = c->o.isolation == KW_CONSUMER_READ_COMMITTED && fp->last_stable_offset >= 0
                      ? fp->last_stable_offset
                      : INT64_MAX;
    kw_batch_iter it;
    kw__batch_iter_init(&it, fp->records.ptr, len, 0);
    kw_batch b;
    int rc;
    size_t whole = 0, batches = 0;
    int64_t first = -1, end = s->offset;
    bool at_lso = false;
    s->gap_to = -1;
    while ((rc = kw__batch_next(&it, &b)) == 1 && !(at_lso = b.base_offset >= lso)) {
        if (batches > 0 && b.base_offset > end && s->gap_to < 0) {
            s->gap_from = end;
            s->gap_to = b.base_offset;
            s->gap_pos = whole;
        }
        whole = it.pos;
        batches++;
        if (first < 0)
            first = b.base_offset;
        if (kw__batch_next_offset(&b) > end)
            end = kw__batch_next_offset(&b);
    }
    if (rc < 0) {
        report(p, s->offset, rc, 0, "%s[%" PRId32 "] fetch at offset %" PRId64 ": %s", p->topic,
               p->partition, s->offset, it.errstr);
        return rc;
    }
    if (whole == 0 && len > 0 && !at_lso) {
        report(p, s->offset, KW_ETOOBIG, 0,
               "%s[%" PRId32 "] fetch at offset %" PRId64 ": the first batch is cut off at %zu "
               "bytes (fetch_bytes %" PRIu32 ")",
               p->topic, p->partition, s->offset, len, c->o.fetch_bytes);
        return KW_ETOOBIG;
    }
    s->end = end;
    s->first = first;
    s->log_start = fp->log_start_offset;
    if (whole == 0)
        return 0;
    if (end > first) {
        double bpo = (double)whole / (double)(end - first);
        double bb = (double)whole / (double)batches;
        p->bytes_per_offset = p->bytes_per_offset > 0 ? (p->bytes_per_offset + bpo) / 2 : bpo;
        p->batch_bytes = p->batch_bytes > 0 ? (p->batch_bytes + bb) / 2 : bb;
    }
    kw__consumer_chunk *ch = calloc(1, sizeof(*ch));
    if (!ch)
        goto nomem;
    /* Keep the bytes where they arrived: the connection's read buffer is taken, not copied. */
    const uint8_t *rp = fp->records.ptr;
    bool inside = res->frame && rp >= res->frame && whole <= res->frame_len &&
                  (size_t)(rp - res->frame) <= res->frame_len - whole;
    int sp = 0;
    while (sp < KW__CONSUMER_SPARES - 1 && !c->spare[sp])
        sp++;
    uint8_t *spare = inside ? c->spare[sp] : NULL;
    if (inside && (ch->mem = kw__conn_take_frame(res->conn, res->frame, spare,
                                                 c->spare_cap[sp], &ch->mem_cap)) != NULL) {
        if (spare) {
            c->spare[sp] = NULL; /* the connection owns it now */
            c->spare_cap[sp] = 0;
        }
        ch->buf = rp;
    } else if ((ch->mem = malloc(whole)) != NULL) {
        memcpy(ch->mem, rp, whole);
        ch->buf = ch->mem;
    } else {
        goto nomem;
    }
    ch->len = whole;
    for (int32_t i = 0; i < fp->aborted_transactions.n; i++)
        if (kw__aborted_add(&ch->aborted, fp->aborted_transactions.v[i].producer_id,
                            fp->aborted_transactions.v[i].first_offset) != 0)
            goto nomem;
    /* The table lists this answer's batches from its start: the same ones, whole or not. */
    ch->inflated = pre->w;
    ch->table = pre->table;
    ch->ntable = pre->n;
    ch->crc_checked = pre->crc_checked;
    *pre = (pre_inflated){0};
    s->chunk = ch;
    return 0;
nomem:
    kw__consumer_chunk_free(c, ch);
    report(p, s->offset, KW_ENOMEM, 0, "%s[%" PRId32 "]: no memory for a %zu-byte fetch",
           p->topic, p->partition, len);
    return KW_ENOMEM;
}

/* The answer's slot is stale or the consumer is closing: true when the caller must only unlock. */
static bool answer_dropped(kw__consumer_slot *s)
{
    kw__consumer_part *p = s->p;
    kw_consumer *c = p->c;
    c->refs--;
    p->in_flight--;
    if (!c->closing && !p->removed && s->gen == p->gen)
        return false;
    if (s->gen == p->gen) { /* closing or removed: still linked */
        kw__consumer_slot **pp = &p->slots;
        while (*pp && *pp != s)
            pp = &(*pp)->next;
        if (*pp)
            *pp = s->next;
    }
    free(s);
    if (p->removed && p->in_flight == 0)
        kw__consumer_part_release(p);
    else if (!p->removed && !c->closing)
        pump(p); /* in case it was this answer the partition's fetch limit waited for */
    return true;
}

static void fetch_done(const kw_cluster_result *res, void *arg)
{
    kw__consumer_slot *s = arg;
    kw__consumer_part *p = s->p; /* kept while s is out */
    kw_consumer *c = p->c;
    const kw_fetch_resp *r0 = res->resp;
    pre_inflated pre = {0};
    /* From v13 the answer names the topic by the id the request carried. */
    const kw_fetch_resp_partition *fp =
        kw__fetch_resp_find(r0, res->version, p->topic, s->u.f.ft.topic_id, p->partition);
    if (res->err == 0 && fp)
        pre_inflate(p, fp, &pre);
    if (pre.n)
        kw__consumer_log(c, KW_LOG_DEBUG,
                         "%s[%" PRId32 "]: inflated %zu batches of the answer at offset %" PRId64
                         " on the loop thread (the poll thread has answers waiting)",
                         p->topic, p->partition, pre.n, s->offset);
    pthread_mutex_lock(&c->mu);
    if (answer_dropped(s)) {
        kw__consumer_unlock(c);
        pre_free(&pre);
        return;
    }
    /* Done from here: any branch that drops the slots frees this one with them. */
    s->done = true;
    s->end = s->offset;
    if (res->err == 0 && !fp) {
        report(p, s->offset, KW_EMALFORMED, 0,
               "%s[%" PRId32 "] fetch at offset %" PRId64 ": the response has no partition",
               p->topic, p->partition, s->offset);
    } else if (res->err == KW_ENOTFOUND &&
               (!kw_uuid_is_zero(p->topic_id_now) || res->kerr == KW_KERR_UNKNOWN_TOPIC_ID)) {
        char was[23], now[23];
        kw__uuid_format(p->topic_id, was);
        kw__uuid_format(p->topic_id_now, now);
        if (kw_uuid_is_zero(p->topic_id_now))
            report(p, s->offset, KW_ENOTFOUND, KW_KERR_UNKNOWN_TOPIC_ID,
                   "%s[%" PRId32 "] fetch at offset %" PRId64 ": %s; seek to read the new topic",
                   p->topic, p->partition, s->offset,
                   res->detail && *res->detail ? res->detail : "the topic id changed");
        else
            report(p, s->offset, KW_ENOTFOUND, KW_KERR_UNKNOWN_TOPIC_ID,
                   "%s[%" PRId32 "] fetch at offset %" PRId64
                   ": the topic was deleted and created again (topic id %s, now %s); its offsets "
                   "start over: seek to read the new topic",
                   p->topic, p->partition, s->offset, was, now);
    } else if (res->err == KW_EBROKER && res->kerr == KW_KERR_OFFSET_OUT_OF_RANGE &&
               s->offset > p->frontier) {
        /* A fetch ahead past a log end that moved back: the bound was stale. */
        p->bound = s->offset;
        advance(p);
    } else if (res->err == KW_EBROKER && res->kerr == KW_KERR_OFFSET_OUT_OF_RANGE &&
               s->offset < p->bound && !(fp && fp->log_start_offset > s->offset) &&
               p->range_retries < RANGE_RETRIES) {
        /*
         * The last answer put this offset below its high watermark and nothing says the log
         * start passed it: a broker that just took over the partition can answer so for a
         * moment (seen while a preferred election moved the leader).  Try again before
         * resetting or reporting, so neither happens for a passing state.
         */
        p->range_retries++;
        retry_later(p, "fetch", res->err,
                    "OFFSET_OUT_OF_RANGE below the high watermark last seen (a leader change?)");
    } else if (res->err == KW_EBROKER && res->kerr == KW_KERR_OFFSET_OUT_OF_RANGE &&
               c->o.offset_reset != KW_CONSUMER_RESET_ERROR) {
        bool earliest = c->o.offset_reset == KW_CONSUMER_RESET_EARLIEST;
        kw__consumer_log(c, KW_LOG_WARN,
                         "%s[%" PRId32 "]: offset %" PRId64 " is out of range (log start %" PRId64
                         ", high watermark %" PRId64 "); resetting to the %s offset",
                         p->topic, p->partition, s->offset, fp ? fp->log_start_offset : -1,
                         fp ? fp->high_watermark : -1, earliest ? "earliest" : "latest");
        slots_drop(p);
        p->start = earliest ? kw_consumer_at_earliest() : kw_consumer_at_latest();
        p->state = KW__CONSUMER_RESOLVE;
    } else if (res->err == KW_EBROKER && res->kerr == KW_KERR_OFFSET_OUT_OF_RANGE) {
        report(p, s->offset, KW_EBROKER, res->kerr,
               "%s[%" PRId32 "]: offset %" PRId64 " is out of range (log start %" PRId64
               ", high watermark %" PRId64 "): seek to go on",
               p->topic, p->partition, s->offset, fp ? fp->log_start_offset : -1,
               fp ? fp->high_watermark : -1);
    } else if (res->err == KW_ECLOSED) {
        slots_drop(p); /* the client is going away: nothing more is sent */
        p->state = KW__CONSUMER_STOPPED;
    } else if (res->err && passing(res->err, res->kerr)) {
        retry_later(p, "fetch", res->err, res->detail);
    } else if (res->err) {
        report(p, s->offset, res->err, res->kerr, "%s[%" PRId32 "] fetch at offset %" PRId64 ": %s",
               p->topic, p->partition, s->offset,
               res->detail && *res->detail ? res->detail : kw_strerror(res->err));
    } else if (take_chunk(s, res, fp, &pre) == 0) {
        p->retries = 0;
        p->range_retries = 0;
        int64_t bound = c->o.isolation == KW_CONSUMER_READ_COMMITTED && fp->last_stable_offset >= 0
                            ? fp->last_stable_offset
                            : fp->high_watermark;
        p->bound = bound;
        advance(p);
    }
    pump(p);
    kw__consumer_unlock(c);
    pre_free(&pre); /* not taken (an error, or no whole batch) */
}

static void list_done(const kw_cluster_result *res, void *arg)
{
    kw__consumer_slot *s = arg;
    kw__consumer_part *p = s->p;
    kw_consumer *c = p->c;
    pthread_mutex_lock(&c->mu);
    c->refs--;
    p->in_flight--;
    bool stale = c->closing || p->removed || s->gen != p->gen;
    free(s);
    if (stale) {
        if (p->removed && p->in_flight == 0)
            kw__consumer_part_release(p);
        kw__consumer_unlock(c);
        return;
    }
    const kw_list_offsets_resp *lr = res->resp;
    const kw_list_offsets_resp_partition *lp =
        lr && lr->topics.n > 0 && lr->topics.v[0].partitions.n > 0
            ? &lr->topics.v[0].partitions.v[0]
            : NULL;
    if (res->err == KW_ECLOSED) {
        p->state = KW__CONSUMER_STOPPED;
    } else if (res->err && passing(res->err, res->kerr)) {
        p->state = KW__CONSUMER_RESOLVE;
        retry_later(p, "ListOffsets for", res->err, res->detail);
    } else if (res->err || !lp) {
        int err = res->err ? res->err : KW_EMALFORMED;
        report(p, -1, err, res->kerr, "%s[%" PRId32 "]: ListOffsets: %s", p->topic, p->partition,
               res->detail && *res->detail ? res->detail : "the response has no partition");
    } else if (lp->offset < 0 && p->start.kind == KW_CONSUMER_START_TIMESTAMP) {
        /* No record is that late: start at the end, reading only what comes later. */
        kw__consumer_log(c, KW_LOG_INFO,
                         "%s[%" PRId32 "]: no record at or after timestamp %" PRId64
                         "; starting at the latest offset",
                         p->topic, p->partition, p->start.value);
        p->start = kw_consumer_at_latest();
        p->state = KW__CONSUMER_RESOLVE;
    } else if (lp->offset < 0) {
        report(p, -1, KW_EMALFORMED, 0, "%s[%" PRId32 "]: ListOffsets answered offset %" PRId64,
               p->topic, p->partition, lp->offset);
    } else {
        p->retries = 0;
        p->frontier = lp->offset;
        p->known_position = lp->offset;
        p->state = KW__CONSUMER_FETCHING;
    }
    pump(p);
    kw__consumer_unlock(c);
}

/* ---------------------------------------------------------------- tasks */

static void pump_all(kw_consumer *c)
{
    for (kw__consumer_part *p = c->parts; p; p = p->next)
        pump(p);
}

static void retry_run(kw_loop_timer *t, void *arg)
{
    (void)t;
    kw_consumer *c = arg;
    pthread_mutex_lock(&c->mu);
    c->refs--;
    if (!c->closing) {
        pump_all(c);
        /* Partitions whose backoff is not over yet: wait for the earliest. */
        uint64_t next = 0;
        for (kw__consumer_part *p = c->parts; p; p = p->next)
            if (p->retry_at_ns && (!next || p->retry_at_ns < next))
                next = p->retry_at_ns;
        if (next) {
            c->refs++;
            kw__loop_timer_start_at(&c->retry_timer, next);
        }
    }
    kw__consumer_unlock(c);
}

static void kick_run(kw_loop *loop, void *arg)
{
    (void)loop;
    kw_consumer *c = arg;
    pthread_mutex_lock(&c->mu);
    c->refs--;
    c->kick_posted = false;
    if (!c->closing)
        pump_all(c);
    kw__consumer_unlock(c);
}

static void kick_drop(void *arg)
{
    kw_consumer *c = arg;
    pthread_mutex_lock(&c->mu);
    c->refs--;
    c->kick_posted = false;
    kw__consumer_unlock(c);
}

void kw__consumer_kick(kw_consumer *c)
{
    if (c->kick_posted || c->closing)
        return;
    if (kw__loop_post(kw__consumer_loop(c), kick_run, kick_drop, c) == 0) {
        c->kick_posted = true;
        c->refs++;
    }
}

void kw__consumer_init_timer(kw_consumer *c)
{
    kw__loop_timer_init(kw__consumer_loop(c), &c->retry_timer, retry_run, c);
}

void kw__consumer_part_release(kw__consumer_part *p)
{
    kw__consumer_part **pp = &p->c->zombies;
    while (*pp && *pp != p)
        pp = &(*pp)->next;
    if (*pp)
        *pp = p->next;
    part_free(p);
}

void kw__consumer_fail(kw__consumer_part *p, int64_t offset, int err, const char *detail)
{
    kw__consumer_part_reset(p);
    report(p, offset, err, 0, "%s[%" PRId32 "] at offset %" PRId64 ": %s", p->topic, p->partition,
           offset, detail);
}

/* The consumer is closing: the retry timer must not outlive it, nor hold it up for long. */
static void close_run(kw_loop *loop, void *arg)
{
    (void)loop;
    kw_consumer *c = arg;
    pthread_mutex_lock(&c->mu);
    c->refs--;
    if (kw__loop_timer_armed(&c->retry_timer)) {
        kw__loop_timer_stop(&c->retry_timer);
        c->refs--;
    }
    kw__consumer_unlock(c);
}

/* The loop is being freed (its thread stopped): an armed timer will never fire. */
static void close_drop(void *arg)
{
    kw_consumer *c = arg;
    pthread_mutex_lock(&c->mu);
    c->refs--;
    if (kw__loop_timer_armed(&c->retry_timer))
        c->refs--;
    kw__consumer_unlock(c);
}

int kw__consumer_post_close(kw_consumer *c)
{
    int rc = kw__loop_post(kw__consumer_loop(c), close_run, close_drop, c);
    if (rc == 0)
        c->refs++;
    return rc;
}
