"""Every lesson of ``ridectl demo``, in the order the demo tells them.

The producer's side first (keys, retries, idempotence, the clients, partitions; ``lessons`` and
``client_lessons``), then the consumer's side (groups, commits, rebalances, transactions, and
gaps under idempotence; ``consumer_lessons`` and ``gap_lessons``). A lesson joins the demo by
being listed in its module's list; a new lesson module joins here."""

from __future__ import annotations

from ridectl.scenarios.consumer_lessons import CONSUMER_LESSONS
from ridectl.scenarios.lesson import Lesson
from ridectl.scenarios.lessons import LESSONS as PRODUCER_LESSONS

LESSONS: list[Lesson] = [*PRODUCER_LESSONS, *CONSUMER_LESSONS]

__all__ = ["LESSONS", "Lesson"]
