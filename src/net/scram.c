/* SCRAM client (RFC 5802 / RFC 7677): building messages, parsing the server's, deriving keys. */
#include "net/scram.h"

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

/* Every error goes through here so that the state, code and text always agree. */
static int fail(kw_scram *s, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(kw_scram *s, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->errstr, sizeof(s->errstr), fmt, ap);
    va_end(ap);
    s->state = KW_SCRAM_FAILED;
    s->err = err;
    /* A failed exchange never needs the secrets again. */
    if (s->password) {
        OPENSSL_cleanse(s->password, s->password_len);
        free(s->password);
        s->password = NULL;
    }
    OPENSSL_cleanse(s->server_sig, sizeof(s->server_sig));
    return err;
}

/* Copies server text into the detail without letting control bytes reach a log line. */
static void printable_copy(char *dst, size_t cap, const char *src, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    dst[n] = '\0';
}

/* printable = %x21-2B / %x2D-7E: what RFC 5802 allows in a nonce. */
static bool nonce_chars_ok(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x21 || c > 0x7e || c == ',')
            return false;
    }
    return true;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/*
 * Written out rather than EVP_DecodeBlock because that one skips whitespace
 * and leaves the padding's zero bytes in the result: a salt or signature
 * must decode to exactly the bytes the server meant, or not at all.
 */
long kw__scram_b64_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
    if (len % 4 != 0)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)in[i + (size_t)k];
            if (c == '=' && i + 4 == len && k >= 2) {
                v[k] = 0;
                pad++;
                continue;
            }
            if (pad) /* data after '=' */
                return -1;
            v[k] = b64_value(c);
            if (v[k] < 0)
                return -1;
        }
        unsigned char b[3] = {(unsigned char)(v[0] << 2 | v[1] >> 4),
                              (unsigned char)((v[1] & 0xf) << 4 | v[2] >> 2),
                              (unsigned char)((v[2] & 0x3) << 6 | v[3])};
        size_t n = 3 - (size_t)pad;
        if (o + n > cap)
            return -1;
        memcpy(out + o, b, n);
        o += n;
    }
    return (long)o;
}

/* Base64 of n bytes into a new NUL-terminated string (EVP_EncodeBlock pads and never wraps). */
static char *b64_encode(const unsigned char *in, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    return out;
}

/* saslname: '=' and ',' would end or confuse the attribute, so they become =3D and =2C. */
static size_t escaped_len(const char *user)
{
    size_t n = 0;
    for (const char *p = user; *p; p++)
        n += (*p == '=' || *p == ',') ? 3 : 1;
    return n;
}

static char *put_escaped(char *dst, const char *user)
{
    for (const char *p = user; *p; p++) {
        if (*p == '=' || *p == ',') {
            memcpy(dst, *p == '=' ? "=3D" : "=2C", 3);
            dst += 3;
        } else {
            *dst++ = *p;
        }
    }
    return dst;
}

int kw__scram_start(kw_scram *s, const kw_scram_opts *o, const char **out, size_t *outlen)
{
    kw__scram_free(s);
    if (!o || !o->md)
        return fail(s, KW_EINVAL, "SCRAM needs a digest");
    if (!o->user || !o->user[0])
        return fail(s, KW_EINVAL, "user name is empty");
    if (!o->password || !o->password[0])
        return fail(s, KW_EINVAL, "password is empty");
    s->md = o->md;
    int md_len = EVP_MD_size(o->md);
    if (md_len <= 0 || md_len > EVP_MAX_MD_SIZE)
        return fail(s, KW_EINVAL, "unusable SCRAM digest");
    s->md_len = (size_t)md_len;
    s->min_iter = o->min_iterations ? o->min_iterations : KW_SCRAM_MIN_ITERATIONS;
    s->max_iter = o->max_iterations ? o->max_iterations : KW_SCRAM_MAX_ITERATIONS;
    if (s->max_iter > INT_MAX || s->min_iter > s->max_iter)
        return fail(s, KW_EINVAL, "SCRAM iteration limits %u..%u make no sense", s->min_iter,
                    s->max_iter);
    s->password_len = strlen(o->password);
    if (s->password_len > INT_MAX)
        return fail(s, KW_EINVAL, "password too long");

    char nonce_buf[4 * ((KW_SCRAM_NONCE_BYTES + 2) / 3) + 1];
    const char *cnonce = o->cnonce;
    if (cnonce) {
        size_t n = strlen(cnonce);
        if (n == 0 || n > KW_SCRAM_MAX_NONCE || !nonce_chars_ok(cnonce, n))
            return fail(s, KW_EINVAL, "client nonce must be 1..%u printable characters without ','",
                        KW_SCRAM_MAX_NONCE);
    } else {
        unsigned char raw[KW_SCRAM_NONCE_BYTES];
        if (RAND_bytes(raw, sizeof(raw)) != 1)
            return fail(s, KW_EIO, "RAND_bytes could not make a client nonce");
        EVP_EncodeBlock((unsigned char *)nonce_buf, raw, (int)sizeof(raw));
        cnonce = nonce_buf;
    }

    s->password = malloc(s->password_len + 1);
    if (!s->password)
        return fail(s, KW_ENOMEM, "out of memory");
    memcpy(s->password, o->password, s->password_len + 1);

    size_t cn_len = strlen(cnonce);
    s->first_bare_len = 2 + escaped_len(o->user) + 3 + cn_len;
    s->first_bare = malloc(s->first_bare_len + 1);
    s->out = malloc(3 + s->first_bare_len + 1);
    if (!s->first_bare || !s->out)
        return fail(s, KW_ENOMEM, "out of memory");
    char *p = s->first_bare;
    memcpy(p, "n=", 2);
    p = put_escaped(p + 2, o->user);
    memcpy(p, ",r=", 3);
    p += 3;
    s->cnonce_off = (size_t)(p - s->first_bare);
    s->cnonce_len = cn_len;
    memcpy(p, cnonce, cn_len + 1);

    /* gs2 header "n,,": no channel binding, no authzid (Kafka supports neither). */
    memcpy(s->out, "n,,", 3);
    memcpy(s->out + 3, s->first_bare, s->first_bare_len + 1);
    s->out_len = 3 + s->first_bare_len;
    s->state = KW_SCRAM_SENT_FIRST;
    *out = s->out;
    *outlen = s->out_len;
    return 0;
}

/* One "<name>=<value>" attribute at *p; value runs to the next ',' or the end. */
static bool take_attr(const char **p, const char *end, char name, const char **val, size_t *vlen)
{
    const char *q = *p;
    if (end - q < 2 || q[0] != name || q[1] != '=')
        return false;
    q += 2;
    const char *comma = memchr(q, ',', (size_t)(end - q));
    const char *stop = comma ? comma : end;
    *val = q;
    *vlen = (size_t)(stop - q);
    *p = comma ? comma + 1 : end;
    return true;
}

/* Shared checks on a server message: size, no NUL (the RFC forbids it), and e= means failure. */
static int check_server_message(kw_scram *s, const char *msg, size_t len, const char *what)
{
    if (len > KW_SCRAM_MAX_MESSAGE)
        return fail(s, KW_ETOOBIG, "%s is %zu bytes, more than %u", what, len,
                    KW_SCRAM_MAX_MESSAGE);
    if (len == 0)
        return fail(s, KW_EMALFORMED, "%s is empty", what);
    if (memchr(msg, '\0', len))
        return fail(s, KW_EMALFORMED, "%s contains a NUL byte", what);
    const char *v;
    size_t vlen;
    const char *p = msg;
    if (take_attr(&p, msg + len, 'e', &v, &vlen)) {
        char text[200];
        printable_copy(text, sizeof(text), v, vlen);
        return fail(s, KW_ESASL, "server error: %s", text);
    }
    return 0;
}

/* Extensions after the mandatory attributes: "<letter>=<value>" each; ignored but must parse. */
static bool extensions_ok(const char *p, const char *end)
{
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return false;
        const char *v;
        size_t vlen;
        if (!take_attr(&p, end, (char)c, &v, &vlen))
            return false;
    }
    return true;
}

static bool hmac(const EVP_MD *md, const unsigned char *key, size_t klen, const void *d, size_t n,
                 unsigned char *out)
{
    unsigned int olen = 0;
    return HMAC(md, key, (int)klen, d, n, out, &olen) != NULL;
}

int kw__scram_final(kw_scram *s, const void *server_first, size_t len, const char **out,
                    size_t *outlen)
{
    if (s->state == KW_SCRAM_FAILED)
        return s->err;
    if (s->state != KW_SCRAM_SENT_FIRST)
        return fail(s, KW_EINVAL, "server-first arrived out of order");
    const char *msg = server_first;
    const char *end = msg + len;
    int rc = check_server_message(s, msg, len, "server-first message");
    if (rc)
        return rc;

    const char *p = msg;
    const char *nonce, *salt_b64, *iter_s, *v;
    size_t nonce_len, salt_len, iter_len, vlen;
    /* RFC 5802: a client that sees the reserved m= attribute MUST fail. */
    if (take_attr(&p, end, 'm', &v, &vlen))
        return fail(s, KW_ESASL, "server requires an unsupported SCRAM extension (m=)");
    if (!take_attr(&p, end, 'r', &nonce, &nonce_len))
        return fail(s, KW_EMALFORMED, "server-first has no nonce (r=)");
    if (nonce_len > KW_SCRAM_MAX_NONCE)
        return fail(s, KW_ETOOBIG, "server nonce is %zu bytes, more than %u", nonce_len,
                    KW_SCRAM_MAX_NONCE);
    if (!nonce_chars_ok(nonce, nonce_len))
        return fail(s, KW_EMALFORMED, "server nonce has a non-printable character");
    /* The server must echo our nonce and add its own, or the exchange could be a replay. */
    if (nonce_len <= s->cnonce_len ||
        memcmp(nonce, s->first_bare + s->cnonce_off, s->cnonce_len) != 0)
        return fail(s, KW_ESASL, "server nonce does not extend the client nonce");
    if (!take_attr(&p, end, 's', &salt_b64, &salt_len) || salt_len == 0)
        return fail(s, KW_EMALFORMED, "server-first has no salt (s=)");
    if (salt_len > KW_SCRAM_MAX_SALT_B64)
        return fail(s, KW_ETOOBIG, "salt is %zu base64 characters, more than %u", salt_len,
                    KW_SCRAM_MAX_SALT_B64);
    unsigned char salt[KW_SCRAM_MAX_SALT_B64];
    long salt_n = kw__scram_b64_decode(salt_b64, salt_len, salt, sizeof(salt));
    if (salt_n <= 0)
        return fail(s, KW_EMALFORMED, "salt is not valid base64");
    if (!take_attr(&p, end, 'i', &iter_s, &iter_len) || iter_len == 0)
        return fail(s, KW_EMALFORMED, "server-first has no iteration count (i=)");
    uint64_t iter = 0;
    for (size_t k = 0; k < iter_len; k++) {
        if (iter_s[k] < '0' || iter_s[k] > '9')
            return fail(s, KW_EMALFORMED, "iteration count is not a number");
        iter = iter * 10 + (uint64_t)(iter_s[k] - '0');
        if (iter > s->max_iter)
            return fail(s, KW_ETOOBIG, "iteration count is more than %u", s->max_iter);
    }
    if (iter < s->min_iter)
        return fail(s, KW_ESASL, "iteration count %u is below the minimum %u", (unsigned)iter,
                    s->min_iter);
    if (end[-1] == ',' || !extensions_ok(p, end))
        return fail(s, KW_EMALFORMED, "server-first has a malformed extension");

    /* c=biws is base64("n,,"): the gs2 header we sent, as RFC 5802 requires. */
    static const char cb[] = "c=biws,r=";
    size_t wo_proof_len = sizeof(cb) - 1 + nonce_len;
    size_t auth_len = s->first_bare_len + 1 + len + 1 + wo_proof_len;
    size_t proof_b64_len = 4 * ((s->md_len + 2) / 3);
    char *auth = malloc(auth_len);
    char *final = malloc(wo_proof_len + 3 + proof_b64_len + 1);
    if (!auth || !final) {
        free(auth);
        free(final);
        return fail(s, KW_ENOMEM, "out of memory");
    }
    memcpy(final, cb, sizeof(cb) - 1);
    memcpy(final + sizeof(cb) - 1, nonce, nonce_len);
    /* AuthMessage = client-first-bare "," server-first "," client-final-without-proof */
    char *a = auth;
    memcpy(a, s->first_bare, s->first_bare_len);
    a += s->first_bare_len;
    *a++ = ',';
    memcpy(a, msg, len);
    a += len;
    *a++ = ',';
    memcpy(a, final, wo_proof_len);

    unsigned char salted[EVP_MAX_MD_SIZE], client_key[EVP_MAX_MD_SIZE];
    unsigned char stored_key[EVP_MAX_MD_SIZE], client_sig[EVP_MAX_MD_SIZE];
    unsigned char server_key[EVP_MAX_MD_SIZE], proof[EVP_MAX_MD_SIZE];
    unsigned int stored_len = 0;
    size_t n = s->md_len;
    bool ok = PKCS5_PBKDF2_HMAC(s->password, (int)s->password_len, salt, (int)salt_n, (int)iter,
                                s->md, (int)n, salted) == 1 &&
              hmac(s->md, salted, n, "Client Key", 10, client_key) &&
              EVP_Digest(client_key, n, stored_key, &stored_len, s->md, NULL) == 1 &&
              hmac(s->md, stored_key, n, auth, auth_len, client_sig) &&
              hmac(s->md, salted, n, "Server Key", 10, server_key) &&
              hmac(s->md, server_key, n, auth, auth_len, s->server_sig);
    char *proof_b64 = NULL;
    if (ok) {
        for (size_t k = 0; k < n; k++)
            proof[k] = client_key[k] ^ client_sig[k];
        proof_b64 = b64_encode(proof, n);
    }
    OPENSSL_cleanse(salted, sizeof(salted));
    OPENSSL_cleanse(client_key, sizeof(client_key));
    OPENSSL_cleanse(stored_key, sizeof(stored_key));
    OPENSSL_cleanse(client_sig, sizeof(client_sig));
    OPENSSL_cleanse(server_key, sizeof(server_key));
    OPENSSL_cleanse(proof, sizeof(proof));
    free(auth);
    if (!ok) {
        free(final);
        return fail(s, KW_ESASL, "OpenSSL could not derive the SCRAM keys");
    }
    if (!proof_b64) {
        free(final);
        return fail(s, KW_ENOMEM, "out of memory");
    }
    memcpy(final + wo_proof_len, ",p=", 3);
    memcpy(final + wo_proof_len + 3, proof_b64, proof_b64_len + 1);
    /* The proof is worth as much as a password for this one exchange: wipe the copies. */
    OPENSSL_cleanse(proof_b64, proof_b64_len);
    free(proof_b64);
    OPENSSL_cleanse(s->password, s->password_len);
    free(s->password);
    s->password = NULL;
    OPENSSL_cleanse(s->out, s->out_len);
    free(s->out);
    s->out = final;
    s->out_len = wo_proof_len + 3 + proof_b64_len;
    s->state = KW_SCRAM_SENT_FINAL;
    *out = s->out;
    *outlen = s->out_len;
    return 0;
}

int kw__scram_verify(kw_scram *s, const void *server_final, size_t len)
{
    if (s->state == KW_SCRAM_FAILED)
        return s->err;
    if (s->state != KW_SCRAM_SENT_FINAL)
        return fail(s, KW_EINVAL, "server-final arrived out of order");
    const char *msg = server_final;
    const char *end = msg + len;
    int rc = check_server_message(s, msg, len, "server-final message");
    if (rc)
        return rc;
    const char *p = msg, *v;
    size_t vlen;
    if (!take_attr(&p, end, 'v', &v, &vlen) || vlen == 0)
        return fail(s, KW_EMALFORMED, "server-final has no signature (v=)");
    if (end[-1] == ',' || !extensions_ok(p, end))
        return fail(s, KW_EMALFORMED, "server-final has a malformed extension");
    unsigned char sig[EVP_MAX_MD_SIZE];
    long n = kw__scram_b64_decode(v, vlen, sig, sizeof(sig));
    if (n < 0)
        return fail(s, KW_EMALFORMED, "server signature is not valid base64");
    /* Constant time: a timing leak here would let a fake server learn the signature bytewise. */
    bool match = (size_t)n == s->md_len && CRYPTO_memcmp(sig, s->server_sig, s->md_len) == 0;
    OPENSSL_cleanse(sig, sizeof(sig));
    if (!match)
        return fail(s, KW_ESASL, "server signature does not match: the server does not know "
                                 "the password");
    OPENSSL_cleanse(s->server_sig, sizeof(s->server_sig));
    s->state = KW_SCRAM_DONE;
    return 0;
}

const char *kw__scram_errstr(const kw_scram *s)
{
    return s->errstr;
}

void kw__scram_free(kw_scram *s)
{
    if (s->password) {
        OPENSSL_cleanse(s->password, s->password_len);
        free(s->password);
    }
    if (s->out) {
        OPENSSL_cleanse(s->out, s->out_len);
        free(s->out);
    }
    free(s->first_bare);
    OPENSSL_cleanse(s, sizeof(*s));
}
