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
import json
import os
import queue
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ridectl.bench.baselines import (
    JavaSample,
    ProduceSample,
    bare_consume,
    bare_produce,
    java_produce,
)
from ridectl.bench.histories import generate_history
from ridectl.bench.machine import describe_machine
from ridectl.errors import RidectlError
from ridectl.versions import KAFKA_VERSION

PARTITIONS = 6
SEED = 7
#: Settings every producer run shares, whatever the strategy (Java's linger.ms default is
#: 5 since Kafka 4.0, kafka-python's is 0: both are told 0).
COMMON_PRODUCER = {"acks": "all", "linger.ms": "0", "batch.size": "16384"}


@dataclass(frozen=True)
class Strategy:
    """One way of producing that decides whether order holds."""

    name: str
    title: str
    keyed: bool
    settings: dict[str, str]

    def producer_settings(self) -> dict[str, str]:
        return {**COMMON_PRODUCER, **self.settings}


STRATEGIES: tuple[Strategy, ...] = (
    Strategy(
        "unkeyed",
        "unkeyed (idempotent, in-flight 5)",
        False,
        {"enable.idempotence": "true", "max.in.flight.requests.per.connection": "5"},
    ),
    Strategy(
        "keyed-inflight5",
        "keyed, in-flight 5, idempotence off",
        True,
        {"enable.idempotence": "false", "max.in.flight.requests.per.connection": "5"},
    ),
    Strategy(
        "keyed-inflight1",
        "keyed, in-flight 1",
        True,
        {"enable.idempotence": "false", "max.in.flight.requests.per.connection": "1"},
    ),
    Strategy(
        "keyed-idempotent",
        "keyed, idempotent",
        True,
        {"enable.idempotence": "true", "max.in.flight.requests.per.connection": "5"},
    ),
)


@dataclass(frozen=True)
class Size:
    name: str
    #: records per producer run (a multiple of 5: whole ride lifecycles)
    records: int
    #: events of the generated histories the checker is timed on, ascending
    history_events: tuple[int, ...]
    repeat: int
    #: also time the whole ``ridectl demo --fast`` (not only its first lesson)
    whole_demo: bool


SIZES: dict[str, Size] = {
    "small": Size("small", 1_000, (5_000, 20_000, 60_000), 1, False),
    "full": Size("full", 30_000, (100_000, 1_000_000, 3_000_000), 3, True),
}

#: The whole ``ridectl demo --fast`` is stopped after this long (its time is then "more than").
DEMO_CAP_S = 120.0
#: The heading of the demo's second lesson: the first lesson is over when it appears.
_SECOND_LESSON = re.compile(r"Lesson 2/\d+")

#: A checker run slower than this is not repeated (its size is then one run, said so).
SLOW_RUN_S = 20.0

TARGETS = {
    "produce_ratio": 0.9,
    "check_1m_s": 3.0,
    "check_1m_rss_mb": 600.0,
    "linear_tolerance": 1.25,
    "consume_check_eps": 100_000.0,
}


@dataclass
class BenchOptions:
    size: Size
    repeat: int
    bootstrap: str | None = None
    progress: Callable[[str], None] = field(default=lambda _msg: None)


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:300]


def free_port_block(count: int) -> int:
    """A first port P such that P .. P+count-1 on the loopback answer to nobody right now."""
    from ridectl.broker.local import HOST, port_in_use

    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((HOST, 0))
            first = int(s.getsockname()[1])
        if first + count < 65535 and not any(port_in_use(first + i) for i in range(count)):
            return first
    raise RidectlError("no block of free ports found on the loopback")


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
        results["targets"] = evaluate_targets(results, self.size)
        results["duration_s"] = round(time.monotonic() - t0, 1)
        return results

    def _find_java(self) -> str | None:
        from ridectl.broker.local import find_java

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
        from ridectl.broker.local import ensure_jars, jar_dir, jar_set_size

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
                    samples[strategy.name][client].append(_sample_dict(got[client]))
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
                    "ridectl": _aggregate(runs["ridectl"]),
                    "bare": _aggregate(runs["bare"]),
                    "java": _aggregate(runs["java"])
                    if java_note is None
                    else {"unavailable": java_note},
                    "ridectl_vs_bare": _r(_median(ratios[strategy.name]), 3),
                    "ridectl_vs_bare_runs": [round(x, 3) for x in ratios[strategy.name]],
                    "ridectl_vs_java": _r(_median(java_ratios[strategy.name]), 3),
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
                    ConsumeOptions(topic=topic, settings=settings),
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
            "events_per_s": _median([s["events_per_s"] for s in ours]),
            "consume_s": _median([s["consume_s"] for s in ours]),
            "check_s": _median([s["check_s"] for s in ours]),
            "wall_s": _median([s["wall_s"] for s in ours]),
            "bare_records_per_s": _median([s["events_per_s"] for s in bare]),
            "violating_rides": ours[-1]["violating_rides"] if ours else None,
            "runs": ours,
            "bare_runs": bare,
        }

    # ------------------------------------------------------------------ 3: the checker
    def checker(self) -> dict[str, Any]:
        rows = []
        for events in self.size.history_events:
            path = self.tmp / f"history-{events}.ndjson"
            self.say(f"checker: generating a history of {events:,} events (not timed)")
            spec = generate_history(path, events, partitions=PARTITIONS)
            expected = spec.expected()
            runs = []
            for rep in range(self.opts.repeat):
                run = timed_check(path, self._cli_env())
                run["found_all_injected"] = run.get("found") == expected
                runs.append(run)
                self.say(
                    f"checker {events:,} events run {rep + 1}: {run['wall_s']:.2f} s, "
                    f"peak RSS {run['peak_rss_mb']:.0f} MB"
                )
                if run["wall_s"] > SLOW_RUN_S:
                    break  # too slow to repeat within the bench's time
            file_mb = round(path.stat().st_size / 1e6, 1)
            path.unlink(missing_ok=True)
            wall = _median([r["wall_s"] for r in runs])
            rows.append(
                {
                    "events": spec.events,
                    "rides": spec.rides,
                    "file_mb": file_mb,
                    "injected": spec.injected,
                    "expected": expected,
                    "wall_s": _r(wall, 3),
                    "cpu_s": _r(_median([r["cpu_s"] for r in runs]), 3),
                    "peak_rss_mb": _r(max(r["peak_rss_mb"] for r in runs), 1),
                    "s_per_million": _r(wall / spec.events * 1e6, 3) if wall else None,
                    "found_all_injected": all(r["found_all_injected"] for r in runs),
                    "run_count": len(runs),
                    "exit_codes": sorted({r["exit_code"] for r in runs}),
                    "runs": runs,
                }
            )
        marginal_costs(rows)
        return {
            "command": "ridectl check --from FILE --format json",
            "slow_run_s": SLOW_RUN_S,
            "sizes": rows,
        }

    def _cli_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
        env["RIDECTL_HOME"] = str(self.tmp / "home")
        env["NO_COLOR"] = "1"
        env.setdefault("COLUMNS", "120")
        return env

    # ------------------------------------------------------------------ 5: first lesson
    def first_lesson(self) -> dict[str, Any]:
        env = self._cli_env()
        listing = subprocess.run(
            [*_ridectl(), "demo", "--list"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        m = re.search(r"^\s*1\.\s+(\S+?):", listing.stdout, re.MULTILINE)
        if listing.returncode != 0 or m is None:
            return {"available": False, "note": "not available yet (no `ridectl demo` command)"}
        first = m.group(1)
        out: dict[str, Any] = {"available": True, "first_lesson": first}
        runs = []
        for rep in range(self.opts.repeat):
            runs.append(self._demo(["--fast", "--scenario", first], env))
            self.say(f"first lesson ({first}) run {rep + 1}: {runs[-1]['wall_s']:.1f} s")
        out["first_lesson_runs"] = runs
        out["first_lesson_s"] = _median([r["wall_s"] for r in runs])
        out["first_lesson_exit_codes"] = sorted({r["exit_code"] for r in runs})
        whole = self._demo_stream(env, to_the_end=self.size.whole_demo)
        self.say(
            f"demo --fast: first lesson done after {_num_or(whole.get('first_lesson_s'))} s, "
            f"stopped or ended after {whole['wall_s']:.1f} s"
        )
        out["whole_demo"] = whole
        return out

    def _demo_stream(self, env: dict[str, str], *, to_the_end: bool) -> dict[str, Any]:
        """Run ``ridectl demo --fast`` once, reading its output as it comes: when the second
        lesson's heading appears the first lesson is over. Stopped there unless ``to_the_end``;
        never allowed more than DEMO_CAP_S."""
        cmd = [*_ridectl(), "demo", "--fast", "-b", self.bootstrap]
        lines: queue.Queue[tuple[float, str] | None] = queue.Queue()
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**env, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,  # its own process group, so its helpers stop with it
        )

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put((time.perf_counter(), line))
            lines.put(None)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        deadline = t0 + DEMO_CAP_S
        result: dict[str, Any] = {"first_lesson_s": None, "stopped": None}
        last = ""
        while True:
            try:
                item = lines.get(timeout=max(0.05, deadline - time.perf_counter()))
            except queue.Empty:
                result["stopped"] = f"still running after {DEMO_CAP_S:g} s"
                break
            if item is None:
                break
            stamp, line = item
            if line.strip():
                last = line.strip()
            if result["first_lesson_s"] is None and _SECOND_LESSON.search(line):
                result["first_lesson_s"] = round(stamp - t0, 2)
                if not to_the_end:
                    result["stopped"] = "after the first lesson (size small)"
                    break
        if result["stopped"] is not None:
            _stop_group(proc)
        code = proc.wait(timeout=60)
        result["wall_s"] = round(time.perf_counter() - t0, 2)
        result["exit_code"] = None if result["stopped"] else code
        if result["stopped"] is None:
            result["last_line"] = last[:200]
        reader.join(timeout=5)
        return result

    def _demo(self, args: list[str], env: dict[str, str], timeout_s: float = 300) -> dict[str, Any]:
        cmd = [*_ridectl(), "demo", *args, "-b", self.bootstrap]
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, env=env, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            return {
                "wall_s": round(time.perf_counter() - t0, 2),
                "exit_code": None,
                "note": "timed out",
            }
        wall = time.perf_counter() - t0
        result: dict[str, Any] = {"wall_s": round(wall, 2), "exit_code": proc.returncode}
        if proc.returncode not in (0, 1):
            lines = proc.stderr.strip().splitlines() or ["no output"]
            result["note"] = lines[-1][:200]
        elif proc.returncode == 1:
            result["note"] = "a lesson did not show what it promised (exit 1)"
        return result

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
            "wall_s": _median([r["wall_s"] for r in runs]),
            "ready_after_s": _median([r["ready_after_s"] for r in runs]),
            "runs": runs,
            "note": "fresh state directory (storage formatted), jars already cached",
        }


def _num_or(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f}"


def _stop_group(proc: subprocess.Popen[str]) -> None:
    """Stop a child started in its own session, with everything it started."""
    for sig, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def _run_id() -> str:
    from ridectl.runs import new_run_id

    return new_run_id()


def _ridectl() -> list[str]:
    return [sys.executable, "-m", "ridectl"]


def _sample_dict(sample: ProduceSample) -> dict[str, Any]:
    return {
        "records": sample.records,
        "acked": sample.acked,
        "elapsed_s": round(sample.elapsed_s, 3),
        "records_per_s": round(sample.records_per_s, 1),
        "mib_per_s": round(sample.mib_per_s, 3),
        "p50_ms": _r(sample.p50_ms),
        "p99_ms": _r(sample.p99_ms),
        "error": sample.error,
    }


def _aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the figures of several runs (runs that failed are kept in ``runs``)."""
    good = [r for r in runs if not r.get("error")]
    out: dict[str, Any] = {
        key: _r(_median([r.get(key) for r in good]), 3)
        for key in ("records_per_s", "mib_per_s", "p50_ms", "p99_ms")
    }
    out["failed_runs"] = len(runs) - len(good)
    out["runs"] = runs
    return out


def timed_check(path: Path, env: dict[str, str], timeout_s: float = 600) -> dict[str, Any]:
    """Run ``ridectl check --from path --format json`` as a child process; wall time, CPU
    time and peak RSS of the child (``wait4``), and the counts it found."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [*_ridectl(), "check", "--from", str(path), "--format", "json"],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        deadline = t0 + timeout_s
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                _pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        # ru_maxrss is in KiB on Linux, in bytes on macOS.
        rss = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
        run: dict[str, Any] = {
            "wall_s": round(wall, 3),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
            "peak_rss_mb": round(rss, 1),
            "exit_code": proc.returncode,
        }
        out.seek(0)
        try:
            doc = json.loads(out.read())
        except ValueError:
            err.seek(0)
            lines = err.read().decode(errors="replace").strip().splitlines() or ["no output"]
            run["error"] = lines[-1][:200]
            return run
    run["found"] = found_counts(doc)
    return run


def found_counts(doc: dict[str, Any]) -> dict[str, int]:
    """Violation counts of a ``check --format json`` document, in ``HistorySpec.expected``
    terms (duplicates also split by sub-kind)."""
    by_kind = dict(doc.get("summary", {}).get("by_kind", {}))
    sub = Counter(
        v.get("duplicate_kind") for v in doc.get("violations", []) if v.get("kind") == "duplicate"
    )
    return {
        "out_of_order": int(by_kind.get("out_of_order", 0)),
        "duplicate": int(by_kind.get("duplicate", 0)),
        "duplicate_producer": sub.get("producer", 0),
        "duplicate_redelivery": sub.get("redelivery", 0),
        "missing": int(by_kind.get("missing", 0)),
        "gap": int(by_kind.get("gap", 0)),
        "lost": int(by_kind.get("lost", 0)),
    }


def evaluate_targets(results: dict[str, Any], size: Size) -> list[dict[str, Any]]:
    """The issue's targets, each with its figure and whether it is met (None: not measured)."""
    rows: list[dict[str, Any]] = []

    def add(name: str, target: str, figure: str, met: bool | None) -> None:
        rows.append({"name": name, "target": target, "figure": figure, "met": met})

    floor = TARGETS["produce_ratio"]
    for s in results.get("producer", {}).get("strategies", []):
        ratio = s.get("ridectl_vs_bare")
        each = s.get("ridectl_vs_bare_runs") or []
        spread = f" (runs {min(each):.2f} to {max(each):.2f})" if len(each) > 1 else ""
        add(
            f"produce {s['name']}",
            f"ridectl >= {floor}x bare kafka-python",
            "not measured" if ratio is None else f"{ratio:.2f}x{spread}",
            None if ratio is None else ratio >= floor,
        )
    add_checker_targets(results.get("checker", {}).get("sizes", []), add)
    eps = results.get("consume_check", {}).get("events_per_s")
    add(
        "consume-and-check",
        f">= {TARGETS['consume_check_eps']:,.0f} events/s",
        "not measured" if eps is None else f"{eps:,.0f} events/s",
        None if eps is None else eps >= TARGETS["consume_check_eps"],
    )
    return rows


def add_checker_targets(
    sizes: list[dict[str, Any]], add: Callable[[str, str, str, bool | None], None]
) -> None:
    """The checker's targets: time and memory at one million events (measured, or
    extrapolated along the line through the two largest sizes), and linear growth."""
    rows = sorted((r for r in sizes if r.get("wall_s") is not None), key=lambda r: r["events"])
    limit_s, limit_mb = TARGETS["check_1m_s"], TARGETS["check_1m_rss_mb"]
    exact = [r for r in rows if abs(r["events"] - 1_000_000) <= 10_000]
    if exact:
        secs, rss, how = exact[0]["wall_s"], exact[0]["peak_rss_mb"], ""
    elif len(rows) >= 2:
        a, b = rows[-2], rows[-1]
        frac = (1_000_000 - a["events"]) / (b["events"] - a["events"])
        secs = a["wall_s"] + (b["wall_s"] - a["wall_s"]) * frac
        rss = a["peak_rss_mb"] + (b["peak_rss_mb"] - a["peak_rss_mb"]) * frac
        how = f" (extrapolated from {a['events']:,} and {b['events']:,} events)"
    else:
        add("check 1M events", f"<= {limit_s:g} s end to end", "not measured", None)
        add("check 1M events memory", f"peak RSS <= {limit_mb:g} MB", "not measured", None)
        add("check grows linearly", "flat marginal time per million events", "not measured", None)
        return
    add("check 1M events", f"<= {limit_s:g} s end to end", f"{secs:.2f} s{how}", secs <= limit_s)
    add(
        "check 1M events memory",
        f"peak RSS <= {limit_mb:g} MB",
        f"{rss:.0f} MB{how}",
        rss <= limit_mb,
    )
    # CPU time, not wall time: the growth of the work itself, less disturbed by other load.
    marginal = [r.get("marginal_cpu_s_per_million") for r in rows[1:]]
    if len(marginal) >= 2 and marginal[-2] and marginal[-1] is not None:
        growth = marginal[-1] / marginal[-2]
        tolerance = TARGETS["linear_tolerance"]
        add(
            "check grows linearly",
            f"marginal CPU s per million events from {rows[-2]['events']:,} to "
            f"{rows[-1]['events']:,} <= {tolerance}x that from {rows[-3]['events']:,}",
            f"{marginal[-1]:.2f} vs {marginal[-2]:.2f} CPU s/M ({growth:.2f}x)",
            growth <= tolerance,
        )
    else:
        add("check grows linearly", "flat marginal time per million events", "not measured", None)


def marginal_costs(rows: list[dict[str, Any]]) -> None:
    """Set each size's marginal wall and CPU seconds per million events (from the size before
    it): the start-up of the child process cancels out, what is left is the cost of more
    events."""
    previous: dict[str, Any] | None = None
    for row in sorted(rows, key=lambda r: r["events"]):
        for key in ("wall_s", "cpu_s"):
            name = f"marginal_{key[:-2]}_s_per_million"
            row[name] = None
            if previous is not None and row.get(key) is not None and previous.get(key):
                extra = row["events"] - previous["events"]
                row[name] = round((row[key] - previous[key]) / extra * 1e6, 3)
        previous = row


def run_bench(opts: BenchOptions) -> dict[str, Any]:
    """Run every measurement; returns the results (see ``report.write_results``)."""
    return Bench(opts).run()
