/* The consumer protocol's subscription and assignment documents: encoders and bounds-checked decoders. */
#include "group_protocol.h"

#include <stdarg.h>
#include <stdio.h>

/* ---- encoding ---- */

static int check_partitions(const kw__group_topic_partitions *tp, int32_t n)
{
    if (n < 0 || (n > 0 && !tp))
        return KW_EINVAL;
    for (int32_t i = 0; i < n; i++) {
        if (tp[i].topic.len < 0 || tp[i].count < 0 || (tp[i].count > 0 && !tp[i].partitions))
            return KW_EINVAL;
        for (int32_t j = 0; j < tp[i].count; j++)
            if (tp[i].partitions[j] < 0)
                return KW_EINVAL;
    }
    return 0;
}

static void write_partitions(kw_wr *w, const kw__group_topic_partitions *tp, int32_t n)
{
    kw__wr_i32(w, n);
    for (int32_t i = 0; i < n; i++) {
        kw__wr_str(w, tp[i].topic, false);
        kw__wr_i32(w, tp[i].count);
        for (int32_t j = 0; j < tp[i].count; j++)
            kw__wr_i32(w, tp[i].partitions[j]);
    }
}

int kw__group_subscription_encode(kw_wr *w, const kw__group_subscription *s)
{
    if (s->version < 0 || s->version > KW_GROUP_PROTOCOL_VERSION_MAX || s->topic_count < 0 ||
        (s->topic_count > 0 && !s->topics))
        return KW_EINVAL;
    for (int32_t i = 0; i < s->topic_count; i++)
        if (s->topics[i].len < 0)
            return KW_EINVAL;
    if (s->version >= 1 && check_partitions(s->owned, s->owned_count) != 0)
        return KW_EINVAL;
    kw__wr_i16(w, s->version);
    kw__wr_i32(w, s->topic_count);
    for (int32_t i = 0; i < s->topic_count; i++)
        kw__wr_str(w, s->topics[i], false);
    kw__wr_bytes(w, s->user_data, false);
    if (s->version >= 1)
        write_partitions(w, s->owned, s->owned_count);
    if (s->version >= 2)
        kw__wr_i32(w, s->generation);
    if (s->version >= 3)
        kw__wr_str(w, s->rack, false);
    return w->err;
}

int kw__group_assignment_encode(kw_wr *w, const kw__group_assignment *a)
{
    if (a->version < 0 || a->version > KW_GROUP_PROTOCOL_VERSION_MAX ||
        check_partitions(a->assigned, a->assigned_count) != 0)
        return KW_EINVAL;
    kw__wr_i16(w, a->version);
    write_partitions(w, a->assigned, a->assigned_count);
    kw__wr_bytes(w, a->user_data, false);
    return w->err;
}

/* ---- decoding ---- */

typedef struct decoder {
    kw_rd r;
    kw_arena *arena;
    const char *doc; /* "subscription" or "assignment", for the detail */
    char *detail;
    size_t detail_cap;
} decoder;

/* Records the first failure with a detail naming the field; returns the error. */
__attribute__((format(printf, 3, 4))) static int fail(decoder *d, int err, const char *fmt, ...)
{
    if (d->r.err && d->r.err != err)
        err = d->r.err;
    d->r.err = err;
    if (d->detail && d->detail_cap) {
        char field[96];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(field, sizeof(field), fmt, ap);
        va_end(ap);
        const char *why = err == KW_ETRUNCATED ? "input ends inside it"
                          : err == KW_ENOMEM   ? "over the decode memory limit"
                                               : "malformed";
        snprintf(d->detail, d->detail_cap, "consumer protocol %s: %s: %s", d->doc, field, why);
    }
    return err;
}

/* A non-null string; a null or negative length is malformed. */
static kw_str read_name(decoder *d)
{
    return kw__rd_str(&d->r, false, false);
}

/* An array count that is not null and whose elements (min_elem bytes each) fit in what is left. */
static int32_t read_count(decoder *d, size_t min_elem)
{
    return kw__rd_count(&d->r, false, false, min_elem);
}

static void *alloc_array(decoder *d, int32_t n, size_t size)
{
    void *p = kw__arena_alloc(d->arena, (size_t)n * size);
    if (!p)
        d->r.err = KW_ENOMEM;
    return p;
}

/* [](topic string, partitions []int32), the layout both documents share. */
static int read_partitions(decoder *d, const char *field, const kw__group_topic_partitions **out,
                           int32_t *count)
{
    /* topic length (2) + partitions count (4) */
    int32_t n = read_count(d, 6);
    if (d->r.err)
        return fail(d, d->r.err, "%s count", field);
    kw__group_topic_partitions *tp = alloc_array(d, n, sizeof(*tp));
    if (!tp)
        return fail(d, KW_ENOMEM, "%s", field);
    for (int32_t i = 0; i < n; i++) {
        tp[i].topic = read_name(d);
        if (d->r.err)
            return fail(d, d->r.err, "%s[%d].topic", field, (int)i);
        int32_t np = read_count(d, 4);
        if (d->r.err)
            return fail(d, d->r.err, "%s[%d].partitions count", field, (int)i);
        int32_t *p = alloc_array(d, np, sizeof(*p));
        if (!p)
            return fail(d, KW_ENOMEM, "%s[%d].partitions", field, (int)i);
        for (int32_t j = 0; j < np; j++) {
            p[j] = kw__rd_i32(&d->r);
            if (p[j] < 0)
                return fail(d, KW_EMALFORMED, "%s[%d].partitions[%d] is negative (%d)", field, (int)i,
                            (int)j, (int)p[j]);
        }
        if (d->r.err)
            return fail(d, d->r.err, "%s[%d].partitions", field, (int)i);
        tp[i].partitions = p;
        tp[i].count = np;
    }
    *out = tp;
    *count = n;
    return 0;
}

static int read_version(decoder *d, int16_t *version)
{
    *version = kw__rd_i16(&d->r);
    if (d->r.err)
        return fail(d, d->r.err, "version");
    if (*version < 0)
        return fail(d, KW_EMALFORMED, "version %d is not a version", (int)*version);
    return 0;
}

/* Known versions must end where their last field does; later versions may append fields. */
static int finish(decoder *d, int16_t version)
{
    if (version <= KW_GROUP_PROTOCOL_VERSION_MAX && kw_rd_left(&d->r) != 0)
        return fail(d, KW_EMALFORMED, "%zu bytes after the last field of version %d",
                    kw_rd_left(&d->r), (int)version);
    return 0;
}

static decoder decoder_init(const void *buf, size_t len, kw_arena *arena, const char *doc,
                            char *detail, size_t detail_cap)
{
    if (detail && detail_cap)
        detail[0] = 0;
    return (decoder){kw_rd_init(buf, len), arena, doc, detail, detail_cap};
}

int kw__group_subscription_decode(const void *buf, size_t len, kw_arena *arena,
                                  kw__group_subscription *out, char *detail, size_t detail_cap)
{
    decoder d = decoder_init(buf, len, arena, "subscription", detail, detail_cap);
    kw__group_subscription s = {.user_data = KW_BYTES_NULL, .generation = -1, .rack = KW_STR_NULL};
    int err = read_version(&d, &s.version);
    if (err)
        return err;
    int32_t n = read_count(&d, 2);
    if (d.r.err)
        return fail(&d, d.r.err, "topics count");
    kw_str *topics = alloc_array(&d, n, sizeof(*topics));
    if (!topics)
        return fail(&d, KW_ENOMEM, "topics");
    for (int32_t i = 0; i < n; i++) {
        topics[i] = read_name(&d);
        if (d.r.err)
            return fail(&d, d.r.err, "topics[%d]", (int)i);
    }
    s.topics = topics;
    s.topic_count = n;
    s.user_data = kw__rd_bytes(&d.r, false, true);
    if (d.r.err)
        return fail(&d, d.r.err, "user_data");
    if (s.version >= 1 && (err = read_partitions(&d, "owned_partitions", &s.owned, &s.owned_count)))
        return err;
    if (s.version >= 2) {
        s.generation = kw__rd_i32(&d.r);
        if (d.r.err)
            return fail(&d, d.r.err, "generation_id");
    }
    if (s.version >= 3) {
        s.rack = kw__rd_str(&d.r, false, true);
        if (d.r.err)
            return fail(&d, d.r.err, "rack_id");
    }
    if ((err = finish(&d, s.version)))
        return err;
    *out = s;
    return 0;
}

int kw__group_assignment_decode(const void *buf, size_t len, kw_arena *arena,
                                kw__group_assignment *out, char *detail, size_t detail_cap)
{
    decoder d = decoder_init(buf, len, arena, "assignment", detail, detail_cap);
    kw__group_assignment a = {.user_data = KW_BYTES_NULL};
    int err = read_version(&d, &a.version);
    if (err)
        return err;
    if ((err = read_partitions(&d, "assigned_partitions", &a.assigned, &a.assigned_count)))
        return err;
    a.user_data = kw__rd_bytes(&d.r, false, true);
    if (d.r.err)
        return fail(&d, d.r.err, "user_data");
    if ((err = finish(&d, a.version)))
        return err;
    *out = a;
    return 0;
}

int32_t kw__group_subscription_generation(const kw__group_subscription *s)
{
    if (s->version >= 2 && s->generation >= 0)
        return s->generation;
    if (s->user_data.len >= 4 && s->user_data.ptr)
        return (int32_t)kw_load_be32(s->user_data.ptr);
    return -1;
}

void kw__group_sticky_user_data(int32_t generation, uint8_t out[4])
{
    kw_store_be32(out, (uint32_t)generation);
}
