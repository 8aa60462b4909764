/* src/net/conn against a scripted fake broker on a local socket: framing, deadlines, re-auth, close. */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../cred_http_server.h"
#include "net/conn.h"
#include "net/cred.h"
#include "proto/msg_admin.h"
#include "proto/msg_core.h"
#include "proto/msg_data.h"

/* ---- the fake broker: one connection, blocking I/O on its own thread ---- */

enum metadata_mode { MD_ANSWER, MD_SILENT, MD_WRONG_CORR, MD_HUGE, MD_HOLD3, MD_RESET };

typedef struct fake {
    int lfd, fd;
    uint16_t port;
    pthread_t thread;
    /* script */
    int api_versions_max; /* answer UNSUPPORTED_VERSION above this (-1: accept all) */
    int metadata_mode;
    int64_t session_lifetime_ms;
    /* what it saw */
    int api_versions_seen[4];
    atomic_int n_api_versions, n_handshakes, n_auths, n_metadata, n_produce;
    atomic_int interleaved; /* a non-SASL request between SaslHandshake and the auth's end */
    kw_wr held;             /* MD_HOLD3: replies kept back, written at once after the third */
    int nheld;
    atomic_int hold;        /* while set, the next frame is left unread past its size */
    int small_rcvbuf;       /* a few KiB of receive buffer: a big request fills the socket */
    atomic_int produce_bytes_ok; /* records of the last Produce: 1 matched the pattern, -1 not */
    atomic_int produce_records_len;
    char auths[8][512]; /* the first SaslAuthenticate payloads, NUL-terminated (\x01 kept) */
    atomic_int n_auth_saved;
} fake;

/* The byte at position i of the test's records: no period that a misplaced resume could hide in. */
static uint8_t pattern_byte(size_t i)
{
    return (uint8_t)(i * 2654435761u >> 13 ^ i >> 9);
}

static int read_all(int fd, void *p, size_t n)
{
    for (size_t o = 0; o < n;) {
        ssize_t r = read(fd, (uint8_t *)p + o, n - o);
        if (r <= 0)
            return -1;
        o += (size_t)r;
    }
    return 0;
}

static void reply(fake *f, int key, int ver, int32_t corr, const void *resp)
{
    if (key == KW_API_METADATA && f->metadata_mode == MD_HOLD3) {
        ck_assert_int_eq(kw__response_encode(&f->held, kw__api(key), ver, corr, resp), 0);
        if (++f->nheld == 3) {
            ck_assert_int_eq(write(f->fd, f->held.buf, f->held.len), (ssize_t)f->held.len);
            kw__wr_free(&f->held);
        }
        return;
    }
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__response_encode(&w, kw__api(key), ver, corr, resp), 0);
    ck_assert_int_eq(write(f->fd, w.buf, w.len), (ssize_t)w.len);
    kw__wr_free(&w);
}

static void answer_api_versions(fake *f, int ver, int32_t corr)
{
    int n = atomic_fetch_add(&f->n_api_versions, 1);
    if (n < 4)
        f->api_versions_seen[n] = ver;
    kw_api_versions_resp resp;
    size_t napis;
    const kw_api *const *apis = kw__apis(&napis);
    kw_api_versions_key keys[64];
    for (size_t i = 0; i < napis; i++)
        keys[i] = (kw_api_versions_key){apis[i]->key, apis[i]->vmin, apis[i]->vmax};
    if (f->api_versions_max >= 0 && ver > f->api_versions_max) {
        /* What a broker does with a version it does not know: error 35, v0 body. */
        kw__schema_init(kw__api(KW_API_API_VERSIONS)->resp, 0, &resp);
        resp.error_code = 35;
        kw_api_versions_key only = {KW_API_API_VERSIONS, 0, (int16_t)f->api_versions_max};
        resp.api_keys.v = &only;
        resp.api_keys.n = 1;
        reply(f, KW_API_API_VERSIONS, 0, corr, &resp);
        return;
    }
    kw__schema_init(kw__api(KW_API_API_VERSIONS)->resp, ver, &resp);
    resp.api_keys.v = keys;
    resp.api_keys.n = (int32_t)napis;
    reply(f, KW_API_API_VERSIONS, ver, corr, &resp);
}

static void *fake_main(void *arg)
{
    fake *f = arg;
    f->fd = accept(f->lfd, NULL, NULL);
    if (f->fd < 0)
        return NULL;
    bool in_sasl = false;
    static _Thread_local uint8_t reqbuf[4096] __attribute__((aligned(16)));
    for (;;) {
        uint8_t sz[4];
        if (read_all(f->fd, sz, 4))
            break;
        while (atomic_load(&f->hold))
            usleep(1000);
        uint32_t len = kw_load_be32(sz);
        uint8_t *frame = malloc(len);
        if (!frame || read_all(f->fd, frame, len)) {
            free(frame);
            break;
        }
        kw_arena a;
        kw__arena_init(&a, 1 << 20);
        kw_request_header h;
        const kw_api *api;
        int rc = kw__request_decode(frame, len, &a, &h, &api, reqbuf, sizeof(reqbuf));
        if (rc && h.api_key != KW_API_API_VERSIONS) {
            kw__arena_reset(&a);
            free(frame);
            break;
        }
        int32_t corr = h.correlation_id;
        int ver = h.api_version;
        if (in_sasl && h.api_key != KW_API_SASL_AUTHENTICATE)
            atomic_store(&f->interleaved, 1);
        switch (h.api_key) {
        case KW_API_API_VERSIONS:
            answer_api_versions(f, ver, corr);
            break;
        case KW_API_SASL_HANDSHAKE: {
            atomic_fetch_add(&f->n_handshakes, 1);
            in_sasl = true;
            kw_sasl_handshake_resp resp;
            kw__schema_init(api->resp, ver, &resp);
            kw_str mech = kw_str_c("PLAIN");
            resp.mechanisms.v = &mech;
            resp.mechanisms.n = 1;
            reply(f, h.api_key, ver, corr, &resp);
            break;
        }
        case KW_API_SASL_AUTHENTICATE: {
            atomic_fetch_add(&f->n_auths, 1);
            in_sasl = false;
            {
                const kw_sasl_authenticate_req *q = (const kw_sasl_authenticate_req *)reqbuf;
                int k = atomic_load(&f->n_auth_saved);
                if (k < 8 && q->auth_bytes.len >= 0) {
                    size_t n = (size_t)q->auth_bytes.len < 511 ? (size_t)q->auth_bytes.len : 511;
                    memcpy(f->auths[k], q->auth_bytes.ptr, n);
                    f->auths[k][n] = '\0';
                    atomic_store(&f->n_auth_saved, k + 1);
                }
            }
            kw_sasl_authenticate_resp resp;
            kw__schema_init(api->resp, ver, &resp);
            resp.auth_bytes = (kw_bytes){(const uint8_t *)"", 0};
            resp.session_lifetime_ms = f->session_lifetime_ms;
            reply(f, h.api_key, ver, corr, &resp);
            break;
        }
        case KW_API_PRODUCE: {
            atomic_fetch_add(&f->n_produce, 1); /* acks=0 in these tests: no answer */
            const kw_produce_req *p = (const kw_produce_req *)reqbuf;
            if (p->topic_data.n == 1 && p->topic_data.v[0].partition_data.n == 1) {
                kw_bytes rec = p->topic_data.v[0].partition_data.v[0].records;
                int ok = 1;
                for (int32_t i = 0; i < rec.len && ok; i++)
                    ok = rec.ptr[i] == pattern_byte((size_t)i);
                atomic_store(&f->produce_records_len, rec.len);
                atomic_store(&f->produce_bytes_ok, ok ? 1 : -1);
            }
            break;
        }
        case KW_API_METADATA: {
            atomic_fetch_add(&f->n_metadata, 1);
            if (f->metadata_mode == MD_SILENT)
                break;
            if (f->metadata_mode == MD_RESET) { /* close with a reset, not a FIN */
                struct linger lg = {.l_onoff = 1, .l_linger = 0};
                setsockopt(f->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
                close(f->fd);
                f->fd = -1;
                kw__arena_reset(&a);
                free(frame);
                return NULL;
            }
            if (f->metadata_mode == MD_HUGE) {
                uint8_t huge[8] = {0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0};
                kw_store_be32(huge + 4, (uint32_t)corr);
                ck_assert_int_eq(write(f->fd, huge, 8), 8);
                break;
            }
            kw_metadata_resp resp;
            kw__schema_init(api->resp, ver, &resp);
            resp.brokers.n = 0;
            resp.topics.n = 0;
            reply(f, h.api_key, ver, f->metadata_mode == MD_WRONG_CORR ? corr + 7 : corr, &resp);
            break;
        }
        default:
            break;
        }
        kw__arena_reset(&a);
        free(frame);
    }
    return NULL;
}

static void fake_start(fake *f)
{
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    f->fd = -1;
    if (f->small_rcvbuf) {
        int sz = 4096; /* set before listen: the accepted socket inherits it */
        ck_assert_int_eq(setsockopt(f->lfd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)), 0);
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(f->lfd, 4), 0);
    socklen_t al = sizeof(a);
    getsockname(f->lfd, (struct sockaddr *)&a, &al);
    f->port = ntohs(a.sin_port);
    ck_assert_int_eq(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

/* Call after the client side is closed: the fake sees EOF and ends. */
static void fake_stop(fake *f)
{
    shutdown(f->lfd, SHUT_RDWR);
    pthread_join(f->thread, NULL);
    if (f->fd >= 0)
        close(f->fd);
    close(f->lfd);
}

/* ---- the client side ---- */

static kw_loop *loop;

typedef struct watch {
    int ready, closed, err;
    char detail[512];
} watch;

static void on_state(kw_conn *c, int state, int err, const char *detail, void *arg)
{
    watch *w = arg;
    (void)c;
    if (state == KW_CONN_READY) {
        w->ready++;
    } else {
        w->closed++;
        w->err = err;
        snprintf(w->detail, sizeof(w->detail), "%s", detail);
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool run_until(const int *flag, uint64_t ms)
{
    uint64_t end = now_ms() + ms;
    while (!*flag && now_ms() < end)
        ck_assert_int_ge(kw__loop_run_once(loop, 10), 0);
    return *flag != 0;
}

typedef struct res {
    int done, err, calls;
    bool had_frame;
    int order;
} res;

static int completions;

static void on_resp(int err, const uint8_t *frame, size_t len, int version, void *arg)
{
    res *r = arg;
    r->done = 1;
    r->calls++;
    r->err = err;
    r->had_frame = frame != NULL;
    r->order = completions++;
    (void)len;
    (void)version;
}

static kw_conn *connect_fake(fake *f, watch *w, kw_conn_options *o)
{
    o->host = "127.0.0.1";
    o->port = f->port;
    o->on_state = on_state;
    o->state_arg = w;
    if (!o->connect_timeout_ms)
        o->connect_timeout_ms = 3000;
    kw_conn *c;
    ck_assert_int_eq(kw__conn_new(&c, loop, o), 0);
    run_until(&w->ready, 5000);
    return c;
}

static int send_metadata(kw_conn *c, uint64_t deadline_ms, res *r)
{
    kw_metadata_req req;
    kw__schema_init(kw__api(KW_API_METADATA)->req, 12, &req);
    req.topics.n = 0;
    return kw__conn_send(c, KW_API_METADATA, kw__conn_ready(c) ? -1 : 12, &req,
                         (now_ms() + deadline_ms) * 1000000u, on_resp, r);
}

static void setup(void)
{
    ck_assert_int_eq(kw__loop_new(&loop), 0);
    completions = 0;
}

static void teardown(void)
{
    kw__loop_free(loop);
}

START_TEST(unsupported_api_versions_is_retried_at_the_listed_version)
{
    fake f = {.api_versions_max = 2};
    fake_start(&f);
    watch w = {0};
    kw_conn_options o = {0};
    kw_conn *c = connect_fake(&f, &w, &o);
    ck_assert_msg(w.ready == 1, "%s", w.detail);
    ck_assert_int_eq(atomic_load(&f.n_api_versions), 2);
    ck_assert_int_eq(f.api_versions_seen[0], kw__api(KW_API_API_VERSIONS)->vmax);
    ck_assert_int_eq(f.api_versions_seen[1], 2);
    ck_assert_int_eq(kw__conn_versions(c)->v[KW_API_METADATA], kw__api(KW_API_METADATA)->vmax);
    kw__conn_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(in_flight_request_past_its_deadline_closes_the_connection)
{
    fake f = {.api_versions_max = -1, .metadata_mode = MD_SILENT};
    fake_start(&f);
    watch w = {0};
    kw_conn_options o = {0};
    kw_conn *c = connect_fake(&f, &w, &o);
    ck_assert_msg(w.ready == 1, "%s", w.detail);
    res a = {0}, b = {0};
    uint64_t t0 = now_ms();
    ck_assert_int_eq(send_metadata(c, 200, &a), 0);
    ck_assert_int_eq(send_metadata(c, 5000, &b), 0);
    ck_assert(run_until(&a.done, 2000));
    uint64_t took = now_ms() - t0;
    ck_assert_int_eq(a.err, KW_ETIMEDOUT);
    ck_assert_msg(took >= 195 && took < 300, "took %llu ms", (unsigned long long)took);
    /* the other request fails at once, retriably, and the connection is gone */
    ck_assert_int_eq(b.calls, 1);
    ck_assert_int_eq(b.err, KW_EIO);
    ck_assert_int_eq(w.closed, 1);
    ck_assert_int_eq(w.err, KW_ETIMEDOUT);
    ck_assert_msg(strstr(w.detail, "passed its deadline after it was sent"), "%s", w.detail);
    ck_assert_int_eq(a.calls, 1);
    kw__conn_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(queued_request_past_its_deadline_fails_alone)
{
    fake f = {.api_versions_max = -1, .metadata_mode = MD_SILENT};
    fake_start(&f);
    watch w = {0};
    kw_conn_options o = {.max_in_flight = 1};
    kw_conn *c = connect_fake(&f, &w, &o);
    ck_assert_msg(w.ready == 1, "%s", w.detail);
    res a = {0}, b = {0};
    ck_assert_int_eq(send_metadata(c, 2000, &a), 0);
    ck_assert_int_eq(send_metadata(c, 100, &b), 0); /* waits behind a: never on the wire */
    ck_assert_int_eq(kw__conn_queued(c), 1);
    ck_assert(run_until(&b.done, 1000));
    ck_assert_int_eq(b.err, KW_ETIMEDOUT);
    ck_assert_int_eq(a.done, 0);
    ck_assert_int_eq(w.closed, 0);
    ck_assert(kw__conn_ready(c));
    kw__conn_free(c);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.err, KW_ECLOSED);
    fake_stop(&f);
}
END_TEST

START_TEST(correlation_id_mismatch_closes_the_connection)
{
    fake f = {.api_versions_max = -1, .metadata_mode = MD_WRONG_CORR};
    fake_start(&f);
    watch w = {0};
    kw_conn_options o = {0};
    kw_conn *c = connect_fake(&f, &w, &o);
    res a = {0};
    ck_assert_int_eq(send_metadata(c, 2000, &a), 0);
    ck_assert(run_until(&w.closed, 2000));
    ck_assert_int_eq(w.err, KW_EMALFORMED);
    ck_assert_msg(strstr(w.detail, "correlation id mismatch"), "%s", w.detail);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.err, KW_EIO);
    kw__conn_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(frame_over_the_limit_is_an_error_not_an_allocation)
{
    fake f = {.api_versions_max = -1, .metadata_mode = MD_HUGE};
    fake_start(&f);
    watch w = {0};
    kw_conn_options o = {.max_frame_size = 1 << 20};
    kw_conn *c = connect_fake(&f, &w, &o);
    res a = {0};
    ck_assert_int_eq(send_metadata(c, 2000, &a), 0);
    ck_assert(run_until(&w.closed, 2000));
    ck_assert_int_eq(w.err, KW_ETOOBIG);
    ck_assert_msg(strstr(w.detail, "2147483647-byte response; the limit is 1048576"), "%s",
                  w.detail);
    ck_assert_int_eq(a.err, KW_EIO);
    kw__conn_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(close_fails_everything_pending_once_with_eclosed)
{
    fake f = {.api_versions_max = -1, .metadata_mode = MD_SILENT};
    fake_start(&f);
    watch w = {0};
    kw_conn_options o = {.max_in_flight = 2};
    kw_conn *c = connect_fake(&f, &w, &o);
    res r[5] = {{0}};
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(send_metadata(c, 5000, &r[i]), 0);
    for (int i = 0; i < 20; i++)
        kw__loop_run_once(loop, 5);
    kw__conn_close(c);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(r[i].calls, 1);
        ck_assert_int_eq(r[i].err, KW_ECLOSED);
        ck_assert_int_eq(r[i].order, i); /* in-flight first, then queued: send order */
    }
    ck_assert_int_eq(w.closed, 0);
    ck_assert_int_eq(send_metadata(c, 100, &r[0]), KW_ECLOSED);
    kw__conn_free(c);
    fake_stop(&f);
}
END_TEST

static void free_from_callback(int err, const uint8_t *frame, size_t len, int version, void *arg)
{
    kw_conn **cp = arg;
    (void)err, (void)frame, (void)len, (void)version;
    kw__conn_free(*cp);
    *cp = NULL;
}

START_TEST(free_inside_a_response_callback_is_safe)
{
    fake f = {.api_versions_max = -1};
    fake_start(&f);
    watch w = {0};
    kw_conn_options o = {0};
    kw_conn *c = connect_fake(&f, &w, &o);
    kw_conn *held = c;
    kw_metadata_req req;
    kw__schema_init(kw__api(KW_API_METADATA)->req, 12, &req);
    req.topics.n = 0;
    res later = {0};
    ck_assert_int_eq(kw__conn_send(c, KW_API_METADATA, -1, &req, (now_ms() + 2000) * 1000000u,
                                   free_from_callback, &held),
                     0);
    ck_assert_int_eq(send_metadata(c, 2000, &later), 0);
    uint64_t end = now_ms() + 2000;
    while (held && now_ms() < end)
        kw__loop_run_once(loop, 10);
    ck_assert_ptr_null(held);
    ck_assert_int_eq(later.calls, 1); /* failed by the free, or answered first */
    fake_stop(&f);
}
END_TEST

/* Takes the read buffer for the first response; the later ones must still arrive intact. */
typedef struct taker {
    kw_conn *conn, *other; /* the connection answering; another one, idle */
    int calls;
    uint8_t *mem[3];
    const uint8_t *frame[3];
    size_t len[3];
    int version;
    bool second_take_refused, wrong_frame_refused, other_conn_refused, no_conn_refused;
    size_t cap0;
} taker;

static void take_first(int err, const uint8_t *frame, size_t len, int version, void *arg)
{
    taker *t = arg;
    t->version = version;
    ck_assert_int_eq(err, 0);
    int i = t->calls++;
    t->frame[i] = frame;
    t->len[i] = len;
    if (i == 0) {
        size_t cap = 0;
        t->wrong_frame_refused = kw__conn_take_frame(t->conn, frame + 1, NULL, 0, &cap) == NULL;
        t->other_conn_refused = kw__conn_take_frame(t->other, frame, NULL, 0, &cap) == NULL;
        t->no_conn_refused = kw__conn_take_frame(NULL, frame, NULL, 0, &cap) == NULL;
        t->mem[0] = kw__conn_take_frame(t->conn, frame, NULL, 0, &cap);
        t->cap0 = cap;
        t->second_take_refused = kw__conn_take_frame(t->conn, frame, NULL, 0, &cap) == NULL;
    } else {
        t->mem[i] = malloc(len); /* the others are copied, as a caller without taking would */
        memcpy(t->mem[i], frame, len);
        t->frame[i] = t->mem[i];
    }
}

START_TEST(a_callback_takes_the_read_buffer_and_later_frames_survive)
{
    fake f = {.api_versions_max = -1, .metadata_mode = MD_HOLD3};
    kw__wr_init(&f.held);
    fake_start(&f);
    watch w = {0};
    kw_conn_options o = {0};
    kw_conn *c = connect_fake(&f, &w, &o);
    ck_assert_msg(w.ready == 1, "%s", w.detail);
    /* a second connection on the same loop and thread: the frame is c's alone */
    fake f2 = {.api_versions_max = -1, .metadata_mode = MD_ANSWER};
    fake_start(&f2);
    watch w2 = {0};
    kw_conn_options o2 = {0};
    kw_conn *c2 = connect_fake(&f2, &w2, &o2);
    ck_assert_msg(w2.ready == 1, "%s", w2.detail);
    kw_metadata_req req;
    kw__schema_init(kw__api(KW_API_METADATA)->req, 12, &req);
    req.topics.n = 0;
    taker t = {.conn = c, .other = c2};
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(kw__conn_send(c, KW_API_METADATA, -1, &req,
                                       (now_ms() + 3000) * 1000000u, take_first, &t),
                         0);
    uint64_t end = now_ms() + 3000;
    while (t.calls < 3 && now_ms() < end)
        kw__loop_run_once(loop, 10);
    ck_assert_int_eq(t.calls, 3);
    ck_assert(t.wrong_frame_refused);
    ck_assert(t.other_conn_refused);
    ck_assert(t.no_conn_refused);
    ck_assert(t.second_take_refused);
    ck_assert_ptr_nonnull(t.mem[0]);
    /* the taken frame lies inside the buffer and still decodes after the connection moved on */
    ck_assert(t.frame[0] >= t.mem[0]);
    ck_assert_uint_ge(t.cap0, (size_t)(t.frame[0] - t.mem[0]) + t.len[0]);
    int32_t corr0 = (int32_t)kw_load_be32(t.frame[0]);
    for (int i = 0; i < 3; i++) {
        kw_arena a;
        kw__arena_init(&a, 1 << 20);
        kw_metadata_resp resp;
        ck_assert_int_eq(kw__conn_decode(t.frame[i], t.len[i], KW_API_METADATA, t.version, &a, &resp),
                         0);
        int32_t corr = (int32_t)kw_load_be32(t.frame[i]);
        ck_assert_int_eq(corr, corr0 + i);
        kw__arena_reset(&a);
        free(t.mem[i]);
    }
    /* outside a callback nothing can be taken */
    size_t cap;
    ck_assert_ptr_null(kw__conn_take_frame(c, t.frame[1], NULL, 0, &cap));
    /* the connection still works */
    res r = {0};
    f.metadata_mode = MD_ANSWER;
    ck_assert_int_eq(send_metadata(c, 2000, &r), 0);
    run_until(&r.done, 2000);
    ck_assert_int_eq(r.err, 0);
    kw__conn_free(c);
    fake_stop(&f);
    kw__conn_free(c2);
    fake_stop(&f2);
}
END_TEST

/* Each response is taken with a spare handed in; the next response must land in that spare. */
typedef struct spare_taker {
    kw_conn *conn;
    int calls;
    uint8_t *spare[3]; /* handed in at call i */
    size_t spare_cap[3];
    uint8_t *mem[3];   /* taken at call i */
    const uint8_t *frame[3];
    size_t len[3];
} spare_taker;

static void take_with_spare(int err, const uint8_t *frame, size_t len, int version, void *arg)
{
    (void)version;
    spare_taker *t = arg;
    ck_assert_int_eq(err, 0);
    int i = t->calls++;
    t->frame[i] = frame;
    t->len[i] = len;
    size_t cap = 0;
    t->mem[i] = kw__conn_take_frame(t->conn, frame, t->spare[i], t->spare_cap[i], &cap);
}

START_TEST(a_spare_handed_back_receives_the_next_response_even_after_idling)
{
    fake f = {.api_versions_max = -1, .metadata_mode = MD_ANSWER};
    fake_start(&f);
    watch w = {0};
    kw_conn_options o = {0};
    kw_conn *c = connect_fake(&f, &w, &o);
    ck_assert_msg(w.ready == 1, "%s", w.detail);
    spare_taker t = {.conn = c};
    /* call 0: a 1 MiB spare, far above what an idle connection keeps (4 x 64 KiB) */
    t.spare_cap[0] = 1u << 20;
    t.spare[0] = malloc(t.spare_cap[0]);
    /* call 1: a spare too small to read into: the connection frees it (ASan: no leak) */
    t.spare_cap[1] = 16;
    t.spare[1] = malloc(t.spare_cap[1]);
    kw_metadata_req req;
    kw__schema_init(kw__api(KW_API_METADATA)->req, 12, &req);
    req.topics.n = 0;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(kw__conn_send(c, KW_API_METADATA, -1, &req,
                                       (now_ms() + 3000) * 1000000u, take_with_spare, &t),
                         0);
        uint64_t end = now_ms() + 3000;
        while (t.calls <= i && now_ms() < end)
            kw__loop_run_once(loop, 10);
        ck_assert_int_eq(t.calls, i + 1);
        ck_assert_ptr_nonnull(t.mem[i]);
        /* idle in between: nothing is read, the kept spare must survive this */
        for (int k = 0; k < 3; k++)
            kw__loop_run_once(loop, 5);
    }
    /* response 1 arrived in the spare handed in at response 0, after the connection idled */
    ck_assert_ptr_eq(t.mem[1], t.spare[0]);
    ck_assert(t.frame[1] >= t.spare[0] && t.frame[1] + t.len[1] <= t.spare[0] + t.spare_cap[0]);
    /* the too-small spare was not used: response 2 came in a buffer of the connection's own */
    ck_assert_ptr_ne(t.mem[2], t.spare[0]);
    for (int i = 0; i < 3; i++)
        free(t.mem[i]);
    kw__conn_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(acks0_produce_completes_when_written)
{
    fake f = {.api_versions_max = -1};
    fake_start(&f);
    watch w = {0};
    kw_conn_options o = {0};
    kw_conn *c = connect_fake(&f, &w, &o);
    ck_assert_msg(w.ready == 1, "%s", w.detail);
    kw_produce_req p;
    kw__schema_init(kw__api(KW_API_PRODUCE)->req, 9, &p);
    p.acks = 0;
    p.timeout_ms = 1000;
    p.topic_data.n = 0;
    res pr = {0}, mr = {0};
    ck_assert_int_eq(kw__conn_send(c, KW_API_PRODUCE, 9, &p, (now_ms() + 2000) * 1000000u,
                                   on_resp, &pr),
                     0);
    ck_assert_int_eq(send_metadata(c, 2000, &mr), 0);
    ck_assert(run_until(&mr.done, 2000));
    ck_assert_int_eq(pr.calls, 1);
    ck_assert_int_eq(pr.err, 0);
    ck_assert(!pr.had_frame);
    ck_assert_int_eq(mr.err, 0); /* the next response still matches its request */
    ck_assert(mr.had_frame);
    kw__conn_free(c);
    fake_stop(&f);
}
END_TEST

/* One acks=0 Produce of one partition whose records are n pattern bytes (the caller frees *rec). */
static int send_produce(kw_conn *c, size_t n, uint8_t **rec, kw_produce_req *p,
                        kw_produce_req_topic *t, kw_produce_req_partition *part, res *r)
{
    *rec = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        (*rec)[i] = pattern_byte(i);
    kw__schema_init(kw__api(KW_API_PRODUCE)->req, 9, p);
    p->acks = 0;
    p->timeout_ms = 1000;
    *part = (kw_produce_req_partition){.index = 0, .records = {*rec, (int32_t)n}};
    *t = (kw_produce_req_topic){.name = kw_str_c("t")};
    t->partition_data.v = part;
    t->partition_data.n = 1;
    p->topic_data.v = t;
    p->topic_data.n = 1;
    return kw__conn_send(c, KW_API_PRODUCE, 9, p, (now_ms() + 10000) * 1000000u, on_resp, r);
}

START_TEST(a_request_on_an_idle_socket_is_written_at_once_without_write_interest)
{
    fake f = {.api_versions_max = -1};
    fake_start(&f);
    watch w = {0};
    kw_conn_options o = {0};
    kw_conn *c = connect_fake(&f, &w, &o);
    ck_assert_msg(w.ready == 1, "%s", w.detail);
    uint64_t waits0 = kw__conn_write_waits(c);
    res mr = {0}, pr = {0};
    ck_assert_int_eq(send_metadata(c, 2000, &mr), 0);
    /* on the wire before any loop round: the fake answers it on its own thread */
    for (int i = 0; i < 2000 && atomic_load(&f.n_metadata) == 0; i++)
        usleep(1000);
    ck_assert_int_eq(atomic_load(&f.n_metadata), 1);
    uint8_t *rec;
    kw_produce_req p;
    kw_produce_req_topic t;
    kw_produce_req_partition part;
    ck_assert_int_eq(send_produce(c, 3000, &rec, &p, &t, &part, &pr), 0);
    /* written, but its callback never runs inside the send */
    ck_assert_int_eq(pr.calls, 0);
    ck_assert_uint_eq(kw__conn_in_flight(c), 1); /* the Metadata only */
    ck_assert(run_until(&mr.done, 2000));
    ck_assert(run_until(&pr.done, 2000));
    ck_assert_int_eq(pr.err, 0);
    ck_assert_int_eq(mr.err, 0);
    ck_assert_uint_eq(kw__conn_write_waits(c), waits0);
    ck_assert_uint_eq(waits0, 0);
    for (int i = 0; i < 2000 && atomic_load(&f.produce_bytes_ok) == 0; i++)
        usleep(1000);
    ck_assert_int_eq(atomic_load(&f.produce_bytes_ok), 1);
    ck_assert_int_eq(atomic_load(&f.produce_records_len), 3000);
    kw__conn_free(c);
    free(rec);
    fake_stop(&f);
}
END_TEST

START_TEST(a_full_socket_waits_for_write_interest_and_resumes_at_the_right_byte)
{
    fake f = {.api_versions_max = -1, .small_rcvbuf = 1};
    fake_start(&f);
    watch w = {0};
    kw_conn_options o = {0};
    kw_conn *c = connect_fake(&f, &w, &o);
    ck_assert_msg(w.ready == 1, "%s", w.detail);
    atomic_store(&f.hold, 1);
    enum { N = 8 << 20 }; /* far more than the socket buffers hold while the fake reads nothing */
    uint8_t *rec;
    kw_produce_req p;
    kw_produce_req_topic t;
    kw_produce_req_partition part;
    res pr = {0}, mr = {0};
    ck_assert_int_eq(send_produce(c, N, &rec, &p, &t, &part, &pr), 0);
    ck_assert_uint_eq(kw__conn_write_waits(c), 1); /* part went at once, the rest waits */
    ck_assert_int_eq(send_metadata(c, 10000, &mr), 0); /* queued behind it */
    for (int i = 0; i < 20; i++)
        ck_assert_int_ge(kw__loop_run_once(loop, 5), 0);
    ck_assert_int_eq(pr.calls, 0);
    atomic_store(&f.hold, 0);
    ck_assert(run_until(&pr.done, 10000));
    ck_assert(run_until(&mr.done, 10000));
    ck_assert_int_eq(pr.err, 0);
    ck_assert_int_eq(mr.err, 0); /* the frame after the big one starts where it should */
    for (int i = 0; i < 5000 && atomic_load(&f.produce_bytes_ok) == 0; i++)
        usleep(1000);
    ck_assert_int_eq(atomic_load(&f.produce_bytes_ok), 1);
    ck_assert_int_eq(atomic_load(&f.produce_records_len), N);
    kw__conn_free(c);
    free(rec);
    fake_stop(&f);
}
END_TEST

START_TEST(a_write_that_fails_inside_send_is_reported_on_the_next_round)
{
    fake f = {.api_versions_max = -1, .metadata_mode = MD_RESET};
    fake_start(&f);
    watch w = {0};
    kw_conn_options o = {0};
    kw_conn *c = connect_fake(&f, &w, &o);
    ck_assert_msg(w.ready == 1, "%s", w.detail);
    res a = {0}, b = {0};
    ck_assert_int_eq(send_metadata(c, 5000, &a), 0); /* the fake answers it with a reset */
    for (int i = 0; i < 2000 && atomic_load(&f.n_metadata) == 0; i++)
        usleep(1000);
    usleep(50 * 1000); /* the reset reaches our socket; no loop round notices it */
    /* this write hits the reset inside the call: neither callback may run in here */
    ck_assert_int_eq(send_metadata(c, 5000, &b), 0);
    ck_assert_int_eq(a.calls, 0);
    ck_assert_int_eq(b.calls, 0);
    ck_assert_int_eq(w.closed, 0);
    ck_assert(run_until(&w.closed, 2000));
    ck_assert_int_eq(w.err, KW_EIO);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(b.calls, 1);
    ck_assert_int_eq(a.err, KW_EIO);
    ck_assert_int_eq(b.err, KW_EIO);
    kw__conn_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(sasl_session_lifetime_triggers_reauthentication_without_interleaving)
{
    fake f = {.api_versions_max = -1, .session_lifetime_ms = 200};
    fake_start(&f);
    watch w = {0};
    kw_sasl_config s = {.mechanism = "PLAIN", .username = "alice", .password = "alice-secret"};
    kw_conn_options o = {.sasl = &s};
    kw_conn *c = connect_fake(&f, &w, &o);
    ck_assert_msg(w.ready == 1, "%s", w.detail);
    /* Keep a stream of requests going across several re-authentications. */
    enum { N = 400 };
    static res r[N];
    memset(r, 0, sizeof(r));
    int sent = 0;
    uint64_t end = now_ms() + 3000;
    while (kw__conn_reauth_count(c) < 3 && now_ms() < end) {
        if (sent < N && kw__conn_in_flight(c) + kw__conn_queued(c) < 8)
            ck_assert_int_eq(send_metadata(c, 3000, &r[sent++]), 0);
        kw__loop_run_once(loop, 1);
    }
    ck_assert_uint_ge(kw__conn_reauth_count(c), 3);
    ck_assert(run_until(&r[sent - 1].done, 2000));
    for (int i = 0; i < sent; i++) {
        ck_assert_int_eq(r[i].err, 0);
        ck_assert_int_eq(r[i].order, i);
    }
    ck_assert_int_eq(atomic_load(&f.interleaved), 0);
    ck_assert_int_ge(atomic_load(&f.n_handshakes), 4);
    ck_assert_int_eq(w.closed, 0);
    kw__conn_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(session_cap_hook_shortens_an_endless_session)
{
    fake f = {.api_versions_max = -1, .session_lifetime_ms = 0};
    fake_start(&f);
    watch w = {0};
    kw_sasl_config s = {.mechanism = "PLAIN", .username = "alice", .password = "alice-secret"};
    kw_conn_options o = {.sasl = &s, .sasl_session_cap_ms = 100};
    kw_conn *c = connect_fake(&f, &w, &o);
    ck_assert_msg(w.ready == 1, "%s", w.detail);
    uint64_t end = now_ms() + 2000;
    while (kw__conn_reauth_count(c) < 2 && now_ms() < end)
        kw__loop_run_once(loop, 10);
    ck_assert_uint_ge(kw__conn_reauth_count(c), 2);
    kw__conn_free(c);
    fake_stop(&f);
}
END_TEST

static kw_cred_source *oauth_source(const char *file, const char *sock, uint32_t timeout_ms)
{
    kw_cred_source *src;
    char err[256];
    kw_cred_source_options so = {
        .kind = KW_CRED_OAUTH, .file = file, .http_socket = sock, .timeout_ms = timeout_ms};
    ck_assert_int_eq(kw__cred_source_new(&src, loop, &so, err, sizeof(err)), 0);
    return src;
}

static void drop_source(kw_cred_source *src)
{
    kw__cred_source_close(src);
    kw__cred_source_free(src);
}

/* KIP-368 with an HTTP credential source: each exchange asks the server again and sends its token. */
START_TEST(reauthentication_fetches_the_credential_document_anew)
{
    cred_server srv;
    ck_assert_int_eq(cred_server_start(&srv, 200, "{\"token\":\"one\",\"zid\":\"alice\"}"), 0);
    kw_cred_source *src = oauth_source(NULL, srv.path, 0);
    fake f = {.api_versions_max = -1, .session_lifetime_ms = 300};
    fake_start(&f);
    watch w = {0};
    kw_sasl_config s = {.mechanism = "OAUTHBEARER", .cred = src};
    kw_conn_options o = {.sasl = &s};
    kw_conn *c = connect_fake(&f, &w, &o);
    ck_assert_msg(w.ready == 1, "%s", w.detail);
    /* the server's next answers, one per re-authentication; the second one is slow */
    cred_server_set(&srv, 200, 0, "{\"token\":\"two\",\"extensions\":{\"trace\":\"t2\"}}");
    uint64_t end = now_ms() + 5000;
    while (kw__conn_reauth_count(c) < 1 && now_ms() < end)
        kw__loop_run_once(loop, 10);
    ck_assert_uint_ge(kw__conn_reauth_count(c), 1);
    cred_server_set(&srv, 200, 200, "{\"token\":\"three\"}");
    /* requests sent meanwhile wait for the exchange and then succeed */
    res r[20];
    memset(r, 0, sizeof(r));
    int sent = 0;
    while (kw__conn_reauth_count(c) < 2 && now_ms() < end) {
        if (sent < 20 && kw__conn_in_flight(c) + kw__conn_queued(c) == 0)
            ck_assert_int_eq(send_metadata(c, 3000, &r[sent++]), 0);
        kw__loop_run_once(loop, 5);
    }
    ck_assert_uint_ge(kw__conn_reauth_count(c), 2);
    ck_assert(run_until(&r[sent - 1].done, 2000));
    for (int i = 0; i < sent; i++)
        ck_assert_int_eq(r[i].err, 0);
    ck_assert_int_eq(atomic_load(&f.interleaved), 0);
    ck_assert_int_ge(atomic_load(&f.n_auth_saved), 3);
    ck_assert_str_eq(f.auths[0], "n,a=alice,\x01" "auth=Bearer one\x01\x01");
    ck_assert_str_eq(f.auths[1], "n,,\x01" "auth=Bearer two\x01trace=t2\x01\x01");
    ck_assert_str_eq(f.auths[2], "n,,\x01" "auth=Bearer three\x01\x01");
    ck_assert_int_ge(atomic_load(&srv.requests), 3);
    ck_assert_int_eq(w.closed, 0);

    /* the next answer is a 500: that re-authentication fails the connection, saying why */
    cred_server_set(&srv, 500, 0, "token service down");
    ck_assert(run_until(&w.closed, 5000));
    ck_assert_int_eq(w.err, KW_ESASL);
    ck_assert_msg(strstr(w.detail, "SASL authentication failed (OAUTHBEARER)") &&
                      strstr(w.detail, srv.path) && strstr(w.detail, "status 500") &&
                      strstr(w.detail, "token service down"),
                  "%s", w.detail);
    kw__conn_free(c);
    fake_stop(&f);
    drop_source(src);
    cred_server_stop(&srv);
}
END_TEST

/* A JSON file rotated between re-authentications: each exchange sends the file's current token. */
START_TEST(reauthentication_rereads_the_credential_file)
{
    char dir[] = "/tmp/kwal-conn-cred-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256], tmp[300];
    snprintf(path, sizeof(path), "%s/oauth.json", dir);
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    const char *docs[] = {"{\"token\":\"first\"}", "{\"token\":\"second\"}",
                          "{\"token\":\"third\"}", "{\"zid\":\"x\"}"};
    FILE *fp = fopen(path, "w");
    fputs(docs[0], fp);
    fclose(fp);
    kw_cred_source *src = oauth_source(path, NULL, 0);
    fake f = {.api_versions_max = -1, .session_lifetime_ms = 200};
    fake_start(&f);
    watch w = {0};
    kw_sasl_config s = {.mechanism = "OAUTHBEARER", .cred = src};
    kw_conn_options o = {.sasl = &s};
    kw_conn *c = connect_fake(&f, &w, &o);
    ck_assert_msg(w.ready == 1, "%s", w.detail);
    uint64_t end = now_ms() + 5000;
    for (unsigned i = 1; i < 3; i++) {
        fp = fopen(tmp, "w");
        fputs(docs[i], fp);
        fclose(fp);
        ck_assert_int_eq(rename(tmp, path), 0);
        while (kw__conn_reauth_count(c) < i && now_ms() < end)
            kw__loop_run_once(loop, 10);
        ck_assert_uint_ge(kw__conn_reauth_count(c), i);
    }
    ck_assert_int_ge(atomic_load(&f.n_auth_saved), 3);
    ck_assert_str_eq(f.auths[0], "n,,\x01" "auth=Bearer first\x01\x01");
    ck_assert_str_eq(f.auths[1], "n,,\x01" "auth=Bearer second\x01\x01");
    ck_assert_str_eq(f.auths[2], "n,,\x01" "auth=Bearer third\x01\x01");
    /* a document without a token: the next re-authentication fails, naming file and field */
    fp = fopen(tmp, "w");
    fputs(docs[3], fp);
    fclose(fp);
    ck_assert_int_eq(rename(tmp, path), 0);
    ck_assert(run_until(&w.closed, 5000));
    ck_assert_int_eq(w.err, KW_ESASL);
    ck_assert_msg(strstr(w.detail, path) && strstr(w.detail, "field \"token\" is missing"), "%s",
                  w.detail);
    kw__conn_free(c);
    fake_stop(&f);
    drop_source(src);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* The connection goes while its credential request still waits: no callback, nothing leaks. */
START_TEST(connection_freed_while_the_credential_request_waits)
{
    cred_server srv;
    ck_assert_int_eq(cred_server_start(&srv, 200, "{\"token\":\"slow\"}"), 0);
    cred_server_set(&srv, 200, 8000, "{\"token\":\"slow\"}");
    kw_cred_source *src = oauth_source(NULL, srv.path, 0);
    fake f = {.api_versions_max = -1};
    fake_start(&f);
    watch w = {0};
    kw_sasl_config s = {.mechanism = "OAUTHBEARER", .cred = src};
    kw_conn_options o = {.sasl = &s, .host = "127.0.0.1", .port = f.port, .on_state = on_state,
                         .state_arg = &w};
    kw_conn *c;
    ck_assert_int_eq(kw__conn_new(&c, loop, &o), 0);
    res r = {0};
    ck_assert_int_eq(send_metadata(c, 10000, &r), 0);
    uint64_t end = now_ms() + 5000;
    while (atomic_load(&srv.requests) == 0 && now_ms() < end)
        kw__loop_run_once(loop, 10);
    ck_assert_int_eq(atomic_load(&srv.requests), 1);
    ck_assert_int_eq(w.ready, 0);
    uint64_t t0 = now_ms();
    kw__conn_free(c);
    ck_assert_int_eq(r.err, KW_ECLOSED);
    for (int i = 0; i < 5; i++)
        kw__loop_run_once(loop, 10);
    drop_source(src);
    ck_assert_msg(now_ms() - t0 < 1500, "took %llu ms", (unsigned long long)(now_ms() - t0));
    ck_assert_int_eq(w.ready + w.closed, 0);
    fake_stop(&f);
    cred_server_stop(&srv);
}
END_TEST

START_TEST(send_before_ready_needs_an_explicit_version)
{
    fake f = {.api_versions_max = -1};
    fake_start(&f);
    watch w = {0};
    kw_conn_options o = {.host = "127.0.0.1", .port = f.port, .on_state = on_state,
                         .state_arg = &w};
    kw_conn *c;
    ck_assert_int_eq(kw__conn_new(&c, loop, &o), 0);
    kw_metadata_req req;
    kw__schema_init(kw__api(KW_API_METADATA)->req, 12, &req);
    req.topics.n = 0;
    res r = {0};
    ck_assert_int_eq(kw__conn_send(c, KW_API_METADATA, -1, &req, (now_ms() + 2000) * 1000000u,
                                   on_resp, &r),
                     KW_EAGAIN);
    ck_assert_int_eq(kw__conn_send(c, KW_API_METADATA, 12, &req, (now_ms() + 2000) * 1000000u,
                                   on_resp, &r),
                     0);
    ck_assert_int_eq(r.calls, 0); /* never from inside send */
    ck_assert(run_until(&r.done, 2000));
    ck_assert_int_eq(r.err, 0);
    ck_assert_int_eq(w.ready, 1);
    kw__conn_free(c);
    fake_stop(&f);
}
END_TEST

/* Whether this machine can listen on ::1 (main skips the ipv6 case with 77 when it cannot). */
static bool have_ipv6_loopback(char *why, size_t cap)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (!ok)
        snprintf(why, cap, "%s: %s", fd < 0 ? "socket(AF_INET6)" : "bind([::1]:0)",
                 strerror(errno));
    if (fd >= 0)
        close(fd);
    return ok;
}

START_TEST(ipv6_literal_connects_and_names_the_peer)
{
    int lfd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    /* main checked the loopback is there: failing here is a failure, not a skip */
    ck_assert_msg(lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof(a)) == 0,
                  "cannot listen on [::1]: %s", strerror(errno));
    ck_assert_int_eq(listen(lfd, 4), 0);
    socklen_t al = sizeof(a);
    getsockname(lfd, (struct sockaddr *)&a, &al);
    fake f = {.api_versions_max = -1, .lfd = lfd, .fd = -1, .port = ntohs(a.sin6_port)};
    ck_assert_int_eq(pthread_create(&f.thread, NULL, fake_main, &f), 0);
    watch w = {0};
    kw_conn_options o = {.host = "::1", .port = f.port, .on_state = on_state, .state_arg = &w};
    kw_conn *c;
    ck_assert_int_eq(kw__conn_new(&c, loop, &o), 0);
    ck_assert(run_until(&w.ready, 3000));
    char want[64];
    snprintf(want, sizeof(want), "[::1]:%u", f.port);
    ck_assert_str_eq(kw__conn_peer(c), want);
    kw__conn_free(c);
    fake_stop(&f);
}
END_TEST

START_TEST(bad_options_are_refused_up_front)
{
    kw_conn *c;
    kw_conn_options o = {0};
    ck_assert_int_eq(kw__conn_new(&c, loop, &o), KW_EINVAL);
    kw_sasl_config s = {.mechanism = "NOPE", .username = "a", .password = "b"};
    kw_conn_options o2 = {.host = "127.0.0.1", .port = 1, .sasl = &s};
    ck_assert_int_lt(kw__conn_new(&c, loop, &o2), 0);
    ck_assert_ptr_null(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conn");
    TCase *tc = tcase_create("fake broker");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, unsupported_api_versions_is_retried_at_the_listed_version);
    tcase_add_test(tc, in_flight_request_past_its_deadline_closes_the_connection);
    tcase_add_test(tc, queued_request_past_its_deadline_fails_alone);
    tcase_add_test(tc, correlation_id_mismatch_closes_the_connection);
    tcase_add_test(tc, frame_over_the_limit_is_an_error_not_an_allocation);
    tcase_add_test(tc, close_fails_everything_pending_once_with_eclosed);
    tcase_add_test(tc, free_inside_a_response_callback_is_safe);
    tcase_add_test(tc, a_callback_takes_the_read_buffer_and_later_frames_survive);
    tcase_add_test(tc, a_spare_handed_back_receives_the_next_response_even_after_idling);
    tcase_add_test(tc, acks0_produce_completes_when_written);
    tcase_add_test(tc, a_request_on_an_idle_socket_is_written_at_once_without_write_interest);
    tcase_add_test(tc, a_full_socket_waits_for_write_interest_and_resumes_at_the_right_byte);
    tcase_add_test(tc, a_write_that_fails_inside_send_is_reported_on_the_next_round);
    tcase_add_test(tc, sasl_session_lifetime_triggers_reauthentication_without_interleaving);
    tcase_add_test(tc, session_cap_hook_shortens_an_endless_session);
    tcase_add_test(tc, reauthentication_fetches_the_credential_document_anew);
    tcase_add_test(tc, reauthentication_rereads_the_credential_file);
    tcase_add_test(tc, connection_freed_while_the_credential_request_waits);
    tcase_add_test(tc, send_before_ready_needs_an_explicit_version);
    tcase_add_test(tc, bad_options_are_refused_up_front);
    suite_add_tcase(s, tc);
    /* Its own case (and meson test, CK_RUN_CASE=ipv6), so a machine without IPv6 says "skipped"
     * instead of passing a test that tested nothing. */
    TCase *tc6 = tcase_create("ipv6");
    tcase_add_checked_fixture(tc6, setup, teardown);
    tcase_set_timeout(tc6, 30);
    tcase_add_test(tc6, ipv6_literal_connects_and_names_the_peer);
    const char *only = getenv("CK_RUN_CASE");
    char why[160];
    if (!have_ipv6_loopback(why, sizeof(why))) {
        if (only && strcmp(only, "ipv6") == 0) {
            fprintf(stderr, "conn: no IPv6 loopback on this machine (%s): ipv6 case skipped\n", why);
            return 77;
        }
        fprintf(stderr, "conn: no IPv6 loopback on this machine (%s): ipv6 case not run\n", why);
    } else {
        suite_add_tcase(s, tc6);
    }
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
