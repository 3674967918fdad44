"""Which implementation serves which client: the one place that turns a :class:`ClientName`
into a producer or a consumer. The experiment asks here and never imports a client library."""

from __future__ import annotations

from ridectl.clients.base import ClientName, ConsumerClient, DeliveryCallback, ProducerClient
from ridectl.clients.settings import ClientSettings, refuse_unknown
from ridectl.errors import UsageError


def check_settings(client: ClientName, settings: ClientSettings) -> None:
    """Refuse a setting name that neither ridectl's table (:mod:`ridectl.clients.settings`) nor
    ``client`` knows, as one line naming the client and the nearest name; a name the client
    knows passes through to it. The client libraries are asked, not copied."""
    if not settings.foreign():
        return
    if client is ClientName.KAFKA_PYTHON:
        refuse_unknown(settings, client.value, lambda _name: False)
    elif client is ClientName.JAVA:
        from ridectl.clients import java

        refuse_unknown(settings, "the Java client", java.knows, java.all_own_names)
    elif client is ClientName.LIBRDKAFKA:
        from ridectl.clients import rdkafka_conf

        refuse_unknown(settings, client.value, rdkafka_conf.knows, rdkafka_conf.own_names)


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
    if client is ClientName.KAFKA_PYTHON:
        from ridectl.clients.kafka_python import KafkaPythonProducer

        return KafkaPythonProducer(
            settings, topic, on_delivery, bootstrap=bootstrap, partitioner=partitioner
        )
    if client is ClientName.JAVA:
        from ridectl.clients.java import JavaProducer

        return JavaProducer(
            settings, topic, on_delivery, bootstrap=bootstrap, partitioner=partitioner
        )
    if client is ClientName.LIBRDKAFKA:
        from ridectl.clients.librdkafka import LibrdkafkaProducer

        return LibrdkafkaProducer(
            settings, topic, on_delivery, bootstrap=bootstrap, partitioner=partitioner
        )
    raise _unavailable(client)


def make_consumer(
    client: ClientName, settings: ClientSettings, *, group: str | None, doing: str
) -> ConsumerClient:
    """A consumer of ``client``; ``doing`` names the task in error messages."""
    if client is ClientName.KAFKA_PYTHON:
        from ridectl.clients.kafka_python import KafkaPythonConsumer

        return KafkaPythonConsumer(settings, group=group, doing=doing)
    if client is ClientName.JAVA:
        from ridectl.clients.java_consumer import JavaConsumer

        return JavaConsumer(settings, group=group, doing=doing)
    if client is ClientName.LIBRDKAFKA:
        from ridectl.clients.librdkafka import LibrdkafkaConsumer

        return LibrdkafkaConsumer(settings, group=group, doing=doing)
    raise _unavailable(client)


def _unavailable(client: ClientName) -> UsageError:
    return UsageError(f"the {client.value} client is not available in this version of ridectl")
