/* Unit tests of the producer without a broker: murmur2, the partitioner, options and send's errors.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "kwal/producer.h"
#include "net/producer_int.h"

/*
 * Expected values: computed with a short independent Python re-implementation
 * of Java's org.apache.kafka.common.utils.Utils.murmur2 (signed 32-bit int
 * arithmetic emulated with a wrap-to-int32 after every step, `>>>` as a logical
 * shift), not with kwal; the partition is (h & 0x7fffffff) % n, Java's
 * toPositive.  "21" and "foobar" are also in Kafka's own UtilsTest.
 */
static const struct {
    const char *key;
    size_t len;
    int32_t hash; /* as Java's int */
    int32_t p3, p7, p100;
} CASES[] = {
    {"", 0, 275646681, 0, 2, 81},
    {"a", 1, -1563381124, 1, 5, 24},
    {"ab", 2, 316155434, 2, 0, 34},
    {"abc", 3, 479470107, 0, 4, 7},
    {"abcd", 4, -1323649548, 2, 5, 0},
    {"kafka", 5, -798503068, 1, 3, 80},
    {"21", 2, -973932308, 0, 3, 40},
    {"foobar", 6, -790332482, 0, 0, 66},
    {"\xff\xfe\x80\x00\x7f", 5, -1602569320, 1, 0, 28},
    {"key-12345", 9, -952703915, 0, 0, 33},
    {"the quick brown fox jumps", 25, -1650844993, 1, 2, 55},
};

START_TEST(murmur2_matches_the_java_client)
{
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        ck_assert_int_eq((int32_t)kw_murmur2(CASES[i].key, CASES[i].len), CASES[i].hash);
        ck_assert_int_eq(kw_producer_partition(CASES[i].key, CASES[i].len, 3), CASES[i].p3);
        ck_assert_int_eq(kw_producer_partition(CASES[i].key, CASES[i].len, 7), CASES[i].p7);
        ck_assert_int_eq(kw_producer_partition(CASES[i].key, CASES[i].len, 100), CASES[i].p100);
    }
    /* an empty key is hashed; a NULL one is not */
    ck_assert_int_eq(kw_producer_partition("", 0, 3), 0);
    ck_assert_int_eq(kw_producer_partition(NULL, 0, 3), -1);
    ck_assert_int_eq(kw_producer_partition("a", 1, 0), -1);
}
END_TEST

/* A host-driven client: nothing runs unless the test drives it, and nothing connects. */
static kw_client *offline_client(void)
{
    kw_client_options o = {.bootstrap = "127.0.0.1:1", .host_driven = true};
    kw_client *c = NULL;
    ck_assert_int_eq(kw_client_new(&c, &o, NULL, 0), 0);
    return c;
}

/* A topic the producer knows with n partitions, as if its metadata had arrived. */
static kw__producer_topic *known_topic(kw_producer *p, const char *name, int32_t n)
{
    kw__producer_topic *t = calloc(1, sizeof(*t));
    t->name = strdup(name);
    t->producer = p;
    t->sticky = -1;
    t->state = KW__PT_KNOWN;
    t->nparts = n;
    t->parts = calloc((size_t)n, sizeof(*t->parts));
    for (int32_t i = 0; i < n; i++)
        t->parts[i] = (kw__producer_partition){.topic = t, .index = i};
    p->topics = p->topics_tail = t;
    return t;
}

static size_t closed_count(const kw__producer_partition *pt)
{
    size_t n = 0;
    for (const kw__producer_batch *b = pt->closed_head; b; b = b->next)
        n++;
    return n;
}

START_TEST(null_keys_stick_to_a_partition_until_its_batch_closes_then_spread)
{
    kw_client *c = offline_client();
    kw_producer *p = NULL;
    kw_producer_options o = {.batch_bytes = 1024};
    ck_assert_int_eq(kw_producer_new(&p, c, &o, NULL, 0), 0);
    kw__producer_topic *t = known_topic(p, "t", 4);
    char value[100];
    memset(value, 'v', sizeof(value));
    kw_producer_record r = {.topic = "t", .partition = -1, .value = value, .value_len = 100};
    size_t per_part[4] = {0}, closes_seen = 0;
    int32_t last = -1;
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < 1000; i++) {
        size_t closed_before = 0;
        for (int j = 0; j < 4; j++)
            closed_before += closed_count(&t->parts[j]);
        int32_t part = kw__producer_pick(p, t, &r);
        ck_assert_int_ge(part, 0);
        ck_assert_int_lt(part, 4);
        /* the partition changes only after a batch closed, and then it does change */
        if (last >= 0 && part != last)
            ck_assert_uint_gt(closed_before, closes_seen);
        if (last >= 0 && closed_before > closes_seen)
            ck_assert_int_ne(part, last);
        closes_seen = closed_before;
        last = part;
        ck_assert_int_eq(kw__producer_append(p, &t->parts[part], &r, NULL, NULL,
                                             kw__producer_record_cost(&r), 0),
                         0);
        per_part[part]++;
    }
    pthread_mutex_unlock(&p->mu);
    /* about 130 batches of ~8 records: every partition got many */
    for (int j = 0; j < 4; j++)
        ck_assert_uint_gt(per_part[j], 100);
    p->topics = p->topics_tail = NULL; /* the test's topic, freed here (never sent) */
    for (int j = 0; j < 4; j++) {
        kw__producer_batch_free(t->parts[j].open);
        for (kw__producer_batch *b = t->parts[j].closed_head, *n; b; b = n) {
            n = b->next;
            kw__producer_batch_free(b);
        }
    }
    free(t->parts);
    free(t->name);
    free(t);
    ck_assert_int_eq(kw_producer_destroy(p), 0);
    kw_client_destroy(c);
}
END_TEST

START_TEST(a_key_always_goes_to_one_partition)
{
    kw_client *c = offline_client();
    kw_producer *p = NULL;
    ck_assert_int_eq(kw_producer_new(&p, c, NULL, NULL, 0), 0);
    kw__producer_topic t = {.name = "t", .nparts = 7, .sticky = -1, .state = KW__PT_KNOWN};
    kw_producer_record r = {.topic = "t", .partition = -1, .key = "kafka", .key_len = 5};
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(kw__producer_pick(p, &t, &r), 3); /* the Java client's partition */
    r.key = "abcd";
    r.key_len = 4;
    ck_assert_int_eq(kw__producer_pick(p, &t, &r), 5);
    ck_assert_int_eq(kw_producer_destroy(p), 0);
    kw_client_destroy(c);
}
END_TEST

static int new_error(kw_client *c, kw_producer_options o, char *why, size_t len)
{
    kw_producer *p = (kw_producer *)1;
    int rc = kw_producer_new(&p, c, &o, why, len);
    if (rc)
        ck_assert_ptr_null(p);
    else
        kw_producer_destroy(p);
    return rc;
}

START_TEST(bad_options_are_refused_by_name)
{
    kw_client *c = offline_client();
    char why[256];
    ck_assert_int_eq(new_error(c, (kw_producer_options){.acks = 7}, why, sizeof(why)), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "acks 7"));
    ck_assert_int_eq(new_error(c,
                               (kw_producer_options){.acks = KW_CLIENT_ACKS_LEADER,
                                                     .idempotence = KW_PRODUCER_IDEMPOTENCE_ON},
                               why, sizeof(why)),
                     KW_ECONFIG);
    ck_assert_ptr_nonnull(strstr(why, "idempotence needs acks ALL"));
    ck_assert_int_eq(new_error(c, (kw_producer_options){.max_in_flight = 6}, why, sizeof(why)),
                     KW_ECONFIG);
    ck_assert_ptr_nonnull(strstr(why, "max_in_flight 6"));
    /* not idempotent: any in-flight count */
    ck_assert_int_eq(new_error(c,
                               (kw_producer_options){.max_in_flight = 50,
                                                     .idempotence = KW_PRODUCER_IDEMPOTENCE_OFF},
                               why, sizeof(why)),
                     0);
    /* acks 1 without asking for idempotence: it is off, not an error */
    ck_assert_int_eq(
        new_error(c, (kw_producer_options){.acks = KW_CLIENT_ACKS_LEADER}, why, sizeof(why)), 0);
    ck_assert_int_eq(new_error(c, (kw_producer_options){.compression = 9}, why, sizeof(why)),
                     KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "compression 9"));
    ck_assert_int_eq(new_error(c, (kw_producer_options){.batch_bytes = 10}, why, sizeof(why)),
                     KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "batch_bytes 10"));
    ck_assert_int_eq(new_error(c, (kw_producer_options){.linger_ms = -5}, why, sizeof(why)),
                     KW_EINVAL);
    ck_assert_int_eq(new_error(c, (kw_producer_options){.idempotence = 3}, why, sizeof(why)),
                     KW_EINVAL);
    kw_producer *p = NULL;
    ck_assert_int_eq(kw_producer_new(&p, NULL, NULL, why, sizeof(why)), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "client is NULL"));
    kw_client_destroy(c);
}
END_TEST

static void never(const kw_producer_delivery *d, void *arg)
{
    (void)d;
    (void)arg;
    ck_abort_msg("a refused send called its callback");
}

START_TEST(bad_records_are_refused_with_the_reason)
{
    kw_client *c = offline_client();
    kw_producer *p = NULL;
    kw_producer_options o = {.batch_bytes = 2048, .buffer_bytes = 4096};
    ck_assert_int_eq(kw_producer_new(&p, c, &o, NULL, 0), 0);
    char why[256];
    kw_producer_record r = {.topic = NULL};
    ck_assert_int_eq(kw_producer_send(p, &r, never, NULL), KW_EINVAL);
    kw_producer_last_error(p, why, sizeof(why));
    ck_assert_str_eq(why, "record has no topic");
    r = (kw_producer_record){.topic = "t", .partition = -2};
    ck_assert_int_eq(kw_producer_send(p, &r, never, NULL), KW_EINVAL);
    kw_producer_last_error(p, why, sizeof(why));
    ck_assert_ptr_nonnull(strstr(why, "partition -2"));
    kw_header h = {.key = NULL, .value = "v", .value_len = 1};
    r = (kw_producer_record){.topic = "t", .partition = 0, .headers = &h, .header_count = 1};
    ck_assert_int_eq(kw_producer_send(p, &r, never, NULL), KW_EINVAL);
    kw_producer_last_error(p, why, sizeof(why));
    ck_assert_ptr_nonnull(strstr(why, "header 0 has a NULL key"));
    static char big[4096];
    r = (kw_producer_record){.topic = "t", .partition = 0, .value = big, .value_len = 3000};
    ck_assert_int_eq(kw_producer_send(p, &r, never, NULL), KW_ETOOBIG);
    kw_producer_last_error(p, why, sizeof(why));
    ck_assert_ptr_nonnull(strstr(why, "larger than batch_bytes (2048)"));
    /* a partition past the topic's count, once the topic is known */
    kw__producer_topic *t = known_topic(p, "t", 2);
    p->last_topic = t;
    r = (kw_producer_record){.topic = "t", .partition = 5, .value = "x", .value_len = 1};
    ck_assert_int_eq(kw_producer_send(p, &r, never, NULL), KW_ENOTFOUND);
    kw_producer_last_error(p, why, sizeof(why));
    ck_assert_str_eq(why, "partition 5 of topic t does not exist (it has 2)");
    /* the buffer: two 1500-byte records fit in 4096, the third does not, at once */
    r = (kw_producer_record){.topic = "t", .partition = 1, .value = big, .value_len = 1500};
    ck_assert_int_eq(kw_producer_send(p, &r, NULL, NULL), 0);
    ck_assert_int_eq(kw_producer_send(p, &r, NULL, NULL), 0);
    ck_assert_int_eq(kw_producer_send(p, &r, never, NULL), KW_EFULL);
    kw_producer_last_error(p, why, sizeof(why));
    ck_assert_ptr_nonnull(strstr(why, "buffer full"));
    /* unsendable (no broker): drop the test topic's batches by hand */
    p->topics = p->topics_tail = p->last_topic = NULL;
    for (int j = 0; j < 2; j++) {
        kw__producer_batch_free(t->parts[j].open);
        for (kw__producer_batch *b = t->parts[j].closed_head, *n; b; b = n) {
            n = b->next;
            kw__producer_batch_free(b);
        }
    }
    p->sent_records = p->done_records;
    free(t->parts);
    free(t->name);
    free(t);
    ck_assert_int_eq(kw_producer_destroy(p), 0);
    kw_client_destroy(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("producer");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, murmur2_matches_the_java_client);
    tcase_add_test(tc, null_keys_stick_to_a_partition_until_its_batch_closes_then_spread);
    tcase_add_test(tc, a_key_always_goes_to_one_partition);
    tcase_add_test(tc, bad_options_are_refused_by_name);
    tcase_add_test(tc, bad_records_are_refused_with_the_reason);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
