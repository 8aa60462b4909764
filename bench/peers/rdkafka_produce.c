/* Produce-benchmark peer: COUNT records of SIZE bytes to partition 0 with librdkafka, one result line. */
/*
 * Not part of libkwal (which never links librdkafka): bench/produce runs this beside the kwal producer
 * on the same broker, in the same run, so the two sets of numbers can be compared.
 *
 *   rdkafka_produce -b BROKERS -t TOPIC -n COUNT -s SIZE -z none|lz4|snappy|zstd|gzip [--acks all|1|0]
 *                   [--linger-ms N] [--batch-bytes N] [--idempotence]
 *                   [--queue-kbytes N]
 *
 * --queue-kbytes bounds librdkafka's send queue (default 2097151, its maximum, so the run never waits
 * for queue space; peak RSS then includes every record not yet sent).
 *
 * Record content (the kwal side must produce the same bytes for a fair compression comparison): no key,
 * no headers; record i's value is SIZE bytes of pool[] starting at offset (i * 4099) % (POOL_BYTES - SIZE + 1).
 * pool[] is POOL_BYTES of words from WORDS[], each followed by one space, the word chosen by
 * xorshift64 (seed 0x9E3779B97F4A7C15, shifts 13/7/17) modulo 16. That is text-like and compresses about
 * 2.5x with LZ4 in 1 MB batches, unlike random bytes (no gain) or one repeated byte (absurd gain). The
 * stride 4099 exceeds every benchmarked record size, so neighbouring records share no bytes (a small
 * stride made 1 KiB records overlap and compress 5x).
 *
 * Timing: the connection and the topic's metadata are fetched before the clock starts; the wall clock
 * (CLOCK_MONOTONIC) then runs from the first produce call to the last delivery report. A delivery
 * report with no error means the broker acknowledged the record at the configured acks (acks=all: every
 * in-sync replica has it). CPU seconds and peak RSS are getrusage(RUSAGE_SELF) for the whole process,
 * librdkafka's threads included.
 *
 * Exit status: 0 when every record was delivered, 1 when any failed, 2 on bad usage or setup.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#define POOL_BYTES (1u << 20)
#define MAX_RECORD_BYTES (POOL_BYTES / 2)

static const char *const WORDS[16] = {
    "kafka", "record", "batch", "offset", "partition", "leader", "replica", "segment",
    "append", "flush",  "epoch", "region", "metric",    "write",  "table",   "timestamp",
};

struct run {
    uint64_t delivered;   /* delivery reports with no error */
    uint64_t failed;      /* delivery reports with an error */
    double last_report;   /* CLOCK_MONOTONIC seconds of the latest report */
    char first_error[256];
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill_pool(char *pool, size_t len)
{
    uint64_t x = 0x9E3779B97F4A7C15ull;
    size_t at = 0;
    while (at < len) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const char *w = WORDS[x % 16];
        for (size_t k = 0; w[k] != '\0' && at < len; k++)
            pool[at++] = w[k];
        if (at < len)
            pool[at++] = ' ';
    }
}

/* Runs on the thread that calls rd_kafka_poll/flush: this one, so no locking. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct run *run = opaque;
    (void)rk;
    run->last_report = now();
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        run->delivered++;
        return;
    }
    if (run->failed++ == 0)
        snprintf(run->first_error, sizeof run->first_error, "%s", rd_kafka_err2str(m->err));
}

static int set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char err[256];
    if (rd_kafka_conf_set(conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "rdkafka_produce: %s=%s: %s\n", name, value, err);
        return -1;
    }
    return 0;
}

static int parse_u64(const char *s, const char *what, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-') {
        fprintf(stderr, "rdkafka_produce: bad %s: %s\n", what, s);
        return -1;
    }
    *out = v;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: rdkafka_produce -b BROKERS -t TOPIC -n COUNT -s SIZE\n"
                    "                       -z none|lz4|snappy|zstd|gzip\n"
                    "                       [--acks all|1|0] [--linger-ms N] [--batch-bytes N]"
                    " [--idempotence]\n"
                    "                       [--queue-kbytes N]\n");
}

int main(int argc, char **argv)
{
    const char *brokers = NULL, *topic_name = NULL, *codec = NULL, *acks = "all";
    uint64_t count = 0, size = 0, linger_ms = 5, batch_bytes = 1000000, queue_kbytes = 2097151;
    int have_count = 0, have_size = 0, idempotence = 0;
    enum { OPT_ACKS = 256, OPT_LINGER, OPT_BATCH, OPT_IDEMPOTENCE, OPT_QUEUE };
    static const struct option longopts[] = {
        {"acks", required_argument, NULL, OPT_ACKS},
        {"linger-ms", required_argument, NULL, OPT_LINGER},
        {"batch-bytes", required_argument, NULL, OPT_BATCH},
        {"idempotence", no_argument, NULL, OPT_IDEMPOTENCE},
        {"queue-kbytes", required_argument, NULL, OPT_QUEUE},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "b:t:n:s:z:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'b': brokers = optarg; break;
        case 't': topic_name = optarg; break;
        case 'z': codec = optarg; break;
        case 'n':
            if (parse_u64(optarg, "count", &count) < 0)
                return 2;
            have_count = 1;
            break;
        case 's':
            if (parse_u64(optarg, "size", &size) < 0)
                return 2;
            have_size = 1;
            break;
        case OPT_ACKS: acks = optarg; break;
        case OPT_LINGER:
            if (parse_u64(optarg, "linger-ms", &linger_ms) < 0)
                return 2;
            break;
        case OPT_BATCH:
            if (parse_u64(optarg, "batch-bytes", &batch_bytes) < 0)
                return 2;
            break;
        case OPT_IDEMPOTENCE: idempotence = 1; break;
        case OPT_QUEUE:
            if (parse_u64(optarg, "queue-kbytes", &queue_kbytes) < 0)
                return 2;
            break;
        default: usage(); return 2;
        }
    }
    if (!brokers || !topic_name || !codec || !have_count || !have_size || optind != argc) {
        usage();
        return 2;
    }
    if (strcmp(codec, "none") != 0 && strcmp(codec, "lz4") != 0 && strcmp(codec, "snappy") != 0 &&
        strcmp(codec, "zstd") != 0 && strcmp(codec, "gzip") != 0) {
        fprintf(stderr, "rdkafka_produce: -z must be none, lz4, snappy, zstd or gzip\n");
        return 2;
    }
    if (size > MAX_RECORD_BYTES) {
        fprintf(stderr, "rdkafka_produce: -s at most %u\n", MAX_RECORD_BYTES);
        return 2;
    }

    char *pool = malloc(POOL_BYTES);
    if (!pool) {
        fprintf(stderr, "rdkafka_produce: out of memory\n");
        return 2;
    }
    fill_pool(pool, POOL_BYTES);

    struct run run = {0};
    char num[32];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, &run);
    int bad = set(conf, "bootstrap.servers", brokers) | set(conf, "acks", acks) |
              set(conf, "compression.type", codec) |
              set(conf, "enable.idempotence", idempotence ? "true" : "false") |
              /* By default the whole run may sit in the queue: never wait for queue space. */
              set(conf, "queue.buffering.max.messages", "10000000") |
              set(conf, "batch.num.messages", "1000000");
    snprintf(num, sizeof num, "%" PRIu64, queue_kbytes);
    bad |= set(conf, "queue.buffering.max.kbytes", num);
    snprintf(num, sizeof num, "%" PRIu64, linger_ms);
    bad |= set(conf, "linger.ms", num);
    snprintf(num, sizeof num, "%" PRIu64, batch_bytes);
    bad |= set(conf, "batch.size", num);
    /* A batch must fit in one request. */
    snprintf(num, sizeof num, "%" PRIu64, batch_bytes + 65536);
    bad |= set(conf, "message.max.bytes", num);
    if (bad) {
        rd_kafka_conf_destroy(conf);
        free(pool);
        return 2;
    }

    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "rdkafka_produce: rd_kafka_new: %s\n", err);
        rd_kafka_conf_destroy(conf);
        free(pool);
        return 2;
    }
    rd_kafka_topic_t *topic = rd_kafka_topic_new(rk, topic_name, NULL);

    /* Connect and learn the partition leader before the clock starts. */
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t merr = rd_kafka_metadata(rk, 0, topic, &md, 10000);
    if (merr != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 || md->topics[0].err ||
        md->topics[0].partition_cnt < 1) {
        fprintf(stderr, "rdkafka_produce: metadata for %s: %s\n", topic_name,
                merr ? rd_kafka_err2str(merr)
                     : md->topic_cnt == 1 && md->topics[0].err ? rd_kafka_err2str(md->topics[0].err)
                                                                : "no partitions");
        if (md)
            rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(topic);
        rd_kafka_destroy(rk);
        free(pool);
        return 2;
    }
    rd_kafka_metadata_destroy(md);

    size_t span = POOL_BYTES - (size_t)size + 1;
    double start = now();
    run.last_report = start;
    for (uint64_t i = 0; i < count; i++) {
        char *value = pool + (size_t)((i * 4099) % span);
        while (rd_kafka_produce(topic, 0, RD_KAFKA_MSG_F_COPY, value, (size_t)size, NULL, 0,
                                NULL) != 0) {
            rd_kafka_resp_err_t e = rd_kafka_last_error();
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                fprintf(stderr, "rdkafka_produce: produce record %" PRIu64 ": %s\n", i,
                        rd_kafka_err2str(e));
                rd_kafka_topic_destroy(topic);
                rd_kafka_destroy(rk);
                free(pool);
                return 1;
            }
            rd_kafka_poll(rk, 1);
        }
        /* Serve delivery reports as they come, so they do not pile up. */
        if ((i & 1023) == 0)
            rd_kafka_poll(rk, 0);
    }
    while (run.delivered + run.failed < count)
        rd_kafka_flush(rk, 1000);
    double seconds = run.last_report - start;

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    double sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    uint64_t bytes = run.delivered * size;
    double rps = seconds > 0 ? (double)count / seconds : 0;
    double mbps = seconds > 0 ? (double)bytes / seconds / 1e6 : 0;
    printf("records=%" PRIu64 " bytes=%" PRIu64 " seconds=%.3f records_per_s=%.0f mb_per_s=%.2f "
           "cpu_user=%.3f cpu_sys=%.3f max_rss_kb=%ld\n",
           run.delivered, bytes, seconds, rps, mbps, user, sys, ru.ru_maxrss);
    if (run.failed)
        fprintf(stderr, "rdkafka_produce: %" PRIu64 " of %" PRIu64 " records failed, first: %s\n",
                run.failed, count, run.first_error);

    rd_kafka_topic_destroy(topic);
    rd_kafka_destroy(rk);
    free(pool);
    return run.failed ? 1 : 0;
}
