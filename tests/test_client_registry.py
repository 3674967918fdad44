"""The client records (``ridectl.clients.registry``) checked against what they describe: each
capability against the adapter or the client library itself, the defaults table lined up from
the records, the setting-name constants against the clients' own lists, and one spelling of the
in-flight option across commands (the old one still taken)."""

from __future__ import annotations

import ast
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ridectl.clients.base import (
    BlockProducer,
    ClientProcess,
    ColumnarConsumer,
    StagingProducer,
    TimeSeekingConsumer,
)
from ridectl.clients.order_defaults import ORDER_DEFAULTS, one_record_per_request
from ridectl.clients.partitioners import PartitionerName
from ridectl.clients.registry import (
    BROKER_GONE_ERRORS,
    CLIENTS,
    DEFAULT_CLIENT,
    ClientName,
    OrderSetting,
    entry,
)
from ridectl.clients.setting_names import SettingName
from ridectl.clients.settings import IGNORED, SETTINGS, build_settings
from ridectl.errors import UsageError

RIDECTL = Path(__file__).resolve().parent.parent / "ridectl"


def test_every_client_has_one_record_under_its_own_name() -> None:
    assert list(CLIENTS) == list(ClientName)
    assert all(record.name is client for client, record in CLIENTS.items())
    assert DEFAULT_CLIENT in CLIENTS
    assert {"KafkaTimeoutError", "KafkaConnectionError"} | {
        "TimeoutException",
        "_MSG_TIMED_OUT",
        "_TRANSPORT",
        "_ALL_BROKERS_DOWN",
    } == BROKER_GONE_ERRORS


@pytest.mark.parametrize("client", list(ClientName), ids=str)
def test_the_adapter_can_do_what_its_record_says(client: ClientName) -> None:
    record = entry(client)
    producer, consumer = record.producer(), record.consumer()
    assert isinstance(producer, type) and isinstance(consumer, type)
    caps = record.capabilities
    assert issubclass(producer, BlockProducer) is caps.block_producing
    assert issubclass(producer, StagingProducer) is caps.staged_producing
    assert issubclass(consumer, ColumnarConsumer) is caps.columnar_consuming
    assert issubclass(consumer, TimeSeekingConsumer) is caps.time_seeking
    assert issubclass(producer, ClientProcess) is caps.runs_on_java


def _library_has(client: ClientName, java_name: str, python_keyword: str) -> bool:
    """Whether the client library has this setting: kafka-python's keyword lists, the other
    clients' own lists of names."""
    if client is ClientName.KAFKA_PYTHON:
        from kafka import KafkaConsumer, KafkaProducer

        return python_keyword in {**KafkaProducer.DEFAULT_CONFIG, **KafkaConsumer.DEFAULT_CONFIG}
    return entry(client).knows(java_name)


def _has_share_consumer(client: ClientName) -> bool:
    if client is ClientName.KAFKA_PYTHON:
        import kafka

        return hasattr(kafka, "KafkaShareConsumer")
    if client is ClientName.LIBRDKAFKA:
        import confluent_kafka

        return hasattr(confluent_kafka, "ShareConsumer")
    from ridectl.broker.jars import ensure_jars
    from ridectl.versions import KAFKA_VERSION

    with zipfile.ZipFile(ensure_jars() / f"kafka-clients-{KAFKA_VERSION}.jar") as jar:
        listed = set(jar.namelist())
    return "org/apache/kafka/clients/consumer/KafkaShareConsumer.class" in listed


@pytest.mark.parametrize("client", list(ClientName), ids=str)
def test_the_library_has_what_its_record_says(client: ClientName) -> None:
    caps = entry(client).capabilities
    assert _library_has(client, "transactional.id", "transactional_id") is caps.transactions
    assert _library_has(client, "group.protocol", "group_protocol") is caps.consumer_protocol
    assert _has_share_consumer(client) is caps.share_consumer


def test_each_record_translates_settings_for_its_client_or_refuses_them() -> None:
    settings = build_settings("h:1", None, ["linger.ms=7", "fetch.max.wait.ms=9"])
    assert entry(ClientName.KAFKA_PYTHON).translate(settings, "producer")["linger_ms"] == 7
    assert entry(ClientName.JAVA).translate(settings, "producer") == {"linger.ms": "7"}
    assert entry(ClientName.LIBRDKAFKA).translate(settings, "consumer") == {
        "fetch.wait.max.ms": "9"
    }
    own = build_settings("h:1", None, ["bootstrap.timeout.ms=5000"])
    assert entry(ClientName.KAFKA_PYTHON).translate(own, "producer")["bootstrap_timeout_ms"] == 5000
    for client in (ClientName.JAVA, ClientName.LIBRDKAFKA):
        # the adapter's line names the client as its record calls it
        called = re.escape(entry(client).called)
        with pytest.raises(UsageError, match=rf"^{called} has no setting bootstrap\.timeout\.ms"):
            entry(client).translate(own, "producer")


def test_the_defaults_table_lines_up_each_records_defaults() -> None:
    assert len(ORDER_DEFAULTS) == len(OrderSetting)
    for setting, line in zip(OrderSetting, ORDER_DEFAULTS, strict=True):
        assert line.side is setting.side
        for client, record in CLIENTS.items():
            (own,) = [d for d in record.order_defaults if d.setting is setting]
            assert (line.names[client], line.defaults[client]) == (own.name, own.value)
            assert line.meaning.get(client, "") == own.meaning


def test_the_retry_recipe_takes_each_clients_batch_of_one_and_shortest_backoff() -> None:
    common = {
        "enable.idempotence": "false",
        "max.in.flight.requests.per.connection": "5",
        "retries": "1000000",
        "acks": "all",
        "linger.ms": "0",
    }
    assert one_record_per_request(ClientName.LIBRDKAFKA) == {
        **common,
        "batch.num.messages": "1",
        "retry.backoff.ms": "1",
    }
    for client in (ClientName.KAFKA_PYTHON, ClientName.JAVA):
        assert one_record_per_request(client) == {
            **common,
            "batch.size": "1",
            "retry.backoff.ms": "0",
        }


def test_the_key_hash_follows_the_clients_own_partitioner_setting() -> None:
    rdkafka = entry(ClientName.LIBRDKAFKA).key_hash
    assert rdkafka({}) is PartitionerName.crc32
    assert rdkafka({"partitioner": "murmur2_random"}) is PartitionerName.murmur2
    assert rdkafka({"partitioner": "random"}) is None
    for client in (ClientName.KAFKA_PYTHON, ClientName.JAVA):
        assert entry(client).key_hash({"partitioner": "random"}) is PartitionerName.murmur2


def test_every_setting_name_constant_is_a_name_some_client_has() -> None:
    ours = {*SETTINGS, *IGNORED, SettingName.SASL_JAAS_CONFIG, SettingName.BOOTSTRAP_SERVERS}
    others = [
        name
        for name in SettingName
        if name not in ours and not any(record.knows(name) for record in CLIENTS.values())
    ]
    assert others == []


def _setting_name_literals(path: Path) -> list[str]:
    """Dotted setting names written as bare strings in ``path``."""
    names = {m.value for m in SettingName if "." in m.value}
    return [
        f"{path.relative_to(RIDECTL.parent)}:{node.lineno}: {node.value}"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names
    ]


def test_setting_names_are_spelled_once_in_ridectl() -> None:
    # bench/ keeps its literal strategy table until its typed results land (edited apart)
    exempt = {RIDECTL / "clients" / "setting_names.py"}
    found = [
        hit
        for path in sorted(RIDECTL.rglob("*.py"))
        if path not in exempt and "bench" not in path.relative_to(RIDECTL).parts
        for hit in _setting_name_literals(path)
    ]
    assert found == []


@pytest.mark.parametrize("spelling", ["--max-in-flight", "--in-flight"])
def test_matrix_takes_max_in_flight_and_its_old_spelling_alike(
    cli: Callable[..., Any], spelling: str
) -> None:
    res = cli("matrix", "-b", "127.0.0.1:1", spelling, "1,0")
    assert res.code == 2, res
    assert (
        res.err.strip().splitlines()[0].endswith("--max-in-flight values must be 1 or more, not 0")
    ), res
    res = cli("matrix", "-b", "127.0.0.1:1", spelling, "five")
    assert res.code == 2, res
    assert "--max-in-flight takes whole numbers" in res.err, res


def test_every_command_shows_the_in_flight_option_as_max_in_flight(
    cli: Callable[..., Any],
) -> None:
    for command in ("produce", "failover", "matrix"):
        res = cli(command, "--help")
        assert res.code == 0, res
        assert "--max-in-flight" in res.out, command
        assert "--in-flight " not in res.out.replace("--max-in-flight", ""), command
