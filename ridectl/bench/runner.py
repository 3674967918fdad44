"""Runs every measurement of ``ridectl bench`` in one go, on one broker, and collects the
figures into one ``BenchResults`` (``results.py``; ``report.py`` writes it as JSON and as
markdown). The sections live in their own modules (``producers``, ``consuming``,
``children``) and share the run's state through ``context.BenchContext``, not this module.

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
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from ridectl.bench import children
from ridectl.bench.children import cli_env
from ridectl.bench.consuming import ConsumeSection
from ridectl.bench.context import BenchContext, BenchOptions
from ridectl.bench.machine import describe_machine
from ridectl.bench.plan import SIZES, Section, Size
from ridectl.bench.producers import ProducerSection
from ridectl.bench.results import (
    SCHEMA,
    BenchResults,
    BrokerInfo,
    BrokerStart,
    BrokerStartKind,
    CheckerResult,
    ColdStartResult,
    ColdStartUnavailable,
    ConsumeResult,
    FirstLessonResult,
    JarSet,
    JarSets,
    JarStatus,
    JarsUnavailable,
    LessonsUnavailable,
    ProducerResult,
    SectionFailed,
    ToolJarSet,
)
from ridectl.bench.stats import median
from ridectl.bench.targets import evaluate_targets
from ridectl.broker.processes import free_port_block
from ridectl.clients.base import ClientName
from ridectl.errors import RidectlError, error_text
from ridectl.versions import KAFKA_VERSION

_R = TypeVar("_R")

__all__ = ["SIZES", "BenchOptions", "Section", "Size", "run_bench"]


class Bench(BenchContext):
    """One benchmark run: call ``run()`` once."""

    def __init__(self, opts: BenchOptions) -> None:
        super().__init__(opts)
        #: the start of the bench's own broker, when it started one (a cold start too)
        self.own_start: BrokerStart | None = None

    # ------------------------------------------------------------------ the whole run
    def run(self) -> BenchResults:
        t0 = time.monotonic()
        started = datetime.now(UTC)
        with contextlib.ExitStack() as stack:
            self.tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ridectl-b-")))
            self.java = self._find_java()
            broker = self._broker(stack)
            machine = describe_machine(
                self.java, KAFKA_VERSION if broker.started_by_bench else None
            )
            results = BenchResults(
                schema=SCHEMA,
                date=started.isoformat(timespec="seconds"),
                size=self.size.name,
                repeat=self.opts.repeat,
                pair_repeat=self.opts.pair_repeat,
                sections=list(self.opts.sections),
                clients=list(self.opts.clients),
                machine=machine,
                broker=broker,
                jars=self._jars(),
            )
            if Section.PRODUCER in self.opts.sections:
                results.producer = self._measure(Section.PRODUCER, self.producer)
            if Section.CONSUME_CHECK in self.opts.sections:
                results.consume_check = self._measure(Section.CONSUME_CHECK, self.consume_check)
            if Section.CHECKER in self.opts.sections:
                results.checker = self._measure(Section.CHECKER, self.checker)
            if Section.FIRST_LESSON in self.opts.sections:
                results.first_lesson = self._measure(Section.FIRST_LESSON, self.first_lesson)
            if Section.COLD_START in self.opts.sections:
                results.cold_start = self._measure(Section.COLD_START, self.cold_start)
            self.delete_topics()
        results.targets = evaluate_targets(results)
        results.duration_s = round(time.monotonic() - t0, 1)
        return results

    def _measure(self, section: Section, measure: Callable[[], _R]) -> _R | SectionFailed:
        try:
            return measure()
        except Exception as exc:  # a failed section is reported, the rest still runs
            self.say(f"{section.key}: failed: {error_text(exc)}")
            return SectionFailed(error_text(exc))

    def _find_java(self) -> str | None:
        from ridectl.broker.jars import find_java

        try:
            return find_java()
        except RidectlError as exc:
            self.say(f"java: {exc}")
            return None

    def _broker(self, stack: contextlib.ExitStack) -> BrokerInfo:
        from ridectl.broker.local import LocalCluster

        if self.opts.bootstrap:
            self.bootstrap = self.opts.bootstrap
            return BrokerInfo(bootstrap=self.bootstrap, started_by_bench=False)
        cluster = LocalCluster(self.tmp / "broker")
        port = free_port_block(2)
        self.say(f"starting a local Kafka {KAFKA_VERSION} broker on port {port}")
        t0 = time.perf_counter()
        state, _ = cluster.up(nodes=1, port=port)
        stack.callback(cluster.down, wipe=True)
        self.own_start = BrokerStart(
            wall_s=round(time.perf_counter() - t0, 2),
            ready_after_s=state.ready_after_s,
            which=BrokerStartKind.OWN,
        )
        self.bootstrap = state.bootstrap
        return BrokerInfo(
            bootstrap=self.bootstrap,
            started_by_bench=True,
            ready_after_s=state.ready_after_s,
            heap_mb=512,
        )

    def _jars(self) -> JarSets:
        from ridectl.broker.jars import ensure_jars, jar_dir, jar_set_size

        info = JarSets()
        libs = jar_dir()
        if (libs / ".complete").exists():
            count, size = jar_set_size(libs)
            info.broker = JarSet(jars=count, mb=round(size / 1e6, 1), status=JarStatus.CACHED)
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
            info.tools = ToolJarSet(
                jars=count,
                mb=round(size / 1e6, 1),
                status=JarStatus.CACHED if cached else JarStatus.DOWNLOADED,
                download_s=None if cached else round(time.monotonic() - t0, 1),
            )
        except RidectlError as exc:
            self.tools_note = f"kafka-tools jars unavailable: {exc}"
            info.tools = JarsUnavailable(JarStatus.UNAVAILABLE, str(exc)[:300])
        return info

    # ------------------------------------------------------------------ 1: producers
    def producer(self) -> ProducerResult:
        return ProducerSection(self).run()

    # ------------------------------------------------------------------ 4: consume + check
    def consume_check(self) -> ConsumeResult:
        return ConsumeSection(self).run()

    # ------------------------------------------------------------------ 3: the checker
    def checker(self) -> CheckerResult:
        return children.checker(self.tmp, self.size.history_events, self.opts.repeat, self.say)

    # ------------------------------------------------------------------ 5: first lesson
    def first_lesson(self) -> FirstLessonResult | LessonsUnavailable:
        return children.first_lesson(
            self.bootstrap, cli_env(self.tmp), self.opts.repeat, self.size.whole_demo, self.say
        )

    # ------------------------------------------------------------------ broker cold start
    def cold_start(self) -> ColdStartResult | ColdStartUnavailable:
        from ridectl.broker.local import LocalCluster

        if self.java is None:
            return ColdStartUnavailable("no Java 17+ found")
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
            runs.append(BrokerStart(round(wall, 2), state.ready_after_s, BrokerStartKind.EXTRA))
            self.say(f"broker cold start run {len(runs)}: {wall:.1f} s")
        return ColdStartResult(
            wall_s=median([r.wall_s for r in runs]),
            ready_after_s=median([r.ready_after_s for r in runs]),
            runs=runs,
            note="fresh state directory (storage formatted), jars already cached",
        )


def run_bench(opts: BenchOptions) -> BenchResults:
    """Run every measurement; returns the results (see ``report.write_results``)."""
    return Bench(opts).run()
