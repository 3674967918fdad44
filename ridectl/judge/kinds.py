"""The vocabulary of a verdict: the kinds of violation, their sub-kinds, and what each one means
for the ride in plain words.

A new anomaly adds its member to ``ViolationKind`` (the order of the members is the order
reports list them in) and, when it names an event that was never processed, its text to
``ABSENT_CONSEQUENCES``-like tables here; its rule lives in ``ridectl.judge.detectors``.
"""

from __future__ import annotations

from enum import StrEnum

from ridectl.judge.lifecycle import STAGE_BY_SEQ


class ViolationKind(StrEnum):
    OUT_OF_ORDER = "out_of_order"
    DUPLICATE = "duplicate"
    MISSING = "missing"
    LOST = "lost"
    GAP = "gap"
    SKIPPED = "skipped"
    ABORTED_READ = "aborted_read"


class OrderCause(StrEnum):
    """Where an out-of-order pair went wrong."""

    #: The two events sit on different partitions: the choice of key split the ride.
    KEYING = "keying"
    #: One partition holds the later stage at a lower offset: the log itself is out of order.
    LOG = "log"
    #: The log holds them in lifecycle order; the consumer processed them the other way round.
    PROCESSING = "processing"


class DuplicateKind(StrEnum):
    #: The copies sit at different (partition, offset): the producer wrote the event twice.
    PRODUCER = "producer"
    #: The same (partition, offset) was processed twice: the consumer side delivered it again.
    REDELIVERY = "redelivery"


#: Plain-words effect of processing event ``a`` before event ``b`` (keyed ``(a, b)``, a > b).
CONSEQUENCES: dict[tuple[int, int], str] = {
    (2, 1): "a driver was sent to a ride nobody had requested yet",
    (3, 1): "a trip started for a ride nobody had requested yet",
    (4, 1): "a trip ended before anyone had asked for it",
    (5, 1): "a rider was charged for a ride they had not requested yet",
    (3, 2): "the trip started before any driver was assigned",
    (4, 2): "the trip was completed without a driver assigned",
    (5, 2): "the rider was charged before a driver was even assigned",
    (4, 3): "the trip ended before it had started",
    (5, 3): "the rider was charged before the trip began",
    (5, 4): "charged before the trip ended",
}

#: Effect of an event being processed twice, by seq.
DUPLICATE_CONSEQUENCES: dict[int, str] = {
    1: "the ride was requested twice",
    2: "the driver was assigned twice",
    3: "the trip was started twice",
    4: "the trip was completed twice",
    5: "the rider was charged twice",
}

#: Effect of an event never being processed (whatever the reason), by seq.
ABSENT_CONSEQUENCES: dict[int, str] = {
    1: "the ride request never reached the service",
    2: "nobody learned which driver was assigned",
    3: "the trip was never seen to start",
    4: "the trip was never seen to end",
    5: "the rider was never charged",
}


#: Effect of processing an event written by a transaction that was aborted.
ABORTED_CONSEQUENCE = "the service acted on an event its producer had rolled back"


def event_type(seq: int) -> str:
    """The event type name of a seq (``seq<N>`` for a seq outside the lifecycle)."""
    return STAGE_BY_SEQ.get(seq, f"seq{seq}")


def label(seq: int) -> str:
    """``RideCompleted(4)``: an event named for people, with its seq."""
    return f"{event_type(seq)}({seq})"


def at(partition: int, offset: int) -> str:
    """Where a record sits, as every report writes it: ``p3@41``."""
    return f"p{partition}@{offset}"
