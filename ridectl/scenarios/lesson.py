"""What a lesson of ``ridectl demo`` is, and the failure recipe several lessons share.

Kept apart from the lessons themselves so that lesson modules (``lessons``, ``client_lessons``,
``consumer_lessons``) can build on it without importing one another."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ridectl.clients.setting_names import SettingName
from ridectl.run.flow import Trial
from ridectl.scenarios.context import DemoContext

#: Producer settings under which a retried request can land after a later one: several
#: requests in flight, retries on, idempotence off, and one record per batch so that each
#: record travels in a request of its own (kafka-python drains one batch per partition into
#: a request). acks=all keeps the broker's acknowledgements meaningful.
GOTCHA: dict[str, str] = {
    SettingName.ENABLE_IDEMPOTENCE: "false",
    SettingName.MAX_IN_FLIGHT: "5",
    SettingName.RETRIES: "1000000",
    SettingName.ACKS: "all",
    SettingName.BATCH_SIZE: "1",
    SettingName.LINGER_MS: "0",
    SettingName.RETRY_BACKOFF_MS: "0",
}
#: Every 7th produce request fails with a retriable error before reaching the broker. The
#: error is answered only once 4 more requests have arrived (the client's pipeline is then
#: full behind it), and 7 > 5 in flight keeps a single failure outstanding at a time: the
#: same seed gives the same request stream, the same retries and the same reordered rides.
GOTCHA_FAULT = "error:every=7,hold=4"


@dataclass
class LessonOutcome:
    #: Did the run show what the lesson's title promises?
    promised: bool
    #: One line: what was measured, in figures.
    verdict: str
    trials: list[Trial] = field(default_factory=list)
    #: the trial whose table and timeline are shown
    focus: Trial | None = None
    #: a comparison of the trials (throughput, latency, violations), when it matters
    compare: bool = False
    #: show per-partition load of each trial
    loads: bool = False
    #: tell the story of one violating ride of this trial under the tables
    explain: Trial | None = None


@dataclass(frozen=True)
class Lesson:
    name: str
    title: str
    #: what is about to happen, and why
    setup: str
    run: Callable[[DemoContext], LessonOutcome]
    #: one plain paragraph to remember
    takeaway: str
    #: may run while other lessons run (what it shows does not hang on the machine's load or
    #: timing); a lesson that does not say so runs alone (see ``ridectl.scenarios.running``)
    overlaps: bool = False
