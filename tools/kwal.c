/* The kwal command-line tool: global options (-b, -X), dispatch, shared helpers. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "kwal/version.h"

static const char usage_text[] =
    "usage: kwal -b BROKERS [-X key=value ...] COMMAND [options]\n"
    "       kwal wal append|replay|info -c CONFIG [options]\n"
    "\n"
    "A Kafka client in the spirit of kcat.\n"
    "\n"
    "commands:\n"
    "  produce   -t TOPIC [-p PARTITION] [-z none|lz4] [-k KEY]    one record per stdin line\n"
    "  consume   -t TOPIC [-p PARTITION] [-o beginning|end|OFFSET] [-e] [-c COUNT] [-f FORMAT]\n"
    "  consume   -G GROUP -t TOPIC [-t TOPIC ...]                  as a consumer-group member\n"
    "  topics    list | create | delete | describe                  manage topics\n"
    "  offsets   -t TOPIC                                           start and end offset of each "
    "partition\n"
    "  wal       append | replay | info -c CONFIG [--region ID]     the write-ahead log (kwal wal "
    "--help)\n"
    "  meta      topics ensure|verify | status | prune -c CONFIG     the metasrv side (kwal meta "
    "--help)\n"
    "\n"
    "global options (also accepted after the command name):\n"
    "  -b BROKERS       bootstrap brokers, host:port[,host:port...]\n"
    "  -X key=value     a Kafka client property:\n"
    "                     security.protocol=plaintext|ssl|sasl_plaintext|sasl_ssl\n"
    "                     sasl.mechanism=PLAIN|SCRAM-SHA-256|SCRAM-SHA-512|OAUTHBEARER|GSSAPI|\n"
    "                                    AWS_MSK_IAM\n"
    "                     sasl.username, sasl.password, sasl.oauthbearer.token\n"
    "                     sasl.oauthbearer.file, sasl.aws.file (JSON credentials, re-read at each\n"
    "                     authentication), sasl.oauthbearer.http.socket, sasl.aws.http.socket\n"
    "                     (GET / on a Unix socket at each authentication),\n"
    "                     sasl.http.socket.timeout.ms (10000)\n"
    "                     sasl.kerberos.service.name (GSSAPI; the ticket comes from KRB5CCNAME)\n"
    "                     sasl.aws.access.key.id, sasl.aws.secret.access.key,\n"
    "                     sasl.aws.session.token, sasl.aws.region, sasl.aws.user.agent\n"
    "                     (AWS_MSK_IAM; region default: the MSK broker name's, else AWS_REGION)\n"
    "                     ssl.ca.location, ssl.certificate.location, ssl.key.location (PEM files)\n"
    "                     ssl.endpoint.identification.algorithm=https|none\n"
    "                     ssl.min.version=TLSv1.2|TLSv1.3, ssl.cipher.suites=A:B (OpenSSL or IANA\n"
    "                     names; TLS 1.3 suites and TLS 1.2 ciphers alike)\n"
    "                     client.id, request.timeout.ms\n"
    "                     api.version.max=3.9.0 (no API version newer than that Kafka release)\n"
    "  -h, --help       this text; `kwal COMMAND --help` for a command's own\n"
    "  -V, --version    the version\n"
    "\n"
    "exit status: 0 ok, 1 runtime or Kafka error, 2 usage error\n";

static int vreport(int code, const char *fmt, va_list ap)
{
    fputs("kwal: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    return code;
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int code = vreport(CLI_EXIT_FAIL, fmt, ap);
    va_end(ap);
    return code;
}

int cli_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int code = vreport(CLI_EXIT_USAGE, fmt, ap);
    va_end(ap);
    return code;
}

int cli_global_opt(cli_ctx *ctx, int opt, const char *arg)
{
    if (opt == 'b') {
        if (!arg[0]) {
            cli_usage("-b: the broker list is empty");
            return -1;
        }
        ctx->opts.bootstrap = arg;
        ctx->globals_given = true;
        return 1;
    }
    if (opt == 'X') {
        char err[CLI_PROPS_ERRLEN];
        if (cli_props_set(&ctx->opts, arg, err, sizeof err) < 0) {
            cli_usage("%s", err);
            return -1;
        }
        ctx->globals_given = true;
        return 1;
    }
    return 0;
}

int cli_bad_option(const char *cmd, int ret, char *const argv[])
{
    /* getopt leaves a short option's character in optopt; a long one leaves 0 (see argv) */
    char shortname[3] = {'-', (char)optopt, '\0'};
    char longname[64];
    const char *name = shortname;
    if (!optopt) {
        snprintf(longname, sizeof longname, "%s", argv[optind - 1]);
        longname[strcspn(longname, "=")] = '\0';
        name = longname;
    }
    char msg[128];
    if (ret == ':')
        snprintf(msg, sizeof msg, "option %s needs a value", name);
    else
        snprintf(msg, sizeof msg, "unknown option '%s'", name);
    if (cmd)
        return cli_usage("%s: %s (see kwal %s --help)", cmd, msg, cmd);
    return cli_usage("%s (see kwal --help)", msg);
}

int cli_connect(cli_ctx *ctx, kw_client **out)
{
    char err[CLI_PROPS_ERRLEN];
    *out = NULL;
    if (!ctx->opts.bootstrap)
        return cli_usage("no brokers given: use -b host:port");
    if (cli_props_check(&ctx->opts, err, sizeof err) < 0)
        return cli_usage("%s", err);
    /* a path that cannot be read is a bad -X value: say which key, not just what OpenSSL says */
    const struct {
        const char *key, *path;
    } files[] = {{"ssl.ca.location", ctx->opts.tls_ca_file},
                 {"ssl.certificate.location", ctx->opts.tls_cert_file},
                 {"ssl.key.location", ctx->opts.tls_key_file}};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        if (files[i].path && access(files[i].path, R_OK) != 0)
            return cli_usage("-X %s: cannot read '%s': %s", files[i].key, files[i].path,
                             strerror(errno));
    char why[KW_CLIENT_DETAIL_MAX] = "";
    int rc = kw_client_new(out, &ctx->opts, why, sizeof why);
    if (rc < 0)
        return cli_fail("cannot set up the client: %s", why[0] ? why : kw_strerror(rc));
    return CLI_EXIT_OK;
}

const char *cli_errtext(int err, int16_t kerr, const char *detail, char *buf, size_t len)
{
    const char *d = detail && detail[0] ? detail : NULL;
    const char *name = kw_kerr_name(kerr);
    if (kerr && d && strstr(d, name)) /* the detail names the error already: explain it instead */
        snprintf(buf, len, "%s: %s (%s)", name, kw_kerr_message(kerr), d);
    else if (kerr)
        snprintf(buf, len, "%s: %s", name, d ? d : kw_kerr_message(kerr));
    else
        snprintf(buf, len, "%s", d ? d : kw_strerror(err));
    return buf;
}

int cli_topic_metadata(kw_client *c, const char *topic, kw_client_metadata_result *out,
                       const kw_client_topic **t)
{
    char why[KW_CLIENT_DETAIL_MAX + 64];
    const char *names[1] = {topic};
    kw_client_metadata_args a = {.topics = names, .topic_count = 1};
    *t = NULL;
    if (kw_client_metadata(c, &a, out) < 0) {
        cli_fail("metadata for %s failed: %s", topic,
                 cli_errtext(out->err, out->kerr, out->detail, why, sizeof why));
        kw_client_metadata_result_free(out);
        return CLI_EXIT_FAIL;
    }
    for (size_t i = 0; i < out->topic_count; i++)
        if (strcmp(out->topics[i].name, topic) == 0)
            *t = &out->topics[i];
    int16_t kerr = *t ? (*t)->kerr : KW_KERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (kerr) {
        cli_fail("topic %s: %s", topic, cli_errtext(KW_EBROKER, kerr, NULL, why, sizeof why));
        kw_client_metadata_result_free(out);
        *t = NULL;
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

bool cli_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    /* strtoll also takes blanks, '+', and "-0" for a non-negative range: none is a number here */
    if (*end || errno == ERANGE || v < min || v > max || s[0] == ' ' || s[0] == '+' ||
        (s[0] == '-' && min >= 0))
        return false;
    *out = v;
    return true;
}

int64_t cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t cli_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    cli_ctx ctx = {0};

    opterr = 0;
    int opt;
    /* '+': stop at the command name, whose options are its own */
    while ((opt = getopt_long(argc, argv, "+:b:X:hV", longopts, NULL)) != -1) {
        int g = cli_global_opt(&ctx, opt, optarg);
        if (g < 0)
            return CLI_EXIT_USAGE;
        if (g > 0)
            continue;
        switch (opt) {
        case 'h':
            fputs(usage_text, stdout);
            return CLI_EXIT_OK;
        case 'V':
            printf("kwal %s\n", kw_version());
            return CLI_EXIT_OK;
        default:
            return cli_bad_option(NULL, opt, argv);
        }
    }
    if (optind >= argc) {
        fputs(usage_text, stderr);
        return cli_usage("no command given");
    }

    char **cargv = argv + optind;
    int cargc = argc - optind;
    const char *cmd = cargv[0];
    if (strcmp(cmd, "produce") == 0)
        return cli_cmd_produce(&ctx, cargc, cargv);
    if (strcmp(cmd, "consume") == 0)
        return cli_cmd_consume(&ctx, cargc, cargv);
    if (strcmp(cmd, "topics") == 0)
        return cli_cmd_topics(&ctx, cargc, cargv);
    if (strcmp(cmd, "offsets") == 0)
        return cli_cmd_offsets(&ctx, cargc, cargv);
    if (strcmp(cmd, "wal") == 0)
        return cli_cmd_wal(&ctx, cargc, cargv);
    if (strcmp(cmd, "meta") == 0)
        return cli_cmd_meta(&ctx, cargc, cargv);
    if (strcmp(cmd, "help") == 0) {
        fputs(usage_text, stdout);
        return CLI_EXIT_OK;
    }
    return cli_usage("unknown command '%s' (see kwal --help)", cmd);
}
