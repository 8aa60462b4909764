/* Creating and deleting the WAL benchmarks' topics through kwal's admin API. */
#ifndef KW_BENCH_WAL_TOPICS_H
#define KW_BENCH_WAL_TOPICS_H

/*
 * The topics are PREFIX_0 .. PREFIX_(count-1), or PREFIX alone when count is 0;
 * one partition each, replication factor 1 (the test broker is one node).
 * Create waits until every partition has a leader.  0, or -1 with a message on stderr.
 */
int wb_topics_create(const char *brokers, const char *prefix, unsigned count);
int wb_topics_delete(const char *brokers, const char *prefix, unsigned count);

#endif /* KW_BENCH_WAL_TOPICS_H */
