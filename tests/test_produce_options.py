"""Options of ``produce``, ``demo`` and ``watch`` that change what lands on the topic or how a
command runs, each passed through the command and checked by its effect: the topic is read
back here with a plain consumer (partition, offset, key and event of every record)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from client_helpers import make_topic
from conftest import CliResult
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from ridectl.clients.admin import delete
from ridectl.clients.partitioners import partition_for
from ridectl.clients.settings import ClientSettings

pytestmark = pytest.mark.kafka

Cli = Callable[..., CliResult]


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    key: bytes | None
    ride_id: str
    seq: int


def read_topic(bootstrap: str, topic: str) -> list[Record]:
    """Every record of ``topic``, by partition then offset."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        end = consumer.end_offsets(parts)
        out: list[Record] = []
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < end[tp] for tp in parts):
            assert time.monotonic() < deadline, "the topic was not read to its end in 60 s"
            for records in consumer.poll(timeout_ms=500).values():
                for r in records:
                    event = json.loads(r.value)
                    out.append(Record(r.partition, r.offset, r.key, event["ride_id"], event["seq"]))
        return sorted(out, key=lambda r: (r.partition, r.offset))
    finally:
        consumer.close()


def produce(cli: Cli, bootstrap: str, topic: str, *args: str) -> dict[str, object]:
    r = cli("produce", "-b", bootstrap, "-t", topic, "--seed", "3", "-f", "json", *args)
    assert r.code == 0, r
    doc: dict[str, object] = json.loads(r.out)
    assert doc["events_acked"] == doc["events_sent"]
    return doc


def _rides_whole(records: list[Record]) -> bool:
    """Each ride's five events one after another in the log."""
    return all(
        records[i].ride_id == records[i + s].ride_id and records[i + s].seq == s + 1
        for i in range(0, len(records), 5)
        for s in range(5)
    )


def test_concurrent_sets_how_many_rides_interleave(
    cli: Cli, kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    one, many = new_topic("conc1"), new_topic("conc8")
    produce(cli, kafka_bootstrap, one, "--rides", "40", "--partitions", "1", "--concurrent", "1")
    produce(cli, kafka_bootstrap, many, "--rides", "40", "--partitions", "1", "--concurrent", "8")
    sequential, interleaved = read_topic(kafka_bootstrap, one), read_topic(kafka_bootstrap, many)
    assert len(sequential) == len(interleaved) == 200
    assert _rides_whole(sequential)
    assert not _rides_whole(interleaved)
    # Never more than 8 rides open at once (begun in the log, their payment not yet there).
    open_rides: set[str] = set()
    for r in interleaved:
        open_rides.add(r.ride_id)
        assert len(open_rides) <= 8
        if r.seq == 5:
            open_rides.discard(r.ride_id)


def test_key_by_zone_with_hot_share_and_zones(
    cli: Cli, kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    hot, spread = new_topic("hot"), new_topic("spread")
    zone = ("--key-by", "zone", "--zones", "5", "--partitions", "6", "--rides", "60")
    produce(cli, kafka_bootstrap, hot, *zone, "--hot-share", "1.0")
    produce(cli, kafka_bootstrap, spread, *zone, "--hot-share", "0")
    every_airport = read_topic(kafka_bootstrap, hot)
    assert {r.key for r in every_airport} == {b"zone-airport"}
    assert len({r.partition for r in every_airport}) == 1
    no_airport = read_topic(kafka_bootstrap, spread)
    keys = {r.key for r in no_airport}
    assert keys <= {b"zone-01", b"zone-02", b"zone-03", b"zone-04"} and len(keys) > 1
    for r in [*every_airport, *no_airport]:
        assert r.key is not None and r.partition == partition_for("murmur2", r.key, 6)
    # A ride keeps its zone: all its events share one key.
    for records in (every_airport, no_airport):
        by_ride: dict[str, set[bytes | None]] = {}
        for r in records:
            by_ride.setdefault(r.ride_id, set()).add(r.key)
        assert all(len(k) == 1 for k in by_ride.values())


def test_grow_to_adds_partitions_mid_run(
    cli: Cli, kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("grow")
    doc = produce(cli, kafka_bootstrap, topic, "--rides", "200", "--partitions", "2",
                  "--grow-to", "4")  # fmt: skip
    assert doc["grown"] == [2, 4]
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        (described,) = admin.describe_topics([topic])
    finally:
        admin.close()
    assert len(described["partitions"]) == 4
    records = read_topic(kafka_bootstrap, topic)
    assert len(records) == 1000
    assert {r.partition for r in records} == {0, 1, 2, 3}
    # Records before the growth went by hash mod 2, after it by hash mod 4.
    for r in records:
        assert r.key is not None
        assert r.partition in (
            partition_for("murmur2", r.key, 2),
            partition_for("murmur2", r.key, 4),
        )


def test_payment_partitioner_places_payments_with_another_hash(
    cli: Cli, kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("pay")
    produce(cli, kafka_bootstrap, topic, "--rides", "60", "--partitions", "6",
            "--payment-partitioner", "crc32")  # fmt: skip
    records = read_topic(kafka_bootstrap, topic)
    assert len(records) == 300
    for r in records:
        assert r.key == r.ride_id.encode()
        hashed = "crc32" if r.seq == 5 else "murmur2"
        assert r.partition == partition_for(hashed, r.key, 6), r
    apart = [r for r in records if r.seq == 5 and r.partition != partition_for("murmur2", r.key, 6)]
    assert apart, "no payment landed away from its ride"


def test_linger_ms_batches_records_into_fewer_requests(
    cli: Cli, kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("linger")
    # A fault that changes nothing but puts the proxy on the path, to count the requests.
    doc = produce(cli, kafka_bootstrap, topic, "--rides", "40", "--partitions", "1",
                  "--linger-ms", "2000", "--fault", "delay:ms=1")  # fmt: skip
    settings = doc["settings"]
    assert isinstance(settings, dict) and settings["linger.ms"] == "2000"
    faults = doc["faults"]
    assert isinstance(faults, dict)
    # 200 records of some 200 bytes, all handed over within the linger: a handful of
    # batches of up to batch.size (16384) bytes, never one request per record.
    assert 0 < int(faults["produce_requests"]) <= 10, faults["produce_requests"]


def test_demo_pause_waits_for_enter_and_keep_topics_leaves_them(
    cli: Cli, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    res = cli("demo", "-b", kafka_bootstrap, "--fast", "-s", "keyed", "--pause", "--keep-topics")
    assert res.code == 0, res
    assert "press Enter to run it" in res.err
    assert "1 of 1 lessons showed what they promise" in res.out
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        kept = [t for t in admin.list_topics() if t.startswith("ridectl-demo-keyed-")]
    finally:
        admin.close()
    assert kept, "the lesson's topic was deleted"
    for topic in kept:
        delete(ClientSettings(bootstrap=kafka_bootstrap), topic)


def test_demo_pause_stops_at_the_end_of_input(
    cli: Cli, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    res = cli("demo", "-b", kafka_bootstrap, "--fast", "-s", "keyed", "--pause")
    # End of input at the prompt stops the demo as Ctrl-C would, before the lesson runs.
    assert res.code == 130, res
    assert res.err.strip().splitlines()[-1] == "interrupted", res
    assert "lessons showed what they promise" not in res.out


def test_watch_max_seconds_ends_a_watch_that_would_wait_on(
    kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = make_topic(kafka_bootstrap, new_topic("watchmax"), 1)
    # --idle-timeout alone would keep it waiting ten minutes on this empty topic.
    done = subprocess.run(
        [sys.executable, "-m", "ridectl", "watch", "-b", kafka_bootstrap, "-t", topic,
         "--idle-timeout", "600", "--wait-topic", "30", "--max-seconds", "3"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 1), done
