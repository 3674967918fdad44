"""How the classroom demo is shown: a lesson's title and set-up, its result, its takeaway."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.rule import Rule
from rich.text import Text

from ridectl.judge.kinds import ViolationKind
from ridectl.output.report import render_table
from ridectl.output.tables import Cell, Column, FitTable, Kind, figure_pair, ms
from ridectl.output.timeline import render_timelines
from ridectl.run.flow import Trial
from ridectl.run.options import ProduceResult
from ridectl.scenarios.lessons import Lesson, LessonOutcome


def render_intro(console: Console, lesson: Lesson, number: int, total: int) -> None:
    console.print()
    heading = Text(f"Lesson {number}/{total}: {lesson.title}", style="bold")
    if heading.cell_len <= console.width - 4:
        console.print(Rule(heading))
    else:  # a rule would cut the title short: the title on lines of its own under it
        console.print(Rule())
        console.print(heading)
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
    if outcome.explain is not None:
        render_one_story(console, outcome.explain)
    mark = (
        Text("✓ as promised: ", style="bold green")
        if outcome.promised
        else Text("✗ NOT as promised this time: ", style="bold red")
    )
    console.print(Text.assemble(mark, outcome.verdict))
    console.print(Panel(Text(lesson.takeaway), title="takeaway", title_align="left"))


def render_one_story(console: Console, trial: Trial) -> None:
    """The story of the trial's first violating ride, in one line (nothing when clean)."""
    from ridectl.output.explain import story_line
    from ridectl.story.evidence import trial_evidence
    from ridectl.story.explain import StoryIndex

    if not trial.report.per_ride:
        return
    index = StoryIndex(trial_evidence(trial), trial.history, trial.report)
    console.print(story_line(index.story(trial.report.per_ride[0].ride_id)))


_COMPARE = [
    Column("run", kind=Kind.TEXT, min_width=12),
    Column("fault", kind=Kind.NOTE, fold=lambda v: "" if v == "none" else f"fault {v}"),
    Column("ev/s", "events acknowledged per second"),
    Column("p50", "median ms from send to acknowledgement"),
    Column("retry", "batches the producer retried"),
    Column("inj", "faults the proxy injected", fold=lambda v: "" if v == "-" else None),
    Column("order", "events out of order"),
    Column("dup", "events processed twice"),
    Column("violated", "rides with a violation / rides"),
]


def _faults(run: ProduceResult) -> tuple[str, str]:
    """The run's fault specs and how many faults acted ("none" and "-" without the proxy)."""
    if run.fault_stats is None:
        return "none", "-"
    specs = "; ".join(run.fault_stats.faults) or "none"
    return specs, str(run.fault_stats.faults_injected_total)


def compare_table(trials: list[Trial]) -> FitTable:
    rows: list[list[Cell]] = []
    for t in trials:
        run, rep = t.run, t.report
        bad = rep.violating_rides
        rows.append(
            [
                t.label,
                *_faults(run)[:1],
                f"{run.throughput:,.0f}",
                ms(run.latency_pct(50)),
                str(run.batch_retries),
                _faults(run)[1],
                str(rep.by_kind[ViolationKind.OUT_OF_ORDER]),
                str(rep.by_kind[ViolationKind.DUPLICATE]),
                Text(figure_pair(bad, rep.rides), style="bold red" if bad else "green"),
            ]
        )
    return FitTable(_COMPARE, rows, title="Side by side")


def load_table(trials: list[Trial]) -> FitTable:
    """Events per partition for each run, with a bar for the busiest share."""
    parts = max((t.run.grown[1] if t.run.grown else t.run.topic.partitions) for t in trials)
    columns = [
        Column("run", kind=Kind.TEXT, min_width=12),
        *(Column(f"p{p}") for p in range(parts)),
        Column("busiest", "share of the events on the busiest partition", justify="left"),
    ]
    rows: list[list[Cell]] = []
    for t in trials:
        counts = t.run.per_partition
        total = max(1, sum(counts.values()))
        top = max(counts.values(), default=0) / total
        bar = "█" * round(top * 10)
        rows.append([t.label, *(str(counts.get(p, 0)) for p in range(parts)), f"{bar} {top:.0%}"])
    return FitTable(columns, rows, title="Events per partition")
