/* kw_log_open_file: a log node's options and databases from the [log] section of a TOML file. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log_int.h"
#include "wal/toml.h"

static void say(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *buf, size_t len, const char *fmt, ...)
{
    if (!buf || !len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/* The keys a table may have; anything else is an error naming it (a typo must not pass). */
static int only_keys(const kw__toml_value *t, const char *const *keys, const char *where,
                     const char *path, char *errbuf, size_t errlen)
{
    for (size_t i = 0; i < t->u.table.count; i++) {
        const kw__toml_entry *e = &t->u.table.entries[i];
        bool known = false;
        for (size_t k = 0; keys[k]; k++)
            known = known || !strcmp(keys[k], e->key);
        if (!known) {
            say(errbuf, errlen, "kw_log: %s:%d: unknown key %s in %s", path, e->line, e->key,
                where);
            return KW_EINVAL;
        }
    }
    return 0;
}

static int want_type(const kw__toml_value *v, int type, const char *key, const char *path,
                     char *errbuf, size_t errlen)
{
    if (!v || v->type == type)
        return 0;
    say(errbuf, errlen, "kw_log: %s:%d: %s must be a %s, not a %s", path, v->line, key,
        kw__toml_type_name(type), kw__toml_type_name(v->type));
    return KW_EINVAL;
}

static int get_str(const kw__toml_value *t, const char *key, const char **out, const char *path,
                   char *errbuf, size_t errlen)
{
    const kw__toml_value *v = kw__toml_get(t, key);
    int rc = want_type(v, KW_TOML_STRING, key, path, errbuf, errlen);
    if (rc == 0 && v)
        *out = v->u.str.ptr;
    return rc;
}

static int get_u32(const kw__toml_value *t, const char *key, uint32_t *out, const char *path,
                   char *errbuf, size_t errlen)
{
    const kw__toml_value *v = kw__toml_get(t, key);
    int rc = want_type(v, KW_TOML_INTEGER, key, path, errbuf, errlen);
    if (rc || !v)
        return rc;
    if (v->u.integer < 0 || v->u.integer > UINT32_MAX) {
        say(errbuf, errlen, "kw_log: %s:%d: %s = %lld is out of range", path, v->line, key,
            (long long)v->u.integer);
        return KW_EINVAL;
    }
    *out = (uint32_t)v->u.integer;
    return 0;
}

static int get_bool(const kw__toml_value *t, const char *key, bool *out, const char *path,
                    char *errbuf, size_t errlen)
{
    const kw__toml_value *v = kw__toml_get(t, key);
    int rc = want_type(v, KW_TOML_BOOL, key, path, errbuf, errlen);
    if (rc == 0 && v)
        *out = v->u.boolean;
    return rc;
}

static const char *const log_keys[] = {
    "bootstrap", "group_id", "transactional_id_prefix", "term_epoch", "session_timeout_ms",
    "heartbeat_interval_ms", "rebalance_timeout_ms", "transaction_timeout_ms", "poll_ms",
    "timeout_ms", "drop_stale_terms", "security", "sasl_mechanism", "sasl_username",
    "sasl_password", "tls_ca_file", "database", NULL};
static const char *const db_keys[] = {"name", "topic", "replica_topic", "auto_create_topic", NULL};

static int security_of(const char *s, int *out)
{
    static const char *const names[] = {"plaintext", "ssl", "sasl_plaintext", "sasl_ssl"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            *out = i;
            return 0;
        }
    return KW_EINVAL;
}

static int open_from(kw_log **out, const kw__toml_value *root, const char *path,
                     const kw_log_options *base, char *errbuf, size_t errlen)
{
    const kw__toml_value *t = kw__toml_get(root, "log");
    if (!t || t->type != KW_TOML_TABLE) {
        say(errbuf, errlen, "kw_log: %s has no [log] table", path);
        return KW_EINVAL;
    }
    int rc = only_keys(t, log_keys, "[log]", path, errbuf, errlen);
    kw_log_options o = *base;
    kw_client_options co = {0};
    const char *security = NULL;
    uint32_t epoch = 0;
    if (rc == 0)
        rc = get_str(t, "bootstrap", &co.bootstrap, path, errbuf, errlen);
    if (rc == 0)
        rc = get_str(t, "group_id", &o.group_id, path, errbuf, errlen);
    if (rc == 0)
        rc = get_str(t, "transactional_id_prefix", &o.transactional_id_prefix, path, errbuf,
                     errlen);
    if (rc == 0)
        rc = get_u32(t, "term_epoch", &epoch, path, errbuf, errlen);
    if (rc == 0)
        rc = get_u32(t, "session_timeout_ms", &o.session_timeout_ms, path, errbuf, errlen);
    if (rc == 0)
        rc = get_u32(t, "heartbeat_interval_ms", &o.heartbeat_interval_ms, path, errbuf, errlen);
    if (rc == 0)
        rc = get_u32(t, "rebalance_timeout_ms", &o.rebalance_timeout_ms, path, errbuf, errlen);
    if (rc == 0)
        rc = get_u32(t, "transaction_timeout_ms", &o.transaction_timeout_ms, path, errbuf, errlen);
    if (rc == 0)
        rc = get_u32(t, "poll_ms", &o.poll_ms, path, errbuf, errlen);
    if (rc == 0)
        rc = get_u32(t, "timeout_ms", &o.timeout_ms, path, errbuf, errlen);
    if (rc == 0)
        rc = get_bool(t, "drop_stale_terms", &o.drop_stale_terms, path, errbuf, errlen);
    if (rc == 0)
        rc = get_str(t, "security", &security, path, errbuf, errlen);
    if (rc == 0)
        rc = get_str(t, "sasl_mechanism", &co.sasl_mechanism, path, errbuf, errlen);
    if (rc == 0)
        rc = get_str(t, "sasl_username", &co.sasl_username, path, errbuf, errlen);
    if (rc == 0)
        rc = get_str(t, "sasl_password", &co.sasl_password, path, errbuf, errlen);
    if (rc == 0)
        rc = get_str(t, "tls_ca_file", &co.tls_ca_file, path, errbuf, errlen);
    if (rc)
        return rc;
    if (security && security_of(security, &co.security)) {
        say(errbuf, errlen,
            "kw_log: %s: security = \"%s\": want plaintext, ssl, sasl_plaintext or sasl_ssl",
            path, security);
        return KW_EINVAL;
    }
    if (!co.bootstrap) {
        say(errbuf, errlen, "kw_log: %s: [log] needs bootstrap", path);
        return KW_EINVAL;
    }
    const kw__toml_value *dbs = kw__toml_get(t, "database");
    if (!dbs || dbs->type != KW_TOML_ARRAY || !dbs->u.array.count) {
        say(errbuf, errlen, "kw_log: %s: no [[log.database]] table", path);
        return KW_EINVAL;
    }
    o.term_epoch = epoch;
    o.client = NULL;
    o.client_options = &co;
    o.bootstrap = NULL;
    kw_log *log;
    rc = kw_log_open(&log, &o, errbuf, errlen);
    if (rc)
        return rc;
    for (size_t i = 0; i < dbs->u.array.count; i++) {
        const kw__toml_value *d = dbs->u.array.items[i];
        kw_log_database db = {0};
        if (d->type != KW_TOML_TABLE) {
            say(errbuf, errlen, "kw_log: %s:%d: log.database must hold tables", path, d->line);
            rc = KW_EINVAL;
        }
        if (rc == 0)
            rc = only_keys(d, db_keys, "[[log.database]]", path, errbuf, errlen);
        if (rc == 0)
            rc = get_str(d, "name", &db.name, path, errbuf, errlen);
        if (rc == 0)
            rc = get_str(d, "topic", &db.topic, path, errbuf, errlen);
        if (rc == 0)
            rc = get_str(d, "replica_topic", &db.replica_topic, path, errbuf, errlen);
        if (rc == 0)
            rc = get_bool(d, "auto_create_topic", &db.auto_create_topic, path, errbuf, errlen);
        if (rc == 0)
            rc = kw_log_attach(log, &db, errbuf, errlen);
        if (rc) {
            kw_log_close(log);
            return rc;
        }
    }
    *out = log;
    return 0;
}

int kw_log_open_file(kw_log **out, const char *path, const kw_log_options *base, char *errbuf,
                     size_t errlen)
{
    if (!out || !path || !base)
        return KW_EINVAL;
    *out = NULL;
    char *text;
    size_t len;
    char rerr[256];
    int rc = kw__toml_read_file(path, 1u << 20, &text, &len, rerr, sizeof(rerr));
    if (rc) {
        say(errbuf, errlen, "kw_log: %s", rerr);
        return rc;
    }
    kw__toml_value *root;
    char terr[256];
    rc = kw__toml_parse(text, len, NULL, &root, terr, sizeof(terr), NULL);
    free(text);
    if (rc) {
        say(errbuf, errlen, "kw_log: %s:%s", path, terr);
        return rc;
    }
    rc = open_from(out, root, path, base, errbuf, errlen);
    kw__toml_free(root);
    return rc;
}
