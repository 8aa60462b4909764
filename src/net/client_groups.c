/* The public client's consumer-group listing and description: ListGroups to every broker, DescribeGroups (then ConsumerGroupDescribe) to each group's coordinator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/client_int.h"
#include "net/coord.h"
#include "net/group_protocol.h"
#include "proto/kerr.h"
#include "proto/msg_data.h"
#include "proto/msg_group.h"
#include "proto/msg_group2.h"

/*
 * Both calls fan out: one request per broker (list) or per group
 * (describe), all in flight at once, each with a small context of its own
 * (its request struct: the version can differ per broker).  Everything runs
 * on the loop thread, so the call's counters need no lock; the call ends
 * when the last request has ended.  The result is built in an arena of its
 * own, which the blocking form hands to the caller (priv_) and the async
 * form frees after the callback.
 */

/* Longest group list kept from one broker's answer, against a hostile count. */
#define GROUPS_MAX_PER_BROKER (1 << 20)

static kw_arena *arena_new(void)
{
    kw_arena *a = malloc(sizeof(*a));
    if (a)
        kw__arena_init(a, 0);
    return a;
}

static void arena_free(void *p)
{
    if (p) {
        kw__arena_reset(p);
        free(p);
    }
}

static void *amem(kw_arena *a, size_t n)
{
    return kw__arena_alloc(a, n ? n : 1);
}

/* A kw_str as a C string in the arena (NULL for a null string); *oom set on failure. */
static const char *astr(kw_arena *a, kw_str s, bool *oom)
{
    if (s.len < 0)
        return NULL;
    char *d = amem(a, (size_t)s.len + 1);
    if (!d) {
        *oom = true;
        return NULL;
    }
    if (s.len)
        memcpy(d, s.ptr, (size_t)s.len);
    d[s.len] = 0;
    return d;
}

static const char *adup(kw_arena *a, const char *s, bool *oom)
{
    return s ? astr(a, kw_str_c(s), oom) : NULL;
}

/* ================================================================ ListGroups */

typedef struct list_call list_call;

/* One broker's ListGroups. */
typedef struct list_node {
    list_call *k;
    int32_t node_id;
    kw_list_groups_req req;
} list_node;

struct list_call {
    kw_call base;
    kw_arena *args;   /* the copied filters */
    kw_str *states, *types;
    size_t state_count, type_count;
    kw_metadata_req md;
    list_node *nodes;
    size_t node_count, pending;
    kw_arena *mem; /* the result's */
    kw_client_group_listing *groups;
    size_t group_count, group_cap;
    bool oom;
    int err; /* the first broker's failure */
    int16_t kerr;
    char detail[KW_CLIENT_DETAIL_MAX];
    size_t failed;
};

static void list_free(list_call *k)
{
    arena_free(k->args);
    arena_free(k->mem);
    free(k->nodes);
    free(k->groups);
    free(k);
}

KW_API void kw_client_list_groups_result_free(kw_client_list_groups_result *r)
{
    if (!r)
        return;
    arena_free(r->priv_);
    r->priv_ = NULL;
    r->groups = NULL;
    r->group_count = 0;
}

static int cmp_listing(const void *a, const void *b)
{
    const kw_client_group_listing *x = a, *y = b;
    int c = strcmp(x->group_id, y->group_id);
    return c ? c : (x->coordinator > y->coordinator) - (x->coordinator < y->coordinator);
}

/* Delivers the result once (from the metadata failure, or the last broker's answer). */
static void list_finish(list_call *k)
{
    kw_client_list_groups_result stack = {0};
    kw_waiter *w = k->base.w;
    kw_client_list_groups_result *r = w ? w->out : &stack;
    memset(r, 0, sizeof(*r));
    r->err = k->err;
    r->kerr = k->kerr;
    memcpy(r->detail, k->detail, sizeof(r->detail));
    r->broker_count = k->node_count;
    r->broker_failed = k->failed;
    if (k->oom) {
        r->err = KW_ENOMEM;
        kw__client_detail(r->detail, KW_ENOMEM, "building the group list");
    } else if (k->group_count) {
        /* The listings move into the result's arena, sorted: brokers answer in any order. */
        kw_client_group_listing *g = amem(k->mem, k->group_count * sizeof(*g));
        if (g) {
            memcpy(g, k->groups, k->group_count * sizeof(*g));
            qsort(g, k->group_count, sizeof(*g), cmp_listing);
            r->groups = g;
            r->group_count = k->group_count;
        } else {
            r->err = KW_ENOMEM;
            kw__client_detail(r->detail, KW_ENOMEM, "building the group list");
        }
    }
    kw_arena *mem = k->mem;
    k->mem = NULL;
    kw_client_list_groups_cb *cb = (kw_client_list_groups_cb *)k->base.cb;
    void *cb_arg = k->base.cb_arg;
    list_free(k);
    if (w) {
        r->priv_ = mem;
        kw__waiter_done(w);
    } else {
        cb(r, cb_arg);
        arena_free(mem);
    }
}

static void list_fail_node(list_call *k, int32_t node, int err, int16_t kerr, const char *why)
{
    k->failed++;
    if (k->err)
        return;
    k->err = err;
    k->kerr = kerr;
    char text[KW_CLIENT_DETAIL_MAX];
    kw__client_detail(text, err, why);
    snprintf(k->detail, sizeof(k->detail), "ListGroups to broker %d: %.400s", (int)node, text);
}

static int build_list(void *arg, int version, int32_t leader_epoch, const void **req)
{
    (void)leader_epoch;
    list_node *n = arg;
    kw_list_groups_req *r = &n->req;
    kw__schema_init(kw__api_list_groups.req, version, r);
    r->states_filter.v = n->k->states;
    r->states_filter.n = (int32_t)n->k->state_count;
    r->types_filter.v = n->k->types;
    r->types_filter.n = (int32_t)n->k->type_count;
    *req = r;
    return 0;
}

static void list_node_done(const kw_cluster_result *res, void *arg)
{
    list_node *n = arg;
    list_call *k = n->k;
    const kw_list_groups_resp *p = res->resp;
    if (res->err) {
        list_fail_node(k, n->node_id, res->err, res->kerr, res->detail);
    } else if (!p) {
        list_fail_node(k, n->node_id, KW_EMALFORMED, 0, "no ListGroups response to read");
    } else if (p->error_code) {
        list_fail_node(k, n->node_id, KW_EBROKER, p->error_code, kw__kerr_name(p->error_code));
    } else {
        size_t m = (size_t)(p->groups.n > 0 ? p->groups.n : 0);
        if (m > GROUPS_MAX_PER_BROKER)
            m = GROUPS_MAX_PER_BROKER;
        if (k->group_count + m > k->group_cap) {
            size_t cap = (k->group_count + m) * 2;
            kw_client_group_listing *g = realloc(k->groups, cap * sizeof(*g));
            if (!g)
                k->oom = true;
            else
                k->groups = g, k->group_cap = cap;
        }
        for (size_t i = 0; i < m && !k->oom; i++) {
            const kw_list_groups_resp_group *s = &p->groups.v[i];
            kw_client_group_listing *d = &k->groups[k->group_count++];
            d->group_id = astr(k->mem, s->group_id, &k->oom);
            d->protocol_type = astr(k->mem, s->protocol_type, &k->oom);
            d->state = res->version >= 4 ? astr(k->mem, s->group_state, &k->oom) : NULL;
            d->type = res->version >= 5 ? astr(k->mem, s->group_type, &k->oom) : NULL;
            d->coordinator = n->node_id;
            if (!d->group_id)
                d->group_id = "";
            if (!d->protocol_type)
                d->protocol_type = "";
        }
    }
    if (--k->pending == 0)
        list_finish(k);
}

static int build_metadata(void *arg, int version, int32_t leader_epoch, const void **req)
{
    (void)leader_epoch;
    list_call *k = arg;
    kw__schema_init(kw__api(KW_API_METADATA)->req, version, &k->md);
    k->md.topics.n = 0; /* brokers only (an empty list; null would mean every topic) */
    k->md.allow_auto_topic_creation = false;
    *req = &k->md;
    return 0;
}

static void list_metadata_done(const kw_cluster_result *res, void *arg)
{
    list_call *k = arg;
    const kw_metadata_resp *p = res->resp;
    if (res->err || !p) {
        k->err = res->err ? res->err : KW_EMALFORMED;
        k->kerr = res->kerr;
        char text[KW_CLIENT_DETAIL_MAX];
        kw__client_detail(text, k->err, res->err ? res->detail : "no Metadata response to read");
        snprintf(k->detail, sizeof(k->detail), "finding the brokers: %.400s", text);
        list_finish(k);
        return;
    }
    size_t nb = (size_t)(p->brokers.n > 0 ? p->brokers.n : 0);
    k->nodes = calloc(nb ? nb : 1, sizeof(*k->nodes));
    if (!k->nodes) {
        k->oom = true;
        list_finish(k);
        return;
    }
    for (size_t i = 0; i < nb; i++) {
        bool seen = false; /* a broker listed twice is asked once */
        for (size_t j = 0; j < k->node_count; j++)
            seen |= k->nodes[j].node_id == p->brokers.v[i].node_id;
        if (!seen)
            k->nodes[k->node_count++] = (list_node){.k = k, .node_id = p->brokers.v[i].node_id};
    }
    if (!k->node_count) {
        k->err = KW_EMALFORMED;
        kw__client_detail(k->detail, k->err, "the Metadata response lists no broker");
        list_finish(k);
        return;
    }
    /* pending counts the sends still to make too, so no answer can finish the call early */
    k->pending = k->node_count + 1;
    kw_cluster *cl = k->base.c->cluster;
    for (size_t i = 0; i < k->node_count; i++) {
        list_node *n = &k->nodes[i];
        int rc = kw__cluster_send_node(cl, n->node_id, KW_API_LIST_GROUPS, build_list, n,
                                       k->base.deadline_ns, list_node_done, n);
        if (rc) {
            list_fail_node(k, n->node_id, rc, 0, NULL);
            k->pending--;
        }
    }
    if (--k->pending == 0)
        list_finish(k);
}

/* kw_call's done: a call failed before it reached the cluster (start failed, client closing). */
static void list_call_failed(const kw_cluster_result *res, void *arg)
{
    list_call *k = arg;
    k->err = res->err;
    k->kerr = res->kerr;
    kw__client_detail(k->detail, res->err, res->detail);
    list_finish(k);
}

static int list_start(kw_call *base)
{
    list_call *k = (list_call *)base;
    return kw__cluster_send_any(base->c->cluster, KW_API_METADATA, build_metadata, k,
                                base->deadline_ns, list_metadata_done, k);
}

static kw_str *copy_strs(kw_arena *a, const char *const *v, size_t n, bool *bad, bool *oom)
{
    kw_str *d = amem(a, n * sizeof(*d));
    if (!d) {
        *oom = true;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!v[i] || !*v[i]) {
            *bad = true;
            return d;
        }
        const char *s = adup(a, v[i], oom);
        d[i] = s ? kw_str_c(s) : KW_STR_NULL;
    }
    return d;
}

static list_call *list_new(kw_client *c, const kw_client_list_groups_args *a, int *rc)
{
    static const kw_client_list_groups_args none = {0};
    if (!a)
        a = &none;
    *rc = KW_EINVAL;
    if (!c || (a->state_count && !a->states) || (a->type_count && !a->types) ||
        a->state_count > INT32_MAX || a->type_count > INT32_MAX)
        return NULL;
    *rc = KW_ENOMEM;
    list_call *k = calloc(1, sizeof(*k));
    if (!k)
        return NULL;
    k->args = arena_new();
    k->mem = arena_new();
    bool bad = false, oom = !k->args || !k->mem;
    if (!oom) {
        k->states = copy_strs(k->args, a->states, a->state_count, &bad, &oom);
        k->types = copy_strs(k->args, a->types, a->type_count, &bad, &oom);
    }
    if (oom || bad) {
        *rc = bad ? KW_EINVAL : KW_ENOMEM;
        list_free(k);
        return NULL;
    }
    k->state_count = a->state_count;
    k->type_count = a->type_count;
    k->base.c = c;
    k->base.start = list_start;
    k->base.done = list_call_failed;
    k->base.deadline_ns = kw__client_deadline(c, a->timeout_ms);
    *rc = 0;
    return k;
}

static void list_drop(kw_call *k)
{
    list_free((list_call *)k);
}

KW_API int kw_client_list_groups_async(kw_client *c, const kw_client_list_groups_args *a,
                                       kw_client_list_groups_cb *cb, void *arg)
{
    int rc;
    list_call *k = cb ? list_new(c, a, &rc) : (rc = KW_EINVAL, NULL);
    if (!k)
        return rc;
    return kw__client_call_async(c, &k->base, (void (*)(void))cb, arg, list_drop);
}

KW_API int kw_client_list_groups(kw_client *c, const kw_client_list_groups_args *a,
                                 kw_client_list_groups_result *out)
{
    if (!out)
        return KW_EINVAL;
    memset(out, 0, sizeof(*out));
    int rc;
    list_call *k = list_new(c, a, &rc);
    if (k && (rc = kw__client_call_wait(c, &k->base, out, list_drop)) == 0)
        return out->err;
    out->err = rc;
    kw__client_detail(out->detail, rc, NULL);
    return rc;
}

/* ================================================================ DescribeGroups */

typedef struct describe_call describe_call;

/* One group's DescribeGroups, to its coordinator. */
typedef struct describe_one {
    describe_call *k;
    size_t index;
    kw_str name;
    kw_describe_groups_req req;
    kw_consumer_group_describe_req cg_req; /* the second question, for a KIP-848 group */
} describe_one;

struct describe_call {
    kw_call base;
    kw_arena *mem; /* the copied names, then the result */
    describe_one *ones;
    kw_client_group_description *groups;
    size_t count, pending;
    bool oom;
    int err; /* the first failure */
    int16_t kerr;
    char detail[KW_CLIENT_DETAIL_MAX];
};

static void describe_free(describe_call *k)
{
    arena_free(k->mem);
    free(k->ones);
    free(k);
}

KW_API void kw_client_describe_groups_result_free(kw_client_describe_groups_result *r)
{
    if (!r)
        return;
    arena_free(r->priv_);
    r->priv_ = NULL;
    r->groups = NULL;
    r->group_count = 0;
}

static void describe_finish(describe_call *k)
{
    kw_client_describe_groups_result stack = {0};
    kw_waiter *w = k->base.w;
    kw_client_describe_groups_result *r = w ? w->out : &stack;
    memset(r, 0, sizeof(*r));
    r->err = k->oom ? KW_ENOMEM : k->err;
    r->kerr = k->oom ? 0 : k->kerr;
    if (k->oom)
        kw__client_detail(r->detail, KW_ENOMEM, "building the group descriptions");
    else
        memcpy(r->detail, k->detail, sizeof(r->detail));
    if (!k->oom) {
        r->groups = k->groups;
        r->group_count = k->count;
    }
    kw_arena *mem = k->mem;
    k->mem = NULL;
    kw_client_describe_groups_cb *cb = (kw_client_describe_groups_cb *)k->base.cb;
    void *cb_arg = k->base.cb_arg;
    describe_free(k);
    if (w) {
        r->priv_ = mem;
        kw__waiter_done(w);
    } else {
        cb(r, cb_arg);
        arena_free(mem);
    }
}

static int build_describe(void *arg, int version, int32_t leader_epoch, const void **req)
{
    (void)leader_epoch;
    describe_one *o = arg;
    kw__schema_init(kw__api_describe_groups.req, version, &o->req);
    o->req.groups.v = &o->name;
    o->req.groups.n = 1;
    *req = &o->req;
    return 0;
}

/* The group's own error: NOT_COORDINATOR and the loading ones make kw__coord_send look again. */
static int16_t describe_kerr(const void *resp, int version)
{
    (void)version;
    const kw_describe_groups_resp *r = resp;
    return r->groups.n > 0 ? r->groups.v[0].error_code : 0;
}

/*
 * Decodes a "consumer" member's ConsumerProtocolAssignment into the result's
 * arena (assigned, assigned_count), or says in assignment_err why not.
 */
static void decode_assignment(kw_arena *mem, const char *protocol_type, kw_client_group_member *m,
                              bool *oom)
{
    if (strcmp(protocol_type, KW_GROUP_PROTOCOL_TYPE) != 0) {
        m->assignment_err = m->assignment_len ? KW_EUNSUPPORTED : 0;
        return;
    }
    if (!m->assignment_len)
        return;
    kw__group_assignment a;
    int rc = kw__group_assignment_decode(m->assignment, m->assignment_len, mem, &a, NULL, 0);
    if (rc == KW_ENOMEM)
        *oom = true;
    if (rc) {
        m->assignment_err = rc;
        return;
    }
    size_t n = (size_t)(a.assigned_count > 0 ? a.assigned_count : 0);
    kw_client_topic_partitions *t = amem(mem, n * sizeof(*t));
    if (!t) {
        *oom = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const kw__group_topic_partitions *s = &a.assigned[i];
        size_t np = (size_t)(s->count > 0 ? s->count : 0);
        int32_t *pv = amem(mem, np * sizeof(*pv));
        if (!pv) {
            *oom = true;
            return;
        }
        if (np)
            memcpy(pv, s->partitions, np * sizeof(*pv));
        t[i] = (kw_client_topic_partitions){.topic = astr(mem, s->topic, oom),
                                            .partitions = pv,
                                            .partition_count = np};
        if (!t[i].topic)
            t[i].topic = "";
    }
    m->assigned = t;
    m->assigned_count = n;
}

/* Copies a member into the result (the assignment is decoded by decode_assignment). */
static void copy_member(describe_call *k, kw_client_group_member *d,
                        const kw_describe_groups_resp_member *s)
{
    d->member_id = astr(k->mem, s->member_id, &k->oom);
    d->group_instance_id = astr(k->mem, s->group_instance_id, &k->oom);
    d->client_id = astr(k->mem, s->client_id, &k->oom);
    d->client_host = astr(k->mem, s->client_host, &k->oom);
    if (s->member_metadata.len > 0) {
        uint8_t *b = amem(k->mem, (size_t)s->member_metadata.len);
        if (!b)
            k->oom = true;
        else
            memcpy(b, s->member_metadata.ptr, (size_t)s->member_metadata.len);
        d->metadata = b;
        d->metadata_len = b ? (size_t)s->member_metadata.len : 0;
    }
    if (s->member_assignment.len > 0) {
        uint8_t *b = amem(k->mem, (size_t)s->member_assignment.len);
        if (!b)
            k->oom = true;
        else
            memcpy(b, s->member_assignment.ptr, (size_t)s->member_assignment.len);
        d->assignment = b;
        d->assignment_len = b ? (size_t)s->member_assignment.len : 0;
    }
}

static int build_cg_describe(void *arg, int version, int32_t leader_epoch, const void **req)
{
    (void)leader_epoch;
    describe_one *o = arg;
    kw__schema_init(kw__api_consumer_group_describe.req, version, &o->cg_req);
    o->cg_req.group_ids.v = &o->name;
    o->cg_req.group_ids.n = 1;
    *req = &o->cg_req;
    return 0;
}

static int16_t cg_describe_kerr(const void *resp, int version)
{
    (void)version;
    const kw_consumer_group_describe_resp *r = resp;
    return r->groups.n > 0 ? r->groups.v[0].error_code : 0;
}

/* ConsumerGroupDescribe's topic partitions (named by the broker) into the result's arena. */
static const kw_client_topic_partitions *
copy_cg_assignment(describe_call *k, const kw_consumer_group_describe_resp_assignment *a,
                   size_t *count)
{
    size_t n = (size_t)(a->topic_partitions.n > 0 ? a->topic_partitions.n : 0);
    kw_client_topic_partitions *t = amem(k->mem, n * sizeof(*t));
    *count = 0;
    if (!t) {
        k->oom = true;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const kw_consumer_group_describe_resp_topic *s = &a->topic_partitions.v[i];
        size_t np = (size_t)(s->partitions.n > 0 ? s->partitions.n : 0);
        int32_t *pv = amem(k->mem, np * sizeof(*pv));
        if (!pv) {
            k->oom = true;
            return NULL;
        }
        if (np)
            memcpy(pv, s->partitions.v, np * sizeof(*pv));
        const char *name = astr(k->mem, s->topic_name, &k->oom);
        t[i] = (kw_client_topic_partitions){name ? name : "", pv, np};
    }
    *count = n;
    return t;
}

static void copy_cg_member(describe_call *k, kw_client_group_member *d,
                           const kw_consumer_group_describe_resp_member *s)
{
    d->member_id = astr(k->mem, s->member_id, &k->oom);
    d->group_instance_id = astr(k->mem, s->instance_id, &k->oom);
    d->rack_id = astr(k->mem, s->rack_id, &k->oom);
    d->client_id = astr(k->mem, s->client_id, &k->oom);
    d->client_host = astr(k->mem, s->client_host, &k->oom);
    d->member_epoch = s->member_epoch;
    size_t nt = (size_t)(s->subscribed_topic_names.n > 0 ? s->subscribed_topic_names.n : 0);
    const char **names = amem(k->mem, nt * sizeof(*names));
    if (!names)
        k->oom = true;
    for (size_t i = 0; names && i < nt; i++) {
        names[i] = astr(k->mem, s->subscribed_topic_names.v[i], &k->oom);
        if (!names[i])
            names[i] = "";
    }
    d->subscribed_topics = names;
    d->subscribed_topic_count = names ? nt : 0;
    /* Kafka 4 sends "" (not null) for a member without a regex */
    if (s->subscribed_topic_regex.len > 0)
        d->subscribed_topic_regex = astr(k->mem, s->subscribed_topic_regex, &k->oom);
    d->assigned = copy_cg_assignment(k, &s->assignment, &d->assigned_count);
    d->target = copy_cg_assignment(k, &s->target_assignment, &d->target_count);
}

/*
 * The answer to ConsumerGroupDescribe.  A failure of this second question
 * leaves the group as DescribeGroups described it (GROUP_ID_NOT_FOUND): a
 * broker without the API, or a group that is not a KIP-848 one either.
 */
static void cg_describe_done(const kw_cluster_result *res, void *arg)
{
    describe_one *o = arg;
    describe_call *k = o->k;
    kw_client_group_description *d = &k->groups[o->index];
    const kw_consumer_group_describe_resp *p = res->err ? NULL : res->resp;
    const kw_consumer_group_describe_resp_group *g = NULL;
    for (int32_t i = 0; p && i < p->groups.n && !g; i++)
        if (kw_str_eq(p->groups.v[i].group_id, d->group_id))
            g = &p->groups.v[i];
    if (g && g->error_code != KW_KERR_GROUP_ID_NOT_FOUND) {
        d->coordinator = res->node_id;
        d->type = "consumer";
        d->kerr = g->error_code;
        d->error_message = astr(k->mem, g->error_message, &k->oom);
        d->state = astr(k->mem, g->group_state, &k->oom);
        d->protocol_type = "consumer";
        d->protocol = astr(k->mem, g->assignor_name, &k->oom);
        if (!d->protocol)
            d->protocol = "";
        d->group_epoch = g->group_epoch;
        d->assignment_epoch = g->assignment_epoch;
        size_t m = (size_t)(g->members.n > 0 ? g->members.n : 0);
        kw_client_group_member *mv = amem(k->mem, m * sizeof(*mv));
        if (!mv)
            k->oom = true;
        for (size_t i = 0; mv && i < m; i++)
            copy_cg_member(k, &mv[i], &g->members.v[i]);
        d->members = mv;
        d->member_count = mv ? m : 0;
    }
    if (--k->pending == 0)
        describe_finish(k);
}

static void describe_one_done(const kw_cluster_result *res, void *arg)
{
    describe_one *o = arg;
    describe_call *k = o->k;
    kw_client_group_description *d = &k->groups[o->index];
    const kw_describe_groups_resp *p = res->resp;
    const kw_describe_groups_resp_group *g = NULL;
    for (int32_t i = 0; p && i < p->groups.n && !g; i++)
        if (kw_str_eq(p->groups.v[i].group_id, d->group_id))
            g = &p->groups.v[i];
    d->coordinator = res->node_id;
    if (res->err || !g) {
        int err = res->err ? res->err : KW_EMALFORMED;
        d->kerr = res->kerr ? res->kerr : -1;
        if (!k->err) {
            char text[KW_CLIENT_DETAIL_MAX];
            kw__client_detail(text, err, res->err ? res->detail : "the answer lacks the group");
            k->err = err;
            k->kerr = res->kerr;
            snprintf(k->detail, sizeof(k->detail), "DescribeGroups %.100s: %.380s", d->group_id, text);
        }
    } else {
        /* Before DescribeGroups v6 (KIP-1043, Kafka 4.0) a group the coordinator does not know
         * is answered with no error, state "Dead", no protocol type and no members; that is
         * GROUP_ID_NOT_FOUND, as v6 says it (and as the Java admin client reads it). */
        bool gone = g->error_code == 0 && kw_str_eq(g->group_state, "Dead") &&
                    g->protocol_type.len <= 0 && g->members.n <= 0;
        d->kerr = gone ? KW_KERR_GROUP_ID_NOT_FOUND : g->error_code;
        d->type = d->kerr ? NULL : "classic";
        d->error_message = astr(k->mem, g->error_message, &k->oom);
        d->state = astr(k->mem, g->group_state, &k->oom);
        d->protocol_type = astr(k->mem, g->protocol_type, &k->oom);
        d->protocol = astr(k->mem, g->protocol_data, &k->oom);
        if (!d->protocol_type)
            d->protocol_type = "";
        if (!d->protocol)
            d->protocol = "";
        size_t m = (size_t)(g->members.n > 0 ? g->members.n : 0);
        kw_client_group_member *mv = amem(k->mem, m * sizeof(*mv));
        if (!mv)
            k->oom = true;
        for (size_t i = 0; mv && i < m; i++) {
            mv[i].member_epoch = -1;
            copy_member(k, &mv[i], &g->members.v[i]);
            decode_assignment(k->mem, d->protocol_type, &mv[i], &k->oom);
        }
        d->members = mv;
        d->member_count = mv ? m : 0;
        /* Kafka 4 answers so for a KIP-848 group: ask its other question (same pending). */
        if (d->kerr == KW_KERR_GROUP_ID_NOT_FOUND &&
            kw__coord_send(k->base.c->cluster, KW_COORDINATOR_GROUP, d->group_id,
                           KW_API_CONSUMER_GROUP_DESCRIBE, build_cg_describe, o,
                           cg_describe_kerr, k->base.deadline_ns, cg_describe_done, o) == 0)
            return;
    }
    if (--k->pending == 0)
        describe_finish(k);
}

static int describe_start_one(describe_call *k, describe_one *o)
{
    return kw__coord_send(k->base.c->cluster, KW_COORDINATOR_GROUP, k->groups[o->index].group_id,
                          KW_API_DESCRIBE_GROUPS, build_describe, o, describe_kerr,
                          k->base.deadline_ns, describe_one_done, o);
}

static int describe_start(kw_call *base)
{
    describe_call *k = (describe_call *)base;
    k->pending = k->count + 1; /* + the loop below, so no answer finishes the call early */
    for (size_t i = 0; i < k->count; i++) {
        int rc = describe_start_one(k, &k->ones[i]);
        if (rc) {
            k->groups[i].kerr = -1;
            if (!k->err) {
                k->err = rc;
                snprintf(k->detail, sizeof(k->detail), "DescribeGroups %.100s: %s",
                         k->groups[i].group_id, kw_strerror(rc));
            }
            k->pending--;
        }
    }
    if (--k->pending == 0)
        describe_finish(k);
    return 0;
}

static void describe_call_failed(const kw_cluster_result *res, void *arg)
{
    describe_call *k = arg;
    k->err = res->err;
    k->kerr = res->kerr;
    kw__client_detail(k->detail, res->err, res->detail);
    for (size_t i = 0; i < k->count; i++)
        k->groups[i].kerr = -1;
    describe_finish(k);
}

static describe_call *describe_new(kw_client *c, const kw_client_describe_groups_args *a, int *rc)
{
    *rc = KW_EINVAL;
    if (!c || !a || !a->group_count || !a->groups)
        return NULL;
    for (size_t i = 0; i < a->group_count; i++)
        if (!a->groups[i] || !*a->groups[i])
            return NULL;
    *rc = KW_ENOMEM;
    describe_call *k = calloc(1, sizeof(*k));
    if (!k)
        return NULL;
    k->count = a->group_count;
    k->mem = arena_new();
    k->ones = calloc(k->count, sizeof(*k->ones));
    k->groups = k->mem ? amem(k->mem, k->count * sizeof(*k->groups)) : NULL;
    bool oom = !k->ones || !k->groups;
    for (size_t i = 0; !oom && i < k->count; i++) {
        k->groups[i] = (kw_client_group_description){.group_id = adup(k->mem, a->groups[i], &oom),
                                                     .coordinator = -1,
                                                     .group_epoch = -1,
                                                     .assignment_epoch = -1};
        k->ones[i] = (describe_one){.k = k, .index = i, .name = kw_str_c(k->groups[i].group_id)};
    }
    if (oom) {
        describe_free(k);
        return NULL;
    }
    k->base.c = c;
    k->base.start = describe_start;
    k->base.done = describe_call_failed;
    k->base.deadline_ns = kw__client_deadline(c, a->timeout_ms);
    *rc = 0;
    return k;
}

static void describe_drop(kw_call *k)
{
    describe_free((describe_call *)k);
}

KW_API int kw_client_describe_groups_async(kw_client *c, const kw_client_describe_groups_args *a,
                                           kw_client_describe_groups_cb *cb, void *arg)
{
    int rc;
    describe_call *k = cb ? describe_new(c, a, &rc) : (rc = KW_EINVAL, NULL);
    if (!k)
        return rc;
    return kw__client_call_async(c, &k->base, (void (*)(void))cb, arg, describe_drop);
}

KW_API int kw_client_describe_groups(kw_client *c, const kw_client_describe_groups_args *a,
                                     kw_client_describe_groups_result *out)
{
    if (!out)
        return KW_EINVAL;
    memset(out, 0, sizeof(*out));
    int rc;
    describe_call *k = describe_new(c, a, &rc);
    if (k && (rc = kw__client_call_wait(c, &k->base, out, describe_drop)) == 0)
        return out->err;
    out->err = rc;
    kw__client_detail(out->detail, rc, NULL);
    return rc;
}
