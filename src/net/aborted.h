/* read_committed bookkeeping the consumer and the WAL replay share: aborted transactions until their marker. */
#ifndef KW_NET_ABORTED_H
#define KW_NET_ABORTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/batch.h"

/*
 * A read_committed Fetch response lists the aborted transactions that
 * overlap it: (producer id, first offset).  A transactional batch of a
 * listed producer that ends at or after that first offset belongs to the
 * aborted transaction and is dropped, until that producer's ABORT marker (a
 * control batch) ends it; then the entry goes, so the producer's next
 * transaction is read again.
 */
typedef struct kw__aborted_txn {
    int64_t producer_id;
    int64_t first_offset;
} kw__aborted_txn;

typedef struct kw__aborted_set {
    kw__aborted_txn *v;
    size_t n, cap;
} kw__aborted_set;

/* Adds (producer_id, first_offset) unless it is there already.  0 or KW_ENOMEM. */
int kw__aborted_add(kw__aborted_set *s, int64_t producer_id, int64_t first_offset);
/* Adds every entry of from (each once).  0 or KW_ENOMEM. */
int kw__aborted_merge(kw__aborted_set *s, const kw__aborted_set *from);
/* Whether transactional batch b belongs to a transaction s says was aborted. */
bool kw__aborted_covers(const kw__aborted_set *s, const kw_batch *b);
/* An ABORT marker: ends its producer's aborted transactions that began before it. */
void kw__aborted_end(kw__aborted_set *s, const kw_batch *marker);
/* Frees the entries; s is empty (and reusable) after. */
void kw__aborted_free(kw__aborted_set *s);

#endif /* KW_NET_ABORTED_H */
