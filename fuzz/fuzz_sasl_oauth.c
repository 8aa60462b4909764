/* libFuzzer target for OAUTHBEARER: the broker's RFC 7628 error document and its refusal text, and the token. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kwal/error.h"
#include "net/sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: one control byte, then three parts split at the first two '\n':
 *   the token (used when bit 0 is set; else a fixed good one),
 *   the server's answer to the client's first message (the JSON error document, or empty = accepted),
 *   the refusal text of the SaslAuthenticate error (reported through kw__sasl_server_error when
 *   bit 1 is set; else the exchange ends with the client's own step).
 */
static const char *part(const char **p, const char *end, size_t *len)
{
    const char *start = *p;
    const char *nl = memchr(start, '\n', (size_t)(end - start));
    *len = nl ? (size_t)(nl - start) : (size_t)(end - start);
    *p = nl ? nl + 1 : end;
    return start;
}

/* Detail text goes into log lines: one line, printable, and it says something. */
static void check_detail(const kw_sasl *s)
{
    const char *d = kw__sasl_errstr(s);
    if (!d[0])
        abort();
    for (const char *c = d; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4 * KW_SASL_TOKEN_MAX)
        return 0;
    uint8_t ctl = data[0];
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    size_t tok_len, doc_len, err_len;
    const char *tok = part(&p, end, &tok_len);
    const char *doc = part(&p, end, &doc_len);
    const char *err = part(&p, end, &err_len);

    char *token = malloc(tok_len + 1);
    if (!token)
        return 0;
    memcpy(token, tok, tok_len);
    token[tok_len] = '\0';
    kw_sasl_config cfg = {.mechanism = "OAUTHBEARER",
                          .oauth_token = ctl & 1 ? token : "eyJhbGciOiJub25lIn0.e30."};
    kw_sasl s;
    memset(&s, 0, sizeof(s));
    int rc = kw__sasl_init(&s, &cfg);
    free(token); /* the state machine keeps its own copy */
    const uint8_t *out;
    size_t out_len;
    if (rc == 0)
        rc = kw__sasl_start(&s, &out, &out_len);
    if (rc) {
        if (rc != KW_EINVAL || !(ctl & 1))
            abort(); /* only a bad fuzzed token may be refused */
        kw__sasl_free(&s);
        return 0;
    }
    /* n,,\x01auth=Bearer <token>\x01\x01 */
    if (out_len < 18 || memcmp(out, "n,,\x01" "auth=Bearer ", 16) != 0 || out[out_len - 1] != 1 ||
        out[out_len - 2] != 1)
        abort();
    rc = kw__sasl_step(&s, doc, doc_len, &out, &out_len);
    if (doc_len == 0) {
        if (rc != KW_SASL_DONE) /* an empty answer is Kafka's yes */
            abort();
        kw__sasl_free(&s);
        return 0;
    }
    /* An error document: the client answers with a lone %x01 (RFC 7628 3.2.3) */
    if (rc != KW_SASL_CONTINUE || out_len != 1 || out[0] != 1)
        abort();
    if (ctl & 2)
        rc = kw__sasl_server_error(&s, err, err_len);
    else
        rc = kw__sasl_step(&s, NULL, 0, &out, &out_len);
    if (rc != KW_ESASL)
        abort();
    check_detail(&s);
    /* the failure sticks */
    if (kw__sasl_step(&s, "x", 1, &out, &out_len) != KW_ESASL)
        abort();
    kw__sasl_free(&s);
    return 0;
}
