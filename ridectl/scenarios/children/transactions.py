"""A transactional producer (kafka-python): each ride's five events in one transaction, and a
seeded share of the rides aborted.

An aborted ride's events are still written to the log (flushed before the abort, so they really
are on the broker); the broker then writes an abort marker after them. Consumers with
``isolation.level=read_committed`` skip them; ``read_uncommitted`` ones (kafka-python's and the
Java client's default) hand them to the application like any other record.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from kafka import KafkaProducer
from kafka.producer.future import RecordMetadata

from ridectl.clients.admin import TopicInfo, client_kwargs, ensure_topic, kafka_errors
from ridectl.clients.settings import ClientSettings
from ridectl.errors import UsageError, require_positive
from ridectl.judge.history import Ack
from ridectl.judge.lifecycle import LIFECYCLE_LENGTH, EventEncoder

#: How long one transaction's sends, commit or abort may take before the run gives up.
STEP_TIMEOUT_S = 30.0
#: The wait before asking again to add a partition to the next transaction while the broker
#: still writes the previous one's markers (CONCURRENT_TRANSACTIONS). The Java client waits
#: 20 ms there; kafka-python 3.0.12 means to as well, but its sender sleeps the producer's
#: ``retry.backoff.ms`` (100 ms) instead, which made every transaction cost about 80 ms.
CONCURRENT_TXN_BACKOFF_MS = 20


@dataclass(frozen=True)
class TransactionalOptions:
    topic: str
    rides: int
    settings: ClientSettings
    run_id: str
    partitions: int = 4
    #: share of rides whose transaction is aborted, drawn with ``seed``
    abort_share: float = 0.25
    seed: int = 7
    #: None: one derived from the run id (concurrent runs never fence each other)
    transactional_id: str | None = None
    #: transactional producers writing side by side, each its share of the rides (ride i
    #: goes to producer i mod N), each with a transactional id of its own
    producers: int = 1


@dataclass
class TransactionalRun:
    run_id: str
    rides: int
    topic: TopicInfo
    #: rides whose transaction was aborted (their events are in the log, marked aborted)
    aborted: frozenset[str] = frozenset()
    #: every event the broker acknowledged, committed or aborted alike
    acks: list[Ack] = field(default_factory=list)
    elapsed_s: float = 0.0

    def aborted_acks(self) -> list[Ack]:
        return [a for a in self.acks if a.ride_id in self.aborted]

    def committed_acks(self) -> list[Ack]:
        return [a for a in self.acks if a.ride_id not in self.aborted]

    def ends_with_markers(self) -> dict[int, int]:
        """Each partition's end offset once the last transaction's marker is written: one
        past the marker that follows the last acknowledged record."""
        last: dict[int, int] = {}
        for a in self.acks:
            last[a.partition] = max(last.get(a.partition, -1), a.offset)
        return {p: o + 2 for p, o in last.items()}


def _aborted_rides(ride_ids: list[str], share: float, seed: int) -> frozenset[str]:
    rng = random.Random(seed)
    return frozenset(r for r in ride_ids if rng.random() < share)


def produce_in_transactions(opts: TransactionalOptions) -> TransactionalRun:
    """Write every ride in a transaction of its own (ride after ride, keyed by ride id);
    abort the seeded share, commit the rest."""
    require_positive("rides", opts.rides)
    require_positive("producers", opts.producers)
    if not 0.0 <= opts.abort_share <= 1.0:
        raise UsageError(f"the abort share must be between 0 and 1, not {opts.abort_share}")
    topic = ensure_topic(opts.settings, opts.topic, opts.partitions)
    width = max(5, len(str(opts.rides - 1)))
    ride_ids = [f"ride-{i:0{width}d}" for i in range(opts.rides)]
    result = TransactionalRun(
        opts.run_id, opts.rides, topic, _aborted_rides(ride_ids, opts.abort_share, opts.seed)
    )
    tid = opts.transactional_id or f"ridectl-{opts.run_id}"
    n = min(opts.producers, opts.rides)
    shares = [(tid if i == 0 else f"{tid}-{i}", ride_ids[i::n]) for i in range(n)]
    t0 = time.monotonic()
    with (
        kafka_errors(opts.settings, "producing in transactions"),
        ThreadPoolExecutor(n, thread_name_prefix="txn-producer") as pool,
    ):
        done = list(pool.map(lambda share: _one_producer(opts, result, *share), shares))
    by_ride: dict[str, list[Ack]] = {}
    for acks in done:
        for a in acks:
            by_ride.setdefault(a.ride_id, []).append(a)
    result.acks = [a for ride_id in ride_ids for a in by_ride.get(ride_id, [])]
    result.elapsed_s = time.monotonic() - t0
    return result


def _one_producer(
    opts: TransactionalOptions, result: TransactionalRun, tid: str, ride_ids: list[str]
) -> list[Ack]:
    """One transactional producer writing its rides, a transaction each."""
    kwargs = client_kwargs(opts.settings, "producer")
    kwargs.update(transactional_id=tid, enable_idempotence=True, acks="all")
    kwargs.setdefault("retry_backoff_ms", CONCURRENT_TXN_BACKOFF_MS)  # unless -X sets it
    encode = EventEncoder(opts.run_id, "transactional").encode
    acks: list[Ack] = []
    producer = KafkaProducer(**kwargs)
    try:
        producer.init_transactions()
        for ride_id in ride_ids:
            acks.extend(_one_ride(producer, opts.topic, ride_id, encode, result))
    finally:
        producer.close(timeout=STEP_TIMEOUT_S)
    return acks


def _one_ride(
    producer: KafkaProducer,
    topic: str,
    ride_id: str,
    encode: Callable[[str, int, float], bytes],
    result: TransactionalRun,
) -> list[Ack]:
    producer.begin_transaction()
    futures = [
        producer.send(topic, key=ride_id.encode(), value=encode(ride_id, seq, 0.0))
        for seq in range(1, LIFECYCLE_LENGTH + 1)
    ]
    # Flush first, so that even an aborted ride's events sit in the log before the marker.
    producer.flush(timeout=STEP_TIMEOUT_S)
    acks: list[Ack] = []
    for seq, future in enumerate(futures, start=1):
        meta: RecordMetadata = future.get(timeout=STEP_TIMEOUT_S)
        acks.append(Ack(ride_id, seq, meta.partition, meta.offset))
    if ride_id in result.aborted:
        producer.abort_transaction()
    else:
        producer.commit_transaction()
    return acks
