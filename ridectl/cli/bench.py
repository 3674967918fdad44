"""``ridectl bench``: argument parsing only; the measurements live in ridectl.bench."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ridectl.cli.options import parse_clients
from ridectl.cli.paths import writable_dir_option
from ridectl.errors import RidectlError, UsageError
from ridectl.limits import COUNT_MAX
from ridectl.output import console

if TYPE_CHECKING:
    from ridectl.bench import Section


class BenchSize(StrEnum):
    small = "small"
    full = "full"


Size = Annotated[
    BenchSize,
    typer.Option(
        "--size",
        help="small: everything tiny, in seconds (smoke test); full: the published figures.",
    ),
]
Repeat = Annotated[
    int | None,
    typer.Option(
        "--repeat",
        "-r",
        help="Runs per measurement, pairs of ridectl and a bare client included; figures "
        "are their medians (default: 3 full, 1 small; pairs 9 full).",
        show_default=False,
        min=1,
        max=COUNT_MAX,
    ),
]
SectionOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--section",
        help="Measure only these parts (comma-separated or repeated): producer, "
        "consume-check, checker, first-lesson, cold-start (default: all).",
        metavar="SECTION",
        show_default=False,
    ),
]
OutDir = Annotated[
    Path,
    writable_dir_option(
        "--out-dir",
        "the results",
        "Where RESULTS.md and results.json go.",
        "-o",
        panel="Output",
    ),
]
BootstrapServers = Annotated[
    str | None,
    typer.Option(
        "--bootstrap-servers",
        "-b",
        help="Measure on this broker (default: start a local one for the run, then stop it).",
        show_default=False,
        rich_help_panel="Connection",
    ),
]
Client = Annotated[
    list[str] | None,
    typer.Option(
        "--client",
        help="Clients to measure, each beside a bare loop of its own (comma-separated or "
        "repeated): kafka-python, java, librdkafka, or all (default: all).",
        metavar="CLIENT",
    ),
]


def bench(
    size: Size = BenchSize.full,
    repeat: Repeat = None,
    section: SectionOpt = None,
    out_dir: OutDir = Path("bench"),
    bootstrap_servers: BootstrapServers = None,
    client: Client = None,
) -> None:
    """Measure ridectl with each client beside a bare loop of the same client.

    Also times the checker, and writes a dated RESULTS.md and results.json."""
    from ridectl.bench import SIZES, BenchOptions, run_bench, write_results
    from ridectl.clients.settings import validate_host_port

    chosen = SIZES[size.value]
    if bootstrap_servers is not None:
        for part in bootstrap_servers.split(","):
            validate_host_port(part.strip(), "bootstrap server")
    sections = _sections(section)
    err = console.err()

    def progress(message: str) -> None:
        err.print(f"[dim]bench:[/] {message}", highlight=False)

    results = run_bench(
        BenchOptions(
            size=chosen,
            repeat=repeat or chosen.repeat,
            pair_repeat=repeat or chosen.pair_repeat,
            bootstrap=bootstrap_servers,
            progress=progress,
            clients=parse_clients(client or ["all"]),
            sections=sections,
        )
    )
    md, js = write_results(results, out_dir)
    for target in results.targets:
        met = target.met
        verdict = "-" if met is None else ("met" if met else "NOT met")
        err.print(f"{target.name}: {target.figure} ({target.target}): {verdict}")
    console.out().print(f"{md}\n{js}", markup=False, highlight=False)
    failed = results.failures()
    if failed:
        raise RidectlError(
            f"{len(failed)} section(s) of the bench failed ("
            + "; ".join(f"{s.value}: {error}" for s, error in failed)
            + f"); what was measured is in {md}"
        )


def _sections(given: list[str] | None) -> tuple[Section, ...]:
    """The sections named (in the bench's own order), all when none is."""
    from ridectl.bench import Section

    if not given:
        return tuple(Section)
    names = {part.strip() for item in given for part in item.split(",") if part.strip()}
    known = [s.value for s in Section]
    unknown = sorted(names - set(known))
    if unknown or not names:
        raise UsageError(
            f"unknown --section {', '.join(unknown) or '(empty)'}; choose from {', '.join(known)}"
        )
    return tuple(s for s in Section if s.value in names)


def register(app: typer.Typer) -> None:
    """Attach ``bench`` to the root app."""
    app.command()(bench)
