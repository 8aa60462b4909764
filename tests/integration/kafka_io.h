/* A small blocking socket helper for the codec's integration tests (the real client lives in src/net). */
#ifndef KW_TESTS_KAFKA_IO_H
#define KW_TESTS_KAFKA_IO_H

#include "proto/msg.h"
#include "proto/msg_core.h"

typedef struct kt_conn {
    int fd;
    int32_t next_corr;
    kw_versions versions;
    uint8_t *frame; /* the last response frame, without its size prefix */
    size_t frame_len;
} kt_conn;

/* The broker address from $KWAL_BOOTSTRAP (default 127.0.0.1:19092). */
const char *kt_bootstrap(void);

/* Connects (5 s timeout, 30 s per read) and negotiates versions with ApiVersions; 0 or -1. */
int kt_connect(kt_conn *c, const char *hostport);
void kt_close(kt_conn *c);

/*
 * Sends one request at version ver and decodes the response into resp (from
 * arena a).  Returns 0, or a negative kwal error.  With $KWAL_CAPTURE_DIR set,
 * each response frame is also written to $KWAL_CAPTURE_DIR/resp_<api>/ as a
 * fuzz corpus file (a version byte, then the frame).
 */
int kt_call(kt_conn *c, int api_key, int ver, const void *req, kw_arena *a, void *resp);

/* The negotiated version for an API (fails the test when there is none). */
int kt_version(kt_conn *c, int api_key);

/* The lowest version both sides speak. */
int kt_min_version(kt_conn *c, int api_key);

/*
 * Waits (up to 30 s by the clock) until Metadata shows a leader for every
 * partition of topic: CreateTopics answers before the new partitions have
 * one.  0, or -1 with the last answer's reason on stderr.
 */
int kt_wait_topic(kt_conn *c, const char *topic);

/* The topic id Metadata gives for topic (zero when the broker has none): 0, or -1 on failure. */
int kt_topic_id(kt_conn *c, const char *topic, kw_uuid *id);

/* ListOffsets for partition 0 of topic at version ver (ts -2 earliest, -1 latest): the
 * partition's error code, and the offset in *out. */
int kt_list_offset(kt_conn *c, const char *topic, int ver, int64_t ts, int64_t *out);

/* CreateTopics (one topic; TOPIC_ALREADY_EXISTS counts as success), then waits for its leaders. */
int kt_create_topic(kt_conn *c, const char *topic, int partitions);

/* DeleteRecords before offset on partition 0: the partition's error code. */
int kt_delete_records(kt_conn *c, const char *topic, int64_t offset);

/* Produces one ready record batch to partition 0 with acks=all: the partition's error code. */
int kt_produce(kt_conn *c, const char *topic, const uint8_t *batch, size_t len, int64_t *base);

#endif
