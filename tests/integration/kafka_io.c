/* A small blocking socket helper for the codec's integration tests (the real client lives in src/net). */
#include "kafka_io.h"
#include "proto/msg_admin.h"
#include "proto/msg_data.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

const char *kt_bootstrap(void)
{
    const char *b = getenv("KWAL_BOOTSTRAP");
    return b && *b ? b : "127.0.0.1:19092";
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void capture(int api_key, int ver, const uint8_t *frame, size_t len)
{
    const char *dir = getenv("KWAL_CAPTURE_DIR");
    const kw_api *api = kw__api(api_key);
    if (!dir || !*dir || !api || len > (1u << 20))
        return;
    /* target directory resp_<snake_case name> */
    char name[64] = "resp_";
    size_t o = strlen(name);
    for (const char *s = api->name; *s && o < sizeof(name) - 2; s++) {
        if (*s >= 'A' && *s <= 'Z') {
            if (s != api->name)
                name[o++] = '_';
            name[o++] = (char)(*s - 'A' + 'a');
        } else {
            name[o++] = *s;
        }
    }
    name[o] = 0;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    mkdir(dir, 0755);
    mkdir(path, 0755);
    /* name files by content so repeated runs do not pile up duplicates */
    uint64_t h = 1469598103934665603ull ^ (uint64_t)ver;
    for (size_t i = 0; i < len; i++)
        h = (h ^ frame[i]) * 1099511628211ull;
    snprintf(path, sizeof(path), "%s/%s/v%d-%016llx", dir, name, ver, (unsigned long long)h);
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    uint8_t v = (uint8_t)ver;
    fwrite(&v, 1, 1, f);
    fwrite(frame, 1, len, f);
    fclose(f);
}

static int roundtrip(kt_conn *c, int api_key, int ver, const void *req)
{
    const kw_api *api = kw__api(api_key);
    if (!api)
        return KW_EINVAL;
    kw_wr w;
    kw__wr_init(&w);
    int32_t corr = c->next_corr++;
    int rc = kw__request_encode(&w, api, ver, corr, kw_str_c("kwal-test"), req);
    if (rc == 0 && write_all(c->fd, w.buf, w.len) != 0)
        rc = KW_EIO;
    kw__wr_free(&w);
    if (rc)
        return rc;
    uint8_t szb[4];
    if (read_all(c->fd, szb, 4) != 0)
        return KW_EIO;
    uint32_t size = kw_load_be32(szb);
    if (size > (256u << 20))
        return KW_ETOOBIG;
    free(c->frame);
    c->frame = malloc(size ? size : 1);
    c->frame_len = size;
    if (!c->frame || read_all(c->fd, c->frame, size) != 0)
        return KW_EIO;
    int32_t got = 0;
    if (kw__response_correlation_id(c->frame, size, &got) != 0 || got != corr)
        return KW_EMALFORMED;
    capture(api_key, ver, c->frame, size);
    return 0;
}

int kt_call(kt_conn *c, int api_key, int ver, const void *req, kw_arena *a, void *resp)
{
    int rc = roundtrip(c, api_key, ver, req);
    if (rc)
        return rc;
    return kw__response_decode(c->frame, c->frame_len, kw__api(api_key), ver, a, resp);
}

int kt_connect(kt_conn *c, const char *hostport)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->next_corr = 1;
    char host[256];
    snprintf(host, sizeof(host), "%s", hostport);
    char *colon = strrchr(host, ':');
    if (!colon)
        return -1;
    *colon = 0;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
        return -1;
    for (struct addrinfo *ai = res; ai && c->fd < 0; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype, 0);
        if (fd < 0)
            continue;
        struct timeval tv = {.tv_sec = 30};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            c->fd = fd;
        else
            close(fd);
    }
    freeaddrinfo(res);
    if (c->fd < 0)
        return -1;
    /* ApiVersions at the highest version kwal speaks; the broker answers in v0 if it is older. */
    kw_api_versions_req req = {kw_str_c("kwal-test"), kw_str_c("0.1")};
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_api_versions_resp resp;
    int rc = kt_call(c, KW_API_API_VERSIONS, kw__api(KW_API_API_VERSIONS)->vmax, &req, &a, &resp);
    if (rc == 0 && resp.error_code == 0) {
        kw_api_range *r = calloc((size_t)resp.api_keys.n + 1, sizeof(*r));
        for (int32_t i = 0; i < resp.api_keys.n; i++)
            r[i] = (kw_api_range){resp.api_keys.v[i].api_key, resp.api_keys.v[i].min_version,
                                  resp.api_keys.v[i].max_version};
        kw__versions_pick(&c->versions, r, (size_t)resp.api_keys.n);
        free(r);
    } else {
        rc = -1;
    }
    kw__arena_reset(&a);
    if (rc)
        kt_close(c);
    return rc ? -1 : 0;
}

void kt_close(kt_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->frame);
    c->frame = NULL;
}

int kt_version(kt_conn *c, int api_key)
{
    char err[200];
    int v = kw__versions_get(&c->versions, api_key, err, sizeof(err));
    if (v < 0)
        fprintf(stderr, "kt_version: %s\n", err);
    return v;
}

int kt_min_version(kt_conn *c, int api_key)
{
    const kw_api *api = kw__api(api_key);
    int lo = c->versions.broker_min[api_key];
    return lo > api->vmin ? lo : api->vmin;
}

int kt_wait_topic(kt_conn *c, const char *topic)
{
    /* By the clock, not by a number of tries: a loaded broker (or machine) answers Metadata
     * slowly, and 100 tries of 100 ms were under 10 s of waiting for the leaders. */
    int ver = kt_version(c, KW_API_METADATA);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char last[160] = "no answer";
    for (;;) {
        kw_metadata_req_topic t = {.name = kw_str_c(topic)};
        kw_metadata_req req;
        kw__schema_init(kw__api(KW_API_METADATA)->req, ver, &req);
        req.topics.v = &t;
        req.topics.n = 1;
        req.allow_auto_topic_creation = false;
        kw_arena a;
        kw__arena_init(&a, 0);
        kw_metadata_resp resp;
        bool ready = false;
        int rc = kt_call(c, KW_API_METADATA, ver, &req, &a, &resp);
        if (rc != 0) {
            snprintf(last, sizeof(last), "Metadata v%d failed: %s", ver, kw_err_name(rc));
        } else if (resp.topics.n != 1) {
            snprintf(last, sizeof(last), "Metadata answered %d topics", (int)resp.topics.n);
        } else if (resp.topics.v[0].error_code != 0 || resp.topics.v[0].partitions.n <= 0) {
            snprintf(last, sizeof(last), "topic error %d, %d partitions",
                     resp.topics.v[0].error_code, (int)resp.topics.v[0].partitions.n);
        } else {
            ready = true;
            for (int32_t i = 0; i < resp.topics.v[0].partitions.n; i++)
                ready &= resp.topics.v[0].partitions.v[i].leader_id >= 0 &&
                         resp.topics.v[0].partitions.v[i].error_code == 0;
            if (!ready)
                snprintf(last, sizeof(last), "a partition has no leader yet");
        }
        kw__arena_reset(&a);
        if (ready)
            return 0;
        if (rc != 0) { /* the connection failed mid-call: its stream is lost, asking again cannot help */
            fprintf(stderr, "kt_wait_topic %s: %s\n", topic, last);
            return -1;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 > 30000) {
            fprintf(stderr, "kt_wait_topic %s: no leader for every partition after 30 s: %s\n",
                    topic, last);
            return -1;
        }
        usleep(100 * 1000);
    }
}

int kt_topic_id(kt_conn *c, const char *topic, kw_uuid *id)
{
    int ver = kt_version(c, KW_API_METADATA);
    kw_metadata_req_topic t = {.name = kw_str_c(topic)};
    kw_metadata_req req;
    kw__schema_init(kw__api(KW_API_METADATA)->req, ver, &req);
    req.topics.v = &t;
    req.topics.n = 1;
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_metadata_resp resp;
    int rc = -1;
    if (kt_call(c, KW_API_METADATA, ver, &req, &a, &resp) == 0 && resp.topics.n == 1 &&
        resp.topics.v[0].error_code == 0) {
        *id = resp.topics.v[0].topic_id;
        rc = 0;
    }
    kw__arena_reset(&a);
    return rc;
}

int kt_list_offset(kt_conn *c, const char *topic, int ver, int64_t ts, int64_t *out)
{
    kw_list_offsets_req_partition p = {.partition_index = 0, .current_leader_epoch = -1,
                                       .timestamp = ts, .max_num_offsets = 1};
    kw_list_offsets_req_topic t = {.name = kw_str_c(topic)};
    t.partitions.v = &p;
    t.partitions.n = 1;
    kw_list_offsets_req req;
    kw__schema_init(kw__api(KW_API_LIST_OFFSETS)->req, ver, &req);
    req.replica_id = -1;
    req.timeout_ms = 10000;
    req.topics.v = &t;
    req.topics.n = 1;
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_list_offsets_resp resp;
    int rc = kt_call(c, KW_API_LIST_OFFSETS, ver, &req, &a, &resp);
    if (rc == 0 && (resp.topics.n != 1 || resp.topics.v[0].partitions.n != 1))
        rc = KW_EMALFORMED;
    if (rc == 0) {
        rc = resp.topics.v[0].partitions.v[0].error_code;
        *out = resp.topics.v[0].partitions.v[0].offset;
    }
    kw__arena_reset(&a);
    return rc;
}

int kt_create_topic(kt_conn *c, const char *topic, int partitions)
{
    int ver = kt_version(c, KW_API_CREATE_TOPICS);
    kw_create_topics_req_topic t = {.name = kw_str_c(topic), .num_partitions = partitions,
                                    .replication_factor = 1};
    kw_create_topics_req req;
    kw__schema_init(kw__api(KW_API_CREATE_TOPICS)->req, ver, &req);
    req.topics.v = &t;
    req.topics.n = 1;
    req.timeout_ms = 30000;
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_create_topics_resp resp;
    int rc = kt_call(c, KW_API_CREATE_TOPICS, ver, &req, &a, &resp);
    if (rc == 0 && resp.topics.n == 1 && resp.topics.v[0].error_code != 36)
        rc = resp.topics.v[0].error_code;
    kw__arena_reset(&a);
    return rc ? rc : kt_wait_topic(c, topic);
}

int kt_delete_records(kt_conn *c, const char *topic, int64_t offset)
{
    kw_delete_records_req_partition p = {.partition_index = 0, .offset = offset};
    kw_delete_records_req_topic t = {.name = kw_str_c(topic)};
    t.partitions.v = &p;
    t.partitions.n = 1;
    kw_delete_records_req req = {.timeout_ms = 10000};
    req.topics.v = &t;
    req.topics.n = 1;
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_delete_records_resp resp;
    int rc = kt_call(c, KW_API_DELETE_RECORDS, kt_version(c, KW_API_DELETE_RECORDS), &req, &a,
                     &resp);
    if (rc == 0)
        rc = resp.topics.v[0].partitions.v[0].error_code;
    kw__arena_reset(&a);
    return rc;
}

int kt_produce(kt_conn *c, const char *topic, const uint8_t *batch, size_t len, int64_t *base)
{
    int ver = kt_version(c, KW_API_PRODUCE);
    kw_produce_req_partition p = {.index = 0, .records = {batch, (int32_t)len}};
    kw_produce_req_topic t = {.name = kw_str_c(topic)};
    t.partition_data.v = &p;
    t.partition_data.n = 1;
    kw_produce_req req;
    kw__schema_init(kw__api(KW_API_PRODUCE)->req, ver, &req);
    req.acks = -1;
    req.timeout_ms = 30000;
    req.topic_data.v = &t;
    req.topic_data.n = 1;
    kw_arena a;
    kw__arena_init(&a, 0);
    kw_produce_resp resp;
    int rc = kt_call(c, KW_API_PRODUCE, ver, &req, &a, &resp);
    if (rc == 0) {
        rc = resp.responses.v[0].partition_responses.v[0].error_code;
        if (base)
            *base = resp.responses.v[0].partition_responses.v[0].base_offset;
    }
    kw__arena_reset(&a);
    return rc;
}
