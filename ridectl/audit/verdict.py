"""What an audit hands back: its violations (for the first violating entities) and a summary
that counts everything, however many entities broke."""

from __future__ import annotations

from dataclasses import dataclass, field

from ridectl.audit.kinds import AuditKind, Unmapped
from ridectl.judge.kinds import DuplicateKind, OrderCause, at

_KINDS = tuple(AuditKind)
_CAUSES = tuple(OrderCause)
_REASONS = tuple(Unmapped)

Place = tuple[int, int]


@dataclass(frozen=True, slots=True)
class AuditViolation:
    """One broken rule of one entity."""

    entity: str
    kind: AuditKind
    #: The order values involved: out_of_order (the higher one read first, the lower one),
    #: duplicate (the value), gap (the first and last value never seen), split (none).
    values: tuple[int | float, ...]
    #: ``(partition, offset)`` of the records involved: out_of_order (the higher, the lower),
    #: duplicate (the earlier copy, this copy), split (the first record on each partition),
    #: gap (the records of the values either side of the hole).
    evidence: tuple[Place, ...]
    #: out_of_order: ``log`` (or ``processing`` for a file not in offset order); split:
    #: ``keying``.
    cause: OrderCause | None = None
    duplicate_kind: DuplicateKind | None = None

    @property
    def partitions(self) -> tuple[int, ...]:
        """The partitions named by the evidence, each once, sorted."""
        return tuple(sorted({p for p, _ in self.evidence}))

    @property
    def where(self) -> str:
        """The evidence as people read it: ``p3@41 p3@40``."""
        return " ".join(at(p, o) for p, o in self.evidence)


def _zero_kinds() -> dict[AuditKind, int]:
    return dict.fromkeys(_KINDS, 0)


def _zero_causes() -> dict[OrderCause, int]:
    return dict.fromkeys(_CAUSES, 0)


def _zero_reasons() -> dict[Unmapped, int]:
    return dict.fromkeys(_REASONS, 0)


@dataclass(slots=True)
class AuditSummary:
    """The counts of an audit (complete, whatever the limit on stored violations)."""

    #: Records read (mapped or not).
    records: int = 0
    #: Distinct entities among the mapped records.
    entities: int = 0
    violating_entities: int = 0
    #: Every kind, in enum order, 0 when none.
    by_kind: dict[AuditKind, int] = field(default_factory=_zero_kinds)
    #: Violations by cause (out_of_order and split), every cause, 0 when none.
    by_cause: dict[OrderCause, int] = field(default_factory=_zero_causes)
    #: Records counted and not judged, by reason, every reason, 0 when none.
    unmapped_by_reason: dict[Unmapped, int] = field(default_factory=_zero_reasons)
    records_per_partition: dict[int, int] = field(default_factory=dict)
    #: Entities whose records sit on more than one partition.
    split_entities: int = 0
    #: Violating entities whose violations were counted but not stored (beyond the limit).
    unstored_entities: int = 0

    @property
    def unmapped(self) -> int:
        return sum(self.unmapped_by_reason.values())

    @property
    def mapped(self) -> int:
        return self.records - self.unmapped


@dataclass(slots=True)
class AuditVerdict:
    """The verdict of an audit: its summary, and the stored violations ordered by entity."""

    summary: AuditSummary
    violations: list[AuditViolation]
    #: Top-level fields of the first values that lacked a mapped path (to answer a mapping
    #: that matched nothing with the fields that are there).
    fields_seen: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        return not any(self.summary.by_kind.values())

    @property
    def judged_nothing(self) -> bool:
        """No record could be judged (none read, or none the mapping matched)."""
        return self.summary.mapped == 0
