/* TLS for broker connections: one shared SSL_CTX per client config, one SSL per non-blocking socket. */
#ifndef KW_NET_TLS_H
#define KW_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "kwal/error.h"

/*
 * Zero means default everywhere.  Verification is on unless
 * insecure_skip_verify is set; with neither ca_file nor ca_dir the system's
 * default store is used.  cert_file + key_file (both or neither) give a
 * client certificate for mTLS.  Paths are read once, by kw__tls_ctx_new.
 */
typedef struct kw_tls_config {
    const char *ca_file;
    const char *ca_dir;
    const char *cert_file;
    const char *key_file;
    bool insecure_skip_verify; /* the connection logs a warning every time it connects */
    /* Verify the chain but not the name in it (ssl.endpoint.identification.algorithm=none). */
    bool no_hostname_check;
    /* "TLSv1.2" (default) or "TLSv1.3", case-insensitive; anything else is KW_ECONFIG. */
    const char *min_version;
    /*
     * ':' or ',' separated suite names, OpenSSL's or the standard (IANA)
     * ones.  TLS 1.3 names go to SSL_CTX_set_ciphersuites, the rest to
     * SSL_CTX_set_cipher_list; a version none of whose suites is listed is
     * turned off (no TLS 1.3 name: max TLS 1.2; only TLS 1.3 names: min
     * TLS 1.3).  An unknown name, or a list that leaves no version, is
     * KW_ECONFIG naming it.
     */
    const char *cipher_suites;
} kw_tls_config;

/*
 * An SSL_CTX with a reference count: made once per client config and shared
 * by its connections (each takes a reference).  The count is atomic, so
 * references may be taken and dropped on any thread.
 */
typedef struct kw_tls_ctx kw_tls_ctx;

/* 0, or KW_ETLS / KW_ECONFIG / KW_ENOMEM with the reason in err ("TLS: cannot load CA file x: ..."). */
int kw__tls_ctx_new(kw_tls_ctx **out, const kw_tls_config *cfg, char *err, size_t errlen);
kw_tls_ctx *kw__tls_ctx_ref(kw_tls_ctx *ctx);
/* Drops one reference; the last one frees the SSL_CTX.  NULL is fine. */
void kw__tls_ctx_unref(kw_tls_ctx *ctx);
bool kw__tls_ctx_insecure(const kw_tls_ctx *ctx);

/* One TLS session over a connected non-blocking fd (the fd stays the caller's). */
typedef struct kw_tls kw_tls;

/*
 * server_name is the name checked against the certificate (a DNS name, or an
 * IPv4/IPv6 literal checked against the IP SANs) and sent as SNI when it is a
 * DNS name; where is "host:port" for error texts.
 */
int kw__tls_new(kw_tls **out, kw_tls_ctx *ctx, int fd, const char *server_name, const char *where,
                char *err, size_t errlen);
void kw__tls_free(kw_tls *t);

/*
 * The three calls below return 0 on progress, KW_EAGAIN when the socket must
 * become ready first (*want = KW_LOOP_READ or KW_LOOP_WRITE: note a read can
 * want write and a write read), KW_ECLOSED when the peer closed cleanly, or
 * KW_ETLS / KW_EIO with kw__tls_errstr saying why.
 */
int kw__tls_handshake(kw_tls *t, unsigned *want);
/* *got > 0 on success; call again while it returns 0, since OpenSSL may hold decrypted bytes. */
int kw__tls_read(kw_tls *t, void *buf, size_t len, size_t *got, unsigned *want);
/* Partial writes happen; *put says how much went out. */
int kw__tls_write(kw_tls *t, const void *buf, size_t len, size_t *put, unsigned *want);
const char *kw__tls_errstr(const kw_tls *t);

#endif /* KW_NET_TLS_H */
