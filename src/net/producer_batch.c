/* Producer sender side: records appended straight into their partition's open batch. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/producer_int.h"

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int kw__producer_fail(kw_producer *p, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->last_error, sizeof(p->last_error), fmt, ap);
    va_end(ap);
    return err;
}

/*
 * An upper bound of the record's encoded size, close to it: the bytes plus
 * the most its varints can take.  Exact sizes cost a second varint pass per
 * record; this one is a handful of adds.
 */
size_t kw__producer_record_cost(const kw_producer_record *rec)
{
    size_t n = rec->key_len + rec->value_len + 32;
    for (size_t i = 0; i < rec->header_count; i++)
        n += rec->headers[i].key_len + rec->headers[i].value_len + 10;
    return n;
}

void kw__producer_batch_free(kw__producer_batch *b)
{
    if (!b)
        return;
    kw__wr_free(&b->buf);
    free(b->slots);
    free(b->detail);
    free(b);
}

void kw__producer_batch_recycle(kw_producer *p, kw__producer_batch *b)
{
    if (b->buf.buf && !b->buf.err && p->npool < p->cappool) {
        p->pool[p->npool++] = b->buf;
        b->buf = (kw_wr){0};
    }
    kw__producer_batch_free(b);
}

static void kick_task(kw_loop *loop, void *arg)
{
    (void)loop;
    kw_producer *p = arg;
    pthread_mutex_lock(&p->mu);
    p->kick_posted = false;
    pthread_mutex_unlock(&p->mu);
    kw__producer_run(p);
}

kw__producer_topic *kw__producer_topics_end(kw_producer *p)
{
    pthread_mutex_lock(&p->mu);
    kw__producer_topic *t = p->topics_tail;
    pthread_mutex_unlock(&p->mu);
    return t;
}

void kw__producer_kick(kw_producer *p)
{
    if (p->kick_posted || p->stopped)
        return;
    /* On failure (the client is going away) nothing would run it anyway. */
    if (kw__loop_post(p->loop, kick_task, NULL, p) == 0)
        p->kick_posted = true;
}

void kw__producer_close(kw_producer *p, kw__producer_partition *pt)
{
    kw__producer_batch *b = pt->open;
    if (!b)
        return;
    pt->open = NULL;
    b->state = KW__PB_CLOSED;
    pt->last_batch_bytes = kw__batch_size(&b->builder);
    if (pt->closed_tail)
        pt->closed_tail->next = b;
    else
        pt->closed_head = b;
    pt->closed_tail = b;
    kw__producer_topic *t = pt->topic;
    if (t->sticky == pt->index)
        t->sticky = -pt->index - 2; /* move on; remember which one was left */
}

static kw__producer_batch *batch_open(kw_producer *p, kw__producer_partition *pt)
{
    kw__producer_batch *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->part = pt;
    b->state = KW__PB_OPEN;
    b->base_offset = -1;
    b->log_append_time_ms = -1;
    if (p->npool) {
        b->buf = p->pool[--p->npool];
        b->buf.len = 0;
    } else {
        kw__wr_init(&b->buf);
    }
    /*
     * One allocation sized for what the partition's last batch held (twice
     * that, up to a full batch), plus the compressor's room, so neither the
     * records nor kw__batch_finish move the buffer in the steady state.
     */
    size_t want = pt->last_batch_bytes ? pt->last_batch_bytes * 2 : 16384;
    if (want > (size_t)p->batch_bytes + KW_BATCH_HEADER_SIZE)
        want = (size_t)p->batch_bytes + KW_BATCH_HEADER_SIZE;
    size_t room = want + (p->codec ? kw__compress_bound(p->codec, want) : 0);
    if (!kw__wr_reserve(&b->buf, room)) {
        kw__producer_batch_free(b);
        return NULL;
    }
    b->buf.len = 0;
    size_t slots = pt->last_batch_bytes ? 64 : 16;
    b->slots = malloc(slots * sizeof(*b->slots));
    if (!b->slots) {
        kw__producer_batch_free(b);
        return NULL;
    }
    b->capslots = slots;
    /* transactional batches carry the attribute bit; id, epoch and sequence are stamped when sent */
    kw_batch_opts bo = {.codec = p->codec,
                        .idempotent = p->txn_id != NULL,
                        .producer_id = -1,
                        .producer_epoch = -1,
                        .base_sequence = -1,
                        .transactional = p->txn_id != NULL};
    if (kw__batch_begin(&b->builder, &b->buf, &bo) != 0) {
        kw__producer_batch_free(b);
        return NULL;
    }
    uint64_t now = kw__clock_now_ns();
    b->opened_ns = now;
    b->deadline_ns = now + p->delivery_timeout_ns;
    return b;
}

int kw__producer_append(kw_producer *p, kw__producer_partition *pt, const kw_producer_record *rec,
                        kw_producer_cb *cb, void *arg, size_t cost, uint64_t deadline_ns)
{
    kw_bytes key = rec->key ? (kw_bytes){rec->key, (int32_t)rec->key_len} : KW_BYTES_NULL;
    kw_bytes value = rec->value ? (kw_bytes){rec->value, (int32_t)rec->value_len} : KW_BYTES_NULL;
    kw_record_header stack[8], *hs = stack;
    size_t nh = rec->header_count;
    if (nh > sizeof(stack) / sizeof(stack[0])) {
        hs = malloc(nh * sizeof(*hs));
        if (!hs)
            return kw__producer_fail(p, KW_ENOMEM, "no memory for %zu headers", nh);
    }
    for (size_t i = 0; i < nh; i++) {
        const kw_header *h = &rec->headers[i];
        hs[i].key = (kw_str){h->key, (int32_t)h->key_len};
        hs[i].value = h->value ? (kw_bytes){h->value, (int32_t)h->value_len} : KW_BYTES_NULL;
    }
    int64_t ts = rec->timestamp_ms ? rec->timestamp_ms : wall_ms();

    kw__producer_batch *b = pt->open;
    if (b && kw__batch_size(&b->builder) + cost > p->batch_bytes) {
        /* the bound says it may not fit: ask for the exact size before closing */
        size_t need = kw__batch_record_size(&b->builder, ts, key, value, hs, nh);
        if (kw__batch_size(&b->builder) + need > p->batch_bytes)
            kw__producer_close(p, pt);
    }
    bool opened = false;
    if (!pt->open) {
        pt->open = batch_open(p, pt);
        opened = true;
    }
    b = pt->open;
    int rc = b ? 0 : KW_ENOMEM;
    if (!rc && b->nslots == b->capslots) {
        kw__producer_slot *s = realloc(b->slots, b->capslots * 2 * sizeof(*s));
        if (s) {
            b->slots = s;
            b->capslots *= 2;
        } else {
            rc = KW_ENOMEM;
        }
    }
    if (!rc)
        rc = kw__batch_add(&b->builder, ts, key, value, hs, nh);
    if (hs != stack)
        free(hs);
    if (rc) {
        if (b) {
            /* nothing of the record was written (add checks, then reserves, then writes) */
            b->builder.err = 0;
            b->buf.err = 0;
            if (b->builder.count == 0) {
                pt->open = NULL;
                kw__producer_batch_free(b);
            }
        }
        return kw__producer_fail(p, rc, "appending a record to %s/%d: %s", pt->topic->name,
                                 pt->index, kw_strerror(rc));
    }
    b->slots[b->nslots++] = (kw__producer_slot){cb, arg, ts};
    b->bytes += cost;
    if (deadline_ns && deadline_ns < b->deadline_ns)
        b->deadline_ns = deadline_ns; /* sent before its metadata came: its clock runs from then */
    /* A batch that cannot take another record like this one goes now, not at linger. */
    if (kw__batch_size(&b->builder) + cost > p->batch_bytes) {
        kw__producer_close(p, pt);
        kw__producer_kick(p);
    } else if (opened) {
        kw__producer_kick(p); /* the loop times the new batch's linger */
    }
    return 0;
}
