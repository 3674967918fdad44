"""Topic administration (create, describe, grow, delete) and turning client errors into
one-line messages."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from kafka import TopicPartition
from kafka import errors as kerrors
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, OffsetSpec

from ridectl.clients.kafka_python_errors import translate
from ridectl.clients.setting_names import SettingName
from ridectl.clients.settings import ClientSettings
from ridectl.errors import RidectlError, UsageError, require_positive

DEFAULT_PARTITIONS = 6
#: How long a command keeps trying to reach the bootstrap servers before it gives up
#: (``-X bootstrap.timeout.ms=...`` changes it).
DEFAULT_CONNECT_TIMEOUT_MS = 10_000


def unreachable(settings: ClientSettings, seconds: float) -> RidectlError:
    return RidectlError(
        f"cannot reach Kafka at {settings.bootstrap} within {seconds:g}s",
        hint="is a broker running? start one with `ridectl broker up`, or point "
        "--bootstrap-servers / KAFKA_BOOTSTRAP_SERVERS at yours; "
        "-X bootstrap.timeout.ms=N sets the wait",
    )


# Any: the keyword arguments of kafka-python's constructors, whose values are of many types.
def client_kwargs(settings: ClientSettings, role: str) -> dict[str, Any]:
    kwargs = settings.kwargs(role)
    kwargs.setdefault("bootstrap_timeout_ms", DEFAULT_CONNECT_TIMEOUT_MS)
    kwargs.setdefault("request_timeout_ms", 30_000)
    return kwargs


class _ConnectionWatch(logging.Handler):
    """Remembers why kafka-python's connections failed while a client starts.

    kafka-python only reports "Unable to bootstrap" in the end; its log says whether the TLS
    handshake failed or the broker hung up during SASL authentication. Only those facts are
    kept (never the logged text of requests, which may carry credentials)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.tls_failure: str | None = None
        self.sasl_started = False
        self.disconnected = False

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a record that cannot be formatted tells nothing
            return
        if record.name.startswith("kafka.net.sasl"):
            self.sasl_started = True
        m = re.search(r"Handshake failed: (.*?)(?: \(_ssl\.c:\d+\))?(?: \(backoff|$)", text)
        if m and self.tls_failure is None:
            self.tls_failure = re.sub(r"^\[SSL: [A-Z_]+\] ", "", m.group(1)).strip()[:200]
        if "socket disconnected" in text:
            self.disconnected = True


@contextlib.contextmanager
def _watch_connections() -> Iterator[_ConnectionWatch]:
    logger = logging.getLogger("kafka")
    watch = _ConnectionWatch()
    logger.addHandler(watch)
    try:
        yield watch
    finally:
        logger.removeHandler(watch)


def _bootstrap_failure(settings: ClientSettings, watch: _ConnectionWatch) -> RidectlError:
    """The most telling message for a bootstrap that never succeeded."""
    where = settings.bootstrap
    protocol = (settings.get(SettingName.SECURITY_PROTOCOL) or "PLAINTEXT").strip().upper()
    if watch.tls_failure:
        return RidectlError(
            f"TLS handshake with Kafka at {where} failed: {watch.tls_failure}",
            hint="check ssl.truststore.location / ssl.ca.location (the CA that signed the "
            "broker's certificate) and the host name in the certificate",
        )
    if watch.sasl_started and watch.disconnected:
        mechanism = settings.get(SettingName.SASL_MECHANISM) or "PLAIN"
        return RidectlError(
            f"Kafka at {where} refused the SASL login ({mechanism})",
            hint="check the user name and password (sasl.jaas.config or sasl.username / "
            "sasl.password) and sasl.mechanism",
        )
    if watch.disconnected and protocol == "PLAINTEXT":
        return RidectlError(
            f"Kafka at {where} accepted the connection but closed it at once",
            hint="is this a TLS or SASL listener? set security.protocol (and its settings) "
            "with --config or -X",
        )
    given = settings.parsed(SettingName.BOOTSTRAP_TIMEOUT_MS)
    timeout = float(given if isinstance(given, int) else DEFAULT_CONNECT_TIMEOUT_MS)
    return unreachable(settings, timeout / 1000)


@contextlib.contextmanager
def kafka_errors(settings: ClientSettings, doing: str) -> Iterator[None]:
    """Translate kafka-python's exceptions into one-line ``RidectlError`` messages."""
    with _watch_connections() as watch:
        try:
            yield
        except RidectlError:
            raise
        except kerrors.KafkaTimeoutError as exc:
            if "bootstrap" in str(exc):
                # kafka-python 3 reports an unreachable bootstrap as "Unable to bootstrap".
                raise _bootstrap_failure(settings, watch) from None
            _translate(settings, doing, exc)
        except kerrors.KafkaError as exc:
            _translate(settings, doing, exc)


def _translate(settings: ClientSettings, doing: str, exc: kerrors.KafkaError) -> NoReturn:
    """One-line message for a client error other than a failed bootstrap."""
    raise translate(exc, doing, settings) from None


@contextlib.contextmanager
def admin_client(settings: ClientSettings) -> Iterator[KafkaAdminClient]:
    with kafka_errors(settings, "connecting"):
        client = KafkaAdminClient(**client_kwargs(settings, "admin"))
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.close()


@dataclass(frozen=True)
class TopicInfo:
    name: str
    partitions: int
    created: bool
    replication: int


def describe(admin: KafkaAdminClient, topic: str) -> tuple[int, int] | None:
    """(partition count, replication factor) of a topic, or None when it does not exist."""
    try:
        desc = admin.describe_topics([topic])
    except kerrors.UnknownTopicOrPartitionError:
        return None
    if not desc:
        return None
    d = desc[0]
    if d.get("error_code", 0) == kerrors.UnknownTopicOrPartitionError.errno:
        return None
    parts = d.get("partitions") or []
    if not parts:
        return None
    return len(parts), len(parts[0].get("replica_nodes") or [])


def ensure_topic(
    settings: ClientSettings,
    topic: str,
    partitions: int | None,
    replication: int = 1,
    configs: Mapping[str, str] | None = None,
) -> TopicInfo:
    """Create the topic if it is missing. When it exists, an explicit ``partitions`` that
    differs from its count is refused (the run would not be what the user asked for).

    ``configs`` are topic-level settings applied at creation only (for example
    ``min.insync.replicas``); an existing topic keeps whatever it has."""
    validate_topic_name(topic)
    if partitions is not None and partitions <= 0:
        raise UsageError(f"--partitions must be 1 or more, not {partitions}")
    require_positive("--replication-factor", replication)
    with admin_client(settings) as admin, kafka_errors(settings, f"creating topic {topic}"):
        existing = describe(admin, topic)
        if existing is not None:
            count, rf = existing
            if partitions is not None and partitions != count:
                raise UsageError(
                    f"topic {topic} already exists with {count} partitions, not {partitions}",
                    hint=f"use --partitions {count}, another --topic, or delete it first",
                )
            return TopicInfo(topic, count, False, rf)
        want = partitions or DEFAULT_PARTITIONS
        try:
            admin.create_topics(
                {
                    topic: {
                        "num_partitions": want,
                        "replication_factor": replication,
                        "configs": dict(configs or {}),
                    }
                },
                wait_for_metadata=True,
            )
        except kerrors.TopicAlreadyExistsError:
            pass  # created meanwhile by someone else
        except kerrors.InvalidConfigurationError as exc:
            raise UsageError(f"topic {topic}: the broker refused its settings ({exc})") from None
        except kerrors.InvalidReplicationFactorError:
            raise UsageError(
                f"replication factor {replication} is more than the cluster's brokers",
                hint="use --replication-factor 1, or ridectl broker up --nodes 3",
            ) from None
        final = describe(admin, topic)
        count, rf = final if final else (want, replication)
        return TopicInfo(topic, count, True, rf)


def partition_count(
    settings: ClientSettings,
    topic: str,
    *,
    hint: str | None = None,
) -> int:
    """How many partitions ``topic`` has; a missing topic is one line (with ``hint``, or the
    advice to produce a run)."""
    with admin_client(settings) as admin, kafka_errors(settings, f"describing topic {topic}"):
        existing = describe(admin, topic)
    if existing is None:
        raise UsageError(
            f"topic {topic} does not exist on {settings.bootstrap}",
            hint=hint or "produce a run first: ridectl produce --topic " + topic,
        )
    return existing[0]


def first_offsets(settings: ClientSettings, topic: str, partitions: int) -> dict[int, int]:
    """The first offset each partition still holds (its low watermark): where a read from the
    beginning starts, past records already removed by retention."""
    specs = {TopicPartition(topic, p): OffsetSpec.EARLIEST for p in range(partitions)}
    with admin_client(settings) as admin, kafka_errors(settings, f"finding the start of {topic}"):
        found = admin.list_partition_offsets(specs)
    return {tp.partition: int(at.offset) for tp, at in found.items()}


def grow(settings: ClientSettings, topic: str, total: int) -> None:
    """Add partitions so the topic has ``total`` (keys then map differently)."""
    with admin_client(settings) as admin, kafka_errors(settings, f"growing topic {topic}"):
        admin.create_partitions({topic: total})


def delete(settings: ClientSettings, topic: str) -> None:
    with (
        admin_client(settings) as admin,
        kafka_errors(settings, f"deleting topic {topic}"),
        contextlib.suppress(kerrors.UnknownTopicOrPartitionError),
    ):
        admin.delete_topics([topic])


def delete_many(settings: ClientSettings, topics: Sequence[str]) -> None:
    """Delete ``topics`` in one request (a demo's clean-up); those already gone are no error."""
    if not topics:
        return
    with admin_client(settings) as admin, kafka_errors(settings, f"deleting {len(topics)} topics"):
        admin.delete_topics(list(topics), raise_errors=False)


def broker_setting(settings: ClientSettings, name: str) -> str | None:
    """One broker setting (for example ``group.min.session.timeout.ms``) as the first broker
    of the cluster reports it; None when it does not say (no right to describe configs, or a
    name it does not know)."""
    with admin_client(settings) as admin, kafka_errors(settings, f"reading the broker's {name}"):
        try:
            brokers = admin.describe_cluster().get("brokers") or []
            if not brokers:
                return None
            node = str(brokers[0]["broker_id"])
            resource = ConfigResource(ConfigResourceType.BROKER, node, configs={name: None})
            found = admin.describe_configs([resource], config_filter="all")
        except (kerrors.BrokerResponseError, kerrors.UnsupportedVersionError):
            return None  # refused (no right to describe configs) or not supported
    entry = found.get("broker", {}).get(node, {}).get(name)
    value = entry.get("value") if isinstance(entry, dict) else None
    return None if value is None else str(value)


def validate_topic_name(topic: str) -> None:
    legal = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    if not topic or len(topic) > 249 or topic in (".", "..") or set(topic) - legal:
        raise UsageError(f"bad topic name {topic!r}: use 1-249 letters, digits, '.', '_' or '-'")
