"""The client seam: what ridectl asks of any Kafka client library.

Producing and consuming go through these two small interfaces, so the experiment above them
never imports a client library. kafka-python, the Java client (a small program driven over
stdin/stdout) and librdkafka (confluent-kafka) each implement them in a module of their own in
this package; what else ridectl knows of each client is its record in
:mod:`ridectl.clients.registry` (where :class:`ClientName` is defined, and kept importable
from here).

A producer is told where each record should go (its key, or an explicit partition) and reports
every outcome through one callback, :class:`Delivery`, in whatever thread the library uses; the
caller identifies records by the ``index`` it gave them (its send order). A consumer reads
records of assigned partitions as plain :class:`ConsumedRecord` batches, or (when it can,
:class:`ColumnarConsumer`) as :class:`RecordColumns`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import msgspec

# defined with the client records; kept importable from the seam
from ridectl.clients.registry import ClientName as ClientName


class Delivery(msgspec.Struct, gc=False):
    """The outcome of one record: where the broker wrote it, or why it never was.

    One is made per record on the client's thread: a msgspec struct builds in C, about three
    times as fast as a (slots) dataclass, and holding only numbers and text it needs no
    garbage collector watch. Nothing changes one after it is made."""

    #: the caller's handle for the record (its position in send order)
    index: int
    #: -1 when the record failed
    partition: int
    #: -1 when the record failed, or when the client reports it delivered without an offset
    #: (librdkafka does so for records its idempotent producer infers were persisted)
    offset: int
    #: None on success; otherwise the client's error name (exception class or librdkafka
    #: error code name), e.g. ``"TimeoutException"``
    error: str | None = None
    #: the client's message for the error, one line
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


#: Called once per record, from the client's own thread.
DeliveryCallback = Callable[[Delivery], None]


@runtime_checkable
class AckSink(Protocol):
    """A delivery callback that also takes an acknowledgement as three numbers (optional).

    A client adapter may check once whether its callback is one (``isinstance``) and then
    report each record written with ``acked`` instead of building a :class:`Delivery`: one
    object and one call less per record on the client's thread. Failures still go through
    the call itself. An adapter that does not look keeps working unchanged."""

    def __call__(self, delivery: Delivery) -> None: ...

    def acked(self, index: int, partition: int, offset: int) -> None:
        """Record ``index`` was written at ``offset`` of ``partition``."""


def ack_receiver(on_delivery: DeliveryCallback) -> Callable[[int, int, int], None]:
    """Where an adapter reports a record written, as ``(index, partition, offset)``: the
    callback's own ``acked`` when it is an :class:`AckSink`, otherwise a :class:`Delivery`
    built for it. Chosen once per producer, so the per-record path holds no check."""
    if isinstance(on_delivery, AckSink):
        return on_delivery.acked

    def deliver(index: int, partition: int, offset: int) -> None:
        on_delivery(Delivery(index, partition, offset))

    return deliver


@runtime_checkable
class AckBatchSink(AckSink, Protocol):
    """An :class:`AckSink` that also takes acknowledgements that arrived together, as
    parallel columns (optional): a client that receives them in batches (the Java client's
    frames) reports a batch in one call, not one call per record."""

    def acked_many(
        self,
        indexes: Sequence[int],
        partitions: Sequence[int],
        offsets: Sequence[int],
        latencies_ns: Sequence[int] | None = None,
    ) -> None:
        """Records ``indexes[i]`` were written at ``offsets[i]`` of ``partitions[i]``.

        ``latencies_ns``, when the client measured them itself: the nanoseconds from the
        record's send to its acknowledgement, as the client saw them (the Java client's JVM
        does, so a record handed over before it was sent is timed from its real send)."""


class AckBatch(Protocol):
    """Where an adapter reports a batch of acknowledgements (:func:`ack_batch_receiver`)."""

    def __call__(
        self,
        indexes: Sequence[int],
        partitions: Sequence[int],
        offsets: Sequence[int],
        latencies_ns: Sequence[int] | None = None,
    ) -> None: ...


def ack_batch_receiver(on_delivery: DeliveryCallback) -> AckBatch:
    """Where an adapter reports a batch of acknowledgements: the callback's ``acked_many``
    when it is an :class:`AckBatchSink`, otherwise each record through
    :func:`ack_receiver` (a :class:`Delivery` has no room for a latency: it is dropped)."""
    if isinstance(on_delivery, AckBatchSink):
        return on_delivery.acked_many
    one = ack_receiver(on_delivery)

    def each(
        indexes: Sequence[int],
        partitions: Sequence[int],
        offsets: Sequence[int],
        latencies_ns: Sequence[int] | None = None,
    ) -> None:
        for index, partition, offset in zip(indexes, partitions, offsets, strict=True):
            one(index, partition, offset)

    return each


@dataclass(slots=True)
class ConsumedRecord:
    """One record read (not frozen, like :class:`Delivery`: one is built per record)."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    #: the record's timestamp in epoch milliseconds as the broker stores it (create or log
    #: append time, per the topic); -1 when the client does not hand it over
    timestamp_ms: int = -1


@dataclass(slots=True)
class RecordColumns:
    """The records of one poll as parallel columns: entry ``i`` of each list is record ``i``,
    in the order the client returned them (log order within each partition). A client that
    can hand its records over this way spares the reader one Python object per record."""

    partitions: list[int]
    offsets: list[int]
    values: list[bytes | None]

    def __len__(self) -> int:
        return len(self.offsets)


class ProducerClient(Protocol):
    """One producer instance of one client library, with its settings already applied."""

    @property
    def client(self) -> ClientName: ...

    def send(self, index: int, key: bytes | None, value: bytes, partition: int | None) -> None:
        """Queue one record asynchronously; its outcome reaches the delivery callback.

        ``partition`` None lets the client's own partitioner place it (by key, or its keyless
        strategy). May block while the client's buffer is full."""

    def flush(self, timeout_s: float) -> bool:
        """Wait until every queued record has an outcome; False if time ran out first."""

    def partitions_for(self, topic: str) -> int:
        """How many partitions the client currently believes the topic has (0: unknown)."""

    def settings_in_force(self) -> Mapping[str, str]:
        """The settings the client actually runs with, in its own names (read back from it)."""

    def close(self, timeout_s: float) -> None:
        """Stop the client; records still queued after ``timeout_s`` are abandoned."""


class ConsumerClient(Protocol):
    """One consumer instance of one client library."""

    @property
    def client(self) -> ClientName: ...

    def assign(self, topic: str, partitions: Sequence[int], from_beginning: bool) -> None:
        """Read these partitions, from the first offset or from the group's committed ones."""

    def end_offsets(self, topic: str, partitions: Sequence[int]) -> dict[int, int]:
        """The offset after the last record of each partition, now."""

    def position(self, topic: str, partition: int) -> int | None:
        """The next offset the consumer will read (None when it cannot tell)."""

    def poll(self, timeout_s: float) -> list[ConsumedRecord]:
        """The next records, in log order within each partition (may be empty)."""

    def commit(self) -> None:
        """Commit the positions read so far (group consumers only)."""

    def settings_in_force(self) -> Mapping[str, str]: ...

    def close(self) -> None: ...


@runtime_checkable
class ColumnarConsumer(Protocol):
    """A consumer that can also return a poll's records as :class:`RecordColumns` (optional;
    readers fall back to :meth:`ConsumerClient.poll` for one that cannot)."""

    def poll_columns(self, timeout_s: float) -> RecordColumns:
        """Like :meth:`ConsumerClient.poll` (keys left out), as columns."""


@runtime_checkable
class TimeSeekingConsumer(Protocol):
    """A consumer that can start from a time and hands each record's timestamp over
    (optional; ``ConsumedRecord.timestamp_ms`` is -1 from one that cannot)."""

    def assign_from_time(
        self, topic: str, partitions: Sequence[int], time_ms: int
    ) -> dict[int, int]:
        """Read these partitions from the first record stamped at ``time_ms`` or later (the
        end of a partition that has none); the offset each partition starts at."""


@runtime_checkable
class BlockProducer(Protocol):
    """A producer that also takes a run of consecutive records in one call (optional): the
    records ``first``, ``first + 1``, ... with these keys and values, each placed by the
    client's partitioner (as ``send`` with no partition). The send loop hands over blocks
    when the run is built ahead and sent as fast as the client takes it; an adapter that
    crosses a process boundary then packs one frame per block instead of one per record."""

    def send_block(self, first: int, keys: Sequence[bytes | None], values: Sequence[bytes]) -> None:
        """Queue the records; their outcomes reach the delivery callback, each by index."""


@runtime_checkable
class StagingProducer(BlockProducer, Protocol):
    """A :class:`BlockProducer` that can also hold records before sending them (optional): a
    run built ahead is handed over before its clock starts, then sent from the client's own
    memory at one command, as a bare loop of the client sends records it already holds. The
    held records are sent in index order, before any record handed over later; a record
    held is not sent (nor counted as sent) until the client sends it."""

    def stage_block(
        self, first: int, keys: Sequence[bytes | None], values: Sequence[bytes]
    ) -> None:
        """Hold records ``first``, ``first + 1``, ... (consecutive with those held before)."""

    def held(self) -> int:
        """How many records are held, once every block staged so far has arrived."""

    def start_staged(self) -> None:
        """Start sending the held records (their outcomes reach the delivery callback)."""

    def staged_sent(self, timeout_s: float) -> int | None:
        """How many held records went to the client's send, once it has sent them all (or
        was stopped); None while it is still sending after ``timeout_s``."""

    def stop_staged(self) -> None:
        """Send no more held records (those not sent yet are dropped); ``staged_sent`` then
        tells how many were. Closing the producer stops them too."""


@runtime_checkable
class ProducerDiagnostics(Protocol):
    """What a producer can tell beyond the seam, when its library lets it (optional)."""

    def retried_batches(self) -> int:
        """Batches (requests) the client retried since it started."""

    def changed_by_client(self) -> list[str]:
        """Settings the client chose differently from what was asked, each with its reason."""


@runtime_checkable
class ClientProcess(Protocol):
    """A client that runs in a process of its own (the Java client's JVM), optional."""

    def process_cpu_s(self) -> float | None:
        """CPU seconds that process has used so far (every thread); None when unknown."""
