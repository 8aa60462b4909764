/* examples/ingest: the value of a record, filled by the writer and checked byte for byte by the reader. */
#include <string.h>

#include "ingest.h"

static uint64_t word_at(uint64_t seed, size_t i)
{
    uint64_t x = seed + (uint64_t)i * 0x9E3779B97F4A7C15ull;
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    return x ^ (x >> 29);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void ingest_payload_fill(uint8_t *buf, size_t len, uint32_t writer, uint32_t partition,
                         uint64_t seq)
{
    memcpy(buf, "KWIN", 4);
    put32(buf + 4, writer);
    put32(buf + 8, partition);
    put32(buf + 12, (uint32_t)seq);
    put32(buf + 16, (uint32_t)(seq >> 32));
    put32(buf + 20, (uint32_t)len);
    put32(buf + 24, 0);
    put32(buf + 28, 0);
    uint64_t seed = seq ^ ((uint64_t)writer << 40) ^ ((uint64_t)partition << 20);
    size_t words = (len - INGEST_PAYLOAD_HEADER) / 8, i;
    uint8_t *p = buf + INGEST_PAYLOAD_HEADER;
    for (i = 0; i < words; i++) {
        uint64_t w = word_at(seed, i);
        memcpy(p + 8 * i, &w, 8);
    }
    for (size_t j = INGEST_PAYLOAD_HEADER + 8 * words; j < len; j++)
        buf[j] = (uint8_t)j;
}

const char *ingest_payload_check(const uint8_t *buf, size_t len, uint32_t *writer,
                                 uint32_t *partition, uint64_t *seq)
{
    if (len < INGEST_PAYLOAD_HEADER || memcmp(buf, "KWIN", 4) != 0)
        return "not an ingest record (no KWIN header)";
    *writer = get32(buf + 4);
    *partition = get32(buf + 8);
    *seq = get32(buf + 12) | (uint64_t)get32(buf + 16) << 32;
    if (get32(buf + 20) != len)
        return "the length in the header is not the value's length";
    uint64_t seed = *seq ^ ((uint64_t)*writer << 40) ^ ((uint64_t)*partition << 20);
    size_t words = (len - INGEST_PAYLOAD_HEADER) / 8;
    const uint8_t *p = buf + INGEST_PAYLOAD_HEADER;
    for (size_t i = 0; i < words; i++) {
        uint64_t w;
        memcpy(&w, p + 8 * i, 8);
        if (w != word_at(seed, i))
            return "the value's bytes differ from what the writer wrote";
    }
    for (size_t j = INGEST_PAYLOAD_HEADER + 8 * words; j < len; j++)
        if (buf[j] != (uint8_t)j)
            return "the value's last bytes differ from what the writer wrote";
    return NULL;
}
