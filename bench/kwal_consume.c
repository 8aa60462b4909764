/* The kwal side of bench/consume: catch-up of one partition through the public consumer. */
/*
 *   kwal_consume -b BROKERS -t TOPIC [-p PARTITION] -n RECORDS [--fetch-bytes N] [--fetches N]
 *
 * Reads PARTITION (0) of TOPIC from its earliest offset until RECORDS records have come, then
 * prints one line:
 *   records=N bytes=B seconds=S records_per_s=R mb_per_s=M cpu_user=U cpu_sys=Y max_rss_kb=K
 * bytes counts key + value bytes; seconds run from the assignment (which sends the first
 * ListOffsets and fetch) to the last record; cpu and rss are getrusage of the whole process.
 * Exit status: 0, 1 when the consumer reports an error or stalls for 30 s, 2 on bad usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "kwal/client.h"
#include "kwal/consumer.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
    fprintf(stderr, "usage: kwal_consume -b BROKERS -t TOPIC [-p PARTITION] -n RECORDS "
                    "[--fetch-bytes N] [--fetches N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *brokers = NULL, *topic = NULL;
    long partition = 0;
    long long want = -1;
    unsigned long fetch_bytes = 0, fetches = 0;
    static const struct option longs[] = {
        {"fetch-bytes", required_argument, NULL, 'f'},
        {"fetches", required_argument, NULL, 'F'},
        {0, 0, 0, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "b:t:p:n:", longs, NULL)) != -1) {
        switch (ch) {
        case 'b': brokers = optarg; break;
        case 't': topic = optarg; break;
        case 'p': partition = strtol(optarg, NULL, 10); break;
        case 'n': want = strtoll(optarg, NULL, 10); break;
        case 'f': fetch_bytes = strtoul(optarg, NULL, 10); break;
        case 'F': fetches = strtoul(optarg, NULL, 10); break;
        default: usage();
        }
    }
    if (!brokers || !topic || want <= 0 || partition < 0 || partition > INT32_MAX)
        usage();

    char err[256];
    kw_client *c = NULL;
    kw_client_options co = {.bootstrap = brokers};
    int rc = kw_client_new(&c, &co, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "kwal_consume: client: %s: %s\n", kw_err_name(rc), err);
        return 2;
    }
    kw_consumer *k = NULL;
    kw_consumer_options ko = {.fetch_bytes = (uint32_t)fetch_bytes, .fetches = (uint32_t)fetches};
    rc = kw_consumer_new(&k, c, &ko, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "kwal_consume: consumer: %s: %s\n", kw_err_name(rc), err);
        kw_client_destroy(c);
        return 2;
    }
    double t0 = now_s(), last = t0, progress = t0;
    long long records = 0;
    unsigned long long bytes = 0;
    int status = 0;
    rc = kw_consumer_assign(k, topic, (int32_t)partition, kw_consumer_at_earliest());
    while (!rc && records < want) {
        kw_consumer_poll_result r;
        rc = kw_consumer_poll(k, 1000, &r);
        if (rc)
            break;
        if (r.error_count) {
            fprintf(stderr, "kwal_consume: %s[%d] at %lld: %s: %s\n", r.errors[0].topic,
                    (int)r.errors[0].partition, (long long)r.errors[0].offset,
                    kw_err_name(r.errors[0].err), r.errors[0].detail);
            status = 1;
            break;
        }
        for (size_t i = 0; i < r.record_count; i++)
            bytes += r.records[i].key_len + r.records[i].value_len;
        records += (long long)r.record_count;
        if (r.record_count) {
            last = now_s();
            progress = last;
        } else if (now_s() - progress > 30) {
            fprintf(stderr, "kwal_consume: no record for 30 s after %lld records\n", records);
            status = 1;
            break;
        }
    }
    if (rc) {
        fprintf(stderr, "kwal_consume: %s\n", kw_err_name(rc));
        status = 1;
    }
    double secs = last - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (!status)
        printf("records=%lld bytes=%llu seconds=%.3f records_per_s=%.0f mb_per_s=%.1f "
               "cpu_user=%.3f cpu_sys=%.3f max_rss_kb=%ld\n",
               records, bytes, secs, secs > 0 ? (double)records / secs : 0,
               secs > 0 ? (double)bytes / 1e6 / secs : 0,
               (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss);
    kw_consumer_destroy(k);
    kw_client_destroy(c);
    return status;
}
