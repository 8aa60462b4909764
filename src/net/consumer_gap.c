/* The consumer's data-loss check: an answer that skips offsets the log must hold is reported as KW_EDATALOSS. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "net/consumer_int.h"

/*
 * What a legitimate skip looks like.  A Fetch at offset X is answered from
 * the first batch whose last offset is at or past X, so its first batch
 * starts at or below X unless no record in [X, first) exists.  Offsets are
 * never left out by the broker otherwise: control batches (transaction
 * markers) and aborted transactions' batches take offsets and are sent like
 * any other (the consumer steps over them itself).  Records can be absent
 * only because
 *   - retention or DeleteRecords moved the log start past them: the answer's
 *     log start offset is at or past `first` (a fetch below the log start is
 *     answered OFFSET_OUT_OF_RANGE instead, handled by offset_reset);
 *   - the topic is compacted (cleanup.policy contains "compact"): the
 *     cleaner removes records, and whole batches, anywhere below the active
 *     segment.
 * Anything else — a leader that lost acknowledged records (an unclean
 * election), a broker bug, a proxy dropping batches — is data loss, and the
 * consumer says so instead of delivering the records after the hole as if
 * nothing happened: the partition stops with KW_EDATALOSS naming the offsets.
 *
 * The check runs when an answer is filed in offset order (advance), against
 * the frontier, so it covers the concurrent fetches ahead too: each is filed
 * only once everything before it is.  The policy is asked once per
 * partition, at the first skip seen, so topics without gaps never ask.
 */

int kw__consumer_gap(int64_t frontier, int64_t first, int64_t log_start, int64_t *from)
{
    if (first <= frontier)
        return 0;
    int64_t f = log_start > frontier ? log_start : frontier;
    if (f >= first)
        return 0; /* deleted below the log start */
    *from = f;
    return 1;
}

static void policy_done(const kw_client_describe_configs_result *r, void *arg)
{
    kw__consumer_part *p = arg; /* held by in_flight while the request is out */
    kw_consumer *c = p->c;
    pthread_mutex_lock(&c->mu);
    c->refs--;
    p->in_flight--;
    if (c->closing || p->removed) {
        if (p->removed && p->in_flight == 0)
            kw__consumer_part_release(p);
        kw__consumer_unlock(c);
        return;
    }
    p->policy = KW__CONSUMER_POLICY_DELETE;
    if (r->err) {
        p->policy = KW__CONSUMER_POLICY_UNREADABLE;
        snprintf(p->policy_err, sizeof(p->policy_err), "%.90s",
                 *r->detail ? r->detail : kw_strerror(r->err));
    }
    for (size_t i = 0; r->err == 0 && i < r->config_count; i++)
        if (r->configs[i].name && strcmp(r->configs[i].name, "cleanup.policy") == 0 &&
            r->configs[i].value && strstr(r->configs[i].value, "compact"))
            p->policy = KW__CONSUMER_POLICY_COMPACT;
    kw__consumer_log(c, KW_LOG_DEBUG, "%s[%" PRId32 "]: cleanup.policy is %s", p->topic,
                     p->partition,
                     p->policy == KW__CONSUMER_POLICY_COMPACT  ? "compact"
                     : p->policy == KW__CONSUMER_POLICY_DELETE ? "delete"
                                                               : "not readable");
    kw__consumer_advance(p);
    kw__consumer_pump(p);
    kw__consumer_unlock(c);
}

int kw__consumer_gap_check(kw__consumer_part *p, kw__consumer_slot *s)
{
    kw_consumer *c = p->c;
    int64_t from, to = s->first;
    bool inner = false;
    if (!kw__consumer_gap(p->frontier, s->first, s->log_start, &from)) {
        if (s->first > p->frontier)
            kw__consumer_log(c, KW_LOG_INFO,
                             "%s[%" PRId32 "]: offsets %" PRId64 "..%" PRId64
                             " were deleted (log start %" PRId64 "); going on at %" PRId64,
                             p->topic, p->partition, p->frontier, s->first - 1, s->log_start,
                             s->first);
        if (s->gap_to <= p->frontier)
            return 0; /* no hole between its batches past what was filed */
        inner = true;
        from = s->gap_from > p->frontier ? s->gap_from : p->frontier;
        to = s->gap_to;
    }
    if (p->policy == KW__CONSUMER_POLICY_UNKNOWN) {
        const char *key = "cleanup.policy";
        kw_client_describe_configs_args a = {.resource = KW_CLIENT_RESOURCE_TOPIC,
                                             .name = p->topic,
                                             .keys = &key,
                                             .key_count = 1};
        int rc = kw_client_describe_configs_async(c->client, &a, policy_done, p);
        if (rc == 0) {
            c->refs++;
            p->in_flight++;
            p->policy = KW__CONSUMER_POLICY_ASKING;
            return 1;
        }
        p->policy = KW__CONSUMER_POLICY_UNREADABLE;
        snprintf(p->policy_err, sizeof(p->policy_err), "%s", kw_strerror(rc));
    }
    switch (p->policy) {
    case KW__CONSUMER_POLICY_ASKING:
        return 1;
    case KW__CONSUMER_POLICY_COMPACT:
        kw__consumer_log(c, KW_LOG_DEBUG,
                         "%s[%" PRId32 "]: offsets %" PRId64 "..%" PRId64
                         " were compacted away; going on at %" PRId64,
                         p->topic, p->partition, from, to - 1, to);
        return 0;
    default:
        break;
    }
    char why[160];
    if (p->policy == KW__CONSUMER_POLICY_UNREADABLE)
        snprintf(why, sizeof(why), "cleanup.policy could not be read: %s", p->policy_err);
    else
        snprintf(why, sizeof(why), "the topic is not compacted");
    char detail[KW_CONSUMER_DETAIL_MAX * 2];
    if (inner)
        snprintf(detail, sizeof(detail),
                 "%s[%" PRId32 "]: offsets %" PRId64 "..%" PRId64 " are missing: the answer to "
                 "a fetch at offset %" PRId64 " goes from offset %" PRId64 " to %" PRId64
                 " (%s); seek past them to go on",
                 p->topic, p->partition, from, to - 1, s->offset, s->gap_from, to, why);
    else
        snprintf(detail, sizeof(detail),
                 "%s[%" PRId32 "]: offsets %" PRId64 "..%" PRId64 " are missing: a fetch at "
                 "offset %" PRId64 " was answered from offset %" PRId64 " (log start %" PRId64
                 "; %s); seek past them to go on",
                 p->topic, p->partition, from, to - 1, s->offset, to, s->log_start, why);
    snprintf(p->loss_detail, sizeof(p->loss_detail), "%.*s", (int)sizeof(p->loss_detail) - 1,
             detail);
    p->loss_offset = from;
    if (!inner) {
        kw__consumer_lose(p);
        return -1;
    }
    /* File what the answer holds before the hole, then stop. */
    s->end = s->gap_from;
    if (s->chunk)
        s->chunk->len = s->gap_pos;
    p->lose_after = true;
    return 0;
}
