/* read_committed bookkeeping: aborted transactions until their ABORT marker (see aborted.h). */
#include "net/aborted.h"

#include <stdlib.h>

#include "kwal/error.h"

int kw__aborted_add(kw__aborted_set *s, int64_t producer_id, int64_t first_offset)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].producer_id == producer_id && s->v[i].first_offset == first_offset)
            return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        kw__aborted_txn *v = realloc(s->v, cap * sizeof(*v));
        if (!v)
            return KW_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = (kw__aborted_txn){producer_id, first_offset};
    return 0;
}

int kw__aborted_merge(kw__aborted_set *s, const kw__aborted_set *from)
{
    for (size_t i = 0; i < from->n; i++) {
        int rc = kw__aborted_add(s, from->v[i].producer_id, from->v[i].first_offset);
        if (rc)
            return rc;
    }
    return 0;
}

bool kw__aborted_covers(const kw__aborted_set *s, const kw_batch *b)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].producer_id == b->producer_id &&
            s->v[i].first_offset <= kw__batch_last_offset(b))
            return true;
    return false;
}

void kw__aborted_end(kw__aborted_set *s, const kw_batch *marker)
{
    for (size_t i = 0; i < s->n;)
        if (s->v[i].producer_id == marker->producer_id &&
            s->v[i].first_offset <= marker->base_offset)
            s->v[i] = s->v[--s->n];
        else
            i++;
}

void kw__aborted_free(kw__aborted_set *s)
{
    free(s->v);
    *s = (kw__aborted_set){0};
}
