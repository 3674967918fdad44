"""The one output dispatch: which view is shown, where it goes, and what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from ridectl.errors import UsageError
from ridectl.output import console
from ridectl.output.formats import Export, Format, Views, emit


def _views(calls: list[str]) -> Views:
    def table(out: Console) -> None:
        calls.append("table")
        out.print("the table")

    return Views(table=table, json=lambda: '{"a": ' + "1" * 300 + "}", csv=lambda: "a,b\n1,2\n")


@pytest.fixture(autouse=True)
def _fresh_consoles() -> None:
    console.reset()


def test_documents_go_to_stdout_unwrapped(capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[str] = []
    emit(Format.json, _views(calls))
    out = capsys.readouterr().out
    assert out == '{"a": ' + "1" * 300 + "}\n"  # one line, however long, ending in a newline
    assert calls == []
    emit(Format.csv, _views(calls))
    assert capsys.readouterr().out == "a,b\n1,2\n"


def test_table_goes_to_the_stdout_console(capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[str] = []
    emit(Format.table, _views(calls))
    assert calls == ["table"]
    assert "the table" in capsys.readouterr().out


def test_a_format_without_a_view_is_refused() -> None:
    with pytest.raises(UsageError, match="--format ndjson is not available"):
        emit(Format.ndjson, _views([]))


def test_export_saves_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    svg, html = tmp_path / "t.svg", tmp_path / "t.html"
    emit(Format.table, _views([]), Export(svg, html, title="t"))
    assert "the table" in html.read_text()
    assert svg.read_text().startswith("<svg")


def test_export_needs_the_table() -> None:
    Export().require_table(Format.json)  # nothing to export: any format is fine
    with pytest.raises(UsageError, match="--format table"):
        Export(svg=Path("x.svg")).require_table(Format.json)


def test_an_export_that_fails_late_is_one_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match="cannot write /dev/full"):
        emit(Format.table, _views([]), Export(html=Path("/dev/full")))
