// The consumer of ridectl's Java client: one KafkaConsumer run by the consumer commands that
// RideClient.java describes (A, O, N, L, K, Q), answered one by one, in order.
//
// Read-ahead. Once ridectl has asked for the end offsets of every assigned partition (O, which
// ridectl's reads send before they assign), an L sends its records and then, while some
// position is still short of its end offset, runs the next poll at once and holds its records
// for the next L: the consumer fetches while ridectl decodes and judges. ridectl, for its
// part, may send the next L as soon as a reply came, before it hands the records over. So at
// most one poll is held here and one sent that ridectl has not handed over yet. What ridectl
// sees stays as without either:
//   * L, N, K and A name how many polls ridectl has handed over since the last A (their
//     last word, <handed>; without it, every poll sent): N answers where the records not handed
//     over start (sent after those or held), K commits no record that was not handed over,
//     A seeks such records back before it assigns;
//   * LD holds the positions right after its own poll, taken before the next poll ran;
//   * a position that has reached its end offset stops the read-ahead, so a bounded read ends
//     (commits, closes) without waiting for a poll that would find nothing;
//   * a held poll that failed fails the next L, as the poll itself would have;
//   * a consumer that auto-commits in a group reads no poll ahead, on either side: its polls
//     and its close commit what was polled, handed over or not.
import java.io.DataInputStream;
import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

final class RideConsumer {
    static final String[] SHOWN = {
        "isolation.level", "enable.auto.commit", "auto.offset.reset", "max.poll.records",
        "fetch.min.bytes", "fetch.max.wait.ms", "max.partition.fetch.bytes", "check.crcs",
    };

    private final KafkaConsumer<byte[], byte[]> consumer;
    // False for a consumer that auto-commits in a group: its polls (and its close) commit the
    // positions of every record polled, so a poll run ahead would commit records ridectl was
    // never handed. It polls only when asked.
    private final boolean mayReadAhead;
    // The end offsets ridectl asked for (O), the latest for each partition.
    private final Map<TopicPartition, Long> ends = new HashMap<>();
    // Polls sent since the last A, and where each of those not handed over yet (the last
    // ones) starts in each of its partitions, oldest first.
    private long sentPolls;
    private final ArrayDeque<Map<TopicPartition, Long>> notHanded = new ArrayDeque<>();
    // A poll run ahead and not sent yet: its records and the positions after it, or its error.
    private ConsumerRecords<byte[], byte[]> held;
    private Map<TopicPartition, Long> heldAfter;
    private RuntimeException heldError;

    private RideConsumer(KafkaConsumer<byte[], byte[]> consumer, boolean mayReadAhead) {
        this.consumer = consumer;
        this.mayReadAhead = mayReadAhead;
    }

    static int run(DataInputStream in, Properties props) throws Exception {
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        String refused = RideClient.unknown(props, ConsumerConfig.configNames());
        if (refused != null) {
            RideClient.say(refused);
            return 2;
        }
        KafkaConsumer<byte[], byte[]> consumer;
        try {
            consumer = new KafkaConsumer<>(props);
        } catch (Exception e) {
            RideClient.say("X " + RideClient.oneLine(e.getCause() != null ? e.getCause() : e));
            return 2;
        }
        ConsumerConfig config = new ConsumerConfig(props);
        RideClient.showSettings(config, SHOWN);
        // Closing waits for the broker only when it has something to do there: commit the
        // positions (auto commit in a group). Otherwise it would wait for nothing but a fetch
        // still running and the end of the fetch session, which the broker ends by itself.
        boolean commitsOnClose = props.getProperty(ConsumerConfig.GROUP_ID_CONFIG) != null
            && config.getBoolean(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG);
        Duration closing = commitsOnClose ? Duration.ofSeconds(5) : Duration.ZERO;
        RideClient.say("READY");
        RideConsumer reader = new RideConsumer(consumer, !commitsOnClose);
        for (int kind = in.read(); kind >= 0; kind = in.read()) {
            String line = RideClient.text(in);
            if (line.equals("Q")) {
                consumer.close(CloseOptions.timeout(closing));
                RideClient.say("Q");
                return 0;
            }
            try {
                reader.command(line);
            } catch (Exception e) {
                RideClient.say("X " + RideClient.oneLine(e));
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

    void command(String line) {
        String[] w = line.split(" ");
        switch (w[0]) {
            case "A":
                handed(w, 4);
                assign(partitions(w[1], w[2]), w[3].equals("1"));
                RideClient.say("OK");
                break;
            case "O": {
                StringBuilder out = new StringBuilder("O");
                for (Map.Entry<TopicPartition, Long> e : consumer.endOffsets(partitions(w[1], w[2])).entrySet()) {
                    ends.put(e.getKey(), e.getValue());
                    out.append(' ').append(e.getKey().partition()).append(':').append(e.getValue());
                }
                RideClient.say(out.toString());
                break;
            }
            case "N": {
                handed(w, 3);
                TopicPartition tp = new TopicPartition(w[1], Integer.parseInt(w[2]));
                Long first = notHandedStart(tp);
                RideClient.say("N " + (first != null ? first : consumer.position(tp)));
                break;
            }
            case "L":
                handed(w, 2);
                poll(Duration.ofMillis(Long.parseLong(w[1])));
                break;
            case "K":
                handed(w, 1);
                if (notHanded.isEmpty() && (held == null || held.isEmpty())) {
                    consumer.commitSync(); // every record read was handed over
                } else {
                    consumer.commitSync(handedOffsets());
                }
                RideClient.say("OK");
                break;
            default:
                RideClient.say("X IllegalArgumentException unknown command " + w[0]);
        }
    }

    private void assign(List<TopicPartition> tps, boolean fromBeginning) {
        for (TopicPartition tp : consumer.assignment()) {
            Long at = notHandedStart(tp);
            if (at != null) {
                consumer.seek(tp, at); // records read but not handed over: read them again
            }
        }
        held = null;
        heldError = null;
        sentPolls = 0;
        notHanded.clear();
        consumer.assign(tps);
        if (fromBeginning) {
            consumer.seekToBeginning(tps);
        } else {
            Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(new HashSet<>(tps));
            for (TopicPartition tp : tps) {
                OffsetAndMetadata at = committed.get(tp);
                if (at != null) {
                    consumer.seek(tp, at.offset());
                }
            }
        }
    }

    // Send the held poll's records, or poll now; then run the next poll ahead when it is due.
    private void poll(Duration timeout) {
        if (heldError != null) {
            RuntimeException e = heldError;
            heldError = null;
            throw e;
        }
        ConsumerRecords<byte[], byte[]> records;
        Map<TopicPartition, Long> after;
        if (held != null) {
            records = held;
            after = heldAfter;
            held = null;
        } else {
            records = consumer.poll(timeout);
            after = positions();
        }
        RideClient.OUT.records(records);
        StringBuilder done = new StringBuilder("LD");
        after.forEach((tp, at) -> done.append(' ').append(tp.partition()).append(':').append(at));
        RideClient.say(done.toString());
        sentPolls++;
        Map<TopicPartition, Long> starts = new HashMap<>();
        for (TopicPartition tp : records.partitions()) {
            starts.put(tp, first(records, tp));
        }
        notHanded.addLast(starts);
        if (readsAhead(after)) {
            try {
                held = consumer.poll(timeout);
                heldAfter = positions();
            } catch (RuntimeException e) {
                heldError = e;
            }
        }
    }

    // The position of every assigned partition that has one already (asking for one it lacks
    // would wait for the broker; ridectl then asks with N).
    private Map<TopicPartition, Long> positions() {
        Map<TopicPartition, Long> out = new HashMap<>();
        for (TopicPartition tp : consumer.assignment()) {
            try {
                out.put(tp, consumer.position(tp, Duration.ZERO));
            } catch (Exception e) {
                // no position yet
            }
        }
        return out;
    }

    // Whether to poll ahead: every assigned partition's end offset is known, and some
    // partition's position is short of its own.
    private boolean readsAhead(Map<TopicPartition, Long> after) {
        Set<TopicPartition> assigned = consumer.assignment();
        if (!mayReadAhead || assigned.isEmpty() || !ends.keySet().containsAll(assigned)) {
            return false;
        }
        for (TopicPartition tp : assigned) {
            Long at = after.get(tp);
            if (at != null && at < ends.get(tp)) {
                return true;
            }
        }
        return false;
    }

    // The polls ridectl says it handed over (word `at` of the command; all sent without it)
    // are no longer "not handed over".
    private void handed(String[] w, int at) {
        long handed = w.length > at ? Long.parseLong(w[at]) : sentPolls;
        while (!notHanded.isEmpty() && sentPolls - notHanded.size() < handed) {
            notHanded.removeFirst();
        }
    }

    // Where the first record of `tp` not handed over starts (sent after the handed ones, or
    // held), or null when every record of it read so far was handed over.
    private Long notHandedStart(TopicPartition tp) {
        for (Map<TopicPartition, Long> starts : notHanded) {
            if (starts.containsKey(tp)) {
                return starts.get(tp);
            }
        }
        return held == null ? null : first(held, tp);
    }

    // The offsets that cover exactly the records handed over, for the partitions read past them.
    private Map<TopicPartition, OffsetAndMetadata> handedOffsets() {
        Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
        for (TopicPartition tp : consumer.assignment()) {
            Long at = notHandedStart(tp);
            if (at != null) {
                out.put(tp, new OffsetAndMetadata(at));
            } else {
                try {
                    out.put(tp, new OffsetAndMetadata(consumer.position(tp, Duration.ZERO)));
                } catch (Exception e) {
                    // no position yet: nothing read, nothing to commit
                }
            }
        }
        return out;
    }

    private static Long first(ConsumerRecords<byte[], byte[]> records, TopicPartition tp) {
        List<ConsumerRecord<byte[], byte[]>> of = records.records(tp);
        return of.isEmpty() ? null : of.get(0).offset();
    }
}
