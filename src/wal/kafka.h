/* The Kafka WAL provider's table for wal.c (GreptimeDB's "remote WAL", done by kwal's own client). */
#ifndef KW_WAL_KAFKA_H
#define KW_WAL_KAFKA_H

#include "wal/provider.h"

/*
 * Each region writes to its topic's partition 0 (kw_wal_set_region_topic;
 * the default topic otherwise).  Entry id = the offset of the entry's last
 * record.  See kafka_produce.c for the produce pipeline and its durability rules,
 * kafka_replay.c for replay.
 */
extern const kw_wal_provider_ops kw__wal_kafka_ops;

#endif /* KW_WAL_KAFKA_H */
