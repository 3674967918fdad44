"""Judge a history file without holding one Python object per event.

``check --from FILE`` can meet histories of millions of events. Holding an ``Observation`` per
event costs about 250 bytes each and a Python-level fold over them; this module keeps four
packed columns per event instead (position, offset, ride number, ``partition * 8 + seq``: about
24 bytes) and the ride ids once per ride, and it finds the clean-looking rides with one small
loop over two integer columns. Only the events of the other rides (the suspects) become
``Observation`` objects again, and ``ridectl.judge.checker.check`` judges them exactly as it
would judge the whole history, so the verdict is the same (a test holds the two paths equal).

The clean-looking test: a ride's state is the ``partition * 8 + seq`` of its last event while
its events so far read ``1 2 3 ...`` on one partition, and -1 once they do not. A ride is
clean-looking when its state ends at seq 5.
"""

from __future__ import annotations

from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import compress, count, islice
from operator import attrgetter, le
from pathlib import Path
from typing import IO

from ridectl.judge.checker import check
from ridectl.judge.columnar import check_columns
from ridectl.judge.history import History, Observation, decode_chunk, file_chunks, text_chunks
from ridectl.judge.lifecycle import LIFECYCLE_LENGTH
from ridectl.judge.verdict import Report

_position = attrgetter("position")
_offset = attrgetter("offset")
_ride = attrgetter("ride_id")
_partition = attrgetter("partition")
_seq = attrgetter("seq")


@dataclass(slots=True)
class _Columns:
    """The events read so far, one packed entry per event, in file order."""

    #: Processing positions; None while they have run start, start + 1, ... (as in every
    #: history ridectl writes), which needs no column.
    positions: array[int] | None = None
    start: int | None = None
    offsets: array[int] = field(default_factory=lambda: array("q"))
    rides: array[int] = field(default_factory=lambda: array("q"))
    #: ``partition * 8 + seq``
    stages: array[int] = field(default_factory=lambda: array("q"))
    #: ride id -> ride number (numbers handed out in order of first appearance)
    number: defaultdict[str, int] = field(default_factory=lambda: defaultdict(count().__next__))
    #: ride number -> state (see the module docstring); 0 before its first event
    state: list[int] = field(default_factory=list)

    def add(self, events: list[Observation]) -> None:
        # array.fromlist of a list built by map is the fastest way in (extend from an
        # iterator converts item by item at Python speed)
        self._positions(list(map(_position, events)))
        self.offsets.fromlist(list(map(_offset, events)))
        rides = list(map(self.number.__getitem__, map(_ride, events)))
        self.rides.fromlist(rides)
        parts = map((8).__mul__, map(_partition, events))
        stages = list(map(int.__add__, parts, map(_seq, events)))
        self.stages.fromlist(stages)
        self.state.extend([0] * (len(self.number) - len(self.state)))
        self._fold(rides, stages)

    def _positions(self, positions: list[int]) -> None:
        if not positions:
            return
        if self.positions is None:
            if self.start is None:
                self.start = positions[0]
            at = self.start + len(self.rides)
            if positions == list(range(at, at + len(positions))):
                return
            self.positions = array("q", range(self.start, at))
        self.positions.fromlist(positions)

    def position(self, i: int) -> int:
        if self.positions is not None:
            return self.positions[i]
        assert self.start is not None  # set by the first event
        return self.start + i

    def in_order(self) -> bool:
        """Are the positions in file order?"""
        p = self.positions
        return p is None or all(map(le, p, islice(p, 1, None)))

    def per_partition(self) -> dict[int, int]:
        counts: Counter[int] = Counter()
        for stage, n in Counter(self.stages).items():
            counts[stage >> 3] += n
        return dict(sorted(counts.items()))

    def _fold(self, rides: list[int], stages: list[int]) -> None:
        state = self.state
        for ride, stage in zip(rides, stages, strict=True):
            last = state[ride]
            if last == stage - 1 if last else stage & 7 == 1:
                state[ride] = stage
            else:
                state[ride] = -1

    def suspects(self) -> set[int]:
        """Ride numbers whose events do not read 1 2 3 4 5 on one partition."""
        return {i for i, s in enumerate(self.state) if s < 0 or s & 7 != LIFECYCLE_LENGTH}

    def observations(self, rides: set[int], run_id: str) -> list[Observation]:
        """The events of ``rides`` again as observations, in file order."""
        names = list(self.number)  # keys in the order their numbers were handed out
        picked = compress(count(), map(rides.__contains__, self.rides))
        return [
            Observation(
                self.position(i),
                names[self.rides[i]],
                self.stages[i] & 7,
                self.stages[i] >> 3,
                self.offsets[i],
                run_id,
            )
            for i in picked
        ]


def _judge(chunks: Iterator[bytes | str], run_id: str | None) -> tuple[History, Report]:
    history = History(run_id=run_id)
    columns = _Columns()
    for chunk in chunks:
        decoded: list[Observation] = []
        decode_chunk(chunk, decoded, history)
        columns.add(decoded)
    if not columns.in_order():
        return history, _unsorted(columns, history)
    suspects = columns.suspects()
    sub = History(
        columns.observations(suspects, run_id or ""),
        foreign=history.foreign,
        malformed=history.malformed,
        run_id=run_id,
    )
    report = check(sub)
    report.rides = len(columns.number)
    report.events = len(columns.rides)
    report.records_per_partition = columns.per_partition()
    return history, report


def _unsorted(columns: _Columns, history: History) -> Report:
    """Positions out of file order (a history not written by us): judge every event."""
    everyone = set(range(len(columns.number)))
    history.observations = columns.observations(everyone, history.run_id or "")
    return check(history)


def check_file(path: Path, *, run_id: str | None = None) -> tuple[History, Report]:
    """Read and judge a history file; the History returned holds the counts of malformed and
    foreign lines (not the observations).

    A file every line of which the columnar reader takes as msgspec would is judged in
    columns (``ridectl.judge.columnar``); any other is read here, chunk by chunk."""
    judged = check_columns(path, run_id=run_id)
    if judged is not None:
        return judged
    with path.open("rb") as fh:
        return check_reader(fh, run_id=run_id)


def check_reader(fh: IO[bytes], *, run_id: str | None = None) -> tuple[History, Report]:
    """``check_file`` for an open binary stream (standard input's buffer, say)."""
    return _judge(file_chunks(fh), run_id)


def check_lines(lines: Iterable[str], *, run_id: str | None = None) -> tuple[History, Report]:
    """``check_file`` for lines of text (standard input)."""
    return _judge(text_chunks(lines), run_id)
