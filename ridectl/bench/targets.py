"""The benchmark's targets and how each is judged from the figures (pure: no measuring).

The checker's marginal cost per million events (from one history size to the next) cancels
the start-up of its child process, so linear growth is judged on the work alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

TARGETS = {
    "produce_ratio": 0.9,
    "check_1m_s": 3.0,
    "check_1m_rss_mb": 600.0,
    "linear_tolerance": 1.25,
    "consume_check_eps": 100_000.0,
}


def evaluate_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with its figure and whether it is met (None: not measured)."""
    rows: list[dict[str, Any]] = []

    def add(name: str, target: str, figure: str, met: bool | None) -> None:
        rows.append({"name": name, "target": target, "figure": figure, "met": met})

    floor = TARGETS["produce_ratio"]
    for s in results.get("producer", {}).get("strategies", []):
        ratio = s.get("ridectl_vs_bare")
        each = s.get("ridectl_vs_bare_runs") or []
        spread = f" (runs {min(each):.2f} to {max(each):.2f})" if len(each) > 1 else ""
        add(
            f"produce {s['name']}",
            f"ridectl >= {floor}x bare kafka-python",
            "not measured" if ratio is None else f"{ratio:.2f}x{spread}",
            None if ratio is None else ratio >= floor,
        )
    add_checker_targets(results.get("checker", {}).get("sizes", []), add)
    eps = results.get("consume_check", {}).get("events_per_s")
    add(
        "consume-and-check",
        f">= {TARGETS['consume_check_eps']:,.0f} events/s",
        "not measured" if eps is None else f"{eps:,.0f} events/s",
        None if eps is None else eps >= TARGETS["consume_check_eps"],
    )
    return rows


def add_checker_targets(
    sizes: list[dict[str, Any]], add: Callable[[str, str, str, bool | None], None]
) -> None:
    """The checker's targets: time and memory at one million events (measured, or
    extrapolated along the line through the two largest sizes), and linear growth."""
    rows = sorted((r for r in sizes if r.get("wall_s") is not None), key=lambda r: r["events"])
    limit_s, limit_mb = TARGETS["check_1m_s"], TARGETS["check_1m_rss_mb"]
    exact = [r for r in rows if abs(r["events"] - 1_000_000) <= 10_000]
    if exact:
        secs, rss, how = exact[0]["wall_s"], exact[0]["peak_rss_mb"], ""
    elif len(rows) >= 2:
        a, b = rows[-2], rows[-1]
        frac = (1_000_000 - a["events"]) / (b["events"] - a["events"])
        secs = a["wall_s"] + (b["wall_s"] - a["wall_s"]) * frac
        rss = a["peak_rss_mb"] + (b["peak_rss_mb"] - a["peak_rss_mb"]) * frac
        how = f" (extrapolated from {a['events']:,} and {b['events']:,} events)"
    else:
        add("check 1M events", f"<= {limit_s:g} s end to end", "not measured", None)
        add("check 1M events memory", f"peak RSS <= {limit_mb:g} MB", "not measured", None)
        add("check grows linearly", "flat marginal time per million events", "not measured", None)
        return
    add("check 1M events", f"<= {limit_s:g} s end to end", f"{secs:.2f} s{how}", secs <= limit_s)
    add(
        "check 1M events memory",
        f"peak RSS <= {limit_mb:g} MB",
        f"{rss:.0f} MB{how}",
        rss <= limit_mb,
    )
    # CPU time, not wall time: the growth of the work itself, less disturbed by other load.
    marginal = [r.get("marginal_cpu_s_per_million") for r in rows[1:]]
    name, flat = "check grows linearly", "flat marginal time per million events"
    if len(marginal) < 2 or marginal[-2] is None or marginal[-1] is None:
        add(name, flat, "not measured", None)
        return
    tolerance = TARGETS["linear_tolerance"]
    target = (
        f"marginal CPU s per million events from {rows[-2]['events']:,} to "
        f"{rows[-1]['events']:,} <= {tolerance}x that from {rows[-3]['events']:,}"
    )
    figures = f"{marginal[-1]:.2f} vs {marginal[-2]:.2f} CPU s/M"
    if marginal[-2] <= 0:
        # Small histories cost less than the noise of a child's CPU time: no ratio to judge.
        add(name, target, f"{figures} (the smaller step is within noise)", None)
        return
    growth = marginal[-1] / marginal[-2]
    add(name, target, f"{figures} ({growth:.2f}x)", growth <= tolerance)


def marginal_costs(rows: list[dict[str, Any]]) -> None:
    """Set each size's marginal wall and CPU seconds per million events (from the size before
    it): the start-up of the child process cancels out, what is left is the cost of more
    events."""
    previous: dict[str, Any] | None = None
    for row in sorted(rows, key=lambda r: r["events"]):
        for key in ("wall_s", "cpu_s"):
            name = f"marginal_{key[:-2]}_s_per_million"
            row[name] = None
            if previous is not None and row.get(key) is not None and previous.get(key):
                extra = row["events"] - previous["events"]
                row[name] = round((row[key] - previous[key]) / extra * 1e6, 3)
        previous = row
