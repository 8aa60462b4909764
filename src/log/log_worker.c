/* kw_log's worker thread: follows the group's role changes, runs the leader's transactions and the followers' replica tails. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log_int.h"
#include "net/log.h"

/* A failed step-up or transaction is tried again after this long (the group may still say so). */
#define RETRY_NS (500ull * 1000000u)

static void note(kw_log *log, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(kw_log *log, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kw__vlog(log->o.log, log->o.log_arg, level, fmt, ap);
    va_end(ap);
}

/* Loop thread: record what the group decided; the worker acts on it. */
void kw__log_group_event(void *arg, const kw_group_event *ev)
{
    kw_log *log = arg;
    if (ev->kind == KW_GROUP_FATAL)
        note(log, KW_LOG_ERROR, "kw_log: group %s: %s", log->group_id, ev->detail);
    pthread_mutex_lock(&log->mu);
    for (size_t i = 0; i < ev->count; i++) {
        kw__log_db *d = kw__log_find_topic(log, ev->partitions[i].topic);
        if (!d)
            continue;
        if (ev->kind == KW_GROUP_ASSIGNED) {
            d->want_leader = true;
            d->want_gen = ev->generation;
        } else {
            d->want_leader = false;
        }
    }
    pthread_cond_broadcast(&log->cv);
    pthread_mutex_unlock(&log->mu);
}

static int64_t be64(const void *p)
{
    const uint8_t *b = p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return (int64_t)v;
}

static void put_be64(uint8_t *b, int64_t v)
{
    for (int i = 7; i >= 0; i--) {
        b[i] = (uint8_t)v;
        v = (int64_t)((uint64_t)v >> 8);
    }
}

static int64_t record_term(const kw_consumer_record *r)
{
    for (size_t i = 0; i < r->header_count; i++) {
        const kw_header *h = &r->headers[i];
        if (h->key_len == sizeof(KW__LOG_TERM_HEADER) - 1 &&
            !memcmp(h->key, KW__LOG_TERM_HEADER, h->key_len) && h->value && h->value_len == 8)
            return be64(h->value);
    }
    return -1;
}

/* A replica record this node had not seen: to on_replica, unless it is of a stale term. */
static void deliver_replica(kw_log *log, kw__log_db *d, const kw_consumer_record *r)
{
    d->replica_pos = r->offset + 1;
    int64_t term = record_term(r);
    if (log->o.drop_stale_terms && term >= 0 && term < d->max_term) {
        pthread_mutex_lock(&log->mu);
        d->info.stale_dropped++;
        pthread_mutex_unlock(&log->mu);
        return;
    }
    if (term > d->max_term)
        d->max_term = term;
    pthread_mutex_lock(&log->mu);
    d->info.replica_read++;
    pthread_mutex_unlock(&log->mu);
    if (log->o.on_replica) {
        kw_log_record lr = {.database = d->name, .offset = r->offset,
                            .timestamp_ms = r->timestamp_ms, .term = term, .key = r->key,
                            .key_len = r->key_len, .value = r->value, .value_len = r->value_len};
        log->o.on_replica(log->o.arg, &lr);
    }
}

static kw_consumer_start replica_start(const kw__log_db *d)
{
    return d->replica_pos >= 0 ? kw_consumer_at_offset(d->replica_pos) : kw_consumer_at_earliest();
}

static void set_role(kw_log *log, kw__log_db *d, int role)
{
    pthread_mutex_lock(&log->mu);
    d->role = role;
    d->info.role = role;
    pthread_mutex_unlock(&log->mu);
}

static void become_follower(kw_log *log, kw__log_db *d, bool rewind)
{
    if (d->role == KW_LOG_ROLE_LEADER) {
        kw_consumer_unassign(log->source, d->topic, 0);
        if (d->txp)
            kw_producer_destroy(d->txp);
        d->txp = NULL;
        note(log, KW_LOG_INFO, "kw_log: %s: leader of term %lld steps down%s", d->name,
             (long long)d->info.term, rewind ? " (rewind)" : "");
    }
    if (rewind) {
        d->replica_pos = -1;
        d->max_term = -1;
    }
    kw_consumer_assign(log->replicas, d->replica, 0, replica_start(d));
    set_role(log, d, KW_LOG_ROLE_FOLLOWER);
    if (log->o.on_follower)
        log->o.on_follower(log->o.arg, d->name, rewind);
}

/* Reads the replica up to its last stable offset (the new leader's InitProducerId ended every
 * older transaction), so the host has every record the earlier leaders committed. */
static int catch_up(kw_log *log, kw__log_db *d, char *detail, size_t len)
{
    kw_client_list_offsets_args la = {.topic = d->replica, .partition = 0,
                                      .spec = KW_CLIENT_OFFSET_LATEST,
                                      .isolation = KW_CLIENT_READ_COMMITTED,
                                      .timeout_ms = log->o.timeout_ms};
    kw_client_list_offsets_result lr;
    int rc = kw_client_list_offsets(log->client, &la, &lr);
    if (rc) {
        snprintf(detail, len, "last stable offset of %.100s: %.120s", d->replica, lr.detail);
        return rc;
    }
    int64_t end = lr.offset;
    if (d->replica_pos >= end)
        return 0;
    kw_consumer_options co = {.isolation = KW_CONSUMER_READ_COMMITTED, .max_wait_ms = 100,
                              .log = log->o.log, .log_arg = log->o.log_arg};
    kw_consumer *c;
    rc = kw_consumer_new(&c, log->client, &co, detail, len);
    if (rc)
        return rc;
    rc = kw_consumer_assign(c, d->replica, 0, replica_start(d));
    uint64_t deadline = kw__log_now_ns() + (uint64_t)log->o.timeout_ms * 1000000u;
    while (rc == 0) {
        int64_t pos = -1;
        kw_consumer_position(c, d->replica, 0, &pos);
        if (pos >= end)
            break;
        if (kw__log_now_ns() > deadline) {
            snprintf(detail, len, "reading %s to offset %lld timed out at %lld", d->replica,
                     (long long)end, (long long)pos);
            rc = KW_ETIMEDOUT;
            break;
        }
        kw_consumer_poll_result pr;
        rc = kw_consumer_poll(c, 100, &pr);
        for (size_t i = 0; rc == 0 && i < pr.record_count; i++)
            deliver_replica(log, d, &pr.records[i]);
        if (rc == 0 && pr.error_count) {
            snprintf(detail, len, "reading %.100s: %.120s", d->replica, pr.errors[0].detail);
            rc = pr.errors[0].err;
        }
    }
    if (rc == 0 && d->replica_pos < end)
        d->replica_pos = end;
    kw_consumer_destroy(c);
    return rc;
}

static void record_failure(kw_log *log, kw__log_db *d, int err, const char *detail)
{
    pthread_mutex_lock(&log->mu);
    d->info.last_err = err;
    snprintf(d->info.detail, sizeof(d->info.detail), "%s", detail);
    pthread_mutex_unlock(&log->mu);
    note(log, KW_LOG_WARN, "kw_log: %s: %s: %s", d->name, kw_err_name(err), detail);
    d->retry_after_ns = kw__log_now_ns() + RETRY_NS;
}

static void become_leader(kw_log *log, kw__log_db *d, int32_t gen)
{
    char detail[256] = "";
    int64_t pos = -1;
    if (d->role == KW_LOG_ROLE_FOLLOWER &&
        kw_consumer_position(log->replicas, d->replica, 0, &pos) == 0 && pos > d->replica_pos)
        d->replica_pos = pos;
    kw_consumer_unassign(log->replicas, d->replica, 0);
    kw_producer_options po = {.transactional_id = d->txn_id,
                              .transaction_timeout_ms = log->o.transaction_timeout_ms,
                              .linger_ms = KW_PRODUCER_LINGER_NONE, .log = log->o.log,
                              .log_arg = log->o.log_arg};
    int rc = kw_producer_new(&d->txp, log->client, &po, detail, sizeof(detail));
    if (rc == 0) {
        /* Fences the previous leader: its open transaction is aborted, its writes refused. */
        rc = kw_producer_init_transactions(d->txp, (int)log->o.timeout_ms);
        if (rc)
            kw_producer_last_error(d->txp, detail, sizeof(detail));
    }
    if (rc == 0)
        rc = catch_up(log, d, detail, sizeof(detail));
    int64_t start = -1;
    if (rc == 0) {
        kw_client_committed want = {.topic = d->topic, .partition = 0, .leader_epoch = -1};
        kw_client_offset_fetch_args fa = {.group = log->group_id, .partitions = &want, .count = 1,
                                          .require_stable = true, .timeout_ms = log->o.timeout_ms};
        kw_client_offsets_result fr;
        rc = kw_client_offset_fetch(log->client, &fa, &fr);
        if (rc)
            snprintf(detail, sizeof(detail), "committed offset of %.100s: %.120s", d->topic, fr.detail);
        else if (fr.count == 1)
            start = fr.offsets[0].offset;
        kw_client_offsets_result_free(&fr);
    }
    if (rc == 0)
        rc = kw_consumer_assign(log->source, d->topic, 0,
                                start >= 0 ? kw_consumer_at_offset(start)
                                           : kw_consumer_at_earliest());
    if (rc) {
        record_failure(log, d, rc, detail);
        if (d->txp)
            kw_producer_destroy(d->txp);
        d->txp = NULL;
        kw_consumer_assign(log->replicas, d->replica, 0, replica_start(d));
        return;
    }
    int64_t term = ((int64_t)log->o.term_epoch << 48) + gen;
    d->term_gen = gen;
    pthread_mutex_lock(&log->mu);
    d->role = KW_LOG_ROLE_LEADER;
    d->info.role = KW_LOG_ROLE_LEADER;
    d->info.term = term;
    d->info.terms_led++;
    pthread_mutex_unlock(&log->mu);
    if (term > d->max_term)
        d->max_term = term;
    note(log, KW_LOG_INFO, "kw_log: %s: leader, term %lld, source from offset %lld", d->name,
         (long long)term, (long long)start);
    if (log->o.on_leader)
        log->o.on_leader(log->o.arg, d->name, term);
}

static void reconcile(kw_log *log, kw__log_db *d)
{
    pthread_mutex_lock(&log->mu);
    bool want = d->want_leader;
    int32_t gen = d->want_gen;
    pthread_mutex_unlock(&log->mu);
    if (d->role == KW_LOG_ROLE_LEADER && (!want || gen != d->term_gen))
        become_follower(log, d, false);
    if (want && d->role != KW_LOG_ROLE_LEADER && kw__log_now_ns() >= d->retry_after_ns)
        become_leader(log, d, gen);
}

/* Loop thread: a replica record of the open transaction was written, or not. */
static void emitted(const kw_producer_delivery *dv, void *arg)
{
    kw_log_output *o = arg;
    pthread_mutex_lock(&o->log->mu);
    if (dv->err) {
        if (!o->err) {
            o->err = dv->err;
            snprintf(o->detail, sizeof(o->detail), "replica record: %s", dv->detail);
        }
        if (dv->err == KW_EFENCED)
            o->fenced++;
    } else if (dv->offset > o->max_offset) {
        o->max_offset = dv->offset;
    }
    pthread_mutex_unlock(&o->log->mu);
}

int kw_log_emit(kw_log_output *o, const void *key, size_t key_len, const void *value,
                size_t value_len)
{
    if (!o || !o->db->txp)
        return KW_EINVAL;
    uint8_t term[8];
    put_be64(term, o->term);
    kw_header h = {.key = KW__LOG_TERM_HEADER, .key_len = sizeof(KW__LOG_TERM_HEADER) - 1,
                   .value = term, .value_len = sizeof(term)};
    kw_producer_record r = {.topic = o->db->replica, .partition = 0, .key = key,
                            .key_len = key_len, .value = value, .value_len = value_len,
                            .headers = &h, .header_count = 1};
    int rc = kw_producer_send(o->db->txp, &r, emitted, o);
    pthread_mutex_lock(&o->log->mu);
    if (rc == KW_EFENCED)
        o->fenced++;
    if (rc && !o->err) {
        o->err = rc;
        kw_producer_last_error(o->db->txp, o->detail, sizeof(o->detail));
    }
    if (rc == 0)
        o->sent++;
    pthread_mutex_unlock(&o->log->mu);
    return rc;
}

/* One transaction: the source records of one poll for database d. */
static void run_transaction(kw_log *log, kw__log_db *d, const kw_consumer_record *const *recs,
                            size_t n)
{
    kw_log_output o = {.log = log, .db = d, .term = d->info.term, .max_offset = -1};
    char detail[256] = "";
    int rc = kw_producer_begin_transaction(d->txp);
    if (rc)
        kw_producer_last_error(d->txp, detail, sizeof(detail));
    for (size_t i = 0; rc == 0 && i < n; i++) {
        kw_log_record lr = {.database = d->name, .offset = recs[i]->offset,
                            .timestamp_ms = recs[i]->timestamp_ms, .term = -1,
                            .key = recs[i]->key, .key_len = recs[i]->key_len,
                            .value = recs[i]->value, .value_len = recs[i]->value_len};
        rc = log->o.apply(log->o.arg, &lr, &o);
        if (rc)
            snprintf(detail, sizeof(detail), "apply of %s offset %lld failed", d->topic,
                     (long long)recs[i]->offset);
    }
    if (rc == 0) {
        pthread_mutex_lock(&log->mu);
        rc = o.err;
        if (rc)
            snprintf(detail, sizeof(detail), "%s", o.detail);
        pthread_mutex_unlock(&log->mu);
    }
    if (rc == 0) {
        /* Without membership (member "", generation -1): the leader's exclusivity is its
         * transactional id (a new leader's InitProducerId fences it), and a generation check
         * would abort every transaction of a leader that keeps its database across a
         * cooperative rebalance (the generation moves while it commits). */
        kw_client_committed off = {.topic = d->topic, .partition = 0,
                                   .offset = recs[n - 1]->offset + 1, .leader_epoch = -1};
        kw_producer_txn_offsets to = {.group = log->group_id, .member_id = NULL,
                                      .generation = -1, .offsets = &off, .count = 1};
        rc = kw_producer_send_offsets_to_transaction(d->txp, &to, (int)log->o.timeout_ms);
        if (rc)
            kw_producer_last_error(d->txp, detail, sizeof(detail));
    }
    if (rc == 0) {
        rc = kw_producer_commit_transaction(d->txp, (int)log->o.timeout_ms);
        if (rc)
            kw_producer_last_error(d->txp, detail, sizeof(detail));
    }
    pthread_mutex_lock(&log->mu);
    uint64_t fenced = o.fenced + (rc == KW_EFENCED && !o.fenced ? 1 : 0);
    d->info.fenced_writes += fenced;
    if (rc == 0) {
        d->info.applied += n;
        d->info.replica_written += o.sent;
        d->info.last_err = 0;
    } else {
        d->info.failed_transactions++;
    }
    pthread_mutex_unlock(&log->mu);
    if (rc == 0) {
        if (o.max_offset >= 0)
            d->replica_pos = o.max_offset + 1;
        return;
    }
    if (rc != KW_EFENCED && !fenced)
        kw_producer_abort_transaction(d->txp, (int)log->o.timeout_ms);
    record_failure(log, d, fenced ? KW_EFENCED : rc, detail);
    /* The host applied records whose results never reached the replica: it rebuilds. */
    become_follower(log, d, true);
}

static void lead(kw_log *log, int timeout_ms)
{
    kw_consumer_poll_result pr;
    if (kw_consumer_poll(log->source, timeout_ms, &pr))
        return;
    for (size_t i = 0; i < pr.error_count; i++)
        note(log, KW_LOG_ERROR, "kw_log: source %s: %s", pr.errors[i].topic, pr.errors[i].detail);
    if (!pr.record_count)
        return;
    /* Sort the records by database before any transaction: a transaction that fails steps its
     * database down, which unassigns its partition and frees what its records point to. */
    const kw_consumer_record **mine = calloc(pr.record_count, sizeof(*mine));
    size_t *owner = calloc(pr.record_count, sizeof(*owner));
    if (!mine || !owner) {
        free(mine);
        free(owner);
        return;
    }
    for (size_t i = 0; i < pr.record_count; i++) {
        owner[i] = log->db_count;
        for (size_t k = 0; k < log->db_count; k++)
            if (!strcmp(pr.records[i].topic, log->dbs[k].topic))
                owner[i] = k;
    }
    for (size_t k = 0; k < log->db_count; k++) {
        kw__log_db *d = &log->dbs[k];
        if (d->role != KW_LOG_ROLE_LEADER)
            continue;
        size_t n = 0;
        for (size_t i = 0; i < pr.record_count; i++)
            if (owner[i] == k)
                mine[n++] = &pr.records[i];
        if (n)
            run_transaction(log, d, mine, n);
    }
    free(owner);
    free(mine);
}

static void follow(kw_log *log, int timeout_ms)
{
    kw_consumer_poll_result pr;
    if (kw_consumer_poll(log->replicas, timeout_ms, &pr))
        return;
    for (size_t i = 0; i < pr.error_count; i++)
        note(log, KW_LOG_ERROR, "kw_log: replica %s: %s", pr.errors[i].topic,
             pr.errors[i].detail);
    for (size_t i = 0; i < pr.record_count; i++) {
        for (size_t k = 0; k < log->db_count; k++) {
            kw__log_db *d = &log->dbs[k];
            if (d->role == KW_LOG_ROLE_FOLLOWER && !strcmp(pr.records[i].topic, d->replica))
                deliver_replica(log, d, &pr.records[i]);
        }
    }
}

void *kw__log_worker_main(void *arg)
{
    kw_log *log = arg;
    for (size_t k = 0; k < log->db_count; k++)
        become_follower(log, &log->dbs[k], false);
    while (!atomic_load(&log->stop)) {
        size_t leading = 0;
        for (size_t k = 0; k < log->db_count && !atomic_load(&log->stop); k++) {
            reconcile(log, &log->dbs[k]);
            leading += log->dbs[k].role == KW_LOG_ROLE_LEADER;
        }
        if (atomic_load(&log->stop))
            break;
        int t = (int)log->o.poll_ms;
        if (leading)
            lead(log, leading == log->db_count ? t : t / 2);
        if (leading < log->db_count)
            follow(log, leading ? t / 2 : t);
    }
    /* Step down in order: no transaction is open between iterations. */
    for (size_t k = 0; k < log->db_count; k++) {
        kw__log_db *d = &log->dbs[k];
        if (d->role == KW_LOG_ROLE_LEADER) {
            kw_consumer_unassign(log->source, d->topic, 0);
            kw_producer_destroy(d->txp);
            d->txp = NULL;
        }
        set_role(log, d, KW_LOG_ROLE_NONE);
    }
    return NULL;
}
