/* WAL replay: the reassembler that turns a topic's records back into entries, per region (no I/O). */
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "regions.h"

struct kw_wal_record_region {
    uint64_t region_id;
    bool open;
    /* after an abandoned entry: drop its remaining parts quietly (those with skip_tag, if set) */
    bool skipping;
    uint64_t skip_tag;
    /* the open entry */
    uint64_t tag;
    int64_t first_offset;
    int64_t latest_first_offset; /* a retransmitted FIRST: where a diverging entry began */
    int64_t last_offset;
    uint32_t expect_parts; /* kwal FIRST: the part count and byte length; 0 = unknown */
    uint64_t expect_len;
    int codec; /* kwal FIRST: how the entry is stored, and its decompressed length */
    uint64_t raw_len;
    uint8_t *buf;
    size_t len, cap;
    size_t *ends; /* ends[i]: where part i ends in buf */
    uint32_t nparts, ends_cap;
    size_t cost; /* bytes counted against the limits: len + 8 per part */
    /* tags of the region's last completed entries, to drop retransmitted ones */
    uint64_t recent[KW_WAL_RECORD_RECENT_TAGS];
    unsigned recent_next;
};

void kw__wal_record_asm_init(kw_wal_record_asm *a, const kw_wal_record_asm_options *opts)
{
    memset(a, 0, sizeof(*a));
    if (opts)
        a->opts = *opts;
    if (!a->opts.max_entry_bytes)
        a->opts.max_entry_bytes = KW_WAL_MAX_ENTRY_BYTES;
    if (!a->opts.max_buffered_bytes)
        a->opts.max_buffered_bytes = (size_t)256 << 20;
    if (!a->opts.max_regions)
        a->opts.max_regions = 65536;
}

static void region_close(kw_wal_record_asm *a, kw_wal_record_region *r)
{
    a->stats.buffered_bytes -= r->cost;
    free(r->buf);
    free(r->ends);
    r->buf = NULL;
    r->ends = NULL;
    r->len = r->cap = r->cost = 0;
    r->nparts = r->ends_cap = 0;
    r->open = false;
    r->tag = 0;
    r->expect_parts = 0;
    r->expect_len = 0;
    r->codec = KW_WAL_CODEC_RAW;
    r->raw_len = 0;
}

static void region_free(kw_wal_record_asm *a, kw_wal_record_region *r)
{
    region_close(a, r);
    free(r);
}

static void table_clear(kw_wal_record_asm *a)
{
    for (size_t i = 0; i < a->nslots; i++)
        if (a->slots[i])
            region_free(a, a->slots[i]);
    free(a->slots);
    a->slots = NULL;
    a->nslots = a->nregions = 0;
}

void kw__wal_record_asm_free(kw_wal_record_asm *a)
{
    table_clear(a);
    free(a->done);
    a->done = NULL;
    a->done_cap = 0;
    free(a->plain);
    a->plain = NULL;
    a->plain_cap = 0;
    a->nevents = a->next_event = 0;
}

static size_t slot_hash(uint64_t id, size_t nslots)
{
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdULL;
    id ^= id >> 33;
    return (size_t)id & (nslots - 1);
}

static kw_wal_record_region *region_find(kw_wal_record_asm *a, uint64_t id)
{
    if (!a->nslots)
        return NULL;
    for (size_t i = slot_hash(id, a->nslots);; i = (i + 1) & (a->nslots - 1)) {
        kw_wal_record_region *r = a->slots[i];
        if (!r || r->region_id == id)
            return r;
    }
}

/*
 * Rebuilds the table with n slots; with drop_idle, regions holding nothing but
 * recent tags are forgotten (the only cost: a retransmission of their last
 * entries would no longer be recognized).
 */
static int table_rebuild(kw_wal_record_asm *a, size_t n, bool drop_idle)
{
    kw_wal_record_region **slots = calloc(n, sizeof(*slots));
    if (!slots)
        return KW_ENOMEM;
    size_t count = 0;
    for (size_t i = 0; i < a->nslots; i++) {
        kw_wal_record_region *r = a->slots[i];
        if (!r)
            continue;
        if (drop_idle && !r->open && !r->skipping) {
            region_free(a, r);
            continue;
        }
        size_t j = slot_hash(r->region_id, n);
        while (slots[j])
            j = (j + 1) & (n - 1);
        slots[j] = r;
        count++;
    }
    free(a->slots);
    a->slots = slots;
    a->nslots = n;
    a->nregions = count;
    return 0;
}

/* The region's state, created when missing; NULL with *why when it cannot be. */
static kw_wal_record_region *region_get(kw_wal_record_asm *a, uint64_t id, const char **why)
{
    kw_wal_record_region *r = region_find(a, id);
    if (r)
        return r;
    if (a->nregions >= a->opts.max_regions) {
        if (table_rebuild(a, a->nslots, true) != 0) {
            *why = "out of memory";
            return NULL;
        }
        if (a->nregions >= a->opts.max_regions) {
            *why = "too many regions with open entries";
            return NULL;
        }
    }
    if ((a->nregions + 1) * 2 > a->nslots &&
        table_rebuild(a, a->nslots ? a->nslots * 2 : 16, false) != 0) {
        *why = "out of memory";
        return NULL;
    }
    r = calloc(1, sizeof(*r));
    if (!r) {
        *why = "out of memory";
        return NULL;
    }
    r->region_id = id;
    size_t i = slot_hash(id, a->nslots);
    while (a->slots[i])
        i = (i + 1) & (a->nslots - 1);
    a->slots[i] = r;
    a->nregions++;
    return r;
}

static bool recent_has(const kw_wal_record_region *r, uint64_t tag)
{
    for (unsigned i = 0; i < KW_WAL_RECORD_RECENT_TAGS; i++)
        if (r->recent[i] == tag)
            return true;
    return false;
}

static void recent_add(kw_wal_record_region *r, uint64_t tag)
{
    if (!tag)
        return;
    r->recent[r->recent_next] = tag;
    r->recent_next = (r->recent_next + 1) % KW_WAL_RECORD_RECENT_TAGS;
}

/* Per-feed state: whether a malformation was noted (strict mode) and the error to return. */
typedef struct feed_ctx {
    bool malformed;
    int rc;
} feed_ctx;

static kw_wal_record_event *push(kw_wal_record_asm *a, int kind, uint64_t region, int64_t offset,
                                 const char *why)
{
    /* one feed makes at most two events; the array has room for four */
    kw_wal_record_event *ev =
        &a->events[a->nevents < KW_WAL_RECORD_MAX_EVENTS ? a->nevents++
                                                         : KW_WAL_RECORD_MAX_EVENTS - 1];
    memset(ev, 0, sizeof(*ev));
    ev->kind = kind;
    ev->region_id = region;
    ev->offset = offset;
    ev->why = why;
    return ev;
}

static void note(kw_wal_record_asm *a, feed_ctx *fc, int kind, uint64_t region, int64_t offset,
                 const char *why)
{
    push(a, kind, region, offset, why);
    switch (kind) {
    case KW_WAL_REC_BAD:
        a->stats.bad++;
        fc->malformed = true;
        break;
    case KW_WAL_REC_ORPHAN:
        a->stats.orphans++;
        fc->malformed = true;
        break;
    default:
        a->stats.duplicates++;
    }
}

/* Reports the open entry as abandoned, without closing it (the caller decides). */
static void note_abandoned(kw_wal_record_asm *a, feed_ctx *fc, const kw_wal_record_region *r,
                           int64_t offset, const char *why)
{
    kw_wal_record_event *ev = push(a, KW_WAL_REC_ABANDONED, r->region_id, offset, why);
    ev->first_offset = r->first_offset;
    ev->parts = r->nparts;
    a->stats.abandoned++;
    fc->malformed = true;
}

/* Gives up the open entry; with skip_rest its remaining parts are then dropped quietly. */
static void abandon(kw_wal_record_asm *a, feed_ctx *fc, kw_wal_record_region *r, int64_t offset,
                    const char *why, bool skip_rest)
{
    note_abandoned(a, fc, r, offset, why);
    uint64_t tag = r->tag;
    region_close(a, r);
    r->skipping = skip_rest;
    r->skip_tag = tag;
}

/* Appends a part to the open entry within the limits; 0, KW_ETOOBIG or KW_ENOMEM with *why. */
static int region_append(kw_wal_record_asm *a, kw_wal_record_region *r, const uint8_t *v, size_t n,
                         const char **why)
{
    size_t part_cost = n + sizeof(size_t);
    if (part_cost < n || r->cost > a->opts.max_entry_bytes ||
        part_cost > a->opts.max_entry_bytes - r->cost) {
        *why = "entry larger than max_entry_bytes";
        return KW_ETOOBIG;
    }
    /* buffered_bytes never exceeds the limit, so the subtraction cannot wrap */
    if (part_cost > a->opts.max_buffered_bytes - a->stats.buffered_bytes) {
        *why = "open entries exceed max_buffered_bytes";
        return KW_ETOOBIG;
    }
    if (r->expect_parts && r->len + n > r->expect_len) {
        *why = "entry longer than its FIRST part declared";
        return KW_ETOOBIG;
    }
    if (r->len + n > r->cap) {
        size_t want = r->cap ? r->cap : n;
        while (want < r->len + n)
            want = want > SIZE_MAX / 2 ? r->len + n : want * 2;
        if (want > a->opts.max_entry_bytes && r->len + n <= a->opts.max_entry_bytes)
            want = a->opts.max_entry_bytes;
        uint8_t *b = realloc(r->buf, want ? want : 1);
        if (!b) {
            *why = "out of memory";
            return KW_ENOMEM;
        }
        r->buf = b;
        r->cap = want;
    }
    if (r->nparts == r->ends_cap) {
        uint32_t want = r->ends_cap ? r->ends_cap * 2 : 8;
        size_t *e = realloc(r->ends, (size_t)want * sizeof(*e));
        if (!e) {
            *why = "out of memory";
            return KW_ENOMEM;
        }
        r->ends = e;
        r->ends_cap = want;
    }
    if (n)
        memcpy(r->buf + r->len, v, n);
    r->len += n;
    r->ends[r->nparts++] = r->len;
    r->cost += part_cost;
    a->stats.buffered_bytes += part_cost;
    return 0;
}

/* Drops parts from index i on (the buffered copy of a part that a new entry replaces). */
static void region_truncate(kw_wal_record_asm *a, kw_wal_record_region *r, uint32_t i)
{
    size_t len = i ? r->ends[i - 1] : 0;
    size_t cost = len + (size_t)i * sizeof(size_t);
    a->stats.buffered_bytes -= r->cost - cost;
    r->cost = cost;
    r->len = len;
    r->nparts = i;
}

static bool part_equal(const kw_wal_record_region *r, uint32_t i, const uint8_t *v, size_t n)
{
    size_t start = i ? r->ends[i - 1] : 0;
    return r->ends[i] - start == n && (n == 0 || memcmp(r->buf + start, v, n) == 0);
}

/* A retransmission of the open entry's FIRST: the same tag, or (untagged) the same bytes. */
static bool same_first(const kw_wal_record_region *r, const kw_wal_record_key *k, const uint8_t *v,
                       size_t n)
{
    if (k->tag || r->tag)
        return k->tag == r->tag;
    return part_equal(r, 0, v, n);
}

static void emit_entry(kw_wal_record_asm *a, uint64_t region, int64_t offset, int64_t first,
                       uint32_t parts, const uint8_t *data, size_t len)
{
    kw_wal_record_event *ev = push(a, KW_WAL_REC_ENTRY, region, offset, NULL);
    ev->entry_id = (uint64_t)offset;
    ev->first_offset = first;
    ev->parts = parts;
    ev->data = data;
    ev->len = len;
    a->stats.entries++;
}

/*
 * Hands out an entry stored with codec: as it is, or decompressed into
 * a->plain.  An entry that cannot be decompressed is noted as a bad record.
 */
static void emit_stored(kw_wal_record_asm *a, feed_ctx *fc, uint64_t region, int64_t offset,
                        int64_t first, uint32_t parts, const uint8_t *data, size_t len, int codec,
                        uint64_t raw_len)
{
    if (codec == KW_WAL_CODEC_RAW) {
        emit_entry(a, region, offset, first, parts, data, len);
        return;
    }
    if (raw_len > a->opts.max_entry_bytes || raw_len > (uint64_t)KW_WAL_COMPRESS_MAX_INPUT) {
        note(a, fc, KW_WAL_REC_BAD, region, offset,
             "compressed entry larger than max_entry_bytes once decompressed");
        return;
    }
    /* LZ4 cannot expand more than 255 times: a larger claim is a lie, refused before allocating */
    if (len > (size_t)INT32_MAX || raw_len / 255 > len) {
        note(a, fc, KW_WAL_REC_BAD, region, offset,
             "compressed entry: declared length not possible for its LZ4 block");
        return;
    }
    if (raw_len > a->plain_cap) {
        uint8_t *p = realloc(a->plain, (size_t)raw_len);
        if (!p) {
            note(a, fc, KW_WAL_REC_BAD, region, offset, "out of memory decompressing an entry");
            fc->rc = KW_ENOMEM;
            return;
        }
        a->plain = p;
        a->plain_cap = (size_t)raw_len;
    }
    if (kw__wal_decompress(data, len, a->plain, (size_t)raw_len) != 0) {
        note(a, fc, KW_WAL_REC_BAD, region, offset,
             "compressed entry does not decompress to its declared length (LZ4)");
        return;
    }
    emit_entry(a, region, offset, first, parts, a->plain, (size_t)raw_len);
}

/* The LAST arrived: hand the buffer out as the entry and close the region's entry. */
static void complete(kw_wal_record_asm *a, feed_ctx *fc, kw_wal_record_region *r, int64_t offset)
{
    if (r->codec != KW_WAL_CODEC_RAW) {
        emit_stored(a, fc, r->region_id, offset, r->first_offset, r->nparts, r->buf, r->len,
                    r->codec, r->raw_len);
        recent_add(r, r->tag);
        region_close(a, r);
        return;
    }
    free(a->done);
    a->done = r->buf;
    a->done_cap = r->cap;
    emit_entry(a, r->region_id, offset, r->first_offset, r->nparts, r->buf, r->len);
    r->buf = NULL;
    recent_add(r, r->tag);
    region_close(a, r);
}

static void feed_first(kw_wal_record_asm *a, feed_ctx *fc, kw_wal_record_region *r,
                       const kw_wal_record_key *k, int64_t offset, const uint8_t *v, size_t n)
{
    const char *why = NULL;
    if (r && r->open) {
        if (same_first(r, k, v, n)) {
            r->latest_first_offset = offset;
            note(a, fc, KW_WAL_REC_DUPLICATE, k->region_id, offset,
                 "a FIRST part read before (retried produce)");
            return;
        }
        abandon(a, fc, r, offset, "a new entry began before the open entry's LAST part", false);
    }
    if (!r && !(r = region_get(a, k->region_id, &why))) {
        kw_wal_record_event *ev = push(a, KW_WAL_REC_ABANDONED, k->region_id, offset, why);
        ev->first_offset = offset;
        ev->parts = 1;
        a->stats.abandoned++;
        fc->malformed = true;
        if (strcmp(why, "out of memory") == 0)
            fc->rc = KW_ENOMEM;
        return;
    }
    r->skipping = false;
    r->open = true;
    r->tag = k->tag;
    r->first_offset = r->latest_first_offset = r->last_offset = offset;
    r->expect_parts = k->total_parts;
    r->expect_len = k->entry_len;
    r->codec = k->codec;
    r->raw_len = k->raw_len;
    /* kwal's FIRST says how big the entry is: refuse it before buffering, or reserve it once */
    if (r->expect_parts) {
        uint64_t cost = k->entry_len + (uint64_t)k->total_parts * sizeof(size_t);
        if (cost < k->entry_len || cost > a->opts.max_entry_bytes) {
            r->nparts = 1;
            abandon(a, fc, r, offset, "entry larger than max_entry_bytes", true);
            return;
        }
        uint8_t *b = malloc(k->entry_len ? (size_t)k->entry_len : 1);
        if (b) {
            r->buf = b;
            r->cap = (size_t)k->entry_len;
        }
    }
    int rc = region_append(a, r, v, n, &why);
    if (rc) {
        r->nparts = r->nparts ? r->nparts : 1;
        abandon(a, fc, r, offset, why, true);
        if (rc == KW_ENOMEM)
            fc->rc = rc;
    }
}

static void feed_part(kw_wal_record_asm *a, feed_ctx *fc, kw_wal_record_region *r,
                      const kw_wal_record_key *k, int64_t offset, const uint8_t *v, size_t n)
{
    bool last = k->kind == KW_WAL_PART_LAST;
    if (!r || !r->open) {
        if (r && r->skipping && (!r->skip_tag || r->skip_tag == k->tag)) {
            a->stats.dropped_parts++;
            if (last)
                r->skipping = false;
            return;
        }
        note(a, fc, KW_WAL_REC_ORPHAN, k->region_id, offset,
             last ? "a LAST part with no FIRST before it"
                  : "a MIDDLE part with no FIRST before it");
        return;
    }
    if (k->tag != r->tag) {
        /* not this entry's part (its own tag is not a recent one either): drop it, keep the entry
         */
        note(a, fc, KW_WAL_REC_ORPHAN, k->region_id, offset,
             "a part of another entry inside the open one");
        return;
    }
    uint32_t idx = k->index == KW_WAL_PART_INDEX_NONE ? r->nparts : k->index;
    if (idx < r->nparts) {
        if (!last && (r->tag || part_equal(r, idx, v, n))) {
            note(a, fc, KW_WAL_REC_DUPLICATE, k->region_id, offset,
                 "a part read before (retried produce)");
            return;
        }
        if (last || r->tag) {
            abandon(a, fc, r, offset, "a LAST part whose index was read before", false);
            return;
        }
        if (r->latest_first_offset == r->first_offset) {
            /* no FIRST came again, so no new entry began: the log is inconsistent */
            abandon(a, fc, r, offset, "a MIDDLE part repeats an index with other bytes", true);
            return;
        }
        /*
         * The FIRST was the same bytes but this part is not: the writer began a
         * new entry with the same beginning.  The old one is given up; the new
         * one keeps the parts both share.
         */
        note_abandoned(a, fc, r, offset, "a new entry began with the same FIRST part");
        region_truncate(a, r, idx);
        r->first_offset = r->latest_first_offset;
    } else if (idx > r->nparts) {
        abandon(a, fc, r, offset,
                last ? "parts missing before the LAST part" : "a MIDDLE part is missing", !last);
        return;
    }
    if (r->expect_parts) {
        if (!last && idx >= r->expect_parts - 1) {
            abandon(a, fc, r, offset, "more parts than the FIRST part declared", true);
            return;
        }
        if (last && idx != r->expect_parts - 1) {
            abandon(a, fc, r, offset, "parts missing before the LAST part", false);
            return;
        }
    }
    const char *why = NULL;
    int rc = region_append(a, r, v, n, &why);
    if (rc) {
        abandon(a, fc, r, offset, why, !last);
        if (rc == KW_ENOMEM)
            fc->rc = rc;
        return;
    }
    r->last_offset = offset;
    if (!last)
        return;
    if (r->expect_parts && r->len != r->expect_len) {
        abandon(a, fc, r, offset, "entry shorter than its FIRST part declared", false);
        return;
    }
    complete(a, fc, r, offset);
}

/* Whether only_region keeps this region's records: one region, or a sorted set. */
static bool wanted(const kw_wal_record_asm_options *o, uint64_t region)
{
    if (!o->regions)
        return region == o->region_id;
    return kw__wal_region_find(o->regions, o->nregions, region) < o->nregions;
}

int kw__wal_record_asm_feed(kw_wal_record_asm *a, int64_t offset, const uint8_t *key,
                            size_t key_len, const uint8_t *value, size_t value_len)
{
    if (a->finishing) /* fed again before finish was drained: start over */
        table_clear(a), a->finishing = false;
    a->nevents = a->next_event = 0;
    a->stats.records++;
    feed_ctx fc = {false, 0};
    /* GreptimeDB's noop record (null key, null value); any null value means no entry */
    if (!value) {
        a->stats.noop++;
        return 0;
    }
    kw_wal_record_key k;
    const char *why = NULL;
    if (!key) {
        note(a, &fc, KW_WAL_REC_BAD, 0, offset, "record has no key");
    } else if (kw__wal_record_key_decode(key, key_len, &k, &why) != 0) {
        note(a, &fc, KW_WAL_REC_BAD, 0, offset, why);
    } else if (a->opts.only_region && !wanted(&a->opts, k.region_id)) {
        a->stats.other_region++;
        return 0;
    } else if (k.kind != KW_WAL_PART_FULL && value_len == 0) {
        /* splitting never makes an empty part; refusing them bounds a part list by its bytes */
        note(a, &fc, KW_WAL_REC_BAD, k.region_id, offset, "an empty part of a split entry");
    } else {
        kw_wal_record_region *r = region_find(a, k.region_id);
        if (k.tag && r && recent_has(r, k.tag)) {
            note(a, &fc, KW_WAL_REC_DUPLICATE, k.region_id, offset,
                 "a record of an entry read before (retried produce)");
        } else if (k.kind == KW_WAL_PART_FULL) {
            if (r && r->open)
                abandon(a, &fc, r, offset, "a FULL record came before the open entry's LAST part",
                        false);
            if (r && !r->skip_tag)
                r->skipping = false; /* untagged: the writer moved on, no more of the old parts */
            emit_stored(a, &fc, k.region_id, offset, offset, 1, value, value_len, k.codec,
                        k.raw_len);
            if (k.tag && (r || (r = region_get(a, k.region_id, &why))))
                recent_add(r, k.tag);
        } else if (k.kind == KW_WAL_PART_FIRST) {
            feed_first(a, &fc, r, &k, offset, value, value_len);
        } else {
            feed_part(a, &fc, r, &k, offset, value, value_len);
        }
    }
    if (fc.rc)
        return fc.rc;
    return a->opts.strict && fc.malformed ? KW_EMALFORMED : 0;
}

bool kw__wal_record_asm_next(kw_wal_record_asm *a, kw_wal_record_event *ev)
{
    if (a->next_event < a->nevents) {
        *ev = a->events[a->next_event++];
        return true;
    }
    if (!a->finishing)
        return false;
    for (; a->finish_slot < a->nslots; a->finish_slot++) {
        kw_wal_record_region *r = a->slots[a->finish_slot];
        if (!r || !r->open)
            continue;
        memset(ev, 0, sizeof(*ev));
        ev->kind = KW_WAL_REC_INCOMPLETE;
        ev->region_id = r->region_id;
        ev->offset = r->last_offset;
        ev->first_offset = r->first_offset;
        ev->parts = r->nparts;
        ev->why = "the log ends before the entry's LAST part";
        a->stats.incomplete++;
        region_close(a, r);
        a->finish_slot++;
        return true;
    }
    table_clear(a);
    a->finishing = false;
    return false;
}

void kw__wal_record_asm_finish(kw_wal_record_asm *a)
{
    a->finishing = true;
    a->finish_slot = 0;
}
