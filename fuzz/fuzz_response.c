/* libFuzzer target for one API's response decoder (KW_FUZZ_API_KEY), with a re-encode stability check. */
#include <stdio.h>
#include <stdlib.h>

#include "proto/msg.h"

#ifndef KW_FUZZ_API_KEY
#error "build with -DKW_FUZZ_API_KEY=<kafka api key>"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: one byte naming the version (used as is when kwal speaks it, else
 * mapped into range), then a response frame without its size prefix, as the
 * corpus capture writes them.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const kw_api *api = kw__api(KW_FUZZ_API_KEY);
    if (!api || size < 1)
        return 0;
    int span = api->vmax - api->vmin + 1;
    int ver = data[0] >= api->vmin && data[0] <= api->vmax ? data[0] : api->vmin + data[0] % span;
    kw_arena a;
    kw__arena_init(&a, 16u << 20);
    void *resp = kw__arena_alloc(&a, api->resp->size);
    if (resp && kw__response_decode(data + 1, size - 1, api, ver, &a, resp) == 0) {
        /* What decoded must encode, and decode again to the same bytes. */
        kw_wr w1, w2;
        kw__wr_init(&w1);
        kw__wr_init(&w2);
        int32_t corr = 0;
        kw__response_correlation_id(data + 1, size - 1, &corr);
        if (kw__response_encode(&w1, api, ver, corr, resp) != 0)
            abort();
        void *again = kw__arena_alloc(&a, api->resp->size);
        if (again) {
            if (kw__response_decode(w1.buf + 4, w1.len - 4, api, ver, &a, again) != 0)
                abort();
            if (kw__response_encode(&w2, api, ver, corr, again) != 0 || w1.len != w2.len ||
                memcmp(w1.buf, w2.buf, w1.len) != 0)
                abort();
        }
        kw__wr_free(&w1);
        kw__wr_free(&w2);
    }
    kw__arena_reset(&a);
    return 0;
}
