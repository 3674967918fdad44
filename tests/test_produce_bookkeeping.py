"""The producer's per-record bookkeeping, alone (no broker): deliveries noted as they come are
turned into acknowledgements, latencies and error counts; the loop stops at its checkpoints."""

from __future__ import annotations

import random

from ridectl.clients.admin import TopicInfo
from ridectl.clients.base import Delivery
from ridectl.judge.lifecycle import LIFECYCLE_LENGTH, interleaved_schedule
from ridectl.produce import (
    ProduceOptions,
    ProduceResult,
    _send_all,
    ride_ids,
)
from ridectl.produce_loop import PROGRESS_EVERY
from ridectl.produce_loop import Checkpoints as _Checkpoints
from ridectl.produce_outcomes import Outcomes
from ridectl.settings import build_settings


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
    none = _Checkpoints(_options(1000))
    assert none.next(0) == -1
    grow = _Checkpoints(_options(1000, grow_to=9, grow_at=0.5))
    assert grow.next(0) == 2500 and grow.next(2501) == -1
    both = _Checkpoints(_options(1000, grow_to=9, grow_at=0.0, progress=lambda s, a: None))
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
