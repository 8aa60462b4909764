/* kwal's assignors against kafka-clients' own on the same groups: range/roundrobin identical, cooperative-sticky by its rules. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/group_assign.h"

/*
 * Needs java, javac and kafka-clients ($KWAL_KAFKA_LIB, from `tests/kafka/broker env`); no broker.
 * The Java side (tests/unit/java/GroupAssignJava.java) reads each member's subscription as the bytes
 * kwal encodes and answers with the assignment bytes a Java leader would send, which kwal decodes:
 * both directions of the wire format are in play, not only the algorithms.
 */

static FILE *to_java, *from_java;
static pid_t java_pid;

static void java_start(void)
{
    const char *lib = getenv("KWAL_KAFKA_LIB"), *src = getenv("KWAL_JAVA_SRC");
    char dir[] = "/tmp/kwal-group-java-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "javac -d '%s' -cp '%s/*' '%s' >&2", dir, lib, src);
    ck_assert_msg(system(cmd) == 0, "javac failed: %s", cmd);
    int in[2], out[2];
    ck_assert_int_eq(pipe(in), 0);
    ck_assert_int_eq(pipe(out), 0);
    java_pid = fork();
    ck_assert_int_ge(java_pid, 0);
    if (java_pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        char cp[2048];
        snprintf(cp, sizeof(cp), "%s:%s/*", dir, lib);
        execlp("java", "java", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", cp, "GroupAssignJava",
               (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    to_java = fdopen(in[1], "w");
    from_java = fdopen(out[0], "r");
}

static void java_stop(void)
{
    fclose(to_java);
    fclose(from_java);
    int st;
    waitpid(java_pid, &st, 0);
}

#define MAX_MEMBERS 12
#define MAX_TOPICS 6
#define MAX_PARTS 16

static const char *topic_names[MAX_TOPICS] = {"t0", "t1", "t2", "t3", "t4", "t5"};
static const char *member_ids[MAX_MEMBERS] = {"m0", "m1", "m2", "m3", "m4", "m5",
                                              "m6", "m7", "m8", "m9", "m10", "m11"};
static const char *instance_ids[MAX_MEMBERS] = {"i9", "i8", "i7", "i6", "i5", "i4",
                                                "i3", "i2", "i1", "i0", "i10", "i11"};

/* A group as plain arrays; converted to kwal's input (and the Java line format) for each run. */
typedef struct state {
    uint64_t rng;
    int topics;
    int32_t partitions[MAX_TOPICS];
    bool active[MAX_MEMBERS], is_static[MAX_MEMBERS];
    unsigned mask[MAX_MEMBERS];
    bool owns[MAX_MEMBERS][MAX_TOPICS][MAX_PARTS];
    int32_t generation[MAX_MEMBERS];
    /* the answer of the last run */
    bool got[MAX_MEMBERS][MAX_TOPICS][MAX_PARTS];
} state;

static uint32_t rnd(state *s, uint32_t n)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return (uint32_t)(s->rng % n);
}

static int topic_of(kw_str name)
{
    for (int t = 0; t < MAX_TOPICS; t++)
        if (kw_str_eq(name, topic_names[t]))
            return t;
    ck_abort_msg("unknown topic %.*s", (int)name.len, name.ptr);
    return -1;
}

/* Builds member slot m's subscription as a cooperative-sticky kwal member would send it. */
static void build_subscription(const state *s, int m, kw__group_subscription *sub, kw_str *topics,
                               kw__group_topic_partitions *owned, int32_t (*parts)[MAX_PARTS], uint8_t *ud)
{
    int nt = 0, no = 0;
    for (int t = 0; t < s->topics; t++) {
        if (s->mask[m] & (1u << t))
            topics[nt++] = kw_str_c(topic_names[t]);
        int32_t n = 0;
        for (int32_t p = 0; p < s->partitions[t]; p++)
            if (s->owns[m][t][p])
                parts[no][n++] = p;
        if (n)
            owned[no] = (kw__group_topic_partitions){kw_str_c(topic_names[t]), parts[no], n}, no++;
    }
    kw__group_sticky_user_data(s->generation[m], ud);
    *sub = (kw__group_subscription){3, topics, nt, {ud, 4}, owned, no, s->generation[m], KW_STR_NULL};
}

static void record(state *s, int m, const kw__group_topic_partitions *tp, int32_t n)
{
    for (int32_t k = 0; k < n; k++) {
        int t = topic_of(tp[k].topic);
        for (int32_t i = 0; i < tp[k].count; i++) {
            ck_assert(tp[k].partitions[i] >= 0 && tp[k].partitions[i] < s->partitions[t]);
            ck_assert_msg(!s->got[m][t][tp[k].partitions[i]], "a partition listed twice for one member");
            s->got[m][t][tp[k].partitions[i]] = true;
        }
    }
}

/* Runs one assignor, kwal's or Java's, on the group; the answer lands in s->got. */
static void run(state *s, const char *assignor, bool java)
{
    kw__group_subscription subs[MAX_MEMBERS];
    kw_str topics[MAX_MEMBERS][MAX_TOPICS];
    kw__group_topic_partitions owned[MAX_MEMBERS][MAX_TOPICS];
    int32_t parts[MAX_MEMBERS][MAX_TOPICS][MAX_PARTS];
    uint8_t ud[MAX_MEMBERS][4];
    kw__assign_member members[MAX_MEMBERS];
    int slot[MAX_MEMBERS];
    size_t n = 0;
    for (int m = 0; m < MAX_MEMBERS; m++) {
        if (!s->active[m])
            continue;
        build_subscription(s, m, &subs[n], topics[n], owned[n], parts[n], ud[n]);
        members[n] = (kw__assign_member){kw_str_c(member_ids[m]),
                                         s->is_static[m] ? kw_str_c(instance_ids[m]) : KW_STR_NULL, &subs[n]};
        slot[n++] = m;
    }
    kw__assign_topic ts[MAX_TOPICS];
    for (int t = 0; t < s->topics; t++)
        ts[t] = (kw__assign_topic){kw_str_c(topic_names[t]), s->partitions[t]};
    memset(s->got, 0, sizeof(s->got));
    kw_arena arena;
    kw__arena_init(&arena, 0);
    if (!java) {
        kw__member_assignment out[MAX_MEMBERS];
        kw__assign_input in = {members, n, ts, (size_t)s->topics};
        char detail[200];
        ck_assert_int_eq(kw__assignor_find(assignor)->assign(&in, &arena, out, detail, sizeof(detail)), 0);
        for (size_t i = 0; i < n; i++)
            record(s, slot[i], out[i].assigned, out[i].assigned_count);
        kw__arena_reset(&arena);
        return;
    }
    fprintf(to_java, "group %s %d %zu\n", assignor, s->topics, n);
    for (int t = 0; t < s->topics; t++)
        fprintf(to_java, "topic %s %d\n", topic_names[t], (int)s->partitions[t]);
    for (size_t i = 0; i < n; i++) {
        kw_wr w;
        kw__wr_init(&w);
        ck_assert_int_eq(kw__group_subscription_encode(&w, &subs[i]), 0);
        fprintf(to_java, "member %s %s ", member_ids[slot[i]], s->is_static[slot[i]] ? instance_ids[slot[i]] : "-");
        for (size_t k = 0; k < w.len; k++)
            fprintf(to_java, "%02x", w.buf[k]);
        fputc('\n', to_java);
        kw__wr_free(&w);
    }
    fflush(to_java);
    char line[8192];
    for (size_t i = 0;; i++) {
        ck_assert_ptr_nonnull(fgets(line, sizeof(line), from_java));
        if (strcmp(line, "end\n") == 0) {
            ck_assert_uint_eq(i, n);
            break;
        }
        char id[32], hex[8000];
        ck_assert_int_eq(sscanf(line, "%31s %7999s", id, hex), 2);
        ck_assert_str_eq(id, member_ids[slot[i]]);
        uint8_t bytes[4000];
        size_t len = strlen(hex) / 2;
        for (size_t k = 0; k < len; k++) {
            unsigned v;
            sscanf(hex + 2 * k, "%2x", &v);
            bytes[k] = (uint8_t)v;
        }
        kw__group_assignment a;
        char detail[KW_GROUP_DETAIL_MAX];
        ck_assert_int_eq(kw__group_assignment_decode(bytes, len, &arena, &a, detail, sizeof(detail)), 0);
        record(s, slot[i], a.assigned, a.assigned_count);
    }
    kw__arena_reset(&arena);
}

static void random_group(state *s, bool same, bool statics)
{
    s->topics = 1 + (int)rnd(s, MAX_TOPICS);
    for (int t = 0; t < s->topics; t++)
        s->partitions[t] = 1 + (int32_t)rnd(s, MAX_PARTS);
    unsigned all = (1u << s->topics) - 1, common = 1 + rnd(s, all);
    for (int m = 0; m < MAX_MEMBERS; m++) {
        s->active[m] = rnd(s, 3) != 0;
        s->is_static[m] = statics && rnd(s, 2) == 0;
        s->mask[m] = same ? common : 1 + rnd(s, all);
        s->generation[m] = -1;
    }
}

START_TEST(range_and_roundrobin_answer_exactly_as_java)
{
    java_start();
    const char *names[] = {"range", "roundrobin"};
    for (int iter = 0; iter < 200; iter++) {
        state *s = calloc(1, sizeof(*s));
        s->rng = 0x2545f4914f6cdd1dull * (uint64_t)(iter + 7);
        random_group(s, iter % 3 == 0, iter % 2 == 0);
        const char *name = names[iter % 2];
        static bool mine[MAX_MEMBERS][MAX_TOPICS][MAX_PARTS];
        run(s, name, false);
        memcpy(mine, s->got, sizeof(mine));
        run(s, name, true);
        ck_assert_msg(memcmp(mine, s->got, sizeof(mine)) == 0, "%s differs from Java's in group %d", name, iter);
        free(s);
    }
    java_stop();
}
END_TEST

/*
 * Checks the answer in s->got against the cooperative rules and returns whether the group has
 * settled (everything assigned, nothing moved); then the members adopt it.  counts gets each
 * member's number of partitions.
 */
static bool check_and_adopt(state *s, int32_t generation, int *counts)
{
    bool complete = true, moved = false;
    for (int t = 0; t < s->topics; t++) {
        bool read = false;
        for (int m = 0; m < MAX_MEMBERS; m++)
            read = read || (s->active[m] && (s->mask[m] & (1u << t)));
        for (int32_t p = 0; p < s->partitions[t]; p++) {
            int holders = 0, owner = -1;
            for (int m = 0; m < MAX_MEMBERS; m++) {
                if (!s->active[m])
                    continue;
                if (s->owns[m][t][p])
                    owner = m;
                if (s->got[m][t][p]) {
                    holders++;
                    ck_assert_msg(s->mask[m] & (1u << t), "a partition of a topic its member does not read");
                    moved = moved || !s->owns[m][t][p];
                }
            }
            ck_assert_int_le(holders, 1);
            for (int m = 0; m < MAX_MEMBERS; m++)
                if (s->active[m] && s->got[m][t][p])
                    ck_assert_msg(owner < 0 || owner == m, "t%d-%d moved straight from m%d to m%d", t,
                                  (int)p, owner, m);
            if (read && holders == 0) {
                ck_assert_msg(owner >= 0, "t%d-%d neither assigned nor held back", t, (int)p);
                complete = false;
            }
        }
    }
    for (int m = 0; m < MAX_MEMBERS; m++) {
        counts[m] = 0;
        if (!s->active[m])
            continue;
        memcpy(s->owns[m], s->got[m], sizeof(s->owns[m]));
        s->generation[m] = generation;
        for (int t = 0; t < s->topics; t++)
            for (int32_t p = 0; p < s->partitions[t]; p++)
                counts[m] += s->got[m][t][p];
    }
    return complete && !moved;
}

static int64_t spread(const state *s, const int *counts)
{
    int64_t sq = 0;
    for (int m = 0; m < MAX_MEMBERS; m++)
        if (s->active[m])
            sq += (int64_t)counts[m] * counts[m];
    return sq;
}

/* Rebalances until settled, the leader each round kwal or Java as `leader` says; returns the spread. */
static int64_t settle(state *s, int32_t *generation, int leader, int *counts)
{
    for (int round = 0;; round++) {
        bool java = leader == 1 || (leader == 2 && rnd(s, 2) == 0);
        run(s, "cooperative-sticky", java);
        if (check_and_adopt(s, (*generation)++, counts))
            return spread(s, counts);
        ck_assert_msg(round < 8, "the group does not settle (leader %d)", leader);
    }
}

START_TEST(cooperative_sticky_keeps_the_rules_with_java_and_kwal_leaders)
{
    java_start();
    int same_checked = 0;
    for (int iter = 0; iter < 60; iter++) {
        state *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b)), *mixed = calloc(1, sizeof(*mixed));
        a->rng = 0x9e3779b97f4a7c15ull * (uint64_t)(iter + 3);
        bool same = iter % 2 == 0;
        random_group(a, same, false);
        *b = *a;
        *mixed = *a;
        int32_t ga = 1, gb = 1, gm = 1;
        for (int change = 0; change < 6; change++) {
            int slot = (int)rnd(a, MAX_MEMBERS);
            uint32_t what = rnd(a, 3);
            unsigned mask = 1 + rnd(a, (1u << a->topics) - 1);
            state *all[3] = {a, b, mixed};
            for (int k = 0; k < 3; k++) {
                state *s = all[k];
                if (what == 0 && !s->active[slot]) {
                    s->active[slot] = true;
                    s->generation[slot] = -1;
                    memset(s->owns[slot], 0, sizeof(s->owns[slot]));
                } else if (what == 1) {
                    s->active[slot] = false;
                } else if (!same) {
                    s->mask[slot] = mask;
                }
            }
            int ca[MAX_MEMBERS], cb[MAX_MEMBERS], cm[MAX_MEMBERS];
            int64_t kwal = settle(a, &ga, 0, ca);
            int64_t java = settle(b, &gb, 1, cb);
            settle(mixed, &gm, 2, cm);
            /* kwal's answer is as even as can be: never less even than Java's */
            ck_assert_msg(kwal <= java, "group %d: kwal's spread %lld, Java's %lld", iter, (long long)kwal,
                          (long long)java);
            if (same) {
                /* equal subscriptions: the same counts, up to which member has them */
                int ha[MAX_PARTS * MAX_TOPICS + 1] = {0}, hb[MAX_PARTS * MAX_TOPICS + 1] = {0};
                for (int m = 0; m < MAX_MEMBERS; m++)
                    if (a->active[m]) {
                        ha[ca[m]]++;
                        hb[cb[m]]++;
                    }
                ck_assert(memcmp(ha, hb, sizeof(ha)) == 0);
                same_checked++;
            }
        }
        free(a);
        free(b);
        free(mixed);
    }
    ck_assert_int_gt(same_checked, 100);
    java_stop();
}
END_TEST

int main(void)
{
    const char *lib = getenv("KWAL_KAFKA_LIB"), *src = getenv("KWAL_JAVA_SRC");
    if (!lib || !*lib || !src || !*src || system("command -v javac >/dev/null 2>&1") != 0 ||
        system("command -v java >/dev/null 2>&1") != 0) {
        fprintf(stderr, "skipped: needs java, javac, KWAL_KAFKA_LIB (tests/kafka/broker env) and KWAL_JAVA_SRC\n");
        return 77;
    }
    signal(SIGPIPE, SIG_IGN);
    Suite *s = suite_create("group_assign_java");
    TCase *tc = tcase_create("against kafka-clients");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, range_and_roundrobin_answer_exactly_as_java);
    tcase_add_test(tc, cooperative_sticky_keeps_the_rules_with_java_and_kwal_leaders);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
