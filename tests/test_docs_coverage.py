"""The pages of docs/ name what the code has: every lesson of the demo, every command, fault
kind, violation kind, exit code and environment variable appears in the table of the page that
documents it, so adding one to the code without a line of documentation fails here.

Pure: imports the code's own lists and reads the Markdown files."""

from __future__ import annotations

import re
from pathlib import Path

from ridectl.cli import _MODULES
from ridectl.errors import ExitCode
from ridectl.faults.spec import FaultKind
from ridectl.judge.kinds import ViolationKind
from ridectl.scenarios.catalogue import LESSONS

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"


def table_section(page: str, heading: str) -> str:
    """The text of ``page`` under ``heading`` (a ``## `` heading), up to the next one."""
    text = (DOCS / page).read_text(encoding="utf-8")
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def first_cells(section: str) -> list[str]:
    """The first cell of every table row of ``section`` that names something in backticks."""
    cells = []
    for line in section.splitlines():
        if line.startswith("|"):
            cell = line.strip("|").split("|")[0].strip()
            if cell.startswith("`"):
                cells.append(cell)
    return cells


def leading_name(cell: str) -> str:
    """The name a cell's code starts with: delay for `delay:ms=N`, RIDECTL_DEBUG for
    `RIDECTL_DEBUG=1`."""
    found = re.match(r"`([A-Za-z_-]+)", cell)
    assert found is not None, cell
    return found.group(1)


def test_every_lesson_has_a_row_and_a_takeaway_in_the_demo_order() -> None:
    names = [lesson.name for lesson in LESSONS]
    rows = table_section("lessons.md", "Every lesson, what it shows").splitlines()
    shown = [m.group(1) for row in rows if (m := re.match(r"\| \d+ \| `([^`]+)` \|", row))]
    assert shown == names
    takeaways = first_cells(table_section("lessons.md", "What each lesson leaves you with"))
    assert takeaways == [f"`{name}`" for name in names]


def test_every_command_is_in_the_reference() -> None:
    commands = {name for names in _MODULES.values() for name in names} | {"broker"}
    listed = {
        c.strip("`").removeprefix("ridectl ")
        for c in first_cells(table_section("reference.md", "Commands"))
    }
    assert listed == commands


def test_every_fault_kind_is_in_the_table() -> None:
    cells = first_cells(table_section("faults.md", "Fault kinds"))
    assert {leading_name(cell) for cell in cells} == {str(k) for k in FaultKind}


def test_every_violation_kind_is_explained() -> None:
    cells = first_cells(table_section("reference.md", "What the checker reports"))
    assert {c.strip("`") for c in cells} == {str(k) for k in ViolationKind}


def test_every_exit_code_is_explained() -> None:
    rows = table_section("reference.md", "Exit codes").splitlines()
    codes = {int(m.group(1)) for row in rows if (m := re.match(r"\| (\d+) \|", row))}
    assert codes == {int(code) for code in ExitCode}


def test_every_environment_variable_the_code_reads_is_listed() -> None:
    read = set()
    for source in (REPO / "ridectl").rglob("*.py"):
        read |= set(
            re.findall(r"\b(RIDECTL_[A-Z_]+|KAFKA_BOOTSTRAP_SERVERS)\b", source.read_text())
        )
    cells = first_cells(table_section("reference.md", "Environment variables"))
    assert {leading_name(cell) for cell in cells} == read
