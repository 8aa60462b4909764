/* The region allocator: which WAL topic each region writes to, chosen once and kept in the store.
 */
#ifndef KW_META_ALLOCATOR_H
#define KW_META_ALLOCATOR_H

#include <stddef.h>
#include <stdint.h>

#include "kwal/wal.h"
#include "meta/store.h"
#include "meta/topics.h"

/*
 * Keys in the store (all ASCII, so `kwal meta` tools can print them):
 *
 *   "wal/region/<id>"  -> the topic name, e.g. "greptimedb_wal_topic_3"
 *       <id> is the region id in decimal, zero-padded to 20 digits, so keys
 *       sort in region-id order and a table's regions (GreptimeDB puts the
 *       table id in the high 32 bits) form one key range.  Written once, with
 *       compare-and-put on "absent": the first metasrv to assign a region wins
 *       and every other one reads its answer.
 *   "wal/alloc/next"   -> the round-robin counter in decimal ("0", "1", ...)
 *       The next slot; slot s goes to topic s % num_topics.  A metasrv claims
 *       slots by compare-and-put from the revision it read, so two metasrvs
 *       (or threads) never hand out the same slot.  A slot claimed and then
 *       not used (the process died, or another metasrv assigned the region
 *       first) is skipped: round-robin stays even to within those gaps, and
 *       no region ever moves.
 *
 * Durability: when an allocation returns, the region's topic is in the store
 * (fsynced, for the file backend), so a metasrv that restarts, or another one
 * that takes over, gives the region the same topic.  A persisted topic is
 * returned as it is even if num_topics or the prefix has changed since: the
 * region's unflushed entries are in that topic, and moving it would lose
 * them.
 */
#define KW_META_ALLOC_REGION_PREFIX "wal/region/"
#define KW_META_ALLOC_COUNTER_KEY "wal/alloc/next"

enum kw_meta_selector {
    KW_META_SELECTOR_ROUND_ROBIN = 0, /* the default: slots from the shared counter */
    KW_META_SELECTOR_RANDOM = 1,      /* a uniformly random topic per new region */
};

/* Zero means default. */
typedef struct kw_meta_alloc_options {
    kw_meta_store *store;          /* required; not owned, must outlive the allocator */
    const char *topic_name_prefix; /* required (copied): topics are "{prefix}_{0..num_topics-1}" */
    uint32_t num_topics;           /* required, >= 1 */
    int selector;                  /* enum kw_meta_selector */
    uint64_t random_seed;          /* RANDOM: 0 seeds from the kernel (getrandom); tests fix it */
} kw_meta_alloc_options;

typedef struct kw_meta_alloc kw_meta_alloc;

/* 0, KW_EINVAL (a required option missing, or a prefix that makes names too long), KW_ENOMEM. */
int kw__meta_alloc_new(kw_meta_alloc **out, const kw_meta_alloc_options *opt, char *err,
                       size_t errlen);
/* NULL is fine.  The store is not closed. */
void kw__meta_alloc_free(kw_meta_alloc *a);

/*
 * Every call below may come from any thread at the same time, and from
 * several processes sharing one store backend (etcd) at the same time.
 * Errors are the store's (KW_EIO, ...) or KW_EAGAIN when compare-and-put kept
 * losing (more than 1000 conflicts in a row); kw__meta_alloc_errstr says more.
 */

/*
 * The topic of region_id: the persisted one, or a new one chosen by the
 * selector and persisted before this returns.  topic gets the name (cap >=
 * KW_META_TOPIC_NAME_MAX always suffices).
 */
int kw__meta_alloc_topic(kw_meta_alloc *a, uint64_t region_id, char *topic, size_t cap);

/*
 * The same for n regions at once (a table's regions): round-robin claims the
 * slots of all new regions in one compare-and-put, so they get consecutive
 * topics.  topics is n * KW_META_TOPIC_NAME_MAX bytes: region i's name is at
 * topics + i * KW_META_TOPIC_NAME_MAX.  On error some regions may already be
 * assigned (each assignment is durable on its own); calling again finishes.
 */
int kw__meta_alloc_topics(kw_meta_alloc *a, const uint64_t *region_ids, size_t n, char *topics);

/* The persisted topic without assigning one: 0, or KW_ENOTFOUND. */
int kw__meta_alloc_lookup(kw_meta_alloc *a, uint64_t region_id, char *topic, size_t cap);

/*
 * Forgets a dropped region's assignment (KW_ENOTFOUND if it had none).  Only
 * for a region that is gone for good: a region that comes back is assigned
 * anew, maybe to another topic.
 */
int kw__meta_alloc_release(kw_meta_alloc *a, uint64_t region_id);

/*
 * Calls cb for every assigned region in region-id order (a snapshot; cb may
 * call the allocator).  cb returns 0 to go on; anything else stops the walk
 * and is returned.  For the pruner: which regions share a topic.
 */
typedef int kw_meta_alloc_each_fn(void *arg, uint64_t region_id, const char *topic);
int kw__meta_alloc_foreach(kw_meta_alloc *a, kw_meta_alloc_each_fn *cb, void *arg);

/* What a datanode needs to open a region's WAL: the region and its topic (kafka provider). */
typedef struct kw_meta_region_wal {
    uint64_t region_id;
    char topic[KW_META_TOPIC_NAME_MAX];
} kw_meta_region_wal;

/* kw__meta_alloc_topic into *out. */
int kw__meta_alloc_wal_options(kw_meta_alloc *a, uint64_t region_id, kw_meta_region_wal *out);

/*
 * The region's WAL options as GreptimeDB serialises them into a region's
 * options: {"wal.provider":"kafka","wal.kafka.topic":"<topic>"}.  Topic names
 * need no JSON escaping (letters, digits, '.', '_', '-').  0, or KW_ETOOBIG
 * when cap is too small.
 */
int kw__meta_region_wal_json(const kw_meta_region_wal *w, char *buf, size_t cap);

/* Gives wal the region's topic (kw_wal_set_region_topic), assigning one if needed. */
int kw__meta_alloc_apply(kw_meta_alloc *a, kw_wal *wal, uint64_t region_id);

/* The detail text of the latest failure ("" if none). */
void kw__meta_alloc_errstr(kw_meta_alloc *a, char *buf, size_t cap);

#endif /* KW_META_ALLOCATOR_H */
