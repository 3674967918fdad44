"""``ridectl partition``: which partition each key lands on, per client partitioner."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from ridectl.cli.options import OutFormat
from ridectl.errors import UsageError
from ridectl.output import console
from ridectl.output.console import stdout_guard


class PartitionerChoice(StrEnum):
    murmur2 = "murmur2"
    crc32 = "crc32"
    fnv1a = "fnv1a"
    murmur3 = "murmur3"
    all = "all"


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
    with stdout_guard():
        if fmt is OutFormat.json:
            console.out().print(partition_json(rows, partitions), markup=False, highlight=False)
        else:
            render_partition(console.out(), rows, names, partitions)


def register(app: typer.Typer) -> None:
    """Attach ``partition`` to the root app."""
    app.command()(partition)
