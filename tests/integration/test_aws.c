/* AWS_MSK_IAM against the test broker's AWSIAM listener (tests/kafka/AwsMskIam.java): good keys, and each refusal. */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kwal/client.h"
#include "net/conn.h"
#include "net/loop.h"
#include "proto/batch.h"
#include "proto/msg_data.h"

/* `tests/kafka/broker env` exports these with the single node's AWSIAM listener. */
static const char *bs, *region, *key_id, *secret, *s_key_id, *s_secret, *s_token;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#define ASSERT_OK(rc, detail) \
    ck_assert_msg((rc) == 0, "%s: %s", kw_err_name(rc), (detail))

static kw_client_options aws_options(const char *bootstrap, const char *ak, const char *sk)
{
    return (kw_client_options){
        .bootstrap = bootstrap,
        .security = KW_CLIENT_SASL_PLAINTEXT,
        .sasl_mechanism = "AWS_MSK_IAM",
        .aws_access_key_id = ak,
        .aws_secret_access_key = sk,
        .aws_region = region,
        .connect_timeout_ms = 5000,
        .request_timeout_ms = 20000,
    };
}

static kw_client *open_client(const kw_client_options *o)
{
    kw_client *c = NULL;
    char err[512];
    int rc = kw_client_new(&c, o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_client_new: %s: %s", kw_err_name(rc), err);
    return c;
}

/* A batch of n records "<prefix>-<i>", malloc'd. */
static uint8_t *make_batch(const char *prefix, int n, size_t *len)
{
    kw_wr w;
    kw__wr_init(&w);
    kw_batch_builder bb;
    ck_assert_int_eq(kw__batch_begin(&bb, &w, NULL), 0);
    for (int i = 0; i < n; i++) {
        char v[128];
        int vl = snprintf(v, sizeof(v), "%s-%d", prefix, i);
        ck_assert_int_eq(kw__batch_add(&bb, 1700000000000 + i, KW_BYTES_NULL,
                                       (kw_bytes){(const uint8_t *)v, vl}, NULL, 0),
                         0);
    }
    ck_assert_int_eq(kw__batch_finish(&bb), 0);
    *len = w.len;
    return w.buf;
}

/* Creates a topic, produces n records, fetches them back, deletes it: all over AWS_MSK_IAM. */
static void round_trip(kw_client *c, const char *what, int n)
{
    static atomic_int seq;
    char t[128];
    snprintf(t, sizeof(t), "kwal-it-aws-%s-%d-%d", what, getpid(), atomic_fetch_add(&seq, 1));
    kw_client_new_topic nt = {.name = t, .partitions = 1, .replication_factor = 1};
    kw_client_create_topics_args ca = {.topics = &nt, .topic_count = 1};
    kw_client_topics_result tr;
    int rc = kw_client_create_topics(c, &ca, &tr);
    ASSERT_OK(rc, tr.detail);
    kw_client_topics_result_free(&tr);
    size_t len;
    uint8_t *b = make_batch(what, n, &len);
    kw_client_produce_args pa = {.topic = t, .batch = b, .batch_len = len};
    kw_client_produce_result pr;
    rc = kw_client_produce(c, &pa, &pr);
    ASSERT_OK(rc, pr.detail);
    ck_assert_int_eq(pr.base_offset, 0);
    kw_client_fetch_args fa = {.topic = t};
    kw_client_fetch_result fr;
    rc = kw_client_fetch(c, &fa, &fr);
    ASSERT_OK(rc, fr.detail);
    ck_assert_int_eq(fr.high_watermark, n);
    /* The batch comes back as sent, but for baseOffset (0..7) and partitionLeaderEpoch (12..15). */
    ck_assert_uint_eq(fr.records_len, len);
    ck_assert_mem_eq(fr.records + 8, b + 8, 4);
    ck_assert_mem_eq(fr.records + 16, b + 16, len - 16);
    kw_client_fetch_result_free(&fr);
    free(b);
    const char *names[] = {t};
    kw_client_delete_topics_args da = {.names = names, .name_count = 1};
    kw_client_delete_topics(c, &da, &tr);
    kw_client_topics_result_free(&tr);
}

START_TEST(good_keys_produce_and_fetch)
{
    kw_client_options o = aws_options(bs, key_id, secret);
    kw_client *c = open_client(&o);
    round_trip(c, "static", 5);
    kw_client_destroy(c);
}
END_TEST

START_TEST(session_token_pair_produces_and_fetches)
{
    kw_client_options o = aws_options(bs, s_key_id, s_secret);
    o.aws_session_token = s_token;
    o.aws_user_agent = "kwal-integration/1";
    kw_client *c = open_client(&o);
    round_trip(c, "session", 3);
    kw_client_destroy(c);
}
END_TEST

/* Mimir's way: the keys from a JSON document re-read at each authentication (aws_file). */
START_TEST(keys_from_a_credential_file_produce_and_fetch)
{
    char path[] = "/tmp/kwal-aws-cred-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "{\"AccessKey\": \"%s\", \"SecretKey\": \"%s\", \"SessionToken\": \"%s\", "
               "\"UserAgent\": \"kwal-file/1\"}",
            s_key_id, s_secret, s_token);
    fclose(f);
    kw_client_options o = aws_options(bs, NULL, NULL);
    o.aws_file = path;
    kw_client *c = open_client(&o);
    round_trip(c, "file", 3);
    kw_client_destroy(c);
    /* A document with the wrong secret: refused with the broker's reason. */
    f = fopen(path, "w");
    fprintf(f, "{\"AccessKey\": \"%s\", \"SecretKey\": \"not-the-secret\"}", key_id);
    fclose(f);
    c = open_client(&o);
    kw_client_metadata_result r;
    int rc = kw_client_metadata(c, &(kw_client_metadata_args){.timeout_ms = 5000}, &r);
    ck_assert_int_eq(rc, KW_ESASL);
    kw_client_metadata_result_free(&r);
    kw_client_destroy(c);
    /* Static keys and a file at once: a configuration error naming both. */
    o = aws_options(bs, key_id, secret);
    o.aws_file = path;
    kw_client *bad = NULL;
    char err[512];
    ck_assert_int_eq(kw_client_new(&bad, &o, err, sizeof(err)), KW_ECONFIG);
    ck_assert_msg(strstr(err, "aws_access_key_id") && strstr(err, "aws_file"), "%s", err);
    unlink(path);
}
END_TEST

START_TEST(region_from_the_environment)
{
    /* Read once by kw_client_new: changing it afterwards changes nothing. */
    ck_assert_int_eq(setenv("AWS_REGION", region, 1), 0);
    kw_client_options o = aws_options(bs, key_id, secret);
    o.aws_region = NULL;
    kw_client *c = open_client(&o);
    ck_assert_int_eq(setenv("AWS_REGION", "eu-west-1", 1), 0);
    round_trip(c, "envregion", 2);
    kw_client_destroy(c);
    unsetenv("AWS_REGION");
}
END_TEST

/* A refusal: KW_ESASL at once (not at the deadline), the detail naming the key and the reason. */
static void expect_refused(const kw_client_options *o, const char *reason)
{
    kw_client *c = open_client(o);
    kw_client_metadata_result mr;
    uint64_t t0 = now_ms();
    int rc = kw_client_metadata(c, NULL, &mr);
    uint64_t took = now_ms() - t0;
    ck_assert_msg(rc == KW_ESASL, "got %s: %s", kw_err_name(rc), mr.detail);
    ck_assert_msg(took < 5000, "the refusal took %llu ms", (unsigned long long)took);
    ck_assert_msg(strstr(mr.detail, "AWS_MSK_IAM"), "detail: %s", mr.detail);
    ck_assert_msg(strstr(mr.detail, reason), "detail lacks \"%s\": %s", reason, mr.detail);
    kw_client_metadata_result_free(&mr);
    kw_client_destroy(c);
}

START_TEST(wrong_secret_is_refused_with_the_broker_reason)
{
    kw_client_options o = aws_options(bs, key_id, "not-the-secret");
    expect_refused(&o, "signature does not match");
    expect_refused(&o, key_id);
}
END_TEST

START_TEST(wrong_region_is_refused)
{
    kw_client_options o = aws_options(bs, key_id, secret);
    o.aws_region = "eu-west-1";
    expect_refused(&o, "region eu-west-1");
}
END_TEST

START_TEST(session_key_without_its_token_is_refused)
{
    kw_client_options o = aws_options(bs, s_key_id, s_secret);
    expect_refused(&o, "needs its session token");
}
END_TEST

START_TEST(wrong_host_is_refused)
{
    /* Same broker, reached as "localhost": the payload is signed for a host the broker is not. */
    char other[128];
    const char *colon = strrchr(bs, ':');
    snprintf(other, sizeof(other), "localhost%s", colon);
    kw_client_options o = aws_options(other, key_id, secret);
    expect_refused(&o, "for host localhost");
}
END_TEST

START_TEST(no_region_anywhere_fails_at_once_naming_the_options)
{
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    kw_client_options o = aws_options(bs, key_id, secret);
    o.aws_region = NULL;
    expect_refused(&o, "sasl.aws.region");
}
END_TEST

/* ---- the clock and the action through the connection (test hooks of kw_sasl_config) ---- */

typedef struct watch {
    int ready, closed, err;
    char detail[1024];
} watch;

static void on_state(kw_conn *c, int state, int err, const char *detail, void *arg)
{
    watch *w = arg;
    (void)c;
    if (state == KW_CONN_READY) {
        w->ready++;
    } else {
        w->closed++;
        w->err = err;
        snprintf(w->detail, sizeof(w->detail), "%s", detail ? detail : "");
    }
}

static int64_t skewed_clock(void *ctx)
{
    return (int64_t)time(NULL) + *(int64_t *)ctx;
}

/* Connects with the good keys, the clock skewed by skew_s, the given action; says how it ended. */
static watch connect_with(int64_t skew_s, const char *action)
{
    kw_loop *loop;
    ck_assert_int_eq(kw__loop_new(&loop), 0);
    char host[128];
    snprintf(host, sizeof(host), "%s", bs);
    char *colon = strrchr(host, ':');
    *colon = '\0';
    kw_sasl_config s = {
        .mechanism = "AWS_MSK_IAM",
        .aws_access_key_id = key_id,
        .aws_secret_access_key = secret,
        .aws_region = region,
        .aws_clock = skewed_clock,
        .aws_clock_ctx = &skew_s,
        .aws_action = action,
    };
    watch w = {0};
    kw_conn_options o = {.host = host, .port = (uint16_t)atoi(colon + 1), .sasl = &s,
                         .connect_timeout_ms = 5000, .on_state = on_state, .state_arg = &w};
    kw_conn *c;
    ck_assert_int_eq(kw__conn_new(&c, loop, &o), 0);
    uint64_t end = now_ms() + 15000;
    while (!w.ready && !w.closed && now_ms() < end)
        ck_assert_int_ge(kw__loop_run_once(loop, 20), 0);
    kw__conn_free(c);
    kw__loop_free(loop);
    return w;
}

START_TEST(the_connection_hooks_sign_what_the_broker_accepts)
{
    watch w = connect_with(0, NULL);
    ck_assert_msg(w.ready == 1, "not ready: %s", w.detail);
    /* a clock a minute off either way is within the 5 minutes the signature lives (and the
     * broker's skew allowance) */
    w = connect_with(-60, NULL);
    ck_assert_msg(w.ready == 1, "not ready: %s", w.detail);
    w = connect_with(60, NULL);
    ck_assert_msg(w.ready == 1, "not ready: %s", w.detail);
}
END_TEST

START_TEST(expired_signature_is_refused)
{
    watch w = connect_with(-600, NULL);
    ck_assert_int_eq(w.ready, 0);
    ck_assert_int_eq(w.err, KW_ESASL);
    ck_assert_msg(strstr(w.detail, "expired"), "detail: %s", w.detail);
    ck_assert_msg(strstr(w.detail, key_id), "detail: %s", w.detail);
}
END_TEST

START_TEST(future_date_is_refused)
{
    watch w = connect_with(3600, NULL);
    ck_assert_int_eq(w.err, KW_ESASL);
    ck_assert_msg(strstr(w.detail, "in the future"), "detail: %s", w.detail);
}
END_TEST

START_TEST(wrong_action_is_refused)
{
    watch w = connect_with(0, "kafka-cluster:AlterCluster");
    ck_assert_int_eq(w.err, KW_ESASL);
    ck_assert_msg(strstr(w.detail, "action kafka-cluster:AlterCluster"), "detail: %s", w.detail);
}
END_TEST

/* The clock counts its calls: one per signed payload. */
static int64_t counting_clock(void *ctx)
{
    (*(int *)ctx)++;
    return (int64_t)time(NULL);
}

static void on_metadata(int err, const uint8_t *frame, size_t len, int version, void *arg)
{
    (void)frame;
    (void)len;
    (void)version;
    *(int *)arg = err ? err : 1;
}

/* A credential source (what the file and HTTP sources plug into), counting its calls.  The pair
 * stays the same: Kafka refuses a re-authentication as another principal. */
static int session_pair(void *ctx, kw_sasl_aws_credentials *out, char *err, size_t errlen)
{
    (*(int *)ctx)++;
    (void)err;
    (void)errlen;
    out->access_key_id = strdup(s_key_id);
    out->secret_access_key = strdup(s_secret);
    out->session_token = strdup(s_token);
    out->user_agent = strdup("kwal-it-source");
    return 0;
}

START_TEST(reauthentication_signs_a_fresh_payload_each_time)
{
    /* KIP-368 with the session capped by the client (1.5 s): every re-authentication asks the
     * credential source again and signs anew, and requests keep flowing across them. */
    kw_loop *loop;
    ck_assert_int_eq(kw__loop_new(&loop), 0);
    char host[128];
    snprintf(host, sizeof(host), "%s", bs);
    char *colon = strrchr(host, ':');
    *colon = '\0';
    int signed_count = 0, asked = 0;
    kw_sasl_config s = {
        .mechanism = "AWS_MSK_IAM",
        .aws_credentials_cb = session_pair,
        .aws_credentials_ctx = &asked,
        .aws_region = region,
        .aws_clock = counting_clock,
        .aws_clock_ctx = &signed_count,
    };
    watch w = {0};
    kw_conn_options o = {.host = host, .port = (uint16_t)atoi(colon + 1), .sasl = &s,
                         .connect_timeout_ms = 5000, .on_state = on_state, .state_arg = &w,
                         .sasl_session_cap_ms = 1500};
    kw_conn *c;
    ck_assert_int_eq(kw__conn_new(&c, loop, &o), 0);
    uint64_t end = now_ms() + 15000;
    int sent = 0;
    while (now_ms() < end && (kw__conn_reauth_count(c) < 2 || sent < 3)) {
        if (!w.ready) {
            ck_assert_msg(!w.closed, "closed: %s", w.detail);
            ck_assert_int_ge(kw__loop_run_once(loop, 20), 0);
            continue;
        }
        kw_metadata_req req;
        int ver = kw__conn_versions(c)->v[KW_API_METADATA];
        kw__schema_init(kw__api(KW_API_METADATA)->req, ver, &req);
        req.topics.v = NULL;
        req.topics.n = 0;
        int done = 0;
        ck_assert_int_eq(kw__conn_send(c, KW_API_METADATA, -1, &req,
                                       (now_ms() + 5000) * 1000000u, on_metadata, &done),
                         0);
        while (!done && now_ms() < end)
            ck_assert_int_ge(kw__loop_run_once(loop, 20), 0);
        ck_assert_msg(done == 1, "request %d: %s (%s)", sent, kw_err_name(done),
                      kw__conn_errstr(c));
        sent++;
        usleep(100000);
    }
    ck_assert_msg(kw__conn_reauth_count(c) >= 2, "re-authenticated %u times",
                  kw__conn_reauth_count(c));
    ck_assert_int_ge(signed_count, 3); /* the first authentication and each re-authentication */
    ck_assert_int_eq(asked, signed_count);
    ck_assert_int_eq(w.closed, 0);
    kw__conn_free(c);
    kw__loop_free(loop);
}
END_TEST

int main(void)
{
    bs = getenv("KWAL_BOOTSTRAP_AWS");
    region = getenv("KWAL_AWS_REGION");
    key_id = getenv("KWAL_AWS_ACCESS_KEY_ID");
    secret = getenv("KWAL_AWS_SECRET_ACCESS_KEY");
    s_key_id = getenv("KWAL_AWS_SESSION_ACCESS_KEY_ID");
    s_secret = getenv("KWAL_AWS_SESSION_SECRET_ACCESS_KEY");
    s_token = getenv("KWAL_AWS_SESSION_TOKEN");
    if (!bs || !*bs || !region || !key_id || !secret || !s_key_id || !s_secret || !s_token) {
        fprintf(stderr, "aws: skipped: KWAL_BOOTSTRAP_AWS and KWAL_AWS_* are not set (eval "
                        "\"$(tests/kafka/broker env)\" with a broker that has the AWSIAM "
                        "listener)\n");
        return 77;
    }
    Suite *s = suite_create("aws-broker");
    TCase *tc = tcase_create("aws");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, good_keys_produce_and_fetch);
    tcase_add_test(tc, session_token_pair_produces_and_fetches);
    tcase_add_test(tc, keys_from_a_credential_file_produce_and_fetch);
    tcase_add_test(tc, region_from_the_environment);
    tcase_add_test(tc, wrong_secret_is_refused_with_the_broker_reason);
    tcase_add_test(tc, wrong_region_is_refused);
    tcase_add_test(tc, session_key_without_its_token_is_refused);
    tcase_add_test(tc, wrong_host_is_refused);
    tcase_add_test(tc, no_region_anywhere_fails_at_once_naming_the_options);
    tcase_add_test(tc, the_connection_hooks_sign_what_the_broker_accepts);
    tcase_add_test(tc, expired_signature_is_refused);
    tcase_add_test(tc, future_date_is_refused);
    tcase_add_test(tc, wrong_action_is_refused);
    tcase_add_test(tc, reauthentication_signs_a_fresh_payload_each_time);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
