/* kwal error codes: one table of negative codes, each with a name and a message. */
#ifndef KW_ERROR_H
#define KW_ERROR_H

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
    X(DEADLK, -23, "blocking call from a thread that must not block (a callback)")

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

#ifdef __cplusplus
}
#endif
#endif /* KW_ERROR_H */
