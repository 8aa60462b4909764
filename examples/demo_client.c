/* demo_client: the load and the check of scripts/demo (pipelined puts, a log of acks, GETs). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/*
 *   demo_client put   --port P --acked FILE [--regions 16] [--first-region 1] [--conns 8] [--window 256]
 *                     [--seconds 30] [--key-prefix P]
 *       Sends PUT <region> <key> <value> with a unique key per put (P in front of each key, so a
 *       second run against the same regiond has keys of its own) until regiond goes away (or the
 *       time is up). Replies come in request order per connection, so the i-th reply is the i-th
 *       put; every put answered "OK <id>" is written to FILE as "region key value" — the record of
 *       what regiond promised to keep. Puts sent but never answered go to FILE.unacked.
 *   demo_client check --port P --acked FILE
 *       GETs every key in FILE (and FILE.unacked) and counts what came back with the right value.
 *       Exit 0 only if every acknowledged put is there (and there was at least one).
 */

#define MAX_CONNS 64
#define MAX_WINDOW 4096

typedef struct put_rec {
    uint32_t region;
    uint64_t seq;
} put_rec;

typedef struct cl_conn {
    int fd;
    bool open;
    int id;
    uint64_t sent, replied;     /* puts sent, replies read */
    put_rec window[MAX_WINDOW]; /* sent, not yet answered: [replied, sent) */
    char out[1 << 16];
    size_t out_len, out_off;
    char in[1 << 16];
    size_t in_len;
} cl_conn;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        fprintf(stderr, "demo_client: connect 127.0.0.1:%d: %s\n", port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* the check blocks on replies: a server that stops answering fails it in bounded time */
    struct timeval tv = {.tv_sec = 15};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return fd;
}

/* --key-prefix: a second run against the same regiond writes keys of its own. */
static const char *key_prefix = "";

/* The key and value of put `seq` on connection `id`: unique keys, values that can be checked. */
static int key_of(char *buf, size_t len, int id, uint64_t seq)
{
    return snprintf(buf, len, "%sc%d-k%llu", key_prefix, id, (unsigned long long)seq);
}

static int value_of(char *buf, size_t len, int id, uint64_t seq)
{
    /* a value of 24..87 bytes that depends on the key */
    unsigned pad = (unsigned)((seq * 2654435761u + (uint64_t)id) % 64);
    int n = snprintf(buf, len, "v%d-%llu-", id, (unsigned long long)seq);
    for (unsigned i = 0; i < pad + 12 && (size_t)n + 1 < len; i++)
        buf[n++] = (char)('a' + (seq + i) % 26);
    buf[n] = 0;
    return n;
}

static void conn_fill(cl_conn *c, unsigned first, unsigned regions, unsigned window)
{
    while (c->sent - c->replied < window && sizeof(c->out) - c->out_len > 512) {
        uint32_t region = (uint32_t)((c->sent * 7 + (uint64_t)c->id) % regions) + first;
        char k[64], v[128];
        key_of(k, sizeof(k), c->id, c->sent);
        value_of(v, sizeof(v), c->id, c->sent);
        c->out_len += (size_t)snprintf(c->out + c->out_len, sizeof(c->out) - c->out_len,
                                       "PUT %u %s %s\n", region, k, v);
        c->window[c->sent % MAX_WINDOW] = (put_rec){region, c->sent};
        c->sent++;
    }
}

static void log_put(FILE *f, const cl_conn *c, const put_rec *p)
{
    char k[64], v[128];
    key_of(k, sizeof(k), c->id, p->seq);
    value_of(v, sizeof(v), c->id, p->seq);
    fprintf(f, "%u %s %s\n", p->region, k, v);
}

static int run_put(int port, const char *acked_path, unsigned first, unsigned regions,
                   unsigned nconns, unsigned window, double seconds)
{
    char unacked_path[4096];
    snprintf(unacked_path, sizeof(unacked_path), "%s.unacked", acked_path);
    FILE *acked = fopen(acked_path, "w"), *unacked = fopen(unacked_path, "w");
    if (!acked || !unacked) {
        fprintf(stderr, "demo_client: cannot write %s\n", acked_path);
        return 2;
    }
    static cl_conn conns[MAX_CONNS];
    for (unsigned i = 0; i < nconns; i++) {
        conns[i].id = (int)i;
        conns[i].fd = dial(port);
        if (conns[i].fd < 0)
            return 2;
        fcntl(conns[i].fd, F_SETFL, O_NONBLOCK);
        conns[i].open = true;
    }
    uint64_t nacked = 0, errors = 0;
    double t0 = now_s(), deadline = t0 + seconds;
    unsigned open = nconns;
    while (open > 0 && now_s() < deadline) {
        struct pollfd pf[MAX_CONNS];
        for (unsigned i = 0; i < nconns; i++) {
            cl_conn *c = &conns[i];
            if (c->open)
                conn_fill(c, first, regions, window);
            pf[i].fd = c->open ? c->fd : -1;
            pf[i].events = POLLIN | (c->out_len > c->out_off ? POLLOUT : 0);
            pf[i].revents = 0;
        }
        if (poll(pf, nconns, 100) < 0 && errno != EINTR)
            break;
        for (unsigned i = 0; i < nconns; i++) {
            cl_conn *c = &conns[i];
            if (!c->open || !pf[i].revents)
                continue;
            bool lost = false;
            if (pf[i].revents & POLLOUT) {
                ssize_t k = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
                if (k > 0) {
                    c->out_off += (size_t)k;
                    if (c->out_off == c->out_len)
                        c->out_off = c->out_len = 0;
                } else if (k < 0 && errno != EAGAIN && errno != EINTR) {
                    lost = true;
                }
            }
            if (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t k = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
                if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
                    lost = true;
                if (k > 0)
                    c->in_len += (size_t)k;
            }
            size_t off = 0;
            char *nl;
            while ((nl = memchr(c->in + off, '\n', c->in_len - off)) != NULL) {
                size_t len = (size_t)(nl - (c->in + off));
                if (c->replied == c->sent) {
                    fprintf(stderr, "demo_client: reply without a request: %.*s\n", (int)len,
                            c->in + off);
                    return 2;
                }
                put_rec *p = &c->window[c->replied % MAX_WINDOW];
                if (len > 3 && memcmp(c->in + off, "OK ", 3) == 0) {
                    log_put(acked, c, p);
                    nacked++;
                } else {
                    if (errors++ < 5)
                        fprintf(stderr, "demo_client: put refused: %.*s\n", (int)len, c->in + off);
                }
                c->replied++;
                off += len + 1;
            }
            memmove(c->in, c->in + off, c->in_len - off);
            c->in_len -= off;
            if (lost) {
                close(c->fd);
                c->open = false;
                open--;
            }
        }
    }
    uint64_t nunacked = 0;
    for (unsigned i = 0; i < nconns; i++) {
        cl_conn *c = &conns[i];
        if (c->open)
            close(c->fd);
        for (uint64_t s = c->replied; s < c->sent; s++, nunacked++)
            log_put(unacked, c, &c->window[s % MAX_WINDOW]);
    }
    double dt = now_s() - t0;
    if (fclose(acked) != 0 || fclose(unacked) != 0) {
        fprintf(stderr, "demo_client: writing %s failed\n", acked_path);
        return 2;
    }
    printf("put: %llu acknowledged in %.2f s (%.0f puts/s, %u connections, %u regions), "
           "%llu in flight when the server went away, %llu refused\n",
           (unsigned long long)nacked, dt, dt > 0 ? (double)nacked / dt : 0.0, nconns, regions,
           (unsigned long long)nunacked, (unsigned long long)errors);
    return 0;
}

/* GETs every "region key value" line of path; counts found-with-the-same-value and the rest. */
static int check_file(int fd, const char *path, uint64_t *total, uint64_t *found, bool report)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "demo_client: cannot read %s\n", path);
        return -1;
    }
    enum { BATCH = 512 };
    static char lines[BATCH][256];
    static char rbuf[1 << 16];
    size_t rlen = 0;
    int shown = 0;
    for (;;) {
        int n = 0;
        while (n < BATCH && fgets(lines[n], sizeof(lines[n]), f))
            n++;
        if (n == 0)
            break;
        static char req[BATCH * 256];
        size_t qlen = 0;
        for (int i = 0; i < n; i++) {
            unsigned region;
            char k[128];
            if (sscanf(lines[i], "%u %127s", &region, k) != 2) {
                fprintf(stderr, "demo_client: bad line in %s\n", path);
                fclose(f);
                return -1;
            }
            qlen += (size_t)snprintf(req + qlen, sizeof(req) - qlen, "GET %u %s\n", region, k);
        }
        for (size_t off = 0; off < qlen;) {
            ssize_t k = send(fd, req + off, qlen - off, MSG_NOSIGNAL);
            if (k <= 0) {
                fprintf(stderr, "demo_client: send: %s\n", strerror(errno));
                fclose(f);
                return -1;
            }
            off += (size_t)k;
        }
        for (int i = 0; i < n;) {
            char *nl = memchr(rbuf, '\n', rlen);
            if (!nl) {
                ssize_t k = recv(fd, rbuf + rlen, sizeof(rbuf) - rlen, 0);
                if (k <= 0) {
                    fprintf(stderr, "demo_client: regiond went away during the check\n");
                    fclose(f);
                    return -1;
                }
                rlen += (size_t)k;
                continue;
            }
            size_t len = (size_t)(nl - rbuf);
            /* the expected value: the line after "region key " */
            const char *exp = strchr(strchr(lines[i], ' ') + 1, ' ') + 1;
            size_t elen = strcspn(exp, "\n");
            bool ok = len == 6 + elen && memcmp(rbuf, "VALUE ", 6) == 0 &&
                      memcmp(rbuf + 6, exp, elen) == 0;
            (*total)++;
            if (ok)
                (*found)++;
            else if (report && shown++ < 5)
                fprintf(stderr, "demo_client: lost: %.*s (got %.*s)\n",
                        (int)strcspn(lines[i], "\n"), lines[i], (int)len, rbuf);
            memmove(rbuf, nl + 1, rlen - len - 1);
            rlen -= len + 1;
            i++;
        }
    }
    fclose(f);
    return 0;
}

static int run_check(int port, const char *acked_path)
{
    int fd = dial(port);
    if (fd < 0)
        return 2;
    char unacked_path[4096];
    snprintf(unacked_path, sizeof(unacked_path), "%s.unacked", acked_path);
    uint64_t total = 0, found = 0, utotal = 0, ufound = 0;
    double t0 = now_s();
    if (check_file(fd, acked_path, &total, &found, true) < 0 ||
        check_file(fd, unacked_path, &utotal, &ufound, false) < 0) {
        close(fd);
        return 2;
    }
    close(fd);
    uint64_t lost = total - found;
    printf("acknowledged puts: %llu, recovered after SIGKILL: %llu (%.0f%%), lost: %llu\n",
           (unsigned long long)total, (unsigned long long)found,
           total ? 100.0 * (double)found / (double)total : 100.0, (unsigned long long)lost);
    printf("unacknowledged puts in flight at the kill: %llu (%llu of them made it to the WAL; "
           "either is correct); checked in %.2f s\n",
           (unsigned long long)utotal, (unsigned long long)ufound, now_s() - t0);
    if (total == 0) {
        /* nothing acknowledged proves nothing: the demo must kill a server that was working */
        fprintf(stderr, "demo_client: no put was acknowledged before the kill\n");
        return 1;
    }
    return lost == 0 ? 0 : 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: demo_client put --port P --acked FILE [--regions N] "
                    "[--first-region R] [--conns N] [--window N] [--seconds S] [--key-prefix P]\n"
                    "       demo_client check --port P --acked FILE\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage();
        return 2;
    }
    const char *mode = argv[1], *acked = NULL;
    int port = 0;
    unsigned regions = 16, conns = 8, window = 256, first = 1;
    double seconds = 30;
    for (int i = 2; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            usage();
            return 2;
        }
        if (strcmp(a, "--port") == 0)
            port = atoi(v);
        else if (strcmp(a, "--acked") == 0)
            acked = v;
        else if (strcmp(a, "--regions") == 0)
            regions = (unsigned)atoi(v);
        else if (strcmp(a, "--first-region") == 0)
            first = (unsigned)atoi(v);
        else if (strcmp(a, "--conns") == 0)
            conns = (unsigned)atoi(v);
        else if (strcmp(a, "--window") == 0)
            window = (unsigned)atoi(v);
        else if (strcmp(a, "--seconds") == 0)
            seconds = atof(v);
        else if (strcmp(a, "--key-prefix") == 0 && strlen(v) <= 16 && !strpbrk(v, " \t\r\n"))
            key_prefix = v;
        else {
            usage();
            return 2;
        }
    }
    if (port <= 0 || port > 65535 || !acked || regions == 0 || first == 0 || conns == 0 ||
        conns > MAX_CONNS ||
        window == 0 || window > MAX_WINDOW || seconds <= 0) {
        usage();
        return 2;
    }
    if (strcmp(mode, "put") == 0)
        return run_put(port, acked, first, regions, conns, window, seconds);
    if (strcmp(mode, "check") == 0)
        return run_check(port, acked);
    usage();
    return 2;
}
