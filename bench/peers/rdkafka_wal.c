/* WAL benchmark peer: librdkafka writing the WAL benchmark's records, or reading a WAL topic whole. */
/*
 * Not part of libkwal (which never links librdkafka): bench/wal runs this beside
 * bench/wal_append and bench/wal_replay on the same broker, in the same run.
 *
 *   rdkafka_wal -b BROKERS -t PREFIX -n COUNT [-s SIZE] [-r REGIONS] [-T TOPICS] [-w WINDOW]
 *               [--linger-ms N] [--idempotence]
 *   rdkafka_wal -b BROKERS --consume TOPIC
 *
 * Produce: the records of bench/wal_common.h, as GreptimeDB's remote WAL would write them
 * with librdkafka: entry i is one record with GreptimeDB's JSON key for region i % REGIONS,
 * the entry's SIZE bytes as value, no headers, to partition 0 of PREFIX_(region % TOPICS);
 * acks=all, lz4, 1 MiB batches, librdkafka's defaults otherwise (linger 5 ms, no
 * idempotence, up to 1,000,000 requests in flight per broker connection).  At most WINDOW
 * records (8192, the same as wal_append's 2 threads x 4096) are not yet reported at any
 * time.  Latency: rd_kafka_produce to the delivery report (acks=all acknowledged).  Before
 * the clock starts one record per topic is produced and flushed (connections, metadata).
 *   entries=N mb=M seconds=S entries_per_s=E mb_per_s=R p50_ms=A p99_ms=B cpu_user=U
 *   cpu_sys=Y max_rss_kb=K
 *
 * Consume (the replay peer): reads partition 0 of TOPIC from the log start to the high
 * watermark with the simple consumer API (librdkafka's defaults: 1 MiB per partition per
 * fetch, up to 50 MB per fetch, prefetching).  A client without kwal's region keys in its
 * reader cannot skip other regions' records, so it reads them all; topic_mb is records x SIZE
 * (-s, 1024): the topic's entry bytes, counted as bench/wal_replay counts them (kwal stores
 * the values compressed one by one, so the bytes on the wire are fewer).
 *   records=N topic_mb=T seconds=S topic_mb_per_s=Q cpu_user=U cpu_sys=Y max_rss_kb=K
 *
 * Exit status: 0, 1 when a record failed, 2 on bad usage or setup.
 */
#include <getopt.h>
#include <stdbool.h>

#include <librdkafka/rdkafka.h>

#include "../wal_common.h"

static struct {
    uint64_t *start_ns;
    uint32_t *lat_us;
    uint64_t reported, failed, last_ns;
    char first_error[256];
} g;

/* Runs on this thread (rd_kafka_poll / rd_kafka_flush): no locking. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    uint64_t now = wb_now_ns();
    uintptr_t i = (uintptr_t)m->_private;
    g.last_ns = now;
    g.reported++;
    if (i != UINTPTR_MAX)
        g.lat_us[i] = wb_us(now - g.start_ns[i]);
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR && g.failed++ == 0)
        snprintf(g.first_error, sizeof g.first_error, "%s", rd_kafka_err2str(m->err));
}

static int set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char err[256];
    if (rd_kafka_conf_set(conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "rdkafka_wal: %s=%s: %s\n", name, value, err);
        return -1;
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: rdkafka_wal -b BROKERS -t PREFIX -n COUNT [-s SIZE] [-r REGIONS] [-T TOPICS]\n"
            "                   [-w WINDOW] [--linger-ms N] [--idempotence]\n"
            "       rdkafka_wal -b BROKERS --consume TOPIC\n");
}

static int produce(const char *brokers, const char *prefix, uint64_t count, size_t size,
                   unsigned regions, unsigned topics, uint64_t window, uint64_t linger_ms,
                   bool idempotence)
{
    static char pool[WB_POOL_BYTES];
    wb_fill_pool(pool, sizeof pool);
    g.start_ns = calloc(count, sizeof(*g.start_ns));
    g.lat_us = calloc(count, sizeof(*g.lat_us));
    rd_kafka_topic_t **tp = calloc(topics, sizeof(*tp));
    if (!g.start_ns || !g.lat_us || !tp) {
        fprintf(stderr, "rdkafka_wal: out of memory\n");
        return 2;
    }
    char num[32];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    snprintf(num, sizeof num, "%" PRIu64, linger_ms);
    int bad = set(conf, "bootstrap.servers", brokers) | set(conf, "acks", "all") |
              set(conf, "compression.type", "lz4") |
              set(conf, "enable.idempotence", idempotence ? "true" : "false") |
              set(conf, "batch.size", "1048576") | set(conf, "message.max.bytes", "1200000") |
              set(conf, "queue.buffering.max.messages", "10000000") |
              set(conf, "queue.buffering.max.kbytes", "2097151") | set(conf, "linger.ms", num);
    if (bad) {
        rd_kafka_conf_destroy(conf);
        return 2;
    }
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "rdkafka_wal: rd_kafka_new: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return 2;
    }
    char name[512];
    for (unsigned t = 0; t < topics; t++) {
        snprintf(name, sizeof name, "%s_%u", prefix, t);
        tp[t] = rd_kafka_topic_new(rk, name, NULL);
    }
    /* Warm up: one record per topic, flushed, before the clock starts. */
    char key[256];
    for (unsigned t = 0; t < topics; t++) {
        int kl = wb_greptimedb_key(key, sizeof key, wb_region_id(t));
        if (rd_kafka_produce(tp[t], 0, RD_KAFKA_MSG_F_COPY, pool, size, key, (size_t)kl,
                             (void *)UINTPTR_MAX) != 0) {
            fprintf(stderr, "rdkafka_wal: warm-up: %s\n", rd_kafka_err2str(rd_kafka_last_error()));
            return 2;
        }
    }
    rd_kafka_flush(rk, 30000);
    if (g.failed || g.reported != topics) {
        fprintf(stderr, "rdkafka_wal: warm-up failed: %s\n", g.first_error);
        return 2;
    }
    g.reported = 0;

    double user0, sys0, user1, sys1;
    long rss;
    wb_usage(&user0, &sys0, &rss);
    uint64_t start = wb_now_ns();
    for (uint64_t i = 0; i < count; i++) {
        while (i - g.reported >= window)
            rd_kafka_poll(rk, 1);
        unsigned r = (unsigned)(i % regions);
        int kl = wb_greptimedb_key(key, sizeof key, wb_region_id(r));
        g.start_ns[i] = wb_now_ns();
        while (rd_kafka_produce(tp[r % topics], 0, RD_KAFKA_MSG_F_COPY,
                                (void *)wb_entry(pool, i, size), size, key, (size_t)kl,
                                (void *)(uintptr_t)i) != 0) {
            if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                fprintf(stderr, "rdkafka_wal: produce: %s\n",
                        rd_kafka_err2str(rd_kafka_last_error()));
                return 2;
            }
            rd_kafka_poll(rk, 1);
        }
        rd_kafka_poll(rk, 0);
    }
    while (g.reported < count)
        rd_kafka_poll(rk, 100);
    wb_usage(&user1, &sys1, &rss);
    double seconds = (double)(g.last_ns - start) / 1e9;
    uint64_t ok = count - g.failed;
    double mb = (double)ok * (double)size / 1e6;
    wb_sort(g.lat_us, count);
    printf("entries=%" PRIu64 " mb=%.1f seconds=%.3f entries_per_s=%.0f mb_per_s=%.2f "
           "p50_ms=%.2f p99_ms=%.2f cpu_user=%.2f cpu_sys=%.2f max_rss_kb=%ld\n",
           ok, mb, seconds, (double)ok / seconds, mb / seconds,
           wb_percentile_ms(g.lat_us, count, 0.50), wb_percentile_ms(g.lat_us, count, 0.99),
           user1 - user0, sys1 - sys0, rss);
    if (g.failed)
        fprintf(stderr, "rdkafka_wal: %" PRIu64 " of %" PRIu64 " records failed, first: %s\n",
                g.failed, count, g.first_error);
    for (unsigned t = 0; t < topics; t++)
        rd_kafka_topic_destroy(tp[t]);
    rd_kafka_destroy(rk);
    free(tp);
    free(g.start_ns);
    free(g.lat_us);
    return g.failed ? 1 : 0;
}

static int consume(const char *brokers, const char *topic_name, size_t size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (set(conf, "bootstrap.servers", brokers) | set(conf, "enable.partition.eof", "true")) {
        rd_kafka_conf_destroy(conf);
        return 2;
    }
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "rdkafka_wal: rd_kafka_new: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return 2;
    }
    rd_kafka_topic_t *topic = rd_kafka_topic_new(rk, topic_name, NULL);
    double user0, sys0, user1, sys1;
    long rss;
    wb_usage(&user0, &sys0, &rss);
    uint64_t start = wb_now_ns();
    /* The end, as kwal's replay takes it: the high watermark when reading starts. */
    int64_t low, high;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topic_name, 0, &low, &high, 10000);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "rdkafka_wal: watermarks of %s: %s\n", topic_name, rd_kafka_err2str(e));
        return 2;
    }
    if (rd_kafka_consume_start(topic, 0, RD_KAFKA_OFFSET_BEGINNING) != 0) {
        fprintf(stderr, "rdkafka_wal: consume_start: %s\n",
                rd_kafka_err2str(rd_kafka_last_error()));
        return 2;
    }
    uint64_t records = 0;
    int64_t next = low;
    /* One message per call: rd_kafka_consume_batch waits out its timeout for a short last batch. */
    while (next < high) {
        rd_kafka_message_t *m = rd_kafka_consume(topic, 0, 1000);
        if (!m)
            continue; /* nothing within a second: the broker is slow, keep waiting */
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->offset < high) {
            records++;
            next = m->offset + 1;
        } else if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            fprintf(stderr, "rdkafka_wal: consume: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            return 2;
        }
        rd_kafka_message_destroy(m);
    }
    uint64_t end = wb_now_ns();
    wb_usage(&user1, &sys1, &rss);
    rd_kafka_consume_stop(topic, 0);
    double seconds = (double)(end - start) / 1e9;
    double mb = (double)records * (double)size / 1e6;
    printf("records=%" PRIu64 " topic_mb=%.1f seconds=%.3f topic_mb_per_s=%.1f cpu_user=%.2f "
           "cpu_sys=%.2f max_rss_kb=%ld\n",
           records, mb, seconds, mb / seconds, user1 - user0, sys1 - sys0, rss);
    rd_kafka_topic_destroy(topic);
    rd_kafka_destroy(rk);
    return 0;
}

int main(int argc, char **argv)
{
    const char *brokers = NULL, *prefix = NULL, *consume_topic = NULL;
    uint64_t count = 0, size = 1024, regions = 1000, topics = 64, window = 8192, linger_ms = 5;
    bool idempotence = false;
    enum { OPT_CONSUME = 256, OPT_LINGER, OPT_IDEMPOTENCE };
    static const struct option longopts[] = {
        {"consume", required_argument, NULL, OPT_CONSUME},
        {"linger-ms", required_argument, NULL, OPT_LINGER},
        {"idempotence", no_argument, NULL, OPT_IDEMPOTENCE},
        {NULL, 0, NULL, 0},
    };
    int c, bad = 0;
    while ((c = getopt_long(argc, argv, "b:t:n:s:r:T:w:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'b': brokers = optarg; break;
        case 't': prefix = optarg; break;
        case 'n': bad |= wb_parse_u64("rdkafka_wal", optarg, "count", &count); break;
        case 's': bad |= wb_parse_u64("rdkafka_wal", optarg, "size", &size); break;
        case 'r': bad |= wb_parse_u64("rdkafka_wal", optarg, "regions", &regions); break;
        case 'T': bad |= wb_parse_u64("rdkafka_wal", optarg, "topics", &topics); break;
        case 'w': bad |= wb_parse_u64("rdkafka_wal", optarg, "window", &window); break;
        case OPT_LINGER: bad |= wb_parse_u64("rdkafka_wal", optarg, "linger-ms", &linger_ms); break;
        case OPT_CONSUME: consume_topic = optarg; break;
        case OPT_IDEMPOTENCE: idempotence = true; break;
        default: usage(); return 2;
        }
    }
    if (bad || !brokers || optind != argc) {
        usage();
        return 2;
    }
    if (consume_topic)
        return consume(brokers, consume_topic, (size_t)size);
    if (!prefix || count == 0 || size == 0 || size > WB_POOL_BYTES / 2 || topics == 0 ||
        topics > 10000 || regions < topics || regions > 1000000 || window == 0) {
        usage();
        return 2;
    }
    return produce(brokers, prefix, count, (size_t)size, (unsigned)regions, (unsigned)topics,
                   window, linger_ms, idempotence);
}
