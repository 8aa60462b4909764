/* The public batch API (kwal/batch.h) through the real broker: every codec, headers, nulls, LogAppendTime. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kwal/batch.h"
#include "kwal/client.h"

/* ---------------------------------------------------------------- helpers */

#define ASSERT_OK(rc, detail) ck_assert_msg((rc) == 0, "%s: %s", kw_err_name(rc), (detail))

static kw_client *open_client(void)
{
    kw_client_options o = {.bootstrap = getenv("KWAL_BOOTSTRAP"), .connect_timeout_ms = 5000};
    kw_client *c = NULL;
    char err[256];
    int rc = kw_client_new(&c, &o, err, sizeof err);
    ck_assert_msg(rc == 0, "kw_client_new: %s: %s", kw_err_name(rc), err);
    return c;
}

/* Creates a one-partition topic unique to this run; `timestamp_type` NULL keeps the default. */
static void create_topic(kw_client *c, char *name, size_t len, const char *what,
                         const char *timestamp_type)
{
    static int seq;
    snprintf(name, len, "kwal-it-batch-api-%s-%d-%d", what, getpid(), seq++);
    kw_client_config_entry cfg[] = {{"retention.ms", "3600000"},
                                    {"message.timestamp.type", timestamp_type}};
    kw_client_new_topic t = {.name = name,
                             .partitions = 1,
                             .replication_factor = 1,
                             .configs = cfg,
                             .config_count = timestamp_type ? 2 : 1};
    kw_client_create_topics_args a = {.topics = &t, .topic_count = 1};
    kw_client_topics_result r;
    int rc = kw_client_create_topics(c, &a, &r);
    ASSERT_OK(rc, r.detail);
    ck_assert_int_eq(r.topics[0].kerr, 0);
    kw_client_topics_result_free(&r);
}

static void delete_topic(kw_client *c, const char *name)
{
    const char *names[] = {name};
    kw_client_delete_topics_args a = {.names = names, .name_count = 1};
    kw_client_topics_result r;
    kw_client_delete_topics(c, &a, &r);
    kw_client_topics_result_free(&r);
}

static bool mem_is(const uint8_t *p, size_t n, const char *s)
{
    if (!s)
        return p == NULL && n == 0;
    return p != NULL && n == strlen(s) && memcmp(p, s, n) == 0;
}

/* Record i: null, empty and plain keys and values, and 0 to 3 headers (one with a null value). */
#define NREC 12
static const char *key_of(int i)
{
    return i % 3 == 0 ? NULL : i % 3 == 1 ? "" : "key";
}
static const char *value_of(int i)
{
    static const char *v[] = {"value zero", "", NULL, "value three, value three", "v4", "v5"};
    return v[i % 6];
}
static size_t headers_of(int i, kw_header *h)
{
    static const kw_header all[3] = {{"trace", 5, "abc", 3}, {"null", 4, NULL, 0}, {"", 0, "", 0}};
    size_t n = (size_t)(i % 4);
    memcpy(h, all, n * sizeof *h);
    return n;
}

/* Fetches the topic from offset `from` and checks records from..from+NREC-1 against the set. */
static void check_fetched(kw_client *c, const char *topic, int64_t from, int codec,
                          int64_t produced_ts, int64_t log_append_time)
{
    kw_client_fetch_args fa = {.topic = topic, .offset = from};
    kw_client_fetch_result fr;
    int rc = kw_client_fetch(c, &fa, &fr);
    ASSERT_OK(rc, fr.detail);
    kw_batch_reader *rd;
    ck_assert_int_eq(kw_batch_reader_new(&rd, NULL), 0);
    ck_assert_int_eq(kw_batch_reader_set(rd, fr.records, fr.records_len, from), 0);
    kw_batch_info info;
    kw_batch_record r;
    int seen = 0;
    while (seen < NREC && kw_batch_reader_next_batch(rd, &info) == 1) {
        ck_assert_int_eq(info.compression, codec);
        ck_assert_int_eq(info.timestamp_type, log_append_time ? KW_TIMESTAMP_LOG_APPEND_TIME
                                                              : KW_TIMESTAMP_CREATE_TIME);
        while (seen < NREC && (rc = kw_batch_reader_next_record(rd, &r)) == 1) {
            int i = seen++;
            ck_assert(r.offset == from + i);
            ck_assert(r.timestamp == (log_append_time ? log_append_time : produced_ts + i));
            ck_assert_msg(mem_is(r.key, r.key_len, key_of(i)), "record %d key", i);
            ck_assert_msg(mem_is(r.value, r.value_len, value_of(i)), "record %d value", i);
            kw_header want[3];
            size_t nh = headers_of(i, want);
            ck_assert_uint_eq(r.header_count, nh);
            for (size_t j = 0; j < nh; j++) {
                ck_assert(mem_is((const uint8_t *)r.headers[j].key, r.headers[j].key_len,
                                 want[j].key));
                ck_assert(mem_is(r.headers[j].value, r.headers[j].value_len, want[j].value));
            }
        }
        ck_assert_msg(rc >= 0, "%s", kw_batch_reader_errstr(rd));
    }
    ck_assert_int_eq(seen, NREC);
    kw_batch_reader_destroy(rd);
    kw_client_fetch_result_free(&fr);
}

static void write_set(kw_batch_writer *w, int64_t ts)
{
    for (int i = 0; i < NREC; i++) {
        kw_header h[3];
        size_t nh = headers_of(i, h);
        const char *k = key_of(i), *v = value_of(i);
        ck_assert_int_eq(kw_batch_writer_add(w, ts + i, k, k ? strlen(k) : 0, v, v ? strlen(v) : 0,
                                             h, nh),
                         0);
    }
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- tests */

START_TEST(every_codec_round_trips_headers_and_nulls_through_the_broker)
{
    kw_client *c = open_client();
    char topic[160];
    create_topic(c, topic, sizeof topic, "codecs", NULL);
    kw_batch_writer *w;
    ck_assert_int_eq(kw_batch_writer_new(&w, NULL, NULL, 0), 0);
    int64_t next = 0;
    for (int codec = KW_COMPRESSION_NONE; codec <= KW_COMPRESSION_ZSTD; codec++) {
        kw_batch_writer_options o = {.compression = codec};
        ck_assert_int_eq(kw_batch_writer_reset(w, &o), 0);
        int64_t ts = wall_ms();
        write_set(w, ts);
        const uint8_t *bytes;
        size_t len;
        ck_assert_int_eq(kw_batch_writer_finish(w, &bytes, &len), 0);
        kw_client_produce_args pa = {.topic = topic, .batch = bytes, .batch_len = len};
        kw_client_produce_result pr;
        int rc = kw_client_produce(c, &pa, &pr);
        ASSERT_OK(rc, pr.detail);
        ck_assert(pr.base_offset == next);
        check_fetched(c, topic, next, codec, ts, 0);
        next += NREC;
    }
    kw_batch_writer_destroy(w);
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

typedef struct produced {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    int err;
    char detail[KW_CLIENT_DETAIL_MAX];
    int64_t base_offset;
    int64_t log_append_time_ms;
} produced;

static void on_produced(const kw_client_produce_result *r, void *arg)
{
    produced *p = arg;
    pthread_mutex_lock(&p->lock);
    p->err = r->err;
    snprintf(p->detail, sizeof p->detail, "%s", r->detail);
    p->base_offset = r->base_offset;
    p->log_append_time_ms = r->log_append_time_ms;
    p->done = true;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

/* take hands the writer's buffer to an async produce (TAKE_BATCH); the broker stamps the time. */
START_TEST(a_taken_batch_goes_out_async_and_log_append_time_comes_back)
{
    kw_client *c = open_client();
    char topic[160];
    create_topic(c, topic, sizeof topic, "lat", "LogAppendTime");
    kw_batch_writer_options o = {.compression = KW_COMPRESSION_LZ4};
    kw_batch_writer *w;
    ck_assert_int_eq(kw_batch_writer_new(&w, &o, NULL, 0), 0);
    int64_t before = wall_ms();
    write_set(w, 1000); /* a CreateTime the broker replaces */
    const uint8_t *view;
    uint8_t *batch;
    size_t len;
    ck_assert_int_eq(kw_batch_writer_finish(w, &view, &len), 0);
    ck_assert_int_eq(kw_batch_writer_take(w, &batch, &len), 0);
    produced p = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    kw_client_produce_args pa = {.topic = topic,
                                 .batch = batch,
                                 .batch_len = len,
                                 .flags = KW_CLIENT_PRODUCE_TAKE_BATCH};
    ck_assert_int_eq(kw_client_produce_async(c, &pa, on_produced, &p), 0);
    pthread_mutex_lock(&p.lock);
    while (!p.done)
        pthread_cond_wait(&p.cond, &p.lock);
    pthread_mutex_unlock(&p.lock);
    ASSERT_OK(p.err, p.detail);
    ck_assert(p.base_offset == 0);
    ck_assert(p.log_append_time_ms >= before - 5000 && p.log_append_time_ms <= wall_ms() + 5000);
    check_fetched(c, topic, 0, KW_COMPRESSION_LZ4, 0, p.log_append_time_ms);
    kw_batch_writer_destroy(w);
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

int main(void)
{
    if (!getenv("KWAL_BOOTSTRAP") || !*getenv("KWAL_BOOTSTRAP")) {
        fprintf(stderr, "batch api: skipped: KWAL_BOOTSTRAP not set (tests/kafka/broker env)\n");
        return 77; /* meson: skipped */
    }
    Suite *s = suite_create("batch-api-broker");
    TCase *tc = tcase_create("batch api");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_codec_round_trips_headers_and_nulls_through_the_broker);
    tcase_add_test(tc, a_taken_batch_goes_out_async_and_log_append_time_comes_back);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
