"""The proxy inside one event loop: listeners (one per broker), the connections they accept,
the proxy-wide Produce request numbering that fault selection uses, and the counters.

Every upstream broker gets its own listening port (with a fixed listen port P, the next brokers
get the next free ports after P; with port 0, any free ports). Listeners are opened for the
bootstrap addresses at start and for every broker a response names later, keyed by the
broker's advertised (host, port), so a cluster need not be described up front.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ridectl.errors import BrokerError, UsageError
from ridectl.faults.config import (
    STOP_TIMEOUT_S,
    WILDCARD_HOSTS,
    Address,
    ProxyConfig,
    fmt_address,
    parse_host_port,
)
from ridectl.faults.connection import Connection
from ridectl.faults.kinds import behaviour_of
from ridectl.faults.protocol import ProduceInfo, ProtocolError, api_name
from ridectl.faults.requests import RequestLog
from ridectl.faults.spec import FaultSpec
from ridectl.faults.stats import Counters, ProxyStats

__all__ = ["ProxyCore"]

log = logging.getLogger(__name__)


class ProxyCore:
    """The proxy inside one event loop; FaultProxy and serve_forever wrap it."""

    def __init__(self, config: ProxyConfig) -> None:
        parts = [p for p in config.upstream.split(",") if p.strip()]
        if not parts:
            raise UsageError("no upstream broker given: expected HOST:PORT[,HOST:PORT...]")
        self.upstreams = [parse_host_port(p, what="upstream address") for p in parts]
        for host, port in self.upstreams:
            if port == 0:
                raise UsageError(f"bad upstream address {host}:0: a broker has a real port")
        if not 0 <= config.listen_port <= 65535:
            raise UsageError(f"bad listen port {config.listen_port}: expected 0..65535")
        self.config = config
        self.faults = tuple(config.faults)
        self._next_port = config.listen_port + 1 if config.listen_port else 0
        listen_host = config.listen_host
        self.advertised_host = config.advertised_host or (
            "127.0.0.1" if listen_host in WILDCARD_HOSTS else listen_host
        )
        self.counters = Counters(self.faults)
        self.requests = RequestLog()
        self.produce_counter = 0
        self.connection_counter = 0
        #: connections closed for their input so far (their log lines are bounded)
        self.offences = 0
        #: per broker, the API versions its ApiVersions answer listed (empty until seen)
        self.api_ranges: dict[Address, dict[int, tuple[int, int]]] = {}
        self._listeners: dict[Address, asyncio.Future[Address]] = {}
        self._routes: dict[Address, Address] = {}
        self._bootstrap: list[Address] = []
        self._servers: list[asyncio.Server] = []
        self._connections: dict[asyncio.Task[None], Connection] = {}
        self._stopping = False

    # ---- lifecycle

    async def start(self) -> None:
        await self._probe_upstream()
        for index, upstream in enumerate(self.upstreams):
            port = self.config.listen_port if index == 0 else 0
            self._bootstrap.append(await self.listener_for(upstream, port=port))

    async def _probe_upstream(self) -> None:
        errors: list[str] = []
        for upstream in self.upstreams:
            try:
                _, writer = await asyncio.wait_for(
                    asyncio.open_connection(*upstream), self.config.connect_timeout_s
                )
            except (OSError, TimeoutError) as exc:
                errors.append(f"{fmt_address(upstream)}: {exc or type(exc).__name__}")
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

        host = self.config.listen_host
        server: asyncio.Server | None = None
        if port == 0 and self._next_port:
            # With a fixed listen port, further brokers get the next free ports after it, so
            # the addresses are predictable (firewalls, port forwarding).
            for candidate in range(self._next_port, min(self._next_port + 100, 65536)):
                try:
                    server = await asyncio.start_server(on_client, host, candidate)
                except OSError:
                    continue
                self._next_port = candidate + 1
                break
        if server is None:
            try:
                server = await asyncio.start_server(on_client, host, port)
            except OSError as exc:
                where = fmt_address((host, port))
                raise UsageError(f"cannot listen on {where}: {exc.strerror or exc}") from exc
        self._servers.append(server)
        bound_port = int(server.sockets[0].getsockname()[1])
        address = (self.advertised_host, bound_port)
        with self.counters.lock:
            self._routes[(host, bound_port)] = upstream
        log.debug("listening on %s for broker %s", fmt_address(address), fmt_address(upstream))
        return address

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Address
    ) -> None:
        task = asyncio.current_task()
        if task is None or self._stopping:
            writer.transport.abort()
            return
        self.connection_counter += 1
        connection = Connection(self, reader, writer, upstream, self.connection_counter)
        self._connections[task] = connection
        with self.counters.lock:
            self.counters.connections_total += 1
            self.counters.connections_open += 1
        try:
            await connection.run()
        except Exception as exc:  # a bug must not take the listener down
            log.warning("connection to %s failed: %r", fmt_address(upstream), exc)
            self.count_failed()
        finally:
            self._connections.pop(task, None)
            with self.counters.lock:
                self.counters.connections_open -= 1

    # ---- faults and counters

    def produce_fault(self, produce: ProduceInfo) -> tuple[int, FaultSpec | None]:
        """Number the next produce request; return its number and the fault that acts on it.
        The first spec that selects the number acts; kinds that only act on an answer let
        acks=0 requests pass (not counted as injected)."""
        self.produce_counter += 1
        number = self.produce_counter
        chosen = next((f for f in self.faults if f.selects(number)), None)
        if (
            chosen is not None
            and not produce.expects_response
            and not behaviour_of(chosen).acts_without_answer
        ):
            chosen = None
        with self.counters.lock:
            self.counters.produce_requests += 1
        if chosen is not None:
            self.counters.hit(str(chosen.kind), str(chosen), number)
        return number, chosen

    def count_request(self, api_key: int) -> None:
        with self.counters.lock:
            self.counters.requests[api_name(api_key)] += 1
            self.counters.received += 1

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
        log_records, log_dropped = self.requests.snapshot()
        with c.lock:
            return ProxyStats(
                listen=tuple(fmt_address(a) for a in self._routes),
                routes={fmt_address(a): fmt_address(b) for a, b in self._routes.items()},
                bootstrap=",".join(fmt_address(a) for a in self._bootstrap),
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
                ledger=c.ledger(),
                produce_answers=tuple(c.answers),
                produce_answers_dropped=c.answers_dropped,
                answer_codes=dict(c.answer_codes),
                request_log=log_records,
                request_log_dropped=log_dropped,
            )
