"""The generic judge of an entity's order (``ridectl.judge.entity``), held against small
reference models written as plainly as the rules read."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ridectl.judge.entity import (
    Finding,
    Holes,
    Sighting,
    Step,
    Track,
    beyond,
    judge_every_value,
    judge_stream,
    order_cause,
)
from ridectl.judge.kinds import DuplicateKind, OrderCause

Event = tuple[int, int, int]  # value, partition, offset
#: (index, step, value, before value, before place, cause or duplicate kind)
Row = tuple[int, str, int, int, tuple[int, int], str]

_EVENTS = st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 2), st.integers(0, 5)),
    max_size=40,
)


def rows(found: list[tuple[int, Finding[int]]]) -> list[Row]:
    out: list[Row] = []
    for i, f in found:
        extra = f.cause if f.step is Step.LATE else f.duplicate_kind
        assert extra is not None
        out.append((i, f.step.value, f.seen.value, f.before.value, f.before.place, str(extra)))
    return out


def cause_of(ahead: Event, late: Event) -> str:
    if ahead[1] != late[1]:
        return "keying"
    return "log" if ahead[2] < late[2] else "processing"


def reference_highest(events: list[Event]) -> list[Row]:
    """Only the highest value is remembered: equal to it is a repeat, below it is late."""
    out: list[Row] = []
    for i, (v, p, o) in enumerate(events):
        before = events[:i]
        if not before or v > max(e[0] for e in before):
            continue
        top_value = max(e[0] for e in before)
        top = next(e for e in before if e[0] == top_value)
        if v == top_value:
            kind = "redelivery" if (top[1], top[2]) == (p, o) else "producer"
            out.append((i, "repeat", v, v, (top[1], top[2]), kind))
        else:
            out.append((i, "late", v, top_value, (top[1], top[2]), cause_of(top, (v, p, o))))
    return out


def reference_every_value(events: list[Event]) -> list[Row]:
    """Every value remembered: a value seen before is a repeat (of the same record, or of the
    first copy); a new value below the highest new value before it is late."""
    out: list[Row] = []
    for i, (v, p, o) in enumerate(events):
        before = events[:i]
        copies = [e for e in before if e[0] == v]
        if copies:
            if any((e[1], e[2]) == (p, o) for e in copies):
                out.append((i, "repeat", v, v, (p, o), "redelivery"))
            else:
                out.append((i, "repeat", v, v, (copies[0][1], copies[0][2]), "producer"))
            continue
        if before and v < max(e[0] for e in before):
            top_value = max(e[0] for e in before)
            top = next(e for e in before if e[0] == top_value)
            out.append((i, "late", v, top_value, (top[1], top[2]), cause_of(top, (v, p, o))))
    return out


@given(_EVENTS)
@settings(max_examples=400)
def test_track_remembers_the_highest_value(events: list[Event]) -> None:
    assert rows(list(judge_stream(events, Track[int]()))) == reference_highest(events)


@given(_EVENTS)
@settings(max_examples=400)
def test_every_value_memory(events: list[Event]) -> None:
    assert rows(judge_every_value(events)) == reference_every_value(events)


@given(_EVENTS)
def test_the_two_memories_agree_when_they_know_the_same(events: list[Event]) -> None:
    """When no value comes back except the highest so far (with no further copy of it at
    another place), both memories know every copy that matters, and find the same."""
    kept: list[Event] = []
    for e in events:
        seen = [k for k in kept if k[0] == e[0]]
        top = max((k[0] for k in kept), default=None)
        if not seen or (e[0] == top and all((k[1], k[2]) == (e[1], e[2]) for k in seen)):
            kept.append(e)
    assert rows(list(judge_stream(kept, Track[int]()))) == rows(judge_every_value(kept))


def test_a_rising_stream_has_nothing_to_say() -> None:
    stream = [(v, 0, v) for v in (1, 2, 5, 9, 100)]
    assert list(judge_stream(stream, Track[int]())) == []
    assert judge_every_value(stream) == []
    track = Track[int]()
    assert track.highest is None
    list(judge_stream(stream, track))
    assert track.highest == Sighting(100, 0, 100)


def test_track_takes_floats() -> None:
    track = Track[float]()
    assert track.see(1.5, 0, 0) is None
    late = track.see(1.25, 0, 1)
    assert late is not None and late.step is Step.LATE
    assert (late.before.value, late.cause) == (1.5, OrderCause.LOG)


def test_order_cause() -> None:
    ahead = Sighting(5, 1, 10)
    assert order_cause(ahead, Sighting(3, 2, 4)) is OrderCause.KEYING
    assert order_cause(ahead, Sighting(3, 1, 11)) is OrderCause.LOG
    assert order_cause(ahead, Sighting(3, 1, 9)) is OrderCause.PROCESSING


def test_repeat_kinds() -> None:
    track = Track[int]()
    track.see(4, 0, 7)
    again = track.see(4, 0, 7)
    copy = track.see(4, 0, 8)
    assert again is not None and again.duplicate_kind is DuplicateKind.REDELIVERY
    assert copy is not None and copy.duplicate_kind is DuplicateKind.PRODUCER
    assert copy.before.place == (0, 7)


def reference_holes(values: list[int], start: int | None) -> list[tuple[int, int]]:
    if not values:
        return []
    low = min(values) if start is None else min(start, *values)
    missing = sorted(set(range(low, max(values) + 1)) - set(values))
    ranges: list[tuple[int, int]] = []
    for v in missing:
        if ranges and ranges[-1][1] == v - 1:
            ranges[-1] = (ranges[-1][0], v)
        else:
            ranges.append((v, v))
    return ranges


@given(
    st.lists(st.tuples(st.integers(-5, 30), st.integers(0, 2)), max_size=30),
    st.one_of(st.none(), st.integers(-5, 30)),
)
@settings(max_examples=400)
def test_holes_are_the_values_never_seen(seen: list[tuple[int, int]], start: int | None) -> None:
    """The ranges, and the places either side of each (the lowest place of the values that
    border it), whatever order the values came in."""
    holes = Holes(start)
    for i, (v, p) in enumerate(seen):
        holes.see(v, (p, i))
    values = [v for v, _ in seen]
    expected = reference_holes(values, start)
    assert holes.ranges() == expected
    assert bool(holes) == bool(expected)

    def least(value: int) -> tuple[int, int] | None:
        places = [(p, i) for i, (v, p) in enumerate(seen) if v == value]
        return min(places) if places else None

    assert holes.borders() == [(least(a - 1), least(b + 1)) for a, b in expected]


def test_a_jump_is_one_range_and_a_late_value_fills_it() -> None:
    holes = Holes()
    for i, v in enumerate((3, 1_000_003, 500, 4, 1)):
        holes.see(v, (0, i))
    assert holes.ranges() == [(2, 2), (5, 499), (501, 1_000_002)]
    assert (holes.low, holes.high) == (1, 1_000_003)
    assert holes.borders() == [((0, 4), (0, 0)), ((0, 3), (0, 2)), ((0, 2), (0, 1))]
    declared = Holes(start=1)
    declared.see(4)
    assert (declared.ranges(), declared.borders()) == ([(1, 3)], [(None, None)])


@pytest.mark.parametrize(("highest", "last", "tail"), [(3, 5, [4, 5]), (5, 5, []), (0, 2, [1, 2])])
def test_beyond(highest: int, last: int, tail: list[int]) -> None:
    assert list(beyond(highest, last)) == tail
