"""The ride lifecycle and the interleaved schedule (pure)."""

from __future__ import annotations

import json
from collections import defaultdict

from ridectl.judge.history import parse_ride_event
from ridectl.judge.lifecycle import SCHEMA, STAGES, EventEncoder, RideEvent, interleaved_schedule


def test_schedule_keeps_each_ride_in_lifecycle_order_and_interleaves() -> None:
    steps = list(interleaved_schedule(200, seed=3, concurrent=16))
    assert len(steps) == 1000
    per_ride: dict[int, list[int]] = defaultdict(list)
    for ride, seq in steps:
        per_ride[ride].append(seq)
    assert all(seqs == [1, 2, 3, 4, 5] for seqs in per_ride.values())
    assert len(per_ride) == 200
    # Interleaved: ride 0 does not finish before ride 1 starts.
    first_of_1 = steps.index((1, 1))
    last_of_0 = steps.index((0, 5))
    assert first_of_1 < last_of_0


def test_schedule_is_repeatable_with_a_seed() -> None:
    a = list(interleaved_schedule(100, seed=42))
    assert a == list(interleaved_schedule(100, seed=42))
    assert a != list(interleaved_schedule(100, seed=43))


def test_concurrent_one_is_sequential() -> None:
    steps = list(interleaved_schedule(3, seed=1, concurrent=1))
    assert steps == [(r, s) for r in range(3) for s in range(1, 6)]


def test_fast_encoder_matches_the_reference_json() -> None:
    enc = EventEncoder("run-1", "keyed;inflight=5", padding=7)
    for seq in range(1, 6):
        fast = json.loads(enc.encode("ride-00042", seq, 1700000000000.25))
        event = RideEvent("ride-00042", seq, "run-1", "keyed;inflight=5", 1700000000000.25)
        ref = json.loads(event.to_json_bytes(7))
        assert fast == ref
        assert fast["type"] == STAGES[seq - 1]
        assert fast["schema"] == SCHEMA


def test_parse_ride_event_accepts_ours_and_rejects_foreign() -> None:
    ours = EventEncoder("r", "s").encode("ride-1", 4, 1.0)
    assert parse_ride_event(ours) == ("ride-1", 4, "r")
    for foreign in [
        None,
        b"",
        b"hello",
        b"{not json",
        b'{"schema":"other"}',
        b"[1,2]",
        json.dumps({"schema": SCHEMA, "ride_id": "x", "seq": 9, "run_id": "r"}).encode(),
        json.dumps({"schema": SCHEMA, "ride_id": "x", "seq": True, "run_id": "r"}).encode(),
        b"\xff\xfe",
    ]:
        assert parse_ride_event(foreign) is None
