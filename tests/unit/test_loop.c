/* Unit tests of the event loop: timer order, fd callbacks, cross-thread tasks, both run modes. */
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "net/loop.h"

static kw_loop *new_loop(void)
{
    kw_loop *loop = NULL;
    ck_assert_int_eq(kw__loop_new(&loop), 0);
    ck_assert_ptr_nonnull(loop);
    return loop;
}

static void make_pipe(int p[2])
{
    ck_assert_int_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
}

static void put_byte(int fd)
{
    ck_assert_int_eq(write(fd, "x", 1), 1);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits on a semaphore with a bound no healthy run comes near. */
static int sem_wait_generously(sem_t *s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 30;
    return sem_timedwait(s, &ts);
}

/* ---- timers ---- */

#define NTIMERS 300

typedef struct fired_log {
    kw_loop *loop;
    int order[NTIMERS * 2];
    uint64_t deadline[NTIMERS * 2];
    uint64_t seq[NTIMERS * 2];
    int n;
    int early; /* fired before its deadline by the loop's own clock */
} fired_log;

typedef struct test_timer {
    kw_loop_timer t;
    fired_log *log;
    int idx;
} test_timer;

static void log_fire(kw_loop_timer *t, void *arg)
{
    test_timer *tt = arg;
    fired_log *log = tt->log;
    if (kw__loop_now_ns(log->loop) < t->deadline_ns)
        log->early++;
    log->order[log->n] = tt->idx;
    log->deadline[log->n] = t->deadline_ns;
    log->seq[log->n] = t->seq;
    log->n++;
}

START_TEST(timers_fire_in_deadline_order_and_cancelled_ones_do_not)
{
    kw_loop *loop = new_loop();
    static fired_log log;
    static test_timer tt[NTIMERS];
    log.loop = loop;
    ck_assert_int_eq(kw__loop_timeout_ms(loop), -1);
    uint64_t base = kw__loop_update_time(loop);
    for (int i = 0; i < NTIMERS; i++) {
        tt[i] = (test_timer){.log = &log, .idx = i};
        kw__loop_timer_init(loop, &tt[i].t, log_fire, &tt[i]);
        /* Scrambled deadlines within 100 ms, with many ties. */
        uint64_t off_ms = (uint64_t)((i * 37) % 100) / 4 * 4;
        ck_assert_int_eq(kw__loop_timer_start_at(&tt[i].t, base + off_ms * 1000000u), 0);
    }
    int expected = 0;
    for (int i = 0; i < NTIMERS; i++) {
        if (i % 3 == 0) {
            kw__loop_timer_stop(&tt[i].t);
            ck_assert(!kw__loop_timer_armed(&tt[i].t));
        } else if (i % 5 == 1) {
            ck_assert_int_eq(kw__loop_timer_start(&tt[i].t, 150), 0); /* re-arm later */
            expected++;
        } else {
            expected++;
        }
    }
    kw__loop_timer_stop(&tt[0].t); /* stopping twice is a no-op */
    ck_assert_int_ge(kw__loop_timeout_ms(loop), 0);
    for (int rounds = 0; log.n < expected && rounds < 100000; rounds++)
        ck_assert_int_ge(kw__loop_run_once(loop, -1), 0);
    ck_assert_int_eq(log.n, expected);
    ck_assert_int_eq(log.early, 0);
    for (int k = 0; k < log.n; k++) {
        ck_assert_int_ne(log.order[k] % 3, 0);
        if (k > 0) {
            ck_assert(log.deadline[k - 1] <= log.deadline[k]);
            if (log.deadline[k - 1] == log.deadline[k])
                ck_assert(log.seq[k - 1] < log.seq[k]);
        }
    }
    /* The re-armed ones moved to the end. */
    ck_assert_int_eq(log.order[log.n - 1] % 5, 1);
    ck_assert_int_eq(kw__loop_timeout_ms(loop), -1);
    ck_assert_int_eq(kw__loop_run_once(loop, 0), 0);
    kw__loop_free(loop);
}
END_TEST

typedef struct stopper {
    kw_loop_timer self;
    kw_loop_timer *victim; /* heap-allocated; stopped and freed by self's callback */
    int fired;
} stopper;

static void stop_and_free_victim(kw_loop_timer *t, void *arg)
{
    stopper *s = arg;
    s->fired++;
    kw__loop_timer_stop(s->victim);
    free(s->victim);
    s->victim = NULL;
}

static void count_fires(kw_loop_timer *t, void *arg)
{
    (*(int *)arg)++;
}

START_TEST(timer_due_in_the_same_round_can_be_cancelled_and_freed)
{
    kw_loop *loop = new_loop();
    stopper s = {0};
    int victim_fired = 0;
    s.victim = malloc(sizeof(*s.victim));
    kw__loop_timer_init(loop, &s.self, stop_and_free_victim, &s);
    kw__loop_timer_init(loop, s.victim, count_fires, &victim_fired);
    /* Both already due (a past deadline); self was armed first, so it runs first. */
    ck_assert_int_eq(kw__loop_timer_start_at(&s.self, 0), 0);
    ck_assert_int_eq(kw__loop_timer_start_at(s.victim, 0), 0);
    ck_assert_int_eq(kw__loop_timeout_ms(loop), 0);
    ck_assert_int_eq(kw__loop_run_once(loop, 0), 1);
    ck_assert_int_eq(s.fired, 1);
    ck_assert_int_eq(victim_fired, 0);
    ck_assert_int_eq(kw__loop_run_once(loop, 0), 0);
    ck_assert_int_eq(victim_fired, 0);
    kw__loop_free(loop);
}
END_TEST

static void rearm_now(kw_loop_timer *t, void *arg)
{
    int *n = arg;
    if (++*n < 3)
        ck_assert_int_eq(kw__loop_timer_start(t, 0), 0);
}

START_TEST(timer_rearmed_with_no_delay_fires_once_per_round)
{
    kw_loop *loop = new_loop();
    kw_loop_timer t;
    int n = 0;
    kw__loop_timer_init(loop, &t, rearm_now, &n);
    ck_assert_int_eq(kw__loop_timer_start(&t, 0), 0);
    ck_assert_int_eq(kw__loop_run_once(loop, 0), 1);
    ck_assert_int_eq(n, 1);
    ck_assert(kw__loop_timer_armed(&t));
    ck_assert_int_eq(kw__loop_run_once(loop, 0), 1);
    ck_assert_int_eq(kw__loop_run_once(loop, 0), 1);
    ck_assert_int_eq(n, 3);
    ck_assert(!kw__loop_timer_armed(&t));
    ck_assert_int_eq(kw__loop_run_once(loop, 0), 0);
    kw__loop_free(loop);
}
END_TEST

START_TEST(now_is_cached_until_refreshed)
{
    kw_loop *loop = new_loop();
    uint64_t before = kw__loop_now_ns(loop);
    sleep_ms(3);
    ck_assert(kw__loop_now_ns(loop) == before);
    uint64_t after = kw__loop_update_time(loop);
    ck_assert(after > before);
    ck_assert(kw__loop_now_ns(loop) == after);
    ck_assert(kw__loop_now_ms(loop) == after / 1000000u);
    kw__loop_free(loop);
}
END_TEST

/* ---- fds ---- */

typedef struct fd_seen {
    int calls;
    int fd;
    unsigned events;
    void *arg;
} fd_seen;

static void record_fd(kw_loop *loop, int fd, unsigned events, void *arg)
{
    fd_seen *s = arg;
    s->calls++;
    s->fd = fd;
    s->events = events;
    s->arg = arg;
}

START_TEST(pipe_read_end_calls_back_when_readable)
{
    kw_loop *loop = new_loop();
    int p[2];
    make_pipe(p);
    fd_seen seen = {0};
    ck_assert_int_eq(kw__loop_fd_add(loop, p[0], KW_LOOP_READ, record_fd, &seen), 0);
    ck_assert_int_eq(kw__loop_run_once(loop, 0), 0);
    put_byte(p[1]);
    ck_assert_int_eq(kw__loop_run_once(loop, 10000), 1);
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_int_eq(seen.fd, p[0]);
    ck_assert_uint_eq(seen.events, KW_LOOP_READ);
    ck_assert_ptr_eq(seen.arg, &seen);
    /* Level-triggered: unread data is reported again. */
    ck_assert_int_eq(kw__loop_run_once(loop, 0), 1);
    char c;
    ck_assert_int_eq(read(p[0], &c, 1), 1);
    ck_assert_int_eq(kw__loop_run_once(loop, 0), 0);
    ck_assert_int_eq(seen.calls, 2);
    /* The writer hanging up reaches the reader as READ plus ERROR. */
    close(p[1]);
    ck_assert_int_eq(kw__loop_run_once(loop, 0), 1);
    ck_assert_uint_eq(seen.events, KW_LOOP_READ | KW_LOOP_ERROR);
    ck_assert_int_eq(kw__loop_fd_remove(loop, p[0]), 0);
    close(p[0]);
    kw__loop_free(loop);
}
END_TEST

START_TEST(write_interest_follows_modify)
{
    kw_loop *loop = new_loop();
    int p[2];
    make_pipe(p);
    fd_seen seen = {0};
    ck_assert_int_eq(kw__loop_fd_add(loop, p[1], 0, record_fd, &seen), 0);
    ck_assert_int_eq(kw__loop_run_once(loop, 0), 0);
    ck_assert_int_eq(kw__loop_fd_modify(loop, p[1], KW_LOOP_WRITE), 0);
    ck_assert_int_eq(kw__loop_run_once(loop, 0), 1);
    ck_assert_uint_eq(seen.events, KW_LOOP_WRITE);
    ck_assert_int_eq(kw__loop_fd_modify(loop, p[1], KW_LOOP_WRITE), 0); /* unchanged */
    ck_assert_int_eq(kw__loop_fd_modify(loop, p[1], 0), 0);
    ck_assert_int_eq(kw__loop_run_once(loop, 0), 0);
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_int_eq(kw__loop_fd_remove(loop, p[1]), 0);
    close(p[0]);
    close(p[1]);
    kw__loop_free(loop);
}
END_TEST

typedef struct self_remover {
    int rd, wr;
    int calls;
    int remove_rc;
} self_remover;

static void remove_myself(kw_loop *loop, int fd, unsigned events, void *arg)
{
    self_remover *s = arg;
    s->calls++;
    s->remove_rc = kw__loop_fd_remove(loop, fd);
    close(s->rd);
    close(s->wr);
}

START_TEST(fd_removed_inside_its_own_callback)
{
    kw_loop *loop = new_loop();
    self_remover s[2] = {0};
    for (int i = 0; i < 2; i++) {
        int p[2];
        make_pipe(p);
        s[i].rd = p[0];
        s[i].wr = p[1];
        put_byte(p[1]);
        ck_assert_int_eq(kw__loop_fd_add(loop, p[0], KW_LOOP_READ, remove_myself, &s[i]), 0);
    }
    ck_assert_int_eq(kw__loop_run_once(loop, 0), 2);
    ck_assert_int_eq(kw__loop_run_once(loop, 0), 0);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(s[i].calls, 1);
        ck_assert_int_eq(s[i].remove_rc, 0);
    }
    kw__loop_free(loop);
}
END_TEST

/* Whichever of two readable pipes runs first swaps the other for a new pipe on that fd number. */
typedef struct swapper {
    int rd[2], wr[2];
    int calls;
    int swapped;
    int fresh_wr;
    fd_seen fresh;
} swapper;

static void swap_the_other(kw_loop *loop, int fd, unsigned events, void *arg)
{
    swapper *s = arg;
    s->calls++;
    if (s->swapped)
        return;
    int other = fd == s->rd[0] ? 1 : 0;
    int ofd = s->rd[other];
    ck_assert_int_eq(kw__loop_fd_remove(loop, ofd), 0);
    close(ofd);
    close(s->wr[other]);
    int p[2];
    make_pipe(p);
    if (p[0] != ofd) { /* usually equal already: pipe() takes the lowest free numbers */
        ck_assert_int_eq(dup2(p[0], ofd), ofd);
        close(p[0]);
    }
    s->fresh_wr = p[1];
    put_byte(p[1]); /* readable, but only from the next round on */
    ck_assert_int_eq(kw__loop_fd_add(loop, ofd, KW_LOOP_READ, record_fd, &s->fresh), 0);
    s->swapped = 1 + other;
}

START_TEST(stale_event_is_not_delivered_to_a_reused_fd_number)
{
    kw_loop *loop = new_loop();
    swapper s = {0};
    for (int i = 0; i < 2; i++) {
        int p[2];
        make_pipe(p);
        s.rd[i] = p[0];
        s.wr[i] = p[1];
        put_byte(p[1]);
        ck_assert_int_eq(kw__loop_fd_add(loop, p[0], KW_LOOP_READ, swap_the_other, &s), 0);
    }
    /* Both events are gathered in one round; the second one is stale by the time it is reached. */
    ck_assert_int_eq(kw__loop_run_once(loop, 0), 1);
    ck_assert_int_eq(s.calls, 1);
    ck_assert_int_eq(s.fresh.calls, 0);
    ck_assert_int_eq(kw__loop_run_once(loop, 0), 2);
    ck_assert_int_eq(s.fresh.calls, 1);
    ck_assert_int_eq(s.fresh.fd, s.rd[s.swapped - 1]);
    for (int i = 0; i < 2; i++) {
        kw__loop_fd_remove(loop, s.rd[i]);
        close(s.rd[i]);
    }
    close(s.wr[2 - s.swapped]);
    close(s.fresh_wr);
    kw__loop_free(loop);
}
END_TEST

static void reenter(kw_loop *loop, int fd, unsigned events, void *arg)
{
    *(int *)arg = kw__loop_run_once(loop, 0);
}

START_TEST(bad_calls_return_error_codes)
{
    ck_assert_int_eq(kw__loop_new(NULL), KW_EINVAL);
    kw__loop_free(NULL);
    kw_loop *loop = new_loop();
    int p[2];
    make_pipe(p);
    fd_seen seen = {0};
    ck_assert_int_eq(kw__loop_fd_add(loop, -1, KW_LOOP_READ, record_fd, &seen), KW_EINVAL);
    ck_assert_int_eq(kw__loop_fd_add(loop, p[0], KW_LOOP_READ, NULL, &seen), KW_EINVAL);
    ck_assert_int_eq(kw__loop_fd_add(loop, p[0], 0x80, record_fd, &seen), KW_EINVAL);
    ck_assert_int_eq(kw__loop_fd_modify(loop, p[0], KW_LOOP_READ), KW_ENOTFOUND);
    ck_assert_int_eq(kw__loop_fd_remove(loop, p[0]), KW_ENOTFOUND);
    ck_assert_int_eq(kw__loop_fd_add(loop, p[0], KW_LOOP_READ, record_fd, &seen), 0);
    ck_assert_int_eq(kw__loop_fd_add(loop, p[0], KW_LOOP_READ, record_fd, &seen), KW_EEXISTS);
    /* A closed fd number (high enough to grow the table) and a file epoll cannot watch. */
    ck_assert_int_eq(kw__loop_fd_add(loop, 1000, KW_LOOP_READ, record_fd, &seen), KW_EINVAL);
    ck_assert_str_ne(kw__loop_errstr(loop), "");
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(devnull, 0);
    ck_assert_int_eq(kw__loop_fd_add(loop, devnull, KW_LOOP_READ, record_fd, &seen), KW_EINVAL);
    close(devnull);
    ck_assert_int_eq(kw__loop_post(loop, NULL, NULL, NULL), KW_EINVAL);
    kw_loop_timer unset = {0};
    ck_assert_int_eq(kw__loop_timer_start(&unset, 1), KW_EINVAL);
    ck_assert_int_eq(kw__loop_stop_thread(loop), KW_EINVAL);
    /* run_once from inside a callback is refused, not recursed into. */
    int inner = 1;
    ck_assert_int_eq(kw__loop_fd_remove(loop, p[0]), 0);
    ck_assert_int_eq(kw__loop_fd_add(loop, p[1], KW_LOOP_WRITE, reenter, &inner), 0);
    ck_assert_int_eq(kw__loop_run_once(loop, 0), 1);
    ck_assert_int_eq(inner, KW_EINVAL);
    ck_assert_int_eq(kw__loop_fd_remove(loop, p[1]), 0);
    close(p[0]);
    close(p[1]);
    kw__loop_free(loop);
}
END_TEST

/* ---- posted tasks ---- */

#define POSTERS 4
#define PER_POSTER 25000

/* Touched only on the loop thread; read by the test after the loop thread is joined. */
static struct {
    int next[POSTERS];
    int total;
    int out_of_order;
} fifo;

typedef struct poster {
    kw_loop *loop;
    int id;
    pthread_barrier_t *go;
    int failures;
} poster;

static void check_fifo(kw_loop *loop, void *arg)
{
    uintptr_t a = (uintptr_t)arg;
    int t = (int)(a >> 20), s = (int)(a & 0xFFFFF);
    if (s != fifo.next[t])
        fifo.out_of_order++;
    fifo.next[t] = s + 1;
    fifo.total++;
}

static void *post_many(void *p)
{
    poster *ps = p;
    pthread_barrier_wait(ps->go);
    for (int s = 0; s < PER_POSTER; s++) {
        void *arg = (void *)(((uintptr_t)ps->id << 20) | (uintptr_t)s);
        if (kw__loop_post(ps->loop, check_fifo, NULL, arg) != 0)
            ps->failures++;
    }
    return NULL;
}

START_TEST(tasks_from_four_threads_run_once_each_in_per_thread_fifo_order)
{
    kw_loop *loop = new_loop();
    ck_assert_int_eq(kw__loop_start_thread(loop), 0);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, POSTERS);
    poster ps[POSTERS];
    pthread_t th[POSTERS];
    for (int i = 0; i < POSTERS; i++) {
        ps[i] = (poster){.loop = loop, .id = i, .go = &go};
        ck_assert_int_eq(pthread_create(&th[i], NULL, post_many, &ps[i]), 0);
    }
    for (int i = 0; i < POSTERS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(ps[i].failures, 0);
    }
    /* Stop returns only after every task posted before it has run. */
    ck_assert_int_eq(kw__loop_stop_thread(loop), 0);
    ck_assert_int_eq(fifo.total, POSTERS * PER_POSTER);
    ck_assert_int_eq(fifo.out_of_order, 0);
    for (int i = 0; i < POSTERS; i++)
        ck_assert_int_eq(fifo.next[i], PER_POSTER);
    pthread_barrier_destroy(&go);
    kw__loop_free(loop);
}
END_TEST

typedef struct on_thread {
    sem_t done;
    pthread_t ran_on;
    int runs;
    int stop_rc;
    kw_loop_timer timer;
    int timer_fired;
} on_thread;

static void note_thread(kw_loop *loop, void *arg)
{
    on_thread *o = arg;
    o->ran_on = pthread_self();
    o->runs++;
    sem_post(&o->done);
}

static void timer_done(kw_loop_timer *t, void *arg)
{
    on_thread *o = arg;
    o->timer_fired++;
    sem_post(&o->done);
}

static void arm_timer(kw_loop *loop, void *arg)
{
    on_thread *o = arg;
    kw__loop_timer_init(loop, &o->timer, timer_done, o);
    kw__loop_update_time(loop);
    if (kw__loop_timer_start(&o->timer, 5) != 0)
        sem_post(&o->done);
}

static void stop_from_inside(kw_loop *loop, void *arg)
{
    on_thread *o = arg;
    o->stop_rc = kw__loop_stop_thread(loop);
    sem_post(&o->done);
}

START_TEST(own_thread_starts_stops_and_restarts)
{
    kw_loop *loop = new_loop();
    on_thread o = {0};
    sem_init(&o.done, 0, 0);
    ck_assert_int_eq(kw__loop_start_thread(loop), 0);
    ck_assert_int_eq(kw__loop_start_thread(loop), KW_EINVAL);
    ck_assert_int_eq(kw__loop_run_once(loop, 0), KW_EINVAL); /* its thread drives it */
    ck_assert_int_eq(kw__loop_post(loop, note_thread, NULL, &o), 0);
    ck_assert_int_eq(sem_wait_generously(&o.done), 0);
    ck_assert(!pthread_equal(o.ran_on, pthread_self()));
    /* Timers run on the I/O thread too (armed from there, as the threading rule says). */
    ck_assert_int_eq(kw__loop_post(loop, arm_timer, NULL, &o), 0);
    ck_assert_int_eq(sem_wait_generously(&o.done), 0);
    ck_assert_int_eq(o.timer_fired, 1);
    /* Stopping from the I/O thread itself would join itself: refused. */
    ck_assert_int_eq(kw__loop_post(loop, stop_from_inside, NULL, &o), 0);
    ck_assert_int_eq(sem_wait_generously(&o.done), 0);
    ck_assert_int_eq(o.stop_rc, KW_EINVAL);
    ck_assert_int_eq(kw__loop_stop_thread(loop), 0);
    ck_assert_int_eq(kw__loop_stop_thread(loop), KW_EINVAL);

    ck_assert_int_eq(kw__loop_start_thread(loop), 0);
    ck_assert_int_eq(kw__loop_post(loop, note_thread, NULL, &o), 0);
    ck_assert_int_eq(kw__loop_stop_thread(loop), 0);
    ck_assert_int_eq(o.runs, 2);
    sem_destroy(&o.done);
    kw__loop_free(loop);
}
END_TEST

static void count_task(kw_loop *loop, void *arg)
{
    (*(int *)arg)++;
}

START_TEST(host_drives_the_loop_through_the_backend_fd)
{
    kw_loop *loop = new_loop();
    int p[2];
    make_pipe(p);
    fd_seen seen = {0};
    int tasks = 0, fired = 0;
    kw_loop_timer t;
    ck_assert_int_eq(kw__loop_fd_add(loop, p[0], KW_LOOP_READ, record_fd, &seen), 0);
    struct pollfd pfd = {.fd = kw__loop_backend_fd(loop), .events = POLLIN};
    ck_assert_int_eq(kw__loop_timeout_ms(loop), -1);
    ck_assert_int_eq(poll(&pfd, 1, 0), 0);

    kw__loop_timer_init(loop, &t, count_fires, &fired); /* here it just counts */
    kw__loop_update_time(loop);
    ck_assert_int_eq(kw__loop_timer_start(&t, 30), 0);
    int to = kw__loop_timeout_ms(loop);
    ck_assert_int_ge(to, 0);
    ck_assert_int_le(to, 30);

    ck_assert_int_eq(kw__loop_post(loop, count_task, NULL, &tasks), 0);
    ck_assert_int_eq(kw__loop_timeout_ms(loop), 0);
    put_byte(p[1]);
    ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
    ck_assert(pfd.revents & POLLIN);
    ck_assert_int_ge(kw__loop_run_once(loop, 0), 2);
    ck_assert_int_eq(tasks, 1);
    ck_assert_int_eq(seen.calls, 1);
    char c;
    ck_assert_int_eq(read(p[0], &c, 1), 1);

    /* The host's own loop: poll for what timeout_ms says, then one no-wait round. */
    for (int rounds = 0; !fired && rounds < 100000; rounds++) {
        to = kw__loop_timeout_ms(loop);
        ck_assert_int_ge(to, 0);
        poll(&pfd, 1, to);
        ck_assert_int_ge(kw__loop_run_once(loop, 0), 0);
    }
    ck_assert_int_eq(fired, 1);
    ck_assert_int_eq(kw__loop_timeout_ms(loop), -1);
    ck_assert_int_eq(poll(&pfd, 1, 0), 0);
    ck_assert_int_eq(kw__loop_fd_remove(loop, p[0]), 0);
    close(p[0]);
    close(p[1]);
    kw__loop_free(loop);
}
END_TEST

typedef struct late_poster {
    kw_loop *loop;
    int *tasks;
    int rc;
} late_poster;

static void *post_after_a_while(void *p)
{
    late_poster *lp = p;
    sleep_ms(20);
    lp->rc = kw__loop_post(lp->loop, count_task, NULL, lp->tasks);
    return NULL;
}

START_TEST(a_post_from_another_thread_wakes_a_host_blocked_in_poll)
{
    kw_loop *loop = new_loop();
    int tasks = 0;
    late_poster lp = {.loop = loop, .tasks = &tasks, .rc = 1};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, post_after_a_while, &lp), 0);
    struct pollfd pfd = {.fd = kw__loop_backend_fd(loop), .events = POLLIN};
    ck_assert_int_eq(poll(&pfd, 1, 30000), 1);
    pthread_join(th, NULL);
    ck_assert_int_eq(lp.rc, 0);
    ck_assert_int_eq(kw__loop_run_once(loop, 0), 1);
    ck_assert_int_eq(tasks, 1);
    ck_assert_int_eq(poll(&pfd, 1, 0), 0);
    kw__loop_free(loop);
}
END_TEST

START_TEST(two_loops_are_independent)
{
    kw_loop *a = new_loop(), *b = new_loop();
    int ta = 0, tb = 0;
    ck_assert_int_eq(kw__loop_post(a, count_task, NULL, &ta), 0);
    struct pollfd pfd = {.fd = kw__loop_backend_fd(b), .events = POLLIN};
    ck_assert_int_eq(poll(&pfd, 1, 0), 0);
    ck_assert_int_eq(kw__loop_timeout_ms(b), -1);
    ck_assert_int_eq(kw__loop_run_once(b, 0), 0);
    ck_assert_int_eq(ta, 0);
    ck_assert_int_eq(kw__loop_run_once(a, 0), 1);
    ck_assert_int_eq(ta, 1);
    /* Both on their own threads at once, stopped separately. */
    ck_assert_int_eq(kw__loop_start_thread(a), 0);
    ck_assert_int_eq(kw__loop_start_thread(b), 0);
    ck_assert_int_eq(kw__loop_post(b, count_task, NULL, &tb), 0);
    ck_assert_int_eq(kw__loop_stop_thread(b), 0);
    ck_assert_int_eq(tb, 1);
    ck_assert_int_eq(kw__loop_post(a, count_task, NULL, &ta), 0);
    ck_assert_int_eq(kw__loop_stop_thread(a), 0);
    ck_assert_int_eq(ta, 2);
    kw__loop_free(a);
    kw__loop_free(b);
}
END_TEST

/* ---- teardown ---- */

typedef struct owned_arg {
    kw_loop *loop;
    int *runs, *drops, *post_rc;
    char payload[32];
} owned_arg;

static void run_and_free(kw_loop *loop, void *arg)
{
    owned_arg *o = arg;
    (*o->runs)++;
    free(o);
}

static void drop_and_free(void *arg)
{
    owned_arg *o = arg;
    (*o->drops)++;
    /* A post racing with teardown is refused, not queued for nobody. */
    *o->post_rc = kw__loop_post(o->loop, count_task, NULL, o->runs);
    free(o);
}

static owned_arg *new_owned(kw_loop *loop, int *runs, int *drops, int *post_rc)
{
    owned_arg *o = malloc(sizeof(*o));
    ck_assert_ptr_nonnull(o);
    *o = (owned_arg){.loop = loop, .runs = runs, .drops = drops, .post_rc = post_rc};
    return o;
}

START_TEST(destroy_drops_pending_tasks_and_frees_their_args)
{
    kw_loop *loop = new_loop();
    int runs = 0, drops = 0, post_rc = 0;
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(kw__loop_post(loop, run_and_free, drop_and_free,
                                       new_owned(loop, &runs, &drops, &post_rc)),
                         0);
    ck_assert_int_eq(kw__loop_post(loop, count_task, NULL, &runs), 0); /* no drop: nothing owned */
    kw_loop_timer t;
    int fired = 0;
    kw__loop_timer_init(loop, &t, count_fires, &fired);
    ck_assert_int_eq(kw__loop_timer_start(&t, 60000), 0);
    kw__loop_free(loop);
    ck_assert_int_eq(runs, 0);
    ck_assert_int_eq(drops, 10);
    ck_assert_int_eq(post_rc, KW_ECLOSED);
    ck_assert(!kw__loop_timer_armed(&t));
    ck_assert_int_eq(fired, 0);
}
END_TEST

START_TEST(destroy_of_a_running_loop_stops_it_and_leaks_nothing)
{
    kw_loop *loop = new_loop();
    int runs = 0, drops = 0, post_rc = 0;
    ck_assert_int_eq(kw__loop_start_thread(loop), 0);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(kw__loop_post(loop, run_and_free, drop_and_free,
                                       new_owned(loop, &runs, &drops, &post_rc)),
                         0);
    kw__loop_free(loop);
    /* Posted before the stop, so all of them ran; none was left to drop. */
    ck_assert_int_eq(runs, 1000);
    ck_assert_int_eq(drops, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loop");
    TCase *tc = tcase_create("loop");
    /* Generous: the machine is shared, and sanitizers slow the 100000-task test. */
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, timers_fire_in_deadline_order_and_cancelled_ones_do_not);
    tcase_add_test(tc, timer_due_in_the_same_round_can_be_cancelled_and_freed);
    tcase_add_test(tc, timer_rearmed_with_no_delay_fires_once_per_round);
    tcase_add_test(tc, now_is_cached_until_refreshed);
    tcase_add_test(tc, pipe_read_end_calls_back_when_readable);
    tcase_add_test(tc, write_interest_follows_modify);
    tcase_add_test(tc, fd_removed_inside_its_own_callback);
    tcase_add_test(tc, stale_event_is_not_delivered_to_a_reused_fd_number);
    tcase_add_test(tc, bad_calls_return_error_codes);
    tcase_add_test(tc, tasks_from_four_threads_run_once_each_in_per_thread_fifo_order);
    tcase_add_test(tc, own_thread_starts_stops_and_restarts);
    tcase_add_test(tc, host_drives_the_loop_through_the_backend_fd);
    tcase_add_test(tc, a_post_from_another_thread_wakes_a_host_blocked_in_poll);
    tcase_add_test(tc, two_loops_are_independent);
    tcase_add_test(tc, destroy_drops_pending_tasks_and_frees_their_args);
    tcase_add_test(tc, destroy_of_a_running_loop_stops_it_and_leaks_nothing);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
