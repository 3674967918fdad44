"""``check`` tells "judged N rides, found nothing" from "judged nothing": a run that is not
there is an error naming the runs that are, and an empty history never passes --exit-code."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliResult

Cli = Callable[..., CliResult]


def _one_error(r: CliResult, code: int = 2) -> str:
    assert r.code == code, r
    lines = [ln for ln in r.err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r
    assert "Traceback" not in r.err and "unexpected" not in r.err, r
    return lines[0]


def _history(path: Path, run_ids: list[str]) -> Path:
    lines, pos = [], 0
    for run_id in run_ids:
        for seq in range(1, 6):
            doc = {"pos": pos, "ride_id": "r1", "seq": seq, "partition": 0, "offset": pos}
            lines.append(json.dumps({**doc, "run_id": run_id}))
            pos += 1
    path.write_text("\n".join(lines) + ("\n" if lines else ""))
    return path


def test_an_empty_history_fails_the_exit_code(cli: Cli, tmp_path: Path) -> None:
    empty = _history(tmp_path / "empty.ndjson", [])
    line = _one_error(cli("check", "--from", str(empty), "--exit-code"))
    assert "nothing to judge" in line and str(empty) in line
    # Without --exit-code nobody relies on the status: it says so and exits 0.
    r = cli("check", "--from", str(empty))
    assert r.code == 0 and "No ride events to check." in r.out


def test_a_run_missing_from_a_history_file_names_the_runs_in_it(cli: Cli, tmp_path: Path) -> None:
    path = _history(tmp_path / "h.ndjson", ["run-a", "run-b"])
    line = _one_error(cli("check", "--from", str(path), "--run-id", "run-x"))
    assert "no events of run run-x" in line and "run-b, run-a" in line
    assert cli("check", "--from", str(path), "--run-id", "run-a", "--exit-code").code == 0


@pytest.mark.kafka
def test_a_run_missing_from_the_topic_names_the_runs_on_it(
    cli: Cli, kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("nothing")
    produced = []
    for _ in range(2):
        r = cli("produce", "-t", topic, "-n", "3", "-b", kafka_bootstrap, "-f", "json")
        assert r.code == 0, r
        produced.append(json.loads(r.out)["run_id"])
    for extra in ([], ["--exit-code"]):
        r = cli("check", "-t", topic, "--run-id", "no-such-run", "-b", kafka_bootstrap, *extra)
        line = _one_error(r)
        assert f"no events of run no-such-run in topic {topic}" in line
        assert all(run_id in line for run_id in produced), line
        assert r.out == ""
    # The run that is there is judged as before.
    r = cli("check", "-t", topic, "--run-id", produced[0], "-b", kafka_bootstrap, "--exit-code")
    assert r.code == 0, r
