/* The per-release API version table and the api_version_max cap: lookups, bad strings, capped negotiation. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kwal/client.h"
#include "proto/api_release.h"
#include "proto/msg.h"

static const kw_api_release *find_ok(const char *text)
{
    const kw_api_release *r = NULL;
    char err[256] = "";
    ck_assert_msg(kw__api_release_find(text, &r, err, sizeof(err)) == 0, "%s: %s", text, err);
    ck_assert_ptr_nonnull(r);
    return r;
}

START_TEST(releases_are_found_by_line_with_or_without_patch)
{
    ck_assert_str_eq(find_ok("3.9")->line, "3.9");
    ck_assert_ptr_eq(find_ok("3.9.0"), find_ok("3.9"));
    ck_assert_ptr_eq(find_ok("3.9.2"), find_ok("3.9"));
    ck_assert_str_eq(find_ok("4.3.1")->line, "4.3");
    ck_assert_str_eq(find_ok("3.0")->line, "3.0");
    ck_assert_str_eq(find_ok("4.0.0")->line, "4.0");
    /* the table covers every line from 3.0 to 4.3 (the test broker's) at least, in order */
    static const char *const lines[] = {"3.0", "3.1", "3.2", "3.3", "3.4", "3.5", "3.6",
                                        "3.7", "3.8", "3.9", "4.0", "4.1", "4.2", "4.3"};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        ck_assert_str_eq(kw__api_release_table[i].line, lines[i]);
    ck_assert_uint_ge(kw__api_release_count, 14);
}
END_TEST

/* Values read from the kafka-clients jars (ApiKeys.X.latestVersion(false)), spot-checked. */
START_TEST(the_table_has_the_releases_versions)
{
    const kw_api_release *r39 = find_ok("3.9"), *r43 = find_ok("4.3"), *r30 = find_ok("3.0");
    ck_assert_int_eq(kw__api_release_max(r39, KW_API_PRODUCE), 11);
    ck_assert_int_eq(kw__api_release_max(r39, KW_API_FETCH), 17);
    ck_assert_int_eq(kw__api_release_max(r39, KW_API_OFFSET_COMMIT), 9);
    ck_assert_int_eq(kw__api_release_max(r39, KW_API_API_VERSIONS), 4);
    ck_assert_int_eq(kw__api_release_max(r39, KW_API_END_TXN), 4);
    ck_assert_int_eq(kw__api_release_max(r39, KW_API_TXN_OFFSET_COMMIT), 4);
    ck_assert_int_eq(kw__api_release_max(r39, KW_API_CONSUMER_GROUP_HEARTBEAT), 0);
    ck_assert_int_eq(kw__api_release_max(r43, KW_API_PRODUCE), 13);
    ck_assert_int_eq(kw__api_release_max(r43, KW_API_OFFSET_COMMIT), 10);
    ck_assert_int_eq(kw__api_release_max(r43, KW_API_TXN_OFFSET_COMMIT), 5);
    ck_assert_int_eq(kw__api_release_max(r43, KW_API_CONSUMER_GROUP_HEARTBEAT), 1);
    ck_assert_int_eq(kw__api_release_max(r30, KW_API_PRODUCE), 9);
    ck_assert_int_eq(kw__api_release_max(r30, KW_API_FETCH), 12);
    ck_assert_int_eq(kw__api_release_max(r30, KW_API_API_VERSIONS), 3);
    ck_assert_int_eq(kw__api_release_max(r30, KW_API_CONSUMER_GROUP_HEARTBEAT), -1); /* none */
    ck_assert_int_eq(kw__api_release_max(r30, -1), -1);
    ck_assert_int_eq(kw__api_release_max(r30, KW_API_RELEASE_KEYS), -1);
    /* releases never lower an API's newest version, and every release has the core APIs */
    size_t n;
    const kw_api *const *apis = kw__apis(&n);
    for (size_t i = 0; i < kw__api_release_count; i++) {
        const kw_api_release *r = &kw__api_release_table[i];
        for (int k = KW_API_PRODUCE; k <= KW_API_METADATA; k++)
            ck_assert_int_ge(kw__api_release_max(r, k), 0);
        for (size_t j = 0; i > 0 && j < n; j++)
            ck_assert_msg(kw__api_release_max(r, apis[j]->key) >=
                              kw__api_release_max(&kw__api_release_table[i - 1], apis[j]->key),
                          "%s goes down from %s to %s", apis[j]->name,
                          kw__api_release_table[i - 1].line, r->line);
    }
}
END_TEST

START_TEST(malformed_and_unknown_releases_are_config_errors_naming_them)
{
    static const char *const malformed[] = {"",    "3",      "3.",        ".9",   "3.9.",
                                            "3.9.0.1", "v3.9", "3.9.0-rc1", " 3.9", "3.9 ",
                                            "3.x", "3,9",    "99999.1",   "3..9", "-3.9"};
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        const kw_api_release *r = (const void *)1;
        char err[256] = "", want[128];
        ck_assert_int_eq(kw__api_release_find(malformed[i], &r, err, sizeof(err)), KW_ECONFIG);
        ck_assert_ptr_null(r);
        snprintf(want, sizeof(want), "api_version_max \"%s\" is not a Kafka release",
                 malformed[i]);
        ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s: got %s", malformed[i], err);
    }
    static const char *const unknown[] = {"2.8", "2.8.2", "0.10", "3.10", "9.0", "4.99.1"};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        const kw_api_release *r;
        char err[256] = "", want[200];
        ck_assert_int_eq(kw__api_release_find(unknown[i], &r, err, sizeof(err)), KW_ECONFIG);
        snprintf(want, sizeof(want),
                 "api_version_max \"%s\": kwal knows the API versions of Kafka 3.0 to %s only",
                 unknown[i], kw__api_release_table[kw__api_release_count - 1].line);
        ck_assert_str_eq(err, want);
    }
    const kw_api_release *r;
    ck_assert_int_eq(kw__api_release_find(NULL, &r, NULL, 0), KW_ECONFIG);
}
END_TEST

START_TEST(capped_negotiation_takes_the_lowest_of_three_maxima)
{
    /* a Kafka 4.3 broker's ranges for a few APIs */
    kw_api_range ranges[] = {
        {KW_API_PRODUCE, 3, 13},        {KW_API_FETCH, 4, 18},
        {KW_API_OFFSET_COMMIT, 2, 10},  {KW_API_METADATA, 0, 13},
        {KW_API_API_VERSIONS, 0, 4},    {KW_API_TXN_OFFSET_COMMIT, 0, 5},
        {KW_API_CONSUMER_GROUP_HEARTBEAT, 0, 1},
    };
    size_t nr = sizeof(ranges) / sizeof(ranges[0]);
    kw_versions v;
    char err[256];
    kw__versions_pick_capped(&v, ranges, nr, find_ok("3.9.0"));
    ck_assert_int_eq(kw__versions_get(&v, KW_API_PRODUCE, err, sizeof(err)), 11);
    ck_assert_int_eq(kw__versions_get(&v, KW_API_FETCH, err, sizeof(err)), 17); /* 3.9's: topic ids */
    ck_assert_int_eq(kw__versions_get(&v, KW_API_OFFSET_COMMIT, err, sizeof(err)), 9);
    ck_assert_int_eq(kw__versions_get(&v, KW_API_TXN_OFFSET_COMMIT, err, sizeof(err)), 4);
    ck_assert_int_eq(kw__versions_get(&v, KW_API_CONSUMER_GROUP_HEARTBEAT, err, sizeof(err)), 0);
    /* kwal's own max still bounds it: Metadata, whose 3.9 max is 12 */
    ck_assert_int_eq(kw__versions_get(&v, KW_API_METADATA, err, sizeof(err)),
                     kw__api(KW_API_METADATA)->vmax < 12 ? kw__api(KW_API_METADATA)->vmax : 12);

    /* uncapped: the broker's max or kwal's */
    kw__versions_pick_capped(&v, ranges, nr, NULL);
    ck_assert_int_eq(kw__versions_get(&v, KW_API_TXN_OFFSET_COMMIT, err, sizeof(err)), 5);
    ck_assert_int_eq(kw__versions_get(&v, KW_API_CONSUMER_GROUP_HEARTBEAT, err, sizeof(err)), 1);

    /* 3.0 has no ConsumerGroupHeartbeat: unavailable, and the message says why */
    kw__versions_pick_capped(&v, ranges, nr, find_ok("3.0"));
    ck_assert_int_eq(kw__versions_get(&v, KW_API_CONSUMER_GROUP_HEARTBEAT, err, sizeof(err)),
                     KW_EVERSION);
    ck_assert_str_eq(err, "ConsumerGroupHeartbeat is not in Kafka 3.0, the api_version_max cap");
    ck_assert_int_eq(kw__versions_get(&v, KW_API_PRODUCE, err, sizeof(err)), 9);
    /* a cap below what the broker still accepts: no common version, all three named */
    kw_api_range newer[] = {{KW_API_PRODUCE, 10, 13}};
    kw__versions_pick_capped(&v, newer, 1, find_ok("3.0"));
    ck_assert_int_eq(kw__versions_get(&v, KW_API_PRODUCE, err, sizeof(err)), KW_EVERSION);
    ck_assert_msg(strstr(err, "broker 10-13, api_version_max 3.0 allows up to 9"), "got: %s",
                  err);
}
END_TEST

START_TEST(client_new_refuses_a_bad_cap_and_takes_a_good_one)
{
    kw_client_options o = {.bootstrap = "127.0.0.1:1", .api_version_max = "3.9.x"};
    kw_client *c = (kw_client *)1;
    char err[256] = "";
    ck_assert_int_eq(kw_client_new(&c, &o, err, sizeof(err)), KW_ECONFIG);
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(err, "api_version_max \"3.9.x\" is not a Kafka release"), "got: %s",
                  err);
    o.api_version_max = "2.8.0";
    ck_assert_int_eq(kw_client_new(&c, &o, err, sizeof(err)), KW_ECONFIG);
    ck_assert_msg(strstr(err, "\"2.8.0\": kwal knows"), "got: %s", err);
    o.api_version_max = "3.9.0";
    ck_assert_int_eq(kw_client_new(&c, &o, err, sizeof(err)), 0);
    kw_client_destroy(c);
    o.api_version_max = ""; /* empty: no cap */
    ck_assert_int_eq(kw_client_new(&c, &o, err, sizeof(err)), 0);
    kw_client_destroy(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api_release");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, releases_are_found_by_line_with_or_without_patch);
    tcase_add_test(tc, the_table_has_the_releases_versions);
    tcase_add_test(tc, malformed_and_unknown_releases_are_config_errors_naming_them);
    tcase_add_test(tc, capped_negotiation_takes_the_lowest_of_three_maxima);
    tcase_add_test(tc, client_new_refuses_a_bad_cap_and_takes_a_good_one);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
