/* The transactional producer, read_committed over its transactions, LogAppendTime topics. */
#include <check.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kwal/client.h"
#include "kwal/consumer.h"
#include "kwal/producer.h"

/*
 * Every case makes its own topics and transactional ids (pid + a counter),
 * so runs do not fence each other.  Values are "<tag>-<i>", checked exactly.
 */

static const char *bootstrap(void)
{
    return getenv("KWAL_BOOTSTRAP");
}

#define ASSERT_OK(rc, detail) ck_assert_msg((rc) == 0, "%s: %s", kw_err_name(rc), (detail))

static atomic_int seq;

static void unique(char *buf, size_t len, const char *what)
{
    snprintf(buf, len, "kwal-it-txn-%s-%d-%d", what, getpid(), atomic_fetch_add(&seq, 1));
}

static kw_client *open_client(void)
{
    kw_client_options o = {.bootstrap = bootstrap(), .connect_timeout_ms = 5000};
    kw_client *c = NULL;
    char err[256];
    int rc = kw_client_new(&c, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_client_new: %s: %s", kw_err_name(rc), err);
    return c;
}

static void create_topic(kw_client *c, const char *name, int32_t partitions,
                         const kw_client_config_entry *configs, size_t nconfigs)
{
    kw_client_new_topic t = {.name = name, .partitions = partitions, .replication_factor = 1,
                             .configs = configs, .config_count = nconfigs};
    kw_client_create_topics_args a = {.topics = &t, .topic_count = 1, .timeout_ms = 30000};
    kw_client_topics_result r;
    int rc = kw_client_create_topics(c, &a, &r);
    ASSERT_OK(rc, r.detail);
    kw_client_topics_result_free(&r);
    for (int32_t p = 0; p < partitions; p++) {
        kw_client_list_offsets_args la = {.topic = name, .partition = p,
                                          .spec = KW_CLIENT_OFFSET_LATEST, .timeout_ms = 30000};
        kw_client_list_offsets_result lr;
        rc = kw_client_list_offsets(c, &la, &lr);
        ASSERT_OK(rc, lr.detail);
    }
}

static void delete_topic(kw_client *c, const char *name)
{
    const char *names[] = {name};
    kw_client_delete_topics_args a = {.names = names, .name_count = 1, .timeout_ms = 30000};
    kw_client_topics_result r;
    kw_client_delete_topics(c, &a, &r);
    kw_client_topics_result_free(&r);
}

static kw_producer *open_txn_producer(kw_client *c, const char *txn_id)
{
    kw_producer_options o = {.transactional_id = txn_id, .linger_ms = 1};
    kw_producer *p = NULL;
    char err[256];
    int rc = kw_producer_new(&p, c, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_producer_new: %s: %s", kw_err_name(rc), err);
    return p;
}

static void last_error_is(kw_producer *p, const char *needle)
{
    char buf[512];
    kw_producer_last_error(p, buf, sizeof(buf));
    ck_assert_msg(strstr(buf, needle), "last error \"%s\" does not say \"%s\"", buf, needle);
}

/* Delivery results, kept for the checks. */
typedef struct outcome {
    atomic_int calls, failed, fenced;
    atomic_llong last_offset;
    atomic_llong log_append_ms;
    atomic_int timestamp_type;
} outcome;

static void on_delivery(const kw_producer_delivery *d, void *arg)
{
    outcome *o = arg;
    if (d->err) {
        atomic_fetch_add(&o->failed, 1);
        if (d->err == KW_EFENCED)
            atomic_fetch_add(&o->fenced, 1);
    } else {
        atomic_store(&o->last_offset, d->offset);
        atomic_store(&o->log_append_ms, d->timestamp_ms);
        atomic_store(&o->timestamp_type, d->timestamp_type);
    }
    atomic_fetch_add(&o->calls, 1);
}

static int send_value(kw_producer *p, const char *topic, int32_t partition, const char *tag,
                      int i, outcome *o)
{
    char v[64];
    snprintf(v, sizeof(v), "%s-%d", tag, i);
    kw_producer_record r = {.topic = topic, .partition = partition, .value = v,
                            .value_len = strlen(v)};
    return kw_producer_send(p, &r, on_delivery, o);
}

/* Sends tag-from .. tag-(from+n-1) to partition 0. */
static void send_values(kw_producer *p, const char *topic, const char *tag, int from, int n,
                        outcome *o)
{
    for (int i = from; i < from + n; i++) {
        int rc = send_value(p, topic, 0, tag, i, o);
        ck_assert_msg(rc == 0, "send %s-%d: %s", tag, i, kw_err_name(rc));
    }
}

/*
 * Reads partition 0 of topic from the start with the given isolation until
 * want values came or nothing more arrives for quiet_ms; returns how many,
 * their values in got (each malloc'd) and LogAppendTime facts.
 */
typedef struct readback {
    char *values[256];
    int64_t offsets[256];
    int64_t timestamps[256];
    int types[256];
    size_t n;
} readback;

static void readback_free(readback *rb)
{
    for (size_t i = 0; i < rb->n; i++)
        free(rb->values[i]);
    rb->n = 0;
}

static void read_all(kw_client *c, const char *topic, int isolation, size_t want, int quiet_ms,
                     readback *rb)
{
    kw_consumer_options o = {.isolation = isolation, .max_wait_ms = 100};
    kw_consumer *k = NULL;
    char err[256];
    int rc = kw_consumer_new(&k, c, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_consumer_new: %s", err);
    ASSERT_OK(kw_consumer_assign(k, topic, 0, kw_consumer_at_earliest()), "assign");
    memset(rb, 0, sizeof(*rb));
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int64_t quiet_since = 0;
    for (;;) {
        kw_consumer_poll_result pr;
        rc = kw_consumer_poll(k, 100, &pr);
        ASSERT_OK(rc, "poll");
        ck_assert_uint_eq(pr.error_count, 0);
        for (size_t i = 0; i < pr.record_count && rb->n < 256; i++) {
            const kw_consumer_record *r = &pr.records[i];
            rb->values[rb->n] = strndup(r->value ? r->value : "", r->value_len);
            rb->offsets[rb->n] = r->offset;
            rb->timestamps[rb->n] = r->timestamp_ms;
            rb->types[rb->n] = r->timestamp_type;
            rb->n++;
        }
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        int64_t ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (pr.record_count)
            quiet_since = ms;
        if (rb->n >= want && ms - quiet_since >= 200)
            break; /* what was wanted, and nothing more right after */
        if (ms - quiet_since >= quiet_ms || ms > 20000)
            break;
    }
    kw_consumer_destroy(k);
}

/* The values read, joined by spaces, against the expected list. */
static void expect_values(const readback *rb, const char *want, const char *what)
{
    char got[8192] = "";
    for (size_t i = 0; i < rb->n; i++) {
        strcat(got, i ? " " : "");
        strncat(got, rb->values[i], sizeof(got) - strlen(got) - 2);
    }
    ck_assert_msg(strcmp(got, want) == 0, "%s: read \"%s\", want \"%s\"", what, got, want);
}

/* ---------------------------------------------------------------- commit and abort */

START_TEST(committed_transaction_is_visible_read_committed_aborted_one_is_not)
{
    kw_client *c = open_client();
    char topic[128], txn[128];
    unique(topic, sizeof(topic), "ca");
    unique(txn, sizeof(txn), "ca");
    create_topic(c, topic, 1, NULL, 0);
    kw_producer *p = open_txn_producer(c, txn);
    ASSERT_OK(kw_producer_init_transactions(p, 30000), "init");

    outcome o = {0};
    ASSERT_OK(kw_producer_begin_transaction(p), "begin");
    send_values(p, topic, "c", 0, 3, &o);
    ASSERT_OK(kw_producer_commit_transaction(p, 30000), "commit");
    ck_assert_int_eq(atomic_load(&o.calls), 3);
    ck_assert_int_eq(atomic_load(&o.failed), 0);
    ck_assert_int_eq(atomic_load(&o.last_offset), 2);

    ASSERT_OK(kw_producer_begin_transaction(p), "begin 2");
    send_values(p, topic, "a", 0, 3, &o);
    ASSERT_OK(kw_producer_flush(p, 30000), "flush");
    ASSERT_OK(kw_producer_abort_transaction(p, 30000), "abort");
    ck_assert_int_eq(atomic_load(&o.calls), 6);
    ck_assert_int_eq(atomic_load(&o.failed), 0); /* written, then aborted */

    ASSERT_OK(kw_producer_begin_transaction(p), "begin 3");
    send_values(p, topic, "c", 3, 2, &o);
    ASSERT_OK(kw_producer_commit_transaction(p, 30000), "commit 2");

    readback rb;
    read_all(c, topic, KW_CONSUMER_READ_COMMITTED, 5, 3000, &rb);
    expect_values(&rb, "c-0 c-1 c-2 c-3 c-4", "read_committed");
    /* commit markers took offsets 3 and 7 (and the abort marker offset 7... see below) */
    ck_assert_int_eq(rb.offsets[0], 0);
    ck_assert_int_eq(rb.offsets[3], 8); /* 0-2, marker 3, aborted 4-6, marker 7 */
    readback_free(&rb);
    read_all(c, topic, KW_CONSUMER_READ_UNCOMMITTED, 8, 3000, &rb);
    expect_values(&rb, "c-0 c-1 c-2 a-0 a-1 a-2 c-3 c-4", "read_uncommitted");
    readback_free(&rb);

    ASSERT_OK(kw_producer_destroy(p), "destroy");
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

START_TEST(abort_without_flush_fails_unsent_records_and_hides_them)
{
    kw_client *c = open_client();
    char topic[128], txn[128];
    unique(topic, sizeof(topic), "ab");
    unique(txn, sizeof(txn), "ab");
    create_topic(c, topic, 2, NULL, 0);
    kw_producer_options po = {.transactional_id = txn, .linger_ms = 2000};
    kw_producer *p = NULL;
    ASSERT_OK(kw_producer_new(&p, c, &po, NULL, 0), "new");
    ASSERT_OK(kw_producer_init_transactions(p, 30000), "init");
    outcome o = {0};
    ASSERT_OK(kw_producer_begin_transaction(p), "begin");
    send_values(p, topic, "x", 0, 4, &o); /* held by the long linger */
    ASSERT_OK(kw_producer_abort_transaction(p, 30000), "abort");
    ck_assert_int_eq(atomic_load(&o.calls), 4);
    ck_assert_int_eq(atomic_load(&o.failed), 4);
    /* the producer goes on: a committed transaction on both partitions */
    ASSERT_OK(kw_producer_begin_transaction(p), "begin 2");
    send_values(p, topic, "y", 0, 2, &o);
    ck_assert_int_eq(send_value(p, topic, 1, "z", 0, &o), 0);
    ASSERT_OK(kw_producer_commit_transaction(p, 30000), "commit");
    ck_assert_int_eq(atomic_load(&o.calls), 7);
    ck_assert_int_eq(atomic_load(&o.failed), 4);
    readback rb;
    read_all(c, topic, KW_CONSUMER_READ_UNCOMMITTED, 2, 2000, &rb);
    expect_values(&rb, "y-0 y-1", "partition 0 after an abort of unsent records");
    readback_free(&rb);
    ASSERT_OK(kw_producer_destroy(p), "destroy");
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

/* ---------------------------------------------------------------- misuse */

START_TEST(transaction_calls_in_the_wrong_state_fail_clearly)
{
    kw_client *c = open_client();
    char topic[128], txn[128];
    unique(topic, sizeof(topic), "bad");
    unique(txn, sizeof(txn), "bad");
    create_topic(c, topic, 1, NULL, 0);

    /* options: an empty id, a transactional producer without idempotence */
    kw_producer *p = NULL;
    char err[256];
    kw_producer_options bad = {.transactional_id = ""};
    ck_assert_int_eq(kw_producer_new(&p, c, &bad, err, sizeof(err)), KW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "transactional_id is empty"));
    kw_producer_options noidem = {.transactional_id = txn,
                                  .idempotence = KW_PRODUCER_IDEMPOTENCE_OFF};
    ck_assert_int_eq(kw_producer_new(&p, c, &noidem, err, sizeof(err)), KW_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err, "needs idempotence"));

    p = open_txn_producer(c, txn);
    outcome o = {0};
    /* before init */
    ck_assert_int_eq(kw_producer_begin_transaction(p), KW_EINVAL);
    last_error_is(p, "init_transactions first");
    ck_assert_int_eq(send_value(p, topic, 0, "n", 0, &o), KW_EINVAL);
    ASSERT_OK(kw_producer_init_transactions(p, 30000), "init");
    ck_assert_int_eq(kw_producer_init_transactions(p, 30000), KW_EINVAL);
    last_error_is(p, "already initialised");
    /* outside a transaction */
    ck_assert_int_eq(send_value(p, topic, 0, "n", 1, &o), KW_EINVAL);
    last_error_is(p, "no transaction is open");
    ck_assert_int_eq(kw_producer_commit_transaction(p, 1000), KW_EINVAL);
    last_error_is(p, "commit_transaction: no transaction is open");
    ck_assert_int_eq(kw_producer_abort_transaction(p, 1000), KW_EINVAL);
    /* twice begun */
    ASSERT_OK(kw_producer_begin_transaction(p), "begin");
    ck_assert_int_eq(kw_producer_begin_transaction(p), KW_EINVAL);
    last_error_is(p, "already open");
    /* an empty transaction commits without asking the coordinator anything */
    ASSERT_OK(kw_producer_commit_transaction(p, 30000), "empty commit");
    ck_assert_int_eq(atomic_load(&o.calls), 0);
    /* transaction calls on a producer without an id */
    kw_producer *plain = NULL;
    ASSERT_OK(kw_producer_new(&plain, c, NULL, NULL, 0), "plain");
    ck_assert_int_eq(kw_producer_init_transactions(plain, 1000), KW_EINVAL);
    last_error_is(plain, "no transactional_id");
    ck_assert_int_eq(kw_producer_begin_transaction(plain), KW_EINVAL);
    kw_producer_destroy(plain);
    ASSERT_OK(kw_producer_destroy(p), "destroy");
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

/* ---------------------------------------------------------------- fencing */

START_TEST(a_second_producer_with_the_same_id_fences_the_first)
{
    kw_client *c = open_client();
    char topic[128], txn[128], other[128];
    unique(topic, sizeof(topic), "fence");
    unique(txn, sizeof(txn), "fence");
    unique(other, sizeof(other), "fence-other");
    create_topic(c, topic, 1, NULL, 0);
    kw_producer *a = open_txn_producer(c, txn);
    kw_producer *z = open_txn_producer(c, other); /* a different id: never fenced by b */
    ASSERT_OK(kw_producer_init_transactions(a, 30000), "init a");
    ASSERT_OK(kw_producer_init_transactions(z, 30000), "init z");
    outcome oa = {0}, ob = {0}, oz = {0};
    ASSERT_OK(kw_producer_begin_transaction(a), "begin a");
    send_values(a, topic, "a-before", 0, 2, &oa);
    ASSERT_OK(kw_producer_flush(a, 30000), "flush a");
    ck_assert_int_eq(atomic_load(&oa.failed), 0);
    ASSERT_OK(kw_producer_begin_transaction(z), "begin z");
    send_values(z, topic, "z", 0, 1, &oz);
    ASSERT_OK(kw_producer_flush(z, 30000), "flush z");

    /* b takes the id over: a's open transaction is aborted by the coordinator */
    kw_producer *b = open_txn_producer(c, txn);
    ASSERT_OK(kw_producer_init_transactions(b, 60000), "init b");

    /* a writes on: the record fails fenced, and then everything does */
    ck_assert_int_eq(send_value(a, topic, 0, "a-after", 0, &oa), 0);
    kw_producer_flush(a, 30000);
    ck_assert_int_eq(atomic_load(&oa.fenced), 1);
    ck_assert_int_eq(send_value(a, topic, 0, "a-after", 1, &oa), KW_EFENCED);
    last_error_is(a, "fenced");
    ck_assert_int_eq(kw_producer_commit_transaction(a, 30000), KW_EFENCED);
    ck_assert_int_eq(kw_producer_abort_transaction(a, 30000), KW_EFENCED);
    ck_assert_int_eq(kw_producer_begin_transaction(a), KW_EFENCED);

    /* b and z commit */
    ASSERT_OK(kw_producer_begin_transaction(b), "begin b");
    send_values(b, topic, "b", 0, 2, &ob);
    ASSERT_OK(kw_producer_commit_transaction(b, 30000), "commit b");
    ASSERT_OK(kw_producer_commit_transaction(z, 30000), "commit z (not fenced by b)");

    readback rb;
    read_all(c, topic, KW_CONSUMER_READ_COMMITTED, 3, 3000, &rb);
    expect_values(&rb, "z-0 b-0 b-1", "read_committed after fencing");
    readback_free(&rb);
    ASSERT_OK(kw_producer_destroy(a), "destroy a");
    ASSERT_OK(kw_producer_destroy(b), "destroy b");
    ASSERT_OK(kw_producer_destroy(z), "destroy z");
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

/* ---------------------------------------------------------------- read_committed */

START_TEST(interleaved_transactions_and_the_last_stable_offset)
{
    kw_client *c = open_client();
    char topic[128], t1[128], t2[128];
    unique(topic, sizeof(topic), "lso");
    unique(t1, sizeof(t1), "lso-1");
    unique(t2, sizeof(t2), "lso-2");
    create_topic(c, topic, 1, NULL, 0);
    kw_producer *p1 = open_txn_producer(c, t1);
    kw_producer *p2 = open_txn_producer(c, t2);
    ASSERT_OK(kw_producer_init_transactions(p1, 30000), "init 1");
    ASSERT_OK(kw_producer_init_transactions(p2, 30000), "init 2");
    outcome o = {0};
    ASSERT_OK(kw_producer_begin_transaction(p1), "begin 1");
    ASSERT_OK(kw_producer_begin_transaction(p2), "begin 2");
    /* p1: one, p2: two, p1: three, interleaved on one partition */
    send_values(p1, topic, "one", 0, 1, &o);
    kw_producer_flush(p1, 30000);
    send_values(p2, topic, "two", 0, 1, &o);
    kw_producer_flush(p2, 30000);
    send_values(p1, topic, "three", 0, 1, &o);
    kw_producer_flush(p1, 30000);
    /* both open: read_committed sees nothing (the LSO is at p1's first record) */
    readback rb;
    read_all(c, topic, KW_CONSUMER_READ_COMMITTED, 0, 1000, &rb);
    ck_assert_uint_eq(rb.n, 0);
    readback_free(&rb);
    /* p2 aborts: still nothing, p1's open transaction holds the LSO */
    ASSERT_OK(kw_producer_abort_transaction(p2, 30000), "abort 2");
    read_all(c, topic, KW_CONSUMER_READ_COMMITTED, 0, 1000, &rb);
    ck_assert_uint_eq(rb.n, 0);
    readback_free(&rb);
    ASSERT_OK(kw_producer_commit_transaction(p1, 30000), "commit 1");
    read_all(c, topic, KW_CONSUMER_READ_COMMITTED, 2, 3000, &rb);
    expect_values(&rb, "one-0 three-0", "read_committed after both ended");
    readback_free(&rb);
    read_all(c, topic, KW_CONSUMER_READ_UNCOMMITTED, 3, 3000, &rb);
    expect_values(&rb, "one-0 two-0 three-0", "read_uncommitted");
    readback_free(&rb);
    ck_assert_int_eq(atomic_load(&o.failed), 0);
    kw_producer_destroy(p1);
    kw_producer_destroy(p2);
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

/* ---------------------------------------------------------------- offsets in a transaction */

/* The group's committed offset of topic/0 (require_stable: waits out pending ones), -1 none. */
static int64_t committed_offset(kw_client *c, const char *group, const char *topic)
{
    kw_client_committed want = {.topic = topic, .partition = 0};
    kw_client_offset_fetch_args a = {.group = group, .partitions = &want, .count = 1,
                                     .require_stable = true, .timeout_ms = 30000};
    kw_client_offsets_result r;
    int rc;
    /* UNSTABLE_OFFSET_COMMIT: the markers of the transaction that just ended are being
     * written; the offsets are settled right after (the Java consumer retries as well) */
    for (int i = 0;; i++) {
        rc = kw_client_offset_fetch(c, &a, &r);
        if (rc != KW_EBROKER || r.kerr != KW_KERR_UNSTABLE_OFFSET_COMMIT || i == 100)
            break;
        kw_client_offsets_result_free(&r);
        usleep(50000);
    }
    ASSERT_OK(rc, r.detail);
    ck_assert_uint_eq(r.count, 1);
    ck_assert_int_eq(r.offsets[0].kerr, 0);
    int64_t off = r.offsets[0].offset;
    kw_client_offsets_result_free(&r);
    return off;
}

START_TEST(offsets_sent_to_a_transaction_are_committed_only_with_it)
{
    kw_client *c = open_client();
    char topic[128], txn[128], group[128];
    unique(topic, sizeof(topic), "off");
    unique(txn, sizeof(txn), "off");
    unique(group, sizeof(group), "off-group");
    create_topic(c, topic, 1, NULL, 0);
    kw_producer *p = open_txn_producer(c, txn);
    ASSERT_OK(kw_producer_init_transactions(p, 30000), "init");
    outcome o = {0};

    /* aborted: the offset never shows */
    kw_client_committed at = {.topic = topic, .partition = 0, .offset = 42, .leader_epoch = -1};
    kw_producer_txn_offsets off = {.group = group, .offsets = &at, .count = 1};
    ASSERT_OK(kw_producer_begin_transaction(p), "begin");
    send_values(p, topic, "a", 0, 1, &o);
    ASSERT_OK(kw_producer_send_offsets_to_transaction(p, &off, 30000), "send offsets");
    /* Written before the abort: a record still lingering then fails with KW_ECLOSED, as
     * kw_producer_abort_transaction says (a loaded machine got there 1 run in 4). */
    ASSERT_OK(kw_producer_flush(p, 30000), "flush");
    ASSERT_OK(kw_producer_abort_transaction(p, 30000), "abort");
    ck_assert_int_eq(committed_offset(c, group, topic), -1);

    /* committed: it does, with the metadata */
    at.offset = 7;
    at.metadata = "txn-meta";
    ASSERT_OK(kw_producer_begin_transaction(p), "begin 2");
    send_values(p, topic, "c", 0, 1, &o);
    ASSERT_OK(kw_producer_send_offsets_to_transaction(p, &off, 30000), "send offsets 2");
    ASSERT_OK(kw_producer_commit_transaction(p, 30000), "commit");
    ck_assert_int_eq(committed_offset(c, group, topic), 7);

    /* offsets alone (no record) commit too */
    at.offset = 9;
    ASSERT_OK(kw_producer_begin_transaction(p), "begin 3");
    ASSERT_OK(kw_producer_send_offsets_to_transaction(p, &off, 30000), "send offsets 3");
    ASSERT_OK(kw_producer_commit_transaction(p, 30000), "commit 3");
    ck_assert_int_eq(committed_offset(c, group, topic), 9);

    /* a member the group does not know: the transaction is abortable, the producer goes on */
    kw_producer_txn_offsets stale = {.group = group, .member_id = "no-such-member",
                                     .generation = 5, .offsets = &at, .count = 1};
    at.offset = 11;
    ASSERT_OK(kw_producer_begin_transaction(p), "begin 4");
    int rc = kw_producer_send_offsets_to_transaction(p, &stale, 30000);
    ck_assert_int_eq(rc, KW_EBROKER);
    last_error_is(p, "TxnOffsetCommit for group");
    ck_assert_int_eq(kw_producer_commit_transaction(p, 30000), KW_EBROKER);
    last_error_is(p, "abort it");
    ASSERT_OK(kw_producer_abort_transaction(p, 30000), "abort 4");
    ck_assert_int_eq(committed_offset(c, group, topic), 9);

    /* bad arguments */
    ASSERT_OK(kw_producer_begin_transaction(p), "begin 5");
    kw_producer_txn_offsets none = {.group = group};
    ck_assert_int_eq(kw_producer_send_offsets_to_transaction(p, &none, 1000), KW_EINVAL);
    last_error_is(p, "no offsets");
    ck_assert_int_eq(kw_producer_send_offsets_to_transaction(p, NULL, 1000), KW_EINVAL);
    ASSERT_OK(kw_producer_abort_transaction(p, 30000), "abort 5");
    ck_assert_int_eq(kw_producer_send_offsets_to_transaction(p, &off, 1000), KW_EINVAL);
    last_error_is(p, "no transaction is open");

    ck_assert_int_eq(atomic_load(&o.failed), 0);
    ASSERT_OK(kw_producer_destroy(p), "destroy");
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

/* ---------------------------------------------------------------- Java interop */

/*
 * Compiles tests/integration/java/NAME.java into a temporary directory
 * (returned in dir); false, with a message, when java, javac or the jars
 * are missing (main skips the whole test with 77 before that can happen).
 */
static bool java_compile(const char *name, char *dir, size_t len)
{
    const char *src = getenv("KWAL_JAVA_TXN_DIR");
    const char *lib = getenv("KWAL_KAFKA_LIB");
    if (!src || !*src || !lib || !*lib || system("command -v javac >/dev/null 2>&1") != 0 ||
        system("command -v java >/dev/null 2>&1") != 0) {
        fprintf(stderr, "Java interop: java, javac, KWAL_KAFKA_LIB or KWAL_JAVA_TXN_DIR missing: "
                        "skipped\n");
        return false;
    }
    snprintf(dir, len, "/tmp/kwal-txn-java-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "javac -d '%s' -cp '%s/*' '%s/%s.java' >&2", dir, lib, src, name);
    int st = system(cmd);
    ck_assert_msg(st == 0, "javac failed (%d): %s", st, cmd);
    return true;
}

static void java_clean(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

START_TEST(java_producers_aborted_transaction_is_invisible_to_kwal_read_committed)
{
    char dir[64];
    if (!java_compile("TxnWriter", dir, sizeof(dir)))
        return;
    kw_client *c = open_client();
    char topic[128];
    unique(topic, sizeof(topic), "jw");
    create_topic(c, topic, 1, NULL, 0);
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "java -cp '%s:%s/*' TxnWriter '%s' '%s' >&2 2>/dev/null", dir,
             getenv("KWAL_KAFKA_LIB"), bootstrap(), topic);
    int st = system(cmd);
    ck_assert_msg(st == 0, "the Java transaction writer failed (%d): %s", st, cmd);
    java_clean(dir);
    readback rb;
    read_all(c, topic, KW_CONSUMER_READ_COMMITTED, 5, 3000, &rb);
    expect_values(&rb, "committed-0 committed-1 committed-2 committed-3 committed-4",
                  "kwal read_committed of Java's transactions");
    readback_free(&rb);
    read_all(c, topic, KW_CONSUMER_READ_UNCOMMITTED, 8, 3000, &rb);
    expect_values(&rb,
                  "committed-0 committed-1 committed-2 aborted-0 aborted-1 aborted-2 "
                  "committed-3 committed-4",
                  "kwal read_uncommitted of Java's transactions");
    readback_free(&rb);
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

/* Runs TxnReader on topic with isolation; its output (values, one per line) joined by spaces. */
static void java_read(const char *dir, const char *topic, const char *isolation, char *out,
                      size_t len)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "java -cp '%s:%s/*' TxnReader '%s' '%s' %s 500 2>/dev/null", dir,
             getenv("KWAL_KAFKA_LIB"), bootstrap(), topic, isolation);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    out[0] = 0;
    char line[256];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        if (*out)
            strncat(out, " ", len - strlen(out) - 1);
        strncat(out, line, len - strlen(out) - 1);
    }
    int st = pclose(f);
    ck_assert_msg(st == 0, "TxnReader failed (%d): %s", st, cmd);
}

START_TEST(kwal_transactions_as_the_java_consumer_reads_them)
{
    char dir[64];
    if (!java_compile("TxnReader", dir, sizeof(dir)))
        return;
    kw_client *c = open_client();
    char topic[128], txn[128];
    unique(topic, sizeof(topic), "jr");
    unique(txn, sizeof(txn), "jr");
    create_topic(c, topic, 1, NULL, 0);
    kw_producer *p = open_txn_producer(c, txn);
    ASSERT_OK(kw_producer_init_transactions(p, 30000), "init");
    outcome o = {0};
    ASSERT_OK(kw_producer_begin_transaction(p), "begin");
    send_values(p, topic, "kc", 0, 3, &o);
    ASSERT_OK(kw_producer_commit_transaction(p, 30000), "commit");
    ASSERT_OK(kw_producer_begin_transaction(p), "begin 2");
    send_values(p, topic, "ka", 0, 2, &o);
    ASSERT_OK(kw_producer_flush(p, 30000), "flush");
    ASSERT_OK(kw_producer_abort_transaction(p, 30000), "abort");
    ASSERT_OK(kw_producer_begin_transaction(p), "begin 3");
    send_values(p, topic, "kc", 3, 1, &o);
    ASSERT_OK(kw_producer_commit_transaction(p, 30000), "commit 2");
    ck_assert_int_eq(atomic_load(&o.failed), 0);
    char got[1024];
    java_read(dir, topic, "read_committed", got, sizeof(got));
    ck_assert_str_eq(got, "kc-0 kc-1 kc-2 kc-3");
    java_read(dir, topic, "read_uncommitted", got, sizeof(got));
    ck_assert_str_eq(got, "kc-0 kc-1 kc-2 ka-0 ka-1 kc-3");
    java_clean(dir);
    kw_producer_destroy(p);
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

/* ---------------------------------------------------------------- timeouts and host-driven */

START_TEST(a_transaction_past_its_timeout_is_aborted_and_the_producer_is_done)
{
    kw_client *c = open_client();
    char topic[128], txn[128];
    unique(topic, sizeof(topic), "tmo");
    unique(txn, sizeof(txn), "tmo");
    create_topic(c, topic, 1, NULL, 0);
    kw_producer_options po = {.transactional_id = txn, .transaction_timeout_ms = 1000,
                              .linger_ms = 1};
    kw_producer *p = NULL;
    ASSERT_OK(kw_producer_new(&p, c, &po, NULL, 0), "new");
    ASSERT_OK(kw_producer_init_transactions(p, 30000), "init");
    outcome o = {0};
    ASSERT_OK(kw_producer_begin_transaction(p), "begin");
    send_values(p, topic, "late", 0, 2, &o);
    ASSERT_OK(kw_producer_flush(p, 30000), "flush");
    /* the coordinator looks for timed-out transactions every 10 s (Kafka's default) */
    int rc = 0;
    for (int i = 0; i < 60; i++) {
        sleep(1);
        int64_t lso = -1;
        kw_client_list_offsets_args la = {.topic = topic, .spec = KW_CLIENT_OFFSET_LATEST,
                                          .isolation = KW_CLIENT_READ_COMMITTED,
                                          .timeout_ms = 30000};
        kw_client_list_offsets_result lr;
        ASSERT_OK(kw_client_list_offsets(c, &la, &lr), lr.detail);
        lso = lr.offset;
        if (lso > 0)
            break; /* the abort marker is written: the LSO moved past the records */
    }
    rc = kw_producer_commit_transaction(p, 30000);
    char why[512];
    kw_producer_last_error(p, why, sizeof(why));
    /* the coordinator aborted it and bumped the epoch (Kafka 4): the commit is refused, fatally */
    ck_assert_msg(rc == KW_EFENCED || rc == KW_EBROKER, "commit after the timeout: %s: %s",
                  kw_err_name(rc), why);
    if (rc == KW_EBROKER)
        last_error_is(p, "outlived transaction_timeout_ms");
    ck_assert_int_eq(send_value(p, topic, 0, "late", 2, &o), rc);
    ck_assert_int_eq(kw_producer_abort_transaction(p, 1000), rc);
    ck_assert_int_eq(kw_producer_begin_transaction(p), rc);
    readback rb;
    read_all(c, topic, KW_CONSUMER_READ_COMMITTED, 0, 1000, &rb);
    ck_assert_uint_eq(rb.n, 0);
    readback_free(&rb);
    kw_producer_destroy(p);
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

START_TEST(transactions_on_a_host_driven_client)
{
    kw_client_options co = {.bootstrap = bootstrap(), .connect_timeout_ms = 5000,
                            .host_driven = true};
    kw_client *c = NULL;
    char err[256];
    ASSERT_OK(kw_client_new(&c, &co, err, sizeof(err)), err);
    char topic[128], txn[128];
    unique(topic, sizeof(topic), "host");
    unique(txn, sizeof(txn), "host");
    create_topic(c, topic, 1, NULL, 0);
    kw_producer *p = open_txn_producer(c, txn);
    /* nobody runs the loop but the blocking calls themselves */
    ASSERT_OK(kw_producer_init_transactions(p, 30000), "init");
    outcome o = {0};
    ASSERT_OK(kw_producer_begin_transaction(p), "begin");
    send_values(p, topic, "h", 0, 3, &o);
    ASSERT_OK(kw_producer_commit_transaction(p, 30000), "commit");
    ck_assert_int_eq(atomic_load(&o.calls), 3);
    ASSERT_OK(kw_producer_begin_transaction(p), "begin 2");
    send_values(p, topic, "x", 0, 1, &o);
    ASSERT_OK(kw_producer_abort_transaction(p, 30000), "abort");
    ASSERT_OK(kw_producer_destroy(p), "destroy");
    kw_client *reader = open_client();
    readback rb;
    read_all(reader, topic, KW_CONSUMER_READ_COMMITTED, 3, 2000, &rb);
    expect_values(&rb, "h-0 h-1 h-2", "host-driven transactions");
    readback_free(&rb);
    delete_topic(reader, topic);
    kw_client_destroy(reader);
    kw_client_destroy(c);
}
END_TEST

/* ---------------------------------------------------------------- transaction version 1 */

/*
 * A client capped at Kafka 3.9's protocol versions cannot use KIP-890 part 2
 * (no Produce v12 nor EndTxn v5): partitions join through AddPartitionsToTxn,
 * as on a 3.x broker.  Commit, abort, offsets and fencing on that path.
 */
START_TEST(transactions_through_add_partitions_to_txn_on_a_client_capped_at_3_9)
{
    kw_client_options co = {.bootstrap = bootstrap(), .connect_timeout_ms = 5000,
                            .api_version_max = "3.9"};
    kw_client *c = NULL;
    char err[256];
    ASSERT_OK(kw_client_new(&c, &co, err, sizeof(err)), err);
    char topic[128], txn[128], group[128];
    unique(topic, sizeof(topic), "v1");
    unique(txn, sizeof(txn), "v1");
    unique(group, sizeof(group), "v1-group");
    create_topic(c, topic, 2, NULL, 0);
    kw_producer *p = open_txn_producer(c, txn);
    ASSERT_OK(kw_producer_init_transactions(p, 30000), "init");
    outcome o = {0};
    ASSERT_OK(kw_producer_begin_transaction(p), "begin");
    send_values(p, topic, "c", 0, 2, &o);
    ck_assert_int_eq(send_value(p, topic, 1, "other", 0, &o), 0); /* two partitions, one add */
    kw_client_committed at = {.topic = topic, .partition = 0, .offset = 5, .leader_epoch = -1};
    kw_producer_txn_offsets off = {.group = group, .offsets = &at, .count = 1};
    ASSERT_OK(kw_producer_send_offsets_to_transaction(p, &off, 30000), "offsets");
    ASSERT_OK(kw_producer_commit_transaction(p, 30000), "commit");
    ck_assert_int_eq(committed_offset(c, group, topic), 5);
    ASSERT_OK(kw_producer_begin_transaction(p), "begin 2");
    send_values(p, topic, "a", 0, 2, &o);
    ASSERT_OK(kw_producer_flush(p, 30000), "flush");
    ASSERT_OK(kw_producer_abort_transaction(p, 30000), "abort");
    ASSERT_OK(kw_producer_begin_transaction(p), "begin 3");
    send_values(p, topic, "c", 2, 1, &o);
    ASSERT_OK(kw_producer_commit_transaction(p, 30000), "commit 2");
    ck_assert_int_eq(atomic_load(&o.failed), 0);
    /* fenced by a second producer of the id */
    ASSERT_OK(kw_producer_begin_transaction(p), "begin 4");
    send_values(p, topic, "zombie", 0, 1, &o);
    ASSERT_OK(kw_producer_flush(p, 30000), "flush 4");
    kw_producer *q = open_txn_producer(c, txn);
    ASSERT_OK(kw_producer_init_transactions(q, 60000), "init q");
    ck_assert_int_eq(kw_producer_commit_transaction(p, 30000), KW_EFENCED);
    ck_assert_int_eq(send_value(p, topic, 0, "zombie", 1, &o), KW_EFENCED);
    kw_producer_destroy(q);
    kw_producer_destroy(p);
    readback rb;
    read_all(c, topic, KW_CONSUMER_READ_COMMITTED, 3, 3000, &rb);
    expect_values(&rb, "c-0 c-1 c-2", "read_committed at transaction version 1");
    readback_free(&rb);
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

/* ---------------------------------------------------------------- LogAppendTime */

START_TEST(log_append_time_topic_reports_the_brokers_time)
{
    kw_client *c = open_client();
    char topic[128], txn[128];
    unique(topic, sizeof(topic), "lat");
    unique(txn, sizeof(txn), "lat");
    kw_client_config_entry cfg = {"message.timestamp.type", "LogAppendTime"};
    create_topic(c, topic, 1, &cfg, 1);
    /* the topic's config says so */
    kw_client_describe_configs_args da = {.resource = KW_CLIENT_RESOURCE_TOPIC, .name = topic,
                                          .timeout_ms = 30000};
    kw_client_describe_configs_result dr;
    ASSERT_OK(kw_client_describe_configs(c, &da, &dr), dr.detail);
    bool seen = false;
    for (size_t i = 0; i < dr.config_count; i++)
        if (strcmp(dr.configs[i].name, "message.timestamp.type") == 0) {
            ck_assert_str_eq(dr.configs[i].value, "LogAppendTime");
            seen = true;
        }
    ck_assert(seen);
    kw_client_describe_configs_result_free(&dr);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t before = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    kw_producer *p = open_txn_producer(c, txn);
    ASSERT_OK(kw_producer_init_transactions(p, 30000), "init");
    ASSERT_OK(kw_producer_begin_transaction(p), "begin");
    outcome o = {0};
    /* a CreateTime a day old: the broker overwrites it */
    kw_producer_record r = {.topic = topic, .partition = 0, .value = "t", .value_len = 1,
                            .timestamp_ms = before - 86400000};
    ASSERT_OK(kw_producer_send(p, &r, on_delivery, &o), "send");
    ASSERT_OK(kw_producer_commit_transaction(p, 30000), "commit");
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t after = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    ck_assert_int_eq(atomic_load(&o.failed), 0);
    ck_assert_int_eq(atomic_load(&o.timestamp_type), KW_TIMESTAMP_LOG_APPEND_TIME);
    int64_t lat = atomic_load(&o.log_append_ms);
    ck_assert_msg(lat >= before - 1000 && lat <= after + 1000,
                  "log-append time %" PRId64 " outside [%" PRId64 ", %" PRId64 "]", lat, before,
                  after);
    readback rb;
    read_all(c, topic, KW_CONSUMER_READ_COMMITTED, 1, 3000, &rb);
    ck_assert_uint_eq(rb.n, 1);
    ck_assert_int_eq(rb.types[0], KW_TIMESTAMP_LOG_APPEND_TIME);
    ck_assert_int_eq(rb.timestamps[0], lat);
    readback_free(&rb);
    kw_producer_destroy(p);
    delete_topic(c, topic);
    kw_client_destroy(c);
}
END_TEST

int main(void)
{
    if (!bootstrap() || !*bootstrap()) {
        fprintf(stderr, "KWAL_BOOTSTRAP not set: skipped\n");
        return 77;
    }
    /* The Java interop cases must check something: without java, javac or the broker's jars the
     * whole test is skipped (77), never passed (scripts/deps installs the JDK; broker env sets
     * KWAL_KAFKA_LIB). */
    const char *lib = getenv("KWAL_KAFKA_LIB"), *jdir = getenv("KWAL_JAVA_TXN_DIR");
    if (!lib || !*lib || !jdir || !*jdir || system("command -v javac >/dev/null 2>&1") != 0 ||
        system("command -v java >/dev/null 2>&1") != 0) {
        fprintf(stderr, "java, javac, KWAL_KAFKA_LIB or KWAL_JAVA_TXN_DIR missing: the Java "
                        "interop cases cannot run: skipped\n");
        return 77;
    }
    Suite *s = suite_create("txn");
    TCase *tc = tcase_create("txn");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, committed_transaction_is_visible_read_committed_aborted_one_is_not);
    tcase_add_test(tc, abort_without_flush_fails_unsent_records_and_hides_them);
    tcase_add_test(tc, transaction_calls_in_the_wrong_state_fail_clearly);
    tcase_add_test(tc, a_second_producer_with_the_same_id_fences_the_first);
    tcase_add_test(tc, interleaved_transactions_and_the_last_stable_offset);
    tcase_add_test(tc, log_append_time_topic_reports_the_brokers_time);
    tcase_add_test(tc, offsets_sent_to_a_transaction_are_committed_only_with_it);
    tcase_add_test(tc, java_producers_aborted_transaction_is_invisible_to_kwal_read_committed);
    tcase_add_test(tc, kwal_transactions_as_the_java_consumer_reads_them);
    tcase_add_test(tc, a_transaction_past_its_timeout_is_aborted_and_the_producer_is_done);
    tcase_add_test(tc, transactions_on_a_host_driven_client);
    tcase_add_test(tc, transactions_through_add_partitions_to_txn_on_a_client_capped_at_3_9);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
