/* Creating and deleting the WAL benchmarks' topics through kwal's admin API. */
#include "wal_topics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kwal/client.h"

static char **topic_names(const char *prefix, unsigned count, size_t *n)
{
    *n = count ? count : 1;
    char **names = calloc(*n, sizeof(*names));
    if (!names)
        return NULL;
    for (size_t i = 0; i < *n; i++) {
        size_t cap = strlen(prefix) + 16;
        if (!(names[i] = malloc(cap)))
            return names; /* the caller sees the NULL */
        if (count)
            snprintf(names[i], cap, "%s_%zu", prefix, i);
        else
            snprintf(names[i], cap, "%s", prefix);
    }
    return names;
}

static void names_free(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

static kw_client *connect_admin(const char *brokers)
{
    kw_client_options o = {.bootstrap = brokers, .client_id = "kwal-bench"};
    char err[256] = "";
    kw_client *c = NULL;
    if (kw_client_new(&c, &o, err, sizeof err) != 0)
        fprintf(stderr, "wal bench: client: %s\n", err);
    return c;
}

/* Metadata until every topic has a leader for partition 0 (CreateTopics answers before that). */
static int wait_leaders(kw_client *c, char **names, size_t n)
{
    for (int tries = 0; tries < 100; tries++) {
        kw_client_metadata_args a = {.topics = (const char *const *)names, .topic_count = n};
        kw_client_metadata_result md = {0};
        int rc = kw_client_metadata(c, &a, &md);
        size_t ready = 0;
        for (size_t i = 0; rc == 0 && i < md.topic_count; i++)
            if (md.topics[i].kerr == 0 && md.topics[i].partition_count > 0 &&
                md.topics[i].partitions[0].leader >= 0)
                ready++;
        kw_client_metadata_result_free(&md);
        if (rc == 0 && ready == n)
            return 0;
        usleep(100 * 1000);
    }
    fprintf(stderr, "wal bench: topics have no leader after 10 s\n");
    return -1;
}

int wb_topics_create(const char *brokers, const char *prefix, unsigned count)
{
    size_t n;
    char **names = topic_names(prefix, count, &n);
    kw_client *c = connect_admin(brokers);
    kw_client_new_topic *t = calloc(n, sizeof(*t));
    int rc = -1;
    if (!names || !names[n - 1] || !c || !t)
        goto out;
    for (size_t i = 0; i < n; i++)
        t[i] = (kw_client_new_topic){.name = names[i], .partitions = 1, .replication_factor = 1};
    kw_client_create_topics_args a = {.topics = t, .topic_count = n, .timeout_ms = 30000};
    kw_client_topics_result r = {0};
    kw_client_create_topics(c, &a, &r);
    rc = 0;
    if (r.err && !r.topics) {
        fprintf(stderr, "wal bench: create topics: %s\n", r.detail);
        rc = -1;
    }
    for (size_t i = 0; r.topics && i < r.topic_count; i++)
        if (r.topics[i].kerr != 0 && r.topics[i].kerr != 36 /* TOPIC_ALREADY_EXISTS */) {
            fprintf(stderr, "wal bench: create %s: %s\n", r.topics[i].name, r.topics[i].message);
            rc = -1;
        }
    kw_client_topics_result_free(&r);
    if (rc == 0)
        rc = wait_leaders(c, names, n);
out:
    free(t);
    kw_client_destroy(c);
    names_free(names, n);
    return rc;
}

int wb_topics_delete(const char *brokers, const char *prefix, unsigned count)
{
    size_t n;
    char **names = topic_names(prefix, count, &n);
    kw_client *c = connect_admin(brokers);
    int rc = -1;
    if (names && names[n - 1] && c) {
        kw_client_delete_topics_args a = {.names = (const char *const *)names, .name_count = n,
                                          .timeout_ms = 30000};
        kw_client_topics_result r = {0};
        kw_client_delete_topics(c, &a, &r);
        rc = r.err ? -1 : 0;
        if (rc)
            fprintf(stderr, "wal bench: delete topics %s_*: %s\n", prefix, r.detail);
        kw_client_topics_result_free(&r);
    }
    kw_client_destroy(c);
    names_free(names, n);
    return rc;
}
