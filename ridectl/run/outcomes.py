"""What became of each record a run sent: the producer's per-record bookkeeping, kept apart
from the send loop in :mod:`ridectl.run.produce`."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from ridectl.clients.base import Delivery
from ridectl.clients.registry import BROKER_GONE_ERRORS
from ridectl.judge.history import Ack
from ridectl.run.options import FailedEvent, ProduceResult


class Outcomes:
    """What became of each record sent: the send loop knows every record (its schedule entry,
    by its index, the send order) before it starts and notes each send time; a delivery, from
    the client's thread, is only appended with its arrival time. The acknowledgements,
    latencies, error counts and failed events are built from those once the run is over
    (``settle``), so the per-record work on the client's thread stays one append.

    An ``Outcomes`` is itself the delivery callback handed to the client (an
    :class:`~ridectl.clients.base.AckSink`: a client may report a record written as three
    numbers through ``acked`` instead of a ``Delivery``, or a batch of them as columns through
    ``acked_many``)."""

    def __init__(self, result: ProduceResult, names: list[str], *, watch_expiry: bool) -> None:
        self.result = result
        self.names = names
        #: (ride index, seq) of each record, by index (the send loop sets the run's schedule)
        self.sent: list[tuple[int, int]] = []
        self.sent_at: list[float] = []
        #: index, partition, offset and clock of each record acknowledged, four numbers each
        #: in one flat list: no object per record stays under the garbage collector's watch
        self.done: list[float] = []
        self._note_done = self.done.extend
        #: acknowledgements that arrived together (``acked_many``): their columns, the
        #: client's own latencies (None: taken from ``sent_at``) and the arrival clock
        self.batches: list[
            tuple[Sequence[int], Sequence[int], Sequence[int], Sequence[int] | None, float]
        ] = []
        self.failed: list[Delivery] = []
        self.clock = time.perf_counter
        # Set when a record expires unacknowledged (the broker stopped answering): sending
        # more would only queue records that expire in turn, so the loop stops and reports.
        self.broker_gone = threading.Event()
        #: the same, as a plain flag the send loop reads per record
        self.stop = False
        self.first_outcome = threading.Event()  # a paced run starts its clock then
        self.awaiting_first = True
        self.watch_expiry = watch_expiry
        self._settled = self._failed_settled = self._batches_settled = 0
        #: acknowledgements received in batches so far (written by the one reader thread)
        self._batched = 0

    def acked(self, index: int, partition: int, offset: int) -> None:
        # One extend of a tuple that is freed at once (deliveries may come from two threads
        # at once; the extend is atomic).
        self._note_done((index, partition, offset, self.clock()))
        if self.awaiting_first:
            self.awaiting_first = False
            self.first_outcome.set()

    def acked_many(
        self,
        indexes: Sequence[int],
        partitions: Sequence[int],
        offsets: Sequence[int],
        latencies_ns: Sequence[int] | None = None,
    ) -> None:
        # Acknowledgements that arrived together share their arrival time; the columns are
        # kept as given (the Java client's are C arrays) and read once the run is settled.
        if not indexes:
            return
        self.batches.append((indexes, partitions, offsets, latencies_ns, self.clock()))
        self._batched += len(indexes)
        if self.awaiting_first:
            self.awaiting_first = False
            self.first_outcome.set()

    def on_delivery(self, d: Delivery) -> None:
        if d.error is None:
            self.acked(d.index, d.partition, d.offset)
            return
        self.failed.append(d)
        if self.watch_expiry and d.error in BROKER_GONE_ERRORS:
            self.stop = True
            self.broker_gone.set()
        if self.awaiting_first:
            self.awaiting_first = False
            self.first_outcome.set()

    __call__ = on_delivery

    def acknowledged(self) -> int:
        """Records acknowledged so far (settled or not)."""
        return len(self.done) // 4 + self._batched

    def with_outcome(self) -> int:
        """Records acknowledged or failed so far: each of them was certainly sent."""
        return self.acknowledged() + len(self.failed)

    def settle(self) -> None:
        """Turn the deliveries noted since the last call into acknowledgements (with their
        latency), counted errors and failed events."""
        result, names, sent, sent_at = self.result, self.names, self.sent, self.sent_at
        acks, latencies = result.acks, result.latencies_ms
        end = len(self.done)
        end -= end % 4
        numbers = iter(self.done[self._settled : end])
        self._settled = end
        for i, partition, offset, at in zip(numbers, numbers, numbers, numbers, strict=True):
            index = int(i)
            ride, seq = sent[index]
            latencies.append((at - sent_at[index]) * 1000.0)
            acks.append(Ack(names[ride], seq, int(partition), int(offset)))
        batches = self.batches[self._batches_settled :]
        self._batches_settled += len(batches)
        for indexes, partitions, offsets, measured, at in batches:
            if measured is None:  # from this process's send time to the batch's arrival
                latencies.extend((at - sent_at[index]) * 1000.0 for index in indexes)
            else:  # the client's own, from its real send (nanoseconds)
                latencies.extend(ns / 1e6 for ns in measured)
            for index, partition, offset in zip(indexes, partitions, offsets, strict=True):
                ride, seq = sent[index]
                acks.append(Ack(names[ride], seq, partition, offset))
        failed = self.failed[self._failed_settled :]
        self._failed_settled += len(failed)
        for d in failed:
            ride, seq = sent[d.index]
            assert d.error is not None
            result.errors[d.error] += 1
            result.failures.append(FailedEvent(names[ride], seq, d.error))

    def gone(self) -> int:
        """Records that failed because the broker stopped answering."""
        return sum(1 for d in self.failed if d.error in BROKER_GONE_ERRORS)
