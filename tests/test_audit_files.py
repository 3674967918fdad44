"""``audit --from FILE``: kcat -J envelopes and plain JSON lines read into the audit (pure)."""

from __future__ import annotations

import io
import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from ridectl.audit.engine import Auditor, Record
from ridectl.audit.files import feed_file
from ridectl.audit.kinds import AuditKind, Unmapped
from ridectl.audit.mapping import mapping_of


def kcat(topic: str, partition: int, offset: int, key: str | None, value: str | None) -> str:
    """A line as ``kcat -C -J`` writes it."""
    return json.dumps(
        {
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "tstype": "create",
            "ts": 1_700_000_000_000 + offset,
            "broker": 1,
            "headers": None,
            "key": key,
            "payload": value,
        }
    )


def audit_lines(lines: list[str], **words: str | bool) -> tuple[Auditor, object]:
    auditor = Auditor(mapping_of(**words))  # type: ignore[arg-type]
    read = feed_file(io.BytesIO(("\n".join(lines) + "\n").encode()), auditor)
    return auditor, read


def test_a_kcat_export() -> None:
    lines = [
        kcat("orders", 0, 0, "o1", json.dumps({"id": "o1", "version": 1})),
        kcat("orders", 0, 1, "o1", json.dumps({"id": "o1", "version": 3})),
        kcat("orders", 1, 0, "o1", json.dumps({"id": "o1", "version": 4})),
        kcat("orders", 0, 2, "o1", json.dumps({"id": "o1", "version": 2})),
        kcat("orders", 0, 3, "o1", None),
        kcat("orders", 0, 4, None, "not json"),
    ]
    auditor = Auditor(mapping_of(entity="id", seq="version"))
    read = feed_file(io.BytesIO("\n".join(lines).encode()), auditor)
    verdict = auditor.finish()
    assert (read.lines, read.malformed, list(read.topics)) == (6, 0, ["orders"])
    assert [(v.kind, v.values, v.evidence) for v in verdict.violations] == [
        (AuditKind.OUT_OF_ORDER, (3, 2), ((0, 1), (0, 2))),
        (AuditKind.SPLIT, (), ((0, 0), (1, 0))),
    ]
    by = verdict.summary.unmapped_by_reason
    assert (by[Unmapped.TOMBSTONE], by[Unmapped.NOT_JSON]) == (1, 1)
    assert verdict.summary.records_per_partition == {0: 5, 1: 1}


def test_plain_json_lines_with_the_value_as_text_or_as_json() -> None:
    lines = [
        json.dumps({"partition": 2, "offset": 7, "key": "k", "value": '{"v": 2}'}),
        json.dumps({"partition": 2, "offset": 8, "key": "k", "value": {"v": 1}}),
        json.dumps({"partition": 2, "offset": 9, "key": "k", "value": None}),
        json.dumps({"partition": 2, "offset": 10, "value": {"v": 5}}),
    ]
    auditor, _ = audit_lines(lines, seq="v")
    verdict = auditor.finish()
    assert [(v.entity, v.kind, v.evidence) for v in verdict.violations] == [
        ("k", AuditKind.OUT_OF_ORDER, ((2, 7), (2, 8)))
    ]
    by = verdict.summary.unmapped_by_reason
    assert (by[Unmapped.TOMBSTONE], by[Unmapped.NO_KEY]) == (1, 1)


def test_bad_lines_are_counted_not_fatal() -> None:
    lines = [
        "",
        "not json at all",
        json.dumps({"partition": 0, "offset": 0, "key": "k"}),  # (no value of either layout)
        json.dumps({"partition": -1, "offset": 0, "key": "k", "value": "{}"}),
        json.dumps({"offset": 0, "key": "k", "value": "{}"}),
        json.dumps({"partition": 0, "offset": 1, "key": "k", "value": '{"v": 1}'}),
    ]
    auditor, read = audit_lines(lines, seq="v")
    assert (read.lines, read.malformed) == (5, 4)  # type: ignore[attr-defined]
    assert auditor.finish().summary.records == 1


def test_records_of_another_topic_are_skipped_when_a_topic_is_named() -> None:
    lines = [kcat("a", 0, 0, "k", '{"v": 1}'), kcat("b", 0, 0, "k", '{"v": 0}')]
    auditor = Auditor(mapping_of(seq="v"))
    read = feed_file(io.BytesIO("\n".join(lines).encode()), auditor, topic="a")
    assert (read.other_topic, list(read.topics)) == (1, ["a", "b"])
    assert auditor.finish().clean


@given(
    st.lists(
        st.tuples(st.integers(0, 2), st.sampled_from(["a", "b", None]), st.integers(0, 5)),
        max_size=40,
    ),
    st.booleans(),
    st.randoms(use_true_random=False),
)
@settings(max_examples=200)
def test_a_file_gives_the_verdict_of_its_records(
    rows: list[tuple[int, str | None, int]], as_kcat: bool, rng: random.Random
) -> None:
    """However a file interleaves its partitions, the verdict is that of the partitions'
    records fed in offset order (an audit of the topic)."""
    per_partition: dict[int, list[Record]] = {}
    for p, key, v in rows:
        records = per_partition.setdefault(p, [])
        value = None if v == 0 else json.dumps({"v": v}).encode()
        records.append((len(records), None if key is None else key.encode(), value))
    direct = Auditor(mapping_of(seq="v", contiguous=True))
    for p, records in per_partition.items():
        direct.feed(p, records)
    # interleave the partitions at random, each keeping its own order
    queues = {p: list(records) for p, records in per_partition.items()}
    lines: list[str] = []
    while queues:
        p = rng.choice(sorted(queues))
        offset, key, value = queues[p].pop(0)
        if not queues[p]:
            del queues[p]
        k = None if key is None else key.decode()
        text = None if value is None else value.decode()
        if as_kcat:
            lines.append(kcat("t", p, offset, k, text))
        else:
            lines.append(json.dumps({"partition": p, "offset": offset, "key": k, "value": text}))
    from_file = Auditor(mapping_of(seq="v", contiguous=True))
    feed_file(io.BytesIO("\n".join(lines).encode()), from_file)
    assert from_file.finish() == direct.finish()
