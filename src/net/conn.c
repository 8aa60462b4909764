/* One broker connection on the loop: connect, TLS, pipelined requests (setup: conn_setup.c; the
 * send queue's writing: conn_write.c). */
#include "net/conn.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "net/conn_int.h"
#include "proto/msg_core.h"
#include "proto/msg_data.h"
#include "net/log.h"

#define DEFAULT_CONNECT_MS 10000u
#define DEFAULT_IN_FLIGHT 64u
#define DEFAULT_MAX_FRAME KW__CONN_MAX_FRAME
#define READ_CHUNK 65536u
/* Record batches this large are sent from where they are; smaller ones are cheaper to copy. */
#define REFER_MIN 1024u

/* ---- small helpers ---- */

void kw__conn_log(kw_conn *c, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kw__vlog(c->log, c->log_arg, level, fmt, ap);
    va_end(ap);
}

/* strerror with a lower-case first letter, to read well after a colon. */
const char *kw__conn_errno_text(int e, char *buf, size_t len)
{
    snprintf(buf, len, "%s", strerror(e));
    if (buf[0] && !(buf[1] && isupper((unsigned char)buf[1])))
        buf[0] = (char)tolower((unsigned char)buf[0]);
    return buf;
}

uint64_t kw__conn_random(kw_conn *c)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return c->rng;
}

static rlist *list_of(kw_conn *c, creq *r)
{
    switch (r->where) {
    case Q_WAIT:
        return &c->waitq;
    case Q_OUT:
        return &c->outq;
    case Q_AWAIT:
        return &c->awaitq;
    case Q_DONE:
        return &c->doneq;
    default:
        return NULL;
    }
}

static void req_detach(kw_conn *c, creq *r)
{
    rlist *l = list_of(c, r);
    if (l)
        kw__conn_queue_remove(l, r);
    kw__loop_timer_stop(&r->timer);
}

static void req_free(creq *r)
{
    free(r->buf);
    free(r);
}

static const char *api_name(int key)
{
    const kw_api *api = kw__api(key);
    return api ? api->name : "unknown API";
}

/* Loop entry points bracket their work with these, so a kw__conn_free from a callback waits. */
void kw__conn_enter(kw_conn *c)
{
    c->busy++;
}

static void really_free(kw_conn *c);

void kw__conn_leave(kw_conn *c)
{
    if (--c->busy == 0 && c->free_pending)
        really_free(c);
}

/* ---- teardown ---- */

static void close_socket(kw_conn *c)
{
    kw__tls_free(c->tls);
    c->tls = NULL;
    c->tls_read_want = c->tls_write_want = 0;
    c->tls_committed = 0;
    if (c->fd >= 0) {
        kw__loop_fd_remove(c->loop, c->fd);
        close(c->fd);
        c->fd = -1;
    }
    c->interest = 0;
}

/* Reports the acks=0 requests written by a write-first inside a call: written is all they wait for. */
static void report_done(kw_conn *c)
{
    creq *r;
    while ((r = c->doneq.head) != NULL && c->phase != PH_CLOSED) {
        req_detach(c, r);
        r->cb(0, NULL, 0, r->version, r->arg);
        req_free(r);
    }
}

/*
 * Fails every request with err: in-flight ones first, then queued ones, each
 * callback once.  Written acks=0 requests not yet reported succeed: their
 * bytes left before the failure.
 */
static void fail_all(kw_conn *c, int err)
{
    creq *r;
    while ((r = c->doneq.head) != NULL) {
        req_detach(c, r);
        r->cb(0, NULL, 0, r->version, r->arg);
        req_free(r);
    }
    rlist *lists[] = {&c->awaitq, &c->outq, &c->waitq};
    for (size_t i = 0; i < 3; i++) {
        while ((r = lists[i]->head) != NULL) {
            req_detach(c, r);
            if (!r->internal)
                r->cb(err, NULL, 0, r->version, r->arg);
            req_free(r);
        }
    }
}

/* Ends the connection for good; the state callback fires unless the caller asked for the close. */
static void shut(kw_conn *c, int conn_err, int req_err, bool notify)
{
    if (c->phase == PH_CLOSED)
        return;
    c->phase = PH_CLOSED;
    kw__loop_timer_stop(&c->phase_timer);
    kw__loop_timer_stop(&c->reauth_timer);
    kw__loop_timer_stop(&c->defer_timer);
    if (c->cred_job) { /* its result would come to a connection that is gone */
        kw__cred_cancel(c->cred_job);
        c->cred_job = NULL;
    }
    close_socket(c);
    if (c->ai_list) {
        freeaddrinfo(c->ai_list);
        c->ai_list = c->ai_next = NULL;
    }
    fail_all(c, req_err);
    if (notify && c->on_state)
        c->on_state(c, KW_CONN_CLOSED, conn_err, c->errstr, c->state_arg);
}

void kw__conn_fail(kw_conn *c, int conn_err, int req_err, const char *fmt, ...)
{
    if (c->phase == PH_CLOSED)
        return;
    /* Formatted aside first: callers often pass c->errstr itself as an argument. */
    char text[sizeof(c->errstr)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    memcpy(c->errstr, text, sizeof(text));
    kw__conn_log(c, KW_LOG_ERROR, "%s", c->errstr);
    shut(c, conn_err, req_err, true);
}

/* ---- requests ---- */

static void on_deadline(kw_loop_timer *t, void *arg);

static int32_t take_corr(kw_conn *c)
{
    int32_t id = c->next_corr;
    c->next_corr = id == INT32_MAX ? 0 : id + 1;
    return id;
}

/* The record bytes a Produce request copies into its frame (batches under REFER_MIN). */
static size_t produce_copied_len(const kw_produce_req *req)
{
    size_t n = 0;
    for (int32_t i = 0; i < req->topic_data.n; i++)
        for (int32_t j = 0; j < req->topic_data.v[i].partition_data.n; j++) {
            int32_t len = req->topic_data.v[i].partition_data.v[j].records.len;
            n += len > 0 && (size_t)len < REFER_MIN ? (size_t)len : 0;
        }
    return n;
}

static int make_req(kw_conn *c, int api_key, int ver, const void *req, uint64_t deadline_ns,
                    kw_conn_response_fn *cb, void *arg, creq **out)
{
    const kw_api *api = kw__api(api_key);
    if (!api || ver < api->vmin || ver > api->vmax) {
        snprintf(c->errstr, sizeof(c->errstr), "%s v%d is not a version kwal speaks",
                 api_name(api_key), ver);
        return KW_EINVAL;
    }
    kw_wr w;
    kw__wr_init(&w);
    if (api_key == KW_API_PRODUCE) {
        /* Batches go from where the caller keeps them (an iovec piece each), not copied; the
         * buffer holds the rest, sized once for the small batches that are copied. */
        kw__wr_refer_records(&w, REFER_MIN);
        if (kw__wr_reserve(&w, produce_copied_len(req) + 1024))
            w.len = 0;
    }
    int32_t corr = take_corr(c);
    int rc = kw__request_encode(&w, api, ver, corr, kw_str_c(c->client_id), req);
    size_t npieces = rc ? 0 : kw__wr_pieces(&w, NULL, 0);
    creq *r = rc ? NULL : calloc(1, sizeof(*r) + npieces * sizeof(struct iovec));
    if (!rc && !r)
        rc = KW_ENOMEM;
    if (rc) {
        kw__wr_free(&w);
        snprintf(c->errstr, sizeof(c->errstr), "cannot encode %s v%d: %s", api->name, ver,
                 kw_strerror(rc));
        return rc;
    }
    r->iov = r->iov_space;
    r->niov = kw__wr_pieces(&w, r->iov, npieces);
    r->len = kw__wr_size(&w);
    r->buf = w.buf; /* the pieces point into it: it moves to r, the rest of w goes */
    w.buf = NULL;
    kw__wr_free(&w);
    r->corr = corr;
    r->conn = c;
    r->api_key = (int16_t)api_key;
    r->version = (int16_t)ver;
    r->cb = cb;
    r->arg = arg;
    r->no_response = api_key == KW_API_PRODUCE && ((const kw_produce_req *)req)->acks == 0;
    kw__loop_timer_init(c->loop, &r->timer, on_deadline, r);
    kw__loop_timer_start_at(&r->timer, deadline_ns);
    *out = r;
    return 0;
}

/* Internal requests skip the wait queue and the in-flight limit: setup and re-auth need them now. */
int kw__conn_send_internal(kw_conn *c, int api_key, int ver, const void *req,
                           kw_conn_response_fn *cb)
{
    uint64_t deadline = kw__loop_now_ns(c->loop) + (uint64_t)c->connect_ms * 1000000u;
    creq *r;
    int rc = make_req(c, api_key, ver, req, deadline, cb, c, &r);
    if (rc) {
        kw__conn_fail(c, rc, KW_EIO, "%s", c->errstr);
        return rc;
    }
    r->internal = true;
    kw__conn_queue_push(&c->outq, r, Q_OUT);
    kw__conn_flush(c);
    return 0;
}

int kw__conn_send(kw_conn *c, int api_key, int version, const void *req, uint64_t deadline_ns,
                  kw_conn_response_fn *cb, void *arg)
{
    if (!c || !cb)
        return KW_EINVAL;
    if (c->phase == PH_CLOSED)
        return KW_ECLOSED;
    if (version < 0) {
        if (c->phase != PH_READY)
            return KW_EAGAIN;
        version = kw__versions_get(&c->versions, api_key, c->errstr, sizeof(c->errstr));
        if (version < 0)
            return KW_EVERSION;
    }
    creq *r;
    int rc = make_req(c, api_key, version, req, deadline_ns, cb, arg, &r);
    if (rc)
        return rc;
    kw__conn_queue_push(&c->waitq, r, Q_WAIT);
    kw__conn_pump(c);
    return 0;
}

static void on_deadline(kw_loop_timer *t, void *arg)
{
    creq *r = arg;
    kw_conn *c = r->conn;
    kw__conn_enter(c);
    if (r->internal) {
        kw__conn_fail(c, KW_ETIMEDOUT, KW_EIO, "%s with %s: timed out after %u ms",
                      api_name(r->api_key), c->peer, c->connect_ms);
    } else if (r->where == Q_WAIT || (r->where == Q_OUT && !kw__conn_request_started(c, r))) {
        /* Not a byte on the wire yet: drop it and keep the connection. */
        req_detach(c, r);
        r->cb(KW_ETIMEDOUT, NULL, 0, r->version, r->arg);
        req_free(r);
        kw__conn_pump(c);
    } else {
        /*
         * Sent (or partly sent) and unanswered: the stream cannot skip this
         * response, and a stalled TCP connection would hold everyone behind
         * it, so the connection goes and the others fail retriably.
         */
        req_detach(c, r);
        int32_t corr = r->corr;
        int key = r->api_key;
        r->cb(KW_ETIMEDOUT, NULL, 0, r->version, r->arg);
        req_free(r);
        kw__conn_fail(c, KW_ETIMEDOUT, KW_EIO,
                      "connection to %s closed: %s request (correlation id %d) passed its deadline "
                      "after it was sent",
                      c->peer, api_name(key), (int)corr);
    }
    (void)t;
    kw__conn_leave(c);
}

/* ---- reading ---- */

uint8_t *kw__conn_take_frame(kw_conn *c, const uint8_t *frame, uint8_t *spare, size_t spare_cap,
                             size_t *cap)
{
    if (!c || !frame || frame != c->dispatch_frame || c->dispatch_taken)
        return NULL;
    /* What was read past this frame (the start of the next ones) stays with the connection. */
    size_t end = (size_t)(frame - c->rbuf) + c->dispatch_len;
    size_t tail = c->rlen - end;
    size_t need = tail + READ_CHUNK;
    uint8_t *nb = spare && spare_cap >= need ? spare : malloc(need);
    if (!nb)
        return NULL;
    if (spare && nb != spare)
        free(spare);
    memcpy(nb, c->rbuf + end, tail);
    uint8_t *old = c->rbuf;
    *cap = c->rcap;
    c->rbuf = nb;
    c->rcap = nb == spare ? spare_cap : need;
    c->rlen = tail;
    c->keep_rbuf = nb == spare;
    c->dispatch_taken = true;
    return old;
}

/* Hands the frame to its request's callback; true when the callback took the read buffer. */
static bool dispatch_frame(kw_conn *c, const uint8_t *frame, size_t len)
{
    creq *r = c->awaitq.head;
    int32_t got;
    if (kw__response_correlation_id(frame, len, &got) != 0) {
        kw__conn_fail(c, KW_EMALFORMED, KW_EIO, "%s sent a %zu-byte response frame", c->peer, len);
        return false;
    }
    if (!r) {
        kw__conn_fail(c, KW_EMALFORMED, KW_EIO,
                      "%s sent a response (correlation id %d) to no request", c->peer, (int)got);
        return false;
    }
    if (got != r->corr) {
        kw__conn_fail(c, KW_EMALFORMED, KW_EIO,
                      "correlation id mismatch from %s: expected %d (%s), got %d", c->peer,
                      (int)r->corr, api_name(r->api_key), (int)got);
        return false;
    }
    req_detach(c, r);
    c->dispatch_frame = frame;
    c->dispatch_len = len;
    c->dispatch_taken = false;
    c->keep_rbuf = false; /* a spare has served its purpose once a frame is in it */
    r->cb(0, frame, len, r->version, r->arg);
    bool taken = c->dispatch_taken;
    c->dispatch_frame = NULL;
    req_free(r);
    /* The reader's caller (on_io) writes what moved up once the reads are done. */
    kw__conn_move_waiting(c);
    return taken;
}

/* Reads what the socket has and hands out every whole frame, in place (no copy). */
static void do_read(kw_conn *c)
{
    for (;;) {
        size_t need = READ_CHUNK;
        if (c->rlen >= 4)
            need = 4 + (size_t)kw_load_be32(c->rbuf);
        if (need < c->rlen + 4096)
            need = c->rlen + READ_CHUNK;
        if (c->rcap < need) {
            uint8_t *nb = realloc(c->rbuf, need);
            if (!nb) {
                kw__conn_fail(c, KW_ENOMEM, KW_ENOMEM, "no memory for a %zu-byte read buffer",
                              need);
                return;
            }
            c->rbuf = nb;
            c->rcap = need;
        }
        size_t got = 0;
        if (c->tls) {
            unsigned want = 0;
            int rc = kw__tls_read(c->tls, c->rbuf + c->rlen, c->rcap - c->rlen, &got, &want);
            c->tls_read_want = rc == KW_EAGAIN ? want : 0;
            if (rc == KW_EAGAIN)
                return;
            if (rc == KW_ECLOSED) {
                kw__conn_fail(c, KW_EIO, KW_EIO, "%s closed the connection", c->peer);
                return;
            }
            if (rc) {
                kw__conn_fail(c, rc, KW_EIO, "%s", kw__tls_errstr(c->tls));
                return;
            }
        } else {
            ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return;
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                char eb[128];
                if (n == 0)
                    kw__conn_fail(c, KW_EIO, KW_EIO, "%s closed the connection", c->peer);
                else
                    kw__conn_fail(c, KW_EIO, KW_EIO, "read from %s: %s", c->peer,
                                  kw__conn_errno_text(errno, eb, sizeof(eb)));
                return;
            }
            got = (size_t)n;
        }
        c->rlen += got;
        size_t off = 0;
        while (c->rlen - off >= 4) {
            uint32_t size = kw_load_be32(c->rbuf + off);
            if (size > c->max_frame) {
                kw__conn_fail(c, KW_ETOOBIG, KW_EIO,
                              "%s sent a %u-byte response; the limit is %u bytes (the client's "
                              "largest response)", c->peer, size,
                              c->max_frame);
                return;
            }
            if (c->rlen - off - 4 < size)
                break;
            bool taken = dispatch_frame(c, c->rbuf + off + 4, size);
            if (c->phase == PH_CLOSED)
                return;
            /* taken: the buffer now starts with what followed the frame */
            off = taken ? 0 : off + 4 + (size_t)size;
        }
        if (off) {
            memmove(c->rbuf, c->rbuf + off, c->rlen - off);
            c->rlen -= off;
        }
        if (c->rlen == 0 && c->rcap > 4 * READ_CHUNK && !c->keep_rbuf) {
            /* Give back the room a big response needed; the next read starts small again. */
            free(c->rbuf);
            c->rbuf = NULL;
            c->rcap = 0;
        }
    }
}

/* What a write inside a call left for the loop: its failure, or its finished acks=0 requests. */
static void on_defer(kw_loop_timer *t, void *arg)
{
    kw_conn *c = arg;
    (void)t;
    kw__conn_enter(c);
    if (c->write_err) {
        kw__conn_fail(c, c->write_err, KW_EIO, "%s", c->write_err_text);
    } else {
        report_done(c);
        if (c->phase != PH_CLOSED)
            kw__conn_pump(c);
    }
    kw__conn_leave(c);
}

/* ---- connecting ---- */

static void try_next_address(kw_conn *c);
static void on_io(kw_loop *loop, int fd, unsigned events, void *arg);

static void do_handshake(kw_conn *c)
{
    unsigned want = 0;
    int rc = kw__tls_handshake(c->tls, &want);
    if (rc == KW_EAGAIN) {
        c->tls_read_want = want;
        kw__conn_update_interest(c);
        return;
    }
    c->tls_read_want = 0;
    if (rc) {
        kw__conn_fail(c, rc == KW_ECLOSED || rc == KW_EIO ? KW_ETLS : rc, KW_ETLS, "%s",
                      kw__tls_errstr(c->tls));
        return;
    }
    kw__conn_start_setup(c);
}

static void connected(kw_conn *c)
{
    kw__loop_timer_stop(&c->phase_timer);
    if (c->ai_list) {
        freeaddrinfo(c->ai_list);
        c->ai_list = c->ai_next = NULL;
    }
    if (!c->tls_ctx) {
        kw__conn_start_setup(c);
        return;
    }
    if (kw__tls_ctx_insecure(c->tls_ctx))
        kw__conn_log(c, KW_LOG_WARN,
                     "TLS certificate verification is OFF for %s: anyone on the path can read and "
                     "change this connection",
                     c->peer);
    int rc = kw__tls_new(&c->tls, c->tls_ctx, c->fd, c->server_name, c->peer, c->errstr,
                         sizeof(c->errstr));
    if (rc) {
        kw__conn_fail(c, rc, KW_ETLS, "%s", c->errstr);
        return;
    }
    c->phase = PH_TLS;
    kw__loop_timer_start(&c->phase_timer, c->connect_ms);
    do_handshake(c);
}

static void connect_failed(kw_conn *c, int e)
{
    char eb[128];
    snprintf(c->errstr, sizeof(c->errstr), "connect %s: %s", c->addr_text,
             kw__conn_errno_text(e, eb, sizeof(eb)));
    kw__conn_log(c, KW_LOG_DEBUG, "%s", c->errstr);
    close_socket(c);
    try_next_address(c);
}

static void format_addr(kw_conn *c, const struct addrinfo *ai)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (ai->ai_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, ip,
                  sizeof(ip));
        snprintf(c->addr_text, sizeof(c->addr_text), "[%s]:%u", ip, c->port);
    } else {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ai->ai_addr)->sin_addr, ip, sizeof(ip));
        snprintf(c->addr_text, sizeof(c->addr_text), "%s:%u", ip, c->port);
    }
}

/* Tries the resolved addresses in order; the error of the last one is the one reported. */
static void try_next_address(kw_conn *c)
{
    while (c->ai_next) {
        struct addrinfo *ai = c->ai_next;
        c->ai_next = ai->ai_next;
        format_addr(c, ai);
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            char eb[128];
            snprintf(c->errstr, sizeof(c->errstr), "connect %s: %s", c->addr_text,
                     kw__conn_errno_text(errno, eb, sizeof(eb)));
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c->fd = fd;
        int rc = kw__loop_fd_add(c->loop, fd, KW_LOOP_WRITE, on_io, c);
        if (rc) {
            close(fd);
            c->fd = -1;
            kw__conn_fail(c, rc, KW_ECONNECT, "connect %s: cannot watch the socket: %s",
                          c->addr_text, kw__loop_errstr(c->loop));
            return;
        }
        c->interest = KW_LOOP_WRITE;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            connected(c);
            return;
        }
        if (errno == EINPROGRESS) {
            c->phase = PH_CONNECTING;
            kw__loop_timer_start(&c->phase_timer, c->connect_ms);
            return;
        }
        int e = errno;
        char eb[128];
        snprintf(c->errstr, sizeof(c->errstr), "connect %s: %s", c->addr_text,
                 kw__conn_errno_text(e, eb, sizeof(eb)));
        close_socket(c);
    }
    kw__conn_fail(c, KW_ECONNECT, KW_ECONNECT, "%s", c->errstr);
}

/*
 * Resolution runs on the loop thread and may block briefly (getaddrinfo has
 * no non-blocking form); brokers are named in config and usually in
 * /etc/hosts or a local cache, and the pool above keeps connections long, so
 * this is rare.  Moving it to a helper thread is a change local to here.
 */
static void start_connect(kw_conn *c)
{
    char port[8];
    snprintf(port, sizeof(port), "%u", c->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_ADDRCONFIG};
    int rc = getaddrinfo(c->host, port, &hints, &c->ai_list);
    if (rc == EAI_NONAME || rc == EAI_ADDRFAMILY) {
        /* AI_ADDRCONFIG hides ::1 on hosts without a global IPv6 address: ask again without it. */
        hints.ai_flags = 0;
        rc = getaddrinfo(c->host, port, &hints, &c->ai_list);
    }
    if (rc) {
        c->ai_list = NULL;
        kw__conn_fail(c, KW_ECONNECT, KW_ECONNECT, "resolve %s: %s", c->host,
                      rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return;
    }
    c->ai_next = c->ai_list;
    snprintf(c->errstr, sizeof(c->errstr), "resolve %s: no addresses", c->host);
    try_next_address(c);
}

static void on_phase_timer(kw_loop_timer *t, void *arg)
{
    kw_conn *c = arg;
    (void)t;
    kw__conn_enter(c);
    if (c->phase == PH_INIT) {
        start_connect(c);
    } else if (c->phase == PH_CONNECTING) {
        snprintf(c->errstr, sizeof(c->errstr), "connect %s: timed out after %u ms",
                 c->addr_text, c->connect_ms);
        kw__conn_log(c, KW_LOG_DEBUG, "%s", c->errstr);
        close_socket(c);
        if (c->ai_next) {
            try_next_address(c);
        } else {
            kw__conn_fail(c, KW_ETIMEDOUT, KW_ECONNECT, "%s", c->errstr);
        }
    } else if (c->phase == PH_TLS) {
        kw__conn_fail(c, KW_ETIMEDOUT, KW_ETLS, "TLS handshake with %s: timed out after %u ms",
                      c->peer, c->connect_ms);
    }
    kw__conn_leave(c);
}

static void on_io(kw_loop *loop, int fd, unsigned events, void *arg)
{
    kw_conn *c = arg;
    (void)loop;
    (void)fd;
    kw__conn_enter(c);
    if (c->phase == PH_CONNECTING) {
        int e = 0;
        socklen_t el = sizeof(e);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
            e = errno;
        if (e)
            connect_failed(c, e);
        else if (events & (KW_LOOP_WRITE | KW_LOOP_ERROR))
            connected(c);
    } else if (c->phase == PH_TLS) {
        do_handshake(c);
    } else if (c->phase == PH_SETUP || c->phase == PH_READY) {
        if (events & (KW_LOOP_READ | KW_LOOP_ERROR) || c->tls_read_want == KW_LOOP_WRITE)
            do_read(c);
        if (c->phase != PH_CLOSED && c->outq.n && !c->write_err)
            kw__conn_write(c, false);
        kw__conn_update_interest(c);
    }
    kw__conn_leave(c);
}

/* ---- life cycle ---- */

int kw__conn_new(kw_conn **out, kw_loop *loop, const kw_conn_options *opt)
{
    *out = NULL;
    if (!loop || !opt || !opt->host || !opt->host[0] || !opt->port)
        return KW_EINVAL;
    kw_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return KW_ENOMEM;
    c->loop = loop;
    c->fd = -1;
    c->next_corr = 1;
    c->port = opt->port;
    c->host = strdup(opt->host);
    c->server_name = strdup(opt->tls_server_name ? opt->tls_server_name : opt->host);
    c->client_id = strdup(opt->client_id ? opt->client_id : "kwal");
    c->connect_ms = opt->connect_timeout_ms ? opt->connect_timeout_ms : DEFAULT_CONNECT_MS;
    c->max_in_flight = opt->max_in_flight ? opt->max_in_flight : DEFAULT_IN_FLIGHT;
    c->max_frame = opt->max_frame_size ? opt->max_frame_size : DEFAULT_MAX_FRAME;
    c->session_cap_ms = opt->sasl_session_cap_ms;
    c->api_release = opt->api_release;
    c->on_state = opt->on_state;
    c->state_arg = opt->state_arg;
    c->log = opt->log;
    c->log_arg = opt->log_arg;
    c->tls_ctx = kw__tls_ctx_ref(opt->tls);
    c->rng = kw__loop_update_time(loop) ^ (uint64_t)(uintptr_t)c ^ 0x9e3779b97f4a7c15ull;
    bool v6 = strchr(opt->host, ':') != NULL;
    snprintf(c->peer, sizeof(c->peer), v6 ? "[%s]:%u" : "%s:%u", opt->host, opt->port);
    snprintf(c->addr_text, sizeof(c->addr_text), "%s", c->peer);
    kw__loop_timer_init(loop, &c->phase_timer, on_phase_timer, c);
    kw__loop_timer_init(loop, &c->reauth_timer, kw__conn_on_reauth_timer, c);
    kw__loop_timer_init(loop, &c->defer_timer, on_defer, c);
    c->phase = PH_INIT;
    if (!c->host || !c->server_name || !c->client_id) {
        c->phase = PH_CLOSED;
        really_free(c);
        return KW_ENOMEM;
    }
    if (opt->sasl) {
        c->has_sasl = true;
        kw_sasl_config sc = *opt->sasl;
        sc.server_host = c->host; /* GSSAPI's ticket is for SERVICE/this host */
        int rc = kw__sasl_init(&c->sasl, &sc);
        if (rc) {
            kw__conn_log(c, KW_LOG_ERROR, "%s", kw__sasl_errstr(&c->sasl));
            c->phase = PH_CLOSED;
            really_free(c);
            return rc == KW_ENOMEM ? rc : KW_ECONFIG;
        }
    }
    /* Connect on the next loop round, so no callback runs inside this call. */
    kw__loop_timer_start(&c->phase_timer, 0);
    *out = c;
    return 0;
}

static void really_free(kw_conn *c)
{
    shut(c, KW_ECLOSED, KW_ECLOSED, false);
    if (c->has_sasl)
        kw__sasl_free(&c->sasl);
    kw__tls_ctx_unref(c->tls_ctx);
    free(c->tls_stage);
    free(c->rbuf);
    free(c->host);
    free(c->server_name);
    free(c->client_id);
    free(c);
}

void kw__conn_close(kw_conn *c)
{
    if (!c || c->phase == PH_CLOSED)
        return;
    kw__conn_enter(c);
    snprintf(c->errstr, sizeof(c->errstr), "connection to %s closed by the caller", c->peer);
    shut(c, KW_ECLOSED, KW_ECLOSED, false);
    kw__conn_leave(c);
}

void kw__conn_free(kw_conn *c)
{
    if (!c)
        return;
    if (c->busy) {
        kw__conn_close(c);
        c->free_pending = true;
        return;
    }
    kw__conn_enter(c);
    shut(c, KW_ECLOSED, KW_ECLOSED, false);
    c->free_pending = true;
    kw__conn_leave(c);
}

bool kw__conn_ready(const kw_conn *c)
{
    return c->phase == PH_READY;
}

bool kw__conn_closed(const kw_conn *c)
{
    return c->phase == PH_CLOSED;
}

const kw_versions *kw__conn_versions(const kw_conn *c)
{
    return &c->versions;
}

const char *kw__conn_errstr(const kw_conn *c)
{
    return c->errstr;
}

const char *kw__conn_peer(const kw_conn *c)
{
    return c->peer;
}

size_t kw__conn_in_flight(const kw_conn *c)
{
    return c->outq.n + c->awaitq.n;
}

size_t kw__conn_queued(const kw_conn *c)
{
    return c->waitq.n;
}

unsigned kw__conn_reauth_count(const kw_conn *c)
{
    return c->reauth_count;
}

uint64_t kw__conn_write_waits(const kw_conn *c)
{
    return c->write_waits;
}

int kw__conn_decode(const uint8_t *frame, size_t len, int api_key, int version, kw_arena *a,
                    void *resp)
{
    const kw_api *api = kw__api(api_key);
    if (!api)
        return KW_EINVAL;
    return kw__response_decode(frame, len, api, version, a, resp);
}
