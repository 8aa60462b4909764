/* The public client: options, the loop (own thread or host-driven), call submission, and the data calls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "net/client_int.h"
#include "net/too_large.h"
#include "proto/kerr.h"
#include "proto/msg_data.h"

/* ---------------------------------------------------------------- shared helpers */

uint64_t kw__client_deadline(const kw_client *c, uint32_t timeout_ms)
{
    return kw__clock_now_ns() + (uint64_t)(timeout_ms ? timeout_ms : c->request_timeout_ms) * 1000000u;
}

/* What is left of a deadline in ms, for the timeout fields requests carry (at least 1). */
int32_t kw__client_ms_left(uint64_t deadline_ns)
{
    uint64_t now = kw__clock_now_ns();
    if (deadline_ns <= now + 1000000u)
        return 1;
    uint64_t ms = (deadline_ns - now) / 1000000u;
    return ms > INT32_MAX ? INT32_MAX : (int32_t)ms;
}

void kw__client_detail(char *dst, int err, const char *detail)
{
    if (!err)
        dst[0] = 0;
    else
        snprintf(dst, KW_CLIENT_DETAIL_MAX, "%s", detail && *detail ? detail : kw_strerror(err));
}

void kw__call_fail(kw_call *k, int err, const char *detail)
{
    kw_cluster_result res = {.err = err, .version = -1, .node_id = -1, .detail = detail};
    k->done(&res, k);
}

void kw__waiter_done(kw_waiter *w)
{
    pthread_mutex_lock(&w->mu);
    atomic_store(&w->done, true);
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void client_log(void *arg, int level, const char *msg)
{
    kw_client *c = arg;
    if (c->new_errbuf && level == KW_LOG_ERROR && c->new_errlen)
        snprintf(c->new_errbuf, c->new_errlen, "%s", msg);
    if (c->log)
        c->log(c->log_arg, level, msg);
}

/* ---------------------------------------------------------------- submission */

/* Loop thread: start everything submitted so far, in submission order. */
static void drain(kw_loop *loop, void *arg)
{
    kw_client *c = arg;
    (void)loop;
    pthread_mutex_lock(&c->mu);
    kw_call *k = c->head;
    c->head = NULL;
    c->tailp = &c->head;
    c->drain_posted = false;
    pthread_mutex_unlock(&c->mu);
    while (k) {
        kw_call *next = k->next;
        k->next = NULL;
        int rc = k->start(k);
        if (rc) /* only bad arguments or no memory get here */
            kw__call_fail(k, rc, NULL);
        k = next;
    }
}

/*
 * One drain task per burst, not one post per call: a producer submitting
 * thousands of calls wakes the loop (and allocates a task) once per burst.
 */
int kw__client_submit(kw_client *c, kw_call *k)
{
    k->next = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->closing) {
        pthread_mutex_unlock(&c->mu);
        return KW_ECLOSED;
    }
    if (!c->drain_posted) {
        int rc = kw__loop_post(c->loop, drain, NULL, c);
        if (rc) {
            pthread_mutex_unlock(&c->mu);
            return rc;
        }
        c->drain_posted = true;
    }
    *c->tailp = k;
    c->tailp = &k->next;
    pthread_mutex_unlock(&c->mu);
    return 0;
}

/* ---------------------------------------------------------------- lifecycle */

static void note_io_thread(kw_loop *loop, void *arg)
{
    kw_client *c = arg;
    (void)loop;
    c->io_tid = pthread_self();
    atomic_store(&c->io_tid_set, true);
}

static char *keep(kw_client *c, const char *s)
{
    if (!s)
        return NULL;
    for (size_t i = 0; i < sizeof(c->strs) / sizeof(c->strs[0]); i++)
        if (!c->strs[i])
            return c->strs[i] = strdup(s);
    return NULL;
}

/* AWS_MSK_IAM's last region source: the environment, as the AWS CLI and SDKs read it. */
static const char *env_region(void)
{
    const char *r = getenv("AWS_REGION");
    if (!r || !r[0])
        r = getenv("AWS_DEFAULT_REGION");
    return r && r[0] ? r : NULL;
}

static void client_free(kw_client *c)
{
    kw__cluster_free(c->cluster);
    /* The connections are gone (their fetches cancelled); stop the source before its loop goes. */
    kw__cred_source_close(c->cred);
    kw__loop_free(c->loop);
    kw__cred_source_free(c->cred);
    kw__tls_ctx_unref(c->tls);
    for (size_t i = 0; i < sizeof(c->strs) / sizeof(c->strs[0]); i++) {
        if (c->strs[i]) /* passwords and tokens among them: wipe before free */
            memset(c->strs[i], 0, strlen(c->strs[i]));
        free(c->strs[i]);
    }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static int new_fail(kw_client *c, int rc, char *errbuf, size_t errlen, const char *fmt,
                    const char *arg)
{
    if (fmt && errbuf && errlen)
        snprintf(errbuf, errlen, fmt, arg ? arg : "");
    client_free(c);
    return rc;
}

/*
 * The document source for OAUTHBEARER (oauth_file, oauth_http_socket) or
 * AWS_MSK_IAM (aws_file, aws_http_socket), after checking that exactly one
 * source of the mechanism's is set and none of the other mechanism's: 0, or
 * KW_ECONFIG naming the options.  c->cred stays NULL for static credentials.
 */
static int cred_source_new(kw_client *c, const kw_client_options *opt, char *why, size_t len)
{
    const char *mech = opt->sasl_mechanism ? opt->sasl_mechanism : "PLAIN";
    bool oauth = strcasecmp(mech, "OAUTHBEARER") == 0;
    bool aws = strcasecmp(mech, "AWS_MSK_IAM") == 0;
    struct {
        const char *name;
        bool set, is_oauth;
    } src[] = {
        {"oauth_token", opt->oauth_token != NULL, true},
        {"oauth_token_file", opt->oauth_token_file != NULL, true},
        {"oauth_token_cb", opt->oauth_token_cb != NULL, true},
        {"oauth_file", opt->oauth_file != NULL, true},
        {"oauth_http_socket", opt->oauth_http_socket != NULL, true},
        /* The static AWS keys count as one more AWS source. */
        {"aws_access_key_id", opt->aws_access_key_id != NULL, false},
        {"aws_file", opt->aws_file != NULL, false},
        {"aws_http_socket", opt->aws_http_socket != NULL, false},
    };
    const char *first = NULL;
    for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
        if (!src[i].set)
            continue;
        if (src[i].is_oauth ? !oauth : !aws) {
            snprintf(why, len, "%s goes with sasl_mechanism %s, not %s", src[i].name,
                     src[i].is_oauth ? "OAUTHBEARER" : "AWS_MSK_IAM", mech);
            return KW_ECONFIG;
        }
        if (first) {
            snprintf(why, len,
                     "%s and %s are both set: %s takes exactly one credential source", first,
                     src[i].name, mech);
            return KW_ECONFIG;
        }
        first = src[i].name;
    }
    kw_cred_source_options co = {.timeout_ms = opt->sasl_http_timeout_ms};
    if (oauth) {
        co.kind = KW_CRED_OAUTH;
        co.file = opt->oauth_file;
        co.http_socket = opt->oauth_http_socket;
    } else if (aws) {
        co.kind = KW_CRED_AWS;
        co.file = opt->aws_file;
        co.http_socket = opt->aws_http_socket;
    }
    if (!co.file && !co.http_socket)
        return 0;
    return kw__cred_source_new(&c->cred, c->loop, &co, why, len);
}

KW_API int kw_client_new(kw_client **out, const kw_client_options *opt, char *errbuf,
                         size_t errlen)
{
    if (errbuf && errlen)
        errbuf[0] = 0;
    if (!out)
        return KW_EINVAL;
    *out = NULL;
    if (!opt || !opt->bootstrap || !*opt->bootstrap) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "options: bootstrap is required");
        return KW_EINVAL;
    }
    if (opt->security < KW_CLIENT_PLAINTEXT || opt->security > KW_CLIENT_SASL_SSL) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "options: unknown security protocol %d", opt->security);
        return KW_EINVAL;
    }
    /* The cap resolves to a row of the const release table: nothing to copy or free. */
    const kw_api_release *release = NULL;
    if (opt->api_version_max && *opt->api_version_max) {
        char why[256];
        int rc = kw__api_release_find(opt->api_version_max, &release, why, sizeof(why));
        if (rc) {
            if (errbuf && errlen)
                snprintf(errbuf, errlen, "options: %s", why);
            return rc;
        }
    }
    kw_client *c = calloc(1, sizeof(*c));
    if (!c)
        return KW_ENOMEM;
    pthread_mutex_init(&c->mu, NULL);
    c->tailp = &c->head;
    c->request_timeout_ms = opt->request_timeout_ms ? opt->request_timeout_ms : 30000;
    c->host_driven = opt->host_driven;
    c->log = opt->log;
    c->log_arg = opt->log_arg;
    c->new_errbuf = errbuf;
    c->new_errlen = errbuf ? errlen : 0;

    const char *bootstrap = keep(c, opt->bootstrap);
    const char *client_id = keep(c, opt->client_id);
    const char *server_name = keep(c, opt->tls_server_name);
    if (!bootstrap || (opt->client_id && !client_id) || (opt->tls_server_name && !server_name))
        return new_fail(c, KW_ENOMEM, NULL, 0, NULL, NULL);

    bool use_tls = opt->security == KW_CLIENT_SSL || opt->security == KW_CLIENT_SASL_SSL;
    bool use_sasl =
        opt->security == KW_CLIENT_SASL_PLAINTEXT || opt->security == KW_CLIENT_SASL_SSL;
    if (use_tls) {
        /* The CA and key files are read here, once: a bad path fails now, not at each connect. */
        kw_tls_config tc = {.ca_file = opt->tls_ca_file,
                            .ca_dir = opt->tls_ca_dir,
                            .cert_file = opt->tls_cert_file,
                            .key_file = opt->tls_key_file,
                            .insecure_skip_verify = opt->tls_insecure_skip_verify,
                            .no_hostname_check = opt->tls_no_hostname_check,
                            .min_version = opt->tls_min_version,
                            .cipher_suites = opt->tls_cipher_suites};
        char why[512] = "";
        int rc = kw__tls_ctx_new(&c->tls, &tc, why, sizeof(why));
        if (rc)
            return new_fail(c, rc, errbuf, errlen, "%s", why);
        if (opt->tls_insecure_skip_verify)
            client_log(c, KW_LOG_WARN,
                       "TLS certificate verification is off (tls_insecure_skip_verify): "
                       "anyone on the path can read and change the traffic");
    }
    if (!use_tls && (opt->tls_ca_file || opt->tls_ca_dir || opt->tls_cert_file))
        client_log(c, KW_LOG_WARN,
                   "TLS files are set but the security protocol is not SSL or SASL_SSL: "
                   "connections are not encrypted");
    int rc = kw__loop_new(&c->loop);
    if (rc)
        return new_fail(c, rc, errbuf, errlen, "cannot create the event loop: %s",
                        kw_strerror(rc));
    if (use_sasl) {
        char cred_why[512] = "";
        rc = cred_source_new(c, opt, cred_why, sizeof(cred_why));
        if (rc)
            return new_fail(c, rc, errbuf, errlen, "SASL: %s", cred_why);
        c->sasl = (kw_sasl_config){
            .cred = c->cred,
            .mechanism = keep(c, opt->sasl_mechanism ? opt->sasl_mechanism : "PLAIN"),
            .username = keep(c, opt->sasl_username),
            .password = keep(c, opt->sasl_password),
            .oauth_token = keep(c, opt->oauth_token),
            .oauth_token_file = keep(c, opt->oauth_token_file),
            .oauth_token_cb = opt->oauth_token_cb,
            .oauth_token_ctx = opt->oauth_token_arg,
            .kerberos_service_name = keep(c, opt->sasl_kerberos_service_name),
            /* AWS_MSK_IAM: AWS_REGION is read here, once; the loop thread never calls getenv. */
            .aws_access_key_id = keep(c, opt->aws_access_key_id),
            .aws_secret_access_key = keep(c, opt->aws_secret_access_key),
            .aws_session_token = keep(c, opt->aws_session_token),
            .aws_region = keep(c, opt->aws_region),
            .aws_user_agent = keep(c, opt->aws_user_agent),
            .aws_env_region = opt->aws_region ? NULL : keep(c, env_region()),
        };
        if (!c->sasl.mechanism || (opt->sasl_username && !c->sasl.username) ||
            (opt->sasl_kerberos_service_name && !c->sasl.kerberos_service_name) ||
            (opt->sasl_password && !c->sasl.password) ||
            (opt->oauth_token && !c->sasl.oauth_token) ||
            (opt->oauth_token_file && !c->sasl.oauth_token_file) ||
            (opt->aws_access_key_id && !c->sasl.aws_access_key_id) ||
            (opt->aws_secret_access_key && !c->sasl.aws_secret_access_key) ||
            (opt->aws_session_token && !c->sasl.aws_session_token) ||
            (opt->aws_region && !c->sasl.aws_region) ||
            (opt->aws_user_agent && !c->sasl.aws_user_agent) ||
            (!opt->aws_region && env_region() && !c->sasl.aws_env_region))
            return new_fail(c, KW_ENOMEM, NULL, 0, NULL, NULL);
        /* Check the SASL settings now, so a typo is an error here and not at every connect. */
        kw_sasl probe;
        rc = kw__sasl_init(&probe, &c->sasl);
        if (rc) {
            char why[1024];
            snprintf(why, sizeof(why), "%s", kw__sasl_errstr(&probe));
            kw__sasl_free(&probe);
            return new_fail(c, rc == KW_EINVAL ? KW_ECONFIG : rc, errbuf, errlen, "SASL: %s",
                            why);
        }
        kw__sasl_free(&probe);
    }

    kw_cluster_options co = {
        .bootstrap = bootstrap,
        .conn = {.client_id = client_id,
                 .connect_timeout_ms = opt->connect_timeout_ms,
                 .tls = c->tls,
                 .tls_server_name = server_name,
                 .sasl = use_sasl ? &c->sasl : NULL,
                 .max_in_flight = opt->max_in_flight,
                 .api_release = release,
                 .log = client_log,
                 .log_arg = c},
    };
    rc = kw__cluster_new(&c->cluster, c->loop, &co);
    if (rc) /* the cluster logged why, which client_log put in errbuf */
        return new_fail(c, rc, NULL, 0, NULL, NULL);
    c->new_errbuf = NULL; /* the I/O thread may log from now on */
    c->new_errlen = 0;
    if (!c->host_driven) {
        rc = kw__loop_post(c->loop, note_io_thread, NULL, c);
        if (!rc)
            rc = kw__loop_start_thread(c->loop);
        if (rc)
            return new_fail(c, rc, errbuf, errlen, "cannot start the I/O thread: %s",
                            kw_strerror(rc));
    }
    *out = c;
    return 0;
}

KW_API void kw_client_destroy(kw_client *c)
{
    if (!c)
        return;
    if (kw__client_can_block(c)) {
        /* From a callback: tearing the loop down under itself would crash; leaking is the
         * lesser harm, and the log says why. */
        client_log(c, KW_LOG_ERROR, "kw_client_destroy called from a callback: ignored");
        return;
    }
    pthread_mutex_lock(&c->mu);
    c->closing = true; /* submissions from here on (callbacks included) get KW_ECLOSED */
    pthread_mutex_unlock(&c->mu);
    /* Every task posted before this runs first, so every drained call is in the cluster. */
    if (!c->host_driven)
        kw__loop_stop_thread(c->loop);
    /* From here this thread is the loop thread: fail what the cluster holds, then what was
     * submitted but never drained (host-driven mode, or a post that raced with stop). */
    kw__cluster_free(c->cluster);
    c->cluster = NULL;
    pthread_mutex_lock(&c->mu);
    kw_call *k = c->head;
    c->head = NULL;
    c->tailp = &c->head;
    pthread_mutex_unlock(&c->mu);
    while (k) {
        kw_call *next = k->next;
        kw__call_fail(k, KW_ECLOSED, "the client was destroyed");
        k = next;
    }
    client_free(c);
}

KW_API int kw_client_backend_fd(const kw_client *c)
{
    return c ? kw__loop_backend_fd(c->loop) : -1;
}

KW_API int kw_client_timeout_ms(kw_client *c)
{
    return c ? kw__loop_timeout_ms(c->loop) : -1;
}

KW_API int kw_client_run_once(kw_client *c, int timeout_ms)
{
    if (!c || !c->host_driven)
        return KW_EINVAL;
    int rc = kw__client_can_block(c);
    if (rc) /* from a callback */
        return rc;
    if (!kw__client_enter_loop(c))
        return KW_EINVAL; /* two threads at once */
    rc = kw__loop_run_once(c->loop, timeout_ms);
    kw__client_leave_loop(c);
    return rc;
}

/* ---------------------------------------------------------------- produce */

typedef struct produce_call {
    kw_call base;
    int32_t partition;
    int16_t acks;
    bool free_batch;
    const uint8_t *batch;
    size_t batch_len;
    const char *topic;
    kw_produce_req_partition p;
    kw_produce_req_topic t;
    kw_produce_req req;
    /* the topic (and, for a copied batch, the batch) follow in the same allocation */
} produce_call;

static int produce_build(void *arg, int version, int32_t epoch, const void **req)
{
    produce_call *k = arg;
    (void)version;
    (void)epoch;
    /* Every member set by hand: the same at every version kwal speaks, no table walk. */
    k->p = (kw_produce_req_partition){.index = k->partition,
                                      .records = {k->batch, (int32_t)k->batch_len}};
    k->t.name = kw_str_c(k->topic);
    k->t.partition_data.v = &k->p;
    k->t.partition_data.n = 1;
    k->req.transactional_id = KW_STR_NULL;
    k->req.acks = k->acks;
    k->req.timeout_ms = kw__client_ms_left(k->base.deadline_ns);
    k->req.topic_data.v = &k->t;
    k->req.topic_data.n = 1;
    *req = &k->req;
    return 0;
}

static void produce_finish(produce_call *k, kw_client_produce_result *r)
{
    kw_waiter *w = k->base.w;
    kw_client_produce_cb *cb = (kw_client_produce_cb *)k->base.cb;
    void *cb_arg = k->base.cb_arg;
    if (k->free_batch)
        free((void *)k->batch);
    free(k);
    if (w)
        kw__waiter_done(w);
    else
        cb(r, cb_arg);
}

/* A batch refused as too large, waiting for the topic's limit to name in the detail. */
typedef struct produce_too_large {
    produce_call *k;
    kw_client_produce_result r; /* the async form's result (the blocking form fills w->out) */
} produce_too_large;

static void produce_explained(void *arg, const char *detail)
{
    produce_too_large *t = arg;
    produce_call *k = t->k;
    kw_client_produce_result *r = k->base.w ? k->base.w->out : &t->r;
    snprintf(r->detail, sizeof(r->detail), "%s", detail);
    produce_finish(k, r);
    free(t);
}

static void produce_done(const kw_cluster_result *res, void *arg)
{
    produce_call *k = arg;
    kw_client_produce_result stack;
    kw_waiter *w = k->base.w;
    produce_too_large *t = NULL;
    if (res->err == KW_EBROKER && (res->kerr == KW_KERR_MESSAGE_TOO_LARGE ||
                                   res->kerr == KW_KERR_RECORD_LIST_TOO_LARGE))
        t = calloc(1, sizeof(*t));
    kw_client_produce_result *r = w ? w->out : t ? &t->r : &stack;
    r->err = res->err;
    r->kerr = res->kerr;
    kw__client_detail(r->detail, res->err, res->detail);
    r->base_offset = r->log_append_time_ms = r->log_start_offset = -1;
    const kw_produce_resp *resp = res->resp;
    if (resp && resp->responses.n > 0 && resp->responses.v[0].partition_responses.n > 0) {
        const kw_produce_resp_partition *p = &resp->responses.v[0].partition_responses.v[0];
        r->base_offset = p->base_offset;
        r->log_append_time_ms = p->log_append_time_ms;
        r->log_start_offset = p->log_start_offset;
    }
    if (t) {
        t->k = k;
        if (kw__too_large_explain(k->base.c, k->topic, k->partition, res->kerr, k->batch,
                                  k->batch_len, produce_explained, t) == 0)
            return;
        if (!w)
            stack = t->r;
        free(t);
        r = w ? w->out : &stack;
    }
    produce_finish(k, r);
}

static int produce_start(kw_call *base)
{
    produce_call *k = (produce_call *)base;
    return kw__cluster_send_partition(base->c->cluster, KW_API_PRODUCE, k->topic, k->partition,
                                      produce_build, k, base->deadline_ns, produce_done, k);
}

static int produce_check(const kw_client *c, const kw_client_produce_args *a)
{
    if (!c || !a || !a->topic || !*a->topic || a->partition < 0 || !a->batch ||
        a->batch_len == 0 || a->batch_len > INT32_MAX || a->acks < KW_CLIENT_ACKS_ALL ||
        a->acks > KW_CLIENT_ACKS_NONE)
        return KW_EINVAL;
    return 0;
}

/* One allocation: the call, the topic, and (copy) the batch. */
static produce_call *produce_new(kw_client *c, const kw_client_produce_args *a, bool copy)
{
    size_t tl = strlen(a->topic) + 1;
    bool take = a->flags & KW_CLIENT_PRODUCE_TAKE_BATCH;
    size_t extra = tl + (copy && !take ? a->batch_len : 0);
    produce_call *k = malloc(sizeof(*k) + extra);
    if (!k)
        return NULL;
    memset(k, 0, sizeof(*k));
    char *topic = (char *)(k + 1);
    memcpy(topic, a->topic, tl);
    k->topic = topic;
    if (copy && !take) {
        uint8_t *b = (uint8_t *)topic + tl;
        memcpy(b, a->batch, a->batch_len);
        k->batch = b;
    } else {
        k->batch = a->batch;
    }
    k->batch_len = a->batch_len;
    k->free_batch = take;
    k->partition = a->partition;
    static const int16_t acks[] = {-1, 1, 0};
    k->acks = acks[a->acks];
    k->base.c = c;
    k->base.start = produce_start;
    k->base.done = produce_done;
    k->base.deadline_ns = kw__client_deadline(c, a->timeout_ms);
    return k;
}

KW_API int kw_client_produce_async(kw_client *c, const kw_client_produce_args *a,
                                   kw_client_produce_cb *cb, void *arg)
{
    int rc = cb ? produce_check(c, a) : KW_EINVAL;
    produce_call *k = rc ? NULL : produce_new(c, a, true);
    if (!rc && !k)
        rc = KW_ENOMEM;
    if (!rc) {
        k->base.cb = (void (*)(void))cb;
        k->base.cb_arg = arg;
        rc = kw__client_submit(c, &k->base);
        if (!rc)
            return 0;
        free(k);
    }
    if (a && (a->flags & KW_CLIENT_PRODUCE_TAKE_BATCH))
        free((void *)a->batch);
    return rc;
}

static void status_fill(int *err, int16_t *kerr, char *detail, int rc, const char *why)
{
    *err = rc;
    *kerr = 0;
    kw__client_detail(detail, rc, why);
}

KW_API int kw_client_produce(kw_client *c, const kw_client_produce_args *a,
                             kw_client_produce_result *out)
{
    if (!out)
        return KW_EINVAL;
    out->base_offset = out->log_append_time_ms = out->log_start_offset = -1;
    int rc = produce_check(c, a);
    if (!rc)
        rc = kw__client_can_block(c);
    produce_call *k = rc ? NULL : produce_new(c, a, false); /* the caller's batch outlives us */
    if (!rc && !k)
        rc = KW_ENOMEM;
    if (!rc) {
        kw_waiter w;
        rc = kw__client_wait(c, &k->base, &w, out);
        if (!rc)
            return out->err;
        free(k);
    }
    if (a && (a->flags & KW_CLIENT_PRODUCE_TAKE_BATCH))
        free((void *)a->batch);
    status_fill(&out->err, &out->kerr, out->detail, rc,
                rc == KW_EINVAL    ? "bad arguments"
                : rc == KW_EDEADLK ? "a blocking call from a callback (the loop thread)"
                                   : NULL);
    return rc;
}

/* ---------------------------------------------------------------- fetch */

typedef struct fetch_call {
    kw_call base;
    int32_t partition;
    int64_t offset;
    int32_t max_bytes, max_wait_ms, min_bytes;
    int8_t isolation;
    kw_fetch_req_partition p;
    kw_fetch_req_topic t;
    kw_fetch_req req;
    char topic[];
} fetch_call;

static int fetch_build(void *arg, int version, int32_t epoch, const void **req)
{
    fetch_call *k = arg;
    kw_uuid id;
    kw__cluster_topic_id(k->base.c->cluster, k->topic, &id);
    kw__schema_init(kw__api(KW_API_FETCH)->req, version, &k->req);
    k->p = (kw_fetch_req_partition){.partition = k->partition,
                                    .current_leader_epoch = epoch,
                                    .fetch_offset = k->offset,
                                    .last_fetched_epoch = -1,
                                    .log_start_offset = -1,
                                    .partition_max_bytes = k->max_bytes};
    k->t = (kw_fetch_req_topic){.topic = kw_str_c(k->topic), .topic_id = id};
    k->t.partitions.v = &k->p;
    k->t.partitions.n = 1;
    k->req.replica_id = -1;
    k->req.max_wait_ms = k->max_wait_ms;
    k->req.min_bytes = k->min_bytes;
    k->req.max_bytes = k->max_bytes;
    k->req.isolation_level = k->isolation;
    k->req.session_id = 0;
    k->req.session_epoch = -1; /* no fetch session: every request stands alone */
    k->req.topics.v = &k->t;
    k->req.topics.n = 1;
    k->req.forgotten_topics_data.n = 0;
    k->req.rack_id = kw_str_c("");
    *req = &k->req;
    return 0;
}

static void fetch_done(const kw_cluster_result *res, void *arg)
{
    fetch_call *k = arg;
    kw_client_fetch_result stack;
    kw_waiter *w = k->base.w;
    kw_client_fetch_result *r = w ? w->out : &stack;
    r->err = res->err;
    r->kerr = res->kerr;
    kw__client_detail(r->detail, res->err, res->detail);
    r->high_watermark = r->last_stable_offset = r->log_start_offset = -1;
    r->records = NULL;
    r->records_len = 0;
    /* From v13 the answer names the topic by the id the request carried. */
    const kw_fetch_resp_partition *p =
        kw__fetch_resp_find(res->resp, res->version, k->topic, k->t.topic_id, k->partition);
    if (!r->err && res->resp && !p) {
        r->err = KW_EMALFORMED;
        kw__client_detail(r->detail, r->err, "the Fetch response does not have the partition");
    }
    if (p) {
        r->high_watermark = p->high_watermark;
        r->last_stable_offset = p->last_stable_offset;
        r->log_start_offset = p->log_start_offset;
        if (!r->err && p->records.len > 0) {
            if (!w) {
                r->records = p->records.ptr; /* zero copy: valid during the callback */
                r->records_len = (size_t)p->records.len;
            } else {
                uint8_t *copy = malloc((size_t)p->records.len);
                if (copy) {
                    memcpy(copy, p->records.ptr, (size_t)p->records.len);
                    r->records = copy;
                    r->records_len = (size_t)p->records.len;
                } else {
                    r->err = KW_ENOMEM;
                    kw__client_detail(r->detail, KW_ENOMEM, "copying the fetched records");
                }
            }
        }
    }
    kw_client_fetch_cb *cb = (kw_client_fetch_cb *)k->base.cb;
    void *cb_arg = k->base.cb_arg;
    free(k);
    if (w)
        kw__waiter_done(w);
    else
        cb(r, cb_arg);
}

static int fetch_start(kw_call *base)
{
    fetch_call *k = (fetch_call *)base;
    return kw__cluster_send_partition(base->c->cluster, KW_API_FETCH, k->topic, k->partition,
                                      fetch_build, k, base->deadline_ns, fetch_done, k);
}

static fetch_call *fetch_new(kw_client *c, const kw_client_fetch_args *a, int *rc)
{
    *rc = KW_EINVAL;
    if (!c || !a || !a->topic || !*a->topic || a->partition < 0 || a->offset < 0 ||
        a->max_bytes < 0 || a->max_bytes > (int32_t)KW__MAX_FETCH_BYTES || a->max_wait_ms < 0 ||
        a->min_bytes < 0 ||
        (a->isolation != KW_CLIENT_READ_UNCOMMITTED && a->isolation != KW_CLIENT_READ_COMMITTED))
        return NULL;
    size_t tl = strlen(a->topic) + 1;
    fetch_call *k = calloc(1, sizeof(*k) + tl);
    if (!k) {
        *rc = KW_ENOMEM;
        return NULL;
    }
    memcpy(k->topic, a->topic, tl);
    k->partition = a->partition;
    k->offset = a->offset;
    k->max_bytes = a->max_bytes ? a->max_bytes : 1048576;
    k->max_wait_ms = a->max_wait_ms ? a->max_wait_ms : 500;
    k->min_bytes = a->min_bytes ? a->min_bytes : 1;
    k->isolation = (int8_t)a->isolation;
    k->base.c = c;
    k->base.start = fetch_start;
    k->base.done = fetch_done;
    k->base.deadline_ns = kw__client_deadline(c, a->timeout_ms);
    *rc = 0;
    return k;
}

KW_API int kw_client_fetch_async(kw_client *c, const kw_client_fetch_args *a,
                                 kw_client_fetch_cb *cb, void *arg)
{
    int rc;
    fetch_call *k = cb ? fetch_new(c, a, &rc) : (rc = KW_EINVAL, NULL);
    if (!k)
        return rc;
    k->base.cb = (void (*)(void))cb;
    k->base.cb_arg = arg;
    rc = kw__client_submit(c, &k->base);
    if (rc)
        free(k);
    return rc;
}

KW_API int kw_client_fetch(kw_client *c, const kw_client_fetch_args *a,
                           kw_client_fetch_result *out)
{
    if (!out)
        return KW_EINVAL;
    memset(out, 0, sizeof(*out));
    out->high_watermark = out->last_stable_offset = out->log_start_offset = -1;
    int rc;
    fetch_call *k = fetch_new(c, a, &rc);
    if (k && (rc = kw__client_can_block(c)) != 0) {
        free(k);
        k = NULL;
    }
    if (k) {
        kw_waiter w;
        rc = kw__client_wait(c, &k->base, &w, out);
        if (!rc)
            return out->err;
        free(k);
    }
    status_fill(&out->err, &out->kerr, out->detail, rc,
                rc == KW_EINVAL && a && a->max_bytes > (int32_t)KW__MAX_FETCH_BYTES
                    ? "max_bytes must be at most 67108864 (64 MiB): an answer holds max_bytes "
                      "plus a first batch larger than it, within the client's 100 MiB response "
                      "limit"
                    : NULL);
    return rc;
}

KW_API void kw_client_fetch_result_free(kw_client_fetch_result *r)
{
    if (!r)
        return;
    free((void *)r->records);
    r->records = NULL;
    r->records_len = 0;
}

/* ---------------------------------------------------------------- list offsets */

typedef struct list_offsets_call {
    kw_call base;
    int32_t partition;
    int64_t timestamp;
    int8_t isolation;
    kw_list_offsets_req_partition p;
    kw_list_offsets_req_topic t;
    kw_list_offsets_req req;
    char topic[];
} list_offsets_call;

static int list_offsets_build(void *arg, int version, int32_t epoch, const void **req)
{
    list_offsets_call *k = arg;
    kw__schema_init(kw__api(KW_API_LIST_OFFSETS)->req, version, &k->req);
    k->p = (kw_list_offsets_req_partition){.partition_index = k->partition,
                                           .current_leader_epoch = epoch,
                                           .timestamp = k->timestamp,
                                           .max_num_offsets = 1};
    k->t = (kw_list_offsets_req_topic){.name = kw_str_c(k->topic)};
    k->t.partitions.v = &k->p;
    k->t.partitions.n = 1;
    k->req.replica_id = -1;
    k->req.isolation_level = k->isolation;
    k->req.topics.v = &k->t;
    k->req.topics.n = 1;
    k->req.timeout_ms = kw__client_ms_left(k->base.deadline_ns);
    *req = &k->req;
    return 0;
}

static void list_offsets_done(const kw_cluster_result *res, void *arg)
{
    list_offsets_call *k = arg;
    kw_client_list_offsets_result stack;
    kw_waiter *w = k->base.w;
    kw_client_list_offsets_result *r = w ? w->out : &stack;
    r->err = res->err;
    r->kerr = res->kerr;
    kw__client_detail(r->detail, res->err, res->detail);
    r->offset = r->timestamp_ms = -1;
    r->leader_epoch = -1;
    const kw_list_offsets_resp *resp = res->resp;
    if (resp && resp->topics.n > 0 && resp->topics.v[0].partitions.n > 0) {
        const kw_list_offsets_resp_partition *p = &resp->topics.v[0].partitions.v[0];
        r->offset = p->offset;
        r->timestamp_ms = p->timestamp;
        r->leader_epoch = p->leader_epoch;
    }
    kw_client_list_offsets_cb *cb = (kw_client_list_offsets_cb *)k->base.cb;
    void *cb_arg = k->base.cb_arg;
    free(k);
    if (w)
        kw__waiter_done(w);
    else
        cb(r, cb_arg);
}

static int list_offsets_start(kw_call *base)
{
    list_offsets_call *k = (list_offsets_call *)base;
    return kw__cluster_send_partition(base->c->cluster, KW_API_LIST_OFFSETS, k->topic,
                                      k->partition, list_offsets_build, k, base->deadline_ns,
                                      list_offsets_done, k);
}

static list_offsets_call *list_offsets_new(kw_client *c, const kw_client_list_offsets_args *a,
                                           int *rc)
{
    *rc = KW_EINVAL;
    if (!c || !a || !a->topic || !*a->topic || a->partition < 0 ||
        (a->isolation != KW_CLIENT_READ_UNCOMMITTED && a->isolation != KW_CLIENT_READ_COMMITTED))
        return NULL;
    int64_t ts;
    switch (a->spec) {
    case KW_CLIENT_OFFSET_LATEST: ts = -1; break;
    case KW_CLIENT_OFFSET_EARLIEST: ts = -2; break;
    case KW_CLIENT_OFFSET_TIMESTAMP:
        if (a->timestamp_ms < 0)
            return NULL;
        ts = a->timestamp_ms;
        break;
    default: return NULL;
    }
    size_t tl = strlen(a->topic) + 1;
    list_offsets_call *k = calloc(1, sizeof(*k) + tl);
    if (!k) {
        *rc = KW_ENOMEM;
        return NULL;
    }
    memcpy(k->topic, a->topic, tl);
    k->partition = a->partition;
    k->timestamp = ts;
    k->isolation = (int8_t)a->isolation;
    k->base.c = c;
    k->base.start = list_offsets_start;
    k->base.done = list_offsets_done;
    k->base.deadline_ns = kw__client_deadline(c, a->timeout_ms);
    *rc = 0;
    return k;
}

KW_API int kw_client_list_offsets_async(kw_client *c, const kw_client_list_offsets_args *a,
                                        kw_client_list_offsets_cb *cb, void *arg)
{
    int rc;
    list_offsets_call *k = cb ? list_offsets_new(c, a, &rc) : (rc = KW_EINVAL, NULL);
    if (!k)
        return rc;
    k->base.cb = (void (*)(void))cb;
    k->base.cb_arg = arg;
    rc = kw__client_submit(c, &k->base);
    if (rc)
        free(k);
    return rc;
}

KW_API int kw_client_list_offsets(kw_client *c, const kw_client_list_offsets_args *a,
                                  kw_client_list_offsets_result *out)
{
    if (!out)
        return KW_EINVAL;
    out->offset = out->timestamp_ms = -1;
    out->leader_epoch = -1;
    int rc;
    list_offsets_call *k = list_offsets_new(c, a, &rc);
    if (k && (rc = kw__client_can_block(c)) != 0) {
        free(k);
        k = NULL;
    }
    if (k) {
        kw_waiter w;
        rc = kw__client_wait(c, &k->base, &w, out);
        if (!rc)
            return out->err;
        free(k);
    }
    status_fill(&out->err, &out->kerr, out->detail, rc, NULL);
    return rc;
}

/* ---------------------------------------------------------------- delete records */

typedef struct delete_records_call {
    kw_call base;
    int32_t partition;
    int64_t before;
    kw_delete_records_req_partition p;
    kw_delete_records_req_topic t;
    kw_delete_records_req req;
    char topic[];
} delete_records_call;

static int delete_records_build(void *arg, int version, int32_t epoch, const void **req)
{
    delete_records_call *k = arg;
    (void)version;
    (void)epoch;
    k->p = (kw_delete_records_req_partition){.partition_index = k->partition,
                                             .offset = k->before};
    k->t = (kw_delete_records_req_topic){.name = kw_str_c(k->topic)};
    k->t.partitions.v = &k->p;
    k->t.partitions.n = 1;
    k->req.topics.v = &k->t;
    k->req.topics.n = 1;
    k->req.timeout_ms = kw__client_ms_left(k->base.deadline_ns);
    *req = &k->req;
    return 0;
}

static void delete_records_done(const kw_cluster_result *res, void *arg)
{
    delete_records_call *k = arg;
    kw_client_delete_records_result stack;
    kw_waiter *w = k->base.w;
    kw_client_delete_records_result *r = w ? w->out : &stack;
    r->err = res->err;
    r->kerr = res->kerr;
    kw__client_detail(r->detail, res->err, res->detail);
    r->low_watermark = -1;
    const kw_delete_records_resp *resp = res->resp;
    if (resp && resp->topics.n > 0 && resp->topics.v[0].partitions.n > 0)
        r->low_watermark = resp->topics.v[0].partitions.v[0].low_watermark;
    kw_client_delete_records_cb *cb = (kw_client_delete_records_cb *)k->base.cb;
    void *cb_arg = k->base.cb_arg;
    free(k);
    if (w)
        kw__waiter_done(w);
    else
        cb(r, cb_arg);
}

static int delete_records_start(kw_call *base)
{
    delete_records_call *k = (delete_records_call *)base;
    return kw__cluster_send_partition(base->c->cluster, KW_API_DELETE_RECORDS, k->topic,
                                      k->partition, delete_records_build, k, base->deadline_ns,
                                      delete_records_done, k);
}

static delete_records_call *delete_records_new(kw_client *c,
                                               const kw_client_delete_records_args *a, int *rc)
{
    *rc = KW_EINVAL;
    if (!c || !a || !a->topic || !*a->topic || a->partition < 0 || a->before_offset < -1)
        return NULL;
    size_t tl = strlen(a->topic) + 1;
    delete_records_call *k = calloc(1, sizeof(*k) + tl);
    if (!k) {
        *rc = KW_ENOMEM;
        return NULL;
    }
    memcpy(k->topic, a->topic, tl);
    k->partition = a->partition;
    k->before = a->before_offset;
    k->base.c = c;
    k->base.start = delete_records_start;
    k->base.done = delete_records_done;
    k->base.deadline_ns = kw__client_deadline(c, a->timeout_ms);
    *rc = 0;
    return k;
}

KW_API int kw_client_delete_records_async(kw_client *c, const kw_client_delete_records_args *a,
                                          kw_client_delete_records_cb *cb, void *arg)
{
    int rc;
    delete_records_call *k = cb ? delete_records_new(c, a, &rc) : (rc = KW_EINVAL, NULL);
    if (!k)
        return rc;
    k->base.cb = (void (*)(void))cb;
    k->base.cb_arg = arg;
    rc = kw__client_submit(c, &k->base);
    if (rc)
        free(k);
    return rc;
}

KW_API int kw_client_delete_records(kw_client *c, const kw_client_delete_records_args *a,
                                    kw_client_delete_records_result *out)
{
    if (!out)
        return KW_EINVAL;
    out->low_watermark = -1;
    int rc;
    delete_records_call *k = delete_records_new(c, a, &rc);
    if (k && (rc = kw__client_can_block(c)) != 0) {
        free(k);
        k = NULL;
    }
    if (k) {
        kw_waiter w;
        rc = kw__client_wait(c, &k->base, &w, out);
        if (!rc)
            return out->err;
        free(k);
    }
    status_fill(&out->err, &out->kerr, out->detail, rc, NULL);
    return rc;
}
