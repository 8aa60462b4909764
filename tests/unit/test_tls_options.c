/* Unit tests of the TLS context options: minimum version and cipher suites (names, mapping, mistakes). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "net/tls.h"

static int make(const char *min, const char *suites, char *err, size_t errlen)
{
    kw_tls_config cfg = {.insecure_skip_verify = true, .min_version = min, .cipher_suites = suites};
    kw_tls_ctx *ctx = NULL;
    int rc = kw__tls_ctx_new(&ctx, &cfg, err, errlen);
    if (rc == 0)
        kw__tls_ctx_unref(ctx);
    else
        ck_assert_ptr_null(ctx);
    return rc;
}

START_TEST(good_versions_and_suites_are_taken)
{
    char err[512] = "";
    ck_assert_int_eq(make(NULL, NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(make("TLSv1.2", NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(make("tlsv1.3", NULL, err, sizeof(err)), 0);
    /* OpenSSL names, IANA names, both separators, blanks, a TLS 1.3 suite */
    ck_assert_msg(make(NULL, "ECDHE-RSA-AES128-GCM-SHA256", err, sizeof(err)) == 0, "%s", err);
    ck_assert_msg(make(NULL, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLS_AES_128_GCM_SHA256", err,
                       sizeof(err)) == 0,
                  "%s", err);
    ck_assert_msg(make("TLSv1.3", "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", err,
                       sizeof(err)) == 0,
                  "%s", err);
}
END_TEST

START_TEST(bad_values_are_config_errors_naming_them)
{
    char err[512];
    ck_assert_int_eq(make("TLSv1.1", NULL, err, sizeof(err)), KW_ECONFIG);
    ck_assert_msg(strstr(err, "\"TLSv1.1\"") && strstr(err, "TLSv1.2 or TLSv1.3"), "%s", err);
    ck_assert_int_eq(make("1.3", NULL, err, sizeof(err)), KW_ECONFIG);
    ck_assert_msg(strstr(err, "\"1.3\""), "%s", err);
    ck_assert_int_eq(make(NULL, "ECDHE-RSA-AES128-GCM-SHA256:NOT-A-CIPHER", err, sizeof(err)),
                     KW_ECONFIG);
    ck_assert_msg(strstr(err, "\"NOT-A-CIPHER\"") && strstr(err, "not one OpenSSL knows"), "%s",
                  err);
    ck_assert_int_eq(make(NULL, " , :", err, sizeof(err)), KW_ECONFIG);
    ck_assert_msg(strstr(err, "names no suite"), "%s", err);
    ck_assert_int_eq(make("TLSv1.3", "ECDHE-RSA-AES128-GCM-SHA256", err, sizeof(err)),
                     KW_ECONFIG);
    ck_assert_msg(strstr(err, "no TLS 1.3 suite") && strstr(err, "TLSv1.3"), "%s", err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tls options");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, good_versions_and_suites_are_taken);
    tcase_add_test(tc, bad_values_are_config_errors_naming_them);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
