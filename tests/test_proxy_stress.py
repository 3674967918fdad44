"""Stress: each supported client's producer (kafka-python, the Java client, librdkafka), driven
through ridectl's client seam, goes through the fault proxy again and again with every fault
kind mixed in (error, lost-ack, delay, disconnect), on the real broker. Every run must end
(each record resolved by exactly one delivery report), lose no acknowledged record, and leave
the proxy's ledger balanced: every request it read was answered, owed nothing, or closed with
its connection.

The suite runs a short version per client; ``make stress`` runs a longer one
(``RIDECTL_STRESS_RUNS=N`` runs per client) and prints each client's figures.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import pytest
from client_helpers import Recorder, make_topic
from kafka import KafkaConsumer, TopicPartition

from ridectl.clients.base import ClientName
from ridectl.clients.factory import make_producer
from ridectl.clients.settings import ClientSettings
from ridectl.faults import FaultProxy, ProxyStats, parse_fault_spec
from ridectl.faults.stats import AnswerSource

RUNS = int(os.environ.get("RIDECTL_STRESS_RUNS", "2"))
RECORDS = int(os.environ.get("RIDECTL_STRESS_RECORDS", "200"))
PARTITIONS = 3
FLUSH_TIMEOUT_S = 90

CLIENTS = [ClientName.KAFKA_PYTHON, ClientName.JAVA, ClientName.LIBRDKAFKA]

#: Producer settings the runs cycle through: the hazardous default, one in flight, idempotent.
PRODUCERS: list[dict[str, str]] = [
    {"enable.idempotence": "false", "acks": "1", "max.in.flight.requests.per.connection": "5"},
    {"enable.idempotence": "false", "acks": "1", "max.in.flight.requests.per.connection": "1"},
    {"enable.idempotence": "true", "acks": "all", "max.in.flight.requests.per.connection": "5"},
]

#: Shared by every client: many retries with a short pause, a bounded delivery time (the Java
#: client wants delivery.timeout.ms >= linger.ms + request.timeout.ms).
COMMON: dict[str, str] = {
    "retries": "1000000",
    "retry.backoff.ms": "20",
    "linger.ms": "0",
    "request.timeout.ms": "15000",
    "delivery.timeout.ms": "60000",
}

#: One record per produce request, so that the faults act on many requests.
ONE_PER_REQUEST: dict[ClientName, dict[str, str]] = {
    ClientName.KAFKA_PYTHON: {"batch.size": "1"},
    ClientName.JAVA: {"batch.size": "1"},
    ClientName.LIBRDKAFKA: {"batch.num.messages": "1"},
}


def producer_settings(client: ClientName, bootstrap: str, config: int) -> ClientSettings:
    values = {**COMMON, **ONE_PER_REQUEST[client], **PRODUCERS[config]}
    return ClientSettings(bootstrap, values)


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
    client: ClientName
    seed: int
    config: int
    stats: ProxyStats
    acked: int
    failed: int
    errors: Counter[str]
    elapsed_s: float
    #: reported delivered without an offset, and not in the topic (librdkafka's inference)
    inferred_missing: int = 0


def stress_run(
    bootstrap: str, client: ClientName, seed: int, config: int, records: int = RECORDS
) -> StressRun:
    topic = make_topic(bootstrap, f"stress-{uuid.uuid4().hex[:10]}", PARTITIONS)
    faults = [parse_fault_spec(f) for f in mixed_faults(seed)]
    rec = Recorder()
    t0 = time.monotonic()
    with FaultProxy(bootstrap, faults) as proxy:
        settings = producer_settings(client, bootstrap, config)
        producer = make_producer(client, settings, topic, rec, bootstrap=proxy.bootstrap)
        try:
            for i in range(records):
                producer.send(i, str(i % 40).encode(), str(i).encode(), None)
            producer.flush(FLUSH_TIMEOUT_S)
        finally:
            producer.close(10)
    elapsed = time.monotonic() - t0
    reports = Counter(d.index for d in rec.deliveries)
    unresolved = sorted(set(range(records)) - set(reports))
    assert not unresolved, f"{client.value}: sends never resolved: {unresolved[:20]}"
    twice = sorted(i for i, n in reports.items() if n > 1)
    assert not twice, f"{client.value}: more than one delivery report for {twice[:20]}"
    assert set(reports) == set(range(records))
    acked = {d.index for d in rec.deliveries if d.ok}
    # Acknowledged with an offset: the broker said where it wrote the record, so it must be
    # there. librdkafka also reports records as delivered WITHOUT an offset when its
    # idempotent producer infers they were persisted; after the proxy fails a partition's
    # very first request, that inference can be wrong (see docs/faults.md, "`make stress`").
    # Those are counted and shown, not taken as the proxy's loss.
    confirmed = {d.index for d in rec.deliveries if d.ok and d.offset >= 0}
    written = set(read_all(bootstrap, topic))
    lost = sorted(confirmed - written)
    assert not lost, f"{client.value}: acknowledged at an offset but not written: {lost[:20]}"
    inferred_missing = len((acked - confirmed) - written)
    errors = Counter(d.error for d in rec.deliveries if d.error is not None)
    stats = proxy.stats()
    return StressRun(
        client, seed, config, stats, len(acked), records - len(acked), errors, elapsed,
        inferred_missing,
    )  # fmt: skip


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
    assert by_source[AnswerSource.FAULT] == injected["error"]
    # A lost-ack answer is recorded when the broker answers: a disconnect may come first.
    assert by_source[AnswerSource.REPLACED] <= injected["lost-ack"]


def report(runs: list[StressRun]) -> str:
    injected: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for r in runs:
        injected.update(r.stats.faults_injected)
        errors.update(r.errors)
    requests = sum(r.stats.ledger.received for r in runs)
    closed = sum(r.stats.ledger.closed for r in runs)
    slowest = max(r.elapsed_s for r in runs)
    return (
        f"stress {runs[0].client.value}: {len(runs)} runs, "
        f"{sum(r.acked for r in runs)} records acknowledged "
        f"({sum(r.inferred_missing for r in runs)} of them without an offset and not written), "
        f"{sum(r.failed for r in runs)} failed {dict(errors)}; {requests} requests through the "
        f"proxy, faults {dict(injected)}, {closed} closed with their connection, 0 outstanding; "
        f"slowest run {slowest:.1f} s, all runs {sum(r.elapsed_s for r in runs):.1f} s"
    )


@pytest.mark.kafka
@pytest.mark.parametrize("client", CLIENTS, ids=[c.value for c in CLIENTS])
def test_mixed_faults_end_with_the_ledger_balanced(
    kafka_bootstrap: str, client: ClientName
) -> None:
    runs: list[StressRun] = []
    offset = CLIENTS.index(client)
    for n in range(RUNS):
        # each client starts on a different producer config, so the short suite covers all three
        config = (offset + n) % len(PRODUCERS)
        run = stress_run(kafka_bootstrap, client, seed=n * 7 + offset, config=config)
        check_ledger(run.stats)
        assert sum(run.stats.faults_injected.values()) > 0, "no fault acted"
        runs.append(run)
    print(report(runs))
