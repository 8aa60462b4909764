/* Metasrv leader election: campaign, renew, step down, on a thread of its own; leadership read from memory. */
#include "meta/election.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meta/store_etcd.h"

struct kw_meta_election {
    kw_meta_election_options o;
    char *key, *id;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop;
    /* CLOCK_MONOTONIC ns until which acting as the leader is safe; 0 = not leading. */
    _Atomic uint64_t valid_until;
    int64_t lease;
    char leader[256]; /* the last leader seen (election thread only) */
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void elog(kw_meta_election *e, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void elog(kw_meta_election *e, int level, const char *fmt, ...)
{
    if (!e->o.log)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    e->o.log(e->o.log_arg, level, msg);
}

bool kw__meta_election_leading(const kw_meta_election *e)
{
    if (!e)
        return false;
    uint64_t until = atomic_load(&((kw_meta_election *)e)->valid_until);
    return until && now_ns() < until;
}

static uint64_t margin_ns(const kw_meta_election *e)
{
    uint64_t m = (uint64_t)e->o.ttl_s * 100000000ull; /* a tenth of the TTL */
    return m < 200000000ull ? 200000000ull : m;
}

/* Sleeps ms, or less when stopped; true when stopped. */
static bool nap(kw_meta_election *e, uint64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    uint64_t ns = (uint64_t)until.tv_nsec + (ms % 1000) * 1000000ull;
    until.tv_sec += (time_t)(ms / 1000 + ns / 1000000000ull);
    until.tv_nsec = (long)(ns % 1000000000ull);
    pthread_mutex_lock(&e->mu);
    while (!e->stop && pthread_cond_timedwait(&e->cond, &e->mu, &until) != ETIMEDOUT)
        ;
    bool stop = e->stop;
    pthread_mutex_unlock(&e->mu);
    return stop;
}

static void changed(kw_meta_election *e, bool leading, const char *leader)
{
    if (e->o.on_change)
        e->o.on_change(e->o.arg, leading, leader ? leader : "");
}

/* Follower: note who leads (for the log and the callback) when it changes. */
static void follow(kw_meta_election *e)
{
    char who[256];
    int rc = kw__meta_election_leader(e->o.store, e->key, who, sizeof(who));
    if (rc == KW_ENOTFOUND)
        who[0] = 0;
    else if (rc)
        return;
    if (strcmp(who, e->leader) != 0) {
        snprintf(e->leader, sizeof(e->leader), "%s", who);
        elog(e, KW_LOG_INFO, "election: %s leads%s", who[0] ? who : "nobody",
             who[0] ? "" : " (campaigning)");
        changed(e, false, who);
    }
}

static void step_down(kw_meta_election *e, const char *why)
{
    atomic_store(&e->valid_until, 0); /* first: nothing acts as the leader after this */
    elog(e, KW_LOG_WARN, "election: %s stops leading: %s", e->id, why);
    e->leader[0] = 0;
    changed(e, false, "");
    if (e->lease) {
        kw__meta_etcd_lease_revoke(e->o.store, e->lease);
        e->lease = 0;
    }
}

/* Leader: renew every third of the TTL until the lease is lost or the election stops. */
static void lead(kw_meta_election *e, uint64_t sent_at, int64_t ttl)
{
    atomic_store(&e->valid_until, sent_at + (uint64_t)ttl * 1000000000ull - margin_ns(e));
    snprintf(e->leader, sizeof(e->leader), "%s", e->id);
    elog(e, KW_LOG_INFO, "election: %s leads (lease %lld, %lld s)", e->id, (long long)e->lease,
         (long long)ttl);
    changed(e, true, e->id);
    for (;;) {
        if (nap(e, (uint64_t)e->o.ttl_s * 1000 / 3))
            return;
        uint64_t t0 = now_ns();
        int64_t left = 0;
        int rc = kw__meta_etcd_lease_keepalive(e->o.store, e->lease, &left);
        if (rc == 0) {
            char who[256] = "";
            int gr = kw__meta_election_leader(e->o.store, e->key, who, sizeof(who));
            if (gr == KW_ENOTFOUND || (gr == 0 && strcmp(who, e->id) != 0)) {
                step_down(e, gr ? "the campaign key is gone" : "the campaign key names another");
                return;
            }
            atomic_store(&e->valid_until, t0 + (uint64_t)left * 1000000000ull - margin_ns(e));
            continue;
        }
        if (rc == KW_ENOTFOUND) {
            step_down(e, "the lease lapsed");
            return;
        }
        char se[256];
        kw__meta_store_errstr(e->o.store, se, sizeof(se));
        elog(e, KW_LOG_WARN, "election: renewing the lease: %s", se);
        if (!kw__meta_election_leading(e)) {
            step_down(e, "the lease could not be renewed in time");
            return;
        }
    }
}

static void *run(void *arg)
{
    kw_meta_election *e = arg;
    unsigned fails = 0;
    while (!nap(e, 0)) {
        uint64_t t0 = now_ns();
        int rc = e->lease ? 0 : kw__meta_etcd_lease_grant(e->o.store, e->o.ttl_s, &e->lease);
        uint64_t rev = 0;
        if (rc == 0)
            rc = kw__meta_etcd_cas_lease(e->o.store, e->key, strlen(e->key), KW_META_REV_ABSENT,
                                         e->id, strlen(e->id), e->lease, &rev);
        if (rc == 0) {
            fails = 0;
            lead(e, t0, e->o.ttl_s);
            continue;
        }
        if (rc == KW_EAGAIN) { /* someone leads: follow, and try again when the key goes */
            fails = 0;
            follow(e);
            if (nap(e, (uint64_t)e->o.ttl_s * 1000 / 3))
                break;
            continue;
        }
        char se[256];
        kw__meta_store_errstr(e->o.store, se, sizeof(se));
        elog(e, KW_LOG_WARN, "election: campaigning: %s", se);
        if (rc == KW_ENOTFOUND || e->lease) { /* a lapsed lease: a new one next time */
            e->lease = 0;
        }
        uint64_t back = 200ull << (fails < 5 ? fails : 5);
        fails++;
        if (nap(e, back))
            break;
    }
    if (kw__meta_election_leading(e) || e->lease) {
        atomic_store(&e->valid_until, 0);
        if (e->lease)
            kw__meta_etcd_lease_revoke(e->o.store, e->lease); /* the next takes over now */
        e->lease = 0;
        elog(e, KW_LOG_INFO, "election: %s resigned", e->id);
    }
    return NULL;
}

int kw__meta_election_start(const kw_meta_election_options *opt, kw_meta_election **out,
                            char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    if (!out || !opt || !opt->store || !opt->key || !*opt->key || !opt->id || !*opt->id) {
        if (err && errlen)
            snprintf(err, errlen, "election: store, key and id are required");
        return KW_EINVAL;
    }
    *out = NULL;
    if (!kw__meta_store_is_etcd(opt->store)) {
        if (err && errlen)
            snprintf(err, errlen, "election: needs the etcd store (backend = \"etcd_store\")");
        return KW_EUNSUPPORTED;
    }
    if (opt->ttl_s && opt->ttl_s < 2) {
        if (err && errlen)
            snprintf(err, errlen, "election: lease TTL %u s: at least 2 s", opt->ttl_s);
        return KW_EINVAL;
    }
    kw_meta_election *e = calloc(1, sizeof(*e));
    if (!e)
        return KW_ENOMEM;
    e->o = *opt;
    if (!e->o.ttl_s)
        e->o.ttl_s = 5;
    e->key = strdup(opt->key);
    e->id = strdup(opt->id);
    if (!e->key || !e->id) {
        free(e->key);
        free(e->id);
        free(e);
        return KW_ENOMEM;
    }
    e->o.key = e->key;
    e->o.id = e->id;
    pthread_mutex_init(&e->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&e->thread, NULL, run, e) != 0) {
        pthread_cond_destroy(&e->cond);
        pthread_mutex_destroy(&e->mu);
        free(e->key);
        free(e->id);
        free(e);
        return KW_ENOMEM;
    }
    *out = e;
    return 0;
}

void kw__meta_election_stop(kw_meta_election *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&e->mu);
    e->stop = true;
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->thread, NULL);
    pthread_cond_destroy(&e->cond);
    pthread_mutex_destroy(&e->mu);
    free(e->key);
    free(e->id);
    free(e);
}

int kw__meta_election_leader(kw_meta_store *store, const char *key, char *buf, size_t cap)
{
    uint8_t *v = NULL;
    size_t n = 0;
    int rc = kw__meta_store_get(store, key, strlen(key), &v, &n, NULL);
    if (rc)
        return rc;
    if (cap)
        snprintf(buf, cap, "%.*s", (int)n, (const char *)v);
    free(v);
    return 0;
}
