"""The consumer's half of the story, on the real broker with real group-member processes:
redelivery after a crash, records skipped by auto-commit, and rebalances; the list of consumer
lessons also takes in the transactions lesson (``transaction_lessons``) and the gap lesson
(``gap_lessons``).

Each lesson produces rides, lets member processes (``ridectl.scenarios.children.group_member``)
consume them in a group, does something to the group (a SIGKILL, a new member), then judges the
merged journals of the members with the checker and with figures of its own; what every such
group shares is in ``group_setup``. Lessons have the shape of ``ridectl.scenarios.lesson`` (a
:class:`Lesson` returning a :class:`LessonOutcome`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ridectl.clients.admin import ensure_topic
from ridectl.judge.kinds import ViolationKind
from ridectl.run.flow import Trial
from ridectl.scenarios.children.group_config import Assignor
from ridectl.scenarios.context import DemoContext
from ridectl.scenarios.gap_lessons import GAP_LESSONS
from ridectl.scenarios.group_run import GroupJournal, MemberProcess, group_run
from ridectl.scenarios.group_setup import (
    PARTITIONS,
    SETTLE_S,
    Session,
    judged_trial,
    member_config,
    produce_rides,
    rides_per_run,
    shortest_session,
)
from ridectl.scenarios.lessons import Lesson, LessonOutcome
from ridectl.scenarios.transaction_lessons import TRANSACTIONS


@dataclass(frozen=True)
class CrashFigures:
    """What one crash run measured."""

    commit_every: int
    victim_processed: int
    #: records the killed member processed after its last commit
    uncommitted: int
    #: records processed twice, and how many of them the killed member had left uncommitted
    redelivered: int
    redelivered_uncommitted: int
    #: from the kill to the survivor's first record of a partition it took over
    takeover_s: float


def _crash_run(
    ctx: DemoContext, commit_every: int, kill_after: int, session: Session
) -> tuple[Trial, CrashFigures]:
    topic = ctx.topic("crash", f"every{commit_every}")
    ensure_topic(ctx.settings, topic, PARTITIONS)
    base = member_config(
        ctx,
        topic,
        commit_every=commit_every,
        delay_ms=8.0,
        commit_on_revoke=True,
        session_timeout_ms=session.timeout_ms,
        heartbeat_ms=session.heartbeat_ms,
    )
    with group_run(base) as group:
        victim, survivor = group.start("victim"), group.start("survivor")
        group.wait("both members owning partitions", lambda: group.owns_all(PARTITIONS), SETTLE_S)
        run = produce_rides(ctx, topic, rides_per_run(ctx))
        group.wait(
            f"the victim processing {kill_after} records",
            lambda: len(victim.view.processed) >= kill_after,
            SETTLE_S,
        )
        victim.kill()
        victim_parts = set(victim.view.owned)
        group.wait("the survivor draining the topic", lambda: group.drained(PARTITIONS), SETTLE_S)
        survivor.stop()
        journal = group.journals()
    history = journal.history(run.run_id, run.acks)
    figures = _crash_figures(journal, victim, survivor, victim_parts, commit_every)
    return judged_trial(f"commit every {commit_every}", run, history), figures


def _crash_figures(
    journal: GroupJournal,
    victim: MemberProcess,
    survivor: MemberProcess,
    victim_parts: set[int],
    commit_every: int,
) -> CrashFigures:
    assert victim.killed_ns is not None
    killed = victim.killed_ns
    redelivered = journal.redelivered()
    uncommitted = journal.uncommitted_at_end(victim.name)
    taken = [
        p.ts_ns
        for p in journal.by_member(survivor.name)
        if p.ts_ns > killed and p.partition in victim_parts
    ]
    return CrashFigures(
        commit_every=commit_every,
        victim_processed=len(journal.by_member(victim.name)),
        uncommitted=len(uncommitted),
        redelivered=len(redelivered),
        redelivered_uncommitted=len(redelivered & uncommitted),
        takeover_s=(min(taken) - killed) / 1e9 if taken else float("nan"),
    )


def _crash_before_commit(ctx: DemoContext) -> LessonOutcome:
    small, big = 5, 50
    kill_after = 77  # mid-way between two commits for both intervals
    session = shortest_session(ctx)
    # The two runs are independent (a topic and a group each) and mostly wait for a session
    # to time out: run them side by side.
    with ThreadPoolExecutor(2, thread_name_prefix="crash-run") as pool:
        done = list(
            pool.map(lambda every: _crash_run(ctx, every, kill_after, session), (small, big))
        )
    trials = [t for t, _ in done]
    figures = [f for _, f in done]
    fs, fb = figures
    dup_redelivery = [t.report.by_kind[ViolationKind.DUPLICATE] for t in trials]
    promised = (
        fb.redelivered > 0
        and fb.redelivered > fs.redelivered
        and all(f.redelivered == f.redelivered_uncommitted for f in figures)
        and all(d == f.redelivered for d, f in zip(dup_redelivery, figures, strict=True))
        and all(t.report.by_kind[ViolationKind.LOST] == 0 for t in trials)
    )
    verdict = f"{session.describe()}; " + "; ".join(
        f"commit every {f.commit_every}: killed after {f.victim_processed} records, "
        f"{f.uncommitted} of them uncommitted, {f.redelivered} processed twice "
        f"(survivor took over after {f.takeover_s:.1f}s)"
        for f in figures
    )
    return LessonOutcome(promised, verdict + ".", trials=trials, focus=trials[-1], compare=True)


@dataclass(frozen=True)
class SkipFigures:
    victim_processed: int
    #: acknowledged, below the committed offset, never processed
    skipped: int
    #: acknowledged, at or above the committed offset, never processed (should be none)
    unprocessed_uncommitted: int
    redelivered: int


def _auto_commit(ctx: DemoContext) -> LessonOutcome:
    topic = ctx.topic("autocommit")
    ensure_topic(ctx.settings, topic, PARTITIONS)
    session = shortest_session(ctx)
    base = member_config(
        ctx,
        topic,
        commit_every=None,
        auto_commit_ms=200,
        handoff=True,
        delay_ms=8.0,
        session_timeout_ms=session.timeout_ms,
        heartbeat_ms=session.heartbeat_ms,
    )
    with group_run(base) as group:
        victim = group.start("victim")
        group.start("survivor")
        group.wait("both members owning partitions", lambda: group.owns_all(PARTITIONS), SETTLE_S)
        run = produce_rides(ctx, topic, rides_per_run(ctx))
        group.wait(
            "the victim committing ahead of its work",
            lambda: _ahead(victim) >= 20,
            SETTLE_S,
        )
        victim.kill()
        group.wait("the survivor draining the topic", lambda: group.drained(PARTITIONS), SETTLE_S)
        group.stop_all()
        journal = group.journals()
    history = journal.history(run.run_id, run.acks)
    seen = journal.times_processed()
    skipped = journal.skipped(run.acks)
    unprocessed = {(a.partition, a.offset) for a in run.acks} - set(seen)
    fig = SkipFigures(
        victim_processed=len(journal.by_member(victim.name)),
        skipped=len(skipped),
        unprocessed_uncommitted=len(unprocessed - skipped),
        redelivered=len(journal.redelivered()),
    )
    trial = judged_trial("auto-commit every 200 ms, work handed to a thread", run, history)
    by_kind = trial.report.by_kind
    return LessonOutcome(
        promised=fig.skipped > 0
        and fig.unprocessed_uncommitted == 0
        and by_kind[ViolationKind.SKIPPED] == fig.skipped
        and by_kind[ViolationKind.LOST] == 0
        and by_kind[ViolationKind.MISSING] == 0,
        verdict=f"{session.describe()}: the killed member had processed "
        f"{fig.victim_processed} records; "
        f"{fig.skipped} records were committed but never processed by anyone; "
        f"{fig.redelivered} were processed twice.",
        trials=[trial],
        focus=trial,
    )


def _ahead(member: MemberProcess) -> int:
    """How far the member's commits run ahead of its processing (records)."""
    v = member.view
    done: dict[int, int] = {}
    for rec in v.processed:
        done[rec.partition] = max(done.get(rec.partition, 0), rec.offset + 1)
    committed: dict[int, int] = {}
    for c in v.commits:
        for part, nxt in c.offsets.items():
            committed[part] = max(committed.get(part, 0), nxt)
    return sum(max(0, nxt - done.get(part, 0)) for part, nxt in committed.items())


@dataclass(frozen=True)
class RebalanceFigures:
    assignor: Assignor
    #: the longest time nobody in the group processed anything while the newcomer joined
    pause_ms: float
    #: from the newcomer's request to join to its first processed record
    join_s: float
    #: partitions the first member gave up while the newcomer joined, and those it kept
    revoked: tuple[int, ...]
    kept: tuple[int, ...]
    #: (partition, offset) processed twice
    redelivered: frozenset[tuple[int, int]]

    @property
    def label(self) -> str:
        return f"{self.assignor.value} ({'eager' if self.assignor.eager else 'cooperative'})"


def _rebalance_run(ctx: DemoContext, assignor: Assignor) -> tuple[Trial, RebalanceFigures]:
    topic = ctx.topic("rebalance", assignor.value)
    ensure_topic(ctx.settings, topic, PARTITIONS)
    base = member_config(
        ctx, topic, assignor=assignor, commit_every=25, delay_ms=5.0, max_poll_records=8
    )
    with group_run(base) as group:
        first = group.start("first")
        # The newcomer's process starts now and waits, connected, for the word to join.
        newcomer = group.start("newcomer", hold=True)
        # A backlog that keeps the first member busy for a few seconds: it is still there
        # when the newcomer's join completes, even on a loaded machine.
        run = produce_rides(ctx, topic, 3 * rides_per_run(ctx))
        # Told to join after 60 records. It polls 8 at a time and commits every 25, so the
        # poll where it gives its partitions up falls between two commits.
        group.wait("the first member under way", lambda: len(first.view.processed) >= 60, SETTLE_S)
        group.wait("the newcomer ready to join", lambda: newcomer.view.held, SETTLE_S)
        newcomer.release()
        group.wait("the newcomer processing", lambda: bool(newcomer.view.processed), SETTLE_S)
        kept = tuple(sorted(first.view.owned))
        # The rebalance is over (the newcomer's assignment is final): no more pause per record.
        first.hurry()
        newcomer.hurry()
        group.wait("the group draining the topic", lambda: group.drained(PARTITIONS), SETTLE_S)
        group.stop_all()
        journal = group.journals()
        joined, started = newcomer.view.processed[0].ts_ns, newcomer.view.subscribed_ts
        revoked = sorted(
            {p for ts, parts in first.view.given_up if started <= ts <= joined for p in parts}
        )
    history = journal.history(run.run_id, run.acks)
    fig = RebalanceFigures(
        assignor=assignor,
        pause_ms=journal.longest_pause_ms(started, joined),
        join_s=(joined - started) / 1e9,
        revoked=tuple(revoked),
        kept=kept,
        redelivered=frozenset(journal.redelivered()),
    )
    return judged_trial(fig.label, run, history), fig


def _rebalance(ctx: DemoContext) -> LessonOutcome:
    assignors = (Assignor.RANGE, Assignor.COOPERATIVE_STICKY)
    with ThreadPoolExecutor(2, thread_name_prefix="rebalance-run") as pool:
        done = list(pool.map(lambda a: _rebalance_run(ctx, a), assignors))
    trials = [t for t, _ in done]
    eager, coop = (f for _, f in done)
    verdict = "; ".join(
        f"{f.label}: the first member gave up {len(f.revoked)} of its {PARTITIONS} partitions "
        f"and kept {len(f.kept)}, nobody processed anything for {f.pause_ms:.0f} ms, the "
        f"newcomer's first record came {f.join_s:.1f}s after it asked to join, "
        f"{len(f.redelivered)} records were processed twice"
        for f in (eager, coop)
    )
    # Redelivery can only hit partitions that changed hands or were given up and taken back.
    repeats_where_revoked = all(
        {p for p, _ in f.redelivered} <= set(f.revoked) for f in (eager, coop)
    )
    return LessonOutcome(
        promised=len(eager.revoked) == PARTITIONS
        and 0 < len(coop.revoked) < PARTITIONS
        and bool(coop.kept)
        and repeats_where_revoked,
        verdict=verdict + ".",
        trials=trials,
        focus=max(trials, key=lambda t: len(t.report.violations)),
        compare=True,
    )


CONSUMER_LESSONS: list[Lesson] = [
    Lesson(
        "crash-before-commit",
        "A consumer dies between commits: the group processes some events twice",
        "Two consumer processes share a group and commit their offsets after every N records "
        "they process. One of them is killed (SIGKILL) between two commits. Once its session "
        "times out (they ask for the shortest session the broker allows: 1 s on ridectl's "
        "local broker, 6 s under Kafka's defaults), the other takes over its partitions from "
        "the last committed offset, so the records processed after that commit are processed "
        "a second time. Two runs: N=5 and N=50.",
        _crash_before_commit,
        "A commit marks the point a restart goes back to. Whatever was processed after it is "
        "processed again, so every handler must be idempotent (or the commit must go with the "
        "effect, as with transactions). Committing more often shrinks the repeat, never to "
        "zero.",
    ),
    Lesson(
        "auto-commit",
        "Auto-commit runs ahead of the work: a crash skips events",
        "Two consumer processes with auto-commit every 200 ms. Each hands the records it polls "
        "to a worker thread that takes a few milliseconds per record. Auto-commit commits what "
        "poll has returned, not what the worker has finished; one member is killed while its "
        "queue is full. Once its session times out (the shortest the broker allows), the survivor "
        "resumes from the committed offsets.",
        _auto_commit,
        "Auto-commit is safe only when processing finishes before the next poll. With a queue "
        "or a thread pool in between, commit yourself, and only what has been processed.",
    ),
    TRANSACTIONS,
    Lesson(
        "rebalance",
        "A member joins: eager and cooperative rebalancing",
        "One consumer is working through a backlog, committing every 25 records, when a "
        "second one joins its group. With an eager assignor (range) the first member gives up "
        "all its partitions before the new assignment; with cooperative-sticky it gives up "
        "only the partitions that move, and the newcomer receives them in a second round. Once "
        "the newcomer has processed a record, both work through the rest without pausing.",
        _rebalance,
        "A partition that changes hands goes back to its last commit, so records processed "
        "since are processed again; commit in the revocation callback to avoid that. "
        "Cooperative rebalancing takes away only what moves, but it needs two rounds, which "
        "cost time of their own: compare the pauses measured above.",
    ),
    *GAP_LESSONS,
]
