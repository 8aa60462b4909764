/* Unit tests of the local WAL provider through the public API: ids, durability order, recovery, pruning, crashes. */
#include <check.h>
#include <stdatomic.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kwal/wal.h"
#include "wal/local.h"

/* Helpers. -------------------------------------------------------------------- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void rm_rf(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *new_dir(void)
{
    char *d = strdup("/tmp/kwal-wal-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(d));
    return d;
}

static kw_wal *open_wal(const char *dir, size_t segment_bytes)
{
    kw_wal_options o = {
        .provider = KW_WAL_PROVIDER_LOCAL, .dir = dir, .segment_bytes = segment_bytes};
    char err[512];
    kw_wal *w = NULL;
    int rc = kw_wal_open(&w, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "open %s: %s: %s", dir, kw_err_name(rc), err);
    return w;
}

/* A payload that says which (region, seq) it is and has a length that varies. */
static size_t make_payload(uint8_t *buf, uint64_t region, uint64_t seq)
{
    size_t len = 16 + (size_t)((seq * 7919 + region * 31) % 200);
    memcpy(buf, &region, 8);
    memcpy(buf + 8, &seq, 8);
    for (size_t i = 16; i < len; i++)
        buf[i] = (uint8_t)(region * 13 + seq * 7 + i);
    return len;
}

static uint64_t append_sync(kw_wal *w, uint64_t region, uint64_t seq)
{
    uint8_t buf[256];
    size_t len = make_payload(buf, region, seq);
    uint64_t id = 0;
    int rc = kw_wal_append_sync(w, region, buf, len, &id);
    ck_assert_msg(rc == 0, "append: %s: %s", kw_err_name(rc), kw_wal_errstr(w));
    return id;
}

/* Checks that an entry is exactly the payload of (region, seq); returns seq. */
static uint64_t check_payload(uint64_t region, const uint8_t *data, size_t len)
{
    ck_assert_uint_ge(len, 16);
    uint64_t r, seq;
    memcpy(&r, data, 8);
    memcpy(&seq, data + 8, 8);
    ck_assert_uint_eq(r, region);
    uint8_t want[256];
    ck_assert_uint_eq(len, make_payload(want, region, seq));
    ck_assert_mem_eq(data, want, len);
    return seq;
}

/* Replays region from `from` and returns how many entries came; ids[] gets them. */
static size_t replay_ids(kw_wal *w, uint64_t region, uint64_t from, uint64_t *ids, size_t max)
{
    kw_wal_replay *r = NULL;
    ck_assert_int_eq(kw_wal_replay_open(w, region, from, 0, &r), 0);
    size_t n = 0;
    uint64_t id;
    const uint8_t *data;
    size_t len;
    int rc;
    while ((rc = kw_wal_replay_next(r, &id, &data, &len, 0)) == 1) {
        check_payload(region, data, len);
        ck_assert_uint_ge(id, from);
        if (n < max)
            ids[n] = id;
        n++;
    }
    ck_assert_msg(rc == 0, "replay: %s: %s", kw_err_name(rc), kw_wal_replay_errstr(r));
    kw_wal_replay_close(r);
    return n;
}

static size_t count_segments(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "ls %s | grep -c '\\.wal$'", dir);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    unsigned n = 0;
    ck_assert_int_eq(fscanf(f, "%u", &n), 1);
    pclose(f);
    return n;
}

static void seg_path(char *out, size_t n, const char *dir, uint64_t first_id)
{
    snprintf(out, n, "%s/%020llu.wal", dir, (unsigned long long)first_id);
}

static size_t file_size(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return (size_t)st.st_size;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Round trip. ---------------------------------------------------------------- */

#define NREG 16
#define NENT 4000

typedef struct order_log {
    pthread_mutex_t mu;
    kw_wal *w;
    uint64_t ids[NENT];
    uint64_t regions[NENT];
    size_t n;
    int errors;
    int not_yet_latest; /* a callback that fired before latest_entry_id showed its id */
} order_log;

typedef struct cb_arg {
    order_log *log;
    uint64_t region;
    size_t index;
} cb_arg;

static void on_append(void *arg, int err, uint64_t id, const char *detail)
{
    cb_arg *a = arg;
    order_log *l = a->log;
    uint64_t latest = 0;
    kw_wal_latest_entry_id(l->w, a->region, &latest);
    pthread_mutex_lock(&l->mu);
    if (err)
        l->errors++;
    if (latest < id)
        l->not_yet_latest++;
    ck_assert_uint_eq(a->index, l->n); /* callbacks come in append order */
    l->ids[l->n] = id;
    l->regions[l->n] = a->region;
    l->n++;
    pthread_mutex_unlock(&l->mu);
}

START_TEST(ids_count_from_one_and_callbacks_fire_in_order_after_durability)
{
    char *dir = new_dir();
    kw_wal *w = open_wal(dir, 64 * 1024);
    static order_log log;
    memset(&log, 0, sizeof(log));
    pthread_mutex_init(&log.mu, NULL);
    log.w = w;
    static cb_arg args[NENT];
    uint8_t buf[256];
    for (size_t i = 0; i < NENT; i++) {
        uint64_t region = (i * 7) % NREG;
        args[i] = (cb_arg){&log, region, i};
        size_t len = make_payload(buf, region, i);
        ck_assert_int_eq(kw_wal_append(w, region, buf, len, on_append, &args[i]), 0);
    }
    kw_wal_close(w); /* drains: every callback has fired */
    ck_assert_uint_eq(log.n, NENT);
    ck_assert_int_eq(log.errors, 0);
    ck_assert_int_eq(log.not_yet_latest, 0);
    for (size_t i = 0; i < NENT; i++)
        ck_assert_uint_eq(log.ids[i], i + 1);

    /* Reopened: every acknowledged entry, per region, with its id. */
    w = open_wal(dir, 64 * 1024);
    static uint64_t got[NENT];
    size_t total = 0;
    for (uint64_t region = 0; region < NREG; region++) {
        size_t n = replay_ids(w, region, 0, got, NENT);
        size_t k = 0;
        for (size_t i = 0; i < NENT; i++)
            if (log.regions[i] == region) {
                ck_assert_uint_lt(k, n);
                ck_assert_uint_eq(got[k], log.ids[i]);
                k++;
            }
        ck_assert_uint_eq(k, n);
        total += n;
        uint64_t latest = 0;
        ck_assert_int_eq(kw_wal_latest_entry_id(w, region, &latest), 0);
        ck_assert_uint_eq(latest, got[n - 1]);
    }
    ck_assert_uint_eq(total, NENT);
    /* From the middle, and past the end. */
    size_t n = replay_ids(w, 3, 2001, got, NENT);
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_ge(got[0], 2001);
    ck_assert_uint_eq(replay_ids(w, 3, NENT + 1, got, NENT), 0);
    ck_assert_uint_eq(replay_ids(w, 999, 0, got, NENT), 0);
    /* New appends continue the count. */
    ck_assert_uint_eq(append_sync(w, 5, 1), NENT + 1);
    kw_wal_stats st;
    kw_wal_stats_get(w, &st);
    ck_assert_uint_eq(st.appends, 1);
    ck_assert_uint_eq(st.replayed_entries, NENT + n);
    kw_wal_close(w);
    ck_assert_uint_gt(count_segments(dir), 2);
    rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(replay_skips_other_regions_large_entries)
{
    char *dir = new_dir();
    kw_wal *w = open_wal(dir, 4 << 20);
    size_t big = 3 << 20; /* larger than one replay read */
    uint8_t *buf = malloc(big);
    for (size_t i = 0; i < big; i++)
        buf[i] = (uint8_t)(i * 31);
    uint64_t id;
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(kw_wal_append_sync(w, 1, buf, big, &id), 0);
        ck_assert_int_eq(kw_wal_append_sync(w, 2, "small", 5, &id), 0);
        ck_assert_uint_eq(id, (uint64_t)(2 * i + 2));
    }
    kw_wal_replay *r;
    const uint8_t *data;
    size_t len;
    ck_assert_int_eq(kw_wal_replay_open(w, 2, 0, 0, &r), 0);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(kw_wal_replay_next(r, &id, &data, &len, 0), 1);
        ck_assert_uint_eq(id, (uint64_t)(2 * i + 2));
        ck_assert_uint_eq(len, 5);
        ck_assert_mem_eq(data, "small", 5);
    }
    ck_assert_int_eq(kw_wal_replay_next(r, &id, &data, &len, 0), 0);
    kw_wal_replay_close(r);
    ck_assert_int_eq(kw_wal_replay_open(w, 1, 3, 0, &r), 0);
    ck_assert_int_eq(kw_wal_replay_next(r, &id, &data, &len, 0), 1);
    ck_assert_uint_eq(id, 3);
    ck_assert_uint_eq(len, big);
    ck_assert_mem_eq(data, buf, big);
    kw_wal_replay_close(r);
    kw_wal_close(w);
    free(buf);
    rm_rf(dir);
    free(dir);
}
END_TEST

/* Group commit. ----------------------------------------------------------------- */

#define NTHREADS 32
#define PER_THREAD 250

typedef struct thread_arg {
    kw_wal *w;
    uint64_t region;
    uint64_t ids[PER_THREAD];
} thread_arg;

static void *append_thread(void *p)
{
    thread_arg *a = p;
    for (uint64_t i = 0; i < PER_THREAD; i++)
        a->ids[i] = append_sync(a->w, a->region, i);
    return NULL;
}

START_TEST(many_threads_share_fsyncs)
{
    char *dir = new_dir();
    kw_wal *w = open_wal(dir, 1 << 20);
    static thread_arg args[NTHREADS];
    pthread_t t[NTHREADS];
    uint64_t t0 = now_ns();
    for (int i = 0; i < NTHREADS; i++) {
        args[i].w = w;
        args[i].region = 100 + (uint64_t)i;
        ck_assert_int_eq(pthread_create(&t[i], NULL, append_thread, &args[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    double secs = (double)(now_ns() - t0) / 1e9;
    kw_wal_stats st;
    kw_wal_stats_get(w, &st);
    ck_assert_uint_eq(st.appends, NTHREADS * PER_THREAD);
    ck_assert_uint_lt(st.batches, st.appends);
    ck_assert_uint_eq(st.in_flight, 0);
    fprintf(stderr,
            "group commit: %d threads, %u appends in %.2f s = %.0f appends/s, %llu fsync groups\n",
            NTHREADS, NTHREADS * PER_THREAD, secs, NTHREADS * PER_THREAD / secs,
            (unsigned long long)st.batches);
    /* Each thread's ids grow; together they are exactly 1..N. */
    static uint8_t seen[NTHREADS * PER_THREAD + 1];
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < NTHREADS; i++)
        for (int k = 0; k < PER_THREAD; k++) {
            uint64_t id = args[i].ids[k];
            ck_assert_uint_ge(id, 1);
            ck_assert_uint_le(id, NTHREADS * PER_THREAD);
            ck_assert_int_eq(seen[id]++, 0);
            if (k)
                ck_assert_uint_gt(id, args[i].ids[k - 1]);
        }
    kw_wal_close(w);
    w = open_wal(dir, 1 << 20);
    static uint64_t got[PER_THREAD];
    for (int i = 0; i < NTHREADS; i++) {
        ck_assert_uint_eq(replay_ids(w, args[i].region, 0, got, PER_THREAD), PER_THREAD);
        ck_assert_mem_eq(got, args[i].ids, sizeof(got));
    }
    kw_wal_close(w);
    rm_rf(dir);
    free(dir);
}
END_TEST

/* Recovery. ---------------------------------------------------------------------- */

static void read_file(const char *path, uint8_t **buf, size_t *len)
{
    *len = file_size(path);
    *buf = malloc(*len ? *len : 1);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(*buf, 1, *len, f), *len);
    fclose(f);
}

static void write_file(const char *path, const uint8_t *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
}

START_TEST(torn_tail_at_every_cut_keeps_earlier_entries)
{
    char *dir = new_dir();
    kw_wal *w = open_wal(dir, 4096);
    uint64_t last = 0;
    for (uint64_t i = 1; i <= 100; i++)
        last = append_sync(w, i % 3, i);
    ck_assert_uint_eq(last, 100);
    uint64_t segs[64];
    kw_wal_close(w);
    ck_assert_uint_gt(count_segments(dir), 1);
    /* The last segment: find it by opening the log and asking for the segments. */
    kw_wal_local *l = NULL;
    kw_wal_local_options lo = {.dir = dir, .segment_bytes = 4096};
    char err[512];
    ck_assert_int_eq(kw__wal_local_open(&l, &lo, err, sizeof(err)), 0);
    size_t n = kw__wal_local_segments(l, segs, 64);
    kw__wal_local_close(l);
    ck_assert_uint_ge(n, 2);
    char path[600];
    seg_path(path, sizeof(path), dir, segs[n - 1]);
    uint8_t *orig;
    size_t orig_len;
    read_file(path, &orig, &orig_len);
    /* Walk the records of the last segment to find where the last two start. */
    size_t starts[256], ns = 0, off = 0;
    while (off < orig_len) {
        uint32_t len;
        memcpy(&len, orig + off + 4, 4);
        starts[ns++] = off;
        off += KW__WAL_LOCAL_HDR + len;
    }
    ck_assert_uint_eq(off, orig_len);
    ck_assert_uint_ge(ns, 2);
    uint64_t first_torn = 99; /* the second last record's id */
    for (size_t cut = starts[ns - 2]; cut < orig_len; cut++) {
        write_file(path, orig, cut);
        w = open_wal(dir, 4096);
        uint64_t expect_last = cut >= starts[ns - 1] ? first_torn : first_torn - 1;
        static uint64_t got[128];
        size_t total = 0;
        for (uint64_t region = 0; region < 3; region++) {
            size_t k = replay_ids(w, region, 0, got, 128);
            for (size_t i = 0; i < k; i++)
                ck_assert_uint_le(got[i], expect_last);
            total += k;
        }
        ck_assert_uint_eq(total, expect_last);
        ck_assert_uint_eq(file_size(path), cut < starts[ns - 1] ? starts[ns - 2] : starts[ns - 1]);
        /* A new append takes the next id and is read back. */
        ck_assert_uint_eq(append_sync(w, 7, 1), expect_last + 1);
        ck_assert_uint_eq(replay_ids(w, 7, 0, got, 128), 1);
        kw_wal_close(w);
    }
    /* A flipped bit in the last record of the last segment is a torn tail too. */
    memcpy(orig + orig_len - 1, (uint8_t[]){orig[orig_len - 1] ^ 0x10}, 1);
    write_file(path, orig, orig_len);
    w = open_wal(dir, 4096);
    uint64_t latest = 0;
    ck_assert_uint_eq(append_sync(w, 9, 1), 100);
    kw_wal_latest_entry_id(w, 9, &latest);
    ck_assert_uint_eq(latest, 100);
    kw_wal_close(w);
    free(orig);
    rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(zeroed_tail_is_cut)
{
    char *dir = new_dir();
    kw_wal *w = open_wal(dir, 0);
    for (uint64_t i = 1; i <= 10; i++)
        append_sync(w, 1, i);
    kw_wal_close(w);
    char path[600];
    seg_path(path, sizeof(path), dir, 1);
    size_t len = file_size(path);
    ck_assert_int_eq(truncate(path, (off_t)len + 4096), 0); /* a preallocated, never written tail */
    w = open_wal(dir, 0);
    ck_assert_uint_eq(file_size(path), len);
    ck_assert_uint_eq(append_sync(w, 1, 11), 11);
    static uint64_t got[16];
    ck_assert_uint_eq(replay_ids(w, 1, 0, got, 16), 11);
    kw_wal_close(w);
    rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(flipped_bit_in_an_earlier_segment_is_corruption)
{
    char *dir = new_dir();
    kw_wal *w = open_wal(dir, 2048);
    for (uint64_t i = 1; i <= 100; i++)
        append_sync(w, 1, i);
    kw_wal_close(w);
    ck_assert_uint_ge(count_segments(dir), 3);
    char path[600];
    seg_path(path, sizeof(path), dir, 1);
    uint8_t *buf;
    size_t len;
    read_file(path, &buf, &len);
    buf[len / 2] ^= 0x01;
    write_file(path, buf, len);
    free(buf);
    size_t before = file_size(path);

    kw_wal_options o = {.provider = KW_WAL_PROVIDER_LOCAL, .dir = dir, .segment_bytes = 2048};
    char err[512] = "";
    kw_wal *w2 = NULL;
    ck_assert_int_eq(kw_wal_open(&w2, &o, err, sizeof(err)), KW_ECORRUPT);
    ck_assert_ptr_null(w2);
    ck_assert_msg(strstr(err, "00000000000000000001.wal") && strstr(err, "offset"), "%s", err);
    ck_assert_uint_eq(file_size(path), before); /* nothing cut */
    /* And the lock was released: a fixed file opens. */
    rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(missing_middle_segment_is_corruption)
{
    char *dir = new_dir();
    kw_wal *w = open_wal(dir, 2048);
    for (uint64_t i = 1; i <= 100; i++)
        append_sync(w, 1, i);
    kw_wal_close(w);
    kw_wal_local *l = NULL;
    kw_wal_local_options lo = {.dir = dir, .segment_bytes = 2048};
    char err[512];
    ck_assert_int_eq(kw__wal_local_open(&l, &lo, err, sizeof(err)), 0);
    uint64_t segs[64];
    size_t n = kw__wal_local_segments(l, segs, 64);
    kw__wal_local_close(l);
    ck_assert_uint_ge(n, 3);
    char path[600];
    seg_path(path, sizeof(path), dir, segs[1]);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(kw__wal_local_open(&l, &lo, err, sizeof(err)), KW_ECORRUPT);
    ck_assert_msg(strstr(err, "missing"), "%s", err);
    rm_rf(dir);
    free(dir);
}
END_TEST

/* Pruning. ----------------------------------------------------------------------- */

static kw_wal_local *open_local(const char *dir, size_t segment_bytes)
{
    kw_wal_local *l = NULL;
    kw_wal_local_options lo = {.dir = dir, .segment_bytes = segment_bytes};
    char err[512];
    int rc = kw__wal_local_open(&l, &lo, err, sizeof(err));
    ck_assert_msg(rc == 0, "%s", err);
    return l;
}

static void done_cb(void *arg, int err, uint64_t id, const char *detail)
{
    uint64_t *out = arg;
    ck_assert_int_eq(err, 0);
    __atomic_store_n(out, id, __ATOMIC_RELEASE);
}

static uint64_t local_append(kw_wal_local *l, uint64_t region, uint64_t seq)
{
    uint8_t buf[256];
    size_t len = make_payload(buf, region, seq);
    uint64_t id = 0;
    ck_assert_int_eq(kw__wal_local_append(l, region, buf, len, done_cb, &id), 0);
    while (!__atomic_load_n(&id, __ATOMIC_ACQUIRE))
        usleep(50);
    return id;
}

/* Waits (bounded) until the writer has pruned below want_first or the time is up. */
static uint64_t first_segment(kw_wal_local *l, uint64_t at_least)
{
    uint64_t segs[1024];
    for (int i = 0; i < 2000; i++) {
        kw__wal_local_segments(l, segs, 1024);
        if (segs[0] >= at_least)
            break;
        usleep(1000);
    }
    return segs[0];
}

START_TEST(pruning_deletes_whole_segments_below_every_regions_mark)
{
    char *dir = new_dir();
    kw_wal_local *l = open_local(dir, 1024);
    for (uint64_t i = 1; i <= 300; i++)
        ck_assert_uint_eq(local_append(l, i % 2 ? 1 : 2, i), i);
    uint64_t segs[1024];
    size_t n0 = kw__wal_local_segments(l, segs, 1024);
    ck_assert_uint_gt(n0, 10);
    /* Region 1 marks; region 2 never has: it holds everything. */
    ck_assert_int_eq(kw__wal_local_obsolete(l, 1, 200), 0);
    local_append(l, 3, 1); /* a group after the mark: the mark is durable and pruning ran */
    ck_assert_uint_ge(kw__wal_local_segments(l, segs, 1024), n0);
    ck_assert_uint_eq(segs[0], 1);
    ck_assert_int_eq(kw__wal_local_obsolete(l, 1, 999), KW_EINVAL);
    kw__wal_local_close(l);

    /* After a restart region 1's mark is still known: region 2 marking 100 prunes up to 100. */
    l = open_local(dir, 1024);
    ck_assert_int_eq(kw__wal_local_obsolete(l, 2, 100), 0);
    ck_assert_int_eq(kw__wal_local_obsolete(l, 3, 301), 0);
    uint64_t first = first_segment(l, 2);
    ck_assert_uint_gt(first, 1);
    ck_assert_uint_le(first, 101); /* nothing above the prune point went */
    size_t n = kw__wal_local_segments(l, segs, 1024);
    for (int i = 0; i < 2000 && count_segments(dir) != n; i++) /* unlinks follow the list */
        usleep(1000);
    ck_assert_uint_eq(count_segments(dir), n);
    ck_assert_uint_lt(n, n0);
    /* Only whole segments: the one that starts at `first` holds ids above 100. */
    ck_assert_uint_gt(segs[1], 101);
    kw__wal_local_close(l);

    /* Replay still gives everything above the marks, and from below the log start begins at it. */
    kw_wal *w = open_wal(dir, 1024);
    static uint64_t got[400];
    size_t k = replay_ids(w, 2, 101, got, 400);
    ck_assert_uint_eq(k, 100); /* ids 102, 104 .. 300 */
    ck_assert_uint_eq(got[0], 102);
    k = replay_ids(w, 2, 0, got, 400);
    ck_assert_uint_ge(got[0], first);
    kw_wal_close(w);

    /* A region with no mark holds everything: with it in the log, regions 1 and 2 marking past
     * all they wrote prune nothing.  (It appends first: appearing only after their marks, it
     * would race the writer's prune, which may then rightly go up to 301 before it exists.) */
    l = open_local(dir, 1024);
    ck_assert_uint_eq(first_segment(l, 0), first);
    for (uint64_t i = 0; i < 200; i++)
        local_append(l, 4, i);
    ck_assert_int_eq(kw__wal_local_obsolete(l, 1, 301), 0);
    ck_assert_int_eq(kw__wal_local_obsolete(l, 2, 301), 0);
    ck_assert_uint_eq(first_segment(l, 0), first);
    ck_assert_int_eq(kw__wal_local_obsolete(l, 4, 501), 0);
    uint64_t f2 = first_segment(l, 480);
    ck_assert_uint_ge(f2, 480);
    ck_assert_uint_le(f2, 501);
    ck_assert_uint_eq(kw__wal_local_segments(l, segs, 1024), 1);
    uint64_t latest = 0;
    kw__wal_local_latest(l, 1, &latest);
    ck_assert_uint_eq(latest, 299);
    kw__wal_local_close(l);
    ck_assert_uint_eq(count_segments(dir), 1);
    /* Regions whose entries are all gone keep marks and latest ids (the segment's snapshot). */
    l = open_local(dir, 1024);
    kw__wal_local_latest(l, 1, &latest);
    ck_assert_uint_eq(latest, 299);
    kw__wal_local_latest(l, 2, &latest);
    ck_assert_uint_eq(latest, 300);
    kw__wal_local_latest(l, 4, &latest);
    ck_assert_uint_eq(latest, 501);
    ck_assert_uint_eq(first_segment(l, 0), f2);
    /* A new region 1 entry is above its mark (301): the next id, and it holds from there. */
    ck_assert_uint_eq(local_append(l, 1, 1000), 502);
    kw__wal_local_close(l);
    rm_rf(dir);
    free(dir);
}
END_TEST

/* Follow. ------------------------------------------------------------------------- */

typedef struct follow_arg {
    kw_wal *w;
    int n;
    int got;
    int last_rc;
} follow_arg;

static void *follower(void *p)
{
    follow_arg *a = p;
    kw_wal_replay *r;
    ck_assert_int_eq(kw_wal_replay_open(a->w, 5, 0, KW_WAL_REPLAY_FOLLOW, &r), 0);
    uint64_t id, prev = 0;
    const uint8_t *data;
    size_t len;
    while (a->got < a->n) {
        int rc = kw_wal_replay_next(r, &id, &data, &len, 10000);
        if (rc != 1) {
            a->last_rc = rc;
            break;
        }
        ck_assert_uint_eq(check_payload(5, data, len), (uint64_t)a->got);
        ck_assert_uint_gt(id, prev);
        prev = id;
        a->got++;
    }
    uint64_t t0 = now_ns();
    a->last_rc = kw_wal_replay_next(r, &id, &data, &len, 50);
    ck_assert_uint_ge(now_ns() - t0, 40 * 1000000ULL);
    kw_wal_replay_close(r);
    return NULL;
}

START_TEST(follow_sees_entries_appended_by_another_thread)
{
    char *dir = new_dir();
    kw_wal *w = open_wal(dir, 4096);
    append_sync(w, 5, 0);
    follow_arg a = {.w = w, .n = 400};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, follower, &a), 0);
    for (uint64_t i = 1; i < 400; i++) {
        append_sync(w, 6, i); /* another region between them */
        append_sync(w, 5, i);
        if (i % 50 == 0)
            usleep(20000);
    }
    pthread_join(t, NULL);
    ck_assert_int_eq(a.got, 400);
    ck_assert_int_eq(a.last_rc, KW_ETIMEDOUT);
    kw_wal_close(w);
    rm_rf(dir);
    free(dir);
}
END_TEST

/* Options and the lock. -------------------------------------------------------------- */

START_TEST(a_second_open_of_the_same_dir_is_refused)
{
    char *dir = new_dir();
    kw_wal *w = open_wal(dir, 0);
    kw_wal_options o = {.provider = KW_WAL_PROVIDER_LOCAL, .dir = dir};
    char err[512] = "";
    kw_wal *w2 = NULL;
    ck_assert_int_eq(kw_wal_open(&w2, &o, err, sizeof(err)), KW_EAGAIN);
    ck_assert_ptr_null(w2);
    ck_assert_msg(strstr(err, "LOCK"), "%s", err);
    kw_wal_close(w);
    w = open_wal(dir, 0);
    kw_wal_close(w);
    rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(bad_options_are_named)
{
    char err[512];
    kw_wal *w = NULL;
    kw_wal_options o = {.provider = KW_WAL_PROVIDER_LOCAL};
    ck_assert_int_eq(kw_wal_open(&w, &o, err, sizeof(err)), KW_EINVAL);
    ck_assert_msg(strncmp(err, "dir:", 4) == 0, "%s", err);
    o.provider = 7;
    ck_assert_int_eq(kw_wal_open(&w, &o, err, sizeof(err)), KW_EINVAL);
    ck_assert_msg(strncmp(err, "provider:", 9) == 0, "%s", err);
    o = (kw_wal_options){.dir = "/tmp/x", .segment_bytes = 10};
    ck_assert_int_eq(kw_wal_open(&w, &o, err, sizeof(err)), KW_EINVAL);
    ck_assert_msg(strncmp(err, "segment_bytes:", 14) == 0, "%s", err);
    o = (kw_wal_options){.dir = "/tmp/x", .record_format = 5};
    ck_assert_int_eq(kw_wal_open(&w, &o, err, sizeof(err)), KW_EINVAL);
    ck_assert_msg(strncmp(err, "record_format:", 14) == 0, "%s", err);
    o = (kw_wal_options){.dir = "/proc/no/such/dir"};
    ck_assert_int_eq(kw_wal_open(&w, &o, err, sizeof(err)), KW_EIO);
    ck_assert_msg(strstr(err, "/proc/no/such/dir"), "%s", err);
    ck_assert_ptr_null(w);
    ck_assert_int_eq(kw_wal_open(&w, NULL, err, sizeof(err)), KW_EINVAL);
    o = (kw_wal_options){.provider = KW_WAL_PROVIDER_KAFKA};
    ck_assert_int_eq(kw_wal_open(&w, &o, err, sizeof(err)), KW_ECONFIG);
    ck_assert_str_eq(err,
                     "kafka provider: broker_endpoints (kafka.bootstrap) or a client is required");
}
END_TEST

START_TEST(set_region_topic_is_a_no_op_for_local)
{
    char *dir = new_dir();
    kw_wal *w = open_wal(dir, 0);
    ck_assert_int_eq(kw_wal_set_region_topic(w, 1, "some_topic"), 0);
    ck_assert_uint_eq(append_sync(w, 1, 1), 1);
    kw_wal_close(w);
    rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(fail_fast_says_again_when_full)
{
    char *dir = new_dir();
    kw_wal_options o = {.provider = KW_WAL_PROVIDER_LOCAL, .dir = dir, .max_buffered_bytes = 4096,
                        .append_fail_fast = true};
    char err[512];
    kw_wal *w = NULL;
    ck_assert_int_eq(kw_wal_open(&w, &o, err, sizeof(err)), 0);
    static uint8_t buf[1000];
    int again = 0, ok = 0;
    for (int i = 0; i < 20000 && !again; i++) {
        int rc = kw_wal_append(w, 1, buf, sizeof(buf), NULL, NULL);
        if (rc == KW_EAGAIN)
            again++;
        else
            ok += rc == 0;
    }
    ck_assert_int_eq(again, 1);
    ck_assert_int_ge(ok, 3);
    kw_wal_close(w);
    rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(open_config_opens_a_local_log)
{
    char *dir = new_dir();
    char path[600], err[512] = "";
    snprintf(path, sizeof(path), "%s.toml", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "[wal]\nprovider = \"local\"\ndir = \"%s\"\n", dir);
    fclose(f);
    kw_wal *w = NULL;
    int rc = kw_wal_open_config(&w, path, err, sizeof(err));
    ck_assert_msg(rc == 0, "%s: %s", kw_err_name(rc), err);
    ck_assert_uint_eq(append_sync(w, 1, 1), 1);
    kw_wal_close(w);
    f = fopen(path, "w");
    fprintf(f, "[wal]\nprovider = \"local\"\nno_such_key = 1\n");
    fclose(f);
    ck_assert_int_eq(kw_wal_open_config(&w, path, err, sizeof(err)), KW_ECONFIG);
    ck_assert_msg(strstr(err, "no_such_key"), "%s", err);
    ck_assert_ptr_null(w);
    unlink(path);
    rm_rf(dir);
    free(dir);
}
END_TEST

/* The public config handle, regions and segments: what `kwal wal info` is built on. */
START_TEST(config_handle_regions_and_segments_are_public)
{
    char *dir = new_dir();
    char path[600], err[512] = "";
    snprintf(path, sizeof(path), "%s.toml", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "[wal]\nprovider = \"raft_engine\"\ndir = \"%s\"\nsegment_bytes = \"1MiB\"\n", dir);
    fclose(f);
    kw_wal_config *cfg = NULL;
    ck_assert_msg(kw_wal_config_load(&cfg, path, err, sizeof(err)) == 0, "%s", err);
    kw_wal_options *o = kw_wal_config_options(cfg);
    ck_assert_int_eq(o->provider, KW_WAL_PROVIDER_LOCAL);
    ck_assert_str_eq(o->dir, dir);
    ck_assert_uint_eq(o->segment_bytes, 1u << 20);
    ck_assert_msg(strstr(kw_wal_config_notes(cfg), "raft_engine"), "%s", kw_wal_config_notes(cfg));
    kw_wal *w = NULL;
    ck_assert_msg(kw_wal_open(&w, o, err, sizeof(err)) == 0, "%s", err);
    kw_wal_config_free(cfg); /* the WAL copied what it keeps */
    ck_assert_uint_eq(append_sync(w, 7, 1), 1);
    ck_assert_uint_eq(append_sync(w, 9, 2), 2);
    ck_assert_uint_eq(append_sync(w, 7, 3), 3);
    ck_assert_int_eq(kw_wal_obsolete(w, 7, 1), 0);
    ck_assert_uint_eq(append_sync(w, 9, 4), 4); /* the mark, queued before it, is durable now */
    kw_wal_region_info regs[4];
    ck_assert_uint_eq(kw_wal_regions(w, NULL, 0), 2);
    ck_assert_uint_eq(kw_wal_regions(w, regs, 4), 2);
    if (regs[0].region_id != 7) {
        kw_wal_region_info t = regs[0];
        regs[0] = regs[1];
        regs[1] = t;
    }
    ck_assert_uint_eq(regs[0].region_id, 7);
    ck_assert_uint_eq(regs[0].latest_entry_id, 3);
    ck_assert_uint_eq(regs[0].obsolete_entry_id, 1);
    ck_assert_uint_eq(regs[1].region_id, 9);
    ck_assert_uint_eq(regs[1].latest_entry_id, 4);
    ck_assert_uint_eq(regs[1].obsolete_entry_id, 0);
    uint64_t segs[4];
    ck_assert_uint_eq(kw_wal_segments(w, segs, 4), 1);
    ck_assert_uint_eq(segs[0], 1);
    kw_wal_close(w);
    /* a bad file: the error names the key, and nothing is handed out */
    f = fopen(path, "w");
    fprintf(f, "[wal]\nsegment_bytes = \"big\"\n");
    fclose(f);
    cfg = (kw_wal_config *)1;
    ck_assert_int_eq(kw_wal_config_load(&cfg, path, err, sizeof(err)), KW_ECONFIG);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(strstr(err, ":2: segment_bytes: 'big' is not a size"), "%s", err);
    kw_wal_config_free(NULL);
    unlink(path);
    rm_rf(dir);
    free(dir);
}
END_TEST

/* Crashes. --------------------------------------------------------------------------- */

#define CRASH_ROUNDS 10
#define CRASH_MAX 100000 /* appends per child at most; seq = round * CRASH_MAX + i */
#define CRASH_REGIONS 4

typedef struct ack_rec {
    uint64_t id;
    uint64_t region;
    uint64_t seq;
} ack_rec;

typedef struct child_ctx {
    kw_wal *w;
    int fd, round;
    uint64_t next; /* atomic */
} child_ctx;

/* A server thread: append, wait until durable, tell the parent. */
static void *child_thread(void *arg)
{
    child_ctx *c = arg;
    uint8_t buf[256];
    for (;;) {
        uint64_t i = __atomic_fetch_add(&c->next, 1, __ATOMIC_RELAXED);
        if (i >= CRASH_MAX)
            for (;;) /* all done before the kill came: wait for it */
                pause();
        uint64_t region = i % CRASH_REGIONS, seq = (uint64_t)c->round * CRASH_MAX + i;
        size_t len = make_payload(buf, region, seq);
        ack_rec a = {0, region, seq};
        if (kw_wal_append_sync(c->w, region, buf, len, &a.id))
            _exit(4);
        if (write(c->fd, &a, sizeof(a)) != (ssize_t)sizeof(a))
            _exit(3);
    }
    return NULL;
}

static void crash_child(const char *dir, int round, int fd)
{
    kw_wal_options o = {.provider = KW_WAL_PROVIDER_LOCAL, .dir = dir, .segment_bytes = 64 * 1024};
    child_ctx c = {.fd = fd, .round = round};
    if (kw_wal_open(&c.w, &o, NULL, 0))
        _exit(2);
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        if (pthread_create(&t[i], NULL, child_thread, &c))
            _exit(5);
    for (;;)
        pause();
}

static void read_acks(int fd, ack_rec **acks, size_t *n, size_t *cap, uint8_t *part, size_t *npart)
{
    uint8_t buf[65536];
    ssize_t got;
    while ((got = read(fd, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < got; i++) {
            part[(*npart)++] = buf[i];
            if (*npart == sizeof(ack_rec)) {
                if (*n == *cap) {
                    *cap = *cap ? *cap * 2 : 4096;
                    *acks = realloc(*acks, *cap * sizeof(ack_rec));
                }
                memcpy(&(*acks)[(*n)++], part, sizeof(ack_rec));
                *npart = 0;
            }
        }
    }
}

START_TEST(killed_writer_loses_no_acknowledged_entry)
{
    char *dir = new_dir();
    ack_rec *acks = NULL;
    size_t nacks = 0, cap = 0;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    uint64_t *ids = malloc(CRASH_ROUNDS * CRASH_MAX * sizeof(*ids));
    for (int round = 0; round < CRASH_ROUNDS; round++) {
        uint64_t round_start = now_ns();
        int p[2];
        ck_assert_int_eq(pipe(p), 0);
        fcntl(p[0], F_SETPIPE_SZ, 1 << 20);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            close(p[0]);
            crash_child(dir, round, p[1]);
        }
        close(p[1]);
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        uint8_t part[sizeof(ack_rec)];
        size_t npart = 0, before = nacks;
        /* The kill comes 20-200 ms after the first acknowledgement (recovery takes a while). */
        uint64_t give_up = now_ns() + 10000000000ULL;
        while (nacks == before && now_ns() < give_up) {
            struct pollfd pf = {p[0], POLLIN, 0};
            poll(&pf, 1, 5);
            read_acks(p[0], &acks, &nacks, &cap, part, &npart);
        }
        int delay_ms = 20 + (int)(rand_r(&seed) % 181);
        uint64_t deadline = now_ns() + (uint64_t)delay_ms * 1000000;
        while (now_ns() < deadline) {
            struct pollfd pf = {p[0], POLLIN, 0};
            poll(&pf, 1, 5);
            read_acks(p[0], &acks, &nacks, &cap, part, &npart);
        }
        kill(pid, SIGKILL);
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFSIGNALED(status), "child ended with %d before the kill", status);
        fcntl(p[0], F_SETFL, 0);
        read_acks(p[0], &acks, &nacks, &cap, part, &npart);
        close(p[0]);
        ck_assert_uint_gt(nacks, before); /* the child got some appends done */

        /* Every acknowledged entry of every round so far: exactly once, right id and payload. */
        kw_wal *w = open_wal(dir, 64 * 1024);
        size_t found = 0, replayed = 0;
        for (uint64_t region = 0; region < CRASH_REGIONS; region++) {
            memset(ids, 0, CRASH_ROUNDS * CRASH_MAX * sizeof(*ids)); /* seq -> id; 0 = absent */
            kw_wal_replay *rp;
            ck_assert_int_eq(kw_wal_replay_open(w, region, 0, 0, &rp), 0);
            uint64_t id;
            const uint8_t *data;
            size_t len;
            int rc;
            while ((rc = kw_wal_replay_next(rp, &id, &data, &len, 0)) == 1) {
                uint64_t seq = check_payload(region, data, len);
                ck_assert_uint_lt(seq, CRASH_ROUNDS * CRASH_MAX);
                ck_assert_msg(ids[seq] == 0, "entry %llu of region %llu twice",
                              (unsigned long long)seq, (unsigned long long)region);
                ids[seq] = id;
                replayed++;
            }
            ck_assert_int_eq(rc, 0);
            kw_wal_replay_close(rp);
            for (size_t i = 0; i < nacks; i++)
                if (acks[i].region == region) {
                    ck_assert_msg(ids[acks[i].seq] == acks[i].id,
                                  "round %d: acknowledged id %llu (region %llu seq %llu) "
                                  "replayed as %llu",
                                  round, (unsigned long long)acks[i].id,
                                  (unsigned long long)region, (unsigned long long)acks[i].seq,
                                  (unsigned long long)ids[acks[i].seq]);
                    found++;
                }
        }
        ck_assert_uint_eq(found, nacks);
        ck_assert_uint_ge(replayed, nacks);
        kw_wal_close(w);
        if (getenv("KW_TEST_VERBOSE"))
            fprintf(stderr, "round %d: %zu acknowledged, %zu replayed, %.3f s\n", round, nacks,
                    replayed, (double)(now_ns() - round_start) / 1e9);
    }
    free(acks);
    free(ids);
    rm_rf(dir);
    free(dir);
}
END_TEST

/* A blocking call from an append callback (the writer thread) returns KW_EDEADLK at once. */
typedef struct local_nested {
    kw_wal *w;
    int sync_rc;
    atomic_int done;
} local_nested;

static void on_append_try_sync(void *arg, int err, uint64_t id, const char *detail)
{
    local_nested *n = arg;
    uint64_t id2;
    n->sync_rc = kw_wal_append_sync(n->w, 1, "inner", 5, &id2);
    atomic_store(&n->done, 1);
}

START_TEST(append_sync_in_a_callback_returns_edeadlk)
{
    char *dir = new_dir();
    kw_wal *w = open_wal(dir, 1 << 20);
    local_nested n = {.w = w};
    ck_assert_int_eq(kw_wal_append(w, 1, "outer", 5, on_append_try_sync, &n), 0);
    for (int i = 0; i < 1000 && !atomic_load(&n.done); i++)
        usleep(10000);
    ck_assert_int_eq(atomic_load(&n.done), 1);
    ck_assert_int_eq(n.sync_rc, KW_EDEADLK);
    uint64_t id;
    ck_assert_int_eq(kw_wal_append_sync(w, 1, "after", 5, &id), 0);
    ck_assert_uint_eq(id, 2); /* the refused inner append took no id */
    /* the local provider has no loop to drive */
    ck_assert_int_eq(kw_wal_backend_fd(w), -1);
    ck_assert_int_eq(kw_wal_timeout_ms(w), -1);
    ck_assert_int_eq(kw_wal_run_once(w, 0), KW_EUNSUPPORTED);
    ck_assert_ptr_null(kw_wal_client(w));
    kw_wal_close(w);
    rm_rf(dir);
    free(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("wal_local");
    TCase *tc;
#define ADD(t)                          \
    tc = tcase_create(#t);              \
    tcase_set_timeout(tc, 60);          \
    tcase_add_test(tc, t);              \
    suite_add_tcase(s, tc)
    ADD(ids_count_from_one_and_callbacks_fire_in_order_after_durability);
    ADD(replay_skips_other_regions_large_entries);
    ADD(many_threads_share_fsyncs);
    ADD(torn_tail_at_every_cut_keeps_earlier_entries);
    ADD(zeroed_tail_is_cut);
    ADD(flipped_bit_in_an_earlier_segment_is_corruption);
    ADD(missing_middle_segment_is_corruption);
    ADD(pruning_deletes_whole_segments_below_every_regions_mark);
    ADD(follow_sees_entries_appended_by_another_thread);
    ADD(a_second_open_of_the_same_dir_is_refused);
    ADD(bad_options_are_named);
    ADD(set_region_topic_is_a_no_op_for_local);
    ADD(fail_fast_says_again_when_full);
    ADD(open_config_opens_a_local_log);
    ADD(config_handle_regions_and_segments_are_public);
    ADD(killed_writer_loses_no_acknowledged_entry);
    ADD(append_sync_in_a_callback_returns_edeadlk);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
