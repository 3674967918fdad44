"""``ridectl partition``: which partition each key lands on, per client partitioner."""

from __future__ import annotations

from typing import Annotated

import typer

from ridectl.cli.options import TableOrJson
from ridectl.clients.partitioners import PARTITIONERS, PartitionerName
from ridectl.limits import INT32_MAX
from ridectl.output.formats import Format, Views, emit

#: ``--partitioner all`` shows every partitioner side by side
ALL = "all"
_CHOICES = [*(p.value for p in PartitionerName), ALL]


def _known(value: str) -> str:
    if value not in _CHOICES:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(_CHOICES)}")
    return value


def partition(
    keys: Annotated[
        list[str], typer.Argument(help="Keys (e.g. ride ids).", metavar="KEY", show_default=False)
    ],
    partitions: Annotated[
        int, typer.Option("--partitions", "-p", help="Partition count.", min=1, max=INT32_MAX)
    ],
    partitioner: Annotated[
        str,
        typer.Option(
            "--partitioner",
            metavar="NAME",
            callback=_known,
            help="murmur2 (Java client, kafka-python), crc32 (librdkafka default), "
            "fnv1a (Sarama), murmur3, or all side by side.",
        ),
    ] = PartitionerName.murmur2.value,
    fmt: TableOrJson = Format.table,
) -> None:
    """Predict the partition each key lands on, per client partitioner."""
    from ridectl.clients.partitioners import partition_for
    from ridectl.output.partition import partition_json, render_partition

    names = list(PARTITIONERS) if partitioner == ALL else [PartitionerName(partitioner)]
    rows = {k: {str(n): partition_for(n, k.encode(), partitions) for n in names} for k in keys}
    emit(
        fmt,
        Views(
            table=lambda out: render_partition(out, rows, [str(n) for n in names], partitions),
            json=lambda: partition_json(rows, partitions),
        ),
    )


def register(app: typer.Typer) -> None:
    """Attach ``partition`` to the root app."""
    app.command()(partition)
