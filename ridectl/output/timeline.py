"""A picture of where a ride's events went: one lane per partition, one column per step of
processing, so a class can see a ride being split across partitions or overtaken."""

from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ridectl.judge.checker import Report, RideSummary
from ridectl.judge.lifecycle import STAGE_BY_SEQ

_SHORT = {
    1: "Requested",
    2: "Assigned",
    3: "InProgress",
    4: "Completed",
    5: "Payment",
}


def pick_rides(report: Report, count: int = 3) -> list[RideSummary]:
    """The most telling violating rides: split ones first, then those with most violations."""
    ranked = sorted(
        report.per_ride,
        key=lambda r: (-len(r.partitions), -len(r.violations), r.ride_id),
    )
    return ranked[:count]


def ride_timeline(ride: RideSummary, names: bool = True) -> Table:
    """One lane per partition the ride touched; column i is its i-th processed event
    (``names=False``: the stage number alone, for a narrow terminal)."""
    partitions_of = ride.event_partitions
    table = Table(
        title=Text(ride.ride_id, style="bold"),
        title_justify="left",
        show_edge=False,
        pad_edge=False,
        box=None,
        header_style="dim",
    )
    table.add_column("lane", style="bold", no_wrap=True)
    for i in range(len(ride.seqs)):
        table.add_column(f"#{i + 1}", justify="center", no_wrap=True)
    bad = set(ride.overtook) | set(ride.overtaken)
    for p in ride.partitions:
        cells: list[Text | str] = []
        for i, seq in enumerate(ride.seqs):
            if partitions_of[i] != p:
                cells.append(Text("·", style="dim"))
                continue
            label = f"{seq} {_SHORT.get(seq, STAGE_BY_SEQ.get(seq, '?'))}" if names else str(seq)
            if i in ride.overtook:
                cells.append(Text(label + " ▲", style="bold red"))
            elif i in bad:
                cells.append(Text(label + " ▼", style="bold yellow"))
            elif i in ride.duplicates:
                cells.append(Text(label + " x2", style="yellow"))
            else:
                cells.append(Text(label))
        table.add_row(f"p{p}", *cells)
    return table


def render_timelines(console: Console, report: Report) -> None:
    rides = pick_rides(report)
    if not rides:
        return
    console.print(
        Text(
            "Where the events went (columns: processing order; ▲ came too early, ▼ was overtaken)",
            style="italic",
        )
    )
    tables = [ride_timeline(r) for r in rides]
    # Too wide for the terminal: stage numbers alone (named once below) rather than cut cells.
    narrow, unbounded = False, console.options.update_width(10_000)
    for i, ride in enumerate(rides):
        if console.measure(tables[i], options=unbounded).maximum > console.width:
            tables[i], narrow = ride_timeline(ride, names=False), True
    console.print(Group(*tables))
    if narrow:
        stages = " · ".join(f"{seq} {name}" for seq, name in sorted(_SHORT.items()))
        console.print(Text(f"stages: {stages}", style="dim"))
