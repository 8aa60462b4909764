/* The consumer's data-loss rule: which skips in offsets a Fetch answer may show, and which are records lost. */
#include <check.h>

#include "net/consumer_int.h"

/*
 * kw__consumer_gap(frontier, first, log_start, &from): the answer being
 * filed at frontier starts with a batch at `first`.  The broker answers a
 * fetch with the batch holding the offset asked, so first > frontier means
 * [frontier, first) holds no record: fine when the log start is past them
 * (deleted), else a gap to explain (compaction) or report.
 */
START_TEST(an_answer_holding_the_frontier_is_no_gap)
{
    int64_t from = -7;
    ck_assert_int_eq(kw__consumer_gap(100, 100, 0, &from), 0);
    ck_assert_int_eq(kw__consumer_gap(100, 90, 0, &from), 0); /* a batch begun before it */
    ck_assert_int_eq(kw__consumer_gap(100, 40, -1, &from), 0);
    ck_assert_int_eq(from, -7); /* untouched */
}
END_TEST

START_TEST(records_below_the_log_start_were_deleted_not_lost)
{
    int64_t from = -7;
    ck_assert_int_eq(kw__consumer_gap(100, 150, 150, &from), 0);
    ck_assert_int_eq(kw__consumer_gap(100, 150, 400, &from), 0); /* moved on since */
    ck_assert_int_eq(from, -7);
}
END_TEST

START_TEST(a_skip_the_log_start_does_not_explain_names_the_missing_offsets)
{
    int64_t from = -7;
    ck_assert_int_eq(kw__consumer_gap(100, 101, 0, &from), 1);
    ck_assert_int_eq(from, 100);
    ck_assert_int_eq(kw__consumer_gap(100, 150, -1, &from), 1); /* log start unknown (old versions) */
    ck_assert_int_eq(from, 100);
    /* Deleted up to 120, but 120..149 should be there: only those are lost. */
    ck_assert_int_eq(kw__consumer_gap(100, 150, 120, &from), 1);
    ck_assert_int_eq(from, 120);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("consumer-gap");
    TCase *tc = tcase_create("gap");
    tcase_add_test(tc, an_answer_holding_the_frontier_is_no_gap);
    tcase_add_test(tc, records_below_the_log_start_were_deleted_not_lost);
    tcase_add_test(tc, a_skip_the_log_start_does_not_explain_names_the_missing_offsets);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
