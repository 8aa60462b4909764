/* Consume-benchmark peer: catch-up of one partition from its earliest offset with librdkafka, one result line. */
/*
 * Not part of libkwal (which never links librdkafka): bench/consume runs this beside kwal and franz-go on
 * the same partition, in the same run, so the numbers can be compared.
 *
 *   rdkafka_consume -b BROKERS -t TOPIC [-p PARTITION] -n RECORDS [--fetch-bytes N] [--fetches N]
 *                   [-X NAME=VALUE]...
 *
 * Reads PARTITION (default 0) from the earliest offset until RECORDS records have arrived, then prints
 *
 *   records=N bytes=B seconds=S records_per_s=R mb_per_s=M cpu_user=U cpu_sys=Y max_rss_kb=K
 *
 * bytes = key + value bytes consumed; seconds from the assignment (which starts the first fetch) to the
 * last record; cpu and peak RSS are getrusage(RUSAGE_SELF) of the whole process, librdkafka's threads
 * included. The connection and the topic's metadata are fetched before the clock starts.
 *
 * Settings, tuned for catch-up rather than for latency:
 *   - the partition assigned (rd_kafka_assign) at RD_KAFKA_OFFSET_BEGINNING, auto commit and offset store
 *     off: nothing is committed, no group is joined. librdkafka's consumer refuses rd_kafka_assign without
 *     a group.id, so it gets one (kwal-bench-rdkafka-consume) that is never used for more than finding
 *     the coordinator;
 *   - fetch.max.bytes = max.partition.fetch.bytes = --fetch-bytes (default 4 MiB, kwal's fetch size): with
 *     one partition the per-partition bound is the one that counts, and librdkafka's default of 1 MiB
 *     would mean four times the fetch round trips of the others;
 *   - queued.max.messages.kbytes = 4 x --fetch-bytes (16 MiB by default): librdkafka's fetcher thread keeps
 *     fetching ahead until this much is queued for the application, so four fetches ahead keep it busy
 *     while the application drains the queue; its default (64 MiB) only adds RSS on one partition;
 *   - records are taken from the queue in batches of up to 4096 (rd_kafka_consume_batch_queue), the
 *     cheapest documented way to drain it (never more than remain: the call waits for a full batch);
 *   - check.crcs stays at librdkafka's default (off).
 * --fetches is accepted so every client takes the same command line; librdkafka has no such setting (it
 * sends one fetch at a time to each broker), so any value other than 1 is refused.
 *
 * Exit status: 0 when RECORDS records were read, 1 on a fetch error or when the partition ran dry for 30 s,
 * 2 on bad usage or setup.
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

#define BATCH_MESSAGES 4096
#define IDLE_LIMIT_SECONDS 30.0

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char err[256];
    if (rd_kafka_conf_set(conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "rdkafka_consume: %s=%s: %s\n", name, value, err);
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
        fprintf(stderr, "rdkafka_consume: bad %s: %s\n", what, s);
        return -1;
    }
    *out = v;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: rdkafka_consume -b BROKERS -t TOPIC [-p PARTITION] -n RECORDS"
                    " [--fetch-bytes N] [--fetches 1]\n"
                    "                       [-X NAME=VALUE]...\n");
}

int main(int argc, char **argv)
{
    const char *brokers = NULL, *topic_name = NULL;
    const char *extra[16];
    size_t extras = 0;
    uint64_t count = 0, partition = 0, fetch_bytes = 4u << 20, fetches = 1;
    enum { OPT_FETCH_BYTES = 256, OPT_FETCHES };
    static const struct option longopts[] = {
        {"fetch-bytes", required_argument, NULL, OPT_FETCH_BYTES},
        {"fetches", required_argument, NULL, OPT_FETCHES},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "b:t:p:n:X:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'X':
            if (extras == sizeof extra / sizeof extra[0] || !strchr(optarg, '=')) {
                fprintf(stderr, "rdkafka_consume: -X takes NAME=VALUE, at most %zu times\n",
                        sizeof extra / sizeof extra[0]);
                return 2;
            }
            extra[extras++] = optarg;
            break;
        case 'b': brokers = optarg; break;
        case 't': topic_name = optarg; break;
        case 'p':
            if (parse_u64(optarg, "partition", &partition) < 0)
                return 2;
            break;
        case 'n':
            if (parse_u64(optarg, "records", &count) < 0)
                return 2;
            break;
        case OPT_FETCH_BYTES:
            if (parse_u64(optarg, "fetch-bytes", &fetch_bytes) < 0)
                return 2;
            break;
        case OPT_FETCHES:
            if (parse_u64(optarg, "fetches", &fetches) < 0)
                return 2;
            break;
        default: usage(); return 2;
        }
    }
    if (!brokers || !topic_name || count == 0 || optind != argc) {
        usage();
        return 2;
    }
    if (partition > INT32_MAX || fetch_bytes < 1024 || fetch_bytes > (1u << 30)) {
        fprintf(stderr, "rdkafka_consume: -p must be 0..%d, --fetch-bytes 1024..%u\n", INT32_MAX,
                1u << 30);
        return 2;
    }
    if (fetches != 1) {
        fprintf(stderr, "rdkafka_consume: --fetches must be 1 (librdkafka sends one fetch at a time to"
                        " each broker)\n");
        return 2;
    }

    char num[32];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int bad = set(conf, "bootstrap.servers", brokers) |
              set(conf, "group.id", "kwal-bench-rdkafka-consume") |
              set(conf, "enable.auto.commit", "false") |
              set(conf, "enable.auto.offset.store", "false");
    snprintf(num, sizeof num, "%" PRIu64, fetch_bytes);
    bad |= set(conf, "fetch.max.bytes", num) | set(conf, "max.partition.fetch.bytes", num);
    /* A response may exceed fetch.max.bytes by one batch; librdkafka wants room for that. */
    snprintf(num, sizeof num, "%" PRIu64, fetch_bytes * 2 + 65536);
    bad |= set(conf, "receive.message.max.bytes", num);
    snprintf(num, sizeof num, "%" PRIu64, fetch_bytes * 4 / 1024);
    bad |= set(conf, "queued.max.messages.kbytes", num);
    /* -X last, so it overrides any of the above (for trying other settings by hand). */
    for (size_t i = 0; i < extras; i++) {
        char name[128];
        size_t len = (size_t)(strchr(extra[i], '=') - extra[i]);
        snprintf(name, sizeof name, "%.*s", (int)len, extra[i]);
        bad |= set(conf, name, extra[i] + len + 1);
    }
    if (bad) {
        rd_kafka_conf_destroy(conf);
        return 2;
    }

    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "rdkafka_consume: rd_kafka_new: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return 2;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_queue_t *queue = rd_kafka_queue_get_consumer(rk);

    /* Connect and check the partition exists before the clock starts. */
    rd_kafka_topic_t *topic = rd_kafka_topic_new(rk, topic_name, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t merr = rd_kafka_metadata(rk, 0, topic, &md, 10000);
    int ok = merr == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && !md->topics[0].err &&
             (uint64_t)md->topics[0].partition_cnt > partition;
    if (!ok)
        fprintf(stderr, "rdkafka_consume: metadata for %s: %s\n", topic_name,
                merr ? rd_kafka_err2str(merr)
                     : md->topic_cnt == 1 && md->topics[0].err ? rd_kafka_err2str(md->topics[0].err)
                                                                : "no such partition");
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(topic);
    if (!ok) {
        rd_kafka_queue_destroy(queue);
        rd_kafka_destroy(rk);
        return 2;
    }

    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, topic_name, (int32_t)partition)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    double start = now(), last = start;
    rd_kafka_resp_err_t aerr = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (aerr) {
        fprintf(stderr, "rdkafka_consume: assign: %s\n", rd_kafka_err2str(aerr));
        rd_kafka_queue_destroy(queue);
        rd_kafka_destroy(rk);
        return 2;
    }

    static rd_kafka_message_t *batch[BATCH_MESSAGES];
    uint64_t records = 0, bytes = 0;
    int status = 0;
    while (records < count && status == 0) {
        /* The call returns only when it has as many messages as asked for or the timeout passes, so
         * never ask for more than remain: the last batch then returns with the last record. */
        uint64_t want = count - records < BATCH_MESSAGES ? count - records : BATCH_MESSAGES;
        ssize_t n = rd_kafka_consume_batch_queue(queue, 1000, batch, (size_t)want);
        if (n < 0) {
            fprintf(stderr, "rdkafka_consume: %s\n", rd_kafka_err2str(rd_kafka_last_error()));
            status = 1;
            break;
        }
        for (ssize_t i = 0; i < n; i++) {
            rd_kafka_message_t *m = batch[i];
            if (m->err && status == 0) {
                fprintf(stderr, "rdkafka_consume: fetch %s[%" PRId32 "]: %s\n", topic_name,
                        m->partition, rd_kafka_message_errstr(m));
                status = 1;
            } else if (!m->err && records < count) {
                records++;
                bytes += m->key_len + m->len;
            }
            rd_kafka_message_destroy(m);
        }
        double t = now();
        if (n > 0) {
            last = t;
        } else if (t - last > IDLE_LIMIT_SECONDS) {
            fprintf(stderr, "rdkafka_consume: no record for %.0f s after %" PRIu64 " of %" PRIu64 "\n",
                    IDLE_LIMIT_SECONDS, records, count);
            status = 1;
        }
    }

    if (status == 0) {
        double seconds = last - start;
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        double user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
        double sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        printf("records=%" PRIu64 " bytes=%" PRIu64 " seconds=%.3f records_per_s=%.0f mb_per_s=%.2f "
               "cpu_user=%.3f cpu_sys=%.3f max_rss_kb=%ld\n",
               records, bytes, seconds, seconds > 0 ? (double)records / seconds : 0,
               seconds > 0 ? (double)bytes / seconds / 1e6 : 0, user, sys, ru.ru_maxrss);
    }
    rd_kafka_queue_destroy(queue);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return status;
}
