/* Blocking on a client's loop: who may block, waiting for a call, running code on its thread. */
#include <errno.h>
#include <time.h>

#include "net/client_int.h"

/*
 * Own-thread mode: the I/O thread runs the loop and a blocked caller waits on
 * its waiter's condition.  Host-driven mode: whichever thread enters the loop
 * (kw_client_run_once, or a blocking call with nobody else in it) runs it;
 * the others wait on their condition, looking again every 10 ms in case the
 * driver left.  The thread in the loop (and the I/O thread) must never wait
 * for the loop: kw__client_can_block says KW_EDEADLK there.
 */

/* Host-driven: this thread becomes the one running the loop, if none is. */
bool kw__client_enter_loop(kw_client *c)
{
    int expect = 0;
    if (!atomic_compare_exchange_strong(&c->in_loop, &expect, 1))
        return false;
    c->loop_tid = pthread_self();
    atomic_store(&c->loop_tid_set, true);
    return true;
}

void kw__client_leave_loop(kw_client *c)
{
    atomic_store(&c->loop_tid_set, false);
    atomic_store(&c->in_loop, 0);
}

int kw__client_can_block(kw_client *c)
{
    if (atomic_load(&c->in_loop) && atomic_load(&c->loop_tid_set) &&
        pthread_equal(pthread_self(), c->loop_tid))
        return KW_EDEADLK;
    if (!c->host_driven && atomic_load(&c->io_tid_set) && pthread_equal(pthread_self(), c->io_tid))
        return KW_EDEADLK;
    return 0;
}

int kw__client_drive(kw_client *c, int timeout_ms)
{
    int rc = kw__client_can_block(c);
    if (rc)
        return rc;
    if (!c->host_driven || !kw__client_enter_loop(c))
        return 0;
    kw__loop_run_once(c->loop, timeout_ms);
    kw__client_leave_loop(c);
    return 1;
}

/* Blocks until w is done: on its condition (own thread, or another thread drives), else by
 * running the loop here. */
static void wait_done(kw_client *c, kw_waiter *w)
{
    while (!atomic_load(&w->done)) {
        if (c->host_driven && kw__client_enter_loop(c)) {
            while (!atomic_load(&w->done))
                kw__loop_run_once(c->loop, 100);
            kw__client_leave_loop(c);
            break;
        }
        pthread_mutex_lock(&w->mu);
        if (!atomic_load(&w->done)) {
            if (c->host_driven) { /* another thread drives: look again soon, it may stop */
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 10 * 1000000;
                if (ts.tv_nsec >= 1000000000) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&w->cv, &w->mu, &ts);
            } else {
                pthread_cond_wait(&w->cv, &w->mu);
            }
        }
        pthread_mutex_unlock(&w->mu);
    }
}

int kw__client_wait(kw_client *c, kw_call *k, kw_waiter *w, void *out)
{
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    atomic_init(&w->done, false);
    w->out = out;
    k->w = w;
    int rc = kw__client_can_block(c);
    if (!rc)
        rc = kw__client_submit(c, k);
    if (!rc)
        wait_done(c, w);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    return rc;
}

/* kw__client_run: a call whose start is fn itself. */
typedef struct run_call {
    kw_call base;
    int (*fn)(void *);
    void *arg;
} run_call;

static void run_done(const kw_cluster_result *res, void *arg)
{
    run_call *k = arg;
    kw_waiter *w = k->base.w;
    *(int *)w->out = res->err;
    kw__waiter_done(w);
}

static int run_start(kw_call *base)
{
    run_call *k = (run_call *)base;
    kw_waiter *w = base->w;
    *(int *)w->out = k->fn(k->arg);
    kw__waiter_done(w);
    return 0;
}

int kw__client_run(kw_client *c, int (*fn)(void *arg), void *arg)
{
    /* On the caller's stack: the waiter is signalled last, after which nothing touches k. */
    run_call k = {.base = {.c = c, .start = run_start, .done = run_done}, .fn = fn, .arg = arg};
    kw_waiter w;
    int result = 0;
    int rc = kw__client_wait(c, &k.base, &w, &result);
    return rc ? rc : result;
}

kw_loop *kw__client_loop(kw_client *c)
{
    return c->loop;
}

kw_cluster *kw__client_cluster(kw_client *c)
{
    return c->cluster;
}

bool kw__client_host_driven(const kw_client *c)
{
    return c->host_driven;
}

kw_log_fn *kw__client_log(const kw_client *c, void **arg)
{
    *arg = c->log_arg;
    return c->log;
}


int kw__client_wait_cond(kw_client *c, pthread_mutex_t *mu, pthread_cond_t *cond,
                         const struct timespec *until)
{
    int rc = kw__client_can_block(c);
    if (rc)
        return rc;
    struct timespec now;
    if (kw__client_host_driven(c)) {
        int ms = 100;
        if (until) {
            clock_gettime(CLOCK_REALTIME, &now);
            int64_t left = (int64_t)(until->tv_sec - now.tv_sec) * 1000 +
                           (until->tv_nsec - now.tv_nsec) / 1000000;
            if (left <= 0)
                return KW_ETIMEDOUT;
            if (left < ms)
                ms = (int)left;
        }
        pthread_mutex_unlock(mu);
        int drove = kw__client_drive(c, ms);
        pthread_mutex_lock(mu);
        if (drove != 0)
            return drove < 0 ? drove : 0;
        /* Another thread runs the loop: it signals cond, or we look again in 10 ms (it may
         * stop running the loop, and then this thread must take over). */
        clock_gettime(CLOCK_REALTIME, &now);
        now.tv_nsec += 10 * 1000000;
        if (now.tv_nsec >= 1000000000) {
            now.tv_sec++;
            now.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(cond, mu, &now);
        return 0;
    }
    if (!until) {
        pthread_cond_wait(cond, mu);
        return 0;
    }
    return pthread_cond_timedwait(cond, mu, until) == ETIMEDOUT ? KW_ETIMEDOUT : 0;
}

int kw__client_call_async(kw_client *c, kw_call *k, void (*cb)(void), void *arg,
                          kw_call_drop_fn *drop)
{
    k->cb = cb;
    k->cb_arg = arg;
    int rc = kw__client_submit(c, k);
    if (rc)
        drop(k);
    return rc;
}

int kw__client_call_wait(kw_client *c, kw_call *k, void *out, kw_call_drop_fn *drop)
{
    int rc = kw__client_can_block(c);
    if (!rc) {
        kw_waiter w;
        rc = kw__client_wait(c, k, &w, out);
        if (!rc)
            return 0;
    }
    drop(k);
    return rc;
}
