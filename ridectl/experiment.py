"""What every lesson needs: a fresh topic, a produce run, a read-back and a verdict."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ridectl.clients.admin import delete
from ridectl.consume import ConsumeOptions, consume
from ridectl.judge.checker import Report, check
from ridectl.judge.history import History
from ridectl.produce import ProduceOptions, ProduceResult, run_produce
from ridectl.settings import ClientSettings, build_settings


@dataclass(frozen=True)
class Sizes:
    """How big each lesson's runs are."""

    rides: int
    #: rides of the lessons that inject faults (every record is its own request there)
    fault_rides: int

    @classmethod
    def pick(cls, fast: bool) -> Sizes:
        return cls(rides=300, fault_rides=200) if fast else cls(rides=2000, fault_rides=1000)


@dataclass
class Trial:
    """One produce run of a lesson, read back and judged."""

    label: str
    run: ProduceResult
    history: History
    report: Report
    consume_rate: float = 0.0


@dataclass
class DemoContext:
    """Shared by the lessons of one ``ridectl demo``: connection, sizes, topic clean-up."""

    settings: ClientSettings
    sizes: Sizes
    seed: int = 7
    keep_topics: bool = False
    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    topics: list[str] = field(default_factory=list)
    #: told (sent events, acknowledged) while a run produces; the CLI draws a progress bar
    progress: Callable[[str, int, int], None] | None = None

    def topic(self, lesson: str, suffix: str = "") -> str:
        name = f"ridectl-demo-{lesson}{'-' + suffix if suffix else ''}-{self.tag}"
        self.topics.append(name)
        return name

    def cleanup(self) -> None:
        if self.keep_topics:
            return
        for topic in self.topics:
            with contextlib.suppress(Exception):
                delete(self.settings, topic)
        self.topics.clear()

    def with_settings(self, **java: str) -> ClientSettings:
        """The demo's connection settings plus producer settings by Java name."""
        merged = ClientSettings(self.settings.bootstrap, dict(self.settings.values))
        for key, value in java.items():
            merged.set(key.replace("_", "."), value, origin="demo")
        return merged

    def trial(
        self,
        label: str,
        topic: str,
        *,
        rides: int,
        keyed: bool = True,
        partitions: int = 6,
        producer: dict[str, str] | None = None,
        faults: Sequence[Any] = (),
        workers: int = 1,
        **options: Any,
    ) -> Trial:
        settings = self.with_settings(**(producer or {}))
        opts = ProduceOptions(
            topic=topic,
            rides=rides,
            settings=settings,
            keyed=keyed,
            partitions=partitions,
            seed=self.seed,
            faults=faults,
            **options,
        )
        if self.progress is not None:
            report_progress = self.progress
            opts.progress = lambda sent, acked: report_progress(label, sent, acked)
        run = run_produce(opts)
        if run.aborted:
            from ridectl.errors import RidectlError

            raise RidectlError(run.aborted)
        history, stats = consume(
            ConsumeOptions(
                topic=topic,
                settings=self.settings,
                run_id=run.run_id,
                workers=workers,
                seed=self.seed,
            )
        )
        history.acked = run.acks
        return Trial(label, run, history, check(history), stats.rate)


@contextlib.contextmanager
def demo_context(
    bootstrap: str | None, config: Any, x: list[str], sizes: Sizes, **kwargs: Any
) -> Iterator[DemoContext]:
    ctx = DemoContext(build_settings(bootstrap, config, x), sizes, **kwargs)
    try:
        yield ctx
    finally:
        ctx.cleanup()
