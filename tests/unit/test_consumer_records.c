/* The consumer's read_committed decoding across fetch answers: aborted transactions end at their marker. */
#include <check.h>
#include <string.h>

#include "net/consumer_int.h"

#define PID 4000 /* one transactional id: every leader of a kw_log database keeps this producer id */

#define DATA (-1)

/* Appends one batch of producer PID at offset: a data record (DATA), or a COMMIT/ABORT marker. */
static void add_batch(kw_wr *w, int64_t offset, int kind)
{
    bool control = kind != DATA;
    kw_batch_opts o = {.base_offset = offset, .idempotent = true, .producer_id = PID,
                       .producer_epoch = 1, .base_sequence = control ? -1 : 0,
                       .transactional = true, .control = control};
    kw_batch_builder b;
    uint8_t key[4];
    const uint8_t marker[6] = {0, 0, 0, 0, 0, 1};
    ck_assert_int_eq(kw__batch_begin(&b, w, &o), 0);
    if (control)
        ck_assert_int_eq(kw__batch_add(&b, 1000, kw__control_key(key, (int16_t)kind),
                                       (kw_bytes){marker, 6}, NULL, 0),
                         0);
    else
        ck_assert_int_eq(kw__batch_add(&b, 1000, KW_BYTES_NULL, (kw_bytes){(const uint8_t *)"v", 1},
                                       NULL, 0),
                         0);
    ck_assert_int_eq(kw__batch_finish(&b), 0);
}

typedef struct got {
    int64_t offsets[16];
    int n;
} got;

static int emit(void *arg, const kw_batch *b, const kw_record *r)
{
    (void)b;
    got *g = arg;
    if (g->n < 16)
        g->offsets[g->n++] = r->offset;
    return 0;
}

static kw_wr *no_scratch(void *arg)
{
    (void)arg;
    return NULL;
}

/* Decodes one fetch answer as the poll thread does: its aborted list joins the partition's. */
static void decode(kw__aborted_set *aborted, const kw_wr *w, int64_t listed_first, int64_t *position,
                   got *g)
{
    kw__aborted_set answer = {0};
    ck_assert_int_eq(kw__aborted_add(&answer, PID, listed_first), 0);
    ck_assert_int_eq(kw__aborted_merge(aborted, &answer), 0);
    kw__aborted_free(&answer);
    kw__consumer_decoder d = {.read_committed = true, .aborted = aborted, .scratch = no_scratch,
                              .emit = emit, .emit_arg = g};
    kw_batch_iter bit;
    kw_record_iter rit;
    kw_batch batch;
    bool in_batch = false;
    kw__batch_iter_init(&bit, w->buf, w->len, KW_BATCH_VERIFY_CRC);
    ck_assert_msg(kw__consumer_decode(&d, &bit, &rit, &batch, &in_batch, position) == 0, "%s",
                  d.errstr);
}

/*
 * Two fetches of one partition overlap (the second was sent from an offset
 * the first answer also covered).  Both list the aborted transaction that
 * starts at 0; its ABORT marker (1) is in both, but in the second only where
 * the answer repeats what was delivered.  The later transactions of the same
 * producer id (a new leader's, after the fence) are committed and must be
 * read: the repeated marker still ends the aborted transaction.
 */
START_TEST(an_aborted_transaction_listed_again_by_an_overlapping_answer_ends_at_its_marker)
{
    kw_wr first, second;
    kw__wr_init(&first);
    kw__wr_init(&second);
    add_batch(&first, 0, DATA);             /* aborted */
    add_batch(&first, 1, KW_CONTROL_ABORT); /* its marker */
    add_batch(&first, 2, DATA);             /* committed */
    add_batch(&first, 3, KW_CONTROL_COMMIT);
    add_batch(&second, 1, KW_CONTROL_ABORT); /* the overlap, from offset 1 */
    add_batch(&second, 2, DATA);
    add_batch(&second, 3, KW_CONTROL_COMMIT);
    add_batch(&second, 4, DATA); /* committed: new */
    add_batch(&second, 5, KW_CONTROL_COMMIT);

    kw__aborted_set aborted = {0};
    int64_t position = 0;
    got g = {0};
    decode(&aborted, &first, 0, &position, &g);
    ck_assert_int_eq(g.n, 1);
    ck_assert_int_eq(g.offsets[0], 2);
    ck_assert_int_eq(position, 4);
    decode(&aborted, &second, 0, &position, &g);
    ck_assert_int_eq(position, 6);
    ck_assert_msg(g.n == 2, "offset 4 (committed) was dropped as aborted: %d records", g.n);
    ck_assert_int_eq(g.offsets[1], 4);
    ck_assert_int_eq((int)aborted.n, 0);
    kw__aborted_free(&aborted);
    kw__wr_free(&first);
    kw__wr_free(&second);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("consumer-records");
    TCase *tc = tcase_create("read_committed");
    tcase_add_test(tc, an_aborted_transaction_listed_again_by_an_overlapping_answer_ends_at_its_marker);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
