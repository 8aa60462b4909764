// Transactional produce benchmark, the Java client's side: the same command line and result line as bench/kwal_txn.c.
import java.lang.management.ManagementFactory;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/*
 * Usage: java TxnBench -b BROKERS -t TOPIC -x TRANSACTIONAL_ID -n RECORDS -k PER_TXN -s SIZE
 *
 * One KafkaProducer with transactional.id (acks all, idempotent, linger 5 ms, batch.size
 * 1000000, no compression) writes RECORDS values of SIZE bytes to partition 0 in transactions
 * of PER_TXN records: beginTransaction, PER_TXN send() calls (values copied by the serializer,
 * as kwal copies them), commitTransaction (which flushes first).  initTransactions and one
 * warm-up transaction of one record run before the clock.  CPU is the JVM's process CPU time
 * (user+sys, reported as cpu_user; cpu_sys=0) over the timed part; max_rss_kb from
 * /proc/self/status VmHWM (the whole run, JVM included).
 */
public final class TxnBench {
    public static void main(String[] args) throws Exception {
        String brokers = null, topic = null, txnId = null;
        long records = 0, perTxn = 0;
        int size = 0;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "-b": brokers = args[i + 1]; break;
                case "-t": topic = args[i + 1]; break;
                case "-x": txnId = args[i + 1]; break;
                case "-n": records = Long.parseLong(args[i + 1]); break;
                case "-k": perTxn = Long.parseLong(args[i + 1]); break;
                case "-s": size = Integer.parseInt(args[i + 1]); break;
                default: System.err.println("TxnBench: unknown option " + args[i]); System.exit(2);
            }
        }
        if (brokers == null || topic == null || txnId == null || records <= 0 || perTxn <= 0 || size <= 0) {
            System.err.println("usage: TxnBench -b BROKERS -t TOPIC -x TRANSACTIONAL_ID -n RECORDS -k PER_TXN -s SIZE");
            System.exit(2);
        }
        byte[] pool = new byte[4096 + size];
        for (int i = 0; i < pool.length; i++)
            pool[i] = (byte) ('a' + (i * 7919L) % 26);
        Properties p = new Properties();
        p.put("bootstrap.servers", brokers);
        p.put("transactional.id", txnId);
        p.put("acks", "all");
        p.put("linger.ms", "5");
        p.put("batch.size", "1000000");
        p.put("max.request.size", "2000000");
        p.put("key.serializer", ByteArraySerializer.class.getName());
        p.put("value.serializer", ByteArraySerializer.class.getName());
        AtomicLong failed = new AtomicLong();
        long[] at = {0};
        com.sun.management.OperatingSystemMXBean os =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            producer.initTransactions();
            oneTxn(producer, topic, pool, size, 1, at, failed);
            long cpu0 = os.getProcessCpuTime();
            long t0 = System.nanoTime();
            long done = 0, txns = 0;
            while (done < records) {
                long n = Math.min(perTxn, records - done);
                oneTxn(producer, topic, pool, size, n, at, failed);
                done += n;
                txns++;
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            double cpu = (os.getProcessCpuTime() - cpu0) / 1e9;
            long bytes = done * size;
            System.out.printf("records=%d bytes=%d seconds=%.3f records_per_s=%.0f mb_per_s=%.2f "
                    + "cpu_user=%.3f cpu_sys=0.000 max_rss_kb=%d txns_per_s=%.1f%n",
                done, bytes, seconds, done / seconds, bytes / seconds / 1e6, cpu, peakRssKb(),
                txns / seconds);
        }
        System.exit(failed.get() == 0 ? 0 : 1);
    }

    private static void oneTxn(KafkaProducer<byte[], byte[]> producer, String topic, byte[] pool, int size,
                               long n, long[] at, AtomicLong failed) {
        producer.beginTransaction();
        for (long i = 0; i < n; i++) {
            int off = (int) (at[0]++ % 4096);
            byte[] v = java.util.Arrays.copyOfRange(pool, off, off + size);
            producer.send(new ProducerRecord<>(topic, 0, null, v), (md, e) -> {
                if (e != null && failed.getAndIncrement() == 0)
                    System.err.println("TxnBench: record failed: " + e);
            });
        }
        producer.commitTransaction();
    }

    private static long peakRssKb() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Paths.get("/proc/self/status")))
                if (line.startsWith("VmHWM:"))
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
        } catch (Exception e) {
            return 0;
        }
        return 0;
    }
}
