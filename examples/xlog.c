/* xlog: a toy key-value database on kw_log — the leader resolves SET/INCR/DEL commands into the replica, followers apply it. */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kwal/client.h"
#include "kwal/consumer.h"
#include "kwal/log.h"

/*
 * Two modes.
 *
 *   xlog node -b BROKERS -n NAME -g GROUP -p PREFIX -s SESSION_MS -o DIR DB...
 *     One node; database DB's source topic is "PREFIX-DB".  Commands (source
 *     records): "SET k v", "INCR k", "DEL k".  The leader resolves each into
 *     "SRCOFFSET SET k v" or "SRCOFFSET DEL k" (INCR becomes the SET of the new
 *     number) and applies it to its state; followers apply the replica.  Role
 *     changes go to stdout ("NAME leader DB term T" / "NAME follower DB").
 *     SIGUSR1 writes each database's state to DIR/NAME.DB (sorted "k v" lines);
 *     SIGINT/SIGTERM closes the node.
 *
 *   xlog check -b BROKERS -p PREFIX -o DIR DB...
 *     Reads every source and replica topic (read_committed) and checks: the
 *     replica has one record per source command, in source order (every
 *     command applied once); terms never decrease; one writer per term (a
 *     term's records are contiguous); then writes the state the replica
 *     gives to DIR/replica.DB.  Exit 0 when all holds.
 */

#define MAX_KEYS 1024

typedef struct kv {
    char key[64];
    char value[64];
} kv;

typedef struct db_state {
    char name[64];
    kv keys[MAX_KEYS];
    size_t count;
} db_state;

typedef struct app {
    char name[32];
    char prefix[128];
    char dir[512];
    db_state *dbs;
    size_t db_count;
    pthread_mutex_t mu; /* the worker applies, main dumps */
} app;

static db_state *state_of(app *a, const char *db)
{
    for (size_t i = 0; i < a->db_count; i++)
        if (!strcmp(a->dbs[i].name, db))
            return &a->dbs[i];
    return NULL;
}

static kv *find_key(db_state *s, const char *k, bool create)
{
    for (size_t i = 0; i < s->count; i++)
        if (!strcmp(s->keys[i].key, k))
            return &s->keys[i];
    if (!create || s->count == MAX_KEYS)
        return NULL;
    kv *e = &s->keys[s->count++];
    snprintf(e->key, sizeof(e->key), "%s", k);
    e->value[0] = 0;
    return e;
}

static void del_key(db_state *s, const char *k)
{
    kv *e = find_key(s, k, false);
    if (e)
        *e = s->keys[--s->count];
}

/* Applies a resolved "SRCOFFSET SET k v" / "SRCOFFSET DEL k" to s. */
static void apply_resolved(db_state *s, const char *text)
{
    char op[8], k[64], v[64] = "";
    long long off;
    if (sscanf(text, "%lld %7s %63s %63s", &off, op, k, v) < 3)
        return;
    if (!strcmp(op, "SET")) {
        kv *e = find_key(s, k, true);
        if (e)
            snprintf(e->value, sizeof(e->value), "%s", v);
    } else if (!strcmp(op, "DEL")) {
        del_key(s, k);
    }
}

/* The leader: resolve a command against the state, apply it, emit the result. */
static int leader_apply(void *arg, const kw_log_record *src, kw_log_output *out)
{
    app *a = arg;
    char cmd[160], op[8], k[64], v[64] = "", res[200];
    snprintf(cmd, sizeof(cmd), "%.*s", (int)src->value_len, src->value ? (const char *)src->value : "");
    pthread_mutex_lock(&a->mu);
    db_state *s = state_of(a, src->database);
    int n = sscanf(cmd, "%7s %63s %63s", op, k, v);
    if (n >= 2 && !strcmp(op, "INCR")) {
        kv *e = find_key(s, k, false);
        long long cur = e ? strtoll(e->value, NULL, 10) : 0;
        snprintf(res, sizeof(res), "%" PRId64 " SET %s %lld", src->offset, k, cur + 1);
    } else if (n >= 3 && !strcmp(op, "SET")) {
        snprintf(res, sizeof(res), "%" PRId64 " SET %s %s", src->offset, k, v);
    } else if (n >= 2 && !strcmp(op, "DEL")) {
        snprintf(res, sizeof(res), "%" PRId64 " DEL %s", src->offset, k);
    } else {
        /* A command it cannot read still takes its place in the replica: every command once. */
        snprintf(res, sizeof(res), "%" PRId64 " BAD", src->offset);
    }
    apply_resolved(s, res);
    pthread_mutex_unlock(&a->mu);
    return kw_log_emit(out, a->name, strlen(a->name), res, strlen(res));
}

static void on_replica(void *arg, const kw_log_record *r)
{
    app *a = arg;
    char text[200];
    snprintf(text, sizeof(text), "%.*s", (int)r->value_len, r->value ? (const char *)r->value : "");
    pthread_mutex_lock(&a->mu);
    apply_resolved(state_of(a, r->database), text);
    pthread_mutex_unlock(&a->mu);
}

static void on_leader(void *arg, const char *db, int64_t term)
{
    app *a = arg;
    printf("%s leader %s term %" PRId64 "\n", a->name, db, term);
    fflush(stdout);
}

static void on_follower(void *arg, const char *db, bool rewind)
{
    app *a = arg;
    if (rewind) {
        pthread_mutex_lock(&a->mu);
        state_of(a, db)->count = 0; /* replayed from the replica's start */
        pthread_mutex_unlock(&a->mu);
    }
    printf("%s follower %s%s\n", a->name, db, rewind ? " rewind" : "");
    fflush(stdout);
}

static int cmp_kv(const void *x, const void *y)
{
    return strcmp(((const kv *)x)->key, ((const kv *)y)->key);
}

static void dump(db_state *s, const char *dir, const char *who)
{
    char path[768];
    snprintf(path, sizeof(path), "%s/%s.%s", dir, who, s->name);
    qsort(s->keys, s->count, sizeof(kv), cmp_kv);
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    for (size_t i = 0; i < s->count; i++)
        fprintf(f, "%s %s\n", s->keys[i].key, s->keys[i].value);
    fclose(f);
}

static volatile sig_atomic_t got_stop, got_dump;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        got_dump = 1;
    else
        got_stop = 1;
}

static void log_line(void *arg, int level, const char *msg)
{
    if (level <= KW_LOG_WARN)
        fprintf(stderr, "xlog %s: %s\n", (const char *)arg, msg);
}

static int run_node(app *a, const char *bootstrap, const char *group, uint32_t session_ms)
{
    kw_log_options o = {.bootstrap = bootstrap, .group_id = group,
                        .transactional_id_prefix = a->prefix, .session_timeout_ms = session_ms,
                        .heartbeat_interval_ms = session_ms / 6 ? session_ms / 6 : 1000,
                        .rebalance_timeout_ms = session_ms * 2, .apply = leader_apply,
                        .on_leader = on_leader, .on_follower = on_follower,
                        .on_replica = on_replica, .arg = a, .log = log_line, .log_arg = a->name};
    kw_log *log;
    char err[512];
    int rc = kw_log_open(&log, &o, err, sizeof(err));
    for (size_t i = 0; rc == 0 && i < a->db_count; i++) {
        char topic[256];
        snprintf(topic, sizeof(topic), "%s-%s", a->prefix, a->dbs[i].name);
        kw_log_database d = {.name = a->dbs[i].name, .topic = topic, .auto_create_topic = true};
        rc = kw_log_attach(log, &d, err, sizeof(err));
    }
    if (rc == 0)
        rc = kw_log_start(log, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "xlog %s: %s\n", a->name, err);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    while (!got_stop) {
        if (got_dump) {
            got_dump = 0;
            pthread_mutex_lock(&a->mu);
            for (size_t i = 0; i < a->db_count; i++)
                dump(&a->dbs[i], a->dir, a->name);
            pthread_mutex_unlock(&a->mu);
            printf("%s dumped\n", a->name);
            fflush(stdout);
        }
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    kw_log_close(log);
    return 0;
}

/* Reads a whole partition read_committed into values[] (and the writers' keys and terms). */
typedef struct rec {
    char value[200];
    char writer[32];
    int64_t term;
} rec;

static int64_t term_of(const kw_consumer_record *r)
{
    for (size_t i = 0; i < r->header_count; i++)
        if (r->headers[i].key_len == 9 && !memcmp(r->headers[i].key, "kwal-term", 9) &&
            r->headers[i].value_len == 8) {
            uint64_t v = 0;
            for (int j = 0; j < 8; j++)
                v = v << 8 | ((const uint8_t *)r->headers[i].value)[j];
            return (int64_t)v;
        }
    return -1;
}

static size_t read_all(kw_client *c, const char *topic, rec **out)
{
    kw_client_list_offsets_args la = {.topic = topic, .spec = KW_CLIENT_OFFSET_LATEST,
                                      .isolation = KW_CLIENT_READ_COMMITTED};
    kw_client_list_offsets_result lr;
    if (kw_client_list_offsets(c, &la, &lr)) {
        fprintf(stderr, "xlog check: %s: %s\n", topic, lr.detail);
        return 0;
    }
    kw_consumer_options co = {.isolation = KW_CONSUMER_READ_COMMITTED, .max_wait_ms = 100};
    kw_consumer *cons;
    if (kw_consumer_new(&cons, c, &co, NULL, 0))
        return 0;
    kw_consumer_assign(cons, topic, 0, kw_consumer_at_earliest());
    size_t n = 0, cap = 0;
    rec *v = NULL;
    for (int idle = 0; idle < 100;) {
        int64_t pos = -1;
        kw_consumer_position(cons, topic, 0, &pos);
        if (pos >= lr.offset)
            break;
        kw_consumer_poll_result pr;
        if (kw_consumer_poll(cons, 100, &pr))
            break;
        idle = pr.record_count ? 0 : idle + 1;
        for (size_t i = 0; i < pr.record_count; i++) {
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                v = realloc(v, cap * sizeof(*v));
            }
            const kw_consumer_record *r = &pr.records[i];
            snprintf(v[n].value, sizeof(v[n].value), "%.*s", (int)r->value_len,
                     r->value ? (const char *)r->value : "");
            snprintf(v[n].writer, sizeof(v[n].writer), "%.*s", (int)r->key_len,
                     r->key ? (const char *)r->key : "");
            v[n].term = term_of(r);
            n++;
        }
    }
    kw_consumer_destroy(cons);
    *out = v;
    return n;
}

static int run_check(app *a, const char *bootstrap)
{
    kw_client_options co = {.bootstrap = bootstrap};
    kw_client *c;
    char err[256];
    if (kw_client_new(&c, &co, err, sizeof(err))) {
        fprintf(stderr, "xlog check: %s\n", err);
        return 1;
    }
    int bad = 0;
    for (size_t d = 0; d < a->db_count; d++) {
        char src[256], rep[300];
        snprintf(src, sizeof(src), "%s-%s", a->prefix, a->dbs[d].name);
        snprintf(rep, sizeof(rep), "%s-replica", src);
        rec *s = NULL, *r = NULL;
        size_t ns = read_all(c, src, &s), nr = read_all(c, rep, &r);
        size_t terms = 0;
        for (size_t i = 0; i < nr; i++) {
            long long off = -1;
            sscanf(r[i].value, "%lld", &off);
            if (off != (long long)i) {
                printf("%s: replica record %zu resolves source offset %lld (want %zu)\n",
                       a->dbs[d].name, i, off, i);
                bad = 1;
                break;
            }
            if (i && r[i].term < r[i - 1].term) {
                printf("%s: term goes down at %zu\n", a->dbs[d].name, i);
                bad = 1;
            }
            if (i && r[i].term == r[i - 1].term && strcmp(r[i].writer, r[i - 1].writer)) {
                printf("%s: term %" PRId64 " has writers %s and %s\n", a->dbs[d].name,
                       r[i].term, r[i - 1].writer, r[i].writer);
                bad = 1;
            }
            if (!i || r[i].term != r[i - 1].term)
                terms++;
            apply_resolved(&a->dbs[d], r[i].value);
        }
        if (ns != nr) {
            printf("%s: %zu commands, %zu replica records\n", a->dbs[d].name, ns, nr);
            bad = 1;
        }
        printf("%s: %zu commands, %zu replica records, %zu terms, writers:", a->dbs[d].name, ns, nr,
               terms);
        for (size_t i = 0; i < nr; i++)
            if (!i || r[i].term != r[i - 1].term)
                printf(" %s@%" PRId64, r[i].writer, r[i].term & 0xffffffffffff);
        printf("\n");
        dump(&a->dbs[d], a->dir, "replica");
        free(s);
        free(r);
    }
    kw_client_destroy(c);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "node") && strcmp(argv[1], "check"))) {
        fprintf(stderr, "usage: xlog node -b BROKERS -n NAME -g GROUP -p PREFIX [-s SESSION_MS] "
                        "-o DIR DB...\n       xlog check -b BROKERS -p PREFIX -o DIR DB...\n");
        return 2;
    }
    bool node = !strcmp(argv[1], "node");
    app a = {.name = "node"};
    pthread_mutex_init(&a.mu, NULL);
    const char *bootstrap = NULL, *group = "xtdb";
    uint32_t session = 6000;
    snprintf(a.dir, sizeof(a.dir), ".");
    int opt;
    optind = 2;
    while ((opt = getopt(argc, argv, "b:n:g:p:s:o:")) != -1) {
        switch (opt) {
        case 'b': bootstrap = optarg; break;
        case 'n': snprintf(a.name, sizeof(a.name), "%s", optarg); break;
        case 'g': group = optarg; break;
        case 'p': snprintf(a.prefix, sizeof(a.prefix), "%s", optarg); break;
        case 's': session = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'o': snprintf(a.dir, sizeof(a.dir), "%s", optarg); break;
        default: return 2;
        }
    }
    if (!bootstrap || !a.prefix[0] || optind >= argc) {
        fprintf(stderr, "xlog: -b, -p and at least one database are required\n");
        return 2;
    }
    a.db_count = (size_t)(argc - optind);
    a.dbs = calloc(a.db_count, sizeof(*a.dbs));
    if (!a.dbs)
        return 1;
    for (size_t i = 0; i < a.db_count; i++)
        snprintf(a.dbs[i].name, sizeof(a.dbs[i].name), "%s", argv[optind + (int)i]);
    int rc = node ? run_node(&a, bootstrap, group, session) : run_check(&a, bootstrap);
    free(a.dbs);
    return rc;
}
