/* Unit tests of SASL: RFC SCRAM vectors, every rejection path, PLAIN and OAUTHBEARER bytes. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "net/sasl.h"
#include "net/scram.h"

/* RFC 5802 section 5 (SCRAM-SHA-1). */
#define R5802_CNONCE "fyko+d2lbbFgONRv9qkxdawL"
#define R5802_CFIRST "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"
#define R5802_SFIRST "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
#define R5802_CFINAL                                                                      \
    "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
#define R5802_SFINAL "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="

/* RFC 7677 section 3 (SCRAM-SHA-256). */
#define R7677_CNONCE "rOprNGfwEbeRWgbNEkqO"
#define R7677_CFIRST "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
#define R7677_SFIRST                                                                      \
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define R7677_CFINAL                                                                      \
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"                         \
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define R7677_SFINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static void expect_msg(const void *got, size_t got_len, const char *want, size_t want_len)
{
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(got_len, want_len);
    ck_assert_mem_eq(got, want, want_len);
}
#define EXPECT_STR(got, len, lit) expect_msg((got), (len), (lit), sizeof(lit) - 1)

static bool all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

/* Runs one whole SCRAM exchange against fixed server messages; returns the verify result. */
static int run_scram_vector(const EVP_MD *md, const char *cnonce, const char *cfirst,
                            const char *sfirst, const char *cfinal, const char *sfinal)
{
    kw_scram s = {0};
    kw_scram_opts o = {.md = md, .user = "user", .password = "pencil", .cnonce = cnonce};
    const char *out;
    size_t len;
    ck_assert_int_eq(kw__scram_start(&s, &o, &out, &len), 0);
    expect_msg(out, len, cfirst, strlen(cfirst));
    ck_assert_int_eq(kw__scram_final(&s, sfirst, strlen(sfirst), &out, &len), 0);
    expect_msg(out, len, cfinal, strlen(cfinal));
    /* The password is not needed after the proof: it must already be gone. */
    ck_assert_ptr_null(s.password);
    int rc = kw__scram_verify(&s, sfinal, strlen(sfinal));
    if (rc == 0) {
        ck_assert_int_eq(s.state, KW_SCRAM_DONE);
        ck_assert(all_zero(s.server_sig, sizeof(s.server_sig)));
        ck_assert_str_eq(kw__scram_errstr(&s), "");
    }
    kw__scram_free(&s);
    ck_assert(all_zero(&s, sizeof(s)));
    return rc;
}

START_TEST(rfc5802_sha1_vector)
{
    ck_assert_int_eq(run_scram_vector(EVP_sha1(), R5802_CNONCE, R5802_CFIRST, R5802_SFIRST,
                                      R5802_CFINAL, R5802_SFINAL),
                     0);
}
END_TEST

START_TEST(rfc7677_sha256_vector)
{
    ck_assert_int_eq(run_scram_vector(EVP_sha256(), R7677_CNONCE, R7677_CFIRST, R7677_SFIRST,
                                      R7677_CFINAL, R7677_SFINAL),
                     0);
}
END_TEST

START_TEST(tampered_server_signature_is_rejected)
{
    /* One bit of the RFC 7677 signature changed ('6' -> '7' flips the first byte's low bits). */
    ck_assert_int_eq(run_scram_vector(EVP_sha256(), R7677_CNONCE, R7677_CFIRST, R7677_SFIRST,
                                      R7677_CFINAL,
                                      "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
                     KW_ESASL);
    /* The SHA-1 signature offered for SHA-256: right base64, wrong length. */
    ck_assert_int_eq(run_scram_vector(EVP_sha256(), R7677_CNONCE, R7677_CFIRST, R7677_SFIRST,
                                      R7677_CFINAL, R5802_SFINAL),
                     KW_ESASL);
}
END_TEST

/* Starts an exchange with the RFC 5802 nonce and hands server-first to the client. */
static int server_first_rc(const char *sfirst, size_t len, uint32_t min_iter, char *err,
                           size_t errcap)
{
    kw_scram s = {0};
    kw_scram_opts o = {.md = EVP_sha1(),
                       .user = "user",
                       .password = "pencil",
                       .cnonce = R5802_CNONCE,
                       .min_iterations = min_iter};
    const char *out;
    size_t outlen;
    ck_assert_int_eq(kw__scram_start(&s, &o, &out, &outlen), 0);
    int rc = kw__scram_final(&s, sfirst, len, &out, &outlen);
    if (rc) {
        ck_assert_int_eq(s.state, KW_SCRAM_FAILED);
        ck_assert_ptr_null(s.password);
        /* The error sticks. */
        ck_assert_int_eq(kw__scram_verify(&s, R5802_SFINAL, strlen(R5802_SFINAL)), rc);
    }
    snprintf(err, errcap, "%s", kw__scram_errstr(&s));
    kw__scram_free(&s);
    return rc;
}

START_TEST(server_first_rejections)
{
#define N R5802_CNONCE "3rfc"
    static const struct {
        const char *msg;
        int rc;
        const char *detail;
    } cases[] = {
        {"r=someoneelse3rfc,s=QSXCR+Q6sek8bf92,i=4096", KW_ESASL, "does not extend"},
        {"r=" R5802_CNONCE ",s=QSXCR+Q6sek8bf92,i=4096", KW_ESASL, "does not extend"},
        {"r=fyko+d2lbbFgONRv9qkxdaw,s=QSXCR+Q6sek8bf92,i=4096", KW_ESASL, "does not extend"},
        {"r=" N ",s=QSXCR+Q6sek8bf92,i=4095", KW_ESASL, "4095 is below the minimum 4096"},
        {"r=" N ",s=QSXCR+Q6sek8bf92,i=0", KW_ESASL, "below the minimum"},
        {"r=" N ",s=QSXCR+Q6sek8bf92,i=1000001", KW_ETOOBIG, "more than 1000000"},
        {"r=" N ",s=QSXCR+Q6sek8bf92,i=99999999999999999999999", KW_ETOOBIG, "more than"},
        {"r=" N ",s=QSXCR+Q6sek8bf92,i=-4096", KW_EMALFORMED, "not a number"},
        {"r=" N ",s=QSXCR+Q6sek8bf92,i=4096x", KW_EMALFORMED, "not a number"},
        {"r=" N ",s=QSXCR+Q6sek8bf92,i=", KW_EMALFORMED, "no iteration count"},
        {"r=" N ",s=QSXCR+Q6sek8bf92", KW_EMALFORMED, "no iteration count"},
        {"r=" N ",i=4096", KW_EMALFORMED, "no salt"},
        {"r=" N ",s=,i=4096", KW_EMALFORMED, "no salt"},
        {"r=" N ",s=QSXCR+Q6sek8bf9,i=4096", KW_EMALFORMED, "not valid base64"},
        {"r=" N ",s=QSXC*+Q6sek8bf92,i=4096", KW_EMALFORMED, "not valid base64"},
        {"r=" N ",s=QS=CR+Q6sek8bf92,i=4096", KW_EMALFORMED, "not valid base64"},
        {"r=" N ",s=QSXC R+Q6sek8bf9,i=4096", KW_EMALFORMED, "not valid base64"},
        {"s=QSXCR+Q6sek8bf92,i=4096", KW_EMALFORMED, "no nonce"},
        {"", KW_EMALFORMED, "is empty"},
        {"m=ext,r=" N ",s=QSXCR+Q6sek8bf92,i=4096", KW_ESASL, "unsupported SCRAM extension"},
        {"e=unknown-user", KW_ESASL, "server error: unknown-user"},
        {"r=" N ",s=QSXCR+Q6sek8bf92,i=4096,", KW_EMALFORMED, "malformed extension"},
        {"r=" N ",s=QSXCR+Q6sek8bf92,i=4096,9=x", KW_EMALFORMED, "malformed extension"},
        {"r=" N ",s=QSXCR+Q6sek8bf92,i=4096,junk", KW_EMALFORMED, "malformed extension"},
        {"r=" N "\x7f,s=QSXCR+Q6sek8bf92,i=4096", KW_EMALFORMED, "non-printable"},
    };
#undef N
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[400];
        int rc = server_first_rc(cases[i].msg, strlen(cases[i].msg), 0, err, sizeof(err));
        if (rc != cases[i].rc || !strstr(err, cases[i].detail))
            ck_abort_msg("case %zu (%s): rc %d (%s), want %d with \"%s\"", i, cases[i].msg, rc,
                         err, cases[i].rc, cases[i].detail);
    }
}
END_TEST

START_TEST(server_first_nul_and_oversized_values)
{
    char err[400];
    static const char with_nul[] = "r=" R5802_CNONCE "3rfc,s=QSXC\0R+Q6sek8bf92,i=4096";
    ck_assert_int_eq(server_first_rc(with_nul, sizeof(with_nul) - 1, 0, err, sizeof(err)),
                     KW_EMALFORMED);
    ck_assert_str_eq(err, "server-first message contains a NUL byte");

    char big[KW_SCRAM_MAX_MESSAGE + 64];
    /* A nonce just over the limit. */
    int n = snprintf(big, sizeof(big), "r=%s%0*d,s=QSXCR+Q6sek8bf92,i=4096", R5802_CNONCE,
                     (int)(KW_SCRAM_MAX_NONCE - strlen(R5802_CNONCE) + 1), 0);
    ck_assert_int_eq(server_first_rc(big, (size_t)n, 0, err, sizeof(err)), KW_ETOOBIG);
    ck_assert_str_eq(err, "server nonce is 1025 bytes, more than 1024");
    /* A nonce exactly at the limit is fine as far as the nonce goes. */
    n = snprintf(big, sizeof(big), "r=%s%0*d,s=QSXCR+Q6sek8bf92,i=4096", R5802_CNONCE,
                 (int)(KW_SCRAM_MAX_NONCE - strlen(R5802_CNONCE)), 0);
    ck_assert_int_eq(server_first_rc(big, (size_t)n, 0, err, sizeof(err)), 0);
    /* A salt over the limit (1028 base64 characters). */
    n = snprintf(big, sizeof(big), "r=%s3rfc,s=", R5802_CNONCE);
    memset(big + n, 'A', 1028);
    n += 1028;
    n += snprintf(big + n, sizeof(big) - (size_t)n, ",i=4096");
    ck_assert_int_eq(server_first_rc(big, (size_t)n, 0, err, sizeof(err)), KW_ETOOBIG);
    ck_assert_str_eq(err, "salt is 1028 base64 characters, more than 1024");
    /* The whole message over the limit (a long extension). */
    n = snprintf(big, sizeof(big), "r=%s3rfc,s=QSXCR+Q6sek8bf92,i=4096,x=", R5802_CNONCE);
    memset(big + n, 'x', sizeof(big) - (size_t)n);
    ck_assert_int_eq(server_first_rc(big, sizeof(big), 0, err, sizeof(err)), KW_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(err, "more than 8192"));
}
END_TEST

START_TEST(iteration_minimum_is_configurable)
{
    char err[400];
    const char *msg = "r=" R5802_CNONCE "3rfc,s=QSXCR+Q6sek8bf92,i=1000";
    ck_assert_int_eq(server_first_rc(msg, strlen(msg), 0, err, sizeof(err)), KW_ESASL);
    ck_assert_int_eq(server_first_rc(msg, strlen(msg), 1000, err, sizeof(err)), 0);
    ck_assert_int_eq(server_first_rc(msg, strlen(msg), 1001, err, sizeof(err)), KW_ESASL);
    ck_assert_str_eq(err, "iteration count 1000 is below the minimum 1001");
    /* Extensions after i= are allowed and ignored. */
    msg = "r=" R5802_CNONCE "3rfc,s=QSXCR+Q6sek8bf92,i=4096,x=anything=goes";
    ck_assert_int_eq(server_first_rc(msg, strlen(msg), 0, err, sizeof(err)), 0);
}
END_TEST

/* Runs the RFC 7677 exchange up to server-final, then feeds `sfinal`. */
static int server_final_rc(const char *sfinal, size_t len, char *err, size_t errcap)
{
    kw_scram s = {0};
    kw_scram_opts o = {
        .md = EVP_sha256(), .user = "user", .password = "pencil", .cnonce = R7677_CNONCE};
    const char *out;
    size_t outlen;
    ck_assert_int_eq(kw__scram_start(&s, &o, &out, &outlen), 0);
    ck_assert_int_eq(kw__scram_final(&s, R7677_SFIRST, strlen(R7677_SFIRST), &out, &outlen), 0);
    int rc = kw__scram_verify(&s, sfinal, len);
    snprintf(err, errcap, "%s", kw__scram_errstr(&s));
    if (rc)
        ck_assert(all_zero(s.server_sig, sizeof(s.server_sig)));
    kw__scram_free(&s);
    return rc;
}

START_TEST(server_final_rejections)
{
    char err[400];
    ck_assert_int_eq(server_final_rc("e=invalid-proof", 15, err, sizeof(err)), KW_ESASL);
    ck_assert_str_eq(err, "server error: invalid-proof");
    ck_assert_int_eq(server_final_rc("e=bad\x01text", 10, err, sizeof(err)), KW_ESASL);
    ck_assert_str_eq(err, "server error: bad?text");
    ck_assert_int_eq(server_final_rc("x=abc", 5, err, sizeof(err)), KW_EMALFORMED);
    ck_assert_str_eq(err, "server-final has no signature (v=)");
    ck_assert_int_eq(server_final_rc("v=", 2, err, sizeof(err)), KW_EMALFORMED);
    ck_assert_int_eq(server_final_rc("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4", 45, err,
                                     sizeof(err)),
                     KW_EMALFORMED);
    ck_assert_str_eq(err, "server signature is not valid base64");
    ck_assert_int_eq(server_final_rc("v=AAAA", 6, err, sizeof(err)), KW_ESASL);
    ck_assert_ptr_nonnull(strstr(err, "server signature does not match"));
    ck_assert_int_eq(
        server_final_rc(R7677_SFINAL ",", strlen(R7677_SFINAL) + 1, err, sizeof(err)),
        KW_EMALFORMED);
    /* The right signature followed by an extension is still the right signature. */
    ck_assert_int_eq(server_final_rc(R7677_SFINAL ",x=1", strlen(R7677_SFINAL) + 4, err,
                                     sizeof(err)),
                     0);
    ck_assert_int_eq(server_final_rc("", 0, err, sizeof(err)), KW_EMALFORMED);
}
END_TEST

START_TEST(scram_calls_out_of_order_fail)
{
    kw_scram s = {0};
    ck_assert_int_eq(kw__scram_final(&s, R7677_SFIRST, strlen(R7677_SFIRST), &(const char *){0},
                                     &(size_t){0}),
                     KW_EINVAL);
    ck_assert_str_eq(kw__scram_errstr(&s), "server-first arrived out of order");
    kw__scram_free(&s);
    kw_scram_opts o = {
        .md = EVP_sha256(), .user = "user", .password = "pencil", .cnonce = R7677_CNONCE};
    const char *out;
    size_t len;
    ck_assert_int_eq(kw__scram_start(&s, &o, &out, &len), 0);
    ck_assert_int_eq(kw__scram_verify(&s, R7677_SFINAL, strlen(R7677_SFINAL)), KW_EINVAL);
    ck_assert_str_eq(kw__scram_errstr(&s), "server-final arrived out of order");
    kw__scram_free(&s);
}
END_TEST

START_TEST(scram_start_rejects_bad_options)
{
    kw_scram s = {0};
    const char *out;
    size_t len;
    kw_scram_opts o = {.md = EVP_sha256(), .user = "", .password = "p"};
    ck_assert_int_eq(kw__scram_start(&s, &o, &out, &len), KW_EINVAL);
    ck_assert_str_eq(kw__scram_errstr(&s), "user name is empty");
    o = (kw_scram_opts){.md = EVP_sha256(), .user = "u", .password = ""};
    ck_assert_int_eq(kw__scram_start(&s, &o, &out, &len), KW_EINVAL);
    ck_assert_str_eq(kw__scram_errstr(&s), "password is empty");
    o = (kw_scram_opts){.user = "u", .password = "p"};
    ck_assert_int_eq(kw__scram_start(&s, &o, &out, &len), KW_EINVAL);
    o = (kw_scram_opts){.md = EVP_sha256(), .user = "u", .password = "p", .cnonce = "a,b"};
    ck_assert_int_eq(kw__scram_start(&s, &o, &out, &len), KW_EINVAL);
    ck_assert_str_eq(kw__scram_errstr(&s),
                     "client nonce must be 1..1024 printable characters without ','");
    o.cnonce = "a b";
    ck_assert_int_eq(kw__scram_start(&s, &o, &out, &len), KW_EINVAL);
    o.cnonce = "";
    ck_assert_int_eq(kw__scram_start(&s, &o, &out, &len), KW_EINVAL);
    o = (kw_scram_opts){.md = EVP_sha256(), .user = "u", .password = "p"};
    o.min_iterations = 10;
    o.max_iterations = 5;
    ck_assert_int_eq(kw__scram_start(&s, &o, &out, &len), KW_EINVAL);
    ck_assert_str_eq(kw__scram_errstr(&s), "SCRAM iteration limits 10..5 make no sense");
    kw__scram_free(&s);
}
END_TEST

START_TEST(user_names_are_escaped)
{
    static const struct {
        const char *user, *want;
    } cases[] = {
        {"a=b,c", "n,,n=a=3Db=2Cc,r=nonce"},
        {"=", "n,,n==3D,r=nonce"},
        {",,", "n,,n==2C=2C,r=nonce"},
        {"=2C", "n,,n==3D2C,r=nonce"},
        {"alice", "n,,n=alice,r=nonce"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        kw_scram s = {0};
        kw_scram_opts o = {
            .md = EVP_sha256(), .user = cases[i].user, .password = "pw", .cnonce = "nonce"};
        const char *out;
        size_t len;
        ck_assert_int_eq(kw__scram_start(&s, &o, &out, &len), 0);
        expect_msg(out, len, cases[i].want, strlen(cases[i].want));
        kw__scram_free(&s);
    }
}
END_TEST

START_TEST(random_client_nonce_is_base64_and_fresh)
{
    char first[2][128];
    for (int k = 0; k < 2; k++) {
        kw_scram s = {0};
        kw_scram_opts o = {.md = EVP_sha512(), .user = "user", .password = "pw"};
        const char *out;
        size_t len;
        ck_assert_int_eq(kw__scram_start(&s, &o, &out, &len), 0);
        /* "n,,n=user,r=" + 32 base64 characters of 24 random bytes. */
        ck_assert_uint_eq(len, 12 + 32);
        ck_assert_mem_eq(out, "n,,n=user,r=", 12);
        for (size_t i = 12; i < len; i++) {
            char c = out[i];
            ck_assert(c != ',' && c != '=');
            ck_assert((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                      (c >= '0' && c <= '9') || c == '+' || c == '/');
        }
        memcpy(first[k], out, len);
        first[k][len] = '\0';
        ck_assert_uint_eq(s.cnonce_len, 32);
        kw__scram_free(&s);
    }
    ck_assert_str_ne(first[0], first[1]);
}
END_TEST

START_TEST(base64_decoder_is_strict)
{
    unsigned char out[16];
    ck_assert_int_eq(kw__scram_b64_decode("biws", 4, out, sizeof(out)), 3);
    ck_assert_mem_eq(out, "n,,", 3);
    ck_assert_int_eq(kw__scram_b64_decode("YQ==", 4, out, sizeof(out)), 1);
    ck_assert_int_eq(out[0], 'a');
    ck_assert_int_eq(kw__scram_b64_decode("YWI=", 4, out, sizeof(out)), 2);
    ck_assert_mem_eq(out, "ab", 2);
    ck_assert_int_eq(kw__scram_b64_decode("", 0, out, sizeof(out)), 0);
    ck_assert_int_eq(kw__scram_b64_decode("YQ=", 3, out, sizeof(out)), -1);
    ck_assert_int_eq(kw__scram_b64_decode("Y===", 4, out, sizeof(out)), -1);
    ck_assert_int_eq(kw__scram_b64_decode("YQ==YQ==", 8, out, sizeof(out)), -1);
    ck_assert_int_eq(kw__scram_b64_decode("YQ=a", 4, out, sizeof(out)), -1);
    ck_assert_int_eq(kw__scram_b64_decode("Y Q=", 4, out, sizeof(out)), -1);
    ck_assert_int_eq(kw__scram_b64_decode("-_==", 4, out, sizeof(out)), -1);
    ck_assert_int_eq(kw__scram_b64_decode("YWJj", 4, out, 2), -1);
}
END_TEST

/*
 * The server's side of SCRAM written out with OpenSSL directly, to check the
 * SHA-512 path (no RFC publishes a SCRAM-SHA-512 vector).
 */
static void server_side(const EVP_MD *md, const char *password, const unsigned char *salt,
                        size_t salt_len, int iter, const char *auth, char *proof_b64,
                        char *sig_b64)
{
    unsigned char salted[64], ck[64], sk[64], stored[64], csig[64], ssig[64], proof[64];
    unsigned int n = (unsigned)EVP_MD_size(md), l;
    ck_assert(PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len, iter, md,
                                (int)n, salted));
    HMAC(md, salted, (int)n, (const unsigned char *)"Client Key", 10, ck, &l);
    HMAC(md, salted, (int)n, (const unsigned char *)"Server Key", 10, sk, &l);
    EVP_Digest(ck, n, stored, &l, md, NULL);
    HMAC(md, stored, (int)n, (const unsigned char *)auth, strlen(auth), csig, &l);
    HMAC(md, sk, (int)n, (const unsigned char *)auth, strlen(auth), ssig, &l);
    for (unsigned i = 0; i < n; i++)
        proof[i] = ck[i] ^ csig[i];
    EVP_EncodeBlock((unsigned char *)proof_b64, proof, (int)n);
    EVP_EncodeBlock((unsigned char *)sig_b64, ssig, (int)n);
}

static kw_sasl_config scram_cfg(const char *mech, const char *user, const char *pw,
                                const char *cnonce)
{
    return (kw_sasl_config){
        .mechanism = mech, .username = user, .password = pw, .scram_cnonce = cnonce};
}

START_TEST(sasl_scram_sha256_runs_the_rfc_exchange)
{
    kw_sasl s;
    kw_sasl_config cfg = scram_cfg("scram-sha-256", "user", "pencil", R7677_CNONCE);
    ck_assert_int_eq(kw__sasl_init(&s, &cfg), 0);
    ck_assert_str_eq(kw__sasl_mechanism(&s), "SCRAM-SHA-256");
    const uint8_t *out;
    size_t len;
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), 0);
    EXPECT_STR(out, len, R7677_CFIRST);
    ck_assert_int_eq(kw__sasl_step(&s, R7677_SFIRST, strlen(R7677_SFIRST), &out, &len),
                     KW_SASL_CONTINUE);
    EXPECT_STR(out, len, R7677_CFINAL);
    ck_assert_int_eq(kw__sasl_step(&s, R7677_SFINAL, strlen(R7677_SFINAL), &out, &len),
                     KW_SASL_DONE);
    ck_assert_ptr_null(out);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(s.phase, KW_SASL_FINISHED);
    ck_assert_str_eq(kw__sasl_errstr(&s), "");
    /* A further server message is a protocol error, not a silent success. */
    ck_assert_int_eq(kw__sasl_step(&s, "x", 1, &out, &len), KW_EINVAL);
    ck_assert_ptr_null(out);
    kw__sasl_free(&s);
    ck_assert(all_zero(&s, sizeof(s)));
}
END_TEST

START_TEST(sasl_scram_sha512_matches_an_independent_server)
{
    kw_sasl s;
    kw_sasl_config cfg = scram_cfg("SCRAM-SHA-512", "alice", "alice-secret", "clientnonce");
    ck_assert_int_eq(kw__sasl_init(&s, &cfg), 0);
    ck_assert_str_eq(kw__sasl_mechanism(&s), "SCRAM-SHA-512");
    const uint8_t *out;
    size_t len;
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), 0);
    EXPECT_STR(out, len, "n,,n=alice,r=clientnonce");
    /* Salt "kwal-salt-bytes!" in base64. */
    const char *sfirst = "r=clientnonceSERVER,s=a3dhbC1zYWx0LWJ5dGVzIQ==,i=4096";
    ck_assert_int_eq(kw__sasl_step(&s, sfirst, strlen(sfirst), &out, &len), KW_SASL_CONTINUE);
    char auth[256], proof[100], sig[100], want[256], sfinal[120];
    snprintf(auth, sizeof(auth), "n=alice,r=clientnonce,%s,c=biws,r=clientnonceSERVER", sfirst);
    server_side(EVP_sha512(), "alice-secret", (const unsigned char *)"kwal-salt-bytes!", 16, 4096,
                auth, proof, sig);
    ck_assert_uint_eq(strlen(proof), 88); /* 64 bytes */
    int n = snprintf(want, sizeof(want), "c=biws,r=clientnonceSERVER,p=%s", proof);
    expect_msg(out, len, want, (size_t)n);
    n = snprintf(sfinal, sizeof(sfinal), "v=%s", sig);
    ck_assert_int_eq(kw__sasl_step(&s, sfinal, (size_t)n, &out, &len), KW_SASL_DONE);
    kw__sasl_free(&s);
}
END_TEST

START_TEST(sasl_scram_failure_names_user_and_mechanism)
{
    kw_sasl s;
    kw_sasl_config cfg = scram_cfg("SCRAM-SHA-256", "user", "pencil", R7677_CNONCE);
    ck_assert_int_eq(kw__sasl_init(&s, &cfg), 0);
    const uint8_t *out;
    size_t len;
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), 0);
    ck_assert_int_eq(kw__sasl_step(&s, R7677_SFIRST, strlen(R7677_SFIRST), &out, &len),
                     KW_SASL_CONTINUE);
    const char *bad = "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
    ck_assert_int_eq(kw__sasl_step(&s, bad, strlen(bad), &out, &len), KW_ESASL);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(kw__sasl_errstr(&s),
                     "SASL authentication failed for user user (SCRAM-SHA-256): server "
                     "signature does not match: the server does not know the password");
    /* Sticky until the next start. */
    ck_assert_int_eq(kw__sasl_step(&s, R7677_SFINAL, strlen(R7677_SFINAL), &out, &len),
                     KW_ESASL);
    /* Re-authentication starts cleanly on the same state. */
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), 0);
    EXPECT_STR(out, len, R7677_CFIRST);
    ck_assert_str_eq(kw__sasl_errstr(&s), "");
    ck_assert_int_eq(kw__sasl_step(&s, R7677_SFIRST, strlen(R7677_SFIRST), &out, &len),
                     KW_SASL_CONTINUE);
    ck_assert_int_eq(kw__sasl_step(&s, R7677_SFINAL, strlen(R7677_SFINAL), &out, &len),
                     KW_SASL_DONE);
    kw__sasl_free(&s);

    cfg = scram_cfg("SCRAM-SHA-512", "alice", "wrong", NULL);
    ck_assert_int_eq(kw__sasl_init(&s, &cfg), 0);
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), 0);
    const char *msg = "Authentication failed during authentication due to invalid credentials "
                      "with SASL mechanism SCRAM-SHA-512";
    ck_assert_int_eq(kw__sasl_server_error(&s, msg, strlen(msg)), KW_ESASL);
    ck_assert_str_eq(kw__sasl_errstr(&s),
                     "SASL authentication failed for user alice (SCRAM-SHA-512): Authentication "
                     "failed during authentication due to invalid credentials with SASL "
                     "mechanism SCRAM-SHA-512");
    ck_assert_int_eq(kw__sasl_server_error(&s, NULL, 0), KW_ESASL);
    ck_assert_str_eq(kw__sasl_errstr(&s), "SASL authentication failed for user alice "
                                          "(SCRAM-SHA-512): the broker refused the credentials");
    kw__sasl_free(&s);
}
END_TEST

START_TEST(sasl_scram_server_first_error_carries_detail)
{
    kw_sasl s;
    kw_sasl_config cfg = scram_cfg("SCRAM-SHA-512", "alice", "pw", "abc");
    cfg.scram_min_iterations = 8192;
    ck_assert_int_eq(kw__sasl_init(&s, &cfg), 0);
    const uint8_t *out;
    size_t len;
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), 0);
    const char *sfirst = "r=abcdef,s=QSXCR+Q6sek8bf92,i=4096";
    ck_assert_int_eq(kw__sasl_step(&s, sfirst, strlen(sfirst), &out, &len), KW_ESASL);
    ck_assert_str_eq(kw__sasl_errstr(&s), "SASL authentication failed for user alice "
                                          "(SCRAM-SHA-512): iteration count 4096 is below the "
                                          "minimum 8192");
    kw__sasl_free(&s);
}
END_TEST

START_TEST(plain_message_bytes)
{
    kw_sasl s;
    kw_sasl_config cfg = {.mechanism = "PLAIN", .username = "alice", .password = "alice-secret"};
    ck_assert_int_eq(kw__sasl_init(&s, &cfg), 0);
    ck_assert_str_eq(kw__sasl_mechanism(&s), "PLAIN");
    const uint8_t *out;
    size_t len;
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), 0);
    EXPECT_STR(out, len, "\0alice\0alice-secret");
    ck_assert_uint_eq(len, 1 + 5 + 1 + 12);
    ck_assert_int_eq(kw__sasl_step(&s, "", 0, &out, &len), KW_SASL_DONE);
    ck_assert_ptr_null(out);
    ck_assert_ptr_null(s.out); /* the password-bearing message is gone */
    /* A second authentication gives the same bytes. */
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), 0);
    EXPECT_STR(out, len, "\0alice\0alice-secret");
    const char *msg = "Authentication failed: Invalid username or password";
    ck_assert_int_eq(kw__sasl_server_error(&s, msg, strlen(msg)), KW_ESASL);
    ck_assert_str_eq(kw__sasl_errstr(&s), "SASL authentication failed for user alice (PLAIN): "
                                          "Authentication failed: Invalid username or password");
    kw__sasl_free(&s);
}
END_TEST

/* GSSAPI's first step needs a host and Kerberos credentials; without them the reason is given. */
START_TEST(gssapi_without_a_host_or_credentials_fails_with_the_reason)
{
    kw_sasl s;
    const uint8_t *out;
    size_t len;
    kw_sasl_config cfg = {.mechanism = "GSSAPI"};
    ck_assert_int_eq(kw__sasl_init(&s, &cfg), 0);
    ck_assert_str_eq(kw__sasl_mechanism(&s), "GSSAPI");
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), KW_EINVAL);
    ck_assert_str_eq(kw__sasl_errstr(&s), "SASL authentication failed (GSSAPI): no broker host to "
                                          "ask a Kerberos ticket for");
    kw__sasl_free(&s);

    /* no credential cache and no realm: cyrus-sasl's Kerberos error comes through */
    setenv("KRB5CCNAME", "FILE:/nonexistent/kwal-test-ccache", 1);
    setenv("KRB5_CONFIG", "/dev/null", 1);
    cfg.server_host = "broker.invalid";
    cfg.kerberos_service_name = "kafka-test";
    ck_assert_int_eq(kw__sasl_init(&s, &cfg), 0);
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), KW_ESASL);
    ck_assert_ptr_null(out);
    const char *want = "SASL authentication failed (GSSAPI): no Kerberos ticket for "
                       "kafka-test/broker.invalid: ";
    ck_assert_msg(strncmp(kw__sasl_errstr(&s), want, strlen(want)) == 0, "%s", kw__sasl_errstr(&s));
    /* and again (KIP-368 re-authentication starts over): the same answer, nothing leaked */
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), KW_ESASL);
    kw__sasl_free(&s);
}
END_TEST

START_TEST(config_errors_are_explained)
{
    /* Not static: the extension arrays are compound literals with automatic storage. */
    const struct {
        kw_sasl_config cfg;
        int rc;
        const char *detail;
    } cases[] = {
        {{.mechanism = "GSSAPI", .kerberos_service_name = "kafka/broker1"},
         KW_EINVAL,
         "SASL GSSAPI: the Kerberos service name \"kafka/broker1\" is empty or has '/', '@' or "
         "a space"},
        {{.mechanism = "GSSAPI", .kerberos_service_name = ""},
         KW_EINVAL,
         "SASL GSSAPI: the Kerberos service name \"\" is empty or has '/', '@' or a space"},
        {{.mechanism = "SCRAM-SHA-1", .username = "u", .password = "p"},
         KW_EUNSUPPORTED,
         "SASL mechanism \"SCRAM-SHA-1\" is unknown (kwal offers PLAIN, SCRAM-SHA-256, "
         "SCRAM-SHA-512, OAUTHBEARER, GSSAPI, AWS_MSK_IAM)"},
        {{.mechanism = NULL}, KW_EINVAL, "SASL: no mechanism configured"},
        {{.mechanism = "PLAIN", .password = "p"}, KW_EINVAL, "SASL PLAIN: the user name is empty"},
        {{.mechanism = "PLAIN", .username = "bob", .password = ""},
         KW_EINVAL,
         "SASL PLAIN: the password for user bob is empty"},
        {{.mechanism = "SCRAM-SHA-256", .username = "", .password = "p"},
         KW_EINVAL,
         "SASL SCRAM-SHA-256: the user name is empty"},
        {{.mechanism = "OAUTHBEARER"},
         KW_EINVAL,
         "SASL OAUTHBEARER: configure exactly one of a token, a token file, a token callback "
         "or a credential document source (got 0)"},
        {{.mechanism = "OAUTHBEARER", .oauth_token = "a", .oauth_token_file = "/x"},
         KW_EINVAL,
         "SASL OAUTHBEARER: configure exactly one of a token, a token file, a token callback "
         "or a credential document source (got 2)"},
        {{.mechanism = "OAUTHBEARER", .oauth_token_file = ""},
         KW_EINVAL,
         "SASL OAUTHBEARER: the token file path is empty"},
        {{.mechanism = "OAUTHBEARER",
          .oauth_token = "t",
          .oauth_extensions = (const kw_sasl_extension[]){{"auth", "x"}},
          .oauth_extension_count = 1},
         KW_EINVAL,
         "SASL OAUTHBEARER: \"auth\" is reserved, not an extension"},
        {{.mechanism = "OAUTHBEARER",
          .oauth_token = "t",
          .oauth_extensions = (const kw_sasl_extension[]){{"trace1", "x"}},
          .oauth_extension_count = 1},
         KW_EINVAL,
         "SASL OAUTHBEARER: extension key \"trace1\" must be letters only"},
        {{.mechanism = "OAUTHBEARER",
          .oauth_token = "t",
          .oauth_extensions = (const kw_sasl_extension[]){{"trace", "a\x01"}},
          .oauth_extension_count = 1},
         KW_EINVAL,
         "SASL OAUTHBEARER: extension trace has an empty value or one with control characters"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        kw_sasl s;
        int rc = kw__sasl_init(&s, &cases[i].cfg);
        if (rc != cases[i].rc || strcmp(kw__sasl_errstr(&s), cases[i].detail) != 0)
            ck_abort_msg("case %zu: rc %d (%s)", i, rc, kw__sasl_errstr(&s));
        /* start keeps refusing with the same error. */
        const uint8_t *out = (const uint8_t *)"x";
        size_t len = 7;
        ck_assert_int_eq(kw__sasl_start(&s, &out, &len), cases[i].rc);
        ck_assert_ptr_null(out);
        ck_assert_uint_eq(len, 0);
        kw__sasl_free(&s);
    }
}
END_TEST

START_TEST(step_without_start_fails)
{
    kw_sasl s;
    kw_sasl_config cfg = {.mechanism = "PLAIN", .username = "a", .password = "b"};
    ck_assert_int_eq(kw__sasl_init(&s, &cfg), 0);
    const uint8_t *out;
    size_t len;
    ck_assert_int_eq(kw__sasl_step(&s, "", 0, &out, &len), KW_EINVAL);
    ck_assert_str_eq(kw__sasl_errstr(&s), "SASL authentication failed for user a (PLAIN): a "
                                          "server message arrived with no exchange in progress");
    kw__sasl_free(&s);
}
END_TEST

/* Starts OAUTHBEARER with cfg and returns the start result; *msg gets the message. */
static int oauth_start(kw_sasl *s, const kw_sasl_config *cfg, const uint8_t **out, size_t *len)
{
    ck_assert_int_eq(kw__sasl_init(s, cfg), 0);
    ck_assert_str_eq(kw__sasl_mechanism(s), "OAUTHBEARER");
    return kw__sasl_start(s, out, len);
}

START_TEST(oauthbearer_static_token_bytes)
{
    kw_sasl s;
    const uint8_t *out;
    size_t len;
    kw_sasl_config cfg = {.mechanism = "OAUTHBEARER", .oauth_token = "eyJhbGc.eyJzdWI-_x.sig=="};
    ck_assert_int_eq(oauth_start(&s, &cfg, &out, &len), 0);
    EXPECT_STR(out, len, "n,,\x01" "auth=Bearer eyJhbGc.eyJzdWI-_x.sig==\x01\x01");
    ck_assert_int_eq(kw__sasl_step(&s, "", 0, &out, &len), KW_SASL_DONE);
    ck_assert_ptr_null(out);
    kw__sasl_free(&s);

    kw_sasl_extension ext[] = {{"traceId", "123"}, {"logicalCluster", "lkc-1 x"}};
    cfg.oauth_extensions = ext;
    cfg.oauth_extension_count = 2;
    cfg.oauth_token = "tok";
    ck_assert_int_eq(oauth_start(&s, &cfg, &out, &len), 0);
    EXPECT_STR(out, len,
               "n,,\x01" "auth=Bearer tok\x01traceId=123\x01logicalCluster=lkc-1 x\x01\x01");
    kw__sasl_free(&s);
}
END_TEST

START_TEST(oauthbearer_bad_static_tokens)
{
    static const char *bad[] = {"", "a b", "abc\x01", "=abc", "ab=c", "tok\n\x01"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        kw_sasl s;
        const uint8_t *out;
        size_t len;
        kw_sasl_config cfg = {.mechanism = "OAUTHBEARER", .oauth_token = bad[i]};
        ck_assert_int_eq(oauth_start(&s, &cfg, &out, &len), KW_EINVAL);
        ck_assert_ptr_null(out);
        const char *want = i == 0 ? "SASL authentication failed (OAUTHBEARER): the configured "
                                    "token is empty"
                                  : "SASL authentication failed (OAUTHBEARER): the configured "
                                    "token holds characters a bearer token cannot have";
        ck_assert_str_eq(kw__sasl_errstr(&s), want);
        kw__sasl_free(&s);
    }
    /* A trailing newline on a static token is dropped like on a file. */
    kw_sasl s;
    const uint8_t *out;
    size_t len;
    kw_sasl_config cfg = {.mechanism = "OAUTHBEARER", .oauth_token = "tok\r\n"};
    ck_assert_int_eq(oauth_start(&s, &cfg, &out, &len), 0);
    EXPECT_STR(out, len, "n,,\x01" "auth=Bearer tok\x01\x01");
    kw__sasl_free(&s);
}
END_TEST

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(oauthbearer_token_file_is_reread)
{
    char path[] = "/tmp/kwal-sasl-token-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    write_file(path, "first.token\n", 12);
    kw_sasl s;
    const uint8_t *out;
    size_t len;
    kw_sasl_config cfg = {.mechanism = "OAUTHBEARER", .oauth_token_file = path};
    ck_assert_int_eq(oauth_start(&s, &cfg, &out, &len), 0);
    EXPECT_STR(out, len, "n,,\x01" "auth=Bearer first.token\x01\x01");
    ck_assert_int_eq(kw__sasl_step(&s, "", 0, &out, &len), KW_SASL_DONE);

    /* Rotated by a sidecar: the next authentication sees the new token. */
    write_file(path, "second.token\r\n", 14);
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), 0);
    EXPECT_STR(out, len, "n,,\x01" "auth=Bearer second.token\x01\x01");

    write_file(path, "\n", 1);
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), KW_EINVAL);
    char want[512];
    snprintf(want, sizeof(want), "SASL authentication failed (OAUTHBEARER): token file %s is empty",
             path);
    ck_assert_str_eq(kw__sasl_errstr(&s), want);

    write_file(path, "two words\n", 10);
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), KW_EINVAL);
    snprintf(want, sizeof(want),
             "SASL authentication failed (OAUTHBEARER): token file %s holds characters a bearer "
             "token cannot have",
             path);
    ck_assert_str_eq(kw__sasl_errstr(&s), want);

    /* Exactly the limit is fine; one byte more is not. */
    char *big = malloc(KW_SASL_TOKEN_MAX + 1);
    memset(big, 'a', KW_SASL_TOKEN_MAX + 1);
    write_file(path, big, KW_SASL_TOKEN_MAX);
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), 0);
    ck_assert_uint_eq(len, 16 + KW_SASL_TOKEN_MAX + 2);
    write_file(path, big, KW_SASL_TOKEN_MAX + 1);
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), KW_EINVAL);
    snprintf(want, sizeof(want),
             "SASL authentication failed (OAUTHBEARER): token file %s is longer than 65536 bytes",
             path);
    ck_assert_str_eq(kw__sasl_errstr(&s), want);
    free(big);

    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), KW_EIO);
    snprintf(want, sizeof(want),
             "SASL authentication failed (OAUTHBEARER): cannot open token file %s: No such file "
             "or directory",
             path);
    ck_assert_str_eq(kw__sasl_errstr(&s), want);
    kw__sasl_free(&s);
}
END_TEST

struct token_src {
    const char *token;
    int ret; /* used when token is NULL */
    int calls;
};

static int token_cb(void *ctx, char *buf, size_t cap)
{
    struct token_src *t = ctx;
    t->calls++;
    if (!t->token)
        return t->ret;
    size_t n = strlen(t->token);
    memcpy(buf, t->token, n < cap ? n : cap);
    return (int)n;
}

START_TEST(oauthbearer_token_callback)
{
    struct token_src src = {.token = "cb.token.1"};
    kw_sasl s;
    const uint8_t *out;
    size_t len;
    kw_sasl_config cfg = {
        .mechanism = "OAUTHBEARER", .oauth_token_cb = token_cb, .oauth_token_ctx = &src};
    ck_assert_int_eq(oauth_start(&s, &cfg, &out, &len), 0);
    EXPECT_STR(out, len, "n,,\x01" "auth=Bearer cb.token.1\x01\x01");
    ck_assert_int_eq(src.calls, 1);
    src.token = "cb.token.2";
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), 0);
    EXPECT_STR(out, len, "n,,\x01" "auth=Bearer cb.token.2\x01\x01");
    ck_assert_int_eq(src.calls, 2);

    src.token = "";
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), KW_EINVAL);
    ck_assert_str_eq(kw__sasl_errstr(&s),
                     "SASL authentication failed (OAUTHBEARER): the token callback is empty");
    src.token = "bad token";
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), KW_EINVAL);
    ck_assert_str_eq(kw__sasl_errstr(&s), "SASL authentication failed (OAUTHBEARER): the token "
                                          "callback holds characters a bearer token cannot have");
    /* A kwal code from the callback is passed on (the host may want to retry on KW_EAGAIN). */
    src.token = NULL;
    src.ret = KW_EAGAIN;
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), KW_EAGAIN);
    ck_assert_str_eq(kw__sasl_errstr(&s),
                     "SASL authentication failed (OAUTHBEARER): the token callback failed (-20: "
                     "resource temporarily unavailable)");
    src.ret = -1000;
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), KW_EINVAL);
    src.ret = (int)KW_SASL_TOKEN_MAX + 1;
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), KW_EINVAL);
    ck_assert_str_eq(kw__sasl_errstr(&s), "SASL authentication failed (OAUTHBEARER): the token "
                                          "callback is longer than 65536 bytes");
    ck_assert_int_eq(src.calls, 7);
    kw__sasl_free(&s);
}
END_TEST

START_TEST(oauthbearer_server_error_is_answered_then_fails)
{
    kw_sasl s;
    const uint8_t *out;
    size_t len;
    kw_sasl_config cfg = {.mechanism = "OAUTHBEARER", .oauth_token = "tok"};
    ck_assert_int_eq(oauth_start(&s, &cfg, &out, &len), 0);
    const char *json = "{\"status\":\"invalid_token\"}";
    ck_assert_int_eq(kw__sasl_step(&s, json, strlen(json), &out, &len), KW_SASL_CONTINUE);
    EXPECT_STR(out, len, "\x01");
    ck_assert_int_eq(kw__sasl_step(&s, "", 0, &out, &len), KW_ESASL);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(kw__sasl_errstr(&s),
                     "SASL authentication failed (OAUTHBEARER): {\"status\":\"invalid_token\"}");

    /* The usual Kafka ending: the \x01 draws an error code with a message. */
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), 0);
    json = "{\"status\":\"invalid_token\",\n\"scope\":\"kafka\"}";
    ck_assert_int_eq(kw__sasl_step(&s, json, strlen(json), &out, &len), KW_SASL_CONTINUE);
    const char *msg = "Authentication failed during authentication due to invalid credentials "
                      "with SASL mechanism OAUTHBEARER";
    ck_assert_int_eq(kw__sasl_server_error(&s, msg, strlen(msg)), KW_ESASL);
    ck_assert_str_eq(kw__sasl_errstr(&s),
                     "SASL authentication failed (OAUTHBEARER): {\"status\":\"invalid_token\",?"
                     "\"scope\":\"kafka\"} (broker: Authentication failed during authentication "
                     "due to invalid credentials with SASL mechanism OAUTHBEARER)");

    /* Kafka 4's ending: the error message is the document again; it is said once. */
    ck_assert_int_eq(kw__sasl_start(&s, &out, &len), 0);
    json = "{\"status\":\"invalid_token\"}";
    ck_assert_int_eq(kw__sasl_step(&s, json, strlen(json), &out, &len), KW_SASL_CONTINUE);
    ck_assert_int_eq(kw__sasl_server_error(&s, json, strlen(json)), KW_ESASL);
    ck_assert_str_eq(kw__sasl_errstr(&s),
                     "SASL authentication failed (OAUTHBEARER): {\"status\":\"invalid_token\"}");
    kw__sasl_free(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sasl");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, rfc5802_sha1_vector);
    tcase_add_test(tc, rfc7677_sha256_vector);
    tcase_add_test(tc, tampered_server_signature_is_rejected);
    tcase_add_test(tc, server_first_rejections);
    tcase_add_test(tc, server_first_nul_and_oversized_values);
    tcase_add_test(tc, iteration_minimum_is_configurable);
    tcase_add_test(tc, server_final_rejections);
    tcase_add_test(tc, scram_calls_out_of_order_fail);
    tcase_add_test(tc, scram_start_rejects_bad_options);
    tcase_add_test(tc, user_names_are_escaped);
    tcase_add_test(tc, random_client_nonce_is_base64_and_fresh);
    tcase_add_test(tc, base64_decoder_is_strict);
    tcase_add_test(tc, sasl_scram_sha256_runs_the_rfc_exchange);
    tcase_add_test(tc, sasl_scram_sha512_matches_an_independent_server);
    tcase_add_test(tc, sasl_scram_failure_names_user_and_mechanism);
    tcase_add_test(tc, sasl_scram_server_first_error_carries_detail);
    tcase_add_test(tc, plain_message_bytes);
    tcase_add_test(tc, config_errors_are_explained);
    tcase_add_test(tc, gssapi_without_a_host_or_credentials_fails_with_the_reason);
    tcase_add_test(tc, step_without_start_fails);
    tcase_add_test(tc, oauthbearer_static_token_bytes);
    tcase_add_test(tc, oauthbearer_bad_static_tokens);
    tcase_add_test(tc, oauthbearer_token_file_is_reread);
    tcase_add_test(tc, oauthbearer_token_callback);
    tcase_add_test(tc, oauthbearer_server_error_is_answered_then_fails);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
