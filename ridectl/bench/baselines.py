"""What ridectl is compared with, on the same broker and with the same settings.

* ``bare_produce``: the least a kafka-python program can do to send the same records and know
  they were acknowledged: payloads built and the topic's metadata fetched before the clock
  starts (as ridectl's run does), then ``send()`` in a loop with one callback that notes the
  acknowledgement latency, then ``flush()``.
* ``java_produce``: Apache Kafka's own ``ProducerPerformance`` tool (the Java client), run
  from the ``kafka-tools`` jar set, its final summary line parsed.
* ``bare_consume``: a kafka-python consumer that reads the same bounded range ridectl's
  ``consume`` reads and does nothing with the records: the ceiling for consume-and-check.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from ridectl.clients.admin import client_kwargs, partition_count
from ridectl.clients.kafka_python import CONSUMER_DEFAULTS
from ridectl.clients.settings import ClientSettings, in_force
from ridectl.judge.lifecycle import EventEncoder, interleaved_schedule
from ridectl.run.options import percentile, ride_ids, settings_id


@dataclass
class ProduceSample:
    """One producer run: how many records were acknowledged, how fast, and how late."""

    records: int
    acked: int
    elapsed_s: float
    value_bytes: int
    p50_ms: float | None
    p99_ms: float | None
    error: str | None = None
    #: CPU seconds of this process (every thread) during ``elapsed_s`` alone, when known
    loop_cpu_s: float | None = None

    @classmethod
    def of(
        cls,
        payloads: list[tuple[bytes | None, bytes]],
        latencies: list[float],
        elapsed: float,
        loop_cpu_s: float | None = None,
    ) -> ProduceSample:
        """The sample of a bare loop that sent ``payloads`` and saw ``latencies`` (one per
        acknowledged record)."""
        size = sum(len(v) for _, v in payloads)
        return cls(
            records=len(payloads),
            acked=len(latencies),
            elapsed_s=elapsed,
            value_bytes=round(size * len(latencies) / len(payloads)) if payloads else 0,
            p50_ms=percentile(latencies, 50),
            p99_ms=percentile(latencies, 99),
            error=None if len(latencies) == len(payloads) else "not every record was acknowledged",
            loop_cpu_s=loop_cpu_s,
        )

    @property
    def records_per_s(self) -> float:
        return self.acked / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def mib_per_s(self) -> float:
        # MiB, as the Java tool counts its "MB/sec".
        return self.value_bytes / self.elapsed_s / 2**20 if self.elapsed_s > 0 else 0.0


def build_payloads(
    rides: int, keyed: bool, seed: int, run_id: str, label: str, padding: int = 0
) -> list[tuple[bytes | None, bytes]]:
    """The (key, value) of every record a ridectl run with these arguments sends, in order."""
    names = ride_ids(rides)
    keys = [n.encode() for n in names] if keyed else None
    encode = EventEncoder(run_id, label, padding).encode
    now_ms = time.time() * 1000.0
    return [
        (keys[ride] if keys is not None else None, encode(names[ride], seq, now_ms))
        for ride, seq in interleaved_schedule(rides, seed=seed, concurrent=64)
    ]


def bare_produce(
    settings: ClientSettings, topic: str, rides: int, keyed: bool, seed: int, run_id: str
) -> ProduceSample:
    """Send the records of a ridectl run with a plain kafka-python loop (see module doc)."""
    producer = KafkaProducer(**client_kwargs(settings, "producer"))
    try:
        # The same settings label ridectl puts in every event, so the values are byte for
        # byte the size of ridectl's.
        payloads = build_payloads(
            rides, keyed, seed, run_id, settings_id(keyed, in_force(producer.config))
        )
        latencies: list[float] = []
        note = latencies.append
        clock = time.perf_counter

        def on_ack(t_sent: float, _meta: Any) -> None:
            note((clock() - t_sent) * 1000.0)

        send = producer.send
        # The topic's partitions known before the clock starts, as ridectl's run learns them.
        producer.partitions_for(topic)
        c0 = time.process_time()
        t0 = clock()
        for key, value in payloads:
            send(topic, value=value, key=key).add_callback(on_ack, clock())
        producer.flush()
        elapsed = clock() - t0
        cpu = time.process_time() - c0
    finally:
        with contextlib.suppress(Exception):
            producer.close(timeout=10)
    return ProduceSample.of(payloads, latencies, elapsed, cpu)


_JAVA_SUMMARY = re.compile(
    r"(?P<records>\d+) records sent, (?P<rps>[\d.]+) records/sec \((?P<mbps>[\d.]+) MB/sec\), "
    r"(?P<avg>[\d.]+) ms avg latency, (?P<max>[\d.]+) ms max latency, (?P<p50>\d+) ms 50th, "
    r"(?P<p95>\d+) ms 95th, (?P<p99>\d+) ms 99th"
)


@dataclass
class JavaSample:
    records: int
    records_per_s: float
    mib_per_s: float
    avg_ms: float
    max_ms: float
    p50_ms: float
    p99_ms: float
    wall_s: float


def parse_java_summary(text: str) -> JavaSample | None:
    """The last summary line ProducerPerformance printed (wall time left at 0), or None."""
    found = list(_JAVA_SUMMARY.finditer(text))
    if not found:
        return None
    m = found[-1]
    return JavaSample(
        records=int(m["records"]),
        records_per_s=float(m["rps"]),
        mib_per_s=float(m["mbps"]),
        avg_ms=float(m["avg"]),
        max_ms=float(m["max"]),
        p50_ms=float(m["p50"]),
        p99_ms=float(m["p99"]),
        wall_s=0.0,
    )


def java_command(
    java: str,
    tools: Path,
    bootstrap: str,
    topic: str,
    records: int,
    record_size: int,
    props: Mapping[str, str],
) -> list[str]:
    """The ProducerPerformance command line: no throttling, the given producer settings."""
    given = {"bootstrap.servers": bootstrap, **props}
    return [
        java,
        "-cp",
        f"{tools}/*",
        "org.apache.kafka.tools.ProducerPerformance",
        "--topic",
        topic,
        "--num-records",
        str(records),
        "--record-size",
        str(record_size),
        "--throughput",
        "-1",
        "--command-property",
        *(f"{k}={v}" for k, v in given.items()),
    ]


def java_produce(
    java: str,
    tools: Path,
    bootstrap: str,
    topic: str,
    records: int,
    record_size: int,
    props: Mapping[str, str],
    timeout_s: float = 300.0,
) -> JavaSample:
    """Run ProducerPerformance once; raises RuntimeError with its last words if it fails."""
    cmd = java_command(java, tools, bootstrap, topic, records, record_size, props)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    wall = time.perf_counter() - t0
    sample = parse_java_summary(proc.stdout)
    if proc.returncode != 0 or sample is None:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"ProducerPerformance exited {proc.returncode}: {tail[0][:200]}")
    sample.wall_s = wall
    return sample


@dataclass
class ConsumeSample:
    records: int
    #: whole call: client set-up, the bounded read, close
    wall_s: float
    #: the read loop alone
    loop_s: float


def bare_consume(settings: ClientSettings, topic: str) -> ConsumeSample:
    """Read a topic from the beginning to its current end offsets and keep nothing."""
    t0 = time.perf_counter()
    partitions = partition_count(settings, topic)
    kwargs = {**CONSUMER_DEFAULTS, **client_kwargs(settings, "consumer")}
    consumer = KafkaConsumer(**kwargs)
    count = 0
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        t1 = time.perf_counter()
        pending = [tp for tp in tps if consumer.position(tp) < end[tp]]
        deadline = t1 + 120.0
        while pending:
            for _tp, records in consumer.poll(timeout_ms=500).items():
                count += len(records)
            pending = [tp for tp in pending if consumer.position(tp) < end[tp]]
            if time.perf_counter() > deadline:
                raise RuntimeError(f"reading {topic} took more than 120 s")
        loop = time.perf_counter() - t1
    finally:
        with contextlib.suppress(Exception):
            consumer.close(autocommit=False)
    return ConsumeSample(count, time.perf_counter() - t0, loop)
