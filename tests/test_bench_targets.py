"""The benchmark's targets judged from figures (pure logic, no measuring)."""

from __future__ import annotations

from typing import Any

from ridectl.bench.targets import add_checker_targets, marginal_costs


def _rows(cpu: list[float]) -> list[dict[str, Any]]:
    sizes = [5_000, 20_000, 60_000]
    rows = [
        {"events": n, "wall_s": c, "cpu_s": c, "peak_rss_mb": 50.0}
        for n, c in zip(sizes, cpu, strict=True)
    ]
    marginal_costs(rows)
    return rows


def _linear(rows: list[dict[str, Any]]) -> tuple[str, bool | None]:
    found: list[tuple[str, str, str, bool | None]] = []
    add_checker_targets(rows, lambda *row: found.append(row))
    name, _target, figure, met = found[-1]
    assert name == "check grows linearly"
    return figure, met


def test_marginal_cost_is_the_extra_time_per_million_events() -> None:
    rows = _rows([0.5, 0.53, 0.61])
    assert rows[0]["marginal_cpu_s_per_million"] is None
    assert rows[1]["marginal_cpu_s_per_million"] == 2.0
    assert rows[2]["marginal_cpu_s_per_million"] == 2.0


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
    from ridectl.bench.targets import evaluate_targets

    def verdict(wall_s: float, exit_code: int | None) -> bool | None:
        run = {"wall_s": wall_s, "exit_code": exit_code}
        rows = evaluate_targets({"first_lesson": {"first_round": run}})
        (row,) = [r for r in rows if "eight lessons" in r["name"]]
        return row["met"]  # type: ignore[no-any-return]

    assert verdict(8.4, 0) is True
    assert verdict(19.5, 0) is False
    assert verdict(8.4, 1) is None  # a lesson that failed says nothing about speed
