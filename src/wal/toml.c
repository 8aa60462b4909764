/* A small strict TOML reader: the subset configuration files use, every rule TOML sets checked. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strtod_l, newlocale */
#endif
#include "wal/toml.h"
#include <errno.h>

#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kwal/error.h"

/* How a table came to be; TOML's redefinition rules depend on it. */
enum {
    T_HEADER = 1,   /* [a] names it */
    T_IMPLICIT = 2, /* made as a parent of a header: [a.b] makes a */
    T_DOTTED = 4,   /* made by a dotted key: a.b = 1 makes a */
    T_INLINE = 8,   /* { ... }: closed once written */
    A_TABLES = 16,  /* an array made by [[a]]: only [[a]] may extend it */
};

typedef struct parser {
    const char *s;
    size_t len, pos;
    int line;          /* 1-based line of pos */
    size_t line_start; /* offset where that line starts */
    kw__toml_limits lim;
    size_t values; /* values and tables made so far */
    locale_t c_locale;
    char *err;
    size_t errlen;
    int *err_line;
} parser;

/* A key part as read, before it is placed in a table. */
typedef struct key_part {
    char *s;
    size_t len;
    int line, col;
} key_part;

typedef struct buf {
    char *b;
    size_t n, cap;
} buf;

static int col_of(const parser *p, size_t pos)
{
    return (int)(pos - p->line_start) + 1;
}

__attribute__((format(printf, 5, 6))) static int fail_at(parser *p, int rc, int line, int col,
                                                         const char *fmt, ...)
{
    if (p->err && p->errlen) {
        int n = snprintf(p->err, p->errlen, "%d:%d: ", line, col);
        if (n >= 0 && (size_t)n < p->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    if (p->err_line)
        *p->err_line = line;
    return rc;
}

#define FAIL(p, rc, ...) fail_at((p), (rc), (p)->line, col_of((p), (p)->pos), __VA_ARGS__)

static int buf_put(buf *b, const char *data, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 32;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *nb = realloc(b->b, cap);
        if (!nb)
            return KW_ENOMEM;
        b->b = nb;
        b->cap = cap;
    }
    memcpy(b->b + b->n, data, n);
    b->n += n;
    b->b[b->n] = 0;
    return 0;
}

/* A scalar value as UTF-8 (the caller has checked it is a valid scalar). */
static int buf_put_utf8(buf *b, uint32_t c)
{
    char o[4];
    size_t n;
    if (c < 0x80) {
        o[0] = (char)c;
        n = 1;
    } else if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        n = 2;
    } else if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        n = 3;
    } else {
        o[0] = (char)(0xF0 | (c >> 18));
        o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[3] = (char)(0x80 | (c & 0x3F));
        n = 4;
    }
    return buf_put(b, o, n);
}

/* Tree ---------------------------------------------------------------------- */

static void free_value(kw__toml_value *v)
{
    if (!v)
        return;
    switch (v->type) {
    case KW_TOML_STRING:
        free(v->u.str.ptr);
        break;
    case KW_TOML_ARRAY:
        for (size_t i = 0; i < v->u.array.count; i++)
            free_value(v->u.array.items[i]);
        free(v->u.array.items);
        break;
    case KW_TOML_TABLE:
        for (size_t i = 0; i < v->u.table.count; i++) {
            free(v->u.table.entries[i].key);
            free_value(v->u.table.entries[i].value);
        }
        free(v->u.table.entries);
        break;
    default:
        break;
    }
    free(v);
}

void kw__toml_free(kw__toml_value *root)
{
    free_value(root);
}

static kw__toml_value *new_value(parser *p, int type, int line, int col, int *rc)
{
    if (p->values >= p->lim.max_values) {
        *rc = fail_at(p, KW_ETOOBIG, line, col, "too many values (the limit is %zu)",
                      p->lim.max_values);
        return NULL;
    }
    kw__toml_value *v = calloc(1, sizeof(*v));
    if (!v) {
        *rc = fail_at(p, KW_ENOMEM, line, col, "out of memory");
        return NULL;
    }
    p->values++;
    v->type = type;
    v->line = line;
    v->col = col;
    return v;
}

static kw__toml_entry *find_entry(const kw__toml_value *t, const char *key, size_t len)
{
    for (size_t i = 0; i < t->u.table.count; i++) {
        kw__toml_entry *e = &t->u.table.entries[i];
        if (e->key_len == len && memcmp(e->key, key, len) == 0)
            return e;
    }
    return NULL;
}

/* Adds key (taking its string) to table t; the caller has checked it is not there. */
static int table_add(parser *p, kw__toml_value *t, key_part *k, kw__toml_value *v)
{
    if (t->u.table.count >= p->lim.max_table_keys)
        return fail_at(p, KW_ETOOBIG, k->line, k->col,
                       "too many keys in one table (the limit is %zu)", p->lim.max_table_keys);
    if (t->u.table.count == t->u.table.cap) {
        size_t cap = t->u.table.cap ? t->u.table.cap * 2 : 8;
        kw__toml_entry *ne = realloc(t->u.table.entries, cap * sizeof(*ne));
        if (!ne)
            return fail_at(p, KW_ENOMEM, k->line, k->col, "out of memory");
        t->u.table.entries = ne;
        t->u.table.cap = cap;
    }
    kw__toml_entry *e = &t->u.table.entries[t->u.table.count++];
    e->key = k->s;
    e->key_len = k->len;
    e->line = k->line;
    e->col = k->col;
    e->value = v;
    k->s = NULL;
    return 0;
}

static int array_add(parser *p, kw__toml_value *a, kw__toml_value *v, int line, int col)
{
    if (a->u.array.count >= p->lim.max_table_keys)
        return fail_at(p, KW_ETOOBIG, line, col, "too many items in one array (the limit is %zu)",
                       p->lim.max_table_keys);
    if (a->u.array.count == a->u.array.cap) {
        size_t cap = a->u.array.cap ? a->u.array.cap * 2 : 8;
        kw__toml_value **ni = realloc(a->u.array.items, cap * sizeof(*ni));
        if (!ni)
            return fail_at(p, KW_ENOMEM, line, col, "out of memory");
        a->u.array.items = ni;
        a->u.array.cap = cap;
    }
    a->u.array.items[a->u.array.count++] = v;
    return 0;
}

/* Closes an inline table and every table written inside it. */
static void mark_inline(kw__toml_value *v)
{
    if (v->type == KW_TOML_TABLE) {
        v->flags |= T_INLINE;
        for (size_t i = 0; i < v->u.table.count; i++)
            mark_inline(v->u.table.entries[i].value);
    } else if (v->type == KW_TOML_ARRAY) {
        for (size_t i = 0; i < v->u.array.count; i++)
            mark_inline(v->u.array.items[i]);
    }
}

/* Lexing ---------------------------------------------------------------------- */

static int peek(const parser *p)
{
    return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static int peek_at(const parser *p, size_t ahead)
{
    return p->pos + ahead < p->len ? (unsigned char)p->s[p->pos + ahead] : -1;
}

static bool at_newline(const parser *p)
{
    return peek(p) == '\n' || (peek(p) == '\r' && peek_at(p, 1) == '\n');
}

static void eat_newline(parser *p)
{
    p->pos += peek(p) == '\r' ? 2 : 1;
    p->line++;
    p->line_start = p->pos;
}

static void skip_ws(parser *p)
{
    while (peek(p) == ' ' || peek(p) == '\t')
        p->pos++;
}

static void skip_comment(parser *p)
{
    if (peek(p) != '#')
        return;
    while (p->pos < p->len && !at_newline(p))
        p->pos++;
}

/* Whitespace, comments and newlines: what may sit between array items. */
static void skip_ws_nl(parser *p)
{
    for (;;) {
        skip_ws(p);
        skip_comment(p);
        if (!at_newline(p))
            return;
        eat_newline(p);
    }
}

static bool is_bare(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Checks the whole text once: valid UTF-8, no control characters but tab and
 * newline (CR only before LF).  TOML allows neither anywhere, so the lexer
 * below can treat the text as checked.
 */
static int check_text(parser *p)
{
    const unsigned char *s = (const unsigned char *)p->s;
    size_t i = 0;
    while (i < p->len) {
        unsigned c = s[i];
        if (c == '\n') {
            p->line++;
            p->line_start = ++i;
            continue;
        }
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && !(c == '\r' && i + 1 < p->len && s[i + 1] == '\n')) ||
                c == 0x7F)
                return fail_at(p, KW_EMALFORMED, p->line, col_of(p, i),
                               "control character U+%04X is not allowed", c);
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) {
            n = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return fail_at(p, KW_EMALFORMED, p->line, col_of(p, i), "invalid UTF-8");
        }
        if (i + n > p->len)
            return fail_at(p, KW_EMALFORMED, p->line, col_of(p, i), "invalid UTF-8");
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return fail_at(p, KW_EMALFORMED, p->line, col_of(p, i), "invalid UTF-8");
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return fail_at(p, KW_EMALFORMED, p->line, col_of(p, i), "invalid UTF-8");
        i += n;
    }
    p->line = 1;
    p->line_start = 0;
    return 0;
}

/* Strings ----------------------------------------------------------------------- */

/* After a backslash in a basic string: one escape into b. */
static int read_escape(parser *p, buf *b)
{
    size_t at = p->pos - 1;
    int c = peek(p);
    const char *simple = NULL;
    switch (c) {
    case 'b': simple = "\b"; break;
    case 't': simple = "\t"; break;
    case 'n': simple = "\n"; break;
    case 'f': simple = "\f"; break;
    case 'r': simple = "\r"; break;
    case '"': simple = "\""; break;
    case '\\': simple = "\\"; break;
    default: break;
    }
    if (simple) {
        p->pos++;
        if (buf_put(b, simple, 1))
            return fail_at(p, KW_ENOMEM, p->line, col_of(p, at), "out of memory");
        return 0;
    }
    if (c == 'u' || c == 'U') {
        size_t digits = c == 'u' ? 4 : 8;
        uint32_t cp = 0;
        for (size_t k = 1; k <= digits; k++) {
            int h = hexval(peek_at(p, k));
            if (h < 0)
                return fail_at(p, KW_EMALFORMED, p->line, col_of(p, at),
                               "\\%c needs %zu hex digits", c, digits);
            cp = cp * 16 + (uint32_t)h;
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return fail_at(p, KW_EMALFORMED, p->line, col_of(p, at),
                           "\\%c escape U+%X is not a Unicode scalar value", c, cp);
        if (cp == 0)
            return fail_at(p, KW_EUNSUPPORTED, p->line, col_of(p, at),
                           "not supported: a NUL character in a string");
        p->pos += 1 + digits;
        return buf_put_utf8(b, cp) ? fail_at(p, KW_ENOMEM, p->line, col_of(p, at), "out of memory")
                                   : 0;
    }
    if (c < 0)
        return fail_at(p, KW_EMALFORMED, p->line, col_of(p, at), "string is not closed");
    return fail_at(p, KW_EMALFORMED, p->line, col_of(p, at), "unknown escape '\\%c'", c);
}

/*
 * Reads a string at pos (a quote).  Keys allow only the one-line forms.
 * The text goes into b (NUL-terminated).
 */
static int read_string(parser *p, buf *b, bool multiline_ok)
{
    int line = p->line, col = col_of(p, p->pos);
    char q = p->s[p->pos];
    bool literal = q == '\'';
    bool multi = peek_at(p, 1) == q && peek_at(p, 2) == q;
    int rc = buf_put(b, "", 0);
    if (rc)
        return fail_at(p, KW_ENOMEM, line, col, "out of memory");
    if (multi && !multiline_ok)
        return fail_at(p, KW_EMALFORMED, line, col, "a key cannot be a multi-line string");
    if (!multi) {
        p->pos++;
        for (;;) {
            int c = peek(p);
            if (c < 0 || at_newline(p))
                return fail_at(p, KW_EMALFORMED, line, col,
                               "string is not closed before the end of the line");
            if (c == q) {
                p->pos++;
                return 0;
            }
            if (c == '\\' && !literal) {
                p->pos++;
                if ((rc = read_escape(p, b)) != 0)
                    return rc;
                continue;
            }
            if (buf_put(b, &p->s[p->pos], 1))
                return fail_at(p, KW_ENOMEM, line, col, "out of memory");
            p->pos++;
        }
    }
    p->pos += 3;
    /* A newline right after the opening quotes is not part of the string. */
    if (at_newline(p))
        eat_newline(p);
    for (;;) {
        int c = peek(p);
        if (c < 0)
            return fail_at(p, KW_EMALFORMED, line, col, "multi-line string is not closed");
        if (c == q && peek_at(p, 1) == q && peek_at(p, 2) == q) {
            /* Up to two more quotes right before the closing three belong to the string. */
            size_t run = 3;
            while (run < 5 && peek_at(p, run) == q)
                run++;
            if (peek_at(p, run) == q)
                return fail_at(p, KW_EMALFORMED, p->line, col_of(p, p->pos),
                               "too many quotes in a row in a multi-line string");
            if (buf_put(b, &p->s[p->pos], run - 3))
                return fail_at(p, KW_ENOMEM, line, col, "out of memory");
            p->pos += run;
            return 0;
        }
        if (at_newline(p)) {
            /* Newlines are kept as LF whatever the file uses. */
            eat_newline(p);
            if (buf_put(b, "\n", 1))
                return fail_at(p, KW_ENOMEM, line, col, "out of memory");
            continue;
        }
        if (c == '\\' && !literal) {
            /* A backslash ending a line joins it to the next, dropping the whitespace between. */
            size_t save = p->pos;
            p->pos++;
            skip_ws(p);
            if (at_newline(p)) {
                while (peek(p) == ' ' || peek(p) == '\t' || at_newline(p)) {
                    if (at_newline(p))
                        eat_newline(p);
                    else
                        p->pos++;
                }
                continue;
            }
            p->pos = save + 1;
            if ((rc = read_escape(p, b)) != 0)
                return rc;
            continue;
        }
        if (buf_put(b, &p->s[p->pos], 1))
            return fail_at(p, KW_ENOMEM, line, col, "out of memory");
        p->pos++;
    }
}

/* Keys ---------------------------------------------------------------------------- */

static void free_parts(key_part *parts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(parts[i].s);
}

/* Reads a (dotted) key into parts[0..*n); at most max parts. */
static int read_key(parser *p, key_part *parts, size_t max, size_t *n)
{
    *n = 0;
    for (;;) {
        skip_ws(p);
        if (*n == max)
            return FAIL(p, KW_ETOOBIG, "key has too many dotted parts (the limit is %zu)", max);
        key_part *k = &parts[*n];
        k->line = p->line;
        k->col = col_of(p, p->pos);
        int c = peek(p);
        buf b = {0};
        if (c == '"' || c == '\'') {
            int rc = read_string(p, &b, false);
            if (rc) {
                free(b.b);
                return rc;
            }
            if (memchr(b.b, 0, b.n)) {
                free(b.b);
                return fail_at(p, KW_EUNSUPPORTED, k->line, k->col,
                               "not supported: a NUL character in a key");
            }
        } else if (is_bare(c)) {
            size_t start = p->pos;
            while (is_bare(peek(p)))
                p->pos++;
            if (buf_put(&b, p->s + start, p->pos - start))
                return FAIL(p, KW_ENOMEM, "out of memory");
        } else {
            if (c < 0 || at_newline(p))
                return FAIL(p, KW_EMALFORMED, "expected a key");
            return FAIL(p, KW_EMALFORMED, "expected a key, found '%c'", c);
        }
        k->s = b.b;
        k->len = b.n;
        (*n)++;
        skip_ws(p);
        if (peek(p) != '.')
            return 0;
        p->pos++;
    }
}

/* Values ---------------------------------------------------------------------------- */

static int parse_value(parser *p, size_t depth, kw__toml_value **out);
static int parse_keyval(parser *p, kw__toml_value *t, size_t depth);

/* Copies the digits of s[0..n) into out without '_', checking each '_' sits between two digits. */
static bool strip_underscores(const char *s, size_t n, char *out, int (*digit)(int))
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '_') {
            if (i == 0 || i + 1 == n || !digit((unsigned char)s[i - 1]) ||
                !digit((unsigned char)s[i + 1]))
                return false;
            continue;
        }
        out[o++] = s[i];
    }
    out[o] = 0;
    return true;
}

static int is_dec(int c)
{
    return c >= '0' && c <= '9';
}
static int is_hex(int c)
{
    return hexval(c) >= 0;
}
static int is_oct(int c)
{
    return c >= '0' && c <= '7';
}
static int is_bin(int c)
{
    return c == '0' || c == '1';
}

/* A run of decimal digits with single '_' between digits, at s[*i]; true if at least one digit. */
static bool scan_digits(const char *s, size_t n, size_t *i)
{
    size_t start = *i;
    while (*i < n && (is_dec((unsigned char)s[*i]) || s[*i] == '_'))
        (*i)++;
    if (*i == start || s[start] == '_' || s[*i - 1] == '_')
        return false;
    for (size_t k = start + 1; k < *i; k++)
        if (s[k] == '_' && s[k - 1] == '_')
            return false;
    return true;
}

/* Integers, floats, inf/nan at pos; dates and times are refused by name. */
static int parse_number(parser *p, kw__toml_value **out)
{
    int line = p->line, col = col_of(p, p->pos);
    size_t start = p->pos;
    while (p->pos < p->len &&
           (is_bare(p->s[p->pos]) || p->s[p->pos] == '+' || p->s[p->pos] == '.'))
        p->pos++;
    const char *s = p->s + start;
    size_t n = p->pos - start;
    /* 1979-05-27 or 07:32:00: a date or a time */
    if ((n >= 5 && is_dec(s[0]) && is_dec(s[1]) && is_dec(s[2]) && is_dec(s[3]) && s[4] == '-') ||
        (n == 2 && is_dec(s[0]) && is_dec(s[1]) && peek(p) == ':'))
        return fail_at(p, KW_EUNSUPPORTED, line, col,
                       "not supported: dates and times (quote the value as a string)");
    if (n == 0)
        return fail_at(p, KW_EMALFORMED, line, col, "expected a value");
    if (n > 128)
        return fail_at(p, KW_EMALFORMED, line, col, "'%.20s...' is not a number", s);

    char tmp[160];
    int rc = 0;
    size_t i = 0;
    bool neg = false;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
    }
    /* inf and nan */
    if (n - i == 3 && (memcmp(s + i, "inf", 3) == 0 || memcmp(s + i, "nan", 3) == 0)) {
        kw__toml_value *v = new_value(p, KW_TOML_FLOAT, line, col, &rc);
        if (!v)
            return rc;
        v->u.fp = s[i] == 'i' ? (neg ? -__builtin_inf() : __builtin_inf())
                              : (neg ? -__builtin_nan("") : __builtin_nan(""));
        *out = v;
        return 0;
    }
    /* 0x, 0o, 0b: no sign allowed */
    if (i == 0 && n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b')) {
        int (*digit)(int) = s[1] == 'x' ? is_hex : s[1] == 'o' ? is_oct : is_bin;
        unsigned base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
        if (!strip_underscores(s + 2, n - 2, tmp, digit) || !tmp[0])
            return fail_at(p, KW_EMALFORMED, line, col, "'%.*s' is not a number", (int)n, s);
        uint64_t val = 0;
        for (const char *d = tmp; *d; d++) {
            if (!digit((unsigned char)*d))
                return fail_at(p, KW_EMALFORMED, line, col, "'%.*s' is not a number", (int)n, s);
            unsigned dv = (unsigned)hexval((unsigned char)*d);
            if (val > ((uint64_t)INT64_MAX - dv) / base)
                return fail_at(p, KW_EMALFORMED, line, col,
                               "'%.*s' does not fit in a 64-bit integer", (int)n, s);
            val = val * base + dv;
        }
        kw__toml_value *v = new_value(p, KW_TOML_INTEGER, line, col, &rc);
        if (!v)
            return rc;
        v->u.integer = (int64_t)val;
        *out = v;
        return 0;
    }
    /* Decimal: an integer part, then an optional fraction and exponent. */
    size_t int_start = i;
    if (!scan_digits(s, n, &i))
        return fail_at(p, KW_EMALFORMED, line, col, "'%.*s' is not a number", (int)n, s);
    if (s[int_start] == '0' && i - int_start > 1)
        return fail_at(p, KW_EMALFORMED, line, col, "'%.*s': leading zeros are not allowed",
                       (int)n, s);
    bool is_float = false;
    if (i < n && s[i] == '.') {
        i++;
        is_float = true;
        if (!scan_digits(s, n, &i))
            return fail_at(p, KW_EMALFORMED, line, col, "'%.*s' is not a number", (int)n, s);
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        is_float = true;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (!scan_digits(s, n, &i))
            return fail_at(p, KW_EMALFORMED, line, col, "'%.*s' is not a number", (int)n, s);
    }
    if (i != n)
        return fail_at(p, KW_EMALFORMED, line, col, "'%.*s' is not a number", (int)n, s);
    strip_underscores(s, n, tmp, is_dec);
    if (is_float) {
        if (p->c_locale == (locale_t)0) {
            /* strtod follows the host's locale; TOML's decimal point is always '.'. */
            p->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
            if (p->c_locale == (locale_t)0)
                return fail_at(p, KW_ENOMEM, line, col, "out of memory");
        }
        kw__toml_value *v = new_value(p, KW_TOML_FLOAT, line, col, &rc);
        if (!v)
            return rc;
        v->u.fp = strtod_l(tmp, NULL, p->c_locale);
        *out = v;
        return 0;
    }
    uint64_t val = 0, cap = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (const char *d = tmp + (tmp[0] == '+' || tmp[0] == '-'); *d; d++) {
        unsigned dv = (unsigned)(*d - '0');
        if (val > (cap - dv) / 10)
            return fail_at(p, KW_EMALFORMED, line, col,
                           "'%.*s' does not fit in a 64-bit integer", (int)n, s);
        val = val * 10 + dv;
    }
    kw__toml_value *v = new_value(p, KW_TOML_INTEGER, line, col, &rc);
    if (!v)
        return rc;
    v->u.integer = neg ? (int64_t)(0 - val) : (int64_t)val;
    *out = v;
    return 0;
}

static int parse_array(parser *p, size_t depth, kw__toml_value **out)
{
    int line = p->line, col = col_of(p, p->pos);
    int rc = 0;
    kw__toml_value *a = new_value(p, KW_TOML_ARRAY, line, col, &rc);
    if (!a)
        return rc;
    p->pos++;
    for (;;) {
        skip_ws_nl(p);
        if (peek(p) == ']') {
            p->pos++;
            break;
        }
        int il = p->line, ic = col_of(p, p->pos);
        kw__toml_value *item = NULL;
        if ((rc = parse_value(p, depth + 1, &item)) != 0)
            goto fail;
        if ((rc = array_add(p, a, item, il, ic)) != 0) {
            free_value(item);
            goto fail;
        }
        skip_ws_nl(p);
        if (peek(p) == ',') {
            p->pos++;
            continue;
        }
        if (peek(p) == ']') {
            p->pos++;
            break;
        }
        rc = peek(p) < 0 ? fail_at(p, KW_EMALFORMED, line, col, "array is not closed")
                         : FAIL(p, KW_EMALFORMED, "expected ',' or ']' in the array");
        goto fail;
    }
    *out = a;
    return 0;
fail:
    free_value(a);
    return rc;
}

/* { key = value, ... } on one line, no trailing comma (TOML 1.0). */
static int parse_inline_table(parser *p, size_t depth, kw__toml_value **out)
{
    int line = p->line, col = col_of(p, p->pos);
    int rc = 0;
    kw__toml_value *t = new_value(p, KW_TOML_TABLE, line, col, &rc);
    if (!t)
        return rc;
    p->pos++;
    skip_ws(p);
    if (peek(p) == '}') {
        p->pos++;
    } else {
        for (;;) {
            if ((rc = parse_keyval(p, t, depth + 1)) != 0)
                goto fail;
            skip_ws(p);
            if (peek(p) == ',') {
                p->pos++;
                skip_ws(p);
                if (peek(p) == '}') {
                    rc = FAIL(p, KW_EMALFORMED, "no trailing comma in an inline table");
                    goto fail;
                }
                continue;
            }
            if (peek(p) == '}') {
                p->pos++;
                break;
            }
            rc = peek(p) < 0 || at_newline(p)
                     ? FAIL(p, KW_EMALFORMED, "inline table must close on the same line")
                     : FAIL(p, KW_EMALFORMED, "expected ',' or '}' in the inline table");
            goto fail;
        }
    }
    mark_inline(t);
    *out = t;
    return 0;
fail:
    free_value(t);
    return rc;
}

static int parse_value(parser *p, size_t depth, kw__toml_value **out)
{
    *out = NULL;
    if (depth > p->lim.max_depth)
        return FAIL(p, KW_ETOOBIG, "nested too deep (the limit is %zu)", p->lim.max_depth);
    int line = p->line, col = col_of(p, p->pos);
    int c = peek(p);
    int rc = 0;
    if (c == '"' || c == '\'') {
        buf b = {0};
        if ((rc = read_string(p, &b, true)) != 0) {
            free(b.b);
            return rc;
        }
        if (memchr(b.b, 0, b.n)) {
            free(b.b);
            return fail_at(p, KW_EUNSUPPORTED, line, col,
                           "not supported: a NUL character in a string");
        }
        kw__toml_value *v = new_value(p, KW_TOML_STRING, line, col, &rc);
        if (!v) {
            free(b.b);
            return rc;
        }
        v->u.str.ptr = b.b;
        v->u.str.len = b.n;
        *out = v;
        return 0;
    }
    if (c == '[')
        return parse_array(p, depth, out);
    if (c == '{')
        return parse_inline_table(p, depth, out);
    if (c == 't' || c == 'f') {
        const char *word = c == 't' ? "true" : "false";
        size_t wl = strlen(word);
        if (p->len - p->pos >= wl && memcmp(p->s + p->pos, word, wl) == 0 &&
            !is_bare(peek_at(p, wl))) {
            kw__toml_value *v = new_value(p, KW_TOML_BOOL, line, col, &rc);
            if (!v)
                return rc;
            v->u.boolean = c == 't';
            p->pos += wl;
            *out = v;
            return 0;
        }
    }
    if (c == '+' || c == '-' || is_dec(c) || c == 'i' || c == 'n')
        return parse_number(p, out);
    if (c < 0 || at_newline(p) || c == '#')
        return FAIL(p, KW_EMALFORMED, "expected a value");
    if (is_bare(c))
        return FAIL(p, KW_EMALFORMED, "expected a value (strings need quotes)");
    return FAIL(p, KW_EMALFORMED, "expected a value, found '%c'", c);
}

/* key = value into table t (depth = how deep t is), making tables for a dotted key. */
static int parse_keyval(parser *p, kw__toml_value *t, size_t depth)
{
    key_part parts[64];
    size_t n = 0;
    size_t max = p->lim.max_depth < 64 ? p->lim.max_depth : 64;
    int rc = read_key(p, parts, max, &n);
    if (rc)
        goto out;
    if (peek(p) != '=') {
        rc = FAIL(p, KW_EMALFORMED, "expected '=' after the key '%s'", parts[n - 1].s);
        goto out;
    }
    p->pos++;
    skip_ws(p);
    if (depth + n > p->lim.max_depth) {
        rc = fail_at(p, KW_ETOOBIG, parts[0].line, parts[0].col,
                     "nested too deep (the limit is %zu)", p->lim.max_depth);
        goto out;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        key_part *k = &parts[i];
        kw__toml_entry *e = find_entry(t, k->s, k->len);
        if (!e) {
            kw__toml_value *sub = new_value(p, KW_TOML_TABLE, k->line, k->col, &rc);
            if (!sub)
                goto out;
            sub->flags = T_DOTTED;
            if ((rc = table_add(p, t, k, sub)) != 0) {
                free_value(sub);
                goto out;
            }
            t = sub;
            continue;
        }
        kw__toml_value *v = e->value;
        if (v->type != KW_TOML_TABLE) {
            rc = fail_at(p, KW_EMALFORMED, k->line, k->col,
                         "'%s' is already %s %s (line %d), not a table", k->s,
                         v->type == KW_TOML_ARRAY || v->type == KW_TOML_INTEGER ? "an" : "a",
                         kw__toml_type_name(v->type), e->line);
            goto out;
        }
        if (!(v->flags & T_DOTTED) || (v->flags & T_INLINE)) {
            rc = fail_at(p, KW_EMALFORMED, k->line, k->col,
                         "cannot add keys to table '%s' (defined at line %d) with a dotted key",
                         k->s, e->line);
            goto out;
        }
        t = v;
    }
    key_part *last = &parts[n - 1];
    kw__toml_entry *dup = find_entry(t, last->s, last->len);
    if (dup) {
        rc = fail_at(p, KW_EMALFORMED, last->line, last->col,
                     "duplicate key '%s' (first set at line %d)", last->s, dup->line);
        goto out;
    }
    kw__toml_value *v = NULL;
    if ((rc = parse_value(p, depth + n, &v)) != 0)
        goto out;
    if ((rc = table_add(p, t, last, v)) != 0)
        free_value(v);
out:
    free_parts(parts, n);
    return rc;
}

/* [a.b] or [[a.b]]: the table keys that follow go into; *depth gets its depth. */
static int parse_header(parser *p, kw__toml_value *root, kw__toml_value **cur, size_t *depth)
{
    int line = p->line, col = col_of(p, p->pos);
    bool aot = peek_at(p, 1) == '[';
    p->pos += aot ? 2 : 1;
    key_part parts[64];
    size_t n = 0;
    size_t max = p->lim.max_depth < 64 ? p->lim.max_depth : 64;
    int rc = read_key(p, parts, max, &n);
    if (rc)
        goto out;
    if (peek(p) != ']' || (aot && peek_at(p, 1) != ']')) {
        rc = FAIL(p, KW_EMALFORMED, aot ? "expected ']]' to close the table header"
                                        : "expected ']' to close the table header");
        goto out;
    }
    p->pos += aot ? 2 : 1;

    kw__toml_value *t = root;
    for (size_t i = 0; i < n; i++) {
        key_part *k = &parts[i];
        bool final = i + 1 == n;
        kw__toml_entry *e = find_entry(t, k->s, k->len);
        if (!e) {
            kw__toml_value *sub;
            if (final && aot) {
                kw__toml_value *arr = new_value(p, KW_TOML_ARRAY, line, col, &rc);
                if (!arr)
                    goto out;
                arr->flags = A_TABLES;
                if ((rc = table_add(p, t, k, arr)) != 0) {
                    free_value(arr);
                    goto out;
                }
                if (!(sub = new_value(p, KW_TOML_TABLE, line, col, &rc)))
                    goto out;
                sub->flags = T_HEADER;
                if ((rc = array_add(p, arr, sub, line, col)) != 0) {
                    free_value(sub);
                    goto out;
                }
            } else {
                if (!(sub = new_value(p, KW_TOML_TABLE, final ? line : k->line,
                                      final ? col : k->col, &rc)))
                    goto out;
                sub->flags = final ? T_HEADER : T_IMPLICIT;
                if ((rc = table_add(p, t, k, sub)) != 0) {
                    free_value(sub);
                    goto out;
                }
            }
            t = sub;
            continue;
        }
        kw__toml_value *v = e->value;
        if (v->type == KW_TOML_ARRAY && (v->flags & A_TABLES)) {
            if (final && aot) {
                kw__toml_value *sub = new_value(p, KW_TOML_TABLE, line, col, &rc);
                if (!sub)
                    goto out;
                sub->flags = T_HEADER;
                if ((rc = array_add(p, v, sub, line, col)) != 0) {
                    free_value(sub);
                    goto out;
                }
                t = sub;
                continue;
            }
            if (final) {
                rc = fail_at(p, KW_EMALFORMED, line, col,
                             "'%s' is an array of tables (line %d); [%s] cannot redefine it", k->s,
                             e->line, k->s);
                goto out;
            }
            /* [a.b] after [[a]] goes into the last table of a. */
            t = v->u.array.items[v->u.array.count - 1];
            continue;
        }
        if (v->type != KW_TOML_TABLE) {
            rc = fail_at(p, KW_EMALFORMED, k->line, k->col,
                         "'%s' is already %s %s (line %d), not a table", k->s,
                         v->type == KW_TOML_ARRAY || v->type == KW_TOML_INTEGER ? "an" : "a",
                         kw__toml_type_name(v->type), e->line);
            goto out;
        }
        if (v->flags & T_INLINE) {
            rc = fail_at(p, KW_EMALFORMED, k->line, k->col,
                         "table '%s' was written inline at line %d and cannot be extended", k->s,
                         e->line);
            goto out;
        }
        if (final) {
            if (aot) {
                rc = fail_at(p, KW_EMALFORMED, line, col,
                             "'%s' is a table (line %d), not an array of tables", k->s, e->line);
                goto out;
            }
            if (v->flags & (T_HEADER | T_DOTTED)) {
                rc = fail_at(p, KW_EMALFORMED, line, col,
                             "table '%s' is defined twice (first at line %d)", k->s, v->line);
                goto out;
            }
            /* Made implicitly by an earlier [a.b]: now defined for real. */
            v->flags = T_HEADER;
            v->line = line;
            v->col = col;
        }
        t = v;
    }
    *cur = t;
    *depth = n;
out:
    free_parts(parts, n);
    return rc;
}

/* After a key/value or a header: only whitespace and a comment may follow on the line. */
static int end_of_line(parser *p)
{
    skip_ws(p);
    skip_comment(p);
    if (p->pos >= p->len)
        return 0;
    if (at_newline(p)) {
        eat_newline(p);
        return 0;
    }
    return FAIL(p, KW_EMALFORMED, "expected the end of the line, found '%c'", p->s[p->pos]);
}

int kw__toml_parse(const char *text, size_t len, const kw__toml_limits *limits,
                   kw__toml_value **out, char *err, size_t errlen, int *err_line)
{
    parser p = {.s = text, .len = len, .line = 1, .err = err, .errlen = errlen,
                .err_line = err_line};
    if (limits)
        p.lim = *limits;
    if (!p.lim.max_input)
        p.lim.max_input = 1u << 20;
    if (!p.lim.max_depth)
        p.lim.max_depth = 32;
    if (!p.lim.max_values)
        p.lim.max_values = 65536;
    if (!p.lim.max_table_keys)
        p.lim.max_table_keys = 1024;
    if (err && errlen)
        err[0] = 0;
    if (err_line)
        *err_line = 0;
    *out = NULL;
    if (!text && len)
        return fail_at(&p, KW_EINVAL, 1, 1, "no text");
    if (len > p.lim.max_input)
        return fail_at(&p, KW_ETOOBIG, 1, 1, "input is %zu bytes (the limit is %zu)", len,
                       p.lim.max_input);
    int rc = check_text(&p);
    if (rc)
        return rc;

    kw__toml_value *root = new_value(&p, KW_TOML_TABLE, 0, 0, &rc);
    if (!root)
        return rc;
    root->flags = T_HEADER;
    kw__toml_value *cur = root;
    size_t depth = 0;
    /* A UTF-8 byte-order mark is not TOML, but editors write one; skip it. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        p.pos = 3;
    while (p.pos < p.len) {
        skip_ws(&p);
        skip_comment(&p);
        if (p.pos >= p.len)
            break;
        if (at_newline(&p)) {
            eat_newline(&p);
            continue;
        }
        if (peek(&p) == '[')
            rc = parse_header(&p, root, &cur, &depth);
        else
            rc = parse_keyval(&p, cur, depth);
        if (rc == 0)
            rc = end_of_line(&p);
        if (rc)
            break;
    }
    if (p.c_locale != (locale_t)0)
        freelocale(p.c_locale);
    if (rc) {
        free_value(root);
        return rc;
    }
    *out = root;
    return 0;
}

/* Lookups --------------------------------------------------------------------------- */

const kw__toml_entry *kw__toml_find(const kw__toml_value *t, const char *key)
{
    if (!t || t->type != KW_TOML_TABLE || !key)
        return NULL;
    return find_entry(t, key, strlen(key));
}

const kw__toml_value *kw__toml_get(const kw__toml_value *t, const char *key)
{
    const kw__toml_entry *e = kw__toml_find(t, key);
    return e ? e->value : NULL;
}

const kw__toml_value *kw__toml_path(const kw__toml_value *t, const char *const *keys)
{
    for (; t && keys && *keys; keys++) {
        if (t->type != KW_TOML_TABLE)
            return NULL;
        t = kw__toml_get(t, *keys);
    }
    return t;
}

const char *kw__toml_type_name(int type)
{
    switch (type) {
    case KW_TOML_STRING: return "string";
    case KW_TOML_INTEGER: return "integer";
    case KW_TOML_FLOAT: return "float";
    case KW_TOML_BOOL: return "boolean";
    case KW_TOML_ARRAY: return "array";
    case KW_TOML_TABLE: return "table";
    default: return "value";
    }
}

int kw__toml_read_file(const char *path, size_t max, char **text, size_t *len, char *err,
                       size_t errlen)
{
    *text = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (err && errlen) {
            char why[128];
            /* strerror_r, not strerror: a library must not share its buffer across threads. */
            snprintf(err, errlen, "%s: %s", path, strerror_r(errno, why, sizeof(why)));
        }
        return KW_ECONFIG;
    }
    /* One byte past the limit tells a file that is too big from one that just fits. */
    char *data = malloc(max + 2);
    if (!data) {
        fclose(f);
        return KW_ENOMEM;
    }
    size_t n = fread(data, 1, max + 1, f);
    int read_err = ferror(f);
    fclose(f);
    if (read_err || n > max) {
        if (err && errlen) {
            if (read_err)
                snprintf(err, errlen, "%s: read error", path);
            else
                snprintf(err, errlen, "%s: bigger than %zu bytes", path, max);
        }
        free(data);
        return KW_ECONFIG;
    }
    data[n] = 0;
    *text = data;
    *len = n;
    return 0;
}
