/* The [wal] TOML section (GreptimeDB's names, sizes, durations) checked and put in kw__wal_config. */
#include "wal/config.h"

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kwal/error.h"
#include "proto/api_release.h"
#include "wal/toml.h"

#define KIB ((uint64_t)1024)
#define MIB (KIB * 1024)
#define MAX_FILE_BYTES ((size_t)1 << 20)

/* What a key's value must be. */
enum kind {
    K_STRING,
    K_BOOL,
    K_INT,
    K_SIZE,
    K_DURATION,
    K_ENDPOINTS, /* array of "host:port" strings */
    K_NUMBER,    /* integer or float */
    K_TABLE,
};

/* How a key's value is stored once checked. */
enum store {
    ST_NONE,   /* the key's check function stores it (or nothing to store) */
    ST_BOOL,   /* bool */
    ST_U32,    /* uint32_t, within [lo, hi] */
    ST_U64,    /* uint64_t, within [lo, hi] */
    ST_SIZE_T, /* size_t, within [lo, hi] */
    ST_I16,    /* int16_t, within [lo, hi] */
    ST_STR,    /* char *, a heap copy the config owns (freed by kw__wal_config_free) */
};

/* The options a key sets; two names for one option share an id ("given twice" is caught). */
enum key_id {
    W_PROVIDER, W_BROKER_ENDPOINTS, W_MAX_BATCH_BYTES, W_OVERWRITE_ENTRY_START_ID,
    W_CONNECT_TIMEOUT, W_TIMEOUT, W_AUTO_CREATE_TOPICS, W_NUM_TOPICS, W_NUM_PARTITIONS,
    W_SELECTOR_TYPE, W_REPLICATION_FACTOR, W_TOPIC_NAME_PREFIX, W_CREATE_TOPIC_TIMEOUT,
    W_AUTO_PRUNE_INTERVAL, W_AUTO_PRUNE_PARALLELISM, W_FLUSH_TRIGGER_SIZE,
    W_CHECKPOINT_TRIGGER_SIZE, W_DIR, W_SEGMENT_BYTES, W_TOPIC, W_RECORD_FORMAT, W_COMPRESSION,
    W_FETCH_MAX_BYTES, W_MAX_BUFFERED_BYTES, W_APPEND_FAIL_FAST, W_MAX_IN_FLIGHT,
    W_NO_IDEMPOTENCE, W_NO_COALESCE, W_NO_REGION_RUNS, W_STRICT_RECORDS, W_INDEX_TOPIC, W_NO_INDEX,
    W_INDEX_INTERVAL, W_SASL, W_TLS, W_API_VERSION_MAX,
    W_UNUSED, /* a GreptimeDB key kwal reads, checks and does not use */
    S_TYPE, S_USERNAME, S_PASSWORD, S_KERBEROS_SERVICE, S_TOKEN, S_TOKEN_FILE,
    S_AWS_ACCESS_KEY_ID, S_AWS_SECRET_ACCESS_KEY, S_AWS_SESSION_TOKEN, S_AWS_REGION,
    S_AWS_USER_AGENT,
    S_OAUTH_FILE, S_OAUTH_HTTP_SOCKET, S_AWS_FILE, S_AWS_HTTP_SOCKET, S_HTTP_TIMEOUT,
    T_SERVER_CA, T_SERVER_CA_DIR, T_CLIENT_CERT, T_CLIENT_KEY, T_SERVER_NAME,
    T_NO_HOSTNAME_CHECK, T_INSECURE_SKIP_VERIFY, T_MIN_VERSION, T_CIPHER_SUITES,
    KEY_IDS
};

typedef struct ctx ctx;
typedef struct keydef keydef;
/* A key's own check (after its TOML type), and for ST_NONE keys the storing too; 0 or an error. */
typedef int key_check_fn(ctx *c, const kw__toml_entry *e, const keydef *k, const char *s,
                         uint64_t num);

/* One row per key: its name, TOML kind, which option, where and how it goes, its limits. */
struct keydef {
    const char *name;
    unsigned char kind;  /* enum kind */
    unsigned char id;    /* enum key_id */
    unsigned char store; /* enum store */
    size_t off;          /* offset of the field in kw__wal_config */
    int64_t lo, hi;      /* numbers: the accepted range (hi 0: any) */
    const char *unit;    /* for range messages: " bytes", " ms", "" */
    key_check_fn *check; /* NULL: the kind and range say all */
};

#define AT(field) offsetof(kw__wal_config, field)

static key_check_fn check_provider, check_endpoints, check_selector, check_prefix_key,
    check_nonempty, check_topic_key, check_format, check_compression, check_api_version_max,
    check_sasl_table, check_tls_table, check_unused, check_mechanism, check_krb_service,
    check_server_name, check_min_version;

static const keydef wal_keys[] = {
    {"provider", K_STRING, W_PROVIDER, ST_NONE, 0, 0, 0, "", check_provider},
    {"broker_endpoints", K_ENDPOINTS, W_BROKER_ENDPOINTS, ST_NONE, 0, 0, 0, "", check_endpoints},
    {"max_batch_bytes", K_SIZE, W_MAX_BATCH_BYTES, ST_SIZE_T, AT(wal.max_batch_bytes), 1,
     INT32_MAX, " bytes", NULL},
    {"max_batch_size", K_SIZE, W_MAX_BATCH_BYTES, ST_SIZE_T, AT(wal.max_batch_bytes), 1,
     INT32_MAX, " bytes", NULL},
    {"overwrite_entry_start_id", K_BOOL, W_OVERWRITE_ENTRY_START_ID, ST_BOOL,
     AT(wal.overwrite_entry_start_id), 0, 0, "", NULL},
    {"connect_timeout", K_DURATION, W_CONNECT_TIMEOUT, ST_U32, AT(wal.kafka.connect_timeout_ms),
     1, UINT32_MAX, " ms", NULL},
    {"timeout", K_DURATION, W_TIMEOUT, ST_U32, AT(wal.timeout_ms), 1, UINT32_MAX, " ms", NULL},
    {"auto_create_topics", K_BOOL, W_AUTO_CREATE_TOPICS, ST_BOOL, AT(auto_create_topics), 0, 0,
     "", NULL},
    {"num_topics", K_INT, W_NUM_TOPICS, ST_U32, AT(num_topics), 1, 1000000, "", NULL},
    {"num_partitions", K_INT, W_NUM_PARTITIONS, ST_U32, AT(num_partitions), 1, INT32_MAX, "", NULL},
    {"selector_type", K_STRING, W_SELECTOR_TYPE, ST_NONE, 0, 0, 0, "", check_selector},
    {"replication_factor", K_INT, W_REPLICATION_FACTOR, ST_I16, AT(replication_factor), 1,
     INT16_MAX, "", NULL},
    {"topic_name_prefix", K_STRING, W_TOPIC_NAME_PREFIX, ST_STR, AT(topic_name_prefix), 0, 0, "",
     check_prefix_key},
    {"create_topic_timeout", K_DURATION, W_CREATE_TOPIC_TIMEOUT, ST_U32,
     AT(create_topic_timeout_ms), 1, UINT32_MAX, " ms", NULL},
    {"auto_prune_interval", K_DURATION, W_AUTO_PRUNE_INTERVAL, ST_U64, AT(auto_prune_interval_ms),
     0, 0, "", NULL},
    {"auto_prune_parallelism", K_INT, W_AUTO_PRUNE_PARALLELISM, ST_U32,
     AT(auto_prune_parallelism), 1, 65535, "", NULL},
    {"flush_trigger_size", K_SIZE, W_FLUSH_TRIGGER_SIZE, ST_U64, AT(flush_trigger_size), 0, 0, "",
     NULL},
    {"checkpoint_trigger_size", K_SIZE, W_CHECKPOINT_TRIGGER_SIZE, ST_U64,
     AT(checkpoint_trigger_size), 0, 0, "", NULL},
    {"dir", K_STRING, W_DIR, ST_STR, AT(wal.dir), 0, 0, "", check_nonempty},
    /* Below 1 MiB a segment holds too little to be worth a file; file_size is raft-engine's. */
    {"segment_bytes", K_SIZE, W_SEGMENT_BYTES, ST_SIZE_T, AT(wal.segment_bytes), (int64_t)MIB,
     INT64_MAX, " bytes", NULL},
    {"file_size", K_SIZE, W_SEGMENT_BYTES, ST_SIZE_T, AT(wal.segment_bytes), (int64_t)MIB,
     INT64_MAX, " bytes", NULL},
    {"topic", K_STRING, W_TOPIC, ST_STR, AT(wal.topic), 0, 0, "", check_topic_key},
    {"record_format", K_STRING, W_RECORD_FORMAT, ST_NONE, 0, 0, 0, "", check_format},
    {"compression", K_STRING, W_COMPRESSION, ST_NONE, 0, 0, 0, "", check_compression},
    {"fetch_max_bytes", K_SIZE, W_FETCH_MAX_BYTES, ST_SIZE_T, AT(wal.fetch_max_bytes), 1,
     INT32_MAX, " bytes", NULL},
    {"max_buffered_bytes", K_SIZE, W_MAX_BUFFERED_BYTES, ST_SIZE_T, AT(wal.max_buffered_bytes), 1,
     INT64_MAX, " bytes", NULL},
    {"append_fail_fast", K_BOOL, W_APPEND_FAIL_FAST, ST_BOOL, AT(wal.append_fail_fast), 0, 0, "",
     NULL},
    {"max_in_flight", K_INT, W_MAX_IN_FLIGHT, ST_U32, AT(wal.max_in_flight), 1, 1024, "", NULL},
    {"no_idempotence", K_BOOL, W_NO_IDEMPOTENCE, ST_BOOL, AT(wal.no_idempotence), 0, 0, "", NULL},
    {"no_coalesce", K_BOOL, W_NO_COALESCE, ST_BOOL, AT(wal.no_coalesce), 0, 0, "", NULL},
    {"no_region_runs", K_BOOL, W_NO_REGION_RUNS, ST_BOOL, AT(wal.no_region_runs), 0, 0, "",
     NULL},
    {"strict_records", K_BOOL, W_STRICT_RECORDS, ST_BOOL, AT(wal.strict_records), 0, 0, "", NULL},
    {"index_topic", K_STRING, W_INDEX_TOPIC, ST_STR, AT(wal.index_topic), 0, 0, "",
     check_topic_key},
    {"no_index", K_BOOL, W_NO_INDEX, ST_BOOL, AT(wal.no_index), 0, 0, "", NULL},
    {"index_interval", K_DURATION, W_INDEX_INTERVAL, ST_U32, AT(wal.index_interval_ms), 1,
     UINT32_MAX, " ms", NULL},
    /* kw_client_options.api_version_max: a Kafka release ("3.9.0") whose API versions cap kwal's */
    {"api_version_max", K_STRING, W_API_VERSION_MAX, ST_STR, AT(wal.kafka.api_version_max), 0, 0,
     "", check_api_version_max},
    {"sasl", K_TABLE, W_SASL, ST_NONE, 0, 0, 0, "", check_sasl_table},
    {"tls", K_TABLE, W_TLS, ST_NONE, 0, 0, 0, "", check_tls_table},
    /* GreptimeDB's raft-engine and rskafka tuning keys: a real config file carries them. */
    {"purge_threshold", K_SIZE, W_UNUSED, ST_NONE, 0, 0, 0, "", check_unused},
    {"purge_interval", K_DURATION, W_UNUSED, ST_NONE, 0, 0, 0, "", check_unused},
    {"read_batch_size", K_INT, W_UNUSED, ST_NONE, 0, 0, 0, "", check_unused},
    {"sync_write", K_BOOL, W_UNUSED, ST_NONE, 0, 0, 0, "", check_unused},
    {"enable_log_recycle", K_BOOL, W_UNUSED, ST_NONE, 0, 0, 0, "", check_unused},
    {"prefill_log_files", K_BOOL, W_UNUSED, ST_NONE, 0, 0, 0, "", check_unused},
    {"sync_period", K_DURATION, W_UNUSED, ST_NONE, 0, 0, 0, "", check_unused},
    {"recovery_parallelism", K_INT, W_UNUSED, ST_NONE, 0, 0, 0, "", check_unused},
    {"consumer_wait_timeout", K_DURATION, W_UNUSED, ST_NONE, 0, 0, 0, "", check_unused},
    {"backoff_init", K_DURATION, W_UNUSED, ST_NONE, 0, 0, 0, "", check_unused},
    {"backoff_max", K_DURATION, W_UNUSED, ST_NONE, 0, 0, 0, "", check_unused},
    {"backoff_base", K_NUMBER, W_UNUSED, ST_NONE, 0, 0, 0, "", check_unused},
    {"backoff_deadline", K_DURATION, W_UNUSED, ST_NONE, 0, 0, 0, "", check_unused},
    {"create_index", K_BOOL, W_UNUSED, ST_NONE, 0, 0, 0, "", check_unused},
    {"dump_index_interval", K_DURATION, W_UNUSED, ST_NONE, 0, 0, 0, "", check_unused},
    {"auto_prune_logical_delete", K_BOOL, W_UNUSED, ST_NONE, 0, 0, 0, "", check_unused},
    {"trigger_flush_threshold", K_INT, W_UNUSED, ST_NONE, 0, 0, 0, "", check_unused},
    /* ... and the ones older GreptimeDB files have (0.5 to 0.8). */
    {"linger", K_DURATION, W_UNUSED, ST_NONE, 0, 0, 0, "", check_unused},
    {"produce_record_timeout", K_DURATION, W_UNUSED, ST_NONE, 0, 0, 0, "", check_unused},
    {"max_wait_time", K_DURATION, W_UNUSED, ST_NONE, 0, 0, 0, "", check_unused},
    {NULL, 0, 0, 0, 0, 0, 0, NULL, NULL},
};

/* GreptimeDB's [wal.sasl] keys (type, username, password), then kwal's own. */
static const keydef sasl_keys[] = {
    {"type", K_STRING, S_TYPE, ST_STR, AT(wal.kafka.sasl_mechanism), 0, 0, "", check_mechanism},
    {"username", K_STRING, S_USERNAME, ST_STR, AT(wal.kafka.sasl_username), 0, 0, "",
     check_nonempty},
    {"password", K_STRING, S_PASSWORD, ST_STR, AT(wal.kafka.sasl_password), 0, 0, "", NULL},
    {"kerberos_service_name", K_STRING, S_KERBEROS_SERVICE, ST_STR,
     AT(wal.kafka.sasl_kerberos_service_name), 0, 0, "", check_krb_service},
    {"token", K_STRING, S_TOKEN, ST_STR, AT(wal.kafka.oauth_token), 0, 0, "", check_nonempty},
    {"token_file", K_STRING, S_TOKEN_FILE, ST_STR, AT(wal.kafka.oauth_token_file), 0, 0, "",
     check_nonempty},
    /* AWS_MSK_IAM: static credentials, the region, the user agent (kw_client_options aws_*). */
    {"aws_access_key_id", K_STRING, S_AWS_ACCESS_KEY_ID, ST_STR, AT(wal.kafka.aws_access_key_id),
     0, 0, "", check_nonempty},
    {"aws_secret_access_key", K_STRING, S_AWS_SECRET_ACCESS_KEY, ST_STR,
     AT(wal.kafka.aws_secret_access_key), 0, 0, "", check_nonempty},
    {"aws_session_token", K_STRING, S_AWS_SESSION_TOKEN, ST_STR, AT(wal.kafka.aws_session_token),
     0, 0, "", check_nonempty},
    {"aws_region", K_STRING, S_AWS_REGION, ST_STR, AT(wal.kafka.aws_region), 0, 0, "",
     check_nonempty},
    {"aws_user_agent", K_STRING, S_AWS_USER_AGENT, ST_STR, AT(wal.kafka.aws_user_agent), 0, 0, "",
     check_nonempty},
    /* Credential documents (JSON), read anew at each (re-)authentication: a file or GET / on a
     * Unix socket; the timeout bounds each HTTP request. */
    {"oauthbearer_file", K_STRING, S_OAUTH_FILE, ST_STR, AT(wal.kafka.oauth_file), 0, 0, "",
     check_nonempty},
    {"oauthbearer_http_socket", K_STRING, S_OAUTH_HTTP_SOCKET, ST_STR,
     AT(wal.kafka.oauth_http_socket), 0, 0, "", check_nonempty},
    {"aws_file", K_STRING, S_AWS_FILE, ST_STR, AT(wal.kafka.aws_file), 0, 0, "", check_nonempty},
    {"aws_http_socket", K_STRING, S_AWS_HTTP_SOCKET, ST_STR, AT(wal.kafka.aws_http_socket), 0, 0,
     "", check_nonempty},
    {"http_socket_timeout", K_DURATION, S_HTTP_TIMEOUT, ST_U32, AT(wal.kafka.sasl_http_timeout_ms),
     1, 86400000, " ms", NULL},
    {NULL, 0, 0, 0, 0, 0, 0, NULL, NULL},
};

/* GreptimeDB's [wal.tls] keys (the three paths), then kwal's own. */
static const keydef tls_keys[] = {
    {"server_ca_cert_path", K_STRING, T_SERVER_CA, ST_STR, AT(wal.kafka.tls_ca_file), 0, 0, "",
     check_nonempty},
    {"server_ca_cert_dir", K_STRING, T_SERVER_CA_DIR, ST_STR, AT(wal.kafka.tls_ca_dir), 0, 0, "",
     check_nonempty},
    {"client_cert_path", K_STRING, T_CLIENT_CERT, ST_STR, AT(wal.kafka.tls_cert_file), 0, 0, "",
     check_nonempty},
    {"client_key_path", K_STRING, T_CLIENT_KEY, ST_STR, AT(wal.kafka.tls_key_file), 0, 0, "",
     check_nonempty},
    {"server_name", K_STRING, T_SERVER_NAME, ST_STR, AT(wal.kafka.tls_server_name), 0, 0, "",
     check_server_name},
    {"no_hostname_check", K_BOOL, T_NO_HOSTNAME_CHECK, ST_BOOL,
     AT(wal.kafka.tls_no_hostname_check), 0, 0, "", NULL},
    {"insecure_skip_verify", K_BOOL, T_INSECURE_SKIP_VERIFY, ST_BOOL,
     AT(wal.kafka.tls_insecure_skip_verify), 0, 0, "", NULL},
    {"min_version", K_STRING, T_MIN_VERSION, ST_STR, AT(wal.kafka.tls_min_version), 0, 0, "",
     check_min_version},
    /* OpenSSL or IANA names, ':' or ',' separated; the client checks each name. */
    {"cipher_suites", K_STRING, T_CIPHER_SUITES, ST_STR, AT(wal.kafka.tls_cipher_suites), 0, 0,
     "", check_nonempty},
    {NULL, 0, 0, 0, 0, 0, 0, NULL, NULL},
};

/* Strings the config owns outside the tables (kw__wal_config_free frees these and every ST_STR). */
static const size_t other_strings[] = {AT(wal.kafka.bootstrap)};

struct ctx {
    kw__wal_config *cfg;
    const char *file;
    char *err;
    size_t errlen;
    /* Where a key was set, to catch an option given under both of its names. */
    const kw__toml_entry *seen[KEY_IDS];
    const char *where; /* "", "sasl.", "tls.": the table being read, for messages */
    int unused; /* GreptimeDB keys accepted and not used, listed in one note */
};

__attribute__((format(printf, 3, 4))) static int fail(ctx *c, int line, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        int n = snprintf(c->err, c->errlen, "%s:%d: ", c->file, line);
        if (n >= 0 && (size_t)n < c->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return KW_ECONFIG;
}

static void note(kw__wal_config *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(kw__wal_config *cfg, const char *fmt, ...)
{
    size_t used = strlen(cfg->notes);
    if (used + 1 >= sizeof(cfg->notes))
        return;
    va_list ap;
    va_start(ap, fmt);
    /* A note that does not fit is cut; notes are for logs, nothing depends on them. */
    vsnprintf(cfg->notes + used, sizeof(cfg->notes) - used, fmt, ap);
    va_end(ap);
}

static int set_string(char **field, const char *s)
{
    char *copy = strdup(s);
    if (!copy)
        return KW_ENOMEM;
    free(*field);
    *field = copy;
    return 0;
}

/* The option fields are const for hosts; the config allocated them. */
#define OWNED(p) ((char **)(void *)&(p))

/* Sizes and durations ------------------------------------------------------------- */

int kw__wal_config_parse_size(const char *s, uint64_t *out)
{
    static const struct {
        const char *name;
        unsigned shift;
    } units[] = {
        {"", 0},    {"B", 0},    {"K", 10},  {"KB", 10},  {"KiB", 10}, {"M", 20},
        {"MB", 20}, {"MiB", 20}, {"G", 30},  {"GB", 30},  {"GiB", 30}, {"T", 40},
        {"TB", 40}, {"TiB", 40}, {"P", 50},  {"PB", 50},  {"PiB", 50},
    };
    while (*s == ' ')
        s++;
    if (*s < '0' || *s > '9')
        return -1;
    unsigned __int128 whole = 0;
    while (*s >= '0' && *s <= '9') {
        whole = whole * 10 + (unsigned)(*s++ - '0');
        if (whole > UINT64_MAX)
            return -1;
    }
    /* A fraction of up to 9 digits: "0.5MB" as GreptimeDB allows. */
    uint64_t frac = 0, scale = 1;
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9')
            return -1;
        while (*s >= '0' && *s <= '9') {
            if (scale == 1000000000)
                return -1;
            frac = frac * 10 + (uint64_t)(*s++ - '0');
            scale *= 10;
        }
    }
    while (*s == ' ')
        s++;
    size_t ulen = 0;
    while ((s[ulen] >= 'A' && s[ulen] <= 'Z') || (s[ulen] >= 'a' && s[ulen] <= 'z'))
        ulen++;
    const char *rest = s + ulen;
    while (*rest == ' ')
        rest++;
    if (*rest)
        return -1;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strlen(units[i].name) != ulen || memcmp(units[i].name, s, ulen) != 0)
            continue;
        unsigned __int128 v = (whole << units[i].shift) +
                              (((unsigned __int128)frac << units[i].shift) / scale);
        if (v > UINT64_MAX)
            return -1;
        *out = (uint64_t)v;
        return 0;
    }
    return -1;
}

int kw__wal_config_parse_duration(const char *s, uint64_t *ms)
{
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {
        {"nanos", 1},
        {"nsec", 1},
        {"ns", 1},
        {"usec", 1000},
        {"us", 1000},
        {"millis", 1000000},
        {"msec", 1000000},
        {"ms", 1000000},
        {"seconds", 1000000000},
        {"second", 1000000000},
        {"secs", 1000000000},
        {"sec", 1000000000},
        {"s", 1000000000},
        {"minutes", 60000000000},
        {"minute", 60000000000},
        {"mins", 60000000000},
        {"min", 60000000000},
        {"m", 60000000000},
        {"hours", 3600000000000},
        {"hour", 3600000000000},
        {"hrs", 3600000000000},
        {"hr", 3600000000000},
        {"h", 3600000000000},
        {"days", 86400000000000},
        {"day", 86400000000000},
        {"d", 86400000000000},
        {"weeks", 604800000000000},
        {"week", 604800000000000},
        {"w", 604800000000000},
        /* humantime's month and year: 30.44 and 365.25 days */
        {"months", 2630016000000000},
        {"month", 2630016000000000},
        {"M", 2630016000000000},
        {"years", 31557600000000000},
        {"year", 31557600000000000},
        {"y", 31557600000000000},
    };
    while (*s == ' ')
        s++;
    if (strcmp(s, "0") == 0) {
        *ms = 0;
        return 0;
    }
    if (!*s)
        return -1;
    unsigned __int128 total = 0;
    while (*s) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned __int128 n = 0;
        while (*s >= '0' && *s <= '9') {
            n = n * 10 + (unsigned)(*s++ - '0');
            if (n > UINT64_MAX)
                return -1;
        }
        while (*s == ' ')
            s++;
        size_t ulen = 0;
        while ((s[ulen] >= 'A' && s[ulen] <= 'Z') || (s[ulen] >= 'a' && s[ulen] <= 'z'))
            ulen++;
        size_t i;
        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (strlen(units[i].name) == ulen && memcmp(units[i].name, s, ulen) == 0)
                break;
        if (ulen == 0 || i == sizeof(units) / sizeof(units[0]))
            return -1;
        total += n * units[i].ns;
        if (total > UINT64_MAX)
            return -1;
        s += ulen;
        while (*s == ' ')
            s++;
    }
    if (total % 1000000)
        return -1;
    *ms = (uint64_t)(total / 1000000);
    return 0;
}

/* Checks --------------------------------------------------------------------------- */

/* "host:port" with a port 1..65535; "[v6]:port" works the same way. */
static bool is_endpoint(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || !colon[1])
        return false;
    for (const char *p = s; p < colon; p++)
        if (*p == ' ' || *p == '\t' || *p == ',' || *p == '/')
            return false;
    unsigned port = 0;
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9' || port > 65535)
            return false;
        port = port * 10 + (unsigned)(*p - '0');
    }
    return port >= 1 && port <= 65535;
}

static bool kafka_topic_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '-';
}

/*
 * GreptimeDB checks the prefix against [a-zA-Z_:-][a-zA-Z0-9_:\-\.@#]*; Kafka
 * then refuses ':', '@' and '#' in a topic name, so kwal says so here rather
 * than when the first CreateTopics fails.
 */
static int check_prefix(ctx *c, int line, const char *s)
{
    const char *first_ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:-";
    const char *rest_ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:-.@#";
    bool ok = s[0] && strchr(first_ok, s[0]);
    for (size_t i = 1; ok && s[i]; i++)
        ok = strchr(rest_ok, s[i]) != NULL;
    if (!ok)
        return fail(c, line,
                    "topic_name_prefix: '%s' does not match [a-zA-Z_:-][a-zA-Z0-9_:\\-\\.@#]*", s);
    for (size_t i = 0; s[i]; i++)
        if (!kafka_topic_char(s[i]))
            return fail(c, line,
                        "topic_name_prefix: '%s' has '%c', which Kafka does not allow in topic "
                        "names (letters, digits, '.', '_', '-')",
                        s, s[i]);
    return 0;
}

static int check_topic(ctx *c, int line, const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 249 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return fail(c, line, "topic: '%s' is not a valid Kafka topic name", s);
    for (size_t i = 0; i < n; i++)
        if (!kafka_topic_char(s[i]))
            return fail(c, line,
                        "topic: '%s' has '%c', which Kafka does not allow in topic names "
                        "(letters, digits, '.', '_', '-')",
                        s, s[i]);
    return 0;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    size_t row[41];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* A known key close to an unknown one: a typo, or a shortening ("brokers"). */
static const char *suggest(const keydef *keys, const char *key)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (const keydef *k = keys; k->name; k++) {
        size_t d = edit_distance(key, k->name);
        if (d < best_d) {
            best_d = d;
            best = k->name;
        }
    }
    if (best)
        return best;
    size_t n = strlen(key);
    if (n > 1 && key[n - 1] == 's')
        n--; /* brokers -> broker */
    if (n < 4)
        return NULL;
    for (const keydef *k = keys; k->name; k++)
        if (strncmp(k->name, key, n) == 0)
            return k->name;
    return NULL;
}

static const char *a_type(int type)
{
    switch (type) {
    case KW_TOML_STRING: return "a string";
    case KW_TOML_INTEGER: return "an integer";
    case KW_TOML_FLOAT: return "a float";
    case KW_TOML_BOOL: return "a boolean";
    case KW_TOML_ARRAY: return "an array";
    default: return "a table";
    }
}

/* Checks the TOML type against the key's kind; a size or a duration is checked here too. */
static int check_kind(ctx *c, const char *where, const kw__toml_entry *e, int kind, uint64_t *num)
{
    const kw__toml_value *v = e->value;
    switch (kind) {
    case K_STRING:
        if (v->type != KW_TOML_STRING)
            return fail(c, e->line, "%s%s: expected a string, not %s", where, e->key,
                        a_type(v->type));
        return 0;
    case K_BOOL:
        if (v->type != KW_TOML_BOOL)
            return fail(c, e->line, "%s%s: expected true or false, not %s", where, e->key,
                        a_type(v->type));
        return 0;
    case K_INT:
        if (v->type != KW_TOML_INTEGER)
            return fail(c, e->line, "%s%s: expected an integer, not %s", where, e->key,
                        a_type(v->type));
        return 0;
    case K_NUMBER:
        if (v->type != KW_TOML_INTEGER && v->type != KW_TOML_FLOAT)
            return fail(c, e->line, "%s%s: expected a number, not %s", where, e->key,
                        a_type(v->type));
        return 0;
    case K_SIZE:
        if (v->type == KW_TOML_INTEGER) {
            if (v->u.integer < 0)
                return fail(c, e->line, "%s%s: a size cannot be negative", where, e->key);
            *num = (uint64_t)v->u.integer;
            return 0;
        }
        if (v->type != KW_TOML_STRING)
            return fail(c, e->line, "%s%s: expected a size such as \"1MiB\", not %s", where, e->key,
                        a_type(v->type));
        if (kw__wal_config_parse_size(v->u.str.ptr, num) != 0)
            return fail(c, e->line, "%s%s: '%s' is not a size (use B, KB, MB, GB, KiB, MiB, GiB)",
                        where, e->key, v->u.str.ptr);
        return 0;
    case K_DURATION:
        if (v->type != KW_TOML_STRING)
            return fail(c, e->line, "%s%s: expected a duration such as \"3s\", not %s", where,
                        e->key, a_type(v->type));
        if (kw__wal_config_parse_duration(v->u.str.ptr, num) != 0)
            return fail(c, e->line,
                        "%s%s: '%s' is not a duration (use ms, s, m, h, d, as in \"1h30m\")",
                        where, e->key, v->u.str.ptr);
        return 0;
    case K_ENDPOINTS:
        if (v->type != KW_TOML_ARRAY)
            return fail(c, e->line, "%s%s: expected an array of \"host:port\" strings, not %s",
                        where, e->key, a_type(v->type));
        return 0;
    default:
        if (v->type != KW_TOML_TABLE)
            return fail(c, e->line, "%s%s: expected a table ([wal.%s]), not %s", where, e->key,
                        e->key, a_type(v->type));
        return 0;
    }
}

/* A number within [lo, hi] (an integer, or a size or duration already in *num). */
static int in_range(ctx *c, const kw__toml_entry *e, int64_t v, int64_t lo, int64_t hi,
                    const char *unit)
{
    if (v < lo || v > hi)
        return fail(c, e->line, "%s: %lld%s is out of range (%lld to %lld%s)", e->key,
                    (long long)v, unit, (long long)lo, (long long)hi, unit);
    return 0;
}

/* Sizes and durations come as uint64; clamp for the range check without wrapping. */
static int64_t as_i64(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* The key's own checks (key_check_fn) ----------------------------------------------- */

static int check_provider(ctx *c, const kw__toml_entry *e, const keydef *k, const char *s,
                          uint64_t num)
{
    kw__wal_config *cfg = c->cfg;
    if (strcmp(s, "kafka") == 0) {
        cfg->wal.provider = KW_WAL_PROVIDER_KAFKA;
    } else if (strcmp(s, "local") == 0) {
        cfg->wal.provider = KW_WAL_PROVIDER_LOCAL;
    } else if (strcmp(s, "raft_engine") == 0) {
        /* GreptimeDB's embedded log; kwal's embedded log takes its place (not its files). */
        cfg->wal.provider = KW_WAL_PROVIDER_LOCAL;
        cfg->provider_from_raft_engine = true;
        note(cfg,
             "%s:%d: provider 'raft_engine' is read as 'local' (kwal's own log format, not "
             "raft-engine files)\n",
             c->file, e->line);
    } else {
        return fail(c, e->line, "provider: '%s' is not a provider (use \"local\" or \"kafka\")", s);
    }
    return 0;
}

/* An array of "host:port" strings, joined into the client's one "host:port,host:port". */
static int check_endpoints(ctx *c, const kw__toml_entry *e, const keydef *k, const char *s,
                           uint64_t num)
{
    const kw__toml_value *a = e->value;
    if (a->u.array.count == 0)
        return fail(c, e->line, "broker_endpoints: the list is empty");
    size_t total = 0;
    for (size_t i = 0; i < a->u.array.count; i++) {
        const kw__toml_value *item = a->u.array.items[i];
        if (item->type != KW_TOML_STRING)
            return fail(c, item->line, "broker_endpoints: expected \"host:port\" strings, not %s",
                        a_type(item->type));
        if (!is_endpoint(item->u.str.ptr))
            return fail(c, item->line, "broker_endpoints: '%s' is not host:port", item->u.str.ptr);
        total += item->u.str.len + 1;
    }
    char *joined = malloc(total);
    if (!joined)
        return KW_ENOMEM;
    size_t at = 0;
    for (size_t i = 0; i < a->u.array.count; i++) {
        const kw__toml_value *item = a->u.array.items[i];
        if (i)
            joined[at++] = ',';
        memcpy(joined + at, item->u.str.ptr, item->u.str.len);
        at += item->u.str.len;
    }
    joined[at] = 0;
    free(*OWNED(c->cfg->wal.kafka.bootstrap));
    c->cfg->wal.kafka.bootstrap = joined;
    return 0;
}

static int check_selector(ctx *c, const kw__toml_entry *e, const keydef *k, const char *s,
                          uint64_t num)
{
    if (strcmp(s, "round_robin") != 0 && strcmp(s, "random") != 0)
        return fail(c, e->line,
                    "selector_type: '%s' is not a selector (use \"round_robin\" or \"random\")", s);
    c->cfg->selector_random = strcmp(s, "random") == 0;
    return 0;
}

static int check_prefix_key(ctx *c, const kw__toml_entry *e, const keydef *k, const char *s,
                            uint64_t num)
{
    return check_prefix(c, e->line, s);
}

static int check_topic_key(ctx *c, const kw__toml_entry *e, const keydef *k, const char *s,
                           uint64_t num)
{
    return check_topic(c, e->line, s);
}

static int check_nonempty(ctx *c, const kw__toml_entry *e, const keydef *k, const char *s,
                          uint64_t num)
{
    if (s[0])
        return 0;
    const char *what = k->id == S_USERNAME ? "name"
                       : k->id == S_TOKEN  ? "token"
                       : k->id >= S_AWS_ACCESS_KEY_ID && k->id <= S_AWS_USER_AGENT ? "value"
                                           : "path";
    return fail(c, e->line, "%s%s: the %s is empty", c->where, e->key, what);
}

static int check_format(ctx *c, const kw__toml_entry *e, const keydef *k, const char *s,
                        uint64_t num)
{
    if (strcmp(s, "kwal") == 0)
        c->cfg->wal.record_format = KW_WAL_FORMAT_KWAL;
    else if (strcmp(s, "greptimedb") == 0)
        c->cfg->wal.record_format = KW_WAL_FORMAT_GREPTIMEDB;
    else
        return fail(c, e->line,
                    "record_format: '%s' is not a format (use \"kwal\" or \"greptimedb\")", s);
    return 0;
}

static int check_api_version_max(ctx *c, const kw__toml_entry *e, const keydef *k,
                                 const char *s, uint64_t num)
{
    (void)k;
    (void)num;
    const kw_api_release *r;
    char why[256];
    if (kw__api_release_find(s, &r, why, sizeof(why)) == 0)
        return 0;
    return fail(c, e->line, "%s", why); /* why names the key and the value */
}

static int check_compression(ctx *c, const kw__toml_entry *e, const keydef *k, const char *s,
                             uint64_t num)
{
    if (strcmp(s, "lz4") == 0)
        c->cfg->wal.compression = KW_WAL_COMPRESSION_LZ4;
    else if (strcmp(s, "none") == 0)
        c->cfg->wal.compression = KW_WAL_COMPRESSION_NONE;
    else
        return fail(c, e->line, "compression: '%s' is not supported (use \"lz4\" or \"none\")", s);
    return 0;
}

/* Judged with no_idempotence at the end (check_whole): only the range here. */
static int apply_table(ctx *c, const kw__toml_entry *e, const keydef *keys, const char *name,
                       const char *where);

static int check_sasl_table(ctx *c, const kw__toml_entry *e, const keydef *k, const char *s,
                            uint64_t num)
{
    return apply_table(c, e, sasl_keys, "wal.sasl", "sasl.");
}

/* [wal.tls] present, even empty, turns TLS on (with the system CA store): check_whole. */
static int check_tls_table(ctx *c, const kw__toml_entry *e, const keydef *k, const char *s,
                           uint64_t num)
{
    return apply_table(c, e, tls_keys, "wal.tls", "tls.");
}

static int check_unused(ctx *c, const kw__toml_entry *e, const keydef *k, const char *s,
                        uint64_t num)
{
    if (c->unused++ == 0)
        note(c->cfg, "%s: GreptimeDB options in [wal] that kwal does not use: %s", c->file, e->key);
    else
        note(c->cfg, ", %s", e->key);
    return 0;
}

static int check_mechanism(ctx *c, const kw__toml_entry *e, const keydef *k, const char *s,
                           uint64_t num)
{
    static const char *const mechs[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI",
                                        "OAUTHBEARER", "AWS_MSK_IAM"};
    for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
        if (strcmp(s, mechs[i]) == 0)
            return 0;
    return fail(c, e->line,
                "sasl.type: '%s' is not a mechanism (use \"PLAIN\", \"SCRAM-SHA-256\", "
                "\"SCRAM-SHA-512\", \"GSSAPI\", \"OAUTHBEARER\" or \"AWS_MSK_IAM\")",
                s);
}

static int check_krb_service(ctx *c, const kw__toml_entry *e, const keydef *k, const char *s,
                             uint64_t num)
{
    if (!s[0] || strpbrk(s, "/@ \t"))
        return fail(c, e->line,
                    "sasl.kerberos_service_name: '%s' is not a Kerberos service name (no '/', "
                    "'@' or spaces)",
                    s);
    return 0;
}

/* The name the broker's certificate must carry: a host name, no port, no spaces. */
static int check_server_name(ctx *c, const kw__toml_entry *e, const keydef *k, const char *s,
                             uint64_t num)
{
    if (!s[0] || strpbrk(s, " \t/:,"))
        return fail(c, e->line,
                    "tls.server_name: '%s' is not a host name (no port, spaces, '/' or ',')", s);
    return 0;
}

/* Kafka's ssl.min.version values that kwal speaks. */
static int check_min_version(ctx *c, const kw__toml_entry *e, const keydef *k, const char *s,
                             uint64_t num)
{
    if (strcmp(s, "TLSv1.2") != 0 && strcmp(s, "TLSv1.3") != 0)
        return fail(c, e->line, "tls.min_version: '%s' is not \"TLSv1.2\" or \"TLSv1.3\"", s);
    return 0;
}

/* The table's walk ------------------------------------------------------------------- */

/* Checks one key against its row and stores it where the row says. */
static int apply(ctx *c, const kw__toml_entry *e, const keydef *k)
{
    const kw__toml_value *v = e->value;
    const char *s = v->type == KW_TOML_STRING ? v->u.str.ptr : NULL;
    uint64_t num = 0;
    int rc = check_kind(c, c->where, e, k->kind, &num);
    if (rc)
        return rc;
    if (k->id != W_UNUSED && c->seen[k->id])
        return fail(c, e->line, "%s: the same option as %s (line %d); give one of them", e->key,
                    c->seen[k->id]->key, c->seen[k->id]->line);
    c->seen[k->id] = e;
    int64_t n = k->kind == K_INT ? v->u.integer : as_i64(num);
    bool ranged = k->store == ST_U32 || k->store == ST_U64 || k->store == ST_SIZE_T ||
                  k->store == ST_I16;
    if (ranged && k->hi && (rc = in_range(c, e, n, k->lo, k->hi, k->unit)) != 0)
        return rc;
    if (k->check && (rc = k->check(c, e, k, s, num)) != 0)
        return rc;
    char *field = (char *)c->cfg + k->off;
    switch (k->store) {
    case ST_BOOL: *(bool *)(void *)field = v->u.boolean; return 0;
    case ST_U32: *(uint32_t *)(void *)field = (uint32_t)n; return 0;
    case ST_U64: *(uint64_t *)(void *)field = k->kind == K_INT ? (uint64_t)n : num; return 0;
    case ST_SIZE_T: *(size_t *)(void *)field = (size_t)n; return 0;
    case ST_I16: *(int16_t *)(void *)field = (int16_t)n; return 0;
    case ST_STR: return set_string((char **)(void *)field, s);
    default: return 0;
    }
}

/* Every key of table te->value must be one of keys; name is "wal", "wal.sasl", ... */
static int apply_table(ctx *c, const kw__toml_entry *te, const keydef *keys, const char *name,
                       const char *where)
{
    const kw__toml_value *t = te->value;
    const char *outer = c->where;
    c->where = where;
    int rc = 0;
    for (size_t i = 0; i < t->u.table.count && !rc; i++) {
        const kw__toml_entry *e = &t->u.table.entries[i];
        const keydef *k = keys;
        while (k->name && strcmp(k->name, e->key) != 0)
            k++;
        if (!k->name) {
            const char *hint = suggest(keys, e->key);
            if (hint)
                rc = fail(c, e->line, "unknown key '%s' in [%s] (did you mean %s?)", e->key, name,
                          hint);
            else
                rc = fail(c, e->line, "unknown key '%s' in [%s]", e->key, name);
            break;
        }
        rc = apply(c, e, k);
    }
    c->where = outer;
    return rc;
}

/* What the keys say together: SASL needs its credentials, a client cert needs its key, ... */
static int check_whole(ctx *c, const kw__toml_entry *wal)
{
    kw__wal_config *cfg = c->cfg;
    kw_client_options *o = &cfg->wal.kafka;
    const kw__toml_entry *sasl = c->seen[W_SASL];
    if (sasl) {
        int line = sasl->value->line ? sasl->value->line : sasl->line;
        const char *m = o->sasl_mechanism;
        bool gssapi = m && strcmp(m, "GSSAPI") == 0;
        bool oauth = m && strcmp(m, "OAUTHBEARER") == 0;
        bool aws = m && strcmp(m, "AWS_MSK_IAM") == 0;
        /* The credential sources: each with its mechanism, at most one per mechanism. */
        static const struct {
            const char *key;
            bool is_oauth;
            size_t off;
        } srcs[] = {
            {"token", true, AT(wal.kafka.oauth_token)},
            {"token_file", true, AT(wal.kafka.oauth_token_file)},
            {"oauthbearer_file", true, AT(wal.kafka.oauth_file)},
            {"oauthbearer_http_socket", true, AT(wal.kafka.oauth_http_socket)},
            {"aws_file", false, AT(wal.kafka.aws_file)},
            {"aws_http_socket", false, AT(wal.kafka.aws_http_socket)},
            {"aws_access_key_id", false, AT(wal.kafka.aws_access_key_id)},
        };
        const char *first = NULL;
        for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
            if (!*(const char *const *)(const void *)((const char *)cfg + srcs[i].off))
                continue;
            if (m && (srcs[i].is_oauth ? !oauth : !aws))
                return fail(c, line, "[wal.sasl]: %s goes with type %s only", srcs[i].key,
                            srcs[i].is_oauth ? "OAUTHBEARER" : "AWS_MSK_IAM");
            if (first)
                return fail(c, line,
                            "[wal.sasl]: %s and %s are both set: give one credential source",
                            first, srcs[i].key);
            first = srcs[i].key;
        }
        if (oauth && !first)
            return fail(c, line,
                        "[wal.sasl]: type OAUTHBEARER needs one of token, token_file, "
                        "oauthbearer_file and oauthbearer_http_socket");
        /* AWS_MSK_IAM: static keys (both), or a file or socket source; aws_* with that type only. */
        bool any_aws = o->aws_access_key_id || o->aws_secret_access_key || o->aws_session_token ||
                       o->aws_region || o->aws_user_agent;
        if (!aws && any_aws)
            return fail(c, line, "[wal.sasl]: the aws_* keys go with type AWS_MSK_IAM only");
        if (aws && !first)
            return fail(c, line,
                        "[wal.sasl]: type AWS_MSK_IAM needs aws_access_key_id and "
                        "aws_secret_access_key, or aws_file, or aws_http_socket");
        if (aws && !o->aws_access_key_id != !o->aws_secret_access_key)
            return fail(c, line, "[wal.sasl]: type AWS_MSK_IAM needs aws_access_key_id and "
                                 "aws_secret_access_key together");
        if (o->sasl_http_timeout_ms && !o->oauth_http_socket && !o->aws_http_socket)
            return fail(c, line,
                        "[wal.sasl]: http_socket_timeout needs oauthbearer_http_socket or "
                        "aws_http_socket");
        const char *missing = !m                       ? "type"
                              : gssapi || oauth || aws ? NULL
                              : !o->sasl_username ? "username"
                              : !o->sasl_password ? "password"
                                                  : NULL;
        if (missing)
            return fail(c, line, "[wal.sasl]: %s is missing", missing);
        if (gssapi && (o->sasl_username || o->sasl_password))
            return fail(c, line,
                        "[wal.sasl]: type GSSAPI takes no username or password (the Kerberos "
                        "credential cache, KRB5CCNAME, says who the WAL is)");
        if (!gssapi && o->sasl_kerberos_service_name)
            return fail(c, line, "[wal.sasl]: kerberos_service_name goes with type GSSAPI only");
        if ((oauth || aws) && (o->sasl_username || o->sasl_password))
            return fail(c, line,
                        "[wal.sasl]: type %s takes a credential source, not a username or "
                        "password",
                        m);
    }
    const kw__toml_entry *tls = c->seen[W_TLS];
    if (tls && !o->tls_cert_file != !o->tls_key_file)
        return fail(c, tls->value->line ? tls->value->line : tls->line,
                    "[wal.tls]: client_cert_path and client_key_path go together (mutual TLS "
                    "needs both)");
    /* The client's one switch for both: [wal.tls] (even empty) means TLS, [wal.sasl] SASL. */
    o->security = sasl ? (tls ? KW_CLIENT_SASL_SSL : KW_CLIENT_SASL_PLAINTEXT)
                       : (tls ? KW_CLIENT_SSL : KW_CLIENT_PLAINTEXT);
    /* Kafka keeps order for an idempotent producer only up to 5 requests in flight. */
    const kw__toml_entry *mif = c->seen[W_MAX_IN_FLIGHT];
    if (mif && !cfg->wal.no_idempotence && cfg->wal.max_in_flight > 5)
        return fail(c, mif->line,
                    "max_in_flight: %u is more than 5, the most an idempotent producer may have "
                    "(or set no_idempotence = true)",
                    cfg->wal.max_in_flight);
    /* Topic names are "{prefix}_{index}"; Kafka allows 249 characters. */
    char idx[16];
    int digits = snprintf(idx, sizeof(idx), "%u", cfg->num_topics - 1);
    if (strlen(cfg->topic_name_prefix) + 1 + (size_t)digits > 249) {
        const kw__toml_entry *p = c->seen[W_TOPIC_NAME_PREFIX];
        return fail(c, p ? p->line : wal->line,
                    "topic_name_prefix: too long: topic names would pass Kafka's 249 characters");
    }
    return 0;
}

int kw__wal_config_init(kw__wal_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    kw_wal_options *o = &cfg->wal;
    /* GreptimeDB's defaults; kwal's own options stay 0, meaning kw_wal_open's default. */
    o->provider = KW_WAL_PROVIDER_LOCAL;
    o->max_batch_bytes = MIB;
    o->kafka.connect_timeout_ms = 3000;
    o->timeout_ms = 3000;
    cfg->auto_create_topics = true;
    cfg->num_topics = 64;
    cfg->num_partitions = 1;
    cfg->replication_factor = 1;
    cfg->create_topic_timeout_ms = 30000;
    cfg->auto_prune_interval_ms = 30 * 60 * 1000;
    cfg->auto_prune_parallelism = 10;
    cfg->flush_trigger_size = 512 * MIB;
    cfg->checkpoint_trigger_size = 128 * MIB;
    if (set_string(OWNED(o->kafka.bootstrap), "127.0.0.1:9092") ||
        set_string(&cfg->topic_name_prefix, "greptimedb_wal_topic"))
        return KW_ENOMEM;
    return 0;
}

static void free_strings(kw__wal_config *cfg, const keydef *keys)
{
    for (const keydef *k = keys; k->name; k++) {
        if (k->store != ST_STR)
            continue;
        char **field = (char **)(void *)((char *)cfg + k->off);
        if (*field) /* passwords and tokens among them: wipe before free */
            memset(*field, 0, strlen(*field));
        free(*field);
        *field = NULL; /* an alias row points at the same field */
    }
}

void kw__wal_config_free(kw__wal_config *cfg)
{
    if (!cfg)
        return;
    free_strings(cfg, wal_keys);
    free_strings(cfg, sasl_keys);
    free_strings(cfg, tls_keys);
    for (size_t i = 0; i < sizeof(other_strings) / sizeof(other_strings[0]); i++)
        free(*(char **)(void *)((char *)cfg + other_strings[i]));
    memset(cfg, 0, sizeof(*cfg));
}

int kw__wal_config_parse(const char *text, size_t len, const char *filename, kw__wal_config *cfg,
                         char *err, size_t errlen)
{
    ctx c = {.cfg = cfg,
             .file = filename ? filename : "config",
             .err = err,
             .errlen = errlen,
             .where = ""};
    if (err && errlen)
        err[0] = 0;
    int rc = kw__wal_config_init(cfg);
    if (rc) {
        kw__wal_config_free(cfg);
        return rc;
    }
    kw__toml_value *root = NULL;
    char terr[256];
    rc = kw__toml_parse(text, len, NULL, &root, terr, sizeof(terr), NULL);
    if (rc) {
        kw__wal_config_free(cfg);
        if (rc == KW_ENOMEM)
            return rc;
        if (err && errlen)
            snprintf(err, errlen, "%s:%s", c.file, terr);
        return KW_ECONFIG;
    }
    const kw__toml_entry *wal = kw__toml_find(root, "wal");
    if (wal) {
        if (wal->value->type != KW_TOML_TABLE)
            rc = fail(&c, wal->line, "wal: expected a table ([wal]), not %s",
                      a_type(wal->value->type));
        else
            rc = apply_table(&c, wal, wal_keys, "wal", "");
        if (rc == 0)
            rc = check_whole(&c, wal);
        if (rc == 0 && c.unused)
            note(cfg, "\n");
    }
    kw__toml_free(root);
    if (rc) {
        if (rc == KW_ENOMEM && err && errlen)
            snprintf(err, errlen, "%s: out of memory", c.file);
        kw__wal_config_free(cfg);
    }
    return rc;
}

int kw__wal_config_load(const char *path, kw__wal_config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    char *text;
    size_t n;
    int rc = kw__toml_read_file(path, MAX_FILE_BYTES, &text, &n, err, errlen);
    if (rc)
        return rc;
    rc = kw__wal_config_parse(text, n, path, cfg, err, errlen);
    free(text);
    return rc;
}
