"""Reading a topic for an audit, read-only by construction.

Every partition is *assigned* (the reader never joins a consumer group), nothing is committed
(auto-commit is forced off and ``group.id`` refused) and nothing is created. The read starts at
each partition's first offset (or at the first record stamped at ``--since`` or later) and
stops at the high watermarks taken when it began; with ``follow`` it goes on reading new
records until it has seen none for ``idle_timeout_s`` (or Ctrl-C).

Records reach the caller a partition's run at a time, in log order, with their timestamps.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter

from ridectl.clients.admin import first_offsets, partition_count
from ridectl.clients.base import ConsumedRecord, ConsumerClient, TimeSeekingConsumer
from ridectl.clients.factory import check_settings, make_consumer
from ridectl.clients.registry import ClientName, entry
from ridectl.clients.setting_names import SettingName
from ridectl.clients.settings import ClientSettings
from ridectl.errors import RidectlError, UsageError, is_interrupt

#: The client an audit reads with unless told: the fastest full read of a keyed JSON topic
#: (figures in the commit that chose it and in docs/audit.md).
AUDIT_CLIENT = ClientName.LIBRDKAFKA

#: Without a record for this long while records are still expected, the read has stalled.
STALL_TIMEOUT_S = 30.0

#: Called with a partition and a run of its records, in log order.
OnRecords = Callable[[int, Sequence[ConsumedRecord]], None]

_PARTITION = attrgetter("partition")


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """What to read and how."""

    topic: str
    settings: ClientSettings
    client: ClientName
    #: start from the first record stamped at this time (epoch ms) or later; None: the start
    since_ms: int | None = None
    #: keep reading new records after the end taken at the start
    follow: bool = False
    #: with ``follow``: stop after this long without a new record (None: until Ctrl-C)
    idle_timeout_s: float | None = None
    stall_timeout_s: float = STALL_TIMEOUT_S


@dataclass(slots=True)
class ReadStats:
    """What a read did."""

    records: int = 0
    #: where each partition's read started, and the high watermarks taken at the start
    start: dict[int, int] = field(default_factory=dict)
    end: dict[int, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    #: the read was stopped by Ctrl-C (with ``follow``: the usual way to end it)
    interrupted: bool = False

    @property
    def rate(self) -> float:
        return self.records / self.elapsed_s if self.elapsed_s > 0 else 0.0


def read_only_settings(settings: ClientSettings, client: ClientName) -> ClientSettings:
    """``settings`` made safe for a read-only read: a ``group.id`` is refused (an audit
    joins no group and commits nothing), auto-commit is forced off."""
    if settings.get(SettingName.GROUP_ID) is not None:
        raise UsageError(
            "an audit reads without a consumer group: drop group.id "
            f"(given in {settings.origin.get(SettingName.GROUP_ID, 'the settings')})"
        )
    safe = ClientSettings(settings.bootstrap, dict(settings.values), dict(settings.origin))
    safe.values[SettingName.ENABLE_AUTO_COMMIT] = "false"
    safe.origin[SettingName.ENABLE_AUTO_COMMIT] = "the audit (read-only)"
    check_settings(client, safe)
    return safe


def refuse_time_seeking(client: ClientName, what: str) -> None:
    """One line when ``client`` cannot start from a time or give timestamps (``what`` needs it)."""
    record = entry(client)
    if not record.capabilities.time_seeking:
        raise UsageError(
            f"{what} needs record timestamps and offsets for a time, which ridectl's reader "
            f"of {record.called} does not have (capability time_seeking); "
            "pick another --client"
        )


def read_topic(plan: ReadPlan, on_records: OnRecords) -> ReadStats:
    """Read ``plan.topic`` read-only, handing each partition's records to ``on_records``."""
    if plan.since_ms is not None:
        refuse_time_seeking(plan.client, "--since")
    settings = read_only_settings(plan.settings, plan.client)
    partitions = partition_count(
        settings, plan.topic, hint="check the name: ridectl broker topics lists them"
    )
    # where each partition starts (records removed by retention are not waited for)
    first = None if plan.since_ms is not None else first_offsets(settings, plan.topic, partitions)
    consumer = make_consumer(plan.client, settings, group=None, doing=f"auditing {plan.topic}")
    try:
        return _read(consumer, plan, list(range(partitions)), first, on_records)
    finally:
        consumer.close()


def _start(
    consumer: ConsumerClient, plan: ReadPlan, parts: list[int], first: dict[int, int] | None
) -> ReadStats:
    """Assign the partitions where the read starts; the high watermarks taken first."""
    # The end offsets first: librdkafka then knows the leaders and starts reading at once.
    end = consumer.end_offsets(plan.topic, parts)
    stats = ReadStats(end=dict(end))
    if first is None:
        assert plan.since_ms is not None
        assert isinstance(consumer, TimeSeekingConsumer)  # (refused before, by capability)
        stats.start = consumer.assign_from_time(plan.topic, parts, plan.since_ms)
    else:
        consumer.assign(plan.topic, parts, from_beginning=True)
        stats.start = {p: first.get(p, 0) for p in parts}
    return stats


def _read(
    consumer: ConsumerClient,
    plan: ReadPlan,
    parts: list[int],
    first: dict[int, int] | None,
    on_records: OnRecords,
) -> ReadStats:
    topic = plan.topic
    t0 = time.monotonic()
    stats = _start(consumer, plan, parts, first)
    end = stats.end
    #: the next offset each partition reads, as far as the records tell
    upto = dict(stats.start)
    pending = {p for p in parts if upto[p] < end[p]}
    last_record = time.monotonic()
    try:
        while pending or plan.follow:
            records = consumer.poll(0.5)
            now = time.monotonic()
            if not records:
                # the end may sit past the last record (a transaction marker): ask the client
                for p in list(pending):
                    pos = consumer.position(topic, p)
                    if pos is not None and pos >= end[p]:
                        pending.discard(p)
                idle = now - last_record
                if pending and idle > plan.stall_timeout_s:
                    raise RidectlError(
                        f"auditing {topic}: no records for {plan.stall_timeout_s:g}s with "
                        f"{sum(end[p] - upto[p] for p in pending)} still expected",
                        hint="is the broker still up?",
                    )
                timeout = plan.idle_timeout_s
                if not pending and plan.follow and timeout is not None and idle > timeout:
                    break
                continue
            last_record = now
            for partition, run in itertools.groupby(records, _PARTITION):
                batch = list(run)
                if not plan.follow and batch[-1].offset >= end[partition]:
                    # written after the start: not this audit's
                    batch = [r for r in batch if r.offset < end[partition]]
                    if not batch:
                        continue
                on_records(partition, batch)
                stats.records += len(batch)
                upto[partition] = batch[-1].offset + 1
                if partition in pending and upto[partition] >= end[partition]:
                    pending.discard(partition)
    except Exception as exc:
        if not is_interrupt(exc):
            raise
        stats.interrupted = True
    except KeyboardInterrupt:
        stats.interrupted = True
    stats.elapsed_s = time.monotonic() - t0
    return stats
