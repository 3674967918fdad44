"""The audit's streaming judge (pure: records in, verdict out; no broker), held against a
small reference model of the rules of issue 23."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ridectl.audit.engine import Auditor, Record
from ridectl.audit.kinds import AuditKind, Unmapped
from ridectl.audit.mapping import mapping_of
from ridectl.audit.verdict import AuditVerdict
from ridectl.judge.kinds import DuplicateKind, OrderCause

OOO, DUP, GAP, SPLIT = AuditKind.OUT_OF_ORDER, AuditKind.DUPLICATE, AuditKind.GAP, AuditKind.SPLIT


def order(entity: str, version: int) -> bytes:
    return json.dumps({"order_id": entity, "version": version, "note": "x"}).encode()


def log(*versions: tuple[str, int]) -> list[Record]:
    """Records at offsets 0, 1, 2, ... of one partition."""
    return [(i, None, order(e, v)) for i, (e, v) in enumerate(versions)]


def audit(
    partitions: dict[int, list[Record]], *, contiguous: bool = False, limit: int = 10_000
) -> AuditVerdict:
    auditor = Auditor(
        mapping_of(entity="order_id", seq="version", contiguous=contiguous), limit=limit
    )
    for p, records in partitions.items():
        auditor.feed(p, records)
    return auditor.finish()


def test_a_clean_topic() -> None:
    verdict = audit({0: log(("a", 1), ("b", 1), ("a", 2)), 1: log(("c", 5), ("c", 9))})
    assert verdict.clean
    assert verdict.violations == []
    s = verdict.summary
    assert (s.records, s.entities, s.violating_entities, s.split_entities) == (5, 3, 0, 0)
    assert s.records_per_partition == {0: 3, 1: 2}
    assert s.unmapped == 0
    assert not verdict.judged_nothing


def test_swapped_versions_are_out_of_order_in_the_log() -> None:
    verdict = audit({3: log(("a", 1), ("a", 3), ("a", 2))})
    (v,) = verdict.violations
    assert (v.entity, v.kind, v.cause, v.values) == ("a", OOO, OrderCause.LOG, (3, 2))
    assert v.evidence == ((3, 1), (3, 2))
    assert v.where == "p3@1 p3@2"
    assert verdict.summary.by_cause[OrderCause.LOG] == 1
    assert verdict.summary.by_kind == {OOO: 1, DUP: 0, GAP: 0, SPLIT: 0}


def test_a_repeated_version_is_a_duplicate_with_both_offsets() -> None:
    verdict = audit({0: log(("a", 1), ("a", 2), ("b", 1), ("a", 2))})
    (v,) = verdict.violations
    assert (v.kind, v.values, v.evidence) == (DUP, (2,), ((0, 1), (0, 3)))
    assert v.duplicate_kind is DuplicateKind.PRODUCER
    assert v.cause is None


def test_gaps_are_judged_at_the_end_so_a_late_value_is_order_not_a_gap() -> None:
    verdict = audit({0: log(("a", 1), ("a", 3), ("a", 2), ("a", 6))}, contiguous=True)
    assert [(v.kind, v.values, v.evidence) for v in verdict.violations] == [
        (OOO, (3, 2), ((0, 1), (0, 2))),
        (GAP, (4, 5), ((0, 1), (0, 3))),
    ]
    assert audit({0: log(("a", 1), ("a", 3), ("a", 6))}).clean  # (not contiguous: no gaps)


def test_a_gap_filled_from_another_partition_is_no_gap() -> None:
    verdict = audit({0: log(("a", 1), ("a", 3)), 1: log(("a", 2))}, contiguous=True)
    assert [v.kind for v in verdict.violations] == [SPLIT]


def test_an_entity_on_two_partitions_is_split_by_keying() -> None:
    # the audit reads p0 then p1; a consumer may read them the other way round, so no
    # order is judged across them, only the split
    verdict = audit({0: log(("x", 5), ("a", 1)), 2: log(("a", 2), ("x", 1))})
    assert [(v.entity, v.kind, v.cause, v.evidence) for v in verdict.violations] == [
        ("a", SPLIT, OrderCause.KEYING, ((0, 1), (2, 0))),
        ("x", SPLIT, OrderCause.KEYING, ((0, 0), (2, 1))),
    ]
    assert verdict.violations[0].partitions == (0, 2)
    assert verdict.summary.split_entities == 2
    assert verdict.summary.by_cause[OrderCause.KEYING] == 2


def test_unmapped_records_are_counted_by_reason_and_never_stop_the_audit() -> None:
    records: list[Record] = [
        (0, b"k", None),
        (1, b"k", b"not json"),
        (2, b"k", b'{"version": 1}'),
        (3, b"k", b'{"order_id": "a"}'),
        (4, b"k", b'{"order_id": "a", "version": "7"}'),
        (5, b"k", b'{"order_id": "a", "version": 2.5}'),
        (6, b"k", order("a", 1)),
    ]
    verdict = audit({0: records})
    by = verdict.summary.unmapped_by_reason
    assert by[Unmapped.TOMBSTONE] == by[Unmapped.NOT_JSON] == 1
    assert by[Unmapped.ENTITY_MISSING] == by[Unmapped.ORDER_MISSING] == 1
    assert by[Unmapped.NOT_A_NUMBER] == 1
    assert verdict.summary.unmapped == 5
    # 2.5 is a number (an order may be a time): it was judged, and 1 came after it
    assert [(v.kind, v.values) for v in verdict.violations] == [(OOO, (2.5, 1))]
    contiguous = audit({0: records}, contiguous=True)
    assert contiguous.summary.unmapped_by_reason[Unmapped.NOT_AN_INTEGER] == 1


def test_a_mapping_that_matches_nothing_keeps_the_fields_it_saw() -> None:
    auditor = Auditor(mapping_of(entity="id", seq="version"))
    auditor.feed(0, [(i, None, json.dumps({"orderId": "a", "ver": i}).encode()) for i in range(3)])
    verdict = auditor.finish()
    assert verdict.judged_nothing
    assert verdict.fields_seen == ("orderId", "ver")
    assert verdict.summary.unmapped_by_reason[Unmapped.ENTITY_MISSING] == 3


def test_stages_follow_their_declared_order() -> None:
    mapping = mapping_of(entity="key", stage="state", stages="created,packed,shipped")
    auditor = Auditor(mapping)
    states = ["created", "shipped", "packed", "lost", "shipped"]
    auditor.feed(1, [(i, b"s1", json.dumps({"state": s}).encode()) for i, s in enumerate(states)])
    auditor.feed(1, [(9, None, b'{"state": "created"}')])
    verdict = auditor.finish()
    assert [(v.entity, v.kind, v.values) for v in verdict.violations] == [
        ("s1", OOO, (2, 1)),
        ("s1", DUP, (2,)),
    ]
    assert [mapping.label(x) for x in verdict.violations[0].values] == ["shipped", "packed"]
    by = verdict.summary.unmapped_by_reason
    assert (by[Unmapped.UNKNOWN_STAGE], by[Unmapped.NO_KEY]) == (1, 1)


def test_violations_are_stored_for_the_first_entities_and_counted_beyond() -> None:
    records = log(*[(f"e{k}", v) for k in range(5) for v in (2, 1)])
    full = audit({0: records})
    limited = audit({0: records}, limit=2)
    assert limited.summary.by_kind == full.summary.by_kind
    assert limited.summary.violating_entities == 5
    assert limited.summary.unstored_entities == 3
    assert [v.entity for v in limited.violations] == ["e0", "e1"]
    assert len(audit({0: records}, limit=0).violations) == 0


def test_a_finished_audit_takes_no_more_records() -> None:
    auditor = Auditor(mapping_of(seq="v"))
    auditor.feed(0, [(0, b"a", b'{"v": 1}')])
    first = auditor.finish()
    assert auditor.finish() is first
    with pytest.raises(RuntimeError, match="finished"):
        auditor.feed(0, [(1, b"a", b'{"v": 2}')])
    with pytest.raises(ValueError, match="limit"):
        Auditor(mapping_of(seq="v"), limit=-1)


# --- the rules against a reference model ----------------------------------------------------

Row = tuple[str, str, tuple[float, ...], tuple[tuple[int, int], ...], str]


def reference(partitions: dict[int, list[tuple[int, str, int]]], contiguous: bool) -> list[Row]:
    """The rules as the issue states them, over whole lists: per entity and partition, a
    lower value after a higher one is out of order (cause log), the highest value again a
    duplicate; an entity on several partitions is split; with contiguous, each run of values
    between an entity's lowest and highest that never came is a gap."""
    rows: list[Row] = []
    streams: dict[tuple[str, int], list[tuple[int, int]]] = {}
    for p, records in partitions.items():
        for offset, entity, value in records:
            streams.setdefault((entity, p), []).append((value, offset))
    entities = sorted({e for e, _ in streams})
    for entity in entities:
        mine = sorted(p for e, p in streams if e == entity)
        for p in mine:
            stream = streams[entity, p]
            for i, (value, offset) in enumerate(stream):
                before = stream[:i]
                if not before or value > max(v for v, _ in before):
                    continue
                top = max(v for v, _ in before)
                top_offset = next(o for v, o in before if v == top)
                kind = "duplicate" if value == top else "out_of_order"
                values = (value,) if value == top else (top, value)
                cause = "" if value == top else "log"
                rows.append((entity, kind, values, ((p, top_offset), (p, offset)), cause))
        if len(mine) > 1:
            firsts = tuple((p, streams[entity, p][0][1]) for p in mine)
            rows.append((entity, "split", (), firsts, "keying"))
        if contiguous:
            seen = {v for p in mine for v, _ in streams[entity, p]}
            run: list[int] = []
            for v in range(min(seen), max(seen) + 2):
                if v not in seen and v <= max(seen):
                    run.append(v)
                elif run:
                    rows.append((entity, "gap", (run[0], run[-1]), (), ""))
                    run = []
    rank = {k.value: i for i, k in enumerate(AuditKind)}
    flat = [(r, r[2] if r[1] == "gap" else tuple(n for place in r[3] for n in place)) for r in rows]
    return [r for r, _ in sorted(flat, key=lambda x: (x[0][0], rank[x[0][1]], x[1]))]


def rows_of(verdict: AuditVerdict) -> list[Row]:
    return [
        (
            v.entity,
            v.kind.value,
            v.values,
            () if v.kind is GAP else v.evidence,
            "" if v.cause is None else v.cause.value,
        )
        for v in verdict.violations
    ]


_LOGS = st.dictionaries(
    st.integers(0, 3),
    st.lists(st.tuples(st.sampled_from("abcd"), st.integers(0, 8)), max_size=25),
    max_size=4,
)


@given(_LOGS, st.booleans(), st.randoms(use_true_random=False))
@settings(max_examples=300)
def test_matches_the_reference(
    logs: dict[int, list[tuple[str, int]]], contiguous: bool, rng: random.Random
) -> None:
    partitions = {
        p: [(10 + i, e, v) for i, (e, v) in enumerate(records)] for p, records in logs.items()
    }
    expected = reference(partitions, contiguous)
    mapping = mapping_of(entity="order_id", seq="version", contiguous=contiguous)
    # fed as a reader would: each partition in offset order, in batches, the partitions
    # taking turns in any order (the verdict cannot depend on it)
    queues: dict[int, list[list[Record]]] = {}
    for p, records in partitions.items():
        recs: list[Record] = [(o, None, order(e, v)) for o, e, v in records]
        cuts = sorted(rng.sample(range(len(recs) + 1), min(3, len(recs) + 1)))
        queues[p] = [recs[a:b] for a, b in zip([0, *cuts], [*cuts, len(recs)], strict=True)]
    auditor = Auditor(mapping)
    while queues:
        p = rng.choice(sorted(queues))
        auditor.feed(p, queues[p].pop(0))
        if not queues[p]:
            del queues[p]
    verdict = auditor.finish()
    assert rows_of(verdict) == expected
    s = verdict.summary
    assert s.records == sum(map(len, partitions.values()))
    assert s.entities == len({e for r in partitions.values() for _, e, _ in r})
    assert s.violating_entities == len({r[0] for r in expected})
    assert s.by_kind == {k: sum(1 for r in expected if r[1] == k.value) for k in AuditKind}
    assert s.records_per_partition == {p: len(r) for p, r in sorted(partitions.items()) if r} | {
        p: 0 for p, r in partitions.items() if not r
    }


@given(_LOGS, st.integers(0, 4))
@settings(max_examples=150)
def test_the_limit_changes_what_is_stored_never_what_is_counted(
    logs: dict[int, list[tuple[str, int]]], limit: int
) -> None:
    partitions = {p: log(*records) for p, records in logs.items()}
    full, limited = (
        audit(partitions, contiguous=True),
        audit(partitions, contiguous=True, limit=limit),
    )
    assert limited.summary.by_kind == full.summary.by_kind
    assert limited.summary.violating_entities == full.summary.violating_entities
    stored = {v.entity for v in limited.violations}
    assert len(stored) == min(limit, full.summary.violating_entities)
    assert limited.summary.unstored_entities == full.summary.violating_entities - len(stored)
    assert limited.violations == [v for v in full.violations if v.entity in stored]
