/* kwal error codes: one table of negative codes, each with a name and a message. */
#ifndef KW_ERROR_H
#define KW_ERROR_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the functions a host may call; everything else stays hidden. */
#ifndef KW_API
#define KW_API __attribute__((visibility("default")))
#endif

/*
 * Every kwal function that can fail returns 0 on success or one of these
 * negative codes.  The object that failed keeps a detail text (see each
 * module's *_errstr function); these codes say what kind of failure it was.
 *
 * X(NAME, value, message)
 */
#define KW_ERRNO_MAP(X)                                                              \
    X(NOMEM, -1, "out of memory")                                                    \
    X(INVAL, -2, "invalid argument")                                                 \
    X(TRUNCATED, -3, "input ends before the value it declares")                     \
    X(MALFORMED, -4, "malformed input")                                              \
    X(TOOBIG, -5, "value exceeds a configured limit")                                \
    X(UNSUPPORTED, -6, "not supported")                                              \
    X(CRC, -7, "checksum mismatch")                                                  \
    X(COMPRESSION, -8, "compression or decompression failed")                        \
    X(VERSION, -9, "no protocol version in common with the broker")                 \
    X(TIMEDOUT, -10, "timed out")                                                    \
    X(CONNECT, -11, "connection failed")                                             \
    X(IO, -12, "I/O error")                                                          \
    X(TLS, -13, "TLS error")                                                         \
    X(SASL, -14, "SASL authentication failed")                                       \
    X(BROKER, -15, "the broker returned an error")                                   \
    X(CLOSED, -16, "the object is closed")                                           \
    X(CONFIG, -17, "invalid configuration")                                          \
    X(NOTFOUND, -18, "not found")                                                    \
    X(EXISTS, -19, "already exists")                                                 \
    X(AGAIN, -20, "resource temporarily unavailable")                                \
    X(CORRUPT, -21, "stored data is corrupt")                                        \
    X(FULL, -22, "buffer full")                                                      \
    X(DEADLK, -23, "blocking call from a thread that must not block (a callback)")     \
    X(FENCED, -24, "fenced: a newer producer or member took over (fatal for this handle)") \
    X(DATALOSS, -25, "records missing: offsets the log should hold were skipped")         \
    X(NOSPC, -26, "no space left on the device")

enum kw_errno {
    KW_OK = 0,
#define KW__ERRNO_ENUM(name, value, msg) KW_E##name = (value),
    KW_ERRNO_MAP(KW__ERRNO_ENUM)
#undef KW__ERRNO_ENUM
};

/*
 * One log callback type and one set of levels for every kwal handle.  Which
 * thread calls it is said by each handle's header; msg is valid during the
 * call only, and the callback must not call back into the handle that logs.
 */
enum kw_log_level {
    KW_LOG_ERROR = 0,
    KW_LOG_WARN = 1,
    KW_LOG_INFO = 2,
    KW_LOG_DEBUG = 3,
};
typedef void kw_log_fn(void *arg, int level, const char *msg);

/* The message of a kwal error code ("truncated input ..."); never NULL. */
KW_API const char *kw_strerror(int err);

/* The name of a kwal error code ("KW_ETRUNCATED"); never NULL. */
KW_API const char *kw_err_name(int err);

/*
 * Kafka protocol error codes: the int16 `kerr` a result carries next to
 * KW_EBROKER.  These are the codes kwal names; kw_kerr_name and friends know
 * every code Apache Kafka 4.x defines (the numbers are Kafka's).
 */
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
    KW_KERR_RECORD_LIST_TOO_LARGE = 18,
    KW_KERR_NETWORK_EXCEPTION = 13,
    KW_KERR_COORDINATOR_LOAD_IN_PROGRESS = 14,
    KW_KERR_COORDINATOR_NOT_AVAILABLE = 15,
    KW_KERR_NOT_COORDINATOR = 16,
    KW_KERR_NOT_ENOUGH_REPLICAS = 19,
    KW_KERR_ILLEGAL_GENERATION = 22,
    KW_KERR_INCONSISTENT_GROUP_PROTOCOL = 23,
    KW_KERR_INVALID_GROUP_ID = 24,
    KW_KERR_UNKNOWN_MEMBER_ID = 25,
    KW_KERR_INVALID_SESSION_TIMEOUT = 26,
    KW_KERR_REBALANCE_IN_PROGRESS = 27,
    KW_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20,
    KW_KERR_TOPIC_AUTHORIZATION_FAILED = 29,
    KW_KERR_GROUP_AUTHORIZATION_FAILED = 30,
    KW_KERR_INVALID_TIMESTAMP = 32,
    KW_KERR_UNSUPPORTED_VERSION = 35,
    KW_KERR_TOPIC_ALREADY_EXISTS = 36,
    KW_KERR_NOT_CONTROLLER = 41,
    KW_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER = 45,
    KW_KERR_DUPLICATE_SEQUENCE_NUMBER = 46,
    KW_KERR_INVALID_PRODUCER_EPOCH = 47,
    KW_KERR_INVALID_TXN_STATE = 48,
    KW_KERR_CONCURRENT_TRANSACTIONS = 51,
    KW_KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53,
    KW_KERR_KAFKA_STORAGE_ERROR = 56,
    KW_KERR_SASL_AUTHENTICATION_FAILED = 58,
    KW_KERR_UNKNOWN_PRODUCER_ID = 59,
    KW_KERR_GROUP_ID_NOT_FOUND = 69,
    KW_KERR_FENCED_LEADER_EPOCH = 74,
    KW_KERR_UNKNOWN_LEADER_EPOCH = 75,
    KW_KERR_MEMBER_ID_REQUIRED = 79,
    KW_KERR_FENCED_INSTANCE_ID = 82,
    KW_KERR_INVALID_RECORD = 87,
    KW_KERR_UNSTABLE_OFFSET_COMMIT = 88,
    KW_KERR_PRODUCER_FENCED = 90,
    KW_KERR_UNKNOWN_TOPIC_ID = 100,
    KW_KERR_INCONSISTENT_TOPIC_ID = 103,
    KW_KERR_FETCH_SESSION_TOPIC_ID_ERROR = 106,
    KW_KERR_OFFSET_MOVED_TO_TIERED_STORAGE = 109,
    KW_KERR_FENCED_MEMBER_EPOCH = 110,
    KW_KERR_UNRELEASED_INSTANCE_ID = 111,
    KW_KERR_UNSUPPORTED_ASSIGNOR = 112,
    KW_KERR_STALE_MEMBER_EPOCH = 113,
    KW_KERR_TRANSACTION_ABORTABLE = 120,
};

/* "NOT_LEADER_OR_FOLLOWER"; "UNKNOWN" for a code kwal does not know.  Static, never NULL. */
KW_API const char *kw_kerr_name(int16_t code);

/* A one-line explanation of a Kafka error code (a generic one for an unknown code); never NULL. */
KW_API const char *kw_kerr_message(int16_t code);

/*
 * Whether the same request can succeed if sent again later (after a metadata
 * refresh, a new coordinator, a backoff), as the Java client classifies the
 * code.  False for NONE and for codes kwal does not know.
 */
KW_API bool kw_kerr_retriable(int16_t code);

#ifdef __cplusplus
}
#endif
#endif /* KW_ERROR_H */
