/* WAL append benchmark: kwal's kafka provider, defaults or GreptimeDB-style, throughput and latency. */
/*
 *   wal_append -b BROKERS -t PREFIX -n COUNT [-s SIZE] [-r REGIONS] [-T TOPICS] [-j THREADS]
 *              [-w WINDOW] [--greptimedb] [--batch-bytes N] [--max-in-flight N]
 *              [--timeout-ms N] [--cdf FILE] [--no-warm-up] [--no-region-runs]
 *   wal_append -b BROKERS -t PREFIX [-T TOPICS] --topics-create | --topics-delete
 *
 * REGIONS regions (1000) are assigned round-robin to topics PREFIX_0 .. PREFIX_(TOPICS-1)
 * (64), as GreptimeDB's metasrv does; COUNT entries of SIZE bytes (1024) are appended
 * round-robin over the regions (the records of bench/wal_common.h) by THREADS threads (2),
 * each keeping at most WINDOW appends (4096) not yet durable: an open loop that measures
 * throughput; -w 1 is a closed loop (each thread waits for its append) that measures
 * latency without queueing.
 *
 * Settings:
 *   default        kwal's defaults: idempotent producer, 5 produce requests in flight per
 *                  topic, 1 MiB batches, kwal's binary record keys;
 *   --greptimedb   what GreptimeDB's remote WAL does: no idempotence (kwal then keeps one
 *                  produce in flight per topic), one Produce request per topic batch
 *                  (rskafka's way; kwal shares a request among topics), GreptimeDB's JSON record keys,
 *                  1 MiB batches (its max_batch_bytes default, "1MB").
 *   --ceiling      what kwal's defaults reach on this machine if
 *                  compressing cost nothing: each entry is sent uncompressed at the mean
 *                  size LZ4 gives the workload's SIZE-byte entries (plus the 9 bytes a
 *                  compressed entry's key adds), so the broker gets the bytes a default
 *                  run gives it; mb counts SIZE bytes per entry, comparable with the others.
 *   --batch-bytes and --max-in-flight override either (to see what each costs);
 *   --timeout-ms sets the produce deadline (kwal's default 3000; bench/wal passes 30000,
 *   librdkafka's request.timeout.ms, so a broker stalled by a busy machine slows a run
 *   instead of failing it).
 *
 * Latency: from the kw_wal_append call to the append's callback (the entry is durable:
 * acks=all acknowledged the batch holding it and every batch before it on the topic).
 * Throughput: the wall clock from the first append to the last callback.  Before the
 * clock starts one entry per topic is appended and waited for, so connections, metadata
 * and producer ids are in place (librdkafka's peer also warms up).  CPU is getrusage for
 * the timed part (every kwal thread included); --no-warm-up skips that step, so the timed run
 * pays for the first metadata, connections, producer ids and, on topics just created, the
 * wait for their partitions' leaders (what a host's first appends after a restart see); max_rss_kb is the process's peak (it
 * includes 12 bytes per entry of the benchmark's own latency arrays).
 *
 * --cdf FILE writes the latency distribution there (bench/wal_common.h's wb_write_cdf), for
 * bench/plot.
 *
 * Output, one line:
 *   entries=N mb=M seconds=S entries_per_s=E mb_per_s=R p50_ms=A p99_ms=B cpu_user=U
 *   cpu_sys=Y max_rss_kb=K batches=Q requests=P retries=X
 * Exit status: 0 when every append was durable, 1 when any failed, 2 on bad usage or setup.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>

#include <lz4.h>

#include "kwal/wal.h"
#include "wal_common.h"
#include "wal_topics.h"

typedef struct worker {
    pthread_t th;
    unsigned id;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    uint64_t outstanding;
    bool waiting;
} worker;

static struct {
    kw_wal *wal;
    const char *pool;
    uint64_t count;
    size_t size;        /* bytes appended per entry */
    size_t report_size; /* bytes counted per entry (SIZE; differs with --ceiling) */
    unsigned regions, threads;
    uint64_t window;
    uint64_t *start_ns;
    uint32_t *lat_us;
    worker *workers;
    uint64_t failed;  /* atomic */
    uint64_t last_ns; /* atomic: the latest callback */
    int first_err;
} g;

static void on_durable(void *arg, int err, uint64_t entry_id, const char *detail)
{
    uint64_t i = (uint64_t)(uintptr_t)arg;
    uint64_t now = wb_now_ns();
    (void)entry_id;
    g.lat_us[i] = wb_us(now - g.start_ns[i]);
    __atomic_store_n(&g.last_ns, now, __ATOMIC_RELAXED);
    if (err && __atomic_fetch_add(&g.failed, 1, __ATOMIC_RELAXED) == 0)
        g.first_err = err;
    worker *w = &g.workers[i % g.threads];
    pthread_mutex_lock(&w->mu);
    w->outstanding--;
    if (w->waiting)
        pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

static void *run_worker(void *arg)
{
    worker *w = arg;
    for (uint64_t i = w->id; i < g.count; i += g.threads) {
        pthread_mutex_lock(&w->mu);
        while (w->outstanding >= g.window) {
            w->waiting = true;
            pthread_cond_wait(&w->cond, &w->mu);
        }
        w->waiting = false;
        w->outstanding++;
        pthread_mutex_unlock(&w->mu);
        g.start_ns[i] = wb_now_ns();
        int rc = kw_wal_append(g.wal, wb_region_id((unsigned)(i % g.regions)),
                               wb_entry(g.pool, i, g.size), g.size, on_durable,
                               (void *)(uintptr_t)i);
        if (rc) {
            fprintf(stderr, "wal_append: append %" PRIu64 ": %s\n", i, kw_strerror(rc));
            on_durable((void *)(uintptr_t)i, rc, 0, kw_strerror(rc));
        }
    }
    pthread_mutex_lock(&w->mu);
    while (w->outstanding > 0) {
        w->waiting = true;
        pthread_cond_wait(&w->cond, &w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* The warm-up's appends, one per topic. */
typedef struct warm {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    unsigned done, failed;
    int err;
    char detail[256];
} warm;

static void on_warm(void *arg, int err, uint64_t entry_id, const char *detail)
{
    warm *w = arg;
    (void)entry_id;
    pthread_mutex_lock(&w->mu);
    w->done++;
    if (err && w->failed++ == 0) {
        w->err = err;
        snprintf(w->detail, sizeof w->detail, "%s", detail);
    }
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

/* The mean size LZ4 (as kwal calls it, one entry at a time) gives the first entries of the workload. */
static size_t lz4_mean_size(const char *pool, uint64_t count, size_t size)
{
    static char out[LZ4_COMPRESSBOUND(WB_POOL_BYTES / 2)];
    uint64_t n = count < 20000 ? count : 20000, total = 0;
    for (uint64_t i = 0; i < n; i++) {
        int k = LZ4_compress_default(wb_entry(pool, i, size), out, (int)size, (int)sizeof out);
        total += k > 0 && (size_t)k < size ? (uint64_t)k : size;
    }
    return (size_t)((total + n / 2) / n);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: wal_append -b BROKERS -t PREFIX -n COUNT [-s SIZE] [-r REGIONS] [-T TOPICS]\n"
            "                  [-j THREADS] [-w WINDOW] [--greptimedb] [--batch-bytes N]\n"
            "                  [--max-in-flight N] [--timeout-ms N] [--no-compression|--ceiling]\n"
            "                  [--cdf FILE] [--no-warm-up] [--no-region-runs]\n"
            "       wal_append -b BROKERS -t PREFIX [-T TOPICS] --topics-create|--topics-delete\n");
}

static void wal_log(void *arg, int level, const char *msg)
{
    static int verbose = -1;
    (void)arg;
    if (verbose < 0)
        verbose = getenv("KWAL_BENCH_LOG") != NULL; /* every level, for a run being studied */
    if (level <= KW_LOG_WARN || verbose)
        fprintf(stderr, "wal_append: kwal: %s\n", msg);
}

int main(int argc, char **argv)
{
    const char *brokers = NULL, *prefix = NULL;
    uint64_t count = 0, size = 1024, regions = 1000, topics = 64, threads = 2, window = 4096;
    uint64_t batch_bytes = 0;
    uint64_t timeout_ms = 0;
    bool greptimedb = false, create = false, delete = false;
    uint64_t max_in_flight = 0;
    bool no_compression = false, ceiling = false, warm_up = true, no_runs = false;
    const char *cdf = NULL;
    enum {
        OPT_GREPTIMEDB = 256,
        OPT_TIMEOUT,
        OPT_CREATE,
        OPT_DELETE,
        OPT_BATCH,
        OPT_IN_FLIGHT,
        OPT_NO_COMPRESSION,
        OPT_CEILING,
        OPT_CDF,
        OPT_NO_WARM_UP,
        OPT_NO_RUNS
    };
    static const struct option longopts[] = {
        {"greptimedb", no_argument, NULL, OPT_GREPTIMEDB},
        {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
        {"topics-create", no_argument, NULL, OPT_CREATE},
        {"topics-delete", no_argument, NULL, OPT_DELETE},
        {"batch-bytes", required_argument, NULL, OPT_BATCH},
        {"max-in-flight", required_argument, NULL, OPT_IN_FLIGHT},
        {"no-compression", no_argument, NULL, OPT_NO_COMPRESSION},
        {"ceiling", no_argument, NULL, OPT_CEILING},
        {"cdf", required_argument, NULL, OPT_CDF},
        {"no-warm-up", no_argument, NULL, OPT_NO_WARM_UP},
        {"no-region-runs", no_argument, NULL, OPT_NO_RUNS},
        {NULL, 0, NULL, 0},
    };
    int c, bad = 0;
    while ((c = getopt_long(argc, argv, "b:t:n:s:r:T:j:w:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'b': brokers = optarg; break;
        case 't': prefix = optarg; break;
        case 'n': bad |= wb_parse_u64("wal_append", optarg, "count", &count); break;
        case 's': bad |= wb_parse_u64("wal_append", optarg, "size", &size); break;
        case 'r': bad |= wb_parse_u64("wal_append", optarg, "regions", &regions); break;
        case 'T': bad |= wb_parse_u64("wal_append", optarg, "topics", &topics); break;
        case 'j': bad |= wb_parse_u64("wal_append", optarg, "threads", &threads); break;
        case 'w': bad |= wb_parse_u64("wal_append", optarg, "window", &window); break;
        case OPT_BATCH: bad |= wb_parse_u64("wal_append", optarg, "batch-bytes", &batch_bytes); break;
        case OPT_IN_FLIGHT:
            bad |= wb_parse_u64("wal_append", optarg, "max-in-flight", &max_in_flight);
            break;
        case OPT_TIMEOUT:
            bad |= wb_parse_u64("wal_append", optarg, "timeout-ms", &timeout_ms);
            break;
        case OPT_GREPTIMEDB: greptimedb = true; break;
        case OPT_NO_COMPRESSION: no_compression = true; break;
        case OPT_CEILING: ceiling = true; break;
        case OPT_CDF: cdf = optarg; break;
        case OPT_NO_WARM_UP: warm_up = false; break;
        case OPT_NO_RUNS: no_runs = true; break;
        case OPT_CREATE: create = true; break;
        case OPT_DELETE: delete = true; break;
        default: usage(); return 2;
        }
    }
    if (bad || !brokers || !prefix || optind != argc || topics == 0 || topics > 10000 ||
        (ceiling && (greptimedb || no_compression))) {
        usage();
        return 2;
    }
    if (create)
        return wb_topics_create(brokers, prefix, (unsigned)topics) == 0 ? 0 : 2;
    if (delete)
        return wb_topics_delete(brokers, prefix, (unsigned)topics) == 0 ? 0 : 2;
    if (count == 0 || size == 0 || size > WB_POOL_BYTES / 2 || regions < topics ||
        regions > 1000000 || threads == 0 || threads > 64 || window == 0) {
        usage();
        return 2;
    }

    static char pool[WB_POOL_BYTES];
    wb_fill_pool(pool, sizeof pool);
    g.pool = pool;
    g.count = count;
    g.size = g.report_size = (size_t)size;
    if (ceiling) {
        g.size = lz4_mean_size(pool, count, g.size) + 9;
        no_compression = true;
    }
    g.regions = (unsigned)regions;
    g.threads = (unsigned)threads;
    g.window = window;
    g.start_ns = calloc(count, sizeof(*g.start_ns));
    g.lat_us = calloc(count, sizeof(*g.lat_us));
    g.workers = calloc(threads, sizeof(*g.workers));
    if (!g.start_ns || !g.lat_us || !g.workers) {
        fprintf(stderr, "wal_append: out of memory\n");
        return 2;
    }

    kw_wal_options o = {.provider = KW_WAL_PROVIDER_KAFKA, .kafka.bootstrap = brokers,
                        .timeout_ms = (uint32_t)timeout_ms, .log = wal_log};
    if (greptimedb) {
        o.no_idempotence = true;
        o.no_coalesce = true; /* rskafka sends one partition per Produce request */
        o.max_in_flight = 1; /* what no_idempotence implies; said for the reader */
        o.record_format = KW_WAL_FORMAT_GREPTIMEDB;
        o.max_batch_bytes = 1u << 20; /* its "1MB" is a ReadableSize: 1 MiB, kwal's default too */
    }
    if (batch_bytes)
        o.max_batch_bytes = (size_t)batch_bytes;
    if (max_in_flight)
        o.max_in_flight = (uint32_t)max_in_flight;
    if (no_compression)
        o.compression = KW_WAL_COMPRESSION_NONE;
    o.no_region_runs = no_runs;
    char err[512] = "";
    if (kw_wal_open(&g.wal, &o, err, sizeof err) != 0) {
        fprintf(stderr, "wal_append: open: %s\n", err);
        return 2;
    }
    char topic[512];
    for (unsigned r = 0; r < regions; r++) {
        snprintf(topic, sizeof topic, "%s_%u", prefix, (unsigned)(r % topics));
        if (kw_wal_set_region_topic(g.wal, wb_region_id(r), topic) != 0) {
            fprintf(stderr, "wal_append: set_region_topic: %s\n", kw_wal_errstr(g.wal));
            return 2;
        }
    }
    /* Warm up: region r < TOPICS writes to topic r; one durable entry each, all at once (a
     * topic's first append waits for its metadata and producer id: one at a time, 1,024
     * topics took half a minute). */
    warm w0 = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    unsigned warm_n = warm_up ? (unsigned)topics : 0;
    for (unsigned r = 0; r < warm_n; r++) {
        int rc = kw_wal_append(g.wal, wb_region_id(r), pool, g.size, on_warm, &w0);
        if (rc) {
            fprintf(stderr, "wal_append: warm-up append to %s_%u: %s\n", prefix, r,
                    kw_strerror(rc));
            return 2;
        }
    }
    pthread_mutex_lock(&w0.mu);
    while (w0.done < warm_n)
        pthread_cond_wait(&w0.cond, &w0.mu);
    pthread_mutex_unlock(&w0.mu);
    if (w0.err) {
        fprintf(stderr, "wal_append: warm-up: %u of %u appends failed, first: %s\n", w0.failed,
                (unsigned)topics, w0.detail);
        return 2;
    }
    kw_wal_stats s0, s1;
    kw_wal_stats_get(g.wal, &s0);

    double user0, sys0, user1, sys1;
    long rss;
    wb_usage(&user0, &sys0, &rss);
    uint64_t start = wb_now_ns();
    for (unsigned t = 0; t < threads; t++) {
        worker *w = &g.workers[t];
        w->id = t;
        pthread_mutex_init(&w->mu, NULL);
        pthread_cond_init(&w->cond, NULL);
        if (pthread_create(&w->th, NULL, run_worker, w) != 0) {
            fprintf(stderr, "wal_append: cannot start a thread\n");
            return 2;
        }
    }
    for (unsigned t = 0; t < threads; t++)
        pthread_join(g.workers[t].th, NULL);
    uint64_t end = __atomic_load_n(&g.last_ns, __ATOMIC_RELAXED);
    wb_usage(&user1, &sys1, &rss);
    kw_wal_stats_get(g.wal, &s1);

    double seconds = (double)(end - start) / 1e9;
    uint64_t failed = __atomic_load_n(&g.failed, __ATOMIC_RELAXED);
    uint64_t ok = count - failed;
    double mb = (double)ok * (double)g.report_size / 1e6;
    wb_sort(g.lat_us, count);
    if (cdf && wb_write_cdf(cdf, g.lat_us, count) != 0)
        fprintf(stderr, "wal_append: cannot write %s\n", cdf);
    printf("entries=%" PRIu64 " mb=%.1f seconds=%.3f entries_per_s=%.0f mb_per_s=%.2f "
           "p50_ms=%.2f p99_ms=%.2f cpu_user=%.2f cpu_sys=%.2f max_rss_kb=%ld batches=%" PRIu64
           " requests=%" PRIu64 " retries=%" PRIu64 "\n",
           ok, mb, seconds, seconds > 0 ? (double)ok / seconds : 0, seconds > 0 ? mb / seconds : 0,
           wb_percentile_ms(g.lat_us, count, 0.50), wb_percentile_ms(g.lat_us, count, 0.99),
           user1 - user0, sys1 - sys0, rss, s1.batches - s0.batches, s1.requests - s0.requests,
           s1.retries - s0.retries);
    if (failed)
        fprintf(stderr, "wal_append: %" PRIu64 " of %" PRIu64 " appends failed, first: %s\n",
                failed, count, kw_strerror(g.first_err));
    kw_wal_close(g.wal);
    free(g.start_ns);
    free(g.lat_us);
    free(g.workers);
    return failed ? 1 : 0;
}
