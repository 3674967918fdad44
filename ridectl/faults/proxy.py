"""The fault proxy's public entries: ``FaultProxy`` (in a child process by default, or a
thread), ``serve_forever`` (the caller's event loop) and ``run_standalone`` (a blocking call for
``ridectl proxy``).

What the proxy is: a Kafka-protocol-aware TCP proxy that puts itself between clients and the
broker(s), points every broker address a response names at itself (so a client only ever learns
proxy addresses), and applies fault specs to Produce requests. Roles: ``core.py`` (listeners,
numbering, counters), ``connection.py`` (one client connection and its broker connection),
``kinds.py`` (what each fault kind does), ``runners.py`` (thread or child process), ``stats.py``
(the typed snapshot and the request ledger), ``requests.py`` (the ride events each Produce
request carried and what became of it), ``protocol.py`` (the wire format). A new fault kind
is a class in ``kinds.py`` and its grammar in ``spec.py``.

Faults
------
Produce requests are numbered 1, 2, 3, ... by a single counter shared by all listeners and
connections of the proxy (retries included), in the order the proxy reads them. For one
producer that makes ``every=3`` and friends deterministic; with several producers at once the
numbers interleave in arrival order. For each request the fault specs are asked in the order
given; the first that selects the number acts and the others do not. Produce requests with
acks=0 get no response from Kafka, so the proxy never answers them: ``error`` swallows such a
request (the records are lost, as acks=0 permits), ``lost-ack`` and ``delay`` have nothing to
act on and let it pass (not counted as injected), ``disconnect`` still drops the connection.
Answers are encoded with kafka-python's codecs in the request's own version.

Robustness: a closed client or broker socket, a malformed or oversized frame, an API the broker
does not list, a frame that trickles in too slowly, or a response that does not match the
oldest outstanding request closes that one connection pair; the proxy keeps serving the
others. Plain TCP only: no TLS, and SASL only as far as it is ordinary request/response frames.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Literal

from ridectl.faults.config import CONNECT_TIMEOUT_S, FRAME_TIMEOUT_S, ProxyConfig, parse_host_port
from ridectl.faults.core import ProxyCore
from ridectl.faults.protocol import MAX_FRAME_BYTES
from ridectl.faults.runners import ProcessRunner, Runner, ThreadRunner
from ridectl.faults.spec import FaultSpec
from ridectl.faults.stats import ProxyStats

__all__ = [
    "FaultProxy",
    "ProxyStats",
    "parse_host_port",
    "run_standalone",
    "serve_forever",
]


class FaultProxy:
    """A fault proxy to use from Python::

        with FaultProxy("127.0.0.1:9092", [parse_fault_spec("error:every=3")]) as proxy:
            producer = KafkaProducer(bootstrap_servers=proxy.bootstrap, ...)
            ...
            print(proxy.stats().hit_requests)

    It listens before ``__enter__`` (or ``start()``) returns, and ``close()`` stops every
    listener and drops every connection still open, clients included.

    ``isolation`` chooses where the event loop runs:

    ``"process"`` (default)
        in a child Python process, with a daemon-free parent side (pipes only). Use this
        whenever a kafka-python client runs in the same process: its sender thread polls
        without sleeping while its in-flight limit is reached, and a proxy thread sharing
        the GIL with it then moves each request tens of milliseconds late (measured: ~25
        records/s instead of ~600).
    ``"thread"``
        in a daemon thread of this process: no child process, but only fast when the
        clients live elsewhere.
    """

    def __init__(
        self,
        upstream_bootstrap: str,
        faults: Sequence[FaultSpec] = (),
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
        *,
        advertised_host: str | None = None,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        frame_timeout_s: float = FRAME_TIMEOUT_S,
        isolation: Literal["process", "thread"] = "process",
    ) -> None:
        config = ProxyConfig(
            upstream_bootstrap,
            tuple(faults),
            listen_host,
            listen_port,
            advertised_host,
            max_frame_bytes,
            connect_timeout_s,
            frame_timeout_s,
        )
        # Building the core checks every argument, whichever runner ends up using it.
        core = ProxyCore(config)
        self._faults = core.faults
        self._runner: Runner
        if isolation == "thread":
            self._runner = ThreadRunner(core)
        elif isolation == "process":
            self._runner = ProcessRunner(config)
        else:
            raise ValueError(f"isolation must be 'process' or 'thread', not {isolation!r}")
        self._state = "new"
        self._bootstrap = ""
        self._final: ProxyStats | None = None

    @property
    def bootstrap(self) -> str:
        """The address(es) to give a client, ``host:port[,host:port...]``."""
        if not self._bootstrap:
            raise RuntimeError("the proxy is not started")
        return self._bootstrap

    @property
    def faults(self) -> tuple[FaultSpec, ...]:
        return self._faults

    @property
    def pid(self) -> int:
        """The process the proxy runs in (the child's, or ours with ``isolation="thread"``)."""
        return self._runner.pid

    def stats(self) -> ProxyStats:
        """A snapshot now; after ``close()``, the final one."""
        if self._final is not None:
            return self._final
        if self._state != "running":
            raise RuntimeError("the proxy is not started")
        return self._runner.stats()

    def describe(self) -> str:
        return self.stats().describe()

    def start(self) -> FaultProxy:
        if self._state != "new":
            raise RuntimeError("a FaultProxy starts once")
        self._state = "starting"
        self._runner.start()
        self._state = "running"
        self._bootstrap = self._runner.stats().bootstrap
        return self

    def close(self) -> None:
        if self._state == "running":
            self._final = self._runner.close()
        self._state = "closed"

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


async def serve_forever(
    upstream_bootstrap: str,
    faults: Sequence[FaultSpec] = (),
    listen_host: str = "127.0.0.1",
    listen_port: int = 0,
    *,
    advertised_host: str | None = None,
    on_ready: Callable[[ProxyStats], None] | None = None,
    stop: asyncio.Event | None = None,
) -> ProxyStats:
    """Run the proxy in the current event loop until ``stop`` is set (or the task is
    cancelled) and return the final stats. ``on_ready`` gets the first snapshot (addresses)
    once the proxy listens."""
    core = ProxyCore(
        ProxyConfig(upstream_bootstrap, tuple(faults), listen_host, listen_port, advertised_host)
    )
    try:
        await core.start()
        if on_ready is not None:
            on_ready(core.stats())
        await (stop or asyncio.Event()).wait()
    finally:
        await core.stop()
    return core.stats()


def run_standalone(
    upstream_bootstrap: str,
    faults: Sequence[FaultSpec] = (),
    listen_host: str = "127.0.0.1",
    listen_port: int = 0,
    *,
    advertised_host: str | None = None,
    on_ready: Callable[[ProxyStats], None] | None = None,
) -> ProxyStats:
    """Block until Ctrl-C (or SIGTERM) and return the final stats: the body of
    ``ridectl proxy``. Raises UsageError/BrokerError when it cannot listen or no broker
    answers."""

    async def main() -> ProxyStats:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        try:
            return await serve_forever(
                upstream_bootstrap,
                faults,
                listen_host,
                listen_port,
                advertised_host=advertised_host,
                on_ready=on_ready,
                stop=stop,
            )
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    return asyncio.run(main())
