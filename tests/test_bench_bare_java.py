"""The bench's bare Java loops (``BareLoop.java`` in a JVM started as ridectl's Java client is)
on the real broker: the producer loop sends exactly a ridectl run's records and counts their
acknowledgements, the read counts what the topic holds and nothing more, and a failure is one
line. Timings are never asserted."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from client_helpers import make_topic
from kafka import KafkaConsumer, TopicPartition

from ridectl.bench.bare_java import BareJavaError, java_bare_consume, java_bare_produce
from ridectl.bench.plan import STRATEGIES
from ridectl.clients.base import ClientName
from ridectl.clients.settings import ClientSettings
from ridectl.run.options import ProduceOptions
from ridectl.run.produce import run_produce

pytestmark = pytest.mark.kafka

RIDES = 120
KEYED_IDEMPOTENT = STRATEGIES[-1]


def _read_all(bootstrap: str, topic: str) -> list[Any]:
    """Every record of ``topic`` (kafka-python, up to the end offsets)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        out: list[Any] = []
        for _ in range(60):
            if all(consumer.position(tp) >= end[tp] for tp in tps):
                break
            for batch in consumer.poll(timeout_ms=1000).values():
                out += batch
        return out
    finally:
        consumer.close()


def test_the_bare_java_loops_send_a_ridectl_run_and_read_exactly_the_topic_back(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = make_topic(kafka_bootstrap, new_topic("bare-java"), 6)
    settings = ClientSettings(
        bootstrap=kafka_bootstrap, values=KEYED_IDEMPOTENT.producer_settings()
    )
    sample = java_bare_produce(settings, topic, RIDES, True, 7, "run-bare-java")
    assert (sample.records, sample.acked, sample.error) == (RIDES * 5, RIDES * 5, None)
    assert sample.p50_ms is not None and sample.p99_ms is not None
    assert sample.p50_ms <= sample.p99_ms
    assert sample.loop_cpu_s is not None and sample.loop_cpu_s > 0
    assert sample.elapsed_s > 0

    # Read back by another client: the records are a whole ridectl run (every ride's five
    # events in order, keyed by ride id, each ride on one partition), labelled with the
    # settings the Java producer held.
    records = _read_all(kafka_bootstrap, topic)
    records.sort(key=lambda r: (r.partition, r.offset))
    events = [(r.key, r.partition, json.loads(r.value)) for r in records]
    assert len(events) == RIDES * 5
    assert {e["run_id"] for _, _, e in events} == {"run-bare-java"}
    assert {e["settings"] for _, _, e in events} == {
        "keyed;inflight=5;idempotence=on;acks=all;retries=2147483647"
    }
    by_ride: dict[str, list[tuple[int, int]]] = {}
    for key, partition, e in events:
        assert key == e["ride_id"].encode()
        by_ride.setdefault(e["ride_id"], []).append((partition, e["seq"]))
    assert len(by_ride) == RIDES
    for got in by_ride.values():
        assert len({p for p, _ in got}) == 1
        assert [seq for _, seq in got] == [1, 2, 3, 4, 5]  # keyed, idempotent: in order

    # The bare read counts what the topic holds, from every partition, and stops there.
    read = java_bare_consume(ClientSettings(bootstrap=kafka_bootstrap), topic)
    assert read.records == RIDES * 5
    assert 0 < read.loop_s < read.wall_s


def test_a_failing_bare_java_loop_is_one_line(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = make_topic(kafka_bootstrap, new_topic("bare-java"), 1)
    settings = ClientSettings(bootstrap=kafka_bootstrap, values={"acks": "sometimes"})
    with pytest.raises(BareJavaError) as err:
        java_bare_produce(settings, topic, 2, False, 7, "run-bare-java")
    text = str(err.value)
    assert text.startswith("BareLoop: ConfigException") and "acks" in text
    assert "\n" not in text


def test_a_ridectl_java_run_reports_its_jvm_cpu_over_the_timed_span(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    # The bench compares it with the bare loop's own CPU; the kafka-python client has no
    # process of its own, so none is reported for it.
    values = KEYED_IDEMPOTENT.producer_settings()
    settings = ClientSettings(bootstrap=kafka_bootstrap, values=values)
    results = [
        run_produce(
            ProduceOptions(
                topic=new_topic("java-cpu"), rides=RIDES, settings=settings, client=client
            )
        )
        for client in (ClientName.JAVA, ClientName.KAFKA_PYTHON)
    ]
    java, python = results
    assert java.acked == RIDES * 5
    assert java.client_cpu_s is not None and java.client_cpu_s > 0
    assert python.acked == RIDES * 5 and python.client_cpu_s is None
