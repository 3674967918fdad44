"""Fault specs: grammar, canonical text, error messages and which requests a fault picks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ridectl.errors import UsageError
from ridectl.faults.spec import (
    DEFAULT_ERROR_CODE,
    VALID_FORMS,
    FaultKind,
    FaultSpec,
    error_code_name,
    error_code_retriable,
    parse_error_code,
    parse_fault_spec,
)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("error", "error:code=REQUEST_TIMED_OUT"),
        ("error:every=3", "error:every=3,code=REQUEST_TIMED_OUT"),
        ("ERROR : every = 3", "error:every=3,code=REQUEST_TIMED_OUT"),
        ("error:every=1", "error:code=REQUEST_TIMED_OUT"),
        ("error:code=19,first=4", "error:first=4,code=NOT_ENOUGH_REPLICAS"),
        ("error:code=not_leader_for_partition", "error:code=NOT_LEADER_OR_FOLLOWER"),
        ("error:code=NOT-LEADER-OR-FOLLOWER", "error:code=NOT_LEADER_OR_FOLLOWER"),
        ("lost-ack:first=2", "lost-ack:first=2,code=REQUEST_TIMED_OUT"),
        ("lost-ack:every=5,after=10,code=7", "lost-ack:every=5,after=10,code=REQUEST_TIMED_OUT"),
        ("delay:ms=200", "delay:ms=200"),
        ("delay:ms=50,rate=0.5,seed=3", "delay:rate=0.5,seed=3,ms=50"),
        ("disconnect", "disconnect"),
        ("disconnect:every=50", "disconnect:every=50"),
        ("error:rate=0.2", "error:rate=0.2,seed=0,code=REQUEST_TIMED_OUT"),
        ("error:seed=7,rate=0.25", "error:rate=0.25,seed=7,code=REQUEST_TIMED_OUT"),
        ("error:after=3", "error:after=3,code=REQUEST_TIMED_OUT"),
    ],
)
def test_valid_forms_and_canonical_text(text: str, canonical: str) -> None:
    spec = parse_fault_spec(text)
    assert str(spec) == canonical
    assert parse_fault_spec(str(spec)) == spec
    assert str(parse_fault_spec(canonical)) == canonical


def test_parsed_fields() -> None:
    spec = parse_fault_spec("lost-ack:every=4,after=2,code=NOT_ENOUGH_REPLICAS_AFTER_APPEND")
    assert spec == FaultSpec(FaultKind.LOST_ACK, every=4, after=2, code=20)
    assert spec.error_code == 20
    delay = parse_fault_spec("delay:ms=200")
    assert delay.kind is FaultKind.DELAY and delay.ms == 200 and delay.code is None
    assert parse_fault_spec("error").error_code == DEFAULT_ERROR_CODE == 7


def test_default_code_is_retriable_without_metadata_refresh() -> None:
    import kafka.errors as errors

    cls = errors.for_code(DEFAULT_ERROR_CODE)
    assert issubclass(cls, errors.RetriableError)
    assert not issubclass(cls, errors.InvalidMetadataError)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("erorr:every=3", "unknown kind 'erorr'"),
        ("", "unknown kind ''"),
        ("error:", "nothing after ':'"),
        ("error:every", "'every' is not key=value"),
        ("error:every=", "'every=' is not key=value"),
        ("error:every=x", "every needs a whole number, not 'x'"),
        ("error:every=0", "every must be 1 or more"),
        ("error:first=-1", "first must be 1 or more"),
        ("error:every=2,first=3", "every and first exclude each other"),
        ("error:every=2,every=3", "every given twice"),
        ("error:rate=0", "rate must be in (0, 1]"),
        ("error:rate=1.5", "rate must be in (0, 1]"),
        ("error:rate=nan", "rate must be in (0, 1]"),
        ("error:rate=lots", "rate needs a number"),
        ("error:seed=4", "seed only goes with rate"),
        ("error:after=-2", "after must be 0 or more"),
        ("error:code=FOO", "unknown error code 'FOO'"),
        ("error:code=0", "unknown error code '0'"),
        ("error:code=9999", "unknown error code '9999'"),
        ("disconnect:ms=3", "unknown key 'ms' for disconnect"),
        ("delay", "delay needs ms=N"),
        ("delay:every=2", "delay needs ms=N"),
        ("delay:ms=-1", "ms must be in 0..600000"),
        ("delay:ms=5,code=7", "unknown key 'code' for delay"),
        ("disconnect:code=7", "unknown key 'code' for disconnect"),
        ("disconnect:color=red", "unknown key 'color' for disconnect"),
    ],
)
def test_errors_name_the_problem_on_one_line_with_valid_forms(text: str, problem: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_fault_spec(text)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"bad fault spec {text!r}: ")
    assert problem in message
    assert message.endswith(f"(valid: {VALID_FORMS})")
    for form in ("error[", "lost-ack[", "delay:ms=N", "disconnect[", "every=N", "first=K"):
        assert form in message


def test_multiline_input_is_shown_on_one_line() -> None:
    with pytest.raises(UsageError) as caught:
        parse_fault_spec("error:\nevery=x")
    assert "\n" not in str(caught.value)


def test_constructor_checks_like_the_parser() -> None:
    with pytest.raises(ValueError, match="exclude each other"):
        FaultSpec(FaultKind.ERROR, every=2, rate=0.5)
    with pytest.raises(ValueError, match="code only goes with"):
        FaultSpec(FaultKind.DELAY, ms=3, code=7)
    assert FaultSpec(FaultKind("error"), every=1) == FaultSpec(FaultKind.ERROR)


def test_describe_is_one_line_and_says_what_happens() -> None:
    assert parse_fault_spec("error:every=3").describe() == (
        "error REQUEST_TIMED_OUT (7) on every 3rd produce request: "
        "answered by the proxy, not written"
    )
    assert "written, then the success is replaced" in parse_fault_spec("lost-ack").describe()
    assert parse_fault_spec("delay:ms=200").describe() == (
        "delay answers 200 ms on every produce request"
    )
    assert "the first 2 produce requests after the first 5" in (
        parse_fault_spec("disconnect:first=2,after=5").describe()
    )
    assert (
        "20% of produce requests (seed 7)" in parse_fault_spec("error:rate=0.2,seed=7").describe()
    )
    assert "does not retry" in parse_fault_spec("error:code=CORRUPT_MESSAGE").describe()
    assert "every 22nd" in parse_fault_spec("error:every=22").describe()
    assert "every 11th" in parse_fault_spec("error:every=11").describe()


def test_error_codes() -> None:
    assert parse_error_code("request_timed_out") == 7
    assert parse_error_code("6") == 6
    assert error_code_name(6) == "NOT_LEADER_OR_FOLLOWER"
    assert error_code_name(19) == "NOT_ENOUGH_REPLICAS"
    assert error_code_retriable(7) and error_code_retriable(19) and error_code_retriable(20)
    assert not error_code_retriable(2)
    with pytest.raises(ValueError):
        parse_error_code("NO_ERROR")


# --------------------------------------------------------------------------- selection


def picks(text: str, upto: int = 30) -> list[int]:
    spec = parse_fault_spec(text)
    return [n for n in range(1, upto + 1) if spec.selects(n)]


def test_every_first_after() -> None:
    assert picks("error:every=3", 12) == [3, 6, 9, 12]
    assert picks("error:first=2", 12) == [1, 2]
    assert picks("error:first=2,after=5", 12) == [6, 7]
    assert picks("error:every=4,after=2", 14) == [6, 10, 14]
    assert picks("error", 4) == [1, 2, 3, 4]
    assert picks("error:after=2", 4) == [3, 4]
    assert picks("error:rate=1", 5) == [1, 2, 3, 4, 5]


def test_rate_is_a_function_of_seed_and_request_number() -> None:
    first = picks("error:rate=0.2,seed=7", 2000)
    assert first == picks("error:rate=0.2,seed=7", 2000)
    assert first != picks("error:rate=0.2,seed=8", 2000)
    assert 300 <= len(first) <= 500  # 20% of 2000, loosely
    # Asking in another order, or asking twice, changes nothing.
    spec = parse_fault_spec("error:rate=0.2,seed=7")
    assert [n for n in reversed(range(1, 2001)) if spec.selects(n)] == first[::-1]
    assert first[:8] == picks("error:seed=7,rate=0.2", 60)[:8]


def test_rate_known_values_are_stable() -> None:
    # Pinned, so a change to the hashing shows up as a failing test rather than as demos
    # that silently hit other requests.
    assert picks("error:rate=0.2,seed=7", 40) == [2, 5, 18, 23, 27, 28, 32, 34, 39]


@given(
    seed=st.integers(min_value=0, max_value=2**31),
    rate=st.floats(min_value=0.01, max_value=1.0),
    after=st.integers(min_value=0, max_value=50),
)
def test_rate_selection_is_deterministic_and_respects_after(
    seed: int, rate: float, after: int
) -> None:
    a = FaultSpec(FaultKind.ERROR, rate=rate, seed=seed, after=after)
    b = parse_fault_spec(str(a))
    assert b == a
    chosen = [n for n in range(1, 200) if a.selects(n)]
    assert chosen == [n for n in range(1, 200) if b.selects(n)]
    assert all(n > after for n in chosen)


@given(
    kind=st.sampled_from(list(FaultKind)),
    select=st.sampled_from(["every", "first", "rate", None]),
    value=st.integers(min_value=1, max_value=1000),
    after=st.integers(min_value=0, max_value=100),
    code=st.sampled_from([None, 2, 5, 6, 7, 19, 20]),
)
def test_canonical_round_trip(
    kind: FaultKind, select: str | None, value: int, after: int, code: int | None
) -> None:
    kwargs: dict[str, object] = {"after": after}
    if select == "rate":
        kwargs["rate"] = value / 1000
        kwargs["seed"] = value
    elif select is not None:
        kwargs[select] = value
    if kind in (FaultKind.ERROR, FaultKind.LOST_ACK):
        kwargs["code"] = code
    if kind is FaultKind.DELAY:
        kwargs["ms"] = value
    spec = FaultSpec(kind, **kwargs)  # type: ignore[arg-type]
    assert parse_fault_spec(str(spec)) == spec
    assert "\n" not in spec.describe()


def test_error_answers_can_be_held_by_requests_or_time() -> None:
    spec = parse_fault_spec("error:every=7,hold=4")
    assert spec.hold == 4 and str(spec) == "error:every=7,code=REQUEST_TIMED_OUT,hold=4"
    assert parse_fault_spec(str(spec)) == spec
    assert "4 more requests" in spec.describe()
    timed = parse_fault_spec("lost-ack:first=2,ms=20")
    assert timed.ms == 20 and parse_fault_spec(str(timed)) == timed
    for bad, problem in [
        ("lost-ack:hold=2", "unknown key 'hold' for lost-ack"),
        ("error:hold=0", "hold must be in 1..1000"),
        ("delay:ms=5,hold=1", "unknown key 'hold' for delay"),
    ]:
        with pytest.raises(UsageError) as caught:
            parse_fault_spec(bad)
        assert problem in str(caught.value)
