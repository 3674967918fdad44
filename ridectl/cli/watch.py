"""``ridectl watch``: a live view of a topic while a run is produced."""

from __future__ import annotations

from collections import deque
from typing import Annotated

import typer

from ridectl.cli.options import (
    Bootstrap,
    ConfigFile,
    ReadingClient,
    TableOrJson,
    XOption,
    settings_from,
)
from ridectl.clients.registry import DEFAULT_CLIENT
from ridectl.errors import ExitCode, is_interrupt
from ridectl.limits import SECONDS_MAX
from ridectl.output import console
from ridectl.output.formats import Format, Views, emit

RunId = Annotated[
    str | None, typer.Option("--run-id", help="Only this run (default: the newest seen).")
]
FromBeginning = Annotated[
    bool, typer.Option("--from-beginning", help="Replay the topic instead of new events.")
]
IdleTimeout = Annotated[
    float,
    typer.Option(
        "--idle-timeout",
        help="End when no event came for this many seconds.",
        min=0.0,
        max=SECONDS_MAX,
    ),
]
MaxSeconds = Annotated[
    float | None,
    typer.Option(
        "--max-seconds", help="End after this long in any case.", min=0.0, max=SECONDS_MAX
    ),
]
WaitTopic = Annotated[
    float | None,
    typer.Option(
        "--wait-topic",
        help="Wait this long for the topic to be created (default: --idle-timeout).",
        show_default=False,
        min=0.0,
        max=SECONDS_MAX,
    ),
]


def watch(
    topic: Annotated[str, typer.Option("--topic", "-t", help="Topic to watch.")],
    run_id: RunId = None,
    from_beginning: FromBeginning = False,
    idle_timeout: IdleTimeout = 10.0,
    max_seconds: MaxSeconds = None,
    wait_topic: WaitTopic = None,
    fmt: TableOrJson = Format.table,
    client: ReadingClient = DEFAULT_CLIENT,
    bootstrap_servers: Bootstrap = None,
    config: ConfigFile = None,
    x: XOption = None,
) -> None:
    """Show records per partition and violations as they arrive, then the final verdict.

    The watch ends with Ctrl-C, when the run goes quiet (--idle-timeout) or after --max-seconds."""
    from rich.live import Live

    from ridectl.output import report as render
    from ridectl.output.watch import live_view
    from ridectl.scenarios.watch import WatchState
    from ridectl.scenarios.watch import watch as run_watch

    settings = settings_from(bootstrap_servers, config, x, clients=(client,))
    state: WatchState | None = None
    live_console = console.out() if fmt is Format.table else console.err()
    stream = run_watch(
        settings,
        topic,
        run_id=run_id,
        from_beginning=from_beginning,
        idle_timeout_s=idle_timeout,
        max_seconds=max_seconds,
        wait_topic_s=idle_timeout if wait_topic is None else wait_topic,
        on_wait=lambda line: console.err().print(line, markup=False, highlight=False),
        client=client,
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
    except (KeyboardInterrupt, SystemError) as exc:
        if not is_interrupt(exc):
            raise
        interrupted = True
    if state is None or state.report is None:
        console.err().print("No ride events were seen.")
        raise typer.Exit(ExitCode.INTERRUPTED if interrupted else ExitCode.OK)
    if state.finished_reason:
        console.err().print(f"Watch ended: {state.finished_reason}.")
    report, title = state.report, f"run {state.history.run_id}"
    emit(
        fmt,
        Views(
            table=lambda out: render.render_table(report, out, title=title),
            json=lambda: render.render_json(report),
        ),
    )
    if interrupted:
        raise typer.Exit(ExitCode.INTERRUPTED)


def register(app: typer.Typer) -> None:
    app.command()(watch)
