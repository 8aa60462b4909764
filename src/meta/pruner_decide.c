/* The WAL pruner's decision for one topic: pure (no I/O, no clock), so tests need no broker. */
#include <inttypes.h>
#include <stdio.h>

#include "meta/pruner.h"

/* An entry id as a Kafka offset: ids above INT64_MAX cannot be offsets, so they saturate. */
static int64_t id_plus_one(uint64_t id)
{
    return id >= (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)id + 1;
}

static void holder_words(char *buf, size_t cap, const kw_meta_pruner_region_in *r)
{
    if (r->flushed_id == KW_META_PRUNER_NONE)
        snprintf(buf, cap, "region %" PRIu64 " never flushed", r->region_id);
    else
        snprintf(buf, cap, "region %" PRIu64 " flushed through %" PRIu64, r->region_id,
                 r->flushed_id);
}

void kw__meta_pruner_decide(const kw_meta_pruner_topic_in *in, kw_meta_pruner_decision *d)
{
    d->action = KW_META_PRUNER_SKIP;
    d->prune_point = -1;
    d->holder = KW_META_PRUNER_NONE;
    d->reason[0] = 0;
    uint64_t trigger =
        in->flush_trigger_size ? in->flush_trigger_size : KW_META_PRUNER_DEFAULT_FLUSH_TRIGGER;
    uint64_t rbytes = in->record_bytes ? in->record_bytes : KW_META_PRUNER_DEFAULT_RECORD_BYTES;
    int64_t start = in->start_offset < 0 ? 0 : in->start_offset;
    int64_t end = in->end_offset < start ? start : in->end_offset;

    const kw_meta_pruner_region_in *unreported = NULL, *beyond = NULL, *min_r = NULL;
    int64_t p = -1;
    for (size_t i = 0; i < in->region_count; i++) {
        const kw_meta_pruner_region_in *r = &in->regions[i];
        int64_t need = -1;
        bool pin = false;
        uint64_t behind = 0;
        if (!r->reported) {
            if (!unreported)
                unreported = r;
        } else {
            /* Never flushed: it needs all that is left.  Else everything after F. */
            need = r->flushed_id == KW_META_PRUNER_NONE ? start : id_plus_one(r->flushed_id);
            if (r->flushed_id != KW_META_PRUNER_NONE && need > end && !beyond)
                beyond = r;
            if (p < 0 || need < p) {
                p = need;
                min_r = r;
            }
            int64_t from = need < start ? start : need;
            uint64_t off_behind = from < end ? (uint64_t)(end - from) : 0;
            behind = off_behind > UINT64_MAX / rbytes ? UINT64_MAX : off_behind * rbytes;
            pin = behind > trigger;
        }
        if (d->needed_from)
            d->needed_from[i] = need;
        if (d->pinning)
            d->pinning[i] = pin;
        if (d->bytes_behind)
            d->bytes_behind[i] = behind;
    }
    d->prune_point = p;
    if (min_r)
        d->holder = min_r->region_id;

    if (in->region_count == 0) {
        snprintf(d->reason, sizeof(d->reason),
                 "skip: no region is on the topic (nothing says its records are unneeded)");
        return;
    }
    if (unreported) {
        d->holder = unreported->region_id;
        snprintf(d->reason, sizeof(d->reason), "skip: region %" PRIu64 " never reported",
                 unreported->region_id);
        return;
    }
    if (beyond) {
        d->holder = beyond->region_id;
        snprintf(d->reason, sizeof(d->reason),
                 "skip: region %" PRIu64 " reports flushed id %" PRIu64
                 " at or past the topic's end %" PRId64 " (topic recreated, or a bad report)",
                 beyond->region_id, beyond->flushed_id, end);
        return;
    }
    char who[96];
    holder_words(who, sizeof(who), min_r);
    if (p < start) {
        snprintf(d->reason, sizeof(d->reason),
                 "skip: nothing to prune: %s, needs offset %" PRId64
                 " on, but the log starts at %" PRId64 ": something else deleted %" PRId64
                 "..%" PRId64 " (retention?)",
                 who, p, start, p, start - 1);
        return;
    }
    if (p == start) {
        snprintf(d->reason, sizeof(d->reason),
                 "skip: nothing to prune: %s, needs offset %" PRId64
                 " on; the log starts at %" PRId64,
                 who, p, start);
        return;
    }
    d->action = KW_META_PRUNER_PRUNE;
    snprintf(d->reason, sizeof(d->reason),
             "prune offsets %" PRId64 "..%" PRId64 " (delete before %" PRId64 "): %s", start, p - 1,
             p, who);
}
