/* Unit tests of the Kafka error table: names, retriability, and safe answers for unknown codes. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "proto/kerr.h"

START_TEST(none_is_not_an_error_and_not_retriable)
{
    ck_assert_str_eq(kw__kerr_name(0), "NONE");
    ck_assert(kw__kerr_known(0));
    ck_assert(!kw__kerr_retriable(0));
    ck_assert_str_eq(kw__kerr_message(0), "no error");
}
END_TEST

START_TEST(metadata_errors_are_retriable)
{
    ck_assert_str_eq(kw__kerr_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
    ck_assert(kw__kerr_retriable(3));
    ck_assert_str_eq(kw__kerr_name(6), "NOT_LEADER_OR_FOLLOWER");
    ck_assert(kw__kerr_retriable(6));
    ck_assert_str_eq(kw__kerr_name(7), "REQUEST_TIMED_OUT");
    ck_assert(kw__kerr_retriable(7));
    ck_assert_str_eq(kw__kerr_name(19), "NOT_ENOUGH_REPLICAS");
    ck_assert(kw__kerr_retriable(19));
    ck_assert_str_eq(kw__kerr_name(20), "NOT_ENOUGH_REPLICAS_AFTER_APPEND");
    ck_assert(kw__kerr_retriable(20));
    ck_assert_str_eq(kw__kerr_name(74), "FENCED_LEADER_EPOCH");
    ck_assert(kw__kerr_retriable(74));
    ck_assert(kw__kerr_retriable(KW_KERR_NOT_CONTROLLER));
    ck_assert(kw__kerr_retriable(KW_KERR_KAFKA_STORAGE_ERROR));
    ck_assert(kw__kerr_retriable(KW_KERR_CONCURRENT_TRANSACTIONS));
}
END_TEST

START_TEST(producer_and_auth_errors_are_fatal)
{
    ck_assert_str_eq(kw__kerr_name(45), "OUT_OF_ORDER_SEQUENCE_NUMBER");
    ck_assert(!kw__kerr_retriable(45));
    ck_assert_str_eq(kw__kerr_name(58), "SASL_AUTHENTICATION_FAILED");
    ck_assert(!kw__kerr_retriable(58));
    ck_assert_str_eq(kw__kerr_name(87), "INVALID_RECORD");
    ck_assert(!kw__kerr_retriable(87));
    ck_assert_str_eq(kw__kerr_name(1), "OFFSET_OUT_OF_RANGE");
    ck_assert(!kw__kerr_retriable(1));
    ck_assert_str_eq(kw__kerr_name(46), "DUPLICATE_SEQUENCE_NUMBER");
    ck_assert(!kw__kerr_retriable(46));
    ck_assert_str_eq(kw__kerr_name(90), "PRODUCER_FENCED");
    ck_assert(!kw__kerr_retriable(90));
    ck_assert_str_eq(kw__kerr_name(10), "MESSAGE_TOO_LARGE");
    ck_assert(!kw__kerr_retriable(10));
}
END_TEST

START_TEST(the_ends_of_the_table)
{
    ck_assert_str_eq(kw__kerr_name(-1), "UNKNOWN_SERVER_ERROR");
    ck_assert(!kw__kerr_retriable(-1));
    ck_assert_str_eq(kw__kerr_name(99), "POSITION_OUT_OF_RANGE");
    ck_assert_str_eq(kw__kerr_name(129), "REBOOTSTRAP_REQUIRED");
    ck_assert(!kw__kerr_retriable(129));
    ck_assert_str_eq(kw__kerr_name(133), "SHARE_SESSION_LIMIT_REACHED");
    ck_assert(kw__kerr_retriable(133));
}
END_TEST

START_TEST(every_code_from_minus_one_to_the_max_is_present_and_distinct)
{
    for (int c = -1; c <= KW_KERR_MAX; c++) {
        ck_assert_msg(kw__kerr_known((int16_t)c), "code %d missing", c);
        ck_assert_str_ne(kw__kerr_name((int16_t)c), "UNKNOWN");
        ck_assert_uint_gt(strlen(kw__kerr_message((int16_t)c)), 5);
        for (int d = -1; d < c; d++)
            ck_assert_str_ne(kw__kerr_name((int16_t)c), kw__kerr_name((int16_t)d));
    }
}
END_TEST

START_TEST(unknown_codes_get_safe_answers)
{
    int16_t codes[] = {-2, 134, 999, INT16_MAX, INT16_MIN};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        ck_assert(!kw__kerr_known(codes[i]));
        ck_assert_str_eq(kw__kerr_name(codes[i]), "UNKNOWN");
        ck_assert(!kw__kerr_retriable(codes[i]));
        ck_assert_ptr_nonnull(kw__kerr_message(codes[i]));
    }
    char buf[128];
    kw__kerr_describe(999, buf, sizeof(buf));
    ck_assert_str_eq(buf, "UNKNOWN_SERVER_ERROR_999 (999): the broker returned an error code this "
                          "version of kwal does not know");
    kw__kerr_describe(6, buf, sizeof(buf));
    ck_assert_str_eq(buf, "NOT_LEADER_OR_FOLLOWER (6): the broker is not the leader (or not a "
                          "replica) of the partition");
    /* a short buffer is cut but terminated */
    char small[8];
    kw__kerr_describe(6, small, sizeof(small));
    ck_assert_str_eq(small, "NOT_LEA");
}
END_TEST

/* The public names in kwal/error.h give what the table gives, for known and unknown codes. */
START_TEST(public_names_answer_as_the_table)
{
    ck_assert_str_eq(kw_kerr_name(KW_KERR_NOT_LEADER_OR_FOLLOWER), "NOT_LEADER_OR_FOLLOWER");
    ck_assert_str_eq(kw_kerr_message(6),
                     "the broker is not the leader (or not a replica) of the partition");
    ck_assert(kw_kerr_retriable(KW_KERR_NOT_LEADER_OR_FOLLOWER));
    ck_assert(!kw_kerr_retriable(KW_KERR_NONE));
    ck_assert(!kw_kerr_retriable(KW_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER));
    ck_assert_str_eq(kw_kerr_name(KW_KERR_UNKNOWN_SERVER_ERROR), "UNKNOWN_SERVER_ERROR");
    ck_assert_str_eq(kw_kerr_name(999), "UNKNOWN");
    ck_assert(!kw_kerr_retriable(999));
    ck_assert_str_eq(kw_kerr_message(999),
                     "the broker returned an error code this version of kwal does not know");
    for (int c = -3; c <= KW_KERR_MAX + 3; c++) {
        ck_assert_str_eq(kw_kerr_name((int16_t)c), kw__kerr_name((int16_t)c));
        ck_assert_str_eq(kw_kerr_message((int16_t)c), kw__kerr_message((int16_t)c));
        ck_assert(kw_kerr_retriable((int16_t)c) == kw__kerr_retriable((int16_t)c));
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kerr");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, none_is_not_an_error_and_not_retriable);
    tcase_add_test(tc, metadata_errors_are_retriable);
    tcase_add_test(tc, producer_and_auth_errors_are_fatal);
    tcase_add_test(tc, the_ends_of_the_table);
    tcase_add_test(tc, every_code_from_minus_one_to_the_max_is_present_and_distinct);
    tcase_add_test(tc, unknown_codes_get_safe_answers);
    tcase_add_test(tc, public_names_answer_as_the_table);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
