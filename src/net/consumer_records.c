/* The consumer's record decoding: batches to records, control batches skipped, aborted transactions dropped. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/consumer_int.h"

/*
 * read_committed: aborted transactions are dropped as net/aborted.h says.
 * Control batches themselves never reach the caller (their offsets are
 * stepped over).  The broker stops a read_committed response at the last
 * stable offset, so records of open transactions never arrive.
 */

/* A control batch: an ABORT marker ends its producer's aborted transactions that began before it. */
static int control_batch(kw__consumer_decoder *d, const kw_batch *b)
{
    kw_record_iter it;
    kw_record r;
    /* Markers are never compressed; a compressed one is read through no scratch and fails. */
    int rc = kw__record_iter_init(&it, b, NULL, 0, INT64_MIN);
    if (rc == 0)
        rc = kw__record_next(&it, &r);
    if (rc < 0) {
        snprintf(d->errstr, sizeof(d->errstr), "control batch at offset %" PRId64 ": %s",
                 b->base_offset, it.errstr);
        return rc;
    }
    int16_t version, type;
    if (rc == 0 || kw__control_record_parse(&r, &version, &type) != 0) {
        snprintf(d->errstr, sizeof(d->errstr),
                 "control batch at offset %" PRId64 " has no valid marker record", b->base_offset);
        return KW_EMALFORMED;
    }
    if (type == KW_CONTROL_ABORT)
        kw__aborted_end(d->aborted, b);
    return 0;
}

int kw__consumer_decode(kw__consumer_decoder *d, kw_batch_iter *bit, kw_record_iter *rit,
                        kw_batch *batch, bool *in_batch, int64_t *position)
{
    for (;;) {
        if (*in_batch) {
            kw_record r;
            int rc = kw__record_next(rit, &r);
            if (rc < 0) {
                snprintf(d->errstr, sizeof(d->errstr), "%s", rit->errstr);
                return rc;
            }
            if (rc == 0) {
                *in_batch = false;
                int64_t next = kw__batch_next_offset(batch);
                if (next > *position)
                    *position = next;
                continue;
            }
            if (r.offset < *position)
                continue;
            *position = r.offset + 1;
            rc = d->emit(d->emit_arg, batch, &r);
            if (rc != 0)
                return rc;
            continue;
        }
        int rc = kw__batch_next(bit, batch);
        if (rc < 0) {
            snprintf(d->errstr, sizeof(d->errstr), "%s", bit->errstr);
            return rc;
        }
        if (rc == 0)
            return 0;
        int64_t next = kw__batch_next_offset(batch);
        if (next <= *position) {
            /* Delivered already (an overlap with the answer before).  A marker there still
             * ends its transaction: this answer listed it as aborted again (its list covers
             * the answer from its fetch offset), and left open it would drop every later
             * batch of the producer id, which a fenced transactional id keeps. */
            if (d->read_committed && kw__batch_is_control(batch) && (rc = control_batch(d, batch)) != 0)
                return rc;
            continue;
        }
        if (kw__batch_is_control(batch)) {
            if (d->read_committed && (rc = control_batch(d, batch)) != 0)
                return rc;
            *position = next;
            continue;
        }
        if (d->read_committed && kw__batch_is_transactional(batch) && kw__aborted_covers(d->aborted, batch)) {
            *position = next;
            continue;
        }
        kw_batch plain;
        if (kw__batch_codec(batch) != 0 && d->inflated && d->inflated(d->inflated_arg, batch, &plain)) {
            if ((rc = kw__record_iter_init(rit, &plain, NULL, 0, *position)) < 0) {
                snprintf(d->errstr, sizeof(d->errstr), "%s", rit->errstr);
                return rc;
            }
            *in_batch = true;
            continue;
        }
        kw_wr *scratch = NULL;
        if (kw__batch_codec(batch) != 0 && !(scratch = d->scratch(d->scratch_arg))) {
            snprintf(d->errstr, sizeof(d->errstr), "no memory for a decompressed batch");
            return KW_ENOMEM;
        }
        rc = kw__record_iter_init(rit, batch, scratch, 0, *position);
        if (rc < 0) {
            snprintf(d->errstr, sizeof(d->errstr), "%s", rit->errstr);
            return rc;
        }
        *in_batch = true;
    }
}
