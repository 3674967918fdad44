"""Watching a topic live: records per partition and violations as they appear.

The watcher keeps one history per run (the newest run seen wins: when another run starts on
the topic, the view starts over for it) and re-judges it at most once per refresh. Rides still
in progress lack their later events, so while watching only out-of-order and duplicate events
count; missing events are judged when the watch ends."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from ridectl.clients.admin import partition_count
from ridectl.clients.base import ConsumerClient
from ridectl.clients.factory import make_consumer
from ridectl.clients.registry import DEFAULT_CLIENT, ClientName
from ridectl.clients.setting_names import SettingName
from ridectl.clients.settings import ClientSettings
from ridectl.errors import UsageError
from ridectl.judge.checker import Report
from ridectl.judge.history import History
from ridectl.run.consume import Recorder
from ridectl.run.flow import judge


@dataclass
class WatchState:
    topic: str
    partitions: int
    history: History = field(default_factory=History)
    records_per_partition: Counter[int] = field(default_factory=Counter)
    report: Report | None = None
    started: float = field(default_factory=time.monotonic)
    last_record: float | None = None
    finished_reason: str = ""

    @property
    def events(self) -> int:
        return self.history.events


def watch(
    settings: ClientSettings,
    topic: str,
    *,
    run_id: str | None = None,
    from_beginning: bool = False,
    idle_timeout_s: float = 10.0,
    max_seconds: float | None = None,
    refresh_s: float = 0.5,
    wait_topic_s: float = 60.0,
    on_wait: Callable[[str], None] | None = None,
    client: ClientName = DEFAULT_CLIENT,
) -> Iterator[WatchState]:
    """Yield the state after every refresh until the run goes quiet for ``idle_timeout_s``
    (after at least one event), ``max_seconds`` pass, or the caller stops iterating.
    ``on_wait`` is told once when the topic does not exist yet and is waited for."""
    if idle_timeout_s <= 0:
        raise UsageError(f"--idle-timeout must be more than 0, not {idle_timeout_s}")
    partitions, created_meanwhile = _wait_for_topic(settings, topic, wait_topic_s, on_wait)
    # A topic created while we waited holds only new events: read it all.
    from_beginning = from_beginning or created_meanwhile
    if not from_beginning and settings.get(SettingName.AUTO_OFFSET_RESET) != "latest":
        # No group, so no committed offsets: the reset policy alone says where reading
        # starts, and "latest" is the end of each partition.
        settings = replace(
            settings, values={**settings.values, SettingName.AUTO_OFFSET_RESET: "latest"}
        )
    state = WatchState(topic, partitions, History(run_id=run_id))
    consumer = make_consumer(client, settings, group=None, doing=f"watching {topic}")
    try:
        # Asked first, the end offsets teach librdkafka the partitions' leaders: assigned
        # without them, it waits half a second before it looks up where to start reading.
        consumer.end_offsets(topic, range(partitions))
        consumer.assign(topic, range(partitions), from_beginning=from_beginning)
        yield from _loop(consumer, state, idle_timeout_s, max_seconds, refresh_s)
    finally:
        consumer.close()


def _wait_for_topic(
    settings: ClientSettings, topic: str, wait_s: float, on_wait: Callable[[str], None] | None
) -> tuple[int, bool]:
    """The topic's partition count, waiting for a producer to create it (watch usually
    starts before the run it watches); and whether it had to wait."""
    deadline = time.monotonic() + wait_s
    waited = False
    while True:
        try:
            return partition_count(settings, topic), waited
        except UsageError:
            if not waited and on_wait is not None:
                on_wait(
                    f"waiting up to {wait_s:g}s for topic {topic} to appear on "
                    f"{settings.bootstrap}..."
                )
            waited = True
            if time.monotonic() > deadline:
                raise UsageError(
                    f"topic {topic} did not appear on {settings.bootstrap} within {wait_s:g}s",
                    hint="start the producer, check the name, or wait longer with --wait-topic",
                ) from None
            time.sleep(0.5)


def _loop(
    consumer: ConsumerClient,
    state: WatchState,
    idle_timeout_s: float,
    max_seconds: float | None,
    refresh_s: float,
) -> Iterator[WatchState]:
    history = state.history
    recorder = Recorder(history)
    next_refresh = time.monotonic()
    dirty = False
    while True:
        records = consumer.poll(refresh_s)
        now = time.monotonic()
        for rec in records:
            parsed = recorder.parse(rec.value)
            if parsed is None:
                continue
            run_before = history.run_id
            if not recorder.add(parsed, rec.partition, rec.offset):
                continue
            if history.run_id != run_before:
                state.records_per_partition.clear()  # a newer run started: start over
            state.records_per_partition[rec.partition] += 1
            state.last_record = now
            dirty = True
        if now >= next_refresh:
            if dirty:
                state.report = judge(history)
                dirty = False
            next_refresh = now + refresh_s
            yield state
        if state.last_record is not None and now - state.last_record > idle_timeout_s:
            state.finished_reason = f"no new events for {idle_timeout_s:g}s"
            break
        if max_seconds is not None and now - state.started > max_seconds:
            state.finished_reason = f"stopped after {max_seconds:g}s"
            break
    state.report = judge(history)
    yield state
