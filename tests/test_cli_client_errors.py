"""No exception of the Kafka client reaches the "unexpected" path (exit 70, "please report it"):
each becomes one line with a hint, exit 2."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable

import kafka.errors as kerrors
import pytest
from conftest import CliResult

from ridectl.cli import _client_error
from ridectl.clients.kafka_python_errors import SPECIFIC, translate
from ridectl.clients.settings import ClientSettings
from ridectl.errors import ExitCode, RidectlError

Cli = Callable[..., CliResult]

EVERY_CLASS = sorted(
    {
        cls
        for _, cls in inspect.getmembers(kerrors, inspect.isclass)
        if issubclass(cls, kerrors.KafkaError)
    },
    key=lambda c: c.__name__,
)


def test_the_walk_sees_kafka_pythons_classes() -> None:
    # kafka-python 3 defines well over a hundred; a walk over a handful would prove little.
    assert len(EVERY_CLASS) > 100
    assert kerrors.MessageSizeTooLargeError in EVERY_CLASS


@pytest.mark.parametrize("cls", EVERY_CLASS, ids=lambda c: c.__name__)
def test_every_client_error_is_one_known_line(cls: type[kerrors.KafkaError]) -> None:
    exc = cls("something went wrong\non two lines")
    err = translate(exc, "producing to t", ClientSettings(bootstrap="127.0.0.1:9092"))
    assert isinstance(err, RidectlError)
    assert err.code in (ExitCode.USAGE,)
    assert err.hint, cls  # every message says what to do next
    assert "unexpected" not in str(err)
    # The command line's last resort gives the same kind of answer without any context.
    fallback = _client_error(exc)
    assert fallback is not None and fallback.hint


def test_other_exceptions_are_not_taken_for_client_errors() -> None:
    assert _client_error(ValueError("x")) is None


def test_too_large_names_the_size_the_limit_and_the_settings() -> None:
    exc = kerrors.MessageSizeTooLargeError(
        "The message is 3000137 bytes when serialized which is larger than the maximum request "
        "size you have configured with the max_request_size configuration"
    )
    default = str(translate(exc, "producing to t", ClientSettings(bootstrap="h:1")))
    assert "3000137 bytes" in default and "max.request.size, 1048576 bytes" in default
    assert "-X max.request.size=N" in default and "max.message.bytes" in default
    chosen = ClientSettings(bootstrap="h:1", values={"max.request.size": "2000000"})
    assert "2000000 bytes as set" in str(translate(exc, "producing to t", chosen))
    # The broker's own refusal carries no size: the topic's limit is what to raise.
    broker = str(translate(kerrors.MessageSizeTooLargeError(), "producing to t"))
    assert "max.message.bytes" in broker


def test_specific_messages_are_for_real_classes() -> None:
    assert all(cls in EVERY_CLASS for cls, _ in SPECIFIC)


@pytest.mark.kafka
def test_a_record_too_large_is_one_line(
    cli: Cli, kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("big")
    r = cli("produce", "-t", topic, "-n", "1", "--record-size", "3000000", "-b", kafka_bootstrap)
    assert r.code == 2, r
    errors = [ln for ln in r.err.splitlines() if ln.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: "), r
    assert re.search(r"a record of \d+ bytes is larger than the producer's max.request.size", r.err)
    assert "-X max.request.size=N" in r.err and "max.message.bytes" in r.err
    assert "unexpected" not in r.err and "Traceback" not in r.err


def _librdkafka_codes() -> list[int]:
    """Every error code librdkafka names (its table, as confluent-kafka exposes it)."""
    from confluent_kafka import KafkaError

    values = (getattr(KafkaError, name) for name in dir(KafkaError) if not name.startswith("__"))
    return sorted({v for v in values if isinstance(v, int)})


def test_every_librdkafka_error_code_is_one_line_naming_the_client() -> None:
    from confluent_kafka import KafkaError, KafkaException

    from ridectl.cli import _client_error

    codes = _librdkafka_codes()
    assert len(codes) > 100  # the walk really sees librdkafka's table
    for code in codes:
        err = KafkaError(code)
        known = _client_error(KafkaException(err))
        assert known is not None, err.name()
        text = str(known)
        assert text.startswith("librdkafka error: ") and err.name() in text
        assert "\n" not in text and "unexpected" not in text
