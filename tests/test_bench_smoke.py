"""``ridectl bench --size small`` end to end on the session broker: both files are written and
every section carries figures. Timings are never asserted (the machine decides them)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer

from ridectl.cli.bench import register

pytestmark = pytest.mark.kafka

SECTIONS = (
    "## Machine",
    "## Targets",
    "## 1. Producer throughput and acknowledgement latency",
    "## 2. Checker speed, end to end",
    "## 3. Consume and check from the broker",
    "## 4. Time to first lesson",
)
STRATEGIES = ["unkeyed", "keyed-inflight5", "keyed-inflight1", "keyed-idempotent"]
CLIENTS = ["kafka-python", "java", "librdkafka"]


def _bench_app() -> typer.Typer:
    """A root app holding only ``bench``, attached the way the real CLI attaches it."""
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    register(app)
    return app


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and value > 0


@pytest.fixture(scope="module")
def small_bench(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "results"
    _bench_app()(
        ["bench", "--size", "small", "--out-dir", str(out), "-b", kafka_bootstrap],
        standalone_mode=False,
    )
    return out


def test_both_files_are_written_with_every_section(small_bench: Path) -> None:
    md = (small_bench / "RESULTS.md").read_text(encoding="utf-8")
    for heading in SECTIONS:
        assert heading in md, heading
    data = json.loads((small_bench / "results.json").read_text(encoding="utf-8"))
    assert data["size"] == "small"
    for key in ("cores", "memory_gib", "python", "kafka_python"):
        assert data["machine"][key], key
    # Every target row has a figure with a number in it and a verdict (or "not measured"):
    # per client and strategy; per layout 1M and 10M time and memory, linear growth; per
    # client consume-and-check, and librdkafka's speed.
    java = data["producer"]["clients"][1]
    clients = len(CLIENTS) - (1 if "unavailable" in java else 0)
    assert len(data["targets"]) == clients * len(STRATEGIES) + 2 * 5 + clients + 1
    for row in data["targets"]:
        assert re.search(r"\d", row["figure"]), row
        assert row["met"] in (True, False, None)


def test_the_files_are_the_typed_results_written_out(small_bench: Path) -> None:
    from ridectl.bench.report import read_results, render_markdown, results_json

    text = (small_bench / "results.json").read_text(encoding="utf-8")
    results = read_results(text)  # every key of a real run has its place in the types
    assert results_json(results) == text
    assert render_markdown(results) == (small_bench / "RESULTS.md").read_text(encoding="utf-8")


def test_producer_section_has_figures_for_every_strategy_and_client(small_bench: Path) -> None:
    data = json.loads((small_bench / "results.json").read_text(encoding="utf-8"))
    clients = data["producer"]["clients"]
    assert [c["client"] for c in clients] == CLIENTS
    for client in clients:
        if "unavailable" in client:
            # Only the Java client may be missing, and it says why (no Java, no jars).
            assert client["client"] == "java", client
            continue
        strategies = client["strategies"]
        assert [s["name"] for s in strategies] == STRATEGIES
        for s in strategies:
            for who in ("ridectl", "bare"):
                agg = s[who]
                assert agg["failed_runs"] == 0, (client["client"], s["name"], who, agg["runs"])
                for key in ("records_per_s", "p50_ms", "p99_ms", "cpu_s"):
                    assert _positive(agg[key]), (client["client"], s["name"], who, key)
            assert _positive(s["ridectl_vs_bare"])


def test_checker_consume_and_lesson_sections_have_figures(small_bench: Path) -> None:
    data = json.loads((small_bench / "results.json").read_text(encoding="utf-8"))
    sizes = data["checker"]["sizes"]
    assert [(r["events"], r["layout"]) for r in sizes] == [
        (n, layout) for n in (5_000, 20_000, 60_000) for layout in ("compact", "spaced")
    ]
    for row in sizes:
        assert _positive(row["wall_s"]) and _positive(row["peak_rss_mb"]), row
        assert _positive(row["floor"]["wall_s"]) and _positive(row["vs_floor"]), row
        assert row["exit_codes"] == [0], row
        # The generated violations are all found (a cross-check of generator and checker).
        assert row["found_all_injected"], row["runs"]
        # The child's own phases are reported: start-up, parse and judging, in order.
        phases = [p["phase"] for p in row["phases"]]
        assert phases[0] == "interpreter" and phases[-1] == "exit", phases
        assert phases.index("judge") < phases.index("output"), phases
    consume = data["consume_check"]
    for client in consume["clients"]:
        if "unavailable" in client:
            continue
        assert _positive(client["events_per_s"]), client
        assert _positive(client["bare_records_per_s"]), client
        assert client["runs"][0]["events"] == consume["topic_events"], client
    lesson = data["first_lesson"]
    assert "error" not in lesson, lesson
    assert not lesson["available"] or _positive(lesson["first_lesson_s"])
    assert not lesson["available"] or _positive(lesson["whole_demo"]["wall_s"])
    assert _positive(data["cold_start"]["wall_s"])
