"""``ridectl watch`` follows a run produced while it watches (real broker)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from ridectl.clients.settings import build_settings
from ridectl.run.options import ProduceOptions
from ridectl.run.produce import run_produce
from ridectl.scenarios.watch import WatchState, watch

pytestmark = pytest.mark.kafka


def test_watch_waits_for_the_topic_and_sees_the_whole_run(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("watch")
    settings = build_settings(kafka_bootstrap, None, [])
    states: list[WatchState] = []

    def watcher() -> None:
        for state in watch(settings, topic, idle_timeout_s=2.0, max_seconds=60):
            states.append(state)

    thread = threading.Thread(target=watcher)
    thread.start()
    run = run_produce(
        ProduceOptions(topic=topic, rides=400, settings=settings, keyed=False, partitions=4, seed=2)
    )
    thread.join(timeout=90)
    assert not thread.is_alive()
    final = states[-1]
    assert final.finished_reason.startswith("no new events")
    assert final.history.run_id == run.run_id
    assert final.report is not None
    assert final.report.events == 2000
    assert sum(final.records_per_partition.values()) == 2000
    assert final.report.by_kind["out_of_order"] > 0  # unkeyed


def test_watch_command_prints_json_at_the_end(
    cli: Callable[..., Any], kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    import json

    topic = new_topic("watchcli")
    res = cli("produce", "-b", kafka_bootstrap, "-t", topic, "--rides", "100", "-p", "2")
    assert res.code == 0, res
    res = cli(
        "watch", "-b", kafka_bootstrap, "-t", topic, "--from-beginning",
        "--idle-timeout", "1", "--format", "json",
    )  # fmt: skip
    assert res.code == 0, res
    summary = json.loads(res.out)["summary"]
    assert summary["events"] == 500 and summary["violating_rides"] == 0
    assert "Watch ended" in res.err
