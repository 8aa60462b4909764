/* The Kafka WAL's round decision (batch_policy.h): pure, no I/O, no clock. */
#include "wal/batch_policy.h"

int kw__wal_round_decide(const kw__wal_round_view *v)
{
    if (v->topics_waiting == 0)
        return KW_WAL_ROUND_WAIT;
    if (v->rounds_out == 0)
        return KW_WAL_ROUND_SEND;
    uint32_t max = v->max_rounds ? v->max_rounds : 1;
    if (v->rounds_out >= max)
        return KW_WAL_ROUND_WAIT;
    if (v->topics_full > 0)
        return KW_WAL_ROUND_SEND;
    if (v->min_fill == 0)
        return KW_WAL_ROUND_SEND;
    /* bytes_waiting / topics_waiting >= min_fill, without overflow or rounding */
    if (v->bytes_waiting / v->min_fill >= v->topics_waiting)
        return KW_WAL_ROUND_SEND;
    return KW_WAL_ROUND_WAIT;
}
