/* libFuzzer target for the etcd store's answer handling: a loopback HTTP server answers each request with fuzz bytes. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kwal/error.h"
#include "meta/store.h"
#include "meta/store_etcd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: one control byte, then the answers, one per HTTP request, separated by "\n\x01\n".
 * Each answer's first byte picks the HTTP status (0: 200, 1: 400, 2: 401, 3: 404, 4: 500,
 * 5: 503, anything else 200); the rest is the body (JSON, or not).  Past the last answer the
 * server closes the connection.
 *   bits 0-2  the operation after the open's probe: get, put, compare-and-put (absent and a
 *             revision), range (paged), delete, lease grant + keep-alive + revoke, cas with a
 *             lease
 *   bit 3     a key prefix ("tenant/"): range answers must carry it
 *   bit 4     user + password: the open authenticates, a refusal (code 16) re-authenticates
 * The store is opened fresh for every input (the probe is the first answer).
 */
#define SEP "\n\x01\n"
#define MAX_ANSWERS 64

/* The harness's server: one thread, one connection at a time, kept for the process. */
typedef struct server {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int lfd;
    uint16_t port;
    const uint8_t *ans[MAX_ANSWERS];
    size_t ans_len[MAX_ANSWERS];
    size_t nans, next;
    bool ready;
} server;

static server srv = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .lfd = -1};

static bool read_request(int fd, char *buf, size_t cap)
{
    /* headers, then Content-Length bytes of body (ignored) */
    size_t n = 0;
    char *end = NULL;
    while (!end) {
        if (n + 1 >= cap)
            return false;
        ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
        if (r <= 0)
            return false;
        n += (size_t)r;
        buf[n] = 0;
        end = strstr(buf, "\r\n\r\n");
    }
    size_t head = (size_t)(end + 4 - buf), want = 0;
    const char *cl = strcasestr(buf, "Content-Length:");
    if (cl && cl < end)
        want = strtoul(cl + 15, NULL, 10);
    size_t have = n - head;
    char sink[4096];
    while (have < want) {
        ssize_t r = recv(fd, sink, sizeof(sink), 0);
        if (r <= 0)
            return false;
        have += (size_t)r;
    }
    return true;
}

static void answer(int fd, const uint8_t *a, size_t n)
{
    static const int statuses[] = {200, 400, 401, 404, 500, 503};
    int status = n && a[0] < 6 ? statuses[a[0]] : 200;
    const uint8_t *body = n ? a + 1 : a;
    size_t blen = n ? n - 1 : 0;
    char head[160];
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                      status, blen);
    if (send(fd, head, (size_t)hl, MSG_NOSIGNAL) < 0)
        return;
    for (size_t off = 0; off < blen;) {
        ssize_t w = send(fd, body + off, blen - off, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        off += (size_t)w;
    }
}

static void *server_main(void *arg)
{
    (void)arg;
    char *buf = malloc(1 << 16);
    for (;;) {
        int fd = accept(srv.lfd, NULL, NULL);
        if (fd < 0)
            continue;
        int one = 1; /* no Nagle wait between the head and the body */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        while (read_request(fd, buf, 1 << 16)) {
            /* The answer is copied under the lock: the input it points into is the fuzzer's,
             * and is freed once the input's run returns (which clears the answers first). */
            pthread_mutex_lock(&srv.mu);
            bool have = srv.next < srv.nans;
            size_t n = have ? srv.ans_len[srv.next] : 0;
            uint8_t *a = have ? malloc(n ? n : 1) : NULL;
            if (a)
                memcpy(a, srv.ans[srv.next++], n);
            pthread_mutex_unlock(&srv.mu);
            if (!a)
                break; /* out of answers: close, the client sees the endpoint go away */
            answer(fd, a, n);
            free(a);
        }
        close(fd);
    }
    return NULL;
}

static bool start_server(void)
{
    if (srv.lfd >= 0)
        return true;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0)
        return false;
    srv.lfd = fd;
    srv.port = ntohs(a.sin_port);
    pthread_t t;
    if (pthread_create(&t, NULL, server_main, NULL) != 0)
        return false;
    pthread_detach(t);
    return true;
}

/* The input is the fuzzer's only until this run returns: a late request gets no answer. */
static void forget_answers(void)
{
    pthread_mutex_lock(&srv.mu);
    srv.nans = srv.next = 0;
    pthread_mutex_unlock(&srv.mu);
}

static int count_kv(void *arg, const kw_meta_kv *kv)
{
    if (kv->key_len == 0 || (kv->value_len && !kv->value))
        abort();
    (*(size_t *)arg)++;
    return 0;
}

/* A failure says what it was, in words. */
static void check_err(kw_meta_store *s, int rc)
{
    if (rc >= 0 || rc < KW_EDATALOSS)
        abort();
    if (rc == KW_ENOTFOUND)
        return; /* an answer, not a failure: no detail needed */
    char why[300];
    kw__meta_store_errstr(s, why, sizeof(why));
    if (!why[0])
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 64 * 1024 || !start_server())
        return 0;
    uint8_t ctl = data[0];
    pthread_mutex_lock(&srv.mu);
    srv.nans = srv.next = 0;
    for (const uint8_t *p = data + 1, *end = data + size; p <= end && srv.nans < MAX_ANSWERS;) {
        const uint8_t *sep = memmem(p, (size_t)(end - p), SEP, 3);
        const uint8_t *stop = sep ? sep : end;
        srv.ans[srv.nans] = p;
        srv.ans_len[srv.nans++] = (size_t)(stop - p);
        if (!sep)
            break;
        p = sep + 3;
    }
    pthread_mutex_unlock(&srv.mu);

    char ep[64];
    snprintf(ep, sizeof(ep), "127.0.0.1:%u", srv.port);
    const char *eps[] = {ep};
    kw_meta_store_etcd_options o = {.endpoints = eps,
                                    .endpoint_count = 1,
                                    .key_prefix = ctl & 8 ? "tenant/" : NULL,
                                    .username = ctl & 16 ? "root" : NULL,
                                    .password = ctl & 16 ? "secret" : NULL,
                                    .timeout_ms = 2000};
    kw_meta_store *s;
    char err[300];
    int rc = kw__meta_store_etcd_open(&o, &s, err, sizeof(err));
    if (rc) {
        if (getenv("KWAL_FUZZ_VERBOSE"))
            fprintf(stderr, "open: %s (%s)\n", kw_err_name(rc), err);
        if (!err[0] || rc >= 0)
            abort();
        forget_answers();
        return 0;
    }
    uint8_t *v = NULL;
    size_t vlen = 0, count = 0;
    uint64_t rev = 0;
    int64_t lease = 0, ttl = 0;
    switch (ctl & 7) {
    case 0:
        rc = kw__meta_store_get(s, "k", 1, &v, &vlen, &rev);
        free(v);
        break;
    case 1:
        rc = kw__meta_store_put(s, "k", 1, "v", 1, &rev);
        break;
    case 2:
        rc = kw__meta_store_cas(s, "k", 1, KW_META_REV_ABSENT, "v", 1, &rev);
        if (rc == 0 || rc == KW_EAGAIN)
            rc = kw__meta_store_cas(s, "k", 1, 5, "w", 1, &rev);
        break;
    case 3:
    case 4:
        rc = kw__meta_store_range_prefix(s, "a/", 2, (ctl & 7) == 4 ? 3 : 0, count_kv, &count);
        if ((ctl & 7) == 4 && rc == 0 && count > 3)
            abort(); /* the limit holds whatever the server sends */
        break;
    case 5:
        rc = kw__meta_store_del(s, "k", 1, &rev);
        break;
    case 6:
        rc = kw__meta_etcd_lease_grant(s, 10, &lease);
        if (rc == 0 && lease == 0)
            abort();
        if (rc == 0)
            rc = kw__meta_etcd_lease_keepalive(s, lease, &ttl);
        if (rc == 0 || rc == KW_ENOTFOUND)
            rc = kw__meta_etcd_lease_revoke(s, lease ? lease : 1);
        break;
    default:
        rc = kw__meta_etcd_cas_lease(s, "k", 1, KW_META_REV_ABSENT, "v", 1, 42, &rev);
        break;
    }
    if (getenv("KWAL_FUZZ_VERBOSE")) { /* for writing seeds: what each one reached */
        char why[300];
        kw__meta_store_errstr(s, why, sizeof(why));
        fprintf(stderr, "op %d: %s (%s), %zu answers used, %zu pairs\n", ctl & 7, kw_err_name(rc),
                why, srv.next, count);
    }
    if (rc)
        check_err(s, rc);
    kw__meta_store_close(s);
    forget_answers();
    return 0;
}
