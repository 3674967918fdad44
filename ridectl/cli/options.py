"""Options shared by every command that talks to Kafka."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ridectl.settings import ClientSettings, build_settings


class OutFormat(StrEnum):
    """For commands whose result is a table for people or one JSON document for scripts."""

    table = "table"
    json = "json"


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


def settings_from(
    bootstrap: str | None,
    config: Path | None,
    x: list[str] | None,
    **overrides: str | None,
) -> ClientSettings:
    """Merge the connection options. ``overrides`` use Java names with '_' for '.', e.g.
    ``max_in_flight_requests_per_connection="1"``; None means "not given"."""
    java = {k.replace("_", "."): v for k, v in overrides.items()}
    return build_settings(bootstrap, config, x or [], java)
