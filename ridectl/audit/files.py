"""Records from a file, for ``audit --from FILE``: a kcat ``-J`` export or JSON lines.

Two layouts, one JSON object per line, told apart line by line:

* kcat's ``-J`` envelope: ``{"topic": .., "partition": .., "offset": .., "key": "..",
  "payload": "..", "ts": .., ...}``, the value under ``payload`` as a string (null for a
  tombstone);
* plain JSON lines: ``{"partition": .., "offset": .., "key": .., "value": ..}``, the value a
  string (the record's text), null (a tombstone), or any other JSON (taken as the record's
  value itself, as its compact JSON text).

The records are judged in the file's order, a partition's consecutive lines at a time, which
for an export is each partition's offset order: the verdict is the one an audit of the topic
gives. Lines that are neither layout are counted, never fatal.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Annotated

import msgspec

from ridectl.audit.engine import Auditor, Record
from ridectl.judge.history import decode_lines, file_chunks

_Place = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
_NULL = b"null"


class _Line(msgspec.Struct, gc=False):
    """One line of either layout (the fields an audit needs; others are skipped)."""

    partition: _Place
    offset: _Place
    key: str | None = None
    #: kcat's name for the value
    payload: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    value: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    topic: str | None = None


_decoder = msgspec.json.Decoder(_Line)
_text = msgspec.json.Decoder(str)


@dataclass(slots=True)
class FileRead:
    """What reading a file told, besides its records."""

    lines: int = 0
    #: Lines that were not a record of either layout.
    malformed: int = 0
    #: Records of another topic than the one asked for (kcat envelopes name theirs).
    other_topic: int = 0
    #: Topics named by the records, each once, in order of appearance.
    topics: dict[str, None] = field(default_factory=dict)


def _value_of(line: _Line) -> bytes | msgspec.UnsetType | None:
    """The record's value as bytes (None: a tombstone; UNSET: the line has none)."""
    raw = line.payload if line.value is msgspec.UNSET else line.value
    if raw is msgspec.UNSET:
        return msgspec.UNSET
    data = bytes(raw)
    if data == _NULL:
        return None
    if data[:1] == b'"':
        return _text.decode(data).encode("utf-8", "surrogatepass")
    return data


def _records(
    lines: list[_Line], read: FileRead, topic: str | None
) -> Iterator[tuple[int, list[Record]]]:
    """The lines as records, a partition's consecutive lines at a time."""
    batch: list[Record] = []
    partition = -1
    for line in lines:
        value = _value_of(line)
        if value is msgspec.UNSET:
            read.malformed += 1
            continue
        if line.topic is not None:
            read.topics.setdefault(line.topic)
            if topic is not None and line.topic != topic:
                read.other_topic += 1
                continue
        if line.partition != partition and batch:
            yield partition, batch
            batch = []
        partition = line.partition
        key = None if line.key is None else line.key.encode("utf-8", "surrogatepass")
        batch.append((line.offset, key, value))
    if batch:
        yield partition, batch


def feed_file(fh: IO[bytes], auditor: Auditor, *, topic: str | None = None) -> FileRead:
    """Feed every record of an open binary file to ``auditor``; records that name another
    topic than ``topic`` (when given) are counted and skipped."""
    read = FileRead()
    for chunk in file_chunks(fh):
        lines, bad = decode_lines(_decoder, chunk)
        read.lines += len(lines) + bad
        read.malformed += bad
        for partition, records in _records(lines, read, topic):
            auditor.feed(partition, records)
    return read
