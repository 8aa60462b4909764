/* Credential documents for OAUTHBEARER and AWS_MSK_IAM: JSON from a file or an HTTP GET over a Unix socket. */
#ifndef KW_NET_CRED_H
#define KW_NET_CRED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwal/error.h"
#include "net/loop.h"

/*
 * A credential source hands out one credential document per
 * (re-)authentication, read anew each time so that a sidecar can rotate it:
 *
 *   OAUTHBEARER  {"token": "<b64token>", "zid": "<authzid>", "extensions": {"<key>": "<value>"}}
 *                only token is required; zid is the authorization id of the
 *                GS2 header; extensions go into the RFC 7628 client-first
 *                message as key=value (keys letters only and not "auth",
 *                values %x21-7E, SP, HT, CR, LF).
 *   AWS_MSK_IAM  {"AccessKey": "...", "SecretKey": "...", "SessionToken": "...", "UserAgent": "..."}
 *                AccessKey and SecretKey are required.
 *
 * from either a JSON file (read at each fetch) or the answer to `GET /` on a
 * Unix domain socket (libcurl, status 200 wanted, a timeout per request).
 * Unknown members are ignored; a null member counts as absent.
 *
 * Threading.  A source belongs to one loop.  kw__cred_source_new,
 * kw__cred_fetch and kw__cred_cancel are loop-thread only (source_new may
 * also run on the thread that owns the loop before it starts running).  A
 * file is read on the loop thread inside kw__cred_fetch (a local read, like
 * the CA files); an HTTP call runs on a short-lived worker thread of its own,
 * so a slow credential server never stalls the loop: the worker hands its
 * result back through an eventfd watched by the loop.  Either way the done
 * callback runs later on the loop thread, never inside kw__cred_fetch.
 *
 * How a mechanism uses it (OAUTHBEARER does; AWS_MSK_IAM plugs in the same
 * way).  kw_client_new makes one source per client from oauth_file /
 * oauth_http_socket or aws_file / aws_http_socket and puts it in
 * kw_sasl_config.cred; kw__sasl_init keeps it in kw_sasl.cred.  Before every
 * exchange (first and KIP-368) the connection (conn_setup.c begin_sasl)
 * calls kw__cred_fetch; its callback hands the document to
 * kw__sasl_set_cred (kw_sasl.fetched) and sends SaslHandshake; the
 * mechanism's first-message builder, called from kw__sasl_start, reads
 * kw_sasl.fetched (access_key, secret_key, session_token, user_agent for
 * AWS) and kw__sasl_start wipes it afterwards.  A failed fetch fails the
 * connection with KW_ESASL through kw__sasl_cred_failed.  Nothing here is
 * mechanism-specific beyond the document kind.
 *
 * Teardown.  The owner calls kw__cred_source_close before kw__loop_free (the
 * loop stops watching the source; running HTTP calls are told to stop at
 * once; workers never touch the loop itself, only the source's eventfd) and
 * kw__cred_source_free after it (joins every worker, frees results no one
 * collected, without calling any callback).
 */

enum kw_cred_kind {
    KW_CRED_OAUTH = 1, /* OAUTHBEARER document */
    KW_CRED_AWS = 2,   /* AWS_MSK_IAM document */
};

/* Largest document accepted, file or HTTP body. */
#define KW_CRED_DOC_MAX (1u << 20)
/* Default time an HTTP credential request may take, connect included. */
#define KW_CRED_HTTP_TIMEOUT_MS 10000u
/* Most OAUTHBEARER extensions one document may carry. */
#define KW_CRED_MAX_EXTENSIONS 64u

typedef struct kw_cred_kv {
    char *key;
    char *value;
} kw_cred_kv;

/* One parsed document.  Every string is a heap copy, NUL-terminated; absent optionals are NULL. */
typedef struct kw_cred_doc {
    int kind; /* enum kw_cred_kind; 0 for an empty doc */
    /* KW_CRED_OAUTH */
    char *token;
    char *zid;
    kw_cred_kv *ext;
    size_t ext_count;
    /* KW_CRED_AWS */
    char *access_key;
    char *secret_key;
    char *session_token;
    char *user_agent;
} kw_cred_doc;

/*
 * Parses a document of the given kind from len bytes of JSON (no NUL
 * needed).  0 with *out filled (the caller clears it), or KW_ESASL with
 * detail naming what is wrong ("not JSON: ... at line 1 column 3",
 * "field \"token\" is missing", "field \"AccessKey\" is not a string",
 * "field \"token\" has characters a bearer token cannot have"), or
 * KW_ENOMEM.  *out is empty on failure.  No I/O: the fuzz target drives it.
 */
int kw__cred_parse(int kind, const void *json, size_t len, kw_cred_doc *out, char *detail,
                   size_t detail_len);

/* Wipes the secrets and frees every string; leaves doc zeroed.  NULL and an empty doc are fine. */
void kw__cred_doc_clear(kw_cred_doc *doc);
/* Moves src's contents into dst (cleared first); src is left empty. */
void kw__cred_doc_move(kw_cred_doc *dst, kw_cred_doc *src);

typedef struct kw_cred_source kw_cred_source;
typedef struct kw_cred_job kw_cred_job;

/* Zero means default. */
typedef struct kw_cred_source_options {
    int kind;                /* enum kw_cred_kind (required) */
    const char *file;        /* exactly one of file and http_socket */
    const char *http_socket; /* Unix socket path; the request is GET http://localhost/ */
    uint32_t timeout_ms;     /* HTTP: KW_CRED_HTTP_TIMEOUT_MS */
} kw_cred_source_options;

/*
 * 0, or KW_ECONFIG (no kind, neither or both paths, an empty path) /
 * KW_ENOMEM / KW_EIO (no eventfd, loop refused it) with err saying which.
 * The paths are copied; nothing is read yet (a missing file fails the
 * authentication that reads it, not this).
 */
int kw__cred_source_new(kw_cred_source **out, kw_loop *loop, const kw_cred_source_options *opt,
                        char *err, size_t errlen);
/* "file /run/token.json" or "HTTP socket /run/cred.sock", for details and logs. */
const char *kw__cred_source_name(const kw_cred_source *src);
int kw__cred_source_kind(const kw_cred_source *src);

/*
 * The result of one fetch, on the loop thread.  err is 0 and doc holds the
 * document, or err is KW_ESASL (missing or unreadable file, bad document,
 * no answer within the timeout, a status other than 200, ...) or KW_ENOMEM
 * and detail says which, naming the source ("credential file
 * /run/x.json: field \"token\" is missing", "credential HTTP socket
 * /run/c.sock: status 500").  doc is the callee's to keep: it may move the
 * contents out (kw__cred_doc_move); whatever is left is wiped after the
 * callback returns.  The callback may call kw__cred_fetch again and may
 * free the object that started the fetch; it must not free the source.
 */
typedef void kw_cred_done_fn(int err, const char *detail, kw_cred_doc *doc, void *arg);

/*
 * Starts fetching one document.  0 and done(arg) is called exactly once,
 * later, on the loop thread, unless kw__cred_cancel(*job) comes first; or
 * KW_ENOMEM / KW_ECLOSED (source closed) / KW_EIO (no thread) and done is
 * never called.  *job is the handle for kw__cred_cancel; it stays valid
 * until done runs or cancel is called, whichever is first.
 */
int kw__cred_fetch(kw_cred_source *src, kw_cred_done_fn *done, void *arg, kw_cred_job **job);

/*
 * Loop thread: done will not be called for job (call it when the object
 * waiting for it goes away, e.g. a connection closed mid-fetch).  A
 * running HTTP request is told to stop; its worker is joined later.
 */
void kw__cred_cancel(kw_cred_job *job);

/*
 * Loop thread (or the owner's thread once the loop has stopped), before
 * kw__loop_free: stops watching the loop, so no result is delivered after
 * this; running requests are told to stop at once.  No callback runs.
 */
void kw__cred_source_close(kw_cred_source *src);
/* Closes if not yet closed, joins the workers (quick once closed) and frees.  NULL is fine. */
void kw__cred_source_free(kw_cred_source *src);

#endif /* KW_NET_CRED_H */
