"""The out-of-the-box settings that decide order, where the clients part ways.

A run shows the settings its client ran with, read back from the client itself. What a run
cannot read back is what the *other* clients would have done by default; each client's record
(:attr:`ridectl.clients.registry.ClientEntry.order_defaults`) says it, each value spelled as
that client prints it in its ``settings_in_force``, and :data:`ORDER_DEFAULTS` lines them up
setting by setting. It is not trusted blindly: ``tests/test_clients_cli.py`` starts each client
with no setting given and compares what it reads back with every entry here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ridectl.clients.registry import CLIENTS, ClientEntry, ClientName, OrderSetting, Side
from ridectl.clients.setting_names import SettingName

__all__ = ["ORDER_DEFAULTS", "OrderDefault", "Side", "callouts", "one_record_per_request"]


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


def _line_up(setting: OrderSetting, entries: Mapping[ClientName, ClientEntry]) -> OrderDefault:
    own = {
        client: next(d for d in record.order_defaults if d.setting is setting)
        for client, record in entries.items()
    }
    return OrderDefault(
        setting.side,
        {client: d.name for client, d in own.items()},
        {client: d.value for client, d in own.items()},
        {client: d.meaning for client, d in own.items() if d.meaning},
    )


ORDER_DEFAULTS: tuple[OrderDefault, ...] = tuple(_line_up(s, CLIENTS) for s in OrderSetting)


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
    nothing keeps them in order (idempotence off). How a client makes a batch of one record
    and how short its retry backoff may be are its record's
    (:attr:`~ridectl.clients.registry.ClientEntry.one_record_batch`,
    :attr:`~ridectl.clients.registry.ClientEntry.shortest_retry_backoff_ms`)."""
    record = CLIENTS[client]
    return {
        SettingName.ENABLE_IDEMPOTENCE: "false",
        SettingName.MAX_IN_FLIGHT: "5",
        SettingName.RETRIES: "1000000",
        SettingName.ACKS: "all",
        SettingName.LINGER_MS: "0",
        **record.one_record_batch,
        SettingName.RETRY_BACKOFF_MS: str(record.shortest_retry_backoff_ms),
    }
