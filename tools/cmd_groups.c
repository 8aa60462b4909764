/* `kwal groups list|describe`: consumer groups, their members and assignments, committed offsets and lag. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kwal/error.h"

#define GROUPS_MAX_FILTERS 16

static const char groups_help[] =
    "usage: kwal -b BROKERS [-X key=value ...] groups SUBCOMMAND [options]\n"
    "\n"
    "  list [--state STATE ...] [--type TYPE ...]\n"
    "        one line per group: \"GROUP STATE TYPE PROTOCOL-TYPE\" ('-' when the broker does not\n"
    "        say), sorted; every broker is asked for the groups it coordinates.  --state: only\n"
    "        groups in this state (Stable, Empty, PreparingRebalance, CompletingRebalance, Dead);\n"
    "        --type: only groups of this type (classic, consumer)\n"
    "  describe GROUP [--convention kafka|mimir]\n"
    "        the group's state, protocol and coordinator; each member with its client id, host\n"
    "        and assigned partitions (a KIP-848 group, through ConsumerGroupDescribe: its epochs\n"
    "        and assignor, each member's epoch, subscription and, while it moves, its target\n"
    "        assignment); then the committed offset, end offset (high watermark) and\n"
    "        lag of every partition the group has an offset for or a member is assigned.\n"
    "        --convention says what COMMITTED means, as for `kwal offsets -G`: kafka (default,\n"
    "        the next offset to read: LAG = END - COMMITTED) or mimir (the last offset consumed:\n"
    "        LAG = END - COMMITTED - 1)\n"
    "\n"
    "Exit status: 0 ok, 1 when Kafka refuses or the group does not exist, 2 for a usage error.\n";

typedef struct groups_opts {
    const char *states[GROUPS_MAX_FILTERS], *types[GROUPS_MAX_FILTERS];
    size_t state_count, type_count;
    bool mimir;
    const char *group;
} groups_opts;

enum { OPT_STATE = 256, OPT_TYPE, OPT_CONVENTION };

static int parse_args(cli_ctx *ctx, const char *cmd, bool describe, int argc, char **argv,
                      groups_opts *o)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"state", required_argument, NULL, OPT_STATE},
        {"type", required_argument, NULL, OPT_TYPE},
        {"convention", required_argument, NULL, OPT_CONVENTION},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    optind = 0;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":b:X:h", longopts, NULL)) != -1) {
        int g = cli_global_opt(ctx, opt, optarg);
        if (g < 0)
            return CLI_EXIT_USAGE;
        if (g > 0)
            continue;
        switch (opt) {
        case 'h':
            fputs(groups_help, stdout);
            return -1;
        case OPT_STATE:
        case OPT_TYPE: {
            const char *name = opt == OPT_STATE ? "--state" : "--type";
            if (describe)
                return cli_usage("%s: option '%s' does not apply here (see kwal groups --help)",
                                 cmd, name);
            if (!optarg[0])
                return cli_usage("%s: %s: the value is empty", cmd, name);
            size_t *n = opt == OPT_STATE ? &o->state_count : &o->type_count;
            if (*n == GROUPS_MAX_FILTERS)
                return cli_usage("%s: at most %d %s", cmd, GROUPS_MAX_FILTERS, name);
            (opt == OPT_STATE ? o->states : o->types)[(*n)++] = optarg;
            break;
        }
        case OPT_CONVENTION:
            if (!describe)
                return cli_usage(
                    "%s: option '--convention' does not apply here (see kwal groups --help)", cmd);
            if (strcmp(optarg, "kafka") && strcmp(optarg, "mimir"))
                return cli_usage("%s: --convention: '%s' is not kafka or mimir", cmd, optarg);
            o->mimir = strcmp(optarg, "mimir") == 0;
            break;
        default:
            return cli_bad_option(cmd, opt, argv);
        }
    }
    if (describe && optind < argc)
        o->group = argv[optind++];
    if (optind < argc)
        return cli_usage("%s: unexpected argument '%s' (see kwal groups --help)", cmd,
                         argv[optind]);
    if (describe && (!o->group || !o->group[0]))
        return cli_usage("%s: say which GROUP (see kwal groups --help)", cmd);
    return 0;
}

static const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
}

static int groups_list(kw_client *c, const groups_opts *o)
{
    kw_client_list_groups_args a = {.states = o->states,
                                    .state_count = o->state_count,
                                    .types = o->types,
                                    .type_count = o->type_count};
    kw_client_list_groups_result r = {0};
    char why[KW_CLIENT_DETAIL_MAX + 64];
    int rc = CLI_EXIT_OK;
    if (kw_client_list_groups(c, &a, &r) < 0) {
        rc = cli_fail("groups list failed: %s",
                      cli_errtext(r.err, r.kerr, r.detail, why, sizeof why));
        if (r.group_count)
            fprintf(stderr, "kwal: groups list: %zu of %zu brokers answered; their groups follow\n",
                    r.broker_count - r.broker_failed, r.broker_count);
    }
    for (size_t i = 0; i < r.group_count; i++) {
        const kw_client_group_listing *g = &r.groups[i];
        printf("%s %s %s %s\n", g->group_id, or_dash(g->state), or_dash(g->type),
               or_dash(g->protocol_type));
    }
    kw_client_list_groups_result_free(&r);
    return rc;
}

/* A partition the group has: committed offset and whether a member is assigned it. */
typedef struct group_partition {
    const char *topic;
    int32_t partition;
    int64_t committed; /* -1 none */
} group_partition;

static int cmp_partition(const void *a, const void *b)
{
    const group_partition *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

static void print_partitions(const char *what, const kw_client_topic_partitions *v, size_t n)
{
    for (size_t t = 0; t < n; t++) {
        printf("  %s %s:", what, v[t].topic);
        for (size_t j = 0; j < v[t].partition_count; j++)
            printf("%s%d", j ? "," : " ", (int)v[t].partitions[j]);
        putchar('\n');
    }
}

static bool same_partitions(const kw_client_topic_partitions *a, size_t na,
                            const kw_client_topic_partitions *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++) {
        if (strcmp(a[i].topic, b[i].topic) || a[i].partition_count != b[i].partition_count)
            return false;
        for (size_t j = 0; j < a[i].partition_count; j++)
            if (a[i].partitions[j] != b[i].partitions[j])
                return false;
    }
    return true;
}

/* A KIP-848 member: epoch, subscription, what it owns and, while it moves, its target. */
static void print_consumer_member(const kw_client_group_member *m)
{
    printf("member %s  client-id %s  host %s  epoch %d", m->member_id, or_dash(m->client_id),
           or_dash(m->client_host), (int)m->member_epoch);
    if (m->group_instance_id)
        printf("  instance %s", m->group_instance_id);
    if (m->rack_id)
        printf("  rack %s", m->rack_id);
    putchar('\n');
    printf("  subscribed");
    for (size_t i = 0; i < m->subscribed_topic_count; i++)
        printf("%s%s", i ? "," : " ", m->subscribed_topics[i]);
    if (!m->subscribed_topic_count && !m->subscribed_topic_regex)
        printf(" -");
    if (m->subscribed_topic_regex)
        printf("  regex %s", m->subscribed_topic_regex);
    putchar('\n');
    if (!m->assigned_count)
        printf("  assigned: none\n");
    print_partitions("assigned", m->assigned, m->assigned_count);
    if (!same_partitions(m->assigned, m->assigned_count, m->target, m->target_count)) {
        if (!m->target_count)
            printf("  target: none\n");
        print_partitions("target", m->target, m->target_count);
    }
}

static void print_member(const kw_client_group_member *m)
{
    printf("member %s  client-id %s  host %s", m->member_id, or_dash(m->client_id),
           or_dash(m->client_host));
    if (m->group_instance_id)
        printf("  instance %s", m->group_instance_id);
    putchar('\n');
    if (m->assignment_err) {
        printf("  assignment: %zu bytes (%s)\n", m->assignment_len,
               m->assignment_err == KW_EUNSUPPORTED ? "not the consumer protocol"
                                                    : kw_strerror(m->assignment_err));
        return;
    }
    if (!m->assigned_count) {
        printf("  assigned: none\n");
        return;
    }
    for (size_t t = 0; t < m->assigned_count; t++) {
        const kw_client_topic_partitions *tp = &m->assigned[t];
        printf("  assigned %s:", tp->topic);
        for (size_t j = 0; j < tp->partition_count; j++)
            printf("%s%d", j ? "," : " ", (int)tp->partitions[j]);
        putchar('\n');
    }
}

/* The group's partitions: the committed ones and the assigned ones, sorted, each once. */
static group_partition *collect_partitions(const kw_client_group_description *g,
                                           const kw_client_offsets_result *off, size_t *count)
{
    size_t cap = off->count;
    for (size_t i = 0; i < g->member_count; i++)
        for (size_t t = 0; t < g->members[i].assigned_count; t++)
            cap += g->members[i].assigned[t].partition_count;
    group_partition *v = calloc(cap ? cap : 1, sizeof *v);
    if (!v)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < off->count; i++)
        v[n++] = (group_partition){off->offsets[i].topic ? off->offsets[i].topic : "",
                                   off->offsets[i].partition, off->offsets[i].offset};
    for (size_t i = 0; i < g->member_count; i++)
        for (size_t t = 0; t < g->members[i].assigned_count; t++) {
            const kw_client_topic_partitions *tp = &g->members[i].assigned[t];
            for (size_t j = 0; j < tp->partition_count; j++) {
                bool seen = false;
                for (size_t k = 0; k < n && !seen; k++)
                    seen = v[k].partition == tp->partitions[j] && !strcmp(v[k].topic, tp->topic);
                if (!seen)
                    v[n++] = (group_partition){tp->topic, tp->partitions[j], -1};
            }
        }
    qsort(v, n, sizeof *v, cmp_partition);
    *count = n;
    return v;
}

/* Whether some broker lists group as a KIP-848 "consumer" type group. */
static bool is_consumer_type(kw_client *c, const char *group)
{
    const char *types[] = {"consumer"};
    kw_client_list_groups_args a = {.types = types, .type_count = 1};
    kw_client_list_groups_result r = {0};
    bool found = false;
    kw_client_list_groups(c, &a, &r);
    for (size_t i = 0; i < r.group_count && !found; i++)
        found = strcmp(r.groups[i].group_id, group) == 0;
    kw_client_list_groups_result_free(&r);
    return found;
}

static int groups_describe(kw_client *c, const groups_opts *o)
{
    const char *names[1] = {o->group};
    kw_client_describe_groups_args a = {.groups = names, .group_count = 1};
    kw_client_describe_groups_result r = {0};
    char why[KW_CLIENT_DETAIL_MAX + 64];
    if (kw_client_describe_groups(c, &a, &r) < 0) {
        int rc = cli_fail("groups describe %s failed: %s", o->group,
                          cli_errtext(r.err, r.kerr, r.detail, why, sizeof why));
        kw_client_describe_groups_result_free(&r);
        return rc;
    }
    const kw_client_group_description *g = &r.groups[0];
    if (g->kerr == KW_KERR_GROUP_ID_NOT_FOUND && is_consumer_type(c, o->group)) {
        /* Listed as a KIP-848 group, yet ConsumerGroupDescribe did not describe it (a broker
         * without the API, or it went away in between): its offsets are still there. */
        printf("group %s  type consumer (KIP-848): not described (ConsumerGroupDescribe did "
               "not answer for it)\n",
               o->group);
        g = NULL;
    } else if (g->kerr || !g->state || !strcmp(g->state, "Dead")) {
        int16_t kerr = g->kerr > 0 ? g->kerr : KW_KERR_GROUP_ID_NOT_FOUND;
        int rc = cli_fail("groups describe: group %s: %s", o->group,
                          cli_errtext(KW_EBROKER, kerr, g->error_message, why, sizeof why));
        kw_client_describe_groups_result_free(&r);
        return rc;
    }
    if (g && g->type && !strcmp(g->type, "consumer")) {
        printf("group %s  type consumer  state %s  assignor %s  group-epoch %d  "
               "assignment-epoch %d  coordinator %d  members %zu\n",
               g->group_id, g->state, or_dash(g->protocol), (int)g->group_epoch,
               (int)g->assignment_epoch, (int)g->coordinator, g->member_count);
        for (size_t i = 0; i < g->member_count; i++)
            print_consumer_member(&g->members[i]);
    } else if (g) {
        printf("group %s  state %s  protocol-type %s  protocol %s  coordinator %d  members %zu\n",
               g->group_id, g->state, or_dash(g->protocol_type), or_dash(g->protocol),
               (int)g->coordinator, g->member_count);
        for (size_t i = 0; i < g->member_count; i++)
            print_member(&g->members[i]);
    }

    kw_client_offset_fetch_args fa = {.group = o->group};
    kw_client_offsets_result off = {0};
    int rc = CLI_EXIT_OK;
    if (kw_client_offset_fetch(c, &fa, &off) < 0 && !off.offsets) {
        rc = cli_fail("groups describe: reading %s's offsets failed: %s%s", o->group,
                      cli_errtext(off.err, off.kerr, off.detail, why, sizeof why),
                      cli_group_error_hint(off.kerr));
    }
    size_t n = 0;
    static const kw_client_group_description none = {0};
    group_partition *parts = rc ? NULL : collect_partitions(g ? g : &none, &off, &n);
    if (!rc && !parts)
        rc = cli_fail("out of memory");
    if (!rc) {
        cli_print_lag_header(o->group, NULL, o->mimir);
        printf("# TOPIC PARTITION COMMITTED END LAG\n");
    }
    for (size_t i = 0; i < n && !rc; i++) {
        int64_t end;
        if ((rc = cli_end_offset(c, parts[i].topic, parts[i].partition, &end)))
            break;
        char prefix[300];
        snprintf(prefix, sizeof prefix, "%s ", parts[i].topic);
        cli_print_lag_row(prefix, parts[i].partition, parts[i].committed, end, o->mimir);
    }
    free(parts);
    kw_client_offsets_result_free(&off);
    kw_client_describe_groups_result_free(&r);
    return rc;
}

int cli_cmd_groups(cli_ctx *ctx, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        if (argc >= 2) {
            fputs(groups_help, stdout);
            return CLI_EXIT_OK;
        }
        return cli_usage("groups: say list or describe (see kwal groups --help)");
    }
    const char *sub = argv[1];
    bool describe;
    if (strcmp(sub, "list") == 0)
        describe = false;
    else if (strcmp(sub, "describe") == 0)
        describe = true;
    else
        return cli_usage("groups: unknown subcommand '%s' (list, describe)", sub);
    const char *cmd = describe ? "groups describe" : "groups list";
    groups_opts o;
    int rc = parse_args(ctx, cmd, describe, argc - 1, argv + 1, &o);
    if (rc)
        return rc < 0 ? CLI_EXIT_OK : rc;
    kw_client *c;
    if ((rc = cli_connect(ctx, &c)))
        return rc;
    rc = describe ? groups_describe(c, &o) : groups_list(c, &o);
    kw_client_destroy(c);
    return rc;
}
