"""kafka-python behind the client seam: a producer and a consumer as :mod:`ridectl.clients.base`
describes them.

Settings arrive by their Java names and are mapped to kafka-python's keywords through the one
settings table (:mod:`ridectl.clients.settings`); what the client runs with is read back from
its own ``config`` and reported by Java name again. Errors while starting or talking to the
broker come out as one-line ``RidectlError`` messages
(:func:`ridectl.clients.admin.kafka_errors`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import repeat
from operator import itemgetter

import kafka
import msgspec
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka import errors as kerrors
from kafka.consumer.fetcher import ConsumerRecord
from kafka.future import Future as KafkaFuture
from kafka.producer.future import RecordMetadata as _RecordMetadata

from ridectl.clients.admin import client_kwargs, kafka_errors
from ridectl.clients.base import (
    ClientName,
    ConsumedRecord,
    Delivery,
    DeliveryCallback,
    RecordColumns,
    ack_receiver,
)
from ridectl.clients.kafka_python_errors import translate
from ridectl.clients.key_partitioner import kafka_partitioner
from ridectl.clients.setting_names import SettingName
from ridectl.clients.settings import ClientSettings, in_force
from ridectl.errors import RidectlError


class _RetryCounter(logging.Handler):
    """Counts kafka-python's per-batch retry warnings (its metrics only keep a rate).

    Attached to the sender's logger while the producer lives, it counts the warnings logged
    by this producer's sender thread only; it also keeps those warnings off the user's
    terminal, since the summary reports them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.retries = 0
        self.sender_thread: int | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.sender_thread and "retrying" in str(record.msg):
            self.retries += 1


_SENDER_LOGGER = "kafka.producer.sender"

#: kafka-python (3.x) registers a future's callback and errback under one lock with this
#: private method; older versions lack it and get the two public calls.
_PAIRED = hasattr(KafkaFuture, "_add_cb_eb")


class _Outcome(msgspec.Struct, gc=False):
    """The callback of one record: kafka-python calls it with the record's metadata or its
    exception, on its sender thread.

    Thousands are alive at once while records are in flight. Without the garbage collector's
    watch (a msgspec struct without GC support; it refers to no object that refers back) they
    do not feed its collections, and it is cheaper to build than a closure or a partial."""

    index: int
    acked: Callable[[int, int, int], None]
    on_delivery: DeliveryCallback

    def __call__(self, got: object) -> None:
        if got.__class__ is _RecordMetadata:
            self.acked(self.index, got.partition, got.offset)  # type: ignore[attr-defined]
        elif isinstance(got, BaseException):
            lines = str(got).splitlines()
            self.on_delivery(
                Delivery(self.index, -1, -1, type(got).__name__, lines[0] if lines else "")
            )
        else:  # metadata of another class (another kafka-python version)
            self.acked(self.index, got.partition, got.offset)  # type: ignore[attr-defined]


class KafkaPythonProducer:
    """A ``KafkaProducer`` sending to one topic; every record's outcome goes to ``on_delivery``."""

    def __init__(
        self,
        settings: ClientSettings,
        topic: str,
        on_delivery: DeliveryCallback,
        *,
        bootstrap: str | None = None,
        partitioner: str | None = None,
    ) -> None:
        kwargs = client_kwargs(settings, "producer")
        self._requested = settings.kwargs("producer")
        if bootstrap is not None:
            kwargs["bootstrap_servers"] = bootstrap.split(",")
        if partitioner is not None:
            kwargs["partitioner"] = kafka_partitioner(partitioner)
        self._settings = settings
        self._topic = topic
        self._on_delivery = on_delivery
        self._retries = _RetryCounter()
        logging.getLogger(_SENDER_LOGGER).addHandler(self._retries)
        try:
            with kafka_errors(settings, "starting the producer"):
                self._producer = KafkaProducer(**kwargs)
        except BaseException:
            logging.getLogger(_SENDER_LOGGER).removeHandler(self._retries)
            raise
        sender = getattr(self._producer, "_sender", None)
        self._retries.sender_thread = getattr(sender, "ident", None)
        self._config: Mapping[str, object] = self._producer.config
        self._send = self._producer.send
        self._acked = ack_receiver(on_delivery)

    @property
    def client(self) -> ClientName:
        return ClientName.KAFKA_PYTHON

    def send(self, index: int, key: bytes | None, value: bytes, partition: int | None) -> None:
        try:
            future = self._send(self._topic, value, key, None, partition)
        except kerrors.KafkaTimeoutError as exc:
            # send() blocks while the buffer is full; it gives up when the broker is gone.
            raise RidectlError(str(exc).removeprefix("KafkaTimeoutError: ")) from None
        except kerrors.KafkaError as exc:
            # A record refused before it is queued (too large, for one): the run cannot go on
            # as asked, and the user is told which setting to change.
            raise translate(exc, f"producing to {self._topic}", self._settings) from None
        outcome = _Outcome(index, self._acked, self._on_delivery)
        if _PAIRED:
            # Both under one lock (kafka-python's own fast path for its futures).
            future._add_cb_eb(outcome, outcome)
        else:
            future.add_callback(outcome)
            future.add_errback(outcome)

    def flush(self, timeout_s: float) -> bool:
        try:
            self._producer.flush(timeout=timeout_s)
        except kerrors.KafkaTimeoutError:
            return False
        return True

    def partitions_for(self, topic: str) -> int:
        try:
            return len(self._producer.partitions_for(topic) or ())
        except kerrors.KafkaTimeoutError as exc:
            # It waits max.block.ms for the topic's metadata; it gives up when the broker is gone.
            raise RidectlError(str(exc).removeprefix("KafkaTimeoutError: ")) from None

    def settings_in_force(self) -> Mapping[str, str]:
        partitioner = self._config.get("partitioner")
        return {**in_force(self._config), SettingName.PARTITIONER: type(partitioner).__name__}

    def retried_batches(self) -> int:
        """Batches kafka-python retried (one warning each) since the producer started."""
        return self._retries.retries

    def changed_by_client(self) -> list[str]:
        """What kafka-python decided differently from what was asked or from its defaults."""
        requested, cfg = self._requested, self._config
        notes: list[str] = []
        if "enable_idempotence" not in requested and not cfg.get("enable_idempotence"):
            why = [
                f"{k}={requested[k]!r}"
                for k in ("acks", "retries", "max_in_flight_requests_per_connection")
                if k in requested
            ]
            notes.append(
                "kafka-python turned idempotence OFF by itself (its default is on) because of "
                + (", ".join(why) if why else "a conflicting setting")
                + "; set enable.idempotence explicitly to choose"
            )
        if (
            "acks" not in requested
            and cfg.get("enable_idempotence")
            and cfg.get("acks") in (-1, "all")
            and requested.get("enable_idempotence")
        ):
            notes.append("acks is all because idempotence requires it")
        return notes

    def close(self, timeout_s: float) -> None:
        """Give queued records ``timeout_s`` to finish; never hang on a dead broker."""
        logging.getLogger(_SENDER_LOGGER).removeHandler(self._retries)
        producer = self._producer
        try:
            producer.close(timeout=timeout_s)
        except Exception:
            # kafka-python's close() raises at its flush when records are still pending, and
            # leaves the client half open (its __del__ would then print a traceback): stop the
            # sender thread here and mark the client closed.
            sender = getattr(producer, "_sender", None)
            with contextlib.suppress(Exception):
                if sender is not None:
                    sender.force_close()
                    sender.join(2)
            with contextlib.suppress(Exception):
                producer._closed = True


# kafka-python's ConsumerRecord is a named tuple: its fields by index, at C speed.
_OFFSET = itemgetter(ConsumerRecord._fields.index("offset"))
_VALUE = itemgetter(ConsumerRecord._fields.index("value"))

#: Read-side defaults of ridectl's consumers unless the user sets them: no auto-commit, from
#: the beginning when there is no committed offset, large polls, short fetch waits.
CONSUMER_DEFAULTS: dict[str, object] = {
    "enable_auto_commit": False,
    "auto_offset_reset": "earliest",
    "max_poll_records": 10_000,
    "fetch_max_wait_ms": 100,
}


class KafkaPythonConsumer:
    """A ``KafkaConsumer`` with manually assigned partitions (and a group only to commit)."""

    def __init__(self, settings: ClientSettings, *, group: str | None, doing: str) -> None:
        kwargs = client_kwargs(settings, "consumer")
        for key, value in CONSUMER_DEFAULTS.items():
            kwargs.setdefault(key, value)
        if group is not None:
            kwargs["group_id"] = group
        self._settings = settings
        self._doing = doing
        with self._errors():
            self._consumer = KafkaConsumer(**kwargs)
        self._config: Mapping[str, object] = self._consumer.config

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        with kafka_errors(self._settings, self._doing):
            yield

    @property
    def client(self) -> ClientName:
        return ClientName.KAFKA_PYTHON

    def assign(self, topic: str, partitions: Sequence[int], from_beginning: bool) -> None:
        tps = [TopicPartition(topic, p) for p in partitions]
        with self._errors():
            self._consumer.assign(tps)
            if from_beginning:
                self._consumer.seek_to_beginning(*tps)

    def end_offsets(self, topic: str, partitions: Sequence[int]) -> dict[int, int]:
        tps = [TopicPartition(topic, p) for p in partitions]
        with self._errors():
            end = self._consumer.end_offsets(tps)
        return {tp.partition: int(off) for tp, off in end.items()}

    def assign_from_time(
        self, topic: str, partitions: Sequence[int], time_ms: int
    ) -> dict[int, int]:
        tps = [TopicPartition(topic, p) for p in partitions]
        with self._errors():
            found = self._consumer.offsets_for_times(dict.fromkeys(tps, time_ms))
            end = self._consumer.end_offsets(tps)
            self._consumer.assign(tps)
            start: dict[int, int] = {}
            for tp in tps:
                at = found.get(tp)
                # no record at or after the time: start at the end (nothing to read)
                start[tp.partition] = int(end[tp]) if at is None else int(at.offset)
                self._consumer.seek(tp, start[tp.partition])
        return start

    def position(self, topic: str, partition: int) -> int | None:
        # kafka-python answers None when it cannot learn the position (broker gone).
        with self._errors():
            pos = self._consumer.position(TopicPartition(topic, partition))
        return None if pos is None else int(pos)

    def poll(self, timeout_s: float) -> list[ConsumedRecord]:
        with self._errors():
            batch = self._consumer.poll(timeout_ms=int(timeout_s * 1000))
        return [
            ConsumedRecord(rec.partition, rec.offset, rec.key, rec.value, rec.timestamp)
            for records in batch.values()
            for rec in records
        ]

    def poll_columns(self, timeout_s: float) -> RecordColumns:
        """The records of one poll as columns, filled by ``map`` over kafka-python's own
        records (no object of ours per record)."""
        with self._errors():
            batch = self._consumer.poll(timeout_ms=int(timeout_s * 1000))
        columns = RecordColumns([], [], [])
        for tp, records in batch.items():
            columns.partitions += repeat(tp.partition, len(records))
            columns.offsets += map(_OFFSET, records)
            columns.values += map(_VALUE, records)
        return columns

    def commit(self) -> None:
        with self._errors():
            self._consumer.commit()

    def settings_in_force(self) -> Mapping[str, str]:
        cfg = self._config
        return {
            SettingName.ISOLATION_LEVEL: str(cfg.get("isolation_level")),
            SettingName.ENABLE_AUTO_COMMIT: str(bool(cfg.get("enable_auto_commit"))).lower(),
            SettingName.AUTO_OFFSET_RESET: str(cfg.get("auto_offset_reset")),
            SettingName.MAX_POLL_RECORDS: str(cfg.get("max_poll_records")),
            SettingName.FETCH_MAX_WAIT_MS: str(cfg.get("fetch_max_wait_ms")),
        }

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._consumer.close(autocommit=False)


def library_version() -> str:
    return str(getattr(kafka, "__version__", "?"))


def crc32c_accelerated() -> bool:
    """Whether kafka-python found the optional ``crc32c`` C extension (it computes the
    checksum of every record batch it writes and, with check_crcs, of every batch it reads)."""
    try:
        from kafka.record import util
    except ImportError:
        return False
    return getattr(util, "crc32c_c", None) is not None
