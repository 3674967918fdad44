"""Small statistics shared by the benchmark's sections: medians over repetitions, rounding
for the results, the CPU clock of a run, and the per-run figures of a producer sample."""

from __future__ import annotations

import resource
import statistics
from collections.abc import Sequence

from ridectl.bench.baselines import ProduceSample
from ridectl.bench.results import ProduceFigures, ProduceRun, RunFailed
from ridectl.run.options import round_or_none as rounded

__all__ = ["aggregate", "cpu_seconds", "median", "produce_run", "rounded"]


def median(values: Sequence[float | None]) -> float | None:
    """The median of the values present (None when there are none)."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def cpu_seconds() -> float:
    """CPU seconds of this process and of its children that ended (the Java programs)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def produce_run(sample: ProduceSample) -> ProduceRun:
    """The figures of one producer run, rounded for the results."""
    return ProduceRun(
        records=sample.records,
        acked=sample.acked,
        elapsed_s=round(sample.elapsed_s, 3),
        records_per_s=round(sample.records_per_s, 1),
        mib_per_s=round(sample.mib_per_s, 3),
        p50_ms=rounded(sample.p50_ms),
        p99_ms=rounded(sample.p99_ms),
        error=sample.error,
        loop_cpu_s=rounded(sample.loop_cpu_s, 3),
    )


def aggregate(runs: list[ProduceRun | RunFailed]) -> ProduceFigures:
    """Medians of the figures of several runs (runs that failed are kept in ``runs``)."""
    good = [r for r in runs if isinstance(r, ProduceRun) and not r.error]
    return ProduceFigures(
        records_per_s=rounded(median([r.records_per_s for r in good]), 3),
        mib_per_s=rounded(median([r.mib_per_s for r in good]), 3),
        p50_ms=rounded(median([r.p50_ms for r in good]), 3),
        p99_ms=rounded(median([r.p99_ms for r in good]), 3),
        loop_cpu_s=rounded(median([r.loop_cpu_s for r in good]), 3),
        failed_runs=len(runs) - len(good),
        runs=runs,
        cpu_s=rounded(median([r.cpu_s for r in runs]), 3),
    )
