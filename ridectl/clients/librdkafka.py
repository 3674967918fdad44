"""librdkafka (through confluent-kafka) behind the client seam.

confluent-kafka's wheels bundle librdkafka, so nothing beyond ``pip install`` is needed.

Delivery reports. librdkafka hands a record's outcome to the application only when the
application polls. Each ``send`` polls once (without waiting), as librdkafka's own examples do,
and ``flush`` polls; a small thread polls whenever the caller does neither (a paced run
sleeping between records, a caller waiting for the first outcome), so outcomes always reach the
:data:`~ridectl.clients.base.DeliveryCallback`. The callback therefore runs in that thread or
in the caller's, never in librdkafka's own.

Reading. A consumer's records come back from ``consume`` in batches of what is ready, and can
be handed over as columns (:class:`~ridectl.clients.base.RecordColumns`) so that reading a run
makes no Python object per record beyond librdkafka's own messages.

Placement. With ``partition=None`` librdkafka's configured partitioner places the record; its
default ``consistent_random`` takes CRC-32 of the key (``ridectl.clients.partitioners``' ``crc32``),
and a random partition for a null or empty key.

Errors. Anything librdkafka refuses (a setting, a fatal producer error, a failed read) becomes a
:class:`~ridectl.errors.RidectlError` whose one line starts with "librdkafka"; a single record's
failure is a :class:`~ridectl.clients.base.Delivery` carrying librdkafka's error name
(``MSG_SIZE_TOO_LARGE``, ``_MSG_TIMED_OUT``, ...) and message.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence

from confluent_kafka import (
    KafkaError,
    KafkaException,
    Message,
    Producer,
)

from ridectl.clients import rdkafka_conf
from ridectl.clients.base import (
    ClientName,
    Delivery,
    DeliveryCallback,
    ack_receiver,
)
from ridectl.clients.key_placement import KeyPlacement
from ridectl.clients.rdkafka_callbacks import RecordCallback, weakly
from ridectl.clients.setting_names import SettingName
from ridectl.clients.settings import ClientSettings
from ridectl.errors import RidectlError, one_line

_LOG = logging.getLogger("ridectl.librdkafka")
# librdkafka's log lines (a request that timed out, a connection dropped and made again) are
# the client's ordinary chatter while the fault proxy is at work. Without a handler of the
# application's they would reach the terminal through Python's last-resort handler; they are
# shown only when asked for (``-X debug=...``, or RIDECTL_DEBUG=1).
_LOG.addHandler(logging.NullHandler())
_SHOWN = logging.StreamHandler()
_SHOWN.setFormatter(logging.Formatter("librdkafka: %(message)s"))


def logger_for(conf: Mapping[str, str]) -> logging.Logger:
    """The logger librdkafka logs to; its lines go to stderr when the user asked for them."""
    if ("debug" in conf or os.environ.get("RIDECTL_DEBUG")) and _SHOWN not in _LOG.handlers:
        _LOG.addHandler(_SHOWN)
        _LOG.setLevel(logging.DEBUG)
    return _LOG


_POLL_S = 0.05
#: ridectl partitioner names librdkafka has built in (its own names): same placement.
NATIVE_PARTITIONERS = {"murmur2": "murmur2_random", "crc32": "consistent_random"}
_FULL_WAIT_S = 0.01
#: How often librdkafka reports its statistics (the retry count is read from them).
_STATS_MS = 500


def client_error(what: str, exc: BaseException | KafkaError) -> RidectlError:
    """One line naming the client for a librdkafka error (``what``: what was being done)."""
    err = exc if isinstance(exc, KafkaError) else kafka_error(exc)
    if err is None:
        return RidectlError(f"librdkafka {what}: {one_line(str(exc))}")
    return RidectlError(f"librdkafka {what}: {one_line(err.str())} ({err.name()})")


_SIZE_HINT = (
    "raise -X max.request.size (librdkafka's message.max.bytes) and the topic's "
    "max.message.bytes, or send smaller records"
)


def describe_failure(delivery: Delivery) -> RidectlError:
    """One line naming the client for a record librdkafka could not deliver."""
    hint = _SIZE_HINT if delivery.error == "MSG_SIZE_TOO_LARGE" else None
    text = f"{delivery.error}: {delivery.message}" if delivery.message else str(delivery.error)
    return RidectlError(f"librdkafka producer: record {delivery.index}: {text}", hint=hint)


def uncaught_error(exc: BaseException) -> RidectlError | None:
    """librdkafka's exception that no call site translated, as one line (None: not one)."""
    if not isinstance(exc, KafkaException):
        return None
    return client_error("error", exc)


def kafka_error(exc: BaseException) -> KafkaError | None:
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return exc.args[0]
    return None


def base_conf(bootstrap: str, settings: Mapping[str, str], role: str) -> dict[str, str]:
    conf = rdkafka_conf.translate(settings, role)
    conf[SettingName.BOOTSTRAP_SERVERS] = bootstrap
    return conf


class LibrdkafkaProducer:
    """A confluent-kafka ``Producer`` writing to one topic.

    ``bootstrap`` replaces the settings' servers (the fault proxy's address); ``partitioner``
    places keyed records as the named client would (librdkafka's own ``murmur2_random`` or
    ``consistent_random`` when it has that hash, else explicit partitions)."""

    client = ClientName.LIBRDKAFKA

    def __init__(
        self,
        settings: ClientSettings,
        topic: str,
        on_delivery: DeliveryCallback,
        *,
        bootstrap: str | None = None,
        partitioner: str | None = None,
    ) -> None:
        self._topic = topic
        self._on_delivery = on_delivery
        self._conf = base_conf(bootstrap or settings.bootstrap, settings.values, "producer")
        self._placement: KeyPlacement | None = None
        if partitioner in NATIVE_PARTITIONERS:
            self._conf[SettingName.PARTITIONER] = NATIVE_PARTITIONERS[partitioner]
        elif partitioner is not None:
            self._placement = KeyPlacement(partitioner, lambda: self.partitions_for(topic))
        self._fatal: KafkaError | None = None
        self._retries = 0
        self._stats_seen = threading.Event()
        config: dict[str, object] = {
            **self._conf,
            # through weak references: librdkafka's handle keeps these alive (see ``weakly``)
            "error_cb": weakly(self._on_error),
            "logger": logger_for(self._conf),
            SettingName.STATISTICS_INTERVAL_MS: _STATS_MS,
            "stats_cb": weakly(self._on_stats),
        }
        try:
            self._producer = Producer(config)
        except (KafkaException, ValueError, TypeError) as exc:
            raise client_error("refused the producer settings", exc) from None
        self._produce = self._producer.produce
        self._poll = self._producer.poll
        #: the index of the last record sent, and whether a flush is serving deliveries: the
        #: polling thread stands aside while the caller's thread serves them (see _poll_loop)
        self._last_sent = -1
        self._flushing = False
        self._acked = ack_receiver(on_delivery)
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll_loop, name="librdkafka-poll")
        self._poller.daemon = True
        self._poller.start()

    # ------------------------------------------------------------------ the seam

    def send(self, index: int, key: bytes | None, value: bytes, partition: int | None) -> None:
        if self._fatal is not None:
            self._raise_fatal()
        if partition is None and self._placement is not None:
            partition = self._placement.partition(key)
        report = RecordCallback(index, self._acked, self._on_delivery)
        try:
            if partition is None:
                self._produce(self._topic, value, key, on_delivery=report)
            else:
                self._produce(self._topic, value, key, partition, on_delivery=report)
        except BufferError:  # librdkafka's queue is full: let deliveries drain it, then retry
            self._send_when_room(index, key, value, partition, report)
        except KafkaException as exc:
            self._refused(index, exc)
        # Serve the outcomes that are ready now, in this thread: cheaper than leaving them
        # all to the polling thread, which would compete for the interpreter lock.
        self._poll(0)
        self._last_sent = index

    def send_block(self, first: int, keys: Sequence[bytes | None], values: Sequence[bytes]) -> None:
        """The records ``first``, ``first + 1``, ... as ``send`` would send each (one
        ``produce`` and one ``poll(0)`` per record), without a Python call per record
        around them."""
        if self._fatal is not None:
            self._raise_fatal()
        if self._placement is not None:
            for index, key, value in zip(itertools.count(first), keys, values, strict=False):
                self.send(index, key, value, None)
            return
        produce, poll, topic = self._produce, self._poll, self._topic
        acked, on_delivery = self._acked, self._on_delivery
        index = first
        for key, value in zip(keys, values, strict=True):
            report = RecordCallback(index, acked, on_delivery)
            try:
                produce(topic, value, key, on_delivery=report)
            except BufferError:
                self._send_when_room(index, key, value, None, report)
            except KafkaException as exc:
                self._refused(index, exc)
            poll(0)
            index += 1
        self._last_sent = index - 1

    def _send_when_room(
        self,
        index: int,
        key: bytes | None,
        value: bytes,
        partition: int | None,
        report: Callable[[KafkaError | None, Message], None],
    ) -> None:
        target = -1 if partition is None else partition
        while True:
            self._poll(_FULL_WAIT_S)
            try:
                self._produce(self._topic, value, key, target, on_delivery=report)
                return
            except BufferError:
                continue
            except KafkaException as exc:
                self._refused(index, exc)
                return

    def _refused(self, index: int, exc: KafkaException) -> None:
        """A record librdkafka refused before queueing it (too large, unknown partition)."""
        err = kafka_error(exc)
        name = err.name() if err is not None else type(exc).__name__
        text = err.str() if err is not None else str(exc)
        self._on_delivery(Delivery(index, -1, -1, name, one_line(text)))

    def flush(self, timeout_s: float) -> bool:
        self._flushing = True  # flush serves the deliveries in this thread
        try:
            left = self._producer.flush(max(0.0, timeout_s))
        finally:
            self._flushing = False
        self._raise_fatal()
        return left == 0

    def partitions_for(self, topic: str) -> int:
        try:
            meta = self._producer.list_topics(topic, timeout=10)
        except KafkaException:
            return 0
        found = meta.topics.get(topic)
        if found is None or found.error is not None:
            return 0
        return len(found.partitions)

    def settings_in_force(self) -> Mapping[str, str]:
        return rdkafka_conf.settings_in_force(self._conf, "producer")

    def close(self, timeout_s: float) -> None:
        try:
            self._producer.flush(max(0.0, timeout_s))
        finally:
            self._stop.set()
            self._poller.join(timeout=1.0 + _POLL_S)
            # Records still queued are abandoned: purge them and report each as failed.
            purge = getattr(self._producer, "purge", None)
            if purge is not None:
                purge()
                self._producer.poll(0)

    # ------------------------------------------------------------------ optional diagnostics

    def retried_batches(self) -> int:
        """Records librdkafka sent more than once: its statistics count every transmission of
        a record (``txmsgs`` per partition) beside the records produced (``msgs``). Like the
        Java client, librdkafka counts retries per record; that is per batch when every batch
        holds one record (``batch.num.messages=1``, the retry recipe). Read from a statistics
        report made after this call began (it waits at most a second)."""
        self._stats_seen.clear()
        self._stats_seen.wait(2 * _STATS_MS / 1000)
        return self._retries

    def changed_by_client(self) -> list[str]:
        """Order-deciding settings librdkafka chose unlike what was asked, with the reason."""
        asked = self._conf.get(SettingName.MAX_IN_FLIGHT) or self._conf.get(
            SettingName.MAX_IN_FLIGHT_ALIAS
        )
        shown = self.settings_in_force()
        if shown.get(SettingName.ENABLE_IDEMPOTENCE) == "true" and asked is None:
            return [
                "librdkafka lowered max.in.flight.requests.per.connection from 1000000 to "
                f"{shown.get(SettingName.MAX_IN_FLIGHT)} because idempotence is on"
            ]
        return []

    # ------------------------------------------------------------------ internals

    def _on_stats(self, text: str) -> None:
        try:
            partitions = json.loads(text)["topics"][self._topic]["partitions"]
            sent = sum(int(p["txmsgs"]) for k, p in partitions.items() if int(k) >= 0)
            produced = sum(int(p["msgs"]) for k, p in partitions.items() if int(k) >= 0)
        except (ValueError, KeyError, TypeError):
            return
        self._retries = max(0, sent - produced)
        self._stats_seen.set()

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal():
            self._fatal = err
        else:
            _LOG.debug("librdkafka: %s", err.str())

    def _raise_fatal(self) -> None:
        if self._fatal is not None:
            raise client_error("producer failed", self._fatal)

    def _poll_loop(self) -> None:
        """Serve deliveries while the caller does not: while it sends (each send polls) or
        flushes, this thread only checks back every ``_POLL_S``. Polling beside the sender
        made the two threads take the interpreter lock from each other at every record,
        which cost more than the deliveries themselves."""
        seen = self._last_sent
        while not self._stop.is_set():
            if self._flushing or self._last_sent != seen:
                seen = self._last_sent
                self._stop.wait(_POLL_S)
            else:
                self._producer.poll(_POLL_S)
