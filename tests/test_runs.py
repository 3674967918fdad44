"""Run records: what ``produce`` remembers so ``check`` can find the run and its acks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ridectl import runs
from ridectl.judge.history import Ack


def _record(run_id: str, topic: str) -> dict[str, object]:
    return {"run_id": run_id, "topic": topic, "rides": 2}


def test_saved_run_is_the_last_one_on_its_topic_and_keeps_its_acks() -> None:
    acks = [Ack("ride-00000", 1, 0, 10), Ack("ride-00001", 1, 2, 0)]
    path = runs.save_run(_record("20260101-000000-aaaa", "rides"), acks)
    assert path.name == "20260101-000000-aaaa.json"
    assert runs.last_run("rides") == _record("20260101-000000-aaaa", "rides")
    assert runs.last_run() == _record("20260101-000000-aaaa", "rides")
    assert runs.last_run("other") is None
    assert runs.load_acks("20260101-000000-aaaa") == acks


def test_a_later_run_replaces_the_last_one_but_the_older_stays_loadable() -> None:
    runs.save_run(_record("20260101-000000-aaaa", "a"), [])
    runs.save_run(_record("20260101-000001-bbbb", "b"), [])
    assert runs.last_run("a") is None
    assert runs.last_run("b") is not None
    assert runs.load_run("20260101-000000-aaaa") == _record("20260101-000000-aaaa", "a")


def test_missing_or_damaged_records_read_as_none() -> None:
    assert runs.last_run() is None
    assert runs.load_run("nope") is None
    assert runs.load_acks("nope") is None
    runs.save_run(_record("r1", "t"), [Ack("ride-00000", 1, 0, 0)])
    (runs.home() / "runs" / "r1.json").write_text("{not json")
    assert runs.load_run("r1") is None
    assert runs.last_run("t") is None
    # A damaged line of the acks file is skipped, the others kept.
    acks_file = runs.home() / "runs" / "r1.acks.ndjson"
    good = json.dumps({"ride_id": "ride-00001", "seq": 2, "p": 1, "o": 5})
    wrong_type = json.dumps({"ride_id": "ride-00002", "seq": "2", "p": 1, "o": 6})
    acks_file.write_text('{"ride_id": "x"}\n' + "garbage\n" + good + "\n" + wrong_type + "\n")
    assert runs.load_acks("r1") == [Ack("ride-00001", 2, 1, 5)]


def test_acks_are_saved_one_compact_json_object_a_line_and_read_back() -> None:
    acks = [Ack(f"ride-{i:05d}", i % 5 + 1, i % 3, i) for i in range(1000)] + [
        Ack('fahrt-ü"x', 1, 0, 7)
    ]
    runs.save_run(_record("r2", "t"), acks)
    lines = (runs.home() / "runs" / "r2.acks.ndjson").read_text(encoding="utf-8").splitlines()
    assert lines[0] == '{"ride_id":"ride-00000","seq":1,"p":0,"o":0}'
    assert [json.loads(line)["ride_id"] for line in lines[-2:]] == ["ride-00999", 'fahrt-ü"x']
    assert runs.load_acks("r2") == acks


def test_run_ids_sort_by_the_time_they_started() -> None:
    first = runs.new_run_id()
    assert runs.is_newer("20261127-061300-0000", "20261127-061259-ffff")
    assert not runs.is_newer(first, first)
    assert len(first.split("-")) == 3


def test_home_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RIDECTL_HOME")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert runs.home() == tmp_path / "state" / "ridectl"
    monkeypatch.setenv("RIDECTL_HOME", str(tmp_path / "mine"))
    assert runs.home() == tmp_path / "mine"


def test_run_ids_made_one_after_another_sort_in_that_order() -> None:
    made = [runs.new_run_id() for _ in range(2000)]
    assert made == sorted(made) and len(set(made)) == len(made)
    for run_id in made[:5]:
        date, clock, tail = run_id.split("-")
        assert len(date) == 8 and len(clock) == 6 and len(tail) == 4, run_id
