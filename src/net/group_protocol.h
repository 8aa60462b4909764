/* The consumer protocol's JoinGroup/SyncGroup metadata bytes: subscriptions and assignments (versions 0-3). */
#ifndef KW_NET_GROUP_PROTOCOL_H
#define KW_NET_GROUP_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "proto/wire.h"

/*
 * Kafka's "consumer" protocol type puts two documents into the group messages:
 * each member's ConsumerProtocolSubscription in its JoinGroup protocol
 * metadata, and the leader's ConsumerProtocolAssignment for each member in
 * SyncGroup.  Both are an int16 version followed by a non-flexible (classic
 * encodings, no tagged fields) body:
 *
 *   Subscription v0: topics []string, user_data nullable bytes
 *                v1+: owned_partitions [](topic string, partitions []int32)
 *                v2+: generation_id int32 (default -1)
 *                v3+: rack_id nullable string (default null)
 *   Assignment   v0+: assigned_partitions [](topic string, partitions []int32),
 *                     user_data nullable bytes
 *
 * A version above 3 is read as version 3 and its trailing bytes are ignored:
 * Kafka promises later versions only append fields, and Java members read
 * them that way.  Within versions 0-3 trailing bytes are an error.
 *
 * What a member sends, as a Java 4.x member does: one JoinGroup protocol per
 * assignor it accepts (most preferred first), each with a v3 subscription of
 * its topics (sorted), owned_partitions = what it holds now (empty under the
 * EAGER protocol, where it gave everything up before joining),
 * generation_id = the generation of its last successful SyncGroup (-1 none)
 * and rack_id; user_data is null except for cooperative-sticky, where it is
 * kw__group_sticky_user_data(that generation) (leaders before v2 read it
 * there).  A leader answers every member in SyncGroup, an empty assignment
 * included: Java members refuse a SyncGroup answer shorter than 2 bytes.
 *
 * Decoded strings and bytes point into the decoded buffer (not copied, not
 * NUL-terminated); arrays are allocated from the caller's arena.  So the
 * result lives as long as both the buffer and the arena.
 */

#define KW_GROUP_PROTOCOL_TYPE "consumer"
/* The highest version kwal reads and writes of both documents. */
#define KW_GROUP_PROTOCOL_VERSION_MAX 3
/* Room for a decoder's detail text. */
#define KW_GROUP_DETAIL_MAX 160

/* One topic's partitions, as both documents group them. */
typedef struct kw__group_topic_partitions {
    kw_str topic;
    const int32_t *partitions;
    int32_t count;
} kw__group_topic_partitions;

typedef struct kw__group_subscription {
    int16_t version; /* encode: 0-3; decode: as sent (may be above 3) */
    const kw_str *topics;
    int32_t topic_count;
    kw_bytes user_data; /* len -1: null */
    /* v1+: what the member owns now (encode drops it below v1). */
    const kw__group_topic_partitions *owned;
    int32_t owned_count;
    int32_t generation; /* v2+; -1 when not sent or unknown */
    kw_str rack;        /* v3+; len -1: null (Java treats "" as no rack too) */
} kw__group_subscription;

typedef struct kw__group_assignment {
    int16_t version; /* encode: 0-3; decode: as sent */
    const kw__group_topic_partitions *assigned;
    int32_t assigned_count;
    kw_bytes user_data; /* len -1: null */
} kw__group_assignment;

/*
 * Appends the version-prefixed document to w.  Returns 0, KW_EINVAL (version
 * outside 0-3, a null topic name, a negative count or partition) or w's
 * error (KW_ENOMEM, KW_ETOOBIG).  Fields the version lacks are left out, as
 * Kafka's own writer does for these ignorable fields.
 */
int kw__group_subscription_encode(kw_wr *w, const kw__group_subscription *s);
int kw__group_assignment_encode(kw_wr *w, const kw__group_assignment *a);

/*
 * Decodes one document (the whole of buf[0..len)) into *out.  Returns 0,
 * KW_ETRUNCATED (the input ends inside a field), KW_EMALFORMED (a negative
 * version, a null where the spec forbids one, a negative length or
 * partition, trailing bytes) or KW_ENOMEM (the arena's limit); detail (at
 * least KW_GROUP_DETAIL_MAX bytes, may be NULL) then names the field.
 */
int kw__group_subscription_decode(const void *buf, size_t len, kw_arena *arena,
                                  kw__group_subscription *out, char *detail, size_t detail_cap);
int kw__group_assignment_decode(const void *buf, size_t len, kw_arena *arena,
                                kw__group_assignment *out, char *detail, size_t detail_cap);

/*
 * The generation a subscription says its owned partitions are from, as
 * Java's sticky assignors read it: generation_id when it is set (v2+, >= 0),
 * else the int32 the cooperative-sticky assignor puts at the start of its
 * user_data (what members before v2 sent), else -1.
 */
int32_t kw__group_subscription_generation(const kw__group_subscription *s);

/* The cooperative-sticky assignor's subscription user_data: the big-endian generation (-1 unknown). */
void kw__group_sticky_user_data(int32_t generation, uint8_t out[4]);

#endif /* KW_NET_GROUP_PROTOCOL_H */
