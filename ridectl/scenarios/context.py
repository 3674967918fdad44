"""What the experiments of one ``ridectl demo`` or ``matrix`` share: the connection, the sizes
of the runs, the topics to delete at the end, and running independent experiments side by
side."""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from ridectl.clients.admin import delete_many
from ridectl.clients.registry import DEFAULT_CLIENT, ClientName
from ridectl.clients.settings import ClientSettings, build_settings
from ridectl.faults.spec import FaultSpec
from ridectl.run.flow import Experiment, Trial, run
from ridectl.run.options import ProduceOptions

T = TypeVar("T")


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
class DemoContext:
    """Shared by the experiments of one ``ridectl demo`` or ``matrix``: connection, sizes,
    topic clean-up."""

    settings: ClientSettings
    sizes: Sizes
    seed: int = 7
    keep_topics: bool = False
    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    topics: list[str] = field(default_factory=list)

    def topic(self, lesson: str, suffix: str = "") -> str:
        name = f"ridectl-demo-{lesson}{'-' + suffix if suffix else ''}-{self.tag}"
        self.topics.append(name)
        return name

    def cleanup(self) -> None:
        if self.keep_topics:
            return
        with contextlib.suppress(Exception):  # best effort: the lessons' results stand
            delete_many(self.settings, self.topics)
        self.topics.clear()

    def with_settings(self, producer: Mapping[str, str]) -> ClientSettings:
        """The demo's connection settings plus producer settings by Java name."""
        merged = ClientSettings(self.settings.bootstrap, dict(self.settings.values))
        for key, value in producer.items():
            merged.set(key, value, origin="demo")
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
        faults: Sequence[FaultSpec] = (),
        workers: int = 1,
        key_by: str = "ride",
        hot_share: float = 0.5,
        grow_to: int | None = None,
        second_partitioner: str | None = None,
        client: ClientName = DEFAULT_CLIENT,
        second_client: ClientName | None = None,
    ) -> Trial:
        """One experiment of a lesson: the demo's connection plus ``producer`` settings (Java
        names), on ``topic``, produced by ``client`` (the events of a second service by
        ``second_client``), read back by ``workers`` threads and judged."""
        opts = ProduceOptions(
            topic=topic,
            rides=rides,
            settings=self.with_settings(producer or {}),
            keyed=keyed,
            partitions=partitions,
            seed=self.seed,
            faults=faults,
            key_by=key_by,
            hot_share=hot_share,
            grow_to=grow_to,
            second_partitioner=second_partitioner,
            client=client,
            second_client=second_client,
        )
        return run(Experiment(opts, read_settings=self.settings, workers=workers, label=label))

    def at_once(self, *runs: Callable[[], T]) -> list[T]:
        """Run independent experiments side by side (each with its own topic, producer,
        fault proxy and reader) and return their results in the order given. Most of a run's
        time is waiting (a JVM starting, answers from the broker, a retry's back-off), so the
        waits overlap. The first failure is raised once every run has ended."""
        return concurrently(runs)


def in_background(work: Callable[[], T], name: str = "ridectl-run") -> Future[T]:
    """Start ``work`` in a thread of its own; its result (or exception) comes in the future.
    The thread is a daemon: an interrupted ridectl exits without waiting for it (the clients'
    and proxies' child processes end with their stdin)."""
    future: Future[T] = Future()

    def target() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(work())
        except BaseException as exc:  # handed to whoever waits for the result
            future.set_exception(exc)

    threading.Thread(target=target, name=name, daemon=True).start()
    return future


def concurrently(runs: Sequence[Callable[[], T]]) -> list[T]:
    """Call each of ``runs`` in a thread of its own; the results in order, or the first
    failure (by position) once all have ended."""
    if len(runs) <= 1:
        return [r() for r in runs]
    futures = [in_background(r) for r in runs]
    wait(futures)
    return [f.result() for f in futures]


@contextlib.contextmanager
def demo_context(
    bootstrap: str | None,
    config: Path | None,
    x: list[str],
    sizes: Sizes,
    *,
    seed: int = 7,
    keep_topics: bool = False,
) -> Iterator[DemoContext]:
    """A demo context on the given connection; its topics are deleted when it closes."""
    ctx = DemoContext(build_settings(bootstrap, config, x), sizes, seed, keep_topics)
    try:
        yield ctx
    finally:
        ctx.cleanup()
