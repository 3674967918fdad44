"""Every promise check of the demo can say no. Each lesson is run on the real broker with its
cause taken away (no fault, no hot key, no growth, no second client, one consumer thread; the
keyed lesson without a key), so its trials come back without the effect its title promises,
and its own check must answer False. Then the demo command itself, with one lesson's cause
taken away, must say so and exit 1."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from ridectl.faults.spec import FaultSpec
from ridectl.run.flow import Trial
from ridectl.scenarios.context import DemoContext, Sizes, demo_context
from ridectl.scenarios.lessons import LESSONS

pytestmark = pytest.mark.kafka


def _without_cause(keyed: bool | None) -> Callable[..., Trial]:
    """A ``DemoContext.trial`` that runs the trial asked for without what makes its effect:
    no fault, keyed by ride (or, with ``keyed=False``, not keyed at all), no hot key, no
    growth, one producer, one consumer thread."""
    trial = DemoContext.trial

    def plain(
        self: DemoContext,
        label: str,
        topic: str,
        *,
        faults: Sequence[FaultSpec] = (),
        **kw: Any,
    ) -> Trial:
        kw.update(workers=1, key_by="ride", grow_to=None, second_client=None)
        kw.update(second_partitioner=None)
        if keyed is not None:
            kw["keyed"] = keyed
        return trial(self, label, topic, **kw)

    return plain


@pytest.fixture(scope="module")
def ctx(kafka_bootstrap: str) -> Iterator[DemoContext]:
    with demo_context(kafka_bootstrap, None, [], Sizes(rides=120, fault_rides=80)) as context:
        yield context


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.name for lesson in LESSONS])
def test_a_lesson_without_its_cause_is_not_as_promised(
    lesson: Any, ctx: DemoContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The keyed lesson promises order: what takes it away is the key.
    keyed = lesson.name != "keyed"
    monkeypatch.setattr(DemoContext, "trial", _without_cause(keyed))
    outcome = lesson.run(ctx)
    assert not outcome.promised, outcome.verdict
    for t in outcome.trials:
        # The trials did run and land whole; only the effect is missing.
        assert t.run.acked == t.run.sent > 0, t.label
        assert t.report.by_kind["lost"] == 0, t.label
        assert t.run.fault_stats is None or t.run.fault_stats.faults_injected_total == 0


def test_demo_exits_1_and_says_which_lesson_was_not_as_promised(
    cli: Callable[..., Any], kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The retry lesson's fault taken away in-process: its run is clean, so no reordering.
    monkeypatch.setattr(DemoContext, "trial", _without_cause(None))
    res = cli("demo", "-b", kafka_bootstrap, "--fast", "-s", "keyed", "-s", "retry")
    assert res.code == 1, res
    assert "✗ NOT as promised this time" in res.out
    assert "1 of 2 lessons showed what they promise" in res.out
    assert "Not this time: retry." in res.out
    assert "Traceback" not in res.err
