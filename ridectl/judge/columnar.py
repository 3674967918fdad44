"""Judge a history file in columns: parsed in C++, tested per ride with array operations.

A history of a million events spends most of its time, when read as Python objects, on one
object per event and a Python loop over them. Here pyarrow's JSON reader parses the file
straight into typed columns (whatever the layout: spacing, key order, extra fields; see
``ridectl.judge.arrow_read``) and numpy finds the clean-looking rides with a handful of array
operations. Only the events of the other rides (the suspects, a few percent of a real
history) become ``Observation`` objects, and ``ridectl.judge.checker.check`` judges them
exactly as it would judge the whole history, so the verdict is the same (tests hold the two
paths equal).

A clean-looking ride is the checker's: in processing order its events read ``1 2 3 4 5``,
five events, all on one partition. Such a ride breaks no rule of a detector that declares
``flags_clean_rides = False``; the only detector that says True (aborted reads) needs the
aborted transactions, which a history file does not carry, and so do the detectors that
judge rides never seen (they need the acknowledgements).
"""

from __future__ import annotations

from itertools import repeat
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from ridectl.judge.arrow_read import Columns, take
from ridectl.judge.checker import check
from ridectl.judge.history import History, Observation
from ridectl.judge.lifecycle import LIFECYCLE_LENGTH
from ridectl.judge.verdict import Report
from ridectl.phases import mark

_Ints = npt.NDArray[np.int64]
_T = TypeVar("_T", bound=np.generic)

#: Partitions below this are counted with a table (``bincount``), larger ones by sorting.
_COUNTED_PARTITIONS = 1 << 16


def check_columns(path: Path, *, run_id: str | None = None) -> tuple[History, Report] | None:
    """Judge the history file at ``path`` in columns; None when the file holds a line the
    columnar reader does not take exactly as msgspec would (see ``ridectl.judge.arrow_read``).

    Raises OSError as opening the file does."""
    read = take(path, run_id).result()
    mark("parse (the rest of it)")
    if read is None:
        return None
    history = History(foreign=read.foreign, run_id=run_id, other_runs=read.other_runs)
    if not read.rides:
        return history, check(history)
    judged = history, _judge(read, history)
    mark("judge")
    return judged


def _judge(read: Columns, history: History) -> Report:
    import pyarrow as pa
    from pyarrow._compute import call_function

    rides = pa.chunked_array(read.rides).unify_dictionaries()
    read.rides.clear()  # each list is let go once joined: the peak holds one copy
    names = rides.chunk(0).dictionary
    number = _joined([c.indices.to_numpy() for c in rides.chunks])
    del rides
    seqs = _joined(read.seqs)
    partitions = _joined(read.partitions)
    positions = _joined(read.positions)
    suspects = _suspects(number, seqs, partitions, positions, len(names))
    rows = np.flatnonzero(np.isin(number, suspects))
    ride_ids = call_function("take", [names, pa.array(number[rows])]).to_pylist()
    offsets = _joined(read.offsets)[rows].tolist()
    history.observations = list(
        map(
            Observation,
            positions[rows].tolist(),
            ride_ids,
            seqs[rows].tolist(),
            partitions[rows].tolist(),
            offsets,
            repeat(history.run_id or ""),
        )
    )
    report = check(history)
    history.observations = []  # the suspects were judged; the caller needs only the counts
    report.rides = len(names)
    report.events = len(number)
    report.records_per_partition = _per_partition(partitions)
    return report


def _joined(chunks: list[npt.NDArray[_T]]) -> npt.NDArray[_T]:
    """The chunks as one array; the list is emptied."""
    whole = np.concatenate(chunks)
    chunks.clear()
    return whole


def _per_partition(partitions: _Ints) -> dict[int, int]:
    if int(partitions.max()) < _COUNTED_PARTITIONS:
        counts = np.bincount(partitions)
        kinds = np.flatnonzero(counts)
        counts = counts[kinds]
    else:
        kinds, counts = np.unique(partitions, return_counts=True)
    return dict(zip(kinds.tolist(), counts.tolist(), strict=True))


def _suspects(
    number: npt.NDArray[np.int32],
    seqs: npt.NDArray[np.int8],
    partitions: _Ints,
    positions: _Ints,
    rides: int,
) -> _Ints:
    """The numbers of the rides that are not clean-looking.

    In processing order (by position, ties in file order), ``ranks[r, s - 1]`` is the rank of
    an event of ride ``r`` with seq ``s``. A ride of exactly five events with every seq 1..5
    among them holds each seq once; it is clean when their ranks rise with the seq and their
    partitions agree."""
    events = len(number)
    if np.any(positions[1:] < positions[:-1]):
        order = np.argsort(positions, kind="stable")
        number, seqs, partitions = number[order], seqs[order], partitions[order]
    width = LIFECYCLE_LENGTH + 1
    # one row per ride, one column per seq: the rank of (an) event of that ride and seq
    cell = number.astype(np.intp) * width
    cell += seqs
    # (int32 ranks while they fit: half the memory of the table)
    first: npt.NDArray[np.signedinteger[npt.NBitBase]] = np.full(
        rides * width, -1, dtype=np.int64 if events >= 2**31 else np.int32
    )
    first[cell] = np.arange(events, dtype=first.dtype)
    del cell
    ranks = first.reshape(rides, width)[:, 1:]
    clean = np.bincount(number, minlength=rides) == LIFECYCLE_LENGTH
    clean &= (ranks >= 0).all(axis=1)
    clean &= (ranks[:, 1:] > ranks[:, :-1]).all(axis=1)
    # the partitions of the candidates' events, seq by seq
    candidates = np.flatnonzero(clean)
    places = partitions[ranks[candidates]]
    clean[candidates] = (places == places[:, :1]).all(axis=1)
    return np.flatnonzero(~clean).astype(np.int64)
