/* src/net/cluster against the real broker: bootstrap fallback, metadata cache, routed produce + fetch, unknown topics. */
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/cluster.h"
#include "proto/batch.h"
#include "proto/kerr.h"
#include "proto/msg_admin.h"
#include "proto/msg_data.h"
#include "proxy_ctl.h"

static kw_loop *loop;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t deadline_in(uint64_t ms)
{
    return (now_ms() + ms) * 1000000u;
}

static bool run_until(const int *flag, uint64_t ms)
{
    uint64_t end = now_ms() + ms;
    while (!*flag && now_ms() < end)
        ck_assert_int_ge(kw__loop_run_once(loop, 20), 0);
    return *flag != 0;
}

static const char *bootstrap(void)
{
    const char *v = getenv("KWAL_BOOTSTRAP");
    return v && *v ? v : "127.0.0.1:19092";
}

/* A port nobody listens on: bound, then closed. */
static uint16_t dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t al = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    return ntohs(a.sin_port);
}

static void setup(void)
{
    ck_assert_int_eq(kw__loop_new(&loop), 0);
}

static void teardown(void)
{
    kw__loop_free(loop);
    loop = NULL;
}

/* What a done callback saw, copied out. */
typedef struct outcome {
    int done, err, version;
    int16_t kerr;
    int32_t node_id;
    unsigned attempts;
    char detail[512];
    /* per API */
    int16_t topic_err;
    int64_t base_offset;
    int64_t high_watermark;
    char value[64];
    int records;
} outcome;

static void on_done_generic(const kw_cluster_result *r, void *arg)
{
    outcome *o = arg;
    o->done = 1;
    o->err = r->err;
    o->kerr = r->kerr;
    o->version = r->version;
    o->node_id = r->node_id;
    o->attempts = r->attempts;
    snprintf(o->detail, sizeof(o->detail), "%s", r->detail ? r->detail : "");
}

static kw_cluster *open_cluster(const char *list)
{
    kw_cluster_options o = {.bootstrap = list,
                            .conn = {.connect_timeout_ms = 3000},
                            .backoff_ms = 50,
                            .backoff_max_ms = 500};
    kw_cluster *cl;
    ck_assert_int_eq(kw__cluster_new(&cl, loop, &o), 0);
    return cl;
}

static void refresh(kw_cluster *cl, const char *topic)
{
    outcome o = {0};
    ck_assert_int_eq(kw__cluster_refresh(cl, topic, deadline_in(10000), on_done_generic, &o), 0);
    ck_assert_int_eq(o.done, 0); /* never from inside the call */
    ck_assert(run_until(&o.done, 12000));
    ck_assert_msg(o.err == 0, "refresh: %s: %s", kw_err_name(o.err), o.detail);
}

/* ---- CreateTopics through send_any ---- */

typedef struct create_ctx {
    const char *name;
    int32_t partitions;
    kw_create_topics_req_topic t;
    kw_create_topics_req req;
} create_ctx;

static int build_create(void *arg, int version, int32_t epoch, const void **req)
{
    create_ctx *c = arg;
    (void)epoch;
    memset(&c->t, 0, sizeof(c->t));
    c->t.name = kw_str_c(c->name);
    c->t.num_partitions = c->partitions;
    c->t.replication_factor = 1;
    kw__schema_init(kw__api(KW_API_CREATE_TOPICS)->req, version, &c->req);
    c->req.topics.v = &c->t;
    c->req.topics.n = 1;
    c->req.timeout_ms = 30000;
    *req = &c->req;
    return 0;
}

static void on_created(const kw_cluster_result *r, void *arg)
{
    outcome *o = arg;
    on_done_generic(r, arg);
    const kw_create_topics_resp *resp = r->resp;
    o->topic_err = resp && resp->topics.n == 1 ? resp->topics.v[0].error_code : -99;
}

static void create_topic(kw_cluster *cl, const char *name, int32_t partitions)
{
    create_ctx c = {.name = name, .partitions = partitions};
    outcome o = {0};
    ck_assert_int_eq(kw__cluster_send_any(cl, KW_API_CREATE_TOPICS, build_create, &c,
                                          deadline_in(30000), on_created, &o),
                     0);
    ck_assert(run_until(&o.done, 32000));
    ck_assert_msg(o.err == 0, "CreateTopics: %s: %s", kw_err_name(o.err), o.detail);
    ck_assert_int_eq(o.topic_err, 0);
}

START_TEST(dead_first_bootstrap_address_is_skipped)
{
    char list[256];
    snprintf(list, sizeof(list), "127.0.0.1:%u, %s", dead_port(), bootstrap());
    kw_cluster *cl = open_cluster(list);
    uint64_t t0 = now_ms();
    refresh(cl, NULL);
    ck_assert_msg(now_ms() - t0 < 3000, "took %llu ms", (unsigned long long)(now_ms() - t0));
    ck_assert_int_ge(kw__cluster_broker_count(cl), 1);
    ck_assert_int_eq(kw__cluster_refresh_count(cl), 1);
    ck_assert_int_ge(kw__cluster_controller_id(cl), 0);
    kw__cluster_free(cl);
}
END_TEST

START_TEST(bad_bootstrap_lists_are_refused_with_the_reason)
{
    kw_cluster_options o = {.bootstrap = "127.0.0.1:9092,nohostport"};
    kw_cluster *cl = (kw_cluster *)1;
    ck_assert_int_eq(kw__cluster_new(&cl, loop, &o), KW_ECONFIG);
    ck_assert_ptr_null(cl);
    o.bootstrap = " , ";
    ck_assert_int_eq(kw__cluster_new(&cl, loop, &o), KW_ECONFIG);
    o.bootstrap = "host:0";
    ck_assert_int_eq(kw__cluster_new(&cl, loop, &o), KW_ECONFIG);
}
END_TEST

START_TEST(metadata_cache_describes_a_created_topic)
{
    kw_cluster *cl = open_cluster(bootstrap());
    char name[128];
    snprintf(name, sizeof(name), "kwal-it-cluster-md-%d", getpid());
    create_topic(cl, name, 3);
    /* CreateTopics answers before the partitions have leaders: refresh until they do. */
    uint64_t end = now_ms() + 10000;
    int32_t leader = -1, epoch = -1;
    bool all = false;
    while (!all && now_ms() < end) {
        refresh(cl, name);
        all = kw__cluster_partition_count(cl, name, NULL) == 3;
        for (int32_t p = 0; all && p < 3; p++)
            all = kw__cluster_leader(cl, name, p, &leader, &epoch) == 0 && leader >= 0;
    }
    ck_assert_msg(all, "no leaders for %s", name);
    int16_t kerr = -1;
    ck_assert_int_eq(kw__cluster_partition_count(cl, name, &kerr), 3);
    ck_assert_int_eq(kerr, 0);
    ck_assert_int_ge(epoch, 0);
    kw_cluster_broker b;
    ck_assert_int_eq(kw__cluster_broker(cl, leader, &b), 0);
    ck_assert_int_eq(b.node_id, leader);
    ck_assert_int_gt(b.port, 0);
    ck_assert_ptr_nonnull(b.host);
    ck_assert_int_eq(kw__cluster_broker(cl, 12345, &b), KW_ENOTFOUND);
    ck_assert_int_eq(kw__cluster_leader(cl, name, 3, &leader, &epoch), KW_ENOTFOUND);
    kw__cluster_free(cl);
}
END_TEST

/* ---- Produce and Fetch through send_partition ---- */

typedef struct produce_ctx {
    const char *topic;
    int32_t partition;
    kw_wr batch;
    kw_produce_req_partition p;
    kw_produce_req_topic t;
    kw_produce_req req;
    int builds;
} produce_ctx;

static int build_produce(void *arg, int version, int32_t epoch, const void **req)
{
    produce_ctx *c = arg;
    (void)epoch;
    c->builds++;
    c->p = (kw_produce_req_partition){.index = c->partition,
                                      .records = {c->batch.buf, (int32_t)c->batch.len}};
    c->t = (kw_produce_req_topic){.name = kw_str_c(c->topic)};
    c->t.partition_data.v = &c->p;
    c->t.partition_data.n = 1;
    kw__schema_init(kw__api(KW_API_PRODUCE)->req, version, &c->req);
    c->req.acks = -1;
    c->req.timeout_ms = 10000;
    c->req.topic_data.v = &c->t;
    c->req.topic_data.n = 1;
    *req = &c->req;
    return 0;
}

static void on_produced(const kw_cluster_result *r, void *arg)
{
    outcome *o = arg;
    on_done_generic(r, arg);
    const kw_produce_resp *resp = r->resp;
    if (resp && resp->responses.n == 1 && resp->responses.v[0].partition_responses.n == 1)
        o->base_offset = resp->responses.v[0].partition_responses.v[0].base_offset;
}

typedef struct fetch_ctx {
    kw_cluster *cl; /* for the topic id (Fetch v13+) */
    const char *topic;
    int32_t partition;
    int64_t offset;
    kw_fetch_req_partition p;
    kw_fetch_req_topic t;
    kw_fetch_req req;
    int32_t epoch_seen;
    int version_seen;
    int builds;
    int wrong_epochs; /* the first this many attempts claim a leader epoch from the future */
} fetch_ctx;

static int build_fetch(void *arg, int version, int32_t epoch, const void **req)
{
    fetch_ctx *c = arg;
    c->epoch_seen = epoch;
    if (c->builds++ < c->wrong_epochs && epoch >= 0)
        epoch += 5; /* the broker answers UNKNOWN_LEADER_EPOCH (75), retriable */
    kw__schema_init(kw__api(KW_API_FETCH)->req, version, &c->req);
    c->p = (kw_fetch_req_partition){.partition = c->partition,
                                    .current_leader_epoch = epoch,
                                    .fetch_offset = c->offset,
                                    .last_fetched_epoch = -1,
                                    .log_start_offset = -1,
                                    .partition_max_bytes = 1 << 20};
    c->version_seen = version;
    c->t = (kw_fetch_req_topic){.topic = kw_str_c(c->topic)};
    if (c->cl)
        kw__cluster_topic_id(c->cl, c->topic, &c->t.topic_id);
    c->t.partitions.v = &c->p;
    c->t.partitions.n = 1;
    c->req.replica_id = -1;
    c->req.max_wait_ms = 500;
    c->req.min_bytes = 1;
    c->req.max_bytes = 1 << 20;
    c->req.session_epoch = -1;
    c->req.topics.v = &c->t;
    c->req.topics.n = 1;
    c->req.forgotten_topics_data.n = 0;
    c->req.rack_id = kw_str_c("");
    *req = &c->req;
    return 0;
}

static void on_fetched(const kw_cluster_result *r, void *arg)
{
    outcome *o = arg;
    on_done_generic(r, arg);
    const kw_fetch_resp *resp = r->resp;
    if (!resp || resp->responses.n != 1 || resp->responses.v[0].partitions.n != 1)
        return;
    const kw_fetch_resp_partition *p = &resp->responses.v[0].partitions.v[0];
    o->high_watermark = p->high_watermark;
    if (p->records.len <= 0)
        return;
    kw_batch_iter it;
    kw__batch_iter_init(&it, p->records.ptr, (size_t)p->records.len, KW_BATCH_VERIFY_CRC);
    kw_batch b;
    while (kw__batch_next(&it, &b) == 1) {
        kw_record_iter ri;
        if (kw__record_iter_init(&ri, &b, NULL, 0, 0))
            break;
        kw_record rec;
        while (kw__record_next(&ri, &rec) == 1) {
            o->records++;
            if (rec.value.len > 0 && (size_t)rec.value.len < sizeof(o->value)) {
                memcpy(o->value, rec.value.ptr, (size_t)rec.value.len);
                o->value[rec.value.len] = 0;
            }
        }
    }
}

START_TEST(routed_produce_then_fetch_reads_it_back)
{
    kw_cluster *cl = open_cluster(bootstrap());
    char name[128];
    snprintf(name, sizeof(name), "kwal-it-cluster-data-%d", getpid());
    create_topic(cl, name, 2);

    produce_ctx pc = {.topic = name, .partition = 1};
    kw__wr_init(&pc.batch);
    kw_batch_builder bb;
    ck_assert_int_eq(kw__batch_begin(&bb, &pc.batch, NULL), 0);
    const char *val = "routed-by-the-cluster";
    ck_assert_int_eq(kw__batch_add(&bb, 1700000000000, KW_BYTES_NULL,
                                   (kw_bytes){(const uint8_t *)val, (int32_t)strlen(val)}, NULL, 0),
                     0);
    ck_assert_int_eq(kw__batch_finish(&bb), 0);

    /* Right after CreateTopics the leader may not be known yet: the routed call waits for it. */
    outcome po = {0};
    ck_assert_int_eq(kw__cluster_send_partition(cl, KW_API_PRODUCE, name, 1, build_produce, &pc,
                                                deadline_in(15000), on_produced, &po),
                     0);
    ck_assert(run_until(&po.done, 16000));
    ck_assert_msg(po.err == 0, "produce: %s (kerr %d): %s", kw_err_name(po.err), po.kerr,
                  po.detail);
    ck_assert_int_eq(po.base_offset, 0);
    ck_assert_int_ge(po.node_id, 0);
    ck_assert_int_ge(pc.builds, 1);
    ck_assert_int_eq(po.attempts, (unsigned)pc.builds);

    fetch_ctx fc = {.cl = cl, .topic = name, .partition = 1, .offset = 0};
    outcome fo = {0};
    ck_assert_int_eq(kw__cluster_send_partition(cl, KW_API_FETCH, name, 1, build_fetch, &fc,
                                                deadline_in(10000), on_fetched, &fo),
                     0);
    ck_assert(run_until(&fo.done, 11000));
    ck_assert_msg(fo.err == 0, "fetch: %s: %s", kw_err_name(fo.err), fo.detail);
    ck_assert_int_eq(fo.records, 1);
    ck_assert_str_eq(fo.value, val);
    ck_assert_int_eq(fo.high_watermark, 1);
    ck_assert_int_ge(fc.epoch_seen, 0); /* the cache's leader epoch went into the request */
    ck_assert_int_ge(fc.version_seen, 13); /* by topic id */
    ck_assert(!kw_uuid_is_zero(fc.t.topic_id));
    ck_assert_str_eq(kw__cluster_topic_name(cl, fc.t.topic_id), name);

    /* A non-retriable partition error comes back at once: fetch past the end... is retriable
     * in no client; OFFSET_OUT_OF_RANGE (1) ends the call on the first answer. */
    fetch_ctx bad = {.cl = cl, .topic = name, .partition = 1, .offset = 1000};
    outcome bo = {0};
    uint64_t t0 = now_ms();
    ck_assert_int_eq(kw__cluster_send_partition(cl, KW_API_FETCH, name, 1, build_fetch, &bad,
                                                deadline_in(10000), on_fetched, &bo),
                     0);
    ck_assert(run_until(&bo.done, 11000));
    ck_assert_int_eq(bo.err, KW_EBROKER);
    ck_assert_int_eq(bo.kerr, KW_KERR_OFFSET_OUT_OF_RANGE);
    ck_assert_int_eq(bo.attempts, 1);
    ck_assert_msg(now_ms() - t0 < 2000, "took %llu ms", (unsigned long long)(now_ms() - t0));
    ck_assert_msg(strstr(bo.detail, "OFFSET_OUT_OF_RANGE"), "detail: %s", bo.detail);

    /* A retriable partition error (UNKNOWN_LEADER_EPOCH) refreshes metadata and retries. */
    uint64_t refreshes = kw__cluster_refresh_count(cl);
    fetch_ctx re = {.cl = cl, .topic = name, .partition = 1, .offset = 0, .wrong_epochs = 1};
    outcome ro = {0};
    ck_assert_int_eq(kw__cluster_send_partition(cl, KW_API_FETCH, name, 1, build_fetch, &re,
                                                deadline_in(10000), on_fetched, &ro),
                     0);
    ck_assert(run_until(&ro.done, 11000));
    ck_assert_msg(ro.err == 0, "fetch: %s: %s", kw_err_name(ro.err), ro.detail);
    ck_assert_int_eq(ro.attempts, 2);
    ck_assert_int_eq(re.builds, 2);
    ck_assert_int_eq(ro.records, 1);
    ck_assert_int_gt(kw__cluster_refresh_count(cl), refreshes);

    /* Still wrong at the deadline: the call ends with the Kafka error after several attempts. */
    fetch_ctx stuck = {.cl = cl, .topic = name, .partition = 1, .offset = 0, .wrong_epochs = 1000};
    outcome so = {0};
    t0 = now_ms();
    ck_assert_int_eq(kw__cluster_send_partition(cl, KW_API_FETCH, name, 1, build_fetch, &stuck,
                                                deadline_in(1000), on_fetched, &so),
                     0);
    ck_assert(run_until(&so.done, 5000));
    ck_assert_int_eq(so.err, KW_EBROKER);
    ck_assert_int_eq(so.kerr, KW_KERR_UNKNOWN_LEADER_EPOCH);
    ck_assert_int_ge(so.attempts, 3);
    ck_assert_msg(now_ms() - t0 >= 980 && now_ms() - t0 < 1500, "took %llu ms",
                  (unsigned long long)(now_ms() - t0));
    ck_assert_msg(strstr(so.detail, "UNKNOWN_LEADER_EPOCH"), "detail: %s", so.detail);

    kw__wr_free(&pc.batch);
    kw__cluster_free(cl);
}
END_TEST

/*
 * coalesce_produce: produces to three partitions (two topics) and a second one to the same
 * partition, all started in one loop round, share requests: one partition per call per
 * request, each call answered with its own partition's base offset.
 */
START_TEST(produce_calls_of_one_round_share_a_request)
{
    kw_cluster_options opt = {.bootstrap = bootstrap(),
                              .conn = {.connect_timeout_ms = 3000},
                              .backoff_ms = 50,
                              .backoff_max_ms = 500,
                              .coalesce_produce = true};
    kw_cluster *cl;
    ck_assert_int_eq(kw__cluster_new(&cl, loop, &opt), 0);
    char a[128], b[128];
    snprintf(a, sizeof(a), "kwal-it-cluster-coalesce-a-%d", getpid());
    snprintf(b, sizeof(b), "kwal-it-cluster-coalesce-b-%d", getpid());
    create_topic(cl, a, 2);
    create_topic(cl, b, 1);
    refresh(cl, a);
    refresh(cl, b);
    enum { N = 4 };
    produce_ctx pc[N] = {{.topic = a, .partition = 0},
                         {.topic = a, .partition = 1},
                         {.topic = b, .partition = 0},
                         {.topic = a, .partition = 0}}; /* a second call for a/0 */
    const int records[N] = {3, 2, 1, 5};
    outcome po[N];
    memset(po, 0, sizeof(po));
    /* warm the connection up, so all four are ready in the same round */
    {
        produce_ctx w = {.topic = b, .partition = 0};
        kw__wr_init(&w.batch);
        kw_batch_builder bb;
        ck_assert_int_eq(kw__batch_begin(&bb, &w.batch, NULL), 0);
        ck_assert_int_eq(kw__batch_add(&bb, 1700000000000, KW_BYTES_NULL,
                                       (kw_bytes){(const uint8_t *)"w", 1}, NULL, 0),
                         0);
        ck_assert_int_eq(kw__batch_finish(&bb), 0);
        outcome wo = {0};
        ck_assert_int_eq(kw__cluster_send_partition(cl, KW_API_PRODUCE, b, 0, build_produce, &w,
                                                    deadline_in(15000), on_produced, &wo),
                         0);
        ck_assert(run_until(&wo.done, 16000));
        ck_assert_int_eq(wo.err, 0);
        kw__wr_free(&w.batch);
    }
    uint64_t req0, calls0;
    kw__cluster_coalesced(cl, &req0, &calls0);
    for (int i = 0; i < N; i++) {
        kw__wr_init(&pc[i].batch);
        kw_batch_builder bb;
        ck_assert_int_eq(kw__batch_begin(&bb, &pc[i].batch, NULL), 0);
        for (int r = 0; r < records[i]; r++)
            ck_assert_int_eq(kw__batch_add(&bb, 1700000000000, KW_BYTES_NULL,
                                           (kw_bytes){(const uint8_t *)"v", 1}, NULL, 0),
                             0);
        ck_assert_int_eq(kw__batch_finish(&bb), 0);
        ck_assert_int_eq(kw__cluster_send_partition(cl, KW_API_PRODUCE, pc[i].topic,
                                                    pc[i].partition, build_produce, &pc[i],
                                                    deadline_in(15000), on_produced, &po[i]),
                         0);
    }
    for (int i = 0; i < N; i++) {
        ck_assert(run_until(&po[i].done, 16000));
        ck_assert_msg(po[i].err == 0, "produce %d: %s (kerr %d): %s", i, kw_err_name(po[i].err),
                      po[i].kerr, po[i].detail);
    }
    /* each answer is its own partition's: a/0 got 3 then 5 records, a/1 2, b/0 1 after "w" */
    ck_assert_int_eq(po[0].base_offset, 0);
    ck_assert_int_eq(po[3].base_offset, 3);
    ck_assert_int_eq(po[1].base_offset, 0);
    ck_assert_int_eq(po[2].base_offset, 1);
    uint64_t req1, calls1;
    kw__cluster_coalesced(cl, &req1, &calls1);
    /* a/0, a/1, b/0 in one request; the second a/0 alone in the next */
    ck_assert_uint_eq(req1 - req0, 1);
    ck_assert_uint_eq(calls1 - calls0, 3);
    for (int i = 0; i < N; i++)
        kw__wr_free(&pc[i].batch);
    kw__cluster_free(cl);
}
END_TEST

/*
 * The same with more than 8 calls in a round, where the coalescer finds a partition taken
 * twice and each call's part of the answer through hash sets (3 topics x 4 partitions, three
 * partitions called twice): the first call of every partition shares one request, the
 * seconds the next, and each call gets its own partition's base offset.
 */
START_TEST(many_partitions_of_one_round_share_a_request_each_answered_its_own)
{
    kw_cluster_options opt = {.bootstrap = bootstrap(),
                              .conn = {.connect_timeout_ms = 3000},
                              .backoff_ms = 50,
                              .backoff_max_ms = 500,
                              .coalesce_produce = true};
    kw_cluster *cl;
    ck_assert_int_eq(kw__cluster_new(&cl, loop, &opt), 0);
    enum { TOPICS = 3, PARTS = 4, FIRST = TOPICS * PARTS, N = FIRST + 3 };
    char names[TOPICS][128];
    for (int t = 0; t < TOPICS; t++) {
        snprintf(names[t], sizeof(names[t]), "kwal-it-cluster-many-%d-%d", t, getpid());
        create_topic(cl, names[t], PARTS);
        refresh(cl, names[t]);
    }
    produce_ctx pc[N];
    outcome po[N];
    int records[N];
    memset(pc, 0, sizeof(pc));
    memset(po, 0, sizeof(po));
    for (int i = 0; i < N; i++) {
        int slot = i < FIRST ? i : (i - FIRST) * 5; /* seconds: slots 0, 5 and 10 again */
        pc[i].topic = names[slot / PARTS];
        pc[i].partition = slot % PARTS;
        records[i] = 1 + i % 4;
    }
    /* one record to every partition first: each has a known leader (a new topic's partitions
     * get theirs one by one) and the connection is up, so all the calls are ready in one round */
    for (int slot = 0; slot < FIRST; slot++) {
        produce_ctx w = {.topic = names[slot / PARTS], .partition = slot % PARTS};
        kw__wr_init(&w.batch);
        kw_batch_builder bb;
        ck_assert_int_eq(kw__batch_begin(&bb, &w.batch, NULL), 0);
        ck_assert_int_eq(kw__batch_add(&bb, 1700000000000, KW_BYTES_NULL,
                                       (kw_bytes){(const uint8_t *)"w", 1}, NULL, 0),
                         0);
        ck_assert_int_eq(kw__batch_finish(&bb), 0);
        outcome wo = {0};
        ck_assert_int_eq(kw__cluster_send_partition(cl, KW_API_PRODUCE, w.topic, w.partition,
                                                    build_produce, &w, deadline_in(15000),
                                                    on_produced, &wo),
                         0);
        ck_assert(run_until(&wo.done, 16000));
        ck_assert_msg(wo.err == 0, "warm-up produce %d: %s: %s", slot, kw_err_name(wo.err),
                      wo.detail);
        kw__wr_free(&w.batch);
    }
    uint64_t req0, calls0;
    kw__cluster_coalesced(cl, &req0, &calls0);
    for (int i = 0; i < N; i++) {
        kw__wr_init(&pc[i].batch);
        kw_batch_builder bb;
        ck_assert_int_eq(kw__batch_begin(&bb, &pc[i].batch, NULL), 0);
        for (int r = 0; r < records[i]; r++)
            ck_assert_int_eq(kw__batch_add(&bb, 1700000000000, KW_BYTES_NULL,
                                           (kw_bytes){(const uint8_t *)"v", 1}, NULL, 0),
                             0);
        ck_assert_int_eq(kw__batch_finish(&bb), 0);
        ck_assert_int_eq(kw__cluster_send_partition(cl, KW_API_PRODUCE, pc[i].topic,
                                                    pc[i].partition, build_produce, &pc[i],
                                                    deadline_in(15000), on_produced, &po[i]),
                         0);
    }
    for (int i = 0; i < N; i++) {
        ck_assert(run_until(&po[i].done, 16000));
        ck_assert_msg(po[i].err == 0, "produce %d: %s (kerr %d): %s", i, kw_err_name(po[i].err),
                      po[i].kerr, po[i].detail);
    }
    /* first calls: offset 1 (after "w"); seconds: after their first call's records */
    for (int i = 0; i < FIRST; i++)
        ck_assert_msg(po[i].base_offset == 1, "call %d: base offset %lld", i,
                      (long long)po[i].base_offset);
    for (int i = FIRST; i < N; i++) {
        int first = (i - FIRST) * 5;
        ck_assert_msg(po[i].base_offset == 1 + records[first], "call %d: base offset %lld, not %d",
                      i, (long long)po[i].base_offset, 1 + records[first]);
    }
    uint64_t req1, calls1;
    kw__cluster_coalesced(cl, &req1, &calls1);
    ck_assert_msg(req1 - req0 == 2 && calls1 - calls0 == N, "%llu requests of %llu calls",
                  (unsigned long long)(req1 - req0), (unsigned long long)(calls1 - calls0));
    for (int i = 0; i < N; i++)
        kw__wr_free(&pc[i].batch);
    kw__cluster_free(cl);
}
END_TEST

/* One produce call of a single-record batch for topic/0. */
static void produce_one(kw_cluster *cl, produce_ctx *pc, const char *topic, outcome *o)
{
    pc->topic = topic;
    pc->partition = 0;
    kw__wr_init(&pc->batch);
    kw_batch_builder bb;
    ck_assert_int_eq(kw__batch_begin(&bb, &pc->batch, NULL), 0);
    ck_assert_int_eq(kw__batch_add(&bb, 1700000000000, KW_BYTES_NULL,
                                   (kw_bytes){(const uint8_t *)"v", 1}, NULL, 0),
                     0);
    ck_assert_int_eq(kw__batch_finish(&bb), 0);
    ck_assert_int_eq(kw__cluster_send_partition(cl, KW_API_PRODUCE, topic, 0, build_produce, pc,
                                                deadline_in(15000), on_produced, o),
                     0);
}

/*
 * Regression: a call made while the Metadata request that looks its topic up
 * was on its way waited for one more Metadata round trip, so calls made after
 * the answer (the topic known by then) went out before it: produce order broken.
 */
START_TEST(calls_made_while_their_topic_is_looked_up_keep_their_order)
{
    kw_cluster *cl = open_cluster(bootstrap());
    char t[128];
    snprintf(t, sizeof(t), "kwal-it-cluster-order-%d", getpid());
    create_topic(cl, t, 1); /* through send_any: the cache does not follow the topic yet */
    produce_ctx pc[3];
    outcome po[3];
    memset(pc, 0, sizeof(pc));
    memset(po, 0, sizeof(po));
    refresh(cl, NULL); /* settles the cache: no Metadata request is in flight now */
    uint64_t applied = kw__cluster_refresh_count(cl);
    produce_one(cl, &pc[0], t, &po[0]);
    /* one round: the first call's step sends the Metadata request that asks for the topic */
    ck_assert_int_ge(kw__loop_run_once(loop, 0), 1);
    ck_assert_uint_eq(kw__cluster_refresh_count(cl), applied);
    produce_one(cl, &pc[1], t, &po[1]); /* made while the answer is on its way */
    uint64_t end = now_ms() + 10000;
    while (kw__cluster_refresh_count(cl) == applied && now_ms() < end)
        ck_assert_int_ge(kw__loop_run_once(loop, 10), 0);
    ck_assert_uint_gt(kw__cluster_refresh_count(cl), applied);
    produce_one(cl, &pc[2], t, &po[2]); /* made once the topic is known */
    for (int i = 0; i < 3; i++) {
        ck_assert(run_until(&po[i].done, 16000));
        ck_assert_msg(po[i].err == 0, "produce %d: %s: %s", i, kw_err_name(po[i].err),
                      po[i].detail);
    }
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(po[i].base_offset, i);
        kw__wr_free(&pc[i].batch);
    }
    kw__cluster_free(cl);
}
END_TEST

START_TEST(unknown_topic_retries_until_the_deadline_then_says_3)
{
    kw_cluster *cl = open_cluster(bootstrap());
    char name[128];
    snprintf(name, sizeof(name), "kwal-it-cluster-missing-%d", getpid());
    fetch_ctx fc = {.cl = cl, .topic = name, .partition = 0, .offset = 0};
    outcome o = {0};
    uint64_t t0 = now_ms();
    ck_assert_int_eq(kw__cluster_send_partition(cl, KW_API_FETCH, name, 0, build_fetch, &fc,
                                                deadline_in(1500), on_fetched, &o),
                     0);
    ck_assert(run_until(&o.done, 5000));
    uint64_t took = now_ms() - t0;
    ck_assert_int_eq(o.err, KW_EBROKER);
    ck_assert_int_eq(o.kerr, KW_KERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_msg(took >= 1450 && took < 1800, "took %llu ms", (unsigned long long)took);
    ck_assert_int_eq(o.attempts, 0); /* never sent: there was no leader to send it to */
    char want[256];
    snprintf(want, sizeof(want), "no leader for %s/0 after ", name);
    ck_assert_msg(strstr(o.detail, want), "detail: %s", o.detail);
    ck_assert_msg(strstr(o.detail, "metadata refreshes: UNKNOWN_TOPIC_OR_PARTITION"),
                  "detail: %s", o.detail);
    /* several refreshes fit in 1.5 s with a 50..500 ms backoff */
    ck_assert_int_ge(kw__cluster_refresh_count(cl), 3);
    kw__cluster_free(cl);
}
END_TEST

START_TEST(free_fails_unfinished_calls_with_closed)
{
    kw_cluster *cl = open_cluster(bootstrap());
    fetch_ctx fc = {.cl = cl, .topic = "kwal-it-cluster-never", .partition = 0};
    outcome o = {0};
    ck_assert_int_eq(kw__cluster_send_partition(cl, KW_API_FETCH, fc.topic, 0, build_fetch, &fc,
                                                deadline_in(10000), on_fetched, &o),
                     0);
    ck_assert_int_ge(kw__loop_run_once(loop, 50), 0);
    kw__cluster_free(cl);
    ck_assert_int_eq(o.done, 1);
    ck_assert_int_eq(o.err, KW_ECLOSED);
    ck_assert_int_eq(kw__cluster_send_partition(NULL, KW_API_FETCH, "t", 0, build_fetch, &fc, 0,
                                                on_fetched, &o),
                     KW_EINVAL);
}
END_TEST

START_TEST(unreachable_cluster_times_out_at_the_deadline)
{
    char list[64];
    snprintf(list, sizeof(list), "127.0.0.1:%u", dead_port());
    kw_cluster *cl = open_cluster(list);
    outcome o = {0};
    uint64_t t0 = now_ms();
    ck_assert_int_eq(kw__cluster_refresh(cl, NULL, deadline_in(800), on_done_generic, &o), 0);
    ck_assert(run_until(&o.done, 3000));
    uint64_t took = now_ms() - t0;
    ck_assert_int_eq(o.err, KW_ETIMEDOUT);
    ck_assert_msg(took >= 780 && took < 1100, "took %llu ms", (unsigned long long)took);
    ck_assert_msg(strstr(kw__cluster_errstr(cl), "connection refused"), "errstr: %s",
                  kw__cluster_errstr(cl));
    ck_assert_msg(strstr(o.detail, "no broker reachable, last: connect 127.0.0.1:"),
                  "detail: %s", o.detail);
    ck_assert_msg(strstr(o.detail, "connection refused; deadline passed after 0 sends"),
                  "detail: %s", o.detail);
    kw__cluster_free(cl);
}
END_TEST

/* ---- connection loss, through the fault proxy ---- */

static void on_any_metadata(const kw_cluster_result *r, void *arg)
{
    outcome *o = arg;
    on_done_generic(r, arg);
    const kw_metadata_resp *resp = r->resp;
    o->records = resp ? resp->brokers.n : -1;
}

typedef struct md_ctx {
    kw_metadata_req req;
} md_ctx;

static int build_metadata(void *arg, int version, int32_t epoch, const void **req)
{
    md_ctx *c = arg;
    (void)epoch;
    kw__schema_init(kw__api(KW_API_METADATA)->req, version, &c->req);
    c->req.topics.n = 0;
    *req = &c->req;
    return 0;
}

START_TEST(bootstrap_connection_cut_mid_handshake_reconnects_after_a_backoff)
{
    kt_proxy px;
    ck_assert_int_eq(kt_proxy_start_timed(&px, bootstrap(), 60), 0);
    /* The first connection dies inside the ApiVersions response; the next one forwards. */
    ck_assert_int_eq(kt_proxy_cmd(&px, "cut-after 20"), 0);
    kw_cluster *cl = open_cluster(px.listen_addr);
    uint64_t t0 = now_ms();
    refresh(cl, NULL);
    uint64_t took = now_ms() - t0;
    char reply[256];
    ck_assert_int_eq(kt_proxy_query(&px, "stats", reply, sizeof(reply)), 0);
    /* Say why a connection closed if there were more: the cut, then what else (unexplained: seen
     * once as 3 on a loaded machine). */
    ck_assert_msg(kt_proxy_stat(reply, "accepted") == 2, "proxy: %s; the last connection error: %s",
                  reply, kw__cluster_errstr(cl));
    /* backoff_ms 50 with +-20% jitter before the second connection */
    ck_assert_msg(took >= 40 && took < 2000, "took %llu ms", (unsigned long long)took);

    /* Cut the (now READY) bootstrap connection inside the response: the request fails with a
     * connection error and send_any retries it on another connection (the node itself). */
    ck_assert_int_eq(kt_proxy_cmd(&px, "cut-after 10"), 0);
    md_ctx mc;
    outcome o = {0};
    ck_assert_int_eq(kw__cluster_send_any(cl, KW_API_METADATA, build_metadata, &mc,
                                          deadline_in(10000), on_any_metadata, &o),
                     0);
    ck_assert(run_until(&o.done, 11000));
    ck_assert_msg(o.err == 0, "metadata: %s: %s", kw_err_name(o.err), o.detail);
    ck_assert_int_ge(o.records, 1);
    ck_assert_int_eq(o.attempts, 2);
    ck_assert_int_ge(o.node_id, 0);
    fprintf(stderr, "cluster: after the cut, Metadata answered by node %d in %u attempt(s)\n",
            o.node_id, o.attempts);
    kw__cluster_free(cl);
    kt_proxy_stop(&px);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cluster-broker");
    TCase *tc = tcase_create("cluster");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, dead_first_bootstrap_address_is_skipped);
    tcase_add_test(tc, bad_bootstrap_lists_are_refused_with_the_reason);
    tcase_add_test(tc, metadata_cache_describes_a_created_topic);
    tcase_add_test(tc, calls_made_while_their_topic_is_looked_up_keep_their_order);
    tcase_add_test(tc, produce_calls_of_one_round_share_a_request);
    tcase_add_test(tc, many_partitions_of_one_round_share_a_request_each_answered_its_own);
    tcase_add_test(tc, routed_produce_then_fetch_reads_it_back);
    tcase_add_test(tc, unknown_topic_retries_until_the_deadline_then_says_3);
    tcase_add_test(tc, free_fails_unfinished_calls_with_closed);
    tcase_add_test(tc, unreachable_cluster_times_out_at_the_deadline);
    tcase_add_test(tc, bootstrap_connection_cut_mid_handshake_reconnects_after_a_backoff);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
