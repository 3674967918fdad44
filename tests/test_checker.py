"""The violation checker: each kind, its sub-kinds, the fast path for clean rides, and
properties over permutations and copies of a ride's events."""

from __future__ import annotations

import io
import random
from itertools import permutations
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ridectl.judge import checker
from ridectl.judge.checker import (
    CONSEQUENCES,
    DuplicateKind,
    OrderCause,
    Report,
    Violation,
    ViolationKind,
    check,
)
from ridectl.judge.history import Ack, History, Observation, read_ndjson
from ridectl.judge.recorded import Recorded

OOO = ViolationKind.OUT_OF_ORDER
DUP = ViolationKind.DUPLICATE
MISSING = ViolationKind.MISSING
LOST = ViolationKind.LOST


def ride(ride_id: str, seqs: list[int], *, partition: int = 0, start: int = 0) -> list[Observation]:
    """A ride whose events were processed in the order ``seqs``; each seq sits at offset
    ``start + seq`` (so the producer wrote them in lifecycle order)."""
    return [Observation(start + i, ride_id, s, partition, start + s) for i, s in enumerate(seqs)]


def renumber(observations: list[Observation]) -> list[Observation]:
    """Give the observations positions 0, 1, 2... in list order."""
    return [
        Observation(i, o.ride_id, o.seq, o.partition, o.offset, o.run_id)
        for i, o in enumerate(observations)
    ]


def counts(**nonzero: int) -> dict[str, int]:
    """Every kind with its count, 0 unless given."""
    return {k.value: nonzero.get(k.value, 0) for k in ViolationKind}


def kinds(report: Report) -> list[tuple[str, ViolationKind, int]]:
    return [(v.ride_id, v.kind, v.seq) for v in report.violations]


def test_clean_history() -> None:
    obs = renumber(ride("a", [1, 2, 3, 4, 5]) + ride("b", [1, 2, 3, 4, 5], partition=3))
    report = check(History(obs))
    assert report.clean
    assert report.rides == 2
    assert report.events == 10
    assert report.violating_rides == 0
    assert report.violations == []
    assert report.per_ride == []
    assert report.by_kind == counts(out_of_order=0, duplicate=0, missing=0, lost=0)
    assert report.records_per_partition == {0: 5, 3: 5}
    assert report.rides_split == 0


def test_empty_history() -> None:
    report = check(History())
    assert report.clean
    assert (report.rides, report.events, report.violating_rides) == (0, 0, 0)
    assert report.by_kind == counts(out_of_order=0, duplicate=0, missing=0, lost=0)
    assert report.records_per_partition == {}
    assert report.violating_pct == 0.0
    assert report.to_dict()["violations"] == []


def test_out_of_order_pair_and_evidence() -> None:
    obs = [
        Observation(0, "r", 1, 2, 38),
        Observation(1, "r", 2, 2, 39),
        Observation(2, "r", 4, 2, 41),
        Observation(3, "r", 3, 2, 40),
        Observation(4, "r", 5, 2, 42),
    ]
    report = check(History(obs))
    assert report.violations == [
        Violation(
            ride_id="r",
            kind=OOO,
            seq=3,
            evidence=((2, 41), (2, 40)),
            detail="RideCompleted(4) before RideInProgress(3)",
            consequence="the trip ended before it had started",
            duplicate_kind=None,
            other_seq=4,
            position=3,
            cause=OrderCause.PROCESSING,
        )
    ]
    (summary,) = report.per_ride
    assert summary.seqs == (1, 2, 4, 3, 5)
    assert summary.overtook == (2,)
    assert summary.overtaken == (3,)
    assert summary.partitions == (2,)
    assert summary.kinds == (OOO,)
    assert report.violating_rides == 1
    assert report.violating_pct == 100.0


def test_out_of_order_pairs_with_highest_earlier_seq() -> None:
    report = check(History(ride("r", [1, 2, 5, 3, 4])))
    assert [(v.seq, v.other_seq) for v in report.violations] == [(3, 5), (4, 5)]
    assert report.violations[1].detail == "PaymentProcessed(5) before RideCompleted(4)"
    assert report.violations[1].consequence == "charged before the trip ended"
    assert report.per_ride[0].overtook == (2,)
    assert report.per_ride[0].overtaken == (3, 4)

    reversed_ride = check(History(ride("r", [5, 4, 3, 2, 1])))
    assert [(v.seq, v.other_seq) for v in reversed_ride.violations] == [
        (4, 5),
        (3, 5),
        (2, 5),
        (1, 5),
    ]
    assert reversed_ride.by_kind["out_of_order"] == 4

    # 3 overtakes 2, then 5 overtakes 4: two pairs, each with its own overtaker
    mixed = check(History(ride("r", [1, 3, 2, 5, 4])))
    assert [(v.seq, v.other_seq) for v in mixed.violations] == [(2, 3), (4, 5)]
    assert mixed.per_ride[0].overtook == (1, 3)


def test_consequences_cover_every_pair() -> None:
    pairs = {(a, b) for a in range(1, 6) for b in range(1, 6) if a > b}
    assert set(CONSEQUENCES) == pairs
    assert all(CONSEQUENCES.values())
    assert len(set(CONSEQUENCES.values())) == 10
    assert CONSEQUENCES[(5, 4)] == "charged before the trip ended"
    assert CONSEQUENCES[(2, 1)] == "a driver was sent to a ride nobody had requested yet"
    report = check(History(ride("r", [2, 1, 3, 4, 5])))
    assert report.violations[0].consequence == CONSEQUENCES[(2, 1)]


def test_duplicate_sub_kinds() -> None:
    obs = renumber(
        [
            Observation(0, "r", 1, 0, 10),
            Observation(0, "r", 2, 0, 11),
            Observation(0, "r", 2, 0, 11),  # same record again: redelivery
            Observation(0, "r", 3, 0, 12),
            Observation(0, "r", 3, 0, 15),  # written twice: producer
            Observation(0, "r", 4, 0, 13),
            Observation(0, "r", 5, 0, 14),
        ]
    )
    report = check(History(obs))
    assert [(v.kind, v.seq, v.duplicate_kind, v.evidence) for v in report.violations] == [
        (DUP, 2, DuplicateKind.REDELIVERY, ((0, 11), (0, 11))),
        (DUP, 3, DuplicateKind.PRODUCER, ((0, 12), (0, 15))),
    ]
    assert report.violations[0].detail == "DriverAssigned(2) delivered twice from p0@11"
    assert report.violations[1].detail == "RideInProgress(3) written twice: p0@12 and p0@15"
    assert report.by_kind == counts(out_of_order=0, duplicate=2, missing=0, lost=0)
    assert report.per_ride[0].duplicates == (2, 4)


def test_third_copy_is_redelivery_of_the_second() -> None:
    obs = renumber(
        [*ride("r", [1, 2, 3, 4, 5]), Observation(0, "r", 5, 0, 9), Observation(0, "r", 5, 0, 9)]
    )
    report = check(History(obs))
    assert [v.duplicate_kind for v in report.violations] == [
        DuplicateKind.PRODUCER,
        DuplicateKind.REDELIVERY,
    ]


def test_late_copy_is_not_out_of_order() -> None:
    # 3 processed again after 5: a duplicate, not reordering
    report = check(History(renumber(ride("r", [1, 2, 3, 4, 5]) + ride("r", [3]))))
    assert kinds(report) == [("r", DUP, 3)]
    assert report.violations[0].duplicate_kind is DuplicateKind.REDELIVERY


def test_missing_without_acks() -> None:
    report = check(History(ride("r", [1, 2, 3])))
    assert kinds(report) == [("r", MISSING, 4), ("r", MISSING, 5)]
    assert report.violations[0].evidence == ()
    assert report.violations[0].detail == "RideCompleted(4) never processed"
    assert report.per_ride[0].missing == (4, 5)
    assert report.per_ride[0].lost == ()


def test_lost_versus_missing_with_acks() -> None:
    acked = [
        Ack("r", 1, 0, 1),
        Ack("r", 2, 0, 2),
        Ack("r", 4, 0, 4),  # acked, never processed -> lost
        # seq 3 and 5 were never acked -> missing
        Ack("ghost", 1, 1, 7),
        Ack("ghost", 2, 1, 8),
        Ack("ghost", 2, 1, 9),  # acked twice: still one lost event
    ]
    report = check(History(ride("r", [1, 2]), acked=acked))
    assert kinds(report) == [
        ("ghost", LOST, 1),
        ("ghost", LOST, 2),
        ("r", MISSING, 3),
        ("r", LOST, 4),
        ("r", MISSING, 5),
    ]
    assert report.rides == 2
    assert report.violating_rides == 2
    assert report.by_kind == counts(out_of_order=0, duplicate=0, missing=2, lost=3)
    lost_r = report.violations[3]
    assert lost_r.evidence == ((0, 4),)
    assert lost_r.detail == "RideCompleted(4) acknowledged at p0@4 but never processed"
    assert report.violations[1].evidence == ((1, 8),)  # the first ack of that event
    ghost = report.per_ride[0]
    assert (ghost.ride_id, ghost.seqs, ghost.partitions, ghost.lost) == ("ghost", (), (), (1, 2))


def test_acks_of_processed_events_change_nothing() -> None:
    acked = [Ack("r", s, 0, s) for s in range(1, 6)]
    report = check(History(ride("r", [1, 2, 3, 4, 5]), acked=acked))
    assert report.clean
    assert report.rides == 1


def test_interleaved_rides_are_judged_separately() -> None:
    a = ride("b-ride", [1, 2, 3, 4, 5])
    b = ride("a-ride", [1, 3, 2, 4, 5], partition=1)
    interleaved = renumber([x for pair in zip(a, b, strict=True) for x in pair])
    report = check(History(interleaved))
    assert kinds(report) == [("a-ride", OOO, 2)]
    assert report.rides == 2
    # evidence uses the offsets, the violation the processing position
    assert report.violations[0].evidence == ((1, 3), (1, 2))
    assert report.violations[0].position == 5


def test_violations_ordered_by_ride_then_position() -> None:
    obs = renumber(
        ride("z", [2, 1, 3, 4, 5]) + ride("m", [1, 2, 3]) + ride("a", [1, 2, 4, 3, 5, 5])
    )
    report = check(History(obs))
    assert kinds(report) == [
        ("a", OOO, 3),
        ("a", DUP, 5),
        ("m", MISSING, 4),
        ("m", MISSING, 5),
        ("z", OOO, 1),
    ]
    assert [r.ride_id for r in report.per_ride] == ["a", "m", "z"]
    assert report.per_ride[0].kinds == (OOO, DUP)


def test_unsorted_positions_are_sorted_first() -> None:
    obs = renumber(ride("r", [1, 2, 4, 3, 5]) + ride("s", [1, 2, 3, 4, 5], partition=1))
    shuffled = obs[:]
    random.Random(4).shuffle(shuffled)
    assert shuffled != obs
    assert check(History(shuffled)) == check(History(obs))
    # positions need not be contiguous either
    spaced = [
        Observation(o.position * 10 + 3, o.ride_id, o.seq, o.partition, o.offset)
        for o in reversed(obs)
    ]
    assert kinds(check(History(spaced))) == [("r", OOO, 3)]


def test_split_rides_are_counted_clean_or_not() -> None:
    obs = renumber(
        [
            Observation(0, "clean-split", 1, 0, 0),
            Observation(0, "clean-split", 2, 1, 0),
            Observation(0, "clean-split", 3, 0, 1),
            Observation(0, "clean-split", 4, 0, 2),
            Observation(0, "clean-split", 5, 0, 3),
            Observation(0, "bad-split", 1, 2, 0),
            Observation(0, "bad-split", 3, 3, 0),
            Observation(0, "bad-split", 2, 2, 1),
            Observation(0, "bad-split", 4, 2, 2),
            Observation(0, "bad-split", 5, 2, 3),
            *ride("whole", [1, 2, 3, 4, 5], partition=7),
        ]
    )
    report = check(History(obs))
    assert report.rides == 3
    assert report.rides_split == 2
    assert kinds(report) == [("bad-split", OOO, 2)]
    assert report.per_ride[0].partitions == (2, 3)
    assert report.per_ride[0].event_partitions == (2, 3, 2, 2, 2)
    assert report.per_ride[0].split
    assert report.records_per_partition == {0: 4, 1: 1, 2: 4, 3: 1, 7: 5}


def test_partition_changes_inside_a_ride_are_seen() -> None:
    # same seq order, but p0 p1 p0 p0 p0: not the fold of a single-partition clean ride
    obs = renumber(
        [
            Observation(0, "r", 1, 0, 0),
            Observation(0, "r", 2, 1, 0),
            Observation(0, "r", 3, 0, 1),
            Observation(0, "r", 4, 0, 2),
            Observation(0, "r", 5, 0, 3),
        ]
    )
    report = check(History(obs))
    assert report.clean
    assert report.rides_split == 1


def test_long_rides_are_not_mistaken_for_clean_ones() -> None:
    # Six or more events can never be clean, whatever they fold to.
    for seqs in ([1, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5] * 3, [5, 1, 2, 3, 4, 5]):
        report = check(History(ride("r", seqs)))
        assert not report.clean, seqs
    many = check(History(ride("r", [1, 2, 3, 4, 5] * 400)))
    assert many.by_kind["duplicate"] == 5 * 399
    assert many.by_kind["out_of_order"] == 0
    assert {v.duplicate_kind for v in many.violations} == {DuplicateKind.REDELIVERY}


def test_foreign_and_malformed_pass_through() -> None:
    report = check(History(ride("r", [1, 2, 3, 4, 5]), foreign=7, malformed=3))
    assert (report.foreign, report.malformed) == (7, 3)
    summary = report.to_dict()["summary"]
    assert isinstance(summary, dict)
    assert (summary["foreign"], summary["malformed"]) == (7, 3)


def test_reads_a_history_file() -> None:
    lines = [
        '{"pos":0,"ride_id":"r","seq":2,"partition":1,"offset":5,"run_id":"x"}',
        "not json",
        '{"pos":1,"ride_id":"r","seq":1,"partition":1,"offset":4,"run_id":"x"}',
        '{"pos":2,"ride_id":"q","seq":1,"partition":0,"offset":0,"run_id":"other"}',
    ]
    history = read_ndjson(io.StringIO("\n".join(lines)), run_id="x")
    report = check(history)
    assert (report.malformed, report.foreign, report.events) == (1, 1, 2)
    assert kinds(report) == [
        ("r", OOO, 1),
        ("r", MISSING, 3),
        ("r", MISSING, 4),
        ("r", MISSING, 5),
    ]


def test_to_dict_shape() -> None:
    report = check(History(renumber(ride("r", [2, 1, 3, 4, 5]) + ride("r", [5]))))
    doc = report.to_dict()
    assert list(doc) == ["summary", "violations"]
    summary = doc["summary"]
    assert isinstance(summary, dict)
    assert list(summary) == [
        "rides",
        "violating_rides",
        "violating_pct",
        "events",
        "by_kind",
        "by_cause",
        "rides_split",
        "records_per_partition",
        "foreign",
        "malformed",
    ]
    assert summary["records_per_partition"] == {"0": 6}
    assert summary["by_kind"] == counts(out_of_order=1, duplicate=1, missing=0, lost=0)
    violations = doc["violations"]
    assert isinstance(violations, list)
    assert violations[0] == {
        "ride_id": "r",
        "kind": "out_of_order",
        "seq": 1,
        "type": "RideRequested",
        "other_seq": 2,
        "detail": "DriverAssigned(2) before RideRequested(1)",
        "consequence": "a driver was sent to a ride nobody had requested yet",
        "duplicate_kind": None,
        "cause": "processing",
        "evidence": [{"partition": 0, "offset": 2}, {"partition": 0, "offset": 1}],
    }
    assert violations[1]["duplicate_kind"] == "redelivery"


def test_seq_out_of_range_is_rejected() -> None:
    with pytest.raises(ValueError, match="seq outside"):
        check(History([Observation(0, "r", 9, 0, 0)]))


# --- properties ---------------------------------------------------------------------------


def higher_before(order: tuple[int, ...]) -> int:
    return sum(1 for i, s in enumerate(order) if any(t > s for t in order[:i]))


@given(st.permutations([1, 2, 3, 4, 5]), st.integers(0, 40))
def test_permutation_property(order: list[int], partition: int) -> None:
    obs = [Observation(i, "r", s, partition, 100 + s) for i, s in enumerate(order)]
    report = check(History(obs))
    out_of_order = [v for v in report.violations if v.kind is OOO]
    assert bool(out_of_order) == (order != sorted(order))
    assert len(out_of_order) == higher_before(tuple(order))
    assert report.by_kind["duplicate"] == 0
    assert report.by_kind["missing"] == 0
    assert report.by_kind["lost"] == 0
    for v in out_of_order:
        assert v.other_seq is not None and v.other_seq > v.seq
        assert v.evidence == ((partition, 100 + v.other_seq), (partition, 100 + v.seq))


def test_permutation_property_exhaustive() -> None:
    for order in permutations([1, 2, 3, 4, 5]):
        report = check(History(ride("r", list(order))))
        assert report.by_kind["out_of_order"] == higher_before(order), order
        assert report.clean == (list(order) == [1, 2, 3, 4, 5])


@st.composite
def ride_with_copies(draw: st.DrawFn) -> tuple[list[int], list[tuple[int, int, bool]]]:
    """A permutation, and copies as (index of the original, insert after index, same record)."""
    order = draw(st.permutations([1, 2, 3, 4, 5]))
    copies = draw(
        st.lists(
            st.tuples(st.integers(0, 4), st.integers(0, 20), st.booleans()),
            max_size=6,
        )
    )
    return order, copies


@given(ride_with_copies())
@settings(max_examples=200)
def test_copies_property(case: tuple[list[int], list[tuple[int, int, bool]]]) -> None:
    order, copies = case
    base = [Observation(0, "r", s, 0, 100 + s) for s in order]
    events = list(base)
    expected: list[DuplicateKind] = []
    next_offset = 200
    for original_index, after, same_record in copies:
        original = base[original_index]
        # a copy is processed after its original
        start = events.index(original) + 1
        at = start + after % (len(events) - start + 1)
        if same_record:
            copy = original
            expected_kind = DuplicateKind.REDELIVERY
        else:
            copy = Observation(0, "r", original.seq, 0, next_offset)
            next_offset += 1
            expected_kind = DuplicateKind.PRODUCER
        events.insert(at, copy)
        expected.append(expected_kind)
    report = check(History(renumber(events)))
    plain = check(History(renumber(base)))
    duplicates = [v for v in report.violations if v.kind is DUP]
    assert len(duplicates) == len(copies)
    assert sorted(str(v.duplicate_kind) for v in duplicates) == sorted(map(str, expected))
    assert report.by_kind["out_of_order"] == plain.by_kind["out_of_order"]
    assert report.by_kind["missing"] == 0


# A straightforward restatement of the rules, to check the fast path and the detectors against.
Row = tuple[str, str, int, int | None, str]


def reference(
    observations: list[Observation],
    acked: list[Ack] | None = None,
    committed: dict[int, int] | None = None,
    aborted: frozenset[tuple[int, int]] = frozenset(),
) -> list[Row]:
    """(ride, kind, seq, other_seq, duplicate sub-kind or out-of-order cause)."""
    rides: dict[str, list[Observation]] = {}
    for o in sorted(observations, key=lambda o: o.position):
        rides.setdefault(o.ride_id, []).append(o)
    first_ack: dict[tuple[str, int], Ack] = {}
    for a in acked or []:
        if (a.partition, a.offset) not in aborted:
            first_ack.setdefault((a.ride_id, a.seq), a)
    out: list[Row] = []
    for ride_id in sorted(rides.keys() | {r for r, _ in first_ack}):
        events = rides.get(ride_id, [])
        seen: dict[int, list[tuple[int, int]]] = {}
        for i, o in enumerate(events):
            where = (o.partition, o.offset)
            if o.seq in seen:
                sub = "redelivery" if where in seen[o.seq] else "producer"
                seen[o.seq].append(where)
                out.append((ride_id, "duplicate", o.seq, None, sub))
            else:
                seen[o.seq] = [where]
                firsts = [
                    e for j, e in enumerate(events[:i]) if e.seq not in {f.seq for f in events[:j]}
                ]
                higher = [e for e in firsts if e.seq > o.seq]
                if higher:
                    top = max(higher, key=lambda e: e.seq)
                    if top.partition != o.partition:
                        cause = "keying"
                    elif top.offset < o.offset:
                        cause = "log"
                    else:
                        cause = "processing"
                    out.append((ride_id, "out_of_order", o.seq, top.seq, cause))
            if where in aborted:
                out.append((ride_id, "aborted_read", o.seq, None, ""))
        for s in range(1, 6):
            if s in seen:
                continue
            ack = first_ack.get((ride_id, s))
            if ack is not None:
                past = committed is not None and ack.offset < committed.get(ack.partition, -1)
                out.append((ride_id, "skipped" if past else "lost", s, None, ""))
            elif events:
                later = any(t > s for t in seen)
                out.append((ride_id, "gap" if later else "missing", s, None, ""))
    return out


def rows_of(report: Report) -> list[Row]:
    return [
        (
            v.ride_id,
            v.kind.value,
            v.seq,
            v.other_seq,
            (v.duplicate_kind or v.cause or "").__str__(),
        )
        for v in report.violations
    ]


@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(1, 5), st.integers(0, 3), st.integers(0, 6)),
        max_size=60,
    ),
    st.randoms(use_true_random=False),
    st.one_of(
        st.none(),
        st.lists(
            st.tuples(st.integers(0, 7), st.integers(1, 5), st.integers(0, 3), st.integers(0, 6)),
            max_size=15,
        ),
    ),
    st.one_of(st.none(), st.dictionaries(st.integers(0, 3), st.integers(0, 7), max_size=4)),
    st.frozensets(st.tuples(st.integers(0, 3), st.integers(0, 6)), max_size=5),
)
@settings(max_examples=400)
def test_matches_reference(
    rows: list[tuple[int, int, int, int]],
    rng: random.Random,
    acks: list[tuple[int, int, int, int]] | None,
    committed: dict[int, int] | None,
    aborted: frozenset[tuple[int, int]],
) -> None:
    obs = [Observation(i, f"r{r}", s, p, o) for i, (r, s, p, o) in enumerate(rows)]
    # add some clean rides, so the fast path has work, then interleave everything
    for k in range(3):
        obs += ride(f"c{k}", [1, 2, 3, 4, 5], partition=k)
    rng.shuffle(obs)
    obs = renumber(obs)
    acked = None if acks is None else [Ack(f"r{r}", s, p, o) for r, s, p, o in acks]
    history = History(obs, acked=acked, committed=committed, aborted=aborted)
    report = check(history)
    assert rows_of(report) == reference(obs, acked, committed, aborted)
    # the same events recorded as a consumer records them (columns) and judged in arrays
    recorded = History(acked=acked, committed=committed, aborted=aborted)
    recorded.recorded = Recorded(0, "")
    for o in obs:
        recorded.recorded.append(o.ride_id, o.seq, o.partition, o.offset)
    with patch.object(checker, "COLUMNS_FROM_EVENTS", 0):
        assert check(recorded) == report
    assert recorded.recorded is not None  # (judged without turning them into objects)
    assert recorded.observations == obs
    split = {
        r for r in {o.ride_id for o in obs} if len({o.partition for o in obs if o.ride_id == r}) > 1
    }
    assert report.rides_split == len(split)
    assert report.rides == len(
        {o.ride_id for o in obs}
        | {a.ride_id for a in acked or [] if (a.partition, a.offset) not in aborted}
    )
    assert sum(report.by_cause.values()) == report.by_kind[OOO]


# --- causes and the consumer-side kinds ---------------------------------------------------


def test_causes_of_out_of_order() -> None:
    keying = [
        Observation(0, "k", 1, 0, 5),
        Observation(1, "k", 3, 1, 2),
        Observation(2, "k", 2, 0, 6),
    ]
    log = [Observation(3, "l", 1, 0, 7), Observation(4, "l", 3, 0, 8), Observation(5, "l", 2, 0, 9)]
    proc = [
        Observation(6, "p", 1, 2, 1),
        Observation(7, "p", 3, 2, 3),
        Observation(8, "p", 2, 2, 2),
    ]
    report = check(History(keying + log + proc))
    ooo = [(v.ride_id, v.cause) for v in report.violations if v.kind is OOO]
    assert ooo == [
        ("k", OrderCause.KEYING),
        ("l", OrderCause.LOG),
        ("p", OrderCause.PROCESSING),
    ]
    assert report.by_cause == {"keying": 1, "log": 1, "processing": 1}
    assert all(v.cause is None for v in report.violations if v.kind is not OOO)


def test_gap_is_told_from_a_missing_tail() -> None:
    report = check(History(ride("g", [1, 4, 5]) + ride("t", [1, 2, 3], start=10)))
    assert kinds(report) == [
        ("g", ViolationKind.GAP, 2),
        ("g", ViolationKind.GAP, 3),
        ("t", MISSING, 4),
        ("t", MISSING, 5),
    ]
    assert (
        report.violations[0].detail == "DriverAssigned(2) never processed, PaymentProcessed(5) was"
    )
    assert report.by_kind[OOO] == 0
    head = check(History(ride("h", [2, 3, 4, 5])))
    assert kinds(head) == [("h", ViolationKind.GAP, 1)]


def test_skipped_needs_the_commit_to_be_past_the_event() -> None:
    acked = [Ack("r", s, 0, 10 + s) for s in range(1, 6)]
    obs = ride("r", [1, 2], start=10)  # 3, 4, 5 acknowledged at offsets 13, 14, 15
    report = check(History(obs, acked=acked, committed={0: 15}))
    assert kinds(report) == [
        ("r", ViolationKind.SKIPPED, 3),
        ("r", ViolationKind.SKIPPED, 4),
        ("r", LOST, 5),
    ]
    assert report.violations[0].evidence == ((0, 13),)
    assert (
        report.violations[0].detail
        == "RideInProgress(3) at p0@13 committed past (to 15), never processed"
    )
    # without the committed offsets the same events are lost; without acks, missing
    assert [v.kind for v in check(History(obs, acked=acked)).violations] == [LOST] * 3
    assert [v.kind for v in check(History(obs, committed={0: 15})).violations] == [MISSING] * 3
    # a ride never seen, acknowledged below the commit: skipped too
    ghost = check(History([], acked=[Ack("x", 1, 1, 3)], committed={1: 4}))
    assert kinds(ghost) == [("x", ViolationKind.SKIPPED, 1)]
    assert ghost.rides == 1


def test_aborted_read() -> None:
    aborted_ride = ride("a", [1, 2, 3, 4, 5], partition=1, start=20)
    clean = ride("c", [1, 2, 3, 4, 5], partition=1, start=40)
    aborted = frozenset((1, o.offset) for o in aborted_ride)
    acked = [Ack(o.ride_id, o.seq, o.partition, o.offset) for o in aborted_ride + clean]
    report = check(History(renumber(aborted_ride + clean), acked=acked, aborted=aborted))
    assert kinds(report) == [("a", ViolationKind.ABORTED_READ, s) for s in range(1, 6)]
    assert report.violations[0].evidence == ((1, 21),)
    # read_committed: the aborted ride is never processed, and that is no violation
    committed_only = check(History(renumber(clean), acked=acked, aborted=aborted))
    assert committed_only.clean
    assert committed_only.rides == 1
