/* Consumer groups on the 3-node cluster: the group coordinator's broker stops, the members carry on. */
#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "group_member.h"
#include "net/client_int.h"
#include "net/coord.h"
#include "proto/msg_group.h"

/*
 * Both protocols (loop 0 classic with cooperative-sticky, loop 1 KIP-848):
 * two members share a 4-partition topic (replication factor 3) and read and
 * auto-commit what is in it.  The test finds the group's coordinator with
 * FindCoordinator and stops that node (`tests/kafka/broker stop-node N`,
 * controlled shutdown); the group moves to another broker, which loads it
 * from __consumer_offsets.  Then records are written to every partition and
 * the test waits until the members read them and their commits, made to
 * the new coordinator, are fetched back at the end of every partition.  All
 * the while, sampled every 20 ms, no partition has two owners; at the end
 * every partition has one (no assignment lost).  It prints whether the
 * members kept their partitions or rejoined, and the time from the stop to
 * the last commit fetched back.  The stopped node is started again by the
 * test and, whatever happened to the test, by the case's teardown (run in
 * check's parent process, so it runs after a failed or timed-out test too).
 */

enum { PARTITIONS = 4, BEFORE = 10, AFTER = 5 };

static const char *cluster_bootstrap(void)
{
    const char *v = getenv("KWAL_BOOTSTRAP_CLUSTER");
    return v && *v ? v : NULL;
}

/* Runs `tests/kafka/broker ARGS` (the path meson passes); its exit status, -1 when it cannot. */
static int broker_cmd(const char *fmt, ...)
{
    const char *script = getenv("KWAL_BROKER_SCRIPT");
    if (!script || !*script) {
        fprintf(stderr, "KWAL_BROKER_SCRIPT is not set (meson sets it)\n");
        return -1;
    }
    char args[128], cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    /* Its own session: a node started here (a JVM in the background) outlives the test. */
    snprintf(cmd, sizeof(cmd), "setsid '%s' %s >&2", script, args);
    int st = system(cmd);
    return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Starts every node that is not running (the script does nothing for one that runs). */
static int all_nodes_up(void)
{
    int bad = 0;
    for (int n = 1; n <= 3; n++)
        if (broker_cmd("start-node %d", n) != 0) {
            fprintf(stderr, "start-node %d failed\n", n);
            bad++;
        }
    return bad;
}

static void nodes_up_setup(void)
{
    ck_assert_msg(all_nodes_up() == 0, "a cluster node does not start");
}

/* Unchecked teardown: the parent process runs it after the test, whatever became of it. */
static void nodes_up_teardown(void)
{
    all_nodes_up();
}

typedef struct coord_probe {
    kw_client *c;
    const char *group;
    int32_t node;
} coord_probe;

static int coord_probe_run(void *arg)
{
    coord_probe *p = arg;
    p->node = kw__coord_cached(kw__client_cluster(p->c), KW_COORDINATOR_GROUP, p->group);
    return 0;
}

/* The group's coordinator node: an OffsetFetch finds it (FindCoordinator), the cache says which. */
static int32_t coordinator_of(kw_client *c, const char *group, const char *topic)
{
    committed(c, group, topic, 0);
    coord_probe p = {.c = c, .group = group, .node = -1};
    ck_assert_int_eq(kw__client_run(c, coord_probe_run, &p), 0);
    return p.node;
}

static void make_replicated_topic(kw_client *c, const char *topic)
{
    kw_client_config_entry cfg[] = {{"min.insync.replicas", "2"}};
    kw_client_new_topic t = {.name = topic, .partitions = PARTITIONS, .replication_factor = 3,
                             .configs = cfg, .config_count = 1};
    kw_client_create_topics_args a = {.topics = &t, .topic_count = 1, .timeout_ms = 30000};
    kw_client_topics_result r;
    ck_assert_msg(kw_client_create_topics(c, &a, &r) == 0, "create %s: %s", topic, r.detail);
    ck_assert_int_eq(r.topics[0].kerr, 0);
    kw_client_topics_result_free(&r);
}

/* Whether every partition's committed offset is `want`; `admin` asks (it may retry inside). */
static bool all_committed(kw_client *admin, const char *group, const char *topic, int64_t want)
{
    for (int32_t p = 0; p < PARTITIONS; p++) {
        kw_client_committed q = {.topic = topic, .partition = p};
        kw_client_offset_fetch_args a = {.group = group, .partitions = &q, .count = 1,
                                         .timeout_ms = 5000};
        kw_client_offsets_result r;
        int rc = kw_client_offset_fetch(admin, &a, &r);
        int64_t off = rc == 0 && r.count ? r.offsets[0].offset : -2;
        kw_client_offsets_result_free(&r);
        if (off != want)
            return false;
    }
    return true;
}

/* No partition with two owners now; how many have one. */
static int owners_check(member **ms, size_t n, char (*names)[160])
{
    int owned = 0;
    for (int i = 0; i < PARTITIONS; i++) {
        int owners = 0;
        for (size_t j = 0; j < n; j++)
            owners += owns(ms[j], names[i]);
        ck_assert_msg(owners <= 1, "%s has %d owners at once", names[i], owners);
        owned += owners;
    }
    return owned;
}

START_TEST(members_carry_on_when_the_coordinator_stops)
{
    bool kip848 = _i == 1;
    const char *proto = kip848 ? "KIP-848" : "classic";
    group_test_bootstrap = cluster_bootstrap();
    kw_client *admin = open_client(false);
    char topic[128], group[128], names[PARTITIONS][160];
    unique(topic, sizeof(topic), "coordfail");
    unique(group, sizeof(group), "coordfail");
    make_replicated_topic(admin, topic);
    for (int32_t p = 0; p < PARTITIONS; p++) {
        tp_name(names[p], topic, p);
        produce(admin, topic, p, BEFORE);
    }
    const char *tv[] = {topic};
    member a, b;
    member_opts mo = {.group = group, .topics = tv, .ntopics = 1, .session_ms = 20000,
                      .commit_ms = 300, .kip848 = kip848};
    member_start(&a, &mo);
    member_start(&b, &mo);
    member *all[] = {&a, &b};
    int two[] = {2, 2};
    settle(all, 2, two, names, PARTITIONS, 60000);
    uint64_t t0 = now_ms();
    while (!all_committed(admin, group, topic, BEFORE)) {
        ck_assert_msg(now_ms() - t0 < 30000, "%s: the first commits did not land (%lld records)",
                      proto, (long long)(a.records + b.records));
        sleep_ms(100);
    }
    char a_had[2][160], b_had[2][160];
    pthread_mutex_lock(&a.mu);
    memcpy(a_had, a.own, sizeof(a_had));
    pthread_mutex_unlock(&a.mu);
    pthread_mutex_lock(&b.mu);
    memcpy(b_had, b.own, sizeof(b_had));
    pthread_mutex_unlock(&b.mu);
    int events = a.assigned + a.revoked + a.lost + b.assigned + b.revoked + b.lost;

    int32_t before = coordinator_of(admin, group, topic);
    ck_assert_int_ge(before, 1);
    ck_assert_int_eq(broker_cmd("stop-node %d", before), 0);
    uint64_t stopped = now_ms();
    for (int32_t p = 0; p < PARTITIONS; p++)
        produce(admin, topic, p, AFTER); /* partitions led by the stopped node moved already */

    /* Until the members read the new records and their commits come back from the new
     * coordinator: never two owners of a partition. */
    uint64_t recovered = 0;
    while (!recovered) {
        owners_check(all, 2, names);
        if (all_committed(admin, group, topic, BEFORE + AFTER))
            recovered = now_ms() - stopped;
        ck_assert_msg(now_ms() - stopped < 90000,
                      "%s: no commit of the new records reached the new coordinator in 90 s "
                      "(%lld records read)",
                      proto, (long long)(a.records + b.records));
        sleep_ms(20);
    }
    int32_t after = coordinator_of(admin, group, topic);
    ck_assert_int_ge(after, 1);
    ck_assert_int_ne(after, before);
    settle(all, 2, (int[]){-1, -1}, names, PARTITIONS, 60000); /* every partition one owner */
    ck_assert_int_eq(owners_check(all, 2, names), PARTITIONS);
    ck_assert_int_eq(a.fatal + b.fatal, 0);
    ck_assert_int_ge(a.records + b.records, PARTITIONS * (BEFORE + AFTER));
    bool kept = owns(&a, a_had[0]) && owns(&a, a_had[1]) && owns(&b, b_had[0]) &&
                owns(&b, b_had[1]);
    int events_after = a.assigned + a.revoked + a.lost + b.assigned + b.revoked + b.lost;
    fprintf(stderr,
            "%s: group coordinator moved %d -> %d; the members %s (%d rebalance events, %d lost); "
            "commits after the move fetched back %llu ms after the stop\n",
            proto, before, after, kept ? "kept their partitions" : "rejoined",
            events_after - events, a.lost + b.lost, (unsigned long long)recovered);

    /* The commits made after the move are what a new member starts from: nothing re-read. */
    member_stop(&a, true);
    member_stop(&b, true);
    member c;
    member_start(&c, &mo);
    member *one[] = {&c};
    settle(one, 1, (int[]){PARTITIONS}, names, PARTITIONS, 60000);
    sleep_ms(1000);
    ck_assert_int_eq(c.records, 0);
    member_stop(&c, true);
    ck_assert_int_eq(broker_cmd("start-node %d", before), 0);
    kw_client_delete_topics_args da = {.names = tv, .name_count = 1, .timeout_ms = 30000};
    kw_client_topics_result dr;
    kw_client_delete_topics(admin, &da, &dr);
    kw_client_topics_result_free(&dr);
    kw_client_destroy(admin);
}
END_TEST

int main(void)
{
    if (!cluster_bootstrap()) {
        fprintf(stderr, "KWAL_BOOTSTRAP_CLUSTER unset: start `tests/kafka/broker up --nodes 3` "
                        "and eval `tests/kafka/broker env`; skipping\n");
        return 77;
    }
    signal(SIGPIPE, SIG_IGN);
    Suite *s = suite_create("group-cluster");
    TCase *tc = tcase_create("coordinator"); /* CK_RUN_CASE=coordinator */
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, nodes_up_setup, NULL); /* before each loop */
    tcase_add_unchecked_fixture(tc, NULL, nodes_up_teardown);
    tcase_add_loop_test(tc, members_carry_on_when_the_coordinator_stops, 0, 2);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
