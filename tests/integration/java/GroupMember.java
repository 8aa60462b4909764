// A Java consumer-group member for test_group's interop case: prints its assignment changes, one per line.
import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/*
 * Usage: java GroupMember BOOTSTRAP GROUP TOPIC...
 * Joins GROUP (classic protocol, CooperativeStickyAssignor, session 6 s,
 * heartbeat 500 ms) subscribed to the topics and polls until killed.
 * Prints "ASSIGNED topic/partition", "REVOKED topic/partition" and
 * "LOST topic/partition" as the rebalance listener hears them.
 */
public final class GroupMember {
    private static void say(String what, Collection<TopicPartition> parts) {
        for (TopicPartition tp : parts)
            System.out.println(what + " " + tp.topic() + "/" + tp.partition());
        System.out.flush();
    }

    public static void main(String[] args) {
        Properties p = new Properties();
        p.put("bootstrap.servers", args[0]);
        p.put("group.id", args[1]);
        p.put("group.protocol", "classic");
        p.put("partition.assignment.strategy", CooperativeStickyAssignor.class.getName());
        p.put("session.timeout.ms", "6000");
        p.put("heartbeat.interval.ms", "500");
        p.put("auto.offset.reset", "earliest");
        p.put("key.deserializer", ByteArrayDeserializer.class.getName());
        p.put("value.deserializer", ByteArrayDeserializer.class.getName());
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            c.subscribe(Arrays.asList(args).subList(2, args.length), new ConsumerRebalanceListener() {
                public void onPartitionsRevoked(Collection<TopicPartition> parts) { say("REVOKED", parts); }
                public void onPartitionsAssigned(Collection<TopicPartition> parts) { say("ASSIGNED", parts); }
                public void onPartitionsLost(Collection<TopicPartition> parts) { say("LOST", parts); }
            });
            for (;;)
                c.poll(Duration.ofMillis(200));
        }
    }
}
