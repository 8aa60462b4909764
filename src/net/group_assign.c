/* The assignor table, the indexed input every assignor works on, and the range and roundrobin assignors. */
#include "group_assign_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const kw__assignor assignors[] = {
    {"range", false, kw__assign_range},
    {"roundrobin", false, kw__assign_roundrobin},
    {"cooperative-sticky", true, kw__assign_cooperative_sticky},
};

const kw__assignor *kw__assignor_find_str(kw_str name)
{
    for (size_t i = 0; i < sizeof(assignors) / sizeof(assignors[0]); i++)
        if (kw_str_eq(name, assignors[i].name))
            return &assignors[i];
    return NULL;
}

const kw__assignor *kw__assignor_find(const char *name)
{
    return name ? kw__assignor_find_str(kw_str_c(name)) : NULL;
}

int kw__assign_str_cmp(kw_str a, kw_str b)
{
    size_t la = a.len > 0 ? (size_t)a.len : 0, lb = b.len > 0 ? (size_t)b.len : 0;
    int r = memcmp(a.ptr ? a.ptr : "", b.ptr ? b.ptr : "", la < lb ? la : lb);
    if (r)
        return r;
    return la < lb ? -1 : la > lb;
}

__attribute__((format(printf, 3, 4))) static int fail(kw__assign_context *c, int err, const char *fmt, ...)
{
    if (c->detail && c->detail_cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->detail, c->detail_cap, fmt, ap);
        va_end(ap);
    }
    return err;
}

/* Java's MemberInfo order: static members (by instance id) before dynamic ones (by member id). */
static int member_cmp(const void *x, const void *y, void *arg)
{
    const kw__assign_member *ms = arg;
    const kw__assign_member *a = &ms[*(const size_t *)x], *b = &ms[*(const size_t *)y];
    bool sa = a->group_instance_id.len >= 0, sb = b->group_instance_id.len >= 0;
    if (sa != sb)
        return sa ? -1 : 1;
    if (sa) {
        int r = kw__assign_str_cmp(a->group_instance_id, b->group_instance_id);
        if (r)
            return r;
    }
    return kw__assign_str_cmp(a->member_id, b->member_id);
}

static int topic_cmp(const void *x, const void *y)
{
    return kw__assign_str_cmp((*(const kw__assign_topic *const *)x)->topic,
                              (*(const kw__assign_topic *const *)y)->topic);
}

static int u32_cmp(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

int32_t kw__assign_topic_index(const kw__assign_context *c, kw_str topic)
{
    size_t lo = 0, hi = c->topic_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = kw__assign_str_cmp(c->topics[mid]->topic, topic);
        if (r == 0)
            return (int32_t)mid;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

bool kw__assign_subscribes(const kw__assign_context *c, size_t m, uint32_t t)
{
    const uint32_t *s = c->subscribed[m];
    size_t lo = 0, hi = c->subscribed_count[m];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s[mid] == t)
            return true;
        if (s[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

void kw__assign_context_free(kw__assign_context *c)
{
    if (c->subscribed)
        for (size_t m = 0; m < c->member_count; m++)
            free(c->subscribed[m]);
    free(c->subscribed);
    free(c->subscribed_count);
    free(c->partition_topic);
    free(c->base);
    free(c->topics);
    free(c->order);
    memset(c, 0, sizeof(*c));
}

static int member_id_cmp(const void *x, const void *y, void *arg)
{
    const kw__assign_member *ms = arg;
    return kw__assign_str_cmp(ms[*(const size_t *)x].member_id, ms[*(const size_t *)y].member_id);
}

static int index_members(kw__assign_context *c)
{
    const kw__assign_input *in = c->in;
    for (size_t m = 0; m < c->member_count; m++) {
        const kw__assign_member *mb = &in->members[m];
        if (!mb->subscription || mb->member_id.len < 0)
            return fail(c, KW_EINVAL, "group member %zu has no member id or no subscription", m);
        c->order[m] = m;
    }
    /* Duplicate member ids are neighbours once sorted by member id alone. */
    qsort_r(c->order, c->member_count, sizeof(*c->order), member_id_cmp, (void *)in->members);
    for (size_t i = 1; i < c->member_count; i++) {
        kw_str id = in->members[c->order[i]].member_id;
        if (kw__assign_str_cmp(in->members[c->order[i - 1]].member_id, id) == 0)
            return fail(c, KW_EINVAL, "member id \"%.*s\" appears twice", (int)id.len, id.ptr);
    }
    qsort_r(c->order, c->member_count, sizeof(*c->order), member_cmp, (void *)in->members);
    return 0;
}

static int index_topics(kw__assign_context *c)
{
    const kw__assign_input *in = c->in;
    size_t n = 0;
    for (size_t t = 0; t < in->topic_count; t++) {
        if (in->topics[t].topic.len < 0)
            return fail(c, KW_EINVAL, "topic %zu has no name", t);
        if (in->topics[t].partitions > 0)
            c->topics[n++] = &in->topics[t];
    }
    c->topic_count = n;
    qsort(c->topics, n, sizeof(*c->topics), topic_cmp);
    uint64_t total = 0;
    for (size_t t = 0; t < n; t++) {
        if (t > 0 && kw__assign_str_cmp(c->topics[t - 1]->topic, c->topics[t]->topic) == 0)
            return fail(c, KW_EINVAL, "topic \"%.*s\" appears twice", (int)c->topics[t]->topic.len,
                        c->topics[t]->topic.ptr);
        c->base[t] = (uint32_t)total;
        total += (uint64_t)c->topics[t]->partitions;
        if (total > KW_ASSIGN_PARTITIONS_MAX)
            return fail(c, KW_ETOOBIG, "more than %d partitions to assign", KW_ASSIGN_PARTITIONS_MAX);
    }
    c->base[n] = (uint32_t)total;
    c->partition_count = (uint32_t)total;
    c->partition_topic = malloc((total ? total : 1) * sizeof(*c->partition_topic));
    if (!c->partition_topic)
        return KW_ENOMEM;
    for (size_t t = 0; t < n; t++)
        for (uint32_t p = c->base[t]; p < c->base[t + 1]; p++)
            c->partition_topic[p] = (uint32_t)t;
    return 0;
}

/* Each member's known subscribed topics as sorted, duplicate-free topic indices. */
static int index_subscriptions(kw__assign_context *c)
{
    for (size_t m = 0; m < c->member_count; m++) {
        const kw__group_subscription *s = c->in->members[m].subscription;
        size_t n = s->topic_count > 0 ? (size_t)s->topic_count : 0;
        uint32_t *list = malloc((n ? n : 1) * sizeof(*list));
        if (!list)
            return KW_ENOMEM;
        c->subscribed[m] = list;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            int32_t t = kw__assign_topic_index(c, s->topics[i]);
            if (t >= 0)
                list[k++] = (uint32_t)t;
        }
        qsort(list, k, sizeof(*list), u32_cmp);
        size_t u = 0;
        for (size_t i = 0; i < k; i++)
            if (u == 0 || list[u - 1] != list[i])
                list[u++] = list[i];
        c->subscribed_count[m] = (uint32_t)u;
    }
    return 0;
}

int kw__assign_context_init(kw__assign_context *c, const kw__assign_input *in, char *detail,
                            size_t detail_cap)
{
    memset(c, 0, sizeof(*c));
    c->in = in;
    c->detail = detail;
    c->detail_cap = detail_cap;
    if (detail && detail_cap)
        detail[0] = 0;
    if ((in->member_count && !in->members) || (in->topic_count && !in->topics))
        return fail(c, KW_EINVAL, "no members or topics array");
    c->member_count = in->member_count;
    size_t nm = in->member_count ? in->member_count : 1;
    c->order = malloc(nm * sizeof(*c->order));
    c->topics = malloc((in->topic_count ? in->topic_count : 1) * sizeof(*c->topics));
    c->base = malloc((in->topic_count + 1) * sizeof(*c->base));
    c->subscribed = calloc(nm, sizeof(*c->subscribed));
    c->subscribed_count = calloc(nm, sizeof(*c->subscribed_count));
    if (!c->order || !c->topics || !c->base || !c->subscribed || !c->subscribed_count)
        return KW_ENOMEM;
    int err = index_members(c);
    if (!err)
        err = index_topics(c);
    if (!err)
        err = index_subscriptions(c);
    return err;
}

int kw__assign_context_output(kw__assign_context *c, uint32_t *const *lists, const uint32_t *counts,
                              kw_arena *arena, kw__member_assignment *out)
{
    for (size_t m = 0; m < c->member_count; m++) {
        uint32_t *l = lists[m];
        uint32_t n = counts[m];
        qsort(l, n, sizeof(*l), u32_cmp);
        int32_t ntopics = 0;
        for (uint32_t i = 0; i < n; i++)
            if (i == 0 || c->partition_topic[l[i]] != c->partition_topic[l[i - 1]])
                ntopics++;
        kw__group_topic_partitions *tp = kw__arena_alloc(arena, (size_t)ntopics * sizeof(*tp));
        int32_t *parts = kw__arena_alloc(arena, (size_t)n * sizeof(*parts));
        if (!tp || !parts)
            return fail(c, KW_ENOMEM, "the assignment exceeds the arena's limit");
        int32_t k = -1;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t t = c->partition_topic[l[i]];
            if (i == 0 || t != c->partition_topic[l[i - 1]]) {
                k++;
                tp[k].topic = c->topics[t]->topic;
                tp[k].partitions = &parts[i];
                tp[k].count = 0;
            }
            parts[i] = (int32_t)(l[i] - c->base[t]);
            tp[k].count++;
        }
        out[m].assigned = tp;
        out[m].assigned_count = ntopics;
    }
    return 0;
}

/* Per-member partition lists with room for every partition: the scratch range and roundrobin fill. */
typedef struct simple_lists {
    uint32_t **lists;
    uint32_t *counts;
} simple_lists;

static int simple_lists_init(simple_lists *s, const kw__assign_context *c)
{
    size_t nm = c->member_count ? c->member_count : 1;
    s->lists = calloc(nm, sizeof(*s->lists));
    s->counts = calloc(nm, sizeof(*s->counts));
    if (!s->lists || !s->counts)
        return KW_ENOMEM;
    for (size_t m = 0; m < c->member_count; m++) {
        /* a member never gets more than the partitions of the topics it subscribes to */
        size_t cap = 0;
        for (uint32_t i = 0; i < c->subscribed_count[m]; i++) {
            uint32_t t = c->subscribed[m][i];
            cap += c->base[t + 1] - c->base[t];
        }
        s->lists[m] = malloc((cap ? cap : 1) * sizeof(**s->lists));
        if (!s->lists[m])
            return KW_ENOMEM;
    }
    return 0;
}

static void simple_lists_free(simple_lists *s, size_t member_count)
{
    if (s->lists)
        for (size_t m = 0; m < member_count; m++)
            free(s->lists[m]);
    free(s->lists);
    free(s->counts);
}

int kw__assign_range(const kw__assign_input *in, kw_arena *arena, kw__member_assignment *out,
                     char *detail, size_t detail_cap)
{
    kw__assign_context c;
    simple_lists s = {0};
    int err = kw__assign_context_init(&c, in, detail, detail_cap);
    if (!err)
        err = simple_lists_init(&s, &c);
    size_t *subscribers = err ? NULL : malloc((c.member_count ? c.member_count : 1) * sizeof(*subscribers));
    if (!err && !subscribers)
        err = KW_ENOMEM;
    for (uint32_t t = 0; !err && t < c.topic_count; t++) {
        size_t n = 0;
        for (size_t i = 0; i < c.member_count; i++)
            if (kw__assign_subscribes(&c, c.order[i], t))
                subscribers[n++] = c.order[i];
        if (n == 0)
            continue;
        uint32_t count = c.base[t + 1] - c.base[t];
        uint32_t each = (uint32_t)(count / n), extra = (uint32_t)(count % n);
        uint32_t next = c.base[t];
        for (size_t i = 0; i < n; i++) {
            uint32_t take = each + (i < extra ? 1 : 0);
            size_t m = subscribers[i];
            for (uint32_t k = 0; k < take; k++)
                s.lists[m][s.counts[m]++] = next++;
        }
    }
    if (!err)
        err = kw__assign_context_output(&c, s.lists, s.counts, arena, out);
    free(subscribers);
    simple_lists_free(&s, c.member_count);
    kw__assign_context_free(&c);
    return err;
}

int kw__assign_roundrobin(const kw__assign_input *in, kw_arena *arena, kw__member_assignment *out,
                          char *detail, size_t detail_cap)
{
    kw__assign_context c;
    simple_lists s = {0};
    int err = kw__assign_context_init(&c, in, detail, detail_cap);
    if (!err)
        err = simple_lists_init(&s, &c);
    size_t cursor = 0; /* position in c.order of the member dealt to next */
    for (uint32_t t = 0; !err && t < c.topic_count; t++) {
        bool any = false;
        for (size_t i = 0; i < c.member_count && !any; i++)
            any = kw__assign_subscribes(&c, i, t);
        if (!any)
            continue; /* a topic nobody subscribes to is not dealt (and moves no cursor) */
        for (uint32_t p = c.base[t]; p < c.base[t + 1]; p++) {
            while (!kw__assign_subscribes(&c, c.order[cursor], t))
                cursor = (cursor + 1) % c.member_count;
            size_t m = c.order[cursor];
            s.lists[m][s.counts[m]++] = p;
            cursor = (cursor + 1) % c.member_count;
        }
    }
    if (!err)
        err = kw__assign_context_output(&c, s.lists, s.counts, arena, out);
    simple_lists_free(&s, c.member_count);
    kw__assign_context_free(&c);
    return err;
}
