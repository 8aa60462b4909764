/* Leader failover on the 3-node cluster: stop or kill the partition leader while producing. */
#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kwal/client.h"
#include "net/client_int.h"
#include "net/coord.h"
#include "proto/msg_group.h"
#include "kwal/wal.h"
#include "proto/batch.h"

/*
 * What each case proves, on the cluster `tests/kafka/broker up --nodes 3`
 * started ($KWAL_BOOTSTRAP_CLUSTER; the test is skipped without it):
 *
 *   - plain produce (the public client, acks=all, several calls in flight,
 *     a 20 s deadline per call) keeps going when the partition's leader
 *     stops or crashes: every call succeeds, the longest pause between two
 *     acknowledgements stays below the deadline (and is printed);
 *   - every acknowledged record is in the partition afterwards, at the
 *     offset its acknowledgement gave; a plain producer may write a batch
 *     twice (a lost response, then a retry), so duplicates are counted and
 *     reported, not failed;
 *   - the WAL's Kafka provider (idempotent producer) on the same leader:
 *     every append succeeds, and replay returns every acknowledged entry
 *     exactly once, at its id, with no entry twice.
 *
 * Both producers run at once against partitions led by the same node, which
 * the test stops with `tests/kafka/broker stop-node N` (SIGTERM: controlled
 * shutdown) or `stop-node N --kill` (SIGKILL: the controller fences the node
 * after broker.session.timeout.ms), then restarts.
 */

enum {
    DEADLINE_MS = 20000,  /* per produce call, and the WAL's produce deadline */
    IN_FLIGHT = 4,        /* plain produce calls out at once */
    RECORDS = 8,          /* records per plain batch */
    WAL_OUTSTANDING = 16, /* WAL appends not yet acknowledged */
    MAX_CALLS = 40000,    /* room in the books (paced: ~150 submissions/s) */
    PACE_US = 5000,
    WAL_REGION = 1,
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *cluster_bootstrap(void)
{
    const char *v = getenv("KWAL_BOOTSTRAP_CLUSTER");
    return v && *v ? v : NULL;
}

/* Runs `tests/kafka/broker ARGS` (the path meson passes); its exit status. */
static int broker_cmd(const char *fmt, ...)
{
    const char *script = getenv("KWAL_BROKER_SCRIPT");
    ck_assert_msg(script && *script, "KWAL_BROKER_SCRIPT is not set (meson sets it)");
    char args[128], cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    /* Its own session: check kills the test's process group when a case ends, and a node
     * started here (a JVM in the background) must outlive the case. */
    snprintf(cmd, sizeof(cmd), "setsid '%s' %s >&2", script, args);
    int st = system(cmd);
    return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

#define ASSERT_OK(rc, detail) ck_assert_msg((rc) == 0, "%s: %s", kw_err_name(rc), (detail))

static kw_client *open_client(void)
{
    kw_client_options o = {.bootstrap = cluster_bootstrap(), .connect_timeout_ms = 3000};
    kw_client *c = NULL;
    char err[256];
    int rc = kw_client_new(&c, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_client_new: %s: %s", kw_err_name(rc), err);
    return c;
}

static void topic_name(char *buf, size_t len, const char *what)
{
    static int seq;
    snprintf(buf, len, "kwal-it-failover-%s-%d-%d", what, getpid(), seq++);
}

static void create_topic(kw_client *c, const char *name, int32_t partitions)
{
    /* No retention: the broker's time-based cleaner would otherwise be free to delete records
     * before the read-back (it did, when the records carried 2023 timestamps). */
    kw_client_config_entry cfg[] = {{"min.insync.replicas", "2"}, {"retention.ms", "-1"}};
    kw_client_new_topic t = {.name = name,
                             .partitions = partitions,
                             .replication_factor = 3,
                             .configs = cfg,
                             .config_count = 2};
    kw_client_create_topics_args a = {.topics = &t, .topic_count = 1, .timeout_ms = 30000};
    kw_client_topics_result r;
    int rc = kw_client_create_topics(c, &a, &r);
    ASSERT_OK(rc, r.detail);
    ck_assert_int_eq(r.topics[0].kerr, 0);
    kw_client_topics_result_free(&r);
}

static void delete_topic(kw_client *c, const char *name)
{
    kw_client_delete_topics_args a = {.names = &name, .name_count = 1, .timeout_ms = 30000};
    kw_client_topics_result r;
    kw_client_delete_topics(c, &a, &r);
    kw_client_topics_result_free(&r);
}

/* Leader and ISR size of topic/partition from a fresh Metadata response; 0 or -1. */
static int partition_state(kw_client *c, const char *topic, int32_t partition, int32_t *leader,
                           size_t *isr)
{
    kw_client_metadata_args a = {.topics = &topic, .topic_count = 1, .timeout_ms = 10000};
    kw_client_metadata_result r;
    int rc = kw_client_metadata(c, &a, &r), found = -1;
    if (rc == 0 && r.topic_count == 1 && r.topics[0].kerr == 0) {
        const kw_client_topic *t = &r.topics[0];
        for (size_t i = 0; i < t->partition_count; i++)
            if (t->partitions[i].id == partition) {
                *leader = t->partitions[i].leader;
                *isr = t->partitions[i].isr_count;
                found = 0;
            }
    }
    kw_client_metadata_result_free(&r);
    return found;
}

/* Waits until the partition has a leader and `want` in-sync replicas; the leader, or -1. */
static int32_t wait_isr(kw_client *c, const char *topic, int32_t partition, size_t want,
                        uint64_t ms)
{
    uint64_t end = now_ms() + ms;
    int32_t leader = -1;
    size_t isr = 0;
    do {
        if (partition_state(c, topic, partition, &leader, &isr) == 0 && leader >= 0 && isr >= want)
            return leader;
        usleep(200000);
    } while (now_ms() < end);
    return -1;
}

/* A previous failed run may have left a node down: start every node that is not running. */
static void all_nodes_up(void)
{
    for (int n = 1; n <= 3; n++)
        ck_assert_msg(broker_cmd("start-node %d", n) == 0, "start-node %d failed", n);
}

/* ---------------------------------------------------------------- the books */

/* Acknowledgement times, shared by both producers: the longest silence is the failover pause. */
typedef struct ack_clock {
    uint64_t last_ms; /* the latest successful acknowledgement */
    uint64_t max_gap_ms;
    uint64_t gap_end_ms; /* when the longest silence ended */
    int after_stop;      /* acknowledgements since the stop command returned */
} ack_clock;

static void clock_ack(ack_clock *k, uint64_t now, uint64_t stopped_at)
{
    if (k->last_ms && now - k->last_ms > k->max_gap_ms) {
        k->max_gap_ms = now - k->last_ms;
        k->gap_end_ms = now;
    }
    k->last_ms = now;
    if (stopped_at && now >= stopped_at)
        k->after_stop++;
}

typedef struct call_book {
    int err;
    int16_t kerr;
    int64_t base; /* base offset (plain) or entry id (WAL) */
    bool done;
} call_book;

typedef struct producer {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    atomic_bool stop;
    atomic_uint_fast64_t stopped_at; /* the stop command returned (0: not yet) */
    int submitted, completed, failed;
    ack_clock clock;
    call_book *calls;
    char first_error[KW_CLIENT_DETAIL_MAX + 64]; /* room for "call N: NAME (kerr K): " */
    pthread_t thread;
    /* plain */
    kw_client *c;
    const char *topic;
    int32_t partition;
    /* WAL */
    kw_wal *wal;
} producer;

typedef struct slot {
    producer *p;
    int i;
} slot;

static void book_done(producer *p, int i, int err, int16_t kerr, int64_t base, const char *detail)
{
    uint64_t now = now_ms();
    pthread_mutex_lock(&p->mu);
    p->calls[i] = (call_book){.err = err, .kerr = kerr, .base = base, .done = true};
    p->completed++;
    if (err) {
        if (!p->failed++)
            snprintf(p->first_error, sizeof(p->first_error), "call %d: %s (kerr %d): %s", i,
                     kw_err_name(err), kerr, detail ? detail : "");
    } else {
        clock_ack(&p->clock, now, atomic_load(&p->stopped_at));
    }
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
}

/* Waits until fewer than `limit` calls are out; false when stopping. */
static bool wait_room(producer *p, int limit)
{
    pthread_mutex_lock(&p->mu);
    while (p->submitted - p->completed >= limit && !atomic_load(&p->stop))
        pthread_cond_wait(&p->cond, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return !atomic_load(&p->stop) && p->submitted < MAX_CALLS;
}

static void wait_all_done(producer *p, uint64_t ms)
{
    uint64_t end = now_ms() + ms;
    pthread_mutex_lock(&p->mu);
    while (p->completed < p->submitted && now_ms() < end) {
        pthread_mutex_unlock(&p->mu);
        usleep(10000);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
}

static int acks_after_stop(producer *p)
{
    pthread_mutex_lock(&p->mu);
    int n = p->clock.after_stop;
    pthread_mutex_unlock(&p->mu);
    return n;
}

/* ---------------------------------------------------------------- plain produce */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint8_t *make_batch(int call, size_t *len)
{
    int64_t ts = wall_ms();
    kw_wr w;
    kw__wr_init(&w);
    kw_batch_builder bb;
    ck_assert_int_eq(kw__batch_begin(&bb, &w, NULL), 0);
    for (int i = 0; i < RECORDS; i++) {
        char v[64];
        int vl = snprintf(v, sizeof(v), "p-%d-%d", call, i);
        ck_assert_int_eq(
            kw__batch_add(&bb, ts, KW_BYTES_NULL, (kw_bytes){(const uint8_t *)v, vl}, NULL, 0), 0);
    }
    ck_assert_int_eq(kw__batch_finish(&bb), 0);
    *len = w.len;
    return w.buf; /* plain malloc memory: the client frees it (TAKE_BATCH) */
}

static void on_produced(const kw_client_produce_result *r, void *arg)
{
    slot *s = arg;
    book_done(s->p, s->i, r->err, r->kerr, r->base_offset, r->detail);
    free(s);
}

static void *plain_thread(void *arg)
{
    producer *p = arg;
    while (wait_room(p, IN_FLIGHT)) {
        int i = p->submitted;
        size_t len;
        uint8_t *b = make_batch(i, &len);
        slot *s = malloc(sizeof(*s));
        *s = (slot){p, i};
        kw_client_produce_args a = {.topic = p->topic,
                                    .partition = p->partition,
                                    .batch = b,
                                    .batch_len = len,
                                    .acks = KW_CLIENT_ACKS_ALL,
                                    .flags = KW_CLIENT_PRODUCE_TAKE_BATCH,
                                    .timeout_ms = DEADLINE_MS};
        pthread_mutex_lock(&p->mu);
        p->submitted++;
        pthread_mutex_unlock(&p->mu);
        int rc = kw_client_produce_async(p->c, &a, on_produced, s);
        if (rc) {
            free(s);
            book_done(p, i, rc, 0, -1, "kw_client_produce_async refused");
        }
        usleep(PACE_US);
    }
    return NULL;
}

/* ---------------------------------------------------------------- WAL appends */

/* Entry i: its number (8 bytes, little-endian), then 40..1063 bytes derived from it. */
static size_t wal_entry(int i, uint8_t *buf)
{
    size_t len = 8 + 40 + ((unsigned)i * 131u) % 1024;
    for (int j = 0; j < 8; j++)
        buf[j] = (uint8_t)((uint64_t)i >> (8 * j));
    uint32_t x = (uint32_t)i * 2654435761u + 1;
    for (size_t j = 8; j < len; j++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[j] = (uint8_t)x;
    }
    return len;
}

static void on_appended(void *arg, int err, uint64_t id, const char *detail)
{
    slot *s = arg;
    book_done(s->p, s->i, err, 0, err ? -1 : (int64_t)id, kw_wal_errstr(s->p->wal));
    free(s);
}

static void *wal_thread(void *arg)
{
    producer *p = arg;
    uint8_t buf[8 + 40 + 1024];
    while (wait_room(p, WAL_OUTSTANDING)) {
        int i = p->submitted;
        size_t len = wal_entry(i, buf);
        slot *s = malloc(sizeof(*s));
        *s = (slot){p, i};
        pthread_mutex_lock(&p->mu);
        p->submitted++;
        pthread_mutex_unlock(&p->mu);
        int rc = kw_wal_append(p->wal, WAL_REGION, buf, len, on_appended, s);
        if (rc) {
            free(s);
            book_done(p, i, rc, 0, -1, kw_wal_errstr(p->wal));
        }
        usleep(PACE_US);
    }
    return NULL;
}

static void producer_init(producer *p)
{
    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->calls = calloc(MAX_CALLS, sizeof(*p->calls));
    ck_assert_ptr_nonnull(p->calls);
}

static void producer_stop(producer *p)
{
    atomic_store(&p->stop, true);
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    wait_all_done(p, DEADLINE_MS + 10000);
}

static void producer_free(producer *p)
{
    free(p->calls);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cond);
}

/* ---------------------------------------------------------------- read back */

typedef struct tally {
    int acked_records, acked_missing, misplaced;
    int unacked_present;   /* records of calls that failed, found anyway */
    int duplicate_records; /* extra copies beyond the first */
    int records_read;
} tally;

/* Reads topic/partition from the start and checks the plain producer's acknowledged records. */
static tally read_back_plain(kw_client *c, producer *p)
{
    tally t = {0};
    int n = p->submitted;
    uint8_t *seen = calloc((size_t)n * RECORDS, 1);
    ck_assert_ptr_nonnull(seen);
    int64_t off = 0, hw = -1;
    do {
        kw_client_fetch_args a = {.topic = p->topic,
                                  .partition = p->partition,
                                  .offset = off,
                                  .max_bytes = 1 << 20,
                                  .max_wait_ms = 100,
                                  .timeout_ms = 10000};
        kw_client_fetch_result r;
        int rc = kw_client_fetch(c, &a, &r);
        ck_assert_msg(rc == 0, "fetch at %" PRId64 " (high watermark was %" PRId64 "): %s: %s", off,
                      hw, kw_err_name(rc), r.detail);
        hw = r.high_watermark;
        kw_batch_iter it;
        kw__batch_iter_init(&it, r.records, r.records_len, KW_BATCH_VERIFY_CRC);
        kw_batch b;
        int64_t before = off;
        while ((rc = kw__batch_next(&it, &b)) == 1) {
            kw_record_iter ri;
            ck_assert_int_eq(kw__record_iter_init(&ri, &b, NULL, 0, off), 0);
            kw_record rec;
            while ((rc = kw__record_next(&ri, &rec)) == 1) {
                int call, i;
                char v[64];
                size_t vl = rec.value.len < 63 ? (size_t)rec.value.len : 63;
                memcpy(v, rec.value.ptr, vl);
                v[vl] = 0;
                ck_assert_msg(sscanf(v, "p-%d-%d", &call, &i) == 2 && call >= 0 && call < n &&
                                  i >= 0 && i < RECORDS,
                              "offset %" PRId64 ": a record we never wrote: %s", rec.offset, v);
                t.records_read++;
                uint8_t *s = &seen[(size_t)call * RECORDS + (size_t)i];
                if (*s)
                    t.duplicate_records++;
                if (*s < 255)
                    (*s)++;
                const call_book *k = &p->calls[call];
                if (k->err == 0 && rec.offset != k->base + i && *s == 1)
                    t.misplaced++; /* the acked copy must be at the acked offset; see below */
            }
            ck_assert_int_eq(rc, 0);
            off = kw__batch_next_offset(&b);
        }
        ck_assert_msg(rc == 0, "batch iterator: %s", it.errstr);
        kw_client_fetch_result_free(&r);
        ck_assert_msg(off > before || off >= hw, "fetch at %" PRId64 " made no progress", off);
    } while (off < hw);
    /* Each acknowledged record: present, and one of its copies where the ack said. */
    for (int call = 0; call < n; call++) {
        const call_book *k = &p->calls[call];
        for (int i = 0; i < RECORDS; i++) {
            uint8_t s = seen[(size_t)call * RECORDS + (size_t)i];
            if (k->err == 0) {
                t.acked_records++;
                t.acked_missing += s == 0;
            } else {
                t.unacked_present += s != 0;
            }
        }
    }
    free(seen);
    return t;
}

/* A misplaced first copy is fine if a later copy sits at the acked offset: check those directly. */
static int acked_offsets_hold_their_records(kw_client *c, producer *p)
{
    int bad = 0;
    for (int call = 0; call < p->submitted; call++) {
        const call_book *k = &p->calls[call];
        if (k->err)
            continue;
        kw_client_fetch_args a = {.topic = p->topic,
                                  .partition = p->partition,
                                  .offset = k->base,
                                  .max_bytes = 4096,
                                  .max_wait_ms = 0,
                                  .timeout_ms = 10000};
        kw_client_fetch_result r;
        ASSERT_OK(kw_client_fetch(c, &a, &r), r.detail);
        kw_batch_iter it;
        kw__batch_iter_init(&it, r.records, r.records_len, 0);
        kw_batch b;
        bool ok = false;
        if (kw__batch_next(&it, &b) == 1) {
            kw_record_iter ri;
            kw_record rec;
            char want[64];
            int wl = snprintf(want, sizeof(want), "p-%d-0", call);
            if (kw__record_iter_init(&ri, &b, NULL, 0, k->base) == 0 &&
                kw__record_next(&ri, &rec) == 1)
                ok = rec.offset == k->base && rec.value.len == wl &&
                     memcmp(rec.value.ptr, want, (size_t)wl) == 0;
        }
        bad += !ok;
        kw_client_fetch_result_free(&r);
    }
    return bad;
}

typedef struct wal_tally {
    int acked, missing, wrong_id, duplicates, unacked_present, entries;
} wal_tally;

static wal_tally read_back_wal(producer *p)
{
    wal_tally t = {0};
    int n = p->submitted;
    uint8_t *seen = calloc((size_t)n, 1);
    ck_assert_ptr_nonnull(seen);
    kw_wal_replay *rp;
    ck_assert_int_eq(kw_wal_replay_open(p->wal, WAL_REGION, 0, 0, &rp), 0);
    uint64_t id, last = 0;
    const uint8_t *data;
    size_t len;
    int rc;
    uint8_t want[8 + 40 + 1024];
    while ((rc = kw_wal_replay_next(rp, &id, &data, &len, 10000)) == 1) {
        ck_assert_msg(t.entries == 0 || id > last, "ids must grow: %" PRIu64 " after %" PRIu64, id,
                      last);
        last = id;
        t.entries++;
        ck_assert_uint_ge(len, 8);
        uint64_t i = 0;
        for (int j = 0; j < 8; j++)
            i |= (uint64_t)data[j] << (8 * j);
        ck_assert_msg(i < (uint64_t)n, "entry %" PRIu64 ": number %" PRIu64 " never appended", id,
                      i);
        size_t wl = wal_entry((int)i, want);
        ck_assert_msg(len == wl && memcmp(data, want, wl) == 0, "entry %" PRIu64 " differs", id);
        if (seen[i]++)
            t.duplicates++;
        const call_book *k = &p->calls[i];
        if (k->err == 0 && (uint64_t)k->base != id)
            t.wrong_id++;
    }
    ck_assert_msg(rc == 0, "replay: %s (%s)", kw_wal_replay_errstr(rp), kw_err_name(rc));
    kw_wal_replay_close(rp);
    for (int i = 0; i < n; i++) {
        if (p->calls[i].err == 0) {
            t.acked++;
            t.missing += !seen[i];
        } else {
            t.unacked_present += seen[i] != 0;
        }
    }
    free(seen);
    return t;
}

/* ---------------------------------------------------------------- the scenario */

static void wal_log(void *arg, int level, const char *msg)
{
    (void)arg;
    if (level <= KW_LOG_WARN)
        fprintf(stderr, "failover: wal: %s\n", msg);
}

static void run_failover(bool kill)
{
    const char *how = kill ? "kill" : "stop";
    uint64_t t_start = now_ms();
    all_nodes_up();
    kw_client *c = open_client();

    /* The WAL topic (one partition: the WAL writes partition 0) picks the node to stop; the
     * plain producer writes the partition of a 3-partition topic that node also leads. */
    char wal_topic[128], plain_topic[128];
    topic_name(wal_topic, sizeof(wal_topic), "wal");
    topic_name(plain_topic, sizeof(plain_topic), "plain");
    create_topic(c, wal_topic, 1);
    create_topic(c, plain_topic, 3);
    int32_t victim = wait_isr(c, wal_topic, 0, 3, 30000);
    ck_assert_msg(victim >= 1 && victim <= 3, "no leader with 3 in-sync replicas for %s",
                  wal_topic);
    int32_t plain_part = -1;
    for (uint64_t end = now_ms() + 30000; plain_part < 0 && now_ms() < end;) {
        for (int32_t part = 0; part < 3 && plain_part < 0; part++)
            if (wait_isr(c, plain_topic, part, 3, 0) == victim)
                plain_part = part;
        if (plain_part < 0)
            usleep(300000);
    }
    ck_assert_msg(plain_part >= 0, "no partition of %s is led by node %d", plain_topic, victim);

    producer plain, wal;
    producer_init(&plain);
    producer_init(&wal);
    plain.c = c;
    plain.topic = plain_topic;
    plain.partition = plain_part;
    kw_wal_options wo = {.provider = KW_WAL_PROVIDER_KAFKA,
                         .kafka.bootstrap = cluster_bootstrap(),
                         .topic = wal_topic,
                         .max_batch_bytes = 16384,
                         .timeout_ms = DEADLINE_MS,
                         .log = wal_log};
    char err[256];
    int rc = kw_wal_open(&wal.wal, &wo, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_wal_open: %s (%s)", err, kw_err_name(rc));
    ck_assert_int_eq(kw_wal_set_region_topic(wal.wal, WAL_REGION, wal_topic), 0);

    ck_assert_int_eq(pthread_create(&plain.thread, NULL, plain_thread, &plain), 0);
    ck_assert_int_eq(pthread_create(&wal.thread, NULL, wal_thread, &wal), 0);
    /* warm up: both producers acknowledged for a while */
    uint64_t warm_end = now_ms() + 10000;
    while ((plain.completed < 100 || wal.completed < 100) && now_ms() < warm_end)
        usleep(20000);
    ck_assert_msg(plain.failed == 0 && wal.failed == 0, "before the %s: %s%s", how,
                  plain.first_error, wal.first_error);

    uint64_t t_stop = now_ms();
    ck_assert_int_eq(broker_cmd("stop-node %d%s", victim, kill ? " --kill" : ""), 0);
    uint64_t t_stopped = now_ms();
    atomic_store(&plain.stopped_at, t_stopped);
    atomic_store(&wal.stopped_at, t_stopped);
    fprintf(stderr, "failover[%s]: node %d (leader of %s/0 and %s/%d) %s in %llu ms\n", how, victim,
            wal_topic, plain_topic, plain_part, kill ? "killed" : "stopped",
            (unsigned long long)(t_stopped - t_stop));

    /* Produce resumes on the new leader: both producers get 100 acknowledgements after the
     * stop.  Meanwhile, watch Metadata for the moment the cluster names a new leader, so the
     * pause splits into the cluster's part (fencing, election) and the client's. */
    uint64_t resume_end = t_stopped + DEADLINE_MS + 10000, t_elected = 0;
    int32_t new_leader = -1;
    size_t isr = 0;
    while ((acks_after_stop(&plain) < 100 || acks_after_stop(&wal) < 100 || !t_elected) &&
           now_ms() < resume_end) {
        if (!t_elected && partition_state(c, wal_topic, 0, &new_leader, &isr) == 0 &&
            new_leader >= 0 && new_leader != victim)
            t_elected = now_ms();
        usleep(50000);
    }
    uint64_t t_resumed = now_ms();
    fprintf(stderr,
            "failover[%s]: new leader of %s/0: node %d (ISR %zu), seen in Metadata %lld ms "
            "after the %s began; 100 acks each after the stop within %llu ms\n",
            how, wal_topic, new_leader, isr, t_elected ? (long long)(t_elected - t_stop) : -1LL,
            how, (unsigned long long)(t_resumed - t_stopped));
    ck_assert_msg(acks_after_stop(&plain) >= 100,
                  "plain produce did not resume after the %s "
                  "(%d acks; first error: %s)",
                  how, acks_after_stop(&plain), plain.first_error);
    ck_assert_msg(acks_after_stop(&wal) >= 100,
                  "WAL appends did not resume after the %s "
                  "(%d acks; first error: %s)",
                  how, acks_after_stop(&wal), wal.first_error);
    ck_assert_int_ne(new_leader, victim);

    /* Restart the node while producing, then a little more produce on the full cluster. */
    uint64_t t_restart = now_ms();
    ck_assert_int_eq(broker_cmd("start-node %d", victim), 0);
    uint64_t t_restarted = now_ms();
    usleep(500000);
    producer_stop(&plain);
    producer_stop(&wal);
    uint64_t t_drained = now_ms();

    fprintf(stderr,
            "failover[%s]: pause (longest gap between acks): plain %llu ms (ended %lld ms after "
            "the %s began), WAL %llu ms (ended %lld ms after); restart took %llu ms\n",
            how, (unsigned long long)plain.clock.max_gap_ms,
            (long long)plain.clock.gap_end_ms - (long long)t_stop, how,
            (unsigned long long)wal.clock.max_gap_ms,
            (long long)wal.clock.gap_end_ms - (long long)t_stop,
            (unsigned long long)(t_restarted - t_restart));
    ck_assert_msg(plain.completed == plain.submitted, "plain: %d of %d calls never completed",
                  plain.submitted - plain.completed, plain.submitted);
    ck_assert_msg(wal.completed == wal.submitted, "WAL: %d of %d appends never completed",
                  wal.submitted - wal.completed, wal.submitted);

    /* What is in the log. */
    tally pt = read_back_plain(c, &plain);
    int bad_offsets = pt.misplaced ? acked_offsets_hold_their_records(c, &plain) : 0;
    wal_tally wt = read_back_wal(&wal);
    kw_wal_stats ws;
    kw_wal_stats_get(wal.wal, &ws);
    fprintf(stderr,
            "failover[%s]: plain: %d calls (%d failed), %d acked records, %d read back, %d "
            "duplicate copies, %d records of failed calls present, %d acked missing\n",
            how, plain.submitted, plain.failed, pt.acked_records, pt.records_read,
            pt.duplicate_records, pt.unacked_present, pt.acked_missing);
    fprintf(stderr,
            "failover[%s]: WAL: %d appends (%d failed), %" PRIu64 " produce retries, %d entries "
            "replayed, %d duplicates, %d acked missing, %d at another id\n",
            how, wal.submitted, wal.failed, ws.retries, wt.entries, wt.duplicates, wt.missing,
            wt.wrong_id);

    ck_assert_msg(plain.failed == 0, "plain produce: %d calls failed; first: %s", plain.failed,
                  plain.first_error);
    ck_assert_msg(wal.failed == 0, "WAL: %d appends failed; first: %s", wal.failed,
                  wal.first_error);
    ck_assert_uint_lt(plain.clock.max_gap_ms, DEADLINE_MS);
    ck_assert_uint_lt(wal.clock.max_gap_ms, DEADLINE_MS);
    ck_assert_int_eq(pt.acked_missing, 0);
    ck_assert_int_eq(bad_offsets, 0);
    ck_assert_int_eq(wt.missing, 0);
    ck_assert_int_eq(wt.duplicates, 0);
    ck_assert_int_eq(wt.wrong_id, 0);

    kw_wal_close(wal.wal);
    producer_free(&plain);
    producer_free(&wal);
    /* Leave the cluster whole for the next case: the restarted node back in sync. */
    if (wait_isr(c, wal_topic, 0, 3, 30000) < 0)
        fprintf(stderr, "failover[%s]: %s/0 not back to 3 in-sync replicas\n", how, wal_topic);
    delete_topic(c, wal_topic);
    delete_topic(c, plain_topic);
    kw_client_destroy(c);
    fprintf(stderr, "failover[%s]: case took %llu ms (drain %llu ms)\n", how,
            (unsigned long long)(now_ms() - t_start),
            (unsigned long long)(t_drained - t_restarted));
}

START_TEST(acked_records_survive_a_leader_stop)
{
    run_failover(false);
}
END_TEST

START_TEST(acked_records_survive_a_leader_crash)
{
    run_failover(true);
}
END_TEST

/* ---------------------------------------------------------------- the group coordinator */

typedef struct coord_probe {
    kw_client *c;
    const char *group;
    int32_t node;
} coord_probe;

static int coord_probe_run(void *arg)
{
    coord_probe *p = arg;
    p->node = kw__coord_cached(kw__client_cluster(p->c), KW_COORDINATOR_GROUP, p->group);
    return 0;
}

static int32_t coordinator_of(kw_client *c, const char *group)
{
    coord_probe p = {.c = c, .group = group, .node = -1};
    ck_assert_int_eq(kw__client_run(c, coord_probe_run, &p), 0);
    return p.node;
}

static int commit_one(kw_client *c, const char *group, const char *topic, int64_t offset,
                      char *detail, size_t len)
{
    kw_client_committed in = {.topic = topic, .partition = 0, .offset = offset, .leader_epoch = -1};
    kw_client_offset_commit_args a = {.group = group, .offsets = &in, .count = 1,
                                      .timeout_ms = 60000};
    kw_client_offsets_result r;
    int rc = kw_client_offset_commit(c, &a, &r);
    snprintf(detail, len, "%s", r.detail);
    kw_client_offsets_result_free(&r);
    return rc;
}

/* Stopping the group coordinator's node moves the group; commits and fetches go on. */
START_TEST(committed_offsets_survive_a_coordinator_stop)
{
    all_nodes_up();
    kw_client *c = open_client();
    char topic[128], group[128], detail[512];
    topic_name(topic, sizeof(topic), "coord");
    topic_name(group, sizeof(group), "group");
    create_topic(c, topic, 1);
    ASSERT_OK(commit_one(c, group, topic, 10, detail, sizeof(detail)), detail);
    int32_t before = coordinator_of(c, group);
    ck_assert_int_ge(before, 1);
    ck_assert_int_eq(broker_cmd("stop-node %d", before), 0);
    uint64_t t0 = now_ms();
    ASSERT_OK(commit_one(c, group, topic, 20, detail, sizeof(detail)), detail);
    uint64_t took = now_ms() - t0;
    int32_t after = coordinator_of(c, group);
    fprintf(stderr, "failover: group coordinator moved %d -> %d, commit took %llu ms\n", before,
            after, (unsigned long long)took);
    ck_assert_int_ge(after, 1);
    ck_assert_int_ne(after, before);
    kw_client_committed want = {.topic = topic, .partition = 0};
    kw_client_offset_fetch_args fa = {.group = group, .partitions = &want, .count = 1,
                                      .timeout_ms = 30000};
    kw_client_offsets_result r;
    ASSERT_OK(kw_client_offset_fetch(c, &fa, &r), r.detail);
    ck_assert_int_eq(r.offsets[0].offset, 20);
    kw_client_offsets_result_free(&r);
    all_nodes_up();
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

int main(void)
{
    if (!cluster_bootstrap()) {
        fprintf(stderr, "KWAL_BOOTSTRAP_CLUSTER unset: start `tests/kafka/broker up --nodes 3` "
                        "and eval `tests/kafka/broker env`; skipping\n");
        return 77; /* meson: skipped */
    }
    Suite *s = suite_create("failover");
    /* One case each, so CK_RUN_CASE=stop or =kill runs one. */
    TCase *stop = tcase_create("stop"), *kill = tcase_create("kill");
    tcase_set_timeout(stop, 150);
    tcase_set_timeout(kill, 150);
    tcase_add_test(stop, acked_records_survive_a_leader_stop);
    tcase_add_test(kill, acked_records_survive_a_leader_crash);
    TCase *coord = tcase_create("coordinator");
    tcase_set_timeout(coord, 200);
    tcase_add_test(coord, committed_offsets_survive_a_coordinator_stop);
    suite_add_tcase(s, stop);
    suite_add_tcase(s, kill);
    suite_add_tcase(s, coord);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
