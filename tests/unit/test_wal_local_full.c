/* Local WAL faults: a full disk (a tmpfs of 2 MiB), a failed fsync, and recovery checks of obsolete marks. */
/*
 * CK_RUN_CASE=recovery: no privileges needed.  CK_RUN_CASE=full mounts a
 * tmpfs of its own (root: CAP_SYS_ADMIN) and unmounts it whatever happens;
 * without the right to mount it exits 77 saying so.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "kwal/wal.h"
#include "proto/crc32c.h"
#include "wal/local.h"

static char mnt[64]; /* the tmpfs of the "full" case */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static char *new_dir(void)
{
    char *d = strdup("/tmp/kwal-wal-full-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(d));
    return d;
}

/* A payload that says which (region, seq) it is; 600-2600 bytes. */
static size_t make_payload(uint8_t *buf, uint64_t region, uint64_t seq)
{
    size_t len = 600 + (size_t)((seq * 7919 + region * 31) % 2000);
    memcpy(buf, &region, 8);
    memcpy(buf + 8, &seq, 8);
    for (size_t i = 16; i < len; i++)
        buf[i] = (uint8_t)(region * 13 + seq * 7 + i);
    return len;
}

static kw_wal *open_local(const char *dir, size_t segment_bytes)
{
    kw_wal_options o = {.provider = KW_WAL_PROVIDER_LOCAL, .dir = dir, .segment_bytes = segment_bytes};
    char err[512];
    kw_wal *w = NULL;
    int rc = kw_wal_open(&w, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "open %s: %s: %s", dir, kw_err_name(rc), err);
    return w;
}

static void seg_path(char *out, size_t n, const char *dir, uint64_t first_id)
{
    snprintf(out, n, "%s/%020llu.wal", dir, (unsigned long long)first_id);
}

/* Recovery: an obsolete mark past the log end. -------------------------------- */

/* Rewrites the last record of a segment (a mark) with another id or latest, CRC made good again. */
static void patch_last_mark(const char *path, uint64_t id, uint64_t latest)
{
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    uint8_t rec[KW__WAL_LOCAL_HDR + 8];
    off_t off = st.st_size - (off_t)sizeof(rec);
    ck_assert_int_eq(pread(fd, rec, sizeof(rec), off), (ssize_t)sizeof(rec));
    ck_assert_uint_eq(rec[8], 2); /* a mark */
    for (int i = 0; i < 8; i++) {
        rec[20 + i] = (uint8_t)(id >> (8 * i));
        rec[KW__WAL_LOCAL_HDR + i] = (uint8_t)(latest >> (8 * i));
    }
    uint32_t crc = kw__crc32c(kw__crc32c(0, rec + KW__WAL_LOCAL_HDR, 8), rec + 4,
                              KW__WAL_LOCAL_HDR - 4);
    for (int i = 0; i < 4; i++)
        rec[i] = (uint8_t)(crc >> (8 * i));
    ck_assert_int_eq(pwrite(fd, rec, sizeof(rec), off), (ssize_t)sizeof(rec));
    close(fd);
}

START_TEST(obsolete_mark_past_the_log_end_is_refused_at_open)
{
    /* _i 0: the mark's id past the end; 1: the latest id it carries past the end. */
    char *dir = new_dir();
    kw_wal *w = open_local(dir, 0);
    uint8_t buf[4096];
    uint64_t id = 0;
    for (uint64_t s = 0; s < 3; s++)
        ck_assert_int_eq(kw_wal_append_sync(w, 7, buf, make_payload(buf, 7, s), &id), 0);
    ck_assert_uint_eq(id, 3);
    ck_assert_int_eq(kw_wal_obsolete(w, 7, 2), 0);
    kw_wal_close(w); /* close writes what is queued: the mark is the segment's last record */
    char path[600];
    seg_path(path, sizeof(path), dir, 1);
    if (_i == 0)
        patch_last_mark(path, 9, 3);
    else
        patch_last_mark(path, 2, 9);

    /* Taken as is, that mark would make entries 4..9 obsolete before they are even appended,
     * and pruning would delete them once acknowledged. */
    kw_wal_options o = {.provider = KW_WAL_PROVIDER_LOCAL, .dir = dir};
    char err[512] = "";
    kw_wal *w2 = NULL;
    int rc = kw_wal_open(&w2, &o, err, sizeof(err));
    if (rc == 0)
        kw_wal_close(w2);
    ck_assert_msg(rc == KW_ECORRUPT, "open gave %s (%s), want KW_ECORRUPT", kw_err_name(rc), err);
    ck_assert_msg(strstr(err, "00000000000000000001.wal") && strstr(err, "past the log end 3"),
                  "%s", err);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}
END_TEST

START_TEST(empty_last_segment_after_a_crash_gets_the_marks_snapshot)
{
    /* A crash right after a roll leaves the new segment empty: no snapshot of the marks.  The
     * writer must put it there before the segment's first record, or deleting the older
     * segments (pruning) would lose the marks they alone hold. */
    char *dir = new_dir();
    kw_wal *w = open_local(dir, 4096);
    uint8_t buf[4096];
    uint64_t id = 0;
    for (uint64_t s = 0; s < 12; s++)
        ck_assert_int_eq(kw_wal_append_sync(w, 1 + s % 2, buf, make_payload(buf, 1 + s % 2, s), &id),
                         0);
    ck_assert_int_eq(kw_wal_obsolete(w, 1, 3), 0);
    ck_assert_int_eq(kw_wal_append_sync(w, 2, buf, 100, &id), 0); /* the mark is durable */
    kw_wal_close(w);
    char path[600];
    seg_path(path, sizeof(path), dir, id + 1);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644); /* the crash: created, nothing in it */
    ck_assert_int_ge(fd, 0);
    close(fd);

    w = open_local(dir, 4096);
    uint64_t next;
    ck_assert_int_eq(kw_wal_append_sync(w, 2, buf, 100, &next), 0);
    ck_assert_uint_eq(next, id + 1);
    uint64_t segs[64];
    size_t n = kw_wal_segments(w, segs, 64);
    ck_assert_uint_eq(segs[n - 1], id + 1);
    kw_wal_close(w);
    /* Only that segment left, as pruning would leave it: the mark is still known. */
    for (size_t i = 0; i + 1 < n; i++) {
        seg_path(path, sizeof(path), dir, segs[i]);
        ck_assert_int_eq(unlink(path), 0);
    }
    w = open_local(dir, 4096);
    kw_wal_region_info ri[4];
    size_t nr = kw_wal_regions(w, ri, 4);
    uint64_t mark = 0;
    for (size_t i = 0; i < nr; i++)
        if (ri[i].region_id == 1)
            mark = ri[i].obsolete_entry_id;
    ck_assert_uint_eq(mark, 3);
    kw_wal_close(w);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}
END_TEST

/* A failed fsync: the log goes read-only, replays go on, a reopen writes again. ---- */

static int fsync_calls, fsync_fail_at;
static int failing_fdatasync(int fd)
{
    if (++fsync_calls >= fsync_fail_at) {
        errno = EIO;
        return -1;
    }
    return fdatasync(fd);
}

typedef struct result {
    int err;
    uint64_t id;
    char detail[600];
    int done;
} result;

static void on_result(void *arg, int err, uint64_t id, const char *detail)
{
    result *r = arg;
    r->err = err;
    r->id = id;
    snprintf(r->detail, sizeof(r->detail), "%s", detail);
    __atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
}

static void wait_done(result *r)
{
    for (int i = 0; i < 20000 && !__atomic_load_n(&r->done, __ATOMIC_ACQUIRE); i++)
        usleep(500);
    ck_assert_msg(__atomic_load_n(&r->done, __ATOMIC_ACQUIRE), "no callback in 10 s");
}

/* Replays region from `from`; checks every entry's bytes; returns how many; ids[] gets them. */
static size_t replay_region(kw_wal *w, uint64_t region, uint64_t from, uint64_t *ids,
                            uint64_t *seqs, size_t max)
{
    kw_wal_replay *r = NULL;
    int rc = kw_wal_replay_open(w, region, from, 0, &r);
    ck_assert_msg(rc == 0, "replay open: %s: %s", kw_err_name(rc), kw_wal_errstr(w));
    size_t n = 0;
    uint64_t id;
    const uint8_t *data;
    size_t len;
    uint8_t want[4096];
    while ((rc = kw_wal_replay_next(r, &id, &data, &len, 0)) == 1) {
        uint64_t reg, seq;
        ck_assert_uint_ge(len, 16);
        memcpy(&reg, data, 8);
        memcpy(&seq, data + 8, 8);
        ck_assert_uint_eq(reg, region);
        ck_assert_uint_eq(len, make_payload(want, region, seq));
        ck_assert_mem_eq(data, want, len);
        if (n < max) {
            ids[n] = id;
            seqs[n] = seq;
        }
        n++;
    }
    ck_assert_msg(rc == 0, "replay: %s: %s", kw_err_name(rc), kw_wal_replay_errstr(r));
    kw_wal_replay_close(r);
    return n;
}

START_TEST(failed_fsync_makes_the_log_read_only_and_a_reopen_recovers)
{
    char *dir = new_dir();
    fsync_calls = 0;
    fsync_fail_at = 6; /* five groups go through */
    kw_wal_local *l = NULL;
    kw_wal_local_options lo = {.dir = dir, .fdatasync_fn = failing_fdatasync};
    char err[512];
    ck_assert_int_eq(kw__wal_local_open(&l, &lo, err, sizeof(err)), 0);
    uint8_t buf[4096];
    result r[8] = {0};
    for (int i = 0; i < 5; i++) { /* one at a time: one group, one fsync each */
        ck_assert_int_eq(kw__wal_local_append(l, 1, buf, make_payload(buf, 1, (uint64_t)i),
                                              on_result, &r[i]),
                         0);
        wait_done(&r[i]);
        ck_assert_int_eq(r[i].err, 0);
        ck_assert_uint_eq(r[i].id, (uint64_t)i + 1);
    }
    ck_assert_int_eq(kw__wal_local_append(l, 1, buf, make_payload(buf, 1, 5), on_result, &r[5]), 0);
    wait_done(&r[5]);
    ck_assert_int_eq(r[5].err, KW_EIO);
    ck_assert_msg(strstr(r[5].detail, "fdatasync") && strstr(r[5].detail, "reopened"), "%s",
                  r[5].detail);
    /* Read-only now: appends and marks refused at once, with the same words. */
    ck_assert_int_eq(kw__wal_local_append(l, 1, buf, make_payload(buf, 1, 6), on_result, &r[6]),
                     KW_EIO);
    ck_assert_msg(strstr(kw__wal_local_errstr(l), "fdatasync"), "%s", kw__wal_local_errstr(l));
    ck_assert_int_eq(kw__wal_local_obsolete(l, 1, 2), KW_EIO);
    kw__wal_local_close(l);

    /* Reopened (fsync works again): the five acknowledged entries, maybe the unknown sixth. */
    kw_wal *w = open_local(dir, 0);
    uint64_t ids[16], seqs[16];
    size_t n = replay_region(w, 1, 1, ids, seqs, 16);
    ck_assert_msg(n == 5 || n == 6, "%zu entries after reopen", n);
    for (size_t i = 0; i < 5; i++)
        ck_assert_uint_eq(ids[i], i + 1);
    uint64_t id;
    ck_assert_int_eq(kw_wal_append_sync(w, 1, buf, make_payload(buf, 1, 7), &id), 0);
    ck_assert_uint_eq(id, n + 1);
    kw_wal_close(w);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}
END_TEST

/* A full disk. ------------------------------------------------------------------ */

enum { REGIONS = 4, MAX_APPENDS = 6000, SEGMENT = 128 << 10 };

typedef struct book {
    result r[MAX_APPENDS];
    uint64_t region[MAX_APPENDS], seq[MAX_APPENDS];
    size_t n;
    int said_first_failure;
} book;

/* The public append, or the provider's own (for options the public API does not have). */
typedef int append_fn(void *h, uint64_t region, const void *data, size_t len, kw_wal_append_cb *cb,
                      void *arg);
static int public_append(void *h, uint64_t region, const void *data, size_t len,
                         kw_wal_append_cb *cb, void *arg)
{
    return kw_wal_append(h, region, data, len, cb, arg);
}
static int provider_append(void *h, uint64_t region, const void *data, size_t len,
                           kw_wal_append_cb *cb, void *arg)
{
    return kw__wal_local_append(h, region, data, len, cb, arg);
}

/* Appends in groups of 32 (so groups fail part-way) until `want_fails` appends in a row failed. */
static void fill_with(append_fn *append, void *w, book *b, int want_fails, size_t *acked,
                      size_t *failed)
{
    uint8_t buf[4096];
    int in_a_row = 0;
    while (in_a_row < want_fails && b->n + 32 <= MAX_APPENDS) {
        size_t start = b->n;
        for (int k = 0; k < 32; k++) {
            size_t i = b->n++;
            b->region[i] = i % REGIONS;
            b->seq[i] = i;
            ck_assert_int_eq(append(w, b->region[i], buf,
                                           make_payload(buf, b->region[i], b->seq[i]), on_result,
                                           &b->r[i]),
                             0);
        }
        for (size_t i = start; i < b->n; i++) {
            wait_done(&b->r[i]);
            if (b->r[i].err == 0) {
                (*acked)++;
                in_a_row = 0;
                continue;
            }
            if (!b->said_first_failure++)
                fprintf(stderr, "full: first failure: %s: %s\n", kw_err_name(b->r[i].err),
                        b->r[i].detail);
            (*failed)++;
            in_a_row++;
            ck_assert_msg(b->r[i].err == KW_ENOSPC, "append %zu: %s: %s", i,
                          kw_err_name(b->r[i].err), b->r[i].detail);
            ck_assert_msg(strstr(b->r[i].detail, mnt) && strstr(b->r[i].detail, "ENOSPC") &&
                              strstr(b->r[i].detail, ".wal"),
                          "detail: %s", b->r[i].detail);
        }
    }
    ck_assert_int_ge(in_a_row, want_fails);
}

static void fill_until_full(kw_wal *w, book *b, int want_fails, size_t *acked, size_t *failed)
{
    fill_with(public_append, w, b, want_fails, acked, failed);
}

/*
 * Every acknowledged entry above each region's mark is in the log, byte for
 * byte, in id order; no entry that failed is; acknowledged ids run 1.. without
 * a gap (a failed id is given again).
 */
static void check_log(kw_wal *w, const book *b, const uint64_t *marks)
{
    static uint64_t ids[MAX_APPENDS], seqs[MAX_APPENDS];
    for (uint64_t reg = 0; reg < REGIONS; reg++) {
        size_t n = replay_region(w, reg, marks[reg] + 1, ids, seqs, MAX_APPENDS);
        size_t k = 0;
        for (size_t i = 0; i < b->n; i++) {
            if (b->region[i] != reg || b->r[i].err || b->r[i].id <= marks[reg])
                continue;
            ck_assert_msg(k < n, "region %llu: acknowledged entry %llu missing",
                          (unsigned long long)reg, (unsigned long long)b->r[i].id);
            ck_assert_uint_eq(ids[k], b->r[i].id);
            ck_assert_uint_eq(seqs[k], b->seq[i]);
            k++;
        }
        ck_assert_msg(k == n, "region %llu: %zu entries in the log, %zu acknowledged",
                      (unsigned long long)reg, n, k);
    }
}

static uint64_t free_bytes(void)
{
    struct statvfs sv;
    ck_assert_int_eq(statvfs(mnt, &sv), 0);
    return (uint64_t)sv.f_bavail * sv.f_frsize;
}

START_TEST(full_disk_fails_appends_clearly_loses_nothing_and_recovers)
{
    static book b;
    memset(&b, 0, sizeof(b));
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/wal", mnt);
    kw_wal *w = open_local(dir, SEGMENT);
    size_t acked = 0, failed = 0;
    fill_until_full(w, &b, 64, &acked, &failed);
    fprintf(stderr, "full: %zu appends acknowledged, %zu failed with KW_ENOSPC, %llu bytes free\n",
            acked, failed, (unsigned long long)free_bytes());
    ck_assert_uint_gt(acked, 300); /* ~1.6 KiB entries in 2 MiB */
    kw_wal_stats st;
    kw_wal_stats_get(w, &st);
    ck_assert_uint_eq(st.appends, acked);
    ck_assert_uint_eq(st.append_errors, failed);
    ck_assert_uint_eq(st.in_flight, 0);

    /* Full, still serving: every acknowledged entry replays, none that failed; ids 1..acked. */
    uint64_t marks[REGIONS] = {0};
    check_log(w, &b, marks);
    uint64_t latest_all = 0;
    for (uint64_t reg = 0; reg < REGIONS; reg++) {
        uint64_t latest;
        ck_assert_int_eq(kw_wal_latest_entry_id(w, reg, &latest), 0);
        latest_all = latest > latest_all ? latest : latest_all;
    }
    ck_assert_uint_eq(latest_all, acked);

    /* A restart while full: nothing acknowledged missing, and still full. */
    kw_wal_close(w);
    w = open_local(dir, SEGMENT);
    check_log(w, &b, marks);
    size_t more_acked = 0, more_failed = 0;
    fill_until_full(w, &b, 8, &more_acked, &more_failed);
    acked += more_acked;
    fprintf(stderr,
            "full: restarted on the full disk: every acknowledged entry replayed; %zu more "
            "acknowledged, then %zu failed with KW_ENOSPC again\n",
            more_acked, more_failed);

    /* A crash in a short write on the full disk: a record's first half, then garbage until
     * ENOSPC, left at the end of the last segment.  Recovery cuts it; nothing acknowledged lost. */
    uint64_t segs[256];
    size_t nsegs = kw_wal_segments(w, segs, 256);
    ck_assert_uint_gt(nsegs, 3);
    kw_wal_close(w);
    char path[600];
    seg_path(path, sizeof(path), dir, segs[nsegs - 1]);
    int fd = open(path, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    uint8_t junk[4096];
    memset(junk, 0x5a, sizeof(junk));
    memset(junk, 0, 4); /* a zero CRC: never a good record */
    ssize_t wrote;
    size_t torn = 0;
    while ((wrote = write(fd, junk, sizeof(junk))) > 0)
        torn += (size_t)wrote;
    ck_assert_int_eq(errno, ENOSPC);
    close(fd);
    w = open_local(dir, SEGMENT);
    check_log(w, &b, marks);
    fprintf(stderr,
            "full: a torn tail of %zu bytes written to the last segment until ENOSPC: cut at the "
            "restart, every acknowledged entry replayed\n",
            torn);

    /* Free space: every region marks all it has obsolete (the marks fit in the space kept for
     * them), pruning deletes all segments but the last, and appends work again. */
    for (uint64_t reg = 0; reg < REGIONS; reg++) {
        ck_assert_int_eq(kw_wal_latest_entry_id(w, reg, &marks[reg]), 0);
        ck_assert_int_eq(kw_wal_obsolete(w, reg, marks[reg]), 0);
    }
    /* The writer drops pruned segments from its list first and unlinks them after: wait for
     * both (bounded). */
    for (int i = 0; i < 4000; i++) {
        if (kw_wal_segments(w, segs, 256) == 1 && free_bytes() > 1 << 20)
            break;
        usleep(1000);
    }
    ck_assert_uint_eq(kw_wal_segments(w, segs, 256), 1);
    uint64_t freed = free_bytes();
    fprintf(stderr, "full: obsolete marks on the full disk: pruned to one segment, %llu bytes free\n",
            (unsigned long long)freed);
    ck_assert_uint_gt(freed, 1 << 20);
    size_t before = b.n;
    uint8_t buf[4096];
    for (int k = 0; k < 200; k++) {
        size_t i = b.n++;
        b.region[i] = i % REGIONS;
        b.seq[i] = i;
        uint64_t id;
        int rc = kw_wal_append_sync(w, b.region[i], buf, make_payload(buf, b.region[i], b.seq[i]),
                                    &id);
        ck_assert_msg(rc == 0, "append after freeing space: %s: %s", kw_err_name(rc),
                      kw_wal_errstr(w));
        b.r[i] = (result){.err = 0, .id = id, .done = 1};
    }
    ck_assert_uint_eq(b.r[before].id, acked + 1); /* the ids go on where the acknowledged ones end */
    check_log(w, &b, marks);
    fprintf(stderr, "full: 200 appends acknowledged again (ids %llu..%llu), no reopen\n",
            (unsigned long long)b.r[before].id, (unsigned long long)b.r[b.n - 1].id);

    /* And a last restart: the marks held, the new entries there. */
    kw_wal_close(w);
    w = open_local(dir, SEGMENT);
    check_log(w, &b, marks);
    fprintf(stderr, "full: restarted: every acknowledged entry above the marks replayed\n");
    kw_wal_close(w);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
END_TEST

START_TEST(short_writes_without_fallocate_are_cut_back)
{
    /* A filesystem without fallocate: the writes themselves run into ENOSPC part-way through a
     * group; the writer cuts the segment back to its last fdatasync and fails the rest. */
    static book b;
    memset(&b, 0, sizeof(b));
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/wal-noprealloc", mnt);
    kw_wal_local *l = NULL;
    kw_wal_local_options lo = {.dir = dir, .segment_bytes = SEGMENT, .no_prealloc = true};
    char err[512];
    ck_assert_int_eq(kw__wal_local_open(&l, &lo, err, sizeof(err)), 0);
    size_t acked = 0, failed = 0;
    fill_with(provider_append, l, &b, 64, &acked, &failed);
    fprintf(stderr,
            "full, no fallocate: %zu acknowledged, %zu failed with KW_ENOSPC (short writes cut "
            "back)\n",
            acked, failed);
    ck_assert_uint_gt(acked, 300);
    /* Every segment holds whole records only: its size is what the writer made durable. */
    uint64_t segs[256];
    size_t nsegs = kw__wal_local_segments(l, segs, 256);
    kw__wal_local_close(l);
    kw_wal *w = open_local(dir, SEGMENT);
    ck_assert_uint_eq(kw_wal_segments(w, segs, 256), nsegs);
    uint64_t marks[REGIONS] = {0};
    check_log(w, &b, marks);
    uint64_t latest_all = 0;
    for (uint64_t reg = 0; reg < REGIONS; reg++) {
        uint64_t latest;
        ck_assert_int_eq(kw_wal_latest_entry_id(w, reg, &latest), 0);
        latest_all = latest > latest_all ? latest : latest_all;
    }
    ck_assert_uint_eq(latest_all, acked);
    kw_wal_close(w);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("wal_local_full");
    TCase *tc = tcase_create("recovery");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, obsolete_mark_past_the_log_end_is_refused_at_open, 0, 2);
    tcase_add_test(tc, failed_fsync_makes_the_log_read_only_and_a_reopen_recovers);
    tcase_add_test(tc, empty_last_segment_after_a_crash_gets_the_marks_snapshot);
    suite_add_tcase(s, tc);
    tc = tcase_create("full");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, full_disk_fails_appends_clearly_loses_nothing_and_recovers);
    tcase_add_test(tc, short_writes_without_fallocate_are_cut_back);
    suite_add_tcase(s, tc);
    return s;
}

/* A test runner that times out sends SIGTERM: the tmpfs goes with the process all the same. */
static void on_term(int sig)
{
    umount2(mnt, MNT_DETACH);
    rmdir(mnt);
    signal(sig, SIG_DFL);
    raise(sig);
}

int main(void)
{
    const char *only = getenv("CK_RUN_CASE");
    bool full = only && !strcmp(only, "full");
    if (full) {
        snprintf(mnt, sizeof(mnt), "/tmp/kwal-tmpfs-XXXXXX");
        if (!mkdtemp(mnt)) {
            perror("mkdtemp");
            return EXIT_FAILURE;
        }
        if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=2m") != 0) {
            int e = errno;
            rmdir(mnt);
            fprintf(stderr,
                    "skipped: the full-disk case mounts a 2 MiB tmpfs and cannot: mount: %s "
                    "(it needs root, CAP_SYS_ADMIN)\n",
                    strerror(e));
            return 77;
        }
        signal(SIGTERM, on_term);
        signal(SIGINT, on_term);
    }
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (full) {
        if (umount2(mnt, MNT_DETACH) != 0)
            fprintf(stderr, "umount %s: %s\n", mnt, strerror(errno));
        rmdir(mnt);
    }
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
