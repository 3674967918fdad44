"""Events recorded by a consumer as columns, and the clean-looking test made on them.

A consumer that reads a run of hundreds of thousands of events spent a fifth of its own time
on one ``Observation`` per event and a Python fold over them. ``Recorded`` keeps the decoded
fields in four lists instead (positions need none: the consumer hands out 0, 1, 2, ...), and
``History.observations`` turns them into observations only when someone asks for them.

``ridectl.judge.checker.check`` asks for them only for the rides that do not look clean: for a
large recording it finds those with the array test of ``ridectl.judge.clean`` (the one a
history file gets), and builds observations for their events alone. The verdict is the same
as the fold's (tests hold the two equal).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from itertools import compress, count, repeat
from operator import not_

from ridectl.judge.history import Observation
from ridectl.judge.lifecycle import LIFECYCLE_LENGTH

#: Below this many events a recording is judged by the fold over its observations: numpy's
#: import and the arrays cost more than they save.
COLUMNS_FROM_EVENTS = 20_000


@dataclass(slots=True)
class Recorded:
    """Events of one run in processing order, their positions ``start, start + 1, ...``."""

    start: int
    run_id: str
    ride_ids: list[str] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    partitions: list[int] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.offsets)

    def append(self, ride_id: str, seq: int, partition: int, offset: int) -> None:
        self.ride_ids.append(ride_id)
        self.seqs.append(seq)
        self.partitions.append(partition)
        self.offsets.append(offset)

    def extend(
        self, ride_ids: list[str], seqs: list[int], partitions: list[int], offsets: list[int]
    ) -> None:
        self.ride_ids += ride_ids
        self.seqs += seqs
        self.partitions += partitions
        self.offsets += offsets

    def observations(self, rows: list[int] | None = None) -> Iterator[Observation]:
        """The events as observations (only those at ``rows``, when given, in that order)."""
        columns = (self.ride_ids, self.seqs, self.partitions, self.offsets)
        run = repeat(self.run_id)
        if rows is None:
            return map(Observation, range(self.start, self.start + len(self)), *columns, run)
        picked = [list(map(column.__getitem__, rows)) for column in columns]
        return map(Observation, map(self.start.__add__, rows), *picked, run)


@dataclass(slots=True)
class Suspects:
    """What the clean-looking test tells the checker about a recording."""

    #: every ride seen
    seen: set[str]
    #: the rides that do not look clean
    rides: set[str]
    records_per_partition: dict[int, int]


def suspects(recorded: Recorded) -> Suspects:
    """The rides of ``recorded`` that do not look clean (see ``ridectl.judge.clean``).

    Raises ValueError as ``check`` does for a seq outside 1..LIFECYCLE_LENGTH or a negative
    partition (neither comes out of a consumer)."""
    import numpy as np

    from ridectl.judge.clean import clean_rides, partition_counts

    number: defaultdict[str, int] = defaultdict(count().__next__)
    ride_ids = recorded.ride_ids
    numbers = np.fromiter(map(number.__getitem__, ride_ids), dtype=np.int32, count=len(ride_ids))
    seqs = np.array(recorded.seqs, dtype=np.int64)
    partitions = np.array(recorded.partitions, dtype=np.int64)
    if len(seqs) and (int(seqs.min()) < 1 or int(seqs.max()) > LIFECYCLE_LENGTH):
        bad = sorted(set(seqs[(seqs < 1) | (seqs > LIFECYCLE_LENGTH)].tolist()))
        raise ValueError(f"seq outside 1..{LIFECYCLE_LENGTH}: {bad[:5]}")
    if len(partitions) and int(partitions.min()) < 0:
        raise ValueError(f"negative partition: {int(partitions.min())}")
    clean = clean_rides(
        numbers, seqs.astype(np.int8), partitions, np.arange(len(seqs)), len(number)
    )
    return Suspects(
        seen=set(number),
        rides=set(compress(number, map(not_, clean.tolist()))),
        records_per_partition=partition_counts(partitions),
    )


def events_of(recorded: Recorded, rides: AbstractSet[str]) -> list[Observation]:
    """The events of ``rides`` as observations, in processing order."""
    if not rides:
        return []
    rows = list(compress(count(), map(rides.__contains__, recorded.ride_ids)))
    return list(recorded.observations(rows))
