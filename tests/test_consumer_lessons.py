"""The consumer-group lessons on the real broker: each must show what its title promises, and
the figures behind the promise are checked here again from the trials' histories."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from ridectl.judge.kinds import DuplicateKind, ViolationKind
from ridectl.scenarios.consumer_lessons import CONSUMER_LESSONS
from ridectl.scenarios.context import DemoContext, Sizes, demo_context
from ridectl.scenarios.lessons import LessonOutcome

pytestmark = pytest.mark.kafka

LESSONS = {lesson.name: lesson for lesson in CONSUMER_LESSONS}


@pytest.fixture
def ctx(kafka_bootstrap: str) -> Iterator[DemoContext]:
    with demo_context(kafka_bootstrap, None, [], Sizes.pick(fast=True)) as context:
        yield context


def _run(name: str, ctx: DemoContext) -> LessonOutcome:
    outcome = LESSONS[name].run(ctx)
    assert outcome.promised, outcome.verdict
    return outcome


def test_crash_before_commit_redelivers_what_was_processed_after_the_last_commit(
    ctx: DemoContext,
) -> None:
    outcome = _run("crash-before-commit", ctx)
    small, big = outcome.trials
    redelivered = []
    for trial in outcome.trials:
        seen = Counter((o.partition, o.offset) for o in trial.history.observations)
        dups = [v for v in trial.report.violations if v.kind is ViolationKind.DUPLICATE]
        for v in dups:
            # evidence: the same (partition, offset) twice, and it really was processed twice
            assert v.duplicate_kind is DuplicateKind.REDELIVERY
            assert v.evidence[0] == v.evidence[1]
            assert seen[v.evidence[0]] == 2
        assert trial.report.by_kind[ViolationKind.OUT_OF_ORDER] == 0
        assert trial.report.by_kind[ViolationKind.LOST] == 0
        assert trial.report.by_kind[ViolationKind.MISSING] == 0
        redelivered.append(len(dups))
    # committing every 50 records repeats more than committing every 5
    assert redelivered[1] > redelivered[0]
    assert redelivered[1] <= 50 and redelivered[0] <= 5
    assert small.run.acked == big.run.acked == small.run.sent


def test_auto_commit_crash_skips_committed_events(ctx: DemoContext) -> None:
    outcome = _run("auto-commit", ctx)
    (trial,) = outcome.trials
    processed = {(o.partition, o.offset) for o in trial.history.observations}
    acked = {(a.partition, a.offset) for a in trial.run.acks}
    never = acked - processed
    assert never, "some acknowledged events were never processed"
    assert trial.report.by_kind[ViolationKind.OUT_OF_ORDER] == 0
    # Committed past and never processed: skipped, not lost and not missing.
    assert trial.report.by_kind[ViolationKind.SKIPPED] == len(never)
    assert trial.report.by_kind[ViolationKind.LOST] == 0
    assert trial.report.by_kind[ViolationKind.MISSING] == 0
    committed = trial.history.committed
    assert committed is not None
    for v in trial.report.violations:
        assert v.kind is ViolationKind.SKIPPED
        ((partition, offset),) = v.evidence
        assert offset < committed[partition]
        assert (partition, offset) not in processed


def test_transactions_read_uncommitted_processes_aborted_rides(ctx: DemoContext) -> None:
    outcome = _run("transactions", ctx)
    uncommitted, committed = outcome.trials
    assert uncommitted.label == "read_uncommitted"
    assert committed.label == "read_committed"
    assert len(uncommitted.history.observations) > len(committed.history.observations)
    aborted = uncommitted.history.aborted
    assert aborted
    reads = [v for v in uncommitted.report.violations if v.kind is ViolationKind.ABORTED_READ]
    # every aborted record was processed by read_uncommitted, and reported once
    assert {v.evidence[0] for v in reads} == aborted
    assert {v.kind for v in uncommitted.report.violations} == {ViolationKind.ABORTED_READ}
    assert committed.report.clean


def test_rebalance_eager_revokes_everything_cooperative_only_what_moves(
    ctx: DemoContext,
) -> None:
    outcome = _run("rebalance", ctx)
    eager, coop = outcome.trials
    assert eager.label.startswith("range") and coop.label.startswith("cooperative-sticky")
    for trial in outcome.trials:
        processed = {(o.partition, o.offset) for o in trial.history.observations}
        # every acknowledged event was processed at least once, and only repeats went wrong
        assert {(a.partition, a.offset) for a in trial.run.acks} <= processed
        kinds = {v.kind for v in trial.report.violations}
        assert kinds <= {ViolationKind.DUPLICATE}
        for v in trial.report.violations:
            assert v.duplicate_kind is DuplicateKind.REDELIVERY


@pytest.mark.parametrize(
    "broker_says, timeout_ms",
    [(None, 6000), ("abc", 6000), ("500", 1000), ("1000", 1000), ("6000", 6000)],
)
def test_lessons_ask_for_the_shortest_session_allowed(
    monkeypatch: pytest.MonkeyPatch, broker_says: str | None, timeout_ms: int
) -> None:
    from ridectl.scenarios import group_setup

    monkeypatch.setattr(group_setup, "broker_setting", lambda settings, name: broker_says)
    ctx = SimpleNamespace(settings=None)
    session = group_setup.shortest_session(ctx)  # type: ignore[arg-type]
    assert session.timeout_ms == timeout_ms
    assert 0 < session.heartbeat_ms <= timeout_ms // 5


def test_local_broker_allows_a_one_second_session(kafka_cluster: object, ctx: DemoContext) -> None:
    from ridectl.broker.config import GROUP_MIN_SESSION_TIMEOUT_MS
    from ridectl.scenarios.group_setup import shortest_session

    session = shortest_session(ctx)
    if kafka_cluster is None:  # a broker we did not start: at least its (unknown) floor
        assert session.timeout_ms >= 1000
    else:
        assert session.timeout_ms == GROUP_MIN_SESSION_TIMEOUT_MS == 1000
        assert session.why == "the shortest the broker allows"
