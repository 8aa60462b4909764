/* SASL client mechanisms: PLAIN, OAUTHBEARER here; SCRAM, GSSAPI and AWS_MSK_IAM in their own files. */
#include "net/sasl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "net/sasl_aws.h"
#include "net/sasl_gssapi.h"
#include "net/sigv4.h"

static const char *const mech_names[] = {
    [KW_SASL_NONE] = "",
    [KW_SASL_PLAIN] = "PLAIN",
    [KW_SASL_SCRAM_SHA_256] = "SCRAM-SHA-256",
    [KW_SASL_SCRAM_SHA_512] = "SCRAM-SHA-512",
    [KW_SASL_OAUTHBEARER] = "OAUTHBEARER",
    [KW_SASL_GSSAPI] = "GSSAPI",
    [KW_SASL_AWS_MSK_IAM] = "AWS_MSK_IAM",
};

static void set_detail(kw_sasl *s, const char *fmt, va_list ap)
{
    vsnprintf(s->errstr, sizeof(s->errstr), fmt, ap);
}

/* A configuration mistake: no exchange can start until the config is fixed. */
static int config_fail(kw_sasl *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int config_fail(kw_sasl *s, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_detail(s, fmt, ap);
    va_end(ap);
    s->config_err = s->err = err;
    s->phase = KW_SASL_FAILED;
    return err;
}

/*
 * An exchange failed: the detail names the user and mechanism, because the
 * one line a log shows must say which credentials the broker refused.
 */
static int fail(kw_sasl *s, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(kw_sasl *s, int err, const char *fmt, ...)
{
    int n;
    if (s->username)
        n = snprintf(s->errstr, sizeof(s->errstr),
                     "SASL authentication failed for user %.128s (%s): ", s->username,
                     mech_names[s->mech]);
    else
        n = snprintf(s->errstr, sizeof(s->errstr), "SASL authentication failed (%s): ",
                     mech_names[s->mech]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->errstr + n, sizeof(s->errstr) - (size_t)n, fmt, ap);
    va_end(ap);
    s->err = err;
    s->phase = KW_SASL_FAILED;
    return err;
}

static void wipe_free(void *p, size_t n)
{
    if (p) {
        OPENSSL_cleanse(p, n);
        free(p);
    }
}

static void wipe_str(char *p)
{
    if (p)
        wipe_free(p, strlen(p));
}

static void drop_out(kw_sasl *s)
{
    wipe_free(s->out, s->out_len);
    s->out = NULL;
    s->out_len = 0;
}

/* Server text goes into log lines: keep it on one line and bounded. */
static char *printable_dup(const void *src, size_t len, size_t max)
{
    size_t n = len < max ? len : max;
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    const unsigned char *p = src;
    for (size_t i = 0; i < n; i++)
        d[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
    d[n] = '\0';
    return d;
}

/* NULL in gives NULL out; *oom is set when a real copy fails. */
static char *dup_opt(const char *src, bool *oom)
{
    if (!src)
        return NULL;
    char *d = strdup(src);
    if (!d)
        *oom = true;
    return d;
}

bool kw__sasl_ext_key_ok(const char *k)
{
    if (!k || !k[0])
        return false;
    for (const char *p = k; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return false;
    return true;
}

bool kw__sasl_ext_value_ok(const char *v)
{
    if (!v || !v[0])
        return false;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (!((*p >= 0x21 && *p <= 0x7e) || *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
            return false;
    return true;
}

/*
 * AWS_MSK_IAM's credentials from the document the connection fetched for this
 * exchange (a file or Unix-socket source), in the form the mechanism's
 * callback hands over: malloc'd copies.
 */
static char *dup_or_null(const char *v, bool *oom)
{
    if (!v)
        return NULL;
    char *d = strdup(v);
    if (!d)
        *oom = true;
    return d;
}

static int aws_from_document(void *ctx, kw_sasl_aws_credentials *out, char *err, size_t errlen)
{
    kw_sasl *s = ctx;
    const kw_cred_doc *doc = &s->fetched;
    if (doc->kind != KW_CRED_AWS || !doc->access_key || !doc->secret_key) {
        snprintf(err, errlen, "no AWS credential document was fetched from %s",
                 kw__cred_source_name(s->cred));
        return KW_EINVAL;
    }
    bool oom = false;
    out->access_key_id = dup_or_null(doc->access_key, &oom);
    out->secret_access_key = dup_or_null(doc->secret_key, &oom);
    out->session_token = dup_or_null(doc->session_token, &oom);
    out->user_agent = dup_or_null(doc->user_agent, &oom);
    if (oom) {
        snprintf(err, errlen, "out of memory");
        return KW_ENOMEM;
    }
    return 0;
}

int kw__sasl_init(kw_sasl *s, const kw_sasl_config *cfg)
{
    memset(s, 0, sizeof(*s));
    if (!cfg || !cfg->mechanism || !cfg->mechanism[0])
        return config_fail(s, KW_EINVAL, "SASL: no mechanism configured");
    const char *m = cfg->mechanism;
    for (int i = KW_SASL_PLAIN; i <= KW_SASL_AWS_MSK_IAM; i++)
        if (strcasecmp(m, mech_names[i]) == 0)
            s->mech = (enum kw_sasl_mech)i;
    if (s->mech == KW_SASL_NONE)
        return config_fail(s, KW_EUNSUPPORTED,
                           "SASL mechanism \"%.64s\" is unknown (kwal offers PLAIN, "
                           "SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER, GSSAPI, AWS_MSK_IAM)",
                           m);
    const char *name = mech_names[s->mech];
    bool oom = false;
    if (cfg->cred && s->mech != KW_SASL_OAUTHBEARER && s->mech != KW_SASL_AWS_MSK_IAM)
        return config_fail(s, KW_EINVAL,
                           "SASL %s takes no credential document source (%s is for OAUTHBEARER "
                           "or AWS_MSK_IAM)",
                           name, kw__cred_source_name(cfg->cred));

    if (s->mech == KW_SASL_AWS_MSK_IAM) {
        char why[512];
        kw_sasl_config aws = *cfg;
        if (cfg->cred) {
            /* A file or socket source: the connection fetches a document before each exchange
             * (kw__sasl_set_cred) and the mechanism takes its keys from it. */
            if (kw__cred_source_kind(cfg->cred) != KW_CRED_AWS)
                return config_fail(s, KW_EINVAL,
                                   "SASL AWS_MSK_IAM: the credential source (%s) gives "
                                   "OAUTHBEARER documents, not AWS ones",
                                   kw__cred_source_name(cfg->cred));
            if (cfg->aws_access_key_id || cfg->aws_secret_access_key || cfg->aws_credentials_cb)
                return config_fail(s, KW_EINVAL,
                                   "SASL AWS_MSK_IAM: static keys and a credential source (%s) "
                                   "are both set: give one",
                                   kw__cred_source_name(cfg->cred));
            aws.aws_credentials_cb = aws_from_document;
            aws.aws_credentials_ctx = s;
            s->cred = cfg->cred;
        }
        int rc = kw__sasl_aws_new(&s->aws, &aws, why, sizeof(why));
        if (rc)
            return config_fail(s, rc, "%s", why);
    } else if (s->mech == KW_SASL_GSSAPI) {
        const char *svc = cfg->kerberos_service_name ? cfg->kerberos_service_name : "kafka";
        if (!svc[0] || strpbrk(svc, "/@ \t"))
            return config_fail(s, KW_EINVAL,
                               "SASL GSSAPI: the Kerberos service name \"%.64s\" is empty or "
                               "has '/', '@' or a space",
                               svc);
        s->krb_service = dup_opt(svc, &oom);
        s->krb_host = dup_opt(cfg->server_host, &oom);
    } else if (s->mech == KW_SASL_OAUTHBEARER) {
        int sources =
            !!cfg->oauth_token + !!cfg->oauth_token_file + !!cfg->oauth_token_cb + !!cfg->cred;
        if (sources != 1)
            return config_fail(s, KW_EINVAL,
                               "SASL OAUTHBEARER: configure exactly one of a token, a token "
                               "file, a token callback or a credential document source (got %d)",
                               sources);
        if (cfg->cred && kw__cred_source_kind(cfg->cred) != KW_CRED_OAUTH)
            return config_fail(s, KW_EINVAL,
                               "SASL OAUTHBEARER: the credential source (%s) gives AWS "
                               "documents, not OAUTHBEARER ones",
                               kw__cred_source_name(cfg->cred));
        if (cfg->oauth_token_file && !cfg->oauth_token_file[0])
            return config_fail(s, KW_EINVAL, "SASL OAUTHBEARER: the token file path is empty");
        for (size_t i = 0; i < cfg->oauth_extension_count; i++) {
            const kw_sasl_extension *e = &cfg->oauth_extensions[i];
            if (!kw__sasl_ext_key_ok(e->key))
                return config_fail(s, KW_EINVAL,
                                   "SASL OAUTHBEARER: extension key \"%.64s\" must be letters only",
                                   e->key ? e->key : "");
            /* "auth" is where the token goes; an extension must not shadow it. */
            if (strcmp(e->key, "auth") == 0)
                return config_fail(s, KW_EINVAL,
                                   "SASL OAUTHBEARER: \"auth\" is reserved, not an extension");
            if (!kw__sasl_ext_value_ok(e->value))
                return config_fail(s, KW_EINVAL,
                                   "SASL OAUTHBEARER: extension %s has an empty value or one "
                                   "with control characters",
                                   e->key);
        }
        s->token = dup_opt(cfg->oauth_token, &oom);
        s->token_file = dup_opt(cfg->oauth_token_file, &oom);
        s->token_cb = cfg->oauth_token_cb;
        s->token_ctx = cfg->oauth_token_ctx;
        s->cred = cfg->cred;
        if (cfg->oauth_extension_count) {
            s->ext = calloc(cfg->oauth_extension_count, sizeof(*s->ext));
            if (!s->ext)
                return config_fail(s, KW_ENOMEM, "SASL: out of memory");
            s->ext_count = cfg->oauth_extension_count;
            for (size_t i = 0; i < s->ext_count; i++) {
                s->ext[i].key = dup_opt(cfg->oauth_extensions[i].key, &oom);
                s->ext[i].value = dup_opt(cfg->oauth_extensions[i].value, &oom);
            }
        }
    } else {
        if (!cfg->username || !cfg->username[0])
            return config_fail(s, KW_EINVAL, "SASL %s: the user name is empty", name);
        if (!cfg->password || !cfg->password[0])
            return config_fail(s, KW_EINVAL, "SASL %s: the password for user %.128s is empty",
                               name, cfg->username);
        s->username = dup_opt(cfg->username, &oom);
        s->password = dup_opt(cfg->password, &oom);
        s->cnonce = dup_opt(cfg->scram_cnonce, &oom);
        s->min_iter = cfg->scram_min_iterations;
        s->max_iter = cfg->scram_max_iterations;
    }
    if (oom)
        return config_fail(s, KW_ENOMEM, "SASL: out of memory");
    return 0;
}

const char *kw__sasl_mechanism(const kw_sasl *s)
{
    return mech_names[s->mech];
}

bool kw__sasl_token_ok(const char *t, size_t n)
{
    size_t i = 0;
    for (; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'))
            break;
    }
    if (i == 0)
        return false;
    for (; i < n; i++)
        if (t[i] != '=')
            return false;
    return true;
}

/* Reads the whole token file into buf; returns its length or a negative code (detail set). */
static long read_token_file(kw_sasl *s, char *buf, size_t cap)
{
    FILE *f = fopen(s->token_file, "re");
    if (!f) {
        char eb[128];
        return fail(s, KW_EIO, "cannot open token file %s: %s", s->token_file,
                    strerror_r(errno, eb, sizeof(eb)));
    }
    size_t n = fread(buf, 1, cap, f);
    bool err = ferror(f);
    int saved = errno;
    /* One byte more than the cap tells "exactly cap" apart from "longer". */
    char extra;
    bool longer = !err && n == cap && fread(&extra, 1, 1, f) == 1;
    fclose(f);
    if (err) {
        char eb[128];
        return fail(s, KW_EIO, "cannot read token file %s: %s", s->token_file,
                    strerror_r(saved, eb, sizeof(eb)));
    }
    if (longer)
        return fail(s, KW_EINVAL, "token file %s is longer than %u bytes", s->token_file,
                    KW_SASL_TOKEN_MAX);
    return (long)n;
}

/* n,[a=zid],\x01auth=Bearer <token>\x01[key=value\x01]...\x01 (RFC 7628 section 3.1, as Kafka sends it) */
static int oauth_first(kw_sasl *s)
{
    size_t cap = KW_SASL_TOKEN_MAX;
    char *buf = malloc(cap);
    if (!buf)
        return fail(s, KW_ENOMEM, "out of memory");
    long n;
    const char *src;
    const kw_cred_doc *doc = s->cred ? &s->fetched : NULL;
    if (doc) {
        src = "the credential document's token";
        if (doc->kind != KW_CRED_OAUTH || !doc->token) {
            wipe_free(buf, cap);
            return fail(s, KW_EINVAL, "no credential document was fetched from %s",
                        kw__cred_source_name(s->cred));
        }
        n = (long)strlen(doc->token);
        if ((size_t)n > cap)
            n = (long)cap + 1;
        else
            memcpy(buf, doc->token, (size_t)n);
    } else if (s->token) {
        src = "the configured token";
        n = (long)strlen(s->token);
        if ((size_t)n > cap)
            n = (long)cap + 1;
        else
            memcpy(buf, s->token, (size_t)n);
    } else if (s->token_file) {
        src = "the token file";
        n = read_token_file(s, buf, cap);
        if (n < 0) {
            wipe_free(buf, cap);
            return (int)n;
        }
    } else {
        src = "the token callback";
        int rc = s->token_cb(s->token_ctx, buf, cap);
        if (rc < 0) {
            wipe_free(buf, cap);
            int err = rc >= KW_ECORRUPT ? rc : KW_EINVAL;
            return fail(s, err, "the token callback failed (%d: %s)", rc, kw_strerror(rc));
        }
        n = rc;
    }
    if ((size_t)n > cap) {
        wipe_free(buf, cap);
        return fail(s, KW_EINVAL, "%s is longer than %u bytes", src, KW_SASL_TOKEN_MAX);
    }
    /* Files written by editors and `echo` end in a newline that is not part of the token. */
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    if (n == 0) {
        wipe_free(buf, cap);
        if (s->token_file)
            return fail(s, KW_EINVAL, "token file %s is empty", s->token_file);
        return fail(s, KW_EINVAL, "%s is empty", src);
    }
    if (!kw__sasl_token_ok(buf, (size_t)n)) {
        wipe_free(buf, cap);
        if (s->token_file)
            return fail(s, KW_EINVAL, "token file %s holds characters a bearer token cannot have",
                        s->token_file);
        return fail(s, KW_EINVAL, "%s holds characters a bearer token cannot have", src);
    }

    /* A document's extensions replace the configured ones; its zid goes into the GS2 header. */
    const kw_sasl_extension *ext = s->ext;
    size_t ext_count = s->ext_count;
    const char *zid = doc ? doc->zid : NULL;
    if (doc && doc->ext_count) {
        /* kw_cred_kv and kw_sasl_extension are both {key, value} string pairs. */
        _Static_assert(sizeof(kw_cred_kv) == sizeof(kw_sasl_extension), "same layout");
        ext = (const kw_sasl_extension *)doc->ext;
        ext_count = doc->ext_count;
    }
    static const char head[] = "\x01" "auth=Bearer ";
    /* "n,a=" zid "," with ',' and '=' escaped as =2C and =3D (RFC 5801 saslname): 3 bytes each. */
    size_t len = 5 + (zid ? 3 * strlen(zid) : 0) + sizeof(head) - 1 + (size_t)n + 1;
    for (size_t i = 0; i < ext_count; i++)
        len += strlen(ext[i].key) + 1 + strlen(ext[i].value) + 1;
    len += 1;
    uint8_t *out = malloc(len);
    if (!out) {
        wipe_free(buf, cap);
        return fail(s, KW_ENOMEM, "out of memory");
    }
    uint8_t *p = out;
    *p++ = 'n';
    *p++ = ',';
    if (zid) {
        *p++ = 'a';
        *p++ = '=';
        for (const char *z = zid; *z; z++) {
            if (*z == ',' || *z == '=') {
                memcpy(p, *z == ',' ? "=2C" : "=3D", 3);
                p += 3;
            } else {
                *p++ = (uint8_t)*z;
            }
        }
    }
    *p++ = ',';
    memcpy(p, head, sizeof(head) - 1);
    p += sizeof(head) - 1;
    memcpy(p, buf, (size_t)n);
    p += n;
    *p++ = 0x01;
    for (size_t i = 0; i < ext_count; i++) {
        size_t kl = strlen(ext[i].key), vl = strlen(ext[i].value);
        memcpy(p, ext[i].key, kl);
        p += kl;
        *p++ = '=';
        memcpy(p, ext[i].value, vl);
        p += vl;
        *p++ = 0x01;
    }
    *p++ = 0x01;
    wipe_free(buf, cap);
    s->out = out;
    s->out_len = (size_t)(p - out);
    return 0;
}

/* authzid \0 authcid \0 passwd (RFC 4616); the authzid stays empty: act as ourselves. */
static int plain_first(kw_sasl *s)
{
    size_t ul = strlen(s->username), pl = strlen(s->password);
    s->out = malloc(1 + ul + 1 + pl);
    if (!s->out)
        return fail(s, KW_ENOMEM, "out of memory");
    s->out[0] = 0;
    memcpy(s->out + 1, s->username, ul);
    s->out[1 + ul] = 0;
    memcpy(s->out + 2 + ul, s->password, pl);
    s->out_len = 2 + ul + pl;
    return 0;
}

static int scram_first(kw_sasl *s)
{
    kw_scram_opts o = {
        .md = s->mech == KW_SASL_SCRAM_SHA_512 ? EVP_sha512() : EVP_sha256(),
        .user = s->username,
        .password = s->password,
        .cnonce = s->cnonce,
        .min_iterations = s->min_iter,
        .max_iterations = s->max_iter,
    };
    const char *msg;
    size_t len;
    int rc = kw__scram_start(&s->scram, &o, &msg, &len);
    if (rc)
        return fail(s, rc, "%s", kw__scram_errstr(&s->scram));
    /* Copied so that every mechanism hands out s->out and wipes it the same way. */
    s->out = malloc(len);
    if (!s->out)
        return fail(s, KW_ENOMEM, "out of memory");
    memcpy(s->out, msg, len);
    s->out_len = len;
    return 0;
}

/* Keeps a copy of a token to send (s->out, wiped like the other mechanisms' messages). */
static int keep_out(kw_sasl *s, const uint8_t *msg, size_t n)
{
    drop_out(s);
    s->out = malloc(n ? n : 1);
    if (!s->out)
        return fail(s, KW_ENOMEM, "out of memory");
    if (n)
        memcpy(s->out, msg, n);
    s->out_len = n;
    return 0;
}

/* AWS_MSK_IAM: the signed payload; its access key names the "user" in the messages. */
static int aws_first(kw_sasl *s)
{
    char who[KW_SIGV4_NAME_MAX + 1] = "", why[512] = "";
    free(s->username);
    s->username = NULL;
    int rc = kw__sasl_aws_first(s->aws, &s->out, &s->out_len, who, sizeof(who), why, sizeof(why));
    if (who[0] && !(s->username = strdup(who)))
        rc = rc ? rc : KW_ENOMEM;
    if (rc)
        return fail(s, rc, "%s", rc == KW_ENOMEM && !why[0] ? "out of memory" : why);
    return 0;
}

static int aws_step(kw_sasl *s, const void *in, size_t len)
{
    char id[128], why[512] = "";
    if (kw__sasl_aws_parse_response(in, len, id, sizeof(id), why, sizeof(why)))
        return fail(s, KW_ESASL, "%s", why);
    return KW_SASL_DONE;
}

static int gssapi_first(kw_sasl *s)
{
    if (!s->krb_host || !s->krb_host[0])
        return fail(s, KW_EINVAL, "no broker host to ask a Kerberos ticket for");
    const uint8_t *tok;
    size_t n;
    char err[512];
    int rc = kw__gssapi_start(&s->gss, s->krb_service, s->krb_host, &tok, &n, err, sizeof(err));
    if (rc)
        return fail(s, rc, "%s", err);
    return keep_out(s, tok, n);
}

static int gssapi_step(kw_sasl *s, const void *in, size_t len, const uint8_t **out, size_t *outlen)
{
    if (s->gss_last)
        return KW_SASL_DONE; /* the broker accepted the last token (a refusal is an error code) */
    const uint8_t *tok;
    size_t n;
    bool done;
    char err[512];
    int rc = kw__gssapi_step(s->gss, in, len, &tok, &n, &done, err, sizeof(err));
    if (rc)
        return fail(s, rc, "%s", err);
    if (done && n == 0)
        return KW_SASL_DONE;
    if ((rc = keep_out(s, tok, n)) != 0)
        return rc;
    s->gss_last = done;
    s->phase = KW_SASL_SENT_SECOND;
    *out = s->out;
    *outlen = s->out_len;
    return KW_SASL_CONTINUE;
}

int kw__sasl_start(kw_sasl *s, const uint8_t **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (s->config_err)
        return s->config_err;
    drop_out(s);
    kw__scram_free(&s->scram);
    kw__gssapi_free(s->gss);
    s->gss = NULL;
    s->gss_last = false;
    free(s->server_json);
    s->server_json = NULL;
    s->errstr[0] = '\0';
    s->err = 0;
    int rc;
    switch (s->mech) {
    case KW_SASL_PLAIN:
        rc = plain_first(s);
        break;
    case KW_SASL_SCRAM_SHA_256:
    case KW_SASL_SCRAM_SHA_512:
        rc = scram_first(s);
        break;
    case KW_SASL_OAUTHBEARER:
        rc = oauth_first(s);
        break;
    case KW_SASL_GSSAPI:
        rc = gssapi_first(s);
        break;
    case KW_SASL_AWS_MSK_IAM:
        rc = aws_first(s);
        break;
    default:
        return config_fail(s, KW_EINVAL, "SASL: kw__sasl_init did not succeed");
    }
    /* A fetched document serves one exchange: the next one fetches anew. */
    kw__cred_doc_clear(&s->fetched);
    if (rc)
        return rc;
    s->phase = KW_SASL_SENT_FIRST;
    *out = s->out;
    *outlen = s->out_len;
    return 0;
}

static int scram_step(kw_sasl *s, const void *in, size_t len, const uint8_t **out, size_t *outlen)
{
    if (s->phase == KW_SASL_SENT_FIRST) {
        const char *msg;
        size_t n;
        int rc = kw__scram_final(&s->scram, in, len, &msg, &n);
        if (rc)
            return fail(s, rc, "%s", kw__scram_errstr(&s->scram));
        drop_out(s);
        s->out = malloc(n);
        if (!s->out)
            return fail(s, KW_ENOMEM, "out of memory");
        memcpy(s->out, msg, n);
        s->out_len = n;
        s->phase = KW_SASL_SENT_SECOND;
        *out = s->out;
        *outlen = n;
        return KW_SASL_CONTINUE;
    }
    int rc = kw__scram_verify(&s->scram, in, len);
    if (rc)
        return fail(s, rc, "%s", kw__scram_errstr(&s->scram));
    return KW_SASL_DONE;
}

/* Longest server error document kept for the detail. */
#define KW_SASL_SERVER_TEXT_MAX 600u

static int oauth_step(kw_sasl *s, const void *in, size_t len, const uint8_t **out, size_t *outlen)
{
    if (s->phase == KW_SASL_SENT_FIRST) {
        /* Kafka answers a good token with nothing at all. */
        if (len == 0)
            return KW_SASL_DONE;
        /*
         * Anything else is the RFC 7628 error document.  The RFC makes the
         * client answer it with a lone %x01 so the server can end the
         * exchange with a failure; the document is the useful part.
         */
        s->server_json = printable_dup(in, len, KW_SASL_SERVER_TEXT_MAX);
        drop_out(s);
        s->out = malloc(1);
        if (!s->out || !s->server_json)
            return fail(s, KW_ENOMEM, "out of memory");
        s->out[0] = 0x01;
        s->out_len = 1;
        s->phase = KW_SASL_SENT_SECOND;
        *out = s->out;
        *outlen = 1;
        return KW_SASL_CONTINUE;
    }
    return fail(s, KW_ESASL, "%s",
                s->server_json ? s->server_json : "the server refused the token");
}

int kw__sasl_step(kw_sasl *s, const void *in, size_t len, const uint8_t **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (s->phase == KW_SASL_FAILED)
        return s->err;
    if (s->phase != KW_SASL_SENT_FIRST && s->phase != KW_SASL_SENT_SECOND)
        return fail(s, KW_EINVAL, "a server message arrived with no exchange in progress");
    if (len && !in)
        return fail(s, KW_EINVAL, "server message is NULL");
    int rc;
    switch (s->mech) {
    case KW_SASL_SCRAM_SHA_256:
    case KW_SASL_SCRAM_SHA_512:
        rc = scram_step(s, in, len, out, outlen);
        break;
    case KW_SASL_OAUTHBEARER:
        rc = oauth_step(s, in, len, out, outlen);
        break;
    case KW_SASL_GSSAPI:
        rc = gssapi_step(s, in, len, out, outlen);
        break;
    case KW_SASL_AWS_MSK_IAM:
        rc = aws_step(s, in, len);
        break;
    default:
        /* PLAIN is one message; Kafka reports a refusal as an error code, not in these bytes. */
        rc = KW_SASL_DONE;
        break;
    }
    if (rc == KW_SASL_DONE) {
        drop_out(s);
        kw__scram_free(&s->scram);
        kw__gssapi_free(s->gss);
        s->gss = NULL;
        s->phase = KW_SASL_FINISHED;
    }
    return rc;
}

int kw__sasl_server_error(kw_sasl *s, const char *msg, size_t len)
{
    char *text = msg && len ? printable_dup(msg, len, KW_SASL_SERVER_TEXT_MAX) : NULL;
    const char *broker = text ? text : "the broker refused the credentials";
    int rc;
    if (s->server_json && text && strcmp(text, s->server_json) == 0)
        rc = fail(s, KW_ESASL, "%s", s->server_json); /* Kafka 4 repeats the document */
    else if (s->server_json)
        rc = fail(s, KW_ESASL, "%s (broker: %s)", s->server_json, broker);
    else
        rc = fail(s, KW_ESASL, "%s", broker);
    free(text);
    drop_out(s);
    kw__scram_free(&s->scram);
    kw__gssapi_free(s->gss);
    s->gss = NULL;
    return rc;
}

struct kw_cred_source *kw__sasl_cred_source(const kw_sasl *s)
{
    return s->config_err ? NULL : s->cred;
}

void kw__sasl_set_cred(kw_sasl *s, kw_cred_doc *doc)
{
    kw__cred_doc_move(&s->fetched, doc);
}

int kw__sasl_cred_failed(kw_sasl *s, int err, const char *detail)
{
    drop_out(s);
    kw__cred_doc_clear(&s->fetched);
    return fail(s, err == KW_ENOMEM ? KW_ENOMEM : KW_ESASL, "%s", detail);
}

const char *kw__sasl_errstr(const kw_sasl *s)
{
    return s->errstr;
}

void kw__sasl_free(kw_sasl *s)
{
    drop_out(s);
    kw__scram_free(&s->scram);
    wipe_str(s->password);
    wipe_str(s->token);
    free(s->username);
    free(s->token_file);
    free(s->cnonce);
    for (size_t i = 0; i < s->ext_count; i++) {
        free((char *)s->ext[i].key);
        free((char *)s->ext[i].value);
    }
    free(s->ext);
    free(s->server_json);
    kw__cred_doc_clear(&s->fetched);
    kw__gssapi_free(s->gss);
    kw__sasl_aws_free(s->aws);
    free(s->krb_service);
    free(s->krb_host);
    memset(s, 0, sizeof(*s));
}
