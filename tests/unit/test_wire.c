/* Unit tests of the wire primitives: exact bytes, limits, and errors on short or bad input. */
#include <check.h>
#include <stdlib.h>

#include "proto/wire.h"

static void expect_bytes(const kw_wr *w, const uint8_t *want, size_t n)
{
    ck_assert_int_eq(w->err, 0);
    ck_assert_uint_eq(w->len, n);
    ck_assert_mem_eq(w->buf, want, n);
}

START_TEST(fixed_ints_are_big_endian)
{
    kw_wr w;
    kw__wr_init(&w);
    kw__wr_i8(&w, -2);
    kw__wr_i16(&w, 0x1234);
    kw__wr_i32(&w, -559038737); /* 0xDEADBEEF */
    kw__wr_i64(&w, 0x0102030405060708LL);
    kw__wr_u32(&w, 0xCAFEBABEu);
    const uint8_t want[] = {0xFE, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3, 4, 5, 6, 7, 8,
                            0xCA, 0xFE, 0xBA, 0xBE};
    expect_bytes(&w, want, sizeof(want));
    kw_rd r = kw_rd_init(w.buf, w.len);
    ck_assert_int_eq(kw__rd_i8(&r), -2);
    ck_assert_int_eq(kw__rd_i16(&r), 0x1234);
    ck_assert_int_eq(kw__rd_i32(&r), -559038737);
    ck_assert(kw__rd_i64(&r) == 0x0102030405060708LL);
    ck_assert_uint_eq(kw__rd_u32(&r), 0xCAFEBABEu);
    ck_assert_int_eq(r.err, 0);
    ck_assert_uint_eq(kw_rd_left(&r), 0);
    kw__wr_free(&w);
}
END_TEST

START_TEST(varints_match_the_spec_vectors)
{
    /* Zigzag: 0->0, -1->1, 1->2, -2->3, 63->126, -64->127, 64->128 (0x80 0x01). */
    struct {
        int32_t v;
        uint8_t bytes[5];
        size_t n;
    } cases[] = {
        {0, {0x00}, 1},       {-1, {0x01}, 1},       {1, {0x02}, 1},
        {-2, {0x03}, 1},      {63, {0x7E}, 1},       {-64, {0x7F}, 1},
        {64, {0x80, 0x01}, 2}, {300, {0xD8, 0x04}, 2},
        {INT32_MIN, {0xFF, 0xFF, 0xFF, 0xFF, 0x0F}, 5},
        {INT32_MAX, {0xFE, 0xFF, 0xFF, 0xFF, 0x0F}, 5},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        kw_wr w;
        kw__wr_init(&w);
        kw__wr_varint(&w, cases[i].v);
        expect_bytes(&w, cases[i].bytes, cases[i].n);
        ck_assert_uint_eq(kw__varint_size(cases[i].v), cases[i].n);
        kw_rd r = kw_rd_init(w.buf, w.len);
        ck_assert_int_eq(kw__rd_varint(&r), cases[i].v);
        ck_assert_int_eq(r.err, 0);
        kw__wr_free(&w);
    }
}
END_TEST

START_TEST(varlong_extremes_round_trip)
{
    int64_t vals[] = {0, -1, 1, INT64_MAX, INT64_MIN, 1LL << 40, -(1LL << 50)};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        kw_wr w;
        kw__wr_init(&w);
        kw__wr_varlong(&w, vals[i]);
        ck_assert_uint_eq(w.len, kw__varlong_size(vals[i]));
        kw_rd r = kw_rd_init(w.buf, w.len);
        ck_assert(kw__rd_varlong(&r) == vals[i]);
        ck_assert_int_eq(r.err, 0);
        kw__wr_free(&w);
    }
    /* INT64_MIN zigzags to UINT64_MAX: ten bytes, the last 0x01. */
    kw_wr w;
    kw__wr_init(&w);
    kw__wr_varlong(&w, INT64_MIN);
    ck_assert_uint_eq(w.len, 10);
    ck_assert_uint_eq(w.buf[9], 0x01);
    kw__wr_free(&w);
}
END_TEST

START_TEST(uvarint_is_plain_leb128)
{
    kw_wr w;
    kw__wr_init(&w);
    kw__wr_uvarint(&w, 0);
    kw__wr_uvarint(&w, 127);
    kw__wr_uvarint(&w, 128);
    kw__wr_uvarint(&w, UINT32_MAX);
    const uint8_t want[] = {0x00, 0x7F, 0x80, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F};
    expect_bytes(&w, want, sizeof(want));
    kw__wr_free(&w);
}
END_TEST

START_TEST(overlong_varints_are_malformed)
{
    const uint8_t six[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    kw_rd r = kw_rd_init(six, sizeof(six));
    (void)kw__rd_uvarint(&r);
    ck_assert_int_eq(r.err, KW_EMALFORMED);
    /* five bytes whose value needs more than 32 bits */
    const uint8_t big[] = {0xFF, 0xFF, 0xFF, 0xFF, 0x1F};
    r = kw_rd_init(big, sizeof(big));
    (void)kw__rd_uvarint(&r);
    ck_assert_int_eq(r.err, KW_EMALFORMED);
    const uint8_t cut[] = {0x80, 0x80};
    r = kw_rd_init(cut, sizeof(cut));
    (void)kw__rd_varint(&r);
    ck_assert_int_eq(r.err, KW_ETRUNCATED);
    const uint8_t eleven[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    r = kw_rd_init(eleven, sizeof(eleven));
    (void)kw__rd_varlong(&r);
    ck_assert_int_eq(r.err, KW_EMALFORMED);
}
END_TEST

START_TEST(strings_classic_and_compact)
{
    kw_wr w;
    kw__wr_init(&w);
    kw__wr_str(&w, kw_str_c("kw"), false);
    kw__wr_str(&w, KW_STR_NULL, false);
    kw__wr_str(&w, kw_str_c("kw"), true);
    kw__wr_str(&w, KW_STR_NULL, true);
    kw__wr_str(&w, kw_str_c(""), true);
    const uint8_t want[] = {0x00, 0x02, 'k', 'w', 0xFF, 0xFF, 0x03, 'k', 'w', 0x00, 0x01};
    expect_bytes(&w, want, sizeof(want));
    kw_rd r = kw_rd_init(w.buf, w.len);
    ck_assert(kw_str_eq(kw__rd_str(&r, false, false), "kw"));
    ck_assert_int_eq(kw__rd_str(&r, false, true).len, -1);
    ck_assert(kw_str_eq(kw__rd_str(&r, true, false), "kw"));
    ck_assert_int_eq(kw__rd_str(&r, true, true).len, -1);
    ck_assert(kw_str_eq(kw__rd_str(&r, true, false), ""));
    ck_assert_int_eq(r.err, 0);
    kw__wr_free(&w);
}
END_TEST

START_TEST(null_where_not_nullable_is_malformed)
{
    const uint8_t classic_null[] = {0xFF, 0xFF};
    kw_rd r = kw_rd_init(classic_null, sizeof(classic_null));
    (void)kw__rd_str(&r, false, false);
    ck_assert_int_eq(r.err, KW_EMALFORMED);
    const uint8_t compact_null[] = {0x00};
    r = kw_rd_init(compact_null, 1);
    (void)kw__rd_bytes(&r, true, false);
    ck_assert_int_eq(r.err, KW_EMALFORMED);
    const uint8_t minus_two[] = {0xFF, 0xFE};
    r = kw_rd_init(minus_two, 2);
    (void)kw__rd_str(&r, false, true);
    ck_assert_int_eq(r.err, KW_EMALFORMED);
}
END_TEST

START_TEST(lengths_past_the_end_fail_before_allocation)
{
    /* bytes claiming 2 GiB with 3 bytes behind them */
    const uint8_t b[] = {0x7F, 0xFF, 0xFF, 0xFF, 'a', 'b', 'c'};
    kw_rd r = kw_rd_init(b, sizeof(b));
    (void)kw__rd_bytes(&r, false, false);
    ck_assert_int_eq(r.err, KW_ETRUNCATED);
    /* an array count of 1,000,000 with 8 bytes of input and 4-byte elements */
    const uint8_t c[] = {0x00, 0x0F, 0x42, 0x40, 0, 0, 0, 0, 0, 0, 0, 0};
    r = kw_rd_init(c, sizeof(c));
    ck_assert_int_eq(kw__rd_count(&r, false, false, 4), 0);
    ck_assert_int_eq(r.err, KW_ETRUNCATED);
    r = kw_rd_init(c, sizeof(c));
    /* two elements fit */
    const uint8_t d[] = {0x00, 0x00, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0};
    r = kw_rd_init(d, sizeof(d));
    ck_assert_int_eq(kw__rd_count(&r, false, false, 4), 2);
    ck_assert_int_eq(r.err, 0);
}
END_TEST

START_TEST(errors_stick_and_reads_return_zero)
{
    const uint8_t b[] = {0x01};
    kw_rd r = kw_rd_init(b, 1);
    ck_assert_int_eq(kw__rd_i32(&r), 0);
    ck_assert_int_eq(r.err, KW_ETRUNCATED);
    ck_assert_int_eq(kw__rd_i8(&r), 0); /* the byte is still there, but the error sticks */
    ck_assert_int_eq(r.err, KW_ETRUNCATED);
    ck_assert_uint_eq(kw_rd_left(&r), 0);
}
END_TEST

START_TEST(fixed_writer_reports_overflow)
{
    uint8_t buf[3];
    kw_wr w;
    kw__wr_init_fixed(&w, buf, sizeof(buf));
    kw__wr_i16(&w, 7);
    ck_assert_int_eq(w.err, 0);
    kw__wr_i16(&w, 8);
    ck_assert_int_eq(w.err, KW_ETOOBIG);
    ck_assert_uint_eq(w.len, 2);
    kw__wr_free(&w);
}
END_TEST

START_TEST(arena_enforces_its_limit)
{
    kw_arena a;
    kw__arena_init(&a, 1000);
    void *p = kw__arena_alloc(&a, 600);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_null(kw__arena_alloc(&a, 600));
    ck_assert_ptr_nonnull(kw__arena_alloc(&a, 400));
    ck_assert_ptr_null(kw__arena_alloc(&a, SIZE_MAX));
    kw__arena_reset(&a);
    ck_assert_ptr_nonnull(kw__arena_alloc(&a, 1000));
    kw__arena_reset(&a);
}
END_TEST

START_TEST(uuid_round_trips)
{
    kw_uuid u;
    for (int i = 0; i < 16; i++)
        u.b[i] = (uint8_t)(i * 17);
    kw_wr w;
    kw__wr_init(&w);
    kw__wr_uuid(&w, u);
    kw_rd r = kw_rd_init(w.buf, w.len);
    kw_uuid v = kw__rd_uuid(&r);
    ck_assert_mem_eq(u.b, v.b, 16);
    kw__wr_free(&w);
}
END_TEST

START_TEST(a_length_without_a_pointer_is_refused_not_sent_as_null)
{
    kw_wr w;
    kw__wr_init(&w);
    kw__wr_str(&w, (kw_str){NULL, 3}, false);
    ck_assert_int_eq(w.err, KW_EINVAL);
    ck_assert_uint_eq(w.len, 0);
    kw__wr_free(&w);
    kw__wr_init(&w);
    kw__wr_bytes(&w, (kw_bytes){NULL, 5}, true);
    ck_assert_int_eq(w.err, KW_EINVAL);
    kw__wr_free(&w);
}
END_TEST

START_TEST(reserving_nothing_on_an_empty_writer_gives_a_real_pointer)
{
    kw_wr w;
    kw__wr_init(&w);
    uint8_t *p = kw__wr_reserve(&w, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(w.err, 0);
    ck_assert_uint_eq(w.len, 0);
    kw__wr_raw(&w, "", 0);
    ck_assert_int_eq(w.err, 0);
    kw__wr_free(&w);
}
END_TEST

START_TEST(error_names_and_messages)
{
    ck_assert_str_eq(kw_err_name(KW_ETRUNCATED), "KW_ETRUNCATED");
    ck_assert_str_eq(kw_strerror(KW_ETIMEDOUT), "timed out");
    ck_assert_str_eq(kw_strerror(0), "success");
    ck_assert_str_eq(kw_err_name(-9999), "KW_EUNKNOWN");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("wire");
    TCase *tc = tcase_create("primitives");
    tcase_add_test(tc, fixed_ints_are_big_endian);
    tcase_add_test(tc, varints_match_the_spec_vectors);
    tcase_add_test(tc, varlong_extremes_round_trip);
    tcase_add_test(tc, uvarint_is_plain_leb128);
    tcase_add_test(tc, overlong_varints_are_malformed);
    tcase_add_test(tc, strings_classic_and_compact);
    tcase_add_test(tc, null_where_not_nullable_is_malformed);
    tcase_add_test(tc, lengths_past_the_end_fail_before_allocation);
    tcase_add_test(tc, errors_stick_and_reads_return_zero);
    tcase_add_test(tc, fixed_writer_reports_overflow);
    tcase_add_test(tc, arena_enforces_its_limit);
    tcase_add_test(tc, uuid_round_trips);
    tcase_add_test(tc, a_length_without_a_pointer_is_refused_not_sent_as_null);
    tcase_add_test(tc, reserving_nothing_on_an_empty_writer_gives_a_real_pointer);
    tcase_add_test(tc, error_names_and_messages);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
