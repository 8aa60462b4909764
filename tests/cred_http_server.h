/* Tests only: a tiny HTTP/1.1 credential server on a Unix socket (good, slow, 500, any body). */
#ifndef KW_TESTS_CRED_HTTP_SERVER_H
#define KW_TESTS_CRED_HTTP_SERVER_H

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/*
 * One thread, one connection at a time: reads the request head, then
 * answers as `status` says with `body` after waiting `delay_ms` (the wait
 * ends at once when the server stops).  Tests change status, body and delay
 * between requests; requests counts the answered ones.
 */
typedef struct cred_server {
    char path[108];
    int listen_fd;
    int stop_pipe[2];
    pthread_t thread;
    atomic_int status;   /* 200, 500, ... */
    atomic_int delay_ms; /* before answering */
    atomic_int requests; /* heads read */
    pthread_mutex_t mu;
    char body[4096];     /* under mu */
    char last_request[512];
} cred_server;

static inline void cred_server_set(cred_server *s, int status, int delay_ms, const char *body)
{
    pthread_mutex_lock(&s->mu);
    snprintf(s->body, sizeof(s->body), "%s", body);
    pthread_mutex_unlock(&s->mu);
    atomic_store(&s->status, status);
    atomic_store(&s->delay_ms, delay_ms);
}

/* Waits ms or until stop; true when stopping. */
static inline bool cred_server_nap(cred_server *s, int ms)
{
    struct pollfd p = {.fd = s->stop_pipe[0], .events = POLLIN};
    return poll(&p, 1, ms) > 0;
}

static inline void cred_server_serve(cred_server *s, int fd)
{
    char req[2048];
    size_t n = 0;
    while (n + 1 < sizeof(req)) {
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = s->stop_pipe[0], .events = POLLIN}};
        if (poll(p, 2, 5000) <= 0 || p[1].revents)
            return;
        ssize_t r = read(fd, req + n, sizeof(req) - 1 - n);
        if (r <= 0)
            return;
        n += (size_t)r;
        req[n] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    atomic_fetch_add(&s->requests, 1);
    pthread_mutex_lock(&s->mu);
    snprintf(s->last_request, sizeof(s->last_request), "%.500s", req);
    char body[4096];
    snprintf(body, sizeof(body), "%s", s->body);
    pthread_mutex_unlock(&s->mu);
    int delay = atomic_load(&s->delay_ms);
    if (delay > 0 && cred_server_nap(s, delay))
        return;
    int status = atomic_load(&s->status);
    char head[256];
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      status, status == 200 ? "OK" : "Error", strlen(body));
    /* The client may have given up and closed: no SIGPIPE for the test process. */
    if (send(fd, head, (size_t)hl, MSG_NOSIGNAL) == hl)
        (void)!send(fd, body, strlen(body), MSG_NOSIGNAL);
}

static inline void *cred_server_main(void *arg)
{
    cred_server *s = arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = s->listen_fd, .events = POLLIN},
                              {.fd = s->stop_pipe[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (p[0].revents & POLLIN) {
            int fd = accept(s->listen_fd, NULL, NULL);
            if (fd >= 0) {
                cred_server_serve(s, fd);
                close(fd);
            }
        }
    }
    return NULL;
}

/* 0, or -1 (errno). The socket goes in a fresh temporary directory's "cred.sock". */
static inline int cred_server_start(cred_server *s, int status, const char *body)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    char dir[] = "/tmp/kwal-cred-XXXXXX";
    if (!mkdtemp(dir))
        return -1;
    snprintf(s->path, sizeof(s->path), "%s/cred.sock", dir);
    cred_server_set(s, status, 0, body);
    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", s->path);
    if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(s->listen_fd, 16) != 0 || pipe(s->stop_pipe) != 0)
        return -1;
    return pthread_create(&s->thread, NULL, cred_server_main, s) == 0 ? 0 : -1;
}

static inline void cred_server_stop(cred_server *s)
{
    if (write(s->stop_pipe[1], "x", 1) != 1)
        return;
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
    unlink(s->path);
    char *slash = strrchr(s->path, '/');
    if (slash) {
        *slash = '\0';
        rmdir(s->path);
    }
    pthread_mutex_destroy(&s->mu);
}

#endif /* KW_TESTS_CRED_HTTP_SERVER_H */
