"""``ridectl audit`` on the real broker: three schemas written record by record by a plain
confluent-kafka producer (never ridectl's), each with known damage, audited read-only."""

from __future__ import annotations

import json
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from conftest import CliResult

pytestmark = pytest.mark.kafka

Cli = Callable[..., CliResult]
#: (partition, key, value): a dict is written as JSON, text as it is, None as a tombstone
Row = tuple[int, str | None, dict[str, object] | str | None]

ORDERS: list[Row] = [
    (0, "o1", {"order_id": "o1", "version": 1}),
    (0, "o1", {"order_id": "o1", "version": 3}),
    (0, "o1", {"order_id": "o1", "version": 2}),  # swapped with 3
    (0, "o2", {"order_id": "o2", "version": 1}),
    (0, "o2", {"order_id": "o2", "version": 2}),
    (0, "o2", {"order_id": "o2", "version": 2}),  # repeated
    (1, "o3", {"order_id": "o3", "version": 1}),
    (1, "o3", {"order_id": "o3", "version": 3}),  # 2 never written
    (1, "o4", {"order_id": "o4", "version": 1}),
    (1, "o9", None),  # tombstone
    (1, "o9", "<order o9/>"),  # not JSON
    (1, "o5", {"order_id": "o5", "amount": 3}),  # no version
    (2, "o4", {"order_id": "o4", "version": 2}),  # o4 split over partitions 1 and 2
]
ORDERS_ARGS = ("--seq", "version", "--contiguous")


def change(id_: int | None, lsn: int) -> dict[str, object]:
    """A Debezium-style change event (``after`` null for a delete)."""
    after = None if id_ is None else {"id": id_, "name": f"n{id_}"}
    return {"schema": {}, "payload": {"before": None, "after": after, "source": {"lsn": lsn}}}


CHANGES: list[Row] = [
    (0, None, change(1, 100)),
    (0, None, change(1, 90)),  # lsn back: out of order
    (0, None, change(2, 100)),
    (0, None, change(2, 100)),  # the same lsn again
    (0, None, change(None, 120)),  # a delete: no after.id
    (0, None, None),  # tombstone
    (1, None, change(3, 50)),
    (1, None, change(1, 200)),  # entity 1 also on partition 1
]
CHANGES_ARGS = ("--entity", "payload.after.id", "--seq", "payload.source.lsn")

STAGES = "created,packed,shipped,delivered"
SHIPMENTS: list[Row] = [
    (0, "s1", {"status": "created"}),
    (0, "s1", {"status": "shipped"}),
    (0, "s1", {"status": "packed"}),  # packed after shipped
    (0, "s2", {"status": "created"}),
    (0, "s2", {"status": "teleported"}),  # unknown stage
    (0, "s2", {"status": "packed"}),
    (1, "s3", {"status": "created"}),
    (1, "s3", {"status": "packed"}),
    (1, "s3", {"status": "delivered"}),
    (1, "s4", {"status": "created"}),
    (0, "s4", {"status": "shipped"}),  # s4 split over partitions 1 and 0
    (1, "s5", {"state": "created"}),  # no status
]
SHIPMENTS_ARGS = ("--stage", "status", "--stages", STAGES)


def _write(bootstrap: str, topic: str, partitions: int, rows: list[Row]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(30)
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for partition, key, value in rows:
        data = json.dumps(value) if isinstance(value, dict) else value
        producer.produce(topic, value=data, key=key, partition=partition)
        producer.flush(30)  # one at a time: each record's place is the one written here


def _groups(bootstrap: str) -> set[str]:
    listed = AdminClient({"bootstrap.servers": bootstrap}).list_consumer_groups().result()
    return {g.group_id for g in listed.valid}


@pytest.fixture(scope="module")
def topics(kafka_bootstrap: str) -> Iterator[dict[str, str]]:
    suffix = str(time.monotonic_ns())
    names = {"orders": f"orders-{suffix}", "changes": f"changes-{suffix}"}
    names["shipments"] = f"shipments-{suffix}"
    _write(kafka_bootstrap, names["orders"], 3, ORDERS)
    _write(kafka_bootstrap, names["changes"], 2, CHANGES)
    _write(kafka_bootstrap, names["shipments"], 2, SHIPMENTS)
    yield names


def _audit(cli: Cli, bootstrap: str, *args: str) -> tuple[CliResult, dict[str, object]]:
    r = cli("audit", "-b", bootstrap, "-f", "json", "--exit-code", *args)
    assert r.code in (0, 1), r
    return r, json.loads(r.out)


def _by_kind(doc: dict[str, object]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    violations = doc["violations"]
    assert isinstance(violations, list)
    for v in violations:
        found.setdefault(v["kind"], set()).add(v["entity"])
    return found


def _unmapped(doc: dict[str, object]) -> dict[str, int]:
    summary = doc["summary"]
    assert isinstance(summary, dict)
    return {r: n for r, n in summary["unmapped_by_reason"].items() if n}


@pytest.mark.parametrize("client", ["librdkafka", "kafka-python", "java"])
def test_orders_damage_is_found_by_every_client(
    cli: Cli, kafka_bootstrap: str, topics: dict[str, str], client: str
) -> None:
    r, doc = _audit(cli, kafka_bootstrap, "-t", topics["orders"], *ORDERS_ARGS, "--client", client)
    assert r.code == 1
    assert _by_kind(doc) == {
        "out_of_order": {"o1"},
        "duplicate": {"o2"},
        "gap": {"o3"},
        "split": {"o4"},
    }
    assert _unmapped(doc) == {"tombstone": 1, "not_json": 1, "order_missing": 1}
    summary = doc["summary"]
    assert isinstance(summary, dict)
    assert summary["records"] == len(ORDERS)
    assert summary["records_per_partition"] == {"0": 6, "1": 6, "2": 1}
    late = next(v for v in doc["violations"] if v["kind"] == "out_of_order")  # type: ignore[attr-defined]
    assert late["evidence"] == [{"partition": 0, "offset": 1}, {"partition": 0, "offset": 2}]
    assert late["cause"] == "log"


def test_debezium_envelope(cli: Cli, kafka_bootstrap: str, topics: dict[str, str]) -> None:
    r, doc = _audit(cli, kafka_bootstrap, "-t", topics["changes"], *CHANGES_ARGS)
    assert r.code == 1
    assert _by_kind(doc) == {"out_of_order": {"1"}, "duplicate": {"2"}, "split": {"1"}}
    assert _unmapped(doc) == {"tombstone": 1, "entity_missing": 1}


def test_shipments_by_declared_stages(
    cli: Cli, kafka_bootstrap: str, topics: dict[str, str]
) -> None:
    r, doc = _audit(cli, kafka_bootstrap, "-t", topics["shipments"], *SHIPMENTS_ARGS)
    assert r.code == 1
    assert _by_kind(doc) == {"out_of_order": {"s1"}, "split": {"s4"}}
    late = next(v for v in doc["violations"] if v["kind"] == "out_of_order")  # type: ignore[attr-defined]
    assert late["values"] == ["shipped", "packed"]
    assert _unmapped(doc) == {"unknown_stage": 1, "order_missing": 1}


def _kcat_export(bootstrap: str, topic: str, partitions: int, path: Path) -> None:
    """The topic as ``kcat -C -J -e`` would write it, read by a plain consumer (no group)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused-never-joined"})
    lines: list[str] = []
    try:
        for p in range(partitions):
            _low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            consumer.assign([TopicPartition(topic, p, 0)])
            while len([ln for ln in lines if json.loads(ln)["partition"] == p]) < high:
                m = consumer.poll(5)
                assert m is not None and m.error() is None
                key, value = m.key(), m.value()
                lines.append(
                    json.dumps(
                        {
                            "topic": topic,
                            "partition": m.partition(),
                            "offset": m.offset(),
                            "tstype": "create",
                            "ts": m.timestamp()[1],
                            "broker": 1,
                            "key": None if key is None else key.decode(),
                            "payload": None if value is None else value.decode(),
                        }
                    )
                )
    finally:
        consumer.close()
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("name", "partitions", "args"),
    [
        ("orders", 3, ORDERS_ARGS),
        ("changes", 2, CHANGES_ARGS),
        ("shipments", 2, SHIPMENTS_ARGS),
    ],
)
def test_an_export_gives_the_topics_verdict(
    cli: Cli,
    kafka_bootstrap: str,
    topics: dict[str, str],
    tmp_path: Path,
    name: str,
    partitions: int,
    args: tuple[str, ...],
) -> None:
    export = tmp_path / "export.json"
    _kcat_export(kafka_bootstrap, topics[name], partitions, export)
    _, on_topic = _audit(cli, kafka_bootstrap, "-t", topics[name], *args)
    _, on_file = _audit(cli, kafka_bootstrap, "--from", str(export), *args)
    assert on_file["violations"] == on_topic["violations"]
    for doc in (on_topic, on_file):
        summary = doc["summary"]
        assert isinstance(summary, dict)
        del summary["source"]
    assert on_file["summary"] == on_topic["summary"]


def test_junit_on_a_topic(cli: Cli, kafka_bootstrap: str, topics: dict[str, str]) -> None:
    r = cli("audit", "-b", kafka_bootstrap, "-t", topics["orders"], *ORDERS_ARGS, "-f", "junit")
    assert r.code == 0, r
    suite = ET.fromstring(r.out).find("testsuite")
    assert suite is not None
    failing = sorted(
        str(c.get("name")) for c in suite.findall("testcase") if c.find("failure") is not None
    )
    assert failing == ["entity o1", "entity o2", "entity o3", "entity o4"]
    assert suite.get("tests") == "7"


def _one_line(r: CliResult, *words: str) -> None:
    assert r.code == 2, r
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), r.err
    for word in words:
        assert word in lines[0], (word, lines[0])


def test_bad_mappings_and_topics_are_one_line(
    cli: Cli, kafka_bootstrap: str, topics: dict[str, str]
) -> None:
    b = ("audit", "-b", kafka_bootstrap)
    _one_line(cli(*b, "-t", topics["orders"], "--seq", "revision"), "revision", "order_id, version")
    _one_line(
        cli(*b, "-t", topics["changes"], "--entity", "after.id", "--seq", "payload.source.lsn"),
        "after.id",
        "schema, payload",
    )
    _one_line(cli(*b, "-t", "no-such-topic-here", "--seq", "v"), "does not exist")
    _one_line(
        cli(*b, "-t", topics["orders"], "--seq", "version", "-X", "group.id=auditors"),
        "group.id",
    )
    _one_line(
        cli(*b, "-t", topics["orders"], "--seq", "version", "--since", "1h", "--client", "java"),
        "time_seeking",
    )


def test_the_audit_leaves_no_group_behind(
    cli: Cli, kafka_bootstrap: str, topics: dict[str, str]
) -> None:
    before = _groups(kafka_bootstrap)
    for client in ("librdkafka", "kafka-python"):
        r, _ = _audit(
            cli, kafka_bootstrap, "-t", topics["orders"], *ORDERS_ARGS, "--client", client
        )
        assert r.code == 1
    assert _groups(kafka_bootstrap) == before


def test_since_starts_at_a_time(
    cli: Cli, kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("since")
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    now = int(time.time() * 1000)
    for version, stamp in ((1, now - 7_200_000), (3, now - 7_000_000), (2, now)):
        producer.produce(topic, json.dumps({"v": version}), key="e1", timestamp=stamp)
        producer.flush(30)
    for client in ("librdkafka", "kafka-python"):
        r, whole = _audit(cli, kafka_bootstrap, "-t", topic, "--seq", "v", "--client", client)
        assert _by_kind(whole) == {"out_of_order": {"e1"}}
        r, recent = _audit(
            cli, kafka_bootstrap, "-t", topic, "--seq", "v", "--since", "1h", "--client", client
        )
        assert r.code == 0
        assert recent["summary"]["records"] == 1  # type: ignore[index]
    later = cli("audit", "-b", kafka_bootstrap, "-t", topic, "--seq", "v", "--since", "2099-01-01")
    _one_line(later, "holds no records")


def test_follow_judges_records_written_while_it_reads(
    cli: Cli, kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("follow")
    _write(kafka_bootstrap, topic, 1, [(0, "e1", {"v": 1}), (0, "e1", {"v": 2})])

    def later() -> None:
        time.sleep(3)
        producer = Producer({"bootstrap.servers": kafka_bootstrap})
        producer.produce(topic, json.dumps({"v": 1}), key="e1")
        producer.flush(30)

    writer = threading.Thread(target=later)
    writer.start()
    _, doc = _audit(
        cli, kafka_bootstrap, "-t", topic, "--seq", "v", "--follow", "--idle-timeout", "6"
    )
    writer.join()
    assert doc["summary"]["records"] == 3  # type: ignore[index]
    assert _by_kind(doc) == {"out_of_order": {"e1"}}


def test_explain_tells_an_entity_in_log_order(
    cli: Cli, kafka_bootstrap: str, topics: dict[str, str]
) -> None:
    b = ("audit", "-b", kafka_bootstrap, "-t", topics["orders"], *ORDERS_ARGS)
    r = cli(*b, "--explain", "o1")
    assert r.code == 0, r
    rows = [line for line in r.out.splitlines() if "p0@" in line and "20" in line]
    assert [row.split()[1] for row in rows] == ["p0@0", "p0@1", "p0@2"]
    assert [row.split()[-2] for row in rows] == ["1", "3", "2"]
    assert "out_of_order at p0@1 p0@2" in r.out
    r = cli(*b, "--explain", "o9")
    assert "not judged: tombstone" in r.out and "not judged: value is not JSON" in r.out
    _one_line(cli(*b, "--explain", "o1", "--client", "java"), "time_seeking")
    _one_line(cli(*b, "--explain", "o1", "-f", "json"), "--format table")


@pytest.mark.parametrize("client", ["librdkafka", "kafka-python"])
def test_records_removed_by_retention_are_not_waited_for(
    cli: Cli, kafka_bootstrap: str, new_topic: Callable[[str], str], client: str
) -> None:
    topic = new_topic("expired")
    _write(kafka_bootstrap, topic, 2, [(0, "a", {"v": 1}), (0, "a", {"v": 2}), (1, "b", {"v": 1})])
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    (deleted,) = admin.delete_records([TopicPartition(topic, 1, 1)]).values()
    deleted.result(30)  # partition 1 now holds no record, its first offset 1
    t0 = time.monotonic()
    _, doc = _audit(cli, kafka_bootstrap, "-t", topic, "--seq", "v", "--client", client)
    assert time.monotonic() - t0 < 20  # (the read's own stall limit is 30 s)
    assert doc["summary"]["records_per_partition"] == {"0": 2}  # type: ignore[index]
