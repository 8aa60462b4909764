/* A small strict TOML reader for configuration files: text in, a tree of tables and values out. */
#ifndef KW_WAL_TOML_H
#define KW_WAL_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * What it reads (TOML 1.0 minus dates and times):
 *   - tables [a], [a.b], [ "quoted" . b ], arrays of tables [[a]];
 *   - key = value with bare, "basic" or 'literal' keys, dotted keys a.b = 1;
 *   - basic strings with escapes (\b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX), literal strings,
 *     and their multi-line forms;
 *   - integers (sign, _ separators, 0x / 0o / 0b), floats (1.5, 1e3, inf, nan), booleans;
 *   - arrays (nested, multi-line, trailing comma, comments inside), inline tables { a = 1 };
 *   - comments.
 * Dates and times are refused with "not supported: ...", as is a NUL character
 * in a string (strings here are C strings).  Everything TOML forbids is an error:
 * duplicate keys, a table defined twice, bad escapes, leading zeros, invalid UTF-8.
 *
 * Errors are "LINE:COL: message" (1-based).  Memory is bounded by the limits:
 * input size, nesting depth, number of values, keys in one table.
 */

enum kw__toml_type {
    KW_TOML_STRING = 1,
    KW_TOML_INTEGER,
    KW_TOML_FLOAT,
    KW_TOML_BOOL,
    KW_TOML_ARRAY,
    KW_TOML_TABLE,
};

typedef struct kw__toml_value kw__toml_value;

/* One key of a table, with where the key was written. */
typedef struct kw__toml_entry {
    char *key; /* NUL-terminated; never holds a NUL (refused on input) */
    size_t key_len;
    int line, col;
    kw__toml_value *value;
} kw__toml_entry;

struct kw__toml_value {
    int type; /* enum kw__toml_type */
    int line, col; /* where the value (or the table's header) starts; 0 for the root */
    uint8_t flags; /* parser bookkeeping (how a table came to be); not for readers */
    union {
        struct {
            char *ptr; /* NUL-terminated */
            size_t len;
        } str;
        int64_t integer;
        double fp;
        bool boolean;
        struct {
            kw__toml_value **items;
            size_t count, cap;
        } array;
        struct {
            kw__toml_entry *entries; /* in the order they were written */
            size_t count, cap;
        } table;
    } u;
};

/* Zero in a field means the default given beside it. */
typedef struct kw__toml_limits {
    size_t max_input;      /* bytes of text; default 1 MiB */
    size_t max_depth;      /* nesting of tables, arrays and inline tables; default 32 */
    size_t max_values;     /* values and tables in the document; default 65536 */
    size_t max_table_keys; /* keys in one table (or items in one array); default 1024 */
} kw__toml_limits;

/*
 * Parses text[0..len).  On success 0 and *out is the root table (free it with
 * kw__toml_free).  On failure a negative kw error (KW_EMALFORMED for bad TOML,
 * KW_EUNSUPPORTED for TOML this reader does not take, KW_ETOOBIG past a limit,
 * KW_ENOMEM), *out is NULL, err gets "LINE:COL: message" and *err_line (if
 * given) the line.
 */
int kw__toml_parse(const char *text, size_t len, const kw__toml_limits *limits,
                   kw__toml_value **out, char *err, size_t errlen, int *err_line);

void kw__toml_free(kw__toml_value *root);

/*
 * Reads the file at path whole (at most max bytes) for kw__toml_parse: 0 and
 * *text (malloc'd, NUL-terminated; the caller frees) and *len, or KW_ECONFIG
 * with "PATH: why" in err (missing, unreadable, bigger than max), KW_ENOMEM.
 */
int kw__toml_read_file(const char *path, size_t max, char **text, size_t *len, char *err,
                       size_t errlen);

/* The entry named key in table t, or NULL (also when t is NULL or not a table). */
const kw__toml_entry *kw__toml_find(const kw__toml_value *t, const char *key);

/* The value of key in t, or NULL. */
const kw__toml_value *kw__toml_get(const kw__toml_value *t, const char *key);

/*
 * Walks a path of keys from t: "wal", "sasl", NULL.  The value at the end, or
 * NULL when a step is missing or not a table.
 */
const kw__toml_value *kw__toml_path(const kw__toml_value *t, const char *const *keys);

/* "string", "integer", "float", "boolean", "array", "table". */
const char *kw__toml_type_name(int type);

#endif /* KW_WAL_TOML_H */
