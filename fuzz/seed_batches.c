/* Writes the seed corpus of the batch fuzz targets: real batches built by kwal, each codec. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "kwal/batch.h"
#include "proto/batch.h"

static void put(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    mkdir(dir, 0755);
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
        fprintf(stderr, "seed_batches: path too long: %s/%s\n", dir, name);
        exit(1);
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

static void build(kw_wr *w, int codec, int count, bool control, bool txn)
{
    kw_batch_builder b;
    kw_batch_opts o = {.codec = codec, .control = control, .transactional = txn,
                       .idempotent = txn || control, .producer_id = 7, .producer_epoch = 1};
    if (kw__batch_begin(&b, w, &o) != 0)
        exit(1);
    for (int i = 0; i < count; i++) {
        char key[32], val[200];
        int kl = snprintf(key, sizeof(key), "region-%d", i % 3);
        int vl = snprintf(val, sizeof(val), "entry %d: %0*d", i, 20 + i * 7, i);
        kw_record_header h = {kw_str_c("part"), {(const uint8_t *)"full", 4}};
        uint8_t ck[4];
        kw_bytes k = control ? kw__control_key(ck, KW_CONTROL_COMMIT)
                             : (kw_bytes){(const uint8_t *)key, kl};
        kw__batch_add(&b, 1700000000000LL + i, k, i == 2 ? KW_BYTES_NULL : (kw_bytes){(const uint8_t *)val, vl},
                      &h, (size_t)(i % 2));
    }
    if (kw__batch_finish(&b) != 0)
        exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/batch", argv[1]);
    kw_wr w;
    kw__wr_init(&w);
    build(&w, KW_CODEC_NONE, 5, false, false);
    build(&w, KW_CODEC_LZ4, 9, false, false);
    build(&w, KW_CODEC_NONE, 3, false, true);
    build(&w, KW_CODEC_NONE, 1, true, false);
    /* the public reader's target reads the same input as the batch target */
    char reader_dir[512];
    snprintf(reader_dir, sizeof(reader_dir), "%s/batch_reader", argv[1]);
    put(dir, "four-batches", w.buf, w.len);
    put(reader_dir, "four-batches", w.buf, w.len);
    put(dir, "cut-tail", w.buf, w.len - 10);
    put(reader_dir, "cut-tail", w.buf, w.len - 10);
    for (int c = KW_CODEC_NONE; c <= KW_CODEC_ZSTD; c++) {
        kw_wr one;
        kw__wr_init(&one);
        build(&one, c, 12, false, false);
        char name[64];
        snprintf(name, sizeof(name), "one-%s", kw__codec_name(c));
        put(dir, name, one.buf, one.len);
        if (c == KW_CODEC_NONE || c == KW_CODEC_LZ4)
            put(reader_dir, name, one.buf, one.len);
        kw__wr_free(&one);
    }
    /* from the public writer: null and empty keys, values and header values, many headers */
    kw_batch_writer *pw;
    kw_batch_writer_options po = {.compression = KW_COMPRESSION_ZSTD, .base_offset = 100};
    if (kw_batch_writer_new(&pw, &po, NULL, 0) != 0)
        return 1;
    kw_header hs[20];
    for (int i = 0; i < 20; i++)
        hs[i] = (kw_header){"hdr", (size_t)(i % 4), i % 3 ? "value" : NULL, (size_t)(i % 6)};
    for (int i = 0; i < 6; i++)
        kw_batch_writer_add(pw, 1700000000000LL + i, i % 2 ? "key" : NULL, (size_t)i,
                            i % 3 ? "val" : NULL, (size_t)(i % 4), hs, (size_t)(i * 4));
    const uint8_t *pb;
    size_t plen;
    if (kw_batch_writer_finish(pw, &pb, &plen) != 0)
        return 1;
    put(reader_dir, "writer-nulls-headers-zstd", pb, plen);
    kw_batch_writer_destroy(pw);
    /* codec targets: a two-byte record count, then the compressed records section */
    for (int c = KW_CODEC_GZIP; c <= KW_CODEC_ZSTD; c++) {
        for (int count = 1; count <= 40; count *= 6) {
            kw_wr plain, out;
            kw__wr_init(&plain);
            kw__wr_init(&out);
            build(&plain, KW_CODEC_NONE, count, false, false);
            kw__wr_u16(&out, (uint16_t)count);
            if (kw__compress(c, plain.buf + KW_BATCH_HEADER_SIZE, plain.len - KW_BATCH_HEADER_SIZE,
                             &out) != 0)
                return 1;
            char cdir[512], name[64];
            snprintf(cdir, sizeof(cdir), "%s/batch_%s", argv[1], kw__codec_name(c));
            snprintf(name, sizeof(name), "records-%d", count);
            put(cdir, name, out.buf, out.len);
            kw__wr_free(&plain);
            kw__wr_free(&out);
        }
    }
    kw__wr_free(&w);
    return 0;
}
