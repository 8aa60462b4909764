// The consume side of the franz-go peer: catch-up of one partition from its earliest offset.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// idleLimit ends a run whose partition stops giving records before RECORDS arrive.
const idleLimit = 30 * time.Second

func consume(args []string) int {
	fs := newFlags("consume")
	brokers := fs.String("b", "", "bootstrap brokers")
	topic := fs.String("t", "", "topic")
	partition := fs.Int("p", 0, "partition")
	count := fs.Uint64("n", 0, "records to read")
	fetchBytes := fs.Uint64("fetch-bytes", 4<<20, "bytes per fetch response and per partition in it")
	fetches := fs.Int("fetches", 0, "fetches in flight or buffered at once (0: franz-go's default, unbounded)")
	if fs.Parse(args) != nil {
		return 2
	}
	if *brokers == "" || *topic == "" || *count == 0 || fs.NArg() != 0 {
		usage()
		return 2
	}
	if *partition < 0 || *partition > 1<<31-1 || *fetchBytes == 0 || *fetchBytes > 1<<30 || *fetches < 0 {
		fmt.Fprintln(os.Stderr, "franz consume: -p must be >= 0, --fetch-bytes 1..2^30, --fetches >= 0")
		return 2
	}

	opts := []kgo.Opt{
		kgo.SeedBrokers(*brokers),
		// Direct consumption (no group, nothing committed); the partition is added once the clock starts.
		kgo.FetchMaxBytes(int32(*fetchBytes)),
		kgo.FetchMaxPartitionBytes(int32(*fetchBytes)),
	}
	if *fetches > 0 {
		// A fetch counts until it is polled. By default there is no bound; franz-go still sends one
		// fetch at a time to each broker, and with one partition on one broker that is the whole run.
		opts = append(opts, kgo.MaxConcurrentFetches(*fetches))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "franz consume: %v\n", err)
		return 2
	}
	defer cl.Close()

	// Connect and check the topic before the clock starts.
	ctx, cancel := setupContext()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(*topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	cancel()
	if err == nil && (len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 ||
		len(resp.Topics[0].Partitions) <= *partition) {
		err = fmt.Errorf("topic missing or without partition %d", *partition)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "franz consume: metadata for %s: %v\n", *topic, err)
		return 2
	}

	var records, bytes uint64
	start := time.Now()
	last := start
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{
		*topic: {int32(*partition): kgo.NewOffset().AtStart()},
	})
	for records < *count {
		ctx, cancel := context.WithTimeout(context.Background(), idleLimit)
		polled := cl.PollFetches(ctx)
		cancel()
		for _, fe := range polled.Errors() {
			if errors.Is(fe.Err, context.DeadlineExceeded) {
				fmt.Fprintf(os.Stderr, "franz consume: no record for %v after %d of %d\n", idleLimit, records, *count)
			} else {
				fmt.Fprintf(os.Stderr, "franz consume: fetch %s[%d]: %v\n", fe.Topic, fe.Partition, fe.Err)
			}
			return 1
		}
		polled.EachRecord(func(r *kgo.Record) {
			if records < *count {
				records++
				bytes += uint64(len(r.Key) + len(r.Value))
			}
		})
		last = time.Now()
	}
	result(records, bytes, last.Sub(start).Seconds())
	return 0
}
