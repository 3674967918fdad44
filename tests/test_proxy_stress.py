"""Stress: kafka-python's producer through the fault proxy again and again, with every fault
kind mixed in (error, lost-ack, delay, disconnect), on the real broker. Every run must end
(each send resolved), lose no acknowledged record, and leave the proxy's ledger balanced:
every request it read was answered, owed nothing, or closed with its connection.

The suite runs a short version; ``make stress`` runs a longer one
(``RIDECTL_STRESS_RUNS=N``) and prints its figures.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from ridectl.faults import FaultProxy, ProxyStats, parse_fault_spec

RUNS = int(os.environ.get("RIDECTL_STRESS_RUNS", "3"))
RECORDS = int(os.environ.get("RIDECTL_STRESS_RECORDS", "300"))
PARTITIONS = 3
FLUSH_TIMEOUT_S = 90

#: Producer settings the runs cycle through: the hazardous default, one in flight, idempotent.
PRODUCERS: list[dict[str, object]] = [
    {"enable_idempotence": False, "acks": 1, "max_in_flight_requests_per_connection": 5},
    {"enable_idempotence": False, "acks": 1, "max_in_flight_requests_per_connection": 1},
    {"enable_idempotence": True, "acks": "all", "max_in_flight_requests_per_connection": 5},
]


def mixed_faults(seed: int) -> list[str]:
    """Every kind, each on its own seeded share of the produce requests (the first spec that
    selects a request acts)."""
    return [
        f"disconnect:rate=0.02,seed={seed}",
        f"error:rate=0.08,seed={seed + 1}",
        f"lost-ack:rate=0.05,seed={seed + 2}",
        f"delay:rate=0.1,ms=40,seed={seed + 3}",
    ]


@dataclass
class StressRun:
    seed: int
    stats: ProxyStats
    acked: int
    failed: int
    elapsed_s: float


def stress_run(bootstrap: str, seed: int, records: int = RECORDS) -> StressRun:
    topic = f"stress-{uuid.uuid4().hex[:10]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        admin.close()
    config = PRODUCERS[seed % len(PRODUCERS)]
    faults = [parse_fault_spec(f) for f in mixed_faults(seed)]
    t0 = time.monotonic()
    with FaultProxy(bootstrap, faults) as proxy:
        producer = KafkaProducer(
            bootstrap_servers=proxy.bootstrap,
            retries=1_000_000,
            linger_ms=0,
            batch_size=1,  # one record per batch: many requests
            retry_backoff_ms=20,
            request_timeout_ms=15_000,
            delivery_timeout_ms=60_000,
            **config,
        )
        try:
            futures = [
                producer.send(topic, key=str(i % 40).encode(), value=str(i).encode())
                for i in range(records)
            ]
            producer.flush(timeout=FLUSH_TIMEOUT_S)
        finally:
            producer.close(timeout=10)
    elapsed = time.monotonic() - t0
    assert all(f.is_done for f in futures), "a send never resolved"
    acked = {i for i, f in enumerate(futures) if f.succeeded()}
    written = read_all(bootstrap, topic)
    assert acked <= set(written), f"acknowledged but not written: {sorted(acked - set(written))}"
    return StressRun(seed, proxy.stats(), len(acked), records - len(acked), elapsed)


def read_all(bootstrap: str, topic: str) -> list[int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    try:
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        end = consumer.end_offsets(parts)
        values: list[int] = []
        deadline = time.monotonic() + 30
        while any(consumer.position(p) < end[p] for p in parts) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                values.extend(int(r.value) for r in batch)
        return values
    finally:
        consumer.close()


def check_ledger(stats: ProxyStats) -> None:
    """The books balance, and each fault left the trace it should have."""
    ledger = stats.ledger
    assert stats.connections_open == 0
    assert ledger.received == sum(stats.requests_by_api.values())
    assert ledger.outstanding == 0, ledger
    assert ledger.unbalanced_connections == 0, ledger
    injected = Counter(stats.faults_injected)
    # Every error fault answered its request, unless its connection went first.
    assert ledger.fault_answered <= injected["error"]
    assert ledger.ack_replaced <= injected["lost-ack"]
    # A disconnect closes at least the request that triggered it.
    assert ledger.closed >= injected["disconnect"]
    by_source = Counter(a.source for a in stats.produce_answers)
    assert by_source["fault"] == injected["error"]
    # A lost-ack answer is recorded when the broker answers: a disconnect may come first.
    assert by_source["replaced"] <= injected["lost-ack"]


def report(runs: list[StressRun]) -> str:
    injected: Counter[str] = Counter()
    for r in runs:
        injected.update(r.stats.faults_injected)
    requests = sum(r.stats.ledger.received for r in runs)
    closed = sum(r.stats.ledger.closed for r in runs)
    slowest = max(r.elapsed_s for r in runs)
    return (
        f"stress: {len(runs)} runs, {sum(r.acked for r in runs)} records acknowledged, "
        f"{sum(r.failed for r in runs)} failed; {requests} requests through the proxy, "
        f"faults {dict(injected)}, {closed} closed with their connection, 0 outstanding; "
        f"slowest run {slowest:.1f} s"
    )


@pytest.mark.kafka
def test_mixed_faults_end_with_the_ledger_balanced(kafka_bootstrap: str) -> None:
    runs: list[StressRun] = []
    for seed in range(RUNS):
        run = stress_run(kafka_bootstrap, seed)
        check_ledger(run.stats)
        assert sum(run.stats.faults_injected.values()) > 0, "no fault acted"
        runs.append(run)
    print(report(runs))
