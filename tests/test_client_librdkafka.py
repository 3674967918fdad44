"""The librdkafka driver (confluent-kafka) behind the client seam.

Settings translation and read-back are checked without a broker (they are librdkafka's own
computation); placement, deliveries, errors and reading back are checked on the real broker."""

from __future__ import annotations

import gc
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from client_helpers import Recorder, assert_mixed_records_read_back, make_topic, poll_until
from confluent_kafka import TIMESTAMP_CREATE_TIME, KafkaError, Message, Producer, TopicPartition
from silent_broker import silent_broker

from ridectl.clients.base import ClientName
from ridectl.clients.factory import make_consumer, make_producer
from ridectl.clients.librdkafka import LibrdkafkaProducer, describe_failure
from ridectl.clients.librdkafka_consumer import LibrdkafkaConsumer
from ridectl.clients.partitioners import partition_for
from ridectl.clients.rdkafka_callbacks import weakly
from ridectl.clients.rdkafka_conf import settings_in_force, translate
from ridectl.clients.settings import ClientSettings
from ridectl.errors import RidectlError, UsageError
from ridectl.faults.proxy import FaultProxy
from ridectl.faults.spec import parse_fault_spec

# ------------------------------------------------------------------ settings (no broker)


def test_java_names_translate_and_unknown_ones_are_refused() -> None:
    conf = translate(
        {"max.request.size": "5000", "linger.ms": "3", "group.id": "g", "key.serializer": "x"},
        "producer",
    )
    assert conf == {"message.max.bytes": "5000", "linger.ms": "3"}
    with pytest.raises(UsageError) as err:
        translate({"max.block.ms": "10"}, "producer")
    assert str(err.value).startswith("librdkafka has no setting max.block.ms")


def test_read_back_shows_librdkafka_defaults_and_its_own_adjustments() -> None:
    plain = settings_in_force({}, "producer")
    assert plain["enable.idempotence"] == "false"
    assert plain["max.in.flight.requests.per.connection"] == "1000000"
    assert plain["partitioner"] == "consistent_random"
    # librdkafka lowers the in-flight limit by itself when idempotence is on
    idem = settings_in_force({"enable.idempotence": "true"}, "producer")
    assert idem["max.in.flight.requests.per.connection"] == "5"
    # and derives the keyless sticky interval from linger.ms when it is not given
    lingering = settings_in_force({"linger.ms": "7"}, "producer")
    assert lingering["linger.ms"] == "7"
    assert lingering["sticky.partitioning.linger.ms"] == "14"
    assert settings_in_force({}, "consumer")["isolation.level"] == "read_committed"


# ------------------------------------------------------------------ on the broker


@pytest.mark.kafka
def test_keyed_records_land_where_crc32_predicts_and_each_is_reported_once(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = make_topic(kafka_bootstrap, new_topic("rdk"), 6)
    rec = Recorder()
    producer = LibrdkafkaProducer(ClientSettings(kafka_bootstrap, {"linger.ms": "0"}), topic, rec)
    assert producer.client is ClientName.LIBRDKAFKA
    keys = [f"ride-{i % 37}".encode() for i in range(600)]
    for i, key in enumerate(keys):
        producer.send(i, key, b"event %d" % i, None)
    assert producer.flush(30)
    producer.close(5)
    assert sorted(d.index for d in rec.deliveries) == list(range(600))
    assert all(d.ok for d in rec.deliveries)
    for d in rec.deliveries:
        assert d.partition == partition_for("crc32", keys[d.index], 6)
    offsets = Counter((d.partition, d.offset) for d in rec.deliveries)
    assert max(offsets.values()) == 1


@pytest.mark.kafka
def test_consumer_reads_back_with_positions_and_end_offsets(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = make_topic(kafka_bootstrap, new_topic("rdk"), 3)
    rec = Recorder()
    producer = LibrdkafkaProducer(ClientSettings(kafka_bootstrap, {}), topic, rec)
    assert producer.partitions_for(topic) == 3
    for i in range(90):
        producer.send(i, None if i % 2 else b"k%d" % i, b"v%d" % i, i % 3)
    assert producer.flush(30)
    producer.close(5)
    consumer = LibrdkafkaConsumer(ClientSettings(kafka_bootstrap))
    try:
        assert consumer.settings_in_force()["isolation.level"] == "read_committed"
        consumer.assign(topic, [0, 1, 2], from_beginning=True)
        assert consumer.end_offsets(topic, [0, 1, 2]) == {0: 30, 1: 30, 2: 30}
        read = poll_until(consumer, 90)
        assert sorted(r.value for r in read if r.value) == sorted(b"v%d" % i for i in range(90))
        assert_mixed_records_read_back(read)
        assert consumer.position(topic, 0) == 30
    finally:
        consumer.close()


@pytest.mark.kafka
def test_a_full_fetch_queue_pauses_fetching_briefly_not_for_librdkafkas_second(
    kafka_bootstrap: str, new_topic: Callable[[str], str], caplog: pytest.LogCaptureFixture
) -> None:
    """Past queued.min.messages queued records, librdkafka stops fetching a partition for
    fetch.queue.backoff.ms (1 s by default). Our consumer pauses 20 ms; a user's value wins.
    A threshold of 200 records makes the queue overflow on a 3,000-record read.

    librdkafka decides on the next fetch right after it has queued a fetch's records; a
    consumer already waiting in poll can empty the queue before that, and then there is no
    backoff to see. So nothing is polled until the first fetch is in (its high watermark is
    cached) and the fetcher has had time to decide on a full queue, several times for 20 ms."""
    import logging

    topic = make_topic(kafka_bootstrap, new_topic("rdkbackoff"), 1)
    producer = LibrdkafkaProducer(ClientSettings(kafka_bootstrap, {}), topic, Recorder())
    for i in range(3000):
        producer.send(i, None, b"x" * 100, 0)
    assert producer.flush(30)
    producer.close(5)
    caplog.set_level(logging.DEBUG, logger="ridectl.librdkafka")
    backoffs: dict[str, list[str]] = {}
    for name, extra in (("ours", {}), ("user's", {"fetch.queue.backoff.ms": "300"})):
        caplog.clear()
        values = {"queued.min.messages": "200", "debug": "fetch", **extra}
        consumer = LibrdkafkaConsumer(ClientSettings(kafka_bootstrap, values))
        try:
            consumer.assign(topic, [0], from_beginning=True)
            _await_first_fetch(consumer, topic)
            time.sleep(0.5)
            assert len(poll_until(consumer, 3000)) == 3000
        finally:
            consumer.close()
        backoffs[name] = [
            r.getMessage().split("Fetch backoff for ")[1].split(":")[0]
            for r in caplog.records
            if "Fetch backoff for " in r.getMessage() and "Queue full" in r.getMessage()
        ]
    assert backoffs["ours"] and set(backoffs["ours"]) == {"20ms"}, backoffs
    assert backoffs["user's"] and set(backoffs["user's"]) == {"300ms"}, backoffs


def _await_first_fetch(consumer: LibrdkafkaConsumer, topic: str) -> None:
    """Waits (30 s at most) until a fetch response for partition 0 has arrived: librdkafka
    caches the high watermark it carries, readable without polling."""
    partition = TopicPartition(topic, 0)
    deadline = time.monotonic() + 30
    while consumer._consumer.get_watermark_offsets(partition, cached=True)[1] < 0:
        assert time.monotonic() < deadline, "no fetch response within 30 s"
        time.sleep(0.01)


@pytest.mark.kafka
def test_reading_a_run_in_columns_gives_the_history_a_per_record_read_gives(
    kafka_bootstrap: str, new_topic: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """librdkafka and kafka-python hand ``consume`` their records as columns; two runs and
    foreign records (a tombstone, text, another schema) on one topic make it fall back record
    by record in some batches. The history must be the one a per-record read makes
    (kafka-python's, its columns taken away)."""
    from ridectl.clients.settings import build_settings
    from ridectl.run.consume import ConsumeOptions, consume
    from ridectl.run.options import ProduceOptions
    from ridectl.run.produce import run_produce

    topic = make_topic(kafka_bootstrap, new_topic("rdkcols"), 3)
    settings = build_settings(kafka_bootstrap, None, [])
    first = run_produce(ProduceOptions(topic=topic, rides=40, settings=settings, seed=3))
    producer = LibrdkafkaProducer(ClientSettings(kafka_bootstrap, {}), topic, Recorder())
    for i, value in enumerate([b"", b"plain text", b'{"schema":"other/1"}']):
        producer.send(i, b"k", value, i % 3)
    assert producer.flush(30)
    producer.close(5)
    second = run_produce(
        ProduceOptions(
            topic=topic, rides=40, settings=settings, seed=4, client=ClientName.LIBRDKAFKA
        )
    )
    assert first.acked == second.acked == 200
    read = {
        client: consume(ConsumeOptions(topic=topic, settings=settings, client=client))
        for client in (ClientName.KAFKA_PYTHON, ClientName.LIBRDKAFKA)
    }
    # Without a columnar client (isinstance of an empty tuple is never true), consume()
    # reads record by record.
    monkeypatch.setattr("ridectl.run.consume.ColumnarConsumer", ())
    per_record = consume(
        ConsumeOptions(topic=topic, settings=settings, client=ClientName.KAFKA_PYTHON)
    )
    theirs = per_record[0]
    for history, stats in read.values():
        assert history.run_id == second.run_id and stats.records == 403
        assert history.foreign == theirs.foreign == 203
        # Processing positions follow each client's fetch order; the (partition, offset) of
        # every event, and the per-partition order, are the log's.
        place = {(o.ride_id, o.seq): (o.partition, o.offset) for o in history.observations}
        assert place == {(o.ride_id, o.seq): (o.partition, o.offset) for o in theirs.observations}
        assert place == {(a.ride_id, a.seq): (a.partition, a.offset) for a in second.acks}
        positions = [o.position for o in history.observations]
        assert positions == list(range(positions[0], positions[0] + 200))
        for p in range(3):
            offsets = [o.offset for o in history.observations if o.partition == p]
            assert offsets == sorted(offsets)
    # kafka-python hands its partitions over in the same order either way: the same history.
    assert read[ClientName.KAFKA_PYTHON][0].observations == theirs.observations


@pytest.mark.kafka
def test_a_bad_setting_is_one_line_naming_librdkafka(kafka_bootstrap: str) -> None:
    for settings in ({"partitioner": "nope"}, {"no.such.setting": "1"}):
        with pytest.raises(RidectlError) as err:
            LibrdkafkaProducer(ClientSettings(kafka_bootstrap, settings), "t", Recorder())
        text = str(err.value)
        assert text.startswith("librdkafka refused the producer settings:"), text
        assert "\n" not in text and err.value.code == 2


@pytest.mark.kafka
def test_too_large_records_fail_alone_with_librdkafkas_error(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    # The topic accepts at most 2000 bytes per batch: the broker refuses the big record.
    topic = make_topic(kafka_bootstrap, new_topic("rdk"), 1, **{"max.message.bytes": "2000"})
    rec = Recorder()
    producer = LibrdkafkaProducer(
        ClientSettings(kafka_bootstrap, {"max.request.size": "50000"}), topic, rec
    )
    # One at a time: librdkafka would put records sent together in one batch, and the broker
    # refuses a batch as a whole (the small record would fail with its big neighbour).
    for index, value in enumerate([b"small", b"x" * 10_000, b"y" * 60_000]):
        producer.send(index, b"k", value, None)  # 1: the broker's limit, 2: the client's
        assert producer.flush(30)
    producer.close(5)
    by_index = {d.index: d for d in rec.deliveries}
    assert len(rec.deliveries) == 3
    assert by_index[0].ok
    assert by_index[1].error == "MSG_SIZE_TOO_LARGE"
    assert by_index[2].error == "MSG_SIZE_TOO_LARGE"
    for d in (by_index[1], by_index[2]):
        assert d.partition == -1 and d.message and "\n" not in d.message
    line = str(describe_failure(by_index[1]))
    assert line.startswith("librdkafka producer: record 1: MSG_SIZE_TOO_LARGE:")
    assert "max.message.bytes" in line and "\n" not in line


@pytest.fixture
def silent_server() -> Iterator[str]:
    with silent_broker() as address:
        yield address


def test_close_on_a_stuck_producer_returns_and_reports_every_record(silent_server: str) -> None:
    rec = Recorder()
    producer = LibrdkafkaProducer(ClientSettings(silent_server, {}), "stuck", rec)
    for i in range(20):
        producer.send(i, b"k", b"v", None)
    assert not producer.flush(0.5)
    producer.close(1.0)
    assert sorted(d.index for d in rec.deliveries) == list(range(20))
    assert all(d.error is not None and d.error.startswith("_PURGE") for d in rec.deliveries)


@pytest.mark.kafka
def test_retries_through_the_fault_proxy_are_counted_and_every_record_lands(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = make_topic(kafka_bootstrap, new_topic("rdk"), 2)
    rec = Recorder()
    settings = ClientSettings(kafka_bootstrap, {"linger.ms": "0", "retry.backoff.ms": "10"})
    with FaultProxy(kafka_bootstrap, [parse_fault_spec("error:first=2")]) as proxy:
        producer = LibrdkafkaProducer(settings, topic, rec, bootstrap=proxy.bootstrap)
        try:
            for i in range(50):
                producer.send(i, b"k%d" % i, b"v%d" % i, None)
            assert producer.flush(60)
            retried = producer.retried_batches()
        finally:
            producer.close(5)
        assert proxy.stats().faults_injected.get("error") == 2
    assert retried >= 2
    assert sorted(d.index for d in rec.deliveries) == list(range(50))
    assert all(d.ok for d in rec.deliveries)


@pytest.mark.kafka
def test_placing_keys_like_another_client(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = make_topic(kafka_bootstrap, new_topic("rdk"), 5)
    keys = [f"ride-{i}".encode() for i in range(60)]
    for name in ("murmur2", "fnv1a"):  # librdkafka's own murmur2_random; fnv1a by ridectl
        rec = Recorder()
        settings = ClientSettings(kafka_bootstrap, {})
        producer = LibrdkafkaProducer(settings, topic, rec, partitioner=name)
        for i, key in enumerate(keys):
            producer.send(i, key, b"v", None)
        assert producer.flush(30)
        producer.close(5)
        assert {d.index: d.partition for d in rec.deliveries} == {
            i: partition_for(name, key, 5) for i, key in enumerate(keys)
        }


def test_the_factory_serves_librdkafka(silent_server: str) -> None:
    settings = ClientSettings(silent_server, {})
    producer = make_producer(ClientName.LIBRDKAFKA, settings, "t", Recorder())
    assert isinstance(producer, LibrdkafkaProducer)
    producer.close(0)
    consumer = make_consumer(ClientName.LIBRDKAFKA, settings, group="g", doing="testing")
    assert isinstance(consumer, LibrdkafkaConsumer)
    assert consumer.settings_in_force()["enable.auto.commit"] == "false"
    consumer.close()


def test_weakly_calls_through_without_keeping_the_owner_alive() -> None:
    class Owner:
        def __init__(self) -> None:
            self.seen: list[str] = []

        def note(self, text: str) -> None:
            self.seen.append(text)

    owner = Owner()
    call = weakly(owner.note)
    call("a")
    assert owner.seen == ["a"]
    gone = weakref.ref(owner)
    del owner
    assert gone() is None  # freed by reference counting: the wrapper held it weakly
    call("b")  # after the owner is gone: nothing happens, nothing raised


def test_a_closed_producer_is_freed_without_the_cyclic_collector(silent_server: str) -> None:
    rec = Recorder()
    was_enabled = gc.isenabled()
    gc.disable()  # only reference counting may free it
    try:
        producer = LibrdkafkaProducer(ClientSettings(silent_server, {}), "stuck", rec)
        producer.send(0, None, b"v", None)
        producer.close(0.5)
        producer._poller.join(30)  # its polling thread holds it until it has stopped
        gone = weakref.ref(producer)
        del producer
        assert gone() is None
    finally:
        if was_enabled:
            gc.enable()
    assert [d.index for d in rec.deliveries] == [0]  # its record was still reported


@pytest.mark.kafka
def test_delivery_reports_carry_the_create_time_taken_when_the_record_is_produced(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    # The bench's bare librdkafka loop measures a record's latency from this timestamp.
    topic = make_topic(kafka_bootstrap, new_topic("rdk"), 1)
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "linger.ms": "0"})
    producer.list_topics(topic, timeout=10)
    stamps: list[tuple[int, int]] = []

    def on_ack(err: KafkaError | None, msg: Message) -> None:
        assert err is None
        stamps.append(msg.timestamp())

    windows = []
    for _ in range(5):
        before = time.time() * 1000.0
        producer.produce(topic, b"v", None, on_delivery=on_ack)
        windows.append((before, time.time() * 1000.0))
        time.sleep(0.02)
    assert producer.flush(30) == 0
    assert len(stamps) == 5
    for (kind, ms), (before, after) in zip(stamps, windows, strict=True):
        assert kind == TIMESTAMP_CREATE_TIME
        assert int(before) <= ms <= after  # in milliseconds, taken inside produce()
