"""The one experiment every feature runs: client settings + faults + rides -> produce -> read
back -> attach the acknowledgements -> judge -> a typed :class:`Trial`.

Every history is judged through :func:`judge` (a topic read back, a saved history file through
:func:`judge_file` or :func:`judge_stream`, a lesson's group journals, ``watch``'s live
history, the benchmark's consume-and-check), so a change to how runs are judged lands here
once. Which run is judged (:func:`choose_run`) and where its acknowledgements come from
(:func:`read_back`) are decided here too, and :func:`produce` is what saves a run for the
commands that judge and explain it later. The steps are exposed on their own, for the callers
that do something between them (the failover kills a node while the run produces; ``watch``
judges a history it keeps reading; the CLI prints the run before judging).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import IO, TextIO

from ridectl.clients.settings import ClientSettings
from ridectl.errors import RidectlError
from ridectl.judge.checker import Report, check
from ridectl.judge.history import Ack, History
from ridectl.judge.stream import check_file, check_lines, check_reader
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


def produce(opts: ProduceOptions, *, remember: bool = False) -> ProduceResult:
    """Send one run (the result may come back ``aborted`` or ``interrupted``; see
    :func:`ridectl.run.produce.run_produce`). With ``remember``, the run is saved for the
    commands that judge and explain it later (:func:`ridectl.run.store.remember`); a run that
    cannot be saved still happened, so the result says why in ``not_remembered`` instead of
    failing."""
    result = run_produce(opts)
    if remember:
        try:
            store.remember(result, opts.settings.bootstrap)
        except OSError as exc:
            result.not_remembered = f"could not remember the run under {store.home()}: {exc}"
    return result


def judge(history: History) -> Report:
    """The verdict on a history: per ride, events out of order, duplicated, missing or lost
    (lost only when the history carries its run's acknowledgements)."""
    return check(history)


def judge_file(path: Path, run_id: str | None = None) -> tuple[History, Report]:
    """Read and judge a saved history file (judged as it is read: the history returned holds
    the counts of malformed and foreign lines, not the observations)."""
    return check_file(path, run_id=run_id)


def judge_stream(stream: TextIO, run_id: str | None = None) -> tuple[History, Report]:
    """:func:`judge_file` for a history arriving on a text stream (standard input): read as
    bytes from the binary buffer beneath it, or as lines of text when it has none (a replaced
    stdin may be text only)."""
    raw: IO[bytes] | None = getattr(stream, "buffer", None)
    if raw is None:
        return check_lines(stream, run_id=run_id)
    return check_reader(raw, run_id=run_id)


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
    return Trial(label, result, history, judge(history), stats.rate, stats.records)


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
