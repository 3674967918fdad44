"""How a produce run and a consume read are shown: summaries for people, JSON for scripts."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ridectl.clients.order_defaults import Side, callouts
from ridectl.faults.stats import ProxyStats
from ridectl.judge.history import History
from ridectl.output.tables import ms
from ridectl.run.consume import ConsumeStats
from ridectl.run.options import ProduceResult
from ridectl.run.store import run_record


def _partition_counts(counts: dict[int, int], partitions: int) -> str:
    return "  ".join(f"p{p}:{counts.get(p, 0)}" for p in range(partitions))


def render_produce(console: Console, result: ProduceResult) -> None:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    topic_note = "created" if result.topic.created else "existing"
    grid.add_row(
        "topic",
        f"{result.topic.name} ({result.topic.partitions} partitions, {topic_note}, "
        f"replication {result.topic.replication})",
    )
    grid.add_row(
        "rides",
        f"{result.rides} x 5 events, {'keyed by ride_id' if result.keyed else 'unkeyed'}"
        + (f", seed {result.seed}" if result.seed is not None else ""),
    )
    acked_style = "green" if result.acked == result.sent else "yellow"
    grid.add_row(
        "events",
        Text.assemble(
            f"sent {result.sent}, ",
            (f"acknowledged {result.acked}", acked_style),
            f", failed {result.failed}",
            (f", unacknowledged {result.unacknowledged}" if result.unacknowledged else ""),
        ),
    )
    grid.add_row("retries", f"{result.batch_retries} batch retries observed")
    if result.errors:
        grid.add_row("errors", ", ".join(f"{k} x{v}" for k, v in result.errors.most_common()))
    grid.add_row(
        f"per partition ({result.client.value})",
        _partition_counts(
            dict(result.per_partition),
            result.grown[1] if result.grown else result.topic.partitions,
        ),
    )
    if result.grown:
        grid.add_row(
            "grown",
            f"{result.grown[0]} -> {result.grown[1]} partitions halfway through the run",
        )
    grid.add_row("throughput", f"{result.throughput:,.0f} events/s over {result.elapsed_s:.2f}s")
    if result.latencies_ms:
        p50, p99 = ms(result.latency_pct(50)), ms(result.latency_pct(99))
        grid.add_row("ack latency", f"p50 {p50} ms, p99 {p99} ms")
    grid.add_row(
        f"settings ({result.client.value})",
        "  ".join(f"{k}={v}" for k, v in result.effective.items() if v != "None"),
    )
    for n, line in enumerate(callouts(result.client, result.effective, Side.PRODUCER)):
        grid.add_row("" if n else "client defaults", line)
    if result.fault_stats is not None:
        grid.add_row("faults", _fault_line(result.fault_stats, result.proxy_address))
    parts: list[Any] = [grid]
    for note in result.changed_by_client:
        parts.append(Text(f"NOTE: {note}", style="bold yellow"))
    if result.aborted:
        parts.append(Text(f"ABORTED: {result.aborted}", style="bold red"))
    if result.interrupted:
        parts.append(
            Text(
                f"Interrupted: {result.acked} events were acknowledged before the stop.",
                style="bold yellow",
            )
        )
    console.print(Panel(Group(*parts), title=f"run {result.run_id}", title_align="left"))


def _fault_line(stats: ProxyStats, proxy: str | None) -> str:
    hits = ", ".join(f"{k} x{v}" for k, v in stats.faults_injected.items()) or "none"
    return f"{hits} injected over {stats.produce_requests} produce requests (proxy {proxy})"


def produce_json(result: ProduceResult, *, whole_request_log: bool = False) -> str:
    """The run for scripts, as its saved record has it: the fault proxy's request log as a
    summary by fate, or (``whole_request_log``) every request it saw."""
    doc = result.to_dict() if whole_request_log else run_record(result)[0]
    return json.dumps(doc, indent=2, default=str)


def render_consume(console: Console, history: History, stats: ConsumeStats, topic: str) -> None:
    console.print(
        f"Read {stats.records} records from {topic} in {stats.elapsed_s:.2f}s "
        f"({stats.rate:,.0f}/s): {history.events} ride events"
        + (f" of run {history.run_id}" if history.run_id else "")
        + f", {history.foreign} foreign records skipped."
    )
