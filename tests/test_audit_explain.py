"""``audit --explain``: the records kept for one entity (pure), and the broker setting that
lets the read-only test give a user only READ and DESCRIBE."""

from __future__ import annotations

import json
from pathlib import Path

from ridectl.audit.explain import EntityRecord, EntityTrace
from ridectl.audit.kinds import Unmapped
from ridectl.audit.mapping import mapping_of
from ridectl.broker.config import Layout, SecurityOptions, server_properties
from ridectl.clients.base import ConsumedRecord


def _rec(partition: int, offset: int, key: str | None, value: object, ts: int) -> ConsumedRecord:
    data = None if value is None else json.dumps(value).encode()
    return ConsumedRecord(partition, offset, None if key is None else key.encode(), data, ts)


def test_keyed_entity_keeps_its_records_and_unjudged_ones_in_log_order() -> None:
    trace = EntityTrace(mapping_of(seq="v"), "a")
    trace.see(1, [_rec(1, 7, "a", {"v": 9}, 30), _rec(1, 8, "b", {"v": 1}, 31)])
    trace.see(0, [_rec(0, 2, "a", {"v": 2}, 10), _rec(0, 3, "a", None, 11)])
    assert trace.records == [
        EntityRecord(0, 2, 10, "2"),
        EntityRecord(0, 3, 11, None, Unmapped.TOMBSTONE),
        EntityRecord(1, 7, 30, "9"),
    ]


def test_entity_by_path_with_stage_names() -> None:
    mapping = mapping_of(entity="id", stage="s", stages="new,paid")
    trace = EntityTrace(mapping, "7")
    trace.see(
        0,
        [
            _rec(0, 0, None, {"id": 7, "s": "paid"}, 1),
            _rec(0, 1, None, {"id": 8, "s": "new"}, 2),
            _rec(0, 2, None, {"s": "new"}, 3),  # no entity: not this one's
            _rec(0, 3, None, {"id": 7, "s": "new"}, 4),
        ],
    )
    assert [(r.offset, r.value) for r in trace.records] == [(0, "paid"), (3, "new")]


def test_acls_turn_the_authorizer_on_with_the_plaintext_user_as_super_user() -> None:
    def props(security: SecurityOptions) -> dict[str, str]:
        text = server_properties(Layout(1, 9092, security), 1, Path("/tmp/x"))
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)

    on = props(SecurityOptions(scram_users={"u": "p"}, acls=True))
    assert on["authorizer.class.name"].endswith("StandardAuthorizer")
    assert on["super.users"] == "User:ANONYMOUS"
    assert "authorizer.class.name" not in props(SecurityOptions(scram_users={"u": "p"}))
    assert SecurityOptions(acls=True).fingerprint() != SecurityOptions().fingerprint()
