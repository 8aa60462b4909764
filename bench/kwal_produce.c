/* Produce benchmark, kwal's side: COUNT records of SIZE bytes to partition 0, one result line. */
/*
 * The twin of bench/peers/rdkafka_produce.c: the same command line, the same record bytes and the
 * same result line, so bench/produce can run the two alternately against one broker and compare
 * them.
 *
 *   kwal_produce -b BROKERS -t TOPIC -n COUNT -s SIZE -z none|lz4 [--acks all|1|0]
 *                [--linger-ms N] [--batch-bytes N] [--window N] [--queue-kbytes N]
 *
 * How it produces: this thread builds RecordBatch v2 batches straight from the record pool with
 * the batch builder (records are added until the next one would take the batch past --batch-bytes
 * uncompressed bytes, as librdkafka's batch.size counts; default 1,000,000), compresses them at
 * finish, and hands each one to kw_client_produce_async with KW_CLIENT_PRODUCE_TAKE_BATCH (no
 * copy).  At most --window produce calls (default 8) are outstanding: the next batch is built
 * while they are in flight, then waits for a slot.  --queue-kbytes, when given, lowers the window
 * so that window x batch-bytes fits in it (the memory bound librdkafka's
 * queue.buffering.max.kbytes gives the peer).  --linger-ms is accepted for the shared command line
 * but has nothing to do here: every record exists up front, so no batch waits. Each batch carries
 * one timestamp (the clock when its building started); librdkafka stamps every record, but its
 * deltas of a few ms take the same one varint byte.
 *
 * Record content, timing and CPU: exactly as in rdkafka_produce.c (see there).  The connection and
 * the partition's leader are set up before the clock starts (a ListOffsets call); the wall clock
 * runs from building the first batch to the last acknowledgement.  CPU seconds and peak RSS are
 * getrusage for the whole process, the client's I/O thread included.
 *
 * Exit status: 0 when every record was acknowledged, 1 when any failed, 2 on bad usage or setup.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "kwal/client.h"
#include "proto/batch.h"

#define POOL_BYTES (1u << 20)
#define MAX_RECORD_BYTES (POOL_BYTES / 2)
#define MAX_WINDOW 1024u

static const char *const WORDS[16] = {
    "kafka", "record", "batch", "offset", "partition", "leader", "replica", "segment",
    "append", "flush",  "epoch", "region", "metric",    "write",  "table",   "timestamp",
};

/* Shared by this thread and the client's I/O thread (the acks arrive there). */
struct run {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned outstanding; /* produce calls not yet acknowledged */
    uint64_t delivered;   /* records in acknowledged batches */
    uint64_t failed;      /* records in failed batches */
    double last_ack;      /* CLOCK_MONOTONIC seconds of the latest acknowledgement */
    char first_error[KW_CLIENT_DETAIL_MAX + 64];
};

/* One per produce call: how many records its batch holds. */
struct ticket {
    struct run *run;
    uint32_t records;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

/* Runs on the client's I/O thread. */
static void on_ack(const kw_client_produce_result *r, void *arg)
{
    struct ticket *t = arg;
    struct run *run = t->run;
    double at = now();
    pthread_mutex_lock(&run->mu);
    run->last_ack = at;
    if (r->err == 0) {
        run->delivered += t->records;
    } else {
        if (run->failed == 0)
            snprintf(run->first_error, sizeof run->first_error, "%.40s (%s)",
                     kw_strerror(r->err), r->detail);
        run->failed += t->records;
    }
    run->outstanding--;
    pthread_cond_signal(&run->cv);
    pthread_mutex_unlock(&run->mu);
    free(t);
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
    fprintf(stderr, "usage: kwal_produce -b BROKERS -t TOPIC -n COUNT -s SIZE -z none|lz4\n"
                    "                    [--acks all|1|0] [--linger-ms N] [--batch-bytes N]\n"
                    "                    [--window N] [--queue-kbytes N]\n");
}

int main(int argc, char **argv)
{
    const char *brokers = NULL, *topic = NULL, *codec_name = NULL, *acks_name = "all";
    uint64_t count = 0, size = 0, linger_ms = 5, batch_bytes = 1000000, window = 8,
             queue_kbytes = 0;
    int have_count = 0, have_size = 0;
    enum { OPT_ACKS = 256, OPT_LINGER, OPT_BATCH, OPT_WINDOW, OPT_QUEUE };
    static const struct option longopts[] = {
        {"acks", required_argument, NULL, OPT_ACKS},
        {"linger-ms", required_argument, NULL, OPT_LINGER},
        {"batch-bytes", required_argument, NULL, OPT_BATCH},
        {"window", required_argument, NULL, OPT_WINDOW},
        {"queue-kbytes", required_argument, NULL, OPT_QUEUE},
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
        case OPT_WINDOW: num = &window, what = "window"; break;
        case OPT_QUEUE: num = &queue_kbytes, what = "queue-kbytes"; break;
        default: usage(); return 2;
        }
        if (num && parse_u64(optarg, what, num) < 0)
            return 2;
    }
    (void)linger_ms;
    if (!brokers || !topic || !codec_name || !have_count || !have_size || optind != argc) {
        usage();
        return 2;
    }
    int codec;
    if (strcmp(codec_name, "none") == 0)
        codec = KW_CODEC_NONE;
    else if (strcmp(codec_name, "lz4") == 0)
        codec = KW_CODEC_LZ4;
    else {
        fprintf(stderr, "kwal_produce: -z must be none or lz4\n");
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
    if (queue_kbytes && window > queue_kbytes * 1024 / batch_bytes)
        window = queue_kbytes * 1024 / batch_bytes;
    if (window < 1)
        window = 1;
    if (window > MAX_WINDOW)
        window = MAX_WINDOW;

    char *pool = malloc(POOL_BYTES);
    if (!pool) {
        fprintf(stderr, "kwal_produce: out of memory\n");
        return 2;
    }
    fill_pool(pool, POOL_BYTES);

    /* The client's in-flight limit is not what bounds this run: the window is. */
    kw_client_options opt = {.bootstrap = brokers, .client_id = "kwal_produce",
                             .max_in_flight = (uint32_t)window};
    char err[512] = "";
    kw_client *cl;
    if (kw_client_new(&cl, &opt, err, sizeof err) != 0) {
        fprintf(stderr, "kwal_produce: kw_client_new: %s\n", err);
        free(pool);
        return 2;
    }
    /* Connect and learn the partition leader before the clock starts. */
    kw_client_list_offsets_args lo = {.topic = topic, .partition = 0,
                                      .spec = KW_CLIENT_OFFSET_LATEST, .timeout_ms = 10000};
    kw_client_list_offsets_result lr;
    if (kw_client_list_offsets(cl, &lo, &lr) != 0) {
        fprintf(stderr, "kwal_produce: partition 0 of %s: %s\n", topic, lr.detail);
        kw_client_destroy(cl);
        free(pool);
        return 2;
    }

    struct run run = {.first_error = ""};
    pthread_mutex_init(&run.mu, NULL);
    pthread_cond_init(&run.cv, NULL);
    /* Room for the uncompressed records plus what the compressor needs beside them, so the
     * writer never grows while a batch is built. */
    size_t cap = (size_t)batch_bytes + size + 64;
    if (codec != KW_CODEC_NONE)
        cap += kw__compress_bound(codec, cap);
    kw_batch_opts bopts = {.codec = codec};
    size_t span = POOL_BYTES - (size_t)size + 1;
    uint64_t i = 0, batches = 0;
    int rc = 0;

    double start = now();
    run.last_ack = start;
    while (i < count && rc == 0) {
        kw_wr w = {.buf = malloc(cap), .cap = cap};
        struct ticket *t = malloc(sizeof *t);
        if (!w.buf || !t) {
            free(w.buf);
            free(t);
            rc = KW_ENOMEM;
            break;
        }
        kw_batch_builder b;
        kw__batch_begin(&b, &w, &bopts);
        int64_t ts = wall_ms();
        do {
            kw_bytes value = {(const uint8_t *)pool + (size_t)((i * 4099) % span), (int32_t)size};
            if (b.count > 0 &&
                kw__batch_size(&b) + kw__batch_record_size(&b, ts, KW_BYTES_NULL, value, NULL, 0) >
                    batch_bytes)
                break;
            if (kw__batch_add(&b, ts, KW_BYTES_NULL, value, NULL, 0) != 0)
                break;
            i++;
        } while (i < count);
        rc = kw__batch_finish(&b);
        if (rc) {
            free(w.buf);
            free(t);
            break;
        }
        t->run = &run;
        t->records = (uint32_t)b.count;

        pthread_mutex_lock(&run.mu);
        while (run.outstanding >= window)
            pthread_cond_wait(&run.cv, &run.mu);
        run.outstanding++;
        pthread_mutex_unlock(&run.mu);

        kw_client_produce_args pa = {.topic = topic, .partition = 0, .batch = w.buf,
                                     .batch_len = w.len, .acks = acks,
                                     .flags = KW_CLIENT_PRODUCE_TAKE_BATCH};
        rc = kw_client_produce_async(cl, &pa, on_ack, t); /* the batch is the client's now */
        if (rc) {
            pthread_mutex_lock(&run.mu);
            run.outstanding--;
            pthread_mutex_unlock(&run.mu);
            free(t);
        }
        batches++;
    }
    pthread_mutex_lock(&run.mu);
    while (run.outstanding > 0)
        pthread_cond_wait(&run.cv, &run.mu);
    pthread_mutex_unlock(&run.mu);
    double seconds = run.last_ack - start;

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    double sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    uint64_t bytes = run.delivered * size;
    double rps = seconds > 0 ? (double)run.delivered / seconds : 0;
    double mbps = seconds > 0 ? (double)bytes / seconds / 1e6 : 0;
    printf("records=%" PRIu64 " bytes=%" PRIu64 " seconds=%.3f records_per_s=%.0f mb_per_s=%.2f "
           "cpu_user=%.3f cpu_sys=%.3f max_rss_kb=%ld\n",
           run.delivered, bytes, seconds, rps, mbps, user, sys, ru.ru_maxrss);
    fprintf(stderr, "kwal_produce: %" PRIu64 " batches, window %" PRIu64 "\n", batches, window);
    uint64_t missing = count - run.delivered - run.failed;
    if (rc)
        fprintf(stderr, "kwal_produce: stopped after %" PRIu64 " records: %s\n", i,
                kw_strerror(rc));
    if (run.failed || missing)
        fprintf(stderr, "kwal_produce: %" PRIu64 " of %" PRIu64 " records failed, first: %s\n",
                run.failed + missing, count, run.first_error[0] ? run.first_error : "not sent");

    kw_client_destroy(cl);
    pthread_cond_destroy(&run.cv);
    pthread_mutex_destroy(&run.mu);
    free(pool);
    return run.failed || missing ? 1 : 0;
}
