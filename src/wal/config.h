/* The [wal] section of a TOML file (GreptimeDB's names and defaults) mapped onto kwal's options. */
#ifndef KW_WAL_CONFIG_H
#define KW_WAL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwal/wal.h"

/*
 * One file serves a datanode (the WAL) and a metasrv (the topic manager): the
 * accepted keys are the union of both, and each host reads the fields it uses.
 * Tables other than [wal] are not looked at, so a whole GreptimeDB config file
 * can be given.  Every field holds its default when the key is absent; see
 * kw__wal_config_init for the values.
 *
 * Sizes: a string "<number>[.<fraction>] <unit>" with unit B, K/KB/KiB, M/MB/MiB,
 * G/GB/GiB, T/TB/TiB, P/PB/PiB, or a TOML integer (bytes).  As in GreptimeDB,
 * every unit is binary: "1MB" = "1MiB" = 1048576 bytes.
 * Durations: a string of <integer><unit> parts, as GreptimeDB's humantime:
 * "500ms", "3s", "30m", "1h30m", "1h 30m", "2d"; units ns us ms s m h d w M y
 * and their long forms (sec, secs, min, mins, hr, hours, days, ...); "0" alone is
 * zero.  Sub-millisecond totals are refused (kwal works in milliseconds).
 */
typedef struct kw__wal_config {
    /* For kw_wal_open.  Every string here is a heap copy the config owns. */
    kw_wal_options wal;

    /* Metasrv side (GreptimeDB's MetasrvKafkaConfig / KafkaTopicConfig). */
    bool auto_create_topics;          /* default true */
    uint32_t num_topics;              /* default 64 */
    uint32_t num_partitions;          /* default 1 */
    bool selector_random;             /* selector_type = "random" (default "round_robin") */
    int16_t replication_factor;       /* default 1 */
    char *topic_name_prefix;          /* default "greptimedb_wal_topic" */
    uint32_t create_topic_timeout_ms; /* default 30 s */
    uint64_t auto_prune_interval_ms;  /* default 30 min; 0 = no automatic pruning */
    uint32_t auto_prune_parallelism;  /* default 10 */
    uint64_t flush_trigger_size;      /* default 512 MiB; 0 = the metasrv decides */
    uint64_t checkpoint_trigger_size; /* default 128 MiB */

    /* provider = "raft_engine" (GreptimeDB's embedded log) was read as local. */
    bool provider_from_raft_engine;

    /*
     * Lines a host may want to log: the raft_engine mapping, GreptimeDB keys
     * accepted but not used by kwal.  Empty when there is nothing to say.
     */
    char notes[1024];
} kw__wal_config;

/* The defaults, with no file. 0 or KW_ENOMEM; free with kw__wal_config_free either way. */
int kw__wal_config_init(kw__wal_config *cfg);

/*
 * Reads the [wal] section of text[0..len) into *cfg (which need not be
 * initialised).  filename is only used in messages (NULL: "config").  0 on
 * success; else KW_ECONFIG (or KW_ENOMEM), *cfg is left empty (freeing it is
 * harmless), and err gets "FILE:LINE: key: what is wrong" (or, for TOML syntax,
 * "FILE:LINE:COL: what is wrong").
 */
int kw__wal_config_parse(const char *text, size_t len, const char *filename, kw__wal_config *cfg,
                         char *err, size_t errlen);

/* The same, reading the file at path (at most 1 MiB). */
int kw__wal_config_load(const char *path, kw__wal_config *cfg, char *err, size_t errlen);

/* Frees the strings; the struct is zeroed. */
void kw__wal_config_free(kw__wal_config *cfg);

/* Exposed for tests: 0 and *out, or -1 when s is not a size / duration. */
int kw__wal_config_parse_size(const char *s, uint64_t *out);
int kw__wal_config_parse_duration(const char *s, uint64_t *ms);

#endif /* KW_WAL_CONFIG_H */
