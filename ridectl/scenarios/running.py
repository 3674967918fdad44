"""Running the demo's lessons: some of them side by side, every one shown in its turn.

A lesson spends most of its time waiting (a JVM starting, a retry's back-off, a paced
producer, a consumer's poll), so lessons that allow it (``Lesson.overlaps``) run a few at a
time while the ones before them are being shown. The others run alone: nothing else runs
while they do, and they start once every overlapping lesson has ended (the consumer-group
lessons, whose timing is part of what they show, keep the machine to themselves).

The order of the story never changes: :meth:`LessonRunner.outcome` is asked for each lesson in
the demo's order and returns once that lesson has ended."""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait

from ridectl.scenarios.context import in_background
from ridectl.scenarios.lesson import Lesson, LessonOutcome

#: Lessons running at once (each may run several experiments at once itself).
WIDTH = 2


class LessonRunner:
    """Runs ``lessons`` with ``run``, up to ``width`` overlapping lessons at a time
    (``width`` 1: each lesson runs when its outcome is asked for, in the caller's thread)."""

    def __init__(
        self,
        lessons: Sequence[Lesson],
        run: Callable[[Lesson], LessonOutcome],
        width: int = WIDTH,
    ) -> None:
        self._run = run
        self._width = width
        self._queue = deque(lesson for lesson in lessons if lesson.overlaps and width > 1)
        self._started: dict[str, Future[LessonOutcome]] = {}
        self._top_up()

    def outcome(self, lesson: Lesson) -> LessonOutcome:
        """The outcome of ``lesson`` (ask in the demo's order); waits for it to end."""
        if lesson.name not in self._started and lesson not in self._queue:
            # Runs alone: after every overlapping lesson, in this thread.
            self._drain()
            return self._run(lesson)
        while lesson.name not in self._started:
            self._wait_for_one()
        future = self._started[lesson.name]
        while not future.done():
            self._wait_for_one()
        return future.result()

    def close(self) -> None:
        """Start nothing more, and wait for the lessons already running (their topics are
        about to be deleted)."""
        self._queue.clear()
        wait(list(self._started.values()))

    def _running(self) -> list[Future[LessonOutcome]]:
        return [f for f in self._started.values() if not f.done()]

    def _top_up(self) -> None:
        while self._queue and len(self._running()) < self._width:
            lesson = self._queue.popleft()
            self._started[lesson.name] = in_background(
                functools.partial(self._run, lesson), name=f"ridectl-lesson-{lesson.name}"
            )

    def _wait_for_one(self) -> None:
        wait(self._running(), return_when=FIRST_COMPLETED)
        self._top_up()

    def _drain(self) -> None:
        while self._queue or self._running():
            self._wait_for_one()
