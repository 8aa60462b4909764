/* `kwal wal append|replay|info`: the write-ahead log from the shell, configured by a [wal] TOML file. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "kwal/wal.h"

static const char wal_help[] =
    "usage: kwal wal append -c CONFIG --region ID\n"
    "       kwal wal replay -c CONFIG --region ID [--region ID ...] [--from ID] [--follow] [-e]\n"
    "       kwal wal info   -c CONFIG\n"
    "\n"
    "The write-ahead log, opened from the [wal] section of a TOML file (GreptimeDB's keys;\n"
    "see README \"Configuration\"): provider \"local\" (dir = ...) or \"kafka\"\n"
    "(broker_endpoints = [...], topic = ...).  -b and -X do not apply: the file says where\n"
    "the log is and how to reach it.\n"
    "\n"
    "append   one entry per stdin line (the newline is not part of the entry; an empty line\n"
    "         is an empty entry).  Appends are pipelined; each entry's id is printed on\n"
    "         stdout, one per line in input order, as soon as the entry is durable (fsynced,\n"
    "         or acknowledged by the broker with acks=all), and stdout is flushed each time.\n"
    "         After a failure nothing more is read; stdout keeps exactly the ids of the\n"
    "         lines before the first failed one, and stderr says which lines failed (and\n"
    "         which later ones became durable anyway).  Summary on stderr.\n"
    "replay   the region's entries from --from on (default: the log start), one per line:\n"
    "         \"ID<TAB>BYTES\".  Several --region: all of them in one pass over the log (they\n"
    "         must share a topic), in log order, one per line: \"REGION<TAB>ID<TAB>BYTES\";\n"
    "         --from applies to each.  The bytes are printed raw: an entry holding a newline spans\n"
    "         lines; with -e they are escaped (\\\\ \\n \\r \\t, other control bytes \\xHH) so\n"
    "         every entry is one line.  --follow keeps tailing new entries until SIGINT or\n"
    "         SIGTERM (exit 0).  On a terminal, stderr shows progress every second; a summary\n"
    "         goes to stderr at the end (entries, bytes, bad records skipped, incomplete\n"
    "         entries).\n"
    "info     the provider and where the log is; local: segments, bytes, and each region's\n"
    "         latest entry id and obsolete mark; kafka: the topic's start and end offsets\n"
    "         (entry ids are offsets below the end offset).\n"
    "\n"
    "  -c, --config FILE  the TOML file with a [wal] section (required)\n"
    "  -r, --region ID    the region, a decimal integer (append: one; replay: one or more)\n"
    "      --from ID      replay entries with id >= ID (replay)\n"
    "  -f, --follow       keep replaying new entries until a signal (replay)\n"
    "  -e, --escape       escape newlines, tabs, backslashes and control bytes (replay)\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit status: 0 ok, 1 when an append or the replay failed, 2 for a usage or config error.\n"
    "The local provider locks its dir: one process at a time (info too).\n";

/* After a failure, lines named one by one on stderr (each kind); the rest are counted. */
#define APPEND_MAX_NAMED 5
/* Input order kept while at most this many lines are between read and printed. */
#define APPEND_MAX_PENDING 65536
/* Bad records named one by one on stderr; the summary counts the rest. */
#define REPLAY_MAX_BAD_SHOWN 10
#define PROGRESS_MS 1000

enum { OPT_FROM = 256 };

/* The most regions one `kwal wal replay` takes. */
#define WAL_MAX_REGIONS 1024

typedef struct wal_opts {
    const char *cmd; /* "wal append", ... */
    const char *config;
    bool has_region;
    uint64_t region; /* the first --region */
    uint64_t regions[WAL_MAX_REGIONS];
    size_t nregions;
    uint64_t from;
    bool follow, escape;
} wal_opts;

/* A decimal u64: digits only (no sign, no blanks), no overflow. */
static bool parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static int parse_args(cli_ctx *ctx, const char *cmd, int argc, char **argv, const int *allowed,
                      wal_opts *o)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},      {"config", required_argument, NULL, 'c'},
        {"region", required_argument, NULL, 'r'}, {"from", required_argument, NULL, OPT_FROM},
        {"follow", no_argument, NULL, 'f'},    {"escape", no_argument, NULL, 'e'},
        {NULL, 0, NULL, 0},
    };
    *o = (wal_opts){.cmd = cmd};
    optind = 0;
    opterr = 0;
    int opt, li = -1;
    while ((opt = getopt_long(argc, argv, ":b:X:c:r:feh", longopts, &li)) != -1) {
        if (opt == 'b' || opt == 'X')
            return cli_usage("%s: -%c does not apply: the [wal] section of -c CONFIG says where "
                             "the log is",
                             cmd, opt);
        if (opt == 'h') {
            fputs(wal_help, stdout);
            return -1;
        }
        if (opt == '?' || opt == ':')
            return cli_bad_option(cmd, opt, argv);
        bool ok = false;
        for (const int *a = allowed; *a; a++)
            ok |= *a == opt;
        if (!ok) {
            char name[40];
            if (li < 0)
                snprintf(name, sizeof name, "-%c", opt);
            else
                snprintf(name, sizeof name, "--%s", longopts[li].name);
            return cli_usage("%s: option '%s' does not apply here (see kwal wal --help)", cmd,
                             name);
        }
        li = -1;
        switch (opt) {
        case 'c':
            if (!optarg[0])
                return cli_usage("%s: -c: the file name is empty", cmd);
            o->config = optarg;
            break;
        case 'r': {
            uint64_t r;
            if (!parse_u64(optarg, &r))
                return cli_usage("%s: --region: '%s' is not a region id (a decimal integer from 0 "
                                 "to 18446744073709551615)",
                                 cmd, optarg);
            for (size_t i = 0; i < o->nregions; i++)
                if (o->regions[i] == r)
                    return cli_usage("%s: --region %s is given twice", cmd, optarg);
            if (o->nregions == WAL_MAX_REGIONS)
                return cli_usage("%s: more than %d --region options", cmd, WAL_MAX_REGIONS);
            if (!o->has_region)
                o->region = r;
            o->regions[o->nregions++] = r;
            o->has_region = true;
            break;
        }
        case OPT_FROM:
            if (!parse_u64(optarg, &o->from))
                return cli_usage("%s: --from: '%s' is not an entry id (a decimal integer)", cmd,
                                 optarg);
            break;
        case 'f':
            o->follow = true;
            break;
        case 'e':
            o->escape = true;
            break;
        }
    }
    if (optind < argc)
        return cli_usage("%s: unexpected argument '%s' (see kwal wal --help)", cmd, argv[optind]);
    if (ctx->globals_given) /* before the command name: `kwal -b B wal ...` */
        return cli_usage("%s: -b and -X do not apply: the [wal] section of -c CONFIG says where "
                         "the log is",
                         cmd);
    if (!o->config)
        return cli_usage("%s: -c CONFIG is required (see kwal wal --help)", cmd);
    for (const int *a = allowed; *a; a++)
        if (*a == 'r' && !o->has_region)
            return cli_usage("%s: --region ID is required (see kwal wal --help)", cmd);
    if (o->nregions > 1 && strcmp(cmd, "wal append") == 0)
        return cli_usage("%s: one --region: the lines go to one region", cmd);
    return 0;
}

/* Opening. ------------------------------------------------------------------------------- */

/* The WAL's warnings and errors on stderr; past this many a run shows no more of them. */
#define WAL_MAX_LOG_LINES 20

static void on_wal_log(void *arg, int level, const char *msg)
{
    static unsigned shown; /* atomic: the WAL logs from its own threads */
    (void)arg;
    if (level > KW_LOG_WARN)
        return;
    unsigned n = __atomic_add_fetch(&shown, 1, __ATOMIC_RELAXED);
    if (n <= WAL_MAX_LOG_LINES)
        fprintf(stderr, "kwal: wal: %s%s\n", level == KW_LOG_ERROR ? "error: " : "", msg);
    if (n == WAL_MAX_LOG_LINES)
        fprintf(stderr, "kwal: wal: (further warnings from the WAL are not shown)\n");
}

/* Reads the config: CLI_EXIT_OK, or CLI_EXIT_USAGE after saying what is wrong with the file. */
static int load_config(const wal_opts *o, kw_wal_config **cfg)
{
    char err[512] = "";
    int rc = kw_wal_config_load(cfg, o->config, err, sizeof err);
    if (rc == KW_ENOMEM)
        return cli_fail("out of memory");
    if (rc)
        return cli_usage("%s: %s", o->cmd, err[0] ? err : kw_strerror(rc));
    kw_wal_config_options(*cfg)->log = on_wal_log;
    return CLI_EXIT_OK;
}

/* Opens the WAL the config describes; options the provider refuses are the file's fault (2). */
static int open_wal(const wal_opts *o, kw_wal_config *cfg, kw_wal **out)
{
    char err[512] = "";
    int rc = kw_wal_open(out, kw_wal_config_options(cfg), err, sizeof err);
    if (rc == KW_EINVAL || rc == KW_ECONFIG)
        return cli_usage("%s: %s: %s", o->cmd, o->config, err[0] ? err : kw_strerror(rc));
    if (rc)
        return cli_fail("%s: cannot open the WAL: %s: %s", o->cmd, kw_err_name(rc),
                        err[0] ? err : kw_strerror(rc));
    return CLI_EXIT_OK;
}

/* append ----------------------------------------------------------------------------------- */

typedef struct appender appender;

/* One line between stdin and stdout: its callback fills it in, the printer prints and frees it. */
typedef struct pending {
    struct pending *next; /* input order; under the appender's lock */
    appender *a;
    uint64_t line;
    uint64_t id;
    int err;
    bool done;
    bool refused; /* kw_wal_append itself said no (the handle's errstr is not about it) */
    char detail[256]; /* the append callback's text: why this line failed */
} pending;

struct appender {
    kw_wal *wal;
    const wal_opts *o;
    pthread_mutex_t mu;
    pthread_cond_t cond; /* a callback fired, the printer took a line, or the input ended */
    pending *head, **tail;
    size_t npending;
    bool input_done;
    bool failed; /* a line failed: read no more */
    /* the printer thread's own until it is joined */
    bool stdout_stopped;
    uint64_t appended, failures, late;      /* late: durable after an earlier line failed */
    uint64_t last_failed, last_late;        /* line numbers, for the summary of the unnamed */
};

static void on_appended(void *arg, int err, uint64_t id, const char *detail)
{
    pending *p = arg;
    appender *a = p->a;
    pthread_mutex_lock(&a->mu);
    p->err = err;
    p->id = id;
    snprintf(p->detail, sizeof(p->detail), "%s", detail ? detail : "");
    p->done = true;
    if (err)
        a->failed = true;
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->mu);
}

/* Says what became of one line; the printer thread, without the lock. */
static void report_line(appender *a, const pending *p)
{
    if (p->err) {
        const char *detail = p->refused ? "" : p->detail;
        if (++a->failures <= APPEND_MAX_NAMED)
            cli_fail("%s: line %llu failed: %s%s%s", a->o->cmd, (unsigned long long)p->line,
                     kw_err_name(p->err), detail[0] ? ": " : "", detail);
        a->last_failed = p->line;
        a->stdout_stopped = true; /* stdout stays the ids of exactly the lines before this one */
    } else if (a->stdout_stopped) {
        a->appended++;
        if (++a->late <= APPEND_MAX_NAMED)
            cli_fail("%s: line %llu became durable as id %llu after an earlier line failed",
                     a->o->cmd, (unsigned long long)p->line, (unsigned long long)p->id);
        a->last_late = p->line;
    } else {
        a->appended++;
        printf("%llu\n", (unsigned long long)p->id);
        fflush(stdout); /* a reader on a pipe sees each id as soon as it is durable */
    }
}

/*
 * Prints lines in input order as they become durable.  A thread of its own,
 * so an id reaches stdout while stdin is still open (a slow writer), and the
 * WAL's callback thread never waits on a slow stdout.
 */
static void *printer(void *arg)
{
    appender *a = arg;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        pending *p = a->head;
        if (!p && a->input_done)
            break;
        if (!p || !p->done) {
            pthread_cond_wait(&a->cond, &a->mu);
            continue;
        }
        a->head = p->next;
        if (!a->head)
            a->tail = &a->head;
        a->npending--;
        pthread_cond_broadcast(&a->cond);
        pthread_mutex_unlock(&a->mu);
        report_line(a, p);
        free(p);
        pthread_mutex_lock(&a->mu);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/*
 * Appends one line: 1 queued, 0 not sent because an earlier line failed, -1
 * refused by kw_wal_append (reported in order by the printer).
 */
static int queue_line(appender *a, uint64_t line, const char *data, size_t len)
{
    pending *p = calloc(1, sizeof *p);
    if (!p) {
        cli_fail("out of memory");
        return 0;
    }
    p->a = a;
    p->line = line;
    pthread_mutex_lock(&a->mu);
    while (a->npending >= APPEND_MAX_PENDING && !a->failed)
        pthread_cond_wait(&a->cond, &a->mu);
    if (a->failed) {
        pthread_mutex_unlock(&a->mu);
        free(p);
        return 0;
    }
    *a->tail = p;
    a->tail = &p->next;
    a->npending++;
    pthread_mutex_unlock(&a->mu);

    int rc;
    /* append_fail_fast and the buffer full: wait for room (the callbacks make it) */
    while ((rc = kw_wal_append(a->wal, a->o->region, data, len, on_appended, p)) == KW_EAGAIN)
        usleep(1000);
    if (rc < 0) {
        pthread_mutex_lock(&a->mu);
        p->err = rc;
        p->refused = true;
        p->done = true;
        a->failed = true;
        pthread_cond_broadcast(&a->cond);
        pthread_mutex_unlock(&a->mu);
        return -1;
    }
    return 1;
}

static int wal_append(const wal_opts *o, kw_wal_config *cfg)
{
    kw_wal *wal;
    int rc = open_wal(o, cfg, &wal);
    if (rc)
        return rc;
    appender a = {.wal = wal, .o = o};
    a.tail = &a.head;
    pthread_mutex_init(&a.mu, NULL);
    pthread_cond_init(&a.cond, NULL);
    pthread_t th;
    if (pthread_create(&th, NULL, printer, &a) != 0) {
        kw_wal_close(wal);
        return cli_fail("%s: cannot start a thread", o->cmd);
    }

    char *line = NULL;
    size_t cap = 0;
    uint64_t n = 0, stopped_at = 0;
    ssize_t len;
    bool read_error = false;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        n++;
        if (len > 0 && line[len - 1] == '\n')
            len--;
        int q = queue_line(&a, n, line, (size_t)len);
        if (q <= 0) {
            stopped_at = q == 0 ? n : n + 1; /* the first line never sent */
            break;
        }
    }
    if (len < 0 && ferror(stdin))
        read_error = true;
    free(line);

    pthread_mutex_lock(&a.mu);
    a.input_done = true;
    pthread_cond_broadcast(&a.cond);
    pthread_mutex_unlock(&a.mu);
    pthread_join(th, NULL);
    kw_wal_close(wal); /* every line has had its callback: nothing is in flight */
    pthread_cond_destroy(&a.cond);
    pthread_mutex_destroy(&a.mu);

    rc = CLI_EXIT_OK;
    if (read_error)
        rc = cli_fail("%s: read stdin: %s", o->cmd, strerror(errno));
    if (a.failures > APPEND_MAX_NAMED)
        cli_fail("%s: %llu more lines failed (the last: line %llu)", o->cmd,
                 (unsigned long long)(a.failures - APPEND_MAX_NAMED),
                 (unsigned long long)a.last_failed);
    if (a.late > APPEND_MAX_NAMED)
        cli_fail("%s: %llu more lines became durable after an earlier line failed (the last: "
                 "line %llu)",
                 o->cmd, (unsigned long long)(a.late - APPEND_MAX_NAMED),
                 (unsigned long long)a.last_late);
    fprintf(stderr, "appended %llu entries to region %llu\n", (unsigned long long)a.appended,
            (unsigned long long)o->region);
    if (stopped_at)
        cli_fail("%s: stopped after a failure: input from line %llu on was not appended",
                 o->cmd, (unsigned long long)stopped_at);
    if (a.failures || stopped_at)
        rc = CLI_EXIT_FAIL;
    return rc;
}

/* replay ----------------------------------------------------------------------------------- */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

typedef struct bad_count {
    pthread_mutex_t mu;
    uint64_t n;
    bool tty; /* a progress line may be on stderr: clear it first */
} bad_count;

static void on_bad_record(void *arg, const char *topic, int64_t offset, const char *why)
{
    bad_count *b = arg;
    pthread_mutex_lock(&b->mu);
    uint64_t n = ++b->n;
    pthread_mutex_unlock(&b->mu);
    if (n <= REPLAY_MAX_BAD_SHOWN)
        fprintf(stderr, "%skwal: wal replay: skipped a bad record at %s@%lld: %s\n",
                b->tty ? "\r\033[K" : "", topic ? topic : "?", (long long)offset, why);
    if (n == REPLAY_MAX_BAD_SHOWN)
        fprintf(stderr, "kwal: wal replay: (further bad records are only counted)\n");
}

/* -e: one entry, one line.  UTF-8 and other bytes >= 0x80 pass as they are. */
static void put_escaped(const uint8_t *d, size_t len, FILE *f)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t c = d[i];
        switch (c) {
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\x%02x", c);
            else
                putc(c, f);
        }
    }
}

typedef struct progress {
    bool on;          /* stderr is a terminal */
    uint64_t start_ms, last_ms;
    uint64_t last_bytes;
    bool shown;
} progress;

static void progress_tick(progress *pr, const kw_wal_replay *r, bool force)
{
    if (!pr->on)
        return;
    uint64_t now = cli_mono_ms();
    if (!force && now - pr->last_ms < PROGRESS_MS)
        return;
    kw_wal_replay_stats st;
    kw_wal_replay_stats_get(r, &st);
    double secs = (double)(now - pr->last_ms) / 1000.0;
    double rate = secs > 0 ? (double)(st.bytes - pr->last_bytes) / 1e6 / secs : 0;
    fprintf(stderr, "\r\033[K%llu entries, %.1f MB, %.1f MB/s", (unsigned long long)st.entries,
            (double)st.bytes / 1e6, rate);
    fflush(stderr);
    pr->last_ms = now;
    pr->last_bytes = st.bytes;
    pr->shown = true;
}

static int wal_replay(const wal_opts *o, kw_wal_config *cfg)
{
    bad_count bad = {.mu = PTHREAD_MUTEX_INITIALIZER, .tty = isatty(STDERR_FILENO) == 1};
    kw_wal_config_options(cfg)->on_bad_record = on_bad_record;
    kw_wal_config_options(cfg)->bad_record_arg = &bad;
    kw_wal *wal;
    int rc = open_wal(o, cfg, &wal);
    if (rc)
        return rc;
    kw_wal_replay *r;
    static uint64_t froms[WAL_MAX_REGIONS];
    for (size_t i = 0; i < o->nregions; i++)
        froms[i] = o->from;
    bool many = o->nregions > 1;
    char who[64];
    if (many)
        snprintf(who, sizeof who, "%zu regions", o->nregions);
    else
        snprintf(who, sizeof who, "region %llu", (unsigned long long)o->region);
    int err = kw_wal_replay_open_regions(wal, o->regions, froms, o->nregions,
                                         o->follow ? KW_WAL_REPLAY_FOLLOW : 0, &r);
    if (err) {
        rc = cli_fail("%s: cannot replay %s: %s: %s", o->cmd, who, kw_err_name(err),
                      kw_wal_errstr(wal));
        kw_wal_close(wal);
        return rc;
    }

    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: stop between entries */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    static char outbuf[1 << 20];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    progress pr = {.on = bad.tty};
    pr.start_ms = pr.last_ms = cli_mono_ms();

    uint64_t id, region;
    const uint8_t *data;
    size_t len;
    while (!stop_requested) {
        /* FOLLOW waits at most this long, so signals and progress are looked at */
        err = kw_wal_replay_next_region(r, &region, &id, &data, &len, 200);
        if (err == KW_ETIMEDOUT && o->follow) {
            fflush(stdout);
            progress_tick(&pr, r, false);
            continue;
        }
        if (err <= 0)
            break;
        if (many)
            printf("%llu\t", (unsigned long long)region);
        printf("%llu\t", (unsigned long long)id);
        if (o->escape)
            put_escaped(data, len, stdout);
        else
            fwrite(data, 1, len, stdout);
        putchar('\n');
        if (o->follow)
            fflush(stdout); /* tailing: each entry as it comes */
        progress_tick(&pr, r, false);
    }
    fflush(stdout);
    if (pr.shown)
        fputs("\r\033[K", stderr);
    if (ferror(stdout) && !stop_requested) {
        err = 0;
        rc = cli_fail("%s: write stdout: %s", o->cmd, strerror(errno));
    }
    kw_wal_replay_stats st;
    kw_wal_replay_stats_get(r, &st);
    double secs = (double)(cli_mono_ms() - pr.start_ms) / 1000.0;
    fprintf(stderr,
            "replayed %llu entries, %llu bytes of %s in %.1f s; %llu bad records skipped, "
            "%llu incomplete entries\n",
            (unsigned long long)st.entries, (unsigned long long)st.bytes, who, secs,
            (unsigned long long)st.bad_records, (unsigned long long)st.incomplete_entries);
    if (st.index != KW_WAL_REPLAY_INDEX_NONE) {
        static const char *const how[] = {"none", "used", "partial", "fallback"};
        fprintf(stderr, "replay index: %s (%s); fetched %llu bytes in %llu fetches\n",
                st.index >= 0 && st.index <= 3 ? how[st.index] : "?", st.index_note,
                (unsigned long long)st.bytes_fetched, (unsigned long long)st.fetches);
    }
    if (err < 0 && !(stop_requested && err == KW_ETIMEDOUT))
        rc = cli_fail("%s: replay of %s failed: %s: %s", o->cmd, who, kw_err_name(err),
                      kw_wal_replay_errstr(r));
    kw_wal_replay_close(r);
    kw_wal_close(wal);
    return rc;
}

/* info ------------------------------------------------------------------------------------- */

static int cmp_region(const void *x, const void *y)
{
    const kw_wal_region_info *a = x, *b = y;
    return a->region_id < b->region_id ? -1 : a->region_id > b->region_id;
}

/* Total size of the dir's segment files (the local provider's segment file names). */
static uint64_t segment_bytes_on_disk(const char *dir)
{
    uint64_t total = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 4, ".wal") != 0)
            continue;
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0)
            total += (uint64_t)st.st_size;
    }
    closedir(d);
    return total;
}

static int info_local(const wal_opts *o, kw_wal_config *cfg)
{
    const kw_wal_options *w = kw_wal_config_options(cfg);
    if (!w->dir || !w->dir[0])
        return cli_usage("%s: %s: dir: required for the local provider", o->cmd, o->config);
    kw_wal *wal;
    int rc = open_wal(o, cfg, &wal);
    if (rc)
        return rc;
    size_t nseg = kw_wal_segments(wal, NULL, 0);
    uint64_t *segs = calloc(nseg ? nseg : 1, sizeof *segs);
    size_t nreg = kw_wal_regions(wal, NULL, 0);
    kw_wal_region_info *regs = calloc(nreg ? nreg : 1, sizeof *regs);
    if (!segs || !regs) {
        free(segs);
        free(regs);
        kw_wal_close(wal);
        return cli_fail("out of memory");
    }
    nseg = kw_wal_segments(wal, segs, nseg);
    nreg = kw_wal_regions(wal, regs, nreg);
    qsort(regs, nreg, sizeof *regs, cmp_region);
    uint64_t last = 0;
    for (size_t i = 0; i < nreg; i++)
        if (regs[i].latest_entry_id > last)
            last = regs[i].latest_entry_id;

    printf("provider: local\n");
    printf("dir: %s\n", w->dir);
    printf("segments: %zu\n", nseg);
    printf("bytes: %llu\n", (unsigned long long)segment_bytes_on_disk(w->dir));
    printf("first_id: %llu\n", (unsigned long long)(nseg ? segs[0] : 0));
    printf("last_id: %llu\n", (unsigned long long)last);
    printf("regions: %zu\n", nreg);
    for (size_t i = 0; i < nreg; i++)
        printf("region %llu latest %llu obsolete %llu\n", (unsigned long long)regs[i].region_id,
               (unsigned long long)regs[i].latest_entry_id,
               (unsigned long long)regs[i].obsolete_entry_id);
    free(segs);
    free(regs);
    kw_wal_close(wal);
    return CLI_EXIT_OK;
}

static int info_kafka(const wal_opts *o, kw_wal_config *cfg)
{
    const kw_wal_options *w = kw_wal_config_options(cfg);
    const char *topic = w->topic ? w->topic : "greptimedb_wal_topic_0";
    kw_client_options co = w->kafka; /* the [wal] connection settings, in the client's terms */
    co.request_timeout_ms = w->timeout_ms;
    kw_client *c;
    char why[KW_CLIENT_DETAIL_MAX + 64] = "";
    int rc = kw_client_new(&c, &co, why, sizeof why);
    if (rc < 0)
        return cli_fail("%s: cannot set up the client: %s", o->cmd, why[0] ? why : kw_strerror(rc));
    int64_t off[2];
    const int specs[2] = {KW_CLIENT_OFFSET_EARLIEST, KW_CLIENT_OFFSET_LATEST};
    for (int k = 0; k < 2; k++) {
        /* the WAL writes partition 0 of each topic */
        kw_client_list_offsets_args a = {.topic = topic, .partition = 0, .spec = specs[k]};
        kw_client_list_offsets_result r;
        if (kw_client_list_offsets(c, &a, &r) < 0) {
            rc = cli_fail("%s: offsets of %s/0 failed: %s", o->cmd, topic,
                          cli_errtext(r.err, r.kerr, r.detail, why, sizeof why));
            kw_client_destroy(c);
            return rc;
        }
        off[k] = r.offset;
    }
    kw_client_destroy(c);
    printf("provider: kafka\n");
    printf("brokers: %s\n", w->kafka.bootstrap);
    printf("topic: %s\n", topic);
    printf("record_format: %s\n",
           w->record_format == KW_WAL_FORMAT_GREPTIMEDB ? "greptimedb" : "kwal");
    printf("compression: %s\n", w->compression == KW_WAL_COMPRESSION_NONE ? "none" : "lz4");
    printf("start_offset: %lld\n", (long long)off[0]);
    printf("end_offset: %lld\n", (long long)off[1]);
    printf("records: %lld\n", (long long)(off[1] - off[0]));
    return CLI_EXIT_OK;
}

static int wal_info(const wal_opts *o, kw_wal_config *cfg)
{
    if (kw_wal_config_notes(cfg)[0])
        fprintf(stderr, "kwal: note: %s\n", kw_wal_config_notes(cfg));
    if (kw_wal_config_options(cfg)->provider == KW_WAL_PROVIDER_KAFKA)
        return info_kafka(o, cfg);
    return info_local(o, cfg);
}

/* dispatch --------------------------------------------------------------------------------- */

int cli_cmd_wal(cli_ctx *ctx, int argc, char **argv)
{
    static const int append_opts[] = {'c', 'r', 0};
    static const int replay_opts[] = {'c', 'r', OPT_FROM, 'f', 'e', 0};
    static const int info_opts[] = {'c', 0};
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        if (argc >= 2) {
            fputs(wal_help, stdout);
            return CLI_EXIT_OK;
        }
        return cli_usage("wal: say append, replay or info (see kwal wal --help)");
    }
    const char *sub = argv[1];
    const int *allowed;
    const char *cmd;
    int (*run)(const wal_opts *, kw_wal_config *);
    if (strcmp(sub, "append") == 0) {
        allowed = append_opts, cmd = "wal append", run = wal_append;
    } else if (strcmp(sub, "replay") == 0) {
        allowed = replay_opts, cmd = "wal replay", run = wal_replay;
    } else if (strcmp(sub, "info") == 0) {
        allowed = info_opts, cmd = "wal info", run = wal_info;
    } else {
        return cli_usage("wal: unknown subcommand '%s' (append, replay, info)", sub);
    }
    wal_opts o;
    int rc = parse_args(ctx, cmd, argc - 1, argv + 1, allowed, &o);
    if (rc)
        return rc < 0 ? CLI_EXIT_OK : rc;
    kw_wal_config *cfg = NULL;
    if ((rc = load_config(&o, &cfg)))
        return rc;
    rc = run(&o, cfg);
    kw_wal_config_free(cfg);
    return rc;
}
