"""The launcher begins reading ``check --from FILE`` before the command line is parsed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ridectl.bench.histories import generate_history
from ridectl.judge import arrow_read
from ridectl.judge.checker import check
from ridectl.judge.columnar import check_columns
from ridectl.judge.history import read_ndjson_file
from ridectl.judge.stream import check_file
from ridectl.launch import early_check_file
from ridectl.phases import PREFIX


@pytest.mark.parametrize(
    ("argv", "wanted"),
    [
        (["check", "--from", "h.ndjson"], (Path("h.ndjson"), None)),
        (["check", "--from=h.ndjson", "--run-id", "r1"], (Path("h.ndjson"), "r1")),
        (["check", "--run-id=r2", "--format", "json", "--from", "x"], (Path("x"), "r2")),
        (["check", "--from", "a", "--from", "b"], (Path("b"), None)),
        (["check", "--from", "-"], None),
        (["check", "--from"], None),
        (["check", "--topic", "t"], None),
        (["check", "--", "--from", "h"], None),
        (["consume", "--from", "h"], None),
        (["--version"], None),
        ([], None),
    ],
)
def test_the_sketch_of_the_arguments(argv: list[str], wanted: object) -> None:
    assert early_check_file(argv) == wanted


def test_a_begun_read_is_taken_by_the_same_file_and_run(tmp_path: Path) -> None:
    spec = generate_history(tmp_path / "h.ndjson", 2_000, damaged_share=0.05)
    arrow_read.begin(spec.path, None)
    begun = arrow_read._started[-1]
    assert arrow_read.take(spec.path, "other-run") is not begun
    assert arrow_read.take(spec.path, None) is begun
    assert arrow_read.take(spec.path, None) is not begun  # handed over once
    arrow_read.begin(spec.path, None)
    judged = check_columns(spec.path)
    assert not arrow_read._started
    assert judged is not None and judged[1] == check(read_ndjson_file(spec.path))


def test_a_missing_file_begins_nothing(tmp_path: Path) -> None:
    arrow_read.begin(tmp_path / "nope.ndjson", None)
    assert not arrow_read._started


def _ridectl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ridectl", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_a_usage_error_with_a_read_in_flight_is_one_line(tmp_path: Path) -> None:
    spec = generate_history(tmp_path / "h.ndjson", 200_000)
    res = _ridectl("check", "--from", str(spec.path), "--limit", "0")
    assert res.returncode == 2, res
    assert res.stderr.count("\n") == 1 and "error:" in res.stderr, res.stderr


def test_the_launcher_judges_and_reports_its_phases(tmp_path: Path) -> None:
    spec = generate_history(tmp_path / "h.ndjson", 5_000, damaged_share=0.02)
    res = _ridectl(
        "check", "--from", str(spec.path), "--format", "json", env={"RIDECTL_PHASES": "1"}
    )
    assert res.returncode == 0, res
    assert json.loads(res.stdout)["summary"]["by_kind"]["gap"] == spec.expected()["gap"] > 0
    lines = [line for line in res.stderr.splitlines() if line.startswith(PREFIX)]
    assert len(lines) == 1, res.stderr
    names = [p["phase"] for p in json.loads(lines[0][len(PREFIX) :])]
    assert names[0] == "interpreter" and "judge" in names and names[-1] == "exit"
    assert PREFIX not in _ridectl("check", "--from", str(spec.path)).stderr


def test_a_pipe_is_read_line_by_line(tmp_path: Path) -> None:
    """A named pipe (or ``--from <(zcat ...)``) has no size to cut: the columnar reader
    leaves it whole to the line-by-line path, which judges it as a file."""
    spec = generate_history(tmp_path / "h.ndjson", 3_000, damaged_share=0.05)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def write() -> None:
        with fifo.open("wb") as fh:
            fh.write(spec.path.read_bytes())

    writer = threading.Thread(target=write)
    writer.start()
    try:
        _, report = check_file(fifo)
    finally:
        writer.join(timeout=30)
    assert report == check(read_ndjson_file(spec.path))


def test_ctrl_c_before_the_command_line_is_ready(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C while the command line is still being imported: "interrupted" and 130."""
    import ridectl.cli
    from ridectl import launch

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(sys, "argv", ["ridectl", "check", "--topic", "t"])
    monkeypatch.setattr(ridectl.cli, "main", interrupted)
    with pytest.raises(SystemExit) as exited:
        launch.main()
    assert exited.value.code == 130
    assert capsys.readouterr().err == "interrupted\n"
