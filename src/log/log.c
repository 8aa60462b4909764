/* kw_log's setup and host calls: open a node, check and create a database's topics, submit, emit, close. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log_int.h"
#include "net/client_int.h"
#include "net/log.h"

uint64_t kw__log_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void say(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *buf, size_t len, const char *fmt, ...)
{
    if (!buf || !len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

kw__log_db *kw__log_find_topic(kw_log *log, const char *topic)
{
    for (size_t i = 0; i < log->db_count; i++)
        if (!strcmp(log->dbs[i].topic, topic))
            return &log->dbs[i];
    return NULL;
}

static kw__log_db *find_name(kw_log *log, const char *name)
{
    for (size_t i = 0; i < log->db_count; i++)
        if (!strcmp(log->dbs[i].name, name))
            return &log->dbs[i];
    return NULL;
}

static void free_log(kw_log *log)
{
    for (size_t i = 0; i < log->db_count; i++) {
        free(log->dbs[i].name);
        free(log->dbs[i].topic);
        free(log->dbs[i].replica);
        free(log->dbs[i].txn_id);
    }
    free(log->dbs);
    free(log->group_id);
    free(log->prefix);
    pthread_mutex_destroy(&log->mu);
    pthread_cond_destroy(&log->cv);
    free(log);
}

int kw_log_open(kw_log **out, const kw_log_options *opts, char *errbuf, size_t errlen)
{
    if (!out)
        return KW_EINVAL;
    *out = NULL;
    if (!opts || !opts->apply) {
        say(errbuf, errlen, "kw_log: options.apply is required");
        return KW_EINVAL;
    }
    if (opts->group_id && !opts->group_id[0]) {
        say(errbuf, errlen, "kw_log: group_id is empty (leave it NULL for \"xtdb\")");
        return KW_EINVAL;
    }
    if (opts->term_epoch > 32767) {
        say(errbuf, errlen, "kw_log: term_epoch %u is above 32767 (term = epoch << 48 + generation)",
            opts->term_epoch);
        return KW_EINVAL;
    }
    if (!opts->client && !opts->client_options && !opts->bootstrap) {
        say(errbuf, errlen, "kw_log: no cluster: set client, client_options or bootstrap");
        return KW_EINVAL;
    }
    if (opts->client && kw__client_host_driven(opts->client)) {
        say(errbuf, errlen, "kw_log: the client is host-driven; kw_log needs its I/O thread");
        return KW_EINVAL;
    }
    kw_log *log = calloc(1, sizeof(*log));
    if (!log)
        return KW_ENOMEM;
    pthread_mutex_init(&log->mu, NULL);
    pthread_cond_init(&log->cv, NULL);
    log->o = *opts;
    log->group_id = strdup(opts->group_id ? opts->group_id : "xtdb");
    log->prefix = dup_or_null(opts->transactional_id_prefix && opts->transactional_id_prefix[0]
                                  ? opts->transactional_id_prefix
                                  : NULL);
    if (!log->group_id || (opts->transactional_id_prefix && opts->transactional_id_prefix[0] &&
                           !log->prefix)) {
        free_log(log);
        return KW_ENOMEM;
    }
    log->o.client_options = NULL; /* the caller's; used only here */
    log->o.bootstrap = NULL;
    log->o.group_id = log->group_id;
    log->o.transactional_id_prefix = log->prefix;
    if (!log->o.timeout_ms)
        log->o.timeout_ms = 30000;
    if (!log->o.poll_ms)
        log->o.poll_ms = 100;
    int rc;
    if (opts->client) {
        log->client = opts->client;
    } else {
        kw_client_options co = {0};
        if (opts->client_options)
            co = *opts->client_options;
        else
            co.bootstrap = opts->bootstrap;
        if (co.host_driven) {
            free_log(log);
            say(errbuf, errlen, "kw_log: client_options.host_driven: kw_log needs the I/O thread");
            return KW_EINVAL;
        }
        rc = kw_client_new(&log->client, &co, errbuf, errlen);
        if (rc) {
            free_log(log);
            return rc;
        }
        log->own_client = true;
    }
    kw_producer_options po = {.linger_ms = KW_PRODUCER_LINGER_NONE, .log = opts->log,
                              .log_arg = opts->log_arg};
    rc = kw_producer_new(&log->submitter, log->client, &po, errbuf, errlen);
    if (rc) {
        if (log->own_client)
            kw_client_destroy(log->client);
        free_log(log);
        return rc;
    }
    *out = log;
    return 0;
}

/* The topics a database needs, as the broker has them: exists, partitions. */
static int topic_shape(kw_log *log, const char *topic, bool *exists, size_t *partitions,
                       char *errbuf, size_t errlen)
{
    const char *names[1] = {topic};
    kw_client_metadata_args a = {.topics = names, .topic_count = 1, .timeout_ms = log->o.timeout_ms};
    kw_client_metadata_result r;
    int rc = kw_client_metadata(log->client, &a, &r);
    if (rc) {
        say(errbuf, errlen, "kw_log: metadata of topic %s: %s", topic, r.detail);
        kw_client_metadata_result_free(&r);
        return rc;
    }
    *exists = false;
    *partitions = 0;
    for (size_t i = 0; i < r.topic_count; i++) {
        if (strcmp(r.topics[i].name, topic))
            continue;
        if (r.topics[i].kerr == 0) {
            *exists = true;
            *partitions = r.topics[i].partition_count;
        } else if (r.topics[i].kerr != 3) {
            say(errbuf, errlen, "kw_log: topic %s: Kafka error %d", topic, r.topics[i].kerr);
            kw_client_metadata_result_free(&r);
            return KW_EBROKER;
        }
    }
    kw_client_metadata_result_free(&r);
    return 0;
}

static int create_topic(kw_log *log, const char *topic, char *errbuf, size_t errlen)
{
    kw_client_config_entry cfg = {"message.timestamp.type", "LogAppendTime"};
    kw_client_new_topic t = {.name = topic, .partitions = 1, .configs = &cfg, .config_count = 1};
    kw_client_create_topics_args a = {.topics = &t, .topic_count = 1,
                                      .timeout_ms = log->o.timeout_ms};
    kw_client_topics_result r;
    int rc = kw_client_create_topics(log->client, &a, &r);
    /* Another node of the cluster creating it at the same moment is fine. */
    if (r.topic_count == 1 && r.topics[0].kerr == 36)
        rc = 0;
    else if (rc == 0 && r.topic_count == 1 && r.topics[0].kerr) {
        say(errbuf, errlen, "kw_log: creating topic %s: %s", topic, r.topics[0].message);
        rc = KW_EBROKER;
    } else if (rc) {
        say(errbuf, errlen, "kw_log: creating topic %s: %s", topic, r.detail);
    }
    kw_client_topics_result_free(&r);
    return rc;
}

static int check_topic(kw_log *log, const kw_log_database *db, const char *topic, bool replica,
                       char *errbuf, size_t errlen)
{
    const char *what = replica ? "replica topic" : "source topic";
    bool exists;
    size_t parts;
    int rc = topic_shape(log, topic, &exists, &parts, errbuf, errlen);
    if (rc)
        return rc;
    if (!exists) {
        if (!db->auto_create_topic) {
            say(errbuf, errlen, "kw_log: database %s: %s %s does not exist (auto_create_topic is off)",
                db->name, what, topic);
            return KW_ENOTFOUND;
        }
        rc = create_topic(log, topic, errbuf, errlen);
        if (rc)
            return rc;
        /* The broker answers CreateTopics before every broker's metadata has the topic. */
        uint64_t deadline = kw__log_now_ns() + (uint64_t)log->o.timeout_ms * 1000000u;
        while (kw__log_now_ns() < deadline) {
            rc = topic_shape(log, topic, &exists, &parts, errbuf, errlen);
            if (rc || exists)
                break;
            struct timespec ts = {0, 50 * 1000000};
            nanosleep(&ts, NULL);
        }
        if (rc)
            return rc;
        if (!exists) {
            say(errbuf, errlen, "kw_log: database %s: %s %s was created but does not show up",
                db->name, what, topic);
            return KW_ETIMEDOUT;
        }
    }
    if (parts != 1) {
        say(errbuf, errlen,
            "kw_log: database %s: %s %s has %zu partitions; a kw_log topic needs exactly 1",
            db->name, what, topic, parts);
        return KW_EINVAL;
    }
    if (!replica)
        return 0;
    const char *key = "message.timestamp.type";
    kw_client_describe_configs_args da = {.resource = KW_CLIENT_RESOURCE_TOPIC, .name = topic,
                                          .keys = &key, .key_count = 1,
                                          .timeout_ms = log->o.timeout_ms};
    kw_client_describe_configs_result dr;
    rc = kw_client_describe_configs(log->client, &da, &dr);
    if (rc) {
        say(errbuf, errlen, "kw_log: database %s: describing %s %s: %s", db->name, what, topic,
            dr.detail);
        kw_client_describe_configs_result_free(&dr);
        return rc;
    }
    const char *type = NULL;
    for (size_t i = 0; i < dr.config_count; i++)
        if (!strcmp(dr.configs[i].name, key))
            type = dr.configs[i].value;
    if (!type || strcmp(type, "LogAppendTime")) {
        say(errbuf, errlen,
            "kw_log: database %s: %s %s has message.timestamp.type=%s; it must be LogAppendTime",
            db->name, what, topic, type ? type : "(unknown)");
        kw_client_describe_configs_result_free(&dr);
        return KW_EINVAL;
    }
    kw_client_describe_configs_result_free(&dr);
    return 0;
}

int kw_log_attach(kw_log *log, const kw_log_database *db, char *errbuf, size_t errlen)
{
    if (!log || !db)
        return KW_EINVAL;
    if (log->started) {
        say(errbuf, errlen, "kw_log: attach after kw_log_start");
        return KW_EINVAL;
    }
    if (!db->name || !db->name[0]) {
        say(errbuf, errlen, "kw_log: a database needs a name");
        return KW_EINVAL;
    }
    if (!db->topic || !db->topic[0]) {
        say(errbuf, errlen, "kw_log: database %s: no source topic", db->name);
        return KW_EINVAL;
    }
    if (find_name(log, db->name) || kw__log_find_topic(log, db->topic)) {
        say(errbuf, errlen, "kw_log: database %s (topic %s) is attached already", db->name,
            db->topic);
        return KW_EINVAL;
    }
    char replica[512];
    if (db->replica_topic && db->replica_topic[0])
        snprintf(replica, sizeof(replica), "%s", db->replica_topic);
    else
        snprintf(replica, sizeof(replica), "%s-replica", db->topic);
    if (!strcmp(replica, db->topic)) {
        say(errbuf, errlen, "kw_log: database %s: the replica topic is the source topic %s",
            db->name, db->topic);
        return KW_EINVAL;
    }
    int rc = check_topic(log, db, db->topic, false, errbuf, errlen);
    if (rc)
        return rc;
    rc = check_topic(log, db, replica, true, errbuf, errlen);
    if (rc)
        return rc;
    kw__log_db *dbs = realloc(log->dbs, (log->db_count + 1) * sizeof(*dbs));
    if (!dbs)
        return KW_ENOMEM;
    log->dbs = dbs;
    kw__log_db *d = &dbs[log->db_count];
    memset(d, 0, sizeof(*d));
    char txn[600];
    if (log->prefix)
        snprintf(txn, sizeof(txn), "%s-%s-leader", log->prefix, db->name);
    else
        snprintf(txn, sizeof(txn), "%s-leader", db->name);
    d->name = strdup(db->name);
    d->topic = strdup(db->topic);
    d->replica = strdup(replica);
    d->txn_id = strdup(txn);
    if (!d->name || !d->topic || !d->replica || !d->txn_id) {
        free(d->name);
        free(d->topic);
        free(d->replica);
        free(d->txn_id);
        return KW_ENOMEM;
    }
    d->replica_pos = -1;
    d->max_term = -1;
    d->want_gen = -1;
    d->term_gen = -1;
    d->info.term = -1;
    log->db_count++;
    return 0;
}

int kw_log_start(kw_log *log, char *errbuf, size_t errlen)
{
    if (!log)
        return KW_EINVAL;
    if (log->started) {
        say(errbuf, errlen, "kw_log: started already");
        return KW_EINVAL;
    }
    if (!log->db_count) {
        say(errbuf, errlen, "kw_log: no database attached");
        return KW_EINVAL;
    }
    kw_consumer_options co = {.isolation = KW_CONSUMER_READ_COMMITTED, .max_wait_ms = 100,
                              .offset_reset = KW_CONSUMER_RESET_EARLIEST, .log = log->o.log,
                              .log_arg = log->o.log_arg};
    int rc = kw_consumer_new(&log->source, log->client, &co, errbuf, errlen);
    if (rc)
        return rc;
    rc = kw_consumer_new(&log->replicas, log->client, &co, errbuf, errlen);
    if (rc) {
        kw_consumer_destroy(log->source);
        log->source = NULL;
        return rc;
    }
    const char **topics = calloc(log->db_count, sizeof(*topics));
    if (!topics)
        return KW_ENOMEM;
    for (size_t i = 0; i < log->db_count; i++)
        topics[i] = log->dbs[i].topic;
    kw_group_options go = {.group_id = log->group_id,
                           .topics = topics,
                           .topic_count = log->db_count,
                           .session_timeout_ms = log->o.session_timeout_ms,
                           .heartbeat_interval_ms = log->o.heartbeat_interval_ms,
                           .max_poll_interval_ms = log->o.rebalance_timeout_ms,
                           .disable_auto_commit = true,
                           .timeout_ms = log->o.timeout_ms,
                           .on_event = kw__log_group_event,
                           .event_arg = log,
                           .log = log->o.log,
                           .log_arg = log->o.log_arg};
    /* The worker runs first so that every database is a follower before any event. */
    log->started = true;
    if (pthread_create(&log->worker, NULL, kw__log_worker_main, log)) {
        free(topics);
        log->started = false;
        say(errbuf, errlen, "kw_log: cannot start the worker thread");
        return KW_ENOMEM;
    }
    rc = kw_group_new(&log->group, log->client, &go, errbuf, errlen);
    free(topics);
    if (rc) {
        atomic_store(&log->stop, true);
        pthread_mutex_lock(&log->mu);
        pthread_cond_broadcast(&log->cv);
        pthread_mutex_unlock(&log->mu);
        pthread_join(log->worker, NULL);
        log->started = false;
        return rc;
    }
    return 0;
}

/* What one kw_log_submit waits for. */
typedef struct submit_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int err;
    int64_t offset;
} submit_wait;

static void submit_done(const kw_producer_delivery *d, void *arg)
{
    submit_wait *w = arg;
    pthread_mutex_lock(&w->mu);
    w->err = d->err;
    w->offset = d->offset;
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int kw_log_submit(kw_log *log, const char *database, const void *key, size_t key_len,
                  const void *value, size_t value_len, int64_t *offset)
{
    if (!log || !database)
        return KW_EINVAL;
    kw__log_db *d = find_name(log, database);
    if (!d)
        return KW_ENOTFOUND;
    int rc = kw__client_can_block(log->client);
    if (rc)
        return rc;
    submit_wait w = {.offset = -1};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    kw_producer_record r = {.topic = d->topic, .partition = 0, .key = key, .key_len = key_len,
                            .value = value, .value_len = value_len};
    rc = kw_producer_send(log->submitter, &r, submit_done, &w);
    if (rc == 0) {
        /* The delivery timeout (120 s) bounds the wait: the callback always comes. */
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
        rc = w.err;
        if (offset)
            *offset = w.offset;
    }
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    return rc;
}

/* One kw_log_submit_async in flight: the host's callback and the database it names. */
typedef struct submit_async {
    kw_log_submit_fn *cb;
    void *arg;
    const char *database; /* the node's copy: it outlives every submit */
} submit_async;

/* The producer's delivery, on the client's I/O thread. */
static void submit_async_done(const kw_producer_delivery *d, void *arg)
{
    submit_async *s = arg;
    if (s->cb) {
        kw_log_submitted out = {.database = s->database,
                                .err = d->err,
                                .detail = d->detail ? d->detail : "",
                                .offset = d->err ? -1 : d->offset,
                                .timestamp_ms = d->timestamp_ms};
        s->cb(s->arg, &out);
    }
    free(s);
}

int kw_log_submit_async(kw_log *log, const char *database, const void *key, size_t key_len,
                        const void *value, size_t value_len, kw_log_submit_fn *cb, void *arg)
{
    if (!log || !database)
        return KW_EINVAL;
    if (atomic_load(&log->closing))
        return KW_ECLOSED;
    kw__log_db *d = find_name(log, database);
    if (!d)
        return KW_ENOTFOUND;
    submit_async *s = malloc(sizeof(*s));
    if (!s)
        return KW_ENOMEM;
    *s = (submit_async){cb, arg, d->name};
    kw_producer_record r = {.topic = d->topic, .partition = 0, .key = key, .key_len = key_len,
                            .value = value, .value_len = value_len};
    int rc = kw_producer_send(log->submitter, &r, submit_async_done, s);
    if (rc)
        free(s); /* the producer never calls back after a refused send */
    return rc;
}

int kw_log_db_info_get(kw_log *log, const char *database, kw_log_db_info *out)
{
    if (!log || !database || !out)
        return KW_EINVAL;
    kw__log_db *d = find_name(log, database);
    if (!d)
        return KW_ENOTFOUND;
    pthread_mutex_lock(&log->mu);
    *out = d->info;
    pthread_mutex_unlock(&log->mu);
    return 0;
}

int kw_log_close(kw_log *log)
{
    if (!log)
        return 0;
    if (log->started && pthread_equal(pthread_self(), log->worker))
        return KW_EDEADLK;
    if (kw__client_can_block(log->client) != 0)
        return KW_EDEADLK; /* the client's I/O thread: a submit callback */
    atomic_store(&log->closing, true);
    if (log->started) {
        /* The worker finishes its transaction and steps down first, so leaving the group
         * hands the databases over without fencing a transaction in flight. */
        atomic_store(&log->stop, true);
        pthread_mutex_lock(&log->mu);
        pthread_cond_broadcast(&log->cv);
        pthread_mutex_unlock(&log->mu);
        pthread_join(log->worker, NULL);
    }
    if (log->group) {
        kw_group_close(log->group, 0);
        kw_group_destroy(log->group);
    }
    kw_consumer_destroy(log->source);
    kw_consumer_destroy(log->replicas);
    kw_producer_destroy(log->submitter);
    if (log->own_client)
        kw_client_destroy(log->client);
    free_log(log);
    return 0;
}
