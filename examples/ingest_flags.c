/* examples/ingest: Mimir's -ingest-storage.kafka.* flags (and the example's own) onto kwal's options; topic auto-creation. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest.h"

enum flag_kind { FLAG_STRING, FLAG_INT, FLAG_BOOL, FLAG_DURATION };
enum { FOR_WRITER = 1, FOR_READER = 2, FOR_BOTH = 3 };

typedef struct flag_def {
    const char *name;
    int kind;
    int used_by;
    size_t offset; /* in ingest_flags */
    int64_t min;   /* FLAG_INT, FLAG_DURATION (ms) */
    const char *help;
} flag_def;

#define K "ingest-storage.kafka."
#define AT(field) offsetof(ingest_flags, field)
static const flag_def flag_defs[] = {
    {K "address", FLAG_STRING, FOR_BOTH, AT(address), 0,
     "seed brokers, host:port[,host:port...] (required)"},
    {K "topic", FLAG_STRING, FOR_BOTH, AT(topic), 0, "the topic (required)"},
    {K "client-id", FLAG_STRING, FOR_BOTH, AT(client_id), 0, "the Kafka client id"},
    {K "auto-create-topic-enabled", FLAG_BOOL, FOR_BOTH, AT(auto_create), 0,
     "create the topic when it does not exist (default true)"},
    {K "auto-create-topic-default-partitions", FLAG_INT, FOR_BOTH, AT(partitions), 0,
     "partitions of an auto-created topic (0: the broker's default)"},
    {K "producer-max-record-size-bytes", FLAG_INT, FOR_WRITER, AT(max_record), 1024,
     "largest record written (default 15983616)"},
    {K "producer-max-buffered-bytes", FLAG_INT, FOR_WRITER, AT(max_buffered), 1 << 20,
     "bytes of records held before a write fails fast (default 1 GiB)"},
    {K "write-timeout", FLAG_DURATION, FOR_WRITER, AT(write_timeout_ms), 1,
     "how long a write may take to be acknowledged (default 10s)"},
    {K "dial-timeout", FLAG_DURATION, FOR_BOTH, AT(dial_timeout_ms), 1,
     "TCP connect timeout (default 2s)"},
    {K "consumer-group", FLAG_STRING, FOR_READER, AT(consumer_group), 0,
     "group the reader commits to; <partition> is replaced (default ingest-<partition>)"},
    {K "fetch-concurrency-max", FLAG_INT, FOR_READER, AT(fetch_concurrency), 1,
     "fetches in flight at distinct offsets of the partition (default 12)"},
    {K "consume-from-position-at-startup", FLAG_STRING, FOR_READER, AT(start_position), 0,
     "last-offset (default: the committed offset + 1), start or end of the partition"},
    {K "sasl-mechanism", FLAG_STRING, FOR_BOTH, AT(sasl_mechanism), 0,
     "PLAIN (default), SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER"},
    {K "sasl-username", FLAG_STRING, FOR_BOTH, AT(sasl_username), 0, "SASL user"},
    {K "sasl-password", FLAG_STRING, FOR_BOTH, AT(sasl_password), 0, "SASL password"},
    {K "sasl-oauthbearer-token", FLAG_STRING, FOR_BOTH, AT(sasl_oauth_token), 0,
     "OAUTHBEARER token"},
    {K "sasl-oauthbearer-zid", FLAG_STRING, FOR_BOTH, AT(sasl_oauth_zid), 0,
     "not supported statically: put zid in the -file-path or socket document"},
    {K "sasl-oauthbearer-extensions", FLAG_STRING, FOR_BOTH, AT(sasl_oauth_extensions), 0,
     "not supported statically: put extensions in the -file-path or socket document"},
    {K "sasl-oauthbearer-file-path", FLAG_STRING, FOR_BOTH, AT(sasl_oauth_file), 0,
     "JSON {\"token\", \"zid\", \"extensions\"} read at every (re-)authentication"},
    {K "sasl-oauthbearer-http-socket-path", FLAG_STRING, FOR_BOTH, AT(sasl_oauth_socket), 0,
     "Unix socket answering GET / with that JSON, asked at every (re-)authentication"},
    {K "sasl-oauthbearer-http-socket-timeout", FLAG_DURATION, FOR_BOTH, AT(sasl_http_timeout_ms),
     1, "how long the socket may take (default 10s)"},
    {K "sasl-msk-iam-access-key", FLAG_STRING, FOR_BOTH, AT(sasl_aws_access_key), 0,
     "AWS_MSK_IAM access key id"},
    {K "sasl-msk-iam-secret-key", FLAG_STRING, FOR_BOTH, AT(sasl_aws_secret_key), 0,
     "AWS_MSK_IAM secret access key"},
    {K "sasl-msk-iam-session-token", FLAG_STRING, FOR_BOTH, AT(sasl_aws_session_token), 0,
     "AWS_MSK_IAM session token (temporary credentials)"},
    {K "sasl-msk-iam-user-agent", FLAG_STRING, FOR_BOTH, AT(sasl_aws_user_agent), 0,
     "AWS_MSK_IAM user agent"},
    {K "sasl-msk-iam-file-path", FLAG_STRING, FOR_BOTH, AT(sasl_aws_file), 0,
     "JSON {\"AccessKey\", \"SecretKey\", \"SessionToken\", \"UserAgent\"} read at every "
     "(re-)authentication"},
    {K "sasl-msk-iam-http-socket-path", FLAG_STRING, FOR_BOTH, AT(sasl_aws_socket), 0,
     "Unix socket answering GET / with that JSON"},
    {K "sasl-msk-iam-http-socket-timeout", FLAG_DURATION, FOR_BOTH, AT(sasl_http_timeout_ms), 1,
     "how long the socket may take (default 10s)"},
    {K "tls-enabled", FLAG_BOOL, FOR_BOTH, AT(tls_enabled), 0, "connect over TLS"},
    {K "tls-ca-path", FLAG_STRING, FOR_BOTH, AT(tls_ca), 0, "CA certificates (PEM)"},
    {K "tls-cert-path", FLAG_STRING, FOR_BOTH, AT(tls_cert), 0, "client certificate (PEM)"},
    {K "tls-key-path", FLAG_STRING, FOR_BOTH, AT(tls_key), 0, "client key (PEM)"},
    {K "tls-server-name", FLAG_STRING, FOR_BOTH, AT(tls_server_name), 0,
     "the name the broker's certificate must carry"},
    {K "tls-insecure-skip-verify", FLAG_BOOL, FOR_BOTH, AT(tls_insecure), 0,
     "verify no certificate (tests only)"},
    {K "tls-min-version", FLAG_STRING, FOR_BOTH, AT(tls_min_version), 0,
     "VersionTLS12 (default) or VersionTLS13"},
    {K "tls-cipher-suites", FLAG_STRING, FOR_BOTH, AT(tls_cipher_suites), 0,
     "comma-separated cipher suites (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, ...)"},
    {"partition", FLAG_INT, FOR_READER, AT(partition), 0, "the partition to read (required)"},
    {"writer-id", FLAG_INT, FOR_WRITER, AT(writer_id), 0, "this writer's number, in each record"},
    {"rate", FLAG_INT, FOR_WRITER, AT(rate), 0, "records per second (0: as fast as it can)"},
    {"count", FLAG_INT, FOR_WRITER, AT(count), 0, "stop after this many records (0: on SIGTERM)"},
    {"record-size-min", FLAG_INT, FOR_WRITER, AT(size_min), INGEST_PAYLOAD_HEADER,
     "smallest record value (default 1 MiB)"},
    {"record-size-max", FLAG_INT, FOR_WRITER, AT(size_max), INGEST_PAYLOAD_HEADER,
     "largest record value (default: the max record size less 4 KiB)"},
    {"seed", FLAG_INT, FOR_WRITER, AT(seed), 0, "random seed for sizes and partitions"},
    {"commit-interval", FLAG_DURATION, FOR_READER, AT(commit_interval_ms), 1,
     "how often the reader commits (default 1s)"},
    {"report-interval", FLAG_DURATION, FOR_BOTH, AT(report_interval_ms), 1,
     "how often progress and lag are printed (default 1s)"},
    {"exit-at-end", FLAG_BOOL, FOR_READER, AT(exit_at_end), 0,
     "stop (committing) once the end of the partition is reached"},
    {"log", FLAG_STRING, FOR_BOTH, AT(log_path), 0,
     "append one line per record written (acknowledged) or read to this file"},
};
#undef AT

static void print_help(bool writer)
{
    printf("usage: ingest %s [flags]\n\n", writer ? "writer" : "reader");
    printf("%s\n\n", writer ? "Writes records of 1-16 MB with a Version header, spread over the "
                              "topic's partitions."
                            : "Reads one partition from the committed offset + 1, commits the "
                              "last offset read\nevery -commit-interval and on SIGTERM/SIGINT, "
                              "and reports the lag.");
    for (size_t i = 0; i < sizeof flag_defs / sizeof *flag_defs; i++) {
        const flag_def *d = &flag_defs[i];
        if (d->used_by & (writer ? FOR_WRITER : FOR_READER))
            printf("  -%s%s\n        %s\n", d->name,
                   d->kind == FLAG_BOOL       ? ""
                   : d->kind == FLAG_STRING   ? " string"
                   : d->kind == FLAG_DURATION ? " duration"
                                              : " int",
                   d->help);
    }
}

/* "250ms", "10s", "2m", or plain milliseconds. */
static bool parse_duration(const char *s, int64_t *ms)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0)
        return false;
    double scale;
    if (strcmp(end, "ms") == 0 || !*end)
        scale = 1;
    else if (strcmp(end, "s") == 0)
        scale = 1000;
    else if (strcmp(end, "m") == 0)
        scale = 60000;
    else if (strcmp(end, "h") == 0)
        scale = 3600000;
    else
        return false;
    if (v * scale > 1e15)
        return false;
    *ms = (int64_t)(v * scale);
    return true;
}

static int set_flag(ingest_flags *f, const flag_def *d, const char *value)
{
    void *field = (char *)f + d->offset;
    char *end;
    long long v;
    switch (d->kind) {
    case FLAG_STRING:
        *(const char **)field = value;
        return 0;
    case FLAG_BOOL:
        if (strcmp(value, "true") && strcmp(value, "false") && strcmp(value, "1") &&
            strcmp(value, "0")) {
            fprintf(stderr, "ingest: -%s: '%s' is not true or false\n", d->name, value);
            return 2;
        }
        *(bool *)field = !strcmp(value, "true") || !strcmp(value, "1");
        return 0;
    case FLAG_INT:
        errno = 0;
        v = strtoll(value, &end, 10);
        if (!*value || *end || errno || v < d->min) {
            fprintf(stderr, "ingest: -%s: '%s' is not a whole number >= %lld\n", d->name, value,
                    (long long)d->min);
            return 2;
        }
        *(int64_t *)field = v;
        return 0;
    default: /* FLAG_DURATION */
        if (!parse_duration(value, (int64_t *)field) || *(int64_t *)field < d->min) {
            fprintf(stderr, "ingest: -%s: '%s' is not a duration (like 500ms, 10s, 2m)\n", d->name,
                    value);
            return 2;
        }
        return 0;
    }
}

int ingest_flags_parse(ingest_flags *f, bool writer, int argc, char **argv)
{
    *f = (ingest_flags){
        .auto_create = true,
        .max_record = INGEST_MAX_RECORD_DEFAULT,
        .max_buffered = 1 << 30,
        .write_timeout_ms = 10000,
        .dial_timeout_ms = 2000,
        .consumer_group = "ingest-<partition>",
        .fetch_concurrency = 12,
        .start_position = "last-offset",
        .partition = -1,
        .size_min = 1 << 20,
        .commit_interval_ms = 1000,
        .report_interval_ms = 1000,
        .seed = 1,
    };
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "-help") == 0 || strcmp(a, "--help") == 0) {
            print_help(writer);
            return 1;
        }
        if (a[0] != '-' || !a[1]) {
            fprintf(stderr, "ingest: unexpected argument '%s' (flags start with -)\n", a);
            return 2;
        }
        const char *name = a + (a[1] == '-' ? 2 : 1);
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const flag_def *d = NULL;
        for (size_t k = 0; k < sizeof flag_defs / sizeof *flag_defs && !d; k++)
            if (strlen(flag_defs[k].name) == nlen && !strncmp(flag_defs[k].name, name, nlen))
                d = &flag_defs[k];
        if (!d || !(d->used_by & (writer ? FOR_WRITER : FOR_READER))) {
            fprintf(stderr, "ingest: %s: unknown flag -%.*s (see ingest %s -h)\n",
                    writer ? "writer" : "reader", (int)nlen, name, writer ? "writer" : "reader");
            return 2;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value && d->kind == FLAG_BOOL)
            value = "true";
        if (!value) {
            if (i + 1 == argc) {
                fprintf(stderr, "ingest: flag -%s needs a value\n", d->name);
                return 2;
            }
            value = argv[++i];
        }
        int rc = set_flag(f, d, value);
        if (rc)
            return rc;
    }
    if (!f->address || !*f->address) {
        fprintf(stderr, "ingest: -" K "address is required\n");
        return 2;
    }
    if (!f->topic || !*f->topic) {
        fprintf(stderr, "ingest: -" K "topic is required\n");
        return 2;
    }
    if (!writer && f->partition < 0) {
        fprintf(stderr, "ingest: reader: -partition is required\n");
        return 2;
    }
    if (f->partition > INT32_MAX || f->partitions > INT32_MAX || f->fetch_concurrency > 1024) {
        fprintf(stderr, "ingest: -partition, -" K "auto-create-topic-default-partitions or -" K
                        "fetch-concurrency-max is too large\n");
        return 2;
    }
    if (f->max_record > INGEST_BATCH_MAX - 8192) {
        fprintf(stderr, "ingest: -" K "producer-max-record-size-bytes: %lld is over %d\n",
                (long long)f->max_record, INGEST_BATCH_MAX - 8192);
        return 2;
    }
    if (!f->size_max)
        f->size_max = f->max_record - 4096;
    if (f->size_max > f->max_record - 4096) { /* room for the key, the header, the framing */
        fprintf(stderr,
                "ingest: -record-size-max %lld does not fit -" K
                "producer-max-record-size-bytes %lld (at most %lld)\n",
                (long long)f->size_max, (long long)f->max_record, (long long)f->max_record - 4096);
        return 2;
    }
    if (f->size_min > f->size_max) {
        fprintf(stderr, "ingest: -record-size-min %lld is over -record-size-max %lld\n",
                (long long)f->size_min, (long long)f->size_max);
        return 2;
    }
    if (strcmp(f->start_position, "last-offset") && strcmp(f->start_position, "start") &&
        strcmp(f->start_position, "end")) {
        fprintf(stderr,
                "ingest: -" K "consume-from-position-at-startup: '%s' is not last-offset, start or "
                "end\n",
                f->start_position);
        return 2;
    }
    if (!strchr(f->consumer_group, '<') && !*f->consumer_group) {
        fprintf(stderr, "ingest: -" K "consumer-group is empty\n");
        return 2;
    }
    return 0;
}

bool ingest_client_options(const ingest_flags *f, kw_client_options *o, char *why, size_t len)
{
    *o = (kw_client_options){
        .bootstrap = f->address,
        .client_id = f->client_id,
        .connect_timeout_ms = (uint32_t)f->dial_timeout_ms,
    };
    const char *mech = f->sasl_mechanism ? f->sasl_mechanism : "PLAIN";
    if (f->sasl_oauth_zid || f->sasl_oauth_extensions) {
        snprintf(why, len, "-" K "sasl-oauthbearer-%s: not supported as a flag; put it in the "
                           "document of -" K "sasl-oauthbearer-file-path or -http-socket-path",
                 f->sasl_oauth_zid ? "zid" : "extensions");
        return false;
    }
    /* As Mimir does: PLAIN with neither user nor password means no SASL. */
    bool sasl = strcmp(mech, "PLAIN") != 0 || f->sasl_username || f->sasl_password;
    bool oauth = strcmp(mech, "OAUTHBEARER") == 0, aws = strcmp(mech, "AWS_MSK_IAM") == 0;
    if (sasl) {
        o->sasl_mechanism = mech;
        o->sasl_username = f->sasl_username;
        o->sasl_password = f->sasl_password;
        o->oauth_token = f->sasl_oauth_token;
        o->oauth_file = f->sasl_oauth_file;
        o->oauth_http_socket = f->sasl_oauth_socket;
        o->aws_access_key_id = f->sasl_aws_access_key;
        o->aws_secret_access_key = f->sasl_aws_secret_key;
        o->aws_session_token = f->sasl_aws_session_token;
        o->aws_user_agent = f->sasl_aws_user_agent;
        o->aws_file = f->sasl_aws_file;
        o->aws_http_socket = f->sasl_aws_socket;
        o->sasl_http_timeout_ms = (uint32_t)f->sasl_http_timeout_ms;
        if (oauth && !f->sasl_oauth_token && !f->sasl_oauth_file && !f->sasl_oauth_socket) {
            snprintf(why, len, "-" K "sasl-mechanism=OAUTHBEARER needs -" K
                               "sasl-oauthbearer-token, -file-path or -http-socket-path");
            return false;
        }
        if (aws && !f->sasl_aws_access_key && !f->sasl_aws_file && !f->sasl_aws_socket) {
            snprintf(why, len, "-" K "sasl-mechanism=AWS_MSK_IAM needs -" K
                               "sasl-msk-iam-access-key and -secret-key, -file-path or "
                               "-http-socket-path");
            return false;
        }
        if (!oauth && !aws && (!f->sasl_username || !f->sasl_password)) {
            snprintf(why, len, "-" K "sasl-mechanism=%s needs -" K "sasl-username and -" K
                               "sasl-password",
                     mech);
            return false;
        }
    }
    if (f->tls_min_version) { /* Mimir takes Go's names */
        if (!strcmp(f->tls_min_version, "VersionTLS12") || !strcmp(f->tls_min_version, "TLSv1.2")) {
            o->tls_min_version = "TLSv1.2";
        } else if (!strcmp(f->tls_min_version, "VersionTLS13") ||
                   !strcmp(f->tls_min_version, "TLSv1.3")) {
            o->tls_min_version = "TLSv1.3";
        } else {
            snprintf(why, len, "-" K "tls-min-version: '%s' is not VersionTLS12 or VersionTLS13",
                     f->tls_min_version);
            return false;
        }
    }
    o->tls_cipher_suites = f->tls_cipher_suites;
    o->security = f->tls_enabled ? (sasl ? KW_CLIENT_SASL_SSL : KW_CLIENT_SSL)
                                 : (sasl ? KW_CLIENT_SASL_PLAINTEXT : KW_CLIENT_PLAINTEXT);
    if (!f->tls_enabled && (f->tls_ca || f->tls_cert || f->tls_key || f->tls_server_name ||
                            f->tls_min_version || f->tls_cipher_suites)) {
        snprintf(why, len, "-" K "tls-* flags need -" K "tls-enabled=true");
        return false;
    }
    if (!f->tls_cert != !f->tls_key) {
        snprintf(why, len, "-" K "tls-cert-path and -" K "tls-key-path go together");
        return false;
    }
    o->tls_ca_file = f->tls_ca;
    o->tls_cert_file = f->tls_cert;
    o->tls_key_file = f->tls_key;
    o->tls_server_name = f->tls_server_name;
    o->tls_insecure_skip_verify = f->tls_insecure;
    return true;
}

int32_t ingest_topic_ensure(kw_client *c, const ingest_flags *f)
{
    bool created = false;
    /* A topic just created (by us or by another writer or reader) takes a moment to have
     * leaders everywhere: ask again for up to 15 s. */
    uint64_t deadline = ingest_mono_ms() + 15000;
    for (;;) {
        const char *names[1] = {f->topic};
        kw_client_metadata_args ma = {.topics = names, .topic_count = 1};
        kw_client_metadata_result md = {0};
        if (kw_client_metadata(c, &ma, &md) < 0) {
            fprintf(stderr, "ingest: metadata of %s: %s\n", f->topic,
                    md.detail[0] ? md.detail : kw_strerror(md.err));
            kw_client_metadata_result_free(&md);
            return -1;
        }
        int16_t kerr = md.topic_count ? md.topics[0].kerr : KW_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        int32_t n = md.topic_count ? (int32_t)md.topics[0].partition_count : 0;
        bool leaders = n > 0;
        for (int32_t i = 0; i < n; i++)
            leaders &= md.topics[0].partitions[i].leader >= 0;
        kw_client_metadata_result_free(&md);
        if (!kerr && leaders)
            return n;
        if (kerr && kerr != KW_KERR_UNKNOWN_TOPIC_OR_PARTITION &&
            kerr != KW_KERR_LEADER_NOT_AVAILABLE) {
            fprintf(stderr, "ingest: topic %s: %s\n", f->topic, kw_kerr_name(kerr));
            return -1;
        }
        if (kerr == KW_KERR_UNKNOWN_TOPIC_OR_PARTITION && !created) {
            if (!f->auto_create) {
                fprintf(stderr, "ingest: topic %s does not exist (-" K
                                "auto-create-topic-enabled=false)\n",
                        f->topic);
                return -1;
            }
            /* Mimir asks the broker (or topic) for message.max.bytes=16000000: the topic carries
             * it, so records up to the max record size fit without touching the broker. */
            char maxbytes[24];
            snprintf(maxbytes, sizeof maxbytes, "%d", INGEST_BATCH_MAX);
            kw_client_config_entry cfg = {"max.message.bytes", maxbytes};
            kw_client_new_topic t = {.name = f->topic,
                                     .partitions = (int32_t)f->partitions,
                                     .configs = &cfg,
                                     .config_count = 1};
            kw_client_create_topics_args ca = {.topics = &t, .topic_count = 1};
            kw_client_topics_result r = {0};
            kw_client_create_topics(c, &ca, &r);
            int16_t ck = r.topic_count ? r.topics[0].kerr : r.kerr;
            if (r.err && ck != KW_KERR_TOPIC_ALREADY_EXISTS) {
                fprintf(stderr, "ingest: creating topic %s: %s\n", f->topic,
                        r.detail[0] ? r.detail : kw_strerror(r.err));
                kw_client_topics_result_free(&r);
                return -1;
            }
            if (!r.err)
                fprintf(stderr, "ingest: created topic %s (%lld partitions, max.message.bytes %s)\n",
                        f->topic, (long long)f->partitions, maxbytes);
            kw_client_topics_result_free(&r);
            created = true;
        }
        if (ingest_mono_ms() >= deadline) {
            fprintf(stderr, "ingest: topic %s has no leader for every partition after 15 s%s%s\n",
                    f->topic, kerr ? ": " : "", kerr ? kw_kerr_name(kerr) : "");
            return -1;
        }
        struct timespec ts = {0, 200 * 1000000};
        nanosleep(&ts, NULL);
    }
}

void ingest_group_name(const ingest_flags *f, int32_t p, char *buf, size_t len)
{
    const char *g = f->consumer_group, *at = strstr(g, "<partition>");
    if (at)
        snprintf(buf, len, "%.*s%d%s", (int)(at - g), g, (int)p, at + strlen("<partition>"));
    else
        snprintf(buf, len, "%s", g);
}

uint64_t ingest_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int64_t ingest_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
