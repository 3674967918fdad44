"""The bench's result dataclasses to and from JSON values (dicts, lists, numbers, strings).

Writing walks the dataclasses in field order, enums as their values; a field with the
``ABSENT_WHEN_NONE`` metadata is left out while it is None, so a key that only some results have
(a note, an error) is written only where it was before. Reading is strict: a dict fills a
dataclass only if it has every required field and no other key, which is also how a union
of dataclasses (a result or its failure) picks its member: the first that fits.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import Enum
from typing import TypeVar, cast

_OMIT = "absent_when_none"
#: Metadata of a field that defaults to None and is not written while it is None:
#: ``note: str | None = field(default=None, metadata=ABSENT_WHEN_NONE)``.
ABSENT_WHEN_NONE = {_OMIT: True}
_T = TypeVar("_T")

__all__ = ["ABSENT_WHEN_NONE", "ResultsFormatError", "from_json_value", "to_json_value"]


class ResultsFormatError(ValueError):
    """A results file that does not have the shape of the bench's results."""


def to_json_value(value: object) -> object:
    """``value`` as plain JSON values (dataclasses as dicts in field order)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, object] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if item is None and f.metadata.get(_OMIT):
                continue
            out[f.name] = to_json_value(item)
        return out
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    return value


def from_json_value(raw: object, kind: type[_T]) -> _T:
    """``raw`` (as ``json.loads`` gives it) as a ``kind``; ResultsFormatError if it is not one."""
    return cast(_T, _convert(raw, kind, "results"))


def _convert(raw: object, kind: object, where: str) -> object:
    origin = typing.get_origin(kind)
    if origin is typing.Union or origin is types.UnionType:
        problems = []
        for member in typing.get_args(kind):
            try:
                return _convert(raw, member, where)
            except ResultsFormatError as exc:
                problems.append(str(exc))
        raise ResultsFormatError("; ".join(problems))
    if kind is type(None):
        if raw is None:
            return None
        raise ResultsFormatError(f"{where}: expected null")
    if origin is list:
        (item,) = typing.get_args(kind)
        return [_convert(v, item, f"{where}[{i}]") for i, v in enumerate(_of(raw, list, where))]
    if origin is dict:
        _key, item = typing.get_args(kind)
        return {k: _convert(v, item, f"{where}.{k}") for k, v in _of(raw, dict, where).items()}
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _dataclass(raw, kind, where)
    if isinstance(kind, type) and issubclass(kind, Enum):
        try:
            return kind(raw)
        except ValueError:
            raise ResultsFormatError(f"{where}: {raw!r} is not a {kind.__name__}") from None
    return _scalar(raw, kind, where)


def _dataclass(raw: object, kind: type, where: str) -> object:
    data = _of(raw, dict, where)
    hints = typing.get_type_hints(kind)
    fields = {f.name: f for f in dataclasses.fields(kind) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ResultsFormatError(f"{where}: no field {', '.join(unknown)} in {kind.__name__}")
    missing = [
        name
        for name, f in fields.items()
        if name not in data
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ResultsFormatError(f"{where}: {kind.__name__} lacks {', '.join(missing)}")
    values = {k: _convert(v, hints[k], f"{where}.{k}") for k, v in data.items()}
    return kind(**values)


def _scalar(raw: object, kind: object, where: str) -> object:
    if kind is float:
        ok = isinstance(raw, int | float) and not isinstance(raw, bool)
    elif kind is int:
        ok = isinstance(raw, int) and not isinstance(raw, bool)
    elif kind in (str, bool):
        ok = isinstance(raw, cast(type, kind))
    else:
        raise ResultsFormatError(f"{where}: cannot read a {kind!r}")
    if not ok:
        raise ResultsFormatError(f"{where}: {raw!r} is not a {getattr(kind, '__name__', kind)}")
    return raw


def _of(raw: object, kind: type[_T], where: str) -> _T:
    if not isinstance(raw, kind):
        raise ResultsFormatError(f"{where}: expected a JSON {kind.__name__}")
    return raw
