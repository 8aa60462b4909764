/* The public kw_meta handle (include/kwal/meta.h): config, client, store, allocator and pruner. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kwal/client.h"
#include "kwal/meta.h"
#include "meta/allocator.h"
#include "meta/election.h"
#include "meta/pruner.h"
#include "meta/store.h"
#include "meta/store_config.h"
#include "meta/store_etcd.h"
#include "meta/topics.h"
#include "wal/config.h"

_Static_assert(KW_META_NONE == KW_META_PRUNER_NONE, "one \"none\" for the public and internal ids");

struct kw_meta {
    kw__wal_config cfg;
    kw_client *client;
    bool own_client; /* made by kw_meta_open (else the host's, kw_meta_options.client) */
    kw_meta_store *store;
    kw_meta_alloc *alloc;
    kw_meta_pruner *pruner;
    kw_meta_election *election; /* campaign on etcd */
    bool leads_alone;           /* campaign on the file store */
    char node_id[256];
    void (*on_role)(void *arg, bool leading, const char *leader);
    void *role_arg;
    kw_meta_flush_fn *flush;
    void *flush_arg;
    kw_log_fn *log;
    void *log_arg;
    /* The thread inside the flush callback, if any: its kw_meta calls get KW_EDEADLK. */
    atomic_bool in_flush;
    pthread_t flush_tid;
    pthread_mutex_t err_mu;
    char errstr[8192]; /* a topic check lists every topic that is wrong */
};

static int fail(kw_meta *m, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(kw_meta *m, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&m->err_mu);
    vsnprintf(m->errstr, sizeof(m->errstr), fmt, ap);
    pthread_mutex_unlock(&m->err_mu);
    va_end(ap);
    return err;
}

/* The campaign key, under the store's prefix. */
#define ELECTION_KEY "meta/leader"

static void default_node_id(char *buf, size_t cap)
{
    char host[128] = "localhost";
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = 0;
    snprintf(buf, cap, "%s:%ld", host, (long)getpid());
}

static bool may_act(void *arg)
{
    kw_meta *m = arg;
    return kw__meta_election_leading(m->election);
}

static void role_changed(void *arg, bool leading, const char *leader)
{
    kw_meta *m = arg;
    if (m->on_role)
        m->on_role(m->role_arg, leading, leader);
}

/* The pruner's and the client's log lines go to the host's one callback (levels line up). */
static void pruner_log(void *arg, int level, const char *msg)
{
    kw_meta *m = arg;
    if (m->log)
        m->log(m->log_arg, level, msg);
}

static void client_log(void *arg, int level, const char *msg)
{
    kw_meta *m = arg;
    if (m->log && level <= KW_LOG_WARN)
        m->log(m->log_arg, level, msg);
}

static void pruner_flush(void *arg, uint64_t region_id, const char *topic, uint64_t flushed_id,
                         uint64_t bytes_behind)
{
    (void)topic;
    kw_meta *m = arg;
    /* Rounds run one at a time, so one flag and one thread id say who is inside. */
    m->flush_tid = pthread_self();
    atomic_store(&m->in_flush, true);
    m->flush(m->flush_arg, region_id, flushed_id, bytes_behind);
    atomic_store(&m->in_flush, false);
}

/* KW_EDEADLK for a call from the flush callback: the round it would wait for (or whose locks
 * it would take) is the caller's own.  KW_EINVAL without a store (topic calls only). */
static int flush_guard(kw_meta *m);
static int guard(kw_meta *m)
{
    if (!m->store) /* opened without store_dir: the topic calls only */
        return fail(m, KW_EINVAL, "this handle was opened without store_dir: topic calls only");
    return flush_guard(m);
}

int kw_meta_open(kw_meta **out, const kw_meta_options *opts, char *errbuf, size_t errlen)
{
    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (!out)
        return KW_EINVAL;
    *out = NULL;
    if (!opts || !opts->config_path) {
        if (errbuf)
            snprintf(errbuf, errlen, "kw_meta_open: config_path is required");
        return KW_EINVAL;
    }
    kw_meta *m = calloc(1, sizeof(*m));
    if (!m)
        return KW_ENOMEM;
    pthread_mutex_init(&m->err_mu, NULL);
    m->flush = opts->flush;
    m->flush_arg = opts->flush_arg;
    m->log = opts->log;
    m->log_arg = opts->log_arg;
    char err[1024] = "";
    int rc = kw__wal_config_load(opts->config_path, &m->cfg, err, sizeof(err));
    if (rc == 0 && m->cfg.wal.provider != KW_WAL_PROVIDER_KAFKA) {
        snprintf(err, sizeof(err), "%s: the metasrv side needs provider = \"kafka\" in [wal]",
                 opts->config_path);
        rc = KW_ECONFIG;
    }
    if (rc == 0 && opts->client) {
        m->client = opts->client;
    } else if (rc == 0) {
        /* The host's connection settings win over the file's ([wal] already maps onto the
         * client's options: one vocabulary). */
        kw_client_options co;
        kw__meta_client_options(opts->kafka.bootstrap ? &opts->kafka : &m->cfg.wal.kafka, &co);
        co.log = client_log;
        co.log_arg = m;
        char cerr[512];
        rc = kw_client_new(&m->client, &co, cerr, sizeof(cerr));
        m->own_client = rc == 0;
        if (rc)
            snprintf(err, sizeof(err), "client for %s: %s", co.bootstrap ? co.bootstrap : "?",
                     cerr);
    }
    /* The store: etcd when the file says backend = "etcd_store" (store_dir is then not used),
     * else the file store in store_dir; neither: a handle for the topic calls only. */
    kw__meta_store_config sc = {0};
    if (rc == 0)
        rc = kw__meta_store_config_load(opts->config_path, &sc, err, sizeof(err));
    if (rc == 0 && opts->campaign) {
        if (opts->node_id && *opts->node_id)
            snprintf(m->node_id, sizeof(m->node_id), "%s", opts->node_id);
        else if (sc.node_id)
            snprintf(m->node_id, sizeof(m->node_id), "%s", sc.node_id);
        else
            default_node_id(m->node_id, sizeof(m->node_id));
        m->on_role = opts->on_role;
        m->role_arg = opts->role_arg;
    }
    bool topics_only = rc == 0 && sc.backend == KW_META_BACKEND_FILE && !opts->store_dir;
    if (rc == 0 && !topics_only) {
        char serr[512];
        rc = kw__meta_store_config_open(&sc, opts->store_dir, &m->store, serr, sizeof(serr));
        if (rc)
            snprintf(err, sizeof(err), "metadata store %s: %s",
                     sc.backend == KW_META_BACKEND_ETCD ? "(etcd)" : opts->store_dir, serr);
    }
    uint32_t sc_ttl = sc.lease_ttl_s;
    kw__meta_store_config_free(&sc);
    if (rc == 0 && !topics_only) {
        kw_meta_alloc_options ao = {
            .store = m->store,
            .topic_name_prefix = m->cfg.topic_name_prefix,
            .num_topics = m->cfg.num_topics,
            .selector = m->cfg.selector_random ? KW_META_SELECTOR_RANDOM
                                               : KW_META_SELECTOR_ROUND_ROBIN,
        };
        char aerr[512];
        rc = kw__meta_alloc_new(&m->alloc, &ao, aerr, sizeof(aerr));
        if (rc)
            snprintf(err, sizeof(err), "allocator: %s", aerr);
    }
    if (rc == 0 && !topics_only) {
        kw_meta_pruner_options po = {.client = m->client,
                                     .store = m->store,
                                     .shared_store = kw__meta_store_is_etcd(m->store)};
        if (opts->campaign && kw__meta_store_is_etcd(m->store)) {
            po.may_act = may_act;
            po.may_act_arg = m;
        }
        kw__meta_pruner_options_from_config(&po, &m->cfg);
        if (opts->no_prune_timer)
            po.interval_ms = 0;
        po.log = pruner_log;
        po.log_arg = m;
        if (m->flush) {
            po.flush = pruner_flush;
            po.flush_arg = m;
        }
        char perr[512];
        rc = kw__meta_pruner_open(&m->pruner, &po, perr, sizeof(perr));
        if (rc)
            snprintf(err, sizeof(err), "pruner: %s", perr);
    }
    if (rc == 0 && opts->campaign && topics_only) {
        snprintf(err, sizeof(err), "campaigning needs a store (store_dir, or backend = "
                                   "\"etcd_store\")");
        rc = KW_EINVAL;
    }
    if (rc == 0 && opts->campaign && kw__meta_store_is_etcd(m->store)) {
        kw_meta_election_options eo = {.store = m->store,
                                       .key = ELECTION_KEY,
                                       .id = m->node_id,
                                       .ttl_s = sc_ttl,
                                       .on_change = role_changed,
                                       .arg = m,
                                       .log = m->log,
                                       .log_arg = m->log_arg};
        char eerr[256];
        rc = kw__meta_election_start(&eo, &m->election, eerr, sizeof(eerr));
        if (rc)
            snprintf(err, sizeof(err), "%s", eerr);
    } else if (rc == 0 && opts->campaign) {
        m->leads_alone = true;
        if (m->on_role)
            m->on_role(m->role_arg, true, m->node_id);
    }
    if (rc) {
        if (errbuf)
            snprintf(errbuf, errlen, "%s", err);
        kw_meta_close(m);
        return rc;
    }
    *out = m;
    return 0;
}

bool kw_meta_leading(const kw_meta *m)
{
    return m && (m->leads_alone || kw__meta_election_leading(m->election));
}

int kw_meta_leader(kw_meta *m, char *buf, size_t cap)
{
    if (!m || !buf || !cap)
        return KW_EINVAL;
    buf[0] = 0;
    if (m->leads_alone) {
        snprintf(buf, cap, "%s", m->node_id);
        return 0;
    }
    if (!m->store || !kw__meta_store_is_etcd(m->store))
        return KW_ENOTFOUND;
    int rc = kw__meta_election_leader(m->store, ELECTION_KEY, buf, cap);
    if (rc && rc != KW_ENOTFOUND) {
        char se[256];
        kw__meta_store_errstr(m->store, se, sizeof(se));
        fail(m, rc, "leader: %s", se);
    }
    return rc;
}

void kw_meta_close(kw_meta *m)
{
    if (!m)
        return;
    /* Resign first (a successor takes over at once), then nothing of ours prunes. */
    kw__meta_election_stop(m->election);
    m->election = NULL;
    /* The pruner uses the client and the store; the allocator uses the store. */
    kw__meta_pruner_close(m->pruner);
    kw__meta_alloc_free(m->alloc);
    kw__meta_store_close(m->store);
    if (m->own_client)
        kw_client_destroy(m->client);
    kw__wal_config_free(&m->cfg);
    pthread_mutex_destroy(&m->err_mu);
    free(m);
}

const char *kw_meta_errstr(const kw_meta *m)
{
    return m ? m->errstr : "";
}

/* KW_EDEADLK from the flush callback (a topic call needs no store). */
static int flush_guard(kw_meta *m)
{
    if (atomic_load(&m->in_flush) && pthread_equal(pthread_self(), m->flush_tid))
        return fail(m, KW_EDEADLK, "kw_meta call from the flush callback (the pruning round's "
                                   "thread): not allowed");
    return 0;
}

typedef int topics_fn(kw_client *c, const kw__wal_config *cfg, kw_meta_topics_report *out,
                      char *err, size_t errlen);

/* One of topics.c's runs on the handle's client and config; its report copied to *out. */
static int topics_call(kw_meta *m, topics_fn *fn, kw_meta_topics_result *out)
{
    if (!m)
        return KW_EINVAL;
    int g = flush_guard(m);
    if (g)
        return g;
    char *err = malloc(8192);
    if (!err)
        return KW_ENOMEM;
    err[0] = 0;
    kw_meta_topics_report rep = {0};
    int rc = fn(m->client, &m->cfg, &rep, err, 8192);
    if (out)
        *out = (kw_meta_topics_result){.topics = rep.topics,
                                       .created = rep.created,
                                       .raced = rep.raced,
                                       .problems = rep.problems,
                                       .noops_written = rep.noops_written,
                                       .lookup_ms = rep.lookup_ms,
                                       .create_ms = rep.create_ms,
                                       .verify_ms = rep.verify_ms,
                                       .noop_ms = rep.noop_ms,
                                       .total_ms = rep.total_ms};
    if (rc)
        fail(m, rc, "topics: %s", err);
    free(err);
    return rc;
}

int kw_meta_prepare_topics(kw_meta *m)
{
    return topics_call(m, kw__meta_topics_prepare, NULL);
}

int kw_meta_topics(kw_meta *m, bool create, kw_meta_topics_result *out)
{
    return topics_call(m, create ? kw__meta_topics_ensure : kw__meta_topics_verify, out);
}

const char *kw_meta_topic_prefix(const kw_meta *m)
{
    return m ? m->cfg.topic_name_prefix : "";
}

int kw_meta_status_get(kw_meta *m, kw_meta_status *out)
{
    if (!out)
        return KW_EINVAL;
    memset(out, 0, sizeof(*out));
    if (!m)
        return KW_EINVAL;
    int g = guard(m);
    if (g)
        return g;
    kw_meta_pruner_status *st = calloc(1, sizeof(*st));
    if (!st)
        return KW_ENOMEM;
    int rc = kw__meta_pruner_status(m->pruner, st);
    kw_meta_topic_status *t = rc ? NULL : calloc(st->topic_count ? st->topic_count : 1, sizeof(*t));
    if (!rc && !t)
        rc = KW_ENOMEM;
    if (rc) {
        kw__meta_pruner_status_free(st);
        free(st);
        return fail(m, rc, "status: %s", kw_strerror(rc));
    }
    for (size_t i = 0; i < st->topic_count; i++) {
        const kw_meta_pruner_topic_status *in = &st->topics[i];
        t[i] = (kw_meta_topic_status){.topic = in->topic,
                                      .start_offset = in->start_offset,
                                      .end_offset = in->end_offset,
                                      .pruned_id = in->pruned_id, /* KW_META_PRUNER_NONE */
                                      .holder = in->holder,
                                      .reason = in->reason ? in->reason : "",
                                      .region_count = in->region_count};
    }
    out->topics = t;
    out->topic_count = st->topic_count;
    out->internal = st;
    return 0;
}

void kw_meta_status_free(kw_meta_status *s)
{
    if (!s)
        return;
    if (s->internal) {
        kw__meta_pruner_status_free(s->internal);
        free(s->internal);
    }
    free(s->topics);
    memset(s, 0, sizeof(*s));
}

int kw_meta_region_topic(kw_meta *m, uint64_t region_id, char *topic, size_t cap)
{
    if (!m || !topic || region_id == KW_META_NONE)
        return KW_EINVAL;
    int g = guard(m);
    if (g)
        return g;
    char name[KW_META_TOPIC_NAME_MAX], err[512];
    int rc = kw__meta_alloc_topic(m->alloc, region_id, name, sizeof(name));
    if (rc) {
        kw__meta_alloc_errstr(m->alloc, err, sizeof(err));
        return fail(m, rc, "region %llu: %s", (unsigned long long)region_id, err);
    }
    /* Until the region reports, its topic must not be pruned as if it were not there. */
    rc = kw__meta_pruner_register_region(m->pruner, region_id, name);
    if (rc)
        return fail(m, rc, "region %llu: registering with the pruner: %s",
                    (unsigned long long)region_id, kw_strerror(rc));
    if (strlen(name) >= cap)
        return fail(m, KW_ETOOBIG, "region %llu: topic name does not fit in %zu bytes",
                    (unsigned long long)region_id, cap);
    memcpy(topic, name, strlen(name) + 1);
    return 0;
}

int kw_meta_heartbeat(kw_meta *m, uint64_t region_id, uint64_t flushed_id, uint64_t latest_id)
{
    if (!m || region_id == KW_META_NONE)
        return KW_EINVAL;
    int g = guard(m);
    if (g)
        return g;
    char topic[KW_META_TOPIC_NAME_MAX];
    int rc = kw__meta_alloc_lookup(m->alloc, region_id, topic, sizeof(topic));
    if (rc)
        return fail(m, rc, "region %llu: no topic assigned (%s)", (unsigned long long)region_id,
                    kw_strerror(rc));
    kw_meta_pruner_report r = {
        .region_id = region_id,
        .topic = topic,
        .flushed_id = flushed_id, /* KW_META_NONE is KW_META_PRUNER_NONE */
        .latest_id = latest_id,
    };
    rc = kw__meta_pruner_report(m->pruner, &r);
    return rc ? fail(m, rc, "region %llu: heartbeat: %s", (unsigned long long)region_id,
                     kw_strerror(rc))
              : 0;
}

int kw_meta_replay_start(kw_meta *m, uint64_t region_id, uint64_t *from)
{
    if (!m || !from)
        return KW_EINVAL;
    int g = guard(m);
    if (g)
        return g;
    int rc = kw__meta_pruner_replay_start(m->pruner, region_id, from);
    return rc ? fail(m, rc, "region %llu: replay start: %s", (unsigned long long)region_id,
                     kw_strerror(rc))
              : 0;
}

int kw_meta_prune_now(kw_meta *m, bool dry_run, kw_meta_prune_stats *out)
{
    if (!m)
        return KW_EINVAL;
    int g = guard(m);
    if (g)
        return g;
    kw_meta_pruner_round r = {0};
    int rc = kw__meta_pruner_run_once(m->pruner, dry_run, &r);
    if (rc)
        return fail(m, rc, "pruning round: %s", kw_strerror(rc));
    if (out) {
        out->topics = r.topics;
        out->pruned = r.pruned;
        out->skipped = r.skipped;
        out->failed = r.failed;
        out->flush_requests = r.flush_requests;
        out->offsets_deleted = r.offsets_deleted;
    }
    return 0;
}
