"""Producers and consumers by client name: the experiment asks here and never imports a client
library. Which class serves which client is the client's record's business
(:mod:`ridectl.clients.registry`)."""

from __future__ import annotations

from ridectl.clients.base import ClientName, ConsumerClient, DeliveryCallback, ProducerClient
from ridectl.clients.registry import entry
from ridectl.clients.settings import ClientSettings, refuse_unknown


def check_settings(client: ClientName, settings: ClientSettings) -> None:
    """Refuse a setting name that neither ridectl's table (:mod:`ridectl.clients.settings`) nor
    ``client`` knows, as one line naming the client and the nearest name; a name the client
    knows passes through to it. The client libraries are asked, not copied."""
    if not settings.foreign():
        return
    record = entry(client)
    refuse_unknown(settings, record.called, record.knows, record.own_names)


def make_producer(
    client: ClientName,
    settings: ClientSettings,
    topic: str,
    on_delivery: DeliveryCallback,
    *,
    bootstrap: str | None = None,
    partitioner: str | None = None,
) -> ProducerClient:
    """A producer of ``client`` sending to ``topic`` with ``settings`` (Java names).

    ``bootstrap`` replaces the settings' servers (the fault proxy's address); ``partitioner``
    places keyed records like the named client would (see :mod:`ridectl.clients.partitioners`)."""
    check_settings(client, settings)
    make = entry(client).producer()
    return make(settings, topic, on_delivery, bootstrap=bootstrap, partitioner=partitioner)


def make_consumer(
    client: ClientName, settings: ClientSettings, *, group: str | None, doing: str
) -> ConsumerClient:
    """A consumer of ``client``; ``doing`` names the task in error messages."""
    return entry(client).consumer()(settings, group=group, doing=doing)
