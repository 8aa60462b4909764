/* Mimir-sized records (15,983,616 bytes) through the producer, the consumer (with a 1 MB fetch budget) and the WAL, and the named MESSAGE_TOO_LARGE. */
#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kwal/batch.h"
#include "kwal/client.h"
#include "kwal/consumer.h"
#include "kwal/producer.h"
#include "kwal/wal.h"

/*
 * Mimir writes each write request as one record of up to 15,983,616 bytes
 * (its producer-max-record-size-bytes) into batches of up to 16 MB, on topics
 * with max.message.bytes=16000000; the test topics get that setting (the
 * broker keeps its 1 MB default, so a topic without it refuses the record).
 */

enum { BIG = 15983616 };

static const char *bootstrap(void)
{
    return getenv("KWAL_BOOTSTRAP");
}

#define ASSERT_OK(rc, detail) ck_assert_msg((rc) == 0, "%s: %s", kw_err_name(rc), (detail))

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static kw_client *open_client(void)
{
    kw_client_options o = {.bootstrap = bootstrap(), .connect_timeout_ms = 5000};
    kw_client *c = NULL;
    char err[256];
    int rc = kw_client_new(&c, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_client_new: %s: %s", kw_err_name(rc), err);
    return c;
}

static void topic_name(char *buf, size_t len, const char *what)
{
    static atomic_int seq;
    snprintf(buf, len, "kwal-it-large-%s-%d-%d", what, getpid(), atomic_fetch_add(&seq, 1));
}

/* A one-partition topic; max_message NULL leaves the broker's default limit. */
static void create_topic(kw_client *c, const char *name, const char *max_message)
{
    kw_client_config_entry cfg = {"max.message.bytes", max_message};
    kw_client_new_topic t = {.name = name, .partitions = 1, .replication_factor = 1,
                             .configs = max_message ? &cfg : NULL,
                             .config_count = max_message ? 1 : 0};
    kw_client_create_topics_args a = {.topics = &t, .topic_count = 1, .timeout_ms = 30000};
    kw_client_topics_result r;
    int rc = kw_client_create_topics(c, &a, &r);
    ASSERT_OK(rc, r.detail);
    kw_client_topics_result_free(&r);
    kw_client_list_offsets_args la = {.topic = name, .spec = KW_CLIENT_OFFSET_LATEST,
                                      .timeout_ms = 30000};
    kw_client_list_offsets_result lr;
    rc = kw_client_list_offsets(c, &la, &lr);
    ASSERT_OK(rc, lr.detail);
}

static void delete_topic(kw_client *c, const char *name)
{
    const char *names[] = {name};
    kw_client_delete_topics_args a = {.names = names, .name_count = 1, .timeout_ms = 30000};
    kw_client_topics_result r;
    kw_client_delete_topics(c, &a, &r);
    kw_client_topics_result_free(&r);
}

/* len noise bytes from seed (xorshift): nothing compresses them, and every byte value occurs. */
static uint8_t *noise(size_t len, uint64_t seed)
{
    uint8_t *b = malloc(len);
    ck_assert_ptr_nonnull(b);
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b[i] = (uint8_t)(x >> 24);
    }
    return b;
}

/* ---------------------------------------------------------------- producer and consumer */

typedef struct delivered {
    pthread_mutex_t mu;
    int n;
    int err[8];
    int16_t kerr[8];
    int64_t offset[8];
    char detail[8][KW_CLIENT_DETAIL_MAX];
} delivered;

static void on_delivery(const kw_producer_delivery *d, void *arg)
{
    delivered *dl = arg;
    pthread_mutex_lock(&dl->mu);
    if (dl->n < 8) {
        dl->err[dl->n] = d->err;
        dl->kerr[dl->n] = d->kerr;
        dl->offset[dl->n] = d->offset;
        snprintf(dl->detail[dl->n], sizeof(dl->detail[0]), "%s", d->detail);
    }
    dl->n++;
    pthread_mutex_unlock(&dl->mu);
}

/* The five records: small, big, small, big, small. */
typedef struct fiver {
    const uint8_t *v[5];
    size_t len[5];
} fiver;

static void read_back(kw_client *c, const char *topic, const fiver *f, uint32_t fetches)
{
    kw_consumer_options o = {.fetches = fetches, .fetch_bytes = 1u << 20};
    kw_consumer *k = NULL;
    char err[256];
    int rc = kw_consumer_new(&k, c, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_consumer_new: %s", err);
    ASSERT_OK(kw_consumer_assign(k, topic, 0, kw_consumer_at_earliest()), "assign");
    int64_t next = 0;
    uint64_t end = now_ms() + 60000;
    while (next < 5 && now_ms() < end) {
        kw_consumer_poll_result r;
        ck_assert_int_eq(kw_consumer_poll(k, 200, &r), 0);
        ck_assert_msg(r.error_count == 0, "fetches %u: %s: %s", fetches,
                      r.error_count ? kw_err_name(r.errors[0].err) : "",
                      r.error_count ? r.errors[0].detail : "");
        for (size_t i = 0; i < r.record_count; i++, next++) {
            ck_assert_int_eq(r.records[i].offset, next);
            ck_assert_uint_eq(r.records[i].value_len, f->len[next]);
            ck_assert_msg(memcmp(r.records[i].value, f->v[next], f->len[next]) == 0,
                          "fetches %u: record %" PRId64 " differs", fetches, next);
        }
    }
    ck_assert_int_eq(next, 5);
    kw_consumer_destroy(k);
}

START_TEST(a_16mb_record_round_trips_and_a_1mb_fetch_budget_still_reads_it)
{
    kw_client *c = open_client();
    char topic[128];
    topic_name(topic, sizeof(topic), "rt");
    create_topic(c, topic, "16000000");
    uint8_t *a = noise(BIG, 1), *b = noise(BIG, 2);
    fiver f = {{(const uint8_t *)"first", a, (const uint8_t *)"middle", b, (const uint8_t *)"last"},
               {5, BIG, 6, BIG, 4}};
    /* Mimir's producer: batches up to 16 MB (16000000 as its max.message.bytes), acks=all. */
    kw_producer_options po = {.batch_bytes = 16000000, .linger_ms = 50,
                              .idempotence = KW_PRODUCER_IDEMPOTENCE_OFF};
    kw_producer *p = NULL;
    char err[256];
    ck_assert_msg(kw_producer_new(&p, c, &po, err, sizeof(err)) == 0, "%s", err);
    delivered dl = {.mu = PTHREAD_MUTEX_INITIALIZER};
    for (int i = 0; i < 5; i++) {
        kw_producer_record r = {.topic = topic, .partition = 0, .value = f.v[i],
                                .value_len = f.len[i]};
        int rc = kw_producer_send(p, &r, on_delivery, &dl);
        kw_producer_last_error(p, err, sizeof(err));
        ASSERT_OK(rc, err);
    }
    ck_assert_int_eq(kw_producer_flush(p, 60000), 0);
    ck_assert_int_eq(dl.n, 5);
    for (int i = 0; i < 5; i++) {
        ASSERT_OK(dl.err[i], dl.detail[i]);
        ck_assert_int_eq(dl.offset[i], i);
    }
    ck_assert_int_eq(kw_producer_destroy(p), 0);
    /* A budget of 1 MB against 16 MB records: the broker sends the first batch whole; the
     * consumer takes it, one fetch at a time and with 12 at once. */
    read_back(c, topic, &f, 1);
    read_back(c, topic, &f, 12);
    free(a);
    free(b);
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

START_TEST(a_record_over_the_topics_limit_fails_naming_its_size_and_the_limit)
{
    kw_client *c = open_client();
    char topic[128];
    topic_name(topic, sizeof(topic), "limit");
    create_topic(c, topic, NULL); /* the broker's default: 1048588 */
    uint8_t *a = noise(BIG, 3);
    kw_producer_options po = {.batch_bytes = 16000000};
    kw_producer *p = NULL;
    char err[256];
    ck_assert_msg(kw_producer_new(&p, c, &po, err, sizeof(err)) == 0, "%s", err);
    delivered dl = {.mu = PTHREAD_MUTEX_INITIALIZER};
    kw_producer_record r = {.topic = topic, .partition = 0, .value = a, .value_len = BIG};
    ASSERT_OK(kw_producer_send(p, &r, on_delivery, &dl), "send");
    ck_assert_int_eq(kw_producer_flush(p, 60000), 0);
    ck_assert_int_eq(dl.n, 1);
    ck_assert_int_eq(dl.err[0], KW_EBROKER);
    ck_assert_int_eq(dl.kerr[0], KW_KERR_MESSAGE_TOO_LARGE);
    char want[512];
    snprintf(want, sizeof(want), "its largest record %d bytes) for %s/0 is over the limit; "
             "topic %s's max.message.bytes is 1048588", BIG, topic, topic);
    ck_assert_msg(strstr(dl.detail[0], want), "detail: %s", dl.detail[0]);
    ck_assert_int_eq(kw_producer_destroy(p), 0);

    /* The client's own produce call says the same. */
    kw_client_produce_result pr;
    uint8_t *batch = NULL;
    size_t batch_len = 0;
    {
        /* One record batch by hand through the public batch writer. */
        kw_batch_writer *w = NULL;
        ck_assert_int_eq(kw_batch_writer_new(&w, NULL, NULL, 0), 0);
        ck_assert_int_eq(kw_batch_writer_reset(w, NULL), 0);
        ck_assert_int_eq(kw_batch_writer_add(w, 0, NULL, 0, a, 3000000, NULL, 0), 0);
        const uint8_t *bytes;
        ck_assert_int_eq(kw_batch_writer_finish(w, &bytes, &batch_len), 0);
        batch = malloc(batch_len);
        memcpy(batch, bytes, batch_len);
        kw_batch_writer_destroy(w);
    }
    kw_client_produce_args pa = {.topic = topic, .partition = 0, .batch = batch,
                                 .batch_len = batch_len};
    ck_assert_int_eq(kw_client_produce(c, &pa, &pr), KW_EBROKER);
    ck_assert_int_eq(pr.kerr, KW_KERR_MESSAGE_TOO_LARGE);
    snprintf(want, sizeof(want), "MESSAGE_TOO_LARGE: a batch of %zu bytes (1 record, its largest "
             "record 3000000 bytes) for %s/0 is over the limit; topic %s's max.message.bytes is "
             "1048588", batch_len, topic, topic);
    ck_assert_msg(strstr(pr.detail, want), "detail: %s", pr.detail);
    free(batch);
    free(a);
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

/* ---------------------------------------------------------------- WAL */

static void wal_round_trip(size_t max_batch, const char *max_message)
{
    kw_client *c = open_client();
    char topic[128];
    topic_name(topic, sizeof(topic), "wal");
    create_topic(c, topic, max_message);
    kw_wal_options o = {.provider = KW_WAL_PROVIDER_KAFKA, .client = c, .topic = topic,
                        .max_batch_bytes = max_batch, .timeout_ms = 30000};
    kw_wal *w = NULL;
    char err[256];
    int rc = kw_wal_open(&w, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_wal_open: %s", err);
    uint8_t *a = noise(BIG, 4), *b = noise(BIG, 5);
    uint64_t id_a, id_small, id_b;
    ck_assert_msg(kw_wal_append_sync(w, 7, a, BIG, &id_a) == 0, "%s", kw_wal_errstr(w));
    ck_assert_msg(kw_wal_append_sync(w, 7, "small", 5, &id_small) == 0, "%s", kw_wal_errstr(w));
    ck_assert_msg(kw_wal_append_sync(w, 7, b, BIG, &id_b) == 0, "%s", kw_wal_errstr(w));
    ck_assert_uint_lt(id_a, id_small);
    ck_assert_uint_lt(id_small, id_b);

    kw_wal_replay *r = NULL;
    ck_assert_int_eq(kw_wal_replay_open(w, 7, 0, 0, &r), 0);
    const uint8_t *want[3] = {a, (const uint8_t *)"small", b};
    size_t want_len[3] = {BIG, 5, BIG};
    uint64_t want_id[3] = {id_a, id_small, id_b};
    for (int i = 0; i < 3; i++) {
        uint64_t id;
        const uint8_t *data;
        size_t len;
        rc = kw_wal_replay_next(r, &id, &data, &len, 30000);
        ck_assert_msg(rc == 1, "entry %d: %s: %s", i, kw_err_name(rc), kw_wal_replay_errstr(r));
        ck_assert_uint_eq(id, want_id[i]);
        ck_assert_uint_eq(len, want_len[i]);
        ck_assert_msg(memcmp(data, want[i], len) == 0, "entry %d differs", i);
    }
    uint64_t id;
    const uint8_t *data;
    size_t len;
    ck_assert_int_eq(kw_wal_replay_next(r, &id, &data, &len, 5000), 0);
    kw_wal_replay_close(r);
    kw_wal_close(w);
    free(a);
    free(b);
    delete_topic(c, topic);
    kw_client_destroy(c);
}

START_TEST(a_16mb_wal_entry_split_into_1mb_parts_replays_whole)
{
    wal_round_trip(0, NULL); /* the default 1 MiB batches, on a topic at the broker's limit */
}
END_TEST

START_TEST(a_16mb_wal_entry_in_one_16mb_batch_replays_whole)
{
    wal_round_trip(16000000, "16000000");
}
END_TEST

/* ---------------------------------------------------------------- limits that must agree */

START_TEST(limits_past_what_a_response_can_hold_are_refused_naming_the_limit)
{
    kw_client *c = open_client();
    char err[512];
    kw_consumer *k = NULL;
    kw_consumer_options co = {.fetch_bytes = (64u << 20) + 1};
    ck_assert_int_eq(kw_consumer_new(&k, c, &co, err, sizeof(err)), KW_EINVAL);
    ck_assert_msg(strstr(err, "fetch_bytes must be at most 67108864"), "%s", err);
    co.fetch_bytes = 64u << 20;
    ck_assert_int_eq(kw_consumer_new(&k, c, &co, err, sizeof(err)), 0);
    kw_consumer_destroy(k);

    kw_producer *p = NULL;
    kw_producer_options po = {.batch_bytes = (32u << 20) + 1};
    ck_assert_int_eq(kw_producer_new(&p, c, &po, err, sizeof(err)), KW_EINVAL);
    ck_assert_msg(strstr(err, "batch_bytes 33554433 is outside 1024 .. 33554432"), "%s", err);

    kw_client_fetch_args fa = {.topic = "t", .max_bytes = (64 << 20) + 1};
    kw_client_fetch_result fr;
    ck_assert_int_eq(kw_client_fetch(c, &fa, &fr), KW_EINVAL);
    ck_assert_msg(strstr(fr.detail, "max_bytes must be at most 67108864"), "%s", fr.detail);

    kw_wal_options wo = {.provider = KW_WAL_PROVIDER_KAFKA, .client = c,
                         .max_batch_bytes = (32u << 20) + 1};
    kw_wal *w = NULL;
    ck_assert_int_eq(kw_wal_open(&w, &wo, err, sizeof(err)), KW_ECONFIG);
    ck_assert_msg(strstr(err, "max_batch_bytes: 33554433 is over 33554432"), "%s", err);
    wo = (kw_wal_options){.provider = KW_WAL_PROVIDER_KAFKA, .client = c,
                          .fetch_max_bytes = (64u << 20) + 1};
    ck_assert_int_eq(kw_wal_open(&w, &wo, err, sizeof(err)), KW_ECONFIG);
    ck_assert_msg(strstr(err, "fetch_max_bytes: 67108865 is over 67108864"), "%s", err);

    /* An entry replay could not reassemble is refused at append. */
    char topic[128];
    topic_name(topic, sizeof(topic), "walcap");
    wo = (kw_wal_options){.provider = KW_WAL_PROVIDER_KAFKA, .client = c, .topic = topic};
    ck_assert_msg(kw_wal_open(&w, &wo, err, sizeof(err)) == 0, "%s", err);
    size_t huge = (64u << 20) + 1;
    uint8_t *big = calloc(1, huge);
    uint64_t id;
    ck_assert_int_eq(kw_wal_append_sync(w, 1, big, huge, &id), KW_ETOOBIG);
    ck_assert_msg(strstr(kw_wal_errstr(w), "an entry of 67108865 bytes is larger than the 67108864"),
                  "%s", kw_wal_errstr(w));
    free(big);
    kw_wal_close(w);
    kw_client_destroy(c);
}
END_TEST

int main(void)
{
    if (!bootstrap()) {
        fprintf(stderr, "KWAL_BOOTSTRAP is not set (eval \"$(tests/kafka/broker env)\"): skipped\n");
        return 77;
    }
    Suite *s = suite_create("large-records");
    TCase *tc = tcase_create("large");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, a_16mb_record_round_trips_and_a_1mb_fetch_budget_still_reads_it);
    tcase_add_test(tc, a_record_over_the_topics_limit_fails_naming_its_size_and_the_limit);
    tcase_add_test(tc, a_16mb_wal_entry_split_into_1mb_parts_replays_whole);
    tcase_add_test(tc, a_16mb_wal_entry_in_one_16mb_batch_replays_whole);
    tcase_add_test(tc, limits_past_what_a_response_can_hold_are_refused_naming_the_limit);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
