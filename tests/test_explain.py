"""``ridectl explain`` on the real broker: each violation's story names the requests that made
it, checked against the proxy's own request log (produce's JSON) and against ``check``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.kafka

#: The retry-gotcha recipe of the README and docs/faults.md (one record per request, five in
#: flight, no backoff).
PIPELINED = [
    "--max-in-flight", "5", "--retries", "1000000", "--batch-size", "1",
    "-X", "retry.backoff.ms=0", "--seed", "5", "--no-idempotence",
]  # fmt: skip

Cli = Callable[..., Any]
Log = dict[int, dict[str, Any]]


def _produce(cli: Cli, bootstrap: str, topic: str, *args: str) -> dict[str, Any]:
    res = cli("produce", "-b", bootstrap, "-t", topic, "--format", "json", "--request-log", *args)
    assert res.code == 0, res
    run: dict[str, Any] = json.loads(res.out)
    return run


def _check(cli: Cli, bootstrap: str, topic: str, *args: str) -> dict[str, Any]:
    res = cli("check", "-b", bootstrap, "-t", topic, "--format", "json", *args)
    assert res.code == 0, res
    report: dict[str, Any] = json.loads(res.out)
    return report


def _explain(cli: Cli, bootstrap: str, topic: str, ride: str) -> dict[str, Any]:
    res = cli("explain", ride, "-b", bootstrap, "-t", topic, "--format", "json")
    assert res.code == 0, res
    story: dict[str, Any] = json.loads(res.out)
    return story


def _log(run: dict[str, Any]) -> Log:
    return {r["number"]: r for r in run["faults"]["request_log"]}


def _written_at(record: dict[str, Any], ride: str, seq: int) -> tuple[int, int]:
    """Where the proxy saw ``record`` write event (ride, seq): its partition's base offset
    plus the event's place among the request's events on that partition."""
    events = [tuple(e) for e in record["events"]]
    i = next(i for i, e in enumerate(events) if e[0] == ride and e[1] == seq)
    topic, partition = events[i][2], events[i][3]
    before = sum(1 for e in events[:i] if (e[2], e[3]) == (topic, partition))
    base = record["base_offsets"][record["partitions"].index(f"{topic}:{partition}")]
    return partition, base + before


def _carried(record: dict[str, Any], ride: str, seq: int) -> bool:
    return any(e[0] == ride and e[1] == seq for e in record["events"])


def _evidence(v: dict[str, Any]) -> list[tuple[int, int]]:
    return [(e["partition"], e["offset"]) for e in v["evidence"]]


def test_retry_gotcha_every_violating_ride_names_failed_overtaking_and_retry_requests(
    cli: Cli, kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("explain-gotcha")
    fault = "error:every=7,hold=4"
    run = _produce(
        cli, kafka_bootstrap, topic, "--rides", "150", "-p", "3", "--fault", fault, *PIPELINED
    )
    log, spec = _log(run), run["faults"]["faults"][0]
    report = _check(cli, kafka_bootstrap, topic, "--explain")
    order = [v for v in report["violations"] if v["kind"] == "out_of_order"]
    assert order and all(v["cause"] == "log" for v in order)
    rides = sorted({v["ride_id"] for v in order})
    assert set(report["stories"]) == {v["ride_id"] for v in report["violations"]}
    for ride in rides:
        story = _explain(cli, kafka_bootstrap, topic, ride)
        assert story["evidence"] == "requests"
        assert story["summary"] == report["stories"][ride]
        expected = [v for v in order if v["ride_id"] == ride]
        told = [v for v in story["violations"] if v["kind"] == "out_of_order"]
        assert [_evidence(v) for v in told] == [_evidence(v) for v in expected]
        for v in told:
            (p_early, o_early), (p_late, o_late) = _evidence(v)
            roles = v["requests"]
            failed, ahead, retry = (
                log[roles["failed"]],
                log[roles["overtaking"]],
                log[roles["retry"]],
            )
            assert failed["fate"] == "failed_by_fault" and failed["fault"] == spec
            assert _carried(failed, ride, v["seq"])
            assert ahead["fate"] == "written"
            assert _written_at(ahead, ride, v["other_seq"]) == (p_early, o_early)
            assert retry["fate"] == "written" and retry["number"] > failed["number"]
            assert _written_at(retry, ride, v["seq"]) == (p_late, o_late)
            assert v["fault"] == spec
            for number in (failed["number"], ahead["number"], retry["number"]):
                assert f"#{number}" in v["story"]
            assert spec in v["story"]
            assert f"p{p_early}@{o_early}" in v["story"] and f"p{p_late}@{o_late}" in v["story"]


def test_lost_ack_duplicates_name_the_replaced_ack_and_the_retry_that_wrote_again(
    cli: Cli, kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("explain-lostack")
    fault = "lost-ack:every=7,ms=20"
    run = _produce(
        cli, kafka_bootstrap, topic, "--rides", "100", "-p", "3", "--fault", fault, *PIPELINED
    )
    log, spec = _log(run), run["faults"]["faults"][0]
    report = _check(cli, kafka_bootstrap, topic)
    dups = [v for v in report["violations"] if v["kind"] == "duplicate"]
    assert dups and all(v["duplicate_kind"] == "producer" for v in dups)
    for ride in sorted({v["ride_id"] for v in dups}):
        story = _explain(cli, kafka_bootstrap, topic, ride)
        told = [v for v in story["violations"] if v["kind"] == "duplicate"]
        assert [_evidence(v) for v in told] == [_evidence(v) for v in dups if v["ride_id"] == ride]
        for v in told:
            first, second = _evidence(v)
            replaced = log[v["requests"]["ack_replaced"]]
            again = log[v["requests"]["second_copy"]]
            assert replaced["fate"] == "ack_replaced" and replaced["fault"] == spec
            assert _written_at(replaced, ride, v["seq"]) == first
            assert again["number"] > replaced["number"] and _carried(again, ride, v["seq"])
            assert _written_at(again, ride, v["seq"]) == second
            assert f"#{replaced['number']}" in v["story"] and f"#{again['number']}" in v["story"]
            assert spec in v["story"]


def test_unkeyed_story_names_each_stage_partition_and_the_keyless_strategy(
    cli: Cli, kafka_bootstrap: str, new_topic: Callable[[str], str], tmp_path: Path
) -> None:
    topic = new_topic("explain-unkeyed")
    _produce(cli, kafka_bootstrap, topic, "--rides", "40", "-p", "6", "--unkeyed", "--seed", "3")
    history = tmp_path / "history.ndjson"
    report = _check(cli, kafka_bootstrap, topic, "--out", str(history))
    keying = [v for v in report["violations"] if v.get("cause") == "keying"]
    assert keying, "40 unkeyed rides over 6 partitions split none"
    read: dict[tuple[str, int], int] = {}
    for line in history.read_text().splitlines():
        obs = json.loads(line)
        read[(obs["ride_id"], obs["seq"])] = obs["partition"]
    for ride in sorted({v["ride_id"] for v in keying})[:3]:
        story = _explain(cli, kafka_bootstrap, topic, ride)
        assert story["evidence"] == "acks"
        placed = [s for s in story["steps"] if s["kind"] == "placed"]
        seen = {seq: s["partition"] for s in placed for seq in s["seqs"]}
        assert seen == {seq: read[(ride, seq)] for seq in range(1, 6)}
        assert all(
            "no key" in s["text"] and "random partition for each record" in s["text"]
            for s in placed
        )
        told = [v for v in story["violations"] if v["cause"] == "keying"]
        assert told and all("kafka-python" in v["story"] for v in told)


def test_bad_input_is_one_line_and_exit_2(
    cli: Cli, kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("explain-bad")
    _produce(cli, kafka_bootstrap, topic, "--rides", "5", "-p", "1")
    cases = [
        (["explain", "ride-99999", "-t", topic], "no ride ride-99999"),
        (["explain", "ride-00000", "-t", topic, "--run-id", "19990101-000000-dead"], "no events"),
        (["explain", "ride-00000", "-t", new_topic("explain-none")], "does not exist"),
    ]
    for args, needle in cases:
        res = cli(*args, "-b", kafka_bootstrap)
        lines = [ln for ln in res.err.splitlines() if ln.strip()]
        assert res.code == 2, res
        assert len(lines) == 1 and needle in lines[0], res
        assert "Traceback" not in res.err and res.out == ""
    table = cli("explain", "ride-00000", "-t", topic, "-b", kafka_bootstrap)
    assert table.code == 0 and "ride-00000" in table.out and "Story of ride-00000" in table.out


def test_the_retry_lesson_tells_one_violating_ride_under_its_table(
    cli: Cli, kafka_bootstrap: str
) -> None:
    res = cli("demo", "-b", kafka_bootstrap, "--fast", "-s", "retry")
    assert res.code == 0, res
    story = " ".join(res.out[res.out.index("Story of ride-") :].split())
    for part in ("request #", "REQUEST_TIMED_OUT", "the retry, request #"):
        assert part in story, story
