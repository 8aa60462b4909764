/* The kwal tool's -X properties: Kafka client property names onto kw_client_options. */
#include "props.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The slowest request the tool will wait for (a day); past that a typo is more likely than intent.
 */
#define CLI_MAX_TIMEOUT_MS 86400000u

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Kafka spells these upper case, librdkafka lower case: users type either.  Indexed by enum
 * kw_client_security. */
static const char *const security_names[] = {"plaintext", "ssl", "sasl_plaintext", "sasl_ssl"};
static const char *const mechanism_names[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512",
                                              "OAUTHBEARER", "GSSAPI", "AWS_MSK_IAM"};

static int set_security(kw_client_options *o, const char *v, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof security_names / sizeof *security_names; i++)
        if (strcasecmp(v, security_names[i]) == 0) {
            o->security = (int)i;
            return 0;
        }
    return fail(err, errlen,
                "-X security.protocol: '%s' is not one of plaintext, ssl, sasl_plaintext, sasl_ssl",
                v);
}

static int set_mechanism(kw_client_options *o, const char *v, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof mechanism_names / sizeof *mechanism_names; i++)
        if (strcasecmp(v, mechanism_names[i]) == 0) {
            o->sasl_mechanism = mechanism_names[i];
            return 0;
        }
    return fail(err, errlen,
                "-X sasl.mechanism: '%s' is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, "
                "OAUTHBEARER, GSSAPI, AWS_MSK_IAM",
                v);
}

static int set_timeout(uint32_t *slot, const char *key, const char *v, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    /* strtoull accepts a sign and leading blanks; a timeout is plain digits only */
    unsigned long long n = (v[0] >= '0' && v[0] <= '9') ? strtoull(v, &end, 10) : 0;
    if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno == ERANGE || n == 0 ||
        n > CLI_MAX_TIMEOUT_MS)
        return fail(err, errlen, "-X %s: '%s' is not a number of milliseconds from 1 to %u", key,
                    v, CLI_MAX_TIMEOUT_MS);
    *slot = (uint32_t)n;
    return 0;
}

/* Kafka's ssl.min.version values that kwal speaks (it has no TLS 1.0 or 1.1). */
static int set_min_version(kw_client_options *o, const char *v, char *err, size_t errlen)
{
    if (strcasecmp(v, "TLSv1.2") != 0 && strcasecmp(v, "TLSv1.3") != 0)
        return fail(err, errlen, "-X ssl.min.version: '%s' is not one of TLSv1.2, TLSv1.3", v);
    o->tls_min_version = v;
    return 0;
}

static int set_identification(kw_client_options *o, const char *v, char *err, size_t errlen)
{
    /* Kafka's values: "https" checks the host name; the empty string (or "none") turns it off. */
    if (strcasecmp(v, "https") == 0)
        o->tls_no_hostname_check = false;
    else if (v[0] == '\0' || strcasecmp(v, "none") == 0)
        o->tls_no_hostname_check = true;
    else
        return fail(err, errlen,
                    "-X ssl.endpoint.identification.algorithm: '%s' is not one of https, none", v);
    return 0;
}

/* A file path or a secret: anything but empty, which is always a slip. */
static int set_text(const char **slot, const char *key, const char *v, char *err, size_t errlen)
{
    if (v[0] == '\0')
        return fail(err, errlen, "-X %s: the value is empty", key);
    *slot = v;
    return 0;
}

int cli_props_set(kw_client_options *o, const char *kv, char *err, size_t errlen)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return fail(err, errlen, "-X: '%s' is not key=value", kv);
    size_t klen = (size_t)(eq - kv);
    char key[64];
    if (klen >= sizeof key)
        return fail(err, errlen, "-X: unknown property '%.*s'", (int)klen, kv);
    memcpy(key, kv, klen);
    key[klen] = '\0';
    const char *v = eq + 1;

    if (strcmp(key, "security.protocol") == 0)
        return set_security(o, v, err, errlen);
    if (strcmp(key, "sasl.mechanism") == 0 || strcmp(key, "sasl.mechanisms") == 0)
        return set_mechanism(o, v, err, errlen); /* the plural is librdkafka's (kcat's) name */
    if (strcmp(key, "sasl.username") == 0)
        return set_text(&o->sasl_username, key, v, err, errlen);
    if (strcmp(key, "sasl.password") == 0)
        return set_text(&o->sasl_password, key, v, err, errlen);
    if (strcmp(key, "sasl.oauthbearer.token") == 0)
        return set_text(&o->oauth_token, key, v, err, errlen);
    if (strcmp(key, "sasl.oauthbearer.file") == 0)
        return set_text(&o->oauth_file, key, v, err, errlen);
    if (strcmp(key, "sasl.oauthbearer.http.socket") == 0)
        return set_text(&o->oauth_http_socket, key, v, err, errlen);
    if (strcmp(key, "sasl.aws.file") == 0)
        return set_text(&o->aws_file, key, v, err, errlen);
    if (strcmp(key, "sasl.aws.http.socket") == 0)
        return set_text(&o->aws_http_socket, key, v, err, errlen);
    if (strcmp(key, "sasl.http.socket.timeout.ms") == 0)
        return set_timeout(&o->sasl_http_timeout_ms, key, v, err, errlen);
    if (strcmp(key, "sasl.kerberos.service.name") == 0)
        return set_text(&o->sasl_kerberos_service_name, key, v, err, errlen);
    if (strcmp(key, "sasl.kerberos.keytab") == 0 || strcmp(key, "sasl.kerberos.principal") == 0 ||
        strcmp(key, "sasl.kerberos.kinit.cmd") == 0)
        return fail(err, errlen,
                    "-X %s: not supported: kwal runs no kinit; it uses the Kerberos credential "
                    "cache (KRB5CCNAME), which kinit -k -t KEYTAB PRINCIPAL fills",
                    key);
    /* AWS_MSK_IAM: static credentials and the region (kw_client_options aws_*). */
    if (strcmp(key, "sasl.aws.access.key.id") == 0)
        return set_text(&o->aws_access_key_id, key, v, err, errlen);
    if (strcmp(key, "sasl.aws.secret.access.key") == 0)
        return set_text(&o->aws_secret_access_key, key, v, err, errlen);
    if (strcmp(key, "sasl.aws.session.token") == 0)
        return set_text(&o->aws_session_token, key, v, err, errlen);
    if (strcmp(key, "sasl.aws.region") == 0)
        return set_text(&o->aws_region, key, v, err, errlen);
    if (strcmp(key, "sasl.aws.user.agent") == 0)
        return set_text(&o->aws_user_agent, key, v, err, errlen);
    if (strcmp(key, "ssl.ca.location") == 0)
        return set_text(&o->tls_ca_file, key, v, err, errlen);
    if (strcmp(key, "ssl.certificate.location") == 0)
        return set_text(&o->tls_cert_file, key, v, err, errlen);
    if (strcmp(key, "ssl.key.location") == 0)
        return set_text(&o->tls_key_file, key, v, err, errlen);
    if (strcmp(key, "ssl.endpoint.identification.algorithm") == 0)
        return set_identification(o, v, err, errlen);
    if (strcmp(key, "ssl.min.version") == 0)
        return set_min_version(o, v, err, errlen);
    if (strcmp(key, "ssl.cipher.suites") == 0) /* the names are checked by kw_client_new */
        return set_text(&o->tls_cipher_suites, key, v, err, errlen);
    if (strcmp(key, "client.id") == 0)
        return set_text(&o->client_id, key, v, err, errlen);
    if (strcmp(key, "request.timeout.ms") == 0)
        return set_timeout(&o->request_timeout_ms, key, v, err, errlen);
    /* kwal's own (librdkafka's broker.version.fallback is a different thing): kw_client_new
     * checks the release against its table and names a bad one */
    if (strcmp(key, "api.version.max") == 0)
        return set_text(&o->api_version_max, key, v, err, errlen);
    return fail(err, errlen, "-X: unknown property '%s'", key);
}

static bool sec_is_sasl(int s)
{
    return s == KW_CLIENT_SASL_PLAINTEXT || s == KW_CLIENT_SASL_SSL;
}
/* Any AWS_MSK_IAM option set. */
static bool any_aws(const kw_client_options *o)
{
    return o->aws_access_key_id || o->aws_secret_access_key || o->aws_session_token ||
           o->aws_region || o->aws_user_agent;
}

/* AWS_MSK_IAM's options fit together: the keys (both), nothing of the other mechanisms. */
static int check_aws(const kw_client_options *o, char *err, size_t errlen)
{
    if (o->sasl_username || o->sasl_password || o->oauth_token || o->sasl_kerberos_service_name)
        return fail(err, errlen,
                    "-X sasl.mechanism=AWS_MSK_IAM takes sasl.aws.* credentials, not "
                    "sasl.username, sasl.password, sasl.oauthbearer.token or sasl.kerberos.*");
    bool source = o->aws_file || o->aws_http_socket;
    if (source && (o->aws_access_key_id || o->aws_secret_access_key || o->aws_session_token))
        return fail(err, errlen,
                    "-X sasl.aws.access.key.id (static keys) and -X sasl.aws.file / "
                    "sasl.aws.http.socket are both set: give one credential source");
    if (!source && (!o->aws_access_key_id || !o->aws_secret_access_key))
        return fail(err, errlen,
                    "-X sasl.mechanism=AWS_MSK_IAM needs -X sasl.aws.access.key.id and "
                    "-X sasl.aws.secret.access.key, or -X sasl.aws.file, or "
                    "-X sasl.aws.http.socket");
    return 0;
}

static bool sec_is_ssl(int s)
{
    return s == KW_CLIENT_SSL || s == KW_CLIENT_SASL_SSL;
}

/*
 * The credential sources of OAUTHBEARER and AWS_MSK_IAM: set ones must go
 * with their mechanism, and a mechanism takes one of its own.  Returns 0 or
 * -1 with err set.
 */
static int check_sources(const kw_client_options *o, bool oauth, bool aws, char *err,
                         size_t errlen)
{
    const struct {
        const char *key;
        bool set, is_oauth;
    } src[] = {
        {"sasl.oauthbearer.token", o->oauth_token != NULL, true},
        {"sasl.oauthbearer.file", o->oauth_file != NULL, true},
        {"sasl.oauthbearer.http.socket", o->oauth_http_socket != NULL, true},
        {"sasl.aws.file", o->aws_file != NULL, false},
        {"sasl.aws.http.socket", o->aws_http_socket != NULL, false},
    };
    const char *first = NULL;
    for (size_t i = 0; i < sizeof src / sizeof *src; i++) {
        if (!src[i].set)
            continue;
        if (src[i].is_oauth ? !oauth : !aws)
            return fail(err, errlen, "-X %s needs sasl.mechanism=%s", src[i].key,
                        src[i].is_oauth ? "OAUTHBEARER" : "AWS_MSK_IAM");
        if (first)
            return fail(err, errlen,
                        "-X %s and -X %s are both set: give the mechanism one credential source",
                        first, src[i].key);
        first = src[i].key;
    }
    if (oauth && !first)
        return fail(err, errlen,
                    "-X sasl.mechanism=OAUTHBEARER needs -X sasl.oauthbearer.token, "
                    "sasl.oauthbearer.file or sasl.oauthbearer.http.socket");
    if (o->sasl_http_timeout_ms && !o->oauth_http_socket && !o->aws_http_socket)
        return fail(err, errlen,
                    "-X sasl.http.socket.timeout.ms needs -X sasl.oauthbearer.http.socket or "
                    "sasl.aws.http.socket");
    return 0;
}

int cli_props_check(const kw_client_options *o, char *err, size_t errlen)
{
    const char *proto = security_names[o->security];
    bool any_source = o->oauth_token || o->oauth_file || o->oauth_http_socket || o->aws_file ||
                      o->aws_http_socket || o->sasl_http_timeout_ms;
    if (sec_is_sasl(o->security)) {
        if (!o->sasl_mechanism)
            return fail(err, errlen, "-X security.protocol=%s needs -X sasl.mechanism", proto);
        bool oauth = strcmp(o->sasl_mechanism, "OAUTHBEARER") == 0;
        bool gssapi = strcmp(o->sasl_mechanism, "GSSAPI") == 0;
        bool aws = strcmp(o->sasl_mechanism, "AWS_MSK_IAM") == 0;
        if (aws) {
            if (check_aws(o, err, errlen))
                return -1;
        } else if (any_aws(o)) {
            return fail(err, errlen, "-X sasl.aws.* needs sasl.mechanism=AWS_MSK_IAM");
        } else if (gssapi) {
            if (o->sasl_username || o->sasl_password || any_source)
                return fail(err, errlen,
                            "-X sasl.mechanism=GSSAPI takes no sasl.username, sasl.password or "
                            "sasl.oauthbearer.token (the Kerberos credential cache says who you "
                            "are)");
        } else if (o->sasl_kerberos_service_name) {
            return fail(err, errlen, "-X sasl.kerberos.service.name needs sasl.mechanism=GSSAPI");
        } else if (!oauth && (!o->sasl_username || !o->sasl_password)) {
            return fail(err, errlen,
                        "-X sasl.mechanism=%s needs -X sasl.username and -X sasl.password",
                        o->sasl_mechanism);
        } else if (!oauth && o->oauth_token) {
            return fail(err, errlen, "-X sasl.oauthbearer.token needs sasl.mechanism=OAUTHBEARER");
        } else if (oauth && (o->sasl_username || o->sasl_password)) {
            return fail(
                err, errlen,
                "-X sasl.username and sasl.password do not go with sasl.mechanism=OAUTHBEARER");
        }
        if (check_sources(o, oauth, aws, err, errlen) < 0)
            return -1;
    } else if (o->sasl_mechanism || o->sasl_username || o->sasl_password || any_source ||
               o->sasl_kerberos_service_name || any_aws(o)) {
        /* Credentials silently sent nowhere would hide a forgotten security.protocol. */
        return fail(err, errlen,
                    "-X sasl.* needs security.protocol sasl_plaintext or sasl_ssl (it is %s)",
                    proto);
    }
    if (!sec_is_ssl(o->security) &&
        (o->tls_ca_file || o->tls_cert_file || o->tls_key_file || o->tls_no_hostname_check ||
         o->tls_min_version || o->tls_cipher_suites))
        return fail(err, errlen, "-X ssl.* needs security.protocol ssl or sasl_ssl (it is %s)",
                    proto);
    if (!o->tls_cert_file != !o->tls_key_file)
        return fail(err, errlen, "-X %s needs -X %s too (a client certificate goes with its key)",
                    o->tls_cert_file ? "ssl.certificate.location" : "ssl.key.location",
                    o->tls_cert_file ? "ssl.key.location" : "ssl.certificate.location");
    return 0;
}
