/* `kwal offsets -G GROUP`: a consumer group's committed offsets, end offsets and lag, and --commit to set them. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kwal/error.h"

/* --commit arguments one command takes. */
#define GROUP_OFFSETS_MAX_COMMITS 1024

static const char group_offsets_help[] =
    "usage: kwal -b BROKERS [-X key=value ...] offsets -t TOPIC -G GROUP [-p PARTITION]\n"
    "                 [--convention kafka|mimir]\n"
    "       kwal -b BROKERS [-X key=value ...] offsets -t TOPIC -G GROUP\n"
    "                 --commit PARTITION:OFFSET [--commit PARTITION:OFFSET ...]\n"
    "\n"
    "Without -G: one line per partition, \"PARTITION START END\" (the log start offset and the\n"
    "high watermark, the offset the next record will get).\n"
    "\n"
    "With -G: the group's committed offset, the end offset (high watermark) and the lag of each\n"
    "partition, after two header lines starting with '#':\n"
    "    # group GROUP topic TOPIC: COMMITTED is <convention>; LAG = <formula>\n"
    "    # PARTITION COMMITTED END LAG\n"
    "    0 120 130 10\n"
    "A partition the group has no offset for shows '-' as COMMITTED and LAG.\n"
    "\n"
    "Kafka stores whatever offset is committed; what it means is the committer's convention:\n"
    "  kafka (default)  COMMITTED is the next offset to read (the Java consumer's and Kafka's\n"
    "                   own tools' convention): LAG = END - COMMITTED\n"
    "  mimir            COMMITTED is the last offset consumed (Grafana Mimir's convention; a\n"
    "                   reader resumes at COMMITTED + 1): LAG = END - COMMITTED - 1\n"
    "\n"
    "--commit stores OFFSET as given for PARTITION (no membership: generation -1, no member\n"
    "id), so give the next offset to read with the kafka convention, the last one consumed\n"
    "with mimir's.  Kafka accepts it only while the group has no active members.\n"
    "\n"
    "  -t TOPIC                  the topic\n"
    "  -G, --group GROUP         the consumer group\n"
    "  -p PARTITION              only this partition\n"
    "  --convention kafka|mimir  what COMMITTED means (see above)\n"
    "  --commit PARTITION:OFFSET set the group's committed offset of PARTITION (repeatable)\n"
    "  -h, --help                this text\n"
    "\n"
    "Exit status: 0 ok, 1 when Kafka refuses or a topic or partition does not exist, 2 for a\n"
    "usage error.\n";

typedef struct group_offsets_opts {
    const char *topic;
    const char *group;
    int32_t partition; /* -p; -1 all */
    bool mimir;        /* --convention mimir */
    kw_client_committed commits[GROUP_OFFSETS_MAX_COMMITS];
    const char *commit_args[GROUP_OFFSETS_MAX_COMMITS]; /* as given, for error messages */
    size_t commit_count;
} group_offsets_opts;

enum { OPT_COMMIT = 256, OPT_CONVENTION };

bool cli_is_group_offsets_arg(const char *arg)
{
    return strncmp(arg, "-G", 2) == 0 || strncmp(arg, "--group", 7) == 0 ||
           strncmp(arg, "--commit", 8) == 0 || strncmp(arg, "--convention", 12) == 0;
}

/* Parses "PARTITION:OFFSET" into c; a usage error naming the argument when it is not one. */
static int parse_commit(const char *arg, kw_client_committed *c)
{
    const char *colon = strchr(arg, ':');
    if (!colon || colon == arg || !colon[1])
        return cli_usage("offsets: --commit: '%s' is not PARTITION:OFFSET", arg);
    char part[32];
    size_t plen = (size_t)(colon - arg);
    int64_t p, off;
    if (plen >= sizeof part)
        return cli_usage("offsets: --commit %s: '%.*s' is not a partition number", arg, (int)plen,
                         arg);
    memcpy(part, arg, plen);
    part[plen] = '\0';
    if (!cli_parse_int(part, 0, INT32_MAX, &p))
        return cli_usage("offsets: --commit %s: '%s' is not a partition number", arg, part);
    if (colon[1] == '-' && cli_parse_int(colon + 1, INT64_MIN, -1, &off))
        return cli_usage("offsets: --commit %s: the offset is negative", arg);
    if (!cli_parse_int(colon + 1, 0, INT64_MAX, &off))
        return cli_usage("offsets: --commit %s: '%s' is not an offset", arg, colon + 1);
    *c = (kw_client_committed){.partition = (int32_t)p, .offset = off, .leader_epoch = -1};
    return 0;
}

static int parse_args(cli_ctx *ctx, int argc, char **argv, group_offsets_opts *o)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"group", required_argument, NULL, 'G'},
        {"commit", required_argument, NULL, OPT_COMMIT},
        {"convention", required_argument, NULL, OPT_CONVENTION},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->partition = -1;
    optind = 0;
    opterr = 0;
    int opt;
    int64_t v;
    while ((opt = getopt_long(argc, argv, ":b:X:t:p:G:h", longopts, NULL)) != -1) {
        int g = cli_global_opt(ctx, opt, optarg);
        if (g < 0)
            return CLI_EXIT_USAGE;
        if (g > 0)
            continue;
        switch (opt) {
        case 'h':
            fputs(group_offsets_help, stdout);
            return -1;
        case 't':
            if (o->topic)
                return cli_usage("offsets: one -t TOPIC at a time");
            if (!optarg[0])
                return cli_usage("offsets: -t: the topic name is empty");
            o->topic = optarg;
            break;
        case 'G':
            if (!optarg[0])
                return cli_usage("offsets: -G: the group name is empty");
            o->group = optarg;
            break;
        case 'p':
            if (!cli_parse_int(optarg, 0, INT32_MAX, &v))
                return cli_usage("offsets: -p: '%s' is not a partition number", optarg);
            o->partition = (int32_t)v;
            break;
        case OPT_CONVENTION:
            if (strcmp(optarg, "kafka") && strcmp(optarg, "mimir"))
                return cli_usage("offsets: --convention: '%s' is not kafka or mimir", optarg);
            o->mimir = strcmp(optarg, "mimir") == 0;
            break;
        case OPT_COMMIT: {
            if (o->commit_count == GROUP_OFFSETS_MAX_COMMITS)
                return cli_usage("offsets: at most %d --commit at once",
                                 GROUP_OFFSETS_MAX_COMMITS);
            kw_client_committed *c = &o->commits[o->commit_count];
            int rc = parse_commit(optarg, c);
            if (rc)
                return rc;
            for (size_t i = 0; i < o->commit_count; i++)
                if (o->commits[i].partition == c->partition)
                    return cli_usage("offsets: --commit %s: partition %d is given twice", optarg,
                                     (int)c->partition);
            o->commit_args[o->commit_count++] = optarg;
            break;
        }
        default:
            return cli_bad_option("offsets", opt, argv);
        }
    }
    if (optind < argc)
        return cli_usage("offsets: unexpected argument '%s' (see kwal offsets --help)",
                         argv[optind]);
    if (!o->topic)
        return cli_usage("offsets: one -t TOPIC is required (see kwal offsets --help)");
    if (!o->group)
        return cli_usage("offsets: --commit and --convention need -G GROUP");
    if (o->commit_count && o->partition >= 0)
        return cli_usage("offsets: -p does not apply to --commit (it names its partitions)");
    for (size_t i = 0; i < o->commit_count; i++)
        o->commits[i].topic = o->topic;
    return 0;
}

int cli_end_offset(kw_client *c, const char *topic, int32_t partition, int64_t *end)
{
    kw_client_list_offsets_args a = {.topic = topic,
                                     .partition = partition,
                                     .spec = KW_CLIENT_OFFSET_LATEST};
    kw_client_list_offsets_result r;
    if (kw_client_list_offsets(c, &a, &r) < 0) {
        char why[KW_CLIENT_DETAIL_MAX + 64];
        return cli_fail("end offset of %s/%d failed: %s", topic, (int)partition,
                        cli_errtext(r.err, r.kerr, r.detail, why, sizeof why));
    }
    *end = r.offset;
    return CLI_EXIT_OK;
}

int64_t cli_lag(int64_t committed, int64_t end, bool mimir)
{
    if (committed < 0 || end < 0)
        return -1;
    int64_t next = mimir ? committed + 1 : committed;
    return end > next ? end - next : 0;
}

const char *cli_group_error_hint(int16_t kerr)
{
    switch (kerr) {
    case KW_KERR_UNKNOWN_MEMBER_ID:
    case KW_KERR_ILLEGAL_GENERATION:
    case KW_KERR_REBALANCE_IN_PROGRESS:
    case KW_KERR_STALE_MEMBER_EPOCH:
        return " (the group has active members: offsets can be set without membership only "
               "while it is empty)";
    case KW_KERR_GROUP_ID_NOT_FOUND:
        return " (no such group)";
    default:
        return "";
    }
}

/* Sets the --commit offsets after checking each partition exists. */
static int commit(kw_client *c, const group_offsets_opts *o, const kw_client_topic *t)
{
    for (size_t i = 0; i < o->commit_count; i++)
        if ((size_t)o->commits[i].partition >= t->partition_count)
            return cli_fail("offsets: --commit %s: topic %s has no partition %d (it has %zu)",
                            o->commit_args[i], o->topic, (int)o->commits[i].partition,
                            t->partition_count);
    for (size_t i = 0; i < o->commit_count; i++) {
        int64_t end = -1;
        if (cli_end_offset(c, o->topic, o->commits[i].partition, &end))
            return CLI_EXIT_FAIL;
        if (o->commits[i].offset > end)
            fprintf(stderr, "kwal: warning: --commit %s is past the end of %s/%d (%" PRId64 ")\n",
                    o->commit_args[i], o->topic, (int)o->commits[i].partition, end);
    }
    kw_client_offset_commit_args a = {.group = o->group,
                                      .offsets = o->commits,
                                      .count = o->commit_count};
    kw_client_offsets_result r = {0};
    kw_client_offset_commit(c, &a, &r);
    char why[KW_CLIENT_DETAIL_MAX + 64];
    int rc = CLI_EXIT_OK;
    if (r.err && !r.offsets)
        rc = cli_fail("offsets: commit to group %s failed: %s%s", o->group,
                      cli_errtext(r.err, r.kerr, r.detail, why, sizeof why),
                      cli_group_error_hint(r.kerr));
    for (size_t i = 0; i < r.count; i++) {
        const kw_client_committed *p = &r.offsets[i];
        if (p->kerr)
            rc = cli_fail("offsets: commit of %s/%d to group %s failed: %s%s", o->topic,
                          (int)p->partition, o->group,
                          cli_errtext(KW_EBROKER, p->kerr, NULL, why, sizeof why),
                          cli_group_error_hint(p->kerr));
        else
            fprintf(stderr, "committed %s/%d offset %" PRId64 " for group %s\n", o->topic,
                    (int)p->partition, p->offset, o->group);
    }
    kw_client_offsets_result_free(&r);
    return rc;
}

void cli_print_lag_header(const char *group, const char *topic, bool mimir)
{
    if (topic)
        printf("# group %s topic %s: ", group, topic);
    else
        printf("# group %s: ", group);
    if (mimir)
        printf("COMMITTED is the last offset consumed (mimir); LAG = END - COMMITTED - 1\n");
    else
        printf("COMMITTED is the next offset to read (kafka); LAG = END - COMMITTED\n");
}

/* One line: "PARTITION COMMITTED END LAG", '-' for no committed offset. */
void cli_print_lag_row(const char *prefix, int32_t partition, int64_t committed, int64_t end,
                       bool mimir)
{
    if (committed < 0)
        printf("%s%d - %" PRId64 " -\n", prefix, (int)partition, end);
    else
        printf("%s%d %" PRId64 " %" PRId64 " %" PRId64 "\n", prefix, (int)partition, committed,
               end, cli_lag(committed, end, mimir));
}

/* Prints committed, end and lag of the topic's partitions (or -p's). */
static int show(kw_client *c, const group_offsets_opts *o, const kw_client_topic *t)
{
    if (o->partition >= 0 && (size_t)o->partition >= t->partition_count)
        return cli_fail("offsets: -p %d: topic %s has no partition %d (it has %zu)",
                        (int)o->partition, o->topic, (int)o->partition, t->partition_count);
    size_t n = o->partition >= 0 ? 1 : t->partition_count;
    kw_client_committed *want = calloc(n ? n : 1, sizeof *want);
    if (!want)
        return cli_fail("out of memory");
    for (size_t i = 0; i < n; i++)
        want[i] = (kw_client_committed){
            .topic = o->topic,
            .partition = o->partition >= 0 ? o->partition : t->partitions[i].id};
    kw_client_offset_fetch_args a = {.group = o->group, .partitions = want, .count = n};
    kw_client_offsets_result r = {0};
    char why[KW_CLIENT_DETAIL_MAX + 64];
    int rc = CLI_EXIT_OK;
    if (kw_client_offset_fetch(c, &a, &r) < 0)
        rc = cli_fail("offsets: reading group %s failed: %s%s", o->group,
                      cli_errtext(r.err, r.kerr, r.detail, why, sizeof why),
                      cli_group_error_hint(r.kerr));
    if (!rc) {
        cli_print_lag_header(o->group, o->topic, o->mimir);
        printf("# PARTITION COMMITTED END LAG\n");
    }
    for (size_t i = 0; i < n && !rc; i++) {
        int64_t committed = -1, end;
        for (size_t j = 0; j < r.count; j++)
            if (r.offsets[j].partition == want[i].partition)
                committed = r.offsets[j].offset;
        if ((rc = cli_end_offset(c, o->topic, want[i].partition, &end)))
            break;
        cli_print_lag_row("", want[i].partition, committed, end, o->mimir);
    }
    kw_client_offsets_result_free(&r);
    free(want);
    return rc;
}

int cli_cmd_group_offsets(cli_ctx *ctx, int argc, char **argv)
{
    group_offsets_opts *o = malloc(sizeof *o); /* the --commit array is large for the stack */
    if (!o)
        return cli_fail("out of memory");
    int rc = parse_args(ctx, argc, argv, o);
    if (rc) {
        free(o);
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    kw_client *c;
    if ((rc = cli_connect(ctx, &c))) {
        free(o);
        return rc;
    }
    kw_client_metadata_result md = {0};
    const kw_client_topic *t;
    if (!(rc = cli_topic_metadata(c, o->topic, &md, &t))) {
        rc = o->commit_count ? commit(c, o, t) : show(c, o, t);
        kw_client_metadata_result_free(&md);
    }
    kw_client_destroy(c);
    free(o);
    return rc;
}
