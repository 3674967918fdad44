"""``ridectl matrix``: a grid of producer settings, each run judged, in one table."""

from __future__ import annotations

from typing import Annotated

import typer

from ridectl.cli.options import (
    Bootstrap,
    Clients,
    ConfigFile,
    ExportHtml,
    ExportSvg,
    XOption,
    format_option,
    parse_clients,
    settings_from,
)
from ridectl.errors import UsageError
from ridectl.limits import INT32_MAX, RIDES_MAX
from ridectl.output import console
from ridectl.output.formats import Export, Format, Views, emit


def _split(values: list[str] | None, default: list[str]) -> list[str]:
    out: list[str] = []
    for v in values or default:
        out.extend(p.strip() for p in v.split(",") if p.strip())
    return out


Keying = Annotated[
    list[str] | None,
    typer.Option(
        "--keying",
        help="keyed and/or unkeyed (comma-separated or repeated).",
        metavar="KEYING",
        rich_help_panel="Settings to compare",
    ),
]
MaxInFlight = Annotated[
    list[str] | None,
    typer.Option(
        "--max-in-flight",
        help="max.in.flight.requests.per.connection values (comma-separated or repeated), "
        "e.g. 1,5.",
        metavar="N",
        rich_help_panel="Settings to compare",
    ),
]
Idempotence = Annotated[
    list[str] | None,
    typer.Option(
        "--idempotence",
        help="on and/or off (comma-separated or repeated).",
        metavar="ON|OFF",
        rich_help_panel="Settings to compare",
    ),
]
Fault = Annotated[
    list[str] | None,
    typer.Option(
        "--fault",
        help="Fault specs to compare, 'none' for no fault (repeatable).",
        metavar="SPEC",
        rich_help_panel="Settings to compare",
    ),
]
Partitions = Annotated[
    int,
    typer.Option(
        "--partitions", "-p", help="Partitions of each run's topic.", min=1, max=INT32_MAX
    ),
]


def matrix(
    keying: Keying = None,
    max_in_flight: MaxInFlight = None,
    # the spelling before --max-in-flight, kept for scripts that use it
    in_flight: Annotated[list[str] | None, typer.Option("--in-flight", hidden=True)] = None,
    idempotence: Idempotence = None,
    fault: Fault = None,
    rides: Annotated[
        int, typer.Option("--rides", "-n", help="Rides per run.", min=1, max=RIDES_MAX)
    ] = 300,
    partitions: Partitions = 3,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every run.")] = 7,
    fmt: Annotated[Format, format_option(Format.table, Format.json, Format.csv)] = Format.table,
    export_svg: ExportSvg = None,
    export_html: ExportHtml = None,
    client: Clients = None,
    bootstrap_servers: Bootstrap = None,
    config: ConfigFile = None,
    x: XOption = None,
) -> None:
    """Run the same rides under every combination of the given settings and compare them.

    Default grid: keyed/unkeyed, in-flight 1/5, idempotence on/off, fault none/error:every=7,hold=4.

    That makes 16 runs for each client given; each run has its own topic, deleted afterwards."""
    from ridectl.output.matrix import matrix_csv, matrix_json, matrix_table
    from ridectl.scenarios.context import Sizes, demo_context
    from ridectl.scenarios.matrix import parse_grid, run_matrix

    export = Export(export_svg, export_html, title="ridectl matrix")
    export.require_table(fmt)
    clients = parse_clients(client)
    settings_from(bootstrap_servers, config, x, clients=clients)  # refuse bad names first
    try:
        flights = [int(v) for v in _split([*(max_in_flight or []), *(in_flight or [])], ["1", "5"])]
    except ValueError:
        raise UsageError("--max-in-flight takes whole numbers, e.g. 1,5") from None
    cells = parse_grid(
        _split(keying, ["keyed", "unkeyed"]),
        flights,
        _split(idempotence, ["on", "off"]),
        fault or ["none", "error:every=7,hold=4"],
        clients,
    )
    err = console.err()
    with (
        demo_context(bootstrap_servers, config, x or [], Sizes(rides, rides), seed=seed) as ctx,
        err.status(f"running {len(cells)} configurations...") as status,
    ):
        rows = run_matrix(
            ctx,
            cells,
            rides,
            partitions,
            on_row=lambda r: status.update(f"done: {r.cell.label}"),
        )
    views = Views(
        table=lambda out: out.print(matrix_table(rows)),
        json=lambda: matrix_json(rows),
        csv=lambda: matrix_csv(rows),
    )
    emit(fmt, views, export)


def register(app: typer.Typer) -> None:
    app.command()(matrix)
