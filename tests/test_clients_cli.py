"""``--client`` on the command line: settings checked against the chosen client, the table of
defaults that differ between clients checked against what each client reads back, and a
produce run whose records the broker refused ending non-zero (real broker)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from ridectl.clients.base import ClientName
from ridectl.clients.factory import check_settings, make_consumer, make_producer
from ridectl.clients.java import java_settings
from ridectl.clients.order_defaults import ORDER_DEFAULTS, Side, callouts
from ridectl.clients.settings import ClientSettings, build_settings
from ridectl.errors import UsageError

CLIENTS = [c.value for c in ClientName]


def test_the_java_clients_own_names_pass_to_the_role_that_has_them() -> None:
    settings = build_settings("h:1", None, ["partitioner.ignore.keys=true"])
    check_settings(ClientName.JAVA, settings)
    assert java_settings(settings.values, "producer")["partitioner.ignore.keys"] == "true"
    assert "partitioner.ignore.keys" not in java_settings(settings.values, "consumer")
    typo = build_settings("h:1", None, ["partitioner.ignore.key=true"])
    with pytest.raises(UsageError) as err:
        check_settings(ClientName.JAVA, typo)
    assert str(err.value) == (
        "unknown client setting 'partitioner.ignore.key' in -X: the Java client has no such "
        "setting (did you mean partitioner.ignore.keys?)"
    )


def test_callouts_name_the_value_in_force_and_the_others_defaults() -> None:
    lines = callouts(ClientName.LIBRDKAFKA, {"enable.idempotence": "true"}, Side.PRODUCER)
    assert lines[0] == "enable.idempotence=true (default elsewhere: kafka-python, java true)"
    read = callouts(ClientName.JAVA, {"isolation.level": "read_uncommitted"}, Side.CONSUMER)
    assert read == [
        "isolation.level=read_uncommitted (default elsewhere: kafka-python read_uncommitted; "
        "librdkafka read_committed)"
    ]


@pytest.mark.kafka
@pytest.mark.parametrize("client", list(ClientName), ids=str)
def test_the_defaults_table_is_what_each_client_reads_back(
    kafka_bootstrap: str, new_topic: Callable[[str], str], client: ClientName
) -> None:
    settings = ClientSettings(kafka_bootstrap)
    producer = make_producer(client, settings, new_topic("defaults"), lambda _d: None)
    try:
        produced = dict(producer.settings_in_force())
    finally:
        producer.close(5.0)
    consumer = make_consumer(client, settings, group=None, doing="reading defaults")
    try:
        read = dict(consumer.settings_in_force())
    finally:
        consumer.close()
    for entry in ORDER_DEFAULTS:
        held = produced if entry.side is Side.PRODUCER else read
        assert held[entry.names[client]] == entry.defaults[client], entry


@pytest.mark.kafka
@pytest.mark.parametrize("client", CLIENTS)
def test_produce_fails_after_its_summary_when_the_broker_refuses_every_record(
    cli: Callable[..., Any], kafka_bootstrap: str, new_topic: Callable[[str], str], client: str
) -> None:
    # The client lets 3 MB records through; the broker's 1 MB limit refuses each of them.
    res = cli(
        "produce", "-b", kafka_bootstrap, "-t", new_topic("refused"), "--client", client,
        "-n", "1", "--record-size", "3000000", "-X", "max.request.size=4000000",
        "--format", "json",
    )  # fmt: skip
    assert res.code == 1, res
    run = json.loads(res.out)
    assert run["events_sent"] == 5 and run["events_failed"] == 5 and run["events_acked"] == 0
    errors = [line for line in res.err.splitlines() if line.strip()]
    assert errors[0].startswith(f"error: {client}: 5 of 5 events were not written"), res.err
    assert "Traceback" not in res.err


@pytest.mark.kafka
def test_matrix_compares_the_three_clients_in_one_table(
    cli: Callable[..., Any], kafka_bootstrap: str
) -> None:
    # --in-flight: the old spelling of --max-in-flight, still taken (hidden) for scripts
    grid = ["-b", kafka_bootstrap, "--keying", "keyed", "--in-flight", "5", "--idempotence", "on",
            "--fault", "none", "--rides", "20", "--client", "all"]  # fmt: skip
    res = cli("matrix", *grid, "--format", "json")
    assert res.code == 0, res
    rows = json.loads(res.out)["rows"]
    assert [r["client"] for r in rows] == CLIENTS
    assert all(r["events_acked"] == 100 and r["violating_rides"] == 0 for r in rows)
    res = cli("matrix", *grid[:-1], "java,librdkafka", "--format", "table")
    assert res.code == 0, res
    assert "java" in res.out and "librdkafka" in res.out and "kafka-python" not in res.out


def test_matrix_refuses_an_unknown_client(cli: Callable[..., Any]) -> None:
    res = cli("matrix", "--client", "sarama")
    assert res.code == 2 and "--client takes kafka-python, java, librdkafka or all" in res.err


@pytest.mark.kafka
@pytest.mark.parametrize("client", ["java", "librdkafka"])
def test_watch_and_check_read_with_the_chosen_client(
    cli: Callable[..., Any], kafka_bootstrap: str, new_topic: Callable[[str], str], client: str
) -> None:
    topic = new_topic("read")
    res = cli("produce", "-b", kafka_bootstrap, "-t", topic, "-n", "12", "-p", "2")
    assert res.code == 0, res
    res = cli("watch", "-b", kafka_bootstrap, "-t", topic, "--from-beginning", "--client",
              client, "--idle-timeout", "2", "-f", "json")  # fmt: skip
    assert res.code == 0, res
    assert json.loads(res.out)["summary"]["events"] == 60
    res = cli("check", "-b", kafka_bootstrap, "-t", topic, "--client", client, "-f", "json")
    assert res.code == 0 and json.loads(res.out)["summary"]["events"] == 60, res
    assert f"read with {client}: isolation.level=" in res.err
