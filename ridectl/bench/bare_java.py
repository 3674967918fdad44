"""Bare loops of the Java client, the ceilings ridectl's Java runs are compared with.

Both run ``BareLoop.java`` (beside ``RideClient.java``, compiled with it into the same class
directory) in a JVM started exactly as ridectl's Java client is (:func:`ridectl.clients.java.
jvm_command`: same flags, same class path, same ``kafka-clients`` jar), with the settings
translated as ridectl's Java client translates them, so a ratio to them is ridectl's own cost.

* :func:`java_bare_produce`: the JVM makes its producer and says which settings it holds;
  the records of a ridectl run with that settings label are then built here
  (:func:`~ridectl.bench.baselines.build_payloads`, as for the other bare loops) and handed
  over before the JVM's clock starts. The JVM learns the topic's partitions, then sends them
  all with one latency-noting callback per record and flushes; it reports the acknowledged
  count, its elapsed time, p50/p99 acknowledgement latency and its own CPU over the clock.
* :func:`java_bare_consume`: the JVM assigns the topic's partitions from the beginning, asks
  for the end offsets and positions, then polls until every end offset is reached, counting
  and keeping nothing (nothing comes back to Python). ``loop_s`` is the JVM's own clock from
  its first poll to the poll that reached the end; ``wall_s`` the whole child process.
"""

from __future__ import annotations

import contextlib
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from typing import IO

from ridectl.bench.baselines import ConsumeSample, ProduceSample, build_payloads
from ridectl.clients.java import CONSUMER_DEFAULTS, java_settings, jvm_command, shown_settings
from ridectl.clients.java_process import text_frame
from ridectl.clients.settings import ClientSettings
from ridectl.errors import one_line
from ridectl.run.options import settings_id

PROGRAM = "BareLoop"
TIMEOUT_S = 300.0
_COUNT = struct.Struct(">i")
_LENGTHS = struct.Struct(">ii")


class BareJavaError(RuntimeError):
    """The bare Java loop failed; the message is one line (its own words or the JVM's)."""


def _settings_frame(props: Mapping[str, str]) -> bytes:
    """The settings as ridectl's Java client takes them (``RideClient.readSettings``)."""
    return b"".join([*(text_frame(f"C {k} {v}") for k, v in props.items()), text_frame("G")])


def _records_frame(payloads: list[tuple[bytes | None, bytes]]) -> bytes:
    out = [_COUNT.pack(len(payloads))]
    for key, value in payloads:
        if key is None:
            out.append(_LENGTHS.pack(-1, len(value)) + value)
        else:
            out.append(_LENGTHS.pack(len(key), len(value)) + key + value)
    return b"".join(out)


class _Run:
    """One BareLoop JVM: its pipes, stderr kept in a file, killed after ``TIMEOUT_S``."""

    def __init__(self, mode: str, topic: str) -> None:
        self.t0 = time.perf_counter()
        # Closed by close(), which every caller reaches through its finally.
        self._err: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self.proc = subprocess.Popen(
            jvm_command(PROGRAM, mode, topic),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._err,
            start_new_session=True,
        )
        self._timer = threading.Timer(TIMEOUT_S, self.proc.kill)
        self._timer.daemon = True
        self._timer.start()

    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except OSError:
            raise self.failure() from None

    def line(self) -> str:
        """The next line the program prints; an ``X`` line or its end raises."""
        assert self.proc.stdout is not None
        text = self.proc.stdout.readline().decode(errors="replace").strip()
        if not text or text.startswith("X "):
            raise self.failure(text[2:] or None)
        return text

    def failure(self, said: str | None = None) -> BareJavaError:
        if said is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
            self._err.seek(0)
            lines = self._err.read().decode(errors="replace").strip().splitlines()
            wanted = [ln for ln in lines if "Exception" in ln or "Error" in ln] or lines
            said = f"exit {self.proc.returncode}: {wanted[-1] if wanted else 'no output'}"
        return BareJavaError(f"{PROGRAM}: {one_line(said)[:300]}")

    def close(self) -> float:
        """Wait for the JVM to end (killed if it takes more than 30 s); its wall seconds."""
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        finally:
            self._timer.cancel()
            for stream in (self.proc.stdin, self.proc.stdout, self._err):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        return time.perf_counter() - self.t0


def java_bare_produce(
    settings: ClientSettings, topic: str, rides: int, keyed: bool, seed: int, run_id: str
) -> ProduceSample:
    """Send a ridectl run's records with a bare Java loop (see module doc)."""
    props = {"bootstrap.servers": settings.bootstrap, **java_settings(settings.values, "producer")}
    run = _Run("produce", topic)
    try:
        run.send(_settings_frame(props))
        held: dict[str, str] = {}
        while (line := run.line()) != "READY":
            _s, name, value = [*line.split(" ", 2), ""][:3]
            held[name] = value
        label = settings_id(keyed, shown_settings(held))
        payloads = build_payloads(rides, keyed, seed, run_id, label)
        run.send(_records_frame(payloads))
        words = run.line().split()
    finally:
        run.close()
    if words[0] != "DONE" or len(words) != 7:
        raise BareJavaError(f"{PROGRAM}: unexpected reply {' '.join(words)[:200]}")
    acked, _failed, elapsed_ns, cpu_ns, p50_us, p99_us = map(int, words[1:])
    size = sum(len(v) for _, v in payloads)
    return ProduceSample(
        records=len(payloads),
        acked=acked,
        elapsed_s=elapsed_ns / 1e9,
        value_bytes=round(size * acked / len(payloads)) if payloads else 0,
        p50_ms=p50_us / 1000 if p50_us >= 0 else None,
        p99_ms=p99_us / 1000 if p99_us >= 0 else None,
        error=None if acked == len(payloads) else "not every record was acknowledged",
        loop_cpu_s=cpu_ns / 1e9,
    )


def java_bare_consume(settings: ClientSettings, topic: str) -> ConsumeSample:
    """Read a topic from the beginning to its current end offsets with a bare Java loop."""
    props = {
        "bootstrap.servers": settings.bootstrap,
        **CONSUMER_DEFAULTS,
        **java_settings(settings.values, "consumer"),
    }
    run = _Run("consume", topic)
    try:
        run.send(_settings_frame(props))
        words = run.line().split()
    finally:
        wall = run.close()
    if words[0] != "DONE" or len(words) != 4:
        raise BareJavaError(f"{PROGRAM}: unexpected reply {' '.join(words)[:200]}")
    return ConsumeSample(int(words[1]), wall, int(words[2]) / 1e9)
