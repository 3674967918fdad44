"""Every lesson of the classroom demo, run on the real broker: each must show what its title
promises (the outcome is checked from the figures, not from the wording)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ridectl.scenarios.context import DemoContext, Sizes, demo_context
from ridectl.scenarios.lessons import LESSONS

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def ctx(kafka_bootstrap: str) -> Iterator[DemoContext]:
    with demo_context(kafka_bootstrap, None, [], Sizes.pick(fast=True)) as context:
        yield context


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.name for lesson in LESSONS])
def test_lesson_shows_what_it_promises(lesson: Any, ctx: DemoContext) -> None:
    outcome = lesson.run(ctx)
    assert outcome.promised, outcome.verdict
    trials = {t.label: t for t in outcome.trials}
    # Independent checks of the figures behind each promise.
    if lesson.name in ("unkeyed", "retry", "consumer-threads"):
        assert outcome.focus is not None
        assert outcome.focus.report.by_kind["out_of_order"] > 0
    if lesson.name in ("retry", "consumer-threads", "keyed"):
        assert outcome.focus is not None
        assert outcome.focus.report.rides_split == 0
    if lesson.name == "fixes":
        assert trials["5 in flight, not idempotent"].report.by_kind["out_of_order"] > 0
        for label in ("1 in flight, not idempotent", "idempotent, 5 in flight"):
            assert trials[label].report.clean, label
            assert trials[label].run.fault_stats is not None
            assert trials[label].run.fault_stats.faults_injected_total > 0
    if lesson.name == "hot-keys":
        # The skew is measured on the records read back; they are where the broker said.
        for t in outcome.trials:
            assert t.report.records_per_partition == dict(sorted(t.run.per_partition.items()))
        zone = trials["keyed by pickup zone (60% airport)"].report.records_per_partition
        assert max(zone.values()) >= 0.5 * sum(zone.values())
    if lesson.name in ("grow", "mixed-clients"):
        assert outcome.focus is not None
        assert outcome.focus.report.rides_split > 0
    for t in outcome.trials:
        # Nothing the broker acknowledged went missing in any lesson.
        assert t.report.by_kind["lost"] == 0
        assert t.run.acked == t.run.sent


def test_demo_command_lists_and_refuses_unknown_lessons(cli: Callable[..., Any]) -> None:
    from ridectl.scenarios.catalogue import LESSONS as ALL

    res = cli("demo", "--list")
    assert res.code == 0
    assert len(ALL) > len(LESSONS)
    for lesson in ALL:
        assert lesson.name in res.out
    res = cli("demo", "-s", "nope")
    assert res.code == 2
    assert "unknown scenario 'nope'" in res.err and "unkeyed" in res.err
    assert len(res.err.strip().splitlines()) == 1


def test_demo_command_runs_a_lesson_and_exports_svg(
    cli: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path
) -> None:
    svg = tmp_path / "keyed.svg"
    res = cli("demo", "-b", kafka_bootstrap, "--fast", "-s", "keyed", "--export-svg", str(svg))
    assert res.code == 0, res
    assert "1 of 1 lessons showed what they promise" in res.out
    text = svg.read_text()
    assert text.startswith("<svg") and "takeaway" in text


def test_matrix_compares_settings_under_faults(
    cli: Callable[..., Any], kafka_bootstrap: str
) -> None:
    res = cli(
        "matrix", "-b", kafka_bootstrap, "--keying", "keyed", "--max-in-flight", "5",
        "--idempotence", "off,on", "--fault", "error:every=7,hold=4", "--rides", "150",
        "--format", "json",
    )  # fmt: skip
    assert res.code == 0, res
    rows = {r["idempotence"]: r for r in json.loads(res.out)["rows"]}
    assert rows[False]["out_of_order"] > 0
    assert rows[True]["out_of_order"] == 0 and rows[True]["duplicate"] == 0
    assert all(r["faults_injected"] > 0 and r["events_acked"] == 750 for r in rows.values())


def test_demo_runs_lessons_side_by_side_in_order_without_client_chatter(
    cli: Callable[..., Any], kafka_bootstrap: str
) -> None:
    # timeout-gaps makes librdkafka time out its requests in flight, which it logs; those
    # lines are the client's ordinary chatter and stay off the terminal unless asked for.
    res = cli("demo", "-b", kafka_bootstrap, "--fast", "-s", "timeout-gaps", "-s", "keyed")
    assert res.code == 0, res
    assert "2 of 2 lessons showed what they promise" in res.out
    # Shown in the demo's order (keyed comes first), whichever ended first.
    first, second = res.out.index("Lesson 1/2"), res.out.index("Lesson 2/2")
    assert first < res.out.index("Keyed by ride_id") < second < res.out.index("completeness")
    assert "rdkafka#producer" not in res.err and "REQTMOUT" not in res.err, res.err
