"""Where a command's time goes: named marks, reported on stderr when ``RIDECTL_PHASES`` is set.

The benchmark sets the variable for ``check --from`` and shows the phases beside the
total. Each mark records the wall clock and the CPU time of the whole process (every
thread), so a phase's CPU can exceed its wall time when threads parse in parallel. The
first mark is the interpreter's start: its wall clock is taken from the process's start
time (Linux) and its CPU is what the process spent before the first mark.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import time
from itertools import pairwise

#: Set (to anything) to have the phases reported.
ENV = "RIDECTL_PHASES"
#: The line's prefix on stderr (the benchmark finds the line by it).
PREFIX = "ridectl phases: "

_marks: list[tuple[str, float, float, float]] = []


def enabled() -> bool:
    return bool(os.environ.get(ENV))


def _started_ago() -> float:
    """Seconds since this process started (0 where /proc is not there)."""
    try:
        with open("/proc/self/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        with open("/proc/uptime", "rb") as fh:
            uptime = float(fh.read().split()[0])
        ticks = os.sysconf("SC_CLK_TCK")
        return max(0.0, uptime - int(fields[19]) / ticks)
    except (OSError, ValueError, IndexError):
        return 0.0


def mark(name: str) -> None:
    """End the phase called ``name`` now (nothing unless ``RIDECTL_PHASES`` is set)."""
    if not _marks:
        if not enabled():
            return
        now = time.perf_counter()
        _marks.append(("", now - _started_ago(), 0.0, 0.0))
        atexit.register(_report)
    _marks.append((name, time.perf_counter(), time.process_time(), _peak_rss_mb()))


def _peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MB (0 where /proc is not there)."""
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def phases() -> list[dict[str, object]]:
    """Each phase's wall and CPU seconds, and the peak RSS at its end, in order."""
    return [
        {
            "phase": name,
            "wall_s": round(wall - w0, 3),
            "cpu_s": round(cpu - c0, 3),
            "peak_rss_mb": round(rss, 1),
        }
        for (_, w0, c0, _r), (name, wall, cpu, rss) in pairwise(_marks)
    ]


def _report() -> None:
    mark("exit")
    try:
        sys.stderr.write(PREFIX + json.dumps(phases()) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
