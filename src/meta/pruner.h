/* The metasrv's WAL pruner: region heartbeats in, DeleteRecords up to what every region flushed. */
#ifndef KW_META_PRUNER_H
#define KW_META_PRUNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwal/client.h"
#include "meta/store.h"
#include "wal/config.h"

/*
 * What the pruner knows and where it keeps it.
 *
 *   Regions report (region, topic, flushed entry id, latest entry id) in a
 *   heartbeat.  The region set of a topic is the regions whose last report
 *   (or registration, see kw__meta_pruner_register_region) names it.  Both
 *   are kept in the store, so a restarted metasrv knows every region and
 *   never prunes a topic as if a region it has not heard from yet did not
 *   exist.  Keys (values are one line of text, for `kwal meta` debugging):
 *
 *     pruner/region/<region id, 20 decimal digits>
 *         "v1 <topic> <flushed|-> <latest|-> <reported 0|1>"
 *     pruner/topic/<topic>
 *         "v1 <pruned entry id|->"
 *
 *   A heartbeat that only moves `latest` is kept in memory (status only);
 *   the store is written when the topic, the flushed id or the reported flag
 *   changes, so thousands of regions heartbeating do not fsync each time.
 *   Losing a `latest` in a crash costs nothing: no decision uses it.
 *
 * The prune point (entry id = Kafka offset of the entry's LAST record):
 *
 *   A region that flushed through F needs every record at offset > F: its
 *   next entry's first part comes after the last record of the entry it
 *   flushed (one region's entries go to its topic in append order, and the
 *   parts of one entry in order), so no record it still needs sits at or
 *   below F, however other regions' records interleave.  So
 *
 *       p = min over the topic's regions of (F + 1)
 *
 *   and DeleteRecords(before_offset = p) deletes offsets < p and keeps the
 *   record at p.  The topic's pruned entry id is then p - 1 (the last offset
 *   deleted), and a region replays from max(F, pruned id) + 1.  (The pruned
 *   id follows the log start whoever moved it: after every round that read
 *   the log start S, it is at least S - 1, since nothing below S replays.)
 *   The region set is snapshotted before ListOffsets: a flushed id in it was
 *   acknowledged earlier, so p is at most the end ListOffsets then sees, and
 *   whatever is written during the round lands at or past it.  A region
 *   that never flushed (F = KW_META_PRUNER_NONE) needs everything: p is the
 *   log start and nothing is deleted; it is named as holding the topic back.
 *   An idle region with an empty memtable may report F = its latest entry id
 *   (GreptimeDB reports the topic's last entry id there) to stop holding the
 *   topic back.
 *
 * Skipped topics (logged with the reason, pruned again next round): a region
 * on it never reported; no region is on it; a region's flushed id is at or
 * past the topic's end (a recreated topic or a bad report: deleting would
 * lose data); ListOffsets failed; p is not above the log start (below it
 * means records a region needs were deleted by something else, retention
 * say: logged as a warning).  A topic with no region is not sent ListOffsets
 * at all (it may be long gone).  A failed
 * DeleteRecords is logged and tried again next round; it never stops the
 * pruner.
 *
 * Pinning: a region pins its topic when the records it still needs reach back
 * more than flush_trigger_size bytes from the topic's end.  Bytes are
 * estimated as (end offset - first offset it needs) x record_bytes, an
 * options value (Kafka reports no byte sizes per offset range without
 * DescribeLogDirs; the WAL's records are at most max_batch_bytes and a host
 * knows its typical entry size).  Pinning regions are asked to flush through
 * the host's callback once per round and are marked in the status.
 *
 * Threads: every call may come from any thread, except kw__meta_pruner_close
 * (last, once) and that no call may be made from inside a pruner callback or
 * from a kw_client callback (a round waits for the client).  Rounds never
 * overlap: a run_once while the timer's round runs waits for it.
 */

/* "No entry": never flushed, never wrote, nothing pruned. */
#define KW_META_PRUNER_NONE UINT64_MAX

/* Defaults of the options below (GreptimeDB's flush_trigger_size default). */
#define KW_META_PRUNER_DEFAULT_PARALLELISM 10u
#define KW_META_PRUNER_DEFAULT_FLUSH_TRIGGER (512ull * 1024 * 1024)
#define KW_META_PRUNER_DEFAULT_RECORD_BYTES 4096u


/*
 * Asks the host to flush region_id (it pins topic): the region flushed
 * through flushed_id (KW_META_PRUNER_NONE: never) and about bytes_behind
 * bytes of the topic are kept for it.  Called on the thread running the
 * round, once per pinning region per round; it must not block for long and
 * must not call the pruner.
 */
typedef void kw_meta_pruner_flush_fn(void *arg, uint64_t region_id, const char *topic,
                                     uint64_t flushed_id, uint64_t bytes_behind);

/* Zero means default for every field. */
typedef struct kw_meta_pruner_options {
    kw_client *client;              /* required; not owned; outlives the pruner */
    kw_meta_store *store;           /* required; not owned; outlives the pruner */
    uint64_t interval_ms;           /* auto_prune_interval: 0 = no timer thread (run_once only) */
    uint32_t parallelism;           /* auto_prune_parallelism: topics in flight at once; 10 */
    uint64_t flush_trigger_size;    /* 512 MiB: bytes behind the end that make a region pin */
    uint32_t record_bytes;          /* 4096: estimated bytes per Kafka record, for pinning */
    uint32_t timeout_ms;            /* per ListOffsets / DeleteRecords; 0 = the client's default */
    kw_meta_pruner_flush_fn *flush; /* NULL: pinning is reported, nobody is asked */
    void *flush_arg;
    kw_log_fn *log; /* NULL: silent */
    void *log_arg;
    /* Tests and tools: called on the round's thread just before each DeleteRecords is sent. */
    void (*before_delete)(void *arg, const char *topic, int64_t before_offset);
    void *before_delete_arg;
    /*
     * Leadership (a metasrv elected among several, kwal meta serve): asked on
     * the round's thread at the round's start, before any flush request and
     * before each DeleteRecords; false stops the round there (nothing more is
     * deleted, stored or asked).  It must answer from memory, fast: false as
     * soon as the leader's lease may have lapsed.  NULL: always true.
     */
    bool (*may_act)(void *arg);
    void *may_act_arg;
    /*
     * The store is shared with other processes (etcd: datanodes heartbeat
     * into it through their own handles): every round first reads the
     * regions and pruned ids from the store again, so regions this process
     * never heard from directly are counted.
     */
    bool shared_store;
} kw_meta_pruner_options;

typedef struct kw_meta_pruner kw_meta_pruner;

/*
 * Fills the [wal] section's pruning keys into *o (interval_ms from
 * auto_prune_interval, "0s" = no timer; parallelism from
 * auto_prune_parallelism; flush_trigger_size), leaving every other field.
 */
void kw__meta_pruner_options_from_config(kw_meta_pruner_options *o, const kw__wal_config *cfg);

/*
 * Loads the regions and pruned ids from the store and, with interval_ms,
 * starts the timer thread (the first round runs one interval after open).
 * 0, KW_EINVAL, KW_ENOMEM, KW_ECORRUPT (a pruner key that does not parse;
 * err names it) or the store's error.
 */
int kw__meta_pruner_open(kw_meta_pruner **out, const kw_meta_pruner_options *opt, char *err,
                         size_t err_cap);

/* Stops the timer (waiting for a round in progress) and frees; NULL is fine. */
void kw__meta_pruner_close(kw_meta_pruner *p);

/* The heartbeat.  flushed_id / latest_id may be KW_META_PRUNER_NONE. */
typedef struct kw_meta_pruner_report {
    uint64_t region_id;
    const char *topic; /* the topic the region writes to (1..249 chars) */
    uint64_t flushed_id;
    uint64_t latest_id;
} kw_meta_pruner_report;

/* Records a heartbeat; durable (in the store) when it returns 0 if anything but latest changed. */
int kw__meta_pruner_report(kw_meta_pruner *p, const kw_meta_pruner_report *r);

/*
 * The allocator placed region_id on topic: the topic is not pruned until the
 * region reports.  No-op when the region already reported that topic.
 */
int kw__meta_pruner_register_region(kw_meta_pruner *p, uint64_t region_id, const char *topic);

/* The region was dropped: it no longer holds its topic back.  KW_ENOTFOUND if unknown. */
int kw__meta_pruner_remove_region(kw_meta_pruner *p, uint64_t region_id);

/*
 * The entry id a region's replay starts from: max(flushed id, its topic's
 * pruned id) + 1, with NONE counting as "below everything" (0 when neither
 * is known).  KW_ENOTFOUND for a region never reported or registered.
 */
int kw__meta_pruner_replay_start(kw_meta_pruner *p, uint64_t region_id, uint64_t *from);

/* The pruned entry id of a topic (KW_META_PRUNER_NONE when nothing was pruned or it is unknown). */
uint64_t kw__meta_pruner_pruned_id(kw_meta_pruner *p, const char *topic);

/* What one round did. */
typedef struct kw_meta_pruner_round {
    uint32_t topics;          /* topics looked at */
    uint32_t pruned;          /* DeleteRecords succeeded (or would have, dry run) */
    uint32_t skipped;         /* skipped for a reason (see the log / status) */
    uint32_t failed;          /* ListOffsets or DeleteRecords failed: retried next round */
    uint32_t flush_requests;  /* flush callbacks made */
    uint64_t offsets_deleted; /* sum over topics of new log start - old log start */
} kw_meta_pruner_round;

/*
 * Runs one round now (the CLI's `kwal meta prune [--dry-run]`).  dry_run
 * computes, logs and fills the status but deletes nothing, stores nothing
 * and asks nobody to flush.  Returns 0 when the round ran (per-topic
 * failures are counted in *out, may be NULL), or KW_ECLOSED / KW_ENOMEM.
 */
int kw__meta_pruner_run_once(kw_meta_pruner *p, bool dry_run, kw_meta_pruner_round *out);

/* ---- status (`kwal meta status`) ---- */

typedef struct kw_meta_pruner_region_status {
    uint64_t region_id;
    uint64_t flushed_id; /* KW_META_PRUNER_NONE: never flushed */
    uint64_t latest_id;
    bool reported; /* false: registered by the allocator, never heard from */
    bool pinning;  /* in the last round: too far behind, asked to flush */
} kw_meta_pruner_region_status;

typedef struct kw_meta_pruner_topic_status {
    char *topic;
    int64_t start_offset; /* log start at the last round; -1 unknown */
    int64_t end_offset;   /* high watermark at the last round; -1 unknown */
    uint64_t pruned_id;   /* KW_META_PRUNER_NONE: nothing pruned */
    int64_t prune_point;  /* last computed p; -1 none */
    uint64_t holder;      /* the region that sets p (or blocks the topic); NONE if none */
    char *reason;         /* why the last round pruned or skipped, "" before any round */
    kw_meta_pruner_region_status *regions; /* by region id */
    size_t region_count;
} kw_meta_pruner_topic_status;

typedef struct kw_meta_pruner_status {
    kw_meta_pruner_topic_status *topics; /* by name */
    size_t topic_count;
    uint64_t rounds; /* rounds run since open */
} kw_meta_pruner_status;

/* A snapshot; free with kw__meta_pruner_status_free (safe on a zeroed struct). */
int kw__meta_pruner_status(kw_meta_pruner *p, kw_meta_pruner_status *out);
void kw__meta_pruner_status_free(kw_meta_pruner_status *s);

/* ---- the decision, pure (no I/O, no clock): exposed for tests ---- */

typedef struct kw_meta_pruner_region_in {
    uint64_t region_id;
    uint64_t flushed_id; /* KW_META_PRUNER_NONE: never flushed */
    bool reported;
} kw_meta_pruner_region_in;

typedef struct kw_meta_pruner_topic_in {
    const kw_meta_pruner_region_in *regions;
    size_t region_count;
    int64_t start_offset; /* ListOffsets earliest */
    int64_t end_offset;   /* ListOffsets latest */
    uint64_t flush_trigger_size;
    uint32_t record_bytes;
} kw_meta_pruner_topic_in;

enum kw_meta_pruner_action {
    KW_META_PRUNER_PRUNE = 0, /* DeleteRecords(before_offset = prune_point) */
    KW_META_PRUNER_SKIP = 1,  /* nothing to do this round; reason says why */
};

typedef struct kw_meta_pruner_decision {
    int action;          /* enum kw_meta_pruner_action */
    int64_t prune_point; /* p (also for a skip, when it could be computed; else -1) */
    uint64_t holder;     /* region setting p or blocking the topic; NONE if none */
    char reason[384];
    /* Indexed like in->regions: needed from this offset; pinning. */
    int64_t *needed_from;   /* may be NULL (then not filled) */
    bool *pinning;          /* may be NULL */
    uint64_t *bytes_behind; /* may be NULL */
} kw_meta_pruner_decision;

/* Fills *d (its three arrays, when set, must have region_count slots). */
void kw__meta_pruner_decide(const kw_meta_pruner_topic_in *in, kw_meta_pruner_decision *d);

#endif /* KW_META_PRUNER_H */
