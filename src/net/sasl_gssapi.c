/* SASL GSSAPI (Kerberos) through cyrus-sasl: one exchange, its tokens in and out. */
#include "net/sasl_gssapi.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gssapi/gssapi.h>
#include <sasl/sasl.h>

#include "kwal/error.h"

struct kw_gssapi {
    sasl_conn_t *conn;
    gss_cred_id_t cred; /* ours, handed to cyrus-sasl (what it acquires, it never releases) */
};

/* cyrus-sasl serialises its shared state through these once they are set. */
static void *mutex_alloc(void)
{
    pthread_mutex_t *m = malloc(sizeof(*m));
    if (m)
        pthread_mutex_init(m, NULL);
    return m;
}

static int mutex_lock(void *m)
{
    return m && pthread_mutex_lock(m) == 0 ? 0 : -1;
}

static int mutex_unlock(void *m)
{
    return m && pthread_mutex_unlock(m) == 0 ? 0 : -1;
}

static void mutex_free(void *m)
{
    if (m) {
        pthread_mutex_destroy(m);
        free(m);
    }
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc = SASL_FAIL;

static void init_cyrus(void)
{
    sasl_set_mutex(mutex_alloc, mutex_lock, mutex_unlock, mutex_free);
    init_rc = sasl_client_init(NULL);
}

/* No authorization identity: the broker uses the ticket's principal. */
static int get_user(void *ctx, int id, const char **result, unsigned *len)
{
    (void)ctx;
    if (id != SASL_CB_USER && id != SASL_CB_AUTHNAME)
        return SASL_FAIL;
    *result = "";
    if (len)
        *len = 0;
    return SASL_OK;
}

static const sasl_callback_t callbacks[] = {
    {SASL_CB_USER, (int (*)(void))(void (*)(void))get_user, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

static int fail(kw_gssapi *g, int cyrus_rc, char *err, size_t errlen, const char *what)
{
    const char *detail =
        g && g->conn ? sasl_errdetail(g->conn) : sasl_errstring(cyrus_rc, NULL, NULL);
    /* "SASL(-1): generic failure: GSSAPI Error: No credentials ... (No Kerberos credentials
     * available (default cache: ...))": the Kerberos part is what says what to do. */
    const char *gss = detail ? strstr(detail, "GSSAPI Error: ") : NULL;
    if (gss)
        detail = gss + strlen("GSSAPI Error: ");
    if (cyrus_rc == SASL_NOMECH)
        snprintf(err, errlen,
                 "%s: cyrus-sasl has no GSSAPI plugin (Debian: libsasl2-modules-gssapi-mit)", what);
    else
        snprintf(err, errlen, "%s: %s", what, detail ? detail : "cyrus-sasl failed");
    return cyrus_rc == SASL_NOMEM ? KW_ENOMEM : KW_ESASL;
}

/* "no Kerberos ticket for kafka/host: <the GSS major status> (<the Kerberos minor status>)" */
static void gss_describe(OM_uint32 major, OM_uint32 minor, char *err, size_t errlen,
                         const char *service, const char *host)
{
    int n = snprintf(err, errlen, "no Kerberos ticket for %s/%s: ", service, host);
    if (n < 0 || (size_t)n >= errlen)
        return;
    size_t at = (size_t)n;
    for (int pass = 0; pass < 2; pass++) {
        OM_uint32 ctx = 0, min2;
        gss_buffer_desc msg = GSS_C_EMPTY_BUFFER;
        gss_display_status(&min2, pass ? minor : major, pass ? GSS_C_MECH_CODE : GSS_C_GSS_CODE,
                           GSS_C_NO_OID, &ctx, &msg);
        n = snprintf(err + at, errlen - at, pass ? " (%.*s)" : "%.*s", (int)msg.length,
                     msg.value ? (const char *)msg.value : "");
        gss_release_buffer(&min2, &msg);
        if (n < 0 || (size_t)n >= errlen - at)
            return;
        at += (size_t)n;
    }
}

int kw__gssapi_start(kw_gssapi **out_g, const char *service, const char *host, const uint8_t **out,
                     size_t *outlen, char *err, size_t errlen)
{
    *out_g = NULL;
    *out = NULL;
    *outlen = 0;
    pthread_once(&init_once, init_cyrus);
    if (init_rc != SASL_OK)
        return fail(NULL, init_rc, err, errlen, "cannot initialise cyrus-sasl");
    kw_gssapi *g = calloc(1, sizeof(*g));
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return KW_ENOMEM;
    }
    int rc = sasl_client_new(service, host, NULL, NULL, callbacks, 0, &g->conn);
    if (rc != SASL_OK) {
        rc = fail(g, rc, err, errlen, "cannot start a GSSAPI exchange");
        kw__gssapi_free(g);
        return rc;
    }
    /* The credential cache's default credential, acquired here and released with the exchange. */
    OM_uint32 minor = 0;
    OM_uint32 major = gss_acquire_cred(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, GSS_C_NO_OID_SET,
                                       GSS_C_INITIATE, &g->cred, NULL, NULL);
    if (GSS_ERROR(major)) {
        gss_describe(major, minor, err, errlen, service, host);
        kw__gssapi_free(g);
        return KW_ESASL;
    }
    sasl_setprop(g->conn, SASL_GSS_CREDS, g->cred);
    /* Authentication only: Kafka has no SASL security layer (its QOP is "auth"). */
    sasl_security_properties_t sp = {.min_ssf = 0, .max_ssf = 0, .maxbufsize = 0};
    sasl_setprop(g->conn, SASL_SEC_PROPS, &sp);
    const char *data = NULL, *mech = NULL;
    unsigned len = 0;
    rc = sasl_client_start(g->conn, "GSSAPI", NULL, &data, &len, &mech);
    if (rc != SASL_OK && rc != SASL_CONTINUE) {
        char what[600];
        snprintf(what, sizeof(what), "no Kerberos ticket for %s/%s", service, host);
        rc = fail(g, rc, err, errlen, what);
        kw__gssapi_free(g);
        return rc;
    }
    if (!data || len == 0) {
        snprintf(err, errlen, "cyrus-sasl GSSAPI gave no initial token");
        kw__gssapi_free(g);
        return KW_ESASL;
    }
    *out = (const uint8_t *)data;
    *outlen = len;
    *out_g = g;
    return 0;
}

int kw__gssapi_step(kw_gssapi *g, const void *in, size_t len, const uint8_t **out, size_t *outlen,
                    bool *done, char *err, size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    *done = false;
    if (len > (size_t)~0u) {
        snprintf(err, errlen, "a %zu-byte GSSAPI token from the broker", len);
        return KW_ESASL;
    }
    const char *data = NULL;
    unsigned dlen = 0;
    int rc = sasl_client_step(g->conn, in, (unsigned)len, NULL, &data, &dlen);
    if (rc != SASL_OK && rc != SASL_CONTINUE)
        return fail(g, rc, err, errlen, "GSSAPI exchange failed");
    *out = (const uint8_t *)data;
    *outlen = data ? dlen : 0;
    *done = rc == SASL_OK;
    return 0;
}

void kw__gssapi_free(kw_gssapi *g)
{
    if (!g)
        return;
    if (g->conn)
        sasl_dispose(&g->conn);
    if (g->cred != GSS_C_NO_CREDENTIAL) {
        OM_uint32 minor;
        gss_release_cred(&minor, &g->cred);
    }
    free(g);
}
