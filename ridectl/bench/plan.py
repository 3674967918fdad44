"""What the benchmark measures: the producing strategies compared and the run sizes."""

from __future__ import annotations

from dataclasses import dataclass

PARTITIONS = 6

SEED = 7

#: Settings every producer run shares, whatever the strategy (Java's linger.ms default is
#: 5 since Kafka 4.0, kafka-python's is 0: both are told 0).
COMMON_PRODUCER = {"acks": "all", "linger.ms": "0", "batch.size": "16384"}


@dataclass(frozen=True)
class Strategy:
    """One way of producing that decides whether order holds."""

    name: str
    title: str
    keyed: bool
    settings: dict[str, str]

    def producer_settings(self) -> dict[str, str]:
        return {**COMMON_PRODUCER, **self.settings}


STRATEGIES: tuple[Strategy, ...] = (
    Strategy(
        "unkeyed",
        "unkeyed (idempotent, in-flight 5)",
        False,
        {"enable.idempotence": "true", "max.in.flight.requests.per.connection": "5"},
    ),
    Strategy(
        "keyed-inflight5",
        "keyed, in-flight 5, idempotence off",
        True,
        {"enable.idempotence": "false", "max.in.flight.requests.per.connection": "5"},
    ),
    Strategy(
        "keyed-inflight1",
        "keyed, in-flight 1",
        True,
        {"enable.idempotence": "false", "max.in.flight.requests.per.connection": "1"},
    ),
    Strategy(
        "keyed-idempotent",
        "keyed, idempotent",
        True,
        {"enable.idempotence": "true", "max.in.flight.requests.per.connection": "5"},
    ),
)


@dataclass(frozen=True)
class Size:
    name: str
    #: records per producer run (a multiple of 5: whole ride lifecycles)
    records: int
    #: events of the run read back by the consume-and-check section (a multiple of 5): long
    #: enough that the read, not the client's start, decides the figure
    consume_events: int
    #: events of the generated histories the checker is timed on, ascending
    history_events: tuple[int, ...]
    repeat: int
    #: also time the whole ``ridectl demo --fast`` (not only its first lesson)
    whole_demo: bool


SIZES: dict[str, Size] = {
    "small": Size("small", 1_000, 2_000, (5_000, 20_000, 60_000), 1, False),
    # 10M events: one run per layout (a run slower than SLOW_RUN_S is not repeated), about two
    # minutes of the full bench with the generation of its files.
    "full": Size("full", 30_000, 300_000, (100_000, 1_000_000, 3_000_000, 10_000_000), 3, True),
}


#: A checker run slower than this is not repeated (its size is then one run, said so).
SLOW_RUN_S = 20.0

#: The lessons ``demo --fast`` had when its target (no slower than 19 s on a warm broker) was
#: set; the demo has more now, each timed in the whole run.
FIRST_ROUND_LESSONS = (
    "unkeyed",
    "keyed",
    "retry",
    "fixes",
    "hot-keys",
    "grow",
    "mixed-clients",
    "consumer-threads",
)
