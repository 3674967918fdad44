"""The producer's per-record bookkeeping, alone (no broker): deliveries noted as they come are
turned into acknowledgements, latencies and error counts; the loop stops at its checkpoints."""

from __future__ import annotations

import random
from collections.abc import Sequence

from ridectl.clients.admin import TopicInfo
from ridectl.clients.base import Delivery
from ridectl.clients.settings import build_settings
from ridectl.judge.lifecycle import LIFECYCLE_LENGTH, interleaved_schedule
from ridectl.run.options import ProduceOptions, ProduceResult, ride_ids
from ridectl.run.outcomes import Outcomes
from ridectl.run.produce import _send_all
from ridectl.run.send_loop import PROGRESS_EVERY, Checkpoints


class _InstantProducer:
    """Acknowledges every record at once, on the caller's thread; fails every seventh."""

    def __init__(self) -> None:
        self.on_delivery = print

    def send(self, index: int, key: bytes | None, value: bytes, partition: int | None) -> None:
        if index % 7 == 6:
            self.on_delivery(Delivery(index, -1, -1, "RecordTooLargeException", "too big"))
        else:
            self.on_delivery(Delivery(index, index % 3, index // 3))

    def flush(self, timeout_s: float) -> bool:
        return True


def _options(rides: int, **extra: object) -> ProduceOptions:
    settings = build_settings("127.0.0.1:1", None, [], {})
    return ProduceOptions(topic="t", rides=rides, settings=settings, seed=3, **extra)  # type: ignore[arg-type]


def test_settled_deliveries_become_acks_of_the_right_events_and_counted_errors() -> None:
    seen: list[tuple[int, int]] = []
    opts = _options(40, progress=lambda sent, acked: seen.append((sent, acked)))
    result = ProduceResult("run-1", TopicInfo("t", 3, False, 1), True, 40, 3)
    outcomes = Outcomes(result, ride_ids(40), watch_expiry=False)
    producer = _InstantProducer()
    producer.on_delivery = outcomes.on_delivery
    _send_all(producer, None, opts, result, outcomes)  # type: ignore[arg-type]
    outcomes.settle()
    assert result.sent == 200
    failed = sum(1 for i in range(200) if i % 7 == 6)
    assert result.errors == {"RecordTooLargeException": failed}
    assert len(result.acks) == len(result.latencies_ms) == 200 - failed
    # Each ack names the ride and step that was sent under its index.
    names = ride_ids(40)
    acked = [i for i in range(200) if i % 7 != 6]
    for ack, i in zip(result.acks, acked, strict=True):
        ride, seq = outcomes.sent[i]
        assert (ack.ride_id, ack.seq, ack.partition, ack.offset) == (
            names[ride],
            seq,
            i % 3,
            i // 3,
        )
    assert all(lat >= 0 for lat in result.latencies_ms)
    # Each failed event is named with its ride, step and the client's error.
    assert [(f.ride_id, f.seq, f.error) for f in result.failures] == [
        (names[outcomes.sent[i][0]], outcomes.sent[i][1], "RecordTooLargeException")
        for i in range(200)
        if i % 7 == 6
    ]
    # A second settle adds nothing twice; progress saw the final count.
    outcomes.settle()
    assert len(result.acks) == 200 - failed
    assert seen[-1] == (200, 200 - failed)


def test_checkpoints_cover_progress_and_the_growth_point() -> None:
    every = PROGRESS_EVERY
    none = Checkpoints(_options(1000))
    assert none.next(0) == -1
    grow = Checkpoints(_options(1000, grow_to=9, grow_at=0.5))
    assert grow.next(0) == 2500 and grow.next(2501) == -1
    both = Checkpoints(_options(1000, grow_to=9, grow_at=0.0, progress=lambda s, a: None))
    assert both.next(0) == 0
    assert both.next(1) == every
    assert both.next(every + 1) == 2 * every


def _reference_schedule(rides: int, seed: int, concurrent: int) -> list[tuple[int, int]]:
    """The schedule as first written, with ``random.randrange``."""
    rng = random.Random(seed)
    out: list[tuple[int, int]] = []
    open_rides: list[int] = []
    progress: dict[int, int] = {}
    next_ride = 0
    while open_rides or next_ride < rides:
        while len(open_rides) < concurrent and next_ride < rides:
            open_rides.append(next_ride)
            progress[next_ride] = 0
            next_ride += 1
        slot = rng.randrange(len(open_rides))
        ride = open_rides[slot]
        progress[ride] += 1
        out.append((ride, progress[ride]))
        if progress[ride] == LIFECYCLE_LENGTH:
            open_rides[slot] = open_rides[-1]
            open_rides.pop()
            del progress[ride]
    return out


def test_the_schedule_of_a_seed_is_the_one_randrange_draws() -> None:
    for seed, rides, concurrent in ((7, 500, 64), (1, 300, 1), (42, 1000, 100), (3, 70, 3)):
        got = list(interleaved_schedule(rides, seed=seed, concurrent=concurrent))
        assert got == _reference_schedule(rides, seed, concurrent), (seed, rides, concurrent)


def test_kafka_python_outcomes_reach_the_bookkeeping_as_numbers_or_as_a_failed_delivery() -> None:
    from kafka.errors import KafkaTimeoutError
    from kafka.producer.future import RecordMetadata

    from ridectl.clients.base import AckSink
    from ridectl.clients.kafka_python import _Outcome

    result = ProduceResult("run-1", TopicInfo("t", 3, False, 1), True, 2, 3)
    outcomes = Outcomes(result, ride_ids(2), watch_expiry=True)
    assert isinstance(outcomes, AckSink)
    outcomes.sent = [(0, 1), (1, 1), (0, 2)]
    outcomes.sent_at.extend([0.0, 0.0, 0.0])
    meta = RecordMetadata("t", 2, ("t", 2), 41, 0, None, 6, 100, -1)
    _Outcome(0, outcomes.acked, outcomes)(meta)
    _Outcome(2, outcomes.acked, outcomes)(meta._replace(offset=42))
    _Outcome(1, outcomes.acked, outcomes)(KafkaTimeoutError("Batch expired\nmore"))
    assert outcomes.acknowledged() == 2 and outcomes.first_outcome.is_set()
    # An expired record means the broker stopped answering: the send loop's flag is up.
    assert outcomes.stop and outcomes.broker_gone.is_set()
    outcomes.settle()
    names = ride_ids(2)
    assert [(a.ride_id, a.seq, a.partition, a.offset) for a in result.acks] == [
        (names[0], 1, 2, 41),
        (names[0], 2, 2, 42),
    ]
    assert result.errors == {"KafkaTimeoutError": 1}
    assert [(f.ride_id, f.seq, f.error) for f in result.failures] == [
        (names[1], 1, "KafkaTimeoutError")
    ]


def test_an_adapter_reports_acks_as_numbers_to_a_sink_and_as_deliveries_otherwise() -> None:
    from ridectl.clients.base import ack_receiver

    result = ProduceResult("run-1", TopicInfo("t", 3, False, 1), True, 2, 3)
    outcomes = Outcomes(result, ride_ids(2), watch_expiry=True)
    assert ack_receiver(outcomes) == outcomes.acked  # the sink's own method, no wrapper
    seen: list[Delivery] = []
    ack_receiver(seen.append)(2, 4, 17)
    assert seen == [Delivery(2, 4, 17)]
    assert seen[0].ok


def test_acknowledgements_in_columns_settle_like_single_ones_with_their_shared_arrival() -> None:
    from array import array

    from ridectl.clients.base import AckBatchSink, ack_batch_receiver

    result = ProduceResult("run-1", TopicInfo("t", 3, False, 1), True, 3, 3)
    outcomes = Outcomes(result, ride_ids(3), watch_expiry=True)
    assert isinstance(outcomes, AckBatchSink)
    assert ack_batch_receiver(outcomes) == outcomes.acked_many  # no wrapper
    outcomes.sent = [(0, 1), (1, 1), (2, 1), (0, 2)]
    outcomes.sent_at.extend([0.0, 0.0, 0.0, 0.0])
    clock = iter([1.0, 2.0, 3.0])
    outcomes.clock = lambda: next(clock)
    outcomes.acked_many([], [], [])  # nothing: no arrival noted
    assert not outcomes.first_outcome.is_set()
    outcomes.acked_many(array("q", [3, 0]), array("i", [2, 0]), array("q", [7, 5]))
    outcomes.acked(2, 1, 9)
    outcomes.acked_many((1,), (0,), (6,))
    assert outcomes.acknowledged() == 4 and outcomes.first_outcome.is_set()
    outcomes.settle()
    names = ride_ids(3)
    acks = [(a.ride_id, a.seq, a.partition, a.offset) for a in result.acks]
    got = sorted(zip(acks, result.latencies_ms, strict=True))
    assert got == sorted(
        [
            ((names[0], 2, 2, 7), 1000.0),
            ((names[0], 1, 0, 5), 1000.0),
            ((names[2], 1, 1, 9), 2000.0),
            ((names[1], 1, 0, 6), 3000.0),
        ]
    )
    assert all(type(a.partition) is int and type(a.offset) is int for a in result.acks)
    outcomes.settle()  # nothing twice
    assert len(result.acks) == 4
    # A callback that takes no batches gets one Delivery per record.
    seen: list[Delivery] = []
    ack_batch_receiver(seen.append)([4, 5], [1, 2], [10, 11])
    assert seen == [Delivery(4, 1, 10), Delivery(5, 2, 11)]


class _HoldingProducer:
    """A StagingProducer on the caller's thread: it holds what it is staged, sends the held
    records in two halves (one per wait), acknowledging each with a latency of its own
    (index + 1 ms, as the client measured it), fails a record with ``fail_at`` as if the
    broker were gone, and notes every call."""

    def __init__(self, fail_at: int = -1) -> None:
        self.outcomes: Outcomes | None = None
        self.calls: list[tuple[str, int, int]] = []
        self.held_keys: list[bytes | None] = []
        self.held_values: list[bytes] = []
        self.next = 0
        self.stopped = False
        self.fail_at = fail_at

    def _deliver(self, first: int, end: int) -> None:
        assert self.outcomes is not None
        for index in range(first, end):
            if index == self.fail_at:
                self.outcomes.on_delivery(Delivery(index, -1, -1, "TimeoutException", "gone"))
            else:
                self.outcomes.acked_many([index], [0], [index], [(index + 1) * 1_000_000])

    def send(self, index: int, key: bytes | None, value: bytes, partition: int | None) -> None:
        raise AssertionError("a run built ahead goes in blocks")

    def send_block(self, first: int, keys: Sequence[bytes | None], values: Sequence[bytes]) -> None:
        self.calls.append(("send", first, len(values)))
        self._deliver(first, first + len(values))

    def stage_block(
        self, first: int, keys: Sequence[bytes | None], values: Sequence[bytes]
    ) -> None:
        assert first == len(self.held_keys)
        self.calls.append(("stage", first, len(values)))
        self.held_keys += keys
        self.held_values += values

    def held(self) -> int:
        return len(self.held_keys)

    def start_staged(self) -> None:
        self.calls.append(("start", 0, 0))

    def staged_sent(self, timeout_s: float) -> int | None:
        total = len(self.held_keys)
        if self.stopped or self.next == total:
            return self.next
        end = min(total, self.next + max(1, total // 2))
        self._deliver(self.next, end)
        self.next = end
        return None

    def stop_staged(self) -> None:
        self.calls.append(("stop", self.next, 0))
        self.stopped = True

    def flush(self, timeout_s: float) -> bool:
        return True


def _staged_run(
    producer: _HoldingProducer, budget: int, **extra: object
) -> tuple[ProduceResult, Outcomes, list[tuple[int, int]]]:
    seen: list[tuple[int, int]] = []
    opts = _options(
        40,
        progress=lambda sent, acked: seen.append((sent, acked)),
        stage_budget_bytes=budget,
        **extra,
    )
    result = ProduceResult("run-1", TopicInfo("t", 3, False, 1), True, 40, 3)
    outcomes = Outcomes(result, ride_ids(40), watch_expiry=True)
    producer.outcomes = outcomes
    _send_all(producer, None, opts, result, outcomes)  # type: ignore[arg-type]
    outcomes.settle()
    return result, outcomes, seen


def test_a_run_held_within_its_budget_streams_the_rest_and_reports_the_clients_latencies() -> None:
    from ridectl.clients.base import StagingProducer
    from ridectl.run.send_loop import STAGED_RECORD_COST

    producer = _HoldingProducer()
    assert isinstance(producer, StagingProducer)
    # Room for every record: all held, nothing streamed; no room: every record streamed.
    result, outcomes, seen = _staged_run(producer, 10**9)
    assert [c[0] for c in producer.calls] == ["stage", "start"]
    assert result.sent == len(result.acks) == 200
    producer = _HoldingProducer()
    result, outcomes, seen = _staged_run(producer, 0)
    assert [c[0] for c in producer.calls] == ["send"] and producer.calls[0][1:] == (0, 200)
    producer = _HoldingProducer()
    sizes = [len(v) + len(k or b"") + STAGED_RECORD_COST for k, v in _laid_out()]
    budget = sum(sizes[:121]) - 1  # room for 120 records, not for the 121st
    result, outcomes, seen = _staged_run(producer, budget)
    # Held: records 0-119, staged before the clock, then sent at "start"; the rest streamed.
    assert producer.calls == [("stage", 0, 120), ("start", 0, 0), ("send", 120, 80)]
    assert result.sent == len(result.acks) == 200
    # Each record's latency is the client's own (index + 1 ms), not this process's.
    by_event = {
        (a.ride_id, a.seq): lat for a, lat in zip(result.acks, result.latencies_ms, strict=True)
    }
    names = ride_ids(40)
    for index, (ride, seq) in enumerate(outcomes.sent):
        assert by_event[(names[ride], seq)] == index + 1.0
    # While held records went out, progress showed only those with an outcome as sent.
    assert seen[0] == (60, 60)


def _laid_out() -> list[tuple[bytes | None, bytes]]:
    """The keys and values of ``_staged_run``'s run (all held, as handed over)."""
    producer = _HoldingProducer()
    _staged_run(producer, 10**9)
    return list(zip(producer.held_keys, producer.held_values, strict=True))


def test_a_broker_gone_while_held_records_go_out_stops_them_and_streams_nothing() -> None:
    producer = _HoldingProducer(fail_at=30)
    result, _outcomes, _seen = _staged_run(producer, 10**9)
    # The first half (100 records, one failed) went; the client was told to stop at once.
    assert producer.calls == [("stage", 0, 200), ("start", 0, 0), ("stop", 100, 0)]
    assert (
        result.sent == 100 and len(result.acks) == 99 and result.errors == {"TimeoutException": 1}
    )


def test_only_a_run_built_ahead_for_one_unfaulted_steady_producer_is_held() -> None:
    from ridectl.faults.spec import parse_fault_spec
    from ridectl.run.records import Records
    from ridectl.run.send_loop import SendLoop

    built = Records([b"k"], None, [b"v"], {}, [])
    encoded_late = Records([b"k"], None, None, {}, [])
    producer, plain = _HoldingProducer(), _InstantProducer()

    def loop(records: Records = built, **extra: object) -> SendLoop:
        opts = _options(1, **extra)
        result = ProduceResult("run-1", TopicInfo("t", 3, False, 1), True, 1, 3)
        return SendLoop(opts, Outcomes(result, ride_ids(1), watch_expiry=True), records, print)

    assert loop().staging_possible(producer, True) is producer
    assert loop().staging_possible(producer, False) is None  # two producers
    assert loop().staging_possible(plain, True) is None
    assert loop(encoded_late).staging_possible(producer, True) is None
    assert loop(pace_events_per_s=10.0).staging_possible(producer, True) is None
    assert loop(grow_to=9).staging_possible(producer, True) is None
    assert loop(faults=[parse_fault_spec("delay:ms=1")]).staging_possible(producer, True) is None


def test_held_within_counts_the_records_a_budget_allows() -> None:
    from ridectl.run.send_loop import STAGED_RECORD_COST, held_within

    keys: list[bytes | None] = [b"k", None, b"kk"]
    values = [b"v" * 9, b"v" * 10, b"v" * 8]
    each = 10 + STAGED_RECORD_COST  # every record here is ten bytes of key and value
    assert held_within(keys, values, 0) == 0
    assert held_within(keys, values, each - 1) == 0
    assert held_within(keys, values, each) == 1
    assert held_within(keys, values, 3 * each - 1) == 2
    assert held_within(keys, values, 3 * each) == 3
    assert held_within(keys, values, 10**9) == 3
