/* Coalesced Produce: calls ready for one broker in the same loop round share one request. */
#include <stdlib.h>
#include <string.h>

#include "net/cluster_int.h"
#include "proto/msg_data.h"

/* Takes a CS_PENDING call out of its broker's pend list. */
void kw__cl_pend_remove(call *k)
{
    broker *b = k->pend_broker;
    if (!b)
        return;
    for (size_t i = 0; i < b->npend; i++)
        if (b->pend[i] == k) {
            memmove(b->pend + i, b->pend + i + 1, (b->npend - i - 1) * sizeof(*b->pend));
            b->npend--;
            break;
        }
    k->pend_broker = NULL;
}

/* Forgets b's pending calls (they stay on the call list, waiting); frees the list. */
void kw__cl_pend_drop(broker *b)
{
    for (size_t i = 0; i < b->npend; i++) {
        b->pend[i]->state = CS_WAIT;
        b->pend[i]->pend_broker = NULL;
    }
    free(b->pend);
    b->pend = NULL;
    b->npend = b->cappend = 0;
}

/*
 * One Produce request carrying several calls' partitions.  topics copies each
 * call's partition list, whose records point at the callers' batches: the
 * connection writes them from there, which is safe because every call's
 * batch lives until its done callback, and that runs only from
 * on_group_response (or kw__cluster_free, after the connections are gone).
 */
typedef struct pgroup {
    kw_cluster *cl;
    size_t n;
    call **calls;
    kw_produce_req req;
    kw_produce_req_topic *topics;
} pgroup;

static void pgroup_free(pgroup *g)
{
    free(g->calls);
    free(g->topics);
    free(g);
}

/* Puts a ready Produce call in its leader's list for this round's flush; false: send it now. */
bool kw__cl_pend_add(broker *b, call *k, int32_t epoch)
{
    kw_cluster *cl = b->cl;
    if (b->npend == b->cappend) {
        size_t cap = b->cappend ? b->cappend * 2 : 16;
        call **p = realloc(b->pend, cap * sizeof(*p));
        if (!p)
            return false;
        b->pend = p;
        b->cappend = cap;
    }
    b->pend[b->npend++] = k;
    k->state = CS_PENDING;
    k->pend_broker = b;
    k->epoch = epoch;
    if (!kw__loop_timer_armed(&cl->flush))
        kw__loop_timer_start(&cl->flush, 0);
    return true;
}

static bool same_partition(const call *a, const call *b)
{
    return a->partition == b->partition && strcmp(a->topic, b->topic) == 0;
}

static uint64_t partition_hash(const char *topic, size_t len, int32_t partition)
{
    return kw__cl_name_hash(topic, len) ^ ((uint64_t)(uint32_t)partition * 0x9E3779B97F4A7C15ull);
}

/* The smallest power of two at least twice n (16 at least). */
static size_t set_cap(size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    return cap;
}

/*
 * The answer's partition for topic/partition: by the index of the answer's topics (idx, cap
 * slots, positions + 1) when there is one, else by a scan.  A topic may come more than once.
 */
static const kw_produce_resp_partition *
answer_find(const kw_produce_resp *full, const uint32_t *idx, const uint64_t *hashes, size_t cap,
            const char *topic, int32_t partition, const kw_produce_resp_topic **in)
{
    size_t len = strlen(topic);
    uint64_t h = idx ? kw__cl_name_hash(topic, len) : 0;
    size_t mask = cap - 1;
    size_t j = idx ? (size_t)h & mask : 0;
    for (int32_t s = 0; idx ? idx[j] != 0 : s < full->responses.n; s++) {
        int32_t t = idx ? (int32_t)idx[j] - 1 : s;
        j = (j + 1) & mask;
        const kw_produce_resp_topic *ft = &full->responses.v[t];
        if ((idx && hashes[t] != h) || ft->name.len < 0 || (size_t)ft->name.len != len ||
            memcmp(ft->name.ptr, topic, len) != 0)
            continue;
        for (int32_t p = 0; p < ft->partition_responses.n; p++)
            if (ft->partition_responses.v[p].index == partition) {
                *in = ft;
                return &ft->partition_responses.v[p];
            }
    }
    return NULL;
}

/* Each call's partition as the answer it would have had alone (a view into the full one). */
static void group_answered(pgroup *g, int version, const uint8_t *frame, size_t len,
                           const kw_produce_resp *full)
{
    /* An index of the answer's topics by name: one lookup per call, not a scan (1,000+ topics). */
    size_t nt = full->responses.n > 0 ? (size_t)full->responses.n : 0;
    size_t cap = set_cap(nt);
    uint32_t *idx = nt > 8 ? calloc(cap, sizeof(*idx)) : NULL;
    uint64_t *hashes = idx ? malloc(nt * sizeof(*hashes)) : NULL;
    if (!hashes) {
        free(idx);
        idx = NULL; /* no memory: scan */
    }
    for (size_t t = 0; idx && t < nt; t++) {
        const kw_produce_resp_topic *ft = &full->responses.v[t];
        hashes[t] = ft->name.len >= 0 ? kw__cl_name_hash(ft->name.ptr, (size_t)ft->name.len) : 0;
        size_t j = (size_t)hashes[t] & (cap - 1);
        while (idx[j])
            j = (j + 1) & (cap - 1);
        idx[j] = (uint32_t)(t + 1);
    }
    for (size_t i = 0; i < g->n; i++) {
        call *k = g->calls[i];
        kw_produce_resp one = *full;
        kw_produce_resp_topic topic = {0};
        const kw_produce_resp_topic *ft = NULL;
        const kw_produce_resp_partition *fp =
            answer_find(full, idx, hashes, cap, k->topic, k->partition, &ft);
        one.responses.v = &topic;
        one.responses.n = 0;
        if (fp) {
            topic = *ft;
            topic.partition_responses.v = (kw_produce_resp_partition *)fp; /* a view, not changed */
            topic.partition_responses.n = 1;
            one.responses.n = 1;
        }
        if (!one.responses.n) {
            snprintf(k->detail, sizeof(k->detail),
                     "Produce response from node %d has no answer for %s/%d", k->node_id, k->topic,
                     k->partition);
            k->state = CS_WAIT;
            kw__cl_call_fail(k, KW_EMALFORMED, 0);
            continue;
        }
        kw__cl_call_answered(k, version, frame, len, &one);
    }
    free(idx);
    free(hashes);
}

static void on_group_response(int err, const uint8_t *frame, size_t len, int version, void *arg)
{
    pgroup *g = arg;
    kw_cluster *cl = g->cl;
    if (cl->closing) { /* kw__cluster_free fails the calls itself */
        pgroup_free(g);
        return;
    }
    if (err || !frame) {
        for (size_t i = 0; i < g->n; i++)
            kw__cl_call_conn_failed(g->calls[i], err ? err : KW_EMALFORMED);
        pgroup_free(g);
        return;
    }
    kw_arena a;
    kw__arena_init(&a, cl->opt.conn.max_frame_size ? cl->opt.conn.max_frame_size : 0);
    kw_produce_resp resp;
    int rc = kw__conn_decode(frame, len, KW_API_PRODUCE, version, &a, &resp);
    if (rc) {
        for (size_t i = 0; i < g->n; i++) {
            call *k = g->calls[i];
            snprintf(k->detail, sizeof(k->detail), "Produce response from node %d: %s", k->node_id,
                     kw_strerror(rc));
            k->state = CS_WAIT;
            kw__cl_call_fail(k, rc, 0);
        }
    } else {
        group_answered(g, version, frame, len, &resp);
    }
    kw__arena_reset(&a);
    pgroup_free(g);
}

/*
 * Sends calls[0..n) (distinct partitions, all for b) as one Produce.  A call whose
 * request cannot join (more than one partition, other acks, a transactional id) goes
 * alone.
 */
static void send_group(broker *b, call **calls, size_t n)
{
    kw_cluster *cl = b->cl;
    int ver = kw__conn_versions(b->conn)->v[KW_API_PRODUCE];
    pgroup *g = calloc(1, sizeof(*g));
    if (g) {
        g->calls = calloc(n, sizeof(*g->calls));
        g->topics = calloc(n, sizeof(*g->topics));
    }
    if (ver < 0 || !g || !g->calls || !g->topics) {
        if (g)
            pgroup_free(g);
        for (size_t i = 0; i < n; i++)
            kw__cl_call_send(calls[i], b, calls[i]->epoch);
        return;
    }
    g->cl = cl;
    uint64_t deadline = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        call *k = calls[i];
        const kw_produce_req *req = NULL;
        int rc = k->build(k->build_arg, ver, k->epoch, (const void **)&req);
        if (rc) {
            snprintf(k->detail, sizeof(k->detail), "building the request: %s", kw_strerror(rc));
            kw__cl_call_fail(k, rc, 0);
            continue;
        }
        bool fits = req->topic_data.n == 1 && req->topic_data.v[0].partition_data.n == 1 &&
                    req->transactional_id.len < 0 && req->acks != 0 &&
                    (g->n == 0 || req->acks == g->req.acks);
        if (!fits) {
            kw__cl_call_send(k, b, k->epoch); /* builds again: its request must stand alone */
            continue;
        }
        if (g->n == 0)
            g->req = *req;
        g->topics[g->n] = req->topic_data.v[0];
        g->calls[g->n++] = k;
        if (k->deadline_ns < deadline)
            deadline = k->deadline_ns;
    }
    if (g->n == 0) {
        pgroup_free(g);
        return;
    }
    g->req.topic_data.v = g->topics;
    g->req.topic_data.n = (int32_t)g->n;
    for (size_t i = 0; i < g->n; i++) {
        g->calls[i]->attempts++;
        g->calls[i]->node_id = b->node_id;
        g->calls[i]->conn = b->conn;
        g->calls[i]->state = CS_SENT;
    }
    if (g->n > 1) {
        cl->coalesced_requests++;
        cl->coalesced_calls += g->n;
    }
    int rc = kw__conn_send(b->conn, KW_API_PRODUCE, ver, &g->req,
                           kw__cluster_attempt_deadline(cl, KW_API_PRODUCE, deadline),
                           on_group_response, g);
    if (rc == 0) {
        __atomic_fetch_add(&cl->produce_requests, 1, __ATOMIC_RELAXED);
        return;
    }
    for (size_t i = 0; i < g->n; i++) {
        call *k = g->calls[i];
        k->state = CS_WAIT;
        if (rc == KW_ECLOSED || rc == KW_EAGAIN) {
            kw__cl_call_retry(k, true);
        } else {
            snprintf(k->detail, sizeof(k->detail), "%s", kw__conn_errstr(b->conn));
            kw__cl_call_fail(k, rc, 0);
        }
    }
    pgroup_free(g);
}

/* Sends b's pending Produce calls: as few requests as there are calls for one partition. */
static void flush_broker(broker *b)
{
    kw_cluster *cl = b->cl;
    if (!b->conn || !kw__conn_ready(b->conn)) {
        /* the connection went away since: step them again (they reconnect, or retry) */
        for (size_t i = 0; i < b->npend; i++) {
            b->pend[i]->state = CS_WAIT;
            b->pend[i]->pend_broker = NULL;
        }
        b->npend = 0;
        kw__cl_kick(cl);
        return;
    }
    while (b->npend > 0) {
        size_t n = b->npend, take = 0, keep = 0;
        call **group = malloc(n * sizeof(*group));
        if (!group) { /* no memory to group: one request each */
            while (b->npend > 0) {
                call *k = b->pend[0];
                kw__cl_pend_remove(k);
                k->state = CS_WAIT;
                kw__cl_call_send(k, b, k->epoch);
            }
            return;
        }
        /* oldest first; a second call for a partition waits for the next request (a set of
         * the partitions taken finds it: a round may carry 1,000+ of them) */
        size_t cap = set_cap(n);
        call **seen = n > 8 ? calloc(cap, sizeof(*seen)) : NULL;
        for (size_t i = 0; i < n; i++) {
            call *k = b->pend[i];
            bool dup = false;
            if (seen) {
                size_t j = (size_t)partition_hash(k->topic, strlen(k->topic), k->partition) &
                           (cap - 1);
                for (; seen[j] && !dup; j = (j + 1) & (cap - 1))
                    dup = same_partition(seen[j], k);
                if (!dup)
                    seen[j] = k;
            } else {
                for (size_t j = 0; j < take && !dup; j++)
                    dup = same_partition(group[j], k);
            }
            if (dup)
                b->pend[keep++] = k;
            else
                group[take++] = k;
        }
        free(seen);
        b->npend = keep;
        for (size_t i = 0; i < take; i++) {
            group[i]->pend_broker = NULL;
            group[i]->state = CS_WAIT;
        }
        send_group(b, group, take);
        free(group);
    }
}

void kw__cl_on_flush(kw_loop_timer *t, void *arg)
{
    (void)t;
    kw_cluster *cl = arg;
    for (size_t i = 0; i < cl->nnodes; i++)
        if (cl->nodes[i]->npend)
            flush_broker(cl->nodes[i]);
    for (size_t i = 0; i < cl->nbootstrap; i++)
        if (cl->bootstrap[i].npend)
            flush_broker(&cl->bootstrap[i]);
}

void kw__cluster_coalesce_produce(kw_cluster *cl)
{
    cl->opt.coalesce_produce = true;
}

void kw__cluster_produce_attempt(kw_cluster *cl, uint32_t ms)
{
    if (ms && (!cl->opt.produce_attempt_ms || ms < cl->opt.produce_attempt_ms))
        cl->opt.produce_attempt_ms = ms;
}

uint64_t kw__cluster_attempt_deadline(kw_cluster *cl, int api_key, uint64_t deadline_ns)
{
    if (api_key != KW_API_PRODUCE || !cl->opt.produce_attempt_ms)
        return deadline_ns;
    uint64_t at = kw__cl_now_ns(cl) + (uint64_t)cl->opt.produce_attempt_ms * 1000000u;
    return at < deadline_ns ? at : deadline_ns;
}

void kw__cluster_coalesced(const kw_cluster *cl, uint64_t *requests, uint64_t *calls)
{
    *requests = cl->coalesced_requests;
    *calls = cl->coalesced_calls;
}

uint64_t kw__cluster_produce_requests(const kw_cluster *cl)
{
    return __atomic_load_n(&cl->produce_requests, __ATOMIC_RELAXED);
}
