"""Small statistics shared by the benchmark's sections: medians over repetitions, rounding
for the JSON results, and the per-run figures of a producer sample."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from ridectl.bench.baselines import ProduceSample
from ridectl.run.options import round_or_none as rounded

__all__ = ["aggregate", "median", "rounded", "sample_dict"]


def median(values: Sequence[float | None]) -> float | None:
    """The median of the values present (None when there are none)."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def sample_dict(sample: ProduceSample) -> dict[str, Any]:
    return {
        "records": sample.records,
        "acked": sample.acked,
        "elapsed_s": round(sample.elapsed_s, 3),
        "records_per_s": round(sample.records_per_s, 1),
        "mib_per_s": round(sample.mib_per_s, 3),
        "p50_ms": rounded(sample.p50_ms),
        "p99_ms": rounded(sample.p99_ms),
        "error": sample.error,
        "loop_cpu_s": rounded(sample.loop_cpu_s, 3),
    }


def aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the figures of several runs (runs that failed are kept in ``runs``)."""
    good = [r for r in runs if not r.get("error")]
    out: dict[str, Any] = {
        key: rounded(median([r.get(key) for r in good]), 3)
        for key in ("records_per_s", "mib_per_s", "p50_ms", "p99_ms", "loop_cpu_s")
    }
    out["failed_runs"] = len(runs) - len(good)
    out["runs"] = runs
    return out
