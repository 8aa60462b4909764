/* kwal's write-ahead log: append an entry, know it is durable, replay it after a crash. */
#ifndef KW_WAL_H
#define KW_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwal/client.h"
#include "kwal/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A WAL holds the entries of many regions (a region is a shard of a table in
 * the host database).  Each entry gets an id when it is durable:
 *
 *   - kafka provider: the Kafka offset of the entry's last record in its
 *     region's topic, once the broker acknowledged it with acks=all;
 *   - local provider: the same meaning in the local log (a record counter
 *     that starts at 1), once the record and everything before it is fsynced.
 *
 * Ids grow with append order within a topic (or the local log); entries of
 * regions sharing a topic interleave, so one region's ids have gaps.
 *
 * Thread safety: every function may be called from any thread, except that
 * one replay iterator is used by one thread at a time and kw_wal_close is
 * called once, after every other call on the handle has returned.
 */
typedef struct kw_wal kw_wal;

enum kw_wal_provider {
    KW_WAL_PROVIDER_LOCAL = 0, /* segment files in `dir` (the embedded default) */
    KW_WAL_PROVIDER_KAFKA = 1, /* Kafka topics (GreptimeDB's "remote WAL") */
};

enum kw_wal_record_format {
    KW_WAL_FORMAT_KWAL = 0,      /* kwal's compact binary record key (default) */
    KW_WAL_FORMAT_GREPTIMEDB = 1 /* GreptimeDB's JSON record key: read and write its topics */
};

/*
 * How the kafka provider compresses.  LZ4 (the default): with kwal's record
 * format each entry is compressed on its own, in the appending thread, and
 * batches go uncompressed, so the broker stores them without decompressing
 * and a replay decompresses only its own region's entries (an entry that
 * LZ4 shrinks by less than 1/16, or under 64 bytes, is stored as is); with
 * GreptimeDB's format the whole batch is LZ4 (GreptimeDB's values are raw).
 * NONE: nothing is compressed.
 */
enum kw_wal_compression {
    KW_WAL_COMPRESSION_LZ4 = 0,
    KW_WAL_COMPRESSION_NONE = 1,
};

/*
 * Called for each record replay skips because it is malformed (no key, a key
 * that is not a kwal/GreptimeDB key, a part out of order): where it is and why.
 */
typedef void kw_wal_bad_record_fn(void *arg, const char *topic, int64_t offset, const char *why);

/* Options; zero is the default for every field.  Names follow GreptimeDB's [wal] section. */
typedef struct kw_wal_options {
    int provider; /* enum kw_wal_provider */

    /* local provider */
    const char *dir;       /* directory of the local log; required for local */
    size_t segment_bytes;  /* roll to a new segment file past this; default 64 MiB */

    /*
     * kafka provider: the connection, one of
     *   - client: a kw_client the host made (kwal/client.h).  The WAL's
     *     requests go over its connections, so a WAL, a kw_meta and the
     *     host's own producer or consumer can share one session.  It must
     *     outlive the WAL, and its loop mode is the WAL's: with a host-driven
     *     client the host runs the loop (kw_client_run_once, or
     *     kw_wal_run_once) and the WAL's blocking calls run it too when
     *     called on the thread that drives it.
     *   - kafka: the WAL makes its own client from these options (the
     *     client's names: bootstrap is GreptimeDB's broker_endpoints, and
     *     security, SASL and TLS as in kw_client_options).  Defaults that
     *     differ from the client's: client_id "kwal-wal", connect_timeout_ms
     *     3000 (GreptimeDB's), log the WAL's own (without DEBUG lines).
     *     kafka.host_driven gives a host-driven WAL (kw_wal_backend_fd).
     */
    kw_client *client;
    kw_client_options kafka;
    const char *topic;            /* topic of regions with none set; default "greptimedb_wal_topic_0" */
    size_t max_batch_bytes;       /* largest produce batch; default 1 MiB (GreptimeDB's) */
    bool overwrite_entry_start_id; /* replay from a pruned id starts at the log start, with a warning */
    uint32_t timeout_ms;          /* produce and fetch deadline; default 3000 */
    int record_format;            /* enum kw_wal_record_format */
    int compression;              /* enum kw_wal_compression; default LZ4 */
    size_t fetch_max_bytes;       /* replay fetch size; default 4 MiB (larger gains nothing measurable) */
    size_t max_buffered_bytes;    /* appends queued but not yet durable; default 64 MiB */
    bool append_fail_fast;        /* past max_buffered_bytes: fail with KW_EAGAIN instead of waiting */
    uint32_t max_in_flight;       /* produce requests in flight per topic; default 5 */
    bool no_idempotence;          /* GreptimeDB-style: plain producer (retries may duplicate) */
    bool no_coalesce;             /* GreptimeDB-style: one Produce request per topic batch
                                     (default: batches ready for one broker share a request) */
    bool strict_records;          /* replay stops at a malformed record instead of skipping it */
    /*
     * A run of one region's entries in a row (a burst) of 32 KiB or more goes
     * in batches of its own (kafka provider), so replays of other regions skip
     * it through the index; entries keep their append order, and mixed entries
     * never cut a batch.  no_region_runs: batches fill up whatever the regions.
     */
    bool no_region_runs;

    /*
     * Replay index (kafka provider, on by default): the WAL writes, per
     * (topic, region), the offset ranges holding the region's entries to a
     * compacted topic of its own (one partition, created on first use with
     * cleanup.policy=compact), and a replay fetches only those ranges plus
     * the tail past what the index covers.  Any WAL opening the same topics
     * reads it (another host, after a region moved).  The index only holds
     * offsets the broker acknowledged, written every index_interval_ms for
     * the regions that appended since and at close, so after a crash it is
     * behind the log, never ahead; a missing, unreadable or stale index makes
     * a replay read the topic as without it (kw_wal_replay_stats says so).
     */
    const char *index_topic;    /* default "kwal_wal_index" */
    bool no_index;              /* neither write nor read the index */
    uint32_t index_interval_ms; /* default 5000 */

    kw_log_fn *log; /* NULL: silent; called on kwal's threads or the appending thread */
    void *log_arg;
    kw_wal_bad_record_fn *on_bad_record;
    void *bad_record_arg;
} kw_wal_options;

/* Opens a WAL.  On failure *out is NULL and errbuf (if given) says what was wrong. */
KW_API int kw_wal_open(kw_wal **out, const kw_wal_options *opts, char *errbuf, size_t errlen);

/*
 * Opens a WAL from the [wal] section of a TOML file (GreptimeDB's option names;
 * see README).  A bad file gives KW_ECONFIG with "FILE:LINE: key: what is wrong".
 */
KW_API int kw_wal_open_config(kw_wal **out, const char *path, char *errbuf, size_t errlen);

/*
 * A [wal] section read into options a host may change before kw_wal_open
 * (e.g. kafka.host_driven, client, log): the file's strings stay owned by
 * the config, so free it after kw_wal_open (the WAL copies what it keeps).
 * KW_ECONFIG with "FILE:LINE: key: what is wrong" for a bad file.
 */
typedef struct kw_wal_config kw_wal_config;
KW_API int kw_wal_config_load(kw_wal_config **out, const char *path, char *errbuf,
                              size_t errlen);
/* The options the file gave (every absent key at its default); valid until kw_wal_config_free. */
KW_API kw_wal_options *kw_wal_config_options(kw_wal_config *cfg);
/*
 * Lines worth logging about the file ("" when none): provider raft_engine
 * read as local, GreptimeDB keys accepted but not used by kwal.
 */
KW_API const char *kw_wal_config_notes(const kw_wal_config *cfg);
/* NULL is fine. */
KW_API void kw_wal_config_free(kw_wal_config *cfg);

/* Waits for appends in flight to finish (or fail), then frees everything. */
KW_API void kw_wal_close(kw_wal *wal);

/* Detail text of the last error on this handle (thread-local to the caller is not promised). */
KW_API const char *kw_wal_errstr(const kw_wal *wal);

/* The topic a region writes to and replays from (kafka provider); the metasrv assigns it. */
KW_API int kw_wal_set_region_topic(kw_wal *wal, uint64_t region_id, const char *topic);

/*
 * Called once per append when the entry is durable (err == 0, entry_id set,
 * detail "") or has failed (err < 0; detail says why, e.g. "produce to
 * TOPIC: NOT_ENOUGH_REPLICAS ..."; the entry may or may not be in the log —
 * a later replay tells).  detail is valid during the call only.  Callbacks
 * for one topic come in append order.
 *
 * Local provider, full disk: err KW_ENOSPC (detail names the segment file
 * and ENOSPC) means the entry was not written and is not in the log, now or
 * after a restart; entries acknowledged before it are durable.  The log
 * keeps serving replays, keeps room for kw_wal_obsolete marks, and its
 * pruning then deletes old segments: appends work again once space is free.
 * err KW_EIO after a failed fsync: the handle is read-only from then on
 * (appends and marks fail with KW_EIO, replays go on); reopen it to write
 * again — recovery keeps every whole record, so such an entry may be there.
 *
 * Thread: a kwal thread — the local provider's writer, or the kafka
 * provider's client loop thread (its I/O thread, or inside
 * kw_client_run_once / kw_wal_run_once / a blocking call for a host-driven
 * client).  A callback must not block: the blocking WAL calls
 * (kw_wal_append_sync, kw_wal_replay_open / _next, kw_wal_append
 * when it would wait for buffer space — KW_EAGAIN there with the local
 * provider) and the blocking kw_client calls of the client the WAL runs on
 * return KW_EDEADLK at once when called from it, since what they would wait
 * for runs on the calling thread.  Never call
 * kw_wal_close from a callback.
 */
typedef void kw_wal_append_cb(void *arg, int err, uint64_t entry_id, const char *detail);

/* Queues an entry; data is copied before this returns.  0, or an error (KW_EAGAIN when full and fail-fast). */
KW_API int kw_wal_append(kw_wal *wal, uint64_t region_id, const void *data, size_t len,
                         kw_wal_append_cb *cb, void *arg);

/*
 * Appends and waits until the entry is durable; *entry_id gets its id.
 * KW_EDEADLK at once (nothing appended) when called from an append
 * callback or another callback of the WAL's client thread.
 */
KW_API int kw_wal_append_sync(kw_wal *wal, uint64_t region_id, const void *data, size_t len,
                              uint64_t *entry_id);

/* Replay ------------------------------------------------------------------ */

typedef struct kw_wal_replay kw_wal_replay;

enum {
    KW_WAL_REPLAY_FOLLOW = 1, /* keep tailing past the end (a hot standby) */
};

/*
 * Starts reading region_id's entries with id >= from_entry_id, up to the end
 * of the log as it is when replay starts (or forever with FOLLOW).  Entries
 * pruned below the log start: see overwrite_entry_start_id.
 */
KW_API int kw_wal_replay_open(kw_wal *wal, uint64_t region_id, uint64_t from_entry_id,
                              unsigned flags, kw_wal_replay **out);

/*
 * Replays n regions in one pass over the log: region_ids[i] from
 * from_entry_ids[i].  Regions share a topic (GreptimeDB puts many regions on
 * one), so a host recovering all of a topic's regions reads the topic once
 * instead of once per region.  The ids must be distinct (KW_EINVAL), n from 1
 * to 2^20, and with the kafka provider every region must write to the same
 * topic (KW_EINVAL; kw_wal_errstr names the two topics).  Entries come in log
 * order, each region's in its own id order; read them with
 * kw_wal_replay_next_region.  A pruned start (see overwrite_entry_start_id)
 * is judged per region.
 */
KW_API int kw_wal_replay_open_regions(kw_wal *wal, const uint64_t *region_ids,
                                      const uint64_t *from_entry_ids, size_t n, unsigned flags,
                                      kw_wal_replay **out);

/*
 * The next entry: 1 with *entry_id, *data and *len set (data stays valid until
 * the next call), 0 at the end (never with FOLLOW: it waits up to timeout_ms
 * and returns KW_ETIMEDOUT), or a negative error.
 */
KW_API int kw_wal_replay_next(kw_wal_replay *r, uint64_t *entry_id, const uint8_t **data,
                              size_t *len, int timeout_ms);

/* As kw_wal_replay_next, and *region_id (may be NULL) says whose entry it is. */
KW_API int kw_wal_replay_next_region(kw_wal_replay *r, uint64_t *region_id, uint64_t *entry_id,
                                     const uint8_t **data, size_t *len, int timeout_ms);

/* How a kafka replay used the index (kw_wal_replay_stats.index). */
enum kw_wal_replay_index {
    KW_WAL_REPLAY_INDEX_NONE = 0,     /* not asked for: local provider, no_index, FOLLOW */
    KW_WAL_REPLAY_INDEX_USED = 1,     /* every region's entries came from indexed ranges + tail */
    KW_WAL_REPLAY_INDEX_PARTIAL = 2,  /* some regions or offsets had no index: read as without */
    KW_WAL_REPLAY_INDEX_FALLBACK = 3, /* no usable index: the topic was read from `from` */
};

/* Entries replayed, bytes, malformed records skipped, incomplete entries at the tail. */
typedef struct kw_wal_replay_stats {
    uint64_t entries;
    uint64_t bytes;
    uint64_t records_read;
    uint64_t bad_records;
    uint64_t incomplete_entries;
    /* kafka provider */
    uint64_t fetches;         /* Fetch requests answered */
    uint64_t bytes_fetched;   /* record-batch bytes those answers held */
    uint64_t offsets_skipped; /* offsets between from and the end never fetched (the index) */
    int index;                /* enum kw_wal_replay_index */
    char index_note[200];     /* why the index was (not) used, e.g. "index topic missing" */
    /* records this replay read from the index topic: the handle keeps what it read, so a
     * replay reads only the records written since the handle's last replay */
    uint64_t index_records_read;
} kw_wal_replay_stats;
KW_API void kw_wal_replay_stats_get(const kw_wal_replay *r, kw_wal_replay_stats *out);
KW_API const char *kw_wal_replay_errstr(const kw_wal_replay *r);
KW_API void kw_wal_replay_close(kw_wal_replay *r);

/* Pruning and state -------------------------------------------------------- */

/* The region no longer needs entries with id <= entry_id (it flushed them). */
KW_API int kw_wal_obsolete(kw_wal *wal, uint64_t region_id, uint64_t entry_id);

/* The id of the region's last durable entry this handle knows of (0 = none). */
KW_API int kw_wal_latest_entry_id(kw_wal *wal, uint64_t region_id, uint64_t *out);

/* Host-driven WAL ------------------------------------------------------------ */

/*
 * With a host-driven client (kw_wal_options.kafka.host_driven, or a
 * host-driven kw_wal_options.client) no kwal thread runs the kafka
 * provider: the host polls kw_wal_backend_fd for readability, with at most
 * kw_wal_timeout_ms as its timeout, then calls kw_wal_run_once(wal, 0);
 * append callbacks run inside it.  These are kw_client_backend_fd /
 * _timeout_ms / _run_once of the WAL's client (kw_wal_client), so a host
 * that shares one client between a WAL and other handles drives it once.
 * Blocking WAL calls made on the host's loop thread outside a callback run
 * the loop themselves until they are done.
 *
 * The local provider has no loop: kw_wal_backend_fd returns -1,
 * kw_wal_timeout_ms -1 and kw_wal_run_once KW_EUNSUPPORTED.
 */
KW_API int kw_wal_backend_fd(const kw_wal *wal);
KW_API int kw_wal_timeout_ms(kw_wal *wal);
KW_API int kw_wal_run_once(kw_wal *wal, int timeout_ms);
/* The kafka provider's client (the host's or the WAL's own); NULL for the local provider. */
KW_API kw_client *kw_wal_client(const kw_wal *wal);

/* What a WAL holds (for tools such as `kwal wal info`) ---------------------------- */

typedef struct kw_wal_region_info {
    uint64_t region_id;
    uint64_t latest_entry_id;   /* last durable entry id this handle knows (0: none) */
    uint64_t obsolete_entry_id; /* ids <= this are obsolete (kw_wal_obsolete); 0 = never marked */
} kw_wal_region_info;

/*
 * Every region the handle knows (local provider: every region the log holds
 * an entry or an obsolete mark of; kafka: the regions appended to, marked or
 * given a topic through this handle), in no order: up to cap written to out
 * (may be NULL with cap 0), the count returned.
 */
KW_API size_t kw_wal_regions(kw_wal *wal, kw_wal_region_info *out, size_t cap);

/*
 * Local provider: the segment files, oldest first, each one's first entry id
 * in first_ids[0..cap); the count returned.  Kafka provider: 0.
 */
KW_API size_t kw_wal_segments(kw_wal *wal, uint64_t *first_ids, size_t cap);

/* Counters a host can export. */
typedef struct kw_wal_stats {
    uint64_t appends;       /* entries made durable */
    uint64_t append_errors; /* entries failed */
    uint64_t bytes;         /* entry bytes made durable */
    uint64_t batches;       /* record batches produced (kafka) or fsync groups (local) */
    uint64_t requests;      /* kafka: Produce requests sent, retries included (batches bound for
                               one broker share a request unless no_coalesce; on a
                               client shared with other handles, theirs too); local: 0 */
    uint64_t retries;       /* produce retries */
    uint64_t in_flight;     /* entries queued or in flight now */
    uint64_t buffered_bytes;
    uint64_t replayed_entries;
    uint64_t replayed_bytes;
} kw_wal_stats;
KW_API void kw_wal_stats_get(kw_wal *wal, kw_wal_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* KW_WAL_H */
