"""The comparison matrix as a table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from ridectl.scenarios.matrix import MatrixRow


def matrix_table(rows: Sequence[MatrixRow]) -> Table:
    table = Table(title="Ordering under each setting", title_justify="left")
    for name, justify in [
        ("key", "left"),
        ("in-flight", "right"),
        ("idempotence", "left"),
        ("fault", "left"),
        ("out of order", "right"),
        ("duplicate", "right"),
        ("missing", "right"),
        ("lost", "right"),
        ("rides violated", "right"),
        ("events/s", "right"),
        ("ack p50 ms", "right"),
        ("ack p99 ms", "right"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        d = row.to_dict()
        bad = int(d["violating_rides"])
        table.add_row(
            "keyed" if d["keyed"] else "unkeyed",
            str(d["max_in_flight"]),
            "on" if d["idempotence"] else "off",
            str(d["fault"]),
            str(d["out_of_order"]),
            str(d["duplicate"]),
            str(d["missing"]),
            str(d["lost"]),
            Text(f"{bad} / {d['rides']}", style="bold red" if bad else "green"),
            f"{d['events_per_s']:,.0f}",
            "-" if d["ack_p50_ms"] is None else f"{d['ack_p50_ms']:.1f}",
            "-" if d["ack_p99_ms"] is None else f"{d['ack_p99_ms']:.1f}",
        )
    table.caption = "throughput and latency depend on batch.size (1 here unless set with -X)"
    return table


def matrix_json(rows: Sequence[MatrixRow]) -> str:
    return json.dumps({"rows": [r.to_dict() for r in rows]}, indent=2)


def matrix_csv(rows: Sequence[MatrixRow]) -> str:
    buf = io.StringIO()
    dicts = [r.to_dict() for r in rows]
    if dicts:
        writer = csv.DictWriter(buf, fieldnames=list(dicts[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(dicts)
    return buf.getvalue()
