/* The metasrv store's keys (backend, store_addrs, store_key_prefix, [backend_*]) read from the TOML file. */
#include "meta/store_config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/store_etcd.h"
#include "wal/config.h"
#include "wal/toml.h"

#define MAX_FILE_BYTES (1u << 20)

typedef struct rd {
    const char *file;
    char *err;
    size_t errlen;
} rd;

static int fail(rd *r, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(rd *r, int line, const char *fmt, ...)
{
    if (r->err && r->errlen) {
        int n = snprintf(r->err, r->errlen, "%s:%d: ", r->file, line);
        if (n >= 0 && (size_t)n < r->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return KW_ECONFIG;
}

static const kw__toml_entry *find(const kw__toml_value *t, const char *key)
{
    for (size_t i = 0; t && i < t->u.table.count; i++)
        if (strcmp(t->u.table.entries[i].key, key) == 0)
            return &t->u.table.entries[i];
    return NULL;
}

/* A string key of table t into *dst (a heap copy); absent leaves *dst alone. */
static int get_str(rd *r, const kw__toml_value *t, const char *name, const char *where, char **dst)
{
    const kw__toml_entry *e = find(t, name);
    if (!e)
        return 0;
    if (e->value->type != KW_TOML_STRING)
        return fail(r, e->line, "%s%s: expected a string", where, name);
    char *s = strdup(e->value->u.str.ptr);
    if (!s)
        return KW_ENOMEM;
    free(*dst);
    *dst = s;
    return 0;
}

/* A table key of root, or NULL; a non-table there is an error. */
static int get_table(rd *r, const kw__toml_value *root, const char *name,
                     const kw__toml_value **out)
{
    *out = NULL;
    const kw__toml_entry *e = find(root, name);
    if (!e)
        return 0;
    if (e->value->type != KW_TOML_TABLE)
        return fail(r, e->line, "%s: expected a table ([%s])", name, name);
    *out = e->value;
    return 0;
}

static int get_duration_s(rd *r, const kw__toml_value *t, const char *name, const char *where,
                          uint32_t *ms_out, bool seconds)
{
    const kw__toml_entry *e = find(t, name);
    if (!e)
        return 0;
    uint64_t ms;
    if (e->value->type != KW_TOML_STRING ||
        kw__wal_config_parse_duration(e->value->u.str.ptr, &ms) != 0)
        return fail(r, e->line, "%s%s: expected a duration such as \"5s\"", where, name);
    if (ms == 0 || ms > 3600u * 1000u || (seconds && ms % 1000))
        return fail(r, e->line, "%s%s: %s is out of range (%s up to 1h)", where, name,
                    e->value->u.str.ptr, seconds ? "whole seconds" : "1ms");
    *ms_out = (uint32_t)(seconds ? ms / 1000 : ms);
    return 0;
}

static int read_backend(rd *r, const kw__toml_value *root, kw__meta_store_config *c)
{
    const kw__toml_entry *e = find(root, "backend");
    if (!e)
        return 0;
    if (e->value->type != KW_TOML_STRING)
        return fail(r, e->line, "backend: expected a string");
    const char *b = e->value->u.str.ptr;
    if (strcmp(b, "etcd_store") == 0)
        c->backend = KW_META_BACKEND_ETCD;
    else if (strcmp(b, "file_store") == 0)
        c->backend = KW_META_BACKEND_FILE;
    else if (strcmp(b, "memory_store") == 0 || strcmp(b, "postgres_store") == 0 ||
             strcmp(b, "mysql_store") == 0)
        return fail(r, e->line,
                    "backend: \"%s\" is not supported by kwal (use \"etcd_store\", or "
                    "\"file_store\" for a single node)",
                    b);
    else
        return fail(r, e->line, "backend: unknown store \"%s\" (\"etcd_store\" or \"file_store\")",
                    b);
    return 0;
}

static int read_addrs(rd *r, const kw__toml_value *root, kw__meta_store_config *c)
{
    const kw__toml_entry *e = find(root, "store_addrs");
    if (!e)
        return 0;
    const kw__toml_value *v = e->value;
    if (v->type != KW_TOML_ARRAY)
        return fail(r, e->line, "store_addrs: expected an array of \"host:port\" strings");
    if (v->u.array.count == 0)
        return fail(r, e->line, "store_addrs: empty");
    c->store_addrs = calloc(v->u.array.count, sizeof(char *));
    if (!c->store_addrs)
        return KW_ENOMEM;
    for (size_t i = 0; i < v->u.array.count; i++) {
        const kw__toml_value *it = v->u.array.items[i];
        if (it->type != KW_TOML_STRING || !*it->u.str.ptr)
            return fail(r, it->line ? it->line : e->line,
                        "store_addrs: item %zu: expected a non-empty \"host:port\" string", i + 1);
        if (!strchr(it->u.str.ptr, ':'))
            return fail(r, it->line ? it->line : e->line,
                        "store_addrs: \"%s\": expected host:port", it->u.str.ptr);
        c->store_addrs[i] = strdup(it->u.str.ptr);
        if (!c->store_addrs[i])
            return KW_ENOMEM;
        c->store_addr_count++;
    }
    return 0;
}

static int read_tls(rd *r, const kw__toml_value *root, kw__meta_store_config *c)
{
    const kw__toml_value *t;
    int rc = get_table(r, root, "backend_tls", &t);
    if (rc || !t)
        return rc;
    const kw__toml_entry *m = find(t, "mode");
    const char *mode = "prefer";
    if (m) {
        if (m->value->type != KW_TOML_STRING)
            return fail(r, m->line, "backend_tls.mode: expected a string");
        mode = m->value->u.str.ptr;
    }
    if (strcmp(mode, "disable") == 0) {
        c->tls = 0;
    } else if (strcmp(mode, "prefer") == 0 || strcmp(mode, "require") == 0 ||
               strcmp(mode, "verify_ca") == 0 || strcmp(mode, "verify_full") == 0) {
        c->tls = 1;
    } else {
        return fail(r, m->line,
                    "backend_tls.mode: \"%s\" (disable, prefer, require, verify_ca, verify_full)",
                    mode);
    }
    if ((rc = get_str(r, t, "ca_cert_path", "backend_tls.", &c->ca_file)) ||
        (rc = get_str(r, t, "cert_path", "backend_tls.", &c->cert_file)) ||
        (rc = get_str(r, t, "key_path", "backend_tls.", &c->key_file)))
        return rc;
    if (!c->cert_file != !c->key_file)
        return fail(r, t->line, "[backend_tls]: cert_path and key_path go together");
    if (!c->tls) { /* disabled: the paths are not used */
        free(c->ca_file);
        free(c->cert_file);
        free(c->key_file);
        c->ca_file = c->cert_file = c->key_file = NULL;
    }
    return 0;
}

int kw__meta_store_config_parse(const char *text, size_t len, const char *filename,
                                kw__meta_store_config *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    c->timeout_ms = 3000;
    c->lease_ttl_s = 5;
    rd r = {.file = filename ? filename : "config", .err = err, .errlen = errlen};
    if (err && errlen)
        err[0] = 0;
    kw__toml_value *root = NULL;
    char terr[256];
    int rc = kw__toml_parse(text, len, NULL, &root, terr, sizeof(terr), NULL);
    if (rc) {
        if (rc != KW_ENOMEM && err && errlen)
            snprintf(err, errlen, "%s:%s", r.file, terr);
        return rc == KW_ENOMEM ? rc : KW_ECONFIG;
    }
    const kw__toml_value *client = NULL, *auth = NULL, *elect = NULL;
    if (!rc)
        rc = read_backend(&r, root, c);
    if (!rc)
        rc = read_addrs(&r, root, c);
    if (!rc)
        rc = get_str(&r, root, "store_key_prefix", "", &c->key_prefix);
    if (!rc)
        rc = read_tls(&r, root, c);
    if (!rc)
        rc = get_table(&r, root, "backend_client", &client);
    if (!rc && client)
        rc = get_duration_s(&r, client, "connect_timeout", "backend_client.", &c->timeout_ms,
                            false);
    if (!rc)
        rc = get_table(&r, root, "backend_auth", &auth);
    if (!rc && auth) {
        if (!(rc = get_str(&r, auth, "username", "backend_auth.", &c->username)))
            rc = get_str(&r, auth, "password", "backend_auth.", &c->password);
        if (!rc && !c->username != !c->password)
            rc = fail(&r, auth->line, "[backend_auth]: username and password go together");
    }
    if (!rc)
        rc = get_table(&r, root, "meta_election", &elect);
    if (!rc && elect) {
        if (!(rc = get_duration_s(&r, elect, "lease_ttl", "meta_election.", &c->lease_ttl_s,
                                  true)))
            rc = get_str(&r, elect, "node_id", "meta_election.", &c->node_id);
        if (!rc && c->lease_ttl_s < 2) {
            const kw__toml_entry *e = find(elect, "lease_ttl");
            rc = fail(&r, e ? e->line : elect->line,
                      "meta_election.lease_ttl: at least 2s (it is renewed every third of it)");
        }
    }
    if (!rc && c->backend == KW_META_BACKEND_ETCD && !c->store_addr_count) {
        const kw__toml_entry *b = find(root, "backend");
        rc = fail(&r, b ? b->line : 1, "backend = \"etcd_store\" needs store_addrs");
    }
    kw__toml_free(root);
    return rc;
}

int kw__meta_store_config_load(const char *path, kw__meta_store_config *c, char *err,
                               size_t errlen)
{
    memset(c, 0, sizeof(*c));
    char *text;
    size_t n;
    int rc = kw__toml_read_file(path, MAX_FILE_BYTES, &text, &n, err, errlen);
    if (rc)
        return rc;
    rc = kw__meta_store_config_parse(text, n, path, c, err, errlen);
    free(text);
    return rc;
}

void kw__meta_store_config_free(kw__meta_store_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->store_addr_count; i++)
        free(c->store_addrs[i]);
    free(c->store_addrs);
    free(c->key_prefix);
    free(c->ca_file);
    free(c->cert_file);
    free(c->key_file);
    free(c->username);
    if (c->password)
        memset(c->password, 0, strlen(c->password));
    free(c->password);
    free(c->node_id);
    memset(c, 0, sizeof(*c));
}

int kw__meta_store_config_open(const kw__meta_store_config *c, const char *dir,
                               kw_meta_store **out, char *err, size_t errlen)
{
    *out = NULL;
    if (c->backend == KW_META_BACKEND_ETCD) {
        /* https for every endpoint once TLS is on ([backend_tls] with a mode other than
         * disable): endpoints given without a scheme take it from there. */
        kw_meta_store_etcd_options o = {.endpoints = (const char *const *)c->store_addrs,
                                        .endpoint_count = c->store_addr_count,
                                        .key_prefix = c->key_prefix,
                                        .ca_file = c->ca_file,
                                        .cert_file = c->cert_file,
                                        .key_file = c->key_file,
                                        .use_tls = c->tls,
                                        .username = c->username,
                                        .password = c->password,
                                        .timeout_ms = c->timeout_ms};
        return kw__meta_store_etcd_open(&o, out, err, errlen);
    }
    if (!dir)
        return 0;
    kw_meta_store_file_options so = {.dir = dir};
    return kw__meta_store_file_open(&so, out, err, errlen);
}
