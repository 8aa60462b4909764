/* The cluster on top of kw_conn: bootstrap, metadata cache, broker pool, leader-routed calls with retries. */
#ifndef KW_NET_CLUSTER_H
#define KW_NET_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/conn.h"

/*
 * Threading: loop-thread only, like kw_conn.  Callbacks never run from inside
 * the kw__cluster_* call that started the work (retries and wake-ups go
 * through loop timers), except kw__cluster_free, which fails every call with
 * KW_ECLOSED before it returns.  Do not call kw__cluster_free from a callback.
 */
typedef struct kw_cluster kw_cluster;

/* Zero means default. */
typedef struct kw_cluster_options {
    const char *bootstrap; /* "host:port,host:port": tried in order, an unreachable one skipped */
    /* Template for every connection: client_id, timeouts, tls, sasl, limits, log.  host, port,
     * on_state and state_arg are the cluster's own and are ignored here.  tls and sasl are
     * used for every later connection, so they must outlive the cluster. */
    kw_conn_options conn;
    uint32_t backoff_ms;     /* 100: first wait between attempts (reconnect, retry, refresh) */
    uint32_t backoff_max_ms; /* 2000: the doubling stops here; +-20% jitter on every wait */
    /*
     * Produce calls (kw__cluster_send_partition) that become ready for the same
     * broker in one loop round go out as one Produce request: one partition per
     * call, never two calls for the same partition in one request (those go in
     * the next), same acks and no transactional id.  Each call still ends on
     * its own, with its partition's part of the response; a lost connection or
     * a retriable error retries each call alone.  The broker's cost is mostly
     * per request, so many topics' batches share one.
     */
    bool coalesce_produce;
    /*
     * 0: off.  Else one attempt of a Produce call waits at most this long for
     * its answer (never past the call's deadline): then the connection is
     * closed (its stream cannot skip the answer) and the call is retried on a
     * new one, so a connection gone silent costs this, not the deadline.
     */
    uint32_t produce_attempt_ms;
} kw_cluster_options;

int kw__cluster_new(kw_cluster **out, kw_loop *loop, const kw_cluster_options *opt);
/* Fails every unfinished call with KW_ECLOSED (callbacks run now), closes every connection. */
void kw__cluster_free(kw_cluster *cl);
/* Detail of the last failure (bad bootstrap list, ...); "" if none. */
const char *kw__cluster_errstr(const kw_cluster *cl);

/*
 * How a call ends.  err: 0; KW_EBROKER with kerr set (a non-retriable
 * partition-level Kafka error, or a retriable one still there at the
 * deadline); KW_ETIMEDOUT (deadline passed; detail says what was being waited
 * for and kerr the last Kafka error seen, if any); KW_ECLOSED (cluster freed);
 * or an encoding / version error from kw__conn_send.  resp is the decoded
 * response (the api's kw_*_resp struct) when one arrived, else NULL; it, frame
 * and detail are valid only during the callback.  node_id is the broker that
 * answered (-1 none), conn the connection the frame arrived on (NULL when no
 * frame), for kw__conn_take_frame during the callback.
 */
typedef struct kw_cluster_result {
    int err;
    int16_t kerr;
    int version;
    int32_t node_id;
    const void *resp;
    const uint8_t *frame;
    size_t frame_len;
    kw_conn *conn;
    const char *detail;
    unsigned attempts;
} kw_cluster_result;
typedef void kw_cluster_done_fn(const kw_cluster_result *res, void *arg);

/*
 * Builds the request for one attempt: the version negotiated with the chosen
 * broker and, for partition calls, the leader epoch the cache holds (-1 when
 * unknown; put it in current_leader_epoch so a stale leader is caught).  Set
 * *req to a struct that stays valid until the next build call or the done
 * callback (usually one inside arg).  Return 0 or a negative error, which ends
 * the call with that error.  A Produce's record batches must stay valid and
 * unchanged until the done callback: the connection writes them from where
 * they are (kw__conn_send), and a call is built again only after the
 * previous attempt's connection callback has run.
 *
 * Why a callback and not a ready struct: the leader (so the negotiated
 * version) and its epoch can change between attempts, and version-dependent
 * fields (kw__schema_init defaults) must follow.
 */
typedef int kw_cluster_build_fn(void *arg, int version, int32_t leader_epoch, const void **req);

/*
 * A request for one partition's leader: Produce, Fetch, ListOffsets,
 * DeleteRecords (the cluster decodes the response to find that partition's
 * error code, so only these four keys are accepted: KW_EINVAL otherwise).
 * Finds the leader (refreshing metadata as needed), sends, and on a retriable
 * Kafka error or a lost connection refreshes metadata (for 3, 5, 6, 74, 75 and
 * connection loss), waits with backoff and retries until deadline_ns
 * (absolute CLOCK_MONOTONIC).  A non-retriable error ends the call at once.
 * An unknown topic is retriable (it may be being created), so it ends at the
 * deadline with KW_EBROKER, kerr 3, after as many refreshes as fit.
 *
 * Calls still waiting (not sent) when a connection fails authentication or
 * TLS end at once with KW_ESASL / KW_ETLS and the connection's detail: every
 * connection shares those settings, so waiting for the deadline would only
 * repeat the failure.  Waiting calls are sent oldest first.
 *
 * Durability: a Produce that failed with a connection error may have been
 * written; retrying it can duplicate records unless the batch is idempotent.
 * Returns 0 (done is then called exactly once, later) or KW_EINVAL / KW_ENOMEM.
 */
int kw__cluster_send_partition(kw_cluster *cl, int api_key, const char *topic, int32_t partition,
                               kw_cluster_build_fn *build, void *build_arg, uint64_t deadline_ns,
                               kw_cluster_done_fn *done, void *done_arg);

/*
 * kw__cluster_send_partition for a Produce that shares a request with the
 * other coalescable Produce calls ready for its broker in the same round,
 * whatever coalesce_produce says: a WAL on a host's client (which does not
 * coalesce the host's own produce calls) still packs its topics' batches.
 */
int kw__cluster_send_produce_coalesced(kw_cluster *cl, const char *topic, int32_t partition,
                                       kw_cluster_build_fn *build, void *build_arg,
                                       uint64_t deadline_ns, kw_cluster_done_fn *done,
                                       void *done_arg);

/*
 * A request any broker can answer (Metadata, CreateTopics/DeleteTopics — in
 * KRaft any broker forwards them to the controller — DescribeConfigs, ...).
 * Retries on connection errors only; Kafka errors in the response are the
 * caller's to read (err 0, kerr 0).  leader_epoch passed to build is -1.
 */
int kw__cluster_send_any(kw_cluster *cl, int api_key, kw_cluster_build_fn *build, void *build_arg,
                         uint64_t deadline_ns, kw_cluster_done_fn *done, void *done_arg);

/*
 * A request for one broker, node_id (a group or transaction coordinator).
 * Connects to it as needed (a node the metadata cache does not know yet costs
 * one refresh; still unknown ends the call with KW_ENOTFOUND).  No retry: a
 * connection that fails before or under the request ends the call with its
 * error, so the caller can find where to go instead (see net/coord.h).
 * Kafka errors in the response are the caller's to read.
 */
int kw__cluster_send_node(kw_cluster *cl, int32_t node_id, int api_key,
                          kw_cluster_build_fn *build, void *build_arg, uint64_t deadline_ns,
                          kw_cluster_done_fn *done, void *done_arg);

/*
 * Adds topic (may be NULL: brokers only) to the topics the cache follows and
 * completes after a Metadata response requested after this call has been
 * applied (res->resp is NULL; err 0, or KW_ETIMEDOUT).
 */
int kw__cluster_refresh(kw_cluster *cl, const char *topic, uint64_t deadline_ns,
                        kw_cluster_done_fn *done, void *done_arg);

/* ---- the metadata cache, as last seen (all NULL/-1/KW_ENOTFOUND when unknown) ---- */

typedef struct kw_cluster_broker {
    int32_t node_id;
    const char *host;
    uint16_t port;
    const char *rack; /* NULL when none */
} kw_cluster_broker;

/* The broker with node_id: 0 and *out filled (pointers valid until the next refresh), or KW_ENOTFOUND. */
int kw__cluster_broker(const kw_cluster *cl, int32_t node_id, kw_cluster_broker *out);
size_t kw__cluster_broker_count(const kw_cluster *cl);
int32_t kw__cluster_controller_id(const kw_cluster *cl);
/* Partitions of topic, or -1 when the cache does not know it; *kerr (may be NULL) the topic error. */
int32_t kw__cluster_partition_count(const kw_cluster *cl, const char *topic, int16_t *kerr);
/* 0 with the leader id (-1: none) and epoch, or KW_ENOTFOUND. */
int kw__cluster_leader(const kw_cluster *cl, const char *topic, int32_t partition,
                       int32_t *leader_id, int32_t *leader_epoch);
/*
 * The topic id the cache holds for topic (Metadata v10+): 0 and *id, or
 * KW_ENOTFOUND with *id zero (not known, gone, or a broker without ids).
 * Fetch builders put it in the request from v13; the cluster passes a Fetch
 * build v12 (names) when the cache has no id, and ends a Fetch call with
 * KW_ENOTFOUND, kerr UNKNOWN_TOPIC_ID, when the id changed between its
 * attempts (the topic was deleted and created again under the same name).
 */
int kw__cluster_topic_id(const kw_cluster *cl, const char *topic, kw_uuid *id);
/* The name of the topic with this id in the cache (valid until the next refresh), or NULL. */
const char *kw__cluster_topic_name(const kw_cluster *cl, kw_uuid id);
/* Successful Metadata responses applied so far. */
uint64_t kw__cluster_refresh_count(const kw_cluster *cl);
/*
 * Loop thread: turns coalesce_produce on for this cluster from now on (the
 * record-level producer asks for it; every Produce call still ends on its own).
 */
void kw__cluster_coalesce_produce(kw_cluster *cl);
/* Loop thread: sets produce_attempt_ms (the smallest asked for wins; 0 is ignored). */
void kw__cluster_produce_attempt(kw_cluster *cl, uint32_t ms);
/* The deadline of one attempt of a call ending at deadline_ns (the loop's clock). */
uint64_t kw__cluster_attempt_deadline(kw_cluster *cl, int api_key, uint64_t deadline_ns);
/* coalesce_produce: Produce requests sent carrying more than one call, and the calls they carried. */
void kw__cluster_coalesced(const kw_cluster *cl, uint64_t *requests, uint64_t *calls);
/* Produce requests sent (each attempt counts; a coalesced one once).  Any thread may read it. */
uint64_t kw__cluster_produce_requests(const kw_cluster *cl);

#endif /* KW_NET_CLUSTER_H */
