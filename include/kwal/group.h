/* kwal's consumer-group membership: join a group, get partitions assigned, commit offsets as a member. */
#ifndef KW_GROUP_H
#define KW_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwal/client.h"
#include "kwal/consumer.h"
#include "kwal/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A kw_group is one member of a Kafka consumer group, on a kw_client.  It
 * joins the group named by group_id subscribed to `topics`, gets a share of
 * their partitions, keeps that share with heartbeats and gives partitions up
 * when the group rebalances (a member joins, leaves or dies, or a topic
 * grows).  Its offsets are committed as the member (member id plus
 * generation), so a member that lost its place cannot overwrite the new
 * owner's commits.
 *
 * Protocol.  KW_GROUP_PROTOCOL_CLASSIC (the default) is JoinGroup /
 * SyncGroup / Heartbeat / LeaveGroup with the assignment computed by the
 * group's leader member (any member; Java consumers included) with one of
 * the client-side assignors: "cooperative-sticky" (the default),
 * "range" or "roundrobin".  When every assignor in the list is cooperative
 * (cooperative-sticky is), rebalances are incremental (KIP-429): a member
 * keeps the partitions that do not move and gives up only those that do,
 * then rejoins at once so they are handed out in a second round.
 * Otherwise (eager) every member gives up everything before each rejoin,
 * as Java does for a list that mixes both kinds.
 * KW_GROUP_PROTOCOL_CONSUMER (KIP-848, Kafka 4.x brokers) is one
 * ConsumerGroupHeartbeat loop: the broker computes the assignment (its
 * assignor "uniform" or "range": options.server_assignor), the events carry
 * the member epoch as their generation, a partition moves only once its
 * owner acknowledged giving it up (the next heartbeat after REVOKED lists
 * what it owns), session and heartbeat interval are the broker's settings
 * (group.consumer.*: session_timeout_ms and heartbeat_interval_ms only pace
 * the member's own checks), and assignors, rebalance callbacks and commits
 * work as with the classic protocol.
 *
 * Consumer hookup.  With options.consumer set, the group drives that
 * kw_consumer: partitions assigned to the member are added to it (at the
 * group's committed offset, else where options.reset says) and partitions
 * given up are removed from it.  Those changes are made by kw_consumer_poll,
 * on the poll thread, at its start (so records of a partition the member no
 * longer owns are never handed out after it gave it up); the consumer must
 * not be assigned other partitions of the subscribed topics by hand.  The
 * offsets committed are the consumer's positions at the start of a poll: every
 * record returned by the polls before it counts as consumed (the next offset
 * to read is committed, Java's convention).  A revoked partition's position
 * is committed before the member rejoins (unless auto-commit is off).  A
 * member whose host stops calling kw_consumer_poll for max_poll_interval_ms
 * leaves the group (its partitions are lost) and joins again at its next poll.
 * A member whose session ran out without an accepted heartbeat (a stopped
 * process or loop, an unreachable coordinator) hands out no more records of
 * its partitions from its next poll on, before the loop reports them LOST.
 *
 * Without a consumer the member only reports: it counts a revocation done
 * when the callback returns, and commits what kw_group_commit is given.
 *
 * Threads.  The membership runs on the client's loop thread (the I/O thread,
 * or host-driven whoever runs the loop).  The callback runs there: it may
 * call kw_group_info_get, kw_group_subscribe and async client calls, but no
 * blocking call (kw_group_commit, kw_group_close, the client's blocking
 * forms: they return KW_EDEADLK there) and never kw_group_destroy.  The
 * other functions may be called from any thread; with a consumer, call
 * kw_group_close and kw_group_destroy from the consumer's poll thread (or
 * while no poll runs).  Once kw_group_close or kw_group_destroy returned
 * (outside a callback) no event runs any more.  Destroy the group before
 * its consumer and its client.
 */
typedef struct kw_group kw_group;

enum kw_group_protocol {
    KW_GROUP_PROTOCOL_CLASSIC = 0,
    KW_GROUP_PROTOCOL_CONSUMER = 1, /* KIP-848: the broker assigns (ConsumerGroupHeartbeat) */
};

/* Where a partition with no committed offset starts (the consumer hookup). */
enum kw_group_reset {
    KW_GROUP_RESET_LATEST = 0,   /* the end: only records written later (Java's default) */
    KW_GROUP_RESET_EARLIEST = 1, /* the log start */
    /* Nothing (auto.offset.reset=none, as XTDB sets it): poll reports the partition as a
     * kw_consumer_error (err KW_ENOTFOUND, "no committed offset") and reads nothing of it
     * until kw_consumer_seek says where to start. */
    KW_GROUP_RESET_NONE = 2,
};

enum kw_group_event_kind {
    /* Partitions are now this member's, from generation on.  With a consumer they are added
     * to it at the committed offsets after this callback returns. */
    KW_GROUP_ASSIGNED = 1,
    /* Partitions given up in an orderly rebalance: with a consumer, it stopped handing out
     * their records and their positions were committed (auto-commit) before this callback. */
    KW_GROUP_REVOKED = 2,
    /* Partitions lost: the member's session expired, it was fenced (ILLEGAL_GENERATION,
     * UNKNOWN_MEMBER_ID) or it stopped polling.  Another member may own them already;
     * nothing was committed for them.  The member joins again. */
    KW_GROUP_LOST = 3,
    /* The member cannot go on (err, kerr, detail): FENCED_INSTANCE_ID (another process uses
     * the same group_instance_id: err KW_EFENCED), INCONSISTENT_GROUP_PROTOCOL, an
     * authorization failure.  Its partitions were reported lost first.  No more events. */
    KW_GROUP_FATAL = 4,
};

typedef struct kw_group_partition {
    const char *topic;
    int32_t partition;
} kw_group_partition;

/* What a callback gets; valid during the call only. */
typedef struct kw_group_event {
    int kind;           /* enum kw_group_event_kind */
    int32_t generation; /* the group generation the event belongs to (-1 none) */
    const char *member_id;
    const kw_group_partition *partitions; /* in topic, partition order */
    size_t count;
    int err;            /* KW_GROUP_FATAL: the error; else 0 */
    int16_t kerr;
    const char *detail; /* KW_GROUP_FATAL: what happened; else "" */
} kw_group_event;

/* Loop thread; see Threads for what it may call. */
typedef void kw_group_event_cb(void *arg, const kw_group_event *ev);

/* Zero means default for every field; strings and arrays are copied by kw_group_new. */
typedef struct kw_group_options {
    const char *group_id;      /* required, non-empty */
    const char *const *topics; /* required: at least one topic (unless topic_regex) */
    size_t topic_count;
    /*
     * CONSUMER protocol only: also subscribe to every topic whose name matches this
     * regular expression, matched by the broker (RE2/J syntax, the whole name: "orders-.*";
     * Kafka 4.0+, ConsumerGroupHeartbeat v1 SubscribedTopicRegex).  Topics created later
     * that match are assigned as the broker notices them (it re-evaluates regexes every
     * group.consumer.regex.refresh.interval.ms, 10 min by default, and when the group
     * changes).  With it, topics may be empty.  NULL: none.  With the CLASSIC protocol
     * kw_group_new returns KW_EUNSUPPORTED; a broker whose ConsumerGroupHeartbeat is v0
     * (Kafka 3.7-3.9) gets a FATAL event, err KW_EUNSUPPORTED, detail naming the regex.
     */
    const char *topic_regex;
    /*
     * Assignors in preference order, by Java's names: "cooperative-sticky", "range",
     * "roundrobin".  Default { "cooperative-sticky" }: it keeps partitions where they are
     * across rebalances and never stops the partitions that do not move (XTDB uses it), and
     * a Java 4.x consumer with its default list (range, cooperative-sticky) agrees on it.
     * Adding "range" would make every rebalance eager, as in Java.
     */
    const char *const *assignors;
    size_t assignor_count;
    uint32_t session_timeout_ms;    /* 45000 */
    uint32_t heartbeat_interval_ms; /* 3000; must be below session_timeout_ms */
    /* 300000: the rebalance timeout sent in JoinGroup, and with a consumer the longest gap
     * between two polls before the member leaves the group (max.poll.interval.ms). */
    uint32_t max_poll_interval_ms;
    /* Static membership (group.instance.id): a member that comes back within the session
     * timeout keeps its partitions without a rebalance.  Classic: it sends no LeaveGroup on
     * close.  KIP-848: the id goes in every ConsumerGroupHeartbeat (InstanceId) and the
     * close is a heartbeat with member epoch -2, which keeps its partitions for it; the
     * process that comes back with the same id takes the member's place and epoch. */
    const char *group_instance_id;
    int protocol; /* enum kw_group_protocol */
    /* CONSUMER protocol: the broker's assignor ("uniform", "range"); NULL: the broker's
     * default.  `assignors` is for the CLASSIC protocol only. */
    const char *server_assignor;
    bool disable_auto_commit;
    uint32_t auto_commit_interval_ms; /* 5000 */
    const char *rack;                 /* client.rack, sent in the subscription; NULL none */
    /* The consumer the group drives (see Consumer hookup); NULL none. */
    kw_consumer *consumer;
    int reset;           /* enum kw_group_reset */
    uint32_t timeout_ms; /* 0: the client's request timeout; commits, fetches and LeaveGroup */
    kw_group_event_cb *on_event; /* NULL: no events */
    void *event_arg;
    /* NULL: the client's log.  Called on the loop thread. */
    kw_log_fn *log;
    void *log_arg;
} kw_group_options;

/*
 * Creates the member and starts joining (asynchronously: kw_group_new does
 * not wait for the group).  Returns 0, KW_EINVAL (a missing or empty
 * group_id, no topics, an empty topic name, an unknown assignor, a heartbeat
 * interval not below the session timeout: errbuf, when not NULL, names the
 * option), KW_EUNSUPPORTED (topic_regex with the CLASSIC protocol), KW_ENOMEM
 * or KW_ECLOSED.  A broker without the CONSUMER protocol is reported later, as
 * a FATAL event (err KW_EUNSUPPORTED; or KW_EBROKER, kerr UNSUPPORTED_VERSION,
 * when the broker has the API but not the feature enabled).
 * A consumer can be driven by one group at a time (KW_EEXISTS).
 */
KW_API int kw_group_new(kw_group **out, kw_client *client, const kw_group_options *opts,
                        char *errbuf, size_t errlen);

/*
 * Leaves the group in order: with a consumer its partitions are removed and
 * their positions committed (auto-commit), the REVOKED event runs, and a
 * dynamic member sends LeaveGroup (a static one does not, as in Java: its
 * partitions wait for it until the session timeout).  Waits up to
 * timeout_ms (0: the group's timeout) for the commit and the LeaveGroup.
 * Returns 0, KW_ETIMEDOUT, KW_EDEADLK (called on the loop thread) or the
 * commit's error; the member is out of the group afterwards either way.
 */
KW_API int kw_group_close(kw_group *g, uint32_t timeout_ms);

/*
 * Frees the member; one that was not closed leaves like kw_group_close
 * without waiting (LeaveGroup is sent, nothing is committed).  NULL is fine.
 * Never from a callback.
 */
KW_API void kw_group_destroy(kw_group *g);

/*
 * The member's state: generation (-1 while not in the group), member id (""
 * before the first JoinGroup answer) and owned partitions, copied into *out
 * (free with kw_group_info_free).  Any thread, including the callback.
 */
typedef struct kw_group_info {
    int32_t generation;
    char *member_id;
    char *protocol_name; /* the assignor the group agreed on; NULL before the first join */
    bool leader;         /* this member computed the last assignment */
    bool stable;         /* in the group with an assignment, no rebalance pending */
    kw_group_partition *partitions;
    size_t count;
    uint64_t rebalances; /* SyncGroup answers taken so far */
} kw_group_info;
KW_API int kw_group_info_get(kw_group *g, kw_group_info *out);
KW_API void kw_group_info_free(kw_group_info *info);

/*
 * Replaces the subscribed topics (at least one, none empty; copied): the
 * member rejoins with the new list (classic) or sends it with its next
 * heartbeat (KIP-848), and partitions of topics it no longer subscribes to
 * are revoked by the rebalance that follows.  Asynchronous: returns 0 once
 * the change is queued for the loop thread, KW_EINVAL (naming nothing: the
 * only checks are NULL or empty names and a zero count), KW_ENOMEM or
 * KW_ECLOSED.  Any thread, the callback included.
 */
KW_API int kw_group_subscribe(kw_group *g, const char *const *topics, size_t count);

/*
 * Commits offsets as this member (its member id and generation), waiting up
 * to the group's timeout.  offsets NULL: the consumer's positions of the
 * owned partitions as of the last poll (needs options.consumer; KW_EINVAL
 * without).  Returns 0, KW_EBROKER (kerr: ILLEGAL_GENERATION /
 * UNKNOWN_MEMBER_ID / REBALANCE_IN_PROGRESS when the member is not the
 * owner any more), KW_EAGAIN (not in the group now), KW_EDEADLK (loop
 * thread) or the client's errors; detail (may be NULL) says which.
 */
KW_API int kw_group_commit(kw_group *g, const kw_client_committed *offsets, size_t count,
                           char *detail, size_t detail_len);

#ifdef __cplusplus
}
#endif
#endif /* KW_GROUP_H */
