"""The lessons of ``ridectl demo``. Each one runs on the real broker, with its own topic, and
checks that what happened is what its title says (``LessonOutcome.promised``); the demo
reports a lesson whose outcome did not hold instead of pretending it did."""

from __future__ import annotations

from collections.abc import Mapping

from ridectl.clients.setting_names import SettingName
from ridectl.faults.spec import parse_fault_spec
from ridectl.judge.kinds import ViolationKind
from ridectl.run.flow import Trial
from ridectl.scenarios.client_lessons import (
    IDEMPOTENCE_FIVE,
    LIBRDKAFKA_DEFAULTS,
    MIXED_CLIENTS,
    UNKEYED,
)
from ridectl.scenarios.context import DemoContext
from ridectl.scenarios.lesson import GOTCHA, GOTCHA_FAULT, Lesson, LessonOutcome

__all__ = ["GOTCHA", "GOTCHA_FAULT", "LESSONS", "Lesson", "LessonOutcome"]


def _violations(t: Trial) -> int:
    return len(t.report.violations)


def _keyed(ctx: DemoContext) -> LessonOutcome:
    t = ctx.trial("keyed", ctx.topic("keyed"), rides=ctx.sizes.rides, keyed=True)
    return LessonOutcome(
        promised=t.report.clean and t.report.rides_split == 0,
        verdict=f"{t.report.violating_rides} of {t.report.rides} rides broke order; "
        f"{t.report.rides_split} rides touched more than one partition.",
        trials=[t],
        focus=t,
        loads=True,
    )


def _gotcha(
    ctx: DemoContext, label: str, topic: str, producer: Mapping[str, str] | None = None
) -> Trial:
    settings = {**GOTCHA, **(producer or {})}
    return ctx.trial(
        label,
        topic,
        rides=ctx.sizes.fault_rides,
        partitions=3,
        producer=settings,
        faults=[parse_fault_spec(GOTCHA_FAULT)],
    )


def _retry(ctx: DemoContext) -> LessonOutcome:
    t = _gotcha(ctx, "5 in flight, not idempotent", ctx.topic("retry"))
    ooo = t.report.by_kind[ViolationKind.OUT_OF_ORDER]
    return LessonOutcome(
        promised=ooo > 0 and t.report.rides_split == 0,
        verdict=f"{ooo} events out of order in {t.report.violating_rides} rides, although "
        f"every ride stayed on one partition ({t.report.rides_split} split); "
        f"{t.run.batch_retries} batch retries.",
        trials=[t],
        focus=t,
        explain=t,
    )


def _fixes(ctx: DemoContext) -> LessonOutcome:
    base_topic, one_topic, idem_topic = (
        ctx.topic("fixes", s) for s in ("base", "inflight1", "idempotent")
    )
    base, one, idem = ctx.at_once(
        lambda: _gotcha(ctx, "5 in flight, not idempotent", base_topic),
        lambda: _gotcha(
            ctx, "1 in flight, not idempotent", one_topic, {SettingName.MAX_IN_FLIGHT: "1"}
        ),
        lambda: _gotcha(
            ctx, "idempotent, 5 in flight", idem_topic, {SettingName.ENABLE_IDEMPOTENCE: "true"}
        ),
    )
    fixed = [one, idem]
    return LessonOutcome(
        promised=_violations(base) > 0 and all(t.report.clean for t in fixed),
        verdict=", ".join(f"{t.label}: {_violations(t)} violations" for t in [base, *fixed]) + ".",
        trials=[base, *fixed],
        compare=True,
        explain=base,
    )


def _hot_keys(ctx: DemoContext) -> LessonOutcome:
    rides = ctx.sizes.rides
    spread_topic, ride_topic, zone_topic = (
        ctx.topic("hot", s) for s in ("unkeyed", "ride", "zone")
    )
    spread, by_ride, by_zone = ctx.at_once(
        lambda: ctx.trial("unkeyed", spread_topic, rides=rides, keyed=False),
        lambda: ctx.trial("keyed by ride_id", ride_topic, rides=rides),
        lambda: ctx.trial(
            "keyed by pickup zone (60% airport)",
            zone_topic,
            rides=rides,
            key_by="zone",
            hot_share=0.6,
        ),
    )

    def busiest(t: Trial) -> float:
        # Measured on the records read back from the topic: where Kafka holds them.
        counts = t.report.records_per_partition
        return max(counts.values(), default=0) / max(1, sum(counts.values()))

    return LessonOutcome(
        promised=busiest(by_zone) > 2 * busiest(by_ride) and by_zone.report.clean,
        verdict=f"busiest partition: {busiest(spread):.0%} of events unkeyed, "
        f"{busiest(by_ride):.0%} keyed by ride, {busiest(by_zone):.0%} keyed by zone.",
        trials=[spread, by_ride, by_zone],
        compare=True,
        loads=True,
    )


def _grow(ctx: DemoContext) -> LessonOutcome:
    t = ctx.trial(
        "3 -> 6 partitions mid-run",
        ctx.topic("grow"),
        rides=ctx.sizes.rides,
        partitions=3,
        grow_to=6,
    )
    return LessonOutcome(
        promised=t.report.rides_split > 0,
        verdict=f"{t.report.rides_split} rides straddled the change and were split across "
        f"partitions; {t.report.violating_rides} of them were read out of order.",
        trials=[t],
        focus=t,
        loads=True,
    )


def _threads(ctx: DemoContext) -> LessonOutcome:
    t = ctx.trial(
        "keyed, 4 consumer threads",
        ctx.topic("threads"),
        rides=ctx.sizes.rides,
        workers=4,
    )
    ooo = t.report.by_kind[ViolationKind.OUT_OF_ORDER]
    return LessonOutcome(
        promised=ooo > 0 and t.report.rides_split == 0,
        verdict=f"{ooo} events processed out of order in {t.report.violating_rides} rides, "
        f"with every ride on a single partition ({t.report.rides_split} split).",
        trials=[t],
        focus=t,
    )


LESSONS: list[Lesson] = [
    UNKEYED,
    Lesson(
        "keyed",
        "Keyed by ride_id, each ride keeps its order",
        "The same run, but every event carries its ride_id as the key. The client hashes the "
        "key (murmur2, like the Java client) to pick the partition, so a ride's five events "
        "share one partition and are read in the order they were written.",
        _keyed,
        "Choose the key after the thing whose order matters (here the ride). Different "
        "rides still run in parallel on different partitions; only each ride is sequential.",
        overlaps=True,
    ),
    Lesson(
        "retry",
        "The retry gotcha: a retried request lands after a later one",
        "Keys are right, but now the broker seems to fail: the fault proxy answers every 7th "
        "produce request with a retriable error (REQUEST_TIMED_OUT) without writing it. The "
        "producer has idempotence off, up to 5 requests in flight, and one record per "
        "request, so the records sent after the failed one are written before its retry.",
        _retry,
        "Retries plus several requests in flight can reorder a single partition. Either the "
        "producer sends one request at a time per connection, or it is idempotent so the "
        "broker can refuse out-of-sequence writes.",
        overlaps=True,
    ),
    Lesson(
        "fixes",
        "The fixes: one request in flight, or idempotence",
        "The same failures three times: the broken settings again, then "
        "max.in.flight.requests.per.connection=1, then enable.idempotence=true. "
        "Watch what each fix costs in throughput and acknowledgement latency.",
        _fixes,
        "Both fixes keep order. One in flight serialises every request on the connection; "
        "idempotence keeps order per partition with sequence numbers (kafka-python goes "
        "further and keeps one batch per partition in flight). Idempotence also removes the "
        "duplicates a lost acknowledgement would cause, so it is the better default.",
        overlaps=True,
    ),
    IDEMPOTENCE_FIVE,
    LIBRDKAFKA_DEFAULTS,
    Lesson(
        "hot-keys",
        "Order is not free: hot keys pile onto one partition",
        "Three runs of the same rides: unkeyed, keyed by ride_id, and keyed by pickup zone "
        "where 60% of rides start at the airport. A key decides the partition, so a popular "
        "key makes one partition carry most of the traffic.",
        _hot_keys,
        "Key by the smallest thing whose order matters. A coarse key keeps order too, but "
        "one partition (and the one consumer reading it) ends up doing most of the work.",
        overlaps=True,
    ),
    Lesson(
        "grow",
        "Adding partitions remaps keys",
        "A keyed run on 3 partitions; halfway through, the topic grows to 6. The partition "
        "of a key is hash mod partition count, so many rides send their later events to a "
        "different partition than their earlier ones.",
        _grow,
        "Plan the partition count up front for keyed topics. Growing a topic breaks the "
        "key-to-partition mapping for rides in flight; drain or pause producers first, or "
        "create a new topic and migrate.",
        overlaps=True,
    ),
    MIXED_CLIENTS,
    Lesson(
        "consumer-threads",
        "A thread pool in the consumer breaks order again",
        "Keyed and in order on the broker, but the consumer hands each record to one of 4 "
        "threads as it arrives. Processing takes a variable time, so a slow event of a ride "
        "is overtaken by the next event of the same ride on another thread.",
        _threads,
        "Order is kept only if each key is processed sequentially. Parallelise by partition, "
        "or hash the key to a fixed worker, never 'next free thread'.",
        overlaps=True,
    ),
]
