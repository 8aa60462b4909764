/* The codec against a real Kafka broker: group listing/describing, KIP-848 heartbeats and transactional offsets, every version. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kafka_io.h"
#include "proto/msg_admin.h"
#include "proto/msg_data.h"
#include "proto/msg_group.h"
#include "proto/msg_group2.h"

/*
 * The single-node test broker is also the group and the transaction
 * coordinator, so every request goes over the one bootstrap connection.
 * Names carry the pid so runs (and other helpers' runs) never share a group.
 */
static kt_conn conn;
static char topic[128];

static void setup(void)
{
    ck_assert_msg(kt_connect(&conn, kt_bootstrap()) == 0, "cannot reach the broker at %s",
                  kt_bootstrap());
    snprintf(topic, sizeof(topic), "kwal-it-codec-g2-%d", getpid());
    ck_assert_int_eq(kt_create_topic(&conn, topic, 1), 0);
}

/* DeleteTopics of the test's topic (a courtesy to the shared broker: the result is not checked). */
static void delete_topic(kt_conn *k, const char *name)
{
    int ver = kt_version(k, KW_API_DELETE_TOPICS);
    kw_delete_topics_req req;
    kw__schema_init(kw__api(KW_API_DELETE_TOPICS)->req, ver, &req);
    kw_str n = kw_str_c(name);
    kw_delete_topics_req_topic t = {.name = n};
    if (ver >= 6) {
        req.topics.v = &t;
        req.topics.n = 1;
    } else {
        req.topic_names.v = &n;
        req.topic_names.n = 1;
    }
    req.timeout_ms = 10000;
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_delete_topics_resp resp;
    (void)kt_call(k, KW_API_DELETE_TOPICS, ver, &req, &a, &resp);
    kw__arena_reset(&a);
}

static void teardown(void)
{
    delete_topic(&conn, topic);
    kt_close(&conn);
}

/* FindCoordinator until the coordinator's internal topic exists (COORDINATOR_NOT_AVAILABLE, 15). */
static void await_coordinator(const char *key, int8_t type)
{
    int ver = kt_version(&conn, KW_API_FIND_COORDINATOR);
    for (int attempt = 0; attempt < 50; attempt++) {
        kw_find_coordinator_req req;
        kw__schema_init(kw__api(KW_API_FIND_COORDINATOR)->req, ver, &req);
        kw_str k = kw_str_c(key);
        req.key = k;
        req.key_type = type;
        req.coordinator_keys.v = &k;
        req.coordinator_keys.n = 1;
        kw_arena a;
        kw__arena_init(&a, 0);
        kw_find_coordinator_resp resp;
        ck_assert_int_eq(kt_call(&conn, KW_API_FIND_COORDINATOR, ver, &req, &a, &resp), 0);
        int16_t err = ver >= 4 ? resp.coordinators.v[0].error_code : resp.error_code;
        kw__arena_reset(&a);
        if (err == 0)
            return;
        ck_assert_msg(err == 15, "FindCoordinator: error %d", err);
        usleep(200 * 1000);
    }
    ck_abort_msg("no coordinator for %s", key);
}

/* OffsetCommit without membership (generation -1, member ""): creates an Empty classic group. */
static void commit_offset(const char *group, int64_t offset)
{
    int ver = kt_version(&conn, KW_API_OFFSET_COMMIT);
    kw_offset_commit_req_partition p = {.partition_index = 0,
                                        .committed_offset = offset,
                                        .committed_leader_epoch = -1,
                                        .commit_timestamp = -1,
                                        .committed_metadata = KW_STR_NULL};
    kw_offset_commit_req_topic t = {.name = kw_str_c(topic)};
    t.partitions.v = &p;
    t.partitions.n = 1;
    kw_offset_commit_req req;
    kw__schema_init(kw__api(KW_API_OFFSET_COMMIT)->req, ver, &req);
    req.group_id = kw_str_c(group);
    req.topics.v = &t;
    req.topics.n = 1;
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_offset_commit_resp resp;
    /* A coordinator still loading its partition (14, right after the broker started: seen on a
     * fresh 3.9 broker) is asked again. */
    int16_t err = 14;
    for (int attempt = 0; attempt < 50 && err == 14; attempt++) {
        if (attempt)
            usleep(200 * 1000);
        ck_assert_int_eq(kt_call(&conn, KW_API_OFFSET_COMMIT, ver, &req, &a, &resp), 0);
        err = resp.topics.v[0].partitions.v[0].error_code;
        kw__arena_reset(&a);
    }
    ck_assert_int_eq(err, 0);
}

/* OffsetFetch (require_stable) of partition 0: the committed offset, -1 for none. */
static int64_t fetch_offset(const char *group)
{
    int ver = kt_version(&conn, KW_API_OFFSET_FETCH);
    ck_assert_int_ge(ver, 8);
    int32_t part0 = 0;
    kw_offset_fetch_req_group_topic gt = {.name = kw_str_c(topic)};
    gt.partition_indexes.v = &part0;
    gt.partition_indexes.n = 1;
    kw_offset_fetch_req_group g;
    kw__schema_init(kw__api(KW_API_OFFSET_FETCH)->req->fields[2].sub, ver, &g);
    g.group_id = kw_str_c(group);
    g.topics.v = &gt;
    g.topics.n = 1;
    kw_offset_fetch_req req;
    kw__schema_init(kw__api(KW_API_OFFSET_FETCH)->req, ver, &req);
    req.groups.v = &g;
    req.groups.n = 1;
    req.require_stable = true;
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_offset_fetch_resp resp;
    int64_t off = -2;
    for (int i = 0; i < 50; i++) { /* UNSTABLE_OFFSET_COMMIT (88) until the marker is written */
        ck_assert_int_eq(kt_call(&conn, KW_API_OFFSET_FETCH, ver, &req, &a, &resp), 0);
        int16_t err = resp.groups.v[0].error_code;
        if (!err)
            err = resp.groups.v[0].topics.v[0].partitions.v[0].error_code;
        if (err == 0) {
            off = resp.groups.v[0].topics.v[0].partitions.v[0].committed_offset;
            break;
        }
        ck_assert_msg(err == 88, "OffsetFetch: error %d", err);
        usleep(100 * 1000);
    }
    kw__arena_reset(&a);
    return off;
}

START_TEST(list_groups_and_describe_groups_every_version)
{
    char group[128];
    snprintf(group, sizeof(group), "kwal-it-codec-lg-%d", getpid());
    await_coordinator(group, KW_COORDINATOR_GROUP);
    commit_offset(group, 5);

    for (int ver = kt_min_version(&conn, KW_API_LIST_GROUPS);
         ver <= kt_version(&conn, KW_API_LIST_GROUPS); ver++) {
        kw_list_groups_req req;
        kw__schema_init(kw__api(KW_API_LIST_GROUPS)->req, ver, &req);
        kw_str empty = kw_str_c("Empty"), classic = kw_str_c("classic");
        if (ver >= 4) { /* filtered on the state the group is in: it must still be listed */
            req.states_filter.v = &empty;
            req.states_filter.n = 1;
        }
        if (ver >= 5) {
            req.types_filter.v = &classic;
            req.types_filter.n = 1;
        }
        kw_arena a;
        kw__arena_init(&a, 0);
        kw_list_groups_resp resp;
        ck_assert_int_eq(kt_call(&conn, KW_API_LIST_GROUPS, ver, &req, &a, &resp), 0);
        ck_assert_int_eq(resp.error_code, 0);
        int found = 0;
        for (int32_t i = 0; i < resp.groups.n; i++) {
            const kw_list_groups_resp_group *g = &resp.groups.v[i];
            if (!kw_str_eq(g->group_id, group))
                continue;
            found++;
            ck_assert(kw_str_eq(g->protocol_type, "")); /* no member ever joined */
            if (ver >= 4)
                ck_assert_msg(kw_str_eq(g->group_state, "Empty"), "ListGroups v%d: state %.*s",
                              ver, g->group_state.len, g->group_state.ptr);
            if (ver >= 5)
                ck_assert(kw_str_eq(g->group_type, "classic"));
        }
        ck_assert_msg(found == 1, "ListGroups v%d: %s listed %d times among %d", ver, group,
                      found, resp.groups.n);
        /* a state no group of this test is in: the group is filtered out */
        if (ver >= 4) {
            kw_str dead = kw_str_c("PreparingRebalance");
            req.states_filter.v = &dead;
            ck_assert_int_eq(kt_call(&conn, KW_API_LIST_GROUPS, ver, &req, &a, &resp), 0);
            for (int32_t i = 0; i < resp.groups.n; i++)
                ck_assert(!kw_str_eq(resp.groups.v[i].group_id, group));
        }
        kw__arena_reset(&a);
    }

    char unknown[160];
    snprintf(unknown, sizeof(unknown), "%s-never-used", group);
    for (int ver = kt_min_version(&conn, KW_API_DESCRIBE_GROUPS);
         ver <= kt_version(&conn, KW_API_DESCRIBE_GROUPS); ver++) {
        kw_str names[] = {kw_str_c(group), kw_str_c(unknown)};
        kw_describe_groups_req req;
        kw__schema_init(kw__api(KW_API_DESCRIBE_GROUPS)->req, ver, &req);
        req.groups.v = names;
        req.groups.n = 2;
        req.include_authorized_operations = ver >= 3;
        kw_arena a;
        kw__arena_init(&a, 0);
        kw_describe_groups_resp resp;
        ck_assert_int_eq(kt_call(&conn, KW_API_DESCRIBE_GROUPS, ver, &req, &a, &resp), 0);
        ck_assert_int_eq(resp.groups.n, 2);
        const kw_describe_groups_resp_group *g = &resp.groups.v[0], *u = &resp.groups.v[1];
        ck_assert(kw_str_eq(g->group_id, group));
        ck_assert_msg(g->error_code == 0, "DescribeGroups v%d: error %d", ver, g->error_code);
        ck_assert(kw_str_eq(g->group_state, "Empty"));
        ck_assert(kw_str_eq(g->protocol_type, ""));
        ck_assert_int_eq(g->members.n, 0);
        if (ver >= 3) /* no authorizer on the test broker: every operation is allowed */
            ck_assert_int_ne(g->authorized_operations, INT32_MIN);
        ck_assert(kw_str_eq(u->group_id, unknown));
        if (ver >= 6) { /* KIP-1043: GROUP_ID_NOT_FOUND (69) with a message */
            ck_assert_int_eq(u->error_code, 69);
            ck_assert_int_gt(u->error_message.len, 0);
        } else { /* older versions describe an unknown group as Dead */
            ck_assert_int_eq(u->error_code, 0);
            ck_assert(kw_str_eq(u->group_state, "Dead"));
        }
        kw__arena_reset(&a);
    }
}
END_TEST

/* Metadata's topic id for topic. */
static kw_uuid topic_id_of(const char *name)
{
    int ver = kt_version(&conn, KW_API_METADATA);
    ck_assert_int_ge(ver, 10);
    kw_metadata_req_topic t = {.name = kw_str_c(name)};
    kw_metadata_req req;
    kw__schema_init(kw__api(KW_API_METADATA)->req, ver, &req);
    req.topics.v = &t;
    req.topics.n = 1;
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_metadata_resp resp;
    ck_assert_int_eq(kt_call(&conn, KW_API_METADATA, ver, &req, &a, &resp), 0);
    ck_assert_int_eq(resp.topics.v[0].error_code, 0);
    kw_uuid id = resp.topics.v[0].topic_id;
    kw__arena_reset(&a);
    return id;
}

/* One heartbeat; returns the response (in a). */
static kw_consumer_group_heartbeat_resp heartbeat(int ver, const char *group, kw_str member,
                                                  int32_t epoch, const kw_uuid *owned,
                                                  kw_arena *a)
{
    kw_consumer_group_heartbeat_req req;
    kw__schema_init(kw__api(KW_API_CONSUMER_GROUP_HEARTBEAT)->req, ver, &req);
    req.group_id = kw_str_c(group);
    req.member_id = member;
    req.member_epoch = epoch;
    kw_str t = kw_str_c(topic);
    int32_t part0 = 0;
    kw_consumer_group_heartbeat_req_topic tp = {.topic_id = owned ? *owned : (kw_uuid){{0}}};
    tp.partitions.v = &part0;
    tp.partitions.n = 1;
    if (epoch == 0) { /* joining: the full subscription and an empty owned list */
        req.rebalance_timeout_ms = 30000;
        req.subscribed_topic_names.v = &t;
        req.subscribed_topic_names.n = 1;
        req.topic_partitions.n = 0;
    } else if (epoch > 0) {
        req.topic_partitions.v = owned ? &tp : NULL;
        req.topic_partitions.n = owned ? 1 : 0;
    }
    kw_consumer_group_heartbeat_resp resp;
    ck_assert_int_eq(kt_call(&conn, KW_API_CONSUMER_GROUP_HEARTBEAT, ver, &req, a, &resp), 0);
    return resp;
}

START_TEST(consumer_group_heartbeat_and_describe_every_version)
{
    kw_uuid tid = topic_id_of(topic);
    for (int ver = kt_min_version(&conn, KW_API_CONSUMER_GROUP_HEARTBEAT);
         ver <= kt_version(&conn, KW_API_CONSUMER_GROUP_HEARTBEAT); ver++) {
        char group[128], mine[64];
        snprintf(group, sizeof(group), "kwal-it-codec-848-v%d-%d", ver, getpid());
        /* v1 (KIP-1082): the member makes its own id; v0: the coordinator hands one out */
        snprintf(mine, sizeof(mine), "kwal-member-%d-%d", ver, getpid());
        await_coordinator(group, KW_COORDINATOR_GROUP);
        kw_arena a;
        kw__arena_init(&a, 0);
        kw_consumer_group_heartbeat_resp r =
            heartbeat(ver, group, kw_str_c(ver >= 1 ? mine : ""), 0, NULL, &a);
        ck_assert_msg(r.error_code == 0, "ConsumerGroupHeartbeat v%d: error %d %.*s", ver,
                      r.error_code, r.error_message.len > 0 ? r.error_message.len : 0,
                      r.error_message.ptr);
        ck_assert_int_ge(r.member_epoch, 1);
        ck_assert_int_gt(r.heartbeat_interval_ms, 0);
        ck_assert_int_gt(r.member_id.len, 0);
        if (ver >= 1)
            ck_assert(kw_str_eq(r.member_id, mine));
        char member[128];
        snprintf(member, sizeof(member), "%.*s", r.member_id.len, r.member_id.ptr);
        int32_t epoch = r.member_epoch;
        /* the assignment: partition 0 of the topic, by topic id, maybe after a few beats */
        bool assigned = false;
        for (int i = 0; i < 50 && !assigned; i++) {
            /* the first answers may carry an empty assignment while the target is computed */
            if (r.assignment && r.assignment->topic_partitions.n > 0) {
                ck_assert_int_eq(r.assignment->topic_partitions.n, 1);
                const kw_consumer_group_heartbeat_resp_topic *tp =
                    &r.assignment->topic_partitions.v[0];
                ck_assert_mem_eq(tp->topic_id.b, tid.b, 16);
                ck_assert_int_eq(tp->partitions.n, 1);
                ck_assert_int_eq(tp->partitions.v[0], 0);
                assigned = true;
                break;
            }
            usleep(100 * 1000);
            r = heartbeat(ver, group, kw_str_c(member), epoch, NULL, &a);
            ck_assert_int_eq(r.error_code, 0);
            epoch = r.member_epoch;
        }
        ck_assert_msg(assigned, "v%d: no assignment", ver);
        /* acknowledge the assignment by reporting it owned */
        r = heartbeat(ver, group, kw_str_c(member), epoch, &tid, &a);
        ck_assert_int_eq(r.error_code, 0);
        ck_assert_int_eq(r.member_epoch, epoch);

        for (int dv = kt_min_version(&conn, KW_API_CONSUMER_GROUP_DESCRIBE);
             dv <= kt_version(&conn, KW_API_CONSUMER_GROUP_DESCRIBE); dv++) {
            kw_str g = kw_str_c(group);
            kw_consumer_group_describe_req dr = {.include_authorized_operations = true};
            dr.group_ids.v = &g;
            dr.group_ids.n = 1;
            kw_consumer_group_describe_resp d;
            ck_assert_int_eq(
                kt_call(&conn, KW_API_CONSUMER_GROUP_DESCRIBE, dv, &dr, &a, &d), 0);
            ck_assert_int_eq(d.groups.n, 1);
            const kw_consumer_group_describe_resp_group *dg = &d.groups.v[0];
            ck_assert_msg(dg->error_code == 0, "ConsumerGroupDescribe v%d: error %d", dv,
                          dg->error_code);
            ck_assert(kw_str_eq(dg->group_id, group));
            ck_assert(kw_str_eq(dg->group_state, "Stable"));
            ck_assert_int_ge(dg->group_epoch, 1);
            ck_assert_int_eq(dg->assignment_epoch, dg->group_epoch);
            ck_assert_int_gt(dg->assignor_name.len, 0); /* the broker's default, "uniform" */
            ck_assert_int_ne(dg->authorized_operations, INT32_MIN);
            ck_assert_int_eq(dg->members.n, 1);
            const kw_consumer_group_describe_resp_member *m = &dg->members.v[0];
            ck_assert(kw_str_eq(m->member_id, member));
            ck_assert_int_eq(m->member_epoch, epoch);
            ck_assert(kw_str_eq(m->client_id, "kwal-test"));
            ck_assert_int_eq(m->subscribed_topic_names.n, 1);
            ck_assert(kw_str_eq(m->subscribed_topic_names.v[0], topic));
            ck_assert_int_eq(m->assignment.topic_partitions.n, 1);
            ck_assert(kw_str_eq(m->assignment.topic_partitions.v[0].topic_name, topic));
            ck_assert_mem_eq(m->assignment.topic_partitions.v[0].topic_id.b, tid.b, 16);
            ck_assert_int_eq(m->target_assignment.topic_partitions.n, 1);
            ck_assert_int_eq(m->member_type, dv >= 1 ? 1 : -1); /* 1: a consumer-protocol member */
        }

        /* ListGroups v5 calls it a "consumer" group */
        if (kt_version(&conn, KW_API_LIST_GROUPS) >= 5) {
            kw_list_groups_req lr;
            kw__schema_init(kw__api(KW_API_LIST_GROUPS)->req, 5, &lr);
            kw_list_groups_resp l;
            ck_assert_int_eq(kt_call(&conn, KW_API_LIST_GROUPS, 5, &lr, &a, &l), 0);
            int found = 0;
            for (int32_t i = 0; i < l.groups.n; i++)
                if (kw_str_eq(l.groups.v[i].group_id, group)) {
                    found++;
                    ck_assert(kw_str_eq(l.groups.v[i].group_type, "consumer"));
                    ck_assert(kw_str_eq(l.groups.v[i].protocol_type, "consumer"));
                }
            ck_assert_int_eq(found, 1);
        }

        /* leave: epoch -1, answered with epoch -1 */
        r = heartbeat(ver, group, kw_str_c(member), -1, NULL, &a);
        ck_assert_int_eq(r.error_code, 0);
        ck_assert_int_eq(r.member_epoch, -1);
        kw__arena_reset(&a);
    }
}
END_TEST

/* InitProducerId for a transactional id, retrying while the coordinator loads. */
static kw_init_producer_id_resp init_txn(const char *txid, kw_arena *a)
{
    int ver = kt_version(&conn, KW_API_INIT_PRODUCER_ID);
    kw_init_producer_id_req req;
    kw__schema_init(kw__api(KW_API_INIT_PRODUCER_ID)->req, ver, &req);
    req.transactional_id = kw_str_c(txid);
    req.transaction_timeout_ms = 60000;
    kw_init_producer_id_resp resp;
    for (int i = 0; i < 50; i++) { /* loading (14), not available (15), not yet (16), concurrent (51) */
        ck_assert_int_eq(kt_call(&conn, KW_API_INIT_PRODUCER_ID, ver, &req, a, &resp), 0);
        if (resp.error_code != 14 && resp.error_code != 15 && resp.error_code != 16 &&
            resp.error_code != 51)
            break;
        usleep(200 * 1000);
    }
    ck_assert_msg(resp.error_code == 0, "InitProducerId: error %d", resp.error_code);
    return resp;
}

/*
 * Round r: AddPartitionsToTxn (v3, the client form), AddOffsetsToTxn and
 * TxnOffsetCommit at their r-th versions, then EndTxn.  TxnOffsetCommit v5
 * is the transactions-v2 form and goes with EndTxn v5; the v1 forms end with
 * EndTxn v4.  Even rounds commit (the offset becomes visible), odd rounds
 * abort (the offset stays the previous one).
 */
START_TEST(txn_offset_commit_in_a_transaction_every_version)
{
    int ao_lo = kt_min_version(&conn, KW_API_ADD_OFFSETS_TO_TXN),
        ao_hi = kt_version(&conn, KW_API_ADD_OFFSETS_TO_TXN);
    int tc_lo = kt_min_version(&conn, KW_API_TXN_OFFSET_COMMIT),
        tc_hi = kt_version(&conn, KW_API_TXN_OFFSET_COMMIT);
    int rounds = (ao_hi - ao_lo > tc_hi - tc_lo ? ao_hi - ao_lo : tc_hi - tc_lo) + 1;
    char group[128];
    snprintf(group, sizeof(group), "kwal-it-codec-txg-%d", getpid());
    await_coordinator(group, KW_COORDINATOR_GROUP);
    int64_t visible = -1;
    for (int r = 0; r < rounds; r++) {
        char txid[128];
        snprintf(txid, sizeof(txid), "kwal-it-codec-tx%d-%d", r, getpid());
        await_coordinator(txid, KW_COORDINATOR_TRANSACTION);
        kw_arena a;
        kw__arena_init(&a, 0);
        kw_init_producer_id_resp ip = init_txn(txid, &a);

        int32_t part0 = 0;
        kw_add_partitions_to_txn_req_topic at = {.name = kw_str_c(topic)};
        at.partitions.v = &part0;
        at.partitions.n = 1;
        kw_add_partitions_to_txn_req ar;
        kw__schema_init(kw__api(KW_API_ADD_PARTITIONS_TO_TXN)->req, 3, &ar);
        ar.v3_and_below_transactional_id = kw_str_c(txid);
        ar.v3_and_below_producer_id = ip.producer_id;
        ar.v3_and_below_producer_epoch = ip.producer_epoch;
        ar.v3_and_below_topics.v = &at;
        ar.v3_and_below_topics.n = 1;
        kw_add_partitions_to_txn_resp apr;
        ck_assert_int_eq(kt_call(&conn, KW_API_ADD_PARTITIONS_TO_TXN, 3, &ar, &a, &apr), 0);
        ck_assert_int_eq(apr.results_by_topic_v3_and_below.v[0].results_by_partition.v[0]
                             .partition_error_code,
                         0);

        int tv = tc_lo + r > tc_hi ? tc_hi : tc_lo + r;
        int av = ao_lo + r > ao_hi ? ao_hi : ao_lo + r;
        kw_add_offsets_to_txn_req aor = {kw_str_c(txid), ip.producer_id, ip.producer_epoch,
                                         kw_str_c(group)};
        kw_add_offsets_to_txn_resp aoresp;
        ck_assert_int_eq(
            kt_call(&conn, KW_API_ADD_OFFSETS_TO_TXN, av, &aor, &a, &aoresp), 0);
        ck_assert_msg(aoresp.error_code == 0, "AddOffsetsToTxn v%d: error %d", av,
                      aoresp.error_code);

        kw_txn_offset_commit_req_partition tp = {.partition_index = 0,
                                                 .committed_offset = 1000 + r,
                                                 .committed_leader_epoch = -1,
                                                 .committed_metadata = kw_str_c("txn")};
        kw_txn_offset_commit_req_topic tt = {.name = kw_str_c(topic)};
        tt.partitions.v = &tp;
        tt.partitions.n = 1;
        kw_txn_offset_commit_req tr;
        kw__schema_init(kw__api(KW_API_TXN_OFFSET_COMMIT)->req, tv, &tr);
        tr.transactional_id = kw_str_c(txid);
        tr.group_id = kw_str_c(group);
        tr.producer_id = ip.producer_id;
        tr.producer_epoch = ip.producer_epoch;
        tr.topics.v = &tt;
        tr.topics.n = 1;
        kw_txn_offset_commit_resp tresp;
        ck_assert_int_eq(kt_call(&conn, KW_API_TXN_OFFSET_COMMIT, tv, &tr, &a, &tresp), 0);
        ck_assert_int_eq(tresp.topics.n, 1);
        ck_assert(kw_str_eq(tresp.topics.v[0].name, topic));
        ck_assert_msg(tresp.topics.v[0].partitions.v[0].error_code == 0,
                      "TxnOffsetCommit v%d (AddOffsetsToTxn v%d): error %d", tv, av,
                      tresp.topics.v[0].partitions.v[0].error_code);

        bool commit = r % 2 == 0;
        int ev = tv >= 5 ? 5 : 4;
        if (ev > kt_version(&conn, KW_API_END_TXN))
            ev = kt_version(&conn, KW_API_END_TXN);
        kw_end_txn_req er = {kw_str_c(txid), ip.producer_id, ip.producer_epoch, commit};
        kw_end_txn_resp eresp;
        ck_assert_int_eq(kt_call(&conn, KW_API_END_TXN, ev, &er, &a, &eresp), 0);
        ck_assert_msg(eresp.error_code == 0, "EndTxn v%d after TxnOffsetCommit v%d: error %d",
                      ev, tv, eresp.error_code);
        if (commit)
            visible = 1000 + r;
        int64_t got = fetch_offset(group);
        ck_assert_msg(got == visible, "round %d (%s, TxnOffsetCommit v%d): committed %lld, want %lld",
                      r, commit ? "commit" : "abort", tv, (long long)got, (long long)visible);
        kw__arena_reset(&a);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("proto-broker-3");
    TCase *tc = tcase_create("broker");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, list_groups_and_describe_groups_every_version);
    tcase_add_test(tc, consumer_group_heartbeat_and_describe_every_version);
    tcase_add_test(tc, txn_offset_commit_in_a_transaction_every_version);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
