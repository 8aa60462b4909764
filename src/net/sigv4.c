/* AWS Signature Version 4 in its query-string form, and the AWS_MSK_IAM JSON payload (jansson) it signs. */
#include "net/sigv4.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "kwal/error.h"
#include "kwal/version.h"

static void to_hex(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hmac(const void *key, size_t klen, const void *msg, size_t mlen,
                uint8_t out[KW_SIGV4_KEY_LEN])
{
    unsigned int n = 0;
    if (!HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &n) || n != KW_SIGV4_KEY_LEN)
        return KW_ENOMEM; /* OpenSSL fails here only when it cannot allocate */
    return 0;
}

int kw__sigv4_signing_key(const char *secret, const char *date8, const char *region,
                          const char *service, uint8_t key[KW_SIGV4_KEY_LEN])
{
    if (!secret || !date8 || !region || !service)
        return KW_EINVAL;
    size_t sl = strlen(secret);
    char *k = malloc(4 + sl);
    if (!k)
        return KW_ENOMEM;
    memcpy(k, "AWS4", 4);
    memcpy(k + 4, secret, sl);
    uint8_t a[KW_SIGV4_KEY_LEN], b[KW_SIGV4_KEY_LEN];
    int rc = hmac(k, 4 + sl, date8, strlen(date8), a);
    if (!rc)
        rc = hmac(a, sizeof(a), region, strlen(region), b);
    if (!rc)
        rc = hmac(b, sizeof(b), service, strlen(service), a);
    if (!rc)
        rc = hmac(a, sizeof(a), "aws4_request", 12, key);
    OPENSSL_cleanse(k, 4 + sl);
    free(k);
    OPENSSL_cleanse(a, sizeof(a));
    OPENSSL_cleanse(b, sizeof(b));
    return rc;
}

int kw__sigv4_signature(const uint8_t key[KW_SIGV4_KEY_LEN], const char *to_sign, size_t len,
                        char hex[KW_SIGV4_HEX_LEN + 1])
{
    uint8_t mac[KW_SIGV4_KEY_LEN];
    int rc = hmac(key, KW_SIGV4_KEY_LEN, to_sign, len, mac);
    if (rc)
        return rc;
    to_hex(mac, sizeof(mac), hex);
    return 0;
}

int kw__sigv4_sha256_hex(const void *data, size_t len, char hex[KW_SIGV4_HEX_LEN + 1])
{
    uint8_t md[KW_SIGV4_KEY_LEN];
    unsigned int n = 0;
    if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) || n != sizeof(md))
        return KW_ENOMEM;
    to_hex(md, sizeof(md), hex);
    return 0;
}

int kw__sigv4_amz_date(int64_t unix_s, char out[KW_SIGV4_AMZ_DATE_LEN + 1])
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    if ((int64_t)t != unix_s || !gmtime_r(&t, &tm) || tm.tm_year < 0 || tm.tm_year > 8099)
        return KW_EINVAL;
    if (strftime(out, KW_SIGV4_AMZ_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm) != KW_SIGV4_AMZ_DATE_LEN)
        return KW_EINVAL;
    return 0;
}

bool kw__sigv4_name_ok(const char *s)
{
    if (!s || !s[0] || strlen(s) > KW_SIGV4_NAME_MAX)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
            return false;
    return true;
}

/* A growing NUL-terminated string; once an allocation fails it stays failed (oom), text wiped. */
typedef struct kw__sigv4_text {
    char *p;
    size_t len, cap;
    bool oom;
} kw__sigv4_text;

static void text_put(kw__sigv4_text *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        /* Not realloc: the old block may hold a session token and must be wiped, not abandoned. */
        char *q = malloc(cap);
        if (!q) {
            b->oom = true;
            return;
        }
        if (b->p) {
            memcpy(q, b->p, b->len);
            OPENSSL_cleanse(b->p, b->cap);
            free(b->p);
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void text_append(kw__sigv4_text *b, const char *s)
{
    text_put(b, s, strlen(s));
}

static void text_free(kw__sigv4_text *b)
{
    if (b->p) {
        OPENSSL_cleanse(b->p, b->cap);
        free(b->p);
    }
    memset(b, 0, sizeof(*b));
}

/* SigV4's URI encoding: RFC 3986 unreserved characters as they are, any other byte %XX (upper). */
static void text_append_encoded(kw__sigv4_text *b, const char *s)
{
    static const char digits[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            text_put(b, (const char *)p, 1);
        } else {
            char e[3] = {'%', digits[c >> 4], digits[c & 15]};
            text_put(b, e, 3);
        }
    }
}

typedef struct kw__sigv4_encoded {
    char *name, *value;
} kw__sigv4_encoded;

static int cmp_param(const void *a, const void *b)
{
    const kw__sigv4_encoded *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static char *uri_dup(const char *s)
{
    kw__sigv4_text b = {0};
    text_append_encoded(&b, s);
    text_put(&b, "", 0);
    if (b.oom) {
        text_free(&b);
        return NULL;
    }
    return b.p;
}

static void wipe_free_str(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

/* name=value&... with both sides encoded, sorted by encoded name (then value), as SigV4 wants. */
static int canonical_query(kw__sigv4_text *b, const kw_sigv4_param *params, size_t n)
{
    kw__sigv4_encoded *e = calloc(n ? n : 1, sizeof(*e));
    if (!e)
        return KW_ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (!params[i].name || !params[i].value) {
            rc = KW_EINVAL;
            break;
        }
        e[i].name = uri_dup(params[i].name);
        e[i].value = uri_dup(params[i].value);
        if (!e[i].name || !e[i].value)
            rc = KW_ENOMEM;
    }
    if (!rc) {
        qsort(e, n, sizeof(*e), cmp_param);
        for (size_t i = 0; i < n; i++) {
            if (i)
                text_put(b, "&", 1);
            text_append(b, e[i].name);
            text_put(b, "=", 1);
            text_append(b, e[i].value);
        }
    }
    for (size_t i = 0; i < n; i++) {
        wipe_free_str(e[i].name);
        wipe_free_str(e[i].value);
    }
    free(e);
    return rc;
}

int kw__sigv4_presign_sign(const kw_sigv4_presign *p, char sig[KW_SIGV4_HEX_LEN + 1],
                           char **canonical_request)
{
    if (canonical_request)
        *canonical_request = NULL;
    sig[0] = '\0';
    if (!p || !p->host || !p->amz_date || strlen(p->amz_date) != KW_SIGV4_AMZ_DATE_LEN ||
        !p->region || !p->service || !p->secret_key || (p->param_count && !p->params))
        return KW_EINVAL;
    /*
     * Canonical request (the presigned form has no X-Amz-Signature in it):
     *   GET \n URI \n QUERY \n host:HOST \n \n host \n PAYLOAD-HASH
     */
    kw__sigv4_text canonical = {0};
    text_append(&canonical, "GET\n");
    text_append(&canonical, p->path ? p->path : "/");
    text_put(&canonical, "\n", 1);
    int rc = canonical_query(&canonical, p->params, p->param_count);
    if (rc) {
        text_free(&canonical);
        return rc;
    }
    text_append(&canonical, "\nhost:");
    text_append(&canonical, p->host);
    text_append(&canonical, "\n\nhost\n");
    text_append(&canonical, p->payload_hash ? p->payload_hash : KW_SIGV4_EMPTY_SHA256);
    if (canonical.oom) {
        text_free(&canonical);
        return KW_ENOMEM;
    }
    char canonical_hash[KW_SIGV4_HEX_LEN + 1];
    rc = kw__sigv4_sha256_hex(canonical.p, canonical.len, canonical_hash);

    /* String to sign: algorithm \n date-time \n scope \n hex(SHA-256(canonical request)) */
    char date8[9];
    memcpy(date8, p->amz_date, 8);
    date8[8] = '\0';
    kw__sigv4_text to_sign = {0};
    text_append(&to_sign, "AWS4-HMAC-SHA256\n");
    text_append(&to_sign, p->amz_date);
    text_put(&to_sign, "\n", 1);
    text_append(&to_sign, date8);
    text_put(&to_sign, "/", 1);
    text_append(&to_sign, p->region);
    text_put(&to_sign, "/", 1);
    text_append(&to_sign, p->service);
    text_append(&to_sign, "/aws4_request\n");
    text_append(&to_sign, canonical_hash);
    if (!rc && to_sign.oom)
        rc = KW_ENOMEM;
    uint8_t key[KW_SIGV4_KEY_LEN];
    if (!rc)
        rc = kw__sigv4_signing_key(p->secret_key, date8, p->region, p->service, key);
    if (!rc)
        rc = kw__sigv4_signature(key, to_sign.p, to_sign.len, sig);
    OPENSSL_cleanse(key, sizeof(key));
    text_free(&to_sign);
    if (!rc && canonical_request) {
        *canonical_request = canonical.p; /* handed over, not freed */
        canonical.p = NULL;
    }
    text_free(&canonical);
    return rc;
}

static int bad(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return KW_EINVAL;
}

/* Printable ASCII without spaces: what an access key id, a host name and a token are made of. */
static bool graph_ok(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= max || s[n] <= 0x20 || s[n] >= 0x7f)
            return false;
    return n > 0;
}

/* A user agent may have spaces ("kwal/0.1 linux"), nothing else outside printable ASCII. */
static bool text_ok(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= max || s[n] < 0x20 || s[n] >= 0x7f)
            return false;
    return n > 0;
}

static int add(json_t *o, const char *k, const char *v)
{
    json_t *s = json_string(v);
    if (!s || json_object_set_new(o, k, s))
        return KW_ENOMEM;
    return 0;
}

int kw__msk_iam_payload(const kw_msk_iam_args *a, char **out, size_t *outlen, char *err,
                        size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    if (err && errlen)
        err[0] = '\0';
    if (!a->access_key_id || !graph_ok(a->access_key_id, KW_SIGV4_NAME_MAX))
        return bad(err, errlen, "the AWS access key id is empty, too long or has spaces or "
                                "control characters");
    if (!a->secret_access_key || !a->secret_access_key[0])
        return bad(err, errlen, "the AWS secret access key is empty");
    bool token = a->session_token && a->session_token[0];
    if (token && !graph_ok(a->session_token, KW_SIGV4_TOKEN_MAX))
        return bad(err, errlen, "the AWS session token is longer than %u bytes or has spaces or "
                                "control characters", KW_SIGV4_TOKEN_MAX);
    if (!kw__sigv4_name_ok(a->region))
        return bad(err, errlen, "the AWS region \"%.64s\" is not a region name (a-z, 0-9, '-')",
                   a->region ? a->region : "");
    if (!a->host || !graph_ok(a->host, 255) || strchr(a->host, '/'))
        return bad(err, errlen, "the broker host name \"%.64s\" is empty or not a host name",
                   a->host ? a->host : "");
    const char *ua = a->user_agent && a->user_agent[0] ? a->user_agent : NULL;
    char ua_default[64];
    if (!ua) {
        snprintf(ua_default, sizeof(ua_default), "kwal/%s", kw_version());
        ua = ua_default;
    } else if (!text_ok(ua, KW_SIGV4_NAME_MAX)) {
        return bad(err, errlen, "the AWS user agent is longer than %u bytes or has control "
                                "characters", KW_SIGV4_NAME_MAX);
    }
    const char *action = a->action ? a->action : KW_MSK_IAM_ACTION;

    char date[KW_SIGV4_AMZ_DATE_LEN + 1];
    if (kw__sigv4_amz_date(a->now_s, date))
        return bad(err, errlen, "the time %lld cannot be written as an AWS date",
                   (long long)a->now_s);
    kw__sigv4_text credential = {0};
    text_append(&credential, a->access_key_id);
    text_put(&credential, "/", 1);
    text_put(&credential, date, 8);
    text_put(&credential, "/", 1);
    text_append(&credential, a->region);
    text_append(&credential, "/" KW_MSK_IAM_SERVICE "/aws4_request");
    if (credential.oom) {
        text_free(&credential);
        return KW_ENOMEM;
    }
    kw_sigv4_param params[] = {
        {"Action", action},
        {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
        {"X-Amz-Credential", credential.p},
        {"X-Amz-Date", date},
        {"X-Amz-Expires", KW_MSK_IAM_EXPIRES},
        {"X-Amz-SignedHeaders", "host"},
        {"X-Amz-Security-Token", token ? a->session_token : ""},
    };
    kw_sigv4_presign p = {
        .host = a->host,
        .params = params,
        .param_count = token ? 7 : 6,
        .amz_date = date,
        .region = a->region,
        .service = KW_MSK_IAM_SERVICE,
        .secret_key = a->secret_access_key,
    };
    char sig[KW_SIGV4_HEX_LEN + 1];
    int rc = kw__sigv4_presign_sign(&p, sig, NULL);
    if (rc) {
        text_free(&credential);
        return rc;
    }

    /*
     * The document MSK's broker parses (aws-msk-iam-auth's format "2020_10_22"):
     * the same parameters, keys in lower case, plus version, host and user agent.
     * Insertion order is kept (JSON_PRESERVE_ORDER) so the bytes are stable.
     */
    json_t *o = json_object();
    rc = o ? 0 : KW_ENOMEM;
    if (!rc)
        rc = add(o, "version", KW_MSK_IAM_VERSION);
    if (!rc)
        rc = add(o, "host", a->host);
    if (!rc)
        rc = add(o, "user-agent", ua);
    if (!rc)
        rc = add(o, "action", action);
    if (!rc)
        rc = add(o, "x-amz-algorithm", "AWS4-HMAC-SHA256");
    if (!rc)
        rc = add(o, "x-amz-credential", credential.p);
    if (!rc)
        rc = add(o, "x-amz-date", date);
    if (!rc)
        rc = add(o, "x-amz-signedheaders", "host");
    if (!rc)
        rc = add(o, "x-amz-expires", KW_MSK_IAM_EXPIRES);
    if (!rc)
        rc = add(o, "x-amz-signature", sig);
    if (!rc && token)
        rc = add(o, "x-amz-security-token", a->session_token);
    char *doc = rc ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    text_free(&credential);
    if (!doc)
        return KW_ENOMEM;
    *out = doc;
    *outlen = strlen(doc);
    return 0;
}

/* The DNS suffixes of AWS partitions (commercial, China, the two isolated ones). */
static const char *const aws_suffixes[] = {
    ".amazonaws.com", ".amazonaws.com.cn", ".c2s.ic.gov", ".sc2s.sgov.gov",
};

bool kw__msk_region_from_host(const char *host, char *out, size_t cap)
{
    if (cap)
        out[0] = '\0';
    if (!host)
        return false;
    size_t hl = strlen(host);
    /* A trailing dot (fully qualified) is the same name. */
    if (hl && host[hl - 1] == '.')
        hl--;
    for (size_t i = 0; i < sizeof(aws_suffixes) / sizeof(*aws_suffixes); i++) {
        size_t sl = strlen(aws_suffixes[i]);
        if (hl <= sl || strncasecmp(host + hl - sl, aws_suffixes[i], sl) != 0)
            continue;
        size_t end = hl - sl, start = end;
        while (start > 0 && host[start - 1] != '.')
            start--;
        if (start == 0 || end - start >= cap)
            return false; /* "us-east-1.amazonaws.com": no service label, not a broker */
        char region[KW_SIGV4_NAME_MAX + 1];
        size_t n = end - start;
        if (n > KW_SIGV4_NAME_MAX)
            return false;
        for (size_t j = 0; j < n; j++) {
            char c = host[start + j];
            region[j] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
        }
        region[n] = '\0';
        if (!kw__sigv4_name_ok(region))
            return false;
        memcpy(out, region, n + 1);
        return true;
    }
    return false;
}
