/* The codec against a real Kafka broker: every negotiated version of the data-path APIs. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kafka_io.h"
#include "proto/batch.h"
#include "proto/msg_admin.h"
#include "proto/msg_data.h"

static kt_conn conn;
static char topic_produce[128];
static char topic_delete[128];

static void setup(void)
{
    ck_assert_msg(kt_connect(&conn, kt_bootstrap()) == 0, "cannot reach the broker at %s",
                  kt_bootstrap());
}

static void teardown(void)
{
    kt_close(&conn);
}

/* Creates a one-partition topic with CreateTopics at version ver; asserts success. */
static void create_topic(const char *name, int ver)
{
    kw_create_topics_req_config cfg[] = {
        {kw_str_c("retention.ms"), kw_str_c("-1")},
        {kw_str_c("retention.bytes"), kw_str_c("-1")},
    };
    kw_create_topics_req_topic t = {0};
    t.name = kw_str_c(name);
    t.num_partitions = 1;
    t.replication_factor = 1;
    t.assignments.n = 0;
    t.configs.v = cfg;
    t.configs.n = 2;
    kw_create_topics_req req;
    kw__schema_init(kw__api(KW_API_CREATE_TOPICS)->req, ver, &req);
    req.topics.v = &t;
    req.topics.n = 1;
    req.timeout_ms = 30000;
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_create_topics_resp resp;
    ck_assert_int_eq(kt_call(&conn, KW_API_CREATE_TOPICS, ver, &req, &a, &resp), 0);
    ck_assert_int_eq(resp.topics.n, 1);
    ck_assert(kw_str_eq(resp.topics.v[0].name, name));
    ck_assert_msg(resp.topics.v[0].error_code == 0, "CreateTopics v%d %s: error %d", ver, name,
                  resp.topics.v[0].error_code);
    if (ver >= 5) {
        ck_assert_int_eq(resp.topics.v[0].num_partitions, 1);
        ck_assert_int_eq(resp.topics.v[0].replication_factor, 1);
        /* the configs the topic was created with come back */
        bool seen = false;
        for (int32_t i = 0; i < resp.topics.v[0].configs.n; i++)
            if (kw_str_eq(resp.topics.v[0].configs.v[i].name, "retention.ms"))
                seen = kw_str_eq(resp.topics.v[0].configs.v[i].value, "-1");
        ck_assert(seen);
    }
    kw__arena_reset(&a);
    ck_assert_int_eq(kt_wait_topic(&conn, name), 0);
}

START_TEST(api_versions_every_version_and_ranges_cover_the_broker)
{
    size_t n;
    const kw_api *const *apis = kw__apis(&n);
    /* What this broker says it speaks, not one release's numbers.  Brokers since Kafka 4.0
     * (KIP-896) dropped the old versions, Fetch v0-3 among them: kwal must reach down to each
     * floor they keep.  Older brokers still take v0 of nearly everything, which kwal does not
     * speak (record batches need Fetch v4 / Produce v3): with them, a common version is enough. */
    bool kip896 = conn.versions.broker_min[KW_API_FETCH] >= 4;
    fprintf(stderr, "  broker %s KIP-896's version floors (Fetch from v%d)\n",
            kip896 ? "has" : "predates", conn.versions.broker_min[KW_API_FETCH]);
    for (size_t i = 0; i < n; i++) {
        const kw_api *api = apis[i];
        int v = kt_version(&conn, api->key);
        ck_assert_msg(v >= 0, "no common version for %s", api->name);
        /* the highest version both sides speak */
        int top = api->vmax < conn.versions.broker_max[api->key] ? api->vmax
                                                                 : conn.versions.broker_max[api->key];
        ck_assert_msg(v == top, "%s: negotiated v%d, kwal %d-%d, broker %d-%d", api->name, v,
                      api->vmin, api->vmax, conn.versions.broker_min[api->key],
                      conn.versions.broker_max[api->key]);
        /* Produce v0-2 are still advertised by 4.x brokers (for old clients' version checks) but
         * carry message format v0/v1, which 4.x rejects. */
        int floor = api->key == KW_API_PRODUCE ? 3 : conn.versions.broker_min[api->key];
        ck_assert_msg(!kip896 || api->vmin <= floor,
                      "%s: kwal starts at v%d, broker accepts v%d", api->name, api->vmin,
                      floor);
        fprintf(stderr, "  %-20s kwal %2d-%-2d broker %2d-%-2d -> v%d\n", api->name, api->vmin,
                api->vmax, conn.versions.broker_min[api->key],
                conn.versions.broker_max[api->key], v);
    }
    /* the data path at its newest: Produce v11 (3.x) / v12 (4.x), Fetch v13 at least (topic
     * ids: every broker kwal tests against has them) */
    ck_assert_int_ge(kt_version(&conn, KW_API_PRODUCE), 11);
    ck_assert_int_ge(kt_version(&conn, KW_API_FETCH), 13);
    const kw_api *av = kw__api(KW_API_API_VERSIONS);
    for (int ver = av->vmin; ver <= av->vmax; ver++) {
        kw_api_versions_req req = {kw_str_c("kwal-test"), kw_str_c("0.1.0")};
        kw_arena a;
        kw__arena_init(&a, 0);
        kw_api_versions_resp resp;
        ck_assert_int_eq(kt_call(&conn, KW_API_API_VERSIONS, ver, &req, &a, &resp), 0);
        ck_assert_int_eq(resp.error_code, 0);
        ck_assert_int_ge(resp.api_keys.n, 22);
        if (ver >= 3)
            ck_assert_int_ge(resp.finalized_features_epoch, 0);
        kw__arena_reset(&a);
    }
}
END_TEST

START_TEST(metadata_every_version_names_this_broker)
{
    for (int ver = kt_min_version(&conn, KW_API_METADATA); ver <= kt_version(&conn, KW_API_METADATA);
         ver++) {
        kw_metadata_req req;
        kw__schema_init(kw__api(KW_API_METADATA)->req, ver, &req);
        req.topics.n = ver >= 1 ? -1 : 0; /* every topic */
        req.allow_auto_topic_creation = false;
        kw_arena a;
        kw__arena_init(&a, 0);
        kw_metadata_resp resp;
        ck_assert_int_eq(kt_call(&conn, KW_API_METADATA, ver, &req, &a, &resp), 0);
        ck_assert_int_ge(resp.brokers.n, 1);
        bool found = false;
        for (int32_t i = 0; i < resp.brokers.n; i++)
            found |= kw_str_eq(resp.brokers.v[i].host, "127.0.0.1");
        ck_assert_msg(found, "Metadata v%d: no broker at 127.0.0.1", ver);
        if (ver >= 2)
            ck_assert_int_gt(resp.cluster_id.len, 0);
        kw__arena_reset(&a);
    }
}
END_TEST

START_TEST(create_topics_every_version)
{
    for (int ver = kt_min_version(&conn, KW_API_CREATE_TOPICS);
         ver <= kt_version(&conn, KW_API_CREATE_TOPICS); ver++) {
        char name[128];
        snprintf(name, sizeof(name), "kwal-it-create-v%d-%d", ver, getpid());
        create_topic(name, ver);
        /* creating it again says TOPIC_ALREADY_EXISTS (36) */
        kw_create_topics_req_topic t = {.name = kw_str_c(name), .num_partitions = 1,
                                        .replication_factor = 1};
        kw_create_topics_req req;
        kw__schema_init(kw__api(KW_API_CREATE_TOPICS)->req, ver, &req);
        req.topics.v = &t;
        req.topics.n = 1;
        kw_arena a;
        kw__arena_init(&a, 0);
        kw_create_topics_resp resp;
        ck_assert_int_eq(kt_call(&conn, KW_API_CREATE_TOPICS, ver, &req, &a, &resp), 0);
        ck_assert_int_eq(resp.topics.v[0].error_code, 36);
        kw__arena_reset(&a);
    }
}
END_TEST

/* One produced batch, kept to compare with what Fetch returns. */
typedef struct produced {
    uint8_t *bytes;
    size_t len;
    int64_t base_offset;
    int32_t count;
} produced;

static produced batches[64];
static int nbatches;

static void build_batch(kw_wr *w, int codec, int tag, int count)
{
    kw_batch_builder b;
    kw_batch_opts o = {.codec = codec};
    ck_assert_int_eq(kw__batch_begin(&b, w, &o), 0);
    for (int i = 0; i < count; i++) {
        char key[32], val[256];
        int kl = snprintf(key, sizeof(key), "key-%d-%d", tag, i);
        int vl = snprintf(val, sizeof(val), "value %d of batch %d, codec %d: %0120d", i, tag,
                          codec, i);
        kw_record_header h = {kw_str_c("h"), {(const uint8_t *)"hv", 2}};
        ck_assert_int_eq(kw__batch_add(&b, 1700000000000LL + tag * 10 + i,
                                       (kw_bytes){(const uint8_t *)key, kl},
                                       i == 1 ? KW_BYTES_NULL : (kw_bytes){(const uint8_t *)val, vl},
                                       &h, i % 2),
                         0);
    }
    ck_assert_int_eq(kw__batch_finish(&b), 0);
}

static int16_t produce_once(int ver, const char *topic, const uint8_t *batch, size_t len,
                            int64_t *base_offset)
{
    kw_produce_req_partition p = {.index = 0, .records = {batch, (int32_t)len}};
    kw_produce_req_topic t = {.name = kw_str_c(topic)};
    t.partition_data.v = &p;
    t.partition_data.n = 1;
    kw_produce_req req;
    kw__schema_init(kw__api(KW_API_PRODUCE)->req, ver, &req);
    req.acks = -1;
    req.timeout_ms = 30000;
    req.topic_data.v = &t;
    req.topic_data.n = 1;
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_produce_resp resp;
    for (int i = 0; i < 30; i++) { /* NOT_LEADER_OR_FOLLOWER (6) while metadata settles */
        ck_assert_int_eq(kt_call(&conn, KW_API_PRODUCE, ver, &req, &a, &resp), 0);
        if (resp.responses.n != 1 || resp.responses.v[0].partition_responses.n != 1 ||
            resp.responses.v[0].partition_responses.v[0].error_code != 6)
            break;
        kw__arena_reset(&a);
        usleep(200 * 1000);
    }
    ck_assert_int_eq(resp.responses.n, 1);
    ck_assert(kw_str_eq(resp.responses.v[0].name, topic));
    ck_assert_int_eq(resp.responses.v[0].partition_responses.n, 1);
    kw_produce_resp_partition *pr = &resp.responses.v[0].partition_responses.v[0];
    int16_t err = pr->error_code;
    *base_offset = pr->base_offset;
    kw__arena_reset(&a);
    return err;
}

START_TEST(produce_every_version_none_and_lz4_then_fetch_every_version)
{
    snprintf(topic_produce, sizeof(topic_produce), "kwal-it-produce-%d", getpid());
    create_topic(topic_produce, kt_version(&conn, KW_API_CREATE_TOPICS));
    int64_t next = 0;
    nbatches = 0;
    const int codecs[] = {KW_CODEC_NONE, KW_CODEC_LZ4};
    for (int ver = kt_min_version(&conn, KW_API_PRODUCE); ver <= kt_version(&conn, KW_API_PRODUCE);
         ver++) {
        for (int c = 0; c < 2; c++) {
            kw_wr w;
            kw__wr_init(&w);
            int count = 3 + nbatches % 5;
            build_batch(&w, codecs[c], nbatches, count);
            int64_t base = -1;
            int16_t err = produce_once(ver, topic_produce, w.buf, w.len, &base);
            ck_assert_msg(err == 0, "Produce v%d codec %d: error %d", ver, codecs[c], err);
            ck_assert_int_eq(base, next);
            batches[nbatches++] = (produced){w.buf, w.len, base, count};
            next += count;
        }
    }

    /* The broker checks our CRC: one flipped bit in a record is CORRUPT_MESSAGE (2). */
    kw_wr bad;
    kw__wr_init(&bad);
    build_batch(&bad, KW_CODEC_NONE, 99, 2);
    bad.buf[bad.len - 3] ^= 0x01;
    int64_t ignored;
    ck_assert_int_eq(produce_once(kt_version(&conn, KW_API_PRODUCE), topic_produce, bad.buf,
                                  bad.len, &ignored),
                     2);
    kw__wr_free(&bad);

    kw_uuid produce_id = {{0}};
    ck_assert_int_eq(kt_topic_id(&conn, topic_produce, &produce_id), 0);
    ck_assert(!kw_uuid_is_zero(produce_id));
    for (int ver = kt_min_version(&conn, KW_API_FETCH); ver <= kt_version(&conn, KW_API_FETCH);
         ver++) {
        int64_t offset = 0;
        int seen = 0;
        /* small max bytes from v3 on, so the broker cuts its answers and we fetch on */
        for (int round = 0; round < 100 && seen < nbatches; round++) {
            kw_fetch_req_partition fp = (kw_fetch_req_partition){.partition = 0,  .current_leader_epoch = -1,
                                          .fetch_offset = offset, .last_fetched_epoch = -1,
                                          .log_start_offset = -1, .partition_max_bytes = 700};
            kw_fetch_req_topic ft = {.topic = kw_str_c(topic_produce), .topic_id = produce_id};
            ft.partitions.v = &fp;
            ft.partitions.n = 1;
            kw_fetch_req req;
            kw__schema_init(kw__api(KW_API_FETCH)->req, ver, &req);
            req.max_wait_ms = 100;
            req.min_bytes = 1;
            req.max_bytes = 700;
            req.topics.v = &ft;
            req.topics.n = 1;
            kw_arena a;
            kw__arena_init(&a, 0);
            kw_fetch_resp resp;
            ck_assert_int_eq(kt_call(&conn, KW_API_FETCH, ver, &req, &a, &resp), 0);
            ck_assert_int_eq(resp.error_code, 0);
            ck_assert_int_eq(resp.responses.n, 1);
            if (ver >= 13) { /* the answer names the topic by id only */
                ck_assert(kw_uuid_eq(resp.responses.v[0].topic_id, produce_id));
                ck_assert_int_le(resp.responses.v[0].topic.len, 0);
            } else {
                ck_assert(kw_str_eq(resp.responses.v[0].topic, topic_produce));
            }
            ck_assert_ptr_eq(kw__fetch_resp_find(&resp, ver, topic_produce, produce_id, 0),
                             &resp.responses.v[0].partitions.v[0]);
            kw_fetch_resp_partition *pr = &resp.responses.v[0].partitions.v[0];
            ck_assert_int_eq(pr->error_code, 0);
            ck_assert_int_eq(pr->high_watermark, next);
            kw_batch_iter it;
            kw__batch_iter_init(&it, pr->records.ptr, pr->records.len > 0 ? (size_t)pr->records.len : 0,
                                KW_BATCH_VERIFY_CRC);
            kw_batch b;
            int rc;
            while ((rc = kw__batch_next(&it, &b)) == 1) {
                ck_assert_int_lt(seen, nbatches);
                produced *p = &batches[seen];
                ck_assert_int_eq(b.base_offset, p->base_offset);
                /* Past base offset and leader epoch (the broker sets those), the
                 * batch is byte for byte what we produced: same CRC, same records. */
                ck_assert_uint_eq(b.raw_len, p->len);
                ck_assert_msg(memcmp(b.raw + 16, p->bytes + 16, p->len - 16) == 0,
                              "Fetch v%d: batch %d differs from what was produced", ver, seen);
                /* and the records decode to what was written */
                kw_wr scratch;
                kw__wr_init(&scratch);
                kw_record_iter ri;
                ck_assert_int_eq(kw__record_iter_init(&ri, &b, &scratch, 0, 0), 0);
                kw_record r;
                int i = 0;
                while (kw__record_next(&ri, &r) == 1) {
                    char key[32];
                    snprintf(key, sizeof(key), "key-%d-%d", seen, i);
                    ck_assert_int_eq(r.offset, p->base_offset + i);
                    ck_assert_int_eq(r.key.len, (int32_t)strlen(key));
                    ck_assert_mem_eq(r.key.ptr, key, strlen(key));
                    ck_assert_int_eq(r.value.len < 0, i == 1);
                    ck_assert_int_eq(r.header_count, i % 2);
                    i++;
                }
                ck_assert_int_eq(ri.err, 0);
                ck_assert_int_eq(i, p->count);
                kw__wr_free(&scratch);
                offset = kw__batch_next_offset(&b);
                seen++;
            }
            ck_assert_int_ge(rc, 0);
            kw__arena_reset(&a);
        }
        ck_assert_msg(seen == nbatches, "Fetch v%d: saw %d of %d batches", ver, seen, nbatches);
    }
    for (int i = 0; i < nbatches; i++)
        free(batches[i].bytes);
}
END_TEST

/* ListOffsets for one timestamp (-2 earliest, -1 latest) at version ver. */
static int64_t list_offset(const char *topic, int ver, int64_t ts)
{
    int64_t off = -1;
    int rc = kt_list_offset(&conn, topic, ver, ts, &off);
    ck_assert_msg(rc == 0, "ListOffsets v%d: error %d", ver, rc);
    return off;
}

START_TEST(list_offsets_and_delete_records_every_version)
{
    snprintf(topic_delete, sizeof(topic_delete), "kwal-it-delete-%d", getpid());
    create_topic(topic_delete, kt_version(&conn, KW_API_CREATE_TOPICS));
    kw_wr w;
    kw__wr_init(&w);
    build_batch(&w, KW_CODEC_LZ4, 0, 20);
    int64_t base;
    ck_assert_int_eq(produce_once(kt_version(&conn, KW_API_PRODUCE), topic_delete, w.buf, w.len,
                                  &base),
                     0);
    kw__wr_free(&w);

    for (int ver = kt_min_version(&conn, KW_API_LIST_OFFSETS);
         ver <= kt_version(&conn, KW_API_LIST_OFFSETS); ver++) {
        ck_assert_int_eq(list_offset(topic_delete, ver, -2), 0);
        ck_assert_int_eq(list_offset(topic_delete, ver, -1), 20);
    }

    int64_t upto = 0;
    for (int ver = kt_min_version(&conn, KW_API_DELETE_RECORDS);
         ver <= kt_version(&conn, KW_API_DELETE_RECORDS); ver++) {
        upto += 5;
        kw_delete_records_req_partition p = {.partition_index = 0, .offset = upto};
        kw_delete_records_req_topic t = {.name = kw_str_c(topic_delete)};
        t.partitions.v = &p;
        t.partitions.n = 1;
        kw_delete_records_req req = {.timeout_ms = 10000};
        req.topics.v = &t;
        req.topics.n = 1;
        kw_arena a;
        kw__arena_init(&a, 0);
        kw_delete_records_resp resp;
        ck_assert_int_eq(kt_call(&conn, KW_API_DELETE_RECORDS, ver, &req, &a, &resp), 0);
        kw_delete_records_resp_partition *pr = &resp.topics.v[0].partitions.v[0];
        ck_assert_int_eq(pr->error_code, 0);
        ck_assert_int_eq(pr->low_watermark, upto);
        kw__arena_reset(&a);
        /* the log start offset moved */
        ck_assert_int_eq(list_offset(topic_delete, kt_version(&conn, KW_API_LIST_OFFSETS), -2),
                         upto);
    }
    /* past the end is OFFSET_OUT_OF_RANGE (1) */
    kw_delete_records_req_partition p = {.partition_index = 0, .offset = 1000};
    kw_delete_records_req_topic t = {.name = kw_str_c(topic_delete)};
    t.partitions.v = &p;
    t.partitions.n = 1;
    kw_delete_records_req req = {.timeout_ms = 10000};
    req.topics.v = &t;
    req.topics.n = 1;
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_delete_records_resp resp;
    ck_assert_int_eq(kt_call(&conn, KW_API_DELETE_RECORDS, kt_version(&conn, KW_API_DELETE_RECORDS),
                             &req, &a, &resp),
                     0);
    ck_assert_int_eq(resp.topics.v[0].partitions.v[0].error_code, 1);
    kw__arena_reset(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("proto-broker");
    TCase *tc = tcase_create("broker");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, api_versions_every_version_and_ranges_cover_the_broker);
    tcase_add_test(tc, metadata_every_version_names_this_broker);
    tcase_add_test(tc, create_topics_every_version);
    tcase_add_test(tc, produce_every_version_none_and_lz4_then_fetch_every_version);
    tcase_add_test(tc, list_offsets_and_delete_records_every_version);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
