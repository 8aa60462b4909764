/* Unit tests of the kwal tool's -X properties: every key, every bad value, and the cross-checks. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "props.h"

static kw_client_options o;
static char err[CLI_PROPS_ERRLEN];

static void setup(void)
{
    memset(&o, 0, sizeof o);
    err[0] = '\0';
}

/* Sets one property and asserts it was taken. */
static void set_ok(const char *kv)
{
    int rc = cli_props_set(&o, kv, err, sizeof err);
    ck_assert_msg(rc == 0, "'%s' refused: %s", kv, err);
}

/* Sets one property, asserts it was refused with exactly this message. */
static void set_bad(const char *kv, const char *want)
{
    ck_assert_int_eq(cli_props_set(&o, kv, err, sizeof err), -1);
    ck_assert_str_eq(err, want);
}

static void check_ok(void)
{
    int rc = cli_props_check(&o, err, sizeof err);
    ck_assert_msg(rc == 0, "check refused: %s", err);
}

static void check_bad(const char *want)
{
    ck_assert_int_eq(cli_props_check(&o, err, sizeof err), -1);
    ck_assert_str_eq(err, want);
}

START_TEST(no_properties_leave_every_default)
{
    kw_client_options zero = {0};
    check_ok();
    ck_assert_int_eq(memcmp(&o, &zero, sizeof o), 0);
}
END_TEST

START_TEST(security_protocol_takes_kafka_and_librdkafka_spellings)
{
    set_ok("security.protocol=ssl");
    ck_assert_int_eq(o.security, KW_CLIENT_SSL);
    set_ok("security.protocol=SASL_PLAINTEXT");
    ck_assert_int_eq(o.security, KW_CLIENT_SASL_PLAINTEXT);
    set_ok("security.protocol=sasl_ssl");
    ck_assert_int_eq(o.security, KW_CLIENT_SASL_SSL);
    set_ok("security.protocol=PLAINTEXT");
    ck_assert_int_eq(o.security, KW_CLIENT_PLAINTEXT);
}
END_TEST

START_TEST(security_protocol_rejects_other_names)
{
    set_bad("security.protocol=tls",
            "-X security.protocol: 'tls' is not one of plaintext, ssl, sasl_plaintext, sasl_ssl");
    set_bad("security.protocol=",
            "-X security.protocol: '' is not one of plaintext, ssl, sasl_plaintext, sasl_ssl");
    ck_assert_int_eq(o.security, KW_CLIENT_PLAINTEXT);
}
END_TEST

START_TEST(sasl_mechanism_is_stored_in_kafka_spelling)
{
    set_ok("sasl.mechanism=scram-sha-512");
    ck_assert_str_eq(o.sasl_mechanism, "SCRAM-SHA-512");
    set_ok("sasl.mechanism=SCRAM-SHA-256");
    ck_assert_str_eq(o.sasl_mechanism, "SCRAM-SHA-256");
    set_ok("sasl.mechanism=PLAIN");
    ck_assert_str_eq(o.sasl_mechanism, "PLAIN");
    set_ok("sasl.mechanisms=OAUTHBEARER"); /* librdkafka's (kcat's) plural */
    ck_assert_str_eq(o.sasl_mechanism, "OAUTHBEARER");
}
END_TEST

START_TEST(sasl_mechanism_rejects_unknown)
{
    set_bad("sasl.mechanism=SCRAM",
            "-X sasl.mechanism: 'SCRAM' is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, "
            "OAUTHBEARER, GSSAPI, AWS_MSK_IAM");
    ck_assert_ptr_null(o.sasl_mechanism);
}
END_TEST

START_TEST(gssapi_takes_a_service_name_and_no_password)
{
    set_ok("security.protocol=sasl_plaintext");
    set_ok("sasl.mechanism=gssapi");
    ck_assert_str_eq(o.sasl_mechanism, "GSSAPI");
    check_ok();
    set_ok("sasl.kerberos.service.name=kafka-prod");
    ck_assert_str_eq(o.sasl_kerberos_service_name, "kafka-prod");
    check_ok();
    set_ok("sasl.username=alice");
    check_bad("-X sasl.mechanism=GSSAPI takes no sasl.username, sasl.password or "
              "sasl.oauthbearer.token (the Kerberos credential cache says who you are)");
    set_bad("sasl.kerberos.keytab=/etc/k.keytab",
            "-X sasl.kerberos.keytab: not supported: kwal runs no kinit; it uses the Kerberos "
            "credential cache (KRB5CCNAME), which kinit -k -t KEYTAB PRINCIPAL fills");
    setup();
    set_ok("security.protocol=sasl_plaintext");
    set_ok("sasl.mechanism=PLAIN");
    set_ok("sasl.username=alice");
    set_ok("sasl.password=p");
    set_ok("sasl.kerberos.service.name=kafka");
    check_bad("-X sasl.kerberos.service.name needs sasl.mechanism=GSSAPI");
}
END_TEST

START_TEST(credentials_and_paths_point_at_the_argument_text)
{
    const char *user = "sasl.username=alice";
    set_ok(user);
    ck_assert_ptr_eq(o.sasl_username, user + strlen("sasl.username="));
    set_ok("sasl.password=a=b=c"); /* only the first '=' splits */
    ck_assert_str_eq(o.sasl_password, "a=b=c");
    set_ok("sasl.oauthbearer.token=eyJhbGciOi");
    ck_assert_str_eq(o.oauth_token, "eyJhbGciOi");
    set_ok("ssl.ca.location=/tls/ca.pem");
    ck_assert_str_eq(o.tls_ca_file, "/tls/ca.pem");
    set_ok("ssl.certificate.location=/tls/client.pem");
    ck_assert_str_eq(o.tls_cert_file, "/tls/client.pem");
    set_ok("ssl.key.location=/tls/client.key");
    ck_assert_str_eq(o.tls_key_file, "/tls/client.key");
    set_ok("client.id=my-tool");
    ck_assert_str_eq(o.client_id, "my-tool");
}
END_TEST

START_TEST(empty_texts_are_refused_by_name)
{
    set_bad("sasl.username=", "-X sasl.username: the value is empty");
    set_bad("sasl.password=", "-X sasl.password: the value is empty");
    set_bad("sasl.oauthbearer.token=", "-X sasl.oauthbearer.token: the value is empty");
    set_bad("ssl.ca.location=", "-X ssl.ca.location: the value is empty");
    set_bad("ssl.certificate.location=", "-X ssl.certificate.location: the value is empty");
    set_bad("ssl.key.location=", "-X ssl.key.location: the value is empty");
    set_bad("client.id=", "-X client.id: the value is empty");
}
END_TEST

START_TEST(endpoint_identification_none_or_empty_skips_the_host_check)
{
    set_ok("ssl.endpoint.identification.algorithm=none");
    ck_assert(o.tls_no_hostname_check);
    set_ok("ssl.endpoint.identification.algorithm=https");
    ck_assert(!o.tls_no_hostname_check);
    set_ok("ssl.endpoint.identification.algorithm="); /* Kafka's own way to say none */
    ck_assert(o.tls_no_hostname_check);
    set_bad("ssl.endpoint.identification.algorithm=http",
            "-X ssl.endpoint.identification.algorithm: 'http' is not one of https, none");
}
END_TEST

START_TEST(request_timeout_takes_positive_milliseconds)
{
    set_ok("request.timeout.ms=1500");
    ck_assert_uint_eq(o.request_timeout_ms, 1500);
    set_ok("request.timeout.ms=86400000");
    ck_assert_uint_eq(o.request_timeout_ms, 86400000);
    const char *bad[] = {
        "0", "-5", "+5", " 5", "5s", "", "abc", "86400001", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char kv[64], want[160];
        snprintf(kv, sizeof kv, "request.timeout.ms=%s", bad[i]);
        snprintf(want, sizeof want,
                 "-X request.timeout.ms: '%s' is not a number of milliseconds from 1 to 86400000",
                 bad[i]);
        set_bad(kv, want);
    }
    ck_assert_uint_eq(o.request_timeout_ms, 86400000);
}
END_TEST

START_TEST(api_version_max_takes_a_release)
{
    set_ok("api.version.max=3.9.0");
    ck_assert_str_eq(o.api_version_max, "3.9.0");
    set_ok("api.version.max=4.0");
    ck_assert_str_eq(o.api_version_max, "4.0");
    set_bad("api.version.max=", "-X api.version.max: the value is empty");
    ck_assert_str_eq(o.api_version_max, "4.0");
    check_ok();
}
END_TEST

START_TEST(unknown_keys_and_malformed_arguments_are_named)
{
    set_bad("ssl.foo=1", "-X: unknown property 'ssl.foo'");
    set_bad("bootstrap.servers=x:1", "-X: unknown property 'bootstrap.servers'");
    set_bad("Security.Protocol=ssl", "-X: unknown property 'Security.Protocol'");
    set_bad("security.protocol", "-X: 'security.protocol' is not key=value");
    set_bad("=ssl", "-X: '=ssl' is not key=value");
    set_bad("", "-X: '' is not key=value");
    char longkey[200];
    memset(longkey, 'k', 100);
    strcpy(longkey + 100, "=v");
    char want[220];
    snprintf(want, sizeof want, "-X: unknown property '%.*s'", 100, longkey);
    set_bad(longkey, want);
}
END_TEST

START_TEST(a_key_given_twice_keeps_the_last_value)
{
    set_ok("client.id=one");
    set_ok("client.id=two");
    ck_assert_str_eq(o.client_id, "two");
}
END_TEST

START_TEST(sasl_protocols_need_a_mechanism_and_credentials)
{
    set_ok("security.protocol=sasl_plaintext");
    check_bad("-X security.protocol=sasl_plaintext needs -X sasl.mechanism");
    set_ok("sasl.mechanism=SCRAM-SHA-512");
    check_bad("-X sasl.mechanism=SCRAM-SHA-512 needs -X sasl.username and -X sasl.password");
    set_ok("sasl.username=alice");
    check_bad("-X sasl.mechanism=SCRAM-SHA-512 needs -X sasl.username and -X sasl.password");
    set_ok("sasl.password=alice-secret");
    check_ok();
    set_ok("sasl.oauthbearer.token=t");
    check_bad("-X sasl.oauthbearer.token needs sasl.mechanism=OAUTHBEARER");
}
END_TEST

START_TEST(oauthbearer_needs_a_token_and_no_password)
{
    set_ok("security.protocol=sasl_ssl");
    set_ok("sasl.mechanism=OAUTHBEARER");
    check_bad("-X sasl.mechanism=OAUTHBEARER needs -X sasl.oauthbearer.token, "
              "sasl.oauthbearer.file or sasl.oauthbearer.http.socket");
    set_ok("sasl.oauthbearer.token=t");
    check_ok();
    set_ok("sasl.username=alice");
    check_bad("-X sasl.username and sasl.password do not go with sasl.mechanism=OAUTHBEARER");
}
END_TEST

START_TEST(credential_sources_map_and_one_is_taken)
{
    set_ok("security.protocol=sasl_plaintext");
    set_ok("sasl.mechanism=oauthbearer");
    set_ok("sasl.oauthbearer.file=/run/oauth.json");
    check_ok();
    ck_assert_str_eq(o.oauth_file, "/run/oauth.json");
    set_ok("sasl.oauthbearer.http.socket=/run/cred.sock");
    ck_assert_str_eq(o.oauth_http_socket, "/run/cred.sock");
    check_bad("-X sasl.oauthbearer.file and -X sasl.oauthbearer.http.socket are both set: give "
              "the mechanism one credential source");
    o.oauth_file = NULL;
    set_ok("sasl.http.socket.timeout.ms=2500");
    ck_assert_uint_eq(o.sasl_http_timeout_ms, 2500);
    check_ok();
    set_ok("sasl.oauthbearer.token=t");
    check_bad("-X sasl.oauthbearer.token and -X sasl.oauthbearer.http.socket are both set: give "
              "the mechanism one credential source");
    o.oauth_token = NULL;
    set_ok("sasl.aws.file=/run/aws.json");
    check_bad("-X sasl.aws.file needs sasl.mechanism=AWS_MSK_IAM");
    set_bad("sasl.http.socket.timeout.ms=0",
            "-X sasl.http.socket.timeout.ms: '0' is not a number of milliseconds from 1 to "
            "86400000");
    set_bad("sasl.aws.http.socket=", "-X sasl.aws.http.socket: the value is empty");

    setup();
    set_ok("security.protocol=sasl_ssl");
    set_ok("sasl.mechanism=AWS_MSK_IAM");
    set_ok("sasl.aws.file=/run/aws.json");
    set_ok("sasl.aws.http.socket=/run/aws.sock");
    check_bad("-X sasl.aws.file and -X sasl.aws.http.socket are both set: give the mechanism one "
              "credential source");
    o.aws_file = NULL;
    check_ok();
    ck_assert_str_eq(o.aws_http_socket, "/run/aws.sock");
    set_ok("sasl.oauthbearer.file=/x");
    check_bad("-X sasl.oauthbearer.file needs sasl.mechanism=OAUTHBEARER");

    setup();
    set_ok("security.protocol=plaintext");
    set_ok("sasl.http.socket.timeout.ms=100");
    check_bad("-X sasl.* needs security.protocol sasl_plaintext or sasl_ssl (it is plaintext)");
}
END_TEST

START_TEST(tls_version_and_cipher_suites)
{
    set_ok("security.protocol=ssl");
    set_ok("ssl.min.version=TLSv1.3");
    set_ok("ssl.cipher.suites=TLS_AES_256_GCM_SHA384:ECDHE-RSA-AES128-GCM-SHA256");
    check_ok();
    ck_assert_str_eq(o.tls_min_version, "TLSv1.3");
    ck_assert_str_eq(o.tls_cipher_suites, "TLS_AES_256_GCM_SHA384:ECDHE-RSA-AES128-GCM-SHA256");
    set_bad("ssl.min.version=TLSv1.1", "-X ssl.min.version: 'TLSv1.1' is not one of TLSv1.2, TLSv1.3");
    set_bad("ssl.cipher.suites=", "-X ssl.cipher.suites: the value is empty");
    setup();
    set_ok("ssl.min.version=tlsv1.2");
    check_bad("-X ssl.* needs security.protocol ssl or sasl_ssl (it is plaintext)");
}
END_TEST

START_TEST(sasl_settings_without_a_sasl_protocol_are_refused)
{
    set_ok("sasl.username=alice");
    check_bad("-X sasl.* needs security.protocol sasl_plaintext or sasl_ssl (it is plaintext)");
    setup();
    set_ok("security.protocol=ssl");
    set_ok("sasl.mechanism=PLAIN");
    check_bad("-X sasl.* needs security.protocol sasl_plaintext or sasl_ssl (it is ssl)");
}
END_TEST

START_TEST(ssl_settings_without_an_ssl_protocol_are_refused)
{
    const char *keys[] = {"ssl.ca.location=/ca.pem", "ssl.endpoint.identification.algorithm=none"};
    for (size_t i = 0; i < 2; i++) {
        setup();
        set_ok(keys[i]);
        check_bad("-X ssl.* needs security.protocol ssl or sasl_ssl (it is plaintext)");
        set_ok("security.protocol=sasl_plaintext");
        set_ok("sasl.mechanism=PLAIN");
        set_ok("sasl.username=u");
        set_ok("sasl.password=p");
        check_bad("-X ssl.* needs security.protocol ssl or sasl_ssl (it is sasl_plaintext)");
        set_ok("security.protocol=sasl_ssl");
        check_ok();
    }
}
END_TEST

START_TEST(a_client_certificate_needs_its_key_and_the_other_way_round)
{
    set_ok("security.protocol=ssl");
    set_ok("ssl.certificate.location=/c.pem");
    check_bad("-X ssl.certificate.location needs -X ssl.key.location too (a client certificate "
              "goes with its key)");
    setup();
    set_ok("security.protocol=ssl");
    set_ok("ssl.key.location=/c.key");
    check_bad("-X ssl.key.location needs -X ssl.certificate.location too (a client certificate "
              "goes with its key)");
    set_ok("ssl.certificate.location=/c.pem");
    check_ok();
}
END_TEST

START_TEST(a_full_sasl_ssl_setup_maps_every_field)
{
    set_ok("security.protocol=SASL_SSL");
    set_ok("sasl.mechanism=SCRAM-SHA-256");
    set_ok("sasl.username=alice");
    set_ok("sasl.password=alice-secret");
    set_ok("ssl.ca.location=/tls/ca.pem");
    set_ok("ssl.endpoint.identification.algorithm=none");
    set_ok("client.id=kwal-test");
    set_ok("request.timeout.ms=2500");
    check_ok();
    ck_assert_int_eq(o.security, KW_CLIENT_SASL_SSL);
    ck_assert_str_eq(o.sasl_mechanism, "SCRAM-SHA-256");
    ck_assert_str_eq(o.sasl_username, "alice");
    ck_assert_str_eq(o.sasl_password, "alice-secret");
    ck_assert_str_eq(o.tls_ca_file, "/tls/ca.pem");
    ck_assert(o.tls_no_hostname_check);
    ck_assert(!o.tls_insecure_skip_verify); /* none skips only the host name, never the chain */
    ck_assert_str_eq(o.client_id, "kwal-test");
    ck_assert_uint_eq(o.request_timeout_ms, 2500);
    ck_assert_ptr_null(o.bootstrap); /* -b's, not -X's */
}
END_TEST

START_TEST(aws_msk_iam_takes_static_keys_and_a_region)
{
    set_ok("security.protocol=sasl_ssl");
    set_ok("sasl.mechanism=aws_msk_iam");
    ck_assert_str_eq(o.sasl_mechanism, "AWS_MSK_IAM");
    check_bad("-X sasl.mechanism=AWS_MSK_IAM needs -X sasl.aws.access.key.id and "
              "-X sasl.aws.secret.access.key, or -X sasl.aws.file, or -X sasl.aws.http.socket");
    set_ok("sasl.aws.access.key.id=AKIDEXAMPLE");
    check_bad("-X sasl.mechanism=AWS_MSK_IAM needs -X sasl.aws.access.key.id and "
              "-X sasl.aws.secret.access.key, or -X sasl.aws.file, or -X sasl.aws.http.socket");
    set_ok("sasl.aws.secret.access.key=wJalr/K7+x");
    check_ok();
    set_ok("sasl.aws.session.token=FQoG/tok==");
    set_ok("sasl.aws.region=eu-west-1");
    set_ok("sasl.aws.user.agent=mimir/3");
    check_ok();
    ck_assert_str_eq(o.aws_access_key_id, "AKIDEXAMPLE");
    ck_assert_str_eq(o.aws_secret_access_key, "wJalr/K7+x");
    ck_assert_str_eq(o.aws_session_token, "FQoG/tok==");
    ck_assert_str_eq(o.aws_region, "eu-west-1");
    ck_assert_str_eq(o.aws_user_agent, "mimir/3");
    set_bad("sasl.aws.region=", "-X sasl.aws.region: the value is empty");
    set_ok("sasl.username=alice");
    check_bad("-X sasl.mechanism=AWS_MSK_IAM takes sasl.aws.* credentials, not sasl.username, "
              "sasl.password, sasl.oauthbearer.token or sasl.kerberos.*");
}
END_TEST

START_TEST(aws_keys_need_the_aws_mechanism)
{
    set_ok("security.protocol=sasl_plaintext");
    set_ok("sasl.mechanism=PLAIN");
    set_ok("sasl.username=alice");
    set_ok("sasl.password=pw");
    set_ok("sasl.aws.region=us-east-1");
    check_bad("-X sasl.aws.* needs sasl.mechanism=AWS_MSK_IAM");
    setup();
    set_ok("sasl.aws.access.key.id=AKIDEXAMPLE");
    check_bad("-X sasl.* needs security.protocol sasl_plaintext or sasl_ssl (it is plaintext)");
}
END_TEST

static Suite *props_suite(void)
{
    Suite *s = suite_create("props");
    TCase *tc = tcase_create("props");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, no_properties_leave_every_default);
    tcase_add_test(tc, security_protocol_takes_kafka_and_librdkafka_spellings);
    tcase_add_test(tc, security_protocol_rejects_other_names);
    tcase_add_test(tc, gssapi_takes_a_service_name_and_no_password);
    tcase_add_test(tc, sasl_mechanism_is_stored_in_kafka_spelling);
    tcase_add_test(tc, sasl_mechanism_rejects_unknown);
    tcase_add_test(tc, credentials_and_paths_point_at_the_argument_text);
    tcase_add_test(tc, empty_texts_are_refused_by_name);
    tcase_add_test(tc, endpoint_identification_none_or_empty_skips_the_host_check);
    tcase_add_test(tc, request_timeout_takes_positive_milliseconds);
    tcase_add_test(tc, unknown_keys_and_malformed_arguments_are_named);
    tcase_add_test(tc, a_key_given_twice_keeps_the_last_value);
    tcase_add_test(tc, sasl_protocols_need_a_mechanism_and_credentials);
    tcase_add_test(tc, oauthbearer_needs_a_token_and_no_password);
    tcase_add_test(tc, credential_sources_map_and_one_is_taken);
    tcase_add_test(tc, tls_version_and_cipher_suites);
    tcase_add_test(tc, sasl_settings_without_a_sasl_protocol_are_refused);
    tcase_add_test(tc, ssl_settings_without_an_ssl_protocol_are_refused);
    tcase_add_test(tc, a_client_certificate_needs_its_key_and_the_other_way_round);
    tcase_add_test(tc, a_full_sasl_ssl_setup_maps_every_field);
    tcase_add_test(tc, api_version_max_takes_a_release);
    tcase_add_test(tc, aws_msk_iam_takes_static_keys_and_a_region);
    tcase_add_test(tc, aws_keys_need_the_aws_mechanism);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(props_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
