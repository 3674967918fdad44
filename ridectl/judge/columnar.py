"""Judge a history file in columns: parsed in C++, tested per ride with array operations.

A history of a million events spends most of its time, when read as Python objects, on one
object per event and a Python loop over them. Here pyarrow's JSON reader parses the file
straight into typed columns (whatever the layout: spacing, key order, extra fields; see
``ridectl.judge.arrow_read``) and numpy finds the clean-looking rides with a handful of array
operations, most of them made by the reader threads on their parts of the file
(``ridectl.judge.clean``). Only the events of the other rides (the suspects, a few percent of
a real history) become ``Observation`` objects, and ``ridectl.judge.checker.check`` judges
them exactly as it would judge the whole history, so the verdict is the same (tests hold the
two paths equal).

A clean-looking ride is the checker's: in processing order its events read ``1 2 3 4 5``,
five events, all on one partition. Such a ride breaks no rule of a detector that declares
``flags_clean_rides = False``; the only detector that says True (aborted reads) needs the
aborted transactions, which a history file does not carry, and so do the detectors that
judge rides never seen (they need the acknowledgements).
"""

from __future__ import annotations

from collections import Counter
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ridectl.judge.arrow_read import take
from ridectl.judge.checker import check
from ridectl.judge.history import History, Observation
from ridectl.judge.parts import Part
from ridectl.judge.verdict import Report
from ridectl.phases import mark

if TYPE_CHECKING:
    import pyarrow as pa


def check_columns(path: Path, *, run_id: str | None = None) -> tuple[History, Report] | None:
    """Judge the history file at ``path`` in columns; None when the file holds a line the
    columnar reader does not take exactly as msgspec would (see ``ridectl.judge.arrow_read``).

    Raises OSError as opening the file does."""
    read = take(path, run_id).result()
    mark("parse (the rest of it)")
    if read is None:
        return None
    history = History(foreign=read.foreign, run_id=run_id, other_runs=read.other_runs)
    if not read.parts:
        return history, check(history)
    judged = history, _judge(read.parts, history)
    mark("judge")
    return judged


def _judge(parts: list[Part], history: History) -> Report:
    from pyarrow._compute import call_function

    observations: list[Observation] = []
    run = repeat(history.run_id or "")
    rides = 0
    for part in parts:
        assert part.elsewhere is not None and part.earlier is not None
        # a ride looks clean when it does in one part and is no ride of any other
        suspect = ~part.clean | part.elsewhere
        rows = np.flatnonzero(suspect[part.number])
        ride_ids = call_function("take", [part.names, _int32s(part.number[rows])]).to_pylist()
        observations += map(
            Observation,
            part.positions[rows].tolist(),
            ride_ids,
            part.seqs[rows].tolist(),
            part.partitions[rows].tolist(),
            part.offsets[rows].tolist(),
            run,
        )
        rides += len(part.names) - int(np.count_nonzero(part.earlier))
    history.observations = observations
    report = check(history)
    history.observations = []  # the suspects were judged; the caller needs only the counts
    report.rides = rides
    report.events = sum(len(part.number) for part in parts)
    report.records_per_partition = _per_partition(parts)
    return report


def _int32s(values: npt.NDArray[np.int32]) -> pa.Int32Array:
    """The values as an arrow array, shared, not copied (``pa.array`` would first import
    numpy.ma, some 15 ms, to ask whether they are masked)."""
    import pyarrow as pa

    return pa.Array.from_buffers(pa.int32(), len(values), [None, pa.py_buffer(values)])


def _per_partition(parts: list[Part]) -> dict[int, int]:
    total: Counter[int] = Counter()
    for part in parts:
        total.update(part.per_partition)
    return dict(sorted(total.items()))
