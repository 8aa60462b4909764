/* libFuzzer target for the SCRAM client: the server-first and server-final messages a broker sends. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "kwal/error.h"
#include "net/scram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: one control byte, then server-first, a '\n', server-final.
 *   bits 0-1  digest: 0 SHA-1, 1 SHA-256, 2/3 SHA-512
 *   bit 2     answer server-final with the signature a server knowing the password would send
 *             (the input's server-final is ignored): verify must then succeed
 *   bit 3     client nonce of RFC 7677's example instead of RFC 5802's
 * The iteration ceiling is 64 here so that PBKDF2 stays cheap; the checks against it are the
 * same code as with the real ceiling.
 */
static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t b64(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = b64_chars[v >> 18 & 63];
        out[o++] = b64_chars[v >> 12 & 63];
        out[o++] = i + 1 < n ? b64_chars[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? b64_chars[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

/* A failure must be sticky, carry detail text, and be one of the documented codes. */
static void check_failure(kw_scram *s, int rc)
{
    if (rc != KW_EMALFORMED && rc != KW_ETOOBIG && rc != KW_ESASL && rc != KW_EINVAL)
        abort();
    if (s->state != KW_SCRAM_FAILED || !kw__scram_errstr(s)[0])
        abort();
    if (kw__scram_verify(s, "v=AAAA", 6) != rc)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 3 * KW_SCRAM_MAX_MESSAGE)
        return 0;
    uint8_t ctl = data[0];
    const EVP_MD *mds[4] = {EVP_sha1(), EVP_sha256(), EVP_sha512(), EVP_sha512()};
    const char *first = (const char *)data + 1;
    size_t rest = size - 1;
    const char *nl = memchr(first, '\n', rest);
    size_t first_len = nl ? (size_t)(nl - first) : rest;
    const char *final = nl ? nl + 1 : first + rest;
    size_t final_len = nl ? rest - first_len - 1 : 0;

    kw_scram s;
    memset(&s, 0, sizeof(s));
    kw_scram_opts o = {.md = mds[ctl & 3],
                       .user = "user",
                       .password = "pencil",
                       .cnonce = ctl & 8 ? "rOprNGfwEbeRWgbNEkqO" : "fyko+d2lbbFgONRv9qkxdawL",
                       .min_iterations = 1,
                       .max_iterations = 64};
    const char *out;
    size_t out_len;
    if (kw__scram_start(&s, &o, &out, &out_len) != 0)
        abort();
    int rc = kw__scram_final(&s, first, first_len, &out, &out_len);
    if (rc) {
        check_failure(&s, rc);
        kw__scram_free(&s);
        return 0;
    }
    /* client-final: c=biws,r=<the server's nonce>,p=<proof>, and the nonce is the server's */
    if (out_len < 9 || memcmp(out, "c=biws,r=", 9) != 0 || s.state != KW_SCRAM_SENT_FINAL)
        abort();
    if (ctl & 4) {
        char good[2 + 4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
        memcpy(good, "v=", 2);
        size_t n = 2 + b64(s.server_sig, s.md_len, good + 2);
        if (kw__scram_verify(&s, good, n) != 0 || s.state != KW_SCRAM_DONE)
            abort();
    } else {
        rc = kw__scram_verify(&s, final, final_len);
        if (rc)
            check_failure(&s, rc);
        else if (s.state != KW_SCRAM_DONE)
            abort();
    }
    kw__scram_free(&s);
    return 0;
}
