/* Datanodes sharing one etcd store: allocations at once agree, heartbeats land, the elected metasrv counts them all. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kwal/client.h"
#include "kwal/meta.h"

#define REGIONS 200
#define TOPICS 64

static char cfg_path[256];
static char prefix[128];

static void write_config(void)
{
    const char *eps = getenv("KWAL_ETCD_ENDPOINTS");
    char addrs[1024] = "";
    size_t n = 0;
    for (const char *p = eps; *p;) {
        size_t l = strcspn(p, ",");
        n += (size_t)snprintf(addrs + n, sizeof(addrs) - n, "%s\"%.*s\"", n ? ", " : "", (int)l, p);
        p += l + (p[l] == ',');
    }
    snprintf(prefix, sizeof(prefix), "kwal_it_shared_%d_%ld", getpid(), (long)time(NULL));
    snprintf(cfg_path, sizeof(cfg_path), "/tmp/%s.toml", prefix);
    FILE *f = fopen(cfg_path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "backend = \"etcd_store\"\nstore_addrs = [%s]\nstore_key_prefix = \"%s/\"\n", addrs,
            prefix);
    if (getenv("KWAL_ETCD_CA"))
        fprintf(f, "[backend_tls]\nmode = \"require\"\nca_cert_path = \"%s\"\ncert_path = \"%s\"\n"
                   "key_path = \"%s\"\n",
                getenv("KWAL_ETCD_CA"), getenv("KWAL_ETCD_CERT"), getenv("KWAL_ETCD_KEY"));
    if (getenv("KWAL_ETCD_USER"))
        fprintf(f, "[backend_auth]\nusername = \"%s\"\npassword = \"%s\"\n",
                getenv("KWAL_ETCD_USER"), getenv("KWAL_ETCD_PASSWORD"));
    fprintf(f,
            "[meta_election]\nlease_ttl = \"2s\"\n"
            "[wal]\nprovider = \"kafka\"\nbroker_endpoints = [\"%s\"]\nnum_topics = %d\n"
            "topic_name_prefix = \"%s\"\nauto_prune_interval = \"0s\"\n",
            getenv("KWAL_BOOTSTRAP"), TOPICS, prefix);
    fclose(f);
}

static kw_meta *open_meta(bool campaign)
{
    kw_meta_options o = {.config_path = cfg_path, .no_prune_timer = true, .campaign = campaign};
    kw_meta *m = NULL;
    char err[1024];
    int rc = kw_meta_open(&m, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_meta_open: %s", err);
    return m;
}

/* A datanode: allocates every region (the two race on each), heartbeats its half, writes the map. */
static void datanode(int which, int fd)
{
    kw_meta *m = open_meta(false);
    for (int i = 0; i < REGIONS; i++) {
        int r = which ? REGIONS - 1 - i : i; /* the two meet in the middle: every region raced */
        char topic[256];
        if (kw_meta_region_topic(m, (uint64_t)r, topic, sizeof(topic)) != 0)
            _exit(10);
        char line[300];
        int n = snprintf(line, sizeof(line), "%d %s\n", r, topic);
        if (write(fd, line, (size_t)n) != n)
            _exit(11);
        if (r % 2 == which && kw_meta_heartbeat(m, (uint64_t)r, KW_META_NONE, KW_META_NONE) != 0)
            _exit(12);
    }
    kw_meta_close(m);
    _exit(0);
}

START_TEST(two_datanodes_allocating_at_once_agree_and_the_leader_sees_both)
{
    write_config();
    {
        kw_meta *m = open_meta(false);
        ck_assert_int_eq(kw_meta_prepare_topics(m), 0); /* the topics exist before the race */
        kw_meta_close(m);
    }
    char files[2][300];
    pid_t pid[2];
    for (int w = 0; w < 2; w++) {
        snprintf(files[w], sizeof(files[w]), "/tmp/%s.%d", prefix, w);
        pid[w] = fork();
        ck_assert_int_ge(pid[w], 0);
        if (pid[w] == 0) {
            FILE *f = fopen(files[w], "w");
            datanode(w, f ? fileno(f) : -1);
        }
    }
    for (int w = 0; w < 2; w++) {
        int st;
        ck_assert_int_eq(waitpid(pid[w], &st, 0), pid[w]);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "datanode %d: status %d", w, st);
    }
    /* Both saw the same topic for every region. */
    char seen[2][REGIONS][256];
    memset(seen, 0, sizeof(seen));
    for (int w = 0; w < 2; w++) {
        FILE *f = fopen(files[w], "r");
        ck_assert_ptr_nonnull(f);
        int r;
        char t[256];
        int n = 0;
        while (fscanf(f, "%d %255s", &r, t) == 2) {
            ck_assert(r >= 0 && r < REGIONS);
            snprintf(seen[w][r], sizeof(seen[w][r]), "%s", t);
            n++;
        }
        fclose(f);
        unlink(files[w]);
        ck_assert_int_eq(n, REGIONS);
    }
    for (int r = 0; r < REGIONS; r++)
        ck_assert_msg(strcmp(seen[0][r], seen[1][r]) == 0, "region %d: %s vs %s", r, seen[0][r],
                      seen[1][r]);

    /* A restarted datanode gets the same topic for every region. */
    {
        kw_meta *again = open_meta(false);
        for (int r = 0; r < REGIONS; r++) {
            char t[256];
            ck_assert_int_eq(kw_meta_region_topic(again, (uint64_t)r, t, sizeof(t)), 0);
            ck_assert_str_eq(t, seen[0][r]);
        }
        kw_meta_close(again);
    }
    /* round_robin spreads them: every topic has regions (200 over 64). */
    for (int tix = 0; tix < TOPICS; tix++) {
        char want[256];
        snprintf(want, sizeof(want), "%s_%d", prefix, tix);
        int n = 0;
        for (int r = 0; r < REGIONS; r++)
            n += strcmp(seen[0][r], want) == 0;
        ck_assert_msg(n >= 1, "topic %s has no region", want);
    }

    /* The elected metasrv (a third process's handle) counts every region, whoever reported it. */
    kw_meta *leader = open_meta(true);
    for (int i = 0; i < 100 && !kw_meta_leading(leader); i++) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    ck_assert(kw_meta_leading(leader));
    char who[256];
    ck_assert_int_eq(kw_meta_leader(leader, who, sizeof(who)), 0);
    kw_meta_prune_stats ps;
    ck_assert_int_eq(kw_meta_prune_now(leader, false, &ps), 0);
    kw_meta_status st = {0};
    ck_assert_int_eq(kw_meta_status_get(leader, &st), 0);
    size_t regions = 0;
    for (size_t i = 0; i < st.topic_count; i++)
        regions += st.topics[i].region_count;
    ck_assert_uint_eq(regions, REGIONS);
    /* Half the regions never reported a flush: nothing may be pruned. */
    ck_assert_uint_eq(ps.pruned, 0);
    kw_meta_status_free(&st);
    /* Another handle reads the same leader from the store. */
    kw_meta *other = open_meta(false);
    char who2[256];
    ck_assert_int_eq(kw_meta_leader(other, who2, sizeof(who2)), 0);
    ck_assert_str_eq(who, who2);
    kw_meta_close(other);
    kw_meta_close(leader);
    /* The topics go: the broker is shared. */
    kw_client_options co = {.bootstrap = getenv("KWAL_BOOTSTRAP")};
    kw_client *c = NULL;
    char err[256];
    if (kw_client_new(&c, &co, err, sizeof(err)) == 0) {
        const char *names[TOPICS];
        char buf[TOPICS][256];
        for (int tix = 0; tix < TOPICS; tix++) {
            snprintf(buf[tix], sizeof(buf[tix]), "%s_%d", prefix, tix);
            names[tix] = buf[tix];
        }
        kw_client_topics_result tr;
        kw_client_delete_topics(c, &(kw_client_delete_topics_args){.names = names,
                                                                   .name_count = TOPICS},
                                &tr);
        kw_client_topics_result_free(&tr);
        kw_client_destroy(c);
    }
    unlink(cfg_path);
}
END_TEST

int main(void)
{
    if (!getenv("KWAL_ETCD_ENDPOINTS") || !getenv("KWAL_BOOTSTRAP")) {
        fprintf(stderr, "needs etcd (KWAL_ETCD_ENDPOINTS) and the broker (KWAL_BOOTSTRAP): skipped\n");
        return 77;
    }
    Suite *s = suite_create("meta_shared");
    TCase *tc = tcase_create("shared");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, two_datanodes_allocating_at_once_agree_and_the_leader_sees_both);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
