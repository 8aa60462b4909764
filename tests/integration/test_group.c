/* Consumer-group membership (kw_group) against the real broker: assignment, rebalances, commits, Java interop. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kwal/client.h"
#include "kwal/consumer.h"
#include "kwal/group.h"
#include "kwal/producer.h"

static const char *bootstrap; /* KWAL_BOOTSTRAP */

static void unique(char *buf, size_t len, const char *what)
{
    static int seq;
    snprintf(buf, len, "kwal-it-group-%s-%d-%d", what, getpid(), seq++);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static kw_client *open_client(bool host_driven)
{
    kw_client_options o = {.bootstrap = bootstrap, .connect_timeout_ms = 5000,
                           .host_driven = host_driven};
    kw_client *c = NULL;
    char err[256];
    int rc = kw_client_new(&c, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_client_new: %s", err);
    return c;
}

static void make_topic(kw_client *c, const char *topic, int32_t partitions)
{
    kw_client_new_topic t = {.name = topic, .partitions = partitions, .replication_factor = 1};
    kw_client_create_topics_args a = {.topics = &t, .topic_count = 1};
    kw_client_topics_result r;
    ck_assert_int_eq(kw_client_create_topics(c, &a, &r), 0);
    ck_assert_int_eq(r.topics[0].kerr, 0);
    kw_client_topics_result_free(&r);
}

static void drop_topics(kw_client *c, char (*names)[128], size_t n)
{
    const char *v[8];
    for (size_t i = 0; i < n; i++)
        v[i] = names[i];
    kw_client_delete_topics_args a = {.names = v, .name_count = n};
    kw_client_topics_result r;
    kw_client_delete_topics(c, &a, &r);
    kw_client_topics_result_free(&r);
}

static void produce(kw_client *c, const char *topic, int32_t partition, int n)
{
    kw_producer *p = NULL;
    ck_assert_int_eq(kw_producer_new(&p, c, NULL, NULL, 0), 0);
    for (int i = 0; i < n; i++) {
        char v[32];
        int len = snprintf(v, sizeof(v), "v%d", i);
        kw_producer_record r = {.topic = topic, .partition = partition, .value = v,
                                .value_len = (size_t)len};
        ck_assert_int_eq(kw_producer_send(p, &r, NULL, NULL), 0);
    }
    ck_assert_int_eq(kw_producer_flush(p, 10000), 0);
    ck_assert_int_eq(kw_producer_destroy(p), 0);
}

static int64_t committed(kw_client *c, const char *group, const char *topic, int32_t partition)
{
    kw_client_committed want = {.topic = topic, .partition = partition};
    kw_client_offset_fetch_args a = {.group = group, .partitions = &want, .count = 1};
    kw_client_offsets_result r;
    ck_assert_int_eq(kw_client_offset_fetch(c, &a, &r), 0);
    int64_t off = r.count ? r.offsets[0].offset : -2;
    kw_client_offsets_result_free(&r);
    return off;
}

/* ---------------------------------------------------------------- a member with a poll thread */

#define MAX_OWN 16

typedef struct member {
    kw_client *c;
    kw_consumer *k;
    kw_group *g;
    pthread_t th;
    atomic_bool run, paused;
    bool started;
    pthread_mutex_t mu;
    char own[MAX_OWN][160]; /* "topic/partition" */
    int nown;
    int assigned, revoked, lost, fatal;
    char revoked_names[32][160];
    int nrevoked_names;
    int32_t last_generation;
    int64_t records;
} member;

static void tp_name(char *buf, const char *topic, int32_t p)
{
    snprintf(buf, 160, "%.140s/%d", topic, (int)p);
}

static void on_event(void *arg, const kw_group_event *ev)
{
    member *m = arg;
    pthread_mutex_lock(&m->mu);
    m->last_generation = ev->generation;
    for (size_t i = 0; i < ev->count; i++) {
        char n[160];
        tp_name(n, ev->partitions[i].topic, ev->partitions[i].partition);
        if (ev->kind == KW_GROUP_ASSIGNED) {
            if (m->nown < MAX_OWN)
                strcpy(m->own[m->nown++], n);
        } else {
            for (int j = 0; j < m->nown; j++)
                if (strcmp(m->own[j], n) == 0) {
                    strcpy(m->own[j], m->own[--m->nown]);
                    break;
                }
            if (ev->kind == KW_GROUP_REVOKED && m->nrevoked_names < 32)
                strcpy(m->revoked_names[m->nrevoked_names++], n);
        }
    }
    if (ev->kind == KW_GROUP_ASSIGNED)
        m->assigned++;
    else if (ev->kind == KW_GROUP_REVOKED)
        m->revoked++;
    else if (ev->kind == KW_GROUP_LOST)
        m->lost++;
    else if (ev->kind == KW_GROUP_FATAL)
        m->fatal++;
    pthread_mutex_unlock(&m->mu);
}

/* KWAL_TEST_LOG=1: the members' logs on stderr. */
static void log_line(void *arg, int level, const char *msg)
{
    member *m = arg;
    if (level <= KW_LOG_INFO)
        fprintf(stderr, "[member %p] %s\n", (void *)m, msg);
}

static void *poll_main(void *arg)
{
    member *m = arg;
    while (atomic_load(&m->run)) {
        if (atomic_load(&m->paused)) {
            sleep_ms(20);
            continue;
        }
        kw_consumer_poll_result r;
        int rc = kw_consumer_poll(m->k, 100, &r);
        if (rc == 0) {
            pthread_mutex_lock(&m->mu);
            m->records += (int64_t)r.record_count;
            pthread_mutex_unlock(&m->mu);
        }
    }
    return NULL;
}

typedef struct member_opts {
    const char *group;
    const char *const *topics;
    size_t ntopics;
    const char *instance;
    uint32_t session_ms, commit_ms, max_poll_ms;
    bool host_driven;
    bool eager;
} member_opts;

static void member_start(member *m, const member_opts *mo)
{
    memset(m, 0, sizeof(*m));
    pthread_mutex_init(&m->mu, NULL);
    m->c = open_client(mo->host_driven);
    char err[256];
    kw_consumer_options co = {.max_wait_ms = 100};
    ck_assert_int_eq(kw_consumer_new(&m->k, m->c, &co, err, sizeof(err)), 0);
    static const char *const range[] = {"range"};
    kw_group_options o = {
        .group_id = mo->group,
        .topics = mo->topics,
        .topic_count = mo->ntopics,
        .session_timeout_ms = mo->session_ms ? mo->session_ms : 10000,
        .heartbeat_interval_ms = 500,
        .max_poll_interval_ms = mo->max_poll_ms ? mo->max_poll_ms : 60000,
        .group_instance_id = mo->instance,
        .auto_commit_interval_ms = mo->commit_ms ? mo->commit_ms : 500,
        .consumer = m->k,
        .reset = KW_GROUP_RESET_EARLIEST,
        .on_event = on_event,
        .event_arg = m,
        .assignors = mo->eager ? range : NULL,
        .assignor_count = mo->eager ? 1 : 0,
        .log = getenv("KWAL_TEST_LOG") ? log_line : NULL,
        .log_arg = m,
    };
    int rc = kw_group_new(&m->g, m->c, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_group_new: %s", err);
    atomic_store(&m->run, true);
    ck_assert_int_eq(pthread_create(&m->th, NULL, poll_main, m), 0);
    m->started = true;
}

/* Stops polling; closes the member in order (leave) or just drops it (crash-like: no close). */
static void member_stop(member *m, bool close)
{
    if (m->started) {
        atomic_store(&m->run, false);
        pthread_join(m->th, NULL);
        m->started = false;
    }
    if (close) {
        int rc = kw_group_close(m->g, 10000);
        ck_assert_msg(rc == 0, "kw_group_close: %s", kw_strerror(rc));
    }
    kw_group_destroy(m->g);
    kw_consumer_destroy(m->k);
    kw_client_destroy(m->c);
    pthread_mutex_destroy(&m->mu);
}

static int owned_count(member *m)
{
    pthread_mutex_lock(&m->mu);
    int n = m->nown;
    pthread_mutex_unlock(&m->mu);
    return n;
}

static bool owns(member *m, const char *name)
{
    pthread_mutex_lock(&m->mu);
    bool yes = false;
    for (int i = 0; i < m->nown; i++)
        yes |= strcmp(m->own[i], name) == 0;
    pthread_mutex_unlock(&m->mu);
    return yes;
}

static bool stable(member *m)
{
    kw_group_info info;
    if (kw_group_info_get(m->g, &info) != 0)
        return false;
    bool s = info.stable;
    kw_group_info_free(&info);
    return s;
}

/*
 * Waits until the members own `want[i]` partitions each (-1: any) and all of
 * the names are owned exactly once, checking on the way that no partition
 * ever has two owners.  Returns the ms it took.
 */
static uint64_t settle(member **ms, size_t n, const int *want, char (*names)[160], size_t nnames,
                       unsigned timeout_ms)
{
    uint64_t t0 = now_ms();
    for (;;) {
        bool ok = true;
        for (size_t i = 0; i < nnames; i++) {
            int owners = 0;
            for (size_t j = 0; j < n; j++)
                owners += owns(ms[j], names[i]);
            ck_assert_msg(owners <= 1, "%s has %d owners at once", names[i], owners);
            ok &= owners == 1;
        }
        for (size_t j = 0; j < n; j++) {
            ok &= want[j] < 0 || owned_count(ms[j]) == want[j];
            ok &= stable(ms[j]);
        }
        if (ok)
            return now_ms() - t0;
        ck_assert_msg(now_ms() - t0 < timeout_ms, "the group did not settle in %u ms", timeout_ms);
        sleep_ms(20);
    }
}

/* ---------------------------------------------------------------- tests */

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
    o = (kw_group_options){.group_id = "g", .topics = topics, .topic_count = 1,
                           .protocol = KW_GROUP_PROTOCOL_CONSUMER};
    ck_assert_int_eq(kw_group_new(&g, c, &o, err, sizeof(err)), KW_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err, "KIP-848"));
    kw_client_destroy(c);
}
END_TEST

/* XTDB's shape: three members, three single-partition topics, cooperative-sticky: one each. */
START_TEST(three_members_share_three_topics_and_only_moved_partitions_are_revoked)
{
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
    member_opts mo = {.group = group, .topics = tv, .ntopics = 3};
    member_start(&a, &mo);
    member_start(&b, &mo);
    member_start(&c, &mo);
    member *all[] = {&a, &b, &c};
    int one[] = {1, 1, 1};
    uint64_t took = settle(all, 3, one, names, 3, 60000);
    fprintf(stderr, "three members settled in %llu ms\n", (unsigned long long)took);
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

/* A static member that comes back within the session timeout gets its partition back, no rebalance. */
START_TEST(static_member_rejoins_without_a_rebalance)
{
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
                       .session_ms = 20000};
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
    member_stop(&a, true);
    member_start(&a, &moa);
    settle(all, 2, one, names, 2, 30000);
    ck_assert_str_eq(a.own[0], a_had);
    kw_group_info after;
    ck_assert_int_eq(kw_group_info_get(b.g, &after), 0);
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

/* ---------------------------------------------------------------- Java interop */

static char java_dir[256];

/* Compiles GroupMember.java once; false (with a message) when java is not there. */
static bool java_ready(void)
{
    const char *src = getenv("KWAL_JAVA_GROUP_SRC");
    const char *lib = getenv("KWAL_KAFKA_LIB");
    if (!src || !*src || !lib || !*lib || system("command -v javac >/dev/null 2>&1") != 0) {
        fprintf(stderr, "Java interop: javac, KWAL_KAFKA_LIB or KWAL_JAVA_GROUP_SRC missing: skipped\n");
        return false;
    }
    if (java_dir[0])
        return true;
    snprintf(java_dir, sizeof(java_dir), "/tmp/kwal-groupmember-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(java_dir));
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "javac -d '%s' -cp '%s/*' '%s' >&2", java_dir, lib, src);
    ck_assert_msg(system(cmd) == 0, "javac failed: %s", cmd);
    return true;
}

typedef struct java_member {
    pid_t pid;
    int fd; /* its stdout: "ASSIGNED t/p", "REVOKED t/p", "LOST t/p" lines */
    char buf[4096];
    size_t len;
    char own[MAX_OWN][160];
    int nown;
} java_member;

static void java_start(java_member *j, const char *group, const char *const *topics, size_t n)
{
    memset(j, 0, sizeof(*j));
    int fd[2];
    ck_assert_int_eq(pipe(fd), 0);
    j->pid = fork();
    ck_assert_int_ge(j->pid, 0);
    if (j->pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        char cp[1024];
        snprintf(cp, sizeof(cp), "%s:%s/*", java_dir, getenv("KWAL_KAFKA_LIB"));
        const char *argv[16] = {"java", "-cp", cp, "GroupMember", bootstrap, group};
        for (size_t i = 0; i < n && i < 8; i++)
            argv[6 + i] = topics[i];
        if (!getenv("KWAL_TEST_LOG")) { /* the Java client's own log is long */
            int null = open("/dev/null", O_WRONLY);
            if (null >= 0)
                dup2(null, 2);
        }
        execvp("java", (char *const *)argv);
        _exit(127);
    }
    close(fd[1]);
    j->fd = fd[0];
}

/* Reads what the Java member printed within ms and applies it to its owned set. */
static void java_pump(java_member *j, int ms)
{
    struct pollfd p = {.fd = j->fd, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0)
        return;
    ssize_t n = read(j->fd, j->buf + j->len, sizeof(j->buf) - 1 - j->len);
    ck_assert_msg(n > 0, "the Java member ended");
    j->len += (size_t)n;
    j->buf[j->len] = 0;
    char *line = j->buf, *nl;
    while ((nl = strchr(line, '\n'))) {
        *nl = 0;
        fprintf(stderr, "java: %s\n", line);
        if (strncmp(line, "ASSIGNED ", 9) == 0 && j->nown < MAX_OWN)
            snprintf(j->own[j->nown++], 160, "%s", line + 9);
        else if (strncmp(line, "REVOKED ", 8) == 0 || strncmp(line, "LOST ", 5) == 0) {
            const char *name = strchr(line, ' ') + 1;
            for (int i = 0; i < j->nown; i++)
                if (strcmp(j->own[i], name) == 0) {
                    strcpy(j->own[i], j->own[--j->nown]);
                    break;
                }
        }
        line = nl + 1;
    }
    j->len = strlen(line);
    memmove(j->buf, line, j->len + 1);
}

/* Reads the Java member's lines until it owns `want` partitions (its view). */
static void java_wait(java_member *j, int want, unsigned timeout_ms)
{
    uint64_t t0 = now_ms();
    while (j->nown != want) {
        ck_assert_msg(now_ms() - t0 < timeout_ms, "the Java member owns %d, not %d", j->nown, want);
        java_pump(j, 100);
    }
}

static void java_kill(java_member *j)
{
    kill(j->pid, SIGKILL);
    waitpid(j->pid, NULL, 0);
    close(j->fd);
}

/*
 * A Java KafkaConsumer (CooperativeStickyAssignor) and two kwal members in one
 * group: first Java leads (it joins first), then kwal (after Java is killed
 * and comes back).  Every partition has one owner; killing either side moves
 * its partitions to the others.
 */
START_TEST(java_consumer_and_kwal_members_share_a_group)
{
    if (!java_ready())
        return;
    kw_client *admin = open_client(false);
    char topics[3][128], group[128], names[3][160];
    const char *tv[3];
    for (int i = 0; i < 3; i++) {
        unique(topics[i], sizeof(topics[i]), "java");
        make_topic(admin, topics[i], 1);
        tv[i] = topics[i];
        tp_name(names[i], topics[i], 0);
    }
    unique(group, sizeof(group), "java");

    /* Java first: it is the leader and computes the kwal members' assignments. */
    java_member j;
    java_start(&j, group, tv, 3);
    java_wait(&j, 3, 60000);
    member a, b;
    member_opts mo = {.group = group, .topics = tv, .ntopics = 3, .session_ms = 6000};
    member_opts mob = mo;
    mob.host_driven = true;
    member_start(&a, &mo);
    member_start(&b, &mob);
    java_wait(&j, 1, 60000);
    member *two[] = {&a, &b};
    int one[] = {1, 1};
    char kwal_names[2][160];
    size_t nk = 0;
    for (int i = 0; i < 3; i++)
        if (strcmp(names[i], j.own[0]) != 0)
            strcpy(kwal_names[nk++], names[i]);
    ck_assert_uint_eq(nk, 2);
    settle(two, 2, one, kwal_names, 2, 60000); /* kwal owns two, Java the third */
    ck_assert(!owns(&a, j.own[0]) && !owns(&b, j.own[0]));
    kw_group_info ia;
    ck_assert_int_eq(kw_group_info_get(a.g, &ia), 0);
    ck_assert(!ia.leader);
    ck_assert_str_eq(ia.protocol_name, "cooperative-sticky");
    kw_group_info_free(&ia);

    /* Kill Java: the kwal members take its partition after the session timeout. */
    uint64_t t0 = now_ms();
    java_kill(&j);
    int any[] = {-1, -1};
    settle(two, 2, any, names, 3, 60000);
    fprintf(stderr, "kwal took the killed Java member's partition in %llu ms\n",
            (unsigned long long)(now_ms() - t0));

    /* Java again, now joining a group a kwal member leads: it gets one partition from kwal. */
    java_start(&j, group, tv, 3);
    java_wait(&j, 1, 60000);
    nk = 0;
    for (int i = 0; i < 3; i++)
        if (strcmp(names[i], j.own[0]) != 0)
            strcpy(kwal_names[nk++], names[i]);
    settle(two, 2, one, kwal_names, 2, 60000);
    bool kwal_leads = false;
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(kw_group_info_get(two[i]->g, &ia), 0);
        kwal_leads |= ia.leader;
        kw_group_info_free(&ia);
    }
    ck_assert(kwal_leads);

    /* A kwal member stops (b is host-driven: its loop stops with its polls, no LeaveGroup):
     * Java and the other kwal member take its partition after the session timeout. */
    atomic_store(&b.paused, true);
    t0 = now_ms();
    while (owned_count(&a) + j.nown != 3) {
        ck_assert_msg(now_ms() - t0 < 60000, "a owns %d, Java %d", owned_count(&a), j.nown);
        java_pump(&j, 50);
    }
    fprintf(stderr, "the stopped kwal member's partition moved in %llu ms\n",
            (unsigned long long)(now_ms() - t0));
    for (int i = 0; i < 3; i++) { /* one owner each */
        bool java_has = false;
        for (int k = 0; k < j.nown; k++)
            java_has |= strcmp(j.own[k], names[i]) == 0;
        ck_assert_int_eq(owns(&a, names[i]) + java_has, 1);
    }
    java_kill(&j);
    member_stop(&b, false);
    member_stop(&a, true);
    drop_topics(admin, topics, 3);
    kw_client_destroy(admin);
}
END_TEST

int main(void)
{
    bootstrap = getenv("KWAL_BOOTSTRAP");
    if (!bootstrap || !*bootstrap) {
        fprintf(stderr, "KWAL_BOOTSTRAP is not set (eval \"$(tests/kafka/broker env)\"): skipped\n");
        return 77;
    }
    signal(SIGPIPE, SIG_IGN);
    Suite *s = suite_create("group-broker");
    const struct {
        const char *name;
        const TTest *test;
    } cases[] = {
        {"options", bad_options_are_named},
        {"three", three_members_share_three_topics_and_only_moved_partitions_are_revoked},
        {"static", static_member_rejoins_without_a_rebalance},
        {"commit", auto_commit_and_commit_on_revoke_land},
        {"heartbeat", heartbeats_keep_the_member_in},
        {"pause", a_paused_member_loses_its_partitions},
        {"maxpoll", a_member_that_stops_polling_leaves},
        {"grow", a_grown_topic_is_reassigned},
        {"java", java_consumer_and_kwal_members_share_a_group},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        TCase *tc = tcase_create(cases[i].name); /* CK_RUN_CASE=name runs one */
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, cases[i].test);
        suite_add_tcase(s, tc);
    }
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
