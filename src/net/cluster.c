/* The cluster layer: bootstrap list, metadata cache, one connection per node id, routed calls with retries. */
#include "net/cluster.h"
#include "net/cluster_int.h"
#include "net/coord.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/kerr.h"
#include "proto/msg_data.h"
#include "net/log.h"

/*
 * Design: every unfinished call sits on one list with a small state machine
 * (call_step).  Events that can unblock calls (a connection READY or CLOSED,
 * a Metadata response) never step calls directly: they arm the cluster's
 * zero-delay "kick" timer, and the kick steps every waiting call on the next
 * loop round.  That keeps all callbacks out of kw_conn's own call stacks and
 * out of the kw__cluster_* call that started the work.
 */


static void call_step(call *k);
static void fail_waiting(kw_cluster *cl, int err, const char *detail);
static void fail_node_waiting(kw_cluster *cl, int32_t node_id, int err);
static void step_waiting(kw_cluster *cl);

/* ---------------------------------------------------------------- helpers */

static uint64_t now_ns(kw_cluster *cl)
{
    return kw__loop_update_time(cl->loop);
}

/* Wakes the waiting calls at `at` (0 = next round); an earlier wake-up already set stays. */
static void kick_at(kw_cluster *cl, uint64_t at)
{
    if (cl->closing)
        return;
    if (kw__loop_timer_armed(&cl->kick) && cl->kick_at <= at)
        return;
    cl->kick_at = at;
    kw__loop_timer_start_at(&cl->kick, at);
}

void kw__cl_kick(kw_cluster *cl)
{
    kick_at(cl, 0);
}

static uint64_t backoff_ns(kw_cluster *cl, unsigned n);

uint64_t kw__cl_now_ns(kw_cluster *cl)
{
    return now_ns(cl);
}

uint64_t kw__cl_backoff_ns(kw_cluster *cl, unsigned n)
{
    return backoff_ns(cl, n);
}

/* Exponential backoff with +-20% jitter, in ns. */
static uint64_t backoff_ns(kw_cluster *cl, unsigned n)
{
    uint64_t ms = cl->opt.backoff_ms;
    for (unsigned i = 0; i < n && ms < cl->opt.backoff_max_ms; i++)
        ms *= 2;
    if (ms > cl->opt.backoff_max_ms)
        ms = cl->opt.backoff_max_ms;
    /* xorshift64: per cluster, no global state */
    uint64_t x = cl->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    cl->rng = x;
    uint64_t span = ms * 2 / 5 + 1; /* 40% of ms */
    return (ms - ms / 5 + x % span) * 1000000u;
}

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

static void conn_log(kw_cluster *cl, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void conn_log(kw_cluster *cl, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kw__vlog(cl->opt.conn.log, cl->opt.conn.log_arg, level, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- cache */

static topic_info *topic_find(const kw_cluster *cl, const char *name, size_t len)
{
    if (!cl->cap_idx)
        return NULL;
    uint64_t h = kw__cl_name_hash(name, len);
    size_t mask = cl->cap_idx - 1;
    for (size_t j = (size_t)h & mask; cl->topic_idx[j]; j = (j + 1) & mask) {
        topic_info *t = &cl->topics[cl->topic_idx[j] - 1];
        if (t->hash == h && t->len == len && memcmp(t->name, name, len) == 0)
            return t;
    }
    return NULL;
}

/* Puts topics[i] in the index (which has room). */
static void topic_index_put(uint32_t *idx, size_t cap, const topic_info *t, size_t i)
{
    size_t mask = cap - 1;
    size_t j = (size_t)t->hash & mask;
    while (idx[j])
        j = (j + 1) & mask;
    idx[j] = (uint32_t)(i + 1);
}

static topic_info *topic_add(kw_cluster *cl, const char *name, size_t len)
{
    topic_info *t = topic_find(cl, name, len);
    if (t)
        return t;
    if (cl->ntopics >= UINT32_MAX - 1)
        return NULL;
    if (cl->ntopics == cl->captopics) {
        size_t cap = cl->captopics ? cl->captopics * 2 : 8;
        topic_info *n = realloc(cl->topics, cap * sizeof(*n));
        if (!n)
            return NULL;
        cl->topics = n;
        cl->captopics = cap;
    }
    if ((cl->ntopics + 1) * 2 > cl->cap_idx) {
        size_t cap = cl->cap_idx ? cl->cap_idx * 2 : 16;
        uint32_t *idx = calloc(cap, sizeof(*idx));
        if (!idx)
            return NULL;
        for (size_t i = 0; i < cl->ntopics; i++)
            topic_index_put(idx, cap, &cl->topics[i], i);
        free(cl->topic_idx);
        cl->topic_idx = idx;
        cl->cap_idx = cap;
    }
    t = &cl->topics[cl->ntopics];
    memset(t, 0, sizeof(*t));
    t->name = dupn(name, len);
    if (!t->name)
        return NULL;
    t->len = len;
    t->hash = kw__cl_name_hash(name, len);
    topic_index_put(cl->topic_idx, cl->cap_idx, t, cl->ntopics);
    cl->ntopics++;
    return t;
}

static broker *node_find(const kw_cluster *cl, int32_t id)
{
    for (size_t i = 0; i < cl->nnodes; i++)
        if (cl->nodes[i]->node_id == id)
            return cl->nodes[i];
    return NULL;
}

static void broker_drop_conn(broker *b)
{
    if (b->conn) {
        kw_conn *c = b->conn;
        b->conn = NULL;
        kw__conn_free(c);
    }
}

static void broker_free(broker *b)
{
    kw__cl_pend_drop(b);
    broker_drop_conn(b);
    free(b->host);
    free(b->rack);
}

/* ---------------------------------------------------------------- connections */

static void on_conn_state(kw_conn *c, int state, int err, const char *detail, void *arg)
{
    broker *b = arg;
    kw_cluster *cl = b->cl;
    if (state == KW_CONN_READY) {
        b->failures = 0;
        step_waiting(cl); /* now, so the calls that waited go out oldest first (see above) */
        return;
    } else {
        conn_log(cl, KW_LOG_INFO, "cluster: connection to %s (node %d) closed: %s",
                 kw__conn_peer(c), b->node_id, detail ? detail : "");
        snprintf(cl->errstr, sizeof(cl->errstr), "%s", detail ? detail : "");
        b->conn = NULL;
        b->failures++;
        b->next_try_ns = now_ns(cl) + backoff_ns(cl, b->failures - 1);
        kw__conn_free(c);
        /* A lost connection may mean a leader moved: refresh before the next routed send.  Calls
         * never sent (node_id -1) may be waiting for this very connection: they refresh too, or
         * they would wait for a stopped leader until their deadline. */
        cl->md_next_ns = 0;
        for (call *k = cl->calls; k; k = k->next)
            if (k->kind == CALL_PARTITION && (k->node_id == b->node_id || k->node_id < 0) &&
                k->state == CS_WAIT)
                k->md_want = cl->md_seq_sent + 1;
        /* Every connection shares the credentials and the TLS setup, so an authentication or
         * certificate failure would only repeat until the deadline: say it to the waiting calls
         * now, as the Java client does.  A later call tries again (after the backoff). */
        if (err == KW_ESASL || err == KW_ETLS)
            fail_waiting(cl, err, cl->errstr); /* detail died with the connection */
        else
            fail_node_waiting(cl, b->node_id, err);
    }
    kw__cl_kick(cl);
}

/* Starts connecting b unless it is connecting, in backoff, or the cluster closes. 0 or an error. */
static int broker_connect(kw_cluster *cl, broker *b)
{
    if (b->conn || cl->closing)
        return 0;
    if (now_ns(cl) < b->next_try_ns) {
        kick_at(cl, b->next_try_ns);
        return 0;
    }
    kw_conn_options o = cl->opt.conn;
    o.host = b->host;
    o.port = b->port;
    o.on_state = on_conn_state;
    o.state_arg = b;
    int rc = kw__conn_new(&b->conn, cl->loop, &o);
    if (rc) {
        b->conn = NULL;
        return rc;
    }
    return 0;
}

/* A READY connection to any broker: known nodes first, then the bootstrap list.  Starts one if none. */
static broker *any_ready(kw_cluster *cl)
{
    for (size_t i = 0; i < cl->nnodes; i++)
        if (cl->nodes[i]->conn && kw__conn_ready(cl->nodes[i]->conn))
            return cl->nodes[i];
    for (size_t i = 0; i < cl->nbootstrap; i++)
        if (cl->bootstrap[i].conn && kw__conn_ready(cl->bootstrap[i].conn))
            return &cl->bootstrap[i];
    /* Nothing ready: is something connecting? */
    for (size_t i = 0; i < cl->nnodes; i++)
        if (cl->nodes[i]->conn)
            return NULL;
    for (size_t i = 0; i < cl->nbootstrap; i++)
        if (cl->bootstrap[i].conn)
            return NULL;
    /* Known nodes first (the bootstrap list may be stale), then the bootstrap entries in turn:
     * an unreachable entry has its own backoff, so the next one is tried at once. */
    uint64_t now = now_ns(cl);
    for (size_t i = 0; i < cl->nnodes; i++)
        if (now >= cl->nodes[i]->next_try_ns) {
            broker_connect(cl, cl->nodes[i]);
            return NULL;
        }
    for (size_t n = 0; n < cl->nbootstrap; n++) {
        broker *b = &cl->bootstrap[(cl->bs_next + n) % cl->nbootstrap];
        if (now >= b->next_try_ns) {
            cl->bs_next = (cl->bs_next + n + 1) % cl->nbootstrap;
            broker_connect(cl, b);
            return NULL;
        }
    }
    /* Everything in backoff: wake at the earliest. */
    uint64_t first = UINT64_MAX;
    for (size_t i = 0; i < cl->nnodes; i++)
        if (cl->nodes[i]->next_try_ns < first)
            first = cl->nodes[i]->next_try_ns;
    for (size_t i = 0; i < cl->nbootstrap; i++)
        if (cl->bootstrap[i].next_try_ns < first)
            first = cl->bootstrap[i].next_try_ns;
    if (first != UINT64_MAX)
        kick_at(cl, first);
    return NULL;
}

/* ---------------------------------------------------------------- metadata */

static void md_apply(kw_cluster *cl, const kw_metadata_resp *r)
{
    /* Brokers: keep the connection of a node whose address did not change. */
    for (int32_t i = 0; i < r->brokers.n; i++) {
        const kw_metadata_resp_broker *mb = &r->brokers.v[i];
        if (mb->host.len < 0 || mb->port <= 0 || mb->port > 65535)
            continue;
        broker *b = node_find(cl, mb->node_id);
        if (b && (!kw_str_eq(mb->host, b->host) || b->port != mb->port)) {
            broker_drop_conn(b);
            free(b->host);
            b->host = NULL;
        }
        if (!b) {
            if (cl->nnodes == cl->capnodes) {
                size_t cap = cl->capnodes ? cl->capnodes * 2 : 8;
                broker **n = realloc(cl->nodes, cap * sizeof(*n));
                if (!n)
                    continue;
                cl->nodes = n;
                cl->capnodes = cap;
            }
            b = calloc(1, sizeof(*b));
            if (!b)
                continue;
            b->cl = cl;
            b->node_id = mb->node_id;
            cl->nodes[cl->nnodes++] = b;
        }
        if (!b->host)
            b->host = dupn(mb->host.ptr, (size_t)mb->host.len);
        b->port = (uint16_t)mb->port;
        free(b->rack);
        b->rack = mb->rack.len >= 0 ? dupn(mb->rack.ptr, (size_t)mb->rack.len) : NULL;
    }
    cl->controller_id = r->controller_id;
    for (int32_t i = 0; i < r->topics.n; i++) {
        const kw_metadata_resp_topic *mt = &r->topics.v[i];
        if (mt->name.len < 0)
            continue;
        topic_info *t = topic_add(cl, mt->name.ptr, (size_t)mt->name.len);
        if (!t)
            continue;
        t->known = true;
        t->err = mt->error_code;
        t->id = mt->error_code ? (kw_uuid){{0}} : mt->topic_id;
        int32_t max = -1;
        for (int32_t j = 0; j < mt->partitions.n; j++)
            if (mt->partitions.v[j].partition_index > max)
                max = mt->partitions.v[j].partition_index;
        part_info *p = max >= 0 ? calloc((size_t)max + 1, sizeof(*p)) : NULL;
        if (max >= 0 && !p)
            continue;
        for (int32_t j = 0; j <= max; j++)
            p[j] = (part_info){.leader = -1, .epoch = -1, .err = KW_KERR_UNKNOWN_TOPIC_OR_PARTITION};
        for (int32_t j = 0; j < mt->partitions.n; j++) {
            const kw_metadata_resp_partition *mp = &mt->partitions.v[j];
            if (mp->partition_index < 0)
                continue;
            p[mp->partition_index] = (part_info){
                .leader = mp->leader_id, .epoch = mp->leader_epoch, .err = mp->error_code};
        }
        free(t->parts);
        t->parts = p;
        t->nparts = max + 1;
    }
}

static void on_md_response(int err, const uint8_t *frame, size_t len, int version, void *arg)
{
    kw_cluster *cl = arg;
    if (cl->closing)
        return;
    cl->md_inflight = false;
    if (!err) {
        kw_arena a;
        kw__arena_init(&a, cl->opt.conn.max_frame_size ? cl->opt.conn.max_frame_size : 0);
        kw_metadata_resp r;
        err = kw__conn_decode(frame, len, KW_API_METADATA, version, &a, &r);
        if (!err) {
            md_apply(cl, &r);
            cl->md_ok++;
            cl->md_failures = 0;
        } else {
            snprintf(cl->errstr, sizeof(cl->errstr), "Metadata response: %s", kw_strerror(err));
        }
        kw__arena_reset(&a);
    }
    if (err) {
        cl->md_failures++;
        cl->md_next_ns = now_ns(cl) + backoff_ns(cl, cl->md_failures - 1);
    }
    /* Only an applied response satisfies the calls waiting for one; after a failure they ask
     * again (md_request honours md_next_ns, so that is after a backoff). */
    if (!err)
        cl->md_seq_done = cl->md_seq_sent;
    /* Now, not on a kick: a call made meanwhile has its first step already queued and would
     * otherwise overtake the older calls that waited for this response (produce order). */
    step_waiting(cl);
}

/* Makes sure a Metadata request numbered >= want is on its way.  Loop-round safe: only sends. */
static void md_request(kw_cluster *cl)
{
    if (cl->md_inflight || cl->closing)
        return;
    uint64_t now = now_ns(cl);
    if (now < cl->md_next_ns) {
        kick_at(cl, cl->md_next_ns);
        return;
    }
    broker *b = any_ready(cl);
    if (!b)
        return;
    int ver = kw__conn_versions(b->conn)->v[KW_API_METADATA];
    kw_metadata_req req;
    kw__schema_init(kw__api(KW_API_METADATA)->req, ver < 0 ? 0 : ver, &req);
    size_t n = 0;
    for (size_t i = 0; i < cl->ntopics; i++)
        n += cl->topics[i].followed;
    kw_metadata_req_topic *ts = n ? calloc(n, sizeof(*ts)) : NULL;
    if (n && !ts)
        return;
    n = 0;
    for (size_t i = 0; i < cl->ntopics; i++)
        if (cl->topics[i].followed) {
            ts[n++].name = kw_str_c(cl->topics[i].name);
            cl->topics[i].md_asked = cl->md_seq_sent + 1; /* this request's number, if it goes */
        }
    req.topics.v = ts;
    req.topics.n = (int32_t)n;
    req.allow_auto_topic_creation = false;
    uint64_t deadline = now + (uint64_t)(cl->opt.conn.connect_timeout_ms ? cl->opt.conn.connect_timeout_ms
                                                                          : 10000) *
                                  1000000u;
    int rc = kw__conn_send(b->conn, KW_API_METADATA, -1, &req, deadline, on_md_response, cl);
    free(ts);
    if (rc) {
        snprintf(cl->errstr, sizeof(cl->errstr), "Metadata to %s: %s", kw__conn_peer(b->conn),
                 kw_strerror(rc));
        cl->md_failures++;
        cl->md_next_ns = now + backoff_ns(cl, cl->md_failures - 1);
        kick_at(cl, cl->md_next_ns);
        return;
    }
    cl->md_inflight = true;
    cl->md_seq_sent++;
}

/* ---------------------------------------------------------------- calls */

static void call_unlink(call *k)
{
    kw_cluster *cl = k->cl;
    kw__cl_pend_remove(k);
    if (k->prev)
        k->prev->next = k->next;
    else
        cl->calls = k->next;
    if (k->next)
        k->next->prev = k->prev;
    else
        cl->calls_tail = k->prev;
    k->next = k->prev = NULL;
}

static void call_finish(call *k, kw_cluster_result *res)
{
    kw__loop_timer_stop(&k->timer);
    call_unlink(k);
    res->attempts = k->attempts;
    if (!res->detail)
        res->detail = k->detail;
    k->done(res, k->done_arg);
    free(k);
}

void kw__cl_call_fail(call *k, int err, int16_t kerr)
{
    kw_cluster_result res = {.err = err, .kerr = kerr, .version = -1, .node_id = -1};
    call_finish(k, &res);
}

static void fail_waiting(kw_cluster *cl, int err, const char *detail)
{
    call *k = cl->calls, *last = cl->calls_tail;
    while (k) {
        call *next = k->next;
        bool end = k == last;
        if (k->state == CS_WAIT) {
            snprintf(k->detail, sizeof(k->detail), "%s", detail ? detail : kw_strerror(err));
            kw__cl_call_fail(k, err, 0);
        }
        if (end)
            break;
        k = next;
    }
}

/*
 * The connection to node_id closed before it could carry the node calls waiting for it: end
 * them (a node call never moves to another broker, and its caller, e.g. the coordinator
 * lookup, is the one who knows where to go instead).
 */
static void fail_node_waiting(kw_cluster *cl, int32_t node_id, int err)
{
    if (node_id < 0)
        return;
    call *k = cl->calls, *last = cl->calls_tail;
    while (k) {
        call *next = k->next;
        bool end = k == last;
        if (k->kind == CALL_NODE && k->target == node_id && k->state == CS_WAIT &&
            k->md_want <= cl->md_seq_done) {
            snprintf(k->detail, sizeof(k->detail), "node %d: connection closed: %.300s", node_id,
                     cl->errstr[0] ? cl->errstr : kw_strerror(err));
            kw__cl_call_fail(k, err, 0);
        }
        if (end)
            break;
        k = next;
    }
}

static void call_timer(kw_loop_timer *t, void *arg)
{
    (void)t;
    call_step(arg);
}

/* Waits until `at` (or the deadline, whichever is first), then steps again. */
static void call_sleep(call *k, uint64_t at)
{
    kw__loop_timer_start_at(&k->timer, at < k->deadline_ns ? at : k->deadline_ns);
}

static void call_timed_out(call *k)
{
    if (!k->detail[0] && k->cl->errstr[0]) /* never got as far as a send: say what blocked it */
        snprintf(k->detail, sizeof(k->detail), "no broker reachable, last: %.300s",
                 k->cl->errstr);
    size_t n = strlen(k->detail);
    if (n + 1 < sizeof(k->detail))
        snprintf(k->detail + n, sizeof(k->detail) - n, "%sdeadline passed after %u sends",
                 n ? "; " : "", k->attempts);
    if (k->kind == CALL_PARTITION && k->last_kerr) {
        kw__cl_call_fail(k, KW_EBROKER, k->last_kerr);
        return;
    }
    kw__cl_call_fail(k, KW_ETIMEDOUT, 0);
}

/* The partition error the response gives for (topic, partition); 0 when it is not there. */
static int16_t partition_error(const call *k, int version, const void *resp)
{
    switch (k->api_key) {
    case KW_API_PRODUCE: {
        const kw_produce_resp *r = resp;
        for (int32_t i = 0; i < r->responses.n; i++)
            if (kw_str_eq(r->responses.v[i].name, k->topic))
                for (int32_t j = 0; j < r->responses.v[i].partition_responses.n; j++)
                    if (r->responses.v[i].partition_responses.v[j].index == k->partition)
                        return r->responses.v[i].partition_responses.v[j].error_code;
        return 0;
    }
    case KW_API_FETCH: {
        const kw_fetch_resp *r = resp;
        if (r->error_code)
            return r->error_code;
        const kw_fetch_resp_partition *p =
            kw__fetch_resp_find(r, version, k->topic, k->topic_id, k->partition);
        return p ? p->error_code : 0;
    }
    case KW_API_LIST_OFFSETS: {
        const kw_list_offsets_resp *r = resp;
        for (int32_t i = 0; i < r->topics.n; i++)
            if (kw_str_eq(r->topics.v[i].name, k->topic))
                for (int32_t j = 0; j < r->topics.v[i].partitions.n; j++)
                    if (r->topics.v[i].partitions.v[j].partition_index == k->partition)
                        return r->topics.v[i].partitions.v[j].error_code;
        return 0;
    }
    case KW_API_DELETE_RECORDS: {
        const kw_delete_records_resp *r = resp;
        for (int32_t i = 0; i < r->topics.n; i++)
            if (kw_str_eq(r->topics.v[i].name, k->topic))
                for (int32_t j = 0; j < r->topics.v[i].partitions.n; j++)
                    if (r->topics.v[i].partitions.v[j].partition_index == k->partition)
                        return r->topics.v[i].partitions.v[j].error_code;
        return 0;
    }
    }
    return 0;
}

static bool kerr_needs_metadata(int16_t e)
{
    return e == KW_KERR_UNKNOWN_TOPIC_OR_PARTITION || e == KW_KERR_LEADER_NOT_AVAILABLE ||
           e == KW_KERR_NOT_LEADER_OR_FOLLOWER || e == KW_KERR_FENCED_LEADER_EPOCH ||
           e == KW_KERR_UNKNOWN_LEADER_EPOCH || e == KW_KERR_UNKNOWN_TOPIC_ID ||
           e == KW_KERR_INCONSISTENT_TOPIC_ID || e == KW_KERR_FETCH_SESSION_TOPIC_ID_ERROR;
}

/* Schedules the next attempt after a backoff; with a metadata refresh first when asked. */
void kw__cl_call_retry(call *k, bool refresh)
{
    kw_cluster *cl = k->cl;
    k->state = CS_WAIT;
    k->retries++;
    if (refresh)
        k->md_want = cl->md_seq_sent + 1;
    k->not_before_ns = now_ns(cl) + backoff_ns(cl, k->retries - 1);
    call_sleep(k, k->not_before_ns);
}

/* The connection failed under a sent call: retry it (or time it out). */
void kw__cl_call_conn_failed(call *k, int err)
{
    kw_cluster *cl = k->cl;
    k->state = CS_WAIT;
    k->last_err = err;
    snprintf(k->detail, sizeof(k->detail), "node %d: %s", k->node_id, kw_strerror(err));
    if (now_ns(cl) >= k->deadline_ns) {
        call_timed_out(k);
        return;
    }
    if (k->kind == CALL_NODE) { /* that broker only: its caller decides where to go next */
        kw__cl_call_fail(k, err, 0);
        return;
    }
    /* The connection broke: it may or may not have reached the broker; look again. */
    kw__cl_call_retry(k, k->kind == CALL_PARTITION);
}

/* A decoded answer to a sent call: retry a retriable partition error, else end the call. */
void kw__cl_call_answered(call *k, int version, const uint8_t *frame, size_t len,
                          const void *resp)
{
    kw_cluster *cl = k->cl;
    k->state = CS_WAIT;
    kw_cluster_result res = {.version = version, .node_id = k->node_id, .frame = frame,
                             .frame_len = len, .conn = frame ? k->conn : NULL, .resp = resp};
    if (k->kind == CALL_PARTITION) {
        int16_t e = partition_error(k, version, resp);
        if (e && kw__kerr_retriable(e) && now_ns(cl) < k->deadline_ns) {
            k->last_kerr = e;
            k->last_err = KW_EBROKER;
            snprintf(k->detail, sizeof(k->detail), "node %d answered %s", k->node_id,
                     kw__kerr_name(e));
            kw__cl_call_retry(k, kerr_needs_metadata(e));
            return;
        }
        if (e) {
            res.err = KW_EBROKER;
            res.kerr = e;
            snprintf(k->detail, sizeof(k->detail), "%s %s/%d on node %d: %s",
                     kw__api(k->api_key)->name, k->topic, k->partition, k->node_id,
                     kw__kerr_name(e));
        }
    }
    call_finish(k, &res);
}

/* A large enough struct for any response the cluster decodes. */
typedef union any_resp {
    kw_produce_resp p;
    kw_fetch_resp f;
    kw_list_offsets_resp l;
    kw_delete_records_resp d;
    kw_metadata_resp m;
    uint8_t any[1024];
} any_resp;

static void on_call_response(int err, const uint8_t *frame, size_t len, int version, void *arg)
{
    call *k = arg;
    kw_cluster *cl = k->cl;
    if (cl->closing)
        return; /* kw__cluster_free fails the call itself */
    k->state = CS_WAIT;
    if (err) {
        kw__cl_call_conn_failed(k, err);
        return;
    }
    if (!frame) { /* acks=0 produce */
        kw_cluster_result res = {.version = version, .node_id = k->node_id};
        call_finish(k, &res);
        return;
    }
    kw_arena a;
    kw__arena_init(&a, cl->opt.conn.max_frame_size ? cl->opt.conn.max_frame_size : 0);
    any_resp resp;
    const kw_api *api = kw__api(k->api_key);
    if (api->resp->size > sizeof(resp)) {
        snprintf(k->detail, sizeof(k->detail), "%s response too large to decode here", api->name);
        kw__arena_reset(&a);
        kw__cl_call_fail(k, KW_EUNSUPPORTED, 0);
        return;
    }
    int rc = kw__conn_decode(frame, len, k->api_key, version, &a, &resp);
    if (rc) {
        snprintf(k->detail, sizeof(k->detail), "%s response from node %d: %s", api->name,
                 k->node_id, kw_strerror(rc));
        kw__arena_reset(&a);
        kw__cl_call_fail(k, rc, 0);
        return;
    }
    kw__cl_call_answered(k, version, frame, len, &resp);
    kw__arena_reset(&a);
}

void kw__cl_call_send(call *k, broker *b, int32_t epoch)
{
    int ver = kw__conn_versions(b->conn)->v[k->api_key];
    if (ver < 0) {
        char buf[128];
        kw__versions_get(kw__conn_versions(b->conn), k->api_key, buf, sizeof(buf));
        snprintf(k->detail, sizeof(k->detail), "%s: %s", kw__conn_peer(b->conn), buf);
        kw__cl_call_fail(k, KW_EVERSION, 0);
        return;
    }
    if (k->api_key == KW_API_FETCH && k->topic) {
        /* From v13 a Fetch names its topic by id.  The id comes from the cache; one that
         * changed between attempts of this call means the topic was deleted and created
         * again: its offsets are another log's, so the call ends instead of reading them. */
        const topic_info *t = topic_find(k->cl, k->topic, strlen(k->topic));
        kw_uuid id = t ? t->id : (kw_uuid){{0}};
        if (!kw_uuid_is_zero(k->topic_id) && !kw_uuid_is_zero(id) &&
            !kw_uuid_eq(id, k->topic_id)) {
            char was[23], now[23];
            kw__uuid_format(k->topic_id, was);
            kw__uuid_format(id, now);
            snprintf(k->detail, sizeof(k->detail),
                     "topic %s was deleted and created again (topic id %s, now %s)", k->topic, was,
                     now);
            kw__cl_call_fail(k, KW_ENOTFOUND, KW_KERR_UNKNOWN_TOPIC_ID);
            return;
        }
        /* No id known (a Metadata version without them): the name, at v12. */
        if (ver >= 13 && kw_uuid_is_zero(id))
            ver = 12;
        if (!kw_uuid_is_zero(id))
            k->topic_id = id;
    }
    const void *req = NULL;
    int rc = k->build(k->build_arg, ver, epoch, &req);
    if (rc) {
        snprintf(k->detail, sizeof(k->detail), "building the request: %s", kw_strerror(rc));
        kw__cl_call_fail(k, rc, 0);
        return;
    }
    k->attempts++;
    k->node_id = b->node_id;
    k->conn = b->conn;
    k->state = CS_SENT;
    rc = kw__conn_send(b->conn, k->api_key, ver, req,
                       kw__cluster_attempt_deadline(k->cl, k->api_key, k->deadline_ns),
                       on_call_response, k);
    if (rc == 0 && k->api_key == KW_API_PRODUCE)
        __atomic_fetch_add(&k->cl->produce_requests, 1, __ATOMIC_RELAXED);
    if (rc == KW_ECLOSED || rc == KW_EAGAIN) {
        k->state = CS_WAIT;
        kw__cl_call_retry(k, k->kind == CALL_PARTITION);
        return;
    }
    if (rc) {
        k->state = CS_WAIT;
        snprintf(k->detail, sizeof(k->detail), "%s", kw__conn_errstr(b->conn));
        kw__cl_call_fail(k, rc, 0);
    }
}

static void call_step(call *k)
{
    kw_cluster *cl = k->cl;
    if (k->state == CS_SENT || k->state == CS_PENDING)
        return; /* the connection answers (or the round's flush sends it), by the deadline */
    uint64_t now = now_ns(cl);
    if (now >= k->deadline_ns) {
        call_timed_out(k);
        return;
    }
    if (now < k->not_before_ns) {
        call_sleep(k, k->not_before_ns);
        return;
    }
    call_sleep(k, k->deadline_ns); /* whatever we wait for below, the deadline ends it */
    if (k->md_want > cl->md_seq_done) {
        md_request(cl);
        return;
    }
    if (k->kind == CALL_REFRESH) {
        kw_cluster_result res = {.version = -1, .node_id = -1};
        call_finish(k, &res);
        return;
    }
    if (k->kind == CALL_ANY) {
        broker *b = any_ready(cl);
        if (b)
            kw__cl_call_send(k, b, -1);
        return;
    }
    if (k->kind == CALL_NODE) {
        broker *b = node_find(cl, k->target);
        if (!b || !b->host) {
            if (k->refreshes++ == 0) { /* a node the cache does not know yet: ask once */
                k->md_want = cl->md_seq_sent + 1;
                md_request(cl);
                return;
            }
            snprintf(k->detail, sizeof(k->detail), "node %d is not in the cluster's metadata",
                     k->target);
            kw__cl_call_fail(k, KW_ENOTFOUND, 0);
            return;
        }
        if (!b->conn || !kw__conn_ready(b->conn)) {
            snprintf(k->detail, sizeof(k->detail), "waiting for a connection to node %d (%s:%u)",
                     b->node_id, b->host, b->port);
            int rc = broker_connect(cl, b);
            if (rc) {
                snprintf(k->detail, sizeof(k->detail), "connection to %s:%u: %s", b->host,
                         b->port, kw_strerror(rc));
                kw__cl_call_fail(k, rc, 0);
            }
            return; /* READY or CLOSED kicks us */
        }
        kw__cl_call_send(k, b, -1);
        return;
    }
    topic_info *t = topic_find(cl, k->topic, strlen(k->topic));
    int16_t why = 0;
    if (!t || !t->known)
        why = KW_KERR_UNKNOWN_TOPIC_OR_PARTITION;
    else if (t->err)
        why = t->err;
    else if (k->partition >= t->nparts)
        why = KW_KERR_UNKNOWN_TOPIC_OR_PARTITION;
    else if (t->parts[k->partition].leader < 0)
        why = t->parts[k->partition].err ? t->parts[k->partition].err
                                         : KW_KERR_LEADER_NOT_AVAILABLE;
    if (why) {
        if (!kw__kerr_retriable(why)) {
            snprintf(k->detail, sizeof(k->detail), "metadata for %s/%d: %s", k->topic, k->partition,
                     kw__kerr_name(why));
            kw__cl_call_fail(k, KW_EBROKER, why);
            return;
        }
        k->last_kerr = why;
        k->last_err = KW_EBROKER;
        snprintf(k->detail, sizeof(k->detail), "no leader for %s/%d after %u metadata refreshes: %s",
                 k->topic, k->partition, k->refreshes, kw__kerr_name(why));
        k->refreshes++;
        if (t && t->retry_at_ns > now) {
            k->state = CS_WAIT;
            k->retries++;
            k->md_want = cl->md_seq_sent + 1;
            k->not_before_ns = t->retry_at_ns;
            call_sleep(k, k->not_before_ns);
            return;
        }
        kw__cl_call_retry(k, true);
        if (t)
            t->retry_at_ns = k->not_before_ns;
        return;
    }
    part_info *p = &t->parts[k->partition];
    broker *b = node_find(cl, p->leader);
    if (!b || !b->host) {
        k->refreshes++;
        snprintf(k->detail, sizeof(k->detail), "leader %d of %s/%d is not in the broker list",
                 p->leader, k->topic, k->partition);
        kw__cl_call_retry(k, true);
        return;
    }
    if (!b->conn || !kw__conn_ready(b->conn)) {
        snprintf(k->detail, sizeof(k->detail), "waiting for a connection to node %d (%s:%u)",
                 b->node_id, b->host, b->port);
        int rc = broker_connect(cl, b);
        if (rc) {
            snprintf(k->detail, sizeof(k->detail), "connection to %s:%u: %s", b->host, b->port,
                     kw_strerror(rc));
            kw__cl_call_fail(k, rc, 0);
        }
        return; /* READY or CLOSED kicks us */
    }
    if ((cl->opt.coalesce_produce || k->coalesce) && k->api_key == KW_API_PRODUCE &&
        kw__cl_pend_add(b, k, p->epoch))
        return;
    kw__cl_call_send(k, b, p->epoch);
}

static void on_kick(kw_loop_timer *t, void *arg)
{
    (void)t;
    step_waiting(arg);
}

static void step_waiting(kw_cluster *cl)
{
    /* Step every waiting call, oldest first.  A step only unlinks its own call; calls made
     * meanwhile go after `last` and get their own first step. */
    call *k = cl->calls, *last = cl->calls_tail;
    while (k) {
        call *next = k->next;
        bool end = k == last;
        if (k->state == CS_WAIT)
            call_step(k);
        if (end)
            break;
        k = next;
    }
}

static int call_new(kw_cluster *cl, int kind, int api_key, const char *topic, int32_t partition,
                    bool coalesce, kw_cluster_build_fn *build, void *build_arg,
                    uint64_t deadline_ns, kw_cluster_done_fn *done, void *done_arg)
{
    if (!cl || !done || cl->closing)
        return KW_EINVAL;
    /* The topic lives in the same block: one allocation per call on the produce path. */
    size_t tl = topic ? strlen(topic) + 1 : 0;
    call *k = calloc(1, sizeof(*k) + tl);
    if (!k)
        return KW_ENOMEM;
    if (topic) {
        k->topic = memcpy(k + 1, topic, tl);
        topic_info *t = topic_add(cl, topic, tl - 1);
        if (!t) {
            free(k);
            return KW_ENOMEM;
        }
        if (!t->followed) {
            t->followed = true;
            t->known = false; /* not asked for yet: ask */
        }
        /*
         * An unknown topic waits for the first Metadata answer that describes it:
         * the one in flight when that asked for it, else the next.  Not always the
         * next: calls made while the answer is on its way would then wait one more
         * round trip than the calls before them and after them, and go out behind
         * later calls (produce order broken).
         */
        if (kind == CALL_REFRESH)
            k->md_want = cl->md_seq_sent + 1;
        else if (!t->known)
            k->md_want = cl->md_inflight && t->md_asked == cl->md_seq_sent ? cl->md_seq_sent
                                                                             : cl->md_seq_sent + 1;
    } else if (kind == CALL_REFRESH) {
        k->md_want = cl->md_seq_sent + 1;
    }
    k->cl = cl;
    k->kind = kind;
    k->state = CS_WAIT;
    k->api_key = api_key;
    k->partition = partition;
    k->coalesce = coalesce;
    k->build = build;
    k->build_arg = build_arg;
    k->done = done;
    k->done_arg = done_arg;
    k->deadline_ns = deadline_ns;
    k->node_id = -1;
    kw__loop_timer_init(cl->loop, &k->timer, call_timer, k);
    k->prev = cl->calls_tail;
    if (cl->calls_tail)
        cl->calls_tail->next = k;
    else
        cl->calls = k;
    cl->calls_tail = k;
    /* First step on the next loop round, never inside this call. */
    kw__loop_timer_start(&k->timer, 0);
    return 0;
}

int kw__cluster_send_partition(kw_cluster *cl, int api_key, const char *topic, int32_t partition,
                               kw_cluster_build_fn *build, void *build_arg, uint64_t deadline_ns,
                               kw_cluster_done_fn *done, void *done_arg)
{
    if (!topic || !*topic || partition < 0 || !build)
        return KW_EINVAL;
    if (api_key != KW_API_PRODUCE && api_key != KW_API_FETCH && api_key != KW_API_LIST_OFFSETS &&
        api_key != KW_API_DELETE_RECORDS)
        return KW_EINVAL;
    return call_new(cl, CALL_PARTITION, api_key, topic, partition, false, build, build_arg,
                    deadline_ns, done, done_arg);
}

int kw__cluster_send_produce_coalesced(kw_cluster *cl, const char *topic, int32_t partition,
                                       kw_cluster_build_fn *build, void *build_arg,
                                       uint64_t deadline_ns, kw_cluster_done_fn *done,
                                       void *done_arg)
{
    if (!topic || !*topic || partition < 0 || !build)
        return KW_EINVAL;
    return call_new(cl, CALL_PARTITION, KW_API_PRODUCE, topic, partition, true, build, build_arg,
                    deadline_ns, done, done_arg);
}

int kw__cluster_send_any(kw_cluster *cl, int api_key, kw_cluster_build_fn *build, void *build_arg,
                         uint64_t deadline_ns, kw_cluster_done_fn *done, void *done_arg)
{
    if (!build || !kw__api(api_key))
        return KW_EINVAL;
    return call_new(cl, CALL_ANY, api_key, NULL, -1, false, build, build_arg, deadline_ns, done,
                    done_arg);
}

int kw__cluster_send_node(kw_cluster *cl, int32_t node_id, int api_key,
                          kw_cluster_build_fn *build, void *build_arg, uint64_t deadline_ns,
                          kw_cluster_done_fn *done, void *done_arg)
{
    if (!build || !kw__api(api_key) || node_id < 0)
        return KW_EINVAL;
    int rc = call_new(cl, CALL_NODE, api_key, NULL, -1, false, build, build_arg, deadline_ns, done,
                      done_arg);
    if (rc == 0)
        cl->calls_tail->target = node_id;
    return rc;
}

int kw__cluster_refresh(kw_cluster *cl, const char *topic, uint64_t deadline_ns,
                        kw_cluster_done_fn *done, void *done_arg)
{
    return call_new(cl, CALL_REFRESH, KW_API_METADATA, topic, -1, false, NULL, NULL, deadline_ns,
                    done, done_arg);
}

/* ---------------------------------------------------------------- life cycle */

static int parse_bootstrap(kw_cluster *cl, const char *list)
{
    size_t n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    cl->bootstrap = calloc(n, sizeof(*cl->bootstrap));
    if (!cl->bootstrap)
        return KW_ENOMEM;
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len) {
            const char *colon = NULL;
            for (size_t i = len; i-- > 0;)
                if (p[i] == ':') {
                    colon = p + i;
                    break;
                }
            char *endp;
            unsigned long port = colon ? strtoul(colon + 1, &endp, 10) : 0;
            if (!colon || colon == p || endp != p + len || port == 0 || port > 65535) {
                snprintf(cl->errstr, sizeof(cl->errstr),
                         "bootstrap entry \"%.*s\" is not host:port", (int)len, p);
                return KW_ECONFIG;
            }
            const char *h = p;
            size_t hl = (size_t)(colon - p);
            if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') /* [::1]:9092 */
                h++, hl -= 2;
            broker *b = &cl->bootstrap[cl->nbootstrap++];
            b->node_id = -1;
            b->cl = cl;
            b->port = (uint16_t)port;
            b->host = dupn(h, hl);
            if (!b->host)
                return KW_ENOMEM;
        }
        if (!end)
            break;
        p = end + 1;
    }
    if (!cl->nbootstrap) {
        snprintf(cl->errstr, sizeof(cl->errstr), "the bootstrap list is empty");
        return KW_ECONFIG;
    }
    return 0;
}

int kw__cluster_new(kw_cluster **out, kw_loop *loop, const kw_cluster_options *opt)
{
    *out = NULL;
    if (!loop || !opt || !opt->bootstrap)
        return KW_EINVAL;
    kw_cluster *cl = calloc(1, sizeof(*cl));
    if (!cl)
        return KW_ENOMEM;
    cl->loop = loop;
    cl->opt = *opt;
    cl->opt.bootstrap = NULL;
    if (!cl->opt.backoff_ms)
        cl->opt.backoff_ms = 100;
    if (!cl->opt.backoff_max_ms)
        cl->opt.backoff_max_ms = 2000;
    if (cl->opt.backoff_max_ms < cl->opt.backoff_ms)
        cl->opt.backoff_max_ms = cl->opt.backoff_ms;
    /* The caller's strings need not outlive this call: keep copies (SASL is copied by kw_conn). */
    if (opt->conn.client_id && !(cl->client_id = strdup(opt->conn.client_id))) {
        free(cl);
        return KW_ENOMEM;
    }
    cl->opt.conn.client_id = cl->client_id;
    cl->controller_id = -1;
    cl->rng = (uint64_t)(uintptr_t)cl ^ kw__loop_update_time(loop) ^ 0x9e3779b97f4a7c15ull;
    if (!cl->rng)
        cl->rng = 1;
    kw__loop_timer_init(loop, &cl->kick, on_kick, cl);
    kw__loop_timer_init(loop, &cl->flush, kw__cl_on_flush, cl);
    int rc = parse_bootstrap(cl, opt->bootstrap);
    if (rc) {
        if (opt->conn.log)
            opt->conn.log(opt->conn.log_arg, KW_LOG_ERROR, cl->errstr);
        kw__cluster_free(cl);
        return rc;
    }
    *out = cl;
    return 0;
}

void kw__cluster_free(kw_cluster *cl)
{
    if (!cl)
        return;
    cl->closing = true;
    kw__loop_timer_stop(&cl->kick);
    kw__loop_timer_stop(&cl->flush);
    /* Connections first: their callbacks see `closing` and leave the calls alone. */
    for (size_t i = 0; i < cl->nnodes; i++) {
        broker_free(cl->nodes[i]);
        free(cl->nodes[i]);
    }
    for (size_t i = 0; i < cl->nbootstrap; i++)
        broker_free(&cl->bootstrap[i]);
    while (cl->calls) {
        call *k = cl->calls;
        snprintf(k->detail, sizeof(k->detail), "the cluster was closed");
        kw__cl_call_fail(k, KW_ECLOSED, 0);
    }
    kw__coord_close(cl); /* after the calls: their callbacks may end coordinator calls too */
    for (size_t i = 0; i < cl->ntopics; i++) {
        free(cl->topics[i].name);
        free(cl->topics[i].parts);
    }
    free(cl->topics);
    free(cl->topic_idx);
    free(cl->nodes);
    free(cl->bootstrap);
    free(cl->client_id);
    free(cl);
}

const char *kw__cluster_errstr(const kw_cluster *cl)
{
    return cl->errstr;
}

/* ---------------------------------------------------------------- cache accessors */

int kw__cluster_broker(const kw_cluster *cl, int32_t node_id, kw_cluster_broker *out)
{
    broker *b = node_find(cl, node_id);
    if (!b || !b->host)
        return KW_ENOTFOUND;
    *out = (kw_cluster_broker){.node_id = b->node_id, .host = b->host, .port = b->port,
                               .rack = b->rack};
    return 0;
}

size_t kw__cluster_broker_count(const kw_cluster *cl)
{
    return cl->nnodes;
}

int32_t kw__cluster_controller_id(const kw_cluster *cl)
{
    return cl->controller_id;
}

int32_t kw__cluster_partition_count(const kw_cluster *cl, const char *topic, int16_t *kerr)
{
    topic_info *t = topic_find(cl, topic, strlen(topic));
    if (kerr)
        *kerr = t && t->known ? t->err : KW_KERR_UNKNOWN_TOPIC_OR_PARTITION;
    return t && t->known && !t->err ? t->nparts : -1;
}

int kw__cluster_leader(const kw_cluster *cl, const char *topic, int32_t partition,
                       int32_t *leader_id, int32_t *leader_epoch)
{
    topic_info *t = topic_find(cl, topic, strlen(topic));
    if (!t || !t->known || partition < 0 || partition >= t->nparts)
        return KW_ENOTFOUND;
    *leader_id = t->parts[partition].leader;
    *leader_epoch = t->parts[partition].epoch;
    return 0;
}

int kw__cluster_topic_id(const kw_cluster *cl, const char *topic, kw_uuid *id)
{
    topic_info *t = topic ? topic_find(cl, topic, strlen(topic)) : NULL;
    *id = t && t->known ? t->id : (kw_uuid){{0}};
    return kw_uuid_is_zero(*id) ? KW_ENOTFOUND : 0;
}

const char *kw__cluster_topic_name(const kw_cluster *cl, kw_uuid id)
{
    if (kw_uuid_is_zero(id))
        return NULL;
    for (size_t i = 0; i < cl->ntopics; i++)
        if (cl->topics[i].known && kw_uuid_eq(cl->topics[i].id, id))
            return cl->topics[i].name;
    return NULL;
}

uint64_t kw__cluster_refresh_count(const kw_cluster *cl)
{
    return cl->md_ok;
}

