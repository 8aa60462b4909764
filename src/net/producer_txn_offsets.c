/* A transaction's consumed offsets: AddOffsetsToTxn, then TxnOffsetCommit to the group coordinator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/coord.h"
#include "net/producer_txn.h"
#include "proto/kerr.h"
#include "proto/msg.h"
#include "proto/msg_group2.h"

/*
 * Two steps, as the Java client takes them: AddOffsetsToTxn puts the group's
 * offsets partition in the transaction (so the coordinator writes a marker
 * there at the end), then TxnOffsetCommit hands the offsets to the group
 * coordinator, which holds them pending until the marker comes: they become
 * the group's committed offsets only if the transaction commits.  With a
 * member id and generation the group coordinator refuses a commit from a
 * member that is no longer in the group (ILLEGAL_GENERATION,
 * UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID): the transaction is then abortable.
 */

struct kw__producer_txn_offsets {
    char *group, *member_id, *instance_id;
    int32_t generation;
    kw_txn_offset_commit_req_topic *topics;
    size_t ntopics;
    kw_txn_offset_commit_req_partition *parts;
    char **strings; /* topic names and metadata, owned */
    size_t nstrings;
    int step; /* 0: AddOffsetsToTxn, 1: TxnOffsetCommit */
    kw_add_offsets_to_txn_req add;
    kw_txn_offset_commit_req commit;
};

void kw__producer_txn_offsets_free(kw__producer_txn_op *op)
{
    kw__producer_txn_offsets *o = op->offsets;
    if (!o)
        return;
    for (size_t i = 0; i < o->nstrings; i++)
        free(o->strings[i]);
    free(o->strings);
    free(o->topics);
    free(o->parts);
    free(o->group);
    free(o->member_id);
    free(o->instance_id);
    free(o);
    op->offsets = NULL;
}

static char *keep(kw__producer_txn_offsets *o, const char *s)
{
    char *c = strdup(s);
    if (c)
        o->strings[o->nstrings++] = c;
    return c;
}

int kw__producer_txn_offsets_copy(kw__producer_txn_op *op, const kw_producer_txn_offsets *in,
                                  char *why, size_t len)
{
    if (!in->group || !*in->group) {
        snprintf(why, len, "no group id");
        return KW_EINVAL;
    }
    if (in->count == 0 || !in->offsets) {
        snprintf(why, len, "no offsets for group %s", in->group);
        return KW_EINVAL;
    }
    for (size_t i = 0; i < in->count; i++) {
        const kw_client_committed *c = &in->offsets[i];
        if (!c->topic || !*c->topic || c->partition < 0 || c->offset < 0) {
            snprintf(why, len, "offset %zu for group %s: %s", i, in->group,
                     !c->topic || !*c->topic ? "no topic"
                     : c->partition < 0      ? "negative partition"
                                             : "negative offset");
            return KW_EINVAL;
        }
    }
    kw__producer_txn_offsets *o = calloc(1, sizeof(*o));
    if (!o)
        goto nomem;
    op->offsets = o;
    o->topics = calloc(in->count, sizeof(*o->topics));
    o->parts = calloc(in->count, sizeof(*o->parts));
    o->strings = calloc(2 * in->count, sizeof(*o->strings));
    o->group = strdup(in->group);
    o->member_id = in->member_id ? strdup(in->member_id) : NULL;
    o->instance_id = in->group_instance_id ? strdup(in->group_instance_id) : NULL;
    o->generation = in->member_id ? in->generation : -1;
    if (!o->topics || !o->parts || !o->strings || !o->group ||
        (in->member_id && !o->member_id) || (in->group_instance_id && !o->instance_id))
        goto nomem;
    /* grouped by topic, in the order topics first appear; each topic's partitions together */
    size_t np = 0;
    for (size_t i = 0; i < in->count; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(in->offsets[j].topic, in->offsets[i].topic) == 0;
        if (seen)
            continue;
        kw_txn_offset_commit_req_topic *t = &o->topics[o->ntopics++];
        const char *name = keep(o, in->offsets[i].topic);
        if (!name)
            goto nomem;
        t->name = kw_str_c(name);
        t->partitions.v = &o->parts[np];
        for (size_t j = i; j < in->count; j++) {
            const kw_client_committed *c = &in->offsets[j];
            if (strcmp(c->topic, name) != 0)
                continue;
            const char *meta = c->metadata ? keep(o, c->metadata) : NULL;
            if (c->metadata && !meta)
                goto nomem;
            o->parts[np++] = (kw_txn_offset_commit_req_partition){
                .partition_index = c->partition,
                .committed_offset = c->offset,
                .committed_leader_epoch = c->leader_epoch,
                .committed_metadata = kw_str_c(meta),
            };
            t->partitions.n++;
        }
    }
    return 0;
nomem:
    kw__producer_txn_offsets_free(op);
    snprintf(why, len, "out of memory");
    return KW_ENOMEM;
}

static int16_t add_kerr(const void *resp, int version)
{
    (void)version;
    return ((const kw_add_offsets_to_txn_resp *)resp)->error_code;
}

static int build_add(void *arg, int version, int32_t leader_epoch, const void **req)
{
    kw__producer_txn_op *op = arg;
    kw__producer_txn_offsets *o = op->offsets;
    (void)leader_epoch;
    kw__schema_init(kw__api(KW_API_ADD_OFFSETS_TO_TXN)->req, version, &o->add);
    o->add.transactional_id = kw_str_c(op->p->txn_id);
    o->add.producer_id = op->p->producer_id;
    o->add.producer_epoch = op->p->producer_epoch;
    o->add.group_id = kw_str_c(o->group);
    *req = &o->add;
    return 0;
}

/* The first partition error of a TxnOffsetCommit answer (its errors are all per partition). */
static int16_t commit_kerr(const void *resp, int version)
{
    const kw_txn_offset_commit_resp *r = resp;
    (void)version;
    for (int32_t i = 0; i < r->topics.n; i++)
        for (int32_t j = 0; j < r->topics.v[i].partitions.n; j++)
            if (r->topics.v[i].partitions.v[j].error_code)
                return r->topics.v[i].partitions.v[j].error_code;
    return 0;
}

static int build_commit(void *arg, int version, int32_t leader_epoch, const void **req)
{
    kw__producer_txn_op *op = arg;
    kw__producer_txn_offsets *o = op->offsets;
    (void)leader_epoch;
    kw__schema_init(kw__api(KW_API_TXN_OFFSET_COMMIT)->req, version, &o->commit);
    o->commit.transactional_id = kw_str_c(op->p->txn_id);
    o->commit.group_id = kw_str_c(o->group);
    o->commit.producer_id = op->p->producer_id;
    o->commit.producer_epoch = op->p->producer_epoch;
    o->commit.generation_id = o->generation;
    o->commit.member_id = kw_str_c(o->member_id ? o->member_id : "");
    o->commit.group_instance_id = kw_str_c(o->instance_id);
    o->commit.topics.v = o->topics;
    o->commit.topics.n = (int32_t)o->ntopics;
    *req = &o->commit;
    return 0;
}

static void step_done(const kw_cluster_result *res, void *arg)
{
    kw__producer_txn_op *op = arg;
    kw_producer *p = op->p;
    kw__producer_txn_offsets *o = op->offsets;
    p->loop_calls--;
    const char *what = o->step == 0 ? "AddOffsetsToTxn" : "TxnOffsetCommit";
    kw__producer_log(p, KW_LOG_DEBUG, "%s v%d for group %s: %s", what, res->version, o->group,
                     res->err    ? kw_strerror(res->err)
                     : res->kerr ? kw__kerr_name(res->kerr)
                                 : "ok");
    if (res->err) {
        kw__producer_txn_op_complete(op, res->err, res->kerr, "%s for group %s: %s", what,
                                     o->group,
                                     res->detail && *res->detail ? res->detail
                                                                 : kw_strerror(res->err));
        return;
    }
    if (res->kerr) {
        bool again = kw__producer_txn_retriable(res->kerr) ||
                     res->kerr == KW_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        if (again && kw__clock_now_ns() < op->deadline_ns) {
            kw__producer_txn_op_retry(op);
            return;
        }
        char text[200];
        snprintf(text, sizeof(text), "%s for group %s", what, o->group);
        kw__producer_txn_op_fail(op, text, res->kerr);
        return;
    }
    if (o->step == 0) {
        p->txn_started = true; /* the group's offsets partition is in the transaction */
        o->step = 1;
        op->tries = 0;
        kw__producer_txn_offsets_send(op);
        return;
    }
    kw__producer_txn_op_complete(op, 0, 0, "%s", "");
}

void kw__producer_txn_offsets_send(kw__producer_txn_op *op)
{
    kw_producer *p = op->p;
    kw__producer_txn_offsets *o = op->offsets;
    int rc;
    if (o->step == 0)
        rc = kw__coord_send(p->cl, KW_COORDINATOR_TRANSACTION, p->txn_id,
                            KW_API_ADD_OFFSETS_TO_TXN, build_add, op, add_kerr, op->deadline_ns,
                            step_done, op);
    else
        rc = kw__coord_send(p->cl, KW_COORDINATOR_GROUP, o->group, KW_API_TXN_OFFSET_COMMIT,
                            build_commit, op, commit_kerr, op->deadline_ns, step_done, op);
    if (rc) {
        kw__producer_txn_op_complete(op, rc, 0, "send_offsets_to_transaction: %s",
                                     kw_strerror(rc));
        return;
    }
    p->loop_calls++;
}
