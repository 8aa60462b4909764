/* The classic protocol's rebalance steps: JoinGroup, the leader's assignment, SyncGroup and the new assignment. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/coord.h"
#include "net/group_int.h"
#include "net/group_protocol.h"
#include "proto/kerr.h"

/* A JoinGroup or SyncGroup may be held for the rebalance timeout: its deadline is this much later. */
enum { JOIN_MARGIN_MS = 5000 };
/* How often the leader looks for partition count changes of the subscribed topics. */
enum { WATCH_MS = 5000 };

/* ---------------------------------------------------------------- JoinGroup */

static int16_t join_kerr(const void *resp, int version)
{
    (void)version;
    return ((const kw_join_group_resp *)resp)->error_code;
}

static int16_t sync_kerr(const void *resp, int version)
{
    (void)version;
    return ((const kw_sync_group_resp *)resp)->error_code;
}

/* Encodes the subscription sent with each assignor (the same but for sticky user data). */
static int build_subscriptions(kw_group *g)
{
    if (!g->proto_meta) {
        g->proto_meta = calloc(g->nassignors, sizeof(*g->proto_meta));
        g->protos = calloc(g->nassignors, sizeof(*g->protos));
        if (!g->proto_meta || !g->protos)
            return KW_ENOMEM;
        for (size_t i = 0; i < g->nassignors; i++)
            kw__wr_init(&g->proto_meta[i]);
    }
    kw_str *topics = calloc(g->ntopics, sizeof(*topics));
    size_t n = 0;
    pthread_mutex_lock(&g->mu);
    kw_group_partition *owned = kw__group_owned_list(g, &n);
    pthread_mutex_unlock(&g->mu);
    /* Owned partitions grouped by topic (owned is sorted). */
    kw__group_topic_partitions *tp = calloc(n ? n : 1, sizeof(*tp));
    int32_t *parts = calloc(n ? n : 1, sizeof(*parts));
    int rc = (!topics || !owned || !tp || !parts) ? KW_ENOMEM : 0;
    int32_t ntp = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        if (ntp == 0 || !kw_str_eq(tp[ntp - 1].topic, owned[i].topic)) {
            tp[ntp].topic = kw_str_c(owned[i].topic);
            tp[ntp].partitions = &parts[i];
            tp[ntp].count = 0;
            ntp++;
        }
        parts[i] = owned[i].partition;
        tp[ntp - 1].count++;
    }
    for (size_t i = 0; !rc && i < g->ntopics; i++)
        topics[i] = kw_str_c(g->topics[i]);
    uint8_t sticky[4];
    kw__group_sticky_user_data(g->generation, sticky);
    for (size_t i = 0; !rc && i < g->nassignors; i++) {
        kw__group_subscription s = {
            .version = KW_GROUP_PROTOCOL_VERSION_MAX,
            .topics = topics,
            .topic_count = (int32_t)g->ntopics,
            .user_data = KW_BYTES_NULL,
            .owned = tp,
            .owned_count = ntp,
            .generation = g->generation,
            .rack = g->rack ? kw_str_c(g->rack) : KW_STR_NULL,
        };
        if (strcmp(g->assignors[i]->name, "cooperative-sticky") == 0)
            s.user_data = (kw_bytes){sticky, 4};
        kw_wr *w = &g->proto_meta[i];
        w->len = 0;
        w->err = 0;
        rc = kw__group_subscription_encode(w, &s);
        g->protos[i] = (kw_join_group_req_protocol){
            .name = kw_str_c(g->assignors[i]->name),
            .metadata = (kw_bytes){w->buf, (int32_t)w->len},
        };
    }
    free(topics);
    kw__group_list_free(owned, n);
    free(tp);
    free(parts);
    return rc;
}

static int build_join(void *arg, int version, int32_t leader_epoch, const void **req)
{
    (void)leader_epoch;
    kw_group *g = ((kw__group_req *)arg)->g;
    kw_join_group_req *r = &g->join_req;
    kw__schema_init(kw__api_join_group.req, version, r);
    r->group_id = kw_str_c(g->group_id);
    r->session_timeout_ms = (int32_t)g->session_ms;
    r->rebalance_timeout_ms = (int32_t)g->max_poll_ms;
    r->member_id = kw_str_c(g->member_id ? g->member_id : "");
    r->group_instance_id = g->instance_id ? kw_str_c(g->instance_id) : KW_STR_NULL;
    r->protocol_type = kw_str_c(KW_GROUP_PROTOCOL_TYPE);
    r->protocols.v = g->protos;
    r->protocols.n = (int32_t)g->nassignors;
    *req = r;
    return 0;
}

static void sync(kw_group *g, bool leader_assigns);
static void assign_members(kw_group *g);

/* Copies the JoinGroup members (the leader's input) into the join arena. */
static int copy_members(kw_group *g, const kw_join_group_resp *resp)
{
    kw__arena_reset(&g->join_arena);
    free(g->members);
    g->nmembers = 0;
    g->members = calloc(resp->members.n ? (size_t)resp->members.n : 1, sizeof(*g->members));
    if (!g->members)
        return KW_ENOMEM;
    g->min_sub_version = KW_GROUP_PROTOCOL_VERSION_MAX;
    for (int32_t i = 0; i < resp->members.n; i++) {
        const kw_join_group_resp_member *m = &resp->members.v[i];
        kw__assign_member *a = &g->members[g->nmembers++];
        char *id = kw__arena_alloc(&g->join_arena, (size_t)(m->member_id.len > 0 ? m->member_id.len : 0) + 1);
        char *inst = m->group_instance_id.len >= 0
                         ? kw__arena_alloc(&g->join_arena, (size_t)m->group_instance_id.len + 1)
                         : NULL;
        uint8_t *meta = kw__arena_alloc(&g->join_arena,
                                        (size_t)(m->metadata.len > 0 ? m->metadata.len : 0) + 1);
        kw__group_subscription *s = kw__arena_alloc(&g->join_arena, sizeof(*s));
        if (!id || !meta || !s || (m->group_instance_id.len >= 0 && !inst))
            return KW_ENOMEM;
        if (m->member_id.len > 0)
            memcpy(id, m->member_id.ptr, (size_t)m->member_id.len);
        a->member_id = (kw_str){id, m->member_id.len > 0 ? m->member_id.len : 0};
        if (inst) {
            memcpy(inst, m->group_instance_id.ptr, (size_t)m->group_instance_id.len);
            a->group_instance_id = (kw_str){inst, m->group_instance_id.len};
        } else {
            a->group_instance_id = KW_STR_NULL;
        }
        size_t mlen = m->metadata.len > 0 ? (size_t)m->metadata.len : 0;
        if (mlen)
            memcpy(meta, m->metadata.ptr, mlen);
        char detail[KW_GROUP_DETAIL_MAX];
        if (kw__group_subscription_decode(meta, mlen, &g->join_arena, s, detail, sizeof(detail))) {
            /* A member we cannot read gets nothing (and says so in the log). */
            kw__group_log(g, KW_LOG_WARN, "group %s: member %s's subscription is unreadable (%s)",
                          g->group_id, id, detail);
            *s = (kw__group_subscription){.version = 0, .user_data = KW_BYTES_NULL,
                                          .generation = -1, .rack = KW_STR_NULL};
        } else if (s->version < g->min_sub_version) {
            g->min_sub_version = s->version;
        }
        a->subscription = s;
    }
    return 0;
}

static void refresh_done(const kw_cluster_result *res, void *arg)
{
    kw__group_req *r = arg;
    kw_group *g = r->g;
    if (kw__group_req_current(r) && g->state == KW__GROUP_ASSIGNING) {
        if (res->err)
            kw__group_log(g, KW_LOG_WARN, "group %s: metadata refresh for the assignment: %s",
                          g->group_id, res->detail ? res->detail : kw_strerror(res->err));
        if (--g->refresh_out == 0)
            assign_members(g);
    }
    kw__group_req_free(r);
}

/* The leader: metadata for every topic some member subscribes to, then the assignment. */
static void lead(kw_group *g)
{
    g->state = KW__GROUP_ASSIGNING;
    g->refresh_out = 1; /* held until every refresh is out */
    uint64_t deadline = kw__client_deadline(g->client, g->timeout_ms);
    for (size_t i = 0; i < g->nmembers; i++) {
        const kw__group_subscription *s = g->members[i].subscription;
        for (int32_t t = 0; t < s->topic_count; t++) {
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++) {
                const kw__group_subscription *o = g->members[j].subscription;
                for (int32_t k = 0; k < o->topic_count && !seen; k++)
                    seen = o->topics[k].len == s->topics[t].len &&
                           memcmp(o->topics[k].ptr, s->topics[t].ptr, (size_t)s->topics[t].len) == 0;
            }
            for (int32_t k = 0; k < t && !seen; k++)
                seen = s->topics[k].len == s->topics[t].len &&
                       memcmp(s->topics[k].ptr, s->topics[t].ptr, (size_t)s->topics[t].len) == 0;
            if (seen)
                continue;
            char *name = kw__group_str_copy(s->topics[t]);
            kw__group_req *r = name ? kw__group_req_new(g) : NULL;
            if (r && kw__cluster_refresh(kw__group_cluster(g), name, deadline, refresh_done, r) == 0)
                g->refresh_out++;
            else if (r)
                kw__group_req_free(r);
            free(name);
        }
    }
    if (--g->refresh_out == 0)
        assign_members(g);
}

static void join_done(const kw_cluster_result *res, void *arg)
{
    kw__group_req *r = arg;
    kw_group *g = r->g;
    if (!kw__group_req_current(r) || g->state != KW__GROUP_JOINING) {
        kw__group_req_free(r);
        return;
    }
    const kw_join_group_resp *resp = res->resp;
    if (res->err == KW_ECLOSED) {
        g->state = KW__GROUP_CLOSED;
    } else if (res->err || !resp) {
        kw__group_retry_later(g, "JoinGroup", res->err, res->kerr, res->detail);
    } else if (resp->error_code == KW_KERR_MEMBER_ID_REQUIRED) {
        kw__group_set_str(&g->member_id, kw__group_str_copy(resp->member_id));
        kw__group_join(g);
    } else if (resp->error_code == KW_KERR_UNKNOWN_MEMBER_ID ||
               resp->error_code == KW_KERR_ILLEGAL_GENERATION) {
        if (resp->error_code == KW_KERR_UNKNOWN_MEMBER_ID)
            kw__group_set_str(&g->member_id, strdup(""));
        kw__group_lose_all(g, kw__kerr_name(resp->error_code));
        kw__group_join(g);
    } else if (resp->error_code == KW_KERR_REBALANCE_IN_PROGRESS) {
        kw__group_join(g);
    } else if (resp->error_code == KW_KERR_FENCED_INSTANCE_ID) {
        char d[256];
        snprintf(d, sizeof(d), "JoinGroup: FENCED_INSTANCE_ID: another member uses group_instance_id %s",
                 g->instance_id ? g->instance_id : "");
        kw__group_fatal(g, KW_EFENCED, resp->error_code, d);
    } else if (resp->error_code) {
        int16_t k = resp->error_code;
        if (kw_kerr_retriable(k) || k == KW_KERR_UNSTABLE_OFFSET_COMMIT) {
            kw__group_retry_later(g, "JoinGroup", KW_EBROKER, k, NULL);
        } else {
            char d[256];
            snprintf(d, sizeof(d), "JoinGroup for group %s: %s", g->group_id, kw__kerr_name(k));
            kw__group_fatal(g, KW_EBROKER, k, d);
        }
    } else {
        g->join_failures = 0;
        g->generation = resp->generation_id;
        kw__group_set_str(&g->member_id, kw__group_str_copy(resp->member_id));
        kw__group_set_str(&g->protocol_name, kw__group_str_copy(resp->protocol_name));
        kw__group_set_str(&g->leader_id, kw__group_str_copy(resp->leader));
        g->leader = g->member_id && g->leader_id && strcmp(g->member_id, g->leader_id) == 0;
        kw__group_log(g, KW_LOG_INFO,
                      "group %s: joined generation %" PRId32 " as %s (%s, protocol %s, %d members)",
                      g->group_id, g->generation, g->member_id ? g->member_id : "",
                      g->leader ? "leader" : "follower", g->protocol_name ? g->protocol_name : "",
                      (int)resp->members.n);
        kw__group_publish(g);
        if (g->leader && !resp->skip_assignment) {
            if (copy_members(g, resp) != 0)
                kw__group_retry_later(g, "the assignment", KW_ENOMEM, 0, "copying the members");
            else
                lead(g);
        } else {
            sync(g, false);
        }
    }
    kw__group_req_free(r);
}

void kw__group_join(kw_group *g)
{
    g->epoch++;
    g->rejoin_asked = false;
    g->state = KW__GROUP_JOINING;
    int rc = build_subscriptions(g);
    kw__group_req *r = rc ? NULL : kw__group_req_new(g);
    if (!r) {
        kw__group_retry_later(g, "JoinGroup", KW_ENOMEM, 0, "building the subscription");
        return;
    }
    uint64_t deadline = kw__group_now_ns(g) + ((uint64_t)g->max_poll_ms + JOIN_MARGIN_MS) * 1000000u;
    rc = kw__coord_send(kw__group_cluster(g), KW_COORDINATOR_GROUP, g->group_id, KW_API_JOIN_GROUP,
                        build_join, r, join_kerr, deadline, join_done, r);
    if (rc) {
        kw__group_req_free(r);
        kw__group_retry_later(g, "JoinGroup", rc, 0, NULL);
    }
    kw__group_publish(g);
}

/* ---------------------------------------------------------------- the leader's assignment and SyncGroup */

static void free_sync(kw_group *g)
{
    for (size_t i = 0; g->sync_bytes && i < g->nsync_assign; i++)
        kw__wr_free(&g->sync_bytes[i]);
    free(g->sync_bytes);
    free(g->sync_assign);
    g->sync_bytes = NULL;
    g->sync_assign = NULL;
    g->nsync_assign = 0;
}

static void assign_members(kw_group *g)
{
    const kw__assignor *as = g->protocol_name ? kw__assignor_find(g->protocol_name) : NULL;
    if (!as) {
        char d[256];
        snprintf(d, sizeof(d), "the group chose assignor \"%s\", which this member did not offer",
                 g->protocol_name ? g->protocol_name : "");
        kw__group_fatal(g, KW_EBROKER, KW_KERR_INCONSISTENT_GROUP_PROTOCOL, d);
        return;
    }
    /* Every topic a member subscribes to, with its partition count as the cache has it now. */
    size_t cap = 0;
    for (size_t i = 0; i < g->nmembers; i++)
        cap += (size_t)g->members[i].subscription->topic_count;
    kw__assign_topic *topics = calloc(cap ? cap : 1, sizeof(*topics));
    kw__member_assignment *out = calloc(g->nmembers ? g->nmembers : 1, sizeof(*out));
    char **names = calloc(cap ? cap : 1, sizeof(*names));
    size_t nt = 0;
    int rc = topics && out && names ? 0 : KW_ENOMEM;
    for (size_t i = 0; !rc && i < g->nmembers; i++) {
        const kw__group_subscription *s = g->members[i].subscription;
        for (int32_t t = 0; t < s->topic_count; t++) {
            bool seen = false;
            for (size_t j = 0; j < nt && !seen; j++)
                seen = topics[j].topic.len == s->topics[t].len &&
                       memcmp(topics[j].topic.ptr, s->topics[t].ptr, (size_t)s->topics[t].len) == 0;
            if (seen)
                continue;
            names[nt] = kw__group_str_copy(s->topics[t]);
            if (!names[nt]) {
                rc = KW_ENOMEM;
                break;
            }
            int32_t count = kw__cluster_partition_count(kw__group_cluster(g), names[nt], NULL);
            topics[nt] = (kw__assign_topic){kw_str_c(names[nt]), count};
            nt++;
        }
    }
    kw_arena arena;
    kw__arena_init(&arena, 0);
    char detail[256] = "";
    if (!rc) {
        kw__assign_input in = {.members = g->members, .member_count = g->nmembers,
                               .topics = topics, .topic_count = nt};
        rc = as->assign(&in, &arena, out, detail, sizeof(detail));
    }
    free_sync(g);
    if (!rc) {
        g->sync_assign = calloc(g->nmembers ? g->nmembers : 1, sizeof(*g->sync_assign));
        g->sync_bytes = calloc(g->nmembers ? g->nmembers : 1, sizeof(*g->sync_bytes));
        if (!g->sync_assign || !g->sync_bytes)
            rc = KW_ENOMEM;
    }
    int16_t version = g->min_sub_version < 0 ? 0 : g->min_sub_version;
    for (size_t i = 0; !rc && i < g->nmembers; i++) {
        kw__wr_init(&g->sync_bytes[i]);
        g->nsync_assign++;
        kw__group_assignment a = {.version = version, .assigned = out[i].assigned,
                                  .assigned_count = out[i].assigned_count,
                                  .user_data = KW_BYTES_NULL};
        rc = kw__group_assignment_encode(&g->sync_bytes[i], &a);
        g->sync_assign[i] = (kw_sync_group_req_assignment){
            .member_id = g->members[i].member_id,
            .assignment = (kw_bytes){g->sync_bytes[i].buf, (int32_t)g->sync_bytes[i].len},
        };
        int32_t np = 0;
        for (int32_t t = 0; t < out[i].assigned_count; t++)
            np += out[i].assigned[t].count;
        kw__group_log(g, KW_LOG_DEBUG, "group %s: assigning %" PRId32 " partitions to %.*s",
                      g->group_id, np, (int)g->members[i].member_id.len,
                      g->members[i].member_id.ptr);
    }
    kw__arena_reset(&arena);
    kw__group_watch_free(g);
    g->watch_counts = calloc(nt ? nt : 1, sizeof(*g->watch_counts));
    if (g->watch_counts) {
        g->watch_topics = names; /* taken */
        for (size_t i = 0; i < nt; i++)
            g->watch_counts[i] = topics[i].partitions;
        g->nwatch = nt;
        names = NULL;
        g->next_watch_ns = kw__group_now_ns(g) + (uint64_t)WATCH_MS * 1000000u;
    }
    for (size_t i = 0; names && i < nt; i++)
        free(names[i]);
    free(names);
    free(topics);
    free(out);
    if (rc) {
        char d[300];
        snprintf(d, sizeof(d), "the %s assignor failed: %s", as->name, *detail ? detail : kw_strerror(rc));
        kw__group_retry_later(g, "the assignment", rc, 0, d);
        return;
    }
    sync(g, true);
}

static int build_sync(void *arg, int version, int32_t leader_epoch, const void **req)
{
    (void)leader_epoch;
    kw_group *g = ((kw__group_req *)arg)->g;
    kw_sync_group_req *r = &g->sync_req;
    kw__schema_init(kw__api_sync_group.req, version, r);
    r->group_id = kw_str_c(g->group_id);
    r->generation_id = g->generation;
    r->member_id = kw_str_c(g->member_id ? g->member_id : "");
    r->group_instance_id = g->instance_id ? kw_str_c(g->instance_id) : KW_STR_NULL;
    r->protocol_type = kw_str_c(KW_GROUP_PROTOCOL_TYPE);
    r->protocol_name = g->protocol_name ? kw_str_c(g->protocol_name) : KW_STR_NULL;
    r->assignments.v = g->sync_assign;
    r->assignments.n = (int32_t)g->nsync_assign;
    *req = r;
    return 0;
}

/* The assignment SyncGroup gave: owned partitions added (ASSIGNED) and taken away (revoked). */
static void take_assignment(kw_group *g, const kw__group_assignment *a)
{
    pthread_mutex_lock(&g->mu);
    size_t nnew = 0;
    for (int32_t t = 0; t < a->assigned_count; t++)
        nnew += (size_t)(a->assigned[t].count > 0 ? a->assigned[t].count : 0);
    kw_group_partition *added = calloc(nnew ? nnew : 1, sizeof(*added));
    size_t nadded = 0;
    bool *keep = calloc(g->nparts + nnew + 1, sizeof(*keep));
    for (int32_t t = 0; added && keep && t < a->assigned_count; t++) {
        char *topic = kw__group_str_copy(a->assigned[t].topic);
        for (int32_t j = 0; topic && j < a->assigned[t].count; j++) {
            int32_t part = a->assigned[t].partitions[j];
            kw__group_part *p = kw__group_part_find(g, topic, part);
            if (p && p->owned) {
                keep[p - g->parts] = true;
                continue;
            }
            p = kw__group_part_add(g, topic, part);
            if (!p)
                continue;
            keep[p - g->parts] = true;
            p->owned = true;
            p->start_known = false;
            p->want = false;
            p->start = -1;
            char *t2 = strdup(topic);
            if (t2)
                added[nadded++] = (kw_group_partition){t2, part};
        }
        free(topic);
    }
    /* What was owned and is not in the assignment any more. */
    kw_group_partition *revoked = calloc(g->nparts ? g->nparts : 1, sizeof(*revoked));
    size_t nrevoked = 0;
    for (size_t i = 0; revoked && keep && i < g->nparts; i++)
        if (g->parts[i].owned && !keep[i]) {
            char *t2 = strdup(g->parts[i].topic);
            if (t2)
                revoked[nrevoked++] = (kw_group_partition){t2, g->parts[i].partition};
        }
    g->rebalances++;
    pthread_mutex_unlock(&g->mu);
    free(keep);
    if (added)
        qsort(added, nadded, sizeof(*added), kw__group_part_cmp);
    if (revoked)
        qsort(revoked, nrevoked, sizeof(*revoked), kw__group_part_cmp);
    g->state = KW__GROUP_STABLE;
    uint64_t now = kw__group_now_ns(g);
    g->last_hb_ok_ns = now;
    atomic_store(&g->session_deadline_ns, now + (uint64_t)g->session_ms * 1000000u);
    g->next_hb_ns = now + (uint64_t)g->heartbeat_ms * 1000000u;
    g->next_commit_ns = now + (uint64_t)g->commit_ms * 1000000u;
    kw__group_log(g, KW_LOG_INFO,
                  "group %s: generation %" PRId32 ": %zu partitions added, %zu revoked",
                  g->group_id, g->generation, nadded, nrevoked);
    kw__group_publish(g);
    if (nadded)
        kw__group_emit(g, KW_GROUP_ASSIGNED, added, nadded, 0, 0, NULL);
    kw__group_list_free(added, nadded);
    if (g->state != KW__GROUP_STABLE) { /* the callback closed the member */
        kw__group_list_free(revoked, nrevoked);
        return;
    }
    kw__group_fetch_starts(g);
    if (nrevoked)
        kw__group_revoke_start(g, revoked, nrevoked, KW__GROUP_AFTER_REJOIN);
    else
        free(revoked);
    if (g->state == KW__GROUP_STABLE && g->rejoin_asked)
        kw__group_rejoin(g, "asked during the rebalance");
}

static void sync_done(const kw_cluster_result *res, void *arg)
{
    kw__group_req *r = arg;
    kw_group *g = r->g;
    if (!kw__group_req_current(r) || g->state != KW__GROUP_SYNCING) {
        kw__group_req_free(r);
        return;
    }
    const kw_sync_group_resp *resp = res->resp;
    if (res->err == KW_ECLOSED) {
        g->state = KW__GROUP_CLOSED;
    } else if (res->err || !resp) {
        kw__group_retry_later(g, "SyncGroup", res->err, res->kerr, res->detail);
    } else if (resp->error_code == KW_KERR_REBALANCE_IN_PROGRESS) {
        kw__group_join(g);
    } else if (resp->error_code == KW_KERR_UNKNOWN_MEMBER_ID ||
               resp->error_code == KW_KERR_ILLEGAL_GENERATION) {
        if (resp->error_code == KW_KERR_UNKNOWN_MEMBER_ID)
            kw__group_set_str(&g->member_id, strdup(""));
        kw__group_lose_all(g, kw__kerr_name(resp->error_code));
        kw__group_join(g);
    } else if (resp->error_code == KW_KERR_FENCED_INSTANCE_ID) {
        kw__group_fatal(g, KW_EFENCED, resp->error_code, "SyncGroup: FENCED_INSTANCE_ID");
    } else if (resp->error_code) {
        kw__group_retry_later(g, "SyncGroup", KW_EBROKER, resp->error_code, NULL);
    } else {
        kw_arena arena;
        kw__arena_init(&arena, 0);
        kw__group_assignment a;
        char detail[KW_GROUP_DETAIL_MAX];
        int rc = resp->assignment.len > 0
                     ? kw__group_assignment_decode(resp->assignment.ptr, (size_t)resp->assignment.len,
                                                   &arena, &a, detail, sizeof(detail))
                     : 0;
        if (resp->assignment.len <= 0)
            a = (kw__group_assignment){.user_data = KW_BYTES_NULL};
        if (rc) {
            char d[300];
            snprintf(d, sizeof(d), "the leader's assignment is unreadable: %s", detail);
            kw__group_retry_later(g, "SyncGroup", rc, 0, d);
        } else {
            take_assignment(g, &a);
        }
        kw__arena_reset(&arena);
    }
    kw__group_req_free(r);
}

static void sync(kw_group *g, bool leader_assigns)
{
    if (!leader_assigns)
        free_sync(g);
    g->state = KW__GROUP_SYNCING;
    kw__group_req *r = kw__group_req_new(g);
    if (!r) {
        kw__group_retry_later(g, "SyncGroup", KW_ENOMEM, 0, NULL);
        return;
    }
    uint64_t deadline = kw__group_now_ns(g) + ((uint64_t)g->max_poll_ms + JOIN_MARGIN_MS) * 1000000u;
    int rc = kw__coord_send(kw__group_cluster(g), KW_COORDINATOR_GROUP, g->group_id, KW_API_SYNC_GROUP,
                            build_sync, r, sync_kerr, deadline, sync_done, r);
    if (rc) {
        kw__group_req_free(r);
        kw__group_retry_later(g, "SyncGroup", rc, 0, NULL);
    }
}


/* ---------------------------------------------------------------- the leader's metadata watch */

void kw__group_watch_free(kw_group *g)
{
    for (size_t i = 0; g->watch_topics && i < g->nwatch; i++)
        free(g->watch_topics[i]);
    free(g->watch_topics);
    free(g->watch_counts);
    g->watch_topics = NULL;
    g->watch_counts = NULL;
    g->nwatch = 0;
}

static void watch_done(const kw_cluster_result *res, void *arg)
{
    (void)res;
    kw__group_req *r = arg;
    kw_group *g = r->g;
    /* Every refresh of the round answers (each has a deadline), so watch_out gets back to 0. */
    if (g->watch_out && --g->watch_out == 0 && kw__group_req_current(r) &&
        g->state == KW__GROUP_STABLE && g->leader) {
        for (size_t i = 0; i < g->nwatch; i++) {
            int32_t n = kw__cluster_partition_count(kw__group_cluster(g), g->watch_topics[i], NULL);
            if (n > 0 && n != g->watch_counts[i]) {
                char why[300];
                snprintf(why, sizeof(why), "topic %s has %d partitions, the assignment had %d",
                         g->watch_topics[i], (int)n, (int)g->watch_counts[i]);
                kw__group_rejoin(g, why);
                break;
            }
        }
    }
    kw__group_req_free(r);
}

void kw__group_watch(kw_group *g)
{
    g->next_watch_ns = kw__group_now_ns(g) + (uint64_t)WATCH_MS * 1000000u;
    uint64_t deadline = kw__client_deadline(g->client, g->timeout_ms);
    g->watch_out = 0;
    for (size_t i = 0; i < g->nwatch; i++) {
        kw__group_req *r = kw__group_req_new(g);
        if (!r)
            break;
        if (kw__cluster_refresh(kw__group_cluster(g), g->watch_topics[i], deadline, watch_done, r))
            kw__group_req_free(r);
        else
            g->watch_out++;
    }
}
