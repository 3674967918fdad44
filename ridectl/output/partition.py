"""How ``ridectl partition`` shows where keys land."""

from __future__ import annotations

import json

from rich.console import Console
from rich.text import Text

from ridectl.output.tables import Cell, Column, FitTable, Kind


def _cell(p: int | None) -> str:
    return "random" if p is None else str(p)


def render_partition(
    console: Console, rows: dict[str, dict[str, int | None]], names: list[str], partitions: int
) -> None:
    columns = [Column("key", kind=Kind.TEXT, min_width=10)]
    columns += [Column(n) for n in names]
    if len(names) > 1:
        columns.append(Column("agree", "the same partition with every client", justify="left"))
    table_rows: list[list[Cell]] = []
    split = 0
    for key, by_name in rows.items():
        cells: list[Cell] = [key, *(_cell(by_name[n]) for n in names)]
        if len(names) > 1:
            same = len(set(by_name.values())) == 1
            split += not same
            cells.append("yes" if same else Text("NO", style="bold red"))
        table_rows.append(cells)
    title = f"Partition of each key ({partitions} partitions)"
    console.print(FitTable(columns, table_rows, title=title))
    if len(names) > 1 and rows:
        console.print(
            f"{split} of {len(rows)} keys land on different partitions depending on the client: "
            "two producers of one ride using different clients would split its events."
        )


def partition_json(rows: dict[str, dict[str, int | None]], partitions: int) -> str:
    return json.dumps(
        {"partitions": partitions, "keys": [{"key": k, **v} for k, v in rows.items()]},
        indent=2,
    )
