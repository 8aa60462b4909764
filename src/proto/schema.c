/* The one encoder and one decoder that walk the message tables of schema.h. */
#include "schema.h"

#include <stdbool.h>

#define HAS(mask, ver) (((mask) >> (ver)) & 1u)

static inline void *member(void *obj, const kw_field *f)
{
    return (char *)obj + f->off;
}
static inline const void *cmember(const void *obj, const kw_field *f)
{
    return (const char *)obj + f->off;
}

static size_t prim_size(int type)
{
    switch (type) {
    case KW_T_BOOL:
    case KW_T_INT8:
        return 1;
    case KW_T_INT16:
    case KW_T_UINT16:
        return 2;
    case KW_T_INT32:
    case KW_T_UINT32:
        return 4;
    case KW_T_INT64:
    case KW_T_FLOAT64:
        return 8;
    case KW_T_UUID:
        return 16;
    case KW_T_STRING:
        return sizeof(kw_str);
    case KW_T_BYTES:
    case KW_T_RECORDS:
        return sizeof(kw_bytes);
    default:
        return 0;
    }
}

/* Size of one array element in memory. */
static size_t elem_size(const kw_field *f)
{
    return f->elem == KW_T_STRUCT ? f->sub->size : prim_size(f->elem);
}

/* ---- defaults ---- */

static void set_int(void *p, int type, int64_t v)
{
    switch (type) {
    case KW_T_BOOL:
        *(bool *)p = v != 0;
        break;
    case KW_T_INT8:
        *(int8_t *)p = (int8_t)v;
        break;
    case KW_T_INT16:
        *(int16_t *)p = (int16_t)v;
        break;
    case KW_T_UINT16:
        *(uint16_t *)p = (uint16_t)v;
        break;
    case KW_T_INT32:
        *(int32_t *)p = (int32_t)v;
        break;
    case KW_T_UINT32:
        *(uint32_t *)p = (uint32_t)v;
        break;
    case KW_T_INT64:
        *(int64_t *)p = v;
        break;
    case KW_T_FLOAT64:
        *(double *)p = (double)v;
        break;
    }
}

static int64_t get_int(const void *p, int type)
{
    switch (type) {
    case KW_T_BOOL:
        return *(const bool *)p;
    case KW_T_INT8:
        return *(const int8_t *)p;
    case KW_T_INT16:
        return *(const int16_t *)p;
    case KW_T_UINT16:
        return *(const uint16_t *)p;
    case KW_T_INT32:
        return *(const int32_t *)p;
    case KW_T_UINT32:
        return *(const uint32_t *)p;
    case KW_T_INT64:
        return *(const int64_t *)p;
    default:
        return 0;
    }
}

static void field_default(const kw_field *f, int ver, void *p)
{
    switch (f->type) {
    case KW_T_UUID:
        memset(p, 0, sizeof(kw_uuid));
        break;
    case KW_T_STRING:
        *(kw_str *)p = f->dflt == -1 ? KW_STR_NULL : (kw_str){"", 0};
        break;
    case KW_T_BYTES:
    case KW_T_RECORDS:
        *(kw_bytes *)p = f->dflt == -1 ? KW_BYTES_NULL : (kw_bytes){(const uint8_t *)"", 0};
        break;
    case KW_T_ARRAY:
        *(kw_array *)p = (kw_array){NULL, f->dflt == -1 ? -1 : 0};
        break;
    case KW_T_STRUCT:
        if (f->nullv)
            *(const void **)p = NULL; /* a nullable struct is a pointer: null by default */
        else
            kw__schema_init(f->sub, ver, p);
        break;
    case KW_T_FLOAT64:
        *(double *)p = (double)f->dflt;
        break;
    default:
        set_int(p, f->type, f->dflt);
        break;
    }
}

void kw__schema_init(const kw_schema *s, int ver, void *obj)
{
    memset(obj, 0, s->size);
    for (uint16_t i = 0; i < s->nfields; i++)
        field_default(&s->fields[i], ver, member(obj, &s->fields[i]));
}

static bool is_default(const kw_field *f, int ver, const void *p);

static bool struct_is_default(const kw_schema *s, int ver, const void *obj)
{
    for (uint16_t i = 0; i < s->nfields; i++) {
        const kw_field *f = &s->fields[i];
        if (HAS(f->vers, ver) && !is_default(f, ver, cmember(obj, f)))
            return false;
    }
    return true;
}

/* Tagged fields are written only when they differ from their default. */
static bool is_default(const kw_field *f, int ver, const void *p)
{
    static const kw_uuid zero;
    switch (f->type) {
    case KW_T_UUID:
        return memcmp(p, &zero, sizeof(zero)) == 0;
    case KW_T_STRING: {
        const kw_str *s = p;
        return f->dflt == -1 ? s->len < 0 : s->len == 0;
    }
    case KW_T_BYTES:
    case KW_T_RECORDS: {
        const kw_bytes *b = p;
        return f->dflt == -1 ? b->len < 0 : b->len == 0;
    }
    case KW_T_ARRAY: {
        const kw_array *a = p;
        return f->dflt == -1 ? a->n < 0 : a->n == 0;
    }
    case KW_T_STRUCT:
        if (f->nullv)
            return *(const void *const *)p == NULL;
        return struct_is_default(f->sub, ver, p);
    case KW_T_FLOAT64:
        return *(const double *)p == (double)f->dflt;
    default:
        return get_int(p, f->type) == f->dflt;
    }
}

/* ---- encoder ---- */

static int enc_struct(kw_wr *w, const kw_schema *s, int ver, bool flex, const void *obj);

static void enc_prim(kw_wr *w, int type, const void *p, bool flex)
{
    switch (type) {
    case KW_T_BOOL:
        kw__wr_bool(w, *(const bool *)p);
        break;
    case KW_T_INT8:
        kw__wr_i8(w, *(const int8_t *)p);
        break;
    case KW_T_INT16:
        kw__wr_i16(w, *(const int16_t *)p);
        break;
    case KW_T_UINT16:
        kw__wr_u16(w, *(const uint16_t *)p);
        break;
    case KW_T_INT32:
        kw__wr_i32(w, *(const int32_t *)p);
        break;
    case KW_T_UINT32:
        kw__wr_u32(w, *(const uint32_t *)p);
        break;
    case KW_T_INT64:
        kw__wr_i64(w, *(const int64_t *)p);
        break;
    case KW_T_FLOAT64:
        kw__wr_f64(w, *(const double *)p);
        break;
    case KW_T_UUID:
        kw__wr_uuid(w, *(const kw_uuid *)p);
        break;
    case KW_T_STRING:
        kw__wr_str(w, *(const kw_str *)p, flex);
        break;
    case KW_T_BYTES:
        kw__wr_bytes(w, *(const kw_bytes *)p, flex);
        break;
    case KW_T_RECORDS:
        kw__wr_records(w, *(const kw_bytes *)p, flex);
        break;
    }
}

static bool value_is_null(const kw_field *f, const void *p)
{
    switch (f->type) {
    case KW_T_STRING:
        return ((const kw_str *)p)->len < 0;
    case KW_T_BYTES:
    case KW_T_RECORDS:
        return ((const kw_bytes *)p)->len < 0;
    case KW_T_ARRAY:
        return ((const kw_array *)p)->n < 0;
    case KW_T_STRUCT:
        return f->nullv && *(const void *const *)p == NULL;
    default:
        return false;
    }
}

static int enc_field(kw_wr *w, const kw_field *f, int ver, bool flex, const void *p)
{
    if (value_is_null(f, p) && !HAS(f->nullv, ver)) {
        if (!w->err)
            w->err = KW_EINVAL;
        return w->err;
    }
    if (f->type == KW_T_STRUCT && f->nullv) {
        /* Kafka writes a nullable struct as an int8 marker, -1 null or 1 present, then the struct */
        const void *sp = *(const void *const *)p;
        if (HAS(f->nullv, ver))
            kw__wr_i8(w, sp ? 1 : -1);
        return sp ? enc_struct(w, f->sub, ver, flex, sp) : w->err;
    }
    if (f->type == KW_T_STRUCT)
        return enc_struct(w, f->sub, ver, flex, p);
    if (f->type != KW_T_ARRAY) {
        enc_prim(w, f->type, p, flex);
        return w->err;
    }
    const kw_array *a = p;
    kw__wr_count(w, a->n, flex);
    if (a->n > 0 && !a->v) {
        if (!w->err)
            w->err = KW_EINVAL;
        return w->err;
    }
    size_t es = elem_size(f);
    for (int32_t i = 0; i < a->n && !w->err; i++) {
        const char *e = (const char *)a->v + (size_t)i * es;
        if (f->elem == KW_T_STRUCT) {
            enc_struct(w, f->sub, ver, flex, e);
        } else if ((f->elem == KW_T_STRING && ((const kw_str *)e)->len < 0) ||
                   ((f->elem == KW_T_BYTES || f->elem == KW_T_RECORDS) &&
                    ((const kw_bytes *)e)->len < 0)) {
            /* elements of primitive arrays are never nullable in Kafka's specs */
            if (!w->err)
                w->err = KW_EINVAL;
        } else {
            enc_prim(w, f->elem, e, flex);
        }
    }
    return w->err;
}

static int enc_struct(kw_wr *w, const kw_schema *s, int ver, bool flex, const void *obj)
{
    uint32_t ntagged = 0;
    for (uint16_t i = 0; i < s->nfields && !w->err; i++) {
        const kw_field *f = &s->fields[i];
        if (!HAS(f->vers, ver))
            continue;
        if (flex && HAS(f->tagv, ver)) {
            if (!is_default(f, ver, cmember(obj, f)))
                ntagged++;
            continue;
        }
        enc_field(w, f, ver, flex, cmember(obj, f));
    }
    if (!flex || w->err)
        return w->err;
    /* Tagged fields: count, then (tag, size, value) in ascending tag order.
     * The tables list tagged fields in tag order.  Each value is encoded
     * into a scratch writer first to learn its size. */
    kw__wr_uvarint(w, ntagged);
    for (uint16_t i = 0; i < s->nfields && ntagged && !w->err; i++) {
        const kw_field *f = &s->fields[i];
        if (!HAS(f->vers, ver) || !HAS(f->tagv, ver) || is_default(f, ver, cmember(obj, f)))
            continue;
        kw_wr tmp;
        kw__wr_init(&tmp);
        enc_field(&tmp, f, ver, flex, cmember(obj, f));
        if (tmp.err) {
            w->err = tmp.err;
        } else {
            kw__wr_uvarint(w, f->tag);
            kw__wr_uvarint(w, (uint32_t)tmp.len);
            kw__wr_raw(w, tmp.buf, tmp.len);
        }
        kw__wr_free(&tmp);
    }
    return w->err;
}

int kw__schema_encode(kw_wr *w, const kw_schema *s, int ver, bool flex, const void *obj)
{
    if (ver < 0 || ver > 31)
        return w->err = KW_EINVAL;
    return enc_struct(w, s, ver, flex, obj);
}

/* ---- decoder ---- */

static size_t prim_min_wire(int type, bool flex)
{
    switch (type) {
    case KW_T_STRING:
        return flex ? 1 : 2;
    case KW_T_BYTES:
    case KW_T_RECORDS:
        return flex ? 1 : 4;
    default:
        return prim_size(type);
    }
}

size_t kw__schema_min_size(const kw_schema *s, int ver, bool flex)
{
    size_t n = flex ? 1 : 0; /* the tagged-field count */
    for (uint16_t i = 0; i < s->nfields; i++) {
        const kw_field *f = &s->fields[i];
        if (!HAS(f->vers, ver) || (flex && HAS(f->tagv, ver)))
            continue;
        if (f->type == KW_T_ARRAY)
            n += flex ? 1 : 4;
        else if (f->type == KW_T_STRUCT && HAS(f->nullv, ver))
            n += 1; /* the null marker */
        else if (f->type == KW_T_STRUCT)
            n += kw__schema_min_size(f->sub, ver, flex);
        else
            n += prim_min_wire(f->type, flex);
    }
    return n;
}

static int dec_struct(kw_rd *r, const kw_schema *s, int ver, bool flex, kw_arena *a, void *obj,
                      int depth);

static void dec_prim(kw_rd *r, int type, void *p, bool flex, bool nullable)
{
    switch (type) {
    case KW_T_BOOL:
        *(bool *)p = kw__rd_bool(r);
        break;
    case KW_T_INT8:
        *(int8_t *)p = kw__rd_i8(r);
        break;
    case KW_T_INT16:
        *(int16_t *)p = kw__rd_i16(r);
        break;
    case KW_T_UINT16:
        *(uint16_t *)p = kw__rd_u16(r);
        break;
    case KW_T_INT32:
        *(int32_t *)p = kw__rd_i32(r);
        break;
    case KW_T_UINT32:
        *(uint32_t *)p = kw__rd_u32(r);
        break;
    case KW_T_INT64:
        *(int64_t *)p = kw__rd_i64(r);
        break;
    case KW_T_FLOAT64:
        *(double *)p = kw__rd_f64(r);
        break;
    case KW_T_UUID:
        *(kw_uuid *)p = kw__rd_uuid(r);
        break;
    case KW_T_STRING:
        *(kw_str *)p = kw__rd_str(r, flex, nullable);
        break;
    case KW_T_BYTES:
    case KW_T_RECORDS:
        *(kw_bytes *)p = kw__rd_bytes(r, flex, nullable);
        break;
    }
}

/* Nesting is bounded by the tables themselves; the limit guards a bad table. */
#define MAX_DEPTH 16

static int dec_field(kw_rd *r, const kw_field *f, int ver, bool flex, kw_arena *a, void *p,
                     int depth)
{
    bool nullable = HAS(f->nullv, ver);
    if (f->type == KW_T_STRUCT && f->nullv) {
        *(void **)p = NULL;
        if (nullable) {
            /* Kafka only writes -1 or 1; anything else is refused so what decodes re-encodes the same */
            int8_t marker = kw__rd_i8(r);
            if (r->err || marker == -1)
                return r->err;
            if (marker != 1)
                return kw__rd_fail(r, KW_EMALFORMED);
        }
        if (depth + 1 > MAX_DEPTH)
            return kw__rd_fail(r, KW_EMALFORMED);
        void *sp = kw__arena_alloc(a, f->sub->size);
        if (!sp)
            return kw__rd_fail(r, KW_ETOOBIG);
        *(void **)p = sp;
        return dec_struct(r, f->sub, ver, flex, a, sp, depth + 1);
    }
    if (f->type == KW_T_STRUCT)
        return dec_struct(r, f->sub, ver, flex, a, p, depth + 1);
    if (f->type != KW_T_ARRAY) {
        dec_prim(r, f->type, p, flex, nullable);
        return r->err;
    }
    kw_array *arr = p;
    size_t min = f->elem == KW_T_STRUCT ? kw__schema_min_size(f->sub, ver, flex)
                                        : prim_min_wire(f->elem, flex);
    int32_t n = kw__rd_count(r, flex, nullable, min);
    if (r->err)
        return r->err;
    arr->n = n;
    arr->v = NULL;
    if (n <= 0)
        return 0;
    size_t es = elem_size(f);
    if ((size_t)n > SIZE_MAX / es)
        return kw__rd_fail(r, KW_ETOOBIG);
    arr->v = kw__arena_alloc(a, (size_t)n * es);
    if (!arr->v)
        return kw__rd_fail(r, KW_ETOOBIG);
    for (int32_t i = 0; i < n && !r->err; i++) {
        char *e = (char *)arr->v + (size_t)i * es;
        if (f->elem == KW_T_STRUCT)
            dec_struct(r, f->sub, ver, flex, a, e, depth + 1);
        else
            dec_prim(r, f->elem, e, flex, false);
    }
    return r->err;
}

static const kw_field *find_tag(const kw_schema *s, int ver, uint32_t tag)
{
    for (uint16_t i = 0; i < s->nfields; i++) {
        const kw_field *f = &s->fields[i];
        if (HAS(f->vers, ver) && HAS(f->tagv, ver) && f->tag == tag)
            return f;
    }
    return NULL;
}

static int dec_struct(kw_rd *r, const kw_schema *s, int ver, bool flex, kw_arena *a, void *obj,
                      int depth)
{
    if (depth > MAX_DEPTH)
        return kw__rd_fail(r, KW_EMALFORMED);
    kw__schema_init(s, ver, obj);
    for (uint16_t i = 0; i < s->nfields && !r->err; i++) {
        const kw_field *f = &s->fields[i];
        if (!HAS(f->vers, ver) || (flex && HAS(f->tagv, ver)))
            continue;
        dec_field(r, f, ver, flex, a, member(obj, f), depth);
    }
    if (!flex || r->err)
        return r->err;
    uint32_t ntagged = kw__rd_uvarint(r);
    for (uint32_t i = 0; i < ntagged && !r->err; i++) {
        uint32_t tag = kw__rd_uvarint(r);
        uint32_t size = kw__rd_uvarint(r);
        const uint8_t *data = kw__rd_raw(r, size);
        if (!data)
            break;
        const kw_field *f = find_tag(s, ver, tag);
        if (!f)
            continue; /* unknown tags are skipped, as the protocol asks */
        kw_rd sub = kw_rd_init(data, size);
        dec_field(&sub, f, ver, flex, a, member(obj, f), depth);
        if (sub.err)
            return kw__rd_fail(r, sub.err);
        if (sub.p != sub.end)
            return kw__rd_fail(r, KW_EMALFORMED);
    }
    return r->err;
}

int kw__schema_decode(kw_rd *r, const kw_schema *s, int ver, bool flex, kw_arena *a, void *obj)
{
    if (ver < 0 || ver > 31)
        return kw__rd_fail(r, KW_EINVAL);
    return dec_struct(r, s, ver, flex, a, obj, 0);
}
