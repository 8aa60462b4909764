// The Java client's side of test_interop: produces every codec for kwal to read, and reads what kwal produced.
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/*
 * Usage:
 *   java Interop produce BOOTSTRAP TOPIC_PREFIX COUNT OUT
 *       one idempotent producer per codec (none gzip snappy lz4 zstd) writes COUNT records to
 *       partition 0 of TOPIC_PREFIX-<codec>; OUT gets each record as sent, with its offset
 *   java Interop consume BOOTSTRAP OUT TOPIC:COUNT...
 *       reads partition 0 of each topic from the beginning until COUNT records; OUT gets them
 *
 * One record per line, as test_interop.c writes them too:
 *   TOPIC PARTITION OFFSET TIMESTAMP KEY VALUE HEADER_COUNT [HKEY=HVALUE ...]
 * with every byte string as "x" + lower-case hex ("x" alone: empty) or "null".
 * The records themselves (record(i)) are the same function in both programs.
 */
public final class Interop {
    static final String[] CODECS = {"none", "gzip", "snappy", "lz4", "zstd"};

    static String hex(byte[] b) {
        if (b == null)
            return "null";
        StringBuilder s = new StringBuilder("x");
        for (byte x : b)
            s.append(String.format("%02x", x & 0xff));
        return s.toString();
    }

    static String line(String topic, int partition, long offset, long ts, byte[] key, byte[] value,
                       Iterable<Header> headers) {
        StringBuilder s = new StringBuilder();
        List<String> hs = new ArrayList<>();
        for (Header h : headers)
            hs.add(hex(h.key().getBytes(StandardCharsets.UTF_8)) + "=" + hex(h.value()));
        s.append(topic).append(' ').append(partition).append(' ').append(offset).append(' ')
            .append(ts).append(' ').append(hex(key)).append(' ').append(hex(value)).append(' ')
            .append(hs.size());
        for (String h : hs)
            s.append(' ').append(h);
        return s.toString();
    }

    // Record i: null, empty and binary keys and values, 0-2 headers (one with a null value).
    static byte[] key(int i) {
        if (i % 7 == 3)
            return null;
        if (i % 7 == 5)
            return new byte[0];
        return ("key-" + i).getBytes(StandardCharsets.UTF_8);
    }

    static byte[] value(int i) {
        if (i % 11 == 4)
            return null;
        if (i % 11 == 6)
            return new byte[0];
        byte[] v = new byte[(i * 37) % 300 + 1];
        for (int j = 0; j < v.length; j++)
            v[j] = (byte) (j < v.length / 2 ? (i * 31 + j) & 0xff : 'a' + (j % 3));
        return v;
    }

    static List<Header> headers(int i) {
        List<Header> h = new ArrayList<>();
        if (i % 3 >= 1)
            h.add(new RecordHeader("trace", new byte[] {(byte) i, 0, '\n', (byte) 0xff}));
        if (i % 3 == 2)
            h.add(new RecordHeader("nothing", (byte[]) null));
        return h;
    }

    static long timestamp(int i) {
        return 1700000000000L + i * 1000L;
    }

    static void produce(String bootstrap, String prefix, int count, String out) throws Exception {
        try (PrintWriter w = new PrintWriter(out, StandardCharsets.UTF_8)) {
            for (String codec : CODECS) {
                Properties p = new Properties();
                p.put("bootstrap.servers", bootstrap);
                p.put("key.serializer", ByteArraySerializer.class.getName());
                p.put("value.serializer", ByteArraySerializer.class.getName());
                p.put("compression.type", codec);
                p.put("enable.idempotence", "true");
                p.put("acks", "all");
                p.put("linger.ms", "20");
                p.put("max.block.ms", "30000");
                String topic = prefix + "-" + codec;
                List<Future<RecordMetadata>> sent = new ArrayList<>();
                try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
                    for (int i = 0; i < count; i++)
                        sent.add(producer.send(new ProducerRecord<>(topic, 0, timestamp(i), key(i),
                                                                    value(i), headers(i))));
                    producer.flush();
                    for (int i = 0; i < count; i++) {
                        RecordMetadata m = sent.get(i).get();
                        w.println(line(topic, 0, m.offset(), timestamp(i), key(i), value(i), headers(i)));
                    }
                }
            }
        }
    }

    static void consume(String bootstrap, String out, String[] specs) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("key.deserializer", ByteArrayDeserializer.class.getName());
        p.put("value.deserializer", ByteArrayDeserializer.class.getName());
        p.put("enable.auto.commit", "false");
        p.put("auto.offset.reset", "earliest");
        Map<TopicPartition, Integer> want = new HashMap<>();
        for (String s : specs) {
            int c = s.lastIndexOf(':');
            want.put(new TopicPartition(s.substring(0, c), 0), Integer.parseInt(s.substring(c + 1)));
        }
        Map<TopicPartition, Integer> got = new HashMap<>();
        long deadline = System.currentTimeMillis() + 60000;
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p);
             PrintWriter w = new PrintWriter(out, StandardCharsets.UTF_8)) {
            consumer.assign(want.keySet());
            consumer.seekToBeginning(want.keySet());
            int missing = want.values().stream().mapToInt(Integer::intValue).sum();
            while (missing > 0) {
                if (System.currentTimeMillis() > deadline)
                    throw new IllegalStateException(missing + " records never came");
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                    w.println(line(r.topic(), r.partition(), r.offset(), r.timestamp(), r.key(),
                                   r.value(), r.headers()));
                    got.merge(tp, 1, Integer::sum);
                    missing--;
                }
            }
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length >= 5 && args[0].equals("produce")) {
            produce(args[1], args[2], Integer.parseInt(args[3]), args[4]);
        } else if (args.length >= 4 && args[0].equals("consume")) {
            String[] specs = new String[args.length - 3];
            System.arraycopy(args, 3, specs, 0, specs.length);
            consume(args[1], args[2], specs);
        } else {
            System.err.println("usage: Interop produce BOOTSTRAP PREFIX COUNT OUT | consume BOOTSTRAP OUT TOPIC:COUNT...");
            System.exit(2);
        }
    }
}
