/* TLS over a non-blocking socket through OpenSSL: shared contexts, verification, SNI, mTLS. */
#include "net/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "net/loop.h"

struct kw_tls_ctx {
    atomic_uint refs;
    SSL_CTX *ssl_ctx;
    bool insecure;
    bool no_hostname_check;
    /* The configured version floor and suites, for a handshake refusal's detail ("" if none). */
    char offer[300];
};

struct kw_tls {
    SSL *ssl;
    char where[300];
    char name[256];
    char offer[300];
    char errstr[1024];
};

/* The newest OpenSSL error as text, or fallback; clears the queue so the next call starts clean. */
static const char *openssl_reason(char *buf, size_t len, const char *fallback)
{
    unsigned long e = ERR_peek_last_error();
    if (!e) {
        snprintf(buf, len, "%s", fallback);
    } else {
        const char *r = ERR_reason_error_string(e);
        if (r)
            snprintf(buf, len, "%s", r);
        else
            ERR_error_string_n(e, buf, len);
    }
    ERR_clear_error();
    return buf;
}

/* The TLS 1.3 suites OpenSSL implements: these names go to SSL_CTX_set_ciphersuites. */
static const char *const tls13_suites[] = {
    "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256",
};

static bool is_tls13_suite(const char *name)
{
    for (size_t i = 0; i < sizeof(tls13_suites) / sizeof(tls13_suites[0]); i++)
        if (strcmp(name, tls13_suites[i]) == 0)
            return true;
    return false;
}

/* Appends name to a ':' list in buf; false when it does not fit. */
static bool list_add(char *buf, size_t cap, const char *name)
{
    size_t used = strlen(buf), n = strlen(name);
    if (used + (used ? 1 : 0) + n + 1 > cap)
        return false;
    if (used)
        buf[used++] = ':';
    memcpy(buf + used, name, n + 1);
    return true;
}

/*
 * min_version and cipher_suites onto the context (see tls.h for the
 * mapping).  A TLS 1.2 name may be OpenSSL's or the standard one (Java and
 * Go configurations use those): both are looked up among every cipher this
 * OpenSSL knows, and the OpenSSL name goes into the cipher list.
 */
static int apply_versions(SSL_CTX *ctx, const kw_tls_config *cfg, char *err, size_t errlen)
{
    int min = TLS1_2_VERSION;
    if (cfg->min_version) {
        if (strcasecmp(cfg->min_version, "TLSv1.2") == 0) {
            min = TLS1_2_VERSION;
        } else if (strcasecmp(cfg->min_version, "TLSv1.3") == 0) {
            min = TLS1_3_VERSION;
        } else {
            snprintf(err, errlen,
                     "TLS: minimum version \"%.64s\" (tls_min_version, ssl.min.version) is not "
                     "TLSv1.2 or TLSv1.3",
                     cfg->min_version);
            return KW_ECONFIG;
        }
    }
    int max = 0; /* the newest OpenSSL has */
    if (cfg->cipher_suites) {
        char list12[4096] = "", list13[512] = "";
        SSL_CTX *all_ctx = SSL_CTX_new(TLS_client_method());
        if (!all_ctx || SSL_CTX_set_cipher_list(all_ctx, "ALL:COMPLEMENTOFALL") != 1) {
            SSL_CTX_free(all_ctx);
            ERR_clear_error();
            snprintf(err, errlen, "TLS: cannot list the cipher suites OpenSSL knows");
            return KW_ETLS;
        }
        STACK_OF(SSL_CIPHER) *all = SSL_CTX_get_ciphers(all_ctx);
        const char *p = cfg->cipher_suites;
        int rc = 0;
        while (*p && !rc) {
            size_t n = strcspn(p, ":,");
            char name[128];
            /* Blanks around names are a common slip in hand-written lists: dropped. */
            while (n && (*p == ' ' || *p == '\t')) {
                p++;
                n--;
            }
            size_t k = n;
            while (k && (p[k - 1] == ' ' || p[k - 1] == '\t'))
                k--;
            if (k >= sizeof(name)) {
                snprintf(err, errlen, "TLS: cipher suite name \"%.64s...\" is too long", p);
                rc = KW_ECONFIG;
                break;
            }
            memcpy(name, p, k);
            name[k] = '\0';
            p += n;
            if (*p)
                p++;
            if (!k)
                continue;
            const char *ossl = NULL;
            bool v13 = is_tls13_suite(name);
            for (int i = 0; !v13 && i < sk_SSL_CIPHER_num(all); i++) {
                const SSL_CIPHER *c = sk_SSL_CIPHER_value(all, i);
                const char *std = SSL_CIPHER_standard_name(c);
                if (strcmp(SSL_CIPHER_get_name(c), name) == 0 || (std && strcmp(std, name) == 0))
                    ossl = SSL_CIPHER_get_name(c);
            }
            if (!v13 && !ossl) {
                snprintf(err, errlen,
                         "TLS: cipher suite \"%s\" (tls_cipher_suites, ssl.cipher.suites) is not "
                         "one OpenSSL knows (use OpenSSL or IANA names, e.g. "
                         "ECDHE-RSA-AES128-GCM-SHA256 or TLS_AES_128_GCM_SHA256)",
                         name);
                rc = KW_ECONFIG;
            } else if (!(v13 ? list_add(list13, sizeof(list13), name)
                             : list_add(list12, sizeof(list12), ossl))) {
                snprintf(err, errlen, "TLS: the cipher suite list is too long");
                rc = KW_ECONFIG;
            }
        }
        SSL_CTX_free(all_ctx);
        if (rc)
            return rc;
        if (!list12[0] && !list13[0]) {
            snprintf(err, errlen, "TLS: tls_cipher_suites (ssl.cipher.suites) names no suite");
            return KW_ECONFIG;
        }
        if (!list13[0] && min == TLS1_3_VERSION) {
            snprintf(err, errlen,
                     "TLS: tls_cipher_suites \"%.200s\" has no TLS 1.3 suite, but the minimum "
                     "version is TLSv1.3",
                     cfg->cipher_suites);
            return KW_ECONFIG;
        }
        if (list12[0] && SSL_CTX_set_cipher_list(ctx, list12) != 1) {
            char why[256];
            snprintf(err, errlen, "TLS: cipher list \"%.200s\" refused: %s", list12,
                     openssl_reason(why, sizeof(why), "no usable cipher"));
            return KW_ECONFIG;
        }
        if (SSL_CTX_set_ciphersuites(ctx, list13) != 1) {
            char why[256];
            snprintf(err, errlen, "TLS: TLS 1.3 suites \"%.200s\" refused: %s", list13,
                     openssl_reason(why, sizeof(why), "no usable suite"));
            return KW_ECONFIG;
        }
        if (!list13[0])
            max = TLS1_2_VERSION; /* no TLS 1.3 suite listed: TLS 1.3 is off */
        if (!list12[0])
            min = TLS1_3_VERSION; /* only TLS 1.3 suites listed: TLS 1.2 is off */
    }
    if (SSL_CTX_set_min_proto_version(ctx, min) != 1 ||
        (max && SSL_CTX_set_max_proto_version(ctx, max) != 1)) {
        char why[256];
        snprintf(err, errlen, "TLS: cannot set the protocol versions: %s",
                 openssl_reason(why, sizeof(why), "refused"));
        return KW_ETLS;
    }
    return 0;
}

int kw__tls_ctx_new(kw_tls_ctx **out, const kw_tls_config *cfg, char *err, size_t errlen)
{
    *out = NULL;
    static const kw_tls_config none = {0};
    if (!cfg)
        cfg = &none;
    if (!cfg->cert_file != !cfg->key_file) {
        snprintf(err, errlen, "TLS: a client certificate needs both cert_file and key_file");
        return KW_ECONFIG;
    }
    kw_tls_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return KW_ENOMEM;
    atomic_init(&c->refs, 1);
    c->insecure = cfg->insecure_skip_verify;
    c->no_hostname_check = cfg->no_hostname_check;
    char why[256];
    ERR_clear_error();
    c->ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ssl_ctx) {
        snprintf(err, errlen, "TLS: cannot create a context: %s",
                 openssl_reason(why, sizeof(why), "unknown error"));
        free(c);
        return KW_ETLS;
    }
    if (cfg->min_version || cfg->cipher_suites)
        snprintf(c->offer, sizeof(c->offer), "%s%.40s%s%s%.200s", cfg->min_version ? "ssl.min.version=" : "",
                 cfg->min_version ? cfg->min_version : "",
                 cfg->min_version && cfg->cipher_suites ? ", " : "",
                 cfg->cipher_suites ? "ssl.cipher.suites=" : "",
                 cfg->cipher_suites ? cfg->cipher_suites : "");
    int rc = apply_versions(c->ssl_ctx, cfg, err, errlen);
    if (rc) {
        SSL_CTX_free(c->ssl_ctx);
        free(c);
        return rc;
    }
    /* Partial writes and a moving buffer let the connection retry a write with whatever is queued. */
    SSL_CTX_set_mode(c->ssl_ctx,
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    rc = KW_ETLS;
    if (cfg->ca_file || cfg->ca_dir) {
        if (SSL_CTX_load_verify_locations(c->ssl_ctx, cfg->ca_file, cfg->ca_dir) != 1) {
            snprintf(err, errlen, "TLS: cannot load CA %s: %s",
                     cfg->ca_file ? cfg->ca_file : cfg->ca_dir,
                     openssl_reason(why, sizeof(why), "unreadable"));
            goto fail;
        }
    } else if (!c->insecure && SSL_CTX_set_default_verify_paths(c->ssl_ctx) != 1) {
        snprintf(err, errlen, "TLS: cannot load the system CA store: %s",
                 openssl_reason(why, sizeof(why), "unknown error"));
        goto fail;
    }
    if (cfg->cert_file) {
        if (SSL_CTX_use_certificate_chain_file(c->ssl_ctx, cfg->cert_file) != 1) {
            snprintf(err, errlen, "TLS: cannot load client certificate %s: %s", cfg->cert_file,
                     openssl_reason(why, sizeof(why), "unreadable"));
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(c->ssl_ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1) {
            snprintf(err, errlen, "TLS: cannot load client key %s: %s", cfg->key_file,
                     openssl_reason(why, sizeof(why), "unreadable"));
            goto fail;
        }
        if (SSL_CTX_check_private_key(c->ssl_ctx) != 1) {
            snprintf(err, errlen, "TLS: client key %s does not match certificate %s",
                     cfg->key_file, cfg->cert_file);
            ERR_clear_error();
            goto fail;
        }
    }
    SSL_CTX_set_verify(c->ssl_ctx, c->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    *out = c;
    return 0;
fail:
    SSL_CTX_free(c->ssl_ctx);
    free(c);
    return rc;
}

kw_tls_ctx *kw__tls_ctx_ref(kw_tls_ctx *ctx)
{
    if (ctx)
        atomic_fetch_add(&ctx->refs, 1);
    return ctx;
}

void kw__tls_ctx_unref(kw_tls_ctx *ctx)
{
    if (ctx && atomic_fetch_sub(&ctx->refs, 1) == 1) {
        SSL_CTX_free(ctx->ssl_ctx);
        free(ctx);
    }
}

bool kw__tls_ctx_insecure(const kw_tls_ctx *ctx)
{
    return ctx && ctx->insecure;
}

/*
 * OpenSSL's socket BIO writes with write(2), so a peer that hung up would
 * raise SIGPIPE and kill a host that kept the default action.  A library must
 * not change the process's signal handling, so each TLS call runs with
 * SIGPIPE blocked in this thread, and a SIGPIPE it raised is taken back out
 * of the pending set before unblocking (EPIPE still comes back as an error).
 */
typedef struct sigpipe_guard {
    sigset_t old;
    bool was_pending;
} sigpipe_guard;

static void sigpipe_block(sigpipe_guard *g)
{
    sigset_t pipe_set, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    g->was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old);
}

static void sigpipe_restore(sigpipe_guard *g)
{
    if (!g->was_pending) {
        sigset_t pipe_set, pending;
        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        sigpending(&pending);
        if (sigismember(&pending, SIGPIPE)) {
            struct timespec zero = {0, 0};
            while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
            }
        }
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

static bool is_ip_literal(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int kw__tls_new(kw_tls **out, kw_tls_ctx *ctx, int fd, const char *server_name, const char *where,
                char *err, size_t errlen)
{
    *out = NULL;
    kw_tls *t = calloc(1, sizeof(*t));
    if (!t)
        return KW_ENOMEM;
    snprintf(t->where, sizeof(t->where), "%s", where);
    snprintf(t->name, sizeof(t->name), "%s", server_name);
    memcpy(t->offer, ctx->offer, sizeof(t->offer));
    char why[256];
    ERR_clear_error();
    t->ssl = SSL_new(ctx->ssl_ctx);
    if (!t->ssl || SSL_set_fd(t->ssl, fd) != 1) {
        snprintf(err, errlen, "TLS: cannot set up a session for %s: %s", where,
                 openssl_reason(why, sizeof(why), "out of memory"));
        kw__tls_free(t);
        return KW_ETLS;
    }
    bool ip = is_ip_literal(server_name);
    /* SNI carries DNS names only (RFC 6066 section 3). */
    if (!ip && server_name[0] && SSL_set_tlsext_host_name(t->ssl, server_name) != 1) {
        snprintf(err, errlen, "TLS: bad server name %s: %s", server_name,
                 openssl_reason(why, sizeof(why), "rejected"));
        kw__tls_free(t);
        return KW_ECONFIG;
    }
    if (!ctx->insecure && !ctx->no_hostname_check) {
        int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), server_name)
                    : SSL_set1_host(t->ssl, server_name);
        if (ok != 1) {
            snprintf(err, errlen, "TLS: cannot check the certificate against %s: %s",
                     server_name, openssl_reason(why, sizeof(why), "rejected"));
            kw__tls_free(t);
            return KW_ECONFIG;
        }
    }
    *out = t;
    return 0;
}

void kw__tls_free(kw_tls *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);
    free(t);
}

const char *kw__tls_errstr(const kw_tls *t)
{
    return t->errstr;
}

/* Maps the outcome of an SSL call (ret) to the contract in tls.h; what names the operation. */
static int map_result(kw_tls *t, int ret, unsigned *want, const char *what)
{
    int e = SSL_get_error(t->ssl, ret);
    char why[256];
    switch (e) {
    case SSL_ERROR_WANT_READ:
        *want = KW_LOOP_READ;
        return KW_EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        *want = KW_LOOP_WRITE;
        return KW_EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        snprintf(t->errstr, sizeof(t->errstr), "TLS: %s closed the session", t->where);
        return KW_ECLOSED;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_last_error())
            break;
        if (errno == 0) {
            snprintf(t->errstr, sizeof(t->errstr), "TLS %s %s: connection closed by the peer",
                     what, t->where);
            return KW_ECLOSED;
        }
        snprintf(t->errstr, sizeof(t->errstr), "TLS %s %s: %s", what, t->where, strerror(errno));
        return KW_EIO;
    default:
        break;
    }
    long vr = SSL_get_verify_result(t->ssl);
    if (vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        ERR_clear_error();
        snprintf(t->errstr, sizeof(t->errstr),
                 "TLS: host name mismatch for %s: the certificate is not for %s", t->where,
                 t->name);
    } else if (vr != X509_V_OK) {
        ERR_clear_error();
        snprintf(t->errstr, sizeof(t->errstr), "TLS: certificate verify failed for %s: %s",
                 t->where, X509_verify_cert_error_string(vr));
    } else {
        /* A refusal over versions or suites: say which ones were offered, if they were chosen. */
        int reason = ERR_GET_REASON(ERR_peek_last_error());
        bool offer = t->offer[0] && (reason == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE ||
                                     reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION ||
                                     reason == SSL_R_TLSV1_ALERT_INSUFFICIENT_SECURITY ||
                                     reason == SSL_R_NO_CIPHERS_AVAILABLE ||
                                     reason == SSL_R_UNSUPPORTED_PROTOCOL ||
                                     reason == SSL_R_WRONG_CIPHER_RETURNED);
        snprintf(t->errstr, sizeof(t->errstr), "TLS %s %s failed: %s%s%s%s", what, t->where,
                 openssl_reason(why, sizeof(why), "protocol error"),
                 offer ? " (the broker accepts none of the TLS versions and cipher suites "
                         "offered: "
                       : "",
                 offer ? t->offer : "", offer ? ")" : "");
    }
    return KW_ETLS;
}

int kw__tls_handshake(kw_tls *t, unsigned *want)
{
    ERR_clear_error();
    errno = 0;
    sigpipe_guard g;
    sigpipe_block(&g);
    int ret = SSL_connect(t->ssl);
    int saved = errno;
    sigpipe_restore(&g);
    errno = saved;
    if (ret == 1)
        return 0;
    return map_result(t, ret, want, "handshake with");
}

int kw__tls_read(kw_tls *t, void *buf, size_t len, size_t *got, unsigned *want)
{
    *got = 0;
    ERR_clear_error();
    errno = 0;
    sigpipe_guard g;
    sigpipe_block(&g);
    int ret = SSL_read_ex(t->ssl, buf, len, got);
    int saved = errno;
    sigpipe_restore(&g);
    errno = saved;
    if (ret == 1)
        return 0;
    return map_result(t, 0, want, "read from");
}

int kw__tls_write(kw_tls *t, const void *buf, size_t len, size_t *put, unsigned *want)
{
    *put = 0;
    ERR_clear_error();
    errno = 0;
    sigpipe_guard g;
    sigpipe_block(&g);
    int ret = SSL_write_ex(t->ssl, buf, len, put);
    int saved = errno;
    sigpipe_restore(&g);
    errno = saved;
    if (ret == 1)
        return 0;
    return map_result(t, 0, want, "write to");
}
