/*
 * kwal-chaos-workload: the client side of one network-fault scenario (tests/chaos/run).
 *
 *   kwal-chaos-workload --bootstrap B --wal-topic T --topic P --seconds N --out DIR
 *                       [--delivery-timeout-ms MS]
 *
 * Creates the WAL topic T (1 partition) and the producer's topic P (3 partitions), replication 3,
 * writes DIR/leader ("NODE PARTITION": the WAL partition's leader, and the partition of P it also
 * leads, which the producer writes to, so a fault on that node hits both), then for N seconds:
 *   - 2 writers append to the WAL (kafka provider) over regions 1..8, one entry at a time each,
 *     entry "w<W> s<SEQ> r<REGION>";
 *   - an idempotent producer (acks=all) sends "p<SEQ>" to P's partition, about 200 a second
 *     (its delivery timeout: --delivery-timeout-ms, default the producer's 120000);
 * and logs every outcome to DIR/acks, one line each (times in ms since the epoch, CLOCK_REALTIME):
 *   A W REGION SEQ ENTRY_ID T_START T_END          appended, durable (the WAL's callback said so)
 *   F W REGION SEQ T_START T_END DETAIL            failed (may or may not be in the log)
 *   PA SEQ OFFSET T_START T_END                    the producer's record acknowledged
 *   PF SEQ T_START T_END DETAIL                    the producer's record failed
 * Then it stops sending, waits for every outstanding answer (the WAL's close, the producer's
 * flush), and exits 0; 1 on a setup error.  The replay and the read-back are tests/chaos/run's
 * (`kwal wal replay`, `kwal consume`); tests/chaos/checker judges.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kwal/client.h"
#include "kwal/error.h"
#include "kwal/producer.h"
#include "kwal/wal.h"

#define WRITERS 2
#define REGIONS 8

static const char *bootstrap, *wal_topic, *prod_topic, *out_dir;
static int seconds = 20;
static uint32_t delivery_timeout_ms; /* 0: the producer's default */
static atomic_bool stopping;
static FILE *acks;
static pthread_mutex_t acks_mu = PTHREAD_MUTEX_INITIALIZER;
static kw_wal *wal;
static kw_producer *producer;
static int32_t prod_partition;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

__attribute__((format(printf, 1, 2))) static void logline(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&acks_mu);
    vfprintf(acks, fmt, ap);
    fputc('\n', acks);
    pthread_mutex_unlock(&acks_mu);
    va_end(ap);
}

/* A detail text on one line: newlines and tabs become spaces. */
static void one_line(char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r' || *s == '\t')
            *s = ' ';
}

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("kwal-chaos-workload: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* One writer's append in flight: the callback (a kwal thread) fills it and wakes the writer. */
typedef struct writer {
    int id;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int err;
    uint64_t entry_id;
    char detail[512];
} writer;

static void append_done(void *arg, int err, uint64_t entry_id, const char *detail)
{
    writer *w = arg;
    pthread_mutex_lock(&w->mu);
    w->err = err;
    w->entry_id = entry_id;
    snprintf(w->detail, sizeof w->detail, "%s", detail ? detail : "");
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    for (uint64_t seq = 0; !atomic_load(&stopping); seq++) {
        int region = (int)(seq % REGIONS) + 1;
        char entry[64];
        int len = snprintf(entry, sizeof entry, "w%d s%" PRIu64 " r%d", w->id, seq, region);
        int64_t t0 = now_ms();
        w->done = false;
        int rc = kw_wal_append(wal, (uint64_t)region, entry, (size_t)len, append_done, w);
        if (rc != 0) {
            /* Not queued: not in the log.  Logged as failed all the same (the checker accepts both). */
            char d[300];
            snprintf(d, sizeof d, "append: %s: %s", kw_strerror(rc), kw_wal_errstr(wal));
            one_line(d);
            logline("F %d %d %" PRIu64 " %" PRId64 " %" PRId64 " %s", w->id, region, seq, t0, now_ms(), d);
            sleep_ms(100);
            continue;
        }
        pthread_mutex_lock(&w->mu);
        while (!w->done)
            pthread_cond_wait(&w->cv, &w->mu);
        int err = w->err;
        uint64_t id = w->entry_id;
        char d[512];
        snprintf(d, sizeof d, "%s", w->detail);
        pthread_mutex_unlock(&w->mu);
        int64_t t1 = now_ms();
        if (err == 0) {
            logline("A %d %d %" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64, w->id, region, seq, id, t0, t1);
        } else {
            one_line(d);
            logline("F %d %d %" PRIu64 " %" PRId64 " %" PRId64 " %s: %s", w->id, region, seq, t0, t1,
                    kw_strerror(err), d);
            sleep_ms(100); /* a broker that refuses at once is not hammered */
        }
    }
    return NULL;
}

/* One producer record in flight. */
typedef struct sent {
    uint64_t seq;
    int64_t t0;
} sent;

static void delivered(const kw_producer_delivery *d, void *arg)
{
    sent *s = arg;
    int64_t t1 = now_ms();
    if (d->err == 0) {
        logline("PA %" PRIu64 " %" PRId64 " %" PRId64 " %" PRId64, s->seq, d->offset, s->t0, t1);
    } else {
        char det[600];
        snprintf(det, sizeof det, "%s: %s", kw_strerror(d->err), d->detail);
        one_line(det);
        logline("PF %" PRIu64 " %" PRId64 " %" PRId64 " %s", s->seq, s->t0, t1, det);
    }
    free(s);
}

static void *producer_main(void *arg)
{
    (void)arg;
    for (uint64_t seq = 0; !atomic_load(&stopping); seq++) {
        char value[32];
        int len = snprintf(value, sizeof value, "p%" PRIu64, seq);
        sent *s = malloc(sizeof *s);
        if (!s)
            die("out of memory");
        s->seq = seq;
        s->t0 = now_ms();
        kw_producer_record rec = {.topic = prod_topic, .partition = prod_partition,
                                  .value = value, .value_len = (size_t)len};
        int rc;
        while ((rc = kw_producer_send(producer, &rec, delivered, s)) == KW_EFULL && !atomic_load(&stopping))
            sleep_ms(10);
        if (rc != 0) {
            char err[300];
            kw_producer_last_error(producer, err, sizeof err);
            one_line(err);
            logline("PF %" PRIu64 " %" PRId64 " %" PRId64 " send: %s: %s", seq, s->t0, now_ms(),
                    kw_strerror(rc), err);
            free(s);
            if (rc != KW_EFULL)
                sleep_ms(100);
        }
        sleep_ms(5);
    }
    return NULL;
}

/* Creates both topics (an existing one is fine) and waits until every partition has a leader. */
static void make_topics(kw_client *c)
{
    kw_client_new_topic t[2] = {
        {.name = wal_topic, .partitions = 1, .replication_factor = 3},
        {.name = prod_topic, .partitions = 3, .replication_factor = 3},
    };
    kw_client_create_topics_args a = {.topics = t, .topic_count = 2, .timeout_ms = 30000};
    kw_client_topics_result r;
    int rc = kw_client_create_topics(c, &a, &r);
    if (rc != 0 && rc != KW_EBROKER)
        die("creating %s and %s: %s: %s", wal_topic, prod_topic, kw_strerror(rc), r.detail);
    for (size_t i = 0; rc == KW_EBROKER && i < r.topic_count; i++)
        if (r.topics[i].kerr != 0 && r.topics[i].kerr != 36)
            die("creating %s: %s", r.topics[i].name, r.topics[i].message);
    kw_client_topics_result_free(&r);
}

/* WAL topic's leader, and the producer topic's partition with that leader (0 when none has). */
static int find_leader(kw_client *c, int32_t *leader, int32_t *partition)
{
    const char *names[2] = {wal_topic, prod_topic};
    kw_client_metadata_args a = {.topics = names, .topic_count = 2, .timeout_ms = 5000};
    kw_client_metadata_result m;
    if (kw_client_metadata(c, &a, &m) != 0) {
        kw_client_metadata_result_free(&m);
        return -1;
    }
    int ok = 0;
    *leader = -1;
    *partition = 0;
    for (size_t i = 0; i < m.topic_count; i++) {
        const kw_client_topic *t = &m.topics[i];
        if (t->kerr != 0 || t->partition_count == 0)
            ok = -1;
        for (size_t p = 0; p < t->partition_count; p++)
            if (t->partitions[p].leader < 0)
                ok = -1;
        if (!strcmp(t->name, wal_topic) && t->partition_count > 0)
            *leader = t->partitions[0].leader;
    }
    for (size_t i = 0; i < m.topic_count; i++) {
        const kw_client_topic *t = &m.topics[i];
        if (strcmp(t->name, prod_topic) != 0)
            continue;
        for (size_t p = 0; p < t->partition_count; p++)
            if (t->partitions[p].leader == *leader)
                *partition = t->partitions[p].id;
    }
    kw_client_metadata_result_free(&m);
    return ok;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"bootstrap", required_argument, NULL, 'b'}, {"wal-topic", required_argument, NULL, 'w'},
        {"topic", required_argument, NULL, 't'},     {"seconds", required_argument, NULL, 's'},
        {"out", required_argument, NULL, 'o'},       {"delivery-timeout-ms", required_argument, NULL, 'd'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'b': bootstrap = optarg; break;
        case 'w': wal_topic = optarg; break;
        case 't': prod_topic = optarg; break;
        case 's': seconds = atoi(optarg); break;
        case 'o': out_dir = optarg; break;
        case 'd': delivery_timeout_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
        default: die("usage: --bootstrap B --wal-topic T --topic P --seconds N --out DIR");
        }
    }
    if (!bootstrap || !wal_topic || !prod_topic || !out_dir || seconds <= 0)
        die("usage: --bootstrap B --wal-topic T --topic P --seconds N --out DIR");

    char path[4096], errbuf[512];
    kw_client_options co = {.bootstrap = bootstrap, .client_id = "kwal-chaos"};
    kw_client *client;
    if (kw_client_new(&client, &co, errbuf, sizeof errbuf) != 0)
        die("client: %s", errbuf);
    make_topics(client);
    int32_t leader = -1;
    int64_t deadline = now_ms() + 30000;
    while (find_leader(client, &leader, &prod_partition) != 0) {
        if (now_ms() > deadline)
            die("%s and %s have no leader for every partition after 30 s", wal_topic, prod_topic);
        sleep_ms(200);
    }

    snprintf(path, sizeof path, "%s/acks", out_dir);
    acks = fopen(path, "w");
    if (!acks)
        die("%s: %s", path, strerror(errno));
    setvbuf(acks, NULL, _IOLBF, 0);

    kw_wal_options wo = {.provider = KW_WAL_PROVIDER_KAFKA, .topic = wal_topic};
    wo.kafka.bootstrap = bootstrap;
    if (kw_wal_open(&wal, &wo, errbuf, sizeof errbuf) != 0)
        die("WAL: %s", errbuf);
    kw_producer_options po = {.idempotence = KW_PRODUCER_IDEMPOTENCE_ON,
                              .delivery_timeout_ms = delivery_timeout_ms};
    if (kw_producer_new(&producer, client, &po, errbuf, sizeof errbuf) != 0)
        die("producer: %s", errbuf);

    snprintf(path, sizeof path, "%s/leader", out_dir);
    FILE *f = fopen(path, "w");
    if (!f)
        die("%s: %s", path, strerror(errno));
    fprintf(f, "%d %d\n", leader, prod_partition);
    fclose(f);
    fprintf(stderr, "kwal-chaos-workload: WAL topic %s led by node %d; producer on %s[%d]\n", wal_topic,
            leader, prod_topic, prod_partition);

    writer w[WRITERS];
    pthread_t th[WRITERS + 1];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (writer){.id = i + 1};
        pthread_mutex_init(&w[i].mu, NULL);
        pthread_cond_init(&w[i].cv, NULL);
        pthread_create(&th[i], NULL, writer_main, &w[i]);
    }
    pthread_create(&th[WRITERS], NULL, producer_main, NULL);
    sleep_ms(seconds * 1000);
    atomic_store(&stopping, true);
    for (int i = 0; i <= WRITERS; i++)
        pthread_join(th[i], NULL);
    /* Every record still out gets its answer: acknowledged, or failed at the delivery timeout. */
    int rc = kw_producer_flush(producer, 180000);
    if (rc != 0)
        fprintf(stderr, "kwal-chaos-workload: producer flush: %s\n", kw_strerror(rc));
    kw_producer_destroy(producer);
    kw_wal_close(wal);
    kw_client_destroy(client);
    for (int i = 0; i < WRITERS; i++) {
        pthread_mutex_destroy(&w[i].mu);
        pthread_cond_destroy(&w[i].cv);
    }
    fclose(acks);
    return 0;
}
