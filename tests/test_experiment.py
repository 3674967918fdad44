"""The experiment: which run is judged, where its acknowledgements come from, and the
kafka-python client behind the seam (real broker for what Kafka does)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from ridectl.clients.base import ClientName, Delivery
from ridectl.clients.factory import make_producer
from ridectl.clients.partitioners import partition_for
from ridectl.clients.settings import build_settings
from ridectl.errors import UsageError
from ridectl.judge.history import Ack, History
from ridectl.run import flow, store
from ridectl.run.consume import ConsumeOptions
from ridectl.run.flow import (
    Experiment,
    RunChoice,
    RunSource,
    attach_acks,
    choose_run,
    read_back,
    run,
)
from ridectl.run.options import ProduceOptions, ProduceResult


def test_the_run_named_wins_then_the_last_produced_here_then_the_newest_on_the_topic() -> None:
    assert choose_run("rides") == RunChoice(None, RunSource.NEWEST_ON_TOPIC)
    store.save_run({"run_id": "r-here", "topic": "rides"}, [])
    assert choose_run("rides") == RunChoice("r-here", RunSource.LAST_HERE)
    assert choose_run("other").source is RunSource.NEWEST_ON_TOPIC
    assert choose_run("rides", "r-named") == RunChoice("r-named", RunSource.NAMED)


def test_the_user_is_told_which_run_is_judged_unless_named() -> None:
    assert RunChoice("r1", RunSource.NAMED).announce("t") is None
    assert RunChoice(None, RunSource.NEWEST_ON_TOPIC).announce("t") is None
    here = RunChoice("r1", RunSource.LAST_HERE).announce("t")
    assert here is not None and "r1" in here and "last one produced to t" in here
    newest = RunChoice("r2", RunSource.NEWEST_ON_TOPIC).announce("t")
    assert newest is not None and "newest found on t" in newest and "--run-id" in newest


def test_acks_come_from_memory_for_a_run_just_produced_else_from_its_record() -> None:
    in_memory = [Ack("ride-00000", 1, 0, 0)]
    saved = [Ack("ride-00000", 1, 2, 7)]
    store.save_run({"run_id": "r1", "topic": "t"}, saved)
    history = History(run_id="r1")
    attach_acks(history, RunChoice("r1", RunSource.PRODUCED, in_memory))
    assert history.acked == in_memory
    attach_acks(history, RunChoice("r1", RunSource.LAST_HERE))
    assert history.acked == saved
    unknown = History(run_id="r-elsewhere")
    attach_acks(unknown, RunChoice(None, RunSource.NEWEST_ON_TOPIC))
    assert unknown.acked is None


@pytest.mark.kafka
def test_an_experiment_produces_reads_back_and_judges_with_the_producers_acks(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("exp")
    settings = build_settings(kafka_bootstrap, None, [])
    opts = ProduceOptions(topic=topic, rides=40, settings=settings, partitions=3, seed=4)
    trial = run(Experiment(opts, label="keyed"))
    assert trial.label == "keyed" and trial.run.acked == 200 and trial.consumed == 200
    assert trial.history.run_id == trial.run.run_id
    assert trial.history.acked == trial.run.acks
    assert trial.report.clean and trial.report.events == 200
    # Read again without naming the run: the newest on the topic, with no acks on record.
    history, _, found = read_back(ConsumeOptions(topic=topic, settings=settings), choose_run(topic))
    assert found == RunChoice(trial.run.run_id, RunSource.NEWEST_ON_TOPIC)
    assert history.acked is None and len(history.observations) == 200


@pytest.mark.kafka
def test_kafka_python_producer_reports_each_record_and_its_settings_by_java_name(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    from ridectl.clients.admin import ensure_topic

    topic = new_topic("seam")
    settings = build_settings(
        kafka_bootstrap, None, ["enable.idempotence=false", "acks=1", "max.request.size=2000"]
    )
    ensure_topic(settings, topic, 4)
    deliveries: list[Delivery] = []
    lock = threading.Lock()

    def note(d: Delivery) -> None:
        with lock:
            deliveries.append(d)

    producer = make_producer(ClientName.KAFKA_PYTHON, settings, topic, note, partitioner="crc32")
    try:
        in_force = producer.settings_in_force()
        assert in_force["acks"] == "1" and in_force["enable.idempotence"] == "false"
        assert in_force["max.in.flight.requests.per.connection"] == "5"
        keys = [f"ride-{i}".encode() for i in range(20)]
        for i, key in enumerate(keys):
            producer.send(i, key, b"v", None)
        producer.send(20, None, b"v", 2)  # an explicit partition
        with pytest.raises(UsageError, match=r"larger than the producer's max\.request\.size"):
            producer.send(21, b"big", b"x" * 5000, None)
        assert producer.flush(30)
        assert producer.partitions_for(topic) == 4
    finally:
        producer.close(5)
    by_index = {d.index: d for d in deliveries}
    assert sorted(by_index) == list(range(21))
    for i, key in enumerate(keys):
        assert by_index[i].ok and by_index[i].partition == partition_for("crc32", key, 4)
        assert by_index[i].offset >= 0
    assert by_index[20].partition == 2


def test_retries_are_counted_for_the_sender_thread_that_logged_them() -> None:
    import logging

    from ridectl.clients.kafka_python import _RetryCounter

    counter = _RetryCounter()
    counter.sender_thread = 1234

    def record(thread: int, msg: str) -> logging.LogRecord:
        rec = logging.LogRecord("kafka.producer.sender", logging.WARNING, "", 0, msg, (), None)
        rec.thread = thread
        return rec

    counter.emit(record(1234, "%s: Got error produce response on %s, retrying (%s left)"))
    counter.emit(record(9999, "%s: Got error produce response on %s, retrying (%s left)"))
    counter.emit(record(1234, "%s: something else"))
    assert counter.retries == 1


def _result(run_id: str) -> ProduceResult:
    from ridectl.clients.admin import TopicInfo

    return ProduceResult(
        run_id, TopicInfo("rides", 3, True, 1), True, 1, 7, acks=[Ack("r", 1, 0, 4)]
    )


def test_a_run_asked_to_be_remembered_is_saved_by_the_flow_with_its_broker_and_acks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(flow, "run_produce", lambda opts: _result("r-kept"))
    opts = ProduceOptions("rides", 1, build_settings("127.0.0.1:1", None, []))
    assert flow.produce(opts).not_remembered is None
    assert store.load_run("r-kept") is None  # not asked: nothing saved
    result = flow.produce(opts, remember=True)
    assert result.not_remembered is None
    record = store.load_run("r-kept")
    assert record is not None and record["bootstrap"] == "127.0.0.1:1"
    assert store.load_acks("r-kept") == [Ack("r", 1, 0, 4)]
    assert choose_run("rides") == RunChoice("r-kept", RunSource.LAST_HERE)


def test_a_run_that_cannot_be_remembered_still_comes_back_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("RIDECTL_HOME", str(blocker))  # a home that is a file: no runs/ in it
    monkeypatch.setattr(flow, "run_produce", lambda opts: _result("r-lost"))
    opts = ProduceOptions("rides", 1, build_settings("127.0.0.1:1", None, []))
    result = flow.produce(opts, remember=True)
    assert result.run_id == "r-lost"
    assert result.not_remembered is not None
    assert str(blocker) in result.not_remembered
