"""A description of the machine a benchmark ran on (every figure depends on it)."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from pathlib import Path

from ridectl.bench.results import Machine


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def java_version(java: str | None) -> str | None:
    """The first line ``java -version`` prints, or None without a usable java."""
    if java is None:
        return None
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stderr or out.stdout).strip()
    m = re.search(r'version "([^"]+)"', text)
    first = text.splitlines()[0] if text else ""
    return f"{m.group(1)} ({first})" if m else first or None


def describe_machine(java: str | None, kafka_version: str | None) -> Machine:
    from ridectl import __version__
    from ridectl.clients.kafka_python import crc32c_accelerated, library_version

    memory = _memory_bytes()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return Machine(
        cpu=_cpu_model(),
        cores=os.cpu_count(),
        memory_gib=round(memory / 2**30, 1) if memory else None,
        os=platform.platform(),
        python=sys.version.split()[0],
        java=java_version(java),
        kafka_broker=kafka_version,
        kafka_python=library_version(),
        kafka_python_crc32c_c_extension=crc32c_accelerated(),
        ridectl=__version__,
        load_average_at_start=[round(x, 2) for x in load] if load else None,
    )
