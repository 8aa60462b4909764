/* The local WAL provider: segment files in a directory, length + CRC-32C framed records, group commit. */
#ifndef KW_WAL_LOCAL_H
#define KW_WAL_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwal/wal.h"
#include "wal/regions.h"

/*
 * local.c: recovery, the writer thread, pruning; local_replay.c: replay;
 * local_int.h: the state they share.
 *
 * On disk (all integers little-endian).  DIR holds:
 *
 *   LOCK                          flock()ed while a handle is open (one process per dir)
 *   00000000000000000001.wal      segments, named by the first entry id they hold
 *   00000000000000004097.wal      (20 zero-padded digits, so names sort by id)
 *
 * A segment is a run of records, nothing else:
 *
 *   0  u32 crc     CRC-32C of the payload, then of header bytes 4..27
 *   4  u32 len     payload bytes (at most KW__WAL_LOCAL_MAX_ENTRY)
 *   8  u32 type    1 = entry, 2 = obsolete mark
 *  12  u64 region
 *  20  u64 id      entry: its entry id; mark: the region's obsolete id
 *  28  payload     entry: the bytes appended; mark: u64 the region's latest entry id
 *
 * Entry ids count entry records only (marks take none): 1, 2, 3 ... across
 * all regions, contiguous across segments.  Each segment starts with a
 * snapshot of every region's obsolete mark, so deleting older segments never
 * loses a mark.
 *
 * Durability rules:
 *  - an append's callback fires only after its record, every record before
 *    it, and (when it opened a new segment) the directory entry of that
 *    segment have been fsynced (fdatasync / fsync of the directory);
 *  - the writer thread fsyncs once per group: everything queued while the
 *    previous fsync ran goes out in one writev + one fdatasync;
 *  - open() keeps every whole record with a good CRC.  A short or bad record
 *    in the LAST segment is a torn tail (a write that was never acknowledged):
 *    the file is cut there and fsynced.  A bad record in an earlier segment
 *    was acknowledged once, so open fails with KW_ECORRUPT naming the file and
 *    offset instead of dropping it;
 *  - no space (ENOSPC, EDQUOT): the writer preallocates each segment ahead
 *    of its writes (fallocate, KEEP_SIZE), keeping KW__WAL_LOCAL_SPACE_RESERVE
 *    free behind the last entry.  An entry that finds no space fails with
 *    KW_ENOSPC before any byte of it is written, with every entry queued
 *    behind it (ids on disk stay contiguous: the next append gets the failed
 *    id again); entries before it are durable and acknowledged as usual.
 *    Obsolete marks may use the reserve, so a full disk still takes the marks
 *    that let pruning delete old segments, after which appends work again
 *    (pruning never deletes the last segment: a disk that holds only one
 *    frees nothing that way).
 *    A write that fails for space anyway (a filesystem without fallocate)
 *    is cut back to the last fdatasync (ftruncate + fdatasync) and fails the
 *    same way: an append failed with KW_ENOSPC is never in the log;
 *  - after a failed fdatasync (or a write that fails for any other reason)
 *    the state of the segment's unsynced pages is unknown (Linux may have
 *    dropped them and marked them clean), so the handle goes read-only: every
 *    queued and later append fails with KW_EIO, obsolete marks too, while
 *    replays and reads of what was durable go on.  Reopening recovers: every
 *    whole record with a good CRC is kept, a torn tail is cut, so an append
 *    that failed with KW_EIO may or may not be in the log then.
 */

#define KW__WAL_LOCAL_HDR 28
#define KW__WAL_LOCAL_MAX_ENTRY ((size_t)1 << 30)
#define KW__WAL_LOCAL_DEFAULT_SEGMENT ((size_t)64 << 20)
#define KW__WAL_LOCAL_MIN_SEGMENT ((size_t)1024)
/* Space kept free behind the last entry of a segment, for obsolete marks on a full disk. */
#define KW__WAL_LOCAL_SPACE_RESERVE ((uint64_t)64 << 10)
/* How far past a group the writer preallocates, so most groups make no fallocate call. */
#define KW__WAL_LOCAL_SPACE_AHEAD ((uint64_t)1 << 20)

typedef struct kw_wal_local kw_wal_local;
typedef struct kw_wal_local_replay kw_wal_local_replay;

/* Zero means default. */
typedef struct kw_wal_local_options {
    const char *dir;           /* required; created (one level) if missing */
    size_t segment_bytes;      /* roll to a new segment past this; 64 MiB */
    size_t max_buffered_bytes; /* queued, not yet durable bytes before append waits; 64 MiB */
    bool append_fail_fast;     /* past max_buffered_bytes: KW_EAGAIN instead of waiting */
    int (*fdatasync_fn)(int fd); /* tests only (a failing fsync): NULL is fdatasync */
    bool no_prealloc;            /* tests only: as on a filesystem without fallocate */
    kw_log_fn *log;        /* recovery, pruning and I/O errors; may be NULL */
    void *log_arg;
} kw_wal_local_options;

/*
 * Opens (creating if needed) and recovers the log in opts->dir, then starts
 * the writer thread.  KW_EAGAIN: another handle holds the dir's LOCK;
 * KW_ECORRUPT: a bad record before the last segment (errbuf names file and
 * offset); KW_EIO: a system call failed (errbuf names it).
 */
int kw__wal_local_open(kw_wal_local **out, const kw_wal_local_options *opts, char *errbuf,
                       size_t errlen);
/* Writes and fsyncs everything queued (callbacks fire), stops the writer, frees the handle. */
void kw__wal_local_close(kw_wal_local *l);
/* Detail of the last failure on this handle; "" if none. */
const char *kw__wal_local_errstr(const kw_wal_local *l);

/*
 * Queues an entry (data copied before return; the CRC is computed here, on
 * the caller's thread).  Ids are given in the order appends take the queue
 * lock, and cb fires in that order from the writer thread once the entry is
 * durable (see above).  Any thread; a callback may append again (it is never
 * made to wait for space: it gets KW_EAGAIN instead).
 */
int kw__wal_local_append(kw_wal_local *l, uint64_t region, const void *data, size_t len,
                         kw_wal_append_cb *cb, void *arg);

/*
 * Region no longer needs ids <= entry_id.  The mark is written to the log like
 * an entry (no id of its own) and counts for pruning once it is durable.
 * Lower marks than the current one are ignored; an id past the last assigned
 * one is KW_EINVAL.
 *
 * Pruning (on the writer thread after each group that made a mark durable or
 * opened a segment): the prune point is the lowest mark of every region the
 * log holds an entry of above that region's mark (a region that never marked
 * holds everything; a region whose entries are all at or below its mark holds
 * nothing).  Whole segments whose every entry is <= the prune point are
 * deleted, never the last one.
 */
int kw__wal_local_obsolete(kw_wal_local *l, uint64_t region, uint64_t entry_id);

/* The region's last durable entry id (0 = none known, also after its entries were pruned away). */
int kw__wal_local_latest(kw_wal_local *l, uint64_t region, uint64_t *out);
/* KW_EDEADLK on the writer thread (an append callback, which must not wait for it), else 0. */
int kw__wal_local_can_block(const kw_wal_local *l);

void kw__wal_local_stats(kw_wal_local *l, kw_wal_stats *out);

/* First entry id of each segment, oldest first: up to max written to ids, the count returned. */
size_t kw__wal_local_segments(kw_wal_local *l, uint64_t *ids, size_t max);

/*
 * Every region the log holds an entry or an obsolete mark of, in no order
 * (latest_entry_id 0 when only a mark is left): up to max written to out,
 * the count returned.
 */
size_t kw__wal_local_regions(kw_wal_local *l, kw_wal_region_info *out, size_t max);

/*
 * Replays region's entries with id >= from_entry_id up to the last id durable
 * now (or forever with KW_WAL_REPLAY_FOLLOW).  A from below the log start
 * begins at the log start (logging a warning when the region had not marked
 * those ids obsolete).  Reads with large preads; other regions' records are
 * skipped by their header; CRCs of returned entries are checked again.
 */
int kw__wal_local_replay_open(kw_wal_local *l, const kw_wal_region_set *set, unsigned flags,
                              kw_wal_local_replay **out);
/* As kw_wal_replay_next_region: 1 entry, 0 end, KW_ETIMEDOUT (FOLLOW only; timeout_ms < 0: no
 * limit). */
int kw__wal_local_replay_next(kw_wal_local_replay *r, uint64_t *region_id, uint64_t *entry_id,
                              const uint8_t **data, size_t *len, int timeout_ms);
void kw__wal_local_replay_stats(const kw_wal_local_replay *r, kw_wal_replay_stats *out);
const char *kw__wal_local_replay_errstr(const kw_wal_local_replay *r);
void kw__wal_local_replay_close(kw_wal_local_replay *r);

#endif /* KW_WAL_LOCAL_H */
