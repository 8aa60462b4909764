/* Requests for a group or transaction coordinator: found with FindCoordinator, cached, found again when it moves. */
#ifndef KW_NET_COORD_H
#define KW_NET_COORD_H

#include <stdint.h>

#include "net/cluster.h"

/*
 * The coordinator-level Kafka error of a decoded response (the top-level
 * error_code of JoinGroup, Heartbeat, EndTxn, ..., or the first partition's
 * for OffsetCommit / TxnOffsetCommit, whose errors are per partition).  NULL
 * kerr_of: the response has none worth a retry.
 */
typedef int16_t kw_coord_kerr_fn(const void *resp, int version);

/*
 * Sends one request to the coordinator of (key_type, key): KW_COORDINATOR_GROUP
 * with a group id, KW_COORDINATOR_TRANSACTION with a transactional id.
 *
 * The coordinator's node id is cached per key in the cluster.  When it is not
 * known, FindCoordinator asks any broker (COORDINATOR_NOT_AVAILABLE and
 * COORDINATOR_LOAD_IN_PROGRESS there wait and ask again).  When the answer's
 * kerr_of is COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE or
 * NOT_COORDINATOR, or the coordinator's connection fails before or under the
 * request, the cached node is forgotten and, after a backoff, the coordinator
 * is found again and the request built again (build may run several times;
 * each build gets the version negotiated with that node) and sent, until
 * deadline_ns.  A request that failed with its connection may have been
 * applied: only send what is safe to repeat (commits, joins, EndTxn are).
 *
 * done is called exactly once, later, on the loop thread: err 0 with the
 * decoded resp and kerr = kerr_of's answer (0 or an error the caller handles,
 * e.g. REBALANCE_IN_PROGRESS); or an error (KW_ETIMEDOUT, KW_EBROKER with kerr
 * when FindCoordinator or the last answer failed for good, e.g. an
 * authorization error, KW_ECLOSED when the cluster is freed) with detail.
 * Loop thread only.  Returns 0, or KW_EINVAL / KW_ENOMEM (done not called).
 */
int kw__coord_send(kw_cluster *cl, int8_t key_type, const char *key, int api_key,
                   kw_cluster_build_fn *build, void *build_arg, kw_coord_kerr_fn *kerr_of,
                   uint64_t deadline_ns, kw_cluster_done_fn *done, void *done_arg);

/* Forgets the cached coordinator of (key_type, key): the next call finds it again. */
void kw__coord_forget(kw_cluster *cl, int8_t key_type, const char *key);

/* Records node_id as the coordinator of (key_type, key), as if FindCoordinator had said so
 * (tests plant a stale one with it; a wrong node costs one NOT_COORDINATOR and a lookup). */
void kw__coord_remember(kw_cluster *cl, int8_t key_type, const char *key, int32_t node_id);

/* The cached coordinator of (key_type, key), or -1.  For logs and tests. */
int32_t kw__coord_cached(const kw_cluster *cl, int8_t key_type, const char *key);

/* kw__cluster_free: ends the coordinator calls waiting in backoff (KW_ECLOSED), frees the cache. */
void kw__coord_close(kw_cluster *cl);

#endif /* KW_NET_COORD_H */
