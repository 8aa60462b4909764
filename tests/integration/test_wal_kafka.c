/* The Kafka WAL provider against the real broker: append/replay, splitting, cuts, pruning, bad records. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kafka_io.h"
#include "kwal/client.h"
#include "kwal/meta.h"
#include "kwal/wal.h"
#include "proto/batch.h"
#include "proto/msg_data.h"
#include "proxy_ctl.h"
#include "wal/record.h"

static kt_conn admin;
static char topic_prefix[64];

/*
 * The WAL produces to the broker's advertised address, not to the bootstrap one, so a proxy
 * given as bootstrap carries only the first connection.  To put the fault proxy under the
 * Produce connections too, this test links with -Wl,--wrap=connect: while redirect_from is
 * set, a connection to that loopback port goes to port redirect_to (the proxy) instead.
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

/* Every connection to the broker goes through px from now (until redirect_off). */
static void redirect_through(const kt_proxy *px)
{
    const char *colon = strrchr(kt_bootstrap(), ':');
    atomic_store(&redirect_to, px->listen_port);
    atomic_store(&redirect_from, colon ? atoi(colon + 1) : 0);
}

static void redirect_off(void)
{
    atomic_store(&redirect_from, 0);
}

/* The proxy took at least min connections: the cuts hit the Produce connections (each cut is
 * followed by a new one), not only the bootstrap connection. */
static void assert_accepted(kt_proxy *px, long long min)
{
    char reply[256];
    ck_assert_int_eq(kt_proxy_query(px, "stats", reply, sizeof(reply)), 0);
    fprintf(stderr, "proxy: %s\n", reply);
    ck_assert_msg(kt_proxy_stat(reply, "accepted") >= min, "fewer than %lld connections: %s", min,
                  reply);
}

static void setup(void)
{
    ck_assert_msg(kt_connect(&admin, kt_bootstrap()) == 0, "cannot reach the broker at %s",
                  kt_bootstrap());
    snprintf(topic_prefix, sizeof(topic_prefix), "kwal-wal-%d", getpid());
}

static void teardown(void)
{
    kt_close(&admin);
}

static void make_topic(char *name, size_t cap, const char *what)
{
    static int n;
    snprintf(name, cap, "%s-%s-%d", topic_prefix, what, n++);
    ck_assert_int_eq(kt_create_topic(&admin, name, 1), 0);
}

static kw_wal *open_wal(const char *bootstrap, const char *topic, size_t max_batch,
                        kw_wal_options *extra)
{
    kw_wal_options o = extra ? *extra : (kw_wal_options){0};
    o.provider = KW_WAL_PROVIDER_KAFKA;
    o.kafka.bootstrap = bootstrap;
    o.topic = topic;
    o.max_batch_bytes = max_batch;
    if (!o.timeout_ms)
        o.timeout_ms = 10000;
    kw_wal *w = NULL;
    char err[256];
    int rc = kw_wal_open(&w, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_wal_open: %s (%s)", err, kw_err_name(rc));
    return w;
}

/*
 * Deterministic entry bytes: region r, sequence i, length len.  Every other
 * run of 8 sequences is text-like (LZ4 shrinks it, so kwal stores it
 * compressed), the others noise (stored as is).
 */
static uint8_t *entry_bytes(uint64_t r, int i, size_t len)
{
    static const char *const words[] = {"region ", "append ", "offset ", "flush "};
    uint8_t *b = malloc(len ? len : 1);
    uint64_t x = r * 1000003u + (uint64_t)i * 7919u + 1;
    bool text = (i / 8) % 2 == 1;
    for (size_t j = 0; j < len;) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (text)
            for (const char *w = words[x % 4]; *w && j < len; w++)
                b[j++] = (uint8_t)*w;
        else
            b[j++] = (uint8_t)x;
    }
    return b;
}

static size_t entry_len(int i)
{
    /* small, around the batch size, and a few that need many parts */
    static const size_t sizes[] = {1, 100, 1000, 3000, 9000, 40000, 0, 517};
    return sizes[i % 8];
}

typedef struct acked {
    uint64_t region;
    int seq;
    uint64_t id;
    int err;
    bool done;
} acked;

typedef struct ack_book {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int done;
} ack_book;
static ack_book book = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

static void on_ack(void *arg, int err, uint64_t id, const char *detail)
{
    acked *a = arg;
    pthread_mutex_lock(&book.mu);
    a->err = err;
    a->id = id;
    a->done = true;
    book.done++;
    pthread_cond_broadcast(&book.cond);
    pthread_mutex_unlock(&book.mu);
}

static void wait_acks(int n)
{
    pthread_mutex_lock(&book.mu);
    while (book.done < n)
        pthread_cond_wait(&book.cond, &book.mu);
    pthread_mutex_unlock(&book.mu);
}

/*
 * Appends a[0..n) asynchronously: entry i goes to region first_region + i % regions, with
 * entry_len(i) bytes (cut to len_cap when it is not 0); returns once every callback ran.
 */
static void append_spread(kw_wal *w, acked *a, int n, uint64_t first_region, int regions,
                          size_t len_cap)
{
    book.done = 0;
    for (int i = 0; i < n; i++) {
        a[i].region = first_region + (uint64_t)(i % regions);
        a[i].seq = i;
        size_t len = len_cap ? entry_len(i) % len_cap : entry_len(i);
        uint8_t *b = entry_bytes(a[i].region, i, len);
        ck_assert_int_eq(kw_wal_append(w, a[i].region, b, len, on_ack, &a[i]), 0);
        free(b);
    }
    wait_acks(n);
}

/* Replays region r and checks the acknowledged entries come back once each, in order. */
static void check_replay(kw_wal *w, uint64_t r, const acked *a, int n, bool allow_unacked)
{
    kw_wal_replay *rp;
    ck_assert_int_eq(kw_wal_replay_open(w, r, 0, 0, &rp), 0);
    uint64_t id, last = 0;
    const uint8_t *data;
    size_t len;
    int got = 0, rc;
    int next = 0; /* the next acked entry of r we expect */
    while ((rc = kw_wal_replay_next(rp, &id, &data, &len, 5000)) == 1) {
        ck_assert_msg(got == 0 || id > last, "ids must grow: %llu after %llu",
                      (unsigned long long)id, (unsigned long long)last);
        last = id;
        got++;
        while (next < n && (a[next].region != r || a[next].err))
            next++;
        if (next < n && a[next].id == id) {
            size_t el = entry_len(a[next].seq);
            uint8_t *want = entry_bytes(r, a[next].seq, el);
            ck_assert_uint_eq(len, el);
            ck_assert_msg(el == 0 || memcmp(data, want, el) == 0, "entry %llu differs",
                          (unsigned long long)id);
            free(want);
            next++;
        } else {
            ck_assert_msg(allow_unacked, "region %llu: entry %llu was never acknowledged",
                          (unsigned long long)r, (unsigned long long)id);
        }
    }
    ck_assert_msg(rc == 0, "replay: %s (%s)", kw_wal_replay_errstr(rp), kw_err_name(rc));
    while (next < n && (a[next].region != r || a[next].err))
        next++;
    ck_assert_msg(next == n, "region %llu: acknowledged entry %llu missing from replay",
                  (unsigned long long)r, next < n ? (unsigned long long)a[next].id : 0ull);
    kw_wal_replay_stats st;
    kw_wal_replay_stats_get(rp, &st);
    ck_assert_uint_eq(st.bad_records, 0);
    kw_wal_replay_close(rp);
}

START_TEST(append_and_replay_with_split_entries_three_regions)
{
    char topic[128];
    make_topic(topic, sizeof(topic), "split");
    /* 4 KiB batches: entries of 9000 and 40000 bytes become several parts */
    kw_wal *w = open_wal(kt_bootstrap(), topic, 4096, NULL);
    enum { N = 240 };
    acked *a = calloc(N, sizeof(*a));
    append_spread(w, a, N, 1, 3, 0);
    uint64_t prev = 0;
    for (int i = 0; i < N; i++) {
        ck_assert_msg(a[i].err == 0, "append %d: %s", i, kw_err_name(a[i].err));
        ck_assert_msg(a[i].id > prev || i == 0, "ids grow with append order");
        prev = a[i].id;
    }
    for (uint64_t r = 1; r <= 3; r++) {
        check_replay(w, r, a, N, false);
        uint64_t latest, want = 0;
        for (int i = 0; i < N; i++)
            if (a[i].region == r && a[i].id > want)
                want = a[i].id;
        ck_assert_int_eq(kw_wal_latest_entry_id(w, r, &latest), 0);
        ck_assert_uint_eq(latest, want);
    }
    kw_wal_stats st;
    kw_wal_stats_get(w, &st);
    ck_assert_uint_eq(st.appends, N);
    ck_assert_uint_eq(st.append_errors, 0);
    ck_assert_uint_gt(st.batches, 1);
    ck_assert_uint_eq(st.in_flight, 0);
    kw_wal_close(w);
    free(a);
}
END_TEST

/* The highest Fetch version a WAL's connections logged ("connected to ...; ... Fetch vN"). */
static void fetch_version_log(void *arg, int level, const char *msg)
{
    (void)level;
    const char *f = strstr(msg, "Fetch v");
    if (f && strstr(msg, "connected to")) {
        int v = atoi(f + 7);
        if (v > __atomic_load_n((int *)arg, __ATOMIC_RELAXED))
            __atomic_store_n((int *)arg, v, __ATOMIC_RELAXED);
    }
}

START_TEST(replay_reads_by_topic_id_and_capped_at_3_0_by_name)
{
    char topic[128];
    make_topic(topic, sizeof(topic), "ids");
    int seen = -1;
    kw_wal_options o = {0};
    o.kafka.log = fetch_version_log; /* the client's own log has the connections' debug lines */
    o.kafka.log_arg = &seen;
    kw_wal *w = open_wal(kt_bootstrap(), topic, 4096, &o);
    enum { N = 60 };
    acked *a = calloc(N, sizeof(*a));
    append_spread(w, a, N, 7, 2, 0);
    check_replay(w, 7, a, N, false);
    check_replay(w, 8, a, N, false);
    kw_wal_close(w);
    ck_assert_msg(seen >= 13 && seen <= 17, "Fetch v%d", seen);

    int capped = -1;
    kw_wal_options oc = {0};
    oc.kafka.log = fetch_version_log;
    oc.kafka.log_arg = &capped;
    oc.kafka.api_version_max = "3.0";
    kw_wal *wc = open_wal(kt_bootstrap(), topic, 4096, &oc);
    check_replay(wc, 7, a, N, false);
    check_replay(wc, 8, a, N, false);
    kw_wal_close(wc);
    ck_assert_int_eq(capped, 12);
    free(a);
}
END_TEST

START_TEST(append_sync_and_replay_from_an_id)
{
    char topic[128];
    make_topic(topic, sizeof(topic), "sync");
    kw_wal *w = open_wal(kt_bootstrap(), topic, 0, NULL);
    uint64_t ids[10];
    for (int i = 0; i < 10; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof(msg), "entry %d", i);
        ck_assert_int_eq(kw_wal_append_sync(w, 7, msg, (size_t)n, &ids[i]), 0);
        if (i)
            ck_assert_uint_gt(ids[i], ids[i - 1]);
    }
    kw_wal_replay *rp;
    ck_assert_int_eq(kw_wal_replay_open(w, 7, ids[6], 0, &rp), 0);
    uint64_t id;
    const uint8_t *data;
    size_t len;
    for (int i = 6; i < 10; i++) {
        ck_assert_int_eq(kw_wal_replay_next(rp, &id, &data, &len, 5000), 1);
        ck_assert_uint_eq(id, ids[i]);
        char msg[32];
        int n = snprintf(msg, sizeof(msg), "entry %d", i);
        ck_assert_uint_eq(len, (size_t)n);
        ck_assert_mem_eq(data, msg, len);
    }
    ck_assert_int_eq(kw_wal_replay_next(rp, &id, &data, &len, 5000), 0);
    kw_wal_replay_close(rp);
    /* an empty region replays nothing */
    ck_assert_int_eq(kw_wal_replay_open(w, 8, 0, 0, &rp), 0);
    ck_assert_int_eq(kw_wal_replay_next(rp, &id, &data, &len, 5000), 0);
    kw_wal_replay_close(rp);
    kw_wal_close(w);
}
END_TEST

/* The batches of a topic's partition 0 from offset 0, up to max_bytes (CRCs checked as read). */
static void fetch_from_start(const char *topic, int32_t max_bytes, kw_arena *ar,
                             kw_batch_iter *it)
{
    kw_fetch_req_partition fp = {.partition = 0, .current_leader_epoch = -1, .fetch_offset = 0,
                                 .last_fetched_epoch = -1, .log_start_offset = -1,
                                 .partition_max_bytes = max_bytes};
    kw_fetch_req_topic ft = {.topic = kw_str_c(topic)};
    ck_assert_int_eq(kt_topic_id(&admin, topic, &ft.topic_id), 0);
    ft.partitions.v = &fp;
    ft.partitions.n = 1;
    int fv = kt_version(&admin, KW_API_FETCH);
    kw_fetch_req req;
    kw__schema_init(kw__api(KW_API_FETCH)->req, fv, &req);
    req.max_wait_ms = 100;
    req.min_bytes = 1;
    req.max_bytes = max_bytes;
    req.topics.v = &ft;
    req.topics.n = 1;
    kw_fetch_resp resp;
    ck_assert_int_eq(kt_call(&admin, KW_API_FETCH, fv, &req, ar, &resp), 0);
    kw_fetch_resp_partition *p = &resp.responses.v[0].partitions.v[0];
    kw__batch_iter_init(it, p->records.ptr, (size_t)p->records.len, KW_BATCH_VERIFY_CRC);
}

START_TEST(greptimedb_record_format_round_trips)
{
    char topic[128];
    make_topic(topic, sizeof(topic), "gt");
    kw_wal_options o = {.record_format = KW_WAL_FORMAT_GREPTIMEDB};
    kw_wal *w = open_wal(kt_bootstrap(), topic, 4096, &o);
    enum { N = 40 };
    acked a[N] = {0};
    append_spread(w, a, N, 4398046511105ull, 2, 0); /* GreptimeDB's region (1024, 1) and (1024, 2) */
    check_replay(w, 4398046511105ull, a, N, false);
    check_replay(w, 4398046511106ull, a, N, false);
    kw_wal_close(w);
    /* the records really carry GreptimeDB's JSON key */
    kw_arena ar;
    kw__arena_init(&ar, 0);
    kw_batch_iter it;
    fetch_from_start(topic, 1 << 20, &ar, &it);
    kw_batch b;
    ck_assert_int_eq(kw__batch_next(&it, &b), 1);
    ck_assert_int_eq(kw__batch_codec(&b), KW_CODEC_LZ4);
    kw_wr scratch;
    kw__wr_init(&scratch);
    kw_record_iter ri;
    ck_assert_int_eq(kw__record_iter_init(&ri, &b, &scratch, 0, 0), 0);
    kw_record rec;
    ck_assert_int_eq(kw__record_next(&ri, &rec), 1);
    const char *want = "{\"version\":0,\"tp\":\"Full\",\"entry_id\":0,\"ns\":{\"region_id\":"
                       "4398046511105,\"topic\":\"\"}}";
    ck_assert_int_eq(rec.key.len, (int32_t)strlen(want));
    ck_assert_mem_eq(rec.key.ptr, want, strlen(want));
    kw__wr_free(&scratch);
    kw__arena_reset(&ar);
}
END_TEST

/* What a topic holds: batches by codec, records by key version, and the bytes of all values. */
typedef struct topic_scan {
    int batches, lz4_batches, plain_batches;
    int v1_keys, v2_keys;
    size_t value_bytes;
} topic_scan;

static topic_scan scan_topic(const char *topic)
{
    topic_scan sc = {0};
    kw_arena ar;
    kw__arena_init(&ar, 0);
    kw_batch_iter it;
    fetch_from_start(topic, 16 << 20, &ar, &it);
    kw_batch b;
    kw_wr scratch;
    kw__wr_init(&scratch);
    while (kw__batch_next(&it, &b) == 1) {
        sc.batches++;
        sc.lz4_batches += kw__batch_codec(&b) == KW_CODEC_LZ4;
        sc.plain_batches += kw__batch_codec(&b) == KW_CODEC_NONE;
        kw_record_iter ri;
        ck_assert_int_eq(kw__record_iter_init(&ri, &b, &scratch, 0, 0), 0);
        kw_record rec;
        while (kw__record_next(&ri, &rec) == 1) {
            if (rec.key.len > 0 && rec.key.ptr[0] == 1)
                sc.v1_keys++;
            if (rec.key.len > 0 && rec.key.ptr[0] == 2)
                sc.v2_keys++;
            sc.value_bytes += rec.value.len > 0 ? (size_t)rec.value.len : 0;
        }
    }
    kw__wr_free(&scratch);
    kw__arena_reset(&ar);
    return sc;
}

/*
 * kwal's format compresses each entry on its own and sends batches plain; a
 * reader gets the appended bytes back, split entries included.  With
 * compression = none nothing is compressed and every key is version 1.
 */
START_TEST(entries_are_compressed_one_by_one_in_plain_batches)
{
    for (int none = 0; none < 2; none++) {
        char topic[128];
        make_topic(topic, sizeof(topic), none ? "plain" : "lz4");
        kw_wal_options o = {.compression = none ? KW_WAL_COMPRESSION_NONE : 0};
        kw_wal *w = open_wal(kt_bootstrap(), topic, 8192, &o);
        enum { N = 48 };
        acked a[N] = {0};
        book.done = 0;
        size_t raw = 0;
        for (int i = 0; i < N; i++) {
            a[i].region = 20 + (uint64_t)(i % 2);
            a[i].seq = i;
            size_t len = entry_len(i);
            raw += len;
            uint8_t *b = entry_bytes(a[i].region, i, len);
            ck_assert_int_eq(kw_wal_append(w, a[i].region, b, len, on_ack, &a[i]), 0);
            free(b);
        }
        wait_acks(N);
        for (int i = 0; i < N; i++)
            ck_assert_msg(a[i].err == 0, "append %d: %s", i, kw_err_name(a[i].err));
        check_replay(w, 20, a, N, false);
        check_replay(w, 21, a, N, false);
        kw_wal_close(w);
        topic_scan sc = scan_topic(topic);
        ck_assert_int_gt(sc.batches, 1);
        ck_assert_int_eq(sc.plain_batches, sc.batches);
        if (none) {
            ck_assert_int_eq(sc.v2_keys, 0);
            ck_assert_uint_eq(sc.value_bytes, raw);
        } else {
            /* the text runs (2 of 6 runs of 8 entries, 5 of each 8 big enough) are compressed */
            ck_assert_int_ge(sc.v2_keys, 10);
            ck_assert_uint_lt(sc.value_bytes, raw - raw / 8);
        }
    }
}
END_TEST

/* Several regions of one topic in one pass, each from its own id; other topics refused. */
START_TEST(several_regions_replay_in_one_pass_each_from_its_own_id)
{
    char topic[128], other[128];
    make_topic(topic, sizeof(topic), "many");
    make_topic(other, sizeof(other), "many-other");
    kw_wal *w = open_wal(kt_bootstrap(), topic, 4096, NULL);
    enum { N = 64 };
    acked a[N] = {0};
    append_spread(w, a, N, 30, 4, 0);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(a[i].err, 0);
    /* region 33 from the start, 31 from entry 40's id */
    const uint64_t regions[2] = {33, 31};
    const uint64_t froms[2] = {0, a[41].id};
    kw_wal_replay *r;
    ck_assert_int_eq(kw_wal_replay_open_regions(w, regions, froms, 2, 0, &r), 0);
    int next = 0, got = 0, rc;
    uint64_t region, id;
    const uint8_t *data;
    size_t len;
    while ((rc = kw_wal_replay_next_region(r, &region, &id, &data, &len, 5000)) == 1) {
        while (next < N && !(a[next].region == 33 || (a[next].region == 31 && next >= 41)))
            next++;
        ck_assert_int_lt(next, N);
        ck_assert_uint_eq(region, a[next].region);
        ck_assert_uint_eq(id, a[next].id);
        size_t el = entry_len(next);
        uint8_t *want = entry_bytes(region, next, el);
        ck_assert_uint_eq(len, el);
        ck_assert(el == 0 || memcmp(data, want, el) == 0);
        free(want);
        next++;
        got++;
    }
    ck_assert_msg(rc == 0, "replay: %s", kw_wal_replay_errstr(r));
    ck_assert_int_eq(got, 16 + 6); /* 33: every 4th of 64; 31: 41, 45, ..., 61 */
    kw_wal_replay_close(r);
    /* a region on another topic cannot join */
    ck_assert_int_eq(kw_wal_set_region_topic(w, 34, other), 0);
    const uint64_t mixed[2] = {30, 34};
    const uint64_t zeros[2] = {0, 0};
    ck_assert_int_eq(kw_wal_replay_open_regions(w, mixed, zeros, 2, 0, &r), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(kw_wal_errstr(w), other));
    ck_assert_ptr_nonnull(strstr(kw_wal_errstr(w), topic));
    /* a pruned start is judged per region: the message names the region asked too early */
    ck_assert_int_eq(kt_delete_records(&admin, topic, (int64_t)a[20].id), 0);
    const uint64_t late[2] = {30, 32};
    const uint64_t starts[2] = {a[40].id, 3};
    ck_assert_int_eq(kw_wal_replay_open_regions(w, late, starts, 2, 0, &r), KW_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(kw_wal_errstr(w), "region 32: entry id 3 was pruned"));
    kw_wal_close(w);
}
END_TEST

START_TEST(pruned_start_fails_or_jumps_with_overwrite_entry_start_id)
{
    char topic[128];
    make_topic(topic, sizeof(topic), "prune");
    kw_wal *w = open_wal(kt_bootstrap(), topic, 0, NULL);
    uint64_t ids[10];
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(kw_wal_append_sync(w, 3, "x", 1, &ids[i]), 0);
    ck_assert_int_eq(kt_delete_records(&admin, topic, (int64_t)ids[5]), 0);
    kw_wal_replay *rp = NULL;
    ck_assert_int_eq(kw_wal_replay_open(w, 3, ids[2], 0, &rp), KW_ENOTFOUND);
    const char *e = kw_wal_errstr(w);
    char want[64];
    snprintf(want, sizeof(want), "entry id %llu", (unsigned long long)ids[2]);
    ck_assert_msg(strstr(e, "region 3") && strstr(e, want) && strstr(e, "log starts at offset"),
                  "errstr: %s", e);
    kw_wal_close(w);

    kw_wal_options o = {.overwrite_entry_start_id = true};
    w = open_wal(kt_bootstrap(), topic, 0, &o);
    ck_assert_int_eq(kw_wal_replay_open(w, 3, ids[2], 0, &rp), 0);
    uint64_t id;
    const uint8_t *data;
    size_t len;
    for (int i = 5; i < 10; i++) {
        ck_assert_int_eq(kw_wal_replay_next(rp, &id, &data, &len, 5000), 1);
        ck_assert_uint_eq(id, ids[i]);
    }
    ck_assert_int_eq(kw_wal_replay_next(rp, &id, &data, &len, 5000), 0);
    kw_wal_replay_close(rp);
    kw_wal_close(w);
}
END_TEST

typedef struct bad_log {
    int n;
    char why[256];
} bad_log;

static void on_bad(void *arg, const char *topic, int64_t offset, const char *why)
{
    bad_log *b = arg;
    b->n++;
    snprintf(b->why, sizeof(b->why), "%s@%lld: %s", topic, (long long)offset, why);
}

START_TEST(records_from_other_clients_are_skipped_and_reported)
{
    char topic[128];
    make_topic(topic, sizeof(topic), "bad");
    kw_wal *w = open_wal(kt_bootstrap(), topic, 0, NULL);
    uint64_t first, last;
    ck_assert_int_eq(kw_wal_append_sync(w, 9, "before", 6, &first), 0);
    /* another client writes: no key, a garbage key, and a null "noop" record */
    kw_wr wr;
    kw__wr_init(&wr);
    kw_batch_builder bb;
    ck_assert_int_eq(kw__batch_begin(&bb, &wr, NULL), 0);
    kw__batch_add(&bb, 1700000000000LL, KW_BYTES_NULL, (kw_bytes){(const uint8_t *)"v", 1}, NULL,
                  0);
    kw__batch_add(&bb, 1700000000000LL, (kw_bytes){(const uint8_t *)"not a key", 9},
                  (kw_bytes){(const uint8_t *)"v", 1}, NULL, 0);
    kw__batch_add(&bb, 1700000000000LL, KW_BYTES_NULL, KW_BYTES_NULL, NULL, 0);
    ck_assert_int_eq(kw__batch_finish(&bb), 0);
    ck_assert_int_eq(kt_produce(&admin, topic, wr.buf, wr.len, NULL), 0);
    kw__wr_free(&wr);
    ck_assert_int_eq(kw_wal_append_sync(w, 9, "after", 5, &last), 0);
    kw_wal_close(w);

    bad_log bl = {0};
    /* a full read: the replay index skips batches holding none of the region's records,
     * and so the other client's records too */
    kw_wal_options o = {.on_bad_record = on_bad, .bad_record_arg = &bl, .no_index = true};
    w = open_wal(kt_bootstrap(), topic, 0, &o);
    kw_wal_replay *rp;
    ck_assert_int_eq(kw_wal_replay_open(w, 9, 0, 0, &rp), 0);
    uint64_t id;
    const uint8_t *data;
    size_t len;
    ck_assert_int_eq(kw_wal_replay_next(rp, &id, &data, &len, 5000), 1);
    ck_assert_uint_eq(id, first);
    ck_assert_int_eq(kw_wal_replay_next(rp, &id, &data, &len, 5000), 1);
    ck_assert_uint_eq(id, last);
    ck_assert_mem_eq(data, "after", 5);
    ck_assert_int_eq(kw_wal_replay_next(rp, &id, &data, &len, 5000), 0);
    kw_wal_replay_stats st;
    kw_wal_replay_stats_get(rp, &st);
    ck_assert_uint_eq(st.bad_records, 2);
    ck_assert_int_eq(bl.n, 2);
    ck_assert_msg(strstr(bl.why, topic), "report: %s", bl.why);
    kw_wal_replay_close(rp);
    kw_wal_close(w);

    /* strict_records stops at the first one instead */
    kw_wal_options so = {.strict_records = true, .no_index = true};
    w = open_wal(kt_bootstrap(), topic, 0, &so);
    ck_assert_int_eq(kw_wal_replay_open(w, 9, 0, 0, &rp), 0);
    ck_assert_int_eq(kw_wal_replay_next(rp, &id, &data, &len, 5000), 1);
    ck_assert_int_eq(kw_wal_replay_next(rp, &id, &data, &len, 5000), KW_EMALFORMED);
    ck_assert_msg(strstr(kw_wal_replay_errstr(rp), "strict_records"), "errstr: %s",
                  kw_wal_replay_errstr(rp));
    kw_wal_replay_close(rp);
    kw_wal_close(w);
}
END_TEST

typedef struct follower {
    kw_wal *w;
    int want;
    int got;
    uint64_t last;
} follower;

static void *follow_thread(void *arg)
{
    follower *f = arg;
    kw_wal_replay *rp;
    if (kw_wal_replay_open(f->w, 11, 0, KW_WAL_REPLAY_FOLLOW, &rp) != 0)
        return NULL;
    uint64_t id;
    const uint8_t *data;
    size_t len;
    for (int i = 0; i < 200 && f->got < f->want; i++) {
        int rc = kw_wal_replay_next(rp, &id, &data, &len, 200);
        if (rc == 1) {
            f->got++;
            f->last = id;
        } else if (rc != KW_ETIMEDOUT) {
            break;
        }
    }
    kw_wal_replay_close(rp);
    return NULL;
}

START_TEST(follow_mode_tails_new_appends)
{
    char topic[128];
    make_topic(topic, sizeof(topic), "follow");
    kw_wal *w = open_wal(kt_bootstrap(), topic, 0, NULL);
    uint64_t id;
    ck_assert_int_eq(kw_wal_append_sync(w, 11, "a", 1, &id), 0);
    follower f = {w, 6, 0, 0};
    pthread_t th;
    pthread_create(&th, NULL, follow_thread, &f);
    for (int i = 0; i < 5; i++) {
        usleep(50 * 1000);
        ck_assert_int_eq(kw_wal_append_sync(w, 11, "b", 1, &id), 0);
    }
    pthread_join(th, NULL);
    ck_assert_int_eq(f.got, 6);
    ck_assert_uint_eq(f.last, id);
    kw_wal_close(w);
}
END_TEST

START_TEST(connection_cuts_never_duplicate_or_lose_acknowledged_entries)
{
    char topic[128];
    make_topic(topic, sizeof(topic), "cuts");
    kt_proxy px;
    ck_assert_int_eq(kt_proxy_start(&px, kt_bootstrap()), 0);
    redirect_through(&px);
    kw_wal_options o = {.timeout_ms = 15000, .max_in_flight = 5};
    kw_wal *w = open_wal(px.listen_addr, topic, 2048, &o);
    enum { N = 3000 };
    acked *a = calloc(N, sizeof(*a));
    book.done = 0;
    for (int i = 0; i < N; i++) {
        a[i].region = 21 + (uint64_t)(i % 2);
        a[i].seq = i;
        size_t len = entry_len(i) % 5000;
        uint8_t *b = entry_bytes(a[i].region, i, len);
        ck_assert_int_eq(kw_wal_append(w, a[i].region, b, len, on_ack, &a[i]), 0);
        free(b);
        if (i % 300 == 150) {
            /* Appends only queue: without waiting, all ten cuts would come before the first
             * Produce connection is up.  Wait until entries after the last cut are answered
             * (a new connection carried them), with about 100 still in flight. */
            wait_acks(i - 100);
            ck_assert_int_eq(kt_proxy_cmd(&px, "cut"), 0); /* RST every connection mid-flight */
        }
    }
    wait_acks(N);
    int ok = 0;
    for (int i = 0; i < N; i++)
        ok += a[i].err == 0;
    fprintf(stderr, "wal cuts: %d of %d appends acknowledged through 10 cuts\n", ok, N);
    ck_assert_int_gt(ok, N / 2);
    kw_wal_close(w);
    redirect_off();
    assert_accepted(&px, 12); /* bootstrap, Produce, and a new Produce connection per cut */
    kt_proxy_stop(&px);
    /* The idempotent producer wrote each record once although requests were resent:
     * the topic holds exactly as many records as the entries have parts. */
    if (ok == N) {
        int64_t parts = 0, end = -1;
        uint8_t *z = malloc(kw__wal_compress_bound(5000));
        kw__wal_compressor lz4;
        kw__wal_compressor_init(&lz4);
        for (int i = 0; i < N; i++) {
            /* a compressible entry is split after compressing: count its stored bytes */
            size_t len = entry_len(i) % 5000, max = 2048 - 256;
            uint8_t *b = entry_bytes(a[i].region, i, len);
            size_t stored = kw__wal_compress(&lz4, b, len, z, kw__wal_compress_bound(5000));
            free(b);
            len = stored ? stored : len;
            parts += len <= max ? 1 : (int64_t)((len + max - 1) / max);
        }
        kw__wal_compressor_free(&lz4);
        free(z);
        ck_assert_int_eq(kt_list_offset(&admin, topic, kt_version(&admin, KW_API_LIST_OFFSETS), -1,
                                        &end),
                         0);
        ck_assert_int_eq(end, parts);
    }
    /* every acknowledged entry exactly once; unacknowledged ones may be there, never twice */
    w = open_wal(kt_bootstrap(), topic, 2048, NULL);
    for (uint64_t r = 21; r <= 22; r++) {
        /* entry_len is re-derived from seq, but the appends above used len % 5000 */
        kw_wal_replay *rp;
        ck_assert_int_eq(kw_wal_replay_open(w, r, 0, 0, &rp), 0);
        uint64_t id, last = 0;
        const uint8_t *data;
        size_t len;
        int next = 0, rc, got = 0;
        while ((rc = kw_wal_replay_next(rp, &id, &data, &len, 5000)) == 1) {
            ck_assert_msg(got++ == 0 || id > last, "ids grow (no entry twice): %llu after %llu, len %zu", (unsigned long long)id, (unsigned long long)last, len);
            last = id;
            while (next < N && (a[next].region != r || a[next].err))
                next++;
            if (next < N && a[next].id == id) {
                size_t el = entry_len(a[next].seq) % 5000;
                uint8_t *want = entry_bytes(r, a[next].seq, el);
                ck_assert_uint_eq(len, el);
                ck_assert(el == 0 || memcmp(data, want, el) == 0);
                free(want);
                next++;
            }
        }
        ck_assert_int_eq(rc, 0);
        while (next < N && (a[next].region != r || a[next].err))
            next++;
        ck_assert_msg(next == N, "an acknowledged entry of region %llu is missing",
                      (unsigned long long)r);
        kw_wal_replay_stats st;
        kw_wal_replay_stats_get(rp, &st);
        ck_assert_uint_eq(st.bad_records, 0);
        kw_wal_replay_close(rp);
    }
    kw_wal_close(w);
    free(a);
}
END_TEST

/* Parts an entry takes in a topic: split after compressing, as kafka_append does. */
static int64_t stored_parts(uint64_t region, int seq, size_t len, size_t max_part)
{
    uint8_t *b = entry_bytes(region, seq, len);
    size_t cap = kw__wal_compress_bound(len ? len : 1);
    uint8_t *z = malloc(cap);
    kw__wal_compressor lz4;
    kw__wal_compressor_init(&lz4);
    size_t stored = len >= 64 ? kw__wal_compress(&lz4, b, len, z, cap) : 0;
    kw__wal_compressor_free(&lz4);
    free(b);
    free(z);
    len = stored ? stored : len;
    return len <= max_part ? 1 : (int64_t)((len + max_part - 1) / max_part);
}

/*
 * The same through batches of eight topics sharing Produce requests: a cut fails a whole
 * shared request, and each of its batches is retried on its own.  No record twice, none
 * acknowledged missing, per topic.
 */
START_TEST(connection_cuts_across_topics_sharing_requests)
{
    enum { TOPICS = 8, N = 4000 };
    static char topics[TOPICS][128];
    for (int t = 0; t < TOPICS; t++)
        make_topic(topics[t], sizeof(topics[t]), "cuts-many");
    kt_proxy px;
    ck_assert_int_eq(kt_proxy_start(&px, kt_bootstrap()), 0);
    redirect_through(&px);
    kw_wal_options o = {.timeout_ms = 15000, .max_in_flight = 5};
    kw_wal *w = open_wal(px.listen_addr, topics[0], 2048, &o);
    for (int r = 0; r < 2 * TOPICS; r++)
        ck_assert_int_eq(kw_wal_set_region_topic(w, 40 + (uint64_t)r, topics[r % TOPICS]), 0);
    acked *a = calloc(N, sizeof(*a));
    book.done = 0;
    kw_wal_stats first = {0}; /* before the first cut */
    for (int i = 0; i < N; i++) {
        a[i].region = 40 + (uint64_t)(i % (2 * TOPICS));
        a[i].seq = i;
        size_t len = entry_len(i) % 3000;
        uint8_t *b = entry_bytes(a[i].region, i, len);
        ck_assert_int_eq(kw_wal_append(w, a[i].region, b, len, on_ack, &a[i]), 0);
        free(b);
        if (i % 400 == 200) {
            wait_acks(i - 100); /* a connection made after the last cut, with requests out */
            if (i == 200)
                kw_wal_stats_get(w, &first);
            ck_assert_int_eq(kt_proxy_cmd(&px, "cut"), 0);
        }
    }
    wait_acks(N);
    int ok = 0;
    for (int i = 0; i < N; i++)
        ok += a[i].err == 0;
    kw_wal_stats st;
    kw_wal_stats_get(w, &st);
    fprintf(stderr, "wal cuts, %d topics: %d of %d acknowledged, %llu batches in %llu requests "
            "(%llu retries; before the first cut %llu in %llu)\n", TOPICS, ok, N,
            (unsigned long long)st.batches, (unsigned long long)st.requests,
            (unsigned long long)st.retries, (unsigned long long)first.batches,
            (unsigned long long)first.requests);
    ck_assert_int_gt(ok, N / 2);
    /* Batches did share requests when the first cut came, so it failed shared ones.  (Not
     * asserted over the whole run: after the cuts, with each append burst waiting for the
     * acks, the requests came to about one batch each.) */
    ck_assert_uint_gt(first.batches, 0);
    ck_assert_uint_lt(first.requests, first.batches);
    kw_wal_close(w);
    redirect_off();
    assert_accepted(&px, 12); /* bootstrap, Produce, and a new Produce connection per cut */
    kt_proxy_stop(&px);
    /* each topic holds each record once: as many as its entries have parts */
    if (ok == N) {
        for (int t = 0; t < TOPICS; t++) {
            int64_t parts = 0, end = -1;
            for (int i = 0; i < N; i++)
                if ((int)((a[i].region - 40) % TOPICS) == t)
                    parts += stored_parts(a[i].region, i, entry_len(i) % 3000, 2048 - 256);
            ck_assert_int_eq(kt_list_offset(&admin, topics[t],
                                            kt_version(&admin, KW_API_LIST_OFFSETS), -1, &end),
                             0);
            ck_assert_msg(end == parts, "topic %d: %lld records for %lld parts", t,
                          (long long)end, (long long)parts);
        }
    }
    /* both regions of each topic in one pass: acknowledged entries once each, ids growing */
    w = open_wal(kt_bootstrap(), topics[0], 2048, NULL);
    for (int r = 0; r < 2 * TOPICS; r++)
        ck_assert_int_eq(kw_wal_set_region_topic(w, 40 + (uint64_t)r, topics[r % TOPICS]), 0);
    for (int t = 0; t < TOPICS; t++) {
        const uint64_t regions[2] = {40 + (uint64_t)t, 40 + (uint64_t)(t + TOPICS)};
        const uint64_t froms[2] = {0, 0};
        kw_wal_replay *rp;
        ck_assert_int_eq(kw_wal_replay_open_regions(w, regions, froms, 2, 0, &rp), 0);
        int next[2] = {0, 0};
        uint64_t last[2] = {0, 0}, region, id;
        const uint8_t *data;
        size_t len;
        int rc;
        while ((rc = kw_wal_replay_next_region(rp, &region, &id, &data, &len, 5000)) == 1) {
            int k = region == regions[0] ? 0 : 1;
            ck_assert_uint_eq(region, regions[k]);
            ck_assert_msg(last[k] == 0 || id > last[k], "region %llu: %llu after %llu",
                          (unsigned long long)region, (unsigned long long)id,
                          (unsigned long long)last[k]);
            last[k] = id;
            while (next[k] < N && (a[next[k]].region != region || a[next[k]].err))
                next[k]++;
            if (next[k] < N && a[next[k]].id == id) {
                size_t el = entry_len(a[next[k]].seq) % 3000;
                uint8_t *want = entry_bytes(region, a[next[k]].seq, el);
                ck_assert_uint_eq(len, el);
                ck_assert(el == 0 || memcmp(data, want, el) == 0);
                free(want);
                next[k]++;
            }
        }
        ck_assert_int_eq(rc, 0);
        for (int k = 0; k < 2; k++) {
            while (next[k] < N && (a[next[k]].region != regions[k] || a[next[k]].err))
                next[k]++;
            ck_assert_msg(next[k] == N, "an acknowledged entry of region %llu is missing",
                          (unsigned long long)regions[k]);
        }
        kw_wal_replay_close(rp);
    }
    kw_wal_close(w);
    free(a);
}
END_TEST

/*
 * A replay in many small fetches: each response lands in the buffer an earlier,
 * decoded one left (handed back to the connection), so a mix-up of buffers
 * would show as a wrong or missing entry here (or as a use-after-free under ASan).
 */
START_TEST(replay_in_many_small_fetches_stays_exact)
{
    enum { N = 600, REGIONS = 3 };
    char topic[128];
    make_topic(topic, sizeof(topic), "smallfetch");
    kw_wal *w = open_wal(kt_bootstrap(), topic, 64 * 1024, NULL);
    acked *a = calloc(N, sizeof(*a));
    append_spread(w, a, N, 40, REGIONS, 0);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(a[i].err, 0);
    kw_wal_close(w);
    /* ~4 MB of entries read 128 KiB at a time: about 30 fetches per region's replay */
    kw_wal_options o = {.fetch_max_bytes = 128 * 1024};
    w = open_wal(kt_bootstrap(), topic, 64 * 1024, &o);
    for (int r = 0; r < REGIONS; r++)
        check_replay(w, 40 + (uint64_t)r, a, N, false);
    kw_wal_stats st;
    kw_wal_stats_get(w, &st);
    ck_assert_uint_eq(st.replayed_entries, N);
    kw_wal_close(w);
    free(a);
}
END_TEST

START_TEST(sixty_four_topics_a_thousand_regions)
{
    enum { TOPICS = 64, REGIONS = 1000, PER = 3 };
    static char topics[TOPICS][128];
    for (int t = 0; t < TOPICS; t++)
        make_topic(topics[t], sizeof(topics[t]), "many");
    kw_wal *w = open_wal(kt_bootstrap(), topics[0], 0, NULL);
    for (int r = 0; r < REGIONS; r++)
        ck_assert_int_eq(kw_wal_set_region_topic(w, 1000 + (uint64_t)r, topics[r % TOPICS]), 0);
    acked *a = calloc(REGIONS * PER, sizeof(*a));
    append_spread(w, a, REGIONS * PER, 1000, REGIONS, 2000);
    for (int i = 0; i < REGIONS * PER; i++)
        ck_assert_int_eq(a[i].err, 0);
    /* batches of many topics shared Produce requests (one per topic would be as many) */
    kw_wal_stats st;
    kw_wal_stats_get(w, &st);
    ck_assert_uint_ge(st.batches, TOPICS);
    ck_assert_uint_gt(st.requests, 0);
    ck_assert_msg(st.requests < st.batches, "%llu requests for %llu batches",
                  (unsigned long long)st.requests, (unsigned long long)st.batches);
    /* every region replays exactly its own entries */
    for (int r = 0; r < REGIONS; r++) {
        uint64_t region = 1000 + (uint64_t)r;
        kw_wal_replay *rp;
        ck_assert_int_eq(kw_wal_replay_open(w, region, 0, 0, &rp), 0);
        uint64_t id;
        const uint8_t *data;
        size_t len;
        for (int k = 0; k < PER; k++) {
            acked *x = &a[k * REGIONS + r];
            ck_assert_int_eq(kw_wal_replay_next(rp, &id, &data, &len, 5000), 1);
            ck_assert_uint_eq(id, x->id);
            size_t el = entry_len(x->seq) % 2000;
            ck_assert_uint_eq(len, el);
        }
        ck_assert_int_eq(kw_wal_replay_next(rp, &id, &data, &len, 5000), 0);
        kw_wal_replay_close(rp);
    }
    kw_wal_close(w);
    free(a);
}
END_TEST

/* meta's flush callback tries meta calls: each must refuse at once (the round is its caller). */
typedef struct flush_try {
    kw_meta *m;
    int calls;
    uint64_t region;
    int heartbeat_rc, prune_rc, topic_rc;
} flush_try;

static void on_flush_try_meta(void *arg, uint64_t region_id, uint64_t flushed_id,
                              uint64_t bytes_behind)
{
    flush_try *f = arg;
    f->calls++;
    f->region = region_id;
    f->heartbeat_rc = kw_meta_heartbeat(f->m, region_id, 0, 0);
    kw_meta_prune_stats st;
    f->prune_rc = kw_meta_prune_now(f->m, true, &st);
    char t[256];
    f->topic_rc = kw_meta_region_topic(f->m, region_id, t, sizeof(t));
}

/*
 * One session under every handle: a WAL and a meta handle on the host's own
 * client.  meta's config names a broker nobody listens on, so topics can only
 * be made through the shared client; the host's own calls on it work too.
 */
START_TEST(a_wal_and_a_meta_share_the_hosts_client)
{
    /* _i 1: a host-driven client nobody else drives: every wait (the WAL's, meta's topic calls,
     * the pruning round's) must run the loop itself (the round used to wait forever). */
    kw_client_options co = {.bootstrap = kt_bootstrap(), .client_id = "host",
                            .host_driven = _i == 1};
    kw_client *c = NULL;
    char err[512];
    ck_assert_msg(kw_client_new(&c, &co, err, sizeof(err)) == 0, "%s", err);

    char dir[] = "/tmp/kwal-shared-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char conf[300], store[300], prefix[96];
    snprintf(conf, sizeof(conf), "%s/wal.toml", dir);
    snprintf(store, sizeof(store), "%s/store", dir);
    snprintf(prefix, sizeof(prefix), "%s-shared", topic_prefix);
    FILE *f = fopen(conf, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "[wal]\nprovider = \"kafka\"\nbroker_endpoints = [\"127.0.0.1:1\"]\n"
               "topic_name_prefix = \"%s\"\nnum_topics = 2\nauto_prune_interval = \"0s\"\n"
               "flush_trigger_size = \"1B\"\n",
            prefix);
    fclose(f);
    flush_try ft = {0};
    kw_meta_options mo = {.config_path = conf,
                          .store_dir = store,
                          .client = c,
                          .flush = on_flush_try_meta,
                          .flush_arg = &ft};
    kw_meta *m = NULL;
    ck_assert_msg(kw_meta_open(&m, &mo, err, sizeof(err)) == 0, "%s", err);
    ft.m = m;
    ck_assert_msg(kw_meta_prepare_topics(m) == 0, "%s", kw_meta_errstr(m));

    kw_wal_options wo = {.client = c}; /* no bootstrap: the client is the connection */
    kw_wal *w = open_wal(NULL, NULL, 0, &wo);
    char t1[256], t2[256];
    ck_assert_int_eq(kw_meta_region_topic(m, 1, t1, sizeof(t1)), 0);
    ck_assert_int_eq(kw_meta_region_topic(m, 2, t2, sizeof(t2)), 0);
    ck_assert_str_ne(t1, t2);
    ck_assert_int_eq(kw_wal_set_region_topic(w, 1, t1), 0);
    ck_assert_int_eq(kw_wal_set_region_topic(w, 2, t2), 0);
    uint64_t ids[2][5];
    for (int i = 0; i < 5; i++)
        for (int r = 0; r < 2; r++) {
            char msg[32];
            int n = snprintf(msg, sizeof(msg), "shared %d/%d", r, i);
            ck_assert_int_eq(kw_wal_append_sync(w, (uint64_t)r + 1, msg, (size_t)n, &ids[r][i]),
                             0);
        }
    /* the noop record meta wrote to each empty topic is offset 0: entries follow it */
    ck_assert_uint_eq(ids[0][0], 1);
    ck_assert_uint_eq(ids[1][4], 5);
    ck_assert_int_eq(kw_meta_heartbeat(m, 1, ids[0][1], ids[0][4]), 0);
    /* region 2 never flushed: it pins its topic and is asked to flush (1 B trigger) */
    ck_assert_int_eq(kw_meta_heartbeat(m, 2, KW_META_NONE, ids[1][4]), 0);
    kw_meta_prune_stats ps;
    ck_assert_int_eq(kw_meta_prune_now(m, false, &ps), 0);
    ck_assert_uint_ge(ps.flush_requests, 1); /* region 2, and region 1 (behind by more than 1 B) */
    ck_assert_int_eq(ft.calls, (int)ps.flush_requests);
    ck_assert(ft.region == 1 || ft.region == 2);
    ck_assert_int_eq(ft.heartbeat_rc, KW_EDEADLK);
    ck_assert_int_eq(ft.prune_rc, KW_EDEADLK);
    ck_assert_int_eq(ft.topic_rc, KW_EDEADLK);
    ck_assert_int_eq(kw_meta_heartbeat(m, 2, ids[1][0], ids[1][4]), 0); /* fine outside it */

    /* the host's own call on the same client */
    kw_client_list_offsets_args la = {.topic = t2, .spec = KW_CLIENT_OFFSET_LATEST};
    kw_client_list_offsets_result lr;
    ck_assert_int_eq(kw_client_list_offsets(c, &la, &lr), 0);
    ck_assert_int_eq(lr.offset, 6);

    kw_wal_replay *rp;
    ck_assert_int_eq(kw_wal_replay_open(w, 2, ids[1][3], 0, &rp), 0);
    uint64_t id;
    const uint8_t *data;
    size_t len;
    ck_assert_int_eq(kw_wal_replay_next(rp, &id, &data, &len, 5000), 1);
    ck_assert_uint_eq(id, ids[1][3]);
    ck_assert_uint_eq(len, strlen("shared 1/3"));
    ck_assert_mem_eq(data, "shared 1/3", len);
    ck_assert_int_eq(kw_wal_replay_next(rp, &id, &data, &len, 5000), 1);
    ck_assert_int_eq(kw_wal_replay_next(rp, &id, &data, &len, 5000), 0);
    kw_wal_replay_close(rp);

    /* a second, topics-only handle with its connection given in the client's terms */
    kw_meta_options mo2 = {.config_path = conf,
                           .kafka = {.bootstrap = kt_bootstrap(), .client_id = "meta2"}};
    kw_meta *m2 = NULL;
    ck_assert_msg(kw_meta_open(&m2, &mo2, err, sizeof(err)) == 0, "%s", err);
    kw_meta_topics_result tr;
    ck_assert_msg(kw_meta_topics(m2, false, &tr) == 0, "%s", kw_meta_errstr(m2));
    ck_assert_uint_eq(tr.topics, 2);
    ck_assert_uint_eq(tr.problems, 0);
    ck_assert_uint_eq(tr.created, 0);
    kw_meta_close(m2);

    kw_wal_close(w);
    kw_meta_close(m);
    /* the client outlives both and still works */
    ck_assert_int_eq(kw_client_list_offsets(c, &la, &lr), 0);
    ck_assert_int_eq(lr.offset, 6);
    kw_client_destroy(c);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* What a callback saw when it tried the blocking calls (the deadlock guard). */
typedef struct nested_try {
    kw_wal *w;
    atomic_int done;
    int err;
    char detail[128];
    int sync_rc, replay_rc, client_rc, run_once_rc;
} nested_try;

static void on_ack_try_blocking(void *arg, int err, uint64_t id, const char *detail)
{
    nested_try *n = arg;
    n->err = err;
    snprintf(n->detail, sizeof(n->detail), "%s", detail);
    uint64_t id2;
    n->sync_rc = kw_wal_append_sync(n->w, 5, "inner", 5, &id2);
    kw_wal_replay *rp = NULL;
    n->replay_rc = kw_wal_replay_open(n->w, 5, 0, 0, &rp);
    if (rp)
        kw_wal_replay_close(rp);
    kw_client_metadata_result mr;
    n->client_rc = kw_client_metadata(kw_wal_client(n->w), NULL, &mr);
    kw_client_metadata_result_free(&mr);
    n->run_once_rc = kw_wal_run_once(n->w, 0);
    atomic_store(&n->done, 1);
}

START_TEST(blocking_calls_from_an_append_callback_return_edeadlk)
{
    char topic[128];
    make_topic(topic, sizeof(topic), "deadlk");
    kw_wal *w = open_wal(kt_bootstrap(), topic, 0, NULL);
    nested_try n = {.w = w};
    ck_assert_int_eq(kw_wal_append(w, 5, "outer", 5, on_ack_try_blocking, &n), 0);
    for (int i = 0; i < 1000 && !atomic_load(&n.done); i++)
        usleep(10000);
    ck_assert_int_eq(atomic_load(&n.done), 1); /* the test finishes: nothing hung */
    ck_assert_int_eq(n.err, 0);
    ck_assert_str_eq(n.detail, "");
    ck_assert_int_eq(n.sync_rc, KW_EDEADLK);
    ck_assert_int_eq(n.replay_rc, KW_EDEADLK);
    ck_assert_int_eq(n.client_rc, KW_EDEADLK);
    ck_assert_int_eq(n.run_once_rc, KW_EINVAL); /* own-thread mode has no run_once */
    /* outside a callback the same calls work */
    uint64_t id;
    ck_assert_int_eq(kw_wal_append_sync(w, 5, "after", 5, &id), 0);
    ck_assert_uint_eq(id, 1);
    kw_wal_close(w);
}
END_TEST

/* Runs the host-driven WAL's loop on this thread, as a host's poll loop would, until *done. */
static void drive_until(kw_wal *w, atomic_int *done, int want, int ms)
{
    for (int waited = 0; atomic_load(done) < want && waited < ms;) {
        struct pollfd p = {.fd = kw_wal_backend_fd(w), .events = POLLIN};
        int t = kw_wal_timeout_ms(w);
        if (t < 0 || t > 50)
            t = 50;
        ck_assert_int_ge(poll(&p, 1, t), 0);
        ck_assert_int_ge(kw_wal_run_once(w, 0), 0);
        waited += t ? t : 1;
    }
    ck_assert_int_ge(atomic_load(done), want);
}

typedef struct counted {
    atomic_int done;
    int errs;
    uint64_t last;
} counted;

static void on_counted(void *arg, int err, uint64_t id, const char *detail)
{
    counted *c = arg;
    if (err)
        c->errs++;
    c->last = id;
    atomic_fetch_add(&c->done, 1);
}

START_TEST(host_driven_wal_runs_on_the_hosts_poll_loop)
{
    char topic[128];
    make_topic(topic, sizeof(topic), "host");
    kw_wal_options extra = {.kafka = {.host_driven = true}};
    kw_wal *w = open_wal(kt_bootstrap(), topic, 0, &extra);
    ck_assert_int_ge(kw_wal_backend_fd(w), 0);
    ck_assert_ptr_nonnull(kw_wal_client(w));
    counted c = {0};
    for (int i = 0; i < 20; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof(msg), "host %d", i);
        ck_assert_int_eq(kw_wal_append(w, 3, msg, (size_t)n, on_counted, &c), 0);
    }
    usleep(200000);
    /* no kwal thread: nothing moves until the host drives */
    ck_assert_int_eq(atomic_load(&c.done), 0);
    drive_until(w, &c.done, 20, 20000);
    ck_assert_int_eq(c.errs, 0);
    ck_assert_uint_eq(c.last, 19);

    /* a blocking call on the host's thread runs the loop itself */
    uint64_t id;
    ck_assert_int_eq(kw_wal_append_sync(w, 3, "sync", 4, &id), 0);
    ck_assert_uint_eq(id, 20);

    /* inside a callback (run by kw_wal_run_once) the blocking calls refuse at once */
    nested_try n = {.w = w};
    ck_assert_int_eq(kw_wal_append(w, 3, "outer", 5, on_ack_try_blocking, &n), 0);
    drive_until(w, &n.done, 1, 20000);
    ck_assert_int_eq(n.err, 0);
    ck_assert_int_eq(n.sync_rc, KW_EDEADLK);
    ck_assert_int_eq(n.replay_rc, KW_EDEADLK);
    ck_assert_int_eq(n.client_rc, KW_EDEADLK);
    ck_assert_int_eq(n.run_once_rc, KW_EDEADLK);

    /* replay on the host's thread drives the loop too */
    kw_wal_replay *rp;
    ck_assert_int_eq(kw_wal_replay_open(w, 3, 19, 0, &rp), 0);
    const uint8_t *data;
    size_t len;
    ck_assert_int_eq(kw_wal_replay_next(rp, &id, &data, &len, 5000), 1);
    ck_assert_uint_eq(id, 19);
    ck_assert_uint_eq(len, strlen("host 19"));
    ck_assert_mem_eq(data, "host 19", len);
    ck_assert_int_eq(kw_wal_replay_next(rp, &id, &data, &len, 5000), 1);
    ck_assert_uint_eq(id, 20);
    ck_assert_int_eq(kw_wal_replay_next(rp, &id, &data, &len, 5000), 1);
    ck_assert_uint_eq(id, 21);
    ck_assert_int_eq(kw_wal_replay_next(rp, &id, &data, &len, 5000), 0);
    kw_wal_replay_close(rp);
    kw_wal_close(w);
}
END_TEST

START_TEST(append_to_an_unreachable_broker_fails_within_its_timeout)
{
    /* nothing listens on port 1: no producer id can be had, and the append must not wait forever */
    kw_wal_options o = {.provider = KW_WAL_PROVIDER_KAFKA,
                        .kafka = {.bootstrap = "127.0.0.1:1", .connect_timeout_ms = 500},
                        .timeout_ms = 1000};
    kw_wal *w = NULL;
    char err[256];
    ck_assert_int_eq(kw_wal_open(&w, &o, err, sizeof(err)), 0);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    uint64_t id = 99;
    ck_assert_int_eq(kw_wal_append_sync(w, 1, "x", 1, &id), KW_ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    ck_assert_msg(s >= 0.9 && s < 5.0, "failed after %.2f s (timeout 1 s)", s);
    kw_wal_stats st;
    kw_wal_stats_get(w, &st);
    ck_assert_uint_eq(st.append_errors, 1);
    ck_assert_uint_eq(st.in_flight, 0);
    kw_wal_close(w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("wal-kafka");
    TCase *tc = tcase_create("wal");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, append_and_replay_with_split_entries_three_regions);
    tcase_add_test(tc, append_sync_and_replay_from_an_id);
    tcase_add_test(tc, replay_reads_by_topic_id_and_capped_at_3_0_by_name);
    tcase_add_test(tc, greptimedb_record_format_round_trips);
    tcase_add_test(tc, entries_are_compressed_one_by_one_in_plain_batches);
    tcase_add_test(tc, several_regions_replay_in_one_pass_each_from_its_own_id);
    tcase_add_test(tc, pruned_start_fails_or_jumps_with_overwrite_entry_start_id);
    tcase_add_test(tc, records_from_other_clients_are_skipped_and_reported);
    tcase_add_test(tc, follow_mode_tails_new_appends);
    tcase_add_test(tc, connection_cuts_never_duplicate_or_lose_acknowledged_entries);
    tcase_add_test(tc, connection_cuts_across_topics_sharing_requests);
    tcase_add_test(tc, replay_in_many_small_fetches_stays_exact);
    tcase_add_test(tc, sixty_four_topics_a_thousand_regions);
    tcase_add_test(tc, append_to_an_unreachable_broker_fails_within_its_timeout);
    tcase_add_loop_test(tc, a_wal_and_a_meta_share_the_hosts_client, 0, 2);
    tcase_add_test(tc, blocking_calls_from_an_append_callback_return_edeadlk);
    tcase_add_test(tc, host_driven_wal_runs_on_the_hosts_poll_loop);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
