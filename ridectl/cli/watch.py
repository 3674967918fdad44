"""``ridectl watch``: a live view of a topic while a run is produced."""

from __future__ import annotations

import sys
from collections import deque
from typing import Annotated

import typer

from ridectl.cli.options import Bootstrap, ConfigFile, OutFormat, XOption, settings_from
from ridectl.output import console


def watch(
    topic: Annotated[str, typer.Option("--topic", "-t", help="Topic to watch.")],
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Only this run (default: the newest seen).")
    ] = None,
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Replay the topic instead of new events.")
    ] = False,
    idle_timeout: Annotated[
        float,
        typer.Option("--idle-timeout", help="End when no event came for this many seconds."),
    ] = 10.0,
    max_seconds: Annotated[
        float | None, typer.Option("--max-seconds", help="End after this long in any case.")
    ] = None,
    wait_topic: Annotated[
        float,
        typer.Option("--wait-topic", help="Wait this long for the topic to be created."),
    ] = 60.0,
    fmt: Annotated[
        OutFormat, typer.Option("--format", "-f", help="Final result format.")
    ] = OutFormat.table,
    bootstrap_servers: Bootstrap = None,
    config: ConfigFile = None,
    x: XOption = None,
) -> None:
    """Show records per partition and violations as they arrive; end with Ctrl-C or when the
    run goes quiet, then print the final verdict."""
    from rich.live import Live

    from ridectl.output import report as render
    from ridectl.output.watch import live_view
    from ridectl.scenarios.watch import WatchState
    from ridectl.scenarios.watch import watch as run_watch

    settings = settings_from(bootstrap_servers, config, x)
    state: WatchState | None = None
    live_console = console.err() if fmt is OutFormat.json else console.out()
    stream = run_watch(
        settings,
        topic,
        run_id=run_id,
        from_beginning=from_beginning,
        idle_timeout_s=idle_timeout,
        max_seconds=max_seconds,
        wait_topic_s=wait_topic,
    )
    interrupted = False
    try:
        if live_console.is_terminal:
            with Live(console=live_console, refresh_per_second=4, transient=False) as live:
                for state in stream:
                    live.update(live_view(state))
        else:
            last = deque(stream, maxlen=1)
            state = last[0] if last else None
    except KeyboardInterrupt:
        interrupted = True
    if state is None or state.report is None:
        console.err().print("No ride events were seen.")
        raise typer.Exit(130 if interrupted else 0)
    if state.finished_reason:
        console.err().print(f"Watch ended: {state.finished_reason}.")
    if fmt is OutFormat.json:
        sys.stdout.write(render.render_json(state.report) + "\n")
    else:
        render.render_table(state.report, console.out(), title=f"run {state.history.run_id}")
    if interrupted:
        raise typer.Exit(130)


def register(app: typer.Typer) -> None:
    app.command()(watch)
