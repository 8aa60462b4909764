/* SASL GSSAPI (Kerberos) through cyrus-sasl: one exchange, its tokens in and out. */
#ifndef KW_NET_SASL_GSSAPI_H
#define KW_NET_SASL_GSSAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The credentials are the process's Kerberos credential cache (KRB5CCNAME,
 * or the default one), filled by kinit or k5start; kwal does not run kinit.
 * Starting an exchange asks the KDC for a ticket to SERVICE/HOST (the broker's
 * host as the connection names it): that round trip runs on the calling
 * thread.  Outputs stay valid until the next call on the same exchange.
 */
typedef struct kw_gssapi kw_gssapi;

/*
 * Starts an exchange: 0 with *g set and the first token in *out (never
 * empty), or a negative KW_E code (KW_ESASL: no credentials, no ticket for
 * the service, or no GSSAPI plugin in cyrus-sasl; KW_ENOMEM) with the reason
 * in err.  *g is NULL on failure.
 */
int kw__gssapi_start(kw_gssapi **g, const char *service, const char *host, const uint8_t **out,
                     size_t *outlen, char *err, size_t errlen);

/*
 * Feeds a server token.  0 with the next token in *out (possibly empty, to be
 * sent all the same) and *done telling whether the client side is finished
 * once it is sent, or a negative KW_E code with the reason in err.
 */
int kw__gssapi_step(kw_gssapi *g, const void *in, size_t len, const uint8_t **out, size_t *outlen,
                    bool *done, char *err, size_t errlen);

void kw__gssapi_free(kw_gssapi *g);

#endif /* KW_NET_SASL_GSSAPI_H */
