/* Unit tests of the WAL pruner: prune point, skips, pinning, replay start, reopen of the store. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meta/pruner.h"
#include "meta/store.h"

#define NONE KW_META_PRUNER_NONE

static kw_meta_pruner_region_in reg(uint64_t id, uint64_t flushed)
{
    return (kw_meta_pruner_region_in){.region_id = id, .flushed_id = flushed, .reported = true};
}

static kw_meta_pruner_decision decide(const kw_meta_pruner_region_in *r, size_t n, int64_t start,
                                      int64_t end)
{
    kw_meta_pruner_topic_in in = {
        .regions = r, .region_count = n, .start_offset = start, .end_offset = end};
    kw_meta_pruner_decision d = {0};
    kw__meta_pruner_decide(&in, &d);
    return d;
}

START_TEST(prune_point_is_the_lowest_flushed_id_plus_one_and_keeps_that_record)
{
    kw_meta_pruner_region_in r[] = {reg(1, 14), reg(2, 9), reg(3, 11)};
    kw_meta_pruner_decision d = decide(r, 3, 0, 20);
    ck_assert_int_eq(d.action, KW_META_PRUNER_PRUNE);
    /* DeleteRecords(10) deletes 0..9: region 2 flushed entry 9 and needs 10 on. */
    ck_assert_int_eq(d.prune_point, 10);
    ck_assert_uint_eq(d.holder, 2);
    ck_assert_msg(strstr(d.reason, "region 2 flushed through 9"), "%s", d.reason);
    ck_assert_msg(strstr(d.reason, "0..9"), "%s", d.reason);
}
END_TEST

START_TEST(a_region_flushed_through_the_last_offset_lets_everything_go)
{
    kw_meta_pruner_region_in r[] = {reg(1, 19), reg(2, 19)};
    kw_meta_pruner_decision d = decide(r, 2, 5, 20);
    ck_assert_int_eq(d.action, KW_META_PRUNER_PRUNE);
    ck_assert_int_eq(d.prune_point, 20);
}
END_TEST

START_TEST(a_region_that_never_flushed_holds_the_topic_at_its_log_start)
{
    kw_meta_pruner_region_in r[] = {reg(1, 14), reg(7, NONE), reg(3, 11)};
    int64_t need[3];
    kw_meta_pruner_decision d = decide(r, 3, 4, 20);
    d = (kw_meta_pruner_decision){.needed_from = need};
    kw_meta_pruner_topic_in in = {
        .regions = r, .region_count = 3, .start_offset = 4, .end_offset = 20};
    kw__meta_pruner_decide(&in, &d);
    ck_assert_int_eq(d.action, KW_META_PRUNER_SKIP);
    ck_assert_int_eq(d.prune_point, 4);
    ck_assert_uint_eq(d.holder, 7);
    ck_assert_msg(strstr(d.reason, "region 7 never flushed"), "%s", d.reason);
    ck_assert_int_eq(need[0], 15);
    ck_assert_int_eq(need[1], 4);
    ck_assert_int_eq(need[2], 12);
}
END_TEST

START_TEST(a_region_that_never_reported_skips_the_topic)
{
    kw_meta_pruner_region_in r[] = {reg(1, 14), reg(5, 11), {.region_id = 9, .flushed_id = NONE}};
    kw_meta_pruner_decision d = decide(r, 3, 0, 20);
    ck_assert_int_eq(d.action, KW_META_PRUNER_SKIP);
    ck_assert_uint_eq(d.holder, 9);
    ck_assert_str_eq(d.reason, "skip: region 9 never reported");
    ck_assert_int_eq(d.prune_point, 12); /* still computed over the others, for the status */
}
END_TEST

START_TEST(a_topic_without_regions_is_skipped_not_emptied)
{
    kw_meta_pruner_decision d = decide(NULL, 0, 0, 20);
    ck_assert_int_eq(d.action, KW_META_PRUNER_SKIP);
    ck_assert_int_eq(d.prune_point, -1);
    ck_assert_uint_eq(d.holder, NONE);
    ck_assert_msg(strstr(d.reason, "no region"), "%s", d.reason);
}
END_TEST

START_TEST(a_flushed_id_at_or_past_the_end_skips_the_topic)
{
    kw_meta_pruner_region_in r[] = {reg(1, 14), reg(2, 20)};
    kw_meta_pruner_decision d = decide(r, 2, 0, 20);
    ck_assert_int_eq(d.action, KW_META_PRUNER_SKIP);
    ck_assert_uint_eq(d.holder, 2);
    ck_assert_msg(strstr(d.reason, "past the topic's end 20"), "%s", d.reason);
}
END_TEST

START_TEST(nothing_to_prune_when_the_point_is_not_above_the_log_start)
{
    kw_meta_pruner_region_in r[] = {reg(1, 14), reg(2, 9)};
    kw_meta_pruner_decision d = decide(r, 2, 10, 20);
    ck_assert_int_eq(d.action, KW_META_PRUNER_SKIP);
    ck_assert_int_eq(d.prune_point, 10);
    ck_assert_msg(strstr(d.reason, "nothing to prune"), "%s", d.reason);
    /* Records a region needs are already gone (retention): said so, never a negative range. */
    kw_meta_pruner_region_in s[] = {reg(1, 3)};
    d = decide(s, 1, 10, 20);
    ck_assert_int_eq(d.action, KW_META_PRUNER_SKIP);
    ck_assert_int_eq(d.prune_point, 4);
    ck_assert_msg(strstr(d.reason, "something else deleted 4..9"), "%s", d.reason);
}
END_TEST

/*
 * The rule against real layouts: regions append entries (some split into
 * parts, each part one record) to one topic in append order, other regions'
 * records interleaving between parts; an entry's id is its last record's
 * offset.  For random flushed points, no record of an entry a region has not
 * flushed may sit below p, and the record just below p must belong to no such
 * entry (p is as high as it can be: some region needs exactly p).
 */
START_TEST(no_record_of_an_unflushed_entry_is_below_the_prune_point_however_parts_interleave)
{
    enum { REGIONS = 4, RECORDS = 400 };
    unsigned seed = 12345;
    int prunes = 0;
    for (int round = 0; round < 300; round++) {
        int rec_region[RECORDS], rec_entry[RECORDS];
        int open_parts[REGIONS] = {0}, next_entry[REGIONS] = {0};
        int64_t entry_last[REGIONS][RECORDS];
        int n = 0;
        while (n < RECORDS) {
            int r = rand_r(&seed) % REGIONS;
            if (!open_parts[r])
                open_parts[r] = 1 + (rand_r(&seed) % 4 == 0 ? rand_r(&seed) % 5 : 0);
            rec_region[n] = r;
            rec_entry[n] = next_entry[r];
            if (--open_parts[r] == 0)
                entry_last[r][next_entry[r]++] = n;
            n++;
        }
        kw_meta_pruner_region_in in[REGIONS];
        int flushed_entries[REGIONS];
        for (int r = 0; r < REGIONS; r++) {
            flushed_entries[r] = next_entry[r] ? rand_r(&seed) % (next_entry[r] + 1) : 0;
            in[r] =
                reg((uint64_t)r + 1,
                    flushed_entries[r] ? (uint64_t)entry_last[r][flushed_entries[r] - 1] : NONE);
        }
        kw_meta_pruner_decision d = decide(in, REGIONS, 0, n);
        int64_t p = d.action == KW_META_PRUNER_PRUNE ? d.prune_point : 0;
        for (int64_t o = 0; o < p; o++)
            ck_assert_msg(rec_entry[o] < flushed_entries[rec_region[o]],
                          "round %d: offset %lld (region %d entry %d) deleted but unflushed "
                          "(p %lld)",
                          round, (long long)o, rec_region[o], rec_entry[o], (long long)p);
        if (d.action == KW_META_PRUNER_PRUNE) {
            prunes++;
            ck_assert_int_eq(d.prune_point, (int64_t)in[d.holder - 1].flushed_id + 1);
        }
    }
    ck_assert_int_gt(prunes, 100); /* the layouts do reach the interesting case */
}
END_TEST

START_TEST(pinning_compares_offsets_behind_times_record_bytes_with_flush_trigger_size)
{
    kw_meta_pruner_region_in r[] = {reg(1, 99), reg(2, 899), reg(3, NONE)};
    bool pin[3];
    uint64_t behind[3];
    kw_meta_pruner_decision d = {.pinning = pin, .bytes_behind = behind};
    kw_meta_pruner_topic_in in = {.regions = r,
                                  .region_count = 3,
                                  .start_offset = 50,
                                  .end_offset = 1000,
                                  .flush_trigger_size = 500000,
                                  .record_bytes = 1000};
    kw__meta_pruner_decide(&in, &d);
    ck_assert_uint_eq(behind[0], 900u * 1000u); /* needs 100..999 */
    ck_assert(pin[0]);
    ck_assert_uint_eq(behind[1], 100u * 1000u);
    ck_assert(!pin[1]);
    ck_assert_uint_eq(behind[2], 950u * 1000u); /* never flushed: everything left, 50..999 */
    ck_assert(pin[2]);
    /* Exactly at the trigger does not pin. */
    in.flush_trigger_size = 900000;
    kw__meta_pruner_decide(&in, &d);
    ck_assert(!pin[0]);
}
END_TEST

/* ---- the pruner object, with a store and a client that reaches no broker ---- */

typedef struct fixture {
    char dir[256];
    kw_meta_store *store;
    kw_client *client;
    char log[8192];
} fixture;

static void log_cb(void *arg, int level, const char *msg)
{
    fixture *f = arg;
    size_t l = strlen(f->log);
    snprintf(f->log + l, sizeof(f->log) - l, "%d %s\n", level, msg);
}

static void store_open(fixture *f)
{
    kw_meta_store_file_options so = {.dir = f->dir};
    char err[256];
    int rc = kw__meta_store_file_open(&so, &f->store, err, sizeof(err));
    ck_assert_msg(rc == 0, "store: %s", err);
}

static void fx_init(fixture *f)
{
    memset(f, 0, sizeof(*f));
    const char *base = getenv("TMPDIR");
    snprintf(f->dir, sizeof(f->dir), "%s/kw_pruner_XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(f->dir));
    store_open(f);
    /* Port 1 answers nothing: calls fail at their deadline, which is what the failure tests need.
     */
    kw_client_options co = {
        .bootstrap = "127.0.0.1:1", .connect_timeout_ms = 200, .request_timeout_ms = 300};
    char err[256];
    ck_assert_int_eq(kw_client_new(&f->client, &co, err, sizeof(err)), 0);
}

static kw_meta_pruner *pr_open(fixture *f)
{
    kw_meta_pruner_options o = {
        .client = f->client, .store = f->store, .timeout_ms = 300, .log = log_cb, .log_arg = f};
    kw_meta_pruner *p = NULL;
    char err[256];
    int rc = kw__meta_pruner_open(&p, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "open: %s", err);
    return p;
}

static void fx_fini(fixture *f)
{
    kw_client_destroy(f->client);
    kw__meta_store_close(f->store);
    char path[512];
    const char *names[] = {KW_META_STORE_FILE_DATA, KW_META_STORE_FILE_TEMP,
                           KW_META_STORE_FILE_LOCK};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", f->dir, names[i]);
        unlink(path);
    }
    rmdir(f->dir);
}

static void report(kw_meta_pruner *p, uint64_t region, const char *topic, uint64_t flushed,
                   uint64_t latest)
{
    kw_meta_pruner_report r = {
        .region_id = region, .topic = topic, .flushed_id = flushed, .latest_id = latest};
    ck_assert_int_eq(kw__meta_pruner_report(p, &r), 0);
}

static uint64_t replay_start(kw_meta_pruner *p, uint64_t region)
{
    uint64_t from = 777;
    ck_assert_int_eq(kw__meta_pruner_replay_start(p, region, &from), 0);
    return from;
}

START_TEST(reports_and_registrations_survive_a_reopen_of_the_store)
{
    fixture f;
    fx_init(&f);
    kw_meta_pruner *p = pr_open(&f);
    report(p, 1, "wal_0", 41, 50);
    report(p, 2, "wal_0", NONE, 60);
    report(p, 3, "wal_1", 7, 7);
    report(p, 3, "wal_1", 9, 12); /* the latest report wins */
    ck_assert_int_eq(kw__meta_pruner_register_region(p, 4, "wal_1"), 0);
    ck_assert_int_eq(kw__meta_pruner_register_region(p, 1, "wal_0"), 0); /* no-op: reported */
    kw__meta_pruner_close(p);
    kw__meta_store_close(f.store);

    store_open(&f);
    /* The pruned id of wal_0, as a round would have stored it. */
    ck_assert_int_eq(kw__meta_store_put(f.store, "pruner/topic/wal_0", 18, "v1 30", 5, NULL), 0);
    p = pr_open(&f);
    kw_meta_pruner_status st;
    ck_assert_int_eq(kw__meta_pruner_status(p, &st), 0);
    ck_assert_uint_eq(st.topic_count, 2);
    ck_assert_str_eq(st.topics[0].topic, "wal_0");
    ck_assert_uint_eq(st.topics[0].pruned_id, 30);
    ck_assert_uint_eq(st.topics[0].region_count, 2);
    ck_assert_uint_eq(st.topics[0].regions[0].region_id, 1);
    ck_assert_uint_eq(st.topics[0].regions[0].flushed_id, 41);
    ck_assert_uint_eq(st.topics[0].regions[0].latest_id, 50);
    ck_assert(st.topics[0].regions[0].reported);
    ck_assert_uint_eq(st.topics[0].regions[1].flushed_id, NONE);
    ck_assert_str_eq(st.topics[1].topic, "wal_1");
    ck_assert_uint_eq(st.topics[1].pruned_id, NONE);
    ck_assert_uint_eq(st.topics[1].region_count, 2);
    ck_assert_uint_eq(st.topics[1].regions[0].flushed_id, 9);
    ck_assert_uint_eq(st.topics[1].regions[0].latest_id, 12);
    ck_assert_uint_eq(st.topics[1].regions[1].region_id, 4);
    ck_assert(!st.topics[1].regions[1].reported);
    kw__meta_pruner_status_free(&st);

    /* max(flushed, pruned) + 1, NONE below everything. */
    ck_assert_uint_eq(replay_start(p, 1), 42);
    ck_assert_uint_eq(replay_start(p, 2), 31); /* never flushed: after what was pruned */
    ck_assert_uint_eq(replay_start(p, 3), 10);
    ck_assert_uint_eq(replay_start(p, 4), 0); /* nothing known: from the start */
    uint64_t from;
    ck_assert_int_eq(kw__meta_pruner_replay_start(p, 99, &from), KW_ENOTFOUND);
    ck_assert_uint_eq(kw__meta_pruner_pruned_id(p, "wal_0"), 30);

    ck_assert_int_eq(kw__meta_pruner_remove_region(p, 2), 0);
    ck_assert_int_eq(kw__meta_pruner_remove_region(p, 2), KW_ENOTFOUND);
    kw__meta_pruner_close(p);
    kw__meta_store_close(f.store);
    store_open(&f);
    p = pr_open(&f);
    ck_assert_int_eq(kw__meta_pruner_replay_start(p, 2, &from), KW_ENOTFOUND);
    kw__meta_pruner_close(p);
    fx_fini(&f);
}
END_TEST

START_TEST(a_heartbeat_that_only_moves_latest_does_not_write_the_store)
{
    fixture f;
    fx_init(&f);
    kw_meta_pruner *p = pr_open(&f);
    report(p, 1, "wal_0", 41, 50);
    const char *key = "pruner/region/00000000000000000001";
    uint64_t rev1 = 0, rev2 = 0;
    ck_assert_int_eq(kw__meta_store_get(f.store, key, strlen(key), NULL, NULL, &rev1), 0);
    report(p, 1, "wal_0", 41, 55);
    ck_assert_int_eq(kw__meta_store_get(f.store, key, strlen(key), NULL, NULL, &rev2), 0);
    ck_assert_uint_eq(rev1, rev2);
    report(p, 1, "wal_0", 52, 55);
    uint8_t *v;
    size_t vl;
    ck_assert_int_eq(kw__meta_store_get(f.store, key, strlen(key), &v, &vl, &rev2), 0);
    ck_assert_uint_gt(rev2, rev1);
    ck_assert_int_eq((int)vl, 16);
    ck_assert_int_eq(memcmp(v, "v1 wal_0 52 55 1", vl), 0);
    free(v);
    kw__meta_pruner_close(p);
    fx_fini(&f);
}
END_TEST

START_TEST(bad_reports_are_refused_and_a_bad_store_value_names_its_key)
{
    fixture f;
    fx_init(&f);
    kw_meta_pruner *p = pr_open(&f);
    kw_meta_pruner_report r = {.region_id = 1, .topic = "has space", .flushed_id = 1};
    ck_assert_int_eq(kw__meta_pruner_report(p, &r), KW_EINVAL);
    r.topic = "";
    ck_assert_int_eq(kw__meta_pruner_report(p, &r), KW_EINVAL);
    r.topic = "ok";
    r.region_id = NONE;
    ck_assert_int_eq(kw__meta_pruner_report(p, &r), KW_EINVAL);
    kw__meta_pruner_close(p);
    ck_assert_int_eq(kw__meta_store_put(f.store, "pruner/region/00000000000000000005", 34,
                                        "v1 wal_0 x 3 1", 14, NULL),
                     0);
    kw_meta_pruner_options o = {.client = f.client, .store = f.store};
    char err[256];
    ck_assert_int_eq(kw__meta_pruner_open(&p, &o, err, sizeof(err)), KW_ECORRUPT);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(err, "pruner/region/00000000000000000005"), "%s", err);
    fx_fini(&f);
}
END_TEST

START_TEST(an_unreachable_broker_fails_the_round_for_each_topic_and_is_not_fatal)
{
    fixture f;
    fx_init(&f);
    kw_meta_pruner *p = pr_open(&f);
    report(p, 1, "wal_0", 41, 50);
    report(p, 2, "wal_1", 3, 50);
    kw_meta_pruner_round sum;
    ck_assert_int_eq(kw__meta_pruner_run_once(p, false, &sum), 0);
    ck_assert_uint_eq(sum.topics, 2);
    ck_assert_uint_eq(sum.failed, 2);
    ck_assert_uint_eq(sum.pruned, 0);
    ck_assert_msg(strstr(f.log, "wal_0: failed: ListOffsets"), "%s", f.log);
    kw_meta_pruner_status st;
    ck_assert_int_eq(kw__meta_pruner_status(p, &st), 0);
    ck_assert_uint_eq(st.rounds, 1);
    ck_assert_msg(strstr(st.topics[1].reason, "retried next round"), "%s", st.topics[1].reason);
    ck_assert_int_eq(st.topics[1].start_offset, -1);
    kw__meta_pruner_status_free(&st);
    /* The next round runs just the same. */
    ck_assert_int_eq(kw__meta_pruner_run_once(p, true, &sum), 0);
    ck_assert_uint_eq(sum.failed, 2);
    kw__meta_pruner_close(p);
    fx_fini(&f);
}
END_TEST

START_TEST(a_topic_whose_regions_left_is_skipped_without_asking_the_broker)
{
    fixture f;
    fx_init(&f);
    kw_meta_pruner *p = pr_open(&f);
    report(p, 1, "wal_0", 41, 50);
    ck_assert_int_eq(kw__meta_pruner_remove_region(p, 1), 0);
    kw_meta_pruner_round sum;
    ck_assert_int_eq(kw__meta_pruner_run_once(p, false, &sum), 0);
    ck_assert_uint_eq(sum.topics, 1);
    ck_assert_uint_eq(sum.skipped, 1);
    ck_assert_uint_eq(sum.failed, 0); /* the broker is unreachable: it was not asked */
    ck_assert_msg(strstr(f.log, "wal_0: skip: no region is on the topic"), "%s", f.log);
    kw__meta_pruner_close(p);
    fx_fini(&f);
}
END_TEST

START_TEST(options_come_from_the_wal_section_and_zero_interval_means_no_timer)
{
    kw__wal_config cfg;
    char err[256];
    const char *toml = "[wal]\nauto_prune_interval = \"0s\"\nauto_prune_parallelism = 3\n"
                       "flush_trigger_size = \"64MB\"\n";
    ck_assert_int_eq(kw__wal_config_parse(toml, strlen(toml), NULL, &cfg, err, sizeof(err)), 0);
    kw_meta_pruner_options o = {.record_bytes = 9};
    kw__meta_pruner_options_from_config(&o, &cfg);
    ck_assert_uint_eq(o.interval_ms, 0);
    ck_assert_uint_eq(o.parallelism, 3);
    ck_assert_uint_eq(o.flush_trigger_size, 64ull << 20);
    ck_assert_uint_eq(o.record_bytes, 9);
    kw__wal_config_free(&cfg);
    ck_assert_int_eq(kw__wal_config_init(&cfg), 0);
    kw__meta_pruner_options_from_config(&o, &cfg);
    ck_assert_uint_eq(o.interval_ms, 30ull * 60 * 1000); /* GreptimeDB's default: 30 min */
    ck_assert_uint_eq(o.parallelism, 10);
    kw__wal_config_free(&cfg);
}
END_TEST

static void count_log(void *arg, int level, const char *msg)
{
    (void)level;
    if (strstr(msg, "round done"))
        __atomic_add_fetch((int *)arg, 1, __ATOMIC_SEQ_CST);
}

START_TEST(the_timer_thread_runs_rounds_every_interval_and_close_stops_it)
{
    fixture f;
    fx_init(&f);
    int rounds = 0;
    kw_meta_pruner_options o = {.client = f.client,
                                .store = f.store,
                                .interval_ms = 50,
                                .log = count_log,
                                .log_arg = &rounds};
    kw_meta_pruner *p = NULL;
    ck_assert_int_eq(kw__meta_pruner_open(&p, &o, NULL, 0), 0);
    usleep(400 * 1000);
    kw__meta_pruner_close(p);
    int n = __atomic_load_n(&rounds, __ATOMIC_SEQ_CST);
    ck_assert_msg(n >= 3 && n <= 9, "%d rounds in 400 ms at 50 ms", n);
    fx_fini(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("meta-pruner");
    TCase *tc = tcase_create("decide");
    tcase_add_test(tc, prune_point_is_the_lowest_flushed_id_plus_one_and_keeps_that_record);
    tcase_add_test(tc, a_region_flushed_through_the_last_offset_lets_everything_go);
    tcase_add_test(tc, a_region_that_never_flushed_holds_the_topic_at_its_log_start);
    tcase_add_test(tc, a_region_that_never_reported_skips_the_topic);
    tcase_add_test(tc, a_topic_without_regions_is_skipped_not_emptied);
    tcase_add_test(tc, a_flushed_id_at_or_past_the_end_skips_the_topic);
    tcase_add_test(tc, nothing_to_prune_when_the_point_is_not_above_the_log_start);
    tcase_add_test(
        tc, no_record_of_an_unflushed_entry_is_below_the_prune_point_however_parts_interleave);
    tcase_add_test(tc, pinning_compares_offsets_behind_times_record_bytes_with_flush_trigger_size);
    suite_add_tcase(s, tc);
    TCase *tp = tcase_create("pruner");
    tcase_set_timeout(tp, 30);
    tcase_add_test(tp, reports_and_registrations_survive_a_reopen_of_the_store);
    tcase_add_test(tp, a_heartbeat_that_only_moves_latest_does_not_write_the_store);
    tcase_add_test(tp, bad_reports_are_refused_and_a_bad_store_value_names_its_key);
    tcase_add_test(tp, an_unreachable_broker_fails_the_round_for_each_topic_and_is_not_fatal);
    tcase_add_test(tp, the_timer_thread_runs_rounds_every_interval_and_close_stops_it);
    tcase_add_test(tp, a_topic_whose_regions_left_is_skipped_without_asking_the_broker);
    tcase_add_test(tp, options_come_from_the_wal_section_and_zero_interval_means_no_timer);
    suite_add_tcase(s, tp);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
