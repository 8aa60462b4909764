/* The consumer's record decoding: batches to records, control batches skipped, aborted transactions dropped. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/consumer_int.h"

/*
 * read_committed.  A Fetch response lists the aborted transactions that
 * overlap it: (producer id, first offset).  A transactional batch of a
 * listed producer at or after that first offset belongs to the aborted
 * transaction and is dropped, until that producer's ABORT marker (a control
 * batch) ends it; then the entry goes, so the producer's next transaction
 * is read again.  Control batches themselves never reach the caller (their
 * offsets are stepped over).  The broker stops a read_committed response at
 * the last stable offset, so records of open transactions never arrive.
 */

int kw__consumer_take_aborted(kw__consumer_decoder *d, const kw__consumer_aborted *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < *d->naborted && !seen; j++)
            seen = (*d->aborted)[j].producer_id == a[i].producer_id &&
                   (*d->aborted)[j].first_offset == a[i].first_offset;
        if (seen)
            continue;
        if (*d->naborted == *d->capaborted) {
            size_t cap = *d->capaborted ? *d->capaborted * 2 : 8;
            kw__consumer_aborted *v = realloc(*d->aborted, cap * sizeof(*v));
            if (!v)
                return KW_ENOMEM;
            *d->aborted = v;
            *d->capaborted = cap;
        }
        (*d->aborted)[(*d->naborted)++] = a[i];
    }
    return 0;
}

static bool batch_aborted(const kw__consumer_decoder *d, const kw_batch *b)
{
    for (size_t i = 0; i < *d->naborted; i++)
        if ((*d->aborted)[i].producer_id == b->producer_id &&
            (*d->aborted)[i].first_offset <= kw__batch_last_offset(b))
            return true;
    return false;
}

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
    if (type != KW_CONTROL_ABORT)
        return 0;
    for (size_t i = 0; i < *d->naborted;)
        if ((*d->aborted)[i].producer_id == b->producer_id &&
            (*d->aborted)[i].first_offset <= b->base_offset)
            (*d->aborted)[i] = (*d->aborted)[--*d->naborted];
        else
            i++;
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
        if (next <= *position)
            continue; /* delivered already (an overlap with the response before) */
        if (kw__batch_is_control(batch)) {
            if (d->read_committed && (rc = control_batch(d, batch)) != 0)
                return rc;
            *position = next;
            continue;
        }
        if (d->read_committed && kw__batch_is_transactional(batch) && batch_aborted(d, batch)) {
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
