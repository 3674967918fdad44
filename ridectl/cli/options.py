"""Options shared by several commands: connection, topic, output format and exported files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from ridectl.cli.paths import writable_option
from ridectl.clients.registry import DEFAULT_CLIENT, ClientName, entry
from ridectl.clients.setting_names import SettingName
from ridectl.clients.settings import ClientSettings, build_settings
from ridectl.errors import UsageError
from ridectl.output.formats import Format

#: Panels of ``--help``: how the result is shown or saved, and how ridectl reaches Kafka.
OUTPUT = "Output"
CONNECTION = "Connection"
#: Every panel a command's ``--help`` may group options into, by ``rich_help_panel=``; the
#: rest stay under Typer's "Options". One list, so that each command names a panel alike and
#: an option is found where it was in the last command's help.
PANELS = (
    "Topic",
    "Keys and partitioners",
    "Producer settings",
    "Consumer",
    "Faults",
    "Settings to compare",
    "Mapping",
    "Reading",
    OUTPUT,
    CONNECTION,
)


# Any: typer.Option() is typed to return Any (it stands in for the parameter's default).
def format_option(*offered: Format) -> Any:
    """``--format/-f`` limited to the formats a command ``offered``;
    any other choice is a usage error before the command runs."""
    names = ", ".join(offered)

    def only_offered(value: Format) -> Format:
        if value not in offered:
            raise typer.BadParameter(f"{value} is not offered here; choose {names}")
        return value

    return typer.Option(
        "--format",
        "-f",
        metavar="|".join(offered),
        callback=only_offered,
        help=f"Output format: {names}.",
        rich_help_panel=OUTPUT,
    )


TableOrJson = Annotated[Format, format_option(Format.table, Format.json)]
ExportSvg = Annotated[
    Path | None,
    writable_option(
        "--export-svg", "the SVG picture", "Also save the table as an SVG picture.", panel=OUTPUT
    ),
]
ExportHtml = Annotated[
    Path | None,
    writable_option("--export-html", "the HTML page", "Also save the table as HTML.", panel=OUTPUT),
]

Topic = Annotated[str, typer.Option("--topic", "-t", help="Topic name.")]
Bootstrap = Annotated[
    str | None,
    typer.Option(
        "--bootstrap-servers",
        "-b",
        envvar="KAFKA_BOOTSTRAP_SERVERS",
        help="Comma-separated host:port list (default: localhost:9092).",
        show_default=False,
        rich_help_panel=CONNECTION,
    ),
]
ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Java-style client .properties file (security.protocol, sasl.*, ssl.*, ...).",
        rich_help_panel=CONNECTION,
        dir_okay=False,
    ),
]
XOption = Annotated[
    list[str] | None,
    typer.Option(
        "-X",
        help="Java-style client setting key=value; repeatable, wins over --config.",
        metavar="KEY=VALUE",
        rich_help_panel=CONNECTION,
    ),
]


def _clients_named() -> str:
    """The clients as ``--client`` help lists them, each with its note."""
    named = []
    for client in ClientName:
        notes = [n for n in (entry(client).about, client is DEFAULT_CLIENT and "default") if n]
        named.append(client.value + (f" ({', '.join(notes)})" if notes else ""))
    return ", ".join(named[:-1]) + " or " + named[-1]


# Any: typer.Option() is typed to return Any, as above.
def client_option(doing: str) -> Any:
    """``--client`` (environment: ``RIDECTL_CLIENT``): the client library that ``doing``."""
    return typer.Option(
        "--client",
        envvar="RIDECTL_CLIENT",
        help=f"Client library that {doing}: {_clients_named()}.",
        metavar="CLIENT",
        case_sensitive=False,
        rich_help_panel=CONNECTION,
    )


Client = Annotated[ClientName, client_option("produces")]
ReadingClient = Annotated[ClientName, client_option("reads the topic")]
Clients = Annotated[
    list[str] | None,
    typer.Option(
        "--client",
        envvar="RIDECTL_CLIENT",
        help="Client libraries to compare (comma-separated or repeated): "
        f"{', '.join(ClientName)}, or all (default: {DEFAULT_CLIENT.value}).",
        metavar="CLIENT",
        rich_help_panel="Settings to compare",
    ),
]


def parse_clients(values: list[str] | None) -> tuple[ClientName, ...]:
    """The clients of a ``--client`` list; ``all`` stands for every one."""
    names = [v.strip().lower() for raw in values or [DEFAULT_CLIENT.value] for v in raw.split(",")]
    out: list[ClientName] = []
    for name in filter(None, names):
        if name == "all":
            chosen = list(ClientName)
        elif name in {c.value for c in ClientName}:
            chosen = [ClientName(name)]
        else:
            known = ", ".join(c.value for c in ClientName)
            raise UsageError(f"--client takes {known} or all, not {name!r}")
        out.extend(c for c in chosen if c not in out)
    if not out:
        raise UsageError("--client names no client")
    return tuple(out)


def settings_from(
    bootstrap: str | None,
    config: Path | None,
    x: list[str] | None,
    *,
    clients: tuple[ClientName, ...] = (DEFAULT_CLIENT,),
    options: Mapping[SettingName, str | None] | None = None,
) -> ClientSettings:
    """Merge the connection options and the command's own setting ``options`` (None: not
    given), later winning. A name outside ridectl's table must be one every client of
    ``clients`` knows."""
    from ridectl.clients.factory import check_settings

    given: dict[str, str] = {k: v for k, v in (options or {}).items() if v is not None}
    settings = build_settings(bootstrap, config, x or [], given)
    for client in clients:
        check_settings(client, settings)
    return settings
