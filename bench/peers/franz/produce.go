// The produce side of the franz-go peer: COUNT records of SIZE bytes to partition 0, a promise per record.
package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	poolBytes      = 1 << 20
	maxRecordBytes = poolBytes / 2
)

// words is the vocabulary of bench/peers/rdkafka_produce.c's pool, in the same order: the record bytes must
// be the very bytes the other clients send, so every client's compression ratio is the same.
var words = [16]string{
	"kafka", "record", "batch", "offset", "partition", "leader", "replica", "segment",
	"append", "flush", "epoch", "region", "metric", "write", "table", "timestamp",
}

// fillPool writes the text-like pool the C peer writes: words picked by xorshift64 (seed
// 0x9E3779B97F4A7C15, shifts 13/7/17) modulo 16, each followed by one space, cut at the pool's end.
func fillPool(pool []byte) {
	x := uint64(0x9E3779B97F4A7C15)
	at := 0
	for at < len(pool) {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		w := words[x%16]
		for k := 0; k < len(w) && at < len(pool); k++ {
			pool[at] = w[k]
			at++
		}
		if at < len(pool) {
			pool[at] = ' '
			at++
		}
	}
}

func codecOpt(name string) (kgo.CompressionCodec, bool) {
	switch name {
	case "none":
		return kgo.NoCompression(), true
	case "lz4":
		return kgo.Lz4Compression(), true
	case "snappy":
		return kgo.SnappyCompression(), true
	case "zstd":
		return kgo.ZstdCompression(), true
	case "gzip":
		return kgo.GzipCompression(), true
	}
	return kgo.NoCompression(), false
}

func acksOpt(name string) (kgo.Acks, bool) {
	switch name {
	case "all", "-1":
		return kgo.AllISRAcks(), true
	case "1":
		return kgo.LeaderAck(), true
	case "0":
		return kgo.NoAck(), true
	}
	return kgo.AllISRAcks(), false
}

// delivery is what the promises share. franz-go runs promises on its own goroutines, so it is locked.
type delivery struct {
	mu         sync.Mutex
	delivered  uint64
	failed     uint64
	last       time.Time // when the latest promise ran
	firstError error
	done       chan struct{} // closed when every record has its promise
	want       uint64
}

func (d *delivery) promise(_ *kgo.Record, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last = time.Now()
	if err == nil {
		d.delivered++
	} else {
		if d.failed == 0 {
			d.firstError = err
		}
		d.failed++
	}
	if d.delivered+d.failed == d.want {
		close(d.done)
	}
}

func produce(args []string) int {
	fs := newFlags("produce")
	brokers := fs.String("b", "", "bootstrap brokers")
	topic := fs.String("t", "", "topic")
	count := fs.Uint64("n", 0, "records")
	size := fs.Uint64("s", 0, "bytes per record")
	codec := fs.String("z", "", "compression")
	acks := fs.String("acks", "all", "all|1|0")
	lingerMs := fs.Uint64("linger-ms", 5, "linger")
	batchBytes := fs.Uint64("batch-bytes", 1000000, "uncompressed bytes per batch")
	idempotence := fs.Bool("idempotence", false, "idempotent producer")
	queueKbytes := fs.Uint64("queue-kbytes", 2097151, "buffered bytes bound, KiB")
	if fs.Parse(args) != nil {
		return 2
	}
	if *brokers == "" || *topic == "" || *codec == "" || *count == 0 || fs.NArg() != 0 {
		usage()
		return 2
	}
	compression, ok := codecOpt(*codec)
	if !ok {
		fmt.Fprintln(os.Stderr, "franz produce: -z must be none, lz4, snappy, zstd or gzip")
		return 2
	}
	requiredAcks, ok := acksOpt(*acks)
	if !ok {
		fmt.Fprintln(os.Stderr, "franz produce: --acks must be all, 1 or 0")
		return 2
	}
	if *size > maxRecordBytes {
		fmt.Fprintf(os.Stderr, "franz produce: -s at most %d\n", maxRecordBytes)
		return 2
	}
	if *batchBytes == 0 || *batchBytes > 1<<30 || *queueKbytes == 0 || *queueKbytes > 1<<30 {
		fmt.Fprintln(os.Stderr, "franz produce: --batch-bytes and --queue-kbytes must be 1..2^30")
		return 2
	}

	pool := make([]byte, poolBytes)
	fillPool(pool)

	opts := []kgo.Opt{
		kgo.SeedBrokers(*brokers),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.DefaultProduceTopic(*topic),
		kgo.RequiredAcks(requiredAcks),
		kgo.ProducerBatchCompression(compression),
		kgo.ProducerBatchMaxBytes(int32(*batchBytes)),
		kgo.ProducerLinger(time.Duration(*lingerMs) * time.Millisecond),
		kgo.MaxBufferedBytes(int(*queueKbytes * 1024)),
		// librdkafka's peer allows 10,000,000 queued messages, so the byte bound is the only one that
		// bites; franz-go's default of 50,000 records would be a second, tighter bound.
		kgo.MaxBufferedRecords(10000000),
	}
	if !*idempotence {
		// franz-go is idempotent by default; the librdkafka peer (enable.idempotence=false) and kwal are not.
		// librdkafka then keeps up to 1,000,000 requests in flight per broker (max.in.flight); franz-go's
		// default without idempotence is 1, so allow 5, what an idempotent producer may have.
		opts = append(opts, kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(5))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "franz produce: %v\n", err)
		return 2
	}
	defer cl.Close()

	// Connect and check the topic before the clock starts, then send one record (not counted) so the
	// producer has learnt the partition's leader and opened its produce connection, as kwal_produce does.
	ctx, cancel := setupContext()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(*topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	cancel()
	if err == nil && (len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 || len(resp.Topics[0].Partitions) < 1) {
		err = fmt.Errorf("topic missing or without partitions")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "franz produce: metadata for %s: %v\n", *topic, err)
		return 2
	}
	ctx, cancel = setupContext()
	err = cl.ProduceSync(ctx, &kgo.Record{Partition: 0, Value: append([]byte(nil), pool[:*size]...)}).FirstErr()
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "franz produce: first (untimed) record: %v\n", err)
		return 2
	}

	d := &delivery{done: make(chan struct{}), want: *count}
	span := uint64(poolBytes) - *size + 1
	ctx = context.Background()
	start := time.Now()
	d.last = start
	for i := uint64(0); i < *count; i++ {
		at := (i * 4099) % span
		// The value is copied per record, as RD_KAFKA_MSG_F_COPY and kw_producer_send do.
		value := make([]byte, *size)
		copy(value, pool[at:at+*size])
		cl.Produce(ctx, &kgo.Record{Partition: 0, Value: value}, d.promise)
	}
	<-d.done
	d.mu.Lock()
	seconds := d.last.Sub(start).Seconds()
	delivered, failed, firstError := d.delivered, d.failed, d.firstError
	d.mu.Unlock()

	result(delivered, delivered**size, seconds)
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "franz produce: %d of %d records failed, first: %v\n", failed, *count, firstError)
		return 1
	}
	return 0
}
