/* Produce benchmark, kwal's side: records through kw_producer to partition 0, one result line. */
/*
 * The twin of bench/peers/rdkafka_produce.c: the same command line, the same record bytes and the
 * same result line, so bench/produce can run the two alternately against one broker and compare
 * them.
 *
 *   kwal_produce -b BROKERS -t TOPIC -n COUNT -s SIZE -z none|lz4|snappy|zstd|gzip
 *                [--acks all|1|0] [--linger-ms N] [--batch-bytes N] [--idempotence]
 *                [--queue-kbytes N] [--window N (accepted, ignored)]
 *
 * How it produces: one kw_producer_send per record, the value copied by the producer (what
 * rd_kafka_produce with RD_KAFKA_MSG_F_COPY does), no key, no headers, each record with its own
 * timestamp.  --linger-ms, --batch-bytes and --acks map to the producer's options of the same
 * meaning; --queue-kbytes to buffer_bytes (default 2097151 KiB, as the peer's); when the buffer is
 * full (KW_EFULL) this thread waits in kw_producer_wait_room for the room of a record, as the peer
 * polls on QUEUE_FULL.  Idempotence is on only with --idempotence, as for the peer.  --window belonged to
 * the batch-level version of this bench and is ignored.
 *
 * Record content, timing and CPU: exactly as in rdkafka_produce.c (see there).  The connection and
 * the partition's metadata are set up before the clock starts (a ListOffsets call and one record
 * sent and flushed, not counted); the wall clock runs from the first send to the last delivery
 * callback.  CPU seconds and peak RSS are getrusage for the whole process, the client's I/O thread
 * included.
 *
 * Exit status: 0 when every record was acknowledged, 1 when any failed, 2 on bad usage or setup.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "kwal/client.h"
#include "kwal/producer.h"

#define POOL_BYTES (1u << 20)
#define MAX_RECORD_BYTES (POOL_BYTES / 2)

static const char *const WORDS[16] = {
    "kafka", "record", "batch", "offset", "partition", "leader", "replica", "segment",
    "append", "flush",  "epoch", "region", "metric",    "write",  "table",   "timestamp",
};

/* Written by the producer's callbacks, which run on the client's I/O thread only. */
struct run {
    atomic_uint_fast64_t delivered;
    atomic_uint_fast64_t failed;
    double last_report; /* read after the final flush, which orders it */
    char first_error[512];
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The same pool as rdkafka_produce.c builds: words chosen by xorshift64, one space after each. */
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

/* Runs on the client's I/O thread, once per record. */
static void on_delivery(const kw_producer_delivery *d, void *arg)
{
    struct run *run = arg;
    if (d->err == 0) {
        /* one clock read per 1024 records and at the end keeps the callback cheap */
        uint64_t n = atomic_fetch_add_explicit(&run->delivered, 1, memory_order_relaxed) + 1;
        if ((n & 1023) == 0)
            run->last_report = now();
        return;
    }
    if (atomic_fetch_add(&run->failed, 1) == 0)
        snprintf(run->first_error, sizeof run->first_error, "%s (%s)", kw_strerror(d->err),
                 d->detail);
}

static void warmup_done(const kw_producer_delivery *d, void *arg)
{
    *(int *)arg = d->err ? d->err : 1;
}

static int parse_u64(const char *s, const char *what, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-') {
        fprintf(stderr, "kwal_produce: bad %s: %s\n", what, s);
        return -1;
    }
    *out = v;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: kwal_produce -b BROKERS -t TOPIC -n COUNT -s SIZE "
                    "-z none|lz4|snappy|zstd|gzip\n"
                    "                    [--acks all|1|0] [--linger-ms N] [--batch-bytes N]"
                    " [--idempotence]\n"
                    "                    [--queue-kbytes N] [--window N]\n");
}

static int codec_of(const char *s)
{
    static const char *const names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0)
            return i; /* enum kw_compression has Kafka's numbers, in this order */
    return -1;
}

int main(int argc, char **argv)
{
    const char *brokers = NULL, *topic = NULL, *codec_name = NULL, *acks_name = "all";
    uint64_t count = 0, size = 0, linger_ms = 5, batch_bytes = 1000000, queue_kbytes = 2097151,
             ignored = 0;
    int have_count = 0, have_size = 0, idempotence = 0;
    enum { OPT_ACKS = 256, OPT_LINGER, OPT_BATCH, OPT_WINDOW, OPT_QUEUE, OPT_IDEMPOTENCE };
    static const struct option longopts[] = {
        {"acks", required_argument, NULL, OPT_ACKS},
        {"linger-ms", required_argument, NULL, OPT_LINGER},
        {"batch-bytes", required_argument, NULL, OPT_BATCH},
        {"window", required_argument, NULL, OPT_WINDOW},
        {"queue-kbytes", required_argument, NULL, OPT_QUEUE},
        {"idempotence", no_argument, NULL, OPT_IDEMPOTENCE},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "b:t:n:s:z:h", longopts, NULL)) != -1) {
        uint64_t *num = NULL;
        const char *what = NULL;
        switch (c) {
        case 'b': brokers = optarg; break;
        case 't': topic = optarg; break;
        case 'z': codec_name = optarg; break;
        case 'n': num = &count, what = "count", have_count = 1; break;
        case 's': num = &size, what = "size", have_size = 1; break;
        case OPT_ACKS: acks_name = optarg; break;
        case OPT_LINGER: num = &linger_ms, what = "linger-ms"; break;
        case OPT_BATCH: num = &batch_bytes, what = "batch-bytes"; break;
        case OPT_WINDOW: num = &ignored, what = "window"; break;
        case OPT_QUEUE: num = &queue_kbytes, what = "queue-kbytes"; break;
        case OPT_IDEMPOTENCE: idempotence = 1; break;
        default: usage(); return 2;
        }
        if (num && parse_u64(optarg, what, num) < 0)
            return 2;
    }
    if (!brokers || !topic || !codec_name || !have_count || !have_size || optind != argc) {
        usage();
        return 2;
    }
    int codec = codec_of(codec_name);
    if (codec < 0) {
        fprintf(stderr, "kwal_produce: -z must be none, lz4, snappy, zstd or gzip\n");
        return 2;
    }
    int acks;
    if (strcmp(acks_name, "all") == 0 || strcmp(acks_name, "-1") == 0)
        acks = KW_CLIENT_ACKS_ALL;
    else if (strcmp(acks_name, "1") == 0)
        acks = KW_CLIENT_ACKS_LEADER;
    else if (strcmp(acks_name, "0") == 0)
        acks = KW_CLIENT_ACKS_NONE;
    else {
        fprintf(stderr, "kwal_produce: --acks must be all, 1 or 0\n");
        return 2;
    }
    if (size > MAX_RECORD_BYTES) {
        fprintf(stderr, "kwal_produce: -s at most %u\n", MAX_RECORD_BYTES);
        return 2;
    }
    if (batch_bytes < 1024 || batch_bytes > (64u << 20)) {
        fprintf(stderr, "kwal_produce: --batch-bytes between 1024 and %u\n", 64u << 20);
        return 2;
    }

    char *pool = malloc(POOL_BYTES);
    if (!pool) {
        fprintf(stderr, "kwal_produce: out of memory\n");
        return 2;
    }
    fill_pool(pool, POOL_BYTES);

    kw_client_options opt = {.bootstrap = brokers, .client_id = "kwal_produce"};
    char err[512] = "";
    kw_client *cl;
    if (kw_client_new(&cl, &opt, err, sizeof err) != 0) {
        fprintf(stderr, "kwal_produce: kw_client_new: %s\n", err);
        free(pool);
        return 2;
    }
    kw_producer_options po = {
        .acks = acks,
        .idempotence = idempotence ? KW_PRODUCER_IDEMPOTENCE_ON : KW_PRODUCER_IDEMPOTENCE_OFF,
        .linger_ms = linger_ms ? (int32_t)linger_ms : KW_PRODUCER_LINGER_NONE,
        .batch_bytes = (uint32_t)batch_bytes,
        .compression = codec,
        .buffer_bytes = queue_kbytes * 1024,
    };
    kw_producer *p;
    if (kw_producer_new(&p, cl, &po, err, sizeof err) != 0) {
        fprintf(stderr, "kwal_produce: kw_producer_new: %s\n", err);
        kw_client_destroy(cl);
        free(pool);
        return 2;
    }
    /* Connect, learn the partition's leader (and the producer id) before the clock starts. */
    int warm = 0;
    kw_producer_record wr = {.topic = topic, .partition = 0, .value = "warmup", .value_len = 6};
    if (kw_producer_send(p, &wr, warmup_done, &warm) != 0 || kw_producer_flush(p, 30000) != 0 ||
        warm != 1) {
        kw_producer_last_error(p, err, sizeof err);
        fprintf(stderr, "kwal_produce: warm-up record to %s/0: %s\n", topic,
                warm < 0 ? kw_strerror(warm) : err);
        kw_producer_destroy(p);
        kw_client_destroy(cl);
        free(pool);
        return 2;
    }

    struct run run = {.first_error = ""};
    size_t span = POOL_BYTES - (size_t)size + 1;
    kw_producer_record rec = {.topic = topic, .partition = 0, .value_len = (size_t)size};
    int rc = 0;
    uint64_t i = 0, full = 0;
    double start = now();
    run.last_report = start;
    for (; i < count; i++) {
        rec.value = pool + (size_t)((i * 4099) % span);
        while ((rc = kw_producer_send(p, &rec, on_delivery, &run)) == KW_EFULL) {
            full++;
            kw_producer_wait_room(p, (size_t)size + 64, 1000);
        }
        if (rc)
            break;
    }
    kw_producer_flush(p, -1);
    double end = now();
    uint64_t delivered = atomic_load(&run.delivered), failed = atomic_load(&run.failed);
    /* the last callback ran before flush returned; its clock read is at most 1023 records old */
    double seconds = (delivered & 1023) ? end - start : run.last_report - start;

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    double sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    uint64_t bytes = delivered * size;
    double rps = seconds > 0 ? (double)delivered / seconds : 0;
    double mbps = seconds > 0 ? (double)bytes / seconds / 1e6 : 0;
    printf("records=%" PRIu64 " bytes=%" PRIu64 " seconds=%.3f records_per_s=%.0f mb_per_s=%.2f "
           "cpu_user=%.3f cpu_sys=%.3f max_rss_kb=%ld\n",
           delivered, bytes, seconds, rps, mbps, user, sys, ru.ru_maxrss);
    if (full)
        fprintf(stderr, "kwal_produce: the buffer was full %" PRIu64 " times\n", full);
    if (rc) {
        kw_producer_last_error(p, err, sizeof err);
        fprintf(stderr, "kwal_produce: stopped after %" PRIu64 " records: %s\n", i, err);
    }
    uint64_t missing = count - delivered - failed;
    if (failed || missing)
        fprintf(stderr, "kwal_produce: %" PRIu64 " of %" PRIu64 " records failed, first: %s\n",
                failed + missing, count, run.first_error[0] ? run.first_error : "not sent");

    kw_producer_destroy(p);
    kw_client_destroy(cl);
    free(pool);
    return failed || missing ? 1 : 0;
}
