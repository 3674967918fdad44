"""The Java client (RideClient.java in its own JVM) behind the client seam.

Settings translation is checked alone; everything the Java client does is checked on the
real broker."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from client_helpers import Recorder, assert_mixed_records_read_back, make_topic, poll_until
from silent_broker import silent_broker

from ridectl.clients import java
from ridectl.clients.base import ClientName
from ridectl.clients.factory import make_producer
from ridectl.clients.java import JavaProducer, java_settings
from ridectl.clients.java_consumer import JavaConsumer
from ridectl.clients.partitioners import partition_for
from ridectl.clients.settings import ClientSettings
from ridectl.errors import RidectlError, UsageError
from ridectl.faults.proxy import FaultProxy
from ridectl.faults.spec import parse_fault_spec

# ------------------------------------------------------------------ settings (no broker)


def test_settings_pass_through_by_java_name_and_foreign_ones_are_translated_or_refused() -> None:
    props = java_settings(
        {
            "linger.ms": "3",
            "group.id": "g",
            "key.serializer": "x",
            "ssl.ca.location": __file__,
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": "ann",
            "sasl.password": 'p"w',
        },
        "producer",
    )
    assert props["linger.ms"] == "3" and "group.id" not in props and "key.serializer" not in props
    assert props["ssl.truststore.location"] == __file__
    assert props["ssl.truststore.type"] == "PEM"
    assert props["sasl.jaas.config"] == (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        'username="ann" password="p\\"w";'
    )
    with pytest.raises(UsageError) as err:
        java_settings({"bootstrap.timeout.ms": "10"}, "producer")
    assert str(err.value).startswith("the Java client has no setting bootstrap.timeout.ms")


# ------------------------------------------------------------------ on the broker


@pytest.mark.kafka
def test_keyed_records_land_where_murmur2_predicts_and_settings_are_read_back(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = make_topic(kafka_bootstrap, new_topic("java"), 6)
    rec = Recorder()
    producer = JavaProducer(ClientSettings(kafka_bootstrap, {"linger.ms": "0"}), topic, rec)
    try:
        assert producer.client is ClientName.JAVA
        shown = producer.settings_in_force()
        assert shown["enable.idempotence"] == "true"
        assert shown["max.in.flight.requests.per.connection"] == "5"
        assert shown["acks"] == "all" and shown["linger.ms"] == "0"
        assert shown["partitioner.class"] == "built-in"
        assert producer.changed_by_client() == []
        assert producer.partitions_for(topic) == 6
        keys = [f"ride-{i % 37}".encode() for i in range(600)]
        for i, key in enumerate(keys):
            producer.send(i, key, b"event %d" % i, None)
        assert producer.flush(60)
    finally:
        producer.close(10)
    assert sorted(d.index for d in rec.deliveries) == list(range(600))
    assert all(d.ok for d in rec.deliveries)
    for d in rec.deliveries:
        assert d.partition == partition_for("murmur2", keys[d.index], 6)
    assert max(Counter((d.partition, d.offset) for d in rec.deliveries).values()) == 1


@pytest.mark.kafka
def test_java_turns_idempotence_off_by_itself_for_acks_1(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    producer = JavaProducer(
        ClientSettings(kafka_bootstrap, {"acks": "1"}), new_topic("java"), Recorder()
    )
    try:
        assert producer.settings_in_force()["enable.idempotence"] == "false"
        (note,) = producer.changed_by_client()
        assert "idempotence OFF" in note and "acks=1" in note
    finally:
        producer.close(10)


@pytest.mark.kafka
def test_consumer_reads_back_with_positions_and_end_offsets(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = make_topic(kafka_bootstrap, new_topic("java"), 3)
    rec = Recorder()
    producer = JavaProducer(ClientSettings(kafka_bootstrap, {}), topic, rec)
    try:
        for i in range(90):
            producer.send(i, None if i % 2 else b"k%d" % i, b"v%d" % i, i % 3)
        assert producer.flush(60)
    finally:
        producer.close(10)
    consumer = JavaConsumer(ClientSettings(kafka_bootstrap))
    try:
        assert consumer.settings_in_force()["isolation.level"] == "read_uncommitted"
        consumer.assign(topic, [0, 1, 2], from_beginning=True)
        assert consumer.end_offsets(topic, [0, 1, 2]) == {0: 30, 1: 30, 2: 30}
        read = poll_until(consumer, 90)
        assert sorted({r.value for r in read}) == sorted(b"v%d" % i for i in range(90))
        assert_mixed_records_read_back(read)
        assert consumer.position(topic, 0) == 30
    finally:
        consumer.close()


@pytest.mark.kafka
@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"acks": "sometimes"}, "java client (producer): ConfigException: Invalid value"),
        ({"batch.num.messages": "1"}, "ConfigException: the Java client has no setting"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_java_client(
    kafka_bootstrap: str, settings: dict[str, str], expected: str
) -> None:
    with pytest.raises(RidectlError) as err:
        JavaProducer(ClientSettings(kafka_bootstrap, settings), "t", Recorder())
    text = str(err.value)
    assert expected in text and text.startswith("java client (producer):"), text
    assert "\n" not in text and err.value.code == 2


@pytest.mark.kafka
def test_too_large_records_fail_alone_with_the_java_exception(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = make_topic(kafka_bootstrap, new_topic("java"), 1, **{"max.message.bytes": "2000"})
    rec = Recorder()
    producer = JavaProducer(
        ClientSettings(kafka_bootstrap, {"max.request.size": "50000"}), topic, rec
    )
    try:
        for index, value in enumerate([b"small", b"x" * 10_000, b"y" * 60_000]):
            producer.send(index, b"k", value, None)  # 1: the broker's limit, 2: the client's
            assert producer.flush(60)
    finally:
        producer.close(10)
    by_index = {d.index: d for d in rec.deliveries}
    assert len(rec.deliveries) == 3 and by_index[0].ok
    assert by_index[1].error == "RecordTooLargeException"
    assert by_index[2].error == "RecordTooLargeException"
    assert "60" in by_index[2].message and "max.request.size" in by_index[2].message
    line = str(java.describe_failure(by_index[1]))
    assert line.startswith("java client (producer): record 1: RecordTooLargeException:")
    assert "max.message.bytes" in line and "\n" not in line


@pytest.fixture
def silent_server() -> Iterator[str]:
    with silent_broker() as address:
        yield address


def test_close_on_a_stuck_producer_ends_the_jvm(
    silent_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(java, "GRACE_S", 1.0)
    producer = JavaProducer(ClientSettings(silent_server, {}), "stuck", Recorder())
    producer.send(0, b"k", b"v", None)  # the JVM now waits for metadata that never comes
    assert not producer.flush(0.5)
    producer.close(1.0)
    assert producer._proc.exited()


def test_a_jvm_that_dies_is_one_line_naming_the_java_client(silent_server: str) -> None:
    producer = JavaProducer(ClientSettings(silent_server, {}), "gone", Recorder())
    try:
        producer._proc._proc.kill()
        producer._proc._proc.wait(30)
        with pytest.raises(RidectlError) as err:
            for i in range(100):  # the pipe may take a few lines before it reports the end
                producer.send(i, b"k", b"v" * 1000, None)
            producer.flush(5)
        text = str(err.value)
        assert text.startswith("java client (producer): the JVM exited with code -9"), text
        assert "\n" not in text
    finally:
        producer.close(1.0)


@pytest.mark.kafka
def test_retries_through_the_fault_proxy_are_counted_and_every_record_lands(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = make_topic(kafka_bootstrap, new_topic("java"), 2)
    rec = Recorder()
    # Idempotence off: a new idempotent producer whose first batches fail can stall (issue 15).
    asked = {"linger.ms": "0", "retry.backoff.ms": "10", "enable.idempotence": "false"}
    with FaultProxy(kafka_bootstrap, [parse_fault_spec("error:first=2")]) as proxy:
        producer = JavaProducer(
            ClientSettings(kafka_bootstrap, asked),
            topic,
            rec,
            bootstrap=proxy.bootstrap,
            partitioner="crc32",
        )
        try:
            keys = [b"k%d" % i for i in range(50)]
            for i, key in enumerate(keys):
                producer.send(i, key, b"v%d" % i, None)
            assert producer.flush(60)
            retried = producer.retried_batches()
        finally:
            producer.close(10)
        assert proxy.stats().faults_injected.get("error") == 2
    assert retried >= 2
    assert sorted(d.index for d in rec.deliveries) == list(range(50))
    assert all(d.ok for d in rec.deliveries)
    # partitioner="crc32": the Java client places keys as librdkafka would
    assert all(d.partition == partition_for("crc32", keys[d.index], 2) for d in rec.deliveries)


def test_the_factory_serves_the_java_client(silent_server: str) -> None:
    producer = make_producer(ClientName.JAVA, ClientSettings(silent_server, {}), "t", Recorder())
    try:
        assert isinstance(producer, JavaProducer)
    finally:
        producer.close(1.0)
