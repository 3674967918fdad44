"""How the local broker's state is shown."""

from __future__ import annotations

import json
import time

from rich.console import Console
from rich.table import Table

from ridectl.broker.config import ClusterState


def status_dict(
    state: ClusterState | None, state_dir: str, alive: dict[str, bool]
) -> dict[str, object]:
    if state is None:
        return {"running": False, "state_dir": state_dir}
    return {
        "running": True,
        "version": state.version,
        "bootstrap": state.bootstrap,
        "nodes": state.nodes,
        "pids": {n: {"pid": pid, "alive": alive.get(n, False)} for n, pid in state.pids.items()},
        "state_dir": state.state_dir,
        "data_dirs": [f"{state.state_dir}/node-{n}/data" for n in state.pids],
        "cluster_id": state.cluster_id,
        "started_at": state.started_at,
        "uptime_s": round(time.time() - state.started_at, 1),
        "ready_after_s": state.ready_after_s,
    }


def render_status(console: Console, info: dict[str, object]) -> None:
    if not info["running"]:
        console.print(f"No local broker is running (state dir {info['state_dir']}).")
        return
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    uptime = float(info["uptime_s"])  # type: ignore[arg-type]
    pids = info["pids"]
    assert isinstance(pids, dict)
    table.add_row("Kafka", f"{info['version']} (KRaft, {info['nodes']} node(s))")
    table.add_row("bootstrap", str(info["bootstrap"]))
    table.add_row(
        "pids",
        ", ".join(
            f"node {n}: {p['pid']}" + ("" if p["alive"] else " (dead)") for n, p in pids.items()
        ),
    )
    table.add_row("state dir", str(info["state_dir"]))
    table.add_row("uptime", _duration(uptime))
    table.add_row("ready after", f"{info['ready_after_s']}s")
    console.print(table)


def render_status_json(info: dict[str, object]) -> str:
    return json.dumps(info, indent=2)


def _duration(seconds: float) -> str:
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")
