// The benchmark's bare loops of the Java client: the least a Java program does to send a
// ridectl run's records, or to read a topic back, with the KafkaProducer / KafkaConsumer that
// RideClient drives. Started by ridectl/bench/bare_java.py in a JVM with RideClient's flags and
// class path, so that ridectl's Java runs compared with it differ only by ridectl's own work.
//     java -cp <this dir>:<kafka libs>/* BareLoop produce <topic> | consume <topic>
//
// stdin (big-endian, java.io.DataInput): count:i32, then count x (name:UTF value:UTF), the
// client's settings. The producer then reads count:i32 and count x (keyLength:i32 (-1: null)
// valueLength:i32 key value), the records, in order.
// stdout, one line each:
//   S <name> <value>        a setting the producer runs with (the few ridectl's label names)
//   READY                   the producer is made: send the records
//   DONE <acked> <failed> <elapsed ns> <cpu ns> <p50 us> <p99 us>     (producer)
//   DONE <records> <loop ns> <cpu ns>                                 (consumer)
//   X <Exception> <message> the run failed (exit 2)
// Producer: the records are read into memory and the topic's partitions learnt (partitionsFor)
// before the clock starts; the clock covers the sends, one callback per record noting its ack
// latency, and the final flush. Consumer: assign, seekToBeginning, end offsets and positions
// before the clock; the clock runs from the first poll to the poll that reached every end
// offset; records are counted and dropped. CPU is the JVM's (every thread) over the clock.
import java.io.*;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public final class BareLoop {
    static final String[] SHOWN = {
        "acks", "enable.idempotence", "max.in.flight.requests.per.connection", "retries",
    };
    static final long DEADLINE_NS = 120_000_000_000L;

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true);
        System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.err), true)); // logs
        DataInputStream in = new DataInputStream(
            new BufferedInputStream(new FileInputStream(FileDescriptor.in), 1 << 16));
        int code = 0;
        try {
            Properties props = RideClient.readSettings(in);
            if (args.length == 2 && args[0].equals("produce")) {
                produce(in, out, props, args[1]);
            } else if (args.length == 2 && args[0].equals("consume")) {
                consume(out, props, args[1]);
            } else {
                out.println("X IllegalArgumentException usage: BareLoop produce|consume <topic>");
                code = 2;
            }
        } catch (Exception e) {
            String msg = e.getMessage() == null ? "" : e.getMessage().replaceAll("\\s+", " ");
            out.println("X " + e.getClass().getSimpleName() + " " + msg);
            code = 2;
        }
        out.flush();
        System.exit(code);
    }

    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
            .getProcessCpuTime();
    }

    static void produce(DataInputStream in, PrintStream out, Properties props, String topic) throws Exception {
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props);
        Map<String, ?> held = held(producer, props);
        for (String name : SHOWN) {
            out.println("S " + name + " " + held.get(name));
        }
        out.println("READY");
        int n = in.readInt();
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int keyLength = in.readInt();
            int valueLength = in.readInt();
            byte[] key = RideClient.bytes(in, keyLength);
            byte[] value = RideClient.bytes(in, valueLength);
            records.add(new ProducerRecord<>(topic, null, key, value));
        }
        producer.partitionsFor(topic);
        long[] sentAt = new long[n];
        long[] latency = new long[n]; // ns; -1: failed
        cpuNanos(); // its classes loaded before the clock
        long c0 = cpuNanos();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            final int at = i;
            sentAt[i] = System.nanoTime();
            producer.send(records.get(i), (meta, error) ->
                latency[at] = error == null ? System.nanoTime() - sentAt[at] : -1);
        }
        producer.flush();
        long elapsed = System.nanoTime() - t0;
        long cpu = cpuNanos() - c0;
        long[] ok = Arrays.stream(latency).filter(v -> v > 0).sorted().toArray();
        out.println("DONE " + ok.length + " " + (n - ok.length) + " " + elapsed + " " + cpu
            + " " + pct(ok, 50) + " " + pct(ok, 99));
        producer.close(Duration.ofSeconds(10));
    }

    // Nearest rank, as ridectl's percentile(); microseconds, -1 when nothing was acknowledged.
    static long pct(long[] sorted, double q) {
        if (sorted.length == 0) {
            return -1;
        }
        int i = (int) Math.min(sorted.length - 1, Math.max(0, Math.round(q / 100 * (sorted.length - 1))));
        return sorted[i] / 1000;
    }

    // The configuration the producer holds after its own adjustments (as RideClient reads it).
    static Map<String, ?> held(KafkaProducer<byte[], byte[]> producer, Properties props) {
        try {
            Field f = KafkaProducer.class.getDeclaredField("producerConfig");
            f.setAccessible(true);
            return ((ProducerConfig) f.get(producer)).values();
        } catch (ReflectiveOperationException | RuntimeException e) {
            return new ProducerConfig(props).values();
        }
    }

    static void consume(PrintStream out, Properties props, String topic) {
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (PartitionInfo p : consumer.partitionsFor(topic)) {
                tps.add(new TopicPartition(topic, p.partition()));
            }
            Map<TopicPartition, Long> end = consumer.endOffsets(tps);
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            Set<TopicPartition> pending = new HashSet<>();
            for (TopicPartition tp : tps) {
                if (consumer.position(tp) < end.get(tp)) {
                    pending.add(tp);
                }
            }
            cpuNanos();
            long c0 = cpuNanos();
            long t0 = System.nanoTime();
            long count = 0;
            while (!pending.isEmpty()) {
                count += consumer.poll(Duration.ofMillis(500)).count();
                pending.removeIf(tp -> consumer.position(tp, Duration.ZERO) >= end.get(tp));
                if (System.nanoTime() - t0 > DEADLINE_NS) {
                    throw new IllegalStateException("reading " + topic + " took more than 120 s");
                }
            }
            long loop = System.nanoTime() - t0;
            out.println("DONE " + count + " " + loop + " " + (cpuNanos() - c0));
        }
    }
}
