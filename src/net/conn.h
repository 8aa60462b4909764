/* One broker connection on the loop: connect, TLS, ApiVersions, SASL (+ KIP-368), pipelined requests. */
#ifndef KW_NET_CONN_H
#define KW_NET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwal/error.h"
#include "net/loop.h"
#include "net/sasl.h"
#include "net/tls.h"
#include "proto/msg.h"

/*
 * Threading: every function here is loop-thread only (the layer above
 * crosses threads with kw__loop_post).  Callbacks run on the loop thread,
 * never from inside the kw__conn_* call that caused them, except that
 * kw__conn_close and kw__conn_free fail what is pending right away.
 */
typedef struct kw_conn kw_conn;

enum kw_conn_state {
    KW_CONN_READY = 1,  /* connected, versions negotiated, authenticated: err is 0 */
    KW_CONN_CLOSED = 2, /* for good: err and detail say why (KW_ECLOSED after kw__conn_close) */
};
/*
 * KW_CONN_READY fires once; KW_CONN_CLOSED fires once, after every pending
 * request has had its callback, and not at all after kw__conn_close or
 * kw__conn_free (the caller knows).  kw__conn_free may be called from it.
 */
typedef void kw_conn_state_fn(kw_conn *c, int state, int err, const char *detail, void *arg);

/*
 * Called exactly once per accepted request.  err == 0: frame/len is the
 * response frame after its size prefix (header included; kw__conn_decode
 * reads it), valid only during the call, at `version`.  An acks=0 Produce
 * gets err 0, frame NULL, as soon as its last byte is written to the socket
 * (that is all acks=0 promises).  err < 0: KW_ETIMEDOUT (its deadline
 * passed), KW_ECLOSED (kw__conn_close), or the error that broke the
 * connection (KW_EIO, KW_ETLS, KW_ESASL, KW_EMALFORMED, KW_ETOOBIG ...) —
 * a request failed with anything but KW_ETIMEDOUT may or may not have
 * reached the broker.
 */
typedef void kw_conn_response_fn(int err, const uint8_t *frame, size_t len, int version,
                                 void *arg);

/*
 * Size limits that must agree with each other.  A connection reads responses
 * of up to KW__CONN_MAX_FRAME bytes.  A Fetch answer holds up to its byte
 * budget and, when the first record batch is larger than the budget, that
 * batch whole (the broker never cuts it), so the budgets (consumer
 * fetch_bytes, kw_client_fetch max_bytes, WAL fetch_max_bytes) stay within
 * KW__MAX_FETCH_BYTES and the batches kwal writes (producer batch_bytes, WAL
 * max_batch_bytes) within KW__MAX_BATCH_BYTES: together well under the frame
 * limit.  Mimir's records (up to 15,983,616 bytes, batches up to 16 MB) fit.
 */
#define KW__CONN_MAX_FRAME (100u << 20)
#define KW__MAX_FETCH_BYTES (64u << 20)
#define KW__MAX_BATCH_BYTES (32u << 20)

/* Zero means default. */
typedef struct kw_conn_options {
    const char *host; /* name, IPv4 or IPv6 literal; every address it resolves to is tried */
    uint16_t port;
    const char *client_id;       /* "kwal" */
    uint32_t connect_timeout_ms; /* 10000: per address for TCP, then again for TLS+ApiVersions+SASL */
    kw_tls_ctx *tls;             /* NULL = plaintext; the connection holds a reference */
    const char *tls_server_name; /* name the certificate must carry, and SNI; default host */
    const kw_sasl_config *sasl;  /* NULL = no SASL; copied */
    uint32_t max_in_flight;      /* 64 requests sent and unanswered; more wait in a queue */
    uint32_t max_frame_size;     /* KW__CONN_MAX_FRAME: a larger response closes the connection */
    kw_conn_state_fn *on_state;
    void *state_arg;
    kw_log_fn *log; /* levels KW_LOG_* */
    void *log_arg;
    /* Tests: when > 0, treat every SASL session as lasting at most this many ms (KIP-368). */
    uint32_t sasl_session_cap_ms;
    /* Negotiate no version newer than this Kafka release has (const table data); NULL: no cap. */
    const kw_api_release *api_release;
} kw_conn_options;

/*
 * Starts connecting (name resolution included) on the next loop round;
 * failures arrive through on_state.  Returns KW_EINVAL / KW_ECONFIG (bad
 * options, SASL config: the log callback says which; *out is NULL then) or
 * KW_ENOMEM.
 */
int kw__conn_new(kw_conn **out, kw_loop *loop, const kw_conn_options *opt);

/*
 * Encodes req (only read during the call) as api_key at version (-1: the
 * negotiated one, which needs the connection READY, else KW_EAGAIN) and
 * queues it.  deadline_ns is absolute CLOCK_MONOTONIC.  Returns 0 and cb is
 * then called exactly once, later; or a negative error and cb is never
 * called: KW_ECLOSED, KW_EAGAIN, KW_EVERSION (with errstr naming the API),
 * KW_EINVAL/KW_ETOOBIG/KW_ENOMEM from encoding.
 *
 * Ownership: a Produce's record batches of 1 KiB or more (each partition's
 * records.ptr) are not copied into the frame but written from where they
 * are, so they must stay valid and unchanged until cb is called; the rest of
 * req is only read during the call.  The request is written at once as far
 * as the socket takes it (never running a callback from inside this call).
 */
int kw__conn_send(kw_conn *c, int api_key, int version, const void *req, uint64_t deadline_ns,
                  kw_conn_response_fn *cb, void *arg);

/* Closes the socket and fails every pending request with KW_ECLOSED now (callbacks once each). */
void kw__conn_close(kw_conn *c);
/* Closes (as kw__conn_close) and frees; safe inside any of this connection's callbacks. */
void kw__conn_free(kw_conn *c);

bool kw__conn_ready(const kw_conn *c);
bool kw__conn_closed(const kw_conn *c);
/* The negotiated versions; valid once READY. */
const kw_versions *kw__conn_versions(const kw_conn *c);
/* The detail of the last failure ("connect 127.0.0.1:19092: connection refused"); "" if none. */
const char *kw__conn_errstr(const kw_conn *c);
/* "host:port" of the broker. */
const char *kw__conn_peer(const kw_conn *c);
/* Requests sent and not yet answered, and requests waiting to be sent. */
size_t kw__conn_in_flight(const kw_conn *c);
size_t kw__conn_queued(const kw_conn *c);
/* Completed SASL re-authentications (KIP-368) on this connection. */
unsigned kw__conn_reauth_count(const kw_conn *c);
/*
 * Times the connection had to wait for the socket to take queued bytes
 * (write interest switched on).  Requests are written as soon as they are
 * queued, so this stays 0 while the socket keeps up.
 */
uint64_t kw__conn_write_waits(const kw_conn *c);

/*
 * Called from a kw_conn_response_fn (or a callback it makes synchronously) on
 * the loop thread, with the connection and the frame it was given (a cluster
 * call's result names both): takes c's read buffer that holds the frame, so
 * the caller can keep the frame's bytes without copying them.  Returns the
 * buffer's start (the frame lies inside it; the caller frees the buffer with
 * free, or hands it back as a spare) and its size in *cap, or NULL when the
 * frame is not the one c is dispatching (c NULL, another connection's, no
 * callback running), was taken already, or memory for the connection's new
 * buffer is short (then copy instead).
 *
 * spare (may be NULL): a buffer of spare_cap bytes, typically one taken
 * earlier, for the connection to read into next instead of a fresh one (a
 * big response then lands in memory that is already mapped); it is kept
 * until the next frame arrives even if the connection goes idle.  On
 * success the connection owns spare (it uses it, or frees it when it is too
 * small); on NULL the caller still does.
 */
uint8_t *kw__conn_take_frame(kw_conn *c, const uint8_t *frame, uint8_t *spare, size_t spare_cap,
                             size_t *cap);

/* Decodes a response frame handed to a kw_conn_response_fn (a thin kw__response_decode). */
int kw__conn_decode(const uint8_t *frame, size_t len, int api_key, int version, kw_arena *a,
                    void *resp);

#endif /* KW_NET_CONN_H */
