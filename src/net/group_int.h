/* What the group's files share: the member, its partition table, and the loop-side state machine's entry points. */
#ifndef KW_NET_GROUP_INT_H
#define KW_NET_GROUP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kwal/group.h"
#include "net/client_int.h"
#include "net/group_assign.h"
#include "proto/msg_group.h"
#include "proto/wire.h"

/*
 * Who owns what.  Fields marked (loop) belong to the client's loop thread
 * (the state machine in group_classic.c).  Fields marked (mu) are shared
 * with the consumer's poll thread (the hook in group.c) and the public
 * calls, under g->mu.  Lock order: g->mu, then the consumer's mutex.
 *
 * Lifetime.  refs counts the user's handle, every request and posted task
 * in flight; the last release frees the group (group.c, kw__group_unref).
 */

/* One partition the member owns, is giving up, or that the consumer still reads. */
typedef struct kw__group_part {
    char *topic;
    int32_t partition;
    bool owned;       /* (mu; loop writes) the member owns it in generation g->generation */
    bool want;        /* (mu; loop writes) the consumer should read it (start known, owned) */
    bool start_known; /* (mu; loop writes) the committed offset was fetched */
    bool fetching;    /* (loop) an OffsetFetch for it is out */
    int64_t start;    /* (mu) the committed offset to start at; -1: the reset policy */
    bool in_consumer; /* (mu; poll thread writes) assigned to the consumer */
    int64_t position; /* (mu) the consumer's position at the start of the last poll; -1 */
    int64_t committed; /* (mu) the last offset this member committed for it; -1 */
} kw__group_part;

enum kw__group_state {
    KW__GROUP_IDLE = 0,     /* not in the group, nothing out (before the start task) */
    KW__GROUP_JOINING,      /* JoinGroup out */
    KW__GROUP_ASSIGNING,    /* leader: metadata refreshes out, then the assignor */
    KW__GROUP_SYNCING,      /* SyncGroup out */
    KW__GROUP_STABLE,       /* in the group; heartbeats */
    KW__GROUP_REVOKING,     /* giving partitions up: waiting for the poll thread or the commit */
    KW__GROUP_POLL_EXPIRED, /* left because the host stopped polling: rejoins at the next poll */
    KW__GROUP_CLOSING,      /* commit / LeaveGroup of kw_group_close out */
    KW__GROUP_CLOSED,
    KW__GROUP_FATAL,
};

/* What to do once a revocation is complete. */
enum kw__group_after {
    KW__GROUP_AFTER_NOTHING = 0,
    KW__GROUP_AFTER_REJOIN,
    KW__GROUP_AFTER_LEAVE,
    KW__GROUP_AFTER_ACK, /* KIP-848: tell the coordinator at once (heartbeat with the owned set) */
};

struct kw_group {
    kw_client *client;
    kw_consumer *consumer; /* NULL: no hookup */
    /* Options, copied. */
    char *group_id, *instance_id, *rack;
    char **topics;
    size_t ntopics;
    const kw__assignor **assignors;
    size_t nassignors;
    bool cooperative; /* every assignor is cooperative: incremental rebalances */
    bool kip848;      /* the CONSUMER protocol (group_consumer.c) */
    char *server_assignor;
    char *topic_regex; /* KIP-848: SubscribedTopicRegex, or NULL */
    uint32_t session_ms, heartbeat_ms, max_poll_ms, commit_ms, timeout_ms;
    bool auto_commit;
    int reset;
    kw_group_event_cb *on_event;
    void *event_arg;
    kw_log_fn *log;
    void *log_arg;

    pthread_mutex_t mu;
    pthread_cond_t cond; /* close_done */
    /* (mu) */
    unsigned refs;
    kw__group_part *parts;
    size_t nparts, capparts;
    bool revoke_wait;  /* the loop waits for the poll thread to drop the partitions !want */
    bool poll_rejoin;  /* POLL_EXPIRED: the next poll asks the loop to join again */
    bool hook_off;     /* close: the poll hook does nothing more */
    bool close_done;
    int close_result;
    bool destroyed;
    /* Snapshot for kw_group_info_get (mu). */
    int32_t info_generation;
    char *info_member_id;
    char *info_protocol;
    bool info_leader, info_stable;
    uint64_t rebalances;
    atomic_uint_fast64_t last_poll_ns;
    /* When the session ends unless a heartbeat is accepted first; 0 while not in the group.
     * The loop writes it, the poll hook reads it: a member whose loop stalled (a paused
     * process, a stopped host-driven loop) hands out no records once its session is over. */
    atomic_uint_fast64_t session_deadline_ns;

    /* (loop) */
    int state; /* enum kw__group_state */
    uint64_t epoch; /* bumped whenever answers in flight become stale */
    int32_t generation;
    char *member_id;
    char *protocol_name;
    char *leader_id;
    bool leader;
    bool rejoin_asked; /* a rejoin is due once the current step ends */
    int after;         /* enum kw__group_after: what the revocation in progress leads to */
    kw_group_partition *revoking; /* the partitions being given up (owned strings) */
    size_t nrevoking;
    unsigned commits_out; /* OffsetCommits of the member out (any epoch) */
    bool revoke_polling;  /* REVOKING: waiting for the poll thread (kw__group_revoke_applied) */
    char *leave_member_id; /* the id a LeaveGroup being sent names */
    int close_err;    /* the close's commit error, for kw_group_close */
    bool hb_out;
    uint64_t hb_seq, hb_epoch; /* the heartbeat out, and the epoch it was sent in */
    uint64_t last_hb_ok_ns; /* the last heartbeat (or sync) the coordinator accepted */
    uint64_t next_hb_ns, next_commit_ns;
    uint64_t backoff_until_ns;
    unsigned join_failures;
    kw_loop_timer tick;
    bool timer_init;
    /* The leader's work: the members of the last JoinGroup answer, copied. */
    kw_arena join_arena;
    kw__assign_member *members;
    size_t nmembers;
    int16_t min_sub_version;
    unsigned refresh_out;
    /* The leader's view of the subscribed topics at its last assignment: a partition count that
     * changes (a topic created or grown) starts a rebalance, as Java's leader does. */
    char **watch_topics;
    int32_t *watch_counts;
    size_t nwatch;
    unsigned watch_out;
    uint64_t next_watch_ns;
    /* KIP-848 (loop): topic ids of the subscribed topics, the target assignment the broker
     * gave last (by topic id), and what the next heartbeat must carry. */
    struct kw__group_topic_id *tids;
    size_t ntids;
    struct kw__group_target *target;
    size_t ntarget;
    bool target_pending; /* a target not reconciled yet (ids unknown, or a revocation first) */
    bool send_full;      /* join: subscription, assignor, owned (empty) */
    bool send_owned;     /* the owned set changed since the last heartbeat that carried it */
    bool send_topics;    /* the subscription changed (kw_group_subscribe): the next heartbeat says so */
    bool ids_out;        /* a Metadata request for topic ids is out */
    bool regex_refused;  /* the broker's ConsumerGroupHeartbeat is v0: no SubscribedTopicRegex */
    uint32_t server_hb_ms;
    void *cg_req;        /* the ConsumerGroupHeartbeat being built (kw_consumer_group_heartbeat_req) */
    void *cg_mem;        /* its arrays */
    /* The request being built (JoinGroup / SyncGroup / Heartbeat / LeaveGroup). */
    kw_wr *proto_meta; /* one encoded subscription per assignor */
    kw_join_group_req_protocol *protos;
    kw_join_group_req join_req;
    kw_sync_group_req sync_req;
    kw_sync_group_req_assignment *sync_assign;
    size_t nsync_assign;
    kw_wr *sync_bytes;
    kw_heartbeat_req hb_req;
    kw_leave_group_req leave_req;
    kw_leave_group_req_member leave_member;
    /* Offsets of a commit in flight. */
    kw_client_committed *commit_parts;
    size_t ncommit_parts;
};

/* ---- group.c ---- */

/* Takes / drops a reference (any thread); the last drop frees the group. */
void kw__group_ref(kw_group *g);
void kw__group_unref(kw_group *g);
void kw__group_log(kw_group *g, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* mu held: the entry for (topic, partition), or NULL; _add creates it (NULL: no memory). */
kw__group_part *kw__group_part_find(kw_group *g, const char *topic, int32_t partition);
kw__group_part *kw__group_part_add(kw_group *g, const char *topic, int32_t partition);
/* mu held: drops entries nobody needs any more (not owned, not in the consumer). */
void kw__group_parts_compact(kw_group *g);
/* Loop thread: refreshes the snapshot kw_group_info_get reads. */
void kw__group_publish(kw_group *g);
/* Loop thread: tells the closing caller that the close finished with err. */
void kw__group_close_finish(kw_group *g, int err);

/* ---- group_classic.c and group_join.c: the loop side ---- */

/* One request or call of the member in flight; holds a reference to the group. */
typedef struct kw__group_req {
    kw_group *g;
    uint64_t epoch;
    kw_client_committed *offs; /* commit / fetch: what was sent (owned strings) */
    size_t n;
    bool revoke; /* commit: the revocation's; leave: the close's */
    uint64_t seq; /* heartbeat: its number */
    unsigned flags; /* ConsumerGroupHeartbeat: what it carries (group_consumer.c) */
} kw__group_req;

kw__group_req *kw__group_req_new(kw_group *g);
void kw__group_req_free(kw__group_req *r);
/* The answer belongs to the current step (and the member is still running). */
bool kw__group_req_current(const kw__group_req *r);
uint64_t kw__group_now_ns(kw_group *g);
kw_cluster *kw__group_cluster(kw_group *g);
void kw__group_wake_consumer(kw_group *g);
/* A NUL-terminated copy of s ("" for null); NULL without memory. */
char *kw__group_str_copy(kw_str s);
/* Replaces *dst with src (freeing the old one); src NULL (no memory) keeps the old value. */
void kw__group_set_str(char **dst, char *src);
/* Calls the event callback (when set) with the member's generation and id. */
void kw__group_emit(kw_group *g, int kind, const kw_group_partition *v, size_t n, int err,
                    int16_t kerr, const char *detail);
/* qsort order of kw_group_partition: topic, then partition. */
int kw__group_part_cmp(const void *a, const void *b);
void kw__group_list_free(kw_group_partition *v, size_t n);
/* mu held: the owned partitions, copied and sorted (*n 0 when none). */
kw_group_partition *kw__group_owned_list(kw_group *g, size_t *n);
/* Every partition owned or being revoked is lost (LOST); answers in flight become stale. */
void kw__group_lose_all(kw_group *g, const char *why);
/* lose_all, then FATAL: the member stops. */
void kw__group_fatal(kw_group *g, int err, int16_t kerr, const char *detail);
/* A step failed in a way worth retrying: join again after a growing backoff. */
void kw__group_retry_later(kw_group *g, const char *what, int err, int16_t kerr,
                           const char *detail);
/* Gives up v (owned strings, taken): the consumer drops them, positions are committed, REVOKED;
 * then `after` (enum kw__group_after). */
void kw__group_revoke_start(kw_group *g, kw_group_partition *v, size_t n, int after);
/* A rebalance is under way: cooperative members rejoin with what they own, eager ones revoke all. */
void kw__group_rejoin(kw_group *g, const char *why);
/* OffsetFetch for owned partitions whose start the consumer does not have yet. */
void kw__group_fetch_starts(kw_group *g);
/* Sends LeaveGroup (dynamic members); finish_close: the last step of kw_group_close. */
void kw__group_leave(kw_group *g, bool finish_close);
/* group_join.c: JoinGroup (with the subscription), then the leader's assignment and SyncGroup. */
void kw__group_join(kw_group *g);
/* group_consumer.c (KIP-848): the first heartbeat (epoch 0); the heartbeat the tick sends; the
 * acknowledgement after a revocation; leaving (epoch -1 / -2); freeing its state. */
void kw__group_cg_join(kw_group *g);
void kw__group_cg_heartbeat(kw_group *g);
void kw__group_cg_ack(kw_group *g);
void kw__group_cg_leave(kw_group *g, bool finish_close);
void kw__group_cg_free(kw_group *g);
/* The subscription changed: forget the topic ids, send the new list with the next heartbeat. */
void kw__group_cg_resubscribe(kw_group *g);
/* group_classic.c: the loop side of kw_group_subscribe (takes topics, n entries). */
void kw__group_resubscribe(kw_group *g, char **topics, size_t n);

/* The leader, every few seconds while stable: refreshes the subscribed topics' metadata and
 * rejoins when a partition count differs from the last assignment's. */
void kw__group_watch(kw_group *g);
/* Frees the leader's watch list. */
void kw__group_watch_free(kw_group *g);

/* Loop thread, once: starts joining. */
void kw__group_start(kw_group *g);
/* Loop thread: the poll thread dropped the partitions a revocation waits for. */
void kw__group_revoke_applied(kw_group *g);
/* Loop thread: the host polled again after the member left for a poll timeout. */
void kw__group_poll_resumed(kw_group *g);
/* Loop thread: the orderly leave of kw_group_close (commit owned, REVOKED, LeaveGroup). */
void kw__group_close_start(kw_group *g, bool wait_commit);

#endif /* KW_NET_GROUP_INT_H */
