/* The metasrv store on etcd through its v3 JSON gateway: HTTP by libcurl, documents by jansson, keys in base64. */
#include "meta/store_etcd.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The gateway maps etcd's gRPC API onto POST /v3/<service>/<method> with a
 * JSON body: bytes are base64, 64-bit integers are decimal strings, and a
 * field with its default value (false, 0, empty) is left out of answers —
 * so "succeeded" missing means false and "value" missing means empty.
 *
 * One curl handle per store, behind a mutex: metasrv calls are rare and
 * short, and one handle keeps its connection alive between them.
 */
typedef struct etcd_store {
    kw_meta_store base;
    pthread_mutex_t mu;
    CURL *curl;
    struct curl_slist *headers;
    char **endpoints; /* base URLs without a trailing slash */
    size_t nendpoints;
    size_t current; /* the endpoint that answered last */
    char *prefix;
    size_t prefix_len;
    char *ca_file, *cert_file, *key_file;
    char *username, *password;
    char *token; /* the auth token, once authenticated */
    long timeout_ms;
} etcd_store;

static const kw_meta_store_ops etcd_ops;

/* ---------------------------------------------------------------- base64 */

static char *b64(const uint8_t *p, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    return out;
}

/* Decodes s into a malloc'd buffer (1 byte at least); NULL when s is not base64. */
static uint8_t *unb64(const char *s, size_t *len)
{
    size_t n = strlen(s);
    if (n % 4)
        return NULL;
    uint8_t *out = malloc(n / 4 * 3 + 1);
    if (!out)
        return NULL;
    int m = n ? EVP_DecodeBlock(out, (const unsigned char *)s, (int)n) : 0;
    if (m < 0) {
        free(out);
        return NULL;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    size_t pad = n >= 1 && s[n - 1] == '=' ? 1 + (n >= 2 && s[n - 2] == '=') : 0;
    *len = (size_t)m - pad;
    return out;
}

/* The key with the store's prefix, base64. */
static char *key64(const etcd_store *e, const uint8_t *k, size_t n)
{
    uint8_t *full = malloc(e->prefix_len + n + 1);
    if (!full)
        return NULL;
    if (e->prefix_len) /* no prefix: e->prefix is NULL, not a pointer memcpy may take */
        memcpy(full, e->prefix, e->prefix_len);
    if (n)
        memcpy(full + e->prefix_len, k, n);
    char *out = b64(full, e->prefix_len + n);
    free(full);
    return out;
}

/* The smallest key greater than every key that starts with p (etcd's prefix end), base64. */
static char *prefix_end64(const uint8_t *p, size_t n)
{
    uint8_t *end = malloc(n + 1);
    if (!end)
        return NULL;
    memcpy(end, p, n);
    while (n > 0 && end[n - 1] == 0xff)
        n--;
    char *out;
    if (n == 0) {
        out = strdup("AA=="); /* "\0": every key to the end */
    } else {
        end[n - 1]++;
        out = b64(end, n);
    }
    free(end);
    return out;
}

/* ---------------------------------------------------------------- JSON fields */

/* A 64-bit integer the gateway sends as a string (or, from some versions, a number); 0 absent. */
static int64_t jint(json_t *o, const char *name)
{
    json_t *v = json_object_get(o, name);
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    return 0;
}

static int64_t header_rev(json_t *doc)
{
    return jint(json_object_get(doc, "header"), "revision");
}

/* ---------------------------------------------------------------- HTTP */

typedef struct body {
    char *p;
    size_t n, cap;
} body;

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
    body *b = arg;
    size_t n = size * nmemb;
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        if (cap > (64u << 20))
            return 0; /* no metasrv answer is this big: stop a runaway response */
        char *p = realloc(b->p, cap);
        if (!p)
            return 0;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, ptr, n);
    b->n += n;
    b->p[b->n] = 0;
    return n;
}

static bool unreached(CURLcode c)
{
    return c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_HOST ||
           c == CURLE_COULDNT_RESOLVE_PROXY;
}

enum { READ_ONLY = 1, NO_AUTH = 2 };

static int authenticate(etcd_store *e);

/*
 * POSTs doc (consumed) to path on the current endpoint, failing over as the
 * header says, and parses the answer into *out.  The store's mutex is held.
 */
static int call(etcd_store *e, const char *path, json_t *doc, int flags, json_t **out)
{
    *out = NULL;
    char *req = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!req)
        return kw__meta_store_fail(&e->base, KW_ENOMEM, "etcd %s: building the request", path);
    int rc = KW_ECONNECT;
    bool reauthed = false;
    char last[640] = "";
    for (size_t tries = 0; tries < e->nendpoints; tries++) {
        size_t i = e->current;
        char url[512];
        snprintf(url, sizeof(url), "%s%s", e->endpoints[i], path);
        body b = {0};
        struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
        char auth[1024];
        if (e->token && !(flags & NO_AUTH)) {
            snprintf(auth, sizeof(auth), "Authorization: %s", e->token);
            h = curl_slist_append(h, auth);
        }
        curl_easy_setopt(e->curl, CURLOPT_URL, url);
        curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, req);
        curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, &b);
        CURLcode cc = curl_easy_perform(e->curl);
        curl_slist_free_all(h);
        long status = 0;
        curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status);
        if (cc != CURLE_OK) {
            free(b.p);
            snprintf(last, sizeof(last), "%s: %s", url, curl_easy_strerror(cc));
            if (unreached(cc) || (flags & READ_ONLY)) {
                e->current = (e->current + 1) % e->nendpoints;
                rc = unreached(cc) ? KW_ECONNECT : KW_EIO;
                continue;
            }
            free(req);
            return kw__meta_store_fail(&e->base, KW_EIO,
                                       "etcd %s: %s (a write: its outcome is unknown)", path, last);
        }
        json_error_t jerr;
        json_t *ans = b.p ? json_loadb(b.p, b.n, 0, &jerr) : NULL;
        if (!json_is_object(ans)) {
            snprintf(last, sizeof(last), "%s: HTTP %ld, not a JSON object: %.80s", url, status,
                     b.p ? b.p : "(empty)");
            free(b.p);
            json_decref(ans);
            free(req);
            return kw__meta_store_fail(&e->base, KW_EIO, "etcd %s", last);
        }
        free(b.p);
        if (status == 200) {
            free(req);
            *out = ans;
            return 0;
        }
        /* A gRPC error: {"error": ..., "code": N, "message": ...}. */
        const char *msg = json_string_value(json_object_get(ans, "message"));
        if (!msg)
            msg = json_string_value(json_object_get(ans, "error"));
        int64_t code = jint(ans, "code");
        snprintf(last, sizeof(last), "%s", msg ? msg : "(no message)");
        json_decref(ans);
        if (code == 16 /* UNAUTHENTICATED */ && e->username && !(flags & NO_AUTH) && !reauthed) {
            reauthed = true; /* the token expired (etcd's simple tokens last 5 minutes) */
            int ar = authenticate(e);
            if (ar) {
                free(req);
                return ar;
            }
            tries--;
            continue;
        }
        if (code == 14 /* UNAVAILABLE: no leader on this member */ || status == 503) {
            e->current = (e->current + 1) % e->nendpoints;
            rc = KW_EIO;
            continue;
        }
        free(req);
        /* Credentials etcd refuses (or none where it wants some) are the configuration's fault:
         * UNAUTHENTICATED, PERMISSION_DENIED, or INVALID_ARGUMENT about the user. */
        bool creds = code == 16 || code == 7 ||
                     (code == 3 && (strstr(last, "authentication") || strstr(last, "user name")));
        return kw__meta_store_fail(&e->base, creds ? KW_ECONFIG : KW_EIO,
                                   "etcd %s at %s: HTTP %ld: %s", path, e->endpoints[i], status,
                                   last);
    }
    free(req);
    char tried[256] = "";
    for (size_t i = 0, n = 0; i < e->nendpoints && n < sizeof(tried); i++)
        n += (size_t)snprintf(tried + n, sizeof(tried) - n, "%s%s", i ? ", " : "", e->endpoints[i]);
    return kw__meta_store_fail(&e->base, rc, "etcd %s: no endpoint answered (tried %s); last: %s",
                               path, tried, last);
}

static int authenticate(etcd_store *e)
{
    json_t *d = json_pack("{s:s, s:s}", "name", e->username, "password", e->password);
    json_t *ans;
    free(e->token);
    e->token = NULL;
    int rc = d ? call(e, "/v3/auth/authenticate", d, NO_AUTH | READ_ONLY, &ans) : KW_ENOMEM;
    if (rc) {
        char why[256];
        kw__meta_store_errstr(&e->base, why, sizeof(why));
        return kw__meta_store_fail(&e->base, rc == KW_ECONFIG ? KW_ECONFIG : rc,
                                   "etcd authentication as %s: %s", e->username, why);
    }
    const char *t = json_string_value(json_object_get(ans, "token"));
    e->token = t ? strdup(t) : NULL;
    json_decref(ans);
    if (!e->token)
        return kw__meta_store_fail(&e->base, KW_EIO, "etcd authentication: no token in the answer");
    return 0;
}

/* ---------------------------------------------------------------- the ops */

static int etcd_get(kw_meta_store *s, const uint8_t *key, size_t key_len, uint8_t **value,
                    size_t *value_len, uint64_t *rev)
{
    etcd_store *e = (etcd_store *)s;
    char *k = key64(e, key, key_len);
    json_t *d = k ? json_pack("{s:s}", "key", k) : NULL;
    free(k);
    if (!d)
        return kw__meta_store_fail(s, KW_ENOMEM, "etcd get: out of memory");
    pthread_mutex_lock(&e->mu);
    json_t *ans;
    int rc = call(e, "/v3/kv/range", d, READ_ONLY, &ans);
    pthread_mutex_unlock(&e->mu);
    if (rc)
        return rc;
    json_t *kv = json_array_get(json_object_get(ans, "kvs"), 0);
    if (!kv) {
        json_decref(ans);
        return KW_ENOTFOUND;
    }
    const char *v = json_string_value(json_object_get(kv, "value"));
    size_t vl = 0;
    uint8_t *copy = unb64(v ? v : "", &vl);
    if (!copy) {
        json_decref(ans);
        return kw__meta_store_fail(s, copy ? KW_ENOMEM : KW_EIO,
                                   "etcd get: the value is not base64");
    }
    if (rev)
        *rev = (uint64_t)jint(kv, "mod_revision");
    if (value) {
        *value = copy;
        if (value_len)
            *value_len = vl;
    } else {
        free(copy);
    }
    json_decref(ans);
    return 0;
}

static json_t *put_doc(etcd_store *e, const uint8_t *key, size_t key_len, const uint8_t *value,
                       size_t value_len, int64_t lease)
{
    char *k = key64(e, key, key_len);
    char *v = b64(value ? value : (const uint8_t *)"", value_len);
    json_t *d = k && v ? json_pack("{s:s, s:s}", "key", k, "value", v) : NULL;
    if (d && lease) {
        char l[32];
        snprintf(l, sizeof(l), "%lld", (long long)lease);
        json_object_set_new(d, "lease", json_string(l));
    }
    free(k);
    free(v);
    return d;
}

static int etcd_put(kw_meta_store *s, const uint8_t *key, size_t key_len, const uint8_t *value,
                    size_t value_len, uint64_t *rev)
{
    etcd_store *e = (etcd_store *)s;
    json_t *d = put_doc(e, key, key_len, value, value_len, 0);
    if (!d)
        return kw__meta_store_fail(s, KW_ENOMEM, "etcd put: out of memory");
    pthread_mutex_lock(&e->mu);
    json_t *ans;
    int rc = call(e, "/v3/kv/put", d, 0, &ans);
    pthread_mutex_unlock(&e->mu);
    if (rc)
        return rc;
    if (rev)
        *rev = (uint64_t)header_rev(ans);
    json_decref(ans);
    return 0;
}

static int cas_lease(etcd_store *e, const uint8_t *key, size_t key_len, uint64_t expected_rev,
                     const uint8_t *value, size_t value_len, int64_t lease, uint64_t *rev)
{
    char *k = key64(e, key, key_len);
    json_t *put = put_doc(e, key, key_len, value, value_len, lease);
    char r[32];
    snprintf(r, sizeof(r), "%llu", (unsigned long long)expected_rev);
    /* Absent: the key's create_revision is 0.  Else: its mod_revision is the one read. */
    json_t *d = k && put ? json_pack("{s:[{s:s, s:s, s:s, s:s}], s:[{s:o}], s:[{s:{s:s}}]}",
                                     "compare", "key", k, "result", "EQUAL", "target",
                                     expected_rev == KW_META_REV_ABSENT ? "CREATE" : "MOD",
                                     expected_rev == KW_META_REV_ABSENT ? "create_revision"
                                                                        : "mod_revision",
                                     r, "success", "request_put", put, "failure",
                                     "request_range", "key", k)
                         : NULL;
    if (!d)
        json_decref(put);
    free(k);
    if (!d)
        return kw__meta_store_fail(&e->base, KW_ENOMEM, "etcd cas: out of memory");
    pthread_mutex_lock(&e->mu);
    json_t *ans;
    int rc = call(e, "/v3/kv/txn", d, 0, &ans);
    pthread_mutex_unlock(&e->mu);
    if (rc)
        return rc;
    bool ok = json_is_true(json_object_get(ans, "succeeded"));
    uint64_t cur = 0;
    if (ok) {
        cur = (uint64_t)header_rev(ans);
    } else {
        json_t *rr = json_object_get(json_array_get(json_object_get(ans, "responses"), 0),
                                     "response_range");
        cur = (uint64_t)jint(json_array_get(json_object_get(rr, "kvs"), 0), "mod_revision");
    }
    json_decref(ans);
    if (rev)
        *rev = cur;
    if (ok)
        return 0;
    return kw__meta_store_fail(&e->base, KW_EAGAIN,
                               "compare-and-put: expected revision %llu, found %llu%s",
                               (unsigned long long)expected_rev, (unsigned long long)cur,
                               cur ? "" : " (no such key)");
}

static int etcd_cas(kw_meta_store *s, const uint8_t *key, size_t key_len, uint64_t expected_rev,
                    const uint8_t *value, size_t value_len, uint64_t *rev)
{
    return cas_lease((etcd_store *)s, key, key_len, expected_rev, value, value_len, 0, rev);
}

/* One pair of a range answer, decoded, for the callbacks after the scan. */
typedef struct pair {
    uint8_t *key, *value;
    size_t key_len, value_len;
    uint64_t rev;
} pair;

static void pairs_free(pair *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].key);
        free(p[i].value);
    }
    free(p);
}

#define RANGE_PAGE 1000

static int etcd_range(kw_meta_store *s, const uint8_t *start, size_t start_len,
                      const uint8_t *end, size_t end_len, size_t limit,
                      kw_meta_store_range_cb *cb, void *arg)
{
    etcd_store *e = (etcd_store *)s;
    /* [prefix+start, prefix+end), or to the prefix's end; "\0" after the prefix is the
     * smallest key inside it. */
    uint8_t zero = 0;
    char *from = key64(e, start_len ? start : &zero, start_len ? start_len : 1);
    char *to = end_len ? key64(e, end, end_len)
                       : e->prefix_len ? prefix_end64((const uint8_t *)e->prefix, e->prefix_len)
                                       : strdup("AA==");
    pair *pairs = NULL;
    size_t n = 0, cap = 0;
    int64_t at_rev = 0; /* every page from the first page's revision: one snapshot */
    int rc = from && to ? 0 : KW_ENOMEM;
    bool more = true;
    pthread_mutex_lock(&e->mu);
    while (!rc && more && (!limit || n < limit)) {
        size_t page = limit && limit - n < RANGE_PAGE ? limit - n : RANGE_PAGE;
        json_t *d = json_pack("{s:s, s:s, s:I}", "key", from, "range_end", to, "limit",
                              (json_int_t)page);
        if (d && at_rev) {
            char r[32];
            snprintf(r, sizeof(r), "%lld", (long long)at_rev);
            json_object_set_new(d, "revision", json_string(r));
        }
        json_t *ans;
        rc = d ? call(e, "/v3/kv/range", d, READ_ONLY, &ans) : KW_ENOMEM;
        if (rc)
            break;
        if (!at_rev)
            at_rev = header_rev(ans);
        more = json_is_true(json_object_get(ans, "more"));
        json_t *kvs = json_object_get(ans, "kvs");
        size_t got = json_array_size(kvs);
        if (!got)
            more = false;
        /* The limit holds whatever the answer holds: a server may send more than asked. */
        for (size_t i = 0; i < got && !rc && (!limit || n < limit); i++) {
            json_t *kv = json_array_get(kvs, i);
            if (n == cap) {
                size_t c = cap ? cap * 2 : 64;
                pair *p = realloc(pairs, c * sizeof(*p));
                if (!p) {
                    rc = KW_ENOMEM;
                    break;
                }
                pairs = p;
                cap = c;
            }
            pair *p = &pairs[n];
            const char *k = json_string_value(json_object_get(kv, "key"));
            const char *v = json_string_value(json_object_get(kv, "value"));
            p->key = unb64(k ? k : "", &p->key_len);
            p->value = unb64(v ? v : "", &p->value_len);
            p->rev = (uint64_t)jint(kv, "mod_revision");
            n++;
            if (!p->key || !p->value || p->key_len <= e->prefix_len)
                rc = kw__meta_store_fail(s, KW_EIO, "etcd range: a key or value is not base64");
        }
        if (!rc && more && n) {
            /* The next page starts right after the last key: last + "\0". */
            pair *last = &pairs[n - 1];
            uint8_t *nk = malloc(last->key_len + 1);
            if (!nk) {
                rc = KW_ENOMEM;
            } else {
                memcpy(nk, last->key, last->key_len);
                nk[last->key_len] = 0;
                free(from);
                from = b64(nk, last->key_len + 1);
                free(nk);
                if (!from)
                    rc = KW_ENOMEM;
            }
        }
        json_decref(ans);
    }
    pthread_mutex_unlock(&e->mu);
    free(from);
    free(to);
    /* The callbacks run with no lock held: they may call the store. */
    for (size_t i = 0; !rc && i < n; i++) {
        kw_meta_kv kv = {.key = pairs[i].key + e->prefix_len,
                         .key_len = pairs[i].key_len - e->prefix_len,
                         .value = pairs[i].value,
                         .value_len = pairs[i].value_len,
                         .rev = pairs[i].rev};
        rc = cb(arg, &kv);
    }
    pairs_free(pairs, n);
    return rc;
}

static int etcd_del(kw_meta_store *s, const uint8_t *key, size_t key_len, uint64_t *rev)
{
    etcd_store *e = (etcd_store *)s;
    char *k = key64(e, key, key_len);
    json_t *d = k ? json_pack("{s:s}", "key", k) : NULL;
    free(k);
    if (!d)
        return kw__meta_store_fail(s, KW_ENOMEM, "etcd delete: out of memory");
    pthread_mutex_lock(&e->mu);
    json_t *ans;
    int rc = call(e, "/v3/kv/deleterange", d, 0, &ans);
    pthread_mutex_unlock(&e->mu);
    if (rc)
        return rc;
    int64_t deleted = jint(ans, "deleted");
    if (rev && deleted)
        *rev = (uint64_t)header_rev(ans);
    json_decref(ans);
    return deleted ? 0 : KW_ENOTFOUND;
}

static void etcd_close(kw_meta_store *s)
{
    etcd_store *e = (etcd_store *)s;
    if (e->curl)
        curl_easy_cleanup(e->curl);
    for (size_t i = 0; i < e->nendpoints; i++)
        free(e->endpoints[i]);
    free(e->endpoints);
    free(e->prefix);
    free(e->ca_file);
    free(e->cert_file);
    free(e->key_file);
    free(e->username);
    if (e->password)
        OPENSSL_cleanse(e->password, strlen(e->password));
    free(e->password);
    free(e->token);
    pthread_mutex_destroy(&e->mu);
    kw__meta_store_fini(&e->base);
    free(e);
}

static const kw_meta_store_ops etcd_ops = {
    .name = "etcd",
    .get = etcd_get,
    .put = etcd_put,
    .cas = etcd_cas,
    .range = etcd_range,
    .del = etcd_del,
    .close = etcd_close,
};

/* ---------------------------------------------------------------- leases */

int kw__meta_store_is_etcd(const kw_meta_store *s)
{
    return s && s->ops == &etcd_ops;
}

static int lease_call(kw_meta_store *s, const char *path, int64_t id, int64_t ttl, json_t **ans)
{
    if (!kw__meta_store_is_etcd(s))
        return KW_EUNSUPPORTED;
    etcd_store *e = (etcd_store *)s;
    char v[32];
    snprintf(v, sizeof(v), "%lld", (long long)(ttl ? ttl : id));
    json_t *d = json_pack("{s:s}", ttl ? "TTL" : "ID", v);
    if (!d)
        return kw__meta_store_fail(s, KW_ENOMEM, "etcd %s: out of memory", path);
    pthread_mutex_lock(&e->mu);
    int rc = call(e, path, d, 0, ans);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

int kw__meta_etcd_lease_grant(kw_meta_store *s, int64_t ttl_s, int64_t *id)
{
    if (ttl_s <= 0 || !id)
        return KW_EINVAL;
    json_t *ans;
    int rc = lease_call(s, "/v3/lease/grant", 0, ttl_s, &ans);
    if (rc)
        return rc;
    *id = jint(ans, "ID");
    json_decref(ans);
    return *id ? 0 : kw__meta_store_fail(s, KW_EIO, "etcd lease grant: no ID in the answer");
}

int kw__meta_etcd_lease_keepalive(kw_meta_store *s, int64_t id, int64_t *ttl_s)
{
    json_t *ans;
    int rc = lease_call(s, "/v3/lease/keepalive", id, 0, &ans);
    if (rc)
        return rc;
    /* A lapsed lease answers with TTL 0 (left out). */
    int64_t ttl = jint(json_object_get(ans, "result"), "TTL");
    json_decref(ans);
    if (ttl_s)
        *ttl_s = ttl;
    return ttl > 0 ? 0 : KW_ENOTFOUND;
}

int kw__meta_etcd_lease_revoke(kw_meta_store *s, int64_t id)
{
    json_t *ans;
    int rc = lease_call(s, "/v3/lease/revoke", id, 0, &ans);
    if (rc == KW_EIO) {
        char why[256];
        kw__meta_store_errstr(s, why, sizeof(why));
        if (strstr(why, "lease not found"))
            return KW_ENOTFOUND;
    }
    if (!rc)
        json_decref(ans);
    return rc;
}

int kw__meta_etcd_cas_lease(kw_meta_store *s, const void *key, size_t key_len,
                            uint64_t expected_rev, const void *value, size_t value_len,
                            int64_t lease, uint64_t *rev)
{
    if (!kw__meta_store_is_etcd(s))
        return KW_EUNSUPPORTED;
    if (!key || !key_len || key_len > KW_META_STORE_MAX_KEY || value_len > KW_META_STORE_MAX_VALUE)
        return kw__meta_store_fail(s, KW_EINVAL, "etcd cas: bad key or value size");
    return cas_lease((etcd_store *)s, key, key_len, expected_rev, value, value_len, lease, rev);
}

/* ---------------------------------------------------------------- open */

static char *dup_opt(const char *s, bool *oom)
{
    if (!s || !*s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

static int open_fail(etcd_store *e, int rc, char *err, size_t cap, const char *fmt, const char *a)
{
    if (err && cap)
        snprintf(err, cap, fmt, a);
    if (e)
        etcd_close(&e->base);
    return rc;
}

int kw__meta_store_etcd_open(const kw_meta_store_etcd_options *opt, kw_meta_store **out,
                             char *err, size_t err_cap)
{
    if (err && err_cap)
        err[0] = 0;
    if (!out)
        return KW_EINVAL;
    *out = NULL;
    if (!opt || !opt->endpoints || !opt->endpoint_count)
        return open_fail(NULL, KW_ECONFIG, err, err_cap, "%s",
                         "store_addrs: no etcd endpoint given");
    if (!!opt->cert_file != !!opt->key_file)
        return open_fail(NULL, KW_ECONFIG, err, err_cap, "%s",
                         "etcd TLS: give both a client certificate and its key, or neither");
    if (!!opt->username != !!opt->password)
        return open_fail(NULL, KW_ECONFIG, err, err_cap, "%s",
                         "etcd auth: give both a user name and a password, or neither");
    etcd_store *e = calloc(1, sizeof(*e));
    if (!e)
        return KW_ENOMEM;
    kw__meta_store_init(&e->base, &etcd_ops);
    pthread_mutex_init(&e->mu, NULL);
    e->timeout_ms = opt->timeout_ms ? opt->timeout_ms : 5000;
    bool oom = false;
    bool tls = opt->use_tls || opt->ca_file || opt->cert_file;
    e->endpoints = calloc(opt->endpoint_count, sizeof(*e->endpoints));
    if (!e->endpoints)
        return open_fail(e, KW_ENOMEM, err, err_cap, "%s", "out of memory");
    for (size_t i = 0; i < opt->endpoint_count; i++) {
        const char *ep = opt->endpoints[i];
        if (!ep || !*ep || strchr(ep, ' ') || strchr(ep, '?') || strchr(ep, '#'))
            return open_fail(e, KW_ECONFIG, err, err_cap, "store_addrs: bad etcd endpoint '%s'",
                             ep ? ep : "(null)");
        bool schemed = strncmp(ep, "http://", 7) == 0 || strncmp(ep, "https://", 8) == 0;
        if (!schemed && strstr(ep, "://"))
            return open_fail(e, KW_ECONFIG, err, err_cap,
                             "store_addrs: '%s': only http:// and https:// are supported", ep);
        size_t n = strlen(ep) + 16;
        char *u = malloc(n);
        if (!u)
            return open_fail(e, KW_ENOMEM, err, err_cap, "%s", "out of memory");
        snprintf(u, n, "%s%s", schemed ? "" : tls ? "https://" : "http://", ep);
        size_t ul = strlen(u);
        while (ul && u[ul - 1] == '/')
            u[--ul] = 0;
        e->endpoints[e->nendpoints++] = u;
    }
    e->prefix = dup_opt(opt->key_prefix, &oom);
    e->prefix_len = e->prefix ? strlen(e->prefix) : 0;
    e->ca_file = dup_opt(opt->ca_file, &oom);
    e->cert_file = dup_opt(opt->cert_file, &oom);
    e->key_file = dup_opt(opt->key_file, &oom);
    e->username = dup_opt(opt->username, &oom);
    e->password = dup_opt(opt->password, &oom);
    e->curl = curl_easy_init();
    if (oom || !e->curl)
        return open_fail(e, KW_ENOMEM, err, err_cap, "%s", "out of memory");
    curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, e->timeout_ms);
    curl_easy_setopt(e->curl, CURLOPT_CONNECTTIMEOUT_MS, e->timeout_ms);
    curl_easy_setopt(e->curl, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM from a library */
    curl_easy_setopt(e->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e->curl, CURLOPT_FOLLOWLOCATION, 0L);
    if (e->ca_file)
        curl_easy_setopt(e->curl, CURLOPT_CAINFO, e->ca_file);
    if (e->cert_file) {
        curl_easy_setopt(e->curl, CURLOPT_SSLCERT, e->cert_file);
        curl_easy_setopt(e->curl, CURLOPT_SSLKEY, e->key_file);
    }
    /* The first call checks the endpoints (and the credentials). */
    int rc;
    json_t *ans = NULL;
    if (e->username) {
        rc = authenticate(e);
    } else {
        json_t *d = json_pack("{s:s, s:b}", "key", "AA==", "count_only", 1);
        rc = d ? call(e, "/v3/kv/range", d, READ_ONLY, &ans) : KW_ENOMEM;
        json_decref(ans);
    }
    if (rc) {
        char why[300];
        kw__meta_store_errstr(&e->base, why, sizeof(why));
        return open_fail(e, rc, err, err_cap, "%s", why);
    }
    *out = &e->base;
    return 0;
}
