/* InitProducerId as every kwal producer asks it: record producer, transactional one, WAL. */
#ifndef KW_NET_PRODUCER_ID_H
#define KW_NET_PRODUCER_ID_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/kerr.h"
#include "proto/msg_group.h"
#include "proto/schema.h"

/*
 * Fills req for version.  transactional_id NULL: an idempotent producer's
 * request.  producer_id / epoch: the current ones (-1 / -1 for a new id);
 * from v3 on (KIP-360) asking with them bumps the epoch of the same id, so
 * the broker forgets the id's old sequence state; below v3 the broker cannot
 * bump and hands out a fresh id.
 */
static inline void kw__producer_id_request(kw_init_producer_id_req *req, int version,
                                           const char *transactional_id,
                                           int32_t transaction_timeout_ms, int64_t producer_id,
                                           int16_t producer_epoch)
{
    kw__schema_init(kw__api(KW_API_INIT_PRODUCER_ID)->req, version, req);
    req->transactional_id = transactional_id ? kw_str_c(transactional_id) : KW_STR_NULL;
    req->transaction_timeout_ms = transaction_timeout_ms;
    req->producer_id = version >= 3 ? producer_id : -1;
    req->producer_epoch = version >= 3 ? producer_epoch : -1;
}

/*
 * The InitProducerId answers that say the id being bumped is not ours any
 * more (another producer took it, or the broker dropped it): ask again for a
 * fresh id (-1 / -1) instead of a bump.
 */
static inline bool kw__producer_id_stale(int16_t kerr)
{
    return kerr == KW_KERR_INVALID_PRODUCER_EPOCH || kerr == KW_KERR_PRODUCER_FENCED ||
           kerr == 49 /* INVALID_PRODUCER_ID_MAPPING */;
}

#endif /* KW_NET_PRODUCER_ID_H */
