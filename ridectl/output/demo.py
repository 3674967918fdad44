"""How the classroom demo is shown: a lesson's title and set-up, its result, its takeaway."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from ridectl.experiment import Trial
from ridectl.output.report import render_table
from ridectl.output.timeline import render_timelines
from ridectl.scenarios.lessons import Lesson, LessonOutcome


def render_intro(console: Console, lesson: Lesson, number: int, total: int) -> None:
    console.print()
    console.print(Rule(Text(f"Lesson {number}/{total}: {lesson.title}", style="bold")))
    console.print(Text(lesson.setup))
    console.print()


def render_outcome(console: Console, lesson: Lesson, outcome: LessonOutcome) -> None:
    if outcome.focus is not None:
        report = outcome.focus.report
        render_table(report, console, limit=6, title=outcome.focus.label)
        if not report.clean:
            render_timelines(console, report)
    if outcome.compare:
        console.print(compare_table(outcome.trials))
    if outcome.loads:
        console.print(load_table(outcome.trials))
    mark = (
        Text("✓ as promised: ", style="bold green")
        if outcome.promised
        else Text("✗ NOT as promised this time: ", style="bold red")
    )
    console.print(Text.assemble(mark, outcome.verdict))
    console.print(Panel(Text(lesson.takeaway), title="takeaway", title_align="left"))


def compare_table(trials: list[Trial]) -> Table:
    table = Table(
        title="Side by side",
        title_justify="left",
        caption="ack p50: median ms from send to acknowledgement; retry/fault: batch retries "
        "and faults injected; order/dup: events out of order and duplicated",
    )
    table.add_column("run", min_width=12)
    for name in ("events/s", "ack p50", "retry/fault", "order/dup"):
        table.add_column(name, justify="right")
    table.add_column("violated", justify="right")
    for t in trials:
        run, rep = t.run, t.report
        p50 = run.latency_pct(50)
        faults = "-"
        if run.fault_stats is not None:
            faults = str(run.fault_stats.faults_injected_total)
        bad = rep.violating_rides
        table.add_row(
            t.label,
            f"{run.throughput:,.0f}",
            "-" if p50 is None else f"{p50:.0f}",
            f"{run.batch_retries}/{faults}",
            f"{rep.by_kind['out_of_order']}/{rep.by_kind['duplicate']}",
            Text(f"{bad}/{rep.rides}", style="bold red" if bad else "green"),
        )
    return table


def load_table(trials: list[Trial]) -> Table:
    """Events per partition for each run, with a bar for the busiest share."""
    parts = max((t.run.grown[1] if t.run.grown else t.run.topic.partitions) for t in trials)
    table = Table(title="Events per partition", title_justify="left")
    table.add_column("run")
    for p in range(parts):
        table.add_column(f"p{p}", justify="right")
    table.add_column("busiest share")
    for t in trials:
        counts = t.run.per_partition
        total = max(1, sum(counts.values()))
        top = max(counts.values(), default=0) / total
        bar = "█" * round(top * 20)
        table.add_row(t.label, *(str(counts.get(p, 0)) for p in range(parts)), f"{bar} {top:.0%}")
    return table
