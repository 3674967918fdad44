"""``ridectl broker up|down|status|logs``: the local Apache Kafka broker."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from ridectl.broker.jars import jar_dir, jar_set_size
from ridectl.broker.local import LocalCluster
from ridectl.cli.options import TableOrJson
from ridectl.errors import ExitCode, UsageError
from ridectl.limits import INT32_MAX, PORT_MAX
from ridectl.output import console
from ridectl.output.broker import render_status, render_status_json, status_dict
from ridectl.output.formats import Format, Views, emit
from ridectl.versions import DEFAULT_PORT, KAFKA_VERSION

app = typer.Typer(
    help=f"Run a local Apache Kafka {KAFKA_VERSION} broker (Java 17+ and Maven; no Docker).",
    no_args_is_help=True,
)


def _a_folder(value: Path | None) -> Path | None:
    """``--state-dir`` names a folder, or a place for one: click's ``file_okay=False`` refuses
    only regular files, and a FIFO or a device there would fail later, less clearly."""
    if value is not None and value.exists() and not value.is_dir():
        raise UsageError(f"--state-dir {value} is not a folder")
    return value


StateDir = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        envvar="RIDECTL_STATE_DIR",
        help="Where the broker keeps its config, data and logs "
        "(default: ~/.local/state/ridectl/broker).",
        show_default=False,
        file_okay=False,
        callback=_a_folder,
    ),
]


@app.command()
def up(
    nodes: Annotated[
        int,
        typer.Option("--nodes", "-n", help="1, or 3 for a replicated KRaft cluster.", min=1, max=3),
    ] = 1,
    port: Annotated[
        int,
        typer.Option(
            "--port",
            "-p",
            help="First client port (nodes use port, port+1, ...).",
            min=1024,
            max=PORT_MAX,
        ),
    ] = DEFAULT_PORT,
    state_dir: StateDir = None,
) -> None:
    """Start the broker (downloading its jars once), or reuse the one already running."""
    cluster = LocalCluster(state_dir)
    err = console.err()
    t0 = time.monotonic()
    with err.status(f"starting Apache Kafka {KAFKA_VERSION} ({nodes} node(s))..."):
        state, started = cluster.up(nodes=nodes, port=port)
    if started:
        count, size = jar_set_size(jar_dir(cluster.cache_dir))
        err.print(
            f"Kafka {state.version} is up at [bold]{state.bootstrap}[/] "
            f"({state.nodes} node(s), ready in {time.monotonic() - t0:.1f}s; "
            f"{count} jars, {size / 1e6:.0f} MB in {jar_dir(cluster.cache_dir)})"
        )
    else:
        err.print(f"Kafka {state.version} is already running at [bold]{state.bootstrap}[/].")
    console.out().print(state.bootstrap, markup=False)


@app.command()
def down(
    wipe: Annotated[bool, typer.Option("--wipe", help="Also delete the topics' data.")] = False,
    state_dir: StateDir = None,
) -> None:
    """Stop the broker and wait until its Java processes have exited."""
    cluster = LocalCluster(state_dir)
    stopped = cluster.down(wipe=wipe)
    if stopped:
        console.err().print(f"Stopped {len(stopped)} broker process(es): {stopped}.")
    else:
        console.err().print("No local broker was running.")
    if wipe:
        console.err().print(f"Wiped the data under {cluster.state_dir}.")


@app.command()
def status(
    fmt: TableOrJson = Format.table,
    state_dir: StateDir = None,
) -> None:
    """Version, bootstrap address, pids, state directory and uptime. Exit 1 when not running."""
    cluster = LocalCluster(state_dir)
    state = cluster.running()
    alive = {n: cluster.alive(pid) for n, pid in state.pids.items()} if state else {}
    info = status_dict(state, str(cluster.state_dir), alive)
    emit(
        fmt,
        Views(table=lambda out: render_status(out, info), json=lambda: render_status_json(info)),
    )
    if state is None:
        raise typer.Exit(ExitCode.FOUND)


@app.command()
def logs(
    lines: Annotated[
        int, typer.Option("--lines", "-n", help="How many lines.", min=0, max=INT32_MAX)
    ] = 50,
    node: Annotated[int, typer.Option("--node", help="Which node's log.", min=1, max=3)] = 1,
    follow: Annotated[bool, typer.Option("--follow", "-F", help="Keep printing.")] = False,
    state_dir: StateDir = None,
) -> None:
    """Print the end of a node's broker.log."""
    cluster = LocalCluster(state_dir)
    out = console.out()
    for line in cluster.log_lines(node, lines):
        out.print(line, markup=False, highlight=False, soft_wrap=True)
    if follow:
        for line in cluster.follow(node):
            out.print(line, markup=False, highlight=False, soft_wrap=True)
