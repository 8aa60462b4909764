/* The public client's committed offsets: OffsetCommit and OffsetFetch through the group coordinator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/client_int.h"
#include "net/coord.h"
#include "proto/kerr.h"
#include "proto/msg_group.h"

/*
 * One call for both directions.  The caller's arguments are copied into the
 * call (a commit is retried from them when the coordinator moves), grouped
 * by topic in the order topics first appear.
 */
typedef struct offsets_call {
    kw_call base;
    int api_key; /* KW_API_OFFSET_COMMIT or KW_API_OFFSET_FETCH */
    char *group, *member_id, *instance_id;
    int32_t generation;
    bool all; /* fetch: every partition the group has */
    bool require_stable;
    kw_client_committed *parts; /* copies: topic and metadata strings owned */
    size_t count;
    /* Request arrays, rebuilt per attempt (the version may differ). */
    size_t ntopics;
    size_t *topic_first; /* index in parts of each topic's first partition */
    union {
        kw_offset_commit_req commit;
        kw_offset_fetch_req fetch;
    } req;
    void *req_mem; /* the arrays of the request being sent */
    kw_offset_fetch_req_group fetch_group;
} offsets_call;

static void committed_free(kw_client_committed *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free((char *)v[i].topic);
        free((char *)v[i].metadata);
    }
    free(v);
}

KW_API void kw_client_offsets_result_free(kw_client_offsets_result *r)
{
    if (!r)
        return;
    committed_free(r->offsets, r->count);
    r->offsets = NULL;
    r->count = 0;
}

static void call_free(offsets_call *k)
{
    free(k->group);
    free(k->member_id);
    free(k->instance_id);
    committed_free(k->parts, k->count);
    free(k->topic_first);
    free(k->req_mem);
    free(k);
}

static char *strdup_or_null(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

/* ---------------------------------------------------------------- requests */

/* Partitions of the i-th topic: parts[topic_first[i]] and every later one with that name. */
static size_t topic_parts(const offsets_call *k, size_t t, size_t *idx)
{
    const char *name = k->parts[k->topic_first[t]].topic;
    size_t n = 0;
    for (size_t i = k->topic_first[t]; i < k->count; i++)
        if (strcmp(k->parts[i].topic, name) == 0)
            idx[n++] = i;
    return n;
}

static int build_commit(offsets_call *k, int version)
{
    kw_offset_commit_req *r = &k->req.commit;
    kw__schema_init(kw__api_offset_commit.req, version, r);
    r->group_id = kw_str_c(k->group);
    r->generation_id_or_member_epoch = k->member_id ? k->generation : -1;
    r->member_id = kw_str_c(k->member_id ? k->member_id : "");
    r->group_instance_id = kw_str_c(k->instance_id);
    free(k->req_mem);
    k->req_mem = NULL;
    /* One block the call owns: the topics first, then the partitions. */
    size_t *idx = malloc(k->count * sizeof(*idx));
    void *mem = malloc(k->ntopics * sizeof(kw_offset_commit_req_topic) +
                       k->count * sizeof(kw_offset_commit_req_partition));
    if (!idx || !mem) {
        free(idx);
        free(mem);
        return KW_ENOMEM;
    }
    kw_offset_commit_req_topic *mt = mem;
    kw_offset_commit_req_partition *mp = (void *)(mt + k->ntopics);
    size_t np = 0;
    for (size_t i = 0; i < k->ntopics; i++) {
        size_t n = topic_parts(k, i, idx);
        mt[i] = (kw_offset_commit_req_topic){.name = kw_str_c(k->parts[idx[0]].topic)};
        mt[i].partitions.v = &mp[np];
        mt[i].partitions.n = (int32_t)n;
        for (size_t j = 0; j < n; j++) {
            const kw_client_committed *c = &k->parts[idx[j]];
            mp[np++] = (kw_offset_commit_req_partition){
                .partition_index = c->partition,
                .committed_offset = c->offset,
                .committed_leader_epoch = c->leader_epoch,
                .commit_timestamp = -1,
                .committed_metadata = kw_str_c(c->metadata),
            };
        }
    }
    free(idx);
    r->topics.v = mt;
    r->topics.n = (int32_t)k->ntopics;
    k->req_mem = mem;
    return 0;
}

static int build_fetch(offsets_call *k, int version)
{
    kw_offset_fetch_req *r = &k->req.fetch;
    kw__schema_init(kw__api_offset_fetch.req, version, r);
    r->require_stable = k->require_stable;
    free(k->req_mem);
    k->req_mem = NULL;
    if (k->all) {
        r->topics.n = -1; /* null: every topic (v2+) */
    } else {
        size_t *idx = malloc(k->count * sizeof(*idx));
        void *mem = malloc(k->ntopics * sizeof(kw_offset_fetch_req_topic) +
                           k->count * sizeof(int32_t));
        if (!idx || !mem) {
            free(idx);
            free(mem);
            return KW_ENOMEM;
        }
        /* The single-group and the grouped topic forms have the same layout. */
        kw_offset_fetch_req_topic *mt = mem;
        int32_t *mp = (void *)(mt + k->ntopics);
        size_t np = 0;
        for (size_t i = 0; i < k->ntopics; i++) {
            size_t n = topic_parts(k, i, idx);
            mt[i] = (kw_offset_fetch_req_topic){.name = kw_str_c(k->parts[idx[0]].topic)};
            mt[i].partition_indexes.v = &mp[np];
            mt[i].partition_indexes.n = (int32_t)n;
            for (size_t j = 0; j < n; j++)
                mp[np++] = k->parts[idx[j]].partition;
        }
        free(idx);
        k->req_mem = mem;
        r->topics.v = mt;
        r->topics.n = (int32_t)k->ntopics;
    }
    if (version >= 8) {
        kw_offset_fetch_req_group *g = &k->fetch_group;
        *g = (kw_offset_fetch_req_group){.group_id = kw_str_c(k->group),
                                         .member_id = KW_STR_NULL,
                                         .member_epoch = -1};
        g->topics.v = (kw_offset_fetch_req_group_topic *)r->topics.v;
        g->topics.n = r->topics.n;
        r->groups.v = g;
        r->groups.n = 1;
        r->topics.v = NULL;
        r->topics.n = 0;
    } else {
        r->group_id = kw_str_c(k->group);
    }
    return 0;
}

static int build(void *arg, int version, int32_t leader_epoch, const void **req)
{
    (void)leader_epoch;
    offsets_call *k = arg;
    int rc = k->api_key == KW_API_OFFSET_COMMIT ? build_commit(k, version) : build_fetch(k, version);
    *req = &k->req;
    return rc;
}

/* The coordinator-level error: OffsetCommit has only per-partition ones (the first tells). */
static int16_t commit_kerr(const void *resp, int version)
{
    (void)version;
    const kw_offset_commit_resp *r = resp;
    for (int32_t i = 0; i < r->topics.n; i++)
        for (int32_t j = 0; j < r->topics.v[i].partitions.n; j++)
            if (r->topics.v[i].partitions.v[j].error_code)
                return r->topics.v[i].partitions.v[j].error_code;
    return 0;
}

static int16_t fetch_kerr(const void *resp, int version)
{
    const kw_offset_fetch_resp *r = resp;
    if (version >= 8)
        return r->groups.n > 0 ? r->groups.v[0].error_code : 0;
    return r->error_code;
}

/* ---------------------------------------------------------------- results */

static char *str_dup(kw_str s, bool *oom)
{
    if (s.len < 0)
        return NULL;
    char *d = malloc((size_t)s.len + 1);
    if (!d) {
        *oom = true;
        return NULL;
    }
    memcpy(d, s.ptr, (size_t)s.len);
    d[s.len] = 0;
    return d;
}

static void commit_result(const offsets_call *k, const kw_offset_commit_resp *r,
                          kw_client_offsets_result *out, bool *oom)
{
    out->offsets = calloc(k->count ? k->count : 1, sizeof(*out->offsets));
    if (!out->offsets) {
        *oom = true;
        return;
    }
    for (size_t i = 0; i < k->count; i++) {
        kw_client_committed *o = &out->offsets[out->count++];
        *o = k->parts[i];
        o->topic = strdup_or_null(k->parts[i].topic, oom);
        o->metadata = strdup_or_null(k->parts[i].metadata, oom);
        o->kerr = KW_KERR_UNKNOWN_TOPIC_OR_PARTITION; /* unless the answer names it */
        for (int32_t t = 0; t < r->topics.n; t++)
            if (kw_str_eq(r->topics.v[t].name, o->topic ? o->topic : ""))
                for (int32_t j = 0; j < r->topics.v[t].partitions.n; j++)
                    if (r->topics.v[t].partitions.v[j].partition_index == o->partition)
                        o->kerr = r->topics.v[t].partitions.v[j].error_code;
    }
}

static void fetch_add(kw_client_offsets_result *out, size_t *cap, kw_str topic, int32_t partition,
                      int64_t offset, int32_t epoch, kw_str metadata, int16_t kerr, bool *oom)
{
    if (out->count == *cap) {
        size_t n = *cap ? *cap * 2 : 16;
        kw_client_committed *v = realloc(out->offsets, n * sizeof(*v));
        if (!v) {
            *oom = true;
            return;
        }
        out->offsets = v;
        *cap = n;
    }
    kw_client_committed *o = &out->offsets[out->count++];
    *o = (kw_client_committed){.partition = partition, .offset = offset, .leader_epoch = epoch,
                               .kerr = kerr};
    o->topic = str_dup(topic, oom);
    o->metadata = str_dup(metadata, oom);
}

static void fetch_result(const kw_offset_fetch_resp *r, int version,
                         kw_client_offsets_result *out, bool *oom)
{
    size_t cap = 0;
    if (version >= 8) {
        for (int32_t g = 0; g < r->groups.n; g++)
            for (int32_t t = 0; t < r->groups.v[g].topics.n; t++) {
                const kw_offset_fetch_resp_group_topic *rt = &r->groups.v[g].topics.v[t];
                for (int32_t j = 0; j < rt->partitions.n; j++) {
                    const kw_offset_fetch_resp_group_partition *p = &rt->partitions.v[j];
                    fetch_add(out, &cap, rt->name, p->partition_index, p->committed_offset,
                              p->committed_leader_epoch, p->metadata, p->error_code, oom);
                }
            }
        return;
    }
    for (int32_t t = 0; t < r->topics.n; t++) {
        const kw_offset_fetch_resp_topic *rt = &r->topics.v[t];
        for (int32_t j = 0; j < rt->partitions.n; j++) {
            const kw_offset_fetch_resp_partition *p = &rt->partitions.v[j];
            fetch_add(out, &cap, rt->name, p->partition_index, p->committed_offset,
                      p->committed_leader_epoch, p->metadata, p->error_code, oom);
        }
    }
}

static void on_done(const kw_cluster_result *res, void *arg)
{
    offsets_call *k = arg;
    kw_client_offsets_result stack = {0};
    kw_waiter *w = k->base.w;
    kw_client_offsets_result *r = w ? w->out : &stack;
    memset(r, 0, sizeof(*r));
    r->err = res->err;
    r->kerr = res->kerr;
    kw__client_detail(r->detail, res->err, res->detail);
    bool oom = false;
    if (!res->err && res->resp) {
        if (k->api_key == KW_API_OFFSET_COMMIT)
            commit_result(k, res->resp, r, &oom);
        else
            fetch_result(res->resp, res->version, r, &oom);
        if (oom) {
            kw_client_offsets_result_free(r);
            r->err = KW_ENOMEM;
            kw__client_detail(r->detail, KW_ENOMEM, "copying the offsets");
        }
    }
    if (!r->err && r->kerr) { /* a group-level error: nothing per partition to trust */
        r->err = KW_EBROKER;
        snprintf(r->detail, sizeof(r->detail), "%s for group %s: %s",
                 k->api_key == KW_API_OFFSET_COMMIT ? "OffsetCommit" : "OffsetFetch", k->group,
                 kw__kerr_name(r->kerr));
    }
    for (size_t i = 0; !r->err && i < r->count; i++)
        if (r->offsets[i].kerr) {
            r->err = KW_EBROKER;
            r->kerr = r->offsets[i].kerr;
            snprintf(r->detail, sizeof(r->detail), "%s for group %s: %s/%d: %s",
                     k->api_key == KW_API_OFFSET_COMMIT ? "OffsetCommit" : "OffsetFetch",
                     k->group, r->offsets[i].topic ? r->offsets[i].topic : "",
                     r->offsets[i].partition, kw__kerr_name(r->offsets[i].kerr));
        }
    kw_client_offsets_cb *cb = (kw_client_offsets_cb *)k->base.cb;
    void *cb_arg = k->base.cb_arg;
    call_free(k);
    if (w) {
        kw__waiter_done(w);
    } else {
        cb(r, cb_arg);
        kw_client_offsets_result_free(r);
    }
}

static int start(kw_call *base)
{
    offsets_call *k = (offsets_call *)base;
    return kw__coord_send(base->c->cluster, KW_COORDINATOR_GROUP, k->group, k->api_key, build, k,
                          k->api_key == KW_API_OFFSET_COMMIT ? commit_kerr : fetch_kerr,
                          base->deadline_ns, on_done, k);
}

/* ---------------------------------------------------------------- entry points */

static offsets_call *call_new(kw_client *c, int api_key, const char *group,
                              const kw_client_committed *parts, size_t count, uint32_t timeout_ms,
                              int *rc)
{
    *rc = KW_EINVAL;
    if (!c || !group || !*group || (count && !parts))
        return NULL;
    for (size_t i = 0; i < count; i++)
        if (!parts[i].topic || !*parts[i].topic || parts[i].partition < 0)
            return NULL;
    if (count > INT32_MAX)
        return NULL;
    *rc = KW_ENOMEM;
    offsets_call *k = calloc(1, sizeof(*k));
    if (!k)
        return NULL;
    bool oom = false;
    k->api_key = api_key;
    k->group = strdup_or_null(group, &oom);
    k->count = count;
    k->parts = calloc(count ? count : 1, sizeof(*k->parts));
    k->topic_first = calloc(count ? count : 1, sizeof(*k->topic_first));
    if (oom || !k->parts || !k->topic_first) {
        call_free(k);
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        k->parts[i] = parts[i];
        k->parts[i].topic = strdup_or_null(parts[i].topic, &oom);
        k->parts[i].metadata = strdup_or_null(parts[i].metadata, &oom);
        bool seen = false;
        for (size_t t = 0; t < k->ntopics && !seen; t++)
            seen = strcmp(k->parts[k->topic_first[t]].topic ? k->parts[k->topic_first[t]].topic : "",
                          parts[i].topic) == 0;
        if (!seen)
            k->topic_first[k->ntopics++] = i;
    }
    if (oom) {
        call_free(k);
        return NULL;
    }
    k->base.c = c;
    k->base.start = start;
    k->base.done = on_done;
    k->base.deadline_ns = kw__client_deadline(c, timeout_ms);
    *rc = 0;
    return k;
}

static offsets_call *commit_new(kw_client *c, const kw_client_offset_commit_args *a, int *rc)
{
    if (!a || !a->count) {
        *rc = KW_EINVAL;
        return NULL;
    }
    for (size_t i = 0; a->offsets && i < a->count; i++)
        if (a->offsets[i].offset < 0) {
            *rc = KW_EINVAL;
            return NULL;
        }
    offsets_call *k = call_new(c, KW_API_OFFSET_COMMIT, a->group, a->offsets, a->count,
                               a->timeout_ms, rc);
    if (!k)
        return NULL;
    bool oom = false;
    k->member_id = strdup_or_null(a->member_id, &oom);
    k->instance_id = strdup_or_null(a->group_instance_id, &oom);
    k->generation = a->generation;
    if (oom) {
        call_free(k);
        *rc = KW_ENOMEM;
        return NULL;
    }
    return k;
}

static offsets_call *fetch_new(kw_client *c, const kw_client_offset_fetch_args *a, int *rc)
{
    if (!a) {
        *rc = KW_EINVAL;
        return NULL;
    }
    offsets_call *k = call_new(c, KW_API_OFFSET_FETCH, a->group, a->partitions,
                               a->partitions ? a->count : 0, a->timeout_ms, rc);
    if (!k)
        return NULL;
    k->all = !a->partitions;
    k->require_stable = a->require_stable;
    return k;
}

static void call_drop(kw_call *k)
{
    call_free((offsets_call *)k);
}

static int submit_async(kw_client *c, offsets_call *k, kw_client_offsets_cb *cb, void *arg)
{
    return kw__client_call_async(c, &k->base, (void (*)(void))cb, arg, call_drop);
}

static int submit_wait(kw_client *c, offsets_call *k, int rc, kw_client_offsets_result *out)
{
    if (k && (rc = kw__client_call_wait(c, &k->base, out, call_drop)) == 0)
        return out->err;
    out->err = rc;
    out->kerr = 0;
    kw__client_detail(out->detail, rc, NULL);
    return rc;
}

KW_API int kw_client_offset_commit_async(kw_client *c, const kw_client_offset_commit_args *a,
                                         kw_client_offsets_cb *cb, void *arg)
{
    int rc;
    offsets_call *k = cb ? commit_new(c, a, &rc) : (rc = KW_EINVAL, NULL);
    return k ? submit_async(c, k, cb, arg) : rc;
}

KW_API int kw_client_offset_commit(kw_client *c, const kw_client_offset_commit_args *a,
                                   kw_client_offsets_result *out)
{
    if (!out)
        return KW_EINVAL;
    memset(out, 0, sizeof(*out));
    int rc;
    offsets_call *k = commit_new(c, a, &rc);
    return submit_wait(c, k, rc, out);
}

KW_API int kw_client_offset_fetch_async(kw_client *c, const kw_client_offset_fetch_args *a,
                                        kw_client_offsets_cb *cb, void *arg)
{
    int rc;
    offsets_call *k = cb ? fetch_new(c, a, &rc) : (rc = KW_EINVAL, NULL);
    return k ? submit_async(c, k, cb, arg) : rc;
}

KW_API int kw_client_offset_fetch(kw_client *c, const kw_client_offset_fetch_args *a,
                                  kw_client_offsets_result *out)
{
    if (!out)
        return KW_EINVAL;
    memset(out, 0, sizeof(*out));
    int rc;
    offsets_call *k = fetch_new(c, a, &rc);
    return submit_wait(c, k, rc, out);
}
