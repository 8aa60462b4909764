/* examples/ingest: what the writer, the reader and their Mimir-style flags share. */
#ifndef KW_EXAMPLES_INGEST_H
#define KW_EXAMPLES_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwal/client.h"

/*
 * A toy of Grafana Mimir's ingest storage on kwal.  Writers put each write
 * request as one record (1-16 MB, a `Version` header, the tenant as key) on
 * one of the topic's partitions; one reader per partition consumes it,
 * resumes at the committed offset + 1, commits the last offset it consumed
 * every second and on stop to a consumer group it never joins, catches up
 * with several fetches in flight, and reports its lag.  Committed offsets
 * follow Mimir's convention: the committed offset is the last one consumed
 * (`kwal offsets -G GROUP --convention mimir` shows them that way).
 */

/* Mimir's default -ingest-storage.kafka.producer-max-record-size-bytes, and its batch limit. */
#define INGEST_MAX_RECORD_DEFAULT 15983616
#define INGEST_BATCH_MAX 16000000
/* The record header Mimir's readers look at to decode a write request. */
#define INGEST_VERSION_HEADER "Version"
#define INGEST_VERSION "2"
/* Bytes a value has at least: the payload header (see ingest_payload_*). */
#define INGEST_PAYLOAD_HEADER 32

/* Every flag, Mimir's and the example's own.  Strings point into argv. */
typedef struct ingest_flags {
    /* Mimir's -ingest-storage.kafka.* flags */
    const char *address;
    const char *topic;
    const char *client_id;
    bool auto_create;       /* auto-create-topic-enabled */
    int64_t partitions;     /* auto-create-topic-default-partitions: 0 the broker's default */
    int64_t max_record;     /* producer-max-record-size-bytes */
    int64_t max_buffered;   /* producer-max-buffered-bytes */
    int64_t write_timeout_ms;
    int64_t dial_timeout_ms;
    const char *consumer_group; /* "<partition>" is replaced by the partition */
    int64_t fetch_concurrency;  /* fetch-concurrency-max */
    const char *start_position; /* consume-from-position-at-startup: last-offset, start, end */
    const char *sasl_mechanism, *sasl_username, *sasl_password;
    const char *sasl_oauth_token, *sasl_oauth_file, *sasl_oauth_socket;
    const char *sasl_oauth_zid, *sasl_oauth_extensions; /* static: not supported (use the file) */
    const char *sasl_aws_access_key, *sasl_aws_secret_key, *sasl_aws_session_token;
    const char *sasl_aws_user_agent, *sasl_aws_file, *sasl_aws_socket;
    int64_t sasl_http_timeout_ms; /* both mechanisms' http-socket-timeout */
    const char *tls_min_version, *tls_cipher_suites;
    bool tls_enabled, tls_insecure;
    const char *tls_ca, *tls_cert, *tls_key, *tls_server_name;
    /* the example's own */
    int64_t partition; /* reader: which one */
    int64_t writer_id;
    int64_t rate;      /* writer: records per second, 0 as fast as the buffer allows */
    int64_t count;     /* writer: stop after this many records (0: until SIGTERM/SIGINT) */
    int64_t size_min, size_max;
    int64_t commit_interval_ms, report_interval_ms;
    bool exit_at_end; /* reader: stop once caught up with the end of the partition */
    const char *log_path;
    uint64_t seed;
} ingest_flags;

/* Parses argv (Go-style flags: -name=value, -name value, --name=value; -flag for true). Returns 0,
 * 1 after printing the help (-h), or 2 after printing why the command line is bad. */
int ingest_flags_parse(ingest_flags *f, bool writer, int argc, char **argv);

/* The client options the flags ask for; false with why filled when they do not fit together. */
bool ingest_client_options(const ingest_flags *f, kw_client_options *o, char *why, size_t len);

/* Checks the topic exists, creating it (with max.message.bytes fit for the records) when it is
 * missing and auto-create is on.  Returns its partition count, or -1 after printing why. */
int32_t ingest_topic_ensure(kw_client *c, const ingest_flags *f);

/* The consumer group of partition p: -ingest-storage.kafka.consumer-group with "<partition>"
 * replaced. */
void ingest_group_name(const ingest_flags *f, int32_t p, char *buf, size_t len);

/* Milliseconds: monotonic, and since the epoch. */
uint64_t ingest_mono_ms(void);
int64_t ingest_wall_ms(void);

/*
 * The value of a record: a 32-byte header (magic "KWIN", writer, partition,
 * sequence, length) then 8-byte words derived from them, so a reader checks
 * every byte without knowing more than the value itself.
 */
void ingest_payload_fill(uint8_t *buf, size_t len, uint32_t writer, uint32_t partition,
                         uint64_t seq);
/* Checks a value; returns NULL and fills writer/partition/seq, or what is wrong. */
const char *ingest_payload_check(const uint8_t *buf, size_t len, uint32_t *writer,
                                 uint32_t *partition, uint64_t *seq);

int ingest_writer_run(const ingest_flags *f);
int ingest_reader_run(const ingest_flags *f);

#endif /* KW_EXAMPLES_INGEST_H */
