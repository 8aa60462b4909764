/* `kwal meta topics ensure|verify`, `kwal meta status`, `kwal meta prune`, `kwal meta serve`: the metasrv side from a shell. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
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
    "       kwal meta serve -c CONFIG [--store DIR] [--node-id ID]\n"
    "\n"
    "The metasrv side of the WAL, from the [wal] section of CONFIG (GreptimeDB's names):\n"
    "  topics ensure   create the topics {topic_name_prefix}_{0..num_topics-1} that are\n"
    "                  missing, with the configs a WAL needs, and check every topic\n"
    "  topics verify   check them without creating anything; lists every problem\n"
    "  status          per topic: start/end offset, regions, pruned id, the region\n"
    "                  holding it back (from the pruner's state in --store)\n"
    "  prune           one pruning round now (DeleteRecords up to each topic's prune point)\n"
    "  serve           a long-lived metasrv: campaigns for leadership (backend = \"etcd_store\":\n"
    "                  several may run, one leads; the file store: this one leads alone);\n"
    "                  the leader ensures the topics and prunes every auto_prune_interval;\n"
    "                  prints each role change; SIGINT/SIGTERM resign and stop\n"
    "\n"
    "The store: backend = \"etcd_store\" with store_addrs (and store_key_prefix, [backend_tls],\n"
    "[backend_auth]) beside [wal] puts it in etcd, shared by every metasrv and datanode; the\n"
    "default \"file_store\" keeps it in --store DIR.\n"
    "\n"
    "  -c, --config FILE  the TOML file with the [wal] section (required)\n"
    "  --store DIR        the metadata store (default: <dir from [wal]>/meta, else ./kwal-meta)\n"
    "  --dry-run          (prune) compute and print, delete nothing\n"
    "  --node-id ID       (serve) this metasrv's name in the election (default HOST:PID)\n";

typedef struct meta_args {
    const char *config;
    const char *store_dir;
    const char *node_id;
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
        {"node-id", required_argument, NULL, 'i'}, {NULL, 0, NULL, 0},
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
        case 'i':
            if (strcmp(what, "serve") != 0)
                return cli_usage("meta %s: --node-id is only for `kwal meta serve`", what);
            a->node_id = optarg;
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
static int open_meta_with(const meta_args *a, bool want_store, kw_meta_options *extra,
                          kw_meta **m);

static int open_meta(const meta_args *a, bool want_store, kw_meta **m)
{
    return open_meta_with(a, want_store, NULL, m);
}

static int open_meta_with(const meta_args *a, bool want_store, kw_meta_options *extra,
                          kw_meta **m)
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
    kw_meta_options mo = {.no_prune_timer = true}; /* the CLI runs rounds itself */
    if (extra)
        mo = *extra;
    mo.config_path = a->config;
    mo.store_dir = want_store ? dir : NULL;
    mo.log = log_line;
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

/* ---- serve ---- */

static volatile sig_atomic_t serve_stop;

static void on_signal(int sig)
{
    (void)sig;
    serve_stop = 1;
}

typedef struct serve_state {
    pthread_mutex_t mu;
    bool leading, changed;
    char leader[256];
} serve_state;

/* The election's thread: note the change for the main loop (which prints and acts on it). */
static void on_role(void *arg, bool leading, const char *leader)
{
    serve_state *s = arg;
    pthread_mutex_lock(&s->mu);
    s->leading = leading;
    s->changed = true;
    snprintf(s->leader, sizeof(s->leader), "%s", leader);
    pthread_mutex_unlock(&s->mu);
}

static int cmd_serve(int argc, char **argv)
{
    meta_args a = {0};
    int rc = parse_args("serve", argc, argv, &a, true, false);
    if (rc)
        return rc < 0 ? CLI_EXIT_OK : rc;
    serve_state st = {.mu = PTHREAD_MUTEX_INITIALIZER};
    kw_meta_options mo = {.campaign = true, .node_id = a.node_id, .on_role = on_role,
                          .role_arg = &st};
    kw_meta *m = NULL;
    if ((rc = open_meta_with(&a, true, &mo, &m)) != CLI_EXIT_OK)
        return rc;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    bool ensured = false;
    int exit_code = CLI_EXIT_OK;
    printf("serving: campaigning for leadership\n");
    fflush(stdout);
    while (!serve_stop) {
        pthread_mutex_lock(&st.mu);
        bool changed = st.changed, leading = st.leading;
        char leader[256];
        snprintf(leader, sizeof(leader), "%s", st.leader);
        st.changed = false;
        pthread_mutex_unlock(&st.mu);
        if (changed) {
            if (leading)
                printf("leading as %s\n", leader);
            else
                printf("following: %s\n", leader[0] ? leader : "nobody leads (campaigning)");
            fflush(stdout);
            if (!leading)
                ensured = false;
        }
        /* Once per leadership: the topics a WAL needs (a new leader checks them again). */
        if (leading && !ensured && kw_meta_leading(m)) {
            kw_meta_topics_result rep;
            if (kw_meta_topics(m, true, &rep) == 0) {
                printf("topics ensured: %u (%u created)\n", rep.topics, rep.created);
                ensured = true;
            } else {
                fprintf(stderr, "kwal: meta serve: topics: %s (tried again in a second)\n",
                        kw_meta_errstr(m));
            }
            fflush(stdout);
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    printf("stopping: resigning\n");
    fflush(stdout);
    kw_meta_close(m);
    return exit_code;
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
    char leader[256];
    int lr = kw_meta_leader(m, leader, sizeof(leader));
    if (lr == 0)
        printf("leader: %s\n", leader);
    else if (lr == KW_ENOTFOUND && !prune)
        printf("leader: none%s\n", "");
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
    if (strcmp(argv[1], "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    return cli_usage("meta: unknown command '%s' (topics, status, prune, serve)", argv[1]);
}
