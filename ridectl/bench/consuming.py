"""The consume-and-check section of ``ridectl bench``: for each client, ridectl reading a run
back and judging it, beside a bare read of the same records by the same client.

ridectl's figure runs from client creation to verdict (``consume()`` then ``check()``, what
``ridectl check --topic`` does). The bare read of kafka-python and librdkafka reads the same
bounded range and keeps nothing; the Java client's (``bare_java``) does the same in a JVM
started as ridectl's own, its rate taken over its poll loop (its JVM start left out). ridectl
and the bare read alternate within each repetition; figures are medians, with CPU time beside.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ridectl.bench.baselines import ConsumeSample, bare_consume
from ridectl.bench.plan import STRATEGIES
from ridectl.bench.producers import ProducerSection, _cpu
from ridectl.bench.stats import median
from ridectl.clients.base import ClientName
from ridectl.errors import RidectlError

if TYPE_CHECKING:
    from ridectl.bench.runner import Bench

BARE_READ = {
    ClientName.KAFKA_PYTHON: "bare kafka-python read",
    ClientName.LIBRDKAFKA: "bare librdkafka read (consume batches)",
    ClientName.JAVA: "bare Java read (ridectl's JVM flags; over its poll loop)",
}


class ConsumeSection:
    def __init__(self, bench: Bench) -> None:
        self.b = bench

    def run(self) -> dict[str, Any]:
        topic = self.b.consume_topic
        if topic is None:
            self.b.say("consume-and-check: producing its run")
            ProducerSection(self.b).ridectl(
                ClientName.KAFKA_PYTHON, STRATEGIES[-1], self.b.size.records // 5
            )
            topic = self.b.consume_topic
        if topic is None:
            raise RidectlError("no complete keyed idempotent run to read back")
        clients = []
        for client in self.b.opts.clients:
            if client is ClientName.JAVA and (self.b.java is None or self.b.tools is None):
                clients.append({"client": client.value, "unavailable": "no Java or kafka-tools"})
                continue
            clients.append(self._client(client, topic))
        return {"topic_events": self.b.size.records, "clients": clients}

    def _client(self, client: ClientName, topic: str) -> dict[str, Any]:
        ours: list[dict[str, Any]] = []
        bare: list[dict[str, Any]] = []
        for rep in range(self.b.opts.repeat):
            for who in ("ridectl", "bare") if rep % 2 == 0 else ("bare", "ridectl"):
                c0 = _cpu()
                if who == "bare":
                    bare.append(_bare_dict(self._bare(client, topic), client))
                    bare[-1]["cpu_s"] = round(_cpu() - c0, 3)
                else:
                    ours.append(self._ridectl(client, topic))
                    ours[-1]["cpu_s"] = round(_cpu() - c0, 3)
            self.b.say(
                f"consume-and-check {client.value} run {rep + 1}: "
                f"{ours[-1]['events_per_s'] or 0:,} events/s "
                f"({BARE_READ[client]}: {bare[-1]['events_per_s'] or 0:,} records/s)"
            )
        eps = median([s["events_per_s"] for s in ours])
        bare_eps = median([s["events_per_s"] for s in bare])
        # The Java tool's rate leaves its JVM start out: ridectl's is then taken over its read
        # loop and check alone (its own JVM start left out too).
        key = "loop_events_per_s" if client is ClientName.JAVA else "events_per_s"
        ratios = [
            o[key] / b["events_per_s"]
            for o, b in zip(ours, bare, strict=False)
            if o[key] and b["events_per_s"]
        ]
        return {
            "client": client.value,
            "bare": BARE_READ[client],
            "events_per_s": eps,
            "loop_events_per_s": median([s["loop_events_per_s"] for s in ours]),
            "ratio_basis": "read loop + check" if client is ClientName.JAVA else "whole call",
            "consume_s": median([s["consume_s"] for s in ours]),
            "check_s": median([s["check_s"] for s in ours]),
            "wall_s": median([s["wall_s"] for s in ours]),
            "cpu_s": median([s["cpu_s"] for s in ours]),
            "bare_records_per_s": bare_eps,
            "bare_cpu_s": median([s["cpu_s"] for s in bare]),
            "ridectl_vs_bare": None if not ratios else round(median(ratios) or 0.0, 3),
            "violating_rides": ours[-1]["violating_rides"] if ours else None,
            "runs": ours,
            "bare_runs": bare,
        }

    def _bare(self, client: ClientName, topic: str) -> ConsumeSample:
        settings = self.b.settings()
        if client is ClientName.KAFKA_PYTHON:
            return bare_consume(settings, topic)
        from ridectl.bench import bare_clients

        if client is ClientName.LIBRDKAFKA:
            return bare_clients.rdkafka_consume(settings, topic)
        from ridectl.bench.bare_java import java_bare_consume

        return java_bare_consume(settings, topic)

    def _ridectl(self, client: ClientName, topic: str) -> dict[str, Any]:
        from ridectl.consume import ConsumeOptions
        from ridectl.experiment import RunChoice, RunSource, read_back
        from ridectl.judge.checker import check

        t0 = time.perf_counter()
        history, stats, _ = read_back(
            ConsumeOptions(topic=topic, settings=self.b.settings(), client=client),
            RunChoice(None, RunSource.NEWEST_ON_TOPIC),
        )
        t1 = time.perf_counter()
        report = check(history)
        t2 = time.perf_counter()
        events = len(history.observations)
        return {
            "events": events,
            "wall_s": round(t2 - t0, 3),
            "consume_s": round(t1 - t0, 3),
            "read_loop_s": round(stats.elapsed_s, 3),
            "check_s": round(t2 - t1, 3),
            "events_per_s": round(events / (t2 - t0)) if t2 > t0 else None,
            "loop_events_per_s": round(events / (stats.elapsed_s + t2 - t1))
            if stats.elapsed_s + t2 - t1 > 0
            else None,
            "violating_rides": report.violating_rides,
        }


def _bare_dict(b: ConsumeSample, client: ClientName) -> dict[str, Any]:
    # The Java tool's rate is over its fetch time (loop_s); the Python reads' over the call.
    seconds = b.loop_s if client is ClientName.JAVA else b.wall_s
    return {
        "records": b.records,
        "wall_s": round(b.wall_s, 3),
        "loop_s": round(b.loop_s, 3),
        "events_per_s": round(b.records / seconds) if seconds else None,
    }
