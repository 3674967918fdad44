"""The Java client's consumer: a ``KafkaConsumer`` in ``RideClient``'s JVM, and the decoding of
the record frames it sends (see ``RideClient.java`` for the frames).

While Python handles one poll's records, the JVM may already be running the next poll (a
read-ahead, see :class:`JavaConsumer`).
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ridectl.clients.base import ClientName, ConsumedRecord, RecordColumns
from ridectl.clients.java import CONSUMER_DEFAULTS, GRACE_S, java_settings, start_program
from ridectl.clients.java_process import client_error
from ridectl.clients.setting_names import SettingName
from ridectl.clients.settings import ClientSettings

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


@dataclass
class _Polled:
    """One poll's reply: its record frames, and the positions the consumer held after it."""

    frames: list[bytes]
    positions: dict[int, int]


class JavaConsumer:
    """A ``KafkaConsumer`` in its own JVM reading assigned partitions.

    **Read-ahead**, once the end offsets of the assigned partitions were asked (as ``consume``
    and ``watch`` do before they assign) and until every position has reached its own: the
    JVM runs the next poll while Python handles the records of the last one, and each poll
    here sends for the next before it returns (so the JVM finds it waiting). At most one
    poll's records are held in the JVM and one more on their way here. Every command names how
    many polls were handed over, so the JVM answers positions and commits by those records,
    never past them (``RideConsumer.java``); a bounded read ends with no poll running, so it
    commits and closes without waiting. Another command waits for a poll sent ahead and keeps
    its records for the next :meth:`poll`; an error of that poll is raised by whichever comes
    first."""

    client = ClientName.JAVA

    def __init__(
        self, settings: ClientSettings, *, group: str | None = None, doing: str = "reading"
    ) -> None:
        props = {**CONSUMER_DEFAULTS, **java_settings(settings.values, "consumer")}
        if group is not None:
            props[SettingName.GROUP_ID] = group
        self._proc = start_program(["consume"], settings.bootstrap, props, f"consumer, {doing}")
        #: False when the consumer auto-commits in a group: the commit of every poll (and of
        #: the close) covers all it polled, so a poll sent ahead would commit records never
        #: handed over (the JVM holds none ahead either)
        auto_commit = props.get(SettingName.ENABLE_AUTO_COMMIT, "false").strip().lower() == "true"
        # (the JVM's rule: a group.id given with -X counts as much as one given here)
        self._may_read_ahead = props.get(SettingName.GROUP_ID) is None or not auto_commit
        #: the positions the last poll handed over reported, for the topic assigned last
        self._positions: dict[int, int] = {}
        self._topic: str | None = None
        self._assigned: tuple[int, ...] = ()
        #: the end offsets asked last, by topic: reading ahead stops where they are reached
        self._ends: dict[str, dict[int, int]] = {}
        #: polls handed over since the last assignment
        self._handed = 0
        #: the timeout of a poll sent ahead whose reply was not taken yet (None: none)
        self._ahead_s: float | None = None
        #: the reply of a poll sent ahead, taken while another command waited for its turn
        self._kept: _Polled | None = None

    def _ask(self, line: str, kind: str, timeout_s: float = 60.0) -> list[str]:
        if self._ahead_s is not None:  # its reply comes first: keep it for the next poll
            self._kept = self._collect()
        reply = self._proc.request(line, kind, timeout_s)
        if reply is None:
            raise client_error(
                self._proc.what, f"no answer to {line.split()[0]} in {timeout_s:.0f}s"
            )
        return reply

    def assign(self, topic: str, partitions: Sequence[int], from_beginning: bool) -> None:
        if partitions:
            listed = ",".join(str(p) for p in partitions)
            # The JVM seeks back records read but not handed over (the kept ones too).
            self._ask(f"A {topic} {listed} {1 if from_beginning else 0} {self._handed}", "OK")
            self._topic = topic
            self._handed = 0  # (the JVM counts afresh from an assignment)
        elif self._ahead_s is not None:
            self._collect()  # records of the old assignment, not wanted any more
        self._kept, self._positions = None, {}
        self._assigned = tuple(partitions)

    def end_offsets(self, topic: str, partitions: Sequence[int]) -> dict[int, int]:
        if not partitions:
            return {}
        line = self._ask(f"O {topic} {','.join(str(p) for p in partitions)}", "O")[-1]
        pairs = (item.split(":") for item in line.split()[1:])
        ends = {int(p): int(o) for p, o in pairs}
        self._ends[topic] = ends
        return ends

    def position(self, topic: str, partition: int) -> int | None:
        if topic == self._topic and partition in self._positions:
            # As the poll of the records handed over last left it.
            return self._positions[partition]
        line = self._ask(f"N {topic} {partition} {self._handed}", "N")[-1]
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
        """The record frames of the next poll (sent ahead already, or now), and its positions;
        sends for the one after it while :meth:`_reads_ahead`."""
        polled, self._kept = self._kept, None
        if polled is None:
            if self._ahead_s is None:
                self._proc.take_records()  # late frames of an earlier poll that gave up waiting
                self._send_poll(timeout_s)
            polled = self._collect()
        self._handed += 1
        self._positions = polled.positions
        if self._reads_ahead():
            self._send_poll(timeout_s)
        return polled.frames

    def _send_poll(self, timeout_s: float) -> None:
        self._proc.send(f"L {int(max(0.0, timeout_s) * 1000)} {self._handed}")
        self._ahead_s = timeout_s

    def _collect(self) -> _Polled:
        """The reply of the poll sent last: the record frames before its "LD" line, and the
        positions that line holds."""
        timeout_s, self._ahead_s = (self._ahead_s or 0.0) + GRACE_S, None
        done = self._proc.collect("LD", timeout_s)
        if done is None:
            raise client_error(self._proc.what, f"no answer to L in {timeout_s:.0f}s")
        positions: dict[int, int] = {}
        for item in done[-1].split()[1:]:
            p, at = item.split(":")
            positions[int(p)] = int(at)
        return _Polled(self._proc.take_records(), positions)

    def _reads_ahead(self) -> bool:
        """Whether to send for the next poll now: the end offsets of every assigned partition
        are known, and some partition's position is short of its own (the JVM's rule too)."""
        ends = self._ends.get(self._topic) if self._topic is not None else None
        if (
            not self._may_read_ahead
            or not ends
            or not self._assigned
            or any(p not in ends for p in self._assigned)
        ):
            return False
        positions = self._positions
        return any(p in positions and positions[p] < ends[p] for p in self._assigned)

    def commit(self) -> None:
        self._ask(f"K {self._handed}", "OK")

    def settings_in_force(self) -> Mapping[str, str]:
        return dict(self._proc.settings)

    def close(self) -> None:
        self._proc.close("Q", 5.0 + GRACE_S)
