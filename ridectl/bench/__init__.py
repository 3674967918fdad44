"""``ridectl bench``: ridectl beside its peers, measured in one go on one broker.

``runner`` runs the measurements (producer strategies against a bare kafka-python loop and the
Java client, the checker on generated histories, consume-and-check from the broker, time to
the first lesson, broker cold start); ``report`` writes ``RESULTS.md`` and ``results.json``.
"""

from __future__ import annotations

from ridectl.bench.report import write_results
from ridectl.bench.runner import SIZES, BenchOptions, Section, Size, run_bench

__all__ = ["SIZES", "BenchOptions", "Section", "Size", "run_bench", "write_results"]
