/* Unit tests of kwal-test-proxy: a local echo server behind the proxy, every fault command. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proxy_ctl.h"

extern char **environ;

static long long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- a poll-driven echo server on its own thread ---- */

#define ECHO_CONNS 32
#define ECHO_BUF 65536

typedef struct echo_conn {
    int fd;
    size_t off, len; /* bytes read and not yet echoed back */
    char buf[ECHO_BUF];
} echo_conn;

static struct echo {
    int listen_fd;
    int stop[2];
    int port;
    pthread_t thread;
    echo_conn conns[ECHO_CONNS];
} E;

static void *echo_run(void *arg)
{
    (void)arg;
    for (;;) {
        struct pollfd pfd[ECHO_CONNS + 2];
        int map[ECHO_CONNS + 2];
        int n = 0;
        pfd[n++] = (struct pollfd){E.stop[0], POLLIN, 0};
        pfd[n++] = (struct pollfd){E.listen_fd, POLLIN, 0};
        for (int i = 0; i < ECHO_CONNS; i++) {
            if (E.conns[i].fd < 0)
                continue;
            map[n] = i;
            pfd[n++] = (struct pollfd){E.conns[i].fd, E.conns[i].len ? POLLOUT : POLLIN, 0};
        }
        if (poll(pfd, (nfds_t)n, -1) < 0)
            continue;
        if (pfd[0].revents)
            return NULL;
        if (pfd[1].revents & POLLIN) {
            int fd = accept4(E.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            for (int i = 0; fd >= 0 && i < ECHO_CONNS; i++)
                if (E.conns[i].fd < 0) {
                    E.conns[i].fd = fd;
                    E.conns[i].off = E.conns[i].len = 0;
                    fd = -1;
                }
            if (fd >= 0)
                close(fd);
        }
        for (int k = 2; k < n; k++) {
            echo_conn *c = &E.conns[map[k]];
            if (!pfd[k].revents)
                continue;
            if (!c->len) {
                ssize_t r = recv(c->fd, c->buf, sizeof c->buf, 0);
                if (r == 0 || (r < 0 && errno != EAGAIN)) {
                    close(c->fd);
                    c->fd = -1;
                    continue;
                }
                if (r > 0) {
                    c->off = 0;
                    c->len = (size_t)r;
                }
            }
            if (c->len) {
                ssize_t w = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
                if (w < 0 && errno != EAGAIN) {
                    close(c->fd);
                    c->fd = -1;
                    continue;
                }
                if (w > 0)
                    c->off += (size_t)w;
                if (c->off == c->len)
                    c->off = c->len = 0;
            }
        }
    }
}

static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(fd, 64), 0);
    socklen_t len = sizeof sa;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static void echo_start(void)
{
    for (int i = 0; i < ECHO_CONNS; i++)
        E.conns[i].fd = -1;
    E.listen_fd = listen_loopback(&E.port);
    ck_assert_int_eq(pipe2(E.stop, O_CLOEXEC), 0);
    ck_assert_int_eq(pthread_create(&E.thread, NULL, echo_run, NULL), 0);
}

static void echo_stop(void)
{
    ck_assert_int_eq(write(E.stop[1], "x", 1), 1);
    pthread_join(E.thread, NULL);
    for (int i = 0; i < ECHO_CONNS; i++)
        if (E.conns[i].fd >= 0)
            close(E.conns[i].fd);
    close(E.listen_fd);
    close(E.stop[0]);
    close(E.stop[1]);
}

static char *echo_addr(void)
{
    static char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", E.port);
    return addr;
}

/* ---- client helpers ---- */

static kt_proxy P;

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void send_all(int fd, const char *s)
{
    size_t n = strlen(s);
    ck_assert_int_eq(send(fd, s, n, MSG_NOSIGNAL), (ssize_t)n);
}

enum { STILL_OPEN = 0, GOT_EOF = 1 };

/* Reads until n bytes arrive, the peer closes, or timeout_ms passes; returns the bytes read.
 * *end: STILL_OPEN, GOT_EOF, or -errno (-ECONNRESET for a reset). */
static size_t read_for(int fd, char *buf, size_t n, int timeout_ms, int *end)
{
    size_t got = 0;
    long long deadline = ms_now() + timeout_ms;
    *end = STILL_OPEN;
    while (got < n) {
        long long left = deadline - ms_now();
        if (left <= 0)
            break;
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, (int)left) <= 0)
            continue;
        ssize_t r = recv(fd, buf + got, n - got, MSG_DONTWAIT);
        if (r > 0) {
            got += (size_t)r;
        } else if (r == 0) {
            *end = GOT_EOF;
            break;
        } else if (errno != EAGAIN && errno != EINTR) {
            *end = -errno;
            break;
        }
    }
    return got;
}

/* Sends s and asserts exactly s comes back within 2 s. */
static void assert_echo(int fd, const char *s)
{
    char buf[256];
    int end;
    size_t n = strlen(s);
    send_all(fd, s);
    ck_assert_uint_eq(read_for(fd, buf, n, 2000, &end), n);
    ck_assert_int_eq(end, STILL_OPEN);
    ck_assert_mem_eq(buf, s, n);
}

static long long stat_of(const char *key)
{
    char reply[512];
    ck_assert_int_eq(kt_proxy_query(&P, "stats", reply, sizeof reply), 0);
    return kt_proxy_stat(reply, key);
}

static void setup(void)
{
    echo_start();
    ck_assert_int_eq(kt_proxy_start(&P, echo_addr()), 0);
    ck_assert_int_gt(P.listen_port, 0);
    ck_assert_int_gt(P.control_port, 0);
}

static void teardown(void)
{
    ck_assert_int_eq(kt_proxy_stop(&P), 0);
    echo_stop();
}

/* ---- forwarding ---- */

START_TEST(forwards_bytes_both_ways_and_counts_them)
{
    int fd = dial(P.listen_port);
    assert_echo(fd, "hello proxy");
    assert_echo(fd, "and again");
    ck_assert_int_eq(stat_of("accepted"), 1);
    ck_assert_int_eq(stat_of("open"), 1);
    ck_assert_int_eq(stat_of("client_to_target"), 20);
    ck_assert_int_eq(stat_of("target_to_client"), 20);
    close(fd);
}
END_TEST

START_TEST(forwards_many_connections_at_once)
{
    enum { N = 8 };
    int fd[N];
    char msg[N][32];
    for (int i = 0; i < N; i++) {
        fd[i] = dial(P.listen_port);
        snprintf(msg[i], sizeof msg[i], "connection %d says hi", i);
    }
    for (int i = 0; i < N; i++) /* all in flight together before any is read */
        send_all(fd[i], msg[i]);
    for (int i = N - 1; i >= 0; i--) {
        char buf[32];
        int end;
        size_t n = strlen(msg[i]);
        ck_assert_uint_eq(read_for(fd[i], buf, n, 2000, &end), n);
        ck_assert_mem_eq(buf, msg[i], n);
    }
    ck_assert_int_eq(stat_of("accepted"), N);
    ck_assert_int_eq(stat_of("open"), N);
    for (int i = 0; i < N; i++)
        close(fd[i]);
}
END_TEST

/* Regression: a chunk read in one wake-up was stamped a millisecond after the time the flush used,
 * and then waited for the safety timer; hundreds of short round trips hit that window. */
START_TEST(forwards_hundreds_of_round_trips_without_a_lost_wake_up)
{
    int fd = dial(P.listen_port);
    char msg[32];
    long long t0 = ms_now();
    for (int i = 0; i < 400; i++) {
        snprintf(msg, sizeof msg, "round trip %d", i);
        assert_echo(fd, msg);
    }
    close(fd);
    for (int i = 0; i < 50; i++) {
        fd = dial(P.listen_port);
        assert_echo(fd, "fresh connection");
        close(fd);
    }
    ck_assert_msg(ms_now() - t0 < 10000, "took %lld ms", ms_now() - t0);
    ck_assert_int_eq(stat_of("accepted"), 51);
}
END_TEST

/* 4 MiB is four times a queue's bound: only flow control gets it through intact. */
START_TEST(forwards_4_mib_intact_through_bounded_queues)
{
    enum { TOTAL = 4 << 20 };
    unsigned char *out = malloc(TOTAL), *in = malloc(TOTAL);
    for (size_t i = 0; i < TOTAL; i++)
        out[i] = (unsigned char)(i * 131 + (i >> 13));
    int fd = dial(P.listen_port);
    ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    size_t sent = 0, got = 0;
    long long deadline = ms_now() + 30000;
    while (got < TOTAL && ms_now() < deadline) {
        struct pollfd pfd = {fd, (short)(POLLIN | (sent < TOTAL ? POLLOUT : 0)), 0};
        poll(&pfd, 1, 1000);
        if (sent < TOTAL && (pfd.revents & POLLOUT)) {
            ssize_t w = send(fd, out + sent, TOTAL - sent, MSG_NOSIGNAL);
            if (w > 0)
                sent += (size_t)w;
        }
        ssize_t r = recv(fd, in + got, TOTAL - got, 0);
        if (r > 0)
            got += (size_t)r;
        ck_assert(r != 0);
    }
    ck_assert_uint_eq(got, TOTAL);
    ck_assert(memcmp(in, out, TOTAL) == 0);
    ck_assert_int_eq(stat_of("client_to_target"), TOTAL);
    ck_assert_int_eq(stat_of("target_to_client"), TOTAL);
    close(fd);
    free(out);
    free(in);
}
END_TEST

/* ---- faults ---- */

START_TEST(stall_stops_bytes_and_forward_resumes_them)
{
    char buf[16];
    int end;
    int fd = dial(P.listen_port);
    assert_echo(fd, "warm");
    ck_assert_int_eq(kt_proxy_cmd(&P, "stall"), 0);
    send_all(fd, "abc");
    ck_assert_uint_eq(read_for(fd, buf, 3, 300, &end), 0);
    ck_assert_int_eq(end, STILL_OPEN);
    ck_assert_int_eq(stat_of("client_to_target"), 4); /* the stalled bytes were not even read */
    ck_assert_int_eq(kt_proxy_cmd(&P, "forward"), 0);
    ck_assert_uint_eq(read_for(fd, buf, 3, 2000, &end), 3);
    ck_assert_mem_eq(buf, "abc", 3);
    ck_assert_int_eq(stat_of("client_to_target"), 7);
    close(fd);
}
END_TEST

START_TEST(stall_after_n_cuts_a_response_mid_frame)
{
    char buf[16];
    int end;
    int fd = dial(P.listen_port);
    assert_echo(fd, "warm");
    ck_assert_int_eq(kt_proxy_cmd(&P, "stall-after 3"), 0);
    send_all(fd, "abcdefgh");
    ck_assert_uint_eq(read_for(fd, buf, 8, 500, &end), 3);
    ck_assert_mem_eq(buf, "abc", 3);
    ck_assert_int_eq(end, STILL_OPEN);
    ck_assert_int_eq(stat_of("target_to_client"), 4 + 3);
    ck_assert_int_eq(kt_proxy_cmd(&P, "forward"), 0);
    ck_assert_uint_eq(read_for(fd, buf, 5, 2000, &end), 5);
    ck_assert_mem_eq(buf, "defgh", 5);
    close(fd);
}
END_TEST

START_TEST(cut_after_n_delivers_exactly_n_bytes_then_closes)
{
    char buf[16];
    int end;
    int fd = dial(P.listen_port);
    assert_echo(fd, "warm");
    ck_assert_int_eq(kt_proxy_cmd(&P, "cut-after 5"), 0);
    send_all(fd, "0123456789");
    ck_assert_uint_eq(read_for(fd, buf, 10, 2000, &end), 5);
    ck_assert_mem_eq(buf, "01234", 5);
    ck_assert_msg(end == GOT_EOF || end == -ECONNRESET, "end %d", end);
    close(fd);
    ck_assert_int_eq(stat_of("open"), 0);
    ck_assert_int_eq(stat_of("target_to_client"), 4 + 5);
    /* the cut is a one-off: the next connection forwards normally */
    fd = dial(P.listen_port);
    assert_echo(fd, "after the cut");
    close(fd);
}
END_TEST

START_TEST(cut_resets_every_open_connection)
{
    char buf[16];
    int end;
    int a = dial(P.listen_port), b = dial(P.listen_port);
    assert_echo(a, "a");
    assert_echo(b, "b");
    ck_assert_int_eq(stat_of("open"), 2);
    ck_assert_int_eq(kt_proxy_cmd(&P, "cut"), 0);
    ck_assert_uint_eq(read_for(a, buf, 1, 2000, &end), 0);
    ck_assert_int_eq(end, -ECONNRESET);
    ck_assert_uint_eq(read_for(b, buf, 1, 2000, &end), 0);
    ck_assert_int_eq(end, -ECONNRESET);
    ck_assert_int_eq(stat_of("open"), 0);
    close(a);
    close(b);
    a = dial(P.listen_port);
    assert_echo(a, "new");
    close(a);
}
END_TEST

START_TEST(refuse_closes_new_connections_and_accept_restores)
{
    char buf[16];
    int end;
    int live = dial(P.listen_port);
    assert_echo(live, "before");
    ck_assert_int_eq(kt_proxy_cmd(&P, "refuse"), 0);
    int fd = dial(P.listen_port); /* the kernel completes the handshake; the proxy then resets */
    ck_assert_uint_eq(read_for(fd, buf, 1, 2000, &end), 0);
    ck_assert_msg(end == GOT_EOF || end == -ECONNRESET, "end %d", end);
    close(fd);
    ck_assert_int_eq(stat_of("refused"), 1);
    ck_assert_int_eq(stat_of("accepted"), 1);
    assert_echo(live, "open ones keep working");
    ck_assert_int_eq(kt_proxy_cmd(&P, "accept"), 0);
    fd = dial(P.listen_port);
    assert_echo(fd, "accepted again");
    ck_assert_int_eq(stat_of("accepted"), 2);
    close(fd);
    close(live);
}
END_TEST

START_TEST(delay_holds_every_chunk_each_way)
{
    int fd = dial(P.listen_port);
    ck_assert_int_eq(kt_proxy_cmd(&P, "delay 200"), 0);
    long long t0 = ms_now();
    assert_echo(fd, "slow");
    long long took = ms_now() - t0;
    ck_assert_msg(took >= 390 && took < 1500, "round trip took %lld ms", took); /* 200 each way */
    ck_assert_int_eq(kt_proxy_cmd(&P, "delay 0"), 0);
    t0 = ms_now();
    assert_echo(fd, "fast");
    took = ms_now() - t0;
    ck_assert_msg(took < 150, "round trip took %lld ms", took);
    close(fd);
}
END_TEST

START_TEST(control_rejects_bad_commands)
{
    char reply[256];
    ck_assert_int_eq(kt_proxy_query(&P, "bogus", reply, sizeof reply), -1);
    ck_assert_str_eq(reply, "error unknown command bogus");
    ck_assert_int_eq(kt_proxy_query(&P, "stall-after", reply, sizeof reply), -1);
    ck_assert_str_eq(reply, "error stall-after needs a byte count >= 0");
    ck_assert_int_eq(kt_proxy_query(&P, "cut-after -1", reply, sizeof reply), -1);
    ck_assert_int_eq(kt_proxy_query(&P, "cut-after 5x", reply, sizeof reply), -1);
    ck_assert_int_eq(kt_proxy_query(&P, "delay 999999", reply, sizeof reply), -1);
    ck_assert_str_eq(reply, "error delay needs milliseconds in 0..60000");
    ck_assert_int_eq(kt_proxy_query(&P, "stall now", reply, sizeof reply), -1);
    ck_assert_str_eq(reply, "error stall: too many arguments");
    ck_assert_int_eq(kt_proxy_query(&P, "forward", reply, sizeof reply), 0);
    ck_assert_str_eq(reply, "ok");
    ck_assert_int_eq(kt_proxy_query(&P, "stats", reply, sizeof reply), 0);
    ck_assert_ptr_nonnull(strstr(reply, "mode=forward"));
    /* the rejected commands changed nothing */
    int fd = dial(P.listen_port);
    assert_echo(fd, "still forwarding");
    close(fd);
}
END_TEST

/* ---- lifetime (each starts its own proxy) ---- */

START_TEST(unreachable_target_resets_the_client)
{
    int port;
    close(listen_loopback(&port)); /* a port nobody listens on any more */
    char target[32], buf[4];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    kt_proxy p;
    ck_assert_int_eq(kt_proxy_start(&p, target), 0);
    int fd = dial(p.listen_port);
    int end;
    ck_assert_uint_eq(read_for(fd, buf, 1, 2000, &end), 0);
    ck_assert_int_eq(end, -ECONNRESET);
    close(fd);
    char reply[256];
    ck_assert_int_eq(kt_proxy_query(&p, "stats", reply, sizeof reply), 0);
    ck_assert_int_eq(kt_proxy_stat(reply, "accepted"), 1);
    ck_assert_int_eq(kt_proxy_stat(reply, "open"), 0);
    ck_assert_int_eq(kt_proxy_stop(&p), 0);
}
END_TEST

START_TEST(safety_timer_ends_the_proxy)
{
    kt_proxy p;
    long long t0 = ms_now();
    ck_assert_int_eq(kt_proxy_start_timed(&p, "127.0.0.1:19092", 1), 0);
    ck_assert_int_eq(kt_proxy_wait(&p, 5000), 3);
    long long took = ms_now() - t0;
    ck_assert_msg(took >= 900 && took < 3000, "exited after %lld ms", took);
    ck_assert_int_eq(kt_proxy_stop(&p), 0); /* already reaped: nothing to do */
}
END_TEST

START_TEST(quit_sigterm_and_stdin_eof_exit_cleanly)
{
    kt_proxy p;
    ck_assert_int_eq(kt_proxy_start(&p, "127.0.0.1:19092"), 0);
    ck_assert_int_eq(kt_proxy_cmd(&p, "quit"), 0);
    ck_assert_int_eq(kt_proxy_wait(&p, 3000), 0);
    kt_proxy_stop(&p);

    ck_assert_int_eq(kt_proxy_start(&p, "127.0.0.1:19092"), 0);
    ck_assert_int_eq(kt_proxy_stop(&p), 0); /* SIGTERM */

    ck_assert_int_eq(kt_proxy_start(&p, "127.0.0.1:19092"), 0);
    close(p.stdin_fd); /* as if the test process had died */
    p.stdin_fd = -1;
    ck_assert_int_eq(kt_proxy_wait(&p, 3000), 0);
    kt_proxy_stop(&p);
}
END_TEST

/* Runs the proxy binary with args; returns its exit status and what it wrote on stderr. */
static int run_proxy(const char *a1, const char *a2, const char *a3, const char *a4, char *err,
                     size_t err_len)
{
    int pe[2];
    ck_assert_int_eq(pipe2(pe, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pe[1], STDERR_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    char *argv[] = {(char *)kt_proxy_path(), (char *)a1, (char *)a2, (char *)a3, (char *)a4,
                    NULL};
    pid_t pid;
    ck_assert_int_eq(posix_spawn(&pid, kt_proxy_path(), &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(pe[1]);
    size_t n = 0;
    ssize_t r;
    while (n < err_len - 1 && (r = read(pe[0], err + n, err_len - 1 - n)) != 0) {
        ck_assert(r > 0 || errno == EINTR);
        if (r > 0)
            n += (size_t)r;
    }
    err[n] = 0;
    close(pe[0]);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st));
    return WEXITSTATUS(st);
}

START_TEST(only_loopback_addresses_are_allowed)
{
    char err[512];
    ck_assert_int_eq(run_proxy("--target", "10.0.0.1:9092", "--max-seconds", "2", err, sizeof err),
                     1);
    ck_assert_ptr_nonnull(strstr(err, "--target 10.0.0.1:9092: only loopback addresses"));
    ck_assert_int_eq(run_proxy("--target", "127.0.0.1:9092", "--listen", "0.0.0.0:0", err,
                               sizeof err),
                     1);
    ck_assert_ptr_nonnull(strstr(err, "--listen 0.0.0.0:0: only loopback addresses"));
    ck_assert_int_eq(run_proxy("--target", "example.com:9092", "--max-seconds", "2", err,
                               sizeof err),
                     1);
    ck_assert_ptr_nonnull(strstr(err, "only loopback"));
    ck_assert_int_eq(run_proxy("--target", "127.0.0.1:9092", "--max-seconds", "0", err,
                               sizeof err),
                     1);
    ck_assert_ptr_nonnull(strstr(err, "--max-seconds 0: expected 1..86400"));
}
END_TEST

static Suite *proxy_suite(void)
{
    Suite *s = suite_create("proxy");
    TCase *tc = tcase_create("faults");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, forwards_bytes_both_ways_and_counts_them);
    tcase_add_test(tc, forwards_many_connections_at_once);
    tcase_add_test(tc, forwards_hundreds_of_round_trips_without_a_lost_wake_up);
    tcase_add_test(tc, forwards_4_mib_intact_through_bounded_queues);
    tcase_add_test(tc, stall_stops_bytes_and_forward_resumes_them);
    tcase_add_test(tc, stall_after_n_cuts_a_response_mid_frame);
    tcase_add_test(tc, cut_after_n_delivers_exactly_n_bytes_then_closes);
    tcase_add_test(tc, cut_resets_every_open_connection);
    tcase_add_test(tc, refuse_closes_new_connections_and_accept_restores);
    tcase_add_test(tc, delay_holds_every_chunk_each_way);
    tcase_add_test(tc, control_rejects_bad_commands);
    suite_add_tcase(s, tc);
    TCase *life = tcase_create("lifetime");
    tcase_set_timeout(life, 60);
    tcase_add_test(life, unreachable_target_resets_the_client);
    tcase_add_test(life, safety_timer_ends_the_proxy);
    tcase_add_test(life, quit_sigterm_and_stdin_eof_exit_cleanly);
    tcase_add_test(life, only_loopback_addresses_are_allowed);
    suite_add_tcase(s, life);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(proxy_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
