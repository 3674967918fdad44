"""The transactions lesson: every ride written in one transaction, a share of them aborted,
read by a read_uncommitted and a read_committed group member side by side."""

from __future__ import annotations

from ridectl.clients.admin import ensure_topic
from ridectl.judge.kinds import ViolationKind
from ridectl.run.flow import Trial
from ridectl.run.options import ProduceResult
from ridectl.run.store import new_run_id
from ridectl.scenarios.children.group_config import Isolation
from ridectl.scenarios.children.transactions import (
    TransactionalOptions,
    TransactionalRun,
    produce_in_transactions,
)
from ridectl.scenarios.context import DemoContext
from ridectl.scenarios.group_run import group_run
from ridectl.scenarios.group_setup import (
    PARTITIONS,
    SETTLE_S,
    judged_trial,
    member_config,
    rides_per_run,
)
from ridectl.scenarios.lesson import Lesson, LessonOutcome


def _transactions(ctx: DemoContext) -> LessonOutcome:
    topic = ctx.topic("transactions")
    run_id = new_run_id()
    ensure_topic(ctx.settings, topic, PARTITIONS)
    trials: list[Trial] = []
    aborted_read: list[int] = []
    committed_read: list[int] = []
    isolations = (Isolation.READ_UNCOMMITTED, Isolation.READ_COMMITTED)
    with group_run(member_config(ctx, topic)) as group:
        # The readers start (and join their groups) while the transactions are written.
        readers = [
            group.start(i.value.replace("_", "-"), isolation=i, group=f"{topic}-{i.value}")
            for i in isolations
        ]
        txn = produce_in_transactions(
            TransactionalOptions(
                topic,
                rides_per_run(ctx) // 2,
                ctx.settings,
                run_id,
                PARTITIONS,
                seed=ctx.seed,
                producers=3,
            )
        )
        ends = txn.ends_with_markers()
        for reader in readers:
            group.wait(
                f"{reader.name} reading the topic",
                lambda r=reader: group.drained(PARTITIONS, [r], ends),  # type: ignore[misc]
                SETTLE_S,
            )
        group.stop_all()
        journal = group.journals()
    produced = _as_produce_result(txn)
    for isolation, reader in zip(isolations, readers, strict=True):
        aborted = frozenset((a.partition, a.offset) for a in txn.aborted_acks())
        history = journal.only(reader.name).history(run_id, txn.acks, aborted)
        events = {(o.ride_id, o.seq) for o in history.observations}
        aborted_read.append(sum(1 for a in txn.aborted_acks() if (a.ride_id, a.seq) in events))
        committed_read.append(sum(1 for a in txn.committed_acks() if (a.ride_id, a.seq) in events))
        trials.append(judged_trial(isolation.value, produced, history))
    committed = len(txn.committed_acks())
    return LessonOutcome(
        promised=aborted_read[0] > 0
        and aborted_read[1] == 0
        and committed_read == [committed, committed]
        and trials[0].report.by_kind[ViolationKind.ABORTED_READ] == aborted_read[0]
        and trials[1].report.clean,
        verdict=f"{len(txn.aborted)} of {txn.rides} rides aborted "
        f"({len(txn.aborted_acks())} events in the log); read_uncommitted processed "
        f"{aborted_read[0]} of them, read_committed {aborted_read[1]}; both processed all "
        f"{committed} committed events: {committed_read[0]} and {committed_read[1]}.",
        trials=trials,
        focus=trials[0],
        compare=True,
    )


def _as_produce_result(txn: TransactionalRun) -> ProduceResult:
    """The transactional run in the shape every trial carries."""
    result = ProduceResult(txn.run_id, txn.topic, True, txn.rides, None)
    result.acks = list(txn.acks)
    result.sent = result.acked = len(txn.acks)
    result.elapsed_s = txn.elapsed_s
    result.per_partition.update(a.partition for a in txn.acks)
    return result


TRANSACTIONS = Lesson(
    "transactions",
    "Aborted transactions are read unless the consumer asks for committed data",
    "Every ride's five events are written in one transaction (three transactional "
    "producers share the rides), and a quarter of the transactions are aborted. An "
    "aborted transaction's records stay in the log, followed by an abort marker. Two "
    "consumers read the topic: one with isolation.level=read_uncommitted (kafka-python's "
    "and the Java client's default), one with read_committed.",
    _transactions,
    "Transactions protect only consumers that ask for it: set isolation.level="
    "read_committed wherever an aborted write must not be acted on (librdkafka already "
    "defaults to it).",
)
