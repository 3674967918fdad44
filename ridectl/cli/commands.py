"""The commands that talk to Kafka: registered on the root app by ``ridectl.cli.main``."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach produce/consume/check/partition/proxy to the root app."""
