"""One detector per anomaly; ``ridectl.judge.checker.check`` composes them (as Jepsen's
analysis composes its duplicate, lost-write, ... cases).

A detector looks at one ride at a time (a :class:`RideView`: the ride's processed events in
processing order) plus the facts of the run that are not observations (:class:`Facts`: the
acknowledgements), and yields the ride's violations of its one rule.

The checker does not show every ride to every detector: a ride processed exactly as
``1 2 3 4 5`` on one partition (a *clean-looking* ride, most of any history) is skipped by a fast
path. So each detector declares ``flags_clean_rides``: whether such a ride can violate its
rule. One that can is shown every ride, unless it narrows them with ``extra_rides``. A new
detector must make that declaration (a class that leaves it out fails at import), and the tests
hold every detector that says False to it on clean-looking rides.

The order rules themselves (late, repeated and never-seen values) are the generic judge's
(``ridectl.judge.entity``); this module is its ride mapping: entity ``ride_id``, order
``seq``, one stream per ride in processing order, every value remembered
(``judge_every_value``), holes counted from the first stage, and the tail up to the last one.
The detectors turn the judge's findings into ride violations (labels, consequences,
processing positions) and add the rules that need the run's other facts (acknowledgements,
commits, aborted transactions).

Adding an anomaly: a member of ``ViolationKind`` (``kinds.py``), a detector class here, listed
in ``DETECTORS``; a mark for the table in ``ridectl.output.report`` if it needs one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from itertools import compress
from operator import attrgetter
from typing import ClassVar

from ridectl.judge.entity import Finding, Holes, Step, beyond, judge_every_value
from ridectl.judge.history import Ack, History, Observation
from ridectl.judge.kinds import (
    ABORTED_CONSEQUENCE,
    ABSENT_CONSEQUENCES,
    CONSEQUENCES,
    DUPLICATE_CONSEQUENCES,
    DuplicateKind,
    ViolationKind,
    at,
    label,
)
from ridectl.judge.lifecycle import LIFECYCLE_LENGTH
from ridectl.judge.verdict import Violation

ALL_SEQS = range(1, LIFECYCLE_LENGTH + 1)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the run knows besides the observations, indexed once per check."""

    #: (ride_id, seq) -> the first acknowledgement of that event, acknowledgements of aborted
    #: transactions left out (nobody should process those), for every ride or for the rides
    #: named to ``for_rides``; None when acks are unknown.
    acks: dict[tuple[str, int], Ack] | None
    #: Rides with at least one acknowledged event (of a transaction not aborted).
    acked_rides: frozenset[str]
    #: The group's committed offset per partition, when known.
    committed: dict[int, int] | None = None
    #: ``(partition, offset)`` of the records of aborted transactions.
    aborted: frozenset[tuple[int, int]] = frozenset()
    #: Rides with a processed event at an aborted ``(partition, offset)``.
    aborted_rides: frozenset[str] = frozenset()
    #: The acknowledgements ``acks`` is made of, in the order they came.
    kept: Sequence[Ack] = ()

    @classmethod
    def of(cls, history: History, rides: AbstractSet[str] | None = None) -> Facts:
        """The facts of ``history``; only the acknowledgements of ``rides`` are indexed when
        it is given (a check indexes those of the rides it judges, not of every ride)."""
        aborted = history.aborted or frozenset()
        aborted_rides = (
            frozenset(r for r, p, o in history.places() if (p, o) in aborted)
            if aborted
            else frozenset()
        )
        if history.acked is None:
            return cls(None, frozenset(), history.committed, aborted, aborted_rides)
        kept = history.acked
        if aborted:
            kept = [a for a in kept if (a.partition, a.offset) not in aborted]
        acked_rides = frozenset([a.ride_id for a in kept])  # (faster than map(attrgetter))
        acks = _first_acks(kept, rides)
        return cls(acks, acked_rides, history.committed, aborted, aborted_rides, kept)

    def for_rides(self, rides: AbstractSet[str]) -> Facts:
        """These facts with the acknowledgements of ``rides`` indexed (only those)."""
        if self.acks is None:
            return self
        return replace(self, acks=_first_acks(self.kept, rides))

    def ack(self, ride_id: str, seq: int) -> Ack | None:
        return None if self.acks is None else self.acks.get((ride_id, seq))

    def committed_past(self, ack: Ack) -> bool:
        """Did the group commit past this acknowledged record?"""
        if self.committed is None:
            return False
        return ack.offset < self.committed.get(ack.partition, -1)


def _first_acks(acks: Sequence[Ack], rides: AbstractSet[str] | None) -> dict[tuple[str, int], Ack]:
    """(ride_id, seq) -> its first acknowledgement, for ``rides`` (every ride when None)."""
    if rides is not None:
        if not rides:
            return {}
        acks = list(compress(acks, map(rides.__contains__, map(_ride_of_ack, acks))))
    index: dict[tuple[str, int], Ack] = {}
    for a in reversed(acks):  # (the first one written last, so it stays)
        index[a.ride_id, a.seq] = a
    return index


_ride_of_ack = attrgetter("ride_id")


@dataclass(frozen=True, slots=True)
class RideView:
    """One ride as a detector sees it."""

    ride_id: str
    #: Every processed copy of the ride's events, in processing order (empty: never seen).
    events: Sequence[Observation]
    #: seq -> index into ``events`` of its first processed copy.
    first: dict[int, int]
    #: The generic judge's findings on the ride's stream of seqs: ``(index into events,
    #: finding)`` for every event that did not rise, in processing order.
    findings: tuple[tuple[int, Finding[int]], ...] = ()

    @classmethod
    def of(cls, ride_id: str, events: Sequence[Observation]) -> RideView:
        first: dict[int, int] = {}
        for i, o in enumerate(events):
            first.setdefault(o.seq, i)
        if len(events) == len(first) and list(first) == sorted(first):
            return cls(ride_id, events, first)  # (rising all the way: the judge finds nothing)
        stream = [(o.seq, o.partition, o.offset) for o in events]
        return cls(ride_id, events, first, tuple(judge_every_value(stream)))

    def unprocessed(self) -> Iterator[int]:
        """Seqs of the lifecycle with no processed copy, in order."""
        return (s for s in ALL_SEQS if s not in self.first)

    def holes(self) -> Iterator[int]:
        """Seqs never processed below the highest one processed (from the first stage)."""
        if len(self.first) == max(self.first, default=0):
            return iter(())  # (every seq from the first one up to the highest was processed)
        holes = Holes(start=ALL_SEQS.start)
        for s in self.first:
            holes.see(s)
        return (s for first, last in holes.ranges() for s in range(first, last + 1))

    def tail(self) -> range:
        """Seqs after the highest one processed (all of them for a ride never seen)."""
        return beyond(max(self.first, default=0), ALL_SEQS[-1])


class Detector(ABC):
    """Finds the violations of one rule in one ride."""

    kind: ClassVar[ViolationKind]
    #: Can a ride processed as ``1 2 3 4 5`` on one partition violate this rule?
    flags_clean_rides: ClassVar[bool]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("kind", "flags_clean_rides"):
            if name not in cls.__dict__:
                raise TypeError(f"detector {cls.__name__} must declare {name}")

    def extra_rides(self, seen: AbstractSet[str], facts: Facts) -> Collection[str] | None:
        """Rides this detector must judge besides those the fast path kept: None for every
        ride seen (the safe answer for a detector that can flag clean-looking rides)."""
        return None if self.flags_clean_rides else ()

    def applies(self, facts: Facts) -> bool:
        """Can this rule be broken at all, given the facts (False: ``detect`` yields nothing
        for any ride, and the checker need not ask it)?"""
        return True

    @abstractmethod
    def detect(self, ride: RideView, facts: Facts) -> Iterator[Violation]:
        """The ride's violations of this rule."""


class OutOfOrder(Detector):
    """A first copy processed after the first copy of a higher seq of the same ride (the
    generic judge's *late* values)."""

    kind = ViolationKind.OUT_OF_ORDER
    flags_clean_rides = False

    def detect(self, ride: RideView, facts: Facts) -> Iterator[Violation]:
        for i, found in ride.findings:
            if found.step is not Step.LATE:
                continue
            o, top = ride.events[i], found.before
            yield Violation(
                ride.ride_id,
                self.kind,
                o.seq,
                (top.place, (o.partition, o.offset)),
                f"{label(top.value)} before {label(o.seq)}",
                CONSEQUENCES.get((top.value, o.seq), ""),
                other_seq=top.value,
                position=o.position,
                cause=found.cause,
            )


class Duplicate(Detector):
    """Every processing of a seq after its first one (the generic judge's *repeats*)."""

    kind = ViolationKind.DUPLICATE
    flags_clean_rides = False

    def detect(self, ride: RideView, facts: Facts) -> Iterator[Violation]:
        for i, found in ride.findings:
            if found.step is not Step.REPEAT:
                continue
            o, before = ride.events[i], found.before.place
            here = (o.partition, o.offset)
            if found.duplicate_kind is DuplicateKind.REDELIVERY:
                detail = f"{label(o.seq)} delivered twice from {at(*here)}"
            else:
                detail = f"{label(o.seq)} written twice: {at(*before)} and {at(*here)}"
            yield Violation(
                ride.ride_id,
                self.kind,
                o.seq,
                (before, here),
                detail,
                DUPLICATE_CONSEQUENCES.get(o.seq, ""),
                duplicate_kind=found.duplicate_kind,
                position=o.position,
            )


class Missing(Detector):
    """A seq never processed, of a ride that was seen, with no acknowledgement known and no
    later stage processed (the ride's tail is missing)."""

    kind = ViolationKind.MISSING
    flags_clean_rides = False

    def detect(self, ride: RideView, facts: Facts) -> Iterator[Violation]:
        if not ride.events:
            return
        for s in ride.tail():
            if facts.ack(ride.ride_id, s) is None:
                detail = f"{label(s)} never processed"
                yield Violation(ride.ride_id, self.kind, s, (), detail, ABSENT_CONSEQUENCES[s])


class Gap(Detector):
    """A seq never processed, with no acknowledgement known, although a later stage of the
    same ride was processed (a hole in the ride, not a missing tail)."""

    kind = ViolationKind.GAP
    flags_clean_rides = False

    def detect(self, ride: RideView, facts: Facts) -> Iterator[Violation]:
        if not ride.events:
            return
        last = max(ride.first)
        for s in ride.holes():
            if facts.ack(ride.ride_id, s) is None:
                detail = f"{label(s)} never processed, {label(last)} was"
                yield Violation(ride.ride_id, self.kind, s, (), detail, ABSENT_CONSEQUENCES[s])


class Lost(Detector):
    """An acknowledged event never processed, the group not having committed past it (rides
    acknowledged but never seen included)."""

    kind = ViolationKind.LOST
    flags_clean_rides = False

    def extra_rides(self, seen: AbstractSet[str], facts: Facts) -> Collection[str]:
        return facts.acked_rides - seen

    def applies(self, facts: Facts) -> bool:
        return facts.acks is not None  # (every event is unacknowledged without them)

    def detect(self, ride: RideView, facts: Facts) -> Iterator[Violation]:
        for s in ride.unprocessed():
            ack = facts.ack(ride.ride_id, s)
            if ack is None or facts.committed_past(ack):
                continue
            where = (ack.partition, ack.offset)
            detail = f"{label(s)} acknowledged at {at(*where)} but never processed"
            yield Violation(ride.ride_id, self.kind, s, (where,), detail, ABSENT_CONSEQUENCES[s])


class Skipped(Detector):
    """An acknowledged event never processed although the group committed past its offset:
    the offsets were committed before the work was done."""

    kind = ViolationKind.SKIPPED
    flags_clean_rides = False

    def extra_rides(self, seen: AbstractSet[str], facts: Facts) -> Collection[str]:
        return facts.acked_rides - seen if facts.committed else ()

    def applies(self, facts: Facts) -> bool:
        return facts.acks is not None and facts.committed is not None

    def detect(self, ride: RideView, facts: Facts) -> Iterator[Violation]:
        for s in ride.unprocessed():
            ack = facts.ack(ride.ride_id, s)
            if ack is None or not facts.committed_past(ack):
                continue
            where = (ack.partition, ack.offset)
            mark = facts.committed[ack.partition] if facts.committed else None
            detail = f"{label(s)} at {at(*where)} committed past (to {mark}), never processed"
            yield Violation(ride.ride_id, self.kind, s, (where,), detail, ABSENT_CONSEQUENCES[s])


class AbortedRead(Detector):
    """Every processing of a record that an aborted transaction wrote."""

    kind = ViolationKind.ABORTED_READ
    flags_clean_rides = True  # an aborted ride can arrive in perfect order

    def extra_rides(self, seen: AbstractSet[str], facts: Facts) -> Collection[str]:
        return facts.aborted_rides

    def applies(self, facts: Facts) -> bool:
        return bool(facts.aborted)

    def detect(self, ride: RideView, facts: Facts) -> Iterator[Violation]:
        if not facts.aborted:
            return
        for o in ride.events:
            where = (o.partition, o.offset)
            if where in facts.aborted:
                detail = f"{label(o.seq)} at {at(*where)} belongs to an aborted transaction"
                yield Violation(
                    ride.ride_id,
                    self.kind,
                    o.seq,
                    (where,),
                    detail,
                    ABORTED_CONSEQUENCE,
                    position=o.position,
                )


#: Every rule the checker applies.
DETECTORS: tuple[Detector, ...] = (
    OutOfOrder(),
    Duplicate(),
    Missing(),
    Lost(),
    Gap(),
    Skipped(),
    AbortedRead(),
)
