/* The codec benchmarks' shared parts: best-of-three MB/s timing, text-like input, and the table rows. */
#ifndef KW_BENCH_THROUGHPUT_H
#define KW_BENCH_THROUGHPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MIB ((size_t)1 << 20)
#define TOTAL (64 * MIB) /* bytes of input per workload */

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef void (*bench_fn)(void *ctx);

/* Best MB/s of `bytes` processed by fn over three runs of at least 0.2 s each. */
static inline double bench_measure(bench_fn fn, void *ctx, size_t bytes)
{
    double best = 0;
    for (int round = 0; round < 3; round++) {
        int reps = 0;
        double t0 = bench_now(), t;
        do {
            fn(ctx);
            reps++;
            t = bench_now() - t0;
        } while (t < 0.2);
        double mbs = (double)bytes * reps / t / 1e6;
        if (mbs > best)
            best = mbs;
    }
    return best;
}

/* memcpy of the same bytes: the yardstick every row is a ratio to. */
struct bench_copy {
    uint8_t *src, *dst;
    size_t n;
    volatile uint64_t sink; /* something the optimizer cannot drop */
};

static inline void bench_run_memcpy(void *p)
{
    struct bench_copy *c = p;
    memcpy(c->dst, c->src, c->n);
    c->sink += c->dst[c->n / 2];
}

/* Text-like values: a few words in random order, as log lines or WAL rows look. */
static inline void bench_fill_text(uint8_t *v, size_t n)
{
    static const char *words[] = {"cpu", "host=web-17", "region", "value=0.25", " ", "ts=",
                                  "1700000000", "ok", ",", "mem_used", "\n", "42"};
    uint64_t x = 88172645463325252ULL;
    size_t i = 0;
    while (i < n) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const char *w = words[x % 12];
        if (x % 5 == 0) /* some noise, so it is not all repeats */
            v[i++] = (uint8_t)(x >> 32);
        for (; *w && i < n; w++)
            v[i++] = (uint8_t)*w;
    }
}

static inline void bench_row(const char *name, double mbs, double base, const char *note)
{
    printf("%-34s %10.0f %8.2fx   %s\n", name, mbs, mbs / base, note);
}

#endif /* KW_BENCH_THROUGHPUT_H */
