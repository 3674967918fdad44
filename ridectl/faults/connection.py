"""One client connection through the proxy, and its connection to the broker.

Tasks: one reads the client's requests and forwards them (or lets a fault answer them), one
reads the broker's answers (started with the broker connection, on the first request that is
forwarded), one writes answers to the client. Every request that expects an answer takes a
*slot* in ``owed``, in request order; the writer answers the slots one by one, so answers reach
the client in request order even when a fault answers a later request itself (``error``) or
holds an earlier answer back (``delay``). Kafka clients rely on that order: an answer whose
correlation id is not the oldest outstanding one makes them drop the connection.

Ledger: every request read is settled exactly once: answered (by the broker or a fault), owed
no answer (acks=0), or still owed when the connection closes. Untrusted bytes (a frame size out
of bounds, a truncated frame, an undecodable header or Produce body, an API or version the
broker did not list, a frame that trickles in slower than ``frame_timeout_s``) close this one
connection with one log line.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Protocol

from ridectl.faults.config import Address, ProxyConfig
from ridectl.faults.hold import HeldAnswers
from ridectl.faults.kinds import PendingAnswer, ProduceCall, Verdict, behaviour_of
from ridectl.faults.protocol import (
    API_VERSIONS,
    PRODUCE,
    ProduceInfo,
    ProtocolError,
    RequestInfo,
    api_name,
    api_ranges,
    cap_api_versions,
    decode_address_response,
    encode_response,
    has_addresses,
    parse_produce_request,
    parse_produce_response,
    parse_request_header,
    response_correlation_id,
)
from ridectl.faults.requests import RequestFate, RequestLog
from ridectl.faults.spec import FaultSpec
from ridectl.faults.stats import AnswerSource, Counters, Fate, PartitionAnswer, ProduceAnswer

__all__ = ["MAX_OWED", "OFFENCES_LOGGED", "Connection", "ProxyShared"]

log = logging.getLogger(__name__)

#: How many offending connections get a warning line; later ones are only counted.
OFFENCES_LOGGED = 100
#: A client with this many answers owed is not read from until it reads some (bounded memory).
MAX_OWED = 1000


class ProxyShared(Protocol):
    """What every connection of one proxy shares, kept by the proxy
    (:class:`ridectl.faults.core.ProxyCore`): its configuration, counters and request log, the
    Produce request numbering that picks which requests a fault hits, and a listener for each
    broker a metadata answer names."""

    config: ProxyConfig
    counters: Counters
    requests: RequestLog
    #: connections closed for their input so far (their log lines are bounded)
    offences: int
    #: per broker, the API versions its ApiVersions answer listed (empty until seen)
    api_ranges: dict[Address, dict[int, tuple[int, int]]]

    def produce_fault(self, produce: ProduceInfo) -> tuple[int, FaultSpec | None]: ...
    def count_request(self, api_key: int) -> None: ...
    def count_failed(self) -> None: ...
    def note_in_flight(self, count: int) -> None: ...
    def count_rewrite(self) -> None: ...
    async def listener_for(self, upstream: Address, *, port: int = 0) -> Address: ...


@dataclass(eq=False)
class Slot:
    """An answer the client is owed, in request order."""

    info: RequestInfo
    ready: asyncio.Future[bytes]
    fate: Fate = Fate.BROKER_ANSWERED
    call: ProduceCall | None = None
    fault: FaultSpec | None = None
    number: int = 0
    """The proxy-wide Produce request number (0 for other APIs)."""


class ConnectionClosed(Exception):
    """The proxy decided to drop the connection (a ``disconnect`` fault)."""


# How connections normally end: a peer closed, or the proxy dropped it on purpose.
_ORDINARY_ENDS = (asyncio.IncompleteReadError, ConnectionError, ConnectionClosed)


async def read_frame(
    reader: asyncio.StreamReader, limit: int, timeout_s: float | None
) -> tuple[bytes, bytes]:
    """One frame: waits as long as it takes for its first byte, then at most ``timeout_s``
    for the rest. ProtocolError when the size is outside 0..limit."""
    first = await reader.readexactly(1)
    try:
        async with asyncio.timeout(timeout_s):
            head = first + await reader.readexactly(3)
            (size,) = struct.unpack(">i", head)
            if not 0 <= size <= limit:
                raise ProtocolError(f"frame size {size} outside 0..{limit}")
            return head, await reader.readexactly(size)
    except TimeoutError:
        raise ProtocolError(f"frame not complete after {timeout_s} s") from None


class Connection:
    def __init__(
        self,
        core: ProxyShared,
        client_reader: asyncio.StreamReader,
        client_writer: asyncio.StreamWriter,
        upstream: Address,
        number: int,
    ) -> None:
        self.core = core
        self.client_reader = client_reader
        self.client_writer = client_writer
        self.upstream = upstream
        self.number = number
        self.peer = client_writer.get_extra_info("peername")
        #: every slot not yet answered, in request order; ``awaiting``: those at the broker
        self.owed: deque[Slot] = deque()
        self.awaiting: deque[Slot] = deque()
        self.queue: asyncio.Queue[Slot] = asyncio.Queue()
        self.room = asyncio.Event()
        #: error answers waiting for more requests (``hold=N``)
        self.held = HeldAnswers(core.requests)
        self.produce_in_flight = 0
        self.up_reader: asyncio.StreamReader | None = None
        self.up_writer: asyncio.StreamWriter | None = None
        self.abort = False
        self.stopping = False
        self.tasks: list[asyncio.Task[None]] = []
        self.ended = asyncio.Event()
        self.end: asyncio.Task[None] | None = None
        self.received = 0
        self.settled = 0

    def shutdown(self) -> None:
        """Drop this connection now (the proxy is stopping). Only the connection's own tasks
        are cancelled: the task asyncio's server runs ``run()`` in then returns normally,
        which Python 3.11's stream server needs to stay quiet."""
        self.abort = True
        self.stopping = True
        for task in self.tasks:
            task.cancel()
        self.ended.set()

    def _spawn(self, work: Coroutine[object, object, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self.tasks.append(task)

        def done(finished: asyncio.Task[None]) -> None:
            if self.end is None:
                self.end = finished
            self.ended.set()

        task.add_done_callback(done)

    async def run(self) -> None:
        if self.stopping:
            await self._close_all()
            return
        self._spawn(self._requests(), "requests")
        self._spawn(self._deliver(), "deliver")
        try:
            await self.ended.wait()
            end = self.end
            reason = None if end is None or end.cancelled() else end.exception()
            if reason is not None and not isinstance(reason, _ORDINARY_ENDS):
                self._offended(reason)
            elif reason is not None:
                log.debug("client %s: closing (%s: %s)", self.peer, end, reason)
        finally:
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            await self._close_all()

    def _offended(self, reason: BaseException) -> None:
        """Count a connection closed for its input (or a proxy bug); one log line each, up to
        OFFENCES_LOGGED, so a flood of bad clients cannot flood the log."""
        self.core.count_failed()
        self.core.offences += 1
        if self.core.offences <= OFFENCES_LOGGED:
            log.warning("client %s: closing its connection: %s", self.peer, reason)
            if self.core.offences == OFFENCES_LOGGED:
                log.warning("further connections closed for their input are counted, not logged")
        else:
            log.debug("client %s: closing its connection: %s", self.peer, reason)

    def _log(
        self, slot: Slot, fate: RequestFate, offsets: tuple[int, ...] = (), code: int = 0
    ) -> None:
        if slot.call is None:
            return
        fault = None if slot.fault is None else str(slot.fault)
        self.core.requests.settle(
            slot.number, fate, fault=fault, base_offsets=offsets, error_code=code
        )

    async def _close_all(self) -> None:
        self.held.close()
        for slot in self.owed:
            slot.ready.cancel()
            self._log(slot, RequestFate.CLOSED)
        self._settle(Fate.CLOSED, len(self.owed))
        self.owed.clear()
        with self.core.counters.lock:
            if self.received != self.settled:
                self.core.counters.unbalanced_connections += 1
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

    def _settle(self, fate: Fate, count: int = 1) -> None:
        if count:
            self.settled += count
            self.core.counters.settle(fate, count)

    # ---- requests

    async def _upstream(self) -> asyncio.StreamWriter:
        """The broker connection, opened by the first request that is forwarded."""
        if self.up_writer is None:
            try:
                self.up_reader, self.up_writer = await asyncio.wait_for(
                    asyncio.open_connection(*self.upstream), self.core.config.connect_timeout_s
                )
            except (OSError, TimeoutError) as exc:
                raise ProtocolError(f"cannot reach broker {self.upstream}: {exc!r}") from exc
            self._spawn(self._responses(), "responses")
        writer = self.up_writer
        assert writer is not None
        return writer

    def _check_api(self, info: RequestInfo) -> None:
        """Refuse an API or version the broker did not list in its ApiVersions answer."""
        if info.api_key == API_VERSIONS:
            return  # the broker answers any version of it (with its own versions)
        ranges = self.core.api_ranges.get(self.upstream)
        if info.api_key < 0 or info.api_version < 0:
            raise ProtocolError(f"API key {info.api_key} v{info.api_version} is not Kafka")
        if not ranges:
            return
        span = ranges.get(info.api_key)
        if span is None:
            raise ProtocolError(f"API key {info.api_key} is unknown to the broker")
        if not span[0] <= info.api_version <= span[1]:
            name = api_name(info.api_key)
            raise ProtocolError(f"{name} v{info.api_version} outside the broker's {span}")

    async def _requests(self) -> None:
        config = self.core.config
        loop = asyncio.get_running_loop()
        while True:
            while len(self.owed) >= MAX_OWED:
                self.room.clear()
                await self.room.wait()
            head, payload = await read_frame(
                self.client_reader, config.max_frame_bytes, config.frame_timeout_s
            )
            info = parse_request_header(payload)
            self._check_api(info)
            slot = Slot(info, loop.create_future())
            verdict = Verdict.FORWARD
            answer: PendingAnswer | None = None
            if info.api_key == PRODUCE:
                verdict, answer = self._produce(slot, payload)
            else:
                self.core.count_request(info.api_key)
                self.received += 1
            expects = slot.call is None or slot.call.produce.expects_response
            if verdict is Verdict.DROP_CONNECTION:
                self.abort = True
                self._settle(Fate.CLOSED)
                self._log(slot, RequestFate.CLOSED)
                raise ConnectionClosed("disconnect fault")
            if not expects:
                self._settle(Fate.NO_ANSWER)
                self._log(slot, RequestFate.NO_ANSWER)
            else:
                self.owed.append(slot)
                self.queue.put_nowait(slot)
            if verdict is Verdict.KEEP:
                if answer is not None:
                    self._answer_by_fault(slot, answer)
                self.held.after_request()
                continue
            if expects:
                self.awaiting.append(slot)
                if slot.call is not None:
                    self.produce_in_flight += 1
                    self.core.note_in_flight(self.produce_in_flight)
            writer = await self._upstream()
            writer.write(head)
            writer.write(payload)
            await writer.drain()
            self.held.after_request()

    def _produce(self, slot: Slot, payload: bytes) -> tuple[Verdict, PendingAnswer | None]:
        info = slot.info
        produce = parse_produce_request(payload, info.api_version)
        number, fault = self.core.produce_fault(produce)
        self.held.arrived(produce.expects_response)
        slot.call = ProduceCall(produce, info.api_version, info.correlation_id)
        slot.number, slot.fault = number, fault
        labels = tuple(f"{topic}:{index}" for topic, index in produce.partitions())
        self.core.requests.open(number, self.number, labels, produce.batches)
        decision: tuple[Verdict, PendingAnswer | None] = (Verdict.FORWARD, None)
        if fault is not None:
            behaviour = behaviour_of(fault)
            slot.fate = behaviour.fate
            decision = behaviour.on_request(fault, slot.call)
        # Counted once nothing can fail before the request is settled or owed.
        self.core.count_request(info.api_key)
        self.received += 1
        return decision

    def _answer_by_fault(self, slot: Slot, answer: PendingAnswer) -> None:
        assert slot.call is not None
        parts = tuple(
            PartitionAnswer(topic, index, answer.error_code)
            for topic, index in slot.call.produce.partitions()
        )
        self.core.counters.answered(
            ProduceAnswer(slot.number, self.number, AnswerSource.FAULT, parts)
        )
        offsets = tuple(-1 for _ in parts)
        self._log(slot, RequestFate.FAILED_BY_FAULT, offsets, answer.error_code)
        if answer.after_requests:
            # Answered once the client has sent that many more requests (ridectl.faults.hold).
            sequenced = slot.call.produce.sequenced
            self.held.hold(slot.number, slot.ready, answer.data, answer.after_requests, sequenced)
        elif answer.delay_ms:
            asyncio.get_running_loop().call_later(
                answer.delay_ms / 1000, self._fulfil, slot, answer.data
            )
        else:
            self._fulfil(slot, answer.data)

    @staticmethod
    def _fulfil(slot: Slot, data: bytes) -> None:
        # A delayed answer may come due after the connection is gone; its slot is then
        # cancelled already.
        if not slot.ready.done():
            slot.ready.set_result(data)

    # ---- answers

    async def _responses(self) -> None:
        assert self.up_reader is not None
        loop = asyncio.get_running_loop()
        while True:
            head, payload = await read_frame(self.up_reader, self.core.config.max_frame_bytes, None)
            if not self.awaiting:
                raise ProtocolError("the broker answered a request nobody is waiting for")
            slot = self.awaiting.popleft()
            if slot.call is not None:
                self.produce_in_flight -= 1
            correlation_id = response_correlation_id(payload)
            if correlation_id != slot.info.correlation_id:
                raise ProtocolError(
                    f"response {correlation_id} while {slot.info.correlation_id} was due"
                )
            data, delay_ms = await self._transform(slot, head, payload)
            if delay_ms:
                loop.call_later(delay_ms / 1000, self._fulfil, slot, data)
            else:
                self._fulfil(slot, data)

    async def _transform(self, slot: Slot, head: bytes, payload: bytes) -> tuple[bytes, int | None]:
        info = slot.info
        version = info.api_version
        delay_ms: int | None = None
        if slot.call is not None:
            replacement, delay_ms = self._produce_answer(slot, payload)
            if replacement is not None:
                return replacement, delay_ms
        elif info.api_key == API_VERSIONS:
            ranges = api_ranges(payload, version)
            if ranges:
                self.core.api_ranges[self.upstream] = ranges
            return cap_api_versions(payload, version) or head + payload, None
        return await self._rewrite_addresses(info, head, payload), delay_ms

    def _produce_answer(self, slot: Slot, payload: bytes) -> tuple[bytes | None, int | None]:
        """Record the broker's answer per partition; the fault's replacement, if any."""
        assert slot.call is not None
        written = parse_produce_response(payload, slot.info.api_version)
        code, delay_ms = None, None
        if slot.fault is not None:
            code, delay_ms = behaviour_of(slot.fault).on_response(slot.fault, slot.call)
        parts = tuple(
            PartitionAnswer(topic, index, got if code is None else code, got, offset)
            for topic, index, got, offset in written
        )
        source = AnswerSource.BROKER if code is None else AnswerSource.REPLACED
        self.core.counters.answered(ProduceAnswer(slot.number, self.number, source, parts))
        errors = [p.broker_code for p in parts if p.broker_code]
        fate = RequestFate.REFUSED if errors else RequestFate.WRITTEN
        if code is not None and not errors:
            fate = RequestFate.ACK_REPLACED
        offsets = _offsets_in_request_order(slot.call, parts)
        self._log(slot, fate, offsets, code if code is not None else next(iter(errors), 0) or 0)
        return (None if code is None else slot.call.error_answer(code)), delay_ms

    async def _rewrite_addresses(self, info: RequestInfo, head: bytes, payload: bytes) -> bytes:
        version = info.api_version
        if has_addresses(info.api_key, version):
            message, endpoints = decode_address_response(info.api_key, version, payload)
            if endpoints:
                for endpoint in endpoints:
                    host, port = await self.core.listener_for(
                        (str(endpoint.host), int(endpoint.port))
                    )
                    endpoint.host = host
                    endpoint.port = port
                self.core.count_rewrite()
                return encode_response(message, version, info.correlation_id)
        return head + payload

    async def _deliver(self) -> None:
        while True:
            slot = await self.queue.get()
            self.held.writer_waits_on(slot.ready)
            data = await slot.ready
            if slot.call is not None and slot.call.produce.expects_response:
                self.held.answer_written()
            self.client_writer.write(data)
            await self.client_writer.drain()
            done = self.owed.popleft()
            assert done is slot, "answers out of request order"
            self._settle(slot.fate)
            self.room.set()


def _offsets_in_request_order(
    call: ProduceCall, parts: tuple[PartitionAnswer, ...]
) -> tuple[int, ...]:
    """The answer's base offsets in the order the request listed its partitions (the request
    log pairs them with that list; a broker may answer the partitions in another order)."""
    by_label = {f"{p.topic}:{p.partition}": p.base_offset for p in parts}
    labels = [f"{topic}:{index}" for topic, index in call.produce.partitions()]
    if set(labels) != set(by_label):
        return tuple(-1 if p.base_offset is None else p.base_offset for p in parts)
    found = [by_label[name] for name in labels]
    return tuple(-1 if offset is None else offset for offset in found)
