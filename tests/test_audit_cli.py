"""``ridectl audit`` without a broker: on exported files (``--from``), its flags, its mapping
file, ``--since`` and every output format (pure; the topic side is tests/test_audit_e2e.py)."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliResult

from ridectl.audit.settings import MappingWords, parse_since, read_mapping_file
from ridectl.errors import UsageError

Cli = Callable[..., CliResult]

#: orders: o1 swapped (3 then 2) on p0, o2 repeated on p0 and split onto p1, o4 missing 2..3,
#: a tombstone and a value that is not JSON on p1.
ORDERS = [
    (0, 0, "o1", {"order_id": "o1", "version": 1}),
    (0, 1, "o1", {"order_id": "o1", "version": 3}),
    (0, 2, "o1", {"order_id": "o1", "version": 2}),
    (0, 3, "o2", {"order_id": "o2", "version": 1}),
    (0, 4, "o2", {"order_id": "o2", "version": 1}),
    (1, 0, "o3", None),
    (1, 1, "o3", "not json"),
    (1, 2, "o2", {"order_id": "o2", "version": 2}),
    (1, 3, "o4", {"order_id": "o4", "version": 1}),
    (1, 4, "o4", {"order_id": "o4", "version": 4}),
    (1, 5, "o5", {"order_id": "o5", "status": "new"}),
]


@pytest.fixture
def orders(tmp_path: Path) -> Path:
    path = tmp_path / "orders.jsonl"
    path.write_text(
        "".join(
            json.dumps({"partition": p, "offset": o, "key": k, "value": v}) + "\n"
            for p, o, k, v in ORDERS
        )
    )
    return path


def _one_line(r: CliResult, code: int, *words: str) -> None:
    assert r.code == code, r
    assert r.out == ""
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), r.err
    for word in words:
        assert word in lines[0], (word, lines[0])


def test_json_names_each_violating_entity_by_kind(cli: Cli, orders: Path) -> None:
    r = cli("audit", "--from", str(orders), "--seq", "version", "--contiguous", "-f", "json")
    assert r.code == 0, r
    doc = json.loads(r.out)
    summary = doc["summary"]
    assert summary["records"] == len(ORDERS)
    assert summary["entities"] == 3  # (o3 and o5 have no record judged)
    assert summary["violating_entities"] == 3
    assert summary["unmapped"] == 3
    assert {k: n for k, n in summary["unmapped_by_reason"].items() if n} == {
        "tombstone": 1,
        "not_json": 1,
        "order_missing": 1,
    }
    kinds = {(v["entity"], v["kind"]) for v in doc["violations"]}
    assert kinds == {("o1", "out_of_order"), ("o2", "duplicate"), ("o2", "split"), ("o4", "gap")}
    late = next(v for v in doc["violations"] if v["kind"] == "out_of_order")
    assert late["cause"] == "log"
    assert late["values"] == ["3", "2"]
    assert late["evidence"] == [{"partition": 0, "offset": 1}, {"partition": 0, "offset": 2}]
    assert summary["by_kind"] == {"out_of_order": 1, "duplicate": 1, "gap": 1, "split": 1}


def test_exit_codes(cli: Cli, orders: Path, tmp_path: Path) -> None:
    assert cli("audit", "--from", str(orders), "--seq", "version", "--exit-code").code == 1
    clean = tmp_path / "clean.jsonl"
    clean.write_text(
        json.dumps({"partition": 0, "offset": 0, "key": "a", "value": {"v": 1}}) + "\n"
    )
    r = cli("audit", "--from", str(clean), "--seq", "v", "--exit-code")
    assert r.code == 0, r
    assert "no violation" in r.out


def test_a_mapping_that_matches_nothing_names_the_fields_there(cli: Cli, orders: Path) -> None:
    r = cli("audit", "--from", str(orders), "--seq", "versoin", "--exit-code")
    _one_line(r, 2, "versoin", "order_id", "version", "did you mean")
    r = cli("audit", "--from", str(orders), "--entity", "id", "--seq", "version")
    _one_line(r, 2, "no record has id and version", "order_id")


def test_an_empty_file_audits_nothing(cli: Cli, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    _one_line(cli("audit", "--from", str(empty), "--seq", "v"), 2, "holds no records")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--seq", "v", "--stage", "s", "--stages", "a,b"], ["not both"]),
        (["--stage", "s", "--stages", "a,b", "--contiguous"], ["--contiguous"]),
        (["--seq", "v", "--stages", "a,b"], ["--stages goes with --stage"]),
        (["--stages", "a,b"], ["--stages goes with --stage"]),
        (["--stage", "s"], ["--stage needs --stages"]),
        ([], ["--seq PATH"]),
        (["--seq", "a..b"], ["not a dotted path"]),
        (["--seq", "v", "--entity", "v.x"], ["overlap"]),
        (["--seq", "v", "--idle-timeout", "3"], ["--idle-timeout goes with --follow"]),
        (["--seq", "v", "--follow"], ["not with --from"]),
        (["--seq", "v", "--limit", "0"], ["--limit"]),
        (["--seq", "v", "-t", "x"], ["either --topic"]),
        (["--seq", "v", "-f", "yaml"], ["--format"]),
    ],
)
def test_bad_flags_are_one_line(cli: Cli, orders: Path, args: list[str], words: list[str]) -> None:
    _one_line(cli("audit", "--from", str(orders), *args), 2, *words)


def test_from_must_be_a_regular_file(cli: Cli, tmp_path: Path) -> None:
    _one_line(cli("audit", "--from", str(tmp_path), "--seq", "v"), 2, "not a regular file")
    gone = tmp_path / "gone.jsonl"
    _one_line(cli("audit", "--from", str(gone), "--seq", "v"), 2, "not found")


def test_junit_has_a_failing_case_per_violating_entity(cli: Cli, orders: Path) -> None:
    r = cli("audit", "--from", str(orders), "--seq", "version", "-f", "junit", "--exit-code")
    assert r.code == 1, r
    suite = ET.fromstring(r.out).find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    failing = {c.get("name"): c.find("failure") for c in cases if c.find("failure") is not None}
    assert set(failing) == {"entity o1", "entity o2"}
    o2 = failing["entity o2"]
    assert o2 is not None and o2.get("message") == "duplicate, split"
    passing = [c.get("name") for c in cases if c.find("failure") is None]
    assert passing == ["partition 0 (5 records)", "partition 1 (6 records)"]
    assert suite.get("tests") == "4" and suite.get("failures") == "2"


def test_csv_and_ndjson_carry_the_same_violations(cli: Cli, orders: Path) -> None:
    args = ("audit", "--from", str(orders), "--seq", "version")
    rows = list(csv.DictReader(io.StringIO(cli(*args, "-f", "csv").out)))
    assert [(r["entity"], r["kind"], r["evidence"]) for r in rows] == [
        ("o1", "out_of_order", "p0@1 p0@2"),
        ("o2", "duplicate", "p0@3 p0@4"),
        ("o2", "split", "p0@3 p1@2"),
    ]
    lines = [json.loads(line) for line in cli(*args, "-f", "ndjson").out.splitlines()]
    assert [line["type"] for line in lines] == ["violation"] * 3 + ["summary"]
    assert lines[-1]["violating_entities"] == 2


def test_the_table_names_entities_and_the_summary(cli: Cli, orders: Path) -> None:
    r = cli("audit", "--from", str(orders), "--seq", "version", "--contiguous")
    assert r.code == 0, r
    for word in (
        "o1",
        "o4",
        "out_of_order",
        "p0@1 p0@2",
        "unmapped: tombstone 1, not_json 1",
        "records per partition: p0 5, p1 6",
        "split entities: 1",
    ):
        assert word in r.out, word


def test_limit_stores_the_first_violating_entities_and_counts_the_rest(
    cli: Cli, orders: Path
) -> None:
    r = cli("audit", "--from", str(orders), "--seq", "version", "-f", "json", "--limit", "1")
    doc = json.loads(r.out)
    assert {v["entity"] for v in doc["violations"]} == {"o1"}
    assert doc["summary"]["violating_entities"] == 2
    assert doc["summary"]["unstored_entities"] == 1


def test_stages_by_name(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "ships.jsonl"
    states = ["created", "shipped", "packed", "lost", "delivered"]
    path.write_text(
        "".join(
            json.dumps({"partition": 0, "offset": i, "key": "s1", "value": {"status": s}}) + "\n"
            for i, s in enumerate(states)
        )
    )
    r = cli(
        "audit",
        "--from",
        str(path),
        "--stage",
        "status",
        "--stages",
        "created,packed,shipped,delivered",
        "-f",
        "json",
    )
    doc = json.loads(r.out)
    assert [(v["kind"], v["values"]) for v in doc["violations"]] == [
        ("out_of_order", ["shipped", "packed"])
    ]
    assert doc["summary"]["unmapped_by_reason"]["unknown_stage"] == 1


def test_a_mapping_file_and_flags_over_it(cli: Cli, orders: Path, tmp_path: Path) -> None:
    conf = tmp_path / "audit.toml"
    conf.write_text('entity = "order_id"\nseq = "version"\ncontiguous = true\n')
    r = cli("audit", "--from", str(orders), "--mapping", str(conf), "-f", "json")
    doc = json.loads(r.out)
    assert doc["summary"]["mapping"] == "--entity order_id --seq version --contiguous"
    assert doc["summary"]["by_kind"]["gap"] == 1
    r = cli("audit", "--from", str(orders), "--mapping", str(conf), "--seq", "amount")
    _one_line(r, 2, "amount")


def test_mapping_file_words(tmp_path: Path) -> None:
    conf = tmp_path / "m.toml"
    conf.write_text('topic = "ships"\nstage = "status"\nstages = ["a", "b"]\n')
    words = read_mapping_file(conf)
    assert words == MappingWords(topic="ships", stage="status", stages=("a", "b"))
    over = MappingWords(seq="version").over(words)
    assert (over.topic, over.seq, over.stage, over.stages) == ("ships", "version", None, None)
    conf.write_text("stage = 3\n")
    with pytest.raises(UsageError, match="stage must be text"):
        read_mapping_file(conf)
    conf.write_text("sequence = 'v'\n")
    with pytest.raises(UsageError, match="unknown key sequence"):
        read_mapping_file(conf)
    conf.write_text("seq = \n")
    with pytest.raises(UsageError, match="not TOML"):
        read_mapping_file(conf)


def test_since_takes_a_duration_or_a_time() -> None:
    now = 1_765_000_000_000
    assert parse_since("90s", now) == now - 90_000
    assert parse_since("15m", now) == now - 900_000
    assert parse_since("1.5h", now) == now - 5_400_000
    assert parse_since("2026-12-08T03:00:00Z", now) == 1_796_698_800_000
    assert parse_since("2026-12-08T03:00:00", now) == 1_796_698_800_000
    with pytest.raises(UsageError, match="neither a duration"):
        parse_since("yesterday", now)
