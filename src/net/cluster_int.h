/* The cluster's private state, shared by cluster.c (routing, metadata, retries) and
 * cluster_coalesce.c (Produce calls of one round sharing a request). */
#ifndef KW_NET_CLUSTER_INT_H
#define KW_NET_CLUSTER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "net/cluster.h"
#include "net/loop.h"
#include "proto/wire.h"

typedef struct broker {
    int32_t node_id; /* -1 for a bootstrap entry */
    char *host;
    uint16_t port;
    char *rack;
    kw_conn *conn;
    unsigned failures;    /* consecutive connects that never got READY */
    uint64_t next_try_ns; /* no new connection before this (backoff) */
    struct kw_cluster *cl;
    struct call **pend; /* coalesce_produce: Produce calls ready for this broker */
    size_t npend, cappend;
} broker;

typedef struct part_info {
    int32_t leader;
    int32_t epoch;
    int16_t err;
} part_info;

typedef struct topic_info {
    char *name;
    size_t len;    /* strlen(name) */
    uint64_t hash; /* kw__cl_name_hash(name) */
    bool followed; /* asked for in every Metadata request */
    bool known;    /* a Metadata response described it */
    uint64_t md_asked; /* the number of the latest Metadata request that asked for it */
    int16_t err;   /* topic-level error of that response */
    kw_uuid id;    /* its topic id (Metadata v10+); zero when unknown or the topic is gone */
    int32_t nparts;
    part_info *parts;
    /* While the topic has no usable leader: when its waiting calls look again.  Shared, not
     * one jittered backoff per call, so they wake together and go out in submission order. */
    uint64_t retry_at_ns;
} topic_info;

/* FNV-1a of a topic name: the key of the cluster's topic index and the coalescer's sets. */
static inline uint64_t kw__cl_name_hash(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

enum call_kind { CALL_PARTITION, CALL_ANY, CALL_REFRESH, CALL_NODE };
/* CS_PENDING: coalesce_produce, in its leader's pend list until the round's flush. */
enum call_state { CS_WAIT, CS_SENT, CS_PENDING };

typedef struct call {
    struct call *next, *prev;
    struct kw_cluster *cl;
    int kind, state;
    int api_key;
    char *topic;
    int32_t partition;
    kw_uuid topic_id; /* Fetch: the id of the last attempt (zero: none yet, or sent by name) */
    kw_cluster_build_fn *build;
    void *build_arg;
    kw_cluster_done_fn *done;
    void *done_arg;
    uint64_t deadline_ns;
    uint64_t not_before_ns; /* backoff before the next attempt */
    uint64_t md_want;       /* wait for the Metadata response with this sequence number */
    unsigned attempts, refreshes, retries;
    int32_t node_id;     /* the broker of the request in flight */
    int32_t target;      /* CALL_NODE: the one broker it goes to */
    kw_conn *conn;       /* CS_SENT: the connection it went out on (read only while it answers) */
    int32_t epoch;       /* CS_PENDING: the leader epoch to build with */
    broker *pend_broker; /* CS_PENDING: whose pend list holds it */
    int16_t last_kerr;
    int last_err;
    bool coalesce; /* a Produce that may share a request although coalesce_produce is off */
    char detail[384];
    kw_loop_timer timer;
} call;

struct kw_cluster {
    kw_loop *loop;
    kw_cluster_options opt;
    char *client_id;
    kw_sasl_config sasl;
    broker *bootstrap;
    size_t nbootstrap;
    size_t bs_next; /* the bootstrap entry to try next */
    broker **nodes; /* by node id order of arrival; NULL slots never */
    size_t nnodes, capnodes;
    topic_info *topics;
    size_t ntopics, captopics;
    /* topic_find's index: open addressing over topics' positions + 1 (0: empty), a power of
     * two at least twice ntopics; topics are never removed, so it only grows. */
    uint32_t *topic_idx;
    size_t cap_idx;
    int32_t controller_id;
    /* Metadata: one request in flight at a time, numbered. */
    bool md_inflight;
    uint64_t md_seq_sent, md_seq_done, md_ok;
    unsigned md_failures;
    uint64_t md_next_ns;
    call *calls, *calls_tail; /* oldest first, so waiting calls go out in submission order */
    kw_loop_timer kick;
    uint64_t kick_at;
    kw_loop_timer flush; /* coalesce_produce: sends the round's pending Produce calls */
    uint64_t coalesced_requests, coalesced_calls;
    uint64_t produce_requests; /* atomic: read from other threads (WAL stats) */
    uint64_t rng;
    bool closing;
    char errstr[256];
    struct kw_coord_state *coord; /* coord.c: known coordinators and calls in backoff (NULL none) */
};

/* cluster.c */
void kw__cl_kick(kw_cluster *cl);
uint64_t kw__cl_now_ns(kw_cluster *cl);
/* The n-th (from 0) backoff wait of the cluster's options, with jitter, in ns. */
uint64_t kw__cl_backoff_ns(kw_cluster *cl, unsigned n);
void kw__cl_call_send(call *k, broker *b, int32_t epoch);
void kw__cl_call_fail(call *k, int err, int16_t kerr);
void kw__cl_call_retry(call *k, bool refresh);
/* The connection failed under a sent call: retry it, or time it out. */
void kw__cl_call_conn_failed(call *k, int err);
/* A decoded answer to a sent call: retry a retriable partition error, else end the call. */
void kw__cl_call_answered(call *k, int version, const uint8_t *frame, size_t len, const void *resp);

/* cluster_coalesce.c */
/* Puts a ready Produce call in b's list for this round's flush; false: send it now. */
bool kw__cl_pend_add(broker *b, call *k, int32_t epoch);
/* Takes a CS_PENDING call out of its broker's list (any call: a no-op when not pending). */
void kw__cl_pend_remove(call *k);
/* Forgets b's pending calls (back to waiting) and frees the list. */
void kw__cl_pend_drop(broker *b);
/* The cluster's flush timer: sends each broker's pending calls. */
void kw__cl_on_flush(kw_loop_timer *t, void *arg);

#endif /* KW_NET_CLUSTER_INT_H */
