/* kwal's metasrv side for a host: WAL topics, the region -> topic allocator and the WAL pruner. */
#ifndef KW_META_H
#define KW_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwal/client.h"
#include "kwal/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A kw_meta bundles what a metasrv runs for a Kafka WAL, from the [wal]
 * section of a TOML file (GreptimeDB's names: broker_endpoints, [wal.sasl],
 * [wal.tls], topic_name_prefix, num_topics, selector_type, auto_create_topics,
 * auto_prune_interval, auto_prune_parallelism, flush_trigger_size):
 *
 *   - a Kafka client (own I/O thread) for the brokers the file names, or
 *     the host's (kw_meta_options.client);
 *   - a crash-safe key-value store in store_dir (one directory per metasrv;
 *     a second open of the same directory fails with KW_EAGAIN);
 *   - the allocator: each region's topic, chosen once (selector_type) and kept in
 *     the store, so a restart gives every region the topic it had;
 *   - the pruner: regions report what they flushed (kw_meta_heartbeat) and a
 *     round deletes (DeleteRecords) every topic's records below what all of
 *     its regions have flushed, on a timer (auto_prune_interval; "0s" = none)
 *     or when asked (kw_meta_prune_now).
 *
 * Durability: when kw_meta_region_topic returns, the assignment is in the
 * store (fsynced); when kw_meta_heartbeat returns 0 a changed flushed id is in
 * the store.  A region's replay start (kw_meta_replay_start) never lies below
 * a record the pruner may have deleted.
 *
 * Threads: every call may come from any thread, except kw_meta_close (last,
 * once, never from the flush callback) and that no call may be made from the
 * flush callback: there every kw_meta call returns KW_EDEADLK at once (the
 * pruning round it would wait for is the caller's own), as do the blocking
 * kw_client calls made from a callback of the client meta runs on.
 */
typedef struct kw_meta kw_meta;

/* "No entry": a region that never flushed (kw_meta_heartbeat's flushed_id), no entry written. */
#define KW_META_NONE UINT64_MAX

/*
 * The pruner asks the host to flush region_id: it has flushed through
 * flushed_id (KW_META_NONE: never) and about bytes_behind bytes of its topic
 * are kept for it (more than flush_trigger_size).  Called on the pruning
 * round's thread; must not block for long and must not call kw_meta
 * (KW_EDEADLK).
 */
typedef void kw_meta_flush_fn(void *arg, uint64_t region_id, uint64_t flushed_id,
                              uint64_t bytes_behind);

/* Zero means default for every field. */
typedef struct kw_meta_options {
    const char *config_path; /* required: TOML file whose [wal] has provider = "kafka" */
    /*
     * The metadata store's directory (created if missing).  NULL: a handle
     * for the topic calls only (kw_meta_prepare_topics, kw_meta_topics);
     * the region and pruning calls then return KW_EINVAL.  When the config
     * file says backend = "etcd_store" (with store_addrs, store_key_prefix,
     * [backend_tls], [backend_auth]: GreptimeDB's metasrv keys, beside [wal]),
     * the store is in etcd, shared by every metasrv and datanode that names
     * the same etcd and prefix, and store_dir is not used.
     */
    const char *store_dir;
    bool no_prune_timer;     /* run no timer rounds whatever auto_prune_interval says */
    kw_meta_flush_fn *flush; /* NULL: pinning regions are only logged */
    void *flush_arg;
    kw_log_fn *log; /* NULL: silent (see kwal/error.h) */
    void *log_arg;
    /*
     * A kw_client the host made (kwal/client.h), e.g. the one its WAL runs on
     * (kw_wal_options.client): meta's requests share its connections, and the
     * config's broker_endpoints, [wal.sasl] and [wal.tls] are not used.  It
     * must outlive the handle.  NULL: kw_meta_open makes its own client (own
     * I/O thread) from kafka when kafka.bootstrap is set, else from the
     * config's [wal] section.
     */
    kw_client *client;
    /* The connection in the client's terms (kwal/client.h), instead of the config's. */
    kw_client_options kafka;
    /*
     * Run for metasrv leader (kwal meta serve).  With backend = "etcd_store":
     * several metasrvs campaign on one campaign key ("meta/leader" under the
     * store's prefix, on a lease of [meta_election] lease_ttl, default 5 s);
     * one leads, the others take over when its lease lapses.  Pruning rounds
     * (timer and kw_meta_prune_now) run only while this handle leads, and
     * stop before each DeleteRecords as soon as the lease may have lapsed.
     * With the file store the handle leads alone (its directory lock already
     * keeps every other metasrv out).  node_id: this metasrv's name in the
     * election (default [meta_election] node_id, else "HOST:PID").
     */
    bool campaign;
    const char *node_id;
    /* Leadership changed: leading or not, and who leads ("" none known).  Called on the
     * election's own thread; it must not block for long and must not call kw_meta_close. */
    void (*on_role)(void *arg, bool leading, const char *leader);
    void *role_arg;
} kw_meta_options;

/*
 * Loads the config, creates the client, opens the store, the allocator and
 * the pruner (which loads the regions it knows from the store and starts its
 * timer).  Nothing is sent to the brokers yet.  0, or KW_EINVAL / KW_ECONFIG
 * (a bad file, or a provider other than kafka) / KW_EAGAIN (store_dir is in
 * use) / KW_ECORRUPT / KW_EIO / KW_ENOMEM; errbuf (may be NULL) says why and
 * *out is NULL.
 */
KW_API int kw_meta_open(kw_meta **out, const kw_meta_options *opts, char *errbuf, size_t errlen);

/* Stops the pruner's timer (waiting for a round in progress) and frees everything; NULL is fine. */
KW_API void kw_meta_close(kw_meta *m);

/* Detail text of the latest failure on this handle ("" if none). */
KW_API const char *kw_meta_errstr(const kw_meta *m);

/* Whether this handle (opened with campaign) leads now; false otherwise. */
KW_API bool kw_meta_leading(const kw_meta *m);

/*
 * Who leads now, from the store (any handle with a store may ask): 0 and the
 * leader's node id in buf (cap bytes), KW_ENOTFOUND when nobody leads (or the
 * store is the file store and this handle does not campaign), or the store's
 * error.
 */
KW_API int kw_meta_leader(kw_meta *m, char *buf, size_t cap);

/*
 * What a metasrv does at start: creates the missing topics
 * {topic_name_prefix}_{0..num_topics-1} (auto_create_topics; else checks
 * them) with the configs a WAL needs, and writes the noop record to empty
 * ones so that entry id 0 always means "none".  Blocking; idempotent.
 */
KW_API int kw_meta_prepare_topics(kw_meta *m);

/*
 * The topic region_id writes to: the persisted one, or a new one persisted
 * before this returns (and registered with the pruner, so the topic is not
 * pruned before the region reports).  cap >= 250 always suffices.  Give it to
 * the WAL with kw_wal_set_region_topic before the region's first append.
 */
KW_API int kw_meta_region_topic(kw_meta *m, uint64_t region_id, char *topic, size_t cap);

/*
 * The region's heartbeat: it flushed every entry with id <= flushed_id
 * (KW_META_NONE: nothing yet) to storage outside the WAL, and its latest
 * durable entry is latest_id (KW_META_NONE: none).  The region must have a
 * topic (kw_meta_region_topic; KW_ENOTFOUND otherwise).  Report flushed_id
 * only once the flush is durable: the pruner may delete everything at or
 * below it as soon as every other region of the topic is past it too.
 */
KW_API int kw_meta_heartbeat(kw_meta *m, uint64_t region_id, uint64_t flushed_id,
                             uint64_t latest_id);

/*
 * The entry id a region's replay starts from: max(its reported flushed id,
 * its topic's pruned id) + 1 (0 when neither is known).  KW_ENOTFOUND for a
 * region the pruner has never heard of.  A host that keeps its own flushed
 * position starts at the larger of the two.
 */
KW_API int kw_meta_replay_start(kw_meta *m, uint64_t region_id, uint64_t *from);

/* What kw_meta_topics did, and how long each part took. */
typedef struct kw_meta_topics_result {
    uint32_t topics;        /* num_topics */
    uint32_t created;       /* created by this call */
    uint32_t raced;         /* created by another metasrv between our lookup and our create */
    uint32_t problems;      /* topics missing or misconfigured (kw_meta_errstr lists them) */
    uint32_t noops_written; /* noop records this call appended */
    uint64_t lookup_ms, create_ms, verify_ms, noop_ms, total_ms;
} kw_meta_topics_result;

/*
 * create: what kw_meta_prepare_topics does (creates what is missing, checks
 * every topic's configs, writes the noop record to empty ones).  !create:
 * checks only and changes nothing: a missing or misconfigured topic is an
 * error (KW_ENOTFOUND / KW_ECONFIG) and kw_meta_errstr names every one.
 * *out (may be NULL) is filled either way.  Blocking.
 */
KW_API int kw_meta_topics(kw_meta *m, bool create, kw_meta_topics_result *out);

/* The config's topic_name_prefix: the topics are {prefix}_0 .. {prefix}_{num_topics-1}. */
KW_API const char *kw_meta_topic_prefix(const kw_meta *m);

/* One topic as the pruner last saw it (kw_meta_status_get). */
typedef struct kw_meta_topic_status {
    const char *topic;
    int64_t start_offset; /* log start at the last round; -1 unknown */
    int64_t end_offset;   /* high watermark at the last round; -1 unknown */
    uint64_t pruned_id;   /* KW_META_NONE: nothing pruned */
    uint64_t holder;      /* the region holding the topic back; KW_META_NONE: none */
    const char *reason;   /* why the last round pruned or skipped; "" before any round */
    size_t region_count;  /* regions that write to it */
} kw_meta_topic_status;

typedef struct kw_meta_status {
    kw_meta_topic_status *topics; /* by name */
    size_t topic_count;
    void *internal; /* what the strings point into */
} kw_meta_status;

/* A snapshot of every topic the pruner knows; free with kw_meta_status_free (safe on zeroed). */
KW_API int kw_meta_status_get(kw_meta *m, kw_meta_status *out);
KW_API void kw_meta_status_free(kw_meta_status *st);

/* What one pruning round did. */
typedef struct kw_meta_prune_stats {
    uint32_t topics;          /* topics looked at */
    uint32_t pruned;          /* DeleteRecords succeeded (or would have, dry run) */
    uint32_t skipped;         /* nothing to do, or held back (the log says why) */
    uint32_t failed;          /* ListOffsets or DeleteRecords failed: tried again next round */
    uint32_t flush_requests;  /* flush callbacks made */
    uint64_t offsets_deleted; /* sum over topics of new log start - old log start */
} kw_meta_prune_stats;

/*
 * Runs one pruning round now and waits for it (a timer round in progress is
 * waited for first).  dry_run computes and logs but deletes, stores and asks
 * nothing.  0 when the round ran (per-topic failures are counted in *out, may
 * be NULL), else KW_ECLOSED / KW_ENOMEM.
 */
KW_API int kw_meta_prune_now(kw_meta *m, bool dry_run, kw_meta_prune_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* KW_META_H */
