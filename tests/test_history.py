"""History files: the one line format, written and read back."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import get_args

from hypothesis import given
from hypothesis import strategies as st

from ridectl.judge.history import (
    Observation,
    SchemaName,
    parse_ride_event,
    read_ndjson,
    read_ndjson_file,
    ride_event_columns,
    run_event_columns,
    write_ndjson,
)
from ridectl.judge.lifecycle import SCHEMA


@given(
    st.builds(
        Observation,
        st.integers(0, 2**40),
        st.text(max_size=12),
        st.integers(1, 5),
        st.integers(0, 500),
        st.integers(0, 2**40),
        st.text(max_size=8),
    )
)
def test_a_line_is_the_compact_json_of_the_observation(obs: Observation) -> None:
    line = obs.to_line()
    assert line == json.dumps(obs.to_dict(), separators=(",", ":")) + "\n"
    buf = io.StringIO()
    assert write_ndjson([obs], buf) == 1
    history = read_ndjson(io.StringIO(buf.getvalue()))
    assert history.observations == [obs]
    assert history.malformed == 0


def test_any_json_layout_reads_the_same(tmp_path: Path) -> None:
    obs = [Observation(i, f"r{i % 3}", i % 5 + 1, i % 2, 10 + i, "run") for i in range(40)]
    compact = "".join(o.to_line() for o in obs)
    spaced = "".join(json.dumps(o.to_dict(), separators=(", ", ": ")) + "\n" for o in obs)
    shuffled = "".join(
        json.dumps({"extra": [1, {"x": None}], **dict(reversed(o.to_dict().items()))}) + "\n"
        for o in obs
    )
    for text in (compact, spaced, shuffled):
        assert read_ndjson(io.StringIO(text)).observations == obs
        path = tmp_path / "h.ndjson"
        path.write_text(text)
        assert read_ndjson_file(path).observations == obs


def test_bad_lines_are_counted_and_the_rest_kept(tmp_path: Path) -> None:
    good = Observation(0, "r", 1, 0, 0, "run")
    other = Observation(1, "q", 2, 0, 1, "other")
    bad = [
        "not json",
        '{"pos":1,"ride_id":"r","seq":6,"partition":0,"offset":1}',  # seq outside 1..5
        '{"pos":1,"ride_id":"r","seq":2,"partition":-1,"offset":1}',  # negative partition
        '{"pos":1,"ride_id":"r","seq":true,"partition":0,"offset":1}',
        '{"pos":1,"ride_id":"r","seq":2.0,"partition":0,"offset":1}',
        '{"pos":1,"seq":2,"partition":0,"offset":1}',  # no ride_id
        "[1, 2]",
    ]
    text = "\n".join([good.to_line().strip(), *bad, "", "   ", other.to_line()])
    history = read_ndjson(io.StringIO(text), run_id="run")
    assert (history.observations, history.malformed, history.foreign) == ([good], len(bad), 1)
    path = tmp_path / "h.ndjson"
    path.write_bytes(
        text.encode() + b'\n{"pos":2,"ride_id":"\xff","seq":3,"partition":0,"offset":2}'
    )
    from_file = read_ndjson_file(path)
    assert from_file.malformed == len(bad)
    assert from_file.observations[-1] == Observation(2, "\ufffd", 3, 0, 2)


def test_record_values_in_any_layout() -> None:
    value = {"schema": SCHEMA, "ride_id": "r-1", "seq": 4, "type": "RideCompleted", "run_id": "x"}
    assert parse_ride_event(json.dumps(value).encode()) == ("r-1", 4, "x")
    assert parse_ride_event(json.dumps({"pad": "yy", **value}, indent=1).encode()) == (
        "r-1",
        4,
        "x",
    )
    for broken in ({**value, "schema": "other/1"}, {**value, "seq": 0}, {**value, "seq": True}):
        assert parse_ride_event(json.dumps(broken).encode()) is None
    assert parse_ride_event(b"\xff{") is None
    assert parse_ride_event(b'{"schema": "' + SCHEMA.encode() + b'", "ride_id": "\xff"}') is None
    assert parse_ride_event(None) is None


def test_the_schema_type_is_the_lifecycle_schema_and_columns_refuse_others() -> None:
    assert get_args(SchemaName) == (SCHEMA,)
    value = {"schema": SCHEMA, "ride_id": "r-1", "seq": 4, "run_id": "x"}
    ours = json.dumps(value).encode()
    assert ride_event_columns([ours, ours]) == (["r-1", "r-1"], [4, 4], ["x", "x"])
    other = json.dumps({**value, "schema": "ridectl.ride-event/2"}).encode()
    assert ride_event_columns([ours, other]) is None
    assert ride_event_columns([ours, b" " + ours]) is None  # not starting with "{": not ours


def test_columns_of_one_run_refuse_any_other_run_and_anything_not_ours() -> None:
    value = {"schema": SCHEMA, "ride_id": "r-1", "seq": 4, "run_id": "x", "extra": [1]}
    ours = json.dumps(value, indent=1).encode()
    assert run_event_columns([ours, ours], "x") == (["r-1", "r-1"], [4, 4])
    assert run_event_columns([ours], "y") is None
    assert run_event_columns([ours, json.dumps({**value, "run_id": "y"}).encode()], "x") is None
    for bad in (None, b"", b" " + ours, ours[:-1], ours.replace(b"4", b"9")):
        assert run_event_columns([ours, bad], "x") is None
    assert ride_event_columns([ours, b""]) is None


def test_values_no_decoder_can_take_are_foreign_not_errors() -> None:
    """JSON nested past the interpreter's recursion limit, and a run id (from the command
    line) that no JSON text can hold, are records that are not ours, never a crash."""
    deep = b"{" + b'"a":[' * 1500 + b"]" * 1500 + b"}"
    assert parse_ride_event(deep) is None
    assert ride_event_columns([deep]) is None
    assert run_event_columns([deep], "x") is None
    value = {"schema": SCHEMA, "ride_id": "r-1", "seq": 4, "run_id": "x"}
    assert run_event_columns([json.dumps(value).encode()], "\udcff") is None


def test_a_history_line_nested_past_the_recursion_limit_is_one_malformed_line() -> None:
    line = Observation(0, "r-1", 1, 0, 0, "x").to_line()
    deep = '{"x":' + "[" * 1500 + "]" * 1500 + "}\n"
    history = read_ndjson(io.StringIO(line + deep + line.replace('"pos":0', '"pos":1')))
    assert history.malformed == 1 and history.events == 2
