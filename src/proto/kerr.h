/* Kafka protocol error codes: name, a short explanation, and whether a retry can succeed. */
#ifndef KW_PROTO_KERR_H
#define KW_PROTO_KERR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The codes kwal acts on by number; the table in kerr.c has every code Apache Kafka 4.x defines. */
enum kw_kerr {
    KW_KERR_UNKNOWN_SERVER_ERROR = -1,
    KW_KERR_NONE = 0,
    KW_KERR_OFFSET_OUT_OF_RANGE = 1,
    KW_KERR_CORRUPT_MESSAGE = 2,
    KW_KERR_UNKNOWN_TOPIC_OR_PARTITION = 3,
    KW_KERR_LEADER_NOT_AVAILABLE = 5,
    KW_KERR_NOT_LEADER_OR_FOLLOWER = 6,
    KW_KERR_REQUEST_TIMED_OUT = 7,
    KW_KERR_MESSAGE_TOO_LARGE = 10,
    KW_KERR_NETWORK_EXCEPTION = 13,
    KW_KERR_COORDINATOR_LOAD_IN_PROGRESS = 14,
    KW_KERR_COORDINATOR_NOT_AVAILABLE = 15,
    KW_KERR_NOT_COORDINATOR = 16,
    KW_KERR_NOT_ENOUGH_REPLICAS = 19,
    KW_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20,
    KW_KERR_TOPIC_AUTHORIZATION_FAILED = 29,
    KW_KERR_INVALID_TIMESTAMP = 32,
    KW_KERR_UNSUPPORTED_VERSION = 35,
    KW_KERR_TOPIC_ALREADY_EXISTS = 36,
    KW_KERR_NOT_CONTROLLER = 41,
    KW_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER = 45,
    KW_KERR_DUPLICATE_SEQUENCE_NUMBER = 46,
    KW_KERR_INVALID_PRODUCER_EPOCH = 47,
    KW_KERR_CONCURRENT_TRANSACTIONS = 51,
    KW_KERR_KAFKA_STORAGE_ERROR = 56,
    KW_KERR_SASL_AUTHENTICATION_FAILED = 58,
    KW_KERR_UNKNOWN_PRODUCER_ID = 59,
    KW_KERR_FENCED_LEADER_EPOCH = 74,
    KW_KERR_UNKNOWN_LEADER_EPOCH = 75,
    KW_KERR_INVALID_RECORD = 87,
    KW_KERR_PRODUCER_FENCED = 90,
    KW_KERR_UNKNOWN_TOPIC_ID = 100,
    KW_KERR_MAX = 133, /* the highest code in the table */
};

/* True when the code is in the table (NONE included). */
bool kw__kerr_known(int16_t code);

/* "NOT_LEADER_OR_FOLLOWER"; "UNKNOWN" for a code the table does not have.  Never NULL. */
const char *kw__kerr_name(int16_t code);

/* A one-line explanation; a generic one for an unknown code.  Never NULL. */
const char *kw__kerr_message(int16_t code);

/*
 * Whether the same request can succeed later (after a metadata refresh, a
 * new coordinator, a backoff), as the Java client classifies the error.
 * False for NONE and for unknown codes: the Java client also treats a code
 * it does not know as a non-retriable server error.
 */
bool kw__kerr_retriable(int16_t code);

/*
 * "NOT_LEADER_OR_FOLLOWER (6): ..." into buf, or
 * "UNKNOWN_SERVER_ERROR_<n> (<n>): ..." for an unknown code; always
 * NUL-terminated when len > 0.  Returns what snprintf returns.
 */
int kw__kerr_describe(int16_t code, char *buf, size_t len);

#endif /* KW_PROTO_KERR_H */
