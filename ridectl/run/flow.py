"""The one experiment every feature runs: client settings + faults + rides -> produce -> read
back -> attach the acknowledgements -> judge -> a typed :class:`Trial`.

``ridectl produce``/``check``, the demo's lessons, the matrix, the failover, ``watch`` and the
benchmark all go through here, so which run is judged (:func:`choose_run`) and where its
acknowledgements come from (:func:`read_back`) are decided in one place. The steps are
exposed on their own too, for the callers that do something between them (the failover
kills a node while the run produces; the CLI saves and prints the run before judging).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from ridectl.clients.settings import ClientSettings
from ridectl.errors import RidectlError
from ridectl.judge.checker import Report, check
from ridectl.judge.history import Ack, History
from ridectl.run import store
from ridectl.run.consume import ConsumeOptions, ConsumeStats, consume
from ridectl.run.options import ProduceOptions, ProduceResult
from ridectl.run.produce import run_produce


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
    last = store.last_run(topic)
    if last is not None:
        return RunChoice(str(last["run_id"]), RunSource.LAST_HERE)
    return RunChoice(None, RunSource.NEWEST_ON_TOPIC)


def produced_run(result: ProduceResult) -> RunChoice:
    """The run just produced, with the acknowledgements its producer saw."""
    return RunChoice(result.run_id, RunSource.PRODUCED, result.acks)


def produce(opts: ProduceOptions) -> ProduceResult:
    """Send one run (the result may come back ``aborted`` or ``interrupted``; see
    :func:`ridectl.run.produce.run_produce`)."""
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
        history.acked = store.load_acks(history.run_id)


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
