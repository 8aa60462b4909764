/* Kafka request/response framing: headers chosen per API version, the API registry, version negotiation. */
#ifndef KW_PROTO_MSG_H
#define KW_PROTO_MSG_H

#include "api_release.h"
#include "schema.h"

/* The APIs kwal speaks, by Kafka API key. */
enum kw_api_key {
    KW_API_PRODUCE = 0,
    KW_API_FETCH = 1,
    KW_API_LIST_OFFSETS = 2,
    KW_API_METADATA = 3,
    KW_API_OFFSET_COMMIT = 8,
    KW_API_OFFSET_FETCH = 9,
    KW_API_FIND_COORDINATOR = 10,
    KW_API_JOIN_GROUP = 11,
    KW_API_HEARTBEAT = 12,
    KW_API_LEAVE_GROUP = 13,
    KW_API_SYNC_GROUP = 14,
    KW_API_DESCRIBE_GROUPS = 15,
    KW_API_LIST_GROUPS = 16,
    KW_API_SASL_HANDSHAKE = 17,
    KW_API_API_VERSIONS = 18,
    KW_API_CREATE_TOPICS = 19,
    KW_API_DELETE_TOPICS = 20,
    KW_API_DELETE_RECORDS = 21,
    KW_API_INIT_PRODUCER_ID = 22,
    KW_API_ADD_PARTITIONS_TO_TXN = 24,
    KW_API_ADD_OFFSETS_TO_TXN = 25,
    KW_API_END_TXN = 26,
    KW_API_TXN_OFFSET_COMMIT = 28,
    KW_API_DESCRIBE_CONFIGS = 32,
    KW_API_SASL_AUTHENTICATE = 36,
    KW_API_CREATE_PARTITIONS = 37,
    KW_API_CONSUMER_GROUP_HEARTBEAT = 68,
    KW_API_CONSUMER_GROUP_DESCRIBE = 69,
    KW_API_KEY_MAX = 69
};
_Static_assert(KW_API_KEY_MAX < KW_API_RELEASE_KEYS, "the release table must cover every API key");

/* The API with this key, or NULL when kwal does not speak it. */
const kw_api *kw__api(int key);
/* Every API kwal speaks, in key order; *n gets the count. */
const kw_api *const *kw__apis(size_t *n);

static inline bool kw__api_flexible(const kw_api *api, int ver)
{
    return ver >= api->flex;
}
/* Request header v2 for flexible versions, else v1. */
static inline int kw__request_header_version(const kw_api *api, int ver)
{
    return kw__api_flexible(api, ver) ? 2 : 1;
}
/* Response header v1 for flexible versions, else v0; ApiVersions always answers with v0 so a
 * client that sent a version the broker does not know can still read the answer. */
static inline int kw__response_header_version(const kw_api *api, int ver)
{
    return api->key != KW_API_API_VERSIONS && kw__api_flexible(api, ver) ? 1 : 0;
}

typedef struct kw_request_header {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    kw_str client_id;
} kw_request_header;

/*
 * Appends one whole request frame to w: the int32 size, the header and the
 * body.  With records referral on (kw__wr_refer_records) the large record
 * batches are referred to, not copied, and the size counts them.  Returns 0
 * or KW_EINVAL (version out of range, a null where none is allowed),
 * KW_ENOMEM, KW_ETOOBIG.
 */
int kw__request_encode(kw_wr *w, const kw_api *api, int ver, int32_t correlation_id,
                       kw_str client_id, const void *req);

/*
 * Decodes a request frame (without its size prefix): the header, then the
 * body for the API and version it names.  *api_out gets the API.  Used by the
 * tests and the test proxy; a broker-side tool could use it too.
 */
int kw__request_decode(const uint8_t *frame, size_t len, kw_arena *a, kw_request_header *hdr,
                       const kw_api **api_out, void *req, size_t req_size);

/* Appends one whole response frame (size, header, body): the broker side, for tests. */
int kw__response_encode(kw_wr *w, const kw_api *api, int ver, int32_t correlation_id,
                        const void *resp);

/* The correlation id of a response frame (without its size prefix), or KW_ETRUNCATED. */
int kw__response_correlation_id(const uint8_t *frame, size_t len, int32_t *out);

/*
 * Decodes a response frame (without its size prefix) for api at version ver
 * into resp; arrays come from a, strings and bytes point into frame.  Bytes
 * left over after the body are an error (KW_EMALFORMED).
 */
int kw__response_decode(const uint8_t *frame, size_t len, const kw_api *api, int ver, kw_arena *a,
                        void *resp);

/*
 * The version chosen per API key after ApiVersions: -1 when the broker does
 * not offer the API or no version is common to both sides (and the release
 * cap, when there is one).
 */
typedef struct kw_versions {
    int16_t v[KW_API_KEY_MAX + 1];
    int16_t broker_min[KW_API_KEY_MAX + 1];
    int16_t broker_max[KW_API_KEY_MAX + 1];
    const kw_api_release *release; /* the cap (const table data), NULL for none */
} kw_versions;

/* One (api key, min, max) the broker reported. */
typedef struct kw_api_range {
    int16_t api_key;
    int16_t min_version;
    int16_t max_version;
} kw_api_range;

/* Picks the highest common version for each API kwal speaks. */
void kw__versions_pick(kw_versions *out, const kw_api_range *ranges, size_t n);

/*
 * The same, but no version newer than release has (kw_client_options'
 * api_version_max): min(broker max, kwal max, release max).  An API the
 * release lacks gets no version.  release NULL: no cap.
 */
void kw__versions_pick_capped(kw_versions *out, const kw_api_range *ranges, size_t n,
                              const kw_api_release *release);

/*
 * The version to use for key, or a negative error with a message in errbuf
 * naming the API: "broker does not support Produce" or "no common version for
 * Fetch: kwal speaks 4-12, broker 13-18".
 */
int kw__versions_get(const kw_versions *v, int key, char *errbuf, size_t errlen);

#endif /* KW_PROTO_MSG_H */
