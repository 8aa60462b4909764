/* The metasrv store's cost per call: a region's first allocation and a heartbeat write, file store vs etcd, one run. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kwal/meta.h"

/*
 * usage: meta_latency BOOTSTRAP ETCD_ENDPOINT [REGIONS]
 *
 * For each store (the file store in a temp directory, then etcd at
 * ETCD_ENDPOINT under a fresh prefix) it opens a kw_meta handle, allocates
 * REGIONS (default 500) new regions with kw_meta_region_topic (a
 * compare-and-put each) and then sends one heartbeat per region with a new
 * flushed id (a durable write each: fsync for the file store, a quorum
 * commit for etcd).  Prints p50 / p99 / mean per call and the ratio.
 * Nothing is sent to the brokers (BOOTSTRAP only fills the config).
 */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct stats {
    double p50_us, p99_us, mean_us;
} stats;

static stats summarize(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_u64);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    return (stats){.p50_us = (double)v[n / 2] / 1e3,
                   .p99_us = (double)v[n * 99 / 100] / 1e3,
                   .mean_us = (double)sum / (double)n / 1e3};
}

static int run(const char *cfg_path, const char *store_dir, size_t regions, stats *alloc,
               stats *beat)
{
    kw_meta_options o = {.config_path = cfg_path, .store_dir = store_dir, .no_prune_timer = true};
    kw_meta *m = NULL;
    char err[1024];
    if (kw_meta_open(&m, &o, err, sizeof(err)) != 0) {
        fprintf(stderr, "meta_latency: %s\n", err);
        return 1;
    }
    uint64_t *t = calloc(regions, sizeof(*t));
    if (!t)
        return 1;
    char topic[256];
    for (size_t i = 0; i < regions; i++) {
        uint64_t t0 = now_ns();
        if (kw_meta_region_topic(m, i, topic, sizeof(topic)) != 0) {
            fprintf(stderr, "meta_latency: region_topic: %s\n", kw_meta_errstr(m));
            return 1;
        }
        t[i] = now_ns() - t0;
    }
    *alloc = summarize(t, regions);
    for (size_t i = 0; i < regions; i++) {
        uint64_t t0 = now_ns();
        if (kw_meta_heartbeat(m, i, 100 + i, 200 + i) != 0) {
            fprintf(stderr, "meta_latency: heartbeat: %s\n", kw_meta_errstr(m));
            return 1;
        }
        t[i] = now_ns() - t0;
    }
    *beat = summarize(t, regions);
    free(t);
    kw_meta_close(m);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: meta_latency BOOTSTRAP ETCD_ENDPOINT [REGIONS]\n");
        return 2;
    }
    size_t regions = argc > 3 ? strtoul(argv[3], NULL, 10) : 500;
    if (regions < 10)
        regions = 10;
    char dir[] = "/tmp/kwal-meta-latency-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char file_cfg[300], etcd_cfg[300], store[320];
    snprintf(file_cfg, sizeof(file_cfg), "%s/file.toml", dir);
    snprintf(etcd_cfg, sizeof(etcd_cfg), "%s/etcd.toml", dir);
    snprintf(store, sizeof(store), "%s/store", dir);
    FILE *f = fopen(file_cfg, "w");
    if (!f)
        return 1;
    fprintf(f, "[wal]\nprovider = \"kafka\"\nbroker_endpoints = [\"%s\"]\nnum_topics = 64\n"
               "auto_prune_interval = \"0s\"\n",
            argv[1]);
    fclose(f);
    f = fopen(etcd_cfg, "w");
    if (!f)
        return 1;
    fprintf(f, "backend = \"etcd_store\"\nstore_addrs = [\"%s\"]\nstore_key_prefix = \"bench/%d/\"\n"
               "[wal]\nprovider = \"kafka\"\nbroker_endpoints = [\"%s\"]\nnum_topics = 64\n"
               "auto_prune_interval = \"0s\"\n",
            argv[2], (int)getpid(), argv[1]);
    fclose(f);
    stats fa, fb, ea, eb;
    if (run(file_cfg, store, regions, &fa, &fb) || run(etcd_cfg, NULL, regions, &ea, &eb))
        return 1;
    printf("| call (%zu regions) | file store p50 / p99 / mean (us) | etcd p50 / p99 / mean (us) | "
           "etcd / file (mean) |\n|---|---|---|---|\n",
           regions);
    printf("| allocation (kw_meta_region_topic) | %.0f / %.0f / %.0f | %.0f / %.0f / %.0f | %.2fx |\n",
           fa.p50_us, fa.p99_us, fa.mean_us, ea.p50_us, ea.p99_us, ea.mean_us,
           ea.mean_us / fa.mean_us);
    printf("| heartbeat write (kw_meta_heartbeat) | %.0f / %.0f / %.0f | %.0f / %.0f / %.0f | %.2fx |\n",
           fb.p50_us, fb.p99_us, fb.mean_us, eb.p50_us, eb.p99_us, eb.mean_us,
           eb.mean_us / fb.mean_us);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
