"""The benchmark's targets and how each is judged from the figures (pure: no measuring).

The checker's marginal cost per million events (from one history size to the next) cancels
the start-up of its child process, so linear growth is judged on the work alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

TARGETS = {
    "produce_ratio": 0.95,
    "check_1m_s": 1.0,
    "check_1m_rss_mb": 300.0,
    "check_10m_s": 12.0,
    "check_10m_rss_mb": 2500.0,
    "linear_tolerance": 1.25,
    "consume_ratio": 0.9,
    "consume_librdkafka_eps": 150_000.0,
    "demo_first_round_s": 19.0,
}

Add = Callable[[str, str, str, bool | None], None]


def evaluate_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with its figure and whether it is met (None: not measured)."""
    rows: list[dict[str, Any]] = []

    def add(name: str, target: str, figure: str, met: bool | None) -> None:
        rows.append({"name": name, "target": target, "figure": figure, "met": met})

    _producer_targets(results.get("producer", {}), add)
    checker = results.get("checker", {})
    sizes = checker.get("sizes", [])
    for layout in checker.get("layouts", []):
        add_checker_targets([r for r in sizes if r.get("layout") == layout], add, f" ({layout})")
    _consume_targets(results.get("consume_check", {}), add)
    _demo_target((results.get("first_lesson") or {}).get("first_round"), add)
    return rows


def _demo_target(run: dict[str, Any] | None, add: Add) -> None:
    if run is None:
        return
    most = TARGETS["demo_first_round_s"]
    wall, code = run.get("wall_s"), run.get("exit_code")
    add(
        "`demo --fast`, the first round's eight lessons (warm broker)",
        f"<= {most:g} s",
        f"{wall:.1f} s, exit {code}",
        None if wall is None or code != 0 else wall <= most,
    )


def _ratio_figure(ratio: float | None, each: list[float]) -> str:
    spread = f" (runs {min(each):.2f} to {max(each):.2f})" if len(each) > 1 else ""
    return "not measured" if ratio is None else f"{ratio:.2f}x{spread}"


def _producer_targets(section: dict[str, Any], add: Add) -> None:
    floor = TARGETS["produce_ratio"]
    for client in section.get("clients", []):
        for s in client.get("strategies", []):
            ratio = s.get("ridectl_vs_bare")
            add(
                f"produce {client['client']} {s['name']}",
                f"ridectl >= {floor}x {client.get('bare', 'the bare loop')}",
                _ratio_figure(ratio, s.get("ridectl_vs_bare_runs") or []),
                None if ratio is None else ratio >= floor,
            )


def _consume_targets(section: dict[str, Any], add: Add) -> None:
    floor = TARGETS["consume_ratio"]
    for client in section.get("clients", []):
        if "unavailable" in client:
            continue
        ratio, eps = client.get("ridectl_vs_bare"), client.get("events_per_s")
        add(
            f"consume-and-check {client['client']}",
            f">= {floor}x {client.get('bare', 'a bare read')}",
            _ratio_figure(ratio, [])
            + (
                ""
                if eps is None
                else f" ({eps:,.0f} vs {client.get('bare_records_per_s') or 0:,.0f}/s)"
            ),
            None if ratio is None else ratio >= floor,
        )
        if client["client"] == "librdkafka":
            least = TARGETS["consume_librdkafka_eps"]
            add(
                "consume-and-check librdkafka speed",
                f">= {least:,.0f} events/s",
                "not measured" if eps is None else f"{eps:,.0f} events/s",
                None if eps is None else eps >= least,
            )


def _at_size(rows: list[dict[str, Any]], events: int) -> tuple[float, float, str] | None:
    """Seconds and peak RSS at ``events``: measured, or along the line through the two
    largest sizes (said so)."""
    exact = [r for r in rows if abs(r["events"] - events) <= events // 100]
    if exact:
        return exact[0]["wall_s"], exact[0]["peak_rss_mb"], ""
    if len(rows) < 2:
        return None
    a, b = rows[-2], rows[-1]
    frac = (events - a["events"]) / (b["events"] - a["events"])
    secs = a["wall_s"] + (b["wall_s"] - a["wall_s"]) * frac
    rss = a["peak_rss_mb"] + (b["peak_rss_mb"] - a["peak_rss_mb"]) * frac
    return secs, rss, f" (extrapolated from {a['events']:,} and {b['events']:,} events)"


def add_checker_targets(sizes: list[dict[str, Any]], add: Add, suffix: str = "") -> None:
    """The checker's targets: time and memory at one and ten million events (measured, or
    extrapolated along the line through the two largest sizes), and linear growth."""
    rows = sorted((r for r in sizes if r.get("wall_s") is not None), key=lambda r: r["events"])
    for events, label in ((1_000_000, "1M"), (10_000_000, "10M")):
        limit_s, limit_mb = (
            TARGETS[f"check_{label.lower()}_s"],
            TARGETS[f"check_{label.lower()}_rss_mb"],
        )
        name = f"check {label} events{suffix}"
        found = _at_size(rows, events)
        if found is None:
            add(name, f"<= {limit_s:g} s end to end", "not measured", None)
            add(f"{name} memory", f"peak RSS <= {limit_mb:g} MB", "not measured", None)
            continue
        secs, rss, how = found
        add(name, f"<= {limit_s:g} s end to end", f"{secs:.2f} s{how}", secs <= limit_s)
        add(f"{name} memory", f"peak RSS <= {limit_mb:g} MB", f"{rss:.0f} MB{how}", rss <= limit_mb)
    _linear_target(rows, add, suffix)


def _linear_target(rows: list[dict[str, Any]], add: Add, suffix: str) -> None:
    # CPU time, not wall time: the growth of the work itself, less disturbed by other load.
    marginal = [r.get("marginal_cpu_s_per_million") for r in rows[1:]]
    name, flat = f"check grows linearly{suffix}", "flat marginal time per million events"
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
