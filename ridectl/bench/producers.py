"""The producer section of ``ridectl bench``: for each client, ridectl's run beside a bare loop
of the same client, per strategy.

Every client's bare loop sends the very records of a ridectl run, built before its clock
starts; the Java client's runs in a JVM started as ridectl's own Java client is (same flags,
class path and settings: ``bare_java``), with Apache Kafka's ``ProducerPerformance`` beside it
once per strategy as a reference (its own JVM flags, its start and JIT warm-up on its clock,
null keys, records of the same size). Inside each repetition ridectl and the bare loop run
back to back, in alternating order, and their ratio is taken per repetition before the
median, so the slow drift of a shared machine cancels out. Every run also notes its CPU time
(this process's, or the Java child's), which other load on the machine disturbs less than
wall time.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, fields
from typing import Protocol, TypeVar

from ridectl.bench.baselines import ProduceSample, bare_produce, java_produce
from ridectl.bench.context import BenchContext
from ridectl.bench.plan import PARTITIONS, SEED, STRATEGIES, Strategy
from ridectl.bench.results import (
    ClientUnavailable,
    JavaStrategyRow,
    ProducerClient,
    ProducerResult,
    ProduceRun,
    ReferenceRun,
    RunFailed,
    StrategyRow,
)
from ridectl.bench.stats import aggregate, cpu_seconds, median, produce_run, rounded
from ridectl.clients.base import ClientName
from ridectl.clients.registry import entry
from ridectl.errors import RidectlError, error_text

#: What each client's ridectl run is compared with.
BARE_LABEL = {
    ClientName.KAFKA_PYTHON: "bare kafka-python loop",
    ClientName.LIBRDKAFKA: "bare librdkafka loop",
    ClientName.JAVA: "bare Java loop (ridectl's JVM flags)",
}
REFERENCE_LABEL = "Java ProducerPerformance (reference, one run)"


class _Timed(Protocol):
    cpu_s: float | None


_R = TypeVar("_R", bound=_Timed)


def _timed(run: Callable[[ClientName, Strategy], _R], client: ClientName, strategy: Strategy) -> _R:
    c0 = cpu_seconds()
    out = run(client, strategy)
    out.cpu_s = round(cpu_seconds() - c0, 3)
    return out


def _with_client_cpu(own: float, client_cpu: float | None, client: ClientName) -> float | None:
    if not entry(client).capabilities.runs_on_java:
        return own
    return None if client_cpu is None else own + client_cpu


def _run_id() -> str:
    from ridectl.run.store import new_run_id

    return new_run_id()


def _per_second(run: ProduceRun | ReferenceRun | RunFailed) -> float | None:
    return None if isinstance(run, RunFailed) else run.records_per_s


def _loop_cpu(run: ProduceRun | RunFailed) -> float | None:
    return None if isinstance(run, RunFailed) else run.loop_cpu_s


class _Pairs:
    """The runs of one client, per strategy and side, and the ratios of each pair."""

    def __init__(self) -> None:
        self.runs: dict[str, dict[str, list[ProduceRun | RunFailed]]] = {
            s.name: {"ridectl": [], "bare": []} for s in STRATEGIES
        }
        self.ratios: dict[str, list[float]] = {s.name: [] for s in STRATEGIES}
        self.cpu_ratios: dict[str, list[float]] = {s.name: [] for s in STRATEGIES}

    def add(
        self, strategy: Strategy, ours: ProduceRun | RunFailed, bare: ProduceRun | RunFailed
    ) -> None:
        a, b = _per_second(ours), _per_second(bare)
        if a and b:
            self.ratios[strategy.name].append(a / b)
        a, b = _loop_cpu(ours), _loop_cpu(bare)
        if a and b:
            self.cpu_ratios[strategy.name].append(b / a)


class ProducerSection:
    """Measures every client given, every strategy, ``pair_repeat`` times."""

    def __init__(self, bench: BenchContext) -> None:
        self.b = bench
        #: records per run of the client being measured (the size's, per client)
        self.records = 0
        self.record_size: dict[str, int] = {}

    def run(self) -> ProducerResult:
        clients: list[ProducerClient | ClientUnavailable] = []
        for client in self.b.opts.clients:
            unavailable = self._unavailable(client)
            if unavailable is not None:
                clients.append(ClientUnavailable(client, unavailable))
                continue
            clients.append(self._client(client))
        return ProducerResult(
            repeat=self.b.opts.pair_repeat, partitions=PARTITIONS, seed=SEED, clients=clients
        )

    def _unavailable(self, client: ClientName) -> str | None:
        if not entry(client).capabilities.runs_on_java:
            return None
        return "no Java 17+ found" if self.b.java is None else None

    def _client(self, client: ClientName) -> ProducerClient:
        self.records = self.b.size.records[client]
        # The broker (a JVM) and the client warm up on runs that are not counted: a ridectl run
        # and a bare one of every strategy, so the first counted runs are not the cold ones
        # (the Java client, one ridectl run and one bare one: each starts a JVM of its own, so
        # what they warm is the broker and the machine's caches, never the counted JVM).
        self.b.say(f"producer {client.value}: warm-up runs")
        rides = max(20, self.records // 25)
        for strategy in STRATEGIES[-1:] if entry(client).capabilities.runs_on_java else STRATEGIES:
            self.ridectl(client, strategy, rides)
            self._bare(client, strategy, rides)
        pairs = _Pairs()
        for rep in range(self.b.opts.pair_repeat):
            for strategy in STRATEGIES:
                order = ("ridectl", "bare") if rep % 2 == 0 else ("bare", "ridectl")
                got: dict[str, ProduceRun | RunFailed] = {}
                for who in order:
                    if who == "ridectl":
                        got[who] = _timed(self._ridectl_run, client, strategy)
                    else:
                        got[who] = _timed(self._bare, client, strategy)
                    pairs.runs[strategy.name][who].append(got[who])
                    self.b.say(
                        f"producer {client.value} {strategy.name} {who} run {rep + 1}: "
                        f"{_per_second(got[who]) or 0:,.0f} records/s, "
                        f"{got[who].cpu_s or 0.0:.2f} CPU s"
                    )
                pairs.add(strategy, got["ridectl"], got["bare"])
        rows = [self._row(s, pairs) for s in STRATEGIES]
        if client is ClientName.JAVA:
            rows = [
                self._with_reference(client, s, row)
                for s, row in zip(STRATEGIES, rows, strict=True)
            ]
        return ProducerClient(
            client=client, records=self.records, bare=BARE_LABEL[client], strategies=rows
        )

    def _with_reference(
        self, client: ClientName, strategy: Strategy, row: StrategyRow | JavaStrategyRow
    ) -> JavaStrategyRow:
        reference = _timed(self._java_reference, client, strategy)
        ours, theirs = row.ridectl.records_per_s, _per_second(reference)
        return JavaStrategyRow(
            **{f.name: getattr(row, f.name) for f in fields(row)},
            reference=reference,
            ridectl_vs_reference=rounded(ours / theirs, 3) if ours and theirs else None,
        )

    def _row(self, strategy: Strategy, pairs: _Pairs) -> StrategyRow | JavaStrategyRow:
        runs = pairs.runs[strategy.name]
        return StrategyRow(
            name=strategy.name,
            title=strategy.title,
            keyed=strategy.keyed,
            settings=strategy.producer_settings(),
            record_bytes=self.record_size.get(strategy.name),
            ridectl=aggregate(runs["ridectl"]),
            bare=aggregate(runs["bare"]),
            ridectl_vs_bare=rounded(median(pairs.ratios[strategy.name]), 3),
            ridectl_vs_bare_runs=[round(x, 3) for x in pairs.ratios[strategy.name]],
            loop_cpu_bare_over_ridectl=rounded(median(pairs.cpu_ratios[strategy.name]), 3),
        )

    # ------------------------------------------------------------------ one run each
    def _ridectl_run(self, client: ClientName, strategy: Strategy) -> ProduceRun | RunFailed:
        sample = self.ridectl(client, strategy, self.records // 5)
        if sample.acked:
            self.record_size.setdefault(strategy.name, round(sample.value_bytes / sample.acked))
        return produce_run(sample)

    def ridectl(self, client: ClientName, strategy: Strategy, rides: int) -> ProduceSample:
        """One ridectl run (through the experiment, as ``ridectl produce`` runs it)."""
        from ridectl.run.flow import produce
        from ridectl.run.options import ProduceOptions

        topic = f"bench-ridectl-{uuid.uuid4().hex[:8]}"
        self.b.topics.append(topic)
        result = produce(
            ProduceOptions(
                topic=topic,
                rides=rides,
                settings=self.b.settings(strategy.producer_settings()),
                keyed=strategy.keyed,
                partitions=PARTITIONS,
                seed=SEED,
                client=client,
            )
        )
        problem = result.aborted or (
            f"{result.failed} sends failed: {dict(result.errors)}" if result.failed else None
        )
        return ProduceSample(
            records=result.sent,
            acked=result.acked,
            elapsed_s=result.elapsed_s,
            value_bytes=round(result.bytes_sent * result.acked / result.sent) if result.sent else 0,
            p50_ms=result.latency_pct(50),
            p99_ms=result.latency_pct(99),
            error=problem,
            # The Java client's work is in its own process too: its JVM's CPU over the span
            # is added (none when the system cannot tell it).
            loop_cpu_s=_with_client_cpu(result.cpu_s, result.client_cpu_s, client),
        )

    def _bare(
        self, client: ClientName, strategy: Strategy, rides: int | None = None
    ) -> ProduceRun | RunFailed:
        settings = self.b.settings(strategy.producer_settings())
        topic = self.b.new_topic("bare")
        rides = self.records // 5 if rides is None else rides
        if client is ClientName.KAFKA_PYTHON:
            return produce_run(
                bare_produce(settings, topic, rides, strategy.keyed, SEED, _run_id())
            )
        if client is ClientName.LIBRDKAFKA:
            from ridectl.bench.bare_clients import rdkafka_produce

            sample = rdkafka_produce(settings, topic, rides, strategy.keyed, SEED, _run_id())
            return produce_run(sample)
        from ridectl.bench.bare_java import BareJavaError, java_bare_produce

        try:
            sample = java_bare_produce(settings, topic, rides, strategy.keyed, SEED, _run_id())
        except (BareJavaError, RidectlError, OSError) as exc:
            return RunFailed(error_text(exc))
        return produce_run(sample)

    def _java_reference(self, _client: ClientName, strategy: Strategy) -> ReferenceRun | RunFailed:
        """One ProducerPerformance run (a reference, not the bare loop of the target)."""
        assert self.b.java is not None
        if self.b.tools is None:
            return RunFailed(self.b.tools_note or "kafka-tools jars unavailable")
        topic = self.b.new_topic("bare")
        size = self.record_size.get(strategy.name, 230)
        props = {
            **strategy.producer_settings(),
            # The tool sends keyless records, which the Java default ("sticky") puts on one
            # partition until its batch is full; round-robin spreads them as ridectl's keyed
            # ride ids and unkeyed records are spread.
            "partitioner.class": "org.apache.kafka.clients.producer.RoundRobinPartitioner",
            # Fail instead of waiting for ever when something is wrong with the topic.
            "max.block.ms": "30000",
        }
        t0 = time.perf_counter()
        try:
            sample = java_produce(
                self.b.java, self.b.tools, self.b.bootstrap, topic, self.records, size, props
            )
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            return RunFailed(error_text(exc))
        return ReferenceRun(
            **asdict(sample), record_bytes=size, elapsed_s=round(time.perf_counter() - t0, 3)
        )
