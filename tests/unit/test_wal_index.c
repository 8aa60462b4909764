/* The replay index record's codec and the writer's range list, with byte vectors worked out by hand. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "kwal/error.h"
#include "wal/index.h"

/* "KWIX" 1 | 0x0001 "t" | region 7 | vf 100 | covered-vf 50 | n 2 | (0,10,300) (20,5,0) */
static const uint8_t two_ranges[] = {'K', 'W', 'I', 'X', 1, 0, 1, 't', 0, 0, 0, 0, 0, 0, 0, 7,
                                     100, 50, 2, 0, 10, 0xac, 0x02, 20, 5, 0};

START_TEST(encodes_the_layout_the_header_describes)
{
    kw_wal_index_range r[2] = {{100, 110, 300}, {130, 135, 0}};
    kw_wal_index_record rec = {.topic = "t", .topic_len = 1, .region_id = 7, .valid_from = 100,
                               .covered = 150, .ranges = r, .n = 2};
    uint8_t *out;
    size_t len;
    ck_assert_int_eq(kw__wal_index_encode(&rec, &out, &len), 0);
    ck_assert_uint_eq(len, sizeof(two_ranges));
    ck_assert_mem_eq(out, two_ranges, len);
    free(out);
    char key[KW_WAL_INDEX_KEY_MAX];
    ck_assert_int_eq(kw__wal_index_key(key, "t", 7), 8);
    ck_assert_str_eq(key, "kwix/t/7");
}
END_TEST

START_TEST(decodes_it_back)
{
    kw_wal_index_record rec;
    const char *why = NULL;
    ck_assert_int_eq(kw__wal_index_decode(two_ranges, sizeof(two_ranges), &rec, &why), 0);
    ck_assert_uint_eq(rec.region_id, 7);
    ck_assert_int_eq(rec.valid_from, 100);
    ck_assert_int_eq(rec.covered, 150);
    ck_assert_uint_eq(rec.n, 2);
    ck_assert_int_eq(rec.ranges[1].start, 130);
    ck_assert_int_eq(rec.ranges[1].end, 135);
    ck_assert_uint_eq(rec.ranges[0].bytes, 300);
    free(rec.ranges);
}
END_TEST

START_TEST(refuses_bad_bytes_and_says_why)
{
    uint8_t b[sizeof(two_ranges)];
    kw_wal_index_record rec;
    const char *why;
    for (size_t cut = 0; cut < sizeof(two_ranges); cut++) {
        why = NULL;
        ck_assert_int_eq(kw__wal_index_decode(two_ranges, cut, &rec, &why), KW_EMALFORMED);
        ck_assert_ptr_nonnull(why);
    }
    memcpy(b, two_ranges, sizeof(b));
    b[0] = 'X';
    ck_assert_int_eq(kw__wal_index_decode(b, sizeof(b), &rec, &why), KW_EMALFORMED);
    ck_assert_str_eq(why, "index record: bad magic");
    memcpy(b, two_ranges, sizeof(b));
    b[24] = 30; /* the second range ends past covered */
    ck_assert_int_eq(kw__wal_index_decode(b, sizeof(b), &rec, &why), KW_EMALFORMED);
    ck_assert_str_eq(why, "index record: a range is empty or outside [valid_from, covered)");
    memcpy(b, two_ranges, sizeof(b));
    b[18] = 100; /* more ranges than bytes */
    ck_assert_int_eq(kw__wal_index_decode(b, sizeof(b), &rec, &why), KW_EMALFORMED);
    ck_assert_str_eq(why, "index record: range count larger than the record holds");
}
END_TEST

START_TEST(list_merges_touching_batches_and_caps_its_length)
{
    kw_wal_index_list l = {0};
    ck_assert_int_eq(kw__wal_index_list_add(&l, 10, 20, 5), 0);
    ck_assert_int_eq(kw__wal_index_list_add(&l, 20, 30, 5), 0);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_int_eq(l.v[0].end, 30);
    ck_assert_uint_eq(l.v[0].bytes, 10);
    for (int64_t i = 0; i < KW_WAL_INDEX_MAX_RANGES + 10; i++)
        ck_assert_int_eq(kw__wal_index_list_add(&l, 100 + i * 10, 101 + i * 10, 1), 0);
    ck_assert_uint_eq(l.n, KW_WAL_INDEX_MAX_RANGES);
    ck_assert_int_eq(l.v[l.n - 1].end, 101 + (KW_WAL_INDEX_MAX_RANGES + 9) * 10);
    /* the joined ranges cover what they joined */
    ck_assert_int_eq(l.v[0].start, 10);
    ck_assert_int_eq(l.v[0].end, 30);
    ck_assert_int_eq(l.v[1].start, 100);
    for (size_t i = 1; i < l.n; i++)
        ck_assert_int_gt(l.v[i].start, l.v[i - 1].end);
    kw__wal_index_list_drop_below(&l, 31);
    ck_assert_int_eq(l.v[0].start, 100);
    ck_assert_uint_eq(l.n, KW_WAL_INDEX_MAX_RANGES - 1);
    kw__wal_index_list_free(&l);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("wal_index");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, encodes_the_layout_the_header_describes);
    tcase_add_test(tc, decodes_it_back);
    tcase_add_test(tc, refuses_bad_bytes_and_says_why);
    tcase_add_test(tc, list_merges_touching_batches_and_caps_its_length);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
