/* SASL client mechanisms (PLAIN, SCRAM, OAUTHBEARER; GSSAPI via cyrus-sasl) as state machines. */
#ifndef KW_NET_SASL_H
#define KW_NET_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwal/error.h"
#include "net/cred.h"
#include "net/scram.h"

/*
 * How the connection uses this: SaslHandshake v1 with kw__sasl_mechanism(),
 * then one SaslAuthenticate per message: kw__sasl_start gives the first
 * client message; each server auth_bytes goes to kw__sasl_step, which gives
 * the next message (KW_SASL_CONTINUE) or says the client side is satisfied
 * (KW_SASL_DONE).  When a SaslAuthenticate response carries an error code,
 * the connection hands its error_message to kw__sasl_server_error instead,
 * which builds the detail.  With a credential source (cfg->cred: a JSON
 * file or an HTTP socket), the connection first fetches a document
 * (kw__cred_fetch, asynchronous) and hands it over with kw__sasl_set_cred
 * before each kw__sasl_start.  Nothing here does I/O except reading the
 * OAUTHBEARER token file (or calling the token callback) in kw__sasl_start,
 * and GSSAPI's ticket request to the KDC (cyrus-sasl and the Kerberos
 * library, in kw__sasl_start), which runs on the caller's thread.
 */

/* Longest OAUTHBEARER token accepted (JWTs are a few KB; Kafka's default receive cap is 512 KB). */
#define KW_SASL_TOKEN_MAX 65536u

enum kw_sasl_mech {
    KW_SASL_NONE = 0,
    KW_SASL_PLAIN,
    KW_SASL_SCRAM_SHA_256,
    KW_SASL_SCRAM_SHA_512,
    KW_SASL_OAUTHBEARER,
    KW_SASL_GSSAPI,
    KW_SASL_AWS_MSK_IAM, /* sasl_aws.c; keep it last (kw__sasl_init's name loop ends here) */
};

/* What kw__sasl_step returns when it does not fail. */
enum kw_sasl_result {
    KW_SASL_DONE = 0,     /* nothing more to send; *out is NULL */
    KW_SASL_CONTINUE = 1, /* send *out in the next SaslAuthenticate */
};

/*
 * Writes an OAUTHBEARER token into buf (at most cap bytes; no NUL needed)
 * and returns its length, or a negative value on failure (a KW_E code is
 * passed on as it is; anything else becomes KW_EINVAL).  Called once per
 * authentication, so it can hand out a fresh token each time.
 */
typedef int (*kw_sasl_token_fn)(void *ctx, char *buf, size_t cap);

/* An OAUTHBEARER extension (RFC 7628 kvpair): the key is letters only and not "auth";
 * the value is %x21-7E, SP, HT, CR or LF. */
typedef struct kw_sasl_extension {
    const char *key;
    const char *value;
} kw_sasl_extension;

/*
 * AWS_MSK_IAM credentials as a source hands them over: malloc'd strings the
 * mechanism wipes and frees after signing (also when the source fails
 * half-way).  access_key_id and secret_access_key are required,
 * session_token and user_agent optional (NULL).
 */
typedef struct kw_sasl_aws_credentials {
    char *access_key_id;
    char *secret_access_key;
    char *session_token;
    char *user_agent;
} kw_sasl_aws_credentials;

/*
 * An AWS_MSK_IAM credential source (a file read anew, an HTTP call): fills
 * *out (zeroed by the caller) and returns 0, or returns a negative KW_E
 * code with err saying why (NUL-terminated, at most errlen bytes).  Called
 * on the loop thread at each authentication and re-authentication.
 */
typedef int (*kw_sasl_aws_credentials_fn)(void *ctx, kw_sasl_aws_credentials *out, char *err,
                                    size_t errlen);

/* Everything is copied by kw__sasl_init; zero means "default" or "unused". */
typedef struct kw_sasl_config {
    /* "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", "GSSAPI" (case-insensitive). */
    const char *mechanism;
    /* PLAIN and SCRAM: both non-empty. */
    const char *username;
    const char *password;
    /* OAUTHBEARER: exactly one token source.  The file is re-read on every
     * authentication (trailing CR/LF stripped), so a sidecar can rotate it.
     * cred (not owned; outlives every kw_sasl made from this config) is the
     * fourth kind: a JSON document per authentication, with zid and
     * extensions beside the token (its extensions replace oauth_extensions
     * when it has any). */
    struct kw_cred_source *cred;
    const char *oauth_token;
    const char *oauth_token_file;
    kw_sasl_token_fn oauth_token_cb;
    void *oauth_token_ctx;
    const kw_sasl_extension *oauth_extensions;
    size_t oauth_extension_count;
    /* SCRAM: a fixed client nonce (tests only; NULL = random) and iteration limits
     * (0 = KW_SCRAM_MIN_ITERATIONS / KW_SCRAM_MAX_ITERATIONS). */
    const char *scram_cnonce;
    uint32_t scram_min_iterations;
    uint32_t scram_max_iterations;
    /* GSSAPI: the broker's Kerberos service name (NULL = "kafka") and the host the connection
     * goes to (the ticket is for SERVICE/HOST; the connection sets it).  The credentials are
     * the process's Kerberos credential cache (KRB5CCNAME), kept fresh by kinit or k5start. */
    const char *kerberos_service_name;
    const char *server_host;
    /* AWS_MSK_IAM (sasl_aws.c): exactly one credential source, static keys (access key id and
     * secret, session token optional) or aws_credentials_cb.  The region: aws_region, else the
     * one in server_host when it is an MSK broker name, else aws_env_region (AWS_REGION as
     * kw_client_new read it: the loop never calls getenv).  aws_user_agent NULL: "kwal/VERSION". */
    const char *aws_access_key_id;
    const char *aws_secret_access_key;
    const char *aws_session_token;
    const char *aws_user_agent;
    const char *aws_region;
    const char *aws_env_region;
    kw_sasl_aws_credentials_fn aws_credentials_cb;
    void *aws_credentials_ctx;
    /* Tests only: the clock the payload is dated with (Unix seconds; NULL: the real one) and the
     * action signed (NULL: kafka-cluster:Connect), to see a broker refuse old dates and actions. */
    int64_t (*aws_clock)(void *ctx);
    void *aws_clock_ctx;
    const char *aws_action;
} kw_sasl_config;

enum kw_sasl_phase {
    KW_SASL_IDLE = 0,
    KW_SASL_SENT_FIRST,  /* first client message out */
    KW_SASL_SENT_SECOND, /* SCRAM client-final, or OAUTHBEARER's \x01 after a server error */
    KW_SASL_FINISHED,    /* authenticated as far as the client can tell */
    KW_SASL_FAILED,      /* the error sticks until the next kw__sasl_start */
};

typedef struct kw_sasl {
    enum kw_sasl_mech mech;
    enum kw_sasl_phase phase;
    int config_err; /* set by kw__sasl_init; kw__sasl_start keeps returning it */
    int err;
    char *username, *password;
    char *token, *token_file;
    kw_sasl_token_fn token_cb;
    void *token_ctx;
    kw_sasl_extension *ext;
    size_t ext_count;
    struct kw_cred_source *cred;
    kw_cred_doc fetched; /* the document for the next kw__sasl_start (wiped once used) */
    char *cnonce;
    uint32_t min_iter, max_iter;
    kw_scram scram;
    uint8_t *out; /* the message last handed out (it may hold a password: wiped on reuse) */
    size_t out_len;
    char *server_json; /* OAUTHBEARER: the server's error document, printable */
    char *krb_service, *krb_host; /* GSSAPI */
    struct kw_gssapi *gss;        /* GSSAPI: the exchange in progress */
    bool gss_last; /* GSSAPI: the client's last token is out; the server's reply ends it */
    struct kw_sasl_aws *aws;      /* AWS_MSK_IAM: its configuration (sasl_aws.h) */
    char errstr[1024];
} kw_sasl;

/*
 * Checks and copies the configuration.  0, or KW_EINVAL (missing or bad
 * field), KW_EUNSUPPORTED (unknown mechanism), KW_ENOMEM; kw__sasl_errstr
 * says which.  Call kw__sasl_free
 * afterwards either way.
 */
int kw__sasl_init(kw_sasl *s, const kw_sasl_config *cfg);

/* The credential source to fetch from before each kw__sasl_start, or NULL (static credentials). */
struct kw_cred_source *kw__sasl_cred_source(const kw_sasl *s);

/* Takes doc's contents (doc is left empty) for the next kw__sasl_start, which wipes them. */
void kw__sasl_set_cred(kw_sasl *s, kw_cred_doc *doc);

/*
 * The fetch failed (err and detail from the kw_cred_done_fn): records the
 * detail as this exchange's failure and returns the code to fail the
 * connection with (KW_ESASL, or KW_ENOMEM).
 */
int kw__sasl_cred_failed(kw_sasl *s, int err, const char *detail);

/* RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
bool kw__sasl_token_ok(const char *t, size_t n);
/* RFC 7628 kvpair: a key is 1*ALPHA; a value is 1*(%x21-7E / SP / HT / CR / LF). */
bool kw__sasl_ext_key_ok(const char *k);
bool kw__sasl_ext_value_ok(const char *v);

/* The canonical mechanism name for SaslHandshake ("SCRAM-SHA-512"); "" if init failed. */
const char *kw__sasl_mechanism(const kw_sasl *s);

/*
 * Begins an exchange (again, for KIP-368 re-authentication) and gives the
 * first client message, valid until the next call.  OAUTHBEARER fetches its
 * token here: KW_EINVAL for an empty or malformed token, KW_EIO when the
 * file cannot be read.
 */
int kw__sasl_start(kw_sasl *s, const uint8_t **out, size_t *outlen);

/*
 * Feeds the server's auth_bytes.  KW_SASL_CONTINUE with the next message in
 * *out, KW_SASL_DONE (*out = NULL, *outlen = 0), or a negative KW_E code
 * (KW_ESASL when the server failed the exchange or could not prove itself).
 */
int kw__sasl_step(kw_sasl *s, const void *in, size_t len, const uint8_t **out, size_t *outlen);

/*
 * The broker answered SaslAuthenticate with an error code: records its
 * error_message (may be NULL) in the detail and returns KW_ESASL.  For
 * OAUTHBEARER the server's JSON document, when there was one, leads.
 */
int kw__sasl_server_error(kw_sasl *s, const char *msg, size_t len);

/* "SASL authentication failed for user alice (SCRAM-SHA-512): <why>"; "" when nothing failed. */
const char *kw__sasl_errstr(const kw_sasl *s);

/* Wipes passwords, tokens and messages, frees everything; leaves s zeroed. */
void kw__sasl_free(kw_sasl *s);

#endif /* KW_NET_SASL_H */
