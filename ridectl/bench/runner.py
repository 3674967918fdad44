"""Runs every measurement of ``ridectl bench`` in one go, on one broker, and collects the
figures into one JSON-ready dict (``report.py`` turns it into markdown). The sections live in
their own modules (``producers``, ``consuming``, ``children``).

Fairness rules kept throughout:

* every producer run (ridectl with a client, the bare loop of that client) sends the same
  number of records of the same size to a fresh topic with the same partition count, with the
  same acks / idempotence / in-flight / linger / batch settings;
* ridectl and its bare baseline run back to back inside each repetition, in alternating order,
  and their ratio is taken per repetition before the median, so slow drift of a shared machine
  cancels out;
* figures are medians over the repetitions, with CPU time beside wall time.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ridectl.bench import children
from ridectl.bench.children import cli_env
from ridectl.bench.consuming import ConsumeSection
from ridectl.bench.machine import describe_machine
from ridectl.bench.plan import (
    PARTITIONS,
    SIZES,
    Section,
    Size,
)
from ridectl.bench.producers import ProducerSection
from ridectl.bench.stats import median
from ridectl.bench.targets import evaluate_targets
from ridectl.broker.processes import free_port_block
from ridectl.clients.base import ClientName
from ridectl.errors import RidectlError, error_text
from ridectl.versions import KAFKA_VERSION

__all__ = ["SIZES", "BenchOptions", "Section", "Size", "run_bench"]


@dataclass
class BenchOptions:
    size: Size
    #: runs per measurement (the checker, the first lesson, cold starts)
    repeat: int
    #: repetitions of each pair of ridectl and a bare client (producer, consume-and-check)
    pair_repeat: int
    bootstrap: str | None = None
    progress: Callable[[str], None] = field(default=lambda _msg: None)
    #: the clients whose producer and consumer are measured, each beside its bare loop
    clients: tuple[ClientName, ...] = tuple(ClientName)
    #: the parts measured (the others are reported "not measured")
    sections: tuple[Section, ...] = tuple(Section)


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
                "pair_repeat": self.opts.pair_repeat,
                "sections": [x.value for x in self.opts.sections],
                "clients": [c.value for c in self.opts.clients],
                "machine": machine,
                "broker": broker,
                "jars": jars,
            }
            sections: list[tuple[Section, Callable[[], dict[str, Any]]]] = [
                (Section.PRODUCER, self.producer),
                (Section.CONSUME_CHECK, self.consume_check),
                (Section.CHECKER, self.checker),
                (Section.FIRST_LESSON, self.first_lesson),
                (Section.COLD_START, self.cold_start),
            ]
            for section, measure in sections:
                if section not in self.opts.sections:
                    continue
                try:
                    results[section.key] = measure()
                except Exception as exc:  # a failed section is reported, the rest still runs
                    self.say(f"{section.key}: failed: {error_text(exc)}")
                    results[section.key] = {"error": error_text(exc)}
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
        if Section.PRODUCER not in self.opts.sections or ClientName.JAVA not in self.opts.clients:
            return info  # (the tools are ProducerPerformance's, a Java producer reference)
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

    def settings(self, values: dict[str, str] | None = None) -> Any:
        from ridectl.clients.settings import build_settings

        return build_settings(self.bootstrap, None, [], values or {})

    def new_topic(self, kind: str) -> str:
        from ridectl.clients.admin import ensure_topic

        name = _topic(kind)
        ensure_topic(self.settings(), name, PARTITIONS)
        self.topics.append(name)
        return name

    def _delete_topics(self) -> None:
        if not self.topics or not self.opts.bootstrap:
            return  # a broker of our own is wiped as a whole
        from ridectl.clients.admin import delete

        with contextlib.suppress(Exception):
            for name in self.topics:
                delete(self.settings(), name)

    # ------------------------------------------------------------------ 1: producers
    def producer(self) -> dict[str, Any]:
        return ProducerSection(self).run()

    # ------------------------------------------------------------------ 4: consume + check
    def consume_check(self) -> dict[str, Any]:
        return ConsumeSection(self).run()

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
            return {"unavailable": "no Java 17+ found"}
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


def run_bench(opts: BenchOptions) -> dict[str, Any]:
    """Run every measurement; returns the results (see ``report.write_results``)."""
    return Bench(opts).run()
