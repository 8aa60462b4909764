/* The metasrv topic manager against the real broker: create, configs read back, races, noop,
 * verify. */
#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kwal/client.h"
#include "meta/topics.h"
#include "proto/batch.h"

/* ---------------------------------------------------------------- helpers */

static const char *bootstrap(void)
{
    const char *v = getenv("KWAL_BOOTSTRAP");
    return v && *v ? v : "127.0.0.1:19092";
}

static kw_client *open_client(bool host_driven)
{
    kw_client_options o = {
        .bootstrap = bootstrap(), .connect_timeout_ms = 5000, .host_driven = host_driven};
    kw_client *c = NULL;
    char err[256];
    int rc = kw_client_new(&c, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_client_new: %s: %s", kw_err_name(rc), err);
    return c;
}

/* A config with a prefix of its own, so runs and tests never see each other's topics. */
static void config_for(kw__wal_config *cfg, const char *what, uint32_t num_topics)
{
    static atomic_int seq;
    ck_assert_int_eq(kw__wal_config_init(cfg), 0);
    char prefix[128];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(prefix, sizeof(prefix), "kwal_it_meta_%s_%d_%ld_%d", what, getpid(),
             (long)(ts.tv_nsec / 1000), atomic_fetch_add(&seq, 1));
    free(cfg->topic_name_prefix);
    cfg->topic_name_prefix = strdup(prefix);
    ck_assert_ptr_nonnull(cfg->topic_name_prefix);
    cfg->num_topics = num_topics;
}

static void name_of(const kw__wal_config *cfg, uint32_t i, char *buf)
{
    ck_assert_int_eq(kw__meta_topic_name(cfg->topic_name_prefix, i, buf, KW_META_TOPIC_NAME_MAX),
                     0);
}

/* Deletes topics 0..n-1 of cfg (whichever exist) and frees cfg. */
static void cleanup(kw_client *c, kw__wal_config *cfg, uint32_t n)
{
    char(*names)[KW_META_TOPIC_NAME_MAX] = calloc(n, KW_META_TOPIC_NAME_MAX);
    const char **ptrs = calloc(n, sizeof(*ptrs));
    for (uint32_t i = 0; i < n; i++) {
        name_of(cfg, i, names[i]);
        ptrs[i] = names[i];
    }
    kw_client_delete_topics_args a = {.names = ptrs, .name_count = n, .timeout_ms = 30000};
    kw_client_topics_result r = {0};
    kw_client_delete_topics(c, &a, &r); /* missing ones fail; that is fine */
    kw_client_topics_result_free(&r);
    free(ptrs);
    free(names);
    kw__wal_config_free(cfg);
}

static const char *config_value(kw_client *c, const char *topic, const char *key, int *source)
{
    static __thread char buf[128];
    const char *keys[] = {key};
    kw_client_describe_configs_args a = {
        .resource = KW_CLIENT_RESOURCE_TOPIC, .name = topic, .keys = keys, .key_count = 1};
    kw_client_describe_configs_result r = {0};
    int rc = kw_client_describe_configs(c, &a, &r);
    ck_assert_msg(rc == 0, "describe %s: %s: %s", topic, kw_err_name(rc), r.detail);
    buf[0] = '\0';
    bool found = false;
    for (size_t i = 0; i < r.config_count; i++)
        if (strcmp(r.configs[i].name, key) == 0) {
            snprintf(buf, sizeof(buf), "%s", r.configs[i].value ? r.configs[i].value : "(null)");
            if (source)
                *source = r.configs[i].source;
            found = true;
        }
    kw_client_describe_configs_result_free(&r);
    ck_assert_msg(found, "%s: %s not described", topic, key);
    return buf;
}

static int64_t offset_of(kw_client *c, const char *topic, int spec)
{
    kw_client_list_offsets_args a = {.topic = topic, .partition = 0, .spec = spec};
    kw_client_list_offsets_result r;
    int rc = kw_client_list_offsets(c, &a, &r);
    ck_assert_msg(rc == 0, "list offsets %s: %s: %s", topic, kw_err_name(rc), r.detail);
    return r.offset;
}

static int partitions_of(kw_client *c, const char *topic)
{
    const char *names[] = {topic};
    kw_client_metadata_args a = {.topics = names, .topic_count = 1};
    kw_client_metadata_result m = {0};
    ck_assert_int_eq(kw_client_metadata(c, &a, &m), 0);
    ck_assert_int_eq((int)m.topic_count, 1);
    int n = m.topics[0].kerr ? -1 : (int)m.topics[0].partition_count;
    kw_client_metadata_result_free(&m);
    return n;
}

/* Every config the topic manager sets, read back as set on the topic itself. */
static void expect_wal_configs(kw_client *c, const kw__wal_config *cfg, const char *topic)
{
    char maxmsg[32];
    snprintf(maxmsg, sizeof(maxmsg), "%" PRId64, kw__meta_topics_max_message_bytes(cfg));
    const char *want[][2] = {
        {"retention.ms", "-1"},           {"retention.bytes", "-1"},
        {"cleanup.policy", "delete"},     {"max.message.bytes", maxmsg},
        {"compression.type", "producer"},
    };
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
        int source = -1;
        const char *v = config_value(c, topic, want[k][0], &source);
        ck_assert_msg(strcmp(v, want[k][1]) == 0, "%s %s = %s, want %s", topic, want[k][0], v,
                      want[k][1]);
        ck_assert_msg(source == KW_CLIENT_CONFIG_TOPIC, "%s %s: source %d, want set on the topic",
                      topic, want[k][0], source);
    }
}

/* The noop is at offset 0: one record, null key, null value. */
static void expect_noop_at_zero(kw_client *c, const char *topic)
{
    kw_client_fetch_args a = {.topic = topic, .offset = 0, .max_wait_ms = 100};
    kw_client_fetch_result r = {0};
    int rc = kw_client_fetch(c, &a, &r);
    ck_assert_msg(rc == 0, "fetch %s: %s: %s", topic, kw_err_name(rc), r.detail);
    kw_batch_iter it;
    kw__batch_iter_init(&it, r.records, r.records_len, KW_BATCH_VERIFY_CRC);
    kw_batch b;
    ck_assert_int_eq(kw__batch_next(&it, &b), 1);
    ck_assert_int_eq(b.base_offset, 0);
    /* a topic with compression.type=lz4 has the broker recompress even this one record */
    kw_wr scratch;
    kw__wr_init(&scratch);
    kw_record_iter ri;
    ck_assert_int_eq(kw__record_iter_init(&ri, &b, &scratch, 0, 0), 0);
    kw_record rec;
    ck_assert_int_eq(kw__record_next(&ri, &rec), 1);
    ck_assert_int_eq(rec.offset, 0);
    ck_assert_int_eq(rec.key.len, -1);
    ck_assert_int_eq(rec.value.len, -1);
    ck_assert_int_eq(kw__record_next(&ri, &rec), 0);
    kw__wr_free(&scratch);
    kw_client_fetch_result_free(&r);
}

/* A topic made by hand, outside the topic manager. */
static void create_by_hand(kw_client *c, const char *name, int partitions,
                           const kw_client_config_entry *configs, size_t n)
{
    kw_client_new_topic t = {.name = name,
                             .partitions = partitions,
                             .replication_factor = 1,
                             .configs = configs,
                             .config_count = n};
    kw_client_create_topics_args a = {.topics = &t, .topic_count = 1, .timeout_ms = 30000};
    kw_client_topics_result r = {0};
    int rc = kw_client_create_topics(c, &a, &r);
    ck_assert_msg(rc == 0, "create %s: %s: %s", name, kw_err_name(rc), r.detail);
    kw_client_topics_result_free(&r);
    /* CreateTopics answers before the topic shows in Metadata; an operator's topic is older */
    for (int i = 0; i < 200 && partitions_of(c, name) != partitions; i++)
        usleep(50 * 1000);
    ck_assert_int_eq(partitions_of(c, name), partitions);
}

/* ---------------------------------------------------------------- tests */

START_TEST(ensure_creates_every_topic_with_the_wal_configs_and_a_noop)
{
    kw_client *c = open_client(false);
    kw__wal_config cfg;
    config_for(&cfg, "create", 8);
    kw_meta_topics_report rep;
    char err[1024];
    int rc = kw__meta_topics_ensure(c, &cfg, &rep, err, sizeof(err));
    ck_assert_msg(rc == 0, "ensure: %s: %s", kw_err_name(rc), err);
    ck_assert_uint_eq(rep.topics, 8);
    ck_assert_uint_eq(rep.created, 8);
    ck_assert_uint_eq(rep.raced, 0);
    ck_assert_uint_eq(rep.problems, 0);
    ck_assert_uint_eq(rep.empty, 8);
    ck_assert_uint_eq(rep.noops_written, 8);
    for (uint32_t i = 0; i < 8; i++) {
        char t[KW_META_TOPIC_NAME_MAX];
        name_of(&cfg, i, t);
        ck_assert_int_eq(partitions_of(c, t), 1);
        expect_wal_configs(c, &cfg, t);
        ck_assert_int_eq(offset_of(c, t, KW_CLIENT_OFFSET_EARLIEST), 0);
        ck_assert_int_eq(offset_of(c, t, KW_CLIENT_OFFSET_LATEST), 1);
        expect_noop_at_zero(c, t);
    }

    /* again: nothing created, nothing written, still fine */
    rc = kw__meta_topics_ensure(c, &cfg, &rep, err, sizeof(err));
    ck_assert_msg(rc == 0, "ensure again: %s: %s", kw_err_name(rc), err);
    ck_assert_uint_eq(rep.created, 0);
    ck_assert_uint_eq(rep.empty, 0);
    ck_assert_uint_eq(rep.noops_written, 0);
    rc = kw__meta_topics_verify(c, &cfg, &rep, err, sizeof(err));
    ck_assert_msg(rc == 0, "verify: %s: %s", kw_err_name(rc), err);
    for (uint32_t i = 0; i < 8; i++) {
        char t[KW_META_TOPIC_NAME_MAX];
        name_of(&cfg, i, t);
        ck_assert_int_eq(offset_of(c, t, KW_CLIENT_OFFSET_LATEST), 1);
    }
    cleanup(c, &cfg, 8);
    kw_client_destroy(c);
}
END_TEST

START_TEST(ensure_on_a_host_driven_client_drives_the_loop)
{
    kw_client *c = open_client(true);
    kw__wal_config cfg;
    config_for(&cfg, "host", 4);
    kw_meta_topics_report rep;
    char err[1024];
    int rc = kw__meta_topics_ensure(c, &cfg, &rep, err, sizeof(err));
    ck_assert_msg(rc == 0, "ensure: %s: %s", kw_err_name(rc), err);
    ck_assert_uint_eq(rep.created, 4);
    ck_assert_uint_eq(rep.noops_written, 4);
    cleanup(c, &cfg, 4);
    kw_client_destroy(c);
}
END_TEST

typedef struct racer {
    const kw__wal_config *cfg;
    kw_meta_topics_report rep;
    int rc;
    char err[1024];
} racer;

static void *ensure_thread(void *arg)
{
    racer *r = arg;
    kw_client *c = open_client(false); /* a metasrv of its own */
    r->rc = kw__meta_topics_ensure(c, r->cfg, &r->rep, r->err, sizeof(r->err));
    kw_client_destroy(c);
    return NULL;
}

START_TEST(two_metasrvs_ensuring_at_once_both_succeed)
{
    kw_client *c = open_client(false);
    kw__wal_config cfg;
    config_for(&cfg, "race", 8);
    racer r[2] = {{.cfg = &cfg}, {.cfg = &cfg}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, ensure_thread, &r[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++)
        ck_assert_msg(r[i].rc == 0, "ensure %d: %s: %s", i, kw_err_name(r[i].rc), r[i].err);
    /* each topic was created exactly once, by one of them */
    ck_assert_uint_eq(r[0].rep.created + r[1].rep.created, 8);
    fprintf(stderr, "race: created %u + %u, already-exists %u + %u, noops %u + %u\n",
            r[0].rep.created, r[1].rep.created, r[0].rep.raced, r[1].rep.raced,
            r[0].rep.noops_written, r[1].rep.noops_written);
    for (uint32_t i = 0; i < 8; i++) {
        char tn[KW_META_TOPIC_NAME_MAX];
        name_of(&cfg, i, tn);
        expect_wal_configs(c, &cfg, tn);
        /* both may have seen it empty: one noop or two, never a real entry at 0 */
        int64_t end = offset_of(c, tn, KW_CLIENT_OFFSET_LATEST);
        ck_assert_int_ge(end, 1);
        ck_assert_int_le(end, 2);
        expect_noop_at_zero(c, tn);
    }
    ck_assert_uint_ge(r[0].rep.noops_written + r[1].rep.noops_written, 8);
    cleanup(c, &cfg, 8);
    kw_client_destroy(c);
}
END_TEST

START_TEST(verify_names_each_missing_or_misconfigured_topic)
{
    kw_client *c = open_client(false);
    kw__wal_config cfg;
    config_for(&cfg, "verify", 5);
    char n[5][KW_META_TOPIC_NAME_MAX];
    for (uint32_t i = 0; i < 5; i++)
        name_of(&cfg, i, n[i]);
    /* _0: right, made by the topic manager (a one-topic config) */
    cfg.num_topics = 1;
    kw_meta_topics_report rep;
    char err[2048];
    ck_assert_int_eq(kw__meta_topics_ensure(c, &cfg, &rep, err, sizeof(err)), 0);
    cfg.num_topics = 5;
    char maxmsg[32];
    snprintf(maxmsg, sizeof(maxmsg), "%" PRId64, kw__meta_topics_max_message_bytes(&cfg));
    kw_client_config_entry good[] = {
        {"retention.ms", "-1"},
        {"retention.bytes", "-1"},
        {"cleanup.policy", "delete"},
        {"max.message.bytes", maxmsg},
    };
    kw_client_config_entry week[] = {
        {"retention.ms", "604800000"},
        {"retention.bytes", "-1"},
        {"cleanup.policy", "delete"},
        {"max.message.bytes", maxmsg},
    };
    create_by_hand(c, n[1], 1, week, 4); /* _1: time retention */
    create_by_hand(c, n[2], 3, good, 4); /* _2: three partitions */
    /* _3: missing */
    create_by_hand(c, n[4], 1, NULL, 0); /* _4: the broker's defaults */

    /* verify creates nothing and lists every problem in one error */
    int rc = kw__meta_topics_verify(c, &cfg, &rep, err, sizeof(err));
    ck_assert_int_eq(rc, KW_ECONFIG);
    fprintf(stderr, "verify: %s\n", err);
    ck_assert_uint_eq(rep.problems, 4);
    char want[1024];
    snprintf(want, sizeof(want), "4 of 5 WAL topics are not usable: %s: ", n[1]);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
    snprintf(want, sizeof(want), "%s: retention.ms is 604800000, expected -1; ", n[1]);
    ck_assert_msg(strstr(err, want), "no '%s' in: %s", want, err);
    snprintf(want, sizeof(want), "%s: 3 partitions, expected 1; ", n[2]);
    ck_assert_msg(strstr(err, want), "no '%s' in: %s", want, err);
    snprintf(want, sizeof(want), "%s: missing; ", n[3]);
    ck_assert_msg(strstr(err, want), "no '%s' in: %s", want, err);
    snprintf(want, sizeof(want), "%s: retention.ms is 604800000, expected -1, ", n[4]);
    ck_assert_msg(strstr(err, want), "no '%s' in: %s", want, err);
    snprintf(want, sizeof(want), "max.message.bytes is 1048588, expected at least %s", maxmsg);
    ck_assert_msg(strstr(err, want), "no '%s' in: %s", want, err);
    snprintf(want, sizeof(want), "%s:", n[0]);
    ck_assert_msg(!strstr(err, want), "%s is fine but listed: %s", n[0], err);
    ck_assert_int_eq(partitions_of(c, n[3]), -1);

    /* a short buffer still gets the start of the list, marked as cut */
    char small[80];
    ck_assert_int_eq(kw__meta_topics_verify(c, &cfg, NULL, small, sizeof(small)), KW_ECONFIG);
    ck_assert_int_eq((int)strlen(small), 79);
    ck_assert_str_eq(small + 76, "...");

    /* prepare without auto-create is verify: same answer, nothing created */
    cfg.auto_create_topics = false;
    ck_assert_int_eq(kw__meta_topics_prepare(c, &cfg, &rep, err, sizeof(err)), KW_ECONFIG);
    ck_assert_uint_eq(rep.problems, 4);
    ck_assert_int_eq(partitions_of(c, n[3]), -1);

    /* ensure creates the missing one but does not accept the wrong ones */
    rc = kw__meta_topics_ensure(c, &cfg, &rep, err, sizeof(err));
    ck_assert_int_eq(rc, KW_ECONFIG);
    ck_assert_uint_eq(rep.created, 1);
    ck_assert_uint_eq(rep.problems, 3);
    snprintf(want, sizeof(want), "%s:", n[3]);
    ck_assert_msg(!strstr(err, want), "%s was created but listed: %s", n[3], err);
    ck_assert_int_eq(partitions_of(c, n[3]), 1);
    expect_wal_configs(c, &cfg, n[3]);
    cleanup(c, &cfg, 5);
    kw_client_destroy(c);
}
END_TEST

START_TEST(prepare_without_auto_create_seeds_hand_made_empty_topics)
{
    kw_client *c = open_client(false);
    kw__wal_config cfg;
    config_for(&cfg, "manual", 2);
    char maxmsg[32];
    snprintf(maxmsg, sizeof(maxmsg), "%" PRId64, kw__meta_topics_max_message_bytes(&cfg));
    kw_client_config_entry good[] = {
        {"retention.ms", "-1"},        {"retention.bytes", "-1"},   {"cleanup.policy", "delete"},
        {"max.message.bytes", maxmsg}, {"compression.type", "lz4"},
    };
    char n[2][KW_META_TOPIC_NAME_MAX];
    for (uint32_t i = 0; i < 2; i++) {
        name_of(&cfg, i, n[i]);
        create_by_hand(c, n[i], 1, good, 5);
    }
    cfg.auto_create_topics = false;
    kw_meta_topics_report rep;
    char err[1024];
    int rc = kw__meta_topics_prepare(c, &cfg, &rep, err, sizeof(err));
    ck_assert_msg(rc == 0, "prepare: %s: %s", kw_err_name(rc), err);
    ck_assert_uint_eq(rep.created, 0);
    ck_assert_uint_eq(rep.noops_written, 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(offset_of(c, n[i], KW_CLIENT_OFFSET_LATEST), 1);
        expect_noop_at_zero(c, n[i]);
    }
    cleanup(c, &cfg, 2);
    kw_client_destroy(c);
}
END_TEST

START_TEST(sixty_four_topics_timed)
{
    kw_client *c = open_client(false);
    kw__wal_config cfg;
    config_for(&cfg, "t64", 64);
    kw_meta_topics_report rep;
    char err[1024];
    int rc = kw__meta_topics_ensure(c, &cfg, &rep, err, sizeof(err));
    ck_assert_msg(rc == 0, "ensure: %s: %s", kw_err_name(rc), err);
    ck_assert_uint_eq(rep.created, 64);
    ck_assert_uint_eq(rep.noops_written, 64);
    fprintf(stderr,
            "64 topics, ensure (create): total %" PRIu64 " ms (lookup %" PRIu64
            ", create+leaders %" PRIu64 ", verify %" PRIu64 ", noop %" PRIu64 ")\n",
            rep.total_ms, rep.lookup_ms, rep.create_ms, rep.verify_ms, rep.noop_ms);
    rc = kw__meta_topics_ensure(c, &cfg, &rep, err, sizeof(err));
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(rep.created, 0);
    fprintf(stderr,
            "64 topics, ensure (all exist): total %" PRIu64 " ms (lookup %" PRIu64
            ", verify %" PRIu64 ", noop check %" PRIu64 ")\n",
            rep.total_ms, rep.lookup_ms, rep.verify_ms, rep.noop_ms);
    rc = kw__meta_topics_verify(c, &cfg, &rep, err, sizeof(err));
    ck_assert_int_eq(rc, 0);
    fprintf(stderr,
            "64 topics, verify: total %" PRIu64 " ms (lookup %" PRIu64 ", verify %" PRIu64 ")\n",
            rep.total_ms, rep.lookup_ms, rep.verify_ms);
    cleanup(c, &cfg, 64);
    kw_client_destroy(c);
}
END_TEST

START_TEST(unreachable_broker_fails_with_the_request_named)
{
    kw_client_options o = {
        .bootstrap = "127.0.0.1:1", .connect_timeout_ms = 300, .request_timeout_ms = 800};
    kw_client *c = NULL;
    ck_assert_int_eq(kw_client_new(&c, &o, NULL, 0), 0);
    kw__wal_config cfg;
    config_for(&cfg, "down", 2);
    cfg.create_topic_timeout_ms = 800;
    char err[512];
    int rc = kw__meta_topics_verify(c, &cfg, NULL, err, sizeof(err));
    ck_assert_int_eq(rc, KW_ETIMEDOUT);
    ck_assert_msg(strncmp(err, "Metadata for ", 13) == 0, "%s", err);
    kw__wal_config_free(&cfg);
    kw_client_destroy(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("meta topics");
    TCase *tc = tcase_create("topics");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, ensure_creates_every_topic_with_the_wal_configs_and_a_noop);
    tcase_add_test(tc, ensure_on_a_host_driven_client_drives_the_loop);
    tcase_add_test(tc, two_metasrvs_ensuring_at_once_both_succeed);
    tcase_add_test(tc, verify_names_each_missing_or_misconfigured_topic);
    tcase_add_test(tc, prepare_without_auto_create_seeds_hand_made_empty_topics);
    tcase_add_test(tc, sixty_four_topics_timed);
    tcase_add_test(tc, unreachable_broker_fails_with_the_request_named);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
