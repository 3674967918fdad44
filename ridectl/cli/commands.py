"""``produce``, ``consume``, ``check`` and ``partition``: argument parsing only; the work is
done in ridectl.produce / ridectl.consume / ridectl.judge.checker, and shown by ridectl.output."""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ridectl.cli.options import Bootstrap, ConfigFile, OutFormat, XOption, settings_from
from ridectl.errors import RidectlError, UsageError
from ridectl.output import console


class Acks(StrEnum):
    all = "all"
    minus_one = "-1"
    one = "1"
    zero = "0"


class CheckFormat(StrEnum):
    table = "table"
    json = "json"
    ndjson = "ndjson"
    csv = "csv"


class PartitionerName(StrEnum):
    murmur2 = "murmur2"
    crc32 = "crc32"
    fnv1a = "fnv1a"
    murmur3 = "murmur3"


class KeyBy(StrEnum):
    ride = "ride"
    zone = "zone"


class PartitionerChoice(StrEnum):
    murmur2 = "murmur2"
    crc32 = "crc32"
    fnv1a = "fnv1a"
    murmur3 = "murmur3"
    all = "all"


Topic = Annotated[str, typer.Option("--topic", "-t", help="Topic name.")]
RunId = Annotated[
    str | None,
    typer.Option(
        "--run-id",
        help="Which run to judge (default: the last run produced to this topic from here, "
        "else the newest run found on the topic).",
        show_default=False,
    ),
]
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
    ),
]


@contextlib.contextmanager
def _stdout_guard() -> Iterator[None]:
    """Turn a failing stdout (a full disk, an I/O error) into one error line.

    A reader that went away (EPIPE) is left to the caller, which treats it as normal. After a
    failure stdout is pointed at /dev/null so the interpreter's final flush stays quiet."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            raise
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise RidectlError(f"cannot write the results to stdout: {exc.strerror or exc}") from None


def _check_writable(path: Path | None, what: str) -> None:
    """Fail before any work when an output file's folder is missing or not writable."""
    if path is None or path == Path("-"):
        return
    if path.is_dir():
        raise UsageError(f"cannot write {what} {path}: it is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"cannot write {what} {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK) and not (path.exists() and os.access(path, os.W_OK)):
        raise UsageError(f"cannot write {what} {path}: permission denied")


def _progress_bar(label: str) -> Any:
    """A rich progress bar on stderr when it is a terminal, else a no-op."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    err = console.err()
    if not err.is_terminal:
        return None
    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[extra]}"),
        console=err,
        transient=True,
    )


def produce(
    topic: Topic,
    rides: Annotated[int, typer.Option("--rides", "-n", help="How many ride lifecycles.")] = 1000,
    keyed: Annotated[
        bool,
        typer.Option(
            "--keyed/--unkeyed", help="Key each event by its ride_id, or send it without a key."
        ),
    ] = True,
    partitions: Annotated[
        int | None,
        typer.Option(
            "--partitions",
            "-p",
            help="Partitions when creating the topic (default: 6; an existing topic keeps its "
            "count).",
            show_default=False,
        ),
    ] = None,
    replication_factor: Annotated[
        int, typer.Option("--replication-factor", help="Replicas when creating the topic.")
    ] = 1,
    max_in_flight: Annotated[
        int | None,
        typer.Option(
            "--max-in-flight",
            help="max.in.flight.requests.per.connection (client default: 5).",
            rich_help_panel="Producer settings",
            show_default=False,
        ),
    ] = None,
    retries: Annotated[
        int | None,
        typer.Option(
            "--retries",
            help="retries (client default: unlimited within delivery.timeout.ms).",
            rich_help_panel="Producer settings",
            show_default=False,
        ),
    ] = None,
    idempotence: Annotated[
        bool | None,
        typer.Option(
            "--idempotence/--no-idempotence",
            help="enable.idempotence (client default: on, unless another setting conflicts).",
            rich_help_panel="Producer settings",
            show_default=False,
        ),
    ] = None,
    acks: Annotated[
        Acks | None,
        typer.Option(
            "--acks",
            help="acks (client default: all).",
            rich_help_panel="Producer settings",
            show_default=False,
        ),
    ] = None,
    linger_ms: Annotated[
        int | None,
        typer.Option(
            "--linger-ms",
            help="linger.ms (client default: 0).",
            rich_help_panel="Producer settings",
            show_default=False,
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            help="batch.size in bytes (client default: 16384).",
            rich_help_panel="Producer settings",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Seed of the interleaving, to repeat a run exactly."),
    ] = None,
    concurrent: Annotated[
        int, typer.Option("--concurrent", help="Rides in progress at the same time.")
    ] = 64,
    record_size: Annotated[
        int | None,
        typer.Option(
            "--record-size",
            help="Pad each event's JSON to about this many bytes.",
            show_default=False,
        ),
    ] = None,
    partitioner: Annotated[
        PartitionerName | None,
        typer.Option(
            "--partitioner",
            help="Place keyed records as this client would: murmur2 (Java, kafka-python), "
            "crc32 (librdkafka), fnv1a (Sarama), murmur3.",
            show_default=False,
        ),
    ] = None,
    key_by: Annotated[
        KeyBy,
        typer.Option(
            "--key-by",
            help="With --keyed: key by ride id, or by pickup zone (hot keys: --hot-share of "
            "the rides start at the airport).",
        ),
    ] = KeyBy.ride,
    hot_share: Annotated[
        float, typer.Option("--hot-share", help="With --key-by zone: share of airport rides.")
    ] = 0.5,
    zones: Annotated[int, typer.Option("--zones", help="With --key-by zone: zone count.")] = 12,
    grow_to: Annotated[
        int | None,
        typer.Option(
            "--grow-to",
            help="Add partitions up to this count halfway through the run (keys remap).",
            show_default=False,
        ),
    ] = None,
    payment_partitioner: Annotated[
        PartitionerName | None,
        typer.Option(
            "--payment-partitioner",
            help="Send PaymentProcessed from a second producer that places keys like this "
            "client (two services, two client libraries, one key).",
            show_default=False,
        ),
    ] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault",
            help="Inject failures through a fault proxy, e.g. error:every=3, lost-ack:first=2, "
            "delay:ms=200, disconnect:every=10. Repeatable.",
            metavar="SPEC",
        ),
    ] = None,
    fmt: Annotated[OutFormat, typer.Option("--format", "-f")] = OutFormat.table,
    bootstrap_servers: Bootstrap = None,
    config: ConfigFile = None,
    x: XOption = None,
) -> None:
    """Produce interleaved ride lifecycles and report what the broker acknowledged."""
    from ridectl import runs
    from ridectl.experiment import produce as run_produce
    from ridectl.output.run import produce_json, render_produce
    from ridectl.produce import ProduceOptions

    if rides <= 0:
        raise UsageError(f"--rides must be 1 or more, not {rides}")
    if record_size is not None and record_size < 0:
        raise UsageError(f"--record-size must be 0 or more, not {record_size}")
    settings = settings_from(
        bootstrap_servers,
        config,
        x,
        max_in_flight_requests_per_connection=_s(max_in_flight),
        retries=_s(retries),
        enable_idempotence=None if idempotence is None else str(idempotence).lower(),
        acks=None if acks is None else acks.value,
        linger_ms=_s(linger_ms),
        batch_size=_s(batch_size),
    )
    faults = _parse_faults(fault)
    padding = max(0, (record_size or 0) - 190)
    bar = _progress_bar("producing")
    opts = ProduceOptions(
        topic=topic,
        rides=rides,
        settings=settings,
        keyed=keyed,
        partitions=partitions,
        replication=replication_factor,
        seed=seed,
        concurrent=concurrent,
        padding=padding,
        partitioner=partitioner.value if partitioner else None,
        faults=faults,
        key_by=key_by.value,
        hot_share=hot_share,
        zones=zones,
        grow_to=grow_to,
        second_partitioner=payment_partitioner.value if payment_partitioner else None,
    )
    if bar is not None:
        with bar:
            task = bar.add_task("producing", total=rides * 5, extra="")
            opts.progress = lambda sent, acked: bar.update(
                task, completed=sent, extra=f"{acked} acknowledged"
            )
            result = run_produce(opts)
    else:
        result = run_produce(opts)
    record = result.to_dict()
    record["bootstrap"] = settings.bootstrap
    try:
        runs.save_run(record, result.acks)
    except OSError as exc:
        console.err().print(f"warning: could not remember the run under {runs.home()}: {exc}")
    with _stdout_guard():
        if fmt is OutFormat.json:
            console.out().print(produce_json(result), markup=False, highlight=False)
        else:
            render_produce(console.out(), result)
    if result.aborted:
        raise RidectlError(result.aborted, hint="the summary above shows what was acknowledged")
    if result.interrupted:
        raise typer.Exit(130)


def _s(value: int | None) -> str | None:
    return None if value is None else str(value)


def _parse_faults(specs: list[str] | None) -> list[Any]:
    if not specs:
        return []
    from ridectl.faults.spec import parse_fault_spec

    return [parse_fault_spec(s) for s in specs]


def _consume_history(
    topic: str,
    run_id: str | None,
    group: str | None,
    workers: int,
    work_ms: float | None,
    settings: Any,
) -> Any:
    from ridectl.consume import ConsumeOptions
    from ridectl.experiment import choose_run, read_back

    err = console.err()
    choice = choose_run(topic, run_id)
    if (line := choice.announce(topic)) is not None:
        err.print(line)
    bar = _progress_bar("consuming")
    opts = ConsumeOptions(
        topic=topic,
        settings=settings,
        group=group,
        workers=workers,
        work_ms=work_ms,
    )
    if bar is not None:
        with bar:
            task = bar.add_task("consuming", total=None, extra="")
            opts.progress = lambda done, total: bar.update(task, completed=done, total=total)
            history, stats, found = read_back(opts, choice)
    else:
        history, stats, found = read_back(opts, choice)
    if found is not choice and (line := found.announce(topic)) is not None:
        err.print(line)
    return history, stats


def consume(
    topic: Topic,
    run_id: RunId = None,
    group: Group_ = None,
    workers: Workers = 1,
    work_ms: WorkMs = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Save the history as NDJSON ('-' for stdout)."),
    ] = None,
    bootstrap_servers: Bootstrap = None,
    config: ConfigFile = None,
    x: XOption = None,
) -> None:
    """Read a run back, in the order the client delivers it, and record the history."""
    from ridectl.output.run import render_consume

    settings = settings_from(bootstrap_servers, config, x)
    out_fh = _open_out(out)
    history, stats = _consume_history(topic, run_id, group, workers, work_ms, settings)
    if out_fh is not None:
        _write_history(history, out_fh, out)
    with _stdout_guard():
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
        with _stdout_guard():
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


def check(
    topic: Annotated[
        str | None, typer.Option("--topic", "-t", help="Consume this topic, then judge.")
    ] = None,
    from_file: Annotated[
        Path | None,
        typer.Option("--from", help="Judge a saved history (NDJSON) instead; '-' for stdin."),
    ] = None,
    run_id: RunId = None,
    fmt: Annotated[CheckFormat, typer.Option("--format", "-f")] = CheckFormat.table,
    exit_code: Annotated[
        bool,
        typer.Option("--exit-code", help="Exit with 1 when any violation is found."),
    ] = False,
    show_all: Annotated[bool, typer.Option("--all", help="Show every violating ride.")] = False,
    limit: Annotated[int, typer.Option("--limit", help="Rows shown without --all.")] = 25,
    group: Group_ = None,
    workers: Workers = 1,
    work_ms: WorkMs = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Also save the consumed history as NDJSON."),
    ] = None,
    export_svg: Annotated[
        Path | None, typer.Option("--export-svg", help="Save the table as an SVG picture.")
    ] = None,
    export_html: Annotated[
        Path | None, typer.Option("--export-html", help="Save the table as HTML.")
    ] = None,
    bootstrap_servers: Bootstrap = None,
    config: ConfigFile = None,
    x: XOption = None,
) -> None:
    """Judge a history: per ride, events out of order, duplicated, missing or lost."""
    from ridectl.judge.checker import check as judge
    from ridectl.judge.history import read_ndjson, read_ndjson_file
    from ridectl.output import report as render

    if (topic is None) == (from_file is None):
        raise UsageError("give either --topic T (consume, then judge) or --from FILE")
    if limit < 1:
        raise UsageError(f"--limit must be 1 or more, not {limit}")
    if (export_svg or export_html) and fmt is not CheckFormat.table:
        raise UsageError("--export-svg/--export-html save the table: use them with --format table")
    _check_writable(export_svg, "the SVG picture")
    _check_writable(export_html, "the HTML page")
    if from_file is not None:
        if from_file == Path("-"):
            history = read_ndjson(sys.stdin, run_id=run_id)
        else:
            try:
                history = read_ndjson_file(from_file, run_id=run_id)
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
        settings = settings_from(bootstrap_servers, config, x)
        out_fh = _open_out(out)
        history, _stats = _consume_history(topic, run_id, group, workers, work_ms, settings)
        if out_fh is not None:
            _write_history(history, out_fh, out)
    # The history is built once and kept to the end of this command: keep the garbage
    # collector from rescanning it (a measurable share of a large check).
    gc.freeze()
    report = judge(history)
    with _stdout_guard():
        if fmt is CheckFormat.table:
            con = console.out(record=bool(export_svg or export_html))
            render.render_table(report, con, limit=None if show_all else limit)
        else:
            text = {
                CheckFormat.json: render.render_json,
                CheckFormat.ndjson: render.render_ndjson,
                CheckFormat.csv: render.render_csv,
            }[fmt](report)
            sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    if fmt is CheckFormat.table and (export_svg or export_html):
        try:
            console.export(con, export_svg, export_html, title="ridectl check")
        except OSError as exc:
            where = getattr(exc, "filename", None) or export_svg or export_html
            raise UsageError(f"cannot write {where}: {exc.strerror or exc}") from None
    if exit_code and not report.clean:
        raise typer.Exit(1)


def partition(
    keys: Annotated[list[str], typer.Argument(help="Keys (e.g. ride ids).", show_default=False)],
    partitions: Annotated[int, typer.Option("--partitions", "-p", help="Partition count.")],
    partitioner: Annotated[
        PartitionerChoice,
        typer.Option(
            "--partitioner",
            help="murmur2 (Java client, kafka-python), crc32 (librdkafka default), "
            "fnv1a (Sarama), murmur3, or all side by side.",
        ),
    ] = PartitionerChoice.murmur2,
    fmt: Annotated[OutFormat, typer.Option("--format", "-f")] = OutFormat.table,
) -> None:
    """Predict the partition each key lands on, per client partitioner."""
    from ridectl.output.partition import partition_json, render_partition
    from ridectl.partitioners import PARTITIONERS, partition_for

    names = list(PARTITIONERS) if partitioner is PartitionerChoice.all else [partitioner.value]
    if partitions <= 0:
        raise UsageError(f"--partitions must be 1 or more, not {partitions}")
    rows = {k: {n: partition_for(n, k.encode(), partitions) for n in names} for k in keys}
    with _stdout_guard():
        if fmt is OutFormat.json:
            console.out().print(partition_json(rows, partitions), markup=False, highlight=False)
        else:
            render_partition(console.out(), rows, names, partitions)


def register(app: typer.Typer) -> None:
    """Attach the commands to the root app."""
    app.command()(produce)
    app.command()(consume)
    app.command()(check)
    app.command()(partition)
