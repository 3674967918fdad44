"""How ``ridectl failover`` is shown: the check table of the run, then what the failover did."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ridectl.judge.kinds import ViolationKind
from ridectl.output.report import render_table
from ridectl.scenarios.failover import FailoverResult


def failover_summary(result: FailoverResult) -> Table:
    """One line per fact; figures stay whole (the value column wraps only at spaces)."""
    run, kinds = result.produced, result.report.by_kind
    lost, duplicated = kinds[ViolationKind.LOST], kinds[ViolationKind.DUPLICATE]
    out_of_order = kinds[ViolationKind.OUT_OF_ORDER]
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row(
        "producer",
        f"acks={result.acks}  enable.idempotence={'true' if result.idempotence else 'false'}  "
        f"max.in.flight={result.max_in_flight}",
    )
    led = ", ".join(f"p{p}" for p in result.led_partitions) or "none"
    grid.add_row(
        "killed",
        f"node {result.killed_node} (leader of {led}) after {result.sent_at_kill:,} of "
        f"{result.events:,} sends",
    )
    grid.add_row(
        "events",
        f"sent {run.sent:,}, acknowledged {run.acked:,}, failed {run.failed:,}, "
        f"consumed {result.consumed:,}",
    )
    grid.add_row(
        "judged",
        Text(
            f"lost {lost:,}, duplicated {duplicated:,}, out of order {out_of_order:,}",
            style="bold red" if lost + duplicated + out_of_order else "green",
        ),
    )
    grid.add_row("healed", f"replicas back in sync {round(result.heal_s, 2):g}s after the restart")
    return grid


def render_failover(console: Console, result: FailoverResult, limit: int = 25) -> None:
    render_table(result.report, console, limit=limit, title=f"failover run on {result.topic}")
    console.print(Text("Failover", style="bold"))
    console.print(failover_summary(result))
