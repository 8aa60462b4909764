/* kwal log run -c FILE: one node of a kw_log cluster, printing its role changes and what it applies. */
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kwal/log.h"

#include "cli.h"

static const char log_usage[] =
    "usage: kwal log run -c FILE\n"
    "\n"
    "Runs one node of a kw_log cluster (XTDB's single-writer log) configured by the [log] table\n"
    "of the TOML file FILE and its [[log.database]] tables, until SIGINT or SIGTERM.  The node\n"
    "leads the databases the group gives it: it copies each source record into the replica\n"
    "(the built-in apply) in transactions; it tails the replicas of the others.  Lines on stdout:\n"
    "  leader DB term TERM            the node leads DB from now on (TERM: epoch << 48 + generation)\n"
    "  follower DB [rewind]           the node follows DB (rewind: replayed from the start)\n"
    "  apply DB OFFSET VALUE          a source record copied into the replica (leader)\n"
    "  replica DB OFFSET TERM VALUE   a replica record another leader wrote (follower)\n";

static volatile sig_atomic_t log_stop;

static void on_log_signal(int sig)
{
    (void)sig;
    log_stop = 1;
}

/* Every line whole, in the order the worker produced them (one worker thread). */
static void line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void line(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fflush(stdout);
}

static int copy_apply(void *arg, const kw_log_record *src, kw_log_output *out)
{
    line("apply %s %" PRId64 " %.*s\n", src->database, src->offset, (int)src->value_len,
         src->value ? (const char *)src->value : "");
    return kw_log_emit(out, src->key, src->key_len, src->value, src->value_len);
}

static void on_leader(void *arg, const char *db, int64_t term)
{
    line("leader %s term %" PRId64 "\n", db, term);
}

static void on_follower(void *arg, const char *db, bool rewind)
{
    line("follower %s%s\n", db, rewind ? " rewind" : "");
}

static void on_replica(void *arg, const kw_log_record *r)
{
    line("replica %s %" PRId64 " %" PRId64 " %.*s\n", r->database, r->offset, r->term,
         (int)r->value_len, r->value ? (const char *)r->value : "");
}

static void log_to_stderr(void *arg, int level, const char *msg)
{
    if (level <= KW_LOG_WARN)
        fprintf(stderr, "kwal: %s\n", msg);
}

int cli_cmd_log(cli_ctx *ctx, int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(log_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? cli_usage("log: no subcommand given") : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "run"))
        return cli_usage("log: unknown subcommand '%s' (want run)", argv[1]);
    const char *file = NULL;
    static const struct option longs[] = {{"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc - 1, argv + 1, ":c:h", longs, NULL)) != -1) {
        switch (opt) {
        case 'c':
            file = optarg;
            break;
        case 'h':
            fputs(log_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_bad_option("log run", opt, argv + 1);
        }
    }
    if (optind < argc - 1)
        return cli_usage("log run: unexpected argument '%s'", argv[optind + 1]);
    if (!file)
        return cli_usage("log run: -c FILE is required");
    if (ctx->globals_given)
        return cli_usage("log run: the cluster comes from -c FILE; -b and -X are not taken");
    kw_log_options base = {.apply = copy_apply, .on_leader = on_leader,
                           .on_follower = on_follower, .on_replica = on_replica,
                           .log = log_to_stderr};
    kw_log *log;
    char err[512];
    int rc = kw_log_open_file(&log, file, &base, err, sizeof(err));
    if (rc)
        return cli_fail("%s", err);
    struct sigaction sa = {.sa_handler = on_log_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = kw_log_start(log, err, sizeof(err));
    if (rc) {
        kw_log_close(log);
        return cli_fail("%s", err);
    }
    while (!log_stop) {
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    kw_log_close(log);
    line("closed\n");
    return CLI_EXIT_OK;
}
