"""``ridectl audit``: argument parsing only; the topic (or file) is read and judged by
ridectl.audit.flow and the verdict shown by ridectl.output.audit."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ridectl.audit.reading import AUDIT_CLIENT
from ridectl.cli.options import Bootstrap, ConfigFile, XOption, format_option, settings_from
from ridectl.clients.registry import ClientName
from ridectl.errors import ExitCode, UsageError
from ridectl.limits import INT32_MAX, SECONDS_MAX, readable_file
from ridectl.output.formats import Format

if TYPE_CHECKING:
    from ridectl.audit.explain import EntityTrace
    from ridectl.audit.settings import MappingWords
    from ridectl.clients.settings import ClientSettings
    from ridectl.output.audit import AuditShown

_MAP = "Mapping"
_READ = "Reading"

Entity = Annotated[
    str | None,
    typer.Option(
        "--entity",
        help="What an entity is: 'key' (the record key as text, the default) or a dotted "
        "path into the JSON value (order_id, payload.after.id).",
        rich_help_panel=_MAP,
        show_default=False,
    ),
]
Seq = Annotated[
    str | None,
    typer.Option(
        "--seq",
        help="Path of a number that must rise per entity (version, sequence, LSN).",
        rich_help_panel=_MAP,
    ),
]
Contiguous = Annotated[
    bool,
    typer.Option(
        "--contiguous",
        help="--seq values step by one: a value never seen is a gap.",
        rich_help_panel=_MAP,
    ),
]
Stage = Annotated[
    str | None,
    typer.Option(
        "--stage", help="Path of a field whose values follow --stages.", rich_help_panel=_MAP
    ),
]
Stages = Annotated[
    str | None,
    typer.Option("--stages", help="The stages in their order: A,B,C.", rich_help_panel=_MAP),
]
MappingFile = Annotated[
    Path | None,
    typer.Option(
        "--mapping",
        help="TOML file with topic, entity, seq or stage + stages, contiguous (flags win).",
        rich_help_panel=_MAP,
    ),
]


Topic = Annotated[str | None, typer.Option("--topic", "-t", help="Audit this topic (read-only).")]
FromFile = Annotated[
    Path | None,
    typer.Option("--from", help="Audit an export instead: kcat -J lines or JSON lines."),
]
Since = Annotated[
    str | None,
    typer.Option(
        "--since",
        help="Start at records stamped this long ago (15m, 2h, 1d) or since a time "
        "(ISO 8601, UTC when no zone).",
        rich_help_panel=_READ,
    ),
]
Follow = Annotated[
    bool,
    typer.Option(
        "--follow",
        help="Keep judging new records until Ctrl-C or --idle-timeout.",
        rich_help_panel=_READ,
    ),
]
IdleTimeout = Annotated[
    float | None,
    typer.Option(
        "--idle-timeout",
        help="With --follow: stop after this many seconds without a new record.",
        rich_help_panel=_READ,
        min=0.0,
        max=SECONDS_MAX,
    ),
]
Explain = Annotated[
    str | None,
    typer.Option(
        "--explain",
        metavar="ENTITY",
        help="Tell this entity's records in log order, with offsets and timestamps.",
    ),
]
ExitCodeOpt = Annotated[
    bool,
    typer.Option(
        "--exit-code",
        help="Exit 1 when any violation, 0 when clean (2 when nothing was audited).",
    ),
]
Limit = Annotated[
    int,
    typer.Option(
        "--limit",
        help="Store the violations of this many violating entities.",
        min=1,
        max=INT32_MAX,
    ),
]
Client = Annotated[
    ClientName,
    typer.Option(
        "--client",
        envvar="RIDECTL_CLIENT",
        help=f"Client library that reads the topic (default {AUDIT_CLIENT}: the fastest "
        "full read).",
        case_sensitive=False,
        rich_help_panel=_READ,
    ),
]


def audit(
    topic: Topic = None,
    from_file: FromFile = None,
    entity: Entity = None,
    seq: Seq = None,
    contiguous: Contiguous = False,
    stage: Stage = None,
    stages: Stages = None,
    mapping_file: MappingFile = None,
    since: Since = None,
    follow: Follow = False,
    idle_timeout: IdleTimeout = None,
    explain: Explain = None,
    fmt: Annotated[Format, format_option(*Format)] = Format.table,
    exit_code: ExitCodeOpt = False,
    limit: Limit = 10_000,
    client: Client = AUDIT_CLIENT,
    bootstrap_servers: Bootstrap = None,
    config: ConfigFile = None,
    x: XOption = None,
) -> None:
    """Audit any topic: per entity, records out of order, repeated, missing or split."""
    from ridectl.audit.settings import MappingWords, read_mapping_file
    from ridectl.output import audit as render
    from ridectl.output.formats import Views, emit

    # The --from file first: a FIFO or a device is refused before any other check (the mapping
    # file is read, through the same guard, as the first step of the mapping).
    if from_file is not None:
        readable_file(from_file, "--from file", whole=False)
    settings = settings_from(bootstrap_servers, config, x, clients=(client,))
    _refuse_flag_mixes(seq, contiguous, stage, stages, follow, idle_timeout, mapping_file)
    flags = MappingWords(
        topic=topic,
        entity=entity,
        seq=seq,
        stage=stage,
        stages=None if stages is None else tuple(s.strip() for s in stages.split(",")),
        contiguous=True if contiguous else None,
    )
    words = flags if mapping_file is None else flags.over(read_mapping_file(mapping_file))
    if topic is not None and from_file is not None:
        raise UsageError("give either --topic T (read the topic) or --from FILE (an export)")
    if words.topic is None and from_file is None:
        raise UsageError("give --topic T (read the topic) or --from FILE (an export)")
    if explain is not None and fmt is not Format.table:
        raise UsageError("--explain tells one entity as a table: use it with --format table")
    asked = _Asked(from_file, since, follow, idle_timeout, limit, explain, client)
    shown, trace = _audited(asked, words, settings)
    views = Views(
        table=lambda con: (
            render.render_table(shown, con)
            if trace is None
            else render.render_explain(shown, trace, con)
        ),
        json=lambda: render.render_json(shown),
        ndjson=lambda: render.render_ndjson(shown),
        csv=lambda: render.render_csv(shown),
        junit=lambda: render.render_junit(shown),
    )
    emit(fmt, views)
    if exit_code and not shown.verdict.clean:
        raise typer.Exit(ExitCode.FOUND)


@dataclass(frozen=True, slots=True)
class _Asked:
    """How the records are to be read (the flags besides the mapping and the output)."""

    from_file: Path | None
    since: str | None
    follow: bool
    idle_timeout: float | None
    limit: int
    explain: str | None
    client: ClientName


def _audited(
    asked: _Asked, words: MappingWords, settings: ClientSettings
) -> tuple[AuditShown, EntityTrace | None]:
    """Read the file or the topic, judged with the mapping the words make."""
    from ridectl.audit.explain import EntityTrace
    from ridectl.audit.flow import audit_file, audit_topic, refuse_nothing_judged
    from ridectl.audit.reading import ReadPlan, refuse_time_seeking
    from ridectl.audit.settings import parse_since
    from ridectl.output.audit import AuditShown

    mapping = words.mapping()
    trace = None if asked.explain is None else EntityTrace(mapping, asked.explain)
    if asked.from_file is not None:
        if asked.since is not None or asked.follow:
            raise UsageError("--since and --follow read a topic: not with --from")
        if asked.explain is not None:
            raise UsageError(
                "--explain reads the records' timestamps from a topic: not with --from"
            )
        verdict = audit_file(asked.from_file, mapping, asked.limit, words.topic).verdict
        source = f"file {asked.from_file}"
    else:
        assert words.topic is not None
        if asked.explain is not None:
            refuse_time_seeking(asked.client, "--explain")
        since = asked.since
        plan = ReadPlan(
            words.topic,
            settings,
            asked.client,
            since_ms=None if since is None else parse_since(since, int(time.time() * 1000)),
            follow=asked.follow,
            idle_timeout_s=asked.idle_timeout,
        )
        verdict = audit_topic(plan, mapping, asked.limit, trace).verdict
        source = f"topic {words.topic}"
    refuse_nothing_judged(verdict, mapping, source)
    return AuditShown(verdict, mapping, source), trace


def _refuse_flag_mixes(
    seq: str | None,
    contiguous: bool,
    stage: str | None,
    stages: str | None,
    follow: bool,
    idle_timeout: float | None,
    mapping_file: Path | None,
) -> None:
    """Flags that do not go together: one line each."""
    if seq is not None and stage is not None:
        raise UsageError(
            "give the order as --seq PATH or as --stage PATH --stages A,B,..., not both"
        )
    if contiguous and stage is not None:
        raise UsageError("--contiguous goes with --seq (numbers that step by one), not --stage")
    if stages is not None and stage is None and (seq is not None or mapping_file is None):
        raise UsageError("--stages goes with --stage PATH (the field the stages are values of)")
    if idle_timeout is not None and not follow:
        raise UsageError("--idle-timeout goes with --follow")
    if idle_timeout is not None and idle_timeout <= 0:
        raise UsageError(f"--idle-timeout must be more than 0, not {idle_timeout:g}")


def register(app: typer.Typer) -> None:
    """Attach ``audit`` to the root app."""
    app.command()(audit)
