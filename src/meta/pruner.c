/* The WAL pruner: heartbeats in the store, a timer thread, rounds of ListOffsets + DeleteRecords */
#include "meta/pruner.h"
#include "net/client_int.h"
#include "net/log.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOPIC_MAX 249 /* Kafka's limit on a topic name */
#define KEY_REGION "pruner/region/"
#define KEY_TOPIC "pruner/topic/"

typedef struct pregion {
    uint64_t id;
    char *topic;
    uint64_t flushed;
    uint64_t latest;
    bool reported;
    bool pinning; /* set by the last round */
} pregion;

typedef struct ptopic {
    char *name;
    uint64_t pruned_id;
    int64_t start, end, prune_point;
    uint64_t holder;
    char reason[KW_CLIENT_DETAIL_MAX + 400];
} ptopic;

struct kw_meta_pruner {
    kw_meta_pruner_options o;

    pthread_mutex_t mu; /* guards everything below except the timer fields */
    pregion *regions;   /* sorted by id */
    size_t nregions, capregions;
    ptopic *topics; /* sorted by name */
    size_t ntopics, captopics;
    uint64_t rounds;

    pthread_mutex_t round_mu; /* held for a whole round: rounds never overlap */

    pthread_mutex_t timer_mu;
    pthread_cond_t timer_cond; /* CLOCK_MONOTONIC */
    bool stop;
    bool thread_started;
    pthread_t thread;
};

/* ------------------------------------------------------------------ helpers */

static void plog(kw_meta_pruner *p, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void plog(kw_meta_pruner *p, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kw__vlog(p->o.log, p->o.log_arg, level, fmt, ap);
    va_end(ap);
}

static bool topic_ok(const char *t)
{
    /* The store's values are space-separated text: Kafka's own character set keeps them parseable.
     */
    if (!t || !*t)
        return false;
    size_t n = 0;
    for (const char *c = t; *c; c++, n++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-';
        if (!ok || n >= TOPIC_MAX)
            return false;
    }
    return true;
}

static void fmt_id(char *buf, size_t cap, uint64_t id)
{
    if (id == KW_META_PRUNER_NONE)
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%" PRIu64, id);
}

static int parse_id(const char *s, uint64_t *out)
{
    if (strcmp(s, "-") == 0) {
        *out = KW_META_PRUNER_NONE;
        return 0;
    }
    if (*s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v == KW_META_PRUNER_NONE)
        return -1;
    *out = v;
    return 0;
}

/* ------------------------------------------------------------------ state (mu held) */

static pregion *region_find(kw_meta_pruner *p, uint64_t id, size_t *pos)
{
    size_t lo = 0, hi = p->nregions;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->regions[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (pos)
        *pos = lo;
    return lo < p->nregions && p->regions[lo].id == id ? &p->regions[lo] : NULL;
}

static pregion *region_insert(kw_meta_pruner *p, uint64_t id, size_t pos)
{
    if (p->nregions == p->capregions) {
        size_t cap = p->capregions ? p->capregions * 2 : 16;
        pregion *n = realloc(p->regions, cap * sizeof(*n));
        if (!n)
            return NULL;
        p->regions = n;
        p->capregions = cap;
    }
    memmove(&p->regions[pos + 1], &p->regions[pos], (p->nregions - pos) * sizeof(pregion));
    p->nregions++;
    p->regions[pos] =
        (pregion){.id = id, .flushed = KW_META_PRUNER_NONE, .latest = KW_META_PRUNER_NONE};
    return &p->regions[pos];
}

static ptopic *topic_find(kw_meta_pruner *p, const char *name, size_t *pos)
{
    size_t lo = 0, hi = p->ntopics;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(p->topics[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (pos)
        *pos = lo;
    return lo < p->ntopics && strcmp(p->topics[lo].name, name) == 0 ? &p->topics[lo] : NULL;
}

static ptopic *topic_get(kw_meta_pruner *p, const char *name)
{
    size_t pos;
    ptopic *t = topic_find(p, name, &pos);
    if (t)
        return t;
    if (p->ntopics == p->captopics) {
        size_t cap = p->captopics ? p->captopics * 2 : 16;
        ptopic *n = realloc(p->topics, cap * sizeof(*n));
        if (!n)
            return NULL;
        p->topics = n;
        p->captopics = cap;
    }
    char *nm = strdup(name);
    if (!nm)
        return NULL;
    memmove(&p->topics[pos + 1], &p->topics[pos], (p->ntopics - pos) * sizeof(ptopic));
    p->ntopics++;
    p->topics[pos] = (ptopic){.name = nm,
                              .pruned_id = KW_META_PRUNER_NONE,
                              .start = -1,
                              .end = -1,
                              .prune_point = -1,
                              .holder = KW_META_PRUNER_NONE};
    return &p->topics[pos];
}

/* ------------------------------------------------------------------ store */

static int store_region(kw_meta_pruner *p, uint64_t id, const char *topic, uint64_t flushed,
                        uint64_t latest, bool reported)
{
    char key[64], val[TOPIC_MAX + 80], f[24], l[24];
    int kl = snprintf(key, sizeof(key), KEY_REGION "%020" PRIu64, id);
    fmt_id(f, sizeof(f), flushed);
    fmt_id(l, sizeof(l), latest);
    int vl = snprintf(val, sizeof(val), "v1 %s %s %s %d", topic, f, l, reported ? 1 : 0);
    return kw__meta_store_put(p->o.store, key, (size_t)kl, val, (size_t)vl, NULL);
}

static int store_topic(kw_meta_pruner *p, const char *topic, uint64_t pruned)
{
    char key[TOPIC_MAX + 32], val[32], f[24];
    int kl = snprintf(key, sizeof(key), KEY_TOPIC "%s", topic);
    fmt_id(f, sizeof(f), pruned);
    int vl = snprintf(val, sizeof(val), "v1 %s", f);
    return kw__meta_store_put(p->o.store, key, (size_t)kl, val, (size_t)vl, NULL);
}

typedef struct load_ctx {
    kw_meta_pruner *p;
    char *err;
    size_t err_cap;
    bool reload; /* a round's re-read of a shared store: known regions take the store's values */
} load_ctx;

static int load_fail(load_ctx *c, const kw_meta_kv *kv)
{
    if (c->err && c->err_cap)
        snprintf(c->err, c->err_cap, "pruner: store key %.*s: value %.*s does not parse",
                 (int)(kv->key_len > 300 ? 300 : kv->key_len), (const char *)kv->key,
                 (int)(kv->value_len > 300 ? 300 : kv->value_len), (const char *)kv->value);
    return KW_ECORRUPT;
}

/* Splits a copy of the value at spaces: at most max fields. */
static size_t split(char *s, char **f, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(s, " ", &save); tok && n < max; tok = strtok_r(NULL, " ", &save))
        f[n++] = tok;
    return strtok_r(NULL, " ", &save) ? max + 1 : n;
}

static int load_region(void *arg, const kw_meta_kv *kv)
{
    load_ctx *c = arg;
    char buf[TOPIC_MAX + 80], key[64];
    size_t plen = sizeof(KEY_REGION) - 1;
    if (kv->value_len >= sizeof(buf) || kv->key_len >= sizeof(key))
        return load_fail(c, kv);
    memcpy(buf, kv->value, kv->value_len);
    buf[kv->value_len] = 0;
    memcpy(key, kv->key, kv->key_len);
    key[kv->key_len] = 0;
    char *f[5];
    uint64_t id, flushed, latest;
    if (split(buf, f, 5) != 5 || strcmp(f[0], "v1") != 0 || !topic_ok(f[1]) ||
        parse_id(key + plen, &id) || id == KW_META_PRUNER_NONE || parse_id(f[2], &flushed) ||
        parse_id(f[3], &latest) || (strcmp(f[4], "0") != 0 && strcmp(f[4], "1") != 0))
        return load_fail(c, kv);
    size_t pos;
    pregion *known = region_find(c->p, id, &pos);
    if (known && !c->reload)
        return load_fail(c, kv);
    if (known) { /* another process's heartbeat: the store holds the latest durable report */
        char *t = strcmp(known->topic, f[1]) ? strdup(f[1]) : NULL;
        if (strcmp(known->topic, f[1])) {
            if (!t || !topic_get(c->p, f[1])) {
                free(t);
                return KW_ENOMEM;
            }
            free(known->topic);
            known->topic = t;
        }
        known->flushed = flushed;
        if (latest != KW_META_PRUNER_NONE)
            known->latest = latest;
        known->reported = known->reported || f[4][0] == '1';
        return 0;
    }
    pregion *r = region_insert(c->p, id, pos);
    char *t = r ? strdup(f[1]) : NULL;
    if (!t || !topic_get(c->p, f[1])) {
        free(t);
        if (r) /* undo the insert so close frees nothing half-made */
            memmove(&c->p->regions[pos], &c->p->regions[pos + 1],
                    (--c->p->nregions - pos) * sizeof(pregion));
        return KW_ENOMEM;
    }
    r->topic = t;
    r->flushed = flushed;
    r->latest = latest;
    r->reported = f[4][0] == '1';
    return 0;
}

static int load_topic(void *arg, const kw_meta_kv *kv)
{
    load_ctx *c = arg;
    char name[TOPIC_MAX + 1], buf[64];
    size_t plen = sizeof(KEY_TOPIC) - 1;
    if (kv->key_len - plen > TOPIC_MAX || kv->value_len >= sizeof(buf))
        return load_fail(c, kv);
    memcpy(name, kv->key + plen, kv->key_len - plen);
    name[kv->key_len - plen] = 0;
    memcpy(buf, kv->value, kv->value_len);
    buf[kv->value_len] = 0;
    char *f[2];
    uint64_t pruned;
    if (!topic_ok(name) || split(buf, f, 2) != 2 || strcmp(f[0], "v1") != 0 ||
        parse_id(f[1], &pruned))
        return load_fail(c, kv);
    ptopic *t = topic_get(c->p, name);
    if (!t)
        return KW_ENOMEM;
    /* A reload never lowers it: the pruned id only grows. */
    if (!c->reload || t->pruned_id == KW_META_PRUNER_NONE ||
        (pruned != KW_META_PRUNER_NONE && pruned > t->pruned_id))
        t->pruned_id = pruned;
    return 0;
}

/* A round's first step on a shared store: what other processes wrote since the last look. */
static int reload(kw_meta_pruner *p)
{
    char err[512] = "";
    load_ctx c = {.p = p, .err = err, .err_cap = sizeof(err), .reload = true};
    pthread_mutex_lock(&p->mu);
    int rc = kw__meta_store_range_prefix(p->o.store, KEY_TOPIC, sizeof(KEY_TOPIC) - 1, 0,
                                         load_topic, &c);
    if (!rc)
        rc = kw__meta_store_range_prefix(p->o.store, KEY_REGION, sizeof(KEY_REGION) - 1, 0,
                                         load_region, &c);
    pthread_mutex_unlock(&p->mu);
    if (rc) {
        char se[256];
        kw__meta_store_errstr(p->o.store, se, sizeof(se));
        plog(p, KW_LOG_WARN, "pruner: re-reading the shared store: %s",
             err[0] ? err : se[0] ? se : kw_strerror(rc));
    }
    return rc;
}

static bool may_act(kw_meta_pruner *p)
{
    return !p->o.may_act || p->o.may_act(p->o.may_act_arg);
}

/* ------------------------------------------------------------------ open / close */

static void *timer_main(void *arg);

static void free_state(kw_meta_pruner *p)
{
    for (size_t i = 0; i < p->nregions; i++)
        free(p->regions[i].topic);
    for (size_t i = 0; i < p->ntopics; i++)
        free(p->topics[i].name);
    free(p->regions);
    free(p->topics);
}

void kw__meta_pruner_options_from_config(kw_meta_pruner_options *o, const kw__wal_config *cfg)
{
    o->interval_ms = cfg->auto_prune_interval_ms;
    o->parallelism = cfg->auto_prune_parallelism;
    o->flush_trigger_size = cfg->flush_trigger_size;
}

int kw__meta_pruner_open(kw_meta_pruner **out, const kw_meta_pruner_options *opt, char *err,
                         size_t err_cap)
{
    if (err && err_cap)
        err[0] = 0;
    if (!out)
        return KW_EINVAL;
    *out = NULL;
    if (!opt || !opt->client || !opt->store) {
        if (err && err_cap)
            snprintf(err, err_cap, "pruner: a client and a store are required");
        return KW_EINVAL;
    }
    kw_meta_pruner *p = calloc(1, sizeof(*p));
    if (!p)
        return KW_ENOMEM;
    p->o = *opt;
    if (!p->o.parallelism)
        p->o.parallelism = KW_META_PRUNER_DEFAULT_PARALLELISM;
    if (!p->o.flush_trigger_size)
        p->o.flush_trigger_size = KW_META_PRUNER_DEFAULT_FLUSH_TRIGGER;
    if (!p->o.record_bytes)
        p->o.record_bytes = KW_META_PRUNER_DEFAULT_RECORD_BYTES;
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->round_mu, NULL);
    pthread_mutex_init(&p->timer_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->timer_cond, &ca);
    pthread_condattr_destroy(&ca);

    load_ctx c = {.p = p, .err = err, .err_cap = err_cap};
    int rc = kw__meta_store_range_prefix(p->o.store, KEY_TOPIC, sizeof(KEY_TOPIC) - 1, 0,
                                         load_topic, &c);
    if (!rc)
        rc = kw__meta_store_range_prefix(p->o.store, KEY_REGION, sizeof(KEY_REGION) - 1, 0,
                                         load_region, &c);
    if (rc) {
        if (err && err_cap && !err[0]) {
            char se[256];
            kw__meta_store_errstr(p->o.store, se, sizeof(se));
            snprintf(err, err_cap, "pruner: loading from the store: %s",
                     se[0] ? se : kw_strerror(rc));
        }
        kw__meta_pruner_close(p);
        return rc;
    }
    plog(p, KW_LOG_INFO, "pruner: %zu regions on %zu topics loaded from the store",
         p->nregions, p->ntopics);
    if (p->o.interval_ms) {
        if (pthread_create(&p->thread, NULL, timer_main, p) != 0) {
            if (err && err_cap)
                snprintf(err, err_cap, "pruner: cannot start the timer thread");
            kw__meta_pruner_close(p);
            return KW_ENOMEM;
        }
        p->thread_started = true;
    }
    *out = p;
    return 0;
}

void kw__meta_pruner_close(kw_meta_pruner *p)
{
    if (!p)
        return;
    if (p->thread_started) {
        pthread_mutex_lock(&p->timer_mu);
        p->stop = true;
        pthread_cond_broadcast(&p->timer_cond);
        pthread_mutex_unlock(&p->timer_mu);
        pthread_join(p->thread, NULL);
    }
    free_state(p);
    pthread_cond_destroy(&p->timer_cond);
    pthread_mutex_destroy(&p->timer_mu);
    pthread_mutex_destroy(&p->round_mu);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* ------------------------------------------------------------------ heartbeats */

/* Sets region id's record; writes the store first so memory never runs ahead of it. */
static int region_set(kw_meta_pruner *p, uint64_t id, const char *topic, uint64_t flushed,
                      uint64_t latest, bool reported, bool only_if_absent)
{
    pthread_mutex_lock(&p->mu);
    size_t pos;
    pregion *r = region_find(p, id, &pos);
    if (r && only_if_absent && strcmp(r->topic, topic) == 0) {
        pthread_mutex_unlock(&p->mu);
        return 0;
    }
    bool durable_change =
        !r || strcmp(r->topic, topic) != 0 || r->flushed != flushed || r->reported != reported;
    if (!durable_change) {
        r->latest = latest;
        pthread_mutex_unlock(&p->mu);
        return 0;
    }
    /* The store write happens under mu so two reports for one region land in order. */
    int rc = store_region(p, id, topic, flushed, latest, reported);
    if (rc) {
        char se[256];
        kw__meta_store_errstr(p->o.store, se, sizeof(se));
        pthread_mutex_unlock(&p->mu);
        plog(p, KW_LOG_ERROR, "pruner: region %" PRIu64 ": storing the report: %s", id,
             se);
        return rc;
    }
    char *t = strdup(topic);
    if (!t || !topic_get(p, topic) || (!r && !(r = region_insert(p, id, pos)))) {
        free(t);
        pthread_mutex_unlock(&p->mu);
        return KW_ENOMEM;
    }
    char *old = r->topic;
    r->topic = t;
    r->flushed = flushed;
    r->latest = latest;
    r->reported = reported;
    pthread_mutex_unlock(&p->mu);
    /* Logged outside mu: a host's log callback may take its own locks. */
    if (old && strcmp(old, topic) != 0)
        plog(p, KW_LOG_INFO, "pruner: region %" PRIu64 " moved from %s to %s", id, old,
             topic);
    free(old);
    return 0;
}

int kw__meta_pruner_report(kw_meta_pruner *p, const kw_meta_pruner_report *r)
{
    if (!p || !r || r->region_id == KW_META_PRUNER_NONE || !topic_ok(r->topic))
        return KW_EINVAL;
    return region_set(p, r->region_id, r->topic, r->flushed_id, r->latest_id, true, false);
}

int kw__meta_pruner_register_region(kw_meta_pruner *p, uint64_t region_id, const char *topic)
{
    if (!p || region_id == KW_META_PRUNER_NONE || !topic_ok(topic))
        return KW_EINVAL;
    return region_set(p, region_id, topic, KW_META_PRUNER_NONE, KW_META_PRUNER_NONE, false, true);
}

int kw__meta_pruner_remove_region(kw_meta_pruner *p, uint64_t region_id)
{
    if (!p)
        return KW_EINVAL;
    pthread_mutex_lock(&p->mu);
    size_t pos;
    pregion *r = region_find(p, region_id, &pos);
    if (!r) {
        pthread_mutex_unlock(&p->mu);
        return KW_ENOTFOUND;
    }
    char key[64];
    int kl = snprintf(key, sizeof(key), KEY_REGION "%020" PRIu64, region_id);
    int rc = kw__meta_store_del(p->o.store, key, (size_t)kl, NULL);
    if (rc && rc != KW_ENOTFOUND) {
        pthread_mutex_unlock(&p->mu);
        return rc;
    }
    free(r->topic);
    memmove(&p->regions[pos], &p->regions[pos + 1], (p->nregions - pos - 1) * sizeof(pregion));
    p->nregions--;
    pthread_mutex_unlock(&p->mu);
    return 0;
}

int kw__meta_pruner_replay_start(kw_meta_pruner *p, uint64_t region_id, uint64_t *from)
{
    if (!p || !from)
        return KW_EINVAL;
    pthread_mutex_lock(&p->mu);
    pregion *r = region_find(p, region_id, NULL);
    if (!r) {
        pthread_mutex_unlock(&p->mu);
        return KW_ENOTFOUND;
    }
    ptopic *t = topic_find(p, r->topic, NULL);
    uint64_t pruned = t ? t->pruned_id : KW_META_PRUNER_NONE;
    uint64_t f = r->flushed;
    pthread_mutex_unlock(&p->mu);
    /* NONE is below everything: max() over the ids that exist. */
    uint64_t m = f == KW_META_PRUNER_NONE        ? pruned
                 : pruned == KW_META_PRUNER_NONE ? f
                                                 : (f > pruned ? f : pruned);
    *from = m == KW_META_PRUNER_NONE ? 0 : m + 1;
    return 0;
}

uint64_t kw__meta_pruner_pruned_id(kw_meta_pruner *p, const char *topic)
{
    if (!p || !topic)
        return KW_META_PRUNER_NONE;
    pthread_mutex_lock(&p->mu);
    ptopic *t = topic_find(p, topic, NULL);
    uint64_t v = t ? t->pruned_id : KW_META_PRUNER_NONE;
    pthread_mutex_unlock(&p->mu);
    return v;
}

/* ------------------------------------------------------------------ a round */

/* One topic's work in a round. */
typedef struct rtask {
    struct round *rd;
    char *topic;
    kw_meta_pruner_region_in *regs;
    size_t nregs;
    /* ListOffsets */
    int list_stage; /* 0 earliest, 1 latest */
    int list_err;
    char list_detail[KW_CLIENT_DETAIL_MAX];
    int64_t start, end;
    /* decision */
    kw_meta_pruner_decision d;
    int64_t *needed;
    bool *pinning;
    uint64_t *behind;
    bool deleting;
    /* DeleteRecords */
    int del_err;
    char del_detail[KW_CLIENT_DETAIL_MAX];
    int64_t low_watermark;
} rtask;

typedef struct round {
    kw_meta_pruner *p;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    size_t in_flight;
} round_t;

static void task_done(rtask *t)
{
    round_t *rd = t->rd;
    pthread_mutex_lock(&rd->mu);
    rd->in_flight--;
    pthread_cond_broadcast(&rd->cond);
    pthread_mutex_unlock(&rd->mu);
}

static int submit_list(rtask *t);

static void on_list(const kw_client_list_offsets_result *r, void *arg)
{
    rtask *t = arg;
    if (r->err) {
        t->list_err = r->err;
        snprintf(t->list_detail, sizeof(t->list_detail), "%s",
                 r->detail[0] ? r->detail : kw_strerror(r->err));
        task_done(t);
        return;
    }
    if (t->list_stage == 0) {
        t->start = r->offset;
        t->list_stage = 1;
        int rc = submit_list(t); /* a callback may submit: the client allows it */
        if (rc) {
            t->list_err = rc;
            snprintf(t->list_detail, sizeof(t->list_detail), "cannot send ListOffsets: %s",
                     kw_strerror(rc));
            task_done(t);
        }
        return;
    }
    t->end = r->offset;
    task_done(t);
}

static int submit_list(rtask *t)
{
    round_t *rd = t->rd;
    kw_client_list_offsets_args a = {
        .topic = t->topic,
        .partition = 0,
        .spec = t->list_stage == 0 ? KW_CLIENT_OFFSET_EARLIEST : KW_CLIENT_OFFSET_LATEST,
        .timeout_ms = rd->p->o.timeout_ms,
    };
    return kw_client_list_offsets_async(rd->p->o.client, &a, on_list, t);
}

static void on_delete(const kw_client_delete_records_result *r, void *arg)
{
    rtask *t = arg;
    t->del_err = r->err;
    if (r->err)
        snprintf(t->del_detail, sizeof(t->del_detail), "%s",
                 r->detail[0] ? r->detail : kw_strerror(r->err));
    else
        t->low_watermark = r->low_watermark;
    task_done(t);
}

static int submit_delete(rtask *t)
{
    round_t *rd = t->rd;
    if (!may_act(rd->p))
        return KW_ECLOSED; /* the lease may have lapsed: another metasrv may lead now */
    if (rd->p->o.before_delete)
        rd->p->o.before_delete(rd->p->o.before_delete_arg, t->topic, t->d.prune_point);
    kw_client_delete_records_args a = {
        .topic = t->topic,
        .partition = 0,
        .before_offset = t->d.prune_point,
        .timeout_ms = rd->p->o.timeout_ms,
    };
    return kw_client_delete_records_async(rd->p->o.client, &a, on_delete, t);
}

/* Runs submit(t) for every task with a window of parallelism calls in flight, then waits for all.
 */
static void run_window(round_t *rd, rtask *tasks, size_t n, bool (*want)(rtask *),
                       int (*submit)(rtask *), void (*refused)(rtask *, int))
{
    for (size_t i = 0; i < n; i++) {
        if (!want(&tasks[i]))
            continue;
        pthread_mutex_lock(&rd->mu);
        while (rd->in_flight >= rd->p->o.parallelism)
            kw__client_wait_cond(rd->p->o.client, &rd->mu, &rd->cond, NULL);
        rd->in_flight++;
        pthread_mutex_unlock(&rd->mu);
        int rc = submit(&tasks[i]);
        if (rc) {
            refused(&tasks[i], rc);
            task_done(&tasks[i]);
        }
    }
    pthread_mutex_lock(&rd->mu);
    while (rd->in_flight)
        kw__client_wait_cond(rd->p->o.client, &rd->mu, &rd->cond, NULL);
    pthread_mutex_unlock(&rd->mu);
}

/* A topic no region is on is skipped without asking the broker (it may be long gone). */
static bool want_list(rtask *t)
{
    return t->nregs > 0;
}
static bool want_delete(rtask *t)
{
    return t->deleting;
}
static void list_refused(rtask *t, int rc)
{
    t->list_err = rc;
    snprintf(t->list_detail, sizeof(t->list_detail), "cannot send ListOffsets: %s",
             kw_strerror(rc));
}
static void delete_refused(rtask *t, int rc)
{
    t->del_err = rc;
    snprintf(t->del_detail, sizeof(t->del_detail), "cannot send DeleteRecords: %s",
             kw_strerror(rc));
}

static void tasks_free(rtask *tasks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(tasks[i].topic);
        free(tasks[i].regs);
        free(tasks[i].needed);
        free(tasks[i].pinning);
        free(tasks[i].behind);
    }
    free(tasks);
}

/*
 * Snapshot of every topic and its regions, taken before ListOffsets: a
 * flushed id F in it was acknowledged before the snapshot, so F + 1 is at
 * most the end ListOffsets will see, and anything written after the
 * snapshot sits at or past that end, out of reach of p.  Reports arriving
 * during the round only raise flushed ids, so deciding on the snapshot is
 * conservative.
 */
static int snapshot(kw_meta_pruner *p, round_t *rd, rtask **out, size_t *nout)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->ntopics;
    rtask *tasks = calloc(n ? n : 1, sizeof(*tasks));
    if (!tasks) {
        pthread_mutex_unlock(&p->mu);
        return KW_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        rtask *t = &tasks[i];
        t->rd = rd;
        t->start = t->end = -1;
        t->topic = strdup(p->topics[i].name);
        size_t k = 0;
        for (size_t j = 0; j < p->nregions; j++)
            k += strcmp(p->regions[j].topic, p->topics[i].name) == 0;
        size_t slots = k ? k : 1;
        t->regs = calloc(slots, sizeof(*t->regs));
        t->needed = calloc(slots, sizeof(*t->needed));
        t->pinning = calloc(slots, sizeof(*t->pinning));
        t->behind = calloc(slots, sizeof(*t->behind));
        if (!t->topic || !t->regs || !t->needed || !t->pinning || !t->behind) {
            pthread_mutex_unlock(&p->mu);
            tasks_free(tasks, n);
            return KW_ENOMEM;
        }
        for (size_t j = 0; j < p->nregions; j++) {
            const pregion *r = &p->regions[j];
            if (strcmp(r->topic, t->topic) == 0)
                t->regs[t->nregs++] = (kw_meta_pruner_region_in){
                    .region_id = r->id, .flushed_id = r->flushed, .reported = r->reported};
        }
    }
    pthread_mutex_unlock(&p->mu);
    *out = tasks;
    *nout = n;
    return 0;
}

static void raise_pruned(kw_meta_pruner *p, const char *topic, uint64_t pruned)
{
    pthread_mutex_lock(&p->mu);
    ptopic *pt = topic_find(p, topic, NULL);
    bool grows = pt && (pt->pruned_id == KW_META_PRUNER_NONE || pruned > pt->pruned_id);
    int rc = grows ? store_topic(p, topic, pruned) : 0;
    if (grows && !rc)
        pt->pruned_id = pruned;
    pthread_mutex_unlock(&p->mu);
    if (rc) {
        char se[256];
        kw__meta_store_errstr(p->o.store, se, sizeof(se));
        /* Every region's flushed id is >= it, so replay is right meanwhile. */
        plog(p, KW_LOG_ERROR,
             "pruner: %s: storing pruned id %" PRIu64 ": %s; tried again next round", topic, pruned,
             se);
    }
}

static void run_round(kw_meta_pruner *p, bool dry_run, kw_meta_pruner_round *sum)
{
    const char *dry = dry_run ? " (dry run)" : "";
    round_t rd = {.p = p};
    pthread_mutex_init(&rd.mu, NULL);
    pthread_cond_init(&rd.cond, NULL);
    rtask *tasks = NULL;
    size_t n = 0;
    if (kw__client_can_block(p->o.client)) { /* the loop thread: the round would wait for itself */
        plog(p, KW_LOG_ERROR, "pruner: round refused: called from the client's loop thread");
        sum->failed++;
        goto out;
    }
    if (!dry_run && !may_act(p)) {
        plog(p, KW_LOG_INFO, "pruner: round skipped: this metasrv does not lead");
        sum->skipped++;
        goto out;
    }
    if (p->o.shared_store && reload(p)) {
        sum->failed++; /* deciding without the other processes' reports could delete too much */
        goto out;
    }
    if (snapshot(p, &rd, &tasks, &n)) {
        plog(p, KW_LOG_ERROR, "pruner: round: out of memory");
        sum->failed++;
        goto out;
    }
    sum->topics = (uint32_t)n;

    /* 1: log start and end of every topic, parallelism topics at a time. */
    run_window(&rd, tasks, n, want_list, submit_list, list_refused);

    /* 2: decide; ask pinning regions to flush. */
    for (size_t i = 0; i < n; i++) {
        rtask *t = &tasks[i];
        if (t->list_err)
            continue;
        t->d.needed_from = t->needed;
        t->d.pinning = t->pinning;
        t->d.bytes_behind = t->behind;
        kw_meta_pruner_topic_in in = {.regions = t->regs,
                                      .region_count = t->nregs,
                                      .start_offset = t->start,
                                      .end_offset = t->end,
                                      .flush_trigger_size = p->o.flush_trigger_size,
                                      .record_bytes = p->o.record_bytes};
        kw__meta_pruner_decide(&in, &t->d);
        t->deleting = t->d.action == KW_META_PRUNER_PRUNE && !dry_run;
        if (kw__client_can_block(p->o.client)) { /* the loop thread: the round would wait for itself */
        plog(p, KW_LOG_ERROR, "pruner: round refused: called from the client's loop thread");
        sum->failed++;
        goto out;
    }
    if (!dry_run && !may_act(p)) {
            t->deleting = false;
            snprintf(t->d.reason, sizeof(t->d.reason), "not pruned: leadership lost in the round");
            continue;
        }
        for (size_t j = 0; j < t->nregs; j++) {
            if (!t->pinning[j])
                continue;
            char f[24];
            fmt_id(f, sizeof(f), t->regs[j].flushed_id);
            plog(p, KW_LOG_WARN,
                 "pruner: %s: region %" PRIu64 " pins the topic: flushed through %s, about %" PRIu64
                 " bytes behind the end %" PRId64 " (flush_trigger_size %" PRIu64 "); %s%s",
                 t->topic, t->regs[j].region_id, f, t->behind[j], t->end, p->o.flush_trigger_size,
                 dry_run || !p->o.flush ? "not asking it to flush" : "asking it to flush", dry);
            if (!dry_run && p->o.flush) {
                p->o.flush(p->o.flush_arg, t->regs[j].region_id, t->topic, t->regs[j].flushed_id,
                           t->behind[j]);
                sum->flush_requests++;
            }
        }
        if (t->d.action == KW_META_PRUNER_PRUNE && dry_run) {
            plog(p, KW_LOG_INFO, "pruner: %s: would %s%s", t->topic, t->d.reason, dry);
            sum->pruned++;
            sum->offsets_deleted += (uint64_t)(t->d.prune_point - t->start);
        } else if (t->d.action == KW_META_PRUNER_SKIP) {
            bool gone = t->d.prune_point >= 0 && t->d.prune_point < t->start;
            plog(p, gone ? KW_LOG_WARN : KW_LOG_INFO,
                 "pruner: %s: %s (log %" PRId64 "..%" PRId64 ")%s", t->topic, t->d.reason, t->start,
                 t->end, dry);
            sum->skipped++;
        }
    }

    /* 3: DeleteRecords, parallelism topics at a time. */
    run_window(&rd, tasks, n, want_delete, submit_delete, delete_refused);

    /* 4: outcomes: log, store pruned ids, status. */
    for (size_t i = 0; i < n; i++) {
        rtask *t = &tasks[i];
        char reason[KW_CLIENT_DETAIL_MAX + 300];
        if (t->list_err) {
            snprintf(reason, sizeof(reason), "failed: ListOffsets: %s; retried next round",
                     t->list_detail);
            plog(p, KW_LOG_WARN, "pruner: %s: %s", t->topic, reason);
            sum->failed++;
        } else if (t->deleting && t->del_err) {
            snprintf(reason, sizeof(reason),
                     "failed: DeleteRecords before %" PRId64 ": %s; retried next round",
                     t->d.prune_point, t->del_detail);
            plog(p, KW_LOG_WARN, "pruner: %s: %s", t->topic, reason);
            sum->failed++;
        } else if (t->deleting) {
            int64_t gone = t->low_watermark - t->start;
            /* The decision's reason reads "prune offsets A..B (...): <who>"; keep <who>. */
            const char *who = strstr(t->d.reason, "): ");
            snprintf(reason, sizeof(reason),
                     "pruned offsets %" PRId64 "..%" PRId64 ": %s; the log now starts at %" PRId64,
                     t->start, t->low_watermark - 1, who ? who + 3 : t->d.reason, t->low_watermark);
            plog(p, KW_LOG_INFO, "pruner: %s: %s (%" PRId64 " offsets deleted)",
                 t->topic, reason, gone > 0 ? gone : 0);
            sum->pruned++;
            sum->offsets_deleted += gone > 0 ? (uint64_t)gone : 0;
            t->start = t->low_watermark;
        } else {
            snprintf(reason, sizeof(reason), "%s%s",
                     dry_run && t->d.action == KW_META_PRUNER_PRUNE ? "would " : "", t->d.reason);
        }

        /*
         * The pruned id follows the log start, whoever moved it (this round,
         * an earlier round whose store write failed, retention): nothing
         * below it can be replayed, so replay starts after it.
         */
        if (!dry_run && !t->list_err && t->start > 0)
            raise_pruned(p, t->topic, (uint64_t)t->start - 1);

        pthread_mutex_lock(&p->mu);
        ptopic *pt = topic_find(p, t->topic, NULL);
        if (pt) {
            snprintf(pt->reason, sizeof(pt->reason), "%s%s", reason, dry);
            if (!t->list_err) {
                pt->start = t->start;
                pt->end = t->end;
                pt->prune_point = t->d.prune_point;
                pt->holder = t->d.holder;
            }
        }
        for (size_t j = 0; j < t->nregs && !t->list_err; j++) {
            pregion *r = region_find(p, t->regs[j].region_id, NULL);
            if (r && strcmp(r->topic, t->topic) == 0)
                r->pinning = t->pinning[j];
        }
        pthread_mutex_unlock(&p->mu);
    }
    tasks_free(tasks, n);
out:
    pthread_mutex_lock(&p->mu);
    p->rounds++;
    pthread_mutex_unlock(&p->mu);
    plog(p, KW_LOG_INFO,
         "pruner: round done%s: %u topics, %u pruned, %u skipped, %u failed, %" PRIu64
         " offsets deleted, %u flush requests",
         dry, sum->topics, sum->pruned, sum->skipped, sum->failed, sum->offsets_deleted,
         sum->flush_requests);
    pthread_cond_destroy(&rd.cond);
    pthread_mutex_destroy(&rd.mu);
}

int kw__meta_pruner_run_once(kw_meta_pruner *p, bool dry_run, kw_meta_pruner_round *out)
{
    if (!p)
        return KW_EINVAL;
    kw_meta_pruner_round sum = {0};
    pthread_mutex_lock(&p->round_mu);
    run_round(p, dry_run, &sum);
    pthread_mutex_unlock(&p->round_mu);
    if (out)
        *out = sum;
    return 0;
}

static void *timer_main(void *arg)
{
    kw_meta_pruner *p = arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (;;) {
        uint64_t ns = (uint64_t)next.tv_nsec + (p->o.interval_ms % 1000) * 1000000ull;
        next.tv_sec += (time_t)(p->o.interval_ms / 1000 + ns / 1000000000ull);
        next.tv_nsec = (long)(ns % 1000000000ull);
        pthread_mutex_lock(&p->timer_mu);
        while (!p->stop && pthread_cond_timedwait(&p->timer_cond, &p->timer_mu, &next) != ETIMEDOUT)
            ;
        bool stop = p->stop;
        pthread_mutex_unlock(&p->timer_mu);
        if (stop)
            break;
        kw__meta_pruner_run_once(p, false, NULL);
        /* A round longer than the interval: the next one starts an interval after it ends. */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > next.tv_sec || (now.tv_sec == next.tv_sec && now.tv_nsec > next.tv_nsec))
            next = now;
    }
    return NULL;
}

/* ------------------------------------------------------------------ status */

void kw__meta_pruner_status_free(kw_meta_pruner_status *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->topic_count; i++) {
        free(s->topics[i].topic);
        free(s->topics[i].reason);
        free(s->topics[i].regions);
    }
    free(s->topics);
    memset(s, 0, sizeof(*s));
}

int kw__meta_pruner_status(kw_meta_pruner *p, kw_meta_pruner_status *out)
{
    if (!p || !out)
        return KW_EINVAL;
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&p->mu);
    out->rounds = p->rounds;
    out->topics = calloc(p->ntopics ? p->ntopics : 1, sizeof(*out->topics));
    if (!out->topics)
        goto nomem;
    for (size_t i = 0; i < p->ntopics; i++) {
        const ptopic *t = &p->topics[i];
        kw_meta_pruner_topic_status *ts = &out->topics[out->topic_count++];
        ts->topic = strdup(t->name);
        ts->reason = strdup(t->reason);
        size_t k = 0;
        for (size_t j = 0; j < p->nregions; j++)
            k += strcmp(p->regions[j].topic, t->name) == 0;
        ts->regions = calloc(k ? k : 1, sizeof(*ts->regions));
        if (!ts->topic || !ts->reason || !ts->regions)
            goto nomem;
        ts->start_offset = t->start;
        ts->end_offset = t->end;
        ts->pruned_id = t->pruned_id;
        ts->prune_point = t->prune_point;
        ts->holder = t->holder;
        for (size_t j = 0; j < p->nregions; j++) {
            const pregion *r = &p->regions[j];
            if (strcmp(r->topic, t->name) == 0)
                ts->regions[ts->region_count++] =
                    (kw_meta_pruner_region_status){.region_id = r->id,
                                                   .flushed_id = r->flushed,
                                                   .latest_id = r->latest,
                                                   .reported = r->reported,
                                                   .pinning = r->pinning};
        }
    }
    pthread_mutex_unlock(&p->mu);
    return 0;
nomem:
    pthread_mutex_unlock(&p->mu);
    kw__meta_pruner_status_free(out);
    return KW_ENOMEM;
}
