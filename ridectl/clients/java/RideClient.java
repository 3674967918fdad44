// ridectl's Java client: a KafkaProducer or KafkaConsumer from the kafka-clients jar, driven
// over stdin/stdout by ridectl/clients/java.py with length-prefixed binary frames. One process
// per client:  java -cp <this dir>:<kafka libs>/* RideClient produce <topic> | consume | names
// ("names" prints "P <name>" / "C <name>" for every producer / consumer setting).
//
// Integers are big-endian (Java's DataInput order). From ridectl, a one-byte kind, then:
//   'P' index:i64 partition:i32 (-1: the client's partitioner) keyLength:i32 (-1: null key)
//       valueLength:i32 key value                       send one record (producer only)
//   'B' first:i64 count:i32 length:i32 (of the rest) partitions:i32[count] keyLengths:i32[count]
//       valueLengths:i32[count] keys values (every key in order, then every value)
//                                                       send records first, first+1, ... (producer)
//   'S' as 'B'                                          hold records first, first+1, ... unsent,
//                                                       until 'R' (producer; see "Staged records")
//   'T' length:i32 UTF-8 text                           one command, words separated by spaces
// To ridectl, every frame is kind:u8 bodyLength:i32 body:
//   'a' count:i32 indexes:i64[count] partitions:i32[count] offsets:i64[count] latencies:i64[count]
//       records acknowledged; a latency is the nanoseconds from the call of send() to the
//       acknowledgement callback, both taken in this JVM (System.nanoTime)
//   'e' index:i64 UTF-8 "<Exception> <message>"                       one record failed
//   'l' UTF-8 text                                                    one reply line
//   'r' count:i32 dataLength:i32 partitions:i32[count] offsets:i64[count] keyLengths:i32[count]
//       valueLengths:i32[count] (-1: null) data (key then value of each record, in order)
//
// Commands (text) -> replies (lines). A failed command -> X <Exception> <message>.
// Start:     C <name> <value> (one client setting, as given) ... then G (create the client)
//            -> S <name> <value> (a setting the client runs with) ... then READY (or X, exit 2)
// Producer:  F (flush) -> F | M <topic> -> M <partitions> | T -> T <records retried> | Q <ms> -> Q
//            H -> H <records held> (every 'S' frame before it has been read)
//            R (send the held records, on a thread of their own) -> R <records sent>, once they
//            all went to send() or Z stopped them | Z (stop sending held records; no reply)
// Staged records: a run can be handed over before it is timed ('S' frames), so that its clock
// covers the sends alone, as a bare loop's does. They are sent by their own thread so that the
// main one keeps reading commands: Z and Q stop the sends between two records (Q also closes
// the producer, which frees a send() waiting for buffer room). Frames and commands that send
// or flush ('P', 'B', F) wait until the held records were all sent, so order is kept; so do
// 'S', H and R, so that a new run is only held or started once the last one went out.
// Consumer:  A <topic> <p,p,...> <1: from the beginning, 0: committed offsets> [<handed>] -> OK
//            O <topic> <p,p,...> -> O <p>:<end offset> ... | N <topic> <p> [<handed>] -> N <offset>
//            L <ms> [<handed>] (poll) -> one 'r' frame, then LD <p>:<position> ... (the positions
//            the consumer holds without asking the broker) | K [<handed>] (commit) -> OK | Q -> Q
//            (RideConsumer.java runs these; it may run the next poll before it is asked for)
import java.io.*;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.consumer.*;
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

    static final Out OUT = new Out();

    public static void main(String[] args) throws Exception {
        if (args.length == 1 && args[0].equals("names")) {
            ProducerConfig.configNames().forEach(name -> System.out.println("P " + name));
            ConsumerConfig.configNames().forEach(name -> System.out.println("C " + name));
            return;
        }
        OutputStream stdout = new FileOutputStream(FileDescriptor.out);
        System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.err), true)); // logs
        Thread writer = new Thread(() -> OUT.run(stdout), "ridectl-out");
        writer.setDaemon(true);
        writer.start();
        DataInputStream in = new DataInputStream(
            new BufferedInputStream(new FileInputStream(FileDescriptor.in), 1 << 16));
        int code;
        try {
            Properties props = readSettings(in);
            if (args.length == 2 && args[0].equals("produce")) {
                code = produce(in, props, args[1]);
            } else if (args.length == 1 && args[0].equals("consume")) {
                code = RideConsumer.run(in, props);
            } else {
                say("X IllegalArgumentException usage: RideClient produce <topic> | consume");
                code = 2;
            }
        } catch (EOFException e) {
            code = 0; // ridectl went away before the client was made
        }
        OUT.stop();
        writer.join(5000);
        System.exit(code);
    }

    // What goes to ridectl is framed into a buffer under this object's lock and written by
    // one thread, which takes everything gathered so far at once: the producer's I/O thread,
    // which runs the acknowledgement callbacks, never waits on the pipe, and a run of
    // acknowledgements becomes one frame and one write. Acknowledgements come in bursts (one
    // produce response completes all its batches' records in one go), so while they flow the
    // writer woken by the first of a burst lets the rest join it for up to GATHER_MS (less
    // once ACKS_AT_ONCE are waiting, or anything else is to be written): woken at every
    // acknowledgement, it wrote about one a frame, and each write cost both programs a wake-up.
    static final class Out {
        static final long GATHER_MS = 1;
        // Acknowledgements are "flowing" when the last write was this recent; one that comes
        // after a quiet spell (a paced run's) is written at once, with no wait added.
        static final long FLOWING_NS = 2_000_000;
        static final int ACKS_AT_ONCE = 1024;
        private byte[] buf = new byte[1 << 16];
        private byte[] spare = new byte[1 << 16];
        private int len;
        // Acknowledgements not yet framed, as columns; framed (in order with the rest) when
        // anything else is framed, when the columns are full, or when the writer takes them.
        private final long[] ackIndex = new long[4 * ACKS_AT_ONCE];
        private final int[] ackPartition = new int[ackIndex.length];
        private final long[] ackOffset = new long[ackIndex.length];
        private final long[] ackLatency = new long[ackIndex.length];
        private int acks;
        private boolean waiting;
        private boolean gathering; // the writer waits for a burst of acknowledgements to end
        private boolean stopping;
        private long lastWrite = System.nanoTime() - FLOWING_NS; // only the writer uses it

        synchronized void ack(long index, int partition, long offset, long latencyNs) {
            if (acks == ackIndex.length) {
                closeAcks();
            }
            ackIndex[acks] = index;
            ackPartition[acks] = partition;
            ackOffset[acks] = offset;
            ackLatency[acks] = latencyNs;
            acks++;
            if (waiting || acks >= ACKS_AT_ONCE) {
                wake();
            }
        }

        synchronized void failed(long index, String text) {
            byte[] b = text.getBytes(StandardCharsets.UTF_8);
            open('e', 8 + b.length);
            putLong(index);
            put(b);
            wake();
        }

        synchronized void line(String text) {
            byte[] b = text.getBytes(StandardCharsets.UTF_8);
            open('l', b.length);
            put(b);
            wake();
        }

        // One poll's records, as columns: partitions, offsets, key and value lengths, then
        // the keys and values.
        synchronized void records(ConsumerRecords<byte[], byte[]> records) {
            int n = records.count();
            long data = 0;
            for (ConsumerRecord<byte[], byte[]> r : records) {
                data += (r.key() == null ? 0 : r.key().length) + (r.value() == null ? 0 : r.value().length);
            }
            open('r', 8 + 20L * n + data);
            putInt(n);
            putInt((int) data);
            int at = len;
            int i = 0;
            len += 20 * n; // the keys and values follow the columns
            for (ConsumerRecord<byte[], byte[]> r : records) {
                intAt(at + 4 * i, r.partition());
                intAt(at + 4 * n + 8 * i, (int) (r.offset() >>> 32));
                intAt(at + 4 * n + 8 * i + 4, (int) r.offset());
                intAt(at + 12 * n + 4 * i, r.key() == null ? -1 : r.key().length);
                intAt(at + 16 * n + 4 * i, r.value() == null ? -1 : r.value().length);
                put(r.key());
                put(r.value());
                i++;
            }
            wake();
        }

        synchronized void stop() {
            stopping = true;
            notifyAll();
        }

        void run(OutputStream stdout) {
            try {
                while (true) {
                    byte[] out;
                    int n;
                    synchronized (this) {
                        while (len == 0 && acks == 0 && !stopping) {
                            waiting = true;
                            wait();
                        }
                        if (len == 0 && acks == 0) {
                            return; // stopping, everything written
                        }
                        if (len == 0 && acks < ACKS_AT_ONCE && !stopping
                            && System.nanoTime() - lastWrite < FLOWING_NS) {
                            // Only acknowledgements so far, and they are flowing: let the rest
                            // of the burst join.
                            gathering = true;
                            wait(GATHER_MS);
                            gathering = false;
                        }
                        closeAcks();
                        out = buf;
                        n = len;
                        buf = spare;
                        len = 0;
                    }
                    stdout.write(out, 0, n);
                    stdout.flush();
                    lastWrite = System.nanoTime();
                    synchronized (this) {
                        spare = out;
                    }
                }
            } catch (Exception e) {
                Runtime.getRuntime().halt(3); // ridectl is gone: nothing left to tell
            }
        }

        private void wake() {
            if (waiting || gathering) { // the writer sleeps: wake it (once)
                waiting = false;
                gathering = false;
                notifyAll();
            }
        }

        private void open(char kind, long bodyLength) {
            closeAcks();
            room(Math.toIntExact(5 + bodyLength)); // over 2 GB: ArithmeticException
            buf[len++] = (byte) kind;
            putInt((int) bodyLength);
        }

        private void closeAcks() {
            int n = acks;
            if (n == 0) {
                return;
            }
            acks = 0;
            room(9 + 28 * n);
            buf[len++] = 'a';
            putInt(4 + 28 * n);
            putInt(n);
            for (int i = 0; i < n; i++) {
                putLong(ackIndex[i]);
            }
            for (int i = 0; i < n; i++) {
                putInt(ackPartition[i]);
            }
            for (int i = 0; i < n; i++) {
                putLong(ackOffset[i]);
            }
            for (int i = 0; i < n; i++) {
                putLong(ackLatency[i]);
            }
        }

        private void room(int more) {
            if (buf.length - len < more) {
                buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + more));
            }
        }

        private void put(byte[] b) {
            if (b != null) {
                System.arraycopy(b, 0, buf, len, b.length);
                len += b.length;
            }
        }

        private void intAt(int at, int v) {
            buf[at] = (byte) (v >>> 24);
            buf[at + 1] = (byte) (v >>> 16);
            buf[at + 2] = (byte) (v >>> 8);
            buf[at + 3] = (byte) v;
        }

        private void putInt(int v) {
            intAt(len, v);
            len += 4;
        }

        private void putLong(long v) {
            putInt((int) (v >>> 32));
            putInt((int) v);
        }
    }

    static void say(String line) { // one reply line
        OUT.line(line);
    }
    static String oneLine(Throwable e) {
        String msg = e.getMessage() == null ? "" : e.getMessage();
        return e.getClass().getSimpleName() + " " + msg.replaceAll("\\s+", " ").trim();
    }

    // The next text command; records ('P') are read by the producer's loop itself.
    static String text(DataInputStream in) throws IOException {
        return new String(bytes(in, in.readInt()), StandardCharsets.UTF_8);
    }

    static byte[] bytes(DataInputStream in, int length) throws IOException {
        if (length < 0) {
            return null;
        }
        byte[] b = new byte[length];
        in.readFully(b);
        return b;
    }

    static Properties readSettings(DataInputStream in) throws Exception {
        Properties props = new Properties();
        while (true) {
            in.readByte(); // 'T' (EOFException when ridectl is gone)
            String line = text(in);
            if (line.equals("G")) {
                return props;
            }
            String[] w = line.split(" ", 3);
            props.setProperty(w[1], w.length > 2 ? w[2] : "");
        }
    }

    // A name the client does not know would only be logged as unused: refuse it instead.
    static String unknown(Properties props, Set<String> known) {
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
    static int produce(DataInputStream in, Properties props, String topic) throws Exception {
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
        byte[] block = new byte[1 << 16];
        Staged staged = new Staged(producer);
        for (int kind = in.read(); kind >= 0; kind = in.read()) {
            if (kind == 'P' || kind == 'B' || kind == 'S') {
                staged.join(); // sent (or held) after the held records went out
            }
            if (kind == 'P') {
                long index = in.readLong();
                int p = in.readInt();
                int keyLength = in.readInt();
                int valueLength = in.readInt();
                byte[] key = bytes(in, keyLength);
                byte[] value = bytes(in, valueLength);
                send(producer, new ProducerRecord<>(topic, p < 0 ? null : p, key, value), index);
                continue;
            }
            if (kind == 'B' || kind == 'S') {
                long first = in.readLong();
                int count = in.readInt();
                int length = in.readInt();
                if (block.length < length) {
                    block = new byte[Math.max(length, 2 * block.length)];
                }
                in.readFully(block, 0, length); // one array for every block: less to collect
                if (kind == 'B') {
                    eachRecord(topic, count, block, (record, i) -> send(producer, record, first + i));
                } else {
                    staged.hold(first, count, topic, block);
                }
                continue;
            }
            String line = text(in);
            char op = line.charAt(0);
            if (op == 'H') {
                staged.join();
                say("H " + staged.held());
            } else if (op == 'R') {
                staged.join(); // a run sent before: this R sends what was held since
                staged.start();
            } else if (op == 'Z') {
                staged.stop = true;
            } else if (op == 'F') {
                staged.join();
                producer.flush();
                say("F");
            } else if (op == 'M') {
                say("M " + partitionCount(producer, line.substring(2)));
            } else if (op == 'T') {
                say("T " + retries(producer));
            } else if (op == 'Q') {
                staged.stop = true;
                producer.close(Duration.ofMillis(Long.parseLong(line.substring(2))));
                staged.join();
                say("Q");
                return 0;
            }
        }
        staged.stop = true;
        producer.close(Duration.ZERO); // ridectl went away
        staged.join();
        return 0;
    }

    // Records held in the heap ('S' frames) until R sends them, each with its index.
    static final class Staged implements Runnable {
        private final KafkaProducer<byte[], byte[]> producer;
        private final ArrayList<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        private long first = -1;
        private Thread thread;
        volatile boolean stop;

        Staged(KafkaProducer<byte[], byte[]> producer) {
            this.producer = producer;
        }

        void hold(long from, int count, String topic, byte[] body) {
            if (records.isEmpty()) {
                first = from;
            } else if (from != first + records.size()) {
                throw new IllegalStateException("held records must be consecutive: " + from);
            }
            eachRecord(topic, count, body, (record, i) -> records.add(record));
        }

        int held() {
            return records.size();
        }

        void start() {
            if (thread == null) {
                thread = new Thread(this, "ridectl-staged");
                thread.start();
            }
        }

        public void run() {
            int n = records.size();
            int sent = 0;
            try {
                while (sent < n && !stop) {
                    // Let go of each record once sent: the producer holds its own copy.
                    send(producer, records.set(sent, null), first + sent);
                    sent++;
                }
            } finally {
                // Even when an Error ends the sends: ridectl waits for this reply.
                records.clear();
                say("R " + sent);
            }
        }

        void join() throws InterruptedException {
            if (thread != null) {
                thread.join();
                thread = null;
            }
        }
    }

    interface RecordSink {
        void take(ProducerRecord<byte[], byte[]> record, int i);
    }

    // A block's records, read from its body in one piece (one read of the pipe's stream for
    // the block, not several per record), each handed to the sink with its place in the block.
    static void eachRecord(String topic, int n, byte[] body, RecordSink sink) {
        ByteBuffer columns = ByteBuffer.wrap(body); // big-endian
        int keyAt = 12 * n;
        int valueAt = keyAt;
        for (int i = 0; i < n; i++) {
            valueAt += Math.max(0, columns.getInt(4 * (n + i)));
        }
        for (int i = 0; i < n; i++) {
            int p = columns.getInt(4 * i);
            int keyLength = columns.getInt(4 * (n + i));
            int valueLength = columns.getInt(4 * (2 * n + i));
            byte[] key = null;
            if (keyLength >= 0) {
                key = Arrays.copyOfRange(body, keyAt, keyAt + keyLength);
                keyAt += keyLength;
            }
            byte[] value = null;
            if (valueLength >= 0) {
                value = Arrays.copyOfRange(body, valueAt, valueAt + valueLength);
                valueAt += valueLength;
            }
            sink.take(new ProducerRecord<>(topic, p < 0 ? null : p, key, value), i);
        }
    }

    // The latency is taken from the call of send() (which may wait for buffer room), as the
    // bare loop takes it.
    static void send(KafkaProducer<byte[], byte[]> producer, ProducerRecord<byte[], byte[]> record, long index) {
        long at = System.nanoTime();
        try {
            producer.send(record, (meta, error) -> {
                if (error == null) {
                    OUT.ack(index, meta.partition(), meta.offset(), System.nanoTime() - at);
                } else {
                    OUT.failed(index, oneLine(error));
                }
            });
        } catch (Exception e) {
            OUT.failed(index, oneLine(e));
        }
    }

    static int partitionCount(KafkaProducer<byte[], byte[]> producer, String topic) {
        try {
            return producer.partitionsFor(topic).size();
        } catch (Exception e) {
            return 0;
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
}
