/* WAL entry splitting: how an entry too large for a batch is cut into parts, and each part's key. */
#include <string.h>

#include "record.h"

size_t kw__wal_split_max_payload(size_t max_batch_bytes)
{
    return max_batch_bytes > KW_WAL_RECORD_OVERHEAD ? max_batch_bytes - KW_WAL_RECORD_OVERHEAD : 0;
}

int kw__wal_split(size_t entry_len, size_t max_part, uint32_t *nparts)
{
    if (max_part == 0)
        return KW_EINVAL;
    if (entry_len <= max_part) {
        *nparts = 1;
        return 0;
    }
    size_t n = entry_len / max_part + (entry_len % max_part != 0);
    if (n >= KW_WAL_PART_INDEX_NONE)
        return KW_ETOOBIG;
    *nparts = (uint32_t)n;
    return 0;
}

kw_wal_part kw__wal_split_part(size_t entry_len, size_t max_part, uint32_t nparts, uint32_t i)
{
    if (nparts <= 1)
        return (kw_wal_part){KW_WAL_PART_FULL, 0, 0, entry_len};
    size_t off = (size_t)i * max_part;
    size_t len = entry_len - off < max_part ? entry_len - off : max_part;
    int kind =
        i == 0 ? KW_WAL_PART_FIRST : (i == nparts - 1 ? KW_WAL_PART_LAST : KW_WAL_PART_MIDDLE);
    return (kw_wal_part){kind, i, off, len};
}

void kw__wal_record_key_for_part(kw_wal_record_key *k, int format, uint64_t region_id, uint64_t tag,
                                 const kw_wal_part *p, uint32_t nparts, size_t entry_len)
{
    memset(k, 0, sizeof(*k));
    k->format = format;
    k->kind = p->kind;
    k->region_id = region_id;
    k->index = p->index;
    k->topic = (kw_str){"", 0};
    if (format == KW_WAL_FORMAT_GREPTIMEDB) {
        if (p->kind == KW_WAL_PART_LAST)
            k->index = KW_WAL_PART_INDEX_NONE;
        return;
    }
    k->tag = tag;
    if (p->kind == KW_WAL_PART_FIRST) {
        k->total_parts = nparts;
        k->entry_len = entry_len;
    }
}
