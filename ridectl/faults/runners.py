"""Where the proxy's event loop runs: a daemon thread of this process, or a child process.

The child (``python -m ridectl.faults._child``) is driven over its stdin/stdout with one JSON
object a line: the parent writes ``stats`` or ``stop``, the child answers ``{"stats": ...}``;
its first line is ``{"ready": ...}`` or ``{"error": ...}``. The child stops when its stdin
closes, so it never outlives us. The config crosses as JSON (the fault specs as their fields);
the stats come back as ``ProxyStats``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import select
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from ridectl.errors import BrokerError, RidectlError, UsageError
from ridectl.faults.config import STOP_TIMEOUT_S, ProxyConfig
from ridectl.faults.core import ProxyCore
from ridectl.faults.spec import FaultSpec
from ridectl.faults.stats import ProxyStats

__all__ = [
    "START_TIMEOUT_S",
    "ProcessRunner",
    "Runner",
    "ThreadRunner",
    "config_from_json",
    "config_to_json",
]

log = logging.getLogger(__name__)

START_TIMEOUT_S = 60.0


class Runner(Protocol):
    def start(self) -> None: ...

    def stats(self) -> ProxyStats: ...

    def close(self) -> ProxyStats: ...

    @property
    def pid(self) -> int: ...


def config_to_json(config: ProxyConfig, log_level: int) -> str:
    data = dataclasses.asdict(config)
    data["faults"] = [dataclasses.asdict(f) for f in config.faults]
    data["log_level"] = log_level
    return json.dumps(data)


def config_from_json(text: str) -> tuple[ProxyConfig, int]:
    """The inverse of ``config_to_json``: the config and the log level."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("the proxy config must be a JSON object")
    level = int(data.pop("log_level", logging.WARNING))
    faults = tuple(FaultSpec(**spec) for spec in data.pop("faults", []))
    return ProxyConfig(faults=faults, **data), level


class ThreadRunner:
    """The core in a daemon thread with its own event loop, inside this process."""

    def __init__(self, core: ProxyCore) -> None:
        self._core = core
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def pid(self) -> int:
        return os.getpid()

    def start(self) -> None:
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                try:
                    loop.run_until_complete(self._core.start())
                except BaseException as exc:
                    failure.append(exc)
                    loop.run_until_complete(self._core.stop())
                    return
                finally:
                    started.set()
                loop.run_forever()
            finally:
                with contextlib.suppress(Exception):
                    loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        thread = threading.Thread(target=run, name="ridectl-fault-proxy", daemon=True)
        self._loop, self._thread = loop, thread
        thread.start()
        started.wait()
        if failure:
            thread.join()
            raise failure[0]

    def stats(self) -> ProxyStats:
        return self._core.stats()

    def close(self) -> ProxyStats:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            stopping = asyncio.run_coroutine_threadsafe(self._core.stop(), loop)
            try:
                stopping.result(STOP_TIMEOUT_S + 5)
            except Exception as exc:  # the loop is shut down below whatever happened
                log.debug("fault proxy stop: %r", exc)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(STOP_TIMEOUT_S)
        return self._core.stats()


class ProcessRunner:
    """The core in a child Python process (see the module text for the pipe's lines)."""

    def __init__(self, config: ProxyConfig) -> None:
        self._config = config
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._last: ProxyStats | None = None
        self._pid = 0

    @property
    def pid(self) -> int:
        return self._pid

    def start(self) -> None:
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_root, env.get("PYTHONPATH", "")) if p
        )
        level = logging.getLogger("ridectl.faults").getEffectiveLevel()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "ridectl.faults._child", config_to_json(self._config, level)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        self._pid = self._proc.pid
        try:
            first = self._receive(START_TIMEOUT_S)
            if "error" in first:
                raise _error_from(first["error"])
            self._last = ProxyStats.from_dict(first["ready"])
        except BaseException:
            self._kill()
            raise

    def _receive(self, timeout_s: float) -> Mapping[str, object]:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
        line = proc.stdout.readline() if ready else ""
        if not line:
            raise BrokerError(
                "the fault proxy process did not answer"
                + (f" (exit code {proc.poll()})" if proc.poll() is not None else "")
            )
        answer = json.loads(line)
        if not isinstance(answer, dict):
            raise BrokerError("the fault proxy process answered garbage")
        return answer

    def _ask(self, command: str, timeout_s: float) -> ProxyStats:
        proc = self._proc
        with self._lock:
            if proc is None or proc.poll() is not None or proc.stdin is None:
                if self._last is None:
                    raise RuntimeError("the fault proxy process is not running")
                return self._last
            proc.stdin.write(command + "\n")
            proc.stdin.flush()
            self._last = ProxyStats.from_dict(self._receive(timeout_s)["stats"])
            return self._last

    def stats(self) -> ProxyStats:
        return self._ask("stats", STOP_TIMEOUT_S)

    def close(self) -> ProxyStats:
        try:
            return self._ask("stop", STOP_TIMEOUT_S + 5)
        except (OSError, ValueError, KeyError, BrokerError) as exc:
            log.debug("fault proxy process stop: %r", exc)
            if self._last is None:
                raise
            return self._last
        finally:
            self._kill()

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _error_from(value: object) -> Exception:
    """Rebuild, in the parent, an error the child process reported at start-up."""
    data: Mapping[str, object] = value if isinstance(value, dict) else {}
    kinds: dict[str, type[RidectlError]] = {"UsageError": UsageError, "BrokerError": BrokerError}
    kind = kinds.get(str(data.get("type")))
    message = str(data.get("message"))
    if kind is None:
        return RuntimeError(f"the fault proxy process failed: {message}")
    hint = data.get("hint")
    return kind(message, hint=None if hint is None else str(hint))
