/* The region allocator: region -> WAL topic, round-robin or random, persisted with compare-and-put.
 */
#include "meta/allocator.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* Compare-and-put conflicts in a row before giving up: only a store that never settles gets there.
 */
#define MAX_CONFLICTS 1000
/* "wal/region/" + 20 digits */
#define REGION_KEY_MAX (sizeof(KW_META_ALLOC_REGION_PREFIX) + 20)

struct kw_meta_alloc {
    kw_meta_store *store;
    char *prefix;
    uint32_t num_topics;
    int selector;
    /* splitmix64: a counter stepped atomically, so random picks need no lock */
    _Atomic uint64_t rng;
    pthread_mutex_t err_mu;
    char errstr[256];
};

static int alloc_fail(kw_meta_alloc *a, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int alloc_fail(kw_meta_alloc *a, int rc, const char *fmt, ...)
{
    pthread_mutex_lock(&a->err_mu);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->errstr, sizeof(a->errstr), fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&a->err_mu);
    return rc;
}

/* A store call failed: keep the store's own detail text. */
static int store_fail(kw_meta_alloc *a, int rc, const char *what)
{
    char detail[256];
    kw__meta_store_errstr(a->store, detail, sizeof(detail));
    return alloc_fail(a, rc, "%s: %s: %s", what, kw_err_name(rc), detail);
}

int kw__meta_alloc_new(kw_meta_alloc **out, const kw_meta_alloc_options *opt, char *err,
                       size_t errlen)
{
    if (out)
        *out = NULL;
    char name[KW_META_TOPIC_NAME_MAX];
    const char *why = NULL;
    if (!out || !opt || !opt->store)
        why = "no store";
    else if (!opt->topic_name_prefix || !opt->topic_name_prefix[0])
        why = "no topic_name_prefix";
    else if (opt->num_topics == 0)
        why = "num_topics is 0";
    else if (opt->selector != KW_META_SELECTOR_ROUND_ROBIN &&
             opt->selector != KW_META_SELECTOR_RANDOM)
        why = "unknown selector";
    else if (kw__meta_topic_name(opt->topic_name_prefix, opt->num_topics - 1, name, sizeof(name)))
        why = "topic_name_prefix makes topic names longer than 249 characters";
    if (why) {
        if (err && errlen)
            snprintf(err, errlen, "allocator: %s", why);
        return KW_EINVAL;
    }
    kw_meta_alloc *a = calloc(1, sizeof(*a));
    if (!a || !(a->prefix = strdup(opt->topic_name_prefix))) {
        free(a);
        if (err && errlen)
            snprintf(err, errlen, "allocator: out of memory");
        return KW_ENOMEM;
    }
    a->store = opt->store;
    a->num_topics = opt->num_topics;
    a->selector = opt->selector;
    uint64_t seed = opt->random_seed;
    /* a failed getrandom leaves the address-derived seed: random spread is all that is needed */
    if (seed == 0 && getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
        seed = (uint64_t)(uintptr_t)a ^ 0x9e3779b97f4a7c15u;
    atomic_init(&a->rng, seed);
    pthread_mutex_init(&a->err_mu, NULL);
    *out = a;
    return 0;
}

void kw__meta_alloc_free(kw_meta_alloc *a)
{
    if (!a)
        return;
    pthread_mutex_destroy(&a->err_mu);
    free(a->prefix);
    free(a);
}

void kw__meta_alloc_errstr(kw_meta_alloc *a, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return;
    if (!a) {
        buf[0] = '\0';
        return;
    }
    pthread_mutex_lock(&a->err_mu);
    snprintf(buf, cap, "%s", a->errstr);
    pthread_mutex_unlock(&a->err_mu);
}

/* ---------------------------------------------------------------- keys and values */

static size_t region_key(char *buf, uint64_t region_id)
{
    return (size_t)snprintf(buf, REGION_KEY_MAX, KW_META_ALLOC_REGION_PREFIX "%020" PRIu64,
                            region_id);
}

/* A stored topic name into topic; KW_ECORRUPT if it cannot be one. */
static int copy_topic(kw_meta_alloc *a, uint64_t region_id, const uint8_t *v, size_t len,
                      char *topic, size_t cap)
{
    if (len == 0 || len >= KW_META_TOPIC_NAME_MAX || memchr(v, '\0', len))
        return alloc_fail(a, KW_ECORRUPT, "region %" PRIu64 ": stored topic is not a topic name",
                          region_id);
    if (len >= cap)
        return alloc_fail(a, KW_ETOOBIG, "region %" PRIu64 ": topic buffer of %zu bytes too small",
                          region_id, cap);
    memcpy(topic, v, len);
    topic[len] = '\0';
    return 0;
}

static int get_region(kw_meta_alloc *a, uint64_t region_id, char *topic, size_t cap)
{
    char key[REGION_KEY_MAX];
    size_t kl = region_key(key, region_id);
    uint8_t *v = NULL;
    size_t vl = 0;
    int rc = kw__meta_store_get(a->store, key, kl, &v, &vl, NULL);
    if (rc == KW_ENOTFOUND)
        return rc;
    if (rc)
        return store_fail(a, rc, "reading the region's topic");
    rc = copy_topic(a, region_id, v, vl, topic, cap);
    free(v);
    return rc;
}

/* ---------------------------------------------------------------- choosing */

static uint64_t next_random(kw_meta_alloc *a)
{
    uint64_t z = atomic_fetch_add(&a->rng, 0x9e3779b97f4a7c15u) + 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/*
 * Round-robin: claims k consecutive slots from the shared counter and returns
 * the first.  The counter moves before any region is written, so a slot is
 * never handed out twice; see the header for the gaps that leaves.
 */
static int claim_slots(kw_meta_alloc *a, uint64_t k, uint64_t *first)
{
    const char *key = KW_META_ALLOC_COUNTER_KEY;
    for (int tries = 0; tries < MAX_CONFLICTS; tries++) {
        uint8_t *v = NULL;
        size_t vl = 0;
        uint64_t rev = KW_META_REV_ABSENT, cur = 0;
        int rc = kw__meta_store_get(a->store, key, strlen(key), &v, &vl, &rev);
        if (rc && rc != KW_ENOTFOUND)
            return store_fail(a, rc, "reading the round-robin counter");
        if (rc == 0) {
            char text[24];
            char *end = NULL;
            bool ok = vl > 0 && vl < sizeof(text);
            if (ok) {
                memcpy(text, v, vl);
                text[vl] = '\0';
                cur = strtoull(text, &end, 10);
                ok = *end == '\0' && text[0] >= '0' && text[0] <= '9';
            }
            free(v);
            if (!ok)
                return alloc_fail(a, KW_ECORRUPT, "%s: not a number", key);
        }
        char nv[24];
        int nl = snprintf(nv, sizeof(nv), "%" PRIu64, cur + k);
        rc = kw__meta_store_cas(a->store, key, strlen(key), rev, nv, (size_t)nl, NULL);
        if (rc == 0) {
            *first = cur;
            return 0;
        }
        if (rc != KW_EAGAIN)
            return store_fail(a, rc, "advancing the round-robin counter");
    }
    return alloc_fail(a, KW_EAGAIN, "%s: %d compare-and-put conflicts in a row", key,
                      MAX_CONFLICTS);
}

/*
 * Writes region -> topic unless the region has one already; either way
 * topic ends up holding the region's persisted topic.
 */
static int persist_region(kw_meta_alloc *a, uint64_t region_id, const char *chosen, char *topic,
                          size_t cap)
{
    char key[REGION_KEY_MAX];
    size_t kl = region_key(key, region_id);
    for (int tries = 0; tries < MAX_CONFLICTS; tries++) {
        int rc =
            kw__meta_store_cas(a->store, key, kl, KW_META_REV_ABSENT, chosen, strlen(chosen), NULL);
        if (rc == 0) {
            if (strlen(chosen) >= cap)
                return alloc_fail(a, KW_ETOOBIG, "region %" PRIu64 ": topic buffer too small",
                                  region_id);
            strcpy(topic, chosen);
            return 0;
        }
        if (rc != KW_EAGAIN)
            return store_fail(a, rc, "writing the region's topic");
        /* someone assigned it first: theirs stands (absent again only if released meanwhile) */
        rc = get_region(a, region_id, topic, cap);
        if (rc != KW_ENOTFOUND)
            return rc;
    }
    return alloc_fail(a, KW_EAGAIN, "region %" PRIu64 ": %d compare-and-put conflicts in a row",
                      region_id, MAX_CONFLICTS);
}

/* ---------------------------------------------------------------- the calls */

int kw__meta_alloc_topics(kw_meta_alloc *a, const uint64_t *region_ids, size_t n, char *topics)
{
    if (!a || (n && (!region_ids || !topics)))
        return KW_EINVAL;
    const size_t cap = KW_META_TOPIC_NAME_MAX;
    size_t *todo = n ? malloc(n * sizeof(*todo)) : NULL;
    if (n && !todo)
        return alloc_fail(a, KW_ENOMEM, "allocator: out of memory");
    size_t k = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        rc = get_region(a, region_ids[i], topics + i * cap, cap);
        if (rc == KW_ENOTFOUND) {
            todo[k++] = i;
            rc = 0;
        }
    }
    uint64_t slot = 0;
    if (!rc && k && a->selector == KW_META_SELECTOR_ROUND_ROBIN)
        rc = claim_slots(a, k, &slot);
    for (size_t j = 0; j < k && !rc; j++) {
        uint64_t pick;
        if (a->selector == KW_META_SELECTOR_RANDOM) /* multiply-shift: uniform enough, no modulo */
            pick = (uint64_t)(((unsigned __int128)next_random(a) * a->num_topics) >> 64);
        else
            pick = (slot + j) % a->num_topics;
        char chosen[KW_META_TOPIC_NAME_MAX];
        rc = kw__meta_topic_name(a->prefix, (uint32_t)pick, chosen, sizeof(chosen));
        if (!rc)
            rc = persist_region(a, region_ids[todo[j]], chosen, topics + todo[j] * cap, cap);
    }
    free(todo);
    return rc;
}

int kw__meta_alloc_topic(kw_meta_alloc *a, uint64_t region_id, char *topic, size_t cap)
{
    if (!a || !topic || cap == 0)
        return KW_EINVAL;
    char buf[KW_META_TOPIC_NAME_MAX];
    int rc = kw__meta_alloc_topics(a, &region_id, 1, buf);
    if (rc)
        return rc;
    if (strlen(buf) >= cap)
        return alloc_fail(a, KW_ETOOBIG, "region %" PRIu64 ": topic buffer too small", region_id);
    strcpy(topic, buf);
    return 0;
}

int kw__meta_alloc_lookup(kw_meta_alloc *a, uint64_t region_id, char *topic, size_t cap)
{
    if (!a || !topic || cap == 0)
        return KW_EINVAL;
    return get_region(a, region_id, topic, cap);
}

int kw__meta_alloc_release(kw_meta_alloc *a, uint64_t region_id)
{
    if (!a)
        return KW_EINVAL;
    char key[REGION_KEY_MAX];
    size_t kl = region_key(key, region_id);
    int rc = kw__meta_store_del(a->store, key, kl, NULL);
    if (rc && rc != KW_ENOTFOUND)
        return store_fail(a, rc, "deleting the region's topic");
    return rc;
}

typedef struct each_ctx {
    kw_meta_alloc *a;
    kw_meta_alloc_each_fn *cb;
    void *arg;
} each_ctx;

static int each_kv(void *arg, const kw_meta_kv *kv)
{
    each_ctx *e = arg;
    const size_t pl = sizeof(KW_META_ALLOC_REGION_PREFIX) - 1;
    uint64_t id = 0;
    bool ok = kv->key_len == pl + 20;
    for (size_t i = pl; ok && i < kv->key_len; i++) {
        ok = kv->key[i] >= '0' && kv->key[i] <= '9';
        uint64_t d = (uint64_t)(kv->key[i] - '0');
        ok = ok && id <= (UINT64_MAX - d) / 10;
        id = id * 10 + d;
    }
    if (!ok)
        return alloc_fail(e->a, KW_ECORRUPT, "store key '%.*s' is not a region key",
                          (int)(kv->key_len < 64 ? kv->key_len : 64), (const char *)kv->key);
    char topic[KW_META_TOPIC_NAME_MAX];
    int rc = copy_topic(e->a, id, kv->value, kv->value_len, topic, sizeof(topic));
    return rc ? rc : e->cb(e->arg, id, topic);
}

int kw__meta_alloc_foreach(kw_meta_alloc *a, kw_meta_alloc_each_fn *cb, void *arg)
{
    if (!a || !cb)
        return KW_EINVAL;
    each_ctx e = {a, cb, arg};
    const char *p = KW_META_ALLOC_REGION_PREFIX;
    return kw__meta_store_range_prefix(a->store, p, strlen(p), 0, each_kv, &e);
}

int kw__meta_alloc_wal_options(kw_meta_alloc *a, uint64_t region_id, kw_meta_region_wal *out)
{
    if (!out)
        return KW_EINVAL;
    out->region_id = region_id;
    return kw__meta_alloc_topic(a, region_id, out->topic, sizeof(out->topic));
}

int kw__meta_region_wal_json(const kw_meta_region_wal *w, char *buf, size_t cap)
{
    if (!w || !buf)
        return KW_EINVAL;
    int n = snprintf(buf, cap, "{\"wal.provider\":\"kafka\",\"wal.kafka.topic\":\"%s\"}", w->topic);
    return n < 0 || (size_t)n >= cap ? KW_ETOOBIG : 0;
}

int kw__meta_alloc_apply(kw_meta_alloc *a, kw_wal *wal, uint64_t region_id)
{
    if (!wal)
        return KW_EINVAL;
    char topic[KW_META_TOPIC_NAME_MAX];
    int rc = kw__meta_alloc_topic(a, region_id, topic, sizeof(topic));
    if (rc)
        return rc;
    rc = kw_wal_set_region_topic(wal, region_id, topic);
    if (rc)
        return alloc_fail(a, rc, "region %" PRIu64 ": kw_wal_set_region_topic(%s): %s", region_id,
                          topic, kw_wal_errstr(wal));
    return 0;
}
