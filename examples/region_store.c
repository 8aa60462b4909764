/* regiond's regions: hash maps, the put payload codec, and crash-safe snapshot files. */
#include "region_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct rd_kv {
    rd_kv *next;
    uint64_t hash;
    uint32_t klen, vlen;
    char *val;
    char key[]; /* klen bytes */
};

/* Snapshot layout (little-endian):
 *   "KWRSNAP1" | u64 region id | u64 flags (bit 0: applied_id valid) | u64 applied_id
 *   | u64 key count | count x (u32 klen, u32 vlen, key, value) | u64 FNV-1a of all before it */
static const char snap_magic[8] = {'K', 'W', 'R', 'S', 'N', 'A', 'P', '1'};
#define SNAP_HEADER 40
#define SNAP_MAX_BYTES ((uint64_t)1 << 32)

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
#define FNV_SEED 0xcbf29ce484222325ULL

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- payload ---- */

size_t rd_payload_encode(uint8_t *buf, size_t cap, const char *key, size_t klen, const char *val,
                         size_t vlen)
{
    if (klen == 0 || klen > RD_MAX_KEY || vlen > RD_MAX_VALUE)
        return 0;
    size_t n = 0;
    /* unsigned LEB128 key length: one byte for keys under 128, two up to RD_MAX_KEY */
    size_t hdr = klen < 0x80 ? 1 : 2;
    if (hdr + klen + vlen > cap)
        return 0;
    if (klen < 0x80) {
        buf[n++] = (uint8_t)klen;
    } else {
        buf[n++] = (uint8_t)(0x80 | (klen & 0x7f));
        buf[n++] = (uint8_t)(klen >> 7);
    }
    memcpy(buf + n, key, klen);
    n += klen;
    if (vlen)
        memcpy(buf + n, val, vlen);
    return n + vlen;
}

int rd_payload_decode(const uint8_t *data, size_t len, const char **key, size_t *klen,
                      const char **val, size_t *vlen)
{
    size_t n = 0, kl;
    if (len < 1)
        return -1;
    if (data[0] < 0x80) {
        kl = data[0];
        n = 1;
    } else {
        if (len < 2 || data[1] == 0 || data[1] >= 0x80)
            return -1;
        kl = (size_t)(data[0] & 0x7f) | (size_t)data[1] << 7;
        n = 2;
    }
    if (kl == 0 || kl > RD_MAX_KEY || len - n < kl || len - n - kl > RD_MAX_VALUE)
        return -1;
    *key = (const char *)data + n;
    *klen = kl;
    *val = (const char *)data + n + kl;
    *vlen = len - n - kl;
    return 0;
}

/* ---- one region's map ---- */

static rd_region *region_new(uint64_t id)
{
    rd_region *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->id = id;
    r->nbuckets = 64;
    r->buckets = calloc(r->nbuckets, sizeof(*r->buckets));
    if (!r->buckets) {
        free(r);
        return NULL;
    }
    return r;
}

static void region_free(rd_region *r)
{
    for (size_t i = 0; i < r->nbuckets; i++) {
        rd_kv *e = r->buckets[i];
        while (e) {
            rd_kv *next = e->next;
            free(e->val);
            free(e);
            e = next;
        }
    }
    free(r->buckets);
    free(r);
}

static int region_grow(rd_region *r)
{
    size_t nb = r->nbuckets * 2;
    rd_kv **b = calloc(nb, sizeof(*b));
    if (!b)
        return -1;
    for (size_t i = 0; i < r->nbuckets; i++) {
        rd_kv *e = r->buckets[i];
        while (e) {
            rd_kv *next = e->next;
            size_t j = e->hash & (nb - 1);
            e->next = b[j];
            b[j] = e;
            e = next;
        }
    }
    free(r->buckets);
    r->buckets = b;
    r->nbuckets = nb;
    return 0;
}

static rd_kv *region_lookup(const rd_region *r, const char *key, size_t klen, uint64_t h)
{
    for (rd_kv *e = r->buckets[h & (r->nbuckets - 1)]; e; e = e->next)
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e;
    return NULL;
}

int rd_region_put(rd_region *r, const char *key, size_t klen, const char *val, size_t vlen)
{
    uint64_t h = mix64(fnv1a(FNV_SEED, key, klen));
    char *v = malloc(vlen ? vlen : 1);
    if (!v)
        return -1;
    if (vlen)
        memcpy(v, val, vlen);
    rd_kv *e = region_lookup(r, key, klen, h);
    if (e) {
        free(e->val);
        e->val = v;
        e->vlen = (uint32_t)vlen;
        return 0;
    }
    if (r->nkeys >= r->nbuckets && region_grow(r) < 0) {
        free(v);
        return -1;
    }
    e = malloc(sizeof(*e) + klen);
    if (!e) {
        free(v);
        return -1;
    }
    e->hash = h;
    e->klen = (uint32_t)klen;
    e->vlen = (uint32_t)vlen;
    e->val = v;
    memcpy(e->key, key, klen);
    size_t i = h & (r->nbuckets - 1);
    e->next = r->buckets[i];
    r->buckets[i] = e;
    r->nkeys++;
    return 0;
}

const char *rd_region_get(const rd_region *r, const char *key, size_t klen, size_t *vlen)
{
    rd_kv *e = region_lookup(r, key, klen, mix64(fnv1a(FNV_SEED, key, klen)));
    if (!e)
        return NULL;
    *vlen = e->vlen;
    return e->val;
}

/* ---- the set of regions ---- */

rd_region *rd_store_find(const rd_store *s, uint64_t id)
{
    size_t mask = s->cap - 1;
    for (size_t i = mix64(id) & mask;; i = (i + 1) & mask) {
        rd_region *r = s->table[i];
        if (!r || r->id == id)
            return r;
    }
}

static int store_insert(rd_store *s, rd_region *r)
{
    /* the table never fills past half: RD_MAX_REGIONS bounds it */
    if (s->nregions >= RD_MAX_REGIONS)
        return -1;
    size_t mask = s->cap - 1;
    size_t i = mix64(r->id) & mask;
    while (s->table[i])
        i = (i + 1) & mask;
    s->table[i] = r;
    s->nregions++;
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

int rd_store_open(rd_store *s, const char *dir, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
        return -1;
    }
    s->dir = strdup(dir);
    s->cap = 2 * RD_MAX_REGIONS;
    s->table = calloc(s->cap, sizeof(*s->table));
    if (!s->dir || !s->table) {
        snprintf(err, errlen, "out of memory");
        rd_store_close(s);
        return -1;
    }
    return 0;
}

void rd_store_close(rd_store *s)
{
    if (s->table) {
        for (size_t i = 0; i < s->cap; i++)
            if (s->table[i])
                region_free(s->table[i]);
    }
    free(s->table);
    free(s->dir);
    memset(s, 0, sizeof(*s));
}

static void snap_path(const rd_store *s, uint64_t id, bool tmp, char *buf, size_t len)
{
    snprintf(buf, len, "%s/region-%" PRIu64 ".snap%s", s->dir, id, tmp ? ".tmp" : "");
}

/* Buffered writer that keeps the running checksum. */
typedef struct snap_writer {
    int fd;
    uint64_t sum;
    size_t n;
    uint8_t buf[1 << 16];
} snap_writer;

static int sw_flush(snap_writer *w)
{
    size_t off = 0;
    while (off < w->n) {
        ssize_t k = write(w->fd, w->buf + off, w->n - off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        off += (size_t)k;
    }
    w->n = 0;
    return 0;
}

static int sw_put(snap_writer *w, const void *p, size_t len)
{
    const uint8_t *b = p;
    w->sum = fnv1a(w->sum, b, len);
    while (len) {
        if (w->n == sizeof(w->buf) && sw_flush(w) < 0)
            return -1;
        size_t k = sizeof(w->buf) - w->n;
        if (k > len)
            k = len;
        memcpy(w->buf + w->n, b, k);
        w->n += k;
        b += k;
        len -= k;
    }
    return 0;
}

int rd_region_flush(const rd_store *s, rd_region *r, char *err, size_t errlen)
{
    char tmp[4200], path[4200];
    snap_path(s, r->id, true, tmp, sizeof(tmp));
    snap_path(s, r->id, false, path, sizeof(path));
    snap_writer *w = malloc(sizeof(*w));
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    w->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    w->sum = FNV_SEED;
    w->n = 0;
    if (w->fd < 0) {
        snprintf(err, errlen, "open %s: %s", tmp, strerror(errno));
        free(w);
        return -1;
    }
    uint8_t hdr[SNAP_HEADER];
    memcpy(hdr, snap_magic, 8);
    put_u64(hdr + 8, r->id);
    put_u64(hdr + 16, r->has_applied ? 1 : 0);
    put_u64(hdr + 24, r->has_applied ? r->applied_id : 0);
    put_u64(hdr + 32, r->nkeys);
    int rc = sw_put(w, hdr, sizeof(hdr));
    for (size_t i = 0; rc == 0 && i < r->nbuckets; i++) {
        for (rd_kv *e = r->buckets[i]; rc == 0 && e; e = e->next) {
            uint8_t lens[8];
            put_u32(lens, e->klen);
            put_u32(lens + 4, e->vlen);
            rc = sw_put(w, lens, 8);
            if (rc == 0)
                rc = sw_put(w, e->key, e->klen);
            if (rc == 0)
                rc = sw_put(w, e->val, e->vlen);
        }
    }
    if (rc == 0) {
        uint8_t sum[8];
        put_u64(sum, w->sum);
        rc = sw_put(w, sum, 8);
    }
    if (rc == 0)
        rc = sw_flush(w);
    /* fsync the data before the rename makes it the snapshot: a crash in between must leave
     * either the old file or the complete new one, never an empty one under the real name. */
    if (rc == 0)
        rc = fsync(w->fd);
    int e = errno;
    close(w->fd);
    free(w);
    if (rc == 0 && rename(tmp, path) < 0) {
        rc = -1;
        e = errno;
    }
    /* the rename itself is durable only once the directory is fsynced */
    if (rc == 0 && fsync_dir(s->dir) < 0) {
        rc = -1;
        e = errno;
    }
    if (rc < 0) {
        snprintf(err, errlen, "snapshot of region %" PRIu64 ": %s", r->id, strerror(e));
        unlink(tmp);
        return -1;
    }
    r->flushed_next = r->has_applied ? r->applied_id + 1 : 0;
    r->puts_since_flush = 0;
    return 0;
}

int rd_store_create(rd_store *s, uint64_t id, rd_region **out, char *err, size_t errlen)
{
    rd_region *r = region_new(id);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (s->nregions >= RD_MAX_REGIONS) {
        snprintf(err, errlen, "too many regions (limit %d)", RD_MAX_REGIONS);
        region_free(r);
        return -1;
    }
    if (rd_region_flush(s, r, err, errlen) < 0) {
        region_free(r);
        return -1;
    }
    store_insert(s, r);
    *out = r;
    return 0;
}

static int load_file(rd_store *s, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    uint8_t *buf = NULL;
    rd_region *r = NULL;
    const char *why = NULL;
    if (fstat(fd, &st) < 0) {
        why = strerror(errno);
        goto fail;
    }
    if ((uint64_t)st.st_size < SNAP_HEADER + 8 || (uint64_t)st.st_size > SNAP_MAX_BYTES) {
        why = "bad size";
        goto fail;
    }
    size_t size = (size_t)st.st_size;
    buf = malloc(size);
    if (!buf) {
        why = "out of memory";
        goto fail;
    }
    for (size_t off = 0; off < size;) {
        ssize_t k = read(fd, buf + off, size - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            why = k < 0 ? strerror(errno) : "short read";
            goto fail;
        }
        off += (size_t)k;
    }
    if (memcmp(buf, snap_magic, 8) != 0) {
        why = "not a regiond snapshot";
        goto fail;
    }
    if (fnv1a(FNV_SEED, buf, size - 8) != get_u64(buf + size - 8)) {
        why = "checksum mismatch";
        goto fail;
    }
    uint64_t id = get_u64(buf + 8);
    if (rd_store_find(s, id)) {
        why = "duplicate region";
        goto fail;
    }
    r = region_new(id);
    if (!r) {
        why = "out of memory";
        goto fail;
    }
    r->has_applied = (get_u64(buf + 16) & 1) != 0;
    r->applied_id = get_u64(buf + 24);
    r->flushed_next = r->has_applied ? r->applied_id + 1 : 0;
    uint64_t count = get_u64(buf + 32);
    size_t off = SNAP_HEADER, end = size - 8;
    for (uint64_t i = 0; i < count; i++) {
        if (end - off < 8) {
            why = "truncated record";
            goto fail;
        }
        uint32_t kl = get_u32(buf + off), vl = get_u32(buf + off + 4);
        off += 8;
        if (kl == 0 || kl > RD_MAX_KEY || vl > RD_MAX_VALUE || end - off < (size_t)kl + vl) {
            why = "bad record";
            goto fail;
        }
        if (rd_region_put(r, (const char *)buf + off, kl, (const char *)buf + off + kl, vl) < 0) {
            why = "out of memory";
            goto fail;
        }
        off += (size_t)kl + vl;
    }
    if (off != end) {
        why = "trailing bytes";
        goto fail;
    }
    if (store_insert(s, r) < 0) {
        why = "too many regions";
        goto fail;
    }
    free(buf);
    close(fd);
    return 0;
fail:
    snprintf(err, errlen, "snapshot %s: %s", path, why);
    if (r)
        region_free(r);
    free(buf);
    close(fd);
    return -1;
}

int rd_store_load_all(rd_store *s, size_t *loaded, char *err, size_t errlen)
{
    DIR *d = opendir(s->dir);
    if (!d) {
        snprintf(err, errlen, "opendir %s: %s", s->dir, strerror(errno));
        return -1;
    }
    size_t n = 0;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        size_t len = strlen(name);
        if (strncmp(name, "region-", 7) != 0)
            continue;
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s", s->dir, name);
        if (len > 9 && strcmp(name + len - 9, ".snap.tmp") == 0) {
            /* a flush that crashed before its rename: the previous snapshot still stands */
            unlink(path);
            continue;
        }
        if (len < 6 || strcmp(name + len - 5, ".snap") != 0)
            continue;
        rc = load_file(s, path, err, errlen);
        if (rc == 0)
            n++;
    }
    closedir(d);
    *loaded = n;
    return rc;
}
