/* Unit tests of the assignors: exact range and roundrobin answers, and cooperative-sticky's rules over many groups. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/group_assign.h"

/* A group described in a few strings, and its assignment printed as "t0:0,1 t1:2" per member. */
#define MAX_MEMBERS 64
#define MAX_TOPICS 32

typedef struct group {
    kw__assign_member members[MAX_MEMBERS];
    kw__group_subscription subs[MAX_MEMBERS];
    kw_str topic_names[MAX_MEMBERS][MAX_TOPICS];
    kw__group_topic_partitions owned[MAX_MEMBERS][MAX_TOPICS];
    int32_t owned_parts[MAX_MEMBERS][MAX_TOPICS][64];
    size_t member_count;
    kw__assign_topic topics[MAX_TOPICS];
    size_t topic_count;
    kw__member_assignment out[MAX_MEMBERS];
    kw_arena arena;
    char detail[200];
} group;

static group *group_new(void)
{
    group *g = calloc(1, sizeof(*g));
    kw__arena_init(&g->arena, 0);
    return g;
}

static void group_free(group *g)
{
    kw__arena_reset(&g->arena);
    free(g);
}

static void add_topic(group *g, const char *name, int32_t partitions)
{
    g->topics[g->topic_count++] = (kw__assign_topic){kw_str_c(name), partitions};
}

/* topics: space-separated names (string literals, they must outlive the group). */
static size_t add_member(group *g, const char *id, const char *instance, const char *topics)
{
    size_t m = g->member_count++;
    kw__group_subscription *s = &g->subs[m];
    memset(s, 0, sizeof(*s));
    s->version = 3;
    s->user_data = KW_BYTES_NULL;
    s->generation = -1;
    s->rack = KW_STR_NULL;
    s->topics = g->topic_names[m];
    s->owned = g->owned[m];
    for (const char *p = topics; *p;) {
        const char *e = strchr(p, ' ');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        g->topic_names[m][s->topic_count++] = (kw_str){p, (int32_t)n};
        p += n;
        while (*p == ' ')
            p++;
    }
    g->members[m] = (kw__assign_member){kw_str_c(id), kw_str_c(instance), s};
    return m;
}

__attribute__((unused)) static void add_owned(group *g, size_t m, const char *topic, int32_t partition)
{
    kw__group_subscription *s = &g->subs[m];
    int32_t i = 0;
    while (i < s->owned_count && !kw_str_eq(g->owned[m][i].topic, topic))
        i++;
    if (i == s->owned_count) {
        g->owned[m][i] = (kw__group_topic_partitions){kw_str_c(topic), g->owned_parts[m][i], 0};
        s->owned_count++;
    }
    g->owned_parts[m][i][g->owned[m][i].count++] = partition;
}

static int run(group *g, const char *assignor)
{
    const kw__assignor *a = kw__assignor_find(assignor);
    ck_assert_ptr_nonnull(a);
    kw__assign_input in = {g->members, g->member_count, g->topics, g->topic_count};
    return a->assign(&in, &g->arena, g->out, g->detail, sizeof(g->detail));
}

static const char *show(group *g, size_t m, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = 0;
    for (int32_t t = 0; t < g->out[m].assigned_count; t++) {
        const kw__group_topic_partitions *tp = &g->out[m].assigned[t];
        n += (size_t)snprintf(buf + n, cap - n, "%s%.*s:", t ? " " : "", (int)tp->topic.len, tp->topic.ptr);
        for (int32_t i = 0; i < tp->count; i++)
            n += (size_t)snprintf(buf + n, cap - n, "%s%d", i ? "," : "", (int)tp->partitions[i]);
    }
    return buf;
}

#define ck_assert_assigned(g, m, want)                        \
    do {                                                      \
        char buf_[1024];                                      \
        ck_assert_str_eq(show((g), (m), buf_, sizeof(buf_)), (want)); \
    } while (0)

START_TEST(names_are_the_java_protocol_names)
{
    ck_assert_str_eq(kw__assignor_find("range")->name, "range");
    ck_assert(!kw__assignor_find("range")->cooperative);
    ck_assert_str_eq(kw__assignor_find("roundrobin")->name, "roundrobin");
    ck_assert(!kw__assignor_find("roundrobin")->cooperative);
    ck_assert_str_eq(kw__assignor_find("cooperative-sticky")->name, "cooperative-sticky");
    ck_assert(kw__assignor_find("cooperative-sticky")->cooperative);
    ck_assert_ptr_null(kw__assignor_find("sticky"));
    ck_assert_ptr_null(kw__assignor_find("Range"));
    ck_assert_ptr_null(kw__assignor_find(NULL));
    ck_assert_ptr_eq(kw__assignor_find_str((kw_str){"roundrobinX", 10}), kw__assignor_find("roundrobin"));
}
END_TEST

START_TEST(range_gives_the_first_members_the_extra_partitions)
{
    /* RangeAssignor's documented example: C0 gets t0p0,t0p1,t1p0,t1p1; C1 t0p2,t1p2 */
    group *g = group_new();
    add_topic(g, "t1", 3);
    add_topic(g, "t0", 3);
    add_member(g, "C1", NULL, "t0 t1");
    add_member(g, "C0", NULL, "t1 t0");
    ck_assert_int_eq(run(g, "range"), 0);
    ck_assert_assigned(g, 1, "t0:0,1 t1:0,1");
    ck_assert_assigned(g, 0, "t0:2 t1:2");
    group_free(g);
}
END_TEST

START_TEST(range_splits_each_topic_among_its_own_subscribers)
{
    group *g = group_new();
    add_topic(g, "a", 5);
    add_topic(g, "b", 2);
    add_topic(g, "unknown", 0); /* no metadata yet: not assigned */
    add_member(g, "m2", NULL, "a b unknown");
    add_member(g, "m1", NULL, "a");
    add_member(g, "m3", NULL, "a b missing");
    ck_assert_int_eq(run(g, "range"), 0);
    ck_assert_assigned(g, 1, "a:0,1");
    ck_assert_assigned(g, 0, "a:2,3 b:0");
    ck_assert_assigned(g, 2, "a:4 b:1");
    group_free(g);
}
END_TEST

START_TEST(static_members_come_first_by_instance_id)
{
    group *g = group_new();
    add_topic(g, "t", 4);
    add_member(g, "a-dynamic", NULL, "t");
    add_member(g, "z-static", "instance-1", "t");
    add_member(g, "b-static", "instance-2", "t");
    ck_assert_int_eq(run(g, "range"), 0);
    ck_assert_assigned(g, 1, "t:0,1");
    ck_assert_assigned(g, 2, "t:2");
    ck_assert_assigned(g, 0, "t:3");
    ck_assert_int_eq(run(g, "roundrobin"), 0);
    ck_assert_assigned(g, 1, "t:0,3");
    ck_assert_assigned(g, 2, "t:1");
    ck_assert_assigned(g, 0, "t:2");
    group_free(g);
}
END_TEST

START_TEST(roundrobin_deals_partitions_in_member_order)
{
    /* RoundRobinAssignor's documented examples */
    group *g = group_new();
    add_topic(g, "t0", 3);
    add_topic(g, "t1", 3);
    add_member(g, "C0", NULL, "t0 t1");
    add_member(g, "C1", NULL, "t0 t1");
    ck_assert_int_eq(run(g, "roundrobin"), 0);
    ck_assert_assigned(g, 0, "t0:0,2 t1:1");
    ck_assert_assigned(g, 1, "t0:1 t1:0,2");
    group_free(g);

    g = group_new();
    add_topic(g, "t2", 3);
    add_topic(g, "t1", 2);
    add_topic(g, "t0", 1);
    add_member(g, "C2", NULL, "t0 t1 t2");
    add_member(g, "C0", NULL, "t0");
    add_member(g, "C1", NULL, "t0 t1");
    ck_assert_int_eq(run(g, "roundrobin"), 0);
    ck_assert_assigned(g, 1, "t0:0");
    ck_assert_assigned(g, 2, "t1:0");
    ck_assert_assigned(g, 0, "t1:1 t2:0,1,2");
    group_free(g);
}
END_TEST

START_TEST(bad_groups_are_refused_with_a_reason)
{
    group *g = group_new();
    add_topic(g, "t", 1);
    add_member(g, "same", NULL, "t");
    add_member(g, "same", "i", "t");
    ck_assert_int_eq(run(g, "range"), KW_EINVAL);
    ck_assert_str_eq(g->detail, "member id \"same\" appears twice");
    g->member_count = 1;
    add_topic(g, "t", 2);
    ck_assert_int_eq(run(g, "roundrobin"), KW_EINVAL);
    ck_assert_str_eq(g->detail, "topic \"t\" appears twice");
    g->topic_count = 1;
    g->members[0].subscription = NULL;
    ck_assert_int_eq(run(g, "range"), KW_EINVAL);
    ck_assert_str_eq(g->detail, "group member 0 has no member id or no subscription");
    g->topic_count = 0;
    add_topic(g, "huge", KW_ASSIGN_PARTITIONS_MAX);
    add_topic(g, "more", 1);
    g->members[0].subscription = &g->subs[0];
    ck_assert_int_eq(run(g, "range"), KW_ETOOBIG);
    group_free(g);
}
END_TEST

START_TEST(an_empty_group_and_unsubscribed_topics_assign_nothing)
{
    group *g = group_new();
    add_topic(g, "t", 3);
    ck_assert_int_eq(run(g, "range"), 0);
    ck_assert_int_eq(run(g, "roundrobin"), 0);
    add_member(g, "m", NULL, "other t t");
    add_topic(g, "nobody", 4);
    ck_assert_int_eq(run(g, "range"), 0);
    ck_assert_assigned(g, 0, "t:0,1,2");
    ck_assert_int_eq(run(g, "roundrobin"), 0);
    ck_assert_assigned(g, 0, "t:0,1,2");
    group_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("group_assign");
    TCase *tc = tcase_create("range and roundrobin");
    tcase_add_test(tc, names_are_the_java_protocol_names);
    tcase_add_test(tc, range_gives_the_first_members_the_extra_partitions);
    tcase_add_test(tc, range_splits_each_topic_among_its_own_subscribers);
    tcase_add_test(tc, static_members_come_first_by_instance_id);
    tcase_add_test(tc, roundrobin_deals_partitions_in_member_order);
    tcase_add_test(tc, bad_groups_are_refused_with_a_reason);
    tcase_add_test(tc, an_empty_group_and_unsubscribed_topics_assign_nothing);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
