/* Replay floor: how fast this machine's broker hands a whole topic to a reader that does nothing with it. */
/*
 *   fetch_floor -b BROKERS -t TOPIC [-s SIZE] [--fetch-bytes N]
 *
 * Reads partition 0 of TOPIC from its log start to its end as it is at the start, in fetches of
 * --fetch-bytes (4 MiB, kwal's replay default), each sent as soon as the previous one is in (the
 * next offset is known only then: it is after the last whole batch of the previous fetch).  It
 * looks at the batch headers only (base offset, length, last offset delta): no CRC check, no
 * record parsing, no decompression, no copy beyond the kernel's.  Any reader of a topic laid out
 * this way (one region's records interleaved with the others' in every batch) spends at least
 * this much wall time on this machine; the WAL benchmark prints it beside the replay rows.
 *
 * Output, one line: records=N topic_mb_per_s=T bytes=B fetches=F seconds=S mb_per_s=R cpu_user=U
 * cpu_sys=Y max_rss_kb=K (topic_mb_per_s counts SIZE (1024) bytes per record, as wal_replay
 * counts the topic's entries; bytes and mb_per_s are what the broker sent, cut batches that
 * the next fetch sends again included).
 * Exit status: 0, 1 when a fetch fails, 2 on bad usage or setup.
 */
#include <getopt.h>
#include <stdbool.h>

#include "kwal/client.h"
#include "wal_common.h"

struct floor_run {
    kw_client *c;
    const char *topic;
    int32_t fetch_bytes;
    int64_t offset, end;
    uint64_t bytes, fetches, records;
    bool done;
    int err;
    char detail[KW_CLIENT_DETAIL_MAX];
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void send_next(struct floor_run *f);

static void fetched(const kw_client_fetch_result *res, void *arg)
{
    struct floor_run *f = arg;
    if (res->err) {
        f->err = res->err;
        snprintf(f->detail, sizeof(f->detail), "%s", res->detail);
        f->done = true;
        return;
    }
    f->fetches++;
    f->bytes += res->records_len;
    /* The next offset: past the last whole batch (a cut one at the end is fetched again). */
    size_t pos = 0;
    while (res->records_len - pos >= 61) {
        const uint8_t *b = res->records + pos;
        size_t whole = 12 + (size_t)be32(b + 8);
        if (whole > res->records_len - pos)
            break;
        f->offset = (int64_t)be64(b) + (int32_t)be32(b + 23) + 1;
        f->records += be32(b + 57);
        pos += whole;
    }
    if (pos == 0 && res->records_len > 0) {
        f->err = KW_ETOOBIG;
        snprintf(f->detail, sizeof(f->detail), "a batch at offset %lld exceeds %d bytes",
                 (long long)f->offset, (int)f->fetch_bytes);
        f->done = true;
        return;
    }
    if (f->offset >= f->end)
        f->done = true;
    else
        send_next(f);
}

static void send_next(struct floor_run *f)
{
    kw_client_fetch_args a = {.topic = f->topic,
                              .offset = f->offset,
                              .max_bytes = f->fetch_bytes,
                              .max_wait_ms = 0,
                              .isolation = KW_CLIENT_READ_COMMITTED};
    int rc = kw_client_fetch_async(f->c, &a, fetched, f);
    if (rc) {
        f->err = rc;
        snprintf(f->detail, sizeof(f->detail), "cannot send a fetch");
        f->done = true;
    }
}

int main(int argc, char **argv)
{
    const char *brokers = NULL, *topic = NULL;
    uint64_t fetch_bytes = 4 << 20, size = 1024;
    bool bad = false;
    static const struct option longopts[] = {{"fetch-bytes", required_argument, NULL, 'f'},
                                             {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "b:t:s:", longopts, NULL)) != -1) {
        switch (opt) {
        case 'b': brokers = optarg; break;
        case 't': topic = optarg; break;
        case 's': bad |= wb_parse_u64("fetch_floor", optarg, "size", &size) != 0; break;
        case 'f': bad |= wb_parse_u64("fetch_floor", optarg, "--fetch-bytes", &fetch_bytes) != 0; break;
        default: bad = true; break;
        }
    }
    if (bad || !brokers || !topic || optind != argc || fetch_bytes < 1024 ||
        fetch_bytes > (1u << 30)) {
        fprintf(stderr, "usage: fetch_floor -b BROKERS -t TOPIC [-s SIZE] [--fetch-bytes N (1024..2^30)]\n");
        return 2;
    }
    char eb[256];
    kw_client_options o = {.bootstrap = brokers, .host_driven = true};
    struct floor_run f = {.topic = topic, .fetch_bytes = (int32_t)fetch_bytes};
    if (kw_client_new(&f.c, &o, eb, sizeof(eb)) != 0) {
        fprintf(stderr, "fetch_floor: %s\n", eb);
        return 2;
    }
    double user0, sys0, user1, sys1;
    long rss;
    wb_usage(&user0, &sys0, &rss);
    uint64_t start = wb_now_ns();
    /* The log's start and end, as a replay asks for them. */
    kw_client_list_offsets_args la = {.topic = topic, .spec = KW_CLIENT_OFFSET_EARLIEST};
    kw_client_list_offsets_result lr;
    int rc = kw_client_list_offsets(f.c, &la, &lr);
    if (rc == 0) {
        f.offset = lr.offset;
        la.spec = KW_CLIENT_OFFSET_LATEST;
        la.isolation = KW_CLIENT_READ_COMMITTED;
        rc = kw_client_list_offsets(f.c, &la, &lr);
        f.end = lr.offset;
    }
    if (rc) {
        fprintf(stderr, "fetch_floor: ListOffsets on %s: %s (%s)\n", topic, kw_strerror(rc),
                lr.detail);
        kw_client_destroy(f.c);
        return 2;
    }
    if (f.offset < f.end)
        send_next(&f);
    else
        f.done = true;
    while (!f.done && (rc = kw_client_run_once(f.c, 1000)) >= 0)
        ;
    uint64_t stop = wb_now_ns();
    wb_usage(&user1, &sys1, &rss);
    kw_client_destroy(f.c);
    if (f.err || rc < 0) {
        fprintf(stderr, "fetch_floor: fetch of %s at offset %lld: %s (%s)\n", topic,
                (long long)f.offset, kw_strerror(f.err ? f.err : rc), f.detail);
        return 1;
    }
    double seconds = (double)(stop - start) / 1e9;
    printf("records=%" PRIu64 " topic_mb_per_s=%.1f bytes=%" PRIu64 " fetches=%" PRIu64
           " seconds=%.3f mb_per_s=%.1f cpu_user=%.2f cpu_sys=%.2f max_rss_kb=%ld\n",
           f.records, (double)f.records * (double)size / 1e6 / seconds, f.bytes, f.fetches,
           seconds, (double)f.bytes / 1e6 / seconds, user1 - user0, sys1 - sys0, rss);
    return 0;
}
