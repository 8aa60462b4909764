/* Transactional produce benchmark, kwal's side: records committed in transactions of N, one result line. */
/*
 *   kwal_txn -b BROKERS -t TOPIC -x TRANSACTIONAL_ID -n RECORDS -k PER_TXN -s SIZE
 *
 * The twin of bench/peers/java-txn/TxnBench.java: the same command line and result line.  One
 * transactional producer (acks all, linger 5 ms, 1,000,000-byte batches, no compression) writes
 * RECORDS values of SIZE bytes to partition 0 of TOPIC in transactions of PER_TXN records each:
 * begin, PER_TXN sends, commit (which waits for every record's acknowledgement and then the
 * EndTxn).  Before the clock starts: init_transactions and one committed warm-up transaction of
 * one record (connections, metadata, the coordinator found).  The clock runs from the first
 * begin to the last commit's return.  CPU seconds and peak RSS are getrusage for the process.
 *
 * Result line: records= bytes= seconds= records_per_s= mb_per_s= cpu_user= cpu_sys= max_rss_kb=
 * txns_per_s=.  Exit status 0 when every transaction committed, 1 when one failed, 2 on bad
 * usage or setup.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "kwal/client.h"
#include "kwal/producer.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static atomic_uint_fast64_t failed;

/* Runs on the client's I/O thread, once per record. */
static void on_delivery(const kw_producer_delivery *d, void *arg)
{
    (void)arg;
    if (d->err && atomic_fetch_add(&failed, 1) == 0)
        fprintf(stderr, "kwal_txn: record failed: %s\n", d->detail);
}

/* KWAL_TXN_LOG=1: the producer's log on stderr with a clock, to see where a transaction waits. */
static void log_line(void *arg, int level, const char *msg)
{
    (void)arg;
    fprintf(stderr, "%.6f [%d] %s\n", now(), level, msg);
}

static int usage(void)
{
    fprintf(stderr, "usage: kwal_txn -b BROKERS -t TOPIC -x TRANSACTIONAL_ID -n RECORDS "
                    "-k PER_TXN -s SIZE\n");
    return 2;
}

/* One transaction of n records (values from pool); 0 or the failing call's error. */
static int one_txn(kw_producer *p, const char *topic, const char *pool, size_t size, uint64_t n,
                   uint64_t *at)
{
    int rc = kw_producer_begin_transaction(p);
    if (rc)
        return rc;
    for (uint64_t i = 0; i < n; i++) {
        kw_producer_record r = {.topic = topic, .partition = 0,
                                .value = pool + (*at)++ % 4096, .value_len = size};
        while ((rc = kw_producer_send(p, &r, on_delivery, NULL)) == KW_EFULL)
            kw_producer_wait_room(p, size + 64, -1);
        if (rc)
            return rc;
    }
    return kw_producer_commit_transaction(p, 60000);
}

int main(int argc, char **argv)
{
    const char *brokers = NULL, *topic = NULL, *txn_id = NULL;
    uint64_t records = 0, per_txn = 0;
    size_t size = 0;
    int opt;
    while ((opt = getopt(argc, argv, "b:t:x:n:k:s:")) != -1) {
        switch (opt) {
        case 'b': brokers = optarg; break;
        case 't': topic = optarg; break;
        case 'x': txn_id = optarg; break;
        case 'n': records = strtoull(optarg, NULL, 10); break;
        case 'k': per_txn = strtoull(optarg, NULL, 10); break;
        case 's': size = strtoul(optarg, NULL, 10); break;
        default: return usage();
        }
    }
    if (!brokers || !topic || !txn_id || !records || !per_txn || !size || size > 65536)
        return usage();
    char *pool = malloc(4096 + size);
    if (!pool)
        return 2;
    for (size_t i = 0; i < 4096 + size; i++)
        pool[i] = (char)('a' + (i * 7919) % 26);

    kw_client_options co = {.bootstrap = brokers};
    kw_client *c = NULL;
    char err[512];
    if (kw_client_new(&c, &co, err, sizeof err) != 0) {
        fprintf(stderr, "kwal_txn: kw_client_new: %s\n", err);
        return 2;
    }
    kw_producer_options po = {.transactional_id = txn_id, .linger_ms = 5,
                              .batch_bytes = 1000000};
    if (getenv("KWAL_TXN_LOG"))
        po.log = log_line;
    kw_producer *p = NULL;
    if (kw_producer_new(&p, c, &po, err, sizeof err) != 0) {
        fprintf(stderr, "kwal_txn: kw_producer_new: %s\n", err);
        return 2;
    }
    uint64_t at = 0;
    int rc = kw_producer_init_transactions(p, 60000);
    if (!rc)
        rc = one_txn(p, topic, pool, size, 1, &at); /* warm-up, not counted */
    if (rc) {
        kw_producer_last_error(p, err, sizeof err);
        fprintf(stderr, "kwal_txn: setup: %s: %s\n", kw_err_name(rc), err);
        return 2;
    }
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    double t0 = now();
    uint64_t done = 0, txns = 0;
    while (done < records && !rc) {
        uint64_t n = records - done < per_txn ? records - done : per_txn;
        rc = one_txn(p, topic, pool, size, n, &at);
        done += n;
        txns++;
    }
    double seconds = now() - t0;
    getrusage(RUSAGE_SELF, &r1);
    if (rc) {
        kw_producer_last_error(p, err, sizeof err);
        fprintf(stderr, "kwal_txn: transaction %" PRIu64 ": %s: %s\n", txns, kw_err_name(rc),
                err);
    }
    double user = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) +
                  (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1e6;
    double sys = (double)(r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
                 (double)(r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
    uint64_t bytes = done * size;
    printf("records=%" PRIu64 " bytes=%" PRIu64 " seconds=%.3f records_per_s=%.0f mb_per_s=%.2f "
           "cpu_user=%.3f cpu_sys=%.3f max_rss_kb=%ld txns_per_s=%.1f\n",
           done, bytes, seconds, (double)done / seconds, (double)bytes / seconds / 1e6, user, sys,
           r1.ru_maxrss, (double)txns / seconds);
    kw_producer_destroy(p);
    kw_client_destroy(c);
    free(pool);
    return rc || atomic_load(&failed) ? 1 : 0;
}
