/* Starts, drives and stops kwal-test-proxy from a C test (see proxy_ctl.h). */
#include "proxy_ctl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef KT_PROXY_PATH
#define KT_PROXY_PATH "kwal-test-proxy"
#endif

#define START_TIMEOUT_MS 10000
#define REPLY_TIMEOUT_S 5
#define STOP_GRACE_MS 5000

extern char **environ;

const char *kt_proxy_path(void)
{
    const char *env = getenv("KWAL_TEST_PROXY");
    return env && *env ? env : KT_PROXY_PATH;
}

static long long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int status_code(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

/* Reads the two port lines the proxy prints on startup, within START_TIMEOUT_MS. */
static int read_ports(kt_proxy *p, int out_fd)
{
    char buf[256];
    size_t len = 0;
    long long deadline = ms_now() + START_TIMEOUT_MS;
    while (len < sizeof buf - 1) {
        buf[len] = 0;
        char *first = strchr(buf, '\n');
        if (first && strchr(first + 1, '\n'))
            break;
        long long left = deadline - ms_now();
        if (left <= 0)
            return -1;
        struct pollfd pfd = {out_fd, POLLIN, 0};
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t n = read(out_fd, buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1; /* the proxy exited (its error is on stderr) */
        len += (size_t)n;
    }
    char lhost[64], chost[64];
    if (sscanf(buf, "listen %63[^:]:%d\ncontrol %63[^:]:%d", lhost, &p->listen_port, chost,
               &p->control_port) != 4)
        return -1;
    snprintf(p->listen_addr, sizeof p->listen_addr, "127.0.0.1:%d", p->listen_port);
    return 0;
}

static int connect_control(kt_proxy *p)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->control_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {REPLY_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    p->control_fd = fd;
    return 0;
}

int kt_proxy_start_timed(kt_proxy *p, const char *target, int max_seconds)
{
    memset(p, 0, sizeof *p);
    p->control_fd = p->stdin_fd = -1;
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    char secs[32];
    snprintf(secs, sizeof secs, "%d", max_seconds > 0 ? max_seconds : 600);
    const char *path = kt_proxy_path();
    char *argv[] = {(char *)path,   "--listen",      "127.0.0.1:0",  "--control",
                    "127.0.0.1:0",  "--target",      (char *)target, "--max-seconds",
                    secs,           "--exit-on-stdin-eof",           NULL};

    /* The child gets a clean signal state whatever the test process blocked or ignored. */
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    int err = posix_spawn(&p->pid, path, &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(in[0]);
    close(out[1]);
    if (err) {
        fprintf(stderr, "kt_proxy_start: cannot run %s: %s\n", path, strerror(err));
        close(in[1]);
        close(out[0]);
        p->pid = 0;
        return -1;
    }
    /* We hold the write end of its stdin: if this test process dies, the proxy follows. */
    p->stdin_fd = in[1];
    int rc = read_ports(p, out[0]);
    close(out[0]); /* the proxy prints nothing after its ports */
    if (rc != 0) {
        fprintf(stderr, "kt_proxy_start: %s did not report its ports\n", path);
        kt_proxy_stop(p);
        return -1;
    }
    if (connect_control(p) != 0) {
        fprintf(stderr, "kt_proxy_start: cannot reach the control port %d: %s\n",
                p->control_port, strerror(errno));
        kt_proxy_stop(p);
        return -1;
    }
    return 0;
}

int kt_proxy_start(kt_proxy *p, const char *target)
{
    return kt_proxy_start_timed(p, target, 0);
}

int kt_proxy_query(kt_proxy *p, const char *cmd, char *reply, size_t reply_len)
{
    if (reply_len)
        reply[0] = 0;
    if (p->control_fd < 0)
        return -1;
    char line[300];
    int n = snprintf(line, sizeof line, "%s\n", cmd);
    if (n < 0 || (size_t)n >= sizeof line)
        return -1;
    if (send(p->control_fd, line, (size_t)n, MSG_NOSIGNAL) != n)
        return -1;
    /* Byte by byte: answers are short, and nothing past the newline belongs to this call. */
    size_t len = 0;
    for (;;) {
        char ch;
        ssize_t r = recv(p->control_fd, &ch, 1, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        if (ch == '\n')
            break;
        if (len + 1 < reply_len)
            reply[len++] = ch;
    }
    if (reply_len)
        reply[len] = 0;
    return reply_len >= 2 && strncmp(reply, "ok", 2) == 0 ? 0 : -1;
}

int kt_proxy_cmd(kt_proxy *p, const char *cmd)
{
    char reply[512];
    int rc = kt_proxy_query(p, cmd, reply, sizeof reply);
    if (rc != 0)
        fprintf(stderr, "kt_proxy_cmd %s: %s\n", cmd, reply[0] ? reply : "no answer");
    return rc;
}

long long kt_proxy_stat(const char *reply, const char *key)
{
    size_t klen = strlen(key);
    for (const char *s = reply; (s = strstr(s, key)) != NULL; s += klen) {
        if ((s == reply || s[-1] == ' ') && s[klen] == '=')
            return strtoll(s + klen + 1, NULL, 10);
    }
    return -1;
}

int kt_proxy_wait(kt_proxy *p, int timeout_ms)
{
    if (p->pid <= 0)
        return -1;
    long long deadline = ms_now() + timeout_ms;
    for (;;) {
        int st;
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid) {
            p->pid = 0;
            return status_code(st);
        }
        if (r < 0 && errno != EINTR) {
            p->pid = 0;
            return -1;
        }
        if (ms_now() >= deadline)
            return -1;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int kt_proxy_stop(kt_proxy *p)
{
    int rc = 0;
    if (p->control_fd >= 0)
        close(p->control_fd);
    p->control_fd = -1;
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        rc = kt_proxy_wait(p, STOP_GRACE_MS);
        if (p->pid > 0) {
            kill(p->pid, SIGKILL);
            int st;
            while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
                ;
            p->pid = 0;
            rc = 128 + SIGKILL;
        }
    }
    if (p->stdin_fd >= 0)
        close(p->stdin_fd);
    p->stdin_fd = -1;
    return rc;
}
