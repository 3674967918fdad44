"""The retry gotcha through the fault proxy, judged by ``ridectl check`` on the real broker:
the same seed reorders the same rides, and disconnects break order too. Its fixes (one request
in flight, idempotence) and lost acknowledgements, for each of the three clients:
test_clients_ordering.py. (Kafka's own Java producer through the proxy:
test_java_through_proxy.py.)"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.kafka

#: One record per request, several requests in flight, retries on, no backoff (see
#: docs/faults.md, "The retry gotcha recipe").
PIPELINED = [
    "--max-in-flight", "5", "--retries", "1000000", "--batch-size", "1",
    "-X", "retry.backoff.ms=0", "--seed", "5",
]  # fmt: skip


def _run(
    cli: Callable[..., Any],
    bootstrap: str,
    topic: str,
    fault: str,
    *extra: str,
    rides: int = 150,
    partitions: int = 3,
) -> tuple[dict[str, Any], dict[str, Any]]:
    res = cli(
        "produce", "-b", bootstrap, "-t", topic, "--rides", str(rides), "-p", str(partitions),
        "--fault", fault, "--format", "json", "--request-log", *PIPELINED, *extra,
    )  # fmt: skip
    assert res.code == 0, res
    run = json.loads(res.out)
    assert run["events_acked"] == rides * 5
    faults = run["faults"]
    assert sum(faults["faults_injected"].values()) > 0
    # What the proxy recorded comes with the run: a balanced ledger, the code of every
    # partition answer, and one request-log entry per produce request.
    assert faults["ledger"]["outstanding"] == 0
    assert faults["ledger"]["unbalanced_connections"] == 0
    assert sum(faults["answer_codes"].values()) >= len(faults["produce_answers"]) > 0
    assert len(faults["request_log"]) == faults["produce_requests"]
    assert {r["fate"] for r in faults["request_log"]} >= {"written"}
    res = cli("check", "-b", bootstrap, "-t", topic, "--format", "json")
    assert res.code == 0, res
    return run, json.loads(res.out)


def test_retry_gotcha_reorders_single_partitions_and_repeats_with_the_same_seed(
    cli: Callable[..., Any], kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    violating: list[set[str]] = []
    for _ in range(2):
        _, report = _run(
            cli, kafka_bootstrap, new_topic("gotcha"), "error:every=7,hold=4",
            "--no-idempotence", partitions=1,
        )  # fmt: skip
        assert report["summary"]["by_kind"]["out_of_order"] > 0
        assert report["summary"]["rides_split"] == 0
        violating.append({v["ride_id"] for v in report["violations"]})
    assert violating[0] == violating[1]


def test_disconnects_with_requests_in_flight_break_ordering_without_idempotence(
    cli: Callable[..., Any], kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    _, report = _run(
        cli, kafka_bootstrap, new_topic("disconnect"), "disconnect:every=25", "--no-idempotence",
        rides=200,
    )  # fmt: skip
    assert report["summary"]["violating_rides"] > 0
    assert report["summary"]["by_kind"]["lost"] == 0


def test_produce_json_gives_the_request_log_as_a_summary_unless_asked_for_every_request(
    cli: Callable[..., Any], kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("log-summary")
    res = cli(
        "produce", "-b", kafka_bootstrap, "-t", topic, "--rides", "20", "-p", "2",
        "--fault", "error:every=3", "--format", "json", *PIPELINED,
    )  # fmt: skip
    assert res.code == 0, res
    faults = json.loads(res.out)["faults"]
    summary = faults["request_log"]
    assert isinstance(summary, dict), "the whole log came without --request-log"
    assert summary["requests"] == faults["produce_requests"] > 0
    assert sum(summary["by_fate"].values()) == summary["requests"]
    assert summary["by_fate"]["written"] > 0 and summary["kept"] > 0
