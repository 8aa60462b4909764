/* The Kafka WAL provider with a writer SIGKILLed mid-append, ten times: every acknowledged entry replays, exactly once. */
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kafka_io.h"
#include "kwal/wal.h"

#define CRASH_ROUNDS 10
#define CRASH_MAX 100000 /* appends per child at most; seq = round * CRASH_MAX + i */
#define CRASH_REGIONS 4
#define CRASH_IN_FLIGHT 32      /* appends the child keeps queued: batches pipeline */
#define CRASH_BATCH_BYTES 4096  /* small batches: the large entries are split into parts */
#define CRASH_LARGE_EVERY 16    /* one entry in this many is 6-20 kB: 2 to 5 parts */

typedef struct ack_rec {
    uint64_t id;
    uint64_t region;
    uint64_t seq;
} ack_rec;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t payload_len(uint64_t seq)
{
    if (seq % CRASH_LARGE_EVERY == 7)
        return 6000 + (size_t)(seq * 7919 % 14000);
    return 16 + (size_t)(seq * 31 % 300);
}

/* An entry that says which (region, seq) it is, with bytes that depend on both. */
static void make_payload(uint8_t *buf, size_t len, uint64_t region, uint64_t seq)
{
    memcpy(buf, &region, 8);
    memcpy(buf + 8, &seq, 8);
    uint64_t x = region * 1000003u + seq * 7919u + 1;
    for (size_t i = 16; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
}

/* The writer (a child process). ------------------------------------------------------------ */

typedef struct child_ctx {
    int fd;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int in_flight;
} child_ctx;

typedef struct child_append {
    child_ctx *c;
    uint64_t region, seq;
} child_append;

/* The entry is durable (the broker acknowledged it with acks=all): only now tell the parent. */
static void child_acked(void *arg, int err, uint64_t id, const char *detail)
{
    child_append *a = arg;
    child_ctx *c = a->c;
    if (err == 0) {
        ack_rec r = {id, a->region, a->seq};
        if (write(c->fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
            _exit(3);
    }
    pthread_mutex_lock(&c->mu);
    c->in_flight--;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->mu);
    free(a);
}

static void crash_child(const char *topic, int round, int fd)
{
    kw_wal_options o = {.provider = KW_WAL_PROVIDER_KAFKA,
                        .kafka.bootstrap = kt_bootstrap(),
                        .topic = topic,
                        .max_batch_bytes = CRASH_BATCH_BYTES,
                        .timeout_ms = 10000};
    kw_wal *w;
    if (kw_wal_open(&w, &o, NULL, 0))
        _exit(2);
    child_ctx c = {.fd = fd, .mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    uint8_t *buf = malloc(32 * 1024);
    for (uint64_t i = 0; i < CRASH_MAX; i++) {
        pthread_mutex_lock(&c.mu);
        while (c.in_flight >= CRASH_IN_FLIGHT)
            pthread_cond_wait(&c.cond, &c.mu);
        c.in_flight++;
        pthread_mutex_unlock(&c.mu);
        child_append *a = malloc(sizeof(*a));
        a->c = &c;
        a->region = 1 + i % CRASH_REGIONS;
        a->seq = (uint64_t)round * CRASH_MAX + i;
        size_t len = payload_len(a->seq);
        make_payload(buf, len, a->region, a->seq);
        if (kw_wal_append(w, a->region, buf, len, child_acked, a))
            _exit(4);
    }
    for (;;) /* all done before the kill came: wait for it */
        pause();
}

/* The parent. --------------------------------------------------------------------------------- */

typedef struct acks {
    ack_rec *v;
    size_t n, cap;
    uint8_t part[sizeof(ack_rec)];
    size_t npart;
} acks;

static void read_acks(int fd, acks *a)
{
    uint8_t buf[65536];
    ssize_t got;
    while ((got = read(fd, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < got; i++) {
            a->part[a->npart++] = buf[i];
            if (a->npart == sizeof(ack_rec)) {
                if (a->n == a->cap) {
                    a->cap = a->cap ? a->cap * 2 : 4096;
                    a->v = realloc(a->v, a->cap * sizeof(ack_rec));
                }
                memcpy(&a->v[a->n++], a->part, sizeof(ack_rec));
                a->npart = 0;
            }
        }
    }
}

static void pump_acks(int fd, acks *a, uint64_t until_ms)
{
    do {
        struct pollfd pf = {fd, POLLIN, 0};
        poll(&pf, 1, 5);
        read_acks(fd, a);
    } while (now_ms() < until_ms);
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

typedef struct replay_totals {
    size_t replayed, bad_records, incomplete;
} replay_totals;

/*
 * Replays every region and checks: each entry's bytes are the payload its
 * header names, no (region, seq) and no id comes twice, and every
 * acknowledged entry is there with the id it was acknowledged with.
 */
static replay_totals check_log(const char *topic, int rounds, const acks *a)
{
    kw_wal_options o = {.provider = KW_WAL_PROVIDER_KAFKA,
                        .kafka.bootstrap = kt_bootstrap(),
                        .topic = topic,
                        .timeout_ms = 10000};
    kw_wal *w = NULL;
    char err[256];
    int rc = kw_wal_open(&w, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "open: %s", err);
    size_t nseq = (size_t)rounds * CRASH_MAX;
    uint64_t *id_of = calloc(nseq, sizeof(*id_of)); /* seq -> id + 1; 0 = not replayed */
    uint64_t *all_ids = NULL;
    size_t nids = 0, cap_ids = 0;
    replay_totals t = {0};
    uint8_t *want = malloc(32 * 1024);
    for (uint64_t region = 1; region <= CRASH_REGIONS; region++) {
        kw_wal_replay *rp;
        ck_assert_int_eq(kw_wal_replay_open(w, region, 0, 0, &rp), 0);
        uint64_t id;
        const uint8_t *data;
        size_t len;
        while ((rc = kw_wal_replay_next(rp, &id, &data, &len, 10000)) == 1) {
            ck_assert_uint_ge(len, 16);
            uint64_t r, seq;
            memcpy(&r, data, 8);
            memcpy(&seq, data + 8, 8);
            ck_assert_uint_eq(r, region);
            ck_assert_uint_lt(seq, nseq);
            ck_assert_uint_eq(len, payload_len(seq));
            make_payload(want, len, region, seq);
            ck_assert_msg(memcmp(data, want, len) == 0, "entry %llu (seq %llu) differs",
                          (unsigned long long)id, (unsigned long long)seq);
            ck_assert_msg(id_of[seq] == 0, "seq %llu of region %llu replays twice (ids %llu, %llu)",
                          (unsigned long long)seq, (unsigned long long)region,
                          (unsigned long long)(id_of[seq] - 1), (unsigned long long)id);
            id_of[seq] = id + 1;
            if (nids == cap_ids) {
                cap_ids = cap_ids ? cap_ids * 2 : 4096;
                all_ids = realloc(all_ids, cap_ids * sizeof(*all_ids));
            }
            all_ids[nids++] = id;
        }
        ck_assert_msg(rc == 0, "replay of region %llu: %s (%s)", (unsigned long long)region,
                      kw_wal_replay_errstr(rp), kw_err_name(rc));
        kw_wal_replay_stats st;
        kw_wal_replay_stats_get(rp, &st);
        t.bad_records += st.bad_records;
        t.incomplete += st.incomplete_entries;
        kw_wal_replay_close(rp);
    }
    kw_wal_close(w);
    t.replayed = nids;

    qsort(all_ids, nids, sizeof(*all_ids), cmp_u64);
    for (size_t i = 1; i < nids; i++)
        ck_assert_msg(all_ids[i] != all_ids[i - 1], "entry id %llu replays twice",
                      (unsigned long long)all_ids[i]);
    for (size_t i = 0; i < a->n; i++) {
        const ack_rec *k = &a->v[i];
        ck_assert_uint_lt(k->seq, nseq);
        ck_assert_msg(id_of[k->seq] == k->id + 1,
                      "acknowledged entry seq %llu of region %llu (id %llu) %s",
                      (unsigned long long)k->seq, (unsigned long long)k->region,
                      (unsigned long long)k->id,
                      id_of[k->seq] ? "replays with another id" : "is missing");
    }
    free(want);
    free(all_ids);
    free(id_of);
    return t;
}

START_TEST(killed_writer_loses_no_acknowledged_entry)
{
    kt_conn admin;
    ck_assert_msg(kt_connect(&admin, kt_bootstrap()) == 0, "cannot reach the broker at %s",
                  kt_bootstrap());
    char topic[128];
    snprintf(topic, sizeof(topic), "kwal-crash-%d-%lld", getpid(), (long long)time(NULL));
    ck_assert_int_eq(kt_create_topic(&admin, topic, 1), 0);
    kt_close(&admin);

    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    acks a = {0};
    uint64_t start = now_ms();
    for (int round = 0; round < CRASH_ROUNDS; round++) {
        uint64_t round_start = now_ms();
        int p[2];
        ck_assert_int_eq(pipe(p), 0);
        fcntl(p[0], F_SETPIPE_SZ, 1 << 20);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            close(p[0]);
            crash_child(topic, round, p[1]);
        }
        close(p[1]);
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        size_t before = a.n;
        uint64_t give_up = now_ms() + 20000;
        while (a.n == before && now_ms() < give_up)
            pump_acks(p[0], &a, 0);
        uint64_t first_ack = now_ms();
        /* the kill comes 200-1500 ms after the first acknowledgement */
        int delay_ms = 200 + (int)(rand_r(&seed) % 1301);
        pump_acks(p[0], &a, now_ms() + (uint64_t)delay_ms);
        kill(pid, SIGKILL);
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                      "round %d: the writer ended with status %d before the kill", round, status);
        fcntl(p[0], F_SETFL, 0);
        read_acks(p[0], &a); /* what it wrote before dying */
        close(p[0]);
        ck_assert_msg(a.n > before, "round %d: no append was acknowledged", round);

        /* the whole log is read after the first round, the middle one and the last (each read
         * grows with the log: every round would pass the time budget) */
        if (round == 0 || round == CRASH_ROUNDS / 2 || round == CRASH_ROUNDS - 1) {
            replay_totals t = check_log(topic, round + 1, &a);
            ck_assert_uint_ge(t.replayed, a.n);
            if (getenv("KW_TEST_VERBOSE"))
                fprintf(stderr,
                        "round %d: checked: %zu replayed, %zu bad records, %zu incomplete\n", round,
                        t.replayed, t.bad_records, t.incomplete);
        }
        if (getenv("KW_TEST_VERBOSE"))
            fprintf(stderr,
                    "round %d: first ack after %llu ms, killed %d ms later; %zu acknowledged "
                    "in all, %.1f s\n",
                    round, (unsigned long long)(first_ack - round_start), delay_ms, a.n,
                    (double)(now_ms() - round_start) / 1000.0);
    }
    if (getenv("KW_TEST_VERBOSE"))
        fprintf(stderr, "%d rounds, %zu acknowledged entries, %.1f s\n", CRASH_ROUNDS, a.n,
                (double)(now_ms() - start) / 1000.0);
    free(a.v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("wal_crash");
    TCase *tc = tcase_create("crash");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, killed_writer_loses_no_acknowledged_entry);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
