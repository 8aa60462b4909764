/* Fetch v13+ against the real broker: topics by id, the version cap going back to names, a topic created again under its name, and a fenced leader epoch on the 3-node cluster. */
#include <check.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kwal/client.h"
#include "kwal/consumer.h"
#include "net/cluster.h"
#include "proto/batch.h"
#include "proto/kerr.h"
#include "proto/msg_data.h"

/*
 * Cases (CK_RUN_CASE picks one tcase; meson runs "broker" in the integration
 * suite and "cluster" in integration-cluster):
 *   broker: the consumer and kw_client_fetch read by topic id at Fetch v13 or
 *     later (the version read from the client's connect log); capped at Kafka
 *     3.0 they read the same records by name at v12; a topic deleted and
 *     created again under its name while a consumer reads is an error naming
 *     both ids (or the deletion's UNKNOWN_TOPIC_OR_PARTITION), never the new
 *     topic's records at the old topic's offsets, and a seek reads the new one;
 *   cluster: after a leader move, a Fetch with the old leader epoch is answered
 *     FENCED_LEADER_EPOCH, refreshed and retried; still stale at its deadline
 *     it ends with that error.
 */

#define BASE_TS 1700000000000LL
#define ASSERT_OK(rc, detail) ck_assert_msg((rc) == 0, "%s: %s", kw_err_name(rc), (detail))

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void topic_name(char *buf, size_t len, const char *what)
{
    static atomic_int seq;
    snprintf(buf, len, "kwal-it-fid-%s-%d-%d", what, getpid(), atomic_fetch_add(&seq, 1));
}

/* The highest Fetch version the client's connections logged (-1 none). */
typedef struct seen {
    atomic_int fetch_version;
} seen;

static void on_log(void *arg, int level, const char *msg)
{
    (void)level;
    seen *s = arg;
    const char *f = strstr(msg, "Fetch v");
    if (f && strstr(msg, "connected to")) {
        int v = atoi(f + 7);
        if (v > atomic_load(&s->fetch_version))
            atomic_store(&s->fetch_version, v);
    }
}

static kw_client *open_client(const char *bs, const char *cap, seen *s)
{
    kw_client_options o = {.bootstrap = bs, .connect_timeout_ms = 5000,
                           .request_timeout_ms = 10000, .api_version_max = cap,
                           .log = s ? on_log : NULL, .log_arg = s};
    kw_client *c = NULL;
    char err[256];
    int rc = kw_client_new(&c, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_client_new: %s: %s", kw_err_name(rc), err);
    return c;
}

static kw_consumer *open_consumer(kw_client *c)
{
    kw_consumer_options o = {.fetches = 4, .fetch_bytes = 4096};
    kw_consumer *k = NULL;
    char err[256];
    int rc = kw_consumer_new(&k, c, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_consumer_new: %s: %s", kw_err_name(rc), err);
    return k;
}

/* retention.ms=-1: the records are stamped in the past (BASE_TS, 2023), and the broker's
 * 7-day time retention, checked every 5 minutes, would delete them under a case. */
static void create_topic(kw_client *c, const char *name, int16_t replication)
{
    kw_client_config_entry cfg = {"retention.ms", "-1"};
    kw_client_new_topic t = {.name = name, .partitions = 1, .replication_factor = replication,
                             .configs = &cfg, .config_count = 1};
    kw_client_create_topics_args a = {.topics = &t, .topic_count = 1, .timeout_ms = 30000};
    /* A name just deleted can be TOPIC_ALREADY_EXISTS for a moment (the deletion goes on). */
    for (uint64_t end = now_ms() + 30000;; usleep(200 * 1000)) {
        kw_client_topics_result r;
        int rc = kw_client_create_topics(c, &a, &r);
        ASSERT_OK(rc, r.detail);
        ck_assert_uint_eq(r.topic_count, 1);
        int16_t kerr = r.topics[0].kerr;
        ck_assert_msg(kerr == 0 || (kerr == KW_KERR_TOPIC_ALREADY_EXISTS && now_ms() < end),
                      "CreateTopics %s: %s", name, r.topics[0].message);
        kw_client_topics_result_free(&r);
        if (kerr == 0)
            break;
    }
    int rc;
    kw_client_list_offsets_args la = {.topic = name, .spec = KW_CLIENT_OFFSET_LATEST,
                                      .timeout_ms = 30000};
    kw_client_list_offsets_result lr;
    rc = kw_client_list_offsets(c, &la, &lr);
    ASSERT_OK(rc, lr.detail);
}

static void delete_topic(kw_client *c, const char *name)
{
    const char *names[] = {name};
    kw_client_delete_topics_args a = {.names = names, .name_count = 1, .timeout_ms = 30000};
    kw_client_topics_result r;
    kw_client_delete_topics(c, &a, &r);
    kw_client_topics_result_free(&r);
}

/* Records "<prefix><i>" for i in [0, count), per_batch to a batch. */
static void produce(kw_client *c, const char *topic, const char *prefix, int count, int per_batch)
{
    for (int i = 0; i < count;) {
        kw_wr w;
        kw__wr_init(&w);
        kw_batch_builder bb;
        kw_batch_opts bo = {0};
        ck_assert_int_eq(kw__batch_begin(&bb, &w, &bo), 0);
        for (int n = 0; n < per_batch && i < count; n++, i++) {
            char v[32];
            snprintf(v, sizeof(v), "%s%d", prefix, i);
            ck_assert_int_eq(kw__batch_add(&bb, BASE_TS + i, KW_BYTES_NULL,
                                           (kw_bytes){(const uint8_t *)v, (int32_t)strlen(v)},
                                           NULL, 0),
                             0);
        }
        ck_assert_int_eq(kw__batch_finish(&bb), 0);
        kw_client_produce_args a = {.topic = topic, .batch = w.buf, .batch_len = w.len,
                                    .timeout_ms = 30000};
        kw_client_produce_result r;
        int rc = kw_client_produce(c, &a, &r);
        kw__wr_free(&w);
        ASSERT_OK(rc, r.detail);
    }
}

/* Polls until `want` records from `first` arrived, each "<prefix><offset>"; any error fails. */
static void read_exactly(kw_consumer *k, const char *prefix, int64_t first, int64_t want)
{
    int64_t next = first;
    uint64_t end = now_ms() + 30000;
    while (next < first + want && now_ms() < end) {
        kw_consumer_poll_result r;
        ASSERT_OK(kw_consumer_poll(k, 200, &r), "poll");
        ck_assert_msg(r.error_count == 0, "partition error: %s", r.errors[0].detail);
        for (size_t i = 0; i < r.record_count; i++, next++) {
            char v[32];
            snprintf(v, sizeof(v), "%s%" PRId64, prefix, next);
            ck_assert_int_eq(r.records[i].offset, next);
            ck_assert_uint_eq(r.records[i].value_len, strlen(v));
            ck_assert_mem_eq(r.records[i].value, v, strlen(v));
        }
    }
    ck_assert_int_eq(next, first + want);
}

/* The consumer and kw_client_fetch read N records; returns the Fetch version they used. */
static int read_topic(const char *cap)
{
    seen s = {.fetch_version = -1};
    kw_client *c = open_client(getenv("KWAL_BOOTSTRAP"), cap, &s);
    char topic[128];
    topic_name(topic, sizeof(topic), cap ? "capped" : "ids");
    create_topic(c, topic, 1);
    enum { N = 500 };
    produce(c, topic, "v", N, 50);
    kw_consumer *k = open_consumer(c);
    ASSERT_OK(kw_consumer_assign(k, topic, 0, kw_consumer_at_earliest()), "assign");
    read_exactly(k, "v", 0, N);
    kw_consumer_destroy(k);

    kw_client_fetch_args fa = {.topic = topic, .partition = 0, .offset = 100,
                               .max_bytes = 1 << 20, .timeout_ms = 10000};
    kw_client_fetch_result fr;
    ASSERT_OK(kw_client_fetch(c, &fa, &fr), fr.detail);
    ck_assert_int_eq(fr.high_watermark, N);
    kw_batch_iter it;
    kw__batch_iter_init(&it, fr.records, fr.records_len, KW_BATCH_VERIFY_CRC);
    kw_batch b;
    ck_assert_int_eq(kw__batch_next(&it, &b), 1);
    ck_assert_int_eq(b.base_offset, 100); /* the batch of offsets 100..149 */
    kw_client_fetch_result_free(&fr);

    delete_topic(c, topic);
    kw_client_destroy(c);
    return atomic_load(&s.fetch_version);
}

START_TEST(the_consumer_and_fetch_read_by_topic_id_from_v13)
{
    int v = read_topic(NULL);
    ck_assert_msg(v >= 13 && v <= 17, "Fetch v%d", v);
}
END_TEST

START_TEST(capped_at_kafka_3_0_they_read_the_same_by_name_at_v12)
{
    int v = read_topic("3.0");
    ck_assert_int_eq(v, 12);
}
END_TEST

/* Until Metadata no longer knows the topic (DeleteTopics answers before every broker forgot it). */
static void wait_gone(kw_client *c, const char *topic)
{
    for (uint64_t end = now_ms() + 30000; now_ms() < end; usleep(100 * 1000)) {
        const char *names[] = {topic};
        kw_client_metadata_args a = {.topics = names, .topic_count = 1, .timeout_ms = 10000};
        kw_client_metadata_result r;
        if (kw_client_metadata(c, &a, &r) != 0)
            continue;
        bool gone = r.topic_count == 1 && r.topics[0].kerr == KW_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        kw_client_metadata_result_free(&r);
        if (gone)
            return;
    }
    ck_abort_msg("%s is still there 30 s after DeleteTopics", topic);
}

static void recreated_while_read(const char *cap)
{
    kw_client *c = open_client(getenv("KWAL_BOOTSTRAP"), cap, NULL);
    kw_client *admin = open_client(getenv("KWAL_BOOTSTRAP"), NULL, NULL);
    char topic[128];
    topic_name(topic, sizeof(topic), cap ? "again-capped" : "again");
    create_topic(admin, topic, 1);
    produce(admin, topic, "old", 5, 5);
    kw_consumer *k = open_consumer(c);
    ASSERT_OK(kw_consumer_assign(k, topic, 0, kw_consumer_at_earliest()), "assign");
    read_exactly(k, "old", 0, 5);
    /* The consumer waits at offset 5 while the topic goes and comes back longer than that: by
     * name, offset 5 now exists again, in another log. */
    delete_topic(admin, topic);
    wait_gone(admin, topic);
    create_topic(admin, topic, 1);
    produce(admin, topic, "new", 10, 10);
    kw_consumer_error e = {0};
    bool got_error = false;
    for (uint64_t end = now_ms() + 40000; !got_error && now_ms() < end;) {
        kw_consumer_poll_result r;
        ASSERT_OK(kw_consumer_poll(k, 200, &r), "poll");
        ck_assert_msg(r.record_count == 0, "offset %" PRId64 " of the new topic (%.*s) read as "
                      "the old one's", r.records[0].offset, (int)r.records[0].value_len,
                      (const char *)r.records[0].value);
        if (r.error_count) {
            e = r.errors[0];
            got_error = true;
        }
    }
    ck_assert_msg(got_error, "no error in 40 s");
    fprintf(stderr, "%s: kerr %d: %s\n", cap ? cap : "uncapped", e.kerr, e.detail);
    ck_assert_int_eq(e.offset, 5);
    ck_assert_msg(e.kerr == KW_KERR_UNKNOWN_TOPIC_ID || e.kerr == KW_KERR_UNKNOWN_TOPIC_OR_PARTITION,
                  "kerr %d: %s", e.kerr, e.detail);
    if (e.kerr == KW_KERR_UNKNOWN_TOPIC_ID)
        ck_assert_msg(strstr(e.detail, "created again"), "%s", e.detail);
    /* A seek reads the new topic from its start. */
    ASSERT_OK(kw_consumer_seek(k, topic, 0, kw_consumer_at_earliest()), "seek");
    read_exactly(k, "new", 0, 10);
    kw_consumer_destroy(k);
    delete_topic(admin, topic);
    kw_client_destroy(c);
    kw_client_destroy(admin);
}

START_TEST(a_topic_created_again_is_an_error_not_the_new_topics_offsets)
{
    recreated_while_read(NULL);
}
END_TEST

START_TEST(a_topic_created_again_is_caught_by_name_too)
{
    recreated_while_read("3.0");
}
END_TEST

/* ---- cluster: a fenced leader epoch ---- */

static kw_loop *loop;

typedef struct fetch_ctx {
    kw_cluster *cl;
    const char *topic;
    int stale; /* this many first attempts send the leader epoch before the cache's */
    int builds, version;
    int32_t epoch_seen;
    kw_fetch_req_partition p;
    kw_fetch_req_topic t;
    kw_fetch_req req;
    /* the outcome */
    int done, err, records;
    int16_t kerr;
    unsigned attempts;
    char detail[512];
} fetch_ctx;

static int build_fetch(void *arg, int version, int32_t epoch, const void **req)
{
    fetch_ctx *f = arg;
    f->version = version;
    f->epoch_seen = epoch;
    if (f->builds++ < f->stale)
        epoch--;
    kw__schema_init(kw__api(KW_API_FETCH)->req, version, &f->req);
    f->p = (kw_fetch_req_partition){.partition = 0, .current_leader_epoch = epoch,
                                    .fetch_offset = 0, .last_fetched_epoch = -1,
                                    .log_start_offset = -1, .partition_max_bytes = 1 << 20};
    f->t = (kw_fetch_req_topic){.topic = kw_str_c(f->topic)};
    kw__cluster_topic_id(f->cl, f->topic, &f->t.topic_id);
    f->t.partitions.v = &f->p;
    f->t.partitions.n = 1;
    f->req.max_wait_ms = 100;
    f->req.min_bytes = 1;
    f->req.topics.v = &f->t;
    f->req.topics.n = 1;
    *req = &f->req;
    return 0;
}

static void on_fetched(const kw_cluster_result *r, void *arg)
{
    fetch_ctx *f = arg;
    f->done = 1;
    f->err = r->err;
    f->kerr = r->kerr;
    f->attempts = r->attempts;
    snprintf(f->detail, sizeof(f->detail), "%s", r->detail ? r->detail : "");
    const kw_fetch_resp_partition *p =
        kw__fetch_resp_find(r->resp, r->version, f->topic, f->t.topic_id, 0);
    if (!p || p->records.len <= 0)
        return;
    kw_batch_iter it;
    kw__batch_iter_init(&it, p->records.ptr, (size_t)p->records.len, KW_BATCH_VERIFY_CRC);
    kw_batch b;
    while (kw__batch_next(&it, &b) == 1)
        f->records += (int)(kw__batch_next_offset(&b) - b.base_offset);
}

static void run_fetch(kw_cluster *cl, fetch_ctx *f, uint64_t ms)
{
    uint64_t deadline = (now_ms() + ms) * 1000000u;
    ck_assert_int_eq(kw__cluster_send_partition(cl, KW_API_FETCH, f->topic, 0, build_fetch, f,
                                                deadline, on_fetched, f),
                     0);
    for (uint64_t end = now_ms() + ms + 5000; !f->done && now_ms() < end;)
        ck_assert_int_ge(kw__loop_run_once(loop, 20), 0);
    ck_assert(f->done);
}

static void on_refreshed(const kw_cluster_result *r, void *arg)
{
    (void)r;
    *(int *)arg = 1;
}

static int32_t leader_of(kw_client *c, const char *topic, int32_t *replicas, size_t *n)
{
    const char *names[] = {topic};
    kw_client_metadata_args a = {.topics = names, .topic_count = 1, .timeout_ms = 10000};
    kw_client_metadata_result r;
    int rc = kw_client_metadata(c, &a, &r);
    ASSERT_OK(rc, r.detail);
    ck_assert_int_eq(r.topic_count, 1);
    ck_assert_int_eq(r.topics[0].partition_count, 1);
    const kw_client_partition *p = &r.topics[0].partitions[0];
    int32_t leader = p->leader;
    if (replicas) {
        *n = p->replica_count < 3 ? p->replica_count : 3;
        for (size_t i = 0; i < *n; i++)
            replicas[i] = p->replicas[i];
    }
    kw_client_metadata_result_free(&r);
    return leader;
}

/* Moves the leadership of topic[0] to another replica: reassignment with that replica first,
 * then a preferred election (no node stopped: the cluster is shared).  Returns the new leader. */
static int32_t move_leader(kw_client *c, const char *bs, const char *topic)
{
    int32_t replicas[3];
    size_t n = 0;
    int32_t from = leader_of(c, topic, replicas, &n);
    ck_assert_uint_eq(n, 3);
    int32_t to = replicas[0] == from ? replicas[1] : replicas[0];
    int32_t third = 0;
    for (size_t i = 0; i < 3; i++)
        if (replicas[i] != to && replicas[i] != from)
            third = replicas[i];
    char dir[] = "/tmp/kwal-fid-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof(path), "%s/reassign.json", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "{\"version\":1,\"partitions\":[{\"topic\":\"%s\",\"partition\":0,\"replicas\":"
               "[%d,%d,%d]}]}\n", topic, to, from, third);
    fclose(f);
    const char *lib = getenv("KWAL_KAFKA_LIB");
    ck_assert_msg(lib && *lib, "KWAL_KAFKA_LIB is not set");
    const char *java = "java -Xmx256m -Dorg.slf4j.simpleLogger.defaultLogLevel=error -cp";
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "%s '%s/*' org.apache.kafka.tools.reassign.ReassignPartitionsCommand "
             "--bootstrap-server %s --reassignment-json-file %s --execute >&2 && "
             "%s '%s/*' org.apache.kafka.tools.LeaderElectionCommand --bootstrap-server %s "
             "--election-type PREFERRED --topic %s --partition 0 >&2",
             java, lib, bs, path, java, lib, bs, topic);
    int st = system(cmd);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_msg(st == 0, "the reassignment or the election failed (stderr)");
    int32_t now = -1;
    for (uint64_t end = now_ms() + 30000; (now = leader_of(c, topic, NULL, NULL)) != to &&
                                          now_ms() < end;)
        usleep(200 * 1000);
    ck_assert_msg(now == to, "the leader is node %d, not %d", now, to);
    fprintf(stderr, "moved the leadership of %s[0] from node %d to node %d\n", topic, from, to);
    return to;
}

START_TEST(a_stale_leader_epoch_is_fenced_refreshed_and_retried)
{
    const char *bs = getenv("KWAL_BOOTSTRAP_CLUSTER");
    kw_client *c = open_client(bs, NULL, NULL);
    char topic[128];
    topic_name(topic, sizeof(topic), "fenced");
    create_topic(c, topic, 3);
    produce(c, topic, "v", 3, 3);
    move_leader(c, bs, topic);

    ck_assert_int_eq(kw__loop_new(&loop), 0);
    kw_cluster_options o = {.bootstrap = bs, .conn = {.connect_timeout_ms = 3000},
                            .backoff_ms = 50, .backoff_max_ms = 500};
    kw_cluster *cl;
    ck_assert_int_eq(kw__cluster_new(&cl, loop, &o), 0);
    int refreshed = 0;
    ck_assert_int_eq(kw__cluster_refresh(cl, topic, (now_ms() + 10000) * 1000000u, on_refreshed,
                                         &refreshed),
                     0);
    for (uint64_t end = now_ms() + 12000; !refreshed && now_ms() < end;)
        ck_assert_int_ge(kw__loop_run_once(loop, 20), 0);
    int32_t leader, epoch;
    ck_assert_int_eq(kw__cluster_leader(cl, topic, 0, &leader, &epoch), 0);
    ck_assert_int_ge(epoch, 1); /* moved at least once */

    /* The first attempt carries the epoch before the move: the leader fences it, the cluster
     * refreshes and the second attempt reads. */
    uint64_t refreshes = kw__cluster_refresh_count(cl);
    fetch_ctx f = {.cl = cl, .topic = topic, .stale = 1};
    run_fetch(cl, &f, 10000);
    ck_assert_msg(f.err == 0, "%s: %s", kw_err_name(f.err), f.detail);
    ck_assert_int_ge(f.version, 13);
    ck_assert_int_eq(f.attempts, 2);
    ck_assert_int_eq(f.records, 3);
    ck_assert_int_gt(kw__cluster_refresh_count(cl), refreshes);

    /* Stale at every attempt: the deadline ends it with the broker's error. */
    fetch_ctx g = {.cl = cl, .topic = topic, .stale = 1000};
    run_fetch(cl, &g, 1500);
    ck_assert_int_eq(g.err, KW_EBROKER);
    ck_assert_int_eq(g.kerr, KW_KERR_FENCED_LEADER_EPOCH);
    ck_assert_int_ge(g.attempts, 2);
    ck_assert_msg(strstr(g.detail, "FENCED_LEADER_EPOCH"), "%s", g.detail);

    kw__cluster_free(cl);
    kw__loop_free(loop);
    loop = NULL;
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

int main(void)
{
    const char *cases = getenv("CK_RUN_CASE");
    bool cluster = cases && strcmp(cases, "cluster") == 0;
    const char *need = cluster ? "KWAL_BOOTSTRAP_CLUSTER" : "KWAL_BOOTSTRAP";
    if (!getenv(need) || !*getenv(need)) {
        fprintf(stderr, "%s is not set (eval \"$(tests/kafka/broker env)\"): skipped\n", need);
        return 77;
    }
    Suite *s = suite_create("fetch-ids");
    TCase *tc = tcase_create("broker");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, the_consumer_and_fetch_read_by_topic_id_from_v13);
    tcase_add_test(tc, capped_at_kafka_3_0_they_read_the_same_by_name_at_v12);
    tcase_add_test(tc, a_topic_created_again_is_an_error_not_the_new_topics_offsets);
    tcase_add_test(tc, a_topic_created_again_is_caught_by_name_too);
    suite_add_tcase(s, tc);
    TCase *tcl = tcase_create("cluster");
    tcase_set_timeout(tcl, 180);
    tcase_add_test(tcl, a_stale_leader_epoch_is_fenced_refreshed_and_retried);
    suite_add_tcase(s, tcl);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
