"""Judge a history: where did the processing order of a ride differ from its lifecycle order?

``check`` is a pure function of a :class:`~ridectl.judge.history.History`; it knows nothing about
Kafka clients. The processing order of a ride is the ``position`` order of its observations.

Rules (each violation names one event of one ride, ``seq``):

* ``out_of_order``: only the *first* processed copy of each seq takes part, so a re-processed
  copy never counts as reordering. A first copy is out of order when a first copy with a higher
  seq of the same ride was processed before it; the pair recorded is (highest such seq =
  "overtook", this seq = "overtaken"). So ``1 2 5 3 4`` gives two violations, 5>3 and 5>4, and
  the number of out-of-order events of a ride equals the number of events that have a higher
  seq processed before them.
* ``duplicate``: every processing of a seq after its first one. ``producer`` when the copy sits
  at a (partition, offset) not processed before for that seq (the record was written twice),
  ``redelivery`` when the same (partition, offset) is processed again (the consumer side
  delivered it twice).
* ``missing``: a seq in 1..5 never processed for a ride that was seen.
* ``lost``: (only with ``history.acked``) an acknowledged event never processed. An acked
  missing event is ``lost`` instead of ``missing``; rides acked but never seen are ``lost`` for
  every acked seq.

Speed: most rides of a history are clean. One pass folds each ride's events into one int
(one digit ``partition * 8 + seq`` per event); a ride whose fold equals that of ``1 2 3 4 5`` on
a single partition is clean and costs nothing more. Only the other rides are grouped and judged
event by event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import compress, islice
from operator import attrgetter, le, not_

from ridectl.judge.history import Ack, History, Observation
from ridectl.judge.lifecycle import LIFECYCLE_LENGTH, STAGE_BY_SEQ


class ViolationKind(StrEnum):
    OUT_OF_ORDER = "out_of_order"
    DUPLICATE = "duplicate"
    MISSING = "missing"
    LOST = "lost"


class DuplicateKind(StrEnum):
    #: The copies sit at different (partition, offset): the producer wrote the event twice.
    PRODUCER = "producer"
    #: The same (partition, offset) was processed twice: the consumer side delivered it again.
    REDELIVERY = "redelivery"


#: Plain-words effect of processing event ``a`` before event ``b`` (keyed ``(a, b)``, a > b).
CONSEQUENCES: dict[tuple[int, int], str] = {
    (2, 1): "a driver was sent to a ride nobody had requested yet",
    (3, 1): "a trip started for a ride nobody had requested yet",
    (4, 1): "a trip ended before anyone had asked for it",
    (5, 1): "a rider was charged for a ride they had not requested yet",
    (3, 2): "the trip started before any driver was assigned",
    (4, 2): "the trip was completed without a driver assigned",
    (5, 2): "the rider was charged before a driver was even assigned",
    (4, 3): "the trip ended before it had started",
    (5, 3): "the rider was charged before the trip began",
    (5, 4): "charged before the trip ended",
}

#: Effect of an event being processed twice, by seq.
DUPLICATE_CONSEQUENCES: dict[int, str] = {
    1: "the ride was requested twice",
    2: "the driver was assigned twice",
    3: "the trip was started twice",
    4: "the trip was completed twice",
    5: "the rider was charged twice",
}

#: Effect of an event never being processed (missing or lost), by seq.
ABSENT_CONSEQUENCES: dict[int, str] = {
    1: "the ride request never reached the service",
    2: "nobody learned which driver was assigned",
    3: "the trip was never seen to start",
    4: "the trip was never seen to end",
    5: "the rider was never charged",
}

_KIND_ORDER: tuple[ViolationKind, ...] = tuple(ViolationKind)
_ALL_SEQS = range(1, LIFECYCLE_LENGTH + 1)

_ride_of = attrgetter("ride_id")
_seq_of = attrgetter("seq")
_partition_of = attrgetter("partition")
_position_of = attrgetter("position")


def event_type(seq: int) -> str:
    """The event type name of a seq (``seq<N>`` for a seq outside the lifecycle)."""
    return STAGE_BY_SEQ.get(seq, f"seq{seq}")


def _label(seq: int) -> str:
    return f"{event_type(seq)}({seq})"


def _at(partition: int, offset: int) -> str:
    return f"p{partition}@{offset}"


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule for one event of one ride."""

    ride_id: str
    kind: ViolationKind
    #: The event concerned (for out_of_order: the one that came too late).
    seq: int
    #: ``(partition, offset)`` of the events involved; for out_of_order (overtook, overtaken),
    #: for duplicate (earlier copy, this copy), for lost the acknowledged one, empty for missing.
    evidence: tuple[tuple[int, int], ...] = ()
    detail: str = ""
    consequence: str = ""
    duplicate_kind: DuplicateKind | None = None
    #: out_of_order only: the seq that overtook this one.
    other_seq: int | None = None
    #: Processing position of the event concerned (None for missing and lost).
    position: int | None = None

    @property
    def type(self) -> str:
        return event_type(self.seq)

    def to_dict(self) -> dict[str, object]:
        return {
            "ride_id": self.ride_id,
            "kind": self.kind.value,
            "seq": self.seq,
            "type": self.type,
            "other_seq": self.other_seq,
            "detail": self.detail,
            "consequence": self.consequence,
            "duplicate_kind": None if self.duplicate_kind is None else self.duplicate_kind.value,
            "evidence": [{"partition": p, "offset": o} for p, o in self.evidence],
        }


@dataclass(frozen=True, slots=True)
class RideSummary:
    """What a renderer needs to show one violating ride."""

    ride_id: str
    #: Partitions the ride's processed events came from, sorted.
    partitions: tuple[int, ...]
    #: Seqs in processing order (every processed copy, duplicates included).
    seqs: tuple[int, ...]
    #: Partition of each processed event, aligned with ``seqs``.
    event_partitions: tuple[int, ...]
    #: Indices into ``seqs`` of the events that overtook an earlier stage (came too early).
    overtook: tuple[int, ...]
    #: Indices into ``seqs`` of the events that were overtaken (came too late).
    overtaken: tuple[int, ...]
    #: Indices into ``seqs`` of repeated copies.
    duplicates: tuple[int, ...]
    #: Seqs never processed and not known to be acknowledged.
    missing: tuple[int, ...]
    #: Seqs acknowledged to the producer but never processed.
    lost: tuple[int, ...]
    #: Kinds present, in the order of ``ViolationKind``.
    kinds: tuple[ViolationKind, ...]
    #: The ride's violations in processing order, then missing/lost by seq.
    violations: tuple[Violation, ...]

    @property
    def split(self) -> bool:
        return len(self.partitions) > 1


@dataclass(slots=True)
class Report:
    """The verdict on one history."""

    #: Distinct rides seen, plus rides acknowledged but never seen.
    rides: int = 0
    violating_rides: int = 0
    #: Every kind present, 0 when none.
    by_kind: dict[str, int] = field(default_factory=lambda: {k.value: 0 for k in _KIND_ORDER})
    #: Ordered by ride_id, then as in ``RideSummary.violations``.
    violations: list[Violation] = field(default_factory=list)
    #: One entry per violating ride, ordered by ride_id.
    per_ride: list[RideSummary] = field(default_factory=list)
    records_per_partition: dict[int, int] = field(default_factory=dict)
    #: Observations judged.
    events: int = 0
    foreign: int = 0
    malformed: int = 0
    #: Rides whose processed events came from more than one partition.
    rides_split: int = 0

    @property
    def clean(self) -> bool:
        return not self.violations

    @property
    def violating_pct(self) -> float:
        return round(100.0 * self.violating_rides / self.rides, 2) if self.rides else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "summary": {
                "rides": self.rides,
                "violating_rides": self.violating_rides,
                "violating_pct": self.violating_pct,
                "events": self.events,
                "by_kind": {k.value: self.by_kind.get(k.value, 0) for k in _KIND_ORDER},
                "rides_split": self.rides_split,
                "records_per_partition": {
                    str(p): n for p, n in sorted(self.records_per_partition.items())
                },
                "foreign": self.foreign,
                "malformed": self.malformed,
            },
            "violations": [v.to_dict() for v in self.violations],
        }


def _in_processing_order(observations: list[Observation]) -> list[Observation]:
    """The observations sorted by position (the list itself when it already is)."""
    positions = list(map(_position_of, observations))
    if all(map(le, positions, islice(positions, 1, None))):
        return observations
    return sorted(observations, key=_position_of)


def _fold_rides(ordered: list[Observation], base: int) -> dict[str, int]:
    """One int per ride that identifies its (partition, seq) sequence in processing order.

    ``base`` must exceed ``partition * 8 + 7`` for every observation."""
    # Each event is a digit ``partition * 8 + seq``, below ``base`` and never 0 (seq >= 1), so
    # a ride's fold identifies its sequence exactly. Keeping only the last six digits bounds
    # the ints; a ride with six or more events then folds to at least base**5, above every
    # clean fold (see ``_clean_folds``).
    modulus = base**6
    folds: dict[str, int] = {}
    get = folds.get
    for o in ordered:
        r = o.ride_id
        folds[r] = (get(r, 0) * base + o.partition * 8 + o.seq) % modulus
    return folds


def _clean_folds(partitions: Iterable[int], base: int) -> set[int]:
    """The folds of a ride processed exactly as ``1 2 3 4 5``, all on one of ``partitions``."""
    folds: set[int] = set()
    for p in partitions:
        value = 0
        for seq in _ALL_SEQS:
            value = value * base + p * 8 + seq
        folds.add(value)
    return folds


def _first_acks(acked: Sequence[Ack]) -> dict[tuple[str, int], Ack]:
    """(ride_id, seq) -> the first acknowledgement of that event."""
    rev = acked[::-1]
    return dict(zip(zip(map(_ride_of, rev), map(_seq_of, rev), strict=True), rev, strict=True))


def _absent(ride_id: str, seq: int, ack: Ack | None) -> Violation:
    if ack is None:
        return Violation(
            ride_id,
            ViolationKind.MISSING,
            seq,
            (),
            f"{_label(seq)} never processed",
            ABSENT_CONSEQUENCES.get(seq, ""),
        )
    return Violation(
        ride_id,
        ViolationKind.LOST,
        seq,
        ((ack.partition, ack.offset),),
        f"{_label(seq)} acknowledged at {_at(ack.partition, ack.offset)} but never processed",
        ABSENT_CONSEQUENCES.get(seq, ""),
    )


def _judge_ride(
    ride_id: str, events: list[Observation], acks: dict[tuple[str, int], Ack] | None
) -> RideSummary | None:
    """Judge one ride's events (in processing order); None when the ride is clean."""
    violations: list[Violation] = []
    first: dict[int, Observation] = {}
    copies: dict[int, set[tuple[int, int]]] = {}
    overtook: set[int] = set()
    overtaken: list[int] = []
    duplicates: list[int] = []
    top = 0  # highest seq among first copies so far
    top_index = -1
    for i, o in enumerate(events):
        s = o.seq
        here = (o.partition, o.offset)
        earlier = first.get(s)
        if earlier is not None:
            seen = copies[s]
            duplicates.append(i)
            if here in seen:
                dkind, before = DuplicateKind.REDELIVERY, here
                detail = f"{_label(s)} delivered twice from {_at(*here)}"
            else:
                dkind, before = DuplicateKind.PRODUCER, (earlier.partition, earlier.offset)
                detail = f"{_label(s)} written twice: {_at(*before)} and {_at(*here)}"
                seen.add(here)
            violations.append(
                Violation(
                    ride_id,
                    ViolationKind.DUPLICATE,
                    s,
                    (before, here),
                    detail,
                    DUPLICATE_CONSEQUENCES.get(s, ""),
                    dkind,
                    None,
                    o.position,
                )
            )
            continue
        first[s] = o
        copies[s] = {here}
        if s < top:
            ahead = events[top_index]
            overtook.add(top_index)
            overtaken.append(i)
            violations.append(
                Violation(
                    ride_id,
                    ViolationKind.OUT_OF_ORDER,
                    s,
                    ((ahead.partition, ahead.offset), here),
                    f"{_label(top)} before {_label(s)}",
                    CONSEQUENCES.get((top, s), ""),
                    None,
                    top,
                    o.position,
                )
            )
        else:
            top, top_index = s, i
    for s in _ALL_SEQS:
        if s not in first:
            violations.append(_absent(ride_id, s, None if acks is None else acks.get((ride_id, s))))
    if not violations:
        return None
    return _summary(
        ride_id,
        events,
        tuple(sorted(overtook)),
        tuple(overtaken),
        tuple(duplicates),
        violations,
    )


def _summary(
    ride_id: str,
    events: list[Observation],
    overtook: tuple[int, ...],
    overtaken: tuple[int, ...],
    duplicates: tuple[int, ...],
    violations: list[Violation],
) -> RideSummary:
    present = {v.kind for v in violations}
    event_partitions = tuple(map(_partition_of, events))
    return RideSummary(
        ride_id=ride_id,
        partitions=tuple(sorted(set(event_partitions))),
        seqs=tuple(map(_seq_of, events)),
        event_partitions=event_partitions,
        overtook=overtook,
        overtaken=overtaken,
        duplicates=duplicates,
        missing=tuple(v.seq for v in violations if v.kind is ViolationKind.MISSING),
        lost=tuple(v.seq for v in violations if v.kind is ViolationKind.LOST),
        kinds=tuple(k for k in _KIND_ORDER if k in present),
        violations=tuple(violations),
    )


def _unseen_acked(acked: Sequence[Ack], seen: AbstractSet[str]) -> dict[str, list[int]]:
    """Rides acknowledged but never processed at all -> their acknowledged seqs, sorted."""
    unseen = dict.fromkeys(map(_ride_of, acked)).keys() - seen
    found: dict[str, set[int]] = {r: set() for r in unseen}
    if found:
        for a in compress(acked, map(found.__contains__, map(_ride_of, acked))):
            found[a.ride_id].add(a.seq)
    return {r: sorted(seqs) for r, seqs in found.items()}


def check(history: History) -> Report:
    """Judge ``history`` and return the report (see the module docstring for the rules).

    Raises ValueError if an observation's seq is outside 1..LIFECYCLE_LENGTH or its partition
    is negative (neither comes out of ``read_ndjson`` or a consumer).
    """
    report = Report(
        events=len(history.observations),
        foreign=history.foreign,
        malformed=history.malformed,
    )
    ordered = _in_processing_order(history.observations)

    folds: dict[str, int] = {}
    groups: dict[str, list[Observation]] = {}
    if ordered:
        bad_seqs = set(map(_seq_of, ordered)).difference(_ALL_SEQS)
        if bad_seqs:
            raise ValueError(f"seq outside 1..{LIFECYCLE_LENGTH}: {sorted(bad_seqs)[:5]}")
        per_partition = Counter(map(_partition_of, ordered))
        if min(per_partition) < 0:
            raise ValueError(f"negative partition: {min(per_partition)}")
        report.records_per_partition = dict(sorted(per_partition.items()))
        base = (max(per_partition) + 1) * 8
        folds = _fold_rides(ordered, base)
        report.rides = len(folds)
        clean = _clean_folds(per_partition, base)
        suspects = compress(folds.keys(), map(not_, map(clean.__contains__, folds.values())))
        groups = {r: [] for r in suspects}
        if groups:
            for o in compress(ordered, map(groups.__contains__, map(_ride_of, ordered))):
                groups[o.ride_id].append(o)

    acks: dict[tuple[str, int], Ack] | None = None
    unseen: dict[str, list[int]] = {}
    if history.acked is not None:
        acks = _first_acks(history.acked)
        unseen = _unseen_acked(history.acked, folds.keys())
        report.rides += len(unseen)

    for ride_id in sorted(groups.keys() | unseen.keys()):
        events = groups.get(ride_id)
        if events is None:
            lost = [_absent(ride_id, s, (acks or {}).get((ride_id, s))) for s in unseen[ride_id]]
            summary: RideSummary | None = _summary(ride_id, [], (), (), (), lost)
        else:
            if len(set(map(_partition_of, events))) > 1:
                report.rides_split += 1
            summary = _judge_ride(ride_id, events, acks)
        if summary is None:
            continue
        report.per_ride.append(summary)
        report.violations.extend(summary.violations)

    report.violating_rides = len(report.per_ride)
    counts = Counter(v.kind for v in report.violations)
    report.by_kind = {k.value: counts.get(k, 0) for k in _KIND_ORDER}
    return report
