"""``ridectl demo``: the classroom story, lesson by lesson, on the real broker."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from ridectl.cli.options import Bootstrap, ConfigFile, XOption
from ridectl.cli.paths import writable_option
from ridectl.errors import ExitCode, UsageError, is_interrupt
from ridectl.output import console
from ridectl.output.formats import Export, save

if TYPE_CHECKING:
    from ridectl.scenarios.context import DemoContext


Scenario = Annotated[
    list[str] | None,
    typer.Option(
        "--scenario",
        "-s",
        help="Run only this lesson (repeatable); see --list.",
        metavar="NAME",
    ),
]
Pause = Annotated[bool, typer.Option("--pause", help="Wait for Enter before each lesson's run.")]
KeepTopics = Annotated[
    bool, typer.Option("--keep-topics", help="Leave the lessons' topics for inspection.")
]
ExportSvg = Annotated[
    Path | None,
    writable_option(
        "--export-svg", "the SVG picture", "Also save the whole demo as SVG.", panel="Output"
    ),
]
ExportHtml = Annotated[
    Path | None,
    writable_option(
        "--export-html", "the HTML page", "Also save the whole demo as HTML.", panel="Output"
    ),
]


def demo(
    scenario: Scenario = None,
    list_: Annotated[bool, typer.Option("--list", help="List the lessons and exit.")] = False,
    fast: Annotated[bool, typer.Option("--fast", help="Small runs (a class in a hurry).")] = False,
    pause: Pause = False,
    keep_topics: KeepTopics = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every run.")] = 7,
    export_svg: ExportSvg = None,
    export_html: ExportHtml = None,
    bootstrap_servers: Bootstrap = None,
    config: ConfigFile = None,
    x: XOption = None,
) -> None:
    """Tell the whole ordering story on the broker, lesson by lesson.

    Each lesson runs, is judged, and says whether it showed what its title promises.

    Exit 1 if any lesson did not."""
    from ridectl.output.demo import render_intro, render_outcome
    from ridectl.scenarios.catalogue import LESSONS
    from ridectl.scenarios.context import Sizes, demo_context
    from ridectl.scenarios.running import WIDTH, LessonRunner

    out = console.out(record=bool(export_svg or export_html))
    if list_:
        for i, lesson in enumerate(LESSONS, 1):
            out.print(f"{i}. [bold]{lesson.name}[/]: {lesson.title}")
        return
    names = [lesson.name for lesson in LESSONS]
    chosen = scenario or names
    unknown = [s for s in chosen if s not in names]
    if unknown:
        raise UsageError(f"unknown scenario {unknown[0]!r} (valid: {', '.join(names)})")
    lessons = [lesson for lesson in LESSONS if lesson.name in chosen]
    failed: list[str] = []
    t0 = time.monotonic()
    with demo_context(
        bootstrap_servers, config, x or [], Sizes.pick(fast), seed=seed, keep_topics=keep_topics
    ) as ctx:
        # With --pause each lesson runs once Enter is pressed; else some run side by side.
        runner = LessonRunner(lessons, lambda lesson: lesson.run(ctx), 1 if pause else WIDTH)
        try:
            for i, lesson in enumerate(lessons, 1):
                render_intro(out, lesson, i, len(lessons))
                if pause:
                    console.err().input("[dim]press Enter to run it...[/]")
                status = f"running lesson {lesson.name} on {ctx.settings.bootstrap}"
                with console.err().status(status):
                    outcome = runner.outcome(lesson)
                render_outcome(out, lesson, outcome)
                if not outcome.promised:
                    failed.append(lesson.name)
        except (KeyboardInterrupt, Exception) as exc:
            if not is_interrupt(exc):
                runner.close()  # before the topics of the lessons still running are deleted
                raise
            _leave_now(ctx)
    out.print(
        f"\n{len(lessons) - len(failed)} of {len(lessons)} lessons showed what they promise "
        f"({time.monotonic() - t0:.0f}s)."
        + (f" Not this time: {', '.join(failed)}." if failed else "")
    )
    save(out, Export(export_svg, export_html, title="ridectl demo"))
    if failed:
        raise typer.Exit(ExitCode.FOUND)


def _leave_now(ctx: DemoContext) -> NoReturn:
    """Ctrl-C: runs may still be going in other threads. Waiting for them would hold the
    terminal, and their clients would complain while the interpreter shuts down; so the demo
    deletes its topics and leaves at once (the clients' and proxies' helper processes end
    when their stdin closes)."""
    console.err().print("interrupted")
    ctx.cleanup()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(ExitCode.INTERRUPTED)


def register(app: typer.Typer) -> None:
    app.command()(demo)
