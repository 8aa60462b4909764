/* Unit tests of the metasrv key-value store: ops, revisions, recovery, lock, limits, kill -9. */
#include <check.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "meta/store.h"
#include "meta/store_etcd.h"
#include "proto/crc32c.h"

/* ---- helpers ---- */

typedef struct tdir {
    char path[256];
} tdir;

/*
 * Revisions in the cases count from a fresh store (1 for its first write).  On etcd the
 * revision is cluster-wide, so they count from base_rev: the store's revision before the
 * case's first write (set by the case's first must_open).
 */
static uint64_t base_rev;
#define R(n) (base_rev + (n))

static void tdir_make(tdir *d)
{
    base_rev = 0;
    const char *base = getenv("TMPDIR");
    snprintf(d->path, sizeof(d->path), "%s/kw_meta_store_XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(d->path));
}

static void file_path(char *out, size_t cap, const tdir *d, const char *name)
{
    snprintf(out, cap, "%s/%s", d->path, name);
}

static void tdir_remove(tdir *d)
{
    const char *names[] = {KW_META_STORE_FILE_DATA, KW_META_STORE_FILE_TEMP,
                           KW_META_STORE_FILE_LOCK};
    char p[512];
    for (size_t i = 0; i < 3; i++) {
        file_path(p, sizeof(p), d, names[i]);
        unlink(p);
    }
    ck_assert_int_eq(rmdir(d->path), 0);
}

typedef struct logged {
    int n;
    char last[512];
} logged;

static void log_cb(void *arg, const char *msg)
{
    logged *l = arg;
    l->n++;
    snprintf(l->last, sizeof(l->last), "%s", msg);
}

/*
 * KWAL_META_STORE=etcd (with KWAL_ETCD_ENDPOINTS, and KWAL_ETCD_USER / _PASSWORD when etcd
 * has auth on): the same cases on the etcd backend, each store under a key prefix of its own
 * (the temp dir's name, which is unique), so the cases see only their own keys.
 */
static bool on_etcd(void)
{
    const char *b = getenv("KWAL_META_STORE");
    return b && strcmp(b, "etcd") == 0;
}

static int open_etcd(const char *prefix, kw_meta_store **out, char *err, size_t cap)
{
    const char *eps = getenv("KWAL_ETCD_ENDPOINTS");
    ck_assert_msg(eps && *eps, "KWAL_ETCD_ENDPOINTS is not set");
    static char list[8][128];
    const char *v[8];
    size_t n = 0;
    for (const char *p = eps; *p && n < 8;) {
        size_t l = strcspn(p, ",");
        snprintf(list[n], sizeof(list[n]), "%.*s", (int)l, p);
        v[n] = list[n];
        n++;
        p += l + (p[l] == ',');
    }
    kw_meta_store_etcd_options o = {.endpoints = v,
                                    .endpoint_count = n,
                                    .key_prefix = prefix,
                                    .username = getenv("KWAL_ETCD_USER"),
                                    .password = getenv("KWAL_ETCD_PASSWORD"),
                                    .ca_file = getenv("KWAL_ETCD_CA"),
                                    .cert_file = getenv("KWAL_ETCD_CERT"),
                                    .key_file = getenv("KWAL_ETCD_KEY")};
    return kw__meta_store_etcd_open(&o, out, err, cap);
}

static int open_store(const tdir *d, uint64_t compact_min, logged *l, kw_meta_store **out,
                      char *err, size_t cap)
{
    if (on_etcd()) {
        char prefix[300];
        snprintf(prefix, sizeof(prefix), "%s/", d->path);
        return open_etcd(prefix, out, err, cap);
    }
    kw_meta_store_file_options o = {
        .dir = d->path, .compact_min_bytes = compact_min, .log = l ? log_cb : NULL, .log_arg = l};
    return kw__meta_store_file_open(&o, out, err, cap);
}

static kw_meta_store *must_open(const tdir *d, uint64_t compact_min, logged *l)
{
    kw_meta_store *s = NULL;
    char err[256];
    int rc = open_store(d, compact_min, l, &s, err, sizeof(err));
    ck_assert_msg(rc == 0, "open: %s: %s", kw_err_name(rc), err);
    ck_assert_ptr_nonnull(s);
    if (on_etcd() && base_rev == 0) { /* a put and its delete: the revision is then base_rev */
        uint64_t r = 0;
        ck_assert_int_eq(kw__meta_store_put(s, "\x01" "base", 5, "", 0, &r), 0);
        ck_assert_int_eq(kw__meta_store_del(s, "\x01" "base", 5, &r), 0);
        base_rev = r;
    }
    return s;
}

static uint64_t put_str(kw_meta_store *s, const char *k, const char *v)
{
    uint64_t rev = 0;
    ck_assert_int_eq(kw__meta_store_put(s, k, strlen(k), v, strlen(v), &rev), 0);
    ck_assert_uint_gt(rev, 0);
    return rev;
}

/* Asserts key k holds exactly v (NUL-free text) and returns its revision. */
static uint64_t expect_str(kw_meta_store *s, const char *k, const char *v)
{
    uint8_t *val = NULL;
    size_t len = 0;
    uint64_t rev = 0;
    int rc = kw__meta_store_get(s, k, strlen(k), &val, &len, &rev);
    ck_assert_msg(rc == 0, "get %s: %s", k, kw_err_name(rc));
    ck_assert_uint_eq(len, strlen(v));
    ck_assert_int_eq(memcmp(val, v, len), 0);
    free(val);
    return rev;
}

static off_t file_size(const tdir *d, const char *name)
{
    char p[512];
    struct stat st;
    file_path(p, sizeof(p), d, name);
    if (stat(p, &st) != 0)
        return -1;
    return st.st_size;
}

static void append_bytes(const tdir *d, const char *name, const void *b, size_t n)
{
    char p[512];
    file_path(p, sizeof(p), d, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, b, n), (ssize_t)n);
    close(fd);
}

static void flip_byte(const tdir *d, off_t off)
{
    char p[512];
    file_path(p, sizeof(p), d, KW_META_STORE_FILE_DATA);
    int fd = open(p, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t b;
    ck_assert_int_eq(pread(fd, &b, 1, off), 1);
    b ^= 0x40;
    ck_assert_int_eq(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

/* Collects what range hands out. */
typedef struct seen {
    int n;
    char keys[64][32];
    char vals[64][32];
    uint64_t revs[64];
    int stop_at; /* return 7 at this index (-1: never) */
} seen;

static int collect(void *arg, const kw_meta_kv *kv)
{
    seen *s = arg;
    ck_assert_int_lt(s->n, 64);
    ck_assert_uint_lt(kv->key_len, 32);
    ck_assert_uint_lt(kv->value_len, 32);
    memcpy(s->keys[s->n], kv->key, kv->key_len);
    s->keys[s->n][kv->key_len] = '\0';
    memcpy(s->vals[s->n], kv->value, kv->value_len);
    s->vals[s->n][kv->value_len] = '\0';
    s->revs[s->n] = kv->rev;
    if (s->stop_at == s->n++)
        return 7;
    return 0;
}

/* ---- the ops ---- */

START_TEST(put_then_get_returns_the_value_and_a_growing_revision)
{
    tdir d;
    tdir_make(&d);
    kw_meta_store *s = must_open(&d, 0, NULL);
    uint64_t r1 = put_str(s, "topic/wal_0", "created");
    ck_assert_uint_eq(r1, R(1));
    ck_assert_uint_eq(expect_str(s, "topic/wal_0", "created"), R(1));
    uint64_t r2 = put_str(s, "topic/wal_0", "configured");
    ck_assert_uint_eq(r2, R(2));
    ck_assert_uint_eq(expect_str(s, "topic/wal_0", "configured"), R(2));
    /* Binary keys and values, and an empty value. */
    const uint8_t bk[] = {0, 1, 0xff, 0};
    const uint8_t bv[] = {0xff, 0, 0, 7};
    uint64_t rev = 0;
    ck_assert_int_eq(kw__meta_store_put(s, bk, sizeof(bk), bv, sizeof(bv), &rev), 0);
    ck_assert_uint_eq(rev, R(3));
    ck_assert_int_eq(kw__meta_store_put(s, "empty", 5, NULL, 0, &rev), 0);
    ck_assert_uint_eq(rev, R(4));
    uint8_t *v = NULL;
    size_t n = 99;
    ck_assert_int_eq(kw__meta_store_get(s, bk, sizeof(bk), &v, &n, &rev), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(memcmp(v, bv, 4), 0);
    ck_assert_uint_eq(rev, R(3));
    free(v);
    v = NULL;
    ck_assert_int_eq(kw__meta_store_get(s, "empty", 5, &v, &n, &rev), 0);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(n, 0);
    free(v);
    /* Revision only, no value. */
    rev = 0;
    ck_assert_int_eq(kw__meta_store_get(s, "topic/wal_0", 11, NULL, NULL, &rev), 0);
    ck_assert_uint_eq(rev, R(2));
    kw__meta_store_close(s);
    tdir_remove(&d);
}
END_TEST

START_TEST(get_of_an_absent_key_is_notfound_and_leaves_outputs_alone)
{
    tdir d;
    tdir_make(&d);
    kw_meta_store *s = must_open(&d, 0, NULL);
    put_str(s, "a", "1");
    uint8_t *v = (uint8_t *)0x1;
    size_t n = 42;
    uint64_t rev = 42;
    ck_assert_int_eq(kw__meta_store_get(s, "b", 1, &v, &n, &rev), KW_ENOTFOUND);
    ck_assert_ptr_eq(v, (uint8_t *)0x1);
    ck_assert_uint_eq(n, 42);
    ck_assert_uint_eq(rev, 42);
    kw__meta_store_close(s);
    tdir_remove(&d);
}
END_TEST

START_TEST(compare_and_put_writes_only_on_the_expected_revision)
{
    tdir d;
    tdir_make(&d);
    kw_meta_store *s = must_open(&d, 0, NULL);
    uint64_t rev = 0;
    /* Create-only. */
    ck_assert_int_eq(kw__meta_store_cas(s, "leader", 6, KW_META_REV_ABSENT, "n1", 2, &rev), 0);
    ck_assert_uint_eq(rev, R(1));
    ck_assert_int_eq(kw__meta_store_cas(s, "leader", 6, KW_META_REV_ABSENT, "n2", 2, &rev),
                     KW_EAGAIN);
    ck_assert_uint_eq(rev, R(1)); /* the current revision, for the retry */
    char err[256];
    kw__meta_store_errstr(s, err, sizeof(err));
    char want[64];
    snprintf(want, sizeof(want), "expected revision 0, found %llu", (unsigned long long)R(1));
    ck_assert_msg(strstr(err, want), "errstr: %s", err);
    expect_str(s, "leader", "n1");
    /* On the revision read. */
    ck_assert_int_eq(kw__meta_store_cas(s, "leader", 6, R(1), "n3", 2, &rev), 0);
    ck_assert_uint_eq(rev, R(2));
    /* A stale revision loses. */
    ck_assert_int_eq(kw__meta_store_cas(s, "leader", 6, R(1), "n4", 2, &rev), KW_EAGAIN);
    ck_assert_uint_eq(rev, R(2));
    expect_str(s, "leader", "n3");
    /* A revision on an absent key loses and reports 0. */
    ck_assert_int_eq(kw__meta_store_cas(s, "nobody", 6, 2, "x", 1, &rev), KW_EAGAIN);
    ck_assert_uint_eq(rev, 0);
    ck_assert_int_eq(kw__meta_store_get(s, "nobody", 6, NULL, NULL, NULL), KW_ENOTFOUND);
    /* A failed compare used no revision. */
    ck_assert_uint_eq(put_str(s, "other", "y"), R(3));
    kw__meta_store_close(s);
    tdir_remove(&d);
}
END_TEST

START_TEST(delete_removes_and_revisions_are_never_reused)
{
    tdir d;
    tdir_make(&d);
    kw_meta_store *s = must_open(&d, 0, NULL);
    uint64_t r1 = put_str(s, "region/7", "wal_3");
    uint64_t rdel = 0;
    ck_assert_int_eq(kw__meta_store_del(s, "region/7", 8, &rdel), 0);
    ck_assert_uint_eq(rdel, r1 + 1);
    ck_assert_int_eq(kw__meta_store_get(s, "region/7", 8, NULL, NULL, NULL), KW_ENOTFOUND);
    ck_assert_int_eq(kw__meta_store_del(s, "region/7", 8, NULL), KW_ENOTFOUND);
    /* Re-created after the delete, even across a reopen: a revision above the delete's, so a
     * compare-and-put holding r1 cannot win against the new key. */
    kw__meta_store_close(s);
    s = must_open(&d, 0, NULL);
    uint64_t r2 = put_str(s, "region/7", "wal_4");
    ck_assert_uint_eq(r2, rdel + 1);
    ck_assert_int_eq(kw__meta_store_cas(s, "region/7", 8, r1, "x", 1, NULL), KW_EAGAIN);
    kw__meta_store_close(s);
    tdir_remove(&d);
}
END_TEST

START_TEST(range_is_sorted_by_unsigned_bytes_and_honours_bounds_and_limit)
{
    tdir d;
    tdir_make(&d);
    kw_meta_store *s = must_open(&d, 0, NULL);
    /* Inserted out of order. */
    const char *keys[] = {"b", "ab", "a", "a\x7f", "a\xff", "\xff\xff", "aa", "c"};
    for (size_t i = 0; i < 8; i++) {
        char v[8];
        snprintf(v, sizeof(v), "v%zu", i);
        put_str(s, keys[i], v);
    }
    seen all = {.stop_at = -1};
    ck_assert_int_eq(kw__meta_store_range(s, NULL, 0, NULL, 0, 0, collect, &all), 0);
    const char *want[] = {"a", "aa", "ab", "a\x7f", "a\xff", "b", "c", "\xff\xff"};
    ck_assert_int_eq(all.n, 8);
    for (int i = 0; i < 8; i++)
        ck_assert_str_eq(all.keys[i], want[i]);
    ck_assert_str_eq(all.vals[0], "v2");
    ck_assert_uint_eq(all.revs[0], R(3));

    /* [start, end): start included, end excluded; bounds need not be keys. */
    seen r = {.stop_at = -1};
    ck_assert_int_eq(kw__meta_store_range(s, "ab", 2, "b", 1, 0, collect, &r), 0);
    ck_assert_int_eq(r.n, 3);
    ck_assert_str_eq(r.keys[0], "ab");
    ck_assert_str_eq(r.keys[1], "a\x7f");
    ck_assert_str_eq(r.keys[2], "a\xff");
    seen r2 = {.stop_at = -1};
    ck_assert_int_eq(kw__meta_store_range(s, "a0", 2, "a\x80", 2, 0, collect, &r2), 0);
    ck_assert_int_eq(r2.n, 3);
    ck_assert_str_eq(r2.keys[0], "aa");
    ck_assert_str_eq(r2.keys[2], "a\x7f");
    /* Empty and inverted ranges. */
    seen r3 = {.stop_at = -1};
    ck_assert_int_eq(kw__meta_store_range(s, "b", 1, "b", 1, 0, collect, &r3), 0);
    ck_assert_int_eq(kw__meta_store_range(s, "c", 1, "a", 1, 0, collect, &r3), 0);
    ck_assert_int_eq(r3.n, 0);
    /* Limit. */
    seen r4 = {.stop_at = -1};
    ck_assert_int_eq(kw__meta_store_range(s, "ab", 2, NULL, 0, 3, collect, &r4), 0);
    ck_assert_int_eq(r4.n, 3);
    ck_assert_str_eq(r4.keys[0], "ab");
    ck_assert_str_eq(r4.keys[2], "a\xff");
    /* The callback stops the scan and its value comes back. */
    seen r5 = {.stop_at = 1};
    ck_assert_int_eq(kw__meta_store_range(s, NULL, 0, NULL, 0, 0, collect, &r5), 7);
    ck_assert_int_eq(r5.n, 2);

    /* Prefixes, including one ending in 0xff and one of only 0xff. */
    seen p1 = {.stop_at = -1};
    ck_assert_int_eq(kw__meta_store_range_prefix(s, "a", 1, 0, collect, &p1), 0);
    ck_assert_int_eq(p1.n, 5);
    ck_assert_str_eq(p1.keys[4], "a\xff");
    seen p2 = {.stop_at = -1};
    ck_assert_int_eq(kw__meta_store_range_prefix(s, "a\xff", 2, 0, collect, &p2), 0);
    ck_assert_int_eq(p2.n, 1);
    ck_assert_str_eq(p2.keys[0], "a\xff");
    seen p3 = {.stop_at = -1};
    ck_assert_int_eq(kw__meta_store_range_prefix(s, "\xff", 1, 0, collect, &p3), 0);
    ck_assert_int_eq(p3.n, 1);
    ck_assert_str_eq(p3.keys[0], "\xff\xff");
    seen p4 = {.stop_at = -1};
    ck_assert_int_eq(kw__meta_store_range_prefix(s, "ab", 2, 0, collect, &p4), 0);
    ck_assert_int_eq(p4.n, 1);
    kw__meta_store_close(s);
    tdir_remove(&d);
}
END_TEST

/* A range callback that writes to the store it scans: no deadlock, and a snapshot scan. */
static int write_back(void *arg, const kw_meta_kv *kv)
{
    kw_meta_store *s = arg;
    char k[64];
    ck_assert_uint_lt(kv->key_len, 40);
    memcpy(k, kv->key, kv->key_len);
    memcpy(k + kv->key_len, "/copy", 6);
    return kw__meta_store_put(s, k, strlen(k), kv->value, kv->value_len, NULL);
}

START_TEST(range_callback_may_write_to_the_store_it_scans)
{
    tdir d;
    tdir_make(&d);
    kw_meta_store *s = must_open(&d, 0, NULL);
    put_str(s, "k1", "one");
    put_str(s, "k2", "two");
    ck_assert_int_eq(kw__meta_store_range_prefix(s, "k", 1, 0, write_back, s), 0);
    expect_str(s, "k1/copy", "one");
    expect_str(s, "k2/copy", "two");
    seen all = {.stop_at = -1};
    ck_assert_int_eq(kw__meta_store_range(s, NULL, 0, NULL, 0, 0, collect, &all), 0);
    ck_assert_int_eq(all.n, 4); /* the copies were not scanned again */
    kw__meta_store_close(s);
    tdir_remove(&d);
}
END_TEST

/* ---- durability and recovery ---- */

static void value_for(char *out, size_t cap, int i, int gen)
{
    snprintf(out, cap, "value-%d-gen-%d-%.*s", i, gen, i % 40,
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}

START_TEST(reopen_keeps_every_pair_and_revision_through_compactions)
{
    tdir d;
    tdir_make(&d);
    /* A small compaction threshold so the 720 writes below compact many times. */
    kw_meta_store *s = must_open(&d, 4096, NULL);
    char k[32], v[96];
    uint64_t revs[120] = {0};
    for (int gen = 0; gen < 6; gen++)
        for (int i = 0; i < 120; i++) {
            snprintf(k, sizeof(k), "region/%04d", i);
            value_for(v, sizeof(v), i, gen);
            revs[i] = put_str(s, k, v);
        }
    for (int i = 0; i < 120; i += 3) {
        snprintf(k, sizeof(k), "region/%04d", i);
        ck_assert_int_eq(kw__meta_store_del(s, k, strlen(k), NULL), 0);
    }
    uint64_t last = 0;
    ck_assert_int_eq(kw__meta_store_del(s, "region/0001", 11, &last), 0); /* the top revision */
    /* Compacted: the log is far smaller than 2000 records would be. */
    if (!on_etcd()) /* etcd compacts its own way */
        ck_assert_int_lt(file_size(&d, KW_META_STORE_FILE_DATA), 2 * 120 * 100 + 4096);
    kw__meta_store_close(s);

    for (int round = 0; round < 2; round++) {
        s = must_open(&d, 4096, NULL);
        for (int i = 0; i < 120; i++) {
            snprintf(k, sizeof(k), "region/%04d", i);
            if (i % 3 == 0 || i == 1) {
                ck_assert_int_eq(kw__meta_store_get(s, k, strlen(k), NULL, NULL, NULL),
                                 KW_ENOTFOUND);
                continue;
            }
            value_for(v, sizeof(v), i, 5);
            ck_assert_uint_eq(expect_str(s, k, v), revs[i]);
        }
        /* The counter continues past the last delete, not past the highest live key. */
        uint64_t r = put_str(s, round ? "after/1" : "after/0", "x");
        if (on_etcd()) /* etcd's revision is the whole cluster's: other writers move it too */
            ck_assert_uint_ge(r, last + 1 + (uint64_t)round);
        else
            ck_assert_uint_eq(r, last + 1 + (uint64_t)round);
        kw__meta_store_close(s);
    }
    tdir_remove(&d);
}
END_TEST

START_TEST(a_torn_temp_file_is_ignored_and_removed)
{
    tdir d;
    tdir_make(&d);
    kw_meta_store *s = must_open(&d, 0, NULL);
    put_str(s, "a", "1");
    put_str(s, "b", "2");
    kw__meta_store_close(s);
    /* What a compaction killed mid-write leaves: a header and half a record. */
    char p[512];
    file_path(p, sizeof(p), &d, KW_META_STORE_FILE_DATA);
    FILE *f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    uint8_t buf[40];
    ck_assert_uint_eq(fread(buf, 1, sizeof(buf), f), sizeof(buf));
    fclose(f);
    append_bytes(&d, KW_META_STORE_FILE_TEMP, buf, sizeof(buf));
    append_bytes(&d, KW_META_STORE_FILE_TEMP, "garbage", 7);
    ck_assert_int_eq(file_size(&d, KW_META_STORE_FILE_TEMP), 47);

    logged l = {0};
    s = must_open(&d, 0, &l);
    ck_assert_int_eq(file_size(&d, KW_META_STORE_FILE_TEMP), -1);
    ck_assert_int_eq(l.n, 1);
    ck_assert_msg(strstr(l.last, "unfinished compaction"), "log: %s", l.last);
    expect_str(s, "a", "1");
    expect_str(s, "b", "2");
    ck_assert_uint_eq(put_str(s, "c", "3"), 3);
    kw__meta_store_close(s);
    tdir_remove(&d);
}
END_TEST

START_TEST(a_torn_last_record_is_cut_off_and_the_rest_kept)
{
    tdir d;
    tdir_make(&d);
    kw_meta_store *s = must_open(&d, 0, NULL);
    put_str(s, "a", "1");
    put_str(s, "b", "2");
    off_t good = file_size(&d, KW_META_STORE_FILE_DATA);
    put_str(s, "c", "3");
    off_t full = file_size(&d, KW_META_STORE_FILE_DATA);
    kw__meta_store_close(s);

    /* Cut the last record in half, as a crash between write and fsync can. */
    char p[512];
    file_path(p, sizeof(p), &d, KW_META_STORE_FILE_DATA);
    ck_assert_int_eq(truncate(p, good + (full - good) / 2), 0);
    logged l = {0};
    s = must_open(&d, 0, &l);
    ck_assert_int_eq(l.n, 1);
    ck_assert_msg(strstr(l.last, "torn tail"), "log: %s", l.last);
    ck_assert_int_eq(file_size(&d, KW_META_STORE_FILE_DATA), good);
    expect_str(s, "a", "1");
    expect_str(s, "b", "2");
    ck_assert_int_eq(kw__meta_store_get(s, "c", 1, NULL, NULL, NULL), KW_ENOTFOUND);
    ck_assert_uint_eq(put_str(s, "c", "again"), 3);
    kw__meta_store_close(s);
    full = file_size(&d, KW_META_STORE_FILE_DATA);

    /* A zero-filled tail (the file grew, its data never landed). */
    uint8_t zeros[100] = {0};
    append_bytes(&d, KW_META_STORE_FILE_DATA, zeros, sizeof(zeros));
    s = must_open(&d, 0, NULL);
    expect_str(s, "c", "again");
    kw__meta_store_close(s);
    ck_assert_int_eq(file_size(&d, KW_META_STORE_FILE_DATA), full);
    tdir_remove(&d);
}
END_TEST

START_TEST(a_corrupt_data_file_is_an_error_naming_it_and_is_left_alone)
{
    tdir d;
    tdir_make(&d);
    kw_meta_store *s = must_open(&d, 0, NULL);
    put_str(s, "a", "1");
    off_t first_end = file_size(&d, KW_META_STORE_FILE_DATA);
    put_str(s, "b", "2");
    put_str(s, "c", "3");
    kw__meta_store_close(s);
    off_t size = file_size(&d, KW_META_STORE_FILE_DATA);

    /* A flipped byte in the middle record: valid records follow it, so it is not a tear. */
    flip_byte(&d, first_end + 30);
    char err[256];
    ck_assert_int_eq(open_store(&d, 0, NULL, &s, err, sizeof(err)), KW_ECORRUPT);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, "kv.log") && strstr(err, d.path), "err: %s", err);
    char at[64];
    snprintf(at, sizeof(at), "offset %lld", (long long)first_end);
    ck_assert_msg(strstr(err, at), "err: %s", err);
    ck_assert_int_eq(file_size(&d, KW_META_STORE_FILE_DATA), size); /* not truncated */
    flip_byte(&d, first_end + 30);
    s = must_open(&d, 0, NULL);
    expect_str(s, "c", "3");
    kw__meta_store_close(s);

    /* A damaged frame header in the middle: also corrupt. */
    flip_byte(&d, first_end + 1);
    ck_assert_int_eq(open_store(&d, 0, NULL, &s, err, sizeof(err)), KW_ECORRUPT);
    flip_byte(&d, first_end + 1);

    /* A damaged file header. */
    flip_byte(&d, 3);
    ck_assert_int_eq(open_store(&d, 0, NULL, &s, err, sizeof(err)), KW_ECORRUPT);
    ck_assert_msg(strstr(err, "kv.log") && strstr(err, "header"), "err: %s", err);
    flip_byte(&d, 3);

    /* An empty data file is not an empty store. */
    char p[512];
    file_path(p, sizeof(p), &d, KW_META_STORE_FILE_DATA);
    ck_assert_int_eq(truncate(p, 0), 0);
    ck_assert_int_eq(open_store(&d, 0, NULL, &s, err, sizeof(err)), KW_ECORRUPT);
    ck_assert_int_eq(file_size(&d, KW_META_STORE_FILE_DATA), 0);
    tdir_remove(&d);
}
END_TEST

/* A record whose checksums hold but whose contents do not parse is not a tear: it is corrupt,
 * even at the very end of the file. */
START_TEST(a_checksummed_record_that_does_not_parse_is_corrupt)
{
    tdir d;
    tdir_make(&d);
    kw_meta_store *s = must_open(&d, 0, NULL);
    put_str(s, "a", "1");
    kw__meta_store_close(s);
    off_t size = file_size(&d, KW_META_STORE_FILE_DATA);
    uint8_t rec[12 + 17 + 1] = {0};
    uint8_t *body = rec + 12;
    body[0] = 9; /* no such record type */
    body[1] = 5; /* revision 5 */
    body[9] = 1; /* key length 1, value length 0 */
    body[17] = 'z';
    uint32_t len = 18, bcrc = kw__crc32c(0, body, 18);
    memcpy(rec, &len, 4); /* the test runs little-endian, like the format */
    memcpy(rec + 4, &bcrc, 4);
    uint32_t hcrc = kw__crc32c(0, rec, 8);
    memcpy(rec + 8, &hcrc, 4);
    append_bytes(&d, KW_META_STORE_FILE_DATA, rec, sizeof(rec));
    char err[256];
    ck_assert_int_eq(open_store(&d, 0, NULL, &s, err, sizeof(err)), KW_ECORRUPT);
    ck_assert_msg(strstr(err, "does not parse"), "err: %s", err);
    ck_assert_int_eq(file_size(&d, KW_META_STORE_FILE_DATA), size + (off_t)sizeof(rec));
    /* The same record with a put type is a valid write of z = "" at revision 5. */
    body[0] = 1;
    bcrc = kw__crc32c(0, body, 18);
    memcpy(rec + 4, &bcrc, 4);
    hcrc = kw__crc32c(0, rec, 8);
    memcpy(rec + 8, &hcrc, 4);
    char p[512];
    file_path(p, sizeof(p), &d, KW_META_STORE_FILE_DATA);
    ck_assert_int_eq(truncate(p, size), 0);
    append_bytes(&d, KW_META_STORE_FILE_DATA, rec, sizeof(rec));
    s = must_open(&d, 0, NULL);
    ck_assert_uint_eq(expect_str(s, "z", ""), 5);
    ck_assert_uint_eq(put_str(s, "y", "next"), 6);
    kw__meta_store_close(s);
    tdir_remove(&d);
}
END_TEST

START_TEST(a_bloated_log_is_compacted_when_opened)
{
    tdir d;
    tdir_make(&d);
    kw_meta_store *s = must_open(&d, 1u << 30, NULL); /* never compacts */
    static uint8_t v[4000];
    for (int i = 0; i < 100; i++) {
        memset(v, 'a' + i % 26, sizeof(v));
        ck_assert_int_eq(kw__meta_store_put(s, "hot", 3, v, sizeof(v), NULL), 0);
    }
    kw__meta_store_close(s);
    ck_assert_int_gt(file_size(&d, KW_META_STORE_FILE_DATA), 100 * 4000);
    s = must_open(&d, 4096, NULL);
    ck_assert_int_eq(file_size(&d, KW_META_STORE_FILE_DATA), 24 + 12 + 17 + 3 + 4000);
    uint8_t *got = NULL;
    size_t n = 0;
    uint64_t rev = 0;
    ck_assert_int_eq(kw__meta_store_get(s, "hot", 3, &got, &n, &rev), 0);
    ck_assert_uint_eq(n, 4000);
    ck_assert_int_eq(memcmp(got, v, n), 0);
    ck_assert_uint_eq(rev, R(100));
    free(got);
    kw__meta_store_close(s);
    tdir_remove(&d);
}
END_TEST

START_TEST(a_locked_store_cannot_be_opened_twice)
{
    tdir d;
    tdir_make(&d);
    kw_meta_store *s = must_open(&d, 0, NULL);
    kw_meta_store *s2 = NULL;
    char err[256];
    ck_assert_int_eq(open_store(&d, 0, NULL, &s2, err, sizeof(err)), KW_EAGAIN);
    ck_assert_ptr_null(s2);
    ck_assert_msg(strstr(err, "locked"), "err: %s", err);
    /* Another process is kept out too. */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        kw_meta_store *c = NULL;
        _exit(open_store(&d, 0, NULL, &c, NULL, 0) == KW_EAGAIN ? 0 : 1);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    kw__meta_store_close(s);
    s2 = must_open(&d, 0, NULL);
    kw__meta_store_close(s2);
    tdir_remove(&d);
}
END_TEST

START_TEST(limits_and_bad_arguments_are_refused_before_any_write)
{
    tdir d;
    tdir_make(&d);
    kw_meta_store *s = must_open(&d, 0, NULL);
    uint8_t *big = malloc(KW_META_STORE_MAX_VALUE + 1);
    ck_assert_ptr_nonnull(big);
    for (size_t i = 0; i <= KW_META_STORE_MAX_VALUE; i++)
        big[i] = (uint8_t)(i * 31 + 7);
    uint8_t key[KW_META_STORE_MAX_KEY + 1];
    memset(key, 'k', sizeof(key));

    ck_assert_int_eq(kw__meta_store_put(s, key, KW_META_STORE_MAX_KEY + 1, "v", 1, NULL),
                     KW_ETOOBIG);
    char err[256];
    kw__meta_store_errstr(s, err, sizeof(err));
    ck_assert_str_eq(err, "key of 1025 bytes (the limit is 1024)");
    ck_assert_int_eq(kw__meta_store_put(s, "k", 1, big, KW_META_STORE_MAX_VALUE + 1, NULL),
                     KW_ETOOBIG);
    ck_assert_int_eq(kw__meta_store_put(s, "", 0, "v", 1, NULL), KW_EINVAL);
    ck_assert_int_eq(kw__meta_store_put(s, NULL, 3, "v", 1, NULL), KW_EINVAL);
    ck_assert_int_eq(kw__meta_store_put(s, "k", 1, NULL, 1, NULL), KW_EINVAL);
    ck_assert_int_eq(kw__meta_store_cas(s, key, KW_META_STORE_MAX_KEY + 1, 0, "v", 1, NULL),
                     KW_ETOOBIG);
    ck_assert_int_eq(kw__meta_store_get(s, "", 0, NULL, NULL, NULL), KW_EINVAL);
    ck_assert_int_eq(kw__meta_store_del(s, NULL, 0, NULL), KW_EINVAL);
    ck_assert_int_eq(kw__meta_store_range(s, NULL, 0, NULL, 0, 0, NULL, NULL), KW_EINVAL);
    ck_assert_int_eq(kw__meta_store_put(NULL, "k", 1, "v", 1, NULL), KW_EINVAL);

    /* The largest key with the largest value is fine, and survives a reopen. */
    uint64_t rev = 0;
    ck_assert_int_eq(
        kw__meta_store_put(s, key, KW_META_STORE_MAX_KEY, big, KW_META_STORE_MAX_VALUE, &rev), 0);
    ck_assert_uint_eq(rev, R(1)); /* nothing refused above used a revision */
    kw__meta_store_close(s);
    s = must_open(&d, 0, NULL);
    uint8_t *v = NULL;
    size_t n = 0;
    ck_assert_int_eq(kw__meta_store_get(s, key, KW_META_STORE_MAX_KEY, &v, &n, &rev), 0);
    ck_assert_uint_eq(n, KW_META_STORE_MAX_VALUE);
    ck_assert_int_eq(memcmp(v, big, n), 0);
    free(v);
    free(big);
    kw__meta_store_close(s);

    kw_meta_store_file_options none = {0};
    ck_assert_int_eq(kw__meta_store_file_open(&none, &s, err, sizeof(err)), KW_EINVAL);
    tdir_remove(&d);
}
END_TEST

/* ---- threads ---- */

typedef struct counter_arg {
    kw_meta_store *s;
    int wins;
    int conflicts;
} counter_arg;

/* Adds one to a decimal counter by read, compare-and-put, retry. */
static void *count_up(void *p)
{
    counter_arg *a = p;
    for (int i = 0; i < 40; i++) {
        for (;;) {
            uint8_t *v = NULL;
            size_t n = 0;
            uint64_t rev = 0;
            if (kw__meta_store_get(a->s, "counter", 7, &v, &n, &rev) != 0)
                return NULL;
            char buf[32];
            snprintf(buf, sizeof(buf), "%.*s", (int)n, (const char *)v);
            free(v);
            snprintf(buf, sizeof(buf), "%ld", strtol(buf, NULL, 10) + 1);
            int rc = kw__meta_store_cas(a->s, "counter", 7, rev, buf, strlen(buf), NULL);
            if (rc == 0) {
                a->wins++;
                break;
            }
            if (rc != KW_EAGAIN)
                return NULL;
            a->conflicts++;
        }
    }
    return NULL;
}

START_TEST(compare_and_put_from_four_threads_loses_no_increment)
{
    tdir d;
    tdir_make(&d);
    kw_meta_store *s = must_open(&d, 2048, NULL);
    put_str(s, "counter", "0");
    pthread_t t[4];
    counter_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (counter_arg){s, 0, 0};
        ck_assert_int_eq(pthread_create(&t[i], NULL, count_up, &a[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(a[i].wins, 40);
    }
    expect_str(s, "counter", "160");
    kw__meta_store_close(s);
    s = must_open(&d, 0, NULL);
    ck_assert_uint_eq(expect_str(s, "counter", "160"), R(161));
    kw__meta_store_close(s);
    tdir_remove(&d);
}
END_TEST

/* ---- kill -9 ---- */

#define KILL_ROUNDS 10

/* Distinct values of varying length (1..1500 bytes) for key i of a round. */
static size_t kill_value(uint8_t *out, int round, uint32_t i)
{
    size_t n = 1 + (i * 7919u + (uint32_t)round * 31u) % 1500u;
    for (size_t j = 0; j < n; j++)
        out[j] = (uint8_t)(i + j * 13 + (size_t)round * 101 + (j == 0 ? 0 : i >> 8));
    return n;
}

static void kill_key(char *out, size_t cap, int round, uint32_t i)
{
    snprintf(out, cap, "r%02d/k%07u", round, i);
}

/* The round's hot key, rewritten after every put with a big value, so the log compacts often
 * and kills land in compactions too. */
#define HOT_LEN 6000u
static void hot_value(uint8_t *out, uint32_t i)
{
    for (size_t j = 0; j < HOT_LEN; j++)
        out[j] = (uint8_t)(i * 7 + j);
    memcpy(out, &i, sizeof(i));
}

/* The child: puts key i = value i forever, reporting each acknowledged i through the pipe. */
static void kill_child(const tdir *d, int round, int wfd)
{
    kw_meta_store *s = NULL;
    kw_meta_store_file_options o = {.dir = d->path, .compact_min_bytes = 32 * 1024};
    if (kw__meta_store_file_open(&o, &s, NULL, 0) != 0)
        _exit(2);
    uint8_t v[1600], hot[HOT_LEN];
    char k[32], hotk[16];
    snprintf(hotk, sizeof(hotk), "hot%02d", round);
    for (uint32_t i = 0;; i++) {
        kill_key(k, sizeof(k), round, i);
        size_t n = kill_value(v, round, i);
        if (kw__meta_store_put(s, k, strlen(k), v, n, NULL) != 0)
            _exit(3);
        /* Every 50th key is deleted and written again before it is reported, so deletes
         * cross the kills too. */
        if (i % 50 == 49) {
            if (kw__meta_store_del(s, k, strlen(k), NULL) != 0 ||
                kw__meta_store_put(s, k, strlen(k), v, n, NULL) != 0)
                _exit(5);
        }
        hot_value(hot, i);
        if (kw__meta_store_put(s, hotk, strlen(hotk), hot, HOT_LEN, NULL) != 0)
            _exit(6);
        if (write(wfd, &i, sizeof(i)) != (ssize_t)sizeof(i))
            _exit(4);
    }
}

START_TEST(kill_9_during_puts_loses_nothing_acknowledged)
{
    tdir d;
    tdir_make(&d);
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    uint32_t acked[KILL_ROUNDS] = {0};
    logged recovered = {0};
    for (int round = 0; round < KILL_ROUNDS; round++) {
        int p[2];
        ck_assert_int_eq(pipe(p), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            close(p[0]);
            kill_child(&d, round, p[1]);
        }
        close(p[1]);
        long ms = 20 + rand_r(&seed) % 181;
        struct timespec ts = {0, ms * 1000000L};
        nanosleep(&ts, NULL);
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        int st;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child ended by itself: %d", st);
        /* The acknowledgements, in order: 0, 1, 2, ... */
        uint32_t i;
        ssize_t r;
        while ((r = read(p[0], &i, sizeof(i))) == (ssize_t)sizeof(i)) {
            ck_assert_uint_eq(i, acked[round]);
            acked[round]++;
        }
        ck_assert_int_eq(r, 0);
        close(p[0]);

        /* Every acknowledged key of this and every earlier round is there, with its value;
         * at most the one put in flight is there beyond them. */
        kw_meta_store *s = must_open(&d, 32 * 1024, &recovered);
        uint8_t want[HOT_LEN];
        char k[32];
        for (int rr = 0; rr <= round; rr++) {
            for (uint32_t j = 0; j < acked[rr]; j++) {
                kill_key(k, sizeof(k), rr, j);
                size_t n = kill_value(want, rr, j);
                uint8_t *v = NULL;
                size_t vn = 0;
                int rc = kw__meta_store_get(s, k, strlen(k), &v, &vn, NULL);
                ck_assert_msg(rc == 0, "round %d: acknowledged %s is gone (%s)", round, k,
                              kw_err_name(rc));
                ck_assert_uint_eq(vn, n);
                ck_assert_int_eq(memcmp(v, want, n), 0);
                free(v);
            }
            kill_key(k, sizeof(k), rr, acked[rr] + 1);
            ck_assert_int_eq(kw__meta_store_get(s, k, strlen(k), NULL, NULL, NULL), KW_ENOTFOUND);
        }
        /* The hot key holds the last acknowledged value, or the one in flight. */
        uint8_t *v = NULL;
        size_t vn = 0;
        snprintf(k, sizeof(k), "hot%02d", round);
        int rc = kw__meta_store_get(s, k, strlen(k), &v, &vn, NULL);
        if (acked[round] == 0 && rc == KW_ENOTFOUND) {
            /* killed before its first hot put */
        } else {
            ck_assert_int_eq(rc, 0);
            ck_assert_uint_eq(vn, HOT_LEN);
            uint32_t which;
            memcpy(&which, v, sizeof(which));
            ck_assert_msg(which + 1 == acked[round] || which == acked[round],
                          "round %d: hot key holds %u, acknowledged %u", round, which,
                          acked[round]);
            hot_value(want, which);
            ck_assert_int_eq(memcmp(v, want, HOT_LEN), 0);
        }
        free(v);
        kw__meta_store_close(s);
        ck_assert_int_eq(file_size(&d, KW_META_STORE_FILE_TEMP), -1);
        if (getenv("KW_TEST_VERBOSE"))
            fprintf(stderr,
                    "round %d: %u acknowledged, kv.log %lld bytes, %d recovery notes (%s)\n", round,
                    acked[round], (long long)file_size(&d, KW_META_STORE_FILE_DATA), recovered.n,
                    recovered.last);
    }
    /* The children got real work done. */
    uint32_t total = 0;
    for (int r = 0; r < KILL_ROUNDS; r++)
        total += acked[r];
    ck_assert_uint_gt(total, KILL_ROUNDS);
    tdir_remove(&d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("meta_store");
    TCase *tc = tcase_create("meta_store");
    tcase_set_timeout(tc, 120);
    /* The cases every backend must pass alike. */
    tcase_add_test(tc, put_then_get_returns_the_value_and_a_growing_revision);
    tcase_add_test(tc, get_of_an_absent_key_is_notfound_and_leaves_outputs_alone);
    tcase_add_test(tc, compare_and_put_writes_only_on_the_expected_revision);
    tcase_add_test(tc, delete_removes_and_revisions_are_never_reused);
    tcase_add_test(tc, range_is_sorted_by_unsigned_bytes_and_honours_bounds_and_limit);
    tcase_add_test(tc, range_callback_may_write_to_the_store_it_scans);
    tcase_add_test(tc, reopen_keeps_every_pair_and_revision_through_compactions);
    tcase_add_test(tc, limits_and_bad_arguments_are_refused_before_any_write);
    tcase_add_test(tc, compare_and_put_from_four_threads_loses_no_increment);
    if (on_etcd()) {
        const char *eps = getenv("KWAL_ETCD_ENDPOINTS");
        if (!eps || !*eps) {
            fprintf(stderr, "KWAL_ETCD_ENDPOINTS is not set (tests/etcd/etcd up; eval "
                            "\"$(tests/etcd/etcd env)\"): skipped\n");
            return 77;
        }
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
    }
    /* The file backend's own: recovery, the lock, kill -9. */
    tcase_add_test(tc, a_torn_temp_file_is_ignored_and_removed);
    tcase_add_test(tc, a_torn_last_record_is_cut_off_and_the_rest_kept);
    tcase_add_test(tc, a_corrupt_data_file_is_an_error_naming_it_and_is_left_alone);
    tcase_add_test(tc, a_checksummed_record_that_does_not_parse_is_corrupt);
    tcase_add_test(tc, a_bloated_log_is_compacted_when_opened);
    tcase_add_test(tc, a_locked_store_cannot_be_opened_twice);
    tcase_add_test(tc, kill_9_during_puts_loses_nothing_acknowledged);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
