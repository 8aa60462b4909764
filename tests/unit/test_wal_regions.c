/* kw_wal_replay_open_regions on the local provider: several regions, each from its own id, one
 * pass. */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kwal/wal.h"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static char dir[] = "/tmp/kwal-regions-XXXXXX";
static kw_wal *w;

static void setup(void)
{
    strcpy(dir, "/tmp/kwal-regions-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    kw_wal_options o = {.provider = KW_WAL_PROVIDER_LOCAL, .dir = dir};
    char err[256];
    ck_assert_int_eq(kw_wal_open(&w, &o, err, sizeof(err)), 0);
}

static void teardown(void)
{
    kw_wal_close(w);
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Entry i of the log: region 1 + i % 5, bytes "r<region> e<i>"; returns its id. */
static uint64_t append_entry(int i)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "r%d e%d", 1 + i % 5, i);
    uint64_t id;
    ck_assert_int_eq(kw_wal_append_sync(w, (uint64_t)(1 + i % 5), buf, (size_t)n, &id), 0);
    return id;
}

START_TEST(three_of_five_regions_each_from_its_own_id_in_log_order)
{
    uint64_t ids[40];
    for (int i = 0; i < 40; i++)
        ids[i] = append_entry(i);
    /* regions 4 (from the start), 2 (from entry 20's id), 5 (from entry 38's id), unsorted */
    const uint64_t regions[3] = {4, 2, 5};
    const uint64_t froms[3] = {0, ids[20], ids[38]};
    kw_wal_replay *r;
    ck_assert_int_eq(kw_wal_replay_open_regions(w, regions, froms, 3, 0, &r), 0);
    int want = 0, got = 0;
    uint64_t region, id;
    const uint8_t *data;
    size_t len;
    int rc;
    while ((rc = kw_wal_replay_next_region(r, &region, &id, &data, &len, 0)) == 1) {
        /* the next entry of the log this replay should hand out */
        for (;; want++) {
            ck_assert_int_lt(want, 40);
            int reg = 1 + want % 5;
            if (reg == 4 || (reg == 2 && want >= 20) || (reg == 5 && want >= 38))
                break;
        }
        char expect[32];
        int n = snprintf(expect, sizeof(expect), "r%d e%d", 1 + want % 5, want);
        ck_assert_uint_eq(region, (uint64_t)(1 + want % 5));
        ck_assert_uint_eq(id, ids[want]);
        ck_assert_uint_eq(len, (size_t)n);
        ck_assert_mem_eq(data, expect, len);
        want++;
        got++;
    }
    ck_assert_int_eq(rc, 0);
    /* region 4: 8 entries; region 2 from entry 20: 4 (21, 26, 31, 36); region 5 from 38: 1 (39) */
    ck_assert_int_eq(got, 8 + 4 + 1);
    kw_wal_replay_stats st;
    kw_wal_replay_stats_get(r, &st);
    ck_assert_uint_eq(st.entries, 13);
    kw_wal_replay_close(r);

    /* one region through the same call equals kw_wal_replay_open */
    const uint64_t one = 3, zero = 0;
    ck_assert_int_eq(kw_wal_replay_open_regions(w, &one, &zero, 1, 0, &r), 0);
    got = 0;
    while ((rc = kw_wal_replay_next(r, &id, &data, &len, 0)) == 1) {
        ck_assert_uint_eq(id, ids[2 + 5 * got]);
        got++;
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(got, 8);
    kw_wal_replay_close(r);
}
END_TEST

START_TEST(bad_region_lists_are_refused)
{
    append_entry(0);
    const uint64_t regions[3] = {1, 2, 1};
    const uint64_t froms[3] = {0, 0, 0};
    kw_wal_replay *r = (kw_wal_replay *)1;
    ck_assert_int_eq(kw_wal_replay_open_regions(w, regions, froms, 3, 0, &r), KW_EINVAL);
    ck_assert_ptr_null(r); /* a repeated region */
    ck_assert_int_eq(kw_wal_replay_open_regions(w, regions, froms, 0, 0, &r), KW_EINVAL);
    ck_assert_int_eq(kw_wal_replay_open_regions(w, NULL, froms, 1, 0, &r), KW_EINVAL);
    ck_assert_int_eq(kw_wal_replay_open_regions(w, regions, NULL, 1, 0, &r), KW_EINVAL);
    ck_assert_int_eq(kw_wal_replay_open_regions(NULL, regions, froms, 1, 0, &r), KW_EINVAL);
    ck_assert_int_eq(kw_wal_replay_open_regions(w, regions, froms, 1, 0, NULL), KW_EINVAL);
    /* a region with no entries simply yields none */
    const uint64_t none = 99, zero = 0;
    ck_assert_int_eq(kw_wal_replay_open_regions(w, &none, &zero, 1, 0, &r), 0);
    uint64_t id;
    const uint8_t *data;
    size_t len;
    ck_assert_int_eq(kw_wal_replay_next_region(r, NULL, &id, &data, &len, 0), 0);
    kw_wal_replay_close(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("wal regions");
    TCase *tc = tcase_create("local");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, three_of_five_regions_each_from_its_own_id_in_log_order);
    tcase_add_test(tc, bad_region_lists_are_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
