"""Judge a history: where did the processing order of a ride differ from its lifecycle order?

``check`` is a pure function of a :class:`~ridectl.judge.history.History`; it knows nothing about
Kafka clients. The processing order of a ride is the ``position`` order of its observations.
``check`` composes the detectors of ``ridectl.judge.detectors``, one per rule.

Rules (each violation names one event of one ride, ``seq``):

* ``out_of_order``: only the *first* processed copy of each seq takes part, so a re-processed
  copy never counts as reordering. A first copy is out of order when a first copy with a higher
  seq of the same ride was processed before it; the pair recorded is (highest such seq =
  "overtook", this seq = "overtaken"). So ``1 2 5 3 4`` gives two violations, 5>3 and 5>4, and
  the number of out-of-order events of a ride equals the number of events that have a higher
  seq processed before them.
* ``duplicate``: every processing of a seq after its first one. ``producer`` when the copy sits
  at a (partition, offset) not processed before for that seq (the record was written twice),
  ``redelivery`` when the same (partition, offset) is processed again (the consumer side
  delivered it twice).
  Each out-of-order violation carries a ``cause``, from the two events' places in the log:
  ``keying`` when they sit on different partitions (the key, or its absence, split the ride),
  ``log`` when they share a partition and the later stage sits at the lower offset (the log
  itself contradicts the lifecycle: the producer reordered, e.g. a retry), ``processing`` when
  the log holds them in lifecycle order and the consumer handled them the other way round.
* Every seq in 1..5 never processed gets exactly one of four kinds, the first that applies:

  - ``skipped`` (needs ``history.acked`` and ``history.committed``): it was acknowledged at an
    offset below the group's committed offset of its partition: committed past, never
    processed (offsets committed before the work was done);
  - ``lost`` (needs ``history.acked``): it was acknowledged, and the group did not commit past
    it. Rides acknowledged but never seen are ``lost`` (or ``skipped``) for every acked seq;
  - ``gap``: a later stage of the same ride was processed (a hole in the ride);
  - ``missing``: no later stage was processed either (the ride's tail is missing).

  ``gap`` and ``missing`` only concern rides that were seen.
* ``aborted_read`` (needs ``history.aborted``): every processing of a record at a
  (partition, offset) written by a transaction that was aborted. Acknowledgements of such
  records are ignored by the other rules: never processing them is the correct outcome.

The rules of order, repeats and holes are the generic judge's (``ridectl.judge.entity``), applied
through the ride mapping (entity ``ride_id``, order ``seq``) by the detectors; this module adds
what only a ride has: the lifecycle's five stages, and the run's other facts.

Speed: most rides of a history are clean. One pass folds each ride's events into one int
(one digit ``partition * 8 + seq`` per event); a ride whose fold equals that of ``1 2 3 4 5`` on
a single partition is clean-looking and costs nothing more, unless a detector declares that such
a ride can break its rule (``Detector.flags_clean_rides``). Only the other rides are grouped and
shown to the detectors.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from itertools import compress, islice
from operator import attrgetter, le, not_

from ridectl.judge.detectors import ALL_SEQS, DETECTORS, Detector, Facts, RideView
from ridectl.judge.history import History, Observation
from ridectl.judge.kinds import (
    ABSENT_CONSEQUENCES,
    CONSEQUENCES,
    DUPLICATE_CONSEQUENCES,
    DuplicateKind,
    OrderCause,
    ViolationKind,
    event_type,
)
from ridectl.judge.lifecycle import LIFECYCLE_LENGTH
from ridectl.judge.recorded import COLUMNS_FROM_EVENTS, events_of
from ridectl.judge.recorded import suspects as recorded_suspects
from ridectl.judge.verdict import Report, RideSummary, Violation, count_by_cause, count_by_kind

__all__ = [
    "ABSENT_CONSEQUENCES",
    "CONSEQUENCES",
    "DUPLICATE_CONSEQUENCES",
    "DuplicateKind",
    "OrderCause",
    "Report",
    "RideSummary",
    "Violation",
    "ViolationKind",
    "check",
    "event_type",
]

_KINDS = tuple(ViolationKind)  # iterating the enum itself is slow
_KIND_RANK = {k: i for i, k in enumerate(_KINDS)}

_ride_of = attrgetter("ride_id")
_seq_of = attrgetter("seq")
_partition_of = attrgetter("partition")
_position_of = attrgetter("position")


def _in_processing_order(observations: list[Observation]) -> list[Observation]:
    """The observations sorted by position (the list itself when it already is)."""
    positions = list(map(_position_of, observations))
    if all(map(le, positions, islice(positions, 1, None))):
        return observations
    return sorted(observations, key=_position_of)


def _fold_rides(ordered: list[Observation], base: int) -> dict[str, int]:
    """One int per ride that identifies its (partition, seq) sequence in processing order.

    ``base`` must exceed ``partition * 8 + 7`` for every observation."""
    # Each event is a digit ``partition * 8 + seq``, below ``base`` and never 0 (seq >= 1), so
    # a ride's fold identifies its sequence exactly. Keeping only the last six digits bounds
    # the ints; a ride with six or more events then folds to at least base**5, above every
    # clean fold (see ``_clean_folds``).
    modulus = base**6
    folds: dict[str, int] = {}
    get = folds.get
    for o in ordered:
        r = o.ride_id
        folds[r] = (get(r, 0) * base + o.partition * 8 + o.seq) % modulus
    return folds


def _clean_folds(partitions: Iterable[int], base: int) -> set[int]:
    """The folds of a ride processed exactly as ``1 2 3 4 5``, all on one of ``partitions``."""
    folds: set[int] = set()
    for p in partitions:
        value = 0
        for seq in ALL_SEQS:
            value = value * base + p * 8 + seq
        folds.add(value)
    return folds


def _suspects(ordered: list[Observation], report: Report) -> tuple[dict[str, int], set[str]]:
    """Fold the rides; returns (fold per ride seen, rides that are not clean-looking)."""
    if not ordered:
        return {}, set()
    bad_seqs = set(map(_seq_of, ordered)).difference(ALL_SEQS)
    if bad_seqs:
        raise ValueError(f"seq outside 1..{LIFECYCLE_LENGTH}: {sorted(bad_seqs)[:5]}")
    per_partition = Counter(map(_partition_of, ordered))
    if min(per_partition) < 0:
        raise ValueError(f"negative partition: {min(per_partition)}")
    report.records_per_partition = dict(sorted(per_partition.items()))
    base = (max(per_partition) + 1) * 8
    folds = _fold_rides(ordered, base)
    clean = _clean_folds(per_partition, base)
    return folds, set(compress(folds.keys(), map(not_, map(clean.__contains__, folds.values()))))


def _group(ordered: list[Observation], rides: set[str]) -> dict[str, list[Observation]]:
    """The events of ``rides`` (in processing order), grouped by ride."""
    groups: dict[str, list[Observation]] = {r: [] for r in rides}
    if groups:
        for o in compress(ordered, map(groups.__contains__, map(_ride_of, ordered))):
            groups[o.ride_id].append(o)
    return groups


def _order_key(v: Violation) -> tuple[bool, int, int, int]:
    """Processed events by position, then the never-processed ones by seq."""
    return (v.position is None, v.position or 0, v.seq, _KIND_RANK[v.kind])


def judge_ride(
    ride: RideView, facts: Facts, detectors: Sequence[Detector] = DETECTORS
) -> RideSummary | None:
    """Every detector's verdict on one ride; None when the ride is clean."""
    violations = [v for d in detectors for v in d.detect(ride, facts)]
    if not violations:
        return None
    if len(violations) > 1:
        violations.sort(key=_order_key)
    events = ride.events
    first_index = ride.first
    overtook: set[int] = set()
    overtaken: list[int] = []
    for v in violations:
        if v.kind is ViolationKind.OUT_OF_ORDER and v.other_seq is not None:
            overtook.add(first_index[v.other_seq])
            overtaken.append(first_index[v.seq])
    present = {v.kind for v in violations}
    event_partitions = tuple(map(_partition_of, events))
    event_positions = tuple(map(_position_of, events))
    return RideSummary(
        ride_id=ride.ride_id,
        partitions=tuple(sorted(set(event_partitions))),
        seqs=tuple(map(_seq_of, events)),
        event_partitions=event_partitions,
        event_positions=event_positions,
        overtook=tuple(sorted(overtook)),
        overtaken=tuple(overtaken),
        duplicates=tuple(i for i, o in enumerate(events) if first_index[o.seq] != i)
        if len(events) > len(first_index)  # (else every event is its seq's first copy)
        else (),
        kinds=tuple(k for k in _KINDS if k in present) if len(present) > 1 else (*present,),
        violations=tuple(violations),
    )


def check(history: History, *, detectors: Sequence[Detector] = DETECTORS) -> Report:
    """Judge ``history`` and return the report (see the module docstring for the rules).

    Raises ValueError if an observation's seq is outside 1..LIFECYCLE_LENGTH or its partition
    is negative (neither comes out of ``read_ndjson`` or a consumer).
    """
    report = Report(events=history.events, foreign=history.foreign, malformed=history.malformed)
    recorded = history.only_recorded()
    if recorded is not None and len(recorded) < COLUMNS_FROM_EVENTS:
        recorded = None  # (judged by the fold below)
    seen: AbstractSet[str]
    if recorded is not None:
        found = recorded_suspects(recorded)
        seen, suspects = found.seen, found.rides
        report.records_per_partition = found.records_per_partition
    else:
        ordered = _in_processing_order(history.observations)
        folds, suspects = _suspects(ordered, report)
        seen = folds.keys()
    facts = Facts.of(history, rides=frozenset())
    for d in detectors:
        wanted = d.extra_rides(seen, facts)
        suspects.update(seen if wanted is None else wanted)
    facts = facts.for_rides(suspects)  # (the acknowledgements of the rides judged)
    report.rides = len(seen) + len(suspects - seen)
    groups = _group(ordered if recorded is None else events_of(recorded, suspects), suspects)
    asked = tuple(d for d in detectors if d.applies(facts))
    for ride_id in sorted(suspects):
        events = groups.get(ride_id, [])
        if len(set(map(_partition_of, events))) > 1:
            report.rides_split += 1
        summary = judge_ride(RideView.of(ride_id, events), facts, asked)
        if summary is not None:
            report.per_ride.append(summary)
            report.violations.extend(summary.violations)
    report.violating_rides = len(report.per_ride)
    report.by_kind = count_by_kind(report.violations)
    report.by_cause = count_by_cause(report.violations)
    return report
