"""How ``ridectl failover`` is shown: the check table of the run, then what the failover did."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ridectl.output.report import render_table
from ridectl.scenarios.failover import FailoverResult


def failover_summary(result: FailoverResult) -> Table:
    """One line per fact; figures stay whole (the value column wraps only at spaces)."""
    f = result.figures()
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row(
        "producer",
        f"acks={f['acks']}  enable.idempotence={'true' if f['idempotence'] else 'false'}  "
        f"max.in.flight={f['max_in_flight']}",
    )
    led = ", ".join(f"p{p}" for p in f["led_partitions"]) or "none"
    grid.add_row(
        "killed",
        f"node {f['killed_node']} (leader of {led}) after {f['sent_at_kill']:,} of "
        f"{f['events']:,} sends",
    )
    grid.add_row(
        "events",
        f"sent {f['sent']:,}, acknowledged {f['acked']:,}, failed {f['failed']:,}, "
        f"consumed {f['consumed']:,}",
    )
    bad = f["lost"] + f["duplicated"] + f["out_of_order"]
    grid.add_row(
        "judged",
        Text(
            f"lost {f['lost']:,}, duplicated {f['duplicated']:,}, "
            f"out of order {f['out_of_order']:,}",
            style="bold red" if bad else "green",
        ),
    )
    grid.add_row("healed", f"replicas back in sync {f['heal_s']:g}s after the restart")
    return grid


def render_failover(console: Console, result: FailoverResult, limit: int = 25) -> None:
    render_table(result.report, console, limit=limit, title=f"failover run on {result.topic}")
    console.print(Text("Failover", style="bold"))
    console.print(failover_summary(result))
