/* Writes the seed corpus of the wal_local and meta_store fuzz targets: files kwal's own writers left on disk. */
#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kwal/error.h"
#include "meta/store.h"
#include "wal/local.h"

/* Usage: seed_stores CORPUS_DIR (writes CORPUS_DIR/wal_local/ and CORPUS_DIR/meta_store/). */

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(len > 0 ? (size_t)len : 1);
    if (!p || (len > 0 && fread(p, 1, (size_t)len, f) != (size_t)len)) {
        perror(path);
        exit(1);
    }
    fclose(f);
    *n = (size_t)len;
    return p;
}

/* A corpus file: the target's control bytes, then the file(s). */
static void put(const char *dir, const char *name, const uint8_t *ctl, size_t nctl,
                const uint8_t *p, size_t n)
{
    char path[512];
    mkdir(dir, 0755);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(ctl, 1, nctl, f) != nctl || (n && fwrite(p, 1, n, f) != n)) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int pending;
} waiter;

static void on_append(void *arg, int err, uint64_t id, const char *detail)
{
    (void)id;
    waiter *w = arg;
    if (err) {
        fprintf(stderr, "seed_stores: append: %s\n", detail);
        exit(1);
    }
    pthread_mutex_lock(&w->mu);
    w->pending--;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

/* Entries of 3 regions, an obsolete mark; segments of segment_bytes (one segment when large). */
static void wal_seeds(const char *out)
{
    char tmp[] = "/tmp/kwal-seed-wal-XXXXXX";
    if (!mkdtemp(tmp))
        exit(1);
    kw_wal_local_options o = {.dir = tmp, .segment_bytes = 1024};
    kw_wal_local *l;
    char err[256];
    if (kw__wal_local_open(&l, &o, err, sizeof(err)) != 0) {
        fprintf(stderr, "seed_stores: %s\n", err);
        exit(1);
    }
    waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    for (int i = 0; i < 24; i++) {
        char v[64];
        int n = snprintf(v, sizeof(v), "region %d entry %d %.*s", i % 3, i, i, "xxxxxxxxxxxxxxxxxxxxxxxx");
        pthread_mutex_lock(&w.mu);
        w.pending++;
        pthread_mutex_unlock(&w.mu);
        if (kw__wal_local_append(l, (uint64_t)(i % 3) + 1, v, (size_t)n, on_append, &w) != 0)
            exit(1);
        if (i == 12) {
            pthread_mutex_lock(&w.mu);
            while (w.pending)
                pthread_cond_wait(&w.cv, &w.mu);
            pthread_mutex_unlock(&w.mu);
            kw__wal_local_obsolete(l, 2, 8);
        }
    }
    pthread_mutex_lock(&w.mu);
    while (w.pending)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    uint64_t ids[16];
    size_t nseg = kw__wal_local_segments(l, ids, 16);
    kw__wal_local_close(l);
    /* each segment alone (ctl 0: as is; the first one is named 1, others renumbered by bit 1),
     * and the first two as a two-segment log split after their record count */
    for (size_t i = 0; i < nseg && i < 16; i++) {
        char path[512], name[64];
        snprintf(path, sizeof(path), "%s/%020llu.wal", tmp, (unsigned long long)ids[i]);
        size_t n;
        uint8_t *p = slurp(path, &n);
        uint8_t ctl[2] = {i == 0 ? 0 : 3, 0};
        snprintf(name, sizeof(name), "segment-%zu", i);
        put(out, name, ctl, 2, p, n);
        if (i == 0) {
            /* a torn tail: the last record cut in half */
            put(out, "segment-0-torn", ctl, 2, p, n > 20 ? n - 20 : n);
            /* a flipped bit in the middle (with the CRCs as they are: the corruption stays) */
            if (n > 40) {
                p[n / 2] ^= 0x10;
                put(out, "segment-0-bitflip", ctl, 2, p, n);
            }
        }
        free(p);
    }
    if (nseg >= 2) {
        char a[512], b[512];
        snprintf(a, sizeof(a), "%s/%020llu.wal", tmp, (unsigned long long)ids[0]);
        snprintf(b, sizeof(b), "%s/%020llu.wal", tmp, (unsigned long long)ids[1]);
        size_t na, nb;
        uint8_t *pa = slurp(a, &na), *pb = slurp(b, &nb);
        uint8_t *both = malloc(na + nb);
        memcpy(both, pa, na);
        memcpy(both + na, pb, nb);
        /* split after the first segment's records (at most 7 in the control byte's reach) */
        size_t recs = 0;
        for (size_t off = 0; off + 28 <= na; recs++)
            off += 28 + ((size_t)pa[off + 4] | (size_t)pa[off + 5] << 8);
        uint8_t ctl[2] = {4 | 1 | 2, (uint8_t)(recs < 7 ? recs : 7)};
        put(out, "two-segments", ctl, 2, both, na + nb);
        free(pa);
        free(pb);
        free(both);
    }
    rm_dir(tmp);
}

static void meta_seeds(const char *out)
{
    char tmp[] = "/tmp/kwal-seed-meta-XXXXXX";
    if (!mkdtemp(tmp))
        exit(1);
    kw_meta_store_file_options o = {.dir = tmp};
    kw_meta_store *s;
    char err[256];
    if (kw__meta_store_file_open(&o, &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "seed_stores: %s\n", err);
        exit(1);
    }
    /* what metasrv keeps: topics, the allocator's counter, a lease-like value, a deleted key */
    static const char *const kv[][2] = {
        {"__kwal/topics/wal-0", "{\"partitions\":8,\"replication\":3}"},
        {"__kwal/topics/wal-1", "{\"partitions\":8,\"replication\":3}"},
        {"__kwal/alloc/next", "2"},
        {"__kwal/leader", "node-1@127.0.0.1:4000"},
        {"__kwal/prune/region-7", "41"},
    };
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
        kw__meta_store_put(s, kv[i][0], strlen(kv[i][0]), kv[i][1], strlen(kv[i][1]), NULL);
    kw__meta_store_put(s, "__kwal/alloc/next", 17, "3", 1, NULL);
    kw__meta_store_del(s, "__kwal/leader", 13, NULL);
    uint64_t rev;
    kw__meta_store_cas(s, "__kwal/prune/region-7", 21, 5, "42", 2, &rev);
    kw__meta_store_close(s);
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", tmp, KW_META_STORE_FILE_DATA);
    size_t n;
    uint8_t *p = slurp(path, &n);
    uint8_t ctl = 0;
    put(out, "log", &ctl, 1, p, n);
    put(out, "log-torn", &ctl, 1, p, n > 10 ? n - 10 : n);
    ctl = 4 | 8;
    put(out, "log-tmp-compact", &ctl, 1, p, n);
    ctl = 0;
    put(out, "header-only", &ctl, 1, p, n < 24 ? n : 24);
    if (n > 60) {
        p[40] ^= 1;
        put(out, "log-bitflip", &ctl, 1, p, n);
        ctl = 1 | 2; /* the same, checksums made good: the contents must still parse */
        put(out, "log-bitflip-fixed", &ctl, 1, p, n);
    }
    free(p);
    rm_dir(tmp);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seed_stores CORPUS_DIR\n");
        return 2;
    }
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/wal_local", argv[1]);
    wal_seeds(dir);
    snprintf(dir, sizeof(dir), "%s/meta_store", argv[1]);
    meta_seeds(dir);
    return 0;
}
