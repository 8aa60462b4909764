/* Partition assignors a group leader runs: range, roundrobin and cooperative-sticky, as Java's consumer names them. */
#ifndef KW_NET_GROUP_ASSIGN_H
#define KW_NET_GROUP_ASSIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/group_protocol.h"
#include "proto/wire.h"

/*
 * The leader of a classic consumer group gets every member's subscription in
 * its JoinGroup response, runs the assignor the group agreed on (the
 * JoinGroup protocol name) and sends each member its share in SyncGroup.
 * An assignor is a pure function of its input: no I/O, no clock, no global
 * state; any thread may call it.
 *
 * Every assignor orders members as Java's do, so a kwal leader and a Java
 * leader give the same answer for range and roundrobin: members with a
 * group_instance_id first, by instance id, then the others by member id
 * (byte order, which is Java's String order for ASCII names).
 */

typedef struct kw__assign_member {
    kw_str member_id;         /* unique in the group */
    kw_str group_instance_id; /* static membership; len -1: none */
    /* The member's decoded JoinGroup metadata: its topics, and for
     * cooperative-sticky its owned partitions and generation
     * (kw__group_subscription_generation). */
    const kw__group_subscription *subscription;
} kw__assign_member;

/* A topic the leader knows from metadata; partitions <= 0 leaves it out (not known yet). */
typedef struct kw__assign_topic {
    kw_str topic;
    int32_t partitions;
} kw__assign_topic;

typedef struct kw__assign_input {
    const kw__assign_member *members;
    size_t member_count;
    /* Topics a member subscribes to that are not here are not assigned
     * (Java's leader skips topics without metadata the same way). */
    const kw__assign_topic *topics;
    size_t topic_count;
} kw__assign_input;

/* What one member gets: topics in name order, each one's partitions ascending.  Ready for
 * kw__group_assignment.assigned; the topic strings point into the input's topics. */
typedef struct kw__member_assignment {
    const kw__group_topic_partitions *assigned;
    int32_t assigned_count;
} kw__member_assignment;

/*
 * Fills out[i] for in->members[i] (every member gets an entry, possibly
 * empty), allocating from arena; the result lives as long as the arena and
 * the input's topic strings.  Returns 0, KW_EINVAL (a member without a
 * subscription, a member id twice, a topic twice), KW_ETOOBIG (more than
 * KW_ASSIGN_PARTITIONS_MAX partitions) or KW_ENOMEM; detail (may be NULL)
 * says which.
 */
typedef int kw__assign_fn(const kw__assign_input *in, kw_arena *arena, kw__member_assignment *out,
                          char *detail, size_t detail_cap);

#define KW_ASSIGN_PARTITIONS_MAX (1 << 22)

typedef struct kw__assignor {
    const char *name; /* the JoinGroup protocol name */
    /* true: the COOPERATIVE rebalance protocol (KIP-429).  Members keep
     * what they own across a rebalance; a partition that changes owner is
     * left out of every assignment until its owner has given it up (the
     * owner sees it missing, revokes it and rejoins) and is assigned in the
     * following rebalance.  false: EAGER, every member gives up everything
     * before it joins. */
    bool cooperative;
    kw__assign_fn *assign;
} kw__assignor;

/*
 * The assignor with this JoinGroup protocol name: "range", "roundrobin" or
 * "cooperative-sticky" (Java's names); NULL for any other.
 */
const kw__assignor *kw__assignor_find(const char *name);
const kw__assignor *kw__assignor_find_str(kw_str name);

/*
 * range (Java's RangeAssignor without rack awareness): per topic, its
 * subscribers in member order split its partitions into consecutive ranges;
 * the first partitions % subscribers members get one more.
 */
int kw__assign_range(const kw__assign_input *in, kw_arena *arena, kw__member_assignment *out,
                     char *detail, size_t detail_cap);

/*
 * roundrobin (Java's RoundRobinAssignor): every partition of every
 * subscribed topic, topics by name and partitions ascending, dealt to the
 * members in order, skipping members not subscribed to the partition's topic.
 */
int kw__assign_roundrobin(const kw__assign_input *in, kw_arena *arena, kw__member_assignment *out,
                          char *detail, size_t detail_cap);

/*
 * cooperative-sticky (the behaviour of Java's CooperativeStickyAssignor; the
 * algorithm is kwal's own, so the answer may differ from a Java leader's
 * while keeping the same rules):
 *  - every partition of a subscribed topic goes to exactly one subscriber,
 *    unless it is held back by the cooperative rule below;
 *  - balanced: no chain of moves (each partition to a subscriber of its
 *    topic) could make the counts more even, so the counts are as even as
 *    the subscriptions allow; members with the same subscription end with
 *    counts that differ by at most one (counting the held-back partitions
 *    with the member they are meant for).  Groups with members x known
 *    topics above 2^24 get only direct moves, which still keep that
 *    within-one rule;
 *  - sticky: a partition stays with its previous owner unless balance needs
 *    it elsewhere; a member that must give some up gives up first the ones
 *    it did not own, then its highest-numbered ones.  The previous owner is
 *    the member that lists it in owned_partitions with the highest
 *    generation (kw__group_subscription_generation); a lower generation's
 *    claim is void; of several claims with the same highest generation the
 *    first member in member order keeps it;
 *  - cooperative: a partition whose previous owner is still in the group
 *    and claims it is never given to another member in the same round: it
 *    is left out of every assignment (the owner revokes it and rejoins) and
 *    assigned in the next round.  Partitions of members that left are
 *    assigned at once.
 * Rack ids are read but not used.
 */
int kw__assign_cooperative_sticky(const kw__assign_input *in, kw_arena *arena,
                                  kw__member_assignment *out, char *detail, size_t detail_cap);

#endif /* KW_NET_GROUP_ASSIGN_H */
