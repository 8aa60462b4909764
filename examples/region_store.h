/* regiond regions: in-memory maps per region, the WAL payload of a put, snapshot files. */
#ifndef RD_REGION_STORE_H
#define RD_REGION_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RD_MAX_KEY 255
#define RD_MAX_VALUE 65536
#define RD_MAX_REGIONS 4096

typedef struct rd_kv rd_kv;

typedef struct rd_region {
    uint64_t id;
    /* Highest WAL entry id applied to the map (valid when has_applied). */
    bool has_applied;
    uint64_t applied_id;
    /* What the snapshot on disk covers: replay starts at flushed_next (0 = from the start). */
    uint64_t flushed_next;
    uint64_t puts_since_flush;
    size_t nkeys;
    size_t nbuckets;
    rd_kv **buckets;
} rd_region;

typedef struct rd_store {
    char *dir; /* snapshot directory */
    size_t nregions;
    size_t cap;        /* slots in `table`, a power of two */
    rd_region **table; /* open addressing by region id */
} rd_store;

/* Opens (creating if needed) the snapshot directory; removes leftover temp files. */
int rd_store_open(rd_store *s, const char *dir, char *err, size_t errlen);
void rd_store_close(rd_store *s);

rd_region *rd_store_find(const rd_store *s, uint64_t id);

/*
 * Creates a region and, before returning, an empty snapshot file for it (fsynced, directory
 * fsynced): the file is what tells a restart that the region exists and must be replayed, so
 * it has to be on disk before the region's first WAL entry is.
 */
int rd_store_create(rd_store *s, uint64_t id, rd_region **out, char *err, size_t errlen);

/* Loads every region-*.snap in the directory; *loaded gets how many. */
int rd_store_load_all(rd_store *s, size_t *loaded, char *err, size_t errlen);

/*
 * Writes the region's map to its snapshot (temp file, fsync, rename, fsync directory): when this
 * returns 0 every entry <= applied_id is on disk outside the WAL, and flushed_next is updated.
 */
int rd_region_flush(const rd_store *s, rd_region *r, char *err, size_t errlen);

/* Sets key to value (copies both). 0 or -1 (out of memory). */
int rd_region_put(rd_region *r, const char *key, size_t klen, const char *val, size_t vlen);
/* The value of key, or NULL; *vlen gets its length. */
const char *rd_region_get(const rd_region *r, const char *key, size_t klen, size_t *vlen);

/* A put's WAL payload: varint key length, key, value. Returns the encoded size (<= cap) or 0. */
size_t rd_payload_encode(uint8_t *buf, size_t cap, const char *key, size_t klen, const char *val,
                         size_t vlen);
/* Decodes a payload; 0, or -1 when it is malformed. Pointers point into data. */
int rd_payload_decode(const uint8_t *data, size_t len, const char **key, size_t *klen,
                      const char **val, size_t *vlen);
#define RD_PAYLOAD_MAX (2 + RD_MAX_KEY + RD_MAX_VALUE)

/* Visits every region (order unspecified). */
#define RD_STORE_FOREACH(s, r)                                                                     \
    for (size_t rd__i = 0; rd__i < (s)->cap; rd__i++)                                              \
        for (rd_region *r = (s)->table[rd__i]; r; r = NULL)

#endif /* RD_REGION_STORE_H */
