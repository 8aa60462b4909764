/* `kwal produce`: stdin lines (or one whole file, -F) as records; 1 MiB / 100 ms batches, several in flight, acks=all. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "kwal/batch.h"

/* A batch goes out when it would pass this size, or this long after its first record. */
#define PRODUCE_BATCH_BYTES (1u << 20)
#define PRODUCE_LINGER_MS 100
/*
 * Produce requests in flight at once.  Without an idempotent producer a
 * retried batch could land after a later one; the client retries only on
 * errors, so in the normal case stdin order is kept, and a failure ends the
 * run with exit 1 anyway.
 */
#define PRODUCE_MAX_IN_FLIGHT 5
/* A line longer than this is refused (the broker's own limit is far lower: ~1 MB by default). */
#define PRODUCE_MAX_LINE (64u << 20)

static const char produce_help[] =
    "usage: kwal -b BROKERS [-X key=value ...] produce -t TOPIC [-p PARTITION] [-z CODEC] [-k "
    "KEY]\n"
    "                 [-F FILE]\n"
    "\n"
    "Produces one record per line of stdin (the newline is not part of the value), with\n"
    "acks=all.  Lines are batched: up to 1 MiB or 100 ms per batch, several batches in flight.\n"
    "A summary goes to stderr: \"produced N records to TOPIC/PARTITION\".\n"
    "\n"
    "  -t TOPIC       the topic (must exist)\n"
    "  -p PARTITION   the partition; default: by key (Kafka's murmur2, as the Java client),\n"
    "                 else a new partition for each batch, in turn\n"
    "  -z CODEC       compression: none (default), lz4, gzip, snappy, zstd\n"
    "  -k KEY         the key of every record (default: no key)\n"
    "  -F FILE        one record whose value is the whole of FILE, newlines and all ('-':\n"
    "                 all of stdin), up to 64 MiB; the topic's max.message.bytes must allow it\n"
    "  -h, --help     this text\n"
    "\n"
    "Exit status: 0 when every record was acknowledged, 1 otherwise, 2 for a usage error.\n";

/* What the command line asked for. */
typedef struct produce_opts {
    const char *topic;
    int32_t partition; /* -1: choose */
    int codec; /* enum kw_compression */
    const char *key;
    const char *file; /* -F: one record, the whole file ("-": stdin) */
} produce_opts;

/* The run's shared state: the I/O thread's callbacks update it under the lock. */
typedef struct producer {
    kw_client *client;
    const produce_opts *opts;
    int32_t partition_count;
    int32_t next_partition; /* keyless round robin, one partition per batch */

    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned in_flight;
    int64_t *acked; /* per partition: records the broker acknowledged */
    int64_t failed; /* records in batches that failed */
    bool failure;   /* the first failure is printed; later batches are not sent */

    kw_batch_writer *w; /* the batch being built; its buffer goes to the client with each batch */
    bool open;
    int32_t batch_partition;
    uint64_t batch_started_ms;
} producer;

/* One produce call in flight. */
typedef struct inflight {
    producer *p;
    int32_t partition;
    int32_t count;
} inflight;

static void on_produced(const kw_client_produce_result *r, void *arg)
{
    inflight *f = arg;
    producer *p = f->p;
    pthread_mutex_lock(&p->lock);
    if (r->err == 0) {
        p->acked[f->partition] += f->count;
    } else {
        p->failed += f->count;
        if (!p->failure) {
            char why[KW_CLIENT_DETAIL_MAX + 64];
            cli_fail("produce to %s/%d failed: %s", p->opts->topic, (int)f->partition,
                     cli_errtext(r->err, r->kerr, r->detail, why, sizeof why));
        }
        p->failure = true;
    }
    p->in_flight--;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    free(f);
}

/*
 * Kafka's default partitioner for keyed records: murmur2 (seed 0x9747b28c)
 * of the key bytes, made positive, modulo the partition count — so a key
 * lands where the Java client would put it.
 */
static int32_t murmur2_partition(const char *key, int32_t n)
{
    const uint32_t m = 0x5bd1e995u;
    const uint8_t *d = (const uint8_t *)key;
    size_t len = strlen(key);
    uint32_t h = 0x9747b28cu ^ (uint32_t)len;
    size_t i = 0;
    for (; i + 4 <= len; i += 4) {
        uint32_t k = (uint32_t)d[i] | (uint32_t)d[i + 1] << 8 | (uint32_t)d[i + 2] << 16 |
                     (uint32_t)d[i + 3] << 24;
        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
    }
    switch (len & 3) {
    case 3:
        h ^= (uint32_t)d[i + 2] << 16;
        /* fallthrough */
    case 2:
        h ^= (uint32_t)d[i + 1] << 8;
        /* fallthrough */
    case 1:
        h ^= d[i];
        h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return (int32_t)((h & 0x7fffffffu) % (uint32_t)n);
}

static int32_t pick_partition(producer *p)
{
    if (p->opts->partition >= 0)
        return p->opts->partition;
    if (p->opts->key)
        return murmur2_partition(p->opts->key, p->partition_count);
    int32_t part = p->next_partition;
    p->next_partition = (part + 1) % p->partition_count;
    return part;
}

static bool has_failed(producer *p)
{
    pthread_mutex_lock(&p->lock);
    bool f = p->failure;
    pthread_mutex_unlock(&p->lock);
    return f;
}

/* Finishes the open batch and hands it to the client; waits while too many are in flight. */
static int send_batch(producer *p)
{
    if (!p->open)
        return 0;
    p->open = false;
    int32_t count = kw_batch_writer_count(p->w);
    const uint8_t *built;
    uint8_t *batch;
    size_t batch_len;
    int rc = kw_batch_writer_finish(p->w, &built, &batch_len);
    if (rc < 0)
        return cli_fail("produce to %s: cannot build a batch: %s", p->opts->topic, kw_strerror(rc));
    kw_batch_writer_take(p->w, &batch, &batch_len); /* finished, so it cannot fail */
    inflight *f = malloc(sizeof *f);
    if (!f) {
        free(batch);
        return cli_fail("out of memory");
    }
    *f = (inflight){p, p->batch_partition, count};

    pthread_mutex_lock(&p->lock);
    while (p->in_flight >= PRODUCE_MAX_IN_FLIGHT)
        pthread_cond_wait(&p->cond, &p->lock);
    bool stop = p->failure;
    if (!stop)
        p->in_flight++;
    pthread_mutex_unlock(&p->lock);
    if (stop) {
        /* an earlier batch failed: the run fails, so do not pile more on the broker */
        free(f);
        free(batch);
        pthread_mutex_lock(&p->lock);
        p->failed += count;
        pthread_mutex_unlock(&p->lock);
        return CLI_EXIT_FAIL;
    }

    kw_client_produce_args a = {
        .topic = p->opts->topic,
        .partition = f->partition,
        .batch = batch,
        .batch_len = batch_len,
        .acks = KW_CLIENT_ACKS_ALL,
        .flags = KW_CLIENT_PRODUCE_TAKE_BATCH, /* the buffer is the client's now, even on error */
    };
    rc = kw_client_produce_async(p->client, &a, on_produced, f);
    if (rc < 0) {
        free(f);
        pthread_mutex_lock(&p->lock);
        p->in_flight--;
        p->failed += count;
        p->failure = true;
        pthread_mutex_unlock(&p->lock);
        return cli_fail("produce to %s/%d failed: %s", p->opts->topic, (int)a.partition,
                        kw_strerror(rc));
    }
    return 0;
}

/* Adds one line as a record, sending the open batch first when the line would overflow it. */
static int add_line(producer *p, const uint8_t *line, size_t len)
{
    const char *key = p->opts->key; /* NULL: a null key */
    size_t key_len = key ? strlen(key) : 0;
    int64_t ts = cli_now_ms();
    if (p->open && kw_batch_writer_size(p->w) + kw_batch_writer_record_size(p->w, ts, key, key_len,
                                                                              line, len, NULL, 0) >
                       PRODUCE_BATCH_BYTES) {
        int rc = send_batch(p);
        if (rc)
            return rc;
    }
    if (!p->open) {
        if (kw_batch_writer_reset(p->w, NULL) < 0)
            return cli_fail("produce: cannot start a batch");
        p->open = true;
        p->batch_partition = pick_partition(p);
        p->batch_started_ms = cli_mono_ms();
    }
    /* line is never NULL (it points into the read buffer): an empty line is an empty value */
    int rc = kw_batch_writer_add(p->w, ts, key, key_len, line, len, NULL, 0);
    if (rc < 0)
        return cli_fail("produce: cannot add a record: %s", kw_strerror(rc));
    return 0;
}

/*
 * Reads stdin in blocks and cuts them into lines itself, rather than with
 * getline, so it can poll with the linger timeout: a slow writer (a person
 * typing) still sees each batch go out within 100 ms.
 */
static int pump_stdin(producer *p)
{
    size_t cap = 1u << 16, len = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return cli_fail("out of memory");
    int rc = 0;
    bool eof = false;
    while (!eof && !rc) {
        int timeout = -1;
        if (p->open) {
            uint64_t age = cli_mono_ms() - p->batch_started_ms;
            timeout = age >= PRODUCE_LINGER_MS ? 0 : (int)(PRODUCE_LINGER_MS - age);
        }
        struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
        int n = poll(&pfd, 1, timeout);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = cli_fail("produce: poll stdin: %s", strerror(errno));
            break;
        }
        if (n == 0) {
            rc = send_batch(p);
            continue;
        }
        if (len == cap) {
            if (cap >= PRODUCE_MAX_LINE) {
                rc = cli_fail("produce: a line is longer than %u bytes", PRODUCE_MAX_LINE);
                break;
            }
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                rc = cli_fail("out of memory");
                break;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t got = read(STDIN_FILENO, buf + len, cap - len);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got < 0) {
            rc = cli_fail("produce: read stdin: %s", strerror(errno));
            break;
        }
        if (got == 0)
            eof = true;
        len += (size_t)got;
        size_t start = 0;
        for (;;) {
            uint8_t *nl = memchr(buf + start, '\n', len - start);
            if (!nl)
                break;
            rc = add_line(p, buf + start, (size_t)(nl - (buf + start)));
            start = (size_t)(nl - buf) + 1;
            if (rc || has_failed(p))
                break;
        }
        if (eof && start < len && !rc) {
            rc = add_line(p, buf + start, len - start); /* a last line without a newline */
            start = len;
        }
        memmove(buf, buf + start, len - start);
        len -= start;
        if (!rc && has_failed(p))
            rc = CLI_EXIT_FAIL;
    }
    free(buf);
    if (!rc)
        rc = send_batch(p);
    else
        p->open = false; /* the writer drops the batch at its next reset */
    return rc;
}

/* -F: the whole file (or stdin) as the value of one record, in a batch of its own. */
static int produce_file(producer *p, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return cli_fail("produce: -F %s: %s", path, strerror(errno));
    size_t cap = 1u << 16, len = 0;
    uint8_t *buf = malloc(cap);
    int rc = buf ? 0 : cli_fail("out of memory");
    while (!rc) {
        if (len == cap) {
            if (cap >= PRODUCE_MAX_LINE) {
                rc = cli_fail("produce: -F %s: the file is larger than %u bytes (the most one "
                              "record from -F may hold)",
                              path, PRODUCE_MAX_LINE);
                break;
            }
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                rc = cli_fail("out of memory");
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f))
                rc = cli_fail("produce: -F %s: %s", path, strerror(errno));
            break;
        }
    }
    if (f != stdin)
        fclose(f);
    if (!rc)
        rc = add_line(p, buf, len);
    if (!rc)
        rc = send_batch(p);
    else
        p->open = false;
    free(buf);
    return rc;
}

static int parse_codec(const char *s, int *out)
{
    static const struct {
        const char *name;
        int codec;
    } codecs[] = {{"none", KW_COMPRESSION_NONE},
                  {"gzip", KW_COMPRESSION_GZIP},
                  {"snappy", KW_COMPRESSION_SNAPPY},
                  {"lz4", KW_COMPRESSION_LZ4},
                  {"zstd", KW_COMPRESSION_ZSTD}};
    for (size_t i = 0; i < sizeof codecs / sizeof *codecs; i++)
        if (strcasecmp(s, codecs[i].name) == 0) {
            *out = codecs[i].codec;
            return 0;
        }
    return -1;
}

static int parse_args(cli_ctx *ctx, int argc, char **argv, produce_opts *o)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    *o = (produce_opts){.partition = -1, .codec = KW_COMPRESSION_NONE};
    optind = 0; /* GNU getopt: start afresh on the command's own argv */
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":b:X:t:p:z:k:F:h", longopts, NULL)) != -1) {
        int g = cli_global_opt(ctx, opt, optarg);
        if (g < 0)
            return CLI_EXIT_USAGE;
        if (g > 0)
            continue;
        int64_t v;
        switch (opt) {
        case 't':
            o->topic = optarg;
            break;
        case 'p':
            if (!cli_parse_int(optarg, 0, INT32_MAX, &v))
                return cli_usage("produce: -p: '%s' is not a partition number", optarg);
            o->partition = (int32_t)v;
            break;
        case 'z':
            if (parse_codec(optarg, &o->codec) < 0)
                return cli_usage("produce: -z: '%s' is not one of none, lz4, gzip, snappy, zstd",
                                 optarg);
            break;
        case 'k':
            o->key = optarg;
            break;
        case 'F':
            o->file = optarg;
            break;
        case 'h':
            fputs(produce_help, stdout);
            return -1;
        default:
            return cli_bad_option("produce", opt, argv);
        }
    }
    if (optind < argc)
        return cli_usage("produce: unexpected argument '%s' (see kwal produce --help)",
                         argv[optind]);
    if (!o->topic)
        return cli_usage("produce: -t TOPIC is required (see kwal produce --help)");
    return 0;
}

int cli_cmd_produce(cli_ctx *ctx, int argc, char **argv)
{
    produce_opts o;
    int rc = parse_args(ctx, argc, argv, &o);
    if (rc)
        return rc < 0 ? CLI_EXIT_OK : rc;
    kw_client *c;
    if ((rc = cli_connect(ctx, &c)))
        return rc;

    kw_client_metadata_result md = {0};
    const kw_client_topic *t;
    if ((rc = cli_topic_metadata(c, o.topic, &md, &t))) {
        kw_client_destroy(c);
        return rc;
    }
    int32_t nparts = (int32_t)t->partition_count;
    kw_client_metadata_result_free(&md);
    if (nparts <= 0 || o.partition >= nparts) {
        kw_client_destroy(c);
        return cli_fail("produce: topic %s has no partition %d (it has %d)", o.topic,
                        (int)o.partition, (int)nparts);
    }

    producer p = {.client = c, .opts = &o, .partition_count = nparts};
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.cond, NULL);
    p.acked = calloc((size_t)nparts, sizeof *p.acked);
    kw_batch_writer_options wo = {.compression = o.codec}; /* parse_args checked the codec */
    if (!p.acked || kw_batch_writer_new(&p.w, &wo, NULL, 0) < 0) {
        free(p.acked);
        kw_client_destroy(c);
        return cli_fail("out of memory");
    }

    rc = o.file ? produce_file(&p, o.file) : pump_stdin(&p);

    /* every accepted batch gets its callback: wait for all, so the summary is the truth */
    pthread_mutex_lock(&p.lock);
    while (p.in_flight > 0)
        pthread_cond_wait(&p.cond, &p.lock);
    pthread_mutex_unlock(&p.lock);
    kw_client_destroy(c);

    int64_t total = 0;
    for (int32_t i = 0; i < nparts; i++) {
        total += p.acked[i];
        if (p.acked[i] > 0 || (i == o.partition && !p.failure && !p.failed))
            fprintf(stderr, "produced %lld records to %s/%d\n", (long long)p.acked[i], o.topic,
                    (int)i);
    }
    if (total == 0 && o.partition < 0 && !p.failure && !rc)
        fprintf(stderr, "produced 0 records to %s\n", o.topic);
    if (p.failed > 0)
        cli_fail("%lld records were not acknowledged", (long long)p.failed);
    if (!rc && p.failure)
        rc = CLI_EXIT_FAIL;
    free(p.acked);
    kw_batch_writer_destroy(p.w);
    pthread_cond_destroy(&p.cond);
    pthread_mutex_destroy(&p.lock);
    return rc;
}
