/* What the transactional producer's files share: the blocking call being carried out (an "op"). */
#ifndef KW_NET_PRODUCER_TXN_H
#define KW_NET_PRODUCER_TXN_H

#include "net/producer_int.h"
#include "proto/msg_group.h"

enum kw__producer_txn_op_kind { OP_INIT, OP_COMMIT, OP_ABORT, OP_OFFSETS };

typedef struct kw__producer_txn_offsets kw__producer_txn_offsets;

/*
 * One public transaction call's work on the loop thread.  The caller
 * allocates it and frees it once done is set (or the producer does, at
 * destroy); the loop touches it only until it sets done.
 */
struct kw__producer_txn_op {
    kw_producer *p;
    int kind; /* enum kw__producer_txn_op_kind */
    uint64_t deadline_ns;
    bool done; /* lock: the loop finished; rc, kerr, detail hold the outcome */
    int rc;
    int16_t kerr;
    char detail[320];
    /* loop */
    bool bump;         /* OP_ABORT: InitProducerId with the current id after EndTxn */
    bool waiting_adds; /* OP_COMMIT / OP_ABORT: an AddPartitionsToTxn is still out */
    kw_loop_timer timer;
    bool timer_ready;
    unsigned tries; /* retries so far (the backoff grows) */
    kw_init_producer_id_req init;
    kw_end_txn_req end;
    kw__producer_txn_offsets *offsets; /* OP_OFFSETS: the caller's offsets, copied */
};

/* producer_txn.c (loop thread) */
/* The op is over with rc (0 or KW_E*), kerr and the detail: the waiting caller collects it. */
void kw__producer_txn_op_complete(kw__producer_txn_op *op, int rc, int16_t kerr,
                                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Sends the op's current request again after a short, growing backoff. */
void kw__producer_txn_op_retry(kw__producer_txn_op *op);
/* Ends the op with the coordinator's error kerr to `what`: fencing and fatal errors end the
 * producer, the others leave the transaction abortable. */
void kw__producer_txn_op_fail(kw__producer_txn_op *op, const char *what, int16_t kerr);
/* A coordinator error worth asking again for (CONCURRENT_TRANSACTIONS, a coordinator moving). */
bool kw__producer_txn_retriable(int16_t kerr);

/* producer_txn_offsets.c */
/* Copies the caller's offsets into op: 0, or KW_EINVAL / KW_ENOMEM with why filled. */
int kw__producer_txn_offsets_copy(kw__producer_txn_op *op, const kw_producer_txn_offsets *o,
                                  char *why, size_t len);
/* Loop: AddOffsetsToTxn, then TxnOffsetCommit; completes the op. */
void kw__producer_txn_offsets_send(kw__producer_txn_op *op);
void kw__producer_txn_offsets_free(kw__producer_txn_op *op);

#endif /* KW_NET_PRODUCER_TXN_H */
