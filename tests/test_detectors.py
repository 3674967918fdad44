"""The detectors and how ``check`` composes them: every detector declares whether clean-looking
rides can break its rule, the declaration holds, and the fast path never hides a violation."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ridectl.judge.checker import check, judge_ride
from ridectl.judge.detectors import DETECTORS, Detector, Facts, RideView
from ridectl.judge.history import Ack, History, Observation
from ridectl.judge.kinds import ViolationKind
from ridectl.judge.verdict import Violation


def test_every_detector_declares_whether_clean_rides_can_break_it() -> None:
    kinds = [d.kind for d in DETECTORS]
    assert len(kinds) == len(set(kinds))
    assert set(kinds) == set(ViolationKind)
    for d in DETECTORS:
        assert "flags_clean_rides" in type(d).__dict__

    with pytest.raises(TypeError, match="must declare flags_clean_rides"):

        class Undeclared(Detector):  # pragma: no cover - the class statement itself fails
            kind = ViolationKind.MISSING

            def detect(self, ride: RideView, facts: Facts) -> Iterator[Violation]:
                yield from ()


class EveryRide(Detector):
    """A rule that clean-looking rides break: flags every ride it is shown."""

    kind = ViolationKind.MISSING
    flags_clean_rides = True

    def detect(self, ride: RideView, facts: Facts) -> Iterator[Violation]:
        yield Violation(ride.ride_id, self.kind, 1, detail="flagged")


def test_a_detector_that_flags_clean_rides_sees_them() -> None:
    obs = [Observation(i, "clean", s, 0, i) for i, s in enumerate([1, 2, 3, 4, 5])]
    assert check(History(obs)).clean
    report = check(History(obs), detectors=(*DETECTORS, EveryRide()))
    assert [(v.ride_id, v.detail) for v in report.violations] == [("clean", "flagged")]


@st.composite
def clean_ride_and_acks(draw: st.DrawFn) -> tuple[list[Observation], list[Ack]]:
    """A ride processed as 1 2 3 4 5 on one partition, and acknowledgements of any shape."""
    partition = draw(st.integers(0, 40))
    offsets = sorted(draw(st.lists(st.integers(0, 10**6), min_size=5, max_size=5, unique=True)))
    start = draw(st.integers(0, 1000))
    obs = [Observation(start + i, "r", i + 1, partition, offsets[i]) for i in range(5)]
    acks = draw(
        st.lists(
            st.builds(
                Ack,
                st.sampled_from(["r", "other"]),
                st.integers(1, 5),
                st.integers(0, 40),
                st.integers(0, 10**6),
            ),
            max_size=8,
        )
    )
    return obs, acks


@given(
    clean_ride_and_acks(),
    st.booleans(),
    st.dictionaries(st.integers(0, 40), st.integers(0, 10**6), max_size=4),
    st.frozensets(st.tuples(st.integers(0, 40), st.integers(0, 10**6)), max_size=4),
)
@settings(max_examples=300)
def test_declarations_hold_on_clean_rides(
    case: tuple[list[Observation], list[Ack]],
    with_acks: bool,
    committed: dict[int, int],
    aborted: frozenset[tuple[int, int]],
) -> None:
    """Whatever the run knows besides, a detector that says clean-looking rides cannot
    break its rule finds nothing in one; an aborted record among them is another matter."""
    obs, acks = case
    aborted = aborted | {(obs[0].partition, obs[0].offset)}
    history = History(obs, acked=acks if with_acks else None, committed=committed, aborted=aborted)
    facts = Facts.of(history)
    view = RideView.of("r", obs)
    for d in DETECTORS:
        if not d.flags_clean_rides:
            assert list(d.detect(view, facts)) == [], type(d).__name__


def judge_every_ride(history: History) -> list[Violation]:
    """The checker without its fast path: every ride seen or acknowledged, every detector."""
    ordered = sorted(history.observations, key=lambda o: o.position)
    rides: dict[str, list[Observation]] = {}
    for o in ordered:
        rides.setdefault(o.ride_id, []).append(o)
    for a in history.acked or []:
        rides.setdefault(a.ride_id, [])
    facts = Facts.of(history)
    out: list[Violation] = []
    for ride_id in sorted(rides):
        summary = judge_ride(RideView.of(ride_id, rides[ride_id]), facts)
        if summary is not None:
            out.extend(summary.violations)
    return out


@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(1, 5), st.integers(0, 3), st.integers(0, 6)),
        max_size=50,
    ),
    st.lists(st.tuples(st.integers(0, 7), st.integers(1, 5), st.integers(0, 3)), max_size=12),
    st.booleans(),
    st.randoms(use_true_random=False),
    st.one_of(st.none(), st.dictionaries(st.integers(0, 3), st.integers(0, 16), max_size=4)),
    st.frozensets(st.tuples(st.integers(0, 3), st.integers(0, 16)), max_size=5),
)
@settings(max_examples=300)
def test_fast_path_hides_nothing(
    rows: list[tuple[int, int, int, int]],
    acked: list[tuple[int, int, int]],
    with_acks: bool,
    rng: random.Random,
    committed: dict[int, int] | None,
    aborted: frozenset[tuple[int, int]],
) -> None:
    obs = [Observation(0, f"r{r}", s, p, o) for r, s, p, o in rows]
    for k in range(4):  # clean-looking rides for the fast path
        obs += [Observation(0, f"c{k}", s, k, 10 + s) for s in range(1, 6)]
    rng.shuffle(obs)
    obs = [Observation(i, o.ride_id, o.seq, o.partition, o.offset) for i, o in enumerate(obs)]
    acks = [Ack(f"r{r}", s, p, s) for r, s, p in acked] if with_acks else None
    history = History(obs, acked=acks, committed=committed, aborted=aborted)
    assert check(history).violations == judge_every_ride(history)
