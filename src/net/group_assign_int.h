/* What the assignors share: the input indexed (members in order, topics by name, partitions numbered). */
#ifndef KW_NET_GROUP_ASSIGN_INT_H
#define KW_NET_GROUP_ASSIGN_INT_H

#include "net/group_assign.h"

/*
 * Every partition the assignment covers gets one number: the topics
 * (known, with partitions > 0, sorted by name) laid end to end, so partition
 * p of topic t is base[t] + p and numbers ascend in the order the output
 * lists them.  Scratch memory is malloc'd and freed by
 * kw__assign_context_free; nothing of it outlives the assign call.
 */
typedef struct kw__assign_context {
    const kw__assign_input *in;
    size_t member_count;
    size_t *order; /* member indices (into in->members) in Java's member order */

    size_t topic_count;                /* known topics */
    const kw__assign_topic **topics;   /* sorted by name */
    uint32_t *base;                    /* [topic_count + 1]: first partition number of each */
    uint32_t partition_count;          /* base[topic_count] */
    uint32_t *partition_topic;         /* [partition_count]: topic index of each partition */

    /* per member (input index): the known topics it subscribes to, ascending, no duplicates */
    uint32_t **subscribed;
    uint32_t *subscribed_count;

    char *detail;
    size_t detail_cap;
} kw__assign_context;

int kw__assign_context_init(kw__assign_context *c, const kw__assign_input *in, char *detail,
                            size_t detail_cap);
void kw__assign_context_free(kw__assign_context *c);

/* The topic index of a name, or -1 when it is not a known topic. */
int32_t kw__assign_topic_index(const kw__assign_context *c, kw_str topic);
/* Whether member m (input index) subscribes to topic index t. */
bool kw__assign_subscribes(const kw__assign_context *c, size_t m, uint32_t t);

/*
 * Writes out[m] from lists[m] (partition numbers, any order, no duplicates)
 * for every member, sorting the lists in place; allocates from arena.
 */
int kw__assign_context_output(kw__assign_context *c, uint32_t *const *lists, const uint32_t *counts,
                              kw_arena *arena, kw__member_assignment *out);

/* Byte order of two strings, shorter first on a common prefix (Java's order for ASCII). */
int kw__assign_str_cmp(kw_str a, kw_str b);

#endif /* KW_NET_GROUP_ASSIGN_INT_H */
