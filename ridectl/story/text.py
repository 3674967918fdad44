"""The sentences of a ride's story: why a stage landed on its partition, what became of a
Produce request, and each violation told with the requests that played a part.

Pure text built from typed evidence (used by :mod:`ridectl.story.explain`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ridectl.faults.requests import RequestFate, RequestRecord
from ridectl.faults.spec import error_code_name
from ridectl.judge.history import Ack, Observation
from ridectl.judge.kinds import DuplicateKind, OrderCause, ViolationKind, at, label
from ridectl.judge.verdict import Violation
from ridectl.run.placement import KeyBy, Placement

__all__ = ["Role", "Trail", "explain_violation", "fate_phrase", "placement_reason"]

Where = tuple[int, int]


class Role(StrEnum):
    """The part a Produce request played in a violation."""

    FAILED = "failed"
    """It carried the late stage and was not written (a fault, a refusal, a closed link)."""
    OVERTAKING = "overtaking"
    """It wrote the later stage first."""
    RETRY = "retry"
    """It carried the late stage again and wrote it."""
    ACK_REPLACED = "ack_replaced"
    """It wrote a stage, but the client was told it failed."""
    SECOND_COPY = "second_copy"
    """It wrote a stage that was already written."""


@dataclass
class Trail:
    """Everything known about one stage of one ride."""

    seq: int
    carriers: list[RequestRecord] = field(default_factory=list)
    #: (partition, offset) -> the request that wrote a copy there
    written: dict[Where, int] = field(default_factory=dict)
    ack: Ack | None = None
    processed: list[Observation] = field(default_factory=list)

    @property
    def partition(self) -> int | None:
        """Where the stage went: as acknowledged, else as written, else as read."""
        if self.ack is not None:
            return self.ack.partition
        if self.written:
            return next(iter(self.written))[0]
        if self.processed:
            return self.processed[0].partition
        events = (e for r in self.carriers for e in r.events)
        return next((e.partition for e in events), None)

    def written_by(self, number: int) -> Where | None:
        return next((w for w, n in self.written.items() if n == number), None)

    def writer_at(self, where: Where) -> RequestRecord | None:
        number = self.written.get(where)
        return next((r for r in self.carriers if r.number == number), None)

    def carried_before(self, number: int) -> list[int]:
        return [r.number for r in self.carriers if r.number < number]

    def first_unwritten(self) -> RequestRecord | None:
        """The first request that carried the stage and did not simply write it."""
        return next((r for r in self.carriers if r.fate is not RequestFate.WRITTEN), None)


def _code(record: RequestRecord) -> str:
    return error_code_name(record.error_code) if record.error_code else "an error"


def fate_phrase(record: RequestRecord) -> str:
    """What became of a request, in a few words."""
    by = f"the fault {record.fault}" if record.fault else "the proxy"
    match record.fate:
        case RequestFate.WRITTEN:
            return "written"
        case RequestFate.FAILED_BY_FAULT:
            return f"{by} answered {_code(record)}, never written"
        case RequestFate.ACK_REPLACED:
            return f"written, but {by} told the client {_code(record)}"
        case RequestFate.REFUSED:
            return f"the broker refused it with {_code(record)}"
        case RequestFate.CLOSED:
            return "its connection closed before any answer" + (f" ({by})" if record.fault else "")
        case RequestFate.NO_ANSWER:
            return "no answer owed (acks=0)"
        case _:
            return "no answer recorded"


def placement_reason(placement: Placement | None, ride_id: str, seq: int, partition: int) -> str:
    """Why stage ``seq`` of the ride landed on ``partition``."""
    if placement is None:
        return "how it was placed is unknown (no run record)"
    client = str(placement.client)
    if not placement.keyed:
        return f"no key, and {client} puts a keyless record on {placement.keyless.describe()}"
    if placement.key_by is KeyBy.ZONE:
        return "keyed by pickup zone (one key for every stage of the ride)"
    name = placement.hash_of(seq)
    second = " (sent by the second producer)" if seq in placement.second_seqs else ""
    if name is None:
        return f"key {ride_id}, but {client} has no stable hash for it{second}"
    key = ride_id.encode()
    counts = [placement.partitions]
    if placement.grown is not None:
        counts = [placement.grown[1], placement.grown[0]]
    for n in counts:
        if placement.expected(key, seq, n) == partition:
            grew = f", once the topic had grown to {n}" if n != placement.partitions else ""
            return f"key {ride_id}, {name} hash % {n} = {partition}{grew}{second}"
    expected = placement.expected(key, seq, placement.partitions)
    return f"key {ride_id}, but {name} hash % {placement.partitions} = {expected}{second}"


Told = tuple[str, tuple[tuple[Role, int], ...], str | None]


def explain_violation(
    violation: Violation, trails: dict[int, Trail], placement: Placement | None
) -> Told:
    """The violation in one sentence, the requests that played a part, and the fault."""
    v = violation
    trail = trails.get(v.seq, Trail(v.seq))
    if v.kind is ViolationKind.OUT_OF_ORDER and v.other_seq is not None and len(v.evidence) == 2:
        other = trails.get(v.other_seq, Trail(v.other_seq))
        return _out_of_order(v, trail, other, placement)
    if v.kind is ViolationKind.DUPLICATE and len(v.evidence) == 2:
        return _duplicate(v, trail)
    if v.kind is ViolationKind.LOST and v.evidence:
        where = at(*v.evidence[0])
        return f"{label(v.seq)} was acknowledged at {where} but never processed", (), None
    if v.kind is ViolationKind.MISSING:
        last = trail.carriers[-1] if trail.carriers else None
        if last is None:
            return f"{label(v.seq)} was never acknowledged nor processed", (), None
        text = (
            f"{label(v.seq)} was never acknowledged nor processed; its last request, "
            f"#{last.number}: {fate_phrase(last)}"
        )
        return text, ((Role.FAILED, last.number),), last.fault
    return f"{label(v.seq)}: {v.detail or v.kind}", (), None


def _out_of_order(v: Violation, late: Trail, early: Trail, placement: Placement | None) -> Told:
    assert v.other_seq is not None
    (p_early, o_early), (p_late, o_late) = v.evidence
    first = (
        f"{label(v.other_seq)} ({at(p_early, o_early)}) was processed before "
        f"{label(v.seq)} ({at(p_late, o_late)})"
    )
    if v.cause is OrderCause.KEYING:
        return f"{first}: {_split(v, p_early, p_late, placement)}", (), None
    if v.cause is OrderCause.PROCESSING:
        pos = next(
            (o.position for o in early.processed if (o.partition, o.offset) == (p_early, o_early)),
            None,
        )
        text = (
            f"{first}: the log holds them in order, but the consumer processed them the "
            f"other way round (positions {pos} and {v.position})"
        )
        return text, (), None
    return _log_order(v, late, early, first)


def _split(v: Violation, p_early: int, p_late: int, placement: Placement | None) -> str:
    assert v.other_seq is not None
    if placement is None:
        return f"the two stages sit on different partitions (p{p_early}, p{p_late})"
    if not placement.keyed:
        return (
            f"no key, and {placement.client} puts a keyless record on "
            f"{placement.keyless.describe()}"
        )
    why = placement_reason(placement, v.ride_id, v.seq, p_late)
    other = placement_reason(placement, v.ride_id, v.other_seq, p_early)
    return f"{label(v.other_seq)}: {other}; {label(v.seq)}: {why}"


def _log_order(v: Violation, late: Trail, early: Trail, first: str) -> Told:
    assert v.other_seq is not None
    (p_early, o_early), (p_late, o_late) = v.evidence
    failed = late.first_unwritten()
    overtaking = early.writer_at((p_early, o_early))
    retry = late.writer_at((p_late, o_late))
    if failed is None or overtaking is None or retry is None:
        return (
            f"{first}: one partition holds {label(v.other_seq)} before {label(v.seq)}, so the "
            "producer wrote them out of order (a request retried after a later one was "
            "written; the fault proxy's request log would name them)",
            (),
            None,
        )
    text = (
        f"{label(v.seq)} went in request #{failed.number}: {fate_phrase(failed)}; "
        f"meanwhile request #{overtaking.number} wrote {label(v.other_seq)} at "
        f"{at(p_early, o_early)}; the retry, request #{retry.number}, wrote {label(v.seq)} "
        f"at {at(p_late, o_late)}"
    )
    roles = ((Role.FAILED, failed.number), (Role.OVERTAKING, overtaking.number))
    return text, (*roles, (Role.RETRY, retry.number)), failed.fault


def _duplicate(v: Violation, trail: Trail) -> Told:
    first_at, second_at = v.evidence
    if v.duplicate_kind is DuplicateKind.REDELIVERY:
        return f"the record at {at(*first_at)} was processed twice (consumer side)", (), None
    one, two = trail.writer_at(first_at), trail.writer_at(second_at)
    if one is None or two is None:
        text = (
            f"{label(v.seq)} was written twice, at {at(*first_at)} and {at(*second_at)}: "
            "the producer sent it again"
        )
        return text, (), None
    if one.fate is RequestFate.ACK_REPLACED:
        by = f"the fault {one.fault}" if one.fault else "the proxy"
        what = f"but {by} told the client {_code(one)}"
    else:
        what = f"and {fate_phrase(one)}"
    text = (
        f"request #{one.number} wrote {label(v.seq)} at {at(*first_at)}, {what}; the client "
        f"sent it again in request #{two.number}, which wrote a second copy at {at(*second_at)}"
    )
    role = Role.ACK_REPLACED if one.fate is RequestFate.ACK_REPLACED else Role.FAILED
    return text, ((role, one.number), (Role.SECOND_COPY, two.number)), one.fault
