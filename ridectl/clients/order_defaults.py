"""The out-of-the-box settings that decide order, where the three clients part ways.

A run shows the settings its client ran with, read back from the client itself. What a run
cannot read back is what the *other* clients would have done by default; this table says it,
each value spelled as that client prints it in its ``settings_in_force``. It is not trusted
blindly: ``tests/test_clients_cli.py`` starts each client with no setting given and compares
what it reads back with every entry here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from ridectl.clients.base import ClientName

_KP, _JAVA, _RDK = ClientName.KAFKA_PYTHON, ClientName.JAVA, ClientName.LIBRDKAFKA


class Side(StrEnum):
    PRODUCER = "producer"
    CONSUMER = "consumer"


@dataclass(frozen=True)
class OrderDefault:
    """One setting that decides order: each client's name for it and its default value."""

    side: Side
    names: Mapping[ClientName, str]
    defaults: Mapping[ClientName, str]
    #: what the default does, in a few words, where the value alone says little
    meaning: Mapping[ClientName, str]

    def differs(self) -> bool:
        return len(set(self.defaults.values())) > 1 or len(set(self.meaning.values())) > 1


def _same(name: str) -> dict[ClientName, str]:
    return {_KP: name, _JAVA: name, _RDK: name}


ORDER_DEFAULTS: tuple[OrderDefault, ...] = (
    OrderDefault(
        Side.PRODUCER,
        _same("enable.idempotence"),
        {_KP: "true", _JAVA: "true", _RDK: "false"},
        {},
    ),
    OrderDefault(
        Side.PRODUCER,
        _same("max.in.flight.requests.per.connection"),
        {_KP: "5", _JAVA: "5", _RDK: "1000000"},
        {},
    ),
    OrderDefault(
        Side.PRODUCER,
        {_KP: "partitioner", _JAVA: "partitioner.class", _RDK: "partitioner"},
        {_KP: "DefaultPartitioner", _JAVA: "built-in", _RDK: "consistent_random"},
        {
            _KP: "keys by murmur2, no key: a random partition per record",
            _JAVA: "keys by murmur2, no key: sticky",
            _RDK: "keys by CRC-32, no key: sticky",
        },
    ),
    OrderDefault(Side.PRODUCER, _same("linger.ms"), {_KP: "0", _JAVA: "5", _RDK: "5"}, {}),
    OrderDefault(
        Side.CONSUMER,
        _same("isolation.level"),
        {_KP: "read_uncommitted", _JAVA: "read_uncommitted", _RDK: "read_committed"},
        {},
    ),
)


def callouts(client: ClientName, in_force: Mapping[str, str], side: Side) -> list[str]:
    """One line per order-deciding setting whose default differs between clients: the value
    ``client`` ran with (in its own name), then what the other clients do by default, e.g.
    ``enable.idempotence=false (default elsewhere: kafka-python, java true)``."""
    lines: list[str] = []
    for entry in ORDER_DEFAULTS:
        if entry.side is not side or not entry.differs():
            continue
        name = entry.names[client]
        value = in_force.get(name, entry.defaults[client])
        shown = f"{name}={value}"
        if value == entry.defaults[client] and client in entry.meaning:
            shown += f" ({entry.meaning[client]})"
        elsewhere: dict[str, list[str]] = {}
        for other in ClientName:
            if other is not client:
                text = entry.meaning.get(other) or _spelled(entry, other, name)
                elsewhere.setdefault(text, []).append(other.value)
        listed = "; ".join(f"{', '.join(who)} {text}" for text, who in elsewhere.items())
        lines.append(f"{shown} (default elsewhere: {listed})")
    return lines


def _spelled(entry: OrderDefault, other: ClientName, name: str) -> str:
    own = entry.names[other]
    return entry.defaults[other] if own == name else f"{own}={entry.defaults[other]}"


def one_record_per_request(client: ClientName) -> dict[str, str]:
    """The retry recipe for ``client``, by the names it takes: each record travels in its own
    request, five requests may be in flight per connection, retries go out at once and
    nothing keeps them in order (idempotence off). kafka-python and the Java client size a
    batch for one record with ``batch.size=1``; librdkafka counts records per batch
    (``batch.num.messages=1``) and refuses a retry backoff under 1 ms."""
    recipe = {
        "enable.idempotence": "false",
        "max.in.flight.requests.per.connection": "5",
        "retries": "1000000",
        "acks": "all",
        "linger.ms": "0",
    }
    if client is ClientName.LIBRDKAFKA:
        return {**recipe, "batch.num.messages": "1", "retry.backoff.ms": "1"}
    return {**recipe, "batch.size": "1", "retry.backoff.ms": "0"}
