"""The audit's streaming judge: records in, per partition in log order; a verdict out.

Each mapped record goes to the generic judge (``ridectl.judge.entity``) as the next value of
its entity's stream *on its partition*: a lower value after a higher one is late
(``out_of_order``, cause ``log``), the highest value again is a repeat (``duplicate``, both
offsets named). Across partitions no order exists for any reader, so an entity seen on a
second partition starts a second stream there and is reported once as ``split`` (cause
``keying``, naming its partitions). With a contiguous order, the values never seen between an
entity's lowest and highest are gaps, judged when the audit ends (a late value fills a hole).

Memory grows with entities, not records: per entity the judge keeps its highest value and
where it sat, the first offset on each partition it came from, and (contiguous only) its holes
as ranges. Violations are stored for the first ``limit`` violating entities; beyond them they
are only counted.
"""

from __future__ import annotations

from collections.abc import Iterable

from ridectl.audit.decode import RecordDecoder
from ridectl.audit.kinds import AuditKind, Unmapped
from ridectl.audit.mapping import AuditMapping
from ridectl.audit.verdict import AuditSummary, AuditVerdict, AuditViolation
from ridectl.judge.entity import Finding, Holes, Step, Track
from ridectl.judge.kinds import OrderCause

#: Violating entities whose violations are stored, unless told otherwise.
DEFAULT_LIMIT = 10_000

_KIND_RANK = {k: i for i, k in enumerate(AuditKind)}

#: A record as an audit reads it: offset, key, value (one partition's records at a time).
Record = tuple[int, bytes | None, bytes | None]


class _Stream(Track[float]):
    """An entity's stream on a partition other than its first one."""

    __slots__ = ("first_offset",)

    def __init__(self, first_offset: int) -> None:
        super().__init__()
        self.first_offset = first_offset


class _Entity(Track[float]):
    """What the audit keeps of one entity: its stream on its first partition (the entity is
    that stream), streams on other partitions, its holes, and its rank among violators."""

    __slots__ = ("first_offset", "holes", "number", "others", "partition")

    def __init__(self, partition: int, first_offset: int, contiguous: bool) -> None:
        super().__init__()
        self.partition = partition
        self.first_offset = first_offset
        self.others: dict[int, _Stream] | None = None
        self.holes: Holes | None = Holes() if contiguous else None
        #: 0 while the entity broke no rule; k when it was the k-th entity to break one.
        self.number = 0


class Auditor:
    """Judges records as they come, one partition's records at a time (in offset order)."""

    def __init__(self, mapping: AuditMapping, *, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 0:
            raise ValueError(f"limit must be 0 or more, not {limit}")
        self.mapping = mapping
        self.limit = limit
        self._decode = RecordDecoder(mapping)
        self._contiguous = mapping.order.contiguous
        self._entities: dict[str, _Entity] = {}
        self._split: list[str] = []
        self._stored: dict[str, list[AuditViolation]] = {}
        self._summary = AuditSummary()
        self._verdict: AuditVerdict | None = None

    def feed(self, partition: int, records: Iterable[Record]) -> None:
        """Judge ``records`` of ``partition``, in the order read (offset order on a topic)."""
        if self._verdict is not None:
            raise RuntimeError("this audit is finished: no more records")
        decode = self._decode
        entities = self._entities
        get = entities.get
        unmapped = self._summary.unmapped_by_reason
        contiguous = self._contiguous
        n = 0
        for offset, key, value in records:
            n += 1
            got = decode(key, value)
            if isinstance(got, Unmapped):
                unmapped[got] += 1
                continue
            entity, order = got
            state = get(entity)
            if state is None:
                state = entities[entity] = _Entity(partition, offset, contiguous)
            if state.partition == partition:
                found = state.see(order, partition, offset)
            else:
                found = self._elsewhere(entity, state, order, partition, offset)
            if found is not None:
                self._found(entity, state, found)
            if state.holes is not None:
                if not isinstance(order, int):  # (the decoder keeps floats out when contiguous)
                    raise TypeError(f"a contiguous order needs integers, not {order!r}")
                state.holes.see(order, (partition, offset))
        counts = self._summary.records_per_partition
        counts[partition] = counts.get(partition, 0) + n
        self._summary.records += n

    def _elsewhere(
        self, entity: str, state: _Entity, order: float, partition: int, offset: int
    ) -> Finding[float] | None:
        """The next value of an entity on a partition other than its first one."""
        if state.others is None:
            state.others = {}
            self._split.append(entity)
        stream = state.others.get(partition)
        if stream is None:
            stream = state.others[partition] = _Stream(offset)
        return stream.see(order, partition, offset)

    def _found(self, entity: str, state: _Entity, found: Finding[float]) -> None:
        if found.step is Step.LATE:
            violation = AuditViolation(
                entity,
                AuditKind.OUT_OF_ORDER,
                (found.before.value, found.seen.value),
                (found.before.place, found.seen.place),
                cause=found.cause,
            )
        else:
            violation = AuditViolation(
                entity,
                AuditKind.DUPLICATE,
                (found.seen.value,),
                (found.before.place, found.seen.place),
                duplicate_kind=found.duplicate_kind,
            )
        self._add(entity, state, violation)

    def _add(self, entity: str, state: _Entity, violation: AuditViolation) -> None:
        summary = self._summary
        summary.by_kind[violation.kind] += 1
        if violation.cause is not None:
            summary.by_cause[violation.cause] += 1
        if not state.number:
            summary.violating_entities += 1
            state.number = summary.violating_entities
            if state.number > self.limit:
                summary.unstored_entities += 1
        if state.number <= self.limit:
            self._stored.setdefault(entity, []).append(violation)

    def finish(self) -> AuditVerdict:
        """The verdict on every record fed so far: the split entities and the gaps judged
        now, the stored violations ordered by entity (then kind, then log order). The audit
        takes no more records after it (asking again gives the same verdict)."""
        if self._verdict is not None:
            return self._verdict
        summary = self._summary
        entities = self._entities
        for entity in self._split:
            state = entities[entity]
            assert state.others is not None
            firsts = {state.partition: state.first_offset}
            firsts.update((p, s.first_offset) for p, s in state.others.items())
            evidence = tuple(sorted(firsts.items()))
            split = AuditViolation(entity, AuditKind.SPLIT, (), evidence, cause=OrderCause.KEYING)
            self._add(entity, state, split)
        if self._contiguous:
            for entity, state in entities.items():
                if state.holes:
                    self._gaps(entity, state, state.holes)
        summary.entities = len(entities)
        summary.split_entities = len(self._split)
        summary.records_per_partition = dict(sorted(summary.records_per_partition.items()))
        violations = [
            v
            for entity in sorted(self._stored)
            for v in sorted(self._stored[entity], key=_violation_order)
        ]
        self._verdict = AuditVerdict(summary, violations, tuple(self._decode.fields_seen))
        return self._verdict

    def _gaps(self, entity: str, state: _Entity, holes: Holes) -> None:
        for (first, last), sides in zip(holes.ranges(), holes.borders(), strict=True):
            evidence = tuple(place for place in sides if place is not None)
            self._add(entity, state, AuditViolation(entity, AuditKind.GAP, (first, last), evidence))


def _violation_order(v: AuditViolation) -> tuple[int, tuple[float, ...]]:
    """An entity's violations by kind, then in log order (gaps by their values)."""
    if v.kind is AuditKind.GAP:
        return _KIND_RANK[v.kind], v.values
    return _KIND_RANK[v.kind], tuple(n for place in v.evidence for n in place)
