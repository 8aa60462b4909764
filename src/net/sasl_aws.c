/* AWS_MSK_IAM: the credentials (static or a source's), the region, the signed payload, and the broker's JSON answer. */
#include "net/sasl_aws.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "kwal/error.h"
#include "net/sigv4.h"

struct kw_sasl_aws {
    char *access_key_id, *secret_access_key, *session_token, *user_agent;
    kw_sasl_aws_credentials_fn credentials_cb;
    void *credentials_ctx;
    char *region;     /* the configured one, NULL: from the host or the environment */
    char *env_region; /* AWS_REGION as kw_client_new saw it */
    char *host;       /* the broker's host name (no port) */
    int64_t (*clock)(void *ctx);
    void *clock_ctx;
    char *action;
};

static int say(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int say(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static void wipe_str(char *p)
{
    if (p) {
        OPENSSL_cleanse(p, strlen(p));
        free(p);
    }
}

static char *dup_opt(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

void kw__sasl_aws_free(struct kw_sasl_aws *a)
{
    if (!a)
        return;
    wipe_str(a->access_key_id);
    wipe_str(a->secret_access_key);
    wipe_str(a->session_token);
    free(a->user_agent);
    free(a->region);
    free(a->env_region);
    free(a->host);
    free(a->action);
    free(a);
}

int kw__sasl_aws_new(struct kw_sasl_aws **out, const kw_sasl_config *cfg, char *err,
                     size_t errlen)
{
    *out = NULL;
    bool statics = cfg->aws_access_key_id || cfg->aws_secret_access_key || cfg->aws_session_token;
    if (statics && cfg->aws_credentials_cb)
        return say(err, errlen, KW_EINVAL,
                   "SASL AWS_MSK_IAM: configure static keys (access key id, secret access key) "
                   "or one credential source, not both");
    if (!cfg->aws_credentials_cb) {
        if (!cfg->aws_access_key_id || !cfg->aws_access_key_id[0])
            return say(err, errlen, KW_EINVAL,
                       "SASL AWS_MSK_IAM: the AWS access key id is missing "
                       "(sasl.aws.access.key.id, or a credential source)");
        if (!cfg->aws_secret_access_key || !cfg->aws_secret_access_key[0])
            return say(err, errlen, KW_EINVAL,
                       "SASL AWS_MSK_IAM: the AWS secret access key for %.64s is missing "
                       "(sasl.aws.secret.access.key)",
                       cfg->aws_access_key_id);
    }
    if (cfg->aws_region && !kw__sigv4_name_ok(cfg->aws_region))
        return say(err, errlen, KW_EINVAL,
                   "SASL AWS_MSK_IAM: the region \"%.64s\" is not a region name (a-z, 0-9, '-', "
                   "like us-east-1)",
                   cfg->aws_region);
    struct kw_sasl_aws *a = calloc(1, sizeof(*a));
    if (!a)
        return say(err, errlen, KW_ENOMEM, "SASL: out of memory");
    bool oom = false;
    a->access_key_id = dup_opt(cfg->aws_access_key_id, &oom);
    a->secret_access_key = dup_opt(cfg->aws_secret_access_key, &oom);
    /* An empty session token is the same as none (an unset environment variable, often). */
    if (cfg->aws_session_token && cfg->aws_session_token[0])
        a->session_token = dup_opt(cfg->aws_session_token, &oom);
    if (cfg->aws_user_agent && cfg->aws_user_agent[0])
        a->user_agent = dup_opt(cfg->aws_user_agent, &oom);
    a->region = dup_opt(cfg->aws_region, &oom);
    if (cfg->aws_env_region && cfg->aws_env_region[0])
        a->env_region = dup_opt(cfg->aws_env_region, &oom);
    a->host = dup_opt(cfg->server_host, &oom);
    a->action = dup_opt(cfg->aws_action, &oom);
    a->credentials_cb = cfg->aws_credentials_cb;
    a->credentials_ctx = cfg->aws_credentials_ctx;
    a->clock = cfg->aws_clock;
    a->clock_ctx = cfg->aws_clock_ctx;
    if (oom) {
        kw__sasl_aws_free(a);
        return say(err, errlen, KW_ENOMEM, "SASL: out of memory");
    }
    *out = a;
    return 0;
}

static void credentials_free(kw_sasl_aws_credentials *c)
{
    wipe_str(c->access_key_id);
    wipe_str(c->secret_access_key);
    wipe_str(c->session_token);
    free(c->user_agent);
    memset(c, 0, sizeof(*c));
}

int kw__sasl_aws_first(struct kw_sasl_aws *a, uint8_t **msg, size_t *len, char *who,
                       size_t wholen, char *err, size_t errlen)
{
    *msg = NULL;
    *len = 0;
    if (wholen)
        who[0] = '\0';
    if (!a->host || !a->host[0])
        return say(err, errlen, KW_EINVAL, "no broker host name to sign the request for");

    /* The region: configured, else MSK's broker name says it, else AWS_REGION. */
    char from_host[KW_SIGV4_NAME_MAX + 1];
    const char *region = a->region;
    if (!region && kw__msk_region_from_host(a->host, from_host, sizeof(from_host)))
        region = from_host;
    if (!region)
        region = a->env_region;
    /* KW_ESASL, not KW_EINVAL: every connection would fail alike, so waiting calls fail now. */
    if (!region)
        return say(err, errlen, KW_ESASL,
                   "no AWS region: %.128s is not an MSK broker name (...kafka.REGION."
                   "amazonaws.com), so set the region option (sasl.aws.region) or AWS_REGION",
                   a->host);
    if (!kw__sigv4_name_ok(region))
        return say(err, errlen, KW_EINVAL,
                   "the AWS region \"%.64s\" (from AWS_REGION) is not a region name", region);

    kw_sasl_aws_credentials got = {0};
    kw_msk_iam_args args = {
        .access_key_id = a->access_key_id,
        .secret_access_key = a->secret_access_key,
        .session_token = a->session_token,
        .user_agent = a->user_agent,
        .region = region,
        .host = a->host,
        .now_s = a->clock ? a->clock(a->clock_ctx) : (int64_t)time(NULL),
        .action = a->action,
    };
    if (a->credentials_cb) {
        char why[512] = "";
        int rc = a->credentials_cb(a->credentials_ctx, &got, why, sizeof(why));
        if (rc) {
            credentials_free(&got);
            if (rc > 0 || rc < KW_EDATALOSS)
                rc = KW_EINVAL; /* not a kwal code: the source is broken, say so plainly */
            return say(err, errlen, rc, "the AWS credential source failed: %s",
                       why[0] ? why : kw_strerror(rc));
        }
        if (!got.access_key_id || !got.access_key_id[0] || !got.secret_access_key ||
            !got.secret_access_key[0]) {
            credentials_free(&got);
            return say(err, errlen, KW_EINVAL,
                       "the AWS credential source gave no %s",
                       !got.access_key_id ? "access key id" : "secret access key");
        }
        args.access_key_id = got.access_key_id;
        args.secret_access_key = got.secret_access_key;
        args.session_token = got.session_token;
        if (got.user_agent && got.user_agent[0])
            args.user_agent = got.user_agent;
    }
    if (wholen)
        snprintf(who, wholen, "%s", args.access_key_id);
    char *doc;
    size_t n;
    int rc = kw__msk_iam_payload(&args, &doc, &n, err, errlen);
    credentials_free(&got);
    if (rc)
        return rc;
    *msg = (uint8_t *)doc;
    *len = n;
    return 0;
}

int kw__sasl_aws_parse_response(const void *in, size_t len, char *request_id, size_t cap,
                                char *err, size_t errlen)
{
    if (cap)
        request_id[0] = '\0';
    if (!in || len == 0)
        return say(err, errlen, KW_ESASL,
                   "the broker accepted the payload but sent no response document");
    json_error_t je;
    /* Not NUL-terminated on the wire; a NUL inside is malformed (JSON_ALLOW_NUL is off). */
    json_t *o = json_loadb(in, len, JSON_REJECT_DUPLICATES, &je);
    if (!o)
        return say(err, errlen, KW_ESASL,
                   "the broker's response is not JSON (%.120s at byte %d)", je.text,
                   je.position);
    int rc = 0;
    json_t *v = json_object_get(o, "version");
    json_t *id = json_object_get(o, "request-id");
    if (!json_is_object(o))
        rc = say(err, errlen, KW_ESASL, "the broker's response is not a JSON object");
    else if (!json_is_string(v))
        rc = say(err, errlen, KW_ESASL,
                 "the broker's response has no \"version\" string");
    else if (strcmp(json_string_value(v), KW_MSK_IAM_VERSION) != 0)
        rc = say(err, errlen, KW_ESASL,
                 "the broker's response is version \"%.32s\", kwal knows " KW_MSK_IAM_VERSION,
                 json_string_value(v));
    else if (!json_is_string(id))
        rc = say(err, errlen, KW_ESASL,
                 "the broker's response has no \"request-id\" string");
    else if (cap)
        snprintf(request_id, cap, "%s", json_string_value(id));
    json_decref(o);
    return rc;
}
