"""Gaps under idempotence: records that expire in the producer while later ones are written.

Idempotence keeps the records of one producer and partition in order and written once. It does
not promise that every record is written: a record that waits longer than its delivery timeout
(``delivery.timeout.ms``; librdkafka's ``message.timeout.ms``) is given up on and reported as
failed, and the records behind it carry on. For a ride whose events are spread over time that
is a hole in the middle: 1, 4 and 5 processed, 2 and 3 never.

How the lesson makes it happen, with librdkafka (what its debug log shows, step by step):

1. The producer sends paced rides through the fault proxy. A ``delay`` fault holds the broker's
   answer to one produce request for much longer than the delivery timeout. The request itself
   was written; the answers behind it on that connection wait too (Kafka answers in order).
2. With five requests in flight and none answered, the client sends nothing more; new records
   wait in its queue. Those that wait past ``message.timeout.ms`` time out there, never sent.
3. librdkafka cannot let the records behind them keep the old sequence numbers (the broker
   would wait for the missing ones forever). It waits for its in-flight requests, which time out
   in turn (the held answers never arrive in time, so it drops the connection), then bumps the
   producer epoch and restarts the partition's sequence at the first record still queued.
4. The records produced after that are written. The ones that timed out in the queue are gone,
   each with a ``_MSG_TIMED_OUT`` delivery report.

Evidence in the lesson's figures: every event missing from the log had its delivery fail (a
timeout); every acknowledged event is in the log at its offset; the fault proxy's request log
shows that none of the missing events was ever carried by a produce request; the events that
timed out *and* are in the log are the records of the requests that were in flight when the
client gave up (written by the broker, answer never received: "possibly persisted").
"""

from __future__ import annotations

from dataclasses import dataclass

from ridectl.clients.base import ClientName
from ridectl.clients.setting_names import SettingName
from ridectl.faults.spec import parse_fault_spec
from ridectl.faults.stats import ProxyStats
from ridectl.judge.kinds import ViolationKind
from ridectl.run.flow import Experiment, Trial, run
from ridectl.run.options import ProduceOptions
from ridectl.scenarios.context import DemoContext
from ridectl.scenarios.lessons import Lesson, LessonOutcome

#: The producer: idempotent, acks=all, and a delivery timeout of one second so the lesson takes
#: seconds (librdkafka calls it message.timeout.ms; the Java name is translated).
TIMEOUT_SETTINGS: dict[str, str] = {
    SettingName.ENABLE_IDEMPOTENCE: "true",
    SettingName.ACKS: "all",
    SettingName.DELIVERY_TIMEOUT_MS: "1000",
}
#: Request 11 (a few dozen events into the run) gets its answer 4 s late: four times the
#: delivery timeout, so that records queued behind it time out whatever the machine's load.
TIMEOUT_FAULT = "delay:after=10,first=1,ms=4000"
#: Paced like a live service (3 s of rides), so that rides are under way before, during and
#: after the stall; fixed, not scaled with the demo's size: the effect is one of time.
TIMEOUT_RIDES = 150
EVENTS_PER_S = 250.0
TIMEOUT_PARTITIONS = 3
#: librdkafka's name for a record given up on after message.timeout.ms.
TIMED_OUT = "_MSG_TIMED_OUT"

Event = tuple[str, int]


@dataclass(frozen=True)
class GapFigures:
    """What the timeout run measured, from the producer's reports, the log and the proxy."""

    sent: int
    acked: int
    #: events whose delivery failed, by error name
    failed_by_error: dict[str, int]
    #: sent events that are not in the log
    never_written: frozenset[Event]
    #: never written, yet their delivery did not report a failure (should be none)
    unreported: frozenset[Event]
    #: acknowledged but not in the log (should be none)
    acked_not_written: int
    #: failed, yet in the log: written by a request whose answer the client never got
    possibly_persisted: frozenset[Event]
    #: never written and never carried by any produce request (None: the proxy's request log
    #: was cut short, so it cannot tell)
    never_sent: frozenset[Event] | None
    #: possibly persisted events carried by the held request or one behind it on its
    #: connection (None: cannot tell)
    persisted_behind_hold: int | None
    #: rides none of whose events reached the log (the checker never sees them)
    rides_vanished: int
    #: rides with at least one gap
    rides_with_gaps: int


def _never_sent(stats: ProxyStats | None, missing: frozenset[Event]) -> frozenset[Event] | None:
    if stats is None or stats.request_log_dropped:
        return None
    carried = {(e.ride_id, e.seq) for r in stats.request_log for e in r.events}
    return frozenset(missing - carried)


def _behind_hold(stats: ProxyStats | None, events: frozenset[Event]) -> int | None:
    """How many of ``events`` the held request, or a request after it on its connection,
    carried."""
    if stats is None or stats.request_log_dropped:
        return None
    held = [r for r in stats.request_log if r.fault is not None]
    if len(held) != 1:
        return None
    (hold,) = held
    carried = {
        (e.ride_id, e.seq)
        for r in stats.request_log
        if r.connection == hold.connection and r.number >= hold.number
        for e in r.events
    }
    return len(events & carried)


def gap_figures(trial: Trial) -> GapFigures:
    """The figures of a run, from its producer's reports, what was read back and the proxy."""
    run = trial.run
    written = {(o.ride_id, o.seq) for o in trial.history.observations}
    acked = {(a.ride_id, a.seq) for a in run.acks}
    failed = {(f.ride_id, f.seq) for f in run.failures}
    never_written = frozenset((acked | failed) - written)
    stats = run.fault_stats
    possibly = frozenset(failed & written)
    return GapFigures(
        sent=run.sent,
        acked=run.acked,
        failed_by_error=dict(run.errors),
        never_written=never_written,
        unreported=frozenset(never_written - failed),
        acked_not_written=len(acked - written),
        possibly_persisted=possibly,
        never_sent=_never_sent(stats, never_written),
        persisted_behind_hold=_behind_hold(stats, possibly),
        rides_vanished=len({r for r, _ in acked | failed} - {r for r, _ in written}),
        rides_with_gaps=len(
            {v.ride_id for v in trial.report.violations if v.kind is ViolationKind.GAP}
        ),
    )


def _timeout_gaps(ctx: DemoContext) -> LessonOutcome:
    opts = ProduceOptions(
        topic=ctx.topic("timeout-gaps"),
        rides=TIMEOUT_RIDES,
        settings=ctx.with_settings(TIMEOUT_SETTINGS),
        partitions=TIMEOUT_PARTITIONS,
        seed=ctx.seed,
        faults=[parse_fault_spec(TIMEOUT_FAULT)],
        client=ClientName.LIBRDKAFKA,
        pace_events_per_s=EVENTS_PER_S,
    )
    label = "librdkafka, idempotent, delivery timeout 1 s, one answer held 4 s"
    trial = run(Experiment(opts, read_settings=ctx.settings, label=label))
    fig = gap_figures(trial)
    by_kind = trial.report.by_kind
    holes = [
        (v.ride_id, v.seq)
        for v in trial.report.violations
        if v.kind in (ViolationKind.GAP, ViolationKind.MISSING)
    ]
    failed = sum(fig.failed_by_error.values())
    promised = (
        by_kind[ViolationKind.GAP] > 0
        and by_kind[ViolationKind.OUT_OF_ORDER] == 0
        and by_kind[ViolationKind.DUPLICATE] == 0
        and by_kind[ViolationKind.LOST] == 0
        and fig.acked_not_written == 0
        and not fig.unreported
        and set(fig.failed_by_error) == {TIMED_OUT}
        and set(holes) <= fig.never_written
    )
    return LessonOutcome(
        promised=promised,
        verdict=_verdict(trial, fig, failed),
        trials=[trial],
        focus=trial,
    )


def _verdict(trial: Trial, fig: GapFigures, failed: int) -> str:
    by_kind = trial.report.by_kind
    sent = (
        "the proxy's request log cannot tell how many were ever sent"
        if fig.never_sent is None
        else f"{len(fig.never_sent)} of them were never carried by any produce request"
    )
    return (
        f"{fig.acked} of {fig.sent} events acknowledged, {failed} timed out "
        f"({', '.join(f'{n} {e}' for e, n in sorted(fig.failed_by_error.items()))}); "
        f"{len(fig.never_written)} never reached the log, every one of them reported as failed "
        f"({len(fig.unreported)} unreported), and {sent}; "
        f"{len(fig.possibly_persisted)} timed out but were written anyway; "
        f"{fig.rides_vanished} rides vanished whole. The checker: "
        f"{by_kind[ViolationKind.GAP]} gaps in {fig.rides_with_gaps} rides, "
        f"{by_kind[ViolationKind.MISSING]} missing tails, "
        f"{by_kind[ViolationKind.OUT_OF_ORDER]} out of order, "
        f"{by_kind[ViolationKind.LOST]} acknowledged but lost."
    )


GAP_LESSONS: list[Lesson] = [
    Lesson(
        "timeout-gaps",
        "Idempotence keeps order, not completeness: a delivery timeout leaves holes in rides",
        "An idempotent librdkafka producer sends rides at a steady pace through the fault "
        "proxy, with a delivery timeout of one second. The proxy holds the broker's answer "
        "to one produce request for four seconds. With five requests unanswered the client "
        "stops sending, and the events that wait in its queue for more than a second time "
        "out there. To go on, librdkafka waits for its requests in flight (they time out as "
        "well), starts a new producer epoch and numbers the queued events from zero; "
        "everything produced after that is written.",
        _timeout_gaps,
        "A record that times out is gone for good, and the ones behind it are still written, "
        "so a consumer sees 1, 4, 5 with nothing out of order. Treat a failed delivery report "
        "as data loss for that key (stop, or resend the entity's remaining events in order); "
        "keep delivery.timeout.ms long enough to ride out a slow broker. And a timeout is "
        "not proof that nothing was written: the requests in flight when the client gave up "
        "may have been.",
        overlaps=True,
    ),
]
