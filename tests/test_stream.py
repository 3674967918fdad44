"""The streaming check of a history file gives the verdict of reading it whole and checking."""

from __future__ import annotations

import io
import json
import random
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ridectl.bench.histories import generate_history
from ridectl.judge import history as history_module
from ridectl.judge.checker import check
from ridectl.judge.history import Observation, read_ndjson, read_ndjson_file
from ridectl.judge.stream import check_file, check_lines


@given(
    st.lists(
        st.tuples(
            st.integers(0, 6),
            st.integers(1, 5),
            st.integers(0, 3),
            st.integers(0, 9),
            st.sampled_from(["a", "b"]),
        ),
        max_size=60,
    ),
    st.randoms(use_true_random=False),
    st.booleans(),
    st.sampled_from([None, "a"]),
    st.lists(st.sampled_from(["junk", "", '{"pos": 1}', "[1]"]), max_size=3),
)
@settings(max_examples=200, deadline=None)
def test_stream_matches_the_whole_history(
    rows: list[tuple[int, int, int, int, str]],
    rng: random.Random,
    in_order: bool,
    run_id: str | None,
    junk: list[str],
) -> None:
    obs = [Observation(0, f"r{r}", s, p, o, run) for r, s, p, o, run in rows]
    for k in range(3):
        obs += [Observation(0, f"c{k}", s, k, 20 + s, "a") for s in range(1, 6)]
    rng.shuffle(obs)
    jump = rng.randrange(len(obs) + 1)  # positions run on by one, then leap once
    obs = [
        Observation(i + (50 if i >= jump else 0), o.ride_id, o.seq, o.partition, o.offset, o.run_id)
        for i, o in enumerate(obs)
    ]
    if not in_order:
        rng.shuffle(obs)
    lines = [o.to_line() for o in obs]
    for j in junk:
        lines.insert(rng.randrange(len(lines) + 1), j + "\n")
    text = "".join(lines)
    whole = read_ndjson(io.StringIO(text), run_id=run_id)
    expected = check(whole)
    history, report = check_lines(io.StringIO(text), run_id=run_id)
    assert report == expected
    assert (history.malformed, history.foreign) == (whole.malformed, whole.foreign)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "h.ndjson"
        path.write_text(text)
        assert check_file(path, run_id=run_id)[1] == expected
        with patch.object(history_module, "_CHUNK_BYTES", 150):  # many chunks
            assert check_file(path, run_id=run_id)[1] == expected


def test_stream_matches_on_a_generated_history(tmp_path: Path) -> None:
    spec = generate_history(tmp_path / "h.ndjson", 20_000, damaged_share=0.01)
    _, report = check_file(spec.path)
    assert report == check(read_ndjson_file(spec.path))
    assert report.by_kind["gap"] == spec.expected()["gap"] > 0


def test_check_from_gives_one_verdict_for_any_layout(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    spec = generate_history(tmp_path / "h.ndjson", 5_000, damaged_share=0.02)
    spaced = tmp_path / "spaced.ndjson"
    spaced.write_bytes(spec.path.read_bytes().replace(b'":', b'": ').replace(b',"', b', "'))
    docs = []
    for path in (spec.path, spaced):
        res = cli("check", "--from", str(path), "--format", "json")
        assert res.code == 0, res
        docs.append(json.loads(res.out))
    assert docs[0] == docs[1]
    assert docs[0]["summary"]["by_kind"]["out_of_order"] == spec.expected()["out_of_order"] > 0
    assert docs[0]["summary"]["by_cause"] == {
        "keying": 0,
        "log": spec.injected["swap"],
        "processing": 0,
    }


def test_check_from_stdin(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = generate_history(tmp_path / "h.ndjson", 2_000, damaged_share=0.02)
    text = spec.path.read_text() + "not json\n"
    expected = check(read_ndjson_file(spec.path)).to_dict()
    expected["summary"]["malformed"] = 1  # type: ignore[index]
    for stdin in (io.TextIOWrapper(io.BytesIO(text.encode())), io.StringIO(text)):
        monkeypatch.setattr(sys, "stdin", stdin)
        res = cli("check", "--from", "-", "--format", "json")
        assert res.code == 0, res
        assert json.loads(res.out) == json.loads(json.dumps(expected))
        assert "1 malformed line(s)" in res.err
