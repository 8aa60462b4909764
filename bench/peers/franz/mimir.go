// The Mimir side of the franz-go peer: franz-go configured as Grafana Mimir's ingest storage configures it.
//
//	franz mimir-produce -b BROKERS -t TOPIC -n COUNT -s SIZE [-P PARTITIONS]
//	franz mimir-catchup -b BROKERS -t TOPIC [-p PARTITION] -n RECORDS [--fetches N] [--fetch-bytes N]
//
// mimir-produce: COUNT records of SIZE bytes (up to 16 MiB, cut from a 32 MiB pool of the text-like bytes
// produce.go writes) spread round robin over partitions 0..PARTITIONS-1 (default 8), one Produce with a
// promise per record, with Mimir's writer options: acks=all, not idempotent, linger 50 ms, 20 produce
// requests in flight per broker, batches up to 16,000,000 bytes, a 1 GiB buffer, snappy. The clock runs
// from the first Produce to the last promise, after one untimed record per partition (leaders, connections).
//
// mimir-catchup: reads RECORDS records of one partition from its start as Mimir's concurrent fetchers do
// at startup: up to --fetches (default 12) Fetch requests in flight at distinct offset windows of the
// partition, each window sized from the bytes per record seen so far to fill --fetch-bytes (default
// 16,000,000), each parsed with kgo.ProcessFetchPartition, the windows' records handed on in offset order.
// Mimir builds this on raw Fetch requests too (franz-go's own consumer keeps one fetch per broker in
// flight). The clock runs from the first fetch to the last record; an offset missing is an error.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	mimirPoolBytes   = 32 << 20
	mimirMaxRecord   = 16 << 20
	mimirBatchBytes  = 16000000
	mimirBufferBytes = 1 << 30
)

func mimirProduce(args []string) int {
	fs := newFlags("mimir-produce")
	brokers := fs.String("b", "", "bootstrap brokers")
	topic := fs.String("t", "", "topic")
	count := fs.Uint64("n", 0, "records")
	size := fs.Uint64("s", 0, "bytes per record")
	partitions := fs.Int("P", 8, "partitions written, round robin")
	if fs.Parse(args) != nil {
		return 2
	}
	if *brokers == "" || *topic == "" || *count == 0 || *size == 0 || *size > mimirMaxRecord ||
		*partitions < 1 || fs.NArg() != 0 {
		usage()
		return 2
	}
	pool := make([]byte, mimirPoolBytes)
	fillPool(pool)
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(*brokers),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.DefaultProduceTopic(*topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.DisableIdempotentWrite(),
		kgo.ProducerLinger(50*time.Millisecond),
		kgo.MaxProduceRequestsInflightPerBroker(20),
		kgo.ProducerBatchMaxBytes(mimirBatchBytes),
		kgo.MaxBufferedBytes(mimirBufferBytes),
		kgo.MaxBufferedRecords(10000000),
		kgo.ProducerBatchCompression(kgo.SnappyCompression()),
	)
	if err != nil {
		fmt.Fprintf(os.Stderr, "franz mimir-produce: %v\n", err)
		return 2
	}
	defer cl.Close()
	for p := 0; p < *partitions; p++ { // untimed: every partition's leader and connection are known
		ctx, cancel := setupContext()
		err = cl.ProduceSync(ctx, &kgo.Record{Partition: int32(p), Value: []byte("warm-up")}).FirstErr()
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "franz mimir-produce: warm-up record to %s/%d: %v\n", *topic, p, err)
			return 2
		}
	}
	d := &delivery{done: make(chan struct{}), want: *count}
	span := uint64(mimirPoolBytes) - *size + 1
	start := time.Now()
	d.last = start
	for i := uint64(0); i < *count; i++ {
		at := (i * 4099) % span
		value := make([]byte, *size)
		copy(value, pool[at:at+*size])
		cl.Produce(context.Background(), &kgo.Record{Partition: int32(i % uint64(*partitions)), Value: value}, d.promise)
	}
	<-d.done
	d.mu.Lock()
	seconds := d.last.Sub(start).Seconds()
	delivered, failed, firstError := d.delivered, d.failed, d.firstError
	d.mu.Unlock()
	result(delivered, delivered**size, seconds)
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "franz mimir-produce: %d of %d records failed, first: %v\n", failed, *count, firstError)
		return 1
	}
	return 0
}

// window is one fetcher's share: records [start, end) of the partition, filled in by a worker.
type window struct {
	start, end int64
	records    []*kgo.Record
	err        error
	done       chan struct{}
}

// catchup is the state the fetchers share: where the next window starts and how large windows are.
type catchup struct {
	cl         *kgo.Client
	topic      string
	topicID    [16]byte
	partition  int32
	leader     int32
	fetchBytes int32
	end        int64 // the partition's high watermark when the run started

	mu             sync.Mutex
	next           int64   // the start of the next window
	bytesPerRecord float64 // as seen so far
}

func (c *catchup) fetch(ctx context.Context, offset int64) (kgo.FetchPartition, error) {
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID = -1
	req.MaxWaitMillis = 500
	req.MinBytes = 1
	req.MaxBytes = c.fetchBytes
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = c.topic
	rt.TopicID = c.topicID
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition = c.partition
	rp.FetchOffset = offset
	rp.PartitionMaxBytes = c.fetchBytes
	rp.CurrentLeaderEpoch = -1
	rp.LogStartOffset = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, c.cl.Broker(int(c.leader)))
	if err != nil {
		return kgo.FetchPartition{}, err
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return kgo.FetchPartition{}, fmt.Errorf("fetch at %d: an answer without the partition (error %d)", offset, resp.ErrorCode)
	}
	fp, _ := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{
		Topic: c.topic, Partition: c.partition, Offset: offset,
	}, &resp.Topics[0].Partitions[0], kgo.DefaultDecompressor(), nil)
	return fp, fp.Err
}

// take hands out the next window, sized so its records fill one fetch.
func (c *catchup) take() *window {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.next >= c.end {
		return nil
	}
	n := int64(float64(c.fetchBytes) / c.bytesPerRecord)
	if n < 1 {
		n = 1
	}
	w := &window{start: c.next, end: c.next + n, done: make(chan struct{})}
	if w.end > c.end {
		w.end = c.end
	}
	c.next = w.end
	return w
}

// fill fetches a window's records, fetching again from where an answer stopped short.
func (c *catchup) fill(w *window) {
	defer close(w.done)
	at := w.start
	for at < w.end {
		fp, err := c.fetch(context.Background(), at)
		if err != nil {
			w.err = err
			return
		}
		var got int64
		var bytes int
		for _, r := range fp.Records {
			if r.Offset < at || r.Offset >= w.end {
				continue
			}
			w.records = append(w.records, r)
			got++
			bytes += len(r.Key) + len(r.Value)
			at = r.Offset + 1
		}
		if got == 0 {
			w.err = fmt.Errorf("fetch at %d: no record (high watermark %d)", at, fp.HighWatermark)
			return
		}
		c.mu.Lock()
		c.bytesPerRecord = 0.8*c.bytesPerRecord + 0.2*float64(bytes)/float64(got)
		c.mu.Unlock()
	}
}

func mimirCatchup(args []string) int {
	fs := newFlags("mimir-catchup")
	brokers := fs.String("b", "", "bootstrap brokers")
	topic := fs.String("t", "", "topic")
	partition := fs.Int("p", 0, "partition")
	count := fs.Int64("n", 0, "records to read")
	fetches := fs.Int("fetches", 12, "fetches in flight")
	fetchBytes := fs.Int("fetch-bytes", 16000000, "bytes per fetch")
	if fs.Parse(args) != nil {
		return 2
	}
	if *brokers == "" || *topic == "" || *count <= 0 || *fetches < 1 || *fetchBytes < 1 || *partition < 0 ||
		fs.NArg() != 0 {
		usage()
		return 2
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(*brokers))
	if err != nil {
		fmt.Fprintf(os.Stderr, "franz mimir-catchup: %v\n", err)
		return 2
	}
	defer cl.Close()
	c := &catchup{cl: cl, topic: *topic, partition: int32(*partition), fetchBytes: int32(*fetchBytes),
		end: *count, bytesPerRecord: 1 << 20}
	// The leader and the topic id before the clock starts, as Mimir's reader knows them by then.
	ctx, cancel := setupContext()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(*topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	cancel()
	if err == nil && (len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 ||
		len(resp.Topics[0].Partitions) <= *partition) {
		err = errors.New("topic missing or without the partition")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "franz mimir-catchup: metadata for %s: %v\n", *topic, err)
		return 2
	}
	c.topicID = resp.Topics[0].TopicID
	for _, p := range resp.Topics[0].Partitions {
		if p.Partition == int32(*partition) {
			c.leader = p.Leader
		}
	}

	start := time.Now()
	queue := make(chan *window, *fetches)  // the windows in offset order
	slots := make(chan struct{}, *fetches) // one per window fetched and not yet handed on
	go func() {
		for {
			slots <- struct{}{}
			w := c.take()
			if w == nil {
				break
			}
			go c.fill(w)
			queue <- w
		}
		close(queue)
	}()
	var records, bytes uint64
	next := int64(0)
	for w := range queue {
		<-w.done
		if w.err != nil {
			fmt.Fprintf(os.Stderr, "franz mimir-catchup: %v\n", w.err)
			return 1
		}
		for _, r := range w.records {
			if r.Offset != next {
				fmt.Fprintf(os.Stderr, "franz mimir-catchup: offset %d where %d was due\n", r.Offset, next)
				return 1
			}
			next++
			records++
			bytes += uint64(len(r.Key) + len(r.Value))
		}
		<-slots
	}
	result(records, bytes, time.Since(start).Seconds())
	return 0
}
