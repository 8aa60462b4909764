/* libFuzzer target for the local WAL's recovery and replay: fuzzed segment files in a temporary directory. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kwal/error.h"
#include "wal/local.h"
#include "wal/local_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: one control byte, one split byte, then the bytes of the segment file(s).
 *   bit 0  recompute each record's CRC (where its length fits): past the checksum, into the
 *          record types, ids, regions, marks and the torn-tail rules
 *   bit 1  renumber the entry records 1, 2, 3 ... (from the segment's first id)
 *   bit 2  two segments: the first ends after record number <split byte>; the second is named by
 *          the id after the first's entries (bit 3 of the split byte: one off, a gap)
 *   bit 3  the first segment starts at id 1000 instead of 1
 * Then: open (recovery), replay every region, append one entry (segments of 1 KiB, so it may
 * roll), close, reopen: the second open must succeed and know the appended entry.
 */
#define FUZZ_MAX_INPUT (256u * 1024u)

/* The harness's scratch directory, made once per process (a fuzzer runs one input at a time). */
static char scratch[256];

static void empty_scratch(void);

/* At exit the scratch directory goes away (the replay tests run in CI). */
static void remove_scratch(void)
{
    empty_scratch();
    rmdir(scratch);
}

static bool make_scratch(void)
{
    if (scratch[0])
        return true;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(scratch, sizeof(scratch), "%s/kwal-fuzz-wal-XXXXXX", base);
    if (!mkdtemp(scratch)) {
        scratch[0] = '\0';
        return false;
    }
    atexit(remove_scratch);
    return true;
}

static void empty_scratch(void)
{
    DIR *d = opendir(scratch);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", scratch, e->d_name);
        unlink(p);
    }
    closedir(d);
}

static void write_segment(uint64_t first_id, const uint8_t *p, size_t n)
{
    char name[NAME_LEN], path[512];
    kw__wal_local_seg_name(name, first_id);
    snprintf(path, sizeof(path), "%s/%s", scratch, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        abort();
    if (n && write(fd, p, n) != (ssize_t)n)
        abort();
    close(fd);
}

/* Walks whole records from p: fixes ids and CRCs as asked; returns the byte offset after record
 * number stop (or the end), and counts the entry records before it into *entries. */
static size_t walk(uint8_t *p, size_t n, uint64_t first_id, bool fix_ids, bool fix_crc,
                   size_t stop, uint64_t *entries)
{
    size_t off = 0, rec = 0;
    uint64_t next = first_id;
    *entries = 0;
    while (off + HDR <= n && rec < stop) {
        uint8_t *r = p + off;
        uint32_t len = get32(r + 4);
        if (len > n - off - HDR)
            break;
        if (get32(r + 8) == REC_ENTRY) {
            if (fix_ids)
                put64(r + 20, next);
            next++;
            (*entries)++;
        }
        if (fix_crc)
            put32(r, rec_crc(r, r + HDR, len));
        off += HDR + len;
        rec++;
    }
    return off;
}

typedef struct appended {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int err;
    uint64_t id;
} appended;

static void on_append(void *arg, int err, uint64_t entry_id, const char *detail)
{
    (void)detail;
    appended *a = arg;
    pthread_mutex_lock(&a->mu);
    a->done = true;
    a->err = err;
    a->id = entry_id;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Every region's entries: ids increase, none past the last durable one, no corruption. */
static void replay_all(kw_wal_local *l)
{
    kw_wal_region_info info[64];
    size_t n = kw__wal_local_regions(l, info, 64);
    if (n > 64)
        n = 64;
    if (!n)
        return;
    uint64_t ids[64], froms[64];
    for (size_t i = 0; i < n; i++) {
        ids[i] = info[i].region_id;
        froms[i] = 0;
    }
    qsort(ids, n, sizeof(ids[0]), cmp_u64);
    kw_wal_region_set set = {.n = n, .ids = ids, .froms = froms, .min_from = 0};
    kw_wal_local_replay *r;
    if (kw__wal_local_replay_open(l, &set, 0, &r) != 0)
        abort();
    uint64_t region, id, last = 0;
    const uint8_t *d;
    size_t len;
    int rc;
    while ((rc = kw__wal_local_replay_next(r, &region, &id, &d, &len, 0)) == 1) {
        if (id <= last || kw__wal_region_index(&set, region) == n)
            abort();
        last = id;
    }
    if (rc != 0) /* recovery checked every record: replay must agree */
        abort();
    kw__wal_local_replay_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > FUZZ_MAX_INPUT || !make_scratch())
        return 0;
    uint8_t ctl = data[0], split = data[1];
    size_t n = size - 2;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 2, n);
    empty_scratch();

    uint64_t first = ctl & 8 ? 1000 : 1, entries = 0;
    bool two = ctl & 4;
    size_t cut = walk(buf, n, first, ctl & 2, ctl & 1, two ? split & 7 : SIZE_MAX, &entries);
    if (two) {
        uint64_t entries2;
        uint64_t second = first + entries + (split & 8 ? 1 : 0);
        walk(buf + cut, n - cut, second, ctl & 2, ctl & 1, SIZE_MAX, &entries2);
        write_segment(first, buf, cut);
        write_segment(second, buf + cut, n - cut);
    } else {
        write_segment(first, buf, n);
    }
    free(buf);

    char err[512];
    kw_wal_local_options o = {.dir = scratch, .segment_bytes = KW__WAL_LOCAL_MIN_SEGMENT};
    kw_wal_local *l;
    int rc = kw__wal_local_open(&l, &o, err, sizeof(err));
    if (rc) {
        if ((rc != KW_ECORRUPT && rc != KW_EIO && rc != KW_ENOMEM) || !err[0])
            abort();
        return 0;
    }
    replay_all(l);
    appended a = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    if (kw__wal_local_append(l, 7, "after recovery", 14, on_append, &a) != 0)
        abort();
    pthread_mutex_lock(&a.mu);
    while (!a.done)
        pthread_cond_wait(&a.cv, &a.mu);
    pthread_mutex_unlock(&a.mu);
    if (a.err)
        abort();
    kw__wal_local_close(l);

    /* What recovery left plus the append is a log the next open takes whole. */
    rc = kw__wal_local_open(&l, &o, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "reopen after recovery + append failed: %s\n", err);
        abort();
    }
    uint64_t latest = 0;
    /* At least the appended id: a mark record may claim a later "latest" (recovery takes a
     * mark's ids as they are, see the report on marks past the log's end). */
    if (kw__wal_local_latest(l, 7, &latest) != 0 || latest < a.id)
        abort();
    replay_all(l);
    kw__wal_local_close(l);
    return 0;
}
