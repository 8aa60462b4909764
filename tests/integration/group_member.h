/* What the group integration tests share: broker helpers and a kwal member with its own poll thread. */
#ifndef KW_TESTS_GROUP_MEMBER_H
#define KW_TESTS_GROUP_MEMBER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kwal/client.h"
#include "kwal/consumer.h"
#include "kwal/group.h"

extern const char *group_test_bootstrap; /* KWAL_BOOTSTRAP, set by main */

#define MAX_OWN 16

typedef struct member {
    kw_client *c;
    kw_consumer *k;
    kw_group *g;
    pthread_t th;
    atomic_bool run, paused;
    bool started;
    pthread_mutex_t mu;
    char own[MAX_OWN][160]; /* "topic/partition" */
    int nown;
    int assigned, revoked, lost, fatal;
    char revoked_names[32][160];
    int nrevoked_names;
    int32_t last_generation;
    int64_t records;
} member;

typedef struct member_opts {
    const char *group;
    const char *const *topics;
    size_t ntopics;
    const char *instance;
    uint32_t session_ms, commit_ms, max_poll_ms;
    bool host_driven;
    bool eager;
    bool kip848; /* the CONSUMER protocol */
    const char *topic_regex;
    const char *api_version_max; /* the client's cap (a Kafka release), NULL none */
} member_opts;

/* A name unique to this process and call: "kwal-it-group-WHAT-PID-SEQ". */
void unique(char *buf, size_t len, const char *what);
/* CLOCK_MONOTONIC in ms, and a sleep. */
uint64_t now_ms(void);
void sleep_ms(unsigned ms);
/* A client on KWAL_BOOTSTRAP (asserts it opens). */
kw_client *open_client(bool host_driven);
/* The same, speaking no API version newer than Kafka release api_version_max ("3.9"; NULL none). */
kw_client *open_client_capped(bool host_driven, const char *api_version_max);
/* Topic admin, n records "v0".."vN-1" into one partition, and a group's committed offset (-1 none). */
void make_topic(kw_client *c, const char *topic, int32_t partitions);
void drop_topics(kw_client *c, char (*names)[128], size_t n);
void produce(kw_client *c, const char *topic, int32_t partition, int n);
int64_t committed(kw_client *c, const char *group, const char *topic, int32_t partition);
/* "topic/partition" into buf (160 bytes): how members name what they own. */
void tp_name(char *buf, const char *topic, int32_t p);
/* A member: its own client, consumer, group and poll thread; events kept in m (under m->mu). */
void member_start(member *m, const member_opts *mo);
/* Stops the poll thread; close: kw_group_close first (else just destroyed). */
void member_stop(member *m, bool close);
/* What a member owns by its events, and whether its group says it is stable. */
int owned_count(member *m);
bool owns(member *m, const char *name);
bool stable(member *m);
/* Waits until member j owns want[j] partitions (-1 any), every name has exactly one owner and all
 * are stable, asserting no name ever has two owners; returns the ms it took. */
uint64_t settle(member **ms, size_t n, const int *want, char (*names)[160], size_t nnames, unsigned timeout_ms);

#endif /* KW_TESTS_GROUP_MEMBER_H */
