/* What client.c and client_admin.c share: the client object, a submitted call, and blocking waits. */
#ifndef KW_NET_CLIENT_INT_H
#define KW_NET_CLIENT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kwal/client.h"
#include "net/cluster.h"
#include "net/cred.h"
#include "net/loop.h"
#include "net/sasl.h"
#include "net/tls.h"

/*
 * A blocking form waits on one of these (on its own stack).  The loop thread
 * fills *out, frees the call, and only then sets done: once done is seen the
 * waiter may return, so nothing touches the waiter after the signal.
 */
typedef struct kw_waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_bool done;
    void *out; /* the caller's result struct */
} kw_waiter;

typedef struct kw_call kw_call;
/* Loop thread: hand the call to the cluster; a non-zero return fails it through done. */
typedef int kw_call_start_fn(kw_call *k);

/*
 * One submitted call.  Each kind embeds this first.  done is the cluster's
 * completion callback; it is also how a call that never reached the cluster
 * (start failed, client destroyed first) is failed, with a result holding
 * only err and detail.  done delivers the result and frees the call.
 */
struct kw_call {
    kw_call *next;
    kw_client *c;
    kw_call_start_fn *start;
    kw_cluster_done_fn *done;
    uint64_t deadline_ns;
    void (*cb)(void); /* the caller's typed callback (async), cast back by the kind */
    void *cb_arg;
    kw_waiter *w; /* blocking form: NULL for async */
};

struct kw_client {
    kw_loop *loop;
    kw_cluster *cluster;
    kw_tls_ctx *tls;
    kw_sasl_config sasl; /* strings below; the cluster's connections read it */
    kw_cred_source *cred; /* OAUTHBEARER / AWS_MSK_IAM document source, or NULL */
    char *strs[24];      /* every copied option string, freed together */
    uint32_t request_timeout_ms;
    bool host_driven;
    kw_log_fn *log;
    void *log_arg;
    char *new_errbuf; /* while kw_client_new runs: where an error log line goes */
    size_t new_errlen;

    /* Calls submitted by any thread, taken by one drain task on the loop thread. */
    pthread_mutex_t mu;
    kw_call *head, **tailp;
    bool drain_posted;
    bool closing;

    /* Who must not block: the I/O thread (own-thread mode) or whoever is inside the loop. */
    atomic_bool io_tid_set;
    pthread_t io_tid;
    atomic_int in_loop;      /* host-driven: a thread runs the loop now */
    atomic_bool loop_tid_set; /* ... and loop_tid says which (set after in_loop, cleared before) */
    pthread_t loop_tid;
};

/* Host-driven: this thread becomes the one in the loop (true), unless one already is (false). */
bool kw__client_enter_loop(kw_client *c);
void kw__client_leave_loop(kw_client *c);
/* Absolute CLOCK_MONOTONIC deadline for a call's timeout (0 = the client's default). */
uint64_t kw__client_deadline(const kw_client *c, uint32_t timeout_ms);
/* What is left of a deadline in ms, for the timeout a request carries: 1 to INT32_MAX. */
int32_t kw__client_ms_left(uint64_t deadline_ns);
/* Any thread: queue k for the loop thread.  0, or KW_ECLOSED / KW_ENOMEM (the caller keeps k). */
int kw__client_submit(kw_client *c, kw_call *k);
/*
 * 0 when the calling thread may block on c, else KW_EDEADLK: it is the loop
 * thread (a callback of this client, or of a WAL or meta handle on it), where
 * waiting for the loop would wait for itself.  Every blocking call checks it
 * first and returns its code.
 */
int kw__client_can_block(kw_client *c);
/* Blocking form: submits k with waiter w and returns once done ran (0), or the submit error. */
int kw__client_wait(kw_client *c, kw_call *k, kw_waiter *w, void *out);
/*
 * The two forms every call kind offers, around a k its constructor made.
 * Async: sets the caller's callback and submits; on failure k is dropped.
 * Blocking: KW_EDEADLK from the loop thread, else submits and waits for done;
 * 0 once done ran (it filled out), else the error with k dropped.  drop
 * frees a call that never reached the loop.
 */
typedef void kw_call_drop_fn(kw_call *k);
int kw__client_call_async(kw_client *c, kw_call *k, void (*cb)(void), void *arg,
                          kw_call_drop_fn *drop);
int kw__client_call_wait(kw_client *c, kw_call *k, void *out, kw_call_drop_fn *drop);
/* Loop thread, from done: wake the blocked caller (the last touch of w). */
void kw__waiter_done(kw_waiter *w);
/* The detail text of a result: "" on success, else the cluster's text or the code's message. */
void kw__client_detail(char *dst, int err, const char *detail);
/* Fails k as if the cluster had (err, detail): calls k->done. */
void kw__call_fail(kw_call *k, int err, const char *detail);

/* ---- for the handles built on a client (the kafka WAL, kw_meta): one session under all ---- */

/* The client's loop and cluster: use them on the loop thread only (kw__client_run gets there). */
kw_loop *kw__client_loop(kw_client *c);
kw_cluster *kw__client_cluster(kw_client *c);
bool kw__client_host_driven(const kw_client *c);
/* The client's log callback (NULL none) and its argument. */
kw_log_fn *kw__client_log(const kw_client *c, void **arg);

/*
 * Runs fn(arg) on the loop thread and returns its result once it has run:
 * own-thread mode waits for the I/O thread; host-driven mode runs the loop on
 * this thread until fn has run (or waits while another thread runs it).
 * KW_EDEADLK from the loop thread itself (fn would wait for its own caller),
 * KW_ECLOSED when the client is being destroyed, KW_ENOMEM.
 */
int kw__client_run(kw_client *c, int (*fn)(void *arg), void *arg);

/*
 * For a wait on something the loop thread will do (a condition variable):
 * host-driven mode runs one loop round of at most timeout_ms on this thread
 * and returns 1, or 0 when another thread is running the loop (wait on the
 * condition for a short while instead); own-thread mode returns 0 at once.
 * KW_EDEADLK from the loop thread.
 */
int kw__client_drive(kw_client *c, int timeout_ms);

/*
 * Waits on cond (mu held, as for pthread_cond_wait) for something the loop
 * thread will signal, the one way every handle on a client waits (the WAL,
 * kw_meta's topic calls and pruning rounds): host-driven, this thread runs
 * the loop for up to 100 ms (or to until), or, while another thread runs it,
 * waits at most 10 ms so it takes over if that thread stops; own-thread mode
 * is a plain condition wait.  Returns 0 (look at your condition again),
 * KW_ETIMEDOUT once until (CLOCK_REALTIME; NULL: none) has passed, or
 * KW_EDEADLK from the loop thread (a callback), where waiting would hang.
 */
int kw__client_wait_cond(kw_client *c, pthread_mutex_t *mu, pthread_cond_t *cond,
                         const struct timespec *until);

#endif /* KW_NET_CLIENT_INT_H */
