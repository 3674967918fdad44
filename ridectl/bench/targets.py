"""The benchmark's targets and how each is judged from the figures (pure: no measuring).

The checker's marginal cost per million events (from one history size to the next) cancels
the start-up of its child process, so linear growth is judged on the work alone."""

from __future__ import annotations

from collections.abc import Callable

from ridectl.bench.results import (
    BenchResults,
    CheckerResult,
    CheckerSize,
    ClientUnavailable,
    ConsumeResult,
    DemoRun,
    FirstLessonResult,
    ProducerClient,
    ProducerResult,
    TargetRow,
)
from ridectl.clients.base import ClientName

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


def evaluate_targets(results: BenchResults) -> list[TargetRow]:
    """The issue's targets, each with its figure and whether it is met (None: not measured)."""
    rows: list[TargetRow] = []

    def add(name: str, target: str, figure: str, met: bool | None) -> None:
        rows.append(TargetRow(name, target, figure, met))

    if isinstance(results.producer, ProducerResult):
        _producer_targets(results.producer, add)
    if isinstance(results.checker, CheckerResult):
        sizes = results.checker.sizes
        for layout in results.checker.layouts:
            add_checker_targets([r for r in sizes if r.layout == layout], add, f" ({layout})")
    if isinstance(results.consume_check, ConsumeResult):
        _consume_targets(results.consume_check, add)
    if isinstance(results.first_lesson, FirstLessonResult):
        demo_target(results.first_lesson.first_round, add)
    return rows


def demo_target(run: DemoRun | None, add: Add) -> None:
    """The first round's lessons in ``demo --fast``: in time, and only if every one passed."""
    if run is None:
        return
    most = TARGETS["demo_first_round_s"]
    wall, code = run.wall_s, run.exit_code
    add(
        "`demo --fast`, the first round's eight lessons (warm broker)",
        f"<= {most:g} s",
        f"{wall:.1f} s, exit {code}",
        None if code != 0 else wall <= most,
    )


def _ratio_figure(ratio: float | None, each: list[float]) -> str:
    spread = f" (runs {min(each):.2f} to {max(each):.2f})" if len(each) > 1 else ""
    return "not measured" if ratio is None else f"{ratio:.2f}x{spread}"


def _producer_targets(section: ProducerResult, add: Add) -> None:
    floor = TARGETS["produce_ratio"]
    for client in section.clients:
        if not isinstance(client, ProducerClient):
            continue
        for s in client.strategies:
            ratio = s.ridectl_vs_bare
            add(
                f"produce {client.client} {s.name}",
                f"ridectl >= {floor}x {client.bare}",
                _ratio_figure(ratio, s.ridectl_vs_bare_runs),
                None if ratio is None else ratio >= floor,
            )


def _consume_targets(section: ConsumeResult, add: Add) -> None:
    floor = TARGETS["consume_ratio"]
    for client in section.clients:
        if isinstance(client, ClientUnavailable):
            continue
        ratio, eps = client.ridectl_vs_bare, client.events_per_s
        add(
            f"consume-and-check {client.client}",
            f">= {floor}x {client.bare}",
            _ratio_figure(ratio, [])
            + ("" if eps is None else f" ({eps:,.0f} vs {client.bare_records_per_s or 0:,.0f}/s)"),
            None if ratio is None else ratio >= floor,
        )
        if client.client is ClientName.LIBRDKAFKA:
            least = TARGETS["consume_librdkafka_eps"]
            add(
                "consume-and-check librdkafka speed",
                f">= {least:,.0f} events/s",
                "not measured" if eps is None else f"{eps:,.0f} events/s",
                None if eps is None else eps >= least,
            )


def _figures(row: CheckerSize) -> tuple[float, float]:
    # (only rows with both figures reach here: see add_checker_targets)
    return row.wall_s or 0.0, row.peak_rss_mb or 0.0


def _at_size(rows: list[CheckerSize], events: int) -> tuple[float, float, str] | None:
    """Seconds and peak RSS at ``events``: measured, or along the line through the two
    largest sizes (said so)."""
    exact = [r for r in rows if abs(r.events - events) <= events // 100]
    if exact:
        return (*_figures(exact[0]), "")
    if len(rows) < 2:
        return None
    a, b = rows[-2], rows[-1]
    (a_s, a_mb), (b_s, b_mb) = _figures(a), _figures(b)
    frac = (events - a.events) / (b.events - a.events)
    secs = a_s + (b_s - a_s) * frac
    rss = a_mb + (b_mb - a_mb) * frac
    return secs, rss, f" (extrapolated from {a.events:,} and {b.events:,} events)"


def add_checker_targets(sizes: list[CheckerSize], add: Add, suffix: str = "") -> None:
    """The checker's targets: time and memory at one and ten million events (measured, or
    extrapolated along the line through the two largest sizes), and linear growth."""
    rows = sorted(
        (r for r in sizes if r.wall_s is not None and r.peak_rss_mb is not None),
        key=lambda r: r.events,
    )
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


def _linear_target(rows: list[CheckerSize], add: Add, suffix: str) -> None:
    # CPU time, not wall time: the growth of the work itself, less disturbed by other load.
    marginal = [r.marginal_cpu_s_per_million for r in rows[1:]]
    name, flat = f"check grows linearly{suffix}", "flat marginal time per million events"
    if len(marginal) < 2 or marginal[-2] is None or marginal[-1] is None:
        add(name, flat, "not measured", None)
        return
    tolerance = TARGETS["linear_tolerance"]
    target = (
        f"marginal CPU s per million events from {rows[-2].events:,} to "
        f"{rows[-1].events:,} <= {tolerance}x that from {rows[-3].events:,}"
    )
    figures = f"{marginal[-1]:.2f} vs {marginal[-2]:.2f} CPU s/M"
    if marginal[-2] <= 0:
        # Small histories cost less than the noise of a child's CPU time: no ratio to judge.
        add(name, target, f"{figures} (the smaller step is within noise)", None)
        return
    growth = marginal[-1] / marginal[-2]
    add(name, target, f"{figures} ({growth:.2f}x)", growth <= tolerance)


def marginal_costs(rows: list[CheckerSize]) -> None:
    """Set each size's marginal wall and CPU seconds per million events (from the size before
    it): the start-up of the child process cancels out, what is left is the cost of more
    events."""
    previous: CheckerSize | None = None
    for row in sorted(rows, key=lambda r: r.events):
        row.marginal_wall_s_per_million = _marginal(previous, row, lambda r: r.wall_s)
        row.marginal_cpu_s_per_million = _marginal(previous, row, lambda r: r.cpu_s)
        previous = row


def _marginal(
    previous: CheckerSize | None, row: CheckerSize, figure: Callable[[CheckerSize], float | None]
) -> float | None:
    if previous is None:
        return None
    now, before = figure(row), figure(previous)
    if now is None or not before:
        return None
    return round((now - before) / (row.events - previous.events) * 1e6, 3)
