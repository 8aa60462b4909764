/* Every request and response of every API kwal speaks, at every version: fill, encode, decode, compare. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "proto/msg.h"

#define HAS(mask, ver) (((mask) >> (ver)) & 1u)

/* Deterministic generator so a failure names a seed that reproduces it. */
static uint64_t rng_state;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static size_t type_size(int t)
{
    switch (t) {
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
    default:
        return sizeof(kw_bytes);
    }
}

static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789._-";

static void fill_prim(kw_arena *a, int t, void *p, bool nullable)
{
    switch (t) {
    case KW_T_BOOL:
        *(bool *)p = rnd() & 1;
        break;
    case KW_T_INT8:
        *(int8_t *)p = (int8_t)rnd();
        break;
    case KW_T_INT16:
        *(int16_t *)p = (int16_t)rnd();
        break;
    case KW_T_UINT16:
        *(uint16_t *)p = (uint16_t)rnd();
        break;
    case KW_T_INT32:
        *(int32_t *)p = (int32_t)rnd();
        break;
    case KW_T_UINT32:
        *(uint32_t *)p = rnd();
        break;
    case KW_T_INT64:
        *(int64_t *)p = (int64_t)((uint64_t)rnd() << 32 | rnd());
        break;
    case KW_T_FLOAT64:
        *(double *)p = (double)(int32_t)rnd() / 7.0;
        break;
    case KW_T_UUID:
        for (int i = 0; i < 16; i++)
            ((kw_uuid *)p)->b[i] = (uint8_t)rnd();
        break;
    case KW_T_STRING: {
        if (nullable && rnd() % 4 == 0) {
            *(kw_str *)p = KW_STR_NULL;
            break;
        }
        int32_t n = (int32_t)(rnd() % 9);
        char *s = kw__arena_alloc(a, (size_t)n + 1);
        for (int32_t i = 0; i < n; i++)
            s[i] = alphabet[rnd() % (sizeof(alphabet) - 1)];
        *(kw_str *)p = (kw_str){s, n};
        break;
    }
    default: { /* bytes, records */
        if (nullable && rnd() % 4 == 0) {
            *(kw_bytes *)p = KW_BYTES_NULL;
            break;
        }
        int32_t n = (int32_t)(rnd() % 12);
        uint8_t *b = kw__arena_alloc(a, (size_t)n + 1);
        for (int32_t i = 0; i < n; i++)
            b[i] = (uint8_t)rnd();
        *(kw_bytes *)p = (kw_bytes){b, n};
        break;
    }
    }
}

static void fill_struct(kw_arena *a, const kw_schema *s, int ver, void *obj, int depth);

static void fill_field(kw_arena *a, const kw_field *f, int ver, void *p, int depth)
{
    bool nullable = HAS(f->nullv, ver);
    if (f->type == KW_T_STRUCT && f->nullv) { /* a nullable struct is a pointer (schema.h) */
        void *sp = NULL;
        if (!nullable || rnd() % 4 != 0) {
            sp = kw__arena_alloc(a, f->sub->size);
            fill_struct(a, f->sub, ver, sp, depth + 1);
        }
        *(void **)p = sp;
        return;
    }
    if (f->type == KW_T_STRUCT) {
        fill_struct(a, f->sub, ver, p, depth + 1);
        return;
    }
    if (f->type != KW_T_ARRAY) {
        fill_prim(a, f->type, p, nullable);
        return;
    }
    kw_array *arr = p;
    if (nullable && rnd() % 4 == 0) {
        *arr = (kw_array){NULL, -1};
        return;
    }
    int32_t n = depth > 3 ? 0 : (int32_t)(rnd() % 4);
    size_t es = f->elem == KW_T_STRUCT ? f->sub->size : type_size(f->elem);
    arr->v = n ? kw__arena_alloc(a, (size_t)n * es) : NULL;
    arr->n = n;
    for (int32_t i = 0; i < n; i++) {
        char *e = (char *)arr->v + (size_t)i * es;
        if (f->elem == KW_T_STRUCT)
            fill_struct(a, f->sub, ver, e, depth + 1);
        else
            fill_prim(a, f->elem, e, false);
    }
}

static void fill_struct(kw_arena *a, const kw_schema *s, int ver, void *obj, int depth)
{
    kw__schema_init(s, ver, obj);
    for (uint16_t i = 0; i < s->nfields; i++) {
        const kw_field *f = &s->fields[i];
        if (!HAS(f->vers, ver))
            continue;
        /* Tagged fields stay at their default half of the time, so both the
         * "absent" and the "present" encodings get exercised. */
        if (HAS(f->tagv, ver) && rnd() % 2)
            continue;
        fill_field(a, f, ver, (char *)obj + f->off, depth);
    }
}

/* Deep comparison of the fields present at ver; returns the first differing path. */
static bool same_struct(const kw_schema *s, int ver, const void *x, const void *y, char *path,
                        size_t plen);

static bool same_prim(int t, const void *x, const void *y)
{
    if (t == KW_T_STRING) {
        const kw_str *a = x, *b = y;
        return a->len == b->len && (a->len <= 0 || memcmp(a->ptr, b->ptr, (size_t)a->len) == 0);
    }
    if (t == KW_T_BYTES || t == KW_T_RECORDS) {
        const kw_bytes *a = x, *b = y;
        return a->len == b->len && (a->len <= 0 || memcmp(a->ptr, b->ptr, (size_t)a->len) == 0);
    }
    return memcmp(x, y, type_size(t)) == 0;
}

static bool same_struct(const kw_schema *s, int ver, const void *x, const void *y, char *path,
                        size_t plen)
{
    for (uint16_t i = 0; i < s->nfields; i++) {
        const kw_field *f = &s->fields[i];
        if (!HAS(f->vers, ver))
            continue;
        const char *px = (const char *)x + f->off, *py = (const char *)y + f->off;
        bool ok = true;
        if (f->type == KW_T_STRUCT && f->nullv) {
            const void *sx = *(const void *const *)px, *sy = *(const void *const *)py;
            ok = (sx == NULL) == (sy == NULL) &&
                 (!sx || same_struct(f->sub, ver, sx, sy, path, plen));
        } else if (f->type == KW_T_STRUCT) {
            ok = same_struct(f->sub, ver, px, py, path, plen);
        } else if (f->type == KW_T_ARRAY) {
            const kw_array *a = (const void *)px, *b = (const void *)py;
            ok = a->n == b->n;
            size_t es = f->elem == KW_T_STRUCT ? f->sub->size : type_size(f->elem);
            for (int32_t j = 0; ok && j < a->n; j++) {
                const char *ea = (const char *)a->v + (size_t)j * es;
                const char *eb = (const char *)b->v + (size_t)j * es;
                ok = f->elem == KW_T_STRUCT ? same_struct(f->sub, ver, ea, eb, path, plen)
                                            : same_prim(f->elem, ea, eb);
            }
        } else {
            ok = same_prim(f->type, px, py);
        }
        if (!ok) {
            size_t used = strlen(path);
            snprintf(path + used, plen - used, "<%s.%s", s->name, f->name);
            return false;
        }
    }
    return true;
}

enum side { REQUEST, RESPONSE };

/* One api/version/side, a few random fillings, each checked four ways. */
static void round_trip(const kw_api *api, int ver, enum side side)
{
    const kw_schema *s = side == REQUEST ? api->req : api->resp;
    for (int iter = 0; iter < 25; iter++) {
        uint64_t seed = (uint64_t)api->key << 40 | (uint64_t)ver << 32 | (uint64_t)side << 16 |
                        (uint64_t)iter | 1;
        rng_state = seed;
        kw_arena a;
        kw__arena_init(&a, 0);
        void *in = kw__arena_alloc(&a, s->size);
        void *out = kw__arena_alloc(&a, s->size);
        fill_struct(&a, s, ver, in, 0);

        kw_wr w, w2;
        kw__wr_init(&w);
        kw__wr_init(&w2);
        int rc = side == REQUEST ? kw__request_encode(&w, api, ver, 77, kw_str_c("rt"), in)
                                 : kw__response_encode(&w, api, ver, 77, in);
        ck_assert_msg(rc == 0, "%s v%d %s seed %llx: encode failed %d", api->name, ver,
                      side == REQUEST ? "request" : "response", (unsigned long long)seed, rc);
        ck_assert_int_eq((int32_t)kw_load_be32(w.buf), (int32_t)(w.len - 4));

        const uint8_t *frame = w.buf + 4;
        size_t flen = w.len - 4;
        if (side == REQUEST) {
            kw_request_header h;
            const kw_api *got = NULL;
            rc = kw__request_decode(frame, flen, &a, &h, &got, out, s->size);
            ck_assert_msg(rc == 0, "%s v%d request seed %llx: decode failed %d", api->name, ver,
                          (unsigned long long)seed, rc);
            ck_assert_ptr_eq(got, api);
            ck_assert_int_eq(h.api_version, ver);
            ck_assert_int_eq(h.correlation_id, 77);
            ck_assert(kw_str_eq(h.client_id, "rt"));
            rc = kw__request_encode(&w2, api, ver, 77, kw_str_c("rt"), out);
        } else {
            int32_t corr = 0;
            ck_assert_int_eq(kw__response_correlation_id(frame, flen, &corr), 0);
            ck_assert_int_eq(corr, 77);
            rc = kw__response_decode(frame, flen, api, ver, &a, out);
            ck_assert_msg(rc == 0, "%s v%d response seed %llx: decode failed %d", api->name, ver,
                          (unsigned long long)seed, rc);
            rc = kw__response_encode(&w2, api, ver, 77, out);
        }
        ck_assert_int_eq(rc, 0);
        char path[512] = "";
        ck_assert_msg(same_struct(s, ver, in, out, path, sizeof(path)),
                      "%s v%d seed %llx: decoded value differs at %s", api->name, ver,
                      (unsigned long long)seed, path);
        ck_assert_msg(w2.len == w.len && memcmp(w.buf, w2.buf, w.len) == 0,
                      "%s v%d seed %llx: re-encoding differs", api->name, ver,
                      (unsigned long long)seed);

        /* Every strict prefix of a response is an error, never a crash or a success. */
        if (side == RESPONSE && iter < 3) {
            for (size_t cut = 0; cut < flen; cut++) {
                kw_arena b;
                kw__arena_init(&b, 0);
                void *tmp = kw__arena_alloc(&b, s->size);
                ck_assert_msg(kw__response_decode(frame, cut, api, ver, &b, tmp) < 0,
                              "%s v%d: a %zu-byte prefix of %zu decoded", api->name, ver, cut,
                              flen);
                kw__arena_reset(&b);
            }
        }
        kw__wr_free(&w);
        kw__wr_free(&w2);
        kw__arena_reset(&a);
    }
}

START_TEST(every_api_every_version_round_trips)
{
    size_t n;
    const kw_api *const *apis = kw__apis(&n);
    ck_assert_uint_ge(n, 22);
    int checked = 0;
    for (size_t i = 0; i < n; i++) {
        for (int v = apis[i]->vmin; v <= apis[i]->vmax; v++) {
            round_trip(apis[i], v, REQUEST);
            round_trip(apis[i], v, RESPONSE);
            checked++;
        }
    }
    fprintf(stderr, "round-tripped %d API versions (requests and responses)\n", checked);
}
END_TEST

/* resp_<snake_case name>, the fuzz target and corpus directory of an API (kafka_io.c's naming). */
static void fuzz_name(const kw_api *api, char *out, size_t cap)
{
    size_t o = (size_t)snprintf(out, cap, "resp_");
    for (const char *s = api->name; *s && o + 2 < cap; s++) {
        if (*s >= 'A' && *s <= 'Z') {
            if (s != api->name)
                out[o++] = '_';
            out[o++] = (char)(*s - 'A' + 'a');
        } else {
            out[o++] = *s;
        }
    }
    out[o] = 0;
}

/* A new API must not slip past the fuzzer: fuzz/meson.build names a target for every API in the
 * registry, and fuzz/corpus has seeds for it. */
START_TEST(every_api_has_a_response_fuzz_target_with_seeds)
{
    const char *root = getenv("KWAL_SOURCE_ROOT");
    if (!root || !*root)
        return; /* run outside meson: nothing to look at */
    char path[1024];
    snprintf(path, sizeof(path), "%s/fuzz/meson.build", root);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot read %s", path);
    static char text[1 << 16];
    size_t len = fread(text, 1, sizeof(text) - 1, f);
    text[len] = 0;
    fclose(f);
    size_t n;
    const kw_api *const *apis = kw__apis(&n);
    for (size_t i = 0; i < n; i++) {
        char name[96], entry[128];
        fuzz_name(apis[i], name, sizeof(name));
        snprintf(entry, sizeof(entry), "'%s' : %d,", name, apis[i]->key);
        ck_assert_msg(strstr(text, entry), "fuzz/meson.build has no %s", entry);
        snprintf(path, sizeof(path), "%s/fuzz/corpus/%s", root, name);
        DIR *d = opendir(path);
        ck_assert_msg(d != NULL, "no seeds in %s", path);
        int files = 0;
        for (struct dirent *e; (e = readdir(d));)
            files += e->d_name[0] != '.';
        closedir(d);
        ck_assert_msg(files > 0, "no seeds in %s", path);
    }
}
END_TEST

START_TEST(versions_out_of_range_are_refused)
{
    const kw_api *api = kw__api(KW_API_API_VERSIONS);
    ck_assert_ptr_nonnull(api);
    char req[256] = {0};
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__request_encode(&w, api, api->vmax + 1, 1, KW_STR_NULL, req), KW_EINVAL);
    kw__wr_free(&w);
    ck_assert_ptr_null(kw__api(99));
}
END_TEST

START_TEST(null_elements_of_string_arrays_are_refused)
{
    /* DescribeConfigs configuration_keys: an array of non-nullable strings */
    typedef struct {
        KW_ARRAY(kw_str) keys;
    } holder;
    static const kw_field fields[] = {KW_FP(holder, keys, KW_T_STRING, KW_VALL)};
    static const kw_schema s = KW_SCHEMA(holder, fields);
    kw_str keys[2] = {kw_str_c("a"), KW_STR_NULL};
    holder h;
    h.keys.v = keys;
    h.keys.n = 2;
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__schema_encode(&w, &s, 0, false, &h), KW_EINVAL);
    kw__wr_free(&w);
    h.keys.n = 1;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__schema_encode(&w, &s, 0, false, &h), 0);
    const uint8_t want[] = {0, 0, 0, 1, 0, 1, 'a'};
    ck_assert_uint_eq(w.len, sizeof(want));
    ck_assert_mem_eq(w.buf, want, sizeof(want));
    kw__wr_free(&w);
}
END_TEST

START_TEST(negotiation_picks_highest_common_and_names_missing_apis)
{
    kw_api_range ranges[] = {
        {KW_API_PRODUCE, 3, 13},  /* broker newer than kwal: kwal's max */
        {KW_API_FETCH, 18, 19},   /* no overlap */
        {KW_API_METADATA, 0, 5},  /* broker older: broker's max */
        {KW_API_API_VERSIONS, 0, 4},
        {99, 0, 3}, /* an API kwal does not speak is ignored */
    };
    kw_versions v;
    kw__versions_pick(&v, ranges, sizeof(ranges) / sizeof(ranges[0]));
    char err[200];
    ck_assert_int_eq(kw__versions_get(&v, KW_API_PRODUCE, err, sizeof(err)),
                     kw__api(KW_API_PRODUCE)->vmax);
    ck_assert_int_eq(kw__versions_get(&v, KW_API_METADATA, err, sizeof(err)), 5);
    ck_assert_int_eq(kw__versions_get(&v, KW_API_FETCH, err, sizeof(err)), KW_EVERSION);
    ck_assert_msg(strstr(err, "Fetch") && strstr(err, "18-19"), "got: %s", err);
    ck_assert_int_eq(kw__versions_get(&v, KW_API_DELETE_RECORDS, err, sizeof(err)), KW_EVERSION);
    ck_assert_str_eq(err, "broker does not support DeleteRecords (API key 21)");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("roundtrip");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_api_every_version_round_trips);
    tcase_add_test(tc, versions_out_of_range_are_refused);
    tcase_add_test(tc, negotiation_picks_highest_common_and_names_missing_apis);
    tcase_add_test(tc, null_elements_of_string_arrays_are_refused);
    tcase_add_test(tc, every_api_has_a_response_fuzz_target_with_seeds);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
