"""What the checker hands back: violations, one summary per violating ride, and the report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ridectl.judge.kinds import DuplicateKind, OrderCause, ViolationKind, event_type

#: The enums as tuples (iterating an enum class is slow).
_KINDS = tuple(ViolationKind)
_CAUSES = tuple(OrderCause)


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
    #: Processing position of the event concerned; None for an event never processed.
    position: int | None = None
    #: out_of_order only: where the order broke (keying, log or processing).
    cause: OrderCause | None = None

    @property
    def type(self) -> str:
        return event_type(self.seq)

    @property
    def absent(self) -> bool:
        """True when the violation is about an event that was never processed."""
        return self.position is None

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
            "cause": None if self.cause is None else self.cause.value,
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
    #: Processing position of each processed event, aligned with ``seqs``.
    event_positions: tuple[int, ...]
    #: Indices into ``seqs`` of the events that overtook an earlier stage (came too early).
    overtook: tuple[int, ...]
    #: Indices into ``seqs`` of the events that were overtaken (came too late).
    overtaken: tuple[int, ...]
    #: Indices into ``seqs`` of repeated copies.
    duplicates: tuple[int, ...]
    #: Kinds present, in the order of ``ViolationKind``.
    kinds: tuple[ViolationKind, ...]
    #: The ride's violations in processing order, then those about unprocessed events by seq.
    violations: tuple[Violation, ...]

    @property
    def split(self) -> bool:
        return len(self.partitions) > 1

    @property
    def absent(self) -> tuple[tuple[int, ViolationKind], ...]:
        """``(seq, kind)`` of every event never processed, by seq."""
        return tuple((v.seq, v.kind) for v in self.violations if v.absent)

    @property
    def causes(self) -> tuple[OrderCause, ...]:
        """Causes of the ride's out-of-order violations, each once, in enum order."""
        present = {v.cause for v in self.violations}
        return tuple(c for c in _CAUSES if c in present)

    @property
    def missing(self) -> tuple[int, ...]:
        """Seqs never processed and not known to be acknowledged."""
        return tuple(v.seq for v in self.violations if v.kind is ViolationKind.MISSING)

    @property
    def lost(self) -> tuple[int, ...]:
        """Seqs acknowledged to the producer but never processed."""
        return tuple(v.seq for v in self.violations if v.kind is ViolationKind.LOST)


def count_by_kind(violations: Iterable[Violation]) -> dict[ViolationKind, int]:
    """Every kind, in enum order, with its count (0 when absent)."""
    counts = Counter(v.kind for v in violations)
    return {k: counts[k] for k in _KINDS}


def count_by_cause(violations: Iterable[Violation]) -> dict[OrderCause, int]:
    """Every cause, in enum order, with its count of out-of-order violations (0 when none)."""
    counts = Counter(v.cause for v in violations)
    return {c: counts[c] for c in _CAUSES}


@dataclass(slots=True)
class Report:
    """The verdict on one history."""

    #: Distinct rides seen, plus rides acknowledged but never seen.
    rides: int = 0
    violating_rides: int = 0
    #: Every kind, in enum order, 0 when none: read ``by_kind[ViolationKind.LOST]``.
    by_kind: dict[ViolationKind, int] = field(default_factory=lambda: count_by_kind(()))
    #: Out-of-order violations by cause, every cause, 0 when none.
    by_cause: dict[OrderCause, int] = field(default_factory=lambda: count_by_cause(()))
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
                "by_kind": {k.value: n for k, n in self.by_kind.items()},
                "by_cause": {c.value: n for c, n in self.by_cause.items()},
                "rides_split": self.rides_split,
                "records_per_partition": {
                    str(p): n for p, n in sorted(self.records_per_partition.items())
                },
                "foreign": self.foreign,
                "malformed": self.malformed,
            },
            "violations": [v.to_dict() for v in self.violations],
        }
