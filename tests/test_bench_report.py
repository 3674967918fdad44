"""The bench's report from typed results (pure: no measuring, no broker).

The fixtures are results files with RESULTS.md as the report rendered them before the results
had types (tests/data/bench); bench/RESULTS.md is the report of bench/results.json as committed.
Reading a file into the types and writing it back gives the same bytes, so the typed results
keep the shape of results.json key for key."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ridectl.bench.codec import ResultsFormatError
from ridectl.bench.report import read_results, render_markdown, results_json, write_results
from ridectl.bench.results import (
    ClientUnavailable,
    ColdStartUnavailable,
    JavaStrategyRow,
    LessonsUnavailable,
    ProducerResult,
    RunFailed,
    SectionFailed,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "bench"
CASES = [
    (ROOT / "bench" / "results.json", ROOT / "bench" / "RESULTS.md"),
    (DATA / "partial.json", DATA / "partial.md"),
    (DATA / "failed.json", DATA / "failed.md"),
]


@pytest.mark.parametrize(("results", "report"), CASES, ids=lambda p: p.name)
def test_the_report_of_a_results_file_is_unchanged(results: Path, report: Path) -> None:
    typed = read_results(results.read_text(encoding="utf-8"))
    assert render_markdown(typed) == report.read_text(encoding="utf-8")


@pytest.mark.parametrize(("results", "_report"), CASES, ids=lambda p: p.name)
def test_results_json_is_written_back_byte_for_byte(results: Path, _report: Path) -> None:
    text = results.read_text(encoding="utf-8")
    assert results_json(read_results(text)) == text


def test_failed_and_unavailable_parts_are_read_as_their_own_types() -> None:
    partial = read_results((DATA / "partial.json").read_text(encoding="utf-8"))
    assert isinstance(partial.producer, ProducerResult)
    assert isinstance(partial.producer.clients[2], ClientUnavailable)
    java = partial.producer.clients[1]
    assert not isinstance(java, ClientUnavailable)
    row = java.strategies[1]
    assert isinstance(row, JavaStrategyRow) and isinstance(row.reference, RunFailed)
    kafka_python = partial.producer.clients[0]
    assert not isinstance(kafka_python, ClientUnavailable)
    assert not isinstance(kafka_python.strategies[0], JavaStrategyRow)
    assert partial.checker is None
    assert isinstance(partial.cold_start, ColdStartUnavailable)
    failed = read_results((DATA / "failed.json").read_text(encoding="utf-8"))
    assert isinstance(failed.producer, SectionFailed)
    assert isinstance(failed.first_lesson, LessonsUnavailable)
    assert [s.value for s, _ in failed.failures()] == ["producer", "cold-start"]


def test_both_files_are_written_from_the_types(tmp_path: Path) -> None:
    source = DATA / "failed.json"
    md, js = write_results(read_results(source.read_text(encoding="utf-8")), tmp_path / "out")
    assert js.read_text(encoding="utf-8") == source.read_text(encoding="utf-8")
    assert md.read_text(encoding="utf-8") == (DATA / "failed.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(surprise=1),  # a key the results never had
        lambda d: d["machine"].pop("cpu"),  # a figure missing
        lambda d: d["machine"].update(cores="two"),  # a figure of the wrong kind
        lambda d: d["jars"]["broker"].update(status="borrowed"),  # not a jar status
    ],
    ids=["unknown key", "missing key", "wrong type", "unknown word"],
)
def test_a_file_of_another_shape_is_refused(change: Callable[[dict[str, Any]], object]) -> None:
    data = json.loads((ROOT / "bench" / "results.json").read_text(encoding="utf-8"))
    change(data)
    with pytest.raises(ResultsFormatError):
        read_results(json.dumps(data))
