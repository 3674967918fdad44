"""The story of one ride: what the producer sent, which Produce requests carried it, what the
fault proxy did to them, where each stage was written, in which order the consumer processed
it, and the verdict with its cause.

Pure: it joins four records made elsewhere (the run's placement and acknowledgements, the
proxy's request log, the consumer's history, the checker's report) and talks to no Kafka.
What is missing is said, not guessed: without the request log the story rests on the
acknowledgements, and a keying cause needs neither (the key and the client's hash say it all).
The sentences of each violation are written in :mod:`ridectl.story.text`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ridectl.faults.requests import RequestFate, RequestRecord
from ridectl.judge.history import Ack, History, Observation
from ridectl.judge.kinds import at, label
from ridectl.judge.verdict import Report, Violation
from ridectl.story.evidence import RunEvidence
from ridectl.story.text import Role, Trail, explain_violation, fate_phrase, placement_reason

__all__ = [
    "Evidence",
    "Explanation",
    "RideStory",
    "Step",
    "StepKind",
    "StoryIndex",
]


class Evidence(StrEnum):
    """What the produce side of a story rests on."""

    REQUESTS = "requests"
    """The fault proxy's request log."""
    ACKS = "acks"
    """The producer's acknowledgements only (no proxy)."""
    NONE = "none"
    """Nothing from the producer: only what the consumer read."""


class StepKind(StrEnum):
    PLACED = "placed"
    REQUEST = "request"
    ACKED = "acked"
    UNACKED = "unacked"
    PROCESSED = "processed"
    NOT_PROCESSED = "not_processed"
    VERDICT = "verdict"


@dataclass(frozen=True)
class Step:
    """One line of a story."""

    kind: StepKind
    seqs: tuple[int, ...]
    text: str
    request: int | None = None
    partition: int | None = None
    offset: int | None = None
    position: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": str(self.kind),
            "seqs": list(self.seqs),
            "text": self.text,
            "request": self.request,
            "partition": self.partition,
            "offset": self.offset,
            "position": self.position,
        }


@dataclass(frozen=True)
class Explanation:
    """One violation of the ride, told: the requests that played a part, by role."""

    violation: Violation
    text: str
    roles: tuple[tuple[Role, int], ...] = ()
    fault: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            **self.violation.to_dict(),
            "story": self.text,
            "requests": {str(role): number for role, number in self.roles},
            "fault": self.fault,
        }


@dataclass(frozen=True)
class RideStory:
    ride_id: str
    topic: str
    run_id: str | None
    evidence: Evidence
    steps: tuple[Step, ...]
    explanations: tuple[Explanation, ...]

    @property
    def summary(self) -> str:
        """The story in one line: the first violation told, and how many more there are."""
        if not self.explanations:
            return "no violation: every stage processed once, in lifecycle order"
        more = len(self.explanations) - 1
        return self.explanations[0].text + (f" (+{more} more)" if more else "")

    def to_dict(self) -> dict[str, object]:
        return {
            "ride_id": self.ride_id,
            "topic": self.topic,
            "run_id": self.run_id,
            "evidence": str(self.evidence),
            "summary": self.summary,
            "steps": [s.to_dict() for s in self.steps],
            "violations": [e.to_dict() for e in self.explanations],
        }


def _event_offset(record: RequestRecord, ride_id: str, seq: int) -> tuple[int, int] | None:
    """Where ``record`` wrote event (ride_id, seq), as (partition, offset), when it can tell:
    the base offset of its partition plus the event's place among the records sent there
    (exact when every record of the request is a listed ride event)."""
    if record.fate not in (RequestFate.WRITTEN, RequestFate.ACK_REPLACED):
        return None
    for index, event in enumerate(record.events):
        if event.ride_id != ride_id or event.seq != seq:
            continue
        name = f"{event.topic}:{event.partition}"
        if name not in record.partitions:
            return None
        slot = record.partitions.index(name)
        if slot >= len(record.base_offsets) or record.base_offsets[slot] < 0:
            return None
        same = [
            e
            for e in record.events[:index]
            if (e.topic, e.partition) == (event.topic, event.partition)
        ]
        if same and record.records != len(record.events):
            return None
        return event.partition, record.base_offsets[slot] + len(same)
    return None


def _trails(
    ride_id: str,
    requests: Sequence[RequestRecord],
    acks: Sequence[Ack],
    observations: Sequence[Observation],
) -> dict[int, Trail]:
    trails: dict[int, Trail] = {}

    def trail(seq: int) -> Trail:
        return trails.setdefault(seq, Trail(seq))

    for record in requests:
        for event in record.events:
            if event.ride_id != ride_id:
                continue
            t = trail(event.seq)
            if record not in t.carriers:
                t.carriers.append(record)
            where = _event_offset(record, ride_id, event.seq)
            if where is not None and where not in t.written:
                t.written[where] = record.number
    for ack in acks:
        trail(ack.seq).ack = ack
    for obs in observations:
        trail(obs.seq).processed.append(obs)
    return trails


@dataclass
class StoryIndex:
    """Stories of any ride of one judged run, indexed once (``check --explain`` tells many)."""

    evidence: RunEvidence
    history: History
    report: Report
    _requests: dict[str, list[RequestRecord]] = field(default_factory=dict)
    _acks: dict[str, list[Ack]] = field(default_factory=dict)
    _seen: dict[str, list[Observation]] = field(default_factory=dict)
    _violations: dict[str, list[Violation]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        requests: defaultdict[str, list[RequestRecord]] = defaultdict(list)
        for record in sorted(self.evidence.requests or (), key=lambda r: r.number):
            for ride in dict.fromkeys(e.ride_id for e in record.events):
                requests[ride].append(record)
        acks: defaultdict[str, list[Ack]] = defaultdict(list)
        for ack in self.evidence.acks or self.history.acked or ():
            acks[ack.ride_id].append(ack)
        seen: defaultdict[str, list[Observation]] = defaultdict(list)
        for obs in self.history.observations:
            seen[obs.ride_id].append(obs)
        violations: defaultdict[str, list[Violation]] = defaultdict(list)
        for summary in self.report.per_ride:
            violations[summary.ride_id].extend(summary.violations)
        self._requests, self._acks = dict(requests), dict(acks)
        self._seen, self._violations = dict(seen), dict(violations)

    def knows(self, ride_id: str) -> bool:
        """Whether anything of this ride was produced, acknowledged or read."""
        return ride_id in self._seen or ride_id in self._acks or ride_id in self._requests

    @property
    def kind(self) -> Evidence:
        if self.evidence.requests is not None:
            return Evidence.REQUESTS
        if self.evidence.acks is not None or self.history.acked is not None:
            return Evidence.ACKS
        return Evidence.NONE

    def story(self, ride_id: str) -> RideStory:
        requests = self._requests.get(ride_id, [])
        trails = _trails(
            ride_id, requests, self._acks.get(ride_id, []), self._seen.get(ride_id, [])
        )
        steps = [*self._placed(ride_id, trails), *self._produced(ride_id, requests, trails)]
        steps.extend(_processed(trails))
        explanations = tuple(self._explain(v, trails) for v in self._violations.get(ride_id, []))
        steps.extend(Step(StepKind.VERDICT, (e.violation.seq,), e.text) for e in explanations)
        return RideStory(
            ride_id,
            self.evidence.topic,
            self.evidence.run_id,
            self.kind,
            tuple(steps),
            explanations,
        )

    def line(self, ride_id: str) -> str:
        return self.story(ride_id).summary

    def _explain(self, violation: Violation, trails: dict[int, Trail]) -> Explanation:
        text, roles, fault = explain_violation(violation, trails, self.evidence.placement)
        return Explanation(violation, text, roles, fault)

    def _placed(self, ride_id: str, trails: dict[int, Trail]) -> Iterable[Step]:
        """Where each stage went and why; stages placed alike share one step."""
        placement = self.evidence.placement
        groups: list[tuple[list[int], int, str]] = []
        for seq in sorted(trails):
            partition = trails[seq].partition
            if partition is None:
                continue
            why = placement_reason(placement, ride_id, seq, partition)
            if groups and groups[-1][1:] == (partition, why):
                groups[-1][0].append(seq)
            else:
                groups.append(([seq], partition, why))
        for seqs, partition, why in groups:
            stages = "every stage" if len(seqs) == 5 else ", ".join(label(s) for s in seqs)
            text = f"{stages} went to p{partition}: {why}"
            yield Step(StepKind.PLACED, tuple(seqs), text, partition=partition)

    def _produced(
        self, ride_id: str, requests: Sequence[RequestRecord], trails: dict[int, Trail]
    ) -> Iterable[Step]:
        carried: set[int] = set()
        written: set[int] = set()
        for record in requests:
            seqs = tuple(sorted({e.seq for e in record.events if e.ride_id == ride_id}))
            retry = [s for s in seqs if s in carried]
            text = _request_text(record, seqs, retry, written, trails)
            where = next((trails[s].written_by(record.number) for s in seqs), None)
            carried.update(seqs)
            if record.fate in (RequestFate.WRITTEN, RequestFate.ACK_REPLACED):
                written.update(seqs)
            yield Step(
                StepKind.REQUEST,
                seqs,
                text,
                request=record.number,
                partition=None if where is None else where[0],
                offset=None if where is None else where[1],
            )
        for seq in sorted(trails):
            if seq in carried:
                continue
            ack = trails[seq].ack
            if ack is not None:
                text = f"{label(seq)} sent; acknowledged at {at(ack.partition, ack.offset)}"
                if self.kind is Evidence.REQUESTS and not requests:
                    text += " (no fault or retry touched this ride: its requests were counted only)"
                yield Step(StepKind.ACKED, (seq,), text, partition=ack.partition, offset=ack.offset)
            elif self.kind is not Evidence.NONE:
                yield Step(StepKind.UNACKED, (seq,), f"{label(seq)}: no acknowledgement recorded")


def _request_text(
    record: RequestRecord,
    seqs: tuple[int, ...],
    retry: list[int],
    written: set[int],
    trails: dict[int, Trail],
) -> str:
    stages = ", ".join(label(s) for s in seqs)
    head = f"request #{record.number}"
    if retry:
        earlier = sorted({n for s in retry for n in trails[s].carried_before(record.number)})
        head += ", a retry of " + ", ".join(f"#{n}" for n in earlier) + ","
    text = f"{head} carried {stages}: {fate_phrase(record)}"
    places = [trails[s].written_by(record.number) for s in seqs]
    shown = ", ".join(at(p, o) for p, o in (w for w in places if w is not None))
    if shown and record.fate in (RequestFate.WRITTEN, RequestFate.ACK_REPLACED):
        again = any(s in written for s in seqs)
        text += f" at {shown}" + (" (a second copy)" if again else "")
    return text


def _processed(trails: dict[int, Trail]) -> Iterable[Step]:
    seen = sorted((o for t in trails.values() for o in t.processed), key=lambda o: o.position)
    for obs in seen:
        where = at(obs.partition, obs.offset)
        text = f"processed {label(obs.seq)} from {where}"
        yield Step(
            StepKind.PROCESSED,
            (obs.seq,),
            text,
            partition=obs.partition,
            offset=obs.offset,
            position=obs.position,
        )
    for seq in sorted(trails):
        if not trails[seq].processed:
            yield Step(StepKind.NOT_PROCESSED, (seq,), f"{label(seq)} was never processed")
