"""The story builder alone (no Kafka): request logs, acknowledgements and histories built by
hand, judged by the real checker, told by ridectl.story.explain."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
from rich.console import Console
from rich.text import Text

from ridectl.clients.base import ClientName
from ridectl.clients.partitioners import PartitionerName, partition_for
from ridectl.faults.requests import EventRef, RequestFate, RequestRecord
from ridectl.judge.checker import check
from ridectl.judge.history import Ack, History, Observation
from ridectl.judge.kinds import OrderCause, ViolationKind
from ridectl.output.explain import render_story
from ridectl.output.report import render_table
from ridectl.run.placement import KeyBy, Placement
from ridectl.run.store import keep_requests
from ridectl.story.evidence import RunEvidence
from ridectl.story.explain import Evidence, StepKind, StoryIndex
from ridectl.story.text import Role

RIDE = "ride-00001"
FAULT = "error:every=2,code=REQUEST_TIMED_OUT"
LOST = "lost-ack:every=2,code=REQUEST_TIMED_OUT"


def _request(
    number: int, seq: int, fate: RequestFate, offset: int = -1, fault: str | None = None
) -> RequestRecord:
    return RequestRecord(
        number=number,
        connection=1,
        partitions=("t:0",),
        events=(EventRef(RIDE, seq, "t", 0),),
        records=1,
        fate=fate,
        fault=fault,
        base_offsets=(offset,),
        error_code=7 if fault else 0,
    )


def _history(*placed: tuple[int, int, int]) -> History:
    """Observations (seq, partition, offset) in processing order."""
    return History(
        observations=[
            Observation(pos, RIDE, seq, partition, offset)
            for pos, (seq, partition, offset) in enumerate(placed)
        ]
    )


def _keyed(partitions: int = 1) -> Placement:
    return Placement(ClientName.KAFKA_PYTHON, True, KeyBy.RIDE, PartitionerName.murmur2, partitions)


def _index(
    history: History, requests: list[RequestRecord] | None, placement: Placement | None
) -> StoryIndex:
    return StoryIndex(RunEvidence("t", "run-1", placement, None, requests), history, check(history))


def test_a_retry_overtaken_names_the_failed_request_the_overtaking_one_and_the_retry() -> None:
    requests = [
        _request(1, 1, RequestFate.WRITTEN, 0),
        _request(2, 2, RequestFate.FAILED_BY_FAULT, fault=FAULT),
        _request(3, 3, RequestFate.WRITTEN, 1),
        _request(4, 2, RequestFate.WRITTEN, 2),
        _request(5, 4, RequestFate.WRITTEN, 3),
        _request(6, 5, RequestFate.WRITTEN, 4),
    ]
    history = _history((1, 0, 0), (3, 0, 1), (2, 0, 2), (4, 0, 3), (5, 0, 4))
    story = _index(history, requests, _keyed()).story(RIDE)
    assert story.evidence is Evidence.REQUESTS
    [told] = story.explanations
    assert told.violation.kind is ViolationKind.OUT_OF_ORDER
    assert told.violation.cause is OrderCause.LOG
    assert dict(told.roles) == {Role.FAILED: 2, Role.OVERTAKING: 3, Role.RETRY: 4}
    assert told.fault == FAULT
    for part in ("#2", "#3", "#4", FAULT, "REQUEST_TIMED_OUT", "p0@1", "p0@2"):
        assert part in story.summary
    retry = next(s for s in story.steps if s.request == 4)
    assert "a retry of #2" in retry.text and (retry.partition, retry.offset) == (0, 2)
    # time order: placement, the requests by number, processing by position, the verdict
    kinds = [s.kind for s in story.steps]
    assert kinds[0] is StepKind.PLACED and kinds[-1] is StepKind.VERDICT
    numbers = [s.request for s in story.steps if s.kind is StepKind.REQUEST]
    assert numbers == sorted(numbers) == [1, 2, 3, 4, 5, 6]
    positions = [s.position for s in story.steps if s.kind is StepKind.PROCESSED]
    assert positions == [0, 1, 2, 3, 4]


def test_a_lost_ack_duplicate_names_the_replaced_ack_and_the_second_copy() -> None:
    requests = [
        _request(1, 1, RequestFate.ACK_REPLACED, 0, fault=LOST),
        _request(2, 1, RequestFate.WRITTEN, 1),
    ]
    history = _history((1, 0, 0), (1, 0, 1))
    index = _index(history, requests, _keyed())
    dup = next(
        e for e in index.story(RIDE).explanations if e.violation.kind is ViolationKind.DUPLICATE
    )
    assert dict(dup.roles) == {Role.ACK_REPLACED: 1, Role.SECOND_COPY: 2}
    assert "#1" in dup.text and "#2" in dup.text and "p0@0" in dup.text and "p0@1" in dup.text
    assert LOST in dup.text
    second = next(s for s in index.story(RIDE).steps if s.request == 2)
    assert "second copy" in second.text


def test_without_the_proxy_an_unkeyed_split_is_told_from_placement_and_acks() -> None:
    placement = Placement(ClientName.KAFKA_PYTHON, False, KeyBy.RIDE, PartitionerName.murmur2, 3)
    acks = [Ack(RIDE, 1, 2, 0), Ack(RIDE, 2, 0, 0)]
    history = _history((2, 0, 0), (1, 2, 0))
    history.acked = acks
    index = StoryIndex(RunEvidence("t", "run-1", placement, acks, None), history, check(history))
    story = index.story(RIDE)
    assert story.evidence is Evidence.ACKS
    placed = [s for s in story.steps if s.kind is StepKind.PLACED]
    assert [(s.seqs, s.partition) for s in placed] == [((1,), 2), ((2,), 0)]
    assert all("no key" in s.text and "random partition for each record" in s.text for s in placed)
    [told] = [e for e in story.explanations if e.violation.kind is ViolationKind.OUT_OF_ORDER]
    assert told.violation.cause is OrderCause.KEYING
    assert "no key" in told.text and "kafka-python" in told.text
    assert [s.kind for s in story.steps if s.kind is StepKind.ACKED] == [StepKind.ACKED] * 2


def test_a_keyed_stage_names_the_hash_and_the_partition_it_gives() -> None:
    partition = partition_for("murmur2", RIDE.encode(), 6)
    assert partition is not None
    history = _history(*((seq, partition, seq) for seq in range(1, 6)))
    story = _index(history, None, _keyed(6)).story(RIDE)
    [placed] = [s for s in story.steps if s.kind is StepKind.PLACED]
    assert f"murmur2 hash % 6 = {partition}" in placed.text and "every stage" in placed.text
    assert story.explanations == () and story.evidence is Evidence.NONE


def test_a_second_producer_with_another_hash_is_named_for_its_stage() -> None:
    crc = partition_for("crc32", RIDE.encode(), 6)
    mm = partition_for("murmur2", RIDE.encode(), 6)
    assert crc is not None and mm is not None and crc != mm
    placement = Placement(
        ClientName.KAFKA_PYTHON, True, KeyBy.RIDE, PartitionerName.murmur2, 6,
        second_hash=PartitionerName.crc32, second_seqs=frozenset({5}),
    )  # fmt: skip
    history = _history((1, mm, 0), (2, mm, 1), (5, crc, 0), (3, mm, 2), (4, mm, 3))
    story = _index(history, None, placement).story(RIDE)
    keying = [e for e in story.explanations if e.violation.cause is OrderCause.KEYING]
    assert keying and all(
        "crc32 hash % 6" in e.text and "second producer" in e.text for e in keying
    )


def test_keep_requests_keeps_every_request_of_a_ride_a_fault_touched_and_counts_the_rest() -> None:
    other = RequestRecord(9, 1, ("t:0",), (EventRef("ride-9", 1, "t", 0),), 1, RequestFate.WRITTEN)
    requests = [
        _request(1, 1, RequestFate.WRITTEN, 0),
        _request(2, 2, RequestFate.FAILED_BY_FAULT, fault=FAULT),
        other,
    ]
    kept, summary = keep_requests(requests)
    assert [r.number for r in kept] == [1, 2]
    assert summary["requests"] == 3 and summary["kept"] == 2
    assert summary["by_fate"] == {"failed_by_fault": 1, "written": 2}
    assert keep_requests(requests, limit=1)[0] == [requests[0]]


def test_an_unknown_ride_is_not_known() -> None:
    index = _index(_history((1, 0, 0)), None, None)
    assert index.knows(RIDE) and not index.knows("ride-77777")


def test_placement_round_trips_through_its_dict() -> None:
    placement = Placement(
        ClientName.LIBRDKAFKA, True, KeyBy.ZONE, PartitionerName.crc32, 3,
        second_hash=PartitionerName.murmur2, second_seqs=frozenset({5}), grown=(3, 6),
    )  # fmt: skip
    assert Placement.from_dict(placement.to_dict()) == placement


def _render(draw: Callable[[Console], None], width: int) -> str:
    console = Console(width=width, record=True, file=io.StringIO(), no_color=True, soft_wrap=False)
    draw(console)
    return console.export_text()


@pytest.mark.parametrize("width", [80, 100, 120])
def test_the_story_and_check_explain_tables_fit(width: int) -> None:
    requests = [
        _request(1, 1, RequestFate.WRITTEN, 0),
        _request(2, 2, RequestFate.FAILED_BY_FAULT, fault=FAULT),
        _request(3, 3, RequestFate.WRITTEN, 1),
        _request(4, 2, RequestFate.WRITTEN, 2),
    ]
    history = _history((1, 0, 0), (3, 0, 1), (2, 0, 2))
    index = _index(history, requests, _keyed())
    story = index.story(RIDE)
    lines = {
        "story": _render(lambda c: render_story(story, c), width),
        "check": _render(
            lambda c: render_table(index.report, c, stories={RIDE: story.summary}), width
        ),
    }
    for name, text in lines.items():
        assert not re.search(r"\S…", text), (name, text)
        assert all(Text(line).cell_len <= width for line in text.splitlines()), (name, text)
    for figure in ("#2", "#3", "#4", "pos 2", "p0@1", "p0@2", RIDE):
        assert any(figure in line for line in lines["story"].splitlines()), figure
    flat = " ".join(lines["check"].split())
    assert story.summary in flat, flat
