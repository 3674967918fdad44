"""What the benchmark measures: the producing strategies compared and the run sizes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from ridectl.clients.base import ClientName

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


class Section(StrEnum):
    """The parts of the benchmark, in the order they run (``--section`` picks some)."""

    PRODUCER = "producer"
    CONSUME_CHECK = "consume-check"
    CHECKER = "checker"
    FIRST_LESSON = "first-lesson"
    COLD_START = "cold-start"

    @property
    def key(self) -> str:
        """The section's key in the results (``results.json``)."""
        return self.value.replace("-", "_")


@dataclass(frozen=True)
class Size:
    name: str
    #: records per producer run, per client (multiples of 5: whole ride lifecycles); a
    #: faster client gets more, so that every timed run lasts about as long
    records: Mapping[ClientName, int]
    #: events of the run read back by the consume-and-check section (a multiple of 5): long
    #: enough that the read, not the client's start, decides the figure
    consume_events: int
    #: events of the generated histories the checker is timed on, ascending
    history_events: tuple[int, ...]
    #: runs per measurement (the checker's sizes, the first lesson)
    repeat: int
    #: repetitions of each pair of ridectl and a bare client (producer runs, consume-and-check
    #: reads): a pair's ratio is decided by a second or two of a shared 2-core machine, where
    #: single ratios of one pair range from about 0.5x to 1.5x, so it is repeated more
    pair_repeat: int
    #: also time the whole ``ridectl demo --fast`` (not only its first lesson)
    whole_demo: bool


def _per_client(kafka_python: int, java: int, librdkafka: int) -> Mapping[ClientName, int]:
    return {
        ClientName.KAFKA_PYTHON: kafka_python,
        ClientName.JAVA: java,
        ClientName.LIBRDKAFKA: librdkafka,
    }


#: The full bench's producer runs: kafka-python makes about 20,000-30,000 records/s here, the
#: Java client about 200,000 and librdkafka 300,000-400,000, so a timed run lasts 0.4-1.5 s.
#: (The Java client's run stays within what it may hold before its clock starts,
#: ``produce_loop.STAGE_BUDGET_BYTES``, like the bare loop's records in its heap.)
PRODUCER_RECORDS_FULL = _per_client(30_000, 150_000, 150_000)
PAIR_REPEAT_FULL = 9

SIZES: dict[str, Size] = {
    "small": Size(
        "small", _per_client(1_000, 1_000, 1_000), 2_000, (5_000, 20_000, 60_000), 1, 1, False
    ),
    # 10M events: one run per layout (a run slower than SLOW_RUN_S is not repeated), about two
    # minutes of the full bench with the generation of its files.
    "full": Size(
        "full",
        PRODUCER_RECORDS_FULL,
        300_000,
        (100_000, 1_000_000, 3_000_000, 10_000_000),
        3,
        PAIR_REPEAT_FULL,
        True,
    ),
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
