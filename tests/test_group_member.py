"""The group-member process and its journal: command-line checks, the journal reader, the
merged group journal (pure), and on the real broker: a SIGKILLed member's journal is whole and
a second member resumes exactly at the offsets the journal says were committed; a transactional
run's aborted rides are invisible to a read_committed member."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ridectl.clients.settings import build_settings
from ridectl.judge.history import Ack
from ridectl.run.options import ProduceOptions
from ridectl.run.produce import run_produce
from ridectl.run.store import new_run_id
from ridectl.scenarios.children.group_member import (
    Assignor,
    Isolation,
    Journal,
    MemberConfig,
    config_from_args,
)
from ridectl.scenarios.children.transactions import TransactionalOptions, produce_in_transactions
from ridectl.scenarios.group_run import GroupJournal, MemberView, Processed, group_run

# -- pure ---------------------------------------------------------------------------------


def _cfg(tmp_path: Path, **changes: object) -> MemberConfig:
    base = {
        "bootstrap": "127.0.0.1:9092",
        "topic": "t",
        "group": "g",
        "journal": tmp_path / "m.ndjson",
        "name": "m",
    }
    return MemberConfig(**{**base, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"commit_every": None, "auto_commit_ms": 250, "handoff": True},
        {
            "assignor": Assignor.COOPERATIVE_STICKY,
            "isolation": Isolation.READ_COMMITTED,
            "commit_on_revoke": True,
            "delay_ms": 2.5,
            "extra": ("client.id=x",),
            "rebalance_timeout_ms": 20000,
            "request_timeout_ms": 9000,
        },
        {"hold": True, "session_timeout_ms": 1000, "heartbeat_ms": 200},
    ],
)
def test_argv_round_trips(tmp_path: Path, changes: dict[str, object]) -> None:
    cfg = _cfg(tmp_path, **changes)
    assert config_from_args(cfg.argv()[3:]) == cfg


@pytest.mark.parametrize(
    "extra, says",
    [
        (["--commit-every", "0"], "--commit-every must be 1 or more"),
        (["--handoff"], "--handoff needs --auto-commit-ms"),
        (["--assignor", "sticky"], "invalid Assignor value"),
        (["--commit-every", "3", "--auto-commit-ms", "5"], "not allowed with"),
        (["-X", "novalue"], "-X takes key=value"),
        (["--rebalance-timeout-ms", "6000"], "must be longer than --session-timeout-ms"),
    ],
)
def test_bad_command_line_is_one_line_and_exit_2(extra: list[str], says: str) -> None:
    args = ["--bootstrap", "127.0.0.1:1", "--topic", "t", "--group", "g", "--journal", "j"]
    proc = subprocess.run(
        [sys.executable, "-m", "ridectl.scenarios.children.group_member", *args, *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert says in proc.stderr.strip().splitlines()[-1]


def test_journal_reader_waits_for_a_whole_line(tmp_path: Path) -> None:
    path = tmp_path / "j.ndjson"
    journal = Journal(path, "m")
    journal.write("assigned", partitions=[0, 1])
    journal.write("rec", p=0, o=4, ride="ride-1", seq=2, run="r")
    view = MemberView("m")
    view.refresh(path)
    assert view.owned == {0, 1}
    assert [(p.partition, p.offset, p.seq) for p in view.processed] == [(0, 4, 2)]
    with path.open("ab") as fh:  # a line cut short, as a kill in mid-write would leave it
        fh.write(b'{"ev":"commit","m":"m","offsets":{"0":5}')
    view.refresh(path)
    assert view.commits == []
    with path.open("ab") as fh:
        fh.write(b',"ts":7}\n')
    view.refresh(path)
    assert [c.offsets for c in view.commits] == [{0: 5}]
    journal.write("revoked", partitions=[1])
    journal.write("idle", lag={"0": 0}, end={"0": 9})
    view.refresh(path)
    assert view.owned == {0}
    assert (view.idle_lag, view.idle_end) == ({0: 0}, {0: 9})
    journal.close()


def _rec(member: str, p: int, o: int, seq: int, ts: int, ride: str = "r1") -> Processed:
    return Processed(member, p, o, ride, seq, "run", ts)


def test_group_journal_merges_by_time_and_judges_figures() -> None:
    a, b = MemberView("a"), MemberView("b")
    a.processed = [_rec("a", 0, 0, 1, 10), _rec("a", 0, 1, 2, 30), _rec("a", 0, 2, 3, 50)]
    b.processed = [_rec("b", 0, 1, 2, 60), _rec("b", 0, 2, 3, 70), _rec("b", 0, 3, 4, 80)]
    a.commits = [_commit("a", {0: 1}, 20)]
    b.commits = [_commit("b", {0: 6}, 90)]
    journal = GroupJournal.merge([b, a])
    history = journal.history("run")
    assert [(o.position, o.offset) for o in history.observations] == [
        (0, 0), (1, 1), (2, 2), (3, 1), (4, 2), (5, 3),
    ]  # fmt: skip
    assert journal.committed() == {0: 6}
    assert journal.redelivered() == {(0, 1), (0, 2)}
    assert journal.uncommitted_at_end("a") == {(0, 1), (0, 2)}
    acked = [Ack("r1", s, 0, s - 1) for s in range(1, 6)] + [Ack("r2", 1, 0, 7)]
    # offset 4 is below the committed 6 and never processed; 7 is above it.
    assert journal.skipped(acked) == {(0, 4)}
    assert journal.longest_pause_ms(0, 100) == pytest.approx(20 / 1e6)


def _commit(member: str, offsets: dict[int, int], ts: int) -> object:
    from ridectl.scenarios.group_run import Commit

    return Commit(member, offsets, ts)


# -- real broker --------------------------------------------------------------------------


@pytest.mark.kafka
def test_killed_member_journal_is_whole_and_next_member_resumes_at_its_commit(
    kafka_bootstrap: str, new_topic: object, tmp_path: Path
) -> None:
    topic = new_topic("gm")  # type: ignore[operator]
    settings = build_settings(kafka_bootstrap, None, [])
    run = run_produce(
        ProduceOptions(topic=topic, rides=40, settings=settings, partitions=2, seed=3)
    )
    assert run.acked == 200
    base = _cfg(tmp_path, bootstrap=kafka_bootstrap, topic=topic, group=f"{topic}-g")
    with group_run(base) as group:
        first = group.start("first", commit_every=7, delay_ms=5.0)
        group.wait("first processing", lambda: len(first.view.processed) >= 60, 60)
        first.kill()
        killed_view = first.refresh()
        lines = first.cfg.journal.read_bytes().splitlines()
        assert all(json.loads(line)["ev"] for line in lines)  # every line whole
        second = group.start("second", commit_every=7)
        group.wait("second draining", lambda: group.drained(2, [second]), 60)
        group.stop_all()
        journal = group.journals()
    committed_by_first: dict[int, int] = {}
    for c in killed_view.commits:
        for p, o in c.offsets.items():
            committed_by_first[p] = max(committed_by_first.get(p, 0), o)
    resumed: dict[int, int] = {}
    for rec in journal.by_member("second"):
        resumed.setdefault(rec.partition, rec.offset)
    # The broker kept what the journal says was committed: the next member's first record of
    # each partition sits at that offset (0 where nothing was committed), or at the offset of a
    # commit the kill caught in flight (announced by the journal's last "committing" line).
    in_flight: dict[int, int] = {}
    for line in lines:
        doc = json.loads(line)
        if doc["ev"] == "committing":
            in_flight = {int(k): v for k, v in doc["offsets"].items()}
    for p in range(2):
        allowed = {committed_by_first.get(p, 0), in_flight.get(p, committed_by_first.get(p, 0))}
        assert resumed.get(p) in allowed, (p, resumed, committed_by_first, in_flight)
    # Everything acknowledged was processed at least once; what the first member processed
    # after its last commit was processed twice.
    seen = journal.times_processed()
    assert {(a.partition, a.offset) for a in run.acks} <= set(seen)
    assert journal.redelivered() <= journal.uncommitted_at_end("first")


@pytest.mark.kafka
def test_read_committed_member_never_processes_an_aborted_ride(
    kafka_bootstrap: str, new_topic: object, tmp_path: Path
) -> None:
    topic = new_topic("txn")  # type: ignore[operator]
    settings = build_settings(kafka_bootstrap, None, [])
    run_id = new_run_id()
    txn = produce_in_transactions(
        TransactionalOptions(topic, 20, settings, run_id, partitions=2, abort_share=0.3, seed=4)
    )
    assert 0 < len(txn.aborted) < 20
    assert len(txn.acks) == 100
    base = _cfg(tmp_path, bootstrap=kafka_bootstrap, topic=topic)
    with group_run(base) as group:
        readers = {
            i: group.start(i.value, isolation=i, group=f"{topic}-{i.value}") for i in Isolation
        }
        for reader in readers.values():
            group.wait(
                reader.name,
                lambda r=reader: group.drained(2, [r], txn.ends_with_markers()),  # type: ignore[misc]
                60,
            )
        group.stop_all()
        journal = group.journals()
    for isolation, reader in readers.items():
        events = {(p.ride_id, p.seq) for p in journal.by_member(reader.name)}
        aborted = {(a.ride_id, a.seq) for a in txn.aborted_acks()}
        committed = {(a.ride_id, a.seq) for a in txn.committed_acks()}
        assert committed <= events, isolation
        if isolation is Isolation.READ_COMMITTED:
            assert not events & aborted
        else:
            assert aborted <= events


@pytest.mark.kafka
def test_held_member_joins_only_when_released(
    kafka_bootstrap: str, new_topic: object, tmp_path: Path
) -> None:
    topic = new_topic("hold")  # type: ignore[operator]
    settings = build_settings(kafka_bootstrap, None, [])
    run = run_produce(ProduceOptions(topic=topic, rides=10, settings=settings, partitions=2))
    base = _cfg(tmp_path, bootstrap=kafka_bootstrap, topic=topic, group=f"{topic}-g")
    with group_run(base) as group:
        held = group.start("held", hold=True, heartbeat_ms=200)
        other = group.start("other", heartbeat_ms=200)
        group.wait("the held member ready", lambda: held.view.held, 60)
        group.wait("the other member reading all", lambda: group.drained(2, [other]), 60)
        # Everything was read by the one member in the group; the held one never asked.
        assert held.view.subscribed_ts == 0 and not held.view.owned
        assert len(other.view.processed) == run.acked
        held.release()
        group.wait("both members owning partitions", lambda: group.owns_all(2), 60)
        assert held.view.subscribed_ts > other.view.subscribed_ts
        group.stop_all()
        journal = group.journals()
    assert journal.by_member("held") == []  # it joined after everything was committed


@pytest.mark.kafka
def test_commit_on_revoke_commits_what_was_processed_before_giving_partitions_up(
    kafka_bootstrap: str, new_topic: object, tmp_path: Path
) -> None:
    """kafka-python 3 calls the rebalance listener on its IO thread, where a blocking commit
    is refused: the member used to die there ("User rebalance callback throws an error")."""
    topic = new_topic("revoke")  # type: ignore[operator]
    settings = build_settings(kafka_bootstrap, None, [])
    run = run_produce(ProduceOptions(topic=topic, rides=80, settings=settings, partitions=2))
    base = _cfg(
        tmp_path,
        bootstrap=kafka_bootstrap,
        topic=topic,
        group=f"{topic}-g",
        commit_every=10_000,  # nothing is committed but on revocation (and at the end)
        commit_on_revoke=True,
        delay_ms=10.0,
        heartbeat_ms=200,
    )
    with group_run(base) as group:
        first = group.start("first")
        second = group.start("second", hold=True)
        group.wait("first processing", lambda: len(first.view.processed) >= 20, 60)
        group.wait("second ready", lambda: second.view.held, 60)
        second.release()
        group.wait("second processing", lambda: bool(second.view.processed), 60)
        group.wait("the group draining the topic", lambda: group.drained(2), 60)
        group.stop_all()
        journal = group.journals()
    revoked_at = min(ts for ts, parts in first.view.given_up if parts)
    before = [c for c in first.view.commits if c.ts_ns < revoked_at]
    assert before, "the revocation committed nothing"
    # What the first member processed before giving its partitions up was committed then, so
    # whoever read those partitions next started after it: nothing was processed twice.
    assert journal.redelivered() == set()
    assert {(a.partition, a.offset) for a in run.acks} <= set(journal.times_processed())


def test_consumer_lessons_register_after_the_demo_lessons() -> None:
    from ridectl.scenarios.catalogue import LESSONS as ALL
    from ridectl.scenarios.consumer_lessons import CONSUMER_LESSONS
    from ridectl.scenarios.lessons import LESSONS

    names = [lesson.name for lesson in ALL]
    assert len(names) == len(set(names))
    assert [*LESSONS, *CONSUMER_LESSONS] == ALL
    assert {lesson.name for lesson in CONSUMER_LESSONS} == {
        "crash-before-commit", "auto-commit", "transactions", "rebalance", "timeout-gaps",
    }  # fmt: skip
