/* The codec against a real Kafka broker: admin, SASL, consumer-group and transaction APIs at every version. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kafka_io.h"
#include "proto/batch.h"
#include "proto/msg_admin.h"
#include "proto/msg_data.h"
#include "proto/msg_group.h"

static kt_conn conn;

static void setup(void)
{
    ck_assert_msg(kt_connect(&conn, kt_bootstrap()) == 0, "cannot reach the broker at %s",
                  kt_bootstrap());
}

static void teardown(void)
{
    kt_close(&conn);
}

/* The version for round r: lo, lo+1, ... hi, then hi again, so every version gets a round. */
static int round_version(kt_conn *c, int api_key, int r)
{
    int lo = kt_min_version(c, api_key), hi = kt_version(c, api_key);
    return lo + r > hi ? hi : lo + r;
}

static void create_topic(const char *name, int partitions)
{
    int ver = kt_version(&conn, KW_API_CREATE_TOPICS);
    kw_create_topics_req_topic t = {.name = kw_str_c(name), .num_partitions = partitions,
                                    .replication_factor = 1};
    kw_create_topics_req req;
    kw__schema_init(kw__api(KW_API_CREATE_TOPICS)->req, ver, &req);
    req.topics.v = &t;
    req.topics.n = 1;
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_create_topics_resp resp;
    ck_assert_int_eq(kt_call(&conn, KW_API_CREATE_TOPICS, ver, &req, &a, &resp), 0);
    ck_assert_int_eq(resp.topics.v[0].error_code, 0);
    kw__arena_reset(&a);
    ck_assert_int_eq(kt_wait_topic(&conn, name), 0);
}

START_TEST(describe_configs_create_partitions_delete_topics_every_version)
{
    char topic[128];
    snprintf(topic, sizeof(topic), "kwal-it-admin-%d", getpid());
    create_topic(topic, 1);
    for (int ver = kt_min_version(&conn, KW_API_DESCRIBE_CONFIGS);
         ver <= kt_version(&conn, KW_API_DESCRIBE_CONFIGS); ver++) {
        kw_str keys[] = {kw_str_c("cleanup.policy"), kw_str_c("max.message.bytes")};
        kw_describe_configs_req_resource res = {.resource_type = 2,
                                                .resource_name = kw_str_c(topic)};
        res.configuration_keys.v = keys;
        res.configuration_keys.n = 2;
        kw_describe_configs_req req;
        kw__schema_init(kw__api(KW_API_DESCRIBE_CONFIGS)->req, ver, &req);
        req.resources.v = &res;
        req.resources.n = 1;
        kw_arena a;
        kw__arena_init(&a, 0);
        kw_describe_configs_resp resp;
        ck_assert_int_eq(kt_call(&conn, KW_API_DESCRIBE_CONFIGS, ver, &req, &a, &resp), 0);
        ck_assert_int_eq(resp.results.n, 1);
        ck_assert_int_eq(resp.results.v[0].error_code, 0);
        ck_assert_int_eq(resp.results.v[0].configs.n, 2);
        for (int32_t i = 0; i < 2; i++) {
            if (kw_str_eq(resp.results.v[0].configs.v[i].name, "cleanup.policy"))
                ck_assert(kw_str_eq(resp.results.v[0].configs.v[i].value, "delete"));
            else
                ck_assert(kw_str_eq(resp.results.v[0].configs.v[i].name, "max.message.bytes"));
        }
        kw__arena_reset(&a);
    }

    int count = 1;
    for (int ver = kt_min_version(&conn, KW_API_CREATE_PARTITIONS);
         ver <= kt_version(&conn, KW_API_CREATE_PARTITIONS); ver++) {
        kw_create_partitions_req_topic t = {.name = kw_str_c(topic), .count = ++count};
        t.assignments.n = -1; /* the broker places them */
        kw_create_partitions_req req;
        kw__schema_init(kw__api(KW_API_CREATE_PARTITIONS)->req, ver, &req);
        req.topics.v = &t;
        req.topics.n = 1;
        req.timeout_ms = 30000;
        kw_arena a;
        kw__arena_init(&a, 0);
        kw_create_partitions_resp resp;
        ck_assert_int_eq(kt_call(&conn, KW_API_CREATE_PARTITIONS, ver, &req, &a, &resp), 0);
        ck_assert_int_eq(resp.results.n, 1);
        ck_assert_msg(resp.results.v[0].error_code == 0, "CreatePartitions v%d: error %d", ver,
                      resp.results.v[0].error_code);
        kw__arena_reset(&a);
    }

    for (int ver = kt_min_version(&conn, KW_API_DELETE_TOPICS);
         ver <= kt_version(&conn, KW_API_DELETE_TOPICS); ver++) {
        char victim[128];
        snprintf(victim, sizeof(victim), "kwal-it-del-v%d-%d", ver, getpid());
        create_topic(victim, 1);
        kw_delete_topics_req req;
        kw__schema_init(kw__api(KW_API_DELETE_TOPICS)->req, ver, &req);
        kw_str name = kw_str_c(victim);
        kw_delete_topics_req_topic dt = {.name = name};
        if (ver >= 6) {
            req.topics.v = &dt;
            req.topics.n = 1;
        } else {
            req.topic_names.v = &name;
            req.topic_names.n = 1;
        }
        req.timeout_ms = 30000;
        kw_arena a;
        kw__arena_init(&a, 0);
        kw_delete_topics_resp resp;
        ck_assert_int_eq(kt_call(&conn, KW_API_DELETE_TOPICS, ver, &req, &a, &resp), 0);
        ck_assert_int_eq(resp.responses.n, 1);
        ck_assert(kw_str_eq(resp.responses.v[0].name, victim));
        ck_assert_msg(resp.responses.v[0].error_code == 0, "DeleteTopics v%d: error %d", ver,
                      resp.responses.v[0].error_code);
        kw__arena_reset(&a);
    }
}
END_TEST

/* SaslHandshake then (for v1) SaslAuthenticate with PLAIN; returns the authenticate error code. */
static int sasl_plain(int hs_ver, int auth_ver, const char *password, int64_t *lifetime)
{
    const char *addr = getenv("KWAL_BOOTSTRAP_SASL");
    kt_conn c;
    ck_assert_int_eq(kt_connect(&c, addr && *addr ? addr : "127.0.0.1:19093"), 0);
    kw_sasl_handshake_req hs = {.mechanism = kw_str_c("PLAIN")};
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_sasl_handshake_resp hr;
    ck_assert_int_eq(kt_call(&c, KW_API_SASL_HANDSHAKE, hs_ver, &hs, &a, &hr), 0);
    ck_assert_int_eq(hr.error_code, 0);
    bool scram = false;
    for (int32_t i = 0; i < hr.mechanisms.n; i++)
        scram |= kw_str_eq(hr.mechanisms.v[i], "SCRAM-SHA-512");
    ck_assert(scram);
    int err = 0;
    if (hs_ver >= 1) {
        char msg[128];
        int n = snprintf(msg, sizeof(msg), "%calice%c%s", 0, 0, password);
        kw_sasl_authenticate_req ar = {.auth_bytes = {(const uint8_t *)msg, n}};
        kw_sasl_authenticate_resp resp;
        ck_assert_int_eq(kt_call(&c, KW_API_SASL_AUTHENTICATE, auth_ver, &ar, &a, &resp), 0);
        err = resp.error_code;
        if (err)
            ck_assert_int_gt(resp.error_message.len, 0);
        *lifetime = resp.session_lifetime_ms;
    }
    kw__arena_reset(&a);
    kt_close(&c);
    return err;
}

START_TEST(sasl_handshake_and_authenticate_every_version)
{
    int64_t life = -1;
    for (int hs = kt_min_version(&conn, KW_API_SASL_HANDSHAKE);
         hs <= kt_version(&conn, KW_API_SASL_HANDSHAKE); hs++)
        for (int av = kt_min_version(&conn, KW_API_SASL_AUTHENTICATE);
             av <= (hs ? kt_version(&conn, KW_API_SASL_AUTHENTICATE) : 0); av++)
            ck_assert_int_eq(sasl_plain(hs, av, "alice-secret", &life), 0);
    ck_assert_int_eq(life, 0); /* no connections.max.reauth.ms on the test broker */
    /* a wrong password is SASL_AUTHENTICATION_FAILED (58) at every version */
    for (int av = kt_min_version(&conn, KW_API_SASL_AUTHENTICATE);
         av <= kt_version(&conn, KW_API_SASL_AUTHENTICATE); av++)
        ck_assert_int_eq(sasl_plain(1, av, "wrong", &life), 58);
}
END_TEST

/* FindCoordinator at version ver for key; returns the coordinator's node id. */
static int32_t find_coordinator(int ver, const char *key, int8_t type)
{
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
        int32_t node = ver >= 4 ? resp.coordinators.v[0].node_id : resp.node_id;
        if (ver >= 4)
            ck_assert(kw_str_eq(resp.coordinators.v[0].key, key));
        kw__arena_reset(&a);
        if (err == 0)
            return node;
        /* the internal topic is created on first use: COORDINATOR_NOT_AVAILABLE (15) meanwhile */
        ck_assert_msg(err == 15, "FindCoordinator v%d: error %d", ver, err);
        usleep(200 * 1000);
    }
    ck_abort_msg("no coordinator for %s", key);
    return -1;
}

START_TEST(consumer_group_flow_every_version)
{
    char topic[128];
    snprintf(topic, sizeof(topic), "kwal-it-group-%d", getpid());
    create_topic(topic, 1);
    for (int r = 0; r < 10; r++) {
        char group[128];
        snprintf(group, sizeof(group), "kwal-it-g%d-%d", r, getpid());
        ck_assert_int_ge(find_coordinator(round_version(&conn, KW_API_FIND_COORDINATOR, r), group,
                                          KW_COORDINATOR_GROUP),
                         0);
        kw_arena a;
        kw__arena_init(&a, 0);

        int jv = round_version(&conn, KW_API_JOIN_GROUP, r);
        kw_join_group_req_protocol proto = {kw_str_c("range"), {(const uint8_t *)"meta", 4}};
        kw_join_group_req jr;
        kw__schema_init(kw__api(KW_API_JOIN_GROUP)->req, jv, &jr);
        jr.group_id = kw_str_c(group);
        jr.session_timeout_ms = 10000;
        jr.rebalance_timeout_ms = 10000;
        jr.protocol_type = kw_str_c("consumer");
        jr.protocols.v = &proto;
        jr.protocols.n = 1;
        kw_join_group_resp jresp;
        char member[256] = "";
        for (int i = 0, loading = 0; i < 3; i++) {
            jr.member_id = kw_str_c(member);
            ck_assert_int_eq(kt_call(&conn, KW_API_JOIN_GROUP, jv, &jr, &a, &jresp), 0);
            /* a freshly started broker's coordinator may still be loading (14): ask again */
            if (jresp.error_code == 14 && loading++ < 50) {
                usleep(200 * 1000);
                i--;
                continue;
            }
            /* v4+: the first join hands out a member id (MEMBER_ID_REQUIRED, 79) */
            snprintf(member, sizeof(member), "%.*s", jresp.member_id.len, jresp.member_id.ptr);
            if (jresp.error_code != 79)
                break;
        }
        ck_assert_msg(jresp.error_code == 0, "JoinGroup v%d: error %d", jv, jresp.error_code);
        ck_assert(kw_str_eq(jresp.leader, member));
        ck_assert(kw_str_eq(jresp.protocol_name, "range"));
        ck_assert_int_eq(jresp.members.n, 1);
        ck_assert_int_eq(jresp.members.v[0].metadata.len, 4);
        int32_t gen = jresp.generation_id;

        int sv = round_version(&conn, KW_API_SYNC_GROUP, r);
        kw_sync_group_req_assignment asg = {kw_str_c(member), {(const uint8_t *)"assign", 6}};
        kw_sync_group_req sr;
        kw__schema_init(kw__api(KW_API_SYNC_GROUP)->req, sv, &sr);
        sr.group_id = kw_str_c(group);
        sr.generation_id = gen;
        sr.member_id = kw_str_c(member);
        sr.protocol_type = kw_str_c("consumer");
        sr.protocol_name = kw_str_c("range");
        sr.assignments.v = &asg;
        sr.assignments.n = 1;
        kw_sync_group_resp sresp;
        ck_assert_int_eq(kt_call(&conn, KW_API_SYNC_GROUP, sv, &sr, &a, &sresp), 0);
        ck_assert_msg(sresp.error_code == 0, "SyncGroup v%d: error %d", sv, sresp.error_code);
        ck_assert_int_eq(sresp.assignment.len, 6);
        ck_assert_mem_eq(sresp.assignment.ptr, "assign", 6);

        int hv = round_version(&conn, KW_API_HEARTBEAT, r);
        kw_heartbeat_req hb;
        kw__schema_init(kw__api(KW_API_HEARTBEAT)->req, hv, &hb);
        hb.group_id = kw_str_c(group);
        hb.generation_id = gen;
        hb.member_id = kw_str_c(member);
        kw_heartbeat_resp hresp;
        ck_assert_int_eq(kt_call(&conn, KW_API_HEARTBEAT, hv, &hb, &a, &hresp), 0);
        ck_assert_int_eq(hresp.error_code, 0);

        int cv = round_version(&conn, KW_API_OFFSET_COMMIT, r);
        kw_offset_commit_req_partition cp = {.partition_index = 0,
                                             .committed_offset = 100 + r,
                                             .committed_leader_epoch = -1,
                                             .commit_timestamp = -1,
                                             .committed_metadata = kw_str_c("m")};
        kw_offset_commit_req_topic ct = {.name = kw_str_c(topic)};
        ct.partitions.v = &cp;
        ct.partitions.n = 1;
        kw_offset_commit_req oc;
        kw__schema_init(kw__api(KW_API_OFFSET_COMMIT)->req, cv, &oc);
        oc.group_id = kw_str_c(group);
        oc.generation_id_or_member_epoch = gen;
        oc.member_id = kw_str_c(member);
        oc.topics.v = &ct;
        oc.topics.n = 1;
        kw_offset_commit_resp ocr;
        ck_assert_int_eq(kt_call(&conn, KW_API_OFFSET_COMMIT, cv, &oc, &a, &ocr), 0);
        ck_assert_msg(ocr.topics.v[0].partitions.v[0].error_code == 0,
                      "OffsetCommit v%d: error %d", cv, ocr.topics.v[0].partitions.v[0].error_code);

        int fv = round_version(&conn, KW_API_OFFSET_FETCH, r);
        int32_t part0 = 0;
        kw_offset_fetch_req of;
        kw__schema_init(kw__api(KW_API_OFFSET_FETCH)->req, fv, &of);
        kw_offset_fetch_req_topic ft = {.name = kw_str_c(topic)};
        ft.partition_indexes.v = &part0;
        ft.partition_indexes.n = 1;
        kw_offset_fetch_req_group_topic gt = {.name = kw_str_c(topic)};
        gt.partition_indexes.v = &part0;
        gt.partition_indexes.n = 1;
        kw_offset_fetch_req_group g;
        kw__schema_init(kw__api(KW_API_OFFSET_FETCH)->req->fields[2].sub, fv, &g);
        g.group_id = kw_str_c(group);
        g.topics.v = &gt;
        g.topics.n = 1;
        of.group_id = kw_str_c(group);
        of.topics.v = &ft;
        of.topics.n = 1;
        of.groups.v = &g;
        of.groups.n = 1;
        kw_offset_fetch_resp ofr;
        ck_assert_int_eq(kt_call(&conn, KW_API_OFFSET_FETCH, fv, &of, &a, &ofr), 0);
        int64_t committed;
        if (fv >= 8) {
            ck_assert_int_eq(ofr.groups.v[0].error_code, 0);
            committed = ofr.groups.v[0].topics.v[0].partitions.v[0].committed_offset;
            ck_assert(kw_str_eq(ofr.groups.v[0].topics.v[0].partitions.v[0].metadata, "m"));
        } else {
            committed = ofr.topics.v[0].partitions.v[0].committed_offset;
            ck_assert(kw_str_eq(ofr.topics.v[0].partitions.v[0].metadata, "m"));
        }
        ck_assert_msg(committed == 100 + r, "OffsetFetch v%d: got %lld", fv, (long long)committed);

        int lv = round_version(&conn, KW_API_LEAVE_GROUP, r);
        kw_leave_group_req_member lm = {.member_id = kw_str_c(member),
                                        .group_instance_id = KW_STR_NULL,
                                        .reason = KW_STR_NULL};
        kw_leave_group_req lr;
        kw__schema_init(kw__api(KW_API_LEAVE_GROUP)->req, lv, &lr);
        lr.group_id = kw_str_c(group);
        lr.member_id = kw_str_c(member);
        lr.members.v = &lm;
        lr.members.n = 1;
        kw_leave_group_resp lresp;
        ck_assert_int_eq(kt_call(&conn, KW_API_LEAVE_GROUP, lv, &lr, &a, &lresp), 0);
        ck_assert_int_eq(lresp.error_code, 0);
        if (lv >= 3)
            ck_assert_int_eq(lresp.members.v[0].error_code, 0);
        kw__arena_reset(&a);
    }
}
END_TEST

START_TEST(init_producer_id_every_version_idempotent)
{
    for (int ver = kt_min_version(&conn, KW_API_INIT_PRODUCER_ID);
         ver <= kt_version(&conn, KW_API_INIT_PRODUCER_ID); ver++) {
        kw_init_producer_id_req req;
        kw__schema_init(kw__api(KW_API_INIT_PRODUCER_ID)->req, ver, &req);
        req.transactional_id = KW_STR_NULL;
        req.transaction_timeout_ms = 60000;
        kw_arena a;
        kw__arena_init(&a, 0);
        kw_init_producer_id_resp resp;
        for (int i = 0; i < 50; i++) { /* the coordinator may still be loading (14, 15) */
            ck_assert_int_eq(kt_call(&conn, KW_API_INIT_PRODUCER_ID, ver, &req, &a, &resp), 0);
            if (resp.error_code != 14 && resp.error_code != 15)
                break;
            usleep(200 * 1000);
        }
        ck_assert_msg(resp.error_code == 0, "InitProducerId v%d: error %d", ver, resp.error_code);
        ck_assert_int_ge(resp.producer_id, 0);
        ck_assert_int_eq(resp.producer_epoch, 0);
        kw__arena_reset(&a);
    }
}
END_TEST

START_TEST(transaction_flow_every_client_version)
{
    char topic[128];
    snprintf(topic, sizeof(topic), "kwal-it-txn-%d", getpid());
    create_topic(topic, 1);
    /* AddPartitionsToTxn v4+ is for brokers only (batched verify); clients use v0-3. */
    int add_hi = kt_version(&conn, KW_API_ADD_PARTITIONS_TO_TXN);
    if (add_hi > 3)
        add_hi = 3;
    int end_lo = kt_min_version(&conn, KW_API_END_TXN), end_hi = kt_version(&conn, KW_API_END_TXN);
    int rounds = end_hi - end_lo + 1;
    int64_t expected_end = 0;
    for (int r = 0; r < rounds; r++) {
        char txid[128];
        snprintf(txid, sizeof(txid), "kwal-it-tx%d-%d", r, getpid());
        find_coordinator(kt_version(&conn, KW_API_FIND_COORDINATOR), txid,
                         KW_COORDINATOR_TRANSACTION);
        kw_arena a;
        kw__arena_init(&a, 0);
        int iv = round_version(&conn, KW_API_INIT_PRODUCER_ID, r);
        kw_init_producer_id_req ir;
        kw__schema_init(kw__api(KW_API_INIT_PRODUCER_ID)->req, iv, &ir);
        ir.transactional_id = kw_str_c(txid);
        ir.transaction_timeout_ms = 60000;
        kw_init_producer_id_resp iresp;
        for (int i = 0; i < 50; i++) {
            ck_assert_int_eq(kt_call(&conn, KW_API_INIT_PRODUCER_ID, iv, &ir, &a, &iresp), 0);
            if (iresp.error_code != 14 && iresp.error_code != 15 && iresp.error_code != 51)
                break;
            usleep(200 * 1000);
        }
        ck_assert_msg(iresp.error_code == 0, "InitProducerId v%d: error %d", iv, iresp.error_code);

        int av = kt_min_version(&conn, KW_API_ADD_PARTITIONS_TO_TXN) + r;
        if (av > add_hi)
            av = add_hi;
        int32_t part0 = 0;
        kw_add_partitions_to_txn_req_topic at = {.name = kw_str_c(topic)};
        at.partitions.v = &part0;
        at.partitions.n = 1;
        kw_add_partitions_to_txn_req ar;
        kw__schema_init(kw__api(KW_API_ADD_PARTITIONS_TO_TXN)->req, av, &ar);
        ar.v3_and_below_transactional_id = kw_str_c(txid);
        ar.v3_and_below_producer_id = iresp.producer_id;
        ar.v3_and_below_producer_epoch = iresp.producer_epoch;
        ar.v3_and_below_topics.v = &at;
        ar.v3_and_below_topics.n = 1;
        kw_add_partitions_to_txn_resp aresp;
        ck_assert_int_eq(kt_call(&conn, KW_API_ADD_PARTITIONS_TO_TXN, av, &ar, &a, &aresp), 0);
        ck_assert_int_eq(aresp.results_by_topic_v3_and_below.n, 1);
        ck_assert_msg(aresp.results_by_topic_v3_and_below.v[0].results_by_partition.v[0]
                              .partition_error_code == 0,
                      "AddPartitionsToTxn v%d: error %d", av,
                      aresp.results_by_topic_v3_and_below.v[0].results_by_partition.v[0]
                          .partition_error_code);

        /* a transactional batch of 2 records */
        kw_wr w;
        kw__wr_init(&w);
        kw_batch_builder b;
        kw_batch_opts o = {.idempotent = true, .transactional = true,
                           .producer_id = iresp.producer_id,
                           .producer_epoch = iresp.producer_epoch, .base_sequence = 0};
        ck_assert_int_eq(kw__batch_begin(&b, &w, &o), 0);
        kw__batch_add(&b, 1700000000000LL, KW_BYTES_NULL, (kw_bytes){(const uint8_t *)"t1", 2},
                      NULL, 0);
        kw__batch_add(&b, 1700000000001LL, KW_BYTES_NULL, (kw_bytes){(const uint8_t *)"t2", 2},
                      NULL, 0);
        ck_assert_int_eq(kw__batch_finish(&b), 0);
        int pv = kt_version(&conn, KW_API_PRODUCE);
        kw_produce_req_partition pp = {.index = 0, .records = {w.buf, (int32_t)w.len}};
        kw_produce_req_topic pt = {.name = kw_str_c(topic)};
        pt.partition_data.v = &pp;
        pt.partition_data.n = 1;
        kw_produce_req preq;
        kw__schema_init(kw__api(KW_API_PRODUCE)->req, pv, &preq);
        preq.transactional_id = kw_str_c(txid);
        preq.acks = -1;
        preq.timeout_ms = 30000;
        preq.topic_data.v = &pt;
        preq.topic_data.n = 1;
        kw_produce_resp presp;
        for (int i = 0; i < 30; i++) { /* NOT_LEADER_OR_FOLLOWER (6) while metadata settles */
            ck_assert_int_eq(kt_call(&conn, KW_API_PRODUCE, pv, &preq, &a, &presp), 0);
            if (presp.responses.v[0].partition_responses.v[0].error_code != 6)
                break;
            usleep(200 * 1000);
        }
        ck_assert_msg(presp.responses.v[0].partition_responses.v[0].error_code == 0,
                      "transactional Produce (round %d, InitProducerId v%d, AddPartitionsToTxn v%d): error %d", r, iv, av,
                      presp.responses.v[0].partition_responses.v[0].error_code);
        kw__wr_free(&w);

        int ev = end_lo + r;
        kw_end_txn_req er = {.transactional_id = kw_str_c(txid),
                             .producer_id = iresp.producer_id,
                             .producer_epoch = iresp.producer_epoch,
                             .committed = r % 2 == 0};
        kw_end_txn_resp eresp;
        ck_assert_int_eq(kt_call(&conn, KW_API_END_TXN, ev, &er, &a, &eresp), 0);
        ck_assert_msg(eresp.error_code == 0, "EndTxn v%d: error %d", ev, eresp.error_code);
        expected_end += 3; /* two records and the marker */
        kw__arena_reset(&a);
    }
    /* every transaction left two records and one control marker, written asynchronously */
    int64_t end = -1;
    for (int i = 0; i < 50 && end != expected_end; i++) {
        ck_assert_int_eq(kt_list_offset(&conn, topic, kt_version(&conn, KW_API_LIST_OFFSETS), -1,
                                        &end),
                         0);
        if (end != expected_end)
            usleep(100 * 1000);
    }
    ck_assert_int_eq(end, expected_end);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("proto-broker-2");
    TCase *tc = tcase_create("broker");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, describe_configs_create_partitions_delete_topics_every_version);
    tcase_add_test(tc, sasl_handshake_and_authenticate_every_version);
    tcase_add_test(tc, consumer_group_flow_every_version);
    tcase_add_test(tc, init_producer_id_every_version_idempotent);
    tcase_add_test(tc, transaction_flow_every_client_version);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
