"""The history of a run: what the consumer processed, in the order it processed it.

Producing and consuming only *record* a history; judging it is ``ridectl.judge.checker``'s job.
A history is saved as NDJSON, one observation per line (see README, "History files").
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import IO

from ridectl.judge.lifecycle import LIFECYCLE_LENGTH, SCHEMA


@dataclass(slots=True, unsafe_hash=True)
class Observation:
    """One ride event as the consumer processed it.

    ``position`` is the processing position (0, 1, 2, ... in the order the events were
    handled, which with several workers is not the order they were fetched).
    """

    position: int
    ride_id: str
    seq: int
    partition: int
    offset: int
    run_id: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "pos": self.position,
            "ride_id": self.ride_id,
            "seq": self.seq,
            "partition": self.partition,
            "offset": self.offset,
            "run_id": self.run_id,
        }

    def to_line(self) -> str:
        """This observation as one line of a history file."""
        return HISTORY_LINE % (
            self.position,
            json_text(self.ride_id),
            self.seq,
            self.partition,
            self.offset,
            json_text(self.run_id),
        )


#: A string as JSON text, quotes included, non-ASCII escaped (as ``json.dumps`` writes it).
json_text: Callable[[str], str] = encode_basestring_ascii

#: One line of a history file (``to_dict`` as compact JSON): pos, ride_id, seq, partition,
#: offset, run_id, with the two strings already JSON-encoded (``json_text``).
HISTORY_LINE = '{"pos":%d,"ride_id":%s,"seq":%d,"partition":%d,"offset":%d,"run_id":%s}\n'


@dataclass(frozen=True, slots=True)
class Ack:
    """One event the producer saw acknowledged (partition and offset from the broker)."""

    ride_id: str
    seq: int
    partition: int
    offset: int


@dataclass(slots=True)
class History:
    """Everything the checker needs, and nothing about Kafka clients."""

    observations: list[Observation] = field(default_factory=list)
    #: Records on the topic that are not ride events of ours (or of another run when filtering).
    foreign: int = 0
    #: Lines of a history file that could not be parsed (counted, the rest is still judged).
    malformed: int = 0
    #: Events the producer saw acknowledged, when known (enables the ``lost`` kind).
    acked: list[Ack] | None = None
    run_id: str | None = None
    #: The consumer group's committed offset (the next offset to read) per partition at the
    #: end of the run, when known: an acknowledged event below it that was never processed
    #: was skipped (enables the ``skipped`` kind; needs ``acked``).
    committed: dict[int, int] | None = None
    #: ``(partition, offset)`` of every record written by a transaction that was later aborted
    #: (the acknowledgements of the aborted sends), when known: processing one is an
    #: ``aborted_read``, and never processing one is what should happen.
    aborted: frozenset[tuple[int, int]] | None = None


#: A record value exactly as ``EventEncoder`` writes it: read without json.loads.
_FAST_EVENT = re.compile(
    rb'\{"schema":"' + re.escape(SCHEMA.encode()) + rb'","ride_id":"([^"\\]*)","seq":([1-5]),'
    rb'"type":"[A-Za-z]+","run_id":"([^"\\]*)","settings":"[^"\\]*",'
    rb'"produced_at_ms":-?\d+(?:\.\d+)?(?:,"pad":"x*")?\}'
)


def parse_ride_event(value: bytes | None) -> tuple[str, int, str] | None:
    """Decode a record value into ``(ride_id, seq, run_id)``, or None if it is not ours."""
    if not value or value[:1] != b"{":
        return None
    m = _FAST_EVENT.fullmatch(value)
    if m is not None:
        try:
            return m[1].decode(), int(m[2]), m[3].decode()
        except UnicodeDecodeError:
            return None
    try:
        doc = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        return None
    ride_id, seq, run_id = doc.get("ride_id"), doc.get("seq"), doc.get("run_id")
    if not isinstance(ride_id, str) or not isinstance(run_id, str):
        return None
    if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq <= LIFECYCLE_LENGTH:
        return None
    return ride_id, seq, run_id


def write_ndjson(observations: Iterable[Observation], out: IO[str]) -> int:
    n = 0
    for obs in observations:
        out.write(obs.to_line())
        n += 1
    return n


_FIELDS = ("pos", "ride_id", "seq", "partition", "offset")


#: The exact line ``write_ndjson`` writes; such lines skip the general JSON parser.
_FAST_LINE = re.compile(
    r'\{"pos":(\d+),"ride_id":"([^"\\]*)","seq":([1-5]),"partition":(\d+),'
    r'"offset":(\d+),"run_id":"([^"\\]*)"\}\s*'
)


def read_ndjson(lines: Iterable[str], *, run_id: str | None = None) -> History:
    """Parse a history file. Bad lines are counted in ``malformed``; lines of another run
    (when ``run_id`` is given) in ``foreign``.

    Lines in ``write_ndjson``'s own layout are read with one regular expression; anything
    else goes through ``json.loads`` with the same checks. The garbage collector is paused
    while the list grows (it would rescan the growing heap again and again)."""
    history = History(run_id=run_id)
    append = history.observations.append
    fast = _FAST_LINE.fullmatch
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for line in lines:
            m = fast(line)
            if m is not None:
                pos, ride_id, seq, partition, offset, rid = m.groups()
                if run_id is not None and rid != run_id:
                    history.foreign += 1
                    continue
                append(Observation(int(pos), ride_id, int(seq), int(partition), int(offset), rid))
                continue
            if not line.strip():
                continue
            parsed = _parse_general(line)
            if parsed is None:
                history.malformed += 1
            elif run_id is not None and parsed.run_id != run_id:
                history.foreign += 1
            else:
                append(parsed)
    finally:
        if gc_was_enabled:
            gc.enable()
    return history


def _parse_general(line: str) -> Observation | None:
    try:
        d = json.loads(line)
        pos, ride_id, seq, partition, offset = (d[k] for k in _FIELDS)
        rid = d.get("run_id", "")
    except (ValueError, KeyError, TypeError):
        return None
    if not (
        type(pos) is int
        and type(seq) is int
        and type(partition) is int
        and type(offset) is int
        and isinstance(ride_id, str)
        and isinstance(rid, str)
        and 1 <= seq <= LIFECYCLE_LENGTH
    ):
        return None
    return Observation(pos, ride_id, seq, partition, offset, rid)


def read_ndjson_file(path: Path, *, run_id: str | None = None) -> History:
    with path.open(encoding="utf-8", errors="replace") as fh:
        return read_ndjson(fh, run_id=run_id)
