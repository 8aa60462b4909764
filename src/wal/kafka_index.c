/* The kafka provider's replay index: per (topic, region) offset ranges, written to a compacted topic, read by replay. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kwal/batch.h"
#include "proto/kerr.h"
#include "wal/kafka_int.h"

/*
 * Writer: when a batch is acknowledged (settle, in sequence order) each
 * region with a record in it adds the batch's offsets to its list and its
 * covered point moves to the batch's end.  The region's claim — all its
 * records in [ix_from, ix_covered) lie in the list — holds because a region
 * has one writer at a time: while this handle appends to it, nobody else
 * does, and every batch of this handle below the covered point is settled.
 * A batch that failed for good may still be in the log, below every later
 * batch: the region's list starts again after it.
 *
 * Every index_interval_ms the loop writes one record per region whose list
 * changed, in one batch to the index topic (acks=all); close writes what is
 * left.  A write that fails marks its regions changed again.
 */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void kw__wal_kafka_index_region_free(kregion *r)
{
    kw__wal_index_list_free(&r->ix);
}

static void region_forget(kregion *r, ktopic *t)
{
    r->ix_topic = t;
    r->ix_from = -1;
    r->ix_covered = -1;
    r->ix.n = 0;
    r->ix_dirty = false;
}

void kw__wal_kafka_index_batch(kw_wal_kafka *k, const kbatch *b, bool acked)
{
    if (!k->ix_on)
        return;
    int64_t start = b->base_offset, end = b->base_offset + b->count;
    for (size_t i = 0; i < b->nslots; i++) {
        kregion *r = kw__wal_kafka_region_slot(k, b->slots[i].e->region_id, true);
        if (!r)
            continue; /* no memory: the region's list misses a batch; see below */
        if (r->ix_topic != b->t)
            region_forget(r, b->t);
        if (!acked || start < 0) {
            region_forget(r, b->t);
            continue;
        }
        if (r->ix_from < 0)
            r->ix_from = start;
        if (r->ix.n > 0 && r->ix.v[r->ix.n - 1].end >= end)
            continue; /* another entry of the region in the same batch */
        if (kw__wal_index_list_add(&r->ix, start, end, b->buf.len) != 0) {
            region_forget(r, b->t); /* a list missing a batch would be wrong: start over */
            continue;
        }
        r->ix_covered = end;
        r->ix_dirty = true;
    }
}

void kw__wal_kafka_index_obsolete(kw_wal_kafka *k, kregion *r, uint64_t entry_id)
{
    if (!k->ix_on || r->ix_from < 0 || entry_id >= (uint64_t)INT64_MAX)
        return;
    int64_t below = (int64_t)entry_id + 1;
    if (below > r->ix_covered)
        below = r->ix_covered;
    if (below <= r->ix_from)
        return;
    /* the claim about [below, covered) is part of the claim about [from, covered) */
    kw__wal_index_list_drop_below(&r->ix, below);
    if (r->ix.n > 0 && r->ix.v[0].start < below)
        below = r->ix.v[0].start;
    r->ix_from = below;
    r->ix_dirty = true;
}

/*
 * One write's batches, in order.  A batch stays under IX_BATCH_BYTES, well below
 * the broker's default message.max.bytes (1 MiB): 10,000 regions' records in
 * one batch were 1.2 MB and every write was refused (MESSAGE_TOO_LARGE).  A
 * record is at most KW_WAL_INDEX_MAX_RANGES ranges, far less than that.
 */
#define IX_BATCH_BYTES (256u * 1024)

typedef struct ixbuf {
    struct ixbuf *next;
    size_t len;
    uint8_t *buf;
} ixbuf;

static void ixbufs_free(ixbuf *b)
{
    while (b) {
        ixbuf *n = b->next;
        free(b->buf);
        free(b);
        b = n;
    }
}

/* Finishes w's batch onto the end of *tail; 0 or KW_ENOMEM. */
static int ixbuf_take(kw_batch_writer *w, ixbuf ***tail)
{
    const uint8_t *fin;
    size_t finlen;
    ixbuf *b = calloc(1, sizeof(*b));
    if (!b || kw_batch_writer_finish(w, &fin, &finlen) != 0 ||
        kw_batch_writer_take(w, &b->buf, &b->len) != 0) {
        free(b);
        return KW_ENOMEM;
    }
    **tail = b;
    *tail = &b->next;
    return 0;
}

/* Encodes the changed regions' records into batches (mu held); NULL when none changed. */
static ixbuf *collect(kw_wal_kafka *k, int *err)
{
    *err = 0;
    ixbuf *out = NULL, **tail = &out;
    kw_batch_writer *w = NULL;
    int64_t ts = now_ms();
    for (size_t i = 0; i < k->capregions && !*err; i++) {
        kregion *r = &k->regions[i];
        if (!r->used || !r->ix_dirty || r->ix_from < 0 || !r->ix_topic)
            continue;
        char key[KW_WAL_INDEX_KEY_MAX];
        int kl = kw__wal_index_key(key, r->ix_topic->name, r->region_id);
        kw_wal_index_record rec = {.topic = r->ix_topic->name,
                                   .topic_len = strlen(r->ix_topic->name),
                                   .region_id = r->region_id,
                                   .valid_from = r->ix_from,
                                   .covered = r->ix_covered,
                                   .ranges = r->ix.v,
                                   .n = r->ix.n};
        uint8_t *val = NULL;
        size_t vl = 0;
        if (kl < 0 || kw__wal_index_encode(&rec, &val, &vl) != 0) {
            r->ix_dirty = false; /* cannot be written: replay reads as without an index */
            continue;
        }
        if (w && kw_batch_writer_count(w) > 0 &&
            kw_batch_writer_size(w) + kw_batch_writer_record_size(w, ts, key, (size_t)kl, val, vl,
                                                                  NULL, 0) > IX_BATCH_BYTES) {
            if (ixbuf_take(w, &tail) != 0 || kw_batch_writer_reset(w, NULL) != 0)
                *err = KW_ENOMEM;
        }
        if (*err)
            ;
        else if (!w && kw_batch_writer_new(&w, NULL, NULL, 0) != 0)
            *err = KW_ENOMEM;
        else if (kw_batch_writer_add(w, ts, key, (size_t)kl, val, vl, NULL, 0) != 0)
            *err = KW_ENOMEM;
        else
            r->ix_dirty = false;
        free(val);
    }
    if (w && !*err && kw_batch_writer_count(w) > 0 && ixbuf_take(w, &tail) != 0)
        *err = KW_ENOMEM;
    kw_batch_writer_destroy(w);
    if (*err) {
        ixbufs_free(out);
        out = NULL;
    }
    return out;
}

/* A write failed: every region known is written again next time (mu held). */
static void all_dirty(kw_wal_kafka *k)
{
    for (size_t i = 0; i < k->capregions; i++)
        if (k->regions[i].used && k->regions[i].ix_from >= 0)
            k->regions[i].ix_dirty = true;
}

static const kw_client_config_entry topic_configs[] = {
    {"cleanup.policy", "compact"},
    /* the active segment is never compacted: roll it often so old records go */
    {"segment.ms", "600000"},
    {"min.cleanable.dirty.ratio", "0.1"},
};

/* Loop thread: a write started by the timer ended (its call counts in calls_out until then). */
static void write_end(kw_wal_kafka *k, bool ok, const char *detail)
{
    k->calls_out--;
    pthread_mutex_lock(&k->mu);
    k->ix_out = false;
    if (ok) {
        k->ix_writes++;
        k->ix_created = true;
    } else {
        k->ix_write_errors++;
        all_dirty(k);
    }
    pthread_cond_broadcast(&k->cond);
    pthread_mutex_unlock(&k->mu);
    if (!ok)
        kw__wal_kafka_log(k, KW_LOG_WARN, "index: writing to %s failed (%s); replays read more "
                          "until the next write", k->ix_topic, detail);
}

/* A write: its batches go out one after the other; the first failure ends it. */
typedef struct ixwrite {
    kw_wal_kafka *k;
    ixbuf *bufs;
} ixwrite;

static void send_write(ixwrite *x);

static void produced(const kw_client_produce_result *res, void *arg)
{
    ixwrite *x = arg;
    ixbuf *done = x->bufs;
    x->bufs = done->next;
    done->next = NULL;
    done->buf = NULL; /* taken by the client (KW_CLIENT_PRODUCE_TAKE_BATCH) */
    ixbufs_free(done);
    if (res->err == 0 && x->bufs) {
        send_write(x);
        return;
    }
    write_end(x->k, res->err == 0, res->detail);
    ixbufs_free(x->bufs);
    free(x);
}

static void send_write(ixwrite *x)
{
    kw_client_produce_args a = {.topic = x->k->ix_topic,
                                .partition = 0,
                                .batch = x->bufs->buf,
                                .batch_len = x->bufs->len,
                                .acks = KW_CLIENT_ACKS_ALL,
                                .flags = KW_CLIENT_PRODUCE_TAKE_BATCH,
                                .timeout_ms = x->k->o.timeout_ms};
    kw_wal_kafka *k = x->k;
    if (kw_client_produce_async(k->client, &a, produced, x) != 0) {
        x->bufs->buf = NULL; /* the client freed it */
        ixbufs_free(x->bufs);
        free(x);
        write_end(k, false, "cannot send a produce");
    }
}

static void created(const kw_client_topics_result *res, void *arg)
{
    ixwrite *x = arg;
    bool ok = res->err == 0 ||
              (res->topic_count == 1 && res->topics[0].kerr == KW_KERR_TOPIC_ALREADY_EXISTS);
    if (!ok) {
        ixbufs_free(x->bufs);
        write_end(x->k, false, res->detail);
        free(x);
        return;
    }
    x->k->ix_created = true;
    send_write(x);
}

static void start_write(kw_wal_kafka *k, ixbuf *bufs)
{
    k->calls_out++; /* a shared client's close waits for it */
    ixwrite *x = malloc(sizeof(*x));
    if (!x) {
        ixbufs_free(bufs);
        write_end(k, false, "out of memory");
        return;
    }
    *x = (ixwrite){k, bufs};
    if (k->ix_created) {
        send_write(x);
        return;
    }
    kw_client_new_topic nt = {.name = k->ix_topic,
                              .partitions = 1,
                              .configs = topic_configs,
                              .config_count = sizeof(topic_configs) / sizeof(topic_configs[0])};
    kw_client_create_topics_args ca = {.topics = &nt, .topic_count = 1,
                                       .timeout_ms = k->o.timeout_ms};
    if (kw_client_create_topics_async(k->client, &ca, created, x) != 0) {
        ixbufs_free(x->bufs);
        free(x);
        write_end(k, false, "cannot send CreateTopics");
    }
}

static void tick(kw_loop_timer *timer, void *arg)
{
    (void)timer;
    kw_wal_kafka *k = arg;
    if (k->stopping)
        return;
    ixbuf *bufs = NULL;
    int err = 0;
    pthread_mutex_lock(&k->mu);
    if (!k->ix_out) {
        bufs = collect(k, &err);
        if (err)
            all_dirty(k);
        k->ix_out = bufs != NULL;
    }
    pthread_mutex_unlock(&k->mu);
    if (bufs)
        start_write(k, bufs);
    kw__loop_timer_start(&k->ix_timer, k->o.index_interval_ms);
}

int kw__wal_kafka_index_start(void *arg)
{
    kw_wal_kafka *k = arg;
    kw__loop_timer_init(k->loop, &k->ix_timer, tick, k);
    k->ix_timer_init = true;
    return kw__loop_timer_start(&k->ix_timer, k->o.index_interval_ms);
}

void kw__wal_kafka_index_close(kw_wal_kafka *k)
{
    if (!k->ix_on)
        return;
    pthread_mutex_lock(&k->mu);
    while (k->ix_out)
        if (kw__wal_kafka_wait(k, &k->mu, &k->cond, NULL) != 0)
            break;
    if (k->ix_out) {
        pthread_mutex_unlock(&k->mu);
        return;
    }
    int err = 0;
    ixbuf *bufs = collect(k, &err);
    k->ix_out = true; /* the timer writes nothing more */
    pthread_mutex_unlock(&k->mu);
    if (!bufs)
        return;
    if (!k->ix_created) {
        kw_client_new_topic nt = {.name = k->ix_topic,
                                  .partitions = 1,
                                  .configs = topic_configs,
                                  .config_count = sizeof(topic_configs) / sizeof(topic_configs[0])};
        kw_client_create_topics_args ca = {.topics = &nt, .topic_count = 1,
                                           .timeout_ms = k->o.timeout_ms};
        kw_client_topics_result tr;
        if (kw_client_create_topics(k->client, &ca, &tr) == 0 || tr.topic_count == 1)
            kw_client_topics_result_free(&tr);
    }
    for (ixbuf *b = bufs; b; b = b->next) {
        kw_client_produce_args a = {.topic = k->ix_topic,
                                    .partition = 0,
                                    .batch = b->buf,
                                    .batch_len = b->len,
                                    .acks = KW_CLIENT_ACKS_ALL,
                                    .timeout_ms = k->o.timeout_ms};
        kw_client_produce_result res;
        if (kw_client_produce(k->client, &a, &res) != 0) {
            kw__wal_kafka_log(k, KW_LOG_WARN, "index: the last write to %s at close failed (%s)",
                              k->ix_topic, res.detail);
            break;
        }
    }
    ixbufs_free(bufs);
}

/* ---------------------------------------------------------------- reading */

/* ---------------------------------------------------------------- the cache of the index topic */

typedef struct kw__ixc_entry {
    char *key;      /* NULL: an empty slot */
    uint8_t *value; /* NULL: a tombstone (the key's region has no index) */
    size_t len;
    int64_t at; /* the record's offset */
} ixc_entry;

static size_t ixc_hash(const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)key[i]) * 1099511628211ull;
    return (size_t)h;
}

void kw__wal_kafka_index_cache_free(kw_wal_kafka *k)
{
    for (size_t i = 0; i < k->ixc_cap; i++) {
        free(k->ixc[i].key);
        free(k->ixc[i].value);
    }
    free(k->ixc);
    k->ixc = NULL;
    k->ixc_n = k->ixc_cap = 0;
    k->ixc_next = -1;
}

static ixc_entry *ixc_find(kw_wal_kafka *k, const char *key, size_t len)
{
    if (!k->ixc_cap)
        return NULL;
    for (size_t i = ixc_hash(key, len) & (k->ixc_cap - 1);; i = (i + 1) & (k->ixc_cap - 1)) {
        ixc_entry *e = &k->ixc[i];
        if (!e->key || (strlen(e->key) == len && memcmp(e->key, key, len) == 0))
            return e;
    }
}

/* The newest record of a key (value NULL: a tombstone); 0 or KW_ENOMEM. */
static int ixc_put(kw_wal_kafka *k, const char *key, size_t len, const uint8_t *value,
                   size_t vlen, int64_t at)
{
    if ((k->ixc_n + 1) * 2 > k->ixc_cap) {
        size_t cap = k->ixc_cap ? k->ixc_cap * 2 : 256;
        ixc_entry *n = calloc(cap, sizeof(*n));
        if (!n)
            return KW_ENOMEM;
        ixc_entry *old = k->ixc;
        size_t oldcap = k->ixc_cap;
        k->ixc = n;
        k->ixc_cap = cap;
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].key)
                *ixc_find(k, old[i].key, strlen(old[i].key)) = old[i];
        free(old);
    }
    uint8_t *v = NULL;
    if (value && !(v = malloc(vlen ? vlen : 1)))
        return KW_ENOMEM;
    if (value)
        memcpy(v, value, vlen);
    ixc_entry *e = ixc_find(k, key, len);
    if (!e->key) {
        if (!(e->key = strndup(key, len))) {
            free(v);
            return KW_ENOMEM;
        }
        k->ixc_n++;
    }
    free(e->value);
    e->value = v;
    e->len = vlen;
    e->at = at;
    return 0;
}

/* found for region of topic from the cache (ixc_mu held). */
static void ixc_get(kw_wal_kafka *k, const char *topic, uint64_t region, kw_wal_index_found *f)
{
    char key[KW_WAL_INDEX_KEY_MAX];
    int kl = kw__wal_index_key(key, topic, region);
    ixc_entry *e = kl > 0 ? ixc_find(k, key, (size_t)kl) : NULL;
    if (!e || !e->key)
        return;
    f->at = e->at;
    if (!e->value)
        return; /* a tombstone: the region has no index */
    const char *why = NULL;
    int rc = kw__wal_index_decode(e->value, e->len, &f->rec, &why);
    if (rc == 0 && (f->rec.region_id != region || f->rec.topic_len != strlen(topic) ||
                    memcmp(f->rec.topic, topic, f->rec.topic_len) != 0)) {
        free(f->rec.ranges);
        memset(&f->rec, 0, sizeof(f->rec));
        rc = KW_EMALFORMED;
        why = "index record: its topic or region differs from its key";
    }
    if (rc) {
        f->state = -1;
        snprintf(f->why, sizeof(f->why), "%s (offset %lld)", why ? why : "out of memory",
                 (long long)e->at);
        return;
    }
    f->rec.topic = NULL; /* pointed into the cached value */
    f->state = 1;
}

int kw__wal_kafka_index_load(kw_wal_kafka *k, const char *topic, const uint64_t *ids, size_t n,
                             kw_wal_index_found *found, uint64_t *records_read, char *note,
                             size_t notelen)
{
    *records_read = 0;
    memset(found, 0, n * sizeof(*found));
    /* a missing topic is a quick answer from metadata (ListOffsets would retry it to the deadline) */
    const char *names[1] = {k->ix_topic};
    kw_client_metadata_args ma = {.topics = names, .topic_count = 1,
                                  .timeout_ms = k->o.timeout_ms};
    kw_client_metadata_result mr;
    int mrc = kw_client_metadata(k->client, &ma, &mr);
    if (mrc) {
        snprintf(note, notelen, "index topic %s: metadata: %s", k->ix_topic,
                 *mr.detail ? mr.detail : kw_strerror(mrc));
        return mrc;
    }
    int16_t tkerr = mr.topic_count == 1 ? mr.topics[0].kerr : KW_KERR_UNKNOWN_TOPIC_OR_PARTITION;
    kw_client_metadata_result_free(&mr);
    if (tkerr == KW_KERR_UNKNOWN_TOPIC_OR_PARTITION) {
        snprintf(note, notelen, "index topic %s missing", k->ix_topic);
        return KW_ENOTFOUND;
    }
    kw_client_list_offsets_args la = {.topic = k->ix_topic, .spec = KW_CLIENT_OFFSET_EARLIEST,
                                      .timeout_ms = k->o.timeout_ms};
    kw_client_list_offsets_result lo, hi;
    int rc = kw_client_list_offsets(k->client, &la, &lo);
    if (rc == 0) {
        la.spec = KW_CLIENT_OFFSET_LATEST;
        rc = kw_client_list_offsets(k->client, &la, &hi);
        if (rc)
            lo = hi;
    }
    if (rc) {
        if (lo.kerr == KW_KERR_UNKNOWN_TOPIC_OR_PARTITION)
            snprintf(note, notelen, "index topic %s missing", k->ix_topic);
        else
            snprintf(note, notelen, "index topic %s: ListOffsets: %s", k->ix_topic,
                     *lo.detail ? lo.detail : kw_strerror(rc));
        return rc;
    }
    kw_batch_reader *br = NULL;
    if (kw_batch_reader_new(&br, NULL) != 0) {
        snprintf(note, notelen, "out of memory");
        return KW_ENOMEM;
    }
    pthread_mutex_lock(&k->ixc_mu);
    /* read on from where the last replay stopped; all again when the topic went back */
    if (k->ixc_next < lo.offset || k->ixc_next > hi.offset) {
        kw__wal_kafka_index_cache_free(k);
        k->ixc_next = lo.offset;
    }
    int64_t off = k->ixc_next;
    rc = 0;
    while (off < hi.offset && rc == 0) {
        kw_client_fetch_args fa = {.topic = k->ix_topic,
                                   .offset = off,
                                   .max_bytes = 4 << 20,
                                   .max_wait_ms = 0,
                                   .min_bytes = 1,
                                   .timeout_ms = k->o.timeout_ms};
        kw_client_fetch_result fr;
        rc = kw_client_fetch(k->client, &fa, &fr);
        if (rc) {
            snprintf(note, notelen, "index topic %s: fetch at %lld: %s", k->ix_topic,
                     (long long)off, *fr.detail ? fr.detail : kw_strerror(rc));
            break;
        }
        int64_t next = off;
        kw_batch_reader_set(br, fr.records, fr.records_len, off);
        kw_batch_info bi;
        int b;
        while ((b = kw_batch_reader_next_batch(br, &bi)) == 1) {
            if (bi.last_offset + 1 > next)
                next = bi.last_offset + 1;
            if (bi.control)
                continue;
            kw_batch_record rec;
            int r;
            while ((r = kw_batch_reader_next_record(br, &rec)) == 1) {
                (*records_read)++;
                if (!rec.key || rec.key_len <= 5 || rec.key_len > KW_WAL_INDEX_KEY_MAX ||
                    memcmp(rec.key, "kwix/", 5) != 0)
                    continue; /* not an index record */
                if (ixc_put(k, (const char *)rec.key, rec.key_len, rec.value, rec.value_len,
                            rec.offset) != 0) {
                    r = KW_ENOMEM;
                    break;
                }
            }
            if (r < 0) {
                b = r;
                break;
            }
        }
        if (b < 0) {
            snprintf(note, notelen, "index topic %s at %lld: %s", k->ix_topic, (long long)off,
                     b == KW_ENOMEM ? "out of memory" : kw_batch_reader_errstr(br));
            rc = b;
        } else if (next == off) {
            /* nothing whole came back (compaction can leave holes only below whole batches) */
            snprintf(note, notelen, "index topic %s: no records at %lld below its end %lld",
                     k->ix_topic, (long long)off, (long long)hi.offset);
            rc = KW_EMALFORMED;
        }
        kw_client_fetch_result_free(&fr);
        if (rc == 0)
            off = next;
    }
    kw_batch_reader_destroy(br);
    if (rc) {
        /* a batch may be half taken: read everything again next time */
        kw__wal_kafka_index_cache_free(k);
    } else {
        k->ixc_next = off;
        for (size_t i = 0; i < n; i++)
            ixc_get(k, topic, ids[i], &found[i]);
    }
    pthread_mutex_unlock(&k->ixc_mu);
    return rc;
}

void kw__wal_kafka_index_seed(kw_wal_kafka *k, const char *topic, uint64_t region_id, int64_t from,
                              int64_t end, const kw_wal_index_list *seen)
{
    if (!k->ix_on || from < 0 || end < from)
        return;
    pthread_mutex_lock(&k->mu);
    kregion *r = kw__wal_kafka_region_slot(k, region_id, true);
    ktopic *t = kw__wal_kafka_region_topic(k, region_id);
    if (r && t && strcmp(t->name, topic) == 0 && r->ix_from < 0) {
        region_forget(r, t);
        int rc = 0;
        for (size_t i = 0; i < seen->n && rc == 0; i++)
            rc = kw__wal_index_list_add(&r->ix, seen->v[i].start, seen->v[i].end,
                                        seen->v[i].bytes);
        if (rc == 0) {
            r->ix_from = from;
            r->ix_covered = end;
            r->ix_dirty = true;
        } else {
            region_forget(r, t);
        }
    }
    pthread_mutex_unlock(&k->mu);
}
