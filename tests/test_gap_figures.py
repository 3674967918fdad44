"""``gap_figures`` alone, on a made-up run: which events were never written, which failures
were written anyway, and what the proxy's request log says about them."""

from __future__ import annotations

from ridectl.clients.admin import TopicInfo
from ridectl.faults.requests import EventRef, RequestRecord
from ridectl.faults.stats import ProxyStats
from ridectl.judge.checker import check
from ridectl.judge.history import Ack, History, Observation
from ridectl.run.flow import Trial
from ridectl.run.options import FailedEvent, ProduceResult
from ridectl.scenarios.gap_lessons import gap_figures

TOPIC = "t"


def _request(
    number: int, connection: int, *events: tuple[str, int], fault: str | None = None
) -> RequestRecord:
    refs = tuple(EventRef(r, s, TOPIC, 0) for r, s in events)
    return RequestRecord(number, connection, (f"{TOPIC}:0",), refs, len(refs), fault=fault)


def _stats(*log: RequestRecord, dropped: int = 0) -> ProxyStats:
    return ProxyStats(
        listen=("127.0.0.1:1",), routes={}, bootstrap="127.0.0.1:1", faults=(),
        connections_total=2, connections_open=0, connections_failed=0, requests_by_api={},
        produce_requests=len(log), faults_injected={}, hit_requests=(), hits_by_fault={},
        rewritten_responses=0, max_in_flight=1, request_log=log, request_log_dropped=dropped,
    )  # fmt: skip


def _trial(stats: ProxyStats | None) -> Trial:
    # ride a: 1 2 written and acked; 3 timed out in the queue; 4 timed out but was written
    # (the held request); 5 written after the stall. ride b: 1 timed out, nothing else sent.
    written = [("a", 1), ("a", 2), ("a", 4), ("a", 5)]
    history = History(
        observations=[Observation(i, r, s, 0, i) for i, (r, s) in enumerate(written)],
        acked=[Ack("a", 1, 0, 0), Ack("a", 2, 0, 1), Ack("a", 5, 0, 3)],
    )
    run = ProduceResult("run", TopicInfo(TOPIC, 1, True, 1), True, 2, None)
    run.acks = list(history.acked or [])
    run.failures = [FailedEvent(r, s, "_MSG_TIMED_OUT") for r, s in [("a", 3), ("a", 4), ("b", 1)]]
    run.errors.update(f.error for f in run.failures)
    run.sent, run.acked, run.fault_stats = 6, 3, stats
    return Trial("made up", run, history, check(history))


def test_figures_from_the_reports_the_log_and_the_request_log() -> None:
    stats = _stats(
        _request(1, 1, ("a", 1), ("a", 2)),
        _request(2, 1, ("a", 4), fault="delay:ms=4000"),
        _request(3, 2, ("a", 5)),
    )
    fig = gap_figures(_trial(stats))
    assert fig.never_written == {("a", 3), ("b", 1)}
    assert fig.unreported == frozenset()
    assert fig.acked_not_written == 0
    assert fig.possibly_persisted == {("a", 4)}
    assert fig.never_sent == {("a", 3), ("b", 1)}
    assert fig.persisted_behind_hold == 1
    assert fig.rides_vanished == 1  # ride b
    assert fig.rides_with_gaps == 1  # ride a, stage 3
    assert fig.failed_by_error == {"_MSG_TIMED_OUT": 3}


def test_a_cut_request_log_or_no_proxy_cannot_tell() -> None:
    for stats in (None, _stats(_request(1, 1, ("a", 1)), dropped=5)):
        fig = gap_figures(_trial(stats))
        assert fig.never_sent is None and fig.persisted_behind_hold is None
        assert fig.never_written == {("a", 3), ("b", 1)}


def test_an_event_carried_by_a_request_is_not_never_sent() -> None:
    stats = _stats(_request(1, 1, ("a", 3)), _request(2, 1, ("a", 4), fault="delay:ms=1"))
    fig = gap_figures(_trial(stats))
    assert fig.never_sent == {("b", 1)}
