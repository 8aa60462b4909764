/* regiond: a small region server; a put is durable in the kwal WAL before it is acknowledged. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kwal/meta.h"
#include "kwal/wal.h"
#include "region_store.h"
#include "regiond_cmd.h"

/*
 * Why the async append: every PUT is handed to kw_wal_append and the server goes on reading.
 * The WAL groups whatever is queued into one fsync (local) or one produce request (kafka), so
 * a client that pipelines puts, or many clients, share the cost of durability. The reply to a
 * PUT is sent from the main thread once the append's callback said the entry is durable; the
 * put is applied to the region's map at that moment too, so a GET never sees a value the WAL
 * could still lose. Callbacks of one topic come in append order, so a region's map takes its
 * puts in WAL order, which is the order replay applies them in.
 *
 * With --meta (kafka provider) regiond also plays the metasrv for itself, through the public
 * kw_meta API: the allocator gives each region its topic before its first append, every FLUSH
 * (and a one-second timer) sends the pruner a heartbeat with the id the region's snapshot covers,
 * and the pruner deletes each topic's records below what all of its regions have flushed. The
 * heartbeat is sent only after the snapshot is renamed and its directory fsynced: once reported,
 * the records at or below that id may be gone from Kafka.
 */

#define MAX_CONNS 1024
#define SLOTS 1024               /* replies pending per connection (puts in flight + ready) */
#define IN_CAP (RD_MAX_LINE + 2) /* one full line fits */
#define OUT_HIGH (1 << 20)       /* stop reading a client that does not read its replies */
#define SLOT_TEXT 110
#define HEARTBEAT_MS 1000 /* --meta: every region reports at least this often */

typedef struct slot {
    bool done;
    uint8_t len;
    char text[SLOT_TEXT];
} slot;

typedef struct conn {
    struct conn *prev, *next; /* every connection not yet freed */
    struct conn *touch_next;  /* completions came for it in this batch */
    bool touched;
    int fd;
    bool dead;       /* socket closed; the struct waits for its puts in flight */
    bool rd_eof;     /* the client sent EOF: answer what is buffered, then close */
    bool quitting;   /* QUIT seen: close once the replies are out */
    bool discarding; /* inside a too-long line: drop bytes up to the next '\n' */
    uint32_t events;
    unsigned inflight;
    /* replies in request order: slots [head, tail) of the ring */
    uint64_t head, tail;
    slot *ring;
    char *in;
    size_t in_len;
    char *out;
    size_t out_len, out_cap, out_off;
} conn;

/* One append in flight; the WAL callback queues it back to the main thread. */
typedef struct put_req {
    struct put_req *next;
    struct server *sv;
    conn *c;
    uint64_t slot;
    uint64_t region;
    int err;
    uint64_t entry_id;
    uint32_t klen, vlen;
    char kv[]; /* key then value */
} put_req;

typedef struct server {
    kw_wal *wal;
    kw_meta *meta;         /* --meta: the allocator and the pruner; NULL without */
    uint64_t heartbeat_us; /* when the timer last sent every region's heartbeat */
    rd_store store;
    uint64_t flush_every;
    int ep, lfd, efd, sfd;
    bool host_driven; /* --host-driven: the WAL's client runs in serve()'s epoll loop */
    int wfd;          /* ... through this fd (kw_wal_backend_fd) */
    bool stopping;
    size_t nconns;
    conn *conns;
    /* completions from kwal threads */
    pthread_mutex_t mu;
    put_req *done_head, **done_tail;
    /* regions the pruner asked to flush (--meta), also under mu */
    uint64_t flush_asked[64];
    size_t nflush_asked;
    uint8_t payload[RD_PAYLOAD_MAX];
    /* counters */
    uint64_t puts, acked, put_errors, inflight, flushes, bad_lines, replayed;
} server;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void wal_log(void *arg, int level, const char *msg)
{
    static const char *names[] = {"error", "warn", "info"};
    fprintf(stderr, "regiond: wal %s: %s\n", level >= 0 && level <= 2 ? names[level] : "?", msg);
}

static void meta_log(void *arg, int level, const char *msg)
{
    static const char *names[] = {"error", "warn", "info"};
    fprintf(stderr, "regiond: meta %s: %s\n", level >= 0 && level <= 2 ? names[level] : "?", msg);
}

/* ---- connection output ---- */

static int out_append(conn *c, const char *p, size_t n)
{
    if (n == 0)
        return 0;
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n)
            cap *= 2;
        char *o = realloc(c->out, cap);
        if (!o)
            return -1;
        c->out = o;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    return 0;
}

/* Moves the finished replies at the front of the ring to the output buffer, in order. */
static void ring_drain(conn *c)
{
    while (c->head < c->tail) {
        slot *s = &c->ring[c->head % SLOTS];
        if (!s->done)
            break;
        out_append(c, s->text, s->len);
        s->done = false;
        c->head++;
    }
}

static void reply(conn *c, uint64_t slot_no, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reply(conn *c, uint64_t slot_no, const char *fmt, ...)
{
    slot *s = &c->ring[slot_no % SLOTS];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->text, SLOT_TEXT - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if (n > SLOT_TEXT - 2)
        n = SLOT_TEXT - 2;
    s->text[n++] = '\n';
    s->len = (uint8_t)n;
    s->done = true;
}

/* A reply that needs no waiting: takes the next slot and fills it now. */
#define REPLY_NOW(c, ...) reply((c), (c)->tail++, __VA_ARGS__)

/* ---- connections ---- */

static void conn_free(server *sv, conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        sv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c->ring);
    free(c->in);
    free(c->out);
    free(c);
    sv->nconns--;
}

/*
 * Closes the socket and marks the connection dead; it is freed by conn_reap
 * once no put of it is in flight.  Never freed here: a close can happen deep
 * inside conn_settle or between events of one epoll batch that still name it.
 */
static void conn_close(server *sv, conn *c)
{
    if (c->dead)
        return;
    epoll_ctl(sv->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->dead = true;
}

/* Frees the dead connections nothing refers to any more (between epoll batches). */
static void conn_reap(server *sv)
{
    for (conn *c = sv->conns, *next; c; c = next) {
        next = c->next;
        if (c->dead && c->inflight == 0)
            conn_free(sv, c);
    }
}

static void conn_update_events(server *sv, conn *c)
{
    uint32_t ev = 0;
    if (!c->rd_eof && !c->quitting && c->in_len < IN_CAP && c->out_len < OUT_HIGH)
        ev |= EPOLLIN;
    if (c->out_len > c->out_off)
        ev |= EPOLLOUT;
    if (ev != c->events) {
        struct epoll_event e = {.events = ev, .data.ptr = c};
        epoll_ctl(sv->ep, EPOLL_CTL_MOD, c->fd, &e);
        c->events = ev;
    }
}

/* ---- the metasrv side (--meta) ---- */

/* The pruner's view of a region: every entry <= the id its snapshot covers is outside the WAL. */
static void heartbeat(server *sv, const rd_region *r)
{
    if (!sv->meta)
        return;
    uint64_t flushed = r->flushed_next ? r->flushed_next - 1 : KW_META_NONE;
    uint64_t latest = r->has_applied ? r->applied_id : KW_META_NONE;
    if (kw_meta_heartbeat(sv->meta, r->id, flushed, latest) < 0)
        fprintf(stderr, "regiond: %s\n", kw_meta_errstr(sv->meta));
}

static void heartbeat_all(server *sv)
{
    RD_STORE_FOREACH(&sv->store, r)
    {
        heartbeat(sv, r);
    }
    sv->heartbeat_us = now_us();
}

/*
 * The pruner's flush request: the region keeps too much of its topic (flush_trigger_size). It
 * comes on the pruning round's thread, which must not wait for a snapshot: queue it for the main
 * loop, woken like a WAL completion. A full queue drops the request; the next round asks again.
 */
static void pruner_asks_flush(void *arg, uint64_t region_id, uint64_t flushed_id,
                              uint64_t bytes_behind)
{
    server *sv = arg;
    pthread_mutex_lock(&sv->mu);
    if (sv->nflush_asked < sizeof(sv->flush_asked) / sizeof(sv->flush_asked[0]))
        sv->flush_asked[sv->nflush_asked++] = region_id;
    pthread_mutex_unlock(&sv->mu);
    uint64_t one = 1;
    ssize_t k = write(sv->efd, &one, sizeof(one));
    (void)k;
    (void)flushed_id;
    (void)bytes_behind;
}

/* Gives the WAL the region's topic from the allocator (persisted: the same one after a restart). */
static int region_topic_named(server *sv, uint64_t region, char *topic, size_t cap, char *err,
                              size_t errlen)
{
    if (!sv->meta)
        return 0;
    int rc = kw_meta_region_topic(sv->meta, region, topic, cap);
    if (rc < 0) {
        snprintf(err, errlen, "%s", kw_meta_errstr(sv->meta));
        return -1;
    }
    rc = kw_wal_set_region_topic(sv->wal, region, topic);
    if (rc < 0) {
        /* cut to fit, if it must: the return value is looked at so gcc does not warn */
        if (snprintf(err, errlen, "region %" PRIu64 " topic %s: %s", region, topic,
                     kw_wal_errstr(sv->wal)) >= (int)errlen)
            err[errlen - 1] = '\0';
        return -1;
    }
    return 0;
}

static int region_topic(server *sv, uint64_t region, char *err, size_t errlen)
{
    char topic[256];
    return region_topic_named(sv, region, topic, sizeof(topic), err, errlen);
}

/* ---- commands ---- */

static void do_flush(server *sv, rd_region *r, char *err, size_t errlen, int *rc)
{
    *rc = rd_region_flush(&sv->store, r, err, errlen);
    if (*rc < 0)
        return;
    sv->flushes++;
    /* The snapshot (renamed, directory fsynced) now holds every entry <= applied_id: the WAL
     * may drop them. */
    if (r->has_applied) {
        int w = kw_wal_obsolete(sv->wal, r->id, r->applied_id);
        if (w < 0)
            fprintf(stderr, "regiond: obsolete region %" PRIu64 ": %s\n", r->id,
                    kw_wal_errstr(sv->wal));
    }
    heartbeat(sv, r);
}

static void wal_done(void *arg, int err, uint64_t entry_id, const char *detail)
{
    put_req *p = arg;
    server *sv = p->sv;
    p->err = err;
    p->entry_id = entry_id;
    p->next = NULL;
    pthread_mutex_lock(&sv->mu);
    *sv->done_tail = p;
    sv->done_tail = &p->next;
    pthread_mutex_unlock(&sv->mu);
    uint64_t one = 1;
    ssize_t k = write(sv->efd, &one, sizeof(one));
    (void)k; /* the counter cannot overflow here; a failed write still leaves it readable */
}

static void do_put(server *sv, conn *c, const rd_cmd *cmd)
{
    uint64_t slot_no = c->tail++;
    rd_region *r = rd_store_find(&sv->store, cmd->region);
    char err[256];
    /* the topic first: a region's snapshot file means "replay me", and replay needs the topic */
    if (!r && (region_topic(sv, cmd->region, err, sizeof(err)) < 0 ||
               rd_store_create(&sv->store, cmd->region, &r, err, sizeof(err)) < 0)) {
        reply(c, slot_no, "ERR %s", err);
        return;
    }
    size_t n = rd_payload_encode(sv->payload, sizeof(sv->payload), cmd->key, cmd->klen, cmd->value,
                                 cmd->vlen);
    put_req *p = malloc(sizeof(*p) + cmd->klen + cmd->vlen);
    if (!n || !p) {
        free(p);
        reply(c, slot_no, "ERR out of memory");
        return;
    }
    p->next = NULL;
    p->sv = sv;
    p->c = c;
    p->slot = slot_no;
    p->region = cmd->region;
    p->klen = (uint32_t)cmd->klen;
    p->vlen = (uint32_t)cmd->vlen;
    memcpy(p->kv, cmd->key, cmd->klen);
    memcpy(p->kv + cmd->klen, cmd->value, cmd->vlen);
    c->inflight++;
    sv->inflight++;
    sv->puts++;
    int rc = kw_wal_append(sv->wal, cmd->region, sv->payload, n, wal_done, p);
    if (rc < 0) {
        c->inflight--;
        sv->inflight--;
        sv->put_errors++;
        free(p);
        reply(c, slot_no, "ERR wal: %s", kw_strerror(rc));
    }
}

static void do_stats(server *sv, conn *c)
{
    size_t keys = 0;
    RD_STORE_FOREACH(&sv->store, r)
    {
        keys += r->nkeys;
    }
    kw_wal_stats ws;
    kw_wal_stats_get(sv->wal, &ws);
    REPLY_NOW(c,
              "STATS regions=%zu keys=%zu puts=%" PRIu64 " acked=%" PRIu64 " errors=%" PRIu64
              " inflight=%" PRIu64 " flushes=%" PRIu64 " replayed=%" PRIu64 " wal_batches=%" PRIu64,
              sv->store.nregions, keys, sv->puts, sv->acked, sv->put_errors, sv->inflight,
              sv->flushes, sv->replayed, ws.batches);
}

/* Runs one line; false when the connection must stop parsing for now (wait for its puts). */
static bool run_line(server *sv, conn *c, const char *line, size_t len)
{
    rd_cmd cmd;
    const char *why;
    if (rd_cmd_parse(line, len, &cmd, &why) < 0) {
        sv->bad_lines++;
        REPLY_NOW(c, "ERR %s", why);
        return true;
    }
    if (cmd.kind == RD_CMD_PUT) {
        do_put(sv, c, &cmd);
        return true;
    }
    /* every other command sees the effect of the puts sent before it on this connection */
    if (c->inflight > 0)
        return false;
    switch (cmd.kind) {
    case RD_CMD_GET: {
        rd_region *r = rd_store_find(&sv->store, cmd.region);
        size_t vlen;
        const char *v = r ? rd_region_get(r, cmd.key, cmd.klen, &vlen) : NULL;
        if (!v) {
            REPLY_NOW(c, "NOTFOUND");
        } else {
            /* a value may be far longer than a slot: the ring is empty here, write it directly */
            ring_drain(c);
            if (out_append(c, "VALUE ", 6) < 0 || out_append(c, v, vlen) < 0 ||
                out_append(c, "\n", 1) < 0)
                REPLY_NOW(c, "ERR out of memory");
        }
        break;
    }
    case RD_CMD_FLUSH: {
        rd_region *r = rd_store_find(&sv->store, cmd.region);
        char err[256];
        int rc;
        if (!r) {
            REPLY_NOW(c, "ERR unknown region %" PRIu64, cmd.region);
            break;
        }
        do_flush(sv, r, err, sizeof(err), &rc);
        if (rc < 0)
            REPLY_NOW(c, "ERR %s", err);
        else if (r->has_applied)
            REPLY_NOW(c, "OK %" PRIu64, r->applied_id);
        else
            REPLY_NOW(c, "OK none");
        break;
    }
    case RD_CMD_STATS:
        do_stats(sv, c);
        break;
    case RD_CMD_QUIT:
        REPLY_NOW(c, "BYE");
        c->quitting = true;
        break;
    case RD_CMD_PRUNE: {
        /* One pruning round, on this thread: it blocks the server for a ListOffsets and a
         * DeleteRecords per topic (a test and demo command; the timer rounds run on their own). */
        kw_meta_prune_stats ps;
        if (!sv->meta)
            REPLY_NOW(c, "ERR PRUNE needs --meta");
        else if (kw_meta_prune_now(sv->meta, false, &ps) < 0)
            REPLY_NOW(c, "ERR %s", kw_meta_errstr(sv->meta));
        else
            REPLY_NOW(c, "OK %" PRIu64 " topics=%u pruned=%u skipped=%u failed=%u",
                      ps.offsets_deleted, ps.topics, ps.pruned, ps.skipped, ps.failed);
        break;
    }
    }
    return true;
}

/* No room for another reply: the ring is full, or the client is not reading its replies. */
static bool conn_full(const conn *c)
{
    return c->tail - c->head >= SLOTS || c->out_len >= OUT_HIGH;
}

/*
 * Parses and runs the complete lines buffered on a connection, as far as it may go now.
 * True when it stopped for lack of room for replies (conn_full) with input left.
 */
static bool conn_process(server *sv, conn *c)
{
    size_t off = 0;
    bool stalled = false;
    while (!c->dead && !c->quitting && off < c->in_len) {
        if (conn_full(c)) {
            stalled = true;
            break;
        }
        char *nl = memchr(c->in + off, '\n', c->in_len - off);
        if (c->discarding) {
            if (!nl) {
                off = c->in_len;
                break;
            }
            c->discarding = false;
            off = (size_t)(nl - c->in) + 1;
            continue;
        }
        if (!nl) {
            if (c->in_len - off >= IN_CAP - 1) {
                sv->bad_lines++;
                REPLY_NOW(c, "ERR line too long (limit %d bytes)", RD_MAX_LINE);
                c->discarding = true;
                off = c->in_len;
            }
            break;
        }
        size_t len = (size_t)(nl - (c->in + off));
        if (!run_line(sv, c, c->in + off, len))
            break;
        off += len + 1;
    }
    if (off) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
    ring_drain(c);
    return stalled;
}

static void conn_write(server *sv, conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t k = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            conn_close(sv, c);
            return;
        }
        c->out_off += (size_t)k;
    }
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
}

/* After any change: writes, closes when finished, fixes epoll interest. */
static void conn_settle(server *sv, conn *c)
{
    /* Parse, then write; when writing made room for replies, the input that waited for room
     * is parsed at once: with the input buffer full and the output empty, no epoll event would
     * come to wake this connection. A round that repeats has room, so it consumes a line. */
    for (;;) {
        if (c->dead)
            return;
        bool stalled = conn_process(sv, c);
        conn_write(sv, c);
        if (c->dead)
            return;
        if (!stalled || conn_full(c))
            break; /* done, or waiting for puts in flight / for the client to read */
    }
    bool idle = c->inflight == 0 && c->head == c->tail && c->out_len == 0;
    if ((c->quitting || (c->rd_eof && c->in_len == 0) || (c->rd_eof && c->discarding)) && idle) {
        conn_close(sv, c);
        return;
    }
    if (c->rd_eof && idle && c->in_len > 0) {
        /* an unterminated last line: answer it as if it had its newline */
        if (run_line(sv, c, c->in, c->in_len)) {
            c->in_len = 0;
            ring_drain(c);
            conn_write(sv, c);
            if (c->dead)
                return;
        }
    }
    conn_update_events(sv, c);
}

static void conn_read(server *sv, conn *c)
{
    while (c->in_len < IN_CAP) {
        ssize_t k = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, 0);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            conn_close(sv, c);
            return;
        }
        if (k == 0) {
            c->rd_eof = true;
            break;
        }
        c->in_len += (size_t)k;
        if (c->in_len < IN_CAP)
            break; /* parse what came before reading more */
    }
    conn_settle(sv, c);
}

static void do_accept(server *sv)
{
    for (;;) {
        int fd = accept4(sv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR)
                fprintf(stderr, "regiond: accept: %s\n", strerror(errno));
            return;
        }
        conn *c = calloc(1, sizeof(*c));
        if (c) {
            c->ring = calloc(SLOTS, sizeof(*c->ring));
            c->in = malloc(IN_CAP);
        }
        if (sv->nconns >= MAX_CONNS || !c || !c->ring || !c->in) {
            const char *msg = "ERR too many connections\n";
            ssize_t k = send(fd, msg, strlen(msg), MSG_NOSIGNAL);
            (void)k;
            close(fd);
            if (c) {
                free(c->ring);
                free(c->in);
                free(c);
            }
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c->fd = fd;
        c->events = EPOLLIN;
        c->next = sv->conns;
        if (sv->conns)
            sv->conns->prev = c;
        sv->conns = c;
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(sv->ep, EPOLL_CTL_ADD, fd, &e);
        sv->nconns++;
    }
}

/* Takes the durable (or failed) puts from the WAL threads: apply, reply, maybe flush. */
static void take_completions(server *sv)
{
    uint64_t cnt;
    ssize_t k = read(sv->efd, &cnt, sizeof(cnt));
    (void)k;
    pthread_mutex_lock(&sv->mu);
    put_req *p = sv->done_head;
    sv->done_head = NULL;
    sv->done_tail = &sv->done_head;
    uint64_t asked[sizeof(sv->flush_asked) / sizeof(sv->flush_asked[0])];
    size_t nasked = sv->nflush_asked;
    memcpy(asked, sv->flush_asked, nasked * sizeof(asked[0]));
    sv->nflush_asked = 0;
    pthread_mutex_unlock(&sv->mu);
    for (size_t i = 0; i < nasked; i++) {
        rd_region *r = rd_store_find(&sv->store, asked[i]);
        char e[256];
        int rc;
        if (!r)
            continue;
        do_flush(sv, r, e, sizeof(e), &rc);
        if (rc < 0)
            fprintf(stderr, "regiond: flush asked by the pruner: %s\n", e);
    }
    conn *touched = NULL;
    while (p) {
        put_req *next = p->next;
        conn *c = p->c;
        sv->inflight--;
        rd_region *r = rd_store_find(&sv->store, p->region);
        int err = p->err;
        if (err == 0 && r && rd_region_put(r, p->kv, p->klen, p->kv + p->klen, p->vlen) < 0)
            err = KW_ENOMEM;
        if (err == 0 && r) {
            r->has_applied = true;
            r->applied_id = p->entry_id;
            r->puts_since_flush++;
            sv->acked++;
        } else {
            sv->put_errors++;
        }
        if (!c->dead) {
            if (err == 0)
                reply(c, p->slot, "OK %" PRIu64, p->entry_id);
            else
                reply(c, p->slot, "ERR wal: %s", kw_strerror(err));
        }
        c->inflight--;
        if (!c->dead && !c->touched) {
            c->touched = true;
            c->touch_next = touched;
            touched = c;
        }
        if (r && sv->flush_every && r->puts_since_flush >= sv->flush_every) {
            char e[256];
            int rc;
            do_flush(sv, r, e, sizeof(e), &rc);
            if (rc < 0)
                fprintf(stderr, "regiond: %s\n", e);
        }
        free(p);
        p = next;
    }
    /* once per connection and batch: send the replies, resume input that waited on these puts */
    while (touched) {
        conn *c = touched;
        touched = c->touch_next;
        c->touched = false;
        conn_settle(sv, c);
    }
}

/* ---- start-up ---- */

/* A region to replay: where from, and its topic (regions of one topic replay together). */
typedef struct replay_want {
    uint64_t id, from;
    char topic[256];
} replay_want;

static int want_cmp(const void *a, const void *b)
{
    const replay_want *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->id > y->id) - (x->id < y->id);
}

/* Replays the regions of one topic in one pass over it; -1 on failure (said on stderr). */
static int replay_group(server *sv, const replay_want *w, size_t n, size_t *entries)
{
    uint64_t *ids = calloc(n, sizeof(*ids)), *froms = calloc(n, sizeof(*froms));
    kw_wal_replay *it = NULL;
    int rc = ids && froms ? 0 : KW_ENOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        ids[i] = w[i].id;
        froms[i] = w[i].from;
    }
    if (!rc)
        rc = kw_wal_replay_open_regions(sv->wal, ids, froms, n, 0, &it);
    free(ids);
    free(froms);
    if (rc < 0) {
        fprintf(stderr, "regiond: replay of %zu regions from region %" PRIu64 " on: %s\n", n,
                w[0].id, kw_wal_errstr(sv->wal));
        return -1;
    }
    for (;;) {
        uint64_t region, id;
        const uint8_t *data;
        size_t len;
        const char *k, *v;
        size_t kl, vl;
        rc = kw_wal_replay_next_region(it, &region, &id, &data, &len, 30000);
        if (rc <= 0)
            break;
        rd_region *r = rd_store_find(&sv->store, region);
        if (!r)
            continue; /* cannot happen: only the regions asked for come back */
        if (rd_payload_decode(data, len, &k, &kl, &v, &vl) < 0) {
            fprintf(stderr, "regiond: region %" PRIu64 " entry %" PRIu64 ": not a put, skipped\n",
                    region, id);
            continue;
        }
        if (rd_region_put(r, k, kl, v, vl) < 0) {
            rc = KW_ENOMEM;
            break;
        }
        r->has_applied = true;
        r->applied_id = id;
        r->puts_since_flush++;
        (*entries)++;
    }
    if (rc < 0) {
        fprintf(stderr, "regiond: replay: %s\n",
                rc == KW_ENOMEM ? "out of memory" : kw_wal_replay_errstr(it));
        kw_wal_replay_close(it);
        return -1;
    }
    kw_wal_replay_close(it);
    return 0;
}

/* Replays every region with a snapshot, one pass per WAL topic (all regions at once locally). */
static int replay_regions(server *sv, size_t *entries)
{
    if (sv->store.nregions == 0)
        return 0;
    replay_want *w = calloc(sv->store.nregions, sizeof(*w));
    if (!w) {
        fprintf(stderr, "regiond: replay: out of memory\n");
        return -1;
    }
    size_t n = 0;
    int rc = 0;
    RD_STORE_FOREACH(&sv->store, r)
    {
        char err[512];
        uint64_t pruned_from;
        if (rc < 0)
            break;
        w[n].id = r->id;
        w[n].from = r->flushed_next;
        if (region_topic_named(sv, r->id, w[n].topic, sizeof(w[n].topic), err, sizeof(err)) < 0) {
            fprintf(stderr, "regiond: replay region %" PRIu64 ": %s\n", r->id, err);
            rc = -1;
            break;
        }
        /* The pruner's start is past records it deleted; the snapshot's is past what it holds. */
        if (sv->meta && kw_meta_replay_start(sv->meta, r->id, &pruned_from) == 0 &&
            pruned_from > w[n].from)
            w[n].from = pruned_from;
        n++;
    }
    qsort(w, n, sizeof(*w), want_cmp);
    for (size_t i = 0, j; rc == 0 && i < n; i = j) {
        for (j = i + 1; j < n && strcmp(w[j].topic, w[i].topic) == 0;)
            j++;
        rc = replay_group(sv, w + i, j - i, entries);
    }
    free(w);
    return rc;
}

/* The port of "127.0.0.1:PORT", or -1: regiond listens on loopback only. */
static long listen_port(const char *spec)
{
    char *end;
    if (strncmp(spec, "127.0.0.1:", 10) != 0)
        return -1;
    long port = strtol(spec + 10, &end, 10);
    if (*end || end == spec + 10 || port < 0 || port > 65535)
        return -1;
    return port;
}

static int listen_on(const char *spec)
{
    long port = listen_port(spec);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(a);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        fprintf(stderr, "regiond: listen %s: %s\n", spec, strerror(errno));
        close(fd);
        return -1;
    }
    say("listening 127.0.0.1:%u", ntohs(a.sin_port));
    return fd;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: regiond (-c CONFIG | --dir DIR) [--listen 127.0.0.1:PORT] [--data DIR]\n"
            "               [--flush-every N] [--meta DIR] [--host-driven]\n"
            "  -c CONFIG        open the WAL from the [wal] section of a TOML file\n"
            "  --dir DIR        local WAL in DIR/wal, snapshots in DIR/regions\n"
            "  --listen ADDR    127.0.0.1:PORT; port 0 picks one (default 127.0.0.1:7070)\n"
            "  --data DIR       snapshot directory (needed with -c)\n"
            "  --flush-every N  snapshot a region after N puts (0 = only on FLUSH; default 10000)\n"
            "  --host-driven    (with -c, kafka) no WAL thread: regiond's epoll loop runs the\n"
            "                   WAL's client through kw_wal_backend_fd / kw_wal_run_once\n"
            "  --meta DIR       (with -c, kafka) run the allocator and the pruner, state in DIR:\n"
            "                   topics {topic_name_prefix}_{0..num_topics-1}, one per region\n"
            "exit status: 0 after SIGINT/SIGTERM, 1 on errors, 2 on bad usage, 3 when this\n"
            "kwal build lacks the provider the config asks for\n"
            "protocol: PUT <region> <key> <value> | GET <region> <key> | FLUSH <region> | STATS | "
            "QUIT | PRUNE\n");
}

static void serve(server *sv)
{
    struct epoll_event evs[64];
    while (!sv->stopping) {
        if (sv->meta && now_us() - sv->heartbeat_us >= HEARTBEAT_MS * 1000u)
            heartbeat_all(sv);
        int wait_ms = sv->meta ? HEARTBEAT_MS : -1;
        if (sv->host_driven) { /* the WAL's timers (retries, deadlines) bound the wait too */
            int t = kw_wal_timeout_ms(sv->wal);
            if (t >= 0 && (wait_ms < 0 || t < wait_ms))
                wait_ms = t;
        }
        int n = epoll_wait(sv->ep, evs, 64, wait_ms);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "regiond: epoll_wait: %s\n", strerror(errno));
            return;
        }
        for (int i = 0; i < n; i++) {
            void *tag = evs[i].data.ptr;
            if (tag == &sv->lfd) {
                do_accept(sv);
            } else if (tag == &sv->wfd) {
                continue; /* run below, once per round */
            } else if (tag == &sv->efd) {
                take_completions(sv);
            } else if (tag == &sv->sfd) {
                struct signalfd_siginfo si;
                ssize_t k = read(sv->sfd, &si, sizeof(si));
                (void)k;
                sv->stopping = true;
            } else {
                conn *c = tag;
                if (c->dead)
                    continue;
                if (evs[i].events & (EPOLLERR | EPOLLHUP) && !(evs[i].events & EPOLLIN)) {
                    conn_close(sv, c);
                    continue;
                }
                if (evs[i].events & EPOLLIN)
                    conn_read(sv, c);
                else
                    conn_settle(sv, c);
            }
        }
        /* Host-driven: one round of the WAL's loop; append callbacks run in it (they post
         * to efd, read on the next round). */
        if (sv->host_driven) {
            int rc = kw_wal_run_once(sv->wal, 0);
            if (rc < 0)
                fprintf(stderr, "regiond: kw_wal_run_once: %s\n", kw_strerror(rc));
        }
        conn_reap(sv);
    }
}

int main(int argc, char **argv)
{
    const char *config = NULL, *dir = NULL, *data = NULL, *listen_addr = "127.0.0.1:7070";
    const char *meta_dir = NULL;
    bool host_driven = false;
    long long flush_every = 10000;
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"dir", required_argument, NULL, 'd'},
                                             {"listen", required_argument, NULL, 'l'},
                                             {"data", required_argument, NULL, 'D'},
                                             {"flush-every", required_argument, NULL, 'f'},
                                             {"meta", required_argument, NULL, 'm'},
                                             {"host-driven", no_argument, NULL, 'H'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 'c':
            config = optarg;
            break;
        case 'd':
            dir = optarg;
            break;
        case 'l':
            listen_addr = optarg;
            break;
        case 'D':
            data = optarg;
            break;
        case 'f':
            flush_every = strtoll(optarg, &end, 10);
            if (*end || end == optarg || flush_every < 0) {
                fprintf(stderr, "regiond: --flush-every takes a number >= 0\n");
                return 2;
            }
            break;
        case 'm':
            meta_dir = optarg;
            break;
        case 'H':
            host_driven = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || !config == !dir || (config && !data) || (meta_dir && !config)) {
        usage(stderr);
        return 2;
    }
    if (listen_port(listen_addr) < 0) {
        fprintf(stderr, "regiond: --listen takes 127.0.0.1:PORT (loopback only)\n");
        return 2;
    }

    /* Block SIGINT/SIGTERM before kwal starts its threads (they inherit the mask): the main
     * loop takes them from a signalfd and stops in order. */
    signal(SIGPIPE, SIG_IGN);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);

    static server sv;
    sv.flush_every = (uint64_t)flush_every;
    sv.host_driven = host_driven;
    sv.done_tail = &sv.done_head;
    pthread_mutex_init(&sv.mu, NULL);
    /* before the WAL and the pruner start: their threads wake the main loop through it */
    sv.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (sv.efd < 0) {
        fprintf(stderr, "regiond: eventfd: %s\n", strerror(errno));
        return 1;
    }
    char err[512];
    char walpath[4096], datapath[4096];
    int rc;
    uint64_t t0 = now_us();
    if (dir) {
        snprintf(walpath, sizeof(walpath), "%s/wal", dir);
        if (!data) {
            snprintf(datapath, sizeof(datapath), "%s/regions", dir);
            data = datapath;
        }
        if ((mkdir(dir, 0755) < 0 && errno != EEXIST) ||
            (mkdir(walpath, 0755) < 0 && errno != EEXIST)) {
            fprintf(stderr, "regiond: mkdir %s: %s\n", walpath, strerror(errno));
            return 1;
        }
        kw_wal_options o = {.provider = KW_WAL_PROVIDER_LOCAL, .dir = walpath, .log = wal_log};
        rc = kw_wal_open(&sv.wal, &o, err, sizeof(err));
    } else if (sv.host_driven) {
        /* The config's options, with the WAL's client run by serve() instead of a thread. */
        kw_wal_config *cfg = NULL;
        rc = kw_wal_config_load(&cfg, config, err, sizeof(err));
        if (rc == 0) {
            kw_wal_options *o = kw_wal_config_options(cfg);
            o->kafka.host_driven = true;
            o->log = wal_log;
            rc = kw_wal_open(&sv.wal, o, err, sizeof(err));
        }
        kw_wal_config_free(cfg);
        if (rc == 0 && kw_wal_backend_fd(sv.wal) < 0) {
            snprintf(err, sizeof(err), "--host-driven needs the kafka provider");
            kw_wal_close(sv.wal);
            rc = KW_EINVAL;
        }
    } else {
        rc = kw_wal_open_config(&sv.wal, config, err, sizeof(err));
    }
    if (rc < 0) {
        fprintf(stderr, "regiond: open wal: %s\n", err);
        return rc == KW_EUNSUPPORTED ? 3
                                     : 1; /* 3: this kwal build lacks what the config asks for */
    }
    if (meta_dir) {
        kw_meta_options mo = {.config_path = config,
                              .store_dir = meta_dir,
                              .flush = pruner_asks_flush,
                              .flush_arg = &sv,
                              .log = meta_log};
        rc = kw_meta_open(&sv.meta, &mo, err, sizeof(err));
        if (rc == 0 && (rc = kw_meta_prepare_topics(sv.meta)) < 0)
            snprintf(err, sizeof(err), "%s", kw_meta_errstr(sv.meta));
        if (rc < 0) {
            fprintf(stderr, "regiond: meta: %s\n", err);
            kw_meta_close(sv.meta);
            kw_wal_close(sv.wal);
            return 1;
        }
    }
    size_t loaded = 0, replayed = 0;
    if (rd_store_open(&sv.store, data, err, sizeof(err)) < 0 ||
        rd_store_load_all(&sv.store, &loaded, err, sizeof(err)) < 0) {
        fprintf(stderr, "regiond: %s\n", err);
        kw_meta_close(sv.meta);
        kw_wal_close(sv.wal);
        return 1;
    }
    if (replay_regions(&sv, &replayed) < 0) {
        rd_store_close(&sv.store);
        kw_meta_close(sv.meta);
        kw_wal_close(sv.wal);
        return 1;
    }
    sv.replayed = replayed;
    say("recovered %zu regions, %zu entries replayed in %.1f ms", sv.store.nregions, replayed,
        (double)(now_us() - t0) / 1000.0);

    sv.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    sv.ep = epoll_create1(EPOLL_CLOEXEC);
    sv.lfd = listen_on(listen_addr);
    if (sv.sfd < 0 || sv.efd < 0 || sv.ep < 0 || sv.lfd < 0) {
        rd_store_close(&sv.store);
        kw_meta_close(sv.meta);
        kw_wal_close(sv.wal);
        return 1;
    }
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = &sv.lfd};
    epoll_ctl(sv.ep, EPOLL_CTL_ADD, sv.lfd, &e);
    e.data.ptr = &sv.efd;
    epoll_ctl(sv.ep, EPOLL_CTL_ADD, sv.efd, &e);
    e.data.ptr = &sv.sfd;
    epoll_ctl(sv.ep, EPOLL_CTL_ADD, sv.sfd, &e);
    if (sv.host_driven) {
        sv.wfd = kw_wal_backend_fd(sv.wal);
        e.data.ptr = &sv.wfd;
        epoll_ctl(sv.ep, EPOLL_CTL_ADD, sv.wfd, &e);
    }

    serve(&sv);

    /* Orderly stop: the WAL finishes (or fails) what is in flight; the replies have nowhere to
     * go, but the durable puts stay in the WAL for the next start. */
    close(sv.lfd);
    kw_wal_close(sv.wal);
    sv.wal = NULL;
    kw_meta_close(sv.meta);
    sv.meta = NULL;
    put_req *p = sv.done_head;
    while (p) {
        put_req *next = p->next;
        free(p);
        p = next;
    }
    while (sv.conns) {
        conn *c = sv.conns;
        if (!c->dead)
            close(c->fd);
        conn_free(&sv, c);
    }
    say("stopped: %" PRIu64 " puts acknowledged", sv.acked);
    rd_store_close(&sv.store);
    close(sv.ep);
    close(sv.efd);
    close(sv.sfd);
    return 0;
}
