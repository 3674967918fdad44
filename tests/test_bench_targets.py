"""The benchmark's targets judged from figures (pure logic, no measuring)."""

from __future__ import annotations

from ridectl.bench.histories import Layout
from ridectl.bench.results import CheckerSize, DemoRun, Floor
from ridectl.bench.targets import add_checker_targets, demo_target, marginal_costs


def _size(events: int, seconds: float) -> CheckerSize:
    """A checker size whose wall and CPU time are both ``seconds`` (the rest is filler)."""
    return CheckerSize(
        events=events,
        layout=Layout.COMPACT,
        rides=events // 5,
        file_mb=0.0,
        injected={},
        expected={},
        wall_s=seconds,
        cpu_s=seconds,
        peak_rss_mb=50.0,
        s_per_million=None,
        floor=Floor(parsers={}, best=None, wall_s=None, cpu_s=None),
        vs_floor=None,
        cpu_vs_floor=None,
        found_all_injected=True,
        run_count=1,
        exit_codes=[0],
        phases=[],
        runs=[],
    )


def _rows(cpu: list[float]) -> list[CheckerSize]:
    sizes = [5_000, 20_000, 60_000]
    rows = [_size(n, c) for n, c in zip(sizes, cpu, strict=True)]
    marginal_costs(rows)
    return rows


def _linear(rows: list[CheckerSize]) -> tuple[str, bool | None]:
    found: list[tuple[str, str, str, bool | None]] = []
    add_checker_targets(rows, lambda *row: found.append(row))
    name, _target, figure, met = found[-1]
    assert name == "check grows linearly"
    return figure, met


def test_marginal_cost_is_the_extra_time_per_million_events() -> None:
    rows = _rows([0.5, 0.53, 0.61])
    assert rows[0].marginal_cpu_s_per_million is None
    assert rows[1].marginal_cpu_s_per_million == 2.0
    assert rows[2].marginal_cpu_s_per_million == 2.0


def test_linear_growth_is_judged_on_the_ratio_of_marginal_costs() -> None:
    figure, met = _linear(_rows([0.5, 0.53, 0.61]))
    assert met is True and "(1.00x)" in figure
    figure, met = _linear(_rows([0.5, 0.53, 0.75]))
    assert met is False and "5.50 vs 2.00" in figure


def test_a_step_lost_in_noise_gives_figures_but_no_verdict() -> None:
    figure, met = _linear(_rows([0.5, 0.5, 0.6]))
    assert met is None and "within noise" in figure and "2.50" in figure


def test_the_first_round_lessons_are_lessons_of_the_demo() -> None:
    from ridectl.bench.plan import FIRST_ROUND_LESSONS
    from ridectl.scenarios.catalogue import LESSONS

    assert set(FIRST_ROUND_LESSONS) <= {lesson.name for lesson in LESSONS}


def test_the_demo_target_needs_every_lesson_to_pass() -> None:
    def verdict(wall_s: float, exit_code: int | None) -> bool | None:
        found: list[tuple[str, str, str, bool | None]] = []
        demo_target(DemoRun(wall_s, exit_code), lambda *row: found.append(row))
        (row,) = [r for r in found if "eight lessons" in r[0]]
        return row[3]

    assert verdict(8.4, 0) is True
    assert verdict(19.5, 0) is False
    assert verdict(8.4, 1) is None  # a lesson that failed says nothing about speed
