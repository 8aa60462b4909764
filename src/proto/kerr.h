/* Kafka protocol error codes: name, a short explanation, and whether a retry can succeed. */
#ifndef KW_PROTO_KERR_H
#define KW_PROTO_KERR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwal/error.h"

/* The named codes (enum kw_kerr) are public, in kwal/error.h; this is the top of the table. */
enum {
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
