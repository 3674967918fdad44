"""The consume-and-check section of ``ridectl bench``: for each client, ridectl reading a run
back and judging it, beside a bare read of the same records by the same client.

The section writes its own keyed idempotent run (``Size.consume_events`` events, with
librdkafka when it is among the clients, the fastest writer), long enough that reading, not
starting a client, decides the figures. Every client is timed over the same span: ridectl from
client creation to verdict (``consume()`` then ``check()`` with the run's acknowledgements, what
``ridectl check --topic`` does with a run produced from this machine), the bare read from
client creation to its last record. The bare read reads the same
bounded range and keeps nothing. ridectl and the bare read alternate within each repetition;
figures are medians, with CPU time beside.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

from ridectl.bench.baselines import ConsumeSample, bare_consume
from ridectl.bench.context import BenchContext
from ridectl.bench.plan import PARTITIONS, SEED, STRATEGIES
from ridectl.bench.results import (
    BareReadRun,
    ClientUnavailable,
    ConsumeClient,
    ConsumeResult,
    ConsumeRun,
)
from ridectl.bench.stats import cpu_seconds, median
from ridectl.clients.base import ClientName
from ridectl.clients.registry import entry
from ridectl.errors import RidectlError

if TYPE_CHECKING:
    from ridectl.run.flow import RunChoice

BARE_READ = {
    ClientName.KAFKA_PYTHON: "bare kafka-python read",
    ClientName.LIBRDKAFKA: "bare librdkafka read (consume batches)",
    ClientName.JAVA: "bare Java read (ridectl's JVM flags and settings, JVM start included)",
}


class ConsumeSection:
    def __init__(self, bench: BenchContext) -> None:
        self.b = bench

    def run(self) -> ConsumeResult:
        topic, run = self._write_run()
        clients: list[ConsumeClient | ClientUnavailable] = []
        for client in self.b.opts.clients:
            if entry(client).capabilities.runs_on_java and self.b.java is None:
                clients.append(ClientUnavailable(client, "no Java 17+ found"))
                continue
            clients.append(self._client(client, topic, run))
        return ConsumeResult(
            topic_events=self.b.size.consume_events,
            repeat=self.b.opts.pair_repeat,
            clients=clients,
        )

    def _write_run(self) -> tuple[str, RunChoice]:
        """A keyed idempotent run of ``consume_events`` events on a fresh topic, and the
        choice of that run with its acknowledgements."""
        from ridectl.run.flow import produce, produced_run
        from ridectl.run.options import ProduceOptions

        writer = (
            ClientName.LIBRDKAFKA
            if ClientName.LIBRDKAFKA in self.b.opts.clients
            else ClientName.KAFKA_PYTHON
        )
        events = self.b.size.consume_events
        self.b.say(f"consume-and-check: writing its run ({events:,} events, {writer.value})")
        topic = f"bench-consume-{uuid.uuid4().hex[:8]}"
        self.b.topics.append(topic)
        strategy = STRATEGIES[-1]
        result = produce(
            ProduceOptions(
                topic=topic,
                rides=events // 5,
                settings=self.b.settings(strategy.producer_settings()),
                keyed=strategy.keyed,
                partitions=PARTITIONS,
                seed=SEED,
                client=writer,
            )
        )
        if result.aborted or result.acked != result.sent:
            raise RidectlError(
                f"the run to read back was not written whole: {result.acked} of "
                f"{result.sent} acknowledged ({result.aborted or dict(result.errors)})"
            )
        return topic, produced_run(result)

    def _client(self, client: ClientName, topic: str, run: RunChoice) -> ConsumeClient:
        ours: list[ConsumeRun] = []
        bare: list[BareReadRun] = []
        for rep in range(self.b.opts.pair_repeat):
            for who in ("ridectl", "bare") if rep % 2 == 0 else ("bare", "ridectl"):
                c0 = cpu_seconds()
                if who == "bare":
                    bare.append(_bare_run(self._bare(client, topic)))
                    bare[-1].cpu_s = round(cpu_seconds() - c0, 3)
                else:
                    ours.append(self._ridectl(client, topic, run))
                    ours[-1].cpu_s = round(cpu_seconds() - c0, 3)
            self.b.say(
                f"consume-and-check {client.value} run {rep + 1}: "
                f"{ours[-1].events_per_s or 0:,} events/s "
                f"({BARE_READ[client]}: {bare[-1].events_per_s or 0:,} records/s)"
            )
        ratios = [
            o.events_per_s / b.events_per_s
            for o, b in zip(ours, bare, strict=False)
            if o.events_per_s and b.events_per_s
        ]
        return ConsumeClient(
            client=client,
            bare=BARE_READ[client],
            events_per_s=median([s.events_per_s for s in ours]),
            loop_events_per_s=median([s.loop_events_per_s for s in ours]),
            consume_s=median([s.consume_s for s in ours]),
            check_s=median([s.check_s for s in ours]),
            wall_s=median([s.wall_s for s in ours]),
            cpu_s=median([s.cpu_s for s in ours]),
            bare_records_per_s=median([s.events_per_s for s in bare]),
            bare_loop_records_per_s=median([s.loop_events_per_s for s in bare]),
            bare_cpu_s=median([s.cpu_s for s in bare]),
            ridectl_vs_bare=None if not ratios else round(median(ratios) or 0.0, 3),
            violating_rides=ours[-1].violating_rides if ours else None,
            runs=ours,
            bare_runs=bare,
        )

    def _bare(self, client: ClientName, topic: str) -> ConsumeSample:
        settings = self.b.settings()
        if client is ClientName.KAFKA_PYTHON:
            return bare_consume(settings, topic)
        from ridectl.bench import bare_clients

        if client is ClientName.LIBRDKAFKA:
            return bare_clients.rdkafka_consume(settings, topic)
        from ridectl.bench.bare_java import java_bare_consume

        return java_bare_consume(settings, topic)

    def _ridectl(self, client: ClientName, topic: str, run: RunChoice) -> ConsumeRun:
        from ridectl.run.consume import ConsumeOptions
        from ridectl.run.flow import judge, read_back

        t0 = time.perf_counter()
        history, stats, _ = read_back(
            ConsumeOptions(topic=topic, settings=self.b.settings(), client=client), run
        )
        t1 = time.perf_counter()
        report = judge(history)
        t2 = time.perf_counter()
        events = history.events
        loop_s = stats.elapsed_s + t2 - t1
        return ConsumeRun(
            events=events,
            wall_s=round(t2 - t0, 3),
            consume_s=round(t1 - t0, 3),
            read_loop_s=round(stats.elapsed_s, 3),
            check_s=round(t2 - t1, 3),
            events_per_s=round(events / (t2 - t0)) if t2 > t0 else None,
            loop_events_per_s=round(events / loop_s) if loop_s > 0 else None,
            violating_rides=report.violating_rides,
        )


def _bare_run(b: ConsumeSample) -> BareReadRun:
    return BareReadRun(
        records=b.records,
        wall_s=round(b.wall_s, 3),
        loop_s=round(b.loop_s, 3),
        events_per_s=round(b.records / b.wall_s) if b.wall_s else None,
        loop_events_per_s=round(b.records / b.loop_s) if b.loop_s else None,
    )
