"""Run records: what ``produce`` remembers so ``check`` can find the run and its acks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ridectl.judge.history import Ack
from ridectl.run import store


def _record(run_id: str, topic: str) -> dict[str, object]:
    return {"run_id": run_id, "topic": topic, "rides": 2}


def test_saved_run_is_the_last_one_on_its_topic_and_keeps_its_acks() -> None:
    acks = [Ack("ride-00000", 1, 0, 10), Ack("ride-00001", 1, 2, 0)]
    path = store.save_run(_record("20260101-000000-aaaa", "rides"), acks)
    assert path.name == "20260101-000000-aaaa.json"
    assert store.last_run("rides") == _record("20260101-000000-aaaa", "rides")
    assert store.last_run() == _record("20260101-000000-aaaa", "rides")
    assert store.last_run("other") is None
    assert store.load_acks("20260101-000000-aaaa") == acks


def test_a_later_run_replaces_the_last_one_but_the_older_stays_loadable() -> None:
    store.save_run(_record("20260101-000000-aaaa", "a"), [])
    store.save_run(_record("20260101-000001-bbbb", "b"), [])
    assert store.last_run("a") is None
    assert store.last_run("b") is not None
    assert store.load_run("20260101-000000-aaaa") == _record("20260101-000000-aaaa", "a")


def test_missing_or_damaged_records_read_as_none() -> None:
    assert store.last_run() is None
    assert store.load_run("nope") is None
    assert store.load_acks("nope") is None
    store.save_run(_record("r1", "t"), [Ack("ride-00000", 1, 0, 0)])
    (store.home() / "runs" / "r1.json").write_text("{not json")
    assert store.load_run("r1") is None
    assert store.last_run("t") is None
    # A damaged line of the acks file is skipped, the others kept.
    acks_file = store.home() / "runs" / "r1.acks.ndjson"
    good = json.dumps({"ride_id": "ride-00001", "seq": 2, "p": 1, "o": 5})
    wrong_type = json.dumps({"ride_id": "ride-00002", "seq": "2", "p": 1, "o": 6})
    acks_file.write_text('{"ride_id": "x"}\n' + "garbage\n" + good + "\n" + wrong_type + "\n")
    assert store.load_acks("r1") == [Ack("ride-00001", 2, 1, 5)]


def test_acks_are_saved_one_compact_json_object_a_line_and_read_back() -> None:
    acks = [Ack(f"ride-{i:05d}", i % 5 + 1, i % 3, i) for i in range(1000)] + [
        Ack('fahrt-ü"x', 1, 0, 7)
    ]
    store.save_run(_record("r2", "t"), acks)
    lines = (store.home() / "runs" / "r2.acks.ndjson").read_text(encoding="utf-8").splitlines()
    assert lines[0] == '{"ride_id":"ride-00000","seq":1,"p":0,"o":0}'
    assert [json.loads(line)["ride_id"] for line in lines[-2:]] == ["ride-00999", 'fahrt-ü"x']
    assert store.load_acks("r2") == acks


def test_run_ids_sort_by_the_time_they_started() -> None:
    first = store.new_run_id()
    assert store.is_newer("20261127-061300-0000", "20261127-061259-ffff")
    assert not store.is_newer(first, first)
    assert len(first.split("-")) == 3


def test_home_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RIDECTL_HOME")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert store.home() == tmp_path / "state" / "ridectl"
    monkeypatch.setenv("RIDECTL_HOME", str(tmp_path / "mine"))
    assert store.home() == tmp_path / "mine"


def test_run_ids_made_one_after_another_sort_in_that_order() -> None:
    made = [store.new_run_id() for _ in range(2000)]
    assert made == sorted(made) and len(set(made)) == len(made)
    for run_id in made[:5]:
        date, clock, tail = run_id.split("-")
        assert len(date) == 8 and len(clock) == 6 and len(tail) == 4, run_id
