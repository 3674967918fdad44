"""Options shared by several commands: connection, topic, output format and exported files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ridectl.cli.paths import writable_option
from ridectl.clients.registry import DEFAULT_CLIENT, ClientName
from ridectl.clients.settings import ClientSettings, build_settings
from ridectl.errors import UsageError
from ridectl.output.formats import Format


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
    )


TableOrJson = Annotated[Format, format_option(Format.table, Format.json)]
ExportSvg = Annotated[
    Path | None,
    writable_option("--export-svg", "the SVG picture", "Also save the table as an SVG picture."),
]
ExportHtml = Annotated[
    Path | None, writable_option("--export-html", "the HTML page", "Also save the table as HTML.")
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
        rich_help_panel="Connection",
    ),
]
ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Java-style client .properties file (security.protocol, sasl.*, ssl.*, ...).",
        rich_help_panel="Connection",
        dir_okay=False,
    ),
]
XOption = Annotated[
    list[str] | None,
    typer.Option(
        "-X",
        help="Java-style client setting key=value; repeatable, wins over --config.",
        metavar="KEY=VALUE",
        rich_help_panel="Connection",
    ),
]


def client_option(doing: str) -> Any:
    """``--client`` (environment: ``RIDECTL_CLIENT``): the client library that ``doing``."""
    return typer.Option(
        "--client",
        envvar="RIDECTL_CLIENT",
        help=f"Client library that {doing}: kafka-python (default), java (the Kafka Java "
        "client) or librdkafka (confluent-kafka).",
        case_sensitive=False,
    )


Client = Annotated[ClientName, client_option("produces")]
ReadingClient = Annotated[ClientName, client_option("reads the topic")]
Clients = Annotated[
    list[str] | None,
    typer.Option(
        "--client",
        envvar="RIDECTL_CLIENT",
        help="Client libraries to compare (comma-separated or repeated): kafka-python, java, "
        "librdkafka, or all (default: kafka-python).",
        metavar="CLIENT",
    ),
]


def parse_clients(values: list[str] | None) -> tuple[ClientName, ...]:
    """The clients of a ``--client`` list; ``all`` stands for the three."""
    names = [v.strip().lower() for raw in values or ["kafka-python"] for v in raw.split(",")]
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
    **overrides: str | None,
) -> ClientSettings:
    """Merge the connection options. ``overrides`` use Java names with '_' for '.', e.g.
    ``max_in_flight_requests_per_connection="1"``; None means "not given". A name outside
    ridectl's table must be one every client of ``clients`` knows."""
    from ridectl.clients.factory import check_settings

    java = {k.replace("_", "."): v for k, v in overrides.items() if v is not None}
    settings = build_settings(bootstrap, config, x or [], java)
    for client in clients:
        check_settings(client, settings)
    return settings
