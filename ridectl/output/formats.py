"""The one place a command's result leaves the program.

A command describes what it can show (``Views``: a table drawn on a console, and text documents
for scripts); ``emit`` picks the one the user asked for and the stream it goes to, as httpie
decides its output stream in one place. Documents are written to stdout as they are (a console
could wrap a long line and break the JSON); the table goes to the stdout console, which records
when the table is also to be saved as SVG or HTML. Adding an output format means a member here,
one field of ``Views`` and the renderer of the commands that offer it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from rich.console import Console

from ridectl.errors import UsageError
from ridectl.output import console
from ridectl.output.console import stdout_guard


class Format(StrEnum):
    """What ``--format`` can ask for; each command offers a subset (see ``cli.options``)."""

    table = "table"
    json = "json"
    ndjson = "ndjson"
    csv = "csv"
    #: JUnit XML, for CI systems (``audit`` only)
    junit = "junit"


#: draws the result for people on the given console
TableView = Callable[[Console], None]
#: returns the result as one text document for scripts
TextView = Callable[[], str]


@dataclass(frozen=True)
class Views:
    """The ways one result can be shown; a format a command does not offer stays None."""

    table: TableView
    json: TextView | None = None
    ndjson: TextView | None = None
    csv: TextView | None = None
    junit: TextView | None = None

    def text(self, fmt: Format) -> TextView:
        view = {
            Format.json: self.json,
            Format.ndjson: self.ndjson,
            Format.csv: self.csv,
            Format.junit: self.junit,
        }.get(fmt)
        if view is None:
            raise UsageError(f"--format {fmt} is not available here")
        return view


@dataclass(frozen=True)
class Export:
    """Where to also save the table (``--export-svg``/``--export-html``)."""

    svg: Path | None = None
    html: Path | None = None
    title: str = "ridectl"

    @property
    def wanted(self) -> bool:
        return self.svg is not None or self.html is not None

    def require_table(self, fmt: Format) -> None:
        """Refuse, before any work, an export of a result that will not be a table."""
        if self.wanted and fmt is not Format.table:
            raise UsageError(
                "--export-svg/--export-html save the table: use them with --format table"
            )


def emit(fmt: Format, views: Views, export: Export | None = None) -> None:
    """Show the result in ``fmt`` on stdout, and save the table when ``export`` asks for it."""
    recording = export is not None and export.wanted
    with stdout_guard():
        if fmt is Format.table:
            out = console.out(record=recording)
            views.table(out)
        else:
            text = views.text(fmt)()
            sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    if export is not None and recording and fmt is Format.table:
        save(out, export)


def save(recorded: Console, export: Export) -> list[Path]:
    """Write what a recording console printed; an unwritable file is one error line."""
    try:
        return console.export(recorded, export.svg, export.html, title=export.title)
    except OSError as exc:
        where = exc.filename or export.svg or export.html
        raise UsageError(f"cannot write {where}: {exc.strerror or exc}") from None
