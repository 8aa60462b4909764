/* libFuzzer target for the public batch reader (kwal/batch.h), with a re-encode check through the writer. */
#include <stdlib.h>
#include <string.h>

#include "kwal/batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_bytes(const void *a, size_t alen, const void *b, size_t blen)
{
    if (!a || !b)
        return !a && !b; /* null stays null */
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static void same_record(const kw_batch_record *a, const kw_batch_record *b)
{
    if (a->timestamp != b->timestamp || !same_bytes(a->key, a->key_len, b->key, b->key_len) ||
        !same_bytes(a->value, a->value_len, b->value, b->value_len) ||
        a->header_count != b->header_count)
        abort();
    for (size_t i = 0; i < a->header_count; i++) {
        const kw_header *x = &a->headers[i], *y = &b->headers[i];
        if (!x->key || !y->key || !same_bytes(x->key, x->key_len, y->key, y->key_len) ||
            !same_bytes(x->value, x->value_len, y->value, y->value_len))
            abort();
    }
}

/*
 * Walks every batch and record, the way a consumer would.  Each data batch
 * read whole is written again with the writer (no compression) and read
 * back: the records must come out as they went in.  `original` walks the
 * input in step with `r` to give the records to compare against.
 */
static void walk(const uint8_t *data, size_t size, const kw_batch_reader_options *o)
{
    kw_batch_reader *r, *original, *again;
    kw_batch_writer *w;
    if (kw_batch_reader_new(&r, o) || kw_batch_reader_new(&original, o) ||
        kw_batch_reader_new(&again, o) || kw_batch_writer_new(&w, NULL, NULL, 0))
        abort();
    kw_batch_reader_set(r, data, size, INT64_MIN);
    kw_batch_reader_set(original, data, size, INT64_MIN);
    kw_batch_info info, info2;
    kw_batch_record rec, rec2;
    while (kw_batch_reader_next_batch(r, &info) == 1) {
        if (kw_batch_reader_next_batch(original, &info2) != 1 || info2.bytes != info.bytes)
            abort();
        kw_batch_writer_reset(w, NULL);
        int rc;
        while ((rc = kw_batch_reader_next_record(r, &rec)) == 1) {
            if (!info.control && rec.control_type != -1)
                abort();
            kw_batch_writer_add(w, rec.timestamp, rec.key, rec.key_len, rec.value, rec.value_len,
                                rec.headers, rec.header_count);
        }
        const uint8_t *bytes;
        size_t len;
        if (rc < 0 || info.control || kw_batch_writer_finish(w, &bytes, &len) != 0)
            continue;
        kw_batch_reader_set(again, bytes, len, INT64_MIN);
        if (kw_batch_reader_next_batch(again, &info2) != 1)
            abort();
        while (kw_batch_reader_next_record(original, &rec) == 1) {
            if (kw_batch_reader_next_record(again, &rec2) != 1)
                abort();
            same_record(&rec, &rec2);
        }
        if (kw_batch_reader_next_record(again, &rec2) != 0)
            abort();
    }
    kw_batch_writer_destroy(w);
    kw_batch_reader_destroy(again);
    kw_batch_reader_destroy(original);
    kw_batch_reader_destroy(r);
}

/* Input: the records bytes of a Fetch response partition, as the broker sends them. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kw_batch_reader_options checked = {.max_decompressed_bytes = 1u << 20};
    kw_batch_reader_options unchecked = {.max_decompressed_bytes = 1u << 20,
                                         .skip_crc_check = true};
    walk(data, size, &checked);
    walk(data, size, &unchecked);
    return 0;
}
