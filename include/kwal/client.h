/* kwal's Kafka client: one event loop per client, async calls with callbacks and blocking forms. */
#ifndef KW_CLIENT_H
#define KW_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwal/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A kw_client talks to one Kafka cluster through one epoll loop.
 *
 * Running the loop.  By default kw_client_new starts an I/O thread that runs
 * the loop until kw_client_destroy.  With options.host_driven no thread is
 * started and the host runs the loop: it polls kw_client_backend_fd for
 * readability (with at most kw_client_timeout_ms as its timeout) and then
 * calls kw_client_run_once(c, 0).  Like libuv's uv_backend_fd.
 *
 * Threads.  Every function may be called from any thread except:
 *   - kw_client_destroy: once, after every other call on the client has
 *     returned (blocking calls included); never from a callback.
 *   - kw_client_run_once: host-driven mode only, one thread at a time (that
 *     thread is "the loop thread" while it runs), never from a callback.
 *   - the blocking forms (functions without _async): never from a callback
 *     (of this client, or of a WAL or meta handle running on it): there they
 *     return KW_EDEADLK at once instead of waiting for the loop thread, which
 *     is the caller itself.  In own-thread mode they block the calling
 *     thread until the I/O thread completes the call.  In host-driven mode
 *     they drive the loop themselves until the call completes (or, while
 *     another thread is running the loop, wait for it to), and expect
 *     callbacks of other calls to run inside them.
 * No global state: two clients in one process share nothing.
 *
 * Callbacks.  Each accepted async call (return 0) gets exactly one callback,
 * later, never from inside the submitting call.  Callbacks run on the I/O
 * thread (own-thread mode) or inside kw_client_run_once / a blocking call
 * (host-driven mode), and, for calls still pending, inside kw_client_destroy
 * with err KW_ECLOSED.  The result passed to a callback, and everything it
 * points to, is valid only during the callback: copy what you keep.  A
 * callback may submit new async calls; it must not block for long (it holds
 * up the whole client).  An async call that returns an error never calls its
 * callback.
 *
 * Results.  Every result starts with err (0 or a negative KW_E* code), kerr
 * (the Kafka error code behind KW_EBROKER, else 0, or the last one seen
 * before a KW_ETIMEDOUT) and detail (a NUL-terminated text saying what
 * happened, "" on success; it is per call, so results never share it).  The
 * blocking forms fill a caller-provided result, whose heap parts (arrays,
 * strings, fetched records) the caller frees with the matching
 * kw_client_*_result_free (safe on a zeroed or failed result; not needed
 * for results that say "no free").  They return the same code as err.
 *
 * Errors: KW_ETIMEDOUT (the call's deadline passed: timeout_ms of the call,
 * else options.request_timeout_ms; an unreachable broker ends this way,
 * detail naming the last connect error), KW_EBROKER (kerr says which Kafka
 * error), KW_ECLOSED (the client is being destroyed), KW_ETLS / KW_ESASL (a
 * connection failed certificate checks or authentication: calls waiting for
 * a connection fail at once, not at their deadline), KW_EINVAL (bad
 * arguments), KW_ENOMEM, KW_EVERSION (the broker does not speak the API).
 */
typedef struct kw_client kw_client;

/* Longest detail text kept in a result, NUL included. */
#define KW_CLIENT_DETAIL_MAX 512

enum kw_client_security {
    KW_CLIENT_PLAINTEXT = 0,
    KW_CLIENT_SSL = 1,
    KW_CLIENT_SASL_PLAINTEXT = 2,
    KW_CLIENT_SASL_SSL = 3,
};


/*
 * OAUTHBEARER token source: write a token (no NUL needed) into buf, at most
 * cap bytes, and return its length, or a negative KW_E* code.  Called on the
 * loop thread once per authentication, so it may hand out a fresh token each
 * time; it must not block for long.
 */
typedef int kw_client_token_fn(void *arg, char *buf, size_t cap);

/*
 * Zero means default for every field.  Every string is copied by
 * kw_client_new (files are read when connections are made: CA and cert files
 * once at kw_client_new, the token and credential files at each
 * authentication).
 */
typedef struct kw_client_options {
    const char *bootstrap;   /* "host:port,host:port" (required); tried in order */
    const char *client_id;   /* "kwal" */
    int security;            /* enum kw_client_security: KW_CLIENT_PLAINTEXT */

    /* SASL (KW_CLIENT_SASL_*): "PLAIN", "SCRAM-SHA-256/512", "OAUTHBEARER", "GSSAPI",
     * "AWS_MSK_IAM". */
    const char *sasl_mechanism; /* "PLAIN" */
    const char *sasl_username;
    const char *sasl_password;
    /*
     * OAUTHBEARER: exactly one of these five token sources (two set is
     * KW_ECONFIG naming both):
     *   oauth_token        the token itself, sent at every authentication;
     *   oauth_token_file   a file holding only the raw token (trailing newline
     *                      dropped), re-read at every authentication and
     *                      KIP-368 re-authentication, so a sidecar can rotate it;
     *   oauth_token_cb     asked on the loop thread at every authentication;
     *   oauth_file         a file holding the JSON document
     *                      {"token": "...", "zid": "...", "extensions": {"k": "v"}}
     *                      (only token required; zid is the authorization id,
     *                      extensions go into the RFC 7628 message), re-read at
     *                      every (re-)authentication;
     *   oauth_http_socket  a Unix domain socket path: at every
     *                      (re-)authentication kwal sends `GET /` (HTTP/1.1,
     *                      Host: localhost) and wants status 200 with that
     *                      JSON document as the body, within
     *                      sasl_http_timeout_ms.  The request runs on a
     *                      short-lived thread of its own, never on the loop.
     * A missing file, a bad document (not JSON, token missing or not a bearer
     * token, a wrong type, a bad extension), no answer in time or a status
     * other than 200 fail that authentication with KW_ESASL, the detail naming
     * the path and the field or status; calls waiting for the connection fail
     * with it.
     */
    const char *oauth_token;
    const char *oauth_token_file;
    kw_client_token_fn *oauth_token_cb;
    void *oauth_token_arg;
    const char *oauth_file;
    const char *oauth_http_socket;
    /*
     * AWS_MSK_IAM credentials from a document instead of static keys (one
     * source in all): aws_file, a JSON file
     * {"AccessKey": "...", "SecretKey": "...", "SessionToken": "...", "UserAgent": "..."}
     * (AccessKey and SecretKey required) re-read at every
     * (re-)authentication, or aws_http_socket, `GET /` on a Unix socket
     * answering 200 with that document, as for oauth_http_socket.
     */
    const char *aws_file;
    const char *aws_http_socket;
    /* The longest an HTTP credential request (oauth_http_socket, aws_http_socket) may take: 10000. */
    uint32_t sasl_http_timeout_ms;
    /*
     * GSSAPI (Kerberos, through cyrus-sasl): the broker's service name ("kafka";
     * sasl.kerberos.service.name), the ticket asked for being SERVICE/HOST with
     * HOST as the bootstrap list or the metadata names the broker.  Credentials
     * come from the Kerberos credential cache (KRB5CCNAME or the default one):
     * keep it filled with kinit or k5start; kwal runs no kinit.  The KDC round
     * trip for a service ticket happens on the I/O thread at each authentication.
     */
    const char *sasl_kerberos_service_name;
    /*
     * AWS_MSK_IAM (Amazon MSK's IAM access control): static credentials, the
     * access key id and secret access key both, the session token with
     * temporary (STS) credentials only.  Each authentication (and KIP-368
     * re-authentication) signs a fresh SigV4 payload, valid 5 minutes, for
     * action kafka-cluster:Connect on the broker's host name.  The region:
     * aws_region, else the one in the broker's host name when it is an MSK
     * name (b-1.NAME.ID.c2.kafka.REGION.amazonaws.com), else the AWS_REGION
     * (or AWS_DEFAULT_REGION) environment variable as kw_client_new saw it.  aws_user_agent: the
     * user agent the broker logs and IAM conditions see ("kwal/VERSION").
     */
    const char *aws_access_key_id;
    const char *aws_secret_access_key;
    const char *aws_session_token;
    const char *aws_region;
    const char *aws_user_agent;

    /* TLS (KW_CLIENT_SSL, KW_CLIENT_SASL_SSL).  With neither CA option, the system store. */
    const char *tls_ca_file;
    const char *tls_ca_dir;
    const char *tls_cert_file; /* client certificate (mTLS): both cert and key, or neither */
    const char *tls_key_file;
    const char *tls_server_name; /* the name the certificate must carry (and SNI); default the broker's host */
    /* Skip the host-name check (ssl.endpoint.identification.algorithm=none); the chain is still verified. */
    bool tls_no_hostname_check;
    /* Verify nothing at all (tests only): every connection logs a warning. */
    bool tls_insecure_skip_verify;
    /* The oldest TLS version accepted: "TLSv1.2" (the default) or "TLSv1.3" (ssl.min.version). */
    const char *tls_min_version;
    /*
     * The cipher suites offered (ssl.cipher.suites), ':' or ',' separated,
     * by OpenSSL name ("ECDHE-RSA-AES128-GCM-SHA256") or standard name
     * ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"); NULL: OpenSSL's defaults.
     * TLS 1.3 suite names (TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384,
     * TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_CCM_SHA256,
     * TLS_AES_128_CCM_8_SHA256) set the TLS 1.3 suites, every other name the
     * TLS 1.2 cipher list.  Only suites listed are offered: a list with no
     * TLS 1.3 name turns TLS 1.3 off, one with only TLS 1.3 names turns
     * TLS 1.2 off.  An unknown name is KW_ECONFIG naming it; a broker that
     * accepts none of them fails the connection with KW_ETLS.
     */
    const char *tls_cipher_suites;

    uint32_t connect_timeout_ms; /* 10000: TCP connect, then again TLS + ApiVersions + SASL */
    uint32_t request_timeout_ms; /* 30000: the deadline of a call whose own timeout_ms is 0 */
    uint32_t max_in_flight;      /* 64: requests sent and unanswered per connection */
    /*
     * NULL or "": every API at the newest version both kwal and the broker speak.
     * A Kafka release, "3.9" or "3.9.0" (the patch is ignored: patch releases
     * never change API versions): no API newer than that release's client
     * has, so kwal talks to a newer broker as that release would (an API the
     * release lacks is then unavailable, KW_EVERSION).  kwal knows the
     * releases 3.0 to 4.4 (src/proto/api_release_table.c, generated from
     * their kafka-clients jars); another or a malformed string makes
     * kw_client_new fail with KW_ECONFIG naming it.
     */
    const char *api_version_max;

    /* NULL: no logging.  Called on the loop thread (or the thread in kw_client_new / destroy). */
    kw_log_fn *log;
    void *log_arg;

    bool host_driven; /* no I/O thread: the host runs the loop (kw_client_run_once) */
} kw_client_options;

/*
 * Creates a client and starts its I/O thread (unless host_driven).
 * Connecting happens lazily, at the first call.  Returns 0, or KW_EINVAL /
 * KW_ECONFIG / KW_ETLS / KW_EUNSUPPORTED (bad options: unreadable CA or key
 * file, a bad bootstrap list, SASL settings missing a username, ...;
 * when errbuf is not NULL it gets the reason) or KW_ENOMEM.  *out is NULL on
 * failure.
 */
KW_API int kw_client_new(kw_client **out, const kw_client_options *opt, char *errbuf,
                         size_t errlen);

/*
 * Fails every pending call with KW_ECLOSED (each callback runs once, on the
 * calling thread or the I/O thread, before this returns), closes the
 * connections and joins the I/O thread.  NULL is fine.
 */
KW_API void kw_client_destroy(kw_client *c);

/* ---- host-driven mode ---- */

/* A pollable fd (epoll) that becomes readable when kw_client_run_once has work; -1 if c is NULL. */
KW_API int kw_client_backend_fd(const kw_client *c);
/* Ms until kw_client_run_once must be called even if the fd stays quiet: -1 none, 0 now. */
KW_API int kw_client_timeout_ms(kw_client *c);
/*
 * Runs one round of the loop: waits up to timeout_ms (0 = no wait, -1 =
 * until something happens) for I/O, then runs what is ready, callbacks
 * included.  Returns the number of events handled (>= 0) or a negative
 * KW_E* code; KW_EINVAL in own-thread mode or while another thread runs
 * the loop, KW_EDEADLK from inside a callback.
 */
KW_API int kw_client_run_once(kw_client *c, int timeout_ms);

/* ---- produce ---- */

enum kw_client_acks {
    KW_CLIENT_ACKS_ALL = 0,    /* every in-sync replica has the batch (acks=-1; the default) */
    KW_CLIENT_ACKS_LEADER = 1, /* the leader wrote it (acks=1) */
    KW_CLIENT_ACKS_NONE = 2,   /* nothing: the call completes once the request is written (acks=0) */
};

enum kw_client_produce_flags {
    /*
     * The client takes ownership of batch (a malloc'd buffer) and free()s it
     * once the call ends, whether it succeeds or not (also when the async
     * call returns an error).  Without it, the async form copies the batch
     * before returning (the blocking form never copies it).
     */
    KW_CLIENT_PRODUCE_TAKE_BATCH = 1u << 0,
};

typedef struct kw_client_produce_args {
    const char *topic;
    int32_t partition;
    /* One or more complete RecordBatch v2 (magic 2) byte strings, CRC set, ready to send. */
    const void *batch;
    size_t batch_len;
    int acks;          /* enum kw_client_acks */
    unsigned flags;    /* enum kw_client_produce_flags */
    uint32_t timeout_ms; /* 0: options.request_timeout_ms; also the broker's replication wait */
} kw_client_produce_args;

/*
 * Durability: err == 0 with acks ALL means every in-sync replica holds the
 * batch at base_offset; with LEADER, the leader does; with NONE nothing is
 * known (base_offset is -1).  A produce that failed with a connection error
 * or KW_ETIMEDOUT may still have been written: retrying can duplicate it
 * unless the batch carries an idempotent producer id and sequence.
 * No free needed.
 */
typedef struct kw_client_produce_result {
    int err;
    int16_t kerr;
    char detail[KW_CLIENT_DETAIL_MAX];
    int64_t base_offset;        /* offset of the batch's first record; -1 unknown */
    int64_t log_append_time_ms; /* -1 unless the topic uses LogAppendTime */
    int64_t log_start_offset;   /* -1 unknown */
} kw_client_produce_result;

typedef void kw_client_produce_cb(const kw_client_produce_result *r, void *arg);

/*
 * One Produce request to the partition's leader, retried on retriable Kafka
 * errors and lost connections until the deadline.  Many produce calls may
 * be in flight at once; they are pipelined on the leader's connection and
 * sent in submission order (calls submitted from one thread), so their
 * offsets follow that order unless a retry intervenes.  The async form
 * copies the batch once (or takes it: KW_CLIENT_PRODUCE_TAKE_BATCH) and
 * makes one allocation per call.
 */
KW_API int kw_client_produce_async(kw_client *c, const kw_client_produce_args *a,
                                   kw_client_produce_cb *cb, void *arg);
KW_API int kw_client_produce(kw_client *c, const kw_client_produce_args *a,
                             kw_client_produce_result *out);

/* ---- fetch ---- */

enum kw_client_isolation {
    KW_CLIENT_READ_UNCOMMITTED = 0,
    KW_CLIENT_READ_COMMITTED = 1,
};

typedef struct kw_client_fetch_args {
    const char *topic;
    int32_t partition;
    int64_t offset;        /* first offset wanted */
    int32_t max_bytes;     /* 1048576: for the partition and the response; >= one batch is returned anyway */
    int32_t max_wait_ms;   /* 500: how long the broker may wait for min_bytes */
    int32_t min_bytes;     /* 1 */
    int isolation;         /* enum kw_client_isolation */
    uint32_t timeout_ms;   /* 0: options.request_timeout_ms (must exceed max_wait_ms) */
} kw_client_fetch_args;

/*
 * The fetch names the topic by its id from Fetch v13 on (the id from the
 * client's metadata; by name at v12 and below).  A topic deleted and created
 * again under its name between two attempts of one fetch ends it with
 * KW_ENOTFOUND, kerr 100 (UNKNOWN_TOPIC_ID), naming both ids.
 *
 * records holds whole RecordBatch v2 byte strings as the broker sent them
 * (the last one may be truncated: readers skip it).  Async: records point
 * into the response, valid during the callback.  Blocking: a heap copy,
 * freed by kw_client_fetch_result_free.
 */
typedef struct kw_client_fetch_result {
    int err;
    int16_t kerr; /* e.g. OFFSET_OUT_OF_RANGE (1) with err KW_EBROKER */
    char detail[KW_CLIENT_DETAIL_MAX];
    int64_t high_watermark;
    int64_t last_stable_offset;
    int64_t log_start_offset;
    const uint8_t *records; /* NULL when none */
    size_t records_len;
} kw_client_fetch_result;

typedef void kw_client_fetch_cb(const kw_client_fetch_result *r, void *arg);
KW_API int kw_client_fetch_async(kw_client *c, const kw_client_fetch_args *a,
                                 kw_client_fetch_cb *cb, void *arg);
KW_API int kw_client_fetch(kw_client *c, const kw_client_fetch_args *a,
                           kw_client_fetch_result *out);
KW_API void kw_client_fetch_result_free(kw_client_fetch_result *r);

/* ---- list offsets ---- */

enum kw_client_offset_spec {
    KW_CLIENT_OFFSET_LATEST = 0,    /* the high watermark (next offset to be written) */
    KW_CLIENT_OFFSET_EARLIEST = 1,  /* the log start offset */
    KW_CLIENT_OFFSET_TIMESTAMP = 2, /* first offset whose timestamp >= timestamp_ms */
};

typedef struct kw_client_list_offsets_args {
    const char *topic;
    int32_t partition;
    int spec;             /* enum kw_client_offset_spec */
    int64_t timestamp_ms; /* KW_CLIENT_OFFSET_TIMESTAMP only */
    int isolation;        /* enum kw_client_isolation: READ_COMMITTED gives the last stable offset */
    uint32_t timeout_ms;
} kw_client_list_offsets_args;

/* No free needed. */
typedef struct kw_client_list_offsets_result {
    int err;
    int16_t kerr;
    char detail[KW_CLIENT_DETAIL_MAX];
    int64_t offset;       /* -1 when no record has a timestamp that late */
    int64_t timestamp_ms; /* of that record (TIMESTAMP), else -1 */
    int32_t leader_epoch; /* -1 unknown */
} kw_client_list_offsets_result;

typedef void kw_client_list_offsets_cb(const kw_client_list_offsets_result *r, void *arg);
KW_API int kw_client_list_offsets_async(kw_client *c, const kw_client_list_offsets_args *a,
                                        kw_client_list_offsets_cb *cb, void *arg);
KW_API int kw_client_list_offsets(kw_client *c, const kw_client_list_offsets_args *a,
                                  kw_client_list_offsets_result *out);

/* ---- delete records ---- */

/* before_offset value meaning "everything up to the high watermark". */
#define KW_CLIENT_OFFSET_END (-1)

typedef struct kw_client_delete_records_args {
    const char *topic;
    int32_t partition;
    int64_t before_offset; /* records below this offset are deleted; KW_CLIENT_OFFSET_END: all */
    uint32_t timeout_ms;
} kw_client_delete_records_args;

/* No free needed. */
typedef struct kw_client_delete_records_result {
    int err;
    int16_t kerr;
    char detail[KW_CLIENT_DETAIL_MAX];
    int64_t low_watermark; /* the partition's new log start offset */
} kw_client_delete_records_result;

typedef void kw_client_delete_records_cb(const kw_client_delete_records_result *r, void *arg);
KW_API int kw_client_delete_records_async(kw_client *c, const kw_client_delete_records_args *a,
                                          kw_client_delete_records_cb *cb, void *arg);
KW_API int kw_client_delete_records(kw_client *c, const kw_client_delete_records_args *a,
                                    kw_client_delete_records_result *out);

/* ---- committed offsets (a consumer group's, with or without membership) ---- */

/*
 * One partition's committed offset.  In commit arguments: what to store.  In
 * a result: what the group coordinator holds (offset -1: nothing committed)
 * and this partition's Kafka error (kerr, 0 ok).  Kafka stores whatever
 * offset is committed; by the Java client's convention it is the next offset
 * to read (last consumed + 1); Mimir commits the last consumed one.  Say which
 * in your own docs; kwal does not add or subtract anything.
 */
typedef struct kw_client_committed {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch; /* -1 unknown */
    const char *metadata; /* NULL none */
    int16_t kerr;         /* result only */
} kw_client_committed;

typedef struct kw_client_offset_commit_args {
    const char *group;
    /* NULL: commit without membership (generation -1, member ""), allowed while the group
     * has no members using the classic protocol, as Mimir does.  Else a member's id and
     * its generation (classic) or member epoch (KIP-848); a stale one is refused with
     * ILLEGAL_GENERATION / STALE_MEMBER_EPOCH / UNKNOWN_MEMBER_ID in the partitions' kerr. */
    const char *member_id;
    int32_t generation;
    const char *group_instance_id; /* static membership; NULL none */
    const kw_client_committed *offsets;
    size_t count;
    uint32_t timeout_ms;
} kw_client_offset_commit_args;

typedef struct kw_client_offset_fetch_args {
    const char *group;
    /* The partitions to look up (topic and partition read; the rest ignored), or NULL:
     * every partition the group has an offset for. */
    const kw_client_committed *partitions;
    size_t count;
    /* Wait for offsets an open transaction is committing (UNSTABLE_OFFSET_COMMIT retried). */
    bool require_stable;
    uint32_t timeout_ms;
} kw_client_offset_fetch_args;

/*
 * err 0: the coordinator answered and every partition's kerr is 0.
 * KW_EBROKER: a group-level error (kerr), or some partition's (kerr is the
 * first one; each entry has its own).  offsets is NULL on a failure before an
 * answer.  Free with kw_client_offsets_result_free (safe on a zeroed result).
 */
typedef struct kw_client_offsets_result {
    int err;
    int16_t kerr;
    char detail[KW_CLIENT_DETAIL_MAX];
    kw_client_committed *offsets;
    size_t count;
} kw_client_offsets_result;

/* Callback: the loop thread; r and its offsets are valid during the call only (freed after). */
typedef void kw_client_offsets_cb(const kw_client_offsets_result *r, void *arg);

/*
 * OffsetCommit to the group's coordinator (found with FindCoordinator and
 * found again when it moves).  Returns 0 and fills *out (which then needs
 * kw_client_offsets_result_free), or an error before anything was sent.
 * From a callback: KW_EDEADLK.
 */
KW_API int kw_client_offset_commit(kw_client *c, const kw_client_offset_commit_args *a,
                                   kw_client_offsets_result *out);
KW_API int kw_client_offset_commit_async(kw_client *c, const kw_client_offset_commit_args *a,
                                         kw_client_offsets_cb *cb, void *arg);
/* OffsetFetch from the group's coordinator; like kw_client_offset_commit. */
KW_API int kw_client_offset_fetch(kw_client *c, const kw_client_offset_fetch_args *a,
                                  kw_client_offsets_result *out);
KW_API int kw_client_offset_fetch_async(kw_client *c, const kw_client_offset_fetch_args *a,
                                        kw_client_offsets_cb *cb, void *arg);
KW_API void kw_client_offsets_result_free(kw_client_offsets_result *r);

/* ---- consumer groups: list and describe ---- */

typedef struct kw_client_list_groups_args {
    /* Only groups in these states ("Stable", "Empty", "PreparingRebalance", ...; Kafka 2.6+)
     * and of these types ("classic", "consumer"; Kafka 3.8+); NULL / 0: every one. */
    const char *const *states;
    size_t state_count;
    const char *const *types;
    size_t type_count;
    uint32_t timeout_ms;
} kw_client_list_groups_args;

typedef struct kw_client_group_listing {
    const char *group_id;
    const char *protocol_type; /* "consumer" for consumer groups; "" for a group only committed to */
    const char *state;         /* NULL when the broker is older than ListGroups v4 */
    const char *type;          /* "classic", "consumer", ...; NULL before ListGroups v5 */
    int32_t coordinator;       /* node id of the broker that listed it (its coordinator) */
} kw_client_group_listing;

/*
 * err 0: every broker answered.  Otherwise err (and kerr, detail) say why
 * the first broker that failed did, and groups holds what the others listed.
 * Free with kw_client_list_groups_result_free.
 */
typedef struct kw_client_list_groups_result {
    int err;
    int16_t kerr;
    char detail[KW_CLIENT_DETAIL_MAX];
    const kw_client_group_listing *groups; /* sorted by group_id */
    size_t group_count;
    size_t broker_count;  /* brokers asked */
    size_t broker_failed; /* of those, how many gave no list */
    void *priv_;
} kw_client_list_groups_result;

/* Callback: the loop thread; r is valid during the call only (freed after). */
typedef void kw_client_list_groups_cb(const kw_client_list_groups_result *r, void *arg);

/*
 * ListGroups to every broker of the cluster (each lists the groups it is the
 * coordinator of; the broker list comes from a Metadata request made first),
 * merged.  Returns 0 and fills *out (which then needs
 * kw_client_list_groups_result_free), or an error before anything was sent.
 */
KW_API int kw_client_list_groups(kw_client *c, const kw_client_list_groups_args *a,
                                 kw_client_list_groups_result *out);
KW_API int kw_client_list_groups_async(kw_client *c, const kw_client_list_groups_args *a,
                                       kw_client_list_groups_cb *cb, void *arg);
KW_API void kw_client_list_groups_result_free(kw_client_list_groups_result *r);

/* A member's partitions of one topic (a decoded assignment). */
typedef struct kw_client_topic_partitions {
    const char *topic;
    const int32_t *partitions;
    size_t partition_count;
} kw_client_topic_partitions;

typedef struct kw_client_group_member {
    const char *member_id;
    const char *group_instance_id; /* static membership; NULL none */
    const char *client_id;
    const char *client_host;
    /* The protocol's raw documents (empty unless the group is Stable): for protocol type
     * "consumer", a ConsumerProtocolSubscription and a ConsumerProtocolAssignment. */
    const uint8_t *metadata;
    size_t metadata_len;
    const uint8_t *assignment;
    size_t assignment_len;
    /* Protocol type "consumer": the assignment decoded, by topic in the order sent.
     * assignment_err says why it is not: KW_EMALFORMED / KW_ETRUNCATED (bad bytes),
     * KW_EUNSUPPORTED (another protocol type); 0 when decoded (or there were no bytes). */
    const kw_client_topic_partitions *assigned;
    size_t assigned_count;
    int assignment_err;
    /* A KIP-848 member (the group's type is "consumer"): its epoch, rack, subscription and
     * the target assignment the broker is moving it to (assigned above is what it owns now,
     * with the broker's topic names; metadata and assignment are empty).  A classic member:
     * member_epoch -1 and the rest NULL / 0. */
    int32_t member_epoch;
    const char *rack_id;
    const char *const *subscribed_topics;
    size_t subscribed_topic_count;
    const char *subscribed_topic_regex;
    const kw_client_topic_partitions *target;
    size_t target_count;
} kw_client_group_member;

typedef struct kw_client_group_description {
    const char *group_id;
    /* This group's Kafka error: 0, GROUP_ID_NOT_FOUND (69) for a group the coordinator does
     * not know (Kafka 4's DescribeGroups v6 says so; an older broker's answer "no error, state
     * Dead, no protocol type, no members" is reported as GROUP_ID_NOT_FOUND too, as the Java
     * admin client does since KIP-1043, with state "Dead"), an authorization error, ... */
    int16_t kerr;
    const char *error_message; /* the broker's text for kerr, or NULL */
    const char *state;         /* "Stable", "Empty", "PreparingRebalance", "CompletingRebalance",
                                * "Dead" */
    const char *protocol_type; /* "consumer", or "" for a group only committed to */
    const char *protocol;      /* the chosen assignor ("range", "cooperative-sticky"), or "" */
    const kw_client_group_member *members;
    size_t member_count;
    int32_t coordinator; /* node id of the coordinator that answered */
    /* "classic" (DescribeGroups answered), "consumer" (a KIP-848 group: DescribeGroups said
     * GROUP_ID_NOT_FOUND and ConsumerGroupDescribe described it), or NULL when neither did.
     * For "consumer": state is KIP-848's ("Empty", "Assigning", "Reconciling", "Stable",
     * "Dead"), protocol_type "consumer", protocol the broker's assignor ("uniform", "range"),
     * and the group's epochs below; -1 for "classic". */
    const char *type;
    int32_t group_epoch;
    int32_t assignment_epoch;
} kw_client_group_description;

typedef struct kw_client_describe_groups_args {
    const char *const *groups;
    size_t group_count;
    uint32_t timeout_ms;
} kw_client_describe_groups_args;

/*
 * err 0: every group was described (each may still carry a kerr).  Otherwise
 * the first failure (finding a group's coordinator, a timeout), with groups
 * whose description failed left with their group_id and kerr (or, without a
 * Kafka error, kerr -1 and state NULL).  Free with
 * kw_client_describe_groups_result_free.
 */
typedef struct kw_client_describe_groups_result {
    int err;
    int16_t kerr;
    char detail[KW_CLIENT_DETAIL_MAX];
    const kw_client_group_description *groups; /* in the order asked */
    size_t group_count;
    void *priv_;
} kw_client_describe_groups_result;

typedef void kw_client_describe_groups_cb(const kw_client_describe_groups_result *r, void *arg);

/*
 * DescribeGroups, each group to its own coordinator (found with
 * FindCoordinator and found again when it moves), all at once.  A group
 * DescribeGroups does not know (GROUP_ID_NOT_FOUND: Kafka 4 says so for a
 * KIP-848 "consumer" group; before Kafka 4 the answer is state "Dead" with
 * no protocol type and no members, which is reported as GROUP_ID_NOT_FOUND
 * the same way) is asked again with ConsumerGroupDescribe where
 * the coordinator has it; the description's type says which answered, and
 * a group neither knows keeps DescribeGroups' GROUP_ID_NOT_FOUND.  Returns 0
 * and fills *out (then free it), or
 * an error before anything was sent (KW_EINVAL: no groups, a NULL or empty
 * name).
 */
KW_API int kw_client_describe_groups(kw_client *c, const kw_client_describe_groups_args *a,
                                     kw_client_describe_groups_result *out);
KW_API int kw_client_describe_groups_async(kw_client *c, const kw_client_describe_groups_args *a,
                                           kw_client_describe_groups_cb *cb, void *arg);
KW_API void kw_client_describe_groups_result_free(kw_client_describe_groups_result *r);

/* ---- admin: per-topic outcomes ---- */

/*
 * Create/delete topics and create partitions report per topic.  The call's
 * err is 0 when every topic succeeded, KW_EBROKER when at least one failed
 * (kerr and detail then name the first failure, and topics[] says which);
 * other codes mean no answer came (topics is then NULL).
 */
typedef struct kw_client_topic_outcome {
    const char *name;
    int16_t kerr;        /* 0 or a Kafka error (36 TOPIC_ALREADY_EXISTS, 3 UNKNOWN_TOPIC_OR_PARTITION ...) */
    const char *message; /* the broker's error message, or the error's name; "" when kerr is 0 */
} kw_client_topic_outcome;

typedef struct kw_client_topics_result {
    int err;
    int16_t kerr;
    char detail[KW_CLIENT_DETAIL_MAX];
    const kw_client_topic_outcome *topics; /* in the order asked */
    size_t topic_count;
    void *priv_; /* the client's: the storage behind the pointers */
} kw_client_topics_result;

typedef void kw_client_topics_cb(const kw_client_topics_result *r, void *arg);
KW_API void kw_client_topics_result_free(kw_client_topics_result *r);

/* ---- create topics ---- */

typedef struct kw_client_config_entry {
    const char *name;
    const char *value; /* NULL: the broker default */
} kw_client_config_entry;

typedef struct kw_client_new_topic {
    const char *name;
    int32_t partitions;         /* 0: the broker's num.partitions */
    int16_t replication_factor; /* 0: the broker's default.replication.factor */
    const kw_client_config_entry *configs; /* topic configs ("retention.ms" ...) */
    size_t config_count;
} kw_client_new_topic;

typedef struct kw_client_create_topics_args {
    const kw_client_new_topic *topics;
    size_t topic_count;
    bool validate_only; /* check only; create nothing */
    uint32_t timeout_ms;
} kw_client_create_topics_args;

KW_API int kw_client_create_topics_async(kw_client *c, const kw_client_create_topics_args *a,
                                         kw_client_topics_cb *cb, void *arg);
KW_API int kw_client_create_topics(kw_client *c, const kw_client_create_topics_args *a,
                                   kw_client_topics_result *out);

/* ---- delete topics ---- */

typedef struct kw_client_delete_topics_args {
    const char *const *names;
    size_t name_count;
    uint32_t timeout_ms;
} kw_client_delete_topics_args;

KW_API int kw_client_delete_topics_async(kw_client *c, const kw_client_delete_topics_args *a,
                                         kw_client_topics_cb *cb, void *arg);
KW_API int kw_client_delete_topics(kw_client *c, const kw_client_delete_topics_args *a,
                                   kw_client_topics_result *out);

/* ---- create partitions ---- */

typedef struct kw_client_create_partitions_args {
    const char *topic;
    int32_t total_count; /* the new partition count of the topic (more than it has now) */
    bool validate_only;
    uint32_t timeout_ms;
} kw_client_create_partitions_args;

KW_API int kw_client_create_partitions_async(kw_client *c,
                                             const kw_client_create_partitions_args *a,
                                             kw_client_topics_cb *cb, void *arg);
KW_API int kw_client_create_partitions(kw_client *c, const kw_client_create_partitions_args *a,
                                       kw_client_topics_result *out);

/* ---- describe configs ---- */

enum kw_client_resource {
    KW_CLIENT_RESOURCE_TOPIC = 0,
    KW_CLIENT_RESOURCE_BROKER = 1, /* name: the broker's node id in decimal ("1") */
};

typedef struct kw_client_describe_configs_args {
    int resource; /* enum kw_client_resource */
    const char *name;
    const char *const *keys; /* NULL: every config */
    size_t key_count;
    uint32_t timeout_ms;
} kw_client_describe_configs_args;

enum kw_client_config_source {
    KW_CLIENT_CONFIG_UNKNOWN = 0,
    KW_CLIENT_CONFIG_TOPIC = 1,           /* set on the topic */
    KW_CLIENT_CONFIG_DYNAMIC_BROKER = 2,  /* set on this broker at run time */
    KW_CLIENT_CONFIG_DYNAMIC_DEFAULT = 3, /* set for every broker at run time */
    KW_CLIENT_CONFIG_STATIC_BROKER = 4,   /* the broker's properties file */
    KW_CLIENT_CONFIG_DEFAULT = 5,         /* Kafka's default */
    KW_CLIENT_CONFIG_DYNAMIC_LOGGER = 6,
    KW_CLIENT_CONFIG_CLIENT_METRICS = 7,
    KW_CLIENT_CONFIG_GROUP = 8,
};

typedef struct kw_client_config {
    const char *name;
    const char *value; /* NULL when sensitive or unset */
    int source;        /* enum kw_client_config_source (Kafka's ConfigSource numbers) */
    bool read_only;
    bool is_sensitive;
} kw_client_config;

/* err KW_EBROKER with kerr when the resource itself failed (3: no such topic). */
typedef struct kw_client_describe_configs_result {
    int err;
    int16_t kerr;
    char detail[KW_CLIENT_DETAIL_MAX];
    const kw_client_config *configs;
    size_t config_count;
    void *priv_;
} kw_client_describe_configs_result;

typedef void kw_client_describe_configs_cb(const kw_client_describe_configs_result *r, void *arg);
KW_API int kw_client_describe_configs_async(kw_client *c,
                                            const kw_client_describe_configs_args *a,
                                            kw_client_describe_configs_cb *cb, void *arg);
KW_API int kw_client_describe_configs(kw_client *c, const kw_client_describe_configs_args *a,
                                      kw_client_describe_configs_result *out);
KW_API void kw_client_describe_configs_result_free(kw_client_describe_configs_result *r);

/* ---- metadata ---- */

/* args may be NULL: every topic, the default deadline. */
typedef struct kw_client_metadata_args {
    const char *const *topics; /* NULL with topic_count 0: every topic; else just these */
    size_t topic_count;
    uint32_t timeout_ms;
} kw_client_metadata_args;

typedef struct kw_client_broker {
    int32_t node_id;
    const char *host;
    int32_t port;
    const char *rack; /* NULL when none */
} kw_client_broker;

typedef struct kw_client_partition {
    int32_t id;
    int16_t kerr;
    int32_t leader; /* node id, -1 none */
    int32_t leader_epoch;
    const int32_t *replicas;
    size_t replica_count;
    const int32_t *isr;
    size_t isr_count;
} kw_client_partition;

typedef struct kw_client_topic {
    const char *name;
    int16_t kerr; /* 3 when a topic asked for does not exist */
    bool is_internal;
    const kw_client_partition *partitions; /* by id */
    size_t partition_count;
} kw_client_topic;

/* Per-topic errors do not fail the call (err stays 0). */
typedef struct kw_client_metadata_result {
    int err;
    int16_t kerr;
    char detail[KW_CLIENT_DETAIL_MAX];
    const char *cluster_id; /* NULL when the broker did not say */
    int32_t controller_id;
    const kw_client_broker *brokers;
    size_t broker_count;
    const kw_client_topic *topics;
    size_t topic_count;
    void *priv_;
} kw_client_metadata_result;

typedef void kw_client_metadata_cb(const kw_client_metadata_result *r, void *arg);
KW_API int kw_client_metadata_async(kw_client *c, const kw_client_metadata_args *a,
                                    kw_client_metadata_cb *cb, void *arg);
KW_API int kw_client_metadata(kw_client *c, const kw_client_metadata_args *a,
                              kw_client_metadata_result *out);
KW_API void kw_client_metadata_result_free(kw_client_metadata_result *r);

#ifdef __cplusplus
}
#endif
#endif /* KW_CLIENT_H */
