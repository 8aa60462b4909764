/* api_version_max against the real 4.x broker: capped negotiation equals the release's versions, and data still flows. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kafka_io.h"
#include "kwal/client.h"
#include "net/conn.h"
#include "proto/batch.h"
#include "proto/msg_admin.h"
#include "proto/msg_data.h"
#include "proto/msg_group.h"

/*
 * Two raw connections (src/net/conn) to the single-node broker, one capped
 * at a release and one not, show the negotiated versions; then the capped
 * connection and a capped public client produce, fetch and commit.
 */
static kw_loop *loop;
static char topic[128];
static kw_uuid topic_id; /* from Metadata at setup: Fetch v13+ names the topic by it */

typedef struct watch {
    int ready, closed;
    char detail[1024];
} watch;

static void on_state(kw_conn *c, int state, int err, const char *detail, void *arg)
{
    watch *w = arg;
    (void)c;
    (void)err;
    if (state == KW_CONN_READY) {
        w->ready++;
    } else {
        w->closed++;
        snprintf(w->detail, sizeof(w->detail), "%s", detail ? detail : "");
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
        ck_assert_int_ge(kw__loop_run_once(loop, 20), 0);
    return *flag != 0;
}

static const kw_api_release *release(const char *text)
{
    const kw_api_release *r;
    char err[256];
    ck_assert_msg(kw__api_release_find(text, &r, err, sizeof(err)) == 0, "%s", err);
    return r;
}

static kw_conn *open_conn(const kw_api_release *cap, watch *w)
{
    char host[256];
    snprintf(host, sizeof(host), "%s", kt_bootstrap());
    char *comma = strchr(host, ',');
    if (comma)
        *comma = 0;
    char *colon = strrchr(host, ':');
    ck_assert_ptr_nonnull(colon);
    *colon = 0;
    kw_conn_options o = {.host = host,
                         .port = (uint16_t)atoi(colon + 1),
                         .connect_timeout_ms = 5000,
                         .on_state = on_state,
                         .state_arg = w,
                         .api_release = cap};
    kw_conn *c;
    ck_assert_int_eq(kw__conn_new(&c, loop, &o), 0);
    uint64_t end = now_ms() + 15000;
    while (!w->ready && !w->closed && now_ms() < end)
        ck_assert_int_ge(kw__loop_run_once(loop, 20), 0);
    ck_assert_msg(w->ready == 1, "not ready: %s", w->detail);
    return c;
}

static void setup(void)
{
    ck_assert_int_eq(kw__loop_new(&loop), 0);
    snprintf(topic, sizeof(topic), "kwal-it-codec-cap-%d", getpid());
    kt_conn k;
    ck_assert_msg(kt_connect(&k, kt_bootstrap()) == 0, "cannot reach the broker at %s",
                  kt_bootstrap());
    ck_assert_int_eq(kt_create_topic(&k, topic, 1), 0);
    ck_assert_int_eq(kt_topic_id(&k, topic, &topic_id), 0);
    kt_close(&k);
}

/* DeleteTopics of the test's topic (a courtesy to the shared broker: the result is not checked). */
static void delete_topic(kt_conn *k, const char *name)
{
    int ver = kt_version(k, KW_API_DELETE_TOPICS);
    kw_delete_topics_req req;
    kw__schema_init(kw__api(KW_API_DELETE_TOPICS)->req, ver, &req);
    kw_str n = kw_str_c(name);
    kw_delete_topics_req_topic t = {.name = n};
    if (ver >= 6) {
        req.topics.v = &t;
        req.topics.n = 1;
    } else {
        req.topic_names.v = &n;
        req.topic_names.n = 1;
    }
    req.timeout_ms = 10000;
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_delete_topics_resp resp;
    (void)kt_call(k, KW_API_DELETE_TOPICS, ver, &req, &a, &resp);
    kw__arena_reset(&a);
}

static void teardown(void)
{
    kw__loop_free(loop);
    loop = NULL;
    kt_conn k;
    if (kt_connect(&k, kt_bootstrap()) == 0) {
        delete_topic(&k, topic);
        kt_close(&k);
    }
}

START_TEST(capped_versions_are_the_release_versions)
{
    watch wc = {0}, wf = {0};
    const kw_api_release *r39 = release("3.9.0");
    kw_conn *capped = open_conn(r39, &wc), *full = open_conn(NULL, &wf);
    const kw_versions *vc = kw__conn_versions(capped), *vf = kw__conn_versions(full);
    size_t n;
    const kw_api *const *apis = kw__apis(&n);
    int lower = 0;
    for (size_t i = 0; i < n; i++) {
        const kw_api *api = apis[i];
        int k = api->key;
        int want = vf->v[k]; /* min(broker, kwal) */
        if (kw__api_release_max(r39, k) < want)
            want = kw__api_release_max(r39, k);
        ck_assert_msg(vc->v[k] == want, "%s: capped v%d, want v%d (uncapped v%d, 3.9 max %d)",
                      api->name, vc->v[k], want, vf->v[k], kw__api_release_max(r39, k));
        ck_assert_int_eq(vc->broker_max[k], vf->broker_max[k]);
        if (vc->v[k] < vf->v[k]) {
            lower++;
            fprintf(stderr, "  %-22s broker max v%-2d uncapped v%-2d capped at 3.9 v%d\n",
                    api->name, vf->broker_max[k], vf->v[k], vc->v[k]);
        }
    }
    ck_assert_int_eq(vc->v[KW_API_PRODUCE], 11);
    ck_assert_int_eq(vc->v[KW_API_METADATA], 12);
    ck_assert_int_eq(vc->v[KW_API_LIST_OFFSETS], 9);
    ck_assert_int_eq(vc->v[KW_API_END_TXN], 4);
    ck_assert_int_eq(vc->v[KW_API_TXN_OFFSET_COMMIT], 4);
    ck_assert_int_le(vc->v[KW_API_OFFSET_COMMIT], 9);
    if (vf->broker_max[KW_API_PRODUCE] > 11) {
        /* a 4.x broker: what it added over 3.9 and kwal speaks, the cap takes away */
        ck_assert_int_gt(vf->v[KW_API_PRODUCE], 11);
        ck_assert_int_eq(vc->v[KW_API_CONSUMER_GROUP_HEARTBEAT], 0);
        ck_assert_int_ge(vf->broker_max[KW_API_OFFSET_COMMIT], 10);
        ck_assert_int_ge(lower, 6);
    } else {
        /* a 3.9 broker (or older) offers nothing past 3.9: the cap changes nothing */
        ck_assert_int_eq(lower, 0);
    }
    kw__conn_free(capped);
    kw__conn_free(full);

    /* Kafka 3.0 has no ConsumerGroupHeartbeat: sending it is KW_EVERSION, saying why */
    watch w30 = {0};
    kw_conn *old = open_conn(release("3.0"), &w30);
    ck_assert_int_eq(kw__conn_versions(old)->v[KW_API_CONSUMER_GROUP_HEARTBEAT], -1);
    ck_assert_int_eq(kw__conn_versions(old)->v[KW_API_PRODUCE], 9);
    ck_assert_int_eq(kw__conn_versions(old)->v[KW_API_API_VERSIONS], 3);
    char why[256];
    ck_assert_int_eq(kw__versions_get(kw__conn_versions(old), KW_API_CONSUMER_GROUP_HEARTBEAT,
                                      why, sizeof(why)),
                     KW_EVERSION);
    ck_assert_str_eq(why, "ConsumerGroupHeartbeat is not in Kafka 3.0, the api_version_max cap");
    kw__conn_free(old);
}
END_TEST

typedef struct reply {
    int done, err, version;
    size_t len;
    kw_arena a;
    uint8_t body[1 << 16];
} reply;

static void on_reply(int err, const uint8_t *frame, size_t len, int version, void *arg)
{
    reply *r = arg;
    r->done = 1;
    r->version = version;
    r->err = err ? err : len > sizeof(r->body) ? KW_ETOOBIG : 0;
    if (!r->err) { /* the frame lives only during the callback */
        memcpy(r->body, frame, len);
        r->len = len;
    }
}

/* Sends req at the negotiated version, waits, decodes into resp; returns the version used. */
static int call(kw_conn *c, int api_key, const void *req, reply *r, void *resp)
{
    memset(r, 0, offsetof(reply, body));
    uint64_t deadline = (now_ms() + 20000) * 1000000u;
    ck_assert_int_eq(kw__conn_send(c, api_key, -1, req, deadline, on_reply, r), 0);
    ck_assert(run_until(&r->done, 25000));
    ck_assert_int_eq(r->err, 0);
    kw__arena_init(&r->a, 1 << 20);
    ck_assert_int_eq(kw__conn_decode(r->body, r->len, api_key, r->version, &r->a, resp), 0);
    return r->version;
}

START_TEST(capped_connection_produces_fetches_and_commits)
{
    watch w = {0};
    kw_conn *c = open_conn(release("3.9"), &w);
    static reply r;

    kw_wr b;
    kw__wr_init(&b);
    kw_batch_builder bb;
    kw_batch_opts bo = {.producer_id = -1, .producer_epoch = -1, .base_sequence = -1};
    ck_assert_int_eq(kw__batch_begin(&bb, &b, &bo), 0);
    kw__batch_add(&bb, 1700000000000LL, KW_BYTES_NULL, (kw_bytes){(const uint8_t *)"capped", 6},
                  NULL, 0);
    ck_assert_int_eq(kw__batch_finish(&bb), 0);
    kw_produce_req_partition pp = {.index = 0, .records = {b.buf, (int32_t)b.len}};
    kw_produce_req_topic pt = {.name = kw_str_c(topic)};
    pt.partition_data.v = &pp;
    pt.partition_data.n = 1;
    kw_produce_req preq;
    kw__schema_init(kw__api(KW_API_PRODUCE)->req, 11, &preq);
    preq.acks = -1;
    preq.timeout_ms = 20000;
    preq.topic_data.v = &pt;
    preq.topic_data.n = 1;
    kw_produce_resp presp;
    ck_assert_int_eq(call(c, KW_API_PRODUCE, &preq, &r, &presp), 11);
    ck_assert_int_eq(presp.responses.v[0].partition_responses.v[0].error_code, 0);
    int64_t base = presp.responses.v[0].partition_responses.v[0].base_offset;
    ck_assert_int_ge(base, 0);
    kw__arena_reset(&r.a);

    int fv = kw__conn_versions(c)->v[KW_API_FETCH];
    kw_fetch_req_partition fp = {.partition = 0,
                                 .current_leader_epoch = -1,
                                 .fetch_offset = base,
                                 .last_fetched_epoch = -1,
                                 .log_start_offset = -1,
                                 .partition_max_bytes = 1 << 20};
    ck_assert_int_eq(fv, 17); /* 3.9's Fetch: topic ids */
    kw_fetch_req_topic ft = {.topic = kw_str_c(topic), .topic_id = topic_id};
    ft.partitions.v = &fp;
    ft.partitions.n = 1;
    kw_fetch_req freq;
    kw__schema_init(kw__api(KW_API_FETCH)->req, fv, &freq);
    freq.max_wait_ms = 100;
    freq.min_bytes = 1;
    freq.max_bytes = 1 << 20;
    freq.topics.v = &ft;
    freq.topics.n = 1;
    kw_fetch_resp fresp;
    ck_assert_int_eq(call(c, KW_API_FETCH, &freq, &r, &fresp), fv);
    const kw_fetch_resp_partition *part = &fresp.responses.v[0].partitions.v[0];
    ck_assert_int_eq(part->error_code, 0);
    ck_assert_int_eq(part->high_watermark, base + 1);
    ck_assert_int_eq(part->records.len, (int32_t)b.len);
    /* the broker hands the batch back as written, base offset and leader epoch its own */
    ck_assert_mem_eq(part->records.ptr + 16, b.buf + 16, b.len - 16);
    kw__arena_reset(&r.a);
    kw__wr_free(&b);

    char group[160];
    snprintf(group, sizeof(group), "%s-group", topic);
    kw_offset_commit_req_partition cp = {.partition_index = 0,
                                         .committed_offset = base + 1,
                                         .committed_leader_epoch = -1,
                                         .commit_timestamp = -1,
                                         .committed_metadata = kw_str_c("cap")};
    kw_offset_commit_req_topic ct = {.name = kw_str_c(topic)};
    ct.partitions.v = &cp;
    ct.partitions.n = 1;
    kw_offset_commit_req oc;
    kw__schema_init(kw__api(KW_API_OFFSET_COMMIT)->req, 9, &oc);
    oc.group_id = kw_str_c(group);
    oc.topics.v = &ct;
    oc.topics.n = 1;
    kw_offset_commit_resp ocr;
    for (int i = 0; i < 50; i++) { /* the group coordinator may still be loading (14, 15) */
        ck_assert_int_le(call(c, KW_API_OFFSET_COMMIT, &oc, &r, &ocr), 9);
        int16_t e = ocr.topics.v[0].partitions.v[0].error_code;
        kw__arena_reset(&r.a);
        if (e != 14 && e != 15) {
            ck_assert_int_eq(e, 0);
            break;
        }
        usleep(200 * 1000);
    }
    int32_t part0 = 0;
    kw_offset_fetch_req_group_topic gt = {.name = kw_str_c(topic)};
    gt.partition_indexes.v = &part0;
    gt.partition_indexes.n = 1;
    int ov = kw__conn_versions(c)->v[KW_API_OFFSET_FETCH];
    ck_assert_int_eq(ov, 9);
    kw_offset_fetch_req_group g;
    kw__schema_init(kw__api(KW_API_OFFSET_FETCH)->req->fields[2].sub, ov, &g);
    g.group_id = kw_str_c(group);
    g.topics.v = &gt;
    g.topics.n = 1;
    kw_offset_fetch_req of;
    kw__schema_init(kw__api(KW_API_OFFSET_FETCH)->req, ov, &of);
    of.groups.v = &g;
    of.groups.n = 1;
    kw_offset_fetch_resp ofr;
    ck_assert_int_eq(call(c, KW_API_OFFSET_FETCH, &of, &r, &ofr), ov);
    ck_assert_int_eq(ofr.groups.v[0].topics.v[0].partitions.v[0].committed_offset, base + 1);
    ck_assert(kw_str_eq(ofr.groups.v[0].topics.v[0].partitions.v[0].metadata, "cap"));
    kw__arena_reset(&r.a);
    kw__conn_free(c);
}
END_TEST

/* The public client with api_version_max: its connections say the capped versions; produce, fetch
 * and committed offsets work. */
typedef struct logs {
    pthread_mutex_t mu;
    char capped[512];
} logs;

static void on_log(void *arg, int level, const char *msg)
{
    logs *l = arg;
    (void)level;
    pthread_mutex_lock(&l->mu);
    if (strstr(msg, "API versions capped at"))
        snprintf(l->capped, sizeof(l->capped), "%s", msg);
    pthread_mutex_unlock(&l->mu);
}

START_TEST(capped_public_client_round_trips_a_batch)
{
    logs l = {.mu = PTHREAD_MUTEX_INITIALIZER};
    kw_client_options o = {.bootstrap = kt_bootstrap(),
                           .api_version_max = "3.9.0",
                           .log = on_log,
                           .log_arg = &l};
    kw_client *c;
    char err[512];
    ck_assert_msg(kw_client_new(&c, &o, err, sizeof(err)) == 0, "%s", err);
    kw_wr b;
    kw__wr_init(&b);
    kw_batch_builder bb;
    kw_batch_opts bo = {.producer_id = -1, .producer_epoch = -1, .base_sequence = -1};
    ck_assert_int_eq(kw__batch_begin(&bb, &b, &bo), 0);
    kw__batch_add(&bb, 1700000000000LL, KW_BYTES_NULL, (kw_bytes){(const uint8_t *)"pub", 3},
                  NULL, 0);
    ck_assert_int_eq(kw__batch_finish(&bb), 0);
    kw_client_produce_args pa = {.topic = topic, .batch = b.buf, .batch_len = b.len};
    kw_client_produce_result pr;
    ck_assert_msg(kw_client_produce(c, &pa, &pr) == 0, "%s", pr.detail);
    kw_client_fetch_args fa = {.topic = topic, .offset = pr.base_offset};
    kw_client_fetch_result fr;
    ck_assert_msg(kw_client_fetch(c, &fa, &fr) == 0, "%s", fr.detail);
    ck_assert_int_eq(fr.high_watermark, pr.base_offset + 1);
    ck_assert_uint_eq(fr.records_len, b.len);
    ck_assert_mem_eq(fr.records + 16, b.buf + 16, b.len - 16);
    kw_client_fetch_result_free(&fr);
    kw__wr_free(&b);

    /* committed offsets through the coordinator, capped (OffsetCommit and OffsetFetch v9) */
    char group[160];
    snprintf(group, sizeof(group), "%s-pubgroup", topic);
    kw_client_committed off = {.topic = topic,
                               .partition = 0,
                               .offset = pr.base_offset + 1,
                               .leader_epoch = -1,
                               .metadata = "capped"};
    kw_client_offset_commit_args ca = {.group = group, .offsets = &off, .count = 1};
    kw_client_offsets_result or;
    ck_assert_msg(kw_client_offset_commit(c, &ca, &or) == 0 && or.err == 0, "%s", or.detail);
    ck_assert_uint_eq(or.count, 1);
    ck_assert_int_eq(or.offsets[0].kerr, 0);
    kw_client_offsets_result_free(&or);
    kw_client_committed want = {.topic = topic, .partition = 0};
    kw_client_offset_fetch_args oa = {.group = group, .partitions = &want, .count = 1};
    ck_assert_msg(kw_client_offset_fetch(c, &oa, &or) == 0 && or.err == 0, "%s", or.detail);
    ck_assert_uint_eq(or.count, 1);
    ck_assert_int_eq(or.offsets[0].offset, pr.base_offset + 1);
    ck_assert_str_eq(or.offsets[0].metadata, "capped");
    kw_client_offsets_result_free(&or);
    kw_client_destroy(c);
    ck_assert_msg(strstr(l.capped, "capped at Kafka 3.9's: Produce v11, Fetch v17, Metadata v12"),
                  "log: %s", l.capped);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("proto-broker-cap");
    TCase *tc = tcase_create("broker");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, capped_versions_are_the_release_versions);
    tcase_add_test(tc, capped_connection_produces_fetches_and_commits);
    tcase_add_test(tc, capped_public_client_round_trips_a_batch);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
