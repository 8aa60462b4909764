/* Kafka WAL replay: pipelined large fetches on the loop, record decoding and reassembly on the caller's thread. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/aborted.h"
#include "net/conn.h"
#include "proto/kerr.h"
#include "wal/kafka_int.h"

/*
 * The loop thread fetches (fetch_max_bytes at a time, read_committed) and
 * queues what arrives; as soon as a response is in, the next Fetch goes out,
 * before anyone decodes this one, so the broker is never idle while the
 * caller's thread decodes.  At most QUEUE_MAX responses wait; the loop stops
 * fetching until the caller takes one.  The caller's thread walks batches
 * and records, skips control batches, aborted transactions and other
 * regions' records (their values are never copied), and reassembles entries.
 *
 * End: the last stable offset read when replay started (entries written
 * later are not replayed), or never with FOLLOW.
 *
 * With the index (kafka_index.c), what is fetched is a plan: for each region
 * the ranges its index record lists inside [from, covered), then the tail
 * [covered, end), and [from, valid_from) when the record starts later; a
 * region without a usable record contributes [from, end).  Each range is
 * fetched with a size limit of the bytes the index saw in it, and the fetch
 * offset jumps over what lies between ranges.
 */

#define QUEUE_MAX 2
#define FOLLOW_WAIT_MS 500

/* One fetch response's records: the connection's read buffer taken over (or a copy). */
typedef struct kchunk {
    struct kchunk *next;
    uint8_t *mem; /* what to free: the taken buffer (buf lies inside) or the copy (= buf) */
    size_t mem_cap; /* the taken buffer's size (0 for a copy): it goes back as the next spare */
    const uint8_t *buf;
    size_t len;
    kw__aborted_set aborted; /* the transactions this response listed as aborted */
} kchunk;

typedef struct kreplay {
    kw_wal_kafka *k;
    char *topic;
    const kw_wal_region_set *set; /* the regions and where each starts; kept by wal.c */
    uint64_t region_id;           /* the first region: for messages */
    int64_t from;                 /* where reading starts: the smallest start of the set */
    int64_t end; /* exclusive; INT64_MAX with FOLLOW */
    bool follow;

    pthread_mutex_t mu;
    pthread_cond_t cond;
    /* guarded by mu */
    kchunk *qhead, *qtail;
    unsigned qlen;
    bool started;
    bool fetch_done; /* nothing more will be queued */
    bool closing;
    bool fetch_out;
    bool fetch_wanted; /* the loop stopped because the queue was full */
    uint8_t *spare;    /* a decoded chunk's buffer, for the connection to read the next fetch into */
    size_t spare_cap;
    int err;
    char errstr[300];

    /* loop side */
    int64_t fetch_offset;
    int64_t log_start;
    unsigned empty_rounds;
    kw_fetch_req_partition fp;
    kw_fetch_req_topic ft;
    kw_fetch_req freq;
    /* Loop thread: the topic id the replay reads (zero until known), and another one a build
     * found under the same name (the topic was deleted and created again). */
    kw_uuid topic_id, topic_id_now;
    kw_list_offsets_req_partition lp;
    kw_list_offsets_req_topic lt;
    kw_list_offsets_req lreq;

    /* caller side */
    kchunk *cur;
    kw_batch_iter bit;
    bool in_chunk;
    kw_batch batch;
    kw_record_iter rit;
    bool in_batch;
    bool skip_batch;
    kw_wr scratch;
    kw_wal_record_asm as;
    bool finished;
    kw__aborted_set aborted; /* aborted transactions not yet ended by their marker */
    kw_wal_replay_stats stats;
    uint64_t started_ns;

    /* the index: found[i] for set->ids[i] (read on open); the plan built from it at start */
    kw_wal_index_found *found;
    bool use_index;
    kw_wal_index_range *plan;
    size_t nplan, iplan;
    /* loop side, read under mu */
    uint64_t fetches, bytes_fetched, offsets_skipped;
    uint64_t index_records_read; /* set before the loop starts */
    int index_state;
    char index_note[200];
    /* single-region replay: the offsets its entries came from (seeds the handle's index) */
    kw_wal_index_list seen;
    bool seen_ok;
} kreplay;

static void set_err(kreplay *r, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(kreplay *r, int err, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&r->mu);
    if (!r->err) {
        r->err = err;
        va_start(ap, fmt);
        vsnprintf(r->errstr, sizeof(r->errstr), fmt, ap);
        va_end(ap);
    }
    r->fetch_done = true;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
}

static void chunk_free(kchunk *c)
{
    if (!c)
        return;
    free(c->mem);
    kw__aborted_free(&c->aborted);
    free(c);
}

static void replay_free(kreplay *r)
{
    while (r->qhead) {
        kchunk *c = r->qhead;
        r->qhead = c->next;
        chunk_free(c);
    }
    chunk_free(r->cur);
    free(r->spare);
    kw__wr_free(&r->scratch);
    kw__wal_record_asm_free(&r->as);
    kw__aborted_free(&r->aborted);
    free(r->topic);
    if (r->found)
        for (size_t i = 0; i < r->set->n; i++)
            free(r->found[i].rec.ranges);
    free(r->found);
    free(r->plan);
    kw__wal_index_list_free(&r->seen);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cond);
    free(r);
}

/* ---------------------------------------------------------------- loop side */

static void send_fetch(kreplay *r);
static void seed_index(kreplay *r);

static int build_fetch(void *arg, int version, int32_t leader_epoch, const void **req)
{
    kreplay *r = arg;
    kw_uuid id;
    kw__cluster_topic_id(r->k->cl, r->topic, &id);
    if (!kw_uuid_is_zero(id) && !kw_uuid_is_zero(r->topic_id) && !kw_uuid_eq(id, r->topic_id)) {
        r->topic_id_now = id;
        return KW_ENOTFOUND; /* fetch_done says why */
    }
    if (!kw_uuid_is_zero(id))
        r->topic_id = id;
    size_t max = r->k->o.fetch_max_bytes;
    /* an indexed range: its batches' size (the broker still sends a first batch larger) */
    if (r->iplan < r->nplan && r->plan[r->iplan].bytes > 0 && r->plan[r->iplan].bytes < max)
        max = (size_t)r->plan[r->iplan].bytes;
    if (max > INT32_MAX)
        max = INT32_MAX;
    r->fp = (kw_fetch_req_partition){.partition = 0,
                                     .current_leader_epoch = leader_epoch,
                                     .fetch_offset = r->fetch_offset,
                                     .last_fetched_epoch = -1,
                                     .log_start_offset = -1,
                                     .partition_max_bytes = (int32_t)max};
    r->ft = (kw_fetch_req_topic){.topic = kw_str_c(r->topic), .topic_id = id};
    r->ft.partitions.v = &r->fp;
    r->ft.partitions.n = 1;
    kw__schema_init(kw__api(KW_API_FETCH)->req, version, &r->freq);
    r->freq.replica_id = -1;
    r->freq.max_wait_ms = r->follow ? FOLLOW_WAIT_MS : 100;
    r->freq.min_bytes = 1;
    r->freq.max_bytes = (int32_t)max;
    r->freq.isolation_level = 1; /* read_committed: aborted transactions are listed */
    r->freq.topics.v = &r->ft;
    r->freq.topics.n = 1;
    *req = &r->freq;
    return 0;
}

/* Called with the loop's answer to a fetch: true when the replay was closed meanwhile (then freed). */
static bool closed_while_out(kreplay *r)
{
    pthread_mutex_lock(&r->mu);
    r->fetch_out = false;
    bool closing = r->closing;
    pthread_mutex_unlock(&r->mu);
    if (closing)
        replay_free(r);
    return closing;
}

static void fetch_done(const kw_cluster_result *res, void *arg)
{
    kreplay *r = arg;
    if (closed_while_out(r))
        return;
    kw_wal_kafka *k = r->k;
    /* From v13 the answer names the topic by the id the request carried. */
    const kw_fetch_resp_partition *p =
        kw__fetch_resp_find(res->resp, res->version, r->topic, r->ft.topic_id, 0);
    if (res->err == 0 && !p) {
        set_err(r, KW_EMALFORMED, "fetch %s: the response has no partition 0", r->topic);
        return;
    }
    if (res->err == KW_ENOTFOUND && !kw_uuid_is_zero(r->topic_id_now)) {
        char was[23], now[23];
        kw__uuid_format(r->topic_id, was);
        kw__uuid_format(r->topic_id_now, now);
        set_err(r, KW_ENOTFOUND,
                "replay of region %llu from %s at offset %lld: the topic was deleted and "
                "created again (topic id %s, now %s): the new topic's records are not this "
                "region's",
                (unsigned long long)r->region_id, r->topic, (long long)r->fetch_offset, was, now);
        return;
    }
    if (res->err) {
        if (res->kerr == KW_KERR_OFFSET_OUT_OF_RANGE && p && p->log_start_offset > r->fetch_offset &&
            k->o.overwrite_entry_start_id) {
            kw__wal_kafka_log(k, KW_LOG_WARN,
                              "region %llu: offsets %lld..%lld of %s were pruned during replay; "
                              "continuing from the log start offset %lld "
                              "(overwrite_entry_start_id)",
                              (unsigned long long)r->region_id, (long long)r->fetch_offset,
                              (long long)p->log_start_offset - 1, r->topic,
                              (long long)p->log_start_offset);
            r->fetch_offset = p->log_start_offset;
            send_fetch(r);
            return;
        }
        set_err(r, res->err, "replay of region %llu from %s at offset %lld: %s",
                (unsigned long long)r->region_id, r->topic, (long long)r->fetch_offset,
                res->detail && *res->detail ? res->detail : kw_strerror(res->err));
        return;
    }
    size_t len = p->records.len > 0 ? (size_t)p->records.len : 0;
    /* Where the next fetch starts: after the last whole batch (a cut tail is fetched again). */
    int64_t next = r->fetch_offset;
    kw_batch_iter it;
    kw__batch_iter_init(&it, p->records.ptr, len, 0);
    kw_batch b;
    int rc;
    while ((rc = kw__batch_next(&it, &b)) == 1)
        if (kw__batch_next_offset(&b) > next)
            next = kw__batch_next_offset(&b);
    if (rc < 0) {
        set_err(r, rc, "replay of %s at offset %lld: %s", r->topic, (long long)r->fetch_offset,
                it.errstr);
        return;
    }
    pthread_mutex_lock(&r->mu);
    r->fetches++;
    r->bytes_fetched += it.pos;
    pthread_mutex_unlock(&r->mu);
    if (it.pos > 0) {
        kchunk *c = calloc(1, sizeof(*c));
        /* Keep the records where they arrived: no copy of the whole fetch. */
        const uint8_t *rp = p->records.ptr;
        bool inside = res->frame && rp >= res->frame && it.pos <= res->frame_len &&
                      (size_t)(rp - res->frame) <= res->frame_len - it.pos;
        /* The buffer a decoded chunk left goes back for the next fetch to land in (no fresh
         * pages to fault in), unless this was the last fetch. */
        uint8_t *spare = NULL;
        size_t spare_cap = 0;
        if (c && inside && (r->follow || next < r->end)) {
            pthread_mutex_lock(&r->mu);
            spare = r->spare;
            spare_cap = r->spare_cap;
            r->spare = NULL;
            pthread_mutex_unlock(&r->mu);
        }
        if (c && inside &&
            (c->mem = kw__conn_take_frame(res->conn, res->frame, spare, spare_cap,
                                          &c->mem_cap)) != NULL) {
            c->buf = rp;
            spare = NULL;
        } else if (c && (c->mem = malloc(it.pos)) != NULL) {
            memcpy(c->mem, rp, it.pos);
            c->buf = c->mem;
        }
        free(spare); /* not taken: the connection did not get it */
        bool listed = true;
        for (int32_t i = 0; c && i < p->aborted_transactions.n && listed; i++)
            listed = kw__aborted_add(&c->aborted, p->aborted_transactions.v[i].producer_id,
                                     p->aborted_transactions.v[i].first_offset) == 0;
        if (!c || !c->mem || !listed) {
            chunk_free(c);
            set_err(r, KW_ENOMEM, "replay: out of memory for a %zu-byte fetch", len);
            return;
        }
        c->len = it.pos;
        r->empty_rounds = 0;
        pthread_mutex_lock(&r->mu);
        if (r->qtail)
            r->qtail->next = c;
        else
            r->qhead = c;
        r->qtail = c;
        r->qlen++;
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->mu);
    } else if (len > 0) {
        /* A batch larger than fetch_max_bytes would arrive whole (KIP-74); a cut
         * one with nothing whole before it means the broker sends less than it must. */
        set_err(r, KW_ETOOBIG, "replay of %s at offset %lld: the first batch does not fit in "
                "fetch_max_bytes (%zu)", r->topic, (long long)r->fetch_offset,
                k->o.fetch_max_bytes);
        return;
    } else if (!r->follow && ++r->empty_rounds > 600) {
        set_err(r, KW_ETIMEDOUT, "replay of %s: no records at offset %lld below the end %lld",
                r->topic, (long long)r->fetch_offset, (long long)r->end);
        return;
    }
    r->fetch_offset = next;
    if (r->use_index) {
        while (r->iplan < r->nplan && r->fetch_offset >= r->plan[r->iplan].end)
            r->iplan++;
        if (r->iplan == r->nplan)
            r->fetch_offset = r->end; /* the plan is done */
        else if (r->fetch_offset < r->plan[r->iplan].start)
            r->fetch_offset = r->plan[r->iplan].start;
    }
    if (!r->follow && r->fetch_offset >= r->end) {
        pthread_mutex_lock(&r->mu);
        r->fetch_done = true;
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->mu);
        return;
    }
    send_fetch(r);
}

static void send_fetch(kreplay *r)
{
    pthread_mutex_lock(&r->mu);
    if (r->qlen >= QUEUE_MAX) {
        r->fetch_wanted = true; /* the caller wakes us when it takes one */
        pthread_mutex_unlock(&r->mu);
        return;
    }
    r->fetch_out = true;
    pthread_mutex_unlock(&r->mu);
    uint32_t wait = r->follow ? FOLLOW_WAIT_MS : 0;
    int rc = kw__cluster_send_partition(r->k->cl, KW_API_FETCH, r->topic, 0, build_fetch, r,
                                        kw__wal_kafka_deadline(r->k->o.timeout_ms + wait),
                                        fetch_done, r);
    if (rc) {
        if (!closed_while_out(r))
            set_err(r, rc, "replay: cannot send a fetch: %s", kw_strerror(rc));
    }
}

static void resume_run(kw_loop *loop, void *arg)
{
    kreplay *r = arg;
    pthread_mutex_lock(&r->mu);
    bool go = r->fetch_wanted && !r->closing && !r->fetch_out;
    r->fetch_wanted = false;
    pthread_mutex_unlock(&r->mu);
    if (go)
        send_fetch(r);
}

static int cmp_range(const void *a, const void *b)
{
    const kw_wal_index_range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static bool plan_add(kw_wal_index_range **v, size_t *n, size_t *cap, int64_t start, int64_t end,
                     uint64_t bytes)
{
    if (end <= start)
        return true;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        kw_wal_index_range *nv = realloc(*v, c * sizeof(*nv));
        if (!nv)
            return false;
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = (kw_wal_index_range){start, end, bytes};
    return true;
}

/* The ranges to fetch, from each region's index record (loop thread, after ListOffsets). */
static int build_plan(kreplay *r)
{
    const kw_wal_region_set *set = r->set;
    kw_wal_index_range *v = NULL;
    size_t n = 0, cap = 0, usable = 0, partial = 0;
    char note[200] = "";
    bool ok = true;
    for (size_t i = 0; i < set->n && ok; i++) {
        int64_t f = (int64_t)set->froms[i];
        if (f < r->log_start)
            f = r->log_start;
        if (f >= r->end) {
            usable++; /* nothing to read for it, index or not */
            continue;
        }
        const kw_wal_index_found *x = &r->found[i];
        const char *why = NULL;
        char buf[160];
        if (x->state == 0) {
            why = "no index record";
        } else if (x->state < 0) {
            snprintf(buf, sizeof(buf), "corrupt index record: %s", x->why);
            why = buf;
        } else if (x->rec.covered > r->end) {
            /* never written by an honest writer of this topic: a recreated topic */
            snprintf(buf, sizeof(buf), "index covers to %lld past the topic's end %lld (stale)",
                     (long long)x->rec.covered, (long long)r->end);
            why = buf;
        }
        if (why) {
            if (!*note)
                snprintf(note, sizeof(note), "region %llu: %s; read without the index",
                         (unsigned long long)set->ids[i], why);
            ok = plan_add(&v, &n, &cap, f, r->end, 0);
            continue;
        }
        const kw_wal_index_record *rec = &x->rec;
        if (rec->valid_from > f) {
            if (!*note)
                snprintf(note, sizeof(note),
                         "region %llu: index starts at %lld, after from %lld; read up to there",
                         (unsigned long long)set->ids[i], (long long)rec->valid_from,
                         (long long)f);
            ok = plan_add(&v, &n, &cap, f, rec->valid_from, 0);
            partial++;
        } else {
            usable++;
        }
        for (size_t j = 0; j < rec->n && ok; j++) {
            int64_t a = rec->ranges[j].start > f ? rec->ranges[j].start : f;
            ok = plan_add(&v, &n, &cap, a, rec->ranges[j].end, rec->ranges[j].bytes);
        }
        if (ok)
            ok = plan_add(&v, &n, &cap, rec->covered > f ? rec->covered : f, r->end, 0);
    }
    if (!ok) {
        free(v);
        return KW_ENOMEM;
    }
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_range);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && v[i].start <= v[m - 1].end) {
            if (v[i].end > v[m - 1].end)
                v[m - 1].end = v[i].end;
            v[m - 1].bytes = v[m - 1].bytes && v[i].bytes ? v[m - 1].bytes + v[i].bytes : 0;
            continue;
        }
        v[m++] = v[i];
    }
    int64_t planned = 0;
    for (size_t i = 0; i < m; i++)
        planned += v[i].end - v[i].start;
    r->plan = v;
    r->nplan = m;
    pthread_mutex_lock(&r->mu);
    r->offsets_skipped = r->end > r->from ? (uint64_t)(r->end - r->from - planned) : 0;
    r->index_state = usable == set->n            ? KW_WAL_REPLAY_INDEX_USED
                     : usable > 0 || partial > 0 ? KW_WAL_REPLAY_INDEX_PARTIAL
                                                 : KW_WAL_REPLAY_INDEX_FALLBACK;
    if (*note)
        snprintf(r->index_note, sizeof(r->index_note), "%s", note);
    else
        snprintf(r->index_note, sizeof(r->index_note), "index used: %zu range(s) to fetch", m);
    pthread_mutex_unlock(&r->mu);
    return 0;
}

/* ListOffsets, earliest then last stable, then the first fetch. */
static int build_list(void *arg, int version, int32_t leader_epoch, const void **req)
{
    kreplay *r = arg;
    r->lp = (kw_list_offsets_req_partition){.partition_index = 0,
                                            .current_leader_epoch = leader_epoch,
                                            .timestamp = r->log_start < 0 ? -2 : -1,
                                            .max_num_offsets = 1};
    r->lt = (kw_list_offsets_req_topic){.name = kw_str_c(r->topic)};
    r->lt.partitions.v = &r->lp;
    r->lt.partitions.n = 1;
    kw__schema_init(kw__api(KW_API_LIST_OFFSETS)->req, version, &r->lreq);
    r->lreq.replica_id = -1;
    r->lreq.isolation_level = 1;
    r->lreq.timeout_ms = (int32_t)r->k->o.timeout_ms;
    r->lreq.topics.v = &r->lt;
    r->lreq.topics.n = 1;
    *req = &r->lreq;
    return 0;
}

static void list_done(const kw_cluster_result *res, void *arg)
{
    kreplay *r = arg;
    if (closed_while_out(r))
        return;
    kw_wal_kafka *k = r->k;
    if (res->err) {
        set_err(r, res->err, "replay of region %llu: ListOffsets on %s: %s",
                (unsigned long long)r->region_id, r->topic,
                res->detail && *res->detail ? res->detail : kw_strerror(res->err));
        return;
    }
    const kw_list_offsets_resp *lr = res->resp;
    int64_t off = lr->topics.v[0].partitions.v[0].offset;
    if (r->log_start < 0) {
        r->log_start = off;
        pthread_mutex_lock(&r->mu);
        r->fetch_out = true;
        pthread_mutex_unlock(&r->mu);
        if (kw__cluster_send_partition(k->cl, KW_API_LIST_OFFSETS, r->topic, 0, build_list, r,
                                       kw__wal_kafka_deadline(k->o.timeout_ms), list_done,
                                       r) != 0 &&
            !closed_while_out(r))
            set_err(r, KW_ENOMEM, "replay: cannot send ListOffsets");
        return;
    }
    if (!r->follow)
        r->end = off;
    /* Judged per region: each one's start may have been pruned. */
    const kw_wal_region_set *set = r->set;
    for (size_t i = 0; i < set->n; i++) {
        if ((int64_t)set->froms[i] >= r->log_start)
            continue;
        if (!k->o.overwrite_entry_start_id) {
            set_err(r, KW_ENOTFOUND,
                    "region %llu: entry id %lld was pruned from %s: the log starts at offset %lld "
                    "(set overwrite_entry_start_id to replay from there)",
                    (unsigned long long)set->ids[i], (long long)set->froms[i], r->topic,
                    (long long)r->log_start);
            return;
        }
        kw__wal_kafka_log(k, KW_LOG_WARN,
                          "region %llu: entry id %lld was pruned from %s: the log starts at "
                          "offset %lld; replaying from there (overwrite_entry_start_id)",
                          (unsigned long long)set->ids[i], (long long)set->froms[i], r->topic,
                          (long long)r->log_start);
    }
    if (r->from < r->log_start)
        r->from = r->log_start;
    r->fetch_offset = r->from;
    if (r->use_index && build_plan(r) != 0) {
        set_err(r, KW_ENOMEM, "replay: out of memory for the index's plan");
        return;
    }
    if (r->use_index)
        r->fetch_offset = r->nplan > 0 ? r->plan[0].start : r->end;
    pthread_mutex_lock(&r->mu);
    r->started = true;
    if (!r->follow && r->fetch_offset >= r->end)
        r->fetch_done = true;
    pthread_cond_broadcast(&r->cond);
    bool go = !r->fetch_done;
    pthread_mutex_unlock(&r->mu);
    if (go)
        send_fetch(r);
}

static int start_run(void *arg)
{
    kreplay *r = arg;
    kw_wal_kafka *k = r->k;
    r->fetch_out = true;
    return kw__cluster_send_partition(k->cl, KW_API_LIST_OFFSETS, r->topic, 0, build_list, r,
                                      kw__wal_kafka_deadline(k->o.timeout_ms), list_done, r);
}

/* ---------------------------------------------------------------- caller side */

int kw__wal_kafka_replay_open(void *p, const kw_wal_region_set *set, unsigned flags, void **out)
{
    kw_wal_kafka *k = p;
    *out = NULL;
    if (set->min_from > INT64_MAX)
        return KW_EINVAL;
    kreplay *r = calloc(1, sizeof(*r));
    if (!r)
        return KW_ENOMEM;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cond, NULL);
    r->k = k;
    r->set = set;
    r->region_id = set->ids[0];
    r->from = (int64_t)set->min_from;
    r->follow = flags & KW_WAL_REPLAY_FOLLOW;
    r->end = INT64_MAX;
    r->log_start = -1;
    kw__wr_init(&r->scratch);
    kw_wal_record_asm_options ao = {.only_region = true,
                                    .region_id = set->ids[0],
                                    .regions = set->n > 1 ? set->ids : NULL,
                                    .nregions = set->n,
                                    .strict = k->o.strict_records};
    kw__wal_record_asm_init(&r->as, &ao);
    r->started_ns = kw__clock_now_ns();
    /* One topic serves the replay: every region must write to it. */
    pthread_mutex_lock(&k->mu);
    ktopic *t = kw__wal_kafka_region_topic(k, set->ids[0]);
    ktopic *other = NULL;
    size_t odd = 0;
    for (size_t i = 1; t && i < set->n && !other; i++) {
        ktopic *u = kw__wal_kafka_region_topic(k, set->ids[i]);
        if (u != t)
            other = u, odd = i;
    }
    if (t && other)
        snprintf(k->errstr, sizeof(k->errstr),
                 "replay of several regions: region %llu writes to %s, region %llu to %s "
                 "(replay regions of one topic together)",
                 (unsigned long long)set->ids[0], t->name, (unsigned long long)set->ids[odd],
                 other ? other->name : "?");
    r->topic = t && !other ? strdup(t->name) : NULL;
    pthread_mutex_unlock(&k->mu);
    if (other) {
        replay_free(r);
        return KW_EINVAL;
    }
    if (!r->topic) {
        replay_free(r);
        return KW_ENOMEM;
    }
    if (k->ix_on && !r->follow) {
        r->found = calloc(set->n, sizeof(*r->found));
        if (!r->found) {
            replay_free(r);
            return KW_ENOMEM;
        }
        int lr = kw__wal_kafka_index_load(k, r->topic, set->ids, set->n, r->found,
                                          &r->index_records_read, r->index_note,
                                          sizeof(r->index_note));
        r->use_index = lr == 0;
        r->index_state = KW_WAL_REPLAY_INDEX_FALLBACK;
        if (lr == KW_EDEADLK) {
            replay_free(r);
            return lr;
        }
    } else {
        snprintf(r->index_note, sizeof(r->index_note), "%s",
                 r->follow ? "FOLLOW replays read the topic" : "no_index");
    }
    r->seen_ok = set->n == 1 && !r->follow && k->ix_on;
    int rc = kw__client_run(k->client, start_run, r);
    if (rc) {
        /* a send that failed left fetch_out set, but nothing of ours is out */
        replay_free(r);
        return rc;
    }
    pthread_mutex_lock(&r->mu);
    while (!r->started && !r->err) {
        int w = kw__wal_kafka_wait(k, &r->mu, &r->cond, NULL);
        if (w && !r->err) { /* EDEADLK cannot happen here: kw__client_run checked */
            r->err = w;
            snprintf(r->errstr, sizeof(r->errstr), "replay: %s", kw_strerror(w));
        }
    }
    rc = r->err;
    pthread_mutex_unlock(&r->mu);
    if (rc) {
        snprintf(k->errstr, sizeof(k->errstr), "%s", r->errstr);
        kw__wal_kafka_replay_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

static void report(kreplay *r, const kw_wal_record_event *ev)
{
    kw_wal_kafka *k = r->k;
    switch (ev->kind) {
    case KW_WAL_REC_DUPLICATE:
        return;
    case KW_WAL_REC_INCOMPLETE:
        r->stats.incomplete_entries++;
        kw__wal_kafka_log(k, KW_LOG_WARN,
                          "region %llu: the entry starting at offset %lld of %s is incomplete "
                          "at the end of the log (%s); skipped",
                          (unsigned long long)ev->region_id, (long long)ev->first_offset, r->topic,
                          ev->why);
        return;
    default:
        r->stats.bad_records++;
        if (k->o.on_bad_record)
            k->o.on_bad_record(k->o.bad_record_arg, r->topic, ev->offset, ev->why);
        return;
    }
}

/* Waits for the next chunk: 1 with r->cur set, 0 at the end, or an error. */
static int next_chunk(kreplay *r, int timeout_ms)
{
    kchunk *done = r->cur;
    r->cur = NULL;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    if (timeout_ms >= 0) {
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
    }
    pthread_mutex_lock(&r->mu);
    if (done && done->mem_cap && !r->spare) {
        /* The decoded chunk's buffer is the spare the next fetch lands in (one is enough: the
         * loop takes it at each response). */
        r->spare = done->mem;
        r->spare_cap = done->mem_cap;
        done->mem = NULL;
    }
    while (!r->qhead && !r->fetch_done && !r->err) {
        int w = kw__wal_kafka_wait(r->k, &r->mu, &r->cond, timeout_ms < 0 ? NULL : &until);
        if (w) { /* KW_ETIMEDOUT, or KW_EDEADLK from a callback of the WAL's client */
            pthread_mutex_unlock(&r->mu);
            chunk_free(done);
            return w;
        }
    }
    int rc = 0;
    if (r->qhead) {
        r->cur = r->qhead;
        r->qhead = r->cur->next;
        if (!r->qhead)
            r->qtail = NULL;
        r->qlen--;
        rc = 1;
    } else if (r->err) {
        rc = r->err;
    }
    bool wake = r->fetch_wanted;
    pthread_mutex_unlock(&r->mu);
    chunk_free(done);
    if (wake)
        kw__loop_post(r->k->loop, resume_run, NULL, r);
    if (rc == 1) {
        if (kw__aborted_merge(&r->aborted, &r->cur->aborted) != 0)
            return KW_ENOMEM;
        kw__batch_iter_init(&r->bit, r->cur->buf, r->cur->len, KW_BATCH_VERIFY_CRC);
        r->in_chunk = true;
    }
    return rc;
}

int kw__wal_kafka_replay_next(void *p, uint64_t *region_id, uint64_t *entry_id,
                              const uint8_t **data, size_t *len, int timeout_ms)
{
    kreplay *r = p;
    kw_wal_kafka *k = r->k;
    for (;;) {
        kw_wal_record_event ev;
        while (kw__wal_record_asm_next(&r->as, &ev)) {
            if (ev.kind != KW_WAL_REC_ENTRY) {
                report(r, &ev);
                continue;
            }
            if (!kw__wal_region_wants(r->set, ev.region_id, ev.entry_id))
                continue;
            if (r->seen_ok) {
                int64_t bend = r->batch.base_offset + r->batch.last_offset_delta + 1;
                uint64_t bytes = ev.first_offset >= r->batch.base_offset ? r->batch.raw_len : 0;
                int64_t a = ev.first_offset < r->batch.base_offset ? ev.first_offset
                                                                   : r->batch.base_offset;
                if (r->seen.n > 0 && r->seen.v[r->seen.n - 1].end >= bend)
                    ; /* another entry in the same batch */
                else if (kw__wal_index_list_add(&r->seen, a, bend, bytes) != 0)
                    r->seen_ok = false;
            }
            r->stats.entries++;
            r->stats.bytes += ev.len;
            pthread_mutex_lock(&k->mu);
            k->stats.replayed_entries++;
            k->stats.replayed_bytes += ev.len;
            pthread_mutex_unlock(&k->mu);
            *region_id = ev.region_id;
            *entry_id = ev.entry_id;
            *data = ev.data;
            *len = ev.len;
            return 1;
        }
        if (r->finished) {
            seed_index(r);
            return 0;
        }
        if (r->in_batch) {
            kw_record rec;
            int rc = kw__record_next(&r->rit, &rec);
            if (rc < 0) {
                snprintf(r->errstr, sizeof(r->errstr), "replay of %s: %s", r->topic,
                         r->rit.errstr);
                return rc;
            }
            if (rc == 0) {
                r->in_batch = false;
                continue;
            }
            if (!r->follow && rec.offset >= r->end) {
                r->in_batch = false;
                r->in_chunk = false;
                kw__wal_record_asm_finish(&r->as);
                r->finished = true;
                continue;
            }
            r->stats.records_read++;
            rc = kw__wal_record_asm_feed(&r->as, rec.offset, rec.key.len >= 0 ? rec.key.ptr : NULL,
                                         rec.key.len >= 0 ? (size_t)rec.key.len : 0,
                                         rec.value.len >= 0 ? rec.value.ptr : NULL,
                                         rec.value.len >= 0 ? (size_t)rec.value.len : 0);
            if (rc == KW_EMALFORMED) {
                /* strict_records: say why (the note is queued), then stop */
                kw_wal_record_event bad;
                while (kw__wal_record_asm_next(&r->as, &bad))
                    if (bad.kind != KW_WAL_REC_ENTRY) {
                        report(r, &bad);
                        snprintf(r->errstr, sizeof(r->errstr),
                                 "region %llu: malformed record at offset %lld of %s: %s "
                                 "(strict_records)",
                                 (unsigned long long)r->region_id, (long long)bad.offset, r->topic,
                                 bad.why);
                    }
                return rc;
            }
            continue;
        }
        if (r->in_chunk) {
            int rc = kw__batch_next(&r->bit, &r->batch);
            if (rc < 0) {
                snprintf(r->errstr, sizeof(r->errstr), "replay of %s: %s", r->topic,
                         r->bit.errstr);
                return rc;
            }
            if (rc == 0) {
                r->in_chunk = false;
                continue;
            }
            if (!r->follow && r->batch.base_offset >= r->end) {
                r->in_chunk = false;
                kw__wal_record_asm_finish(&r->as);
                r->finished = true;
                continue;
            }
            if (kw__batch_is_control(&r->batch)) {
                kw__aborted_end(&r->aborted, &r->batch);
                continue;
            }
            if (kw__batch_is_transactional(&r->batch) &&
                kw__aborted_covers(&r->aborted, &r->batch))
                continue;
            rc = kw__record_iter_init(&r->rit, &r->batch, &r->scratch, 0, r->from);
            if (rc < 0) {
                snprintf(r->errstr, sizeof(r->errstr), "replay of %s at offset %lld: %s", r->topic,
                         (long long)r->batch.base_offset, r->rit.errstr);
                return rc;
            }
            r->in_batch = true;
            continue;
        }
        int rc = next_chunk(r, r->follow ? timeout_ms : -1);
        if (rc < 0) {
            if (rc != KW_ETIMEDOUT) {
                pthread_mutex_lock(&r->mu);
                snprintf(k->errstr, sizeof(k->errstr), "%s", r->errstr);
                pthread_mutex_unlock(&r->mu);
            }
            return rc;
        }
        if (rc == 0) {
            kw__wal_record_asm_finish(&r->as);
            r->finished = true;
        }
    }
}

/* The end reached: a single-region replay knows every record of its region in [from, end). */
static void seed_index(kreplay *r)
{
    if (!r->seen_ok || !r->finished || r->seen.n >= KW_WAL_INDEX_MAX_RANGES)
        return;
    r->seen_ok = false;
    kw__wal_kafka_index_seed(r->k, r->topic, r->set->ids[0], r->from, r->end, &r->seen);
}

void kw__wal_kafka_replay_stats(const void *p, kw_wal_replay_stats *out)
{
    kreplay *r = (kreplay *)p;
    *out = r->stats;
    pthread_mutex_lock(&r->mu);
    out->fetches = r->fetches;
    out->bytes_fetched = r->bytes_fetched;
    out->offsets_skipped = r->offsets_skipped;
    out->index_records_read = r->index_records_read;
    out->index = r->index_state;
    snprintf(out->index_note, sizeof(out->index_note), "%s", r->index_note);
    pthread_mutex_unlock(&r->mu);
}

const char *kw__wal_kafka_replay_errstr(const void *p)
{
    return ((const kreplay *)p)->errstr;
}

static int detach_run(void *arg)
{
    kreplay *r = arg;
    pthread_mutex_lock(&r->mu);
    r->closing = true;
    bool out = r->fetch_out;
    pthread_mutex_unlock(&r->mu);
    /* a request still out frees the replay when its answer (or KW_ECLOSED) comes */
    if (!out)
        replay_free(r);
    return 0;
}

void kw__wal_kafka_replay_close(void *p)
{
    kreplay *r = p;
    if (!r)
        return;
    /* On the loop thread already (a callback): detach here, the loop cannot run it for us. */
    if (kw__client_can_block(r->k->client) != 0)
        detach_run(r);
    else if (kw__client_run(r->k->client, detach_run, r) != 0)
        replay_free(r); /* the client is closed: nothing can be out */
}
