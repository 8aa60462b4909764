/* WAL per-entry compression: one LZ4 block per entry, made on the write path and undone on replay. */
#include <lz4.h>
#include <pthread.h>
#include <stdlib.h>

#include "record.h"

_Static_assert(KW_WAL_COMPRESS_MAX_INPUT == LZ4_MAX_INPUT_SIZE,
               "record.h's limit is LZ4's largest block input");

/*
 * One LZ4 stream per thread, made on first use and freed at thread exit.  A
 * fast reset per entry makes each block independent without clearing the
 * 16 KiB table each time (which would cost more than compressing 1 KiB).
 */
static pthread_key_t lz4_key;
static pthread_once_t lz4_once = PTHREAD_ONCE_INIT;
static bool lz4_key_ok;

static void lz4_key_init(void)
{
    lz4_key_ok = pthread_key_create(&lz4_key, free) == 0;
}

size_t kw__wal_compress_bound(size_t len)
{
    return len <= LZ4_MAX_INPUT_SIZE ? (size_t)LZ4_compressBound((int)len) : 0;
}

size_t kw__wal_compress(const uint8_t *data, size_t len, uint8_t *out, size_t cap)
{
    if (len < 64 || len > LZ4_MAX_INPUT_SIZE)
        return 0;
    pthread_once(&lz4_once, lz4_key_init);
    if (!lz4_key_ok)
        return 0;
    LZ4_stream_t *st = pthread_getspecific(lz4_key);
    if (!st) {
        st = LZ4_createStream();
        if (!st)
            return 0;
        if (pthread_setspecific(lz4_key, st) != 0) {
            LZ4_freeStream(st);
            return 0;
        }
    } else {
        LZ4_resetStream_fast(st);
    }
    size_t room = len - len / 16; /* worth it only below this */
    if (room > cap)
        room = cap;
    int n = LZ4_compress_fast_continue(st, (const char *)data, (char *)out, (int)len, (int)room, 1);
    return n > 0 && (size_t)n < room ? (size_t)n : 0;
}

int kw__wal_decompress(const uint8_t *src, size_t len, uint8_t *dst, size_t raw_len)
{
    if (len > (size_t)INT32_MAX || raw_len > KW_WAL_COMPRESS_MAX_INPUT)
        return KW_EMALFORMED;
    int n = LZ4_decompress_safe((const char *)src, (char *)dst, (int)len, (int)raw_len);
    return n >= 0 && (size_t)n == raw_len ? 0 : KW_EMALFORMED;
}
