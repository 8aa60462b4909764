/* The soak behind bench/soak: WAL appends, replays, prunes, proxy cuts and KIP-368 re-authentication in a loop. */
/*
 * Two kafka-provider WALs on fresh topics run side by side, each on a
 * kw_client of its own:
 *   - "plain": PLAINTEXT (KWAL_BOOTSTRAP);
 *   - "sasl":  SCRAM-SHA-512 on the SASL listener, whose sessions expire every
 *              KWAL_REAUTH_MS (a broker started with --reauth-ms), so its
 *              connections re-authenticate (KIP-368) all along.
 * Every connection of both runs through a fault proxy (tests/proxy), which
 * cuts them all every --cut-every seconds, mid-append.
 * A round appends entries over 8 regions of each WAL (async, all waited for),
 * replays every region from its obsolete mark + 1 and checks that every
 * acknowledged entry since that mark comes back once, byte for byte, then
 * marks the previous round's entries obsolete and deletes the topic's records
 * below the lowest mark (DeleteRecords).  Every --sample seconds it prints
 * RSS, open fds and threads of this process.
 *
 * Exit 0: nothing acknowledged missing, and RSS, fds and threads stayed
 * within the bounds printed at the start; 1: a check failed; 2: usage or
 * setup; 77: no broker with a short session lifetime (skip; 1 under
 * KWAL_TEST_NO_SKIP=1).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kwal/client.h>
#include <kwal/wal.h>

#include "proxy_ctl.h"

#define REGIONS 8

/*
 * The WALs talk to the broker's advertised addresses, not to the bootstrap
 * one, so to put the fault proxy under every connection this program links
 * with -Wl,--wrap=connect: a connection to a loopback port in redirect[] goes
 * to that port's proxy instead (set once before any client starts).
 */
static struct {
    int from, to;
} redirect[2];
int __real_connect(int fd, const struct sockaddr *addr, socklen_t len);
int __wrap_connect(int fd, const struct sockaddr *addr, socklen_t len);
int __wrap_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    if (addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in in = *(const struct sockaddr_in *)addr;
        for (int i = 0; i < 2; i++)
            if (redirect[i].from && ntohs(in.sin_port) == redirect[i].from) {
                in.sin_port = htons((uint16_t)redirect[i].to);
                return __real_connect(fd, (const struct sockaddr *)&in, sizeof(in));
            }
    }
    return __real_connect(fd, addr, len);
}

static int port_of(const char *hostport)
{
    const char *c = strrchr(hostport, ':');
    return c ? atoi(c + 1) : 0;
}
#define MAX_ENTRY 2048

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* An entry: region, sequence number, then bytes that follow from both. */
static size_t entry_len(uint64_t seq)
{
    return 16 + (size_t)((seq * 2654435761u) % (MAX_ENTRY - 16));
}
static void entry_fill(uint8_t *b, uint64_t region, uint64_t seq)
{
    size_t n = entry_len(seq);
    memcpy(b, &region, 8);
    memcpy(b + 8, &seq, 8);
    uint64_t x = seq * 0x9e3779b97f4a7c15ULL + region;
    for (size_t i = 16; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b[i] = (uint8_t)(i % 3 ? x : 'a' + x % 8); /* part compressible, part not */
    }
}

typedef struct acked {
    uint64_t id, seq;
    bool seen;
} acked;

typedef struct region_book {
    acked *v;
    size_t n, cap;
    int64_t mark;      /* obsolete up to here; -1: never marked (entry ids start at offset 0) */
    int64_t last_prev; /* last acknowledged id of the previous round: the next mark; -1: none */
} region_book;

typedef struct soak_wal {
    const char *name;
    kw_client *client;
    kw_wal *wal;
    char topic[96];
    region_book regions[REGIONS];
    uint64_t next_seq;
    uint64_t acked, failed, replayed, replays, deleted;
    atomic_uint reauths;
} soak_wal;

typedef struct pending {
    soak_wal *w;
    uint64_t region, seq;
} pending;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static size_t outstanding;
static char first_error[512];

static void on_ack(void *arg, int err, uint64_t entry_id, const char *detail)
{
    pending *p = arg;
    pthread_mutex_lock(&mu);
    if (err) {
        p->w->failed++;
        if (!first_error[0])
            snprintf(first_error, sizeof first_error, "%s: %s: %s", p->w->name, kw_err_name(err),
                     detail);
    } else {
        region_book *rb = &p->w->regions[p->region];
        if (rb->n == rb->cap) {
            rb->cap = rb->cap ? rb->cap * 2 : 1024;
            rb->v = realloc(rb->v, rb->cap * sizeof(*rb->v));
            if (!rb->v) {
                fprintf(stderr, "soak: out of memory\n");
                exit(2);
            }
        }
        rb->v[rb->n++] = (acked){entry_id, p->seq, false};
        p->w->acked++;
    }
    outstanding--;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    free(p);
}

static void count_reauth(void *arg, int level, const char *msg)
{
    soak_wal *w = arg;
    if (strstr(msg, "re-authenticated"))
        atomic_fetch_add(&w->reauths, 1);
    else if (level <= KW_LOG_WARN && getenv("KWAL_SOAK_VERBOSE"))
        fprintf(stderr, "soak: %s: %s\n", w->name, msg);
}

static int cmp_id(const void *a, const void *b)
{
    uint64_t x = ((const acked *)a)->id, y = ((const acked *)b)->id;
    return x < y ? -1 : x > y;
}

static acked *find_acked(region_book *rb, uint64_t id)
{
    size_t lo = 0, hi = rb->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (rb->v[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < rb->n && rb->v[lo].id == id ? &rb->v[lo] : NULL;
}

/* Replays every region from its mark + 1; 0, or -1 with why (an acknowledged entry missing, ...). */
static int replay_check(soak_wal *w, char *why, size_t whylen)
{
    uint64_t ids[REGIONS], from[REGIONS];
    for (int r = 0; r < REGIONS; r++) {
        region_book *rb = &w->regions[r];
        qsort(rb->v, rb->n, sizeof(*rb->v), cmp_id);
        for (size_t i = 0; i < rb->n; i++)
            rb->v[i].seen = false;
        ids[r] = (uint64_t)r;
        from[r] = (uint64_t)(rb->mark + 1);
    }
    kw_wal_replay *rp;
    int rc = kw_wal_replay_open_regions(w->wal, ids, from, REGIONS, 0, &rp);
    if (rc) {
        snprintf(why, whylen, "%s: replay open: %s: %s", w->name, kw_err_name(rc),
                 kw_wal_errstr(w->wal));
        return -1;
    }
    uint8_t want[MAX_ENTRY];
    uint64_t region, id;
    const uint8_t *data;
    size_t len;
    while ((rc = kw_wal_replay_next_region(rp, &region, &id, &data, &len, -1)) == 1) {
        w->replayed++;
        if (region >= REGIONS) {
            snprintf(why, whylen, "%s: replay gave region %" PRIu64, w->name, region);
            rc = -1;
            break;
        }
        acked *a = find_acked(&w->regions[region], id);
        if (!a)
            continue; /* not acknowledged (failed or timed out): may be there or not */
        entry_fill(want, region, a->seq);
        if (a->seen || len != entry_len(a->seq) || memcmp(data, want, len) != 0) {
            snprintf(why, whylen, "%s: region %" PRIu64 " entry %" PRIu64 " (seq %" PRIu64 "): %s",
                     w->name, region, id, a->seq,
                     a->seen ? "replayed twice" : "bytes differ from what was appended");
            rc = -1;
            break;
        }
        a->seen = true;
    }
    if (rc < 0 && rc != -1)
        snprintf(why, whylen, "%s: replay: %s: %s", w->name, kw_err_name(rc),
                 kw_wal_replay_errstr(rp));
    kw_wal_replay_close(rp);
    if (rc)
        return -1;
    w->replays++;
    for (int r = 0; r < REGIONS; r++)
        for (size_t i = 0; i < w->regions[r].n; i++)
            if (!w->regions[r].v[i].seen) {
                snprintf(why, whylen,
                         "%s: region %d: acknowledged entry %" PRIu64 " (seq %" PRIu64
                         ") missing from the replay",
                         w->name, r, w->regions[r].v[i].id, w->regions[r].v[i].seq);
                return -1;
            }
    return 0;
}

/*
 * Marks the previous round's entries obsolete, forgets them, and deletes the
 * records below the lowest mark; this round's entries are checked once more.
 */
static int prune(soak_wal *w, char *why, size_t whylen)
{
    int64_t low = INT64_MAX;
    for (int r = 0; r < REGIONS; r++) {
        region_book *rb = &w->regions[r];
        int64_t to = rb->last_prev;
        if (to > rb->mark) {
            int rc = kw_wal_obsolete(w->wal, (uint64_t)r, (uint64_t)to);
            if (rc) {
                snprintf(why, whylen, "%s: obsolete: %s: %s", w->name, kw_err_name(rc),
                         kw_wal_errstr(w->wal));
                return -1;
            }
            rb->mark = to;
            size_t k = 0;
            for (size_t i = 0; i < rb->n; i++)
                if (rb->v[i].id > (uint64_t)to)
                    rb->v[k++] = rb->v[i];
            rb->n = k;
        }
        rb->last_prev = rb->n ? (int64_t)rb->v[rb->n - 1].id : rb->mark;
        if (rb->mark < low)
            low = rb->mark;
    }
    if (low < 0)
        return 0;
    kw_client_delete_records_args a = {.topic = w->topic, .partition = 0,
                                       .before_offset = low + 1, .timeout_ms = 10000};
    kw_client_delete_records_result res;
    int rc = kw_client_delete_records(w->client, &a, &res);
    if (rc == 0)
        w->deleted = (uint64_t)res.low_watermark;
    /* A cut can fail this call; the next round deletes again. */
    return 0;
}

static long proc_status(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl) && line[kl] == ':') {
            v = strtol(line + kl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the DIR's own fd */
}

static int open_wal(soak_wal *w, const kw_client_options *co, char *err, size_t errlen)
{
    int rc = kw_client_new(&w->client, co, err, errlen);
    if (rc)
        return rc;
    kw_client_new_topic t = {.name = w->topic, .partitions = 1, .replication_factor = 1};
    kw_client_create_topics_args ca = {.topics = &t, .topic_count = 1, .timeout_ms = 30000};
    kw_client_topics_result tr;
    rc = kw_client_create_topics(w->client, &ca, &tr);
    if (rc == 0 && tr.topic_count == 1 && tr.topics[0].kerr) {
        snprintf(err, errlen, "creating topic %s: %s", w->topic, tr.topics[0].message);
        rc = KW_EBROKER;
    } else if (rc) {
        snprintf(err, errlen, "creating topic %s: %s: %.200s", w->topic, kw_err_name(rc), tr.detail);
    }
    kw_client_topics_result_free(&tr);
    if (rc)
        return rc;
    kw_wal_options o = {.provider = KW_WAL_PROVIDER_KAFKA, .client = w->client,
                        .topic = w->topic, .timeout_ms = 10000};
    return kw_wal_open(&w->wal, &o, err, errlen);
}

static void close_wal(soak_wal *w)
{
    if (w->wal)
        kw_wal_close(w->wal);
    if (w->client) {
        const char *names[] = {w->topic};
        kw_client_delete_topics_args da = {.names = names, .name_count = 1, .timeout_ms = 10000};
        kw_client_topics_result tr;
        if (kw_client_delete_topics(w->client, &da, &tr) == 0)
            kw_client_topics_result_free(&tr);
        kw_client_destroy(w->client);
    }
    for (int r = 0; r < REGIONS; r++)
        free(w->regions[r].v);
}

/* 77 (skip) without the broker it needs; 1 under KWAL_TEST_NO_SKIP=1 (scripts/test started one). */
static int skip_status(void)
{
    const char *strict = getenv("KWAL_TEST_NO_SKIP");
    if (strict && !strcmp(strict, "1")) {
        fprintf(stderr, "soak: KWAL_TEST_NO_SKIP=1: failing instead of skipping\n");
        return 1;
    }
    return 77;
}

static void usage(FILE *out)
{
    fputs("usage: kwal_soak [--minutes N | --seconds N] [--entries N] [--cut-every S] [--sample S]\n"
          "Needs KWAL_BOOTSTRAP, and KWAL_BOOTSTRAP_SASL + KWAL_SASL_USER/PASSWORD of a broker\n"
          "started with --reauth-ms (KWAL_REAUTH_MS): see bench/soak.\n",
          out);
}

int main(int argc, char **argv)
{
    double seconds = 60, cut_every = 5, sample_every = 10;
    int per_round = 400; /* entries per WAL per round */
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (v && !strcmp(argv[i], "--minutes")) {
            seconds = atof(v) * 60, i++;
        } else if (v && !strcmp(argv[i], "--seconds")) {
            seconds = atof(v), i++;
        } else if (v && !strcmp(argv[i], "--entries")) {
            per_round = atoi(v), i++;
        } else if (v && !strcmp(argv[i], "--cut-every")) {
            cut_every = atof(v), i++;
        } else if (v && !strcmp(argv[i], "--sample")) {
            sample_every = atof(v), i++;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (seconds <= 0 || per_round <= 0 || cut_every <= 0 || sample_every <= 0) {
        usage(stderr);
        return 2;
    }
    const char *bs = getenv("KWAL_BOOTSTRAP"), *sasl = getenv("KWAL_BOOTSTRAP_SASL");
    const char *user = getenv("KWAL_SASL_USER"), *pass = getenv("KWAL_SASL_PASSWORD");
    const char *reauth = getenv("KWAL_REAUTH_MS");
    if (!bs || !*bs || !sasl || !*sasl || !user || !pass) {
        fprintf(stderr, "soak: skipped: needs KWAL_BOOTSTRAP, KWAL_BOOTSTRAP_SASL, KWAL_SASL_USER "
                        "and KWAL_SASL_PASSWORD (eval \"$(tests/kafka/broker env)\")\n");
        return skip_status();
    }
    if (!reauth || atoi(reauth) <= 0) {
        fprintf(stderr, "soak: skipped: the broker's sessions never expire (KWAL_REAUTH_MS unset): "
                        "start one with `tests/kafka/broker up --reauth-ms 3000`, or run bench/soak, "
                        "which starts its own\n");
        return skip_status();
    }

    /* One proxy per listener: both WALs' connections are cut. */
    kt_proxy px[2];
    const char *targets[2] = {bs, sasl};
    for (int i = 0; i < 2; i++) {
        if (kt_proxy_start_timed(&px[i], targets[i], (int)seconds + 300) != 0) {
            fprintf(stderr, "soak: cannot start the fault proxy (%s)\n", kt_proxy_path());
            if (i)
                kt_proxy_stop(&px[0]);
            return 2;
        }
        redirect[i].from = port_of(targets[i]);
        redirect[i].to = px[i].listen_port;
    }
    static soak_wal w[2];
    for (int i = 0; i < 2; i++)
        for (int r = 0; r < REGIONS; r++)
            w[i].regions[r].mark = w[i].regions[r].last_prev = -1;
    w[0].name = "plain";
    w[1].name = "sasl";
    unsigned tag = (unsigned)getpid() ^ (unsigned)time(NULL);
    for (int i = 0; i < 2; i++)
        snprintf(w[i].topic, sizeof w[i].topic, "kwal_soak_%u_%s", tag, w[i].name);
    kw_client_options co_cut = {.bootstrap = bs, .client_id = "kwal-soak-plain",
                                .log = count_reauth, .log_arg = &w[0]};
    kw_client_options co_sasl = {.bootstrap = sasl, .client_id = "kwal-soak-sasl",
                                 .security = KW_CLIENT_SASL_PLAINTEXT,
                                 .sasl_mechanism = "SCRAM-SHA-512", .sasl_username = user,
                                 .sasl_password = pass, .log = count_reauth, .log_arg = &w[1]};
    char err[512] = "";
    int status = 0;
    if (open_wal(&w[0], &co_cut, err, sizeof err) || open_wal(&w[1], &co_sasl, err, sizeof err)) {
        fprintf(stderr, "soak: setup: %s\n", err);
        status = 2;
        goto out;
    }

    printf("soak: %.0f s; WAL \"plain\" (topic %s) on %s through the proxy %s, WAL \"sasl\" "
           "(topic %s, SCRAM-SHA-512, sessions of %s ms) on %s through the proxy %s; every connection "
           "cut every %.0f s; %d entries of 16-%d bytes per WAL per round over %d regions\n",
           seconds, w[0].topic, bs, px[0].listen_addr, w[1].topic, reauth, sasl, px[1].listen_addr,
           cut_every, per_round, MAX_ENTRY - 1, REGIONS);
    printf("soak: bounds against the first sample: RSS <= first x 1.5 + 16 MiB, fds <= first + 8, "
           "threads <= first\n");
    printf("%7s %9s %5s %7s %10s %7s %10s %7s %5s %7s\n", "t_s", "rss_kib", "fds", "threads",
           "acked", "failed", "replayed", "rounds", "cuts", "reauths");
    fflush(stdout);

    double t0 = now_s(), next_sample = t0 + sample_every, last_cut = t0;
    long base_rss = -1, base_fds = -1, base_threads = -1;
    long max_rss = 0, max_fds = 0, max_threads = 0;
    unsigned long rounds = 0, cuts = 0;
    static uint8_t buf[MAX_ENTRY];
    while (status == 0) {
        double t = now_s();
        if (t - t0 >= seconds)
            break;
        /* Append: both WALs, every region; a cut halfway through when one is due. */
        for (int k = 0; k < per_round && status == 0; k++) {
            if (k == per_round / 2 && t - last_cut >= cut_every) {
                if (kt_proxy_cmd(&px[0], "cut") != 0 || kt_proxy_cmd(&px[1], "cut") != 0) {
                    fprintf(stderr, "soak: the proxy did not take `cut`\n");
                    status = 2;
                }
                last_cut = t;
                cuts++;
            }
            for (int i = 0; i < 2 && status == 0; i++) {
                pending *p = malloc(sizeof(*p));
                if (!p) {
                    status = 2;
                    break;
                }
                *p = (pending){&w[i], (uint64_t)(k % REGIONS), w[i].next_seq++};
                entry_fill(buf, p->region, p->seq);
                pthread_mutex_lock(&mu);
                outstanding++;
                pthread_mutex_unlock(&mu);
                int rc = kw_wal_append(w[i].wal, p->region, buf, entry_len(p->seq), on_ack, p);
                if (rc) {
                    pthread_mutex_lock(&mu);
                    outstanding--;
                    w[i].failed++;
                    if (!first_error[0])
                        snprintf(first_error, sizeof first_error, "%s: append: %s: %s", w[i].name,
                                 kw_err_name(rc), kw_wal_errstr(w[i].wal));
                    pthread_mutex_unlock(&mu);
                    free(p);
                }
            }
        }
        /* Every append answered (the WAL's timeout bounds this; 60 s more means a hang). */
        pthread_mutex_lock(&mu);
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 60;
        while (outstanding && pthread_cond_timedwait(&cv, &mu, &dl) == 0)
            ;
        size_t left = outstanding;
        pthread_mutex_unlock(&mu);
        if (left) {
            fprintf(stderr, "soak: FAIL: %zu appends unanswered after 60 s\n", left);
            status = 1;
            break;
        }
        for (int i = 0; i < 2 && status == 0; i++)
            if (replay_check(&w[i], err, sizeof err) || prune(&w[i], err, sizeof err)) {
                fprintf(stderr, "soak: FAIL: %s\n", err);
                status = 1;
            }
        rounds++;
        usleep(100 * 1000); /* a shared machine: leave the broker some room between rounds */
        t = now_s();
        bool last = t - t0 >= seconds; /* the last round: its sample closes the table */
        if (t >= next_sample || last) {
            next_sample += sample_every;
            long rss = proc_status("VmRSS"), fds = open_fds(), th = proc_status("Threads");
            printf("%7.0f %9ld %5ld %7ld %10" PRIu64 " %7" PRIu64 " %10" PRIu64 " %7lu %5lu %7u\n",
                   t - t0, rss, fds, th, w[0].acked + w[1].acked, w[0].failed + w[1].failed,
                   w[0].replayed + w[1].replayed, rounds, cuts,
                   atomic_load(&w[0].reauths) + atomic_load(&w[1].reauths));
            fflush(stdout);
            if (base_rss < 0) {
                base_rss = rss, base_fds = fds, base_threads = th;
            } else {
                if (rss > max_rss)
                    max_rss = rss;
                if (fds > max_fds)
                    max_fds = fds;
                if (th > max_threads)
                    max_threads = th;
            }
        }
        if (last)
            break;
    }
    if (status == 0 && base_rss >= 0) {
        if (max_rss > base_rss * 3 / 2 + 16384 || max_fds > base_fds + 8 ||
            max_threads > base_threads) {
            fprintf(stderr,
                    "soak: FAIL: growth past the bounds: RSS %ld -> max %ld KiB, fds %ld -> %ld, "
                    "threads %ld -> %ld\n",
                    base_rss, max_rss, base_fds, max_fds, base_threads, max_threads);
            status = 1;
        }
    }
    if (status == 0 && atomic_load(&w[1].reauths) == 0 && now_s() - t0 > 3.0 * atoi(reauth) / 1000) {
        fprintf(stderr, "soak: FAIL: the SASL WAL's connections never re-authenticated\n");
        status = 1;
    }
    if (status == 0 && (w[0].acked == 0 || w[1].acked == 0)) {
        fprintf(stderr, "soak: FAIL: a WAL acknowledged nothing (%s)\n", first_error);
        status = 1;
    }
    /* Each cut must have sent the WAL's connections back through the proxy, or the cuts missed them. */
    for (int i = 0; i < 2; i++) {
        char stats[256];
        long long accepted = kt_proxy_query(&px[i], "stats", stats, sizeof stats) == 0
                                 ? kt_proxy_stat(stats, "accepted")
                                 : -1;
        printf("soak: %s: the proxy accepted %lld connections over %lu cuts\n", w[i].name,
               accepted, cuts);
        if (status == 0 && cuts && accepted < (long long)cuts + 1) {
            fprintf(stderr, "soak: FAIL: %s: fewer connections through the proxy than cuts\n",
                    w[i].name);
            status = 1;
        }
    }
    for (int i = 0; i < 2; i++)
        printf("soak: %s: %" PRIu64 " acknowledged, %" PRIu64 " failed, %" PRIu64
               " replays (%" PRIu64 " entries read), log start %" PRIu64 " after DeleteRecords\n",
               w[i].name, w[i].acked, w[i].failed, w[i].replays, w[i].replayed, w[i].deleted);
    if (first_error[0])
        printf("soak: first failed append: %s\n", first_error);
    if (status == 0)
        printf("soak: PASS: every acknowledged entry replayed, once; RSS, fds and threads flat\n");
out:
    close_wal(&w[0]);
    close_wal(&w[1]);
    kt_proxy_stop(&px[0]);
    kt_proxy_stop(&px[1]);
    return status;
}
