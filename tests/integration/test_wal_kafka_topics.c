/* The Kafka WAL over many topics: send rounds across connection cuts, appends to just-created topics. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kafka_io.h"
#include "kwal/client.h"
#include "kwal/wal.h"
#include "proxy_ctl.h"

/*
 * KWAL_TEST_WAL_TOPICS sets the topic count of the cuts case (default 1024;
 * a smaller count runs faster on a busy machine).
 */
static unsigned topic_count(void)
{
    const char *e = getenv("KWAL_TEST_WAL_TOPICS");
    long n = e ? atol(e) : 1024;
    return n >= 2 && n <= 4096 ? (unsigned)n : 1024;
}

static kw_client *admin_client(void)
{
    kw_client_options o = {.bootstrap = kt_bootstrap(), .client_id = "kwal-test-wal-topics"};
    kw_client *c = NULL;
    char err[256] = "";
    ck_assert_msg(kw_client_new(&c, &o, err, sizeof(err)) == 0, "client: %s", err);
    return c;
}

/* names[i] = "PREFIX-i" for i < n. */
static char **topic_names(const char *prefix, unsigned n)
{
    char **names = calloc(n, sizeof(*names));
    ck_assert_ptr_nonnull(names);
    for (unsigned i = 0; i < n; i++) {
        names[i] = malloc(strlen(prefix) + 16);
        ck_assert_ptr_nonnull(names[i]);
        sprintf(names[i], "%s-%u", prefix, i);
    }
    return names;
}

static void names_free(char **names, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* CreateTopics for every name, one partition each; answers before the leaders are elected. */
static void create_topics(kw_client *c, char **names, unsigned n)
{
    kw_client_new_topic *t = calloc(n, sizeof(*t));
    ck_assert_ptr_nonnull(t);
    for (unsigned i = 0; i < n; i++)
        t[i] = (kw_client_new_topic){.name = names[i], .partitions = 1, .replication_factor = 1};
    kw_client_create_topics_args a = {.topics = t, .topic_count = n, .timeout_ms = 60000};
    kw_client_topics_result r = {0};
    kw_client_create_topics(c, &a, &r);
    ck_assert_msg(r.err == 0 || r.topics, "create topics: %s", r.detail);
    for (size_t i = 0; i < r.topic_count; i++)
        ck_assert_msg(r.topics[i].kerr == 0, "create %s: %s", r.topics[i].name,
                      r.topics[i].message ? r.topics[i].message : "");
    kw_client_topics_result_free(&r);
    free(t);
}

static void delete_topics(kw_client *c, char **names, unsigned n)
{
    kw_client_delete_topics_args a = {.names = (const char *const *)names, .name_count = n,
                                      .timeout_ms = 60000};
    kw_client_topics_result r = {0};
    kw_client_delete_topics(c, &a, &r); /* best effort: a leftover topic only costs space */
    kw_client_topics_result_free(&r);
}

/* Metadata until every topic has a leader (the cuts case wants leaders in place first). */
static void wait_leaders(kw_client *c, char **names, unsigned n)
{
    for (int tries = 0; tries < 300; tries++) {
        kw_client_metadata_args a = {.topics = (const char *const *)names, .topic_count = n};
        kw_client_metadata_result md = {0};
        int rc = kw_client_metadata(c, &a, &md);
        unsigned ready = 0;
        for (size_t i = 0; rc == 0 && i < md.topic_count; i++)
            ready += md.topics[i].kerr == 0 && md.topics[i].partition_count > 0 &&
                     md.topics[i].partitions[0].leader >= 0;
        kw_client_metadata_result_free(&md);
        if (ready == n)
            return;
        usleep(100 * 1000);
    }
    ck_abort_msg("topics have no leader after 30 s");
}

typedef struct entry {
    uint64_t region;
    uint32_t seq; /* the region's own sequence number, in the entry's bytes */
    uint64_t id;
    int err;
} entry;

typedef struct book {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    unsigned done;
    char first_error[256];
} book;

static book acks = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, ""};

static void on_ack(void *arg, int err, uint64_t id, const char *detail)
{
    entry *e = arg;
    pthread_mutex_lock(&acks.mu);
    e->err = err;
    e->id = id;
    if (err && !acks.first_error[0])
        snprintf(acks.first_error, sizeof(acks.first_error), "%s", detail);
    acks.done++;
    pthread_cond_broadcast(&acks.cond);
    pthread_mutex_unlock(&acks.mu);
}

static void wait_acks(unsigned n)
{
    pthread_mutex_lock(&acks.mu);
    while (acks.done < n)
        pthread_cond_wait(&acks.cond, &acks.mu);
    pthread_mutex_unlock(&acks.mu);
}

/* An entry's bytes: "r<region> s<seq> " then filler up to len (never LZ4's way: text-like). */
static size_t entry_fill(char *buf, size_t cap, uint64_t region, uint32_t seq)
{
    int n = snprintf(buf, cap, "r%llu s%u ", (unsigned long long)region, seq);
    size_t len = 40 + (seq * 37 + (unsigned)region) % 200;
    for (size_t i = (size_t)n; i < len && i < cap; i++)
        buf[i] = (char)('a' + (i * 7 + seq) % 26);
    return len < cap ? len : cap;
}

/* The producer ids the WAL's topics took ("topic T: producer id N epoch E" lines). */
static struct {
    pthread_mutex_t mu;
    long long ids[8];
    unsigned distinct, topics;
} pids = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* KWAL_TEST_LOG=1: the WAL's log lines on stderr. */
static void wal_log(void *arg, int level, const char *msg)
{
    (void)arg;
    if (getenv("KWAL_TEST_LOG"))
        fprintf(stderr, "wal log %d: %s\n", level, msg);
    const char *p = strstr(msg, ": producer id ");
    long long id;
    if (!p || sscanf(p, ": producer id %lld", &id) != 1)
        return;
    pthread_mutex_lock(&pids.mu);
    pids.topics++;
    unsigned i = 0;
    while (i < pids.distinct && pids.ids[i] != id)
        i++;
    if (i == pids.distinct && i < 8)
        pids.ids[pids.distinct++] = id;
    pthread_mutex_unlock(&pids.mu);
}

static kw_wal *open_wal(const char *bootstrap, const char *topic, uint32_t timeout_ms)
{
    kw_wal_options o = {.provider = KW_WAL_PROVIDER_KAFKA, .topic = topic,
                        .timeout_ms = timeout_ms};
    o.log = wal_log;
    o.kafka.bootstrap = bootstrap;
    kw_wal *w = NULL;
    char err[256];
    int rc = kw_wal_open(&w, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_wal_open: %s", err);
    return w;
}

/*
 * Many topics, two regions each, entries arriving faster than the broker
 * answers, so the WAL sends each broker its topics' batches in rounds; the
 * fault proxy cuts every connection several times meanwhile.  Every
 * acknowledged entry is in its region exactly once and in append order
 * (replay finds the region's sequence numbers growing, none twice, none
 * acknowledged missing), and each topic holds exactly as many records as
 * entries were appended to it when all were acknowledged (the idempotent
 * resends wrote nothing twice).
 */
START_TEST(rounds_keep_every_entry_once_and_in_order_across_cuts)
{
    unsigned topics = topic_count(), regions = 2 * topics;
    unsigned n = topics * 12;
    char prefix[96];
    snprintf(prefix, sizeof(prefix), "kwal-walbatch-cuts-%d", getpid());
    char **names = topic_names(prefix, topics);
    kw_client *adm = admin_client();
    create_topics(adm, names, topics);
    wait_leaders(adm, names, topics);

    kt_proxy px;
    ck_assert_int_eq(kt_proxy_start(&px, kt_bootstrap()), 0);
    kw_wal *w = open_wal(px.listen_addr, names[0], 60000);
    for (unsigned r = 0; r < regions; r++)
        ck_assert_int_eq(kw_wal_set_region_topic(w, 1000 + r, names[r % topics]), 0);
    entry *e = calloc(n, sizeof(*e));
    uint32_t *next_seq = calloc(regions, sizeof(*next_seq));
    acks.done = 0;
    acks.first_error[0] = 0;
    char buf[256];
    for (unsigned i = 0; i < n; i++) {
        unsigned r = i % regions;
        e[i].region = 1000 + r;
        e[i].seq = next_seq[r]++;
        size_t len = entry_fill(buf, sizeof(buf), e[i].region, e[i].seq);
        ck_assert_int_eq(kw_wal_append(w, e[i].region, buf, len, on_ack, &e[i]), 0);
        /* 24 bursts 20 ms apart, so rounds are out when the proxy cuts after every fourth */
        if ((i + 1) % (n / 24) == 0) {
            if ((i + 1) / (n / 24) % 4 == 2)
                ck_assert_int_eq(kt_proxy_cmd(&px, "cut"), 0); /* RST every connection */
            usleep(20 * 1000);
        }
    }
    wait_acks(n);
    unsigned ok = 0;
    for (unsigned i = 0; i < n; i++)
        ok += e[i].err == 0;
    kw_wal_stats st;
    kw_wal_stats_get(w, &st);
    fprintf(stderr,
            "wal rounds, %u topics: %u of %u acknowledged through 6 cuts, %llu batches in %llu "
            "requests, %llu retries%s%s\n",
            topics, ok, n, (unsigned long long)st.batches, (unsigned long long)st.requests,
            (unsigned long long)st.retries,
            ok < n ? "; first error: " : "", ok < n ? acks.first_error : "");
    /* every one: a cut only delays what is out (the idempotent resends are written once,
     * and a batch overtaken by a later one is held and resent after it) */
    ck_assert_msg(ok == n, "%u of %u appends failed: %s", n - ok, n, acks.first_error);
    kw_wal_close(w);
    kt_proxy_stop(&px);

    /* each topic's records: as many as its entries (one record each: they are small) */
    {
        kt_conn c;
        ck_assert_int_eq(kt_connect(&c, kt_bootstrap()), 0);
        int ver = kt_version(&c, KW_API_LIST_OFFSETS);
        for (unsigned t = 0; t < topics; t++) {
            int64_t end = -1;
            ck_assert_int_eq(kt_list_offset(&c, names[t], ver, -1, &end), 0);
            ck_assert_msg(end == (int64_t)(n / topics), "%s: %lld records for %u entries",
                          names[t], (long long)end, n / topics);
        }
        kt_close(&c);
    }

    /* replay both regions of each topic in one pass */
    w = open_wal(kt_bootstrap(), names[0], 60000);
    for (unsigned r = 0; r < regions; r++)
        ck_assert_int_eq(kw_wal_set_region_topic(w, 1000 + r, names[r % topics]), 0);
    uint32_t *want = calloc(regions, sizeof(*want)); /* index into the region's acked entries */
    entry **by_region = calloc(regions, sizeof(*by_region));
    unsigned *count = calloc(regions, sizeof(*count));
    for (unsigned r = 0; r < regions; r++)
        by_region[r] = calloc(next_seq[r] + 1, sizeof(**by_region));
    for (unsigned i = 0; i < n; i++) {
        unsigned r = (unsigned)(e[i].region - 1000);
        by_region[r][count[r]++] = e[i];
    }
    for (unsigned t = 0; t < topics; t++) {
        const uint64_t rs[2] = {1000 + t, 1000 + t + topics};
        const uint64_t froms[2] = {0, 0};
        kw_wal_replay *rp;
        ck_assert_int_eq(kw_wal_replay_open_regions(w, rs, froms, 2, 0, &rp), 0);
        int64_t last_seq[2] = {-1, -1};
        uint64_t region, id;
        const uint8_t *data;
        size_t len;
        int rc;
        while ((rc = kw_wal_replay_next_region(rp, &region, &id, &data, &len, 10000)) == 1) {
            unsigned r = (unsigned)(region - 1000), side = r >= topics;
            ck_assert_uint_eq(r % topics, t);
            unsigned long long rr;
            unsigned seq;
            /* the entry's bytes are not NUL-terminated: sscanf gets a terminated copy (reading
             * past an entry that ended a fetch buffer crashed this test under ASan once) */
            char head[64];
            size_t hl = len < sizeof(head) - 1 ? len : sizeof(head) - 1;
            memcpy(head, data, hl);
            head[hl] = 0;
            ck_assert_int_eq(sscanf(head, "r%llu s%u ", &rr, &seq), 2);
            ck_assert_uint_eq(rr, region);
            ck_assert_msg((int64_t)seq > last_seq[side],
                          "region %llu: sequence %u after %lld (twice or out of order)",
                          (unsigned long long)region, seq, (long long)last_seq[side]);
            last_seq[side] = seq;
            /* acknowledged entries skipped before this one would be lost */
            while (want[r] < count[r] && by_region[r][want[r]].seq < seq) {
                ck_assert_msg(by_region[r][want[r]].err != 0,
                              "region %u: acknowledged entry %u (id %llu) is missing: replay "
                              "gave entry %u at id %llu next",
                              r, by_region[r][want[r]].seq,
                              (unsigned long long)by_region[r][want[r]].id, seq,
                              (unsigned long long)id);
                want[r]++;
            }
            if (want[r] < count[r] && by_region[r][want[r]].seq == seq) {
                const entry *x = &by_region[r][want[r]];
                if (x->err == 0)
                    ck_assert_uint_eq(x->id, id);
                char exp[256];
                size_t el = entry_fill(exp, sizeof(exp), region, seq);
                ck_assert_uint_eq(len, el);
                ck_assert(memcmp(exp, data, el) == 0);
                want[r]++;
            }
        }
        ck_assert_int_eq(rc, 0);
        kw_wal_replay_close(rp);
        for (int s = 0; s < 2; s++) {
            unsigned r = (unsigned)(rs[s] - 1000);
            while (want[r] < count[r]) {
                ck_assert_msg(by_region[r][want[r]].err != 0,
                              "region %u: acknowledged entry %u is missing at the end", r,
                              by_region[r][want[r]].seq);
                want[r]++;
            }
        }
    }
    kw_wal_close(w);
    for (unsigned r = 0; r < regions; r++)
        free(by_region[r]);
    free(by_region);
    free(count);
    free(want);
    free(next_seq);
    free(e);
    delete_topics(adm, names, topics);
    kw_client_destroy(adm);
    names_free(names, topics);
}
END_TEST

/*
 * Topics created a moment ago, their partitions' leaders maybe not elected
 * yet: the appends wait for the leaders (metadata refreshed with backoff)
 * and all succeed, well inside their deadline.
 */
START_TEST(appends_to_just_created_topics_succeed_without_a_deadline_expiry)
{
    enum { TOPICS = 64, PER_TOPIC = 20 };
    char prefix[96];
    snprintf(prefix, sizeof(prefix), "kwal-walbatch-new-%d", getpid());
    char **names = topic_names(prefix, TOPICS);
    kw_client *adm = admin_client();
    create_topics(adm, names, TOPICS); /* no wait for the leaders */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_mutex_lock(&pids.mu);
    pids.distinct = pids.topics = 0;
    pthread_mutex_unlock(&pids.mu);
    kw_wal *w = open_wal(kt_bootstrap(), names[0], 20000);
    for (unsigned r = 0; r < TOPICS; r++)
        ck_assert_int_eq(kw_wal_set_region_topic(w, 500 + r, names[r]), 0);
    enum { N = TOPICS * PER_TOPIC };
    entry *e = calloc(N, sizeof(*e));
    acks.done = 0;
    acks.first_error[0] = 0;
    char buf[256];
    for (unsigned i = 0; i < N; i++) {
        e[i].region = 500 + i % TOPICS;
        e[i].seq = i / TOPICS;
        size_t len = entry_fill(buf, sizeof(buf), e[i].region, e[i].seq);
        ck_assert_int_eq(kw_wal_append(w, e[i].region, buf, len, on_ack, &e[i]), 0);
    }
    wait_acks(N);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    unsigned ok = 0;
    for (unsigned i = 0; i < N; i++)
        ok += e[i].err == 0;
    fprintf(stderr, "wal on %d just-created topics: %u of %d acknowledged in %.2f s%s%s\n",
            TOPICS, ok, N, secs, ok < N ? "; first error: " : "", acks.first_error);
    ck_assert_msg(ok == N, "%u of %d failed: %s", N - ok, N, acks.first_error);
    ck_assert_msg(secs < 20.0, "took %.2f s: a deadline's worth", secs);
    /* per topic, ids grow with append order */
    for (unsigned i = TOPICS; i < N; i++)
        ck_assert_uint_gt(e[i].id, e[i - TOPICS].id);
    /* one InitProducerId for the handle: every topic started with the same producer id
     * (1,024 topics asking each ran the broker's block of ids dry) */
    pthread_mutex_lock(&pids.mu);
    unsigned distinct = pids.distinct, took = pids.topics;
    pthread_mutex_unlock(&pids.mu);
    ck_assert_uint_ge(took, TOPICS);
    ck_assert_msg(distinct == 1, "%u producer ids for %u topics", distinct, took);
    kw_wal_close(w);
    free(e);
    delete_topics(adm, names, TOPICS);
    kw_client_destroy(adm);
    names_free(names, TOPICS);
}
END_TEST

int main(void)
{
    if (!getenv("KWAL_BOOTSTRAP")) {
        fprintf(stderr, "KWAL_BOOTSTRAP not set: no broker, skipping\n");
        return 77;
    }
    Suite *s = suite_create("wal kafka topics");
    TCase *tc = tcase_create("many topics");
    tcase_set_timeout(tc, 280);
    tcase_add_test(tc, appends_to_just_created_topics_succeed_without_a_deadline_expiry);
    tcase_add_test(tc, rounds_keep_every_entry_once_and_in_order_across_cuts);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
