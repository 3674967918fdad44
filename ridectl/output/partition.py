"""How ``ridectl partition`` shows where keys land."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table


def _cell(p: int | None) -> str:
    return "random" if p is None else str(p)


def render_partition(
    console: Console, rows: dict[str, dict[str, int | None]], names: list[str], partitions: int
) -> None:
    table = Table(title=f"Partition of each key ({partitions} partitions)", title_justify="left")
    table.add_column("key", style="bold")
    for n in names:
        table.add_column(n, justify="right")
    if len(names) > 1:
        table.add_column("agree?")
    split = 0
    for key, by_name in rows.items():
        cells = [_cell(by_name[n]) for n in names]
        extra: list[str] = []
        if len(names) > 1:
            same = len(set(by_name.values())) == 1
            split += not same
            extra = ["yes" if same else "[bold red]NO[/]: mixed clients split this key"]
        table.add_row(key, *cells, *extra)
    console.print(table)
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
