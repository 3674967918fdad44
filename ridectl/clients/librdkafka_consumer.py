"""librdkafka's consumer (confluent-kafka ``Consumer``) behind ridectl's consumer seam: reads
assigned partitions, never joins a group; the producer and what both share are in
:mod:`ridectl.clients.librdkafka`."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import cast

from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_STORED,
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from ridectl.clients import rdkafka_conf
from ridectl.clients.base import (
    ClientName,
    ConsumedRecord,
    RecordColumns,
)
from ridectl.clients.librdkafka import base_conf, client_error, kafka_error, logger_for
from ridectl.clients.setting_names import SettingName
from ridectl.clients.settings import ClientSettings

_LOG = logging.getLogger("ridectl.librdkafka")
#: Read-side defaults unless the user sets them (as for ridectl's other consumers).
CONSUMER_DEFAULTS: dict[str, str] = {
    SettingName.ENABLE_AUTO_COMMIT: "false",
    SettingName.AUTO_OFFSET_RESET: "earliest",
    SettingName.FETCH_WAIT_MAX_MS: "100",
    # Past queued.min.messages (100,000) queued, librdkafka stops fetching for this long, 1 s
    # by default: a reader a little behind a fast fetch then stalls a whole second at a time.
    SettingName.FETCH_QUEUE_BACKOFF_MS: "20",
}
#: Records asked of librdkafka per ``consume`` call: large batches, few calls.
_CONSUME_BATCH = 10_000


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
        conf = {**CONSUMER_DEFAULTS, **base_conf(settings.bootstrap, settings.values, "consumer")}
        if group is not None:
            conf[SettingName.GROUP_ID] = group
        #: the group is ridectl's placeholder, never joined nor committed to: a user without
        #: rights on groups (a read-only auditor) may read all the same
        self._placeholder_group = SettingName.GROUP_ID not in conf
        conf.setdefault(SettingName.GROUP_ID, f"ridectl-{uuid.uuid4().hex[:12]}")
        self._conf = conf
        self._doing = doing
        try:
            self._consumer = Consumer({**conf, "logger": logger_for(conf)})
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
            err = kafka_error(exc)
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
