/* libFuzzer target for the WAL index record (read back from the index topic): decode, and re-encode what decodes. */
#include <stdlib.h>
#include <string.h>

#include "wal/index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kw_wal_index_record rec;
    const char *why = NULL;
    int rc = kw__wal_index_decode(data, size, &rec, &why);
    if (rc != 0) {
        if (!why && rc != -1)
            abort(); /* every refusal says why */
        return 0;
    }
    /* what decodes is a valid record: it encodes back to the same bytes */
    uint8_t *out = NULL;
    size_t len = 0;
    if (kw__wal_index_encode(&rec, &out, &len) != 0)
        abort();
    if (len != size || memcmp(out, data, size) != 0) {
        /* varints may be written longer than needed in the input: decode the canonical form */
        kw_wal_index_record again;
        if (kw__wal_index_decode(out, len, &again, &why) != 0 || again.n != rec.n ||
            again.valid_from != rec.valid_from || again.covered != rec.covered ||
            again.region_id != rec.region_id)
            abort();
        for (size_t i = 0; i < rec.n; i++)
            if (again.ranges[i].start != rec.ranges[i].start ||
                again.ranges[i].end != rec.ranges[i].end ||
                again.ranges[i].bytes != rec.ranges[i].bytes)
                abort();
        free(again.ranges);
    }
    free(out);
    free(rec.ranges);
    return 0;
}
