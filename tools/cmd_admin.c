/* `kwal topics list|create|delete|describe` and `kwal offsets`: the admin side of the tool. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kwal/error.h"

/* Topics one create or delete command takes (-t repeated), and topic configs one create sets. */
#define ADMIN_MAX_TOPICS 64
#define ADMIN_MAX_CONFIGS 64

static const char topics_help[] =
    "usage: kwal -b BROKERS [-X key=value ...] topics SUBCOMMAND [options]\n"
    "\n"
    "  list [--all]                       topic names, one per line (--all: internal ones too)\n"
    "  create -t NAME [--partitions N] [--replication R] [--config key=value ...]\n"
    "                                     create a topic (defaults: the broker's)\n"
    "  delete -t NAME [-t NAME ...]       delete topics\n"
    "  describe -t NAME [--all-configs]   partitions, leaders, replicas, ISR, and the configs set\n"
    "                                     on the topic (--all-configs: every config, with its "
    "source)\n"
    "\n"
    "`kwal topics SUBCOMMAND --help` shows the same.  Exit status: 0 ok, 1 when Kafka\n"
    "refuses, 2 for a usage error.\n";

static const char offsets_help[] =
    "usage: kwal -b BROKERS [-X key=value ...] offsets -t TOPIC [-p PARTITION]\n"
    "       kwal -b BROKERS [-X key=value ...] offsets -t TOPIC -G GROUP [--commit P:OFFSET ...]\n"
    "\n"
    "Prints one line per partition: \"PARTITION START END\" (the log start offset and the\n"
    "high watermark, the offset the next record will get).\n"
    "\n"
    "  -t TOPIC       the topic\n"
    "  -p PARTITION   only this partition\n"
    "  -G GROUP       a consumer group's committed offsets and lag instead (`kwal offsets -G g\n"
    "                 --help` says more), or with --commit PARTITION:OFFSET, set them\n"
    "  -h, --help     this text\n";

/* What the topics subcommands and offsets read from their command line. */
typedef struct admin_opts {
    const char *names[ADMIN_MAX_TOPICS];
    size_t name_count;
    int64_t partitions;  /* 0: broker default */
    int64_t replication; /* 0: broker default */
    kw_client_config_entry configs[ADMIN_MAX_CONFIGS];
    size_t config_count;
    bool all;          /* list --all, describe --all-configs */
    int32_t partition; /* offsets -p; -1 all */
} admin_opts;

enum { OPT_PARTITIONS = 256, OPT_REPLICATION, OPT_CONFIG, OPT_ALL, OPT_ALL_CONFIGS };

/*
 * One parser for every admin subcommand; `allowed` lists the options the
 * subcommand takes (as option values), so `topics list --partitions 3` is a
 * usage error rather than silently ignored.
 */
static int parse_args(cli_ctx *ctx, const char *cmd, const char *help, int argc, char **argv,
                      const int *allowed, admin_opts *o)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"partitions", required_argument, NULL, OPT_PARTITIONS},
        {"replication", required_argument, NULL, OPT_REPLICATION},
        {"replication-factor", required_argument, NULL, OPT_REPLICATION},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"all", no_argument, NULL, OPT_ALL},
        {"all-configs", no_argument, NULL, OPT_ALL_CONFIGS},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->partition = -1;
    optind = 0;
    opterr = 0;
    int opt, li = -1;
    while ((opt = getopt_long(argc, argv, ":b:X:t:p:h", longopts, &li)) != -1) {
        int g = cli_global_opt(ctx, opt, optarg);
        if (g < 0)
            return CLI_EXIT_USAGE;
        if (g > 0)
            continue;
        if (opt == 'h') {
            fputs(help, stdout);
            return -1;
        }
        bool ok = false;
        for (const int *a = allowed; *a && opt != '?' && opt != ':'; a++)
            ok |= *a == opt;
        if (!ok) {
            if (opt == '?' || opt == ':')
                return cli_bad_option(cmd, opt, argv);
            char name[40];
            if (opt < 256)
                snprintf(name, sizeof name, "-%c", opt);
            else
                snprintf(name, sizeof name, "--%s", longopts[li].name);
            return cli_usage("%s: option '%s' does not apply here (see kwal %s --help)", cmd, name,
                             cmd);
        }
        int64_t v;
        char *eq;
        switch (opt) {
        case 't':
            if (o->name_count == ADMIN_MAX_TOPICS)
                return cli_usage("%s: at most %d topics at once", cmd, ADMIN_MAX_TOPICS);
            if (!optarg[0])
                return cli_usage("%s: -t: the topic name is empty", cmd);
            o->names[o->name_count++] = optarg;
            break;
        case 'p':
            if (!cli_parse_int(optarg, 0, INT32_MAX, &v))
                return cli_usage("%s: -p: '%s' is not a partition number", cmd, optarg);
            o->partition = (int32_t)v;
            break;
        case OPT_PARTITIONS:
            if (!cli_parse_int(optarg, 1, INT32_MAX, &o->partitions))
                return cli_usage("%s: --partitions: '%s' is not a positive number", cmd, optarg);
            break;
        case OPT_REPLICATION:
            if (!cli_parse_int(optarg, 1, INT16_MAX, &o->replication))
                return cli_usage("%s: --replication: '%s' is not a number from 1 to %d", cmd,
                                 optarg, INT16_MAX);
            break;
        case OPT_CONFIG:
            eq = strchr(optarg, '=');
            if (!eq || eq == optarg)
                return cli_usage("%s: --config: '%s' is not key=value", cmd, optarg);
            if (o->config_count == ADMIN_MAX_CONFIGS)
                return cli_usage("%s: at most %d --config", cmd, ADMIN_MAX_CONFIGS);
            *eq = '\0'; /* argv is ours to cut: the name ends at '=' */
            o->configs[o->config_count++] = (kw_client_config_entry){optarg, eq + 1};
            break;
        case OPT_ALL:
        case OPT_ALL_CONFIGS:
            o->all = true;
            break;
        }
    }
    if (optind < argc)
        return cli_usage("%s: unexpected argument '%s' (see kwal %s --help)", cmd, argv[optind],
                         cmd);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int topics_list(kw_client *c, const admin_opts *o)
{
    kw_client_metadata_args a = {0};
    kw_client_metadata_result r = {0};
    char why[KW_CLIENT_DETAIL_MAX + 64];
    if (kw_client_metadata(c, &a, &r) < 0) {
        int rc = cli_fail("topics list failed: %s",
                          cli_errtext(r.err, r.kerr, r.detail, why, sizeof why));
        kw_client_metadata_result_free(&r);
        return rc;
    }
    const char **names = calloc(r.topic_count ? r.topic_count : 1, sizeof *names);
    if (!names) {
        kw_client_metadata_result_free(&r);
        return cli_fail("out of memory");
    }
    size_t n = 0;
    for (size_t i = 0; i < r.topic_count; i++)
        if (o->all || !r.topics[i].is_internal)
            names[n++] = r.topics[i].name;
    qsort(names, n, sizeof *names, cmp_str); /* brokers answer in no particular order */
    for (size_t i = 0; i < n; i++)
        puts(names[i]);
    free(names);
    kw_client_metadata_result_free(&r);
    return CLI_EXIT_OK;
}

/* Prints every failed topic of a create/delete; returns the exit code. */
static int report_topics(const char *what, const char *done, kw_client_topics_result *r)
{
    char why[KW_CLIENT_DETAIL_MAX + 64];
    int rc = CLI_EXIT_OK;
    if (r->err && !r->topics)
        rc = cli_fail("%s failed: %s", what,
                      cli_errtext(r->err, r->kerr, r->detail, why, sizeof why));
    for (size_t i = 0; i < r->topic_count; i++) {
        const kw_client_topic_outcome *t = &r->topics[i];
        if (t->kerr) {
            rc = cli_fail("%s %s failed: %s", what, t->name,
                          cli_errtext(KW_EBROKER, t->kerr, t->message, why, sizeof why));
        } else {
            fprintf(stderr, "%s topic %s\n", done, t->name);
        }
    }
    kw_client_topics_result_free(r);
    return rc;
}

static int topics_create(kw_client *c, const admin_opts *o)
{
    kw_client_new_topic t = {
        .name = o->names[0],
        .partitions = (int32_t)o->partitions,
        .replication_factor = (int16_t)o->replication,
        .configs = o->configs,
        .config_count = o->config_count,
    };
    kw_client_create_topics_args a = {.topics = &t, .topic_count = 1};
    kw_client_topics_result r = {0};
    kw_client_create_topics(c, &a, &r);
    return report_topics("topics create", "created", &r);
}

static int topics_delete(kw_client *c, const admin_opts *o)
{
    kw_client_delete_topics_args a = {.names = o->names, .name_count = o->name_count};
    kw_client_topics_result r = {0};
    kw_client_delete_topics(c, &a, &r);
    return report_topics("topics delete", "deleted", &r);
}

static void print_ids(const char *label, const int32_t *ids, size_t n)
{
    printf("  %s ", label);
    for (size_t i = 0; i < n; i++)
        printf("%s%d", i ? "," : "", (int)ids[i]);
}

static const char *source_name(int s)
{
    static const char *const names[] = {"unknown",         "topic",          "dynamic broker",
                                        "dynamic default", "static broker",  "default",
                                        "dynamic logger",  "client metrics", "group"};
    return s >= 0 && s < (int)(sizeof names / sizeof *names) ? names[s] : "unknown";
}

static int topics_describe(kw_client *c, const admin_opts *o)
{
    const char *name = o->names[0];
    kw_client_metadata_result md = {0};
    const kw_client_topic *t;
    int rc = cli_topic_metadata(c, name, &md, &t);
    if (rc)
        return rc;
    size_t rf = t->partition_count ? t->partitions[0].replica_count : 0;
    printf("topic %s  partitions %zu  replication %zu%s\n", name, t->partition_count, rf,
           t->is_internal ? "  internal" : "");
    for (size_t i = 0; i < t->partition_count; i++) {
        const kw_client_partition *p = &t->partitions[i];
        printf("  partition %d  leader %d", (int)p->id, (int)p->leader);
        print_ids("replicas", p->replicas, p->replica_count);
        print_ids("isr", p->isr, p->isr_count);
        if (p->kerr)
            printf("  error %s", kw_kerr_name(p->kerr));
        putchar('\n');
    }
    kw_client_metadata_result_free(&md);

    kw_client_describe_configs_args a = {.resource = KW_CLIENT_RESOURCE_TOPIC, .name = name};
    kw_client_describe_configs_result r = {0};
    if (kw_client_describe_configs(c, &a, &r) < 0) {
        char why[KW_CLIENT_DETAIL_MAX + 64];
        rc = cli_fail("describe configs of %s failed: %s", name,
                      cli_errtext(r.err, r.kerr, r.detail, why, sizeof why));
        kw_client_describe_configs_result_free(&r);
        return rc;
    }
    printf("configs%s:\n", o->all ? "" : " (set on the topic)");
    for (size_t i = 0; i < r.config_count; i++) {
        const kw_client_config *cf = &r.configs[i];
        if (!o->all && cf->source != KW_CLIENT_CONFIG_TOPIC)
            continue;
        const char *v = cf->is_sensitive ? "(sensitive)" : cf->value ? cf->value : "(null)";
        if (o->all)
            printf("  %s=%s  (%s)\n", cf->name, v, source_name(cf->source));
        else
            printf("  %s=%s\n", cf->name, v);
    }
    kw_client_describe_configs_result_free(&r);
    return CLI_EXIT_OK;
}

int cli_cmd_topics(cli_ctx *ctx, int argc, char **argv)
{
    static const int list_opts[] = {OPT_ALL, 0};
    static const int create_opts[] = {'t', OPT_PARTITIONS, OPT_REPLICATION, OPT_CONFIG, 0};
    static const int delete_opts[] = {'t', 0};
    static const int describe_opts[] = {'t', OPT_ALL_CONFIGS, 0};
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        if (argc >= 2) {
            fputs(topics_help, stdout);
            return CLI_EXIT_OK;
        }
        return cli_usage("topics: say list, create, delete or describe (see kwal topics --help)");
    }
    const char *sub = argv[1];
    const int *allowed;
    const char *cmd;
    int (*run)(kw_client *, const admin_opts *);
    if (strcmp(sub, "list") == 0) {
        allowed = list_opts, cmd = "topics list", run = topics_list;
    } else if (strcmp(sub, "create") == 0) {
        allowed = create_opts, cmd = "topics create", run = topics_create;
    } else if (strcmp(sub, "delete") == 0) {
        allowed = delete_opts, cmd = "topics delete", run = topics_delete;
    } else if (strcmp(sub, "describe") == 0) {
        allowed = describe_opts, cmd = "topics describe", run = topics_describe;
    } else {
        return cli_usage("topics: unknown subcommand '%s' (list, create, delete, describe)", sub);
    }
    admin_opts o;
    int rc = parse_args(ctx, cmd, topics_help, argc - 1, argv + 1, allowed, &o);
    if (rc)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (run != topics_list && o.name_count == 0)
        return cli_usage("%s: -t NAME is required (see kwal topics --help)", cmd);
    if ((run == topics_create || run == topics_describe) && o.name_count > 1)
        return cli_usage("%s: one -t NAME at a time", cmd);
    kw_client *c;
    if ((rc = cli_connect(ctx, &c)))
        return rc;
    rc = run(c, &o);
    kw_client_destroy(c);
    return rc;
}

int cli_cmd_offsets(cli_ctx *ctx, int argc, char **argv)
{
    static const int allowed[] = {'t', 'p', 0};
    for (int i = 1; i < argc; i++) /* the group form has options of its own */
        if (cli_is_group_offsets_arg(argv[i]))
            return cli_cmd_group_offsets(ctx, argc, argv);
    admin_opts o;
    int rc = parse_args(ctx, "offsets", offsets_help, argc, argv, allowed, &o);
    if (rc)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (o.name_count != 1)
        return cli_usage("offsets: one -t TOPIC is required (see kwal offsets --help)");
    kw_client *c;
    if ((rc = cli_connect(ctx, &c)))
        return rc;
    const char *topic = o.names[0];
    kw_client_metadata_result md = {0};
    const kw_client_topic *t;
    if ((rc = cli_topic_metadata(c, topic, &md, &t))) {
        kw_client_destroy(c);
        return rc;
    }
    if (o.partition >= 0 && (size_t)o.partition >= t->partition_count)
        rc = cli_fail("offsets: topic %s has no partition %d (it has %zu)", topic, (int)o.partition,
                      t->partition_count);
    for (size_t i = 0; i < t->partition_count && !rc; i++) {
        int32_t part = t->partitions[i].id;
        if (o.partition >= 0 && part != o.partition)
            continue;
        int64_t ends[2];
        static const int specs[2] = {KW_CLIENT_OFFSET_EARLIEST, KW_CLIENT_OFFSET_LATEST};
        for (int k = 0; k < 2 && !rc; k++) {
            kw_client_list_offsets_args a = {.topic = topic, .partition = part, .spec = specs[k]};
            kw_client_list_offsets_result r;
            if (kw_client_list_offsets(c, &a, &r) < 0) {
                char why[KW_CLIENT_DETAIL_MAX + 64];
                rc = cli_fail("offsets of %s/%d failed: %s", topic, (int)part,
                              cli_errtext(r.err, r.kerr, r.detail, why, sizeof why));
            }
            ends[k] = r.offset;
        }
        if (!rc)
            printf("%d %lld %lld\n", (int)part, (long long)ends[0], (long long)ends[1]);
    }
    kw_client_metadata_result_free(&md);
    kw_client_destroy(c);
    return rc;
}
