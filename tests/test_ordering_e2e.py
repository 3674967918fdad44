"""The three runs of the README's tour, against the real broker: unkeyed events break
order, keyed events keep it, and a multi-threaded consumer breaks it again."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.kafka

RIDES = 1000


def _check_json(cli: Callable[..., Any], bootstrap: str, topic: str, *extra: str) -> Any:
    res = cli("check", "-b", bootstrap, "--topic", topic, "--format", "json", *extra)
    assert res.code == 0, res
    return json.loads(res.out)


def _produce(cli: Callable[..., Any], bootstrap: str, topic: str, *extra: str) -> Any:
    res = cli(
        "produce", "-b", bootstrap, "-t", topic, "--rides", str(RIDES), "-p", "6",
        "--seed", "11", "--format", "json", *extra,
    )  # fmt: skip
    assert res.code == 0, res
    return json.loads(res.out)


def test_unkeyed_events_scatter_and_break_order(
    cli: Callable[..., Any], kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("unkeyed")
    run = _produce(cli, kafka_bootstrap, topic, "--unkeyed")
    assert run["events_acked"] == RIDES * 5
    assert len([p for p, n in run["per_partition"].items() if n > 0]) == 6
    report = _check_json(cli, kafka_bootstrap, topic)
    summary = report["summary"]
    assert summary["rides"] == RIDES
    assert summary["by_kind"]["out_of_order"] > 0
    assert summary["by_kind"]["duplicate"] == 0
    assert summary["by_kind"]["missing"] == 0
    assert summary["by_kind"]["lost"] == 0
    assert summary["rides_split"] > RIDES * 0.9
    assert {v["kind"] for v in report["violations"]} == {"out_of_order"}


def test_keyed_events_stay_in_order_on_one_partition_each(
    cli: Callable[..., Any], kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("keyed")
    run = _produce(cli, kafka_bootstrap, topic, "--keyed")
    assert run["events_acked"] == RIDES * 5
    report = _check_json(cli, kafka_bootstrap, topic, "--exit-code")
    summary = report["summary"]
    assert summary["rides"] == RIDES
    assert summary["violating_rides"] == 0
    assert summary["rides_split"] == 0
    assert report["violations"] == []


def test_parallel_workers_break_order_inside_one_partition(
    cli: Callable[..., Any], kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("workers")
    _produce(cli, kafka_bootstrap, topic, "--keyed")
    res = cli(
        "check", "-b", kafka_bootstrap, "--topic", topic, "--workers", "4",
        "--format", "json", "--exit-code",
    )  # fmt: skip
    assert res.code == 1, res  # --exit-code: violations found
    report = json.loads(res.out)
    assert report["summary"]["by_kind"]["out_of_order"] > 0
    assert report["summary"]["rides_split"] == 0  # every ride still on one partition
    for v in report["violations"]:
        assert len({e["partition"] for e in v["evidence"]}) == 1


def test_partition_command_predicts_where_the_producer_put_each_ride(
    cli: Callable[..., Any], kafka_bootstrap: str, new_topic: Callable[[str], str], tmp_path: Any
) -> None:
    topic = new_topic("predict")
    _produce(cli, kafka_bootstrap, topic, "--keyed")
    hist = tmp_path / "h.ndjson"
    res = cli("consume", "-b", kafka_bootstrap, "--topic", topic, "--out", str(hist))
    assert res.code == 0, res
    actual: dict[str, int] = {}
    for line in hist.read_text().splitlines():
        d = json.loads(line)
        actual[d["ride_id"]] = d["partition"]
    assert len(actual) == RIDES
    keys = sorted(actual)[:200]
    res = cli("partition", *keys, "--partitions", "6", "--format", "json")
    assert res.code == 0, res
    predicted = {row["key"]: row["murmur2"] for row in json.loads(res.out)["keys"]}
    assert predicted == {k: actual[k] for k in keys}
