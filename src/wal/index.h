/* The WAL index's record: where one region's entries lie in one topic (offset ranges), as bytes. */
#ifndef KW_WAL_INDEX_H
#define KW_WAL_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One record of the index topic says, for one (topic, region):
 *
 *   every record of the region in the topic with an offset in
 *   [valid_from, covered) lies in one of ranges[] (sorted, disjoint, inside
 *   [valid_from, covered)).
 *
 * Outside [valid_from, covered) it says nothing.  Only the region's writer
 * makes the claim, and only about offsets the broker acknowledged (acks=all),
 * so a record can be behind what is durable but never ahead of it.  bytes is
 * the size of the record batches that hold the range (0: unknown), so a
 * replay can size its fetch to it.
 *
 * Value layout (big-endian, unsigned varints as in Kafka's protobuf-style
 * encoding):
 *   "KWIX" u8 version(1) | u16 topic_len, topic | u64 region_id |
 *   varint valid_from | varint covered - valid_from | varint n |
 *   n x (varint start - previous end, varint end - start, varint bytes)
 * Key: "kwix/" topic "/" region_id in decimal (compaction keeps the newest).
 */

#define KW_WAL_INDEX_MAX_RANGES 4096
#define KW_WAL_INDEX_TOPIC_MAX 249 /* Kafka's topic name limit */
#define KW_WAL_INDEX_KEY_MAX (5 + KW_WAL_INDEX_TOPIC_MAX + 1 + 20)

typedef struct kw_wal_index_range {
    int64_t start, end; /* [start, end) */
    uint64_t bytes;
} kw_wal_index_range;

typedef struct kw_wal_index_record {
    const char *topic; /* decode: points into the input */
    size_t topic_len;
    uint64_t region_id;
    int64_t valid_from, covered;
    kw_wal_index_range *ranges; /* decode: malloc'd, the caller frees */
    size_t n;
} kw_wal_index_record;

/* The record's key into buf (KW_WAL_INDEX_KEY_MAX bytes): its length, or -1 for a bad topic. */
int kw__wal_index_key(char *buf, const char *topic, uint64_t region_id);

/* Encodes rec into a malloc'd buffer (*out, *len).  0, KW_EINVAL (a bad record), KW_ENOMEM. */
int kw__wal_index_encode(const kw_wal_index_record *rec, uint8_t **out, size_t *len);

/*
 * Decodes a value read from the index topic.  0 with *rec filled (free
 * rec->ranges), or KW_EMALFORMED with *why saying what was wrong (a static
 * string), or KW_ENOMEM.  Nothing past len is read.
 */
int kw__wal_index_decode(const uint8_t *buf, size_t len, kw_wal_index_record *rec,
                         const char **why);

/*
 * A growing range list (the writer's side): adds [start, end) of `bytes`,
 * start >= the last range's end; merges into the last range when it
 * touches it; past KW_WAL_INDEX_MAX_RANGES joins the two ranges with the
 * smallest gap (a wider range only costs a larger fetch).  0 or KW_ENOMEM.
 */
typedef struct kw_wal_index_list {
    kw_wal_index_range *v;
    size_t n, cap;
} kw_wal_index_list;
int kw__wal_index_list_add(kw_wal_index_list *l, int64_t start, int64_t end, uint64_t bytes);
/* Drops ranges that end at or below `below` (a pruned or flushed prefix). */
void kw__wal_index_list_drop_below(kw_wal_index_list *l, int64_t below);
void kw__wal_index_list_free(kw_wal_index_list *l);

#endif /* KW_WAL_INDEX_H */
