/* A connection's send queue: write-first, frames as iovec pieces, TLS gathering, write interest. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "net/conn_int.h"

#define MAX_IOV 128
/* One TLS record's worth of plaintext: what small pieces are gathered into for one SSL_write. */
#define TLS_STAGE 16384u

void kw__conn_update_interest(kw_conn *c)
{
    if (c->fd < 0 || c->phase == PH_CLOSED)
        return;
    unsigned want;
    if (c->phase == PH_CONNECTING) {
        want = KW_LOOP_WRITE;
    } else if (c->phase == PH_TLS) {
        want = c->tls_read_want ? c->tls_read_want : KW_LOOP_READ;
    } else {
        want = KW_LOOP_READ;
        /* A failed write waits for defer_timer to close the connection: no point polling. */
        if (c->outq.n && c->tls_write_want != KW_LOOP_READ && !c->write_err)
            want |= KW_LOOP_WRITE;
        if (c->tls_read_want == KW_LOOP_WRITE || c->tls_write_want == KW_LOOP_WRITE)
            want |= KW_LOOP_WRITE;
    }
    if (want == c->interest)
        return;
    if (kw__loop_fd_modify(c->loop, c->fd, want) == 0) {
        if ((want & KW_LOOP_WRITE) && !(c->interest & KW_LOOP_WRITE) && c->outq.n)
            c->write_waits++;
        c->interest = want;
    }
}

/* Moves waiting requests to the send queue while the in-flight limit allows and no re-auth runs. */
void kw__conn_move_waiting(kw_conn *c)
{
    if (c->phase != PH_READY || c->reauthing)
        return;
    while (c->waitq.head && c->outq.n + c->awaitq.n < c->max_in_flight) {
        creq *r = c->waitq.head;
        kw__conn_queue_remove(&c->waitq, r);
        kw__conn_queue_push(&c->outq, r, Q_OUT);
    }
}

/*
 * Write-first (redis writes a reply before it asks for EPOLLOUT; libuv's
 * uv_write tries the socket before queueing): the common case, an idle
 * socket with room, costs one sendmsg and no epoll_ctl; write interest goes
 * on only for what the socket would not take.
 */
void kw__conn_flush(kw_conn *c)
{
    if (c->writing)
        return; /* a callback of a write under way queued this: that write sends it */
    if ((c->phase == PH_SETUP || c->phase == PH_READY) && c->outq.n && !c->write_err)
        kw__conn_write(c, true);
    kw__conn_update_interest(c);
}

void kw__conn_pump(kw_conn *c)
{
    kw__conn_move_waiting(c);
    kw__conn_flush(c);
}

/*
 * Whether any of r's bytes are on their way: written, or taken in by an
 * SSL_write that must be retried with them (then the request can no longer
 * be dropped without corrupting the stream).
 */
bool kw__conn_request_started(const kw_conn *c, const creq *r)
{
    if (r->off > 0)
        return true;
    if (r->where != Q_OUT || !c->tls_committed)
        return false;
    size_t ahead = 0;
    for (const creq *q = c->outq.head; q && q != r; q = q->next)
        ahead += q->len - q->off;
    return ahead < c->tls_committed;
}


/*
 * Accounts n written bytes against the send queue; whole frames move on.
 * inside_call: no callback may run, so a finished acks=0 request waits in
 * doneq for defer_timer.
 */
static void wrote(kw_conn *c, size_t n, bool inside_call)
{
    bool unanswered_done = false;
    while (n && c->outq.head) {
        creq *r = c->outq.head;
        size_t k = r->len - r->off < n ? r->len - r->off : n;
        r->off += k;
        n -= k;
        while (k) { /* move the piece cursor on */
            struct iovec *v = &r->iov[r->at];
            if (k < v->iov_len) {
                v->iov_base = (uint8_t *)v->iov_base + k;
                v->iov_len -= k;
                break;
            }
            k -= v->iov_len;
            r->at++;
        }
        if (r->off < r->len)
            break;
        /* Whole: from here on the connection touches neither its buffer nor the caller's
         * batches, whatever becomes of the request. */
        kw__conn_queue_remove(&c->outq, r);
        free(r->buf);
        r->buf = NULL;
        r->niov = r->at = 0;
        if (r->no_response && inside_call) {
            kw__loop_timer_stop(&r->timer);
            kw__conn_queue_push(&c->doneq, r, Q_DONE);
            kw__loop_timer_start(&c->defer_timer, 0);
            unanswered_done = true;
        } else if (r->no_response) {
            /* acks=0: the broker never answers, so "written" is all there is to report. */
            kw__loop_timer_stop(&r->timer);
            r->cb(0, NULL, 0, r->version, r->arg);
            free(r);
            if (c->phase == PH_CLOSED)
                return;
            unanswered_done = true;
        } else {
            kw__conn_queue_push(&c->awaitq, r, Q_AWAIT);
        }
    }
    /* No response will come to free an acks=0 request's slot: it is free now, and the writer's
     * loop sends what moves up. */
    if (unanswered_done)
        kw__conn_move_waiting(c);
}

/* A write failed: at once in loop context; inside a call, on the next round (defer_timer). */
static void write_failed(kw_conn *c, int err, bool inside_call, const char *text)
{
    if (!inside_call) {
        kw__conn_fail(c, err, KW_EIO, "%s", text);
        return;
    }
    c->write_err = err;
    snprintf(c->write_err_text, sizeof(c->write_err_text), "%s", text);
    kw__loop_timer_start(&c->defer_timer, 0);
}

/*
 * One SSL_write from the head of the send queue.  TLS cannot gather, so a
 * piece is written from where it is when it fills a record by itself;
 * smaller ones (headers, small frames, the bytes between two batches) are
 * first gathered, with what follows them, into one record-sized buffer, so a
 * Produce costs about one record per batch, not one per piece.  Gathering
 * starts from the same byte every time, so a retry after KW_EAGAIN offers
 * OpenSSL the same bytes again (more, if requests were queued since), as it
 * requires.
 */
static int tls_write_some(kw_conn *c, size_t *put, unsigned *want)
{
    const creq *r = c->outq.head;
    const struct iovec *v = &r->iov[r->at];
    const void *p = v->iov_base;
    size_t len = v->iov_len;
    bool more = r->at + 1 < r->niov || r->next;
    if (len < TLS_STAGE && more && (c->tls_stage || (c->tls_stage = malloc(TLS_STAGE)))) {
        len = 0;
        for (const creq *q = r; q && len < TLS_STAGE; q = q->next)
            for (size_t i = q->at; i < q->niov && len < TLS_STAGE; i++) {
                size_t k = q->iov[i].iov_len < TLS_STAGE - len ? q->iov[i].iov_len
                                                                 : TLS_STAGE - len;
                memcpy(c->tls_stage + len, q->iov[i].iov_base, k);
                len += k;
            }
        p = c->tls_stage;
    }
    int rc = kw__tls_write(c->tls, p, len, put, want);
    c->tls_committed = rc == KW_EAGAIN ? len : 0;
    return rc;
}

void kw__conn_write(kw_conn *c, bool inside_call)
{
    c->writing = true;
    while (c->outq.head && c->phase != PH_CLOSED && !c->write_err) {
        if (c->tls) {
            size_t put = 0;
            unsigned want = 0;
            int rc = tls_write_some(c, &put, &want);
            c->tls_write_want = rc == KW_EAGAIN ? want : 0;
            if (rc == KW_EAGAIN)
                break;
            if (rc) {
                write_failed(c, rc == KW_ECLOSED ? KW_EIO : rc, inside_call,
                             kw__tls_errstr(c->tls));
                break;
            }
            wrote(c, put, inside_call);
            continue;
        }
        /* Plain TCP: gather many frames into one sendmsg (MSG_NOSIGNAL: no SIGPIPE). */
        struct iovec iov[MAX_IOV];
        size_t n = 0;
        for (creq *r = c->outq.head; r && n < MAX_IOV; r = r->next)
            for (size_t i = r->at; i < r->niov && n < MAX_IOV; i++)
                iov[n++] = r->iov[i];
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = n};
        ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            char eb[128], text[sizeof(c->write_err_text)];
            snprintf(text, sizeof(text), "write to %s: %s", c->peer,
                     kw__conn_errno_text(errno, eb, sizeof(eb)));
            write_failed(c, KW_EIO, inside_call, text);
            break;
        }
        wrote(c, (size_t)w, inside_call);
    }
    c->writing = false;
}
