"""The history of a run: what the consumer processed, in the order it processed it.

Producing and consuming only *record* a history; judging it is ``ridectl.judge.checker``'s job.
A history is saved as NDJSON, one observation per line (see docs/reference.md, "History files").
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import compress
from json.encoder import encode_basestring_ascii
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Literal, Protocol, TypeVar, cast

import msgspec

from ridectl.judge.lifecycle import LIFECYCLE_LENGTH

if TYPE_CHECKING:
    from ridectl.judge.recorded import Recorded

_T = TypeVar("_T")
_Seq = Annotated[int, msgspec.Meta(ge=1, le=LIFECYCLE_LENGTH)]
#: Kafka's partitions and offsets are 64-bit at most; a larger number is not a place in a log
#: (and would not fit the packed columns the checker of a large file keeps).
_Place = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
_Position = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]


class Observation(msgspec.Struct, frozen=True, gc=False, rename={"position": "pos"}):
    """One ride event as the consumer processed it.

    ``position`` is the processing position (0, 1, 2, ... in the order the events were
    handled, which with several workers is not the order they were fetched). A history line
    decodes straight into this type (its ``pos`` is ``position``); the bounds on seq,
    partition and offset hold for decoded lines.
    """

    position: _Position
    ride_id: str
    seq: _Seq
    partition: _Place
    offset: _Place
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


class Ack(msgspec.Struct, frozen=True, gc=False, rename={"partition": "p", "offset": "o"}):
    """One event the producer saw acknowledged (partition and offset from the broker).

    A run keeps its acknowledgements as JSON lines ``{"ride_id":..,"seq":..,"p":..,"o":..}``
    (``ridectl.run.store``). A struct, not a dataclass: a producer makes one per acknowledgement,
    and a frozen dataclass took some 0.5 µs to make, against 0.04 µs."""

    ride_id: str
    seq: int
    partition: int
    offset: int


class History:
    """Everything the checker needs, and nothing about Kafka clients.

    A consumer records its events as columns (``recorded``, see ``ridectl.judge.recorded``);
    ``observations`` turns them into ``Observation`` objects, after those already there, the
    first time it is read after they came. The checker of a large recording reads the columns
    and builds observations only for the rides that do not look clean."""

    __slots__ = (
        "_observations",
        "aborted",
        "acked",
        "committed",
        "foreign",
        "malformed",
        "other_runs",
        "recorded",
        "run_id",
    )

    def __init__(
        self,
        observations: list[Observation] | None = None,
        *,
        foreign: int = 0,
        malformed: int = 0,
        acked: list[Ack] | None = None,
        run_id: str | None = None,
        other_runs: set[str] | None = None,
        committed: dict[int, int] | None = None,
        aborted: frozenset[tuple[int, int]] | None = None,
    ) -> None:
        self._observations: list[Observation] = [] if observations is None else observations
        #: Events recorded as columns after ``_observations`` and not yet turned into objects.
        self.recorded: Recorded | None = None
        #: Records on the topic that are not ride events of ours (or of another run when
        #: filtering).
        self.foreign = foreign
        #: Lines of a history file that could not be parsed (counted, the rest is judged).
        self.malformed = malformed
        #: Events the producer saw acknowledged, when known (enables the ``lost`` kind).
        self.acked = acked
        self.run_id = run_id
        #: Runs whose events were set aside because another run was chosen (so a run id that
        #: matched nothing can be answered with the runs that are there).
        self.other_runs: set[str] = set() if other_runs is None else other_runs
        #: The consumer group's committed offset (the next offset to read) per partition at
        #: the end of the run, when known: an acknowledged event below it that was never
        #: processed was skipped (enables the ``skipped`` kind; needs ``acked``).
        self.committed = committed
        #: ``(partition, offset)`` of every record written by a transaction that was later
        #: aborted (the acknowledgements of the aborted sends), when known: processing one is
        #: an ``aborted_read``, and never processing one is what should happen.
        self.aborted = aborted

    @property
    def observations(self) -> list[Observation]:
        """Every event, in the order recorded."""
        self.settle()
        return self._observations

    @observations.setter
    def observations(self, observations: list[Observation]) -> None:
        self._observations = observations
        self.recorded = None

    def settle(self) -> None:
        """Turn the recorded columns into observations, after those already there."""
        if self.recorded is not None:
            self._observations += self.recorded.observations()
            self.recorded = None

    @property
    def events(self) -> int:
        """How many events there are (without turning recorded columns into objects)."""
        return len(self._observations) + (0 if self.recorded is None else len(self.recorded))

    def places(self) -> Iterator[tuple[str, int, int]]:
        """``(ride_id, partition, offset)`` of every event, without turning recorded columns
        into objects."""
        for o in self._observations:
            yield o.ride_id, o.partition, o.offset
        if self.recorded is not None:
            r = self.recorded
            yield from zip(r.ride_ids, r.partitions, r.offsets, strict=True)

    def only_recorded(self) -> Recorded | None:
        """The recorded columns, when they hold every event."""
        return None if self._observations else self.recorded

    def __repr__(self) -> str:
        return (
            f"History(events={self.events}, run_id={self.run_id!r}, foreign={self.foreign}, "
            f"malformed={self.malformed})"
        )


#: ``lifecycle.SCHEMA`` as a type: a value of another schema fails its decode (a test holds
#: the two equal).
SchemaName = Literal["ridectl.ride-event/1"]


class _RideValue(msgspec.Struct, gc=False):
    """The fields of a ride event's record value that a consumer needs (others are ignored)."""

    schema: SchemaName
    ride_id: str
    seq: _Seq
    run_id: str


_decode_value = msgspec.json.Decoder(_RideValue).decode


#: What decoding text that is not ours raises (a record value, or a line of a history or acks
#: file): msgspec's errors (another schema or run is a ValidationError, a DecodeError), bytes
#: that are not UTF-8, and JSON nested deeper than the interpreter's recursion limit.
_UNDECODABLE = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


def parse_ride_event(value: bytes | None) -> tuple[str, int, str] | None:
    """Decode a record value into ``(ride_id, seq, run_id)``, or None if it is not ours."""
    if not value or value[:1] != b"{":
        return None
    try:
        v = _decode_value(value)
    except _UNDECODABLE:
        return None
    return v.ride_id, v.seq, v.run_id


def ride_event_columns(
    values: Sequence[bytes | None],
) -> tuple[list[str], list[int], list[str]] | None:
    """Decode many record values at once into columns ``(ride_ids, seqs, run_ids)``, or None
    when any of them is not a ride event of ours (then :func:`parse_ride_event` tells them
    apart one by one). Each value is decoded on its own (never joined with its neighbours),
    so no value can be misread as part of another."""
    decoded = _decode_all(_decode_value, values)
    if decoded is None:
        return None
    # (list comprehensions read a struct's fields faster than map(attrgetter(...)))
    return (
        [v.ride_id for v in decoded],
        [v.seq for v in decoded],
        [v.run_id for v in decoded],
    )


def run_event_columns(
    values: Sequence[bytes | None], run_id: str
) -> tuple[list[str], list[int]] | None:
    """:func:`ride_event_columns` for values that should all be events of ``run_id``: the
    columns ``(ride_ids, seqs)``, or None when any value is not an event of that run.

    The run id is checked by the decoder itself (a literal type), so no string is made for it
    and no column of run ids is built and compared: a consumer reading one run saves about a
    fifth of its decoding."""
    try:
        decode = _run_decoder(run_id)
    except UnicodeEncodeError:
        return None  # a run id no JSON text can hold (a lone surrogate): left to the slow path
    decoded = _decode_all(decode, values)
    if decoded is None:
        return None
    return [v.ride_id for v in decoded], [v.seq for v in decoded]


_FIRST_BYTE = itemgetter(0)
_OPEN_BRACE = ord("{")


def _decode_all(decode: Callable[[bytes], _T], values: Sequence[bytes | None]) -> list[_T] | None:
    """Every value decoded, or None when one is not a ride event of the decoder's type."""
    try:
        # The same test as parse_ride_event's first one: a value that does not start with
        # "{" is not ours, even if it is JSON. (IndexError: an empty value; TypeError: None,
        # a tombstone.)
        if list(map(_FIRST_BYTE, values)).count(_OPEN_BRACE) != len(values):  # type: ignore[arg-type]
            return None
        return list(map(decode, values))  # type: ignore[arg-type]
    except (*_UNDECODABLE, TypeError, IndexError):
        return None


class _RunValue(Protocol):
    ride_id: str
    seq: int


@functools.lru_cache(maxsize=8)
def _run_decoder(run_id: str) -> Callable[[bytes], _RunValue]:
    """A decoder of the ride events of ``run_id`` alone (another run id fails validation)."""
    fields = [("schema", SchemaName), ("ride_id", str), ("seq", _Seq), ("run_id", Literal[run_id])]
    struct = msgspec.defstruct("_RunEvent", fields, gc=False)  # (what _RunValue describes)
    return cast(Callable[[bytes], _RunValue], msgspec.json.Decoder(struct).decode)


def write_ndjson(observations: Iterable[Observation], out: IO[str]) -> int:
    n = 0
    for obs in observations:
        out.write(obs.to_line())
        n += 1
    return n


_decoder = msgspec.json.Decoder(Observation)
_run_of = attrgetter("run_id")

#: Bytes of a history file decoded at once: big enough to amortise the calls, small enough
#: that the text read never costs much memory beside the observations.
_CHUNK_BYTES = 8 << 20


def decode_lines(decoder: msgspec.json.Decoder[_T], chunk: bytes | str) -> tuple[list[_T], int]:
    """Every JSON line of ``chunk`` decoded, and how many lines could not be. A chunk holding
    a bad line is decoded again line by line, so only that line is lost; lines end at "\n"
    alone, and a line is read as the whole chunk reads it (objects back to back on one line
    are items each, as msgspec and pyarrow take them), so a bad line changes nothing but its
    own count."""
    try:
        return decoder.decode_lines(chunk), 0
    except _UNDECODABLE:
        pass
    items: list[_T] = []
    bad = 0
    text = chunk.decode("utf-8", "replace") if isinstance(chunk, bytes) else chunk
    for line in text.split("\n"):
        if not line.strip():
            continue
        try:
            items += decoder.decode_lines(line)
        except _UNDECODABLE:
            bad += 1
    return items, bad


def decode_chunk(chunk: bytes | str, into: list[Observation], history: History) -> None:
    """Decode whole lines into ``into``; malformed lines and lines of another run than
    ``history.run_id`` (when set) are counted in ``history`` (see :func:`decode_lines`)."""
    decoded, bad = decode_lines(_decoder, chunk)
    history.malformed += bad
    run_id = history.run_id
    if run_id is not None:
        kept = list(compress(decoded, map(run_id.__eq__, map(_run_of, decoded))))
        history.foreign += len(decoded) - len(kept)
        if len(kept) != len(decoded):
            history.other_runs.update(map(_run_of, decoded))
            history.other_runs.discard(run_id)
        decoded = kept
    into.extend(decoded)


def text_chunks(lines: Iterable[str]) -> Iterator[str]:
    """Lines of text gathered into pieces of about ``_CHUNK_BYTES``, whole lines each."""
    batch: list[str] = []
    size = 0
    for line in lines:
        batch.append(line if line.endswith("\n") else line + "\n")
        size += len(line)
        if size >= _CHUNK_BYTES:
            yield "".join(batch)
            batch.clear()
            size = 0
    if batch:
        yield "".join(batch)


def file_chunks(fh: IO[bytes]) -> Iterator[bytes]:
    """A binary file in pieces that end at a line end (the last one excepted)."""
    rest = b""
    while block := fh.read(_CHUNK_BYTES):
        cut = block.rfind(b"\n") + 1
        if cut == 0:
            rest += block
            continue
        yield rest + block[:cut]
        rest = block[cut:]
    if rest:
        yield rest


def read_ndjson(lines: Iterable[str], *, run_id: str | None = None) -> History:
    """Parse a history file. Bad lines are counted in ``malformed``; lines of another run
    (when ``run_id`` is given) in ``foreign``.

    Lines are decoded by msgspec straight into ``Observation``, a chunk at a time, whatever
    the JSON layout (spacing, key order, extra fields)."""
    history = History(run_id=run_id)
    for chunk in text_chunks(lines):
        decode_chunk(chunk, history.observations, history)
    return history


def read_ndjson_file(path: Path, *, run_id: str | None = None) -> History:
    history = History(run_id=run_id)
    with path.open("rb") as fh:
        for chunk in file_chunks(fh):
            decode_chunk(chunk, history.observations, history)
    return history
