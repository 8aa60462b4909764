/* The OAUTHBEARER and AWS_MSK_IAM credential documents: JSON (jansson) checked field by field. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "net/cred.h"
#include "net/sasl.h"

__attribute__((format(printf, 3, 4))) static int bad(char *detail, size_t len, const char *fmt,
                                                     ...)
{
    if (detail && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, len, fmt, ap);
        va_end(ap);
    }
    return KW_ESASL;
}

static void wipe_str(char *p)
{
    if (p) {
        OPENSSL_cleanse(p, strlen(p));
        free(p);
    }
}

void kw__cred_doc_clear(kw_cred_doc *doc)
{
    if (!doc)
        return;
    wipe_str(doc->token);
    wipe_str(doc->zid);
    for (size_t i = 0; i < doc->ext_count; i++) {
        wipe_str(doc->ext[i].key);
        wipe_str(doc->ext[i].value);
    }
    free(doc->ext);
    wipe_str(doc->access_key);
    wipe_str(doc->secret_key);
    wipe_str(doc->session_token);
    wipe_str(doc->user_agent);
    memset(doc, 0, sizeof(*doc));
}

void kw__cred_doc_move(kw_cred_doc *dst, kw_cred_doc *src)
{
    kw__cred_doc_clear(dst);
    *dst = *src;
    memset(src, 0, sizeof(*src));
}

/* Printable ASCII without space: what AWS keys and session tokens are made of. */
static bool ascii_word(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            return false;
    return true;
}

/* No control characters (they would break the header or message they go into); UTF-8 is fine. */
static bool no_controls(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

/*
 * A string member: 0 with *out a copy (NULL when absent or null and not
 * required), or KW_ESASL naming the field.  jansson has already refused
 * invalid UTF-8 and (without JSON_ALLOW_NUL) strings holding NUL.
 */
static int get_string(json_t *root, const char *name, bool required, char **out, char *detail,
                      size_t dlen)
{
    *out = NULL;
    json_t *v = json_object_get(root, name);
    if (!v || json_is_null(v)) {
        if (required)
            return bad(detail, dlen, "field \"%s\" is missing", name);
        return 0;
    }
    if (!json_is_string(v))
        return bad(detail, dlen, "field \"%s\" is not a string", name);
    const char *s = json_string_value(v);
    if (!s[0]) {
        if (required)
            return bad(detail, dlen, "field \"%s\" is empty", name);
        return 0; /* an empty optional says "none", as Go's omitempty writes it */
    }
    *out = strdup(s);
    return *out ? 0 : KW_ENOMEM;
}

static int parse_oauth(json_t *root, kw_cred_doc *d, char *detail, size_t dlen)
{
    int rc = get_string(root, "token", true, &d->token, detail, dlen);
    if (rc)
        return rc;
    size_t tl = strlen(d->token);
    if (tl > KW_SASL_TOKEN_MAX)
        return bad(detail, dlen, "field \"token\" is longer than %u bytes", KW_SASL_TOKEN_MAX);
    if (!kw__sasl_token_ok(d->token, tl))
        return bad(detail, dlen,
                   "field \"token\" has characters a bearer token cannot have (RFC 6750 "
                   "b64token: letters, digits, -._~+/ and trailing =)");
    if ((rc = get_string(root, "zid", false, &d->zid, detail, dlen)) != 0)
        return rc;
    if (d->zid && !no_controls(d->zid))
        return bad(detail, dlen, "field \"zid\" has control characters");
    json_t *ext = json_object_get(root, "extensions");
    if (!ext || json_is_null(ext))
        return 0;
    if (!json_is_object(ext))
        return bad(detail, dlen, "field \"extensions\" is not an object");
    size_t n = json_object_size(ext);
    if (n > KW_CRED_MAX_EXTENSIONS)
        return bad(detail, dlen, "field \"extensions\" has %zu members, more than %u", n,
                   KW_CRED_MAX_EXTENSIONS);
    if (n == 0)
        return 0;
    d->ext = calloc(n, sizeof(*d->ext));
    if (!d->ext)
        return KW_ENOMEM;
    const char *key;
    json_t *val;
    json_object_foreach(ext, key, val)
    {
        /* Keys that would not survive the %x01-separated message, quoted bounded in the detail. */
        if (!kw__sasl_ext_key_ok(key))
            return bad(detail, dlen,
                       "extension key \"%.64s\" must be letters only (RFC 7628 key)", key);
        if (strcmp(key, "auth") == 0)
            return bad(detail, dlen, "extension key \"auth\" is reserved for the token");
        if (!json_is_string(val))
            return bad(detail, dlen, "extension \"%s\" is not a string", key);
        const char *v = json_string_value(val);
        if (!kw__sasl_ext_value_ok(v))
            return bad(detail, dlen,
                       "extension \"%s\" has an empty value or characters RFC 7628 does not "
                       "allow (%%x21-7E, space, tab, CR, LF)",
                       key);
        kw_cred_kv *kv = &d->ext[d->ext_count++];
        kv->key = strdup(key);
        kv->value = strdup(v);
        if (!kv->key || !kv->value)
            return KW_ENOMEM;
    }
    return 0;
}

static int parse_aws(json_t *root, kw_cred_doc *d, char *detail, size_t dlen)
{
    static const struct {
        const char *name;
        bool required, word;
        size_t off;
    } fields[] = {
        {"AccessKey", true, true, offsetof(kw_cred_doc, access_key)},
        {"SecretKey", true, true, offsetof(kw_cred_doc, secret_key)},
        {"SessionToken", false, true, offsetof(kw_cred_doc, session_token)},
        {"UserAgent", false, false, offsetof(kw_cred_doc, user_agent)},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        char **slot = (char **)((char *)d + fields[i].off);
        int rc = get_string(root, fields[i].name, fields[i].required, slot, detail, dlen);
        if (rc)
            return rc;
        if (*slot && fields[i].word && !ascii_word(*slot))
            return bad(detail, dlen, "field \"%s\" has characters other than printable ASCII",
                       fields[i].name);
        if (*slot && !fields[i].word && !no_controls(*slot))
            return bad(detail, dlen, "field \"%s\" has control characters", fields[i].name);
    }
    return 0;
}

int kw__cred_parse(int kind, const void *json, size_t len, kw_cred_doc *out, char *detail,
                   size_t detail_len)
{
    memset(out, 0, sizeof(*out));
    if (detail && detail_len)
        detail[0] = '\0';
    if (kind != KW_CRED_OAUTH && kind != KW_CRED_AWS)
        return bad(detail, detail_len, "unknown credential kind %d", kind);
    if (len > KW_CRED_DOC_MAX)
        return bad(detail, detail_len, "the document is longer than %u bytes", KW_CRED_DOC_MAX);
    json_error_t je;
    /* Two "token" members would leave which one counts to the parser: refuse them. */
    json_t *root = json_loadb(json ? json : "", json ? len : 0, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return bad(detail, detail_len, "not JSON: %.160s (line %d, column %d)", je.text,
                   je.line, je.column);
    int rc;
    if (!json_is_object(root)) {
        rc = bad(detail, detail_len, "the document is not a JSON object");
    } else {
        out->kind = kind;
        rc = kind == KW_CRED_OAUTH ? parse_oauth(root, out, detail, detail_len)
                                   : parse_aws(root, out, detail, detail_len);
    }
    /* jansson keeps its own copies of the strings, secrets included; it frees them unwiped. */
    json_decref(root);
    if (rc) {
        if (rc == KW_ENOMEM)
            bad(detail, detail_len, "out of memory");
        kw__cred_doc_clear(out);
    }
    return rc;
}
