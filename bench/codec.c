/* Codec benchmark: MB/s of CRC-32C, record-batch encode/decode and LZ4, as ratios to memcpy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/batch.h"
#include "proto/crc32c.h"

#define MIB ((size_t)1 << 20)
#define TOTAL (64 * MIB)     /* bytes of batches to walk */
#define RECORD_VALUE 1024    /* each record's value */
#define BATCH_BYTES (1 * MIB) /* GreptimeDB's default max_batch_bytes */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Something the optimizer cannot drop. */
static volatile uint64_t sink;

typedef void (*bench_fn)(void *ctx);

/* Best MB/s of `bytes` processed by fn over several runs of at least 0.2 s. */
static double measure(bench_fn fn, void *ctx, size_t bytes)
{
    double best = 0;
    for (int round = 0; round < 3; round++) {
        int reps = 0;
        double t0 = now(), t;
        do {
            fn(ctx);
            reps++;
            t = now() - t0;
        } while (t < 0.2);
        double mbs = (double)bytes * reps / t / 1e6;
        if (mbs > best)
            best = mbs;
    }
    return best;
}

/* ---- the workloads ---- */

struct buf_ctx {
    uint8_t *src, *dst;
    size_t n;
};

static void run_memcpy(void *p)
{
    struct buf_ctx *c = p;
    memcpy(c->dst, c->src, c->n);
    sink += c->dst[c->n / 2];
}

static void run_crc_hw(void *p)
{
    struct buf_ctx *c = p;
    sink += kw__crc32c_hw(0, c->src, c->n);
}

static void run_crc_hw1(void *p)
{
    struct buf_ctx *c = p;
    sink += kw__crc32c_hw1(0, c->src, c->n);
}

static void run_crc_sw(void *p)
{
    struct buf_ctx *c = p;
    sink += kw__crc32c_sw(0, c->src, c->n);
}

struct batch_ctx {
    kw_wr batches;       /* many batches back to back, as in a fetch response */
    kw_wr scratch;       /* where compressed batches are decompressed */
    unsigned flags;      /* KW_BATCH_VERIFY_CRC or 0 */
    int codec;           /* for the encode workload */
    size_t record_bytes; /* total size of the records' values */
    uint8_t *values;     /* the values to encode, text-like so LZ4 has something to do */
    size_t nrecords;
};

static void run_decode(void *p)
{
    struct batch_ctx *c = p;
    kw_batch_iter bi;
    kw_batch b;
    kw__batch_iter_init(&bi, c->batches.buf, c->batches.len, c->flags);
    uint64_t sum = 0;
    while (kw__batch_next(&bi, &b) == 1) {
        kw_record_iter it;
        kw_record r;
        if (kw__record_iter_init(&it, &b, &c->scratch, 4 * BATCH_BYTES, 0))
            abort();
        while (kw__record_next(&it, &r) == 1)
            sum += (uint64_t)r.value.len + (uint64_t)r.offset;
        if (it.err)
            abort();
    }
    if (bi.err)
        abort();
    sink += sum;
}

/* Writes nrecords records into batches of at most BATCH_BYTES (before compression). */
static void encode_all(struct batch_ctx *c, kw_wr *out)
{
    kw_batch_builder b;
    kw_batch_opts o = {.codec = c->codec};
    int64_t offset = 0;
    size_t i = 0;
    while (i < c->nrecords) {
        o.base_offset = offset;
        if (kw__batch_begin(&b, out, &o))
            abort();
        while (i < c->nrecords) {
            kw_bytes key = {(const uint8_t *)"{\"region_id\":42}", 16};
            kw_bytes val = {c->values + i * RECORD_VALUE, RECORD_VALUE};
            if (b.count && kw__batch_size(&b) + kw__batch_record_size(&b, 0, key, val, NULL, 0) >
                               BATCH_BYTES)
                break;
            if (kw__batch_add(&b, 1700000000000LL + (int64_t)i, key, val, NULL, 0))
                abort();
            i++;
        }
        offset += b.count;
        if (kw__batch_finish(&b))
            abort();
    }
}

static void run_encode(void *p)
{
    struct batch_ctx *c = p;
    kw_wr out = c->scratch;
    out.len = 0;
    encode_all(c, &out);
    c->scratch = out; /* keep the grown buffer for the next round */
    sink += out.len;
}

/* Text-like values: a few words in random order, as log lines or WAL rows look. */
static void fill_values(uint8_t *v, size_t n)
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

static void row(const char *name, double mbs, double base, const char *note)
{
    printf("%-34s %10.0f %8.2fx   %s\n", name, mbs, mbs / base, note);
}

int main(void)
{
    struct buf_ctx bc = {malloc(TOTAL), malloc(TOTAL), TOTAL};
    if (!bc.src || !bc.dst)
        return 1;
    fill_values(bc.src, TOTAL);
    memset(bc.dst, 1, TOTAL);

    double mcpy = measure(run_memcpy, &bc, TOTAL);
    printf("kwal codec bench: %zu MiB buffers, %d-byte record values, batches of <= %zu MiB\n",
           TOTAL / MIB, RECORD_VALUE, BATCH_BYTES / MIB);
    printf("%-34s %10s %9s   %s\n", "workload", "MB/s", "/memcpy", "");
    row("memcpy", mcpy, mcpy, "");
    if (kw__crc32c_hw_available())
        row("crc32c hw (sse4.2 3-way + pclmul)", measure(run_crc_hw, &bc, TOTAL), mcpy, "");
    if (kw__crc32c_hw1_available())
        row("crc32c hw (sse4.2 one stream)", measure(run_crc_hw1, &bc, TOTAL), mcpy, "");
    row("crc32c sw (slice-by-8)", measure(run_crc_sw, &bc, TOTAL), mcpy, "");

    /* The same over 256 KiB that stays in cache: what the instructions can do
     * when memory is not the limit (a fetch response just read is in cache). */
    struct buf_ctx small = {bc.src, bc.dst, 256 * 1024};
    double mcpy_small = measure(run_memcpy, &small, small.n);
    row("memcpy, 256 KiB in cache", mcpy_small, mcpy_small, "ratios below to this one");
    if (kw__crc32c_hw_available())
        row("crc32c hw 3-way, in cache", measure(run_crc_hw, &small, small.n), mcpy_small, "");
    if (kw__crc32c_hw1_available())
        row("crc32c hw one stream, in cache", measure(run_crc_hw1, &small, small.n), mcpy_small,
            "");
    row("crc32c sw, in cache", measure(run_crc_sw, &small, small.n), mcpy_small, "");
    printf("(batch rows: ratios to the 64 MiB memcpy)\n");

    struct batch_ctx c;
    memset(&c, 0, sizeof(c));
    c.nrecords = TOTAL / RECORD_VALUE;
    c.values = bc.src; /* text-like already */
    c.record_bytes = c.nrecords * RECORD_VALUE;
    kw__wr_init(&c.batches);
    kw__wr_init(&c.scratch);

    /* uncompressed */
    c.codec = KW_CODEC_NONE;
    encode_all(&c, &c.batches);
    size_t plain_len = c.batches.len;
    c.flags = KW_BATCH_VERIFY_CRC;
    row("batch decode, none, crc checked", measure(run_decode, &c, plain_len), mcpy,
        "MB/s of batch bytes");
    c.flags = 0;
    row("batch decode, none, crc skipped", measure(run_decode, &c, plain_len), mcpy,
        "MB/s of batch bytes");
    row("batch encode, none (with crc)", measure(run_encode, &c, plain_len), mcpy,
        "MB/s of batch bytes");

    /* lz4 */
    c.codec = KW_CODEC_LZ4;
    c.batches.len = 0;
    encode_all(&c, &c.batches);
    size_t lz4_len = c.batches.len;
    c.flags = KW_BATCH_VERIFY_CRC;
    row("batch decode, lz4, crc checked", measure(run_decode, &c, plain_len), mcpy,
        "MB/s of uncompressed batch bytes");
    row("batch encode, lz4 (with crc)", measure(run_encode, &c, plain_len), mcpy,
        "MB/s of uncompressed batch bytes");
    printf("(%zu records in %zu MiB of batches; lz4 makes them %.1f MiB, ratio %.2f)\n",
           c.nrecords, plain_len / MIB, (double)lz4_len / (double)MIB,
           (double)plain_len / (double)lz4_len);

    kw__wr_free(&c.batches);
    kw__wr_free(&c.scratch);
    free(bc.src);
    free(bc.dst);
    return 0;
}
