/* The metasrv store on etcd: its v3 JSON gateway over HTTP (libcurl, jansson), leases for leader election. */
#ifndef KW_META_STORE_ETCD_H
#define KW_META_STORE_ETCD_H

#include <stddef.h>
#include <stdint.h>

#include "meta/store.h"

/*
 * Zero means default.  Every string is copied at open.
 *
 * Endpoints are tried in order; the one that answered last is used first the
 * next time.  A request that could not reach an endpoint (connect or name
 * failure) goes to the next at once.  A read whose answer was lost (timeout,
 * connection dropped) is also sent to the next; a write whose answer was lost
 * is not (it may have been applied), and fails with KW_EIO and a detail
 * saying its outcome is unknown: the callers re-read and decide, as they do
 * after a compare-and-put conflict.
 */
typedef struct kw_meta_store_etcd_options {
    const char *const *endpoints; /* "host:port" or "http(s)://host:port"; required */
    size_t endpoint_count;
    /* Prepended to every key (GreptimeDB's store_key_prefix); range and results see the keys
     * without it.  "" or NULL: none. */
    const char *key_prefix;
    /* TLS: https:// endpoints, or every endpoint without a scheme when use_tls, ca_file or
     * cert_file is set (without ca_file the system's CA store verifies etcd). */
    int use_tls;
    const char *ca_file;
    const char *cert_file; /* client certificate: both cert and key, or neither */
    const char *key_file;
    /* etcd user authentication: a token from /v3/auth/authenticate, renewed when refused. */
    const char *username;
    const char *password;
    uint32_t timeout_ms; /* 5000: one HTTP request, connect included */
} kw_meta_store_etcd_options;

/*
 * Opens the store and checks that some endpoint answers (and, with a user,
 * that the credentials are accepted).  Errors: KW_EINVAL / KW_ECONFIG for bad
 * options (naming the option), KW_ECONNECT when no endpoint answers, KW_EIO /
 * KW_EBROKER-like failures as KW_EIO with etcd's message.  The detail goes to
 * err (err_cap bytes; may be NULL).
 */
int kw__meta_store_etcd_open(const kw_meta_store_etcd_options *opt, kw_meta_store **out,
                             char *err, size_t err_cap);

/* ---- leases (etcd only): what metasrv leader election is built from ---- */

/* Grants a lease of ttl_s seconds: *id its id. */
int kw__meta_etcd_lease_grant(kw_meta_store *s, int64_t ttl_s, int64_t *id);
/* Renews it: *ttl_s (may be NULL) what is left; KW_ENOTFOUND when it has lapsed. */
int kw__meta_etcd_lease_keepalive(kw_meta_store *s, int64_t id, int64_t *ttl_s);
/* Revokes it (its keys are deleted); KW_ENOTFOUND when it has lapsed already. */
int kw__meta_etcd_lease_revoke(kw_meta_store *s, int64_t id);
/*
 * Compare-and-put attached to a lease: like kw__meta_store_cas, and the key
 * goes away when the lease lapses or is revoked.  An election's campaign:
 * cas(key, KW_META_REV_ABSENT, my id, lease).
 */
int kw__meta_etcd_cas_lease(kw_meta_store *s, const void *key, size_t key_len,
                            uint64_t expected_rev, const void *value, size_t value_len,
                            int64_t lease, uint64_t *rev);

/* True when s is an etcd store (the lease calls need one). */
int kw__meta_store_is_etcd(const kw_meta_store *s);

#endif /* KW_META_STORE_ETCD_H */
