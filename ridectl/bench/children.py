"""Measurements of ridectl as a child process, the way a user runs it: ``check --from`` with
its wall time, CPU time and peak memory, and ``demo`` (one lesson, or streamed to find where
the first lesson ends)."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import msgspec

from ridectl.bench.floor import floor
from ridectl.bench.histories import LAYOUTS, Layout, generate_history
from ridectl.bench.plan import FIRST_ROUND_LESSONS, PARTITIONS, SLOW_RUN_S
from ridectl.bench.results import (
    CheckerResult,
    CheckerSize,
    CheckRun,
    DemoRun,
    DemoStream,
    FirstLessonResult,
    LessonsUnavailable,
    Phase,
)
from ridectl.bench.stats import median, rounded
from ridectl.bench.targets import marginal_costs
from ridectl.phases import ENV as PHASES_ENV
from ridectl.phases import PREFIX as PHASES_PREFIX

DEMO_CAP_S = 120.0

_SECOND_LESSON = re.compile(r"Lesson 2/\d+")


def cli_env(tmp: Path) -> dict[str, str]:
    """The environment of ridectl child processes: their own state directory, no colour."""
    env = dict(os.environ)
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    env["RIDECTL_HOME"] = str(tmp / "home")
    env["NO_COLOR"] = "1"
    env.setdefault("COLUMNS", "120")
    return env


def first_lesson(
    bootstrap: str, env: dict[str, str], repeat: int, whole_demo: bool, say: Callable[[str], None]
) -> FirstLessonResult | LessonsUnavailable:
    """Time the demo's first lesson alone (``repeat`` times), then ``demo --fast`` as a
    stream: until its second lesson starts, or (``whole_demo``) to the end."""
    listing = subprocess.run(
        [*ridectl_command(), "demo", "--list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    m = re.search(r"^\s*1\.\s+(\S+?):", listing.stdout, re.MULTILINE)
    if listing.returncode != 0 or m is None:
        return LessonsUnavailable(False, "not available yet (no `ridectl demo` command)")
    first = m.group(1)
    runs = []
    for rep in range(repeat):
        runs.append(run_demo(["--fast", "--scenario", first], bootstrap, env))
        say(f"first lesson ({first}) run {rep + 1}: {runs[-1].wall_s:.1f} s")
    whole = demo_stream(bootstrap, env, to_the_end=whole_demo)
    say(
        f"demo --fast: first lesson done after {_num_or(whole.first_lesson_s)} s, "
        f"stopped or ended after {whole.wall_s:.1f} s"
    )
    first_round = None
    if whole_demo:
        args = [arg for name in FIRST_ROUND_LESSONS for arg in ("--scenario", name)]
        first_round = run_demo(["--fast", *args], bootstrap, env)
        say(f"demo --fast, the first round's lessons: {first_round.wall_s:.1f} s")
    return FirstLessonResult(
        available=True,
        first_lesson=first,
        first_lesson_runs=runs,
        first_lesson_s=median([r.wall_s for r in runs]),
        first_lesson_exit_codes=sorted(
            {r.exit_code for r in runs}, key=lambda c: -1 if c is None else c
        ),
        whole_demo=whole,
        first_round=first_round,
    )


def demo_stream(bootstrap: str, env: dict[str, str], *, to_the_end: bool) -> DemoStream:
    """Run ``ridectl demo --fast`` once, reading its output as it comes: when the second
    lesson's heading appears the first lesson is over. Stopped there unless ``to_the_end``;
    never allowed more than DEMO_CAP_S."""
    cmd = [*ridectl_command(), "demo", "--fast", "-b", bootstrap]
    lines: queue.Queue[tuple[float, str] | None] = queue.Queue()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**env, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,  # its own process group, so its helpers stop with it
    )

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put((time.perf_counter(), line))
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = t0 + DEMO_CAP_S
    first_lesson_s: float | None = None
    stopped: str | None = None
    last = ""
    while True:
        try:
            item = lines.get(timeout=max(0.05, deadline - time.perf_counter()))
        except queue.Empty:
            stopped = f"still running after {DEMO_CAP_S:g} s"
            break
        if item is None:
            break
        stamp, line = item
        if line.strip():
            last = line.strip()
        if first_lesson_s is None and _SECOND_LESSON.search(line):
            first_lesson_s = round(stamp - t0, 2)
            if not to_the_end:
                stopped = "after the first lesson (size small)"
                break
    if stopped is not None:
        stop_group(proc)
    code = proc.wait(timeout=60)
    result = DemoStream(
        first_lesson_s=first_lesson_s,
        stopped=stopped,
        wall_s=round(time.perf_counter() - t0, 2),
        exit_code=None if stopped else code,
        last_line=None if stopped else last[:200],
    )
    reader.join(timeout=5)
    return result


def run_demo(
    args: list[str], bootstrap: str, env: dict[str, str], timeout_s: float = 300
) -> DemoRun:
    """Run ``ridectl demo ARGS`` once to its end; wall time and exit code."""
    cmd = [*ridectl_command(), "demo", *args, "-b", bootstrap]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=env, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        return DemoRun(round(time.perf_counter() - t0, 2), None, "timed out")
    result = DemoRun(round(time.perf_counter() - t0, 2), proc.returncode)
    if proc.returncode not in (0, 1):
        lines = proc.stderr.strip().splitlines() or ["no output"]
        result.note = lines[-1][:200]
    elif proc.returncode == 1:
        result.note = "a lesson did not show what it promised (exit 1)"
    return result


def _num_or(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f}"


def stop_group(proc: subprocess.Popen[str]) -> None:
    """Stop a child started in its own session, with everything it started."""
    for sig, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def ridectl_command() -> list[str]:
    return [sys.executable, "-m", "ridectl"]


def timed_check(path: Path, env: dict[str, str], timeout_s: float = 600) -> CheckRun:
    """Run ``ridectl check --from path --format json`` as a child process; wall time, CPU
    time and peak RSS of the child (``wait4``), and the counts it found."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [*ridectl_command(), "check", "--from", str(path), "--format", "json"],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env={**env, PHASES_ENV: "1"},
        )
        deadline = t0 + timeout_s
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                _pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        # ru_maxrss is in KiB on Linux, in bytes on macOS.
        rss = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
        out.seek(0)
        err.seek(0)
        lines = err.read().decode(errors="replace").strip().splitlines()
        run = CheckRun(
            wall_s=round(wall, 3),
            cpu_s=round(usage.ru_utime + usage.ru_stime, 3),
            peak_rss_mb=round(rss, 1),
            exit_code=proc.returncode,
            phases=_phases(lines),
        )
        # wait4's ru_maxrss is no measure of the child alone: Linux carries the parent's peak
        # into a child at fork and exec, and this process holds the floor's parse (hundreds of
        # MB). The child's own peak (VmHWM of its memory after exec, its last phase) is.
        own = max((p.peak_rss_mb or 0.0 for p in run.phases), default=0.0)
        if own > 0:
            run.peak_rss_wait4_mb = run.peak_rss_mb
            run.peak_rss_mb = round(own, 1)
        try:
            run.found = found_counts(out.read())
        except msgspec.MsgspecError:
            lines = [line for line in lines if not line.startswith(PHASES_PREFIX)]
            run.error = (lines or ["no output"])[-1][:200]
    return run


def _phases(stderr: list[str]) -> list[Phase]:
    """The child's phases (``ridectl.phases``), from its stderr."""
    for line in stderr:
        if line.startswith(PHASES_PREFIX):
            try:
                return msgspec.json.decode(line[len(PHASES_PREFIX) :], type=list[Phase])
            except msgspec.MsgspecError:
                break
    return []


def median_phases(runs: list[CheckRun]) -> list[Phase]:
    """Per phase, the median wall and CPU seconds over the runs that reported it."""
    names = [p.phase for p in runs[0].phases] if runs else []
    out = []
    for name in names:
        got = [p for r in runs for p in r.phases if p.phase == name]
        out.append(
            Phase(
                phase=name,
                wall_s=rounded(median([p.wall_s for p in got]), 3),
                cpu_s=rounded(median([p.cpu_s for p in got]), 3),
                peak_rss_mb=rounded(max(p.peak_rss_mb or 0 for p in got), 1),
            )
        )
    return out


class _Summary(msgspec.Struct):
    by_kind: dict[str, int] = {}


class _Violation(msgspec.Struct):
    kind: str = ""
    duplicate_kind: str | None = None


class _CheckDoc(msgspec.Struct):
    """The parts of a ``check --format json`` document the bench counts."""

    summary: _Summary = msgspec.field(default_factory=_Summary)
    violations: list[_Violation] = []


def found_counts(document: bytes) -> dict[str, int]:
    """Violation counts of a ``check --format json`` document, in ``HistorySpec.expected``
    terms (duplicates also split by sub-kind); msgspec's error if it is not one."""
    doc = msgspec.json.decode(document, type=_CheckDoc)
    by_kind = doc.summary.by_kind
    sub = Counter(v.duplicate_kind for v in doc.violations if v.kind == "duplicate")
    return {
        "out_of_order": by_kind.get("out_of_order", 0),
        "duplicate": by_kind.get("duplicate", 0),
        "duplicate_producer": sub.get("producer", 0),
        "duplicate_redelivery": sub.get("redelivery", 0),
        "missing": by_kind.get("missing", 0),
        "gap": by_kind.get("gap", 0),
        "lost": by_kind.get("lost", 0),
    }


def checker(
    tmp: Path, sizes: tuple[int, ...], repeat: int, say: Callable[[str], None]
) -> CheckerResult:
    """Time ``check --from`` on generated histories of each size in each layout (``repeat``
    times, fewer when one run is slower than SLOW_RUN_S), with whether it found every injected
    fault, beside the floor: reading and parsing the same file with the fastest parser."""
    rows = []
    for events in sizes:
        for layout in LAYOUTS:
            rows.append(_checker_size(tmp, events, layout, repeat, say))
    for layout in LAYOUTS:
        marginal_costs([r for r in rows if r.layout == layout])
    return CheckerResult(
        command="ridectl check --from FILE --format json",
        slow_run_s=SLOW_RUN_S,
        layouts=list(LAYOUTS),
        sizes=rows,
    )


def _checker_size(
    tmp: Path, events: int, layout: Layout, repeat: int, say: Callable[[str], None]
) -> CheckerSize:
    path = tmp / f"history-{events}-{layout}.ndjson"
    say(f"checker: generating a {layout} history of {events:,} events (not timed)")
    spec = generate_history(path, events, partitions=PARTITIONS, layout=layout)
    expected = spec.expected()
    runs = []
    for rep in range(repeat):
        run = timed_check(path, cli_env(tmp))
        run.found_all_injected = run.found == expected
        runs.append(run)
        say(
            f"checker {events:,} events ({layout}) run {rep + 1}: {run.wall_s:.2f} s, "
            f"{run.cpu_s:.2f} CPU s, peak RSS {run.peak_rss_mb:.0f} MB"
        )
        if run.wall_s > SLOW_RUN_S:
            break  # too slow to repeat within the bench's time
    base = floor(path)
    say(f"checker {events:,} events ({layout}): floor {base.wall_s} s ({base.best})")
    file_mb = round(path.stat().st_size / 1e6, 1)
    path.unlink(missing_ok=True)
    wall = median([r.wall_s for r in runs])
    cpu = median([r.cpu_s for r in runs])
    return CheckerSize(
        events=spec.events,
        layout=layout,
        rides=spec.rides,
        file_mb=file_mb,
        injected=spec.injected,
        expected=expected,
        wall_s=rounded(wall, 3),
        cpu_s=rounded(cpu, 3),
        peak_rss_mb=rounded(max(r.peak_rss_mb for r in runs), 1),
        s_per_million=rounded(wall / spec.events * 1e6, 3) if wall else None,
        floor=base,
        vs_floor=rounded(wall / base.wall_s, 2) if wall and base.wall_s else None,
        cpu_vs_floor=rounded(cpu / base.cpu_s, 2) if cpu and base.cpu_s else None,
        found_all_injected=all(r.found_all_injected for r in runs),
        run_count=len(runs),
        exit_codes=sorted({r.exit_code for r in runs}),
        phases=median_phases(runs),
        runs=runs,
    )
