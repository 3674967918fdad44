// ridectl's Java client: a KafkaProducer or KafkaConsumer from the kafka-clients jar, driven
// line by line over stdin/stdout by ridectl/clients/java.py. One process per client.
//
//   java -cp <this dir>:<kafka libs>/* RideClient produce <topic>
//   java -cp <this dir>:<kafka libs>/* RideClient consume
//   java -cp <this dir>:<kafka libs>/* RideClient names    (prints "P <name>" / "C <name>" for
//                                                            every producer / consumer setting)
//
// Every line is words separated by single spaces. Keys and values travel base64-encoded;
// "~" stands for a null key. Messages (exception texts) are the last word and may hold spaces.
//
// Start (both modes), from ridectl:    C <name> <base64 value>    one client setting, as given
//                                       G                          create the client
// to ridectl:                           S <name> <value>           a setting the client runs with
//                                       READY | X <Exception> <message> (then exit 2)
// Producer, from ridectl:  P <index> <partition or -1> <key> <value>   send one record
//                          F (flush) | M <topic> (partition count) | T (retries) | Q <ms> (close)
//           to ridectl:    A <index> <partition> <offset>        acknowledged
//                          E <index> <Exception> <message>       failed
//                          F | M <count> | T <records retried> | Q
// Consumer, from ridectl:  A <topic> <p,p,...> <1: from the beginning, 0: committed offsets>
//                          O <topic> <p,p,...> (end offsets) | N <topic> <p> (position)
//                          L <ms> (poll) | K (commit) | Q
//           to ridectl:    OK | O <p>:<offset> ... | N <offset or -> | R <p> <offset> <key> <value>
//                          ... then LD | X <Exception> <message> for a failed command
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.LinkedBlockingQueue;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public final class RideClient {
    static final String[] PRODUCER_SHOWN = {
        "enable.idempotence", "acks", "max.in.flight.requests.per.connection", "retries",
        "linger.ms", "batch.size", "delivery.timeout.ms", "retry.backoff.ms", "compression.type",
        "partitioner.class", "partitioner.ignore.keys", "partitioner.adaptive.partitioning.enable",
        "max.request.size", "request.timeout.ms",
    };
    static final String[] CONSUMER_SHOWN = {
        "isolation.level", "enable.auto.commit", "auto.offset.reset", "max.poll.records",
        "fetch.min.bytes", "fetch.max.wait.ms", "max.partition.fetch.bytes", "check.crcs",
    };
    static final Base64.Encoder B64 = Base64.getEncoder();
    static final Base64.Decoder UNB64 = Base64.getDecoder();

    // Lines to ridectl go through one writer thread, which flushes whenever it has drained
    // what was waiting: acknowledgements from the producer's I/O thread never wait on a pipe.
    static final LinkedBlockingQueue<String> OUT = new LinkedBlockingQueue<>();

    public static void main(String[] args) throws Exception {
        if (args.length == 1 && args[0].equals("names")) {
            for (String name : ProducerConfig.configNames()) {
                System.out.println("P " + name);
            }
            for (String name : ConsumerConfig.configNames()) {
                System.out.println("C " + name);
            }
            return;
        }
        OutputStream stdout = new FileOutputStream(FileDescriptor.out);
        System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.err), true)); // logs
        Thread writer = new Thread(() -> writeLines(stdout), "ridectl-out");
        writer.setDaemon(true);
        writer.start();
        BufferedReader in = new BufferedReader(
            new InputStreamReader(System.in, StandardCharsets.UTF_8), 1 << 16);
        Properties props = readSettings(in);
        int code;
        if (args.length == 2 && args[0].equals("produce")) {
            code = produce(in, props, args[1]);
        } else if (args.length == 1 && args[0].equals("consume")) {
            code = consume(in, props);
        } else {
            say("X IllegalArgumentException usage: RideClient produce <topic> | consume");
            code = 2;
        }
        OUT.put("\u0000"); // tells the writer to stop after what is queued
        writer.join(5000);
        System.exit(code);
    }

    static void writeLines(OutputStream out) {
        List<String> batch = new ArrayList<>();
        try {
            while (true) {
                batch.add(OUT.take());
                OUT.drainTo(batch);
                StringBuilder text = new StringBuilder();
                for (String line : batch) {
                    if (line.equals("\u0000")) {
                        out.write(text.toString().getBytes(StandardCharsets.UTF_8));
                        out.flush();
                        return;
                    }
                    text.append(line).append('\n');
                }
                batch.clear();
                out.write(text.toString().getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        } catch (Exception e) {
            Runtime.getRuntime().halt(3); // ridectl is gone: nothing left to tell
        }
    }

    static void say(String line) {
        OUT.add(line);
    }

    static String oneLine(Throwable e) {
        String msg = e.getMessage() == null ? "" : e.getMessage();
        return e.getClass().getSimpleName() + " " + msg.replaceAll("\\s+", " ").trim();
    }

    static Properties readSettings(BufferedReader in) throws Exception {
        Properties props = new Properties();
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.equals("G")) {
                break;
            }
            String[] w = line.split(" ", 3);
            String value = w.length > 2 ? new String(UNB64.decode(w[2]), StandardCharsets.UTF_8) : "";
            props.setProperty(w[1], value);
        }
        return props;
    }

    // A name the client does not know would only be logged as unused: refuse it instead.
    static String unknown(Properties props, java.util.Set<String> known) {
        for (String name : props.stringPropertyNames()) {
            if (!known.contains(name)) {
                return "X ConfigException the Java client has no setting " + name;
            }
        }
        return null;
    }

    static void showSettings(AbstractConfig config, String[] names) {
        Map<String, ?> values = config.values();
        for (String name : names) {
            if (values.containsKey(name)) {
                Object v = values.get(name);
                String text = v == null ? "null" : (v instanceof Class ? ((Class<?>) v).getName() : v.toString());
                say("S " + name + " " + text.replaceAll("\\s+", " "));
            }
        }
    }

    // ------------------------------------------------------------------------------ producer

    static int produce(BufferedReader in, Properties props, String topic) throws Exception {
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        String refused = unknown(props, ProducerConfig.configNames());
        if (refused != null) {
            say(refused);
            return 2;
        }
        KafkaProducer<byte[], byte[]> producer;
        try {
            producer = new KafkaProducer<>(props);
        } catch (Exception e) {
            say("X " + oneLine(e.getCause() != null && e.getMessage() != null
                && e.getMessage().startsWith("Failed to construct") ? e.getCause() : e));
            return 2;
        }
        showSettings(producerConfig(producer, props), PRODUCER_SHOWN);
        say("READY");
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            char op = line.charAt(0);
            if (op == 'P') {
                send(producer, topic, line);
            } else if (op == 'F') {
                producer.flush();
                say("F");
            } else if (op == 'M') {
                int count;
                try {
                    count = producer.partitionsFor(line.substring(2)).size();
                } catch (Exception e) {
                    count = 0;
                }
                say("M " + count);
            } else if (op == 'T') {
                say("T " + retries(producer));
            } else if (op == 'Q') {
                producer.close(Duration.ofMillis(Long.parseLong(line.substring(2))));
                say("Q");
                return 0;
            }
        }
        producer.close(Duration.ZERO); // ridectl went away
        return 0;
    }

    static void send(KafkaProducer<byte[], byte[]> producer, String topic, String line) {
        String[] w = line.split(" ", 5);
        long index = Long.parseLong(w[1]);
        int p = Integer.parseInt(w[2]);
        byte[] key = w[3].equals("~") ? null : UNB64.decode(w[3]);
        byte[] value = UNB64.decode(w[4]);
        ProducerRecord<byte[], byte[]> record =
            new ProducerRecord<>(topic, p < 0 ? null : p, key, value);
        try {
            producer.send(record, (meta, error) -> {
                if (error == null) {
                    say("A " + index + " " + meta.partition() + " " + meta.offset());
                } else {
                    say("E " + index + " " + oneLine(error));
                }
            });
        } catch (Exception e) {
            say("E " + index + " " + oneLine(e));
        }
    }

    static String retries(KafkaProducer<byte[], byte[]> producer) {
        for (Map.Entry<MetricName, ? extends Metric> e : producer.metrics().entrySet()) {
            MetricName name = e.getKey();
            if (name.name().equals("record-retry-total") && name.group().equals("producer-metrics")) {
                return String.valueOf(e.getValue().metricValue());
            }
        }
        return "0";
    }

    // The configuration the producer itself holds (after its own adjustments, such as turning
    // idempotence off for conflicting settings); rebuilt from the settings if it cannot be read.
    static AbstractConfig producerConfig(KafkaProducer<byte[], byte[]> producer, Properties props) {
        try {
            Field f = KafkaProducer.class.getDeclaredField("producerConfig");
            f.setAccessible(true);
            return (AbstractConfig) f.get(producer);
        } catch (ReflectiveOperationException | RuntimeException e) {
            say("S (read.from) ProducerConfig");
            return new ProducerConfig(props);
        }
    }

    // ------------------------------------------------------------------------------ consumer

    static int consume(BufferedReader in, Properties props) throws Exception {
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        String refused = unknown(props, ConsumerConfig.configNames());
        if (refused != null) {
            say(refused);
            return 2;
        }
        KafkaConsumer<byte[], byte[]> consumer;
        try {
            consumer = new KafkaConsumer<>(props);
        } catch (Exception e) {
            say("X " + oneLine(e.getCause() != null ? e.getCause() : e));
            return 2;
        }
        showSettings(new ConsumerConfig(props), CONSUMER_SHOWN);
        say("READY");
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.equals("Q")) {
                consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
                say("Q");
                return 0;
            }
            try {
                command(consumer, line);
            } catch (Exception e) {
                say("X " + oneLine(e));
            }
        }
        consumer.close(CloseOptions.timeout(Duration.ZERO));
        return 0;
    }

    static List<TopicPartition> partitions(String topic, String list) {
        List<TopicPartition> out = new ArrayList<>();
        for (String p : list.split(",")) {
            out.add(new TopicPartition(topic, Integer.parseInt(p)));
        }
        return out;
    }

    static void command(KafkaConsumer<byte[], byte[]> consumer, String line) {
        String[] w = line.split(" ");
        switch (w[0]) {
            case "A": {
                List<TopicPartition> tps = partitions(w[1], w[2]);
                consumer.assign(tps);
                if (w[3].equals("1")) {
                    consumer.seekToBeginning(tps);
                } else {
                    Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(new java.util.HashSet<>(tps));
                    for (TopicPartition tp : tps) {
                        OffsetAndMetadata at = committed.get(tp);
                        if (at != null) {
                            consumer.seek(tp, at.offset());
                        }
                    }
                }
                say("OK");
                break;
            }
            case "O": {
                StringBuilder out = new StringBuilder("O");
                for (Map.Entry<TopicPartition, Long> e : consumer.endOffsets(partitions(w[1], w[2])).entrySet()) {
                    out.append(' ').append(e.getKey().partition()).append(':').append(e.getValue());
                }
                say(out.toString());
                break;
            }
            case "N":
                say("N " + consumer.position(new TopicPartition(w[1], Integer.parseInt(w[2]))));
                break;
            case "L": {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(Long.parseLong(w[1])))) {
                    say("R " + r.partition() + " " + r.offset() + " "
                        + (r.key() == null ? "~" : B64.encodeToString(r.key())) + " "
                        + (r.value() == null ? "~" : B64.encodeToString(r.value())));
                }
                say("LD");
                break;
            }
            case "K":
                consumer.commitSync();
                say("OK");
                break;
            default:
                say("X IllegalArgumentException unknown command " + w[0]);
        }
    }
}
