// Command franz is the franz-go peer of bench/produce and bench/consume: the same runs through another client.
//
// Not part of libkwal: the benchmarks run it beside kwal and librdkafka on the same broker, in the same run.
//
//	franz produce -b BROKERS -t TOPIC -n COUNT -s SIZE -z none|lz4|snappy|zstd|gzip [--acks all|1|0]
//	              [--linger-ms N] [--batch-bytes N] [--idempotence] [--queue-kbytes N]
//	franz consume -b BROKERS -t TOPIC [-p PARTITION] -n RECORDS [--fetch-bytes N] [--fetches N]
//	franz mimir-produce ..., franz mimir-catchup ...: configured as Grafana Mimir configures franz-go
//	                     (mimir.go says how)
//
// Each prints one result line, the same fields as bench/peers/rdkafka_produce.c and rdkafka_consume.c:
//
//	records=N bytes=B seconds=S records_per_s=R mb_per_s=M cpu_user=U cpu_sys=Y max_rss_kb=K
//
// produce: the C peer's record bytes (produce.go's pool), one kgo.Client.Produce per record with its own
// copy of the value and a promise, to partition 0 (ManualPartitioner); ProducerBatchCompression from -z,
// RequiredAcks from --acks, ProducerBatchMaxBytes from --batch-bytes, ProducerLinger from --linger-ms,
// MaxBufferedBytes from --queue-kbytes (MaxBufferedRecords 10,000,000, so only the byte bound bites, as
// in the C peer). franz-go is idempotent by default; like the C peer and kwal it is not here unless
// --idempotence is given (DisableIdempotentWrite, with 5 produce requests in flight). The topic's metadata
// and one untimed record (the leader and the produce connection, as kwal_produce does) come before the
// clock, which then runs from the first Produce to the last promise.
// consume: direct partition consumption, nothing committed: the partition is added at its start offset
// (AddConsumePartitions) once the metadata is in, and the clock runs from then to the last record;
// FetchMaxBytes and FetchMaxPartitionBytes from --fetch-bytes (default 4 MiB), MaxConcurrentFetches from
// --fetches when given.
//
// CPU seconds and peak RSS are getrusage(RUSAGE_SELF) of the whole process (every goroutine, the Go
// runtime and its garbage collector included). Exit status: 0 when every record was delivered or read,
// 1 when any failed, 2 on bad usage or setup.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var status int
	switch os.Args[1] {
	case "produce":
		status = produce(os.Args[2:])
	case "consume":
		status = consume(os.Args[2:])
	case "mimir-produce":
		status = mimirProduce(os.Args[2:])
	case "mimir-catchup":
		status = mimirCatchup(os.Args[2:])
	default:
		usage()
		status = 2
	}
	os.Exit(status)
}

func usage() {
	fmt.Fprint(os.Stderr, "usage: franz produce -b BROKERS -t TOPIC -n COUNT -s SIZE -z none|lz4|snappy|zstd|gzip\n"+
		"                     [--acks all|1|0] [--linger-ms N] [--batch-bytes N] [--idempotence]\n"+
		"                     [--queue-kbytes N]\n"+
		"       franz consume -b BROKERS -t TOPIC [-p PARTITION] -n RECORDS [--fetch-bytes N] [--fetches N]\n"+
		"       franz mimir-produce -b BROKERS -t TOPIC -n COUNT -s SIZE [-P PARTITIONS]\n"+
		"       franz mimir-catchup -b BROKERS -t TOPIC [-p PARTITION] -n RECORDS [--fetches N] [--fetch-bytes N]\n")
}

// newFlags makes a flag set that reports errors instead of exiting, so main picks the exit status.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("franz "+name, flag.ContinueOnError)
	fs.Usage = usage
	return fs
}

// result prints the result line shared with the C peers and kwal, with getrusage of the whole process.
func result(records, bytes uint64, seconds float64) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	user := float64(ru.Utime.Sec) + float64(ru.Utime.Usec)/1e6
	sys := float64(ru.Stime.Sec) + float64(ru.Stime.Usec)/1e6
	var rps, mbps float64
	if seconds > 0 {
		rps = float64(records) / seconds
		mbps = float64(bytes) / seconds / 1e6
	}
	fmt.Printf("records=%d bytes=%d seconds=%.3f records_per_s=%.0f mb_per_s=%.2f cpu_user=%.3f cpu_sys=%.3f max_rss_kb=%d\n",
		records, bytes, seconds, rps, mbps, user, sys, ru.Maxrss)
}

// setupContext bounds connecting and metadata, which happen before any clock starts.
func setupContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}
