/* Unit tests of credential documents: the JSON parsers, the file and Unix-socket HTTP sources, OAUTHBEARER bytes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../cred_http_server.h"
#include "kwal/client.h"
#include "net/cred.h"
#include "net/loop.h"
#include "net/sasl.h"

static uint64_t now_ms(void)
{
    return kw__clock_now_ns() / 1000000u;
}

/* ---------------------------------------------------------------- parsers */

static int parse(int kind, const char *json, kw_cred_doc *d, char *detail)
{
    return kw__cred_parse(kind, json, strlen(json), d, detail, 256);
}

START_TEST(oauth_document_with_every_field)
{
    kw_cred_doc d;
    char detail[256];
    ck_assert_int_eq(parse(KW_CRED_OAUTH,
                           "{\"token\":\"eyJh.eyJz.\",\"zid\":\"alice\","
                           "\"extensions\":{\"traceId\":\"abc 1\",\"logicalCluster\":\"lkc-1\"},"
                           "\"unknown\":[1,2]}",
                           &d, detail),
                     0);
    ck_assert_int_eq(d.kind, KW_CRED_OAUTH);
    ck_assert_str_eq(d.token, "eyJh.eyJz.");
    ck_assert_str_eq(d.zid, "alice");
    ck_assert_uint_eq(d.ext_count, 2);
    /* jansson keeps insertion order */
    ck_assert_str_eq(d.ext[0].key, "traceId");
    ck_assert_str_eq(d.ext[0].value, "abc 1");
    ck_assert_str_eq(d.ext[1].key, "logicalCluster");
    ck_assert_str_eq(d.ext[1].value, "lkc-1");
    ck_assert_ptr_null(d.access_key);
    kw__cred_doc_clear(&d);
    ck_assert_ptr_null(d.token);

    ck_assert_int_eq(parse(KW_CRED_OAUTH, "{\"token\":\"abc==\",\"zid\":null,\"extensions\":null}",
                           &d, detail),
                     0);
    ck_assert_str_eq(d.token, "abc==");
    ck_assert_ptr_null(d.zid);
    ck_assert_uint_eq(d.ext_count, 0);
    kw__cred_doc_clear(&d);
}
END_TEST

static const struct {
    int kind;
    const char *json;
    const char *want; /* a substring of the detail */
} bad_docs[] = {
    {KW_CRED_OAUTH, "", "not JSON"},
    {KW_CRED_OAUTH, "{\"token\":", "not JSON"},
    {KW_CRED_OAUTH, "token=abc", "not JSON"},
    {KW_CRED_OAUTH, "[\"abc\"]", "not a JSON object"},
    {KW_CRED_OAUTH, "{}", "field \"token\" is missing"},
    {KW_CRED_OAUTH, "{\"token\":null}", "field \"token\" is missing"},
    {KW_CRED_OAUTH, "{\"token\":\"\"}", "field \"token\" is empty"},
    {KW_CRED_OAUTH, "{\"token\":42}", "field \"token\" is not a string"},
    {KW_CRED_OAUTH, "{\"token\":\"a b\"}", "field \"token\" has characters"},
    {KW_CRED_OAUTH, "{\"token\":\"ab=c\"}", "field \"token\" has characters"},
    {KW_CRED_OAUTH, "{\"token\":\"a\",\"token\":\"b\"}", "duplicate"},
    {KW_CRED_OAUTH, "{\"token\":\"a\",\"zid\":7}", "field \"zid\" is not a string"},
    {KW_CRED_OAUTH, "{\"token\":\"a\",\"zid\":\"a\\u0001b\"}", "field \"zid\" has control"},
    {KW_CRED_OAUTH, "{\"token\":\"a\",\"extensions\":[]}", "field \"extensions\" is not an object"},
    {KW_CRED_OAUTH, "{\"token\":\"a\",\"extensions\":{\"trace1\":\"x\"}}",
     "extension key \"trace1\" must be letters only"},
    {KW_CRED_OAUTH, "{\"token\":\"a\",\"extensions\":{\"auth\":\"x\"}}", "\"auth\" is reserved"},
    {KW_CRED_OAUTH, "{\"token\":\"a\",\"extensions\":{\"k\":1}}", "extension \"k\" is not a string"},
    {KW_CRED_OAUTH, "{\"token\":\"a\",\"extensions\":{\"k\":\"\"}}", "extension \"k\" has an empty"},
    {KW_CRED_OAUTH, "{\"token\":\"a\",\"extensions\":{\"k\":\"a\\u0001\"}}",
     "extension \"k\" has an empty value or characters"},
    {KW_CRED_AWS, "{\"SecretKey\":\"s\"}", "field \"AccessKey\" is missing"},
    {KW_CRED_AWS, "{\"AccessKey\":\"AKIA\"}", "field \"SecretKey\" is missing"},
    {KW_CRED_AWS, "{\"AccessKey\":1,\"SecretKey\":\"s\"}", "field \"AccessKey\" is not a string"},
    {KW_CRED_AWS, "{\"AccessKey\":\"A K\",\"SecretKey\":\"s\"}",
     "field \"AccessKey\" has characters other than printable ASCII"},
    {KW_CRED_AWS, "{\"AccessKey\":\"A\",\"SecretKey\":\"s\",\"SessionToken\":true}",
     "field \"SessionToken\" is not a string"},
    {KW_CRED_AWS, "{\"AccessKey\":\"A\",\"SecretKey\":\"s\",\"UserAgent\":\"a\\nb\"}",
     "field \"UserAgent\" has control characters"},
    {KW_CRED_AWS, "{\"accessKey\":\"A\",\"SecretKey\":\"s\"}", "field \"AccessKey\" is missing"},
};

START_TEST(bad_documents_name_the_field)
{
    kw_cred_doc d;
    char detail[256];
    int rc = parse(bad_docs[_i].kind, bad_docs[_i].json, &d, detail);
    ck_assert_msg(rc == KW_ESASL, "%s: rc %d", bad_docs[_i].json, rc);
    ck_assert_msg(strstr(detail, bad_docs[_i].want), "%s: detail \"%s\", want \"%s\"",
                  bad_docs[_i].json, detail, bad_docs[_i].want);
    ck_assert_ptr_null(d.token);
    ck_assert_ptr_null(d.access_key);
    ck_assert_int_eq(d.kind, 0);
}
END_TEST

START_TEST(aws_document_fields)
{
    kw_cred_doc d;
    char detail[256];
    ck_assert_int_eq(parse(KW_CRED_AWS,
                           "{\"AccessKey\":\"AKIDEXAMPLE\","
                           "\"SecretKey\":\"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\","
                           "\"SessionToken\":\"IQoJb3JpZ2luX2Vj==\",\"UserAgent\":\"mimir/3.0 (x)\"}",
                           &d, detail),
                     0);
    ck_assert_int_eq(d.kind, KW_CRED_AWS);
    ck_assert_str_eq(d.access_key, "AKIDEXAMPLE");
    ck_assert_str_eq(d.secret_key, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    ck_assert_str_eq(d.session_token, "IQoJb3JpZ2luX2Vj==");
    ck_assert_str_eq(d.user_agent, "mimir/3.0 (x)");
    ck_assert_ptr_null(d.token);
    kw__cred_doc_clear(&d);
    /* optional members absent, null or empty: NULL */
    ck_assert_int_eq(parse(KW_CRED_AWS,
                           "{\"AccessKey\":\"A\",\"SecretKey\":\"S\",\"SessionToken\":null,"
                           "\"UserAgent\":\"\"}",
                           &d, detail),
                     0);
    ck_assert_str_eq(d.access_key, "A");
    ck_assert_str_eq(d.secret_key, "S");
    ck_assert_ptr_null(d.session_token);
    ck_assert_ptr_null(d.user_agent);
    kw__cred_doc_clear(&d);
}
END_TEST

START_TEST(oversized_document_is_refused)
{
    size_t n = KW_CRED_DOC_MAX + 10;
    char *big = malloc(n);
    memset(big, ' ', n);
    kw_cred_doc d;
    char detail[256];
    ck_assert_int_eq(kw__cred_parse(KW_CRED_OAUTH, big, n, &d, detail, sizeof(detail)), KW_ESASL);
    ck_assert_msg(strstr(detail, "longer than"), "%s", detail);
    free(big);
}
END_TEST

/* ---------------------------------------------------------------- the OAUTHBEARER message */

START_TEST(fetched_document_builds_the_client_first_message)
{
    /* The source is not asked here: a document is handed over as the connection would. */
    kw_loop *loop;
    ck_assert_int_eq(kw__loop_new(&loop), 0);
    kw_cred_source *src;
    char err[256];
    kw_cred_source_options so = {.kind = KW_CRED_OAUTH, .file = "/nonexistent"};
    ck_assert_int_eq(kw__cred_source_new(&src, loop, &so, err, sizeof(err)), 0);
    kw_sasl s;
    kw_sasl_config cfg = {.mechanism = "OAUTHBEARER", .cred = src};
    ck_assert_int_eq(kw__sasl_init(&s, &cfg), 0);
    ck_assert_ptr_eq(kw__sasl_cred_source(&s), src);

    const uint8_t *out;
    size_t len;
    /* nothing fetched yet: a clear failure, not a message without a token */
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), KW_EINVAL);
    ck_assert_msg(strstr(kw__sasl_errstr(&s), "no credential document was fetched from file "
                                              "/nonexistent"),
                  "%s", kw__sasl_errstr(&s));

    kw_cred_doc d;
    const char *json = "{\"token\":\"tok.en\",\"zid\":\"a,b=c\",\"extensions\":{\"k\":\"v\"}}";
    ck_assert_int_eq(kw__cred_parse(KW_CRED_OAUTH, json, strlen(json), &d, err, sizeof(err)), 0);
    kw__sasl_set_cred(&s, &d);
    ck_assert_ptr_null(d.token); /* moved */
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), 0);
    static const char want[] = "n,a=a=2Cb=3Dc,\x01" "auth=Bearer tok.en\x01k=v\x01\x01";
    ck_assert_uint_eq(len, sizeof(want) - 1);
    ck_assert_mem_eq(out, want, len);
    /* the document served one exchange: the next start needs a new one */
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), KW_EINVAL);

    json = "{\"token\":\"second\"}";
    ck_assert_int_eq(kw__cred_parse(KW_CRED_OAUTH, json, strlen(json), &d, err, sizeof(err)), 0);
    kw__sasl_set_cred(&s, &d);
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), 0);
    static const char want2[] = "n,,\x01" "auth=Bearer second\x01\x01";
    ck_assert_uint_eq(len, sizeof(want2) - 1);
    ck_assert_mem_eq(out, want2, len);

    /* a failed fetch becomes the exchange's failure, detail kept */
    ck_assert_int_eq(kw__sasl_cred_failed(&s, KW_ESASL, "OAUTHBEARER credentials from x: boom"),
                     KW_ESASL);
    ck_assert_str_eq(kw__sasl_errstr(&s),
                     "SASL authentication failed (OAUTHBEARER): OAUTHBEARER credentials from x: "
                     "boom");
    kw__sasl_free(&s);

    /* a source with a static token too: two sources */
    cfg.oauth_token = "t";
    ck_assert_int_eq(kw__sasl_init(&s, &cfg), KW_EINVAL);
    ck_assert_msg(strstr(kw__sasl_errstr(&s), "(got 2)"), "%s", kw__sasl_errstr(&s));
    kw__sasl_free(&s);
    /* a PLAIN exchange takes no document source */
    cfg = (kw_sasl_config){.mechanism = "PLAIN", .username = "u", .password = "p", .cred = src};
    ck_assert_int_eq(kw__sasl_init(&s, &cfg), KW_EINVAL);
    ck_assert_msg(strstr(kw__sasl_errstr(&s), "takes no credential document source"), "%s",
                  kw__sasl_errstr(&s));
    kw__sasl_free(&s);
    kw__cred_source_close(src);
    kw__loop_free(loop);
    kw__cred_source_free(src);
}
END_TEST

/* ---------------------------------------------------------------- sources on a loop */

typedef struct fetched {
    int calls;
    int err;
    char detail[512];
    kw_cred_doc doc;
} fetched;

static void on_fetched(int err, const char *detail, kw_cred_doc *doc, void *arg)
{
    fetched *f = arg;
    f->calls++;
    f->err = err;
    snprintf(f->detail, sizeof(f->detail), "%s", detail);
    kw__cred_doc_move(&f->doc, doc);
}

/* Runs the loop until f has its answer or ms pass. */
static void wait_fetched(kw_loop *loop, fetched *f, uint64_t ms)
{
    uint64_t end = now_ms() + ms;
    while (f->calls == 0 && now_ms() < end)
        kw__loop_run_once(loop, 20);
}

static void fetch_once(kw_loop *loop, kw_cred_source *src, fetched *f)
{
    kw__cred_doc_clear(&f->doc);
    memset(f, 0, sizeof(*f));
    kw_cred_job *job;
    ck_assert_int_eq(kw__cred_fetch(src, on_fetched, f, &job), 0);
    ck_assert_ptr_nonnull(job);
    ck_assert_int_eq(f->calls, 0); /* never from inside fetch */
    wait_fetched(loop, f, 15000);
    ck_assert_int_eq(f->calls, 1);
}

static void write_file(const char *path, const char *text)
{
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *fp = fopen(tmp, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    fclose(fp);
    ck_assert_int_eq(rename(tmp, path), 0); /* as a sidecar rotates it: atomically */
}

START_TEST(file_source_is_read_anew_at_each_fetch)
{
    kw_loop *loop;
    ck_assert_int_eq(kw__loop_new(&loop), 0);
    char dir[] = "/tmp/kwal-cred-file-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/oauth.json", dir);
    kw_cred_source *src;
    char err[256];
    kw_cred_source_options so = {.kind = KW_CRED_OAUTH, .file = path};
    ck_assert_int_eq(kw__cred_source_new(&src, loop, &so, err, sizeof(err)), 0);
    ck_assert_int_eq(kw__cred_source_kind(src), KW_CRED_OAUTH);
    fetched f = {0};

    /* missing file: KW_ESASL naming the path */
    fetch_once(loop, src, &f);
    ck_assert_int_eq(f.err, KW_ESASL);
    ck_assert_msg(strstr(f.detail, "OAUTHBEARER credentials from file") && strstr(f.detail, path) &&
                      strstr(f.detail, "cannot open"),
                  "%s", f.detail);

    write_file(path, "{\"token\":\"first\",\"zid\":\"alice\"}\n");
    fetch_once(loop, src, &f);
    ck_assert_int_eq(f.err, 0);
    ck_assert_str_eq(f.detail, "");
    ck_assert_str_eq(f.doc.token, "first");
    ck_assert_str_eq(f.doc.zid, "alice");

    write_file(path, "{\"token\":\"second\"}");
    fetch_once(loop, src, &f);
    ck_assert_int_eq(f.err, 0);
    ck_assert_str_eq(f.doc.token, "second");
    ck_assert_ptr_null(f.doc.zid);

    write_file(path, "{\"zid\":\"alice\"}");
    fetch_once(loop, src, &f);
    ck_assert_int_eq(f.err, KW_ESASL);
    ck_assert_msg(strstr(f.detail, path) && strstr(f.detail, "field \"token\" is missing"), "%s",
                  f.detail);
    ck_assert_ptr_null(f.doc.token);
    kw__cred_doc_clear(&f.doc);

    /* a cancelled fetch never calls back */
    write_file(path, "{\"token\":\"third\"}");
    memset(&f, 0, sizeof(f));
    kw_cred_job *job;
    ck_assert_int_eq(kw__cred_fetch(src, on_fetched, &f, &job), 0);
    kw__cred_cancel(job);
    for (int i = 0; i < 5; i++)
        kw__loop_run_once(loop, 10);
    ck_assert_int_eq(f.calls, 0);

    /* an AWS document from a file */
    kw_cred_source *aws;
    char apath[256];
    snprintf(apath, sizeof(apath), "%s/aws.json", dir);
    write_file(apath, "{\"AccessKey\":\"AKID\",\"SecretKey\":\"sec/ret\",\"SessionToken\":\"tok\"}");
    so = (kw_cred_source_options){.kind = KW_CRED_AWS, .file = apath};
    ck_assert_int_eq(kw__cred_source_new(&aws, loop, &so, err, sizeof(err)), 0);
    fetch_once(loop, aws, &f);
    ck_assert_int_eq(f.err, 0);
    ck_assert_int_eq(f.doc.kind, KW_CRED_AWS);
    ck_assert_str_eq(f.doc.access_key, "AKID");
    ck_assert_str_eq(f.doc.secret_key, "sec/ret");
    ck_assert_str_eq(f.doc.session_token, "tok");
    ck_assert_ptr_null(f.doc.user_agent);
    kw__cred_doc_clear(&f.doc);

    kw__cred_source_close(src);
    kw__cred_source_close(aws);
    kw__loop_free(loop);
    kw__cred_source_free(src);
    kw__cred_source_free(aws);
    unlink(path);
    unlink(apath);
    rmdir(dir);
}
END_TEST

START_TEST(source_options_are_checked)
{
    kw_loop *loop;
    ck_assert_int_eq(kw__loop_new(&loop), 0);
    kw_cred_source *src = (kw_cred_source *)1;
    char err[256];
    kw_cred_source_options so = {.kind = KW_CRED_OAUTH, .file = "/a", .http_socket = "/b"};
    ck_assert_int_eq(kw__cred_source_new(&src, loop, &so, err, sizeof(err)), KW_ECONFIG);
    ck_assert_ptr_null(src);
    ck_assert_msg(strstr(err, "not both"), "%s", err);
    so = (kw_cred_source_options){.kind = KW_CRED_AWS, .http_socket = ""};
    ck_assert_int_eq(kw__cred_source_new(&src, loop, &so, err, sizeof(err)), KW_ECONFIG);
    ck_assert_msg(strstr(err, "AWS_MSK_IAM credential HTTP socket path is empty"), "%s", err);
    so = (kw_cred_source_options){.file = "/a"};
    ck_assert_int_eq(kw__cred_source_new(&src, loop, &so, err, sizeof(err)), KW_ECONFIG);
    kw__loop_free(loop);
}
END_TEST

static kw_cred_source *http_source(kw_loop *loop, int kind, const char *path, uint32_t timeout)
{
    kw_cred_source *src;
    char err[256];
    kw_cred_source_options so = {.kind = kind, .http_socket = path, .timeout_ms = timeout};
    ck_assert_int_eq(kw__cred_source_new(&src, loop, &so, err, sizeof(err)), 0);
    return src;
}

static void on_tick(kw_loop_timer *t, void *arg)
{
    (*(int *)arg)++;
    kw__loop_timer_start(t, 20);
}

START_TEST(http_source_answers_and_failures)
{
    cred_server srv;
    ck_assert_int_eq(cred_server_start(&srv, 200, "{\"token\":\"from.http\",\"zid\":\"bob\"}"), 0);
    kw_loop *loop;
    ck_assert_int_eq(kw__loop_new(&loop), 0);
    /* A short timeout only for the slow case: a loaded machine may take a while for the rest. */
    kw_cred_source *src = http_source(loop, KW_CRED_OAUTH, srv.path, 0);
    kw_cred_source *quick = http_source(loop, KW_CRED_OAUTH, srv.path, 400);
    fetched f = {0};

    fetch_once(loop, src, &f);
    ck_assert_msg(f.err == 0, "%s", f.detail);
    ck_assert_str_eq(f.doc.token, "from.http");
    ck_assert_str_eq(f.doc.zid, "bob");
    ck_assert_int_eq(atomic_load(&srv.requests), 1);
    pthread_mutex_lock(&srv.mu);
    ck_assert_msg(strncmp(srv.last_request, "GET / HTTP/1.1\r\n", 16) == 0, "%s", srv.last_request);
    pthread_mutex_unlock(&srv.mu);

    /* asked anew each time: the server's new answer is what comes back */
    cred_server_set(&srv, 200, 0, "{\"token\":\"rotated\"}");
    fetch_once(loop, src, &f);
    ck_assert_int_eq(f.err, 0);
    ck_assert_str_eq(f.doc.token, "rotated");
    ck_assert_int_eq(atomic_load(&srv.requests), 2);

    /* slow: the timeout, and the loop kept running meanwhile (a timer ticked) */
    cred_server_set(&srv, 200, 3000, "{\"token\":\"late\"}");
    kw_loop_timer tick;
    int ticks = 0;
    kw__loop_timer_init(loop, &tick, on_tick, &ticks);
    kw__loop_timer_start(&tick, 20);
    uint64_t t0 = now_ms();
    fetch_once(loop, quick, &f);
    uint64_t took = now_ms() - t0;
    kw__loop_timer_stop(&tick);
    ck_assert_int_eq(f.err, KW_ESASL);
    ck_assert_msg(strstr(f.detail, "no answer within 400 ms") && strstr(f.detail, srv.path), "%s",
                  f.detail);
    ck_assert_msg(took >= 380 && took < 2000, "took %llu ms", (unsigned long long)took);
    ck_assert_msg(ticks >= 10, "the loop ran only %d timer ticks during the request", ticks);
    ck_assert_ptr_null(f.doc.token);

    /* 500: the status and the start of the body */
    cred_server_set(&srv, 500, 0, "backend down");
    fetch_once(loop, src, &f);
    ck_assert_int_eq(f.err, KW_ESASL);
    ck_assert_msg(strstr(f.detail, "status 500") && strstr(f.detail, "backend down"), "%s",
                  f.detail);

    /* 200 with a bad document */
    cred_server_set(&srv, 200, 0, "{\"token\": ");
    fetch_once(loop, src, &f);
    ck_assert_int_eq(f.err, KW_ESASL);
    ck_assert_msg(strstr(f.detail, "not JSON"), "%s", f.detail);
    cred_server_set(&srv, 200, 0, "{\"token\": \"bad token\"}");
    fetch_once(loop, src, &f);
    ck_assert_int_eq(f.err, KW_ESASL);
    ck_assert_msg(strstr(f.detail, "field \"token\" has characters"), "%s", f.detail);

    /* AWS over HTTP */
    kw_cred_source *aws = http_source(loop, KW_CRED_AWS, srv.path, 0);
    cred_server_set(&srv, 200, 0,
                    "{\"AccessKey\":\"AKIDHTTP\",\"SecretKey\":\"s3cr3t\",\"UserAgent\":\"ua/1\"}");
    fetch_once(loop, aws, &f);
    ck_assert_msg(f.err == 0, "%s", f.detail);
    ck_assert_str_eq(f.doc.access_key, "AKIDHTTP");
    ck_assert_str_eq(f.doc.secret_key, "s3cr3t");
    ck_assert_ptr_null(f.doc.session_token);
    ck_assert_str_eq(f.doc.user_agent, "ua/1");
    kw__cred_doc_clear(&f.doc);

    /* nobody listening */
    cred_server_stop(&srv);
    fetch_once(loop, aws, &f);
    ck_assert_int_eq(f.err, KW_ESASL);
    ck_assert_msg(strstr(f.detail, "AWS_MSK_IAM credentials from HTTP socket") &&
                      strstr(f.detail, "GET / failed"),
                  "%s", f.detail);

    kw__cred_source_close(src);
    kw__cred_source_close(quick);
    kw__cred_source_close(aws);
    kw__loop_free(loop);
    kw__cred_source_free(src);
    kw__cred_source_free(quick);
    kw__cred_source_free(aws);
}
END_TEST

/* A request still waiting when its fetch is cancelled, then when the source goes: both end at once. */
START_TEST(http_request_abandoned_midway)
{
    cred_server srv;
    ck_assert_int_eq(cred_server_start(&srv, 200, "{\"token\":\"late\"}"), 0);
    cred_server_set(&srv, 200, 8000, "{\"token\":\"late\"}");
    kw_loop *loop;
    ck_assert_int_eq(kw__loop_new(&loop), 0);
    kw_cred_source *src = http_source(loop, KW_CRED_OAUTH, srv.path, 10000);
    fetched f = {0}, g = {0};
    kw_cred_job *job, *job2;
    ck_assert_int_eq(kw__cred_fetch(src, on_fetched, &f, &job), 0);
    ck_assert_int_eq(kw__cred_fetch(src, on_fetched, &g, &job2), 0);
    for (int i = 0; i < 10; i++)
        kw__loop_run_once(loop, 10);
    uint64_t t0 = now_ms();
    kw__cred_cancel(job);
    /* the cancelled worker stops and is reaped by the loop, without a callback */
    for (int i = 0; i < 20; i++)
        kw__loop_run_once(loop, 10);
    ck_assert_int_eq(f.calls, 0);
    /* job2 is still waiting for the slow server: the source goes now */
    kw__cred_source_close(src);
    kw__loop_free(loop);
    kw__cred_source_free(src);
    uint64_t took = now_ms() - t0;
    ck_assert_int_eq(g.calls, 0);
    ck_assert_msg(took < 1500, "abandoning took %llu ms", (unsigned long long)took);
    cred_server_stop(&srv);
}
END_TEST

/* ---------------------------------------------------------------- kw_client_new's checks */

static int client_new(kw_client_options o, char *err)
{
    o.bootstrap = "127.0.0.1:1"; /* nothing connects before the first call */
    if (!o.security)
        o.security = KW_CLIENT_SASL_PLAINTEXT;
    kw_client *c = (kw_client *)1;
    int rc = kw_client_new(&c, &o, err, 512);
    if (rc == 0)
        kw_client_destroy(c);
    else
        ck_assert_ptr_null(c);
    return rc;
}

START_TEST(client_options_take_exactly_one_source)
{
    char err[512];
    kw_client_options o = {.sasl_mechanism = "OAUTHBEARER", .oauth_file = "/run/oauth.json"};
    ck_assert_msg(client_new(o, err) == 0, "%s", err);
    o.oauth_http_socket = "/run/cred.sock";
    ck_assert_int_eq(client_new(o, err), KW_ECONFIG);
    ck_assert_str_eq(err, "SASL: oauth_file and oauth_http_socket are both set: OAUTHBEARER takes "
                          "exactly one credential source");
    o = (kw_client_options){.sasl_mechanism = "OAUTHBEARER", .oauth_token = "t",
                            .oauth_http_socket = "/run/cred.sock", .sasl_http_timeout_ms = 100};
    ck_assert_int_eq(client_new(o, err), KW_ECONFIG);
    ck_assert_msg(strstr(err, "oauth_token and oauth_http_socket are both set"), "%s", err);
    o = (kw_client_options){.sasl_mechanism = "OAUTHBEARER", .oauth_token_file = "/t",
                            .oauth_file = "/run/oauth.json"};
    ck_assert_int_eq(client_new(o, err), KW_ECONFIG);
    ck_assert_msg(strstr(err, "oauth_token_file and oauth_file are both set"), "%s", err);
    o = (kw_client_options){.sasl_mechanism = "AWS_MSK_IAM", .aws_file = "/a.json",
                            .aws_http_socket = "/a.sock"};
    ck_assert_int_eq(client_new(o, err), KW_ECONFIG);
    ck_assert_msg(strstr(err, "aws_file and aws_http_socket are both set"), "%s", err);
    o = (kw_client_options){.sasl_mechanism = "PLAIN", .sasl_username = "u",
                            .sasl_password = "p", .oauth_file = "/run/oauth.json"};
    ck_assert_int_eq(client_new(o, err), KW_ECONFIG);
    ck_assert_str_eq(err, "SASL: oauth_file goes with sasl_mechanism OAUTHBEARER, not PLAIN");
    o = (kw_client_options){.sasl_mechanism = "OAUTHBEARER", .aws_http_socket = "/a.sock"};
    ck_assert_int_eq(client_new(o, err), KW_ECONFIG);
    ck_assert_msg(strstr(err, "aws_http_socket goes with sasl_mechanism AWS_MSK_IAM"), "%s", err);
    o = (kw_client_options){.sasl_mechanism = "OAUTHBEARER", .oauth_http_socket = ""};
    ck_assert_int_eq(client_new(o, err), KW_ECONFIG);
    ck_assert_msg(strstr(err, "HTTP socket path is empty"), "%s", err);
    o = (kw_client_options){.sasl_mechanism = "OAUTHBEARER"};
    ck_assert_int_eq(client_new(o, err), KW_ECONFIG);
    ck_assert_msg(strstr(err, "exactly one"), "%s", err);
    /* TLS options are checked at kw_client_new too */
    o = (kw_client_options){.security = KW_CLIENT_SSL, .tls_insecure_skip_verify = true,
                            .tls_min_version = "TLSv1.0"};
    ck_assert_int_eq(client_new(o, err), KW_ECONFIG);
    ck_assert_msg(strstr(err, "\"TLSv1.0\""), "%s", err);
    o = (kw_client_options){.security = KW_CLIENT_SSL, .tls_insecure_skip_verify = true,
                            .tls_cipher_suites = "TLS_AES_128_GCM_SHA256:BOGUS"};
    ck_assert_int_eq(client_new(o, err), KW_ECONFIG);
    ck_assert_msg(strstr(err, "\"BOGUS\""), "%s", err);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cred");
    TCase *p = tcase_create("parse");
    tcase_add_test(p, oauth_document_with_every_field);
    tcase_add_loop_test(p, bad_documents_name_the_field, 0,
                        (int)(sizeof(bad_docs) / sizeof(bad_docs[0])));
    tcase_add_test(p, aws_document_fields);
    tcase_add_test(p, oversized_document_is_refused);
    tcase_add_test(p, fetched_document_builds_the_client_first_message);
    suite_add_tcase(s, p);
    TCase *src = tcase_create("sources");
    tcase_set_timeout(src, 60);
    tcase_add_test(src, file_source_is_read_anew_at_each_fetch);
    tcase_add_test(src, source_options_are_checked);
    tcase_add_test(src, http_source_answers_and_failures);
    tcase_add_test(src, http_request_abandoned_midway);
    tcase_add_test(src, client_options_take_exactly_one_source);
    suite_add_tcase(s, src);
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
