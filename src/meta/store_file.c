/* The metasrv key-value store's file backend: an fsynced append-only log compacted by rename. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meta/store.h"
#include "proto/crc32c.h"

/*
 * Design.  The whole map lives in memory (a sorted array: metasrv holds
 * thousands of keys, not millions).  On disk it is one append-only log,
 * dir/kv.log:
 *
 *   file header (24 bytes): "KWMETAKV", u32 format (1), u64 base revision,
 *                           u32 CRC-32C of the 20 bytes before it
 *   records, each:          u32 body length, u32 CRC-32C of the body,
 *                           u32 CRC-32C of the 8 bytes before it,
 *                           body = u8 type (1 put, 2 delete), u64 revision,
 *                                  u32 key length, u32 value length, key, value
 *
 * all integers little-endian.  Durability rules:
 *  - A put, compare-and-put or delete appends one record and fdatasyncs the
 *    log before it returns 0 or touches the map; one record is in flight at a
 *    time (the store's mutex), so a crash can tear only the last record.
 *  - Compaction (and creation) writes the live pairs as put records to
 *    kv.log.tmp, fsyncs it, renames it over kv.log and fsyncs the directory;
 *    the rename is the commit point, and no record is appended to the new file
 *    until the directory fsync has returned (else an acknowledged append could
 *    land in a file whose name a power loss takes back).  The header's base
 *    revision carries the revision counter across compaction, so revisions of
 *    deleted keys are never handed out again.
 *  - A failed fdatasync leaves the page cache's state unknown, so the store
 *    then refuses every write (KW_EIO) until it is reopened from disk.
 *
 * Recovery on open: a kv.log.tmp is a compaction that never reached its
 * rename, so it is removed unread.  In kv.log, the first record that does not
 * check out is a torn tail — cut off, since it was never acknowledged — only
 * when it could be the one record in flight: what is left of the file is no
 * bigger than one record, and no valid record starts after it.  Anything else
 * (bad file header, a bad record with valid ones after it, a record whose
 * checksums hold but whose contents do not parse) is KW_ECORRUPT naming the
 * file and offset, and nothing is changed on disk.  One case cannot be told
 * apart: bit rot in the very last acknowledged record looks like a torn tail.
 *
 * A flock on dir/LOCK keeps a second store (this process or another) out; the
 * kernel drops it when the process dies, even by kill -9.
 */

#define FILE_MAGIC "KWMETAKV"
#define FILE_FORMAT 1u
#define FILE_HDR 24u
#define FRAME_HDR 12u
#define BODY_FIXED 17u
#define MAX_BODY (BODY_FIXED + KW_META_STORE_MAX_KEY + KW_META_STORE_MAX_VALUE)
#define REC_PUT 1u
#define REC_DEL 2u
#define DEFAULT_COMPACT_MIN (1024u * 1024u)
#define MAX_REV ((uint64_t)INT64_MAX) /* the highest revision a log may hold */

typedef struct entry {
    uint64_t rev;
    uint32_t key_len;
    uint32_t value_len;
    uint8_t data[]; /* key, then value */
} entry;

typedef struct file_store {
    kw_meta_store base;
    pthread_mutex_t mu;
    char *dir;
    int dir_fd;
    int lock_fd;
    int log_fd;
    uint64_t rev;        /* the highest revision handed out */
    uint64_t log_size;   /* bytes of kv.log known good and synced */
    uint64_t live_bytes; /* what a snapshot of the map would take */
    uint64_t compact_min;
    uint64_t compact_next; /* after a failed compaction, wait for the log to reach this */
    entry **items;
    size_t n, cap;
    bool failed; /* a sync failed: refuse writes until reopened */
    char failed_why[256];
    void (*log)(void *arg, const char *msg);
    void *log_arg;
} file_store;

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint64_t record_size(size_t key_len, size_t value_len)
{
    return FRAME_HDR + BODY_FIXED + key_len + value_len;
}

/* The frame header and fixed body part of a record; key and value follow it. */
static void encode_head(uint8_t head[FRAME_HDR + BODY_FIXED], unsigned type, uint64_t rev,
                        const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len)
{
    uint8_t *body = head + FRAME_HDR;
    body[0] = (uint8_t)type;
    put_le64(body + 1, rev);
    put_le32(body + 9, (uint32_t)key_len);
    put_le32(body + 13, (uint32_t)value_len);
    uint32_t crc = kw__crc32c(0, body, BODY_FIXED);
    crc = kw__crc32c(crc, key, key_len);
    if (value_len)
        crc = kw__crc32c(crc, value, value_len);
    put_le32(head, (uint32_t)(BODY_FIXED + key_len + value_len));
    put_le32(head + 4, crc);
    put_le32(head + 8, kw__crc32c(0, head, 8));
}

static void emit_log(file_store *fs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit_log(file_store *fs, const char *fmt, ...)
{
    if (!fs->log)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fs->log(fs->log_arg, msg);
}

static int fail_errno(file_store *fs, const char *what, const char *file)
{
    int e = errno;
    return kw__meta_store_fail(&fs->base, KW_EIO, "%s %s/%s: %s", what, fs->dir, file, strerror(e));
}

/* ---- the in-memory map ---- */

static int cmp_key(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

/* Index of the first item whose key is >= key; *found says whether it is equal. */
static size_t lower_bound(const file_store *fs, const uint8_t *key, size_t key_len, bool *found)
{
    size_t lo = 0, hi = fs->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const entry *e = fs->items[mid];
        if (cmp_key(e->data, e->key_len, key, key_len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (found)
        *found =
            lo < fs->n && cmp_key(fs->items[lo]->data, fs->items[lo]->key_len, key, key_len) == 0;
    return lo;
}

static entry *new_entry(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                        uint64_t rev)
{
    entry *e = malloc(sizeof(*e) + key_len + value_len);
    if (!e)
        return NULL;
    e->rev = rev;
    e->key_len = (uint32_t)key_len;
    e->value_len = (uint32_t)value_len;
    memcpy(e->data, key, key_len);
    if (value_len)
        memcpy(e->data + key_len, value, value_len);
    return e;
}

/* Makes room for one more item, so that the map change after a durable append cannot fail. */
static int reserve_one(file_store *fs)
{
    if (fs->n < fs->cap)
        return 0;
    size_t cap = fs->cap ? fs->cap * 2 : 64;
    entry **items = realloc(fs->items, cap * sizeof(*items));
    if (!items)
        return KW_ENOMEM;
    fs->items = items;
    fs->cap = cap;
    return 0;
}

/* Puts e in the map in place of an equal key (freed) or as a new item; room is reserved. */
static void map_set(file_store *fs, entry *e)
{
    bool found;
    size_t i = lower_bound(fs, e->data, e->key_len, &found);
    if (found) {
        entry *old = fs->items[i];
        fs->live_bytes -= record_size(old->key_len, old->value_len);
        free(old);
    } else {
        memmove(fs->items + i + 1, fs->items + i, (fs->n - i) * sizeof(*fs->items));
        fs->n++;
    }
    fs->items[i] = e;
    fs->live_bytes += record_size(e->key_len, e->value_len);
}

static void map_remove_at(file_store *fs, size_t i)
{
    entry *old = fs->items[i];
    fs->live_bytes -= record_size(old->key_len, old->value_len);
    free(old);
    memmove(fs->items + i, fs->items + i + 1, (fs->n - i - 1) * sizeof(*fs->items));
    fs->n--;
}

/* ---- disk ---- */

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int pwrite_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

/* A small write buffer for snapshots, so thousands of small records are not thousands of calls. */
typedef struct wbuf {
    int fd;
    size_t len;
    uint8_t buf[64 * 1024];
} wbuf;

static int wbuf_flush(wbuf *w)
{
    int rc = write_all(w->fd, w->buf, w->len);
    w->len = 0;
    return rc;
}

static int wbuf_add(wbuf *w, const void *p, size_t n)
{
    if (w->len + n > sizeof(w->buf)) {
        if (wbuf_flush(w))
            return -1;
        if (n > sizeof(w->buf))
            return write_all(w->fd, p, n);
    }
    if (n)
        memcpy(w->buf + w->len, p, n);
    w->len += n;
    return 0;
}

/*
 * Writes the map as a fresh kv.log through kv.log.tmp (see the durability
 * rules above) and switches appends to it.  Before the rename a failure leaves
 * kv.log as it was and the store usable; after it, a failure marks the store
 * failed, since appends must not go on in a file whose name may not survive.
 */
static int write_snapshot(file_store *fs)
{
    uint8_t hdr[FILE_HDR];
    memcpy(hdr, FILE_MAGIC, 8);
    put_le32(hdr + 8, FILE_FORMAT);
    put_le64(hdr + 12, fs->rev);
    put_le32(hdr + 20, kw__crc32c(0, hdr, 20));

    wbuf *w = malloc(sizeof(*w));
    if (!w)
        return kw__meta_store_fail(&fs->base, KW_ENOMEM, "snapshot buffer");
    w->len = 0;
    w->fd =
        openat(fs->dir_fd, KW_META_STORE_FILE_TEMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        int rc = fail_errno(fs, "create", KW_META_STORE_FILE_TEMP);
        free(w);
        return rc;
    }
    int ok = wbuf_add(w, hdr, FILE_HDR) == 0;
    for (size_t i = 0; ok && i < fs->n; i++) {
        const entry *e = fs->items[i];
        uint8_t head[FRAME_HDR + BODY_FIXED];
        encode_head(head, REC_PUT, e->rev, e->data, e->key_len, e->data + e->key_len, e->value_len);
        ok = wbuf_add(w, head, sizeof(head)) == 0 &&
             wbuf_add(w, e->data, (size_t)e->key_len + e->value_len) == 0;
    }
    ok = ok && wbuf_flush(w) == 0;
    const char *what = "write";
    if (ok && fsync(w->fd) != 0) {
        ok = 0;
        what = "fsync";
    }
    int saved = errno;
    if (close(w->fd) != 0 && ok) {
        ok = 0;
        what = "close";
        saved = errno;
    }
    free(w);
    if (ok &&
        renameat(fs->dir_fd, KW_META_STORE_FILE_TEMP, fs->dir_fd, KW_META_STORE_FILE_DATA) != 0) {
        ok = 0;
        what = "rename";
        saved = errno;
    }
    if (!ok) {
        unlinkat(fs->dir_fd, KW_META_STORE_FILE_TEMP, 0);
        errno = saved;
        return fail_errno(fs, what, KW_META_STORE_FILE_TEMP);
    }

    /* Committed: the new kv.log holds the same pairs as the old one. */
    int rc = 0;
    if (fsync(fs->dir_fd) != 0) {
        rc = fail_errno(fs, "fsync the directory", "");
    } else {
        int fd = openat(fs->dir_fd, KW_META_STORE_FILE_DATA, O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            rc = fail_errno(fs, "reopen", KW_META_STORE_FILE_DATA);
        } else {
            if (fs->log_fd >= 0)
                close(fs->log_fd);
            fs->log_fd = fd;
            fs->log_size = fs->live_bytes;
            return 0;
        }
    }
    fs->failed = true;
    kw__meta_store_errstr(&fs->base, fs->failed_why, sizeof(fs->failed_why));
    return rc;
}

/* Compacts when the log has grown well past its live data; a failure costs only disk space. */
static void maybe_compact(file_store *fs)
{
    if (fs->log_size < fs->compact_min || fs->log_size < 2 * fs->live_bytes ||
        fs->log_size < fs->compact_next)
        return;
    if (write_snapshot(fs) == 0) {
        fs->compact_next = 0;
        return;
    }
    char why[256];
    kw__meta_store_errstr(&fs->base, why, sizeof(why));
    emit_log(fs, "meta store %s: compaction failed, the log keeps growing: %s", fs->dir, why);
    fs->compact_next = fs->log_size + fs->compact_min;
}

/*
 * Appends one record and syncs it.  A failed write is cut back off so the log
 * stays a clean sequence of records; a failed sync marks the store failed.
 */
static int append_record(file_store *fs, unsigned type, uint64_t rev, const uint8_t *key,
                         size_t key_len, const uint8_t *value, size_t value_len)
{
    if (fs->failed)
        return kw__meta_store_fail(&fs->base, KW_EIO,
                                   "the store refuses writes after an earlier failure (%s); "
                                   "reopen it",
                                   fs->failed_why);
    size_t n = (size_t)record_size(key_len, value_len);
    uint8_t *rec = malloc(n);
    if (!rec)
        return kw__meta_store_fail(&fs->base, KW_ENOMEM, "record of %zu bytes", n);
    encode_head(rec, type, rev, key, key_len, value, value_len);
    memcpy(rec + FRAME_HDR + BODY_FIXED, key, key_len);
    if (value_len)
        memcpy(rec + FRAME_HDR + BODY_FIXED + key_len, value, value_len);
    int rc = 0;
    if (pwrite_all(fs->log_fd, rec, n, fs->log_size) != 0) {
        rc = fail_errno(fs, "write", KW_META_STORE_FILE_DATA);
        if (ftruncate(fs->log_fd, (off_t)fs->log_size) != 0)
            fs->failed = true;
    } else if (fdatasync(fs->log_fd) != 0) {
        rc = fail_errno(fs, "fdatasync", KW_META_STORE_FILE_DATA);
        fs->failed = true;
    } else {
        fs->log_size += n;
    }
    if (fs->failed)
        kw__meta_store_errstr(&fs->base, fs->failed_why, sizeof(fs->failed_why));
    free(rec);
    return rc;
}

/* ---- the ops ---- */

static int file_get(kw_meta_store *s, const uint8_t *key, size_t key_len, uint8_t **value,
                    size_t *value_len, uint64_t *rev)
{
    file_store *fs = (file_store *)s;
    int rc = 0;
    pthread_mutex_lock(&fs->mu);
    bool found;
    size_t i = lower_bound(fs, key, key_len, &found);
    if (!found) {
        rc = kw__meta_store_fail(s, KW_ENOTFOUND, "get: no such key (%zu bytes)", key_len);
    } else {
        const entry *e = fs->items[i];
        if (value) {
            uint8_t *copy = malloc(e->value_len ? e->value_len : 1);
            if (!copy) {
                rc = kw__meta_store_fail(s, KW_ENOMEM, "value of %u bytes", e->value_len);
                goto out;
            }
            if (e->value_len)
                memcpy(copy, e->data + e->key_len, e->value_len);
            *value = copy;
            *value_len = e->value_len;
        }
        if (rev)
            *rev = e->rev;
    }
out:
    pthread_mutex_unlock(&fs->mu);
    return rc;
}

/* put and compare-and-put: check_rev false means unconditional. */
static int file_write(file_store *fs, const uint8_t *key, size_t key_len, bool check_rev,
                      uint64_t expected_rev, const uint8_t *value, size_t value_len, uint64_t *rev)
{
    int rc;
    pthread_mutex_lock(&fs->mu);
    bool found;
    size_t i = lower_bound(fs, key, key_len, &found);
    uint64_t cur = found ? fs->items[i]->rev : KW_META_REV_ABSENT;
    if (check_rev && cur != expected_rev) {
        if (rev)
            *rev = cur;
        rc = kw__meta_store_fail(&fs->base, KW_EAGAIN,
                                 "compare-and-put: expected revision %llu, found %llu%s",
                                 (unsigned long long)expected_rev, (unsigned long long)cur,
                                 found ? "" : " (no such key)");
        goto out;
    }
    entry *e = new_entry(key, key_len, value, value_len, fs->rev + 1);
    if (!e || reserve_one(fs) != 0) {
        free(e);
        rc = kw__meta_store_fail(&fs->base, KW_ENOMEM, "put of %zu bytes", value_len);
        goto out;
    }
    rc = append_record(fs, REC_PUT, fs->rev + 1, key, key_len, value, value_len);
    if (rc) {
        free(e);
        goto out;
    }
    fs->rev++;
    map_set(fs, e);
    if (rev)
        *rev = fs->rev;
    maybe_compact(fs);
out:
    pthread_mutex_unlock(&fs->mu);
    return rc;
}

static int file_put(kw_meta_store *s, const uint8_t *key, size_t key_len, const uint8_t *value,
                    size_t value_len, uint64_t *rev)
{
    return file_write((file_store *)s, key, key_len, false, 0, value, value_len, rev);
}

static int file_cas(kw_meta_store *s, const uint8_t *key, size_t key_len, uint64_t expected_rev,
                    const uint8_t *value, size_t value_len, uint64_t *rev)
{
    return file_write((file_store *)s, key, key_len, true, expected_rev, value, value_len, rev);
}

static int file_del(kw_meta_store *s, const uint8_t *key, size_t key_len, uint64_t *rev)
{
    file_store *fs = (file_store *)s;
    int rc;
    pthread_mutex_lock(&fs->mu);
    bool found;
    size_t i = lower_bound(fs, key, key_len, &found);
    if (!found) {
        rc = kw__meta_store_fail(s, KW_ENOTFOUND, "delete: no such key (%zu bytes)", key_len);
        goto out;
    }
    rc = append_record(fs, REC_DEL, fs->rev + 1, key, key_len, NULL, 0);
    if (rc)
        goto out;
    fs->rev++;
    map_remove_at(fs, i);
    if (rev)
        *rev = fs->rev;
    maybe_compact(fs);
out:
    pthread_mutex_unlock(&fs->mu);
    return rc;
}

static int file_range(kw_meta_store *s, const uint8_t *start, size_t start_len, const uint8_t *end,
                      size_t end_len, size_t limit, kw_meta_store_range_cb *cb, void *arg)
{
    file_store *fs = (file_store *)s;
    pthread_mutex_lock(&fs->mu);
    size_t lo = start ? lower_bound(fs, start, start_len, NULL) : 0;
    size_t hi = end ? lower_bound(fs, end, end_len, NULL) : fs->n;
    if (hi < lo)
        hi = lo;
    if (limit && hi - lo > limit)
        hi = lo + limit;
    /* Copy the pairs out so cb runs unlocked and may call the store. */
    size_t count = hi - lo, bytes = count * sizeof(kw_meta_kv);
    for (size_t i = lo; i < hi; i++)
        bytes += (size_t)fs->items[i]->key_len + fs->items[i]->value_len;
    uint8_t *block = malloc(bytes ? bytes : 1);
    if (!block) {
        pthread_mutex_unlock(&fs->mu);
        return kw__meta_store_fail(s, KW_ENOMEM, "range copy of %zu bytes", bytes);
    }
    kw_meta_kv *kvs = (kw_meta_kv *)block;
    uint8_t *p = block + count * sizeof(kw_meta_kv);
    for (size_t i = lo; i < hi; i++) {
        const entry *e = fs->items[i];
        size_t n = (size_t)e->key_len + e->value_len;
        memcpy(p, e->data, n);
        kvs[i - lo] = (kw_meta_kv){p, e->key_len, p + e->key_len, e->value_len, e->rev};
        p += n;
    }
    pthread_mutex_unlock(&fs->mu);
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++)
        rc = cb(arg, &kvs[i]);
    free(block);
    return rc;
}

static void file_close(kw_meta_store *s)
{
    file_store *fs = (file_store *)s;
    for (size_t i = 0; i < fs->n; i++)
        free(fs->items[i]);
    free(fs->items);
    if (fs->log_fd >= 0)
        close(fs->log_fd);
    if (fs->lock_fd >= 0)
        close(fs->lock_fd); /* drops the flock */
    if (fs->dir_fd >= 0)
        close(fs->dir_fd);
    free(fs->dir);
    pthread_mutex_destroy(&fs->mu);
    kw__meta_store_fini(&fs->base);
    free(fs);
}

static const kw_meta_store_ops file_ops = {
    .name = "file",
    .get = file_get,
    .put = file_put,
    .cas = file_cas,
    .range = file_range,
    .del = file_del,
    .close = file_close,
};

/* ---- open and recovery ---- */

/* Whether a whole record with both checksums intact starts at off; *len gets its body length. */
static bool check_record(const uint8_t *p, uint64_t size, uint64_t off, uint32_t *len)
{
    uint64_t rem = size - off;
    if (rem < FRAME_HDR)
        return false;
    const uint8_t *h = p + off;
    if (get_le32(h + 8) != kw__crc32c(0, h, 8))
        return false;
    uint32_t n = get_le32(h);
    if (n < BODY_FIXED || n > MAX_BODY || rem - FRAME_HDR < n)
        return false;
    if (get_le32(h + 4) != kw__crc32c(0, h + FRAME_HDR, n))
        return false;
    *len = n;
    return true;
}

/*
 * Whether the bad record at off can be the one torn append: the rest of the
 * file is no bigger than a record, and no valid record starts after it.  If
 * its frame header holds, its body is skipped (a value may hold any bytes,
 * even a whole record); if not, every later offset is tried.
 */
static bool is_torn_tail(const uint8_t *p, uint64_t size, uint64_t off)
{
    if (size - off > FRAME_HDR + MAX_BODY)
        return false;
    uint64_t from = off + 1;
    if (size - off >= FRAME_HDR && get_le32(p + off + 8) == kw__crc32c(0, p + off, 8))
        from = off + FRAME_HDR + get_le32(p + off);
    for (uint64_t o = from; o + FRAME_HDR <= size; o++) {
        uint32_t len;
        if (check_record(p, size, o, &len))
            return false;
    }
    return true;
}

static int open_fail(char *err, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int open_fail(char *err, size_t cap, int rc, const char *fmt, ...)
{
    if (err && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Reads kv.log into the map; cuts a torn tail off.  Detail into the store's errstr. */
static int load_log(file_store *fs)
{
    const char *name = KW_META_STORE_FILE_DATA;
    int fd = openat(fs->dir_fd, name, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return fail_errno(fs, "open", name);
    fs->log_fd = fd;
    struct stat st;
    if (fstat(fd, &st) != 0)
        return fail_errno(fs, "stat", name);
    uint64_t size = (uint64_t)st.st_size;
    if (size > SIZE_MAX / 2)
        return kw__meta_store_fail(&fs->base, KW_ETOOBIG, "%s/%s: %llu bytes", fs->dir, name,
                                   (unsigned long long)size);
    uint8_t *p = malloc(size ? (size_t)size : 1);
    if (!p)
        return kw__meta_store_fail(&fs->base, KW_ENOMEM, "%s/%s: %llu bytes", fs->dir, name,
                                   (unsigned long long)size);
    int rc = 0;
    for (uint64_t got = 0; got < size;) {
        ssize_t r = pread(fd, p + got, (size_t)(size - got), (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? fail_errno(fs, "read", name)
                       : kw__meta_store_fail(&fs->base, KW_EIO, "%s/%s shrank while read", fs->dir,
                                             name);
            goto out;
        }
        got += (uint64_t)r;
    }
    if (size < FILE_HDR || memcmp(p, FILE_MAGIC, 8) != 0 ||
        get_le32(p + 20) != kw__crc32c(0, p, 20)) {
        rc = kw__meta_store_fail(&fs->base, KW_ECORRUPT, "%s/%s: no valid file header (%llu bytes)",
                                 fs->dir, name, (unsigned long long)size);
        goto out;
    }
    if (get_le32(p + 8) != FILE_FORMAT) {
        rc = kw__meta_store_fail(&fs->base, KW_EUNSUPPORTED, "%s/%s: format %u (this is %u)",
                                 fs->dir, name, get_le32(p + 8), FILE_FORMAT);
        goto out;
    }
    fs->rev = get_le64(p + 12);
    /* Revisions are int64 in every store (etcd's too): one above that is damage, and the next
     * put would count on to UINT64_MAX and wrap to 0, which means "absent". */
    if (fs->rev > MAX_REV) {
        rc = kw__meta_store_fail(&fs->base, KW_ECORRUPT, "%s/%s: base revision %llu is past %lld",
                                 fs->dir, name, (unsigned long long)fs->rev, (long long)MAX_REV);
        goto out;
    }
    uint64_t off = FILE_HDR;
    while (off < size) {
        uint32_t len;
        if (!check_record(p, size, off, &len)) {
            if (!is_torn_tail(p, size, off)) {
                rc = kw__meta_store_fail(&fs->base, KW_ECORRUPT,
                                         "%s/%s: bad record at offset %llu of %llu", fs->dir, name,
                                         (unsigned long long)off, (unsigned long long)size);
                goto out;
            }
            /* Never acknowledged (its sync did not return), so cutting it loses nothing. */
            if (ftruncate(fd, (off_t)off) != 0 || fdatasync(fd) != 0) {
                rc = fail_errno(fs, "cut the torn tail off", name);
                goto out;
            }
            emit_log(fs, "meta store %s: cut a torn tail of %llu bytes at offset %llu", fs->dir,
                     (unsigned long long)(size - off), (unsigned long long)off);
            size = off;
            break;
        }
        const uint8_t *b = p + off + FRAME_HDR;
        unsigned type = b[0];
        uint64_t rev = get_le64(b + 1);
        uint32_t klen = get_le32(b + 9), vlen = get_le32(b + 13);
        if ((type != REC_PUT && type != REC_DEL) || rev == 0 || rev > MAX_REV || klen == 0 ||
            klen > KW_META_STORE_MAX_KEY || vlen > KW_META_STORE_MAX_VALUE ||
            (uint64_t)BODY_FIXED + klen + vlen != len || (type == REC_DEL && vlen != 0)) {
            rc = kw__meta_store_fail(&fs->base, KW_ECORRUPT,
                                     "%s/%s: record at offset %llu does not parse", fs->dir, name,
                                     (unsigned long long)off);
            goto out;
        }
        const uint8_t *key = b + BODY_FIXED;
        if (type == REC_PUT) {
            entry *e = new_entry(key, klen, key + klen, vlen, rev);
            if (!e || reserve_one(fs) != 0) {
                free(e);
                rc = kw__meta_store_fail(&fs->base, KW_ENOMEM, "loading %s/%s", fs->dir, name);
                goto out;
            }
            map_set(fs, e);
        } else {
            bool found;
            size_t i = lower_bound(fs, key, klen, &found);
            if (found)
                map_remove_at(fs, i);
        }
        if (rev > fs->rev)
            fs->rev = rev;
        off += FRAME_HDR + len;
    }
    fs->log_size = size;
out:
    free(p);
    return rc;
}

/* mkdir dir if it is missing, and make its name durable by syncing the parent. */
static int make_dir(const char *dir, char *err, size_t cap)
{
    if (mkdir(dir, 0755) != 0) {
        if (errno == EEXIST)
            return 0;
        return open_fail(err, cap, KW_EIO, "mkdir %s: %s", dir, strerror(errno));
    }
    char *copy = strdup(dir);
    if (!copy)
        return open_fail(err, cap, KW_ENOMEM, "path copy");
    char *slash = strrchr(copy, '/');
    while (slash && slash > copy && slash[1] == '\0') { /* "a/b/" */
        *slash = '\0';
        slash = strrchr(copy, '/');
    }
    const char *parent = !slash ? "." : slash == copy ? "/" : (*slash = '\0', copy);
    int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;
    if (fd < 0 || fsync(fd) != 0)
        rc = open_fail(err, cap, KW_EIO, "fsync %s: %s", parent, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(copy);
    return rc;
}

int kw__meta_store_file_open(const kw_meta_store_file_options *opt, kw_meta_store **out, char *err,
                             size_t err_cap)
{
    if (err && err_cap)
        err[0] = '\0';
    if (!opt || !out || !opt->dir || !opt->dir[0])
        return open_fail(err, err_cap, KW_EINVAL, "no directory given");
    *out = NULL;
    int rc = make_dir(opt->dir, err, err_cap);
    if (rc)
        return rc;

    file_store *fs = calloc(1, sizeof(*fs));
    if (!fs)
        return open_fail(err, err_cap, KW_ENOMEM, "store");
    kw__meta_store_init(&fs->base, &file_ops);
    pthread_mutex_init(&fs->mu, NULL);
    fs->dir_fd = fs->lock_fd = fs->log_fd = -1;
    fs->live_bytes = FILE_HDR;
    fs->compact_min = opt->compact_min_bytes ? opt->compact_min_bytes : DEFAULT_COMPACT_MIN;
    fs->log = opt->log;
    fs->log_arg = opt->log_arg;
    fs->dir = strdup(opt->dir);
    if (!fs->dir) {
        rc = kw__meta_store_fail(&fs->base, KW_ENOMEM, "path copy");
        goto fail;
    }
    fs->dir_fd = open(fs->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fs->dir_fd < 0) {
        rc = fail_errno(fs, "open the directory", "");
        goto fail;
    }
    fs->lock_fd = openat(fs->dir_fd, KW_META_STORE_FILE_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fs->lock_fd < 0) {
        rc = fail_errno(fs, "open", KW_META_STORE_FILE_LOCK);
        goto fail;
    }
    if (flock(fs->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK
                 ? kw__meta_store_fail(&fs->base, KW_EAGAIN,
                                       "%s is open in another store (%s is locked)", fs->dir,
                                       KW_META_STORE_FILE_LOCK)
                 : fail_errno(fs, "flock", KW_META_STORE_FILE_LOCK);
        goto fail;
    }
    /* Only now, holding the lock, may a temp file be taken for a crashed compaction's. */
    if (unlinkat(fs->dir_fd, KW_META_STORE_FILE_TEMP, 0) == 0)
        emit_log(fs, "meta store %s: removed %s left by an unfinished compaction", fs->dir,
                 KW_META_STORE_FILE_TEMP);
    else if (errno != ENOENT) {
        rc = fail_errno(fs, "remove", KW_META_STORE_FILE_TEMP);
        goto fail;
    }
    if (faccessat(fs->dir_fd, KW_META_STORE_FILE_DATA, F_OK, 0) != 0) {
        if (errno != ENOENT) {
            rc = fail_errno(fs, "look for", KW_META_STORE_FILE_DATA);
            goto fail;
        }
        /* A new store: its first kv.log appears whole, by the same rename as compaction. */
        rc = write_snapshot(fs);
    } else {
        rc = load_log(fs);
        /* A log left bloated by failed compactions shrinks now. */
        if (rc == 0)
            maybe_compact(fs);
    }
    if (rc)
        goto fail;
    *out = &fs->base;
    return 0;
fail:
    if (err && err_cap)
        kw__meta_store_errstr(&fs->base, err, err_cap);
    file_close(&fs->base);
    return rc;
}
