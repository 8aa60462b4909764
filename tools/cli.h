/* What the kwal tool's commands share: global options, exit codes, errors, helpers. */
#ifndef KW_TOOLS_CLI_H
#define KW_TOOLS_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kwal/batch.h"

#include "props.h"

/* Exit codes, as the issue fixes them: scripts tell a bad command line from a failed run. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAIL = 1,  /* runtime or Kafka error */
    CLI_EXIT_USAGE = 2, /* bad command line */
};

/* The global options (-b, -X), which every command also accepts after its name. */
typedef struct cli_ctx {
    kw_client_options opts; /* -b is opts.bootstrap; -X fills the rest */
    bool globals_given;     /* a -b or -X was taken (commands that do not use them refuse them) */
} cli_ctx;

/* "kwal: <message>\n" on stderr; returns CLI_EXIT_FAIL or CLI_EXIT_USAGE for `return
 * cli_fail(...)`. */
__attribute__((format(printf, 1, 2))) int cli_fail(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) int cli_usage(const char *fmt, ...);

/*
 * Handles -b and -X inside a command's option loop: returns 1 when opt was
 * one of them (taken), 0 when it is the command's own, or -1 after printing
 * a usage error.
 */
int cli_global_opt(cli_ctx *ctx, int opt, const char *arg);

/*
 * Connects a client with the global options: checks -b and the -X set
 * (usage errors) and creates it (runtime errors).  Returns CLI_EXIT_OK with
 * *out set, or the exit code after printing why.
 */
int cli_connect(cli_ctx *ctx, kw_client **out);

/*
 * Reports an option getopt_long refused for command `cmd` (NULL: the global
 * options): ret is what getopt_long returned, ':' for a missing value (the
 * optstring starts with ':'), '?' for an unknown option.  Returns CLI_EXIT_USAGE.
 */
int cli_bad_option(const char *cmd, int ret, char *const argv[]);

/*
 * The text of a failed call for "kwal: <what> failed: <text>": the Kafka
 * error's name when there is one ("NOT_LEADER_OR_FOLLOWER: ..."), else the
 * kwal error, with the call's detail.  Returns buf.
 */
const char *cli_errtext(int err, int16_t kerr, const char *detail, char *buf, size_t len);

/* Reads a topic's metadata: CLI_EXIT_OK with *out filled (free it), or the exit code after printing
 * why. */
int cli_topic_metadata(kw_client *c, const char *topic, kw_client_metadata_result *out,
                       const kw_client_topic **t);

/* Parses a decimal integer in [min, max] into *out; false when it is not one. */
bool cli_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);

/* Milliseconds since the epoch (record timestamps) and a CLOCK_MONOTONIC reading in ms. */
int64_t cli_now_ms(void);
uint64_t cli_mono_ms(void);

/* The commands: each gets argv from its own name on and returns the exit code. */
int cli_cmd_produce(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_consume(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_topics(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_offsets(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_wal(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_meta(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_log(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_groups(cli_ctx *ctx, int argc, char **argv);

/* ---- consumer groups (cmd_group_offsets.c) ---- */

/* `kwal offsets` with -G: the group's committed offsets and lag, or --commit. */
int cli_cmd_group_offsets(cli_ctx *ctx, int argc, char **argv);
/* True when an `offsets` argument asks for the group form (-G, --group, --commit, --convention). */
bool cli_is_group_offsets_arg(const char *arg);
/* The partition's high watermark into *end: CLI_EXIT_OK, or the exit code after printing why. */
int cli_end_offset(kw_client *c, const char *topic, int32_t partition, int64_t *end);
/* end minus the next offset to read (committed, or committed + 1 with mimir's convention), at
 * least 0; -1 when nothing is committed. */
int64_t cli_lag(int64_t committed, int64_t end, bool mimir);
/* What a group error means for the user (" (the group has active members: ...)"), or "". */
const char *cli_group_error_hint(int16_t kerr);
/* "# group G [topic T]: COMMITTED is ...; LAG = ..." and one "PARTITION COMMITTED END LAG" row. */
void cli_print_lag_header(const char *group, const char *topic, bool mimir);
void cli_print_lag_row(const char *prefix, int32_t partition, int64_t committed, int64_t end,
                       bool mimir);

/* The most topics `consume -G` subscribes to. */
#define CLI_GROUP_TOPICS_MAX 64

/* Prints a record through a consume -f format (checked by consume first). */
void cli_print_record(const char *f, const char *topic, int32_t partition,
                      const kw_batch_record *r, FILE *out);

/*
 * `consume -G`: joins group, prints the records of the partitions assigned
 * (from the committed offset, else the beginning or the end), commits them,
 * leaves on SIGINT/SIGTERM or after count records (0: no limit).
 */
typedef struct cli_group_args {
    const char *group;
    const char *const *topics;
    size_t ntopics;
    bool from_beginning; /* -o beginning */
    int64_t count;       /* -c; 0: no limit */
    const char *format;  /* -f */
    bool kip848;         /* --group-protocol consumer */
    const char *instance; /* --group-instance-id; NULL none */
    const char *regex;    /* --topic-regex; NULL none */
} cli_group_args;
int cli_consume_group(cli_ctx *ctx, const cli_group_args *a);

#endif /* KW_TOOLS_CLI_H */
