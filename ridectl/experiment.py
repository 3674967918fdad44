"""The one experiment every feature runs: client settings + faults + rides -> produce -> read
back -> attach the acknowledgements -> judge -> a typed :class:`Trial`.

``ridectl produce``/``check``, the demo's lessons, the matrix, the failover, ``watch`` and the
benchmark all go through here, so which run is judged (:func:`choose_run`) and where its
acknowledgements come from (:func:`read_back`) are decided in one place. The steps are
exposed on their own too, for the callers that do something between them (the failover
kills a node while the run produces; the CLI saves and prints the run before judging).
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ridectl import runs
from ridectl.clients.admin import delete_many
from ridectl.clients.base import ClientName
from ridectl.consume import ConsumeOptions, ConsumeStats, consume
from ridectl.errors import RidectlError
from ridectl.faults.spec import FaultSpec
from ridectl.judge.checker import Report, check
from ridectl.judge.history import Ack, History
from ridectl.produce import ProduceOptions, ProduceResult, run_produce
from ridectl.settings import ClientSettings, build_settings

if TYPE_CHECKING:
    from ridectl.explain import RunEvidence

T = TypeVar("T")


class RunSource(StrEnum):
    """Why a run is the one judged."""

    #: named by the user (``--run-id``)
    NAMED = "named"
    #: produced by this process a moment ago (its acknowledgements are in memory)
    PRODUCED = "produced"
    #: the last run ``ridectl produce`` made to this topic from this machine
    LAST_HERE = "last-here"
    #: none known: the newest run found on the topic while reading it
    NEWEST_ON_TOPIC = "newest-on-topic"


@dataclass(frozen=True)
class RunChoice:
    """Which run to judge, and the acknowledgements to judge it with when already known."""

    run_id: str | None
    source: RunSource
    acks: Sequence[Ack] | None = None

    def announce(self, topic: str) -> str | None:
        """The line telling the user which run is judged (None when it goes without saying)."""
        if self.source is RunSource.LAST_HERE:
            return f"Judging run {self.run_id}, the last one produced to {topic} from here."
        if self.source is RunSource.NEWEST_ON_TOPIC and self.run_id is not None:
            return f"Judging run {self.run_id}, the newest found on {topic} (use --run-id)."
        return None


def choose_run(topic: str, run_id: str | None = None) -> RunChoice:
    """The run a read of ``topic`` judges: the one named, else the last one produced to the
    topic from here, else (decided while reading) the newest one on the topic."""
    if run_id is not None:
        return RunChoice(run_id, RunSource.NAMED)
    last = runs.last_run(topic)
    if last is not None:
        return RunChoice(str(last["run_id"]), RunSource.LAST_HERE)
    return RunChoice(None, RunSource.NEWEST_ON_TOPIC)


def produced_run(result: ProduceResult) -> RunChoice:
    """The run just produced, with the acknowledgements its producer saw."""
    return RunChoice(result.run_id, RunSource.PRODUCED, result.acks)


def produce(opts: ProduceOptions) -> ProduceResult:
    """Send one run (the result may come back ``aborted`` or ``interrupted``; see
    :func:`ridectl.produce.run_produce`)."""
    return run_produce(opts)


def read_back(opts: ConsumeOptions, choice: RunChoice) -> tuple[History, ConsumeStats, RunChoice]:
    """Read the chosen run back and attach its acknowledgements (from memory for a run just
    produced, else from the run record saved by ``produce``). The choice comes back resolved:
    for the newest run on the topic, with the run id that was found."""
    history, stats = consume(replace(opts, run_id=choice.run_id))
    if choice.run_id is None and history.run_id is not None:
        choice = replace(choice, run_id=history.run_id)
    attach_acks(history, choice)
    return history, stats, choice


def attach_acks(history: History, choice: RunChoice) -> None:
    """Give the history the acknowledgements of its run, so the checker can tell events the
    broker lost from events that were never acknowledged."""
    if choice.acks is not None:
        history.acked = list(choice.acks)
    elif history.run_id is not None:
        history.acked = runs.load_acks(history.run_id)


def run_evidence(topic: str, history: History) -> RunEvidence:
    """What the producer of the judged run recorded (where records went and why, the
    acknowledgements, the fault proxy's request log), for ``ridectl explain``; each part is
    None when the run left none (produced elsewhere, or without the proxy)."""
    from ridectl.explain import RunEvidence
    from ridectl.faults.requests import RequestRecord
    from ridectl.placement import Placement

    run_id = history.run_id
    record = None if run_id is None else runs.load_run(run_id)
    placement = None
    saved_placement = None if record is None else record.get("placement")
    if isinstance(saved_placement, dict):
        with contextlib.suppress(ValueError, KeyError, TypeError):
            placement = Placement.from_dict(saved_placement)
    saved = None if run_id is None else runs.load_requests(run_id)
    requests = None
    if saved is not None:
        requests = []
        for doc in saved:
            with contextlib.suppress(ValueError, KeyError, TypeError, IndexError):
                requests.append(RequestRecord.from_dict(doc))
    return RunEvidence(topic, run_id, placement, history.acked, requests)


def trial_evidence(trial: Trial) -> RunEvidence:
    """The same, for a run this process produced (nothing read back from disk)."""
    from ridectl.explain import RunEvidence

    stats = trial.run.fault_stats
    return RunEvidence(
        trial.run.topic.name,
        trial.run.run_id,
        trial.run.placement,
        trial.run.acks,
        None if stats is None else stats.request_log,
    )


@dataclass
class Trial:
    """One produce run, read back and judged."""

    label: str
    run: ProduceResult
    history: History
    report: Report
    consume_rate: float = 0.0
    consumed: int = 0


def judge_produced(label: str, result: ProduceResult, read: ConsumeOptions) -> Trial:
    """Read back and judge a run this process produced."""
    history, stats, _ = read_back(read, produced_run(result))
    return Trial(label, result, history, check(history), stats.rate, stats.records)


@dataclass
class Experiment:
    """One workload: produce with these options, read back with these, judge."""

    produce: ProduceOptions
    #: the consumer's settings (default: the producer's)
    read_settings: ClientSettings | None = None
    workers: int = 1
    label: str = ""


def run(exp: Experiment) -> Trial:
    """Produce, read back and judge; a run the broker stopped acknowledging is an error."""
    result = produce(exp.produce)
    if result.aborted:
        raise RidectlError(result.aborted)
    read = ConsumeOptions(
        topic=exp.produce.topic,
        settings=exp.read_settings or exp.produce.settings,
        workers=exp.workers,
        seed=exp.produce.seed,
    )
    return judge_produced(exp.label, result, read)


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
        faults: Sequence[FaultSpec] = (),
        workers: int = 1,
        key_by: str = "ride",
        hot_share: float = 0.5,
        grow_to: int | None = None,
        second_partitioner: str | None = None,
        client: ClientName = ClientName.KAFKA_PYTHON,
        second_client: ClientName | None = None,
    ) -> Trial:
        """One experiment of a lesson: the demo's connection plus ``producer`` settings (Java
        names), on ``topic``, produced by ``client`` (the events of a second service by
        ``second_client``), read back by ``workers`` threads and judged."""
        opts = ProduceOptions(
            topic=topic,
            rides=rides,
            settings=self.with_settings(**(producer or {})),
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
