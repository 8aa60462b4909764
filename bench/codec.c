/* Codec benchmark: MB/s of record-batch encode/decode through kwal/batch.h, none and LZ4, as ratios to memcpy. */
#include <stdlib.h>

#include "kwal/batch.h"
#include "throughput.h"

#define RECORD_VALUE 1024     /* each record's value */
#define BATCH_BYTES (1 * MIB) /* GreptimeDB's default max_batch_bytes */

struct batch_ctx {
    uint8_t *batches; /* many batches back to back, as in a fetch response */
    size_t len, cap;
    kw_batch_writer *writer;
    kw_batch_reader *reader; /* CRC checked or not, per the workload */
    size_t record_bytes;     /* total size of the records' values */
    uint8_t *values;         /* the values to encode, text-like so LZ4 has something to do */
    size_t nrecords;
    volatile uint64_t sink;
};

static void run_decode(void *p)
{
    struct batch_ctx *c = p;
    if (kw_batch_reader_set(c->reader, c->batches, c->len, 0))
        abort();
    uint64_t sum = 0;
    kw_batch_info b;
    kw_batch_record r;
    int rc;
    while ((rc = kw_batch_reader_next_batch(c->reader, &b)) == 1) {
        while ((rc = kw_batch_reader_next_record(c->reader, &r)) == 1)
            sum += (uint64_t)r.value_len + (uint64_t)r.offset;
        if (rc < 0)
            abort();
    }
    if (rc < 0)
        abort();
    c->sink += sum;
}

/* Appends a finished batch to c->batches. */
static void keep(struct batch_ctx *c, const uint8_t *bytes, size_t len)
{
    if (c->len + len > c->cap) {
        c->cap = (c->len + len) * 2;
        c->batches = realloc(c->batches, c->cap);
        if (!c->batches)
            abort();
    }
    memcpy(c->batches + c->len, bytes, len);
    c->len += len;
}

/*
 * Writes nrecords records into batches of at most BATCH_BYTES (before
 * compression).  With `store` the batches are kept for the decode rows;
 * without, they are dropped (the encode rows time the writer alone).
 */
static void encode_all(struct batch_ctx *c, int codec, bool store)
{
    kw_batch_writer_options o = {.compression = codec};
    int64_t offset = 0;
    size_t i = 0;
    static const char key[] = "{\"region_id\":42}";
    while (i < c->nrecords) {
        o.base_offset = offset;
        if (kw_batch_writer_reset(c->writer, &o))
            abort();
        while (i < c->nrecords) {
            const uint8_t *val = c->values + i * RECORD_VALUE;
            int64_t ts = 1700000000000LL + (int64_t)i;
            if (kw_batch_writer_count(c->writer) &&
                kw_batch_writer_size(c->writer) +
                        kw_batch_writer_record_size(c->writer, ts, key, sizeof key - 1, val,
                                                    RECORD_VALUE, NULL, 0) >
                    BATCH_BYTES)
                break;
            if (kw_batch_writer_add(c->writer, ts, key, sizeof key - 1, val, RECORD_VALUE, NULL, 0))
                abort();
            i++;
        }
        offset += kw_batch_writer_count(c->writer);
        const uint8_t *bytes;
        size_t len;
        if (kw_batch_writer_finish(c->writer, &bytes, &len))
            abort();
        if (store)
            keep(c, bytes, len);
        c->sink += len;
    }
}

static void run_encode_none(void *p)
{
    encode_all(p, KW_COMPRESSION_NONE, false);
}

static void run_encode_lz4(void *p)
{
    encode_all(p, KW_COMPRESSION_LZ4, false);
}

int main(void)
{
    struct bench_copy bc = {malloc(TOTAL), malloc(TOTAL), TOTAL, 0};
    if (!bc.src || !bc.dst)
        return 1;
    bench_fill_text(bc.src, TOTAL);
    memset(bc.dst, 1, TOTAL);

    double mcpy = bench_measure(bench_run_memcpy, &bc, TOTAL);
    printf("kwal codec bench (kwal/batch.h): %zu MiB of %d-byte record values, batches of <= %zu "
           "MiB\n",
           TOTAL / MIB, RECORD_VALUE, BATCH_BYTES / MIB);
    printf("%-34s %10s %9s   %s\n", "workload", "MB/s", "/memcpy", "");
    bench_row("memcpy", mcpy, mcpy, "");

    struct batch_ctx c = {.nrecords = TOTAL / RECORD_VALUE, .values = bc.src};
    c.record_bytes = c.nrecords * RECORD_VALUE;
    kw_batch_reader_options checked = {.max_decompressed_bytes = 4 * BATCH_BYTES};
    kw_batch_reader_options unchecked = {.max_decompressed_bytes = 4 * BATCH_BYTES,
                                         .skip_crc_check = true};
    kw_batch_reader *crc_reader, *plain_reader;
    if (kw_batch_writer_new(&c.writer, NULL, NULL, 0) ||
        kw_batch_reader_new(&crc_reader, &checked) ||
        kw_batch_reader_new(&plain_reader, &unchecked))
        return 1;

    /* uncompressed */
    encode_all(&c, KW_COMPRESSION_NONE, true);
    size_t plain_len = c.len;
    c.reader = crc_reader;
    bench_row("batch decode, none, crc checked", bench_measure(run_decode, &c, plain_len), mcpy,
              "MB/s of batch bytes");
    c.reader = plain_reader;
    bench_row("batch decode, none, crc skipped", bench_measure(run_decode, &c, plain_len), mcpy,
              "MB/s of batch bytes");
    bench_row("batch encode, none (with crc)", bench_measure(run_encode_none, &c, plain_len), mcpy,
              "MB/s of batch bytes");

    /* lz4 */
    c.len = 0;
    encode_all(&c, KW_COMPRESSION_LZ4, true);
    size_t lz4_len = c.len;
    c.reader = crc_reader;
    bench_row("batch decode, lz4, crc checked", bench_measure(run_decode, &c, plain_len), mcpy,
              "MB/s of uncompressed batch bytes");
    bench_row("batch encode, lz4 (with crc)", bench_measure(run_encode_lz4, &c, plain_len), mcpy,
              "MB/s of uncompressed batch bytes");
    printf("(%zu records in %zu MiB of batches; lz4 makes them %.1f MiB, ratio %.2f)\n",
           c.nrecords, plain_len / MIB, (double)lz4_len / (double)MIB,
           (double)plain_len / (double)lz4_len);

    kw_batch_writer_destroy(c.writer);
    kw_batch_reader_destroy(crc_reader);
    kw_batch_reader_destroy(plain_reader);
    free(c.batches);
    free(bc.src);
    free(bc.dst);
    return 0;
}
