/* The cooperative-sticky assignor: balanced, sticky, and never moving a partition while its owner still holds it. */
#include "group_assign_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The plan, in four steps over the numbered partitions:
 *  1. claims: each partition's previous owner is the member listing it in
 *     owned_partitions with the highest generation (the first in member
 *     order on a tie);
 *  2. every partition whose owner still subscribes to its topic stays
 *     there; the others go, topics with the fewest subscribers first, to
 *     the subscriber with the fewest partitions;
 *  3. balance: while a member holds a partition that a member with at
 *     least two fewer partitions could take, move it (partitions the donor
 *     did not own before go first); then, for groups whose subscriptions
 *     differ, while a chain of such moves reaches a member with at least two
 *     fewer, shift one partition along the chain.  A partition assignment
 *     to members with unit loads is as even as it can be exactly when no
 *     such chain exists (the optimality condition of semi-matchings), and
 *     each shift lowers the sum of squared counts, so this ends;
 *  4. cooperative: a partition that ends with a member other than its
 *     previous owner is held back from this round's assignment.
 */

typedef struct sticky {
    kw__assign_context *c;
    int32_t *generation; /* per member (input index) */
    int32_t *owner;      /* per partition: previous owner's member index, -1 none */
    int32_t *owner_generation;
    int32_t *at;       /* per partition: the member it is assigned to now, -1 none */
    uint32_t *pos;     /* per partition: its index in lists[at] */
    uint32_t **lists;  /* per member: the partitions it holds now */
    uint32_t *counts;  /* per member */
    uint32_t *held;    /* [member * topic_count + topic]: partitions of the topic a member holds (chain phase) */
    size_t *subscribers_of; /* per topic: offsets into subscriber_list */
    size_t *subscriber_list; /* member indices subscribed to each topic, in member order */
    size_t *rank;            /* per member: its position in member order */
} sticky;

static void hold(sticky *s, uint32_t p, size_t m)
{
    s->at[p] = (int32_t)m;
    s->pos[p] = s->counts[m];
    s->lists[m][s->counts[m]++] = p;
    if (s->held)
        s->held[m * s->c->topic_count + s->c->partition_topic[p]]++;
}

static void release(sticky *s, uint32_t p)
{
    size_t m = (size_t)s->at[p];
    uint32_t i = s->pos[p], last = s->lists[m][--s->counts[m]];
    s->lists[m][i] = last;
    s->pos[last] = i;
    s->at[p] = -1;
    if (s->held)
        s->held[m * s->c->topic_count + s->c->partition_topic[p]]--;
}

static void move(sticky *s, uint32_t p, size_t to)
{
    release(s, p);
    hold(s, p, to);
}

static int sticky_init(sticky *s, kw__assign_context *c)
{
    memset(s, 0, sizeof(*s));
    s->c = c;
    size_t nm = c->member_count ? c->member_count : 1, np = c->partition_count ? c->partition_count : 1;
    s->generation = malloc(nm * sizeof(*s->generation));
    s->owner = malloc(np * sizeof(*s->owner));
    s->owner_generation = malloc(np * sizeof(*s->owner_generation));
    s->at = malloc(np * sizeof(*s->at));
    s->pos = malloc(np * sizeof(*s->pos));
    s->lists = calloc(nm, sizeof(*s->lists));
    s->counts = calloc(nm, sizeof(*s->counts));
    s->subscribers_of = calloc(c->topic_count + 1, sizeof(*s->subscribers_of));
    s->rank = malloc(nm * sizeof(*s->rank));
    size_t total = 0;
    for (size_t m = 0; m < c->member_count; m++)
        total += c->subscribed_count[m];
    s->subscriber_list = malloc((total ? total : 1) * sizeof(*s->subscriber_list));
    if (!s->generation || !s->owner || !s->owner_generation || !s->at || !s->pos || !s->lists ||
        !s->counts || !s->subscribers_of || !s->subscriber_list || !s->rank)
        return KW_ENOMEM;
    for (size_t i = 0; i < c->member_count; i++)
        s->rank[c->order[i]] = i;
    for (size_t m = 0; m < c->member_count; m++) {
        size_t cap = 0;
        for (uint32_t i = 0; i < c->subscribed_count[m]; i++) {
            uint32_t t = c->subscribed[m][i];
            cap += c->base[t + 1] - c->base[t];
        }
        if (!(s->lists[m] = malloc((cap ? cap : 1) * sizeof(**s->lists))))
            return KW_ENOMEM;
        s->generation[m] = kw__group_subscription_generation(c->in->members[m].subscription);
    }
    /* subscribers of each topic, in member order (counting sort by topic) */
    for (size_t m = 0; m < c->member_count; m++)
        for (uint32_t i = 0; i < c->subscribed_count[m]; i++)
            s->subscribers_of[c->subscribed[m][i] + 1]++;
    for (size_t t = 0; t < c->topic_count; t++)
        s->subscribers_of[t + 1] += s->subscribers_of[t];
    size_t *fill = calloc(c->topic_count + 1, sizeof(*fill));
    if (!fill)
        return KW_ENOMEM;
    for (size_t i = 0; i < c->member_count; i++) {
        size_t m = c->order[i];
        for (uint32_t k = 0; k < c->subscribed_count[m]; k++) {
            uint32_t t = c->subscribed[m][k];
            s->subscriber_list[s->subscribers_of[t] + fill[t]++] = m;
        }
    }
    free(fill);
    for (uint32_t p = 0; p < c->partition_count; p++) {
        s->owner[p] = -1;
        s->owner_generation[p] = 0;
        s->at[p] = -1;
    }
    return 0;
}

static void sticky_free(sticky *s)
{
    if (s->lists)
        for (size_t m = 0; m < s->c->member_count; m++)
            free(s->lists[m]);
    free(s->lists);
    free(s->counts);
    free(s->generation);
    free(s->owner);
    free(s->owner_generation);
    free(s->at);
    free(s->pos);
    free(s->held);
    free(s->subscribers_of);
    free(s->subscriber_list);
    free(s->rank);
}

/* Step 1: each partition's previous owner, the claim with the highest generation winning. */
static void read_claims(sticky *s)
{
    kw__assign_context *c = s->c;
    for (size_t i = 0; i < c->member_count; i++) {
        size_t m = c->order[i];
        const kw__group_subscription *sub = c->in->members[m].subscription;
        if (sub->version < 1)
            continue;
        for (int32_t k = 0; k < sub->owned_count; k++) {
            int32_t t = kw__assign_topic_index(c, sub->owned[k].topic);
            if (t < 0)
                continue; /* a topic deleted or not known yet */
            uint32_t count = c->base[t + 1] - c->base[t];
            for (int32_t j = 0; j < sub->owned[k].count; j++) {
                int32_t part = sub->owned[k].partitions[j];
                if (part < 0 || (uint32_t)part >= count)
                    continue; /* partitions the topic no longer has */
                uint32_t p = c->base[t] + (uint32_t)part;
                if (s->owner[p] < 0 || s->generation[m] > s->owner_generation[p]) {
                    s->owner[p] = (int32_t)m;
                    s->owner_generation[p] = s->generation[m];
                }
            }
        }
    }
}

/* The subscriber of topic t with the fewest partitions (first in member order), other than `not`; -1 none. */
static int64_t least_loaded(const sticky *s, uint32_t t, int64_t not)
{
    int64_t best = -1;
    for (size_t i = s->subscribers_of[t]; i < s->subscribers_of[t + 1]; i++) {
        size_t m = s->subscriber_list[i];
        if ((int64_t)m != not && (best < 0 || s->counts[m] < s->counts[best]))
            best = (int64_t)m;
    }
    return best;
}

static int topic_by_subscribers(const void *x, const void *y, void *arg)
{
    const sticky *s = arg;
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    size_t na = s->subscribers_of[a + 1] - s->subscribers_of[a];
    size_t nb = s->subscribers_of[b + 1] - s->subscribers_of[b];
    if (na != nb)
        return na < nb ? -1 : 1;
    return a < b ? -1 : a > b;
}

/* Step 2: owners keep what they still subscribe to; the rest goes to the least loaded subscriber. */
static int place(sticky *s)
{
    kw__assign_context *c = s->c;
    for (uint32_t p = 0; p < c->partition_count; p++) {
        int32_t o = s->owner[p];
        if (o >= 0 && kw__assign_subscribes(c, (size_t)o, c->partition_topic[p]))
            hold(s, p, (size_t)o);
    }
    uint32_t *topics = malloc((c->topic_count ? c->topic_count : 1) * sizeof(*topics));
    if (!topics)
        return KW_ENOMEM;
    for (uint32_t t = 0; t < c->topic_count; t++)
        topics[t] = t;
    qsort_r(topics, c->topic_count, sizeof(*topics), topic_by_subscribers, s);
    for (size_t i = 0; i < c->topic_count; i++) {
        uint32_t t = topics[i];
        for (uint32_t p = c->base[t]; p < c->base[t + 1]; p++) {
            if (s->at[p] >= 0)
                continue;
            int64_t m = least_loaded(s, t, -1);
            if (m >= 0)
                hold(s, p, (size_t)m);
        }
    }
    free(topics);
    return 0;
}

/*
 * Which of two partitions a donor gives up first: one it did not own before
 * (no revocation needed) over one it did, then the higher number (so a
 * member keeps its lowest partitions, as Java's assignor tends to).
 */
static bool gives_up_before(const sticky *s, size_t donor, uint32_t a, uint32_t b)
{
    bool a_own = s->owner[a] == (int32_t)donor, b_own = s->owner[b] == (int32_t)donor;
    if (a_own != b_own)
        return !a_own;
    return a > b;
}

typedef struct donor_order {
    const sticky *s;
    size_t donor;
} donor_order;

static int give_up_cmp(const void *x, const void *y, void *arg)
{
    const donor_order *d = arg;
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a == b ? 0 : gives_up_before(d->s, d->donor, a, b) ? -1 : 1;
}

/*
 * Direct moves away from member a, to subscribers with at least two fewer
 * partitions, in the order a gives them up.  One pass suffices: a only
 * loses partitions and the others only gain, so a move refused once stays
 * refused.  Returns whether anything moved; scratch holds counts[a] entries.
 */
static bool move_from(sticky *s, size_t a, uint32_t *scratch)
{
    uint32_t n = s->counts[a];
    memcpy(scratch, s->lists[a], n * sizeof(*scratch));
    donor_order d = {s, a};
    qsort_r(scratch, n, sizeof(*scratch), give_up_cmp, &d);
    bool moved = false;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t p = scratch[i];
        int64_t to = least_loaded(s, s->c->partition_topic[p], (int64_t)a);
        if (to < 0 || s->counts[to] + 2 > s->counts[a])
            continue;
        move(s, p, (size_t)to);
        moved = true;
    }
    return moved;
}

static int by_count_desc(const void *x, const void *y, void *arg)
{
    const sticky *s = arg;
    size_t a = *(const size_t *)x, b = *(const size_t *)y;
    if (s->counts[a] != s->counts[b])
        return s->counts[a] > s->counts[b] ? -1 : 1;
    return s->rank[a] < s->rank[b] ? -1 : s->rank[a] > s->rank[b];
}

/* Step 3a: direct moves from fuller to emptier subscribers until none is left. */
static int balance_direct(sticky *s)
{
    kw__assign_context *c = s->c;
    uint32_t *scratch = malloc((c->partition_count ? c->partition_count : 1) * sizeof(*scratch));
    size_t *donors = malloc((c->member_count ? c->member_count : 1) * sizeof(*donors));
    if (!scratch || !donors) {
        free(scratch);
        free(donors);
        return KW_ENOMEM;
    }
    bool moved = true;
    while (moved) {
        moved = false;
        memcpy(donors, c->order, c->member_count * sizeof(*donors));
        qsort_r(donors, c->member_count, sizeof(*donors), by_count_desc, s);
        for (size_t i = 0; i < c->member_count; i++)
            moved = move_from(s, donors[i], scratch) || moved;
    }
    free(scratch);
    free(donors);
    return 0;
}

/* Whether member y can take some partition member x holds now. */
static bool can_take_from(const sticky *s, size_t x, size_t y)
{
    const kw__assign_context *c = s->c;
    const uint32_t *held = &s->held[x * c->topic_count];
    for (uint32_t i = 0; i < c->subscribed_count[y]; i++)
        if (held[c->subscribed[y][i]])
            return true;
    return false;
}

/* The partition x gives y along a chain: one y owned first, then as gives_up_before says. */
static uint32_t pick_for(const sticky *s, size_t x, size_t y)
{
    int64_t best = -1;
    for (uint32_t i = 0; i < s->counts[x]; i++) {
        uint32_t p = s->lists[x][i];
        if (!kw__assign_subscribes(s->c, y, s->c->partition_topic[p]))
            continue;
        if (best < 0) {
            best = p;
            continue;
        }
        bool p_back = s->owner[p] == (int32_t)y, best_back = s->owner[best] == (int32_t)y;
        if (p_back != best_back ? p_back : gives_up_before(s, x, p, (uint32_t)best))
            best = p;
    }
    return (uint32_t)best;
}

/*
 * One breadth-first search from member a over "can take from" edges; when
 * it reaches a member with at least two fewer partitions than a, shifts one
 * partition along the path (from the far end back, so each member on it
 * keeps its count) and returns true.
 */
static bool shift_chain(sticky *s, size_t a, size_t *queue, int64_t *parent)
{
    kw__assign_context *c = s->c;
    for (size_t m = 0; m < c->member_count; m++)
        parent[m] = -2; /* not reached */
    parent[a] = -1;
    size_t head = 0, tail = 0;
    queue[tail++] = a;
    int64_t found = -1;
    while (head < tail) {
        size_t x = queue[head++];
        for (size_t i = 0; i < c->member_count; i++) {
            size_t y = c->order[i];
            if (parent[y] != -2 || !can_take_from(s, x, y))
                continue;
            parent[y] = (int64_t)x;
            queue[tail++] = y;
            if (s->counts[y] + 2 <= s->counts[a] && (found < 0 || s->counts[y] < s->counts[found]))
                found = (int64_t)y;
        }
    }
    if (found < 0)
        return false;
    for (size_t y = (size_t)found; parent[y] >= 0; y = (size_t)parent[y])
        move(s, pick_for(s, (size_t)parent[y], y), y);
    return true;
}

/* Step 3b: chains of moves, for groups whose members subscribe to different topics. */
static int balance_chains(sticky *s)
{
    kw__assign_context *c = s->c;
    bool same = true;
    for (size_t m = 1; m < c->member_count && same; m++)
        same = c->subscribed_count[m] == c->subscribed_count[0] &&
               memcmp(c->subscribed[m], c->subscribed[0], c->subscribed_count[0] * sizeof(uint32_t)) == 0;
    if (same || c->partition_count == 0)
        return 0; /* direct moves already leave counts within one of each other */
    if (c->topic_count && c->member_count > ((size_t)1 << 24) / c->topic_count)
        return 0; /* too large to index; direct moves already balanced equal subscriptions */
    s->held = calloc(c->member_count * c->topic_count, sizeof(*s->held));
    size_t *queue = malloc(c->member_count * sizeof(*queue));
    int64_t *parent = malloc(c->member_count * sizeof(*parent));
    size_t *donors = malloc(c->member_count * sizeof(*donors));
    int err = 0;
    if (!s->held || !queue || !parent || !donors) {
        err = KW_ENOMEM;
        goto out;
    }
    for (uint32_t p = 0; p < c->partition_count; p++)
        if (s->at[p] >= 0)
            s->held[(size_t)s->at[p] * c->topic_count + c->partition_topic[p]]++;
    bool shifted = true;
    while (shifted) {
        shifted = false;
        memcpy(donors, c->order, c->member_count * sizeof(*donors));
        qsort_r(donors, c->member_count, sizeof(*donors), by_count_desc, s);
        for (size_t i = 0; i < c->member_count && !shifted; i++)
            shifted = s->counts[donors[i]] >= 2 && shift_chain(s, donors[i], queue, parent);
    }
out:
    free(queue);
    free(parent);
    free(donors);
    return err;
}

int kw__assign_cooperative_sticky(const kw__assign_input *in, kw_arena *arena,
                                  kw__member_assignment *out, char *detail, size_t detail_cap)
{
    kw__assign_context c;
    sticky s = {0};
    int err = kw__assign_context_init(&c, in, detail, detail_cap);
    if (!err)
        err = sticky_init(&s, &c);
    if (!err) {
        read_claims(&s);
        err = place(&s);
    }
    if (!err)
        err = balance_direct(&s);
    if (!err)
        err = balance_chains(&s);
    if (!err) {
        /* Step 4: hold back what would change owner; the owner revokes it first. */
        for (uint32_t p = 0; p < c.partition_count; p++)
            if (s.at[p] >= 0 && s.owner[p] >= 0 && s.owner[p] != s.at[p])
                release(&s, p);
        err = kw__assign_context_output(&c, s.lists, s.counts, arena, out);
    }
    if (err == KW_ENOMEM && detail && detail_cap && !detail[0])
        snprintf(detail, detail_cap, "out of memory while computing the cooperative-sticky assignment");
    if (s.c)
        sticky_free(&s);
    kw__assign_context_free(&c);
    return err;
}
