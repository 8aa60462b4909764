/* WAL per-entry compression: one LZ4 block per entry, made on the write path and undone on replay. */
#include <lz4.h>
#include <sched.h>
#include <stdatomic.h>

#include "record.h"

_Static_assert(KW_WAL_COMPRESS_MAX_INPUT == LZ4_MAX_INPUT_SIZE,
               "record.h's limit is LZ4's largest block input");

/*
 * A state is taken for one call and given back: a kept state is taken by
 * swapping NULL into its slot and given back by a compare-and-swap into an
 * empty one, so no two threads ever hold the same state and no lock is
 * needed.  The search starts at the slot of the CPU the thread runs on, so
 * appenders on different CPUs mostly keep to their own slot (and cache
 * line).  Taking a kept state lets a fast reset make each block independent
 * without clearing the 16 KiB table each time (which would cost more than
 * compressing 1 KiB); only when every slot is empty (more threads
 * compressing at once than there are slots) is a new state made, and one
 * given back to full slots is freed.
 */
static size_t first_slot(void)
{
    int cpu = sched_getcpu();
    return cpu > 0 ? (size_t)cpu : 0;
}

static LZ4_stream_t *compressor_take(kw__wal_compressor *c)
{
    size_t first = first_slot();
    for (size_t i = 0; i < KW_WAL_COMPRESSOR_IDLE; i++) {
        size_t at = (first + i) % KW_WAL_COMPRESSOR_IDLE;
        void *st = atomic_exchange_explicit(&c->idle[at].state, NULL, memory_order_acquire);
        if (st) {
            LZ4_resetStream_fast(st);
            return st;
        }
    }
    return LZ4_createStream();
}

static void compressor_give_back(kw__wal_compressor *c, LZ4_stream_t *st)
{
    size_t first = first_slot();
    for (size_t i = 0; i < KW_WAL_COMPRESSOR_IDLE; i++) {
        size_t at = (first + i) % KW_WAL_COMPRESSOR_IDLE;
        void *empty = NULL;
        if (atomic_compare_exchange_strong_explicit(&c->idle[at].state, &empty, (void *)st,
                                                    memory_order_release, memory_order_relaxed))
            return;
    }
    LZ4_freeStream(st);
}

void kw__wal_compressor_init(kw__wal_compressor *c)
{
    for (size_t i = 0; i < KW_WAL_COMPRESSOR_IDLE; i++)
        atomic_init(&c->idle[i].state, NULL);
}

void kw__wal_compressor_free(kw__wal_compressor *c)
{
    for (size_t i = 0; i < KW_WAL_COMPRESSOR_IDLE; i++) {
        LZ4_freeStream(atomic_load_explicit(&c->idle[i].state, memory_order_acquire));
        atomic_store_explicit(&c->idle[i].state, NULL, memory_order_relaxed);
    }
}

size_t kw__wal_compress_bound(size_t len)
{
    return len <= LZ4_MAX_INPUT_SIZE ? (size_t)LZ4_compressBound((int)len) : 0;
}

size_t kw__wal_compress(kw__wal_compressor *c, const uint8_t *data, size_t len, uint8_t *out,
                        size_t cap)
{
    if (len < 64 || len > LZ4_MAX_INPUT_SIZE)
        return 0;
    LZ4_stream_t *st = compressor_take(c);
    if (!st)
        return 0;
    size_t room = len - len / 16; /* worth it only below this */
    if (room > cap)
        room = cap;
    int n = LZ4_compress_fast_continue(st, (const char *)data, (char *)out, (int)len, (int)room, 1);
    compressor_give_back(c, st);
    return n > 0 && (size_t)n < room ? (size_t)n : 0;
}

int kw__wal_decompress(const uint8_t *src, size_t len, uint8_t *dst, size_t raw_len)
{
    if (len > (size_t)INT32_MAX || raw_len > KW_WAL_COMPRESS_MAX_INPUT)
        return KW_EMALFORMED;
    int n = LZ4_decompress_safe((const char *)src, (char *)dst, (int)len, (int)raw_len);
    return n >= 0 && (size_t)n == raw_len ? 0 : KW_EMALFORMED;
}
