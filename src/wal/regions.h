/* The regions one replay serves, each from its own entry id: a sorted set both providers search. */
#ifndef KW_WAL_REGIONS_H
#define KW_WAL_REGIONS_H

#include <stddef.h>
#include <stdint.h>

/*
 * ids ascending and distinct, froms[i] the first entry id wanted of ids[i].
 * wal.c builds it (kw_wal_replay_open and kw_wal_replay_open_regions) and it
 * lives as long as the replay handle.
 */
typedef struct kw_wal_region_set {
    size_t n;
    const uint64_t *ids;
    const uint64_t *froms;
    uint64_t min_from; /* the smallest of froms: where reading starts */
} kw_wal_region_set;

/* The index of region in ids[0..n) (ascending), or n when it is not there. */
static inline size_t kw__wal_region_find(const uint64_t *ids, size_t n, uint64_t region)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < region)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && ids[lo] == region ? lo : n;
}

/* The index of region in s, or s->n when it is not one of them. */
static inline size_t kw__wal_region_index(const kw_wal_region_set *s, uint64_t region)
{
    return kw__wal_region_find(s->ids, s->n, region);
}

/* Whether entry id of region is one the replay hands out. */
static inline int kw__wal_region_wants(const kw_wal_region_set *s, uint64_t region, uint64_t id)
{
    size_t i = kw__wal_region_index(s, region);
    return i < s->n && id >= s->froms[i];
}

#endif /* KW_WAL_REGIONS_H */
