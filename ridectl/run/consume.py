"""Consuming a run into a history: every ride event with its partition, offset and the
position at which it was processed.

The read is bounded: it starts from the beginning (or from the group's committed offsets)
and stops at the end offsets that existed when it began, so it always ends by itself.

``workers > 1`` reproduces a common consumer-side mistake: records are handed to a pool of
threads as they arrive, and each is "processed" when its thread gets to it. Processing order
then differs from the log's order even inside a single partition.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import compress
from operator import lt

from ridectl.clients.admin import partition_count
from ridectl.clients.base import (
    ClientName,
    ColumnarConsumer,
    ConsumedRecord,
    ConsumerClient,
    RecordColumns,
)
from ridectl.clients.factory import make_consumer
from ridectl.clients.registry import DEFAULT_CLIENT
from ridectl.clients.setting_names import SettingName
from ridectl.clients.settings import ClientSettings
from ridectl.errors import ExitCode, RidectlError, UsageError, is_interrupt, require_positive
from ridectl.judge.history import (
    History,
    parse_ride_event,
    ride_event_columns,
    run_event_columns,
)
from ridectl.judge.recorded import Recorded
from ridectl.run.store import is_newer

Parsed = tuple[str, int, str]  # (ride_id, seq, run_id)

#: With --workers > 1, this share of events takes SLOW_FACTOR times --work-ms.
SLOW_SHARE = 0.05
SLOW_FACTOR = 20.0

#: Without progress for this long, the read is declared stalled (broker gone).
STALL_TIMEOUT_S = 30.0


@dataclass
class ConsumeOptions:
    topic: str
    settings: ClientSettings
    run_id: str | None = None
    group: str | None = None
    workers: int = 1
    #: simulated processing time per event, uniform in [0, work_ms] (workers > 1 only)
    work_ms: float | None = None
    seed: int | None = None
    #: None: ``request.timeout.ms`` when it is set, else STALL_TIMEOUT_S
    stall_timeout_s: float | None = None
    progress: Callable[[int, int], None] | None = None
    #: the client library that reads
    client: ClientName = DEFAULT_CLIENT


@dataclass
class ConsumeStats:
    records: int = 0
    elapsed_s: float = 0.0
    end_offsets: dict[int, int] | None = None
    #: the reading client's settings in force, in its own names
    effective: dict[str, str] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.records / self.elapsed_s if self.elapsed_s > 0 else 0.0


def consume(opts: ConsumeOptions) -> tuple[History, ConsumeStats]:
    """Read the topic up to its end offsets as they are now. With no run named, the newest run
    found on the topic is kept and the others' events count as foreign."""
    require_positive("--workers", opts.workers)
    if opts.work_ms is not None and opts.work_ms < 0:
        raise UsageError(f"--work-ms must be 0 or more, not {opts.work_ms}")
    partitions = partition_count(opts.settings, opts.topic)
    consumer = make_consumer(
        opts.client, opts.settings, group=opts.group, doing=f"consuming {opts.topic}"
    )
    try:
        return _read(consumer, opts, partitions)
    finally:
        consumer.close()


def _read(
    consumer: ConsumerClient, opts: ConsumeOptions, partitions: int
) -> tuple[History, ConsumeStats]:
    topic = opts.topic
    parts = list(range(partitions))
    # The end offsets first: asking for them teaches librdkafka the partitions' leaders, so
    # its reads start at once (assigned first, it waits 500 ms before looking up where to
    # start); the other clients do not mind the order.
    end = consumer.end_offsets(topic, parts)
    consumer.assign(topic, parts, from_beginning=opts.group is None)
    stats = ConsumeStats(end_offsets=dict(end), effective=dict(consumer.settings_in_force()))
    history = History(run_id=opts.run_id)
    process = _Processor(Recorder(history), opts)

    def left(p: int) -> int:
        # A position the client cannot tell (broker gone) counts as nothing read; the stall
        # timeout then decides.
        pos = consumer.position(topic, p)
        return end[p] - (0 if pos is None else pos)

    pending = {p for p in parts if left(p) > 0}
    total = sum(left(p) for p in pending)
    stall_s = stall_timeout(opts)
    t0 = last_progress = time.monotonic()
    interrupted = False
    # One worker and a client that reads in columns: no Python object per record.
    columns = consumer if isinstance(consumer, ColumnarConsumer) and opts.workers == 1 else None
    try:
        while pending:
            records: list[ConsumedRecord] | RecordColumns = (
                consumer.poll(0.5) if columns is None else columns.poll_columns(0.5)
            )
            now = time.monotonic()
            if not records:
                if now - last_progress > stall_s:
                    raise RidectlError(
                        f"consuming {topic}: no records for {stall_s:g}s "
                        f"with {sum(left(p) for p in pending)} still expected",
                        hint="is the broker still up? ridectl broker status",
                    )
                continue
            last_progress = now
            if isinstance(records, RecordColumns):
                stats.records += process.columns(records, end)
            else:
                stats.records += process.batch(records, end)
            pending = {p for p in pending if left(p) > 0}
            if opts.progress is not None:
                opts.progress(stats.records, total)
    except (KeyboardInterrupt, SystemError) as exc:
        if not is_interrupt(exc):
            raise
        interrupted = True
    finally:
        # On Ctrl-C, records queued for the workers are dropped rather than waited for.
        process.close(cancel=interrupted)
    if interrupted:
        raise RidectlError(
            f"interrupted while consuming {topic}, after {stats.records} of {total} "
            "records; nothing was judged",
            code=ExitCode.INTERRUPTED,
        )
    stats.elapsed_s = time.monotonic() - t0
    if opts.group is not None:
        consumer.commit()
    return history, stats


def stall_timeout(opts: ConsumeOptions) -> float:
    """Seconds without records after which the read gives up: the option when set, else the
    client's ``request.timeout.ms`` when the user set it, else STALL_TIMEOUT_S."""
    if opts.stall_timeout_s is not None:
        return opts.stall_timeout_s
    raw = opts.settings.get(SettingName.REQUEST_TIMEOUT_MS)
    if raw is not None and raw.strip().isdigit() and int(raw) > 0:
        return int(raw) / 1000.0
    return STALL_TIMEOUT_S


class Recorder:
    """Turns ride events into the observations of one history, in the order they are handled.

    The one record -> observation path (consume and watch share it). With the history's
    ``run_id`` set, only that run's events count; without it the newest run seen wins (run ids
    sort by time): when a newer run appears, what was kept of older ones becomes foreign.
    Records that are not ride events are foreign too."""

    def __init__(self, history: History) -> None:
        self.history = history
        self.follow_newest = history.run_id is None
        self.position = 0

    def parse(self, value: bytes | None) -> Parsed | None:
        """The ride event in ``value``, or None (counted foreign) when it is not one of ours
        or not of the named run."""
        parsed = parse_ride_event(value)
        history = self.history
        if parsed is None:
            history.foreign += 1
        elif not self.follow_newest and parsed[2] != history.run_id:
            history.foreign += 1
            history.other_runs.add(parsed[2])
            return None
        return parsed

    def add(self, parsed: Parsed, partition: int, offset: int) -> bool:
        """Record one parsed event; False when it belongs to an older run than the one kept."""
        ride_id, seq, run_id = parsed
        history = self.history
        if run_id != history.run_id:
            if history.run_id is not None and not is_newer(run_id, history.run_id):
                history.foreign += 1
                history.other_runs.add(run_id)
                return False
            # A newer run: the history follows it.
            if history.run_id is not None:
                history.other_runs.add(history.run_id)
            history.foreign += history.events
            history.observations = []
            history.run_id = run_id
        self._columns(run_id).append(ride_id, seq, partition, offset)
        self.position += 1
        return True

    def _columns(self, run_id: str) -> Recorded:
        """Where the next events go: the history's recorded columns, new ones from this
        recorder's position when there are none (yet, or since they were turned into
        observations, or since a newer run replaced the events kept)."""
        recorded = self.history.recorded
        if recorded is None:
            recorded = self.history.recorded = Recorded(self.position, run_id)
        return recorded

    def add_columns(
        self, partitions: list[int], offsets: list[int], values: list[bytes | None]
    ) -> None:
        """Record many records at once, with the same outcome as ``parse`` then ``add`` for
        each in turn. The common case (every value a ride event of one run, the run kept)
        costs one decode per record, no object beyond it and no Python loop; anything else
        (foreign records, several runs in one batch) goes record by record."""
        if not offsets:
            return None
        kept = self.history.run_id
        # Most often every value is an event of the run kept: decoded as such, no run id is
        # read into a string.
        if kept is not None:
            ours = run_event_columns(values, kept)
            if ours is not None:
                return self._extend(kept, *ours, partitions, offsets)
        return self._add_decoded(partitions, offsets, values)

    def _add_decoded(
        self, partitions: list[int], offsets: list[int], values: list[bytes | None]
    ) -> None:
        """``add_columns`` when the values are not all events of the run kept."""
        columns = ride_event_columns(values)
        if columns is None:
            return self._one_by_one(partitions, offsets, values)
        ride_ids, seqs, run_ids = columns
        run_id = run_ids[0]
        if run_ids.count(run_id) != len(run_ids):
            return self._one_by_one(partitions, offsets, values)
        if run_id != self.history.run_id:
            # Another run than the one kept: the first record decides, as ``add`` does,
            # whether the history follows it (a newer run) or all of them are foreign.
            first = self.parse(values[0])
            if first is None or not self.add(first, partitions[0], offsets[0]):
                return self._one_by_one(partitions[1:], offsets[1:], values[1:])
            ride_ids, seqs = ride_ids[1:], seqs[1:]
            partitions, offsets = partitions[1:], offsets[1:]
        return self._extend(run_id, ride_ids, seqs, partitions, offsets)

    def _extend(
        self,
        run_id: str,
        ride_ids: list[str],
        seqs: list[int],
        partitions: list[int],
        offsets: list[int],
    ) -> None:
        self._columns(run_id).extend(ride_ids, seqs, partitions, offsets)
        self.position += len(offsets)

    def _one_by_one(
        self, partitions: list[int], offsets: list[int], values: list[bytes | None]
    ) -> None:
        parse, add = self.parse, self.add
        for partition, offset, value in zip(partitions, offsets, values, strict=True):
            parsed = parse(value)
            if parsed is not None:
                add(parsed, partition, offset)


class _Processor:
    """Hands records to the recorder: at once, or (``workers > 1``) through a thread pool."""

    def __init__(self, recorder: Recorder, opts: ConsumeOptions) -> None:
        self.recorder = recorder
        self.workers = opts.workers
        self.lock = threading.Lock()
        self.pool: ThreadPoolExecutor | None = None
        self.work_s = (opts.work_ms if opts.work_ms is not None else 1.0) / 1000.0
        if self.workers > 1:
            self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="ridectl-worker")
            self.rng = random.Random(opts.seed)

    def batch(self, records: list[ConsumedRecord], end: dict[int, int]) -> int:
        """Handle the records of one poll that lie before the end offsets; how many did."""
        if self.pool is not None:
            n = 0
            for rec in records:
                if rec.offset < end[rec.partition]:
                    self(rec.partition, rec.offset, rec.value)
                    n += 1
            return n
        # One worker: the same steps as __call__, without a call per layer per record.
        parse, add = self.recorder.parse, self.recorder.add
        n = 0
        for rec in records:
            offset, partition = rec.offset, rec.partition
            if offset < end[partition]:
                n += 1
                parsed = parse(rec.value)
                if parsed is not None:
                    add(parsed, partition, offset)
        return n

    def columns(self, records: RecordColumns, end: dict[int, int]) -> int:
        """``batch`` for records read as columns (one worker only)."""
        partitions, offsets, values = records.partitions, records.offsets, records.values
        if offsets and max(offsets) < min(map(end.__getitem__, set(partitions))):
            # (every record before the end offsets, with one comparison per partition)
            self.recorder.add_columns(partitions, offsets, values)
            return len(offsets)
        before_end = list(map(lt, offsets, map(end.__getitem__, partitions)))
        if before_end.count(True) != len(before_end):
            # Records past the end offsets (written after the read began) are left out.
            partitions = list(compress(partitions, before_end))
            offsets = list(compress(offsets, before_end))
            values = list(compress(values, before_end))
        self.recorder.add_columns(partitions, offsets, values)
        return len(offsets)

    def __call__(self, partition: int, offset: int, value: bytes | None) -> None:
        parsed = self.recorder.parse(value)
        if parsed is None:
            return
        if self.pool is None:
            self.recorder.add(parsed, partition, offset)
        else:
            # The mistake on purpose: hand each record to whichever thread is free. Work takes
            # a random time, and now and then much longer (a slow call to a database, a GC
            # pause): everything the other threads finish meanwhile overtakes it.
            rng = self.rng
            slow = rng.random() < SLOW_SHARE
            delay = self.work_s * (SLOW_FACTOR if slow else rng.random())
            self.pool.submit(self._work, parsed, partition, offset, delay)

    def _work(self, parsed: Parsed, partition: int, offset: int, delay: float) -> None:
        if delay > 0:
            time.sleep(delay)
        with self.lock:
            self.recorder.add(parsed, partition, offset)

    def close(self, cancel: bool = False) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=cancel)
