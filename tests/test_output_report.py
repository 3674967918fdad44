"""Rendering of a checker report: the table (readable without colour), JSON, NDJSON, CSV."""

from __future__ import annotations

import csv
import io
import json

from rich.console import Console

from ridectl.judge.checker import Report, check
from ridectl.judge.history import Ack, History, Observation
from ridectl.output.report import (
    CSV_HEADER,
    render_csv,
    render_json,
    render_ndjson,
    render_table,
)


def renumber(observations: list[Observation]) -> list[Observation]:
    return [
        Observation(i, o.ride_id, o.seq, o.partition, o.offset, o.run_id)
        for i, o in enumerate(observations)
    ]


def ride(ride_id: str, seqs: list[int], partition: int = 0, base: int = 0) -> list[Observation]:
    return [Observation(0, ride_id, s, partition, base + s) for s in seqs]


def sample() -> Report:
    obs = renumber(
        ride("r-order", [1, 2, 4, 3, 5], partition=2, base=38)
        + ride("r-dup", [1, 2, 2, 3, 4, 5], partition=1)
        + [
            Observation(0, "r-split", 1, 0, 100),
            Observation(0, "r-split", 3, 3, 7),
            Observation(0, "r-split", 2, 0, 101),
        ]
        + ride("r-clean", [1, 2, 3, 4, 5], partition=4)
    )
    acked = [Ack("r-split", 4, 0, 102)]
    return check(History(obs, foreign=4, malformed=2, acked=acked))


def render(report: Report, **kwargs: object) -> str:
    console = Console(record=True, width=160, no_color=True, file=io.StringIO())
    render_table(report, console, **kwargs)  # type: ignore[arg-type]
    return console.export_text()


def test_table_rows_marks_and_summary() -> None:
    report = sample()
    text = render(report, title="check results")
    assert "check results" in text
    for ride_id in ("r-order", "r-dup", "r-split"):
        assert ride_id in text
    assert "r-clean" not in text
    # overtaking events marked without colour, evidence partition@offset of both events
    assert "1 2 4! 3 5" in text
    assert "p2@42 ▸ p2@41" in text
    assert "the trip ended before it had started" in text
    # duplicates, missing and lost marked; the split ride flagged
    assert "1 2 2+ 3 4 5" in text
    assert "dup:redelivery" in text
    assert "1 3! 2 ✗4 ·5" not in text  # lost comes after missing in the cell
    assert "1 3! 2 ·5 ✗4" in text
    assert "p0,p3*" in text
    assert "acked p0@102" in text
    # legend explains the marks
    assert "N! overtook an earlier stage" in text
    assert "* ride split across partitions" in text
    # summary panel
    assert "rides checked      4 (19 events)" in text
    assert "rides violated     3 (75.00%)" in text
    assert "out_of_order=2  duplicate=1  missing=1  lost=1" in text
    assert "rides split        1" in text
    assert "p0=2 p1=6 p2=5 p3=1 p4=5" in text
    assert "foreign skipped    4" in text
    assert "malformed lines    2" in text
    assert "more violating rides" not in text


def test_table_limit_and_all() -> None:
    report = sample()
    limited = render(report, limit=1)
    assert "… and 2 more violating rides (use --all)" in limited
    assert "r-dup" in limited  # rides are sorted by id: r-dup first
    assert "r-order" not in limited
    everything = render(report, limit=None)
    assert "more violating rides" not in everything
    assert all(r in everything for r in ("r-dup", "r-order", "r-split"))


def test_clean_report_message() -> None:
    clean = check(History(renumber(ride("a", [1, 2, 3, 4, 5]) + ride("b", [1, 2, 3, 4, 5], 1))))
    text = render(clean)
    assert "No ordering violations: all 2 rides were processed in lifecycle order." in text
    assert "split" not in text.split("\n")[0]
    assert "ride" in text and "evidence" not in text  # no violation table


def test_clean_report_mentions_split_rides() -> None:
    obs = renumber(
        [
            Observation(0, "a", 1, 0, 0),
            Observation(0, "a", 2, 1, 0),
            Observation(0, "a", 3, 1, 1),
            Observation(0, "a", 4, 1, 2),
            Observation(0, "a", 5, 1, 3),
        ]
    )
    text = render(check(History(obs)))
    assert "the only ride was processed in lifecycle order" in text
    assert "1 ride was split across partitions but still arrived in order" in text


def test_empty_report_message() -> None:
    assert "No ride events to check." in render(check(History()))


def test_json_document() -> None:
    report = sample()
    doc = json.loads(render_json(report))
    assert list(doc) == ["summary", "violations"]
    assert list(doc["summary"]) == [
        "rides",
        "violating_rides",
        "violating_pct",
        "events",
        "by_kind",
        "by_cause",
        "rides_split",
        "records_per_partition",
        "foreign",
        "malformed",
    ]
    assert doc["summary"]["by_kind"] == {
        "out_of_order": 2,
        "duplicate": 1,
        "missing": 1,
        "lost": 1,
        "gap": 0,
        "skipped": 0,
        "aborted_read": 0,
    }
    assert doc["summary"]["by_cause"] == {"keying": 1, "log": 0, "processing": 1}
    assert doc["summary"]["records_per_partition"] == {"0": 2, "1": 6, "2": 5, "3": 1, "4": 5}
    assert doc["summary"]["violating_pct"] == 75.0
    assert len(doc["violations"]) == 5
    for v in doc["violations"]:
        assert list(v) == [
            "ride_id",
            "kind",
            "seq",
            "type",
            "other_seq",
            "detail",
            "consequence",
            "duplicate_kind",
            "cause",
            "evidence",
        ]
    first = doc["violations"][0]
    assert first["ride_id"] == "r-dup"
    assert first["duplicate_kind"] == "redelivery"
    assert first["evidence"] == [{"partition": 1, "offset": 2}, {"partition": 1, "offset": 2}]


def test_ndjson_one_violation_per_line() -> None:
    report = sample()
    text = render_ndjson(report)
    lines = text.splitlines()
    assert len(lines) == len(report.violations) == 5
    assert text.endswith("\n")
    assert [json.loads(line) for line in lines] == report.to_dict()["violations"]
    assert render_ndjson(check(History())) == ""


def test_csv_rows() -> None:
    report = sample()
    rows = list(csv.reader(io.StringIO(render_csv(report))))
    assert tuple(rows[0]) == CSV_HEADER
    assert rows[0] == [
        "ride_id",
        "kind",
        "seq",
        "type",
        "other_seq",
        "duplicate_kind",
        "cause",
        "partitions",
        "evidence",
        "detail",
        "consequence",
    ]
    assert len(rows) == 1 + len(report.violations)
    order_row = next(r for r in rows if r[0] == "r-order")
    assert order_row == [
        "r-order",
        "out_of_order",
        "3",
        "RideInProgress",
        "4",
        "",
        "processing",
        "2",
        "2:42;2:41",
        "RideCompleted(4) before RideInProgress(3)",
        "the trip ended before it had started",
    ]
    split_rows = [r for r in rows if r[0] == "r-split"]
    assert {r[7] for r in split_rows} == {"0;3"}
    assert [r[1] for r in split_rows] == ["out_of_order", "lost", "missing"]
    assert split_rows[0][6] == "keying"
    lost = split_rows[1]
    assert (lost[2], lost[6], lost[8]) == ("4", "", "0:102")
    assert render_csv(check(History())) == ",".join(CSV_HEADER) + "\n"


def test_causes_and_consumer_side_kinds_in_the_table() -> None:
    gap = ride("r-gap", [1, 4, 5])
    skipped = ride("r-skip", [1, 2, 3], partition=1, base=10)
    aborted = ride("r-abort", [1, 2, 3, 4, 5], partition=3, base=50)
    acked = [Ack("r-skip", 4, 1, 14), Ack("r-skip", 5, 1, 15)]
    report = check(
        History(
            renumber(gap + skipped + aborted),
            acked=acked,
            committed={1: 15},
            aborted=frozenset({(3, 52)}),
        )
    )
    text = render(report)
    assert "1 _2 _3 4 5" not in text  # holes come after the processed events
    assert "1 4 5 _2 _3" in text
    assert "1 2 3 ✗5 »4" in text  # grouped by kind, as missing before lost
    assert "1 2~ 3 4 5" in text
    assert "aborted_read" in text and "skipped" in text and "gap" in text
    assert "»N committed past, never processed" in text
    assert "out of order by" not in text
    order = render(sample())
    assert "out of order by    keying=1  processing=1" in order
    assert "processing" in order.split("r-order", 1)[1].split("\n", 1)[0]
