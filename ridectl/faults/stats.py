"""What the fault proxy did, as typed values: the snapshot (:class:`ProxyStats`), the request
ledger that shows nothing was lost, and the answers given to Produce requests.

:class:`Counters` is the mutable side the event loop writes to; any thread may take a
snapshot. ``ProxyStats.to_dict()``/``from_dict()`` carry a snapshot over the JSON pipe of the
child process and into ``--format json`` output.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from ridectl.faults.requests import RequestRecord
from ridectl.faults.spec import FaultSpec

__all__ = [
    "MAX_ANSWERS_KEPT",
    "MAX_HITS_KEPT",
    "AnswerSource",
    "Counters",
    "Fate",
    "Ledger",
    "PartitionAnswer",
    "ProduceAnswer",
    "ProxyStats",
]

# How many hit request numbers the stats keep (a long run with every=1 would grow forever).
MAX_HITS_KEPT = 100_000
#: How many Produce answers (per-partition error codes) the stats keep; later ones are counted.
MAX_ANSWERS_KEPT = 20_000


class Fate(StrEnum):
    """How a request left the proxy's books."""

    BROKER_ANSWERED = "broker_answered"
    """Forwarded; the broker's answer reached the client (possibly delayed)."""
    FAULT_ANSWERED = "fault_answered"
    """Not forwarded; an ``error`` fault's answer reached the client."""
    ACK_REPLACED = "ack_replaced"
    """Forwarded and written; a ``lost-ack`` fault's error reached the client instead."""
    NO_ANSWER = "no_answer"
    """A Produce request with acks=0: Kafka owes no answer (forwarded, or swallowed by a fault)."""
    CLOSED = "closed"
    """Still owed an answer when its connection closed (a peer left, a ``disconnect`` fault,
    a protocol error or the proxy stopping)."""


class AnswerSource(StrEnum):
    """Who produced the answer a client got for a Produce request."""

    BROKER = "broker"
    FAULT = "fault"
    """An ``error`` fault: never forwarded."""
    REPLACED = "replaced"
    """A ``lost-ack`` fault: the broker's answer was replaced."""


@dataclass(frozen=True)
class Ledger:
    """Every request the proxy read, and what became of it. ``outstanding`` is what is still
    in progress: zero once every connection is closed, or something was lost."""

    received: int = 0
    broker_answered: int = 0
    fault_answered: int = 0
    ack_replaced: int = 0
    no_answer: int = 0
    closed: int = 0
    #: connections that closed with a request neither answered nor counted as closed
    unbalanced_connections: int = 0

    @property
    def accounted(self) -> int:
        return (
            self.broker_answered
            + self.fault_answered
            + self.ack_replaced
            + self.no_answer
            + self.closed
        )

    @property
    def outstanding(self) -> int:
        return self.received - self.accounted

    def to_dict(self) -> dict[str, int]:
        return {**asdict(self), "outstanding": self.outstanding}


@dataclass(frozen=True)
class PartitionAnswer:
    """One partition of a Produce answer. ``topic`` is the name, or the topic id from
    Produce v13 on. ``broker_code``/``base_offset`` are the broker's (None when the request was
    never forwarded); ``error_code`` is what the client got."""

    topic: str
    partition: int
    error_code: int
    broker_code: int | None = None
    base_offset: int | None = None


@dataclass(frozen=True)
class ProduceAnswer:
    """The answer to one Produce request: its proxy-wide number and connection number."""

    request: int
    connection: int
    source: AnswerSource
    partitions: tuple[PartitionAnswer, ...]


def _ints(value: object) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise ValueError(f"expected a list, not {value!r}")
    return tuple(int(v) for v in value)


def _mapping(value: object) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise ValueError(f"expected an object, not {value!r}")
    return value


def _count_map(value: object) -> dict[str, int]:
    return {str(k): int(str(v)) for k, v in _mapping(value).items()}


def _opt_int(value: object) -> int | None:
    return None if value is None else int(str(value))


def _answer_from(value: object) -> ProduceAnswer:
    data = _mapping(value)
    parts = data["partitions"]
    if not isinstance(parts, list):
        raise ValueError("partitions must be a list")
    return ProduceAnswer(
        request=int(str(data["request"])),
        connection=int(str(data["connection"])),
        source=AnswerSource(str(data["source"])),
        partitions=tuple(
            PartitionAnswer(
                topic=str(p["topic"]),
                partition=int(str(p["partition"])),
                error_code=int(str(p["error_code"])),
                broker_code=_opt_int(p.get("broker_code")),
                base_offset=_opt_int(p.get("base_offset")),
            )
            for p in map(_mapping, parts)
        ),
    )


@dataclass(frozen=True)
class ProxyStats:
    """A snapshot of what the proxy did. ``to_dict()`` gives plain JSON-ready values."""

    listen: tuple[str, ...]
    """Every address the proxy listens on, bootstrap listeners first."""
    routes: dict[str, str]
    """Listening address -> the broker address it forwards to."""
    bootstrap: str
    """What to give a client as bootstrap servers."""
    faults: tuple[str, ...]
    """The fault specs, canonical text, in the order they are consulted."""
    connections_total: int
    connections_open: int
    connections_failed: int
    """Client connections closed because of a protocol problem, an unreachable broker or a
    proxy bug (one log line each), rather than a peer closing or a ``disconnect`` fault."""
    requests_by_api: dict[str, int]
    produce_requests: int
    faults_injected: dict[str, int]
    """Faults that acted, by kind."""
    hit_requests: tuple[int, ...]
    """Produce request numbers (1-based, proxy-wide) a fault acted on, in order."""
    hits_by_fault: dict[str, tuple[int, ...]]
    """The same numbers split by fault spec (canonical text)."""
    rewritten_responses: int
    """Responses whose broker addresses were pointed at the proxy."""
    max_in_flight: int
    """The most Produce requests one connection ever had at the broker at once (what the
    client's max.in.flight setting and its ordering rules allowed in practice; a Metadata
    request sent meanwhile does not count)."""
    ledger: Ledger = field(default_factory=Ledger)
    produce_answers: tuple[ProduceAnswer, ...] = ()
    """Per Produce answer, the error code per partition (the first MAX_ANSWERS_KEPT)."""
    produce_answers_dropped: int = 0
    """Produce answers not kept in ``produce_answers`` (over the bound)."""
    answer_codes: dict[str, int] = field(default_factory=dict)
    """Partition answers by ``source:code`` (e.g. ``broker:0``, ``fault:7``), all of them."""
    request_log: tuple[RequestRecord, ...] = ()
    """Per Produce request: the ride events it carried and what became of it (bounded)."""
    request_log_dropped: int = 0

    @classmethod
    def from_dict(cls, value: object) -> ProxyStats:
        """The inverse of ``to_dict()``; ValueError/KeyError on anything else."""
        data = _mapping(value)
        answers = data.get("produce_answers", [])
        if not isinstance(answers, list):
            raise ValueError("produce_answers must be a list")
        ledger = dict(_count_map(data.get("ledger", {})))
        ledger.pop("outstanding", None)
        return cls(
            listen=tuple(str(a) for a in _seq(data["listen"])),
            routes={str(k): str(v) for k, v in _mapping(data["routes"]).items()},
            bootstrap=str(data["bootstrap"]),
            faults=tuple(str(f) for f in _seq(data["faults"])),
            connections_total=int(str(data["connections_total"])),
            connections_open=int(str(data["connections_open"])),
            connections_failed=int(str(data["connections_failed"])),
            requests_by_api=_count_map(data["requests_by_api"]),
            produce_requests=int(str(data["produce_requests"])),
            faults_injected=_count_map(data["faults_injected"]),
            hit_requests=_ints(data["hit_requests"]),
            hits_by_fault={str(k): _ints(v) for k, v in _mapping(data["hits_by_fault"]).items()},
            rewritten_responses=int(str(data["rewritten_responses"])),
            max_in_flight=int(str(data["max_in_flight"])),
            ledger=Ledger(**ledger),
            produce_answers=tuple(_answer_from(a) for a in answers),
            produce_answers_dropped=int(str(data.get("produce_answers_dropped", 0))),
            answer_codes=_count_map(data.get("answer_codes", {})),
            request_log=tuple(
                RequestRecord.from_dict(_mapping(r)) for r in _seq(data.get("request_log", []))
            ),
            request_log_dropped=int(str(data.get("request_log_dropped", 0))),
        )

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["listen"] = list(self.listen)
        data["faults"] = list(self.faults)
        data["hit_requests"] = list(self.hit_requests)
        data["hits_by_fault"] = {k: list(v) for k, v in self.hits_by_fault.items()}
        data["ledger"] = self.ledger.to_dict()
        data["request_log"] = [r.to_dict() for r in self.request_log]
        return data

    @property
    def faults_injected_total(self) -> int:
        return sum(self.faults_injected.values())

    def describe(self) -> str:
        """One line: where the proxy listens, where it forwards, which faults it injects."""
        routes = ", ".join(f"{src} -> {dst}" for src, dst in self.routes.items())
        faults = "; ".join(self.faults) if self.faults else "none"
        return f"fault proxy listening on {routes}; faults: {faults}"


def _seq(value: object) -> Sequence[object]:
    if not isinstance(value, list):
        raise ValueError(f"expected a list, not {value!r}")
    return value


class Counters:
    """Mutable counters shared by the event loop (writer) and any thread asking for stats."""

    def __init__(self, faults: Sequence[FaultSpec]) -> None:
        self.lock = threading.Lock()
        self.connections_total = 0
        self.connections_open = 0
        self.connections_failed = 0
        self.requests: Counter[str] = Counter()
        self.produce_requests = 0
        self.injected: Counter[str] = Counter()
        self.hits: list[int] = []
        self.hits_by_fault: dict[str, list[int]] = {str(f): [] for f in faults}
        self.rewritten = 0
        self.max_in_flight = 0
        self.received = 0
        self.fates: Counter[Fate] = Counter()
        self.unbalanced_connections = 0
        self.answers: list[ProduceAnswer] = []
        self.answers_dropped = 0
        self.answer_codes: Counter[str] = Counter()

    def hit(self, kind: str, spec: str, number: int) -> None:
        with self.lock:
            self.injected[kind] += 1
            if len(self.hits) < MAX_HITS_KEPT:
                self.hits.append(number)
                self.hits_by_fault[spec].append(number)

    def settle(self, fate: Fate, count: int = 1) -> None:
        with self.lock:
            self.fates[fate] += count

    def answered(self, answer: ProduceAnswer) -> None:
        with self.lock:
            for part in answer.partitions:
                self.answer_codes[f"{answer.source}:{part.error_code}"] += 1
            if len(self.answers) < MAX_ANSWERS_KEPT:
                self.answers.append(answer)
            else:
                self.answers_dropped += 1

    def ledger(self) -> Ledger:
        """Call with the lock held."""
        f = self.fates
        return Ledger(
            received=self.received,
            broker_answered=f[Fate.BROKER_ANSWERED],
            fault_answered=f[Fate.FAULT_ANSWERED],
            ack_replaced=f[Fate.ACK_REPLACED],
            no_answer=f[Fate.NO_ANSWER],
            closed=f[Fate.CLOSED],
            unbalanced_connections=self.unbalanced_connections,
        )
