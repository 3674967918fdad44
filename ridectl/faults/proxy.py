"""A Kafka-protocol-aware TCP proxy that injects produce faults on demand.

Shape
-----
Every upstream broker gets its own listening port on the proxy (with a fixed listen port P,
the next brokers get the next free ports after P; with port 0, any free ports). The proxy
starts with one listener per bootstrap address; whenever a response names a broker
(Metadata, FindCoordinator, DescribeCluster, KIP-951 node endpoints) it opens a listener for
that broker address if it has none yet and rewrites the host and port to the listener's. A
client therefore only ever learns proxy addresses, and a three-node cluster works without
being described up front. Listeners are keyed by the broker's advertised (host, port), so the
node ids need not be known in advance.

Each accepted client connection gets its own connection to the broker its listener stands for.
Three tasks serve it: one reads requests and forwards them (or answers them itself), one reads
the broker's responses, one writes responses to the client. Every request that expects a
response takes a *slot* in a per-connection FIFO, in request order; the writer waits for the
slots one by one, so responses reach the client in request order even when the proxy answers
a later request itself (``error``) or holds an earlier response back (``delay``). Kafka clients
rely on that order: a response whose correlation id is not the oldest outstanding one makes
them drop the connection.

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

What each kind does on the wire: ``error`` answers the request itself (never forwarded) with
the error for exactly the request's topic-partitions, offsets -1, no throttling; ``lost-ack``
forwards it and replaces the broker's answer with that same error answer; ``delay`` holds the
broker's answer ``ms`` milliseconds (later answers on the connection queue behind it);
``disconnect`` does not forward the request and aborts both sockets, so every answer still
owed on that connection is lost. Answers are encoded with kafka-python's codecs in the
request's own version, with the response header version that version calls for.

Robustness: a closed client or broker socket, a malformed or oversized frame, or a response
that does not match the oldest outstanding request closes that one connection pair (logged at
debug level); the proxy keeps serving the others. Plain TCP only: no TLS, and SASL only as far
as it is ordinary request/response frames.

Where it runs: ``FaultProxy`` (in a child process by default, or a thread), ``serve_forever``
(the caller's event loop) and ``run_standalone`` (a blocking call for ``ridectl proxy``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import select
import signal
import struct
import subprocess
import sys
import threading
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from ridectl.errors import BrokerError, RidectlError, UsageError
from ridectl.faults.protocol import (
    API_VERSIONS,
    MAX_FRAME_BYTES,
    PRODUCE,
    ProduceInfo,
    ProtocolError,
    api_name,
    cap_api_versions,
    decode_address_response,
    encode_response,
    has_addresses,
    parse_produce_request,
    parse_request_header,
    produce_error_response,
    response_correlation_id,
)
from ridectl.faults.spec import FaultKind, FaultSpec

__all__ = [
    "FaultProxy",
    "ProxyStats",
    "parse_host_port",
    "run_standalone",
    "serve_forever",
]

log = logging.getLogger(__name__)

Address = tuple[str, int]

CONNECT_TIMEOUT_S = 10.0
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
# How many hit request numbers the stats keep (a long run with every=1 would grow forever).
MAX_HITS_KEPT = 100_000
#: A held error (``hold=N``) is answered anyway once the client sent nothing for this long.
HOLD_IDLE_S = 0.03
_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})


def parse_host_port(text: str, *, what: str = "address") -> Address:
    """``host:port`` (``[v6]:port`` for IPv6) to a tuple; UsageError when malformed."""
    raw = text.strip()
    host, sep, port_text = raw.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        port = int(port_text)
    except ValueError:
        port = -1
    if not sep or not host or not 0 <= port <= 65535:
        raise UsageError(f"bad {what} {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9092")
    return host, port


def _fmt(address: Address) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# --------------------------------------------------------------------------- stats


@dataclass(frozen=True)
class ProxyStats:
    """A snapshot of what the proxy did. ``as_dict()`` gives plain JSON-ready values."""

    listen: tuple[str, ...]
    """Every address the proxy listens on, bootstrap listeners first."""
    routes: dict[str, str]
    """Listening address -> the broker address it forwards to."""
    bootstrap: str
    """What to give a client as bootstrap servers."""
    faults: tuple[str, ...]
    """The fault specs, canonical text, in the order they are consulted."""
    connections_total: int
    connections_open: int
    connections_failed: int
    """Client connections closed because of a protocol problem, an unreachable broker or a
    proxy bug (logged at debug level), rather than a peer closing or a ``disconnect`` fault."""
    requests_by_api: dict[str, int]
    produce_requests: int
    faults_injected: dict[str, int]
    """Faults that acted, by kind."""
    hit_requests: tuple[int, ...]
    """Produce request numbers (1-based, proxy-wide) a fault acted on, in order."""
    hits_by_fault: dict[str, tuple[int, ...]]
    """The same numbers split by fault spec (canonical text)."""
    rewritten_responses: int
    """Responses whose broker addresses were pointed at the proxy."""
    max_in_flight: int
    """The most requests one connection ever had at the broker at once (what the client's
    max.in.flight setting and its ordering rules allowed in practice)."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProxyStats:
        """The inverse of ``as_dict()``."""
        values = {f.name: data[f.name] for f in fields(cls)}
        values["listen"] = tuple(values["listen"])
        values["faults"] = tuple(values["faults"])
        values["hit_requests"] = tuple(values["hit_requests"])
        values["hits_by_fault"] = {k: tuple(v) for k, v in values["hits_by_fault"].items()}
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["listen"] = list(self.listen)
        data["faults"] = list(self.faults)
        data["hit_requests"] = list(self.hit_requests)
        data["hits_by_fault"] = {k: list(v) for k, v in self.hits_by_fault.items()}
        return data

    def describe(self) -> str:
        """One line: where the proxy listens, where it forwards, which faults it injects."""
        routes = ", ".join(f"{src} -> {dst}" for src, dst in self.routes.items())
        faults = "; ".join(self.faults) if self.faults else "none"
        return f"fault proxy listening on {routes}; faults: {faults}"


class _Counters:
    """Mutable counters shared by the event loop (writer) and any thread asking for stats."""

    def __init__(self, faults: Sequence[FaultSpec]) -> None:
        self.lock = threading.Lock()
        self.connections_total = 0
        self.connections_open = 0
        self.connections_failed = 0
        self.requests: Counter[str] = Counter()
        self.produce_requests = 0
        self.injected: Counter[str] = Counter()
        self.hits: list[int] = []
        self.hits_by_fault: dict[str, list[int]] = {str(f): [] for f in faults}
        self.rewritten = 0
        self.max_in_flight = 0


# --------------------------------------------------------------------------- one connection


@dataclass(eq=False)
class _Slot:
    """A response the client is owed, in request order."""

    correlation_id: int
    api_key: int
    api_version: int
    ready: asyncio.Future[bytes]
    produce: ProduceInfo | None = None
    replace_code: int | None = None
    delay_ms: int | None = None


class _ConnectionClosed(Exception):
    """The proxy decided to drop the connection (a ``disconnect`` fault)."""


# How connections normally end: a peer closed, or the proxy dropped it on purpose.
_ORDINARY_ENDS = (asyncio.IncompleteReadError, ConnectionError, _ConnectionClosed)


async def _read_frame(reader: asyncio.StreamReader, limit: int) -> tuple[bytes, bytes]:
    head = await reader.readexactly(4)
    (size,) = struct.unpack(">i", head)
    if not 0 <= size <= limit:
        raise ProtocolError(f"frame size {size} outside 0..{limit}")
    return head, await reader.readexactly(size)


class _Connection:
    def __init__(
        self,
        core: _ProxyCore,
        client_reader: asyncio.StreamReader,
        client_writer: asyncio.StreamWriter,
        upstream: Address,
    ) -> None:
        self.core = core
        self.client_reader = client_reader
        self.client_writer = client_writer
        self.upstream = upstream
        self.awaiting: deque[_Slot] = deque()
        #: error answers waiting for more requests to arrive (``hold=N``):
        #: (produce requests seen on this connection when due, slot, answer)
        self.held: list[tuple[int, _Slot, bytes]] = []
        self.produce_seen = 0
        self.hold_timer: asyncio.TimerHandle | None = None
        self.outbox: asyncio.Queue[_Slot] = asyncio.Queue()
        self.up_reader: asyncio.StreamReader | None = None
        self.up_writer: asyncio.StreamWriter | None = None
        self.abort = False
        self.stopping = False
        self.tasks: list[asyncio.Task[Any]] = []

    def shutdown(self) -> None:
        """Drop this connection now (the proxy is stopping). Only the connection's own tasks
        are cancelled: the task asyncio's server runs ``run()`` in then returns normally,
        which Python 3.11's stream server needs to stay quiet."""
        self.abort = True
        self.stopping = True
        for task in self.tasks:
            task.cancel()

    async def run(self) -> None:
        peer = self.client_writer.get_extra_info("peername")
        connect = asyncio.create_task(
            asyncio.wait_for(asyncio.open_connection(*self.upstream), self.core.connect_timeout_s),
            name="connect",
        )
        self.tasks = [connect]
        await asyncio.wait([connect])
        failure = None if connect.cancelled() else connect.exception()
        if connect.cancelled() or failure is not None or self.stopping:
            if failure is not None:
                log.debug("client %s: cannot reach %s: %s", peer, _fmt(self.upstream), failure)
                self.core.count_failed()
            elif not connect.cancelled():
                self.up_reader, self.up_writer = connect.result()
            await self._close_all()
            return
        self.up_reader, self.up_writer = connect.result()
        tasks = [
            asyncio.create_task(self._requests(), name="requests"),
            asyncio.create_task(self._responses(), name="responses"),
            asyncio.create_task(self._deliver(), name="deliver"),
        ]
        self.tasks = tasks
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                reason = None if task.cancelled() else task.exception()
                if reason is not None and not isinstance(reason, _ORDINARY_ENDS):
                    self.core.count_failed()
                if reason is not None:
                    log.debug("client %s: closing (%s: %s)", peer, task.get_name(), reason)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._close_all()

    async def _close_all(self) -> None:
        for slot in self.awaiting:
            slot.ready.cancel()
        while not self.outbox.empty():
            self.outbox.get_nowait().ready.cancel()
        writers = [w for w in (self.client_writer, self.up_writer) if w is not None]
        for writer in writers:
            if self.abort:
                writer.transport.abort()
            else:
                writer.close()
        # The sockets are released on a later loop iteration; wait for that, but never long:
        # a peer that reads nothing must not keep a graceful close pending.
        for writer in writers:
            try:
                await asyncio.wait_for(writer.wait_closed(), 1.0)
            except (OSError, TimeoutError):
                writer.transport.abort()

    async def _requests(self) -> None:
        assert self.up_writer is not None
        loop = asyncio.get_running_loop()
        while True:
            head, payload = await _read_frame(self.client_reader, self.core.max_frame_bytes)
            info = parse_request_header(payload)
            produce: ProduceInfo | None = None
            fault: FaultSpec | None = None
            if info.api_key == PRODUCE:
                produce = parse_produce_request(payload, info.api_version)
                fault = self.core.produce_fault(produce)
                self.produce_seen += 1
            self.core.count_request(info.api_key)
            expects = produce is None or produce.expects_response
            if fault is not None and fault.kind is FaultKind.DISCONNECT:
                self.abort = True
                raise _ConnectionClosed("disconnect fault")
            slot: _Slot | None = None
            if expects:
                slot = _Slot(
                    info.correlation_id, info.api_key, info.api_version, loop.create_future()
                )
                slot.produce = produce
                if fault is not None and fault.kind is FaultKind.LOST_ACK:
                    slot.replace_code = fault.error_code
                    slot.delay_ms = fault.ms
                elif fault is not None and fault.kind is FaultKind.DELAY:
                    slot.delay_ms = fault.ms
            if fault is not None and fault.kind is FaultKind.ERROR:
                if slot is not None and produce is not None:
                    answer = produce_error_response(
                        produce, info.api_version, info.correlation_id, fault.error_code
                    )
                    if fault.hold:
                        # Answered once the client has sent ``hold`` more requests: its
                        # pipeline is then full behind the failing one, whatever the timing,
                        # which makes the reordering repeatable. A client that sends nothing
                        # more (one request in flight) is answered when it falls quiet.
                        self.held.append((self.produce_seen + fault.hold, slot, answer))
                    elif fault.ms:
                        # Held back for a time: the pipeline usually fills meanwhile.
                        loop.call_later(fault.ms / 1000, self._fulfil, slot, answer)
                    else:
                        slot.ready.set_result(answer)
                    self.outbox.put_nowait(slot)
                self._release_held()
                continue
            if slot is not None:
                self.awaiting.append(slot)
                self.outbox.put_nowait(slot)
                self.core.note_in_flight(len(self.awaiting))
            self.up_writer.write(head)
            self.up_writer.write(payload)
            await self.up_writer.drain()
            self._release_held()

    def _release_held(self) -> None:
        """Answer held errors whose number of following requests has now arrived; answer
        the rest if no request comes for HOLD_IDLE_S."""
        due = [h for h in self.held if h[0] <= self.produce_seen]
        if due:
            self.held = [h for h in self.held if h[0] > self.produce_seen]
            for _, slot, answer in due:
                self._fulfil(slot, answer)
        if self.hold_timer is not None:
            self.hold_timer.cancel()
            self.hold_timer = None
        if self.held:
            loop = asyncio.get_running_loop()
            self.hold_timer = loop.call_later(HOLD_IDLE_S, self._release_all_held)

    def _release_all_held(self) -> None:
        held, self.held, self.hold_timer = self.held, [], None
        for _, slot, answer in held:
            self._fulfil(slot, answer)

    async def _responses(self) -> None:
        assert self.up_reader is not None
        loop = asyncio.get_running_loop()
        while True:
            head, payload = await _read_frame(self.up_reader, self.core.max_frame_bytes)
            if not self.awaiting:
                raise ProtocolError("the broker answered a request nobody is waiting for")
            slot = self.awaiting.popleft()
            correlation_id = response_correlation_id(payload)
            if correlation_id != slot.correlation_id:
                raise ProtocolError(
                    f"response {correlation_id} while {slot.correlation_id} was due"
                )
            data = await self._transform(slot, head, payload)
            if slot.delay_ms:
                loop.call_later(slot.delay_ms / 1000, self._fulfil, slot, data)
            else:
                self._fulfil(slot, data)

    @staticmethod
    def _fulfil(slot: _Slot, data: bytes) -> None:
        # A delayed answer may come due after the connection is gone; its slot is then
        # cancelled already.
        if not slot.ready.done():
            slot.ready.set_result(data)

    async def _transform(self, slot: _Slot, head: bytes, payload: bytes) -> bytes:
        version = slot.api_version
        if slot.replace_code is not None and slot.produce is not None:
            return produce_error_response(
                slot.produce, version, slot.correlation_id, slot.replace_code
            )
        if slot.api_key == API_VERSIONS:
            return cap_api_versions(payload, version) or head + payload
        if has_addresses(slot.api_key, version):
            message, endpoints = decode_address_response(slot.api_key, version, payload)
            if endpoints:
                for endpoint in endpoints:
                    host, port = await self.core.listener_for(
                        (str(endpoint.host), int(endpoint.port))
                    )
                    endpoint.host = host
                    endpoint.port = port
                self.core.count_rewrite()
                return encode_response(message, version, slot.correlation_id)
        return head + payload

    async def _deliver(self) -> None:
        while True:
            slot = await self.outbox.get()
            data = await slot.ready
            self.client_writer.write(data)
            await self.client_writer.drain()


# --------------------------------------------------------------------------- the proxy core


class _ProxyCore:
    """The proxy inside one event loop; FaultProxy and serve_forever wrap it."""

    def __init__(
        self,
        upstream_bootstrap: str,
        faults: Sequence[FaultSpec],
        listen_host: str,
        listen_port: int,
        advertised_host: str | None,
        max_frame_bytes: int,
        connect_timeout_s: float,
    ) -> None:
        parts = [p for p in upstream_bootstrap.split(",") if p.strip()]
        if not parts:
            raise UsageError("no upstream broker given: expected HOST:PORT[,HOST:PORT...]")
        self.upstreams = [parse_host_port(p, what="upstream address") for p in parts]
        for host, port in self.upstreams:
            if port == 0:
                raise UsageError(f"bad upstream address {host}:0: a broker has a real port")
        if not 0 <= listen_port <= 65535:
            raise UsageError(f"bad listen port {listen_port}: expected 0..65535")
        self.faults = tuple(faults)
        self.listen_host = listen_host
        self.listen_port = listen_port
        self._next_port = listen_port + 1 if listen_port else 0
        if advertised_host:
            self.advertised_host = advertised_host
        else:
            self.advertised_host = "127.0.0.1" if listen_host in _WILDCARD_HOSTS else listen_host
        self.max_frame_bytes = max_frame_bytes
        self.connect_timeout_s = connect_timeout_s
        self.counters = _Counters(self.faults)
        self.produce_counter = 0
        self._listeners: dict[Address, asyncio.Future[Address]] = {}
        self._routes: dict[Address, Address] = {}
        self._bootstrap: list[Address] = []
        self._servers: list[asyncio.Server] = []
        self._connections: dict[asyncio.Task[Any], _Connection] = {}
        self._stopping = False

    # ---- lifecycle

    async def start(self) -> None:
        await self._probe_upstream()
        for index, upstream in enumerate(self.upstreams):
            port = self.listen_port if index == 0 else 0
            self._bootstrap.append(await self.listener_for(upstream, port=port))

    async def _probe_upstream(self) -> None:
        errors: list[str] = []
        for upstream in self.upstreams:
            try:
                _, writer = await asyncio.wait_for(
                    asyncio.open_connection(*upstream), self.connect_timeout_s
                )
            except (OSError, TimeoutError) as exc:
                errors.append(f"{_fmt(upstream)}: {exc or type(exc).__name__}")
                continue
            writer.close()
            return
        raise BrokerError(
            f"no upstream broker answers ({'; '.join(errors)})",
            hint="start one with: ridectl broker up",
        )

    async def stop(self) -> None:
        self._stopping = True
        for server in self._servers:
            server.close()
        tasks = list(self._connections)
        for connection in self._connections.values():
            connection.shutdown()
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), STOP_TIMEOUT_S)

    # ---- listeners

    async def listener_for(self, upstream: Address, *, port: int = 0) -> Address:
        """The proxy address that stands for ``upstream``, opening a listener the first time."""
        pending = self._listeners.get(upstream)
        if pending is None:
            pending = asyncio.get_running_loop().create_future()
            self._listeners[upstream] = pending
            try:
                pending.set_result(await self._open_listener(upstream, port))
            except BaseException as exc:
                del self._listeners[upstream]
                pending.set_exception(exc)
                pending.exception()  # retrieved here; the caller sees the raise below
                raise
        return await asyncio.shield(pending)

    async def _open_listener(self, upstream: Address, port: int) -> Address:
        if self._stopping:
            raise ProtocolError("the proxy is stopping")

        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._serve_client(reader, writer, upstream)

        server: asyncio.Server | None = None
        if port == 0 and self._next_port:
            # With a fixed listen port, further brokers get the next free ports after it, so
            # the addresses are predictable (firewalls, port forwarding).
            for candidate in range(self._next_port, min(self._next_port + 100, 65536)):
                try:
                    server = await asyncio.start_server(on_client, self.listen_host, candidate)
                except OSError:
                    continue
                self._next_port = candidate + 1
                break
        if server is None:
            try:
                server = await asyncio.start_server(on_client, self.listen_host, port)
            except OSError as exc:
                where = _fmt((self.listen_host, port))
                raise UsageError(f"cannot listen on {where}: {exc.strerror or exc}") from exc
        self._servers.append(server)
        bound_port = int(server.sockets[0].getsockname()[1])
        address = (self.advertised_host, bound_port)
        with self.counters.lock:
            self._routes[(self.listen_host, bound_port)] = upstream
        log.debug("listening on %s for broker %s", _fmt(address), _fmt(upstream))
        return address

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Address
    ) -> None:
        task = asyncio.current_task()
        if task is None or self._stopping:
            writer.transport.abort()
            return
        connection = _Connection(self, reader, writer, upstream)
        self._connections[task] = connection
        with self.counters.lock:
            self.counters.connections_total += 1
            self.counters.connections_open += 1
        try:
            await connection.run()
        except Exception as exc:  # a bug must not take the listener down
            log.debug("connection to %s failed: %r", _fmt(upstream), exc)
        finally:
            self._connections.pop(task, None)
            with self.counters.lock:
                self.counters.connections_open -= 1

    # ---- faults and counters

    def produce_fault(self, produce: ProduceInfo) -> FaultSpec | None:
        """Number the next produce request and return the fault that acts on it, if any."""
        self.produce_counter += 1
        number = self.produce_counter
        chosen = next((f for f in self.faults if f.selects(number)), None)
        if (
            chosen is not None
            and not produce.expects_response
            and chosen.kind in (FaultKind.LOST_ACK, FaultKind.DELAY)
        ):
            chosen = None
        with self.counters.lock:
            self.counters.produce_requests += 1
            if chosen is not None:
                self.counters.injected[str(chosen.kind)] += 1
                if len(self.counters.hits) < MAX_HITS_KEPT:
                    self.counters.hits.append(number)
                    self.counters.hits_by_fault[str(chosen)].append(number)
        return chosen

    def count_request(self, api_key: int) -> None:
        with self.counters.lock:
            self.counters.requests[api_name(api_key)] += 1

    def count_failed(self) -> None:
        with self.counters.lock:
            self.counters.connections_failed += 1

    def note_in_flight(self, count: int) -> None:
        if count > self.counters.max_in_flight:
            with self.counters.lock:
                self.counters.max_in_flight = max(self.counters.max_in_flight, count)

    def count_rewrite(self) -> None:
        with self.counters.lock:
            self.counters.rewritten += 1

    def stats(self) -> ProxyStats:
        c = self.counters
        with c.lock:
            routes = {_fmt(here): _fmt(there) for here, there in self._routes.items()}
            return ProxyStats(
                listen=tuple(_fmt(a) for a in self._routes),
                routes=routes,
                bootstrap=",".join(_fmt(a) for a in self._bootstrap),
                faults=tuple(str(f) for f in self.faults),
                connections_total=c.connections_total,
                connections_open=c.connections_open,
                connections_failed=c.connections_failed,
                requests_by_api=dict(c.requests),
                produce_requests=c.produce_requests,
                faults_injected=dict(c.injected),
                hit_requests=tuple(c.hits),
                hits_by_fault={k: tuple(v) for k, v in c.hits_by_fault.items()},
                rewritten_responses=c.rewritten,
                max_in_flight=c.max_in_flight,
            )


# --------------------------------------------------------------------------- public entries


class _ThreadRunner:
    """The core in a daemon thread with its own event loop, inside this process."""

    def __init__(self, core: _ProxyCore) -> None:
        self._core = core
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

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


class _ProcessRunner:
    """The core in a child Python process (``python -m ridectl.faults._child``), driven over
    its stdin/stdout with one JSON object a line: the parent writes ``stats`` or ``stop``,
    the child answers ``{"stats": ...}``; its first line is ``{"ready": ...}`` or
    ``{"error": ...}``. The child stops when its stdin closes, so it never outlives us."""

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = config
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._last: ProxyStats | None = None

    def start(self) -> None:
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_root, env.get("PYTHONPATH", "")) if p
        )
        self._config["log_level"] = logging.getLogger("ridectl.faults").getEffectiveLevel()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "ridectl.faults._child", json.dumps(self._config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        try:
            first = self._receive(START_TIMEOUT_S)
        except BaseException:
            self._kill()
            raise
        if "error" in first:
            self._kill()
            raise _error_from(first["error"])
        self._last = ProxyStats.from_dict(first["ready"])

    def _receive(self, timeout_s: float) -> dict[str, Any]:
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
        except (OSError, ValueError, BrokerError) as exc:
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


def _error_from(data: dict[str, Any]) -> Exception:
    """Rebuild, in the parent, an error the child process reported at start-up."""
    kinds: dict[str, type[RidectlError]] = {"UsageError": UsageError, "BrokerError": BrokerError}
    kind = kinds.get(str(data.get("type")))
    message = str(data.get("message"))
    if kind is None:
        return RuntimeError(f"the fault proxy process failed: {message}")
    return kind(message, hint=data.get("hint"))


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
        isolation: Literal["process", "thread"] = "process",
    ) -> None:
        # Building the core checks every argument, whichever runner ends up using it.
        core = _ProxyCore(
            upstream_bootstrap,
            faults,
            listen_host,
            listen_port,
            advertised_host,
            max_frame_bytes,
            connect_timeout_s,
        )
        self._faults = core.faults
        self._runner: _ThreadRunner | _ProcessRunner
        if isolation == "thread":
            self._runner = _ThreadRunner(core)
        elif isolation == "process":
            self._runner = _ProcessRunner(
                {
                    "upstream": upstream_bootstrap,
                    "faults": [str(f) for f in core.faults],
                    "listen_host": listen_host,
                    "listen_port": listen_port,
                    "advertised_host": advertised_host,
                    "max_frame_bytes": max_frame_bytes,
                    "connect_timeout_s": connect_timeout_s,
                }
            )
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
    core = _ProxyCore(
        upstream_bootstrap,
        faults,
        listen_host,
        listen_port,
        advertised_host,
        MAX_FRAME_BYTES,
        CONNECT_TIMEOUT_S,
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
