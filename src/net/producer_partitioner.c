/* Producer partitioner: Kafka's murmur2 of the key (as the Java client), sticky for null keys. */
#include "net/producer_int.h"

/*
 * Kafka's murmur2: MurmurHash2 (32-bit) with seed 0x9747b28c, the key read as
 * little-endian 4-byte words, the 1-3 tail bytes folded in last.  Unsigned
 * arithmetic here is the same bits as Java's wrapping int arithmetic, and
 * Java's `>>>` is a logical shift, as on uint32_t.
 */
KW_API uint32_t kw_murmur2(const void *data, size_t len)
{
    const uint8_t *d = data;
    const uint32_t m = 0x5bd1e995u;
    uint32_t h = 0x9747b28cu ^ (uint32_t)len;
    size_t words = len / 4;
    for (size_t i = 0; i < words; i++) {
        const uint8_t *w = d + 4 * i;
        uint32_t k =
            (uint32_t)w[0] | (uint32_t)w[1] << 8 | (uint32_t)w[2] << 16 | (uint32_t)w[3] << 24;
        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
    }
    const uint8_t *tail = d + 4 * words;
    switch (len & 3) {
    case 3:
        h ^= (uint32_t)tail[2] << 16;
        /* fall through */
    case 2:
        h ^= (uint32_t)tail[1] << 8;
        /* fall through */
    case 1:
        h ^= tail[0];
        h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}

KW_API int32_t kw_producer_partition(const void *key, size_t key_len, int32_t partition_count)
{
    if (!key || partition_count <= 0)
        return -1;
    /* Java's toPositive: the sign bit cleared, not the absolute value. */
    return (int32_t)((kw_murmur2(key, key_len) & 0x7fffffffu) % (uint32_t)partition_count);
}

/* xorshift64: the producer's own generator (no process-global rand state). */
static uint32_t next_random(kw_producer *p)
{
    uint64_t x = p->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p->rng = x;
    return (uint32_t)(x >> 32);
}

int32_t kw__producer_pick(kw_producer *p, kw__producer_topic *t, const kw_producer_record *rec)
{
    if (rec->key)
        return kw_producer_partition(rec->key, rec->key_len, t->nparts);
    /*
     * Null keys stick to one partition until its batch closes (kw__producer_close
     * resets t->sticky), so they fill whole batches instead of spreading one record
     * per partition.  The next pick avoids the partition just left when there is a
     * choice, so consecutive batches rotate.
     */
    if (t->sticky < 0 || t->sticky >= t->nparts) {
        int32_t prev = t->sticky;
        int32_t pick = (int32_t)(next_random(p) % (uint32_t)t->nparts);
        if (t->nparts > 1 && pick == -prev - 2)
            pick = (pick + 1) % t->nparts;
        t->sticky = pick;
    }
    return t->sticky;
}
