/* SCRAM client (RFC 5802, RFC 7677) as an I/O-free state machine over OpenSSL digests. */
#ifndef KW_NET_SCRAM_H
#define KW_NET_SCRAM_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "kwal/error.h"

/* RFC 7677 asks clients to refuse fewer than 4096 iterations; Kafka enforces the same floor. */
#define KW_SCRAM_MIN_ITERATIONS 4096u
/*
 * Kafka itself refuses to store credentials above 16384 iterations, but the
 * point of a ceiling is only that a hostile server cannot make us spin on
 * PBKDF2 for minutes: a million rounds of SHA-512 is about a second.
 */
#define KW_SCRAM_MAX_ITERATIONS 1000000u
/* Longest nonce, salt (base64) and whole server message we accept. */
#define KW_SCRAM_MAX_NONCE 1024u
#define KW_SCRAM_MAX_SALT_B64 1024u
#define KW_SCRAM_MAX_MESSAGE 8192u
/* Random bytes in a generated client nonce (base64: 32 characters, no ',' or '='). */
#define KW_SCRAM_NONCE_BYTES 24u

typedef struct kw_scram_opts {
    /* The hash: EVP_sha256() or EVP_sha512() for Kafka; any EVP digest works
     * (EVP_sha1() is how the RFC 5802 vector is tested).  Required. */
    const EVP_MD *md;
    const char *user;     /* unescaped; '=' and ',' are escaped on the wire; non-empty */
    const char *password; /* used as raw bytes (no SASLprep, as Kafka's own client) */
    /* The client nonce; NULL = KW_SCRAM_NONCE_BYTES from RAND_bytes, base64.
     * Tests pass the RFC's nonce here.  Printable ASCII without ','. */
    const char *cnonce;
    uint32_t min_iterations; /* 0 = KW_SCRAM_MIN_ITERATIONS */
    uint32_t max_iterations; /* 0 = KW_SCRAM_MAX_ITERATIONS */
} kw_scram_opts;

enum kw_scram_state {
    KW_SCRAM_IDLE = 0,
    KW_SCRAM_SENT_FIRST,  /* client-first out, waiting for server-first */
    KW_SCRAM_SENT_FINAL,  /* client-final out, waiting for server-final */
    KW_SCRAM_DONE,        /* server signature verified */
    KW_SCRAM_FAILED,      /* the error sticks: every later call returns it */
};

/*
 * One authentication exchange.  Zero it (or kw__scram_free it) before the
 * first kw__scram_start; start again to re-authenticate.  The struct owns
 * copies of everything it needs, the messages it hands out stay valid until
 * the next call or kw__scram_free, and kw__scram_free is needed after a
 * failure too.
 */
typedef struct kw_scram {
    enum kw_scram_state state;
    int err;
    const EVP_MD *md;
    size_t md_len;
    uint32_t min_iter, max_iter;
    char *password;
    size_t password_len;
    char *first_bare; /* "n=<user>,r=<cnonce>", part of AuthMessage */
    size_t first_bare_len;
    size_t cnonce_off, cnonce_len; /* where the cnonce sits in first_bare */
    char *out;                     /* the message last handed out */
    size_t out_len;
    unsigned char server_sig[EVP_MAX_MD_SIZE]; /* expected v=, kept until verified */
    char errstr[320];
} kw_scram;

/* Builds client-first ("n,,n=<user>,r=<cnonce>") into *out.  0 or a negative KW_E code. */
int kw__scram_start(kw_scram *s, const kw_scram_opts *o, const char **out, size_t *outlen);

/*
 * Takes server-first ("r=<nonce>,s=<salt>,i=<iterations>[,ext]"), derives
 * the keys and builds client-final ("c=biws,r=<nonce>,p=<proof>") into *out.
 * Errors: KW_EMALFORMED (syntax, bad base64, missing attribute),
 * KW_ETOOBIG (over a limit, iterations above the maximum), KW_ESASL (nonce
 * not ours, too few iterations, an m= extension, or the server's e=).
 */
int kw__scram_final(kw_scram *s, const void *server_first, size_t len, const char **out,
                    size_t *outlen);

/*
 * Checks server-final ("v=<signature>" or "e=<error>").  0 when the server
 * proved it knows the password; KW_ESASL for a wrong signature or e= (the
 * server's text goes in the detail), KW_EMALFORMED for anything else.
 */
int kw__scram_verify(kw_scram *s, const void *server_final, size_t len);

/* Detail text of the last failure ("" when none). */
const char *kw__scram_errstr(const kw_scram *s);

/* Wipes the secrets and frees what the exchange allocated; leaves s zeroed. */
void kw__scram_free(kw_scram *s);

/* Strict base64 (RFC 4648, padded, no whitespace); exposed for tests. Returns the
 * decoded length, or -1 on a bad character, length or padding, or when it won't fit. */
long kw__scram_b64_decode(const char *in, size_t len, unsigned char *out, size_t cap);

#endif /* KW_NET_SCRAM_H */
