"""Judge a history file in columns: parsed in C++, tested per ride with array operations.

A history of a million events spends most of its time, when read as Python objects, on one
object per event and a Python loop over them. Here pyarrow's JSON reader parses the file
straight into typed columns (whatever the layout: spacing, key order, extra fields) and
numpy finds the clean-looking rides with a handful of array operations. Only the events of
the other rides (the suspects, a few percent of a real history) become ``Observation``
objects, and ``ridectl.judge.checker.check`` judges them exactly as it would judge the whole
history, so the verdict is the same (tests hold the two paths equal).

A clean-looking ride is the checker's: in processing order its events read ``1 2 3 4 5``,
five events, all on one partition. Such a ride breaks no rule of a detector that declares
``flags_clean_rides = False``; the only detector that says True (aborted reads) needs the
aborted transactions, which a history file does not carry, and so do the detectors that
judge rides never seen (they need the acknowledgements).

The reader is strict where msgspec's decoder (``ridectl.judge.history``) is strict: a float,
a string or a boolean where an int belongs, a key given twice, a line that is not a JSON
object all make it refuse. A file it refuses, or one with a missing or null field or a value
out of range (which msgspec would count as malformed), is not judged here: ``None`` tells the
caller to take the exact line-by-line path, which counts the malformed lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ridectl.judge.checker import check
from ridectl.judge.history import History, Observation
from ridectl.judge.lifecycle import LIFECYCLE_LENGTH
from ridectl.judge.verdict import Report

#: Bytes parsed per block (blocks are parsed by several threads). Small blocks keep the
#: parser's buffers small: at 1M events, 2 MB blocks peaked some 40 MB below 8 MB ones, at the
#: same CPU time.
_BLOCK_BYTES = 2 << 20

_Ints = npt.NDArray[np.int64]

#: The columns read (extra fields of a line are ignored, as msgspec ignores them).
_FIELDS = ("pos", "ride_id", "seq", "partition", "offset", "run_id")


@dataclass(slots=True)
class _Read:
    """What the reader kept: the columns of the events of the chosen run, in file order."""

    positions: list[object] = field(default_factory=list)
    rides: list[object] = field(default_factory=list)
    seqs: list[object] = field(default_factory=list)
    partitions: list[object] = field(default_factory=list)
    offsets: list[object] = field(default_factory=list)
    foreign: int = 0
    other_runs: set[str] = field(default_factory=set)


def check_columns(path: Path, *, run_id: str | None = None) -> tuple[History, Report] | None:
    """Judge the history file at ``path`` in columns; None when the file holds a line the
    columnar reader does not take exactly as msgspec would (see the module docstring).

    Raises OSError as opening the file does."""
    read = _read(path, run_id)
    if read is None:
        return None
    history = History(foreign=read.foreign, run_id=run_id, other_runs=read.other_runs)
    if not read.rides:
        return history, check(history)
    return history, _judge(read, history)


def _read(path: Path, run_id: str | None) -> _Read | None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pj

    schema = pa.schema(
        [
            ("pos", pa.int64()),
            ("ride_id", pa.string()),
            ("seq", pa.int64()),
            ("partition", pa.int64()),
            ("offset", pa.int64()),
            ("run_id", pa.string()),
        ]
    )
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    read = _Read()
    with path.open("rb") as fh:  # OSError here, before the reader's own errors
        if not fh.read(1):
            return read
    try:
        reader = pj.open_json(
            path,
            read_options=pj.ReadOptions(block_size=_BLOCK_BYTES),
            parse_options=options,
            # the C library's allocator hands the parser's freed blocks back to the system
            # (the default pool kept them: some 30 MB more at the peak)
            memory_pool=pa.system_memory_pool(),
        )
        for batch in reader:
            if batch.num_rows and not _keep(batch, run_id, read, pc):
                return None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return read


def _keep(batch: object, run_id: str | None, read: _Read, pc: object) -> bool:
    """Check one batch's values (False: not for this path) and keep its columns."""
    b: object = batch
    cols = {name: b.column(name) for name in _FIELDS}  # type: ignore[attr-defined]
    if any(c.null_count for c in cols.values()):
        return False  # a missing or null field: msgspec has its own rules for those
    for name, low, high in (
        ("seq", 1, LIFECYCLE_LENGTH),
        ("partition", 0, None),
        ("offset", 0, None),
    ):
        bounds = pc.min_max(cols[name]).as_py()  # type: ignore[attr-defined]
        if bounds["min"] < low or (high is not None and bounds["max"] > high):
            return False
    runs = cols["run_id"]
    if run_id is not None:
        mine = pc.equal(runs, run_id)  # type: ignore[attr-defined]
        kept = pc.sum(mine).as_py() or 0  # type: ignore[attr-defined]
        if kept != len(runs):
            read.foreign += len(runs) - kept
            read.other_runs.update(pc.unique(runs).to_pylist())  # type: ignore[attr-defined]
            read.other_runs.discard(run_id)
            cols = {name: c.filter(mine) for name, c in cols.items()}
    read.positions.append(cols["pos"])
    read.rides.append(cols["ride_id"])
    read.seqs.append(cols["seq"])
    read.partitions.append(cols["partition"])
    read.offsets.append(cols["offset"])
    return True


def _judge(read: _Read, history: History) -> Report:
    import pyarrow as pa
    import pyarrow.compute as pc

    rides = pc.dictionary_encode(pa.concat_arrays(read.rides))
    number: _Ints = rides.indices.to_numpy().astype(np.int64)
    seqs: _Ints = pa.concat_arrays(read.seqs).to_numpy()
    partitions: _Ints = pa.concat_arrays(read.partitions).to_numpy()
    positions: _Ints = pa.concat_arrays(read.positions).to_numpy()
    suspects = _suspects(number, seqs, partitions, positions, len(rides.dictionary))
    rows = np.flatnonzero(np.isin(number, suspects))
    names = rides.dictionary.take(number[rows]).to_pylist()
    offsets = pa.concat_arrays(read.offsets).take(rows).to_pylist()
    history.observations = list(
        map(
            Observation,
            positions[rows].tolist(),
            names,
            seqs[rows].tolist(),
            partitions[rows].tolist(),
            offsets,
            repeat(history.run_id or ""),
        )
    )
    report = check(history)
    history.observations = []  # the suspects were judged; the caller needs only the counts
    report.rides = len(rides.dictionary)
    report.events = len(number)
    kinds, counts = np.unique(partitions, return_counts=True)
    report.records_per_partition = dict(zip(kinds.tolist(), counts.tolist(), strict=True))
    return report


def _suspects(number: _Ints, seqs: _Ints, partitions: _Ints, positions: _Ints, rides: int) -> _Ints:
    """The numbers of the rides that are not clean-looking.

    In processing order (by position, ties in file order), ``first[r, s]`` is the rank of an
    event of ride ``r`` with seq ``s`` and ``where[r, s]`` its partition. A ride of exactly
    five events with every seq 1..5 among them holds each seq once; it is clean when their
    ranks rise with the seq and their partitions agree."""
    if np.any(positions[1:] < positions[:-1]):
        order = np.argsort(positions, kind="stable")
        number, seqs, partitions = number[order], seqs[order], partitions[order]
    width = LIFECYCLE_LENGTH + 1
    first = np.full((rides, width), -1, dtype=np.int64)
    first[number, seqs] = np.arange(len(number), dtype=np.int64)
    where = np.full((rides, width), -1, dtype=np.int64)
    where[number, seqs] = partitions
    ranks, places = first[:, 1:], where[:, 1:]
    clean = np.bincount(number, minlength=rides) == LIFECYCLE_LENGTH
    clean &= (ranks >= 0).all(axis=1)
    clean &= (np.diff(ranks, axis=1) > 0).all(axis=1)
    clean &= (places == places[:, :1]).all(axis=1)
    return np.flatnonzero(~clean).astype(np.int64)
