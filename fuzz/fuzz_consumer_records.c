/* libFuzzer target for the consumer's record decoding: fetched bytes, an aborted list, read_committed filtering. */
#include <stdlib.h>
#include <string.h>

#include "net/consumer_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: a flags byte (bit 0 read_committed, bit 1 check CRCs, bits 2-7 how
 * many records one "poll" takes before the decoder is stopped and resumed,
 * 0 meaning no limit), a count byte (low 4 bits: aborted transactions), that
 * many 16-byte (producer id, first offset) pairs, then the records bytes of
 * one Fetch partition.  Whatever the bytes, decoding must end with a record
 * stream in strictly increasing offsets, a position past each, or an error
 * with a reason.
 */

typedef struct sink {
    int64_t last;
    unsigned n, per_poll;
    uint64_t sum;
    kw_wr pool[64];
    size_t used;
} sink;

static kw_wr *scratch(void *arg)
{
    sink *s = arg;
    if (s->used == 64)
        s->used = 0; /* records of this input are not kept past their callback */
    kw_wr *w = &s->pool[s->used++];
    w->len = 0;
    return w;
}

static int emit(void *arg, const kw_batch *b, const kw_record *r)
{
    sink *s = arg;
    (void)b;
    if (r->offset <= s->last)
        abort(); /* delivered out of order or twice */
    s->last = r->offset;
    /* Touch every byte handed out, so ASan sees a read past the buffer. */
    for (int32_t i = 0; i < r->key.len; i++)
        s->sum += r->key.ptr[i];
    for (int32_t i = 0; i < r->value.len; i++)
        s->sum += r->value.ptr[i];
    kw_header_iter hi = kw__record_headers(r);
    kw_record_header h;
    while (kw__header_next(&hi, &h) == 1) {
        for (int32_t i = 0; i < h.key.len; i++)
            s->sum += (uint8_t)h.key.ptr[i];
        for (int32_t i = 0; i < h.value.len; i++)
            s->sum += h.value.ptr[i];
    }
    return s->per_poll && ++s->n % s->per_poll == 0;
}

static int64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return (int64_t)v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned flags = data[0];
    size_t naborted = data[1] & 15;
    data += 2;
    size -= 2;
    if (size < naborted * 16)
        return 0;
    kw__aborted_set list = {0};
    for (size_t i = 0; i < naborted; i++)
        if (kw__aborted_add(&list, be64(data + 16 * i), be64(data + 16 * i + 8)))
            abort();
    data += naborted * 16;
    size -= naborted * 16;

    sink s = {.last = -1, .per_poll = flags >> 2};
    for (int i = 0; i < 64; i++)
        kw__wr_init(&s.pool[i]);
    kw__aborted_set aborted = {0};
    kw__consumer_decoder d = {.read_committed = flags & 1,
                              .aborted = &aborted,
                              .scratch = scratch,
                              .scratch_arg = &s,
                              .emit = emit,
                              .emit_arg = &s};
    if (kw__aborted_merge(&aborted, &list) != 0)
        abort();
    if (kw__aborted_merge(&aborted, &list) != 0 || aborted.n > naborted)
        abort(); /* taking the same list twice adds nothing */
    kw_batch_iter bit;
    kw_record_iter rit;
    kw_batch batch;
    bool in_batch = false;
    int64_t position = 0;
    kw__batch_iter_init(&bit, data, size, (flags & 2) ? KW_BATCH_VERIFY_CRC : 0);
    int rc;
    do {
        rc = kw__consumer_decode(&d, &bit, &rit, &batch, &in_batch, &position);
        if (s.last >= 0 && position <= s.last)
            abort(); /* the position must be past what was delivered */
    } while (rc == 1);
    if (rc < 0 && d.errstr[0] == 0)
        abort(); /* every error says why */
    kw__aborted_free(&aborted);
    kw__aborted_free(&list);
    for (int i = 0; i < 64; i++)
        kw__wr_free(&s.pool[i]);
    return 0;
}
