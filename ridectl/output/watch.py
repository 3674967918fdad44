"""The live view of ``ridectl watch``."""

from __future__ import annotations

import time

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ridectl.judge.kinds import ViolationKind
from ridectl.output.tables import Cell, Column, FitTable, Kind
from ridectl.scenarios.watch import WatchState


def live_view(state: WatchState) -> RenderableType:
    counts = state.records_per_partition
    total = max(1, sum(counts.values()))
    loads = Table(title=f"{state.topic}: events per partition", title_justify="left")
    loads.add_column("partition", no_wrap=True)
    loads.add_column("events", justify="right", no_wrap=True)
    loads.add_column("", no_wrap=True)
    for p in range(state.partitions):
        n = counts.get(p, 0)
        loads.add_row(f"p{p}", str(n), "█" * round(30 * n / total))
    rep = state.report
    if rep is None:
        status = Text("waiting for ride events...", style="dim")
    else:
        ooo, dup = rep.by_kind[ViolationKind.OUT_OF_ORDER], rep.by_kind[ViolationKind.DUPLICATE]
        status = Text.assemble(
            f"run {state.history.run_id}: {state.events} events, {rep.rides} rides, ",
            (f"{ooo} out of order", "bold red" if ooo else "green"),
            ", ",
            (f"{dup} duplicated", "bold red" if dup else "green"),
            f", {rep.rides_split} rides split  ({time.monotonic() - state.started:.0f}s)",
        )
    rows: list[list[Cell]] = []
    if rep is not None:
        shown = [
            v
            for v in rep.violations
            if v.kind in (ViolationKind.OUT_OF_ORDER, ViolationKind.DUPLICATE)
        ]
        rows = [[v.ride_id, v.detail, v.consequence] for v in shown[-8:]]
    recent = FitTable(_RECENT, rows, title="latest violations")
    return Group(loads, status, recent)


_RECENT = [
    Column("ride", justify="left"),
    Column("what", kind=Kind.TEXT),
    Column("consequence", kind=Kind.NOTE, min_width=20),
]
