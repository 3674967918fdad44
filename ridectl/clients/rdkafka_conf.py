"""librdkafka's settings: Java names translated, and what librdkafka really runs with.

Translation. ridectl takes settings by their Java names (``-X``, ``--config``). librdkafka knows
most of them under the same name or an alias it resolves itself (``linger.ms``, ``acks``,
``retries``, ``delivery.timeout.ms``, ``max.in.flight.requests.per.connection``, ...). A few
have another name here (``max.request.size`` is ``message.max.bytes``), a few have no
counterpart and are refused with one line, and everything else is handed to librdkafka as is,
so its own names (``batch.num.messages``, ``partitioner``, ``sticky.partitioning.linger.ms``)
work too and an unknown one is refused by librdkafka itself.

Reading back. confluent-kafka has no configuration getter, and librdkafka's ``debug=conf`` log
lists only the properties that were set. So :func:`settings_in_force` asks librdkafka itself:
through ``ctypes`` it calls the public C API of the very library confluent-kafka loaded
(``rd_kafka_conf_new``/``rd_kafka_conf_set`` with the same settings, ``rd_kafka_new`` without
any broker, so nothing connects, then ``rd_kafka_conf_dump``). The values come from that
twin instance after librdkafka finished its own adjustments (for example idempotence lowering
the in-flight limit to 5), defaults included: nothing here is a transcribed table of defaults.
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Mapping
from functools import cache

from ridectl.clients.setting_names import SettingName
from ridectl.clients.settings import IGNORED, SETTINGS, parse_jaas
from ridectl.errors import UsageError

#: Java name -> librdkafka name, where they differ and librdkafka has no alias of its own.
RENAMED: dict[str, str] = {
    SettingName.MAX_REQUEST_SIZE: SettingName.MESSAGE_MAX_BYTES,
    SettingName.RECEIVE_BUFFER_BYTES: SettingName.SOCKET_RECEIVE_BUFFER_BYTES,
    SettingName.SEND_BUFFER_BYTES: SettingName.SOCKET_SEND_BUFFER_BYTES,
    SettingName.FETCH_MAX_WAIT_MS: SettingName.FETCH_WAIT_MAX_MS,
    # ridectl reads these as PEM files (see ridectl.clients.settings); librdkafka's PEM names:
    SettingName.SSL_TRUSTSTORE_LOCATION: SettingName.SSL_CA_LOCATION,
    SettingName.SSL_KEYSTORE_LOCATION: SettingName.SSL_CERTIFICATE_LOCATION,
}

#: Java (or kafka-python) settings librdkafka has no counterpart for, with the reason.
REFUSED: dict[str, str] = {
    SettingName.MAX_BLOCK_MS: "librdkafka never blocks a send; its queue is bounded by "
    "queue.buffering.max.messages and queue.buffering.max.kbytes",
    SettingName.BOOTSTRAP_TIMEOUT_MS: "it is kafka-python's own setting",
    SettingName.MAX_POLL_RECORDS: "librdkafka's consumer has no per-poll record limit",
}

#: What :func:`settings_in_force` reports: the name shown -> librdkafka's canonical name.
#: The shown names are the ones a librdkafka user writes.
PRODUCER_SHOWN: dict[str, str] = {
    SettingName.ENABLE_IDEMPOTENCE: SettingName.ENABLE_IDEMPOTENCE,
    SettingName.ACKS: SettingName.REQUEST_REQUIRED_ACKS,
    SettingName.MAX_IN_FLIGHT: SettingName.MAX_IN_FLIGHT,
    SettingName.RETRIES: SettingName.MESSAGE_SEND_MAX_RETRIES,
    SettingName.LINGER_MS: SettingName.QUEUE_BUFFERING_MAX_MS,
    SettingName.BATCH_NUM_MESSAGES: SettingName.BATCH_NUM_MESSAGES,
    SettingName.BATCH_SIZE: SettingName.BATCH_SIZE,
    SettingName.MESSAGE_TIMEOUT_MS: SettingName.MESSAGE_TIMEOUT_MS,
    SettingName.RETRY_BACKOFF_MS: SettingName.RETRY_BACKOFF_MS,
    SettingName.COMPRESSION_TYPE: SettingName.COMPRESSION_CODEC,
    SettingName.PARTITIONER: SettingName.PARTITIONER,
    SettingName.STICKY_PARTITIONING_LINGER_MS: SettingName.STICKY_PARTITIONING_LINGER_MS,
    SettingName.MESSAGE_MAX_BYTES: SettingName.MESSAGE_MAX_BYTES,
}
CONSUMER_SHOWN: dict[str, str] = {
    SettingName.ISOLATION_LEVEL: SettingName.ISOLATION_LEVEL,
    SettingName.ENABLE_AUTO_COMMIT: SettingName.ENABLE_AUTO_COMMIT,
    SettingName.AUTO_OFFSET_RESET: SettingName.AUTO_OFFSET_RESET,
    SettingName.FETCH_WAIT_MAX_MS: SettingName.FETCH_WAIT_MAX_MS,
    SettingName.FETCH_MIN_BYTES: SettingName.FETCH_MIN_BYTES,
    SettingName.MAX_PARTITION_FETCH_BYTES: SettingName.FETCH_MESSAGE_MAX_BYTES,
    SettingName.CHECK_CRCS: SettingName.CHECK_CRCS,
}

_ACKS = {"-1": "all"}


def translate(settings: Mapping[str, str], role: str) -> dict[str, str]:
    """librdkafka configuration for ``role`` ("producer" or "consumer") from Java-style
    settings. Settings of the other role are left out; the ones librdkafka cannot take are
    refused with a :class:`UsageError` naming the client."""
    out: dict[str, str] = {}
    for key, raw in settings.items():
        known = SETTINGS.get(key)
        if key in IGNORED or (known is not None and role not in known.roles):
            continue
        if key in REFUSED:
            raise UsageError(f"librdkafka has no setting {key}: {REFUSED[key]}")
        if key == SettingName.SASL_JAAS_CONFIG:
            out[SettingName.SASL_USERNAME], out[SettingName.SASL_PASSWORD] = parse_jaas(raw)
            continue
        value = raw.strip()
        if key == SettingName.SSL_ENDPOINT_IDENTIFICATION_ALGORITHM and not value:
            value = "none"  # Java turns host name checks off with an empty value
        out[RENAMED.get(key, key)] = value
    return out


# --------------------------------------------------------------------------- reading back

_ERRSTR = 512
_PRODUCER, _CONSUMER = 0, 1


@cache
def _library() -> ctypes.CDLL | None:
    """The librdkafka that confluent-kafka loaded (its wheel bundles it), or None."""
    import confluent_kafka

    here = os.path.dirname(confluent_kafka.__file__)
    patterns = ("confluent_kafka.libs/librdkafka*.so*", ".dylibs/librdkafka*.dylib")
    for pattern in patterns:
        found = sorted(glob.glob(os.path.join(here, "..", pattern)))
        found += sorted(glob.glob(os.path.join(here, pattern)))
        if found:
            return _declare(ctypes.CDLL(found[0]))
    return None


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    ptr, size, text = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p
    lib.rd_kafka_conf_new.restype = ptr
    lib.rd_kafka_conf_new.argtypes = []
    lib.rd_kafka_conf_set.restype = ctypes.c_int
    lib.rd_kafka_conf_set.argtypes = [ptr, text, text, text, size]
    lib.rd_kafka_conf_destroy.argtypes = [ptr]
    lib.rd_kafka_new.restype = ptr
    lib.rd_kafka_new.argtypes = [ctypes.c_int, ptr, text, size]
    lib.rd_kafka_conf.restype = ptr
    lib.rd_kafka_conf.argtypes = [ptr]
    lib.rd_kafka_conf_get_default_topic_conf.restype = ptr
    lib.rd_kafka_conf_get_default_topic_conf.argtypes = [ptr]
    lib.rd_kafka_topic_conf_new.restype = ptr
    lib.rd_kafka_topic_conf_new.argtypes = []
    lib.rd_kafka_topic_conf_destroy.argtypes = [ptr]
    for name in ("rd_kafka_conf_dump", "rd_kafka_topic_conf_dump"):
        getattr(lib, name).restype = ptr
        getattr(lib, name).argtypes = [ptr, ctypes.POINTER(size)]
    lib.rd_kafka_conf_dump_free.argtypes = [ptr, size]
    lib.rd_kafka_destroy.argtypes = [ptr]
    return lib


def _dump(lib: ctypes.CDLL, fn_name: str, conf: int) -> dict[str, str]:
    count = ctypes.c_size_t()
    raw = getattr(lib, fn_name)(conf, ctypes.byref(count))
    if not raw:
        return {}
    pairs = ctypes.cast(raw, ctypes.POINTER(ctypes.c_char_p))
    out = {}
    for i in range(0, count.value, 2):
        key, value = pairs[i], pairs[i + 1]
        if key is not None:
            out[key.decode()] = (value or b"").decode(errors="replace")
    lib.rd_kafka_conf_dump_free(raw, count)
    return out


def _twin_dump(lib: ctypes.CDLL, conf: Mapping[str, str], kind: int) -> dict[str, str]:
    err = ctypes.create_string_buffer(_ERRSTR)
    handle = lib.rd_kafka_conf_new()
    for key, value in {**conf, "log_level": "0"}.items():
        if lib.rd_kafka_conf_set(handle, key.encode(), value.encode(), err, _ERRSTR) != 0:
            lib.rd_kafka_conf_destroy(handle)
            return {}
    rk = lib.rd_kafka_new(kind, handle, err, _ERRSTR)  # takes the conf; no broker to reach
    if not rk:
        lib.rd_kafka_conf_destroy(handle)
        return {}
    try:
        effective = lib.rd_kafka_conf(rk)
        values = _dump(lib, "rd_kafka_conf_dump", effective)
        topic_conf = lib.rd_kafka_conf_get_default_topic_conf(effective)
        if topic_conf:
            topic_values = _dump(lib, "rd_kafka_topic_conf_dump", topic_conf)
        else:  # no topic-level setting was given: librdkafka's topic defaults apply
            fresh = lib.rd_kafka_topic_conf_new()
            topic_values = _dump(lib, "rd_kafka_topic_conf_dump", fresh)
            lib.rd_kafka_topic_conf_destroy(fresh)
        # "inherit" (e.g. compression.codec) means the client-level value applies.
        values.update({k: v for k, v in topic_values.items() if v != "inherit"})
        return values
    finally:
        lib.rd_kafka_destroy(rk)


_CONF_UNKNOWN = -2


def knows(name: str) -> bool:
    """Whether librdkafka has a setting (or an alias) called ``name``: asked of the bundled
    library (``rd_kafka_conf_set`` answers "unknown" apart from "bad value"). True when the
    library cannot be found (librdkafka itself then refuses a bad name when the client starts)."""
    lib = _library()
    if lib is None:
        return True
    err = ctypes.create_string_buffer(_ERRSTR)
    handle = lib.rd_kafka_conf_new()
    try:
        answer = int(lib.rd_kafka_conf_set(handle, name.encode(), b"", err, _ERRSTR))
    finally:
        lib.rd_kafka_conf_destroy(handle)
    return answer != _CONF_UNKNOWN


@cache
def own_names() -> tuple[str, ...]:
    """librdkafka's setting names (global and topic level), listed by the library itself."""
    lib = _library()
    if lib is None:
        return ()
    handle = lib.rd_kafka_conf_new()
    names = set(_dump(lib, "rd_kafka_conf_dump", handle))
    lib.rd_kafka_conf_destroy(handle)
    topic = lib.rd_kafka_topic_conf_new()
    names |= set(_dump(lib, "rd_kafka_topic_conf_dump", topic))
    lib.rd_kafka_topic_conf_destroy(topic)
    return tuple(sorted(names))


def settings_in_force(conf: Mapping[str, str], role: str) -> dict[str, str]:
    """The settings that decide order, as librdkafka computes them for ``conf`` (read from a
    twin instance without brokers; see the module docstring). Names are librdkafka's.

    When the bundled library cannot be found, the given values are reported alone, under
    ``(not read back)``."""
    shown = PRODUCER_SHOWN if role == "producer" else CONSUMER_SHOWN
    twin_conf = {k: v for k, v in conf.items() if k != SettingName.BOOTSTRAP_SERVERS}
    lib = _library()
    values = (
        _twin_dump(lib, twin_conf, _PRODUCER if role == "producer" else _CONSUMER) if lib else {}
    )
    if not values:
        return {"(not read back)": "true", **{k: v for k, v in conf.items() if k in shown}}
    out: dict[str, str] = {}
    for name, canonical in shown.items():
        if canonical in values:
            value = values[canonical]
            out[name] = _ACKS.get(value, value) if name == SettingName.ACKS else value
    return out
