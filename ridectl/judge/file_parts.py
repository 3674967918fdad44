"""A history file's bytes for the reader threads of ``ridectl.judge.arrow_read``, part by part.

Mapped where that is safe, read where it is not. A mapping lets pyarrow parse the page cache in
place: no copy, no fresh buffer per block; at 1M events it saved about 0.3 s and 70 MB against
pyarrow's own reads. But a mapped file that another program truncates while it is parsed takes
its pages with it, and touching them kills the process with SIGBUS. So the file is mapped only
under a read lease (Linux ``F_SETLEASE``): while the lease is held, a program that opens the
file for writing or truncates it waits until the lease is let go (or is refused at once, if it
opens without blocking), and the lease is let go when the parse is over. The kernel takes a
lease back by force after ``/proc/sys/fs/lease-break-time`` (45 s by default): a parse that
long, or a process stopped with Ctrl-Z while a writer waits, is not protected any more. Where
no lease can be
had (the file is open for writing elsewhere, belongs to someone else, lives on a file system
without leases, another system, or the read starts outside the main thread), each part is read
by pyarrow's own file reader: ``pread`` in C++, no interpreter lock; a file cut short then gives
a torn part, which the reader refuses, and the caller judges what is left line by line.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


def _lease(fd: int) -> bool:
    """Take a read lease on ``fd``; False where none can be had (see the module doc)."""
    if threading.current_thread() is not threading.main_thread():
        return False  # only the main thread can set what the lease-break signal does
    try:
        import fcntl

        # When another program asks for the file, the kernel signals the holder (SIGIO),
        # which by default ends the process; the lease is let go soon anyway.
        if signal.getsignal(signal.SIGIO) is signal.SIG_DFL:
            signal.signal(signal.SIGIO, signal.SIG_IGN)
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
    except (OSError, ValueError, AttributeError, ImportError):
        return False
    return True


@dataclass(slots=True)
class MappedPart:
    """Bytes ``start`` to ``end`` of the mapped file; pages already parsed are handed back
    as the parse moves on (``done``), so a large file never sits whole in resident memory."""

    mapping: mmap.mmap
    stream: pa.NativeFile
    start: int
    size: int
    block_bytes: int
    freed: int = 0
    parsed: int = 0

    def done(self, blocks: int) -> None:
        """Hand back the pages of the blocks before the last ``blocks`` parsed (each batch
        the parser yields is one block; it takes its blocks from the mapping at no cost, so
        how far it has read says nothing). A page handed back too early is read again from
        the page cache: time, never a wrong byte."""
        self.parsed += 1
        upto = self.start + (self.parsed - blocks) * self.block_bytes
        upto -= upto % mmap.PAGESIZE
        if upto > self.freed:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                self.mapping.madvise(mmap.MADV_DONTNEED, self.freed, upto - self.freed)
            self.freed = upto


@dataclass(slots=True)
class ReadPart:
    """Bytes ``start`` to ``start + size`` of the file, read by pyarrow's own reader."""

    stream: pa.NativeFile
    size: int

    def done(self, blocks: int) -> None:
        """(Nothing to hand back: the reader's buffers are freed as it goes.)"""


FilePart = MappedPart | ReadPart


class FileParts:
    """One open history file (a regular file), mapped under a lease or read."""

    def __init__(self, path: Path, block_bytes: int) -> None:
        import pyarrow as pa

        self._block_bytes = block_bytes
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))  # OSError: caller
        self.size = os.fstat(self._fd).st_size
        self._leased = bool(self.size) and _lease(self._fd)
        self._map: mmap.mmap | None = None
        self._whole: pa.Buffer | None = None
        self._file: pa.NativeFile | None = None
        try:
            if self._leased:
                try:
                    self._map = mmap.mmap(self._fd, self.size, access=mmap.ACCESS_READ)
                except OSError:  # cannot be mapped after all: read, without the lease
                    self._let_go()
            if self._map is not None:
                self._whole = pa.py_buffer(self._map)
            elif self.size:
                # (the C library's allocator for its read buffers, as for the parser's)
                self._file = pa.OSFile(str(path), memory_pool=pa.system_memory_pool())
        except BaseException:
            self.close()
            raise

    @property
    def mapped(self) -> bool:
        return self._map is not None

    def cuts(self, parts: int) -> list[int]:
        """Part boundaries: just after a line end near each k/n of the file."""
        size, cuts = self.size, [0]
        for k in range(1, parts):
            at = max(cuts[-1], size * k // parts)
            while at < size:
                block = os.pread(self._fd, 1 << 16, at)
                if not block:  # cut short meanwhile (possible only without the lease)
                    at = size
                    break
                nl = block.find(b"\n")
                if nl >= 0:
                    at += nl + 1
                    break
                at += len(block)
            cuts.append(min(at, size))
        cuts.append(size)
        return cuts

    def part(self, start: int, end: int) -> FilePart:
        import pyarrow as pa

        if self._map is not None and self._whole is not None:
            stream = pa.BufferReader(self._whole.slice(start, end - start))
            freed = start - start % mmap.PAGESIZE
            return MappedPart(self._map, stream, start, end - start, self._block_bytes, freed)
        assert self._file is not None
        return ReadPart(self._file.get_stream(start, end - start), end - start)

    def close(self) -> None:
        """Once the parts are parsed: hand back the pages, let go of the lease, close."""
        if self._map is not None:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                self._map.madvise(mmap.MADV_DONTNEED)
            self._whole = None
            try:
                self._map.close()
            except BufferError:
                # A view of the mapping is still held somewhere: the lease (and the file)
                # stay with the process, so the pages cannot vanish under that view (for as
                # long as the kernel leaves the lease: see the module docstring).
                return
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
        self._let_go()
        with contextlib.suppress(OSError):
            os.close(self._fd)

    def _let_go(self) -> None:
        """Give the lease back (when held)."""
        if self._leased:
            import fcntl

            with contextlib.suppress(OSError):
                fcntl.fcntl(self._fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
            self._leased = False
