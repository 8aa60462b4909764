/* The table of functions a WAL provider gives wal.c: one per public call, on the provider's own handle. */
#ifndef KW_WAL_PROVIDER_H
#define KW_WAL_PROVIDER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "kwal/wal.h"
#include "wal/regions.h"

/*
 * wal.c validates the options every provider shares, picks the table by
 * opts->provider and forwards each public call with the provider's handle
 * (void *).  A provider copies what it keeps of the options (strings too):
 * kw_wal_open_config frees them after open.  Durability and thread-safety
 * rules are the ones in kwal/wal.h.
 */
typedef struct kw_wal_provider_ops {
    const char *name; /* "local", "kafka": used in messages */
    int (*open)(void **out, const kw_wal_options *opts, char *errbuf, size_t errlen);
    void (*close)(void *p);
    const char *(*errstr)(const void *p);
    int (*set_region_topic)(void *p, uint64_t region_id, const char *topic);
    int (*append)(void *p, uint64_t region_id, const void *data, size_t len,
                  kw_wal_append_cb *cb, void *arg);
    int (*obsolete)(void *p, uint64_t region_id, uint64_t entry_id);
    int (*latest)(void *p, uint64_t region_id, uint64_t *out);
    void (*stats)(void *p, kw_wal_stats *out);
    /* kw_wal_regions: up to cap of the regions known (out may be NULL), the count returned. */
    size_t (*regions)(void *p, kw_wal_region_info *out, size_t cap);
    /* The client the provider runs on (NULL: none, the local provider). */
    kw_client *(*client)(const void *p);
    /* 0 when the calling thread may wait for the provider, else KW_EDEADLK (its callback
     * thread). */
    int (*can_block)(void *p);
    /*
     * Waits on cond (mu held) for the provider's thread to do something: a
     * condition wait, or with a host-driven client a round of its loop.  The
     * caller re-checks its condition after.  0 or KW_EDEADLK.
     */
    int (*wait)(void *p, pthread_mutex_t *mu, pthread_cond_t *cond);

    /* set: one or more regions (kw_wal_replay_open_regions); it outlives the replay */
    int (*replay_open)(void *p, const kw_wal_region_set *set, unsigned flags, void **out);
    int (*replay_next)(void *r, uint64_t *region_id, uint64_t *entry_id, const uint8_t **data,
                       size_t *len, int timeout_ms);
    void (*replay_stats)(const void *r, kw_wal_replay_stats *out);
    const char *(*replay_errstr)(const void *r);
    void (*replay_close)(void *r);
} kw_wal_provider_ops;

#endif /* KW_WAL_PROVIDER_H */
