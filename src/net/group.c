/* The group's public calls: options, the consumer hookup (run by poll), member commits, close and destroy. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/consumer_int.h"
#include "net/group_int.h"
#include "net/log.h"

enum {
    DEFAULT_SESSION_MS = 45000,
    DEFAULT_HEARTBEAT_MS = 3000,
    DEFAULT_MAX_POLL_MS = 300000,
    DEFAULT_COMMIT_MS = 5000,
};

static const char *const default_assignors[] = {"cooperative-sticky"};

void kw__group_log(kw_group *g, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kw__vlog(g->log, g->log_arg, level, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- partition table */

kw__group_part *kw__group_part_find(kw_group *g, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < g->nparts; i++)
        if (g->parts[i].partition == partition && strcmp(g->parts[i].topic, topic) == 0)
            return &g->parts[i];
    return NULL;
}

kw__group_part *kw__group_part_add(kw_group *g, const char *topic, int32_t partition)
{
    kw__group_part *p = kw__group_part_find(g, topic, partition);
    if (p)
        return p;
    if (g->nparts == g->capparts) {
        size_t n = g->capparts ? g->capparts * 2 : 16;
        kw__group_part *v = realloc(g->parts, n * sizeof(*v));
        if (!v)
            return NULL;
        g->parts = v;
        g->capparts = n;
    }
    char *t = strdup(topic);
    if (!t)
        return NULL;
    p = &g->parts[g->nparts++];
    *p = (kw__group_part){.topic = t, .partition = partition, .start = -1, .position = -1,
                          .committed = -1};
    return p;
}

void kw__group_parts_compact(kw_group *g)
{
    size_t j = 0;
    for (size_t i = 0; i < g->nparts; i++) {
        kw__group_part *p = &g->parts[i];
        if (!p->owned && !p->want && !p->in_consumer && !p->fetching) {
            free(p->topic);
            continue;
        }
        g->parts[j++] = *p;
    }
    g->nparts = j;
}

void kw__group_publish(kw_group *g)
{
    pthread_mutex_lock(&g->mu);
    g->info_generation = g->generation;
    g->info_leader = g->leader;
    g->info_stable = g->state == KW__GROUP_STABLE && !g->rejoin_asked &&
                     !(g->kip848 && (g->target_pending || g->send_owned || g->send_topics));
    char *m = strdup(g->member_id ? g->member_id : "");
    if (m) {
        free(g->info_member_id);
        g->info_member_id = m;
    }
    if (g->protocol_name) {
        char *p = strdup(g->protocol_name);
        if (p) {
            free(g->info_protocol);
            g->info_protocol = p;
        }
    }
    pthread_mutex_unlock(&g->mu);
}

KW_API int kw_group_info_get(kw_group *g, kw_group_info *out)
{
    if (!g || !out)
        return KW_EINVAL;
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&g->mu);
    out->generation = g->info_generation;
    out->leader = g->info_leader;
    out->stable = g->info_stable;
    out->rebalances = g->rebalances;
    out->member_id = strdup(g->info_member_id ? g->info_member_id : "");
    out->protocol_name = g->info_protocol ? strdup(g->info_protocol) : NULL;
    size_t n = 0;
    for (size_t i = 0; i < g->nparts; i++)
        n += g->parts[i].owned;
    out->partitions = calloc(n ? n : 1, sizeof(*out->partitions));
    bool oom = !out->member_id || !out->partitions || (g->info_protocol && !out->protocol_name);
    for (size_t i = 0; !oom && i < g->nparts; i++) {
        if (!g->parts[i].owned)
            continue;
        char *t = strdup(g->parts[i].topic);
        if (!t) {
            oom = true;
            break;
        }
        out->partitions[out->count++] = (kw_group_partition){t, g->parts[i].partition};
    }
    pthread_mutex_unlock(&g->mu);
    if (oom) {
        kw_group_info_free(out);
        return KW_ENOMEM;
    }
    qsort(out->partitions, out->count, sizeof(*out->partitions), kw__group_part_cmp);
    return 0;
}

KW_API void kw_group_info_free(kw_group_info *info)
{
    if (!info)
        return;
    for (size_t i = 0; i < info->count; i++)
        free((char *)info->partitions[i].topic);
    free(info->partitions);
    free(info->member_id);
    free(info->protocol_name);
    memset(info, 0, sizeof(*info));
}

/* ---------------------------------------------------------------- lifetime */

void kw__group_ref(kw_group *g)
{
    pthread_mutex_lock(&g->mu);
    g->refs++;
    pthread_mutex_unlock(&g->mu);
}

static void group_free(kw_group *g)
{
    free(g->group_id);
    free(g->instance_id);
    free(g->rack);
    free(g->server_assignor);
    free(g->topic_regex);
    kw__group_cg_free(g);
    for (size_t i = 0; i < g->ntopics; i++)
        free(g->topics[i]);
    free(g->topics);
    free(g->assignors);
    for (size_t i = 0; i < g->nparts; i++)
        free(g->parts[i].topic);
    free(g->parts);
    free(g->info_member_id);
    free(g->info_protocol);
    free(g->member_id);
    free(g->protocol_name);
    free(g->leader_id);
    free(g->leave_member_id);
    kw__group_watch_free(g);
    for (size_t i = 0; i < g->nrevoking; i++)
        free((char *)g->revoking[i].topic);
    free(g->revoking);
    kw__arena_reset(&g->join_arena);
    free(g->members);
    for (size_t i = 0; g->proto_meta && i < g->nassignors; i++)
        kw__wr_free(&g->proto_meta[i]);
    free(g->proto_meta);
    free(g->protos);
    free(g->sync_assign);
    for (size_t i = 0; g->sync_bytes && i < g->nsync_assign; i++)
        kw__wr_free(&g->sync_bytes[i]);
    free(g->sync_bytes);
    for (size_t i = 0; i < g->ncommit_parts; i++)
        free((char *)g->commit_parts[i].topic);
    free(g->commit_parts);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cond);
    free(g);
}

void kw__group_unref(kw_group *g)
{
    pthread_mutex_lock(&g->mu);
    bool last = --g->refs == 0;
    pthread_mutex_unlock(&g->mu);
    if (last)
        group_free(g);
}

void kw__group_close_finish(kw_group *g, int err)
{
    pthread_mutex_lock(&g->mu);
    if (!g->close_done) {
        g->close_done = true;
        g->close_result = err;
    }
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->mu);
}

/* ---------------------------------------------------------------- the consumer hookup */

/*
 * A posted task dropped because the client's loop is being freed (nothing
 * runs on it any more): the tick timer must not stay armed on a loop whose
 * timer heap outlives the group.
 */
static void stop_timer_at_teardown(kw_group *g)
{
    if (g->timer_init)
        kw__loop_timer_stop(&g->tick);
}

static void task_drop(void *arg)
{
    stop_timer_at_teardown(arg);
    kw__group_unref(arg);
}

static void revoked_task(kw_loop *loop, void *arg)
{
    (void)loop;
    kw__group_revoke_applied(arg);
    kw__group_unref(arg);
}

static void resumed_task(kw_loop *loop, void *arg)
{
    (void)loop;
    kw__group_poll_resumed(arg);
    kw__group_unref(arg);
}

/* Posts fn to the loop with the reference the caller took for it (dropped when it cannot run). */
static void post(kw_group *g, kw_loop_task_fn *fn)
{
    if (kw__loop_post(kw__client_loop(g->client), fn, task_drop, g) != 0)
        kw__group_unref(g);
}

/*
 * The poll thread, at the start of every kw_consumer_poll: note what the
 * previous polls consumed, and apply what the loop decided (partitions to
 * drop, partitions to add at their committed offsets).
 */
static void poll_hook(void *arg)
{
    kw_group *g = arg;
    kw_consumer *c = g->consumer;
    bool tell_revoked = false, tell_resumed = false;
    atomic_store(&g->last_poll_ns, kw__clock_now_ns());
    pthread_mutex_lock(&g->mu);
    if (g->hook_off) {
        pthread_mutex_unlock(&g->mu);
        return;
    }
    uint64_t session_end = atomic_load(&g->session_deadline_ns);
    bool expired = session_end && atomic_load(&g->last_poll_ns) > session_end;
    for (size_t i = 0; i < g->nparts; i++) {
        kw__group_part *p = &g->parts[i];
        if (expired) /* lost: the loop says so (LOST) when it runs */
            p->want = false;
        if (p->in_consumer) {
            int64_t pos = -1;
            if (kw_consumer_position(c, p->topic, p->partition, &pos) == 0 && pos >= 0)
                p->position = pos;
            if (!p->want) {
                kw_consumer_unassign(c, p->topic, p->partition);
                p->in_consumer = false;
            }
        } else if (p->want && p->start < 0 && g->reset == KW_GROUP_RESET_NONE) {
            char detail[200];
            snprintf(detail, sizeof(detail), "no committed offset in group %s, and reset is NONE",
                     g->group_id);
            if (kw__consumer_assign_stopped(c, p->topic, p->partition, KW_ENOTFOUND, detail) == 0)
                p->in_consumer = true;
        } else if (p->want) {
            kw_consumer_start s = p->start >= 0 ? kw_consumer_at_offset(p->start)
                                  : g->reset == KW_GROUP_RESET_EARLIEST ? kw_consumer_at_earliest()
                                                                        : kw_consumer_at_latest();
            if (kw_consumer_assign(c, p->topic, p->partition, s) == 0) {
                p->in_consumer = true;
                p->position = p->start;
            }
        }
    }
    if (g->revoke_wait) {
        bool left = false;
        for (size_t i = 0; i < g->nparts; i++)
            left |= g->parts[i].in_consumer && !g->parts[i].want;
        if (!left) {
            g->revoke_wait = false;
            tell_revoked = true;
        }
    }
    if (g->poll_rejoin) {
        g->poll_rejoin = false;
        tell_resumed = true;
    }
    if (tell_revoked || tell_resumed)
        g->refs += tell_revoked + tell_resumed;
    pthread_mutex_unlock(&g->mu);
    if (tell_revoked)
        post(g, revoked_task);
    if (tell_resumed)
        post(g, resumed_task);
}

/* ---------------------------------------------------------------- new */

static int new_fail(char *errbuf, size_t errlen, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int new_fail(char *errbuf, size_t errlen, int err, const char *fmt, ...)
{
    if (errbuf && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return err;
}

static char *dup_or_null(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

static void start_task(kw_loop *loop, void *arg)
{
    (void)loop;
    kw__group_start(arg);
    kw__group_unref(arg);
}

KW_API int kw_group_new(kw_group **out, kw_client *client, const kw_group_options *opts,
                        char *errbuf, size_t errlen)
{
    if (errbuf && errlen)
        errbuf[0] = 0;
    if (!out)
        return new_fail(errbuf, errlen, KW_EINVAL, "out is NULL");
    *out = NULL;
    if (!client)
        return new_fail(errbuf, errlen, KW_EINVAL, "client is NULL");
    if (!opts)
        return new_fail(errbuf, errlen, KW_EINVAL, "options are NULL (group_id and topics are required)");
    const kw_group_options *o = opts;
    if (!o->group_id || !*o->group_id)
        return new_fail(errbuf, errlen, KW_EINVAL, "group_id is required and must not be empty");
    if (o->protocol != KW_GROUP_PROTOCOL_CLASSIC && o->protocol != KW_GROUP_PROTOCOL_CONSUMER)
        return new_fail(errbuf, errlen, KW_EINVAL, "protocol must be CLASSIC or CONSUMER (got %d)",
                        o->protocol);
    if (o->topic_regex && !*o->topic_regex)
        return new_fail(errbuf, errlen, KW_EINVAL, "topic_regex is empty (NULL for none)");
    if (o->topic_regex && o->protocol != KW_GROUP_PROTOCOL_CONSUMER)
        return new_fail(errbuf, errlen, KW_EUNSUPPORTED,
                        "topic_regex is not supported with the CLASSIC protocol (the broker "
                        "matches it: protocol CONSUMER, KIP-848, Kafka 4.0+)");
    if (o->topic_count && !o->topics)
        return new_fail(errbuf, errlen, KW_EINVAL, "topics is NULL with topic_count %zu",
                        o->topic_count);
    if (o->topic_count == 0 && !o->topic_regex)
        return new_fail(errbuf, errlen, KW_EINVAL,
                        "topics: at least one topic is required (or a topic_regex)");
    for (size_t i = 0; i < o->topic_count; i++)
        if (!o->topics[i] || !*o->topics[i])
            return new_fail(errbuf, errlen, KW_EINVAL, "topics[%zu] is NULL or empty", i);
    if (o->assignor_count && !o->assignors)
        return new_fail(errbuf, errlen, KW_EINVAL, "assignors is NULL with assignor_count %zu",
                        o->assignor_count);
    const char *const *anames = o->assignor_count ? o->assignors : default_assignors;
    size_t nanames = o->assignor_count ? o->assignor_count : 1;
    for (size_t i = 0; i < nanames; i++) {
        if (!anames[i] || !kw__assignor_find(anames[i]))
            return new_fail(errbuf, errlen, KW_EINVAL,
                            "assignors[%zu]: unknown assignor \"%s\" (range, roundrobin, "
                            "cooperative-sticky)",
                            i, anames[i] ? anames[i] : "(null)");
        for (size_t j = 0; j < i; j++)
            if (strcmp(anames[i], anames[j]) == 0)
                return new_fail(errbuf, errlen, KW_EINVAL, "assignors: \"%s\" is listed twice",
                                anames[i]);
    }
    uint32_t session = o->session_timeout_ms ? o->session_timeout_ms : DEFAULT_SESSION_MS;
    uint32_t hb = o->heartbeat_interval_ms ? o->heartbeat_interval_ms : DEFAULT_HEARTBEAT_MS;
    uint32_t max_poll = o->max_poll_interval_ms ? o->max_poll_interval_ms : DEFAULT_MAX_POLL_MS;
    if (hb >= session)
        return new_fail(errbuf, errlen, KW_EINVAL,
                        "heartbeat_interval_ms (%u) must be below session_timeout_ms (%u)", hb,
                        session);
    if (session > INT32_MAX || max_poll > INT32_MAX)
        return new_fail(errbuf, errlen, KW_EINVAL,
                        "session_timeout_ms and max_poll_interval_ms must fit in an int32");
    if (o->group_instance_id && !*o->group_instance_id)
        return new_fail(errbuf, errlen, KW_EINVAL, "group_instance_id is empty (NULL for none)");
    if (o->server_assignor && !*o->server_assignor)
        return new_fail(errbuf, errlen, KW_EINVAL, "server_assignor is empty (NULL: the broker's default)");
    if (o->reset != KW_GROUP_RESET_LATEST && o->reset != KW_GROUP_RESET_EARLIEST &&
        o->reset != KW_GROUP_RESET_NONE)
        return new_fail(errbuf, errlen, KW_EINVAL,
                        "reset must be RESET_LATEST, RESET_EARLIEST or RESET_NONE");

    kw_group *g = calloc(1, sizeof(*g));
    if (!g)
        return KW_ENOMEM;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cond, NULL);
    g->refs = 1;
    g->client = client;
    g->consumer = o->consumer;
    bool oom = false;
    g->group_id = dup_or_null(o->group_id, &oom);
    g->instance_id = dup_or_null(o->group_instance_id, &oom);
    g->rack = dup_or_null(o->rack, &oom);
    g->server_assignor = dup_or_null(o->server_assignor, &oom);
    g->topic_regex = dup_or_null(o->topic_regex, &oom);
    g->kip848 = o->protocol == KW_GROUP_PROTOCOL_CONSUMER;
    g->topics = calloc(o->topic_count ? o->topic_count : 1, sizeof(*g->topics));
    g->assignors = calloc(nanames, sizeof(*g->assignors));
    if (!g->topics || !g->assignors)
        oom = true;
    for (size_t i = 0; !oom && i < o->topic_count; i++) {
        bool dup = false;
        for (size_t j = 0; j < g->ntopics; j++)
            dup |= strcmp(g->topics[j], o->topics[i]) == 0;
        if (!dup)
            g->topics[g->ntopics++] = dup_or_null(o->topics[i], &oom);
    }
    g->cooperative = true;
    for (size_t i = 0; g->assignors && i < nanames; i++) {
        g->assignors[i] = kw__assignor_find(anames[i]);
        g->cooperative &= g->assignors[i]->cooperative;
    }
    g->nassignors = nanames;
    g->session_ms = session;
    g->heartbeat_ms = hb;
    g->max_poll_ms = max_poll;
    g->commit_ms = o->auto_commit_interval_ms ? o->auto_commit_interval_ms : DEFAULT_COMMIT_MS;
    g->timeout_ms = o->timeout_ms ? o->timeout_ms : client->request_timeout_ms;
    g->auto_commit = !o->disable_auto_commit;
    g->reset = o->reset;
    g->on_event = o->on_event;
    g->event_arg = o->event_arg;
    g->log = o->log;
    g->log_arg = o->log_arg;
    if (!g->log)
        g->log = kw__client_log(client, &g->log_arg);
    g->generation = -1;
    g->info_generation = -1;
    kw__arena_init(&g->join_arena, 0);
    atomic_store(&g->last_poll_ns, kw__clock_now_ns());
    if (oom) {
        group_free(g);
        return KW_ENOMEM;
    }
    if (g->consumer) {
        int rc = kw__consumer_set_driver(g->consumer, poll_hook, g);
        if (rc) {
            group_free(g);
            return new_fail(errbuf, errlen, rc, "the consumer is driven by another group already");
        }
    }
    g->refs++; /* the start task */
    int rc = kw__loop_post(kw__client_loop(client), start_task, task_drop, g);
    if (rc) {
        if (g->consumer)
            kw__consumer_set_driver(g->consumer, NULL, NULL);
        group_free(g);
        return new_fail(errbuf, errlen, rc, "the client is closing");
    }
    *out = g;
    return 0;
}

/* ---------------------------------------------------------------- close and destroy */

/* The poll thread (or any, without a consumer): takes every partition out of the consumer. */
static void drop_from_consumer(kw_group *g)
{
    pthread_mutex_lock(&g->mu);
    g->hook_off = true;
    for (size_t i = 0; g->consumer && i < g->nparts; i++) {
        kw__group_part *p = &g->parts[i];
        if (!p->in_consumer)
            continue;
        int64_t pos = -1;
        if (kw_consumer_position(g->consumer, p->topic, p->partition, &pos) == 0 && pos >= 0)
            p->position = pos;
        kw_consumer_unassign(g->consumer, p->topic, p->partition);
        p->in_consumer = false;
    }
    g->revoke_wait = false;
    pthread_mutex_unlock(&g->mu);
}

typedef struct close_arg {
    kw_group *g;
    bool wait_commit;
} close_arg;

static void close_task(kw_loop *loop, void *arg)
{
    (void)loop;
    close_arg *a = arg;
    kw__group_close_start(a->g, a->wait_commit);
    kw__group_unref(a->g);
    free(a);
}

static void close_drop(void *arg)
{
    close_arg *a = arg;
    stop_timer_at_teardown(a->g);
    kw__group_close_finish(a->g, KW_ECLOSED);
    kw__group_unref(a->g);
    free(a);
}

static int close_now(void *arg)
{
    close_arg *a = arg;
    kw__group_close_start(a->g, a->wait_commit);
    return 0;
}

/* Starts the orderly leave once (on the loop thread); 1 when it was started already. */
static int post_close(kw_group *g, bool wait_commit)
{
    pthread_mutex_lock(&g->mu);
    bool first = !g->destroyed;
    g->destroyed = true;
    if (first)
        g->refs++;
    pthread_mutex_unlock(&g->mu);
    if (!first)
        return 1;
    /* Where it may wait, run it now: once this returns no timer or event of the member runs. */
    close_arg now = {g, wait_commit};
    if (kw__client_can_block(g->client) == 0 && kw__client_run(g->client, close_now, &now) == 0) {
        kw__group_unref(g);
        return 0;
    }
    close_arg *a = malloc(sizeof(*a));
    int rc = a ? 0 : KW_ENOMEM;
    if (a) {
        *a = (close_arg){g, wait_commit};
        rc = kw__loop_post(kw__client_loop(g->client), close_task, close_drop, a);
    }
    if (rc) {
        free(a);
        kw__group_close_finish(g, rc);
        kw__group_unref(g);
    }
    return 0;
}

KW_API int kw_group_close(kw_group *g, uint32_t timeout_ms)
{
    if (!g)
        return KW_EINVAL;
    int rc = kw__client_can_block(g->client);
    if (rc)
        return rc;
    drop_from_consumer(g);
    post_close(g, true);
    uint64_t deadline = kw__clock_now_ns() +
                        (uint64_t)(timeout_ms ? timeout_ms : g->timeout_ms) * 1000000u;
    for (;;) {
        pthread_mutex_lock(&g->mu);
        bool done = g->close_done;
        int err = g->close_result;
        pthread_mutex_unlock(&g->mu);
        if (done)
            return err;
        uint64_t now = kw__clock_now_ns();
        if (now >= deadline)
            return KW_ETIMEDOUT;
        if (kw__client_drive(g->client, 50) == 1)
            continue;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&g->mu);
        if (!g->close_done)
            pthread_cond_timedwait(&g->cond, &g->mu, &ts);
        pthread_mutex_unlock(&g->mu);
    }
}

KW_API void kw_group_destroy(kw_group *g)
{
    if (!g)
        return;
    drop_from_consumer(g);
    if (g->consumer)
        kw__consumer_set_driver(g->consumer, NULL, NULL);
    post_close(g, false);
    kw__group_unref(g);
}

/* ---------------------------------------------------------------- commit */

KW_API int kw_group_commit(kw_group *g, const kw_client_committed *offsets, size_t count,
                           char *detail, size_t detail_len)
{
    if (detail && detail_len)
        detail[0] = 0;
    if (!g || (!offsets && count))
        return KW_EINVAL;
    int rc = kw__client_can_block(g->client);
    if (rc)
        return rc;
    kw_client_committed *own = NULL;
    size_t n = 0;
    pthread_mutex_lock(&g->mu);
    int32_t generation = g->info_generation;
    char *member = g->info_member_id ? strdup(g->info_member_id) : NULL;
    bool in_group = g->info_stable || (generation >= 0 && member && *member);
    if (!offsets && g->consumer) {
        own = calloc(g->nparts ? g->nparts : 1, sizeof(*own));
        for (size_t i = 0; own && i < g->nparts; i++) {
            kw__group_part *p = &g->parts[i];
            if (p->owned && p->position >= 0) {
                char *t = strdup(p->topic);
                if (!t)
                    break;
                own[n++] = (kw_client_committed){.topic = t, .partition = p->partition,
                                                 .offset = p->position, .leader_epoch = -1};
            }
        }
    }
    pthread_mutex_unlock(&g->mu);
    if (!offsets && !g->consumer)
        rc = KW_EINVAL;
    else if (!member || (!offsets && !own))
        rc = KW_ENOMEM;
    else if (!in_group)
        rc = KW_EAGAIN;
    if (rc) {
        if (detail && detail_len)
            snprintf(detail, detail_len, "%s",
                     rc == KW_EINVAL   ? "offsets NULL needs options.consumer"
                     : rc == KW_EAGAIN ? "the member is not in the group now"
                                       : "no memory");
    } else if (offsets || n > 0) {
        kw_client_offset_commit_args a = {
            .group = g->group_id,
            .member_id = member,
            .generation = generation,
            .group_instance_id = g->instance_id,
            .offsets = offsets ? offsets : own,
            .count = offsets ? count : n,
            .timeout_ms = g->timeout_ms,
        };
        kw_client_offsets_result r;
        rc = kw_client_offset_commit(g->client, &a, &r);
        if (detail && detail_len)
            snprintf(detail, detail_len, "%s", r.detail);
        if (!rc) {
            pthread_mutex_lock(&g->mu);
            for (size_t i = 0; i < a.count; i++) {
                kw__group_part *p = kw__group_part_find(g, a.offsets[i].topic, a.offsets[i].partition);
                if (p)
                    p->committed = a.offsets[i].offset;
            }
            pthread_mutex_unlock(&g->mu);
        }
        kw_client_offsets_result_free(&r);
    }
    for (size_t i = 0; own && i < n; i++)
        free((char *)own[i].topic);
    free(own);
    free(member);
    return rc;
}

/* ---------------------------------------------------------------- subscription */

typedef struct subscribe_arg {
    kw_group *g;
    char **topics;
    size_t n;
} subscribe_arg;

static void subscribe_free(subscribe_arg *a)
{
    for (size_t i = 0; a->topics && i < a->n; i++)
        free(a->topics[i]);
    free(a->topics);
    free(a);
}

static void subscribe_task(kw_loop *loop, void *arg)
{
    (void)loop;
    subscribe_arg *a = arg;
    kw_group *g = a->g;
    kw__group_resubscribe(g, a->topics, a->n); /* takes the topics */
    free(a);
    kw__group_unref(g);
}

static void subscribe_drop(void *arg)
{
    subscribe_arg *a = arg;
    kw_group *g = a->g;
    stop_timer_at_teardown(g);
    subscribe_free(a);
    kw__group_unref(g);
}

KW_API int kw_group_subscribe(kw_group *g, const char *const *topics, size_t count)
{
    if (!g || !topics || !count)
        return KW_EINVAL;
    for (size_t i = 0; i < count; i++)
        if (!topics[i] || !*topics[i])
            return KW_EINVAL;
    subscribe_arg *a = calloc(1, sizeof(*a));
    if (!a)
        return KW_ENOMEM;
    a->g = g;
    a->topics = calloc(count, sizeof(*a->topics));
    if (!a->topics) {
        free(a);
        return KW_ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        bool dup = false;
        for (size_t j = 0; j < a->n; j++)
            dup |= strcmp(a->topics[j], topics[i]) == 0;
        if (dup)
            continue;
        if (!(a->topics[a->n] = strdup(topics[i]))) {
            subscribe_free(a);
            return KW_ENOMEM;
        }
        a->n++;
    }
    kw__group_ref(g);
    int rc = kw__loop_post(kw__client_loop(g->client), subscribe_task, subscribe_drop, a);
    if (rc) {
        subscribe_free(a);
        kw__group_unref(g);
    }
    return rc;
}
