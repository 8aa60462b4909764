/* The metasrv topic manager: looks up, creates, checks and seeds the WAL topics (see topics.h). */
#include "meta/topics.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/client_int.h"
#include "proto/batch.h"
#include "proto/kerr.h"

/* Requests in flight at once: enough to hide round trips, few enough not to flood one broker. */
#define WINDOW 32
/* Topics per CreateTopics request, and per Metadata request. */
#define CREATE_CHUNK 256
#define METADATA_CHUNK 1000
/* How often the wait for new topics' leaders looks again. */
#define LEADER_POLL_MS 50

#define KERR_UNKNOWN_TOPIC 3
#define KERR_LEADER_NOT_AVAILABLE 5
#define KERR_TOPIC_EXISTS 36

enum { C_RETENTION_MS, C_RETENTION_BYTES, C_CLEANUP, C_MAX_MESSAGE, C_COMPRESSION, C_COUNT };
static const char *const config_keys[C_COUNT] = {
    "retention.ms", "retention.bytes", "cleanup.policy", "max.message.bytes", "compression.type",
};

typedef struct topic {
    char name[KW_META_TOPIC_NAME_MAX];
    /* from Metadata */
    bool exists;
    bool leaders;    /* every partition has a leader */
    int16_t md_kerr; /* a topic error other than "unknown" or "no leader yet" */
    int32_t partitions;
    int32_t min_replicas;
    /* from DescribeConfigs: malloc'd copies, NULL when not reported */
    bool described;
    bool vanished; /* existed at lookup, unknown at DescribeConfigs */
    char *values[C_COUNT];
} topic;

/* One async request of a fan-out: which topic (and partition) it is about and how it ended. */
typedef struct slot {
    struct run *r;
    uint32_t topic;
    int32_t partition;
    int err;
    const char *what; /* the request that failed */
    char detail[KW_CLIENT_DETAIL_MAX];
} slot;

typedef struct run {
    kw_client *c;
    const kw__wal_config *cfg;
    uint32_t n;
    topic *t;
    char *err;
    size_t errlen;
    int rc; /* the first failure, whose text is in err */
    kw_meta_topics_report rep;
    /* fan-out state */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t pending;
    /* the noop batch, built once */
    kw_wr noop;
} run;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int fail(run *r, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(run *r, int rc, const char *fmt, ...)
{
    if (r->rc == 0) {
        r->rc = rc;
        if (r->err && r->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(r->err, r->errlen, fmt, ap);
            va_end(ap);
        }
    }
    return r->rc;
}

int64_t kw__meta_topics_max_message_bytes(const kw__wal_config *cfg)
{
    uint64_t batch = cfg->wal.max_batch_bytes;
    if (batch < 1024u * 1024u)
        batch = 1024u * 1024u;
    uint64_t v = batch + KW_META_TOPIC_MAX_MESSAGE_MARGIN;
    return v > INT32_MAX ? INT32_MAX : (int64_t)v; /* Kafka keeps it in an int */
}

int kw__meta_topic_name(const char *prefix, uint32_t index, char *buf, size_t cap)
{
    if (!prefix || !buf || cap == 0)
        return KW_EINVAL;
    int n = snprintf(buf, cap, "%s_%" PRIu32, prefix, index);
    if (n < 0 || (size_t)n >= cap || n > KW_META_TOPIC_NAME_MAX - 1)
        return KW_ETOOBIG;
    return 0;
}

/* ---------------------------------------------------------------- setup */

static int run_init(run *r, kw_client *c, const kw__wal_config *cfg, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    r->c = c;
    r->cfg = cfg;
    r->err = err;
    r->errlen = errlen;
    if (err && errlen)
        err[0] = '\0';
    if (!c || !cfg || !cfg->topic_name_prefix || !cfg->topic_name_prefix[0] ||
        cfg->num_topics == 0 || cfg->num_partitions == 0 || cfg->replication_factor <= 0)
        return fail(r, KW_EINVAL,
                    "topic manager: no client, or num_topics, num_partitions, "
                    "replication_factor or topic_name_prefix unset");
    r->n = cfg->num_topics;
    r->rep.topics = r->n;
    r->t = calloc(r->n, sizeof(*r->t));
    if (!r->t)
        return fail(r, KW_ENOMEM, "topic manager: out of memory for %" PRIu32 " topics", r->n);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    kw__wr_init(&r->noop);
    for (uint32_t i = 0; i < r->n; i++)
        if (kw__meta_topic_name(cfg->topic_name_prefix, i, r->t[i].name, sizeof(r->t[i].name)))
            return fail(r, KW_ECONFIG,
                        "topic_name_prefix: '%s' makes topic names longer than 249 characters",
                        cfg->topic_name_prefix);
    return 0;
}

static void run_fini(run *r, kw_meta_topics_report *out, uint64_t t0)
{
    if (r->t) {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        kw__wr_free(&r->noop);
        for (uint32_t i = 0; i < r->n; i++)
            for (int k = 0; k < C_COUNT; k++)
                free(r->t[i].values[k]);
        free(r->t);
    }
    r->rep.total_ms = now_ms() - t0;
    if (out)
        *out = r->rep;
}

static uint32_t timeout_ms(const run *r)
{
    return r->cfg->create_topic_timeout_ms ? r->cfg->create_topic_timeout_ms : 30000;
}

/* ---------------------------------------------------------------- fan-out */

typedef int submit_fn(run *r, slot *s);

/* A callback's end of a request. */
static void slot_done(slot *s, int err, const char *what, const char *detail)
{
    run *r = s->r;
    if (err) {
        s->err = err;
        s->what = what;
        snprintf(s->detail, sizeof(s->detail), "%s", detail ? detail : "");
    }
    pthread_mutex_lock(&r->mu);
    r->pending--;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* For a callback that chains a second request on its slot: counted before it is submitted. */
static void slot_more(run *r)
{
    pthread_mutex_lock(&r->mu);
    r->pending++;
    pthread_mutex_unlock(&r->mu);
}

/*
 * Submits submit(slots[i]) for every slot, at most WINDOW in flight, and waits
 * for all, the client's one way (kw__client_wait_cond: a host-driven client
 * is driven from here, or by whichever thread runs it).  From the client's
 * loop thread nothing can complete while this waits: the run fails with
 * KW_EDEADLK before anything is sent.
 */
static void fan_out(run *r, slot *slots, size_t n, submit_fn *submit)
{
    size_t next = 0;
    int rc = kw__client_can_block(r->c);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            if (!slots[i].err) {
                slots[i].err = rc;
                slots[i].what = "waiting for the client (called from its loop thread)";
            }
        return;
    }
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (next < n && r->pending < WINDOW) {
            slot *s = &slots[next++];
            r->pending++;
            pthread_mutex_unlock(&r->mu);
            rc = submit(r, s);
            pthread_mutex_lock(&r->mu);
            if (rc) {
                r->pending--;
                if (!s->err) {
                    s->err = rc;
                    s->what = "submitting a request";
                }
            }
        }
        if (next == n && r->pending == 0)
            break;
        kw__client_wait_cond(r->c, &r->mu, &r->cv, NULL);
    }
    pthread_mutex_unlock(&r->mu);
}

/* The first failed slot becomes the run's error. */
static int first_slot_error(run *r, const slot *slots, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const slot *s = &slots[i];
        if (!s->err)
            continue;
        char part[16] = "";
        if (s->partition >= 0)
            snprintf(part, sizeof(part), "[%" PRId32 "]", s->partition);
        return fail(r, s->err, "%s %s%s: %s: %s", s->what, r->t[s->topic].name, part,
                    kw_err_name(s->err), s->detail);
    }
    return 0;
}

/* ---------------------------------------------------------------- lookup (Metadata) */

/* The index of a name "{prefix}_{i}" among ours, or -1. */
static int64_t topic_index(const run *r, const char *name)
{
    size_t pl = strlen(r->cfg->topic_name_prefix);
    if (!name || strncmp(name, r->cfg->topic_name_prefix, pl) != 0 || name[pl] != '_')
        return -1;
    char *end;
    unsigned long long i = strtoull(name + pl + 1, &end, 10);
    if (*end || i >= r->n || strcmp(r->t[i].name, name) != 0)
        return -1;
    return (int64_t)i;
}

/* Metadata for every topic: fills exists, leaders, partitions, min_replicas. */
static int lookup(run *r)
{
    const char **names = malloc(sizeof(*names) * (r->n < METADATA_CHUNK ? r->n : METADATA_CHUNK));
    if (!names)
        return fail(r, KW_ENOMEM, "topic manager: out of memory");
    for (uint32_t base = 0; base < r->n; base += METADATA_CHUNK) {
        uint32_t cnt = r->n - base < METADATA_CHUNK ? r->n - base : METADATA_CHUNK;
        for (uint32_t i = 0; i < cnt; i++) {
            topic *t = &r->t[base + i];
            names[i] = t->name;
            t->exists = t->leaders = false;
            t->md_kerr = 0;
            t->partitions = t->min_replicas = 0;
        }
        kw_client_metadata_args a = {
            .topics = names, .topic_count = cnt, .timeout_ms = timeout_ms(r)};
        kw_client_metadata_result m = {0};
        int rc = kw_client_metadata(r->c, &a, &m);
        if (rc) {
            fail(r, rc, "Metadata for %s..%s: %s: %s", names[0], names[cnt - 1], kw_err_name(rc),
                 m.detail);
            kw_client_metadata_result_free(&m);
            free(names);
            return rc;
        }
        for (size_t k = 0; k < m.topic_count; k++) {
            const kw_client_topic *mt = &m.topics[k];
            int64_t idx = topic_index(r, mt->name);
            if (idx < 0)
                continue;
            topic *t = &r->t[idx];
            if (mt->kerr == KERR_UNKNOWN_TOPIC)
                continue;
            t->exists = true;
            if (mt->kerr && mt->kerr != KERR_LEADER_NOT_AVAILABLE)
                t->md_kerr = mt->kerr;
            t->partitions = (int32_t)mt->partition_count;
            t->leaders = mt->kerr == 0 && mt->partition_count > 0;
            t->min_replicas = INT32_MAX;
            for (size_t p = 0; p < mt->partition_count; p++) {
                const kw_client_partition *mp = &mt->partitions[p];
                if (mp->leader < 0 || mp->kerr)
                    t->leaders = false;
                if ((int32_t)mp->replica_count < t->min_replicas)
                    t->min_replicas = (int32_t)mp->replica_count;
            }
            if (mt->partition_count == 0)
                t->min_replicas = 0;
        }
        kw_client_metadata_result_free(&m);
    }
    free(names);
    return 0;
}

/* ---------------------------------------------------------------- create */

static int create_missing(run *r)
{
    uint64_t t0 = now_ms();
    char maxmsg[24];
    snprintf(maxmsg, sizeof(maxmsg), "%" PRId64, kw__meta_topics_max_message_bytes(r->cfg));
    const kw_client_config_entry configs[C_COUNT] = {
        [C_RETENTION_MS] = {"retention.ms", "-1"},
        [C_RETENTION_BYTES] = {"retention.bytes", "-1"},
        [C_CLEANUP] = {"cleanup.policy", "delete"},
        [C_MAX_MESSAGE] = {"max.message.bytes", maxmsg},
        [C_COMPRESSION] = {"compression.type", "producer"},
    };
    kw_client_new_topic *nt = calloc(CREATE_CHUNK, sizeof(*nt));
    if (!nt)
        return fail(r, KW_ENOMEM, "topic manager: out of memory");
    uint32_t i = 0;
    int rc = 0;
    while (!rc && i < r->n) {
        size_t cnt = 0;
        for (; i < r->n && cnt < CREATE_CHUNK; i++) {
            if (r->t[i].exists)
                continue;
            nt[cnt++] = (kw_client_new_topic){
                .name = r->t[i].name,
                .partitions = (int32_t)r->cfg->num_partitions,
                .replication_factor = r->cfg->replication_factor,
                .configs = configs,
                .config_count = C_COUNT,
            };
        }
        if (cnt == 0)
            break;
        kw_client_create_topics_args a = {
            .topics = nt, .topic_count = cnt, .timeout_ms = timeout_ms(r)};
        kw_client_topics_result res = {0};
        rc = kw_client_create_topics(r->c, &a, &res);
        if (rc == KW_EBROKER && res.topics) {
            rc = 0;
            for (size_t k = 0; k < res.topic_count; k++) {
                const kw_client_topic_outcome *o = &res.topics[k];
                if (o->kerr == 0) {
                    r->rep.created++;
                } else if (o->kerr == KERR_TOPIC_EXISTS) {
                    r->rep
                        .raced++; /* another metasrv got there first: its topic is checked below */
                } else if (!rc) {
                    rc = fail(r, KW_EBROKER, "CreateTopics %s: %s: %s", o->name,
                              kw__kerr_name(o->kerr), o->message ? o->message : "");
                }
            }
        } else if (rc) {
            fail(r, rc, "CreateTopics (%zu topics from %s): %s: %s", cnt, nt[0].name,
                 kw_err_name(rc), res.detail);
        } else {
            r->rep.created += (uint32_t)cnt;
        }
        kw_client_topics_result_free(&res);
    }
    free(nt);
    r->rep.create_ms += now_ms() - t0;
    return rc;
}

/*
 * CreateTopics answers before the new partitions have leaders (and before
 * every broker knows the topic); the checks and the noop produce want both.
 */
static int wait_leaders(run *r)
{
    uint64_t t0 = now_ms();
    uint64_t deadline = t0 + timeout_ms(r);
    for (;;) {
        int rc = lookup(r);
        if (rc)
            return rc;
        uint32_t waiting = 0, first = 0;
        for (uint32_t i = 0; i < r->n; i++)
            if (!r->t[i].md_kerr && (!r->t[i].exists || !r->t[i].leaders) && waiting++ == 0)
                first = i;
        if (waiting == 0)
            break;
        if (now_ms() >= deadline) {
            r->rep.create_ms += now_ms() - t0;
            return fail(r, KW_ETIMEDOUT,
                        "%" PRIu32 " WAL topics (%s first) still have no leader after %" PRIu32
                        " ms",
                        waiting, r->t[first].name, timeout_ms(r));
        }
        struct timespec ts = {0, LEADER_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    r->rep.create_ms += now_ms() - t0;
    return 0;
}

/* ---------------------------------------------------------------- verify (DescribeConfigs) */

static void describe_done(const kw_client_describe_configs_result *res, void *arg)
{
    slot *s = arg;
    topic *t = &s->r->t[s->topic];
    if (res->err == KW_EBROKER && res->kerr == KERR_UNKNOWN_TOPIC) {
        t->vanished = true; /* deleted since the lookup: reported as missing */
        slot_done(s, 0, NULL, NULL);
        return;
    }
    if (res->err) {
        slot_done(s, res->err, "DescribeConfigs", res->detail);
        return;
    }
    t->described = true;
    for (size_t i = 0; i < res->config_count; i++) {
        const kw_client_config *cf = &res->configs[i];
        for (int k = 0; k < C_COUNT; k++) {
            if (!cf->name || strcmp(cf->name, config_keys[k]) != 0 || !cf->value)
                continue;
            free(t->values[k]);
            if (!(t->values[k] = strdup(cf->value))) {
                slot_done(s, KW_ENOMEM, "DescribeConfigs", "out of memory");
                return;
            }
        }
    }
    slot_done(s, 0, NULL, NULL);
}

static int describe_submit(run *r, slot *s)
{
    kw_client_describe_configs_args a = {
        .resource = KW_CLIENT_RESOURCE_TOPIC,
        .name = r->t[s->topic].name,
        .keys = config_keys,
        .key_count = C_COUNT,
        .timeout_ms = timeout_ms(r),
    };
    return kw_client_describe_configs_async(r->c, &a, describe_done, s);
}

/*
 * Appends "name: what is wrong, what else is wrong" for one topic to f (after
 * "; " when it is not the first topic listed); returns how many problems.
 */
static int topic_problems(const run *r, const topic *t, FILE *f, bool first)
{
    int n = 0;
#define PROBLEM(...)                                                                               \
    (n++ ? fputs(", ", f) : fprintf(f, "%s%s: ", first ? "" : "; ", t->name),                      \
     fprintf(f, __VA_ARGS__))
    if (!t->exists || t->vanished) {
        PROBLEM("missing");
        return n;
    }
    if (t->md_kerr)
        PROBLEM("metadata error %s", kw__kerr_name(t->md_kerr));
    if (t->partitions != (int32_t)r->cfg->num_partitions)
        PROBLEM("%" PRId32 " partition%s, expected %" PRIu32, t->partitions,
                t->partitions == 1 ? "" : "s", r->cfg->num_partitions);
    if (t->partitions > 0 && t->min_replicas < r->cfg->replication_factor)
        PROBLEM("replication factor %" PRId32 ", expected %d", t->min_replicas,
                r->cfg->replication_factor);
    if (!t->described)
        return n;
    for (int k = 0; k < C_COUNT; k++) {
        const char *v = t->values[k];
        if (!v) {
            PROBLEM("%s not reported by the broker", config_keys[k]);
            continue;
        }
        switch (k) {
        case C_RETENTION_MS:
        case C_RETENTION_BYTES:
            if (strcmp(v, "-1") != 0)
                PROBLEM("%s is %s, expected -1", config_keys[k], v);
            break;
        case C_CLEANUP:
            if (strcmp(v, "delete") != 0)
                PROBLEM("cleanup.policy is %s, expected delete", v);
            break;
        case C_MAX_MESSAGE: {
            char *end;
            long long have = strtoll(v, &end, 10);
            int64_t need = kw__meta_topics_max_message_bytes(r->cfg);
            if (*end || end == v || have < need)
                PROBLEM("max.message.bytes is %s, expected at least %" PRId64, v, need);
            break;
        }
        case C_COMPRESSION:
            if (strcmp(v, "producer") != 0 && strcmp(v, "lz4") != 0)
                PROBLEM("compression.type is %s, expected producer or lz4", v);
            break;
        }
    }
#undef PROBLEM
    return n;
}

/* DescribeConfigs for every existing topic, then the checks: one KW_ECONFIG lists every problem. */
static int check_all(run *r)
{
    uint64_t t0 = now_ms();
    slot *slots = calloc(r->n, sizeof(*slots));
    if (!slots)
        return fail(r, KW_ENOMEM, "topic manager: out of memory");
    size_t ns = 0;
    for (uint32_t i = 0; i < r->n; i++)
        if (r->t[i].exists)
            slots[ns++] = (slot){.r = r, .topic = i, .partition = -1};
    fan_out(r, slots, ns, describe_submit);
    int rc = first_slot_error(r, slots, ns);
    free(slots);
    if (rc) {
        r->rep.verify_ms += now_ms() - t0;
        return rc;
    }

    char *text = NULL;
    size_t text_len = 0;
    FILE *f = open_memstream(&text, &text_len);
    if (!f)
        return fail(r, KW_ENOMEM, "topic manager: out of memory");
    uint32_t bad = 0;
    for (uint32_t i = 0; i < r->n; i++)
        if (topic_problems(r, &r->t[i], f, bad == 0))
            bad++;
    if (fclose(f) != 0) {
        free(text);
        return fail(r, KW_ENOMEM, "topic manager: out of memory");
    }
    r->rep.problems = bad;
    if (bad) {
        rc = fail(r, KW_ECONFIG, "%" PRIu32 " of %" PRIu32 " WAL topics are not usable: %s", bad,
                  r->n, text ? text : "");
        size_t el = r->err ? strnlen(r->err, r->errlen) : 0;
        if (r->err && r->errlen > 4 && el == r->errlen - 1) /* cut: say so */
            memcpy(r->err + r->errlen - 4, "...", 4);
    }
    free(text);
    r->rep.verify_ms += now_ms() - t0;
    return rc;
}

/* ---------------------------------------------------------------- noop records */

static void noop_produced(const kw_client_produce_result *res, void *arg)
{
    slot *s = arg;
    if (!res->err) {
        pthread_mutex_lock(&s->r->mu);
        s->r->rep.noops_written++;
        pthread_mutex_unlock(&s->r->mu);
    }
    slot_done(s, res->err, "Produce (noop record)", res->detail);
}

static void end_listed(const kw_client_list_offsets_result *res, void *arg)
{
    slot *s = arg;
    run *r = s->r;
    if (res->err) {
        slot_done(s, res->err, "ListOffsets (latest)", res->detail);
        return;
    }
    if (res->offset != 0) {
        slot_done(s, 0, NULL, NULL);
        return;
    }
    /* Empty: the noop goes right after the look, so the window for a race is one round trip. */
    pthread_mutex_lock(&r->mu);
    r->rep.empty++;
    pthread_mutex_unlock(&r->mu);
    kw_client_produce_args a = {
        .topic = r->t[s->topic].name,
        .partition = s->partition,
        .batch = r->noop.buf,
        .batch_len = r->noop.len,
        .acks = KW_CLIENT_ACKS_ALL,
        .timeout_ms = timeout_ms(r),
    };
    slot_more(r);
    int rc = kw_client_produce_async(r->c, &a, noop_produced, s);
    /* this request is over either way; on failure the chained one is too, with the error */
    slot_done(s, 0, NULL, NULL);
    if (rc)
        slot_done(s, rc, "Produce (noop record)", "not submitted");
}

static int end_submit(run *r, slot *s)
{
    kw_client_list_offsets_args a = {
        .topic = r->t[s->topic].name,
        .partition = s->partition,
        .spec = KW_CLIENT_OFFSET_LATEST,
        .timeout_ms = timeout_ms(r),
    };
    return kw_client_list_offsets_async(r->c, &a, end_listed, s);
}

/* Needs the lookup done: every partition of every existing topic. */
static int write_noops(run *r)
{
    uint64_t t0 = now_ms();
    kw_batch_builder bb;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t wall_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    int rc = kw__batch_begin(&bb, &r->noop, NULL);
    if (!rc)
        rc = kw__batch_add(&bb, wall_ms, KW_BYTES_NULL, KW_BYTES_NULL, NULL, 0);
    if (!rc)
        rc = kw__batch_finish(&bb);
    if (rc)
        return fail(r, rc, "building the noop record batch: %s", kw_err_name(rc));

    size_t ns = 0;
    for (uint32_t i = 0; i < r->n; i++)
        if (r->t[i].exists)
            ns += (size_t)r->t[i].partitions;
    slot *slots = calloc(ns ? ns : 1, sizeof(*slots));
    if (!slots)
        return fail(r, KW_ENOMEM, "topic manager: out of memory");
    size_t k = 0;
    for (uint32_t i = 0; i < r->n; i++)
        for (int32_t p = 0; r->t[i].exists && p < r->t[i].partitions; p++)
            slots[k++] = (slot){.r = r, .topic = i, .partition = p};
    fan_out(r, slots, ns, end_submit);
    rc = first_slot_error(r, slots, ns);
    free(slots);
    r->rep.noop_ms += now_ms() - t0;
    return rc;
}

/* ---------------------------------------------------------------- the entry points */

static int timed_lookup(run *r)
{
    uint64_t t0 = now_ms();
    int rc = lookup(r);
    r->rep.lookup_ms += now_ms() - t0;
    return rc;
}

int kw__meta_topics_ensure(kw_client *c, const kw__wal_config *cfg, kw_meta_topics_report *out,
                           char *err, size_t errlen)
{
    uint64_t t0 = now_ms();
    run r;
    int rc = run_init(&r, c, cfg, err, errlen);
    if (!rc)
        rc = timed_lookup(&r);
    if (!rc)
        rc = create_missing(&r);
    if (!rc)
        rc = wait_leaders(&r);
    if (!rc)
        rc = check_all(&r);
    if (!rc)
        rc = write_noops(&r);
    run_fini(&r, out, t0);
    return rc;
}

int kw__meta_topics_verify(kw_client *c, const kw__wal_config *cfg, kw_meta_topics_report *out,
                           char *err, size_t errlen)
{
    uint64_t t0 = now_ms();
    run r;
    int rc = run_init(&r, c, cfg, err, errlen);
    if (!rc)
        rc = timed_lookup(&r);
    if (!rc)
        rc = check_all(&r);
    run_fini(&r, out, t0);
    return rc;
}

int kw__meta_topics_write_noops(kw_client *c, const kw__wal_config *cfg, kw_meta_topics_report *out,
                                char *err, size_t errlen)
{
    uint64_t t0 = now_ms();
    run r;
    int rc = run_init(&r, c, cfg, err, errlen);
    if (!rc)
        rc = timed_lookup(&r);
    if (!rc)
        rc = write_noops(&r);
    run_fini(&r, out, t0);
    return rc;
}

int kw__meta_topics_prepare(kw_client *c, const kw__wal_config *cfg, kw_meta_topics_report *out,
                            char *err, size_t errlen)
{
    if (cfg && cfg->auto_create_topics)
        return kw__meta_topics_ensure(c, cfg, out, err, errlen);
    uint64_t t0 = now_ms();
    run r;
    int rc = run_init(&r, c, cfg, err, errlen);
    if (!rc)
        rc = timed_lookup(&r);
    if (!rc)
        rc = check_all(&r);
    if (!rc)
        rc = write_noops(&r);
    run_fini(&r, out, t0);
    return rc;
}

void kw__meta_client_options(const kw_client_options *from, kw_client_options *o)
{
    *o = *from;
    if (!o->client_id)
        o->client_id = "kwal-meta";
}
