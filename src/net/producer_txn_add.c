/* A transactional producer's partitions joining its transaction: AddPartitionsToTxn or Produce. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/coord.h"
#include "net/producer_txn.h"
#include "proto/kerr.h"
#include "proto/msg.h"

bool kw__producer_txn_may_send(kw_producer *p, kw__producer_partition *pt, int *fail)
{
    pthread_mutex_lock(&p->mu);
    int state = p->txn_state;
    int err = p->txn_err;
    pthread_mutex_unlock(&p->mu);
    if (state == KW__TXN_FATAL || state == KW__TXN_ABORTABLE) {
        *fail = err;
        return false;
    }
    if (state == KW__TXN_ABORTING) {
        *fail = KW_ECLOSED;
        return false;
    }
    if (p->txn_v2) {
        /* KIP-890 part 2: the Produce (v12) adds the partition itself */
        pt->txn = KW__TXP_ADDED;
        p->txn_started = true;
        return true;
    }
    if (pt->txn == KW__TXP_ADDED)
        return true;
    if (pt->txn == KW__TXP_NONE)
        pt->txn = KW__TXP_WANTED;
    return false;
}

typedef struct add_call {
    kw_producer *p;
    kw__producer_partition **parts;
    size_t nparts;
    int32_t *indexes;
    kw_add_partitions_to_txn_req_topic *topics;
    size_t ntopics;
    kw_add_partitions_to_txn_req_transaction txn;
    kw_add_partitions_to_txn_req req;
    uint64_t deadline_ns;
    kw_loop_timer timer;
    bool timer_ready;
    unsigned tries; /* retries so far (the backoff grows) */
} add_call;

static void add_call_free(add_call *a)
{
    free(a->parts);
    free(a->indexes);
    free(a->topics);
    free(a);
}

static int build_add(void *arg, int version, int32_t leader_epoch, const void **req)
{
    add_call *a = arg;
    kw_producer *p = a->p;
    (void)leader_epoch;
    kw__schema_init(kw__api(KW_API_ADD_PARTITIONS_TO_TXN)->req, version, &a->req);
    if (version <= 3) {
        a->req.v3_and_below_transactional_id = kw_str_c(p->txn_id);
        a->req.v3_and_below_producer_id = p->producer_id;
        a->req.v3_and_below_producer_epoch = p->producer_epoch;
        a->req.v3_and_below_topics.v = a->topics;
        a->req.v3_and_below_topics.n = a->ntopics;
    } else {
        /* the batched form brokers use; verify_only false asks to add, as v3 does */
        a->txn = (kw_add_partitions_to_txn_req_transaction){
            .transactional_id = kw_str_c(p->txn_id),
            .producer_id = p->producer_id,
            .producer_epoch = p->producer_epoch,
            .verify_only = false,
        };
        a->txn.topics.v = a->topics;
        a->txn.topics.n = a->ntopics;
        a->req.transactions.v = &a->txn;
        a->req.transactions.n = 1;
    }
    *req = &a->req;
    return 0;
}

/* The partition results of either response form. */
static void add_results(const kw_add_partitions_to_txn_resp *r,
                        const kw_add_partitions_to_txn_resp_topic_result **v, size_t *n)
{
    if (r->results_by_transaction.n > 0) {
        *v = r->results_by_transaction.v[0].topic_results.v;
        *n = r->results_by_transaction.v[0].topic_results.n;
    } else {
        *v = r->results_by_topic_v3_and_below.v;
        *n = r->results_by_topic_v3_and_below.n;
    }
}

/* The first error of the response: the top-level one (v4+), else the first partition's. */
static int16_t add_kerr(const void *resp, int version)
{
    const kw_add_partitions_to_txn_resp *r = resp;
    (void)version;
    if (r->error_code)
        return r->error_code;
    const kw_add_partitions_to_txn_resp_topic_result *v;
    size_t n;
    add_results(r, &v, &n);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < (size_t)v[i].results_by_partition.n; j++)
            if (v[i].results_by_partition.v[j].partition_error_code)
                return v[i].results_by_partition.v[j].partition_error_code;
    return 0;
}

static void add_done(const kw_cluster_result *res, void *arg);

static int add_send(add_call *a)
{
    kw_producer *p = a->p;
    int rc = kw__coord_send(p->cl, KW_COORDINATOR_TRANSACTION, p->txn_id,
                            KW_API_ADD_PARTITIONS_TO_TXN, build_add, a, add_kerr, a->deadline_ns,
                            add_done, a);
    if (rc == 0)
        p->loop_calls++;
    return rc;
}

static void add_retry(kw_loop_timer *timer, void *arg)
{
    (void)timer;
    add_call *a = arg;
    kw_producer *p = a->p;
    p->loop_calls--;
    if (add_send(a) != 0) {
        kw_cluster_result res = {.err = KW_ENOMEM, .detail = "AddPartitionsToTxn: out of memory"};
        p->loop_calls++;
        add_done(&res, a);
    }
}

/* Ends an AddPartitionsToTxn: its partitions are added, or the transaction is abortable. */
static void add_finish(add_call *a, int err, int16_t kerr, const char *detail,
                       const kw_add_partitions_to_txn_resp *r)
{
    kw_producer *p = a->p;
    const kw_add_partitions_to_txn_resp_topic_result *v = NULL;
    size_t n = 0;
    if (r)
        add_results(r, &v, &n);
    char why[400];
    for (size_t k = 0; k < a->nparts; k++) {
        kw__producer_partition *pt = a->parts[k];
        int16_t pk = err ? kerr : 0;
        if (!err) {
            pk = KW_KERR_UNKNOWN_SERVER_ERROR; /* not in the answer */
            for (size_t i = 0; i < n; i++) {
                if (!kw_str_eq(v[i].name, pt->topic->name))
                    continue;
                for (size_t j = 0; j < (size_t)v[i].results_by_partition.n; j++)
                    if (v[i].results_by_partition.v[j].partition_index == pt->index)
                        pk = v[i].results_by_partition.v[j].partition_error_code;
            }
        }
        if (!err && pk == 0) {
            pt->txn = KW__TXP_ADDED;
            p->txn_started = true;
            continue;
        }
        pt->txn = KW__TXP_NONE;
        if (err)
            snprintf(why, sizeof(why), "AddPartitionsToTxn %s/%d: %s", pt->topic->name,
                     pt->index, detail && *detail ? detail : kw_strerror(err));
        else
            snprintf(why, sizeof(why), "AddPartitionsToTxn %s/%d: %s", pt->topic->name,
                     pt->index, kw__kerr_name(pk));
        pthread_mutex_lock(&p->mu);
        if (kw__producer_txn_fencing(pk))
            kw__producer_txn_set_fatal(p, KW_EFENCED, pk, why);
        else if (kw__producer_txn_coordinator_fatal(pk))
            kw__producer_txn_set_fatal(p, KW_EBROKER, pk, why);
        else if (pk != 55 /* OPERATION_NOT_ATTEMPTED: another partition failed */)
            kw__producer_txn_set_abortable(p, err ? err : KW_EBROKER, pk, why);
        pthread_mutex_unlock(&p->mu);
        kw__producer_log(p, KW_LOG_WARN, "%s", why);
    }
    p->txn_adding = false;
    add_call_free(a);
    kw__producer_run(p); /* added partitions send; failed ones fail their batches */
    kw__producer_txn_op_continue(p);      /* a commit or abort waiting for the adds */
}

static void add_done(const kw_cluster_result *res, void *arg)
{
    add_call *a = arg;
    kw_producer *p = a->p;
    p->loop_calls--;
    if (res->err) {
        add_finish(a, res->err, res->kerr, res->detail, NULL);
        return;
    }
    kw__producer_log(p, KW_LOG_DEBUG, "AddPartitionsToTxn v%d (%zu partitions): %s", res->version,
                     a->nparts, res->kerr ? kw__kerr_name(res->kerr) : "ok");
    if (kw__producer_txn_retriable(res->kerr) && kw__clock_now_ns() < a->deadline_ns) {
        /* CONCURRENT_TRANSACTIONS: the last transaction's markers are still being written */
        if (!a->timer_ready) {
            kw__loop_timer_init(p->loop, &a->timer, add_retry, a);
            a->timer_ready = true;
        }
        p->loop_calls++;
        kw__loop_timer_start(&a->timer, kw__producer_txn_retry_delay(&a->tries));
        return;
    }
    add_finish(a, 0, 0, NULL, res->resp);
}

void kw__producer_txn_add(kw_producer *p)
{
    if (p->txn_adding)
        return;
    pthread_mutex_lock(&p->mu);
    int state = p->txn_state;
    pthread_mutex_unlock(&p->mu);
    /* aborting or failed: the partitions wanted need not join (their batches fail) */
    bool drop = state != KW__TXN_IN && state != KW__TXN_COMMITTING;
    size_t want = 0, ntopics = 0;
    kw__producer_topic *end = kw__producer_topics_end(p);
    for (kw__producer_topic *t = end ? p->topics : NULL; t; t = t == end ? NULL : t->next) {
        bool any = false;
        for (int32_t j = 0; t->parts && j < t->nparts; j++)
            if (t->parts[j].txn == KW__TXP_WANTED) {
                if (drop) {
                    t->parts[j].txn = KW__TXP_NONE;
                    continue;
                }
                want++;
                any = true;
            }
        ntopics += any;
    }
    if (want == 0)
        return;
    add_call *a = calloc(1, sizeof(*a));
    if (a) {
        a->parts = calloc(want, sizeof(*a->parts));
        a->indexes = calloc(want, sizeof(*a->indexes));
        a->topics = calloc(ntopics, sizeof(*a->topics));
    }
    if (!a || !a->parts || !a->indexes || !a->topics) {
        if (a)
            add_call_free(a);
        pthread_mutex_lock(&p->mu);
        kw__producer_txn_set_abortable(p, KW_ENOMEM, 0, "AddPartitionsToTxn: out of memory");
        pthread_mutex_unlock(&p->mu);
        return; /* the next round fails the waiting batches */
    }
    a->p = p;
    /* every partition new to the transaction in this round, in one request */
    for (kw__producer_topic *t = p->topics; t; t = t == end ? NULL : t->next) {
        kw_add_partitions_to_txn_req_topic *rt = NULL;
        for (int32_t j = 0; t->parts && j < t->nparts; j++) {
            kw__producer_partition *pt = &t->parts[j];
            if (pt->txn != KW__TXP_WANTED)
                continue;
            if (!rt) {
                rt = &a->topics[a->ntopics++];
                rt->name = kw_str_c(t->name);
                rt->partitions.v = &a->indexes[a->nparts];
            }
            pt->txn = KW__TXP_ADDING;
            a->indexes[a->nparts] = pt->index;
            a->parts[a->nparts++] = pt;
            rt->partitions.n++;
        }
    }
    a->deadline_ns = kw__clock_now_ns() + p->delivery_timeout_ns;
    p->txn_adding = true;
    if (add_send(a) != 0)
        add_finish(a, KW_ENOMEM, 0, "out of memory", NULL);
}

