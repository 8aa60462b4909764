/*
 * kwal-chaos-checker: judges one network-fault scenario from what the client wrote down.
 *
 *   kwal-chaos-checker NAME DIR
 *
 * Reads DIR/acks (tests/chaos/workload.c: every append's and every producer record's outcome),
 * DIR/replay (`kwal wal replay -e` of regions 1..8 after healing: "REGION<TAB>ID<TAB>ENTRY" in log
 * order) and DIR/readback (`kwal consume -f '%o %s\n'` of the producer's partition: "OFFSET VALUE").
 *
 * WAL:   lost      an acknowledged entry the replay does not have, or has under another id;
 *        duplicated an entry the replay has more than once;
 *        reordered  within a region, in replay order: ids that do not grow, one writer's entries out
 *                   of its order, or an entry before one acknowledged before it was appended;
 *        unknown    a replayed entry nobody appended (or in the wrong region).
 * Producer: the same for the records read back (offsets must be the acknowledged ones).
 * Entries and records that failed may be there or not (a failed append may have been written).
 * Unavailable: the longest a write started at any moment waited until a write started then or
 * later was acknowledged (see unavailable()).
 *
 * Prints one summary line and, on stderr, the first few violations.  Exit 0 when nothing is lost,
 * duplicated, reordered or unknown and both sides had acknowledgements; 1 otherwise; 2 when a file
 * is missing or malformed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITERS 2
#define REGIONS 8
#define SHOW 5 /* violations printed per kind */

typedef struct attempt {
    char state;      /* 0 never tried, 'A' acknowledged, 'F' failed */
    int region;
    uint64_t id;     /* WAL entry id, or producer offset */
    int64_t t0, t1;
    unsigned seen;   /* times the replay / read-back had it */
} attempt;

typedef struct table {
    attempt *a;
    size_t cap;
} table;

static table wal[WRITERS + 1], prod;
static const char *name;

__attribute__((noreturn, format(printf, 1, 2))) static void bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "kwal-chaos-checker: %s: ", name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static attempt *slot(table *t, uint64_t seq)
{
    if (seq > 100000000)
        bad("sequence number %" PRIu64 " is out of range", seq);
    if (seq >= t->cap) {
        size_t n = t->cap ? t->cap : 4096;
        while (n <= seq)
            n *= 2;
        attempt *a = realloc(t->a, n * sizeof *a);
        if (!a)
            bad("out of memory");
        memset(a + t->cap, 0, (n - t->cap) * sizeof *a);
        t->a = a;
        t->cap = n;
    }
    return &t->a[seq];
}

static FILE *open_in(const char *dir, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "r");
    if (!f)
        bad("%s: %s", path, strerror(errno));
    return f;
}

typedef struct figures {
    uint64_t acked, failed, lost, dup, reorder, unknown, failed_present;
    int64_t unavailable_ms;
} figures;

/* Attempts by start time (ties: any order). */
static int cmp_t0(const void *a, const void *b)
{
    const attempt *x = *(const attempt *const *)a, *y = *(const attempt *const *)b;
    return (x->t0 > y->t0) - (x->t0 < y->t0);
}

/*
 * How long appends were unavailable: for each attempt, the time from its start until an attempt
 * started no earlier was acknowledged (until the last answer when none was); the longest of these.
 * A client that starts writing at any moment waits at most this long for a success.  One record
 * stuck while later ones succeed does not count; a stretch where nothing succeeds does.
 */
static int64_t unavailable(table *ts, size_t nt)
{
    size_t n = 0;
    for (size_t k = 0; k < nt; k++)
        for (size_t i = 0; i < ts[k].cap; i++)
            n += ts[k].a[i].state != 0;
    if (n == 0)
        return 0;
    attempt **v = malloc(n * sizeof *v);
    if (!v)
        bad("out of memory");
    n = 0;
    int64_t last = INT64_MIN;
    for (size_t k = 0; k < nt; k++)
        for (size_t i = 0; i < ts[k].cap; i++)
            if (ts[k].a[i].state) {
                v[n++] = &ts[k].a[i];
                if (ts[k].a[i].t1 > last)
                    last = ts[k].a[i].t1;
            }
    qsort(v, n, sizeof *v, cmp_t0);
    int64_t worst = 0, next_ack = INT64_MAX;
    for (size_t i = n; i-- > 0;) {
        if (v[i]->state == 'A' && v[i]->t1 < next_ack)
            next_ack = v[i]->t1;
        int64_t wait = (next_ack == INT64_MAX ? last : next_ack) - v[i]->t0;
        if (wait > worst)
            worst = wait;
    }
    free(v);
    return worst;
}

static void read_acks(const char *dir)
{
    FILE *f = open_in(dir, "acks");
    char line[2048];
    unsigned lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        int w, region;
        uint64_t seq, id;
        int64_t t0, t1;
        attempt *a;
        if (sscanf(line, "A %d %d %" SCNu64 " %" SCNu64 " %" SCNd64 " %" SCNd64, &w, &region, &seq, &id, &t0,
                   &t1) == 6) {
            if (w < 1 || w > WRITERS)
                bad("acks:%u: writer %d", lineno, w);
            a = slot(&wal[w], seq);
            *a = (attempt){'A', region, id, t0, t1, 0};
        } else if (sscanf(line, "F %d %d %" SCNu64 " %" SCNd64 " %" SCNd64, &w, &region, &seq, &t0, &t1) == 5) {
            if (w < 1 || w > WRITERS)
                bad("acks:%u: writer %d", lineno, w);
            a = slot(&wal[w], seq);
            *a = (attempt){'F', region, 0, t0, t1, 0};
        } else if (sscanf(line, "PA %" SCNu64 " %" SCNu64 " %" SCNd64 " %" SCNd64, &seq, &id, &t0, &t1) == 4) {
            a = slot(&prod, seq);
            *a = (attempt){'A', 0, id, t0, t1, 0};
        } else if (sscanf(line, "PF %" SCNu64 " %" SCNd64 " %" SCNd64, &seq, &t0, &t1) == 3) {
            a = slot(&prod, seq);
            *a = (attempt){'F', 0, 0, t0, t1, 0};
        } else {
            bad("acks:%u: not an outcome line: %.80s", lineno, line);
        }
    }
    fclose(f);
}

/* One replayed entry, in log order. */
typedef struct seen_entry {
    int w;
    uint64_t seq, id;
} seen_entry;

static void check_wal(const char *dir, figures *fg)
{
    seen_entry *by_region[REGIONS + 1] = {0};
    size_t count[REGIONS + 1] = {0}, cap[REGIONS + 1] = {0};
    unsigned shown_unknown = 0, shown_reorder = 0, shown_lost = 0, shown_dup = 0;
    FILE *f = open_in(dir, "replay");
    char line[2048];
    unsigned lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        int region, w, r2;
        uint64_t id, seq;
        if (sscanf(line, "%d\t%" SCNu64 "\tw%d s%" SCNu64 " r%d", &region, &id, &w, &seq, &r2) != 5 ||
            region < 1 || region > REGIONS) {
            fg->unknown++;
            if (shown_unknown++ < SHOW)
                fprintf(stderr, "%s: WAL unknown entry at replay line %u: %.80s", name, lineno, line);
            continue;
        }
        attempt *a = (w >= 1 && w <= WRITERS && seq < wal[w].cap) ? &wal[w].a[seq] : NULL;
        if (!a || !a->state || a->region != region || r2 != region) {
            fg->unknown++;
            if (shown_unknown++ < SHOW)
                fprintf(stderr, "%s: WAL entry never appended to region %d: %.80s", name, region, line);
            continue;
        }
        a->seen++;
        if (a->seen == 2) {
            fg->dup++;
            if (shown_dup++ < SHOW)
                fprintf(stderr, "%s: WAL duplicate: w%d s%" PRIu64 " again at id %" PRIu64 "\n", name, w, seq, id);
        }
        if (a->state == 'A' && a->id != id && a->seen == 1) {
            fg->lost++; /* what was acknowledged under that id is not there */
            if (shown_lost++ < SHOW)
                fprintf(stderr, "%s: WAL w%d s%" PRIu64 " acknowledged as id %" PRIu64 ", replayed as %" PRIu64 "\n",
                        name, w, seq, a->id, id);
        }
        if (count[region] == cap[region]) {
            cap[region] = cap[region] ? cap[region] * 2 : 1024;
            by_region[region] = realloc(by_region[region], cap[region] * sizeof(seen_entry));
            if (!by_region[region])
                bad("out of memory");
        }
        by_region[region][count[region]++] = (seen_entry){w, seq, id};
    }
    fclose(f);

    for (int w = 1; w <= WRITERS; w++)
        for (size_t s = 0; s < wal[w].cap; s++) {
            attempt *a = &wal[w].a[s];
            if (a->state == 'A') {
                fg->acked++;
                if (a->seen == 0) {
                    fg->lost++;
                    if (shown_lost++ < SHOW)
                        fprintf(stderr, "%s: WAL lost: w%d s%zu region %d id %" PRIu64 " (acknowledged)\n", name, w,
                                s, a->region, a->id);
                }
            } else if (a->state == 'F') {
                fg->failed++;
                if (a->seen)
                    fg->failed_present++;
            }
        }

    for (int r = 1; r <= REGIONS; r++) {
        seen_entry *e = by_region[r];
        size_t n = count[r];
        uint64_t last_seq[WRITERS + 1];
        bool any[WRITERS + 1] = {0};
        for (size_t i = 0; i < n; i++) {
            bool bad_order = (i > 0 && e[i].id <= e[i - 1].id) || (any[e[i].w] && e[i].seq <= last_seq[e[i].w]);
            any[e[i].w] = true;
            last_seq[e[i].w] = e[i].seq;
            if (bad_order) {
                fg->reorder++;
                if (shown_reorder++ < SHOW)
                    fprintf(stderr, "%s: WAL region %d out of order at id %" PRIu64 " (w%d s%" PRIu64 "%s)\n", name, r,
                            e[i].id, e[i].w, e[i].seq,
                            wal[e[i].w].a[e[i].seq].state == 'F'
                                ? ": an append reported failed, written after a later one of its writer"
                                : "");
            }
        }
        /* Real time: no entry may come after one appended only once it was acknowledged. */
        int64_t min_t1_after = INT64_MAX;
        for (size_t i = n; i-- > 0;) {
            attempt *a = &wal[e[i].w].a[e[i].seq];
            if (min_t1_after < a->t0) {
                fg->reorder++;
                if (shown_reorder++ < SHOW)
                    fprintf(stderr, "%s: WAL region %d: w%d s%" PRIu64 " replayed before an entry acknowledged "
                            "before it was appended\n", name, r, e[i].w, e[i].seq);
            }
            if (a->state == 'A' && a->t1 < min_t1_after)
                min_t1_after = a->t1;
        }
        free(e);
    }
    fg->unavailable_ms = unavailable(&wal[1], WRITERS);
}

static void check_producer(const char *dir, figures *fg)
{
    FILE *f = open_in(dir, "readback");
    char line[2048];
    unsigned lineno = 0, shown = 0;
    bool any = false;
    uint64_t last = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        uint64_t off, seq;
        if (sscanf(line, "%" SCNu64 " p%" SCNu64, &off, &seq) != 2 || seq >= prod.cap || !prod.a[seq].state) {
            fg->unknown++;
            if (shown++ < SHOW)
                fprintf(stderr, "%s: producer unknown record at read-back line %u: %.80s", name, lineno, line);
            continue;
        }
        attempt *a = &prod.a[seq];
        if (++a->seen == 2) {
            fg->dup++;
            if (shown++ < SHOW)
                fprintf(stderr, "%s: producer duplicate p%" PRIu64 " at offset %" PRIu64 "\n", name, seq, off);
        }
        if (a->state == 'A' && a->seen == 1 && a->id != off) {
            fg->lost++;
            if (shown++ < SHOW)
                fprintf(stderr, "%s: producer p%" PRIu64 " acknowledged at offset %" PRIu64 ", read at %" PRIu64 "\n",
                        name, seq, a->id, off);
        }
        if (any && seq <= last) {
            fg->reorder++;
            if (shown++ < SHOW)
                fprintf(stderr, "%s: producer p%" PRIu64 " at offset %" PRIu64 " after p%" PRIu64 "\n", name, seq,
                        off, last);
        }
        any = true;
        last = seq;
    }
    fclose(f);
    for (size_t s = 0; s < prod.cap; s++) {
        attempt *a = &prod.a[s];
        if (a->state == 'A') {
            fg->acked++;
            if (!a->seen) {
                fg->lost++;
                if (shown++ < SHOW)
                    fprintf(stderr, "%s: producer lost p%zu (acknowledged at offset %" PRIu64 ")\n", name, s, a->id);
            }
        } else if (a->state == 'F') {
            fg->failed++;
            if (a->seen)
                fg->failed_present++;
        }
    }
    fg->unavailable_ms = unavailable(&prod, 1);
}

static void print(const char *what, const figures *f)
{
    printf(" %s: acked %" PRIu64 " lost %" PRIu64 " dup %" PRIu64 " reorder %" PRIu64 " unavailable %" PRId64
           " ms (failed %" PRIu64 ", of them in the log %" PRIu64 "; unknown %" PRIu64 ")",
           what, f->acked, f->lost, f->dup, f->reorder, f->unavailable_ms, f->failed, f->failed_present, f->unknown);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: kwal-chaos-checker NAME DIR\n");
        return 2;
    }
    name = argv[1];
    read_acks(argv[2]);
    figures w = {0}, p = {0};
    check_wal(argv[2], &w);
    check_producer(argv[2], &p);
    printf("%-16s", name);
    print("wal", &w);
    printf(" |");
    print("producer", &p);
    printf("\n");
    bool ok = true;
    if (w.lost || w.dup || w.reorder || w.unknown || p.lost || p.dup || p.reorder || p.unknown)
        ok = false;
    if (w.acked == 0 || p.acked == 0) {
        fprintf(stderr, "%s: nothing was acknowledged (wal %" PRIu64 ", producer %" PRIu64 "): nothing tested\n",
                name, w.acked, p.acked);
        ok = false;
    }
    for (int i = 0; i <= WRITERS; i++)
        free(wal[i].a);
    free(prod.a);
    return ok ? 0 : 1;
}
