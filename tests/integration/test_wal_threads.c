/* Two Kafka WAL handles in one process, each appended to by several threads at once, against the broker. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kwal/client.h"
#include "kwal/wal.h"

#define HANDLES 2
#define THREADS_PER_HANDLE 4
#define REGIONS_PER_THREAD 2
#define ENTRIES_PER_THREAD 240

static const char *bootstrap(void)
{
    return getenv("KWAL_BOOTSTRAP");
}

/*
 * Deterministic entry bytes for (region, seq): runs of text (LZ4 shrinks
 * them, so they are stored compressed) and of noise (stored raw), from empty
 * to a few batches long (split into parts at max_batch_bytes 4096).
 */
static size_t entry_len(int seq)
{
    static const size_t sizes[] = {0, 63, 64, 700, 1024, 3000, 5000, 12000, 100, 2048, 9000};
    return sizes[seq % 11];
}

static uint8_t *entry_bytes(uint64_t region, int seq, size_t len)
{
    static const char *const words[] = {"region ", "append ", "offset ", "flush ", "thread "};
    uint8_t *b = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(b);
    uint64_t x = region * 1000003u + (uint64_t)seq * 7919u + 1;
    bool text = (seq / 3) % 2 == 0;
    for (size_t j = 0; j < len;) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (text)
            for (const char *w = words[x % 5]; *w && j < len; w++)
                b[j++] = (uint8_t)*w;
        else
            b[j++] = (uint8_t)x;
    }
    return b;
}

typedef struct ack {
    _Atomic int *done;
    uint64_t id;
    int err;
} ack;

static void on_ack(void *arg, int err, uint64_t id, const char *detail)
{
    (void)detail;
    ack *a = arg;
    a->id = id;
    a->err = err;
    atomic_fetch_add(a->done, 1);
}

typedef struct appender {
    kw_wal *wal;
    uint64_t first_region;
    bool sync; /* kw_wal_append_sync, else kw_wal_append with a callback */
    ack acks[ENTRIES_PER_THREAD];
    _Atomic int done;
    int append_err;
} appender;

static void *append_many(void *arg)
{
    appender *t = arg;
    for (int i = 0; i < ENTRIES_PER_THREAD; i++) {
        uint64_t region = t->first_region + (uint64_t)(i % REGIONS_PER_THREAD);
        size_t len = entry_len(i);
        uint8_t *b = entry_bytes(region, i, len);
        int rc;
        if (t->sync) {
            rc = kw_wal_append_sync(t->wal, region, b, len, &t->acks[i].id);
            t->acks[i].err = rc;
            atomic_fetch_add(&t->done, 1);
        } else {
            t->acks[i].done = &t->done;
            rc = kw_wal_append(t->wal, region, b, len, on_ack, &t->acks[i]);
        }
        free(b);
        if (rc && !t->append_err)
            t->append_err = rc;
        if (rc && !t->sync)
            atomic_fetch_add(&t->done, 1);
    }
    for (int w = 0; w < 60000 && atomic_load(&t->done) < ENTRIES_PER_THREAD; w++)
        usleep(1000);
    return NULL;
}

/* Every entry of the thread's region r comes back once, in append order, byte for byte. */
static void check_region(kw_wal *w, const appender *t, uint64_t r)
{
    kw_wal_replay *rp;
    ck_assert_int_eq(kw_wal_replay_open(w, r, 0, 0, &rp), 0);
    uint64_t id;
    const uint8_t *data;
    size_t len;
    int rc, seq = (int)(r - t->first_region);
    while ((rc = kw_wal_replay_next(rp, &id, &data, &len, 10000)) == 1) {
        ck_assert_msg(seq < ENTRIES_PER_THREAD, "region %llu: entry %llu past the last appended",
                      (unsigned long long)r, (unsigned long long)id);
        ck_assert_uint_eq(id, t->acks[seq].id);
        size_t want_len = entry_len(seq);
        uint8_t *want = entry_bytes(r, seq, want_len);
        ck_assert_uint_eq(len, want_len);
        ck_assert_msg(len == 0 || memcmp(data, want, len) == 0, "region %llu: entry %d differs",
                      (unsigned long long)r, seq);
        free(want);
        seq += REGIONS_PER_THREAD;
    }
    ck_assert_msg(rc == 0, "replay: %s (%s)", kw_wal_replay_errstr(rp), kw_err_name(rc));
    ck_assert_msg(seq >= ENTRIES_PER_THREAD, "region %llu: replay ended at entry %d of %d",
                  (unsigned long long)r, seq, ENTRIES_PER_THREAD);
    kw_wal_replay_stats st;
    kw_wal_replay_stats_get(rp, &st);
    ck_assert_uint_eq(st.bad_records, 0);
    kw_wal_replay_close(rp);
}

static void topic_create(kw_client *c, const char *name)
{
    kw_client_config_entry cfg[] = {{"retention.ms", "3600000"}};
    kw_client_new_topic nt = {.name = name, .partitions = 1, .configs = cfg, .config_count = 1};
    kw_client_create_topics_args a = {.topics = &nt, .topic_count = 1};
    kw_client_topics_result r;
    int rc = kw_client_create_topics(c, &a, &r);
    ck_assert_msg(rc == 0, "create %s: %s (%s)", name, kw_err_name(rc), r.detail);
    ck_assert_int_eq(r.topics[0].kerr, 0);
    kw_client_topics_result_free(&r);
}

static void topic_delete(kw_client *c, const char *name)
{
    const char *names[] = {name};
    kw_client_delete_topics_args a = {.names = names, .name_count = 1};
    kw_client_topics_result r;
    kw_client_delete_topics(c, &a, &r);
    kw_client_topics_result_free(&r);
}

/*
 * The WAL compresses each entry on the appending thread, in LZ4 states its
 * handle owns: two handles with four threads each (two of them appending
 * synchronously, two with callbacks) share one topic and must not disturb
 * each other's entries.  ASan, and TSan where built, watch the states change
 * hands.
 */
START_TEST(two_wals_appended_to_from_several_threads_at_once_keep_every_entry)
{
    kw_client_options co = {.bootstrap = bootstrap(), .connect_timeout_ms = 5000};
    kw_client *admin = NULL;
    char err[256];
    int rc = kw_client_new(&admin, &co, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_client_new: %s (%s)", err, kw_err_name(rc));
    char topic[128];
    snprintf(topic, sizeof(topic), "kwal-wal-threads-%d", getpid());
    topic_create(admin, topic);

    kw_wal *wal[HANDLES];
    for (int h = 0; h < HANDLES; h++) {
        kw_wal_options o = {.provider = KW_WAL_PROVIDER_KAFKA,
                            .kafka.bootstrap = bootstrap(),
                            .topic = topic,
                            .max_batch_bytes = 4096,
                            .timeout_ms = 30000};
        rc = kw_wal_open(&wal[h], &o, err, sizeof(err));
        ck_assert_msg(rc == 0, "kw_wal_open: %s (%s)", err, kw_err_name(rc));
    }
    static appender t[HANDLES * THREADS_PER_HANDLE];
    pthread_t th[HANDLES * THREADS_PER_HANDLE];
    for (int i = 0; i < HANDLES * THREADS_PER_HANDLE; i++) {
        memset(&t[i], 0, sizeof(t[i]));
        t[i].wal = wal[i % HANDLES];
        t[i].first_region = 1000 + (uint64_t)i * REGIONS_PER_THREAD;
        t[i].sync = (i / HANDLES) % 2 == 1;
        ck_assert_int_eq(pthread_create(&th[i], NULL, append_many, &t[i]), 0);
    }
    for (int i = 0; i < HANDLES * THREADS_PER_HANDLE; i++) {
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        ck_assert_msg(t[i].append_err == 0, "thread %d: append: %s", i,
                      kw_err_name(t[i].append_err));
        ck_assert_int_eq(atomic_load(&t[i].done), ENTRIES_PER_THREAD);
        for (int e = 0; e < ENTRIES_PER_THREAD; e++)
            ck_assert_msg(t[i].acks[e].err == 0, "thread %d entry %d: %s", i, e,
                          kw_err_name(t[i].acks[e].err));
    }
    /* each handle replays every region, its own and the other's */
    for (int h = 0; h < HANDLES; h++)
        for (int i = 0; i < HANDLES * THREADS_PER_HANDLE; i++)
            for (uint64_t r = 0; r < REGIONS_PER_THREAD; r++)
                check_region(wal[h], &t[i], t[i].first_region + r);
    /* each handle counted its own appends, none of the other's */
    uint64_t bytes = 0;
    for (int e = 0; e < ENTRIES_PER_THREAD; e++)
        bytes += entry_len(e);
    for (int h = 0; h < HANDLES; h++) {
        kw_wal_stats st;
        kw_wal_stats_get(wal[h], &st);
        ck_assert_uint_eq(st.appends, (uint64_t)THREADS_PER_HANDLE * ENTRIES_PER_THREAD);
        ck_assert_uint_eq(st.append_errors, 0);
        ck_assert_uint_eq(st.bytes, THREADS_PER_HANDLE * bytes);
        ck_assert_uint_eq(st.in_flight, 0);
        kw_wal_close(wal[h]);
    }
    topic_delete(admin, topic);
    kw_client_destroy(admin);
}
END_TEST

int main(void)
{
    if (!bootstrap() || !*bootstrap()) {
        fprintf(stderr, "KWAL_BOOTSTRAP is not set (eval \"$(tests/kafka/broker env)\"): skipped\n");
        return 77; /* meson: skipped */
    }
    Suite *s = suite_create("wal-threads");
    TCase *tc = tcase_create("wal");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, two_wals_appended_to_from_several_threads_at_once_keep_every_entry);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
