/* Request/response frames, the registry of APIs kwal speaks, and version negotiation. */
#include "msg.h"

#include <stdio.h>

extern const kw_api kw__api_produce, kw__api_fetch, kw__api_list_offsets, kw__api_metadata,
    kw__api_offset_commit, kw__api_offset_fetch, kw__api_find_coordinator, kw__api_join_group,
    kw__api_heartbeat, kw__api_leave_group, kw__api_sync_group, kw__api_sasl_handshake,
    kw__api_api_versions, kw__api_create_topics, kw__api_delete_topics, kw__api_delete_records,
    kw__api_init_producer_id, kw__api_add_partitions_to_txn, kw__api_end_txn,
    kw__api_describe_configs, kw__api_sasl_authenticate, kw__api_create_partitions,
    kw__api_describe_groups, kw__api_list_groups, kw__api_add_offsets_to_txn,
    kw__api_txn_offset_commit, kw__api_consumer_group_heartbeat, kw__api_consumer_group_describe;

static const kw_api *const apis[] = {
    &kw__api_produce,
    &kw__api_fetch,
    &kw__api_list_offsets,
    &kw__api_metadata,
    &kw__api_offset_commit,
    &kw__api_offset_fetch,
    &kw__api_find_coordinator,
    &kw__api_join_group,
    &kw__api_heartbeat,
    &kw__api_leave_group,
    &kw__api_sync_group,
    &kw__api_describe_groups,
    &kw__api_list_groups,
    &kw__api_sasl_handshake,
    &kw__api_api_versions,
    &kw__api_create_topics,
    &kw__api_delete_topics,
    &kw__api_delete_records,
    &kw__api_init_producer_id,
    &kw__api_add_partitions_to_txn,
    &kw__api_add_offsets_to_txn,
    &kw__api_end_txn,
    &kw__api_txn_offset_commit,
    &kw__api_describe_configs,
    &kw__api_sasl_authenticate,
    &kw__api_create_partitions,
    &kw__api_consumer_group_heartbeat,
    &kw__api_consumer_group_describe,
};

const kw_api *const *kw__apis(size_t *n)
{
    *n = sizeof(apis) / sizeof(apis[0]);
    return apis;
}

const kw_api *kw__api(int key)
{
    for (size_t i = 0; i < sizeof(apis) / sizeof(apis[0]); i++)
        if (apis[i]->key == key)
            return apis[i];
    return NULL;
}

static bool version_ok(const kw_api *api, int ver)
{
    return ver >= api->vmin && ver <= api->vmax;
}

int kw__request_encode(kw_wr *w, const kw_api *api, int ver, int32_t correlation_id,
                       kw_str client_id, const void *req)
{
    if (!version_ok(api, ver))
        return w->err ? w->err : (w->err = KW_EINVAL);
    size_t start = w->len;
    kw__wr_i32(w, 0); /* size, patched below */
    kw__wr_i16(w, api->key);
    kw__wr_i16(w, (int16_t)ver);
    kw__wr_i32(w, correlation_id);
    /* client_id stays a classic nullable string even in header v2 */
    kw__wr_str(w, client_id, false);
    bool flex = kw__api_flexible(api, ver);
    if (kw__request_header_version(api, ver) >= 2)
        kw__wr_uvarint(w, 0); /* no tagged fields in the header */
    size_t refs_before = w->refs_len;
    kw__schema_encode(w, api->req, ver, flex, req);
    if (w->err)
        return w->err;
    /* referred records (kw__wr_refer_records) count in the size though not in the buffer */
    size_t size = w->len - start - 4 + (w->refs_len - refs_before);
    if (size > INT32_MAX)
        return w->err = KW_ETOOBIG;
    kw__wr_put_i32_at(w, start, (int32_t)size);
    return 0;
}

/* Tagged fields of a header: none are known, all are skipped. */
static void skip_tagged(kw_rd *r)
{
    uint32_t n = kw__rd_uvarint(r);
    for (uint32_t i = 0; i < n && !r->err; i++) {
        (void)kw__rd_uvarint(r);
        kw__rd_skip(r, kw__rd_uvarint(r));
    }
}

static int finish(kw_rd *r)
{
    if (!r->err && r->p != r->end)
        kw__rd_fail(r, KW_EMALFORMED);
    return r->err;
}

int kw__request_decode(const uint8_t *frame, size_t len, kw_arena *a, kw_request_header *hdr,
                       const kw_api **api_out, void *req, size_t req_size)
{
    kw_rd r = kw_rd_init(frame, len);
    hdr->api_key = kw__rd_i16(&r);
    hdr->api_version = kw__rd_i16(&r);
    hdr->correlation_id = kw__rd_i32(&r);
    hdr->client_id = kw__rd_str(&r, false, true);
    if (r.err)
        return r.err;
    const kw_api *api = kw__api(hdr->api_key);
    if (!api || !version_ok(api, hdr->api_version))
        return KW_EUNSUPPORTED;
    if (req_size < api->req->size)
        return KW_EINVAL;
    *api_out = api;
    if (kw__request_header_version(api, hdr->api_version) >= 2)
        skip_tagged(&r);
    kw__schema_decode(&r, api->req, hdr->api_version, kw__api_flexible(api, hdr->api_version), a,
                      req);
    return finish(&r);
}

int kw__response_encode(kw_wr *w, const kw_api *api, int ver, int32_t correlation_id,
                        const void *resp)
{
    if (!version_ok(api, ver))
        return w->err ? w->err : (w->err = KW_EINVAL);
    size_t start = w->len;
    kw__wr_i32(w, 0);
    kw__wr_i32(w, correlation_id);
    if (kw__response_header_version(api, ver) >= 1)
        kw__wr_uvarint(w, 0);
    kw__schema_encode(w, api->resp, ver, kw__api_flexible(api, ver), resp);
    if (w->err)
        return w->err;
    size_t size = w->len - start - 4;
    if (size > INT32_MAX)
        return w->err = KW_ETOOBIG;
    kw__wr_put_i32_at(w, start, (int32_t)size);
    return 0;
}

int kw__response_correlation_id(const uint8_t *frame, size_t len, int32_t *out)
{
    if (len < 4)
        return KW_ETRUNCATED;
    *out = (int32_t)kw_load_be32(frame);
    return 0;
}

int kw__response_decode(const uint8_t *frame, size_t len, const kw_api *api, int ver, kw_arena *a,
                        void *resp)
{
    if (!version_ok(api, ver))
        return KW_EINVAL;
    kw_rd r = kw_rd_init(frame, len);
    (void)kw__rd_i32(&r); /* correlation id: matched by the caller */
    if (kw__response_header_version(api, ver) >= 1)
        skip_tagged(&r);
    kw__schema_decode(&r, api->resp, ver, kw__api_flexible(api, ver), a, resp);
    return finish(&r);
}

void kw__versions_pick(kw_versions *out, const kw_api_range *ranges, size_t n)
{
    kw__versions_pick_capped(out, ranges, n, NULL);
}

void kw__versions_pick_capped(kw_versions *out, const kw_api_range *ranges, size_t n,
                              const kw_api_release *release)
{
    out->release = release;
    for (int k = 0; k <= KW_API_KEY_MAX; k++) {
        out->v[k] = -1;
        out->broker_min[k] = -1;
        out->broker_max[k] = -1;
    }
    for (size_t i = 0; i < n; i++) {
        int k = ranges[i].api_key;
        const kw_api *api = kw__api(k);
        if (!api || ranges[i].min_version > ranges[i].max_version)
            continue;
        out->broker_min[k] = ranges[i].min_version;
        out->broker_max[k] = ranges[i].max_version;
        int hi = ranges[i].max_version < api->vmax ? ranges[i].max_version : api->vmax;
        if (release && kw__api_release_max(release, k) < hi)
            hi = kw__api_release_max(release, k); /* -1 when the release lacks the API */
        int lo = ranges[i].min_version > api->vmin ? ranges[i].min_version : api->vmin;
        out->v[k] = hi >= lo ? (int16_t)hi : -1;
    }
}

int kw__versions_get(const kw_versions *v, int key, char *errbuf, size_t errlen)
{
    const kw_api *api = kw__api(key);
    if (!api || key < 0 || key > KW_API_KEY_MAX) {
        snprintf(errbuf, errlen, "kwal does not speak API key %d", key);
        return KW_EUNSUPPORTED;
    }
    if (v->v[key] >= 0)
        return v->v[key];
    int cap = v->release ? kw__api_release_max(v->release, key) : INT16_MAX;
    if (v->broker_max[key] < 0)
        snprintf(errbuf, errlen, "broker does not support %s (API key %d)", api->name, key);
    else if (cap < 0)
        snprintf(errbuf, errlen, "%s is not in Kafka %s, the api_version_max cap", api->name,
                 v->release->line);
    else if (cap < v->broker_min[key] || cap < api->vmin)
        snprintf(errbuf, errlen,
                 "no common version for %s: kwal speaks %d-%d, broker %d-%d, api_version_max "
                 "%s allows up to %d",
                 api->name, api->vmin, api->vmax, v->broker_min[key], v->broker_max[key],
                 v->release->line, cap);
    else
        snprintf(errbuf, errlen, "no common version for %s: kwal speaks %d-%d, broker %d-%d",
                 api->name, api->vmin, api->vmax, v->broker_min[key], v->broker_max[key]);
    return KW_EVERSION;
}
