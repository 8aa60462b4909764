// Writes transactions for test_consumer's read_committed case with the Java client: committed, aborted, committed.
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/*
 * Usage: java TxnWriter BOOTSTRAP TOPIC
 * Partition 0 of TOPIC gets, in this order: a committed transaction of
 * "committed-0".."committed-2", an aborted one of "aborted-0".."aborted-2",
 * and a committed one of "committed-3".."committed-4" (each transaction
 * ends with its marker, which takes an offset).  Exit status 0 when all
 * three transactions ended as intended.
 */
public final class TxnWriter {
    public static void main(String[] args) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", args[0]);
        p.put("transactional.id", "kwal-test-consumer-" + ProcessHandle.current().pid());
        p.put("key.serializer", StringSerializer.class.getName());
        p.put("value.serializer", StringSerializer.class.getName());
        p.put("max.block.ms", "30000");
        String topic = args[1];
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            producer.initTransactions();
            send(producer, topic, "committed", 0, 3);
            producer.commitTransaction();
            send(producer, topic, "aborted", 0, 3);
            producer.flush();
            producer.abortTransaction();
            send(producer, topic, "committed", 3, 2);
            producer.commitTransaction();
        }
    }

    private static void send(KafkaProducer<String, String> producer, String topic, String prefix,
                             int from, int n) throws Exception {
        producer.beginTransaction();
        for (int i = from; i < from + n; i++)
            producer.send(new ProducerRecord<>(topic, 0, "k" + i, prefix + "-" + i)).get();
    }
}
