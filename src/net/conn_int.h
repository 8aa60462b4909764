/* What conn.c and conn_setup.c share: the connection's state and the helpers both call. */
#ifndef KW_NET_CONN_INT_H
#define KW_NET_CONN_INT_H

#include <netdb.h>
#include <sys/uio.h>

#include "net/conn.h"

/* ApiVersions and SASL responses are small; their decode arena is capped well above need. */
#define SETUP_ARENA_LIMIT (1u << 20)

enum phase { PH_INIT, PH_CONNECTING, PH_TLS, PH_SETUP, PH_READY, PH_CLOSED };
/*
 * Where a request is: waiting for an in-flight slot, being written, written
 * and awaiting its response, or (acks=0) written by a write made inside a
 * kw__conn_* call and awaiting its callback on the next loop round.
 */
enum where { Q_NONE, Q_WAIT, Q_OUT, Q_AWAIT, Q_DONE };

typedef struct creq creq;
struct creq {
    creq *prev, *next;
    int where;
    kw_conn *conn;
    /*
     * The frame is buf (size prefix, header, fields, small record batches)
     * with the large record batches of a Produce spliced in from where the
     * caller keeps them, not copied: iov lists the pieces in order.  iov[at]
     * is the first piece not wholly written, trimmed by what of it went.
     * The caller's batches must live until cb (kw__conn_send says so); the
     * connection stops touching them once the last byte is written.
     */
    uint8_t *buf;
    struct iovec *iov;
    size_t niov, at;
    size_t len, off; /* the frame's length; off: bytes already written */
    int32_t corr;
    int16_t api_key, version;
    bool no_response; /* acks=0 Produce */
    bool internal;    /* ApiVersions / SASL, driven by the connection itself */
    kw_loop_timer timer;
    kw_conn_response_fn *cb;
    void *arg;
    struct iovec iov_space[]; /* iov, in the same allocation */
};

typedef struct rlist {
    creq *head, *tail;
    size_t n;
} rlist;

struct kw_conn {
    kw_loop *loop;
    int phase;
    int fd;
    unsigned interest;
    char *host, *server_name, *client_id;
    uint16_t port;
    char peer[300];      /* host:port as configured */
    char addr_text[300]; /* the address being tried: 127.0.0.1:19092, [::1]:19092 */
    struct addrinfo *ai_list, *ai_next;
    uint32_t connect_ms, max_in_flight, max_frame, session_cap_ms;
    kw_loop_timer phase_timer, reauth_timer;

    kw_tls_ctx *tls_ctx;
    kw_tls *tls;
    unsigned tls_read_want, tls_write_want; /* what a blocked TLS read / write waits for */
    /*
     * TLS cannot gather: pieces smaller than a record are copied here and
     * written as one.  tls_committed: bytes from the send queue's head that
     * the last SSL_write took in before it had to wait; OpenSSL holds them
     * encrypted, so the retry must offer them again and no request among
     * them may be dropped.
     */
    uint8_t *tls_stage;
    size_t tls_committed;

    bool has_sasl, reauthing;
    kw_sasl sasl;
    /* A credential document being fetched for the next exchange: cancelled when the connection shuts. */
    kw_cred_job *cred_job;
    int16_t sasl_auth_ver;
    unsigned reauth_count;
    int16_t api_versions_ver;
    kw_versions versions;
    const kw_api_release *api_release; /* kw_conn_options.api_release */

    rlist waitq, outq, awaitq, doneq;
    /*
     * Write-first: a request is written as soon as it is queued, and write
     * interest (EPOLLOUT) is asked for only when the socket would block.  A
     * write made inside a kw__conn_* call may run no callback, so what it
     * finishes (acks=0 requests, in doneq) or hits (write_err, with its text)
     * is reported by defer_timer on the next round.  writing: a write is under
     * way further up the stack (a callback it ran queued more), so nothing
     * else writes until it returns.
     */
    kw_loop_timer defer_timer;
    int write_err;
    char write_err_text[512];
    bool writing;
    uint64_t write_waits; /* times write interest was switched on for queued output */
    int32_t next_corr;
    uint8_t *rbuf;
    size_t rlen, rcap;
    bool keep_rbuf; /* rbuf is a spare handed in by kw__conn_take_frame: kept until a frame comes */
    /*
     * The frame a response callback is running for (NULL between callbacks):
     * lets the callback take the read buffer holding it (kw__conn_take_frame)
     * instead of copying the frame out.  Per connection, not per thread, so
     * two sessions in one process (or a callback that runs another
     * connection's loop) never see each other's frame.
     */
    const uint8_t *dispatch_frame;
    size_t dispatch_len;
    bool dispatch_taken;

    unsigned busy; /* nesting depth of loop entry points: free waits until it is 0 */
    bool free_pending;
    uint64_t rng;
    kw_conn_state_fn *on_state;
    void *state_arg;
    kw_log_fn *log; /* levels KW_LOG_* */
    void *log_arg;
    char errstr[512];
};

static inline void kw__conn_queue_push(rlist *l, creq *r, int where)
{
    r->prev = l->tail;
    r->next = NULL;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    l->n++;
    r->where = where;
}

static inline void kw__conn_queue_remove(rlist *l, creq *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        l->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        l->tail = r->prev;
    l->n--;
    r->prev = r->next = NULL;
    r->where = Q_NONE;
}

/* conn.c */
/* strerror with a lower-case first letter, to read well after a colon. */
const char *kw__conn_errno_text(int e, char *buf, size_t len);
void kw__conn_fail(kw_conn *c, int conn_err, int req_err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void kw__conn_log(kw_conn *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
uint64_t kw__conn_random(kw_conn *c);
/* Loop entry points bracket their work with these, so a kw__conn_free from a callback waits. */
void kw__conn_enter(kw_conn *c);
void kw__conn_leave(kw_conn *c);
/* Queues a request the connection makes for itself (ApiVersions, SASL), ahead of the callers'. */
int kw__conn_send_internal(kw_conn *c, int api_key, int ver, const void *req,
                           kw_conn_response_fn *cb);

/* conn_write.c */
/*
 * Sends what may go now: queued requests while the connection is ready and
 * not re-authenticating, written at once as far as the socket takes them.
 * Runs no request callback (safe inside kw__conn_* calls).
 */
void kw__conn_pump(kw_conn *c);
/* Moves waiting requests to the send queue, as far as the in-flight limit allows; writes nothing. */
void kw__conn_move_waiting(kw_conn *c);
/* Writes the send queue at once (no callback runs), then sets the interest the rest needs. */
void kw__conn_flush(kw_conn *c);
/*
 * Writes the send queue until it is empty or the socket is full.
 * inside_call: inside a kw__conn_* call, where no callback may run, so what
 * it finishes or hits is left for defer_timer.
 */
void kw__conn_write(kw_conn *c, bool inside_call);
/* Asks the loop for the events the connection's phase and queues need. */
void kw__conn_update_interest(kw_conn *c);
/* Whether any of r's bytes are on their way (written, or held by an SSL_write to be retried). */
bool kw__conn_request_started(const kw_conn *c, const creq *r);

/* conn_setup.c: ApiVersions, then SASL when configured, then ready; KIP-368 re-authentication. */
void kw__conn_start_setup(kw_conn *c);
void kw__conn_on_reauth_timer(kw_loop_timer *t, void *arg);

#endif /* KW_NET_CONN_INT_H */
