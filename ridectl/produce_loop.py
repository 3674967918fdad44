"""The send loop's two shapes, kept apart from the run's set-up in :mod:`ridectl.produce`.

A run is sent record by record (``send``) when it is paced, encoded at send time, or split
between two producers. A run built ahead and sent as fast as the client takes it, by one
producer that can take blocks (:class:`~ridectl.clients.base.BlockProducer`), is handed over
in blocks of consecutive records instead: one call (and, for the Java client, one frame) per
block. Both stop at the same checkpoints (progress, growing the topic) and when a record
expired because the broker stopped answering."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ridectl.clients.base import BlockProducer
from ridectl.judge.lifecycle import LIFECYCLE_LENGTH

if TYPE_CHECKING:
    from ridectl.produce import ProduceOptions
    from ridectl.produce_outcomes import Outcomes
    from ridectl.produce_records import Records

#: Sends between two progress reports.
PROGRESS_EVERY = 500

#: Records per block handed to a BlockProducer. Every record of a block is noted as sent when
#: the block is handed over; a block is packed in well under a millisecond.
BLOCK = 256


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
    """Hands a run's records to its producer; ``sent`` is how many were handed over so far
    (read by the caller when the loop ends early: an interrupt, a dead client)."""

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

    def blocks_possible(self, producer: object, single: bool) -> bool:
        """Whether the run can go in blocks: built ahead, not paced, one producer able to."""
        return (
            single
            and self.records.values is not None
            and self.opts.pace_events_per_s is None
            and isinstance(producer, BlockProducer)
        )

    def send_blocks(self, producer: BlockProducer) -> None:
        outcomes, keys, values = self.outcomes, self.records.keys, self.records.values
        assert values is not None
        total = len(outcomes.sent)
        clock, note_times = outcomes.clock, outcomes.sent_at.extend
        send_block = producer.send_block
        check_at = self.checkpoints.next(0)
        index = 0
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


def _wait_turn(outcomes: Outcomes, paced_from: float, sent: int, pace: float) -> float:
    """Sleep until send number ``sent`` is due, one every ``pace`` s; returns the clock's start.
    The clock starts at the first record's outcome: until then the client is still connecting
    (librdkafka also fetches its producer id), and records sent would only age in its queue."""
    if sent == 1:
        outcomes.first_outcome.wait(30.0)
        paced_from = outcomes.clock() - pace
    time.sleep(max(0.0, paced_from + sent * pace - outcomes.clock()))
    return paced_from
