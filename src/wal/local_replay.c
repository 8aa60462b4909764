/* The local WAL provider's replay: large preads over segment files, other regions skipped by header, FOLLOW. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wal/local_int.h"

#define REPLAY_READ ((size_t)1 << 20)

struct kw_wal_local_replay {
    kw_wal_local *l;
    const kw_wal_region_set *set; /* kept by wal.c for the replay's life */
    uint64_t from, end_id;        /* from: the smallest of the set's */
    bool follow;
    uint64_t seg_first; /* segment being read */
    int fd;
    uint64_t file_off; /* file offset of buf[0] */
    uint8_t *buf;
    size_t cap, pos, len;
    int err; /* sticky */
    kw_wal_replay_stats st;
    char errstr[400];
};

/* Opens segment index i for r.  Under mu: a listed segment keeps its name until mu is released. */
static int replay_open_seg(kw_wal_local_replay *r, size_t i)
{
    char name[NAME_LEN];
    kw__wal_local_seg_name(name, r->l->segs[i].first_id);
    int fd = openat(r->l->dir_fd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(r->errstr, sizeof(r->errstr), "%s/%s: open: %s", r->l->dir, name,
                 strerror(errno));
        return KW_EIO;
    }
    if (r->fd >= 0)
        close(r->fd);
    r->fd = fd;
    r->seg_first = r->l->segs[i].first_id;
    r->file_off = 0;
    r->pos = r->len = 0;
    return 0;
}

int kw__wal_local_replay_open(kw_wal_local *l, const kw_wal_region_set *set, unsigned flags,
                              kw_wal_local_replay **out)
{
    *out = NULL;
    kw_wal_local_replay *r = calloc(1, sizeof(*r));
    if (!r)
        return KW_ENOMEM;
    r->l = l;
    r->set = set;
    r->from = set->min_from ? set->min_from : 1;
    r->follow = flags & KW_WAL_REPLAY_FOLLOW;
    r->fd = -1;
    pthread_mutex_lock(&l->mu);
    r->end_id = r->follow ? UINT64_MAX : l->durable_id;
    size_t i = 0;
    if (r->from < l->segs[0].first_id) {
        for (size_t k = 0; k < set->n; k++) {
            uint64_t from = set->froms[k] ? set->froms[k] : 1;
            if (from >= l->segs[0].first_id)
                continue;
            const region_ent *e = kw__wal_local_region_find(&l->regions, set->ids[k]);
            uint64_t mark = e ? e->mark : 0;
            if (from - 1 > mark)
                kw__wal_local_log(l, KW_LOG_WARN,
                                  "replay of region %" PRIu64 " from %" PRIu64
                                  ": the log starts at %" PRIu64 " (entries up to %" PRIu64
                                  " were pruned)",
                                  set->ids[k], from, l->segs[0].first_id,
                                  l->segs[0].first_id - 1);
        }
    } else {
        while (i + 1 < l->nsegs && l->segs[i + 1].first_id <= r->from)
            i++;
    }
    int rc = replay_open_seg(r, i);
    if (rc)
        kw__wal_local_set_err(l, rc, "%s", r->errstr);
    pthread_mutex_unlock(&l->mu);
    if (rc) {
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Gets at least `need` bytes into buf from pos, moving to the next segment or
 * (FOLLOW) waiting for more as needed.  0, 1 = end of the log, or an error.
 */
static int replay_fill(kw_wal_local_replay *r, size_t need, int timeout_ms, uint64_t start_ms)
{
    kw_wal_local *l = r->l;
    for (;;) {
        if (r->len - r->pos >= need)
            return 0;
        pthread_mutex_lock(&l->mu);
        long i = kw__wal_local_segs_find(l, r->seg_first);
        uint64_t limit;
        bool is_last = false;
        size_t next = 0;
        if (i >= 0) {
            limit = l->segs[i].bytes;
            is_last = (size_t)i + 1 == l->nsegs;
            next = (size_t)i + 1;
        } else {
            /* Pruned while we read it: it was whole, our fd still reads it. */
            struct stat st;
            limit = fstat(r->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
            while (next < l->nsegs && l->segs[next].first_id < r->seg_first)
                next++;
        }
        uint64_t have_to = r->file_off + r->len;
        if (limit > have_to) {
            pthread_mutex_unlock(&l->mu);
            if (r->pos)
                memmove(r->buf, r->buf + r->pos, r->len - r->pos);
            r->file_off += r->pos;
            r->len -= r->pos;
            r->pos = 0;
            size_t want = need > REPLAY_READ ? need : REPLAY_READ;
            if (want > r->cap) {
                uint8_t *nb = realloc(r->buf, want);
                if (!nb)
                    return KW_ENOMEM;
                r->buf = nb;
                r->cap = want;
            }
            size_t room = r->cap - r->len;
            if (room > limit - have_to)
                room = (size_t)(limit - have_to);
            ssize_t got = pread(r->fd, r->buf + r->len, room, (off_t)have_to);
            if (got <= 0) {
                snprintf(r->errstr, sizeof(r->errstr), "%s: segment %" PRIu64 ": pread: %s",
                         l->dir, r->seg_first, got < 0 ? strerror(errno) : "short file");
                return KW_EIO;
            }
            r->len += (size_t)got;
            continue;
        }
        if (r->len > r->pos) {
            pthread_mutex_unlock(&l->mu);
            snprintf(r->errstr, sizeof(r->errstr),
                     "%s: segment %" PRIu64 ": record at offset %" PRIu64 " runs past the end",
                     l->dir, r->seg_first, r->file_off + r->pos);
            return KW_ECORRUPT;
        }
        if (!is_last && next < l->nsegs) {
            int rc = replay_open_seg(r, next);
            pthread_mutex_unlock(&l->mu);
            if (rc)
                return rc;
            continue;
        }
        if (!r->follow) {
            pthread_mutex_unlock(&l->mu);
            return 1;
        }
        /* FOLLOW: wait for the writer to make more durable. */
        if (timeout_ms >= 0) {
            uint64_t deadline = start_ms + (uint64_t)timeout_ms, now = now_ms();
            if (now >= deadline) {
                pthread_mutex_unlock(&l->mu);
                return KW_ETIMEDOUT;
            }
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            uint64_t ns = (uint64_t)ts.tv_nsec + (deadline - now) * 1000000;
            ts.tv_sec += (time_t)(ns / 1000000000);
            ts.tv_nsec = (long)(ns % 1000000000);
            pthread_cond_timedwait(&l->durable, &l->mu, &ts);
        } else {
            pthread_cond_wait(&l->durable, &l->mu);
        }
        pthread_mutex_unlock(&l->mu);
    }
}

int kw__wal_local_replay_next(kw_wal_local_replay *r, uint64_t *region_id, uint64_t *entry_id,
                              const uint8_t **data, size_t *len, int timeout_ms)
{
    if (r->err)
        return r->err;
    uint64_t start = now_ms();
    for (;;) {
        int rc = replay_fill(r, HDR, timeout_ms, start);
        if (rc == 1)
            return 0;
        if (rc)
            return rc == KW_ETIMEDOUT ? rc : (r->err = rc);
        const uint8_t *p = r->buf + r->pos;
        const char *why = NULL;
        uint32_t rlen = get32(p + 4), type = get32(p + 8);
        if (type != REC_ENTRY && type != REC_MARK)
            why = "unknown record type";
        else if (rlen > KW__WAL_LOCAL_MAX_ENTRY)
            why = "bad record length";
        uint64_t region = get64(p + 12), id = get64(p + 20);
        size_t total = HDR + (size_t)rlen;
        if (!why && type == REC_ENTRY && id > r->end_id)
            return 0;
        r->st.records_read++;
        if (!why && (type != REC_ENTRY || !kw__wal_region_wants(r->set, region, id))) {
            /* Someone else's record: step over it by its header, unread if it is not buffered. */
            if (total <= r->len - r->pos) {
                r->pos += total;
            } else {
                r->file_off += r->pos + total;
                r->pos = r->len = 0;
            }
            continue;
        }
        if (!why) {
            rc = replay_fill(r, total, timeout_ms, start);
            if (rc)
                return rc == 1 ? (r->err = KW_ECORRUPT) : rc == KW_ETIMEDOUT ? rc : (r->err = rc);
            p = r->buf + r->pos;
            if (rec_crc(p, p + HDR, rlen) != get32(p))
                why = "CRC mismatch";
        }
        if (why) {
            snprintf(r->errstr, sizeof(r->errstr), "%s: segment %" PRIu64 ": offset %" PRIu64
                     ": %s", r->l->dir, r->seg_first, r->file_off + r->pos, why);
            return r->err = KW_ECORRUPT;
        }
        r->pos += total;
        *region_id = region;
        *entry_id = id;
        *data = p + HDR;
        *len = rlen;
        r->st.entries++;
        r->st.bytes += rlen;
        __atomic_fetch_add(&r->l->replayed_entries, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&r->l->replayed_bytes, rlen, __ATOMIC_RELAXED);
        return 1;
    }
}

void kw__wal_local_replay_stats(const kw_wal_local_replay *r, kw_wal_replay_stats *out)
{
    *out = r->st;
}

const char *kw__wal_local_replay_errstr(const kw_wal_local_replay *r)
{
    return r->errstr;
}

void kw__wal_local_replay_close(kw_wal_local_replay *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    free(r->buf);
    free(r);
}
