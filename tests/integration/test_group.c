/* Consumer-group membership (kw_group) against the real broker: assignment, rebalances, commits, both protocols. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "group_member.h"
#include "kafka_io.h"

/* ---------------------------------------------------------------- tests */

/* Keeps a FATAL event's err and detail (arg: struct { int *err; char *detail; }). */
static void fatal_event(void *arg, const kw_group_event *ev)
{
    struct {
        int *err;
        char *detail;
    } *seen = arg;
    if (ev->kind != KW_GROUP_FATAL)
        return;
    snprintf(seen->detail, 512, "%s", ev->detail ? ev->detail : "");
    __atomic_store_n(seen->err, ev->err, __ATOMIC_RELEASE);
}

START_TEST(bad_options_are_named)
{
    kw_client *c = open_client(false);
    kw_group *g = NULL;
    char err[256];
    const char *topics[] = {"t"};
    kw_group_options o = {.group_id = "", .topics = topics, .topic_count = 1};
    ck_assert_int_eq(kw_group_new(&g, c, &o, err, sizeof(err)), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "group_id"));
    ck_assert_ptr_null(g);
    o.group_id = NULL;
    ck_assert_int_eq(kw_group_new(&g, c, &o, err, sizeof(err)), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "group_id"));
    o = (kw_group_options){.group_id = "g"};
    ck_assert_int_eq(kw_group_new(&g, c, &o, err, sizeof(err)), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "topics"));
    const char *empty[] = {""};
    o = (kw_group_options){.group_id = "g", .topics = empty, .topic_count = 1};
    ck_assert_int_eq(kw_group_new(&g, c, &o, err, sizeof(err)), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "topics[0]"));
    const char *bad[] = {"sticky-ish"};
    o = (kw_group_options){.group_id = "g", .topics = topics, .topic_count = 1, .assignors = bad,
                           .assignor_count = 1};
    ck_assert_int_eq(kw_group_new(&g, c, &o, err, sizeof(err)), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "sticky-ish"));
    o = (kw_group_options){.group_id = "g", .topics = topics, .topic_count = 1,
                           .session_timeout_ms = 1000, .heartbeat_interval_ms = 1000};
    ck_assert_int_eq(kw_group_new(&g, c, &o, err, sizeof(err)), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "heartbeat_interval_ms"));
    o = (kw_group_options){.group_id = "g", .topics = topics, .topic_count = 1, .protocol = 7};
    ck_assert_int_eq(kw_group_new(&g, c, &o, err, sizeof(err)), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "protocol"));
    o = (kw_group_options){.group_id = "g", .topics = topics, .topic_count = 1,
                           .protocol = KW_GROUP_PROTOCOL_CONSUMER, .server_assignor = ""};
    ck_assert_int_eq(kw_group_new(&g, c, &o, err, sizeof(err)), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "server_assignor"));
    kw_client_destroy(c);
}
END_TEST

/* XTDB's shape: three members, three single-partition topics, cooperative-sticky: one each. */
START_TEST(three_members_share_three_topics_and_only_moved_partitions_are_revoked)
{
    bool kip848 = _i == 1; /* loop 0: classic, cooperative-sticky; loop 1: KIP-848 */
    kw_client *admin = open_client(false);
    char topics[3][128], group[128], names[3][160];
    const char *tv[3];
    for (int i = 0; i < 3; i++) {
        unique(topics[i], sizeof(topics[i]), "src");
        make_topic(admin, topics[i], 1);
        tv[i] = topics[i];
        tp_name(names[i], topics[i], 0);
    }
    unique(group, sizeof(group), "xtdb");
    member a, b, c, d;
    member_opts mo = {.group = group, .topics = tv, .ntopics = 3, .kip848 = kip848};
    member_start(&a, &mo);
    member_start(&b, &mo);
    member_start(&c, &mo);
    member *all[] = {&a, &b, &c};
    int one[] = {1, 1, 1};
    uint64_t took = settle(all, 3, one, names, 3, 60000);
    fprintf(stderr, "%s: three members settled in %llu ms\n", kip848 ? "KIP-848" : "classic",
            (unsigned long long)took);
    /* Stays so: sampled for a second. */
    for (int i = 0; i < 10; i++) {
        settle(all, 3, one, names, 3, 100);
        sleep_ms(100);
    }
    int a_rev = a.revoked, b_rev = b.revoked, c_rev = c.revoked;
    ck_assert_int_eq(a.lost + b.lost + c.lost, 0);

    /* c leaves: its partition moves; a and b give up nothing. */
    member_stop(&c, true);
    member *two[] = {&a, &b};
    int any[] = {-1, -1};
    took = settle(two, 2, any, names, 3, 60000);
    fprintf(stderr, "a member leaving settled in %llu ms\n", (unsigned long long)took);
    ck_assert_int_eq(owned_count(&a) + owned_count(&b), 3);
    ck_assert_int_eq(a.revoked, a_rev);
    ck_assert_int_eq(b.revoked, b_rev);
    (void)c_rev;

    /* d joins: exactly one partition moves to it, from the member that had two. */
    member_start(&d, &mo);
    member *three[] = {&a, &b, &d};
    took = settle(three, 3, one, names, 3, 60000);
    fprintf(stderr, "a member joining settled in %llu ms\n", (unsigned long long)took);
    ck_assert_int_eq((a.revoked - a_rev) + (b.revoked - b_rev), 1);
    ck_assert_int_eq(a.lost + b.lost + d.lost, 0);
    member_stop(&a, true);
    member_stop(&b, true);
    member_stop(&d, true);
    drop_topics(admin, topics, 3);
    kw_client_destroy(admin);
}
END_TEST

/*
 * A static member that comes back within the session timeout gets its partition back, no
 * rebalance: classic (no LeaveGroup on close), and KIP-848 (InstanceId in the heartbeat, the
 * close is a heartbeat with member epoch -2, the new process joins with epoch 0 and the same
 * instance id and takes the old member's place).
 */
START_TEST(static_member_rejoins_without_a_rebalance)
{
    bool kip848 = _i == 1;
    kw_client *admin = open_client(false);
    char topics[2][128], group[128], names[2][160];
    const char *tv[2];
    for (int i = 0; i < 2; i++) {
        unique(topics[i], sizeof(topics[i]), "static");
        make_topic(admin, topics[i], 1);
        tv[i] = topics[i];
        tp_name(names[i], topics[i], 0);
    }
    unique(group, sizeof(group), "static");
    char ida[64], idb[64];
    snprintf(ida, sizeof(ida), "a-%d", getpid());
    snprintf(idb, sizeof(idb), "b-%d", getpid());
    member a, b;
    member_opts moa = {.group = group, .topics = tv, .ntopics = 2, .instance = ida,
                       .session_ms = 20000, .kip848 = kip848};
    member_opts mob = moa;
    mob.instance = idb;
    member_start(&a, &moa);
    member_start(&b, &mob);
    member *all[] = {&a, &b};
    int one[] = {1, 1};
    settle(all, 2, one, names, 2, 60000);
    char a_had[160];
    strcpy(a_had, a.own[0]);
    kw_group_info before;
    ck_assert_int_eq(kw_group_info_get(b.g, &before), 0);
    int b_events = b.revoked + b.lost + b.assigned;

    /* a goes away (a static member sends no LeaveGroup) and comes back with its id. */
    kw_group_info a_before;
    ck_assert_int_eq(kw_group_info_get(a.g, &a_before), 0);
    member_stop(&a, true);
    /* Away longer than b's heartbeat interval (KIP-848: the broker's, 5 s by default), well
     * within the session: a dynamic member's partition would have gone to b by now. */
    sleep_ms(6000);
    ck_assert_int_eq(owned_count(&b), 1);
    uint64_t t0 = now_ms();
    member_start(&a, &moa);
    settle(all, 2, one, names, 2, 30000);
    uint64_t took = now_ms() - t0;
    fprintf(stderr, "%s: the static member had its partition back %llu ms after it started again\n",
            kip848 ? "KIP-848" : "classic", (unsigned long long)took);
    ck_assert_str_eq(a.own[0], a_had);
    kw_group_info a_after;
    ck_assert_int_eq(kw_group_info_get(a.g, &a_after), 0);
    if (kip848) /* it took the old member's place: same member epoch, nothing recomputed */
        ck_assert_int_eq(a_after.generation, a_before.generation);
    kw_group_info_free(&a_before);
    kw_group_info_free(&a_after);
    /* b kept what it had all the while: a second of samples, no event, no reassignment. */
    for (int i = 0; i < 10; i++) {
        settle(all, 2, one, names, 2, 100);
        sleep_ms(100);
    }
    kw_group_info after;
    ck_assert_int_eq(kw_group_info_get(b.g, &after), 0);
    if (!kip848) /* KIP-848: the group epoch may move on with a member's return; b's assignment does not */
        ck_assert_int_eq(after.generation, before.generation);
    ck_assert_uint_eq(after.rebalances, before.rebalances);
    ck_assert_int_eq(b.revoked + b.lost + b.assigned, b_events); /* b saw nothing happen */
    kw_group_info_free(&before);
    kw_group_info_free(&after);
    member_stop(&a, true);
    member_stop(&b, true);
    drop_topics(admin, topics, 2);
    kw_client_destroy(admin);
}
END_TEST

/* Auto-commit lands on its interval; a revoked partition's position is committed before it moves. */
START_TEST(auto_commit_and_commit_on_revoke_land)
{
    kw_client *admin = open_client(false);
    char topics[1][128], group[128], names[2][160];
    unique(topics[0], sizeof(topics[0]), "commit");
    make_topic(admin, topics[0], 2);
    const char *tv[] = {topics[0]};
    tp_name(names[0], topics[0], 0);
    tp_name(names[1], topics[0], 1);
    produce(admin, topics[0], 0, 7);
    produce(admin, topics[0], 1, 5);
    unique(group, sizeof(group), "commit");

    /* Auto-commit every 300 ms: both positions land. */
    member a;
    member_opts mo = {.group = group, .topics = tv, .ntopics = 1, .commit_ms = 300};
    member_start(&a, &mo);
    uint64_t t0 = now_ms();
    while (committed(admin, group, topics[0], 0) != 7 || committed(admin, group, topics[0], 1) != 5) {
        ck_assert_msg(now_ms() - t0 < 30000, "auto-commit did not land (records %lld)",
                      (long long)a.records);
        sleep_ms(100);
    }
    ck_assert_int_eq(a.records, 12);

    /* More records, and a long auto-commit interval for b: what a consumed of the partition it
     * gives b is committed at the revocation (and read by b from there: no record twice). */
    produce(admin, topics[0], 0, 3);
    produce(admin, topics[0], 1, 3);
    t0 = now_ms();
    while (a.records < 18) {
        ck_assert_msg(now_ms() - t0 < 30000, "a read %lld records", (long long)a.records);
        sleep_ms(50);
    }
    sleep_ms(300); /* a polls again: its positions count as consumed */
    member b;
    member_opts mob = mo;
    mob.commit_ms = 600000;
    member_start(&b, &mob);
    member *all[] = {&a, &b};
    int one[] = {1, 1};
    settle(all, 2, one, names, 2, 60000);
    ck_assert_int_eq(committed(admin, group, topics[0], 0), 10);
    ck_assert_int_eq(committed(admin, group, topics[0], 1), 8);
    sleep_ms(500);
    ck_assert_int_eq(b.records, 0); /* b starts at the committed offset: nothing new to read */

    /* kw_group_commit: explicit offsets as the member, and the consumer's positions. */
    char detail[256];
    pthread_mutex_lock(&b.mu);
    int32_t bp = atoi(strrchr(b.own[0], '/') + 1);
    pthread_mutex_unlock(&b.mu);
    kw_client_committed mine = {.topic = topics[0], .partition = bp, .offset = 3, .leader_epoch = -1};
    int rc = kw_group_commit(b.g, &mine, 1, detail, sizeof(detail));
    ck_assert_msg(rc == 0, "kw_group_commit: %s", detail);
    ck_assert_int_eq(committed(admin, group, topics[0], bp), 3);
    rc = kw_group_commit(b.g, NULL, 0, detail, sizeof(detail));
    ck_assert_msg(rc == 0, "kw_group_commit of the positions: %s", detail);
    ck_assert_int_eq(committed(admin, group, topics[0], bp), bp == 0 ? 10 : 8);
    member_stop(&a, true);
    member_stop(&b, true);
    drop_topics(admin, topics, 1);
    kw_client_destroy(admin);
}
END_TEST

/* Heartbeats keep the member in while it polls: no rebalance for three session timeouts. */
START_TEST(heartbeats_keep_the_member_in)
{
    kw_client *admin = open_client(false);
    char topics[1][128], group[128];
    unique(topics[0], sizeof(topics[0]), "hb");
    make_topic(admin, topics[0], 1);
    const char *tv[] = {topics[0]};
    unique(group, sizeof(group), "hb");
    member a;
    member_opts mo = {.group = group, .topics = tv, .ntopics = 1, .session_ms = 6000};
    member_start(&a, &mo);
    uint64_t t0 = now_ms();
    while (owned_count(&a) != 1 || !stable(&a)) {
        ck_assert_msg(now_ms() - t0 < 30000, "no assignment");
        sleep_ms(50);
    }
    kw_group_info i0, i1;
    ck_assert_int_eq(kw_group_info_get(a.g, &i0), 0);
    sleep_ms(18000);
    ck_assert_int_eq(kw_group_info_get(a.g, &i1), 0);
    ck_assert_int_eq(i1.generation, i0.generation);
    ck_assert_uint_eq(i1.rebalances, i0.rebalances);
    ck_assert_int_eq(a.lost + a.revoked, 0);
    kw_group_info_free(&i0);
    kw_group_info_free(&i1);
    member_stop(&a, true);
    drop_topics(admin, topics, 1);
    kw_client_destroy(admin);
}
END_TEST

/* A member whose loop stops past the session timeout loses its partition; the other takes it. */
START_TEST(a_paused_member_loses_its_partitions)
{
    kw_client *admin = open_client(false);
    char topics[2][128], group[128], names[2][160];
    const char *tv[2];
    for (int i = 0; i < 2; i++) {
        unique(topics[i], sizeof(topics[i]), "pause");
        make_topic(admin, topics[i], 1);
        tv[i] = topics[i];
        tp_name(names[i], topics[i], 0);
    }
    unique(group, sizeof(group), "pause");
    member a, b;
    /* a is host-driven: while its poll thread sleeps, nothing of it runs (no heartbeat). */
    member_opts moa = {.group = group, .topics = tv, .ntopics = 2, .session_ms = 6000,
                       .host_driven = true};
    member_opts mob = {.group = group, .topics = tv, .ntopics = 2, .session_ms = 6000};
    member_start(&a, &moa);
    member_start(&b, &mob);
    member *all[] = {&a, &b};
    int one[] = {1, 1};
    settle(all, 2, one, names, 2, 60000);
    atomic_store(&a.paused, true);
    uint64_t t0 = now_ms();
    while (owned_count(&b) != 2) {
        ck_assert_msg(now_ms() - t0 < 30000, "b did not take a's partition");
        sleep_ms(50);
    }
    fprintf(stderr, "b took the paused member's partition after %llu ms\n",
            (unsigned long long)(now_ms() - t0));
    /* a comes back: it finds its session gone (LOST), and the two share again. */
    atomic_store(&a.paused, false);
    t0 = now_ms();
    while (a.lost < 1) { /* its own view was stale while it was stopped: it finds out first */
        ck_assert_msg(now_ms() - t0 < 10000, "a did not find its partition lost");
        sleep_ms(10);
    }
    settle(all, 2, one, names, 2, 60000);
    ck_assert_int_ge(a.lost, 1);
    ck_assert_int_eq(b.lost, 0);
    member_stop(&a, true);
    member_stop(&b, true);
    drop_topics(admin, topics, 2);
    kw_client_destroy(admin);
}
END_TEST

/* The eager protocol (range): every rebalance revokes everything first, and still one owner each. */
START_TEST(range_members_rebalance_eagerly)
{
    kw_client *admin = open_client(false);
    char topics[1][128], group[128], names[3][160];
    unique(topics[0], sizeof(topics[0]), "range");
    make_topic(admin, topics[0], 3);
    const char *tv[] = {topics[0]};
    for (int i = 0; i < 3; i++)
        tp_name(names[i], topics[0], i);
    unique(group, sizeof(group), "range");
    member a, b, c;
    member_opts mo = {.group = group, .topics = tv, .ntopics = 1, .eager = true};
    member_start(&a, &mo);
    member_start(&b, &mo);
    member *two[] = {&a, &b};
    int any2[] = {-1, -1};
    settle(two, 2, any2, names, 3, 60000);
    ck_assert_int_eq(owned_count(&a) + owned_count(&b), 3);
    ck_assert(owned_count(&a) >= 1 && owned_count(&b) >= 1);
    int a_rev = a.revoked, b_rev = b.revoked;
    member_start(&c, &mo);
    member *three[] = {&a, &b, &c};
    int one[] = {1, 1, 1};
    settle(three, 3, one, names, 3, 60000);
    /* eager: both old members gave up everything before rejoining */
    ck_assert_int_gt(a.revoked, a_rev);
    ck_assert_int_gt(b.revoked, b_rev);
    kw_group_info info;
    ck_assert_int_eq(kw_group_info_get(c.g, &info), 0);
    ck_assert_str_eq(info.protocol_name, "range");
    kw_group_info_free(&info);
    member_stop(&a, true);
    member_stop(&b, true);
    member_stop(&c, true);
    drop_topics(admin, topics, 1);
    kw_client_destroy(admin);
}
END_TEST

/* kw_group_subscribe: a topic added is assigned, a topic dropped is revoked (both protocols). */
START_TEST(a_changed_subscription_is_followed)
{
    bool kip848 = _i == 1;
    kw_client *admin = open_client(false);
    char topics[2][128], group[128], names[2][160];
    const char *tv[2];
    for (int i = 0; i < 2; i++) {
        unique(topics[i], sizeof(topics[i]), "sub");
        make_topic(admin, topics[i], 1);
        tv[i] = topics[i];
        tp_name(names[i], topics[i], 0);
    }
    unique(group, sizeof(group), "sub");
    member a;
    member_opts mo = {.group = group, .topics = tv, .ntopics = 1, .kip848 = kip848};
    member_start(&a, &mo);
    member *all[] = {&a};
    int one[] = {1}, two[] = {2};
    settle(all, 1, one, names, 1, 60000);
    ck_assert_int_eq(kw_group_subscribe(a.g, tv, 2), 0);
    settle(all, 1, two, names, 2, 60000);
    ck_assert_int_eq(kw_group_subscribe(a.g, tv + 1, 1), 0);
    uint64_t t0 = now_ms();
    while (owns(&a, names[0]) || !owns(&a, names[1]) || !stable(&a)) {
        ck_assert_msg(now_ms() - t0 < 60000, "the dropped topic stays assigned");
        sleep_ms(20);
    }
    ck_assert_int_ge(a.revoked, 1);
    const char *none[] = {""};
    ck_assert_int_eq(kw_group_subscribe(a.g, none, 1), KW_EINVAL);
    ck_assert_int_eq(kw_group_subscribe(a.g, tv, 0), KW_EINVAL);
    member_stop(&a, true);
    drop_topics(admin, topics, 2);
    kw_client_destroy(admin);
}
END_TEST

/* reset NONE (XTDB's auto.offset.reset=none): no committed offset is a poll error, a commit is read. */
START_TEST(reset_none_reports_a_partition_without_a_commit)
{
    kw_client *c = open_client(false);
    char topic[128], group[128];
    unique(topic, sizeof(topic), "none");
    make_topic(c, topic, 2);
    produce(c, topic, 0, 4);
    produce(c, topic, 1, 4);
    unique(group, sizeof(group), "none");
    kw_client_committed at = {.topic = topic, .partition = 1, .offset = 2, .leader_epoch = -1};
    kw_client_offset_commit_args ca = {.group = group, .offsets = &at, .count = 1};
    kw_client_offsets_result cr;
    ck_assert_int_eq(kw_client_offset_commit(c, &ca, &cr), 0);
    kw_client_offsets_result_free(&cr);
    kw_consumer *k = NULL;
    ck_assert_int_eq(kw_consumer_new(&k, c, NULL, NULL, 0), 0);
    const char *tv[] = {topic};
    kw_group_options o = {.group_id = group, .topics = tv, .topic_count = 1, .consumer = k,
                          .reset = KW_GROUP_RESET_NONE, .heartbeat_interval_ms = 500};
    kw_group *g = NULL;
    ck_assert_int_eq(kw_group_new(&g, c, &o, NULL, 0), 0);
    int errors = 0, records = 0;
    uint64_t t0 = now_ms();
    while ((errors < 1 || records < 2) && now_ms() - t0 < 30000) {
        kw_consumer_poll_result r;
        ck_assert_int_eq(kw_consumer_poll(k, 100, &r), 0);
        for (size_t i = 0; i < r.error_count; i++) {
            ck_assert_int_eq(r.errors[i].partition, 0);
            ck_assert_int_eq(r.errors[i].err, KW_ENOTFOUND);
            ck_assert_ptr_nonnull(strstr(r.errors[i].detail, "no committed offset"));
            errors++;
        }
        for (size_t i = 0; i < r.record_count; i++) {
            ck_assert_int_eq(r.records[i].partition, 1); /* from its commit, offset 2 on */
            ck_assert_int_eq(r.records[i].offset, 2 + records);
            records++;
        }
    }
    ck_assert_int_eq(errors, 1);
    ck_assert_int_eq(records, 2);
    ck_assert_int_eq(kw_group_close(g, 10000), 0);
    kw_group_destroy(g);
    kw_consumer_destroy(k);
    char names[1][128];
    strcpy(names[0], topic);
    drop_topics(c, names, 1);
    kw_client_destroy(c);
}
END_TEST

/* A member whose host stops polling leaves after max_poll_interval_ms (long before its session ends). */
START_TEST(a_member_that_stops_polling_leaves)
{
    kw_client *admin = open_client(false);
    char topics[2][128], group[128], names[2][160];
    const char *tv[2];
    for (int i = 0; i < 2; i++) {
        unique(topics[i], sizeof(topics[i]), "maxpoll");
        make_topic(admin, topics[i], 1);
        tv[i] = topics[i];
        tp_name(names[i], topics[i], 0);
    }
    unique(group, sizeof(group), "maxpoll");
    member a, b;
    member_opts moa = {.group = group, .topics = tv, .ntopics = 2, .session_ms = 30000,
                       .max_poll_ms = 3000};
    member_opts mob = moa;
    mob.max_poll_ms = 0;
    member_start(&a, &moa);
    member_start(&b, &mob);
    member *all[] = {&a, &b};
    int one[] = {1, 1};
    settle(all, 2, one, names, 2, 60000);
    atomic_store(&a.paused, true); /* its client's loop runs on: heartbeats go on */
    uint64_t t0 = now_ms();
    while (owned_count(&b) != 2) {
        ck_assert_msg(now_ms() - t0 < 20000, "b did not get a's partition");
        sleep_ms(50);
    }
    uint64_t took = now_ms() - t0;
    fprintf(stderr, "a member that stopped polling left after %llu ms\n", (unsigned long long)took);
    ck_assert_uint_lt(took, 15000); /* max_poll_interval_ms, not the 30 s session */
    ck_assert_int_ge(a.lost, 1);
    atomic_store(&a.paused, false); /* it polls again: it joins again */
    settle(all, 2, one, names, 2, 60000);
    member_stop(&a, true);
    member_stop(&b, true);
    drop_topics(admin, topics, 2);
    kw_client_destroy(admin);
}
END_TEST

/* The leader notices a subscribed topic growing and the new partition gets an owner. */
START_TEST(a_grown_topic_is_reassigned)
{
    kw_client *admin = open_client(false);
    char topics[1][128], group[128], names[2][160];
    unique(topics[0], sizeof(topics[0]), "grow");
    make_topic(admin, topics[0], 1);
    const char *tv[] = {topics[0]};
    tp_name(names[0], topics[0], 0);
    tp_name(names[1], topics[0], 1);
    unique(group, sizeof(group), "grow");
    member a;
    member_opts mo = {.group = group, .topics = tv, .ntopics = 1};
    member_start(&a, &mo);
    member *all[] = {&a};
    int one[] = {1};
    settle(all, 1, one, names, 1, 60000);
    kw_client_create_partitions_args cp = {.topic = topics[0], .total_count = 2};
    kw_client_topics_result r;
    ck_assert_int_eq(kw_client_create_partitions(admin, &cp, &r), 0);
    kw_client_topics_result_free(&r);
    uint64_t t0 = now_ms();
    int two[] = {2};
    settle(all, 1, two, names, 2, 30000);
    fprintf(stderr, "the new partition was assigned after %llu ms\n",
            (unsigned long long)(now_ms() - t0));
    member_stop(&a, true);
    drop_topics(admin, topics, 1);
    kw_client_destroy(admin);
}
END_TEST

/*
 * KIP-848 regex subscription (SubscribedTopicRegex, matched by the broker): a matching topic is
 * assigned, one created later that matches is assigned too, a topic that does not match never
 * is.  A client capped at Kafka 3.9's versions (ConsumerGroupHeartbeat v0) gets a clear "not
 * supported"; the classic protocol refuses the option up front.
 */
/* Whether the broker speaks ConsumerGroupHeartbeat v1 (SubscribedTopicRegex; Kafka 4.0+). */
static bool broker_takes_regex(void)
{
    kt_conn kc;
    ck_assert_msg(kt_connect(&kc, group_test_bootstrap) == 0, "connect %s", group_test_bootstrap);
    bool yes = kc.versions.broker_max[KW_API_CONSUMER_GROUP_HEARTBEAT] >= 1;
    kt_close(&kc);
    return yes;
}

START_TEST(a_regex_subscription_picks_up_a_topic_created_later)
{
    kw_client *admin = open_client(false);
    char topics[3][128], group[128], names[3][160], regex[128];
    snprintf(regex, sizeof(regex), "kwal-it-group-rx%d-.*", getpid());
    snprintf(topics[0], sizeof(topics[0]), "kwal-it-group-rx%d-a", getpid());
    snprintf(topics[1], sizeof(topics[1]), "kwal-it-group-rx%d-b", getpid());
    snprintf(topics[2], sizeof(topics[2]), "kwal-it-group-ry%d-c", getpid()); /* no match */
    for (int i = 0; i < 3; i++)
        tp_name(names[i], topics[i], 0);
    make_topic(admin, topics[0], 1);
    make_topic(admin, topics[2], 1);
    produce(admin, topics[0], 0, 3);
    unique(group, sizeof(group), "regex");
    if (!broker_takes_regex()) {
        fprintf(stderr, "regex: this broker has no ConsumerGroupHeartbeat v1 (before Kafka 4.0): "
                        "only the \"not supported\" answers are checked\n");
        goto not_supported;
    }
    member a;
    member_opts mo = {.group = group, .kip848 = true, .topic_regex = regex};
    member_start(&a, &mo);
    member *all[] = {&a};
    settle(all, 1, (int[]){1}, names, 1, 60000);
    ck_assert(owns(&a, names[0]));
    uint64_t t0 = now_ms();
    while (a.records < 3) {
        ck_assert_msg(now_ms() - t0 < 30000, "read %lld of the matching topic's 3 records",
                      (long long)a.records);
        sleep_ms(50);
    }
    /* A topic created now that matches: the broker re-evaluates the regex and assigns it. */
    make_topic(admin, topics[1], 1);
    produce(admin, topics[1], 0, 2);
    t0 = now_ms();
    settle(all, 1, (int[]){2}, names, 2, 120000);
    fprintf(stderr, "regex: the topic created later was assigned after %llu ms\n",
            (unsigned long long)(now_ms() - t0));
    ck_assert(!owns(&a, names[2]));
    while (a.records < 5) {
        ck_assert_msg(now_ms() - t0 < 30000, "read %lld of 5 records", (long long)a.records);
        sleep_ms(50);
    }
    ck_assert_int_eq(a.fatal, 0);

    /* kw_client_describe_groups: a KIP-848 group, through ConsumerGroupDescribe. */
    kw_group_info info;
    ck_assert_int_eq(kw_group_info_get(a.g, &info), 0);
    const char *gv[] = {group};
    kw_client_describe_groups_args da = {.groups = gv, .group_count = 1};
    kw_client_describe_groups_result dr;
    ck_assert_msg(kw_client_describe_groups(admin, &da, &dr) == 0, "describe: %s", dr.detail);
    const kw_client_group_description *d = &dr.groups[0];
    ck_assert_int_eq(d->kerr, 0);
    ck_assert_str_eq(d->type, "consumer");
    ck_assert_str_eq(d->protocol_type, "consumer");
    ck_assert_str_eq(d->state, "Stable");
    ck_assert_int_ge(d->group_epoch, info.generation);
    ck_assert_int_eq(d->member_count, 1);
    const kw_client_group_member *m = &d->members[0];
    ck_assert_str_eq(m->member_id, info.member_id);
    ck_assert_int_eq(m->member_epoch, info.generation);
    ck_assert_str_eq(m->subscribed_topic_regex, regex);
    ck_assert_uint_eq(m->subscribed_topic_count, 0);
    ck_assert_uint_eq(m->assigned_count, 2);
    for (size_t i = 0; i < 2; i++) {
        const kw_client_topic_partitions *tp = &m->assigned[i];
        ck_assert_msg(!strcmp(tp->topic, topics[0]) || !strcmp(tp->topic, topics[1]),
                      "assigned %s", tp->topic);
        ck_assert_uint_eq(tp->partition_count, 1);
        ck_assert_int_eq(tp->partitions[0], 0);
    }
    ck_assert_uint_eq(m->target_count, 2);
    kw_client_describe_groups_result_free(&dr);
    kw_group_info_free(&info);
    member_stop(&a, true);

not_supported:;
    /* Not supported: a broker (here: a client capped) without ConsumerGroupHeartbeat v1. */
    char ev_detail[512] = "";
    int ev_err = 0;
    kw_client *old = open_client_capped(false, "3.9");
    kw_consumer *k = NULL;
    ck_assert_int_eq(kw_consumer_new(&k, old, NULL, NULL, 0), 0);
    struct fatal_seen {
        int *err;
        char *detail;
    } seen = {&ev_err, ev_detail};
    kw_group_options o = {.group_id = group, .protocol = KW_GROUP_PROTOCOL_CONSUMER,
                          .topic_regex = regex, .consumer = k, .event_arg = &seen,
                          .on_event = fatal_event};
    kw_group *g = NULL;
    char err[256];
    ck_assert_int_eq(kw_group_new(&g, old, &o, err, sizeof(err)), 0);
    t0 = now_ms();
    while (!__atomic_load_n(&ev_err, __ATOMIC_ACQUIRE)) {
        ck_assert_msg(now_ms() - t0 < 20000, "no FATAL event for the regex on a v0 heartbeat");
        kw_consumer_poll_result r;
        kw_consumer_poll(k, 50, &r);
    }
    ck_assert_int_eq(ev_err, KW_EUNSUPPORTED);
    ck_assert_msg(strstr(ev_detail, "not supported") && strstr(ev_detail, regex), "detail: %s",
                  ev_detail);
    kw_group_destroy(g);
    kw_consumer_destroy(k);
    kw_client_destroy(old);

    /* The classic protocol: refused up front, naming the option. */
    o = (kw_group_options){.group_id = group, .topic_regex = regex};
    ck_assert_int_eq(kw_group_new(&g, admin, &o, err, sizeof(err)), KW_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err, "topic_regex"));
    o = (kw_group_options){.group_id = group, .protocol = KW_GROUP_PROTOCOL_CONSUMER,
                           .topic_regex = ""};
    ck_assert_int_eq(kw_group_new(&g, admin, &o, err, sizeof(err)), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "topic_regex"));
    drop_topics(admin, topics, 3);
    kw_client_destroy(admin);
}
END_TEST

int main(void)
{
    group_test_bootstrap = getenv("KWAL_BOOTSTRAP");
    if (!group_test_bootstrap || !*group_test_bootstrap) {
        fprintf(stderr, "KWAL_BOOTSTRAP is not set (eval \"$(tests/kafka/broker env)\"): skipped\n");
        return 77;
    }
    signal(SIGPIPE, SIG_IGN);
    Suite *s = suite_create("group-broker");
    const struct {
        const char *name;
        const TTest *test;
        int loops;
    } cases[] = {
        {"options", bad_options_are_named},
        {"three", three_members_share_three_topics_and_only_moved_partitions_are_revoked, 2},
        {"static", static_member_rejoins_without_a_rebalance, 2},
        {"range", range_members_rebalance_eagerly},
        {"none", reset_none_reports_a_partition_without_a_commit},
        {"subscribe", a_changed_subscription_is_followed, 2},
        {"commit", auto_commit_and_commit_on_revoke_land},
        {"heartbeat", heartbeats_keep_the_member_in},
        {"pause", a_paused_member_loses_its_partitions},
        {"maxpoll", a_member_that_stops_polling_leaves},
        {"grow", a_grown_topic_is_reassigned},
        {"regex", a_regex_subscription_picks_up_a_topic_created_later},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        TCase *tc = tcase_create(cases[i].name); /* CK_RUN_CASE=name runs one */
        tcase_set_timeout(tc, 240);
        tcase_add_loop_test(tc, cases[i].test, 0, cases[i].loops ? cases[i].loops : 1);
        suite_add_tcase(s, tc);
    }
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
