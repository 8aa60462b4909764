/* examples/ingest reader: one partition from the committed offset + 1, several fetches in flight, commits every second and on stop. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "kwal/consumer.h"

/*
 * Mimir's ingester: the committed offset is the last one consumed, so the
 * reader starts at committed + 1 (the log start when nothing is committed)
 * and, killed, reads again at most what it consumed after its last commit,
 * about one commit interval.  It commits without joining the group
 * (generation -1), every -commit-interval while it advances and once more
 * on SIGTERM/SIGINT or at the end (-exit-at-end).
 *
 * Every record is checked: its offset is the one after the last (a hole is
 * data loss: the reader says so and exits 1), its value is byte for byte
 * what the writer wrote for this partition, it carries the Version header.
 *
 * -log gets, written before the next poll: "S START COMMITTED WALL_MS" at
 * the start; "OFFSET WRITER SEQ LENGTH WALL_MS" per record read; "C OFFSET
 * WALL_MS" after each commit the coordinator acknowledged.
 */

static volatile sig_atomic_t reader_stop;

static void on_signal(int sig)
{
    (void)sig;
    reader_stop = 1;
}

typedef struct reader {
    const ingest_flags *f;
    kw_client *c;
    int32_t partition;
    char group[256];
    FILE *log;
    int64_t next;      /* the offset the next record must have */
    int64_t committed; /* last offset committed (-1 none) */
    int64_t end;       /* the high watermark last seen, -1 unknown */
    uint64_t records, bytes, errors;
    uint64_t *last_seq; /* per writer: the last sequence seen + 1 (0: none yet) */
    size_t writers;
} reader;

/* The group's committed offset of the partition: >= 0, -1 none, or -2 after printing why. */
static int64_t fetch_committed(reader *r)
{
    kw_client_committed want = {.topic = r->f->topic, .partition = r->partition};
    kw_client_offset_fetch_args a = {.group = r->group, .partitions = &want, .count = 1};
    kw_client_offsets_result res = {0};
    int64_t off = -1;
    if (kw_client_offset_fetch(r->c, &a, &res) < 0) {
        fprintf(stderr, "ingest: reader %d: reading group %s's offset: %s\n", (int)r->partition,
                r->group, res.detail[0] ? res.detail : kw_strerror(res.err));
        off = -2;
    }
    for (size_t i = 0; off != -2 && i < res.count; i++)
        if (res.offsets[i].partition == r->partition)
            off = res.offsets[i].offset;
    kw_client_offsets_result_free(&res);
    return off;
}

static bool commit(reader *r)
{
    int64_t last = r->next - 1;
    if (last < 0 || last <= r->committed)
        return true;
    kw_client_committed o = {.topic = r->f->topic, .partition = r->partition, .offset = last,
                             .leader_epoch = -1};
    kw_client_offset_commit_args a = {.group = r->group, .offsets = &o, .count = 1};
    kw_client_offsets_result res = {0};
    bool ok = kw_client_offset_commit(r->c, &a, &res) == 0;
    if (ok) {
        r->committed = last;
        if (r->log) {
            fprintf(r->log, "C %" PRId64 " %" PRId64 "\n", last, ingest_wall_ms());
            fflush(r->log);
        }
    } else {
        fprintf(stderr, "ingest: reader %d: commit of %" PRId64 " to %s failed: %s\n",
                (int)r->partition, last, r->group, res.detail[0] ? res.detail : kw_strerror(res.err));
    }
    kw_client_offsets_result_free(&res);
    return ok;
}

static int64_t end_offset(reader *r)
{
    kw_client_list_offsets_args a = {.topic = r->f->topic, .partition = r->partition,
                                     .spec = KW_CLIENT_OFFSET_LATEST};
    kw_client_list_offsets_result res;
    if (kw_client_list_offsets(r->c, &a, &res) == 0)
        r->end = res.offset;
    return r->end;
}

/* Checks one record; false (after printing why) when it shows data loss or corruption. */
static bool check_record(reader *r, const kw_consumer_record *rec)
{
    if (rec->offset != r->next) {
        fprintf(stderr, "ingest: reader %d: %s: expected offset %" PRId64 ", got %" PRId64 "\n",
                (int)r->partition, rec->offset > r->next ? "GAP (records lost)" : "offset went back",
                r->next, rec->offset);
        return false;
    }
    uint32_t w, p;
    uint64_t seq;
    const char *bad = rec->value ? ingest_payload_check(rec->value, rec->value_len, &w, &p, &seq)
                                 : "a null value";
    if (!bad && p != (uint32_t)r->partition)
        bad = "a record written for another partition";
    bool version = false;
    for (size_t i = 0; i < rec->header_count; i++)
        version |= rec->headers[i].key_len == strlen(INGEST_VERSION_HEADER) &&
                   !memcmp(rec->headers[i].key, INGEST_VERSION_HEADER, rec->headers[i].key_len);
    if (!bad && !version)
        bad = "no " INGEST_VERSION_HEADER " header";
    if (bad) {
        fprintf(stderr, "ingest: reader %d: offset %" PRId64 ": %s\n", (int)r->partition,
                rec->offset, bad);
        return false;
    }
    if (w >= r->writers) {
        size_t n = (size_t)w + 1;
        uint64_t *v = realloc(r->last_seq, n * sizeof *v);
        if (!v)
            return false;
        memset(v + r->writers, 0, (n - r->writers) * sizeof *v);
        r->last_seq = v;
        r->writers = n;
    }
    /* Not idempotent (as Mimir's writer): a retried batch may repeat or pass an earlier one. */
    if (r->last_seq[w] && seq != r->last_seq[w])
        fprintf(stderr,
                "ingest: reader %d: offset %" PRId64 ": writer %u's record %" PRIu64
                " follows its %" PRIu64 " (retried produce)\n",
                (int)r->partition, rec->offset, w, seq, r->last_seq[w] - 1);
    r->last_seq[w] = seq + 1;
    if (r->log)
        fprintf(r->log, "%" PRId64 " %u %" PRIu64 " %zu %" PRId64 "\n", rec->offset, w, seq,
                rec->value_len, ingest_wall_ms());
    r->next = rec->offset + 1;
    r->records++;
    r->bytes += rec->value_len;
    return true;
}

static void report(reader *r, uint64_t t0)
{
    double secs = (double)(ingest_mono_ms() - t0) / 1000;
    int64_t end = end_offset(r);
    fprintf(stderr,
            "ingest: reader %d: at %" PRId64 ", end %" PRId64 ", lag %" PRId64 " records; %" PRIu64
            " read (%.1f MB/s), committed %" PRId64 "\n",
            (int)r->partition, r->next, end, end > r->next ? end - r->next : 0, r->records,
            secs > 0 ? (double)r->bytes / 1e6 / secs : 0.0, r->committed);
}

static int consume(reader *r, kw_consumer *cons)
{
    uint64_t t0 = ingest_mono_ms(), now;
    uint64_t next_commit = t0 + (uint64_t)r->f->commit_interval_ms;
    uint64_t next_report = t0 + (uint64_t)r->f->report_interval_ms;
    while (!reader_stop) {
        kw_consumer_poll_result pr;
        int err = kw_consumer_poll(cons, 100, &pr);
        if (err) {
            fprintf(stderr, "ingest: reader %d: poll: %s\n", (int)r->partition, kw_strerror(err));
            return 1;
        }
        for (size_t i = 0; i < pr.error_count; i++) {
            fprintf(stderr, "ingest: reader %d: at %" PRId64 ": %s\n", (int)r->partition,
                    pr.errors[i].offset, pr.errors[i].detail);
            return 1;
        }
        for (size_t i = 0; i < pr.record_count; i++)
            if (!check_record(r, &pr.records[i]))
                return 1;
        if (r->log && pr.record_count)
            fflush(r->log); /* a SIGKILL keeps every line of what was read so far */
        now = ingest_mono_ms();
        if (now >= next_commit) {
            commit(r);
            next_commit = now + (uint64_t)r->f->commit_interval_ms;
        }
        if (now >= next_report) {
            report(r, t0);
            next_report = now + (uint64_t)r->f->report_interval_ms;
        }
        if (r->f->exit_at_end && !pr.record_count && end_offset(r) >= 0 && r->next >= r->end) {
            report(r, t0);
            break;
        }
    }
    return 0;
}

int ingest_reader_run(const ingest_flags *f)
{
    kw_client_options co;
    char why[KW_CLIENT_DETAIL_MAX];
    if (!ingest_client_options(f, &co, why, sizeof why)) {
        fprintf(stderr, "ingest: %s\n", why);
        return 2;
    }
    reader r = {.f = f, .partition = (int32_t)f->partition, .committed = -1, .end = -1};
    ingest_group_name(f, r.partition, r.group, sizeof r.group);
    if (kw_client_new(&r.c, &co, why, sizeof why) < 0) {
        fprintf(stderr, "ingest: cannot set up the client: %s\n", why);
        return 1;
    }
    int rc = 1;
    kw_consumer *cons = NULL;
    int32_t parts = ingest_topic_ensure(r.c, f);
    if (parts < 0)
        goto out;
    if (r.partition >= parts) {
        fprintf(stderr, "ingest: reader: -partition %d: topic %s has %d partitions\n",
                (int)r.partition, f->topic, (int)parts);
        goto out;
    }
    if (f->log_path && !(r.log = fopen(f->log_path, "a"))) {
        perror(f->log_path);
        goto out;
    }
    r.committed = fetch_committed(&r);
    if (r.committed == -2)
        goto out;
    kw_consumer_options copt = {.fetches = (uint32_t)f->fetch_concurrency,
                                .offset_reset = KW_CONSUMER_RESET_ERROR};
    if (kw_consumer_new(&cons, r.c, &copt, why, sizeof why) < 0) {
        fprintf(stderr, "ingest: reader: consumer: %s\n", why);
        goto out;
    }
    /* Where to start: committed + 1 (Mimir's last-offset), else the log start; "start" and
     * "end" ignore the committed offset, as Mimir's consume-from-position-at-startup does. */
    bool from_end = strcmp(f->start_position, "end") == 0;
    if (r.committed >= 0 && strcmp(f->start_position, "last-offset") == 0) {
        r.next = r.committed + 1;
    } else {
        kw_client_list_offsets_args la = {.topic = f->topic, .partition = r.partition,
                                          .spec = from_end ? KW_CLIENT_OFFSET_LATEST
                                                           : KW_CLIENT_OFFSET_EARLIEST};
        kw_client_list_offsets_result lr;
        if (kw_client_list_offsets(r.c, &la, &lr) < 0) {
            fprintf(stderr, "ingest: reader: the partition's %s offset: %s\n",
                    from_end ? "end" : "start", lr.detail);
            goto out;
        }
        r.next = lr.offset;
    }
    int err = kw_consumer_assign(cons, f->topic, r.partition, kw_consumer_at_offset(r.next));
    if (err) {
        fprintf(stderr, "ingest: reader: assign: %s\n", kw_strerror(err));
        goto out;
    }
    fprintf(stderr, "ingest: reader %d: group %s, committed %" PRId64 ", starting at %" PRId64
            " with %lld fetches in flight\n",
            (int)r.partition, r.group, r.committed, r.next, (long long)f->fetch_concurrency);
    if (r.log) {
        fprintf(r.log, "S %" PRId64 " %" PRId64 " %" PRId64 "\n", r.next, r.committed,
                ingest_wall_ms());
        fflush(r.log);
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    rc = consume(&r, cons);
    if (!commit(&r)) /* on stop: what was read is committed */
        rc = 1;
    fprintf(stderr, "ingest: reader %d stopped at %" PRId64 ": %" PRIu64 " records (%.1f MB) read, "
            "committed %" PRId64 "\n",
            (int)r.partition, r.next, r.records, (double)r.bytes / 1e6, r.committed);
out:
    kw_consumer_destroy(cons);
    if (r.log && fclose(r.log) != 0)
        rc = 1;
    free(r.last_seq);
    kw_client_destroy(r.c);
    return rc;
}
