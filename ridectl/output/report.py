"""How a checker ``Report`` is shown: a table for people, JSON / NDJSON / CSV for scripts.

The table never relies on colour alone: every highlighted event also carries a mark (``4!``
overtook, ``3+`` repeated copy, ``·3`` missing, ``✗3`` lost, ``*`` split ride), explained in
the caption, so it reads the same with NO_COLOR or in a file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping

import msgspec
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ridectl.judge.checker import DuplicateKind, Report, RideSummary, Violation, ViolationKind
from ridectl.judge.kinds import at
from ridectl.output.tables import Cell, Column, FitTable, Kind

LEGEND = (
    "N! overtook an earlier stage · N+ processed again · N~ from an aborted transaction · "
    "·N never processed · _N hole before a later stage · ✗N acknowledged, never processed · "
    "»N committed past, never processed · * ride split across partitions"
)

#: Short words for the kinds column (a kind not listed shows its own name).
_KIND_WORD: dict[ViolationKind, str] = {
    ViolationKind.OUT_OF_ORDER: "order",
    ViolationKind.DUPLICATE: "dup",
}

#: Mark and style of an event that was never processed, by kind (see ``LEGEND``).
_ABSENT_MARK: dict[ViolationKind, tuple[str, str]] = {
    ViolationKind.MISSING: ("·", "dim"),
    ViolationKind.LOST: ("✗", "bold magenta"),
    ViolationKind.GAP: ("_", "bold yellow"),
    ViolationKind.SKIPPED: ("»", "bold magenta"),
}

#: How many evidence items a table cell shows before eliding the rest.
_EVIDENCE_ITEMS = 2
#: How many partitions the summary lists before eliding the rest.
_PARTITIONS_SHOWN = 12


def _partitions_cell(ride: RideSummary) -> Text:
    if not ride.partitions:
        return Text("-", style="dim")
    label = ",".join(f"p{p}" for p in ride.partitions)
    if ride.split:
        return Text(label + "*", style="bold magenta")
    return Text(label)


def _sequence_cell(ride: RideSummary) -> Text:
    overtook = set(ride.overtook)
    overtaken = set(ride.overtaken)
    duplicates = set(ride.duplicates)
    aborted = {v.position for v in ride.violations if v.kind is ViolationKind.ABORTED_READ}
    text = Text()
    for i, seq in enumerate(ride.seqs):
        if i:
            text.append(" ")
        if ride.event_positions[i] in aborted:
            text.append(f"{seq}~", style="bold magenta")
        elif i in overtook:
            text.append(f"{seq}!", style="bold red")
        elif i in duplicates:
            text.append(f"{seq}+", style="yellow")
        elif i in overtaken:
            text.append(str(seq), style="red")
        else:
            text.append(str(seq))
    absent = ride.absent
    for kind in ViolationKind:
        mark, style = _ABSENT_MARK.get(kind, ("?", "bold"))
        for seq in (s for s, k in absent if k is kind):
            text.append(" " if len(text) else "")
            text.append(f"{mark}{seq}", style=style)
    return text


def _kinds_cell(ride: RideSummary) -> str:
    words: list[str] = []
    for kind in ride.kinds:
        if kind is ViolationKind.DUPLICATE:
            subs = sorted(
                {v.duplicate_kind.value for v in ride.violations if v.duplicate_kind is not None}
            )
            words.append("dup:" + "/".join(subs) if subs else "dup")
        else:
            words.append(_KIND_WORD.get(kind, kind.value))
    return ", ".join(words)


def _cause_cell(ride: RideSummary) -> str:
    return ", ".join(c.value for c in ride.causes)


#: The table's columns: figures stay whole, prose wraps, the consequence moves under the
#: table on a narrow terminal (see ``output/tables.py``).
_COLUMNS = [
    Column("ride", justify="left"),
    Column("partitions", justify="left"),
    Column("processed", "stages in the order they were processed", justify="left"),
    Column("kinds", kind=Kind.TEXT, min_width=5),
    Column("cause", "where the order broke (keying, log, processing)", Kind.TEXT, min_width=5),
    Column("evidence", "partition@offset of the events involved", Kind.TEXT, sep="; "),
    Column("consequence", kind=Kind.NOTE),
]

#: ``check --explain``: the ride's story in one line
_STORY = Column("story", "what happened to the ride, in one line", Kind.NOTE, ref_label="story")


def _evidence_text(v: Violation) -> str:
    places = [at(p, o) for p, o in v.evidence]
    if not places:
        return ""
    if v.kind is ViolationKind.OUT_OF_ORDER and len(places) == 2:
        return f"{places[0]} ▸ {places[1]}"
    if v.kind is ViolationKind.DUPLICATE:
        if v.duplicate_kind is DuplicateKind.REDELIVERY:
            return f"{places[-1]} twice"
        return " + ".join(places)
    if v.kind in (ViolationKind.LOST, ViolationKind.SKIPPED):
        return f"acked {places[0]}"
    return " ".join(places)


def _evidence_cell(ride: RideSummary) -> str:
    items = [e for e in map(_evidence_text, ride.violations) if e]
    shown = "; ".join(items[:_EVIDENCE_ITEMS])
    if len(items) > _EVIDENCE_ITEMS:
        shown += f"; +{len(items) - _EVIDENCE_ITEMS}"
    return shown


def _consequence_cell(ride: RideSummary) -> str:
    """The consequence of the first out-of-order pair, else the first one given."""
    for v in ride.violations:
        if v.kind is ViolationKind.OUT_OF_ORDER and v.consequence:
            return v.consequence
    return next((v.consequence for v in ride.violations if v.consequence), "")


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.2f}%" if whole else "0.00%"


def _summary_panel(report: Report) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("rides checked", f"{report.rides} ({report.events} events)")
    violated = Text(f"{report.violating_rides} ({_pct(report.violating_rides, report.rides)})")
    if report.violating_rides:
        violated.stylize("bold red")
    grid.add_row("rides violated", violated)
    grid.add_row(
        "violations",
        "  ".join(f"{kind.value}={count}" for kind, count in report.by_kind.items() if count)
        or "none",
    )
    if report.by_kind[ViolationKind.OUT_OF_ORDER]:
        grid.add_row(
            "out of order by",
            "  ".join(f"{cause.value}={n}" for cause, n in report.by_cause.items() if n),
        )
    grid.add_row("rides split", f"{report.rides_split} (across partitions)")
    per_partition = sorted(report.records_per_partition.items())
    compact = " ".join(f"p{p}={n}" for p, n in per_partition[:_PARTITIONS_SHOWN])
    if len(per_partition) > _PARTITIONS_SHOWN:
        compact += f" … (+{len(per_partition) - _PARTITIONS_SHOWN} partitions)"
    grid.add_row("records/partition", compact or "-")
    grid.add_row("foreign skipped", str(report.foreign))
    grid.add_row("malformed lines", str(report.malformed))
    return Panel(grid, title="summary", title_align="left", expand=False)


def _clean_message(report: Report) -> Text:
    if report.rides == 0:
        return Text("No ride events to check.", style="yellow")
    every = "the only ride was" if report.rides == 1 else f"all {report.rides} rides were"
    text = Text(
        f"No ordering violations: {every} processed in lifecycle order.", style="bold green"
    )
    if report.rides_split:
        split = report.rides_split
        text.append(
            f" {split} {'ride was' if split == 1 else 'rides were'} split across partitions "
            "but still arrived in order.",
            style="green",
        )
    return text


def _legend_for(rows: list[list[Cell]]) -> str:
    """The items of ``LEGEND`` whose mark appears in the partitions or order cells shown."""
    shown = " ".join(str(cell) for row in rows for cell in row[1:3])
    items = LEGEND.split(" · ")
    return " · ".join(i for i in items if i.split(" ", 1)[0].replace("N", "") in shown)


def render_table(
    report: Report,
    console: Console,
    *,
    limit: int | None = 50,
    title: str | None = None,
    stories: Mapping[str, str] | None = None,
) -> None:
    """Print one row per violating ride (at most ``limit``; None for all), then a summary."""
    if report.clean:
        console.print(_clean_message(report))
        console.print(_summary_panel(report))
        return
    rides = report.per_ride if limit is None else report.per_ride[: max(limit, 0)]
    rows: list[list[Cell]] = [
        [
            ride.ride_id,
            _partitions_cell(ride),
            _sequence_cell(ride),
            _kinds_cell(ride),
            _cause_cell(ride),
            _evidence_cell(ride),
            _consequence_cell(ride),
            *([] if stories is None else [stories.get(ride.ride_id, "")]),
        ]
        for ride in rides
    ]
    columns = _COLUMNS if stories is None else [*_COLUMNS, _STORY]
    console.print(FitTable(columns, rows, title=title, notes=[_legend_for(rows)]))
    hidden = len(report.per_ride) - len(rides)
    if hidden > 0:
        console.print(f"… and {hidden} more violating rides (use --all)")
    console.print(_summary_panel(report))


def render_json(report: Report, stories: Mapping[str, str] | None = None) -> str:
    """The whole report as one JSON document (``Report.to_dict``, plus ``stories``: ride id
    -> its story in one line, when asked), laid out as ``json.dumps(indent=2,
    ensure_ascii=False)`` lays it out, by msgspec's faster encoder."""
    doc = report.to_dict()
    if stories is not None:
        doc["stories"] = dict(stories)
    return msgspec.json.format(msgspec.json.encode(doc), indent=2).decode()


def render_ndjson(report: Report) -> str:
    """One violation object per line, the same objects as the JSON ``violations``."""
    return "".join(
        json.dumps(v.to_dict(), separators=(",", ":"), ensure_ascii=False) + "\n"
        for v in report.violations
    )


CSV_HEADER = (
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
)


def render_csv(report: Report) -> str:
    """One violation per row; ``partitions`` of the ride as ``0;3``, evidence as ``p:o;p:o``."""
    partitions = {r.ride_id: ";".join(map(str, r.partitions)) for r in report.per_ride}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for v in report.violations:
        writer.writerow(
            (
                v.ride_id,
                v.kind.value,
                v.seq,
                v.type,
                "" if v.other_seq is None else v.other_seq,
                "" if v.duplicate_kind is None else v.duplicate_kind.value,
                "" if v.cause is None else v.cause.value,
                partitions.get(v.ride_id, ""),
                ";".join(f"{p}:{o}" for p, o in v.evidence),
                v.detail,
                v.consequence,
            )
        )
    return buf.getvalue()
