"""The consumer-side lessons of the demo (groups, commits, rebalances, transactions, timeout
gaps) can say no too. Each runs on the real broker with its cause taken away in-process, and
its own promise check must answer False:

- crash-before-commit: the member leaves cleanly (SIGTERM: it commits what it processed)
  instead of being killed, so nothing is processed twice;
- auto-commit: the member processes each record before its next poll (no hand-off to a
  thread), so its commits never run ahead of its work and nothing is skipped;
- transactions: no transaction is aborted, so read_uncommitted reads no aborted event;
- rebalance: both runs use the cooperative assignor, so the "eager" run does not give up all
  its partitions;
- timeout-gaps: the held answer is held 1 ms instead of 4 s, so nothing times out.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ridectl.scenarios import consumer_lessons, gap_lessons, transaction_lessons
from ridectl.scenarios.catalogue import LESSONS
from ridectl.scenarios.children.group_config import Assignor
from ridectl.scenarios.children.transactions import TransactionalOptions
from ridectl.scenarios.context import DemoContext, Sizes, demo_context
from ridectl.scenarios.group_run import MemberProcess
from ridectl.scenarios.lesson import Lesson

pytestmark = pytest.mark.kafka

BY_NAME = {lesson.name: lesson for lesson in LESSONS}


@pytest.fixture(scope="module")
def ctx(kafka_bootstrap: str) -> Iterator[DemoContext]:
    with demo_context(kafka_bootstrap, None, [], Sizes.pick(fast=True)) as context:
        yield context


def _leave_cleanly(self: MemberProcess) -> None:
    self.killed_ns = time.monotonic_ns()
    self.stop()


def _no_cause(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if name == "crash-before-commit":
        monkeypatch.setattr(MemberProcess, "kill", _leave_cleanly)
    elif name == "auto-commit":
        config = consumer_lessons.member_config

        def in_the_poll_loop(*args: Any, **changes: Any) -> Any:
            return config(*args, **{**changes, "handoff": False})

        monkeypatch.setattr(consumer_lessons, "member_config", in_the_poll_loop)
        # The lesson waits for commits to run ahead of the work to time its kill; without a
        # hand-off they never do, so the kill comes at once.
        monkeypatch.setattr(consumer_lessons, "_ahead", lambda _member: 1_000)
    elif name == "transactions":
        monkeypatch.setattr(
            transaction_lessons,
            "TransactionalOptions",
            functools.partial(TransactionalOptions, abort_share=0.0),
        )
    elif name == "rebalance":
        run = consumer_lessons._rebalance_run

        def cooperative(ctx: DemoContext, assignor: Assignor) -> Any:
            if assignor is not Assignor.COOPERATIVE_STICKY:
                # The run's topic is named after its assignor: another tag keeps the two
                # cooperative runs on topics (and groups) of their own.
                ctx = dataclasses.replace(ctx, tag=ctx.tag + "e", topics=ctx.topics)
            return run(ctx, Assignor.COOPERATIVE_STICKY)

        monkeypatch.setattr(consumer_lessons, "_rebalance_run", cooperative)
    elif name == "timeout-gaps":
        monkeypatch.setattr(gap_lessons, "TIMEOUT_FAULT", "delay:after=10,first=1,ms=1")
    else:  # pragma: no cover - a new consumer lesson needs its own way to go without its cause
        pytest.fail(f"no way to take away the cause of {name}")


@pytest.mark.parametrize(
    "name", ["crash-before-commit", "auto-commit", "transactions", "rebalance", "timeout-gaps"]
)
def test_a_consumer_lesson_without_its_cause_is_not_as_promised(
    name: str, ctx: DemoContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    lesson: Lesson = BY_NAME[name]
    _no_cause(name, monkeypatch)
    outcome = lesson.run(ctx)
    print(f"\n{name} without its cause: {outcome.verdict}", flush=True)
    assert not outcome.promised, outcome.verdict
    for t in outcome.trials:
        assert t.report.by_kind["lost"] == 0, t.label


def test_every_lesson_of_the_demo_is_shown_saying_no() -> None:
    """The producer lessons are in test_lesson_promises; these are the rest."""
    from ridectl.scenarios.lessons import LESSONS as PRODUCER

    covered = {lesson.name for lesson in PRODUCER} | {
        "crash-before-commit", "auto-commit", "transactions", "rebalance", "timeout-gaps",
    }  # fmt: skip
    assert {lesson.name for lesson in LESSONS} == covered
