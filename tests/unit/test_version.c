/* Unit test of kw_version and the KW_VERSION_* macros generated from the project version. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "kwal/version.h"

START_TEST(the_library_reports_the_version_its_header_was_generated_with)
{
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", KW_VERSION_MAJOR, KW_VERSION_MINOR, KW_VERSION_PATCH);
    ck_assert_str_eq(kw_version(), want);
    ck_assert_str_eq(kw_version(), KW_VERSION_STRING);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("version");
    TCase *tc = tcase_create("version");
    tcase_add_test(tc, the_library_reports_the_version_its_header_was_generated_with);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
