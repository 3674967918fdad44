"""The live view of ``ridectl watch``."""

from __future__ import annotations

import time

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ridectl.judge.kinds import ViolationKind
from ridectl.scenarios.watch import WatchState


def live_view(state: WatchState) -> RenderableType:
    counts = state.records_per_partition
    total = max(1, sum(counts.values()))
    loads = Table(title=f"{state.topic}: events per partition", title_justify="left")
    loads.add_column("partition")
    loads.add_column("events", justify="right")
    loads.add_column("")
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
    recent = Table(title="latest violations", title_justify="left", show_lines=False)
    recent.add_column("ride")
    recent.add_column("what")
    recent.add_column("consequence")
    if rep is not None:
        shown = [v for v in rep.violations if v.kind.value in ("out_of_order", "duplicate")]
        for v in shown[-8:]:
            recent.add_row(v.ride_id, v.detail, v.consequence)
    return Group(loads, status, recent)
