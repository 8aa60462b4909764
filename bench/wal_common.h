/* The WAL benchmarks' shared workload: entry bytes, region ids and keys, latency percentiles, usage. */
#ifndef KW_BENCH_WAL_COMMON_H
#define KW_BENCH_WAL_COMMON_H

/*
 * Header-only and free of libkwal, so the librdkafka peer (bench/peers/rdkafka_wal.c)
 * builds the very same records as bench/wal_append.c and bench/wal_replay.c:
 *
 *   - entry i belongs to region index i % REGIONS (round-robin over the regions);
 *     region index r has the GreptimeDB-looking id (1024 << 32) + r (table 1024,
 *     region number r) and writes to topic PREFIX_(r % TOPICS), partition 0;
 *   - entry i's bytes are SIZE bytes of the word pool starting at
 *     (i * 4099) % (POOL_BYTES - SIZE + 1): the pool is text-like words chosen by
 *     xorshift64, the scheme of bench/peers/rdkafka_produce.c, so LZ4 gains about
 *     2.5x as on real row data, and neighbouring entries share no bytes.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define WB_POOL_BYTES (1u << 20)
#define WB_REGION_BASE ((uint64_t)1024 << 32)

static inline uint64_t wb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void wb_fill_pool(char *pool, size_t len)
{
    static const char *const words[16] = {
        "kafka", "record", "batch", "offset", "partition", "leader", "replica", "segment",
        "append", "flush",  "epoch", "region", "metric",    "write",  "table",   "timestamp",
    };
    uint64_t x = 0x9E3779B97F4A7C15ull;
    size_t at = 0;
    while (at < len) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const char *w = words[x % 16];
        for (size_t k = 0; w[k] != '\0' && at < len; k++)
            pool[at++] = w[k];
        if (at < len)
            pool[at++] = ' ';
    }
}

static inline const char *wb_entry(const char *pool, uint64_t i, size_t size)
{
    return pool + (size_t)((i * 4099) % (WB_POOL_BYTES - size + 1));
}

static inline uint64_t wb_region_id(unsigned region_index)
{
    return WB_REGION_BASE + region_index;
}

/* GreptimeDB's record key for a whole entry ("Full"), as its remote WAL writes it. */
static inline int wb_greptimedb_key(char *buf, size_t cap, uint64_t region_id)
{
    return snprintf(buf, cap,
                    "{\"version\":0,\"tp\":\"Full\",\"entry_id\":0,"
                    "\"ns\":{\"region_id\":%" PRIu64 ",\"topic\":\"\"}}",
                    region_id);
}

/* Latencies in microseconds, one per entry; percentiles by sorting once at the end. */
static int wb_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static inline double wb_percentile_ms(uint32_t *us, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t at = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)us[at] / 1000.0;
}

/*
 * Writes the latency distribution of sorted us[0..n) to path: one "fraction latency_ms" line
 * per quantile (every 0.5 %, then 99.5, 99.9, 99.99 and 100 %), what bench/plot draws.
 */
static inline int wb_write_cdf(const char *path, uint32_t *us, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    static const double tail[] = {0.995, 0.999, 0.9999, 1.0};
    for (int i = 0; i < 204; i++) {
        double q = i < 200 ? i / 200.0 : tail[i - 200];
        fprintf(f, "%.4f %.3f\n", q, wb_percentile_ms(us, n, q));
    }
    return fclose(f) == 0 ? 0 : -1;
}

static inline void wb_sort(uint32_t *us, size_t n)
{
    qsort(us, n, sizeof(*us), wb_cmp_u32);
}

static inline uint32_t wb_us(uint64_t ns)
{
    uint64_t us = ns / 1000;
    return us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* CPU seconds (user, system) and peak RSS of the whole process, every thread included. */
static inline void wb_usage(double *user, double *sys, long *max_rss_kb)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    *max_rss_kb = ru.ru_maxrss;
}

static inline int wb_parse_u64(const char *prog, const char *s, const char *what, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end != '\0' || s[0] == '-') {
        fprintf(stderr, "%s: bad %s: %s\n", prog, what, s);
        return -1;
    }
    *out = v;
    return 0;
}

#endif /* KW_BENCH_WAL_COMMON_H */
