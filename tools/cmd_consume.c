/* `kwal consume`: fetch partitions from a start offset, print records kcat-style (-f). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kwal/batch.h"

/* Bytes asked for per fetch, and the most a compressed batch may inflate to (a "zip bomb" guard).
 */
#define CONSUME_FETCH_BYTES (4 << 20)
#define CONSUME_INFLATE_LIMIT (256u << 20)

static const char consume_help[] =
    "usage: kwal -b BROKERS [-X key=value ...] consume -t TOPIC [-p PARTITION]\n"
    "                 [-o beginning|end|OFFSET|-N] [-e] [-c COUNT] [-f FORMAT]\n"
    "       kwal -b BROKERS [-X key=value ...] consume -G GROUP -t TOPIC [-t TOPIC ...]\n"
    "                 [--topic-regex RE] [-o beginning|end] [-c COUNT] [-f FORMAT]\n"
    "\n"
    "Prints the records of a topic, one value per line.\n"
    "With -G it is a member of consumer group GROUP (kcat's balanced consumer): it\n"
    "prints the records of the partitions the group assigns it, commits what it\n"
    "printed, and leaves the group on SIGINT or SIGTERM (or after -c COUNT).\n"
    "\n"
    "  -t TOPIC       the topic (with -G: a topic to subscribe to, repeatable)\n"
    "  -G GROUP       join consumer group GROUP (cooperative-sticky assignment);\n"
    "                 -o then says where a partition without a committed offset starts\n"
    "  --group-protocol classic|consumer\n"
    "                 with -G: the classic protocol (default) or KIP-848 (the broker assigns)\n"
    "  --topic-regex RE\n"
    "                 with -G and --group-protocol consumer: also every topic whose whole\n"
    "                 name matches RE (RE2/J syntax, matched by the broker, Kafka 4.0+),\n"
    "                 topics created later included; -t is then optional\n"
    "  --group-instance-id ID\n"
    "                 with -G: static membership (no LeaveGroup at exit: the partitions\n"
    "                 wait for the same ID until the session times out)\n"
    "  -p PARTITION   only this partition (default: all of them)\n"
    "  -o OFFSET      where to start: beginning, end (the default), an offset, or -N for\n"
    "                 N records before the end\n"
    "  -e             exit once every partition is read to its end\n"
    "  -c COUNT       exit after COUNT records\n"
    "  -f FORMAT      how to print a record (default \"%s\\n\"):\n"
    "                   %s value   %k key   %o offset   %T timestamp (ms)   %t topic\n"
    "                   %p partition   %S value size   %K key size   %% a percent sign\n"
    "                   \\n newline   \\t tab   \\r carriage return   \\\\ a backslash\n"
    "  -h, --help     this text\n"
    "\n"
    "Exit status: 0 ok, 1 when a fetch fails, 2 for a usage error.\n";

typedef struct consume_opts {
    const char *topic;
    const char *group;           /* -G */
    bool kip848;                 /* --group-protocol consumer */
    const char *instance;        /* --group-instance-id */
    const char *regex;           /* --topic-regex */
    const char *topics[CLI_GROUP_TOPICS_MAX]; /* every -t (with -G) */
    size_t ntopics;
    int32_t partition; /* -1: all */
    enum { START_END, START_BEGINNING, START_OFFSET, START_TAIL } start;
    int64_t start_offset; /* START_OFFSET: the offset; START_TAIL: how many before the end */
    bool exit_at_end;
    int64_t count; /* 0: no limit */
    const char *format;
} consume_opts;

typedef struct part_state {
    int32_t id;
    int64_t next; /* the next offset to fetch */
    bool done;
} part_state;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/*
 * Checks a -f format up front, so a typo is a usage error before anything is
 * fetched.  Returns 0 or -1 with *bad set to the offending sequence.
 */
static int check_format(const char *f, const char **bad)
{
    for (const char *s = f; *s; s++) {
        if (*s == '%' || *s == '\\') {
            const char *ok = *s == '%' ? "skoTtpSK%" : "ntr\\";
            if (!s[1] || !strchr(ok, s[1])) {
                *bad = s;
                return -1;
            }
            s++;
        }
    }
    return 0;
}

static void put_bytes(const uint8_t *p, size_t len, FILE *out)
{
    if (p && len > 0)
        fwrite(p, 1, len, out);
}

/* A key or value size as kcat prints it: -1 for null. */
static int size_of(const uint8_t *p, size_t len)
{
    return p ? (int)len : -1;
}

/* Prints one record through a format check_format accepted. */
void cli_print_record(const char *f, const char *topic, int32_t partition,
                         const kw_batch_record *r, FILE *out)
{
    for (const char *s = f; *s; s++) {
        if (*s == '\\') {
            s++;
            fputc(*s == 'n' ? '\n' : *s == 't' ? '\t' : *s == 'r' ? '\r' : '\\', out);
            continue;
        }
        if (*s != '%') {
            fputc(*s, out);
            continue;
        }
        switch (*++s) {
        case 's':
            put_bytes(r->value, r->value_len, out);
            break;
        case 'k':
            put_bytes(r->key, r->key_len, out);
            break;
        case 'o':
            fprintf(out, "%lld", (long long)r->offset);
            break;
        case 'T':
            fprintf(out, "%lld", (long long)r->timestamp);
            break;
        case 't':
            fputs(topic, out);
            break;
        case 'p':
            fprintf(out, "%d", (int)partition);
            break;
        case 'S':
            fprintf(out, "%d", size_of(r->value, r->value_len));
            break;
        case 'K':
            fprintf(out, "%d", size_of(r->key, r->key_len));
            break;
        default:
            fputc('%', out);
        }
    }
}

static int list_offset(kw_client *c, const char *topic, int32_t part, int spec, int64_t *out)
{
    kw_client_list_offsets_args a = {.topic = topic, .partition = part, .spec = spec};
    kw_client_list_offsets_result r;
    if (kw_client_list_offsets(c, &a, &r) < 0) {
        char why[KW_CLIENT_DETAIL_MAX + 64];
        return cli_fail("list offsets of %s/%d failed: %s", topic, (int)part,
                        cli_errtext(r.err, r.kerr, r.detail, why, sizeof why));
    }
    *out = r.offset;
    return 0;
}

static int start_offset(kw_client *c, const consume_opts *o, part_state *p)
{
    int64_t first = 0, end = 0;
    switch (o->start) {
    case START_OFFSET:
        p->next = o->start_offset;
        return 0;
    case START_BEGINNING:
        return list_offset(c, o->topic, p->id, KW_CLIENT_OFFSET_EARLIEST, &p->next);
    case START_END:
        return list_offset(c, o->topic, p->id, KW_CLIENT_OFFSET_LATEST, &p->next);
    case START_TAIL:
        if (list_offset(c, o->topic, p->id, KW_CLIENT_OFFSET_EARLIEST, &first) ||
            list_offset(c, o->topic, p->id, KW_CLIENT_OFFSET_LATEST, &end))
            return CLI_EXIT_FAIL;
        p->next = end - o->start_offset < first ? first : end - o->start_offset;
        return 0;
    }
    return 0;
}

/*
 * Prints the records of one fetch response from p->next on and moves p->next
 * past them.  Control batches (transaction markers) are stepped over: they
 * are not data.  Returns 0 or the exit code after printing why.
 */
static int print_records(const consume_opts *o, part_state *p, const kw_client_fetch_result *r,
                         kw_batch_reader *rd, int64_t *printed, FILE *out)
{
    kw_batch_info b;
    int rc;
    /* records below p->next are stepped over (CRC checked: the reader's default) */
    kw_batch_reader_set(rd, r->records, r->records_len, p->next);
    while ((rc = kw_batch_reader_next_batch(rd, &b)) == 1) {
        if (b.last_offset + 1 <= p->next)
            continue; /* a fetch may start with a batch that holds older records */
        if (!b.control) {
            kw_batch_record rec;
            int rrc;
            while ((rrc = kw_batch_reader_next_record(rd, &rec)) == 1) {
                cli_print_record(o->format, o->topic, p->id, &rec, out);
                p->next = rec.offset + 1;
                if (o->count && ++*printed >= o->count)
                    return 0;
            }
            if (rrc < 0)
                return cli_fail("consume %s/%d: bad records at offset %lld: %s", o->topic,
                                (int)p->id, (long long)b.base_offset,
                                kw_batch_reader_errstr(rd)[0] ? kw_batch_reader_errstr(rd)
                                                              : kw_strerror(rrc));
        }
        p->next = b.last_offset + 1;
    }
    if (rc < 0)
        return cli_fail("consume %s/%d: bad batch: %s", o->topic, (int)p->id,
                        kw_batch_reader_errstr(rd));
    return 0;
}

static int consume(kw_client *c, const consume_opts *o, part_state *parts, size_t n)
{
    kw_batch_reader *rd;
    kw_batch_reader_options ro = {.max_decompressed_bytes = CONSUME_INFLATE_LIMIT};
    if (kw_batch_reader_new(&rd, &ro) < 0)
        return cli_fail("out of memory");
    int64_t printed = 0;
    size_t active = n;
    int rc = 0;
    /* one partition may wait long on the broker; with several, short waits keep them all moving */
    int32_t wait_ms = n > 1 ? 100 : 500;
    while (active > 0 && !rc && !stop_requested && !(o->count && printed >= o->count)) {
        for (size_t i = 0; i < n && !rc && !stop_requested; i++) {
            part_state *p = &parts[i];
            if (p->done)
                continue;
            kw_client_fetch_args a = {.topic = o->topic,
                                      .partition = p->id,
                                      .offset = p->next,
                                      .max_bytes = CONSUME_FETCH_BYTES,
                                      .max_wait_ms = wait_ms};
            kw_client_fetch_result r = {0};
            if (kw_client_fetch(c, &a, &r) < 0) {
                char why[KW_CLIENT_DETAIL_MAX + 64];
                rc = cli_fail("consume %s/%d at offset %lld failed: %s", o->topic, (int)p->id,
                              (long long)p->next,
                              cli_errtext(r.err, r.kerr, r.detail, why, sizeof why));
                kw_client_fetch_result_free(&r);
                break;
            }
            rc = print_records(o, p, &r, rd, &printed, stdout);
            if (o->exit_at_end && p->next >= r.high_watermark) {
                p->done = true;
                active--;
            }
            kw_client_fetch_result_free(&r);
            if (o->count && printed >= o->count)
                break;
        }
        /* a reader at the other end of a pipe sees each fetch's records as they come */
        if (fflush(stdout) != 0 && !rc)
            rc = cli_fail("consume: write stdout: %s", strerror(errno));
    }
    kw_batch_reader_destroy(rd);
    return rc;
}

static int parse_args(cli_ctx *ctx, int argc, char **argv, consume_opts *o)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {"group-protocol", required_argument, NULL, 'P'},
                                             {"group-instance-id", required_argument, NULL, 'I'},
                                             {"topic-regex", required_argument, NULL, 'R'},
                                             {NULL, 0, NULL, 0}};
    *o = (consume_opts){.partition = -1, .start = START_END, .format = "%s\\n"};
    optind = 0;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":b:X:t:p:o:ec:f:G:h", longopts, NULL)) != -1) {
        int g = cli_global_opt(ctx, opt, optarg);
        if (g < 0)
            return CLI_EXIT_USAGE;
        if (g > 0)
            continue;
        int64_t v;
        const char *bad;
        switch (opt) {
        case 't':
            o->topic = optarg;
            if (o->ntopics == CLI_GROUP_TOPICS_MAX)
                return cli_usage("consume: at most %d topics (-t)", CLI_GROUP_TOPICS_MAX);
            o->topics[o->ntopics++] = optarg;
            break;
        case 'P':
            if (strcmp(optarg, "consumer") != 0 && strcmp(optarg, "classic") != 0)
                return cli_usage("consume: --group-protocol: '%s' is not classic or consumer",
                                 optarg);
            o->kip848 = strcmp(optarg, "consumer") == 0;
            break;
        case 'I':
            if (!*optarg)
                return cli_usage("consume: --group-instance-id must not be empty");
            o->instance = optarg;
            break;
        case 'R':
            if (!*optarg)
                return cli_usage("consume: --topic-regex must not be empty");
            o->regex = optarg;
            break;
        case 'G':
            if (!*optarg)
                return cli_usage("consume: -G: the group id must not be empty");
            o->group = optarg;
            break;
        case 'p':
            if (!cli_parse_int(optarg, 0, INT32_MAX, &v))
                return cli_usage("consume: -p: '%s' is not a partition number", optarg);
            o->partition = (int32_t)v;
            break;
        case 'o':
            if (strcmp(optarg, "beginning") == 0) {
                o->start = START_BEGINNING;
            } else if (strcmp(optarg, "end") == 0) {
                o->start = START_END;
            } else if (cli_parse_int(optarg, 0, INT64_MAX, &v)) {
                o->start = START_OFFSET;
                o->start_offset = v;
            } else if (optarg[0] == '-' && cli_parse_int(optarg + 1, 1, INT64_MAX, &v)) {
                o->start = START_TAIL;
                o->start_offset = v;
            } else {
                return cli_usage("consume: -o: '%s' is not beginning, end, an offset or -N",
                                 optarg);
            }
            break;
        case 'e':
            o->exit_at_end = true;
            break;
        case 'c':
            if (!cli_parse_int(optarg, 1, INT64_MAX, &v))
                return cli_usage("consume: -c: '%s' is not a positive count", optarg);
            o->count = v;
            break;
        case 'f':
            if (check_format(optarg, &bad) < 0)
                return cli_usage("consume: -f: unknown sequence '%.2s' in '%s' (see kwal consume "
                                 "--help)",
                                 bad, optarg);
            o->format = optarg;
            break;
        case 'h':
            fputs(consume_help, stdout);
            return -1;
        default:
            return cli_bad_option("consume", opt, argv);
        }
    }
    if (optind < argc)
        return cli_usage("consume: unexpected argument '%s' (see kwal consume --help)",
                         argv[optind]);
    if (o->regex && (!o->group || !o->kip848))
        return cli_usage("consume: --topic-regex needs -G GROUP and --group-protocol consumer (the "
                         "broker matches it: KIP-848)");
    if (!o->topic && !o->regex)
        return cli_usage("consume: -t TOPIC is required (see kwal consume --help)");
    if (o->group && (o->partition >= 0 || o->exit_at_end || o->start == START_OFFSET ||
                     o->start == START_TAIL))
        return cli_usage("consume: -G takes -t, -o beginning|end, -c and -f only (the group "
                         "assigns partitions)");
    if (!o->group && o->ntopics > 1)
        return cli_usage("consume: several -t need -G GROUP");
    if (!o->group && (o->kip848 || o->instance))
        return cli_usage("consume: --group-protocol and --group-instance-id need -G GROUP");
    return 0;
}

int cli_cmd_consume(cli_ctx *ctx, int argc, char **argv)
{
    consume_opts o;
    int rc = parse_args(ctx, argc, argv, &o);
    if (rc)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (o.group)
        return cli_consume_group(ctx, &(cli_group_args){.group = o.group,
                                                        .topics = o.topics,
                                                        .ntopics = o.ntopics,
                                                        .from_beginning = o.start == START_BEGINNING,
                                                        .count = o.count,
                                                        .format = o.format,
                                                        .kip848 = o.kip848,
                                                        .instance = o.instance,
                                                        .regex = o.regex});
    kw_client *c;
    if ((rc = cli_connect(ctx, &c)))
        return rc;

    kw_client_metadata_result md = {0};
    const kw_client_topic *t;
    if ((rc = cli_topic_metadata(c, o.topic, &md, &t))) {
        kw_client_destroy(c);
        return rc;
    }
    size_t n = o.partition >= 0 ? 1 : t->partition_count;
    if (o.partition >= 0 && (size_t)o.partition >= t->partition_count) {
        rc = cli_fail("consume: topic %s has no partition %d (it has %zu)", o.topic,
                      (int)o.partition, t->partition_count);
        n = 0;
    }
    part_state *parts = calloc(n ? n : 1, sizeof *parts);
    for (size_t i = 0; parts && i < n; i++)
        parts[i].id = o.partition >= 0 ? o.partition : t->partitions[i].id;
    kw_client_metadata_result_free(&md);
    if (!parts) {
        kw_client_destroy(c);
        return cli_fail("out of memory");
    }
    for (size_t i = 0; i < n && !rc; i++)
        rc = start_offset(c, &o, &parts[i]);

    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: stop between fetches */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (!rc && n > 0)
        rc = consume(c, &o, parts, n);
    free(parts);
    kw_client_destroy(c);
    return rc;
}
