/* libFuzzer target for AWS_MSK_IAM's server answer (a JSON document) and the mechanism step that reads it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kwal/error.h"
#include "net/sasl.h"
#include "net/sasl_aws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t fixed_clock(void *ctx)
{
    (void)ctx;
    return 1440938160;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The parser alone: 0 with a terminated request id, or KW_ESASL with a reason. */
    char id[16], err[256];
    memset(id, 'x', sizeof(id));
    err[0] = '\0';
    int rc = kw__sasl_aws_parse_response(data, size, id, sizeof(id), err, sizeof(err));
    if (rc == 0) {
        if (memchr(id, '\0', sizeof(id)) == NULL)
            abort();
    } else if (rc != KW_ESASL || err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL) {
        abort();
    }

    /* The same bytes as the broker's reply to a signed first message. */
    kw_sasl_config cfg = {
        .mechanism = "AWS_MSK_IAM",
        .server_host = "b-1.fuzz.abc123.c2.kafka.us-east-1.amazonaws.com",
        .aws_access_key_id = "AKIDEXAMPLE",
        .aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        .aws_clock = fixed_clock,
    };
    kw_sasl s;
    if (kw__sasl_init(&s, &cfg) != 0)
        abort();
    const uint8_t *out;
    size_t len;
    if (kw__sasl_start(&s, &out, &len) != 0 || len == 0)
        abort();
    int step = kw__sasl_step(&s, data, size, &out, &len);
    if (step != (rc == 0 ? KW_SASL_DONE : KW_ESASL) || out != NULL || len != 0)
        abort();
    kw__sasl_free(&s);
    return 0;
}
