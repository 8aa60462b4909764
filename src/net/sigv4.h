/* AWS Signature Version 4 (query-string "presigned" form) and the AWS_MSK_IAM payload signed with it. */
#ifndef KW_NET_SIGV4_H
#define KW_NET_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Pure functions: no I/O, no clock (the time is a parameter so that tests
 * are deterministic), no shared state; any thread may call them.  Buffers
 * that held key material are wiped before they are freed.
 */

#define KW_SIGV4_KEY_LEN 32 /* an HMAC-SHA256 key or digest */
#define KW_SIGV4_HEX_LEN 64 /* ... in lower-case hex, without the NUL */

/* "20150830T123600Z" and its first 8 characters, the date of the credential scope. */
#define KW_SIGV4_AMZ_DATE_LEN 16

/* Longest region, service, access key id and user agent accepted (AWS's are far shorter). */
#define KW_SIGV4_NAME_MAX 128
/* Longest session token accepted (STS tokens are a few KB; the limit keeps the payload bounded). */
#define KW_SIGV4_TOKEN_MAX 16384

/* The hex SHA-256 of the empty string: the payload hash of a request without a body. */
#define KW_SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date8), region), service), "aws4_request").
 * 0, or KW_EINVAL (a NULL argument), KW_ENOMEM. */
int kw__sigv4_signing_key(const char *secret, const char *date8, const char *region,
                          const char *service, uint8_t key[KW_SIGV4_KEY_LEN]);

/* hex(HMAC-SHA256(key, string_to_sign)) into hex (KW_SIGV4_HEX_LEN + 1 bytes, NUL-terminated). */
int kw__sigv4_signature(const uint8_t key[KW_SIGV4_KEY_LEN], const char *string_to_sign,
                        size_t len, char hex[KW_SIGV4_HEX_LEN + 1]);

/* hex(SHA-256(data)). */
int kw__sigv4_sha256_hex(const void *data, size_t len, char hex[KW_SIGV4_HEX_LEN + 1]);

/* Unix seconds (UTC) as "YYYYMMDDTHHMMSSZ"; KW_EINVAL for a time gmtime cannot express. */
int kw__sigv4_amz_date(int64_t unix_s, char out[KW_SIGV4_AMZ_DATE_LEN + 1]);

typedef struct kw_sigv4_param {
    const char *name;  /* not encoded yet */
    const char *value; /* not encoded yet */
} kw_sigv4_param;

/*
 * A request signed in the query string: GET https://HOST/PATH?params with
 * the one signed header "host".  The parameters are the X-Amz-* ones (and
 * Action) without X-Amz-Signature; they are URI-encoded (RFC 3986
 * unreserved characters kept, everything else %XX) and sorted by name.
 */
typedef struct kw_sigv4_presign {
    const char *host;         /* the Host header value */
    const char *path;         /* "/" when NULL; already a canonical URI */
    const kw_sigv4_param *params;
    size_t param_count;
    const char *payload_hash; /* KW_SIGV4_EMPTY_SHA256 when NULL; S3 uses "UNSIGNED-PAYLOAD" */
    const char *amz_date;     /* "YYYYMMDDTHHMMSSZ", the X-Amz-Date parameter's value */
    const char *region;
    const char *service;
    const char *secret_key;
} kw_sigv4_presign;

/*
 * Builds the canonical request and the string to sign, and signs it.  When
 * canonical_request is not NULL it gets the canonical request (malloc'd,
 * NUL-terminated; the caller frees it), for tests and debugging.  0, or
 * KW_EINVAL (a missing field, a date that is not 16 characters), KW_ENOMEM.
 */
int kw__sigv4_presign_sign(const kw_sigv4_presign *p, char sig[KW_SIGV4_HEX_LEN + 1],
                           char **canonical_request);

/* ---- AWS_MSK_IAM ---- */

#define KW_MSK_IAM_VERSION "2020_10_22"
#define KW_MSK_IAM_SERVICE "kafka-cluster"
#define KW_MSK_IAM_ACTION "kafka-cluster:Connect"
#define KW_MSK_IAM_EXPIRES "300" /* seconds the signed payload stays valid */

typedef struct kw_msk_iam_args {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL or "": none (long-term keys) */
    const char *user_agent;    /* NULL or "": "kwal/VERSION" */
    const char *region;        /* "us-east-1" */
    const char *host;          /* the broker's host name, without the port */
    int64_t now_s;             /* Unix seconds (UTC): X-Amz-Date */
    const char *action;        /* NULL: KW_MSK_IAM_ACTION (tests sign others to see them refused) */
} kw_msk_iam_args;

/*
 * The client's one AWS_MSK_IAM message: a JSON object with lower-case keys
 * "version", "host", "user-agent", "action", "x-amz-algorithm",
 * "x-amz-credential", "x-amz-date", "x-amz-signedheaders", "x-amz-expires",
 * "x-amz-signature" and, with a session token, "x-amz-security-token" (in
 * that order).  The signature is over the presigned request
 * GET HOST/?Action=...&X-Amz-...  (the session token among the signed
 * parameters), service kafka-cluster.  *out is malloc'd (it holds the
 * session token: wipe it before freeing).  0, or KW_EINVAL with err naming
 * the bad field, KW_ENOMEM.
 */
int kw__msk_iam_payload(const kw_msk_iam_args *a, char **out, size_t *outlen, char *err,
                        size_t errlen);

/*
 * The region in an MSK broker name ("b-1.c.x1y2z3.c4.kafka.us-east-1.amazonaws.com",
 * "boot-abc.c2.kafka-serverless.eu-west-1.amazonaws.com", ".amazonaws.com.cn" too):
 * the label before the AWS DNS suffix.  false (out "") when host is not such a name.
 */
bool kw__msk_region_from_host(const char *host, char *out, size_t cap);

/* A region, service or scope part: 1..KW_SIGV4_NAME_MAX of [a-z0-9-]. */
bool kw__sigv4_name_ok(const char *s);

#endif /* KW_NET_SIGV4_H */
