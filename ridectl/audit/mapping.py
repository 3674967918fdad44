"""The audit mapping: what an entity is, and which order key its records must follow.

An audit judges any topic with the generic judge (``ridectl.judge.entity``); the mapping tells
it how to read a record: the *entity* is the record key as text, or a dotted path into the
JSON value (``order_id``, ``payload.after.id``); the *order* is a number that must rise per
entity (``--seq PATH``, with ``contiguous`` when it steps by one) or a field whose values must
follow a declared list of stages (``--stage PATH --stages A,B,C``).

Nothing here reads a record: ``ridectl.audit.decode`` does, with this mapping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class MappingError(ValueError):
    """A mapping that cannot be used; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class FieldPath:
    """A dotted path into a JSON value: ``payload.after.id`` is ``("payload", "after", "id")``."""

    names: tuple[str, ...]

    @classmethod
    def parse(cls, text: str, *, what: str) -> FieldPath:
        """The path written as ``text``; ``what`` names it in the error (``--seq``, say)."""
        names = tuple(text.split("."))
        if not text.strip() or any(not n.strip() for n in names):
            raise MappingError(f"{what}: {text!r} is not a dotted path (e.g. payload.after.id)")
        return cls(names)

    def __str__(self) -> str:
        return ".".join(self.names)

    def inside(self, other: FieldPath) -> bool:
        """Is this path ``other`` or somewhere under it?"""
        return self.names[: len(other.names)] == other.names


@dataclass(frozen=True, slots=True)
class SeqOrder:
    """A number that must rise per entity (version, sequence, LSN, epoch millis)."""

    path: FieldPath
    #: The values step by one: a value between an entity's lowest and highest that never
    #: came is a gap (and the values must be integers).
    contiguous: bool = False


@dataclass(frozen=True, slots=True)
class StageOrder:
    """A field whose values must follow a declared order of stages."""

    path: FieldPath
    stages: tuple[str, ...]
    #: Every stage between an entity's first and last one seen must come (else: a gap).
    contiguous: bool = False

    def __post_init__(self) -> None:
        if not self.stages:
            raise MappingError("--stages: declare at least one stage (e.g. created,paid,shipped)")
        twice = sorted({s for s in self.stages if self.stages.count(s) > 1})
        if twice:
            raise MappingError(f"--stages: {', '.join(twice)} declared more than once")

    def rank(self) -> dict[str, int]:
        """Stage -> its place in the declared order (0 for the first)."""
        return {s: i for i, s in enumerate(self.stages)}


Order = SeqOrder | StageOrder


@dataclass(frozen=True, slots=True)
class AuditMapping:
    """How an audit reads a record: its entity (None: the record key as text) and its order."""

    order: Order
    entity: FieldPath | None = None

    def __post_init__(self) -> None:
        entity, order = self.entity, self.order.path
        if entity is not None and (entity.inside(order) or order.inside(entity)):
            raise MappingError(
                f"the entity path {entity} and the order path {order} overlap: "
                "they must name two different fields"
            )

    @property
    def paths(self) -> tuple[FieldPath, ...]:
        """The paths read in a record's value."""
        return (self.order.path,) if self.entity is None else (self.entity, self.order.path)

    def label(self, value: float) -> str:
        """An order value as people read it: the stage's name, or the number."""
        if isinstance(self.order, StageOrder):
            return self.order.stages[int(value)]
        return str(value)

    def describe(self) -> str:
        """The mapping in words, as flags would spell it."""
        entity = "key" if self.entity is None else str(self.entity)
        if isinstance(self.order, StageOrder):
            order = f"--stage {self.order.path} --stages {','.join(self.order.stages)}"
        else:
            order = f"--seq {self.order.path}"
        more = " --contiguous" if self.order.contiguous else ""
        return f"--entity {entity} {order}{more}"


def mapping_of(
    *,
    entity: str = "key",
    seq: str | None = None,
    stage: str | None = None,
    stages: Sequence[str] | str | None = None,
    contiguous: bool = False,
) -> AuditMapping:
    """A mapping from the words of the command line (``--entity``, ``--seq`` or ``--stage``
    with ``--stages``, ``--contiguous``); MappingError when they do not make one."""
    if (seq is None) == (stage is None):
        raise MappingError("give the order as either --seq PATH or --stage PATH --stages A,B,...")
    if isinstance(stages, str):
        stages = [s.strip() for s in stages.split(",")]
    path_of_entity = None if entity == "key" else FieldPath.parse(entity, what="--entity")
    if seq is not None:
        if stages is not None:
            raise MappingError("--stages goes with --stage, not with --seq")
        order: Order = SeqOrder(FieldPath.parse(seq, what="--seq"), contiguous)
    else:
        assert stage is not None
        if stages is None:
            raise MappingError("--stage needs --stages A,B,... (the stages in their order)")
        if any(not s for s in stages):
            raise MappingError("--stages: an empty stage name (two commas in a row?)")
        order = StageOrder(FieldPath.parse(stage, what="--stage"), tuple(stages), contiguous)
    return AuditMapping(order, path_of_entity)
