/* The local WAL provider: recovery, the group-commit writer thread, pruning, append and obsolete marks. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "wal/local_int.h"
#include "net/log.h"

/* Region table: open addressing keyed by region id. ------------------------ */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

region_ent *kw__wal_local_region_find(const region_map *m, uint64_t region)
{
    if (!m->cap)
        return NULL;
    for (size_t i = mix64(region) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->v[i].used)
            return NULL;
        if (m->v[i].region == region)
            return &m->v[i];
    }
}

region_ent *kw__wal_local_region_get(region_map *m, uint64_t region)
{
    region_ent *e = kw__wal_local_region_find(m, region);
    if (e)
        return e;
    if ((m->n + 1) * 10 > m->cap * 7) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        region_ent *nv = calloc(ncap, sizeof(*nv));
        if (!nv)
            return NULL;
        region_map nm = {nv, ncap, 0};
        for (size_t i = 0; i < m->cap; i++)
            if (m->v[i].used)
                *kw__wal_local_region_get(&nm, m->v[i].region) = m->v[i];
        free(m->v);
        *m = nm;
    }
    size_t i = mix64(region) & (m->cap - 1);
    while (m->v[i].used)
        i = (i + 1) & (m->cap - 1);
    m->v[i] = (region_ent){.region = region, .used = true};
    m->n++;
    return &m->v[i];
}

void kw__wal_local_log(kw_wal_local *l, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kw__vlog(l->log, l->log_arg, level, fmt, ap);
    va_end(ap);
}

void kw__wal_local_seg_name(char out[NAME_LEN], uint64_t first_id)
{
    snprintf(out, NAME_LEN, "%020" PRIu64 ".wal", first_id);
}

/* A segment file name's first id, or false when the name is not a segment's. */
static bool parse_seg_name(const char *name, uint64_t *first_id)
{
    if (strlen(name) != NAME_LEN - 1 || strcmp(name + 20, ".wal") != 0)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        uint64_t d = (uint64_t)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *first_id = v;
    return v > 0;
}

static int segs_push(kw_wal_local *l, uint64_t first_id, uint64_t bytes)
{
    if (l->nsegs == l->segs_cap) {
        size_t ncap = l->segs_cap ? l->segs_cap * 2 : 16;
        segment *n = realloc(l->segs, ncap * sizeof(*n));
        if (!n)
            return KW_ENOMEM;
        l->segs = n;
        l->segs_cap = ncap;
    }
    l->segs[l->nsegs++] = (segment){first_id, bytes};
    return 0;
}

long kw__wal_local_segs_find(const kw_wal_local *l, uint64_t first_id)
{
    size_t lo = 0, hi = l->nsegs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (l->segs[mid].first_id < first_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < l->nsegs && l->segs[lo].first_id == first_id ? (long)lo : -1;
}

static int write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n > IOV_MAX ? IOV_MAX : n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* Recovery. ---------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/*
 * Checks the record at p (avail bytes left in the file): its size, or 0 with
 * *why set when it is short or bad.
 */
static size_t check_record(const uint8_t *p, size_t avail, const char **why)
{
    if (avail < HDR) {
        *why = "short record header";
        return 0;
    }
    uint32_t len = get32(p + 4), type = get32(p + 8);
    if (type != REC_ENTRY && type != REC_MARK) {
        *why = "unknown record type";
        return 0;
    }
    if (len > KW__WAL_LOCAL_MAX_ENTRY || (type == REC_MARK && len != 8)) {
        *why = "bad record length";
        return 0;
    }
    if (avail - HDR < len) {
        *why = "short record";
        return 0;
    }
    if (rec_crc(p, p + HDR, len) != get32(p)) {
        *why = "CRC mismatch";
        return 0;
    }
    return HDR + (size_t)len;
}

static int fail(char *errbuf, size_t errlen, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *errbuf, size_t errlen, int err, const char *fmt, ...)
{
    if (errbuf && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return err;
}

/*
 * Scans one segment: every record checked, ids continued from *next_id,
 * regions' latest ids and marks collected.  A bad record cuts the last
 * segment there (torn tail) and fails any other.
 */
static int scan_segment(kw_wal_local *l, uint64_t first_id, bool last, uint64_t *next_id,
                        uint64_t *size_out, bool *has_entry, char *errbuf, size_t errlen)
{
    char name[NAME_LEN];
    kw__wal_local_seg_name(name, first_id);
    int fd = openat(l->dir_fd, name, (last ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0)
        return fail(errbuf, errlen, KW_EIO, "%s/%s: open: %s", l->dir, name, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return fail(errbuf, errlen, KW_EIO, "%s/%s: fstat: %s", l->dir, name, strerror(errno));
    }
    size_t size = (size_t)st.st_size;
    const uint8_t *base = NULL;
    if (size) {
        base = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (base == MAP_FAILED) {
            close(fd);
            return fail(errbuf, errlen, KW_EIO, "%s/%s: mmap: %s", l->dir, name, strerror(errno));
        }
        madvise((void *)base, size, MADV_SEQUENTIAL);
    }
    int rc = 0;
    size_t off = 0;
    const char *why = NULL;
    char whybuf[160];
    bool hard = false; /* a whole record with a good CRC in the wrong place: never a torn write */
    *has_entry = false;
    while (off < size) {
        size_t n = check_record(base + off, size - off, &why);
        if (n) {
            const uint8_t *p = base + off;
            uint64_t region = get64(p + 12), id = get64(p + 20);
            region_ent *e = kw__wal_local_region_get(&l->wregions, region);
            if (!e) {
                rc = fail(errbuf, errlen, KW_ENOMEM, "recovery: out of memory");
                break;
            }
            if (get32(p + 8) == REC_ENTRY) {
                if (id != *next_id) {
                    snprintf(whybuf, sizeof(whybuf), "entry id %" PRIu64 " where %" PRIu64
                             " was expected", id, *next_id);
                    why = whybuf;
                    hard = true;
                    n = 0;
                } else {
                    e->latest = id;
                    (*next_id)++;
                    *has_entry = true;
                }
            } else if (id >= *next_id || get64(p + HDR) >= *next_id) {
                /* A mark only ever follows the entries it names: one past the log end (whole,
                 * good CRC) is no torn write, and taken as is it would let pruning delete
                 * entries appended later under those ids. */
                snprintf(whybuf, sizeof(whybuf),
                         "obsolete mark of region %" PRIu64 " at entry %" PRIu64
                         " (latest %" PRIu64 ") past the log end %" PRIu64,
                         region, id, get64(p + HDR), *next_id - 1);
                why = whybuf;
                hard = true;
                n = 0;
            } else {
                if (id > e->mark)
                    e->mark = id;
                uint64_t latest = get64(p + HDR);
                if (latest > e->latest)
                    e->latest = latest;
            }
        }
        if (!n) {
            if (!last || hard) {
                rc = fail(errbuf, errlen, KW_ECORRUPT,
                          "%s/%s: offset %zu: %s (%s: acknowledged entries would be lost)",
                          l->dir, name, off, why,
                          last ? "not a torn write" : "not the last segment");
                break;
            }
            kw__wal_local_log(
                l, KW_LOG_WARN,
                "%s/%s: torn tail at offset %zu (%s): cutting %zu bytes never acknowledged", l->dir,
                name, off, why, size - off);
            /* The cut must be durable before anything is appended after it. */
            if (ftruncate(fd, (off_t)off) < 0 || fdatasync(fd) < 0)
                rc = fail(errbuf, errlen, KW_EIO, "%s/%s: cutting the torn tail: %s", l->dir,
                          name, strerror(errno));
            size = off;
            break;
        }
        off += n;
    }
    if (base)
        munmap((void *)base, (size_t)st.st_size);
    if (rc || !last) {
        close(fd);
    } else {
        l->seg_fd = fd;
        if (lseek(fd, (off_t)size, SEEK_SET) < 0)
            rc = fail(errbuf, errlen, KW_EIO, "%s/%s: lseek: %s", l->dir, name, strerror(errno));
    }
    *size_out = size;
    return rc;
}

/* Creates segment first_id and makes its name durable (directory fsync); writes go there next. */
static int create_segment(kw_wal_local *l, uint64_t first_id, char *errbuf, size_t errlen)
{
    char name[NAME_LEN];
    kw__wal_local_seg_name(name, first_id);
    int fd = openat(l->dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail(errbuf, errlen, KW_EIO, "%s/%s: create: %s", l->dir, name, strerror(errno));
    if (fsync(l->dir_fd) < 0) {
        int e = errno;
        close(fd);
        return fail(errbuf, errlen, KW_EIO, "%s: fsync of the directory: %s", l->dir, strerror(e));
    }
    if (l->seg_fd >= 0)
        close(l->seg_fd);
    l->seg_fd = fd;
    l->seg_size = 0;
    l->seg_has_entry = false;
    return 0;
}

static int recover(kw_wal_local *l, char *errbuf, size_t errlen)
{
    DIR *d = opendir(l->dir);
    if (!d)
        return fail(errbuf, errlen, KW_EIO, "%s: opendir: %s", l->dir, strerror(errno));
    uint64_t *ids = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d))) {
        uint64_t id;
        if (!parse_seg_name(de->d_name, &id))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            uint64_t *nids = realloc(ids, cap * sizeof(*nids));
            if (!nids) {
                rc = fail(errbuf, errlen, KW_ENOMEM, "recovery: out of memory");
                break;
            }
            ids = nids;
        }
        ids[n++] = id;
    }
    closedir(d);
    if (!rc && n)
        qsort(ids, n, sizeof(*ids), cmp_u64);
    uint64_t next_id = n ? ids[0] : 1;
    for (size_t i = 0; !rc && i < n; i++) {
        bool last = i + 1 == n, has_entry = false;
        uint64_t size = 0;
        if (ids[i] != next_id) {
            char name[NAME_LEN];
            kw__wal_local_seg_name(name, ids[i]);
            rc = fail(errbuf, errlen, KW_ECORRUPT,
                      "%s/%s: starts at id %" PRIu64 " but the segment before ends at %" PRIu64
                      " (a segment is missing or empty)",
                      l->dir, name, ids[i], next_id - 1);
            break;
        }
        rc = scan_segment(l, ids[i], last, &next_id, &size, &has_entry, errbuf, errlen);
        if (!rc)
            rc = segs_push(l, ids[i], size);
        if (last && !rc) {
            l->seg_size = size;
            l->seg_has_entry = has_entry;
        }
    }
    free(ids);
    if (!rc && n == 0) {
        rc = create_segment(l, 1, errbuf, errlen);
        if (!rc)
            rc = segs_push(l, 1, 0);
    }
    if (rc)
        return rc;
    l->next_id = next_id;
    l->durable_id = next_id - 1;
    l->seg_synced = l->seg_reserved = l->seg_size;
    l->seg_has_entry_synced = l->seg_has_entry;
    l->segs_last_first = l->segs[l->nsegs - 1].first_id;
    /* An empty last segment after others (a crash right after a roll) has no marks snapshot
     * yet: the writer puts it there first. */
    l->seg_needs_marks = l->seg_size == 0 && l->nsegs > 1;
    /* The durable view starts as what recovery found. */
    l->regions.cap = l->wregions.cap;
    l->regions.n = l->wregions.n;
    if (l->wregions.cap) {
        l->regions.v = malloc(l->wregions.cap * sizeof(region_ent));
        if (!l->regions.v)
            return fail(errbuf, errlen, KW_ENOMEM, "recovery: out of memory");
        memcpy(l->regions.v, l->wregions.v, l->wregions.cap * sizeof(region_ent));
    }
    kw__wal_local_log(l, KW_LOG_INFO, "%s: %zu segment(s), entries %" PRIu64 "..%" PRIu64,
                      l->dir, l->nsegs, l->segs[0].first_id, l->durable_id);
    return 0;
}

/* The writer thread. ---------------------------------------------------------- */

static bool is_space_errno(int e)
{
    return e == ENOSPC || e == EDQUOT;
}

static int io_error(kw_wal_local *l, const char *what, int e)
{
    pthread_mutex_lock(&l->mu);
    snprintf(l->errstr, sizeof(l->errstr),
             "%s: %s of the current segment: %s; the log takes no more appends until it is "
             "reopened (replays go on)",
             l->dir, what, strerror(e));
    pthread_mutex_unlock(&l->mu);
    kw__wal_local_log(l, KW_LOG_ERROR, "%s: %s of the current segment: %s", l->dir, what,
                      strerror(e));
    return KW_EIO;
}

/*
 * Makes sure the segment open on fd has disk space for its bytes up to end
 * (fallocate, KEEP_SIZE: the file's size stays what was written): 0, or
 * KW_ENOSPC.  *reserved is how far the segment is allocated already.  It asks
 * for a little more than end so most groups make no call; on a filesystem
 * without fallocate it says 0 and the writes find out.
 */
static int reserve_space(kw_wal_local *l, int fd, uint64_t size, uint64_t *reserved, uint64_t end)
{
    if (l->no_prealloc || end <= *reserved)
        return 0;
    uint64_t from = *reserved > size ? *reserved : size;
    /* Never further than the segment can grow before it rolls: space held by a segment the
     * writer is about to leave would make the next one fail on a disk that has room. */
    uint64_t want = end + KW__WAL_LOCAL_SPACE_AHEAD,
             limit = (uint64_t)l->segment_bytes + KW__WAL_LOCAL_SPACE_RESERVE;
    if (want > limit)
        want = limit > end ? limit : end;
    for (int attempt = 0; attempt < 2; attempt++, want = end) {
        int rc;
        do
            rc = fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)from, (off_t)(want - from));
        while (rc < 0 && errno == EINTR);
        if (rc == 0) {
            *reserved = want;
            return 0;
        }
        if (!is_space_errno(errno)) {
            kw__wal_local_log(l, KW_LOG_INFO, "%s: fallocate: %s: writing without preallocation",
                              l->dir, strerror(errno));
            l->no_prealloc = true;
            return 0;
        }
    }
    return KW_ENOSPC;
}

/* Gives back the space reserved past what the current segment holds (before leaving it). */
static void release_space(kw_wal_local *l)
{
    if (l->seg_reserved > l->seg_size)
        fallocate(l->seg_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)l->seg_size,
                  (off_t)(l->seg_reserved - l->seg_size));
    l->seg_reserved = l->seg_size;
}

/* The writer's "no space" detail, for the callbacks of the entries it fails. */
static void space_error(kw_wal_local *l, uint64_t segment_first_id, const char *what,
                        uint64_t first_failed)
{
    char name[NAME_LEN];
    kw__wal_local_seg_name(name, segment_first_id);
    pthread_mutex_lock(&l->mu);
    char from[48] = "obsolete marks";
    if (first_failed)
        snprintf(from, sizeof(from), "entries from id %" PRIu64, first_failed);
    snprintf(l->errstr, sizeof(l->errstr),
             "%s/%s: %s: no space left on device (ENOSPC): %s not written; appends fail until "
             "space is freed (kw_wal_obsolete lets pruning delete old segments)",
             l->dir, name, what, from);
    pthread_mutex_unlock(&l->mu);
}

/*
 * Opens the next segment first_id with room for its marks snapshot and an
 * entry of entry_size, and makes its name durable; the marks are written by
 * the caller (seg_needs_marks).  KW_ENOSPC leaves the current segment as it
 * was (the new file is removed); KW_EIO is an fsync or other failure.
 */
static int roll(kw_wal_local *l, uint64_t first_id, uint64_t entry_size)
{
    char name[NAME_LEN];
    kw__wal_local_seg_name(name, first_id);
    int fd = openat(l->dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        if (is_space_errno(errno)) {
            space_error(l, first_id, "create", first_id);
            return KW_ENOSPC;
        }
        return io_error(l, "create of the next segment", errno);
    }
    size_t nmarks = 0;
    for (size_t i = 0; i < l->wregions.cap; i++)
        nmarks += l->wregions.v[i].used && l->wregions.v[i].mark;
    uint64_t reserved = 0;
    if (reserve_space(l, fd, 0, &reserved,
                      nmarks * (HDR + 8) + entry_size + KW__WAL_LOCAL_SPACE_RESERVE)) {
        close(fd);
        unlinkat(l->dir_fd, name, 0);
        space_error(l, first_id, "preallocate", first_id);
        return KW_ENOSPC;
    }
    if (fsync(l->dir_fd) < 0) {
        int e = errno;
        close(fd);
        return io_error(l, "fsync of the directory after creating the next segment", e);
    }
    release_space(l);
    close(l->seg_fd);
    uint64_t old_size = l->seg_size;
    l->seg_fd = fd;
    l->seg_size = l->seg_synced = 0;
    l->seg_reserved = reserved;
    l->seg_has_entry = l->seg_has_entry_synced = false;
    l->seg_needs_marks = true;
    l->segs_last_first = first_id;
    pthread_mutex_lock(&l->mu);
    l->segs[l->nsegs - 1].bytes = old_size;
    int rc = segs_push(l, first_id, 0);
    l->prune_pending = true;
    pthread_mutex_unlock(&l->mu);
    return rc;
}

/* Writes the snapshot of every region's mark a segment opens with (see local.h). */
static int write_marks(kw_wal_local *l)
{
    size_t nmarks = 0;
    for (size_t i = 0; i < l->wregions.cap; i++)
        nmarks += l->wregions.v[i].used && l->wregions.v[i].mark;
    if (!nmarks) {
        l->seg_needs_marks = false;
        return 0;
    }
    uint8_t *buf = malloc(nmarks * (HDR + 8));
    if (!buf)
        return -ENOMEM;
    uint8_t *p = buf;
    for (size_t i = 0; i < l->wregions.cap; i++) {
        const region_ent *e = &l->wregions.v[i];
        if (!e->used || !e->mark)
            continue;
        put32(p + 4, 8);
        put32(p + 8, REC_MARK);
        put64(p + 12, e->region);
        put64(p + 20, e->mark);
        put64(p + HDR, e->latest);
        put32(p, rec_crc(p, p + HDR, 8));
        p += HDR + 8;
    }
    struct iovec iov = {buf, nmarks * (HDR + 8)};
    int rc = write_all(l->seg_fd, &iov, 1);
    free(buf);
    if (rc)
        return rc;
    l->seg_size += nmarks * (HDR + 8);
    l->seg_needs_marks = false;
    return 0;
}

static int flush_iov(kw_wal_local *l, struct iovec *iov, int *niov)
{
    int rc = write_all(l->seg_fd, iov, *niov);
    *niov = 0;
    return rc;
}

/*
 * A write failed with no space in the middle of a group: cuts the segment back
 * to what the last fdatasync covered (that cut made durable too), so the
 * records from `unsynced` on are not in the log, and fails them.  KW_EIO when
 * the cut itself fails: what is on disk is unknown then.
 */
static int cut_back(kw_wal_local *l, qnode *unsynced)
{
    uint64_t first_failed = 0;
    for (qnode *n = unsynced; n; n = n->next) {
        if (n->type == REC_ENTRY && !first_failed)
            first_failed = n->id;
        n->err = KW_ENOSPC;
    }
    if (ftruncate(l->seg_fd, (off_t)l->seg_synced) < 0)
        return io_error(l, "ftruncate after a short write", errno);
    if (lseek(l->seg_fd, (off_t)l->seg_synced, SEEK_SET) < 0)
        return io_error(l, "lseek after a short write", errno);
    if (l->fdatasync_fn(l->seg_fd) < 0)
        return io_error(l, "fdatasync after cutting a short write", errno);
    l->seg_size = l->seg_synced;
    l->seg_has_entry = l->seg_has_entry_synced;
    if (l->seg_size == 0)
        l->seg_needs_marks = true; /* the cut may have taken the segment's marks snapshot */
    space_error(l, l->segs_last_first, "write", first_failed);
    return 0;
}

/*
 * Writes a group: one writev per IOV_CHUNK records, one fdatasync per segment
 * touched.  Returns 0 with each record's err set (0: durable; KW_ENOSPC: not
 * written, for want of space), or KW_EIO when the log is broken (a failed
 * fdatasync, or a write that failed for another reason: what is on disk is
 * unknown).  Once an entry fails for space every later entry of the group
 * fails too (ids stay contiguous on disk); later marks are still written when
 * they point below the failed entry (they fit in the space kept free for them).
 */
static int write_group(kw_wal_local *l, qnode *batch)
{
    struct iovec iov[IOV_CHUNK];
    int niov = 0, rc;
    uint64_t fail_id = 0; /* first entry that failed for want of space */
    qnode *unsynced = batch;
    for (qnode *n = batch; n; n = n->next)
        n->err = 0;
    for (qnode *n = batch; n; n = n->next) {
        if (fail_id && (n->type == REC_ENTRY || n->id >= fail_id)) {
            n->err = KW_ENOSPC;
            continue;
        }
        if (n->type == REC_ENTRY && l->seg_has_entry &&
            l->seg_size + n->size > l->segment_bytes) {
            if ((rc = flush_iov(l, iov, &niov)))
                goto write_failed;
            if (l->fdatasync_fn(l->seg_fd) < 0)
                return io_error(l, "fdatasync", errno);
            l->seg_synced = l->seg_size;
            l->seg_has_entry_synced = l->seg_has_entry;
            unsynced = n;
            rc = roll(l, n->id, n->size);
            if (rc == KW_ENOSPC) {
                fail_id = n->id;
                n->err = KW_ENOSPC;
                continue;
            }
            if (rc)
                return rc == KW_EIO ? rc : KW_EIO;
        }
        if (l->seg_needs_marks) {
            if ((rc = flush_iov(l, iov, &niov)) || (rc = write_marks(l)))
                goto write_failed;
        }
        /* An entry leaves KW__WAL_LOCAL_SPACE_RESERVE free behind it, for marks: a full disk
         * can still take the marks that let pruning free it. */
        uint64_t end = l->seg_size + n->size +
                       (n->type == REC_ENTRY ? KW__WAL_LOCAL_SPACE_RESERVE : 0);
        if (reserve_space(l, l->seg_fd, l->seg_size, &l->seg_reserved, end)) {
            n->err = KW_ENOSPC;
            if (n->type == REC_ENTRY) {
                fail_id = n->id;
                space_error(l, l->segs_last_first, "preallocate", fail_id);
            }
            continue;
        }
        region_ent *e = kw__wal_local_region_get(&l->wregions, n->region);
        if (!e)
            return io_error(l, "region table", ENOMEM);
        if (n->type == REC_ENTRY) {
            e->latest = n->id;
            l->seg_has_entry = true;
        } else if (n->id > e->mark) {
            e->mark = n->id;
        }
        iov[niov++] = (struct iovec){n->rec, n->size};
        l->seg_size += n->size;
        if (niov == IOV_CHUNK && (rc = flush_iov(l, iov, &niov)))
            goto write_failed;
    }
    if ((rc = flush_iov(l, iov, &niov)))
        goto write_failed;
    if (l->fdatasync_fn(l->seg_fd) < 0)
        return io_error(l, "fdatasync", errno);
    l->seg_synced = l->seg_size;
    l->seg_has_entry_synced = l->seg_has_entry;
    return 0;
write_failed:
    if (rc == -ENOMEM)
        return io_error(l, "write (out of memory)", ENOMEM);
    if (!is_space_errno(-rc))
        return io_error(l, "write", -rc);
    return cut_back(l, unsynced);
}

/* dst becomes a copy of src (same capacity, so same slots); false when out of memory. */
static bool copy_regions(region_map *dst, const region_map *src)
{
    if (dst->cap != src->cap) {
        region_ent *v = calloc(src->cap ? src->cap : 1, sizeof(*v));
        if (!v)
            return false;
        free(dst->v);
        dst->v = v;
        dst->cap = src->cap;
    }
    if (src->cap)
        memcpy(dst->v, src->v, src->cap * sizeof(*src->v));
    dst->n = src->n;
    return true;
}

/*
 * After a group in which records failed for want of space: the entries
 * queued behind it hold ids past the failed one, so they fail as well (ids on
 * disk stay contiguous), marks pointing at or past it are dropped, and the
 * next append gets the first failed id.  Under mu; the failed records are
 * put on *failed for their callbacks.
 */
static void fail_queued(kw_wal_local *l, uint64_t first_failed, qnode ***failed_tail)
{
    qnode **pp = &l->q_head;
    while (*pp) {
        qnode *n = *pp;
        if (n->type == REC_ENTRY || n->id >= first_failed) {
            *pp = n->next;
            n->next = NULL;
            n->err = KW_ENOSPC;
            l->q_bytes -= n->size;
            if (n->type == REC_ENTRY) {
                l->stats.in_flight--;
                l->stats.append_errors++;
            }
            **failed_tail = n;
            *failed_tail = &n->next;
        } else {
            pp = &n->next;
        }
    }
    l->q_tail = &l->q_head;
    while (*l->q_tail)
        l->q_tail = &(*l->q_tail)->next;
    l->next_id = first_failed;
    l->stats.buffered_bytes = l->q_bytes;
}

/* Deletes the whole segments below the prune point (see local.h).  Writer thread. */
static void prune(kw_wal_local *l)
{
    pthread_mutex_lock(&l->mu);
    l->prune_pending = false;
    uint64_t point = l->durable_id;
    for (size_t i = 0; i < l->regions.cap; i++) {
        const region_ent *e = &l->regions.v[i];
        if (e->used && e->latest > e->mark && e->mark < point)
            point = e->mark;
    }
    size_t k = 0;
    while (k + 1 < l->nsegs && l->segs[k + 1].first_id - 1 <= point)
        k++;
    uint64_t *gone = k ? malloc(k * sizeof(*gone)) : NULL;
    if (!gone) {
        pthread_mutex_unlock(&l->mu);
        return;
    }
    for (size_t i = 0; i < k; i++)
        gone[i] = l->segs[i].first_id;
    memmove(l->segs, l->segs + k, (l->nsegs - k) * sizeof(*l->segs));
    l->nsegs -= k;
    uint64_t start = l->segs[0].first_id;
    pthread_mutex_unlock(&l->mu);
    /* Replays that still have one of these open keep reading it: unlink only drops the name. */
    for (size_t i = 0; i < k; i++) {
        char name[NAME_LEN];
        kw__wal_local_seg_name(name, gone[i]);
        if (unlinkat(l->dir_fd, name, 0) < 0 && errno != ENOENT)
            kw__wal_local_log(l, KW_LOG_WARN, "%s/%s: unlink: %s", l->dir, name,
                              strerror(errno));
    }
    /* Not needed for safety (a segment that comes back is still whole), but keeps the dir tidy. */
    fsync(l->dir_fd);
    kw__wal_local_log(l, KW_LOG_INFO,
                      "%s: pruned %zu segment(s): entries below %" PRIu64 " (prune point %" PRIu64
                      ")",
                      l->dir, k, start, point);
    free(gone);
}

static void *writer_main(void *arg)
{
    kw_wal_local *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->q_head && !l->closing && !l->prune_pending)
            pthread_cond_wait(&l->work, &l->mu);
        if (!l->q_head) {
            if (l->prune_pending && !l->broken) {
                pthread_mutex_unlock(&l->mu);
                prune(l);
                pthread_mutex_lock(&l->mu);
                continue;
            }
            if (l->closing)
                break;
            l->prune_pending = false;
            continue;
        }
        qnode *batch = l->q_head;
        l->q_head = NULL;
        l->q_tail = &l->q_head;
        int err = l->broken;
        pthread_mutex_unlock(&l->mu);

        if (!err)
            err = write_group(l, batch);

        pthread_mutex_lock(&l->mu);
        size_t bytes = 0, entries = 0, entry_bytes = 0, failed = 0;
        uint64_t first_failed = 0;
        bool any_failed = false;
        for (qnode *n = batch; n; n = n->next) {
            bytes += n->size;
            if (n->type == REC_ENTRY && (err || !n->err)) {
                entries++;
                entry_bytes += n->size - HDR;
            }
            if (err)
                continue;
            if (n->err) {
                any_failed = true;
                if (n->type == REC_ENTRY) {
                    failed++;
                    if (!first_failed)
                        first_failed = n->id;
                }
                continue;
            }
            region_ent *e = kw__wal_local_region_get(&l->regions, n->region);
            if (n->type == REC_ENTRY) {
                l->durable_id = n->id;
                if (e)
                    e->latest = n->id;
            } else if (e && n->id > e->mark) {
                e->mark = n->id;
                l->prune_pending = true;
            }
        }
        qnode *late = NULL, **late_tail = &late; /* queued behind a failed entry */
        char detail[sizeof(l->errstr)];
        if (err) {
            if (!l->broken)
                l->broken = err;
            l->stats.append_errors += entries;
            snprintf(detail, sizeof(detail), "%s", l->errstr);
        } else {
            l->segs[l->nsegs - 1].bytes = l->seg_size;
            l->stats.appends += entries;
            l->stats.append_errors += failed;
            l->stats.bytes += entry_bytes;
            l->stats.batches++;
            snprintf(detail, sizeof(detail), "%s", l->errstr);
            if (first_failed)
                fail_queued(l, first_failed, &late_tail);
            if (any_failed) {
                /* The writer's view of the regions goes back to what is on disk (its marks go
                 * into the next segment's snapshot: one past the log end would be corrupt). */
                if (!copy_regions(&l->wregions, &l->regions)) {
                    l->broken = kw__wal_local_set_err(
                        l, KW_EIO, "%s: out of memory after a write that found no space", l->dir);
                }
            }
        }
        l->q_bytes -= bytes;
        l->stats.in_flight -= entries + failed;
        l->stats.buffered_bytes = l->q_bytes;
        pthread_cond_broadcast(&l->space);
        pthread_cond_broadcast(&l->durable);
        bool do_prune = !err && l->prune_pending;
        pthread_mutex_unlock(&l->mu);

        /* Durable (or failed) now: callbacks in append order. */
        for (qnode *n = batch, *next; n; n = next) {
            next = n->next;
            int rc = err ? err : n->err;
            if (n->cb)
                n->cb(n->arg, rc, rc ? 0 : n->id, rc ? detail : "");
            free(n);
        }
        for (qnode *n = late, *next; n; n = next) {
            next = n->next;
            if (n->cb)
                n->cb(n->arg, KW_ENOSPC, 0, detail);
            free(n);
        }
        if (do_prune)
            prune(l);
        pthread_mutex_lock(&l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* Open, close, append. -------------------------------------------------------- */

static void free_handle(kw_wal_local *l)
{
    if (l->seg_fd >= 0)
        close(l->seg_fd);
    if (l->lock_fd >= 0)
        close(l->lock_fd); /* drops the flock */
    if (l->dir_fd >= 0)
        close(l->dir_fd);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->work);
    pthread_cond_destroy(&l->space);
    pthread_cond_destroy(&l->durable);
    free(l->regions.v);
    free(l->wregions.v);
    free(l->segs);
    free(l->dir);
    free(l);
}

int kw__wal_local_open(kw_wal_local **out, const kw_wal_local_options *o, char *errbuf,
                       size_t errlen)
{
    *out = NULL;
    if (!o || !o->dir || !*o->dir)
        return fail(errbuf, errlen, KW_EINVAL, "dir: required for the local provider");
    kw_wal_local *l = calloc(1, sizeof(*l));
    if (!l || !(l->dir = strdup(o->dir))) {
        free(l);
        return fail(errbuf, errlen, KW_ENOMEM, "out of memory");
    }
    l->dir_fd = l->lock_fd = l->seg_fd = -1;
    l->segment_bytes = o->segment_bytes ? o->segment_bytes : KW__WAL_LOCAL_DEFAULT_SEGMENT;
    l->max_buffered = o->max_buffered_bytes ? o->max_buffered_bytes : (size_t)64 << 20;
    l->fail_fast = o->append_fail_fast;
    l->fdatasync_fn = o->fdatasync_fn ? o->fdatasync_fn : fdatasync;
    l->no_prealloc = o->no_prealloc;
    l->log = o->log;
    l->log_arg = o->log_arg;
    l->q_tail = &l->q_head;
    pthread_mutex_init(&l->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->work, NULL);
    pthread_cond_init(&l->space, NULL);
    pthread_cond_init(&l->durable, &ca);
    pthread_condattr_destroy(&ca);

    int rc;
    if (mkdir(l->dir, 0755) == 0) {
        /* Make the new directory's own name durable. */
        char *parent = strdup(l->dir);
        if (parent) {
            char *slash = strrchr(parent, '/');
            const char *pd = slash ? (slash == parent ? "/" : (*slash = 0, parent)) : ".";
            int pfd = open(pd, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (pfd >= 0) {
                fsync(pfd);
                close(pfd);
            }
            free(parent);
        }
    } else if (errno != EEXIST) {
        rc = fail(errbuf, errlen, KW_EIO, "dir: %s: mkdir: %s", l->dir, strerror(errno));
        goto err;
    }
    l->dir_fd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (l->dir_fd < 0) {
        rc = fail(errbuf, errlen, KW_EIO, "dir: %s: %s", l->dir, strerror(errno));
        goto err;
    }
    l->lock_fd = openat(l->dir_fd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (l->lock_fd < 0) {
        rc = fail(errbuf, errlen, KW_EIO, "%s/LOCK: %s", l->dir, strerror(errno));
        goto err;
    }
    if (flock(l->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        rc = errno == EWOULDBLOCK
                 ? fail(errbuf, errlen, KW_EAGAIN, "%s/LOCK: the log is open in another handle",
                        l->dir)
                 : fail(errbuf, errlen, KW_EIO, "%s/LOCK: flock: %s", l->dir, strerror(errno));
        goto err;
    }
    if ((rc = recover(l, errbuf, errlen)))
        goto err;
    l->prune_pending = true; /* marks read back may allow pruning now */
    if ((rc = pthread_create(&l->writer, NULL, writer_main, l))) {
        rc = fail(errbuf, errlen, KW_ENOMEM, "starting the writer thread: %s", strerror(rc));
        goto err;
    }
    l->writer_started = true;
    *out = l;
    return 0;
err:
    free_handle(l);
    return rc;
}

void kw__wal_local_close(kw_wal_local *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->closing = true;
    pthread_cond_broadcast(&l->work);
    pthread_cond_broadcast(&l->space);
    pthread_mutex_unlock(&l->mu);
    if (l->writer_started)
        pthread_join(l->writer, NULL);
    free_handle(l);
}

int kw__wal_local_can_block(const kw_wal_local *l)
{
    return pthread_equal(pthread_self(), l->writer) ? KW_EDEADLK : 0;
}

const char *kw__wal_local_errstr(const kw_wal_local *l)
{
    return l->errstr;
}

int kw__wal_local_set_err(kw_wal_local *l, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->errstr, sizeof(l->errstr), fmt, ap);
    va_end(ap);
    return err;
}

/* Puts n at the tail under mu (caller holds it). */
static void enqueue(kw_wal_local *l, qnode *n)
{
    n->next = NULL;
    *l->q_tail = n;
    l->q_tail = &n->next;
    l->q_bytes += n->size;
    l->stats.buffered_bytes = l->q_bytes;
    pthread_cond_signal(&l->work);
}

int kw__wal_local_append(kw_wal_local *l, uint64_t region, const void *data, size_t len,
                         kw_wal_append_cb *cb, void *arg)
{
    if (len && !data)
        return KW_EINVAL;
    if (len > KW__WAL_LOCAL_MAX_ENTRY)
        return KW_ETOOBIG;
    qnode *n = malloc(sizeof(*n) + HDR + len);
    if (!n)
        return KW_ENOMEM;
    n->cb = cb;
    n->arg = arg;
    n->type = REC_ENTRY;
    n->region = region;
    n->size = HDR + len;
    if (len)
        memcpy(n->rec + HDR, data, len);
    put32(n->rec + 4, (uint32_t)len);
    put32(n->rec + 8, REC_ENTRY);
    put64(n->rec + 12, region);
    uint32_t pcrc = kw__crc32c(0, n->rec + HDR, len); /* outside the lock */

    pthread_mutex_lock(&l->mu);
    int rc = 0;
    bool on_writer = l->writer_started && pthread_equal(pthread_self(), l->writer);
    for (;;) {
        if (l->closing) {
            rc = kw__wal_local_set_err(l, KW_ECLOSED, "append: the log is closing");
            break;
        }
        if (l->broken) {
            rc = KW_EIO; /* errstr already says what failed */
            break;
        }
        if (!l->q_bytes || l->q_bytes + n->size <= l->max_buffered)
            break;
        if (l->fail_fast || on_writer) {
            rc = kw__wal_local_set_err(l, KW_EAGAIN,
                                       "append: %zu bytes queued, max_buffered_bytes is %zu",
                         l->q_bytes, l->max_buffered);
            break;
        }
        pthread_cond_wait(&l->space, &l->mu);
    }
    if (rc) {
        pthread_mutex_unlock(&l->mu);
        free(n);
        return rc;
    }
    n->id = l->next_id++;
    put64(n->rec + 20, n->id);
    put32(n->rec, kw__crc32c(pcrc, n->rec + 4, HDR - 4));
    l->stats.in_flight++;
    enqueue(l, n);
    pthread_mutex_unlock(&l->mu);
    return 0;
}

int kw__wal_local_obsolete(kw_wal_local *l, uint64_t region, uint64_t entry_id)
{
    qnode *n = malloc(sizeof(*n) + HDR + 8);
    if (!n)
        return KW_ENOMEM;
    pthread_mutex_lock(&l->mu);
    if (entry_id >= l->next_id) {
        int rc = kw__wal_local_set_err(l, KW_EINVAL,
                         "obsolete: entry id %" PRIu64 " is past the last one given (%" PRIu64 ")",
                         entry_id, l->next_id - 1);
        pthread_mutex_unlock(&l->mu);
        free(n);
        return rc;
    }
    const region_ent *e = kw__wal_local_region_find(&l->regions, region);
    if (entry_id == 0 || (e && e->mark >= entry_id) || l->closing || l->broken) {
        int rc = l->closing ? KW_ECLOSED : l->broken ? KW_EIO : 0;
        pthread_mutex_unlock(&l->mu);
        free(n);
        return rc;
    }
    n->cb = NULL;
    n->arg = NULL;
    n->type = REC_MARK;
    n->region = region;
    n->id = entry_id;
    n->size = HDR + 8;
    put32(n->rec + 4, 8);
    put32(n->rec + 8, REC_MARK);
    put64(n->rec + 12, region);
    put64(n->rec + 20, entry_id);
    put64(n->rec + HDR, e ? e->latest : 0);
    put32(n->rec, rec_crc(n->rec, n->rec + HDR, 8));
    enqueue(l, n);
    pthread_mutex_unlock(&l->mu);
    return 0;
}

int kw__wal_local_latest(kw_wal_local *l, uint64_t region, uint64_t *out)
{
    pthread_mutex_lock(&l->mu);
    const region_ent *e = kw__wal_local_region_find(&l->regions, region);
    *out = e ? e->latest : 0;
    pthread_mutex_unlock(&l->mu);
    return 0;
}

void kw__wal_local_stats(kw_wal_local *l, kw_wal_stats *out)
{
    pthread_mutex_lock(&l->mu);
    *out = l->stats;
    pthread_mutex_unlock(&l->mu);
    out->replayed_entries = __atomic_load_n(&l->replayed_entries, __ATOMIC_RELAXED);
    out->replayed_bytes = __atomic_load_n(&l->replayed_bytes, __ATOMIC_RELAXED);
}

size_t kw__wal_local_segments(kw_wal_local *l, uint64_t *ids, size_t max)
{
    pthread_mutex_lock(&l->mu);
    size_t n = l->nsegs;
    for (size_t i = 0; i < n && i < max; i++)
        ids[i] = l->segs[i].first_id;
    pthread_mutex_unlock(&l->mu);
    return n;
}

size_t kw__wal_local_regions(kw_wal_local *l, kw_wal_region_info *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&l->mu);
    for (size_t i = 0; i < l->regions.cap; i++) {
        const region_ent *e = &l->regions.v[i];
        if (!e->used)
            continue;
        if (n < max)
            out[n] = (kw_wal_region_info){e->region, e->latest, e->mark};
        n++;
    }
    pthread_mutex_unlock(&l->mu);
    return n;
}
