/* Metasrv leader election on etcd: a campaign key on a lease, kept alive by a thread, lost the moment it may lapse. */
#ifndef KW_META_ELECTION_H
#define KW_META_ELECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwal/error.h"
#include "meta/store.h"

/*
 * One metasrv leads: the one whose id is the value of the campaign key, put
 * there by a compare-and-put "if absent" attached to its lease.  The leader
 * renews the lease every third of its TTL; the others read the key as often
 * and campaign when it is gone (the lease lapsed or was revoked).
 *
 * Safety: kw__meta_election_leading answers from memory, from the time the
 * last renewal was *sent* plus the TTL etcd granted, minus a margin (a tenth
 * of the TTL, at least 200 ms): it turns false before etcd can let the lease
 * lapse, so a stalled leader (SIGSTOP, a long GC-like pause, a partition)
 * stops acting before another can be elected, whatever its election thread
 * is doing.  A leader that closes revokes its lease: the next takes over at
 * once instead of after a TTL.
 */
typedef struct kw_meta_election kw_meta_election;

/* On the election's thread, after a change: leading or not, and who leads ("" none known). */
typedef void kw_meta_election_fn(void *arg, bool leading, const char *leader);

typedef struct kw_meta_election_options {
    kw_meta_store *store; /* an etcd store (kw__meta_store_is_etcd); not owned */
    const char *key;      /* the campaign key inside the store, e.g. "meta/leader" */
    const char *id;       /* this candidate's name (value of the key while it leads) */
    uint32_t ttl_s;       /* the lease: 5 s; at least 2 */
    kw_meta_election_fn *on_change; /* may be NULL */
    void *arg;
    kw_log_fn *log; /* NULL: silent; on the election's thread */
    void *log_arg;
} kw_meta_election_options;

/* Starts campaigning (a thread).  0, KW_EINVAL, KW_EUNSUPPORTED (not an etcd store), KW_ENOMEM. */
int kw__meta_election_start(const kw_meta_election_options *opt, kw_meta_election **out,
                            char *err, size_t errlen);
/* Any thread: true while this candidate leads and its lease cannot have lapsed. */
bool kw__meta_election_leading(const kw_meta_election *e);
/* Stops; a leader resigns (revokes its lease).  NULL is fine.  Not from on_change. */
void kw__meta_election_stop(kw_meta_election *e);

/* Who leads now, read from the store: 0 and the id in buf, or KW_ENOTFOUND (nobody). */
int kw__meta_election_leader(kw_meta_store *store, const char *key, char *buf, size_t cap);

#endif /* KW_META_ELECTION_H */
