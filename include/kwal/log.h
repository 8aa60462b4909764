/* kwal's single-writer log (XTDB's Kafka log): one elected leader per database turns its source topic into a replica topic. */
#ifndef KW_LOG_H
#define KW_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwal/client.h"
#include "kwal/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A kw_log is one node of a log cluster.  Each database has a source topic
 * (clients write commands there with kw_log_submit) and a replica topic
 * (`${topic}-replica` unless named), both with one partition.  Every node
 * joins one consumer group (group_id, default "xtdb") subscribed to every
 * attached source topic; the node the group assigns a source topic's
 * partition to is that database's leader (cooperative-sticky spreads the
 * leaderships and keeps them where they are across rebalances).
 *
 * Leader.  When a node gains a database it first makes itself the only
 * writer of the replica: a transactional producer with transactional id
 * `${name}-leader` (or `${prefix}-${name}-leader`) runs InitProducerId,
 * which fences the previous leader's producer and aborts its open
 * transaction.  Then it reads the replica up to its last stable offset
 * (records it had not seen yet go to on_replica), calls on_leader(db, term)
 * with term = (term_epoch << 48) + the group generation it was assigned in,
 * and consumes the source topic read_committed from the group's committed
 * offset.  Each batch of source records becomes one transaction: apply
 * turns every source record into zero or more replica records (emitted with
 * kw_log_emit), each stamped with the header "kwal-term" (the term, 8 bytes
 * big-endian), and the source offsets consumed are committed in the same
 * transaction (without membership: the transactional id, not the group
 * generation, makes the leader the only writer, so a leader that keeps its
 * database through a cooperative rebalance is not aborted).  So a
 * source record is applied exactly once into the replica: a transaction
 * that does not commit leaves neither its replica records nor its offsets.
 * The leader's own replica records are not handed to on_replica (apply
 * already saw them).
 *
 * Follower.  A node that does not lead a database tails its replica
 * read_committed and hands every record to on_replica.  With
 * drop_stale_terms, a record whose term is below the highest term the node
 * has seen on that replica is dropped (counted in kw_log_db_info), XTDB's
 * term fencing for writers without transactions.
 *
 * Losing leadership.  On a revocation (orderly rebalance), a lost session
 * or a fenced producer the node stops consuming the source, destroys its
 * transactional producer and calls on_follower(db, rewind).  rewind is true
 * when the node's last transaction did not commit (fenced, or another
 * failure): the host applied source records whose results never reached the
 * replica, so it must drop its state of that database; the node then
 * replays the replica from its start.  A fenced node's writes all fail with
 * KW_EFENCED (counted as fenced_writes) and none of them becomes visible.
 * Every database starts as a follower: kw_log_start calls on_follower(db,
 * false) for each before the node joins the group.
 *
 * Threads.  kw_log_start starts one worker thread per node.  on_leader,
 * on_follower, apply and on_replica all run on it, one at a time, in the
 * order the roles changed.  They may call kw_log_emit (apply only, with the
 * emit handle it got), kw_log_submit and kw_log_db_info; never kw_log_close
 * (KW_EDEADLK) or anything of the node's client that waits on the worker.
 * Group membership runs on the client's loop thread and only records role
 * changes for the worker.  The other functions may be called from any
 * thread; kw_log_attach only before kw_log_start.
 */
typedef struct kw_log kw_log;

/* A record handed to apply (a source record) or on_replica (a replica record). */
typedef struct kw_log_record {
    const char *database;
    int64_t offset;
    int64_t timestamp_ms;
    int64_t term; /* replica records: the "kwal-term" header, -1 without one; source: -1 */
    const void *key; /* NULL: null */
    size_t key_len;
    const void *value; /* NULL: null */
    size_t value_len;
} kw_log_record;

/* Where apply writes its replica records. */
typedef struct kw_log_output kw_log_output;

/* Worker thread.  Return 0, or a negative KW_E* code: the transaction is aborted and the node
 * steps down with rewind (the host's state of this database is then rebuilt from the replica). */
typedef int kw_log_apply_fn(void *arg, const kw_log_record *source, kw_log_output *out);
typedef void kw_log_leader_fn(void *arg, const char *database, int64_t term);
typedef void kw_log_follower_fn(void *arg, const char *database, bool rewind);
typedef void kw_log_replica_fn(void *arg, const kw_log_record *replica);

/* Zero means default for every field; strings are copied by kw_log_open. */
typedef struct kw_log_options {
    /* The cluster: an existing client (own-thread mode; it must outlive the node), else
     * client_options (security, timeouts ...), else bootstrap alone. */
    kw_client *client;
    const kw_client_options *client_options;
    const char *bootstrap;
    const char *group_id; /* "xtdb"; an empty string is KW_EINVAL */
    /* Several deployments on one Kafka cluster: each its own prefix, else their leaders fence
     * each other.  NULL or "": transactional ids are `${name}-leader`. */
    const char *transactional_id_prefix;
    /* The operator's term epoch, packed above the generation: (term_epoch << 48) + generation.
     * At most 32767. */
    uint32_t term_epoch;
    uint32_t session_timeout_ms;    /* 45000 */
    uint32_t heartbeat_interval_ms; /* 3000, below the session timeout */
    uint32_t rebalance_timeout_ms;  /* 300000: the JoinGroup rebalance timeout */
    uint32_t transaction_timeout_ms; /* 60000 */
    uint32_t poll_ms;               /* 100: how long the worker waits for records at a time */
    uint32_t timeout_ms;            /* 30000: topic checks, InitProducerId, commits, submit */
    bool drop_stale_terms;
    kw_log_apply_fn *apply; /* required */
    kw_log_leader_fn *on_leader;
    kw_log_follower_fn *on_follower;
    kw_log_replica_fn *on_replica;
    void *arg; /* passed to the four callbacks */
    kw_log_fn *log; /* NULL: none; the worker thread or the client's loop thread */
    void *log_arg;
} kw_log_options;

/* One database of the node. */
typedef struct kw_log_database {
    const char *name;          /* required: the transactional id is built from it */
    const char *topic;         /* the source topic; required */
    const char *replica_topic; /* NULL: `${topic}-replica` */
    /* Create the source and replica topics when missing: 1 partition, LogAppendTime. */
    bool auto_create_topic;
} kw_log_database;

/*
 * Opens a node (nothing joins yet).  Returns 0, KW_EINVAL (no apply, an
 * empty group id, a term epoch above 32767, a host-driven client: errbuf
 * names it), KW_ECONFIG (the client options), KW_ENOMEM.
 */
KW_API int kw_log_open(kw_log **out, const kw_log_options *opts, char *errbuf, size_t errlen);

/*
 * Opens a node from the [log] table of a TOML file and attaches its
 * [[log.database]] tables: base gives the callbacks (and defaults), the file
 * the rest.  Keys of [log]: bootstrap (required), group_id,
 * transactional_id_prefix, term_epoch, session_timeout_ms,
 * heartbeat_interval_ms, rebalance_timeout_ms, transaction_timeout_ms,
 * poll_ms, timeout_ms, drop_stale_terms, security ("plaintext", "ssl",
 * "sasl_plaintext", "sasl_ssl"), sasl_mechanism, sasl_username,
 * sasl_password, tls_ca_file.  Keys of [[log.database]]: name, topic,
 * replica_topic, auto_create_topic.  An unknown key, a wrong type or bad
 * TOML is KW_EINVAL / KW_EMALFORMED (KW_ECONFIG: the file cannot be read) with errbuf naming the file, line and
 * key; then kw_log_open's and kw_log_attach's errors.  Not started.
 */
KW_API int kw_log_open_file(kw_log **out, const char *path, const kw_log_options *base,
                            char *errbuf, size_t errlen);

/*
 * Attaches a database, checking its topics now (blocking): each must exist
 * (or is created with auto_create_topic) with exactly one partition, and
 * the replica topic must have message.timestamp.type=LogAppendTime.
 * Returns 0, KW_EINVAL (a bad or duplicate name, a topic with more than one
 * partition, a replica topic with CreateTime, attach after start), KW_ENOTFOUND
 * (a missing topic without auto_create_topic), or the client's errors;
 * errbuf names the database and the topic.
 */
KW_API int kw_log_attach(kw_log *log, const kw_log_database *db, char *errbuf, size_t errlen);

/* Starts the worker and joins the group.  0, KW_EINVAL (no database attached, started twice),
 * or kw_group_new's errors (errbuf says). */
KW_API int kw_log_start(kw_log *log, char *errbuf, size_t errlen);

/*
 * Writes a command to a database's source topic and waits until the broker
 * has it (acks all, idempotent).  offset (may be NULL) gets its offset.
 * Any thread but the client's loop thread (KW_EDEADLK there).  0,
 * KW_ENOTFOUND (no such database), KW_ETIMEDOUT, the producer's errors.
 */
KW_API int kw_log_submit(kw_log *log, const char *database, const void *key, size_t key_len,
                         const void *value, size_t value_len, int64_t *offset);

/* What kw_log_submit_async reports; valid during the callback only. */
typedef struct kw_log_submitted {
    const char *database;
    int err;            /* 0: the broker has the command (acks all) at offset; else KW_E* */
    const char *detail; /* "" on success, else what went wrong */
    int64_t offset;     /* -1 on error */
    int64_t timestamp_ms; /* the broker's LogAppendTime (source topics use it), else CreateTime */
} kw_log_submitted;

/*
 * Runs on the client's I/O thread (the loop thread of the node's client),
 * exactly once per accepted submit.  It must not block: it may call
 * kw_log_submit_async and kw_log_db_info_get, but not
 * kw_log_submit or kw_log_close (both return KW_EDEADLK there) nor any
 * blocking call of the node's client, and it holds up every connection of
 * the client while it runs.  The callbacks of one database run in submit
 * order.
 */
typedef void kw_log_submit_fn(void *arg, const kw_log_submitted *s);

/*
 * kw_log_submit without waiting: queues the command for the database's
 * source topic (key and value are copied) and returns at once; cb (may be
 * NULL) reports its fate later, never from inside this call.  Commands
 * submitted from one thread reach the source topic in submit order (the
 * producer is idempotent).  Any thread, the worker's callbacks and cb
 * included.  Returns 0, or an error and then cb is never called:
 * KW_ENOTFOUND (no such database), KW_EFULL (the submit buffer is full:
 * submit again after callbacks ran), KW_ECLOSED (the node is closing),
 * KW_ENOMEM, KW_EINVAL.  kw_log_close waits for every queued command's
 * callback (at the producer's delivery timeout at the latest).
 */
KW_API int kw_log_submit_async(kw_log *log, const char *database, const void *key,
                               size_t key_len, const void *value, size_t value_len,
                               kw_log_submit_fn *cb, void *arg);

/* Adds one replica record to the open transaction (apply only).  0, KW_EFENCED, the
 * producer's send errors. */
KW_API int kw_log_emit(kw_log_output *out, const void *key, size_t key_len, const void *value,
                       size_t value_len);

enum kw_log_role {
    KW_LOG_ROLE_NONE = 0, /* not started */
    KW_LOG_ROLE_FOLLOWER = 1,
    KW_LOG_ROLE_LEADER = 2,
};

/* A database's state on this node (no free needed). */
typedef struct kw_log_db_info {
    int role;     /* enum kw_log_role */
    int64_t term; /* the leader's term; the last one led, else -1 */
    uint64_t terms_led;      /* times this node became leader */
    uint64_t applied;        /* source records applied in committed transactions */
    uint64_t replica_written; /* replica records in committed transactions */
    uint64_t replica_read;   /* records handed to on_replica */
    uint64_t stale_dropped;  /* drop_stale_terms: records below the highest term seen */
    uint64_t fenced_writes;  /* writes (send or commit) refused with KW_EFENCED */
    uint64_t failed_transactions; /* aborted or fenced */
    int last_err;            /* the last transaction's error, 0 none */
    char detail[256];        /* what it was */
} kw_log_db_info;

/* 0 or KW_ENOTFOUND.  Any thread. */
KW_API int kw_log_db_info_get(kw_log *log, const char *database, kw_log_db_info *out);

/*
 * Leaves the group (the databases this node led are reassigned), stops the
 * worker, waits for the callbacks of every command kw_log_submit_async
 * queued, frees the node.  Never from a callback: the worker's or a submit
 * callback (KW_EDEADLK: nothing done).  NULL is fine (returns 0).
 */
KW_API int kw_log_close(kw_log *log);

#ifdef __cplusplus
}
#endif
#endif /* KW_LOG_H */
