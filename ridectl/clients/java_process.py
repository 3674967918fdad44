"""One running ``RideClient`` JVM: its pipes, its threads, and a bounded end.

Both directions carry length-prefixed binary frames (``RideClient.java`` describes them).
Writes go through a writer thread that sends whatever has gathered since its last write in
one go, so a producer's records cost no system call each and the caller never waits on the
pipe unless a few megabytes are already queued. A reader thread takes the program's output in
large reads: an acknowledgement frame (columns of index, partition, offset and the latency the
JVM measured) becomes one call with four C arrays, or a
:class:`~ridectl.clients.base.Delivery` call per record for a callback that takes no batches,
as it arrives; consumed records are kept as raw frames for the consumer's poll to decode, and
every other line is queued as a reply to the command waiting for it. A third thread keeps the
last lines the JVM wrote to stderr, for the error message when it dies. :meth:`JavaProcess.close`
asks the program to close its client and kills the JVM when that takes longer than the bound
it was given.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import os
import queue
import select
import struct
import subprocess
import sys
import threading
import time
from array import array
from collections.abc import Mapping
from typing import IO

from ridectl.clients.base import AckBatch, Delivery, DeliveryCallback, ack_batch_receiver
from ridectl.errors import RidectlError, one_line

_KILL_WAIT_S = 5.0
_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
#: Bytes queued for the JVM beyond which a write waits for the writer thread.
_QUEUED_MAX = 4 << 20
#: The pipes' capacity asked of Linux (it keeps its default where it refuses).
_PIPE_BYTES = 1 << 20
_READ_BYTES = 1 << 20

_HEADER = struct.Struct(">Bi")
_COUNT = struct.Struct(">i")
#: The frames' numbers are big-endian; arrays hold the machine's order.
_SWAP = sys.byteorder == "little"
assert array("i").itemsize == 4 and array("q").itemsize == 8
_INDEX = struct.Struct(">q")
_TEXT = struct.Struct(">ci")
_ACKS, _FAILED, _LINE, _RECORDS = b"aelr"


def client_error(what: str, message: str) -> RidectlError:
    """One line naming the client: ``java client (producer): <message>``."""
    return RidectlError(f"java client ({what}): {one_line(message)[:500]}")


def _exception_text(rest: str) -> str:
    """``Class message`` -> ``Class: message``."""
    name, _, message = rest.partition(" ")
    return f"{name}: {message}" if message else name


def text_frame(line: str) -> bytes:
    """One command for the program."""
    data = line.encode()
    return _TEXT.pack(b"T", len(data)) + data


def _widen(fd: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)


class FrameSplitter:
    """Cuts the bytes read from the JVM into frames (kind, body length, body), however the
    reads split them: a frame cut across reads waits until the reads that complete it
    have arrived (its length is in its header), then is joined once."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._have = 0
        self._need = _HEADER.size

    def feed(self, chunk: bytes) -> list[tuple[int, memoryview]]:
        """The frames ``chunk`` completes, as (kind, body), in order."""
        self._chunks.append(chunk)
        self._have += len(chunk)
        if self._have < self._need:
            return []
        data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        view = memoryview(data)
        out: list[tuple[int, memoryview]] = []
        pos, end, header = 0, len(data), _HEADER.size
        while end - pos >= header:
            kind, size = _HEADER.unpack_from(data, pos)
            if end - pos - header < size:
                break
            out.append((kind, view[pos + header : pos + header + size]))
            pos += header + size
        rest = data[pos:]
        self._chunks, self._have = ([rest], len(rest)) if rest else ([], 0)
        self._need = header + (_HEADER.unpack_from(rest, 0)[1] if len(rest) >= header else 0)
        return out


def _writable(fd: int) -> bool:
    return bool(select.select([], [fd], [], 0)[1])


class _Writer:
    """Bytes for the JVM, written by a thread of their own in as few writes as possible."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._chunks: list[bytes] = []
        self._size = 0
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._idle = False
        self._ending = False
        #: set when a write failed (the JVM is gone)
        self.failed = False
        self.thread = threading.Thread(target=self._run, name="ridectl-java-in", daemon=True)
        self.thread.start()

    def put(self, data: bytes, wait: bool = True) -> bool:
        """Queue ``data``; False when the pipe already failed. With ``wait``, returns only
        once fewer than ``_QUEUED_MAX`` bytes are queued (or the pipe failed)."""
        with self._lock:  # the plain lock: entering the condition costs a Python call more
            if self.failed:
                return False
            self._chunks.append(data)
            self._size += len(data)
            if self._idle:
                self._idle = False
                self._cond.notify_all()
            while wait and self._size > _QUEUED_MAX and not self.failed:
                self._cond.wait()
            return not self.failed

    def put_now(self, data: bytes) -> bool:
        """``put`` for a command: when nothing is queued and the thread is waiting, ``data`` is
        written at once by the calling thread, instead of when the writer thread next gets the
        interpreter (up to a switch interval later while the caller keeps it busy).

        Only when the write cannot block: a pipe that select() calls writable has room for
        PIPE_BUF bytes, and a write of at most that many goes in whole. A program that stopped
        reading (a producer blocked on a full buffer) must not hold the caller past the bound
        it waits for the reply with: then the writer thread takes the command."""
        if len(data) <= select.PIPE_BUF:
            with self._lock:
                if self._idle and not self._chunks and not self.failed and _writable(self._fd):
                    try:
                        os.write(self._fd, data)
                    except OSError:
                        self.failed = True
                        self._cond.notify_all()
                    return not self.failed
        return self.put(data)

    def end(self) -> None:
        """Stop once what is queued is written (or cannot be)."""
        with self._cond:
            self._ending = True
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._chunks and not self._ending:
                    self._idle = True
                    self._cond.wait()
                if not self._chunks:
                    return
                chunks, self._chunks = self._chunks, []
                if self._size > _QUEUED_MAX:
                    self._cond.notify_all()  # a put() waiting for room
                self._size = 0
            view = memoryview(b"".join(chunks))
            try:
                while view:
                    view = view[os.write(self._fd, view) :]
            except OSError:
                with self._cond:
                    self.failed = True
                    self._chunks = []
                    self._cond.notify_all()
                return


class JavaProcess:
    def __init__(
        self, cmd: list[str], settings: Mapping[str, str], what: str, start_timeout_s: float
    ) -> None:
        self.what = what
        self.on_delivery: DeliveryCallback | None = None
        #: where a frame's acknowledgements go, as four columns (index, partition, offset and the
        #: JVM's latency; chosen once: ``deliver_to``)
        self._acked: AckBatch | None = None
        #: the settings the client reported holding, by Java name
        self.settings: dict[str, str] = {}
        #: record frames ('r' bodies) read since the consumer last took them (``take_records``)
        self.records: list[bytes] = []
        self._replies: queue.Queue[str | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        self._request_lock = threading.Lock()
        self._callback_error: BaseException | None = None
        self._closed = False
        try:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # Ctrl-C reaches ridectl, which closes the client
            )
        except OSError as exc:
            raise client_error(what, f"could not start java: {exc}") from None
        assert self._proc.stdin and self._proc.stdout and self._proc.stderr
        for stream in (self._proc.stdin, self._proc.stdout):
            _widen(stream.fileno())
        self._writer = _Writer(self._proc.stdin.fileno())
        self._threads = [
            threading.Thread(target=self._read, args=(self._proc.stdout.fileno(),), daemon=True),
            threading.Thread(target=self._drain, args=(self._proc.stderr,), daemon=True),
        ]
        for t in self._threads:
            t.start()
        try:
            self._handshake(settings, start_timeout_s)
        except BaseException:
            self.close(None, 0.0)
            raise

    # ------------------------------------------------------------------ start

    def _handshake(self, settings: Mapping[str, str], timeout_s: float) -> None:
        frames = [text_frame(f"C {key} {value}") for key, value in settings.items()]
        self.write(b"".join(frames) + text_frame("G"))
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                line = self._replies.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise client_error(self.what, f"not ready after {timeout_s:.0f}s") from None
            if line is None:
                raise client_error(self.what, self._death())
            if line == "READY":
                return
            if line.startswith("X "):
                raise client_error(self.what, _exception_text(line[2:]))
            if line.startswith("S "):
                _s, name, value = [*line.split(" ", 2), ""][:3]
                self.settings[name] = value

    # ------------------------------------------------------------------ threads

    def _read(self, fd: int) -> None:
        frames = FrameSplitter()
        while True:
            try:
                chunk = os.read(fd, _READ_BYTES)
            except OSError:
                break
            if not chunk:
                break
            for kind, body in frames.feed(chunk):
                self._frame(kind, body)
        self._replies.put(None)

    def _frame(self, kind: int, body: memoryview) -> None:
        if kind == _ACKS:
            self._acks(body)
            return
        try:
            if kind == _RECORDS:
                # Kept as they came for the consumer's poll, which takes them all at once when
                # the poll's "LD" arrives (after them).
                self.records.append(bytes(body))
            elif kind == _FAILED:
                (index,) = _INDEX.unpack_from(body, 0)
                text = bytes(body[_INDEX.size :]).decode(errors="replace")
                name, _, message = text.partition(" ")
                self._deliver(Delivery(index, -1, -1, name, message))
            elif kind == _LINE:
                self._replies.put(bytes(body).decode(errors="replace"))
        except Exception as exc:  # as for acknowledgements, below
            if self._callback_error is None:
                self._callback_error = exc

    def deliver_to(self, on_delivery: DeliveryCallback) -> None:
        """Where deliveries go: failures as :class:`Delivery` calls, each frame's
        acknowledgements through :func:`~ridectl.clients.base.ack_batch_receiver` (one call
        per frame for an AckBatchSink, no object per record)."""
        self.on_delivery = on_delivery
        self._acked = ack_batch_receiver(on_delivery)

    def _acks(self, body: memoryview) -> None:
        acked = self._acked
        if acked is None:
            return
        (count,) = _COUNT.unpack_from(body, 0)
        # The four columns as C arrays, no Python number per record (read when settled).
        at = _COUNT.size
        indexes, partitions, offsets, latencies = array("q"), array("i"), array("q"), array("q")
        for column, size in ((indexes, 8), (partitions, 4), (offsets, 8), (latencies, 8)):
            column.frombytes(body[at : at + size * count])
            at += size * count
            if _SWAP:
                column.byteswap()
        try:
            acked(indexes, partitions, offsets, latencies)
        except Exception as exc:  # a failing callback must not stop the reader
            if self._callback_error is None:
                self._callback_error = exc

    def _deliver(self, delivery: Delivery) -> None:
        if self.on_delivery is not None:
            self.on_delivery(delivery)

    def _drain(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode(errors="replace").strip()
            if line:
                self._stderr.append(line)

    def _death(self) -> str:
        code = self._proc.poll()
        if code is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = self._proc.wait(timeout=1.0)  # the pipe broke as the JVM ended
        lines = list(self._stderr)
        wanted = [ln for ln in lines if "Exception" in ln or "Error" in ln] or lines
        last = wanted[-1] if wanted else "no output"
        return f"the JVM exited{'' if code is None else f' with code {code}'}: {last}"

    # ------------------------------------------------------------------ commands

    def write(self, data: bytes) -> None:
        """Queue ``data`` for the JVM (see :class:`_Writer`); raises once the JVM is gone."""
        if self._callback_error is not None:
            raise self._callback_error
        if not self._writer.put(data):
            raise client_error(self.what, self._death())

    def request(self, line: str, kind: str, timeout_s: float) -> list[str] | None:
        """Send a command and collect reply lines up to the one starting with ``kind``
        (which comes last); None when ``timeout_s`` passes first. An ``X`` line raises."""
        with self._request_lock:
            self.send(line)
            return self.collect(kind, timeout_s)

    def send(self, line: str) -> None:
        """Send a command (at once: :meth:`_Writer.put_now`). Its reply is for the caller to
        :meth:`collect`, before any other request (replies come in the order commands went)."""
        if self._callback_error is not None:
            raise self._callback_error
        if not self._writer.put_now(text_frame(line)):
            raise client_error(self.what, self._death())

    def collect(self, kind: str, timeout_s: float) -> list[str] | None:
        """The reply lines up to the one starting with ``kind`` (see :meth:`request`)."""
        deadline = time.monotonic() + timeout_s
        collected: list[str] = []
        while True:
            try:
                reply = self._replies.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if reply is None:
                self._replies.put(None)  # later callers see the end too
                raise client_error(self.what, self._death())
            if reply.startswith("X "):
                raise client_error(self.what, _exception_text(reply[2:]))
            collected.append(reply)
            if reply.split(" ", 1)[0] == kind:
                return collected

    def take_records(self) -> list[bytes]:
        """The record frames read so far, handed over once (the reader starts a new list)."""
        taken, self.records = self.records, []
        return taken

    def cpu_s(self) -> float | None:
        """CPU seconds the JVM has used so far, every thread (Linux's /proc; None elsewhere or
        once it has ended)."""
        try:
            with open(f"/proc/{self._proc.pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            return None
        # utime and stime, the 14th and 15th fields (counted from the pid), in clock ticks.
        return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S

    def exited(self) -> bool:
        return self._proc.poll() is not None

    def close(self, quit_line: str | None, timeout_s: float) -> None:
        """Ask the program to close its client (``quit_line``) and wait up to ``timeout_s``
        for the JVM to end; kill it after that. Returns within about ``timeout_s`` + 5 s."""
        if self._closed:
            return
        self._closed = True
        if quit_line is not None and self._proc.poll() is None:
            self._writer.put(text_frame(quit_line), wait=False)
        self._writer.end()
        try:
            self._proc.wait(timeout=max(0.0, timeout_s))
        except subprocess.TimeoutExpired:
            self._proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=_KILL_WAIT_S)
        # The pipes reach their end once the JVM is gone.
        for t in [self._writer.thread, *self._threads]:
            t.join(timeout=1.0)
        for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
