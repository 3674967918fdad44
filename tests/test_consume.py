"""Consuming a run into a history: the record -> observation path (pure), and bounded reads
through the client seam on the real broker."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ridectl.clients.settings import build_settings
from ridectl.judge.history import History
from ridectl.judge.lifecycle import EventEncoder
from ridectl.run.consume import ConsumeOptions, Recorder, consume
from ridectl.run.options import ProduceOptions
from ridectl.run.produce import run_produce


def _event(run_id: str, ride: str, seq: int) -> bytes:
    return EventEncoder(run_id, "keyed").encode(ride, seq, 0.0)


def _feed(recorder: Recorder, values: list[bytes | None]) -> None:
    for offset, value in enumerate(values):
        parsed = recorder.parse(value)
        if parsed is not None:
            recorder.add(parsed, 0, offset)


def test_recorder_keeps_only_the_named_run() -> None:
    history = History(run_id="run-b")
    _feed(
        Recorder(history),
        [_event("run-a", "ride-1", 1), _event("run-b", "ride-1", 1), b"not ours", None],
    )
    assert [(o.ride_id, o.run_id, o.offset) for o in history.observations] == [
        ("ride-1", "run-b", 1)
    ]
    assert history.foreign == 3


def test_recorder_without_a_run_follows_the_newest_one() -> None:
    history = History()
    _feed(
        Recorder(history),
        [
            _event("20260101-000000-aaaa", "ride-1", 1),
            _event("20260101-000000-aaaa", "ride-1", 2),
            _event("20260101-000005-bbbb", "ride-2", 1),  # newer: the view starts over
            _event("20260101-000000-aaaa", "ride-1", 3),  # older again: foreign
            _event("20260101-000005-bbbb", "ride-2", 2),
        ],
    )
    assert history.run_id == "20260101-000005-bbbb"
    assert [(o.position, o.ride_id, o.seq) for o in history.observations] == [
        (2, "ride-2", 1),
        (3, "ride-2", 2),
    ]
    assert history.foreign == 3


@pytest.mark.kafka
def test_consume_reads_the_newest_run_up_to_the_end_and_commits_for_a_group(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("consume")
    settings = build_settings(kafka_bootstrap, None, [])
    runs = [
        run_produce(ProduceOptions(topic=topic, rides=30, settings=settings, partitions=3, seed=s))
        for s in (1, 2)
    ]
    assert runs[0].run_id < runs[1].run_id and all(r.acked == 150 for r in runs)

    history, stats = consume(ConsumeOptions(topic=topic, settings=settings))
    assert history.run_id == runs[1].run_id
    assert len(history.observations) == 150 and history.foreign == 150
    assert stats.records == 300
    assert stats.end_offsets is not None and sum(stats.end_offsets.values()) == 300
    # Every acknowledged event was read at the partition and offset the broker gave it.
    read = {(o.ride_id, o.seq): (o.partition, o.offset) for o in history.observations}
    assert read == {(a.ride_id, a.seq): (a.partition, a.offset) for a in runs[1].acks}

    named, _ = consume(ConsumeOptions(topic=topic, settings=settings, run_id=runs[0].run_id))
    assert named.run_id == runs[0].run_id and len(named.observations) == 150

    group = new_topic("group")
    first, _ = consume(ConsumeOptions(topic=topic, settings=settings, group=group))
    again, stats = consume(ConsumeOptions(topic=topic, settings=settings, group=group))
    assert len(first.observations) == 150
    assert again.observations == [] and stats.records == 0  # committed: nothing left


@pytest.mark.kafka
def test_consume_of_a_missing_topic_is_one_clear_error(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    from ridectl.errors import UsageError

    settings = build_settings(kafka_bootstrap, None, [])
    with pytest.raises(UsageError, match="does not exist"):
        consume(ConsumeOptions(topic=new_topic("missing"), settings=settings))


def _as_columns(recorder: Recorder, values: list[bytes | None], batch: int) -> None:
    for start in range(0, len(values), batch):
        chunk = values[start : start + batch]
        offsets = list(range(start, start + len(chunk)))
        recorder.add_columns([0] * len(chunk), offsets, chunk)


@pytest.mark.parametrize("named", [None, "20260101-000005-bbbb"])
@pytest.mark.parametrize("seed", range(40))
def test_recording_columns_gives_what_recording_one_by_one_gives(
    seed: int, named: str | None
) -> None:
    import random

    rng = random.Random(seed)
    runs = ["20260101-000000-aaaa", "20260101-000005-bbbb", "20260101-000009-cccc"]
    pool: list[bytes | None] = [
        b"not ours",
        None,
        b"",
        b'{"schema":"other/1","ride_id":"r","seq":1,"run_id":"x"}',
        _event(runs[1], "ride-1", 5)[:-1],  # cut short
        _event(runs[1], "ride-1", 5).replace(b'"seq":5', b'"seq":9'),  # no such stage
    ]
    values: list[bytes | None] = []
    run = rng.choice(runs)
    for _ in range(rng.randrange(1, 120)):
        if rng.random() < 0.05:
            run = rng.choice(runs)
        if rng.random() < 0.1:
            values.append(rng.choice(pool))
        elif rng.random() < 0.03:  # JSON of the current run, but not starting with "{": foreign
            values.append(b" " + _event(run, "ride-9", 1))
        else:
            values.append(_event(run, f"ride-{rng.randrange(8)}", rng.randrange(1, 6)))
    one, cols = History(run_id=named), History(run_id=named)
    _feed(Recorder(one), values)
    _as_columns(Recorder(cols), values, rng.choice([1, 3, 17, 1000]))
    assert cols.observations == one.observations
    assert (cols.run_id, cols.foreign, cols.other_runs) == (one.run_id, one.foreign, one.other_runs)


@pytest.mark.parametrize("seed", range(30))
def test_records_read_as_columns_past_the_end_offsets_are_left_out(seed: int) -> None:
    """Columns and one-by-one records give the same history, whichever records of a poll lie
    past the end offsets (written after the read began), partitions interleaved or not."""
    import random

    from ridectl.clients.base import ConsumedRecord, RecordColumns
    from ridectl.run.consume import _Processor

    rng = random.Random(seed)
    run = "20260101-000000-aaaa"
    end = {p: rng.randrange(0, 12) for p in range(3)}
    next_offset = dict.fromkeys(end, 0)
    records: list[ConsumedRecord] = []
    for _ in range(rng.randrange(1, 40)):
        p = rng.randrange(3)
        value = _event(run, f"ride-{rng.randrange(5)}", rng.randrange(1, 6))
        records.append(ConsumedRecord(p, next_offset[p], None, value))
        next_offset[p] += 1
    opts = ConsumeOptions(topic="t", settings=build_settings("localhost:9092", None, []))
    one, cols = History(run_id=run), History(run_id=run)
    n_one = _Processor(Recorder(one), opts).batch(records, end)
    columns = RecordColumns(
        [r.partition for r in records], [r.offset for r in records], [r.value for r in records]
    )
    n_cols = _Processor(Recorder(cols), opts).columns(columns, end)
    assert n_cols == n_one == sum(r.offset < end[r.partition] for r in records)
    assert cols.observations == one.observations
