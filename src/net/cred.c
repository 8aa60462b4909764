/* Credential sources: a JSON file read at each fetch, or GET / over a Unix socket on a worker thread. */
#include "net/cred.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#define DETAIL_MAX 512

/*
 * One fetch.  Loop-thread fields: done, arg, cancelled, next_done.  The
 * worker (HTTP) writes body, status, curl_err, err and detail, then sets
 * finished under the source's mutex; the loop thread reads them only after
 * it has seen finished under that mutex.  abort is the one field both touch
 * while the worker runs (atomic); multi is created before the worker starts
 * and cleaned up after it is joined, so curl_multi_wakeup (thread-safe) may
 * be called on it at any time in between.
 */
struct kw_cred_job {
    kw_cred_job *next; /* source's list of every job not yet reaped (mutex) */
    kw_cred_source *src;
    kw_cred_done_fn *done;
    void *arg;
    bool cancelled;
    bool finished; /* mutex */
    bool has_thread;
    pthread_t thread;
    CURLM *multi;
    CURL *easy;
    atomic_bool abort;
    /* the outcome */
    uint8_t *body;
    size_t body_len;
    bool body_too_long;
    int err;
    char detail[DETAIL_MAX];
    kw_cred_doc doc;
};

struct kw_cred_source {
    kw_loop *loop;
    int kind;
    char *file, *socket;
    uint32_t timeout_ms;
    char name[300];
    int efd; /* eventfd: a worker (or a file fetch) says "a job finished" */
    bool efd_added;
    bool curl_inited;
    pthread_mutex_t mu;
    kw_cred_job *jobs; /* mutex */
    bool closed;       /* mutex */
};

static const char *kind_name(int kind)
{
    return kind == KW_CRED_AWS ? "AWS_MSK_IAM" : "OAUTHBEARER";
}

static void job_free(kw_cred_job *j)
{
    if (j->easy) {
        if (j->multi)
            curl_multi_remove_handle(j->multi, j->easy);
        curl_easy_cleanup(j->easy);
    }
    if (j->multi)
        curl_multi_cleanup(j->multi);
    if (j->body) {
        OPENSSL_cleanse(j->body, j->body_len);
        free(j->body);
    }
    kw__cred_doc_clear(&j->doc);
    free(j);
}

/* Marks j finished and wakes the loop; the caller holds no lock.  Last touch of j by a worker. */
static void job_finish(kw_cred_job *j)
{
    kw_cred_source *s = j->src;
    pthread_mutex_lock(&s->mu);
    j->finished = true;
    uint64_t one = 1;
    /* An eventfd write only fails when the counter would overflow, which a reader prevents. */
    ssize_t w = write(s->efd, &one, sizeof(one));
    (void)w;
    pthread_mutex_unlock(&s->mu);
}

/* "<what> <path>: <detail>", with the source named so a log line says where to look. */
static void set_detail(kw_cred_job *j, int err, const char *why)
{
    j->err = err;
    snprintf(j->detail, sizeof(j->detail), "%s credentials from %.200s: %.250s", kind_name(j->src->kind),
             j->src->name, why);
}

/* Parses j's body into j->doc, setting err/detail on failure. */
static void parse_body(kw_cred_job *j)
{
    char why[DETAIL_MAX - 64];
    int rc = kw__cred_parse(j->src->kind, j->body, j->body_len, &j->doc, why, sizeof(why));
    if (rc)
        set_detail(j, rc, why);
}

/* ---------------------------------------------------------------- file */

static void read_file(kw_cred_job *j)
{
    kw_cred_source *s = j->src;
    char why[256], eb[128];
    int fd = open(s->file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, sizeof(why), "cannot open: %s", strerror_r(errno, eb, sizeof(eb)));
        set_detail(j, KW_ESASL, why);
        return;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            set_detail(j, KW_ENOMEM, "out of memory");
            break;
        }
        if (n == cap) {
            if (cap > KW_CRED_DOC_MAX) {
                snprintf(why, sizeof(why), "longer than %u bytes", KW_CRED_DOC_MAX);
                set_detail(j, KW_ESASL, why);
                break;
            }
            uint8_t *bigger = malloc(cap * 2);
            if (bigger)
                memcpy(bigger, buf, n);
            OPENSSL_cleanse(buf, n);
            free(buf);
            buf = bigger;
            cap *= 2;
            continue;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(why, sizeof(why), "cannot read: %s", strerror_r(errno, eb, sizeof(eb)));
            set_detail(j, KW_ESASL, why);
            break;
        }
        if (r == 0) {
            j->body = buf;
            j->body_len = n;
            buf = NULL;
            break;
        }
        n += (size_t)r;
    }
    close(fd);
    if (buf) {
        OPENSSL_cleanse(buf, n);
        free(buf);
    }
    if (j->body)
        parse_body(j);
}

/* ---------------------------------------------------------------- HTTP over a Unix socket */

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    kw_cred_job *j = arg;
    size_t n = size * nmemb;
    if (j->body_len + n > KW_CRED_DOC_MAX) {
        j->body_too_long = true;
        return 0; /* stops the transfer: CURLE_WRITE_ERROR */
    }
    uint8_t *b = malloc(j->body_len + n + 1);
    if (!b)
        return 0;
    if (j->body) {
        memcpy(b, j->body, j->body_len);
        OPENSSL_cleanse(j->body, j->body_len);
        free(j->body);
    }
    memcpy(b + j->body_len, data, n);
    j->body = b;
    j->body_len += n;
    return n;
}

/* The worker: one GET, driven by curl's multi interface so kw__cred_cancel can wake it. */
static void *http_worker(void *arg)
{
    kw_cred_job *j = arg;
    kw_cred_source *s = j->src;
    char why[DETAIL_MAX - 64];
    int running = 1;
    CURLMcode mc = CURLM_OK;
    while (running && mc == CURLM_OK && !atomic_load(&j->abort)) {
        mc = curl_multi_perform(j->multi, &running);
        if (mc != CURLM_OK || !running)
            break;
        /* curl's own timeout (CURLOPT_TIMEOUT_MS) ends the transfer; this wait only bounds a nap. */
        mc = curl_multi_poll(j->multi, NULL, 0, 1000, NULL);
    }
    if (atomic_load(&j->abort)) {
        set_detail(j, KW_ECLOSED, "the request was abandoned");
    } else if (mc != CURLM_OK) {
        snprintf(why, sizeof(why), "curl: %s", curl_multi_strerror(mc));
        set_detail(j, KW_ESASL, why);
    } else {
        CURLcode cc = CURLE_OK;
        int left;
        CURLMsg *m;
        while ((m = curl_multi_info_read(j->multi, &left)) != NULL)
            if (m->msg == CURLMSG_DONE)
                cc = m->data.result;
        long status = 0;
        curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
        if (cc == CURLE_OPERATION_TIMEDOUT) {
            snprintf(why, sizeof(why), "no answer within %u ms (sasl_http_timeout_ms)",
                     s->timeout_ms);
            set_detail(j, KW_ESASL, why);
        } else if (j->body_too_long) {
            snprintf(why, sizeof(why), "the answer is longer than %u bytes", KW_CRED_DOC_MAX);
            set_detail(j, KW_ESASL, why);
        } else if (cc != CURLE_OK) {
            snprintf(why, sizeof(why), "GET / failed: %s", curl_easy_strerror(cc));
            set_detail(j, KW_ESASL, why);
        } else if (status != 200) {
            /* The start of the body often says why (a 500's message); printable only. */
            char text[120] = "";
            size_t k = 0;
            for (size_t i = 0; i < j->body_len && k + 1 < sizeof(text); i++)
                text[k++] = j->body[i] >= 0x20 && j->body[i] < 0x7f ? (char)j->body[i] : ' ';
            text[k] = '\0';
            snprintf(why, sizeof(why), "GET / answered status %ld, not 200%s%s", status,
                     k ? ": " : "", text);
            set_detail(j, KW_ESASL, why);
        } else {
            parse_body(j);
        }
    }
    job_finish(j);
    return NULL;
}

static int http_start(kw_cred_job *j)
{
    kw_cred_source *s = j->src;
    j->multi = curl_multi_init();
    j->easy = curl_easy_init();
    if (!j->multi || !j->easy)
        return KW_ENOMEM;
    CURL *e = j->easy;
    /* The host name is only the Host header: the socket path says where the server is. */
    if (curl_easy_setopt(e, CURLOPT_URL, "http://localhost/") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, s->socket) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK ||
        /* No signals from a library thread; no proxy from the environment for a local socket. */
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PROXY, "") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)s->timeout_ms) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)s->timeout_ms) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEDATA, j) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_USERAGENT, "kwal") != CURLE_OK)
        return KW_ENOMEM;
    if (curl_multi_add_handle(j->multi, e) != CURLM_OK)
        return KW_ENOMEM;
    /* Workers are created with every signal blocked: the host's handlers run on its own threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&j->thread, NULL, http_worker, j);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc)
        return KW_EIO;
    j->has_thread = true;
    return 0;
}

/* ---------------------------------------------------------------- delivery on the loop */

/* Loop thread: hands every finished job to its caller (unless cancelled) and frees it. */
static void on_event(kw_loop *loop, int fd, unsigned events, void *arg)
{
    kw_cred_source *s = arg;
    (void)loop;
    (void)events;
    uint64_t count;
    ssize_t r = read(fd, &count, sizeof(count)); /* resets the counter; EAGAIN when spurious */
    (void)r;
    kw_cred_job *ready = NULL, **tail = &ready;
    pthread_mutex_lock(&s->mu);
    for (kw_cred_job **pp = &s->jobs; *pp;) {
        kw_cred_job *j = *pp;
        if (j->finished) {
            *pp = j->next;
            j->next = NULL;
            *tail = j;
            tail = &j->next;
        } else {
            pp = &j->next;
        }
    }
    pthread_mutex_unlock(&s->mu);
    while (ready) {
        kw_cred_job *j = ready;
        ready = j->next;
        /* The worker's last act was job_finish: after it, only returning is left to wait for. */
        if (j->has_thread)
            pthread_join(j->thread, NULL);
        if (!j->cancelled && j->done)
            j->done(j->err, j->err ? j->detail : "", &j->doc, j->arg);
        job_free(j);
    }
}

int kw__cred_fetch(kw_cred_source *src, kw_cred_done_fn *done, void *arg, kw_cred_job **job)
{
    *job = NULL;
    kw_cred_job *j = calloc(1, sizeof(*j));
    if (!j)
        return KW_ENOMEM;
    j->src = src;
    j->done = done;
    j->arg = arg;
    atomic_init(&j->abort, false);
    pthread_mutex_lock(&src->mu);
    bool closed = src->closed;
    if (!closed) {
        j->next = src->jobs;
        src->jobs = j;
    }
    pthread_mutex_unlock(&src->mu);
    if (closed) {
        free(j);
        return KW_ECLOSED;
    }
    if (src->file) {
        read_file(j);
        job_finish(j);
    } else {
        int rc = http_start(j);
        if (rc) {
            /* No worker: report through the loop like any other failure, so done still runs. */
            set_detail(j, KW_ESASL, rc == KW_ENOMEM ? "out of memory for the HTTP request"
                                                    : "cannot start the HTTP request's thread");
            job_finish(j);
        }
    }
    *job = j;
    return 0;
}

void kw__cred_cancel(kw_cred_job *job)
{
    if (!job)
        return;
    job->cancelled = true;
    job->done = NULL;
    atomic_store(&job->abort, true);
    if (job->multi)
        curl_multi_wakeup(job->multi);
}

/* ---------------------------------------------------------------- the source */

int kw__cred_source_new(kw_cred_source **out, kw_loop *loop, const kw_cred_source_options *opt,
                        char *err, size_t errlen)
{
    *out = NULL;
    if (!opt || (opt->kind != KW_CRED_OAUTH && opt->kind != KW_CRED_AWS)) {
        snprintf(err, errlen, "credential source: unknown kind");
        return KW_ECONFIG;
    }
    if (!opt->file == !opt->http_socket) {
        snprintf(err, errlen, "%s credential source: give a file or an HTTP socket, not %s",
                 kind_name(opt->kind), opt->file ? "both" : "neither");
        return KW_ECONFIG;
    }
    const char *path = opt->file ? opt->file : opt->http_socket;
    if (!path[0]) {
        snprintf(err, errlen, "%s credential %s path is empty", kind_name(opt->kind),
                 opt->file ? "file" : "HTTP socket");
        return KW_ECONFIG;
    }
    kw_cred_source *s = calloc(1, sizeof(*s));
    if (!s)
        return KW_ENOMEM;
    s->loop = loop;
    s->kind = opt->kind;
    s->efd = -1;
    s->timeout_ms = opt->timeout_ms ? opt->timeout_ms : KW_CRED_HTTP_TIMEOUT_MS;
    pthread_mutex_init(&s->mu, NULL);
    snprintf(s->name, sizeof(s->name), "%s %s", opt->file ? "file" : "HTTP socket", path);
    int rc = KW_ENOMEM;
    if (opt->file)
        s->file = strdup(path);
    else
        s->socket = strdup(path);
    if (!s->file && !s->socket)
        goto fail;
    if (s->socket) {
        /* Reference-counted inside libcurl (and thread-safe since 7.84): paired in source_free. */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            snprintf(err, errlen, "%s credentials: cannot initialise libcurl",
                     kind_name(opt->kind));
            rc = KW_EIO;
            goto fail;
        }
        s->curl_inited = true;
    }
    s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->efd < 0) {
        snprintf(err, errlen, "%s credentials: eventfd: %s", kind_name(opt->kind),
                 strerror(errno));
        rc = KW_EIO;
        goto fail;
    }
    rc = kw__loop_fd_add(loop, s->efd, KW_LOOP_READ, on_event, s);
    if (rc) {
        snprintf(err, errlen, "%s credentials: cannot watch the eventfd: %s",
                 kind_name(opt->kind), kw_strerror(rc));
        goto fail;
    }
    s->efd_added = true;
    *out = s;
    return 0;
fail:
    kw__cred_source_close(s);
    kw__cred_source_free(s);
    return rc;
}

const char *kw__cred_source_name(const kw_cred_source *src)
{
    return src->name;
}

int kw__cred_source_kind(const kw_cred_source *src)
{
    return src->kind;
}

void kw__cred_source_close(kw_cred_source *src)
{
    if (!src)
        return;
    pthread_mutex_lock(&src->mu);
    src->closed = true;
    for (kw_cred_job *j = src->jobs; j; j = j->next) {
        atomic_store(&j->abort, true);
        if (j->multi)
            curl_multi_wakeup(j->multi);
    }
    pthread_mutex_unlock(&src->mu);
    if (src->efd_added) {
        kw__loop_fd_remove(src->loop, src->efd);
        src->efd_added = false;
    }
}

void kw__cred_source_free(kw_cred_source *src)
{
    if (!src)
        return;
    kw__cred_source_close(src);
    /* No one else touches the list now: closed stops new jobs, and the loop no longer runs. */
    kw_cred_job *j = src->jobs;
    src->jobs = NULL;
    while (j) {
        kw_cred_job *next = j->next;
        if (j->has_thread)
            pthread_join(j->thread, NULL);
        job_free(j);
        j = next;
    }
    if (src->efd >= 0)
        close(src->efd);
    if (src->curl_inited)
        curl_global_cleanup();
    pthread_mutex_destroy(&src->mu);
    free(src->file);
    free(src->socket);
    free(src);
}
