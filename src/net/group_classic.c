/* The classic group protocol on the loop thread: JoinGroup, the leader's assignment, SyncGroup, heartbeats, revocation. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/consumer_int.h"
#include "net/coord.h"
#include "net/group_int.h"
#include "net/group_protocol.h"
#include "proto/kerr.h"

/*
 * The member's life: JOINING (JoinGroup out; a first join is answered
 * MEMBER_ID_REQUIRED and sent again with the id) -> ASSIGNING (the leader:
 * metadata for every subscribed topic, then the assignor) -> SYNCING ->
 * STABLE (heartbeats, auto-commit).  A rebalance starts with a heartbeat
 * answered REBALANCE_IN_PROGRESS: a cooperative member rejoins keeping what
 * it owns; an eager one first gives everything up (REVOKING).  After a
 * cooperative SyncGroup that takes partitions away, the member gives those
 * up (REVOKING: the poll thread drops them from the consumer, their
 * positions are committed, REVOKED runs) and rejoins at once so they can be
 * handed to their new owner.  ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID and a
 * session with no accepted heartbeat for session_timeout_ms lose every
 * partition (LOST) and join again; FENCED_INSTANCE_ID is fatal.
 *
 * Answers are matched to the step that sent them by epoch: whatever ends or
 * restarts a step bumps g->epoch, and an answer from an older epoch is
 * dropped.  All of this runs on the loop thread.
 */

enum {
    BACKOFF_MS = 200,
    BACKOFF_MAX_MS = 5000,
};

kw__group_req *kw__group_req_new(kw_group *g)
{
    kw__group_req *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->g = g;
    r->epoch = g->epoch;
    kw__group_ref(g);
    return r;
}

void kw__group_req_free(kw__group_req *r)
{
    kw_group *g = r->g;
    for (size_t i = 0; i < r->n; i++)
        free((char *)r->offs[i].topic);
    free(r->offs);
    free(r);
    kw__group_unref(g);
}

/* The answer belongs to the current step (and the member is still running). */
bool kw__group_req_current(const kw__group_req *r)
{
    const kw_group *g = r->g;
    return r->epoch == g->epoch && g->state != KW__GROUP_CLOSED && g->state != KW__GROUP_FATAL;
}

uint64_t kw__group_now_ns(kw_group *g)
{
    return kw__loop_now_ns(kw__client_loop(g->client));
}

kw_cluster *kw__group_cluster(kw_group *g)
{
    return kw__client_cluster(g->client);
}

void kw__group_wake_consumer(kw_group *g)
{
    if (g->consumer)
        kw__consumer_wake(g->consumer);
}

char *kw__group_str_copy(kw_str s)
{
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    char *d = malloc(n + 1);
    if (d) {
        if (n)
            memcpy(d, s.ptr, n);
        d[n] = 0;
    }
    return d;
}

void kw__group_set_str(char **dst, char *src)
{
    if (!src)
        return; /* no memory: keep the old value */
    free(*dst);
    *dst = src;
}

void kw__group_emit(kw_group *g, int kind, const kw_group_partition *v, size_t n, int err,
                 int16_t kerr, const char *detail)
{
    if (!g->on_event)
        return;
    kw_group_event ev = {.kind = kind, .generation = g->generation,
                         .member_id = g->member_id ? g->member_id : "", .partitions = v,
                         .count = n, .err = err, .kerr = kerr, .detail = detail ? detail : ""};
    g->on_event(g->event_arg, &ev);
}

int kw__group_part_cmp(const void *a, const void *b)
{
    const kw_group_partition *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

void kw__group_list_free(kw_group_partition *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((char *)v[i].topic);
    free(v);
}

/* mu held: the owned partitions, copied and sorted (NULL with *n 0 when none or no memory). */
kw_group_partition *kw__group_owned_list(kw_group *g, size_t *n)
{
    *n = 0;
    kw_group_partition *v = calloc(g->nparts ? g->nparts : 1, sizeof(*v));
    for (size_t i = 0; v && i < g->nparts; i++)
        if (g->parts[i].owned) {
            char *t = strdup(g->parts[i].topic);
            if (t)
                v[(*n)++] = (kw_group_partition){t, g->parts[i].partition};
        }
    if (v)
        qsort(v, *n, sizeof(*v), kw__group_part_cmp);
    return v;
}

static void tick_arm(kw_group *g);

/* ---------------------------------------------------------------- losing and failing */

/* Every partition owned or being revoked is lost: LOST, a new generation to come. */
void kw__group_lose_all(kw_group *g, const char *why)
{
    g->epoch++;
    size_t n = 0;
    pthread_mutex_lock(&g->mu);
    kw_group_partition *v = kw__group_owned_list(g, &n);
    for (size_t i = 0; i < g->nparts; i++) {
        g->parts[i].owned = false;
        g->parts[i].want = false;
        g->parts[i].fetching = false;
    }
    g->revoke_wait = false;
    kw__group_parts_compact(g);
    pthread_mutex_unlock(&g->mu);
    atomic_store(&g->session_deadline_ns, 0);
    /* Partitions in the middle of a revocation are lost too. */
    kw_group_partition *all = v;
    if (g->nrevoking && v) {
        kw_group_partition *w = realloc(v, (n + g->nrevoking) * sizeof(*w));
        if (w) {
            all = w;
            for (size_t i = 0; i < g->nrevoking; i++) {
                all[n++] = g->revoking[i];
                g->revoking[i].topic = NULL;
            }
            qsort(all, n, sizeof(*all), kw__group_part_cmp);
        }
    }
    kw__group_list_free(g->revoking, g->nrevoking);
    g->revoking = NULL;
    g->nrevoking = 0;
    g->after = KW__GROUP_AFTER_NOTHING;
    g->revoke_polling = false;
    if (n)
        kw__group_log(g, KW_LOG_WARN, "group %s: %zu partitions lost (generation %" PRId32 "): %s",
                      g->group_id, n, g->generation, why);
    kw__group_emit(g, KW_GROUP_LOST, all, n, 0, 0, why);
    kw__group_list_free(all, n);
    g->generation = -1;
    g->leader = false;
    if (g->state != KW__GROUP_CLOSED && g->state != KW__GROUP_FATAL)
        g->state = KW__GROUP_IDLE;
    kw__group_wake_consumer(g);
    kw__group_publish(g);
}

void kw__group_fatal(kw_group *g, int err, int16_t kerr, const char *detail)
{
    kw__group_lose_all(g, detail);
    g->state = KW__GROUP_FATAL;
    kw__group_log(g, KW_LOG_ERROR, "group %s: %s", g->group_id, detail);
    kw__group_emit(g, KW_GROUP_FATAL, NULL, 0, err, kerr, detail);
    kw__group_publish(g);
}

/* A step failed in a way worth retrying: join again after a growing backoff. */
void kw__group_retry_later(kw_group *g, const char *what, int err, int16_t kerr, const char *detail)
{
    g->epoch++;
    g->state = KW__GROUP_IDLE;
    g->rejoin_asked = true;
    unsigned f = g->join_failures < 10 ? g->join_failures : 10;
    g->join_failures++;
    uint64_t ms = (uint64_t)BACKOFF_MS << f;
    if (ms > BACKOFF_MAX_MS)
        ms = BACKOFF_MAX_MS;
    g->backoff_until_ns = kw__group_now_ns(g) + ms * 1000000u;
    kw__group_log(g, KW_LOG_WARN, "group %s: %s failed (%s%s%s), joining again in %" PRIu64 " ms",
                  g->group_id, what, kerr ? kw__kerr_name(kerr) : kw_err_name(err),
                  detail && *detail ? ": " : "", detail ? detail : "", ms);
    kw__group_publish(g);
}

/* ---------------------------------------------------------------- revocation */

static void revoke_finish(kw_group *g)
{
    kw__group_log(g, KW_LOG_INFO, "group %s: revoked %zu partitions (generation %" PRId32 ")",
                  g->group_id, g->nrevoking, g->generation);
    kw__group_emit(g, KW_GROUP_REVOKED, g->revoking, g->nrevoking, 0, 0, NULL);
    kw__group_list_free(g->revoking, g->nrevoking);
    g->revoking = NULL;
    g->nrevoking = 0;
    pthread_mutex_lock(&g->mu);
    kw__group_parts_compact(g);
    pthread_mutex_unlock(&g->mu);
    int after = g->after;
    g->after = KW__GROUP_AFTER_NOTHING;
    g->state = KW__GROUP_STABLE;
    if (after == KW__GROUP_AFTER_REJOIN)
        kw__group_join(g);
    else if (after == KW__GROUP_AFTER_LEAVE)
        kw__group_leave(g, true);
    else
        kw__group_publish(g);
}

static void commit_done(const kw_client_offsets_result *res, void *arg);

/*
 * Commits the positions of partitions (the revoking ones, or every owned one)
 * that moved since their last commit.  Returns true when a commit went out
 * (commit_done follows), false when there was nothing to commit.
 */
static bool commit_positions(kw_group *g, bool revoking)
{
    if (!g->consumer || !g->member_id || g->generation < 0)
        return false;
    kw__group_req *r = kw__group_req_new(g);
    if (!r)
        return false;
    r->revoke = revoking;
    pthread_mutex_lock(&g->mu);
    r->offs = calloc(g->nparts ? g->nparts : 1, sizeof(*r->offs));
    for (size_t i = 0; r->offs && i < g->nparts; i++) {
        kw__group_part *p = &g->parts[i];
        bool in = revoking ? false : p->owned;
        for (size_t j = 0; revoking && j < g->nrevoking; j++)
            in |= p->partition == g->revoking[j].partition &&
                  strcmp(p->topic, g->revoking[j].topic) == 0;
        if (!in || p->position < 0 || p->position == p->committed)
            continue;
        char *t = strdup(p->topic);
        if (t)
            r->offs[r->n++] = (kw_client_committed){.topic = t, .partition = p->partition,
                                                    .offset = p->position, .leader_epoch = -1};
    }
    pthread_mutex_unlock(&g->mu);
    if (!r->n) {
        kw__group_req_free(r);
        return false;
    }
    kw_client_offset_commit_args a = {
        .group = g->group_id,
        .member_id = g->member_id,
        .generation = g->generation,
        .group_instance_id = g->instance_id,
        .offsets = r->offs,
        .count = r->n,
        .timeout_ms = g->timeout_ms,
    };
    if (kw_client_offset_commit_async(g->client, &a, commit_done, r) != 0) {
        kw__group_req_free(r);
        return false;
    }
    g->commits_out++;
    return true;
}

static void revoke_commit(kw_group *g)
{
    if (!(g->auto_commit && commit_positions(g, true)))
        revoke_finish(g);
}

/* Gives up v (owned strings, taken), then does `after`. */
void kw__group_revoke_start(kw_group *g, kw_group_partition *v, size_t n, int after)
{
    g->state = KW__GROUP_REVOKING;
    g->after = after;
    g->revoking = v;
    g->nrevoking = n;
    bool wait = false;
    pthread_mutex_lock(&g->mu);
    for (size_t i = 0; i < n; i++) {
        kw__group_part *p = kw__group_part_find(g, v[i].topic, v[i].partition);
        if (!p)
            continue;
        p->owned = false;
        p->want = false;
        wait |= p->in_consumer;
    }
    if (wait && !g->hook_off)
        g->revoke_wait = true;
    else
        wait = false;
    pthread_mutex_unlock(&g->mu);
    g->revoke_polling = wait;
    kw__group_publish(g);
    if (wait) /* the poll thread drops them at its next poll: kw__group_revoke_applied */
        kw__group_wake_consumer(g);
    else
        revoke_commit(g);
}

void kw__group_revoke_applied(kw_group *g)
{
    if (g->state == KW__GROUP_REVOKING && g->revoke_polling) {
        g->revoke_polling = false;
        revoke_commit(g);
    }
}

/* A rebalance is under way: cooperative members rejoin with what they own, eager ones give all up first. */
void kw__group_rejoin(kw_group *g, const char *why)
{
    kw__group_log(g, KW_LOG_INFO, "group %s: rejoining (%s)", g->group_id, why);
    if (g->state == KW__GROUP_REVOKING) {
        g->after = KW__GROUP_AFTER_REJOIN;
        return;
    }
    if (g->state != KW__GROUP_STABLE)
        return;
    size_t n = 0;
    pthread_mutex_lock(&g->mu);
    kw_group_partition *v = g->cooperative ? NULL : kw__group_owned_list(g, &n);
    pthread_mutex_unlock(&g->mu);
    if (n)
        kw__group_revoke_start(g, v, n, KW__GROUP_AFTER_REJOIN);
    else {
        free(v);
        kw__group_join(g);
    }
}

/* ---------------------------------------------------------------- commits and offsets */

static void commit_done(const kw_client_offsets_result *res, void *arg)
{
    kw__group_req *r = arg;
    kw_group *g = r->g;
    g->commits_out--;
    if (kw__group_req_current(r)) {
        pthread_mutex_lock(&g->mu);
        for (size_t i = 0; i < res->count; i++) {
            if (res->offsets[i].kerr)
                continue;
            kw__group_part *p = kw__group_part_find(g, res->offsets[i].topic,
                                                    res->offsets[i].partition);
            if (p)
                p->committed = res->offsets[i].offset;
        }
        pthread_mutex_unlock(&g->mu);
        if (res->err)
            kw__group_log(g, KW_LOG_WARN, "group %s: commit of %zu offsets failed: %s", g->group_id,
                          r->n, res->detail);
        else
            kw__group_log(g, KW_LOG_DEBUG, "group %s: committed %zu offsets (generation %" PRId32 ")",
                          g->group_id, r->n, g->generation);
        if (g->state == KW__GROUP_CLOSING && res->err)
            g->close_err = res->err;
        if (r->revoke && g->state == KW__GROUP_REVOKING)
            revoke_finish(g);
        else if (g->state == KW__GROUP_CLOSING)
            kw__group_leave(g, true);
    }
    kw__group_req_free(r);
}

static void fetch_done(const kw_client_offsets_result *res, void *arg)
{
    kw__group_req *r = arg;
    kw_group *g = r->g;
    bool current = kw__group_req_current(r);
    pthread_mutex_lock(&g->mu);
    for (size_t i = 0; i < r->n; i++) {
        kw__group_part *p = kw__group_part_find(g, r->offs[i].topic, r->offs[i].partition);
        if (p)
            p->fetching = false;
    }
    for (size_t i = 0; current && i < res->count; i++) {
        const kw_client_committed *o = &res->offsets[i];
        kw__group_part *p = kw__group_part_find(g, o->topic, o->partition);
        if (!p || !p->owned || o->kerr)
            continue;
        p->start = o->offset;
        p->start_known = true;
        p->want = true;
        if (p->committed < 0)
            p->committed = o->offset;
    }
    pthread_mutex_unlock(&g->mu);
    if (current && res->err)
        kw__group_log(g, KW_LOG_WARN, "group %s: fetching committed offsets failed (retried): %s",
                      g->group_id, res->detail);
    if (current)
        kw__group_wake_consumer(g);
    kw__group_req_free(r);
}

/* The committed offsets of owned partitions the consumer does not have a start for yet. */
void kw__group_fetch_starts(kw_group *g)
{
    if (!g->consumer)
        return;
    kw__group_req *r = kw__group_req_new(g);
    if (!r)
        return;
    pthread_mutex_lock(&g->mu);
    r->offs = calloc(g->nparts ? g->nparts : 1, sizeof(*r->offs));
    for (size_t i = 0; r->offs && i < g->nparts; i++) {
        kw__group_part *p = &g->parts[i];
        if (!p->owned || p->start_known || p->fetching)
            continue;
        char *t = strdup(p->topic);
        if (!t)
            continue;
        p->fetching = true;
        r->offs[r->n++] = (kw_client_committed){.topic = t, .partition = p->partition};
    }
    pthread_mutex_unlock(&g->mu);
    kw_client_offset_fetch_args a = {.group = g->group_id, .partitions = r->offs, .count = r->n,
                                     .require_stable = true, .timeout_ms = g->timeout_ms};
    if (!r->n || kw_client_offset_fetch_async(g->client, &a, fetch_done, r) != 0) {
        pthread_mutex_lock(&g->mu);
        for (size_t i = 0; i < r->n; i++) {
            kw__group_part *p = kw__group_part_find(g, r->offs[i].topic, r->offs[i].partition);
            if (p)
                p->fetching = false;
        }
        pthread_mutex_unlock(&g->mu);
        kw__group_req_free(r);
    }
}

/* ---------------------------------------------------------------- Heartbeat */

static int16_t heartbeat_kerr(const void *resp, int version)
{
    (void)version;
    return ((const kw_heartbeat_resp *)resp)->error_code;
}


static int build_heartbeat(void *arg, int version, int32_t leader_epoch, const void **req)
{
    (void)leader_epoch;
    kw_group *g = ((kw__group_req *)arg)->g;
    kw_heartbeat_req *r = &g->hb_req;
    kw__schema_init(kw__api_heartbeat.req, version, r);
    r->group_id = kw_str_c(g->group_id);
    r->generation_id = g->generation;
    r->member_id = kw_str_c(g->member_id ? g->member_id : "");
    r->group_instance_id = g->instance_id ? kw_str_c(g->instance_id) : KW_STR_NULL;
    *req = r;
    return 0;
}

static void heartbeat_done(const kw_cluster_result *res, void *arg)
{
    kw__group_req *r = arg;
    kw_group *g = r->g;
    if (r->seq == g->hb_seq)
        g->hb_out = false;
    if (!kw__group_req_current(r) || (g->state != KW__GROUP_STABLE && g->state != KW__GROUP_REVOKING)) {
        kw__group_req_free(r);
        return;
    }
    int16_t k = res->resp ? ((const kw_heartbeat_resp *)res->resp)->error_code : res->kerr;
    if (res->err) {
        kw__group_log(g, KW_LOG_WARN, "group %s: heartbeat failed: %s", g->group_id,
                      res->detail ? res->detail : kw_strerror(res->err));
    } else if (k == 0) {
        g->last_hb_ok_ns = kw__group_now_ns(g);
    } else if (k == KW_KERR_REBALANCE_IN_PROGRESS) {
        g->last_hb_ok_ns = kw__group_now_ns(g);
        if (g->state == KW__GROUP_STABLE)
            kw__group_rejoin(g, "the coordinator started a rebalance");
        else
            g->after = KW__GROUP_AFTER_REJOIN;
    } else if (k == KW_KERR_ILLEGAL_GENERATION || k == KW_KERR_UNKNOWN_MEMBER_ID) {
        if (k == KW_KERR_UNKNOWN_MEMBER_ID)
            kw__group_set_str(&g->member_id, strdup(""));
        kw__group_lose_all(g, kw__kerr_name(k));
        kw__group_join(g);
    } else if (k == KW_KERR_FENCED_INSTANCE_ID) {
        kw__group_fatal(g, KW_EFENCED, k, "Heartbeat: FENCED_INSTANCE_ID: another member uses this group_instance_id");
    } else {
        kw__group_log(g, KW_LOG_WARN, "group %s: heartbeat: %s", g->group_id, kw__kerr_name(k));
    }
    kw__group_req_free(r);
}

static void heartbeat(kw_group *g)
{
    kw__group_req *r = kw__group_req_new(g);
    if (!r)
        return;
    uint64_t now = kw__group_now_ns(g);
    uint64_t deadline = g->last_hb_ok_ns + (uint64_t)g->session_ms * 1000000u;
    if (deadline < now + 100000000u)
        deadline = now + 100000000u;
    if (kw__coord_send(kw__group_cluster(g), KW_COORDINATOR_GROUP, g->group_id, KW_API_HEARTBEAT,
                       build_heartbeat, r, heartbeat_kerr, deadline, heartbeat_done, r) != 0) {
        kw__group_req_free(r);
        return;
    }
    r->seq = ++g->hb_seq;
    g->hb_out = true;
    g->hb_epoch = g->epoch;
    g->next_hb_ns = now + (uint64_t)g->heartbeat_ms * 1000000u;
}

/* ---------------------------------------------------------------- LeaveGroup */

static int16_t leave_kerr(const void *resp, int version)
{
    (void)version;
    return ((const kw_leave_group_resp *)resp)->error_code;
}


static int build_leave(void *arg, int version, int32_t leader_epoch, const void **req)
{
    (void)leader_epoch;
    kw_group *g = ((kw__group_req *)arg)->g;
    kw_leave_group_req *r = &g->leave_req;
    kw__schema_init(kw__api_leave_group.req, version, r);
    r->group_id = kw_str_c(g->group_id);
    r->member_id = kw_str_c(g->leave_member_id ? g->leave_member_id : "");
    g->leave_member = (kw_leave_group_req_member){
        .member_id = kw_str_c(g->leave_member_id ? g->leave_member_id : ""),
        .group_instance_id = g->instance_id ? kw_str_c(g->instance_id) : KW_STR_NULL,
        .reason = kw_str_c("the consumer is leaving the group"),
    };
    r->members.v = &g->leave_member;
    r->members.n = 1;
    *req = r;
    return 0;
}

static void leave_done(const kw_cluster_result *res, void *arg)
{
    kw__group_req *r = arg;
    kw_group *g = r->g;
    int16_t k = res->resp ? ((const kw_leave_group_resp *)res->resp)->error_code : res->kerr;
    if (res->err || k)
        kw__group_log(g, KW_LOG_WARN, "group %s: LeaveGroup: %s", g->group_id,
                      res->err ? (res->detail ? res->detail : kw_strerror(res->err)) : kw__kerr_name(k));
    else
        kw__group_log(g, KW_LOG_INFO, "group %s: left the group", g->group_id);
    if (r->revoke) /* the close's leave */
        kw__group_close_finish(g, g->close_err);
    kw__group_req_free(r);
}

/*
 * Leaves the group: LeaveGroup for a dynamic member that has an id (a static
 * one just stops heartbeating, as Java's does).  finish_close: this is
 * kw_group_close's last step.
 */
void kw__group_leave(kw_group *g, bool finish_close)
{
    g->epoch++;
    bool send = !g->instance_id && g->member_id && *g->member_id;
    if (finish_close)
        g->state = KW__GROUP_CLOSED;
    kw__group_req *r = send ? kw__group_req_new(g) : NULL;
    if (r)
        kw__group_set_str(&g->leave_member_id, strdup(g->member_id));
    if (r && !g->leave_member_id) {
        kw__group_req_free(r);
        r = NULL;
    }
    if (r) {
        r->revoke = finish_close;
        uint64_t deadline = kw__client_deadline(g->client, g->timeout_ms);
        if (kw__coord_send(kw__group_cluster(g), KW_COORDINATOR_GROUP, g->group_id, KW_API_LEAVE_GROUP,
                           build_leave, r, leave_kerr, deadline, leave_done, r) != 0) {
            kw__group_req_free(r);
            r = NULL;
        }
    }
    if (!r && finish_close)
        kw__group_close_finish(g, g->close_err);
    g->generation = -1;
    kw__group_set_str(&g->member_id, strdup(""));
    g->leader = false;
    atomic_store(&g->session_deadline_ns, 0);
    kw__group_publish(g);
}

/* ---------------------------------------------------------------- the tick */

static void poll_expired(kw_group *g)
{
    kw__group_log(g, KW_LOG_WARN,
                  "group %s: no poll for more than max_poll_interval_ms (%u): leaving the group",
                  g->group_id, g->max_poll_ms);
    kw__group_lose_all(g, "the consumer was not polled within max_poll_interval_ms");
    kw__group_leave(g, false);
    g->state = KW__GROUP_POLL_EXPIRED;
    pthread_mutex_lock(&g->mu);
    g->poll_rejoin = true;
    pthread_mutex_unlock(&g->mu);
    kw__group_publish(g);
}

void kw__group_poll_resumed(kw_group *g)
{
    if (g->state == KW__GROUP_POLL_EXPIRED)
        kw__group_join(g);
}

static void tick(kw_loop_timer *t, void *arg)
{
    (void)t;
    kw_group *g = arg;
    if (g->state == KW__GROUP_CLOSED || g->state == KW__GROUP_FATAL ||
        g->state == KW__GROUP_CLOSING)
        return;
    uint64_t now = kw__group_now_ns(g);
    bool member = g->state == KW__GROUP_STABLE || g->state == KW__GROUP_REVOKING;
    if (g->consumer && g->state != KW__GROUP_POLL_EXPIRED && g->state != KW__GROUP_IDLE &&
        now > atomic_load(&g->last_poll_ns) + (uint64_t)g->max_poll_ms * 1000000u) {
        poll_expired(g);
    } else if (member && now > g->last_hb_ok_ns + (uint64_t)g->session_ms * 1000000u) {
        kw__group_lose_all(g, "no heartbeat was accepted within session_timeout_ms");
        if (!g->instance_id)
            kw__group_set_str(&g->member_id, strdup(""));
        g->rejoin_asked = true;
    } else if (member) {
        if ((!g->hb_out || g->hb_epoch != g->epoch) && now >= g->next_hb_ns)
            heartbeat(g);
        if (g->state == KW__GROUP_STABLE && g->auto_commit && !g->commits_out &&
            now >= g->next_commit_ns) {
            g->next_commit_ns = now + (uint64_t)g->commit_ms * 1000000u;
            commit_positions(g, false);
        }
        if (g->state == KW__GROUP_STABLE)
            kw__group_fetch_starts(g);
        if (g->state == KW__GROUP_STABLE && g->leader && !g->watch_out && now >= g->next_watch_ns)
            kw__group_watch(g);
    }
    if (g->state == KW__GROUP_IDLE && g->rejoin_asked && now >= g->backoff_until_ns)
        kw__group_join(g);
    tick_arm(g);
}

static void tick_arm(kw_group *g)
{
    uint64_t ms = g->heartbeat_ms / 4;
    if (ms < 20)
        ms = 20;
    if (ms > 500)
        ms = 500;
    kw__loop_timer_start(&g->tick, ms);
}

void kw__group_start(kw_group *g)
{
    if (g->state != KW__GROUP_IDLE || g->timer_init)
        return;
    kw__loop_timer_init(kw__client_loop(g->client), &g->tick, tick, g);
    g->timer_init = true;
    pthread_mutex_lock(&g->mu);
    bool closed = g->destroyed;
    pthread_mutex_unlock(&g->mu);
    if (closed)
        return;
    kw__group_set_str(&g->member_id, strdup(""));
    kw__group_join(g);
    tick_arm(g);
}

void kw__group_close_start(kw_group *g, bool wait_commit)
{
    if (g->timer_init)
        kw__loop_timer_stop(&g->tick);
    if (g->state == KW__GROUP_CLOSED || g->state == KW__GROUP_FATAL ||
        g->state == KW__GROUP_CLOSING) {
        if (g->state != KW__GROUP_CLOSING)
            kw__group_close_finish(g, 0);
        g->state = g->state == KW__GROUP_FATAL ? KW__GROUP_FATAL : KW__GROUP_CLOSED;
        return;
    }
    bool in_group = g->generation >= 0 && g->member_id && *g->member_id &&
                    (g->state == KW__GROUP_STABLE || g->state == KW__GROUP_REVOKING);
    /* Everything owned (and a revocation in progress) is given up now. */
    size_t n = 0;
    pthread_mutex_lock(&g->mu);
    kw_group_partition *owned = kw__group_owned_list(g, &n);
    pthread_mutex_unlock(&g->mu);
    if (g->nrevoking && owned) {
        kw_group_partition *w = realloc(owned, (n + g->nrevoking) * sizeof(*w));
        if (w) {
            owned = w;
            for (size_t i = 0; i < g->nrevoking; i++) {
                owned[n++] = g->revoking[i];
                g->revoking[i].topic = NULL;
            }
        }
    }
    kw__group_list_free(g->revoking, g->nrevoking);
    g->revoking = owned;
    g->nrevoking = n;
    g->epoch++;
    g->state = KW__GROUP_CLOSING;
    bool committing = in_group && wait_commit && g->auto_commit && commit_positions(g, true);
    pthread_mutex_lock(&g->mu);
    for (size_t i = 0; i < g->nparts; i++) {
        g->parts[i].owned = false;
        g->parts[i].want = false;
    }
    pthread_mutex_unlock(&g->mu);
    if (wait_commit && n)
        kw__group_emit(g, in_group ? KW_GROUP_REVOKED : KW_GROUP_LOST, g->revoking, g->nrevoking, 0, 0, NULL);
    kw__group_list_free(g->revoking, g->nrevoking);
    g->revoking = NULL;
    g->nrevoking = 0;
    if (!committing) /* else commit_done leaves */
        kw__group_leave(g, true);
}
