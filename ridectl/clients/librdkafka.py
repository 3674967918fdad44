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
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import cast

from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_STORED,
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from ridectl.clients import rdkafka_conf
from ridectl.clients.base import (
    ClientName,
    ConsumedRecord,
    Delivery,
    DeliveryCallback,
    RecordColumns,
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


def _logger(conf: Mapping[str, str]) -> logging.Logger:
    """The logger librdkafka logs to; its lines go to stderr when the user asked for them."""
    if ("debug" in conf or os.environ.get("RIDECTL_DEBUG")) and _SHOWN not in _LOG.handlers:
        _LOG.addHandler(_SHOWN)
        _LOG.setLevel(logging.DEBUG)
    return _LOG


_POLL_S = 0.05
#: ridectl partitioner names librdkafka has built in (its own names): same placement.
NATIVE_PARTITIONERS = {"murmur2": "murmur2_random", "crc32": "consistent_random"}
#: Read-side defaults unless the user sets them (as for ridectl's other consumers).
CONSUMER_DEFAULTS: dict[str, str] = {
    SettingName.ENABLE_AUTO_COMMIT: "false",
    SettingName.AUTO_OFFSET_RESET: "earliest",
    SettingName.FETCH_WAIT_MAX_MS: "100",
    # Past queued.min.messages (100,000) queued, librdkafka stops fetching for this long, 1 s
    # by default: a reader a little behind a fast fetch then stalls a whole second at a time.
    SettingName.FETCH_QUEUE_BACKOFF_MS: "20",
}
_FULL_WAIT_S = 0.01
#: How often librdkafka reports its statistics (the retry count is read from them).
_STATS_MS = 500
#: Records asked of librdkafka per ``consume`` call: large batches, few calls.
_CONSUME_BATCH = 10_000


def client_error(what: str, exc: BaseException | KafkaError) -> RidectlError:
    """One line naming the client for a librdkafka error (``what``: what was being done)."""
    err = exc if isinstance(exc, KafkaError) else _kafka_error(exc)
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


def _kafka_error(exc: BaseException) -> KafkaError | None:
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return exc.args[0]
    return None


def _base_conf(bootstrap: str, settings: Mapping[str, str], role: str) -> dict[str, str]:
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
        self._conf = _base_conf(bootstrap or settings.bootstrap, settings.values, "producer")
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
            "logger": _logger(self._conf),
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
        err = _kafka_error(exc)
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


def _partitions(messages: list[Message]) -> list[int]:
    # A message that is not an error event always has its partition and offset.
    return cast("list[int]", list(map(Message.partition, messages)))


def _offsets(messages: list[Message]) -> list[int]:
    return cast("list[int]", list(map(Message.offset, messages)))


def _timestamp(message: Message) -> int:
    """The message's timestamp in epoch ms (-1 when the broker gave none)."""
    kind, ms = message.timestamp()
    return -1 if kind == TIMESTAMP_NOT_AVAILABLE else int(ms)


class LibrdkafkaConsumer:
    """A confluent-kafka ``Consumer`` reading assigned partitions (no group membership).

    A ``group.id`` is only needed to commit; when the settings give none, a throw-away one is
    used and auto-commit stays off unless asked for."""

    client = ClientName.LIBRDKAFKA

    def __init__(
        self, settings: ClientSettings, *, group: str | None = None, doing: str = "reading"
    ) -> None:
        conf = {**CONSUMER_DEFAULTS, **_base_conf(settings.bootstrap, settings.values, "consumer")}
        if group is not None:
            conf[SettingName.GROUP_ID] = group
        #: the group is ridectl's placeholder, never joined nor committed to: a user without
        #: rights on groups (a read-only auditor) may read all the same
        self._placeholder_group = SettingName.GROUP_ID not in conf
        conf.setdefault(SettingName.GROUP_ID, f"ridectl-{uuid.uuid4().hex[:12]}")
        self._conf = conf
        self._doing = doing
        try:
            self._consumer = Consumer({**conf, "logger": _logger(conf)})
        except (KafkaException, ValueError, TypeError) as exc:
            raise client_error(f"refused the consumer settings ({doing})", exc) from None

    def assign(self, topic: str, partitions: Sequence[int], from_beginning: bool) -> None:
        start = OFFSET_BEGINNING if from_beginning else OFFSET_STORED
        try:
            self._consumer.assign([TopicPartition(topic, p, start) for p in partitions])
        except KafkaException as exc:
            raise client_error(f"could not assign partitions ({self._doing})", exc) from None

    def end_offsets(self, topic: str, partitions: Sequence[int]) -> dict[int, int]:
        out: dict[int, int] = {}
        for p in partitions:
            try:
                _low, high = self._consumer.get_watermark_offsets(
                    TopicPartition(topic, p), timeout=10, cached=False
                )
            except KafkaException as exc:
                raise client_error(f"could not read the end of {topic}[{p}]", exc) from None
            out[p] = int(high)
        return out

    def assign_from_time(
        self, topic: str, partitions: Sequence[int], time_ms: int
    ) -> dict[int, int]:
        end = self.end_offsets(topic, partitions)
        asked = [TopicPartition(topic, p, time_ms) for p in partitions]
        try:
            found = self._consumer.offsets_for_times(asked, timeout=10)
        except KafkaException as exc:
            raise client_error(f"could not find offsets for a time ({self._doing})", exc) from None
        # no record at or after the time: librdkafka answers -1 (the end); start at the end
        start = {tp.partition: tp.offset if tp.offset >= 0 else end[tp.partition] for tp in found}
        try:
            self._consumer.assign([TopicPartition(topic, p, start[p]) for p in partitions])
        except KafkaException as exc:
            raise client_error(f"could not assign partitions ({self._doing})", exc) from None
        return start

    def position(self, topic: str, partition: int) -> int | None:
        try:
            (tp,) = self._consumer.position([TopicPartition(topic, partition)])
        except KafkaException:
            return None
        return int(tp.offset) if tp.offset >= 0 else None

    def poll(self, timeout_s: float) -> list[ConsumedRecord]:
        messages = self._ready(timeout_s)
        # confluent-kafka hands key and value as bytes (no deserializer is configured).
        return list(
            map(
                ConsumedRecord,
                _partitions(messages),
                _offsets(messages),
                map(Message.key, messages),
                map(Message.value, messages),
                map(_timestamp, messages),
            )
        )

    def poll_columns(self, timeout_s: float) -> RecordColumns:
        """The records of one poll as columns: no Python object per record beyond
        librdkafka's own messages (each column is filled by ``map`` over them)."""
        messages = self._ready(timeout_s)
        return RecordColumns(
            _partitions(messages), _offsets(messages), list(map(Message.value, messages))
        )

    def _ready(self, timeout_s: float) -> list[Message]:
        """The messages librdkafka holds ready (at most ``_CONSUME_BATCH``); when it holds
        none, the first to arrive within ``timeout_s`` with those ready by then. Error
        events among them are handled (``_read_error``) and left out.

        ``consume(n, timeout)`` returns only once ``n`` messages are ready or the time is
        out, so asking it for a large batch with a timeout waits that timeout out whenever
        fewer are left (the end of a bounded read): it is asked for what is ready, and made
        to wait only for one message when nothing is."""
        consume = self._consumer.consume
        try:
            messages = consume(_CONSUME_BATCH, 0)
            if not messages and timeout_s > 0:
                messages = consume(1, timeout_s)
                if messages:
                    messages += consume(_CONSUME_BATCH - 1, 0)
        except KafkaException as exc:
            raise client_error(f"read failed ({self._doing})", exc) from None
        errors = list(map(Message.error, messages))
        if errors.count(None) == len(errors):
            return messages
        for m, err in zip(messages, errors, strict=True):
            if err is not None:
                self._read_error(m)
        return [m for m, err in zip(messages, errors, strict=True) if err is None]

    def _read_error(self, m: Message) -> None:
        """An error event among the messages: the end of a partition or a retriable error is
        skipped, anything else ends the read."""
        err = m.error()
        if err is None or err.code() == KafkaError._PARTITION_EOF or err.retriable():
            return
        if self._placeholder_group and err.code() == KafkaError.GROUP_AUTHORIZATION_FAILED:
            return  # (librdkafka looks up the placeholder group's coordinator; unused)
        raise client_error(f"read failed ({self._doing})", err)

    def commit(self) -> None:
        try:
            self._consumer.commit(asynchronous=False)
        except KafkaException as exc:
            err = _kafka_error(exc)
            if err is not None and err.code() == KafkaError._NO_OFFSET:
                return  # nothing read since the last commit
            raise client_error(f"commit failed ({self._doing})", exc) from None

    def settings_in_force(self) -> Mapping[str, str]:
        return rdkafka_conf.settings_in_force(self._conf, "consumer")

    def close(self) -> None:
        started = time.monotonic()
        try:
            self._consumer.close()
        except (KafkaException, RuntimeError) as exc:
            _LOG.debug("librdkafka consumer close after %.1fs: %s", time.monotonic() - started, exc)
