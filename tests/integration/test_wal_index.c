/* The kafka WAL's replay index against the real broker: sparse replay, fallback, a moved region, a SIGKILLed writer. */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kafka_io.h"
#include "kwal/batch.h"
#include "kwal/client.h"
#include "kwal/wal.h"

static kt_conn admin;
static char prefix[64];
static int seq;

static void setup(void)
{
    ck_assert_msg(kt_connect(&admin, kt_bootstrap()) == 0, "cannot reach the broker at %s",
                  kt_bootstrap());
    snprintf(prefix, sizeof(prefix), "kwal-index-%d", getpid());
}

static void teardown(void)
{
    kt_close(&admin);
}

/* A fresh WAL topic and index topic name (the index topic is made by the WAL itself). */
static void names(char *topic, char *index, size_t cap)
{
    int n = seq++;
    snprintf(topic, cap, "%s-t%d", prefix, n);
    snprintf(index, cap, "%s-ix%d", prefix, n);
    ck_assert_int_eq(kt_create_topic(&admin, topic, 1), 0);
}

static void log_line(void *arg, int level, const char *msg)
{
    (void)arg;
    if (getenv("KWAL_TEST_LOG"))
        fprintf(stderr, "wal[%d]: %s\n", level, msg);
}

static kw_wal *open_wal_every(const char *topic, const char *index, bool no_index,
                             uint32_t interval_ms)
{
    kw_wal_options o = {0};
    o.log = log_line;
    o.provider = KW_WAL_PROVIDER_KAFKA;
    o.kafka.bootstrap = kt_bootstrap();
    o.topic = topic;
    o.index_topic = index;
    o.no_index = no_index;
    o.index_interval_ms = interval_ms;
    o.timeout_ms = 10000;
    kw_wal *w = NULL;
    char err[256];
    int rc = kw_wal_open(&w, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_wal_open: %s (%s)", err, kw_err_name(rc));
    return w;
}

static kw_wal *open_wal(const char *topic, const char *index, bool no_index)
{
    return open_wal_every(topic, index, no_index, 100);
}

static void fill(uint8_t *b, size_t len, uint64_t region, int i)
{
    uint64_t x = region * 1000003u + (uint64_t)i * 7919u + 1;
    for (size_t j = 0; j < len; j++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b[j] = (uint8_t)x;
    }
}

typedef struct {
    int n;
    pthread_mutex_t mu;
} counter;

/* What a replay returned: ids and bytes, in order. */
typedef struct {
    uint64_t *ids;
    size_t n;
    uint8_t *bytes;
    size_t len;
    kw_wal_replay_stats st;
} replayed;

static void on_ack(void *arg, int err, uint64_t id, const char *detail)
{
    (void)id;
    ck_assert_msg(err == 0, "append: %s", detail);
    counter *c = arg;
    pthread_mutex_lock(&c->mu);
    c->n++;
    pthread_mutex_unlock(&c->mu);
}

/*
 * rounds x (bulk entries of region `bulk`, then one entry of region `sparse`
 * once they are durable): the sparse region's entries sit in batches of their own.
 */
static replayed replay(kw_wal *w, uint64_t region, uint64_t from);
static void freed(replayed *a);

static void write_sparse(kw_wal *w, uint64_t sparse, uint64_t bulk, int rounds, int bulk_n,
                         int base)
{
    /* a host opening a region replays it first: that replay tells the handle where its
     * entries are so far (the index of the region starts from there) */
    replayed r1 = replay(w, sparse, 0), r2 = replay(w, bulk, 0);
    freed(&r1), freed(&r2);
    /* 4 KiB: a round's bulk entries are more than the gap a replay fetches through (256 KiB) */
    static uint8_t buf[4096];
    for (int r = 0; r < rounds; r++) {
        counter c = {0, PTHREAD_MUTEX_INITIALIZER};
        for (int i = 0; i < bulk_n; i++) {
            fill(buf, sizeof(buf), bulk, base + r * bulk_n + i);
            ck_assert_int_eq(kw_wal_append(w, bulk, buf, sizeof(buf), on_ack, &c), 0);
        }
        for (;;) {
            pthread_mutex_lock(&c.mu);
            int n = c.n;
            pthread_mutex_unlock(&c.mu);
            if (n == bulk_n)
                break;
            usleep(1000);
        }
        uint64_t id;
        fill(buf, 100, sparse, base + r);
        ck_assert_int_eq(kw_wal_append_sync(w, sparse, buf, 100, &id), 0);
    }
}


static replayed replay(kw_wal *w, uint64_t region, uint64_t from)
{
    replayed out = {0};
    kw_wal_replay *r = NULL;
    int rc = kw_wal_replay_open(w, region, from, 0, &r);
    ck_assert_msg(rc == 0, "replay_open: %s", kw_wal_errstr(w));
    uint64_t id;
    const uint8_t *d;
    size_t len;
    size_t idcap = 0, bytecap = 0;
    while ((rc = kw_wal_replay_next(r, &id, &d, &len, 10000)) == 1) {
        if (out.n == idcap)
            out.ids = realloc(out.ids, (idcap = idcap ? idcap * 2 : 64) * sizeof(*out.ids));
        out.ids[out.n++] = id;
        if (out.len + len + 8 > bytecap) {
            while (out.len + len + 8 > bytecap)
                bytecap = bytecap ? bytecap * 2 : 65536;
            out.bytes = realloc(out.bytes, bytecap);
        }
        memcpy(out.bytes + out.len, &len, 8);
        memcpy(out.bytes + out.len + 8, d, len);
        out.len += len + 8;
    }
    ck_assert_msg(rc == 0, "replay_next: %s", kw_wal_replay_errstr(r));
    kw_wal_replay_stats_get(r, &out.st);
    kw_wal_replay_close(r);
    return out;
}

static void same(const replayed *a, const replayed *b)
{
    ck_assert_uint_eq(a->n, b->n);
    ck_assert_uint_eq(a->len, b->len);
    ck_assert(memcmp(a->ids, b->ids, a->n * sizeof(*a->ids)) == 0);
    ck_assert(memcmp(a->bytes, b->bytes, a->len) == 0);
}

static void freed(replayed *a)
{
    free(a->ids);
    free(a->bytes);
}

START_TEST(sparse_region_fetches_less_and_returns_the_same_entries_also_after_pruning)
{
    char topic[128], index[128];
    names(topic, index, sizeof(topic));
    kw_wal *w = open_wal(topic, index, false);
    write_sparse(w, 1, 2, 20, 100, 0);
    kw_wal_close(w); /* writes the index */

    kw_wal *plain = open_wal(topic, index, true);
    kw_wal *ix = open_wal(topic, index, false);
    replayed full = replay(plain, 1, 0), fast = replay(ix, 1, 0);
    ck_assert_uint_eq(full.n, 20);
    same(&full, &fast);
    ck_assert_int_eq(full.st.index, KW_WAL_REPLAY_INDEX_NONE);
    ck_assert_msg(fast.st.index == KW_WAL_REPLAY_INDEX_USED, "index %d: %s", fast.st.index,
                  fast.st.index_note);
    ck_assert_msg(fast.st.bytes_fetched * 20 < full.st.bytes_fetched,
                  "indexed replay fetched %llu bytes, a full read %llu",
                  (unsigned long long)fast.st.bytes_fetched,
                  (unsigned long long)full.st.bytes_fetched);
    ck_assert_uint_gt(fast.st.offsets_skipped, 1900);
    /* the bulk region: every batch but the sparse one's is fetched, same entries */
    replayed bf = replay(plain, 2, 0), bi = replay(ix, 2, 0);
    ck_assert_uint_eq(bf.n, 2000);
    same(&bf, &bi);
    ck_assert_int_eq(bi.st.index, KW_WAL_REPLAY_INDEX_USED);
    /* from past the region's last entry: nothing to fetch */
    replayed none = replay(ix, 1, full.ids[full.n - 1] + 1);
    ck_assert_uint_eq(none.n, 0);
    ck_assert_msg(none.st.fetches == 0, "fetches %llu: %s", (unsigned long long)none.st.fetches,
                  none.st.index_note);
    /* from the middle */
    replayed mf = replay(plain, 1, full.ids[10]), mi = replay(ix, 1, full.ids[10]);
    ck_assert_uint_eq(mf.n, 10);
    same(&mf, &mi);
    /* pruned below the region's 11th entry: the index's ranges below the log start are not asked for */
    ck_assert_int_eq(kt_delete_records(&admin, topic, (int64_t)full.ids[10]), 0);
    replayed pf = replay(plain, 1, full.ids[10]), pi = replay(ix, 1, full.ids[10]);
    ck_assert_uint_eq(pf.n, 10);
    same(&pf, &pi);
    ck_assert_int_eq(pi.st.index, KW_WAL_REPLAY_INDEX_USED);
    freed(&full), freed(&fast), freed(&bf), freed(&bi), freed(&none), freed(&mf), freed(&mi);
    freed(&pf), freed(&pi);
    kw_wal_close(plain);
    kw_wal_close(ix);
}
END_TEST

static void delete_topic(const char *name)
{
    kw_client *c = NULL;
    kw_client_options co = {.bootstrap = kt_bootstrap()};
    char err[200];
    ck_assert_int_eq(kw_client_new(&c, &co, err, sizeof(err)), 0);
    kw_client_delete_topics_args a = {.names = &name, .name_count = 1, .timeout_ms = 10000};
    kw_client_topics_result r;
    ck_assert_int_eq(kw_client_delete_topics(c, &a, &r), 0);
    kw_client_topics_result_free(&r);
    kw_client_destroy(c);
}

/*
 * One index write for thousands of regions: their records are more than the
 * broker's 1 MiB message.max.bytes, so they must go in several batches.  In
 * one batch every write was refused (MESSAGE_TOO_LARGE: 10,000 regions on
 * 1,024 topics in bench/wal_append) and replays always fell back.
 */
START_TEST(an_index_of_thousands_of_regions_is_written_in_batches_the_broker_takes)
{
    /* a long topic name: each region's record repeats it in its key and value (~450 bytes) */
    char topic[220], index[128];
    char base[128];
    names(base, index, sizeof(base));
    snprintf(topic, sizeof(topic), "%s-%0*d", base, (int)(200 - strlen(base)), 0);
    ck_assert_int_eq(kt_create_topic(&admin, topic, 1), 0);
    enum { REGIONS = 3000 };
    kw_wal *w = open_wal(topic, index, false);
    counter c = {0, PTHREAD_MUTEX_INITIALIZER};
    uint8_t buf[64];
    for (int r = 0; r < REGIONS; r++) {
        fill(buf, sizeof(buf), (uint64_t)r + 10, r);
        ck_assert_int_eq(kw_wal_append(w, (uint64_t)r + 10, buf, sizeof(buf), on_ack, &c), 0);
    }
    for (int waited = 0;; waited++) {
        pthread_mutex_lock(&c.mu);
        int n = c.n;
        pthread_mutex_unlock(&c.mu);
        if (n == REGIONS)
            break;
        ck_assert_msg(waited < 20000, "%d of %d appends acked after 20 s", n, REGIONS);
        usleep(1000);
    }
    kw_wal_close(w); /* writes the index: ~1.3 MB of records */

    kw_wal *plain = open_wal(topic, index, true);
    kw_wal *ix = open_wal(topic, index, false);
    uint64_t probe[] = {10, 10 + REGIONS / 2, 10 + REGIONS - 1};
    for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
        /* from the entry: its region's index starts at its batch (no replay came first) */
        replayed full = replay(plain, probe[i], 0);
        ck_assert_uint_eq(full.n, 1);
        replayed fast = replay(ix, probe[i], full.ids[0]);
        same(&full, &fast);
        ck_assert_msg(fast.st.index == KW_WAL_REPLAY_INDEX_USED, "region %llu: index %d: %s",
                      (unsigned long long)probe[i], fast.st.index, fast.st.index_note);
        freed(&full), freed(&fast);
    }
    kw_wal_close(plain);
    kw_wal_close(ix);
}
END_TEST

/*
 * A region's burst gets batches of its own (kw_wal_options.no_region_runs
 * off), so a replay of another region skips it through the index.  The WAL
 * is host-driven: nothing is sent before every entry is queued, so the
 * batching is the same in every run.  Regions 1 and 2 alternate (10 entries),
 * region 9 writes 40 KiB in a row, and so on three times; with runs, region
 * 1's replay skips both bursts (80 offsets); without, all 110 entries share
 * one batch and nothing is skipped.
 */
static replayed burst_workload(bool no_runs)
{
    char topic[128], index[128];
    names(topic, index, sizeof(topic));
    kw_wal_options o = {0};
    o.log = log_line;
    o.provider = KW_WAL_PROVIDER_KAFKA;
    o.kafka.bootstrap = kt_bootstrap();
    o.kafka.host_driven = true;
    o.topic = topic;
    o.index_topic = index;
    o.timeout_ms = 10000;
    o.no_region_runs = no_runs;
    kw_wal *w = NULL;
    char err[256];
    ck_assert_msg(kw_wal_open(&w, &o, err, sizeof(err)) == 0, "kw_wal_open: %s", err);
    counter c = {0, PTHREAD_MUTEX_INITIALIZER};
    static uint8_t buf[1024];
    int n = 0;
    for (int part = 0; part < 5; part++) {
        bool burst = part % 2 == 1;
        for (int i = 0; i < (burst ? 40 : 10); i++, n++) {
            uint64_t region = burst ? 9 : 1 + (uint64_t)(i % 2);
            fill(buf, sizeof(buf), region, n); /* random bytes: LZ4 keeps them 1 KiB */
            ck_assert_int_eq(kw_wal_append(w, region, buf, sizeof(buf), on_ack, &c), 0);
        }
    }
    for (int rounds = 0;; rounds++) {
        pthread_mutex_lock(&c.mu);
        int done = c.n;
        pthread_mutex_unlock(&c.mu);
        if (done == n)
            break;
        ck_assert_msg(rounds < 2000, "%d of %d appends acked", done, n);
        kw_wal_run_once(w, 10);
    }
    kw_wal_close(w); /* writes the index */
    kw_wal *r = open_wal(topic, index, false);
    replayed out = replay(r, 1, 0);
    kw_wal_close(r);
    return out;
}

START_TEST(a_regions_burst_gets_batches_of_its_own_that_other_regions_replays_skip)
{
    replayed runs = burst_workload(false), mixed = burst_workload(true);
    ck_assert_uint_eq(runs.n, 15);
    same(&runs, &mixed);
    ck_assert_msg(runs.st.index == KW_WAL_REPLAY_INDEX_USED, "%s", runs.st.index_note);
    ck_assert_msg(runs.st.offsets_skipped == 80, "skipped %llu offsets, want the bursts' 80",
                  (unsigned long long)runs.st.offsets_skipped);
    ck_assert_msg(mixed.st.offsets_skipped == 0, "no_region_runs: skipped %llu offsets",
                  (unsigned long long)mixed.st.offsets_skipped);
    freed(&runs), freed(&mixed);
}
END_TEST

/*
 * A handle keeps the index records it read: a replay reads only those written
 * since its last one.  Every replay read the whole index topic before, so
 * 1,000 one-region replays on a broker whose index held a few hundred
 * thousand records (a busy cluster's) took minutes.
 */
START_TEST(a_replay_reads_only_the_index_records_written_since_the_last)
{
    char topic[128], index[128];
    names(topic, index, sizeof(topic));
    kw_wal *w = open_wal(topic, index, false);
    write_sparse(w, 1, 2, 5, 20, 0);
    kw_wal_close(w);
    /* this reader writes its own index only at close (an hour's interval) */
    kw_wal *ix = open_wal_every(topic, index, false, 3600000);
    replayed r1 = replay(ix, 1, 0), r2 = replay(ix, 2, 0), r3 = replay(ix, 1, 0);
    ck_assert_uint_eq(r1.n, 5);
    ck_assert_uint_eq(r2.n, 100);
    ck_assert_msg(r1.st.index == KW_WAL_REPLAY_INDEX_USED, "%s", r1.st.index_note);
    ck_assert_msg(r2.st.index == KW_WAL_REPLAY_INDEX_USED, "%s", r2.st.index_note);
    ck_assert_uint_ge(r1.st.index_records_read, 2);
    ck_assert_uint_eq(r2.st.index_records_read, 0);
    ck_assert_uint_eq(r3.st.index_records_read, 0);
    same(&r1, &r3);
    /* another host writes region 3 and closes: one new record, read by the next replay */
    kw_wal *other = open_wal(topic, index, false);
    uint8_t buf[64];
    uint64_t id;
    fill(buf, sizeof(buf), 3, 0);
    ck_assert_int_eq(kw_wal_append_sync(other, 3, buf, sizeof(buf), &id), 0);
    kw_wal_close(other);
    replayed r4 = replay(ix, 3, id);
    ck_assert_uint_eq(r4.n, 1);
    ck_assert_uint_eq(r4.ids[0], id);
    ck_assert_msg(r4.st.index == KW_WAL_REPLAY_INDEX_USED, "%s", r4.st.index_note);
    ck_assert_uint_eq(r4.st.index_records_read, 1);
    kw_wal_close(ix);
    freed(&r1), freed(&r2), freed(&r3), freed(&r4);
}
END_TEST

START_TEST(corrupt_or_deleted_index_falls_back_and_says_so)
{
    char topic[128], index[128];
    names(topic, index, sizeof(topic));
    kw_wal *w = open_wal(topic, index, false);
    write_sparse(w, 1, 2, 5, 50, 0);
    kw_wal_close(w);
    kw_wal *plain = open_wal(topic, index, true);
    replayed full = replay(plain, 1, 0);
    ck_assert_uint_eq(full.n, 5);

    /* a newer record for region 1 that is not an index record */
    kw_batch_writer *bw = NULL;
    ck_assert_int_eq(kw_batch_writer_new(&bw, NULL, NULL, 0), 0);
    char key[300];
    snprintf(key, sizeof(key), "kwix/%s/1", topic);
    ck_assert_int_eq(kw_batch_writer_add(bw, 1, key, strlen(key), "KWIX\001garbage", 12, NULL, 0),
                     0);
    const uint8_t *b;
    size_t bl;
    ck_assert_int_eq(kw_batch_writer_finish(bw, &b, &bl), 0);
    int64_t base;
    ck_assert_int_eq(kt_produce(&admin, index, b, bl, &base), 0);
    kw_batch_writer_destroy(bw);
    kw_wal *ix = open_wal(topic, index, false);
    replayed c = replay(ix, 1, 0);
    same(&full, &c);
    ck_assert_int_eq(c.st.index, KW_WAL_REPLAY_INDEX_FALLBACK);
    ck_assert_msg(strstr(c.st.index_note, "corrupt index record"), "%s", c.st.index_note);
    kw_wal_close(ix); /* seeded from that replay: it writes a good record again */

    ix = open_wal(topic, index, false);
    replayed again = replay(ix, 1, 0);
    same(&full, &again);
    ck_assert_msg(again.st.index == KW_WAL_REPLAY_INDEX_USED, "%s", again.st.index_note);
    kw_wal_close(ix);

    delete_topic(index);
    ix = open_wal(topic, index, false);
    replayed d = replay(ix, 1, 0);
    same(&full, &d);
    ck_assert_int_eq(d.st.index, KW_WAL_REPLAY_INDEX_FALLBACK);
    ck_assert_msg(strstr(d.st.index_note, "missing"), "%s", d.st.index_note);
    kw_wal_close(ix);
    kw_wal_close(plain);
    freed(&full), freed(&c), freed(&again), freed(&d);
}
END_TEST

START_TEST(moved_region_replays_through_the_new_hosts_index)
{
    char topic[128], index[128];
    names(topic, index, sizeof(topic));
    kw_wal *a = open_wal(topic, index, false);
    write_sparse(a, 1, 2, 10, 50, 0);
    kw_wal_close(a);
    /* host B takes region 1: replays it (through A's index), then writes more */
    kw_wal *b = open_wal(topic, index, false);
    replayed rb = replay(b, 1, 0);
    ck_assert_uint_eq(rb.n, 10);
    ck_assert_int_eq(rb.st.index, KW_WAL_REPLAY_INDEX_USED);
    write_sparse(b, 1, 3, 10, 50, 1000);
    kw_wal_close(b);
    kw_wal *plain = open_wal(topic, index, true);
    kw_wal *c = open_wal(topic, index, false);
    replayed full = replay(plain, 1, 0), fast = replay(c, 1, 0);
    ck_assert_uint_eq(full.n, 20);
    same(&full, &fast);
    ck_assert_msg(fast.st.index == KW_WAL_REPLAY_INDEX_USED, "%s", fast.st.index_note);
    ck_assert(fast.st.bytes_fetched * 10 < full.st.bytes_fetched);
    replayed f3 = replay(plain, 3, 0), i3 = replay(c, 3, 0);
    same(&f3, &i3);
    kw_wal_close(plain);
    kw_wal_close(c);
    freed(&rb), freed(&full), freed(&fast), freed(&f3), freed(&i3);
}
END_TEST

/* The writer child: sparse and bulk regions, each acked id written to fd. */
static void child(const char *topic, const char *index, int fd)
{
    kw_wal *w = open_wal(topic, index, false);
    if (getenv("KWAL_TEST_LOG"))
        fprintf(stderr, "child: open\n");
    replayed r1 = replay(w, 1, 0), r2 = replay(w, 2, 0);
    if (getenv("KWAL_TEST_LOG"))
        fprintf(stderr, "child: replayed\n");
    freed(&r1), freed(&r2);
    uint8_t buf[512];
    for (int r = 0;; r++) {
        counter c = {0, PTHREAD_MUTEX_INITIALIZER};
        for (int i = 0; i < 40; i++) {
            fill(buf, sizeof(buf), 2, r * 40 + i);
            if (kw_wal_append(w, 2, buf, sizeof(buf), on_ack, &c) != 0)
                _exit(3);
        }
        for (int n = 0; n < 40; usleep(500)) {
            pthread_mutex_lock(&c.mu);
            n = c.n;
            pthread_mutex_unlock(&c.mu);
        }
        uint64_t id;
        fill(buf, 64, 1, r);
        if (kw_wal_append_sync(w, 1, buf, 64, &id) != 0)
            _exit(3);
        if (write(fd, &id, 8) != 8)
            _exit(4);
        if (getenv("KWAL_TEST_LOG"))
            fprintf(stderr, "child: round %d sparse id %llu\n", r, (unsigned long long)id);
    }
}

START_TEST(sigkilled_writer_replays_every_acknowledged_entry)
{
    char topic[128], index[128];
    names(topic, index, sizeof(topic));
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[0]);
        child(topic, index, p[1]);
        _exit(0);
    }
    close(p[1]);
    usleep(2500 * 1000); /* several index writes (every 100 ms) */
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    uint64_t acked[100000];
    size_t n = 0;
    ssize_t got;
    while (n < 100000 && (got = read(p[0], &acked[n], 8)) == 8)
        n++;
    close(p[0]);
    ck_assert_msg(n > 3, "the writer acked %zu sparse entries (status %d)", n, status);
    kw_wal *plain = open_wal(topic, index, true);
    kw_wal *ix = open_wal(topic, index, false);
    replayed full = replay(plain, 1, 0), fast = replay(ix, 1, 0);
    same(&full, &fast);
    ck_assert_msg(fast.st.index == KW_WAL_REPLAY_INDEX_USED, "%s", fast.st.index_note);
    /* every acknowledged id is there */
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        while (j < fast.n && fast.ids[j] < acked[i])
            j++;
        ck_assert_msg(j < fast.n && fast.ids[j] == acked[i], "acked id %llu not replayed",
                      (unsigned long long)acked[i]);
    }
    replayed bf = replay(plain, 2, 0), bi = replay(ix, 2, 0);
    same(&bf, &bi);
    kw_wal_close(plain);
    kw_wal_close(ix);
    freed(&full), freed(&fast), freed(&bf), freed(&bi);
}
END_TEST

int main(void)
{
    kt_conn probe;
    if (kt_connect(&probe, kt_bootstrap()) != 0) {
        fprintf(stderr, "no broker at %s (KWAL_BOOTSTRAP): skipped\n", kt_bootstrap());
        return 77;
    }
    kt_close(&probe);
    Suite *s = suite_create("wal_index");
    TCase *tc = tcase_create("index");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sparse_region_fetches_less_and_returns_the_same_entries_also_after_pruning);
    tcase_add_test(tc, corrupt_or_deleted_index_falls_back_and_says_so);
    tcase_add_test(tc, an_index_of_thousands_of_regions_is_written_in_batches_the_broker_takes);
    tcase_add_test(tc, a_replay_reads_only_the_index_records_written_since_the_last);
    tcase_add_test(tc, a_regions_burst_gets_batches_of_its_own_that_other_regions_replays_skip);
    tcase_add_test(tc, moved_region_replays_through_the_new_hosts_index);
    tcase_add_test(tc, sigkilled_writer_replays_every_acknowledged_entry);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
