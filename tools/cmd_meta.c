/* `kwal meta topics ensure|verify`, `kwal meta status`, `kwal meta prune`: the metasrv side from a shell. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kwal/meta.h"
#include "kwal/wal.h"

static const char meta_usage[] =
    "usage: kwal meta topics ensure|verify -c CONFIG\n"
    "       kwal meta status -c CONFIG [--store DIR]\n"
    "       kwal meta prune -c CONFIG [--store DIR] [--dry-run]\n"
    "\n"
    "The metasrv side of the WAL, from the [wal] section of CONFIG (GreptimeDB's names):\n"
    "  topics ensure   create the topics {topic_name_prefix}_{0..num_topics-1} that are\n"
    "                  missing, with the configs a WAL needs, and check every topic\n"
    "  topics verify   check them without creating anything; lists every problem\n"
    "  status          per topic: start/end offset, regions, pruned id, the region\n"
    "                  holding it back (from the pruner's state in --store)\n"
    "  prune           one pruning round now (DeleteRecords up to each topic's prune point)\n"
    "\n"
    "  -c, --config FILE  the TOML file with the [wal] section (required)\n"
    "  --store DIR        the metadata store (default: <dir from [wal]>/meta, else ./kwal-meta)\n"
    "  --dry-run          (prune) compute and print, delete nothing\n";

typedef struct meta_args {
    const char *config;
    const char *store_dir;
    bool dry_run;
} meta_args;

static void log_line(void *arg, int level, const char *msg)
{
    (void)arg;
    fprintf(stderr, "kwal: %s%s\n", level == 0 ? "error: " : level == 1 ? "warning: " : "", msg);
}

static int parse_args(const char *what, int argc, char **argv, meta_args *a, bool allow_store,
                      bool allow_dry)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"store", required_argument, NULL, 's'},
        {"dry-run", no_argument, NULL, 'n'},      {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            a->config = optarg;
            break;
        case 's':
            if (!allow_store)
                return cli_usage("meta %s: --store is not an option of this command", what);
            a->store_dir = optarg;
            break;
        case 'n':
            if (!allow_dry)
                return cli_usage("meta %s: --dry-run is only for `kwal meta prune`", what);
            a->dry_run = true;
            break;
        case 'h':
            fputs(meta_usage, stdout);
            return -1;
        default:
            return cli_bad_option("meta", opt, argv);
        }
    }
    if (optind < argc)
        return cli_usage("meta %s: unexpected argument '%s'", what, argv[optind]);
    if (!a->config)
        return cli_usage("meta %s: -c CONFIG is required", what);
    return 0;
}

/*
 * Opens the metasrv handle for the config: with a store for status and prune
 * (want_store), for the topic calls only without.  CLI_EXIT_OK or the exit code
 * after saying why.
 */
static int open_meta(const meta_args *a, bool want_store, kw_meta **m)
{
    char err[1024] = "";
    kw_wal_config *cfg = NULL;
    if (kw_wal_config_load(&cfg, a->config, err, sizeof(err)) != 0)
        return cli_fail("%s", err);
    const kw_wal_options *w = kw_wal_config_options(cfg);
    if (w->provider != KW_WAL_PROVIDER_KAFKA) {
        kw_wal_config_free(cfg);
        return cli_fail("%s: the metasrv commands need provider = \"kafka\" in [wal]", a->config);
    }
    char dir[4096];
    if (a->store_dir)
        snprintf(dir, sizeof(dir), "%s", a->store_dir);
    else if (w->dir)
        snprintf(dir, sizeof(dir), "%s/meta", w->dir);
    else
        snprintf(dir, sizeof(dir), "kwal-meta");
    kw_wal_config_free(cfg);
    kw_meta_options mo = {.config_path = a->config,
                          .store_dir = want_store ? dir : NULL,
                          .no_prune_timer = true, /* the CLI runs rounds itself */
                          .log = log_line};
    if (kw_meta_open(m, &mo, err, sizeof(err)) != 0)
        return cli_fail("%s", err);
    return CLI_EXIT_OK;
}

static int cmd_topics(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(meta_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    const char *verb = argv[1];
    bool ensure = strcmp(verb, "ensure") == 0;
    if (!ensure && strcmp(verb, "verify") != 0)
        return cli_usage("meta topics: unknown subcommand '%s' (ensure, verify)", verb);
    meta_args a = {0};
    int rc = parse_args(ensure ? "topics ensure" : "topics verify", argc - 1, argv + 1, &a, false,
                        false);
    if (rc)
        return rc < 0 ? CLI_EXIT_OK : rc;
    kw_meta *m = NULL;
    if ((rc = open_meta(&a, false, &m)) != CLI_EXIT_OK)
        return rc;
    kw_meta_topics_result rep;
    int exit_code = CLI_EXIT_OK;
    if (kw_meta_topics(m, ensure, &rep) != 0) {
        exit_code = cli_fail("meta topics %s: %s", verb, kw_meta_errstr(m));
    } else {
        const char *prefix = kw_meta_topic_prefix(m);
        printf("%u topics %s_0..%s_%u ok: %u created (%u by another metasrv meanwhile), "
               "%u noop records written\n",
               rep.topics, prefix, prefix, rep.topics ? rep.topics - 1 : 0, rep.created,
               rep.raced, rep.noops_written);
        printf("took %" PRIu64 " ms: lookup %" PRIu64 ", create %" PRIu64 ", verify %" PRIu64
               ", noop %" PRIu64 "\n",
               rep.total_ms, rep.lookup_ms, rep.create_ms, rep.verify_ms, rep.noop_ms);
    }
    kw_meta_close(m);
    return exit_code;
}

static void id_text(uint64_t id, char *buf, size_t cap)
{
    if (id == KW_META_NONE)
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%" PRIu64, id);
}

static void print_status(const kw_meta_status *st)
{
    if (st->topic_count == 0) {
        printf("no regions have reported yet: nothing to prune\n");
        return;
    }
    printf("%-32s %12s %12s %10s %8s  %s\n", "topic", "start", "end", "pruned_id", "regions",
           "held back by");
    for (size_t i = 0; i < st->topic_count; i++) {
        const kw_meta_topic_status *t = &st->topics[i];
        char pruned[32], holder[32];
        id_text(t->pruned_id, pruned, sizeof(pruned));
        id_text(t->holder, holder, sizeof(holder));
        printf("%-32s %12" PRId64 " %12" PRId64 " %10s %8zu  %s%s%s%s\n", t->topic,
               t->start_offset, t->end_offset, pruned, t->region_count,
               t->holder == KW_META_NONE ? "-" : "region ",
               t->holder == KW_META_NONE ? "" : holder, t->reason[0] ? ": " : "", t->reason);
    }
}

static int cmd_status_or_prune(bool prune, int argc, char **argv)
{
    meta_args a = {0};
    int rc = parse_args(prune ? "prune" : "status", argc, argv, &a, true, prune);
    if (rc)
        return rc < 0 ? CLI_EXIT_OK : rc;
    kw_meta *m = NULL;
    if ((rc = open_meta(&a, true, &m)) != CLI_EXIT_OK)
        return rc;
    int exit_code = CLI_EXIT_OK;
    /* status also runs a dry round: start/end offsets come from the cluster now */
    kw_meta_prune_stats round = {0};
    rc = kw_meta_prune_now(m, prune ? a.dry_run : true, &round);
    if (rc) {
        exit_code = cli_fail("pruning round: %s", kw_meta_errstr(m));
    } else {
        kw_meta_status st = {0};
        if (kw_meta_status_get(m, &st) == 0)
            print_status(&st);
        kw_meta_status_free(&st);
        if (prune)
            printf("%s: %u topics, %u pruned, %u skipped, %u failed, %" PRIu64
                   " offsets deleted, %u flush requests\n",
                   a.dry_run ? "dry run" : "pruned", round.topics, round.pruned, round.skipped,
                   round.failed, round.offsets_deleted, round.flush_requests);
        if (prune && round.failed)
            exit_code = CLI_EXIT_FAIL;
    }
    kw_meta_close(m);
    return exit_code;
}

int cli_cmd_meta(cli_ctx *ctx, int argc, char **argv)
{
    if (ctx->globals_given) /* brokers and security come from the config file */
        return cli_usage("meta: -b and -X do not apply: the [wal] section of -c CONFIG says where "
                         "the brokers are");
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(meta_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "topics") == 0)
        return cmd_topics(argc - 1, argv + 1);
    if (strcmp(argv[1], "status") == 0)
        return cmd_status_or_prune(false, argc - 1, argv + 1);
    if (strcmp(argv[1], "prune") == 0)
        return cmd_status_or_prune(true, argc - 1, argv + 1);
    return cli_usage("meta: unknown command '%s' (topics, status, prune)", argv[1]);
}
