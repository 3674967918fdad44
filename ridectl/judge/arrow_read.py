"""Read a history file into typed columns with pyarrow, one thread per part of the file.

pyarrow's JSON reader parses in C++ without holding the interpreter lock, but its streaming
reader parses one block after another. So the file is cut at line ends into as many parts
as there are cores (up to four), each part is read by its own streaming reader on its own
thread, and each thread also reduces its batches to the columns the checker needs (the
part's ride ids, kept batch by batch, dictionary-encoded once the part is read). The parts are
joined in file order.

The file's bytes reach the threads through ``ridectl.judge.file_parts``: mapped (parsed in
place) while a read lease keeps other programs from truncating the file, else read by
pyarrow's own reader, where a file cut short gives a torn part that the reader refuses.

A read can be started before the command line is parsed (``begin``, from the launcher), so
that the parse overlaps the start-up; ``take`` hands it to the command that asks for the
same file and run.

The reader is strict where msgspec's decoder (``ridectl.judge.history``) is strict: a float,
a string or a boolean where an int belongs, a key given twice, a line that is not a JSON
object all make it refuse. A file it refuses, or one with a missing or null field or a value
out of range (which msgspec would count as malformed), gives ``None``: the caller then takes
the exact line-by-line path, which counts the malformed lines.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import stat
import threading
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ridectl.judge.file_parts import FilePart, FileParts
from ridectl.judge.lifecycle import LIFECYCLE_LENGTH
from ridectl.judge.parts import Batches, Part, compare_parts

if TYPE_CHECKING:
    import pyarrow as pa

#: Bytes parsed per block. Small blocks keep the parser's buffers small: at 1M events, 2 MB
#: blocks peaked some 40 MB below 8 MB ones, at the same CPU time.
_BLOCK_BYTES = 2 << 20
#: A file below this size is read by one thread (a thread costs more than it saves).
_SPLIT_BYTES = 8 << 20
_MAX_PARTS = 4

_Ints = npt.NDArray[np.int64]


@dataclass(slots=True)
class Columns:
    """The events of the chosen run, part by part in file order."""

    parts: list[Part] = field(default_factory=list)
    foreign: int = 0
    other_runs: set[str] = field(default_factory=set)

    def extend(self, other: Columns) -> None:
        self.parts += other.parts
        self.foreign += other.foreign
        self.other_runs |= other.other_runs


def part_count(size: int) -> int:
    """Into how many parts a file of ``size`` bytes is cut (one per core, up to four)."""
    return 1 if size < _SPLIT_BYTES else max(1, min(_MAX_PARTS, os.cpu_count() or 1))


class Reading:
    """The columnar read of one history file, on background threads."""

    def __init__(self, path: Path, run_id: str | None) -> None:
        self.path = path
        self.run_id = run_id
        #: A pipe or a device is not opened here (that could take a writer's bytes or wait
        #: for one): it is left whole to the line-by-line path.
        self.regular = stat.S_ISREG(os.stat(path).st_mode)  # OSError here, in the caller
        self._file: FileParts | None = None
        spans: list[tuple[int, int]] = []
        work: list[tuple[int, FilePart]] = []
        if self.regular:
            self._file = FileParts(path, _BLOCK_BYTES)
            try:
                spans = list(pairwise(self._file.cuts(part_count(self._file.size))))
                work = [(i, self._file.part(a, b)) for i, (a, b) in enumerate(spans) if b > a]
            except BaseException:
                self._file.close()  # (the file and its lease: nothing else would let go)
                raise
        # an empty part has nothing to read; the others are filled in by their thread
        self._results: list[Columns | BaseException | None] = [
            None if b > a else Columns() for a, b in spans
        ]
        self._stop = threading.Event()
        # the threads wait for each other to compare their parts' ride ids
        self._barrier = threading.Barrier(max(1, len(work)))
        self._threads: list[threading.Thread] = []
        with _lock:
            _live.add(self)
        try:
            for i, part in work:
                thread = threading.Thread(target=self._run, args=(i, part), daemon=True)
                thread.start()
                self._threads.append(thread)
        finally:
            if len(self._threads) < len(work):  # a thread could not start
                self._stop.set()
                self._barrier.abort()

    def _run(self, i: int, source: FilePart) -> None:
        try:
            self._results[i] = _read_part(source, self.run_id, self._stop)
        except BaseException as exc:  # handed to the thread that asks for the result
            self._results[i] = exc
        try:
            self._barrier.wait()
        except threading.BrokenBarrierError:
            return  # (the comparison is then made by ``result``)
        parts = self._parts()
        with contextlib.suppress(Exception):  # (``result`` makes it again, and raises)
            for k, part in enumerate(parts):
                if part is _part_of(self._results[i]):
                    compare_parts(parts, k)

    def _parts(self) -> list[Part]:
        return [part for r in self._results if (part := _part_of(r)) is not None]

    def cancel(self) -> None:
        """Stop the threads after their current block and wait for them."""
        self._stop.set()
        self._join()

    def _join(self) -> None:
        for t in self._threads:
            t.join()
        self._threads = []  # their parts (and views of the file) are let go
        if self._file is not None:
            self._file.close()
            self._file = None
        with _lock:
            _live.discard(self)

    def result(self) -> Columns | None:
        """The columns of the whole file, or None when a part was refused."""
        self._join()
        whole = Columns()
        for result in self._results:
            if isinstance(result, BaseException):
                raise result
            if result is not None:
                whole.extend(result)
        refused = not self.regular or any(result is None for result in self._results)
        if not refused:
            for k, part in enumerate(whole.parts):
                if part.elsewhere is None or part.earlier is None:
                    compare_parts(whole.parts, k)
        _give_back_memory()
        return None if refused or self._stop.is_set() else whole


def _give_back_memory() -> None:
    """Return the parser's freed memory to the system.

    The reader threads allocate in their own malloc arenas, which glibc does not shrink on
    its own: at 1M events some 65 MB of freed blocks stayed resident through the judging
    that follows (``malloc_trim`` releases them; other C libraries lack it, and need not)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def _read_part(source: FilePart, run_id: str | None, stop: threading.Event) -> Columns | None:
    import pyarrow as pa
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
    kept = Columns()
    batches = Batches.for_bytes(source.size)
    try:
        reader = pj.open_json(
            source.stream,
            read_options=pj.ReadOptions(block_size=_BLOCK_BYTES, use_threads=False),
            parse_options=options,
            # the C library's allocator hands the parser's freed blocks back to the system
            # (the default pool kept them: some 30 MB more at the peak)
            memory_pool=pa.system_memory_pool(),
        )
        for batch in reader:
            if stop.is_set():
                return None
            if batch.num_rows and not _keep(batch, run_id, batches, kept):
                return None
            source.done(blocks=2)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    part = batches.part()
    if part is not None:
        kept.parts.append(part)
    return kept


def _keep(batch: pa.RecordBatch, run_id: str | None, batches: Batches, kept: Columns) -> bool:
    """Check one batch's values (False: not for this path) and keep its columns."""
    from pyarrow._compute import call_function

    if any(c.null_count for c in batch.columns):
        return False  # a missing or null field: msgspec has its own rules for those
    # every line is held to msgspec's bounds, those of other runs too
    seqs, partitions, offsets = _numbers(batch)
    if seqs.min() < 1 or seqs.max() > LIFECYCLE_LENGTH or partitions.min() < 0 or offsets.min() < 0:
        return False
    if run_id is not None:
        runs = batch.column("run_id")
        mine = call_function("equal", [runs, run_id])
        count = call_function("sum", [mine]).as_py() or 0
        if count != len(runs):
            kept.foreign += len(runs) - count
            kept.other_runs.update(call_function("unique", [runs]).to_pylist())
            kept.other_runs.discard(run_id)
            batch = call_function("filter", [batch, mine])
            if not batch.num_rows:
                return True
            seqs, partitions, offsets = _numbers(batch)
    batches.ride_ids.append(batch.column("ride_id"))
    batches.positions.add(batch.column("pos").to_numpy())
    batches.seqs.add(seqs)
    batches.partitions.add(partitions)
    batches.offsets.add(offsets)
    return True


def _numbers(batch: pa.RecordBatch) -> tuple[_Ints, _Ints, _Ints]:
    """The batch's seqs, partitions and offsets (views of its columns)."""
    column = batch.column
    return column("seq").to_numpy(), column("partition").to_numpy(), column("offset").to_numpy()


def _part_of(result: Columns | BaseException | None) -> Part | None:
    return result.parts[0] if isinstance(result, Columns) and result.parts else None


_lock = threading.Lock()
#: Reads begun by ``begin`` and not yet taken.
_started: list[Reading] = []
#: Reads whose threads may still run.
_live: set[Reading] = set()


@atexit.register
def _cancel_live() -> None:
    """Never leave the interpreter with a parse in flight (a usage error, Ctrl-C)."""
    with _lock:
        readings = list(_live)
    for reading in readings:
        reading.cancel()


def begin(path: Path, run_id: str | None) -> None:
    """Start reading ``path`` now, for a later ``take`` (nothing when it cannot be opened:
    the command reports that itself)."""
    try:
        reading = Reading(path, run_id)
    except OSError:
        return
    with _lock:
        _started.append(reading)


def take(path: Path, run_id: str | None) -> Reading:
    """The read begun for this file and run, else one started now."""
    with _lock:
        for reading in _started:
            if reading.path == path and reading.run_id == run_id:
                _started.remove(reading)
                return reading
    return Reading(path, run_id)
