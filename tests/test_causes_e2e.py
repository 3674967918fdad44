"""On the real broker: every out-of-order violation names where the order broke. Unkeyed
events break it in the keying, retries under a fault in the log, a consumer thread pool in
processing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.kafka

RIDES = 300

#: One record per request, several in flight, retries on, no backoff: the retry gotcha.
PIPELINED = [
    "--max-in-flight", "5", "--retries", "1000000", "--batch-size", "1",
    "-X", "retry.backoff.ms=0", "--no-idempotence",
]  # fmt: skip


def _produce(cli: Callable[..., Any], bootstrap: str, topic: str, *extra: str) -> None:
    res = cli(
        "produce", "-b", bootstrap, "-t", topic, "--rides", str(RIDES), "--seed", "3",
        "--format", "json", *extra,
    )  # fmt: skip
    assert res.code == 0, res


def _causes(cli: Callable[..., Any], bootstrap: str, topic: str, *extra: str) -> dict[str, Any]:
    res = cli("check", "-b", bootstrap, "-t", topic, "--format", "json", *extra)
    assert res.code == 0, res
    report = json.loads(res.out)
    causes = {v["cause"] for v in report["violations"] if v["kind"] == "out_of_order"}
    by_cause = report["summary"]["by_cause"]
    assert sum(by_cause.values()) == report["summary"]["by_kind"]["out_of_order"] > 0
    return {"causes": causes, "by_cause": by_cause}


def test_unkeyed_events_break_order_in_the_keying(
    cli: Callable[..., Any], kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("cause-keying")
    _produce(cli, kafka_bootstrap, topic, "--unkeyed", "-p", "6")
    assert _causes(cli, kafka_bootstrap, topic)["causes"] == {"keying"}


def test_retries_break_order_in_the_log(
    cli: Callable[..., Any], kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("cause-log")
    _produce(cli, kafka_bootstrap, topic, "-p", "1", "--fault", "error:every=7,hold=4", *PIPELINED)
    assert _causes(cli, kafka_bootstrap, topic)["causes"] == {"log"}


def test_a_thread_pool_breaks_order_in_processing(
    cli: Callable[..., Any], kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("cause-processing")
    _produce(cli, kafka_bootstrap, topic, "--keyed", "-p", "3")
    found = _causes(cli, kafka_bootstrap, topic, "--workers", "4")
    assert found["causes"] == {"processing"}
