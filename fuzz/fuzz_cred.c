/* libFuzzer target for the OAUTHBEARER and AWS_MSK_IAM credential documents, and the message built from one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/cred.h"
#include "net/loop.h"
#include "net/sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, bool required)
{
    if (required && (!s || !s[0]))
        abort();
    if (s && !s[0])
        abort(); /* an empty optional is NULL, never "" */
}

/* One loop and source for every input: only the harness keeps them, the library has no globals. */
static kw_loop *loop;
static kw_cred_source *src;

static void message_from(kw_cred_doc *doc)
{
    if (!src) {
        char err[256];
        kw_cred_source_options so = {.kind = KW_CRED_OAUTH, .file = "/nonexistent"};
        if (kw__loop_new(&loop) || kw__cred_source_new(&src, loop, &so, err, sizeof(err)))
            abort();
    }
    kw_sasl s;
    kw_sasl_config cfg = {.mechanism = "OAUTHBEARER", .cred = src};
    if (kw__sasl_init(&s, &cfg))
        abort();
    kw__sasl_set_cred(&s, doc);
    const uint8_t *out;
    size_t len;
    /* Every document the parser accepts makes a well-formed client-first message. */
    if (kw__sasl_start(&s, &out, &len) != 0 || len < 4 || out[0] != 'n' || out[1] != ',' ||
        out[len - 1] != 0x01 || out[len - 2] != 0x01 || !memchr(out, 0x01, len))
        abort();
    kw__sasl_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int kind = KW_CRED_OAUTH; kind <= KW_CRED_AWS; kind++) {
        kw_cred_doc d;
        char detail[256];
        int rc = kw__cred_parse(kind, data, size, &d, detail, sizeof(detail));
        if (rc) {
            if ((rc != KW_ESASL && rc != KW_ENOMEM) || !detail[0] || d.kind || d.token ||
                d.access_key || d.ext)
                abort();
            continue;
        }
        if (d.kind != kind)
            abort();
        if (kind == KW_CRED_OAUTH) {
            check_str(d.token, true);
            check_str(d.zid, false);
            if (!kw__sasl_token_ok(d.token, strlen(d.token)) || d.access_key)
                abort();
            for (size_t i = 0; i < d.ext_count; i++)
                if (!kw__sasl_ext_key_ok(d.ext[i].key) || !kw__sasl_ext_value_ok(d.ext[i].value) ||
                    strcmp(d.ext[i].key, "auth") == 0)
                    abort();
            message_from(&d);
            if (d.token) /* moved into the exchange */
                abort();
        } else {
            check_str(d.access_key, true);
            check_str(d.secret_key, true);
            check_str(d.session_token, false);
            check_str(d.user_agent, false);
            if (d.token || d.ext)
                abort();
        }
        kw__cred_doc_clear(&d);
    }
    return 0;
}
