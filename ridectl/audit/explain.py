"""``audit --explain ENTITY``: the records of one entity as the audit read them, in log order
(per partition, by offset) with their timestamps and order values, beside the audit itself.

Only the named entity's records are kept, so memory stays as small as the audit's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ridectl.audit.decode import RecordDecoder
from ridectl.audit.kinds import Unmapped
from ridectl.audit.mapping import AuditMapping
from ridectl.clients.base import ConsumedRecord


@dataclass(frozen=True, slots=True)
class EntityRecord:
    """One record of the entity: where it sits, when it was stamped, what it said."""

    partition: int
    offset: int
    #: epoch milliseconds; -1 when the client gave none
    timestamp_ms: int
    #: the order value as people read it (a stage's name), or None when it was not judged
    value: str | None
    #: why it was not judged (a tombstone of the entity's key, say)
    unmapped: Unmapped | None = None


class EntityTrace:
    """Collects the records of one entity while an audit reads."""

    def __init__(self, mapping: AuditMapping, entity: str) -> None:
        self.mapping = mapping
        self.entity = entity
        self._key = entity.encode() if mapping.entity is None else None
        self._decode = RecordDecoder(mapping)
        self._records: list[EntityRecord] = []

    def see(self, partition: int, records: Sequence[ConsumedRecord]) -> None:
        """Keep the entity's records among ``records`` (one partition's, in log order)."""
        key, decode, keep = self._key, self._decode, self._records.append
        for r in records:
            if key is not None and r.key != key:
                continue
            got = decode(r.key, r.value)
            if isinstance(got, Unmapped):
                if key is not None:  # (a record without the entity path names no entity)
                    keep(EntityRecord(partition, r.offset, r.timestamp_ms, None, got))
                continue
            entity, order = got
            if entity == self.entity:
                label = self.mapping.label(order)
                keep(EntityRecord(partition, r.offset, r.timestamp_ms, label))

    @property
    def records(self) -> list[EntityRecord]:
        """The entity's records by partition, then offset."""
        return sorted(self._records, key=lambda r: (r.partition, r.offset))
