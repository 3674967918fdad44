"""The classroom demo: lessons that each run on the real broker and judge their own outcome."""

from __future__ import annotations

from ridectl.demo.lessons import LESSONS, Lesson, LessonOutcome, lesson_names
from ridectl.demo.runner import DemoContext, Sizes

__all__ = ["LESSONS", "DemoContext", "Lesson", "LessonOutcome", "Sizes", "lesson_names"]
