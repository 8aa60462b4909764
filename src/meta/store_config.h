/* Which metadata store a metasrv uses: GreptimeDB's top-level backend / store_addrs / store_key_prefix keys. */
#ifndef KW_META_STORE_CONFIG_H
#define KW_META_STORE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "meta/store.h"

enum kw_meta_backend {
    KW_META_BACKEND_FILE = 0, /* "file_store": kwal's crash-safe file store (one node) */
    KW_META_BACKEND_ETCD = 1, /* "etcd_store": GreptimeDB's default */
};

/*
 * The keys, beside [wal] in the same file (a whole GreptimeDB metasrv file
 * may be given; keys this reader does not know are left to others):
 *
 *   backend = "etcd_store" | "file_store"   kwal's default: "file_store" (a single node);
 *                                           "memory_store", "postgres_store", "mysql_store":
 *                                           not supported (an error naming the key)
 *   store_addrs = ["127.0.0.1:2379", ...]   etcd endpoints (etcd_store: required)
 *   store_key_prefix = ""                   a prefix for every key (several deployments on one etcd)
 *   [backend_tls]   mode = "disable" | "prefer" | "require" | "verify_ca" | "verify_full",
 *                   ca_cert_path, cert_path, key_path        (GreptimeDB's names)
 *   [backend_client] connect_timeout = "3s"                  (GreptimeDB's; kwal uses it as the
 *                                                              per-request timeout)
 *   [backend_auth]  username, password       kwal's own: etcd user authentication
 *   [meta_election] lease_ttl = "5s"         kwal's own: the metasrv leader's lease (kwal meta serve)
 *                   node_id = "name"         this metasrv's name in the election (default host:pid)
 */
typedef struct kw__meta_store_config {
    int backend; /* enum kw_meta_backend */
    char **store_addrs;
    size_t store_addr_count;
    char *key_prefix;
    char *ca_file, *cert_file, *key_file;
    int tls; /* 1: https */
    char *username, *password;
    uint32_t timeout_ms;
    uint32_t lease_ttl_s;
    char *node_id;
} kw__meta_store_config;

/*
 * Reads the store keys of the TOML file at path into *out (defaults for
 * absent keys).  0, or KW_ECONFIG with "FILE:LINE: key: what is wrong" in err,
 * or KW_ENOMEM.  *out needs kw__meta_store_config_free either way.
 */
int kw__meta_store_config_load(const char *path, kw__meta_store_config *out, char *err,
                               size_t errlen);
/* The same from text (filename for messages only). */
int kw__meta_store_config_parse(const char *text, size_t len, const char *filename,
                                kw__meta_store_config *out, char *err, size_t errlen);
void kw__meta_store_config_free(kw__meta_store_config *c);

/*
 * Opens the store the config names: the etcd one, or the file store in dir
 * (the file backend needs dir; NULL then means "no store": *out NULL, 0).
 */
int kw__meta_store_config_open(const kw__meta_store_config *c, const char *dir,
                               kw_meta_store **out, char *err, size_t errlen);

#endif /* KW_META_STORE_CONFIG_H */
