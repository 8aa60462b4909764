/* The metasrv topic manager: creates or checks the WAL topics {prefix}_{0..num_topics-1}. */
#ifndef KW_META_TOPICS_H
#define KW_META_TOPICS_H

#include <stddef.h>
#include <stdint.h>

#include "kwal/client.h"
#include "wal/config.h"

/* Room for one topic name, NUL included (Kafka allows 249 characters). */
#define KW_META_TOPIC_NAME_MAX 250

/*
 * The topic configs every WAL topic gets at creation and is checked against
 * (CreateTopics sets them explicitly, so a broker whose defaults differ, or
 * change later, does not change the WAL's topics):
 *
 *   retention.ms=-1, retention.bytes=-1
 *       Nothing expires by time or size: the pruner deletes records
 *       (DeleteRecords) once every region in the topic has flushed past them.
 *       Any retention would drop entries a region still needs to replay.
 *   cleanup.policy=delete
 *       Never "compact": the record keys name regions, so compaction would keep
 *       only each region's last record.
 *   max.message.bytes = max(max_batch_bytes, 1 MiB) + 64 KiB
 *       The broker checks each record batch as sent, compressed.  The WAL keeps
 *       a batch's uncompressed size (header included) within max_batch_bytes,
 *       and an LZ4 frame of incompressible data is a few bytes per 64 KiB block
 *       bigger than its input; 64 KiB of margin covers that many times over,
 *       and covers writers that count max_batch_bytes without the batch header
 *       (GreptimeDB's datanode).  The 1 MiB floor is there because
 *       max_batch_bytes is a datanode option: a metasrv config usually leaves
 *       it at its default while datanodes use GreptimeDB's 1 MiB.  Kafka's own
 *       default (1 MiB + 12 bytes) would refuse an LZ4 batch of 1 MiB of
 *       incompressible data.  A topic with a larger value passes the check.
 *   compression.type=producer
 *       The broker stores each batch as the producer sent it: the WAL's LZ4
 *       batches are kept as written (no broker recompression, no CPU spent on
 *       it, the batch CRC the producer computed is the one on disk), and the
 *       uncompressed noop record stays uncompressed.  "lz4" would make the
 *       broker recompress any batch that is not LZ4 and buys the WAL nothing.
 *       The check accepts "producer" or "lz4"; any other codec means every
 *       LZ4 batch is recompressed into it, and is reported.
 */
#define KW_META_TOPIC_MAX_MESSAGE_MARGIN (64u * 1024u)

/* max.message.bytes for cfg, as above. */
int64_t kw__meta_topics_max_message_bytes(const kw__wal_config *cfg);

/* The options of a client the metasrv side makes: from's, with client id "kwal-meta" unless set.
 * Strings point where from's do. */
void kw__meta_client_options(const kw_client_options *from, kw_client_options *o);

/* "{prefix}_{index}" into buf: 0, or KW_ETOOBIG when it does not fit (or passes 249 characters). */
int kw__meta_topic_name(const char *prefix, uint32_t index, char *buf, size_t cap);

/* What a call did and how long each step took (milliseconds, wall clock). */
typedef struct kw_meta_topics_report {
    uint32_t topics;        /* num_topics */
    uint32_t created;       /* created by this call */
    uint32_t raced;         /* created by someone else between our lookup and our CreateTopics */
    uint32_t problems;      /* topics missing or misconfigured (listed in err) */
    uint32_t empty;         /* partitions whose end offset was 0 */
    uint32_t noops_written; /* noop records this call appended */
    uint64_t lookup_ms;     /* Metadata for every topic */
    uint64_t create_ms;     /* CreateTopics for the missing ones, and waiting for their leaders */
    uint64_t verify_ms;     /* DescribeConfigs for every topic, and the checks */
    uint64_t noop_ms;       /* ListOffsets for every partition and the noop produces */
    uint64_t total_ms;
} kw_meta_topics_report;

/*
 * Every call below is blocking and makes its requests to the cluster in
 * parallel (at most 32 in flight).  The client rules of blocking calls apply:
 * never from a client callback; with a host-driven client, from the thread
 * that drives the loop, or while another thread drives it.  out may be NULL.
 * Deadlines: each request gets cfg->create_topic_timeout_ms; waiting for new
 * topics' leaders is bounded by it too.
 *
 * Errors: KW_ECONFIG when topics are missing or misconfigured, with err
 * listing each one and what is wrong, e.g.
 *   "2 of 64 WAL topics are not usable: greptimedb_wal_topic_3: missing;
 *    greptimedb_wal_topic_7: retention.ms is 604800000, expected -1,
 *    3 partitions, expected 1"
 * (cut with "..." when errlen is too small; out->problems has the count);
 * otherwise the client's code with err naming the request and topic that
 * failed (KW_ETIMEDOUT, KW_EBROKER with the Kafka error, ...).
 */

/*
 * auto_create_topics = true.  Looks the topics up (Metadata), creates the
 * missing ones in CreateTopics requests of up to 256 topics with
 * cfg->num_partitions partitions, cfg->replication_factor replicas and the
 * configs above, and treats TOPIC_ALREADY_EXISTS as success, so two metasrvs
 * starting at once both succeed.  Then waits until every topic has a leader
 * on every partition, checks every topic as kw__meta_topics_verify does (an
 * existing topic with the wrong retention is reported, not accepted: the
 * client has no AlterConfigs, and silently changing an operator's topic is
 * not this call's place), and finally writes the noop record
 * (kw__meta_topics_write_noops).  Idempotent.
 */
int kw__meta_topics_ensure(kw_client *c, const kw__wal_config *cfg, kw_meta_topics_report *out,
                           char *err, size_t errlen);

/*
 * auto_create_topics = false.  Creates and writes nothing: checks that every
 * topic exists with cfg->num_partitions partitions, at least
 * cfg->replication_factor replicas, and the configs above (DescribeConfigs),
 * and fails with one KW_ECONFIG that lists every problem.
 */
int kw__meta_topics_verify(kw_client *c, const kw__wal_config *cfg, kw_meta_topics_report *out,
                           char *err, size_t errlen);

/*
 * Appends one record with a null key and a null value to every partition of
 * every topic whose end offset (ListOffsets latest) is 0, so that offset 0 is
 * never a real entry: entry id 0 then always means "none", as it does in
 * kw_wal_latest_entry_id.  Replay skips null records.  Two metasrvs can both
 * see 0 and both append: two noops are as harmless as one, so there is no
 * lock.  A topic that was written and then pruned to its end has an end
 * offset above 0 and gets nothing.
 */
int kw__meta_topics_write_noops(kw_client *c, const kw__wal_config *cfg, kw_meta_topics_report *out,
                                char *err, size_t errlen);

/*
 * What a metasrv does at start: ensure when cfg->auto_create_topics, else
 * verify and then write the noops (a hand-made topic is empty too, and its
 * offset 0 must not become an entry).
 */
int kw__meta_topics_prepare(kw_client *c, const kw__wal_config *cfg, kw_meta_topics_report *out,
                            char *err, size_t errlen);

#endif /* KW_META_TOPICS_H */
