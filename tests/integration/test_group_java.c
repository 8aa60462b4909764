/* Java interop of kw_group: a Java KafkaConsumer (compiled by the test) and kwal members in one group, both protocols. */
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "group_member.h"

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

static void java_start_protocol(java_member *j, const char *group, const char *const *topics,
                                size_t n, bool kip848)
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
        const char *argv[16] = {"java", "-Dgroup.protocol=classic", "-cp", cp, "GroupMember",
                                group_test_bootstrap, group};
        if (kip848)
            argv[1] = "-Dgroup.protocol=consumer";
        for (size_t i = 0; i < n && i < 8; i++)
            argv[7 + i] = topics[i];
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

static void java_start(java_member *j, const char *group, const char *const *topics, size_t n)
{
    java_start_protocol(j, group, topics, n, false);
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
                    if (i != --j->nown)
                        strcpy(j->own[i], j->own[j->nown]);
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

/* SIGTERM: the Java member leaves the group (its shutdown hook closes the consumer). */
static void java_stop(java_member *j)
{
    kill(j->pid, SIGTERM);
    waitpid(j->pid, NULL, 0);
    close(j->fd);
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

/*
 * KIP-848: a Java KafkaConsumer with group.protocol=consumer and two kwal
 * members with protocol CONSUMER share three partitions (the broker assigns);
 * when the Java member leaves, the kwal members take its partition, and when a
 * kwal member leaves, the Java member and the other take its partition.
 */
START_TEST(java_and_kwal_members_share_a_kip848_group)
{
    if (!java_ready())
        return;
    kw_client *admin = open_client(false);
    char topics[3][128], group[128], names[3][160];
    const char *tv[3];
    for (int i = 0; i < 3; i++) {
        unique(topics[i], sizeof(topics[i]), "j848");
        make_topic(admin, topics[i], 1);
        tv[i] = topics[i];
        tp_name(names[i], topics[i], 0);
    }
    unique(group, sizeof(group), "j848");
    java_member j;
    java_start_protocol(&j, group, tv, 3, true);
    java_wait(&j, 3, 60000);
    member a, b;
    member_opts mo = {.group = group, .topics = tv, .ntopics = 3, .kip848 = true};
    member_start(&a, &mo);
    member_start(&b, &mo);
    java_wait(&j, 1, 60000);
    char kwal_names[2][160];
    size_t nk = 0;
    for (int i = 0; i < 3; i++)
        if (strcmp(names[i], j.own[0]) != 0)
            strcpy(kwal_names[nk++], names[i]);
    ck_assert_uint_eq(nk, 2);
    member *two[] = {&a, &b};
    int one[] = {1, 1};
    settle(two, 2, one, kwal_names, 2, 60000);
    ck_assert(!owns(&a, j.own[0]) && !owns(&b, j.own[0]));

    /* The Java member leaves: its partition goes to a kwal member. */
    uint64_t t0 = now_ms();
    java_stop(&j);
    int any[] = {-1, -1};
    settle(two, 2, any, names, 3, 60000);
    fprintf(stderr, "KIP-848: kwal took the Java member's partition in %llu ms\n",
            (unsigned long long)(now_ms() - t0));

    /* Java again; then kwal member b leaves: Java and a own the three. */
    java_start_protocol(&j, group, tv, 3, true);
    java_wait(&j, 1, 60000);
    member_stop(&b, true);
    t0 = now_ms();
    while (owned_count(&a) + j.nown != 3) {
        ck_assert_msg(now_ms() - t0 < 60000, "a owns %d, Java %d", owned_count(&a), j.nown);
        java_pump(&j, 50);
    }
    for (int i = 0; i < 3; i++) {
        bool java_has = false;
        for (int k = 0; k < j.nown; k++)
            java_has |= strcmp(j.own[k], names[i]) == 0;
        ck_assert_int_eq(owns(&a, names[i]) + java_has, 1);
    }
    fprintf(stderr, "KIP-848: the leaving kwal member's partition moved in %llu ms\n",
            (unsigned long long)(now_ms() - t0));
    java_stop(&j);
    member_stop(&a, true);
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
    Suite *s = suite_create("group-java");
    const struct {
        const char *name;
        const TTest *test;
        int loops;
    } cases[] = {
        {"java", java_consumer_and_kwal_members_share_a_group},
        {"java848", java_and_kwal_members_share_a_kip848_group},
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
