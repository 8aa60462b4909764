/* CRC-32C benchmark: MB/s of each of kwal's internal CRC-32C paths, as ratios to memcpy. */
#include <stdlib.h>

#include "proto/crc32c.h"
#include "throughput.h"

/*
 * kwal picks the fastest CRC-32C path at run time; this compares the paths
 * themselves, which only the internal view can call one by one.  A host sees
 * the chosen one in bench_codec's batch rows.
 */
static void run_crc_hw(void *p)
{
    struct bench_copy *c = p;
    c->sink += kw__crc32c_hw(0, c->src, c->n);
}

static void run_crc_hw1(void *p)
{
    struct bench_copy *c = p;
    c->sink += kw__crc32c_hw1(0, c->src, c->n);
}

static void run_crc_sw(void *p)
{
    struct bench_copy *c = p;
    c->sink += kw__crc32c_sw(0, c->src, c->n);
}

int main(void)
{
    struct bench_copy bc = {malloc(TOTAL), malloc(TOTAL), TOTAL, 0};
    if (!bc.src || !bc.dst)
        return 1;
    bench_fill_text(bc.src, TOTAL);
    memset(bc.dst, 1, TOTAL);

    double mcpy = bench_measure(bench_run_memcpy, &bc, TOTAL);
    printf("kwal crc32c bench: %zu MiB buffers\n", TOTAL / MIB);
    printf("%-34s %10s %9s   %s\n", "workload", "MB/s", "/memcpy", "");
    bench_row("memcpy", mcpy, mcpy, "");
    if (kw__crc32c_hw_available())
        bench_row("crc32c hw (sse4.2 3-way + pclmul)", bench_measure(run_crc_hw, &bc, TOTAL), mcpy,
                  "");
    if (kw__crc32c_hw1_available())
        bench_row("crc32c hw (sse4.2 one stream)", bench_measure(run_crc_hw1, &bc, TOTAL), mcpy,
                  "");
    bench_row("crc32c sw (slice-by-8)", bench_measure(run_crc_sw, &bc, TOTAL), mcpy, "");

    /* The same over 256 KiB that stays in cache: what the instructions can do
     * when memory is not the limit (a fetch response just read is in cache). */
    struct bench_copy small = {bc.src, bc.dst, 256 * 1024, 0};
    double mcpy_small = bench_measure(bench_run_memcpy, &small, small.n);
    bench_row("memcpy, 256 KiB in cache", mcpy_small, mcpy_small, "ratios below to this one");
    if (kw__crc32c_hw_available())
        bench_row("crc32c hw 3-way, in cache", bench_measure(run_crc_hw, &small, small.n),
                  mcpy_small, "");
    if (kw__crc32c_hw1_available())
        bench_row("crc32c hw one stream, in cache", bench_measure(run_crc_hw1, &small, small.n),
                  mcpy_small, "");
    bench_row("crc32c sw, in cache", bench_measure(run_crc_sw, &small, small.n), mcpy_small, "");
    free(bc.src);
    free(bc.dst);
    return 0;
}
