"""The comparison matrix as a table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.text import Text

from ridectl.clients.setting_names import SettingName
from ridectl.judge.kinds import ViolationKind
from ridectl.output.tables import Cell, Column, FitTable, Kind, figure_pair, ms
from ridectl.scenarios.matrix import MatrixRow

_SETTINGS = [
    Column("client", "client library", Kind.FIGURE, "left", fold=lambda v: v),
    Column("key", "", Kind.FIGURE, "left", fold=lambda v: v),
    Column("infl", SettingName.MAX_IN_FLIGHT, fold=lambda v: f"in-flight {v}"),
    Column(
        "idem",
        SettingName.ENABLE_IDEMPOTENCE,
        Kind.FIGURE,
        "left",
        fold=lambda v: f"idempotence {v}",
    ),
]
_FAULT = Column("fault", "", Kind.NOTE, fold=lambda v: f"fault {v}" if v != "none" else "no fault")
_RESULTS = [
    Column("order", "events out of order"),
    Column("dup", "events processed twice"),
    Column("miss", "events never processed"),
    Column("lost", "acknowledged events never processed"),
    Column("violated", "rides with a violation / rides"),
    Column("ev/s", "events acknowledged per second"),
    Column("p50", "median ms from send to acknowledgement"),
    Column("p99", "99th percentile of the same"),
]


#: Count columns left out when zero in every run, and how the note under the table says so.
_ZERO_NOTES = {
    7: "missing events (never processed)",
    8: "lost events (acknowledged, never processed)",
}


def _cells(row: MatrixRow) -> list[Cell]:
    cell, run, rep = row.cell, row.trial.run, row.trial.report
    bad = rep.violating_rides
    return [
        cell.client.value,
        "keyed" if cell.keyed else "unkeyed",
        str(cell.in_flight),
        "on" if cell.idempotence else "off",
        cell.fault,
        str(rep.by_kind[ViolationKind.OUT_OF_ORDER]),
        str(rep.by_kind[ViolationKind.DUPLICATE]),
        str(rep.by_kind[ViolationKind.MISSING]),
        str(rep.by_kind[ViolationKind.LOST]),
        Text(figure_pair(bad, rep.rides), style="bold red" if bad else "green"),
        f"{run.throughput:,.0f}",
        ms(run.latency_pct(50)),
        ms(run.latency_pct(99)),
    ]


def matrix_table(rows: Sequence[MatrixRow]) -> RenderableType:
    """One table per fault when every fault has several rows (the spec goes in the title),
    else one table with the fault as a column; counts that are zero everywhere are left out
    and said once."""
    columns = [*_SETTINGS, _FAULT, *_RESULTS]
    cells = [_cells(r) for r in rows]
    notes: list[str] = []
    zero = [i for i in _ZERO_NOTES if cells and all(_is_zero(c[i]) for c in cells)]
    if zero:
        notes.append("No run had " + " or ".join(_ZERO_NOTES[i] for i in zero) + ".")
    keep = [i for i in range(len(columns)) if i not in zero]
    columns = [columns[i] for i in keep]
    cells = [[c[i] for i in keep] for c in cells]
    notes.append("Throughput and latency depend on batch.size (1 here unless set with -X).")
    by_fault: dict[str, list[Sequence[Cell]]] = {}
    for row, c in zip(rows, cells, strict=True):
        by_fault.setdefault(row.cell.fault, []).append(c)
    title = "Ordering under each setting"
    if len(by_fault) == 1 or any(len(g) < 2 for g in by_fault.values()):
        return FitTable(columns, cells, title=title, notes=notes)
    groups = list(by_fault.values())
    parts: list[RenderableType] = []
    for n, group in enumerate(groups, 1):
        last = n == len(groups)
        parts.append(
            FitTable(
                columns,
                group,
                title=title,
                notes=notes if last else (),
                legend=last,
                siblings=cells,
            )
        )
        if not last:
            parts.append(Text(""))
    return Group(*parts)


def _is_zero(cell: Cell) -> bool:
    return (cell.plain if isinstance(cell, Text) else cell) == "0"


def matrix_json(rows: Sequence[MatrixRow]) -> str:
    return json.dumps({"rows": [r.to_dict() for r in rows]}, indent=2)


def matrix_csv(rows: Sequence[MatrixRow]) -> str:
    buf = io.StringIO()
    dicts = [r.to_dict() for r in rows]
    if dicts:
        writer = csv.DictWriter(buf, fieldnames=list(dicts[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(dicts)
    return buf.getvalue()
