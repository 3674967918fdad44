"""A picture of where a ride's events went: one lane per partition, one column per step of
processing, so a class can see a ride being split across partitions or overtaken."""

from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ridectl.checker import Report, RideSummary
from ridectl.history import Observation
from ridectl.lifecycle import STAGE_BY_SEQ

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


def ride_timeline(ride: RideSummary, partitions_of: list[int]) -> Table:
    """``partitions_of[i]`` is the partition the i-th processed event of the ride came from."""
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
            label = f"{seq} {_SHORT.get(seq, STAGE_BY_SEQ.get(seq, '?'))}"
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


def render_timelines(console: Console, report: Report, lanes: dict[str, list[int]]) -> None:
    """``lanes`` maps a ride id to the partition of each of its processed events, in order."""
    rides = [r for r in pick_rides(report) if r.ride_id in lanes]
    if not rides:
        return
    console.print(
        Text(
            "Where the events went (columns: processing order; ▲ came too early, ▼ was overtaken)",
            style="italic",
        )
    )
    console.print(Group(*(ride_timeline(r, lanes[r.ride_id]) for r in rides)))


def lanes_for(observations: list[Observation], ride_ids: set[str]) -> dict[str, list[int]]:
    """Partition of each processed event of the given rides, in processing order."""
    out: dict[str, list[tuple[int, int]]] = {r: [] for r in ride_ids}
    for o in observations:
        if o.ride_id in out:
            out[o.ride_id].append((o.position, o.partition))
    return {r: [p for _, p in sorted(v)] for r, v in out.items()}
