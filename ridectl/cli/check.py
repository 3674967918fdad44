"""``ridectl consume`` and ``ridectl check``: argument parsing only; the run is read back by
ridectl.run.consume, judged by ridectl.judge.checker and shown by ridectl.output."""

from __future__ import annotations

import contextlib
import gc
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ridectl.cli.options import (
    Bootstrap,
    ConfigFile,
    ExportHtml,
    ExportSvg,
    ReadingClient,
    Topic,
    XOption,
    format_option,
    settings_from,
)
from ridectl.cli.paths import writable_option
from ridectl.cli.reading import RunId, consume_history, judged_nothing
from ridectl.clients.registry import DEFAULT_CLIENT
from ridectl.errors import ExitCode, UsageError
from ridectl.limits import COUNT_MAX, INT32_MAX, readable_file
from ridectl.output import console
from ridectl.output.console import stdout_guard
from ridectl.output.formats import Export, Format, Views, emit
from ridectl.phases import mark

if TYPE_CHECKING:
    from ridectl.judge.history import History
    from ridectl.judge.verdict import Report

Group_ = Annotated[
    str | None,
    typer.Option(
        "--group",
        "-g",
        help="Consumer group: start from its committed offsets and commit at the end "
        "(default: no group, read from the beginning).",
        rich_help_panel="Consumer",
    ),
]
Workers = Annotated[
    int,
    typer.Option(
        "--workers",
        "-w",
        help="Process records in this many parallel threads (the consumer-side mistake).",
        rich_help_panel="Consumer",
        min=1,
        max=COUNT_MAX,
    ),
]
WorkMs = Annotated[
    float | None,
    typer.Option(
        "--work-ms",
        help="Simulated processing time per event: random up to N ms, and 20 x N for one "
        "event in 20 (default: 1 with --workers > 1).",
        rich_help_panel="Consumer",
        show_default=False,
        min=0.0,
        max=float(INT32_MAX),
    ),
]


def consume(
    topic: Topic,
    run_id: RunId = None,
    group: Group_ = None,
    workers: Workers = 1,
    work_ms: WorkMs = None,
    out: Annotated[
        Path | None,
        writable_option(
            "--out",
            "the history",
            "Save the history as NDJSON ('-' for stdout).",
            "-o",
            panel="Output",
        ),
    ] = None,
    client: ReadingClient = DEFAULT_CLIENT,
    bootstrap_servers: Bootstrap = None,
    config: ConfigFile = None,
    x: XOption = None,
) -> None:
    """Read a run back, in the order the client delivers it, and record the history."""
    from ridectl.output.run import render_consume

    settings = settings_from(bootstrap_servers, config, x, clients=(client,))
    out_fh = _open_out(out)
    history, stats = consume_history(topic, run_id, group, workers, work_ms, settings, client)
    if out_fh is not None:
        _write_history(history, out_fh, out)
    with stdout_guard():
        render_consume(console.err() if out == Path("-") else console.out(), history, stats, topic)


def _open_out(out: Path | None) -> Any:
    """Open the --out file before the read, so an unwritable path fails at once."""
    if out is None:
        return None
    if out == Path("-"):
        return sys.stdout
    try:
        return out.open("w", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None


def _write_history(history: Any, fh: Any, out: Path | None) -> None:
    from ridectl.judge.history import write_ndjson

    if out == Path("-"):
        with stdout_guard():
            write_ndjson(history.observations, fh)
        return
    try:
        write_ndjson(history.observations, fh)
        fh.flush()
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        # A failed flush leaves data in the buffer; closing must not raise it again later.
        with contextlib.suppress(OSError):
            fh.close()


TopicOpt = Annotated[
    str | None, typer.Option("--topic", "-t", help="Consume this topic, then judge.")
]
FromFile = Annotated[
    Path | None,
    typer.Option("--from", help="Judge a saved history (NDJSON) instead; '-' for stdin."),
]
ExitCodeOpt = Annotated[
    bool,
    typer.Option("--exit-code", help="Exit with 1 when any violation is found."),
]
ShowAll = Annotated[
    bool,
    typer.Option("--all", help="Show every violating ride.", rich_help_panel="Output"),
]
Explain = Annotated[
    bool,
    typer.Option(
        "--explain",
        help="Add each violating ride's story in one line.",
        rich_help_panel="Output",
    ),
]
Limit = Annotated[
    int,
    typer.Option(
        "--limit", help="Rows shown without --all.", rich_help_panel="Output", min=1, max=INT32_MAX
    ),
]
Out = Annotated[
    Path | None,
    writable_option(
        "--out",
        "the history",
        "Also save the consumed history as NDJSON.",
        "-o",
        panel="Output",
    ),
]


def check(
    topic: TopicOpt = None,
    from_file: FromFile = None,
    run_id: RunId = None,
    fmt: Annotated[
        Format, format_option(Format.table, Format.json, Format.ndjson, Format.csv)
    ] = Format.table,
    exit_code: ExitCodeOpt = False,
    show_all: ShowAll = False,
    explain: Explain = False,
    limit: Limit = 25,
    group: Group_ = None,
    workers: Workers = 1,
    work_ms: WorkMs = None,
    out: Out = None,
    export_svg: ExportSvg = None,
    export_html: ExportHtml = None,
    client: ReadingClient = DEFAULT_CLIENT,
    bootstrap_servers: Bootstrap = None,
    config: ConfigFile = None,
    x: XOption = None,
) -> None:
    """Judge a history: per ride, events out of order, duplicated, missing or lost."""
    mark("command line (imports, arguments)")
    from ridectl.output import report as render
    from ridectl.run.flow import judge, judge_file, judge_stream

    if (topic is None) == (from_file is None):
        raise UsageError("give either --topic T (consume, then judge) or --from FILE")
    export = Export(export_svg, export_html, title="ridectl check")
    export.require_table(fmt)
    report = None
    if from_file is not None:
        if from_file == Path("-"):
            history, report = judge_stream(sys.stdin, run_id)
        else:
            # streamed, so any size; but a FIFO or a device could block or never end
            readable_file(from_file, "history file", whole=False)
            try:
                history, report = judge_file(from_file, run_id)
            except FileNotFoundError:
                raise UsageError(f"history file not found: {from_file}") from None
            except OSError as exc:
                raise UsageError(f"cannot read {from_file}: {exc.strerror or exc}") from None
        if history.malformed:
            console.err().print(
                f"warning: {history.malformed} malformed line(s) in {from_file} were skipped"
            )
    else:
        assert topic is not None
        settings = settings_from(bootstrap_servers, config, x, clients=(client,))
        out_fh = _open_out(out)
        history, _stats = consume_history(topic, run_id, group, workers, work_ms, settings, client)
        if out_fh is not None:
            _write_history(history, out_fh, out)
    # The history is built once and kept to the end of this command: keep the garbage
    # collector from rescanning it (a measurable share of a large check).
    gc.freeze()
    if report is None:
        report = judge(history)
    if report.events == 0:
        judged_nothing(history, f"topic {topic}" if topic else str(from_file), exit_code)
    stories = _stories(topic, history, report) if explain else None
    views = Views(
        table=lambda con: render.render_table(
            report, con, limit=None if show_all else limit, stories=stories
        ),
        json=lambda: render.render_json(report, stories),
        ndjson=lambda: render.render_ndjson(report),
        csv=lambda: render.render_csv(report),
    )
    emit(fmt, views, export)
    mark("output")
    if exit_code and not report.clean:
        raise typer.Exit(ExitCode.FOUND)


def _stories(topic: str | None, history: History, report: Report) -> dict[str, str]:
    """The one-line story of each violating ride (``--explain``)."""
    from ridectl.story.evidence import run_evidence
    from ridectl.story.explain import StoryIndex

    index = StoryIndex(run_evidence(topic or "", history), history, report)
    return {ride.ride_id: index.line(ride.ride_id) for ride in report.per_ride}


def register(app: typer.Typer) -> None:
    """Attach ``consume`` and ``check`` to the root app."""
    app.command()(consume)
    app.command()(check)
