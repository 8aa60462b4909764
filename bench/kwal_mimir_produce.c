/* The kwal side of bench/mimir's produce rows: the producer configured as Mimir configures franz-go, records round robin over the partitions. */
/*
 *   kwal_mimir_produce -b BROKERS -t TOPIC -n COUNT -s SIZE [-P PARTITIONS]
 *
 * The twin of `franz mimir-produce` (bench/peers/franz/mimir.go): COUNT records of SIZE bytes (at
 * most 16 MiB) cut from the same 32 MiB text-like pool (bench/peers/franz/produce.go's words), record
 * i to partition i % PARTITIONS (default 8), one kw_producer_send each (the value copied by the
 * producer), with Mimir's writer options: acks=all, not idempotent, linger 50 ms, 20 requests in
 * flight, batches up to 16,000,000 bytes, a 1 GiB buffer, snappy.  One untimed record per
 * partition first (leaders, connections); the clock runs from the first send to the last delivery.
 * One result line, bench/clients.sh's format; CPU and peak RSS are getrusage of the whole process.
 * Exit status: 0 every record acknowledged, 1 some failed, 2 bad usage or setup.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "kwal/client.h"
#include "kwal/producer.h"

#define POOL_BYTES (32u << 20)
#define MAX_RECORD (16u << 20)
#define BATCH_BYTES 16000000u

static const char *const WORDS[16] = {
    "kafka", "record", "batch", "offset", "partition", "leader", "replica", "segment",
    "append", "flush",  "epoch", "region", "metric",    "write",  "table",   "timestamp",
};

/* Written by the delivery callbacks (the client's I/O thread), read after the final flush. */
struct run {
    atomic_uint_fast64_t delivered, failed;
    double last; /* when the latest delivery ran */
    char first_error[512];
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* produce.go's fillPool: words picked by xorshift64 (13/7/17) modulo 16, a space after each. */
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

static void on_delivery(const kw_producer_delivery *d, void *arg)
{
    struct run *run = arg;
    run->last = now(); /* records are large: one clock read each costs nothing next to them */
    if (d->err == 0) {
        atomic_fetch_add(&run->delivered, 1);
    } else if (atomic_fetch_add(&run->failed, 1) == 0) {
        snprintf(run->first_error, sizeof run->first_error, "%s (%s)", kw_strerror(d->err),
                 d->detail);
    }
}

static void warmup_done(const kw_producer_delivery *d, void *arg)
{
    atomic_int *w = arg;
    atomic_store(w, d->err ? d->err : 1);
}

static int usage(void)
{
    fprintf(stderr,
            "usage: kwal_mimir_produce -b BROKERS -t TOPIC -n COUNT -s SIZE [-P PARTITIONS]\n");
    return 2;
}

static bool parse(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    const char *brokers = NULL, *topic = NULL;
    uint64_t count = 0, size = 0, parts = 8;
    int opt;
    while ((opt = getopt(argc, argv, "b:t:n:s:P:")) != -1) {
        switch (opt) {
        case 'b': brokers = optarg; break;
        case 't': topic = optarg; break;
        case 'n':
            if (!parse(optarg, 1, UINT32_MAX, &count))
                return usage();
            break;
        case 's':
            if (!parse(optarg, 1, MAX_RECORD, &size))
                return usage();
            break;
        case 'P':
            if (!parse(optarg, 1, 1024, &parts))
                return usage();
            break;
        default: return usage();
        }
    }
    if (!brokers || !topic || !count || !size || optind != argc)
        return usage();
    char *pool = malloc(POOL_BYTES);
    if (!pool)
        return 2;
    fill_pool(pool, POOL_BYTES);
    kw_client_options co = {.bootstrap = brokers, .client_id = "kwal_mimir_produce"};
    char err[512] = "";
    kw_client *cl;
    if (kw_client_new(&cl, &co, err, sizeof err) != 0) {
        fprintf(stderr, "kwal_mimir_produce: %s\n", err);
        free(pool);
        return 2;
    }
    kw_producer_options po = {
        .acks = KW_CLIENT_ACKS_ALL,
        .idempotence = KW_PRODUCER_IDEMPOTENCE_OFF,
        .linger_ms = 50,
        .max_in_flight = 20,
        .batch_bytes = BATCH_BYTES - 8192, /* the compressed batch with its framing fits */
        .buffer_bytes = 1ull << 30,
        .compression = KW_COMPRESSION_SNAPPY,
    };
    kw_producer *p;
    if (kw_producer_new(&p, cl, &po, err, sizeof err) != 0) {
        fprintf(stderr, "kwal_mimir_produce: %s\n", err);
        kw_client_destroy(cl);
        free(pool);
        return 2;
    }
    atomic_int warm[1024];
    for (uint64_t i = 0; i < parts; i++) {
        atomic_init(&warm[i], 0);
        kw_producer_record wr = {.topic = topic, .partition = (int32_t)i, .value = "warm-up",
                                 .value_len = 7};
        if (kw_producer_send(p, &wr, warmup_done, &warm[i]) != 0)
            atomic_store(&warm[i], KW_EINVAL);
    }
    kw_producer_flush(p, 30000);
    for (uint64_t i = 0; i < parts; i++)
        if (atomic_load(&warm[i]) != 1) {
            fprintf(stderr, "kwal_mimir_produce: warm-up record to %s/%" PRIu64 ": %s\n", topic, i,
                    kw_strerror(atomic_load(&warm[i])));
            kw_producer_destroy(p);
            kw_client_destroy(cl);
            free(pool);
            return 2;
        }

    struct run run = {.first_error = ""};
    size_t span = POOL_BYTES - (size_t)size + 1;
    int rc = 0;
    uint64_t i = 0;
    double start = now();
    run.last = start;
    for (; i < count; i++) {
        kw_producer_record rec = {.topic = topic,
                                  .partition = (int32_t)(i % parts),
                                  .value = pool + (size_t)((i * 4099) % span),
                                  .value_len = (size_t)size};
        while ((rc = kw_producer_send(p, &rec, on_delivery, &run)) == KW_EFULL)
            kw_producer_wait_room(p, (size_t)size + 64, 1000);
        if (rc)
            break;
    }
    kw_producer_flush(p, -1);
    uint64_t delivered = atomic_load(&run.delivered), failed = atomic_load(&run.failed);
    double seconds = run.last - start;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    double sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    uint64_t bytes = delivered * size;
    printf("records=%" PRIu64 " bytes=%" PRIu64 " seconds=%.3f records_per_s=%.0f mb_per_s=%.2f "
           "cpu_user=%.3f cpu_sys=%.3f max_rss_kb=%ld\n",
           delivered, bytes, seconds, seconds > 0 ? (double)delivered / seconds : 0.0,
           seconds > 0 ? (double)bytes / seconds / 1e6 : 0.0, user, sys, ru.ru_maxrss);
    if (rc) {
        kw_producer_last_error(p, err, sizeof err);
        fprintf(stderr, "kwal_mimir_produce: stopped after %" PRIu64 " records: %s\n", i, err);
    }
    if (failed || delivered != count)
        fprintf(stderr, "kwal_mimir_produce: %" PRIu64 " of %" PRIu64 " records failed, first: %s\n",
                count - delivered, count, run.first_error[0] ? run.first_error : "not sent");
    kw_producer_destroy(p);
    kw_client_destroy(cl);
    free(pool);
    return delivered == count ? 0 : 1;
}
