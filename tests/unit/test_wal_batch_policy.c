/* Unit tests of the Kafka WAL's round decision: when a broker's next Produce request goes. */
#include <check.h>
#include <stdint.h>

#include "wal/batch_policy.h"

static int decide(uint32_t out, uint32_t max, size_t topics, size_t bytes, size_t full,
                  size_t min_fill)
{
    kw__wal_round_view v = {.rounds_out = out,
                            .max_rounds = max,
                            .topics_waiting = topics,
                            .bytes_waiting = bytes,
                            .topics_full = full,
                            .min_fill = min_fill};
    return kw__wal_round_decide(&v);
}

START_TEST(nothing_waiting_sends_nothing_even_with_the_broker_idle)
{
    ck_assert_int_eq(decide(0, 2, 0, 0, 0, 16384), KW_WAL_ROUND_WAIT);
    ck_assert_int_eq(decide(1, 2, 0, 1 << 20, 0, 16384), KW_WAL_ROUND_WAIT);
}
END_TEST

START_TEST(an_idle_broker_gets_even_one_small_entry_at_once)
{
    /* no latency added when nothing is out: a lone append goes now */
    ck_assert_int_eq(decide(0, 2, 1, 10, 0, 16384), KW_WAL_ROUND_SEND);
    ck_assert_int_eq(decide(0, 2, 1024, 1024 * 400, 0, 16384), KW_WAL_ROUND_SEND);
}
END_TEST

START_TEST(every_round_out_means_wait_however_much_is_waiting)
{
    ck_assert_int_eq(decide(2, 2, 64, 64u << 20, 64, 16384), KW_WAL_ROUND_WAIT);
    ck_assert_int_eq(decide(5, 2, 1, 1 << 20, 1, 0), KW_WAL_ROUND_WAIT);
}
END_TEST

START_TEST(max_rounds_zero_counts_as_one)
{
    ck_assert_int_eq(decide(0, 0, 3, 100, 0, 16384), KW_WAL_ROUND_SEND);
    ck_assert_int_eq(decide(1, 0, 3, 10u << 20, 3, 0), KW_WAL_ROUND_WAIT);
}
END_TEST

START_TEST(many_topics_each_holding_a_few_entries_wait_for_the_answer)
{
    /* 1,024 topics x 4 entries of ~400 bytes: 1.6 KB a batch, far below 16 KiB */
    ck_assert_int_eq(decide(1, 2, 1024, 1024 * 4 * 400, 0, 16384), KW_WAL_ROUND_WAIT);
}
END_TEST

START_TEST(few_topics_with_fat_batches_use_the_second_round)
{
    /* 64 topics x 50 entries of ~400 bytes: 20 KB a batch */
    ck_assert_int_eq(decide(1, 2, 64, 64 * 50 * 400, 0, 16384), KW_WAL_ROUND_SEND);
}
END_TEST

START_TEST(the_fill_threshold_is_an_average_and_inclusive)
{
    ck_assert_int_eq(decide(1, 2, 4, 4 * 16384, 0, 16384), KW_WAL_ROUND_SEND);
    ck_assert_int_eq(decide(1, 2, 4, 4 * 16384 - 1, 0, 16384), KW_WAL_ROUND_WAIT);
    /* one fat topic carries three thin ones */
    ck_assert_int_eq(decide(1, 2, 4, 64000 + 3 * 1000, 0, 16384), KW_WAL_ROUND_SEND);
}
END_TEST

START_TEST(a_full_batch_waiting_goes_in_the_next_round_while_one_is_out)
{
    ck_assert_int_eq(decide(1, 2, 1024, 1 << 20, 1, 16384), KW_WAL_ROUND_SEND);
}
END_TEST

START_TEST(min_fill_zero_is_a_plain_request_budget)
{
    ck_assert_int_eq(decide(1, 2, 1024, 1024, 0, 0), KW_WAL_ROUND_SEND);
    ck_assert_int_eq(decide(2, 2, 1024, 1024, 0, 0), KW_WAL_ROUND_WAIT);
}
END_TEST

START_TEST(huge_numbers_do_not_overflow)
{
    ck_assert_int_eq(decide(1, 2, SIZE_MAX, SIZE_MAX, 0, 16384), KW_WAL_ROUND_WAIT);
    ck_assert_int_eq(decide(1, 2, 1, SIZE_MAX, 0, SIZE_MAX), KW_WAL_ROUND_SEND);
    ck_assert_int_eq(decide(UINT32_MAX, UINT32_MAX, 1, 1, 0, 1), KW_WAL_ROUND_WAIT);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("wal batch policy");
    TCase *tc = tcase_create("round decision");
    tcase_add_test(tc, nothing_waiting_sends_nothing_even_with_the_broker_idle);
    tcase_add_test(tc, an_idle_broker_gets_even_one_small_entry_at_once);
    tcase_add_test(tc, every_round_out_means_wait_however_much_is_waiting);
    tcase_add_test(tc, max_rounds_zero_counts_as_one);
    tcase_add_test(tc, many_topics_each_holding_a_few_entries_wait_for_the_answer);
    tcase_add_test(tc, few_topics_with_fat_batches_use_the_second_round);
    tcase_add_test(tc, the_fill_threshold_is_an_average_and_inclusive);
    tcase_add_test(tc, a_full_batch_waiting_goes_in_the_next_round_while_one_is_out);
    tcase_add_test(tc, min_fill_zero_is_a_plain_request_budget);
    tcase_add_test(tc, huge_numbers_do_not_overflow);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
