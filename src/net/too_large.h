/* A batch the broker refused as too large: the error text names its size, its largest record and the topic's limit. */
#ifndef KW_NET_TOO_LARGE_H
#define KW_NET_TOO_LARGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwal/client.h"

/* Gets the finished detail text (valid during the call).  Runs on the loop thread. */
typedef void kw__too_large_cb(void *arg, const char *detail);

/*
 * For a Produce answered MESSAGE_TOO_LARGE or RECORD_LIST_TOO_LARGE (kerr):
 * measures batch (read now: the caller may free it once this returns) and
 * asks the broker for the topic's max.message.bytes (segment.bytes for
 * RECORD_LIST_TOO_LARGE) with DescribeConfigs, then calls done once, on the
 * loop thread, with the text — also when DescribeConfigs failed (the text
 * then says the limit is not known, and why).  Any thread; never blocks.
 * Returns 0 (done will be called) or a negative code (done will not: the
 * caller writes its own text, e.g. with kw__too_large_format and limit -1).
 */
int kw__too_large_explain(kw_client *c, const char *topic, int32_t partition, int16_t kerr,
                          const uint8_t *batch, size_t batch_len, kw__too_large_cb *done,
                          void *arg);

/* The text itself: limit -1 when not known (why_unknown says why), from_broker when the topic
 * sets none (the broker's setting applies).  largest 0: not known. */
void kw__too_large_format(char *out, size_t cap, const char *topic, int32_t partition, int16_t kerr,
                          size_t batch_len, size_t records, size_t largest, int64_t limit,
                          bool from_broker, const char *why_unknown);

#endif /* KW_NET_TOO_LARGE_H */
