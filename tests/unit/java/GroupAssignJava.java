// Runs kafka-clients' own assignors on groups the kwal test sends, so the two can be compared.
//
// Protocol on stdin/stdout, one group at a time (the test reads each answer before it sends the next):
//   group <assignor name> <topic count> <member count>
//   topic <name> <partitions>                         (topic count lines)
//   member <member id> <instance id or -> <hex subscription>   (member count lines; the bytes a member
//                                                              puts in its JoinGroup metadata)
// answer:
//   <member id> <hex assignment>                      (one per member, ConsumerProtocol's bytes)
//   end
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.Assignment;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.GroupSubscription;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.Subscription;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.clients.consumer.RoundRobinAssignor;
import org.apache.kafka.clients.consumer.internals.ConsumerProtocol;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;

public class GroupAssignJava {
    static byte[] unhex(String h) {
        byte[] b = new byte[h.length() / 2];
        for (int i = 0; i < b.length; i++)
            b[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
        return b;
    }

    static String hex(ByteBuffer b) {
        StringBuilder sb = new StringBuilder();
        while (b.hasRemaining())
            sb.append(String.format("%02x", b.get()));
        return sb.toString();
    }

    static ConsumerPartitionAssignor assignor(String name) {
        switch (name) {
            case "range": return new RangeAssignor();
            case "roundrobin": return new RoundRobinAssignor();
            case "cooperative-sticky": return new CooperativeStickyAssignor();
            default: throw new IllegalArgumentException("unknown assignor " + name);
        }
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        Node node = new Node(1, "127.0.0.1", 9092);
        Node[] nodes = {node};
        String line;
        while ((line = in.readLine()) != null) {
            String[] g = line.split(" ");
            ConsumerPartitionAssignor a = assignor(g[1]);
            int topics = Integer.parseInt(g[2]), members = Integer.parseInt(g[3]);
            List<PartitionInfo> partitions = new ArrayList<>();
            for (int i = 0; i < topics; i++) {
                String[] t = in.readLine().split(" ");
                for (int p = 0; p < Integer.parseInt(t[2]); p++)
                    partitions.add(new PartitionInfo(t[1], p, node, nodes, nodes));
            }
            Cluster cluster = new Cluster("kwal", List.of(node), partitions, Collections.emptySet(),
                Collections.emptySet());
            Map<String, Subscription> subs = new HashMap<>();
            List<String> order = new ArrayList<>();
            for (int i = 0; i < members; i++) {
                String[] m = in.readLine().split(" ");
                Subscription s = ConsumerProtocol.deserializeSubscription(ByteBuffer.wrap(unhex(m[3])));
                s.setGroupInstanceId(m[2].equals("-") ? Optional.empty() : Optional.of(m[2]));
                subs.put(m[1], s);
                order.add(m[1]);
            }
            Map<String, Assignment> out = a.assign(cluster, new GroupSubscription(subs)).groupAssignment();
            StringBuilder sb = new StringBuilder();
            for (String id : order) {
                Assignment asg = out.getOrDefault(id, new Assignment(Collections.emptyList()));
                sb.append(id).append(' ').append(hex(ConsumerProtocol.serializeAssignment(asg))).append('\n');
            }
            sb.append("end\n");
            System.out.print(sb);
            System.out.flush();
        }
    }
}
