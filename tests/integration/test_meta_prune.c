/* The WAL pruner against the broker: log start moves to the prune point, replay whole, skips. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka_io.h"
#include "kwal/client.h"
#include "kwal/wal.h"
#include "meta/pruner.h"
#include "meta/store.h"

#define NONE KW_META_PRUNER_NONE
#define MAX_ENTRIES 64

static kt_conn admin;
static char prefix[64];

typedef struct env {
    char dir[256];
    kw_meta_store *store;
    kw_client *client;
    kw_meta_pruner *pruner;
    pthread_mutex_t mu;
    char log[32768];
    uint64_t flush_asked[16];
    int nflush;
    bool delete_topic_in_hook;
} env;

static void setup(void)
{
    ck_assert_msg(kt_connect(&admin, kt_bootstrap()) == 0, "cannot reach the broker at %s",
                  kt_bootstrap());
    snprintf(prefix, sizeof(prefix), "kwal-prune-%d", getpid());
}

static void teardown(void)
{
    kt_close(&admin);
}

static void make_topic(char *name, size_t cap, const char *what)
{
    snprintf(name, cap, "%s-%s", prefix, what);
    ck_assert_int_eq(kt_create_topic(&admin, name, 1), 0);
}

static void on_log(void *arg, int level, const char *msg)
{
    env *e = arg;
    pthread_mutex_lock(&e->mu);
    size_t l = strlen(e->log);
    snprintf(e->log + l, sizeof(e->log) - l, "%s\n", msg);
    pthread_mutex_unlock(&e->mu);
    if (getenv("KWAL_TEST_VERBOSE"))
        fprintf(stderr, "[pruner %d] %s\n", level, msg);
}

static void on_flush(void *arg, uint64_t region, const char *topic, uint64_t flushed,
                     uint64_t behind)
{
    env *e = arg;
    if (e->nflush < 16)
        e->flush_asked[e->nflush++] = region;
}

/* The hook deletes the topic between the decision and DeleteRecords: "a topic deleted meanwhile".
 */
static void before_delete(void *arg, const char *topic, int64_t before)
{
    env *e = arg;
    if (!e->delete_topic_in_hook)
        return;
    const char *names[] = {topic};
    kw_client_delete_topics_args a = {.names = names, .name_count = 1, .timeout_ms = 10000};
    kw_client_topics_result r = {0};
    ck_assert_int_eq(kw_client_delete_topics(e->client, &a, &r), 0);
    kw_client_topics_result_free(&r);
    /* The controller answers before the broker drops the log: wait until it is gone there too. */
    int64_t off;
    for (int i = 0; kt_list_offset(&admin, topic, kt_version(&admin, 2), -2, &off) == 0; i++) {
        ck_assert_msg(i < 100, "%s still answers 10 s after its deletion", topic);
        usleep(100 * 1000);
    }
}

static void env_open(env *e, uint64_t flush_trigger, uint32_t timeout_ms)
{
    memset(e, 0, sizeof(*e));
    pthread_mutex_init(&e->mu, NULL);
    const char *base = getenv("TMPDIR");
    snprintf(e->dir, sizeof(e->dir), "%s/kw_prune_XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(e->dir));
    kw_meta_store_file_options so = {.dir = e->dir};
    char err[256];
    ck_assert_int_eq(kw__meta_store_file_open(&so, &e->store, err, sizeof(err)), 0);
    kw_client_options co = {.bootstrap = kt_bootstrap(), .request_timeout_ms = 10000};
    ck_assert_int_eq(kw_client_new(&e->client, &co, err, sizeof(err)), 0);
    kw_meta_pruner_options po = {.client = e->client,
                                 .store = e->store,
                                 .parallelism = 2,
                                 .flush_trigger_size = flush_trigger,
                                 .record_bytes = 1024,
                                 .timeout_ms = timeout_ms,
                                 .flush = on_flush,
                                 .flush_arg = e,
                                 .log = on_log,
                                 .log_arg = e,
                                 .before_delete = before_delete,
                                 .before_delete_arg = e};
    int rc = kw__meta_pruner_open(&e->pruner, &po, err, sizeof(err));
    ck_assert_msg(rc == 0, "%s", err);
}

static void env_close(env *e)
{
    kw__meta_pruner_close(e->pruner);
    kw_client_destroy(e->client);
    kw__meta_store_close(e->store);
    char p[512];
    const char *names[] = {KW_META_STORE_FILE_DATA, KW_META_STORE_FILE_TEMP,
                           KW_META_STORE_FILE_LOCK};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s/%s", e->dir, names[i]);
        unlink(p);
    }
    rmdir(e->dir);
    pthread_mutex_destroy(&e->mu);
}

static kw_wal *open_wal(const char *topic)
{
    kw_wal_options o = {.provider = KW_WAL_PROVIDER_KAFKA,
                        .kafka.bootstrap = kt_bootstrap(),
                        .topic = topic,
                        .max_batch_bytes = 4096, /* so the larger entries split into parts */
                        .timeout_ms = 10000};
    kw_wal *w = NULL;
    char err[256];
    int rc = kw_wal_open(&w, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_wal_open: %s", err);
    return w;
}

typedef struct entry {
    uint64_t region;
    int seq;
    size_t len;
    uint64_t id;
    int err;
    bool done;
} entry;

typedef struct book {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int done;
} book;
static book acks = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

static void on_ack(void *arg, int err, uint64_t id, const char *detail)
{
    entry *en = arg;
    pthread_mutex_lock(&acks.mu);
    en->err = err;
    en->id = id;
    en->done = true;
    acks.done++;
    pthread_cond_broadcast(&acks.cond);
    pthread_mutex_unlock(&acks.mu);
}

static uint8_t *entry_bytes(uint64_t region, int seq, size_t len)
{
    uint8_t *b = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)(region * 31 + (uint64_t)seq * 7 + i);
    return b;
}

/*
 * Appends n entries round-robin over the regions, all in flight at once so
 * parts and regions interleave in the topic; sizes from 100 B to 12 KB (up
 * to four parts at 4 KB batches).
 */
static void write_entries(kw_wal *w, const uint64_t *regions, int nregions, entry *out, int n)
{
    static const size_t sizes[] = {100, 12000, 700, 5000, 40, 9000};
    pthread_mutex_lock(&acks.mu);
    acks.done = 0;
    pthread_mutex_unlock(&acks.mu);
    for (int i = 0; i < n; i++) {
        out[i] = (entry){.region = regions[i % nregions], .seq = i, .len = sizes[i % 6]};
        uint8_t *b = entry_bytes(out[i].region, i, out[i].len);
        ck_assert_int_eq(kw_wal_append(w, out[i].region, b, out[i].len, on_ack, &out[i]), 0);
        free(b);
    }
    pthread_mutex_lock(&acks.mu);
    while (acks.done < n)
        pthread_cond_wait(&acks.cond, &acks.mu);
    pthread_mutex_unlock(&acks.mu);
    for (int i = 0; i < n; i++)
        ck_assert_msg(out[i].err == 0, "append %d: %s", i, kw_err_name(out[i].err));
}

/* The id of region's k-th entry (0-based). */
static uint64_t nth_id(const entry *en, int n, uint64_t region, int k)
{
    for (int i = 0; i < n; i++)
        if (en[i].region == region && k-- == 0)
            return en[i].id;
    ck_abort_msg("region %llu has no such entry", (unsigned long long)region);
    return 0;
}

static uint64_t last_id(const entry *en, int n, uint64_t region)
{
    uint64_t id = NONE;
    for (int i = 0; i < n; i++)
        if (en[i].region == region)
            id = en[i].id;
    return id;
}

static void report(env *e, uint64_t region, const char *topic, uint64_t flushed, uint64_t latest)
{
    kw_meta_pruner_report r = {
        .region_id = region, .topic = topic, .flushed_id = flushed, .latest_id = latest};
    ck_assert_int_eq(kw__meta_pruner_report(e->pruner, &r), 0);
}

static int64_t earliest(const char *topic)
{
    int64_t off = -7;
    ck_assert_int_eq(kt_list_offset(&admin, topic, kt_version(&admin, 2), -2, &off), 0);
    return off;
}

/* Replays region from its replay start and checks it gets exactly its entries with id > flushed. */
static void check_replay_after(kw_wal *w, env *e, const entry *en, int n, uint64_t region,
                               uint64_t flushed)
{
    uint64_t from;
    ck_assert_int_eq(kw__meta_pruner_replay_start(e->pruner, region, &from), 0);
    ck_assert_uint_eq(from, flushed == NONE ? 0 : flushed + 1);
    kw_wal_replay *rp;
    ck_assert_int_eq(kw_wal_replay_open(w, region, from, 0, &rp), 0);
    int next = 0, rc;
    uint64_t id;
    const uint8_t *data;
    size_t len;
    while ((rc = kw_wal_replay_next(rp, &id, &data, &len, 5000)) == 1) {
        while (next < n &&
               (en[next].region != region || (flushed != NONE && en[next].id <= flushed)))
            next++;
        ck_assert_msg(next < n, "region %llu: unexpected entry %llu", (unsigned long long)region,
                      (unsigned long long)id);
        ck_assert_uint_eq(id, en[next].id);
        ck_assert_uint_eq(len, en[next].len);
        uint8_t *want = entry_bytes(region, en[next].seq, len);
        ck_assert_int_eq(memcmp(want, data, len), 0);
        free(want);
        next++;
    }
    ck_assert_msg(rc == 0, "replay of region %llu: %s", (unsigned long long)region,
                  kw_wal_replay_errstr(rp));
    kw_wal_replay_stats st;
    kw_wal_replay_stats_get(rp, &st);
    ck_assert_uint_eq(st.bad_records, 0);
    ck_assert_uint_eq(st.incomplete_entries, 0);
    while (next < n && (en[next].region != region || (flushed != NONE && en[next].id <= flushed)))
        next++;
    ck_assert_msg(next == n, "region %llu: entry %llu not replayed", (unsigned long long)region,
                  (unsigned long long)en[next].id);
    kw_wal_replay_close(rp);
}

static const kw_meta_pruner_topic_status *find_topic(const kw_meta_pruner_status *st,
                                                     const char *topic)
{
    for (size_t i = 0; i < st->topic_count; i++)
        if (strcmp(st->topics[i].topic, topic) == 0)
            return &st->topics[i];
    ck_abort_msg("no status for %s", topic);
    return NULL;
}

START_TEST(prune_moves_the_log_start_to_the_prune_point_and_every_region_still_replays)
{
    char topic[128];
    make_topic(topic, sizeof(topic), "three");
    env e;
    env_open(&e, 0, 10000);
    kw_wal *w = open_wal(topic);
    const uint64_t regions[] = {11, 12, 13};
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(kw_wal_set_region_topic(w, regions[i], topic), 0);
    entry en[36];
    write_entries(w, regions, 3, en, 36);

    /* Flushed through their 6th, 9th and 4th entries: region 13 holds the topic back. */
    uint64_t flushed[3] = {nth_id(en, 36, 11, 5), nth_id(en, 36, 12, 8), nth_id(en, 36, 13, 3)};
    for (int i = 0; i < 3; i++)
        report(&e, regions[i], topic, flushed[i], last_id(en, 36, regions[i]));
    int64_t p = (int64_t)flushed[2] + 1;
    ck_assert_int_lt(flushed[2], flushed[0]);
    int64_t start0 = earliest(topic);
    ck_assert_int_eq(start0, 0);

    /* Dry run: says what it would do, deletes and stores nothing. */
    kw_meta_pruner_round sum;
    ck_assert_int_eq(kw__meta_pruner_run_once(e.pruner, true, &sum), 0);
    ck_assert_uint_eq(sum.pruned, 1);
    ck_assert_uint_eq(sum.offsets_deleted, (uint64_t)p);
    ck_assert_int_eq(earliest(topic), 0);
    ck_assert_uint_eq(kw__meta_pruner_pruned_id(e.pruner, topic), NONE);
    ck_assert_msg(strstr(e.log, "would prune"), "%s", e.log);

    ck_assert_int_eq(kw__meta_pruner_run_once(e.pruner, false, &sum), 0);
    ck_assert_uint_eq(sum.pruned, 1);
    ck_assert_uint_eq(sum.failed, 0);
    ck_assert_uint_eq(sum.offsets_deleted, (uint64_t)p);
    ck_assert_int_eq(earliest(topic), p); /* exactly: the record at p is kept */
    ck_assert_uint_eq(kw__meta_pruner_pruned_id(e.pruner, topic), (uint64_t)p - 1);

    kw_meta_pruner_status st;
    ck_assert_int_eq(kw__meta_pruner_status(e.pruner, &st), 0);
    const kw_meta_pruner_topic_status *ts = find_topic(&st, topic);
    ck_assert_int_eq(ts->start_offset, p);
    ck_assert_int_eq(ts->prune_point, p);
    ck_assert_uint_eq(ts->holder, 13);
    ck_assert_uint_eq(ts->region_count, 3);
    ck_assert_msg(strstr(ts->reason, "pruned") && strstr(ts->reason, "region 13 flushed through"),
                  "%s", ts->reason);

    /* What went: entries whose last record is below p (their earlier parts are too). */
    size_t bytes = 0;
    int entries = 0;
    for (int i = 0; i < 36; i++)
        if ((int64_t)en[i].id < p) {
            bytes += en[i].len;
            entries++;
        }
    fprintf(stderr,
            "prune: %s: log start 0 -> %lld (%lld offsets: %d whole entries, %zu payload bytes "
            "of %lld offsets written)\n",
            topic, (long long)p, (long long)p, entries, bytes, (long long)ts->end_offset);
    kw__meta_pruner_status_free(&st);

    for (int i = 0; i < 3; i++)
        check_replay_after(w, &e, en, 36, regions[i], flushed[i]);

    /* A second round finds nothing more to do. */
    ck_assert_int_eq(kw__meta_pruner_run_once(e.pruner, false, &sum), 0);
    ck_assert_uint_eq(sum.skipped, 1);
    ck_assert_uint_eq(sum.offsets_deleted, 0);
    ck_assert_int_eq(earliest(topic), p);

    kw_wal_close(w);
    env_close(&e);
}
END_TEST

START_TEST(a_region_that_never_flushed_holds_its_topic_back_and_is_asked_to_flush)
{
    char topic[128];
    make_topic(topic, sizeof(topic), "holder");
    env e;
    env_open(&e, 4096, 10000); /* 4 records of 1 KB behind: pins */
    kw_wal *w = open_wal(topic);
    const uint64_t regions[] = {21, 22};
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(kw_wal_set_region_topic(w, regions[i], topic), 0);
    entry en[12];
    write_entries(w, regions, 2, en, 12);
    uint64_t f21 = last_id(en, 12, 21);
    report(&e, 21, topic, f21, f21);
    report(&e, 22, topic, NONE, last_id(en, 12, 22));

    kw_meta_pruner_round sum;
    ck_assert_int_eq(kw__meta_pruner_run_once(e.pruner, false, &sum), 0);
    ck_assert_uint_eq(sum.skipped, 1);
    ck_assert_uint_eq(sum.pruned, 0);
    ck_assert_uint_eq(sum.flush_requests, 1);
    ck_assert_int_eq(e.nflush, 1);
    ck_assert_uint_eq(e.flush_asked[0], 22);
    ck_assert_int_eq(earliest(topic), 0);
    kw_meta_pruner_status st;
    ck_assert_int_eq(kw__meta_pruner_status(e.pruner, &st), 0);
    const kw_meta_pruner_topic_status *ts = find_topic(&st, topic);
    ck_assert_uint_eq(ts->holder, 22);
    ck_assert_msg(strstr(ts->reason, "region 22 never flushed"), "%s", ts->reason);
    ck_assert(ts->regions[1].pinning);
    ck_assert(!ts->regions[0].pinning);
    kw__meta_pruner_status_free(&st);
    ck_assert_msg(strstr(e.log, "region 22 pins the topic"), "%s", e.log);
    check_replay_after(w, &e, en, 12, 22, NONE);

    /* It flushes: the next round prunes up to it. */
    uint64_t f22 = nth_id(en, 12, 22, 2);
    report(&e, 22, topic, f22, last_id(en, 12, 22));
    ck_assert_int_eq(kw__meta_pruner_run_once(e.pruner, false, &sum), 0);
    ck_assert_uint_eq(sum.pruned, 1);
    ck_assert_int_eq(earliest(topic), (int64_t)f22 + 1);
    check_replay_after(w, &e, en, 12, 22, f22);
    kw_wal_close(w);
    env_close(&e);
}
END_TEST

START_TEST(a_region_that_never_reported_skips_its_topic)
{
    char topic[128];
    make_topic(topic, sizeof(topic), "silent");
    env e;
    env_open(&e, 0, 10000);
    kw_wal *w = open_wal(topic);
    const uint64_t regions[] = {31};
    ck_assert_int_eq(kw_wal_set_region_topic(w, 31, topic), 0);
    entry en[6];
    write_entries(w, regions, 1, en, 6);
    report(&e, 31, topic, last_id(en, 6, 31), last_id(en, 6, 31));
    ck_assert_int_eq(kw__meta_pruner_register_region(e.pruner, 32, topic), 0);

    kw_meta_pruner_round sum;
    ck_assert_int_eq(kw__meta_pruner_run_once(e.pruner, false, &sum), 0);
    ck_assert_uint_eq(sum.skipped, 1);
    ck_assert_int_eq(earliest(topic), 0);
    kw_meta_pruner_status st;
    ck_assert_int_eq(kw__meta_pruner_status(e.pruner, &st), 0);
    const kw_meta_pruner_topic_status *ts = find_topic(&st, topic);
    ck_assert_uint_eq(ts->holder, 32);
    ck_assert_str_eq(ts->reason, "skip: region 32 never reported");
    kw__meta_pruner_status_free(&st);
    ck_assert_msg(strstr(e.log, "region 32 never reported"), "%s", e.log);
    kw_wal_close(w);
    env_close(&e);
}
END_TEST

START_TEST(a_failed_delete_records_is_logged_and_retried_next_round)
{
    char topic[128];
    make_topic(topic, sizeof(topic), "vanishing");
    env e;
    env_open(&e, 0, 3000);
    kw_wal *w = open_wal(topic);
    const uint64_t regions[] = {41};
    ck_assert_int_eq(kw_wal_set_region_topic(w, 41, topic), 0);
    entry en[6];
    write_entries(w, regions, 1, en, 6);
    kw_wal_close(w);
    uint64_t f = nth_id(en, 6, 41, 2);
    report(&e, 41, topic, f, last_id(en, 6, 41));

    e.delete_topic_in_hook = true;
    kw_meta_pruner_round sum;
    ck_assert_int_eq(kw__meta_pruner_run_once(e.pruner, false, &sum), 0);
    e.delete_topic_in_hook = false;
    ck_assert_uint_eq(sum.failed, 1);
    ck_assert_uint_eq(sum.pruned, 0);
    ck_assert_uint_eq(kw__meta_pruner_pruned_id(e.pruner, topic), NONE);
    ck_assert_msg(strstr(e.log, "failed: DeleteRecords before"), "%s", e.log);
    kw_meta_pruner_status st;
    ck_assert_int_eq(kw__meta_pruner_status(e.pruner, &st), 0);
    ck_assert_msg(strstr(find_topic(&st, topic)->reason, "retried next round"), "%s",
                  find_topic(&st, topic)->reason);
    kw__meta_pruner_status_free(&st);

    /* The topic comes back (same name, same records): the next round that can prune does. */
    for (int tries = 0;; tries++) {
        const kw_client_new_topic nt = {.name = topic, .partitions = 1, .replication_factor = 1};
        kw_client_create_topics_args a = {.topics = &nt, .topic_count = 1, .timeout_ms = 10000};
        kw_client_topics_result r = {0};
        int rc = kw_client_create_topics(e.client, &a, &r);
        kw_client_topics_result_free(&r);
        if (rc == 0)
            break;
        ck_assert_msg(tries < 60, "cannot recreate %s: %s", topic, kw_err_name(rc));
        usleep(500 * 1000);
    }
    ck_assert_int_eq(kt_wait_topic(&admin, topic), 0);
    w = open_wal(topic);
    ck_assert_int_eq(kw_wal_set_region_topic(w, 41, topic), 0);
    entry en2[6];
    write_entries(w, regions, 1, en2, 6);
    ck_assert_uint_eq(en2[2].id, f); /* a fresh log: the same offsets again */
    for (int round = 0;; round++) {
        ck_assert_int_eq(kw__meta_pruner_run_once(e.pruner, false, &sum), 0);
        if (sum.pruned == 1)
            break;
        ck_assert_msg(round < 10, "never pruned after the topic came back:\n%s", e.log);
        usleep(500 * 1000);
    }
    ck_assert_int_eq(earliest(topic), (int64_t)f + 1);
    ck_assert_uint_eq(kw__meta_pruner_pruned_id(e.pruner, topic), f);
    kw_wal_close(w);
    env_close(&e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("meta-prune");
    TCase *tc = tcase_create("prune");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, prune_moves_the_log_start_to_the_prune_point_and_every_region_still_replays);
    tcase_add_test(tc, a_region_that_never_flushed_holds_its_topic_back_and_is_asked_to_flush);
    tcase_add_test(tc, a_region_that_never_reported_skips_its_topic);
    tcase_add_test(tc, a_failed_delete_records_is_logged_and_retried_next_round);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
