/* Unit tests of the public kw_meta handle without a broker: options, topics, heartbeats. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kwal/meta.h"

/* Nothing listens on port 1: kw_meta_open connects to nobody, and these tests never need to. */
static char dir[256], cfg_path[300], store_dir[300];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/kwal-test-meta.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cfg_path, sizeof(cfg_path), "%s/wal.toml", dir);
    snprintf(store_dir, sizeof(store_dir), "%s/meta", dir);
}

static void teardown(void)
{
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void write_config(const char *text)
{
    FILE *f = fopen(cfg_path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static const char kafka_config[] = "[wal]\n"
                                   "provider = \"kafka\"\n"
                                   "broker_endpoints = [\"127.0.0.1:1\"]\n"
                                   "topic_name_prefix = \"t\"\n"
                                   "num_topics = 3\n"
                                   "auto_prune_interval = \"0s\"\n";

static kw_meta *open_meta(void)
{
    kw_meta_options o = {.config_path = cfg_path, .store_dir = store_dir};
    kw_meta *m = NULL;
    char err[512];
    int rc = kw_meta_open(&m, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_meta_open: %s: %s", kw_err_name(rc), err);
    ck_assert_ptr_nonnull(m);
    return m;
}

static void expect_topic(kw_meta *m, uint64_t region, const char *want)
{
    char topic[256];
    int rc = kw_meta_region_topic(m, region, topic, sizeof(topic));
    ck_assert_msg(rc == 0, "region %llu: %s: %s", (unsigned long long)region, kw_err_name(rc),
                  kw_meta_errstr(m));
    ck_assert_str_eq(topic, want);
}

START_TEST(open_refuses_missing_options_and_a_local_provider)
{
    kw_meta *m = (kw_meta *)1;
    char err[512];
    kw_meta_options none = {0};
    ck_assert_int_eq(kw_meta_open(&m, &none, err, sizeof(err)), KW_EINVAL);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(err, "config_path is required"));

    write_config("[wal]\nprovider = \"local\"\ndir = \"/tmp\"\n");
    kw_meta_options o = {.config_path = cfg_path, .store_dir = store_dir};
    ck_assert_int_eq(kw_meta_open(&m, &o, err, sizeof(err)), KW_ECONFIG);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(err, "needs provider = \"kafka\""));

    write_config("[wal]\nnum_topics = 0\n");
    ck_assert_int_eq(kw_meta_open(&m, &o, err, sizeof(err)), KW_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err, "num_topics"));

    /* without store_dir: a handle for the topic calls only; the others say so */
    write_config("[wal]\nprovider = \"kafka\"\nbroker_endpoints = [\"127.0.0.1:1\"]\n"
                 "topic_name_prefix = \"only_topics\"\n");
    kw_meta_options t = {.config_path = cfg_path};
    ck_assert_msg(kw_meta_open(&m, &t, err, sizeof(err)) == 0, "%s", err);
    ck_assert_str_eq(kw_meta_topic_prefix(m), "only_topics");
    char topic[256];
    ck_assert_int_eq(kw_meta_region_topic(m, 1, topic, sizeof(topic)), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(kw_meta_errstr(m), "without store_dir"));
    ck_assert_int_eq(kw_meta_heartbeat(m, 1, 0, 0), KW_EINVAL);
    kw_meta_status st;
    ck_assert_int_eq(kw_meta_status_get(m, &st), KW_EINVAL);
    ck_assert_uint_eq(st.topic_count, 0);
    kw_meta_status_free(&st);
    ck_assert_int_eq(kw_meta_prune_now(m, true, NULL), KW_EINVAL);
    kw_meta_close(m);
}
END_TEST

START_TEST(a_store_dir_is_opened_by_one_handle_at_a_time)
{
    write_config(kafka_config);
    kw_meta *m = open_meta();
    kw_meta *m2 = NULL;
    kw_meta_options o = {.config_path = cfg_path, .store_dir = store_dir};
    char err[512];
    ck_assert_int_eq(kw_meta_open(&m2, &o, err, sizeof(err)), KW_EAGAIN);
    ck_assert_ptr_null(m2);
    kw_meta_close(m);
    m = open_meta();
    kw_meta_close(m);
}
END_TEST

START_TEST(regions_get_topics_round_robin_and_keep_them_across_a_reopen)
{
    write_config(kafka_config);
    kw_meta *m = open_meta();
    expect_topic(m, 10, "t_0");
    expect_topic(m, 11, "t_1");
    expect_topic(m, 12, "t_2");
    expect_topic(m, 13, "t_0");
    expect_topic(m, 11, "t_1"); /* asked again: the same topic, no slot used */
    char small[3];
    ck_assert_int_eq(kw_meta_region_topic(m, 10, small, sizeof(small)), KW_ETOOBIG);
    kw_meta_close(m);

    m = open_meta();
    expect_topic(m, 12, "t_2");
    expect_topic(m, 14, "t_1"); /* the counter was kept too: slot 4 */
    kw_meta_close(m);
}
END_TEST

START_TEST(heartbeats_set_the_replay_start_and_survive_a_reopen)
{
    write_config(kafka_config);
    kw_meta *m = open_meta();
    uint64_t from = 99;
    ck_assert_int_eq(kw_meta_heartbeat(m, 7, 5, 6), KW_ENOTFOUND); /* no topic yet */
    ck_assert_int_eq(kw_meta_replay_start(m, 7, &from), KW_ENOTFOUND);
    expect_topic(m, 7, "t_0");
    ck_assert_int_eq(kw_meta_replay_start(m, 7, &from), 0);
    ck_assert_uint_eq(from, 0); /* never flushed, nothing pruned: from the start */
    ck_assert_int_eq(kw_meta_heartbeat(m, 7, KW_META_NONE, 40), 0);
    ck_assert_int_eq(kw_meta_replay_start(m, 7, &from), 0);
    ck_assert_uint_eq(from, 0);
    ck_assert_int_eq(kw_meta_heartbeat(m, 7, 41, 50), 0);
    ck_assert_int_eq(kw_meta_replay_start(m, 7, &from), 0);
    ck_assert_uint_eq(from, 42);
    kw_meta_close(m);

    m = open_meta();
    ck_assert_int_eq(kw_meta_replay_start(m, 7, &from), 0);
    ck_assert_uint_eq(from, 42);
    kw_meta_close(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("meta");
    TCase *tc = tcase_create("kw_meta");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, open_refuses_missing_options_and_a_local_provider);
    tcase_add_test(tc, a_store_dir_is_opened_by_one_handle_at_a_time);
    tcase_add_test(tc, regions_get_topics_round_robin_and_keep_them_across_a_reopen);
    tcase_add_test(tc, heartbeats_set_the_replay_start_and_survive_a_reopen);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
