"""The Java client's consumer: a ``KafkaConsumer`` in ``RideClient``'s JVM, and the decoding of
the record frames it sends (see ``RideClient.java`` for the frames).

While Python handles one poll's records, the JVM may already be running the next poll (a
read-ahead, see :class:`JavaConsumer`).
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Mapping, Sequence

from ridectl.clients.base import ClientName, ConsumedRecord, RecordColumns
from ridectl.clients.java import CONSUMER_DEFAULTS, GRACE_S, java_settings, start_program
from ridectl.clients.java_process import client_error
from ridectl.settings import ClientSettings

_COUNTS = struct.Struct(">ii")


def decode_records(body: bytes) -> list[ConsumedRecord]:
    """The records of one ``r`` frame (see ``RideClient.java``): columns of partitions,
    offsets, key and value lengths (-1: null), then each record's key and value in turn."""
    n, _data = _COUNTS.unpack_from(body, 0)
    pos = _COUNTS.size
    partitions = struct.unpack_from(f">{n}i", body, pos)
    offsets = struct.unpack_from(f">{n}q", body, pos + 4 * n)
    key_lengths = struct.unpack_from(f">{n}i", body, pos + 12 * n)
    value_lengths = struct.unpack_from(f">{n}i", body, pos + 16 * n)
    at = pos + 20 * n
    out: list[ConsumedRecord] = []
    append = out.append
    key: bytes | None
    value: bytes | None
    for p, offset, kl, vl in zip(partitions, offsets, key_lengths, value_lengths, strict=True):
        if kl < 0:
            key = None
        else:
            key = body[at : at + kl]
            at += kl
        if vl < 0:
            value = None
        else:
            value = body[at : at + vl]
            at += vl
        append(ConsumedRecord(p, offset, key, value))
    return out


def decode_columns(body: bytes) -> RecordColumns:
    """The same frame as columns, keys left out: no Python object per record but its value."""
    n, _data = _COUNTS.unpack_from(body, 0)
    pos = _COUNTS.size
    key_lengths = struct.unpack_from(f">{n}i", body, pos + 12 * n)
    value_lengths = struct.unpack_from(f">{n}i", body, pos + 16 * n)
    nulls = -1 in key_lengths or -1 in value_lengths
    # Where each key and value ends, in order (a null one takes no bytes).
    lengths = itertools.chain.from_iterable(zip(key_lengths, value_lengths, strict=True))
    ends = list(
        itertools.accumulate(
            map(max, lengths, itertools.repeat(0)) if nulls else lengths, initial=pos + 20 * n
        )
    )
    values: list[bytes | None] = list(map(body.__getitem__, map(slice, ends[1::2], ends[2::2])))
    if -1 in value_lengths:
        values = [
            None if length < 0 else v for v, length in zip(values, value_lengths, strict=True)
        ]
    return RecordColumns(
        list(struct.unpack_from(f">{n}i", body, pos)),
        list(struct.unpack_from(f">{n}q", body, pos + 4 * n)),
        values,
    )


class JavaConsumer:
    """A ``KafkaConsumer`` in its own JVM reading assigned partitions.

    The JVM runs the next poll ahead while Python handles the records of the last one, once
    the end offsets have been asked and until they are reached (``RideConsumer.java`` says
    what stays true meanwhile: positions and commits go by the records handed over, and a
    bounded read ends without waiting for a poll that would find nothing)."""

    client = ClientName.JAVA

    def __init__(
        self, settings: ClientSettings, *, group: str | None = None, doing: str = "reading"
    ) -> None:
        props = {**CONSUMER_DEFAULTS, **java_settings(settings.values, "consumer")}
        if group is not None:
            props["group.id"] = group
        self._proc = start_program(["consume"], settings.bootstrap, props, f"consumer, {doing}")
        #: the positions the last poll reported, for the topic assigned last
        self._positions: dict[int, int] = {}
        self._topic: str | None = None

    def _ask(self, line: str, kind: str, timeout_s: float = 60.0) -> list[str]:
        reply = self._proc.request(line, kind, timeout_s)
        if reply is None:
            raise client_error(
                self._proc.what, f"no answer to {line.split()[0]} in {timeout_s:.0f}s"
            )
        return reply

    def assign(self, topic: str, partitions: Sequence[int], from_beginning: bool) -> None:
        self._positions = {}
        if partitions:
            listed = ",".join(str(p) for p in partitions)
            self._ask(f"A {topic} {listed} {1 if from_beginning else 0}", "OK")
            self._topic = topic

    def end_offsets(self, topic: str, partitions: Sequence[int]) -> dict[int, int]:
        if not partitions:
            return {}
        line = self._ask(f"O {topic} {','.join(str(p) for p in partitions)}", "O")[-1]
        pairs = (item.split(":") for item in line.split()[1:])
        return {int(p): int(o) for p, o in pairs}

    def position(self, topic: str, partition: int) -> int | None:
        if topic == self._topic and partition in self._positions:
            # As the last poll left it: only a poll or an assignment moves a position.
            return self._positions[partition]
        line = self._ask(f"N {topic} {partition}", "N")[-1]
        word = line.split()[1]
        return int(word) if word.lstrip("-").isdigit() and int(word) >= 0 else None

    def poll(self, timeout_s: float) -> list[ConsumedRecord]:
        out: list[ConsumedRecord] = []
        for body in self._poll(timeout_s):
            out += decode_records(body)
        return out

    def poll_columns(self, timeout_s: float) -> RecordColumns:
        """The records of one poll as columns (see :class:`~ridectl.clients.base.
        ColumnarConsumer`)."""
        frames = [decode_columns(body) for body in self._poll(timeout_s)]
        if len(frames) == 1:
            return frames[0]
        out = RecordColumns([], [], [])
        for cols in frames:
            out.partitions += cols.partitions
            out.offsets += cols.offsets
            out.values += cols.values
        return out

    def _poll(self, timeout_s: float) -> list[bytes]:
        """Poll once; the record frames that came, and the positions the reply holds."""
        self._proc.take_records()  # late frames of an earlier poll that gave up waiting
        self._positions = {}
        done = self._ask(f"L {int(max(0.0, timeout_s) * 1000)}", "LD", timeout_s + GRACE_S)
        for item in done[-1].split()[1:]:
            p, at = item.split(":")
            self._positions[int(p)] = int(at)
        return self._proc.take_records()

    def commit(self) -> None:
        self._ask("K", "OK")

    def settings_in_force(self) -> Mapping[str, str]:
        return dict(self._proc.settings)

    def close(self) -> None:
        self._proc.close("Q", 5.0 + GRACE_S)
