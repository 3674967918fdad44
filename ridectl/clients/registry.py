"""One record per client library: everything ridectl knows about a client, in one place.

The run, the lessons and the command line ask a client's :class:`ClientEntry`
(``entry(client)``) what it can do and how it behaves instead of comparing its name (a lesson
still names the clients it deliberately runs, and the bench the clients whose bare loops it
times). A new client is its adapter module (the producer and consumer of
:mod:`ridectl.clients.base`) plus one member of :class:`ClientName` and one entry in
:data:`CLIENTS` here.

Importing this module imports no client library: the adapters are loaded by the entry's
loaders the first time a producer or consumer is made or a client's own setting names are
asked for, so the command line starts as fast with three clients as with one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from ridectl.clients.partitioners import KeylessStrategy, PartitionerName
from ridectl.clients.setting_names import SettingName

if TYPE_CHECKING:
    from ridectl.clients.base import (
        ConsumerClient,
        DeliveryCallback,
        ProducerClient,
    )
    from ridectl.clients.settings import ClientSettings
    from ridectl.errors import RidectlError


class ClientName(StrEnum):
    """The client libraries ridectl drives (``--client``)."""

    KAFKA_PYTHON = "kafka-python"
    JAVA = "java"
    LIBRDKAFKA = "librdkafka"


#: The client a command uses when none is chosen.
DEFAULT_CLIENT = ClientName.KAFKA_PYTHON


class Side(StrEnum):
    PRODUCER = "producer"
    CONSUMER = "consumer"


class OrderSetting(StrEnum):
    """The settings that decide order whose defaults differ between clients, in the order
    the callouts list them (:mod:`ridectl.clients.order_defaults`)."""

    IDEMPOTENCE = "idempotence"
    IN_FLIGHT = "in-flight"
    PARTITIONER = "partitioner"
    LINGER = "linger"
    ISOLATION = "isolation"

    @property
    def side(self) -> Side:
        return Side.CONSUMER if self is OrderSetting.ISOLATION else Side.PRODUCER


@dataclass(frozen=True)
class ClientDefault:
    """A client's out-of-the-box value of one order-deciding setting, spelled as the client
    prints it in its ``settings_in_force``."""

    setting: OrderSetting
    #: the client's own name for the setting
    name: str
    value: str
    #: what the default does, in a few words, where the value alone says little
    meaning: str = ""


@dataclass(frozen=True)
class Capabilities:
    """What a client can do, as ridectl's code and lessons ask it. ``tests/test_client_registry.py``
    checks each flag against the adapter or the library itself; ``idempotent_pipelining`` is
    measured on the broker by the idempotence-five lesson (``tests/test_client_lessons.py``)."""

    #: an idempotent producer keeps several requests in flight per partition (the broker
    #: orders them by sequence number); without it, one batch per partition at a time
    idempotent_pipelining: bool
    #: the library has a transactional producer (``transactional.id``)
    transactions: bool
    #: the library has a share consumer (KIP-932 share groups)
    share_consumer: bool
    #: the consumer takes ``group.protocol=consumer`` (KIP-848's rebalance protocol)
    consumer_protocol: bool
    #: ridectl's producer takes a run of records in one call (``base.BlockProducer``)
    block_producing: bool
    #: ridectl's producer holds records before sending them (``base.StagingProducer``)
    staged_producing: bool
    #: ridectl's consumer hands records over as columns (``base.ColumnarConsumer``)
    columnar_consuming: bool
    #: ridectl's consumer hands record timestamps over and starts from a time
    #: (``base.TimeSeekingConsumer``): ``audit --since`` and ``audit --explain`` need it
    time_seeking: bool
    #: the client runs in a process of its own (its CPU is not ridectl's) started on a Java
    #: runtime, which must be installed (Java 17+)
    runs_on_java: bool


class ProducerFactory(Protocol):
    """What makes a client's producer (its adapter class)."""

    def __call__(
        self,
        settings: ClientSettings,
        topic: str,
        on_delivery: DeliveryCallback,
        *,
        bootstrap: str | None = None,
        partitioner: str | None = None,
    ) -> ProducerClient: ...


class ConsumerFactory(Protocol):
    """What makes a client's consumer (its adapter class)."""

    def __call__(
        self, settings: ClientSettings, *, group: str | None, doing: str
    ) -> ConsumerClient: ...


@dataclass(frozen=True)
class ClientEntry:
    """Everything ridectl knows about one client library."""

    name: ClientName
    #: how one-line messages name it ("the Java client")
    called: str
    #: what ``--client`` help says of it beside its name (empty: nothing)
    about: str
    capabilities: Capabilities
    #: where the client puts a record without a key
    keyless: KeylessStrategy
    #: the hash the client applies to keys, given the settings it ran with (by its own
    #: names); None when it places keys at random
    key_hash: Callable[[Mapping[str, str]], PartitionerName | None]
    #: the settings, by the names the client takes, that make every record a batch of its own
    one_record_batch: Mapping[str, str]
    #: the shortest ``retry.backoff.ms`` the client accepts
    shortest_retry_backoff_ms: int
    #: its defaults of the settings that decide order (see :mod:`ridectl.clients.order_defaults`)
    order_defaults: tuple[ClientDefault, ...]
    #: ``Delivery.error`` names meaning "the broker stopped answering" (the record expired
    #: unacknowledged, or no broker could be reached)
    broker_gone_errors: frozenset[str]
    #: loaders of the adapter (each imports the client library the first time it is called)
    producer: Callable[[], ProducerFactory]
    consumer: Callable[[], ConsumerFactory]
    #: settings translation: what the client is handed for a role ("producer", "consumer")
    #: from ridectl's settings; refuses, with one line, a setting the client cannot take
    translate: Callable[[ClientSettings, str], Mapping[str, object]]
    #: settings validation: whether the client has a setting of this name (its own names
    #: pass through), and every name it has (asked only to suggest the nearest one)
    knows: Callable[[str], bool]
    own_names: Callable[[], Iterable[str]]
    #: the module of the client library in this process (None: the client runs in a process
    #: of its own, whose errors arrive as text), and the one line for an exception of it that
    #: no command translated (None: not one of its exceptions)
    library: str | None
    uncaught_error: Callable[[BaseException], RidectlError | None]


# --------------------------------------------------------------------------- kafka-python


def _kafka_python_producer() -> ProducerFactory:
    from ridectl.clients.kafka_python import KafkaPythonProducer

    return KafkaPythonProducer


def _kafka_python_consumer() -> ConsumerFactory:
    from ridectl.clients.kafka_python import KafkaPythonConsumer

    return KafkaPythonConsumer


def _kafka_python_translate(settings: ClientSettings, role: str) -> Mapping[str, object]:
    return settings.kwargs(role)


def _kafka_python_error(exc: BaseException) -> RidectlError | None:
    from ridectl.clients.kafka_python_errors import client_error

    return client_error(exc)


def _murmur2(_in_force: Mapping[str, str]) -> PartitionerName | None:
    return PartitionerName.murmur2


KAFKA_PYTHON = ClientEntry(
    name=ClientName.KAFKA_PYTHON,
    called="kafka-python",
    about="",
    capabilities=Capabilities(
        idempotent_pipelining=False,
        transactions=True,
        share_consumer=False,
        consumer_protocol=False,
        block_producing=False,
        staged_producing=False,
        columnar_consuming=True,
        time_seeking=True,
        runs_on_java=False,
    ),
    keyless=KeylessStrategy.RANDOM_PER_RECORD,
    key_hash=_murmur2,
    one_record_batch={SettingName.BATCH_SIZE: "1"},
    shortest_retry_backoff_ms=0,
    order_defaults=(
        ClientDefault(OrderSetting.IDEMPOTENCE, SettingName.ENABLE_IDEMPOTENCE, "true"),
        ClientDefault(OrderSetting.IN_FLIGHT, SettingName.MAX_IN_FLIGHT, "5"),
        ClientDefault(
            OrderSetting.PARTITIONER,
            SettingName.PARTITIONER,
            "DefaultPartitioner",
            "keys by murmur2, no key: a random partition per record",
        ),
        ClientDefault(OrderSetting.LINGER, SettingName.LINGER_MS, "0"),
        ClientDefault(OrderSetting.ISOLATION, SettingName.ISOLATION_LEVEL, "read_uncommitted"),
    ),
    broker_gone_errors=frozenset({"KafkaTimeoutError", "KafkaConnectionError"}),
    producer=_kafka_python_producer,
    consumer=_kafka_python_consumer,
    translate=_kafka_python_translate,
    knows=lambda _name: False,
    own_names=tuple,
    library="kafka",
    uncaught_error=_kafka_python_error,
)


# --------------------------------------------------------------------------- the Java client


def _java_producer() -> ProducerFactory:
    from ridectl.clients.java import JavaProducer

    return JavaProducer


def _java_consumer() -> ConsumerFactory:
    from ridectl.clients.java_consumer import JavaConsumer

    return JavaConsumer


def _java_translate(settings: ClientSettings, role: str) -> Mapping[str, object]:
    from ridectl.clients.java import java_settings

    return java_settings(settings.values, role)


def _java_knows(name: str) -> bool:
    from ridectl.clients.java import knows

    return knows(name)


def _java_names() -> Iterable[str]:
    from ridectl.clients.java import all_own_names

    return all_own_names()


JAVA = ClientEntry(
    name=ClientName.JAVA,
    called="the Java client",
    about="the Kafka Java client",
    capabilities=Capabilities(
        idempotent_pipelining=True,
        transactions=True,
        share_consumer=True,
        consumer_protocol=True,
        block_producing=True,
        staged_producing=True,
        columnar_consuming=True,
        time_seeking=False,
        runs_on_java=True,
    ),
    keyless=KeylessStrategy.STICKY_BATCH,
    key_hash=_murmur2,
    one_record_batch={SettingName.BATCH_SIZE: "1"},
    shortest_retry_backoff_ms=0,
    order_defaults=(
        ClientDefault(OrderSetting.IDEMPOTENCE, SettingName.ENABLE_IDEMPOTENCE, "true"),
        ClientDefault(OrderSetting.IN_FLIGHT, SettingName.MAX_IN_FLIGHT, "5"),
        ClientDefault(
            OrderSetting.PARTITIONER,
            SettingName.PARTITIONER_CLASS,
            "built-in",
            "keys by murmur2, no key: sticky",
        ),
        ClientDefault(OrderSetting.LINGER, SettingName.LINGER_MS, "5"),
        ClientDefault(OrderSetting.ISOLATION, SettingName.ISOLATION_LEVEL, "read_uncommitted"),
    ),
    # the record expired unacknowledged (delivery.timeout.ms)
    broker_gone_errors=frozenset({"TimeoutException"}),
    producer=_java_producer,
    consumer=_java_consumer,
    translate=_java_translate,
    knows=_java_knows,
    own_names=_java_names,
    library=None,
    uncaught_error=lambda _exc: None,
)


# --------------------------------------------------------------------------- librdkafka


def _librdkafka_producer() -> ProducerFactory:
    from ridectl.clients.librdkafka import LibrdkafkaProducer

    return LibrdkafkaProducer


def _librdkafka_consumer() -> ConsumerFactory:
    from ridectl.clients.librdkafka_consumer import LibrdkafkaConsumer

    return LibrdkafkaConsumer


def _librdkafka_translate(settings: ClientSettings, role: str) -> Mapping[str, object]:
    from ridectl.clients.rdkafka_conf import translate

    return translate(settings.values, role)


def _librdkafka_knows(name: str) -> bool:
    from ridectl.clients.rdkafka_conf import knows

    return knows(name)


def _librdkafka_names() -> Iterable[str]:
    from ridectl.clients.rdkafka_conf import own_names

    return own_names()


def _librdkafka_error(exc: BaseException) -> RidectlError | None:
    from ridectl.clients.librdkafka import uncaught_error

    return uncaught_error(exc)


#: librdkafka's default ``partitioner``
RDKAFKA_PARTITIONER = "consistent_random"
#: librdkafka's ``partitioner`` values -> the hash each applies to a non-empty key
_RDKAFKA_HASHES = {
    "consistent": PartitionerName.crc32,
    RDKAFKA_PARTITIONER: PartitionerName.crc32,
    "murmur2": PartitionerName.murmur2,
    "murmur2_random": PartitionerName.murmur2,
    "fnv1a": PartitionerName.fnv1a,
    "fnv1a_random": PartitionerName.fnv1a,
}


def _rdkafka_hash(in_force: Mapping[str, str]) -> PartitionerName | None:
    """The hash of librdkafka's ``partitioner`` setting (None: ``random``)."""
    return _RDKAFKA_HASHES.get(in_force.get(SettingName.PARTITIONER, RDKAFKA_PARTITIONER))


LIBRDKAFKA = ClientEntry(
    name=ClientName.LIBRDKAFKA,
    called="librdkafka",
    about="confluent-kafka",
    capabilities=Capabilities(
        idempotent_pipelining=True,
        transactions=True,
        share_consumer=True,
        consumer_protocol=True,
        block_producing=True,
        staged_producing=False,
        columnar_consuming=True,
        time_seeking=True,
        runs_on_java=False,
    ),
    keyless=KeylessStrategy.STICKY_TIME,
    key_hash=_rdkafka_hash,
    # librdkafka counts a batch in records, not bytes
    one_record_batch={SettingName.BATCH_NUM_MESSAGES: "1"},
    # librdkafka refuses a retry backoff under 1 ms
    shortest_retry_backoff_ms=1,
    order_defaults=(
        ClientDefault(OrderSetting.IDEMPOTENCE, SettingName.ENABLE_IDEMPOTENCE, "false"),
        ClientDefault(OrderSetting.IN_FLIGHT, SettingName.MAX_IN_FLIGHT, "1000000"),
        ClientDefault(
            OrderSetting.PARTITIONER,
            SettingName.PARTITIONER,
            RDKAFKA_PARTITIONER,
            "keys by CRC-32, no key: sticky",
        ),
        ClientDefault(OrderSetting.LINGER, SettingName.LINGER_MS, "5"),
        ClientDefault(OrderSetting.ISOLATION, SettingName.ISOLATION_LEVEL, "read_committed"),
    ),
    # the record expired (message.timeout.ms), or no broker answers
    broker_gone_errors=frozenset({"_MSG_TIMED_OUT", "_TRANSPORT", "_ALL_BROKERS_DOWN"}),
    producer=_librdkafka_producer,
    consumer=_librdkafka_consumer,
    translate=_librdkafka_translate,
    knows=_librdkafka_knows,
    own_names=_librdkafka_names,
    library="confluent_kafka",
    uncaught_error=_librdkafka_error,
)


#: Every client, in the order of :class:`ClientName`.
CLIENTS: Mapping[ClientName, ClientEntry] = {e.name: e for e in (KAFKA_PYTHON, JAVA, LIBRDKAFKA)}


def entry(client: ClientName) -> ClientEntry:
    """The record of ``client``."""
    return CLIENTS[client]


#: ``Delivery.error`` names meaning "the broker stopped answering", of every client: a run
#: without faults that sees one stops sending and reports the broker gone.
BROKER_GONE_ERRORS: frozenset[str] = frozenset().union(
    *(e.broker_gone_errors for e in CLIENTS.values())
)
