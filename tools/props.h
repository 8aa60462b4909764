/* The kwal tool's -X key=value properties: Kafka client property names onto kw_client_options. */
#ifndef KW_TOOLS_PROPS_H
#define KW_TOOLS_PROPS_H

#include <stddef.h>

#include "kwal/client.h"

/* Room the callers give for an error text. */
#define CLI_PROPS_ERRLEN 256

/*
 * Takes one -X argument, "key=value", into o (zeroed by the caller before the
 * first call).  Returns 0, or -1 with err naming the key and the problem
 * ("-X: unknown property 'ssl.foo'", "-X security.protocol: 'tls' is not one
 * of plaintext, ssl, sasl_plaintext, sasl_ssl").  A key given twice keeps the
 * last value, as kcat does.  String values point into kv, so kv must outlive
 * o (argv does).
 *
 * The keys are Kafka's: security.protocol, sasl.mechanism (also librdkafka's
 * sasl.mechanisms), sasl.username, sasl.password, sasl.oauthbearer.token,
 * sasl.aws.access.key.id, sasl.aws.secret.access.key, sasl.aws.session.token,
 * sasl.aws.region, sasl.aws.user.agent (AWS_MSK_IAM),
 * sasl.oauthbearer.file (JSON document), sasl.oauthbearer.http.socket,
 * sasl.aws.file, sasl.aws.http.socket, sasl.http.socket.timeout.ms,
 * ssl.min.version (TLSv1.2, TLSv1.3), ssl.cipher.suites,
 * ssl.ca.location, ssl.certificate.location, ssl.key.location,
 * ssl.endpoint.identification.algorithm (https, or none/"" to skip the host
 * name check), client.id, request.timeout.ms; and kwal's api.version.max (a
 * Kafka release, "3.9.0": negotiate no API version newer than it has).
 */
int cli_props_set(kw_client_options *o, const char *kv, char *err, size_t errlen);

/*
 * Checks that the properties fit together once all are in: a SASL protocol
 * needs a mechanism and its credentials (OAUTHBEARER and AWS_MSK_IAM exactly
 * one credential source each), credentials need a SASL protocol,
 * ssl.* needs an SSL protocol, a certificate needs its key.  Returns 0 or -1
 * with err saying what is missing.
 */
int cli_props_check(const kw_client_options *o, char *err, size_t errlen);

#endif /* KW_TOOLS_PROPS_H */
