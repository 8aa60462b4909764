/* kwal and the Java client (kafka-clients from the broker's jars) read each other's records byte for byte. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kwal/client.h"
#include "kwal/consumer.h"
#include "kwal/producer.h"

/*
 * Both directions go through tests/integration/java/Interop.java, compiled once by javac in
 * main, one JVM per direction (every codec in that one run).  The records (record_*) are the
 * same function as Interop.java's, and both sides write what they sent or read as one line per
 * record (see Interop.java for the format), so "byte-identical" is a comparison of sorted lines:
 * keys, values, headers (keys, values, null values), timestamps, offsets.
 *
 * Environment: KWAL_BOOTSTRAP, KWAL_KAFKA_LIB (the broker's jars), KWAL_INTEROP_JAVA_SRC (set by
 * meson), java and javac on the PATH, KWAL_CLI (the kwal tool, set by meson).  Without them
 * the test exits 77 saying what is missing (KWAL_TEST_NO_SKIP=1: it fails instead).
 */
#define COUNT 300

static const char *const codec_names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
static const int codec_ids[] = {KW_COMPRESSION_NONE, KW_COMPRESSION_GZIP, KW_COMPRESSION_SNAPPY,
                                KW_COMPRESSION_LZ4, KW_COMPRESSION_ZSTD};
#define NCODECS 5

static char classes[256]; /* javac's output directory, made by main */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- the records (as Interop.java) */

static size_t record_key(int i, uint8_t *buf, bool *null)
{
    *null = i % 7 == 3;
    if (*null || i % 7 == 5)
        return 0;
    return (size_t)sprintf((char *)buf, "key-%d", i);
}

static size_t record_value(int i, uint8_t *buf, bool *null)
{
    *null = i % 11 == 4;
    if (*null || i % 11 == 6)
        return 0;
    size_t n = (size_t)((i * 37) % 300 + 1);
    for (size_t j = 0; j < n; j++)
        buf[j] = j < n / 2 ? (uint8_t)((i * 31 + (int)j) & 0xff) : (uint8_t)('a' + j % 3);
    return n;
}

/* 0-2 headers: "trace" with binary bytes, "nothing" with a null value. */
static size_t record_headers(int i, kw_header *h, uint8_t trace[4])
{
    size_t n = 0;
    trace[0] = (uint8_t)i;
    trace[1] = 0;
    trace[2] = '\n';
    trace[3] = 0xff;
    if (i % 3 >= 1)
        h[n++] = (kw_header){.key = "trace", .key_len = 5, .value = trace, .value_len = 4};
    if (i % 3 == 2)
        h[n++] = (kw_header){.key = "nothing", .key_len = 7, .value = NULL, .value_len = 0};
    return n;
}

static int64_t record_timestamp(int i)
{
    return 1700000000000LL + (int64_t)i * 1000;
}

/* ---------------------------------------------------------------- lines */

static void put_hex(FILE *f, const void *p, size_t n, bool null)
{
    if (null) {
        fputs("null", f);
        return;
    }
    fputc('x', f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", ((const uint8_t *)p)[i]);
}

static void put_line(FILE *f, const char *topic, int32_t partition, int64_t offset, int64_t ts,
                     const void *key, size_t key_len, bool key_null, const void *value,
                     size_t value_len, bool value_null, const kw_header *h, size_t nh)
{
    fprintf(f, "%s %d %lld %lld ", topic, (int)partition, (long long)offset, (long long)ts);
    put_hex(f, key, key_len, key_null);
    fputc(' ', f);
    put_hex(f, value, value_len, value_null);
    fprintf(f, " %zu", nh);
    for (size_t i = 0; i < nh; i++) {
        fputc(' ', f);
        put_hex(f, h[i].key, h[i].key_len, false);
        fputc('=', f);
        put_hex(f, h[i].value, h[i].value_len, h[i].value == NULL);
    }
    fputc('\n', f);
}

typedef struct lines {
    char **v;
    size_t n;
} lines;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static lines read_lines(const char *path)
{
    lines l = {0};
    FILE *f = fopen(path, "r");
    ck_assert_msg(f, "cannot read %s", path);
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    size_t vcap = 0;
    while ((n = getline(&buf, &cap, f)) > 0) {
        if (buf[n - 1] == '\n')
            buf[n - 1] = '\0';
        if (l.n == vcap) {
            vcap = vcap ? vcap * 2 : 1024;
            l.v = realloc(l.v, vcap * sizeof(*l.v));
            ck_assert_ptr_nonnull(l.v);
        }
        l.v[l.n++] = strdup(buf);
    }
    free(buf);
    fclose(f);
    qsort(l.v, l.n, sizeof(*l.v), cmp_str);
    return l;
}

static void free_lines(lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

/* Same records on both sides, in any order; the first difference is named. */
static void assert_same(const char *what, const char *want_path, const char *got_path)
{
    lines want = read_lines(want_path), got = read_lines(got_path);
    for (size_t i = 0; i < want.n && i < got.n; i++)
        ck_assert_msg(strcmp(want.v[i], got.v[i]) == 0, "%s: record %zu differs:\n sent %.300s\n read %.300s",
                      what, i, want.v[i], got.v[i]);
    ck_assert_msg(want.n == got.n, "%s: %zu records sent, %zu read", what, want.n, got.n);
    free_lines(&want);
    free_lines(&got);
}

/* ---------------------------------------------------------------- helpers */

static kw_client *open_client(void)
{
    kw_client_options o = {.bootstrap = getenv("KWAL_BOOTSTRAP"), .connect_timeout_ms = 5000};
    kw_client *c = NULL;
    char err[256];
    int rc = kw_client_new(&c, &o, err, sizeof(err));
    ck_assert_msg(rc == 0, "kw_client_new: %s", err);
    return c;
}

static void create_topics(kw_client *c, char names[][128], size_t n)
{
    kw_client_new_topic t[16];
    for (size_t i = 0; i < n; i++)
        t[i] = (kw_client_new_topic){.name = names[i], .partitions = 1, .replication_factor = 1};
    kw_client_create_topics_args a = {.topics = t, .topic_count = n, .timeout_ms = 30000};
    kw_client_topics_result r;
    int rc = kw_client_create_topics(c, &a, &r);
    ck_assert_msg(rc == 0, "create topics: %s", r.detail);
    kw_client_topics_result_free(&r);
}

static void delete_topics(kw_client *c, char names[][128], size_t n)
{
    const char *p[16];
    for (size_t i = 0; i < n; i++)
        p[i] = names[i];
    kw_client_delete_topics_args a = {.names = p, .name_count = n, .timeout_ms = 30000};
    kw_client_topics_result r;
    kw_client_delete_topics(c, &a, &r);
    kw_client_topics_result_free(&r);
}

static void run_java(const char *args)
{
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "java -Xmx256m -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp '%s:%s/*' Interop %s >&2",
             classes, getenv("KWAL_KAFKA_LIB"), args);
    uint64_t t0 = now_ms();
    int st = system(cmd);
    ck_assert_msg(st == 0, "the Java side failed (%d): %s", st, cmd);
    fprintf(stderr, "interop: java Interop %.40s... took %llu ms\n", args,
            (unsigned long long)(now_ms() - t0));
}

/* ---------------------------------------------------------------- kwal -> Java */

typedef struct delivery {
    atomic_int done, failed;
    int64_t offsets[COUNT];
    char detail[256];
} delivery;

typedef struct slot {
    delivery *d;
    int i;
} slot;

static void on_delivery(const kw_producer_delivery *dv, void *arg)
{
    slot *s = arg;
    if (dv->err) {
        snprintf(s->d->detail, sizeof(s->d->detail), "%s", dv->detail);
        atomic_fetch_add(&s->d->failed, 1);
    }
    s->d->offsets[s->i] = dv->offset;
    atomic_fetch_add(&s->d->done, 1);
}

START_TEST(kwal_produces_every_codec_and_the_java_consumer_reads_it_byte_identical)
{
    kw_client *c = open_client();
    char names[2 * NCODECS][128];
    for (int k = 0; k < 2 * NCODECS; k++)
        snprintf(names[k], sizeof(names[k]), "kwal-it-interop-%d-k-%s-%s", (int)getpid(),
                 codec_names[k % NCODECS], k < NCODECS ? "idempotent" : "plain");
    create_topics(c, names, 2 * NCODECS);
    char want[] = "/tmp/kwal-interop-sent-XXXXXX";
    int fd = mkstemp(want);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    static delivery d;
    static slot slots[COUNT];
    uint64_t t0 = now_ms();
    for (int k = 0; k < 2 * NCODECS; k++) {
        kw_producer_options po = {.compression = codec_ids[k % NCODECS],
                                  .idempotence = k < NCODECS ? KW_PRODUCER_IDEMPOTENCE_ON
                                                             : KW_PRODUCER_IDEMPOTENCE_OFF};
        kw_producer *p;
        char err[256];
        ck_assert_msg(kw_producer_new(&p, c, &po, err, sizeof(err)) == 0, "%s", err);
        memset(&d, 0, sizeof(d));
        for (int i = 0; i < COUNT; i++) {
            uint8_t kb[32], vb[320], trace[4];
            bool kn, vn;
            kw_header h[2];
            size_t kl = record_key(i, kb, &kn), vl = record_value(i, vb, &vn);
            size_t nh = record_headers(i, h, trace);
            kw_producer_record r = {.topic = names[k], .partition = 0,
                                    .key = kn ? NULL : kb, .key_len = kl,
                                    .value = vn ? NULL : vb, .value_len = vl,
                                    .headers = h, .header_count = nh,
                                    .timestamp_ms = record_timestamp(i)};
            slots[i] = (slot){&d, i};
            ck_assert_int_eq(kw_producer_send(p, &r, on_delivery, &slots[i]), 0);
        }
        ck_assert_int_eq(kw_producer_flush(p, 60000), 0);
        ck_assert_int_eq(atomic_load(&d.done), COUNT);
        ck_assert_msg(atomic_load(&d.failed) == 0, "%s: %s", names[k], d.detail);
        ck_assert_int_eq(kw_producer_destroy(p), 0);
        for (int i = 0; i < COUNT; i++) {
            uint8_t kb[32], vb[320], trace[4];
            bool kn, vn;
            kw_header h[2];
            size_t kl = record_key(i, kb, &kn), vl = record_value(i, vb, &vn);
            size_t nh = record_headers(i, h, trace);
            put_line(f, names[k], 0, d.offsets[i], record_timestamp(i), kb, kl, kn, vb, vl, vn,
                     h, nh);
        }
    }
    fclose(f);
    fprintf(stderr, "interop: kwal produced %d records x %d topics in %llu ms\n", COUNT,
            2 * NCODECS, (unsigned long long)(now_ms() - t0));
    char got[] = "/tmp/kwal-interop-read-XXXXXX";
    fd = mkstemp(got);
    ck_assert_int_ge(fd, 0);
    close(fd);
    char args[4096];
    int o = snprintf(args, sizeof(args), "consume '%s' '%s'", getenv("KWAL_BOOTSTRAP"), got);
    for (int k = 0; k < 2 * NCODECS; k++)
        o += snprintf(args + o, sizeof(args) - (size_t)o, " '%s:%d'", names[k], COUNT);
    run_java(args);
    assert_same("kwal -> Java consumer", want, got);
    unlink(want);
    unlink(got);
    delete_topics(c, names, 2 * NCODECS);
    kw_client_destroy(c);
}
END_TEST

/* ---------------------------------------------------------------- Java -> kwal */

/* `kwal consume` prints no headers: the CLI's reading is compared on the rest of each line. */
static void strip_headers(const char *in, char *out, size_t cap)
{
    /* TOPIC PARTITION OFFSET TS KEY VALUE [N ...]: keep the first six fields */
    const char *p = in;
    for (int field = 0; field < 6 && p; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    size_t n = p ? (size_t)(p - 1 - in) : strlen(in);
    ck_assert_uint_lt(n, cap);
    memcpy(out, in, n);
    out[n] = '\0';
}

/* Runs `kwal consume` on topic from the beginning and writes its records as lines (headers left
 * out) into f.  The format puts the sizes first, so binary keys and values parse back whole. */
static int cli_consume(const char *topic, FILE *f)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "'%s' -b '%s' consume -t '%s' -p 0 -o beginning -e -f '%%p %%o %%T %%K %%S\\n%%k%%s\\n'",
             getenv("KWAL_CLI"), getenv("KWAL_BOOTSTRAP"), topic);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    int n = 0, part, kl, vl;
    long long off, ts;
    static uint8_t buf[4096];
    while (fscanf(p, "%d %lld %lld %d %d", &part, &off, &ts, &kl, &vl) == 5) {
        ck_assert_int_eq(fgetc(p), '\n');
        size_t kn = kl > 0 ? (size_t)kl : 0, vn = vl > 0 ? (size_t)vl : 0;
        ck_assert_uint_le(kn + vn, sizeof(buf));
        ck_assert_uint_eq(fread(buf, 1, kn + vn, p), kn + vn);
        ck_assert_int_eq(fgetc(p), '\n');
        char line[4096];
        FILE *m = fmemopen(line, sizeof(line), "w");
        put_line(m, topic, part, off, ts, buf, kn, kl < 0, buf + kn, vn, vl < 0, NULL, 0);
        fclose(m);
        char cut[4096];
        strip_headers(line, cut, sizeof(cut));
        fprintf(f, "%s\n", cut);
        n++;
    }
    int st = pclose(p);
    ck_assert_msg(st == 0, "kwal consume failed (wait status %d): %s", st, cmd);
    return n;
}

START_TEST(java_produces_every_codec_and_kwal_reads_it_byte_identical)
{
    kw_client *c = open_client();
    char prefix[96], names[NCODECS][128];
    snprintf(prefix, sizeof(prefix), "kwal-it-interop-%d-j", (int)getpid());
    for (int k = 0; k < NCODECS; k++)
        snprintf(names[k], sizeof(names[k]), "%s-%s", prefix, codec_names[k]);
    create_topics(c, names, NCODECS);
    char sent[] = "/tmp/kwal-interop-jsent-XXXXXX";
    int fd = mkstemp(sent);
    ck_assert_int_ge(fd, 0);
    close(fd);
    char args[1024];
    snprintf(args, sizeof(args), "produce '%s' '%s' %d '%s'", getenv("KWAL_BOOTSTRAP"), prefix,
             COUNT, sent);
    run_java(args);

    /* kwal's consumer: every topic from its start, until COUNT records each */
    char got[] = "/tmp/kwal-interop-kread-XXXXXX";
    fd = mkstemp(got);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    kw_consumer *cons;
    char err[256];
    ck_assert_msg(kw_consumer_new(&cons, c, NULL, err, sizeof(err)) == 0, "%s", err);
    for (int k = 0; k < NCODECS; k++)
        ck_assert_int_eq(kw_consumer_assign(cons, names[k], 0, kw_consumer_at_earliest()), 0);
    int total = 0;
    uint64_t t0 = now_ms();
    while (total < NCODECS * COUNT && now_ms() - t0 < 60000) {
        kw_consumer_poll_result r;
        ck_assert_int_eq(kw_consumer_poll(cons, 500, &r), 0);
        ck_assert_msg(r.error_count == 0, "%s: %s", r.error_count ? r.errors[0].topic : "",
                      r.error_count ? r.errors[0].detail : "");
        for (size_t i = 0; i < r.record_count; i++) {
            const kw_consumer_record *x = &r.records[i];
            put_line(f, x->topic, x->partition, x->offset, x->timestamp_ms, x->key, x->key_len,
                     x->key == NULL, x->value, x->value_len, x->value == NULL, x->headers,
                     x->header_count);
        }
        total += (int)r.record_count;
    }
    kw_consumer_destroy(cons);
    fclose(f);
    ck_assert_int_eq(total, NCODECS * COUNT);
    assert_same("Java producer -> kwal consumer", sent, got);

    /* `kwal consume`: the same records, headers aside */
    char sent_cut[] = "/tmp/kwal-interop-jcut-XXXXXX", cli[] = "/tmp/kwal-interop-cli-XXXXXX";
    int fd1 = mkstemp(sent_cut), fd2 = mkstemp(cli);
    ck_assert(fd1 >= 0 && fd2 >= 0);
    FILE *fc = fdopen(fd1, "w"), *fl = fdopen(fd2, "w");
    lines s = read_lines(sent);
    for (size_t i = 0; i < s.n; i++) {
        char cut[4096];
        strip_headers(s.v[i], cut, sizeof(cut));
        fprintf(fc, "%s\n", cut);
    }
    free_lines(&s);
    t0 = now_ms();
    int n = 0;
    for (int k = 0; k < NCODECS; k++)
        n += cli_consume(names[k], fl);
    fprintf(stderr, "interop: kwal consume read %d records in %llu ms\n", n,
            (unsigned long long)(now_ms() - t0));
    fclose(fc);
    fclose(fl);
    assert_same("Java producer -> kwal consume", sent_cut, cli);
    unlink(sent);
    unlink(got);
    unlink(sent_cut);
    unlink(cli);
    delete_topics(c, names, NCODECS);
    kw_client_destroy(c);
}
END_TEST

/* What the test needs and is not there ("" when everything is). */
static void missing(char *out, size_t cap)
{
    static const char *const env[] = {"KWAL_BOOTSTRAP", "KWAL_KAFKA_LIB", "KWAL_INTEROP_JAVA_SRC",
                                      "KWAL_CLI"};
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++) {
        const char *v = getenv(env[i]);
        if (!v || !*v)
            o += (size_t)snprintf(out + o, o < cap ? cap - o : 0, "%s%s", o ? ", " : "", env[i]);
    }
    if (system("command -v java >/dev/null 2>&1 && command -v javac >/dev/null 2>&1") != 0)
        snprintf(out + o, o < cap ? cap - o : 0, "%sjava/javac", o ? ", " : "");
}

int main(void)
{
    char why[256];
    missing(why, sizeof(why));
    if (why[0]) {
        const char *strict = getenv("KWAL_TEST_NO_SKIP");
        fprintf(stderr, "interop: %s missing: %s\n", why,
                strict && strcmp(strict, "1") == 0 ? "failing (KWAL_TEST_NO_SKIP=1)" : "skipped");
        return strict && strcmp(strict, "1") == 0 ? EXIT_FAILURE : 77;
    }
    snprintf(classes, sizeof(classes), "/tmp/kwal-interop-classes-XXXXXX");
    if (!mkdtemp(classes)) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "javac -d '%s' -cp '%s/*' '%s' >&2", classes,
             getenv("KWAL_KAFKA_LIB"), getenv("KWAL_INTEROP_JAVA_SRC"));
    uint64_t t0 = now_ms();
    if (system(cmd) != 0) {
        fprintf(stderr, "interop: javac failed: %s\n", cmd);
        return EXIT_FAILURE;
    }
    fprintf(stderr, "interop: javac took %llu ms\n", (unsigned long long)(now_ms() - t0));
    Suite *s = suite_create("interop");
    TCase *tc = tcase_create("java");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, kwal_produces_every_codec_and_the_java_consumer_reads_it_byte_identical);
    tcase_add_test(tc, java_produces_every_codec_and_kwal_reads_it_byte_identical);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", classes);
    if (system(cmd) != 0)
        fprintf(stderr, "interop: could not remove %s\n", classes);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
