/* Looking up a Kafka release by its version string in the generated table of API versions. */
#include "api_release.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "kwal/error.h"

/* Reads 1-4 digits at *p into *n and moves *p past them; false when there are none (or more). */
static bool number(const char **p, unsigned *n)
{
    unsigned v = 0, digits = 0;
    while (**p >= '0' && **p <= '9' && digits < 5) {
        v = v * 10 + (unsigned)(**p - '0');
        (*p)++;
        digits++;
    }
    *n = v;
    return digits >= 1 && digits <= 4;
}

int kw__api_release_find(const char *text, const kw_api_release **out, char *err, size_t errlen)
{
    *out = NULL;
    const char *p = text ? text : "";
    unsigned major, minor, patch;
    bool ok = number(&p, &major) && *p == '.';
    if (ok) {
        p++;
        ok = number(&p, &minor);
    }
    if (ok && *p == '.') {
        p++;
        ok = number(&p, &patch);
    }
    if (!ok || *p) {
        if (err && errlen)
            snprintf(err, errlen,
                     "api_version_max \"%.64s\" is not a Kafka release (want MAJOR.MINOR or "
                     "MAJOR.MINOR.PATCH, e.g. 3.9 or 3.9.0)",
                     text ? text : "");
        return KW_ECONFIG;
    }
    char line[32];
    snprintf(line, sizeof(line), "%u.%u", major, minor);
    for (size_t i = 0; i < kw__api_release_count; i++)
        if (strcmp(kw__api_release_table[i].line, line) == 0) {
            *out = &kw__api_release_table[i];
            return 0;
        }
    if (err && errlen)
        snprintf(err, errlen, "api_version_max \"%.64s\": kwal knows the API versions of Kafka %s to %s only",
                 text, kw__api_release_table[0].line,
                 kw__api_release_table[kw__api_release_count - 1].line);
    return KW_ECONFIG;
}
