"""How the commands that judge a run read it: which run (``--run-id``), reading it back from the
topic with a progress bar and the client's notes, and the refusal to pass a check that judged
nothing. ``check``, ``consume`` and ``explain`` share them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ridectl.clients.registry import DEFAULT_CLIENT, ClientName
from ridectl.errors import UsageError
from ridectl.output import console
from ridectl.output.console import progress_bar

if TYPE_CHECKING:
    from ridectl.clients.settings import ClientSettings
    from ridectl.judge.history import History
    from ridectl.run.consume import ConsumeStats

RunId = Annotated[
    str | None,
    typer.Option(
        "--run-id",
        help="Which run to judge (default: the last run produced to this topic from here, "
        "else the newest run found on the topic).",
        show_default=False,
    ),
]


def consume_history(
    topic: str,
    run_id: str | None,
    group: str | None,
    workers: int,
    work_ms: float | None,
    settings: ClientSettings,
    client: ClientName = DEFAULT_CLIENT,
    *,
    announce: bool = True,
) -> tuple[History, ConsumeStats]:
    """Read the chosen run back from ``topic`` (a progress bar on a terminal); the run chosen
    and the client's notes on its consumer settings go to stderr unless ``announce`` is off."""
    from ridectl.run.consume import ConsumeOptions
    from ridectl.run.flow import choose_run, read_back

    err = console.err()
    choice = choose_run(topic, run_id)
    if announce and (line := choice.announce(topic)) is not None:
        err.print(line)
    bar = progress_bar("consuming")
    opts = ConsumeOptions(
        topic=topic,
        settings=settings,
        group=group,
        workers=workers,
        work_ms=work_ms,
        client=client,
    )
    if bar is not None:
        with bar:
            task = bar.add_task("consuming", total=None, extra="")
            opts.progress = lambda done, total: bar.update(task, completed=done, total=total)
            history, stats, found = read_back(opts, choice)
    else:
        history, stats, found = read_back(opts, choice)
    if announce and found is not choice and (line := found.announce(topic)) is not None:
        err.print(line)
    if client is not DEFAULT_CLIENT:
        from ridectl.clients.order_defaults import Side, callouts

        for note in callouts(client, stats.effective, Side.CONSUMER):
            err.print(f"read with {client.value}: {note}", highlight=False)
    return history, stats


def judged_nothing(history: History, source: str, exit_code: bool) -> None:
    """Refuse to pass a check that judged nothing: a run that is not there is an error, and so
    is an empty history when the exit code is to be trusted by a script."""
    others = sorted(history.other_runs, reverse=True)
    if history.run_id is not None:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} older" if len(others) > 5 else "")
        raise UsageError(
            f"no events of run {history.run_id} in {source}",
            hint=f"runs there, newest first: {shown}; pick one with --run-id"
            if others
            else "it holds no ride events at all: produce a run first, or check the name",
        )
    if exit_code:
        raise UsageError(
            f"nothing to judge: {source} holds no ride events",
            hint="produce a run first, or check the name",
        )
