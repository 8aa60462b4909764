/* WAL replay benchmark: one region among many sharing a topic, kwal's defaults or GreptimeDB-style. */
/*
 *   wal_replay -b BROKERS -t TOPIC --write -n COUNT [-s SIZE] [-r REGIONS] [--greptimedb]
 *   wal_replay -b BROKERS -t TOPIC [-s SIZE] [-r REGIONS] [-R REGION] [--fetch-bytes N]
 *              [--greptimedb] [--timeout-ms N]
 *   wal_replay -b BROKERS -t PREFIX --recover-topics -T TOPICS [-r REGIONS] [-j THREADS]
 *   wal_replay -b BROKERS -t TOPIC --topic-delete
 *
 * --write creates TOPIC (one partition) and appends COUNT entries of SIZE bytes (1024)
 * round-robin over REGIONS regions (64) that all write to it, the records of
 * bench/wal_common.h, with kwal's record keys (or GreptimeDB's JSON keys and settings with
 * --greptimedb).  It prints the write's own line (not part of the comparison).
 *
 * Without --write: replays region index REGION (7) from the log start to the end with
 * kw_wal_replay_*, checks every entry's bytes, and times it from kw_wal_replay_open to the
 * end.  A region's records are interleaved with the other regions' in every batch, so the
 * whole topic is fetched and CRC-checked and every record key decoded (GreptimeDB-style: every
 * batch decompressed too; kwal: only the region's own entries):
 * topic_mb_per_s is the topic's entry bytes (all regions) scanned per second,
 * region_mb_per_s the region's own.
 *
 * Settings: default = kwal's (4 MiB fetches); --greptimedb = GreptimeDB-style 1 MB
 * fetches (fetch_max_bytes 1 MiB; its reader asks for about that much per fetch);
 * --fetch-bytes N overrides either; --timeout-ms sets the produce and fetch deadline (as in
 * wal_append).
 *
 * --all-regions: recovery of every region of the topic, as a host restarting does:
 * kwal replays them all in one pass (kw_wal_replay_open_regions); with --one-by-one
 * each region is replayed on its own (what GreptimeDB does: one replay per region),
 * two at a time (-j, as many as this machine has cores).  Every entry's bytes are
 * checked.  Output: entries=N mb=M seconds=S mb_per_s=R topic_reads=K cpu_user=U
 * cpu_sys=Y max_rss_kb=X (mb: all regions' entries; topic_reads: passes over the topic).
 *
 * --recover-topics: a datanode's recovery at scale, on the topics bench/wal_append -T TOPICS
 * writes (region r on PREFIX_(r % TOPICS)): every region 0 .. REGIONS-1, each topic read
 * once by one kw_wal_replay_open_regions over its regions, THREADS (8) topics at a time
 * (each replay holds one fetch, so memory is bounded by THREADS x fetch_max_bytes plus a
 * few words per region, however many regions and topics).  The topics hold several runs'
 * entries (regions that wrote in earlier runs too), so entries are counted, not checked
 * byte by byte.  Output: entries=N mb=M topic_mb=T seconds=S mb_per_s=R topic_mb_per_s=Q
 * topic_reads=K cpu_user=U cpu_sys=Y max_rss_kb=X (topic_mb: every record read, whichever
 * region it belongs to, at SIZE bytes each).
 *
 * --sparse-every N (write and replay): region index 0 gets every N-th entry (N=100: 1 % of
 * the topic), the others the rest round-robin; replay with -R 0 checks region 0's entries.
 * --sparse-burst B: region 0's entries come B in a row (a region that writes in bursts), still
 * 1/N of the topic.
 * --batch-bytes N: max_batch_bytes of the write (smaller batches mix fewer regions, so a
 * sparse region's records sit in fewer of the topic's bytes).  --no-index: replay reads the
 * topic as without the replay index.  The index topic is TOPIC_index.  --no-region-runs (write):
 * a region's burst shares batches with other regions' entries (kw_wal_options.no_region_runs).
 *
 * Output, one line:
 *   entries=N region_mb=M topic_mb=T seconds=S region_mb_per_s=R topic_mb_per_s=Q
 *   records=K cpu_user=U cpu_sys=Y max_rss_kb=X fetched_mb=F fetches=G index=I
 *   (I: none, used, partial, fallback)
 * Exit status: 0, 1 when an entry is missing or wrong, 2 on bad usage or setup.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>

#include "kwal/wal.h"
#include "wal_common.h"
#include "wal_topics.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static uint64_t outstanding, failed;
static int first_err;

static void on_durable(void *arg, int err, uint64_t entry_id, const char *detail)
{
    (void)arg;
    (void)entry_id;
    pthread_mutex_lock(&mu);
    if (err && failed++ == 0)
        first_err = err;
    outstanding--;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&mu);
}

static void wal_log(void *arg, int level, const char *msg)
{
    (void)arg;
    if (level <= KW_LOG_WARN)
        fprintf(stderr, "wal_replay: kwal: %s\n", msg);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: wal_replay -b BROKERS -t TOPIC --write -n COUNT [-s SIZE] [-r REGIONS]"
            " [--greptimedb]\n"
            "       wal_replay -b BROKERS -t TOPIC [-s SIZE] [-r REGIONS] [-R REGION]"
            " [--fetch-bytes N] [--greptimedb]\n"
            "                  [--timeout-ms N]\n"
            "       wal_replay -b BROKERS -t TOPIC --all-regions [--one-by-one [-j N]]"
            " [--greptimedb] ...\n"
            "       wal_replay -b BROKERS -t PREFIX --recover-topics -T TOPICS [-r REGIONS]"
            " [-j THREADS]\n"
            "       wal_replay -b BROKERS -t TOPIC --topic-delete\n");
}

static uint64_t sparse_every; /* 0: round-robin over every region */
static uint64_t sparse_burst = 1; /* region 0's entries come this many in a row */

/* The region index entry i of the workload goes to. */
static unsigned region_of(uint64_t i, unsigned regions)
{
    if (!sparse_every)
        return (unsigned)(i % regions);
    if ((i / sparse_burst) % sparse_every == 0 || regions == 1)
        return 0;
    return 1 + (unsigned)(i % (regions - 1));
}

static int write_topic(kw_wal *wal, const char *pool, uint64_t count, size_t size,
                       unsigned regions)
{
    uint64_t start = wb_now_ns();
    for (uint64_t i = 0; i < count; i++) {
        pthread_mutex_lock(&mu);
        while (outstanding >= 8192)
            pthread_cond_wait(&cond, &mu);
        outstanding++;
        pthread_mutex_unlock(&mu);
        int rc = kw_wal_append(wal, wb_region_id(region_of(i, regions)), wb_entry(pool, i, size),
                               size, on_durable, NULL);
        if (rc)
            on_durable(NULL, rc, 0, kw_strerror(rc));
    }
    pthread_mutex_lock(&mu);
    while (outstanding > 0)
        pthread_cond_wait(&cond, &mu);
    pthread_mutex_unlock(&mu);
    double seconds = (double)(wb_now_ns() - start) / 1e9;
    printf("written entries=%" PRIu64 " mb=%.1f seconds=%.3f mb_per_s=%.2f failed=%" PRIu64 "\n",
           count, (double)count * (double)size / 1e6, seconds,
           (double)count * (double)size / 1e6 / seconds, failed);
    if (failed)
        fprintf(stderr, "wal_replay: %" PRIu64 " appends failed, first: %s\n", failed,
                kw_strerror(first_err));
    return failed ? 1 : 0;
}

static int replay_region(kw_wal *wal, const char *pool, size_t size, unsigned regions,
                         unsigned region)
{
    double user0, sys0, user1, sys1;
    long rss;
    wb_usage(&user0, &sys0, &rss);
    uint64_t start = wb_now_ns();
    kw_wal_replay *r;
    int rc = kw_wal_replay_open(wal, wb_region_id(region), 0, 0, &r);
    if (rc) {
        fprintf(stderr, "wal_replay: replay_open: %s (%s)\n", kw_strerror(rc),
                kw_wal_errstr(wal));
        return 2;
    }
    uint64_t k = 0, wrong = 0, id;
    const uint8_t *data;
    size_t len;
    while ((rc = kw_wal_replay_next(r, &id, &data, &len, -1)) == 1) {
        /* the region's k-th entry is the workload's entry region + k * regions */
        uint64_t i = sparse_every ? (k / sparse_burst) * sparse_burst * sparse_every + k % sparse_burst
                                  : region + k * regions;
        if (len != size || memcmp(data, wb_entry(pool, i, size), size) != 0)
            wrong++;
        k++;
    }
    uint64_t end = wb_now_ns();
    wb_usage(&user1, &sys1, &rss);
    if (rc < 0) {
        fprintf(stderr, "wal_replay: replay_next: %s (%s)\n", kw_strerror(rc),
                kw_wal_replay_errstr(r));
        kw_wal_replay_close(r);
        return 2;
    }
    kw_wal_replay_stats st;
    kw_wal_replay_stats_get(r, &st);
    kw_wal_replay_close(r);
    double seconds = (double)(end - start) / 1e9;
    double region_mb = (double)st.bytes / 1e6;
    double topic_mb = (double)st.records_read * (double)size / 1e6;
    static const char *const ix[] = {"none", "used", "partial", "fallback"};
    printf("entries=%" PRIu64 " region_mb=%.1f topic_mb=%.1f seconds=%.3f region_mb_per_s=%.2f "
           "topic_mb_per_s=%.1f records=%" PRIu64 " cpu_user=%.2f cpu_sys=%.2f max_rss_kb=%ld "
           "fetched_mb=%.2f fetches=%" PRIu64 " index=%s\n",
           st.entries, region_mb, topic_mb, seconds, region_mb / seconds, topic_mb / seconds,
           st.records_read, user1 - user0, sys1 - sys0, rss, (double)st.bytes_fetched / 1e6,
           st.fetches, st.index >= 0 && st.index <= 3 ? ix[st.index] : "?");
    if (st.index == KW_WAL_REPLAY_INDEX_PARTIAL || st.index == KW_WAL_REPLAY_INDEX_FALLBACK)
        fprintf(stderr, "wal_replay: index: %s\n", st.index_note);
    if (wrong || k == 0) {
        fprintf(stderr, "wal_replay: %" PRIu64 " of %" PRIu64 " entries have wrong bytes\n", wrong,
                k);
        return 1;
    }
    return 0;
}

/* Checks entry k of region r (the workload's entry r + k * regions); true when right. */
static bool entry_ok(const char *pool, size_t size, unsigned regions, unsigned r, uint64_t k,
                     const uint8_t *data, size_t len)
{
    uint64_t i = r + k * regions;
    return len == size && memcmp(data, wb_entry(pool, i, size), size) == 0;
}

typedef struct recover_job {
    kw_wal *wal;
    const char *pool;
    size_t size;
    unsigned regions, next; /* next: the next region to take (atomic) */
    uint64_t entries, bytes, wrong, reads; /* atomics */
    int err;
} recover_job;

/* One replay per region, as a GreptimeDB datanode opening its regions does. */
static void *recover_one_by_one(void *arg)
{
    recover_job *j = arg;
    unsigned r;
    while ((r = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED)) < j->regions) {
        kw_wal_replay *rp;
        int rc = kw_wal_replay_open(j->wal, wb_region_id(r), 0, 0, &rp);
        if (rc) {
            j->err = rc;
            return NULL;
        }
        uint64_t k = 0, id;
        const uint8_t *data;
        size_t len;
        while ((rc = kw_wal_replay_next(rp, &id, &data, &len, -1)) == 1) {
            if (!entry_ok(j->pool, j->size, j->regions, r, k, data, len))
                __atomic_fetch_add(&j->wrong, 1, __ATOMIC_RELAXED);
            k++;
            __atomic_fetch_add(&j->bytes, len, __ATOMIC_RELAXED);
        }
        if (rc < 0)
            j->err = rc;
        __atomic_fetch_add(&j->entries, k, __ATOMIC_RELAXED);
        __atomic_fetch_add(&j->reads, 1, __ATOMIC_RELAXED);
        kw_wal_replay_close(rp);
    }
    return NULL;
}

static int recover_all(kw_wal *wal, const char *pool, size_t size, unsigned regions,
                       bool one_by_one, unsigned threads)
{
    double user0, sys0, user1, sys1;
    long rss;
    wb_usage(&user0, &sys0, &rss);
    uint64_t start = wb_now_ns();
    recover_job j = {.wal = wal, .pool = pool, .size = size, .regions = regions};
    if (one_by_one) {
        pthread_t th[64];
        if (threads > 64)
            threads = 64;
        for (unsigned t = 0; t < threads; t++)
            pthread_create(&th[t], NULL, recover_one_by_one, &j);
        for (unsigned t = 0; t < threads; t++)
            pthread_join(th[t], NULL);
    } else {
        uint64_t *ids = calloc(regions, sizeof(*ids)), *froms = calloc(regions, sizeof(*froms));
        uint64_t *seen = calloc(regions, sizeof(*seen));
        kw_wal_replay *rp = NULL;
        for (unsigned r = 0; ids && r < regions; r++)
            ids[r] = wb_region_id(r);
        int rc = ids && froms && seen
                     ? kw_wal_replay_open_regions(wal, ids, froms, regions, 0, &rp)
                     : KW_ENOMEM;
        uint64_t region, id;
        const uint8_t *data;
        size_t len;
        while (rc == 0 &&
               (rc = kw_wal_replay_next_region(rp, &region, &id, &data, &len, -1)) == 1) {
            unsigned r = (unsigned)(region - WB_REGION_BASE);
            if (r >= regions || !entry_ok(pool, size, regions, r, seen[r]++, data, len))
                j.wrong++;
            j.entries++;
            j.bytes += len;
            rc = 0;
        }
        if (rc < 0)
            j.err = rc;
        j.reads = 1;
        kw_wal_replay_close(rp);
        free(ids);
        free(froms);
        free(seen);
    }
    uint64_t end = wb_now_ns();
    wb_usage(&user1, &sys1, &rss);
    if (j.err) {
        fprintf(stderr, "wal_replay: recovery: %s (%s)\n", kw_strerror(j.err), kw_wal_errstr(wal));
        return 2;
    }
    double seconds = (double)(end - start) / 1e9, mb = (double)j.bytes / 1e6;
    printf("entries=%" PRIu64 " mb=%.1f seconds=%.3f mb_per_s=%.1f topic_reads=%" PRIu64
           " cpu_user=%.2f cpu_sys=%.2f max_rss_kb=%ld\n",
           j.entries, mb, seconds, mb / seconds, j.reads, user1 - user0, sys1 - sys0, rss);
    if (j.wrong || j.entries == 0) {
        fprintf(stderr, "wal_replay: %" PRIu64 " of %" PRIu64 " entries wrong\n", j.wrong,
                j.entries);
        return 1;
    }
    return 0;
}

typedef struct topics_job {
    kw_wal *wal;
    unsigned topics, regions;
    unsigned next; /* the next topic to take (atomic) */
    uint64_t entries, bytes, records, reads; /* atomics */
    int err;
    char detail[256];
} topics_job;

/* Takes topics from the job until none is left: one replay of all of a topic's regions each. */
static void *recover_topics_worker(void *arg)
{
    topics_job *j = arg;
    unsigned per = j->regions / j->topics + 1;
    uint64_t *ids = calloc(per, sizeof(*ids)), *froms = calloc(per, sizeof(*froms));
    unsigned t;
    while (ids && froms && !j->err &&
           (t = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED)) < j->topics) {
        size_t n = 0;
        for (unsigned r = t; r < j->regions; r += j->topics)
            ids[n++] = wb_region_id(r);
        kw_wal_replay *rp;
        int rc = kw_wal_replay_open_regions(j->wal, ids, froms, n, 0, &rp);
        if (rc) {
            snprintf(j->detail, sizeof j->detail, "topic %u: open: %s", t, kw_wal_errstr(j->wal));
            j->err = rc;
            break;
        }
        uint64_t entries = 0, bytes = 0, region, id;
        const uint8_t *data;
        size_t len;
        while ((rc = kw_wal_replay_next_region(rp, &region, &id, &data, &len, -1)) == 1) {
            entries++;
            bytes += len;
        }
        if (rc < 0) {
            snprintf(j->detail, sizeof j->detail, "topic %u: %s", t, kw_wal_replay_errstr(rp));
            j->err = rc;
        }
        kw_wal_replay_stats st;
        kw_wal_replay_stats_get(rp, &st);
        kw_wal_replay_close(rp);
        __atomic_fetch_add(&j->entries, entries, __ATOMIC_RELAXED);
        __atomic_fetch_add(&j->bytes, bytes, __ATOMIC_RELAXED);
        __atomic_fetch_add(&j->records, st.records_read, __ATOMIC_RELAXED);
        __atomic_fetch_add(&j->reads, 1, __ATOMIC_RELAXED);
    }
    if (!ids || !froms)
        j->err = KW_ENOMEM;
    free(ids);
    free(froms);
    return NULL;
}

static int recover_topics(kw_wal *wal, size_t size, unsigned topics, unsigned regions,
                          unsigned threads)
{
    double user0, sys0, user1, sys1;
    long rss;
    wb_usage(&user0, &sys0, &rss);
    uint64_t start = wb_now_ns();
    topics_job j = {.wal = wal, .topics = topics, .regions = regions};
    pthread_t th[64];
    if (threads > 64)
        threads = 64;
    unsigned started = 0;
    for (unsigned t = 0; t < threads; t++)
        if (pthread_create(&th[t], NULL, recover_topics_worker, &j) == 0)
            started++;
    for (unsigned t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    uint64_t end = wb_now_ns();
    wb_usage(&user1, &sys1, &rss);
    if (!started || j.err) {
        fprintf(stderr, "wal_replay: recovery: %s (%s)\n",
                kw_strerror(started ? j.err : KW_ENOMEM), j.detail);
        return 2;
    }
    double seconds = (double)(end - start) / 1e9, mb = (double)j.bytes / 1e6;
    double topic_mb = (double)j.records * (double)size / 1e6;
    printf("entries=%" PRIu64 " mb=%.1f topic_mb=%.1f seconds=%.3f mb_per_s=%.1f "
           "topic_mb_per_s=%.1f topic_reads=%" PRIu64 " cpu_user=%.2f cpu_sys=%.2f "
           "max_rss_kb=%ld\n",
           j.entries, mb, topic_mb, seconds, mb / seconds, topic_mb / seconds, j.reads,
           user1 - user0, sys1 - sys0, rss);
    return j.entries == 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *brokers = NULL, *topic = NULL;
    uint64_t count = 0, size = 1024, regions = 64, region = 7, fetch_bytes = 0;
    uint64_t timeout_ms = 0;
    bool greptimedb = false, write = false, delete = false, all = false, one_by_one = false;
    bool by_topics = false;
    uint64_t threads = 0, topics = 0; /* threads: -j, 2 by default (4 with --recover-topics) */
    bool no_index = false, no_runs = false;
    uint64_t batch_bytes = 0;
    enum {
        OPT_GREPTIMEDB = 256,
        OPT_TIMEOUT,
        OPT_WRITE,
        OPT_DELETE,
        OPT_FETCH,
        OPT_ALL,
        OPT_ONE_BY_ONE,
        OPT_TOPICS,
        OPT_SPARSE,
        OPT_BATCH,
        OPT_NO_INDEX,
        OPT_BURST,
        OPT_NO_RUNS
    };
    static const struct option longopts[] = {
        {"greptimedb", no_argument, NULL, OPT_GREPTIMEDB},
        {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
        {"write", no_argument, NULL, OPT_WRITE},
        {"topic-delete", no_argument, NULL, OPT_DELETE},
        {"fetch-bytes", required_argument, NULL, OPT_FETCH},
        {"all-regions", no_argument, NULL, OPT_ALL},
        {"one-by-one", no_argument, NULL, OPT_ONE_BY_ONE},
        {"recover-topics", no_argument, NULL, OPT_TOPICS},
        {"sparse-every", required_argument, NULL, OPT_SPARSE},
        {"batch-bytes", required_argument, NULL, OPT_BATCH},
        {"no-index", no_argument, NULL, OPT_NO_INDEX},
        {"sparse-burst", required_argument, NULL, OPT_BURST},
        {"no-region-runs", no_argument, NULL, OPT_NO_RUNS},
        {NULL, 0, NULL, 0},
    };
    int c, bad = 0;
    while ((c = getopt_long(argc, argv, "b:t:n:s:r:R:T:j:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'b': brokers = optarg; break;
        case 't': topic = optarg; break;
        case 'n': bad |= wb_parse_u64("wal_replay", optarg, "count", &count); break;
        case 's': bad |= wb_parse_u64("wal_replay", optarg, "size", &size); break;
        case 'r': bad |= wb_parse_u64("wal_replay", optarg, "regions", &regions); break;
        case 'R': bad |= wb_parse_u64("wal_replay", optarg, "region", &region); break;
        case 'j':
            bad |= wb_parse_u64("wal_replay", optarg, "threads", &threads);
            bad |= threads == 0;
            break;
        case 'T': bad |= wb_parse_u64("wal_replay", optarg, "topics", &topics); break;
        case OPT_TOPICS: by_topics = true; break;
        case OPT_ALL: all = true; break;
        case OPT_ONE_BY_ONE: one_by_one = true; break;
        case OPT_SPARSE: bad |= wb_parse_u64("wal_replay", optarg, "sparse-every", &sparse_every); break;
        case OPT_BATCH: bad |= wb_parse_u64("wal_replay", optarg, "batch-bytes", &batch_bytes); break;
        case OPT_NO_INDEX: no_index = true; break;
        case OPT_NO_RUNS: no_runs = true; break;
        case OPT_BURST: bad |= wb_parse_u64("wal_replay", optarg, "sparse-burst", &sparse_burst); break;
        case OPT_FETCH: bad |= wb_parse_u64("wal_replay", optarg, "fetch-bytes", &fetch_bytes); break;
        case OPT_TIMEOUT:
            bad |= wb_parse_u64("wal_replay", optarg, "timeout-ms", &timeout_ms);
            break;
        case OPT_GREPTIMEDB: greptimedb = true; break;
        case OPT_WRITE: write = true; break;
        case OPT_DELETE: delete = true; break;
        default: usage(); return 2;
        }
    }
    if (bad || !brokers || !topic || optind != argc || size == 0 || size > WB_POOL_BYTES / 2 ||
        regions == 0 || regions > 1000000 || region >= regions || (write && count == 0) ||
        (one_by_one && !all) || (sparse_every && (regions < 2 || all)) || sparse_burst == 0 ||
        (by_topics && (topics == 0 || topics > regions || write || all || greptimedb))) {
        usage();
        return 2;
    }
    char index_topic[300];
    snprintf(index_topic, sizeof index_topic, "%s_index", topic);
    if (delete) {
        (void)wb_topics_delete(brokers, index_topic, 0); /* absent when never written */
        return wb_topics_delete(brokers, topic, 0) == 0 ? 0 : 2;
    }
    if (write && wb_topics_create(brokers, topic, 0) != 0)
        return 2;

    static char pool[WB_POOL_BYTES];
    wb_fill_pool(pool, sizeof pool);
    kw_wal_options o = {.provider = KW_WAL_PROVIDER_KAFKA, .kafka.bootstrap = brokers,
                        .timeout_ms = (uint32_t)timeout_ms, .log = wal_log,
                        .index_topic = index_topic, .no_index = no_index,
                        .max_batch_bytes = (size_t)batch_bytes, .no_region_runs = no_runs};
    if (greptimedb) {
        o.no_idempotence = true;
        o.no_coalesce = true; /* rskafka sends one partition per Produce request */
        o.max_in_flight = 1;
        o.record_format = KW_WAL_FORMAT_GREPTIMEDB;
        o.fetch_max_bytes = 1u << 20;
    }
    if (fetch_bytes)
        o.fetch_max_bytes = (size_t)fetch_bytes;
    kw_wal *wal;
    char err[512] = "";
    if (kw_wal_open(&wal, &o, err, sizeof err) != 0) {
        fprintf(stderr, "wal_replay: open: %s\n", err);
        return 2;
    }
    if (threads == 0)
        threads = by_topics ? 8 : 2;
    char name[512];
    for (unsigned r = 0; r < regions; r++)
        if (kw_wal_set_region_topic(wal, wb_region_id(r),
                                    by_topics ? (snprintf(name, sizeof name, "%s_%u", topic,
                                                          (unsigned)(r % topics)),
                                                 name)
                                              : topic) != 0) {
            fprintf(stderr, "wal_replay: set_region_topic: %s\n", kw_wal_errstr(wal));
            kw_wal_close(wal);
            return 2;
        }
    int rc = by_topics ? recover_topics(wal, (size_t)size, (unsigned)topics, (unsigned)regions,
                                        (unsigned)threads)
             : write ? write_topic(wal, pool, count, (size_t)size, (unsigned)regions)
             : all ? recover_all(wal, pool, (size_t)size, (unsigned)regions, one_by_one,
                                 (unsigned)threads)
                   : replay_region(wal, pool, (size_t)size, (unsigned)regions, (unsigned)region);
    kw_wal_close(wal);
    return rc;
}
