"""Reading a record with an audit mapping: the mapping's words, the fast struct decode and
its exact fallback, and every unmapped reason (pure)."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ridectl.audit.decode import RecordDecoder
from ridectl.audit.kinds import Unmapped
from ridectl.audit.mapping import AuditMapping, FieldPath, MappingError, SeqOrder, mapping_of


def test_mapping_words() -> None:
    m = mapping_of(entity="payload.after.id", seq="payload.source.lsn", contiguous=True)
    assert m.entity == FieldPath(("payload", "after", "id"))
    assert m.order == SeqOrder(FieldPath(("payload", "source", "lsn")), contiguous=True)
    assert m.describe() == "--entity payload.after.id --seq payload.source.lsn --contiguous"
    s = mapping_of(stage="state", stages=" created, paid ,shipped")
    assert s.entity is None
    assert s.describe() == "--entity key --stage state --stages created,paid,shipped"
    assert s.label(2) == "shipped"
    assert m.label(7) == "7"


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ({}, "either --seq PATH or --stage"),
        ({"seq": "v", "stage": "s", "stages": "a"}, "either --seq PATH or --stage"),
        ({"stage": "s"}, "--stage needs --stages"),
        ({"seq": "v", "stages": "a,b"}, "--stages goes with --stage"),
        ({"stage": "s", "stages": "a,,b"}, "empty stage name"),
        ({"stage": "s", "stages": "a,b,a"}, "a declared more than once"),
        ({"seq": "a..b"}, "--seq: 'a..b' is not a dotted path"),
        ({"seq": ""}, "--seq: '' is not a dotted path"),
        ({"seq": "v", "entity": "payload."}, "--entity: 'payload.' is not a dotted path"),
        ({"seq": "a.b", "entity": "a"}, "overlap"),
        ({"seq": "id", "entity": "id"}, "overlap"),
    ],
)
def test_bad_mappings_say_why_in_one_line(words: dict[str, str], message: str) -> None:
    with pytest.raises(MappingError, match=message) as raised:
        mapping_of(**words)  # type: ignore[arg-type]
    assert "\n" not in str(raised.value)


def test_a_debezium_envelope() -> None:
    decode = RecordDecoder(mapping_of(entity="payload.after.id", seq="payload.source.lsn"))
    change = {
        "schema": {"type": "struct"},
        "payload": {"before": None, "after": {"id": 42, "name": "x"}, "source": {"lsn": 9001}},
    }
    assert decode(None, json.dumps(change).encode()) == ("42", 9001)
    delete = {"payload": {"before": {"id": 42}, "after": None, "source": {"lsn": 9002}}}
    assert decode(None, json.dumps(delete).encode()) is Unmapped.ENTITY_MISSING


def test_every_unmapped_reason() -> None:
    seq = RecordDecoder(mapping_of(entity="id", seq="v", contiguous=True))
    assert seq(b"k", None) is Unmapped.TOMBSTONE
    assert seq(b"k", b"") is Unmapped.NOT_JSON
    assert seq(b"k", b"\xff{") is Unmapped.NOT_JSON
    assert seq(b"k", b'{"id": "a", "v": 1') is Unmapped.NOT_JSON
    assert seq(b"k", b'{"v": 1}') is Unmapped.ENTITY_MISSING
    assert seq(b"k", b'{"id": null, "v": 1}') is Unmapped.ENTITY_MISSING
    assert seq(b"k", b"[1, 2]") is Unmapped.ENTITY_MISSING
    assert seq(b"k", b'{"id": "a"}') is Unmapped.ORDER_MISSING
    assert seq(b"k", b'{"id": "a", "v": null}') is Unmapped.ORDER_MISSING
    assert seq(b"k", b'{"id": "a", "v": "3"}') is Unmapped.NOT_A_NUMBER
    assert seq(b"k", b'{"id": "a", "v": true}') is Unmapped.NOT_A_NUMBER
    assert seq(b"k", b'{"id": "a", "v": 3.0}') is Unmapped.NOT_AN_INTEGER
    assert seq(b"k", b'{"id": "a", "v": 3}') == ("a", 3)
    keyed = RecordDecoder(mapping_of(stage="s", stages="new,done"))
    assert keyed(None, b'{"s": "new"}') is Unmapped.NO_KEY
    assert keyed(b"k", b'{"s": "gone"}') is Unmapped.UNKNOWN_STAGE
    assert keyed(b"k", b'{"s": "done"}') == ("k", 1)


def test_entities_that_are_not_strings() -> None:
    decode = RecordDecoder(mapping_of(entity="id", seq="v"))
    assert decode(None, b'{"id": 7, "v": 1}') == ("7", 1)
    assert decode(None, b'{"id": {"a": 1}, "v": 1}') == ('{"a":1}', 1)
    assert decode(None, b'{"id": true, "v": 1}') == ("true", 1)
    assert decode(None, b'{"id": "7", "v": 1.5}') == ("7", 1.5)
    by_key = RecordDecoder(mapping_of(seq="v"))
    assert by_key(b"\xffk", b'{"v": 1}') == ("\\xffk", 1)
    stages = RecordDecoder(mapping_of(stage="s", stages="1,2"))
    assert stages(b"k", b'{"s": 2}') == ("k", 1)


def test_fields_seen_answer_a_mapping_that_matched_nothing() -> None:
    decode = RecordDecoder(mapping_of(entity="id", seq="version"))
    for i in range(30):
        decode(None, json.dumps({"orderId": i, "ver": i, f"extra{i}": 0}).encode())
    assert list(decode.fields_seen)[:3] == ["orderId", "ver", "extra0"]
    assert len(decode.fields_seen) == 2 + 20  # (the first twenty values are sampled)


# --- the fast struct decode against a plain walk of the JSON ---------------------------------

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["a", "b", "new", "done", "7"]),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["id", "v", "p", "q"]), inner, max_size=4),
    ),
    max_leaves=12,
)


def plain(mapping: AuditMapping, key: bytes | None, doc: object) -> object:
    """The reading rules, walked over ``json.loads``'s result."""

    def walk(path: FieldPath) -> object:
        node = doc
        for name in path.names:
            if not isinstance(node, dict) or name not in node:
                return None
            node = node[name]
        return node

    def text(value: object) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    if mapping.entity is None:
        if key is None:
            return Unmapped.NO_KEY
        entity: str | None = key.decode()
    else:
        entity = text(walk(mapping.entity))
        if entity is None:
            return Unmapped.ENTITY_MISSING
    order = walk(mapping.order.path)
    if order is None:
        return Unmapped.ORDER_MISSING
    stages = getattr(mapping.order, "stages", None)
    if stages is not None:
        name = text(order)
        return (entity, stages.index(name)) if name in stages else Unmapped.UNKNOWN_STAGE
    if isinstance(order, bool) or not isinstance(order, int | float):
        return Unmapped.NOT_A_NUMBER
    if mapping.order.contiguous and not isinstance(order, int):
        return Unmapped.NOT_AN_INTEGER
    return entity, order


_MAPPINGS = [
    mapping_of(entity="id", seq="v"),
    mapping_of(entity="p.id", seq="q.v", contiguous=True),
    mapping_of(seq="p.v"),
    mapping_of(entity="p.q.id", stage="v", stages="new,done,7"),
    mapping_of(stage="p.v", stages="a,b", contiguous=True),
]


@given(_JSON, st.sampled_from(range(len(_MAPPINGS))), st.sampled_from([None, b"k1"]))
@example({"id": 1e16, "v": 0}, 0, None)  # a float entity: one text for it, whichever path
@example({"id": {"a": 2.5e-7, "b": True}, "v": 1}, 0, None)
@settings(max_examples=600)
def test_fast_decode_matches_a_plain_walk(doc: object, which: int, key: bytes | None) -> None:
    mapping = _MAPPINGS[which]
    assert RecordDecoder(mapping)(key, json.dumps(doc).encode()) == plain(mapping, key, doc)
