/* Broker tests of kw_producer: round trips, codecs, acks, linger, buffer, faults, timestamps,
 * modes. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kwal/producer.h"
#include "net/client_int.h"
#include "proto/batch.h"
#include "proxy_ctl.h"

#define ASSERT_OK(rc, detail) ck_assert_msg((rc) == 0, "%s: %s", kw_err_name(rc), (detail))

/*
 * The producer talks to the broker's advertised address, not to the bootstrap
 * one, so to put the fault proxy under its Produce connections this test links
 * with -Wl,--wrap=connect: while redirect_port is set, a connection to that
 * loopback port goes to the proxy instead.  (Test-only state: one proxy at a time.)
 */
static atomic_int redirect_from, redirect_to;
int __real_connect(int fd, const struct sockaddr *addr, socklen_t len);
int __wrap_connect(int fd, const struct sockaddr *addr, socklen_t len);
int __wrap_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    int from = atomic_load(&redirect_from);
    if (from && addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in in = *(const struct sockaddr_in *)addr;
        if (ntohs(in.sin_port) == from) {
            in.sin_port = htons((uint16_t)atomic_load(&redirect_to));
            return __real_connect(fd, (const struct sockaddr *)&in, sizeof(in));
        }
    }
    return __real_connect(fd, addr, len);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *bootstrap(void)
{
    return getenv("KWAL_BOOTSTRAP");
}

static kw_client *open_client(const char *bs, bool host_driven)
{
    kw_client_options o = {.bootstrap = bs, .connect_timeout_ms = 5000, .host_driven = host_driven};
    kw_client *c = NULL;
    char err[256];
    int rc = kw_client_new(&c, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_client_new: %s: %s", kw_err_name(rc), err);
    return c;
}

static void topic_name(char *buf, size_t len, const char *what)
{
    static atomic_int seq;
    snprintf(buf, len, "kwal-it-prod-%s-%d-%d", what, getpid(), atomic_fetch_add(&seq, 1));
}

static void create_topic(kw_client *c, const char *name, int32_t partitions, const char *ts_type)
{
    kw_client_config_entry cfg[] = {{"retention.ms", "3600000"},
                                    {"message.timestamp.type", ts_type}};
    kw_client_new_topic t = {.name = name,
                             .partitions = partitions,
                             .replication_factor = 1,
                             .configs = cfg,
                             .config_count = ts_type ? 2 : 1};
    kw_client_create_topics_args a = {.topics = &t, .topic_count = 1};
    kw_client_topics_result r;
    int rc = kw_client_create_topics(c, &a, &r);
    ASSERT_OK(rc, r.detail);
    ck_assert_int_eq(r.topics[0].kerr, 0);
    kw_client_topics_result_free(&r);
}

static void delete_topic(kw_client *c, const char *name)
{
    kw_client_delete_topics_args a = {.names = &name, .name_count = 1};
    kw_client_topics_result r;
    kw_client_delete_topics(c, &a, &r);
    kw_client_topics_result_free(&r);
}

/* One record as read back. */
typedef struct got {
    int64_t offset, timestamp;
    bool log_append_time;
    kw_bytes key, value;
    int nh;
    kw_record_header h[4];
    uint8_t *mem; /* copies of the bytes above */
} got;

static kw_bytes keep(uint8_t **at, kw_bytes b)
{
    if (b.len > 0) {
        memcpy(*at, b.ptr, (size_t)b.len);
        b.ptr = *at;
        *at += b.len;
    }
    return b;
}

/* Reads partition part of topic from offset 0 until n records came back. */
static got *read_back(kw_client *c, const char *topic, int32_t part, int n)
{
    got *g = calloc((size_t)n, sizeof(*g));
    int have = 0;
    int64_t offset = 0;
    kw_wr scratch;
    kw__wr_init(&scratch);
    uint64_t until = now_ms() + 20000;
    while (have < n && now_ms() < until) {
        kw_client_fetch_args fa = {
            .topic = topic, .partition = part, .offset = offset, .max_wait_ms = 200};
        kw_client_fetch_result fr;
        int rc = kw_client_fetch(c, &fa, &fr);
        ASSERT_OK(rc, fr.detail);
        kw_batch_iter it;
        kw__batch_iter_init(&it, fr.records, fr.records_len, KW_BATCH_VERIFY_CRC);
        kw_batch b;
        while (have < n && kw__batch_next(&it, &b) == 1) {
            kw_record_iter ri;
            ck_assert_int_eq(kw__record_iter_init(&ri, &b, &scratch, 0, offset), 0);
            kw_record r;
            while (have < n && kw__record_next(&ri, &r) == 1) {
                got *x = &g[have++];
                x->offset = r.offset;
                x->timestamp = r.timestamp;
                x->log_append_time = kw__batch_log_append_time(&b);
                x->mem = malloc((size_t)r.headers_len + (size_t)(r.key.len > 0 ? r.key.len : 0) +
                                (size_t)(r.value.len > 0 ? r.value.len : 0) + 1);
                uint8_t *at = x->mem;
                x->key = keep(&at, r.key);
                x->value = keep(&at, r.value);
                kw_header_iter hi = kw__record_headers(&r);
                kw_record_header h;
                while (x->nh < 4 && kw__header_next(&hi, &h) == 1) {
                    kw_bytes k = keep(&at, (kw_bytes){(const uint8_t *)h.key.ptr, h.key.len});
                    x->h[x->nh].key = (kw_str){(const char *)k.ptr, k.len};
                    x->h[x->nh++].value = keep(&at, h.value);
                }
                offset = r.offset + 1;
            }
            ck_assert_int_eq(ri.err, 0);
        }
        ck_assert_int_eq(it.err, 0);
        kw_client_fetch_result_free(&fr);
    }
    kw__wr_free(&scratch);
    ck_assert_int_eq(have, n);
    return g;
}

static void got_free(got *g, int n)
{
    for (int i = 0; i < n; i++)
        free(g[i].mem);
    free(g);
}

/* Delivery bookkeeping: every callback, in arrival order. */
typedef struct book {
    pthread_mutex_t mu;
    int n, cap;
    kw_producer_delivery *d;
    int *tag;
    uint64_t *at; /* now_ms() of each callback */
    char first_error[512];
    uint64_t first_at_ms;
} book;

static book *book_new(int cap)
{
    book *b = calloc(1, sizeof(*b));
    pthread_mutex_init(&b->mu, NULL);
    b->cap = cap;
    b->d = calloc((size_t)cap, sizeof(*b->d));
    b->tag = calloc((size_t)cap, sizeof(*b->tag));
    b->at = calloc((size_t)cap, sizeof(*b->at));
    return b;
}

static void book_free(book *b)
{
    pthread_mutex_destroy(&b->mu);
    free(b->d);
    free(b->tag);
    free(b->at);
    free(b);
}

typedef struct ticket {
    book *b;
    int tag;
} ticket;

static void on_delivery(const kw_producer_delivery *d, void *arg)
{
    ticket *t = arg;
    book *b = t->b;
    pthread_mutex_lock(&b->mu);
    if (b->n < b->cap) {
        b->d[b->n] = *d;
        b->d[b->n].detail = NULL;
        b->d[b->n].topic = NULL;
        b->tag[b->n] = t->tag;
        b->at[b->n] = now_ms();
    }
    if (d->err && !b->first_error[0])
        snprintf(b->first_error, sizeof(b->first_error), "%s: %s", kw_err_name(d->err), d->detail);
    if (b->n == 0)
        b->first_at_ms = now_ms();
    b->n++;
    pthread_mutex_unlock(&b->mu);
}

static int book_count(book *b)
{
    pthread_mutex_lock(&b->mu);
    int n = b->n;
    pthread_mutex_unlock(&b->mu);
    return n;
}

static kw_producer *open_producer(kw_client *c, kw_producer_options o)
{
    kw_producer *p = NULL;
    char err[256];
    int rc = kw_producer_new(&p, c, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_producer_new: %s: %s", kw_err_name(rc), err);
    return p;
}

static void send_ok(kw_producer *p, const kw_producer_record *r, ticket *t)
{
    int rc = kw_producer_send(p, r, on_delivery, t);
    if (rc) {
        char err[256];
        kw_producer_last_error(p, err, sizeof(err));
        ck_abort_msg("kw_producer_send: %s: %s", kw_err_name(rc), err);
    }
}

/* ---------------------------------------------------------------- round trips */

/* n records with keys, values and headers (null and empty among them) through one producer. */
static void round_trip(kw_client *c, int compression, int acks, int n)
{
    char topic[128];
    topic_name(topic, sizeof(topic), "rt");
    create_topic(c, topic, 1, NULL);
    /* acks=0 records sent before the new partition is ready on its leader are dropped
     * silently (nothing is known at acks=0): ListOffsets answers once it is */
    kw_client_list_offsets_args lo = {
        .topic = topic, .partition = 0, .spec = KW_CLIENT_OFFSET_LATEST, .timeout_ms = 10000};
    kw_client_list_offsets_result lr;
    ASSERT_OK(kw_client_list_offsets(c, &lo, &lr), lr.detail);
    kw_producer *p = open_producer(
        c, (kw_producer_options){.compression = compression, .acks = acks, .batch_bytes = 4096});
    book *bk = book_new(n);
    ticket *tk = calloc((size_t)n, sizeof(*tk));
    int64_t t0 = wall_ms();
    for (int i = 0; i < n; i++) {
        char key[32], value[64];
        snprintf(key, sizeof(key), "key-%d", i);
        snprintf(value, sizeof(value), "value-%d-%s", i, "abcdefghijklmnopqrstuvwxyz");
        kw_header h[3] = {{.key = "h1", .key_len = 2, .value = "v1", .value_len = 2},
                          {.key = "null", .key_len = 4, .value = NULL},
                          {.key = "empty", .key_len = 5, .value = "", .value_len = 0}};
        kw_producer_record r = {.topic = topic,
                                .partition = 0,
                                .key = i % 7 == 3 ? NULL : key,
                                .key_len = strlen(key),
                                .value = i % 11 == 5 ? (i % 2 ? NULL : "") : value,
                                .value_len = i % 11 == 5 ? 0 : strlen(value),
                                .headers = h,
                                .header_count = (size_t)(i % 4)};
        if (i % 5 == 0)
            r.timestamp_ms = t0 - 1000 + i;
        tk[i] = (ticket){bk, i};
        send_ok(p, &r, &tk[i]);
    }
    ck_assert_int_eq(kw_producer_flush(p, 30000), 0);
    ck_assert_int_eq(book_count(bk), n);
    for (int i = 0; i < n; i++) {
        ck_assert_msg(bk->d[i].err == 0, "%s", bk->first_error);
        ck_assert_int_eq(bk->tag[i], i); /* callbacks in send order */
        ck_assert_int_eq(bk->d[i].partition, 0);
        ck_assert_int_eq(bk->d[i].offset, acks == KW_CLIENT_ACKS_NONE ? -1 : i);
        ck_assert_int_eq(bk->d[i].timestamp_type, KW_TIMESTAMP_CREATE_TIME);
        if (i % 5 == 0)
            ck_assert_int_eq(bk->d[i].timestamp_ms, t0 - 1000 + i);
    }
    got *g = read_back(c, topic, 0, n);
    for (int i = 0; i < n; i++) {
        char key[32], value[64];
        snprintf(key, sizeof(key), "key-%d", i);
        snprintf(value, sizeof(value), "value-%d-%s", i, "abcdefghijklmnopqrstuvwxyz");
        ck_assert_int_eq(g[i].offset, i);
        if (i % 7 == 3) {
            ck_assert_int_eq(g[i].key.len, -1);
        } else {
            ck_assert_int_eq(g[i].key.len, (int32_t)strlen(key));
            ck_assert(memcmp(g[i].key.ptr, key, strlen(key)) == 0);
        }
        if (i % 11 == 5) {
            ck_assert_int_eq(g[i].value.len, i % 2 ? -1 : 0);
        } else {
            ck_assert_int_eq(g[i].value.len, (int32_t)strlen(value));
            ck_assert(memcmp(g[i].value.ptr, value, strlen(value)) == 0);
        }
        ck_assert_int_eq(g[i].nh, i % 4);
        if (g[i].nh > 0) {
            ck_assert_int_eq(g[i].h[0].key.len, 2);
            ck_assert(memcmp(g[i].h[0].key.ptr, "h1", 2) == 0);
            ck_assert_int_eq(g[i].h[0].value.len, 2);
        }
        if (g[i].nh > 1)
            ck_assert_int_eq(g[i].h[1].value.len, -1);
        if (g[i].nh > 2) {
            ck_assert_int_eq(g[i].h[2].key.len, 5);
            ck_assert_int_eq(g[i].h[2].value.len, 0);
        }
        if (i % 5 == 0)
            ck_assert_int_eq(g[i].timestamp, t0 - 1000 + i);
        else
            ck_assert(g[i].timestamp >= t0 && g[i].timestamp <= wall_ms());
    }
    got_free(g, n);
    ck_assert_int_eq(kw_producer_destroy(p), 0);
    book_free(bk);
    free(tk);
    delete_topic(c, topic);
}

START_TEST(headers_keys_and_nulls_round_trip_with_every_codec)
{
    kw_client *c = open_client(bootstrap(), false);
    for (int codec = KW_COMPRESSION_NONE; codec <= KW_COMPRESSION_ZSTD; codec++)
        round_trip(c, codec, KW_CLIENT_ACKS_ALL, 300);
    kw_client_destroy(c);
}
END_TEST

START_TEST(acks_leader_and_none_deliver_too)
{
    kw_client *c = open_client(bootstrap(), false);
    round_trip(c, KW_COMPRESSION_LZ4, KW_CLIENT_ACKS_LEADER, 200);
    round_trip(c, KW_COMPRESSION_NONE, KW_CLIENT_ACKS_NONE, 200);
    kw_client_destroy(c);
}
END_TEST

/* ---------------------------------------------------------------- linger and the buffer */

START_TEST(a_record_waits_linger_ms_when_its_batch_is_not_full)
{
    kw_client *c = open_client(bootstrap(), false);
    char topic[128];
    topic_name(topic, sizeof(topic), "linger");
    create_topic(c, topic, 1, NULL);
    kw_producer *p = open_producer(c, (kw_producer_options){.linger_ms = 400});
    book *bk = book_new(4);
    ticket tk = {bk, 0};
    kw_producer_record r = {.topic = topic, .partition = 0, .value = "warm", .value_len = 4};
    send_ok(p, &r, &tk);
    ck_assert_int_eq(kw_producer_flush(p, 10000), 0); /* metadata, connection, producer id */
    uint64_t t0 = now_ms();
    send_ok(p, &r, &tk);
    while (book_count(bk) < 2 && now_ms() - t0 < 5000)
        usleep(2000);
    uint64_t took = bk->first_at_ms ? now_ms() - t0 : 0;
    ck_assert_int_eq(book_count(bk), 2);
    ck_assert_msg(took >= 380 && took < 1500, "delivered after %llu ms, linger 400",
                  (unsigned long long)took);
    ck_assert_int_eq(kw_producer_destroy(p), 0);
    /* LINGER_NONE: sent as soon as the partition may send */
    p = open_producer(c, (kw_producer_options){.linger_ms = KW_PRODUCER_LINGER_NONE});
    send_ok(p, &r, &tk);
    ck_assert_int_eq(kw_producer_flush(p, 10000), 0);
    t0 = now_ms();
    send_ok(p, &r, &tk);
    while (book_count(bk) < 4 && now_ms() - t0 < 5000)
        usleep(1000);
    took = now_ms() - t0;
    ck_assert_int_eq(book_count(bk), 4);
    ck_assert_msg(took < 300, "delivered after %llu ms with no linger", (unsigned long long)took);
    ck_assert_int_eq(kw_producer_destroy(p), 0);
    book_free(bk);
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

START_TEST(a_full_buffer_fails_send_at_once)
{
    kw_client *c = open_client(bootstrap(), false);
    char topic[128];
    topic_name(topic, sizeof(topic), "full");
    create_topic(c, topic, 1, NULL);
    /* a long linger keeps every record in the buffer */
    kw_producer *p =
        open_producer(c, (kw_producer_options){.linger_ms = 10000, .buffer_bytes = 20000});
    book *bk = book_new(64);
    ticket tk = {bk, 0};
    static char value[1000];
    kw_producer_record r = {.topic = topic, .partition = 0, .value = value, .value_len = 1000};
    int sent = 0, rc = 0;
    uint64_t worst = 0;
    for (int i = 0; i < 40; i++) {
        uint64_t t0 = now_ms();
        rc = kw_producer_send(p, &r, on_delivery, &tk);
        if (now_ms() - t0 > worst)
            worst = now_ms() - t0;
        if (rc)
            break;
        sent++;
    }
    ck_assert_int_eq(rc, KW_EFULL);
    ck_assert_int_eq(sent, 19); /* 19 x (1000 + 32) fit in 20000; the 20th does not */
    ck_assert_msg(worst < 50, "a send took %llu ms", (unsigned long long)worst);
    char why[256];
    kw_producer_last_error(p, why, sizeof(why));
    ck_assert_msg(strstr(why, "buffer full"), "%s", why);
    /* waiting for room sends nothing sooner: with the linger holding every batch it times out */
    uint64_t t0 = now_ms();
    ck_assert_int_eq(kw_producer_wait_room(p, 1100, 300), KW_ETIMEDOUT);
    ck_assert_uint_ge(now_ms() - t0, 290);
    ck_assert_int_eq(book_count(bk), 0);
    /* once delivered, the room is back */
    ck_assert_int_eq(kw_producer_flush(p, 20000), 0);
    ck_assert_int_eq(book_count(bk), 19);
    ck_assert_int_eq(kw_producer_wait_room(p, 1100, 0), 0);
    ck_assert_int_eq(kw_producer_send(p, &r, on_delivery, &tk), 0);
    ck_assert_int_eq(kw_producer_destroy(p), 0);
    ck_assert_int_eq(book_count(bk), 20);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(bk->d[i].err, 0);
    book_free(bk);
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

static atomic_int saw_local_bump;

static void log_bumps(void *arg, int level, const char *msg)
{
    (void)arg;
    (void)level;
    if (strstr(msg, ": epoch bumped to 1"))
        atomic_store(&saw_local_bump, 1);
}

START_TEST(a_batch_over_the_brokers_limit_fails_naming_it_and_the_producer_goes_on)
{
    kw_client *c = open_client(bootstrap(), false);
    char topic[128];
    topic_name(topic, sizeof(topic), "big");
    create_topic(c, topic, 1, NULL);
    /* batch_bytes above the broker's default message.max.bytes (1048588) */
    atomic_store(&saw_local_bump, 0);
    kw_producer *p =
        open_producer(c, (kw_producer_options){.batch_bytes = 3000000, .log = log_bumps});
    book *bk = book_new(4);
    ticket tk = {bk, 0};
    size_t big_len = 1500000;
    uint8_t *big = malloc(big_len);
    for (size_t i = 0; i < big_len; i++) /* incompressible enough not to matter: no codec */
        big[i] = (uint8_t)(i * 2654435761u >> 13);
    kw_producer_record r = {.topic = topic, .partition = 0, .value = big, .value_len = big_len};
    send_ok(p, &r, &tk);
    ck_assert_int_eq(kw_producer_flush(p, 20000), 0);
    ck_assert_int_eq(book_count(bk), 1);
    ck_assert_int_eq(bk->d[0].err, KW_EBROKER);
    ck_assert_int_eq(bk->d[0].kerr, 10); /* MESSAGE_TOO_LARGE */
    ck_assert_msg(strstr(bk->first_error, "message.max.bytes"), "%s", bk->first_error);
    /* the failed batch's sequence is unknown to the broker: a new epoch, and on */
    r.value_len = 1000;
    send_ok(p, &r, &tk);
    ck_assert_int_eq(kw_producer_flush(p, 20000), 0);
    ck_assert_int_eq(book_count(bk), 2);
    ck_assert_int_eq(bk->d[1].err, 0);
    ck_assert_int_eq(bk->d[1].offset, 0);
    /* the same producer id under the next epoch, not a new id: a late batch of the old epoch
     * is refused once the new one wrote (a new id would let it land after newer records) */
    ck_assert_int_eq(atomic_load(&saw_local_bump), 1);
    ck_assert_int_eq(kw_producer_destroy(p), 0);
    free(big);
    book_free(bk);
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

/* ---------------------------------------------------------------- faults */

/* The producer's warnings go to the test's log, so a failure says what the producer saw. */
static void log_to_stderr(void *arg, int level, const char *msg)
{
    (void)arg;
    if (level <= KW_LOG_DEBUG)
        fprintf(stderr, "producer log %d: %s\n", level, msg);
}

static int port_of(const char *hostport)
{
    const char *colon = strrchr(hostport, ':');
    return colon ? atoi(colon + 1) : 0;
}

START_TEST(delivery_timeout_fires_against_a_stalled_broker)
{
    kw_client *admin = open_client(bootstrap(), false);
    char topic[128];
    topic_name(topic, sizeof(topic), "stall");
    create_topic(admin, topic, 1, NULL);
    kt_proxy px;
    ck_assert_int_eq(kt_proxy_start_timed(&px, bootstrap(), 120), 0);
    atomic_store(&redirect_to, px.listen_port);
    atomic_store(&redirect_from, port_of(bootstrap()));
    kw_client *c = open_client(px.listen_addr, false);
    kw_producer *p = open_producer(c, (kw_producer_options){.delivery_timeout_ms = 2000});
    book *bk = book_new(16);
    ticket tk = {bk, 0};
    kw_producer_record r = {.topic = topic, .partition = 0, .value = "x", .value_len = 1};
    send_ok(p, &r, &tk);
    ck_assert_int_eq(kw_producer_flush(p, 10000), 0);
    ck_assert_int_eq(bk->d[0].err, 0);
    char reply[256];
    ck_assert_int_eq(kt_proxy_query(&px, "stats", reply, sizeof(reply)), 0);
    ck_assert_msg(kt_proxy_stat(reply, "accepted") >= 1, "%s", reply);

    ck_assert_int_eq(kt_proxy_cmd(&px, "stall"), 0);
    uint64_t t0 = now_ms();
    for (int i = 0; i < 5; i++)
        send_ok(p, &r, &tk);
    ck_assert_int_eq(kw_producer_flush(p, 10000), 0);
    uint64_t took = now_ms() - t0;
    ck_assert_int_eq(book_count(bk), 6);
    for (int i = 1; i < 6; i++)
        ck_assert_int_eq(bk->d[i].err, KW_ETIMEDOUT);
    ck_assert_msg(took >= 1900 && took < 5000, "failed after %llu ms, timeout 2000",
                  (unsigned long long)took);
    fprintf(stderr, "producer: stalled broker, records failed after %llu ms: %s\n",
            (unsigned long long)took, bk->first_error);

    /* A record queued behind one in flight fails at its own deadline, though nothing answers
     * (the producer-id request that follows the first failure is stalled too). */
    ck_assert_int_eq(kw_producer_destroy(p), 0);
    p = open_producer(c, (kw_producer_options){.delivery_timeout_ms = 2000, .max_in_flight = 1});
    send_ok(p, &r, &tk); /* [6]: metadata known, but stalled: no producer id either */
    usleep(1000 * 1000);
    uint64_t t1 = now_ms();
    send_ok(p, &r, &tk); /* [7] */
    ck_assert_int_eq(kw_producer_flush(p, 10000), 0);
    ck_assert_int_eq(book_count(bk), 8);
    ck_assert_int_eq(bk->d[6].err, KW_ETIMEDOUT);
    ck_assert_int_eq(bk->d[7].err, KW_ETIMEDOUT);
    ck_assert_msg(bk->at[7] - t1 >= 1900 && bk->at[7] - t1 < 2600,
                  "the second record failed %llu ms after its send, timeout 2000",
                  (unsigned long long)(bk->at[7] - t1));

    /* the broker back: the producer recovers (a new epoch, since the timed-out batch's
     * sequence is unknown) */
    ck_assert_int_eq(kt_proxy_cmd(&px, "cut"), 0);
    ck_assert_int_eq(kt_proxy_cmd(&px, "forward"), 0);
    send_ok(p, &r, &tk);
    ck_assert_int_eq(kw_producer_flush(p, 20000), 0);
    ck_assert_msg(bk->d[8].err == 0, "%s", kw_err_name(bk->d[8].err));
    ck_assert_int_eq(kw_producer_destroy(p), 0);
    kw_client_destroy(c);
    atomic_store(&redirect_from, 0);
    kt_proxy_stop(&px);
    book_free(bk);
    delete_topic(admin, topic);
    kw_client_destroy(admin);
}
END_TEST

static void cuts_run(int n, int cut_every, int pause_every)
{
    kw_client *admin = open_client(bootstrap(), false);
    char topic[128];
    topic_name(topic, sizeof(topic), "cuts");
    create_topic(admin, topic, 1, NULL);
    kt_proxy px;
    ck_assert_int_eq(kt_proxy_start_timed(&px, bootstrap(), 120), 0);
    atomic_store(&redirect_to, px.listen_port);
    atomic_store(&redirect_from, port_of(bootstrap()));
    kw_client *c = open_client(px.listen_addr, false);
    kw_producer *p = open_producer(c, (kw_producer_options){.batch_bytes = 8192,
                                                            .linger_ms = 2,
                                                            .delivery_timeout_ms = 60000,
                                                            .log = log_to_stderr});
    const int N = n;
    book *bk = book_new(N);
    ticket *tk = calloc((size_t)N, sizeof(*tk));
    int cuts = 0;
    for (int i = 0; i < N; i++) {
        char value[64];
        int len = snprintf(value, sizeof(value), "record-%06d-%s", i, "payload-payload-payload");
        kw_producer_record r = {
            .topic = topic, .partition = 0, .value = value, .value_len = (size_t)len};
        tk[i] = (ticket){bk, i};
        int rc;
        while ((rc = kw_producer_send(p, &r, on_delivery, &tk[i])) == KW_EFULL)
            usleep(1000);
        ck_assert_int_eq(rc, 0);
        if (pause_every && i % pause_every == pause_every - 1)
            usleep(20000); /* a steady stream, so every cut finds requests in flight */
        if (i % cut_every == cut_every / 2) {
            /* a full stream queues faster than it is written: after the first cut (which hits
             * the first batches, before any is acknowledged) let the producer catch up to a few
             * batches behind, so each cut finds live requests, not a reconnect's backoff */
            for (int w = 0; !pause_every && cuts && w < 10000 && book_count(bk) < i - 2000; w++)
                usleep(1000);
            ck_assert_int_eq(kt_proxy_cmd(&px, "cut"), 0);
            cuts++;
        }
    }
    ck_assert_int_eq(cuts, N / cut_every);
    ck_assert_int_eq(kw_producer_flush(p, 60000), 0);
    ck_assert_int_eq(book_count(bk), N);
    for (int i = 0; i < N; i++) {
        ck_assert_msg(bk->d[i].err == 0, "record %d: %s", i, bk->first_error);
        ck_assert_int_eq(bk->tag[i], i);
        ck_assert_int_eq(bk->d[i].offset, i);
    }
    char reply[256];
    ck_assert_int_eq(kt_proxy_query(&px, "stats", reply, sizeof(reply)), 0);
    fprintf(stderr, "producer: through %d cuts: %s\n", cuts, reply);
    /* the cuts hit live Produce connections: the producer connected again through the proxy
     * (a cut during a reconnect's backoff finds nothing to cut, so not always 10 times) */
    ck_assert_msg(kt_proxy_stat(reply, "accepted") >= cuts * 6 / 10, "%s", reply);
    ck_assert_int_eq(kw_producer_destroy(p), 0);
    kw_client_destroy(c);
    atomic_store(&redirect_from, 0);
    kt_proxy_stop(&px);
    /* exactly N records, each once, in send order */
    got *g = read_back(admin, topic, 0, N);
    for (int i = 0; i < N; i++) {
        char value[64];
        int len = snprintf(value, sizeof(value), "record-%06d-%s", i, "payload-payload-payload");
        ck_assert_int_eq(g[i].value.len, len);
        ck_assert_msg(memcmp(g[i].value.ptr, value, (size_t)len) == 0, "offset %d holds %.*s", i,
                      g[i].value.len, (const char *)g[i].value.ptr);
    }
    got_free(g, N);
    kw_client_list_offsets_args lo = {
        .topic = topic, .partition = 0, .spec = KW_CLIENT_OFFSET_LATEST};
    kw_client_list_offsets_result lr;
    ASSERT_OK(kw_client_list_offsets(admin, &lo, &lr), lr.detail);
    ck_assert_int_eq(lr.offset, N); /* nothing written twice */
    book_free(bk);
    free(tk);
    delete_topic(admin, topic);
    kw_client_destroy(admin);
}

/*
 * A broker with no state for a producer on a partition takes the first batch
 * it sees whatever its sequence.  Here the first batches of a fresh producer
 * on a partition never reach the broker (the proxy holds them, then cuts), so
 * every one is resent, in the order of the resends' backoffs.  Before the
 * producer sent one batch alone until one was acknowledged, a later batch
 * could land first and the earlier ones then failed OUT_OF_ORDER_SEQUENCE,
 * bumping the epoch and writing batches twice, or resent until the delivery timeout
 * (one round in 6 or so).
 */
START_TEST(first_batches_lost_in_a_cut_land_once_and_in_order)
{
    kw_client *admin = open_client(bootstrap(), false);
    char topic[128];
    topic_name(topic, sizeof(topic), "first");
    enum { ROUNDS = 6, N = 10 };
    create_topic(admin, topic, ROUNDS + 1, NULL);
    kt_proxy px;
    ck_assert_int_eq(kt_proxy_start_timed(&px, bootstrap(), 120), 0);
    atomic_store(&redirect_to, px.listen_port);
    atomic_store(&redirect_from, port_of(bootstrap()));
    kw_client *c = open_client(px.listen_addr, false);
    book *bk = book_new(ROUNDS * (N + 1));
    ticket tk[ROUNDS * (N + 1)];
    char value[900];
    for (int round = 0; round < ROUNDS; round++) {
        /* a fresh producer: a producer id the broker has seen on no partition */
        kw_producer *p = open_producer(c, (kw_producer_options){.batch_bytes = 1024,
                                                                .delivery_timeout_ms = 30000,
                                                                .log = log_to_stderr});
        int base = round * (N + 1);
        /* its id, the metadata and the connection, from a record on partition 0 */
        kw_producer_record warm = {.topic = topic, .partition = 0, .value = "warm", .value_len = 4};
        tk[base] = (ticket){bk, -1};
        send_ok(p, &warm, &tk[base]);
        ck_assert_int_eq(kw_producer_flush(p, 20000), 0);
        ck_assert_int_eq(book_count(bk), base + 1);
        ck_assert_msg(bk->d[base].err == 0, "%s", bk->first_error);

        ck_assert_int_eq(kt_proxy_cmd(&px, "stall"), 0);
        for (int i = 0; i < N; i++) { /* one batch each */
            memset(value, 'a' + i, sizeof(value));
            kw_producer_record r = {
                .topic = topic, .partition = round + 1, .value = value, .value_len = sizeof(value)};
            tk[base + 1 + i] = (ticket){bk, i};
            send_ok(p, &r, &tk[base + 1 + i]);
        }
        usleep(300 * 1000); /* what may go out is out, held by the proxy */
        ck_assert_int_eq(kt_proxy_cmd(&px, "cut"), 0);
        ck_assert_int_eq(kt_proxy_cmd(&px, "forward"), 0);
        ck_assert_int_eq(kw_producer_flush(p, 30000), 0);
        ck_assert_int_eq(book_count(bk), base + 1 + N);
        for (int i = 0; i < N; i++) {
            const kw_producer_delivery *d = &bk->d[base + 1 + i];
            ck_assert_msg(d->err == 0, "round %d record %d: %s", round, i, bk->first_error);
            ck_assert_int_eq(bk->tag[base + 1 + i], i);
            ck_assert_int_eq(d->offset, i);
        }
        ck_assert_int_eq(kw_producer_destroy(p), 0);
        /* the log holds each once, in send order */
        got *g = read_back(admin, topic, round + 1, N);
        for (int i = 0; i < N; i++) {
            ck_assert_int_eq(g[i].value.len, (int)sizeof(value));
            ck_assert_msg(((const char *)g[i].value.ptr)[0] == 'a' + i,
                          "round %d: offset %d holds record %d", round, i,
                          ((const char *)g[i].value.ptr)[0] - 'a');
        }
        got_free(g, N);
        kw_client_list_offsets_args lo = {
            .topic = topic, .partition = round + 1, .spec = KW_CLIENT_OFFSET_LATEST};
        kw_client_list_offsets_result lr;
        ASSERT_OK(kw_client_list_offsets(admin, &lo, &lr), lr.detail);
        ck_assert_int_eq(lr.offset, N);
    }
    kw_client_destroy(c);
    atomic_store(&redirect_from, 0);
    kt_proxy_stop(&px);
    book_free(bk);
    delete_topic(admin, topic);
    kw_client_destroy(admin);
}
END_TEST

/*
 * A connection that goes silent (no answer, no close) costs request_timeout_ms:
 * the connection is closed and the batch goes again on a new one.  Before the
 * producer had a request timeout it waited until the delivery timeout (seen
 * in the network-partition runs: partitions stalled for up to 120 s).
 */
START_TEST(a_silent_connection_costs_the_request_timeout_not_the_delivery_timeout)
{
    kw_client *admin = open_client(bootstrap(), false);
    char topic[128];
    topic_name(topic, sizeof(topic), "silent");
    create_topic(admin, topic, 1, NULL);
    kt_proxy px;
    ck_assert_int_eq(kt_proxy_start_timed(&px, bootstrap(), 120), 0);
    atomic_store(&redirect_to, px.listen_port);
    atomic_store(&redirect_from, port_of(bootstrap()));
    kw_client *c = open_client(px.listen_addr, false);
    kw_producer *p = open_producer(c, (kw_producer_options){.request_timeout_ms = 1500,
                                                            .delivery_timeout_ms = 60000,
                                                            .log = log_to_stderr});
    book *bk = book_new(8);
    ticket tk[8];
    kw_producer_record r = {.topic = topic, .partition = 0, .value = "before", .value_len = 6};
    tk[0] = (ticket){bk, 0};
    send_ok(p, &r, &tk[0]);
    ck_assert_int_eq(kw_producer_flush(p, 20000), 0);
    ck_assert_msg(bk->d[0].err == 0, "%s", bk->first_error);

    ck_assert_int_eq(kt_proxy_cmd(&px, "freeze"), 0); /* what is open now goes silent */
    uint64_t t0 = now_ms();
    for (int i = 1; i < 6; i++) {
        r.value = "after";
        r.value_len = 5;
        tk[i] = (ticket){bk, i};
        send_ok(p, &r, &tk[i]);
    }
    ck_assert_int_eq(kw_producer_flush(p, 20000), 0);
    uint64_t took = now_ms() - t0;
    ck_assert_int_eq(book_count(bk), 6);
    for (int i = 1; i < 6; i++) {
        ck_assert_msg(bk->d[i].err == 0, "record %d: %s", i, bk->first_error);
        ck_assert_int_eq(bk->tag[i], i);
        ck_assert_int_eq(bk->d[i].offset, i);
    }
    ck_assert_msg(took >= 1400 && took < 10000, "delivered after %llu ms, request timeout 1500",
                  (unsigned long long)took);
    fprintf(stderr, "producer: a silent connection cost %llu ms (request timeout 1500)\n",
            (unsigned long long)took);
    char reply[256];
    ck_assert_int_eq(kt_proxy_query(&px, "stats", reply, sizeof(reply)), 0);
    ck_assert_msg(kt_proxy_stat(reply, "accepted") >= 2, "%s", reply); /* a new connection */
    ck_assert_int_eq(kw_producer_destroy(p), 0);
    kw_client_destroy(c);
    atomic_store(&redirect_from, 0);
    kt_proxy_stop(&px);
    kw_client_list_offsets_args lo = {
        .topic = topic, .partition = 0, .spec = KW_CLIENT_OFFSET_LATEST};
    kw_client_list_offsets_result lr;
    ASSERT_OK(kw_client_list_offsets(admin, &lo, &lr), lr.detail);
    ck_assert_int_eq(lr.offset, 6); /* each once */
    book_free(bk);
    delete_topic(admin, topic);
    kw_client_destroy(admin);
}
END_TEST

START_TEST(idempotent_producer_writes_each_record_once_in_order_through_ten_cuts)
{
    cuts_run(20000, 2000, 200);
}
END_TEST

START_TEST(a_full_stream_through_cuts_keeps_every_record_once)
{
    cuts_run(100000, 10000, 0);
}
END_TEST

/* ---------------------------------------------------------------- threads */

typedef struct sender {
    kw_producer *p;
    const char *topic;
    int id, n;
    ticket *tk;
    book *bk;
} sender;

static void *send_thread(void *arg)
{
    sender *s = arg;
    for (int i = 0; i < s->n; i++) {
        char value[32];
        int len = snprintf(value, sizeof(value), "%d:%06d", s->id, i);
        kw_producer_record r = {
            .topic = s->topic, .partition = 0, .value = value, .value_len = (size_t)len};
        s->tk[i] = (ticket){s->bk, s->id * 1000000 + i};
        int rc;
        while ((rc = kw_producer_send(s->p, &r, on_delivery, &s->tk[i])) == KW_EFULL)
            kw_producer_wait_room(s->p, 64, 1000);
        ck_assert_int_eq(rc, 0);
    }
    return NULL;
}

START_TEST(senders_on_four_threads_each_keep_their_order)
{
    kw_client *c = open_client(bootstrap(), false);
    char topic[128];
    topic_name(topic, sizeof(topic), "threads");
    create_topic(c, topic, 1, NULL);
    kw_producer *p =
        open_producer(c, (kw_producer_options){.batch_bytes = 16384, .buffer_bytes = 200000});
    enum { T = 4, N = 5000 };
    book *bk = book_new(T * N);
    sender s[T];
    pthread_t th[T];
    for (int i = 0; i < T; i++) {
        s[i] = (sender){p, topic, i, N, calloc(N, sizeof(ticket)), bk};
        ck_assert_int_eq(pthread_create(&th[i], NULL, send_thread, &s[i]), 0);
    }
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(kw_producer_flush(p, 30000), 0);
    ck_assert_int_eq(book_count(bk), T * N);
    /* callbacks come in offset order, and each thread's records in its send order */
    int next[T] = {0};
    for (int i = 0; i < T * N; i++) {
        ck_assert_int_eq(bk->d[i].err, 0);
        ck_assert_int_eq(bk->d[i].offset, i);
        int id = bk->tag[i] / 1000000, seq = bk->tag[i] % 1000000;
        ck_assert_int_eq(seq, next[id]++);
    }
    got *g = read_back(c, topic, 0, T * N);
    int seen[T] = {0};
    for (int i = 0; i < T * N; i++) {
        int id, seq;
        char text[32] = "";
        ck_assert(g[i].value.len > 0 && g[i].value.len < (int32_t)sizeof(text));
        memcpy(text, g[i].value.ptr, (size_t)g[i].value.len);
        ck_assert_int_eq(sscanf(text, "%d:%d", &id, &seq), 2);
        ck_assert_int_eq(seq, seen[id]++);
    }
    got_free(g, T * N);
    ck_assert_int_eq(kw_producer_destroy(p), 0);
    for (int i = 0; i < T; i++)
        free(s[i].tk);
    book_free(bk);
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

/* ---------------------------------------------------------------- timestamps, topics, modes */

START_TEST(a_log_append_time_topic_returns_the_brokers_timestamp)
{
    kw_client *c = open_client(bootstrap(), false);
    char topic[128];
    topic_name(topic, sizeof(topic), "lat");
    create_topic(c, topic, 1, "LogAppendTime");
    kw_producer *p = open_producer(c, (kw_producer_options){0});
    book *bk = book_new(4);
    ticket tk = {bk, 0};
    kw_producer_record r = {.topic = topic,
                            .partition = 0,
                            .value = "x",
                            .value_len = 1,
                            .timestamp_ms = 1000}; /* 1970: the broker replaces it */
    int64_t before = wall_ms();
    send_ok(p, &r, &tk);
    send_ok(p, &r, &tk);
    ck_assert_int_eq(kw_producer_flush(p, 20000), 0);
    int64_t after = wall_ms();
    ck_assert_int_eq(book_count(bk), 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(bk->d[i].err, 0);
        ck_assert_int_eq(bk->d[i].timestamp_type, KW_TIMESTAMP_LOG_APPEND_TIME);
        ck_assert_msg(bk->d[i].timestamp_ms >= before - 5000 &&
                          bk->d[i].timestamp_ms <= after + 5000,
                      "timestamp %lld", (long long)bk->d[i].timestamp_ms);
    }
    got *g = read_back(c, topic, 0, 2);
    ck_assert(g[0].log_append_time);
    ck_assert_int_eq(g[0].timestamp, bk->d[0].timestamp_ms);
    got_free(g, 2);
    ck_assert_int_eq(kw_producer_destroy(p), 0);
    book_free(bk);
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

START_TEST(unknown_topic_fails_at_the_delivery_timeout_naming_it)
{
    kw_client *c = open_client(bootstrap(), false);
    kw_producer *p = open_producer(c, (kw_producer_options){.delivery_timeout_ms = 1500});
    char topic[128];
    topic_name(topic, sizeof(topic), "absent");
    book *bk = book_new(4);
    ticket tk = {bk, 0};
    kw_producer_record r = {
        .topic = topic, .partition = -1, .key = "k", .key_len = 1, .value = "x", .value_len = 1};
    send_ok(p, &r, &tk);
    uint64_t t0 = now_ms();
    ck_assert_int_eq(kw_producer_flush(p, 10000), 0);
    uint64_t took = now_ms() - t0;
    ck_assert_int_eq(book_count(bk), 1);
    ck_assert_int_eq(bk->d[0].err, KW_EBROKER);
    ck_assert_int_eq(bk->d[0].kerr, 3);
    ck_assert_msg(strstr(bk->first_error, topic) && strstr(bk->first_error, "does not exist"), "%s",
                  bk->first_error);
    ck_assert_msg(took >= 1000 && took < 4000, "took %llu ms", (unsigned long long)took);
    ck_assert_int_eq(kw_producer_destroy(p), 0);
    book_free(bk);
    kw_client_destroy(c);
}
END_TEST

typedef struct reentry {
    kw_producer *p;
    atomic_int flush_rc, destroy_rc, send_rc, wait_rc, calls;
    const char *topic;
} reentry;

static void on_delivery_reenter(const kw_producer_delivery *d, void *arg)
{
    reentry *re = arg;
    (void)d;
    if (atomic_fetch_add(&re->calls, 1) == 0) {
        atomic_store(&re->flush_rc, kw_producer_flush(re->p, 1000));
        atomic_store(&re->destroy_rc, kw_producer_destroy(re->p));
        atomic_store(&re->wait_rc, kw_producer_wait_room(re->p, 1, 1000));
        kw_producer_record r = {
            .topic = re->topic, .partition = 0, .value = "again", .value_len = 5};
        atomic_store(&re->send_rc, kw_producer_send(re->p, &r, on_delivery_reenter, re));
    }
}

static void keyed_spread(kw_client *c, bool host_driven)
{
    char topic[128];
    topic_name(topic, sizeof(topic), host_driven ? "host" : "thread");
    create_topic(c, topic, 3, NULL);
    kw_producer *p = open_producer(c, (kw_producer_options){.compression = KW_COMPRESSION_SNAPPY});
    /* a callback may send but not flush or destroy */
    reentry re = {.p = p, .topic = topic};
    kw_producer_record r = {.topic = topic, .partition = 0, .value = "first", .value_len = 5};
    ck_assert_int_eq(kw_producer_send(p, &r, on_delivery_reenter, &re), 0);
    ck_assert_int_eq(kw_producer_flush(p, 20000), 0);
    ck_assert_int_eq(atomic_load(&re.flush_rc), KW_EDEADLK);
    ck_assert_int_eq(atomic_load(&re.destroy_rc), KW_EDEADLK);
    ck_assert_int_eq(atomic_load(&re.send_rc), 0);
    ck_assert_int_eq(atomic_load(&re.wait_rc), KW_EDEADLK);
    ck_assert_int_eq(kw_producer_wait_room(p, 1000, 1000), 0); /* room: at once */
    ck_assert_int_eq(kw_producer_flush(p, 20000), 0);
    ck_assert_int_eq(atomic_load(&re.calls), 2);
    /* keys: each on the Java client's partition ("kafka" -> 1, "abc" -> 0, "ab" -> 2 of 3) */
    book *bk = book_new(300);
    ticket tk[300];
    const char *keys[] = {"kafka", "abc", "ab"};
    const int32_t want[] = {1, 0, 2};
    for (int i = 0; i < 300; i++) {
        kw_producer_record kr = {.topic = topic,
                                 .partition = -1,
                                 .key = keys[i % 3],
                                 .key_len = strlen(keys[i % 3]),
                                 .value = "v",
                                 .value_len = 1};
        tk[i] = (ticket){bk, i};
        send_ok(p, &kr, &tk[i]);
    }
    ck_assert_int_eq(kw_producer_flush(p, 20000), 0);
    ck_assert_int_eq(book_count(bk), 300);
    int64_t next[3] = {0, 0, 0};
    next[0] = 2; /* "first" and "again" went to partition 0 */
    for (int i = 0; i < 300; i++) {
        ck_assert_int_eq(bk->d[i].err, 0);
        int32_t part = bk->d[i].partition;
        ck_assert(part >= 0 && part < 3);
        /* per partition: in send order, consecutive offsets */
        ck_assert_int_eq(bk->d[i].offset, next[part]++);
    }
    for (int i = 0; i < 300; i++)
        ck_assert_int_eq(bk->d[i].partition, want[bk->tag[i] % 3]);
    if (host_driven) { /* no I/O thread: the cluster's counters are ours to read */
        uint64_t requests = 0, calls = 0;
        kw__cluster_coalesced(c->cluster, &requests, &calls);
        /* the three partitions' batches, ready in one round, shared Produce requests */
        ck_assert_uint_ge(requests, 1);
        ck_assert_uint_ge(calls, 2 * requests);
    }
    ck_assert_int_eq(kw_producer_destroy(p), 0);
    book_free(bk);
    delete_topic(c, topic);
}

START_TEST(keys_land_on_the_java_partition_and_callbacks_may_not_block)
{
    kw_client *c = open_client(bootstrap(), false);
    keyed_spread(c, false);
    kw_client_destroy(c);
}
END_TEST

START_TEST(host_driven_client_runs_the_producer_inside_flush)
{
    kw_client *c = open_client(bootstrap(), true);
    keyed_spread(c, true);
    kw_client_destroy(c);
}
END_TEST

typedef struct driver {
    kw_client *c;
    atomic_bool stop;
    atomic_int rounds;
} driver;

/* The host's loop thread: runs the client until told to stop. */
static void *drive(void *arg)
{
    driver *d = arg;
    while (!atomic_load(&d->stop)) {
        int rc = kw_client_run_once(d->c, 20);
        ck_assert_int_ge(rc, 0);
        atomic_fetch_add(&d->rounds, 1);
    }
    return NULL;
}

/* A host drives the loop on its own thread; another thread's flush waits for it (no KW_EDEADLK). */
START_TEST(flush_from_another_thread_waits_for_the_hosts_loop_thread)
{
    kw_client *c = open_client(bootstrap(), true);
    char topic[128];
    topic_name(topic, sizeof(topic), "driver");
    create_topic(c, topic, 1, NULL);
    kw_producer *p = open_producer(c, (kw_producer_options){.linger_ms = 50});
    driver d = {.c = c};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, drive, &d), 0);
    while (atomic_load(&d.rounds) < 3)
        usleep(1000);
    enum { N = 500 };
    book *bk = book_new(N);
    ticket tk[N];
    for (int i = 0; i < N; i++) {
        tk[i] = (ticket){bk, i};
        kw_producer_record r = {.topic = topic, .partition = 0, .value = "v", .value_len = 1};
        send_ok(p, &r, &tk[i]);
    }
    ck_assert_int_eq(kw_producer_flush(p, 20000), 0);
    ck_assert_int_eq(book_count(bk), N);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(bk->d[i].err, 0);
        ck_assert_int_eq(bk->tag[i], i);
        ck_assert_int_eq(bk->d[i].offset, i);
    }
    ck_assert_int_eq(kw_producer_destroy(p), 0); /* also while the host's thread drives */
    atomic_store(&d.stop, true);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    book_free(bk);
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

int main(void)
{
    if (!bootstrap() || !*bootstrap()) {
        fprintf(stderr, "KWAL_BOOTSTRAP is not set: skipping the producer's broker tests\n");
        return 77;
    }
    Suite *s = suite_create("producer");
    TCase *tc = tcase_create("broker");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, headers_keys_and_nulls_round_trip_with_every_codec);
    tcase_add_test(tc, acks_leader_and_none_deliver_too);
    tcase_add_test(tc, a_record_waits_linger_ms_when_its_batch_is_not_full);
    tcase_add_test(tc, a_full_buffer_fails_send_at_once);
    tcase_add_test(tc, a_batch_over_the_brokers_limit_fails_naming_it_and_the_producer_goes_on);
    tcase_add_test(tc, delivery_timeout_fires_against_a_stalled_broker);
    tcase_add_test(tc, senders_on_four_threads_each_keep_their_order);
    tcase_add_test(tc, a_log_append_time_topic_returns_the_brokers_timestamp);
    tcase_add_test(tc, unknown_topic_fails_at_the_delivery_timeout_naming_it);
    tcase_add_test(tc, keys_land_on_the_java_partition_and_callbacks_may_not_block);
    tcase_add_test(tc, host_driven_client_runs_the_producer_inside_flush);
    tcase_add_test(tc, flush_from_another_thread_waits_for_the_hosts_loop_thread);
    suite_add_tcase(s, tc);
    /* its own case, so CK_RUN_CASE=cuts runs it alone (it is the one with the most moves) */
    TCase *cuts = tcase_create("cuts");
    tcase_set_timeout(cuts, 180);
    tcase_add_test(cuts, idempotent_producer_writes_each_record_once_in_order_through_ten_cuts);
    tcase_add_test(cuts, a_full_stream_through_cuts_keeps_every_record_once);
    tcase_add_test(cuts, first_batches_lost_in_a_cut_land_once_and_in_order);
    tcase_add_test(cuts, a_silent_connection_costs_the_request_timeout_not_the_delivery_timeout);
    suite_add_tcase(s, cuts);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
