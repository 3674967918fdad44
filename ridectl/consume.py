"""Consuming a run into a history: every ride event with its partition, offset and the
position at which it was processed.

The read is bounded: it starts from the beginning (or from the group's committed offsets)
and stops at the end offsets that existed when it began, so it always ends by itself.

``workers > 1`` reproduces a common consumer-side mistake: records are handed to a pool of
threads as they arrive, and each is "processed" when its thread gets to it. Processing order
then differs from the log's order even inside a single partition.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition

from ridectl.clients.admin import client_kwargs, kafka_errors, partition_count
from ridectl.errors import ExitCode, RidectlError, UsageError
from ridectl.judge.history import History, Observation, parse_ride_event
from ridectl.settings import ClientSettings

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


@dataclass
class ConsumeStats:
    records: int = 0
    elapsed_s: float = 0.0
    end_offsets: dict[int, int] | None = None

    @property
    def rate(self) -> float:
        return self.records / self.elapsed_s if self.elapsed_s > 0 else 0.0


def consume(opts: ConsumeOptions) -> tuple[History, ConsumeStats]:
    if opts.workers < 1:
        raise UsageError(f"--workers must be 1 or more, not {opts.workers}")
    if opts.work_ms is not None and opts.work_ms < 0:
        raise UsageError(f"--work-ms must be 0 or more, not {opts.work_ms}")
    partitions = partition_count(opts.settings, opts.topic)
    kwargs = client_kwargs(opts.settings, "consumer")
    kwargs.setdefault("enable_auto_commit", False)
    kwargs.setdefault("auto_offset_reset", "earliest")
    kwargs.setdefault("max_poll_records", 5000)
    kwargs.setdefault("fetch_max_wait_ms", 100)
    if opts.group is not None:
        kwargs["group_id"] = opts.group
    with kafka_errors(opts.settings, f"consuming {opts.topic}"):
        consumer = KafkaConsumer(**kwargs)
        try:
            return _read(consumer, opts, partitions)
        finally:
            with contextlib.suppress(Exception):
                consumer.close(autocommit=False)


def _read(
    consumer: KafkaConsumer, opts: ConsumeOptions, partitions: int
) -> tuple[History, ConsumeStats]:
    tps = [TopicPartition(opts.topic, p) for p in range(partitions)]
    consumer.assign(tps)
    if opts.group is None:
        consumer.seek_to_beginning(*tps)
    end = consumer.end_offsets(tps)
    stats = ConsumeStats(end_offsets={tp.partition: off for tp, off in end.items()})
    history = History(run_id=opts.run_id)
    process = _Processor(history, opts)

    def left(tp: TopicPartition, start: int = 0) -> int:
        # kafka-python answers None when it cannot learn the position (broker gone); the
        # partition then counts as unread and the stall timeout decides.
        pos = consumer.position(tp)
        return int(end[tp]) - (start if pos is None else int(pos))

    pending = {tp for tp in tps if left(tp) > 0}
    total = sum(left(tp) for tp in pending)
    stall_s = stall_timeout(opts)
    t0 = last_progress = time.monotonic()
    interrupted = False
    try:
        while pending:
            batch = consumer.poll(timeout_ms=500)
            now = time.monotonic()
            if not batch:
                if now - last_progress > stall_s:
                    raise RidectlError(
                        f"consuming {opts.topic}: no records for {stall_s:g}s "
                        f"with {sum(left(tp) for tp in pending)} "
                        "still expected",
                        hint="is the broker still up? ridectl broker status",
                    )
                continue
            last_progress = now
            for tp, records in batch.items():
                limit = end[tp]
                for rec in records:
                    if rec.offset >= limit:
                        break
                    process(rec.partition, rec.offset, rec.value)
                    stats.records += 1
            pending = {tp for tp in pending if left(tp) > 0}
            if opts.progress is not None:
                opts.progress(stats.records, total)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        # On Ctrl-C, records queued for the workers are dropped rather than waited for.
        process.close(cancel=interrupted)
    if interrupted:
        raise RidectlError(
            f"interrupted while consuming {opts.topic}, after {stats.records} of {total} "
            "records; nothing was judged",
            code=ExitCode.INTERRUPTED,
        )
    stats.elapsed_s = time.monotonic() - t0
    if opts.group is not None:
        consumer.commit()
    if opts.run_id is None:
        _keep_newest_run(history)
    return history, stats


def stall_timeout(opts: ConsumeOptions) -> float:
    """Seconds without records after which the read gives up: the option when set, else the
    client's ``request.timeout.ms`` when the user set it, else STALL_TIMEOUT_S."""
    if opts.stall_timeout_s is not None:
        return opts.stall_timeout_s
    raw = opts.settings.get("request.timeout.ms")
    if raw is not None and raw.strip().isdigit() and int(raw) > 0:
        return int(raw) / 1000.0
    return STALL_TIMEOUT_S


def _keep_newest_run(history: History) -> None:
    """With no run named, judge the newest run on the topic (run ids sort by time); events of
    older runs count as foreign. Mixing runs would make every ride look duplicated."""
    run_ids = {o.run_id for o in history.observations}
    if not run_ids:
        return
    newest = max(run_ids)
    history.run_id = newest
    history.other_runs.update(run_ids - {newest})
    if len(run_ids) > 1:
        kept = [o for o in history.observations if o.run_id == newest]
        history.foreign += len(history.observations) - len(kept)
        history.observations = kept


class _Processor:
    """Turns records into observations, in the order they are processed."""

    def __init__(self, history: History, opts: ConsumeOptions) -> None:
        self.history = history
        self.run_id = opts.run_id
        self.position = 0
        self.workers = opts.workers
        self.lock = threading.Lock()
        self.pool: ThreadPoolExecutor | None = None
        self.work_s = (opts.work_ms if opts.work_ms is not None else 1.0) / 1000.0
        if self.workers > 1:
            self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="ridectl-worker")
            self.rng = random.Random(opts.seed)

    def __call__(self, partition: int, offset: int, value: bytes | None) -> None:
        parsed = parse_ride_event(value)
        if parsed is None or (self.run_id is not None and parsed[2] != self.run_id):
            self.history.foreign += 1
            if parsed is not None:
                self.history.other_runs.add(parsed[2])
            return
        if self.pool is None:
            self._record(parsed, partition, offset)
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
            self._record(parsed, partition, offset)

    def _record(self, parsed: Parsed, partition: int, offset: int) -> None:
        ride_id, seq, run_id = parsed
        self.history.observations.append(
            Observation(self.position, ride_id, seq, partition, offset, run_id)
        )
        self.position += 1

    def close(self, cancel: bool = False) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=cancel)
