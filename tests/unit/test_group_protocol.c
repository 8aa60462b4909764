/* Unit tests of the consumer protocol documents: the bytes a Java 4.x consumer sends, both ways, and bad input. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/group_protocol.h"

/* Printed by kafka-clients 4.3.1's ConsumerProtocol.serializeSubscription / serializeAssignment for
 * topics [orders, events], user_data = CooperativeStickyAssignor's (generation -1), owned
 * [orders-2, events-0, orders-0], generation 7, rack "rack-a"; and assignment
 * [orders-1, orders-3, events-0] without user_data. */
static const char *java_sub[4] = {
    "00000000000200066576656e747300066f726465727300000004ffffffff",
    "00010000000200066576656e747300066f726465727300000004ffffffff0000000200066576656e7473000000010000"
    "000000066f7264657273000000020000000000000002",
    "00020000000200066576656e747300066f726465727300000004ffffffff0000000200066576656e7473000000010000"
    "000000066f726465727300000002000000000000000200000007",
    "00030000000200066576656e747300066f726465727300000004ffffffff0000000200066576656e7473000000010000"
    "000000066f72646572730000000200000000000000020000000700067261636b2d61",
};
static const char *java_sub_v3_empty = "000300000001000174ffffffff00000000ffffffffffff";
static const char *java_asg_body = "0000000200066f726465727300000002000000010000000300066576656e74730000000100000000ffffffff";
static const char *java_asg_v3_user_data = "00030000000000000003010203";

static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

static kw_arena arena;
static char detail[KW_GROUP_DETAIL_MAX];

static void setup(void)
{
    kw__arena_init(&arena, 1 << 20);
    detail[0] = 0;
}
static void teardown(void)
{
    kw__arena_reset(&arena);
}

static const int32_t events_p[] = {0}, orders_owned_p[] = {0, 2};
static const kw__group_topic_partitions java_owned[] = {
    {{"events", 6}, events_p, 1},
    {{"orders", 6}, orders_owned_p, 2},
};
static const kw_str java_topics[] = {{"events", 6}, {"orders", 6}};
static const uint8_t minus_one[4] = {0xff, 0xff, 0xff, 0xff};

START_TEST(decodes_a_java_subscription_of_every_version)
{
    for (int v = 0; v <= 3; v++) {
        uint8_t buf[256];
        size_t n = unhex(java_sub[v], buf);
        kw__group_subscription s;
        ck_assert_int_eq(kw__group_subscription_decode(buf, n, &arena, &s, detail, sizeof(detail)), 0);
        ck_assert_int_eq(s.version, v);
        ck_assert_int_eq(s.topic_count, 2);
        ck_assert(kw_str_eq(s.topics[0], "events"));
        ck_assert(kw_str_eq(s.topics[1], "orders"));
        ck_assert_int_eq(s.user_data.len, 4);
        ck_assert_mem_eq(s.user_data.ptr, minus_one, 4);
        if (v >= 1) {
            ck_assert_int_eq(s.owned_count, 2);
            ck_assert(kw_str_eq(s.owned[0].topic, "events"));
            ck_assert_int_eq(s.owned[0].count, 1);
            ck_assert_int_eq(s.owned[0].partitions[0], 0);
            ck_assert(kw_str_eq(s.owned[1].topic, "orders"));
            ck_assert_int_eq(s.owned[1].count, 2);
            ck_assert_int_eq(s.owned[1].partitions[0], 0);
            ck_assert_int_eq(s.owned[1].partitions[1], 2);
        } else {
            ck_assert_int_eq(s.owned_count, 0);
        }
        ck_assert_int_eq(s.generation, v >= 2 ? 7 : -1);
        /* v2+: the field; before: the cooperative-sticky user_data (-1 here) */
        ck_assert_int_eq(kw__group_subscription_generation(&s), v >= 2 ? 7 : -1);
        if (v >= 3)
            ck_assert(kw_str_eq(s.rack, "rack-a"));
        else
            ck_assert_int_eq(s.rack.len, -1);
    }
}
END_TEST

START_TEST(encodes_the_bytes_java_sends_at_every_version)
{
    for (int v = 0; v <= 3; v++) {
        kw__group_subscription s = {
            .version = (int16_t)v,
            .topics = java_topics,
            .topic_count = 2,
            .user_data = {minus_one, 4},
            .owned = java_owned,
            .owned_count = 2,
            .generation = 7,
            .rack = {"rack-a", 6},
        };
        kw_wr w;
        kw__wr_init(&w);
        ck_assert_int_eq(kw__group_subscription_encode(&w, &s), 0);
        uint8_t want[256];
        size_t n = unhex(java_sub[v], want);
        ck_assert_uint_eq(w.len, n);
        ck_assert_mem_eq(w.buf, want, n);
        kw__wr_free(&w);
    }
    kw__group_subscription empty = {3, (kw_str[]){{"t", 1}}, 1, KW_BYTES_NULL, NULL, 0, -1, KW_STR_NULL};
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__group_subscription_encode(&w, &empty), 0);
    uint8_t want[64];
    size_t n = unhex(java_sub_v3_empty, want);
    ck_assert_uint_eq(w.len, n);
    ck_assert_mem_eq(w.buf, want, n);
    kw__wr_free(&w);
}
END_TEST

START_TEST(assignments_round_trip_with_java_at_every_version)
{
    static const int32_t orders_p[] = {1, 3};
    const kw__group_topic_partitions parts[] = {{{"orders", 6}, orders_p, 2}, {{"events", 6}, events_p, 1}};
    for (int v = 0; v <= 3; v++) {
        uint8_t want[128];
        want[0] = 0;
        want[1] = (uint8_t)v;
        size_t n = 2 + unhex(java_asg_body, want + 2);
        kw__group_assignment a;
        ck_assert_int_eq(kw__group_assignment_decode(want, n, &arena, &a, detail, sizeof(detail)), 0);
        ck_assert_int_eq(a.version, v);
        ck_assert_int_eq(a.assigned_count, 2);
        ck_assert(kw_str_eq(a.assigned[0].topic, "orders"));
        ck_assert_int_eq(a.assigned[0].count, 2);
        ck_assert_int_eq(a.assigned[0].partitions[0], 1);
        ck_assert_int_eq(a.assigned[0].partitions[1], 3);
        ck_assert(kw_str_eq(a.assigned[1].topic, "events"));
        ck_assert_int_eq(a.assigned[1].partitions[0], 0);
        ck_assert_int_eq(a.user_data.len, -1);

        kw__group_assignment mine = {(int16_t)v, parts, 2, KW_BYTES_NULL};
        kw_wr w;
        kw__wr_init(&w);
        ck_assert_int_eq(kw__group_assignment_encode(&w, &mine), 0);
        ck_assert_uint_eq(w.len, n);
        ck_assert_mem_eq(w.buf, want, n);
        kw__wr_free(&w);
    }
    uint8_t buf[32];
    size_t n = unhex(java_asg_v3_user_data, buf);
    kw__group_assignment a;
    ck_assert_int_eq(kw__group_assignment_decode(buf, n, &arena, &a, detail, sizeof(detail)), 0);
    ck_assert_int_eq(a.assigned_count, 0);
    ck_assert_int_eq(a.user_data.len, 3);
    ck_assert_int_eq(a.user_data.ptr[2], 3);
}
END_TEST

START_TEST(every_cut_of_a_java_document_is_truncated_and_says_where)
{
    uint8_t buf[256];
    size_t n = unhex(java_sub[3], buf);
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1); /* exact size, so ASan sees any overread */
        memcpy(copy, buf, cut);
        kw__group_subscription s;
        ck_assert_int_eq(kw__group_subscription_decode(copy, cut, &arena, &s, detail, sizeof(detail)),
                         KW_ETRUNCATED);
        ck_assert_msg(strstr(detail, "consumer protocol subscription: ") == detail, "%s", detail);
        ck_assert_msg(strstr(detail, "input ends inside it") != NULL, "%s", detail);
        free(copy);
    }
    ck_assert_int_eq(kw__group_subscription_decode(buf, 64, &arena, &(kw__group_subscription){0}, detail,
                                                   sizeof(detail)),
                     KW_ETRUNCATED);
    ck_assert_str_eq(detail, "consumer protocol subscription: owned_partitions[1].partitions count: input ends inside it");
    n = 2 + unhex(java_asg_body, buf + 2);
    buf[0] = 0;
    buf[1] = 3;
    for (size_t cut = 0; cut < n; cut++) {
        kw__group_assignment a;
        ck_assert_int_eq(kw__group_assignment_decode(buf, cut, &arena, &a, detail, sizeof(detail)), KW_ETRUNCATED);
        ck_assert_msg(strstr(detail, "consumer protocol assignment: ") == detail, "%s", detail);
    }
}
END_TEST

static int decode_sub_hex(const char *hex)
{
    uint8_t buf[256];
    size_t n = unhex(hex, buf);
    kw__group_subscription s;
    return kw__group_subscription_decode(buf, n, &arena, &s, detail, sizeof(detail));
}

START_TEST(malformed_subscriptions_are_refused_with_the_field_named)
{
    ck_assert_int_eq(decode_sub_hex("ffff00000000ffffffff"), KW_EMALFORMED);
    ck_assert_str_eq(detail, "consumer protocol subscription: version -1 is not a version: malformed");
    ck_assert_int_eq(decode_sub_hex("0001ffffffffffffffff00000000"), KW_EMALFORMED);
    ck_assert_str_eq(detail, "consumer protocol subscription: topics count: malformed");
    ck_assert_int_eq(decode_sub_hex("000000000001ffffffffffff"), KW_EMALFORMED);
    ck_assert_str_eq(detail, "consumer protocol subscription: topics[0]: malformed");
    ck_assert_int_eq(decode_sub_hex("0000000000010001740000000201"), KW_ETRUNCATED);
    ck_assert_str_eq(detail, "consumer protocol subscription: user_data: input ends inside it");
    ck_assert_int_eq(decode_sub_hex("00000000000100017400000000" "00"), KW_EMALFORMED);
    ck_assert_str_eq(detail, "consumer protocol subscription: 1 bytes after the last field of version 0: malformed");
    /* owned_partitions: a null array, then a negative partition */
    ck_assert_int_eq(decode_sub_hex("000100000000ffffffffffffffff"), KW_EMALFORMED);
    ck_assert_str_eq(detail, "consumer protocol subscription: owned_partitions count: malformed");
    ck_assert_int_eq(decode_sub_hex("000100000000ffffffff00000001000174" "00000001fffffffe"), KW_EMALFORMED);
    ck_assert_str_eq(detail,
                     "consumer protocol subscription: owned_partitions[0].partitions[0] is negative (-2): malformed");
    /* a count larger than the bytes left is refused before anything is allocated */
    ck_assert_int_eq(decode_sub_hex("00007fffffff"), KW_ETRUNCATED);
    ck_assert_str_eq(detail, "consumer protocol subscription: topics count: input ends inside it");
    /* generation_id cut short at v2, rack_id of a negative length other than -1 at v3 */
    ck_assert_int_eq(decode_sub_hex("000200000000ffffffff000000000000"), KW_ETRUNCATED);
    ck_assert_str_eq(detail, "consumer protocol subscription: generation_id: input ends inside it");
    ck_assert_int_eq(decode_sub_hex("000300000000ffffffff0000000000000001fffe"), KW_EMALFORMED);
    ck_assert_str_eq(detail, "consumer protocol subscription: rack_id: malformed");
}
END_TEST

START_TEST(a_later_version_is_read_as_version_three)
{
    uint8_t buf[256];
    size_t n = unhex(java_sub[3], buf);
    buf[1] = 9;
    memcpy(buf + n, "\x00\x00\x00\x2a", 4); /* a field version 9 appended */
    kw__group_subscription s;
    ck_assert_int_eq(kw__group_subscription_decode(buf, n + 4, &arena, &s, detail, sizeof(detail)), 0);
    ck_assert_int_eq(s.version, 9);
    ck_assert_int_eq(s.generation, 7);
    ck_assert(kw_str_eq(s.rack, "rack-a"));
    /* but the encoder writes only versions it knows */
    kw_wr w;
    kw__wr_init(&w);
    ck_assert_int_eq(kw__group_subscription_encode(&w, &s), KW_EINVAL);
    kw__wr_free(&w);
}
END_TEST

START_TEST(the_encoder_refuses_what_it_cannot_write)
{
    kw_wr w;
    kw__wr_init(&w);
    kw__group_subscription s = {.version = 1, .topics = (kw_str[]){KW_STR_NULL}, .topic_count = 1,
                                .user_data = KW_BYTES_NULL};
    ck_assert_int_eq(kw__group_subscription_encode(&w, &s), KW_EINVAL);
    static const int32_t bad[] = {-1};
    kw__group_assignment a = {0, (kw__group_topic_partitions[]){{{"t", 1}, bad, 1}}, 1, KW_BYTES_NULL};
    ck_assert_int_eq(kw__group_assignment_encode(&w, &a), KW_EINVAL);
    a.version = -1;
    ck_assert_int_eq(kw__group_assignment_encode(&w, &a), KW_EINVAL);
    ck_assert_uint_eq(w.len, 0);
    kw__wr_free(&w);
    /* a fixed buffer that is too small reports the writer's error */
    uint8_t small[4];
    kw__wr_init_fixed(&w, small, sizeof(small));
    s.topics = java_topics;
    ck_assert_int_eq(kw__group_subscription_encode(&w, &s), KW_ETOOBIG);
}
END_TEST

START_TEST(the_sticky_user_data_is_the_generation_big_endian)
{
    uint8_t ud[4];
    kw__group_sticky_user_data(258, ud);
    ck_assert_mem_eq(ud, "\x00\x00\x01\x02", 4);
    /* a v1 member's generation comes from it; a v2 member's field wins when set */
    kw__group_subscription s = {.version = 1, .user_data = {ud, 4}, .generation = -1};
    ck_assert_int_eq(kw__group_subscription_generation(&s), 258);
    s.version = 2;
    s.generation = 5;
    ck_assert_int_eq(kw__group_subscription_generation(&s), 5);
    s.generation = -1;
    ck_assert_int_eq(kw__group_subscription_generation(&s), 258);
    s.user_data = KW_BYTES_NULL;
    ck_assert_int_eq(kw__group_subscription_generation(&s), -1);
    s.user_data = (kw_bytes){ud, 3};
    ck_assert_int_eq(kw__group_subscription_generation(&s), -1);
}
END_TEST

START_TEST(the_arena_limit_is_an_error_not_a_crash)
{
    uint8_t buf[256];
    size_t n = unhex(java_sub[3], buf);
    kw_arena tiny;
    kw__arena_init(&tiny, 8);
    kw__group_subscription s;
    ck_assert_int_eq(kw__group_subscription_decode(buf, n, &tiny, &s, detail, sizeof(detail)), KW_ENOMEM);
    ck_assert_msg(strstr(detail, "over the decode memory limit") != NULL, "%s", detail);
    kw__arena_reset(&tiny);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("group_protocol");
    TCase *tc = tcase_create("documents");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, decodes_a_java_subscription_of_every_version);
    tcase_add_test(tc, encodes_the_bytes_java_sends_at_every_version);
    tcase_add_test(tc, assignments_round_trip_with_java_at_every_version);
    tcase_add_test(tc, every_cut_of_a_java_document_is_truncated_and_says_where);
    tcase_add_test(tc, malformed_subscriptions_are_refused_with_the_field_named);
    tcase_add_test(tc, a_later_version_is_read_as_version_three);
    tcase_add_test(tc, the_encoder_refuses_what_it_cannot_write);
    tcase_add_test(tc, the_sticky_user_data_is_the_generation_big_endian);
    tcase_add_test(tc, the_arena_limit_is_an_error_not_a_crash);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
