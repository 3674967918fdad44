"""Runs every measurement of ``ridectl bench`` in one go, on one broker, and collects the
figures into one JSON-ready dict (``report.py`` turns it into markdown).

Fairness rules kept here:

* every producer run (ridectl, the bare kafka-python loop, the Java client) sends the same
  number of records of the same size to a fresh topic with the same partition count, with the
  same acks / idempotence / in-flight / linger / batch settings;
* ridectl and its bare baseline run back to back inside each repetition, in alternating order,
  and their ratio is taken per repetition before the median, so slow drift of a shared machine
  cancels out;
* figures are medians over the repetitions.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ridectl.bench import children
from ridectl.bench.baselines import (
    JavaSample,
    ProduceSample,
    bare_consume,
    bare_produce,
    java_produce,
)
from ridectl.bench.children import cli_env
from ridectl.bench.machine import describe_machine
from ridectl.bench.plan import (
    PARTITIONS,
    SEED,
    SIZES,
    STRATEGIES,
    Size,
    Strategy,
)
from ridectl.bench.stats import aggregate, median, rounded, sample_dict
from ridectl.bench.targets import evaluate_targets
from ridectl.broker.processes import free_port_block
from ridectl.clients.base import ClientName
from ridectl.errors import RidectlError
from ridectl.versions import KAFKA_VERSION

__all__ = ["SIZES", "BenchOptions", "Size", "run_bench"]


@dataclass
class BenchOptions:
    size: Size
    repeat: int
    bootstrap: str | None = None
    progress: Callable[[str], None] = field(default=lambda _msg: None)
    #: the client library behind ridectl's own produce and consume-and-check runs
    client: ClientName = ClientName.KAFKA_PYTHON


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:300]


def _topic(kind: str) -> str:
    return f"bench-{kind}-{uuid.uuid4().hex[:8]}"


class Bench:
    """One benchmark run: call ``run()`` once."""

    def __init__(self, opts: BenchOptions) -> None:
        self.opts = opts
        self.size = opts.size
        self.say = opts.progress
        self.topics: list[str] = []
        self.java: str | None = None
        self.tools: Path | None = None
        self.tools_note = ""
        self.bootstrap = ""
        self.tmp = Path()
        #: the topic of the last keyed idempotent ridectl run (read back by consume-and-check)
        self.consume_topic: str | None = None
        #: the start of the bench's own broker, when it started one (a cold start too)
        self.own_start: dict[str, Any] | None = None

    # ------------------------------------------------------------------ the whole run
    def run(self) -> dict[str, Any]:
        t0 = time.monotonic()
        started = datetime.now(UTC)
        with contextlib.ExitStack() as stack:
            self.tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ridectl-b-")))
            self.java = self._find_java()
            broker = self._broker(stack)
            machine = describe_machine(
                self.java, KAFKA_VERSION if broker["started_by_bench"] else None
            )
            jars = self._jars()
            results: dict[str, Any] = {
                "schema": "ridectl.bench/1",
                "date": started.isoformat(timespec="seconds"),
                "size": self.size.name,
                "repeat": self.opts.repeat,
                "client": self.opts.client.value,
                "machine": machine,
                "broker": broker,
                "jars": jars,
            }
            sections: list[tuple[str, Callable[[], dict[str, Any]]]] = [
                ("producer", self.producer),
                ("consume_check", self.consume_check),
                ("checker", self.checker),
                ("first_lesson", self.first_lesson),
                ("cold_start", self.cold_start),
            ]
            for name, measure in sections:
                try:
                    results[name] = measure()
                except Exception as exc:  # a failed section is reported, the rest still runs
                    self.say(f"{name}: failed: {_error_text(exc)}")
                    results[name] = {"error": _error_text(exc)}
            self._delete_topics()
        results["targets"] = evaluate_targets(results)
        results["duration_s"] = round(time.monotonic() - t0, 1)
        return results

    def _find_java(self) -> str | None:
        from ridectl.broker.jars import find_java

        try:
            return find_java()
        except RidectlError as exc:
            self.say(f"java: {exc}")
            return None

    def _broker(self, stack: contextlib.ExitStack) -> dict[str, Any]:
        from ridectl.broker.local import LocalCluster

        if self.opts.bootstrap:
            self.bootstrap = self.opts.bootstrap
            return {"bootstrap": self.bootstrap, "started_by_bench": False}
        cluster = LocalCluster(self.tmp / "broker")
        port = free_port_block(2)
        self.say(f"starting a local Kafka {KAFKA_VERSION} broker on port {port}")
        t0 = time.perf_counter()
        state, _ = cluster.up(nodes=1, port=port)
        stack.callback(cluster.down, wipe=True)
        self.own_start = {
            "wall_s": round(time.perf_counter() - t0, 2),
            "ready_after_s": state.ready_after_s,
            "which": "the bench's own broker",
        }
        self.bootstrap = state.bootstrap
        return {
            "bootstrap": self.bootstrap,
            "started_by_bench": True,
            "ready_after_s": state.ready_after_s,
            "heap_mb": 512,
        }

    def _jars(self) -> dict[str, Any]:
        from ridectl.broker.jars import ensure_jars, jar_dir, jar_set_size

        info: dict[str, Any] = {}
        libs = jar_dir()
        if (libs / ".complete").exists():
            count, size = jar_set_size(libs)
            info["broker"] = {"jars": count, "mb": round(size / 1e6, 1), "status": "cached"}
        tools_dir = jar_dir(set_name="tools")
        cached = (tools_dir / ".complete").exists()
        t0 = time.monotonic()
        try:
            if not cached:
                self.say("downloading the kafka-tools jar set with Maven (once)")
            self.tools = ensure_jars(tools=True)
            count, size = jar_set_size(self.tools)
            info["tools"] = {
                "jars": count,
                "mb": round(size / 1e6, 1),
                "status": "cached" if cached else "downloaded",
                "download_s": None if cached else round(time.monotonic() - t0, 1),
            }
        except RidectlError as exc:
            self.tools_note = f"kafka-tools jars unavailable: {exc}"
            info["tools"] = {"status": "unavailable", "reason": str(exc)[:300]}
        return info

    def _settings(self, values: dict[str, str] | None = None) -> Any:
        from ridectl.settings import build_settings

        return build_settings(self.bootstrap, None, [], values or {})

    def _new_topic(self, kind: str) -> str:
        from ridectl.clients.admin import ensure_topic

        name = _topic(kind)
        ensure_topic(self._settings(), name, PARTITIONS)
        self.topics.append(name)
        return name

    def _delete_topics(self) -> None:
        if not self.topics or not self.opts.bootstrap:
            return  # a broker of our own is wiped as a whole
        from ridectl.clients.admin import delete

        with contextlib.suppress(Exception):
            for name in self.topics:
                delete(self._settings(), name)

    # ------------------------------------------------------------------ 1+2: producers
    def producer(self) -> dict[str, Any]:
        records = self.size.records
        rides = records // 5
        record_size: dict[str, int] = {}
        samples: dict[str, dict[str, list[dict[str, Any]]]] = {
            s.name: {"ridectl": [], "bare": [], "java": []} for s in STRATEGIES
        }
        ratios: dict[str, list[float]] = {s.name: [] for s in STRATEGIES}
        java_ratios: dict[str, list[float]] = {s.name: [] for s in STRATEGIES}
        java_note = self._java_unavailable()
        self._warm_up()
        for rep in range(self.opts.repeat):
            for strategy in STRATEGIES:
                settings = self._settings(strategy.producer_settings())
                order = ("ridectl", "bare") if rep % 2 == 0 else ("bare", "ridectl")
                got: dict[str, ProduceSample] = {}
                for client in order:
                    if client == "ridectl":
                        got[client] = self._ridectl_produce(strategy, settings, rides)
                        sample = got[client]
                        if sample.acked:
                            record_size.setdefault(
                                strategy.name, round(sample.value_bytes / sample.acked)
                            )
                    else:
                        topic = self._new_topic("bare")
                        got[client] = bare_produce(
                            settings, topic, rides, strategy.keyed, SEED, _run_id()
                        )
                    samples[strategy.name][client].append(sample_dict(got[client]))
                    self.say(
                        f"producer {strategy.name} {client} run {rep + 1}: "
                        f"{got[client].records_per_s:,.0f} records/s"
                    )
                bare_rps = got["bare"].records_per_s
                if bare_rps > 0:
                    ratios[strategy.name].append(got["ridectl"].records_per_s / bare_rps)
                if java_note is None:
                    java = self._java_run(strategy, records, record_size.get(strategy.name, 230))
                    samples[strategy.name]["java"].append(java)
                    if java.get("records_per_s"):
                        java_ratios[strategy.name].append(
                            got["ridectl"].records_per_s / java["records_per_s"]
                        )
        rows = []
        for strategy in STRATEGIES:
            runs = samples[strategy.name]
            rows.append(
                {
                    "name": strategy.name,
                    "title": strategy.title,
                    "keyed": strategy.keyed,
                    "settings": strategy.producer_settings(),
                    "record_bytes": record_size.get(strategy.name),
                    "ridectl": aggregate(runs["ridectl"]),
                    "bare": aggregate(runs["bare"]),
                    "java": aggregate(runs["java"])
                    if java_note is None
                    else {"unavailable": java_note},
                    "ridectl_vs_bare": rounded(median(ratios[strategy.name]), 3),
                    "ridectl_vs_bare_runs": [round(x, 3) for x in ratios[strategy.name]],
                    "ridectl_vs_java": rounded(median(java_ratios[strategy.name]), 3),
                }
            )
        return {
            "records": records,
            "partitions": PARTITIONS,
            "seed": SEED,
            "strategies": rows,
        }

    def _java_unavailable(self) -> str | None:
        if self.java is None:
            return "no Java 17+ found"
        if self.tools is None:
            return self.tools_note or "kafka-tools jars unavailable"
        return None

    def _warm_up(self) -> None:
        """One small unmeasured run: imports, the broker's first topic creation and JIT."""
        strategy = STRATEGIES[-1]
        self.say("producer warm-up run")
        self._ridectl_produce(
            strategy,
            self._settings(strategy.producer_settings()),
            max(200, self.size.records // 25),
        )

    def _ridectl_produce(self, strategy: Strategy, settings: Any, rides: int) -> ProduceSample:
        from ridectl.experiment import produce
        from ridectl.produce import ProduceOptions

        topic = _topic("ridectl")
        self.topics.append(topic)
        result = produce(
            ProduceOptions(
                topic=topic,
                rides=rides,
                settings=settings,
                keyed=strategy.keyed,
                partitions=PARTITIONS,
                seed=SEED,
                client=self.opts.client,
            )
        )
        if strategy.name == "keyed-idempotent" and result.acked == result.sent:
            self.consume_topic = topic
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
        )

    def _java_run(self, strategy: Strategy, records: int, record_size: int) -> dict[str, Any]:
        assert self.java is not None and self.tools is not None
        topic = self._new_topic("java")
        props = {
            **strategy.producer_settings(),
            # The Java client's null-key default is "sticky" (fill one partition's batch, then
            # move on); kafka-python places each unkeyed record on a random partition and keyed
            # ride ids spread evenly. Round-robin keeps the Java batches spread the same way.
            "partitioner.class": "org.apache.kafka.clients.producer.RoundRobinPartitioner",
            # Fail instead of waiting for ever when something is wrong with the topic.
            "max.block.ms": "30000",
        }
        try:
            sample: JavaSample = java_produce(
                self.java, self.tools, self.bootstrap, topic, records, record_size, props
            )
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            self.say(f"producer {strategy.name} java: {_error_text(exc)}")
            return {"error": _error_text(exc)}
        self.say(f"producer {strategy.name} java: {sample.records_per_s:,.0f} records/s")
        out = asdict(sample)
        out["record_bytes"] = record_size
        return out

    # ------------------------------------------------------------------ 4: consume + check
    def consume_check(self) -> dict[str, Any]:
        from ridectl.consume import ConsumeOptions
        from ridectl.experiment import RunChoice, RunSource, read_back
        from ridectl.judge.checker import check

        topic = self.consume_topic
        if topic is None:
            self.say("consume-and-check: producing its run")
            strategy = STRATEGIES[-1]
            self._ridectl_produce(
                strategy, self._settings(strategy.producer_settings()), self.size.records // 5
            )
            topic = self.consume_topic
        if topic is None:
            raise RidectlError("no complete keyed idempotent run to read back")
        settings = self._settings()
        ours: list[dict[str, Any]] = []
        bare: list[dict[str, Any]] = []
        for rep in range(self.opts.repeat):
            for who in ("ridectl", "bare") if rep % 2 == 0 else ("bare", "ridectl"):
                if who == "bare":
                    b = bare_consume(settings, topic)
                    bare.append(
                        {
                            "records": b.records,
                            "wall_s": round(b.wall_s, 3),
                            "loop_s": round(b.loop_s, 3),
                            "events_per_s": round(b.records / b.wall_s) if b.wall_s else None,
                        }
                    )
                    continue
                t0 = time.perf_counter()
                history, stats, _ = read_back(
                    ConsumeOptions(topic=topic, settings=settings, client=self.opts.client),
                    RunChoice(None, RunSource.NEWEST_ON_TOPIC),
                )
                t1 = time.perf_counter()
                report = check(history)
                t2 = time.perf_counter()
                events = len(history.observations)
                ours.append(
                    {
                        "events": events,
                        "wall_s": round(t2 - t0, 3),
                        "consume_s": round(t1 - t0, 3),
                        "read_loop_s": round(stats.elapsed_s, 3),
                        "check_s": round(t2 - t1, 3),
                        "events_per_s": round(events / (t2 - t0)) if t2 > t0 else None,
                        "violating_rides": report.violating_rides,
                    }
                )
            self.say(
                f"consume-and-check run {rep + 1}: {ours[-1]['events_per_s']:,} events/s "
                f"(bare kafka-python read: {bare[-1]['events_per_s']:,} records/s)"
            )
        return {
            "topic_events": self.size.records,
            "events_per_s": median([s["events_per_s"] for s in ours]),
            "consume_s": median([s["consume_s"] for s in ours]),
            "check_s": median([s["check_s"] for s in ours]),
            "wall_s": median([s["wall_s"] for s in ours]),
            "bare_records_per_s": median([s["events_per_s"] for s in bare]),
            "violating_rides": ours[-1]["violating_rides"] if ours else None,
            "runs": ours,
            "bare_runs": bare,
        }

    # ------------------------------------------------------------------ 3: the checker
    def checker(self) -> dict[str, Any]:
        return children.checker(self.tmp, self.size.history_events, self.opts.repeat, self.say)

    # ------------------------------------------------------------------ 5: first lesson
    def first_lesson(self) -> dict[str, Any]:
        return children.first_lesson(
            self.bootstrap, cli_env(self.tmp), self.opts.repeat, self.size.whole_demo, self.say
        )

    # ------------------------------------------------------------------ broker cold start
    def cold_start(self) -> dict[str, Any]:
        from ridectl.broker.local import LocalCluster

        if self.java is None:
            return {"error": "no Java 17+ found"}
        count = self.opts.repeat if self.size.name == "full" else 1
        runs = [self.own_start] if self.own_start is not None else []
        while len(runs) < count:
            cluster = LocalCluster(self.tmp / f"cold-{len(runs)}")
            port = free_port_block(2)
            t0 = time.perf_counter()
            try:
                state, _ = cluster.up(nodes=1, port=port)
                wall = time.perf_counter() - t0
            finally:
                cluster.down(wipe=True)
                shutil.rmtree(cluster.state_dir, ignore_errors=True)
            runs.append(
                {"wall_s": round(wall, 2), "ready_after_s": state.ready_after_s, "which": "extra"}
            )
            self.say(f"broker cold start run {len(runs)}: {wall:.1f} s")
        return {
            "wall_s": median([r["wall_s"] for r in runs]),
            "ready_after_s": median([r["ready_after_s"] for r in runs]),
            "runs": runs,
            "note": "fresh state directory (storage formatted), jars already cached",
        }


def _run_id() -> str:
    from ridectl.runs import new_run_id

    return new_run_id()


def run_bench(opts: BenchOptions) -> dict[str, Any]:
    """Run every measurement; returns the results (see ``report.write_results``)."""
    return Bench(opts).run()
