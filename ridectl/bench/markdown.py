"""The small pieces of markdown the bench's report is made of: figures, tables, and the line of
a part that was not measured or failed."""

from __future__ import annotations

from collections.abc import Sequence

from ridectl.bench.results import SectionFailed


def num(value: float | str | None, digits: int = 0) -> str:
    """A figure with thousands separators and ``digits`` decimals; "-" when there is none."""
    if value is None:
        return "-"
    if isinstance(value, int | float):
        return f"{value:,.{digits}f}"
    return str(value)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A markdown table's lines."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def failed_note(section: object) -> str | None:
    """What stands in for a part's figures: "not measured" (None), its failure, or None."""
    if section is None:
        return "not measured"
    if isinstance(section, SectionFailed):
        return f"**failed**: {section.error}" if section.error else None
    return None
