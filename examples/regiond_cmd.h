/* regiond's line protocol parser: one request line in, one command out; no I/O. */
#ifndef RD_REGIOND_CMD_H
#define RD_REGIOND_CMD_H

#include <stddef.h>
#include <stdint.h>

enum rd_cmd_kind { RD_CMD_PUT, RD_CMD_GET, RD_CMD_FLUSH, RD_CMD_STATS, RD_CMD_QUIT, RD_CMD_PRUNE };

typedef struct rd_cmd {
    int kind; /* enum rd_cmd_kind */
    uint64_t region;
    const char *key; /* points into the line */
    size_t klen;
    const char *value; /* PUT only; may be empty */
    size_t vlen;
} rd_cmd;

/* The longest request line accepted, newline excluded. */
#define RD_MAX_LINE (4 + 1 + 20 + 1 + 255 + 1 + 65536 + 1)

/*
 * Parses one line (without its '\n'; a trailing '\r' is ignored):
 *   PUT <region> <key> <value>   region: decimal u64; key: 1..255 bytes 0x21..0x7e;
 *                                value: the rest of the line, 0..65536 bytes, no control bytes
 *                                but tab
 *   GET <region> <key> | FLUSH <region> | STATS | QUIT | PRUNE
 * Returns 0, or -1 with *why set to a static text saying what is wrong.
 */
int rd_cmd_parse(const char *line, size_t len, rd_cmd *out, const char **why);

#endif /* RD_REGIOND_CMD_H */
