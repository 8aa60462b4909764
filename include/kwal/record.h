/* The record vocabulary the producer, the consumer and the batch API share: headers, codecs, timestamp types. */
#ifndef KW_RECORD_H
#define KW_RECORD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Null and empty.  Kafka tells a null key or value from an empty one; so does
 * kwal: a NULL pointer is null (its length is ignored), a non-NULL pointer
 * with length 0 is empty.  Header keys are never null on the wire.
 */
typedef struct kw_header {
    const char *key; /* not NULL; key_len bytes (need not be NUL-terminated) */
    size_t key_len;
    const void *value; /* NULL: a null value */
    size_t value_len;
} kw_header;

/* Record batch compression: the numbers are Kafka's codec attribute bits. */
enum kw_compression {
    KW_COMPRESSION_NONE = 0,
    KW_COMPRESSION_GZIP = 1,
    KW_COMPRESSION_SNAPPY = 2,
    KW_COMPRESSION_LZ4 = 3,
    KW_COMPRESSION_ZSTD = 4,
};

/* What a record's timestamp means: the producer's clock, or the broker's when it appended the batch. */
enum kw_timestamp_type {
    KW_TIMESTAMP_CREATE_TIME = 0,
    KW_TIMESTAMP_LOG_APPEND_TIME = 1,
};

#ifdef __cplusplus
}
#endif
#endif /* KW_RECORD_H */
