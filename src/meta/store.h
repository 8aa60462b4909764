/* The metasrv key-value store: an ops table any backend fills, and a crash-safe file backend. */
#ifndef KW_META_STORE_H
#define KW_META_STORE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "kwal/error.h"

/*
 * Keys and values are byte strings.  Keys are 1..KW_META_STORE_MAX_KEY bytes
 * and sort as unsigned bytes (memcmp, shorter first on a tie); values are
 * 0..KW_META_STORE_MAX_VALUE bytes.  The wrappers below check these limits
 * (KW_EINVAL for an empty key, KW_ETOOBIG past a limit) before any backend
 * sees the call, so every backend accepts exactly the same inputs.
 */
#define KW_META_STORE_MAX_KEY 1024u
#define KW_META_STORE_MAX_VALUE (1024u * 1024u)

/*
 * Revisions.  The store keeps one counter; every successful put, compare-and-
 * put or delete adds one to it, and a key's revision is the counter's value
 * when the key was last written (etcd's mod_revision).  So a revision is never
 * 0, never reused (not even after a delete, a compaction or a reopen), and a
 * key that was rewritten always has a new one: compare-and-put on a revision
 * read earlier succeeds only if nobody wrote the key in between.
 */
#define KW_META_REV_ABSENT 0u /* compare-and-put: the key must not exist */

/*
 * Threading: every call may come from any thread at the same time, except
 * kw__meta_store_close, which must be the last call on the store.  A backend
 * serialises internally (the file backend holds one mutex per store).  A
 * forked child must not use its parent's store (it would share the parent's
 * lock and file offsets); it opens its own once the parent has closed it.
 */
typedef struct kw_meta_store kw_meta_store;

/* One pair as range hands it out; the pointers are valid during the callback only. */
typedef struct kw_meta_kv {
    const uint8_t *key;
    size_t key_len;
    const uint8_t *value;
    size_t value_len;
    uint64_t rev;
} kw_meta_kv;

/* Return 0 to go on; anything else stops the scan and range returns it. */
typedef int kw_meta_store_range_cb(void *arg, const kw_meta_kv *kv);

/*
 * What a backend implements.  The wrappers below check arguments and limits,
 * then call these; a backend sets its detail text with kw__meta_store_fail,
 * and close frees everything, the store itself included.  The calls map onto
 * etcd one to one: get = Range(key) reading mod_revision; put = Put; cas =
 * Txn(If mod_revision(key) == rev, or create_revision(key) == 0 for
 * KW_META_REV_ABSENT; Then Put; Else Range(key)); range = Range(key,
 * range_end, limit); del = DeleteRange(key).
 * Durability rule for every backend: when put, cas or del returns 0 the change
 * is durable (file backend: fsynced; etcd: committed by a quorum), and a later
 * get, from any thread or after any crash and reopen, sees it.
 */
typedef struct kw_meta_store_ops {
    const char *name; /* "file", "etcd", ...: for messages */
    int (*get)(kw_meta_store *s, const uint8_t *key, size_t key_len, uint8_t **value,
               size_t *value_len, uint64_t *rev);
    int (*put)(kw_meta_store *s, const uint8_t *key, size_t key_len, const uint8_t *value,
               size_t value_len, uint64_t *rev);
    int (*cas)(kw_meta_store *s, const uint8_t *key, size_t key_len, uint64_t expected_rev,
               const uint8_t *value, size_t value_len, uint64_t *rev);
    int (*range)(kw_meta_store *s, const uint8_t *start, size_t start_len, const uint8_t *end,
                 size_t end_len, size_t limit, kw_meta_store_range_cb *cb, void *arg);
    int (*del)(kw_meta_store *s, const uint8_t *key, size_t key_len, uint64_t *rev);
    void (*close)(kw_meta_store *s);
} kw_meta_store_ops;

/*
 * The part every backend embeds first in its own struct.  The detail text has
 * its own lock so a failing call on one thread and kw__meta_store_errstr on
 * another never tear it; with several threads failing at once it holds the
 * latest failure.
 */
struct kw_meta_store {
    const kw_meta_store_ops *ops;
    pthread_mutex_t err_mu;
    char errstr[256];
};

/* For backends: set up / tear down the embedded part. */
void kw__meta_store_init(kw_meta_store *s, const kw_meta_store_ops *ops);
void kw__meta_store_fini(kw_meta_store *s);
/* For backends: records the detail text and returns err. */
int kw__meta_store_fail(kw_meta_store *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * get: the value (a malloc'd copy the caller frees; a zero-length value is a
 * non-NULL 1-byte allocation with *value_len 0) and its revision.  value and
 * rev may each be NULL when the caller does not want them.  KW_ENOTFOUND if
 * the key is absent (outputs then untouched).
 */
int kw__meta_store_get(kw_meta_store *s, const void *key, size_t key_len, uint8_t **value,
                       size_t *value_len, uint64_t *rev);
/* put: sets the key; *rev (may be NULL) gets its new revision. */
int kw__meta_store_put(kw_meta_store *s, const void *key, size_t key_len, const void *value,
                       size_t value_len, uint64_t *rev);
/*
 * Compare-and-put: writes only if the key's current revision is expected_rev
 * (KW_META_REV_ABSENT: only if the key does not exist).  On a mismatch
 * nothing is written and the call returns KW_EAGAIN — one code for every kind
 * of conflict ("exists", "absent", "changed"), since the caller's answer is
 * always the same: re-read and decide again.  *rev (may be NULL) gets the new
 * revision on success and the key's current revision (0 if absent) on
 * KW_EAGAIN, so a retry needs no extra get.
 */
int kw__meta_store_cas(kw_meta_store *s, const void *key, size_t key_len, uint64_t expected_rev,
                       const void *value, size_t value_len, uint64_t *rev);
/*
 * Range: calls cb for each key in [start, end) in ascending key order.  start
 * NULL (or start_len 0) starts at the first key; end NULL (or end_len 0) runs
 * to the last.  limit 0 means no limit.  The pairs are a consistent snapshot
 * taken before the first callback, and cb runs without any store lock held,
 * so it may call the store (its writes are not in this scan).
 */
int kw__meta_store_range(kw_meta_store *s, const void *start, size_t start_len, const void *end,
                         size_t end_len, size_t limit, kw_meta_store_range_cb *cb, void *arg);
/* Range over every key that begins with prefix (prefix_len 0: every key). */
int kw__meta_store_range_prefix(kw_meta_store *s, const void *prefix, size_t prefix_len,
                                size_t limit, kw_meta_store_range_cb *cb, void *arg);
/* Delete: KW_ENOTFOUND if absent; *rev (may be NULL) gets the revision of the delete. */
int kw__meta_store_del(kw_meta_store *s, const void *key, size_t key_len, uint64_t *rev);
/* Closes the backend and frees the store; NULL is a no-op. */
void kw__meta_store_close(kw_meta_store *s);
/* Copies the detail of the latest failure into buf ("" if none). */
void kw__meta_store_errstr(kw_meta_store *s, char *buf, size_t cap);

/* ---- the file backend ---- */

/* Zero means default. */
typedef struct kw_meta_store_file_options {
    const char *dir; /* required: the store's directory, created (one level) if missing */
    /* 1 MiB: the log is compacted once it is this big and at least twice the size of a
     * fresh snapshot of the live pairs. */
    uint64_t compact_min_bytes;
    /* Optional: told about recovery (a torn tail cut off, a leftover temp file removed)
     * and about a failed compaction, which does not fail the write that triggered it. */
    void (*log)(void *arg, const char *msg);
    void *log_arg;
} kw_meta_store_file_options;

/*
 * Opens (or creates) the file store in opt->dir.  Errors: KW_EAGAIN when
 * another open store (this process or another) holds the directory's lock;
 * KW_ECORRUPT naming the file and offset when the data file is damaged
 * anywhere but its last record; KW_EIO for a failed system call.  The detail
 * goes to err (err_cap bytes; may be NULL), since no store exists yet.
 */
int kw__meta_store_file_open(const kw_meta_store_file_options *opt, kw_meta_store **out, char *err,
                             size_t err_cap);

/* The file names inside dir, for tests and tools. */
#define KW_META_STORE_FILE_DATA "kv.log"
#define KW_META_STORE_FILE_TEMP "kv.log.tmp"
#define KW_META_STORE_FILE_LOCK "LOCK"

#endif /* KW_META_STORE_H */
