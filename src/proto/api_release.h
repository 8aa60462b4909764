/* The newest version of each Kafka API in each Kafka release, for capping negotiation at a release's versions. */
#ifndef KW_PROTO_API_RELEASE_H
#define KW_PROTO_API_RELEASE_H

#include <stddef.h>
#include <stdint.h>

/* API keys the table covers: 0 .. KW_API_RELEASE_KEYS - 1. */
#define KW_API_RELEASE_KEYS 128

/*
 * One Kafka release line (MAJOR.MINOR; patch releases never change API
 * versions).  max1[key] is the newest stable version of that API in the
 * release plus one, so 0, what a designated initializer leaves, means the
 * release does not have the API.  The rows live in api_release_table.c,
 * which scripts/gen-api-versions generates from the releases' kafka-clients
 * jars; they are const data, shared by every client.
 */
typedef struct kw_api_release {
    const char *line; /* "3.9" */
    const char *jar;  /* the kafka-clients version the row was read from: "3.9.2" */
    int16_t max1[KW_API_RELEASE_KEYS];
} kw_api_release;

extern const kw_api_release kw__api_release_table[];
extern const size_t kw__api_release_count;

/* The newest version of key in release r, or -1 when r does not have the API. */
static inline int kw__api_release_max(const kw_api_release *r, int key)
{
    return key >= 0 && key < KW_API_RELEASE_KEYS ? r->max1[key] - 1 : -1;
}

/*
 * The release named by text, "MAJOR.MINOR" or "MAJOR.MINOR.PATCH" (any
 * patch), into *out.  Returns 0, or KW_ECONFIG with err naming the string
 * and saying what is wrong: not a release number ("3", "3.9.x", "v3.9",
 * "3.9.0-rc1"), or a release the table does not have (it lists the range).
 */
int kw__api_release_find(const char *text, const kw_api_release **out, char *err, size_t errlen);

#endif /* KW_PROTO_API_RELEASE_H */
