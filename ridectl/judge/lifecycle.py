"""The ride lifecycle: five events per ride, and the interleaved schedule a run produces.

A ride emits RideRequested(1) -> DriverAssigned(2) -> RideInProgress(3) -> RideCompleted(4)
-> PaymentProcessed(5). A run interleaves many rides the way real traffic does: a window of
rides is "on the road" at once and each step picks one of them at random to advance.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass

STAGES: tuple[str, ...] = (
    "RideRequested",
    "DriverAssigned",
    "RideInProgress",
    "RideCompleted",
    "PaymentProcessed",
)
#: seq (1-based) -> event type
STAGE_BY_SEQ: dict[int, str] = {i + 1: name for i, name in enumerate(STAGES)}
LIFECYCLE_LENGTH = len(STAGES)

#: Marks our records on a topic; anything without it is "foreign" and skipped.
SCHEMA = "ridectl.ride-event/1"


@dataclass(frozen=True, slots=True)
class RideEvent:
    """One event of one ride, as produced."""

    ride_id: str
    seq: int
    run_id: str
    settings_id: str
    produced_at_ms: float

    @property
    def type(self) -> str:
        return STAGE_BY_SEQ[self.seq]

    def to_json_bytes(self, padding: int = 0) -> bytes:
        doc: dict[str, object] = {
            "schema": SCHEMA,
            "ride_id": self.ride_id,
            "seq": self.seq,
            "type": self.type,
            "run_id": self.run_id,
            "settings": self.settings_id,
            "produced_at_ms": round(self.produced_at_ms, 3),
        }
        if padding > 0:
            doc["pad"] = "x" * padding
        return json.dumps(doc, separators=(",", ":")).encode()


class EventEncoder:
    """Encodes the events of one run fast: the JSON of ``RideEvent.to_json_bytes`` built from
    a byte template per lifecycle step, made once per run, into which only the ride id and
    the send time go (json.dumps per event cost ~15% of a run's send time; a text template
    with four fields and an ``encode()`` still about 2 µs).

    Only values that need no JSON escaping go through the template: ride ids, run ids and the
    settings label are ours and are checked once here."""

    def __init__(self, run_id: str, settings_id: str, padding: int = 0) -> None:
        for text in (run_id, settings_id):
            if json.dumps(text) != f'"{text}"':
                raise ValueError(f"needs JSON escaping: {text!r}")
        pad = f',"pad":"{"x" * padding}"' if padding > 0 else ""
        #: seq -> the event's bytes with ``%s`` for the ride id (bytes) and ``%.3f`` for the
        #: send time in ms
        self.by_seq: dict[int, bytes] = {
            seq: (
                f'{{"schema":"{SCHEMA}","ride_id":"%s","seq":{seq},"type":"{kind}",'
                f'"run_id":"{run_id}","settings":"{settings_id}","produced_at_ms":%.3f{pad}}}'
            ).encode()
            for seq, kind in STAGE_BY_SEQ.items()
        }

    def encode(self, ride_id: str, seq: int, produced_at_ms: float) -> bytes:
        return self.by_seq[seq] % (ride_id.encode(), produced_at_ms)


def interleaved_schedule(
    rides: int, *, seed: int | None, concurrent: int = 64
) -> Iterator[tuple[int, int]]:
    """Yield ``(ride_index, seq)`` pairs: every ride's five events, in lifecycle order per ride,
    interleaved across rides.

    ``concurrent`` rides are open at once; each step advances a random open ride, and a ride
    that finished makes room for the next one. The same arguments and seed give the same
    schedule; ``seed=None`` draws a fresh one.
    """
    if rides <= 0:
        return
    rng = random.Random(seed)
    getrandbits = rng.getrandbits
    next_ride = 0
    open_rides: list[int] = []
    progress: dict[int, int] = {}
    window = max(1, concurrent)
    while open_rides or next_ride < rides:
        while len(open_rides) < window and next_ride < rides:
            open_rides.append(next_ride)
            progress[next_ride] = 0
            next_ride += 1
        # rng.randrange(n), inlined (the same draws: getrandbits of n's bit length until
        # one is below n); the call layers of randrange were a tenth of a send's own cost.
        n = len(open_rides)
        k = n.bit_length()
        slot = getrandbits(k)
        while slot >= n:
            slot = getrandbits(k)
        ride = open_rides[slot]
        progress[ride] += 1
        yield ride, progress[ride]
        if progress[ride] == LIFECYCLE_LENGTH:
            open_rides[slot] = open_rides[-1]
            open_rides.pop()
            del progress[ride]
