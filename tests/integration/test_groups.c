/* Consumer groups listed and described through the public client (kw_client_list_groups / _describe_groups) against the real broker. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kwal/client.h"

static const char *bootstrap;         /* KWAL_BOOTSTRAP */
static const char *cluster_bootstrap; /* KWAL_BOOTSTRAP_CLUSTER, may be NULL */

static kw_client *open_client(const char *bs, bool host_driven)
{
    kw_client_options o = {.bootstrap = bs, .connect_timeout_ms = 5000, .host_driven = host_driven};
    kw_client *c = NULL;
    char err[256];
    int rc = kw_client_new(&c, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_client_new: %s", err);
    return c;
}

static void unique(char *buf, size_t len, const char *what)
{
    static int seq;
    snprintf(buf, len, "kwal-it-groups-%s-%d-%d", what, getpid(), seq++);
}

static void make_topic(kw_client *c, const char *topic, int32_t partitions)
{
    kw_client_new_topic t = {.name = topic, .partitions = partitions};
    kw_client_create_topics_args a = {.topics = &t, .topic_count = 1};
    kw_client_topics_result r;
    ck_assert_int_eq(kw_client_create_topics(c, &a, &r), 0);
    kw_client_topics_result_free(&r);
}

static void drop_topic(kw_client *c, const char *topic)
{
    const char *names[1] = {topic};
    kw_client_delete_topics_args a = {.names = names, .name_count = 1};
    kw_client_topics_result r;
    kw_client_delete_topics(c, &a, &r);
    kw_client_topics_result_free(&r);
}

/* A group Mimir's way: offsets committed, nobody ever joined. */
static void commit(kw_client *c, const char *group, const char *topic, int64_t offset)
{
    kw_client_committed o = {.topic = topic, .partition = 0, .offset = offset, .leader_epoch = -1};
    kw_client_offset_commit_args a = {.group = group, .offsets = &o, .count = 1};
    kw_client_offsets_result r;
    int rc;
    /* a topic just created may not be known to the coordinator yet (seconds on a busy broker) */
    for (int i = 0; i < 150; i++) {
        rc = kw_client_offset_commit(c, &a, &r);
        if (rc != KW_EBROKER || r.kerr != KW_KERR_UNKNOWN_TOPIC_OR_PARTITION)
            break;
        kw_client_offsets_result_free(&r);
        usleep(100 * 1000);
    }
    ck_assert_msg(rc == 0, "commit to %s: %s", group, r.detail);
    kw_client_offsets_result_free(&r);
}

static const kw_client_group_listing *listed(const kw_client_list_groups_result *r,
                                             const char *group)
{
    for (size_t i = 0; i < r->group_count; i++)
        if (strcmp(r->groups[i].group_id, group) == 0)
            return &r->groups[i];
    return NULL;
}

/* A group only committed to is listed Empty with no protocol type, and described so, no members. */
START_TEST(a_group_only_committed_to_is_empty_without_members)
{
    kw_client *c = open_client(bootstrap, _i == 1);
    char topic[128], group[128];
    unique(topic, sizeof(topic), "t");
    unique(group, sizeof(group), "g");
    make_topic(c, topic, 1);
    commit(c, group, topic, 17);

    kw_client_list_groups_result lr;
    int rc = kw_client_list_groups(c, NULL, &lr);
    ck_assert_msg(rc == 0, "list: %s", lr.detail);
    ck_assert_uint_ge(lr.broker_count, 1);
    ck_assert_uint_eq(lr.broker_failed, 0);
    const kw_client_group_listing *g = listed(&lr, group);
    ck_assert_msg(g != NULL, "%s not listed among %zu groups", group, lr.group_count);
    ck_assert_str_eq(g->protocol_type, "");
    ck_assert_ptr_nonnull(g->state); /* Kafka 4 answers ListGroups v5 */
    ck_assert_str_eq(g->state, "Empty");
    ck_assert_str_eq(g->type, "classic");
    ck_assert_int_eq(g->coordinator, 1);
    for (size_t i = 1; i < lr.group_count; i++) /* sorted by name */
        ck_assert_int_le(strcmp(lr.groups[i - 1].group_id, lr.groups[i].group_id), 0);
    kw_client_list_groups_result_free(&lr);

    /* the state filter: Empty keeps it, Stable drops it */
    const char *empty[] = {"Empty"}, *stable[] = {"Stable"};
    kw_client_list_groups_args la = {.states = empty, .state_count = 1};
    ck_assert_int_eq(kw_client_list_groups(c, &la, &lr), 0);
    ck_assert_ptr_nonnull(listed(&lr, group));
    for (size_t i = 0; i < lr.group_count; i++)
        ck_assert_str_eq(lr.groups[i].state, "Empty");
    kw_client_list_groups_result_free(&lr);
    la.states = stable;
    ck_assert_int_eq(kw_client_list_groups(c, &la, &lr), 0);
    ck_assert_ptr_null(listed(&lr, group));
    kw_client_list_groups_result_free(&lr);

    const char *names[] = {group};
    kw_client_describe_groups_args da = {.groups = names, .group_count = 1};
    kw_client_describe_groups_result dr;
    rc = kw_client_describe_groups(c, &da, &dr);
    ck_assert_msg(rc == 0, "describe: %s", dr.detail);
    ck_assert_int_eq(dr.group_count, 1);
    const kw_client_group_description *d = &dr.groups[0];
    ck_assert_str_eq(d->group_id, group);
    ck_assert_int_eq(d->kerr, 0);
    ck_assert_str_eq(d->state, "Empty");
    ck_assert_str_eq(d->protocol_type, "");
    ck_assert_str_eq(d->protocol, "");
    ck_assert_int_eq(d->member_count, 0);
    ck_assert_int_eq(d->coordinator, 1);
    ck_assert_str_eq(d->type, "classic");
    ck_assert_int_eq(d->group_epoch, -1);
    kw_client_describe_groups_result_free(&dr);
    drop_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

/* A group nobody knows: GROUP_ID_NOT_FOUND, state Dead, on every broker (Kafka 4 says so; before
 * DescribeGroups v6 the broker says state Dead without an error); the call itself succeeds. */
START_TEST(an_unknown_group_is_described_as_not_found)
{
    kw_client *c = open_client(bootstrap, false);
    char group[128];
    unique(group, sizeof(group), "nobody");
    const char *names[] = {group};
    kw_client_describe_groups_args da = {.groups = names, .group_count = 1};
    kw_client_describe_groups_result dr;
    int rc = kw_client_describe_groups(c, &da, &dr);
    ck_assert_msg(rc == 0, "describe: %s", dr.detail);
    ck_assert_int_eq(dr.groups[0].kerr, KW_KERR_GROUP_ID_NOT_FOUND);
    ck_assert_str_eq(dr.groups[0].state, "Dead");
    ck_assert_ptr_null(dr.groups[0].type); /* ConsumerGroupDescribe did not know it either */
    ck_assert_int_eq(dr.groups[0].member_count, 0);
    kw_client_describe_groups_result_free(&dr);
    kw_client_destroy(c);
}
END_TEST

START_TEST(bad_arguments_are_refused_before_sending)
{
    kw_client *c = open_client(bootstrap, false);
    kw_client_describe_groups_result dr;
    kw_client_describe_groups_args none = {0};
    ck_assert_int_eq(kw_client_describe_groups(c, &none, &dr), KW_EINVAL);
    ck_assert_int_eq(dr.err, KW_EINVAL);
    kw_client_describe_groups_result_free(&dr);
    const char *empty[] = {""}, *null[] = {NULL};
    kw_client_describe_groups_args a = {.groups = empty, .group_count = 1};
    ck_assert_int_eq(kw_client_describe_groups(c, &a, &dr), KW_EINVAL);
    a.groups = null;
    ck_assert_int_eq(kw_client_describe_groups(c, &a, &dr), KW_EINVAL);
    ck_assert_int_eq(kw_client_describe_groups(c, NULL, &dr), KW_EINVAL);
    ck_assert_int_eq(kw_client_describe_groups(c, &a, NULL), KW_EINVAL);
    kw_client_list_groups_result lr;
    kw_client_list_groups_args la = {.states = empty, .state_count = 1};
    ck_assert_int_eq(kw_client_list_groups(c, &la, &lr), KW_EINVAL);
    la = (kw_client_list_groups_args){.state_count = 1}; /* a count without an array */
    ck_assert_int_eq(kw_client_list_groups(c, &la, &lr), KW_EINVAL);
    ck_assert_int_eq(kw_client_list_groups(c, NULL, NULL), KW_EINVAL);
    ck_assert_int_eq(kw_client_list_groups_async(c, NULL, NULL, NULL), KW_EINVAL);
    kw_client_list_groups_result_free(NULL);
    kw_client_describe_groups_result_free(NULL);
    kw_client_destroy(c);
}
END_TEST

typedef struct async_list {
    int calls, err;
    bool found;
    const char *group;
} async_list;

static void on_list(const kw_client_list_groups_result *r, void *arg)
{
    async_list *a = arg;
    a->calls++;
    a->err = r->err;
    a->found = listed(r, a->group) != NULL;
}

typedef struct async_describe {
    int calls, err;
    size_t count;
    char states[2][32];
} async_describe;

static void on_describe(const kw_client_describe_groups_result *r, void *arg)
{
    async_describe *a = arg;
    a->calls++;
    a->err = r->err;
    a->count = r->group_count;
    for (size_t i = 0; i < r->group_count && i < 2; i++)
        snprintf(a->states[i], sizeof a->states[i], "%s", r->groups[i].state ? r->groups[i].state : "");
}

/* The async forms on a host-driven client: one callback each, inside kw_client_run_once. */
START_TEST(async_forms_on_a_host_driven_client)
{
    kw_client *c = open_client(bootstrap, true);
    char topic[128], group[128], other[128];
    unique(topic, sizeof(topic), "t");
    unique(group, sizeof(group), "g");
    unique(other, sizeof(other), "nobody");
    make_topic(c, topic, 1);
    commit(c, group, topic, 3);
    async_list al = {.group = group};
    ck_assert_int_eq(kw_client_list_groups_async(c, NULL, on_list, &al), 0);
    ck_assert_int_eq(al.calls, 0); /* never from inside the submitting call */
    const char *names[] = {group, other};
    kw_client_describe_groups_args da = {.groups = names, .group_count = 2};
    async_describe ad = {0};
    ck_assert_int_eq(kw_client_describe_groups_async(c, &da, on_describe, &ad), 0);
    for (int i = 0; i < 500 && (!al.calls || !ad.calls); i++)
        kw_client_run_once(c, 20);
    ck_assert_int_eq(al.calls, 1);
    ck_assert_int_eq(al.err, 0);
    ck_assert(al.found);
    ck_assert_int_eq(ad.calls, 1);
    ck_assert_int_eq(ad.err, 0);
    ck_assert_int_eq(ad.count, 2);
    ck_assert_str_eq(ad.states[0], "Empty");
    ck_assert_str_eq(ad.states[1], "Dead");
    drop_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

/*
 * The 3-node cluster: groups spread over the coordinators.  ListGroups asks
 * every broker, so each group is listed once, by the broker that coordinates
 * it; DescribeGroups of all of them at once reaches each one's coordinator.
 */
START_TEST(every_broker_lists_the_groups_it_coordinates)
{
    if (!cluster_bootstrap)
        return;
    kw_client *c = open_client(cluster_bootstrap, false);
    char topic[128], groups[12][128];
    const char *names[12];
    unique(topic, sizeof(topic), "t");
    make_topic(c, topic, 1);
    for (int i = 0; i < 12; i++) {
        unique(groups[i], sizeof(groups[i]), "spread");
        names[i] = groups[i];
        commit(c, groups[i], topic, i);
    }
    kw_client_describe_groups_args da = {.groups = names, .group_count = 12};
    kw_client_describe_groups_result dr;
    int rc = kw_client_describe_groups(c, &da, &dr);
    ck_assert_msg(rc == 0, "describe: %s", dr.detail);
    ck_assert_int_eq(dr.group_count, 12);
    bool coordinators[4] = {false};
    for (int i = 0; i < 12; i++) {
        ck_assert_str_eq(dr.groups[i].group_id, groups[i]); /* in the order asked */
        ck_assert_str_eq(dr.groups[i].state, "Empty");
        ck_assert_int_ge(dr.groups[i].coordinator, 1);
        ck_assert_int_le(dr.groups[i].coordinator, 3);
        coordinators[dr.groups[i].coordinator] = true;
    }
    /* 12 group ids over 50 offset partitions on 3 nodes: more than one coordinator */
    ck_assert(coordinators[1] + coordinators[2] + coordinators[3] >= 2);

    kw_client_list_groups_result lr;
    rc = kw_client_list_groups(c, NULL, &lr);
    ck_assert_msg(rc == 0, "list: %s", lr.detail);
    ck_assert_int_eq(lr.broker_count, 3);
    for (int i = 0; i < 12; i++) {
        const kw_client_group_listing *g = listed(&lr, groups[i]);
        ck_assert_msg(g != NULL, "%s not listed", groups[i]);
        ck_assert_int_eq(g->coordinator, dr.groups[i].coordinator);
        ck_assert(g + 1 == lr.groups + lr.group_count || strcmp(g[1].group_id, groups[i]) != 0);
    }
    kw_client_list_groups_result_free(&lr);
    kw_client_describe_groups_result_free(&dr);
    drop_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

int main(void)
{
    bootstrap = getenv("KWAL_BOOTSTRAP");
    cluster_bootstrap = getenv("KWAL_BOOTSTRAP_CLUSTER");
    if (!bootstrap) {
        fprintf(stderr, "KWAL_BOOTSTRAP is not set (tests/kafka/broker up): skipped\n");
        return 77;
    }
    Suite *s = suite_create("groups-broker");
    TCase *tc = tcase_create("groups");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, a_group_only_committed_to_is_empty_without_members, 0, 2);
    tcase_add_test(tc, an_unknown_group_is_described_as_not_found);
    tcase_add_test(tc, bad_arguments_are_refused_before_sending);
    tcase_add_test(tc, async_forms_on_a_host_driven_client);
    tcase_add_test(tc, every_broker_lists_the_groups_it_coordinates);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
