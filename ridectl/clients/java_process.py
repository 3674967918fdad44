"""One running ``RideClient`` JVM: its pipes, its threads, and a bounded end.

A reader thread turns the program's acknowledgement lines (``A``/``E``) into
:class:`~ridectl.clients.base.Delivery` calls as they arrive and queues every other line as a
reply to the command waiting for it; a second thread keeps the last lines the JVM wrote to
stderr, for the error message when it dies. :meth:`JavaProcess.close` asks the program to
close its client and kills the JVM when that takes longer than the bound it was given.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import os
import queue
import subprocess
import threading
import time
from collections.abc import Mapping
from typing import IO

from ridectl.clients.base import Delivery, DeliveryCallback
from ridectl.errors import RidectlError

_KILL_WAIT_S = 5.0


def client_error(what: str, message: str) -> RidectlError:
    """One line naming the client: ``java client (producer): <message>``."""
    return RidectlError(f"java client ({what}): {' '.join(message.split())[:500]}")


def _exception_text(rest: str) -> str:
    """``Class message`` -> ``Class: message``."""
    name, _, message = rest.partition(" ")
    return f"{name}: {message}" if message else name


class JavaProcess:
    def __init__(
        self, cmd: list[str], settings: Mapping[str, str], what: str, start_timeout_s: float
    ) -> None:
        self.what = what
        self.on_delivery: DeliveryCallback | None = None
        #: the settings the client reported holding, by Java name
        self.settings: dict[str, str] = {}
        #: record lines ("R ...") read since the consumer last took them (``take_records``)
        self.records: list[bytes] = []
        self._replies: queue.Queue[str | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        self._write_lock = threading.Lock()
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
        self._stdin = self._proc.stdin.fileno()
        self._threads = [
            threading.Thread(target=self._read, args=(self._proc.stdout,), daemon=True),
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
        lines = [
            b"C %s %s\n" % (key.encode(), base64.b64encode(value.encode()))
            for key, value in settings.items()
        ]
        self.write(b"".join(lines) + b"G\n")
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

    def _read(self, stream: IO[bytes]) -> None:
        for raw in stream:
            try:
                if raw.startswith(b"A "):
                    _a, index, partition, offset = raw.split()
                    self._deliver(Delivery(int(index), int(partition), int(offset)))
                elif raw.startswith(b"R "):
                    # A record read: kept as the raw line for the consumer's poll, which
                    # takes them all at once when the poll's "LD" arrives (after them).
                    self.records.append(raw)
                elif raw.startswith(b"E "):
                    words = raw.rstrip(b"\n").split(b" ", 3)
                    text = words[3].decode(errors="replace") if len(words) > 3 else ""
                    self._deliver(Delivery(int(words[1]), -1, -1, words[2].decode(), text))
                else:
                    self._replies.put(raw.decode(errors="replace").rstrip("\n"))
            except Exception as exc:  # a failing callback must not stop the acknowledgements
                if self._callback_error is None:
                    self._callback_error = exc
        self._replies.put(None)

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
        lines = list(self._stderr)
        wanted = [ln for ln in lines if "Exception" in ln or "Error" in ln] or lines
        last = wanted[-1] if wanted else "no output"
        return f"the JVM exited{'' if code is None else f' with code {code}'}: {last}"

    # ------------------------------------------------------------------ commands

    def write(self, data: bytes) -> None:
        if self._callback_error is not None:
            raise self._callback_error
        view = memoryview(data)
        with self._write_lock:
            try:
                while view:
                    view = view[os.write(self._stdin, view) :]
            except OSError:
                self._proc.poll()
                raise client_error(self.what, self._death()) from None

    def request(self, line: bytes, kind: str, timeout_s: float) -> list[str] | None:
        """Send a command and collect reply lines up to the one starting with ``kind``
        (which comes last); None when ``timeout_s`` passes first. An ``X`` line raises."""
        with self._request_lock:
            self.write(line)
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
        """The record lines read so far, handed over once (the reader starts a new list)."""
        taken, self.records = self.records, []
        return taken

    def exited(self) -> bool:
        return self._proc.poll() is not None

    def close(self, quit_line: bytes | None, timeout_s: float) -> None:
        """Ask the program to close its client (``quit_line``) and wait up to ``timeout_s``
        for the JVM to end; kill it after that. Returns within about ``timeout_s`` + 5 s."""
        if self._closed:
            return
        self._closed = True
        if quit_line is not None and self._proc.poll() is None:
            try:
                with self._write_lock:
                    os.write(self._stdin, quit_line)
            except OSError:
                pass
        try:
            self._proc.wait(timeout=max(0.0, timeout_s))
        except subprocess.TimeoutExpired:
            self._proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=_KILL_WAIT_S)
        for t in self._threads:  # the pipes reach their end once the JVM is gone
            t.join(timeout=1.0)
        for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
