"""The judge of one entity's order: its order values, taken one at a time as they come.

An *entity* is anything whose events must be seen in the order of an *order key* that rises
with them: a ride and its seq (1..5), an order and its version, a row and its change sequence.
The rules live here, once; a *mapping* says what the entity and its order key are, and which
stream of its values is judged:

* the ride checker (``ridectl.judge.detectors``): entity ``ride_id``, order ``seq``, one stream
  per ride in processing order (across partitions), every value remembered (a ride has five:
  :func:`judge_every_value`);
* the audit (``ridectl.audit``): entity a record key or a JSON path, order a number or a declared
  stage, one stream per entity *and partition* in log order, only the highest value remembered
  (:class:`Track`: memory grows with entities, not records).

The rules, for one stream:

* a value above every value seen before *rises*: nothing to say;
* a value seen before is a *repeat* (``duplicate``): ``redelivery`` when a copy already came
  from the same (partition, offset), else ``producer`` (written twice), named with the first
  copy known. A stream that remembers only its highest value knows only that value's copy;
* a value not seen before, below the highest, is *late* (``out_of_order``), named with the first
  copy of the highest value; its cause comes from the two places (:func:`order_cause`);
* after the stream, the values between a start (declared, or the lowest seen) and the highest
  that never came are *holes* (``gap``, :class:`Holes`), so a late arrival fills a hole rather
  than leaving one; values above the highest up to a declared last one are the missing tail.

An entity whose streams came from more than one partition is *split*: no reader can know the
order of its events across partitions (the ride checker counts such rides and calls their
reorderings ``keying``; the audit reports the split itself).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from enum import Enum
from typing import Generic, TypeVar

import msgspec

from ridectl.judge.kinds import DuplicateKind, OrderCause

#: An order value: an int (seqs, versions, stages by index) or a float (times).
V = TypeVar("V", int, float)


class Step(Enum):
    """What a value that did not rise was."""

    LATE = "late"
    REPEAT = "repeat"


class Sighting(msgspec.Struct, Generic[V], frozen=True, gc=False):
    """One copy of an order value, and where it sat in the log.

    (Sightings and findings are msgspec structs that the garbage collector does not track:
    a checker makes one or two per damaged event, and tracked objects made the collector
    walk a large heap more often.)"""

    value: V
    partition: int
    offset: int

    @property
    def place(self) -> tuple[int, int]:
        return self.partition, self.offset


class Finding(msgspec.Struct, Generic[V], frozen=True, gc=False):
    """A value of a stream that broke a rule, with the copy it is judged against."""

    step: Step
    #: The value that came (late, or again).
    seen: Sighting[V]
    #: LATE: the first copy of the highest value before it; REPEAT: the earlier copy named.
    before: Sighting[V]
    #: LATE only: where the order broke.
    cause: OrderCause | None = None
    #: REPEAT only: written twice, or delivered twice.
    duplicate_kind: DuplicateKind | None = None


def order_cause(ahead: Sighting[V], late: Sighting[V]) -> OrderCause:
    """``ahead`` (a higher value) came before ``late``: where did the order break?

    On different partitions the key split the entity (``keying``); on one partition with the
    higher value at the lower offset the log itself is out of order (``log``); otherwise the
    log holds them in order and the reader took them the other way round (``processing``)."""
    if ahead.partition != late.partition:
        return OrderCause.KEYING
    if ahead.offset < late.offset:
        return OrderCause.LOG
    return OrderCause.PROCESSING


class Track(Generic[V]):
    """One stream of an entity's order values, remembering only the highest one (and where
    its first copy sat): a repeat is known only when it repeats the highest value, and any
    lower value is late."""

    __slots__ = ("top", "top_offset", "top_partition")

    def __init__(self) -> None:
        self.top: V | None = None
        self.top_partition = -1
        self.top_offset = -1

    def see(self, value: V, partition: int, offset: int) -> Finding[V] | None:
        """Take the next value of the stream; a finding when it did not rise."""
        top = self.top
        if top is None or value > top:
            self.top = value
            self.top_partition = partition
            self.top_offset = offset
            return None
        ahead = Sighting(top, self.top_partition, self.top_offset)
        here = Sighting(value, partition, offset)
        if value == top:
            same = ahead.place == here.place
            return _repeat(here, ahead, same)
        return _late(here, ahead)

    @property
    def highest(self) -> Sighting[V] | None:
        """The first copy of the highest value seen (None before any value)."""
        top = self.top
        return None if top is None else Sighting(top, self.top_partition, self.top_offset)


def judge_every_value(stream: Iterable[tuple[V, int, int]]) -> list[tuple[int, Finding[V]]]:
    """A whole stream judged at once, every value remembered with the places of its copies
    (for entities with few values, as a ride's five stages), so any repeat is known as one:
    ``(index, finding)`` for each ``(value, partition, offset)`` that did not rise.

    The same rules as :class:`Track` (which remembers only the highest value), in one loop
    over local variables: a ride checker judges hundreds of thousands of streams."""
    found: list[tuple[int, Finding[V]]] = []
    copies: dict[V, list[tuple[int, int]]] = {}  # value -> distinct places, first one first
    top: Sighting[V] | None = None
    for i, (value, partition, offset) in enumerate(stream):
        place = (partition, offset)
        known = copies.get(value)
        if known is None:  # a new value: it rises or is late
            copies[value] = [place]
            if top is None or value > top.value:
                top = Sighting(value, partition, offset)
            else:
                found.append((i, _late(Sighting(value, partition, offset), top)))
            continue
        here = Sighting(value, partition, offset)
        if place in known:
            found.append((i, _repeat(here, here, True)))
        else:
            found.append((i, _repeat(here, Sighting(value, *known[0]), False)))
            known.append(place)
    return found


def _late(here: Sighting[V], ahead: Sighting[V]) -> Finding[V]:
    return Finding(Step.LATE, here, ahead, cause=order_cause(ahead, here))


def _repeat(here: Sighting[V], before: Sighting[V], same_place: bool) -> Finding[V]:
    kind = DuplicateKind.REDELIVERY if same_place else DuplicateKind.PRODUCER
    return Finding(Step.REPEAT, here, before, duplicate_kind=kind)


def judge_stream(
    stream: Iterable[tuple[V, int, int]], track: Track[V]
) -> Iterator[tuple[int, Finding[V]]]:
    """``(index, finding)`` for each ``(value, partition, offset)`` of ``stream`` that did not
    rise, in stream order."""
    see = track.see
    for i, (value, partition, offset) in enumerate(stream):
        found = see(value, partition, offset)
        if found is not None:
            yield i, found


Place = tuple[int, int]


def _least(a: Place | None, b: Place | None) -> Place | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


class _Ranges:
    """The holes' ranges as parallel lists (made with the first hole: most entities have
    none, and an audit keeps one ``Holes`` per entity)."""

    __slots__ = ("above", "below", "ends", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        #: the place of the value just below / just above each range
        self.below: list[Place | None] = []
        self.above: list[Place | None] = []

    def open(self, i: int, first: int, last: int, below: Place | None, above: Place | None) -> None:
        self.starts.insert(i, first)
        self.ends.insert(i, last)
        self.below.insert(i, below)
        self.above.insert(i, above)

    def fill(self, value: int, place: Place | None) -> None:
        """``value`` came, between the lowest and the highest: it is a hole no more (or, seen
        before, it may border one)."""
        starts, ends = self.starts, self.ends
        i = bisect_right(starts, value) - 1
        if i < 0 or ends[i] < value:
            if i >= 0 and ends[i] + 1 == value:
                self.above[i] = _least(self.above[i], place)
            if i + 1 < len(starts) and starts[i + 1] - 1 == value:
                self.below[i + 1] = _least(self.below[i + 1], place)
            return
        start, end = starts[i], ends[i]
        if start == end:
            del starts[i], ends[i], self.below[i], self.above[i]
        elif value == start:
            starts[i], self.below[i] = value + 1, place
        elif value == end:
            ends[i], self.above[i] = value - 1, place
        else:
            ends[i] = value - 1
            self.open(i + 1, value + 1, end, place, self.above[i])
            self.above[i] = place


class Holes:
    """The integer values never seen between the lowest and the highest value seen, kept as
    inclusive ranges (a jump of a million values costs one range, not a million).

    A declared ``start`` (a ride's first stage) counts as seen-from: the values from it up to
    the highest are holes too (the lowest is then the start, or a value seen below it).

    When the caller gives places, each range names the records of the values either side of
    it (the lowest place among their copies), so the same values give the same ranges and
    places whatever order they came in."""

    __slots__ = ("_ranges", "high", "high_place", "low", "low_place")

    def __init__(self, start: int | None = None) -> None:
        self.low = start
        self.high: int | None = None
        self.low_place: Place | None = None
        self.high_place: Place | None = None
        self._ranges: _Ranges | None = None

    def _open(
        self, i: int, first: int, last: int, below: Place | None, above: Place | None
    ) -> None:
        if self._ranges is None:
            self._ranges = _Ranges()
        self._ranges.open(i, first, last, below, above)

    def see(self, value: int, place: Place | None = None) -> None:
        low, high, ranges = self.low, self.high, self._ranges
        if high is None:  # the first value (low is the declared start, if any)
            if low is not None and value > low:
                self._open(0, low, value - 1, None, place)
            else:
                self.low, self.low_place = value, place
            self.high, self.high_place = value, place
        elif value > high:
            if value > high + 1:
                end = 0 if ranges is None else len(ranges.starts)
                self._open(end, high + 1, value - 1, self.high_place, place)
            self.high, self.high_place = value, place
        elif low is not None and value < low:
            if ranges is not None and ranges.starts and ranges.starts[0] == low:
                ranges.starts[0], ranges.below[0] = value + 1, place  # (the start was a hole)
            elif value < low - 1:
                self._open(0, value + 1, low - 1, place, self.low_place)
            self.low, self.low_place = value, place
        else:
            if value == high:
                self.high_place = _least(self.high_place, place)
            if value == low:
                self.low_place = _least(self.low_place, place)
            if ranges is not None:
                ranges.fill(value, place)

    def ranges(self) -> list[tuple[int, int]]:
        """The holes, lowest first, each ``(first, last)`` inclusive."""
        r = self._ranges
        return [] if r is None else list(zip(r.starts, r.ends, strict=True))

    def borders(self) -> list[tuple[Place | None, Place | None]]:
        """For each range of :meth:`ranges`, the places of the values just below and just
        above it (None where no place was given, or below a declared start)."""
        r = self._ranges
        return [] if r is None else list(zip(r.below, r.above, strict=True))

    def __bool__(self) -> bool:
        return self._ranges is not None and bool(self._ranges.starts)


def beyond(highest: int, last: int) -> range:
    """The values after ``highest`` up to a declared ``last`` one: an entity's missing tail."""
    return range(highest + 1, last + 1)
