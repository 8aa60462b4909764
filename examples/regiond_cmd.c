/* regiond's line protocol parser: validates a request line and splits it into its fields. */
#include "regiond_cmd.h"

#include <string.h>

#include "region_store.h"

/* Takes the next space-separated token; *pos moves past it and one following space. */
static int next_token(const char *line, size_t len, size_t *pos, const char **tok, size_t *tlen)
{
    size_t start = *pos, i = start;
    while (i < len && line[i] != ' ')
        i++;
    if (i == start)
        return -1;
    *tok = line + start;
    *tlen = i - start;
    *pos = i < len ? i + 1 : i;
    return 0;
}

static int parse_region(const char *tok, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (tok[i] < '0' || tok[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(tok[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int key_ok(const char *k, size_t n)
{
    if (n == 0 || n > RD_MAX_KEY)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] < 0x21 || (unsigned char)k[i] > 0x7e)
            return 0;
    return 1;
}

static int value_ok(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
    }
    return 1;
}

static int word_is(const char *tok, size_t n, const char *word)
{
    return strlen(word) == n && memcmp(tok, word, n) == 0;
}

int rd_cmd_parse(const char *line, size_t len, rd_cmd *out, const char **why)
{
    if (len && line[len - 1] == '\r')
        len--;
    memset(out, 0, sizeof(*out));
    if (len == 0) {
        *why = "empty line";
        return -1;
    }
    if (len > RD_MAX_LINE) {
        *why = "line too long";
        return -1;
    }
    size_t pos = 0, n, rn, kn;
    const char *cmd, *rtok, *ktok;
    if (next_token(line, len, &pos, &cmd, &n) < 0) {
        *why = "line starts with a space";
        return -1;
    }
    int takes_region = 1, takes_key = 0;
    if (word_is(cmd, n, "PUT")) {
        out->kind = RD_CMD_PUT;
        takes_key = 1;
    } else if (word_is(cmd, n, "GET")) {
        out->kind = RD_CMD_GET;
        takes_key = 1;
    } else if (word_is(cmd, n, "FLUSH")) {
        out->kind = RD_CMD_FLUSH;
    } else if (word_is(cmd, n, "STATS")) {
        out->kind = RD_CMD_STATS;
        takes_region = 0;
    } else if (word_is(cmd, n, "QUIT")) {
        out->kind = RD_CMD_QUIT;
        takes_region = 0;
    } else if (word_is(cmd, n, "PRUNE")) {
        out->kind = RD_CMD_PRUNE;
        takes_region = 0;
    } else {
        *why = "unknown command (PUT, GET, FLUSH, STATS, QUIT, PRUNE)";
        return -1;
    }
    if (!takes_region) {
        if (pos != len || line[len - 1] == ' ') {
            *why = "this command takes no arguments";
            return -1;
        }
        return 0;
    }
    if (next_token(line, len, &pos, &rtok, &rn) < 0 || parse_region(rtok, rn, &out->region) < 0) {
        *why = "region must be a decimal number below 2^64";
        return -1;
    }
    if (!takes_key) {
        if (pos != len || line[len - 1] == ' ') {
            *why = "usage: FLUSH <region>";
            return -1;
        }
        return 0;
    }
    if (next_token(line, len, &pos, &ktok, &kn) < 0 || !key_ok(ktok, kn)) {
        *why = "key must be 1-255 printable bytes without spaces";
        return -1;
    }
    out->key = ktok;
    out->klen = kn;
    if (out->kind == RD_CMD_GET) {
        if (pos != len || line[len - 1] == ' ') {
            *why = "usage: GET <region> <key>";
            return -1;
        }
        return 0;
    }
    /* PUT: the value is the rest of the line after exactly one space */
    if (line[pos - 1] != ' ' || pos - 1 != (size_t)(ktok + kn - line)) {
        *why = "usage: PUT <region> <key> <value>";
        return -1;
    }
    out->value = line + pos;
    out->vlen = len - pos;
    if (out->vlen > RD_MAX_VALUE) {
        *why = "value longer than 65536 bytes";
        return -1;
    }
    if (!value_ok(out->value, out->vlen)) {
        *why = "value has a control byte";
        return -1;
    }
    return 0;
}
