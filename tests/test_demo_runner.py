"""How the demo runs its lessons: overlapping lessons side by side, the others alone, every
outcome handed over in the demo's order (pure logic: the lessons here only record what ran
when, no broker)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from rich.console import Console

from ridectl.output.demo import render_intro
from ridectl.scenarios.context import concurrently
from ridectl.scenarios.lesson import Lesson, LessonOutcome
from ridectl.scenarios.running import LessonRunner


class Log:
    """What ran at the same time as what."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: set[str] = set()
        self.together: list[tuple[str, frozenset[str]]] = []
        self.most = 0

    def lesson(
        self,
        name: str,
        overlaps: bool,
        seconds: float = 0.02,
        started: threading.Event | None = None,
        until: threading.Event | None = None,
    ) -> Lesson:
        def run(_ctx: object) -> LessonOutcome:
            with self.lock:
                self.together.append((name, frozenset(self.running)))
                self.running.add(name)
                self.most = max(self.most, len(self.running))
            if started is not None:
                started.set()
            if until is not None:
                assert until.wait(10)
            time.sleep(seconds)
            with self.lock:
                self.running.discard(name)
            return LessonOutcome(promised=True, verdict=name)

        return Lesson(name, name, "", run, "", overlaps=overlaps)


def _run_all(lessons: list[Lesson], width: int) -> list[str]:
    runner = LessonRunner(lessons, lambda lesson: lesson.run(None), width)  # type: ignore[arg-type]
    return [runner.outcome(lesson).verdict for lesson in lessons]


def test_outcomes_come_in_order_and_alone_lessons_run_alone() -> None:
    log = Log()
    b_started = threading.Event()
    lessons = [
        log.lesson("a", True, until=b_started),  # a ends only once b has started beside it
        log.lesson("b", True, started=b_started),
        log.lesson("c", True),
        log.lesson("group", False),
        log.lesson("d", True),
    ]
    assert _run_all(lessons, width=2) == ["a", "b", "c", "group", "d"]
    assert log.most == 2
    seen = dict(log.together)
    assert seen["group"] == frozenset()
    # Overlapping lessons all ran before the lesson that runs alone, nothing beside it.
    assert [name for name, _ in log.together][-1] == "group"


def test_width_one_runs_each_lesson_when_asked_in_the_callers_thread() -> None:
    threads: list[str] = []

    def run(lesson: Lesson) -> LessonOutcome:
        threads.append(threading.current_thread().name)
        return LessonOutcome(promised=True, verdict=lesson.name)

    lessons = [Lesson(n, n, "", lambda _c: LessonOutcome(True, ""), "", True) for n in "xyz"]
    runner = LessonRunner(lessons, run, width=1)
    assert threads == []  # nothing starts before it is asked for (--pause waits for Enter)
    assert [runner.outcome(lesson).verdict for lesson in lessons] == ["x", "y", "z"]
    assert set(threads) == {threading.current_thread().name}


def test_a_failing_lesson_raises_in_its_turn_after_the_ones_before() -> None:
    shown: list[str] = []

    def run(lesson: Lesson) -> LessonOutcome:
        if lesson.name == "b":
            raise RuntimeError("b broke")
        return LessonOutcome(promised=True, verdict=lesson.name)

    lessons = [Lesson(n, n, "", lambda _c: LessonOutcome(True, ""), "", True) for n in "abc"]
    runner = LessonRunner(lessons, run, width=3)
    with pytest.raises(RuntimeError, match="b broke"):
        for lesson in lessons:
            shown.append(runner.outcome(lesson).verdict)
    runner.close()
    assert shown == ["a"]


def test_concurrently_keeps_order_and_raises_the_first_failure_after_all_ended() -> None:
    ended: list[int] = []

    def job(i: int, fail: bool = False) -> Callable[[], int]:
        def run() -> int:
            time.sleep(0.01 * (3 - i))
            ended.append(i)
            if fail:
                raise ValueError(f"job {i}")
            return i

        return run

    assert concurrently([job(0), job(1), job(2)]) == [0, 1, 2]
    ended.clear()
    with pytest.raises(ValueError, match="job 0"):
        concurrently([job(0, fail=True), job(1, fail=True), job(2)])
    assert sorted(ended) == [0, 1, 2]


def test_a_long_lesson_title_is_shown_whole_at_80_columns() -> None:
    console = Console(width=80, record=True, color_system=None)
    title = "Without a key, a ride's events scatter (each client its own way)"
    lesson = Lesson("unkeyed", title, "set-up", lambda _c: LessonOutcome(True, ""), "")
    render_intro(console, lesson, 1, 15)
    text = console.export_text()
    assert "…" not in text
    assert " ".join(text.split()).count(f"Lesson 1/15: {title}") == 1
