/* The group integration tests' helpers: topics, records, committed offsets, and members polling on their own threads. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "group_member.h"
#include "kwal/producer.h"

const char *group_test_bootstrap; /* KWAL_BOOTSTRAP */

void unique(char *buf, size_t len, const char *what)
{
    static int seq;
    snprintf(buf, len, "kwal-it-group-%s-%d-%d", what, getpid(), seq++);
}

uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

kw_client *open_client(bool host_driven)
{
    return open_client_capped(host_driven, NULL);
}

kw_client *open_client_capped(bool host_driven, const char *api_version_max)
{
    kw_client_options o = {.bootstrap = group_test_bootstrap, .connect_timeout_ms = 5000,
                           .host_driven = host_driven, .api_version_max = api_version_max};
    kw_client *c = NULL;
    char err[256];
    int rc = kw_client_new(&c, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_client_new: %s", err);
    return c;
}

void make_topic(kw_client *c, const char *topic, int32_t partitions)
{
    kw_client_new_topic t = {.name = topic, .partitions = partitions, .replication_factor = 1};
    kw_client_create_topics_args a = {.topics = &t, .topic_count = 1};
    kw_client_topics_result r;
    ck_assert_int_eq(kw_client_create_topics(c, &a, &r), 0);
    ck_assert_int_eq(r.topics[0].kerr, 0);
    kw_client_topics_result_free(&r);
}

void drop_topics(kw_client *c, char (*names)[128], size_t n)
{
    const char *v[8];
    for (size_t i = 0; i < n; i++)
        v[i] = names[i];
    kw_client_delete_topics_args a = {.names = v, .name_count = n};
    kw_client_topics_result r;
    kw_client_delete_topics(c, &a, &r);
    kw_client_topics_result_free(&r);
}

void produce(kw_client *c, const char *topic, int32_t partition, int n)
{
    kw_producer *p = NULL;
    ck_assert_int_eq(kw_producer_new(&p, c, NULL, NULL, 0), 0);
    for (int i = 0; i < n; i++) {
        char v[32];
        int len = snprintf(v, sizeof(v), "v%d", i);
        kw_producer_record r = {.topic = topic, .partition = partition, .value = v,
                                .value_len = (size_t)len};
        ck_assert_int_eq(kw_producer_send(p, &r, NULL, NULL), 0);
    }
    ck_assert_int_eq(kw_producer_flush(p, 10000), 0);
    ck_assert_int_eq(kw_producer_destroy(p), 0);
}

int64_t committed(kw_client *c, const char *group, const char *topic, int32_t partition)
{
    kw_client_committed want = {.topic = topic, .partition = partition};
    kw_client_offset_fetch_args a = {.group = group, .partitions = &want, .count = 1};
    kw_client_offsets_result r;
    ck_assert_int_eq(kw_client_offset_fetch(c, &a, &r), 0);
    int64_t off = r.count ? r.offsets[0].offset : -2;
    kw_client_offsets_result_free(&r);
    return off;
}

/* ---------------------------------------------------------------- a member with a poll thread */


void tp_name(char *buf, const char *topic, int32_t p)
{
    snprintf(buf, 160, "%.140s/%d", topic, (int)p);
}

static void on_event(void *arg, const kw_group_event *ev)
{
    member *m = arg;
    pthread_mutex_lock(&m->mu);
    m->last_generation = ev->generation;
    for (size_t i = 0; i < ev->count; i++) {
        char n[160];
        tp_name(n, ev->partitions[i].topic, ev->partitions[i].partition);
        if (ev->kind == KW_GROUP_ASSIGNED) {
            if (m->nown < MAX_OWN)
                strcpy(m->own[m->nown++], n);
        } else {
            for (int j = 0; j < m->nown; j++)
                if (strcmp(m->own[j], n) == 0) {
                    if (j != --m->nown)
                        strcpy(m->own[j], m->own[m->nown]);
                    break;
                }
            if (ev->kind == KW_GROUP_REVOKED && m->nrevoked_names < 32)
                strcpy(m->revoked_names[m->nrevoked_names++], n);
        }
    }
    if (ev->kind == KW_GROUP_ASSIGNED)
        m->assigned++;
    else if (ev->kind == KW_GROUP_REVOKED)
        m->revoked++;
    else if (ev->kind == KW_GROUP_LOST)
        m->lost++;
    else if (ev->kind == KW_GROUP_FATAL)
        m->fatal++;
    pthread_mutex_unlock(&m->mu);
}

/* KWAL_TEST_LOG=1: the members' logs on stderr. */
static void log_line(void *arg, int level, const char *msg)
{
    member *m = arg;
    if (level <= KW_LOG_INFO)
        fprintf(stderr, "[member %p] %s\n", (void *)m, msg);
}

static void *poll_main(void *arg)
{
    member *m = arg;
    while (atomic_load(&m->run)) {
        if (atomic_load(&m->paused)) {
            sleep_ms(20);
            continue;
        }
        kw_consumer_poll_result r;
        int rc = kw_consumer_poll(m->k, 100, &r);
        if (rc == 0) {
            pthread_mutex_lock(&m->mu);
            m->records += (int64_t)r.record_count;
            pthread_mutex_unlock(&m->mu);
        }
    }
    return NULL;
}


void member_start(member *m, const member_opts *mo)
{
    memset(m, 0, sizeof(*m));
    pthread_mutex_init(&m->mu, NULL);
    m->c = open_client_capped(mo->host_driven, mo->api_version_max);
    char err[256];
    kw_consumer_options co = {.max_wait_ms = 100};
    ck_assert_int_eq(kw_consumer_new(&m->k, m->c, &co, err, sizeof(err)), 0);
    static const char *const range[] = {"range"};
    kw_group_options o = {
        .group_id = mo->group,
        .topics = mo->topics,
        .topic_count = mo->ntopics,
        .session_timeout_ms = mo->session_ms ? mo->session_ms : 10000,
        .heartbeat_interval_ms = 500,
        .max_poll_interval_ms = mo->max_poll_ms ? mo->max_poll_ms : 60000,
        .group_instance_id = mo->instance,
        .auto_commit_interval_ms = mo->commit_ms ? mo->commit_ms : 500,
        .consumer = m->k,
        .reset = KW_GROUP_RESET_EARLIEST,
        .on_event = on_event,
        .event_arg = m,
        .assignors = mo->eager ? range : NULL,
        .assignor_count = mo->eager ? 1 : 0,
        .protocol = mo->kip848 ? KW_GROUP_PROTOCOL_CONSUMER : KW_GROUP_PROTOCOL_CLASSIC,
        .topic_regex = mo->topic_regex,
        .log = getenv("KWAL_TEST_LOG") ? log_line : NULL,
        .log_arg = m,
    };
    int rc = kw_group_new(&m->g, m->c, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_group_new: %s", err);
    atomic_store(&m->run, true);
    ck_assert_int_eq(pthread_create(&m->th, NULL, poll_main, m), 0);
    m->started = true;
}

/* Stops polling; closes the member in order (leave) or just drops it (crash-like: no close). */
void member_stop(member *m, bool close)
{
    if (m->started) {
        atomic_store(&m->run, false);
        pthread_join(m->th, NULL);
        m->started = false;
    }
    if (close) {
        int rc = kw_group_close(m->g, 10000);
        ck_assert_msg(rc == 0, "kw_group_close: %s", kw_strerror(rc));
    }
    kw_group_destroy(m->g);
    kw_consumer_destroy(m->k);
    kw_client_destroy(m->c);
    pthread_mutex_destroy(&m->mu);
}

int owned_count(member *m)
{
    pthread_mutex_lock(&m->mu);
    int n = m->nown;
    pthread_mutex_unlock(&m->mu);
    return n;
}

bool owns(member *m, const char *name)
{
    pthread_mutex_lock(&m->mu);
    bool yes = false;
    for (int i = 0; i < m->nown; i++)
        yes |= strcmp(m->own[i], name) == 0;
    pthread_mutex_unlock(&m->mu);
    return yes;
}

bool stable(member *m)
{
    kw_group_info info;
    if (kw_group_info_get(m->g, &info) != 0)
        return false;
    bool s = info.stable;
    kw_group_info_free(&info);
    return s;
}

/*
 * Waits until the members own `want[i]` partitions each (-1: any) and all of
 * the names are owned exactly once, checking on the way that no partition
 * ever has two owners.  Returns the ms it took.
 */
uint64_t settle(member **ms, size_t n, const int *want, char (*names)[160], size_t nnames,
                       unsigned timeout_ms)
{
    uint64_t t0 = now_ms();
    for (;;) {
        bool ok = true;
        for (size_t i = 0; i < nnames; i++) {
            int owners = 0;
            for (size_t j = 0; j < n; j++)
                owners += owns(ms[j], names[i]);
            ck_assert_msg(owners <= 1, "%s has %d owners at once", names[i], owners);
            ok &= owners == 1;
        }
        for (size_t j = 0; j < n; j++) {
            ok &= want[j] < 0 || owned_count(ms[j]) == want[j];
            ok &= stable(ms[j]);
        }
        if (ok)
            return now_ms() - t0;
        ck_assert_msg(now_ms() - t0 < timeout_ms, "the group did not settle in %u ms", timeout_ms);
        sleep_ms(20);
    }
}

