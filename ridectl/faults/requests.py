"""Request-level evidence: for each Produce request, the ride events it carried and what
became of it, so a violation can be traced to the request that was failed, the one that
overtook it and the retry that wrote it late (or twice).

The proxy reads the record batches of every Produce request (kafka-python's record codecs)
and takes ``ride_id`` and ``seq`` from the JSON values ridectl writes; values that are not
ride events are counted but not listed. A request that carries an event an earlier request
carried is a retry of that request; an event written by a request whose acknowledgement a
``lost-ack`` fault replaced and then written again is a duplicate.

Bounded: the first MAX_REQUESTS_LOGGED requests are kept (later ones only counted), each with
at most MAX_EVENTS_PER_REQUEST events listed, and retries are recognised among the first
MAX_EVENTS_TRACKED distinct events.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from kafka.record.memory_records import MemoryRecords

__all__ = [
    "MAX_EVENTS_PER_REQUEST",
    "MAX_REQUESTS_LOGGED",
    "EventRef",
    "HoldRelease",
    "RequestFate",
    "RequestLog",
    "RequestRecord",
    "ride_events",
]

MAX_REQUESTS_LOGGED = 10_000
MAX_EVENTS_PER_REQUEST = 32
MAX_EVENTS_TRACKED = 200_000
#: events per logged request remembered for recognising duplicates
MAX_EVENTS_REMEMBERED = 1_000

Ride = tuple[str, int]


class RequestFate(StrEnum):
    PENDING = "pending"
    """No answer yet."""
    WRITTEN = "written"
    """Forwarded; the broker wrote it (error code 0 on every partition)."""
    REFUSED = "refused"
    """Forwarded; the broker answered an error on some partition."""
    FAILED_BY_FAULT = "failed_by_fault"
    """An ``error`` fault answered it; never forwarded, not written."""
    ACK_REPLACED = "ack_replaced"
    """Written by the broker; a ``lost-ack`` fault gave the client an error instead."""
    NO_ANSWER = "no_answer"
    """acks=0: forwarded without an answer owed (or swallowed by an ``error`` fault)."""
    CLOSED = "closed"
    """Its connection closed before the broker answered (or a ``disconnect`` fault)."""


class HoldRelease(StrEnum):
    """Why a held error answer (``hold=N``) was given to the client when it was."""

    COUNT = "count"
    """The N further Produce requests arrived on its connection."""
    ALONE = "alone"
    """The client never had more than one request in flight: nothing could overtake it."""
    IDLE = "idle"
    """The client pipelines but sent nothing more for a long while (the end of its run)."""


@dataclass(frozen=True)
class EventRef:
    """One ride event a request carried, and where to."""

    ride_id: str
    seq: int
    topic: str
    partition: int


@dataclass(frozen=True)
class RequestRecord:
    """What one Produce request carried and what became of it."""

    number: int
    connection: int
    partitions: tuple[str, ...]
    """``topic:partition`` for each partition written (the topic by id from Produce v13)."""
    events: tuple[EventRef, ...]
    records: int
    """Records carried (ride events or not), also beyond the ones listed."""
    fate: RequestFate = RequestFate.PENDING
    fault: str | None = None
    base_offsets: tuple[int, ...] = ()
    """The broker's base offset per partition, in ``partitions`` order (-1 if not written)."""
    error_code: int = 0
    """The first non-zero code the client got (0: success)."""
    retry_of: tuple[int, ...] = ()
    """Earlier requests that carried some of the same events."""
    duplicate_of: tuple[int, ...] = ()
    """Earlier requests that had already written some of the same events."""
    released_by: HoldRelease | None = None
    """For an error answer held back (``hold=N``): what let it go (None: not held)."""
    sent_while_held: int = 0
    """Produce requests the client sent on the connection while that held answer waited."""

    def to_dict(self) -> dict[str, object]:
        return {
            "number": self.number,
            "connection": self.connection,
            "partitions": list(self.partitions),
            "events": [[e.ride_id, e.seq, e.topic, e.partition] for e in self.events],
            "records": self.records,
            "fate": str(self.fate),
            "fault": self.fault,
            "base_offsets": list(self.base_offsets),
            "error_code": self.error_code,
            "retry_of": list(self.retry_of),
            "duplicate_of": list(self.duplicate_of),
            "released_by": None if self.released_by is None else str(self.released_by),
            "sent_while_held": self.sent_while_held,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RequestRecord:
        def ints(key: str) -> tuple[int, ...]:
            value = data.get(key, [])
            return tuple(int(v) for v in value) if isinstance(value, list) else ()

        events = data.get("events", [])
        fault = data.get("fault")
        released = data.get("released_by")
        return cls(
            number=int(str(data["number"])),
            connection=int(str(data["connection"])),
            partitions=tuple(str(p) for p in _list(data.get("partitions"))),
            events=tuple(
                EventRef(str(e[0]), int(e[1]), str(e[2]), int(e[3]))
                for e in (events if isinstance(events, list) else [])
            ),
            records=int(str(data.get("records", 0))),
            fate=RequestFate(str(data.get("fate", "pending"))),
            fault=None if fault is None else str(fault),
            base_offsets=ints("base_offsets"),
            error_code=int(str(data.get("error_code", 0))),
            retry_of=ints("retry_of"),
            duplicate_of=ints("duplicate_of"),
            released_by=None if released is None else HoldRelease(str(released)),
            sent_while_held=int(str(data.get("sent_while_held", 0))),
        )


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def ride_events(batches: Iterable[tuple[str, int, bytes]]) -> tuple[list[EventRef], int]:
    """The ride events in the record batches of (topic, partition, bytes), and how many
    records there were. Anything undecodable is skipped: the broker judges the records."""
    events: list[EventRef] = []
    records = 0
    for topic, partition, data in batches:
        try:
            memory = MemoryRecords(data)
            while memory.has_next():
                batch = memory.next_batch()
                for record in batch:
                    records += 1
                    ride = _ride_of(record.value)
                    if ride is not None:
                        events.append(EventRef(ride[0], ride[1], topic, partition))
        except Exception:  # untrusted bytes: the broker refuses them itself
            continue
    return events, records


def _ride_of(value: bytes | None) -> Ride | None:
    if not value or not value.startswith(b"{"):
        return None
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    ride, seq = data.get("ride_id"), data.get("seq")
    if isinstance(ride, str) and isinstance(seq, int):
        return ride, seq
    return None


class RequestLog:
    """The bounded, thread-safe log the connections write to."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._records: dict[int, RequestRecord] = {}
        self._rides: dict[int, tuple[Ride, ...]] = {}
        self._carried: dict[Ride, int] = {}
        self._written: dict[Ride, int] = {}
        self.dropped = 0

    def open(
        self,
        number: int,
        connection: int,
        partitions: tuple[str, ...],
        batches: Iterable[tuple[str, int, bytes]],
    ) -> None:
        events, records = ride_events(batches)
        rides = tuple((e.ride_id, e.seq) for e in events)
        with self.lock:
            retry_of = sorted({self._carried[r] for r in rides if r in self._carried})
            for ride in rides:
                if ride in self._carried or len(self._carried) < MAX_EVENTS_TRACKED:
                    self._carried[ride] = number
            if len(self._records) >= MAX_REQUESTS_LOGGED:
                self.dropped += 1
                return
            self._rides[number] = rides[:MAX_EVENTS_REMEMBERED]
            self._records[number] = RequestRecord(
                number,
                connection,
                partitions,
                tuple(events[:MAX_EVENTS_PER_REQUEST]),
                records,
                retry_of=tuple(retry_of),
            )

    def settle(
        self,
        number: int,
        fate: RequestFate,
        *,
        fault: str | None = None,
        base_offsets: tuple[int, ...] = (),
        error_code: int = 0,
    ) -> None:
        """Record what became of request ``number`` (the first settlement stands)."""
        with self.lock:
            record = self._records.get(number)
            if record is None or record.fate is not RequestFate.PENDING:
                return
            duplicate_of: tuple[int, ...] = ()
            if fate in (RequestFate.WRITTEN, RequestFate.ACK_REPLACED):
                rides = self._rides.get(number, ())
                duplicate_of = tuple(
                    sorted({self._written[r] for r in rides if r in self._written})
                )
                for ride in rides:
                    if ride in self._written or len(self._written) < MAX_EVENTS_TRACKED:
                        self._written.setdefault(ride, number)
            self._records[number] = replace(
                record,
                fate=fate,
                fault=fault,
                base_offsets=base_offsets,
                error_code=error_code,
                duplicate_of=duplicate_of,
            )

    def released(self, number: int, how: HoldRelease, sent_while_held: int) -> None:
        """Record that request ``number``'s held error answer went to the client, and why."""
        with self.lock:
            record = self._records.get(number)
            if record is not None:
                self._records[number] = replace(
                    record, released_by=how, sent_while_held=sent_while_held
                )

    def snapshot(self) -> tuple[tuple[RequestRecord, ...], int]:
        with self.lock:
            return tuple(self._records.values()), self.dropped
