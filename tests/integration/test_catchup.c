/* Startup catch-up as Mimir's concurrent fetchers do it: 12 fetches in flight over one partition, in order, gaps reported, seek by time, a leader move. */
#include <check.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kwal/client.h"
#include "kwal/consumer.h"
#include "kwal/producer.h"

/*
 * Cases (CK_RUN_CASE picks one tcase; meson runs "catchup" in the
 * integration suite and "cluster" in integration-cluster):
 *   catchup: 200,000 small records and 20 of 2 MB read with 12 fetches in
 *     flight (every record once, in order, values checked); a compacted
 *     topic's gaps pass silently, and the same log once its policy is
 *     "delete" is reported as KW_EDATALOSS naming the missing offsets (after
 *     the records before the hole); seek by timestamp;
 *   cluster: 12 fetches in flight while the partition's leadership moves to
 *     another node (replicas reordered with kafka-reassign-partitions, then a
 *     preferred election: no broker is stopped, the cluster is shared); two
 *     15,983,616-byte records with acks=all on three replicas.
 */

static const char *bootstrap(void)
{
    return getenv("KWAL_BOOTSTRAP");
}

#define ASSERT_OK(rc, detail) ck_assert_msg((rc) == 0, "%s: %s", kw_err_name(rc), (detail))

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static kw_client *open_client(const char *bs)
{
    kw_client_options o = {.bootstrap = bs, .connect_timeout_ms = 5000,
                           .request_timeout_ms = 20000};
    kw_client *c = NULL;
    char err[256];
    int rc = kw_client_new(&c, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_client_new: %s: %s", kw_err_name(rc), err);
    return c;
}

static kw_consumer *open_consumer(kw_client *c, const kw_consumer_options *o)
{
    kw_consumer *k = NULL;
    char err[256];
    int rc = kw_consumer_new(&k, c, o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_consumer_new: %s", err);
    return k;
}

static void topic_name(char *buf, size_t len, const char *what)
{
    static atomic_int seq;
    snprintf(buf, len, "kwal-it-catchup-%s-%d-%d", what, getpid(), atomic_fetch_add(&seq, 1));
}

/* With retention.ms=-1 added: the records are stamped in the past (BASE_TS, 2023), and the
 * broker's 7-day time retention, checked every 5 minutes, would delete them under a case. */
static void create_topic(kw_client *c, const char *name, int16_t replication,
                         const kw_client_config_entry *cfg, size_t ncfg)
{
    kw_client_config_entry all[16];
    ck_assert_uint_lt(ncfg, sizeof(all) / sizeof(all[0]));
    for (size_t i = 0; i < ncfg; i++)
        all[i] = cfg[i];
    all[ncfg] = (kw_client_config_entry){"retention.ms", "-1"};
    kw_client_new_topic t = {.name = name, .partitions = 1, .replication_factor = replication,
                             .configs = all, .config_count = ncfg + 1};
    kw_client_create_topics_args a = {.topics = &t, .topic_count = 1, .timeout_ms = 30000};
    kw_client_topics_result r;
    int rc = kw_client_create_topics(c, &a, &r);
    ASSERT_OK(rc, r.detail);
    kw_client_topics_result_free(&r);
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

/* Runs a Kafka command-line tool from the broker's jars; its exit status. */
static int kafka_tool(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int kafka_tool(const char *fmt, ...)
{
    const char *lib = getenv("KWAL_KAFKA_LIB");
    ck_assert_msg(lib && *lib, "KWAL_KAFKA_LIB is not set (tests/kafka/broker env sets it)");
    char args[2048], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd),
             "java -Xmx256m -Dorg.slf4j.simpleLogger.defaultLogLevel=error -cp '%s/*' %s >&2",
             lib, args);
    int st = system(cmd);
    return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* ---------------------------------------------------------------- the records */

enum { BIG_EVERY = 10000, BIG_LEN = 2 << 20 };

/* Record i's value: a 2 MB one every BIG_EVERY records, else "v<i>-" padded to 10..99 bytes. */
static size_t value_of(int64_t i, uint8_t *buf)
{
    if (i % BIG_EVERY == BIG_EVERY / 2) {
        uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15ull + 1;
        for (size_t j = 0; j < BIG_LEN; j++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[j] = (uint8_t)(x >> 24);
        }
        return BIG_LEN;
    }
    size_t len = 10 + (size_t)((i * 7) % 90);
    int n = snprintf((char *)buf, len + 1, "v%" PRId64 "-", i);
    for (size_t j = (size_t)n; j < len; j++)
        buf[j] = (uint8_t)('a' + i % 26);
    return len;
}

typedef struct sent {
    atomic_int failed;
    char detail[256];
} sent;

static void on_sent(const kw_producer_delivery *d, void *arg)
{
    sent *s = arg;
    if (d->err && atomic_fetch_add(&s->failed, 1) == 0)
        snprintf(s->detail, sizeof(s->detail), "%s", d->detail);
}

/* Writes records [0, n) to partition 0, timestamps base_ts + i. */
static void produce_range(kw_client *c, const char *topic, int64_t n, int64_t base_ts)
{
    kw_producer_options po = {.batch_bytes = 4 << 20, .linger_ms = 5,
                              .buffer_bytes = 256ull << 20};
    kw_producer *p = NULL;
    char err[256];
    ck_assert_msg(kw_producer_new(&p, c, &po, err, sizeof(err)) == 0, "%s", err);
    uint8_t *buf = malloc(BIG_LEN + 1);
    sent s = {0};
    for (int64_t i = 0; i < n; i++) {
        size_t len = value_of(i, buf);
        kw_producer_record r = {.topic = topic, .partition = 0, .value = buf, .value_len = len,
                                .timestamp_ms = base_ts + i};
        int rc;
        while ((rc = kw_producer_send(p, &r, on_sent, &s)) == KW_EFULL)
            ck_assert_int_eq(kw_producer_wait_room(p, len + 256, 30000), 0);
        kw_producer_last_error(p, err, sizeof(err));
        ASSERT_OK(rc, err);
    }
    ck_assert_int_eq(kw_producer_flush(p, 120000), 0);
    ck_assert_msg(atomic_load(&s.failed) == 0, "%d records failed: %s", atomic_load(&s.failed),
                  s.detail);
    ck_assert_int_eq(kw_producer_destroy(p), 0);
    free(buf);
}

/* Checks one delivered record against what produce_range wrote; "" or what is wrong. */
static void check_record(const kw_consumer_record *r, int64_t want, uint8_t *buf, char *bad,
                         size_t badlen)
{
    size_t len = value_of(want, buf);
    if (r->offset != want)
        snprintf(bad, badlen, "offset %" PRId64 " where %" PRId64 " was due", r->offset, want);
    else if (r->value_len != len || memcmp(r->value, buf, len) != 0)
        snprintf(bad, badlen, "offset %" PRId64 ": a %zu-byte value, not the %zu bytes written",
                 want, r->value_len, len);
}

/*
 * Reads [from, n) with k, asserting every record once, in order, with its
 * value; hook (may be NULL) runs after each poll with the next offset due.
 */
static void read_all(kw_consumer *k, int64_t from, int64_t n, uint64_t timeout_ms,
                     void (*hook)(void *arg, int64_t next), void *hook_arg)
{
    uint8_t *buf = malloc(BIG_LEN + 1);
    char bad[512] = "";
    int64_t next = from;
    uint64_t end = now_ms() + timeout_ms;
    while (next < n && now_ms() < end && !bad[0]) {
        kw_consumer_poll_result r;
        int rc = kw_consumer_poll(k, 200, &r);
        if (rc || r.error_count) {
            snprintf(bad, sizeof(bad), "poll: %s, partition error: %s: %s", kw_err_name(rc),
                     r.error_count ? kw_err_name(r.errors[0].err) : "none",
                     r.error_count ? r.errors[0].detail : "");
            break;
        }
        for (size_t i = 0; i < r.record_count && !bad[0]; i++, next++)
            check_record(&r.records[i], next, buf, bad, sizeof(bad));
        if (hook && !bad[0])
            hook(hook_arg, next);
    }
    free(buf);
    ck_assert_msg(!bad[0], "%s", bad);
    ck_assert_msg(next == n, "read up to %" PRId64 " of %" PRId64 " in %llu ms", next, n,
                  (unsigned long long)timeout_ms);
    /* Nothing more, nothing twice. */
    uint64_t quiet = now_ms() + 300;
    while (now_ms() < quiet) {
        kw_consumer_poll_result r;
        ck_assert_int_eq(kw_consumer_poll(k, 100, &r), 0);
        ck_assert_msg(r.record_count == 0 && r.error_count == 0,
                      "after the end: %zu records (first offset %" PRId64 "), %zu errors",
                      r.record_count, r.record_count ? r.records[0].offset : -1, r.error_count);
    }
}

enum { BASE_TS = 1700000000000LL };

START_TEST(twelve_fetches_in_flight_deliver_every_record_once_in_order)
{
    kw_client *c = open_client(bootstrap());
    char topic[128];
    topic_name(topic, sizeof(topic), "many");
    kw_client_config_entry cfg = {"max.message.bytes", "16000000"};
    create_topic(c, topic, 1, &cfg, 1);
    enum { N = 200000 };
    produce_range(c, topic, N, BASE_TS);
    /* Mimir's catch-up: 12 fetches at distinct offsets; budgets small enough that each covers
     * a few thousand small records and the 2 MB ones overrun them. */
    static const uint32_t budgets[] = {256 << 10, 1 << 20};
    for (size_t b = 0; b < 2; b++) {
        kw_consumer_options o = {.fetches = 12, .fetch_bytes = budgets[b],
                                 .max_poll_records = 5000};
        kw_consumer *k = open_consumer(c, &o);
        ASSERT_OK(kw_consumer_assign(k, topic, 0, kw_consumer_at_earliest()), "assign");
        read_all(k, 0, N, 120000, NULL, NULL);
        kw_consumer_destroy(k);
    }

    /* Seek by timestamp: record i has timestamp BASE_TS + i. */
    kw_consumer_options o = {.fetches = 12, .fetch_bytes = 1 << 20};
    kw_consumer *k = open_consumer(c, &o);
    ASSERT_OK(kw_consumer_assign(k, topic, 0, kw_consumer_at_offset(10)), "assign");
    kw_consumer_poll_result r;
    uint64_t end = now_ms() + 20000;
    do
        ck_assert_int_eq(kw_consumer_poll(k, 200, &r), 0);
    while (r.record_count == 0 && now_ms() < end);
    ck_assert_int_eq(r.records[0].offset, 10);
    ASSERT_OK(kw_consumer_seek(k, topic, 0, kw_consumer_at_timestamp(BASE_TS + N - 5000)),
              "seek");
    read_all(k, N - 5000, N, 30000, NULL, NULL);
    int64_t pos = -1;
    ck_assert_int_eq(kw_consumer_position(k, topic, 0, &pos), 0);
    ck_assert_int_eq(pos, N);
    kw_consumer_destroy(k);
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

/* ---------------------------------------------------------------- gaps */

/* Writes one batch of n records with the given keys (key_fmt with base + index) at once. */
static void produce_keys(kw_client *c, const char *topic, int n, const char *key_fmt, int base)
{
    /* One batch (flush sends it), without a producer id: the cleaner keeps each producer's last
     * batch (empty if need be) for its sequence state, and the hole must be a real one. */
    kw_producer_options po = {.linger_ms = 1000, .idempotence = KW_PRODUCER_IDEMPOTENCE_OFF};
    kw_producer *p = NULL;
    char err[256];
    ck_assert_msg(kw_producer_new(&p, c, &po, err, sizeof(err)) == 0, "%s", err);
    sent s = {0};
    for (int i = 0; i < n; i++) {
        char key[32], val[48];
        snprintf(key, sizeof(key), key_fmt, base + i);
        snprintf(val, sizeof(val), "%s=%d", key, i);
        kw_producer_record r = {.topic = topic, .partition = 0, .key = key,
                                .key_len = strlen(key), .value = val, .value_len = strlen(val)};
        ASSERT_OK(kw_producer_send(p, &r, on_sent, &s), "send");
    }
    ck_assert_int_eq(kw_producer_flush(p, 30000), 0);
    ck_assert_int_eq(atomic_load(&s.failed), 0);
    ck_assert_int_eq(kw_producer_destroy(p), 0);
}

/* The base offset of the first batch a fetch at offset answers with (-1: none). */
static int64_t first_batch_at(kw_client *c, const char *topic, int64_t offset)
{
    kw_client_fetch_args a = {.topic = topic, .offset = offset, .max_wait_ms = 10};
    kw_client_fetch_result r;
    int rc = kw_client_fetch(c, &a, &r);
    ASSERT_OK(rc, r.detail);
    int64_t base = -1;
    if (r.records_len >= 8) {
        const uint8_t *b = r.records;
        base = 0;
        for (int i = 0; i < 8; i++)
            base = base << 8 | b[i];
    }
    kw_client_fetch_result_free(&r);
    return base;
}

/* Reads from start; returns the first error (after checking what came before). */
static kw_consumer_error read_until_error(kw_client *c, const char *topic, int64_t start,
                                          int64_t *records, int64_t *last_offset)
{
    kw_consumer_options o = {.fetches = 12, .fetch_bytes = 512};
    kw_consumer *k = open_consumer(c, &o);
    ASSERT_OK(kw_consumer_assign(k, topic, 0, kw_consumer_at_offset(start)), "assign");
    kw_consumer_error e = {0};
    *records = 0;
    *last_offset = -1;
    uint64_t end = now_ms() + 20000;
    bool quiet_after = false;
    uint64_t quiet_until = 0;
    while (now_ms() < end) {
        kw_consumer_poll_result r;
        ck_assert_int_eq(kw_consumer_poll(k, 100, &r), 0);
        ck_assert_msg(!quiet_after || r.record_count == 0, "records after the error");
        for (size_t i = 0; i < r.record_count; i++) {
            ck_assert_int_gt(r.records[i].offset, *last_offset);
            *last_offset = r.records[i].offset;
            (*records)++;
        }
        if (r.error_count && !quiet_after) {
            e = r.errors[0];
            quiet_after = true;
            quiet_until = now_ms() + 500;
        }
        if (quiet_after && now_ms() >= quiet_until)
            break;
    }
    kw_consumer_destroy(k);
    return e;
}

START_TEST(compaction_gaps_pass_and_the_same_gap_without_compaction_is_data_loss)
{
    kw_client *c = open_client(bootstrap());
    char topic[128];
    topic_name(topic, sizeof(topic), "gap");
    /* Compact soon after a roll: segments roll 100 ms after their first record, and every
     * closed segment is cleanable at once. */
    kw_client_config_entry cfg[] = {{"cleanup.policy", "compact"},
                                    {"segment.ms", "100"},
                                    {"min.cleanable.dirty.ratio", "0.001"},
                                    {"min.compaction.lag.ms", "0"},
                                    {"max.compaction.lag.ms", "100"},
                                    {"delete.retention.ms", "100"}};
    create_topic(c, topic, 1, cfg, sizeof(cfg) / sizeof(cfg[0]));
    produce_keys(c, topic, 5, "p%d", 0);  /* 0..4: unique keys, kept */
    produce_keys(c, topic, 10, "a", 0);   /* 5..14: key a, superseded below: the batch goes */
    produce_keys(c, topic, 10, "b%d", 0); /* 15..24: unique keys, kept */
    usleep(300 * 1000);
    produce_keys(c, topic, 10, "a", 0);   /* 25..34: a new segment; key a's last is 34 */
    usleep(300 * 1000);
    int z = 0;
    produce_keys(c, topic, 1, "z%d", z++); /* 35: rolls again, so 25..34 can be cleaned */
    /* The cleaner wakes every 15 s (log.cleaner.backoff.ms). */
    uint64_t end = now_ms() + 90000;
    int64_t first;
    while ((first = first_batch_at(c, topic, 5)) <= 5 && now_ms() < end) {
        usleep(2000 * 1000);
        produce_keys(c, topic, 1, "z%d", z++); /* keeps rolling segments */
    }
    ck_assert_msg(first == 15, "the cleaner did not remove offsets 5..14 within 90 s (a fetch at "
                  "5 starts at %" PRId64 ")", first);

    /* Compacted: the hole is expected; every surviving record comes, no error. */
    int64_t n = 0, last = -1;
    kw_consumer_error e = read_until_error(c, topic, 0, &n, &last);
    ck_assert_msg(e.err == 0, "compacted topic: %s: %s", kw_err_name(e.err), e.detail);
    ck_assert_int_ge(last, 35);
    ck_assert_int_lt(n, last + 1); /* some offsets were compacted away */

    /* The same log under cleanup.policy=delete cannot have that hole: it is reported, after
     * the records before it. */
    ck_assert_int_eq(kafka_tool("kafka.admin.ConfigCommand --bootstrap-server %s --alter "
                                "--entity-type topics --entity-name %s --add-config "
                                "cleanup.policy=delete",
                                bootstrap(), topic),
                     0);
    /* The tool returns once the controller has the change; the broker applies it a moment
     * later, and the consumer asks the broker. */
    bool applied = false;
    for (uint64_t until = now_ms() + 30000; !applied && now_ms() < until;) {
        const char *key = "cleanup.policy";
        kw_client_describe_configs_args da = {.resource = KW_CLIENT_RESOURCE_TOPIC, .name = topic,
                                              .keys = &key, .key_count = 1};
        kw_client_describe_configs_result dr;
        ASSERT_OK(kw_client_describe_configs(c, &da, &dr), dr.detail);
        for (size_t i = 0; i < dr.config_count; i++)
            if (strcmp(dr.configs[i].name, key) == 0 && dr.configs[i].value &&
                strcmp(dr.configs[i].value, "delete") == 0)
                applied = true;
        if (!applied && dr.config_count)
            fprintf(stderr, "cleanup.policy: %s=%s (%zu configs)\n", dr.configs[0].name,
                    dr.configs[0].value ? dr.configs[0].value : "(null)", dr.config_count);
        kw_client_describe_configs_result_free(&dr);
        if (!applied)
            usleep(100 * 1000);
    }
    ck_assert_msg(applied, "the broker still says cleanup.policy is not delete after 30 s");
    /* The hole inside one answer (records 0..4, then 15..): 0..4 come, then the error. */
    e = read_until_error(c, topic, 0, &n, &last);
    ck_assert_int_eq(e.err, KW_EDATALOSS);
    ck_assert_int_eq(e.offset, 5);
    ck_assert_int_eq(n, 5);
    ck_assert_int_eq(last, 4);
    ck_assert_msg(strstr(e.detail, "offsets 5..14 are missing: the answer to a fetch at offset 0 "
                                   "goes from offset 5 to 15 (the topic is not compacted)"),
                  "%s", e.detail);
    /* Starting in the hole: the answer begins past it, and the log start does not explain. */
    e = read_until_error(c, topic, 5, &n, &last);
    ck_assert_int_eq(e.err, KW_EDATALOSS);
    ck_assert_int_eq(e.offset, 5);
    ck_assert_int_eq(n, 0);
    ck_assert_msg(strstr(e.detail, "offsets 5..14 are missing: a fetch at offset 5 was answered "
                                   "from offset 15 (log start 0; the topic is not compacted)"),
                  "%s", e.detail);
    /* Past the hole, reading goes on. */
    e = read_until_error(c, topic, 15, &n, &last);
    ck_assert_msg(e.err == 0, "from 15: %s", e.detail);
    ck_assert_int_ge(last, 35);
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

/* ---------------------------------------------------------------- the 3-node cluster */

static int32_t leader_of(kw_client *c, const char *topic, int32_t *replicas, size_t *nreplicas)
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
        *nreplicas = p->replica_count < 3 ? p->replica_count : 3;
        for (size_t i = 0; i < *nreplicas; i++)
            replicas[i] = p->replicas[i];
    }
    kw_client_metadata_result_free(&r);
    return leader;
}

typedef struct mover {
    kw_client *c;
    const char *bs;
    const char *topic;
    int64_t at;
    int32_t from, to;
    bool moved;
    char dir[64];
} mover;

/*
 * Once a quarter is read, the leadership starts moving from its node to
 * another (no broker stopped), in the background: reading goes on meanwhile,
 * slowed down so that fetches are in flight at the old leader when it goes.
 */
static void move_leader(void *arg, int64_t next)
{
    mover *m = arg;
    if (m->moved) {
        char done[128];
        snprintf(done, sizeof(done), "%s/done", m->dir);
        if (access(done, F_OK) != 0)
            usleep(20 * 1000); /* still moving: keep the pipeline busy, not finished */
        return;
    }
    if (next < m->at)
        return;
    m->moved = true;
    int32_t replicas[3];
    size_t n = 0;
    m->from = leader_of(m->c, m->topic, replicas, &n);
    ck_assert_uint_eq(n, 3);
    m->to = replicas[0] == m->from ? replicas[1] : replicas[0];
    /* The new preferred order: the target first. */
    int32_t order[3] = {m->to, m->from, 0};
    for (size_t i = 0; i < 3; i++)
        if (replicas[i] != m->to && replicas[i] != m->from)
            order[2] = replicas[i];
    char path[128];
    snprintf(path, sizeof(path), "%s/reassign.json", m->dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "{\"version\":1,\"partitions\":[{\"topic\":\"%s\",\"partition\":0,\"replicas\":"
               "[%d,%d,%d]}]}\n", m->topic, order[0], order[1], order[2]);
    fclose(f);
    fprintf(stderr, "moving the leadership of %s[0] from node %d to node %d at offset %" PRId64
                    "\n", m->topic, m->from, m->to, next);
    const char *lib = getenv("KWAL_KAFKA_LIB");
    ck_assert_msg(lib && *lib, "KWAL_KAFKA_LIB is not set");
    char cmd[4096];
    const char *java = "java -Xmx256m -Dorg.slf4j.simpleLogger.defaultLogLevel=error -cp";
    snprintf(cmd, sizeof(cmd),
             "( %s '%s/*' org.apache.kafka.tools.reassign.ReassignPartitionsCommand "
             "--bootstrap-server %s --reassignment-json-file %s --execute && "
             "%s '%s/*' org.apache.kafka.tools.LeaderElectionCommand --bootstrap-server %s "
             "--election-type PREFERRED --topic %s --partition 0 && touch %s/ok; "
             "touch %s/done ) >&2 &",
             java, lib, m->bs, path, java, lib, m->bs, m->topic, m->dir, m->dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(twelve_fetches_in_flight_lose_nothing_when_the_leader_moves)
{
    const char *bs = getenv("KWAL_BOOTSTRAP_CLUSTER");
    kw_client *c = open_client(bs);
    char topic[128];
    topic_name(topic, sizeof(topic), "move");
    kw_client_config_entry cfg = {"max.message.bytes", "16000000"};
    create_topic(c, topic, 3, &cfg, 1);
    enum { N = 100000 };
    produce_range(c, topic, N, BASE_TS);
    mover m = {.c = c, .bs = bs, .topic = topic, .at = N / 4};
    snprintf(m.dir, sizeof(m.dir), "/tmp/kwal-catchup-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(m.dir));
    /* Small budgets and a bounded poll keep the 12 fetches busy while the leader moves. */
    kw_consumer_options o = {.fetches = 12, .fetch_bytes = 64 << 10, .max_poll_records = 200};
    kw_consumer *k = open_consumer(c, &o);
    ASSERT_OK(kw_consumer_assign(k, topic, 0, kw_consumer_at_earliest()), "assign");
    read_all(k, 0, N, 180000, move_leader, &m);
    ck_assert(m.moved);
    char marker[128];
    snprintf(marker, sizeof(marker), "%s/done", m.dir);
    for (uint64_t end = now_ms() + 60000; access(marker, F_OK) != 0 && now_ms() < end;)
        usleep(100 * 1000);
    snprintf(marker, sizeof(marker), "%s/ok", m.dir);
    ck_assert_msg(access(marker, F_OK) == 0, "the reassignment or the election failed (stderr)");
    int32_t now = -1;
    uint64_t end = now_ms() + 30000;
    while ((now = leader_of(c, topic, NULL, NULL)) != m.to && now_ms() < end)
        usleep(200 * 1000);
    ck_assert_msg(now == m.to, "the leader is node %d, not %d", now, m.to);
    kw_consumer_destroy(k);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", m.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", m.dir);
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

/* A Mimir-sized record with acks=all on three replicas: followers fetch it whole (the broker
 * sends a first batch larger than replica.fetch.max.bytes, 1 MiB by default) and stay in sync. */
START_TEST(a_16mb_record_replicates_to_three_nodes_and_reads_back)
{
    const char *bs = getenv("KWAL_BOOTSTRAP_CLUSTER");
    kw_client *c = open_client(bs);
    char topic[128];
    topic_name(topic, sizeof(topic), "big3");
    kw_client_config_entry cfg = {"max.message.bytes", "16000000"};
    create_topic(c, topic, 3, &cfg, 1);
    enum { BIG = 15983616 };
    uint8_t *v = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        v[i] = (uint8_t)(i * 2654435761u >> 11);
    kw_producer_options po = {.batch_bytes = 16000000};
    kw_producer *p = NULL;
    char err[256];
    ck_assert_msg(kw_producer_new(&p, c, &po, err, sizeof(err)) == 0, "%s", err);
    sent st = {0};
    for (int i = 0; i < 2; i++) {
        kw_producer_record r = {.topic = topic, .partition = 0, .value = v, .value_len = BIG};
        ASSERT_OK(kw_producer_send(p, &r, on_sent, &st), "send");
    }
    ck_assert_int_eq(kw_producer_flush(p, 60000), 0);
    ck_assert_msg(atomic_load(&st.failed) == 0, "%s", st.detail);
    ck_assert_int_eq(kw_producer_destroy(p), 0);
    /* Every replica in sync after two acks=all writes. */
    const char *names[] = {topic};
    kw_client_metadata_args ma = {.topics = names, .topic_count = 1, .timeout_ms = 10000};
    kw_client_metadata_result mr;
    ASSERT_OK(kw_client_metadata(c, &ma, &mr), mr.detail);
    ck_assert_uint_eq(mr.topics[0].partitions[0].isr_count, 3);
    kw_client_metadata_result_free(&mr);
    kw_consumer_options o = {.fetches = 12, .fetch_bytes = 1 << 20};
    kw_consumer *k = open_consumer(c, &o);
    ASSERT_OK(kw_consumer_assign(k, topic, 0, kw_consumer_at_earliest()), "assign");
    int64_t next = 0;
    for (uint64_t end = now_ms() + 60000; next < 2 && now_ms() < end;) {
        kw_consumer_poll_result r;
        ck_assert_int_eq(kw_consumer_poll(k, 200, &r), 0);
        ck_assert_msg(r.error_count == 0, "%s", r.error_count ? r.errors[0].detail : "");
        for (size_t i = 0; i < r.record_count; i++, next++) {
            ck_assert_int_eq(r.records[i].offset, next);
            ck_assert_uint_eq(r.records[i].value_len, BIG);
            ck_assert(memcmp(r.records[i].value, v, BIG) == 0);
        }
    }
    ck_assert_int_eq(next, 2);
    kw_consumer_destroy(k);
    free(v);
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

int main(void)
{
    const char *cases = getenv("CK_RUN_CASE");
    bool cluster = cases && strcmp(cases, "cluster") == 0;
    if (!cluster && !bootstrap()) {
        fprintf(stderr, "KWAL_BOOTSTRAP is not set (eval \"$(tests/kafka/broker env)\"): skipped\n");
        return 77;
    }
    if (cluster && (!getenv("KWAL_BOOTSTRAP_CLUSTER") || !getenv("KWAL_KAFKA_LIB"))) {
        fprintf(stderr, "KWAL_BOOTSTRAP_CLUSTER or KWAL_KAFKA_LIB is not set: skipped\n");
        return 77;
    }
    Suite *s = suite_create("catchup");
    if (cluster) {
        TCase *tcl = tcase_create("cluster");
        tcase_set_timeout(tcl, 360);
        tcase_add_test(tcl, twelve_fetches_in_flight_lose_nothing_when_the_leader_moves);
        tcase_add_test(tcl, a_16mb_record_replicates_to_three_nodes_and_reads_back);
        suite_add_tcase(s, tcl);
    } else {
        TCase *tc = tcase_create("catchup");
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, twelve_fetches_in_flight_deliver_every_record_once_in_order);
        tcase_add_test(tc, compaction_gaps_pass_and_the_same_gap_without_compaction_is_data_loss);
        suite_add_tcase(s, tc);
    }
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
