/* libFuzzer target for the consumer protocol documents (JoinGroup/SyncGroup metadata) and the assignors fed by them. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kwal/error.h"
#include "net/group_assign.h"
#include "net/group_protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(int err, const char *detail)
{
    if (err != KW_ETRUNCATED && err != KW_EMALFORMED && err != KW_ENOMEM)
        abort();
    if (err != KW_ENOMEM && (detail[0] == 0 || strlen(detail) >= KW_GROUP_DETAIL_MAX))
        abort();
}

/* A known version decodes strictly, so encoding the result must give back the input. */
static void check_same(int err, const kw_wr *w, const uint8_t *data, size_t size)
{
    if (err || w->len != size || memcmp(w->buf, data, size) != 0)
        abort();
}

/* Two members with this subscription (one static), its topics as the metadata, every assignor. */
static void run_assignors(const kw__group_subscription *s)
{
    kw__assign_topic topics[8];
    size_t nt = 0;
    for (int32_t i = 0; i < s->topic_count && nt < 8; i++) {
        bool seen = false;
        for (size_t k = 0; k < nt; k++)
            seen = seen || (topics[k].topic.len == s->topics[i].len &&
                            memcmp(topics[k].topic.ptr, s->topics[i].ptr, (size_t)s->topics[i].len) == 0);
        if (!seen)
            topics[nt++] = (kw__assign_topic){s->topics[i], (int32_t)(1 + s->topics[i].len % 5)};
    }
    kw__assign_member members[2] = {
        {{"m-1", 3}, KW_STR_NULL, s},
        {{"m-0", 3}, s->rack, s},
    };
    kw__assign_input in = {members, 2, topics, nt};
    const char *names[] = {"range", "roundrobin", "cooperative-sticky"};
    for (size_t k = 0; k < 3; k++) {
        const kw__assignor *a = kw__assignor_find(names[k]);
        kw_arena arena;
        kw__arena_init(&arena, 1 << 20);
        kw__member_assignment out[2];
        char detail[KW_GROUP_DETAIL_MAX];
        int err = a->assign(&in, &arena, out, detail, sizeof(detail));
        if (err)
            abort();
        for (size_t m = 0; m < 2; m++) {
            kw_wr w;
            kw__wr_init(&w);
            kw__group_assignment asg = {3, out[m].assigned, out[m].assigned_count, KW_BYTES_NULL};
            if (kw__group_assignment_encode(&w, &asg) != 0)
                abort();
            kw__wr_free(&w);
        }
        kw__arena_reset(&arena);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char detail[KW_GROUP_DETAIL_MAX];
    kw_arena arena;
    kw__arena_init(&arena, 1 << 20);

    kw__group_subscription s;
    int err = kw__group_subscription_decode(data, size, &arena, &s, detail, sizeof(detail));
    if (err) {
        check_error(err, detail);
    } else {
        if (s.version <= KW_GROUP_PROTOCOL_VERSION_MAX) {
            kw_wr w;
            kw__wr_init(&w);
            check_same(kw__group_subscription_encode(&w, &s), &w, data, size);
            kw__wr_free(&w);
        }
        run_assignors(&s);
    }

    kw__group_assignment a;
    err = kw__group_assignment_decode(data, size, &arena, &a, detail, sizeof(detail));
    if (err) {
        check_error(err, detail);
    } else if (a.version <= KW_GROUP_PROTOCOL_VERSION_MAX) {
        kw_wr w;
        kw__wr_init(&w);
        check_same(kw__group_assignment_encode(&w, &a), &w, data, size);
        kw__wr_free(&w);
    }
    kw__arena_reset(&arena);
    return 0;
}
