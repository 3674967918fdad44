"""The streaming check of a history file gives the verdict of reading it whole and checking."""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest.mock import patch

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ridectl.bench.histories import LAYOUTS, generate_history
from ridectl.judge import arrow_read, file_parts
from ridectl.judge import history as history_module
from ridectl.judge.checker import check
from ridectl.judge.columnar import check_columns
from ridectl.judge.history import Observation, read_ndjson, read_ndjson_file
from ridectl.judge.stream import check_file, check_lines

#: Rows (ride, seq, partition, offset, run id) of a small random history.
_ROWS = st.lists(
    st.tuples(
        st.integers(0, 6),
        st.integers(1, 5),
        st.integers(0, 3),
        st.integers(0, 9),
        st.sampled_from(["a", "b"]),
    ),
    max_size=60,
)


def _shuffled_history(
    rows: list[tuple[int, int, int, int, str]], rng: random.Random
) -> list[Observation]:
    """The rows as observations, plus three clean rides of run ``a``, shuffled."""
    obs = [Observation(0, f"r{r}", s, p, o, run) for r, s, p, o, run in rows]
    for k in range(3):
        obs += [Observation(0, f"c{k}", s, k, 20 + s, "a") for s in range(1, 6)]
    rng.shuffle(obs)
    return obs


@given(
    _ROWS,
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
    obs = _shuffled_history(rows, rng)
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


def _layout(o: Observation, style: int, rng: random.Random) -> str:
    """One history line in one of several layouts: ours, spaced, keys shuffled with an extra
    field, pretty separators with tabs."""
    if style == 0:
        return o.to_line()
    doc: dict[str, object] = dict(o.to_dict())
    if style == 1:
        return json.dumps(doc) + "\n"
    if style == 2:
        doc["note"] = {"any": [1, "x", None]}
        keys = list(doc)
        rng.shuffle(keys)
        return json.dumps({k: doc[k] for k in keys}, separators=(",", ":")) + "\n"
    return json.dumps(doc, separators=(" ,\t", " :  ")) + "\r\n"


#: Lines msgspec takes differently from a naive reader: each is malformed for msgspec, or
#: decodes to something particular (two objects on one line, a huge position).
_DAMAGED = [
    "junk",
    "[1]",
    "5",
    '{"pos": 1}',
    '{"pos":0,"ride_id":"d","seq":1.0,"partition":0,"offset":0,"run_id":"a"}',
    '{"pos":0,"ride_id":"d","seq":"1","partition":0,"offset":0,"run_id":"a"}',
    '{"pos":0,"ride_id":"d","seq":true,"partition":0,"offset":0,"run_id":"a"}',
    '{"pos":0,"ride_id":7,"seq":1,"partition":0,"offset":0,"run_id":"a"}',
    '{"pos":0,"ride_id":"d","seq":1,"seq":2,"partition":0,"offset":0,"run_id":"a"}',
    '{"pos":0,"ride_id":"d","seq":6,"partition":0,"offset":0,"run_id":"a"}',
    '{"pos":0,"ride_id":"d","seq":0,"partition":0,"offset":0,"run_id":"a"}',
    '{"pos":0,"ride_id":"d","seq":1,"partition":-1,"offset":0,"run_id":"a"}',
    '{"pos":0,"ride_id":"d","seq":1,"partition":0,"offset":-3,"run_id":"a"}',
    '{"pos":0,"ride_id":"d","seq":1,"partition":0,"offset":0,"run_id":null}',
    '{"pos":0,"ride_id":"d","seq":1,"partition":0,"offset":0}',
    '{"pos":0,"ride_id":"d","seq":1,"partition":0,"offset":0,"run_id":"a"} x',
    '{"pos":0,"ride_id":"d","seq":1,"partition":0,"offset":0,"run_id":"a",}',
    '{"pos":9,"ride_id":"d","seq":2,"partition":0,"offset":1,"run_id":"a"}'
    '{"pos":10,"ride_id":"d","seq":3,"partition":0,"offset":2,"run_id":"a"}',
    '{"pos":99999999999999999999,"ride_id":"d","seq":1,"partition":0,"offset":0,"run_id":"a"}',
    '{"pos":1e2,"ride_id":"d","seq":1,"partition":0,"offset":0,"run_id":"a"}',
    '{"pos":NaN,"ride_id":"d","seq":1,"partition":0,"offset":0,"run_id":"a"}',
    "   ",
]


@given(
    _ROWS,
    st.randoms(use_true_random=False),
    st.booleans(),
    st.sampled_from([None, "a"]),
    st.lists(st.sampled_from(_DAMAGED), max_size=2),
    st.integers(1, 5),
    st.sampled_from([1 << 10, 1 << 12, arrow_read._BLOCK_BYTES]),
)
@settings(max_examples=300, deadline=None)
def test_columns_match_the_plain_check(
    rows: list[tuple[int, int, int, int, str]],
    rng: random.Random,
    in_order: bool,
    run_id: str | None,
    damaged: list[str],
    parts: int,
    block: int,
) -> None:
    """The columnar path gives the verdict and counts of ``check`` on the file read whole, in
    any layout, and takes every undamaged file whatever its layout, however many parts the
    file is cut into for the reader threads and however many blocks each part is parsed in
    (the parts are judged apart, then joined)."""
    with (
        patch.object(arrow_read, "part_count", lambda size: parts),
        patch.object(arrow_read, "_BLOCK_BYTES", block),
    ):
        _columns_match_the_plain_check(rows, rng, in_order, run_id, damaged)


def _columns_match_the_plain_check(
    rows: list[tuple[int, int, int, int, str]],
    rng: random.Random,
    in_order: bool,
    run_id: str | None,
    damaged: list[str],
) -> None:
    obs = _shuffled_history(rows, rng)
    obs = [msgspec.structs.replace(o, position=i * 2) for i, o in enumerate(obs)]
    if not in_order:
        rng.shuffle(obs)
    lines = [_layout(o, rng.randrange(4), rng) for o in obs]
    for line in damaged:
        lines.insert(rng.randrange(len(lines) + 1), line + "\n")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "h.ndjson"
        path.write_text("".join(lines))
        whole = read_ndjson_file(path, run_id=run_id)
        expected = check(whole)
        judged = check_columns(path, run_id=run_id)
        if not damaged:
            assert judged is not None  # any layout takes the columnar path
        if judged is not None:
            history, report = judged
            assert report == expected
            assert (history.malformed, history.foreign) == (whole.malformed, whole.foreign)
            assert history.other_runs == whole.other_runs
        history, report = check_file(path, run_id=run_id)
        assert report == expected
        assert (history.malformed, history.foreign) == (whole.malformed, whole.foreign)


def test_columns_take_a_generated_history_in_both_layouts(tmp_path: Path) -> None:
    for layout in LAYOUTS:
        spec = generate_history(tmp_path / f"{layout}.ndjson", 20_000, layout=layout)
        judged = check_columns(spec.path)
        assert judged is not None
        assert judged[1] == check(read_ndjson_file(spec.path))
        assert judged[1].by_kind["duplicate"] == spec.expected()["duplicate"] > 0


def test_columns_on_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "h.ndjson"
    path.write_text("")
    assert check_file(path)[1] == check(read_ndjson_file(path))


def test_columns_when_the_reader_threads_could_not_compare_their_parts(tmp_path: Path) -> None:
    """The threads compare their parts' ride ids once all are read; when they cannot (their
    meeting point broken), the comparison is made by the caller, to the same verdict."""
    spec = generate_history(tmp_path / "h.ndjson", 20_000, damaged_share=0.05)

    def broken(self: object, timeout: float | None = None) -> int:
        raise threading.BrokenBarrierError

    with (
        patch.object(arrow_read, "part_count", lambda size: 3),
        patch.object(threading.Barrier, "wait", broken),
    ):
        judged = check_columns(spec.path)
    assert judged is not None
    assert judged[1] == check(read_ndjson_file(spec.path))
    assert judged[1].violating_rides > 0 and judged[1].by_kind["duplicate"] > 0


def test_a_file_cut_short_while_it_is_read_is_judged_as_it_is_left(tmp_path: Path) -> None:
    """Without a lease (the file is read, not mapped), a file that another program truncates
    after its parts are laid out and before they are parsed: the parts read short, the
    columnar reader refuses them, and the line-by-line path judges what is left."""
    spec = generate_history(tmp_path / "h.ndjson", 20_000)
    original = file_parts.FileParts.cuts

    def cut_after_laying_out(self: file_parts.FileParts, parts: int) -> list[int]:
        cuts = original(self, parts)
        assert not self.mapped
        os.truncate(spec.path, self.size // 3)
        return cuts

    with (
        patch.object(file_parts, "_lease", lambda fd: False),
        patch.object(arrow_read, "part_count", lambda size: 3),
        patch.object(file_parts.FileParts, "cuts", cut_after_laying_out),
    ):
        assert check_columns(spec.path) is None
        report = check_file(spec.path)[1]
    assert 0 < report.events < 20_000 // 3
    assert report == check(read_ndjson_file(spec.path))


def test_a_mapped_file_cannot_be_cut_short_by_another_program_while_it_is_parsed(
    tmp_path: Path,
) -> None:
    """The file is mapped under a read lease: another program's truncation waits until the
    parse is over (a mapped page cut away under the parser would kill this process with
    SIGBUS), and the verdict is the whole file's."""
    spec = generate_history(tmp_path / "h.ndjson", 20_000)
    whole = check(read_ndjson_file(spec.path))
    original_cuts, original_close = file_parts.FileParts.cuts, file_parts.FileParts.close
    children: list[subprocess.Popen[bytes]] = []
    waiting_at_close: list[bool] = []

    def truncated_meanwhile(self: file_parts.FileParts, parts: int) -> list[int]:
        assert self.mapped  # the lease was granted (our own file, the main thread)
        truncate = f"open({str(spec.path)!r}, 'r+').truncate(100)"
        children.append(subprocess.Popen([sys.executable, "-c", truncate]))
        with contextlib.suppress(subprocess.TimeoutExpired):
            children[0].wait(1.0)  # (it waits for the lease, far longer than this)
        return original_cuts(self, parts)

    def closing(self: file_parts.FileParts) -> None:
        # the parse is over and the lease not yet let go: the other program still waits
        waiting_at_close.append(children[0].poll() is None)
        original_close(self)

    with (
        patch.object(arrow_read, "part_count", lambda size: 3),
        patch.object(file_parts.FileParts, "cuts", truncated_meanwhile),
        patch.object(file_parts.FileParts, "close", closing),
    ):
        judged = check_columns(spec.path)
    assert judged is not None and judged[1] == whole
    assert waiting_at_close == [True]
    assert children[0].wait(30) == 0  # and done once the lease was let go
    assert spec.path.stat().st_size == 100


@pytest.mark.parametrize("bad_line", [False, True])
def test_a_bad_line_changes_nothing_but_its_own_count(tmp_path: Path, bad_line: bool) -> None:
    """Objects back to back on one line, a line of blanks, a line separator (U+2028) inside a
    ride id: read the same whether the chunk holding them is decoded whole or, because of a
    bad line elsewhere in it, line by line; every path gives one verdict."""
    obs = [Observation(i, f"r{i // 5}\u2028x", i % 5 + 1, 0, i) for i in range(15)]
    lines = [o.to_line().replace("\\u2028", "\u2028") for o in obs]
    lines[1] = lines[1].rstrip("\n") + lines[2]  # two objects on one line
    lines[2] = " \t \n"
    lines[6] = lines[6].rstrip("\n") + " " + lines[7]  # and with a blank between
    lines[7] = "\n"
    if bad_line:
        lines.insert(10, "not json\n")
    path = tmp_path / "h.ndjson"
    path.write_text("".join(lines), encoding="utf-8")
    whole = read_ndjson_file(path)
    assert (len(whole.observations), whole.malformed) == (15, int(bad_line))
    assert whole.observations[:3] == obs[:3] and whole.observations[-1] == obs[-1]
    expected = check(whole)
    assert expected.violating_rides == 0
    assert check_file(path)[1] == expected
    judged = check_columns(path)
    assert judged is None or judged[1] == expected
