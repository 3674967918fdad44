"""What became of each record a run sent: the producer's per-record bookkeeping, kept apart
from the send loop in :mod:`ridectl.produce`."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ridectl.clients.base import BROKER_GONE_ERRORS, Delivery
from ridectl.judge.history import Ack

if TYPE_CHECKING:
    from ridectl.produce import ProduceResult


@dataclass(frozen=True, slots=True)
class FailedEvent:
    """One event whose delivery ended in an error (after the client's own retries)."""

    ride_id: str
    seq: int
    #: the client's error name, as in ``Delivery.error``
    error: str


class Outcomes:
    """What became of each record sent: the send loop notes every record (its schedule entry
    and send time, by its index, the send order) before handing it to the client; a delivery,
    from the client's thread, is only appended with its arrival time. The acknowledgements,
    latencies, error counts and failed events are built from those once the run is over
    (``settle``), so the per-record work on the client's thread stays one append."""

    def __init__(self, result: ProduceResult, names: list[str], *, watch_expiry: bool) -> None:
        self.result = result
        self.names = names
        #: (ride index, seq) of each record sent, by index
        self.sent: list[tuple[int, int]] = []
        self.sent_at: list[float] = []
        #: (index, partition, offset, clock) of each record acknowledged
        self.done: list[tuple[int, int, int, float]] = []
        self.failed: list[Delivery] = []
        self.clock = time.perf_counter
        # Set when a record expires unacknowledged (the broker stopped answering): sending
        # more would only queue records that expire in turn, so the loop stops and reports.
        self.broker_gone = threading.Event()
        self.first_outcome = threading.Event()  # a paced run starts its clock then
        self.awaiting_first = True
        self.watch_expiry = watch_expiry
        self._settled = self._failed_settled = 0

    def on_delivery(self, d: Delivery) -> None:
        # One append per delivery (deliveries may come from two threads at once). A tuple of
        # numbers leaves the garbage collector's watch at its first pass; keeping the Delivery
        # itself would keep one object per record under watch (the collections cost more
        # than the rest of this bookkeeping).
        if d.error is None:
            self.done.append((d.index, d.partition, d.offset, self.clock()))
        else:
            self.failed.append(d)
            if self.watch_expiry and d.error in BROKER_GONE_ERRORS:
                self.broker_gone.set()
        if self.awaiting_first:
            self.awaiting_first = False
            self.first_outcome.set()

    def settle(self) -> None:
        """Turn the deliveries noted since the last call into acknowledgements (with their
        latency), counted errors and failed events."""
        result, names, sent, sent_at = self.result, self.names, self.sent, self.sent_at
        acks, latencies = result.acks, result.latencies_ms
        done = self.done[self._settled :]
        self._settled += len(done)
        for i, partition, offset, at in done:
            ride, seq = sent[i]
            latencies.append((at - sent_at[i]) * 1000.0)
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
