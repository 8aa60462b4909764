/* The KIP-848 consumer group protocol on the loop thread: one ConsumerGroupHeartbeat loop, the broker assigns. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "net/coord.h"
#include "net/group_int.h"
#include "proto/kerr.h"
#include "proto/msg_data.h"
#include "proto/msg_group2.h"

/*
 * The member sends ConsumerGroupHeartbeat with member epoch 0 to join (with
 * its subscription and an empty owned set), then every heartbeat interval the
 * broker gives.  An answer with an assignment is the member's new target:
 * partitions it owns outside the target are revoked first (the poll thread
 * drops them, positions are committed, REVOKED), and the next heartbeat
 * says what the member owns, which lets the broker hand them on; then the
 * target's new partitions are taken (ASSIGNED) and acknowledged the same way.
 * FENCED_MEMBER_EPOCH and UNKNOWN_MEMBER_ID lose everything and join again
 * with epoch 0; leaving is epoch -1 (-2 for a static member, whose partitions
 * wait for it).  The assignment names topics by id: the ids of the
 * subscribed topics come from a Metadata request (v10+).
 */

struct kw__group_topic_id {
    kw_uuid id;
    char *name;
};

struct kw__group_target {
    kw_uuid id;
    int32_t *partitions;
    int32_t count;
};

enum {
    SEND_FULL = 1u,  /* join (epoch 0): subscription, assignor, rebalance timeout */
    SEND_OWNED = 2u, /* the owned partitions */
    SEND_LEAVE = 4u,
    SEND_TOPICS = 8u, /* the subscription changed */
};

/* What one heartbeat carries, built once when it is sent (build may run again on a retry). */
typedef struct cg_mem {
    kw_consumer_group_heartbeat_req req;
    kw_str *names;
    size_t nnames;
    char **owned_names; /* copies: the subscription may change while a heartbeat is out */
    kw_consumer_group_heartbeat_req_topic *topics;
    int32_t *parts;
} cg_mem;

static void target_free(kw_group *g)
{
    for (size_t i = 0; i < g->ntarget; i++)
        free(g->target[i].partitions);
    free(g->target);
    g->target = NULL;
    g->ntarget = 0;
}

static void ids_free(kw_group *g)
{
    for (size_t i = 0; i < g->ntids; i++)
        free(g->tids[i].name);
    free(g->tids);
    g->tids = NULL;
    g->ntids = 0;
}

static void mem_free(cg_mem *m)
{
    if (!m)
        return;
    for (size_t i = 0; m->owned_names && i < m->nnames; i++)
        free(m->owned_names[i]);
    free(m->owned_names);
    free(m->names);
    free(m->topics);
    free(m->parts);
    free(m);
}

void kw__group_cg_free(kw_group *g)
{
    target_free(g);
    ids_free(g);
    mem_free(g->cg_mem);
    g->cg_mem = NULL;
}

static const char *id_name(const kw_group *g, kw_uuid id)
{
    for (size_t i = 0; i < g->ntids; i++)
        if (memcmp(g->tids[i].id.b, id.b, 16) == 0)
            return g->tids[i].name;
    return NULL;
}

static const kw_uuid *name_id(const kw_group *g, const char *name)
{
    for (size_t i = 0; i < g->ntids; i++)
        if (strcmp(g->tids[i].name, name) == 0)
            return &g->tids[i].id;
    return NULL;
}

/* A member id of our own (ConsumerGroupHeartbeat v1: the client makes it): a random UUID. */
static char *new_member_id(void)
{
    uint8_t b[16];
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        return NULL;
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    char *s = malloc(37);
    if (s)
        snprintf(s, 37,
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                 b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
                 b[14], b[15]);
    return s;
}

/* ---------------------------------------------------------------- topic ids */

static void reconcile(kw_group *g);

typedef struct meta_req {
    kw__group_req base;
    kw_metadata_req req;
    kw_metadata_req_topic *topics;
} meta_req;

static int build_meta(void *arg, int version, int32_t leader_epoch, const void **req)
{
    (void)leader_epoch;
    meta_req *m = arg;
    kw_group *g = m->base.g;
    if (version < 10)
        return KW_EVERSION; /* no topic ids before Metadata v10 */
    kw__schema_init(kw__api_metadata.req, version, &m->req);
    for (size_t i = 0; i < g->ntopics; i++)
        m->topics[i] = (kw_metadata_req_topic){.name = kw_str_c(g->topics[i])};
    m->req.topics.v = m->topics;
    /* A regex can match any topic, also one created after the join: ask for all of them. */
    m->req.topics.n = g->topic_regex ? -1 : (int32_t)g->ntopics;
    m->req.allow_auto_topic_creation = false;
    *req = &m->req;
    return 0;
}

static void meta_done(const kw_cluster_result *res, void *arg)
{
    meta_req *m = arg;
    kw_group *g = m->base.g;
    g->ids_out = false;
    const kw_metadata_resp *resp = res->resp;
    if (!res->err && resp) {
        ids_free(g);
        g->tids = calloc(resp->topics.n > 0 ? (size_t)resp->topics.n : 1, sizeof(*g->tids));
        for (int32_t i = 0; g->tids && i < resp->topics.n; i++) {
            const kw_metadata_resp_topic *t = &resp->topics.v[i];
            if (t->error_code || t->name.len <= 0)
                continue;
            char *name = kw__group_str_copy(t->name);
            if (name)
                g->tids[g->ntids++] = (struct kw__group_topic_id){t->topic_id, name};
        }
    } else if (res->err != KW_ECLOSED) {
        kw__group_log(g, KW_LOG_WARN, "group %s: looking up topic ids: %s", g->group_id,
                      res->detail ? res->detail : kw_strerror(res->err));
    }
    if (kw__group_req_current(&m->base) && g->target_pending && g->state == KW__GROUP_STABLE)
        reconcile(g);
    free(m->topics);
    kw__group_req *base = &m->base;
    kw_group *gg = base->g;
    free(m);
    kw__group_unref(gg);
}

static void lookup_ids(kw_group *g)
{
    if (g->ids_out)
        return;
    meta_req *m = calloc(1, sizeof(*m));
    if (!m)
        return;
    m->topics = calloc(g->ntopics ? g->ntopics : 1, sizeof(*m->topics));
    if (!m->topics) {
        free(m);
        return;
    }
    m->base.g = g;
    m->base.epoch = g->epoch;
    kw__group_ref(g);
    uint64_t deadline = kw__client_deadline(g->client, g->timeout_ms);
    if (kw__cluster_send_any(kw__group_cluster(g), KW_API_METADATA, build_meta, m, deadline,
                             meta_done, m) != 0) {
        free(m->topics);
        free(m);
        kw__group_unref(g);
        return;
    }
    g->ids_out = true;
}

/* ---------------------------------------------------------------- reconciling the target */

static bool in_target(const kw_group *g, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < g->ntarget; i++) {
        const char *name = id_name(g, g->target[i].id);
        if (!name || strcmp(name, topic) != 0)
            continue;
        for (int32_t j = 0; j < g->target[i].count; j++)
            if (g->target[i].partitions[j] == partition)
                return true;
    }
    return false;
}

/*
 * Moves the owned set toward the target: revocations first (acknowledged when
 * done, kw__group_cg_ack), then additions (ASSIGNED, acknowledged at once).
 */
static void reconcile(kw_group *g)
{
    for (size_t i = 0; i < g->ntarget; i++)
        if (!id_name(g, g->target[i].id)) {
            lookup_ids(g); /* reconcile runs again when the ids are in */
            return;
        }
    pthread_mutex_lock(&g->mu);
    kw_group_partition *revoked = calloc(g->nparts ? g->nparts : 1, sizeof(*revoked));
    size_t nrevoked = 0;
    for (size_t i = 0; revoked && i < g->nparts; i++) {
        kw__group_part *p = &g->parts[i];
        if (!p->owned || in_target(g, p->topic, p->partition))
            continue;
        char *t = strdup(p->topic);
        if (t)
            revoked[nrevoked++] = (kw_group_partition){t, p->partition};
    }
    pthread_mutex_unlock(&g->mu);
    if (nrevoked) {
        qsort(revoked, nrevoked, sizeof(*revoked), kw__group_part_cmp);
        kw__group_revoke_start(g, revoked, nrevoked, KW__GROUP_AFTER_ACK);
        return;
    }
    free(revoked);
    size_t cap = 0;
    for (size_t i = 0; i < g->ntarget; i++)
        cap += (size_t)g->target[i].count;
    kw_group_partition *added = calloc(cap ? cap : 1, sizeof(*added));
    size_t nadded = 0;
    pthread_mutex_lock(&g->mu);
    for (size_t i = 0; added && i < g->ntarget; i++) {
        const char *name = id_name(g, g->target[i].id);
        for (int32_t j = 0; j < g->target[i].count; j++) {
            kw__group_part *p = kw__group_part_find(g, name, g->target[i].partitions[j]);
            if (p && p->owned)
                continue;
            p = kw__group_part_add(g, name, g->target[i].partitions[j]);
            char *t = p ? strdup(name) : NULL;
            if (!t)
                continue;
            p->owned = true;
            p->start_known = false;
            p->want = false;
            p->start = -1;
            added[nadded++] = (kw_group_partition){t, g->target[i].partitions[j]};
        }
    }
    g->rebalances++;
    pthread_mutex_unlock(&g->mu);
    g->target_pending = false;
    if (added)
        qsort(added, nadded, sizeof(*added), kw__group_part_cmp);
    kw__group_log(g, KW_LOG_INFO, "group %s: member epoch %" PRId32 ": %zu partitions added",
                  g->group_id, g->generation, nadded);
    kw__group_publish(g);
    if (nadded) {
        kw__group_emit(g, KW_GROUP_ASSIGNED, added, nadded, 0, 0, NULL);
        g->send_owned = true;
    }
    kw__group_list_free(added, nadded);
    if (g->state != KW__GROUP_STABLE)
        return;
    kw__group_fetch_starts(g);
    if (g->send_owned && !g->hb_out)
        kw__group_cg_heartbeat(g);
}

void kw__group_cg_ack(kw_group *g)
{
    g->send_owned = true;
    if (g->target_pending)
        reconcile(g);
    if (g->state == KW__GROUP_STABLE && g->send_owned && !g->hb_out)
        kw__group_cg_heartbeat(g);
}

/* Keeps the answer's target assignment (topic ids and partitions). */
static void take_target(kw_group *g, const kw_consumer_group_heartbeat_resp_assignment *a)
{
    target_free(g);
    g->target = calloc(a->topic_partitions.n > 0 ? (size_t)a->topic_partitions.n : 1,
                       sizeof(*g->target));
    for (int32_t i = 0; g->target && i < a->topic_partitions.n; i++) {
        const kw_consumer_group_heartbeat_resp_topic *t = &a->topic_partitions.v[i];
        struct kw__group_target *d = &g->target[g->ntarget];
        d->id = t->topic_id;
        d->partitions = calloc(t->partitions.n > 0 ? (size_t)t->partitions.n : 1,
                               sizeof(int32_t));
        if (!d->partitions)
            continue;
        if (t->partitions.n > 0)
            memcpy(d->partitions, t->partitions.v, (size_t)t->partitions.n * sizeof(int32_t));
        d->count = t->partitions.n > 0 ? t->partitions.n : 0;
        g->ntarget++;
    }
    g->target_pending = true;
}

/* ---------------------------------------------------------------- the heartbeat */

static int16_t cg_kerr(const void *resp, int version)
{
    (void)version;
    return ((const kw_consumer_group_heartbeat_resp *)resp)->error_code;
}

static int build_cg(void *arg, int version, int32_t leader_epoch, const void **req)
{
    (void)leader_epoch;
    kw__group_req *r = arg;
    kw_group *g = r->g;
    cg_mem *m = (cg_mem *)r->offs; /* this request's arrays */
    kw_consumer_group_heartbeat_req *q = &m->req;
    kw__schema_init(kw__api_consumer_group_heartbeat.req, version, q);
    if (version >= 1 && (!g->member_id || !*g->member_id))
        kw__group_set_str(&g->member_id, new_member_id());
    q->group_id = kw_str_c(g->group_id);
    q->member_id = kw_str_c(g->member_id ? g->member_id : "");
    if (r->revoke) { /* leaving */
        q->member_id = kw_str_c(g->leave_member_id ? g->leave_member_id : "");
        q->member_epoch = g->instance_id ? -2 : -1;
    } else {
        q->member_epoch = (r->flags & SEND_FULL) ? 0 : g->generation;
    }
    q->instance_id = g->instance_id ? kw_str_c(g->instance_id) : KW_STR_NULL;
    if (r->flags & SEND_FULL) {
        q->rack_id = g->rack ? kw_str_c(g->rack) : KW_STR_NULL;
        q->rebalance_timeout_ms = (int32_t)g->max_poll_ms;
        q->server_assignor = g->server_assignor ? kw_str_c(g->server_assignor) : KW_STR_NULL;
    }
    if (r->flags & (SEND_FULL | SEND_TOPICS)) {
        q->subscribed_topic_names.v = m->names;
        q->subscribed_topic_names.n = (int32_t)m->nnames;
        if (g->topic_regex && version < 1) {
            g->regex_refused = true; /* cg_done reports it: the request is not sent */
            return KW_EVERSION;
        }
        if (g->topic_regex)
            q->subscribed_topic_regex = kw_str_c(g->topic_regex);
    }
    if (r->flags & (SEND_FULL | SEND_OWNED)) {
        q->topic_partitions.v = m->topics;
        q->topic_partitions.n = (int32_t)r->n;
    }
    *req = q;
    return 0;
}

/* Fills m's arrays: subscribed names, and the owned partitions by topic id (their count in *ntopics). */
static int fill_mem(kw_group *g, cg_mem *m, size_t *ntopics)
{
    *ntopics = 0;
    m->names = calloc(g->ntopics ? g->ntopics : 1, sizeof(*m->names));
    m->owned_names = calloc(g->ntopics ? g->ntopics : 1, sizeof(*m->owned_names));
    size_t n = 0;
    pthread_mutex_lock(&g->mu);
    kw_group_partition *owned = kw__group_owned_list(g, &n);
    pthread_mutex_unlock(&g->mu);
    m->topics = calloc(n ? n : 1, sizeof(*m->topics));
    m->parts = calloc(n ? n : 1, sizeof(*m->parts));
    if (!m->names || !m->owned_names || !owned || !m->topics || !m->parts) {
        kw__group_list_free(owned, n);
        return KW_ENOMEM;
    }
    for (size_t i = 0; i < g->ntopics; i++) {
        m->owned_names[i] = strdup(g->topics[i]);
        if (!m->owned_names[i]) {
            kw__group_list_free(owned, n);
            return KW_ENOMEM;
        }
        m->names[i] = kw_str_c(m->owned_names[i]);
        m->nnames = i + 1;
    }
    const char *last = NULL;
    for (size_t i = 0; i < n; i++) {
        const kw_uuid *id = name_id(g, owned[i].topic);
        if (!id)
            continue; /* owned partitions came from a target whose ids are known */
        if (!last || strcmp(last, owned[i].topic) != 0) {
            m->topics[*ntopics] = (kw_consumer_group_heartbeat_req_topic){.topic_id = *id};
            m->topics[*ntopics].partitions.v = &m->parts[i];
            (*ntopics)++;
            last = owned[i].topic;
        }
        m->parts[i] = owned[i].partition;
        m->topics[*ntopics - 1].partitions.n++;
    }
    /* Topic names point into g->topics; the owned copies are not referred to any more. */
    kw__group_list_free(owned, n);
    return 0;
}

static void cg_done(const kw_cluster_result *res, void *arg);

/* Sends one ConsumerGroupHeartbeat with `flags` (SEND_*). */
static void send_cg(kw_group *g, unsigned flags)
{
    kw__group_req *r = kw__group_req_new(g);
    cg_mem *m = r ? calloc(1, sizeof(*m)) : NULL;
    size_t ntopics = 0;
    if (!m || fill_mem(g, m, &ntopics) != 0) {
        mem_free(m);
        if (r)
            kw__group_req_free(r);
        if (!(flags & SEND_LEAVE))
            kw__group_retry_later(g, "ConsumerGroupHeartbeat", KW_ENOMEM, 0, NULL);
        return;
    }
    r->offs = (kw_client_committed *)(void *)m; /* freed in cg_done, not as offsets */
    r->n = ntopics;
    r->flags = flags;
    r->revoke = (flags & SEND_LEAVE) != 0;
    bool leaving = r->revoke;
    if (!leaving)
        r->seq = ++g->hb_seq;
    uint64_t now = kw__group_now_ns(g);
    uint64_t deadline = r->revoke ? kw__client_deadline(g->client, g->timeout_ms)
                                  : now + (uint64_t)g->session_ms * 1000000u;
    if (kw__coord_send(kw__group_cluster(g), KW_COORDINATOR_GROUP, g->group_id,
                       KW_API_CONSUMER_GROUP_HEARTBEAT, build_cg, r, cg_kerr, deadline, cg_done,
                       r) != 0) {
        r->offs = NULL;
        r->n = 0;
        mem_free(m);
        kw__group_req_free(r);
        if (leaving && g->state == KW__GROUP_CLOSED)
            kw__group_close_finish(g, g->close_err);
        return;
    }
    if (!leaving) {
        g->hb_out = true;
        g->hb_epoch = g->epoch;
        if (flags & SEND_OWNED)
            g->send_owned = false;
        if (flags & (SEND_TOPICS | SEND_FULL))
            g->send_topics = false;
        uint32_t every = g->server_hb_ms ? g->server_hb_ms : g->heartbeat_ms;
        g->next_hb_ns = now + (uint64_t)every * 1000000u;
    }
}

static void cg_done(const kw_cluster_result *res, void *arg)
{
    kw__group_req *r = arg;
    kw_group *g = r->g;
    cg_mem *m = (cg_mem *)(void *)r->offs;
    r->offs = NULL;
    r->n = 0;
    mem_free(m);
    const kw_consumer_group_heartbeat_resp *resp = res->resp;
    int16_t k = resp ? resp->error_code : res->kerr;
    if (r->revoke) { /* the leave */
        if (res->err || k)
            kw__group_log(g, KW_LOG_WARN, "group %s: leaving: %s", g->group_id,
                          res->err ? (res->detail ? res->detail : kw_strerror(res->err))
                                   : kw__kerr_name(k));
        else
            kw__group_log(g, KW_LOG_INFO, "group %s: left the group", g->group_id);
        if (g->state == KW__GROUP_CLOSED)
            kw__group_close_finish(g, g->close_err);
        kw__group_req_free(r);
        return;
    }
    if (r->seq == g->hb_seq)
        g->hb_out = false;
    if (!kw__group_req_current(r)) {
        kw__group_req_free(r);
        return;
    }
    bool joining = g->state == KW__GROUP_JOINING;
    if (res->err == KW_ECLOSED) {
        g->state = KW__GROUP_CLOSED;
    } else if (res->err == KW_EVERSION && g->regex_refused) {
        char d[256];
        snprintf(d, sizeof(d),
                 "topic_regex \"%.100s\" is not supported by this broker (SubscribedTopicRegex "
                 "needs ConsumerGroupHeartbeat v1, Kafka 4.0+)",
                 g->topic_regex);
        kw__group_fatal(g, KW_EUNSUPPORTED, 0, d);
    } else if (res->err == KW_EVERSION) {
        char d[512];
        snprintf(d, sizeof(d),
                 "the CONSUMER group protocol (KIP-848) is not supported by this broker "
                 "(ConsumerGroupHeartbeat: %.400s)",
                 res->detail ? res->detail : kw_strerror(res->err));
        kw__group_fatal(g, KW_EUNSUPPORTED, 0, d);
    } else if (res->err || !resp) {
        if (joining)
            kw__group_retry_later(g, "ConsumerGroupHeartbeat", res->err, res->kerr, res->detail);
        else
            kw__group_log(g, KW_LOG_WARN, "group %s: heartbeat failed: %s", g->group_id,
                          res->detail ? res->detail : kw_strerror(res->err));
    } else if (k == 0) {
        if (resp->member_id.len > 0)
            kw__group_set_str(&g->member_id, kw__group_str_copy(resp->member_id));
        g->generation = resp->member_epoch;
        if (resp->heartbeat_interval_ms > 0)
            g->server_hb_ms = (uint32_t)resp->heartbeat_interval_ms;
        g->last_hb_ok_ns = kw__group_now_ns(g);
        atomic_store(&g->session_deadline_ns,
                     g->last_hb_ok_ns + (uint64_t)g->session_ms * 1000000u);
        g->join_failures = 0;
        if (joining) {
            g->state = KW__GROUP_STABLE;
            kw__group_log(g, KW_LOG_INFO, "group %s: joined as %s, member epoch %" PRId32,
                          g->group_id, g->member_id ? g->member_id : "", g->generation);
        }
        if (resp->assignment)
            take_target(g, resp->assignment);
        kw__group_publish(g);
        if (g->target_pending && g->state == KW__GROUP_STABLE)
            reconcile(g);
    } else if (k == KW_KERR_FENCED_MEMBER_EPOCH || k == KW_KERR_UNKNOWN_MEMBER_ID) {
        kw__group_lose_all(g, kw__kerr_name(k));
        kw__group_join(g);
    } else if (k == KW_KERR_UNRELEASED_INSTANCE_ID || k == KW_KERR_FENCED_INSTANCE_ID) {
        char d[256];
        snprintf(d, sizeof(d), "ConsumerGroupHeartbeat: %s: group_instance_id %s is in use",
                 kw__kerr_name(k), g->instance_id ? g->instance_id : "");
        kw__group_fatal(g, KW_EFENCED, k, d);
    } else if (kw_kerr_retriable(k) || k == KW_KERR_REBALANCE_IN_PROGRESS) {
        if (joining)
            kw__group_retry_later(g, "ConsumerGroupHeartbeat", KW_EBROKER, k, NULL);
    } else {
        char d[512];
        snprintf(d, sizeof(d), "ConsumerGroupHeartbeat for group %s: %s%s%.*s", g->group_id,
                 kw__kerr_name(k), resp->error_message.len > 0 ? ": " : "",
                 resp->error_message.len > 0 ? (int)resp->error_message.len : 0,
                 resp->error_message.len > 0 ? resp->error_message.ptr : "");
        kw__group_fatal(g, KW_EBROKER, k, d);
    }
    kw__group_req_free(r);
}

void kw__group_cg_heartbeat(kw_group *g)
{
    send_cg(g, (g->send_owned ? SEND_OWNED : 0u) | (g->send_topics ? SEND_TOPICS : 0u));
}

void kw__group_cg_resubscribe(kw_group *g)
{
    ids_free(g);
    lookup_ids(g);
    g->send_topics = true;
    if (g->state == KW__GROUP_STABLE && !g->hb_out)
        kw__group_cg_heartbeat(g);
}

void kw__group_cg_join(kw_group *g)
{
    g->epoch++;
    g->rejoin_asked = false;
    g->state = KW__GROUP_JOINING;
    g->generation = 0;
    target_free(g);
    g->target_pending = false;
    g->send_owned = false;
    if (g->ntids == 0)
        lookup_ids(g);
    send_cg(g, SEND_FULL);
    kw__group_publish(g);
}

void kw__group_cg_leave(kw_group *g, bool finish_close)
{
    g->epoch++;
    bool send = g->member_id && *g->member_id && g->generation >= 0;
    if (finish_close)
        g->state = KW__GROUP_CLOSED;
    if (send)
        kw__group_set_str(&g->leave_member_id, strdup(g->member_id));
    if (send && g->leave_member_id)
        send_cg(g, SEND_LEAVE); /* cg_done finishes the close */
    else if (finish_close)
        kw__group_close_finish(g, g->close_err);
    g->generation = -1;
    g->leader = false;
    target_free(g);
    g->target_pending = false;
    atomic_store(&g->session_deadline_ns, 0);
    kw__group_publish(g);
}
