/* kw_log on the real broker: one leader per database, exactly-once replicas, fencing of a paused leader, prefixes, bad topics. */
#include <check.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kwal/client.h"
#include "kwal/consumer.h"
#include "kwal/log.h"
#include "kwal/producer.h"

/*
 * Names carry the pid and a counter.  The nodes' apply copies each command
 * and keys the replica record with the node's name, so the replica history
 * says which node wrote each record in which term (the "kwal-term" header).
 */
static const char *bootstrap;

#define SESSION_MS 6000
#define ASSERT_OK(rc, detail) ck_assert_msg((rc) == 0, "%s: %s", kw_err_name(rc), (detail))

static void unique(char *buf, size_t len, const char *what)
{
    static int seq; /* the test's own counter: one test process, one thread makes names */
    snprintf(buf, len, "kwal-it-xlog-%s-%d-%d", what, getpid(), seq++);
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

static kw_client *open_client(void)
{
    kw_client_options o = {.bootstrap = bootstrap, .connect_timeout_ms = 5000};
    kw_client *c = NULL;
    char err[256];
    int rc = kw_client_new(&c, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_client_new: %s", err);
    return c;
}

static void make_topic(kw_client *c, const char *topic, int32_t partitions, const char *ts_type)
{
    kw_client_config_entry cfg = {"message.timestamp.type", ts_type};
    kw_client_new_topic t = {.name = topic, .partitions = partitions, .replication_factor = 1,
                             .configs = &cfg, .config_count = 1};
    kw_client_create_topics_args a = {.topics = &t, .topic_count = 1, .timeout_ms = 30000};
    kw_client_topics_result r;
    int rc = kw_client_create_topics(c, &a, &r);
    ASSERT_OK(rc, r.detail);
    ck_assert_int_eq(r.topics[0].kerr, 0);
    kw_client_topics_result_free(&r);
    for (int32_t p = 0; p < partitions; p++) { /* until the broker serves it */
        kw_client_list_offsets_args la = {.topic = topic, .partition = p,
                                          .spec = KW_CLIENT_OFFSET_LATEST, .timeout_ms = 30000};
        kw_client_list_offsets_result lr;
        rc = kw_client_list_offsets(c, &la, &lr);
        ASSERT_OK(rc, lr.detail);
    }
}

static void drop_topic(kw_client *c, const char *topic)
{
    const char *names[1] = {topic};
    kw_client_delete_topics_args a = {.names = names, .name_count = 1, .timeout_ms = 30000};
    kw_client_topics_result r;
    kw_client_delete_topics(c, &a, &r);
    kw_client_topics_result_free(&r);
}

/* ---- a node: the host side of one kw_log ---- */

#define MAX_DB 3
typedef struct node {
    char name[8];
    kw_log *log;
    pthread_mutex_t mu;
    int role[MAX_DB];
    int64_t term[MAX_DB];
    int leader_calls[MAX_DB];
    char dbs[MAX_DB][128];
    size_t db_count;
    int pause_fd; /* the forked child: writes "paused" and stops itself on a PAUSE command */
    bool fail_armed; /* apply refuses the first FAIL command (then takes it) */
    int rewinds[MAX_DB];
    char seen[16][32]; /* on_replica: values handed over */
    int64_t seen_term[16];
    size_t seen_count;
} node;

static int db_index(node *n, const char *db)
{
    for (size_t i = 0; i < n->db_count; i++)
        if (!strcmp(n->dbs[i], db))
            return (int)i;
    return -1;
}

static int copy_apply(void *arg, const kw_log_record *src, kw_log_output *out)
{
    node *n = arg;
    if (n->pause_fd >= 0 && src->value_len == 5 && !memcmp(src->value, "PAUSE", 5)) {
        ssize_t w = write(n->pause_fd, "P", 1);
        (void)w;
        raise(SIGSTOP); /* the parent resumes it after another node took over */
    }
    if (src->value_len == 4 && !memcmp(src->value, "SLOW", 4))
        sleep_ms(1500); /* the next commands pile up for one poll */
    if (src->value_len == 4 && !memcmp(src->value, "FAIL", 4) && n->fail_armed) {
        n->fail_armed = false;
        return KW_EINVAL;
    }
    return kw_log_emit(out, n->name, strlen(n->name), src->value, src->value_len);
}

static void on_leader(void *arg, const char *db, int64_t term)
{
    node *n = arg;
    pthread_mutex_lock(&n->mu);
    int i = db_index(n, db);
    n->role[i] = KW_LOG_ROLE_LEADER;
    n->term[i] = term;
    n->leader_calls[i]++;
    pthread_mutex_unlock(&n->mu);
    if (n->pause_fd >= 0) {
        ssize_t w = write(n->pause_fd, "L", 1);
        (void)w;
    }
}

static void on_follower(void *arg, const char *db, bool rewind)
{
    node *n = arg;
    pthread_mutex_lock(&n->mu);
    n->role[db_index(n, db)] = KW_LOG_ROLE_FOLLOWER;
    n->rewinds[db_index(n, db)] += rewind;
    pthread_mutex_unlock(&n->mu);
}

static void on_replica(void *arg, const kw_log_record *r)
{
    node *n = arg;
    pthread_mutex_lock(&n->mu);
    if (n->seen_count < 16) {
        snprintf(n->seen[n->seen_count], sizeof(n->seen[0]), "%.*s", (int)r->value_len,
                 (const char *)r->value);
        n->seen_term[n->seen_count++] = r->term;
    }
    pthread_mutex_unlock(&n->mu);
}

typedef struct deploy {
    const char *group, *prefix;
    uint32_t term_epoch;
    bool drop_stale_terms;
} deploy;

static node *open_node(const char *name, const deploy *dep, char dbs[][2][128], size_t ndb,
                       int pause_fd)
{
    node *n = calloc(1, sizeof(*n));
    snprintf(n->name, sizeof(n->name), "%s", name);
    pthread_mutex_init(&n->mu, NULL);
    n->pause_fd = pause_fd;
    n->db_count = ndb;
    kw_log_options o = {.bootstrap = bootstrap, .group_id = dep->group,
                        .transactional_id_prefix = dep->prefix, .term_epoch = dep->term_epoch,
                        .session_timeout_ms = SESSION_MS, .heartbeat_interval_ms = 500,
                        .rebalance_timeout_ms = 15000, .apply = copy_apply,
                        .on_leader = on_leader, .on_follower = on_follower,
                        .on_replica = on_replica, .drop_stale_terms = dep->drop_stale_terms,
                        .arg = n};
    char err[512];
    int rc = kw_log_open(&n->log, &o, err, sizeof(err));
    ASSERT_OK(rc, err);
    for (size_t i = 0; i < ndb; i++) {
        snprintf(n->dbs[i], sizeof(n->dbs[i]), "%.127s", dbs[i][0]);
        kw_log_database d = {.name = dbs[i][0], .topic = dbs[i][1], .auto_create_topic = true};
        rc = kw_log_attach(n->log, &d, err, sizeof(err));
        ASSERT_OK(rc, err);
    }
    rc = kw_log_start(n->log, err, sizeof(err));
    ASSERT_OK(rc, err);
    return n;
}

static void close_node(node *n)
{
    if (!n)
        return;
    ck_assert_int_eq(kw_log_close(n->log), 0);
    pthread_mutex_destroy(&n->mu);
    free(n);
}

static int role_of(node *n, const char *db)
{
    kw_log_db_info info;
    ck_assert_int_eq(kw_log_db_info_get(n->log, db, &info), 0);
    return info.role;
}

/* Waits until every database has exactly one leader among nodes (NULL entries skipped) and,
 * when one_each, every node leads exactly one. */
static bool settled(node **nodes, size_t nn, char dbs[][2][128], size_t ndb, bool one_each)
{
    size_t per_node[8] = {0};
    for (size_t d = 0; d < ndb; d++) {
        int leaders = 0;
        for (size_t k = 0; k < nn; k++) {
            if (nodes[k] && role_of(nodes[k], dbs[d][0]) == KW_LOG_ROLE_LEADER) {
                leaders++;
                per_node[k]++;
            }
        }
        if (leaders != 1)
            return false;
    }
    if (one_each)
        for (size_t k = 0; k < nn; k++)
            if (nodes[k] && per_node[k] != 1)
                return false;
    return true;
}

static void wait_settled(node **nodes, size_t nn, char dbs[][2][128], size_t ndb, bool one_each,
                         unsigned timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    /* Settled twice, 1 s apart: not a moment inside a rebalance. */
    while (now_ms() < end) {
        if (settled(nodes, nn, dbs, ndb, one_each)) {
            sleep_ms(1000);
            if (settled(nodes, nn, dbs, ndb, one_each))
                return;
        }
        sleep_ms(100);
    }
    ck_abort_msg("the log cluster did not settle in %u ms", timeout_ms);
}

static int leader_of(node **nodes, size_t nn, const char *db)
{
    for (size_t k = 0; k < nn; k++)
        if (nodes[k] && role_of(nodes[k], db) == KW_LOG_ROLE_LEADER)
            return (int)k;
    return -1;
}

/* ---- reading a replica back ---- */

typedef struct entry {
    char writer[8];
    char value[64];
    int64_t term;
    int64_t offset;
} entry;

static int64_t term_of(const kw_consumer_record *r)
{
    for (size_t i = 0; i < r->header_count; i++)
        if (r->headers[i].key_len == 9 && !memcmp(r->headers[i].key, "kwal-term", 9) &&
            r->headers[i].value_len == 8) {
            const uint8_t *b = r->headers[i].value;
            uint64_t v = 0;
            for (int j = 0; j < 8; j++)
                v = v << 8 | b[j];
            return (int64_t)v;
        }
    return -1;
}

/* Reads the replica read_committed until it has `want` records (then 1 s more for extras). */
static size_t read_replica(kw_client *c, const char *topic, size_t want, entry *out, size_t cap,
                           unsigned timeout_ms)
{
    kw_consumer_options co = {.isolation = KW_CONSUMER_READ_COMMITTED, .max_wait_ms = 100};
    kw_consumer *cons;
    char err[256];
    ck_assert_int_eq(kw_consumer_new(&cons, c, &co, err, sizeof(err)), 0);
    ck_assert_int_eq(kw_consumer_assign(cons, topic, 0, kw_consumer_at_earliest()), 0);
    size_t n = 0;
    uint64_t end = now_ms() + timeout_ms, extra_end = 0;
    while (now_ms() < (extra_end ? extra_end : end)) {
        kw_consumer_poll_result pr;
        ck_assert_int_eq(kw_consumer_poll(cons, 100, &pr), 0);
        ck_assert_msg(pr.error_count == 0, "replica %s: %s", topic,
                      pr.error_count ? pr.errors[0].detail : "");
        for (size_t i = 0; i < pr.record_count && n < cap; i++, n++) {
            const kw_consumer_record *r = &pr.records[i];
            snprintf(out[n].writer, sizeof(out[n].writer), "%.*s", (int)r->key_len,
                     (const char *)r->key);
            snprintf(out[n].value, sizeof(out[n].value), "%.*s", (int)r->value_len,
                     (const char *)r->value);
            out[n].term = term_of(r);
            out[n].offset = r->offset;
        }
        if (n >= want && !extra_end)
            extra_end = now_ms() + 1000;
    }
    kw_consumer_destroy(cons);
    return n;
}

/* Terms never decrease, and each term has one writer. */
static void check_history(const entry *e, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        ck_assert_msg(e[i].term >= e[i - 1].term, "term went down at offset %" PRId64 ": %" PRId64
                      " after %" PRId64, e[i].offset, e[i].term, e[i - 1].term);
        if (e[i].term == e[i - 1].term)
            ck_assert_msg(!strcmp(e[i].writer, e[i - 1].writer),
                          "term %" PRId64 " has two writers: %s and %s", e[i].term,
                          e[i - 1].writer, e[i].writer);
    }
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(e[i].term > 0, "record at %" PRId64 " has no term", e[i].offset);
}

static void submit(kw_log *log, const char *db, const char *value)
{
    int64_t off = -1;
    int rc = kw_log_submit(log, db, NULL, 0, value, strlen(value), &off);
    ASSERT_OK(rc, value);
    ck_assert_int_ge(off, 0);
}

static void name_dbs(char dbs[][2][128], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unique(dbs[i][0], sizeof(dbs[i][0]), "db");
        unique(dbs[i][1], sizeof(dbs[i][1]), "src");
    }
}

static void drop_dbs(char dbs[][2][128], size_t n)
{
    kw_client *c = open_client();
    for (size_t i = 0; i < n; i++) {
        char replica[160];
        snprintf(replica, sizeof(replica), "%s-replica", dbs[i][1]);
        drop_topic(c, dbs[i][1]);
        drop_topic(c, replica);
    }
    kw_client_destroy(c);
}

START_TEST(three_nodes_three_databases)
{
    char group[128], prefix[128], dbs[3][2][128];
    unique(group, sizeof(group), "group");
    unique(prefix, sizeof(prefix), "prefix");
    name_dbs(dbs, 3);
    deploy dep = {.group = group, .prefix = prefix, .term_epoch = 2};
    node *nodes[3];
    nodes[0] = open_node("A", &dep, dbs, 3, -1);
    nodes[1] = open_node("B", &dep, dbs, 3, -1);
    nodes[2] = open_node("C", &dep, dbs, 3, -1);
    wait_settled(nodes, 3, dbs, 3, true, 60000);
    for (int d = 0; d < 3; d++) {
        int k = leader_of(nodes, 3, dbs[d][0]);
        kw_log_db_info info;
        ck_assert_int_eq(kw_log_db_info_get(nodes[k]->log, dbs[d][0], &info), 0);
        ck_assert_int_eq(info.term >> 48, 2); /* (term_epoch << 48) + generation */
        ck_assert_int_gt(info.term & 0xffff, 0);
    }
    /* Commands through different nodes, in order per database. */
    char v[64];
    for (int i = 0; i < 10; i++)
        for (int d = 0; d < 3; d++) {
            snprintf(v, sizeof(v), "cmd-%d-%d", d, i);
            submit(nodes[i % 3]->log, dbs[d][0], v);
        }
    kw_client *c = open_client();
    char replica[3][160];
    int first_leader[3];
    entry e[64];
    for (int d = 0; d < 3; d++) {
        snprintf(replica[d], sizeof(replica[d]), "%s-replica", dbs[d][1]);
        first_leader[d] = leader_of(nodes, 3, dbs[d][0]);
        size_t n = read_replica(c, replica[d], 10, e, 64, 30000);
        ck_assert_uint_eq(n, 10);
        for (int i = 0; i < 10; i++) {
            snprintf(v, sizeof(v), "cmd-%d-%d", d, i);
            ck_assert_str_eq(e[i].value, v);
            ck_assert_str_eq(e[i].writer, nodes[first_leader[d]]->name);
        }
        check_history(e, n);
    }
    /* The leader of database 0 closes: only database 0 moves. */
    int gone = first_leader[0];
    uint64_t t0 = now_ms();
    close_node(nodes[gone]);
    nodes[gone] = NULL;
    wait_settled(nodes, 3, dbs, 3, false, 60000);
    fprintf(stderr, "log: database 0 moved in %" PRIu64 " ms after its leader closed\n",
            now_ms() - t0);
    for (int d = 1; d < 3; d++) {
        ck_assert_int_eq(leader_of(nodes, 3, dbs[d][0]), first_leader[d]);
        node *k = nodes[first_leader[d]];
        ck_assert_int_eq(k->leader_calls[d], 1); /* never stepped down */
    }
    for (int i = 10; i < 15; i++)
        for (int d = 0; d < 3; d++) {
            snprintf(v, sizeof(v), "cmd-%d-%d", d, i);
            submit(nodes[first_leader[1]]->log, dbs[d][0], v);
        }
    for (int d = 0; d < 3; d++) {
        size_t n = read_replica(c, replica[d], 15, e, 64, 30000);
        ck_assert_uint_eq(n, 15);
        for (int i = 0; i < 15; i++) {
            snprintf(v, sizeof(v), "cmd-%d-%d", d, i);
            ck_assert_str_eq(e[i].value, v);
        }
        check_history(e, n);
        if (d == 0)
            ck_assert_int_gt(e[14].term, e[0].term);
        else
            ck_assert_int_eq(e[14].term, e[0].term);
    }
    kw_client_destroy(c);
    for (int k = 0; k < 3; k++)
        close_node(nodes[k]);
    drop_dbs(dbs, 3);
}
END_TEST

/* The child: one node "A" that reports through fd and stops itself at a PAUSE command. */
static void child_node(int fd, const deploy *dep, char dbs[][2][128])
{
    node *n = open_node("A", dep, dbs, 1, fd);
    ssize_t r;
    /* Wait until the fencing showed (or 40 s). */
    kw_log_db_info info = {0};
    for (int i = 0; i < 400; i++) {
        kw_log_db_info_get(n->log, dbs[0][0], &info);
        if (info.fenced_writes > 0 && info.role == KW_LOG_ROLE_FOLLOWER)
            break;
        sleep_ms(100);
    }
    sleep_ms(1500); /* retries, if any, would show in the counters */
    kw_log_db_info_get(n->log, dbs[0][0], &info);
    char line[512];
    int len = snprintf(line, sizeof(line), "R %" PRIu64 " %" PRIu64 " %d %" PRIu64 " %d\n",
                       info.fenced_writes, info.failed_transactions, info.last_err, info.applied,
                       info.role);
    r = write(fd, line, (size_t)len);
    (void)r;
    kw_log_close(n->log);
    _exit(0);
}

static char read_char(int fd, unsigned timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    char ch;
    while (now_ms() < end) {
        ssize_t r = read(fd, &ch, 1);
        if (r == 1)
            return ch;
        sleep_ms(20);
    }
    return 0;
}

START_TEST(paused_leader_is_fenced)
{
    char group[128], prefix[128], dbs[1][2][128];
    unique(group, sizeof(group), "group");
    unique(prefix, sizeof(prefix), "prefix");
    name_dbs(dbs, 1);
    deploy dep = {.group = group, .prefix = prefix};
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[0]);
        child_node(p[1], &dep, dbs);
    }
    close(p[1]);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    ck_assert_int_eq(read_char(p[0], 60000), 'L'); /* A leads */
    node *b = open_node("B", &dep, dbs, 1, -1);
    sleep_ms(3000); /* B joined; cooperative-sticky leaves the database with A */
    ck_assert_int_eq(role_of(b, dbs[0][0]), KW_LOG_ROLE_FOLLOWER);
    submit(b->log, dbs[0][0], "c1");
    submit(b->log, dbs[0][0], "c2");
    kw_client *c = open_client();
    char replica[160];
    snprintf(replica, sizeof(replica), "%s-replica", dbs[0][1]);
    entry e[32];
    ck_assert_uint_eq(read_replica(c, replica, 2, e, 32, 30000), 2);
    submit(b->log, dbs[0][0], "PAUSE");
    ck_assert_int_eq(read_char(p[0], 30000), 'P');
    int st;
    ck_assert_int_eq(waitpid(pid, &st, WUNTRACED), pid);
    ck_assert(WIFSTOPPED(st));
    uint64_t t0 = now_ms();
    while (role_of(b, dbs[0][0]) != KW_LOG_ROLE_LEADER && now_ms() - t0 < 60000)
        sleep_ms(50);
    ck_assert_int_eq(role_of(b, dbs[0][0]), KW_LOG_ROLE_LEADER);
    fprintf(stderr, "log: B took over %" PRIu64 " ms after A stopped (session %d ms)\n",
            now_ms() - t0, SESSION_MS);
    submit(b->log, dbs[0][0], "c3");
    ck_assert_uint_eq(read_replica(c, replica, 4, e, 32, 30000), 4);
    kill(pid, SIGCONT);
    char line[512] = {0};
    size_t got = 0;
    uint64_t end = now_ms() + 60000;
    while (now_ms() < end && (got == 0 || line[got - 1] != '\n') && got < sizeof(line) - 1) {
        ssize_t r = read(p[0], line + got, 1);
        if (r == 1) {
            if (got == 0 && line[0] != 'R')
                continue; /* an 'L' of a rejoin */
            got++;
        } else {
            sleep_ms(20);
        }
    }
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    unsigned long long fenced, failed, applied;
    int last_err, role;
    ck_assert_msg(sscanf(line, "R %llu %llu %d %llu %d", &fenced, &failed, &last_err, &applied,
                         &role) == 5, "child said: %s", line);
    fprintf(stderr, "log: A after SIGCONT: fenced writes %llu, failed transactions %llu, %s\n",
            fenced, failed, kw_err_name(last_err));
    ck_assert_uint_ge(fenced, 1);
    ck_assert_uint_ge(failed, 1);
    ck_assert_uint_eq(applied, 2); /* only c1 and c2 ever committed as A */
    /* Every transaction A tried after B's InitProducerId failed fenced. */
    ck_assert_uint_eq(fenced >= failed ? 1 : 0, 1);
    /* The replica: c1 c2 by A, PAUSE c3 by B; nothing of A's after B took over. */
    size_t n = read_replica(c, replica, 4, e, 32, 30000);
    ck_assert_uint_eq(n, 4);
    const char *want[4][2] = {{"A", "c1"}, {"A", "c2"}, {"B", "PAUSE"}, {"B", "c3"}};
    for (int i = 0; i < 4; i++) {
        ck_assert_str_eq(e[i].writer, want[i][0]);
        ck_assert_str_eq(e[i].value, want[i][1]);
    }
    ck_assert_int_gt(e[2].term, e[1].term);
    check_history(e, n);
    ck_assert_int_eq(role_of(b, dbs[0][0]), KW_LOG_ROLE_LEADER);
    close(p[0]);
    kw_client_destroy(c);
    close_node(b);
    drop_dbs(dbs, 1);
}
END_TEST

START_TEST(prefixes_keep_deployments_apart)
{
    char g1[128], g2[128], g3[128], p1[128], p2[128], t[3][2][128];
    unique(g1, sizeof(g1), "group");
    unique(g2, sizeof(g2), "group");
    unique(g3, sizeof(g3), "group");
    unique(p1, sizeof(p1), "prefix");
    unique(p2, sizeof(p2), "prefix");
    name_dbs(t, 3);
    /* Every deployment calls its database "db": only the prefix tells their leaders apart. */
    char dbname[128];
    unique(dbname, sizeof(dbname), "db");
    for (int i = 0; i < 3; i++)
        snprintf(t[i][0], sizeof(t[i][0]), "%s", dbname);
    deploy d1 = {.group = g1, .prefix = p1}, d2 = {.group = g2, .prefix = p2},
           d3 = {.group = g3, .prefix = p1};
    node *n1 = open_node("X", &d1, &t[0], 1, -1);
    node *n2 = open_node("Y", &d2, &t[1], 1, -1);
    node *one[1] = {n1}, *two[1] = {n2};
    wait_settled(one, 1, &t[0], 1, true, 60000);
    wait_settled(two, 1, &t[1], 1, true, 60000);
    kw_client *c = open_client();
    char r1[160], r2[160];
    snprintf(r1, sizeof(r1), "%s-replica", t[0][1]);
    snprintf(r2, sizeof(r2), "%s-replica", t[1][1]);
    entry e[32];
    for (int i = 0; i < 5; i++) {
        submit(n1->log, dbname, "x");
        submit(n2->log, dbname, "y");
    }
    ck_assert_uint_eq(read_replica(c, r1, 5, e, 32, 30000), 5);
    ck_assert_uint_eq(read_replica(c, r2, 5, e, 32, 30000), 5);
    kw_log_db_info i1, i2;
    kw_log_db_info_get(n1->log, dbname, &i1);
    kw_log_db_info_get(n2->log, dbname, &i2);
    ck_assert_uint_eq(i1.fenced_writes + i2.fenced_writes, 0);
    ck_assert_uint_eq(i1.terms_led, 1);
    ck_assert_uint_eq(i2.terms_led, 1);
    /* A third deployment with the first one's prefix: its leader fences the first's. */
    node *n3 = open_node("Z", &d3, &t[2], 1, -1);
    node *three[1] = {n3};
    wait_settled(three, 1, &t[2], 1, true, 60000);
    submit(n1->log, dbname, "x-after");
    uint64_t end = now_ms() + 30000;
    do {
        kw_log_db_info_get(n1->log, dbname, &i1);
        if (i1.fenced_writes > 0)
            break;
        sleep_ms(100);
    } while (now_ms() < end);
    ck_assert_uint_ge(i1.fenced_writes, 1);
    ck_assert_int_eq(i1.last_err == KW_EFENCED || i1.terms_led > 1, 1);
    kw_log_db_info_get(n2->log, dbname, &i2);
    ck_assert_uint_eq(i2.fenced_writes, 0);
    kw_client_destroy(c);
    close_node(n3);
    close_node(n2);
    close_node(n1);
    drop_dbs(t, 3);
}
END_TEST


/* A failed apply aborts its transaction and steps its database down with rewind; the other
 * database's records of the same poll are still applied (they once pointed into the freed
 * partition: ASan), and the refused command is applied once when the node leads again. */
START_TEST(failed_apply_rewinds_one_database)
{
    char group[128], prefix[128], dbs[2][2][128];
    unique(group, sizeof(group), "group");
    unique(prefix, sizeof(prefix), "prefix");
    name_dbs(dbs, 2);
    deploy dep = {.group = group, .prefix = prefix};
    node *n = open_node("A", &dep, dbs, 2, -1);
    node *nodes[1] = {n};
    wait_settled(nodes, 1, dbs, 2, false, 60000);
    n->fail_armed = true;
    submit(n->log, dbs[0][0], "a");
    submit(n->log, dbs[1][0], "b");
    submit(n->log, dbs[0][0], "SLOW");
    submit(n->log, dbs[1][0], "c1");
    submit(n->log, dbs[0][0], "FAIL");
    submit(n->log, dbs[1][0], "c2");
    kw_client *c = open_client();
    char r0[160], r1[160];
    snprintf(r0, sizeof(r0), "%s-replica", dbs[0][1]);
    snprintf(r1, sizeof(r1), "%s-replica", dbs[1][1]);
    entry e[16];
    ck_assert_uint_eq(read_replica(c, r0, 3, e, 16, 30000), 3);
    ck_assert_str_eq(e[0].value, "a");
    ck_assert_str_eq(e[1].value, "SLOW");
    ck_assert_str_eq(e[2].value, "FAIL");
    check_history(e, 3);
    ck_assert_uint_eq(read_replica(c, r1, 3, e, 16, 30000), 3);
    ck_assert_str_eq(e[0].value, "b");
    ck_assert_str_eq(e[1].value, "c1");
    ck_assert_str_eq(e[2].value, "c2");
    kw_log_db_info i0, i1;
    ck_assert_int_eq(kw_log_db_info_get(n->log, dbs[0][0], &i0), 0);
    ck_assert_int_eq(kw_log_db_info_get(n->log, dbs[1][0], &i1), 0);
    ck_assert_uint_eq(i0.failed_transactions, 1);
    ck_assert_uint_eq(i0.terms_led, 2);
    ck_assert_uint_eq(i0.applied, 3);
    ck_assert_int_eq(i0.role, KW_LOG_ROLE_LEADER);
    ck_assert_uint_eq(i1.failed_transactions, 0);
    ck_assert_uint_eq(i1.terms_led, 1);
    ck_assert_uint_eq(i1.applied, 3);
    ck_assert_int_eq(n->rewinds[0], 1);
    ck_assert_int_eq(n->rewinds[1], 0);
    kw_client_destroy(c);
    close_node(n);
    drop_dbs(dbs, 2);
}
END_TEST


/* drop_stale_terms: replica records written below the highest term seen (a writer without
 * transactions that lost its leadership) are dropped; records without the option are all read. */
START_TEST(stale_terms_are_dropped)
{
    char dbs[1][2][128], replica[160];
    name_dbs(dbs, 1);
    snprintf(replica, sizeof(replica), "%s-replica", dbs[0][1]);
    kw_client *c = open_client();
    make_topic(c, dbs[0][1], 1, "LogAppendTime");
    make_topic(c, replica, 1, "LogAppendTime");
    kw_producer *p;
    kw_producer_options po = {0};
    char err[256];
    ck_assert_int_eq(kw_producer_new(&p, c, &po, err, sizeof(err)), 0);
    const int64_t terms[4] = {5, 3, 7, 7};
    const char *values[4] = {"t5", "t3", "t7", "t7b"};
    for (int i = 0; i < 4; i++) {
        uint8_t b[8];
        for (int j = 0; j < 8; j++)
            b[j] = (uint8_t)(terms[i] >> (56 - 8 * j));
        kw_header h = {.key = "kwal-term", .key_len = 9, .value = b, .value_len = 8};
        kw_producer_record r = {.topic = replica, .partition = 0, .value = values[i],
                                .value_len = strlen(values[i]), .headers = &h, .header_count = 1};
        ck_assert_int_eq(kw_producer_send(p, &r, NULL, NULL), 0);
    }
    ck_assert_int_eq(kw_producer_flush(p, 30000), 0);
    kw_producer_destroy(p);
    for (int drop = 1; drop >= 0; drop--) {
        char group[128], prefix[128];
        unique(group, sizeof(group), "group");
        unique(prefix, sizeof(prefix), "prefix");
        deploy dep = {.group = group, .prefix = prefix, .drop_stale_terms = drop};
        node *n = open_node("A", &dep, dbs, 1, -1);
        uint64_t end = now_ms() + 30000;
        kw_log_db_info info;
        do {
            sleep_ms(100);
            ck_assert_int_eq(kw_log_db_info_get(n->log, dbs[0][0], &info), 0);
        } while (info.replica_read + info.stale_dropped < 4 && now_ms() < end);
        ck_assert_uint_eq(info.stale_dropped, drop ? 1 : 0);
        ck_assert_uint_eq(info.replica_read, drop ? 3 : 4);
        ck_assert_uint_eq(n->seen_count, drop ? 3 : 4);
        ck_assert_str_eq(n->seen[0], "t5");
        ck_assert_int_eq(n->seen_term[0], 5);
        ck_assert_str_eq(n->seen[1], drop ? "t7" : "t3");
        ck_assert_str_eq(n->seen[drop ? 2 : 3], "t7b");
        close_node(n);
    }
    kw_client_destroy(c);
    drop_dbs(dbs, 1);
}
END_TEST

/* What kw_log_submit_async's callbacks saw (they run on the node's client I/O thread). */
typedef struct submits {
    pthread_mutex_t mu;
    kw_log *log;
    pthread_t test_thread;
    int calls, errors, on_test_thread;
    int64_t offsets[64];
    char database[128];
    int blocking_rc, close_rc, chained_rc; /* what the first callback's calls returned */
} submits;

static void submitted(void *arg, const kw_log_submitted *s)
{
    submits *k = arg;
    bool first;
    pthread_mutex_lock(&k->mu);
    first = k->calls == 0;
    if (k->calls < 64)
        k->offsets[k->calls] = s->offset;
    k->calls++;
    k->errors += s->err != 0;
    k->on_test_thread += pthread_equal(pthread_self(), k->test_thread);
    snprintf(k->database, sizeof(k->database), "%s", s->database);
    pthread_mutex_unlock(&k->mu);
    if (first) { /* what the callback may not do, and what it may */
        k->blocking_rc = kw_log_submit(k->log, s->database, NULL, 0, "no", 2, NULL);
        k->close_rc = kw_log_close(k->log);
        k->chained_rc = kw_log_submit_async(k->log, s->database, NULL, 0, "chained", 7,
                                            submitted, k);
    }
}

/* kw_log_submit_async: queued at once, reported on the I/O thread in order, applied by the leader. */
START_TEST(async_submits_are_reported_in_order)
{
    char group[128], prefix[128], dbs[1][2][128], replica[160];
    unique(group, sizeof(group), "group");
    unique(prefix, sizeof(prefix), "prefix");
    name_dbs(dbs, 1);
    snprintf(replica, sizeof(replica), "%s-replica", dbs[0][1]);
    deploy dep = {.group = group, .prefix = prefix};
    node *n = open_node("A", &dep, dbs, 1, -1);
    wait_settled(&n, 1, dbs, 1, true, 60000);
    submits k = {.log = n->log, .test_thread = pthread_self()};
    pthread_mutex_init(&k.mu, NULL);
    char v[32];
    uint64_t t0 = now_ms();
    for (int i = 0; i < 20; i++) {
        snprintf(v, sizeof(v), "async-%d", i);
        ck_assert_int_eq(kw_log_submit_async(n->log, dbs[0][0], NULL, 0, v, strlen(v), submitted, &k), 0);
    }
    uint64_t queued = now_ms() - t0;
    ck_assert_int_eq(kw_log_submit_async(n->log, "nope", NULL, 0, "x", 1, submitted, &k),
                     KW_ENOTFOUND);
    for (;;) {
        pthread_mutex_lock(&k.mu);
        int calls = k.calls;
        pthread_mutex_unlock(&k.mu);
        if (calls == 21)
            break;
        ck_assert_msg(now_ms() - t0 < 30000, "%d of 21 submit callbacks", calls);
        sleep_ms(10);
    }
    fprintf(stderr, "async submit: 20 queued in %llu ms, all 21 acknowledged after %llu ms\n",
            (unsigned long long)queued, (unsigned long long)(now_ms() - t0));
    ck_assert_int_eq(k.errors, 0);
    ck_assert_int_eq(k.on_test_thread, 0);
    ck_assert_str_eq(k.database, dbs[0][0]);
    ck_assert_int_eq(k.blocking_rc, KW_EDEADLK);
    ck_assert_int_eq(k.close_rc, KW_EDEADLK);
    ck_assert_int_eq(k.chained_rc, 0);
    for (int i = 1; i < 21; i++) /* one producer, one partition: submit order, no gap */
        ck_assert_int_eq(k.offsets[i], k.offsets[i - 1] + 1);
    kw_client *c = open_client();
    entry e[64];
    size_t got = read_replica(c, replica, 21, e, 64, 30000);
    ck_assert_uint_eq(got, 21);
    /* kw_log_close waits for the callbacks of what is still queued. */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(kw_log_submit_async(n->log, dbs[0][0], NULL, 0, "late", 4, submitted, &k), 0);
    close_node(n);
    ck_assert_int_eq(k.calls, 26);
    ck_assert_int_eq(k.errors, 0);
    pthread_mutex_destroy(&k.mu);
    kw_client_destroy(c);
    drop_dbs(dbs, 1);
}
END_TEST

static int nop_apply(void *arg, const kw_log_record *src, kw_log_output *out)
{
    return 0;
}

START_TEST(bad_input_is_named)
{
    char err[512];
    kw_log *log = NULL;
    kw_log_options o = {.bootstrap = bootstrap, .group_id = "", .apply = nop_apply};
    ck_assert_int_eq(kw_log_open(&log, &o, err, sizeof(err)), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "group_id is empty"));
    o.group_id = NULL;
    o.apply = NULL;
    ck_assert_int_eq(kw_log_open(&log, &o, err, sizeof(err)), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "apply"));
    o.apply = nop_apply;
    o.term_epoch = 40000;
    ck_assert_int_eq(kw_log_open(&log, &o, err, sizeof(err)), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "term_epoch"));
    o.term_epoch = 0;
    char group[128];
    unique(group, sizeof(group), "group");
    o.group_id = group;
    ASSERT_OK(kw_log_open(&log, &o, err, sizeof(err)), err);
    kw_client *c = open_client();
    char three[128], ct[128], missing[128];
    unique(three, sizeof(three), "three");
    unique(ct, sizeof(ct), "ct");
    unique(missing, sizeof(missing), "missing");
    make_topic(c, three, 3, "LogAppendTime");
    char ct_replica[160];
    snprintf(ct_replica, sizeof(ct_replica), "%s-replica", ct);
    make_topic(c, ct, 1, "LogAppendTime");
    make_topic(c, ct_replica, 1, "CreateTime");
    kw_log_database d = {.name = "three", .topic = three, .auto_create_topic = true};
    ck_assert_int_eq(kw_log_attach(log, &d, err, sizeof(err)), KW_EINVAL);
    ck_assert_msg(strstr(err, three) && strstr(err, "3 partitions"), "%s", err);
    d = (kw_log_database){.name = "ct", .topic = ct};
    ck_assert_int_eq(kw_log_attach(log, &d, err, sizeof(err)), KW_EINVAL);
    ck_assert_msg(strstr(err, ct_replica) && strstr(err, "CreateTime"), "%s", err);
    d = (kw_log_database){.name = "missing", .topic = missing};
    ck_assert_int_eq(kw_log_attach(log, &d, err, sizeof(err)), KW_ENOTFOUND);
    ck_assert_msg(strstr(err, missing) && strstr(err, "does not exist"), "%s", err);
    d = (kw_log_database){.name = "", .topic = missing};
    ck_assert_int_eq(kw_log_attach(log, &d, err, sizeof(err)), KW_EINVAL);
    ck_assert_int_eq(kw_log_start(log, err, sizeof(err)), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "no database"));
    ck_assert_int_eq(kw_log_submit(log, "nope", NULL, 0, "x", 1, NULL), KW_ENOTFOUND);
    ck_assert_int_eq(kw_log_submit_async(log, "nope", NULL, 0, "x", 1, NULL, NULL), KW_ENOTFOUND);
    ck_assert_int_eq(kw_log_close(log), 0);
    drop_topic(c, three);
    drop_topic(c, ct);
    drop_topic(c, ct_replica);
    kw_client_destroy(c);
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
    Suite *s = suite_create("log-broker");
    const struct {
        const char *name;
        const TTest *test;
    } cases[] = {
        {"bad", bad_input_is_named},
        {"three", three_nodes_three_databases},
        {"fence", paused_leader_is_fenced},
        {"prefix", prefixes_keep_deployments_apart},
        {"apply", failed_apply_rewinds_one_database},
        {"stale", stale_terms_are_dropped},
        {"async", async_submits_are_reported_in_order},
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
