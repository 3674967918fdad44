"""The send loop's two shapes, kept apart from the run's set-up in :mod:`ridectl.run.produce`.

A run is sent record by record (``send``) when it is paced, encoded at send time, or split
between two producers. A run built ahead and sent as fast as the client takes it, by one
producer that can take blocks (:class:`~ridectl.clients.base.BlockProducer`), is handed over
in blocks of consecutive records instead: one call (and, for the Java client, one frame) per
block. Both stop at the same checkpoints (progress, growing the topic) and when a record
expired because the broker stopped answering.

A producer that can hold records (:class:`~ridectl.clients.base.StagingProducer`, the Java
client) is handed the start of such a run before the clock starts (``stage``), up to
:data:`STAGE_BUDGET_BYTES`; on the clock it is told to send them (``send_staged``), then the
rest follows in blocks as above. Not for a run through the fault proxy (it is not timed, and
its faults are set to the requests of a streamed run) nor one that grows its topic (that
checkpoint must fall between two sends)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ridectl.clients.base import BlockProducer, StagingProducer
from ridectl.errors import RidectlError
from ridectl.judge.lifecycle import LIFECYCLE_LENGTH

if TYPE_CHECKING:
    from ridectl.run.options import ProduceOptions
    from ridectl.run.outcomes import Outcomes
    from ridectl.run.records import Records

#: Sends between two progress reports.
PROGRESS_EVERY = 500

#: Records per block handed to a BlockProducer. Every record of a block is noted as sent when
#: the block is handed over; a block is packed in well under a millisecond.
BLOCK = 256


#: The heap a held record costs the JVM beyond its key and value bytes: two byte[] headers
#: and their padding (2 x 16 + up to 2 x 7), a ProducerRecord (40), its RecordHeaders (24)
#: and their empty ArrayList (24), and its slot in the list of held records (4): 138, rounded
#: up. It makes the budget hold for small records too.
STAGED_RECORD_COST = 160

#: How often a run waiting for its held records to be sent reports progress.
STAGED_WAIT_S = 0.25

#: How long a client told to stop sending its held records may take (its send() may wait for
#: buffer room up to max.block.ms, 60 s by default).
STAGED_STOP_S = 90.0


class Checkpoints:
    """The send counts at which the loop stops to do something besides sending: report
    progress (every PROGRESS_EVERY sends, when asked), grow the topic (once). One comparison
    per record (or per block) tells the loop whether it is at one."""

    def __init__(self, opts: ProduceOptions) -> None:
        total = opts.rides * LIFECYCLE_LENGTH
        self.every = PROGRESS_EVERY if opts.progress is not None else None
        self.grow_at = round(total * opts.grow_at) if opts.grow_to is not None else -1

    def next(self, start: int) -> int:
        """The first checkpoint at ``start`` sends or later (-1: none left)."""
        candidates = [self.grow_at] if self.grow_at >= start else []
        if self.every is not None:
            candidates.append(max(self.every, -(-start // self.every) * self.every))
        return min(candidates, default=-1)


class SendLoop:
    """Hands a run's records to its producer; ``sent`` is how many went to the client's send so
    far (read by the caller when the loop ends early: an interrupt, a dead client). Records
    the client holds count only once it has sent them (``send_staged``)."""

    def __init__(
        self,
        opts: ProduceOptions,
        outcomes: Outcomes,
        records: Records,
        at_checkpoint: Callable[[int], None],
    ) -> None:
        self.opts = opts
        self.outcomes = outcomes
        self.records = records
        self.at_checkpoint = at_checkpoint
        self.checkpoints = Checkpoints(opts)
        self.sent = 0
        #: bytes of the values encoded at send time (a paced run's)
        self.encoded_bytes = 0
        #: records the producer holds before the clock (``stage``)
        self.held = 0

    def blocks_possible(self, producer: object, single: bool) -> bool:
        """Whether the run can go in blocks: built ahead, not paced, one producer able to."""
        return (
            single
            and self.records.values is not None
            and self.opts.pace_events_per_s is None
            and isinstance(producer, BlockProducer)
        )

    def staging_possible(self, producer: object, single: bool) -> StagingProducer | None:
        """The producer, when the run can be held by it before the clock (see module doc)."""
        if (
            self.blocks_possible(producer, single)
            and isinstance(producer, StagingProducer)
            and not self.opts.faults
            and self.checkpoints.grow_at < 0
        ):
            return producer
        return None

    def stage(self, producer: StagingProducer, budget: int) -> None:
        """Before the clock: hand the producer the run's first records to hold, as many as
        ``budget`` (see :data:`STAGE_BUDGET_BYTES`) allows; ``held`` says how many."""
        keys, values = self.records.keys, self.records.values
        assert values is not None
        end = held_within(keys, values, budget)
        for first in range(0, end, BLOCK):
            last = min(end, first + BLOCK)
            producer.stage_block(first, keys[first:last], values[first:last])
        self.held = producer.held() if end else 0
        if self.held != end:
            raise RidectlError(f"the producer holds {self.held} records, not the {end} handed over")

    def send_staged(self, producer: StagingProducer) -> None:
        """On the clock: have the producer send the records it holds, then wait until it
        has. ``sent`` counts them only then (before, progress shows the records with an
        outcome, which were sent for certain). A broker that stopped answering stops them."""
        outcomes = self.outcomes
        # The records' send times as this process knows them, for a client that does not
        # time its records itself (the Java client does, in its JVM).
        outcomes.sent_at.extend(itertools.repeat(outcomes.clock(), self.held))
        producer.start_staged()
        stopped_at: float | None = None
        wait = STAGED_WAIT_S if self.checkpoints.every is not None else 1.0
        while (sent := producer.staged_sent(wait)) is None:
            if outcomes.stop and stopped_at is None:
                producer.stop_staged()
                stopped_at = time.monotonic()
            elif stopped_at is not None and time.monotonic() - stopped_at > STAGED_STOP_S:
                # A send() that waits for buffer room ends within max.block.ms; one that
                # does not end is a client that no longer answers.
                raise RidectlError(
                    f"the client did not stop sending its held records {STAGED_STOP_S:g}s "
                    "after it was told to"
                )
            if self.checkpoints.every is not None:
                self.at_checkpoint(self.sent)  # reported as the records with an outcome
        self.sent = sent

    def send_blocks(self, producer: BlockProducer, start: int = 0) -> None:
        """Records ``start`` to the end in blocks (those before went held: ``send_staged``)."""
        outcomes, keys, values = self.outcomes, self.records.keys, self.records.values
        assert values is not None
        total = len(outcomes.sent)
        clock, note_times = outcomes.clock, outcomes.sent_at.extend
        send_block = producer.send_block
        check_at = self.checkpoints.next(start)
        index = start
        while index < total:
            if index == check_at:
                self.at_checkpoint(index)
                check_at = self.checkpoints.next(index + 1)
            if outcomes.stop:
                break
            end = min(total, index + BLOCK)
            if index < check_at < end:
                end = check_at
            note_times(itertools.repeat(clock(), end - index))
            send_block(index, keys[index:end], values[index:end])
            index = self.sent = end

    def send_each(self, send: Callable[[int, bytes | None, bytes, int | None], None]) -> None:
        outcomes, records = self.outcomes, self.records
        schedule, keys, values, sends = outcomes.sent, records.keys, records.values, records.sends
        clock = outcomes.clock
        note_time = outcomes.sent_at.append
        check_at = self.checkpoints.next(0)
        pace = None if self.opts.pace_events_per_s is None else 1.0 / self.opts.pace_events_per_s
        paced_from = clock()
        size = 0
        for index in range(len(schedule)):
            self.sent = index
            if index == check_at:
                self.at_checkpoint(index)
                check_at = self.checkpoints.next(index + 1)
            if outcomes.stop:
                break
            if values is None:
                if pace is not None:
                    paced_from = _wait_turn(outcomes, paced_from, index, pace)
                ride, seq = schedule[index]
                value = records.templates[seq] % (records.ride_bytes[ride], time.time() * 1e3)
                self.encoded_bytes = size = size + len(value)
            else:
                value = values[index]
            note_time(clock())
            (send if sends is None else sends[index])(index, keys[index], value, None)
        else:
            self.sent = len(schedule)


def held_within(keys: Sequence[bytes | None], values: Sequence[bytes], budget: int) -> int:
    """How many of the first records fit in ``budget``: each costs its key and value bytes
    and :data:`STAGED_RECORD_COST`."""
    if budget <= 0:
        return 0
    costs = itertools.accumulate(
        len(v) + (0 if k is None else len(k)) + STAGED_RECORD_COST
        for k, v in zip(keys, values, strict=True)
    )
    return sum(1 for _ in itertools.takewhile(budget.__ge__, costs))


def _wait_turn(outcomes: Outcomes, paced_from: float, sent: int, pace: float) -> float:
    """Sleep until send number ``sent`` is due, one every ``pace`` s; returns the clock's start.
    The clock starts at the first record's outcome: until then the client is still connecting
    (librdkafka also fetches its producer id), and records sent would only age in its queue."""
    if sent == 1:
        outcomes.first_outcome.wait(30.0)
        paced_from = outcomes.clock() - pace
    time.sleep(max(0.0, paced_from + sent * pace - outcomes.clock()))
    return paced_from
