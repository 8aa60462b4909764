/* libFuzzer target for the record-batch decoder: batches, records and headers, with each codec. */
#include <stdlib.h>

#include "proto/batch.h"
#include "proto/crc32c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads every record of every batch, the way a consumer would. */
static void walk(const uint8_t *data, size_t size, unsigned flags)
{
    kw_batch_iter it;
    kw__batch_iter_init(&it, data, size, flags);
    kw_batch b;
    kw_wr scratch;
    kw__wr_init(&scratch);
    while (kw__batch_next(&it, &b) == 1) {
        kw_record_iter ri;
        if (kw__record_iter_init(&ri, &b, &scratch, 1u << 20, 0) != 0)
            continue;
        kw_record r;
        while (kw__record_next(&ri, &r) == 1) {
            kw_header_iter hi = kw__record_headers(&r);
            kw_record_header h;
            while (kw__header_next(&hi, &h) == 1)
                if (h.key.len < 0)
                    abort(); /* header keys are never null once checked */
            if (kw__batch_is_control(&b)) {
                int16_t v, t;
                (void)kw__control_record_parse(&r, &v, &t);
            }
        }
    }
    kw__wr_free(&scratch);
}

#ifndef KW_FUZZ_CODEC
/* Input: the records bytes of a Fetch response partition, as the broker sends them. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    walk(data, size, 0);
    walk(data, size, KW_BATCH_VERIFY_CRC);
    return 0;
}
#else
/*
 * Input: a compressed records section for codec KW_FUZZ_CODEC; the first two
 * bytes give the record count.  The target wraps it in a valid batch header
 * with a correct CRC so the fuzzer spends its time in the decompressor and
 * the record parser instead of failing the checksum.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > (1u << 20))
        return 0;
    int32_t count = (int32_t)kw_load_be16(data) % 1024;
    size_t n = size - 2;
    uint8_t *buf = malloc(KW_BATCH_HEADER_SIZE + n);
    if (!buf)
        return 0;
    memset(buf, 0, KW_BATCH_HEADER_SIZE);
    kw_store_be32(buf + KW_BATCH_OFF_LENGTH, (uint32_t)(KW_BATCH_HEADER_SIZE - 12 + n));
    kw_store_be32(buf + KW_BATCH_OFF_LEADER_EPOCH, UINT32_MAX);
    buf[KW_BATCH_OFF_MAGIC] = 2;
    kw_store_be16(buf + KW_BATCH_OFF_ATTRIBUTES, KW_FUZZ_CODEC);
    kw_store_be32(buf + KW_BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)(count ? count - 1 : 0));
    kw_store_be64(buf + KW_BATCH_OFF_PRODUCER_ID, UINT64_MAX);
    kw_store_be16(buf + KW_BATCH_OFF_PRODUCER_EPOCH, UINT16_MAX);
    kw_store_be32(buf + KW_BATCH_OFF_BASE_SEQUENCE, UINT32_MAX);
    kw_store_be32(buf + KW_BATCH_OFF_RECORDS_COUNT, (uint32_t)count);
    memcpy(buf + KW_BATCH_HEADER_SIZE, data + 2, n);
    uint32_t crc = kw__crc32c(0, buf + KW_BATCH_OFF_ATTRIBUTES,
                              KW_BATCH_HEADER_SIZE - KW_BATCH_OFF_ATTRIBUTES + n);
    kw_store_be32(buf + KW_BATCH_OFF_CRC, crc);
    walk(buf, KW_BATCH_HEADER_SIZE + n, KW_BATCH_VERIFY_CRC);
    free(buf);
    return 0;
}
#endif
