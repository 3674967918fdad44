"""What every consumer lesson's group shares: the topic's partitions, how long a group may
take to settle, the members' heartbeat and the shortest session the broker allows, the
members' configuration, and producing and judging a lesson's rides."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ridectl.clients.admin import broker_setting
from ridectl.errors import RidectlError
from ridectl.judge.history import History
from ridectl.run.flow import Trial, judge, produce
from ridectl.run.options import ProduceOptions, ProduceResult
from ridectl.scenarios.children.group_config import MemberConfig
from ridectl.scenarios.context import DemoContext

#: Partitions of every consumer-lesson topic: two members get two each.
PARTITIONS = 4
#: How long the group may take to settle, drain, or take over a dead member's partitions.
SETTLE_S = 60.0
#: Members heartbeat this often, so a join or a departure reaches the rest of the group within
#: a fifth of a second (kafka-python's default: every 3 s).
HEARTBEAT_MS = 200
#: The shortest session the lessons ask for, even of a broker that allows less.
SESSION_FLOOR_MS = 1000
#: Kafka's default ``group.min.session.timeout.ms``, for a broker that does not tell its own.
KAFKA_MIN_SESSION_MS = 6000


@dataclass(frozen=True)
class Session:
    """The session timeout of the members that get killed: a dead member's partitions move
    to the survivor only once it ran out."""

    timeout_ms: int
    #: why this figure, in words for the lesson's verdict
    why: str

    @property
    def heartbeat_ms(self) -> int:
        return min(HEARTBEAT_MS, self.timeout_ms // 5)

    def describe(self) -> str:
        return f"session timeout {self.timeout_ms / 1000:g}s ({self.why})"


def shortest_session(ctx: DemoContext) -> Session:
    """The shortest session the broker allows (its ``group.min.session.timeout.ms``), never
    under ``SESSION_FLOOR_MS``; Kafka's default floor when the broker does not say."""
    value = broker_setting(ctx.settings, "group.min.session.timeout.ms")
    if value is None or not value.isdigit():
        return Session(KAFKA_MIN_SESSION_MS, "Kafka's default minimum; the broker did not say")
    allowed = int(value)
    if allowed < SESSION_FLOOR_MS:
        return Session(SESSION_FLOOR_MS, f"the broker allows {allowed} ms; 1 s is ours")
    return Session(allowed, "the shortest the broker allows")


def rides_per_run(ctx: DemoContext) -> int:
    """Rides per run of a consumer lesson: the members process every record with a pause of
    their own, so the full demo gets a few more rides than the fast one, not ten times as
    many."""
    return max(60, min(200, ctx.sizes.rides // 5))


def member_config(ctx: DemoContext, topic: str, **changes: object) -> MemberConfig:
    cfg = MemberConfig(
        bootstrap=ctx.settings.bootstrap,
        topic=topic,
        group=f"{topic}-group",
        journal=Path("unused.ndjson"),  # each member gets its own
        name="unused",
        heartbeat_ms=HEARTBEAT_MS,
        extra=tuple(f"{k}={v}" for k, v in ctx.settings.values.items()),
    )
    return replace(cfg, **changes)  # type: ignore[arg-type]


def produce_rides(ctx: DemoContext, topic: str, rides: int) -> ProduceResult:
    run = produce(ProduceOptions(topic=topic, rides=rides, settings=ctx.settings, seed=ctx.seed))
    if run.aborted:
        raise RidectlError(run.aborted)
    return run


def judged_trial(label: str, run: ProduceResult, history: History) -> Trial:
    return Trial(label, run, history, judge(history))
