"""Helpers shared by the tests of the client drivers (Java, librdkafka) on the real broker."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from ridectl.clients.admin import ensure_topic
from ridectl.clients.base import ConsumedRecord, ConsumerClient, Delivery
from ridectl.clients.settings import ClientSettings


class Recorder:
    """A delivery callback that keeps every outcome it is given (from any thread)."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()

    def __call__(self, d: Delivery) -> None:
        with self._lock:
            self.deliveries.append(d)


class BatchRecorder(Recorder):
    """A Recorder that also takes acknowledgements as columns (an AckBatchSink): it counts the
    batches and keeps, per record, the latency the client measured (when it gave one) and
    when its batch arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.batches = 0
        self.latencies: dict[int, int] = {}
        self.arrived: dict[int, float] = {}
        self._batch_lock = threading.Lock()

    def acked(self, index: int, partition: int, offset: int) -> None:
        self(Delivery(index, partition, offset))

    def acked_many(
        self,
        indexes: Sequence[int],
        partitions: Sequence[int],
        offsets: Sequence[int],
        latencies_ns: Sequence[int] | None = None,
    ) -> None:
        now = time.perf_counter()
        with self._batch_lock:
            self.batches += 1
            if latencies_ns is not None:
                self.latencies.update(zip(indexes, latencies_ns, strict=True))
            self.arrived.update(dict.fromkeys(indexes, now))
        for index, partition, offset in zip(indexes, partitions, offsets, strict=True):
            self(Delivery(index, partition, offset))


def make_topic(bootstrap: str, name: str, partitions: int, **configs: str) -> str:
    """Creates ``name`` with ``partitions`` partitions (and topic ``configs``); returns it."""
    ensure_topic(ClientSettings(bootstrap=bootstrap), name, partitions, 1, configs or None)
    return name


def poll_until(consumer: ConsumerClient, count: int, rounds: int = 60) -> list[ConsumedRecord]:
    """Polls (one second each, ``rounds`` at most) until ``count`` records have been read."""
    read: list[ConsumedRecord] = []
    for _ in range(rounds):
        read += consumer.poll(1.0)
        if len(read) >= count:
            break
    return read


def assert_mixed_records_read_back(read: Sequence[ConsumedRecord]) -> None:
    """Checks the 90 records ``v0``..``v89`` (odd ones without a key, record i on partition
    i % 3) as read back."""
    by_value = {r.value: r for r in read}
    assert by_value[b"v1"].key is None and by_value[b"v2"].key == b"k2"
    assert all(by_value[b"v%d" % i].partition == i % 3 for i in range(90))
