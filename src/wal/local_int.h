/* The local provider's private state, shared by local.c (recovery, writer, pruning) and local_replay.c. */
#ifndef KW_WAL_LOCAL_INT_H
#define KW_WAL_LOCAL_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/crc32c.h"
#include "wal/local.h"

enum { REC_ENTRY = 1, REC_MARK = 2 };
#define HDR KW__WAL_LOCAL_HDR
#define NAME_LEN 25 /* 20 digits + ".wal" + NUL */
#define IOV_CHUNK 512

static inline void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}
static inline uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The record's CRC: payload first, so appenders checksum it before the id is known. */
static inline uint32_t rec_crc(const uint8_t *hdr, const uint8_t *payload, size_t len)
{
    return kw__crc32c(kw__crc32c(0, payload, len), hdr + 4, HDR - 4);
}

/* Region table: open addressing keyed by region id. ------------------------ */

typedef struct region_ent {
    uint64_t region;
    uint64_t mark;   /* ids <= mark are obsolete for the region; 0 = never marked */
    uint64_t latest; /* last entry id of the region */
    bool used;
} region_ent;

typedef struct region_map {
    region_ent *v;
    size_t cap, n;
} region_map;

/* Under mu for the durable map; the writer thread's own for wregions. */
region_ent *kw__wal_local_region_find(const region_map *m, uint64_t region);
/* The region's slot, added if new; NULL when out of memory. */
region_ent *kw__wal_local_region_get(region_map *m, uint64_t region);

/* The handle. ---------------------------------------------------------------- */

/* One queued record: header and payload contiguous, so it is one iovec. */
typedef struct qnode {
    struct qnode *next;
    kw_wal_append_cb *cb;
    void *arg;
    uint32_t type;
    uint64_t region, id;
    int err;     /* the writer's: 0 durable, KW_ENOSPC not written for want of space */
    size_t size; /* HDR + payload */
    uint8_t rec[];
} qnode;

typedef struct segment {
    uint64_t first_id;
    uint64_t bytes; /* durable bytes: final size for all but the last segment */
} segment;

struct kw_wal_local {
    char *dir;
    int dir_fd, lock_fd;
    size_t segment_bytes, max_buffered;
    bool fail_fast;
    int (*fdatasync_fn)(int fd);
    kw_log_fn *log;
    void *log_arg;

    pthread_mutex_t mu;
    pthread_cond_t work;    /* the writer waits for records */
    pthread_cond_t space;   /* appenders wait for buffer room */
    pthread_cond_t durable; /* FOLLOW replays wait for new durable records */
    pthread_t writer;
    bool writer_started;

    /* Under mu: the queue. */
    qnode *q_head, **q_tail;
    uint64_t next_id; /* id of the next entry appended */
    size_t q_bytes;   /* queued or being written */
    bool closing, prune_pending;
    int broken; /* sticky write/fsync error */

    /* Under mu: what is durable. */
    uint64_t durable_id;
    segment *segs;
    size_t nsegs, segs_cap;
    region_map regions; /* durable latest ids and marks */
    kw_wal_stats stats; /* but for replayed_*, kept below */
    uint64_t replayed_entries, replayed_bytes; /* atomics: replays add without mu */
    char errstr[512];

    /* Writer thread only (and open, before the thread starts). */
    int seg_fd;
    uint64_t seg_size;      /* written to the current segment */
    uint64_t seg_synced;    /* of which the last fdatasync covers this much */
    uint64_t seg_reserved;  /* disk space allocated to it (fallocate, KEEP_SIZE) */
    uint64_t segs_last_first; /* its first id (its name) */
    bool seg_has_entry, seg_has_entry_synced;
    bool seg_needs_marks; /* write the marks snapshot before the next record */
    bool no_prealloc;     /* the filesystem has no fallocate: writes alone find a full disk */
    region_map wregions; /* marks and latest ids as written, for the snapshot of a new segment */
};

/* Goes to the host's log callback, if any.  No lock needed. */
void kw__wal_local_log(kw_wal_local *l, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets the handle's detail text and returns err.  Under mu. */
int kw__wal_local_set_err(kw_wal_local *l, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "00000000000000000001.wal" for first id 1. */
void kw__wal_local_seg_name(char out[NAME_LEN], uint64_t first_id);
/* Index of the segment whose first id is first_id, or -1 (pruned).  Under mu. */
long kw__wal_local_segs_find(const kw_wal_local *l, uint64_t first_id);

#endif /* KW_WAL_LOCAL_INT_H */
