/* Table-driven message codec: a message is a table of fields, read by one encoder and one decoder. */
#ifndef KW_PROTO_SCHEMA_H
#define KW_PROTO_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/*
 * Kafka describes every message as a list of fields, each present in a range
 * of versions, some nullable in a range, some "tagged" (optional, by number)
 * in flexible versions.  kwal writes the same facts down as C tables that map
 * each field onto a member of a plain C struct; kw__schema_encode and
 * kw__schema_decode walk those tables.  One exact engine instead of ~44
 * hand-written codecs x their versions.
 *
 * C types by field type:
 *   KW_T_BOOL bool, KW_T_INT8 int8_t, KW_T_INT16 int16_t, KW_T_UINT16 uint16_t,
 *   KW_T_INT32 int32_t, KW_T_UINT32 uint32_t, KW_T_INT64 int64_t,
 *   KW_T_FLOAT64 double, KW_T_UUID kw_uuid, KW_T_STRING kw_str,
 *   KW_T_BYTES / KW_T_RECORDS kw_bytes, KW_T_STRUCT the sub-schema's struct
 *   (inline), KW_T_ARRAY KW_ARRAY(elem C type).
 *
 * A struct field with .nullv set (a nullable struct, e.g.
 * ConsumerGroupHeartbeat's Assignment) is instead a pointer to the
 * sub-schema's struct, NULL for null; give it .dflt = -1 when the spec's
 * default is null.  Decoding allocates it from the arena.
 */
enum kw_type {
    KW_T_BOOL = 1,
    KW_T_INT8,
    KW_T_INT16,
    KW_T_UINT16,
    KW_T_INT32,
    KW_T_UINT32,
    KW_T_INT64,
    KW_T_FLOAT64,
    KW_T_UUID,
    KW_T_STRING,
    KW_T_BYTES,
    KW_T_RECORDS,
    KW_T_STRUCT,
    KW_T_ARRAY,
};

/* A mask of versions a..b (b <= 31); KW_VFROM(a) is "a+". */
#define KW_V(a, b) ((uint32_t)((((uint64_t)1 << ((b) - (a) + 1)) - 1) << (a)))
#define KW_VFROM(a) KW_V(a, 31)
#define KW_VALL KW_V(0, 31)

typedef struct kw_schema kw_schema;

typedef struct kw_field {
    const char *name;
    uint8_t type;          /* enum kw_type */
    uint8_t elem;          /* element type, for KW_T_ARRAY */
    uint8_t tag;           /* tag number, when tagv is set */
    uint16_t off;          /* offsetof the member in the C struct */
    uint32_t vers;         /* versions the field is in */
    uint32_t nullv;        /* versions in which it may be null */
    uint32_t tagv;         /* versions in which it is a tagged field */
    const kw_schema *sub;  /* struct schema, for KW_T_STRUCT and arrays of structs */
    int64_t dflt;          /* ints: value when absent; strings, bytes, arrays: -1 = null */
} kw_field;

struct kw_schema {
    const char *name;
    uint16_t size; /* sizeof the C struct */
    uint16_t nfields;
    const kw_field *fields;
};

/* One field of struct S: KW_F(S, member, type, versions, optional .nullv = ..., .tag = ...). */
#define KW_F(S, member, T, versions, ...) \
    {.name = #member, .type = (T), .off = offsetof(S, member), .vers = (versions), __VA_ARGS__}
/* An array of structs of schema SUB. */
#define KW_FA(S, member, SUB, versions, ...)                                          \
    {.name = #member, .type = KW_T_ARRAY, .elem = KW_T_STRUCT, .sub = &(SUB),        \
     .off = offsetof(S, member), .vers = (versions), __VA_ARGS__}
/* An array of primitives of type ELEM. */
#define KW_FP(S, member, ELEM, versions, ...)                                        \
    {.name = #member, .type = KW_T_ARRAY, .elem = (ELEM), .off = offsetof(S, member), \
     .vers = (versions), __VA_ARGS__}
/* A nested struct (inline member) of schema SUB. */
#define KW_FS(S, member, SUB, versions, ...)                                           \
    {.name = #member, .type = KW_T_STRUCT, .sub = &(SUB), .off = offsetof(S, member), \
     .vers = (versions), __VA_ARGS__}
/* The schema of struct S, from a static array of fields. */
#define KW_SCHEMA(S, FIELDS) \
    {.name = #S, .size = sizeof(S), .nfields = sizeof(FIELDS) / sizeof((FIELDS)[0]), .fields = (FIELDS)}

/*
 * One API: its key, the versions kwal speaks, where flexible encoding starts,
 * and the request and response schemas.
 */
typedef struct kw_api {
    int16_t key;
    const char *name;
    int16_t vmin, vmax;
    int16_t flex; /* first flexible version; INT16_MAX when never */
    const kw_schema *req;
    const kw_schema *resp;
} kw_api;

/* Sets every member of obj to its default at version ver (ints to dflt, null or empty otherwise). */
void kw__schema_init(const kw_schema *s, int ver, void *obj);

/*
 * Encodes obj as version ver of schema s (flexible when flex).  Returns 0 or a
 * kwal error: KW_EINVAL when a null is given where the version has none.
 */
int kw__schema_encode(kw_wr *w, const kw_schema *s, int ver, bool flex, const void *obj);

/*
 * Decodes version ver of schema s into obj; arrays come from arena a,
 * strings and bytes point into r's buffer.  Unknown tagged fields are
 * skipped.  Returns 0 or a kwal error; r->err says the same.
 */
int kw__schema_decode(kw_rd *r, const kw_schema *s, int ver, bool flex, kw_arena *a, void *obj);

/* The fewest bytes one encoded struct of s can take at this version (for count checks). */
size_t kw__schema_min_size(const kw_schema *s, int ver, bool flex);

#endif /* KW_PROTO_SCHEMA_H */
