/* The src/net event loop: one epoll fd per client with fd watches, timers and posted tasks. */
#ifndef KW_NET_LOOP_H
#define KW_NET_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwal/error.h"

/*
 * Threading rule: a loop belongs to one thread at a time, "the loop thread" —
 * the I/O thread from kw__loop_start_thread, or whichever host thread calls
 * kw__loop_run_once.  Everything below is loop-thread only except
 * kw__loop_post, kw__loop_stop_thread and kw__loop_backend_fd, which any
 * thread may call.
 *
 * Ownership rule: a loop is owned by exactly one object (a client), which
 * creates it and is the only caller of kw__loop_free.  Other threads reach
 * kw__loop_post only through that owner's functions, and the owner's destroy
 * function is, like every destroy, not to be called concurrently with its
 * other functions; so no thread holds a kw_loop pointer once it is freed.
 * Posts that race with teardown itself (from drop callbacks, say) get
 * KW_ECLOSED rather than a queue that nobody will drain.
 */
typedef struct kw_loop kw_loop;
typedef struct kw_loop_timer kw_loop_timer;

enum kw_loop_events {
    KW_LOOP_READ = 1u << 0,
    KW_LOOP_WRITE = 1u << 1,
    /* Delivered only, never asked for: the fd has an error or was hung up. */
    KW_LOOP_ERROR = 1u << 2,
};

/* Called with the ready subset of the fd's interest (and KW_LOOP_ERROR). */
typedef void kw_loop_fd_cb(kw_loop *loop, int fd, unsigned events, void *arg);
typedef void kw_loop_timer_cb(kw_loop_timer *timer, void *arg);
typedef void kw_loop_task_fn(kw_loop *loop, void *arg);
/* Frees a posted task's arg when the task will never run (loop freed first). */
typedef void kw_loop_drop_fn(void *arg);

/*
 * A one-shot timer.  The caller owns the memory (embed it in the object it
 * times); the loop only holds a pointer while it is armed, so stop it before
 * freeing it.  Fields are private to loop.c.
 */
struct kw_loop_timer {
    kw_loop *loop;
    kw_loop_timer_cb *cb;
    void *arg;
    uint64_t deadline_ns; /* CLOCK_MONOTONIC */
    uint64_t seq;         /* arming order: ties on deadline fire first-armed first */
    size_t slot;          /* heap index + 1 while armed, 0 when not */
};

int kw__loop_new(kw_loop **out);
/*
 * Stops the I/O thread if one runs (so never call it from a loop callback),
 * then discards the tasks still queued, calling each one's drop function.
 * Registered fds are left open (their owners close them); armed timers are
 * disarmed and must not be used again.
 */
void kw__loop_free(kw_loop *loop);
/* Detail text of the last failure on the loop thread ("" if none). */
const char *kw__loop_errstr(const kw_loop *loop);

/* fd watches; events is a mask of KW_LOOP_READ / KW_LOOP_WRITE (0 = none for now). */
int kw__loop_fd_add(kw_loop *loop, int fd, unsigned events, kw_loop_fd_cb *cb, void *arg);
int kw__loop_fd_modify(kw_loop *loop, int fd, unsigned events);
/* Remove before close(); an event already gathered for fd is not delivered. */
int kw__loop_fd_remove(kw_loop *loop, int fd);

void kw__loop_timer_init(kw_loop *loop, kw_loop_timer *t, kw_loop_timer_cb *cb, void *arg);
/* Arms (or re-arms) t to fire delay_ms after the loop's cached now. */
int kw__loop_timer_start(kw_loop_timer *t, uint64_t delay_ms);
/* Arms (or re-arms) t for an absolute CLOCK_MONOTONIC deadline; a past one fires next round. */
int kw__loop_timer_start_at(kw_loop_timer *t, uint64_t deadline_ns);
/* Disarms t; a no-op when it is not armed, even if it was due this very round. */
void kw__loop_timer_stop(kw_loop_timer *t);
static inline bool kw__loop_timer_armed(const kw_loop_timer *t)
{
    return t->slot != 0;
}

/*
 * Any thread: queue run(loop, arg) to run on the loop thread.  Tasks run in
 * the order they were posted.  If the loop is freed first, drop(arg) is called
 * instead (drop may be NULL).  On failure (KW_ENOMEM, KW_ECLOSED, KW_EINVAL)
 * neither is called and the caller still owns arg.
 */
int kw__loop_post(kw_loop *loop, kw_loop_task_fn *run, kw_loop_drop_fn *drop, void *arg);

/* The loop's notion of now, cached at each iteration so reading it is free. */
uint64_t kw__loop_now_ns(const kw_loop *loop);
/* CLOCK_MONOTONIC read now (any thread), for deadlines outside the loop. */
uint64_t kw__clock_now_ns(void);
uint64_t kw__loop_now_ms(const kw_loop *loop);
/* Reads CLOCK_MONOTONIC into the cache and returns it. */
uint64_t kw__loop_update_time(kw_loop *loop);

/*
 * One round: wait up to timeout_ms (-1 = until something happens, 0 = no
 * wait; never past the next timer) for ready fds, then dispatch them, then the
 * expired timers, then the tasks posted so far.  Returns the number of
 * callbacks run, or a negative KW_E* code.
 */
int kw__loop_run_once(kw_loop *loop, int timeout_ms);

/* Host-driven mode: the epoll fd, readable whenever run_once has work. */
int kw__loop_backend_fd(const kw_loop *loop);
/* Ms until the next timer: -1 if none, 0 if a timer is due or a task is queued. */
int kw__loop_timeout_ms(kw_loop *loop);

/*
 * Own-thread mode: run the loop on a new I/O thread until stop is asked.
 * Stop may be called from any thread but the I/O thread itself (KW_EINVAL
 * there, since joining oneself deadlocks); it returns once the thread has
 * exited, and every task posted before the call has run by then.  It returns
 * the error that ended the thread early, if any.  The loop can be started
 * again afterwards.
 */
int kw__loop_start_thread(kw_loop *loop);
int kw__loop_stop_thread(kw_loop *loop);

#endif /* KW_NET_LOOP_H */
