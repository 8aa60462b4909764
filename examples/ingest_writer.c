/* examples/ingest writer: write requests as records of 1-16 MB spread over the partitions, produced as Mimir configures franz-go. */
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest.h"
#include "kwal/producer.h"

/*
 * The producer is set up as Mimir sets up its Kafka writer: acks=all, not
 * idempotent, linger 50 ms, up to 20 requests in flight, batches up to
 * 16 MB, a buffer (producer-max-buffered-bytes, 1 GiB) that fails a write
 * at once when full instead of blocking, snappy.  A write that fails fast is
 * counted and the writer waits for room before the next one, as a client of
 * Mimir's distributor retries.
 *
 * -log gets one line per acknowledged record, written by the delivery
 * callback (the client's I/O thread; nothing else writes the file until
 * the producer is destroyed): "PARTITION OFFSET WRITER SEQ LENGTH".  A line
 * there means every in-sync replica holds the record (acks=all).
 */

typedef struct writer_stats {
    _Atomic uint64_t acked, acked_bytes, failed, full;
    FILE *log; /* the I/O thread's while the producer lives */
} writer_stats;

/* What a delivery callback needs of its record; one per record in flight. */
typedef struct sent_record {
    writer_stats *stats;
    uint32_t writer;
    uint64_t seq;
    size_t len;
} sent_record;

static volatile sig_atomic_t writer_stop;

static void on_signal(int sig)
{
    (void)sig;
    writer_stop = 1;
}

static void on_delivery(const kw_producer_delivery *d, void *arg)
{
    sent_record *s = arg;
    if (d->err) {
        atomic_fetch_add(&s->stats->failed, 1);
        fprintf(stderr, "ingest: writer %u: record %" PRIu64 " to partition %d failed: %s\n",
                s->writer, s->seq, (int)d->partition, d->detail);
    } else {
        atomic_fetch_add(&s->stats->acked, 1);
        atomic_fetch_add(&s->stats->acked_bytes, s->len);
        if (s->stats->log)
            fprintf(s->stats->log, "%d %" PRId64 " %u %" PRIu64 " %zu\n", (int)d->partition,
                    d->offset, s->writer, s->seq, s->len);
    }
    free(s);
}

/* splitmix64: sizes and partitions, reproducible from -seed. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

int ingest_writer_run(const ingest_flags *f)
{
    kw_client_options co;
    char why[KW_CLIENT_DETAIL_MAX];
    if (!ingest_client_options(f, &co, why, sizeof why)) {
        fprintf(stderr, "ingest: %s\n", why);
        return 2;
    }
    kw_client *c;
    if (kw_client_new(&c, &co, why, sizeof why) < 0) {
        fprintf(stderr, "ingest: cannot set up the client: %s\n", why);
        return 1;
    }
    int32_t parts = ingest_topic_ensure(c, f);
    if (parts < 0) {
        kw_client_destroy(c);
        return 1;
    }
    writer_stats stats = {0};
    if (f->log_path && !(stats.log = fopen(f->log_path, "a"))) {
        perror(f->log_path);
        kw_client_destroy(c);
        return 1;
    }
    kw_producer_options po = {
        .acks = KW_CLIENT_ACKS_ALL,
        .idempotence = KW_PRODUCER_IDEMPOTENCE_OFF,
        .linger_ms = 50,
        .batch_bytes = INGEST_BATCH_MAX - 8192, /* the compressed batch, framing included, fits */
        .max_in_flight = 20,
        .compression = KW_COMPRESSION_SNAPPY,
        .buffer_bytes = (uint64_t)f->max_buffered,
        .delivery_timeout_ms = (uint32_t)f->write_timeout_ms,
    };
    kw_producer *p;
    if (kw_producer_new(&p, c, &po, why, sizeof why) < 0) {
        fprintf(stderr, "ingest: cannot set up the producer: %s\n", why);
        if (stats.log)
            fclose(stats.log);
        kw_client_destroy(c);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    uint8_t *buf = malloc((size_t)f->size_max);
    uint64_t *seqs = calloc((size_t)parts, sizeof *seqs); /* per partition: reader checks order */
    if (!buf || !seqs) {
        fprintf(stderr, "ingest: out of memory\n");
        free(buf);
        free(seqs);
        kw_producer_destroy(p);
        kw_client_destroy(c);
        return 1;
    }
    fprintf(stderr,
            "ingest: writer %lld: topic %s, %d partitions, values %lld-%lld bytes, %s\n",
            (long long)f->writer_id, f->topic, (int)parts, (long long)f->size_min,
            (long long)f->size_max, f->rate ? "rate-limited" : "as fast as acknowledged");
    uint64_t rnd = f->seed * 0x2545F4914F6CDD1Dull + (uint64_t)f->writer_id, sent = 0;
    uint64_t t0 = ingest_mono_ms(), next_report = t0 + (uint64_t)f->report_interval_ms;

    int rc = 0;
    while (!writer_stop && (!f->count || sent < (uint64_t)f->count)) {
        if (f->rate) { /* pace: the n-th record goes at t0 + n / rate */
            uint64_t due = t0 + sent * 1000 / (uint64_t)f->rate, now = ingest_mono_ms();
            if (due > now)
                sleep_ms(due - now < 100 ? due - now : 100);
            if (due > ingest_mono_ms())
                continue;
        }
        size_t len = (size_t)f->size_min +
                     (size_t)(next_random(&rnd) % (uint64_t)(f->size_max - f->size_min + 1));
        int32_t part = (int32_t)(next_random(&rnd) % (uint64_t)parts);
        char key[32];
        int klen = snprintf(key, sizeof key, "tenant-%u", (unsigned)(next_random(&rnd) % 16));
        ingest_payload_fill(buf, len, (uint32_t)f->writer_id, (uint32_t)part, seqs[part]);
        kw_header h = {INGEST_VERSION_HEADER, strlen(INGEST_VERSION_HEADER), INGEST_VERSION,
                       strlen(INGEST_VERSION)};
        kw_producer_record r = {.topic = f->topic, .partition = part, .key = key,
                                .key_len = (size_t)klen, .value = buf, .value_len = len,
                                .headers = &h, .header_count = 1};
        sent_record *s = malloc(sizeof *s);
        if (!s) {
            rc = 1;
            break;
        }
        *s = (sent_record){&stats, (uint32_t)f->writer_id, seqs[part], len};
        int err = kw_producer_send(p, &r, on_delivery, s);
        if (err == KW_EFULL) { /* fail fast, as Mimir does; the next write waits for room */
            free(s);
            atomic_fetch_add(&stats.full, 1);
            kw_producer_wait_room(p, len, 1000);
            continue;
        }
        if (err) {
            free(s);
            kw_producer_last_error(p, why, sizeof why);
            fprintf(stderr, "ingest: writer: send failed: %s\n", why);
            rc = 1;
            break;
        }
        seqs[part]++;
        sent++;
        uint64_t now = ingest_mono_ms();
        if (now >= next_report) {
            double s_ = (double)(now - t0) / 1000;
            fprintf(stderr,
                    "ingest: writer %lld: %" PRIu64 " sent, %" PRIu64 " acked (%.1f MB/s), %" PRIu64
                    " failed, %" PRIu64 " refused (buffer full)\n",
                    (long long)f->writer_id, sent, atomic_load(&stats.acked),
                    (double)atomic_load(&stats.acked_bytes) / 1e6 / s_, atomic_load(&stats.failed),
                    atomic_load(&stats.full));
            next_report = now + (uint64_t)f->report_interval_ms;
        }
    }
    kw_producer_destroy(p); /* waits for every callback: the log is complete after this */
    double secs = (double)(ingest_mono_ms() - t0) / 1000;
    fprintf(stderr,
            "ingest: writer %lld done: %" PRIu64 " records (%.1f MB) acknowledged in %.1f s "
            "(%.1f MB/s), %" PRIu64 " failed, %" PRIu64 " refused (buffer full)\n",
            (long long)f->writer_id, atomic_load(&stats.acked),
            (double)atomic_load(&stats.acked_bytes) / 1e6, secs,
            secs > 0 ? (double)atomic_load(&stats.acked_bytes) / 1e6 / secs : 0.0,
            atomic_load(&stats.failed), atomic_load(&stats.full));
    if (stats.log && fclose(stats.log) != 0) {
        perror(f->log_path);
        rc = 1;
    }
    if (atomic_load(&stats.failed))
        rc = 1;
    free(buf);
    free(seqs);
    kw_client_destroy(c);
    return rc;
}
