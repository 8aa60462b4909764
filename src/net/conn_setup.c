/* A connection's setup: ApiVersions, then SASL when configured (KIP-368 re-authentication too). */
#include <stdio.h>

#include "net/conn_int.h"
#include "proto/msg_admin.h"
#include "proto/msg_core.h"

static void become_ready(kw_conn *c)
{
    c->phase = PH_READY;
    kw__loop_timer_stop(&c->phase_timer);
    if (c->api_release) /* say what the cap did: the data-path versions it chose */
        kw__conn_log(c, KW_LOG_DEBUG,
                     "connected to %s (%s); API versions capped at Kafka %s's: Produce v%d, "
                     "Fetch v%d, Metadata v%d, OffsetCommit v%d",
                     c->peer, c->addr_text, c->api_release->line, c->versions.v[KW_API_PRODUCE],
                     c->versions.v[KW_API_FETCH], c->versions.v[KW_API_METADATA],
                     c->versions.v[KW_API_OFFSET_COMMIT]);
    else
        kw__conn_log(c, KW_LOG_DEBUG,
                     "connected to %s (%s); API versions: Produce v%d, Fetch v%d, Metadata v%d, "
                     "OffsetCommit v%d",
                     c->peer, c->addr_text, c->versions.v[KW_API_PRODUCE],
                     c->versions.v[KW_API_FETCH], c->versions.v[KW_API_METADATA],
                     c->versions.v[KW_API_OFFSET_COMMIT]);
    if (c->on_state)
        c->on_state(c, KW_CONN_READY, 0, NULL, c->state_arg);
    kw__conn_pump(c);
}

static void on_sasl_handshake(int err, const uint8_t *frame, size_t len, int ver, void *arg);
static void on_sasl_auth(int err, const uint8_t *frame, size_t len, int ver, void *arg);

static void send_sasl_handshake(kw_conn *c)
{
    int ver = kw__versions_get(&c->versions, KW_API_SASL_HANDSHAKE, c->errstr, sizeof(c->errstr));
    int aver =
        kw__versions_get(&c->versions, KW_API_SASL_AUTHENTICATE, c->errstr, sizeof(c->errstr));
    if (ver < 1 || aver < 0) {
        /* Handshake v0 means raw SASL tokens without SaslAuthenticate: not supported. */
        kw__conn_fail(c, KW_ESASL, KW_ESASL,
                      "%s does not offer SaslHandshake v1 and SaslAuthenticate", c->peer);
        return;
    }
    c->sasl_auth_ver = (int16_t)aver;
    kw_sasl_handshake_req req = {.mechanism = kw_str_c(kw__sasl_mechanism(&c->sasl))};
    kw__conn_send_internal(c, KW_API_SASL_HANDSHAKE, ver > 1 ? 1 : ver, &req, on_sasl_handshake);
}

static void send_sasl_auth(kw_conn *c, const uint8_t *msg, size_t len)
{
    kw_sasl_authenticate_req req = {.auth_bytes = {msg, (int32_t)len}};
    kw__conn_send_internal(c, KW_API_SASL_AUTHENTICATE, c->sasl_auth_ver, &req, on_sasl_auth);
}

static void on_sasl_handshake(int err, const uint8_t *frame, size_t len, int ver, void *arg)
{
    kw_conn *c = arg;
    if (err)
        return; /* the connection is closing; it says why */
    kw_arena a;
    kw__arena_init(&a, SETUP_ARENA_LIMIT);
    kw_sasl_handshake_resp resp;
    int rc = kw__conn_decode(frame, len, KW_API_SASL_HANDSHAKE, ver, &a, &resp);
    if (rc) {
        kw__conn_fail(c, rc, KW_EIO, "cannot decode SaslHandshake from %s: %s", c->peer,
                      kw_strerror(rc));
    } else if (resp.error_code) {
        char offered[256] = "";
        size_t o = 0;
        for (int32_t i = 0; i < resp.mechanisms.n && o < sizeof(offered); i++)
            o += (size_t)snprintf(offered + o, sizeof(offered) - o, "%s%.*s", i ? ", " : "",
                                  (int)resp.mechanisms.v[i].len, resp.mechanisms.v[i].ptr);
        kw__conn_fail(c, KW_ESASL, KW_ESASL,
                      "SASL mechanism %s is not enabled on %s (error %d; it offers: %s)",
                      kw__sasl_mechanism(&c->sasl), c->peer, resp.error_code,
                      offered[0] ? offered : "none");
    } else {
        const uint8_t *msg;
        size_t mlen;
        rc = kw__sasl_start(&c->sasl, &msg, &mlen);
        if (rc)
            kw__conn_fail(c, rc, KW_ESASL, "%s", kw__sasl_errstr(&c->sasl));
        else
            send_sasl_auth(c, msg, mlen);
    }
    kw__arena_reset(&a);
}

void kw__conn_on_reauth_timer(kw_loop_timer *t, void *arg);

/* The credential document arrived (or did not): authenticate with it, or fail the connection. */
static void on_cred(int err, const char *detail, kw_cred_doc *doc, void *arg)
{
    kw_conn *c = arg;
    c->cred_job = NULL;
    kw__conn_enter(c);
    if (err) {
        int rc = kw__sasl_cred_failed(&c->sasl, err, detail);
        kw__conn_fail(c, rc, rc, "%s", kw__sasl_errstr(&c->sasl));
    } else {
        kw__sasl_set_cred(&c->sasl, doc);
        send_sasl_handshake(c);
    }
    kw__conn_leave(c);
}

/*
 * Every exchange, first or KIP-368 re-authentication, starts here: with a
 * credential source the document is fetched anew first (off the loop for
 * HTTP; the loop keeps serving other connections meanwhile), then the
 * handshake goes out.  Requests wait while reauthing is set.
 */
static void begin_sasl(kw_conn *c)
{
    kw_cred_source *src = kw__sasl_cred_source(&c->sasl);
    if (!src) {
        send_sasl_handshake(c);
        return;
    }
    int rc = kw__cred_fetch(src, on_cred, c, &c->cred_job);
    if (rc) {
        char detail[256];
        snprintf(detail, sizeof(detail), "cannot ask %s for credentials: %s",
                 kw__cred_source_name(src), kw_strerror(rc));
        rc = kw__sasl_cred_failed(&c->sasl, rc, detail);
        kw__conn_fail(c, rc, rc, "%s", kw__sasl_errstr(&c->sasl));
    }
}

static void sasl_done(kw_conn *c, int64_t lifetime_ms)
{
    if (c->session_cap_ms && (lifetime_ms <= 0 || lifetime_ms > (int64_t)c->session_cap_ms))
        lifetime_ms = c->session_cap_ms;
    if (lifetime_ms > 0) {
        /* KIP-368: re-authenticate at 85-95 % of the session, jittered so connections spread out.
         */
        uint64_t permille = 850 + kw__conn_random(c) % 101;
        kw__loop_timer_start(&c->reauth_timer, (uint64_t)lifetime_ms * permille / 1000);
    }
    if (c->reauthing) {
        c->reauthing = false;
        c->reauth_count++;
        kw__conn_log(c, KW_LOG_DEBUG, "re-authenticated with %s", c->peer);
        kw__conn_pump(c);
    } else {
        become_ready(c);
    }
}

static void on_sasl_auth(int err, const uint8_t *frame, size_t len, int ver, void *arg)
{
    kw_conn *c = arg;
    if (err)
        return;
    kw_arena a;
    kw__arena_init(&a, SETUP_ARENA_LIMIT);
    kw_sasl_authenticate_resp resp;
    int rc = kw__conn_decode(frame, len, KW_API_SASL_AUTHENTICATE, ver, &a, &resp);
    if (rc) {
        kw__conn_fail(c, rc, KW_EIO, "cannot decode SaslAuthenticate from %s: %s", c->peer,
                      kw_strerror(rc));
    } else if (resp.error_code) {
        rc = kw__sasl_server_error(&c->sasl, resp.error_message.ptr,
                                   resp.error_message.len > 0 ? (size_t)resp.error_message.len : 0);
        kw__conn_fail(c, rc, rc, "%s", kw__sasl_errstr(&c->sasl));
    } else {
        const uint8_t *out;
        size_t olen;
        rc = kw__sasl_step(&c->sasl, resp.auth_bytes.ptr,
                           resp.auth_bytes.len > 0 ? (size_t)resp.auth_bytes.len : 0, &out, &olen);
        if (rc < 0)
            kw__conn_fail(c, rc, rc, "%s", kw__sasl_errstr(&c->sasl));
        else if (rc == KW_SASL_CONTINUE)
            send_sasl_auth(c, out, olen);
        else
            sasl_done(c, ver >= 1 ? resp.session_lifetime_ms : 0);
    }
    kw__arena_reset(&a);
}

void kw__conn_on_reauth_timer(kw_loop_timer *t, void *arg)
{
    kw_conn *c = arg;
    (void)t;
    kw__conn_enter(c);
    if (c->phase == PH_READY && !c->reauthing) {
        /* Queued requests wait (kw__conn_pump stops) so none is sent between the SASL messages. */
        c->reauthing = true;
        kw__conn_log(c, KW_LOG_DEBUG, "re-authenticating with %s", c->peer);
        begin_sasl(c);
    }
    kw__conn_leave(c);
}

static void send_api_versions(kw_conn *c, int ver);

static void on_api_versions(int err, const uint8_t *frame, size_t len, int ver, void *arg)
{
    kw_conn *c = arg;
    if (err)
        return;
    /* The response header is v0 (4 bytes) at every version; the error code leads every body. */
    if (len < 6) {
        kw__conn_fail(c, KW_EMALFORMED, KW_EIO, "%s sent a short ApiVersions response", c->peer);
        return;
    }
    int16_t ec = (int16_t)kw_load_be16(frame + 4);
    kw_arena a;
    kw__arena_init(&a, SETUP_ARENA_LIMIT);
    kw_api_versions_resp resp;
    if (ec == 35 && ver > 0) {
        /* UNSUPPORTED_VERSION comes with a v0 body listing what the broker does speak. */
        int rc = kw__conn_decode(frame, len, KW_API_API_VERSIONS, 0, &a, &resp);
        int retry = -1;
        for (int32_t i = 0; rc == 0 && i < resp.api_keys.n; i++)
            if (resp.api_keys.v[i].api_key == KW_API_API_VERSIONS)
                retry = resp.api_keys.v[i].max_version;
        kw__arena_reset(&a);
        if (retry >= 0 && retry < ver) {
            send_api_versions(c, retry);
        } else {
            kw__conn_fail(c, KW_EVERSION, KW_EVERSION,
                          "%s refused ApiVersions v%d and offered no lower version", c->peer, ver);
        }
        return;
    }
    int rc = kw__conn_decode(frame, len, KW_API_API_VERSIONS, ver, &a, &resp);
    if (rc || ec) {
        if (rc)
            kw__conn_fail(c, rc, KW_EIO, "cannot decode ApiVersions v%d from %s: %s", ver, c->peer,
                          kw_strerror(rc));
        else
            kw__conn_fail(c, KW_EBROKER, KW_EIO, "ApiVersions to %s failed with error %d", c->peer,
                          ec);
        kw__arena_reset(&a);
        return;
    }
    kw_api_range ranges[256];
    size_t n = 0;
    for (int32_t i = 0; i < resp.api_keys.n && n < 256; i++, n++) {
        ranges[n].api_key = resp.api_keys.v[i].api_key;
        ranges[n].min_version = resp.api_keys.v[i].min_version;
        ranges[n].max_version = resp.api_keys.v[i].max_version;
    }
    kw__versions_pick_capped(&c->versions, ranges, n, c->api_release);
    /* AddPartitionsToTxn v4+ is the brokers' batched form (authorized by CLUSTER_ACTION,
     * skipping the transactional id's WRITE check): a client speaks v3 at most */
    int16_t *add = &c->versions.v[KW_API_ADD_PARTITIONS_TO_TXN];
    if (*add > 3)
        *add = c->versions.broker_min[KW_API_ADD_PARTITIONS_TO_TXN] <= 3 ? 3 : -1;
    kw__arena_reset(&a);
    if (c->has_sasl)
        begin_sasl(c);
    else
        become_ready(c);
}

static void send_api_versions(kw_conn *c, int ver)
{
    kw_api_versions_req req = {.client_software_name = kw_str_c("kwal"),
                               .client_software_version = kw_str_c("0.1.0")};
    c->api_versions_ver = (int16_t)ver;
    kw__conn_send_internal(c, KW_API_API_VERSIONS, ver, &req, on_api_versions);
}

void kw__conn_start_setup(kw_conn *c)
{
    c->phase = PH_SETUP;
    kw__loop_timer_stop(&c->phase_timer);
    /* ApiVersions itself goes no newer than the release cap, as that release's client would */
    int ver = kw__api(KW_API_API_VERSIONS)->vmax;
    if (c->api_release && kw__api_release_max(c->api_release, KW_API_API_VERSIONS) < ver)
        ver = kw__api_release_max(c->api_release, KW_API_API_VERSIONS);
    send_api_versions(c, ver);
}
