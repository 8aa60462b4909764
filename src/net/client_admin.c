/* The public client's admin calls: create/delete topics, create partitions, describe configs, metadata. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/client_int.h"
#include "proto/kerr.h"
#include "proto/msg_admin.h"
#include "proto/msg_data.h"

/*
 * Admin calls are rare, so they favour simple ownership over speed: the
 * caller's arguments are deep-copied into the call's arena when submitted,
 * and each result is built in an arena of its own, which the blocking form
 * hands to the caller (priv_) and the async form frees after the callback.
 */
typedef struct admin_call {
    kw_call base;
    int api_key;
    kw_arena mem; /* copied arguments and request arrays */
    /* the copied arguments (which ones depends on api_key) */
    kw_client_new_topic *new_topics; /* CreateTopics */
    const char **names;              /* DeleteTopics, Metadata topics, DescribeConfigs keys */
    size_t count;                    /* of new_topics or names */
    bool null_names;                 /* DescribeConfigs: every key; Metadata: every topic */
    const char *name;                /* CreatePartitions topic, DescribeConfigs resource */
    int32_t total_count;
    int resource;
    bool validate_only;
    int32_t timeout_ms; /* what the broker may spend (CreateTopics ...): the call's timeout */
    union {
        kw_create_topics_req ct;
        kw_delete_topics_req dt;
        kw_create_partitions_req cp;
        kw_describe_configs_req dc;
        kw_metadata_req md;
    } req;
} admin_call;

static void *amem(kw_arena *a, size_t n)
{
    return kw__arena_alloc(a, n ? n : 1);
}

static const char *adup(kw_arena *a, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = amem(a, n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* A kw_str from a response as a C string (NULL for a null string). */
static const char *astr(kw_arena *a, kw_str s)
{
    if (s.len < 0)
        return NULL;
    char *d = amem(a, (size_t)s.len + 1);
    if (d) {
        if (s.len)
            memcpy(d, s.ptr, (size_t)s.len);
        d[s.len] = 0;
    }
    return d;
}

static void admin_free(admin_call *k)
{
    kw__arena_reset(&k->mem);
    free(k);
}

static admin_call *admin_new(kw_client *c, int api_key, uint32_t timeout_ms,
                             kw_cluster_done_fn *done);

/* ---------------------------------------------------------------- building requests */

static int build_create_topics(admin_call *k, int version)
{
    kw_create_topics_req *r = &k->req.ct;
    kw__schema_init(kw__api(KW_API_CREATE_TOPICS)->req, version, r);
    kw_create_topics_req_topic *t = amem(&k->mem, k->count * sizeof(*t));
    if (!t)
        return KW_ENOMEM;
    for (size_t i = 0; i < k->count; i++) {
        const kw_client_new_topic *n = &k->new_topics[i];
        t[i].name = kw_str_c(n->name);
        t[i].num_partitions = n->partitions ? n->partitions : -1;
        t[i].replication_factor = n->replication_factor ? n->replication_factor : -1;
        t[i].assignments.n = 0;
        kw_create_topics_req_config *cf = amem(&k->mem, n->config_count * sizeof(*cf));
        if (!cf)
            return KW_ENOMEM;
        for (size_t j = 0; j < n->config_count; j++) {
            cf[j].name = kw_str_c(n->configs[j].name);
            cf[j].value = kw_str_c(n->configs[j].value);
        }
        t[i].configs.v = cf;
        t[i].configs.n = (int32_t)n->config_count;
    }
    r->topics.v = t;
    r->topics.n = (int32_t)k->count;
    r->timeout_ms = k->timeout_ms;
    r->validate_only = k->validate_only;
    return 0;
}

static int build_delete_topics(admin_call *k, int version)
{
    kw_delete_topics_req *r = &k->req.dt;
    kw__schema_init(kw__api(KW_API_DELETE_TOPICS)->req, version, r);
    kw_delete_topics_req_topic *t = amem(&k->mem, k->count * sizeof(*t));
    kw_str *names = amem(&k->mem, k->count * sizeof(*names));
    if (!t || !names)
        return KW_ENOMEM;
    for (size_t i = 0; i < k->count; i++) {
        t[i].name = names[i] = kw_str_c(k->names[i]); /* by name; topic_id stays zero */
    }
    /* v6+ names topics in `topics`, older versions in `topic_names`: fill both. */
    r->topics.v = t;
    r->topics.n = (int32_t)k->count;
    r->topic_names.v = names;
    r->topic_names.n = (int32_t)k->count;
    r->timeout_ms = k->timeout_ms;
    return 0;
}

static int build_create_partitions(admin_call *k, int version)
{
    kw_create_partitions_req *r = &k->req.cp;
    kw__schema_init(kw__api(KW_API_CREATE_PARTITIONS)->req, version, r);
    kw_create_partitions_req_topic *t = amem(&k->mem, sizeof(*t));
    if (!t)
        return KW_ENOMEM;
    t->name = kw_str_c(k->name);
    t->count = k->total_count;
    t->assignments.n = -1; /* null: the broker places the new partitions */
    r->topics.v = t;
    r->topics.n = 1;
    r->timeout_ms = k->timeout_ms;
    r->validate_only = k->validate_only;
    return 0;
}

static int build_describe_configs(admin_call *k, int version)
{
    kw_describe_configs_req *r = &k->req.dc;
    kw__schema_init(kw__api(KW_API_DESCRIBE_CONFIGS)->req, version, r);
    kw_describe_configs_req_resource *res = amem(&k->mem, sizeof(*res));
    kw_str *keys = amem(&k->mem, k->count * sizeof(*keys));
    if (!res || !keys)
        return KW_ENOMEM;
    res->resource_type = k->resource == KW_CLIENT_RESOURCE_BROKER ? 4 : 2;
    res->resource_name = kw_str_c(k->name);
    for (size_t i = 0; i < k->count; i++)
        keys[i] = kw_str_c(k->names[i]);
    res->configuration_keys.v = keys;
    res->configuration_keys.n = k->null_names ? -1 : (int32_t)k->count;
    r->resources.v = res;
    r->resources.n = 1;
    return 0;
}

static int build_metadata(admin_call *k, int version)
{
    kw_metadata_req *r = &k->req.md;
    kw__schema_init(kw__api(KW_API_METADATA)->req, version, r);
    kw_metadata_req_topic *t = amem(&k->mem, k->count * sizeof(*t));
    if (!t)
        return KW_ENOMEM;
    for (size_t i = 0; i < k->count; i++)
        t[i].name = kw_str_c(k->names[i]);
    r->topics.v = t;
    /* Every topic: a null array from v1, an empty one at v0. */
    r->topics.n = k->null_names ? (version >= 1 ? -1 : 0) : (int32_t)k->count;
    r->allow_auto_topic_creation = false; /* asking about a topic must not create it */
    return 0;
}

static int admin_build(void *arg, int version, int32_t epoch, const void **req)
{
    admin_call *k = arg;
    (void)epoch;
    int rc;
    switch (k->api_key) {
    case KW_API_CREATE_TOPICS: rc = build_create_topics(k, version); break;
    case KW_API_DELETE_TOPICS: rc = build_delete_topics(k, version); break;
    case KW_API_CREATE_PARTITIONS: rc = build_create_partitions(k, version); break;
    case KW_API_DESCRIBE_CONFIGS: rc = build_describe_configs(k, version); break;
    case KW_API_METADATA: rc = build_metadata(k, version); break;
    default: rc = KW_EINVAL;
    }
    *req = &k->req;
    return rc;
}

static int admin_start(kw_call *base)
{
    admin_call *k = (admin_call *)base;
    return kw__cluster_send_any(base->c->cluster, k->api_key, admin_build, k, base->deadline_ns,
                                base->done, k);
}

/* ---------------------------------------------------------------- results */

/* The result arena: heap-allocated so the blocking form can hand it over. */
static kw_arena *result_arena(void)
{
    kw_arena *a = malloc(sizeof(*a));
    if (a)
        kw__arena_init(a, 0);
    return a;
}

static void result_arena_free(void *p)
{
    if (p) {
        kw__arena_reset(p);
        free(p);
    }
}

/* Per-topic outcomes in the order asked; one entry of the response each, matched by name. */
typedef struct topic_answer {
    kw_str name;
    int16_t kerr;
    kw_str message;
} topic_answer;

static void topics_fill(admin_call *k, const kw_cluster_result *res, kw_client_topics_result *r,
                        kw_arena *mem, const topic_answer *ans, size_t nans, const char *api)
{
    size_t n = k->api_key == KW_API_CREATE_TOPICS      ? k->count
               : k->api_key == KW_API_CREATE_PARTITIONS ? 1
                                                        : k->count;
    kw_client_topic_outcome *o = mem ? amem(mem, n * sizeof(*o)) : NULL;
    if (!o) {
        r->err = KW_ENOMEM;
        kw__client_detail(r->detail, r->err, "building the result");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *want = k->api_key == KW_API_CREATE_TOPICS      ? k->new_topics[i].name
                           : k->api_key == KW_API_CREATE_PARTITIONS ? k->name
                                                                    : k->names[i];
        o[i].name = adup(mem, want);
        o[i].kerr = KW_KERR_UNKNOWN_SERVER_ERROR;
        o[i].message = "the broker did not answer for this topic";
        for (size_t j = 0; j < nans; j++)
            if (kw_str_eq(ans[j].name, want)) {
                o[i].kerr = ans[j].kerr;
                o[i].message = ans[j].kerr == 0 ? ""
                               : ans[j].message.len > 0 ? astr(mem, ans[j].message)
                                                        : kw__kerr_message(ans[j].kerr);
                break;
            }
        if (!o[i].name || !o[i].message) {
            r->err = KW_ENOMEM;
            kw__client_detail(r->detail, r->err, "building the result");
            return;
        }
        if (o[i].kerr && !r->err) {
            r->err = KW_EBROKER;
            r->kerr = o[i].kerr;
            snprintf(r->detail, KW_CLIENT_DETAIL_MAX, "%s %s: %s: %s", api, want,
                     kw__kerr_name(o[i].kerr), o[i].message);
        }
    }
    r->topics = o;
    r->topic_count = n;
    (void)res;
}

static void topics_done(const kw_cluster_result *res, void *arg)
{
    admin_call *k = arg;
    kw_client_topics_result stack;
    kw_waiter *w = k->base.w;
    kw_client_topics_result *r = w ? w->out : &stack;
    memset(r, 0, sizeof(*r));
    r->err = res->err;
    r->kerr = res->kerr;
    kw__client_detail(r->detail, res->err, res->detail);
    kw_arena *mem = NULL;
    if (!res->err && res->resp) {
        mem = result_arena();
        topic_answer *ans = NULL;
        size_t nans = 0;
        const char *api = kw__api(k->api_key)->name;
        if (k->api_key == KW_API_CREATE_TOPICS) {
            const kw_create_topics_resp *p = res->resp;
            nans = (size_t)(p->topics.n > 0 ? p->topics.n : 0);
            ans = mem ? amem(mem, nans * sizeof(*ans)) : NULL;
            for (size_t i = 0; ans && i < nans; i++)
                ans[i] = (topic_answer){p->topics.v[i].name, p->topics.v[i].error_code,
                                        p->topics.v[i].error_message};
        } else if (k->api_key == KW_API_DELETE_TOPICS) {
            const kw_delete_topics_resp *p = res->resp;
            nans = (size_t)(p->responses.n > 0 ? p->responses.n : 0);
            ans = mem ? amem(mem, nans * sizeof(*ans)) : NULL;
            for (size_t i = 0; ans && i < nans; i++)
                ans[i] = (topic_answer){p->responses.v[i].name, p->responses.v[i].error_code,
                                        p->responses.v[i].error_message};
        } else {
            const kw_create_partitions_resp *p = res->resp;
            nans = (size_t)(p->results.n > 0 ? p->results.n : 0);
            ans = mem ? amem(mem, nans * sizeof(*ans)) : NULL;
            for (size_t i = 0; ans && i < nans; i++)
                ans[i] = (topic_answer){p->results.v[i].name, p->results.v[i].error_code,
                                        p->results.v[i].error_message};
        }
        topics_fill(k, res, r, ans ? mem : NULL, ans, nans, api);
    } else if (!res->err) {
        r->err = KW_EMALFORMED;
        kw__client_detail(r->detail, r->err, "no response to read");
    }
    kw_client_topics_cb *cb = (kw_client_topics_cb *)k->base.cb;
    void *cb_arg = k->base.cb_arg;
    admin_free(k);
    if (w) {
        r->priv_ = mem;
        kw__waiter_done(w);
    } else {
        cb(r, cb_arg);
        result_arena_free(mem);
    }
}

static void describe_configs_done(const kw_cluster_result *res, void *arg)
{
    admin_call *k = arg;
    kw_client_describe_configs_result stack;
    kw_waiter *w = k->base.w;
    kw_client_describe_configs_result *r = w ? w->out : &stack;
    memset(r, 0, sizeof(*r));
    r->err = res->err;
    r->kerr = res->kerr;
    kw__client_detail(r->detail, res->err, res->detail);
    kw_arena *mem = NULL;
    const kw_describe_configs_resp *p = res->resp;
    if (!res->err && (!p || p->results.n < 1)) {
        r->err = KW_EMALFORMED;
        kw__client_detail(r->detail, r->err, "DescribeConfigs: no result for the resource");
    } else if (!res->err && p->results.v[0].error_code) {
        const kw_describe_configs_resp_result *x = &p->results.v[0];
        r->err = KW_EBROKER;
        r->kerr = x->error_code;
        snprintf(r->detail, KW_CLIENT_DETAIL_MAX, "DescribeConfigs %s: %s: %.*s", k->name,
                 kw__kerr_name(x->error_code), x->error_message.len > 0 ? x->error_message.len : 0,
                 x->error_message.len > 0 ? x->error_message.ptr : "");
    } else if (!res->err) {
        const kw_describe_configs_resp_result *x = &p->results.v[0];
        size_t n = (size_t)(x->configs.n > 0 ? x->configs.n : 0);
        mem = result_arena();
        kw_client_config *cf = mem ? amem(mem, n * sizeof(*cf)) : NULL;
        bool ok = cf != NULL;
        for (size_t i = 0; ok && i < n; i++) {
            const kw_describe_configs_resp_config *s = &x->configs.v[i];
            cf[i].name = astr(mem, s->name);
            cf[i].value = astr(mem, s->value);
            cf[i].source = s->config_source >= 0 ? s->config_source : KW_CLIENT_CONFIG_UNKNOWN;
            cf[i].read_only = s->read_only;
            cf[i].is_sensitive = s->is_sensitive;
            ok = cf[i].name && (s->value.len < 0 || cf[i].value);
        }
        if (ok) {
            r->configs = cf;
            r->config_count = n;
        } else {
            r->err = KW_ENOMEM;
            kw__client_detail(r->detail, r->err, "building the result");
        }
    }
    kw_client_describe_configs_cb *cb = (kw_client_describe_configs_cb *)k->base.cb;
    void *cb_arg = k->base.cb_arg;
    admin_free(k);
    if (w) {
        r->priv_ = mem;
        kw__waiter_done(w);
    } else {
        cb(r, cb_arg);
        result_arena_free(mem);
    }
}

static bool copy_ids(kw_arena *mem, const int32_t *v, int32_t n, const int32_t **out,
                     size_t *count)
{
    size_t m = (size_t)(n > 0 ? n : 0);
    int32_t *d = amem(mem, m * sizeof(*d));
    if (!d)
        return false;
    if (m)
        memcpy(d, v, m * sizeof(*d));
    *out = d;
    *count = m;
    return true;
}

static int metadata_fill(kw_client_metadata_result *r, const kw_metadata_resp *p, kw_arena *mem)
{
    r->cluster_id = astr(mem, p->cluster_id);
    r->controller_id = p->controller_id;
    size_t nb = (size_t)(p->brokers.n > 0 ? p->brokers.n : 0);
    kw_client_broker *b = amem(mem, nb * sizeof(*b));
    if (!b)
        return KW_ENOMEM;
    for (size_t i = 0; i < nb; i++) {
        const kw_metadata_resp_broker *s = &p->brokers.v[i];
        b[i] = (kw_client_broker){.node_id = s->node_id,
                                  .host = astr(mem, s->host),
                                  .port = s->port,
                                  .rack = astr(mem, s->rack)};
        if (!b[i].host)
            return KW_ENOMEM;
    }
    r->brokers = b;
    r->broker_count = nb;
    size_t nt = (size_t)(p->topics.n > 0 ? p->topics.n : 0);
    kw_client_topic *t = amem(mem, nt * sizeof(*t));
    if (!t)
        return KW_ENOMEM;
    for (size_t i = 0; i < nt; i++) {
        const kw_metadata_resp_topic *s = &p->topics.v[i];
        t[i].name = astr(mem, s->name);
        t[i].kerr = s->error_code;
        t[i].is_internal = s->is_internal;
        size_t np = (size_t)(s->partitions.n > 0 ? s->partitions.n : 0);
        kw_client_partition *pp = amem(mem, np * sizeof(*pp));
        if (!pp)
            return KW_ENOMEM;
        for (size_t j = 0; j < np; j++) {
            const kw_metadata_resp_partition *q = &s->partitions.v[j];
            /* Brokers list partitions in any order; the result is by id where ids are dense. */
            size_t slot = q->partition_index >= 0 && (size_t)q->partition_index < np
                              ? (size_t)q->partition_index
                              : j;
            if (pp[slot].replicas) /* ids not dense after all: keep the broker's order */
                slot = j;
            kw_client_partition *d = &pp[slot];
            d->id = q->partition_index;
            d->kerr = q->error_code;
            d->leader = q->leader_id;
            d->leader_epoch = q->leader_epoch;
            if (!copy_ids(mem, q->replica_nodes.v, q->replica_nodes.n, &d->replicas,
                          &d->replica_count) ||
                !copy_ids(mem, q->isr_nodes.v, q->isr_nodes.n, &d->isr, &d->isr_count))
                return KW_ENOMEM;
        }
        t[i].partitions = pp;
        t[i].partition_count = np;
    }
    r->topics = t;
    r->topic_count = nt;
    return 0;
}

static void metadata_done(const kw_cluster_result *res, void *arg)
{
    admin_call *k = arg;
    kw_client_metadata_result stack;
    kw_waiter *w = k->base.w;
    kw_client_metadata_result *r = w ? w->out : &stack;
    memset(r, 0, sizeof(*r));
    r->controller_id = -1;
    r->err = res->err;
    r->kerr = res->kerr;
    kw__client_detail(r->detail, res->err, res->detail);
    kw_arena *mem = NULL;
    const kw_metadata_resp *p = res->resp;
    if (!res->err && !p) {
        r->err = KW_EMALFORMED;
        kw__client_detail(r->detail, r->err, "no Metadata response to read");
    } else if (!res->err && p->error_code) {
        r->err = KW_EBROKER;
        r->kerr = p->error_code;
        snprintf(r->detail, KW_CLIENT_DETAIL_MAX, "Metadata: %s", kw__kerr_name(p->error_code));
    } else if (!res->err) {
        mem = result_arena();
        int rc = mem ? metadata_fill(r, p, mem) : KW_ENOMEM;
        if (rc) {
            r->err = rc;
            kw__client_detail(r->detail, rc, "building the result");
            r->brokers = NULL;
            r->broker_count = 0;
            r->topics = NULL;
            r->topic_count = 0;
        }
    }
    kw_client_metadata_cb *cb = (kw_client_metadata_cb *)k->base.cb;
    void *cb_arg = k->base.cb_arg;
    admin_free(k);
    if (w) {
        r->priv_ = mem;
        kw__waiter_done(w);
    } else {
        cb(r, cb_arg);
        result_arena_free(mem);
    }
}

/* ---------------------------------------------------------------- submitting */

static admin_call *admin_new(kw_client *c, int api_key, uint32_t timeout_ms,
                             kw_cluster_done_fn *done)
{
    admin_call *k = calloc(1, sizeof(*k));
    if (!k)
        return NULL;
    kw__arena_init(&k->mem, 0);
    k->api_key = api_key;
    k->base.c = c;
    k->base.start = admin_start;
    k->base.done = done;
    k->base.deadline_ns = kw__client_deadline(c, timeout_ms);
    uint32_t t = timeout_ms ? timeout_ms : c->request_timeout_ms;
    k->timeout_ms = t > INT32_MAX ? INT32_MAX : (int32_t)t;
    return k;
}

/* Copies names[0..n) into k (NULL names are bad arguments). */
static int copy_names(admin_call *k, const char *const *names, size_t n)
{
    if (n && !names)
        return KW_EINVAL;
    k->names = amem(&k->mem, n * sizeof(*k->names));
    if (!k->names)
        return KW_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!names[i] || !*names[i])
            return KW_EINVAL;
        if (!(k->names[i] = adup(&k->mem, names[i])))
            return KW_ENOMEM;
    }
    k->count = n;
    return 0;
}

/*
 * Both forms end here: submit k (async: cb + arg; blocking: wait, out filled
 * by done).  On a failure before done could run, k is freed and out (when
 * blocking) gets err and detail.
 */
static int admin_go(kw_client *c, admin_call *k, int rc, void (*cb)(void), void *arg,
                    void *out, int *out_err, int16_t *out_kerr, char *out_detail)
{
    if (!rc && out)
        rc = kw__client_can_block(c);
    if (!rc) {
        if (out) {
            kw_waiter w;
            rc = kw__client_wait(c, &k->base, &w, out);
            if (!rc)
                return *out_err;
        } else {
            k->base.cb = cb;
            k->base.cb_arg = arg;
            rc = kw__client_submit(c, &k->base);
            if (!rc)
                return 0;
        }
    }
    if (k)
        admin_free(k);
    if (out) {
        *out_err = rc;
        *out_kerr = 0;
        kw__client_detail(out_detail, rc, NULL);
    }
    return rc;
}

static int create_topics(kw_client *c, const kw_client_create_topics_args *a,
                         kw_client_topics_cb *cb, void *arg, kw_client_topics_result *out)
{
    if (out)
        memset(out, 0, sizeof(*out));
    if (!c || !a || !a->topics || !a->topic_count || (!out && !cb))
        return out ? (out->err = KW_EINVAL) : KW_EINVAL;
    admin_call *k = admin_new(c, KW_API_CREATE_TOPICS, a->timeout_ms, topics_done);
    int rc = k ? 0 : KW_ENOMEM;
    if (k) {
        k->validate_only = a->validate_only;
        k->count = a->topic_count;
        k->new_topics = amem(&k->mem, a->topic_count * sizeof(*k->new_topics));
        rc = k->new_topics ? 0 : KW_ENOMEM;
        for (size_t i = 0; !rc && i < a->topic_count; i++) {
            const kw_client_new_topic *s = &a->topics[i];
            kw_client_new_topic *d = &k->new_topics[i];
            if (!s->name || !*s->name || s->partitions < 0 || s->replication_factor < 0 ||
                (s->config_count && !s->configs)) {
                rc = KW_EINVAL;
                break;
            }
            *d = *s;
            d->name = adup(&k->mem, s->name);
            kw_client_config_entry *cf = amem(&k->mem, s->config_count * sizeof(*cf));
            if (!d->name || !cf) {
                rc = KW_ENOMEM;
                break;
            }
            for (size_t j = 0; !rc && j < s->config_count; j++) {
                if (!s->configs[j].name) {
                    rc = KW_EINVAL;
                    break;
                }
                cf[j].name = adup(&k->mem, s->configs[j].name);
                cf[j].value = adup(&k->mem, s->configs[j].value);
                if (!cf[j].name || (s->configs[j].value && !cf[j].value))
                    rc = KW_ENOMEM;
            }
            d->configs = cf;
        }
    }
    return admin_go(c, k, rc, (void (*)(void))cb, arg, out, out ? &out->err : NULL,
                    out ? &out->kerr : NULL, out ? out->detail : NULL);
}

KW_API int kw_client_create_topics_async(kw_client *c, const kw_client_create_topics_args *a,
                                         kw_client_topics_cb *cb, void *arg)
{
    return cb ? create_topics(c, a, cb, arg, NULL) : KW_EINVAL;
}

KW_API int kw_client_create_topics(kw_client *c, const kw_client_create_topics_args *a,
                                   kw_client_topics_result *out)
{
    return out ? create_topics(c, a, NULL, NULL, out) : KW_EINVAL;
}

static int delete_topics(kw_client *c, const kw_client_delete_topics_args *a,
                         kw_client_topics_cb *cb, void *arg, kw_client_topics_result *out)
{
    if (out)
        memset(out, 0, sizeof(*out));
    if (!c || !a || !a->name_count || (!out && !cb))
        return out ? (out->err = KW_EINVAL) : KW_EINVAL;
    admin_call *k = admin_new(c, KW_API_DELETE_TOPICS, a->timeout_ms, topics_done);
    int rc = k ? copy_names(k, a->names, a->name_count) : KW_ENOMEM;
    return admin_go(c, k, rc, (void (*)(void))cb, arg, out, out ? &out->err : NULL,
                    out ? &out->kerr : NULL, out ? out->detail : NULL);
}

KW_API int kw_client_delete_topics_async(kw_client *c, const kw_client_delete_topics_args *a,
                                         kw_client_topics_cb *cb, void *arg)
{
    return cb ? delete_topics(c, a, cb, arg, NULL) : KW_EINVAL;
}

KW_API int kw_client_delete_topics(kw_client *c, const kw_client_delete_topics_args *a,
                                   kw_client_topics_result *out)
{
    return out ? delete_topics(c, a, NULL, NULL, out) : KW_EINVAL;
}

static int create_partitions(kw_client *c, const kw_client_create_partitions_args *a,
                             kw_client_topics_cb *cb, void *arg, kw_client_topics_result *out)
{
    if (out)
        memset(out, 0, sizeof(*out));
    if (!c || !a || !a->topic || !*a->topic || a->total_count <= 0 || (!out && !cb))
        return out ? (out->err = KW_EINVAL) : KW_EINVAL;
    admin_call *k = admin_new(c, KW_API_CREATE_PARTITIONS, a->timeout_ms, topics_done);
    int rc = k ? 0 : KW_ENOMEM;
    if (k) {
        k->name = adup(&k->mem, a->topic);
        k->total_count = a->total_count;
        k->validate_only = a->validate_only;
        rc = k->name ? 0 : KW_ENOMEM;
    }
    return admin_go(c, k, rc, (void (*)(void))cb, arg, out, out ? &out->err : NULL,
                    out ? &out->kerr : NULL, out ? out->detail : NULL);
}

KW_API int kw_client_create_partitions_async(kw_client *c,
                                             const kw_client_create_partitions_args *a,
                                             kw_client_topics_cb *cb, void *arg)
{
    return cb ? create_partitions(c, a, cb, arg, NULL) : KW_EINVAL;
}

KW_API int kw_client_create_partitions(kw_client *c, const kw_client_create_partitions_args *a,
                                       kw_client_topics_result *out)
{
    return out ? create_partitions(c, a, NULL, NULL, out) : KW_EINVAL;
}

KW_API void kw_client_topics_result_free(kw_client_topics_result *r)
{
    if (!r)
        return;
    result_arena_free(r->priv_);
    r->priv_ = NULL;
    r->topics = NULL;
    r->topic_count = 0;
}

static int describe_configs(kw_client *c, const kw_client_describe_configs_args *a,
                            kw_client_describe_configs_cb *cb, void *arg,
                            kw_client_describe_configs_result *out)
{
    if (out)
        memset(out, 0, sizeof(*out));
    if (!c || !a || !a->name || !*a->name || (!out && !cb) ||
        (a->resource != KW_CLIENT_RESOURCE_TOPIC && a->resource != KW_CLIENT_RESOURCE_BROKER))
        return out ? (out->err = KW_EINVAL) : KW_EINVAL;
    admin_call *k = admin_new(c, KW_API_DESCRIBE_CONFIGS, a->timeout_ms, describe_configs_done);
    int rc = k ? 0 : KW_ENOMEM;
    if (k) {
        k->resource = a->resource;
        k->name = adup(&k->mem, a->name);
        k->null_names = !a->keys;
        rc = !k->name ? KW_ENOMEM : copy_names(k, a->keys, a->keys ? a->key_count : 0);
    }
    return admin_go(c, k, rc, (void (*)(void))cb, arg, out, out ? &out->err : NULL,
                    out ? &out->kerr : NULL, out ? out->detail : NULL);
}

KW_API int kw_client_describe_configs_async(kw_client *c,
                                            const kw_client_describe_configs_args *a,
                                            kw_client_describe_configs_cb *cb, void *arg)
{
    return cb ? describe_configs(c, a, cb, arg, NULL) : KW_EINVAL;
}

KW_API int kw_client_describe_configs(kw_client *c, const kw_client_describe_configs_args *a,
                                      kw_client_describe_configs_result *out)
{
    return out ? describe_configs(c, a, NULL, NULL, out) : KW_EINVAL;
}

KW_API void kw_client_describe_configs_result_free(kw_client_describe_configs_result *r)
{
    if (!r)
        return;
    result_arena_free(r->priv_);
    r->priv_ = NULL;
    r->configs = NULL;
    r->config_count = 0;
}

static int metadata(kw_client *c, const kw_client_metadata_args *a, kw_client_metadata_cb *cb,
                    void *arg, kw_client_metadata_result *out)
{
    static const kw_client_metadata_args all = {0};
    if (out) {
        memset(out, 0, sizeof(*out));
        out->controller_id = -1;
    }
    if (!a)
        a = &all;
    if (!c || (!out && !cb))
        return out ? (out->err = KW_EINVAL) : KW_EINVAL;
    admin_call *k = admin_new(c, KW_API_METADATA, a->timeout_ms, metadata_done);
    int rc = k ? 0 : KW_ENOMEM;
    if (k) {
        k->null_names = a->topic_count == 0;
        rc = copy_names(k, a->topics, a->topic_count);
    }
    return admin_go(c, k, rc, (void (*)(void))cb, arg, out, out ? &out->err : NULL,
                    out ? &out->kerr : NULL, out ? out->detail : NULL);
}

KW_API int kw_client_metadata_async(kw_client *c, const kw_client_metadata_args *a,
                                    kw_client_metadata_cb *cb, void *arg)
{
    return cb ? metadata(c, a, cb, arg, NULL) : KW_EINVAL;
}

KW_API int kw_client_metadata(kw_client *c, const kw_client_metadata_args *a,
                              kw_client_metadata_result *out)
{
    return out ? metadata(c, a, NULL, NULL, out) : KW_EINVAL;
}

KW_API void kw_client_metadata_result_free(kw_client_metadata_result *r)
{
    if (!r)
        return;
    result_arena_free(r->priv_);
    r->priv_ = NULL;
    r->brokers = NULL;
    r->broker_count = 0;
    r->topics = NULL;
    r->topic_count = 0;
}
