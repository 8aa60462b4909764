/* Unit tests of the region allocator over the file store: selectors, persistence, races, kill -9.
 */
#include <check.h>
#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kwal/wal.h"
#include "meta/allocator.h"

#define PREFIX "wal_t"
#define NAME_MAX_ KW_META_TOPIC_NAME_MAX

/* ---- helpers ---- */

typedef struct fixture {
    char dir[256];
    kw_meta_store *store;
    kw_meta_alloc *alloc;
} fixture;

static void store_open(fixture *f)
{
    kw_meta_store_file_options o = {.dir = f->dir};
    char err[256];
    int rc = kw__meta_store_file_open(&o, &f->store, err, sizeof(err));
    ck_assert_msg(rc == 0, "store open: %s: %s", kw_err_name(rc), err);
}

static kw_meta_alloc *alloc_open(kw_meta_store *s, uint32_t num_topics, int selector, uint64_t seed)
{
    kw_meta_alloc_options o = {.store = s,
                               .topic_name_prefix = PREFIX,
                               .num_topics = num_topics,
                               .selector = selector,
                               .random_seed = seed};
    kw_meta_alloc *a = NULL;
    char err[256];
    int rc = kw__meta_alloc_new(&a, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "alloc new: %s: %s", kw_err_name(rc), err);
    return a;
}

static void fx_open(fixture *f, uint32_t num_topics, int selector)
{
    const char *base = getenv("TMPDIR");
    snprintf(f->dir, sizeof(f->dir), "%s/kw_meta_alloc_XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(f->dir));
    store_open(f);
    f->alloc = alloc_open(f->store, num_topics, selector, 42);
}

static void fx_reopen(fixture *f, uint32_t num_topics, int selector)
{
    kw__meta_alloc_free(f->alloc);
    kw__meta_store_close(f->store);
    store_open(f);
    f->alloc = alloc_open(f->store, num_topics, selector, 7);
}

static void fx_close(fixture *f)
{
    kw__meta_alloc_free(f->alloc);
    kw__meta_store_close(f->store);
    DIR *d = opendir(f->dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    char p[600];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
            unlink(p);
        }
    closedir(d);
    ck_assert_int_eq(rmdir(f->dir), 0);
}

static void expect_topic(kw_meta_alloc *a, uint64_t region, int index)
{
    char want[NAME_MAX_], got[NAME_MAX_];
    snprintf(want, sizeof(want), PREFIX "_%d", index);
    int rc = kw__meta_alloc_topic(a, region, got, sizeof(got));
    ck_assert_msg(rc == 0, "alloc %llu: %s", (unsigned long long)region, kw_err_name(rc));
    ck_assert_str_eq(got, want);
}

static int topic_index(const char *topic)
{
    ck_assert_int_eq(strncmp(topic, PREFIX "_", strlen(PREFIX) + 1), 0);
    return atoi(topic + strlen(PREFIX) + 1);
}

/* ---- selectors ---- */

START_TEST(round_robin_hands_out_topics_in_order_and_keeps_them)
{
    fixture f;
    fx_open(&f, 4, KW_META_SELECTOR_ROUND_ROBIN);
    for (int i = 0; i < 10; i++)
        expect_topic(f.alloc, 1000 + (uint64_t)i, i % 4);
    /* asking again returns the persisted topic and does not move the counter */
    for (int i = 9; i >= 0; i--)
        expect_topic(f.alloc, 1000 + (uint64_t)i, i % 4);
    expect_topic(f.alloc, 5000, 10 % 4);
    fx_close(&f);
}
END_TEST

START_TEST(batch_allocation_gives_new_regions_consecutive_slots)
{
    fixture f;
    fx_open(&f, 8, KW_META_SELECTOR_ROUND_ROBIN);
    expect_topic(f.alloc, 7, 0);    /* slot 0 */
    uint64_t ids[4] = {5, 7, 6, 9}; /* 7 is assigned already */
    char topics[4 * NAME_MAX_];
    ck_assert_int_eq(kw__meta_alloc_topics(f.alloc, ids, 4, topics), 0);
    ck_assert_str_eq(topics + 0 * NAME_MAX_, PREFIX "_1");
    ck_assert_str_eq(topics + 1 * NAME_MAX_, PREFIX "_0");
    ck_assert_str_eq(topics + 2 * NAME_MAX_, PREFIX "_2");
    ck_assert_str_eq(topics + 3 * NAME_MAX_, PREFIX "_3");
    /* one compare-and-put claimed three slots: the counter is at 4 */
    uint8_t *v = NULL;
    size_t vl = 0;
    ck_assert_int_eq(kw__meta_store_get(f.store, KW_META_ALLOC_COUNTER_KEY,
                                        strlen(KW_META_ALLOC_COUNTER_KEY), &v, &vl, NULL),
                     0);
    ck_assert_int_eq((int)vl, 1);
    ck_assert_int_eq(v[0], '4');
    free(v);
    fx_close(&f);
}
END_TEST

START_TEST(random_stays_in_range_and_spreads)
{
    fixture f;
    fx_open(&f, 8, KW_META_SELECTOR_RANDOM);
    int seen[8] = {0};
    for (uint64_t r = 0; r < 400; r++) {
        char t[NAME_MAX_];
        ck_assert_int_eq(kw__meta_alloc_topic(f.alloc, r, t, sizeof(t)), 0);
        int i = topic_index(t);
        ck_assert_int_ge(i, 0);
        ck_assert_int_lt(i, 8);
        seen[i]++;
        char again[NAME_MAX_];
        ck_assert_int_eq(kw__meta_alloc_topic(f.alloc, r, again, sizeof(again)), 0);
        ck_assert_str_eq(again, t);
    }
    /* 50 expected per topic; a fair picker lands under 20 with probability ~1e-8 */
    for (int i = 0; i < 8; i++)
        ck_assert_msg(seen[i] >= 20, "topic %d got %d of 400", i, seen[i]);
    /* random does not touch the round-robin counter */
    ck_assert_int_eq(kw__meta_store_get(f.store, KW_META_ALLOC_COUNTER_KEY,
                                        strlen(KW_META_ALLOC_COUNTER_KEY), NULL, NULL, NULL),
                     KW_ENOTFOUND);
    fx_close(&f);
}
END_TEST

/* ---- persistence ---- */

START_TEST(assignments_and_counter_survive_reopen)
{
    fixture f;
    fx_open(&f, 8, KW_META_SELECTOR_ROUND_ROBIN);
    for (uint64_t r = 0; r < 10; r++)
        expect_topic(f.alloc, r * 3, (int)r % 8);
    fx_reopen(&f, 8, KW_META_SELECTOR_ROUND_ROBIN);
    for (uint64_t r = 0; r < 10; r++) {
        char t[NAME_MAX_];
        ck_assert_int_eq(kw__meta_alloc_lookup(f.alloc, r * 3, t, sizeof(t)), 0);
        ck_assert_int_eq(topic_index(t), (int)r % 8);
    }
    expect_topic(f.alloc, 999, 10 % 8); /* the counter went on from 10 */
    /* fewer topics and another selector after a restart: assigned regions stay put */
    fx_reopen(&f, 2, KW_META_SELECTOR_RANDOM);
    expect_topic(f.alloc, 21, 7);
    char t[NAME_MAX_];
    ck_assert_int_eq(kw__meta_alloc_topic(f.alloc, 12345, t, sizeof(t)), 0);
    ck_assert_int_lt(topic_index(t), 2);
    fx_close(&f);
}
END_TEST

typedef struct seen_region {
    uint64_t ids[16];
    char topics[16][NAME_MAX_];
    int n;
} seen_region;

static int collect(void *arg, uint64_t region_id, const char *topic)
{
    seen_region *s = arg;
    ck_assert_int_lt(s->n, 16);
    s->ids[s->n] = region_id;
    snprintf(s->topics[s->n], NAME_MAX_, "%s", topic);
    s->n++;
    return 0;
}

START_TEST(lookup_release_foreach_and_wal_options)
{
    fixture f;
    fx_open(&f, 4, KW_META_SELECTOR_ROUND_ROBIN);
    char t[NAME_MAX_];
    ck_assert_int_eq(kw__meta_alloc_lookup(f.alloc, 77, t, sizeof(t)), KW_ENOTFOUND);
    uint64_t big = (1ull << 32) * 1024 + 3; /* table 1024, region 3 */
    expect_topic(f.alloc, big, 0);
    expect_topic(f.alloc, 77, 1);
    expect_topic(f.alloc, 5, 2);

    /* region-id order, not assignment order */
    seen_region s = {0};
    ck_assert_int_eq(kw__meta_alloc_foreach(f.alloc, collect, &s), 0);
    ck_assert_int_eq(s.n, 3);
    ck_assert_uint_eq(s.ids[0], 5);
    ck_assert_uint_eq(s.ids[1], 77);
    ck_assert_uint_eq(s.ids[2], big);
    ck_assert_str_eq(s.topics[2], PREFIX "_0");
    /* the documented key layout */
    ck_assert_int_eq(
        kw__meta_store_get(f.store, "wal/region/00000000000000000077", 31, NULL, NULL, NULL), 0);

    kw_meta_region_wal w;
    ck_assert_int_eq(kw__meta_alloc_wal_options(f.alloc, 77, &w), 0);
    ck_assert_uint_eq(w.region_id, 77);
    ck_assert_str_eq(w.topic, PREFIX "_1");
    char json[128];
    ck_assert_int_eq(kw__meta_region_wal_json(&w, json, sizeof(json)), 0);
    ck_assert_str_eq(json, "{\"wal.provider\":\"kafka\",\"wal.kafka.topic\":\"" PREFIX "_1\"}");
    ck_assert_int_eq(kw__meta_region_wal_json(&w, json, 10), KW_ETOOBIG);

    ck_assert_int_eq(kw__meta_alloc_release(f.alloc, 77), 0);
    ck_assert_int_eq(kw__meta_alloc_release(f.alloc, 77), KW_ENOTFOUND);
    ck_assert_int_eq(kw__meta_alloc_lookup(f.alloc, 77, t, sizeof(t)), KW_ENOTFOUND);
    expect_topic(f.alloc, 77, 3); /* assigned anew from the counter */

    /* a too-small buffer is refused, not cut */
    ck_assert_int_eq(kw__meta_alloc_topic(f.alloc, 77, t, 4), KW_ETOOBIG);
    fx_close(&f);
}
END_TEST

START_TEST(apply_gives_the_wal_the_region_topic)
{
    fixture f;
    fx_open(&f, 4, KW_META_SELECTOR_ROUND_ROBIN);
    char waldir[300];
    snprintf(waldir, sizeof(waldir), "%s/wal", f.dir);
    kw_wal_options o = {.provider = KW_WAL_PROVIDER_LOCAL, .dir = waldir};
    kw_wal *wal = NULL;
    char err[256];
    ck_assert_int_eq(kw_wal_open(&wal, &o, err, sizeof(err)), 0);
    ck_assert_int_eq(kw__meta_alloc_apply(f.alloc, wal, 9), 0);
    ck_assert_int_eq(kw__meta_alloc_apply(f.alloc, NULL, 9), KW_EINVAL);
    kw_wal_close(wal);
    expect_topic(f.alloc, 9, 0);
    /* the local WAL's files */
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", waldir);
    ck_assert_int_eq(system(cmd), 0);
    fx_close(&f);
}
END_TEST

START_TEST(bad_options_are_refused)
{
    fixture f;
    fx_open(&f, 4, KW_META_SELECTOR_ROUND_ROBIN);
    kw_meta_alloc *a = (kw_meta_alloc *)1;
    char err[128];
    kw_meta_alloc_options o = {.store = f.store, .topic_name_prefix = PREFIX, .num_topics = 0};
    ck_assert_int_eq(kw__meta_alloc_new(&a, &o, err, sizeof(err)), KW_EINVAL);
    ck_assert_ptr_null(a);
    ck_assert_str_eq(err, "allocator: num_topics is 0");
    o.num_topics = 1;
    o.selector = 9;
    ck_assert_int_eq(kw__meta_alloc_new(&a, &o, err, sizeof(err)), KW_EINVAL);
    char longp[260];
    memset(longp, 'x', 248);
    longp[248] = '\0';
    o.selector = 0;
    o.topic_name_prefix = longp;
    ck_assert_int_eq(kw__meta_alloc_new(&a, &o, err, sizeof(err)), KW_EINVAL);
    o.topic_name_prefix = NULL;
    ck_assert_int_eq(kw__meta_alloc_new(&a, &o, err, sizeof(err)), KW_EINVAL);

    /* a counter that is not a number is reported, not reset */
    ck_assert_int_eq(kw__meta_store_put(f.store, KW_META_ALLOC_COUNTER_KEY,
                                        strlen(KW_META_ALLOC_COUNTER_KEY), "x1", 2, NULL),
                     0);
    char t[NAME_MAX_];
    ck_assert_int_eq(kw__meta_alloc_topic(f.alloc, 1, t, sizeof(t)), KW_ECORRUPT);
    kw__meta_alloc_errstr(f.alloc, err, sizeof(err));
    ck_assert_str_eq(err, KW_META_ALLOC_COUNTER_KEY ": not a number");
    fx_close(&f);
}
END_TEST

/* ---- two metasrvs at once ---- */

#define RACE_REGIONS 300

typedef struct racer {
    kw_meta_alloc *a;
    uint64_t first, step; /* regions first, first+step, ... */
    int reverse;
    char topics[RACE_REGIONS][NAME_MAX_];
    int rc;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    for (int k = 0; k < RACE_REGIONS && !r->rc; k++) {
        int i = r->reverse ? RACE_REGIONS - 1 - k : k;
        r->rc =
            kw__meta_alloc_topic(r->a, r->first + (uint64_t)i * r->step, r->topics[i], NAME_MAX_);
    }
    return NULL;
}

static void run_racers(racer *r1, racer *r2)
{
    pthread_t t1, t2;
    ck_assert_int_eq(pthread_create(&t1, NULL, race, r1), 0);
    ck_assert_int_eq(pthread_create(&t2, NULL, race, r2), 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    ck_assert_int_eq(r1->rc, 0);
    ck_assert_int_eq(r2->rc, 0);
}

static int count_regions(void *arg, uint64_t region_id, const char *topic)
{
    (*(int *)arg)++;
    return 0;
}

START_TEST(two_allocators_on_one_region_set_agree)
{
    fixture f;
    fx_open(&f, 8, KW_META_SELECTOR_ROUND_ROBIN);
    kw_meta_alloc *b = alloc_open(f.store, 8, KW_META_SELECTOR_ROUND_ROBIN, 1);
    static racer r1, r2;
    memset(&r1, 0, sizeof(r1));
    memset(&r2, 0, sizeof(r2));
    r1 = (racer){.a = f.alloc, .first = 0, .step = 1};
    r2 = (racer){.a = b, .first = 0, .step = 1, .reverse = 1};
    run_racers(&r1, &r2);
    for (int i = 0; i < RACE_REGIONS; i++) {
        ck_assert_str_eq(r1.topics[i], r2.topics[i]);
        char t[NAME_MAX_];
        ck_assert_int_eq(kw__meta_alloc_lookup(f.alloc, (uint64_t)i, t, sizeof(t)), 0);
        ck_assert_str_eq(t, r1.topics[i]);
    }
    int n = 0;
    ck_assert_int_eq(kw__meta_alloc_foreach(f.alloc, count_regions, &n), 0);
    ck_assert_int_eq(n, RACE_REGIONS);
    kw__meta_alloc_free(b);
    fx_close(&f);
}
END_TEST

START_TEST(two_allocators_never_hand_out_a_slot_twice)
{
    fixture f;
    fx_open(&f, 8, KW_META_SELECTOR_ROUND_ROBIN);
    kw_meta_alloc *b = alloc_open(f.store, 8, KW_META_SELECTOR_ROUND_ROBIN, 1);
    static racer r1, r2;
    r1 = (racer){.a = f.alloc, .first = 0, .step = 2};
    r2 = (racer){.a = b, .first = 1, .step = 2};
    run_racers(&r1, &r2);
    /* disjoint regions waste no slot: 600 slots over 8 topics is exactly 75 each */
    int per[8] = {0};
    for (int i = 0; i < RACE_REGIONS; i++) {
        per[topic_index(r1.topics[i])]++;
        per[topic_index(r2.topics[i])]++;
    }
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(per[i], 2 * RACE_REGIONS / 8);
    kw__meta_alloc_free(b);
    fx_close(&f);
}
END_TEST

/* ---- kill -9 ---- */

START_TEST(an_answer_given_before_kill_9_is_kept)
{
    fixture f;
    fx_open(&f, 8, KW_META_SELECTOR_ROUND_ROBIN);
    kw__meta_alloc_free(f.alloc);
    kw__meta_store_close(f.store);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[0]);
        store_open(&f);
        kw_meta_alloc *a = alloc_open(f.store, 8, KW_META_SELECTOR_ROUND_ROBIN, 3);
        for (uint64_t r = 0;; r++) {
            char t[NAME_MAX_], line[300];
            if (kw__meta_alloc_topic(a, r, t, sizeof(t)))
                _exit(3);
            int n = snprintf(line, sizeof(line), "%llu %s\n", (unsigned long long)r, t);
            if (write(p[1], line, (size_t)n) != n)
                _exit(4);
        }
    }
    close(p[1]);
    FILE *in = fdopen(p[0], "r");
    static uint64_t ids[100000];
    static char topics[100000][32];
    int n = 0;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (n < 100000 && fscanf(in, "%" SCNu64 " %31s", &ids[n], topics[n]) == 2) {
        n++;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (n >= 20 &&
            (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 > 300)
            break;
    }
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    ck_assert(WIFSIGNALED(st));
    fclose(in);
    ck_assert_int_ge(n, 20);
    store_open(&f);
    f.alloc = alloc_open(f.store, 8, KW_META_SELECTOR_ROUND_ROBIN, 5);
    for (int i = 0; i < n; i++) {
        char t[NAME_MAX_];
        ck_assert_int_eq(kw__meta_alloc_lookup(f.alloc, ids[i], t, sizeof(t)), 0);
        ck_assert_str_eq(t, topics[i]);
    }
    fx_close(&f);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("meta allocator");
    TCase *tc = tcase_create("alloc");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, round_robin_hands_out_topics_in_order_and_keeps_them);
    tcase_add_test(tc, batch_allocation_gives_new_regions_consecutive_slots);
    tcase_add_test(tc, random_stays_in_range_and_spreads);
    tcase_add_test(tc, assignments_and_counter_survive_reopen);
    tcase_add_test(tc, lookup_release_foreach_and_wal_options);
    tcase_add_test(tc, apply_gives_the_wal_the_region_topic);
    tcase_add_test(tc, bad_options_are_refused);
    tcase_add_test(tc, two_allocators_on_one_region_set_agree);
    tcase_add_test(tc, two_allocators_never_hand_out_a_slot_twice);
    tcase_add_test(tc, an_answer_given_before_kill_9_is_kept);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
