/* Credential documents (file, Unix-socket HTTP) and TLS version / cipher options against the real broker. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../cred_http_server.h"
#include "kwal/client.h"
#include "net/conn.h"
#include "net/cred.h"
#include "proto/msg_data.h"

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *need_env(const char *name)
{
    const char *v = getenv(name);
    ck_assert_msg(v && *v, "%s is not set (eval \"$(tests/kafka/broker env)\")", name);
    return v;
}

/* An unsecured JWS (alg "none"), what the test broker's default OAUTHBEARER validator accepts. */
static void unsecured_token(char *out, size_t cap, const char *sub, long exp_from_now_s)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char claims[256];
    long now = (long)time(NULL);
    snprintf(claims, sizeof(claims), "{\"sub\":\"%s\",\"iat\":%ld,\"exp\":%ld}", sub, now - 60,
             now + exp_from_now_s);
    const char *parts[2] = {"{\"alg\":\"none\"}", claims};
    size_t o = 0;
    for (int p = 0; p < 2; p++) {
        const unsigned char *in = (const unsigned char *)parts[p];
        size_t n = strlen(parts[p]);
        for (size_t i = 0; i < n; i += 3) {
            uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                         (i + 2 < n ? in[i + 2] : 0);
            size_t chars = n - i >= 3 ? 4 : n - i + 1; /* base64url without padding */
            for (size_t k = 0; k < chars && o + 1 < cap; k++)
                out[o++] = b64[(v >> (18 - 6 * k)) & 63];
        }
        if (o + 1 < cap)
            out[o++] = '.';
    }
    out[o] = '\0';
}

/* {"token": <unsecured JWT for sub>, "zid": zid (when not NULL)} */
static void oauth_doc(char *out, size_t cap, const char *sub, long exp_s, const char *zid)
{
    char tok[512];
    unsecured_token(tok, sizeof(tok), sub, exp_s);
    if (zid)
        snprintf(out, cap, "{\"token\":\"%s\",\"zid\":\"%s\"}", tok, zid);
    else
        snprintf(out, cap, "{\"token\":\"%s\"}", tok);
}

static void write_file(const char *path, const char *text)
{
    char tmp[300];
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    FILE *fp = fopen(tmp, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    fclose(fp);
    ck_assert_int_eq(rename(tmp, path), 0);
}

static kw_client *oauth_client(const char *file, const char *sock, uint32_t http_timeout_ms)
{
    kw_client_options o = {.bootstrap = need_env("KWAL_BOOTSTRAP_SASL"),
                           .security = KW_CLIENT_SASL_PLAINTEXT,
                           .sasl_mechanism = "OAUTHBEARER",
                           .oauth_file = file,
                           .oauth_http_socket = sock,
                           .sasl_http_timeout_ms = http_timeout_ms,
                           .connect_timeout_ms = 10000,
                           .request_timeout_ms = 20000};
    kw_client *c;
    char err[256];
    int rc = kw_client_new(&c, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_client_new: %s", err);
    return c;
}

/* Metadata through c: 0, or the error with its detail in detail. */
static int metadata(kw_client *c, char *detail, size_t len)
{
    kw_client_metadata_result mr;
    int rc = kw_client_metadata(c, NULL, &mr);
    snprintf(detail, len, "%s", mr.detail);
    if (rc == 0)
        ck_assert_int_ge(mr.broker_count, 1);
    kw_client_metadata_result_free(&mr);
    return rc;
}

START_TEST(oauth_file_is_read_at_each_authentication)
{
    char dir[] = "/tmp/kwal-it-cred-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256], doc[1024], detail[KW_CLIENT_DETAIL_MAX];
    snprintf(path, sizeof(path), "%s/oauth.json", dir);
    oauth_doc(doc, sizeof(doc), "alice", 3600, "alice");
    write_file(path, doc);
    kw_client *c = oauth_client(path, NULL, 0);
    int rc = metadata(c, detail, sizeof(detail));
    ck_assert_msg(rc == 0, "%s: %s", kw_err_name(rc), detail);
    kw_client_destroy(c);

    /* rotated to an expired token: the next authentication reads it, and the broker refuses it */
    oauth_doc(doc, sizeof(doc), "alice", -3600, NULL);
    write_file(path, doc);
    c = oauth_client(path, NULL, 0);
    uint64_t t0 = now_ms();
    rc = metadata(c, detail, sizeof(detail));
    ck_assert_msg(rc == KW_ESASL, "%s: %s", kw_err_name(rc), detail);
    ck_assert_msg(strstr(detail, "invalid_token"), "%s", detail);
    ck_assert_msg(now_ms() - t0 < 5000, "took %llu ms", (unsigned long long)(now_ms() - t0));
    kw_client_destroy(c);

    /* the zid reaches the broker: one that is not the token's subject is refused */
    oauth_doc(doc, sizeof(doc), "alice", 3600, "mallory");
    write_file(path, doc);
    c = oauth_client(path, NULL, 0);
    rc = metadata(c, detail, sizeof(detail));
    ck_assert_msg(rc == KW_ESASL, "%s: %s", kw_err_name(rc), detail);
    ck_assert_msg(strstr(detail, "mallory") || strstr(detail, "authorization"), "%s", detail);
    fprintf(stderr, "cred: zid mismatch: %s\n", detail);
    kw_client_destroy(c);

    /* a bad document and a missing file: KW_ESASL naming the field / the path, quickly */
    write_file(path, "{\"token\":\"has space\"}");
    c = oauth_client(path, NULL, 0);
    rc = metadata(c, detail, sizeof(detail));
    ck_assert_msg(rc == KW_ESASL && strstr(detail, path) && strstr(detail, "field \"token\""),
                  "%s: %s", kw_err_name(rc), detail);
    kw_client_destroy(c);
    unlink(path);
    c = oauth_client(path, NULL, 0);
    rc = metadata(c, detail, sizeof(detail));
    ck_assert_msg(rc == KW_ESASL && strstr(detail, path) && strstr(detail, "cannot open"),
                  "%s: %s", kw_err_name(rc), detail);
    kw_client_destroy(c);
    rmdir(dir);
}
END_TEST

START_TEST(oauth_http_socket_answers_and_failures)
{
    char doc[1024], detail[KW_CLIENT_DETAIL_MAX];
    oauth_doc(doc, sizeof(doc), "alice", 3600, NULL);
    cred_server srv;
    ck_assert_int_eq(cred_server_start(&srv, 200, doc), 0);
    kw_client *c = oauth_client(NULL, srv.path, 0);
    int rc = metadata(c, detail, sizeof(detail));
    ck_assert_msg(rc == 0, "%s: %s", kw_err_name(rc), detail);
    ck_assert_int_eq(atomic_load(&srv.requests), 1);
    kw_client_destroy(c);

    struct {
        int status, delay_ms;
        const char *body;
        const char *want;
    } cases[] = {
        {500, 0, "token service down", "status 500"},
        {200, 0, "<html>", "not JSON"},
        {200, 0, "{\"zid\":\"alice\"}", "field \"token\" is missing"},
        /* last: the server answers one request at a time, and this one keeps it busy */
        {200, 3000, doc, "no answer within 500 ms"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cred_server_set(&srv, cases[i].status, cases[i].delay_ms, cases[i].body);
        c = oauth_client(NULL, srv.path, 500);
        uint64_t t0 = now_ms();
        rc = metadata(c, detail, sizeof(detail));
        uint64_t took = now_ms() - t0;
        ck_assert_msg(rc == KW_ESASL, "case %zu: %s: %s", i, kw_err_name(rc), detail);
        ck_assert_msg(strstr(detail, cases[i].want) && strstr(detail, srv.path), "case %zu: %s",
                      i, detail);
        ck_assert_msg(took < 4000, "case %zu took %llu ms", i, (unsigned long long)took);
        fprintf(stderr, "cred: %s\n", detail);
        kw_client_destroy(c);
    }
    cred_server_stop(&srv);
}
END_TEST

typedef struct md_wait {
    atomic_int done;
    int err;
} md_wait;

static void on_md(const kw_client_metadata_result *r, void *arg)
{
    md_wait *m = arg;
    m->err = r->err;
    atomic_store(&m->done, 1);
}

/* The client goes while a connection's credential request is still waiting for the server. */
START_TEST(client_destroyed_while_the_socket_call_waits)
{
    char doc[1024];
    oauth_doc(doc, sizeof(doc), "alice", 3600, NULL);
    cred_server srv;
    ck_assert_int_eq(cred_server_start(&srv, 200, doc), 0);
    cred_server_set(&srv, 200, 8000, doc);
    kw_client *c = oauth_client(NULL, srv.path, 0);
    md_wait m = {0};
    ck_assert_int_eq(kw_client_metadata_async(c, NULL, on_md, &m), 0);
    uint64_t end = now_ms() + 10000;
    while (atomic_load(&srv.requests) == 0 && now_ms() < end)
        usleep(10000);
    ck_assert_int_eq(atomic_load(&srv.requests), 1);
    usleep(100000);
    ck_assert_int_eq(atomic_load(&m.done), 0);
    uint64_t t0 = now_ms();
    kw_client_destroy(c);
    uint64_t took = now_ms() - t0;
    ck_assert_int_eq(atomic_load(&m.done), 1);
    ck_assert_int_eq(m.err, KW_ECLOSED);
    ck_assert_msg(took < 1500, "destroy took %llu ms", (unsigned long long)took);
    cred_server_stop(&srv);
}
END_TEST

/* ---------------------------------------------------------------- TLS options */

static int tls_metadata(const char *min, const char *suites, char *detail, size_t len)
{
    char ca[512];
    snprintf(ca, sizeof(ca), "%s/ca.pem", need_env("KWAL_TLS_DIR"));
    kw_client_options o = {.bootstrap = need_env("KWAL_BOOTSTRAP_SSL"),
                           .security = KW_CLIENT_SSL,
                           .tls_ca_file = ca,
                           .tls_min_version = min,
                           .tls_cipher_suites = suites,
                           .connect_timeout_ms = 5000,
                           .request_timeout_ms = 15000};
    kw_client *c;
    int rc = kw_client_new(&c, &o, detail, len);
    if (rc)
        return rc;
    rc = metadata(c, detail, len);
    kw_client_destroy(c);
    return rc;
}

START_TEST(tls_minimum_version_and_cipher_suites)
{
    char detail[KW_CLIENT_DETAIL_MAX];
    int rc = tls_metadata("TLSv1.3", NULL, detail, sizeof(detail));
    ck_assert_msg(rc == 0, "TLSv1.3 minimum: %s: %s", kw_err_name(rc), detail);
    rc = tls_metadata("TLSv1.3", "TLS_AES_256_GCM_SHA384", detail, sizeof(detail));
    ck_assert_msg(rc == 0, "one TLS 1.3 suite: %s: %s", kw_err_name(rc), detail);
    /* TLS 1.2 only (no TLS 1.3 name), by IANA name */
    rc = tls_metadata(NULL, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", detail, sizeof(detail));
    ck_assert_msg(rc == 0, "TLS 1.2 suite: %s: %s", kw_err_name(rc), detail);
    /* Java's TLS has no CCM_8: the broker accepts none of the offered suites */
    uint64_t t0 = now_ms();
    rc = tls_metadata(NULL, "TLS_AES_128_CCM_8_SHA256", detail, sizeof(detail));
    ck_assert_msg(rc == KW_ETLS, "%s: %s", kw_err_name(rc), detail);
    ck_assert_msg(strstr(detail, "handshake") && strstr(detail, "accepts none") &&
                      strstr(detail, "ssl.cipher.suites=TLS_AES_128_CCM_8_SHA256"),
                  "%s", detail);
    ck_assert_msg(now_ms() - t0 < 5000, "took %llu ms", (unsigned long long)(now_ms() - t0));
    fprintf(stderr, "cred: refused suites: %s\n", detail);
    /* bad values: KW_ECONFIG at kw_client_new, naming the value */
    ck_assert_int_eq(tls_metadata("SSLv3", NULL, detail, sizeof(detail)), KW_ECONFIG);
    ck_assert_msg(strstr(detail, "SSLv3"), "%s", detail);
    ck_assert_int_eq(tls_metadata(NULL, "RC4-MD5x", detail, sizeof(detail)), KW_ECONFIG);
    ck_assert_msg(strstr(detail, "RC4-MD5x"), "%s", detail);
}
END_TEST

/* ---------------------------------------------------------------- KIP-368 re-authentication */

static kw_loop *loop;

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

typedef struct md_result {
    int done, err;
} md_result;

static void on_metadata(int err, const uint8_t *frame, size_t len, int version, void *arg)
{
    md_result *r = arg;
    (void)frame;
    (void)len;
    (void)version;
    r->err = err;
    r->done = 1;
}

static bool run_until(const int *flag, uint64_t ms)
{
    uint64_t end = now_ms() + ms;
    while (!*flag && now_ms() < end)
        ck_assert_int_ge(kw__loop_run_once(loop, 20), 0);
    return *flag != 0;
}

/* Metadata requests, each answered, until the connection re-authenticated `n` times in all. */
static void metadata_until_reauths(kw_conn *c, unsigned n, watch *w)
{
    uint64_t end = now_ms() + 20000;
    while (kw__conn_reauth_count(c) < n && now_ms() < end && !w->closed) {
        md_result r = {0};
        kw_metadata_req req;
        kw__schema_init(kw__api(KW_API_METADATA)->req, 12, &req);
        req.topics.n = 0;
        ck_assert_int_eq(kw__conn_send(c, KW_API_METADATA, -1, &req,
                                       (now_ms() + 5000) * 1000000u, on_metadata, &r),
                         0);
        ck_assert(run_until(&r.done, 6000));
        ck_assert_msg(r.err == 0, "%s (%s)", kw_err_name(r.err), kw__conn_errstr(c));
        kw__loop_run_once(loop, 100);
    }
    ck_assert_msg(kw__conn_reauth_count(c) >= n, "re-authenticated %u times: %s",
                  kw__conn_reauth_count(c), w->detail);
}

/*
 * Re-authentication two ways: in the reauth case the broker's
 * connections.max.reauth.ms (--reauth-ms) sets the session lifetime; in the
 * cred case, against the shared broker that has none, the client's test hook
 * caps every session at 1.5 s and re-authenticates on its own (the broker
 * takes a KIP-368 exchange either way).
 */
static kw_conn *reauth_conn(kw_cred_source *src, watch *w)
{
    const char *cases = getenv("CK_RUN_CASE");
    bool broker_driven = cases && strcmp(cases, "reauth") == 0;
    const char *bs = getenv(broker_driven ? "KWAL_REAUTH_BOOTSTRAP" : "KWAL_BOOTSTRAP_SASL");
    ck_assert_msg(bs && *bs, "needs $KWAL_REAUTH_BOOTSTRAP (reauth case) or $KWAL_BOOTSTRAP_SASL");
    char host[256];
    snprintf(host, sizeof(host), "%s", bs);
    char *colon = strrchr(host, ':');
    ck_assert_ptr_nonnull(colon);
    *colon = '\0';
    kw_sasl_config s = {.mechanism = "OAUTHBEARER", .cred = src};
    kw_conn_options o = {.host = host,
                         .port = (uint16_t)atoi(colon + 1),
                         .sasl = &s,
                         .sasl_session_cap_ms = broker_driven ? 0 : 1500,
                         .connect_timeout_ms = 10000,
                         .on_state = on_state,
                         .state_arg = w};
    kw_conn *c;
    ck_assert_int_eq(kw__conn_new(&c, loop, &o), 0);
    ck_assert(run_until(&w->ready, 15000) || w->closed);
    ck_assert_msg(w->ready == 1, "not ready: %s", w->detail);
    return c;
}

/*
 * The file rotated between re-authentications: the session goes on with the
 * new token, and once the file holds an expired one the broker refuses the
 * re-authentication, which shows it saw the new token each time.
 */
START_TEST(kip368_oauth_file_rotated_between_reauthentications)
{
    char dir[] = "/tmp/kwal-it-cred-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256], doc[1024];
    snprintf(path, sizeof(path), "%s/oauth.json", dir);
    oauth_doc(doc, sizeof(doc), "alice", 3600, NULL);
    write_file(path, doc);
    kw_cred_source *src;
    char err[256];
    kw_cred_source_options so = {.kind = KW_CRED_OAUTH, .file = path};
    ck_assert_int_eq(kw__cred_source_new(&src, loop, &so, err, sizeof(err)), 0);
    watch w = {0};
    kw_conn *c = reauth_conn(src, &w);
    for (unsigned i = 1; i <= 2; i++) {
        oauth_doc(doc, sizeof(doc), "alice", 3600 + (long)i, NULL); /* a different token */
        write_file(path, doc);
        metadata_until_reauths(c, i, &w);
    }
    ck_assert_int_eq(w.closed, 0);
    oauth_doc(doc, sizeof(doc), "alice", -3600, NULL);
    write_file(path, doc);
    ck_assert(run_until(&w.closed, 20000));
    ck_assert_int_eq(w.err, KW_ESASL);
    ck_assert_msg(strstr(w.detail, "invalid_token"), "%s", w.detail);
    fprintf(stderr, "cred: re-authentication with the expired token: %s\n", w.detail);
    kw__conn_free(c);
    kw__cred_source_close(src);
    kw__cred_source_free(src);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* The HTTP source is asked once per (re-)authentication. */
START_TEST(kip368_oauth_http_socket_asked_at_each_reauthentication)
{
    char doc[1024];
    oauth_doc(doc, sizeof(doc), "alice", 3600, NULL);
    cred_server srv;
    ck_assert_int_eq(cred_server_start(&srv, 200, doc), 0);
    kw_cred_source *src;
    char err[256];
    kw_cred_source_options so = {.kind = KW_CRED_OAUTH, .http_socket = srv.path};
    ck_assert_int_eq(kw__cred_source_new(&src, loop, &so, err, sizeof(err)), 0);
    watch w = {0};
    kw_conn *c = reauth_conn(src, &w);
    metadata_until_reauths(c, 2, &w);
    ck_assert_int_eq(w.closed, 0);
    /* one per exchange: the first, each re-authentication, and maybe one just starting */
    int asked = atomic_load(&srv.requests), exchanges = 1 + (int)kw__conn_reauth_count(c);
    ck_assert_msg(asked == exchanges || asked == exchanges + 1, "asked %d times for %d exchanges",
                  asked, exchanges);
    kw__conn_free(c);
    kw__cred_source_close(src);
    kw__cred_source_free(src);
    cred_server_stop(&srv);
}
END_TEST

static void setup(void)
{
    ck_assert_int_eq(kw__loop_new(&loop), 0);
}

static void teardown(void)
{
    kw__loop_free(loop);
}

int main(void)
{
    const char *cases = getenv("CK_RUN_CASE");
    bool reauth = cases && strcmp(cases, "reauth") == 0;
    const char *need = reauth ? "KWAL_REAUTH_BOOTSTRAP" : "KWAL_BOOTSTRAP_SASL";
    if (!getenv(need) || !*getenv(need)) {
        fprintf(stderr, "%s is not set (eval \"$(tests/kafka/broker env)\"): skipped\n", need);
        return 77;
    }
    Suite *s = suite_create("cred-broker");
    TCase *tc = tcase_create("cred");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, kip368_oauth_file_rotated_between_reauthentications);
    tcase_add_test(tc, kip368_oauth_http_socket_asked_at_each_reauthentication);
    tcase_add_test(tc, oauth_file_is_read_at_each_authentication);
    tcase_add_test(tc, oauth_http_socket_answers_and_failures);
    tcase_add_test(tc, client_destroyed_while_the_socket_call_waits);
    tcase_add_test(tc, tls_minimum_version_and_cipher_suites);
    suite_add_tcase(s, tc);
    /* Run on its own (CK_RUN_CASE=reauth) against a broker started with --reauth-ms. */
    TCase *re = tcase_create("reauth");
    tcase_add_checked_fixture(re, setup, teardown);
    tcase_set_timeout(re, 120);
    tcase_add_test(re, kip368_oauth_file_rotated_between_reauthentications);
    tcase_add_test(re, kip368_oauth_http_socket_asked_at_each_reauthentication);
    suite_add_tcase(s, re);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
