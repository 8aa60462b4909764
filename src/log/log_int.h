/* kw_log's insides, shared by its setup (log.c) and its worker thread (log_worker.c). */
#ifndef KW_LOG_INT_H
#define KW_LOG_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kwal/consumer.h"
#include "kwal/group.h"
#include "kwal/log.h"
#include "kwal/producer.h"

/* The replica header carrying the writer's term (8 bytes, big-endian). */
#define KW__LOG_TERM_HEADER "kwal-term"

typedef struct kw__log_db {
    char *name, *topic, *replica, *txn_id;
    /* Written by the group callback (loop thread) under log->mu, read by the worker. */
    bool want_leader;
    int32_t want_gen;
    /* The worker's alone. */
    int role;
    int32_t term_gen;
    kw_producer *txp;
    int64_t replica_pos; /* next replica offset this node has not seen; -1: from the start */
    int64_t max_term;    /* highest term seen on the replica (drop_stale_terms) */
    uint64_t retry_after_ns;
    /* Read by kw_log_db_info_get: under log->mu. */
    kw_log_db_info info;
} kw__log_db;

struct kw_log {
    kw_log_options o; /* strings below are the copies */
    char *group_id, *prefix;
    kw_client *client;
    bool own_client;
    kw_producer *submitter;
    kw_group *group;
    kw_consumer *source, *replicas; /* the worker's */
    kw__log_db *dbs;
    size_t db_count;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool started;
    atomic_bool stop;
    atomic_bool closing; /* kw_log_close began: no more submits */
    pthread_t worker;
};

/* Apply's output: one transaction's replica records (worker thread; callbacks on the loop). */
struct kw_log_output {
    kw_log *log;
    kw__log_db *db;
    int64_t term;
    size_t sent;
    /* Set by delivery callbacks (loop thread) under log->mu. */
    int err;
    char detail[256];
    int64_t max_offset;
    uint64_t fenced;
};

uint64_t kw__log_now_ns(void);
kw__log_db *kw__log_find_topic(kw_log *log, const char *topic);
void *kw__log_worker_main(void *arg);
void kw__log_group_event(void *arg, const kw_group_event *ev);

#endif /* KW_LOG_INT_H */
