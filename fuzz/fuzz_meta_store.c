/* libFuzzer target for the meta store's file backend: recovery of a fuzzed kv.log in a temporary directory. */
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kwal/error.h"
#include "meta/store.h"
#include "proto/crc32c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: one control byte, then the bytes of kv.log (store_file.c describes the format).
 *   bit 0  write a valid file header's magic and checksum over the input's first 24 bytes
 *   bit 1  recompute both checksums of each record whose frame's length fits: past the
 *          checksums, into the record types, revisions, keys, values and the torn-tail rule
 *   bit 2  leave a kv.log.tmp beside it (an unfinished compaction, to be removed unread)
 *   bit 3  compact at once (compact_min_bytes 1)
 * Then: open; range (sorted keys, revisions not above the store's); put; get; close; reopen: the
 * put is there with its revision, the put's revision above every one before it.
 */
#define FUZZ_MAX_INPUT (256u * 1024u)
#define FILE_HDR 24u
#define FRAME_HDR 12u
#define BODY_FIXED 17u

static char scratch[256]; /* made once per process; a fuzzer runs one input at a time */

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
    snprintf(scratch, sizeof(scratch), "%s/kwal-fuzz-meta-XXXXXX", base);
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

static void write_file(const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", scratch, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        abort();
    if (n && write(fd, p, n) != (ssize_t)n)
        abort();
    close(fd);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

typedef struct scan {
    size_t count;
    uint64_t max_rev;
    uint8_t last[KW_META_STORE_MAX_KEY];
    size_t last_len;
    bool any;
} scan;

static int on_kv(void *arg, const kw_meta_kv *kv)
{
    scan *s = arg;
    if (kv->rev == 0 || kv->key_len == 0 || kv->key_len > KW_META_STORE_MAX_KEY)
        abort();
    if (s->any) { /* strictly ascending */
        size_t m = s->last_len < kv->key_len ? s->last_len : kv->key_len;
        int c = memcmp(s->last, kv->key, m);
        if (c > 0 || (c == 0 && s->last_len >= kv->key_len))
            abort();
    }
    memcpy(s->last, kv->key, kv->key_len);
    s->last_len = kv->key_len;
    s->any = true;
    s->count++;
    if (kv->rev > s->max_rev)
        s->max_rev = kv->rev;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_MAX_INPUT || !make_scratch())
        return 0;
    uint8_t ctl = data[0];
    size_t n = size - 1;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, n);
    if ((ctl & 1) && n >= FILE_HDR) {
        memcpy(buf, "KWMETAKV", 8);
        put_le32(buf + 20, kw__crc32c(0, buf, 20));
    }
    if (ctl & 2) {
        for (size_t off = FILE_HDR; off + FRAME_HDR <= n;) {
            uint8_t *h = buf + off;
            uint32_t len = get_le32(h);
            if (len > n - off - FRAME_HDR)
                break;
            put_le32(h + 4, kw__crc32c(0, h + FRAME_HDR, len));
            put_le32(h + 8, kw__crc32c(0, h, 8));
            off += FRAME_HDR + len;
        }
    }
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", scratch, KW_META_STORE_FILE_TEMP);
    unlink(path);
    write_file(KW_META_STORE_FILE_DATA, buf, n);
    if (ctl & 4)
        write_file(KW_META_STORE_FILE_TEMP, buf, n / 2);
    free(buf);

    kw_meta_store_file_options o = {.dir = scratch, .compact_min_bytes = ctl & 8 ? 1 : 0};
    kw_meta_store *s;
    char err[512];
    int rc = kw__meta_store_file_open(&o, &s, err, sizeof(err));
    if (rc) {
        if ((rc != KW_ECORRUPT && rc != KW_EUNSUPPORTED && rc != KW_EIO && rc != KW_ENOMEM &&
             rc != KW_ETOOBIG) ||
            !err[0])
            abort();
        return 0;
    }
    if (access(path, F_OK) == 0) /* the unfinished compaction's file is gone */
        abort();
    scan before = {0};
    if (kw__meta_store_range_prefix(s, NULL, 0, 0, on_kv, &before) != 0)
        abort();
    static const char key[] = "fuzz/after-recovery", value[] = "v";
    uint64_t rev = 0;
    rc = kw__meta_store_put(s, key, sizeof(key) - 1, value, sizeof(value) - 1, &rev);
    if (rc == 0 && rev <= before.max_rev) {
        fprintf(stderr, "put got revision %llu, not above %llu already in the log\n",
                (unsigned long long)rev, (unsigned long long)before.max_rev);
        abort();
    }
    if (rc != 0)
        abort();
    kw__meta_store_close(s);
    rc = kw__meta_store_file_open(&o, &s, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "reopen after recovery + put failed: %s\n", err);
        abort();
    }
    scan after = {0};
    if (kw__meta_store_range_prefix(s, NULL, 0, 0, on_kv, &after) != 0)
        abort();
    {
        uint8_t *v = NULL;
        size_t vlen = 0;
        uint64_t got_rev = 0;
        if (kw__meta_store_get(s, key, sizeof(key) - 1, &v, &vlen, &got_rev) != 0 ||
            vlen != sizeof(value) - 1 || memcmp(v, value, vlen) != 0 || got_rev != rev)
            abort();
        free(v);
        if (after.count != before.count && after.count != before.count + 1)
            abort();
    }
    kw__meta_store_close(s);
    return 0;
}
