/* WAL record format: GreptimeDB's JSON record key, written as its serde_json writes it and read
 * leniently. */
#include <stdlib.h>
#include <string.h>

#include "record.h"

static int fail(const char **why, const char *text, int err)
{
    if (why)
        *why = text;
    return err;
}

/* ================================================================ JSON */

/*
 * The length of the UTF-8 sequence at p (at most n bytes there), or 0 when it
 * is not a valid one: overlong forms, surrogates and code points past U+10FFFF
 * are refused, as Rust's str does.
 */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return len;
}

static bool utf8_valid(const uint8_t *p, size_t n)
{
    while (n) {
        size_t k = utf8_seq(p, n);
        if (!k)
            return false;
        p += k;
        n -= k;
    }
    return true;
}

typedef struct json {
    const uint8_t *p;
    const uint8_t *end;
    const char *why;
} json;

static bool jerr(json *j, const char *why)
{
    if (!j->why)
        j->why = why;
    return false;
}

static void jws(json *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

/* Consumes c after optional white space. */
static bool jexpect(json *j, uint8_t c, const char *why)
{
    jws(j);
    if (j->p >= j->end || *j->p != c)
        return jerr(j, why);
    j->p++;
    return true;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads the 4 hex digits of a \u escape at p (4 bytes there); -1 if not hex. */
static int32_t hex4(const uint8_t *p)
{
    int32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = v << 4 | h;
    }
    return v;
}

/*
 * Walks the escape at p (just past the backslash; end bounds it): returns the
 * bytes it takes after the backslash and the code point, or 0 when bad.
 */
static size_t escape_at(const uint8_t *p, const uint8_t *end, uint32_t *cp, const char **why)
{
    if (p >= end) {
        *why = "string: escape cut short";
        return 0;
    }
    switch (*p) {
    case '"':
    case '\\':
    case '/':
        *cp = *p;
        return 1;
    case 'b':
        *cp = 0x08;
        return 1;
    case 'f':
        *cp = 0x0C;
        return 1;
    case 'n':
        *cp = 0x0A;
        return 1;
    case 'r':
        *cp = 0x0D;
        return 1;
    case 't':
        *cp = 0x09;
        return 1;
    case 'u':
        break;
    default:
        *why = "string: unknown escape";
        return 0;
    }
    int32_t u = end - p >= 5 ? hex4(p + 1) : -1;
    if (u < 0) {
        *why = "string: bad \\u escape";
        return 0;
    }
    if (u >= 0xDC00 && u <= 0xDFFF) {
        *why = "string: lone low surrogate";
        return 0;
    }
    if (u < 0xD800 || u > 0xDBFF) {
        *cp = (uint32_t)u;
        return 5;
    }
    /* a high surrogate must be followed by \u and a low one */
    int32_t lo = end - p >= 11 && p[5] == '\\' && p[6] == 'u' ? hex4(p + 7) : -1;
    if (lo < 0xDC00 || lo > 0xDFFF) {
        *why = "string: lone high surrogate";
        return 0;
    }
    *cp = 0x10000 + (((uint32_t)u - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
    return 11;
}

/*
 * A string at j->p (which must be '"'): checks it and returns the text between
 * the quotes as it is written, and whether it holds escapes.
 */
static bool jstring(json *j, const uint8_t **raw, size_t *raw_len, bool *escaped)
{
    jws(j);
    if (j->p >= j->end || *j->p != '"')
        return jerr(j, "expected a string");
    const uint8_t *s = ++j->p;
    bool esc = false;
    while (j->p < j->end) {
        uint8_t c = *j->p;
        if (c == '"') {
            *raw = s;
            *raw_len = (size_t)(j->p - s);
            *escaped = esc;
            j->p++;
            return true;
        }
        if (c == '\\') {
            uint32_t cp;
            const char *why = NULL;
            size_t n = escape_at(j->p + 1, j->end, &cp, &why);
            if (!n)
                return jerr(j, why);
            j->p += 1 + n;
            esc = true;
        } else if (c < 0x20) {
            return jerr(j, "string: raw control character");
        } else {
            size_t n = utf8_seq(j->p, (size_t)(j->end - j->p));
            if (!n)
                return jerr(j, "string: invalid UTF-8");
            j->p += n;
        }
    }
    return jerr(j, "string: no closing quote");
}

static size_t utf8_put(uint8_t *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | cp >> 6);
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | cp >> 18);
    o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* Unescapes a string jstring accepted into buf; its length, or -1 when cap is too small. */
static long unescape(const uint8_t *raw, size_t n, uint8_t *buf, size_t cap)
{
    const uint8_t *p = raw, *end = raw + n;
    size_t o = 0;
    while (p < end) {
        uint8_t tmp[4];
        size_t k, adv;
        if (*p == '\\') {
            uint32_t cp = 0;
            const char *why;
            adv = 1 + escape_at(p + 1, end, &cp, &why);
            k = utf8_put(tmp, cp);
        } else {
            tmp[0] = *p;
            k = adv = 1;
        }
        if (cap - o < k)
            return -1;
        memcpy(buf + o, tmp, k);
        o += k;
        p += adv;
    }
    return (long)o;
}

/* A field or variant name, unescaped when needed, compared with a known name. */
typedef struct jname {
    uint8_t b[16];
    long n; /* -1: longer than any name kwal knows */
} jname;

static bool jname_read(json *j, jname *nm)
{
    const uint8_t *raw;
    size_t n;
    bool esc;
    if (!jstring(j, &raw, &n, &esc))
        return false;
    nm->n = esc ? unescape(raw, n, nm->b, sizeof(nm->b))
                : (n <= sizeof(nm->b) ? (memcpy(nm->b, raw, n), (long)n) : -1);
    return true;
}

static bool jname_is(const jname *nm, const char *s)
{
    size_t n = strlen(s);
    return nm->n == (long)n && memcmp(nm->b, s, n) == 0;
}

/* The ways an unsigned integer can be wrong, in the order of the per-field texts below. */
enum { NUM_NEGATIVE, NUM_FRACTION, NUM_OVERFLOW, NUM_NOT_A_NUMBER, NUM_LEADING_ZERO };
#define NUM_WHY(f)                                                                                 \
    {                                                                                              \
        f ": negative number", f ": not an integer", f ": larger than 64 bits",                    \
            f ": not a number", f ": number with a leading zero"                                   \
    }
static const char *const why_version[] = NUM_WHY("version");
static const char *const why_entry_id[] = NUM_WHY("entry_id");
static const char *const why_region_id[] = NUM_WHY("ns.region_id");
static const char *const why_middle[] = NUM_WHY("tp: Middle index");

/* An unsigned 64-bit integer as serde reads one into u64: digits only, no sign, fraction or
 * exponent. */
static bool ju64(json *j, uint64_t *out, const char *const whys[])
{
    jws(j);
    if (j->p < j->end && *j->p == '-')
        return jerr(j, whys[NUM_NEGATIVE]);
    if (j->p >= j->end || *j->p < '0' || *j->p > '9')
        return jerr(j, whys[NUM_NOT_A_NUMBER]);
    if (*j->p == '0' && j->end - j->p > 1 && j->p[1] >= '0' && j->p[1] <= '9')
        return jerr(j, whys[NUM_LEADING_ZERO]);
    uint64_t v = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        unsigned d = (unsigned)(*j->p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return jerr(j, whys[NUM_OVERFLOW]);
        v = v * 10 + d;
        j->p++;
    }
    if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
        return jerr(j, whys[NUM_FRACTION]);
    *out = v;
    return true;
}

/* serde_json's recursion limit: deeper input is refused rather than walked. */
#define JSON_MAX_DEPTH 128

static bool jliteral(json *j, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
        return jerr(j, "expected a JSON value");
    j->p += n;
    return true;
}

static bool jdigits(json *j)
{
    if (j->p >= j->end || *j->p < '0' || *j->p > '9')
        return jerr(j, "bad number");
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return true;
}

/* Any JSON number, checked against the grammar (for the values of unknown fields). */
static bool jnumber(json *j)
{
    if (*j->p == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (!jdigits(j))
        return false;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!jdigits(j))
            return false;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (!jdigits(j))
            return false;
    }
    return true;
}

/* Steps over one well-formed JSON value: the value of a field kwal does not know. */
static bool jskip(json *j, int depth)
{
    jws(j);
    if (j->p >= j->end)
        return jerr(j, "expected a JSON value");
    const uint8_t *raw;
    size_t n;
    bool esc;
    switch (*j->p) {
    case '"':
        return jstring(j, &raw, &n, &esc);
    case 't':
        return jliteral(j, "true");
    case 'f':
        return jliteral(j, "false");
    case 'n':
        return jliteral(j, "null");
    case '{':
    case '[': {
        if (depth >= JSON_MAX_DEPTH)
            return jerr(j, "JSON nested too deep");
        uint8_t close = *j->p == '{' ? '}' : ']';
        bool object = close == '}';
        j->p++;
        jws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            return true;
        }
        for (;;) {
            if (object && (!jstring(j, &raw, &n, &esc) || !jexpect(j, ':', "expected ':'")))
                return false;
            if (!jskip(j, depth + 1))
                return false;
            jws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            return jexpect(j, close, object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    default:
        if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
            return jnumber(j);
        return jerr(j, "expected a JSON value");
    }
}

/*
 * The fields of a JSON object, one at a time: calls field() with each name
 * positioned at its value.  Refuses a trailing comma and an empty name list
 * needs no special case (the caller checks what is missing).
 */
typedef bool jfield_fn(json *j, const jname *name, void *ctx);

static bool jobject(json *j, jfield_fn *field, void *ctx, const char *not_object)
{
    if (!jexpect(j, '{', not_object))
        return false;
    jws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return true;
    }
    for (;;) {
        jname nm;
        if (!jname_read(j, &nm) || !jexpect(j, ':', "expected ':'") || !field(j, &nm, ctx))
            return false;
        jws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        return jexpect(j, '}', "expected ',' or '}'");
    }
}

/* What the GreptimeDB decoder has seen so far. */
typedef struct gdb_ctx {
    kw_wal_record_key *k;
    uint64_t version;
    bool has_version, has_tp, has_entry_id, has_ns, has_region, has_topic;
} gdb_ctx;

static bool gdb_ns_field(json *j, const jname *nm, void *arg)
{
    gdb_ctx *c = arg;
    if (jname_is(nm, "region_id")) {
        if (c->has_region)
            return jerr(j, "ns: duplicate field region_id");
        c->has_region = true;
        return ju64(j, &c->k->region_id, why_region_id);
    }
    if (jname_is(nm, "topic")) {
        if (c->has_topic)
            return jerr(j, "ns: duplicate field topic");
        c->has_topic = true;
        const uint8_t *raw;
        size_t n;
        jws(j);
        if (j->p >= j->end || *j->p != '"')
            return jerr(j, "ns.topic: not a string");
        if (!jstring(j, &raw, &n, &c->k->topic_escaped))
            return false;
        c->k->topic = (kw_str){(const char *)raw, (int32_t)n};
        return true;
    }
    return jskip(j, 2);
}

/* tp: "Full" | "First" | "Last" | {"Middle": n}; serde also takes {"Full": null} and the like. */
static bool gdb_tp(json *j, kw_wal_record_key *k)
{
    jws(j);
    bool object = j->p < j->end && *j->p == '{';
    if (object)
        j->p++;
    else if (j->p >= j->end || *j->p != '"')
        return jerr(j, "tp: not a string or an object");
    jname nm;
    if (!jname_read(j, &nm))
        return false;
    if (jname_is(&nm, "Full"))
        k->kind = KW_WAL_PART_FULL;
    else if (jname_is(&nm, "First"))
        k->kind = KW_WAL_PART_FIRST;
    else if (jname_is(&nm, "Last"))
        k->kind = KW_WAL_PART_LAST;
    else if (jname_is(&nm, "Middle"))
        k->kind = KW_WAL_PART_MIDDLE;
    else
        return jerr(j, "tp: unknown part type");
    k->index = k->kind == KW_WAL_PART_LAST ? KW_WAL_PART_INDEX_NONE : 0;
    if (!object) {
        if (k->kind == KW_WAL_PART_MIDDLE)
            return jerr(j, "tp: Middle without its index");
        return true;
    }
    if (!jexpect(j, ':', "expected ':'"))
        return false;
    if (k->kind == KW_WAL_PART_MIDDLE) {
        uint64_t i;
        if (!ju64(j, &i, why_middle))
            return false;
        if (i == 0)
            return jerr(j, "tp: Middle index 0 (GreptimeDB numbers middles from 1)");
        if (i >= KW_WAL_PART_INDEX_NONE)
            return jerr(j, "tp: Middle index too large");
        k->index = (uint32_t)i;
    } else {
        jws(j);
        if (j->end - j->p < 4 || memcmp(j->p, "null", 4) != 0)
            return jerr(j, "tp: a unit variant's value must be null");
        j->p += 4;
    }
    return jexpect(j, '}', "tp: more than one variant");
}

static bool gdb_field(json *j, const jname *nm, void *arg)
{
    gdb_ctx *c = arg;
    if (jname_is(nm, "version")) {
        if (c->has_version)
            return jerr(j, "duplicate field version");
        c->has_version = true;
        if (!ju64(j, &c->version, why_version))
            return false;
        if (c->version > UINT32_MAX)
            return jerr(j, "version: larger than 32 bits");
        return true;
    }
    if (jname_is(nm, "tp")) {
        if (c->has_tp)
            return jerr(j, "duplicate field tp");
        c->has_tp = true;
        return gdb_tp(j, c->k);
    }
    if (jname_is(nm, "entry_id")) {
        if (c->has_entry_id)
            return jerr(j, "duplicate field entry_id");
        c->has_entry_id = true;
        return ju64(j, &c->k->entry_id, why_entry_id);
    }
    if (jname_is(nm, "ns")) {
        if (c->has_ns)
            return jerr(j, "duplicate field ns");
        c->has_ns = true;
        if (!jobject(j, gdb_ns_field, c, "ns: not an object"))
            return false;
        if (!c->has_region)
            return jerr(j, "ns: missing field region_id");
        if (!c->has_topic)
            return jerr(j, "ns: missing field topic");
        return true;
    }
    return jskip(j, 1);
}

int kw__wal_record_key_decode_greptimedb(const uint8_t *key, size_t len, kw_wal_record_key *out,
                                         const char **why)
{
    memset(out, 0, sizeof(*out));
    out->format = KW_WAL_FORMAT_GREPTIMEDB;
    out->topic = (kw_str){"", 0};
    if (len == 0)
        return fail(why, "empty key", KW_ETRUNCATED);
    json j = {key, key + len, NULL};
    gdb_ctx c = {.k = out};
    if (!jobject(&j, gdb_field, &c, "key is not a JSON object"))
        return fail(why, j.why, KW_EMALFORMED);
    jws(&j);
    if (j.p != j.end)
        return fail(why, "trailing bytes after the JSON key", KW_EMALFORMED);
    if (!c.has_version)
        return fail(why, "missing field version", KW_EMALFORMED);
    if (!c.has_tp)
        return fail(why, "missing field tp", KW_EMALFORMED);
    if (!c.has_entry_id)
        return fail(why, "missing field entry_id", KW_EMALFORMED);
    if (!c.has_ns)
        return fail(why, "missing field ns", KW_EMALFORMED);
    /*
     * GreptimeDB itself reads any version; kwal knows only 0 and would rather
     * skip (and report) a record of a later layout than misread it.
     */
    if (c.version != 0)
        return fail(why, "unknown GreptimeDB record version", KW_EUNSUPPORTED);
    return 0;
}

int kw__wal_record_topic_unescape(const kw_wal_record_key *k, char *buf, size_t cap)
{
    if (cap == 0)
        return KW_ETOOBIG;
    size_t n = k->topic.len > 0 ? (size_t)k->topic.len : 0;
    long r;
    if (k->topic_escaped) {
        r = unescape((const uint8_t *)k->topic.ptr, n, (uint8_t *)buf, cap - 1);
    } else {
        r = n <= cap - 1 ? (long)n : -1;
        if (r > 0)
            memcpy(buf, k->topic.ptr, n);
    }
    if (r < 0)
        return KW_ETOOBIG;
    buf[r] = '\0';
    return (int)r;
}

/* A bounded byte sink for the JSON encoder: running out of room is remembered, not overrun. */
typedef struct sink {
    uint8_t *p;
    size_t len, cap;
    bool full;
} sink;

static void put(sink *s, const void *b, size_t n)
{
    if (s->full || s->cap - s->len < n) {
        s->full = true;
        return;
    }
    memcpy(s->p + s->len, b, n);
    s->len += n;
}

static void puts_(sink *s, const char *str)
{
    put(s, str, strlen(str));
}

static void put_u64(sink *s, uint64_t v)
{
    char d[20];
    size_t i = sizeof(d);
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(s, d + i, sizeof(d) - i);
}

/* A string escaped exactly as serde_json's compact writer does. */
static void put_json_string(sink *s, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    put(s, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        char e = 0;
        switch (c) {
        case '"':
            e = '"';
            break;
        case '\\':
            e = '\\';
            break;
        case 0x08:
            e = 'b';
            break;
        case 0x09:
            e = 't';
            break;
        case 0x0A:
            e = 'n';
            break;
        case 0x0C:
            e = 'f';
            break;
        case 0x0D:
            e = 'r';
            break;
        default:
            if (c >= 0x20)
                continue;
            e = 'u';
        }
        put(s, p + run, i - run);
        run = i + 1;
        if (e == 'u') {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(s, u, 6);
        } else {
            char b[2] = {'\\', e};
            put(s, b, 2);
        }
    }
    put(s, p + run, n - run);
    put(s, "\"", 1);
}

int kw__wal_record_key_encode_greptimedb(const kw_wal_record_key *k, uint8_t *out, size_t cap)
{
    if (!kw__wal_record_part_valid(k->kind, k->index))
        return KW_EINVAL;
    size_t tlen = k->topic.len > 0 ? (size_t)k->topic.len : 0;
    if (tlen && !utf8_valid((const uint8_t *)k->topic.ptr, tlen))
        return KW_EINVAL; /* a Rust String is UTF-8: GreptimeDB could not have written it */
    uint8_t tmp[KW_WAL_RECORD_GREPTIMEDB_KEY_LIMIT];
    sink s = {tmp, 0, sizeof(tmp), false};
    /* field order and names as RecordMeta declares them; version is always 0 */
    puts_(&s, "{\"version\":0,\"tp\":");
    switch (k->kind) {
    case KW_WAL_PART_FULL:
        puts_(&s, "\"Full\"");
        break;
    case KW_WAL_PART_FIRST:
        puts_(&s, "\"First\"");
        break;
    case KW_WAL_PART_MIDDLE:
        puts_(&s, "{\"Middle\":");
        put_u64(&s, k->index);
        puts_(&s, "}");
        break;
    default:
        puts_(&s, "\"Last\"");
    }
    puts_(&s, ",\"entry_id\":");
    put_u64(&s, k->entry_id);
    puts_(&s, ",\"ns\":{\"region_id\":");
    put_u64(&s, k->region_id);
    puts_(&s, ",\"topic\":");
    put_json_string(&s, (const uint8_t *)k->topic.ptr, tlen);
    puts_(&s, "}}");
    /* GreptimeDB refuses keys of 256 bytes or more; so does kwal, so GreptimeDB can read them */
    if (s.full || s.len >= KW_WAL_RECORD_GREPTIMEDB_KEY_LIMIT || s.len > cap)
        return KW_ETOOBIG;
    memcpy(out, tmp, s.len);
    return (int)s.len;
}
