"""Java-style client settings -> kafka-python arguments (pure, no Kafka)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ridectl.clients.base import ClientName
from ridectl.clients.factory import check_settings
from ridectl.clients.rdkafka_conf import translate
from ridectl.clients.settings import MASK, build_settings, parse_x_option, read_properties
from ridectl.errors import UsageError


def test_java_names_map_to_kafka_python_arguments() -> None:
    s = build_settings(
        "h:1",
        None,
        [
            "max.in.flight.requests.per.connection=1",
            "enable.idempotence=false",
            "acks=1",
            "linger.ms=5",
            "batch.size=100",
            "compression.type=none",
        ],
    )
    kw = s.kwargs("producer")
    assert kw["bootstrap_servers"] == ["h:1"]
    assert kw["max_in_flight_requests_per_connection"] == 1
    assert kw["enable_idempotence"] is False
    assert kw["acks"] == 1
    assert kw["linger_ms"] == 5
    assert kw["batch_size"] == 100
    assert kw["compression_type"] is None
    # Producer-only settings are not given to a consumer.
    assert "acks" not in s.kwargs("consumer")


def test_acks_all_and_minus_one_are_the_same() -> None:
    assert build_settings("h:1", None, ["acks=-1"]).kwargs("producer")["acks"] == "all"
    assert build_settings("h:1", None, ["acks=all"]).kwargs("producer")["acks"] == "all"


def test_unknown_key_is_named_with_a_suggestion() -> None:
    settings = build_settings("h:1", None, ["max.in.flight=1"])  # may be a client's own name
    with pytest.raises(
        UsageError,
        match=r"unknown client setting 'max\.in\.flight' in -X: kafka-python has no such "
        r"setting \(did you mean max\.in\.flight\.requests\.per\.connection\?\)",
    ):
        check_settings(ClientName.KAFKA_PYTHON, settings)
    with pytest.raises(UsageError, match=r"'Linger\.MS' in -X is not a client setting name"):
        build_settings("h:1", None, ["Linger.MS=1"])


def test_names_are_checked_against_the_chosen_client() -> None:
    own = build_settings("h:1", None, ["batch.num.messages=1", "sticky.partitioning.linger.ms=0"])
    check_settings(ClientName.LIBRDKAFKA, own)  # librdkafka's own names pass through
    assert translate(own.values, "producer") == {
        "batch.num.messages": "1",
        "sticky.partitioning.linger.ms": "0",
    }
    with pytest.raises(UsageError, match=r"^unknown client setting 'batch\.num\.messages'.*kafka"):
        check_settings(ClientName.KAFKA_PYTHON, own)
    typo = build_settings("h:1", None, ["batch.num.mesages=1"])
    with pytest.raises(
        UsageError, match=r"librdkafka has no such setting \(did you mean batch\.num\.messages"
    ):
        check_settings(ClientName.LIBRDKAFKA, typo)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("linger.ms=soon", "whole number"),
        ("enable.idempotence=maybe", "true or false"),
        ("acks=2", "all, -1, 1 or 0"),
        ("max.in.flight.requests.per.connection=0", "1 or more"),
        ("security.protocol=TLS", "one of"),
        ("noequals", "key=value"),
    ],
)
def test_badly_typed_values_are_refused(option: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        build_settings("h:1", None, [option])


def test_later_sources_win_and_cli_bootstrap_beats_the_file(tmp_path: Path) -> None:
    f = tmp_path / "client.properties"
    f.write_text("bootstrap.servers=file:9\nlinger.ms=7\n# comment\n! also a comment\n")
    s = build_settings(None, f, ["linger.ms=8"])
    assert s.bootstrap == "file:9"
    assert s.kwargs("producer")["linger_ms"] == 8
    assert build_settings("cli:1", f, []).bootstrap == "cli:1"
    assert build_settings(None, None, []).bootstrap == "localhost:9092"


def test_jaas_config_gives_username_and_password_and_is_masked(tmp_path: Path) -> None:
    f = tmp_path / "sasl.properties"
    f.write_text(
        "security.protocol=SASL_PLAINTEXT\n"
        "sasl.mechanism=SCRAM-SHA-512\n"
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n"
        '    username="alice" password="s3cr3t";\n'
    )
    s = build_settings("h:1", f, [])
    kw = s.kwargs("consumer")
    assert kw["sasl_plain_username"] == "alice"
    assert kw["sasl_plain_password"] == "s3cr3t"
    assert kw["sasl_mechanism"] == "SCRAM-SHA-512"
    shown = s.display()
    assert shown["sasl.jaas.config"] == MASK
    assert "s3cr3t" not in repr(shown)


def test_malformed_config_file(tmp_path: Path) -> None:
    f = tmp_path / "bad.properties"
    f.write_text("linger.ms=1\n=novalue\n")
    with pytest.raises(UsageError, match=r"bad\.properties:2"):
        read_properties(f)
    with pytest.raises(UsageError, match="not found"):
        read_properties(tmp_path / "missing.properties")


@pytest.mark.parametrize("bad", ["localhost", "host:port", "h:0", ":9092", "h:70000"])
def test_malformed_bootstrap_address(bad: str) -> None:
    with pytest.raises(UsageError, match="expected host:port"):
        build_settings(bad, None, [])


def test_x_value_may_contain_equals() -> None:
    assert parse_x_option("sasl.jaas.config=a=b") == ("sasl.jaas.config", "a=b")


def test_one_table_says_which_settings_are_reported_and_reads_them_back() -> None:
    from ridectl.clients.settings import REPORTED, SETTINGS, in_force

    reported = {s.java for s in REPORTED}
    assert "max.in.flight.requests.per.connection" in reported and "acks" in reported
    assert all(SETTINGS[name].reported for name in reported)
    config = {s.python: 7 for s in REPORTED}
    config.update(acks=-1, enable_idempotence=True, compression_type=None)
    shown = in_force(config)
    assert set(shown) == reported
    assert shown["acks"] == "all" and shown["enable.idempotence"] == "true"
    assert shown["compression.type"] == "none" and shown["linger.ms"] == "7"


@pytest.mark.parametrize(
    ("given", "conflicts"),
    [
        (["enable.idempotence=true"], []),
        (["enable.idempotence=false", "acks=1", "retries=0"], []),
        (["acks=0", "max.in.flight.requests.per.connection=9"], []),  # idempotence not asked
        (["enable.idempotence=true", "acks=1"], ["acks"]),
        (["enable.idempotence=yes", "acks=-1", "retries=0"], ["retries"]),
        (
            ["enable.idempotence=true", "max.in.flight.requests.per.connection=6", "acks=0"],
            ["acks", "max.in.flight.requests.per.connection"],
        ),
        (["enable.idempotence=true", "max.in.flight.requests.per.connection=5"], []),
    ],
)
def test_idempotence_conflicts_are_decided_by_one_rule(
    given: list[str], conflicts: list[str]
) -> None:
    from ridectl.clients.idempotence import check_idempotence, idempotence_conflicts

    settings = build_settings("h:1", None, given)
    assert idempotence_conflicts(settings) == conflicts
    if conflicts:
        with pytest.raises(UsageError, match="idempotence needs acks=all") as info:
            check_idempotence(settings)
        assert all(
            f"{key}=" in str(info.value) and "(from -X)" in str(info.value) for key in conflicts
        )
    else:
        check_idempotence(settings)
