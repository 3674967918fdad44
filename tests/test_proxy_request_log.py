"""The proxy's request log on the real broker: per Produce request, the ride events it carried
and what became of it, checked against what the topic really holds."""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from ridectl.faults import FaultProxy, ProxyStats, parse_fault_spec
from ridectl.faults.requests import HoldRelease, RequestFate, RequestRecord

pytestmark = pytest.mark.kafka

# One record per request, five in flight, retries on, idempotence off (see test_fault_proxy).
HAZARD: dict[str, Any] = {
    "enable_idempotence": False,
    "acks": 1,
    "retries": 1_000_000,
    "max_in_flight_requests_per_connection": 5,
    "batch_size": 1,
    "linger_ms": 0,
    "retry_backoff_ms": 10,
}

Event = tuple[str, int]


def _topic(bootstrap: str) -> str:
    topic = f"reqlog-{uuid.uuid4().hex[:10]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        admin.close()
    return topic


def _produce(
    bootstrap: str, fault: str, rides: int, *also: str, **overrides: Any
) -> tuple[str, ProxyStats]:
    topic = _topic(bootstrap)
    with FaultProxy(bootstrap, [parse_fault_spec(f) for f in (fault, *also)]) as proxy:
        producer = KafkaProducer(bootstrap_servers=proxy.bootstrap, **{**HAZARD, **overrides})
        try:
            for ride in range(rides):
                for seq in range(1, 6):
                    value = {"ride_id": f"ride-{ride}", "seq": seq, "type": "x"}
                    producer.send(topic, key=b"k", value=json.dumps(value).encode())
            producer.flush(timeout=60)
        finally:
            producer.close(timeout=5)
    return topic, proxy.stats()


def _offsets(bootstrap: str, topic: str) -> dict[Event, list[int]]:
    """Where each ride event is on partition 0 (every copy)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    tp = TopicPartition(topic, 0)
    found: dict[Event, list[int]] = defaultdict(list)
    try:
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        end = consumer.end_offsets([tp])[tp]
        deadline = time.monotonic() + 30
        while consumer.position(tp) < end and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                for r in records:
                    data = json.loads(r.value)
                    found[(data["ride_id"], data["seq"])].append(r.offset)
    finally:
        consumer.close()
    return found


def _events(record: RequestRecord) -> set[Event]:
    return {(e.ride_id, e.seq) for e in record.events}


def test_failed_requests_are_traced_to_the_retries_that_wrote_them(kafka_bootstrap: str) -> None:
    topic, stats = _produce(kafka_bootstrap, "error:every=3", rides=12)
    log = {r.number: r for r in stats.request_log}
    assert set(log) == set(range(1, stats.produce_requests + 1))
    offsets = _offsets(kafka_bootstrap, topic)
    assert len(offsets) == 60 and all(len(v) == 1 for v in offsets.values())
    for record in log.values():
        assert record.partitions == (f"{topic}:0",)
        assert record.records == len(record.events) == 1
        if record.number in stats.hit_requests:
            assert record.fate is RequestFate.FAILED_BY_FAULT
            assert (record.fault, record.error_code) == (stats.faults[0], 7)
            # Its event went out again, in a later request that names it.
            retries = [r for r in log.values() if record.number in r.retry_of]
            assert retries and all(r.number > record.number for r in retries)
            assert _events(record) <= set().union(*(_events(r) for r in retries))
        else:
            assert record.fate is RequestFate.WRITTEN and record.fault is None
            (event,) = _events(record)
            assert offsets[event] == [record.base_offsets[0]]
            assert record.duplicate_of == ()


def test_a_lost_ack_is_traced_to_the_retry_that_wrote_the_second_copy(
    kafka_bootstrap: str,
) -> None:
    """The first two requests are written but answered with an error; each event they carried
    goes out again. Request 2 carries the next event when the client sends it before it
    hears of request 1, or request 1's event again (its retry) when it hears first: a loaded
    machine does the latter. Either way every copy is traced to the request that wrote the
    first one, and the topic holds exactly two copies more than events."""
    topic, stats = _produce(kafka_bootstrap, "lost-ack:first=2", rides=4)
    log = {r.number: r for r in stats.request_log}
    offsets = _offsets(kafka_bootstrap, topic)
    replaced = (log[1], log[2])
    for record in replaced:
        assert record.fate is RequestFate.ACK_REPLACED and record.error_code == 7
        (event,) = _events(record)
        (retry,) = [r for r in log.values() if record.number in r.retry_of]
        assert retry.number > record.number and _events(retry) == {event}
    for event in set().union(*map(_events, replaced)):
        first, *later = sorted(
            (r for r in log.values() if event in _events(r)), key=lambda r: r.number
        )
        assert later and later[-1].fate is RequestFate.WRITTEN
        assert all(r.duplicate_of == (first.number,) for r in later)
        # Every copy is where the log says it was written.
        assert offsets[event] == sorted(r.base_offsets[0] for r in (first, *later))
    assert len(offsets) == 20
    assert sum(len(where) - 1 for where in offsets.values()) == 2


@pytest.mark.parametrize(
    ("in_flight", "released_by", "overtakers"),
    [(5, HoldRelease.COUNT, 4), (1, HoldRelease.ALONE, 0)],
)
def test_a_held_error_is_overtaken_by_exactly_hold_requests_or_by_none(
    kafka_bootstrap: str, in_flight: int, released_by: HoldRelease, overtakers: int
) -> None:
    """hold=4 with no retry backoff: a client with five in flight sends four more requests
    before it hears of the error and retries in the very next one; a client with one in
    flight is answered at once and retries next. The log says which rule let each go."""
    config = {"retry_backoff_ms": 0, "max_in_flight_requests_per_connection": in_flight}
    # The proxy takes a client that never had two requests in flight for one that cannot
    # (ALONE). A loaded machine can feed a pipelining client one record at a time at first,
    # so request 1's answer is delayed: a client that pipelines has sent more before it.
    _, stats = _produce(
        kafka_bootstrap, "error:every=7,hold=4", 30, "delay:ms=300,first=1", **config
    )
    log = {r.number: r for r in stats.request_log}
    held = [log[n] for n in stats.hit_requests if n != 1]  # (1 is the delay's)
    assert held and all(r.fate is RequestFate.FAILED_BY_FAULT for r in held)
    last = max(log)
    for record in held:
        retry = next(r for r in log.values() if record.number in r.retry_of)
        if record.number + overtakers < last - 1:  # not at the end of the run
            assert (record.released_by, record.sent_while_held) == (released_by, overtakers)
            assert retry.number == record.number + overtakers + 1
        else:
            assert record.released_by in (released_by, HoldRelease.IDLE)
    unheld = [r for r in log.values() if r.number not in stats.hit_requests]
    assert all(r.released_by is None and r.sent_while_held == 0 for r in unheld)
