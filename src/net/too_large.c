/* MESSAGE_TOO_LARGE and RECORD_LIST_TOO_LARGE explained: the batch's and its largest record's sizes against the topic's limit. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/too_large.h"
#include "proto/batch.h"

/*
 * The broker's answer says only that a batch was too large.  Whoever gets it
 * needs the numbers: how big the batch (and its largest record) was, and what
 * the limit is.  The limit is the topic's max.message.bytes (its effective
 * value: the broker's message.max.bytes when the topic sets none), or its
 * segment.bytes for RECORD_LIST_TOO_LARGE, which one DescribeConfigs asks.
 * The batch has failed already; this only writes the text, so a
 * DescribeConfigs that fails costs nothing but the limit's value.
 */

typedef struct explain {
    kw__too_large_cb *done;
    void *arg;
    int16_t kerr;
    int32_t partition;
    size_t batch_len;
    size_t records;
    size_t largest; /* 0: not known (compressed) */
    char topic[];
} explain;

/* The largest record of the uncompressed batches in buf (key + value + headers, as encoded). */
static void measure(const uint8_t *buf, size_t len, size_t *records, size_t *largest)
{
    kw_batch_iter it;
    kw_batch b;
    *records = 0;
    *largest = 0;
    kw__batch_iter_init(&it, buf, len, 0);
    while (kw__batch_next(&it, &b) == 1) {
        *records += b.records_count > 0 ? (size_t)b.records_count : 0;
        if (kw__batch_codec(&b) != 0) {
            *largest = 0; /* the compressed size says nothing of one record's */
            continue;
        }
        kw_record_iter ri;
        kw_record r;
        if (kw__record_iter_init(&ri, &b, NULL, 0, 0) != 0)
            continue;
        while (kw__record_next(&ri, &r) == 1) {
            size_t n = (r.key.len > 0 ? (size_t)r.key.len : 0) +
                       (r.value.len > 0 ? (size_t)r.value.len : 0) + r.headers_len;
            if (n > *largest)
                *largest = n;
        }
    }
}

void kw__too_large_format(char *out, size_t cap, const char *topic, int32_t partition, int16_t kerr,
                          size_t batch_len, size_t records, size_t largest, int64_t limit,
                          bool from_broker, const char *why_unknown)
{
    const char *name = kerr == KW_KERR_RECORD_LIST_TOO_LARGE ? "RECORD_LIST_TOO_LARGE"
                                                             : "MESSAGE_TOO_LARGE";
    const char *key = kerr == KW_KERR_RECORD_LIST_TOO_LARGE ? "segment.bytes" : "max.message.bytes";
    char rec[96] = "";
    if (largest > 0)
        snprintf(rec, sizeof(rec), ", its largest record %zu bytes", largest);
    char lim[160];
    if (limit >= 0)
        snprintf(lim, sizeof(lim), "topic %s's %s is %" PRId64 "%s", topic, key, limit,
                 !from_broker ? ""
                 : kerr == KW_KERR_RECORD_LIST_TOO_LARGE
                     ? " (the broker's log.segment.bytes: the topic sets none)"
                     : " (the broker's message.max.bytes: the topic sets none)");
    else
        snprintf(lim, sizeof(lim), "topic %s's %s is not known (%s)", topic, key,
                 why_unknown && *why_unknown ? why_unknown : "not asked");
    snprintf(out, cap,
             "%s: a batch of %zu bytes (%zu record%s%s) for %s/%" PRId32 " is over the limit; "
             "%s: raise it (kafka-configs --add-config %s=N) or write smaller records",
             name, batch_len, records, records == 1 ? "" : "s", rec, topic, partition, lim, key);
}

static void described(const kw_client_describe_configs_result *r, void *arg)
{
    explain *e = arg;
    const char *key =
        e->kerr == KW_KERR_RECORD_LIST_TOO_LARGE ? "segment.bytes" : "max.message.bytes";
    int64_t limit = -1;
    bool from_broker = false;
    const char *why = r->err ? (*r->detail ? r->detail : kw_strerror(r->err)) : "not in the answer";
    for (size_t i = 0; r->err == 0 && i < r->config_count; i++)
        if (r->configs[i].name && strcmp(r->configs[i].name, key) == 0 && r->configs[i].value) {
            char *end;
            long long v = strtoll(r->configs[i].value, &end, 10);
            if (end != r->configs[i].value && *end == '\0' && v >= 0) {
                limit = v;
                from_broker = r->configs[i].source != KW_CLIENT_CONFIG_TOPIC;
            }
        }
    char detail[KW_CLIENT_DETAIL_MAX];
    kw__too_large_format(detail, sizeof(detail), e->topic, e->partition, e->kerr, e->batch_len,
                         e->records, e->largest, limit, from_broker, why);
    e->done(e->arg, detail);
    free(e);
}

int kw__too_large_explain(kw_client *c, const char *topic, int32_t partition, int16_t kerr,
                          const uint8_t *batch, size_t batch_len, kw__too_large_cb *done,
                          void *arg)
{
    size_t tl = strlen(topic) + 1;
    explain *e = malloc(sizeof(*e) + tl);
    if (!e)
        return KW_ENOMEM;
    *e = (explain){.done = done, .arg = arg, .kerr = kerr, .partition = partition,
                   .batch_len = batch_len};
    memcpy(e->topic, topic, tl);
    measure(batch, batch_len, &e->records, &e->largest);
    const char *key =
        kerr == KW_KERR_RECORD_LIST_TOO_LARGE ? "segment.bytes" : "max.message.bytes";
    kw_client_describe_configs_args a = {.resource = KW_CLIENT_RESOURCE_TOPIC,
                                         .name = topic,
                                         .keys = &key,
                                         .key_count = 1,
                                         .timeout_ms = 5000};
    int rc = kw_client_describe_configs_async(c, &a, described, e);
    if (rc)
        free(e);
    return rc;
}
