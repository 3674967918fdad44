"""The timeout-gaps lesson on the real broker: an idempotent librdkafka producer whose queued
records expire behind a held answer loses middle stages of rides, with nothing out of order,
and every lost event was reported to the producer as timed out. Checked from the trial's own
data (delivery reports, acknowledgements, what was read back, the proxy's request log)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import pytest

from ridectl.judge.kinds import ViolationKind
from ridectl.scenarios.context import DemoContext, Sizes, demo_context
from ridectl.scenarios.gap_lessons import GAP_LESSONS, TIMED_OUT, gap_figures

pytestmark = pytest.mark.kafka


@pytest.fixture
def ctx(kafka_bootstrap: str) -> Iterator[DemoContext]:
    with demo_context(kafka_bootstrap, None, [], Sizes.pick(fast=True)) as context:
        yield context


def test_timed_out_records_leave_gaps_and_nothing_out_of_order(ctx: DemoContext) -> None:
    (lesson,) = GAP_LESSONS
    outcome = lesson.run(ctx)
    assert outcome.promised, outcome.verdict
    (trial,) = outcome.trials
    run, report = trial.run, trial.report
    assert run.fault_stats is not None and run.fault_stats.faults_injected == {"delay": 1}

    assert report.by_kind[ViolationKind.GAP] > 0
    assert report.by_kind[ViolationKind.OUT_OF_ORDER] == 0
    assert report.by_kind[ViolationKind.DUPLICATE] == 0
    assert report.by_kind[ViolationKind.LOST] == 0

    # Every acknowledged event is in the log, at the partition and offset of its ack.
    placed = {(o.ride_id, o.seq): (o.partition, o.offset) for o in trial.history.observations}
    for ack in run.acks:
        assert placed[(ack.ride_id, ack.seq)] == (ack.partition, ack.offset)
    # Every event that is not in the log had its delivery fail, with a timeout.
    failed = {(f.ride_id, f.seq): f.error for f in run.failures}
    assert set(failed.values()) == {TIMED_OUT}
    sent = {(a.ride_id, a.seq) for a in run.acks} | set(failed)
    assert len(sent) == run.sent
    missing = sent - set(placed)
    assert missing and missing <= set(failed)

    # A gap is a timed-out stage of a ride with a later stage in the log; a missing one has
    # none after it. Both are events that never reached the log.
    stages: dict[str, set[int]] = defaultdict(set)
    for ride_id, seq in placed:
        stages[ride_id].add(seq)
    for v in report.violations:
        assert v.kind in (ViolationKind.GAP, ViolationKind.MISSING), v
        assert (v.ride_id, v.seq) in missing
        later = any(s > v.seq for s in stages[v.ride_id])
        assert later == (v.kind is ViolationKind.GAP), v

    # The mechanism, from the proxy's request log: the lost events were never carried by any
    # produce request (they expired in the client's queue), and the events that timed out yet
    # are in the log were carried by the held request or the ones behind it on its connection.
    fig = gap_figures(trial)
    assert fig.never_written == missing
    assert fig.never_sent == missing
    assert fig.persisted_behind_hold == len(fig.possibly_persisted)
    assert fig.possibly_persisted == set(failed) & set(placed)
