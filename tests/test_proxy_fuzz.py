"""The fault proxy parses untrusted bytes: a seeded fuzzer sends it hostile frames (absurd and
negative sizes, truncated frames, garbage bodies, APIs and versions the broker does not know,
frames that trickle in), each on a connection of its own, while a well-behaved connection stays
open. Every hostile connection must be closed by the proxy, the good one must keep working, a
real client must still produce and read through the same proxy afterwards, and the proxy's
memory must stay bounded."""

from __future__ import annotations

import asyncio
import logging
import random
import struct
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.protocol.metadata import ApiVersionsRequest, MetadataRequest
from proxy_helpers import RawClient

from ridectl.faults import FaultProxy

SEED = 20261127
FRAMES = 10_000
CONCURRENCY = 24
MAX_FRAME = 1 << 20  # 1 MiB: the proxy's limit in this test
FRAME_TIMEOUT_S = 0.5
#: The proxy process's peak resident memory over the whole run. A proxy process (Python and
#: kafka-python's codecs) peaked at about 40 MB here; the frame limit keeps a client from
#: making it buffer whatever size it announces, the frame timeout from holding it forever.
RSS_BOUND_MB = 100


def _header(api_key: int, version: int, correlation_id: int, client: bytes = b"fuzz") -> bytes:
    return struct.pack(">hhih", api_key, version, correlation_id, len(client)) + client


def _frame(body: bytes) -> bytes:
    return struct.pack(">i", len(body)) + body


class _Fuzzer:
    """Hostile frames from a seeded generator: (category, bytes, whether the client then
    closes its side). ``known`` is what the broker's ApiVersions answer lists."""

    def __init__(self, rng: random.Random, known: dict[int, tuple[int, int]]) -> None:
        self.rng = rng
        self.known = known
        self.known_keys = sorted(k for k in known if k != 18)
        self.unknown_keys = [k for k in range(-5, 400) if k not in known]

    def absurd_size(self) -> tuple[bytes, bool]:
        return struct.pack(">i", self.rng.randint(MAX_FRAME + 1, 2**31 - 1)), False

    def negative_size(self) -> tuple[bytes, bool]:
        return struct.pack(">i", self.rng.randint(-(2**31), -1)), False

    def truncated(self) -> tuple[bytes, bool]:
        rng = self.rng
        if rng.random() < 0.3:  # the size itself cut short
            return struct.pack(">i", rng.randint(20, MAX_FRAME))[: rng.randint(1, 3)], True
        return struct.pack(">i", 4000) + rng.randbytes(rng.randint(0, 3999)), True

    def garbage_body(self) -> tuple[bytes, bool]:
        return _frame(self.rng.randbytes(self.rng.randint(0, 300))), False

    def unknown_api_key(self) -> tuple[bytes, bool]:
        rng = self.rng
        return _frame(_header(rng.choice(self.unknown_keys), 0, rng.randint(0, 9999))), False

    def unknown_version(self) -> tuple[bytes, bool]:
        key = self.rng.choice(self.known_keys)
        return _frame(_header(key, self.known[key][1] + self.rng.randint(1, 500), 7)), False

    def garbage_produce(self) -> tuple[bytes, bool]:
        rng = self.rng
        header = _header(0, rng.randint(*self.known[0]), 9)
        return _frame(header + rng.randbytes(rng.randint(0, 200))), False

    def slow_writer(self) -> tuple[bytes, bool]:
        return struct.pack(">i", 1000) + self.rng.randbytes(10), False

    def frames(self, count: int) -> list[tuple[str, bytes, bool]]:
        makers: dict[str, tuple[int, Callable[[], tuple[bytes, bool]]]] = {
            "absurd size": (20, self.absurd_size),
            "negative size": (15, self.negative_size),
            "truncated": (15, self.truncated),
            "garbage body": (15, self.garbage_body),
            "unknown api key": (15, self.unknown_api_key),
            "unknown version": (10, self.unknown_version),
            "garbage produce": (9, self.garbage_produce),
            "slow writer": (1, self.slow_writer),
        }
        names = list(makers)
        weights = [makers[n][0] for n in names]
        chosen = self.rng.choices(names, weights, k=count)
        return [(name, *makers[name][1]()) for name in chosen]


async def _hostile(host: str, port: int, data: bytes, close_after: bool) -> bool:
    """Send ``data`` and wait for the proxy to close the connection; True when it did."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(data)
        await writer.drain()
        if close_after:
            writer.write_eof()  # the client leaves mid-frame
        try:
            async with asyncio.timeout(10):
                while await reader.read(65536):
                    pass
            return True
        except TimeoutError:
            return False
        except ConnectionError:
            return True
    finally:
        writer.transport.abort()


async def _fuzz(address: str, frames: list[tuple[str, bytes, bool]]) -> Counter[str]:
    host, port = address.rsplit(":", 1)
    gate = asyncio.Semaphore(CONCURRENCY)
    survivors: Counter[str] = Counter()
    started = time.monotonic()

    async def one(name: str, data: bytes, stall: bool) -> None:
        async with gate:
            if not await _hostile(host, int(port), data, stall):
                survivors[name] += 1

    await asyncio.gather(*(one(*f) for f in frames))
    print(f"fuzz: {len(frames)} connections in {time.monotonic() - started:.1f} s")
    return survivors


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc")


@pytest.mark.kafka
def test_hostile_frames_close_only_their_connection_and_memory_stays_bounded(
    kafka_bootstrap: str,
) -> None:
    # The child process logs at the parent's level: spare the log 100 warning lines.
    logging.getLogger("ridectl.faults").setLevel(logging.ERROR)
    try:
        proxy = FaultProxy(
            kafka_bootstrap, max_frame_bytes=MAX_FRAME, frame_timeout_s=FRAME_TIMEOUT_S
        ).start()
    finally:
        logging.getLogger("ridectl.faults").setLevel(logging.NOTSET)
    try:
        stats, peak = _fuzz_and_use(proxy, kafka_bootstrap)
    finally:
        proxy.close()
    assert not stats, f"connections the proxy left open: {dict(stats)}"
    final = proxy.stats()
    assert final.connections_total >= FRAMES + 1
    # Most are refused by the proxy itself; a client that leaves mid-frame is an ordinary
    # end, and garbage for a known API may reach the broker, which closes on its own.
    assert final.connections_failed >= FRAMES * 0.7
    assert final.ledger.outstanding == 0 and final.ledger.unbalanced_connections == 0
    print(
        f"fuzz: {FRAMES} hostile frames, {final.connections_failed} connections refused, "
        f"proxy peak RSS {peak:.0f} MB (bound {RSS_BOUND_MB} MB)"
    )
    assert peak < RSS_BOUND_MB, f"proxy peaked at {peak:.0f} MB"


def _fuzz_and_use(proxy: FaultProxy, bootstrap: str) -> tuple[Counter[str], float]:
    """Fuzz with a good connection open; then a real client through the same proxy. The
    hostile connections the proxy left open, and its peak RSS in MB."""
    good = RawClient(proxy.bootstrap)
    try:
        answer = good.call(
            ApiVersionsRequest(version=3, client_software_name="t", client_software_version="1")
        )
        known = {int(a.api_key): (int(a.min_version), int(a.max_version)) for a in answer.api_keys}
        frames = _Fuzzer(random.Random(SEED), known).frames(FRAMES)
        survivors = asyncio.run(_fuzz(proxy.bootstrap, frames))
        # The well-behaved connection was open all along and still works.
        assert len(good.call(MetadataRequest(version=9, topics=[])).brokers) >= 1
    finally:
        good.close()
    _produce_and_read_back(proxy.bootstrap, bootstrap)
    return survivors, _peak_rss_mb(proxy.pid)


def _produce_and_read_back(through: str, bootstrap: str) -> None:
    topic = f"fuzz-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=through, acks="all")
    try:
        for i in range(100):
            producer.send(topic, value=str(i).encode())
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=5)
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=through,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
    )
    try:
        values = [int(r.value) for r in consumer]
    finally:
        consumer.close()
    assert values == list(range(100))


def test_each_offending_connection_gets_one_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from proxy_helpers import FakeCluster

    cluster = FakeCluster()
    try:
        with (
            caplog.at_level(logging.WARNING, logger="ridectl.faults"),
            FaultProxy(cluster.bootstrap, isolation="thread", max_frame_bytes=4096) as proxy,
        ):
            bad = [struct.pack(">i", 5000), struct.pack(">i", -7), _frame(b"\x00" * 3)]
            for data in bad:
                client = RawClient(proxy.bootstrap)
                client.sock.sendall(data)
                assert client.is_closed()
                client.close()
    finally:
        cluster.close()
    lines = [r for r in caplog.records if r.name.startswith("ridectl.faults")]
    assert len(lines) == len(bad), [r.getMessage() for r in lines]
    assert all("closing its connection" in r.getMessage() for r in lines)
