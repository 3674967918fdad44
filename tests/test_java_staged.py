"""A run the Java client holds before its clock starts (``StagingProducer``), on the real broker:
held records go out in order with their own indexes, a record refused among them fails alone,
a run over the budget holds its first records and streams the rest, each acknowledgement's
latency is the one the JVM measured from the record's real send, and an interrupt stops the
records still held (none of them is sent, nor counted as sent)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence

import pytest
from client_helpers import BatchRecorder, Recorder, make_topic, poll_until

from ridectl.clients.base import ClientName, Delivery, StagingProducer
from ridectl.clients.factory import make_consumer, make_producer
from ridectl.clients.java import JavaProducer
from ridectl.clients.partitioners import partition_for
from ridectl.clients.settings import ClientSettings
from ridectl.faults.proxy import FaultProxy
from ridectl.faults.spec import parse_fault_spec
from ridectl.judge.lifecycle import LIFECYCLE_LENGTH
from ridectl.run.options import ProduceOptions
from ridectl.run.outcomes import Outcomes
from ridectl.run.produce import run_produce

pytestmark = pytest.mark.kafka

PARTITIONS = 4


def _stage(producer: StagingProducer, keys: list[bytes | None], values: list[bytes]) -> None:
    for first in range(0, len(values), 100):
        producer.stage_block(first, keys[first : first + 100], values[first : first + 100])
    assert producer.held() == len(values)


def _sent_when_done(producer: StagingProducer) -> int:
    deadline = time.monotonic() + 60
    while (sent := producer.staged_sent(1.0)) is None:
        assert time.monotonic() < deadline, "the held records were not sent within 60 s"
    return sent


def test_held_records_go_out_in_order_with_their_indexes_and_the_jvms_latencies(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = make_topic(kafka_bootstrap, new_topic("staged"), PARTITIONS)
    settings = ClientSettings(kafka_bootstrap, {"linger.ms": "0"})
    keys: list[bytes | None] = [b"ride-%d" % (i % 13) for i in range(1000)]
    values = [b"value %d " % i + b"x" * (i % 40) for i in range(1000)]
    rec = BatchRecorder()
    producer = make_producer(ClientName.JAVA, settings, topic, rec)
    try:
        assert isinstance(producer, StagingProducer)
        assert producer.partitions_for(topic) == PARTITIONS
        _stage(producer, keys, values)
        assert not rec.deliveries  # held, not sent
        go = time.perf_counter()
        producer.start_staged()
        assert _sent_when_done(producer) == len(values)
        assert producer.flush(60)
    finally:
        producer.close(10)
    assert sorted(d.index for d in rec.deliveries) == list(range(len(values)))
    assert all(d.ok for d in rec.deliveries)
    for d in rec.deliveries:
        assert d.partition == partition_for("murmur2", keys[d.index] or b"", PARTITIONS)
        # Sent after the go and acknowledged before its frame arrived here: the JVM's figure
        # lies inside that span (both clocks are the system's monotonic one).
        assert 0 < rec.latencies[d.index] <= (rec.arrived[d.index] - go) * 1e9
    # Within a partition, the later index has the later offset (the idempotent default).
    by_partition: dict[int, list[Delivery]] = defaultdict(list)
    for d in sorted(rec.deliveries, key=lambda d: d.index):
        by_partition[d.partition].append(d)
    for ds in by_partition.values():
        assert [d.offset for d in ds] == sorted(d.offset for d in ds)
    consumer = make_consumer(ClientName.JAVA, settings, group=None, doing="reading")
    try:
        consumer.assign(topic, list(range(PARTITIONS)), True)
        read = poll_until(consumer, len(values))
    finally:
        consumer.close()
    held = {(r.partition, r.offset): (r.key, r.value) for r in read}
    assert len(held) == len(values)
    for d in rec.deliveries:
        assert held[(d.partition, d.offset)] == (keys[d.index], values[d.index])


def test_a_second_run_held_after_the_first_went_out_is_held_and_sent_too(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    """The JVM holds and starts a new run only once the last one went out, with no flush
    between them (its sending thread may be done but not yet joined)."""
    topic = make_topic(kafka_bootstrap, new_topic("staged-twice"), PARTITIONS)
    settings = ClientSettings(kafka_bootstrap, {"linger.ms": "0"})
    keys: list[bytes | None] = [b"ride-%d" % (i % 7) for i in range(400)]
    values = [b"value %d" % i for i in range(400)]
    rec = BatchRecorder()
    producer = make_producer(ClientName.JAVA, settings, topic, rec)
    try:
        assert isinstance(producer, StagingProducer)
        for first in (0, 200):
            for start in range(first, first + 200, 100):
                producer.stage_block(start, keys[start : start + 100], values[start : start + 100])
            assert producer.held() == 200
            producer.start_staged()
            assert _sent_when_done(producer) == 200
        assert producer.flush(60)
    finally:
        producer.close(10)
    assert sorted(d.index for d in rec.deliveries) == list(range(400))
    assert all(d.ok for d in rec.deliveries)


def test_a_held_record_the_client_refuses_fails_alone_by_its_index(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = make_topic(kafka_bootstrap, new_topic("staged"), 1)
    settings = ClientSettings(kafka_bootstrap, {"max.request.size": "20000", "linger.ms": "0"})
    values = [b"v%d" % i for i in range(300)]
    values[150] = b"z" * 40_000
    rec = Recorder()
    producer = JavaProducer(settings, topic, rec)
    try:
        _stage(producer, [b"k"] * 300, values)
        producer.start_staged()
        assert _sent_when_done(producer) == 300
        assert producer.flush(60)
    finally:
        producer.close(10)
    by_index = {d.index: d for d in rec.deliveries}
    assert sorted(by_index) == list(range(300))
    assert by_index[150].error == "RecordTooLargeException" and by_index[150].partition == -1
    ok = [by_index[i] for i in range(300) if i != 150]
    assert all(d.ok for d in ok)
    assert [d.offset for d in ok] == sorted(d.offset for d in ok)


def _spy(monkeypatch: pytest.MonkeyPatch, name: str, seen: list[int]) -> None:
    """Note the first index of every block the Java producer is handed by ``name``."""
    original = getattr(JavaProducer, name)

    def spy(
        self: JavaProducer, first: int, keys: Sequence[bytes | None], values: Sequence[bytes]
    ) -> None:
        seen.extend(range(first, first + len(values)))
        original(self, first, keys, values)

    monkeypatch.setattr(JavaProducer, name, spy)


def test_a_run_over_the_budget_holds_its_start_and_streams_the_rest_with_jvm_latencies(
    kafka_bootstrap: str, new_topic: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    staged: list[int] = []
    streamed: list[int] = []
    _spy(monkeypatch, "stage_block", staged)
    _spy(monkeypatch, "send_block", streamed)
    measured: list[int] = []
    acked_many = Outcomes.acked_many

    def noting(self: Outcomes, *columns: Sequence[int]) -> None:
        assert len(columns) == 4  # the JVM's latencies came with every batch
        measured.extend(columns[3])
        acked_many(self, *columns)

    monkeypatch.setattr(Outcomes, "acked_many", noting)
    rides = 600
    opts = ProduceOptions(
        topic=new_topic("staged-run"),
        rides=rides,
        settings=ClientSettings(kafka_bootstrap, {}),
        partitions=PARTITIONS,
        seed=5,
        client=ClientName.JAVA,
        stage_budget_bytes=200_000,
    )
    result = run_produce(opts)
    total = rides * LIFECYCLE_LENGTH
    assert 0 < len(staged) < total
    assert staged + streamed == list(range(total))
    assert result.sent == result.acked == total and not result.failed
    assert not result.interrupted and result.aborted is None
    # The latencies reported are the JVM's, one per acknowledgement.
    assert sorted(result.latencies_ms) == sorted(ns / 1e6 for ns in measured)
    assert len(measured) == total
    # Each ride's events on one partition, in their order.
    by_ride: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for a in result.acks:
        by_ride[a.ride_id].append((a.offset, a.partition, a.seq))
    assert len(by_ride) == rides
    for events in by_ride.values():
        events.sort()
        assert len({p for _, p, _ in events}) == 1
        assert [s for _, _, s in events] == list(range(1, LIFECYCLE_LENGTH + 1))


def test_an_interrupt_while_held_records_go_out_stops_them_and_counts_only_those_sent(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    # Every produce request waits 40 ms in the proxy, one at a time, with 1 MiB of buffer:
    # the JVM drains at most about 2 MB/s and holds about 7 MB, so it is still sending (its
    # send() waiting for buffer room) when the interrupt comes at the first progress report,
    # a quarter of a second in, however fast the machine.
    settings = {
        "max.in.flight.requests.per.connection": "1",
        "buffer.memory": "1048576",
        "batch.size": "16384",
    }
    reports: list[tuple[int, int]] = []
    interrupted = threading.Event()

    def progress(sent: int, acked: int) -> None:
        reports.append((sent, acked))
        if not interrupted.is_set():
            interrupted.set()
            raise KeyboardInterrupt

    rides = 5_000
    topic = make_topic(kafka_bootstrap, new_topic("staged-sigint"), PARTITIONS)
    with FaultProxy(kafka_bootstrap, [parse_fault_spec("delay:ms=40")]) as proxy:
        opts = ProduceOptions(
            topic=topic,
            rides=rides,
            settings=ClientSettings(proxy.bootstrap, settings),
            partitions=PARTITIONS,
            seed=7,
            padding=200,
            client=ClientName.JAVA,
            progress=progress,
        )
        result = run_produce(opts)
    total = rides * LIFECYCLE_LENGTH
    assert result.interrupted and interrupted.is_set()
    # The first report came at the first wait for the held records; the progress shown
    # never claimed more sent than had an outcome then.
    assert reports[0][0] == reports[0][1] < total
    # The JVM stopped sending held records: far from all went out, and every one counted
    # sent has an outcome (acknowledged, or failed as the producer closed).
    assert result.sent == result.acked + result.failed < total
    # The one waiting for buffer room fails with KafkaException as the producer closes; one
    # the held records' thread hands to send() just as it closes fails with
    # IllegalStateException (the thread checks the stop between two records, not inside
    # send()). Every failure is one of those two.
    assert set(result.errors) <= {"KafkaException", "IllegalStateException"}, result.errors
    # No progress report claimed more sent than finally were, nor fewer than acknowledged.
    assert all(acked <= sent <= result.sent for sent, acked in reports), reports
    assert len({(a.ride_id, a.seq) for a in result.acks}) == result.acked
