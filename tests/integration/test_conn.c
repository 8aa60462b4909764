/* src/net/conn against the real broker: PLAINTEXT, SASL, TLS, mTLS, failures, deadlines, KIP-368. */
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kwal/client.h"
#include "kwal/wal.h"
#include "net/conn.h"
#include "proto/msg_data.h"

static kw_loop *loop;

typedef struct watch {
    int ready, closed;
    int err;
    char detail[1024];
    int warnings;
    char warning[1024];
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

static void on_log(void *arg, int level, const char *msg)
{
    watch *w = arg;
    if (level == KW_LOG_WARN) {
        w->warnings++;
        snprintf(w->warning, sizeof(w->warning), "%s", msg);
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t deadline_in(uint64_t ms)
{
    return (now_ms() + ms) * 1000000u;
}

/* Runs the loop until *flag becomes non-zero or ms pass; true if it did. */
static bool run_until(const int *flag, uint64_t ms)
{
    uint64_t end = now_ms() + ms;
    while (!*flag && now_ms() < end)
        ck_assert_int_ge(kw__loop_run_once(loop, 20), 0);
    return *flag != 0;
}

static void addr_of(const char *env, const char *dflt, char *host, size_t hlen, uint16_t *port)
{
    const char *v = getenv(env);
    if (!v || !*v)
        v = dflt;
    snprintf(host, hlen, "%s", v);
    char *colon = strrchr(host, ':');
    ck_assert_ptr_nonnull(colon);
    *colon = 0;
    *port = (uint16_t)atoi(colon + 1);
}

static const char *tls_path(const char *file)
{
    static char buf[4][512];
    static int i;
    const char *dir = getenv("KWAL_TLS_DIR");
    if (!dir)
        dir = "/root/.cache/kwal/broker/tls";
    char *b = buf[i++ % 4];
    snprintf(b, 512, "%s/%s", dir, file);
    return b;
}

static kw_sasl_config alice(const char *mech, const char *password)
{
    const char *user = getenv("KWAL_SASL_USER");
    kw_sasl_config s = {.mechanism = mech,
                        .username = user ? user : "alice",
                        .password = password};
    return s;
}

static const char *alice_password(void)
{
    const char *p = getenv("KWAL_SASL_PASSWORD");
    return p ? p : "alice-secret";
}

static void setup(void)
{
    ck_assert_int_eq(kw__loop_new(&loop), 0);
}

static void teardown(void)
{
    kw__loop_free(loop);
    loop = NULL;
}

/* Opens a connection to the listener named by env and runs the loop until it is ready or closed. */
static kw_conn *open_conn(kw_conn_options *o, const char *env, const char *dflt, watch *w)
{
    char host[256];
    addr_of(env, dflt, host, sizeof(host), &o->port);
    o->host = host;
    o->on_state = on_state;
    o->state_arg = w;
    o->log = on_log;
    o->log_arg = w;
    if (!o->connect_timeout_ms)
        o->connect_timeout_ms = 5000;
    kw_conn *c;
    ck_assert_int_eq(kw__conn_new(&c, loop, o), 0);
    uint64_t end = now_ms() + 15000;
    while (!w->ready && !w->closed && now_ms() < end)
        ck_assert_int_ge(kw__loop_run_once(loop, 20), 0);
    return c;
}

typedef struct md_result {
    int done, err, version;
    int32_t brokers;
    int order; /* completion order */
} md_result;

static int completions;

static void on_metadata(int err, const uint8_t *frame, size_t len, int version, void *arg)
{
    md_result *r = arg;
    r->done = 1;
    r->err = err;
    r->version = version;
    r->order = completions++;
    if (err)
        return;
    kw_arena a;
    kw__arena_init(&a, 1 << 20);
    kw_metadata_resp resp;
    int rc = kw__conn_decode(frame, len, KW_API_METADATA, version, &a, &resp);
    r->brokers = rc ? -1 : resp.brokers.n;
    kw__arena_reset(&a);
}

static void metadata_req(kw_conn *c, kw_metadata_req *req)
{
    int ver = kw__conn_versions(c)->v[KW_API_METADATA];
    ck_assert_int_ge(ver, 1);
    kw__schema_init(kw__api(KW_API_METADATA)->req, ver, req);
    req->topics.v = NULL;
    req->topics.n = 0; /* no topics: just brokers and the cluster */
}

/* One Metadata round trip on a ready connection; asserts the broker list came back. */
static void metadata_ok(kw_conn *c)
{
    kw_metadata_req req;
    metadata_req(c, &req);
    md_result r = {0};
    ck_assert_int_eq(kw__conn_send(c, KW_API_METADATA, -1, &req, deadline_in(10000), on_metadata,
                                   &r),
                     0);
    ck_assert(run_until(&r.done, 12000));
    ck_assert_int_eq(r.err, 0);
    ck_assert_int_eq(r.version, kw__conn_versions(c)->v[KW_API_METADATA]);
    ck_assert_int_ge(r.brokers, 1);
}

START_TEST(plaintext_negotiates_versions_and_answers_metadata)
{
    watch w = {0};
    kw_conn_options o = {0};
    kw_conn *c = open_conn(&o, "KWAL_BOOTSTRAP", "127.0.0.1:19092", &w);
    ck_assert_msg(w.ready == 1, "not ready: %s", w.detail);
    ck_assert(kw__conn_ready(c));
    const kw_versions *v = kw__conn_versions(c);
    ck_assert_int_ge(v->v[KW_API_METADATA], 9);
    ck_assert_int_ge(v->v[KW_API_PRODUCE], 3);
    ck_assert_int_eq(v->broker_max[KW_API_API_VERSIONS] >= 3, 1);
    metadata_ok(c);
    kw__conn_free(c);
    ck_assert_int_eq(w.closed, 0); /* no CLOSED callback after the caller's own free */
}
END_TEST

START_TEST(pipelined_1000_metadata_requests_answered_in_order)
{
    watch w = {0};
    kw_conn_options o = {.max_in_flight = 100};
    kw_conn *c = open_conn(&o, "KWAL_BOOTSTRAP", "127.0.0.1:19092", &w);
    ck_assert_msg(w.ready == 1, "not ready: %s", w.detail);
    enum { N = 1000 };
    static md_result r[N];
    memset(r, 0, sizeof(r));
    completions = 0;
    kw_metadata_req req;
    metadata_req(c, &req);
    uint64_t t0 = now_ms();
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(
            kw__conn_send(c, KW_API_METADATA, -1, &req, deadline_in(30000), on_metadata, &r[i]),
            0);
    /* the limit holds: at most 100 on the wire, the rest queued */
    ck_assert_int_le(kw__conn_in_flight(c), 100);
    ck_assert_int_eq(kw__conn_in_flight(c) + kw__conn_queued(c), N);
    ck_assert(run_until(&r[N - 1].done, 30000));
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(r[i].err, 0);
        ck_assert_int_eq(r[i].order, i);
        ck_assert_int_ge(r[i].brokers, 1);
    }
    fprintf(stderr, "conn: 1000 pipelined Metadata in %llu ms\n",
            (unsigned long long)(now_ms() - t0));
    ck_assert_int_eq(kw__conn_in_flight(c), 0);
    kw__conn_free(c);
}
END_TEST

static const char *const mechanisms[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};

START_TEST(sasl_mechanism_authenticates_alice)
{
    watch w = {0};
    kw_sasl_config s = alice(mechanisms[_i], alice_password());
    kw_conn_options o = {.sasl = &s};
    kw_conn *c = open_conn(&o, "KWAL_BOOTSTRAP_SASL", "127.0.0.1:19093", &w);
    ck_assert_msg(w.ready == 1, "%s not ready: %s", mechanisms[_i], w.detail);
    metadata_ok(c);
    kw__conn_free(c);
}
END_TEST

START_TEST(sasl_wrong_password_fails_quickly_with_the_reason)
{
    watch w = {0};
    kw_sasl_config s = alice("SCRAM-SHA-512", "not-the-password");
    kw_conn_options o = {.sasl = &s};
    uint64_t t0 = now_ms();
    kw_conn *c = open_conn(&o, "KWAL_BOOTSTRAP_SASL", "127.0.0.1:19093", &w);
    uint64_t took = now_ms() - t0;
    ck_assert_int_eq(w.ready, 0);
    ck_assert_int_eq(w.closed, 1);
    ck_assert_int_eq(w.err, KW_ESASL);
    ck_assert_msg(strstr(w.detail, "SASL authentication failed for user alice (SCRAM-SHA-512): "),
                  "detail: %s", w.detail);
    ck_assert_msg(took < 5000, "took %llu ms", (unsigned long long)took);
    ck_assert(kw__conn_closed(c));
    kw__conn_free(c);
}
END_TEST

static kw_tls_ctx *make_tls(const char *ca, const char *cert, const char *key, bool insecure)
{
    kw_tls_config cfg = {.ca_file = ca ? tls_path(ca) : NULL,
                         .cert_file = cert ? tls_path(cert) : NULL,
                         .key_file = key ? tls_path(key) : NULL,
                         .insecure_skip_verify = insecure};
    kw_tls_ctx *t;
    char err[512];
    int rc = kw__tls_ctx_new(&t, &cfg, err, sizeof(err));
    ck_assert_msg(rc == 0, "%s", err);
    return t;
}

START_TEST(ssl_with_the_ca_verifies_and_answers)
{
    watch w = {0};
    kw_tls_ctx *t = make_tls("ca.pem", NULL, NULL, false);
    kw_conn_options o = {.tls = t};
    kw_conn *c = open_conn(&o, "KWAL_BOOTSTRAP_SSL", "127.0.0.1:19094", &w);
    kw__tls_ctx_unref(t); /* the connection holds its own reference */
    ck_assert_msg(w.ready == 1, "not ready: %s", w.detail);
    ck_assert_int_eq(w.warnings, 0);
    metadata_ok(c);
    kw__conn_free(c);
}
END_TEST

START_TEST(one_tls_context_serves_several_connections)
{
    kw_tls_ctx *t = make_tls("ca.pem", NULL, NULL, false);
    watch w[3] = {{0}};
    kw_conn *c[3];
    for (int i = 0; i < 3; i++) {
        kw_conn_options o = {.tls = t};
        c[i] = open_conn(&o, "KWAL_BOOTSTRAP_SSL", "127.0.0.1:19094", &w[i]);
        ck_assert_msg(w[i].ready == 1, "not ready: %s", w[i].detail);
    }
    for (int i = 0; i < 3; i++)
        metadata_ok(c[i]);
    for (int i = 0; i < 3; i++)
        kw__conn_free(c[i]);
    kw__tls_ctx_unref(t);
}
END_TEST

START_TEST(mtls_with_the_client_certificate)
{
    watch w = {0};
    kw_tls_ctx *t = make_tls("ca.pem", "client.pem", "client.key", false);
    kw_conn_options o = {.tls = t};
    kw_conn *c = open_conn(&o, "KWAL_BOOTSTRAP_MTLS", "127.0.0.1:19097", &w);
    ck_assert_msg(w.ready == 1, "not ready: %s", w.detail);
    metadata_ok(c);
    kw__conn_free(c);
    kw__tls_ctx_unref(t);
}
END_TEST

START_TEST(mtls_without_a_client_certificate_is_refused)
{
    watch w = {0};
    kw_tls_ctx *t = make_tls("ca.pem", NULL, NULL, false);
    kw_conn_options o = {.tls = t};
    kw_conn *c = open_conn(&o, "KWAL_BOOTSTRAP_MTLS", "127.0.0.1:19097", &w);
    if (w.ready) {
        /* TLS 1.3: the server's refusal arrives after the client's handshake is done. */
        kw_metadata_req req;
        metadata_req(c, &req);
        md_result r = {0};
        ck_assert_int_eq(kw__conn_send(c, KW_API_METADATA, -1, &req, deadline_in(5000),
                                       on_metadata, &r),
                         0);
        run_until(&w.closed, 6000);
        ck_assert_int_ne(r.err, 0);
    }
    ck_assert_int_eq(w.closed, 1);
    ck_assert_int_ne(w.err, 0);
    kw__conn_free(c);
    kw__tls_ctx_unref(t);
}
END_TEST

START_TEST(sasl_ssl_scram_over_tls)
{
    watch w = {0};
    kw_tls_ctx *t = make_tls("ca.pem", NULL, NULL, false);
    kw_sasl_config s = alice("SCRAM-SHA-512", alice_password());
    kw_conn_options o = {.tls = t, .sasl = &s};
    kw_conn *c = open_conn(&o, "KWAL_BOOTSTRAP_SASL_SSL", "127.0.0.1:19095", &w);
    ck_assert_msg(w.ready == 1, "not ready: %s", w.detail);
    metadata_ok(c);
    kw__conn_free(c);
    kw__tls_ctx_unref(t);
}
END_TEST

START_TEST(wrong_ca_fails_certificate_verification)
{
    watch w = {0};
    kw_tls_ctx *t = make_tls("other-ca.pem", NULL, NULL, false);
    kw_conn_options o = {.tls = t};
    kw_conn *c = open_conn(&o, "KWAL_BOOTSTRAP_SSL", "127.0.0.1:19094", &w);
    ck_assert_int_eq(w.ready, 0);
    ck_assert_int_eq(w.err, KW_ETLS);
    ck_assert_msg(strstr(w.detail, "TLS: certificate verify failed for 127.0.0.1:"), "detail: %s",
                  w.detail);
    kw__conn_free(c);
    kw__tls_ctx_unref(t);
}
END_TEST

START_TEST(wrong_host_name_fails_and_the_override_fixes_it)
{
    watch w = {0};
    kw_tls_ctx *t = make_tls("ca.pem", NULL, NULL, false);
    kw_conn_options o = {.tls = t};
    kw_conn *c = open_conn(&o, "KWAL_BOOTSTRAP_SSL_WRONGHOST", "127.0.0.1:19096", &w);
    ck_assert_int_eq(w.ready, 0);
    ck_assert_int_eq(w.err, KW_ETLS);
    ck_assert_msg(strstr(w.detail, "TLS: host name mismatch for 127.0.0.1:"), "detail: %s",
                  w.detail);
    kw__conn_free(c);

    watch w2 = {0};
    kw_conn_options o2 = {.tls = t, .tls_server_name = "wrong.example"};
    c = open_conn(&o2, "KWAL_BOOTSTRAP_SSL_WRONGHOST", "127.0.0.1:19096", &w2);
    ck_assert_msg(w2.ready == 1, "not ready: %s", w2.detail);
    kw__conn_free(c);
    kw__tls_ctx_unref(t);
}
END_TEST

START_TEST(skip_verify_connects_and_warns)
{
    watch w = {0};
    kw_tls_ctx *t = make_tls("other-ca.pem", NULL, NULL, true);
    kw_conn_options o = {.tls = t};
    kw_conn *c = open_conn(&o, "KWAL_BOOTSTRAP_SSL_WRONGHOST", "127.0.0.1:19096", &w);
    ck_assert_msg(w.ready == 1, "not ready: %s", w.detail);
    ck_assert_int_eq(w.warnings, 1);
    ck_assert_msg(strstr(w.warning, "verification is OFF"), "warning: %s", w.warning);
    metadata_ok(c);
    kw__conn_free(c);
    kw__tls_ctx_unref(t);
}
END_TEST

/* A port nobody listens on: bound, then closed. */
static uint16_t dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t al = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    return ntohs(a.sin_port);
}

START_TEST(connection_refused_names_the_address)
{
    watch w = {0};
    uint16_t port = dead_port();
    kw_conn_options o = {.host = "127.0.0.1",
                         .port = port,
                         .on_state = on_state,
                         .state_arg = &w};
    kw_conn *c;
    ck_assert_int_eq(kw__conn_new(&c, loop, &o), 0);
    ck_assert(run_until(&w.closed, 5000));
    ck_assert_int_eq(w.err, KW_ECONNECT);
    char want[64];
    snprintf(want, sizeof(want), "connect 127.0.0.1:%u: connection refused", port);
    ck_assert_str_eq(w.detail, want);
    kw__conn_free(c);
}
END_TEST

START_TEST(localhost_tries_every_address)
{
    /* "localhost" may give ::1 and 127.0.0.1; the broker listens on 127.0.0.1 only. */
    watch w = {0};
    char host[64];
    uint16_t port;
    addr_of("KWAL_BOOTSTRAP", "127.0.0.1:19092", host, sizeof(host), &port);
    if (strcmp(host, "127.0.0.1") != 0)
        return;
    kw_conn_options o = {.host = "localhost", .port = port, .on_state = on_state, .state_arg = &w};
    kw_conn *c;
    ck_assert_int_eq(kw__conn_new(&c, loop, &o), 0);
    run_until(&w.ready, 10000);
    ck_assert_msg(w.ready == 1, "not ready: %s", w.detail);
    kw__conn_free(c);
}
END_TEST

START_TEST(silent_server_times_requests_out_at_their_deadline)
{
    /* Accepts (the kernel does, from the backlog) but never reads nor answers. */
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(lfd, 8), 0);
    socklen_t al = sizeof(a);
    getsockname(lfd, (struct sockaddr *)&a, &al);
    watch w = {0};
    kw_conn_options o = {.host = "127.0.0.1",
                         .port = ntohs(a.sin_port),
                         .connect_timeout_ms = 1500,
                         .on_state = on_state,
                         .state_arg = &w};
    kw_conn *c;
    ck_assert_int_eq(kw__conn_new(&c, loop, &o), 0);
    kw_metadata_req req;
    kw__schema_init(kw__api(KW_API_METADATA)->req, 12, &req);
    req.topics.n = 0;
    md_result r = {0};
    uint64_t t0 = now_ms();
    ck_assert_int_eq(
        kw__conn_send(c, KW_API_METADATA, 12, &req, deadline_in(300), on_metadata, &r), 0);
    ck_assert(run_until(&r.done, 3000));
    uint64_t took = now_ms() - t0;
    ck_assert_int_eq(r.err, KW_ETIMEDOUT);
    ck_assert_msg(took >= 295 && took < 400, "took %llu ms", (unsigned long long)took);
    /* the unanswered ApiVersions closes the connection at its own deadline */
    ck_assert(run_until(&w.closed, 3000));
    ck_assert_int_eq(w.err, KW_ETIMEDOUT);
    ck_assert_msg(strstr(w.detail, "ApiVersions with 127.0.0.1:"), "detail: %s", w.detail);
    ck_assert_msg(strstr(w.detail, "timed out after 1500 ms"), "detail: %s", w.detail);
    ck_assert_int_lt(now_ms() - t0, 1500 + 200);
    kw__conn_free(c);
    close(lfd);
}
END_TEST

START_TEST(response_larger_than_the_frame_limit_closes_the_connection)
{
    watch w = {0};
    /* An ApiVersions v4 response is several hundred bytes; 64 is too small. */
    kw_conn_options o = {.max_frame_size = 64};
    kw_conn *c = open_conn(&o, "KWAL_BOOTSTRAP", "127.0.0.1:19092", &w);
    ck_assert_int_eq(w.ready, 0);
    ck_assert_int_eq(w.err, KW_ETOOBIG);
    ck_assert_msg(strstr(w.detail, "the limit is 64 bytes"), "detail: %s", w.detail);
    kw__conn_free(c);
}
END_TEST

/* Metadata requests one after another, each answered without error, until at least `min` were
 * sent and the connection re-authenticated `reauths` times (within 12 s). */
static void metadata_until_reauthenticated(kw_conn *c, int min, unsigned reauths)
{
    uint64_t end = now_ms() + 12000;
    int sent = 0;
    while (now_ms() < end && (sent < min || kw__conn_reauth_count(c) < reauths)) {
        md_result r = {0};
        kw_metadata_req req;
        metadata_req(c, &req);
        ck_assert_int_eq(kw__conn_send(c, KW_API_METADATA, -1, &req, deadline_in(5000),
                                       on_metadata, &r),
                         0);
        ck_assert(run_until(&r.done, 6000));
        ck_assert_msg(r.err == 0, "request %d failed: %s (%s)", sent, kw_err_name(r.err),
                      kw__conn_errstr(c));
        ck_assert_int_ge(r.brokers, 1);
        sent++;
    }
    ck_assert_msg(sent >= min && kw__conn_reauth_count(c) >= reauths,
                  "%d requests, re-authenticated %u times", sent, kw__conn_reauth_count(c));
}

START_TEST(kip368_reauthenticates_without_failing_requests)
{
    /* Needs a broker started with a short connections.max.reauth.ms, e.g.
     * `tests/kafka/broker up --reauth-ms 3000`; its SASL listener goes in $KWAL_REAUTH_BOOTSTRAP.
     */
    const char *bs = getenv("KWAL_REAUTH_BOOTSTRAP");
    ck_assert_msg(bs && *bs, "the reauth case needs $KWAL_REAUTH_BOOTSTRAP (scripts/test sets it)");
    watch w = {0};
    kw_sasl_config s = alice(mechanisms[_i], alice_password());
    kw_conn_options o = {.sasl = &s};
    kw_conn *c = open_conn(&o, "KWAL_REAUTH_BOOTSTRAP", bs, &w);
    ck_assert_msg(w.ready == 1, "not ready: %s", w.detail);
    /* Keep requests flowing across at least two re-authentications. */
    metadata_until_reauthenticated(c, 1, 2);
    ck_assert_int_eq(w.closed, 0);
    kw__conn_free(c);
}
END_TEST

/*
 * Kerberos: a broker started with `tests/kafka/broker up --kerberos` (and --reauth-ms 3000 in
 * scripts/test) has a GSSAPI listener and a KDC; `broker env` names them.  Each test gets alice's
 * ticket into a credential cache of its own with kinit, as an operator's kinit or k5start would.
 */
static char ccache[64];

static void kinit_alice(void)
{
    const char *conf = getenv("KWAL_KRB5_CONFIG"), *keytab = getenv("KWAL_KRB5_KEYTAB");
    const char *principal = getenv("KWAL_KRB5_PRINCIPAL");
    ck_assert_msg(conf && keytab && principal && getenv("KWAL_BOOTSTRAP_GSSAPI"),
                  "the kerberos case needs `tests/kafka/broker up --kerberos` and its env");
    setenv("KRB5_CONFIG", conf, 1);
    snprintf(ccache, sizeof(ccache), "FILE:/tmp/kwal-it-krb5cc-%d", (int)getpid());
    setenv("KRB5CCNAME", ccache, 1);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execlp("kinit", "kinit", "-k", "-t", keytab, principal, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "kinit -k -t %s %s failed (status %d; Debian: krb5-user)", keytab, principal,
                  status);
}

static void kdestroy_alice(void)
{
    unlink(ccache + strlen("FILE:"));
}

START_TEST(gssapi_authenticates_and_reauthenticates)
{
    kinit_alice();
    watch w = {0};
    kw_sasl_config s = {.mechanism = "GSSAPI"};
    kw_conn_options o = {.sasl = &s};
    kw_conn *c = open_conn(&o, "KWAL_BOOTSTRAP_GSSAPI", "127.0.0.1:19098", &w);
    ck_assert_msg(w.ready == 1, "not ready: %s", w.detail);
    /* With --reauth-ms the session expires every few seconds: requests keep flowing across two
     * re-authentications (each a new ticket exchange); without it, a few requests suffice. */
    const char *reauth = getenv("KWAL_REAUTH_MS");
    metadata_until_reauthenticated(c, 3, reauth && atoi(reauth) > 0 ? 2 : 0);
    ck_assert_int_eq(w.closed, 0);
    kw__conn_free(c);
    kdestroy_alice();
}
END_TEST

START_TEST(gssapi_without_a_ticket_or_with_a_wrong_service_fails_with_the_reason)
{
    kinit_alice();
    /* a service the KDC does not know */
    watch w = {0};
    kw_sasl_config s = {.mechanism = "GSSAPI", .kerberos_service_name = "nosuch"};
    kw_conn_options o = {.sasl = &s};
    uint64_t t0 = now_ms();
    kw_conn *c = open_conn(&o, "KWAL_BOOTSTRAP_GSSAPI", "127.0.0.1:19098", &w);
    ck_assert_int_eq(w.ready, 0);
    ck_assert_int_eq(w.err, KW_ESASL);
    ck_assert_msg(strstr(w.detail, "no Kerberos ticket for nosuch/127.0.0.1") &&
                      strstr(w.detail, "not found in Kerberos database"),
                  "detail: %s", w.detail);
    ck_assert_int_lt(now_ms() - t0, 3000);
    kw__conn_free(c);
    /* no ticket at all */
    kdestroy_alice();
    watch w2 = {0};
    s.kerberos_service_name = NULL;
    c = open_conn(&o, "KWAL_BOOTSTRAP_GSSAPI", "127.0.0.1:19098", &w2);
    ck_assert_int_eq(w2.ready, 0);
    ck_assert_int_eq(w2.err, KW_ESASL);
    ck_assert_msg(strstr(w2.detail, "SASL authentication failed (GSSAPI): no Kerberos ticket for "
                                    "kafka/127.0.0.1") &&
                      strstr(w2.detail, "No Kerberos credentials available"),
                  "detail: %s", w2.detail);
    kw__conn_free(c);
}
END_TEST

/* The public client makes the WAL's topic and the WAL appends and replays, all over Kerberos. */
START_TEST(gssapi_client_and_wal_append_and_replay)
{
    kinit_alice();
    const char *bs = getenv("KWAL_BOOTSTRAP_GSSAPI");
    kw_client_options co = {.bootstrap = bs,
                            .security = KW_CLIENT_SASL_PLAINTEXT,
                            .sasl_mechanism = "GSSAPI",
                            .sasl_kerberos_service_name = "kafka"};
    kw_client *cl;
    char err[512];
    ck_assert_msg(kw_client_new(&cl, &co, err, sizeof(err)) == 0, "%s", err);
    char topic[64];
    snprintf(topic, sizeof(topic), "kwal-it-gssapi-%d-%llu", (int)getpid(),
             (unsigned long long)now_ms());
    kw_client_new_topic nt = {.name = topic, .partitions = 1, .replication_factor = 1};
    kw_client_create_topics_args ca = {.topics = &nt, .topic_count = 1};
    kw_client_topics_result tr;
    int rc = kw_client_create_topics(cl, &ca, &tr);
    ck_assert_msg(rc == 0, "create over GSSAPI: %s: %s", kw_err_name(rc), tr.detail);
    ck_assert_int_eq(tr.topic_count, 1);
    ck_assert_int_eq(tr.topics[0].kerr, 0);
    kw_client_topics_result_free(&tr);
    kw_wal_options wo = {.provider = KW_WAL_PROVIDER_KAFKA,
                         .kafka = {.bootstrap = bs,
                                   .security = KW_CLIENT_SASL_PLAINTEXT,
                                   .sasl_mechanism = "GSSAPI"},
                         .topic = topic,
                         .timeout_ms = 10000};
    kw_wal *w;
    ck_assert_msg(kw_wal_open(&w, &wo, err, sizeof(err)) == 0, "%s", err);
    uint64_t ids[3];
    for (int i = 0; i < 3; i++) {
        char e[32];
        int n = snprintf(e, sizeof(e), "kerberos entry %d", i);
        ck_assert_msg(kw_wal_append_sync(w, 9, e, (size_t)n, &ids[i]) == 0, "%s", kw_wal_errstr(w));
    }
    kw_wal_replay *rp;
    ck_assert_int_eq(kw_wal_replay_open(w, 9, 0, 0, &rp), 0);
    for (int i = 0; i < 3; i++) {
        uint64_t id;
        const uint8_t *data;
        size_t len;
        char e[32];
        int n = snprintf(e, sizeof(e), "kerberos entry %d", i);
        ck_assert_int_eq(kw_wal_replay_next(rp, &id, &data, &len, 10000), 1);
        ck_assert_uint_eq(id, ids[i]);
        ck_assert_uint_eq(len, (size_t)n);
        ck_assert_mem_eq(data, e, len);
    }
    uint64_t id;
    const uint8_t *data;
    size_t len;
    ck_assert_int_eq(kw_wal_replay_next(rp, &id, &data, &len, 10000), 0);
    kw_wal_replay_close(rp);
    kw_wal_close(w);
    const char *names[] = {topic};
    kw_client_delete_topics_args da = {.names = names, .name_count = 1};
    kw_client_delete_topics(cl, &da, &tr);
    kw_client_topics_result_free(&tr);
    kw_client_destroy(cl);
    kdestroy_alice();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conn-broker");
    TCase *tc = tcase_create("conn");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, plaintext_negotiates_versions_and_answers_metadata);
    tcase_add_test(tc, pipelined_1000_metadata_requests_answered_in_order);
    tcase_add_loop_test(tc, sasl_mechanism_authenticates_alice, 0, 3);
    tcase_add_test(tc, sasl_wrong_password_fails_quickly_with_the_reason);
    tcase_add_test(tc, ssl_with_the_ca_verifies_and_answers);
    tcase_add_test(tc, one_tls_context_serves_several_connections);
    tcase_add_test(tc, mtls_with_the_client_certificate);
    tcase_add_test(tc, mtls_without_a_client_certificate_is_refused);
    tcase_add_test(tc, sasl_ssl_scram_over_tls);
    tcase_add_test(tc, wrong_ca_fails_certificate_verification);
    tcase_add_test(tc, wrong_host_name_fails_and_the_override_fixes_it);
    tcase_add_test(tc, skip_verify_connects_and_warns);
    tcase_add_test(tc, connection_refused_names_the_address);
    tcase_add_test(tc, localhost_tries_every_address);
    tcase_add_test(tc, silent_server_times_requests_out_at_their_deadline);
    tcase_add_test(tc, response_larger_than_the_frame_limit_closes_the_connection);
    suite_add_tcase(s, tc);
    /* Run on its own (CK_RUN_CASE=reauth) against a broker started with --reauth-ms. */
    TCase *re = tcase_create("reauth");
    tcase_add_checked_fixture(re, setup, teardown);
    tcase_set_timeout(re, 120);
    tcase_add_loop_test(re, kip368_reauthenticates_without_failing_requests, 0, 3);
    suite_add_tcase(s, re);
    /* Run on its own (CK_RUN_CASE=kerberos) against a broker started with --kerberos. */
    TCase *krb = tcase_create("kerberos");
    tcase_add_checked_fixture(krb, setup, teardown);
    tcase_set_timeout(krb, 120);
    tcase_add_test(krb, gssapi_authenticates_and_reauthenticates);
    tcase_add_test(krb, gssapi_without_a_ticket_or_with_a_wrong_service_fails_with_the_reason);
    tcase_add_test(krb, gssapi_client_and_wal_append_and_replay);
    suite_add_tcase(s, krb);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
