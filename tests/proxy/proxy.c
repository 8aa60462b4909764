/* kwal-test-proxy: a fault-injecting loopback TCP proxy that tests put between kwal and the broker. */
/*
 * One thread, one epoll set, non-blocking sockets.  Each accepted client gets
 * its own connection to the target; bytes go both ways through two bounded
 * queues of chunks.  A line-based control socket switches faults on and off
 * (see usage()).  Nothing here may hang a test: every queue is bounded (a
 * side is not read while the queue it feeds is full), SIGTERM/SIGINT and
 * `quit` exit cleanly, and a safety timer (--max-seconds) ends the process
 * whatever the test does.
 *
 * Exit status: 0 after quit, a signal or stdin EOF (--exit-on-stdin-eof);
 * 1 on a usage or setup error; 3 when the safety timer fired.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_LIMIT (1u << 20) /* bytes buffered per direction per connection */
#define CHUNK_MAX 65536        /* at most this much per read() */
#define CONN_MAX 1024          /* more connections than this are refused */
#define CONTROL_LINE_MAX 256
#define CUT_DRAIN_MS 500   /* cut-after: how long to wait for the last bytes to leave */
#define DELAY_MAX_MS 60000 /* a longer delay would only be a slower way to hang a test */
#define EXIT_TIMER 3

enum ep_kind { EP_LISTEN, EP_CONTROL_LISTEN, EP_CONTROL, EP_SIGNAL, EP_STDIN, EP_CLIENT, EP_TARGET };

/* What epoll hands back: one per registered fd. */
typedef struct endpoint {
    enum ep_kind kind;
    int fd;
    uint32_t events;  /* what is registered now; 0 = not in the epoll set */
    void *owner;      /* the conn or control client, or NULL */
} endpoint;

/* A run of bytes read from one side, due to leave for the other at ready_ms. */
typedef struct chunk {
    struct chunk *next;
    int64_t ready_ms;
    size_t off, len;
    char data[];
} chunk;

/* One direction of a connection. */
typedef struct flow {
    chunk *head, *tail;
    size_t bytes; /* queued, not yet written */
    bool eof;     /* the source side sent FIN */
    bool shut;    /* FIN passed on to the destination side */
} flow;

typedef struct conn {
    struct conn *next;
    endpoint client, target;
    bool connecting; /* the target connect() has not completed */
    bool dead;
    bool frozen; /* `freeze`: nothing moves on it any more, both ways, until it is cut */
    flow up;   /* client -> target */
    flow down; /* target -> client */
} conn;

typedef struct control {
    struct control *next;
    endpoint ep;
    bool dead;
    size_t len;
    char line[CONTROL_LINE_MAX];
} control;

enum mode { MODE_FORWARD, MODE_STALL };
enum after { AFTER_NOTHING, AFTER_STALL, AFTER_CUT };

static struct proxy {
    int epfd;
    endpoint listen, control_listen, signals, stdin_ep;
    struct sockaddr_in target;
    conn *conns;
    control *controls;
    enum mode mode;
    bool refusing;
    int64_t delay_ms;
    int64_t budget;    /* target->client bytes still allowed before `after`; -1 = unlimited */
    enum after after;
    bool cutting;      /* cut-after reached: waiting for the last bytes to leave */
    int64_t cut_deadline_ms;
    int64_t deadline_ms; /* the safety timer */
    bool quitting;
    int exit_status;
    uint64_t accepted, refused, open, bytes_up, bytes_down;
} P;

static void usage(FILE *out)
{
    fputs("usage: kwal-test-proxy --target 127.0.0.1:PORT [--listen 127.0.0.1:PORT]\n"
          "                       [--control 127.0.0.1:PORT] [--max-seconds N]\n"
          "                       [--exit-on-stdin-eof]\n"
          "Forwards loopback TCP connections to the target and injects faults on command.\n"
          "Port 0 picks a free port; the chosen ports are printed on stdout as\n"
          "  listen 127.0.0.1:N\n  control 127.0.0.1:M\n"
          "Control lines (each answered `ok ...` or `error <why>`):\n"
          "  forward | stall | stall-after N | cut | cut-after N | freeze | refuse | accept\n"
          "  delay MS | stats | quit\n"
          "Only loopback addresses are allowed. The process exits by itself after\n"
          "--max-seconds (default 600).\n",
          out);
}

__attribute__((noreturn, format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("kwal-test-proxy: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Parses a whole decimal number in [lo, hi]; false on anything else. */
static bool parse_num(const char *s, long long lo, long long hi, long long *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/*
 * Parses HOST:PORT where HOST is an IPv4 loopback address (127.0.0.0/8) or
 * "localhost": this machine allows loopback traffic only, so the proxy must
 * never be pointed anywhere else.
 */
static void parse_loopback(const char *opt, const char *s, struct sockaddr_in *sa)
{
    const char *colon = strrchr(s, ':');
    char host[64];
    long long port;
    if (!colon || (size_t)(colon - s) >= sizeof host || !parse_num(colon + 1, 0, 65535, &port))
        fail("%s %s: expected 127.0.0.1:PORT", opt, s);
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        fail("%s %s: not an IPv4 address; only loopback (127.0.0.0/8) is allowed", opt, s);
    if ((ntohl(sa->sin_addr.s_addr) >> 24) != 127)
        fail("%s %s: only loopback addresses (127.0.0.0/8) are allowed: this machine's rules "
             "allow loopback traffic only",
             opt, s);
}

static void set_rst_on_close(int fd)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

/* Makes the registered events of ep equal want; an fd with nothing wanted leaves the set, so a
 * peer's HUP cannot spin the loop while we deliberately ignore that fd (stall, full queue). */
static void ep_want(endpoint *ep, uint32_t want)
{
    if (ep->fd < 0 || ep->events == want)
        return;
    struct epoll_event ev = {.events = want, .data.ptr = ep};
    int op = !ep->events ? EPOLL_CTL_ADD : !want ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    if (epoll_ctl(P.epfd, op, ep->fd, &ev) != 0)
        fail("epoll_ctl: %s", strerror(errno));
    ep->events = want;
}

static void ep_close(endpoint *ep, bool rst)
{
    if (ep->fd < 0)
        return;
    ep_want(ep, 0);
    if (rst)
        set_rst_on_close(ep->fd);
    close(ep->fd);
    ep->fd = -1;
}

static void flow_free(flow *f)
{
    while (f->head) {
        chunk *c = f->head;
        f->head = c->next;
        free(c);
    }
    f->tail = NULL;
    f->bytes = 0;
}

/* Closes both sides; rst makes the peers see a reset instead of an orderly close. */
static void conn_kill(conn *c, bool rst)
{
    if (c->dead)
        return;
    ep_close(&c->client, rst);
    ep_close(&c->target, rst);
    flow_free(&c->up);
    flow_free(&c->down);
    c->dead = true;
    P.open--;
}

static void cut_all(void)
{
    for (conn *c = P.conns; c; c = c->next)
        conn_kill(c, true);
}

/* ---- the data path ---- */

static bool may_read(const conn *c, const flow *f)
{
    return P.mode == MODE_FORWARD && !P.cutting && !c->frozen && !f->eof && f->bytes < QUEUE_LIMIT &&
           !(f == &c->down && c->connecting);
}

static bool may_write(const conn *c, const flow *f)
{
    if (P.mode != MODE_FORWARD || P.cutting || c->frozen || (f == &c->up && c->connecting))
        return false;
    return f != &c->down || P.budget != 0;
}

/* Reads what one side has into the flow it feeds. */
static void conn_read(conn *c, endpoint *from, flow *f)
{
    size_t room = QUEUE_LIMIT - f->bytes;
    size_t want = room < CHUNK_MAX ? room : CHUNK_MAX;
    chunk *ch = malloc(sizeof *ch + want);
    if (!ch)
        fail("out of memory");
    ssize_t n = recv(from->fd, ch->data, want, 0);
    if (n <= 0) {
        free(ch);
        if (n == 0)
            f->eof = true;
        else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            conn_kill(c, true); /* the side was reset: pass the reset on */
        return;
    }
    if ((size_t)n < want / 2) { /* do not keep 64 KiB for a 10-byte read */
        chunk *small = realloc(ch, sizeof *ch + (size_t)n);
        if (small)
            ch = small;
    }
    ch->next = NULL;
    ch->ready_ms = now_ms() + P.delay_ms;
    ch->off = 0;
    ch->len = (size_t)n;
    if (f->tail)
        f->tail->next = ch;
    else
        f->head = ch;
    f->tail = ch;
    f->bytes += (size_t)n;
}

/* Counts bytes given to clients against the stall-after / cut-after budget. */
static void spend_budget(size_t n)
{
    if (P.budget < 0)
        return;
    P.budget -= (int64_t)n;
    if (P.budget > 0)
        return;
    P.budget = -1;
    if (P.after == AFTER_STALL) {
        P.mode = MODE_STALL;
    } else if (P.after == AFTER_CUT) {
        P.cutting = true;
        P.cut_deadline_ms = now_ms() + CUT_DRAIN_MS;
    }
    P.after = AFTER_NOTHING;
}

/* Writes the flow's due chunks to its destination; true when the socket would block. */
static bool conn_flush(conn *c, flow *f, endpoint *to, int64_t now)
{
    while (f->head && !c->dead && may_write(c, f) && f->head->ready_ms <= now) {
        chunk *ch = f->head;
        size_t n = ch->len - ch->off;
        if (f == &c->down && P.budget >= 0 && (int64_t)n > P.budget)
            n = (size_t)P.budget;
        ssize_t w = send(to->fd, ch->data + ch->off, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true;
            if (errno != EINTR)
                conn_kill(c, true);
            continue;
        }
        ch->off += (size_t)w;
        f->bytes -= (size_t)w;
        if (f == &c->up) {
            P.bytes_up += (uint64_t)w;
        } else {
            P.bytes_down += (uint64_t)w;
            spend_budget((size_t)w);
        }
        if (ch->off == ch->len) {
            f->head = ch->next;
            if (!f->head)
                f->tail = NULL;
            free(ch);
        }
    }
    if (!c->dead && !f->head && f->eof && !f->shut) { /* pass the FIN on, after the data */
        shutdown(to->fd, SHUT_WR);
        f->shut = true;
    }
    return false;
}

static void conn_service(conn *c, int64_t now)
{
    bool up_blocked = conn_flush(c, &c->up, &c->target, now);
    bool down_blocked = conn_flush(c, &c->down, &c->client, now);
    if (c->dead)
        return;
    if (c->up.shut && c->down.shut) { /* both sides said goodbye and everything was delivered */
        conn_kill(c, false);
        return;
    }
    uint32_t cw = 0, tw = 0;
    if (may_read(c, &c->up))
        cw |= EPOLLIN;
    if (may_read(c, &c->down))
        tw |= EPOLLIN;
    if (down_blocked)
        cw |= EPOLLOUT;
    if (up_blocked || c->connecting)
        tw |= EPOLLOUT;
    ep_want(&c->client, cw);
    ep_want(&c->target, tw);
}

static void target_connected(conn *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->target.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err == EINPROGRESS || err == EALREADY)
        return;
    if (err) {
        conn_kill(c, true); /* the target refused: the client sees a reset */
        return;
    }
    c->connecting = false;
}

static void accept_clients(void)
{
    for (;;) {
        int fd = accept4(P.listen.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return; /* EAGAIN, or out of fds: try again on the next wake-up */
        }
        if (P.refusing || P.open >= CONN_MAX) {
            set_rst_on_close(fd);
            close(fd);
            P.refused++;
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int tfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (tfd < 0) {
            set_rst_on_close(fd);
            close(fd);
            P.refused++;
            continue;
        }
        setsockopt(tfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn *c = calloc(1, sizeof *c);
        if (!c)
            fail("out of memory");
        c->client = (endpoint){EP_CLIENT, fd, 0, c};
        c->target = (endpoint){EP_TARGET, tfd, 0, c};
        c->next = P.conns;
        P.conns = c;
        P.accepted++;
        P.open++;
        if (connect(tfd, (struct sockaddr *)&P.target, sizeof P.target) == 0)
            continue;
        if (errno == EINPROGRESS)
            c->connecting = true;
        else
            conn_kill(c, true);
    }
}

static void conn_event(endpoint *ep, uint32_t events)
{
    conn *c = ep->owner;
    if (c->dead)
        return;
    if (ep->kind == EP_TARGET && c->connecting) {
        target_connected(c);
        return;
    }
    flow *f = ep->kind == EP_CLIENT ? &c->up : &c->down;
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && may_read(c, f))
        conn_read(c, ep, f);
    /* EPOLLOUT needs nothing here: every wake-up ends with a flush of every connection. */
}

/* ---- the control socket ---- */

static void control_reply(control *ct, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof buf - 2)
        n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    /* Replies are a line or two on loopback; a controller that does not read them is dropped
     * rather than buffered for. */
    if (send(ct->ep.fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
        ct->dead = true;
}

static const char *mode_name(void)
{
    if (P.cutting)
        return "cutting";
    if (P.mode == MODE_STALL)
        return "stall";
    if (P.after == AFTER_STALL)
        return "stall-after";
    if (P.after == AFTER_CUT)
        return "cut-after";
    return "forward";
}

static void control_command(control *ct, char *line)
{
    char *cmd = strtok(line, " \t");
    char *arg = strtok(NULL, " \t");
    char *extra = strtok(NULL, " \t");
    long long n;
    if (!cmd)
        return; /* blank lines are ignored */
    bool takes_arg = !strcmp(cmd, "stall-after") || !strcmp(cmd, "cut-after") ||
                     !strcmp(cmd, "delay");
    if (extra || (arg && !takes_arg)) {
        control_reply(ct, "error %s: too many arguments", cmd);
        return;
    }
    if (!strcmp(cmd, "forward")) {
        P.mode = MODE_FORWARD;
        P.budget = -1;
        P.after = AFTER_NOTHING;
    } else if (!strcmp(cmd, "stall")) {
        P.mode = MODE_STALL;
        P.budget = -1;
        P.after = AFTER_NOTHING;
    } else if (!strcmp(cmd, "stall-after") || !strcmp(cmd, "cut-after")) {
        if (!parse_num(arg, 0, INT64_MAX / 2, &n)) {
            control_reply(ct, "error %s needs a byte count >= 0", cmd);
            return;
        }
        P.mode = MODE_FORWARD;
        P.budget = n;
        P.after = cmd[0] == 's' ? AFTER_STALL : AFTER_CUT;
        if (n == 0) {
            P.budget = 1;
            spend_budget(1);
        }
    } else if (!strcmp(cmd, "cut")) {
        cut_all();
    } else if (!strcmp(cmd, "freeze")) {
        /* the connections open now go silent (no byte either way, no close); new ones forward */
        for (conn *c = P.conns; c; c = c->next)
            c->frozen = true;
    } else if (!strcmp(cmd, "refuse")) {
        P.refusing = true;
    } else if (!strcmp(cmd, "accept")) {
        P.refusing = false;
    } else if (!strcmp(cmd, "delay")) {
        if (!parse_num(arg, 0, DELAY_MAX_MS, &n)) {
            control_reply(ct, "error delay needs milliseconds in 0..%d", DELAY_MAX_MS);
            return;
        }
        P.delay_ms = n;
    } else if (!strcmp(cmd, "stats")) {
        control_reply(ct,
                      "ok accepted=%" PRIu64 " refused=%" PRIu64 " open=%" PRIu64
                      " client_to_target=%" PRIu64 " target_to_client=%" PRIu64
                      " mode=%s refusing=%d delay_ms=%" PRId64,
                      P.accepted, P.refused, P.open, P.bytes_up, P.bytes_down, mode_name(),
                      P.refusing, P.delay_ms);
        return;
    } else if (!strcmp(cmd, "quit")) {
        P.quitting = true;
    } else {
        control_reply(ct, "error unknown command %s", cmd);
        return;
    }
    control_reply(ct, "ok");
}

static void control_read(control *ct)
{
    if (ct->dead)
        return;
    ssize_t n = recv(ct->ep.fd, ct->line + ct->len, sizeof ct->line - ct->len, 0);
    if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            ct->dead = true;
        return;
    }
    ct->len += (size_t)n;
    char *nl;
    while (!ct->dead && (nl = memchr(ct->line, '\n', ct->len))) {
        size_t used = (size_t)(nl - ct->line) + 1;
        *nl = 0;
        if (nl > ct->line && nl[-1] == '\r')
            nl[-1] = 0;
        control_command(ct, ct->line);
        memmove(ct->line, ct->line + used, ct->len - used);
        ct->len -= used;
    }
    if (ct->len == sizeof ct->line) {
        control_reply(ct, "error line longer than %d bytes", CONTROL_LINE_MAX - 1);
        ct->dead = true;
    }
}

static void accept_controls(void)
{
    for (;;) {
        int fd = accept4(P.control_listen.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return;
        }
        control *ct = calloc(1, sizeof *ct);
        if (!ct)
            fail("out of memory");
        ct->ep = (endpoint){EP_CONTROL, fd, 0, ct};
        ct->next = P.controls;
        P.controls = ct;
        ep_want(&ct->ep, EPOLLIN);
    }
}

/* ---- setup and the loop ---- */

static int listen_on(const struct sockaddr_in *sa, const char *opt, uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fail("socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)sa, sizeof *sa) != 0)
        fail("%s: bind %s:%u: %s", opt, inet_ntoa(sa->sin_addr), ntohs(sa->sin_port),
             strerror(errno));
    if (listen(fd, 128) != 0)
        fail("%s: listen: %s", opt, strerror(errno));
    struct sockaddr_in got;
    socklen_t len = sizeof got;
    if (getsockname(fd, (struct sockaddr *)&got, &len) != 0)
        fail("getsockname: %s", strerror(errno));
    *port = ntohs(got.sin_port);
    return fd;
}

/* How long epoll may sleep: until the safety timer, the next delayed chunk, or a cut drain. */
static int wait_timeout(int64_t now)
{
    int64_t until = P.deadline_ms;
    if (P.cutting)
        until = now + 5;
    if (P.mode == MODE_FORWARD && !P.cutting)
        for (conn *c = P.conns; c; c = c->next) {
            if (c->dead)
                continue;
            if (c->up.head && c->up.head->ready_ms > now && c->up.head->ready_ms < until)
                until = c->up.head->ready_ms;
            if (c->down.head && c->down.head->ready_ms > now && c->down.head->ready_ms < until)
                until = c->down.head->ready_ms;
        }
    int64_t ms = until - now;
    return ms < 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms;
}

/* cut-after: the budget is spent; cut once the clients' kernels have sent (and had acknowledged)
 * what we wrote, so that "exactly N bytes" reaches them before the reset, or after a bound. */
static void cut_when_drained(int64_t now)
{
    bool drained = true;
    for (conn *c = P.conns; c && drained; c = c->next) {
        int queued = 0;
        if (!c->dead && ioctl(c->client.fd, SIOCOUTQ, &queued) == 0 && queued > 0)
            drained = false;
    }
    if (drained || now >= P.cut_deadline_ms) {
        cut_all();
        P.cutting = false;
    }
}

static void reap(void)
{
    for (conn **pc = &P.conns; *pc;) {
        conn *c = *pc;
        if (c->dead) {
            *pc = c->next;
            free(c);
        } else {
            pc = &c->next;
        }
    }
    for (control **pt = &P.controls; *pt;) {
        control *ct = *pt;
        if (ct->dead) {
            ep_close(&ct->ep, false);
            *pt = ct->next;
            free(ct);
        } else {
            pt = &ct->next;
        }
    }
}

static void run(void)
{
    struct epoll_event evs[64];
    while (!P.quitting) {
        int64_t now = now_ms();
        int n = epoll_wait(P.epfd, evs, 64, wait_timeout(now));
        if (n < 0 && errno != EINTR)
            fail("epoll_wait: %s", strerror(errno));
        now = now_ms();
        if (now >= P.deadline_ms) {
            fprintf(stderr, "kwal-test-proxy: safety timer expired, exiting\n");
            P.exit_status = EXIT_TIMER;
            return;
        }
        for (int i = 0; i < n; i++) {
            endpoint *ep = evs[i].data.ptr;
            switch (ep->kind) {
            case EP_LISTEN:
                accept_clients();
                break;
            case EP_CONTROL_LISTEN:
                accept_controls();
                break;
            case EP_CONTROL:
                control_read(ep->owner);
                break;
            case EP_SIGNAL:
                P.quitting = true;
                break;
            case EP_STDIN: {
                char scratch[256];
                ssize_t r = read(ep->fd, scratch, sizeof scratch);
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
                    P.quitting = true; /* whoever started us has gone */
                break;
            }
            case EP_CLIENT:
            case EP_TARGET:
                conn_event(ep, evs[i].events);
                break;
            }
        }
        /* A fresh clock: chunks read above are stamped ready at or before it, so none of them
         * can be left unflushed with no timer armed for it. */
        now = now_ms();
        if (P.cutting)
            cut_when_drained(now);
        /* Twice when a budget ran out mid-pass, so connections serviced before the switch get
         * their interests recomputed under the new mode. */
        for (int pass = 0; pass < 2; pass++) {
            enum mode m = P.mode;
            bool cutting = P.cutting;
            for (conn *c = P.conns; c; c = c->next)
                if (!c->dead)
                    conn_service(c, now);
            if (m == P.mode && cutting == P.cutting)
                break;
        }
        reap();
    }
}

static void shutdown_all(void)
{
    for (conn *c = P.conns; c; c = c->next)
        conn_kill(c, false);
    for (control *ct = P.controls; ct; ct = ct->next)
        ct->dead = true;
    reap();
    ep_close(&P.listen, false);
    ep_close(&P.control_listen, false);
    if (P.signals.fd >= 0) {
        ep_want(&P.signals, 0);
        close(P.signals.fd);
    }
    ep_want(&P.stdin_ep, 0);
    close(P.epfd);
}

int main(int argc, char **argv)
{
    struct sockaddr_in listen_sa, control_sa;
    const char *target = NULL;
    long long max_seconds = 600;
    bool watch_stdin = false;
    parse_loopback("--listen", "127.0.0.1:0", &listen_sa);
    parse_loopback("--control", "127.0.0.1:0", &control_sa);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--exit-on-stdin-eof")) {
            watch_stdin = true;
            continue;
        } else if (!v) {
            usage(stderr);
            fail("%s needs a value (or is unknown)", a);
        } else if (!strcmp(a, "--listen")) {
            parse_loopback(a, v, &listen_sa);
        } else if (!strcmp(a, "--control")) {
            parse_loopback(a, v, &control_sa);
        } else if (!strcmp(a, "--target")) {
            parse_loopback(a, v, &P.target);
            target = v;
        } else if (!strcmp(a, "--max-seconds")) {
            if (!parse_num(v, 1, 86400, &max_seconds))
                fail("--max-seconds %s: expected 1..86400", v);
        } else {
            usage(stderr);
            fail("unknown option %s", a);
        }
        i++;
    }
    if (!target) {
        usage(stderr);
        fail("--target is required");
    }
    if (P.target.sin_port == 0)
        fail("--target %s: port 0 is not a target", target);

    P.budget = -1;
    P.deadline_ms = now_ms() + max_seconds * 1000;
    P.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (P.epfd < 0)
        fail("epoll_create1: %s", strerror(errno));

    /* Signals arrive as reads on a signalfd, so they are handled in the loop, not in a handler. */
    signal(SIGPIPE, SIG_IGN);
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    int sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0)
        fail("signalfd: %s", strerror(errno));
    P.signals = (endpoint){EP_SIGNAL, sfd, 0, NULL};
    ep_want(&P.signals, EPOLLIN);
    P.stdin_ep = (endpoint){EP_STDIN, watch_stdin ? STDIN_FILENO : -1, 0, NULL};
    if (watch_stdin)
        ep_want(&P.stdin_ep, EPOLLIN);

    uint16_t lport, cport;
    P.listen = (endpoint){EP_LISTEN, listen_on(&listen_sa, "--listen", &lport), 0, NULL};
    P.control_listen =
        (endpoint){EP_CONTROL_LISTEN, listen_on(&control_sa, "--control", &cport), 0, NULL};
    ep_want(&P.listen, EPOLLIN);
    ep_want(&P.control_listen, EPOLLIN);

    char lhost[INET_ADDRSTRLEN], chost[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &listen_sa.sin_addr, lhost, sizeof lhost);
    inet_ntop(AF_INET, &control_sa.sin_addr, chost, sizeof chost);
    printf("listen %s:%u\ncontrol %s:%u\n", lhost, lport, chost, cport);
    fflush(stdout);

    run();
    shutdown_all();
    return P.exit_status;
}
