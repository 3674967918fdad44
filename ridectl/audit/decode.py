"""Read one record with an audit mapping: its entity and order value, or why it has none.

A value is decoded by msgspec into a struct made for the mapping's paths (nested structs for
``payload.after.id``, every other field skipped unread), the fastest way to pull two fields out
of a JSON document in Python. A value that struct does not take (a field of another type, a
path through something that is not an object, a top-level array) is decoded again as plain
JSON and walked, so each record gets its exact reason (``ridectl.audit.kinds.Unmapped``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from operator import attrgetter
from typing import Union

import msgspec

from ridectl.audit.kinds import Unmapped
from ridectl.audit.mapping import AuditMapping, FieldPath, StageOrder

#: An entity and its order value, as a record gives them.
Mapped = tuple[str, int | float]

#: How many records' top-level fields are kept to answer a mapping that matched nothing.
_SAMPLES = 20

_NOT_JSON = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


class RecordDecoder:
    """Turns a record's key and value into ``(entity, order value)`` or an ``Unmapped``."""

    def __init__(self, mapping: AuditMapping) -> None:
        self.mapping = mapping
        order = mapping.order
        self._stages = order.rank() if isinstance(order, StageOrder) else None
        self._integers = order.contiguous and self._stages is None
        leaf_of_order: object = str if self._stages is not None else int
        if self._stages is None and not order.contiguous:
            leaf_of_order = int | float
        leaves: dict[FieldPath, object] = {order.path: leaf_of_order}
        if mapping.entity is not None:
            leaves[mapping.entity] = str | int
        root, getters = _struct_for(leaves)
        self._decode: Callable[[bytes], object] = msgspec.json.Decoder(root).decode
        self._order_of = getters[order.path]
        self._entity_of = None if mapping.entity is None else getters[mapping.entity]
        #: Top-level fields of the first values that lacked a path, each once, in order.
        self.fields_seen: dict[str, None] = {}
        self._sampled = 0

    def __call__(self, key: bytes | None, value: bytes | None) -> Mapped | Unmapped:
        if value is None:
            return Unmapped.TOMBSTONE
        entity_of = self._entity_of
        if entity_of is None:
            if key is None:
                return Unmapped.NO_KEY
            entity: object = key.decode("utf-8", "backslashreplace")
        try:
            doc = self._decode(value)
            if entity_of is not None:
                entity = entity_of(doc)
            order = self._order_of(doc)
        except (*_NOT_JSON, AttributeError):  # (AttributeError: a path through an absent field)
            return self._slowly(key, value)  # (the exact reason, or a value of another type)
        # the common case first: a text entity and an integer (or a known stage)
        if entity.__class__ is str:
            stages = self._stages
            if stages is None:
                if order.__class__ is int:
                    return entity, order
            elif order.__class__ is str:
                rank = stages.get(order)
                if rank is not None:
                    return entity, rank
        if entity is msgspec.UNSET:
            return self._missing(value, Unmapped.ENTITY_MISSING)
        if order is msgspec.UNSET:
            return self._missing(value, Unmapped.ORDER_MISSING)
        return self._mapped(entity, order)

    def _mapped(self, entity: object, order: object) -> Mapped | Unmapped:
        text = entity if isinstance(entity, str) else _entity_text(entity)
        if text is None:
            return Unmapped.ENTITY_MISSING
        number = self._order_value(order)
        if isinstance(number, Unmapped):
            return number
        return text, number

    def _order_value(self, order: object) -> int | float | Unmapped:
        if order is None:
            return Unmapped.ORDER_MISSING
        if self._stages is not None:
            name = order if isinstance(order, str) else _entity_text(order)
            rank = None if name is None else self._stages.get(name)
            return Unmapped.UNKNOWN_STAGE if rank is None else rank
        if isinstance(order, bool) or not isinstance(order, int | float):
            return Unmapped.NOT_A_NUMBER
        if self._integers and not isinstance(order, int):
            return Unmapped.NOT_AN_INTEGER
        return order

    def _slowly(self, key: bytes | None, value: bytes) -> Mapped | Unmapped:
        """The value as plain JSON, walked path by path: the exact reason, or the fields the
        fast struct did not take (an order value of another type, say)."""
        try:
            doc = msgspec.json.decode(value)
        except _NOT_JSON:
            return Unmapped.NOT_JSON
        self._sample(doc)
        if self.mapping.entity is None:
            assert key is not None  # (checked before decoding)
            entity: object = key.decode("utf-8", "backslashreplace")
        else:
            entity = _walk(doc, self.mapping.entity)
            if entity is msgspec.UNSET or entity is None:
                return Unmapped.ENTITY_MISSING
        order = _walk(doc, self.mapping.order.path)
        if order is msgspec.UNSET:
            return Unmapped.ORDER_MISSING
        return self._mapped(entity, order)

    def _missing(self, value: bytes, reason: Unmapped) -> Unmapped:
        if self._sampled < _SAMPLES:
            self._sample(msgspec.json.decode(value))
        return reason

    def _sample(self, doc: object) -> None:
        if self._sampled < _SAMPLES and isinstance(doc, dict):
            self._sampled += 1
            self.fields_seen.update(dict.fromkeys(map(str, doc)))


def _walk(doc: object, path: FieldPath) -> object:
    """The value at ``path`` in a plain JSON document (UNSET when it is not there)."""
    for name in path.names:
        if not isinstance(doc, dict) or name not in doc:
            return msgspec.UNSET
        doc = doc[name]
    return doc


def _entity_text(value: object) -> str | None:
    """An entity that is not a string: an integer by its digits, null as no entity, anything
    else (a float, true, an object) by its compact JSON text as Python's json writes it (a
    float by its shortest round-trip digits, ``1e+16``; rare enough that speed is no matter)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _struct_for(
    leaves: dict[FieldPath, object],
) -> tuple[type, dict[FieldPath, attrgetter[object]]]:
    """A struct type that decodes exactly the ``leaves`` (path -> type of the value there),
    every field optional, and a getter per path (absent fields read as UNSET)."""
    tree: dict[str, object] = {}
    for path, leaf in leaves.items():
        node = tree
        for name in path.names[:-1]:
            child = node.setdefault(name, {})
            assert isinstance(child, dict)  # (overlapping paths are refused by the mapping)
            node = child
        node[path.names[-1]] = leaf
    getters: dict[FieldPath, attrgetter[object]] = {}
    root = _build(tree, "Value")
    for path in leaves:
        getters[path] = attrgetter(".".join(_field_names(tree, path)))
    return root, getters


def _field_names(tree: dict[str, object], path: FieldPath) -> list[str]:
    names: list[str] = []
    node = tree
    for name in path.names:
        names.append(f"f{list(node).index(name)}")
        child = node[name]
        node = child if isinstance(child, dict) else {}
    return names


def _build(tree: dict[str, object], name: str) -> type:
    fields: list[tuple[str, object, object]] = []
    rename: dict[str, str] = {}
    for i, (json_name, sub) in enumerate(tree.items()):
        kind = _build(sub, f"{name}_{i}") if isinstance(sub, dict) else sub
        fields.append((f"f{i}", Union[kind, msgspec.UnsetType], msgspec.UNSET))  # noqa: UP007
        rename[f"f{i}"] = json_name
    struct = msgspec.defstruct(name, fields, rename=rename, gc=False)
    return struct
