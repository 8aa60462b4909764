/* Requests for a group or transaction coordinator: FindCoordinator, a per-key cache, and the move-and-retry rule. */
#include "net/coord.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kwal/error.h"
#include "net/cluster_int.h"
#include "proto/kerr.h"
#include "proto/msg_group.h"

/* One key's coordinator, as FindCoordinator last said. */
typedef struct coord_entry {
    int8_t key_type;
    char *key;
    int32_t node_id;
} coord_entry;

typedef struct coord_call coord_call;

typedef struct kw_coord_state {
    coord_entry *v;
    size_t n, cap;
    coord_call *sleeping; /* calls in backoff (not inside a cluster call): ended by kw__coord_close */
} kw_coord_state;

struct coord_call {
    coord_call *next, *prev; /* in the sleeping list while the timer runs */
    kw_cluster *cl;
    int8_t key_type;
    int api_key;
    kw_cluster_build_fn *build;
    void *build_arg;
    kw_coord_kerr_fn *kerr_of;
    uint64_t deadline_ns;
    kw_cluster_done_fn *done;
    void *done_arg;
    unsigned retries;
    bool asleep;
    int last_err;
    int16_t last_kerr;
    kw_loop_timer timer;
    kw_find_coordinator_req fc;
    kw_str fc_keys[1];
    char detail[384];
    char key[]; /* NUL-terminated */
};

/* ---------------------------------------------------------------- cache */

static kw_coord_state *state(kw_cluster *cl)
{
    if (!cl->coord)
        cl->coord = calloc(1, sizeof(*cl->coord));
    return cl->coord;
}

static coord_entry *entry_find(const kw_cluster *cl, int8_t key_type, const char *key)
{
    if (!cl->coord)
        return NULL;
    for (size_t i = 0; i < cl->coord->n; i++)
        if (cl->coord->v[i].key_type == key_type && strcmp(cl->coord->v[i].key, key) == 0)
            return &cl->coord->v[i];
    return NULL;
}

/* Remembers node_id for the key (a failed allocation only means asking again next time). */
static void entry_set(kw_cluster *cl, int8_t key_type, const char *key, int32_t node_id)
{
    coord_entry *e = entry_find(cl, key_type, key);
    if (e) {
        e->node_id = node_id;
        return;
    }
    kw_coord_state *s = state(cl);
    if (!s)
        return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        coord_entry *v = realloc(s->v, cap * sizeof(*v));
        if (!v)
            return;
        s->v = v;
        s->cap = cap;
    }
    char *k = strdup(key);
    if (!k)
        return;
    s->v[s->n++] = (coord_entry){.key_type = key_type, .key = k, .node_id = node_id};
}

void kw__coord_remember(kw_cluster *cl, int8_t key_type, const char *key, int32_t node_id)
{
    entry_set(cl, key_type, key, node_id);
}

void kw__coord_forget(kw_cluster *cl, int8_t key_type, const char *key)
{
    coord_entry *e = entry_find(cl, key_type, key);
    if (e)
        e->node_id = -1;
}

int32_t kw__coord_cached(const kw_cluster *cl, int8_t key_type, const char *key)
{
    const coord_entry *e = entry_find(cl, key_type, key);
    return e ? e->node_id : -1;
}

/* ---------------------------------------------------------------- calls */

static void step(coord_call *k);

static const char *key_kind(const coord_call *k)
{
    return k->key_type == KW_COORDINATOR_TRANSACTION ? "transaction" : "group";
}

static void finish(coord_call *k, kw_cluster_result *res)
{
    if (!res->detail)
        res->detail = k->detail;
    k->done(res, k->done_arg);
    free(k);
}

static void finish_err(coord_call *k, int err, int16_t kerr)
{
    kw_cluster_result res = {.err = err, .kerr = kerr, .version = -1, .node_id = -1};
    finish(k, &res);
}

static void unsleep(coord_call *k)
{
    if (!k->asleep)
        return;
    kw_coord_state *s = k->cl->coord;
    if (k->prev)
        k->prev->next = k->next;
    else
        s->sleeping = k->next;
    if (k->next)
        k->next->prev = k->prev;
    k->next = k->prev = NULL;
    k->asleep = false;
}

static void on_timer(kw_loop_timer *t, void *arg)
{
    (void)t;
    coord_call *k = arg;
    unsleep(k);
    step(k);
}

/* Waits a backoff, then looks for the coordinator again; at the deadline ends with what was seen. */
static void retry(coord_call *k)
{
    kw_cluster *cl = k->cl;
    uint64_t now = kw__cl_now_ns(cl);
    if (now >= k->deadline_ns || cl->closing) {
        size_t n = strlen(k->detail);
        if (n + 1 < sizeof(k->detail))
            snprintf(k->detail + n, sizeof(k->detail) - n, "%sdeadline passed after %u retries",
                     n ? "; " : "", k->retries);
        if (k->last_kerr)
            finish_err(k, KW_EBROKER, k->last_kerr);
        else
            finish_err(k, k->last_err ? k->last_err : KW_ETIMEDOUT, 0);
        return;
    }
    kw_coord_state *s = state(cl);
    if (!s) {
        finish_err(k, KW_ENOMEM, 0);
        return;
    }
    uint64_t at = now + kw__cl_backoff_ns(cl, k->retries++);
    if (at > k->deadline_ns)
        at = k->deadline_ns;
    k->asleep = true;
    k->prev = NULL;
    k->next = s->sleeping;
    if (s->sleeping)
        s->sleeping->prev = k;
    s->sleeping = k;
    kw__loop_timer_start_at(&k->timer, at);
}

static bool coordinator_moved(int16_t e)
{
    return e == KW_KERR_COORDINATOR_LOAD_IN_PROGRESS || e == KW_KERR_COORDINATOR_NOT_AVAILABLE ||
           e == KW_KERR_NOT_COORDINATOR;
}

static void on_answer(const kw_cluster_result *res, void *arg)
{
    coord_call *k = arg;
    if (res->err == KW_ECLOSED || (res->err && k->cl->closing)) {
        snprintf(k->detail, sizeof(k->detail), "%s", res->detail ? res->detail : "closed");
        finish_err(k, res->err, 0);
        return;
    }
    if (res->err) {
        /* The connection to the coordinator failed (or the node vanished): it may have moved. */
        kw__coord_forget(k->cl, k->key_type, k->key);
        k->last_err = res->err;
        k->last_kerr = 0;
        snprintf(k->detail, sizeof(k->detail), "%s coordinator of %s: %.300s", key_kind(k),
                 k->key, res->detail ? res->detail : kw_strerror(res->err));
        if (res->err == KW_ETIMEDOUT || res->err == KW_EVERSION || res->err == KW_ESASL ||
            res->err == KW_ETLS) {
            finish_err(k, res->err, 0);
            return;
        }
        retry(k);
        return;
    }
    int16_t e = k->kerr_of && res->resp ? k->kerr_of(res->resp, res->version) : 0;
    if (coordinator_moved(e)) {
        kw__coord_forget(k->cl, k->key_type, k->key);
        k->last_err = KW_EBROKER;
        k->last_kerr = e;
        snprintf(k->detail, sizeof(k->detail), "%s coordinator %d of %s answered %s",
                 key_kind(k), res->node_id, k->key, kw__kerr_name(e));
        retry(k);
        return;
    }
    kw_cluster_result out = *res;
    out.kerr = e;
    finish(k, &out);
}

static int build_find(void *arg, int version, int32_t leader_epoch, const void **req)
{
    (void)leader_epoch;
    coord_call *k = arg;
    kw__schema_init(kw__api_find_coordinator.req, version, &k->fc);
    k->fc.key_type = k->key_type;
    if (version >= 4) {
        k->fc_keys[0] = kw_str_c(k->key);
        k->fc.coordinator_keys.v = k->fc_keys;
        k->fc.coordinator_keys.n = 1;
    } else {
        k->fc.key = kw_str_c(k->key);
    }
    *req = &k->fc;
    return 0;
}

static void on_found(const kw_cluster_result *res, void *arg)
{
    coord_call *k = arg;
    if (res->err) {
        snprintf(k->detail, sizeof(k->detail), "FindCoordinator for %s %s: %.300s", key_kind(k),
                 k->key, res->detail ? res->detail : kw_strerror(res->err));
        finish_err(k, res->err, res->kerr);
        return;
    }
    const kw_find_coordinator_resp *r = res->resp;
    int16_t e = r->error_code;
    int32_t node = r->node_id;
    kw_str msg = r->error_message;
    if (res->version >= 4) {
        e = KW_KERR_COORDINATOR_NOT_AVAILABLE;
        node = -1;
        msg = KW_STR_NULL;
        for (int32_t i = 0; i < r->coordinators.n; i++)
            if (kw_str_eq(r->coordinators.v[i].key, k->key)) {
                e = r->coordinators.v[i].error_code;
                node = r->coordinators.v[i].node_id;
                msg = r->coordinators.v[i].error_message;
            }
    }
    if (e == 0 && node >= 0) {
        entry_set(k->cl, k->key_type, k->key, node);
        step(k);
        return;
    }
    if (e == 0)
        e = KW_KERR_COORDINATOR_NOT_AVAILABLE;
    k->last_err = KW_EBROKER;
    k->last_kerr = e;
    snprintf(k->detail, sizeof(k->detail), "FindCoordinator for %s %s: %s%s%.*s", key_kind(k),
             k->key, kw__kerr_name(e), msg.len > 0 ? ": " : "", msg.len > 0 ? (int)msg.len : 0,
             msg.len > 0 ? msg.ptr : "");
    if (coordinator_moved(e)) {
        retry(k);
        return;
    }
    finish_err(k, KW_EBROKER, e); /* e.g. GROUP_AUTHORIZATION_FAILED, INVALID_REQUEST */
}

static void step(coord_call *k)
{
    kw_cluster *cl = k->cl;
    if (cl->closing) {
        snprintf(k->detail, sizeof(k->detail), "the cluster was closed");
        finish_err(k, KW_ECLOSED, 0);
        return;
    }
    int32_t node = kw__coord_cached(cl, k->key_type, k->key);
    int rc = node >= 0 ? kw__cluster_send_node(cl, node, k->api_key, k->build, k->build_arg,
                                               k->deadline_ns, on_answer, k)
                       : kw__cluster_send_any(cl, KW_API_FIND_COORDINATOR, build_find, k,
                                              k->deadline_ns, on_found, k);
    if (rc) {
        snprintf(k->detail, sizeof(k->detail), "%s coordinator of %s: %s", key_kind(k), k->key,
                 kw_strerror(rc));
        finish_err(k, rc, 0);
    }
}

int kw__coord_send(kw_cluster *cl, int8_t key_type, const char *key, int api_key,
                   kw_cluster_build_fn *build, void *build_arg, kw_coord_kerr_fn *kerr_of,
                   uint64_t deadline_ns, kw_cluster_done_fn *done, void *done_arg)
{
    if (!cl || !key || !build || !done || !kw__api(api_key) || cl->closing ||
        (key_type != KW_COORDINATOR_GROUP && key_type != KW_COORDINATOR_TRANSACTION))
        return KW_EINVAL;
    size_t kl = strlen(key) + 1;
    coord_call *k = calloc(1, sizeof(*k) + kl);
    if (!k)
        return KW_ENOMEM;
    memcpy(k->key, key, kl);
    k->cl = cl;
    k->key_type = key_type;
    k->api_key = api_key;
    k->build = build;
    k->build_arg = build_arg;
    k->kerr_of = kerr_of;
    k->deadline_ns = deadline_ns;
    k->done = done;
    k->done_arg = done_arg;
    kw_coord_state *s = state(cl);
    if (!s) {
        free(k);
        return KW_ENOMEM;
    }
    /* The first step on the next loop round, never inside this call (the cluster's rule);
     * until then it is a sleeping call, so kw__coord_close ends it too. */
    k->asleep = true;
    k->next = s->sleeping;
    if (s->sleeping)
        s->sleeping->prev = k;
    s->sleeping = k;
    kw__loop_timer_init(cl->loop, &k->timer, on_timer, k);
    kw__loop_timer_start(&k->timer, 0);
    return 0;
}

void kw__coord_close(kw_cluster *cl)
{
    kw_coord_state *s = cl->coord;
    if (!s)
        return;
    while (s->sleeping) {
        coord_call *k = s->sleeping;
        kw__loop_timer_stop(&k->timer);
        unsleep(k);
        snprintf(k->detail, sizeof(k->detail), "the cluster was closed");
        finish_err(k, KW_ECLOSED, 0);
    }
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].key);
    free(s->v);
    free(s);
    cl->coord = NULL;
}
