/* The src/net event loop: epoll fd watches, a timer min-heap, and an eventfd-woken task queue. */
#include "net/loop.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/*
 * Level-triggered epoll.  An fd that is still readable after its callback
 * returns is simply reported again next round, so a connection may read a
 * bounded amount per round (fairness between brokers) without ever losing a
 * wake-up; write interest is switched on only while output is queued, so the
 * always-writable socket does not spin the loop.  Edge-triggered would save
 * that one epoll_ctl but force every reader to drain to EAGAIN and makes a
 * missed re-arm a silent hang.
 */

/* Events gathered per round; more ready fds simply wait for the next round. */
#define KW_LOOP_MAX_EVENTS 128
/* epoll data of the wake eventfd; a watch's data is gen << 32 | fd, never this. */
#define KW_LOOP_WAKE_DATA UINT64_MAX

typedef struct kw_loop_task {
    struct kw_loop_task *next;
    kw_loop_task_fn *run;
    kw_loop_drop_fn *drop;
    void *arg;
} kw_loop_task;

/* One fd's registration, stored at index fd (fds are small, dense integers). */
typedef struct kw_loop_watch {
    kw_loop_fd_cb *cb; /* NULL: slot unused */
    void *arg;
    unsigned events;
    uint32_t gen;
} kw_loop_watch;

struct kw_loop {
    int epfd;
    int wakefd;
    uint64_t now_ns;
    bool in_run;

    kw_loop_watch *watches;
    size_t nwatches;
    /*
     * Stamped into each registration and its epoll data.  An event gathered
     * before its fd was removed (or removed, closed, reopened and re-added
     * under the same number by an earlier callback of the same round) carries
     * the old stamp and is skipped, so no callback sees a stale event.
     */
    uint32_t next_gen;

    kw_loop_timer **heap; /* binary min-heap on (deadline_ns, seq) */
    size_t heap_len;
    size_t heap_cap;
    uint64_t timer_seq;

    /* Shared with posting threads; guarded by mu. */
    pthread_mutex_t mu;
    kw_loop_task *head;
    kw_loop_task **tailp;
    bool wake_pending; /* the eventfd has been written since the loop last drained */
    bool stop_requested;
    bool closed;

    /* Own-thread mode; touched only by the thread that starts and stops it. */
    pthread_t thread;
    bool thread_running;
    int thread_err;

    char err[128];
    struct epoll_event events[KW_LOOP_MAX_EVENTS];
};

static int fail_errno(kw_loop *loop, int code, const char *what)
{
    char buf[64];
    int e = errno;
    snprintf(loop->err, sizeof(loop->err), "%s: %s", what, strerror_r(e, buf, sizeof(buf)));
    if (e == ENOMEM || e == ENOSPC)
        return KW_ENOMEM;
    return code;
}

uint64_t kw__clock_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t kw__loop_now_ns(const kw_loop *loop)
{
    return loop->now_ns;
}

uint64_t kw__loop_now_ms(const kw_loop *loop)
{
    return loop->now_ns / 1000000u;
}

uint64_t kw__loop_update_time(kw_loop *loop)
{
    loop->now_ns = kw__clock_now_ns();
    return loop->now_ns;
}

const char *kw__loop_errstr(const kw_loop *loop)
{
    return loop->err;
}

int kw__loop_backend_fd(const kw_loop *loop)
{
    return loop->epfd;
}

int kw__loop_new(kw_loop **out)
{
    if (!out)
        return KW_EINVAL;
    *out = NULL;
    kw_loop *loop = calloc(1, sizeof(*loop));
    if (!loop)
        return KW_ENOMEM;
    loop->epfd = loop->wakefd = -1;
    loop->next_gen = 1;
    loop->tailp = &loop->head;
    int rc = KW_EIO;
    if (pthread_mutex_init(&loop->mu, NULL) != 0) {
        free(loop);
        return KW_ENOMEM;
    }
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0)
        goto fail;
    loop->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->wakefd < 0)
        goto fail;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = KW_LOOP_WAKE_DATA};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ev) != 0)
        goto fail;
    kw__loop_update_time(loop);
    *out = loop;
    return 0;
fail:
    rc = (errno == ENOMEM) ? KW_ENOMEM : KW_EIO;
    if (loop->wakefd >= 0)
        close(loop->wakefd);
    if (loop->epfd >= 0)
        close(loop->epfd);
    pthread_mutex_destroy(&loop->mu);
    free(loop);
    return rc;
}

void kw__loop_free(kw_loop *loop)
{
    if (!loop)
        return;
    if (loop->thread_running)
        kw__loop_stop_thread(loop);

    /*
     * Pending tasks are discarded, not run: they were written for a live
     * client, and running them now would hand them a half-torn-down one.
     * Their drop functions free what they carry.
     */
    pthread_mutex_lock(&loop->mu);
    loop->closed = true;
    kw_loop_task *task = loop->head;
    loop->head = NULL;
    loop->tailp = &loop->head;
    pthread_mutex_unlock(&loop->mu);
    while (task) {
        kw_loop_task *next = task->next;
        if (task->drop)
            task->drop(task->arg);
        free(task);
        task = next;
    }

    for (size_t i = 0; i < loop->heap_len; i++)
        loop->heap[i]->slot = 0;
    free(loop->heap);
    free(loop->watches);
    close(loop->wakefd);
    close(loop->epfd);
    pthread_mutex_destroy(&loop->mu);
    free(loop);
}

/* ---- fd watches ---- */

static uint32_t to_epoll(unsigned events)
{
    return ((events & KW_LOOP_READ) ? EPOLLIN : 0) | ((events & KW_LOOP_WRITE) ? EPOLLOUT : 0);
}

static kw_loop_watch *find_watch(kw_loop *loop, int fd)
{
    if (fd < 0 || (size_t)fd >= loop->nwatches || !loop->watches[fd].cb)
        return NULL;
    return &loop->watches[fd];
}

int kw__loop_fd_add(kw_loop *loop, int fd, unsigned events, kw_loop_fd_cb *cb, void *arg)
{
    if (fd < 0 || !cb || (events & ~(unsigned)(KW_LOOP_READ | KW_LOOP_WRITE)))
        return KW_EINVAL;
    if (find_watch(loop, fd))
        return KW_EEXISTS;
    if ((size_t)fd >= loop->nwatches) {
        size_t n = loop->nwatches ? loop->nwatches : 64;
        while (n <= (size_t)fd)
            n *= 2;
        kw_loop_watch *w = realloc(loop->watches, n * sizeof(*w));
        if (!w)
            return KW_ENOMEM;
        memset(w + loop->nwatches, 0, (n - loop->nwatches) * sizeof(*w));
        loop->watches = w;
        loop->nwatches = n;
    }
    uint32_t gen = loop->next_gen++;
    if (loop->next_gen == 0)
        loop->next_gen = 1;
    struct epoll_event ev = {.events = to_epoll(events),
                             .data.u64 = (uint64_t)gen << 32 | (uint32_t)fd};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        return fail_errno(loop, errno == EBADF || errno == EPERM ? KW_EINVAL : KW_EIO,
                          "epoll_ctl(ADD)");
    loop->watches[fd] = (kw_loop_watch){.cb = cb, .arg = arg, .events = events, .gen = gen};
    return 0;
}

int kw__loop_fd_modify(kw_loop *loop, int fd, unsigned events)
{
    if (events & ~(unsigned)(KW_LOOP_READ | KW_LOOP_WRITE))
        return KW_EINVAL;
    kw_loop_watch *w = find_watch(loop, fd);
    if (!w)
        return KW_ENOTFOUND;
    if (w->events == events) /* toggling write interest is hot; skip the syscall */
        return 0;
    struct epoll_event ev = {.events = to_epoll(events),
                             .data.u64 = (uint64_t)w->gen << 32 | (uint32_t)fd};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) != 0)
        return fail_errno(loop, KW_EIO, "epoll_ctl(MOD)");
    w->events = events;
    return 0;
}

int kw__loop_fd_remove(kw_loop *loop, int fd)
{
    kw_loop_watch *w = find_watch(loop, fd);
    if (!w)
        return KW_ENOTFOUND;
    /* The table is the truth: forget the fd even if epoll already dropped it (closed first). */
    memset(w, 0, sizeof(*w));
    if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) != 0 && errno != EBADF && errno != ENOENT)
        return fail_errno(loop, KW_EIO, "epoll_ctl(DEL)");
    return 0;
}

static int dispatch_fds(kw_loop *loop, int nready)
{
    int ran = 0;
    for (int i = 0; i < nready; i++) {
        uint64_t data = loop->events[i].data.u64;
        if (data == KW_LOOP_WAKE_DATA)
            continue; /* tasks are drained every round anyway */
        int fd = (int)(uint32_t)data;
        /* Look the watch up afresh: an earlier callback may have removed it or grown the table. */
        kw_loop_watch *w = find_watch(loop, fd);
        if (!w || w->gen != (uint32_t)(data >> 32))
            continue;
        uint32_t got = loop->events[i].events;
        unsigned ev = 0;
        if (got & (EPOLLERR | EPOLLHUP)) /* let the reader/writer find the error or EOF itself */
            ev |= KW_LOOP_ERROR | w->events;
        if (got & EPOLLIN)
            ev |= KW_LOOP_READ;
        if (got & EPOLLOUT)
            ev |= KW_LOOP_WRITE;
        /* Interest may have shrunk earlier in this round. */
        ev &= w->events | KW_LOOP_ERROR;
        if (!ev)
            continue;
        w->cb(loop, fd, ev, w->arg);
        ran++;
    }
    return ran;
}

/* ---- timers ---- */

static bool timer_before(const kw_loop_timer *a, const kw_loop_timer *b)
{
    if (a->deadline_ns != b->deadline_ns)
        return a->deadline_ns < b->deadline_ns;
    return a->seq < b->seq;
}

static void heap_place(kw_loop *loop, size_t i, kw_loop_timer *t)
{
    loop->heap[i] = t;
    t->slot = i + 1;
}

static void heap_up(kw_loop *loop, size_t i)
{
    kw_loop_timer *t = loop->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(t, loop->heap[parent]))
            break;
        heap_place(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_place(loop, i, t);
}

static void heap_down(kw_loop *loop, size_t i)
{
    kw_loop_timer *t = loop->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= loop->heap_len)
            break;
        if (child + 1 < loop->heap_len && timer_before(loop->heap[child + 1], loop->heap[child]))
            child++;
        if (!timer_before(loop->heap[child], t))
            break;
        heap_place(loop, i, loop->heap[child]);
        i = child;
    }
    heap_place(loop, i, t);
}

static void heap_remove(kw_loop *loop, kw_loop_timer *t)
{
    size_t i = t->slot - 1;
    kw_loop_timer *last = loop->heap[--loop->heap_len];
    t->slot = 0;
    if (last == t)
        return;
    heap_place(loop, i, last);
    heap_up(loop, i);
    heap_down(loop, last->slot - 1);
}

void kw__loop_timer_init(kw_loop *loop, kw_loop_timer *t, kw_loop_timer_cb *cb, void *arg)
{
    *t = (kw_loop_timer){.loop = loop, .cb = cb, .arg = arg};
}

int kw__loop_timer_start_at(kw_loop_timer *t, uint64_t deadline_ns)
{
    kw_loop *loop = t->loop;
    if (!loop || !t->cb)
        return KW_EINVAL;
    /*
     * A past deadline is clamped to now: then every timer armed during a
     * round has a deadline no earlier than any timer already due, which is
     * what lets the expiry pass stop at the first timer armed mid-round.
     */
    if (deadline_ns < loop->now_ns)
        deadline_ns = loop->now_ns;
    if (!t->slot) {
        if (loop->heap_len == loop->heap_cap) {
            size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
            kw_loop_timer **h = realloc(loop->heap, cap * sizeof(*h));
            if (!h)
                return KW_ENOMEM;
            loop->heap = h;
            loop->heap_cap = cap;
        }
        t->slot = ++loop->heap_len;
        loop->heap[t->slot - 1] = t;
    }
    t->deadline_ns = deadline_ns;
    t->seq = loop->timer_seq++;
    heap_up(loop, t->slot - 1);
    heap_down(loop, t->slot - 1);
    return 0;
}

int kw__loop_timer_start(kw_loop_timer *t, uint64_t delay_ms)
{
    if (!t->loop)
        return KW_EINVAL;
    if (delay_ms > UINT64_MAX / 2000000u) /* "never" in practice; keeps the sum from wrapping */
        delay_ms = UINT64_MAX / 2000000u;
    return kw__loop_timer_start_at(t, t->loop->now_ns + delay_ms * 1000000u);
}

void kw__loop_timer_stop(kw_loop_timer *t)
{
    if (t->slot)
        heap_remove(t->loop, t);
}

static int run_timers(kw_loop *loop)
{
    /*
     * Only timers armed before this pass may fire in it, so a callback that
     * re-arms itself with no delay runs once per round instead of forever.
     */
    uint64_t seq_limit = loop->timer_seq;
    int ran = 0;
    while (loop->heap_len) {
        kw_loop_timer *t = loop->heap[0];
        if (t->deadline_ns > loop->now_ns || t->seq >= seq_limit)
            break;
        /* Disarmed before the call: the callback may re-arm or free it. */
        heap_remove(loop, t);
        t->cb(t, t->arg);
        ran++;
    }
    return ran;
}

static int ms_until(uint64_t deadline_ns, uint64_t now_ns)
{
    if (deadline_ns <= now_ns)
        return 0;
    /* Round up: waking a little early would only spin an empty round. */
    uint64_t ms = (deadline_ns - now_ns + 999999u) / 1000000u;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* ---- tasks ---- */

/* Called with mu held.  One eventfd write per batch: later posts see wake_pending. */
static void wake_locked(kw_loop *loop)
{
    if (loop->wake_pending)
        return;
    uint64_t one = 1;
    /* Cannot fail short of a bad fd: the counter is reset on every drain. */
    if (write(loop->wakefd, &one, sizeof(one)) == (ssize_t)sizeof(one))
        loop->wake_pending = true;
}

int kw__loop_post(kw_loop *loop, kw_loop_task_fn *run, kw_loop_drop_fn *drop, void *arg)
{
    if (!loop || !run)
        return KW_EINVAL;
    kw_loop_task *task = malloc(sizeof(*task));
    if (!task)
        return KW_ENOMEM;
    *task = (kw_loop_task){.run = run, .drop = drop, .arg = arg};
    pthread_mutex_lock(&loop->mu);
    if (loop->closed) {
        pthread_mutex_unlock(&loop->mu);
        free(task);
        return KW_ECLOSED;
    }
    *loop->tailp = task;
    loop->tailp = &task->next;
    wake_locked(loop);
    pthread_mutex_unlock(&loop->mu);
    return 0;
}

/*
 * Takes the whole queue at once and runs it outside the lock.  Tasks posted
 * while it runs wait for the next round, so a task that posts a task cannot
 * starve fds and timers.  The eventfd is reset under the same lock that
 * empties the queue, so a non-empty queue always has a readable eventfd and
 * no wake-up is lost.  *stop reports a stop request seen in the same locked
 * section, so every task posted before the request runs before the thread ends.
 */
static int run_tasks(kw_loop *loop, bool *stop)
{
    pthread_mutex_lock(&loop->mu);
    if (loop->wake_pending) {
        uint64_t count;
        if (read(loop->wakefd, &count, sizeof(count)) < 0) {
            /* EAGAIN: already reset; nothing else can fail on an eventfd we own. */
        }
        loop->wake_pending = false;
    }
    kw_loop_task *task = loop->head;
    loop->head = NULL;
    loop->tailp = &loop->head;
    *stop = loop->stop_requested;
    pthread_mutex_unlock(&loop->mu);
    int ran = 0;
    while (task) {
        kw_loop_task *next = task->next;
        task->run(loop, task->arg);
        free(task);
        task = next;
        ran++;
    }
    return ran;
}

/* ---- running ---- */

static int run_round(kw_loop *loop, int timeout_ms, bool *stop)
{
    if (loop->in_run)
        return KW_EINVAL; /* re-entered from a callback */
    kw__loop_update_time(loop);
    int wait = timeout_ms < 0 ? -1 : timeout_ms;
    if (wait != 0 && loop->heap_len) {
        int t = ms_until(loop->heap[0]->deadline_ns, loop->now_ns);
        if (wait < 0 || t < wait)
            wait = t;
    }
    int n = epoll_wait(loop->epfd, loop->events, KW_LOOP_MAX_EVENTS, wait);
    if (n < 0) {
        if (errno != EINTR) /* a signal only cuts the wait short */
            return fail_errno(loop, KW_EIO, "epoll_wait");
        n = 0;
    }
    loop->in_run = true;
    kw__loop_update_time(loop);
    int ran = dispatch_fds(loop, n);
    ran += run_timers(loop);
    ran += run_tasks(loop, stop);
    loop->in_run = false;
    return ran;
}

int kw__loop_run_once(kw_loop *loop, int timeout_ms)
{
    if (loop->thread_running && !pthread_equal(pthread_self(), loop->thread))
        return KW_EINVAL; /* its own I/O thread drives it */
    bool stop;
    return run_round(loop, timeout_ms, &stop);
}

int kw__loop_timeout_ms(kw_loop *loop)
{
    pthread_mutex_lock(&loop->mu);
    bool queued = loop->head != NULL;
    pthread_mutex_unlock(&loop->mu);
    if (queued)
        return 0;
    if (!loop->heap_len)
        return -1;
    /* Read the clock afresh: the host may have been busy since the last round. */
    return ms_until(loop->heap[0]->deadline_ns, kw__clock_now_ns());
}

static void *io_thread_main(void *p)
{
    kw_loop *loop = p;
    pthread_setname_np(pthread_self(), "kwal-io");
    for (;;) {
        bool stop = false;
        int rc = run_round(loop, -1, &stop);
        if (rc < 0) {
            loop->thread_err = rc; /* read by the joiner after pthread_join */
            break;
        }
        if (stop)
            break;
    }
    return NULL;
}

int kw__loop_start_thread(kw_loop *loop)
{
    if (loop->thread_running)
        return KW_EINVAL;
    loop->thread_err = 0;
    /*
     * The I/O thread blocks every signal (it inherits the mask at creation) so
     * the host's signal handlers run on the host's own threads, never in the
     * middle of kwal's loop.
     */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    /*
     * Set before the thread exists (pthread_create orders it before the
     * thread's first instruction) so a stop asked from the I/O thread itself
     * sees it; glibc likewise stores the thread id before starting it.
     */
    loop->thread_running = true;
    int rc = pthread_create(&loop->thread, NULL, io_thread_main, loop);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        loop->thread_running = false;
        snprintf(loop->err, sizeof(loop->err), "pthread_create: %s", strerror(rc));
        return rc == EAGAIN ? KW_EAGAIN : KW_ENOMEM;
    }
    return 0;
}

int kw__loop_stop_thread(kw_loop *loop)
{
    if (!loop->thread_running || pthread_equal(pthread_self(), loop->thread))
        return KW_EINVAL;
    pthread_mutex_lock(&loop->mu);
    loop->stop_requested = true;
    wake_locked(loop);
    pthread_mutex_unlock(&loop->mu);
    pthread_join(loop->thread, NULL);
    /* The thread has exited, so no lock is needed to reset the request. */
    loop->stop_requested = false;
    loop->thread_running = false;
    return loop->thread_err;
}
