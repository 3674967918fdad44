"""Records handed over in blocks (``BlockProducer.send_block``), the path a run built ahead takes
with the Java client and librdkafka: on the real broker every record of every block is reported
once, by its own index, at the partition and offset where the broker holds exactly its key and
value; keyless, keyed, empty and mixed blocks alike, acknowledgements taken one by one or as
batches (the Java client's columns), and a record refused inside a block fails alone."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from client_helpers import BatchRecorder, Recorder, make_topic, poll_until

from ridectl.clients.base import ClientName, ProducerClient
from ridectl.clients.factory import make_consumer, make_producer
from ridectl.clients.partitioners import partition_for
from ridectl.clients.settings import ClientSettings

pytestmark = pytest.mark.kafka

PARTITIONS = 4
#: each client's own hash for keyed records with no partitioner named
HASH = {ClientName.JAVA: "murmur2", ClientName.LIBRDKAFKA: "crc32"}


def _blocks() -> list[tuple[list[bytes | None], list[bytes]]]:
    """Keyed, keyless, mixed (no key, an empty key), empty values, one record, none."""
    keyed: list[bytes | None] = [b"ride-%d" % (i % 11) for i in range(300)]
    keyless: list[bytes | None] = [None] * 250
    mixed: list[bytes | None] = [
        None if i % 3 == 0 else b"" if i % 3 == 1 else b"k%d" % i for i in range(90)
    ]
    blocks = [
        (keyed, [b"keyed %d " % i + b"x" * (i % 50) for i in range(300)]),
        (keyless, [b"keyless %d" % i for i in range(250)]),
        (mixed, [b"" if i % 7 == 0 else b"mixed %d" % i for i in range(90)]),
        ([b"one"], [b"single"]),
        ([], []),
    ]
    return blocks


def _send_blocks(
    producer: ProducerClient, blocks: list[tuple[list[bytes | None], list[bytes]]]
) -> list[tuple[bytes | None, bytes]]:
    sent: list[tuple[bytes | None, bytes]] = []
    send_block = producer.send_block  # type: ignore[attr-defined]
    for keys, values in blocks:
        send_block(len(sent), keys, values)
        sent += zip(keys, values, strict=True)
    return sent


@pytest.mark.parametrize("client", [ClientName.JAVA, ClientName.LIBRDKAFKA])
@pytest.mark.parametrize("sink", [Recorder, BatchRecorder], ids=["one-by-one", "batches"])
def test_every_record_of_every_block_lands_once_where_it_is_reported(
    client: ClientName,
    sink: Callable[[], Recorder],
    kafka_bootstrap: str,
    new_topic: Callable[[str], str],
) -> None:
    topic = make_topic(kafka_bootstrap, new_topic("blocks"), PARTITIONS)
    settings = ClientSettings(kafka_bootstrap, {"linger.ms": "0"})
    rec = sink()
    producer = make_producer(client, settings, topic, rec)
    try:
        assert producer.partitions_for(topic) == PARTITIONS
        sent = _send_blocks(producer, _blocks())
        assert producer.flush(60)
    finally:
        producer.close(10)
    assert sorted(d.index for d in rec.deliveries) == list(range(len(sent)))
    assert all(d.ok for d in rec.deliveries), [d for d in rec.deliveries if not d.ok][:3]
    if isinstance(rec, BatchRecorder) and client is ClientName.JAVA:
        # Acknowledgements came as columns, several records a call.
        assert 0 < rec.batches < len(sent)
    for d in rec.deliveries:
        key = sent[d.index][0]
        if key:  # a null or empty key is spread by the client's own rule
            assert d.partition == partition_for(HASH[client], key, PARTITIONS), d
    # What the broker holds at each reported place is exactly that index's key and value.
    consumer = make_consumer(client, settings, group=None, doing="reading")
    try:
        consumer.assign(topic, list(range(PARTITIONS)), True)
        read = poll_until(consumer, len(sent))
    finally:
        consumer.close()
    held = {(r.partition, r.offset): (r.key, r.value or b"") for r in read}
    assert len(held) == len(sent)
    for d in rec.deliveries:
        key, value = sent[d.index]
        got_key, got_value = held[(d.partition, d.offset)]
        # librdkafka reads an empty key back as no key
        assert (got_key or None, got_value) == (key or None, value), d


@pytest.mark.parametrize("client", [ClientName.JAVA, ClientName.LIBRDKAFKA])
def test_a_record_refused_inside_a_block_fails_alone(
    client: ClientName, kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = make_topic(kafka_bootstrap, new_topic("blocks"), 1)
    # librdkafka knows it as message.max.bytes (ridectl translates the name)
    settings = ClientSettings(kafka_bootstrap, {"max.request.size": "20000", "linger.ms": "0"})
    rec = Recorder()
    producer = make_producer(client, settings, topic, rec)
    values = [b"v%d" % i for i in range(20)]
    values[7] = b"z" * 40_000
    try:
        producer.send_block(0, [b"k"] * 20, values)  # type: ignore[attr-defined]
        assert producer.flush(60)
    finally:
        producer.close(10)
    by_index = {d.index: d for d in rec.deliveries}
    assert sorted(by_index) == list(range(20))
    assert not by_index[7].ok and by_index[7].partition == -1
    assert all(by_index[i].ok for i in range(20) if i != 7)
    # The others keep their order on the one partition.
    offsets = [by_index[i].offset for i in range(20) if i != 7]
    assert offsets == sorted(offsets)
