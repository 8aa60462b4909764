/* `kwal consume -G`: a consumer-group member that prints the records of the partitions it is assigned. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kwal/consumer.h"
#include "kwal/group.h"

static volatile sig_atomic_t group_stop;
static volatile sig_atomic_t group_failed; /* a FATAL event: exit 1 */

static void on_group_signal(int sig)
{
    (void)sig;
    group_stop = 1;
}

/* Loop thread: one stderr line per change, as kcat says "assigned"/"revoked". */
static void on_event(void *arg, const kw_group_event *ev)
{
    const char *group = arg;
    const char *what = ev->kind == KW_GROUP_ASSIGNED  ? "assigned"
                       : ev->kind == KW_GROUP_REVOKED ? "revoked"
                       : ev->kind == KW_GROUP_LOST    ? "lost"
                                                      : "failed";
    if (ev->kind == KW_GROUP_FATAL) {
        fprintf(stderr, "kwal: group %s: %s\n", group, ev->detail);
        group_failed = 1;
        group_stop = 1;
        return;
    }
    fprintf(stderr, "kwal: group %s: generation %d: %s", group, (int)ev->generation, what);
    for (size_t i = 0; i < ev->count; i++)
        fprintf(stderr, "%s%s/%d", i ? ", " : " ", ev->partitions[i].topic,
                (int)ev->partitions[i].partition);
    fputc('\n', stderr);
}

static void print_one(const char *format, const kw_consumer_record *r)
{
    kw_batch_record b = {.offset = r->offset,
                         .timestamp = r->timestamp_ms,
                         .key = r->key,
                         .key_len = r->key_len,
                         .value = r->value,
                         .value_len = r->value_len,
                         .headers = r->headers,
                         .header_count = r->header_count,
                         .control_type = -1};
    cli_print_record(format, r->topic, r->partition, &b, stdout);
}

/*
 * Prints a poll's records until count is reached; the partitions of records
 * left unprinted are moved back to the first of them, so what is committed
 * is exactly what was printed.
 */
static int print_poll(kw_consumer *k, const kw_consumer_poll_result *res, const char *format,
                      int64_t count, int64_t *printed)
{
    size_t i = 0;
    for (; i < res->record_count && !(count && *printed >= count); i++, (*printed)++)
        print_one(format, &res->records[i]);
    for (size_t j = i; j < res->record_count; j++) {
        bool first = true; /* the earliest unprinted record of its partition */
        for (size_t m = i; m < j && first; m++)
            first = !(res->records[m].partition == res->records[j].partition &&
                      strcmp(res->records[m].topic, res->records[j].topic) == 0);
        if (first)
            kw_consumer_seek(k, res->records[j].topic, res->records[j].partition,
                             kw_consumer_at_offset(res->records[j].offset));
    }
    for (size_t e = 0; e < res->error_count; e++)
        fprintf(stderr, "kwal: consume %s/%d at offset %lld: %s\n", res->errors[e].topic,
                (int)res->errors[e].partition, (long long)res->errors[e].offset,
                res->errors[e].detail);
    if (fflush(stdout) != 0)
        return cli_fail("consume: write stdout: %s", strerror(errno));
    return 0;
}

int cli_consume_group(cli_ctx *ctx, const cli_group_args *ga)
{
    const char *group = ga->group, *format = ga->format;
    int64_t count = ga->count;
    kw_client *c;
    int rc = cli_connect(ctx, &c);
    if (rc)
        return rc;
    char err[256];
    kw_consumer *k = NULL;
    kw_group *g = NULL;
    if (kw_consumer_new(&k, c, NULL, err, sizeof(err)) != 0) {
        kw_client_destroy(c);
        return cli_fail("consume: %s", err);
    }
    kw_group_options o = {
        .group_id = group,
        .topics = ga->topics,
        .topic_count = ga->ntopics,
        .group_instance_id = ga->instance,
        .topic_regex = ga->regex,
        .protocol = ga->kip848 ? KW_GROUP_PROTOCOL_CONSUMER : KW_GROUP_PROTOCOL_CLASSIC,
        .consumer = k,
        .reset = ga->from_beginning ? KW_GROUP_RESET_EARLIEST : KW_GROUP_RESET_LATEST,
        .on_event = on_event,
        .event_arg = (void *)group,
    };
    int grc = kw_group_new(&g, c, &o, err, sizeof(err));
    if (grc) {
        kw_consumer_destroy(k);
        kw_client_destroy(c);
        return grc == KW_EINVAL ? cli_usage("consume: %s", err)
                                : cli_fail("consume: joining group %s: %s", group, err);
    }
    struct sigaction sa = {.sa_handler = on_group_signal}; /* no SA_RESTART: stop between polls */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int64_t printed = 0;
    while (!rc && !group_stop && !(count && printed >= count)) {
        kw_consumer_poll_result res;
        int prc = kw_consumer_poll(k, 200, &res);
        if (prc) {
            rc = cli_fail("consume: poll: %s", kw_strerror(prc));
            break;
        }
        rc = print_poll(k, &res, format, count, &printed);
    }
    if (group_failed && !rc)
        rc = CLI_EXIT_FAIL; /* the event said why */
    /* Leave in order: the printed positions are committed, then LeaveGroup. */
    int crc = kw_group_close(g, 10000);
    if (crc && !rc)
        fprintf(stderr, "kwal: group %s: leaving: %s\n", group, kw_strerror(crc));
    kw_group_destroy(g);
    kw_consumer_destroy(k);
    kw_client_destroy(c);
    return rc;
}
