/* The transactional producer: InitProducerId, AddPartitionsToTxn, EndTxn, states, fencing. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/coord.h"
#include "net/producer_id.h"
#include "net/producer_int.h"
#include "net/producer_txn.h"
#include "proto/kerr.h"
#include "proto/msg.h"

/*
 * Threads.  The public calls run on the host's threads: they check and move
 * the state under p->mu, post the work (an "op") to the loop thread and wait
 * for it like flush does.  Everything that talks to the coordinator runs on
 * the loop thread.  One op at a time: it hangs off p->txn_op (lock) until the
 * caller that started it, or a later call of the same kind after a timeout,
 * collects its result, so a commit retried after KW_ETIMEDOUT returns what
 * the first attempt's EndTxn came to.
 *
 * Errors, sorted as the Java client's TransactionManager sorts them:
 *  - fencing (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH,
 *    TRANSACTIONAL_ID_AUTHORIZATION_FAILED) anywhere: FATAL, KW_EFENCED;
 *  - INVALID_TXN_STATE, INVALID_PRODUCER_ID_MAPPING, UNSUPPORTED_VERSION,
 *    CLUSTER_AUTHORIZATION_FAILED from the coordinator: FATAL, KW_EBROKER
 *    (the coordinator and this producer disagree about the transaction);
 *  - a record or partition of the transaction that failed: ABORTABLE;
 *  - CONCURRENT_TRANSACTIONS (the previous transaction is still being
 *    completed) and the coordinator moving or loading: waited out.
 */

#define DEFAULT_TXN_TIMEOUT_MS 60000u
/*
 * CONCURRENT_TRANSACTIONS right after an EndTxn means the coordinator is
 * still writing the last transaction's markers, usually a few ms: ask again
 * after 2 ms, doubling up to 20 ms (the Java client waits 20 ms each time).
 */
#define RETRY_FIRST_MS 2u
#define RETRY_MAX_MS 20u

static uint64_t retry_delay(unsigned *tries)
{
    uint64_t ms = RETRY_FIRST_MS << (*tries < 4 ? *tries : 4);
    (*tries)++;
    return ms < RETRY_MAX_MS ? ms : RETRY_MAX_MS;
}
#define COORDINATOR_TIMEOUT_NS 30000000000ull

static const char *const op_names[] = {"init_transactions", "commit_transaction",
                                       "abort_transaction", "send_offsets_to_transaction"};

/* ---------------------------------------------------------------- classification */

bool kw__producer_txn_fencing(int16_t kerr)
{
    return kerr == KW_KERR_PRODUCER_FENCED || kerr == KW_KERR_INVALID_PRODUCER_EPOCH ||
           kerr == KW_KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
}

static bool coordinator_fatal(int16_t kerr)
{
    return kerr == KW_KERR_INVALID_TXN_STATE || kerr == 49 /* INVALID_PRODUCER_ID_MAPPING */ ||
           kerr == KW_KERR_UNSUPPORTED_VERSION || kerr == 31 /* CLUSTER_AUTHORIZATION_FAILED */;
}

/* Worth asking again: the coordinator is busy finishing the last transaction, or in motion. */
bool kw__producer_txn_retriable(int16_t kerr)
{
    return kerr == KW_KERR_CONCURRENT_TRANSACTIONS || kerr == KW_KERR_REQUEST_TIMED_OUT ||
           kerr == KW_KERR_COORDINATOR_LOAD_IN_PROGRESS ||
           kerr == KW_KERR_COORDINATOR_NOT_AVAILABLE || kerr == KW_KERR_NOT_COORDINATOR ||
           kerr == KW_KERR_NETWORK_EXCEPTION;
}

static void copy_text(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

/* Lock held: the producer is done for; every call fails with err from now on. */
static void set_fatal(kw_producer *p, int err, int16_t kerr, const char *why)
{
    if (p->txn_state == KW__TXN_FATAL)
        return;
    p->txn_state = KW__TXN_FATAL;
    p->txn_err = err;
    p->txn_kerr = kerr;
    copy_text(p->txn_why, sizeof(p->txn_why), why);
}

/* Lock held: the open transaction can only abort now. */
static void set_abortable(kw_producer *p, int err, int16_t kerr, const char *why)
{
    if (p->txn_state != KW__TXN_IN && p->txn_state != KW__TXN_COMMITTING)
        return; /* already failed, or aborting anyway */
    p->txn_state = KW__TXN_ABORTABLE;
    p->txn_err = err;
    p->txn_kerr = kerr;
    copy_text(p->txn_why, sizeof(p->txn_why), why);
}

void kw__producer_txn_failed(kw_producer *p, int err, int16_t kerr, const char *detail)
{
    if (err == KW_EFENCED || kw__producer_txn_fencing(kerr))
        set_fatal(p, KW_EFENCED, kerr, detail);
    else
        set_abortable(p, err, kerr, detail);
}

/* ---------------------------------------------------------------- options and sends */

int kw__producer_txn_options(kw_producer *p, const kw_producer_options *o, char *errbuf,
                             size_t errlen)
{
    const char *why = NULL;
    int err = KW_EINVAL;
    if (!o || !o->transactional_id)
        return 0;
    size_t n = strlen(o->transactional_id);
    if (n == 0)
        why = "transactional_id is empty (NULL: not transactional)";
    else if (n > 32767)
        why = "transactional_id is longer than 32767 bytes";
    else if (o->transaction_timeout_ms > INT32_MAX)
        why = "transaction_timeout_ms is above INT32_MAX";
    else if (!p->idempotent) {
        why = "a transactional producer needs idempotence (acks ALL with idempotence DEFAULT or "
              "ON): its batches carry the producer id and sequences the coordinator fences by";
        err = KW_ECONFIG;
    }
    if (why) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "producer options: %s", why);
        return err;
    }
    p->txn_id = strdup(o->transactional_id);
    if (!p->txn_id)
        return KW_ENOMEM;
    p->txn_timeout_ms =
        (int32_t)(o->transaction_timeout_ms ? o->transaction_timeout_ms : DEFAULT_TXN_TIMEOUT_MS);
    p->txn_state = KW__TXN_UNINIT;
    return 0;
}

/* Lock held: KW_EINVAL for a call the state does not allow, with the reason in last_error. */
static int state_error(kw_producer *p, const char *call)
{
    switch (p->txn_state) {
    case KW__TXN_FATAL:
        return kw__producer_fail(p, p->txn_err, "%s: the producer is unusable: %s", call,
                                 p->txn_why);
    case KW__TXN_ABORTABLE:
        return kw__producer_fail(p, p->txn_err,
                                 "%s: the transaction cannot commit (%s): abort it", call,
                                 p->txn_why);
    case KW__TXN_UNINIT:
    case KW__TXN_INITIALIZING:
        return kw__producer_fail(p, KW_EINVAL, "%s: call kw_producer_init_transactions first",
                                 call);
    case KW__TXN_READY:
        return kw__producer_fail(p, KW_EINVAL,
                                 "%s: no transaction is open (kw_producer_begin_transaction)",
                                 call);
    case KW__TXN_IN:
        return kw__producer_fail(p, KW_EINVAL, "%s: a transaction is already open", call);
    case KW__TXN_COMMITTING:
        return kw__producer_fail(p, KW_EINVAL, "%s: the transaction is being committed", call);
    default:
        return kw__producer_fail(p, KW_EINVAL, "%s: the transaction is being aborted", call);
    }
}

int kw__producer_txn_check_send(kw_producer *p)
{
    if (p->txn_state == KW__TXN_IN)
        return 0;
    return state_error(p, "send");
}

/* ---------------------------------------------------------------- adding partitions */

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
static void op_continue(kw_producer *p);

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
            set_fatal(p, KW_EFENCED, pk, why);
        else if (coordinator_fatal(pk))
            set_fatal(p, KW_EBROKER, pk, why);
        else if (pk != 55 /* OPERATION_NOT_ATTEMPTED: another partition failed */)
            set_abortable(p, err ? err : KW_EBROKER, pk, why);
        pthread_mutex_unlock(&p->mu);
        kw__producer_log(p, KW_LOG_WARN, "%s", why);
    }
    p->txn_adding = false;
    add_call_free(a);
    kw__producer_run(p); /* added partitions send; failed ones fail their batches */
    op_continue(p);      /* a commit or abort waiting for the adds */
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
        kw__loop_timer_start(&a->timer, retry_delay(&a->tries));
        return;
    }
    add_finish(a, 0, 0, NULL, res->resp);
}

void kw__producer_txn_add(kw_producer *p)
{
    if (p->txn_adding)
        return;
    size_t want = 0, ntopics = 0;
    kw__producer_topic *end = kw__producer_topics_end(p);
    for (kw__producer_topic *t = end ? p->topics : NULL; t; t = t == end ? NULL : t->next) {
        bool any = false;
        for (int32_t j = 0; t->parts && j < t->nparts; j++)
            if (t->parts[j].txn == KW__TXP_WANTED) {
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
        set_abortable(p, KW_ENOMEM, 0, "AddPartitionsToTxn: out of memory");
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

/* ---------------------------------------------------------------- ops (loop side) */

static void op_send(kw__producer_txn_op *op);

/* Loop: the op is over; the waiting caller collects it. */
void kw__producer_txn_op_complete(kw__producer_txn_op *op, int rc, int16_t kerr,
                                  const char *fmt, ...)
{
    kw_producer *p = op->p;
    if (op->timer_ready)
        kw__loop_timer_stop(&op->timer);
    p->txn_op = NULL;
    char detail[sizeof(op->detail)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    if (rc)
        kw__producer_log(p, KW_LOG_WARN, "%s: %s", op_names[op->kind], detail);
    /* once done is set the caller may free op at any moment: nothing touches it after */
    pthread_mutex_lock(&p->mu);
    op->rc = rc;
    op->kerr = kerr;
    memcpy(op->detail, detail, sizeof(detail));
    op->done = true;
    if (p->waiters)
        pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Loop: the transaction is over; every partition leaves it. */
static void txn_reset(kw_producer *p)
{
    p->txn_started = false;
    p->txn_bump = false;
    kw__producer_topic *end = kw__producer_topics_end(p);
    for (kw__producer_topic *t = end ? p->topics : NULL; t; t = t == end ? NULL : t->next)
        for (int32_t j = 0; t->parts && j < t->nparts; j++)
            t->parts[j].txn = KW__TXP_NONE;
}

static void op_retry_timer(kw_loop_timer *timer, void *arg)
{
    (void)timer;
    kw__producer_txn_op *op = arg;
    op->p->loop_calls--;
    op_send(op);
}

void kw__producer_txn_op_retry(kw__producer_txn_op *op)
{
    kw_producer *p = op->p;
    if (!op->timer_ready) {
        kw__loop_timer_init(p->loop, &op->timer, op_retry_timer, op);
        op->timer_ready = true;
    }
    p->loop_calls++;
    kw__loop_timer_start(&op->timer, retry_delay(&op->tries));
}

/* Loop: the coordinator's error kerr for op; fencing and fatal errors end the producer. */
void kw__producer_txn_op_fail(kw__producer_txn_op *op, const char *what, int16_t kerr)
{
    kw_producer *p = op->p;
    char why[320];
    int rc = KW_EBROKER;
    const char *hint = "";
    if (kw__producer_txn_fencing(kerr) && kerr != KW_KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
        hint = " (a newer producer with this transactional id fenced this one)";
    else if (kerr == KW_KERR_INVALID_TXN_STATE)
        hint = " (the coordinator ended the transaction already: it outlived "
               "transaction_timeout_ms, or a newer producer took the id over)";
    snprintf(why, sizeof(why), "%s for transactional id %s: %s%s", what, p->txn_id,
             kw__kerr_name(kerr), hint);
    pthread_mutex_lock(&p->mu);
    if (kw__producer_txn_fencing(kerr)) {
        rc = KW_EFENCED;
        set_fatal(p, rc, kerr, why);
    } else if (coordinator_fatal(kerr)) {
        set_fatal(p, rc, kerr, why);
    } else if (op->kind == OP_INIT) {
        p->txn_state = KW__TXN_UNINIT; /* init may be called again */
    } else if (op->kind == OP_COMMIT) {
        p->txn_state = KW__TXN_COMMITTING;
        set_abortable(p, rc, kerr, why);
    } else if (op->kind == OP_OFFSETS) {
        set_abortable(p, rc, kerr, why);
    }
    pthread_mutex_unlock(&p->mu);
    kw__producer_txn_op_complete(op, rc, kerr, "%s", why);
}

static int16_t init_kerr(const void *resp, int version)
{
    (void)version;
    return ((const kw_init_producer_id_resp *)resp)->error_code;
}

static int build_init(void *arg, int version, int32_t leader_epoch, const void **req)
{
    kw__producer_txn_op *op = arg;
    kw_producer *p = op->p;
    (void)leader_epoch;
    /* a first init asks for the id afresh; the bump after an abort asks with the current one */
    kw__producer_id_request(&op->init, version, p->txn_id, p->txn_timeout_ms,
                            op->kind == OP_INIT ? -1 : p->producer_id,
                            op->kind == OP_INIT ? -1 : p->producer_epoch);
    *req = &op->init;
    return 0;
}

static void init_done(const kw_cluster_result *res, void *arg)
{
    kw__producer_txn_op *op = arg;
    kw_producer *p = op->p;
    p->loop_calls--;
    const kw_init_producer_id_resp *r = res->resp;
    if (res->err) {
        if (op->kind == OP_INIT) {
            pthread_mutex_lock(&p->mu);
            p->txn_state = KW__TXN_UNINIT;
            pthread_mutex_unlock(&p->mu);
        }
        kw__producer_txn_op_complete(op, res->err, res->kerr, "InitProducerId for transactional id %s: %s",
                    p->txn_id, res->detail && *res->detail ? res->detail : kw_strerror(res->err));
        return;
    }
    if (res->kerr) {
        if (kw__producer_txn_retriable(res->kerr) && kw__clock_now_ns() < op->deadline_ns) {
            kw__producer_txn_op_retry(op); /* CONCURRENT_TRANSACTIONS: the id's last transaction is ending */
            return;
        }
        kw__producer_txn_op_fail(op, "InitProducerId", res->kerr);
        return;
    }
    p->producer_id = r->producer_id;
    p->producer_epoch = r->producer_epoch;
    p->pid_state = KW__PID_READY;
    kw__producer_reset_sequences(p);
    kw__producer_log(p, KW_LOG_INFO, "transactional id %s: producer id %lld epoch %d", p->txn_id,
                     (long long)p->producer_id, p->producer_epoch);
    if (op->kind == OP_ABORT)
        txn_reset(p);
    pthread_mutex_lock(&p->mu);
    if (p->txn_state != KW__TXN_FATAL)
        p->txn_state = KW__TXN_READY;
    pthread_mutex_unlock(&p->mu);
    kw__producer_txn_op_complete(op, 0, 0, "%s", "");
}

static int16_t end_kerr(const void *resp, int version)
{
    (void)version;
    return ((const kw_end_txn_resp *)resp)->error_code;
}

static int build_end(void *arg, int version, int32_t leader_epoch, const void **req)
{
    kw__producer_txn_op *op = arg;
    kw_producer *p = op->p;
    (void)leader_epoch;
    kw__schema_init(kw__api(KW_API_END_TXN)->req, version, &op->end);
    op->end.transactional_id = kw_str_c(p->txn_id);
    op->end.producer_id = p->producer_id;
    op->end.producer_epoch = p->producer_epoch;
    op->end.committed = op->kind == OP_COMMIT;
    *req = &op->end;
    return 0;
}

static void end_done(const kw_cluster_result *res, void *arg)
{
    kw__producer_txn_op *op = arg;
    kw_producer *p = op->p;
    p->loop_calls--;
    const kw_end_txn_resp *r = res->resp;
    const char *what = op->kind == OP_COMMIT ? "EndTxn (commit)" : "EndTxn (abort)";
    kw__producer_log(p, KW_LOG_DEBUG, "%s v%d: %s", what, res->version,
                     res->err ? kw_strerror(res->err) : res->kerr ? kw__kerr_name(res->kerr) : "ok");
    if (res->err) {
        /* the outcome is unknown: the state stays, and the caller may call again */
        kw__producer_txn_op_complete(op, res->err, res->kerr, "%s for transactional id %s: %s", what, p->txn_id,
                    res->detail && *res->detail ? res->detail : kw_strerror(res->err));
        return;
    }
    if (res->kerr) {
        if (kw__producer_txn_retriable(res->kerr) && kw__clock_now_ns() < op->deadline_ns) {
            kw__producer_txn_op_retry(op);
            return;
        }
        kw__producer_txn_op_fail(op, what, res->kerr);
        return;
    }
    /* KIP-890 (EndTxn v5): the coordinator bumped the epoch; sequences start over under it */
    bool bumped = false;
    if (res->version >= 5 && r->producer_id >= 0 && r->producer_epoch >= 0) {
        bumped = r->producer_id != p->producer_id || r->producer_epoch != p->producer_epoch;
        p->producer_id = r->producer_id;
        p->producer_epoch = r->producer_epoch;
        kw__producer_reset_sequences(p);
    }
    if (op->kind == OP_ABORT && p->txn_bump && !bumped) {
        /* a batch's fate was unknown: a new epoch makes the broker forget its sequences */
        op->bump = true;
        op_send(op);
        return;
    }
    txn_reset(p);
    pthread_mutex_lock(&p->mu);
    if (p->txn_state != KW__TXN_FATAL)
        p->txn_state = KW__TXN_READY;
    pthread_mutex_unlock(&p->mu);
    kw__producer_txn_op_complete(op, 0, 0, "%s", "");
}

/* Loop: sends the op's next request. */
static void op_send(kw__producer_txn_op *op)
{
    kw_producer *p = op->p;
    int rc;
    uint64_t deadline = op->deadline_ns;
    uint64_t cap = kw__clock_now_ns() + COORDINATOR_TIMEOUT_NS;
    if (deadline > cap)
        deadline = cap;
    if (op->kind == OP_INIT || (op->kind == OP_ABORT && op->bump)) {
        rc = kw__coord_send(p->cl, KW_COORDINATOR_TRANSACTION, p->txn_id,
                            KW_API_INIT_PRODUCER_ID, build_init, op, init_kerr, deadline,
                            init_done, op);
    } else if (op->kind == OP_COMMIT || op->kind == OP_ABORT) {
        if (p->txn_adding) {
            op->waiting_adds = true; /* add_finish continues */
            return;
        }
        if (!p->txn_started) { /* nothing was added: nothing for the coordinator to end */
            if (op->kind == OP_ABORT && p->txn_bump) {
                op->bump = true;
                op_send(op);
                return;
            }
            txn_reset(p);
            pthread_mutex_lock(&p->mu);
            if (p->txn_state != KW__TXN_FATAL)
                p->txn_state = KW__TXN_READY;
            pthread_mutex_unlock(&p->mu);
            kw__producer_txn_op_complete(op, 0, 0, "%s", "");
            return;
        }
        rc = kw__coord_send(p->cl, KW_COORDINATOR_TRANSACTION, p->txn_id, KW_API_END_TXN,
                            build_end, op, end_kerr, deadline, end_done, op);
    } else {
        kw__producer_txn_offsets_send(op);
        return;
    }
    if (rc) {
        kw__producer_txn_op_complete(op, rc, 0, "%s: %s", op_names[op->kind], kw_strerror(rc));
        return;
    }
    p->loop_calls++;
}

static void op_continue(kw_producer *p)
{
    kw__producer_txn_op *op = p->txn_op;
    if (op && op->waiting_adds && !p->txn_adding) {
        op->waiting_adds = false;
        op_send(op);
    }
}

static void op_task(kw_loop *loop, void *arg)
{
    (void)loop;
    kw__producer_txn_op *op = arg;
    op->p->txn_op = op;
    op_send(op);
}

/* ---------------------------------------------------------------- ops (caller side) */

static bool op_finished(const kw_producer *p, uint64_t arg)
{
    (void)p;
    return ((const kw__producer_txn_op *)(uintptr_t)arg)->done;
}

/*
 * Runs an op of kind: the one of this kind still out after an earlier call
 * timed out, else a new one.  Lock held on entry, released on return.
 * Returns its rc (last_error has the detail) or KW_ETIMEDOUT (the op goes on).
 */
static void op_free(kw__producer_txn_op *op)
{
    if (op) {
        kw__producer_txn_offsets_free(op);
        free(op);
    }
}

static int op_run(kw_producer *p, int kind, int timeout_ms, const kw_producer_txn_offsets *offsets)
{
    kw__producer_txn_op *op = p->txn_op_pending;
    if (op && op->kind != kind) {
        if (!op->done) {
            int rc = kw__producer_fail(p, KW_EAGAIN, "%s: %s is still in progress",
                                       op_names[kind], op_names[op->kind]);
            pthread_mutex_unlock(&p->mu);
            return rc;
        }
        op_free(op); /* a finished op nobody came back for */
        op = p->txn_op_pending = NULL;
    }
    if (!op) {
        op = calloc(1, sizeof(*op));
        if (!op) {
            pthread_mutex_unlock(&p->mu);
            return KW_ENOMEM;
        }
        op->p = p;
        op->kind = kind;
        if (offsets) {
            char why[256];
            int rc = kw__producer_txn_offsets_copy(op, offsets, why, sizeof(why));
            if (rc) {
                rc = kw__producer_fail(p, rc, "%s: %s", op_names[kind], why);
                pthread_mutex_unlock(&p->mu);
                op_free(op);
                return rc;
            }
        }
        op->deadline_ns = kw__producer_deadline(timeout_ms);
        if (op->deadline_ns == UINT64_MAX) /* no limit: the coordinator calls still end */
            op->deadline_ns = kw__clock_now_ns() + p->delivery_timeout_ns;
        p->txn_op_pending = op;
        pthread_mutex_unlock(&p->mu);
        if (kw__loop_post(p->loop, op_task, NULL, op) != 0) {
            pthread_mutex_lock(&p->mu);
            p->txn_op_pending = NULL;
            pthread_mutex_unlock(&p->mu);
            op_free(op);
            return KW_ECLOSED;
        }
    } else {
        pthread_mutex_unlock(&p->mu);
    }
    int rc = kw__producer_wait(p, op_finished, (uint64_t)(uintptr_t)op,
                               kw__producer_deadline(timeout_ms));
    pthread_mutex_lock(&p->mu);
    if (!op->done) {
        rc = kw__producer_fail(p, KW_ETIMEDOUT, "%s: timed out after %d ms (call it again to "
                               "keep waiting)", op_names[kind], timeout_ms);
        pthread_mutex_unlock(&p->mu);
        return rc;
    }
    rc = op->rc;
    if (rc)
        kw__producer_fail(p, rc, "%s", op->detail);
    p->txn_op_pending = NULL;
    pthread_mutex_unlock(&p->mu);
    op_free(op);
    return rc;
}

/* The checks every public transaction call makes; 0 to go on (lock held on return then). */
static int enter(kw_producer *p, const char *call)
{
    if (!p)
        return KW_EINVAL;
    if (!p->txn_id) {
        pthread_mutex_lock(&p->mu);
        int rc = kw__producer_fail(p, KW_EINVAL,
                                   "%s: the producer has no transactional_id", call);
        pthread_mutex_unlock(&p->mu);
        return rc;
    }
    int rc = kw__client_can_block(p->c);
    if (rc)
        return rc;
    pthread_mutex_lock(&p->mu);
    return 0;
}

KW_API int kw_producer_init_transactions(kw_producer *p, int timeout_ms)
{
    int rc = enter(p, op_names[OP_INIT]);
    if (rc)
        return rc;
    bool resume = p->txn_op_pending && p->txn_op_pending->kind == OP_INIT;
    if (p->txn_state != KW__TXN_UNINIT && !resume) {
        rc = p->txn_state == KW__TXN_FATAL ? state_error(p, op_names[OP_INIT])
                                           : kw__producer_fail(p, KW_EINVAL,
                                                               "init_transactions: already "
                                                               "initialised");
        pthread_mutex_unlock(&p->mu);
        return rc;
    }
    p->txn_state = KW__TXN_INITIALIZING;
    return op_run(p, OP_INIT, timeout_ms, NULL);
}

KW_API int kw_producer_begin_transaction(kw_producer *p)
{
    if (!p)
        return KW_EINVAL;
    if (!p->txn_id) {
        pthread_mutex_lock(&p->mu);
        int rc = kw__producer_fail(p, KW_EINVAL,
                                   "begin_transaction: the producer has no transactional_id");
        pthread_mutex_unlock(&p->mu);
        return rc;
    }
    pthread_mutex_lock(&p->mu);
    int rc = 0;
    if (p->txn_state == KW__TXN_READY)
        p->txn_state = KW__TXN_IN;
    else
        rc = state_error(p, "begin_transaction");
    pthread_mutex_unlock(&p->mu);
    return rc;
}

KW_API int kw_producer_commit_transaction(kw_producer *p, int timeout_ms)
{
    int rc = enter(p, op_names[OP_COMMIT]);
    if (rc)
        return rc;
    bool resume = p->txn_op_pending && p->txn_op_pending->kind == OP_COMMIT;
    if (!resume && p->txn_state != KW__TXN_IN && p->txn_state != KW__TXN_COMMITTING) {
        rc = state_error(p, op_names[OP_COMMIT]);
        pthread_mutex_unlock(&p->mu);
        return rc;
    }
    if (!resume) {
        p->txn_state = KW__TXN_COMMITTING; /* sends are refused from here */
        pthread_mutex_unlock(&p->mu);
        uint64_t deadline = kw__producer_deadline(timeout_ms);
        rc = kw__producer_flush_wait(p, timeout_ms);
        pthread_mutex_lock(&p->mu);
        if (rc) {
            rc = kw__producer_fail(p, rc, "commit_transaction: the transaction's records were "
                                          "not all delivered in %d ms",
                                   timeout_ms);
            pthread_mutex_unlock(&p->mu);
            return rc;
        }
        if (p->txn_state != KW__TXN_COMMITTING) { /* a record failed: abortable, or fenced */
            rc = state_error(p, op_names[OP_COMMIT]);
            pthread_mutex_unlock(&p->mu);
            return rc;
        }
        if (deadline != UINT64_MAX) {
            uint64_t now = kw__clock_now_ns();
            timeout_ms = deadline > now ? (int)((deadline - now) / 1000000u) : 0;
        }
    }
    return op_run(p, OP_COMMIT, timeout_ms, NULL);
}

KW_API int kw_producer_abort_transaction(kw_producer *p, int timeout_ms)
{
    int rc = enter(p, op_names[OP_ABORT]);
    if (rc)
        return rc;
    bool resume = p->txn_op_pending && p->txn_op_pending->kind == OP_ABORT;
    int s = p->txn_state;
    if (!resume && s != KW__TXN_IN && s != KW__TXN_ABORTABLE && s != KW__TXN_COMMITTING &&
        s != KW__TXN_ABORTING) {
        rc = state_error(p, op_names[OP_ABORT]);
        pthread_mutex_unlock(&p->mu);
        return rc;
    }
    if (!resume) {
        /* records not sent yet fail now; those out are waited for (their outcome is moot) */
        p->txn_state = KW__TXN_ABORTING;
        pthread_mutex_unlock(&p->mu);
        uint64_t deadline = kw__producer_deadline(timeout_ms);
        rc = kw__producer_flush_wait(p, timeout_ms);
        pthread_mutex_lock(&p->mu);
        if (rc) {
            rc = kw__producer_fail(p, rc, "abort_transaction: records still out after %d ms",
                                   timeout_ms);
            pthread_mutex_unlock(&p->mu);
            return rc;
        }
        if (p->txn_state == KW__TXN_FATAL) {
            rc = state_error(p, op_names[OP_ABORT]);
            pthread_mutex_unlock(&p->mu);
            return rc;
        }
        if (deadline != UINT64_MAX) {
            uint64_t now = kw__clock_now_ns();
            timeout_ms = deadline > now ? (int)((deadline - now) / 1000000u) : 0;
        }
    }
    return op_run(p, OP_ABORT, timeout_ms, NULL);
}

KW_API int kw_producer_send_offsets_to_transaction(kw_producer *p,
                                                   const kw_producer_txn_offsets *offsets,
                                                   int timeout_ms)
{
    int rc = enter(p, op_names[OP_OFFSETS]);
    if (rc)
        return rc;
    bool resume = p->txn_op_pending && p->txn_op_pending->kind == OP_OFFSETS;
    if (!resume && p->txn_state != KW__TXN_IN) {
        rc = state_error(p, op_names[OP_OFFSETS]);
        pthread_mutex_unlock(&p->mu);
        return rc;
    }
    if (!offsets) {
        rc = kw__producer_fail(p, KW_EINVAL, "send_offsets_to_transaction: offsets is NULL");
        pthread_mutex_unlock(&p->mu);
        return rc;
    }
    return op_run(p, OP_OFFSETS, timeout_ms, offsets);
}

void kw__producer_txn_free(kw_producer *p)
{
    op_free(p->txn_op_pending); /* destroy waited: no loop call refers to it */
    free(p->txn_id);
}
