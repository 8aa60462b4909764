/* The public WAL API (kwal/wal.h): checks options, picks a provider, forwards each call to it. */
#include "kwal/wal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wal/local.h"
#include "wal/provider.h"
#include "wal/config.h"
#include "wal/kafka.h"

struct kw_wal {
    const kw_wal_provider_ops *ops;
    void *p;
};

struct kw_wal_replay {
    const kw_wal_provider_ops *ops;
    void *r;
    kw_wal_region_set set; /* ids and froms point into mem */
    uint64_t *mem;
};

/* The local provider, adapted to the table. ------------------------------------- */

static int local_open(void **out, const kw_wal_options *o, char *errbuf, size_t errlen)
{
    kw_wal_local_options lo = {
        .dir = o->dir,
        .segment_bytes = o->segment_bytes,
        .max_buffered_bytes = o->max_buffered_bytes,
        .append_fail_fast = o->append_fail_fast,
        .log = o->log,
        .log_arg = o->log_arg,
    };
    kw_wal_local *l = NULL;
    int rc = kw__wal_local_open(&l, &lo, errbuf, errlen);
    *out = l;
    return rc;
}
static void local_close(void *p)
{
    kw__wal_local_close(p);
}
static const char *local_errstr(const void *p)
{
    return kw__wal_local_errstr(p);
}
/* The local log is one stream for every region: there is no topic to set. */
static int local_set_region_topic(void *p, uint64_t region_id, const char *topic)
{
    return 0;
}
static int local_append(void *p, uint64_t region_id, const void *data, size_t len,
                        kw_wal_append_cb *cb, void *arg)
{
    return kw__wal_local_append(p, region_id, data, len, cb, arg);
}
static int local_obsolete(void *p, uint64_t region_id, uint64_t entry_id)
{
    return kw__wal_local_obsolete(p, region_id, entry_id);
}
static int local_latest(void *p, uint64_t region_id, uint64_t *out)
{
    return kw__wal_local_latest(p, region_id, out);
}
static void local_stats(void *p, kw_wal_stats *out)
{
    kw__wal_local_stats(p, out);
}
static int local_replay_open(void *p, const kw_wal_region_set *set, unsigned flags, void **out)
{
    kw_wal_local_replay *r = NULL;
    int rc = kw__wal_local_replay_open(p, set, flags, &r);
    *out = r;
    return rc;
}
static int local_replay_next(void *r, uint64_t *region_id, uint64_t *entry_id,
                             const uint8_t **data, size_t *len, int timeout_ms)
{
    return kw__wal_local_replay_next(r, region_id, entry_id, data, len, timeout_ms);
}
static void local_replay_stats(const void *r, kw_wal_replay_stats *out)
{
    kw__wal_local_replay_stats(r, out);
}
static const char *local_replay_errstr(const void *r)
{
    return kw__wal_local_replay_errstr(r);
}
static void local_replay_close(void *r)
{
    kw__wal_local_replay_close(r);
}

static size_t local_regions(void *p, kw_wal_region_info *out, size_t cap)
{
    return kw__wal_local_regions(p, out, out ? cap : 0);
}
static kw_client *local_client(const void *p)
{
    return NULL;
}
static int local_can_block(void *p)
{
    return kw__wal_local_can_block(p);
}
static int local_wait(void *p, pthread_mutex_t *mu, pthread_cond_t *cond)
{
    int rc = kw__wal_local_can_block(p);
    if (!rc)
        pthread_cond_wait(cond, mu);
    return rc;
}

static const kw_wal_provider_ops local_ops = {
    .name = "local",
    .open = local_open,
    .close = local_close,
    .errstr = local_errstr,
    .set_region_topic = local_set_region_topic,
    .append = local_append,
    .obsolete = local_obsolete,
    .latest = local_latest,
    .stats = local_stats,
    .client = local_client,
    .regions = local_regions,
    .can_block = local_can_block,
    .wait = local_wait,
    .replay_open = local_replay_open,
    .replay_next = local_replay_next,
    .replay_stats = local_replay_stats,
    .replay_errstr = local_replay_errstr,
    .replay_close = local_replay_close,
};

/* Opening. -------------------------------------------------------------------------- */

static int open_fail(char *errbuf, size_t errlen, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int open_fail(char *errbuf, size_t errlen, int err, const char *fmt, ...)
{
    if (errbuf && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return err;
}

/* The checks every provider shares; each provider checks its own fields too. */
static int check_options(const kw_wal_options *o, char *errbuf, size_t errlen)
{
    if (o->provider != KW_WAL_PROVIDER_LOCAL && o->provider != KW_WAL_PROVIDER_KAFKA)
        return open_fail(errbuf, errlen, KW_EINVAL,
                         "provider: unknown provider %d (0 = local, 1 = kafka)", o->provider);
    if (o->record_format != KW_WAL_FORMAT_KWAL && o->record_format != KW_WAL_FORMAT_GREPTIMEDB)
        return open_fail(errbuf, errlen, KW_EINVAL,
                         "record_format: unknown format %d (0 = kwal, 1 = greptimedb)",
                         o->record_format);
    if (o->compression != KW_WAL_COMPRESSION_LZ4 && o->compression != KW_WAL_COMPRESSION_NONE)
        return open_fail(errbuf, errlen, KW_EINVAL,
                         "compression: unknown compression %d (0 = lz4, 1 = none)",
                         o->compression);
    if (o->provider == KW_WAL_PROVIDER_LOCAL) {
        if (!o->dir || !*o->dir)
            return open_fail(errbuf, errlen, KW_EINVAL, "dir: required for the local provider");
        if (o->segment_bytes && o->segment_bytes < KW__WAL_LOCAL_MIN_SEGMENT)
            return open_fail(errbuf, errlen, KW_EINVAL,
                             "segment_bytes: %zu is below the minimum of %zu", o->segment_bytes,
                             KW__WAL_LOCAL_MIN_SEGMENT);
    }
    return 0;
}

/* The table for a provider number; a provider not built in has none. */
static const kw_wal_provider_ops *provider_ops(int provider)
{
    switch (provider) {
    case KW_WAL_PROVIDER_LOCAL:
        return &local_ops;
    case KW_WAL_PROVIDER_KAFKA:
        return &kw__wal_kafka_ops;
    }
    return NULL;
}

KW_API int kw_wal_open(kw_wal **out, const kw_wal_options *opts, char *errbuf, size_t errlen)
{
    if (errbuf && errlen)
        errbuf[0] = 0;
    if (!out)
        return open_fail(errbuf, errlen, KW_EINVAL, "out: NULL");
    *out = NULL;
    if (!opts)
        return open_fail(errbuf, errlen, KW_EINVAL, "options: NULL");
    int rc = check_options(opts, errbuf, errlen);
    if (rc)
        return rc;
    const kw_wal_provider_ops *ops = provider_ops(opts->provider);
    if (!ops) /* check_options refused unknown providers already */
        return open_fail(errbuf, errlen, KW_EINVAL, "provider: unknown provider %d", opts->provider);
    kw_wal *w = calloc(1, sizeof(*w));
    if (!w)
        return open_fail(errbuf, errlen, KW_ENOMEM, "out of memory");
    w->ops = ops;
    rc = ops->open(&w->p, opts, errbuf, errlen);
    if (rc) {
        free(w);
        return rc;
    }
    *out = w;
    return 0;
}

KW_API int kw_wal_open_config(kw_wal **out, const char *path, char *errbuf, size_t errlen)
{
    if (out)
        *out = NULL;
    if (!out || !path)
        return open_fail(errbuf, errlen, KW_EINVAL, "kw_wal_open_config: out and path required");
    kw__wal_config cfg;
    int rc = kw__wal_config_load(path, &cfg, errbuf, errlen);
    if (!rc)
        rc = kw_wal_open(out, &cfg.wal, errbuf, errlen); /* providers copy what they keep */
    kw__wal_config_free(&cfg);
    return rc;
}

/* The public handle is the internal config itself: the tools and meta share one reader. */
struct kw_wal_config {
    kw__wal_config cfg;
};

KW_API int kw_wal_config_load(kw_wal_config **out, const char *path, char *errbuf, size_t errlen)
{
    if (errbuf && errlen)
        errbuf[0] = 0;
    if (!out || !path)
        return open_fail(errbuf, errlen, KW_EINVAL, "kw_wal_config_load: out and path required");
    *out = NULL;
    kw_wal_config *c = calloc(1, sizeof(*c));
    if (!c)
        return open_fail(errbuf, errlen, KW_ENOMEM, "out of memory");
    int rc = kw__wal_config_load(path, &c->cfg, errbuf, errlen);
    if (rc) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

KW_API kw_wal_options *kw_wal_config_options(kw_wal_config *cfg)
{
    return cfg ? &cfg->cfg.wal : NULL;
}

KW_API const char *kw_wal_config_notes(const kw_wal_config *cfg)
{
    return cfg ? cfg->cfg.notes : "";
}

KW_API void kw_wal_config_free(kw_wal_config *cfg)
{
    if (!cfg)
        return;
    kw__wal_config_free(&cfg->cfg);
    free(cfg);
}

KW_API void kw_wal_close(kw_wal *wal)
{
    if (!wal)
        return;
    wal->ops->close(wal->p);
    free(wal);
}

KW_API const char *kw_wal_errstr(const kw_wal *wal)
{
    return wal ? wal->ops->errstr(wal->p) : "";
}

KW_API int kw_wal_set_region_topic(kw_wal *wal, uint64_t region_id, const char *topic)
{
    if (!wal)
        return KW_EINVAL;
    return wal->ops->set_region_topic(wal->p, region_id, topic);
}

/* Appending. ------------------------------------------------------------------------ */

KW_API int kw_wal_append(kw_wal *wal, uint64_t region_id, const void *data, size_t len,
                         kw_wal_append_cb *cb, void *arg)
{
    if (!wal)
        return KW_EINVAL;
    return wal->ops->append(wal->p, region_id, data, len, cb, arg);
}

typedef struct sync_wait {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool done;
    int err;
    uint64_t id;
} sync_wait;

static void sync_done(void *arg, int err, uint64_t entry_id, const char *detail)
{
    sync_wait *s = arg;
    (void)detail; /* the handle's errstr is the blocking form's detail */
    pthread_mutex_lock(&s->mu);
    s->err = err;
    s->id = entry_id;
    s->done = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

/* Waits on this thread for the provider's callback: durable (or failed) when it returns. */
KW_API int kw_wal_append_sync(kw_wal *wal, uint64_t region_id, const void *data, size_t len,
                              uint64_t *entry_id)
{
    if (!wal)
        return KW_EINVAL;
    /* From a callback the entry could never become durable: its callback needs this thread. */
    int rc = wal->ops->can_block(wal->p);
    if (rc)
        return rc;
    sync_wait s = {.done = false};
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cond, NULL);
    rc = wal->ops->append(wal->p, region_id, data, len, sync_done, &s);
    if (!rc) {
        pthread_mutex_lock(&s.mu);
        while (!s.done)
            wal->ops->wait(wal->p, &s.mu, &s.cond); /* can_block said this thread may */
        pthread_mutex_unlock(&s.mu);
        rc = s.err;
        if (!rc && entry_id)
            *entry_id = s.id;
    }
    pthread_cond_destroy(&s.cond);
    pthread_mutex_destroy(&s.mu);
    return rc;
}

/* What a WAL holds. ------------------------------------------------------------------ */

KW_API size_t kw_wal_regions(kw_wal *wal, kw_wal_region_info *out, size_t cap)
{
    if (!wal || !wal->ops->regions)
        return 0;
    return wal->ops->regions(wal->p, out, cap);
}

KW_API size_t kw_wal_segments(kw_wal *wal, uint64_t *first_ids, size_t cap)
{
    if (!wal || wal->ops != &local_ops)
        return 0;
    return kw__wal_local_segments(wal->p, first_ids, cap);
}

/* Host-driven. ---------------------------------------------------------------------- */

KW_API kw_client *kw_wal_client(const kw_wal *wal)
{
    return wal ? wal->ops->client(wal->p) : NULL;
}

KW_API int kw_wal_backend_fd(const kw_wal *wal)
{
    kw_client *c = kw_wal_client(wal);
    return c ? kw_client_backend_fd(c) : -1;
}

KW_API int kw_wal_timeout_ms(kw_wal *wal)
{
    kw_client *c = kw_wal_client(wal);
    return c ? kw_client_timeout_ms(c) : -1;
}

KW_API int kw_wal_run_once(kw_wal *wal, int timeout_ms)
{
    if (!wal)
        return KW_EINVAL;
    kw_client *c = kw_wal_client(wal);
    return c ? kw_client_run_once(c, timeout_ms) : KW_EUNSUPPORTED;
}

/* Replay. ---------------------------------------------------------------------------- */

/* Sorts (region, from) pairs by region into one allocation; KW_EINVAL on a repeated region. */
static int region_set_build(kw_wal_replay *r, const uint64_t *ids, const uint64_t *froms, size_t n)
{
    uint64_t *m = malloc(2 * n * sizeof(*m));
    if (!m)
        return KW_ENOMEM;
    uint64_t *sid = m, *sfrom = m + n;
    /* insertion into place: n is the regions of one host, and open is not a hot path */
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        while (j > 0 && sid[j - 1] > ids[i]) {
            sid[j] = sid[j - 1];
            sfrom[j] = sfrom[j - 1];
            j--;
        }
        if (j > 0 && sid[j - 1] == ids[i]) {
            free(m);
            return KW_EINVAL;
        }
        sid[j] = ids[i];
        sfrom[j] = froms[i];
    }
    r->mem = m;
    r->set = (kw_wal_region_set){.n = n, .ids = sid, .froms = sfrom, .min_from = UINT64_MAX};
    for (size_t i = 0; i < n; i++)
        if (sfrom[i] < r->set.min_from)
            r->set.min_from = sfrom[i];
    return 0;
}

/* The most regions one replay serves. */
#define KW_WAL_REPLAY_MAX_REGIONS ((size_t)1 << 20)

KW_API int kw_wal_replay_open_regions(kw_wal *wal, const uint64_t *region_ids,
                                      const uint64_t *from_entry_ids, size_t n, unsigned flags,
                                      kw_wal_replay **out)
{
    if (!out)
        return KW_EINVAL;
    *out = NULL;
    if (!wal || !region_ids || !from_entry_ids || n == 0 || n > KW_WAL_REPLAY_MAX_REGIONS)
        return KW_EINVAL;
    kw_wal_replay *r = calloc(1, sizeof(*r));
    if (!r)
        return KW_ENOMEM;
    r->ops = wal->ops;
    int rc = region_set_build(r, region_ids, from_entry_ids, n);
    if (!rc)
        rc = wal->ops->replay_open(wal->p, &r->set, flags, &r->r);
    if (rc) {
        free(r->mem);
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

KW_API int kw_wal_replay_open(kw_wal *wal, uint64_t region_id, uint64_t from_entry_id,
                              unsigned flags, kw_wal_replay **out)
{
    return kw_wal_replay_open_regions(wal, &region_id, &from_entry_id, 1, flags, out);
}

KW_API int kw_wal_replay_next_region(kw_wal_replay *r, uint64_t *region_id, uint64_t *entry_id,
                                     const uint8_t **data, size_t *len, int timeout_ms)
{
    if (!r || !entry_id || !data || !len)
        return KW_EINVAL;
    uint64_t region;
    int rc = r->ops->replay_next(r->r, &region, entry_id, data, len, timeout_ms);
    if (rc == 1 && region_id)
        *region_id = region;
    return rc;
}

KW_API int kw_wal_replay_next(kw_wal_replay *r, uint64_t *entry_id, const uint8_t **data,
                              size_t *len, int timeout_ms)
{
    return kw_wal_replay_next_region(r, NULL, entry_id, data, len, timeout_ms);
}

KW_API void kw_wal_replay_stats_get(const kw_wal_replay *r, kw_wal_replay_stats *out)
{
    if (r)
        r->ops->replay_stats(r->r, out);
    else
        memset(out, 0, sizeof(*out));
}

KW_API const char *kw_wal_replay_errstr(const kw_wal_replay *r)
{
    return r ? r->ops->replay_errstr(r->r) : "";
}

KW_API void kw_wal_replay_close(kw_wal_replay *r)
{
    if (!r)
        return;
    r->ops->replay_close(r->r);
    free(r->mem);
    free(r);
}

/* Pruning and state. --------------------------------------------------------------------- */

KW_API int kw_wal_obsolete(kw_wal *wal, uint64_t region_id, uint64_t entry_id)
{
    if (!wal)
        return KW_EINVAL;
    return wal->ops->obsolete(wal->p, region_id, entry_id);
}

KW_API int kw_wal_latest_entry_id(kw_wal *wal, uint64_t region_id, uint64_t *out)
{
    if (!wal || !out)
        return KW_EINVAL;
    return wal->ops->latest(wal->p, region_id, out);
}

KW_API void kw_wal_stats_get(kw_wal *wal, kw_wal_stats *out)
{
    if (!wal) {
        memset(out, 0, sizeof(*out));
        return;
    }
    wal->ops->stats(wal->p, out);
}
