"""The Java consumer's read-ahead (RideConsumer.java), on the real broker.

Once the end offsets are known, the JVM runs the next poll while ridectl handles the last one's
records. These tests read with small polls (many of them, so a poll is held ahead while the
test acts) and check what must stay true: a commit covers only records handed over, an
assignment puts held records back, and a bounded read's last poll leaves no poll running
(nothing was sent for ahead of the caller, and its commit is answered, though every poll
here may wait minutes for records)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from client_helpers import Recorder, make_topic

from ridectl.clients.base import ClientName, ConsumedRecord
from ridectl.clients.factory import make_producer
from ridectl.clients.java_consumer import JavaConsumer
from ridectl.clients.settings import ClientSettings

pytestmark = pytest.mark.kafka

PER_PARTITION = 600
PARTITIONS = [0, 1]
#: Small polls: a read of the topic takes a dozen of them.
SMALL_POLLS = {"max.poll.records": "100"}
#: Longer than any wait of the test: a poll left running at the end would hold up the commit
#: past its own 60 s bound (JavaConsumer._ask), and the test would fail.
LONG_POLL_S = 300.0


def _write(bootstrap: str, topic: str) -> None:
    rec = Recorder()
    producer = make_producer(ClientName.KAFKA_PYTHON, ClientSettings(bootstrap, {}), topic, rec)
    try:
        for p in PARTITIONS:
            for i in range(PER_PARTITION):
                producer.send(i, None, b"%d-%d" % (p, i), p)
        assert producer.flush(60)
    finally:
        producer.close(10)
    assert len(rec.deliveries) == PER_PARTITION * len(PARTITIONS)


def _reader(bootstrap: str, group: str | None) -> JavaConsumer:
    return JavaConsumer(ClientSettings(bootstrap, dict(SMALL_POLLS)), group=group)


def _read(consumer: JavaConsumer, at_least: int) -> list[ConsumedRecord]:
    read: list[ConsumedRecord] = []
    for _ in range(200):
        read += consumer.poll(10.0)
        if len(read) >= at_least:
            break
    return read


def _ends_of(read: list[ConsumedRecord]) -> dict[int, int]:
    """The offset after the last record read of each partition (0: none read)."""
    return {p: max((r.offset + 1 for r in read if r.partition == p), default=0) for p in PARTITIONS}


def _assert_every_record_once(*reads: list[ConsumedRecord]) -> None:
    seen = [(r.partition, r.offset) for read in reads for r in read]
    assert sorted(seen) == [(p, o) for p in PARTITIONS for o in range(PER_PARTITION)]


def test_a_group_commit_covers_only_the_records_handed_over(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = make_topic(kafka_bootstrap, new_topic("java-ahead-commit"), len(PARTITIONS))
    _write(kafka_bootstrap, topic)
    group = f"{topic}-group"
    first = _reader(kafka_bootstrap, group)
    try:
        first.end_offsets(topic, PARTITIONS)
        first.assign(topic, PARTITIONS, from_beginning=False)
        read = _read(first, 300)  # far from the end: the next poll runs ahead
        assert 300 <= len(read) < PER_PARTITION * len(PARTITIONS)
        handed = _ends_of(read)
        assert {p: first.position(topic, p) for p in PARTITIONS} == handed
        # The JVM's own answer (N), not the positions the last poll's reply carried.
        first._positions.clear()
        assert {p: first.position(topic, p) for p in PARTITIONS} == handed
        first.commit()
    finally:
        first.close()
    second = _reader(kafka_bootstrap, group)
    try:
        second.end_offsets(topic, PARTITIONS)
        second.assign(topic, PARTITIONS, from_beginning=False)
        assert {p: second.position(topic, p) for p in PARTITIONS} == handed
        rest = _read(second, PER_PARTITION * len(PARTITIONS) - len(read))
    finally:
        second.close()
    _assert_every_record_once(read, rest)


def test_assigning_again_puts_back_the_records_read_ahead(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = make_topic(kafka_bootstrap, new_topic("java-ahead-assign"), len(PARTITIONS))
    _write(kafka_bootstrap, topic)
    # A group with nothing committed: assigned again, the partitions keep their positions.
    consumer = _reader(kafka_bootstrap, f"{topic}-group")
    try:
        consumer.end_offsets(topic, PARTITIONS)
        consumer.assign(topic, PARTITIONS, from_beginning=False)
        read = _read(consumer, 300)
        consumer.assign(topic, PARTITIONS, from_beginning=False)
        assert {p: consumer.position(topic, p) for p in PARTITIONS} == _ends_of(read)
        rest = _read(consumer, PER_PARTITION * len(PARTITIONS) - len(read))
    finally:
        consumer.close()
    _assert_every_record_once(read, rest)


def test_a_bounded_read_leaves_no_poll_running_at_its_end(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = make_topic(kafka_bootstrap, new_topic("java-ahead-end"), len(PARTITIONS))
    _write(kafka_bootstrap, topic)
    group = f"{topic}-group"
    consumer = _reader(kafka_bootstrap, group)
    try:
        ends = consumer.end_offsets(topic, PARTITIONS)
        consumer.assign(topic, PARTITIONS, from_beginning=False)
        read: list[ConsumedRecord] = []
        # As consume() reads: until every position has reached its end offset.
        while any(consumer.position(topic, p) != ends[p] for p in PARTITIONS):
            read += consumer.poll(LONG_POLL_S)
        # Nothing sent for ahead of the caller once the ends are reached (a poll sent would
        # hold up the next command until it found records or LONG_POLL_S passed).
        assert consumer._ahead_s is None
        # Answered within 60 s only if the JVM runs no poll ahead either.
        consumer.commit()
    finally:
        consumer.close()
    _assert_every_record_once(read)
    after = _reader(kafka_bootstrap, group)
    try:
        after.assign(topic, PARTITIONS, from_beginning=False)
        assert {p: after.position(topic, p) for p in PARTITIONS} == ends
    finally:
        after.close()


def test_a_consumer_that_auto_commits_reads_nothing_ahead(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    """Its polls and its close commit every record polled: with a poll run ahead, a read
    stopped half way would leave records committed that were never handed over."""
    topic = make_topic(kafka_bootstrap, new_topic("java-ahead-auto"), len(PARTITIONS))
    _write(kafka_bootstrap, topic)
    group = f"{topic}-group"
    settings = {**SMALL_POLLS, "enable.auto.commit": "true", "auto.commit.interval.ms": "1"}
    first = JavaConsumer(ClientSettings(kafka_bootstrap, settings), group=group)
    try:
        first.end_offsets(topic, PARTITIONS)
        first.assign(topic, PARTITIONS, from_beginning=False)
        read = _read(first, 300)  # far from the end
    finally:
        first.close()  # commits the positions polled
    after = _reader(kafka_bootstrap, group)
    try:
        after.assign(topic, PARTITIONS, from_beginning=False)
        assert {p: after.position(topic, p) for p in PARTITIONS} == _ends_of(read)
    finally:
        after.close()
