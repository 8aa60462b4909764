/* AWS_MSK_IAM, the SASL mechanism of Amazon MSK's IAM access control: one signed JSON message, one JSON answer. */
#ifndef KW_NET_SASL_AWS_H
#define KW_NET_SASL_AWS_H

#include <stddef.h>
#include <stdint.h>

#include "net/sasl.h"

/*
 * sasl.c's hook: kw__sasl_init calls kw__sasl_aws_new, kw__sasl_start calls
 * kw__sasl_aws_first, kw__sasl_step hands the server's bytes to
 * kw__sasl_aws_parse_response.  Runs on the connection's loop thread; the
 * credential callback, when there is one, runs inside kw__sasl_aws_first.
 */
struct kw_sasl_aws;

/* Checks and copies the AWS_MSK_IAM part of cfg.  0, KW_EINVAL (err names the field), KW_ENOMEM. */
int kw__sasl_aws_new(struct kw_sasl_aws **out, const kw_sasl_config *cfg, char *err,
                     size_t errlen);

/*
 * Gets the credentials (static, or from the callback), picks the region and
 * signs the payload dated now.  *msg is malloc'd (wipe before free: it holds
 * the session token); *who gets the access key id for messages.  0, or a
 * KW_E code with err saying why (KW_ESASL: no region; KW_EINVAL: a bad
 * credential field; whatever the callback returned).
 */
int kw__sasl_aws_first(struct kw_sasl_aws *a, uint8_t **msg, size_t *len, char *who,
                       size_t wholen, char *err, size_t errlen);

/*
 * The broker's answer to a good payload: {"version":"2020_10_22","request-id":"..."}.
 * 0 with the request id copied into request_id (cap bytes, NUL-terminated,
 * truncated when longer), or KW_ESASL with err saying what is wrong
 * (empty, not JSON, not an object, a missing or odd field).
 */
int kw__sasl_aws_parse_response(const void *in, size_t len, char *request_id, size_t cap,
                                char *err, size_t errlen);

/* Wipes the secrets and frees; NULL is fine. */
void kw__sasl_aws_free(struct kw_sasl_aws *a);

#endif /* KW_NET_SASL_AWS_H */
