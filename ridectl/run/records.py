"""The records of a run, laid out before it is sent: the schedule, each record's key and
sender, and (unless encoded at send time) its value. A bare loop of a client builds its
records before its clock starts; ridectl's producer does the same, so the timed part of a
run is the sending alone."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ridectl.clients.base import ProducerClient
from ridectl.judge.lifecycle import EventEncoder, interleaved_schedule

if TYPE_CHECKING:
    from ridectl.run.options import ProduceOptions, ProduceResult
    from ridectl.run.outcomes import Outcomes


def ride_keys(opts: ProduceOptions, ride_ids: list[str]) -> list[bytes] | None:
    """The key of each ride: its id, or its pickup zone (hot keys), or none."""
    if not opts.keyed:
        return None
    if opts.key_by == "ride":
        return [r.encode() for r in ride_ids]
    rng = random.Random(None if opts.seed is None else opts.seed + 1)
    keys: list[bytes] = []
    for _ in ride_ids:
        if opts.zones == 1 or rng.random() < opts.hot_share:
            keys.append(b"zone-airport")
        else:
            keys.append(f"zone-{rng.randrange(1, opts.zones):02d}".encode())
    return keys


#: Runs up to this many records are encoded before the clock starts (about 300 bytes each);
#: larger ones, and paced ones, encode each record as it is sent.
PREBUILD_MAX = 500_000

#: a client's ``send`` (see :class:`ridectl.clients.base.ProducerClient`)
Send = Callable[[int, bytes | None, bytes, int | None], None]


@dataclass
class Records:
    """The records of a run, made before its clock starts: per index (the send order), the
    key and the client that sends it; the values too, unless they are encoded at send time."""

    keys: list[bytes | None]
    sends: list[Send] | None
    values: list[bytes] | None
    #: seq -> the event's bytes with the ride id and the time to fill in, and the ride ids
    templates: dict[int, bytes]
    ride_bytes: list[bytes]


def lay_out(
    producer: ProducerClient,
    other: ProducerClient | None,
    opts: ProduceOptions,
    result: ProduceResult,
    outcomes: Outcomes,
) -> Records:
    """Lay out the whole run before sending (as a bare loop does): the schedule (kept by
    ``outcomes``), each record's key and sender, and its value when the run is sent as fast
    as the client takes it (``produced_at_ms`` is then the moment the run starts)."""
    schedule = list(interleaved_schedule(opts.rides, seed=opts.seed, concurrent=opts.concurrent))
    outcomes.sent = schedule
    by_ride = ride_keys(opts, outcomes.names)
    keys: list[bytes | None] = (
        [None] * len(schedule) if by_ride is None else [by_ride[r] for r, _ in schedule]
    )
    sends: list[Send] | None = None
    if other is not None:
        # A second client (another service, another library) sends some of the steps.
        mine: Send = producer.send
        theirs: Send = other.send
        second = opts.second_seqs
        sends = [theirs if seq in second else mine for _, seq in schedule]
    templates = EventEncoder(result.run_id, result.settings_id, opts.padding).by_seq
    ride_bytes = [n.encode() for n in outcomes.names]
    values = None
    if opts.pace_events_per_s is None and len(schedule) <= PREBUILD_MAX:
        now_ms = time.time() * 1000.0
        values = [templates[seq] % (ride_bytes[ride], now_ms) for ride, seq in schedule]
    return Records(keys, sends, values, templates, ride_bytes)
