"""kafka-python's exceptions as one line the user can act on, never as "unexpected".

``translate`` maps every exception class of ``kafka.errors``: a few common ones get a message of
their own (a record too large names its size, the limit and the settings to raise), the others
are described by their family (authorization, connection, timeout, temporary broker answer,
other broker answer, client-side misuse). ``client_error`` is the last resort of the command
line for a client exception that escaped the code paths that translate their own.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator

from kafka import errors as kerrors

from ridectl.clients.setting_names import SettingName
from ridectl.clients.settings import ClientSettings
from ridectl.errors import RidectlError, UsageError

#: kafka-python's own defaults for the limits a too-large record runs into
DEFAULT_MAX_REQUEST_SIZE = 1_048_576
DEFAULT_BUFFER_MEMORY = 33_554_432
BROKER_STATUS = "check the broker: ridectl broker status"


def _setting(settings: ClientSettings | None, key: str, default: int) -> str:
    raw = settings.get(key) if settings is not None else None
    return f"{raw} bytes as set" if raw else f"{default} bytes by default"


def _too_large(
    exc: kerrors.KafkaError, doing: str, settings: ClientSettings | None
) -> RidectlError:
    text = str(exc)
    size = re.search(r"(\d+) bytes", text)
    if size is None:
        # The broker's answer: the record passed the client but not the topic's limit.
        return UsageError(
            f"{doing}: Kafka refused a record as larger than the topic accepts",
            hint="raise the topic's max.message.bytes (or the broker's message.max.bytes), "
            "or send smaller records with a lower --record-size",
        )
    if "buffer_memory" in text:
        limit, key = (
            _setting(settings, SettingName.BUFFER_MEMORY, DEFAULT_BUFFER_MEMORY),
            SettingName.BUFFER_MEMORY,
        )
    else:
        limit = _setting(settings, SettingName.MAX_REQUEST_SIZE, DEFAULT_MAX_REQUEST_SIZE)
        key = SettingName.MAX_REQUEST_SIZE
    return UsageError(
        f"{doing}: a record of {size[1]} bytes is larger than the producer's {key}, {limit}",
        hint=f"raise it with -X {key}=N and the topic's max.message.bytes to match, "
        "or send smaller records with a lower --record-size",
    )


def _family(exc: kerrors.KafkaError, doing: str, settings: ClientSettings | None) -> RidectlError:
    """A message from the kind of error, for every class without a message of its own."""
    name = type(exc).__name__
    detail = str(exc) or name
    where = settings.bootstrap if settings is not None else "the broker"
    if isinstance(exc, kerrors.AuthorizationError):
        return RidectlError(
            f"{doing}: Kafka at {where} refused the request: not authorized ({name})",
            hint="check the ACLs of the user in sasl.jaas.config for this topic and group",
        )
    if isinstance(exc, kerrors.KafkaConfigurationError | kerrors.IllegalArgumentError):
        return UsageError(
            f"{doing}: the client settings do not fit together ({detail})",
            hint="change or drop one of the settings named",
        )
    if isinstance(exc, kerrors.KafkaTimeoutError | kerrors.RequestTimedOutError):
        return RidectlError(
            f"{doing}: Kafka at {where} did not answer in time ({detail})", hint=BROKER_STATUS
        )
    if isinstance(exc, kerrors.KafkaConnectionError | kerrors.NodeNotReadyError):
        return RidectlError(
            f"{doing}: lost the connection to Kafka at {where} ({detail})", hint=BROKER_STATUS
        )
    if isinstance(exc, kerrors.UnknownTopicOrPartitionError):
        return UsageError(
            f"{doing}: the topic or partition does not exist ({detail})",
            hint="check the topic name",
        )
    if isinstance(exc, kerrors.RetriableError):
        return RidectlError(
            f"{doing}: Kafka at {where} kept answering {name}, a temporary error, until the "
            f"client gave up ({detail})",
            hint=f"try again; if it persists, {BROKER_STATUS}",
        )
    if isinstance(exc, kerrors.BrokerResponseError):
        return RidectlError(
            f"{doing}: Kafka at {where} answered {name} (error code {exc.errno}): {detail}",
            hint="the broker's log says more: ridectl broker logs",
        )
    return RidectlError(
        f"{doing}: the Kafka client failed with {name}: {detail}",
        hint="check the settings given with --config and -X",
    )


Translator = Callable[[kerrors.KafkaError, str, ClientSettings | None], RidectlError]

#: classes with a message of their own (checked in order, before the family)
SPECIFIC: list[tuple[type[kerrors.KafkaError], Translator]] = [
    (kerrors.MessageSizeTooLargeError, _too_large),
    (kerrors.RecordListTooLargeError, _too_large),
]


def translate(
    exc: kerrors.KafkaError, doing: str, settings: ClientSettings | None = None
) -> RidectlError:
    """The one-line error for a kafka-python exception met while ``doing`` something."""
    for cls, make in SPECIFIC:
        if isinstance(exc, cls):
            return make(exc, doing, settings)
    return _family(exc, doing, settings)


def client_error(exc: BaseException) -> RidectlError | None:
    """The one-line error for a kafka-python exception that reached the command line; None
    for any other exception."""
    if isinstance(exc, kerrors.KafkaError):
        return translate(exc, "the Kafka client")
    return None


@contextlib.contextmanager
def client_errors(settings: ClientSettings, doing: str) -> Iterator[None]:
    """Turn a kafka-python exception raised inside the block into its one-line error."""
    try:
        yield
    except kerrors.KafkaError as exc:
        raise translate(exc, doing, settings) from None
