/* Unit tests of SigV4 (AWS's published example vectors) and the AWS_MSK_IAM mechanism's payload and answers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kwal/version.h"
#include "net/sasl.h"
#include "net/sasl_aws.h"
#include "net/sigv4.h"

/* AWS General Reference, "Signature Version 4 signing process": the IAM ListUsers example. */
#define IAM_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define IAM_SIGNING_KEY "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
#define IAM_CANONICAL                                                                      \
    "GET\n/\nAction=ListUsers&Version=2010-05-08\n"                                        \
    "content-type:application/x-www-form-urlencoded; charset=utf-8\n"                      \
    "host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"                              \
    "content-type;host;x-amz-date\n"                                                       \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define IAM_CANONICAL_HASH "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
#define IAM_STRING_TO_SIGN                                                                 \
    "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"            \
    IAM_CANONICAL_HASH
#define IAM_SIGNATURE "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"

/* 2015-08-30T12:36:00Z */
#define T_EXAMPLE 1440938160

/* Amazon S3 API Reference, "Authenticating Requests: Using Query Parameters": the presigned GET. */
#define S3_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define S3_CANONICAL                                                                       \
    "GET\n/test.txt\n"                                                                     \
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2F" \
    "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&"       \
    "X-Amz-SignedHeaders=host\n"                                                           \
    "host:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD"
#define S3_SIGNATURE "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"

/* The MSK payload's signatures, computed independently (Python hmac/hashlib/urllib.parse). */
#define MSK_HOST "b-1.kwal.abc123.c2.kafka.us-east-1.amazonaws.com"
#define MSK_SIG "7fa0b1cc6bd89fdad1025319b04111a3985c76cedbfd15b5a17be79894c9e729"
#define MSK_TOKEN "FQoG/Zm+tok=en"
#define MSK_SIG_TOKEN "d6d8cd151ef4437a4bdfa70a66cd3e0622d3905a14d05e3e6e3ccf2e51bc8047"

static void hex_of(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

START_TEST(signing_key_matches_aws_example)
{
    uint8_t key[KW_SIGV4_KEY_LEN];
    char hex[2 * KW_SIGV4_KEY_LEN + 1];
    ck_assert_int_eq(kw__sigv4_signing_key(IAM_SECRET, "20150830", "us-east-1", "iam", key), 0);
    hex_of(key, sizeof(key), hex);
    ck_assert_str_eq(hex, IAM_SIGNING_KEY);
    ck_assert_int_eq(kw__sigv4_signing_key(NULL, "20150830", "us-east-1", "iam", key), KW_EINVAL);
}
END_TEST

START_TEST(signature_matches_aws_example)
{
    char h[KW_SIGV4_HEX_LEN + 1];
    ck_assert_int_eq(kw__sigv4_sha256_hex(IAM_CANONICAL, strlen(IAM_CANONICAL), h), 0);
    ck_assert_str_eq(h, IAM_CANONICAL_HASH);
    ck_assert_int_eq(kw__sigv4_sha256_hex("", 0, h), 0);
    ck_assert_str_eq(h, KW_SIGV4_EMPTY_SHA256);

    uint8_t key[KW_SIGV4_KEY_LEN];
    ck_assert_int_eq(kw__sigv4_signing_key(IAM_SECRET, "20150830", "us-east-1", "iam", key), 0);
    ck_assert_int_eq(
        kw__sigv4_signature(key, IAM_STRING_TO_SIGN, strlen(IAM_STRING_TO_SIGN), h), 0);
    ck_assert_str_eq(h, IAM_SIGNATURE);
}
END_TEST

START_TEST(presigned_url_matches_s3_example)
{
    /* Out of order on purpose: the canonical query must sort them. */
    kw_sigv4_param params[] = {
        {"X-Amz-SignedHeaders", "host"},
        {"X-Amz-Date", "20130524T000000Z"},
        {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
        {"X-Amz-Expires", "86400"},
        {"X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"},
    };
    kw_sigv4_presign p = {
        .host = "examplebucket.s3.amazonaws.com",
        .path = "/test.txt",
        .params = params,
        .param_count = 5,
        .payload_hash = "UNSIGNED-PAYLOAD",
        .amz_date = "20130524T000000Z",
        .region = "us-east-1",
        .service = "s3",
        .secret_key = S3_SECRET,
    };
    char sig[KW_SIGV4_HEX_LEN + 1];
    char *canonical;
    ck_assert_int_eq(kw__sigv4_presign_sign(&p, sig, &canonical), 0);
    ck_assert_str_eq(canonical, S3_CANONICAL);
    ck_assert_str_eq(sig, S3_SIGNATURE);
    free(canonical);

    p.amz_date = "20130524";
    ck_assert_int_eq(kw__sigv4_presign_sign(&p, sig, NULL), KW_EINVAL);
    p.amz_date = "20130524T000000Z";
    p.host = NULL;
    ck_assert_int_eq(kw__sigv4_presign_sign(&p, sig, NULL), KW_EINVAL);
}
END_TEST

START_TEST(amz_date_is_utc_basic_format)
{
    char d[KW_SIGV4_AMZ_DATE_LEN + 1];
    ck_assert_int_eq(kw__sigv4_amz_date(T_EXAMPLE, d), 0);
    ck_assert_str_eq(d, "20150830T123600Z");
    ck_assert_int_eq(kw__sigv4_amz_date(0, d), 0);
    ck_assert_str_eq(d, "19700101T000000Z");
    ck_assert_int_eq(kw__sigv4_amz_date(INT64_MAX, d), KW_EINVAL);
}
END_TEST

START_TEST(region_from_msk_host_names)
{
    char r[64];
    ck_assert(kw__msk_region_from_host(MSK_HOST, r, sizeof(r)));
    ck_assert_str_eq(r, "us-east-1");
    ck_assert(kw__msk_region_from_host("boot-x.c2.kafka-serverless.eu-west-1.amazonaws.com.", r,
                                       sizeof(r)));
    ck_assert_str_eq(r, "eu-west-1");
    ck_assert(kw__msk_region_from_host("B-2.X.KAFKA.CN-NORTH-1.AMAZONAWS.COM.CN", r, sizeof(r)));
    ck_assert_str_eq(r, "cn-north-1");
    ck_assert(!kw__msk_region_from_host("127.0.0.1", r, sizeof(r)));
    ck_assert_str_eq(r, "");
    ck_assert(!kw__msk_region_from_host("amazonaws.com", r, sizeof(r)));
    ck_assert(!kw__msk_region_from_host("us-east-1.amazonaws.com", r, sizeof(r)));
    ck_assert(!kw__msk_region_from_host("b-1.x.us_east.amazonaws.com", r, sizeof(r)));
    ck_assert(!kw__msk_region_from_host("b-1.kafka.us-east-1.amazonaws.com", r, 4));
    ck_assert(!kw__msk_region_from_host(NULL, r, sizeof(r)));
}
END_TEST

/* Parses a payload and checks every field but the signature, which it returns (a copy). */
static char *check_payload(const char *doc, size_t len, const char *token, const char *ua)
{
    json_error_t je;
    json_t *o = json_loadb(doc, len, 0, &je);
    ck_assert_msg(o != NULL, "payload is not JSON: %s", je.text);
    ck_assert_str_eq(json_string_value(json_object_get(o, "version")), "2020_10_22");
    ck_assert_str_eq(json_string_value(json_object_get(o, "host")), MSK_HOST);
    ck_assert_str_eq(json_string_value(json_object_get(o, "user-agent")), ua);
    ck_assert_str_eq(json_string_value(json_object_get(o, "action")), "kafka-cluster:Connect");
    ck_assert_str_eq(json_string_value(json_object_get(o, "x-amz-algorithm")), "AWS4-HMAC-SHA256");
    ck_assert_str_eq(json_string_value(json_object_get(o, "x-amz-credential")),
                     "AKIDEXAMPLE/20150830/us-east-1/kafka-cluster/aws4_request");
    ck_assert_str_eq(json_string_value(json_object_get(o, "x-amz-date")), "20150830T123600Z");
    ck_assert_str_eq(json_string_value(json_object_get(o, "x-amz-signedheaders")), "host");
    ck_assert_str_eq(json_string_value(json_object_get(o, "x-amz-expires")), "300");
    if (token)
        ck_assert_str_eq(json_string_value(json_object_get(o, "x-amz-security-token")), token);
    else
        ck_assert_ptr_null(json_object_get(o, "x-amz-security-token"));
    ck_assert_uint_eq(json_object_size(o), token ? 11 : 10);
    char *sig = strdup(json_string_value(json_object_get(o, "x-amz-signature")));
    json_decref(o);
    return sig;
}

START_TEST(msk_payload_fields_and_signature)
{
    kw_msk_iam_args a = {
        .access_key_id = "AKIDEXAMPLE",
        .secret_access_key = IAM_SECRET,
        .region = "us-east-1",
        .host = MSK_HOST,
        .now_s = T_EXAMPLE,
    };
    char *doc, err[256];
    size_t len;
    ck_assert_int_eq(kw__msk_iam_payload(&a, &doc, &len, err, sizeof(err)), 0);
    ck_assert_uint_eq(len, strlen(doc));
    char ua[64];
    snprintf(ua, sizeof(ua), "kwal/%s", kw_version());
    char *sig = check_payload(doc, len, NULL, ua);
    ck_assert_str_eq(sig, MSK_SIG);
    /* Lower-case keys in a stable order: version first, the signature last. */
    ck_assert(strncmp(doc, "{\"version\":\"2020_10_22\",\"host\":\"" MSK_HOST "\"", 32) == 0);
    ck_assert_ptr_nonnull(strstr(doc, "\"x-amz-signature\":\"" MSK_SIG "\"}"));
    free(sig);
    free(doc);

    /* The session token is signed (it is one of the query parameters) and sent. */
    a.session_token = MSK_TOKEN;
    a.user_agent = "mimir/3.0";
    ck_assert_int_eq(kw__msk_iam_payload(&a, &doc, &len, err, sizeof(err)), 0);
    sig = check_payload(doc, len, MSK_TOKEN, "mimir/3.0");
    ck_assert_str_eq(sig, MSK_SIG_TOKEN);
    free(sig);
    free(doc);
}
END_TEST

START_TEST(msk_payload_rejects_bad_fields_by_name)
{
    kw_msk_iam_args good = {
        .access_key_id = "AKIDEXAMPLE",
        .secret_access_key = IAM_SECRET,
        .region = "us-east-1",
        .host = MSK_HOST,
        .now_s = T_EXAMPLE,
    };
    struct {
        kw_msk_iam_args a;
        const char *says;
    } cases[] = {
        {good, NULL},
        {good, "access key id"},
        {good, "secret access key"},
        {good, "region"},
        {good, "region"},
        {good, "host"},
        {good, "session token"},
        {good, "user agent"},
        {good, "AWS date"},
    };
    cases[1].a.access_key_id = "AKID WITH SPACE";
    cases[2].a.secret_access_key = "";
    cases[3].a.region = "US-EAST-1";
    cases[4].a.region = NULL;
    cases[5].a.host = "";
    cases[6].a.session_token = "tok\nen";
    cases[7].a.user_agent = "ua\x01";
    cases[8].a.now_s = INT64_MAX;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char *doc = (char *)1, err[256] = "";
        size_t len = 1;
        int rc = kw__msk_iam_payload(&cases[i].a, &doc, &len, err, sizeof(err));
        if (!cases[i].says) {
            ck_assert_int_eq(rc, 0);
            free(doc);
            continue;
        }
        ck_assert_int_eq(rc, KW_EINVAL);
        ck_assert_ptr_null(doc);
        ck_assert_uint_eq(len, 0);
        ck_assert_msg(strstr(err, cases[i].says), "case %zu: \"%s\" does not name %s", i, err,
                      cases[i].says);
    }
}
END_TEST

START_TEST(server_response_parsing)
{
    char id[16], err[256];
    const char *ok = "{\"version\":\"2020_10_22\",\"request-id\":\"abc-123\"}";
    ck_assert_int_eq(kw__sasl_aws_parse_response(ok, strlen(ok), id, sizeof(id), err, sizeof(err)),
                     0);
    ck_assert_str_eq(id, "abc-123");
    /* A long id is cut to the buffer, still a success. */
    const char *longid = "{\"version\":\"2020_10_22\",\"request-id\":\"0123456789abcdefXYZ\"}";
    ck_assert_int_eq(
        kw__sasl_aws_parse_response(longid, strlen(longid), id, sizeof(id), err, sizeof(err)), 0);
    ck_assert_str_eq(id, "0123456789abcde");
    struct {
        const char *in;
        const char *says;
    } bad[] = {
        {"", "no response document"},
        {"not json", "not JSON"},
        {"[1,2]", "not a JSON object"},
        {"{\"request-id\":\"x\"}", "\"version\""},
        {"{\"version\":\"2099_01_01\",\"request-id\":\"x\"}", "2099_01_01"},
        {"{\"version\":\"2020_10_22\"}", "\"request-id\""},
        {"{\"version\":\"2020_10_22\",\"request-id\":7}", "\"request-id\""},
        {"{\"version\":\"2020_10_22\",\"version\":\"2020_10_22\",\"request-id\":\"x\"}",
         "not JSON"},
        {"{\"version\":\"2020_10_22\",\"request-id\":\"x\"} trailing", "not JSON"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        err[0] = '\0';
        ck_assert_int_eq(kw__sasl_aws_parse_response(bad[i].in, strlen(bad[i].in), id, sizeof(id),
                                                     err, sizeof(err)),
                         KW_ESASL);
        ck_assert_msg(strstr(err, bad[i].says), "case %zu: \"%s\" lacks \"%s\"", i, err,
                      bad[i].says);
    }
    /* A NUL inside the bytes is not JSON either (no reading past len either). */
    const char nul[] = "{\"version\":\"2020_10_22\",\"request-id\":\"a\0b\"}";
    ck_assert_int_eq(
        kw__sasl_aws_parse_response(nul, sizeof(nul) - 1, id, sizeof(id), err, sizeof(err)),
        KW_ESASL);
}
END_TEST

static int64_t fixed_clock(void *ctx)
{
    return *(int64_t *)ctx;
}

static kw_sasl_config msk_config(int64_t *now)
{
    return (kw_sasl_config){
        .mechanism = "aws_msk_iam",
        .server_host = MSK_HOST,
        .aws_access_key_id = "AKIDEXAMPLE",
        .aws_secret_access_key = IAM_SECRET,
        .aws_clock = fixed_clock,
        .aws_clock_ctx = now,
    };
}

START_TEST(mechanism_one_round_trip)
{
    int64_t now = T_EXAMPLE;
    kw_sasl_config cfg = msk_config(&now);
    kw_sasl s;
    ck_assert_int_eq(kw__sasl_init(&s, &cfg), 0);
    ck_assert_str_eq(kw__sasl_mechanism(&s), "AWS_MSK_IAM");
    const uint8_t *out;
    size_t len;
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), 0);
    char ua[64];
    snprintf(ua, sizeof(ua), "kwal/%s", kw_version());
    char *sig = check_payload((const char *)out, len, NULL, ua);
    ck_assert_str_eq(sig, MSK_SIG); /* the region came from the MSK host name */
    free(sig);
    const char *resp = "{\"version\":\"2020_10_22\",\"request-id\":\"r-1\"}";
    ck_assert_int_eq(kw__sasl_step(&s, resp, strlen(resp), &out, &len), KW_SASL_DONE);
    ck_assert_ptr_null(out);

    /* Re-authentication signs anew, with the time of that moment. */
    now += 3600;
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), 0);
    ck_assert_ptr_nonnull(memmem(out, len, "\"x-amz-date\":\"20150830T133600Z\"", 31));
    /* An answer that is not the document fails the exchange, saying which key. */
    ck_assert_int_eq(kw__sasl_step(&s, "{}", 2, &out, &len), KW_ESASL);
    ck_assert_ptr_nonnull(strstr(kw__sasl_errstr(&s), "AKIDEXAMPLE"));
    ck_assert_ptr_nonnull(strstr(kw__sasl_errstr(&s), "\"version\""));
    kw__sasl_free(&s);
}
END_TEST

START_TEST(mechanism_broker_refusal_names_the_key)
{
    int64_t now = T_EXAMPLE;
    kw_sasl_config cfg = msk_config(&now);
    kw_sasl s;
    ck_assert_int_eq(kw__sasl_init(&s, &cfg), 0);
    const uint8_t *out;
    size_t len;
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), 0);
    const char *msg = "signature mismatch";
    ck_assert_int_eq(kw__sasl_server_error(&s, msg, strlen(msg)), KW_ESASL);
    ck_assert_str_eq(kw__sasl_errstr(&s), "SASL authentication failed for user AKIDEXAMPLE "
                                          "(AWS_MSK_IAM): signature mismatch");
    kw__sasl_free(&s);
}
END_TEST

START_TEST(mechanism_region_sources)
{
    int64_t now = T_EXAMPLE;
    kw_sasl_config cfg = msk_config(&now);
    cfg.server_host = "127.0.0.1";
    kw_sasl s;
    const uint8_t *out;
    size_t len;
    /* An IP address says no region and none is configured: a clear error, at start. */
    ck_assert_int_eq(kw__sasl_init(&s, &cfg), 0);
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), KW_ESASL);
    ck_assert_ptr_nonnull(strstr(kw__sasl_errstr(&s), "no AWS region"));
    ck_assert_ptr_nonnull(strstr(kw__sasl_errstr(&s), "AWS_REGION"));
    kw__sasl_free(&s);

    /* The environment's region (read by kw_client_new) comes after the host name... */
    cfg.aws_env_region = "eu-central-1";
    ck_assert_int_eq(kw__sasl_init(&s, &cfg), 0);
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), 0);
    ck_assert_ptr_nonnull(memmem(out, len, "/eu-central-1/kafka-cluster/", 28));
    kw__sasl_free(&s);
    cfg.server_host = MSK_HOST;
    ck_assert_int_eq(kw__sasl_init(&s, &cfg), 0);
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), 0);
    ck_assert_ptr_nonnull(memmem(out, len, "/us-east-1/kafka-cluster/", 25));
    kw__sasl_free(&s);
    /* ... and the option before both. */
    cfg.aws_region = "ap-south-2";
    ck_assert_int_eq(kw__sasl_init(&s, &cfg), 0);
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), 0);
    ck_assert_ptr_nonnull(memmem(out, len, "/ap-south-2/kafka-cluster/", 26));
    kw__sasl_free(&s);
}
END_TEST

static int test_credentials(void *arg, kw_sasl_aws_credentials *out, char *err, size_t errlen);

START_TEST(mechanism_config_errors)
{
    int64_t now = T_EXAMPLE;
    kw_sasl s;
    kw_sasl_config cfg = msk_config(&now);
    cfg.aws_access_key_id = NULL;
    ck_assert_int_eq(kw__sasl_init(&s, &cfg), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(kw__sasl_errstr(&s), "access key id is missing"));
    kw__sasl_free(&s);

    cfg = msk_config(&now);
    cfg.aws_secret_access_key = "";
    ck_assert_int_eq(kw__sasl_init(&s, &cfg), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(kw__sasl_errstr(&s), "secret access key for AKIDEXAMPLE"));
    kw__sasl_free(&s);

    cfg = msk_config(&now);
    cfg.aws_region = "Mars";
    ck_assert_int_eq(kw__sasl_init(&s, &cfg), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(kw__sasl_errstr(&s), "\"Mars\" is not a region"));
    kw__sasl_free(&s);

    cfg = msk_config(&now);
    cfg.aws_credentials_cb = test_credentials;
    ck_assert_int_eq(kw__sasl_init(&s, &cfg), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(kw__sasl_errstr(&s), "not both"));
    kw__sasl_free(&s);
}
END_TEST

typedef struct credentials_ctx {
    int calls;
    int fail;
} credentials_ctx;

static int test_credentials(void *arg, kw_sasl_aws_credentials *out, char *err, size_t errlen)
{
    credentials_ctx *c = arg;
    c->calls++;
    if (c->fail) {
        snprintf(err, errlen, "credentials file /x: no \"SecretKey\"");
        out->access_key_id = strdup("HALF"); /* a half-filled answer must not leak */
        return KW_EINVAL;
    }
    char ak[32];
    snprintf(ak, sizeof(ak), "AKIDROTATED%d", c->calls);
    out->access_key_id = strdup(ak);
    out->secret_access_key = strdup(IAM_SECRET);
    out->session_token = strdup(MSK_TOKEN);
    out->user_agent = strdup("from-source/1");
    return 0;
}

START_TEST(mechanism_asks_the_credential_source_each_time)
{
    int64_t now = T_EXAMPLE;
    credentials_ctx cc = {0};
    kw_sasl_config cfg = {
        .mechanism = "AWS_MSK_IAM",
        .server_host = MSK_HOST,
        .aws_credentials_cb = test_credentials,
        .aws_credentials_ctx = &cc,
        .aws_clock = fixed_clock,
        .aws_clock_ctx = &now,
    };
    kw_sasl s;
    ck_assert_int_eq(kw__sasl_init(&s, &cfg), 0);
    const uint8_t *out;
    size_t len;
    for (int i = 1; i <= 2; i++) {
        ck_assert_int_eq(kw__sasl_start(&s, &out, &len), 0);
        ck_assert_int_eq(cc.calls, i);
        char want[64];
        snprintf(want, sizeof(want), "\"AKIDROTATED%d/20150830/", i);
        ck_assert_ptr_nonnull(memmem(out, len, want, strlen(want)));
        ck_assert_ptr_nonnull(memmem(out, len, "\"user-agent\":\"from-source/1\"", 28));
        const char *tok = "\"x-amz-security-token\":\"" MSK_TOKEN "\"";
        ck_assert_ptr_nonnull(memmem(out, len, tok, strlen(tok)));
    }
    cc.fail = 1;
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(kw__sasl_errstr(&s), "credential source failed"));
    ck_assert_ptr_nonnull(strstr(kw__sasl_errstr(&s), "no \"SecretKey\""));
    kw__sasl_free(&s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sigv4");
    TCase *tc = tcase_create("sigv4");
    tcase_add_test(tc, signing_key_matches_aws_example);
    tcase_add_test(tc, signature_matches_aws_example);
    tcase_add_test(tc, presigned_url_matches_s3_example);
    tcase_add_test(tc, amz_date_is_utc_basic_format);
    tcase_add_test(tc, region_from_msk_host_names);
    tcase_add_test(tc, msk_payload_fields_and_signature);
    tcase_add_test(tc, msk_payload_rejects_bad_fields_by_name);
    suite_add_tcase(s, tc);
    TCase *m = tcase_create("mechanism");
    tcase_add_test(m, server_response_parsing);
    tcase_add_test(m, mechanism_one_round_trip);
    tcase_add_test(m, mechanism_broker_refusal_names_the_key);
    tcase_add_test(m, mechanism_region_sources);
    tcase_add_test(m, mechanism_config_errors);
    tcase_add_test(m, mechanism_asks_the_credential_source_each_time);
    suite_add_tcase(s, m);
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
