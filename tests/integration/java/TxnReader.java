// Reads partition 0 of a topic with the Java consumer (read_committed or not) and prints each value: test_txn's interop check.
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/*
 * Usage: java TxnReader BOOTSTRAP TOPIC read_committed|read_uncommitted QUIET_MS
 * Assigns partition 0 (no group), starts at the beginning and prints every
 * value, one per line, up to the end offset (the last stable offset with
 * read_committed), then whatever comes in QUIET_MS more.  Exit status 0.
 */
public final class TxnReader {
    public static void main(String[] args) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", args[0]);
        p.put("isolation.level", args[2]);
        p.put("enable.auto.commit", "false");
        p.put("key.deserializer", StringDeserializer.class.getName());
        p.put("value.deserializer", StringDeserializer.class.getName());
        long quietMs = Long.parseLong(args[3]);
        TopicPartition tp = new TopicPartition(args[1], 0);
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            // the end: the high watermark, or with read_committed the last stable offset
            long end = c.endOffsets(List.of(tp)).get(tp);
            long deadline = System.currentTimeMillis() + 30000;
            while (c.position(tp) < end && System.currentTimeMillis() < deadline)
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(100)))
                    System.out.println(r.value());
            // and nothing more behind it for QUIET_MS
            long quietUntil = System.currentTimeMillis() + quietMs;
            while (System.currentTimeMillis() < quietUntil)
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(100)))
                    System.out.println(r.value());
        }
    }
}
