"""The four measured parts of ``RESULTS.md``, each from its typed results: producer
throughput, the checker's speed, consume-and-check, and the time to the first lesson."""

from __future__ import annotations

from ridectl.bench.markdown import failed_note, num, table
from ridectl.bench.plan import FIRST_ROUND_LESSONS
from ridectl.bench.results import (
    BenchResults,
    CheckerResult,
    ClientUnavailable,
    ColdStartUnavailable,
    ConsumeResult,
    DemoRun,
    FirstLessonResult,
    JavaStrategyRow,
    LessonsUnavailable,
    ProducerResult,
    RunFailed,
    SectionFailed,
    ToolJarSet,
)


def producer_section(section: ProducerResult | SectionFailed | None) -> list[str]:
    out = ["## 1. Producer throughput and acknowledgement latency", ""]
    failed = failed_note(section)
    if failed or not isinstance(section, ProducerResult):
        return [*out, failed or "", ""]
    measured = [c for c in section.clients if not isinstance(c, ClientUnavailable)]
    counts = ", ".join(f"{c.client} {c.records:,}" for c in measured)
    out += [
        f"Records per run: {counts} (a faster client gets more, so every timed run lasts "
        f"about as long); {section.partitions} partitions, a fresh topic per run; acks=all, "
        "linger.ms=0, batch.size=16384 for every client. Each client's ridectl run is beside "
        f"a bare loop of the same client, {section.repeat} time(s) per strategy; "
        "\"ridectl ÷ bare\" is ridectl's records/s over the bare loop's, "
        "taken per repetition (side by side) and then the median. CPU s is the whole run's "
        "CPU time (this process, or the Java child), a figure other load disturbs less; "
        "timed CPU µs/record is this process's CPU (every thread) while the run is timed, "
        "plus the JVM's for the Java client (the bare Java loop's is its JVM's alone), per "
        "record, and its ratio row the bare loop's over ridectl's (1.00: the same work).",
        "",
    ]
    header = [
        "strategy",
        "run",
        "records/s",
        "MiB/s",
        "p50 ack ms",
        "p99 ack ms",
        "CPU s",
        "timed CPU µs/record",
    ]
    for client in section.clients:
        out += [f"### {client.client}", ""]
        if isinstance(client, ClientUnavailable):
            out += [f"unavailable: {client.unavailable}", ""]
            continue
        per_record = 1e6 / max(1, client.records)
        rows = []
        for s in client.strategies:
            for agg, label, title in ((s.ridectl, "ridectl", s.title), (s.bare, client.bare, "")):
                failed_runs = agg.failed_runs
                rows.append(
                    [
                        title,
                        label + (f" ({failed_runs} run(s) failed)" if failed_runs else ""),
                        num(agg.records_per_s),
                        num(agg.mib_per_s, 2),
                        num(agg.p50_ms, 1),
                        num(agg.p99_ms, 1),
                        num(agg.cpu_s, 2),
                        num(_times(agg.loop_cpu_s, per_record), 1),
                    ]
                )
            rows.append(
                [
                    "",
                    "**ridectl ÷ bare**",
                    num(s.ridectl_vs_bare, 2),
                    *([""] * 4),
                    num(s.loop_cpu_bare_over_ridectl, 2),
                ]
            )
            if isinstance(s, JavaStrategyRow):
                rows += _reference_rows(s)
        out += [*table(header, rows), ""]
    return out


def _reference_rows(s: JavaStrategyRow) -> list[list[str]]:
    """ProducerPerformance's run beside the Java rows (a reference, not the target's loop)."""
    ref = s.reference
    if isinstance(ref, RunFailed):
        return [["", f"ProducerPerformance (reference): failed: {ref.error}", *[""] * 6]]
    return [
        [
            "",
            "ProducerPerformance (reference, one run)",
            num(ref.records_per_s),
            num(ref.mib_per_s, 2),
            num(ref.p50_ms, 1),
            num(ref.p99_ms, 1),
            num(ref.cpu_s, 2),
            "",
        ],
        ["", "ridectl ÷ ProducerPerformance", num(s.ridectl_vs_reference, 2), *[""] * 5],
    ]


def _times(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def checker_section(section: CheckerResult | SectionFailed | None) -> list[str]:
    out = ["## 2. Checker speed, end to end", ""]
    failed = failed_note(section)
    if failed or not isinstance(section, CheckerResult):
        return [*out, failed or "", ""]
    out += [
        f"`{section.command}` run as a child process (process start to verdict) on "
        "generated histories (keyed rides on 6 partitions, interleaved; 0.5% of the rides per "
        "kind damaged: swapped events, producer duplicates, redeliveries, missing events), in "
        "two layouts: ours (compact, as `consume --out` writes) and spaced (a space after "
        "every separator, as `json.dumps` or `jq` writes). Generating the file is not timed. "
        "The floor is merely reading and parsing the same file in-process with the faster of "
        'msgspec (typed lines, chunked) and pyarrow (typed columns); "x floor" is the '
        "checker's wall time over it. Peak RSS is the child's own (VmHWM at its exit; `wait4` "
        "would add this process's peak, which Linux carries into a child), the largest of the "
        "runs. The marginal CPU cost per extra million events leaves the child's start-up out. "
        f"A size whose first run takes more than {section.slow_run_s:g} s is run once.",
        "",
    ]
    rows = []
    for r in section.sizes:
        base = r.floor
        rows.append(
            [
                num(r.events),
                str(r.layout),
                num(r.file_mb, 1),
                num(r.wall_s, 2),
                num(r.cpu_s, 2),
                f"{num(base.wall_s, 2)} ({base.best or '-'})",
                num(r.vs_floor, 2),
                num(r.marginal_cpu_s_per_million, 2),
                num(r.peak_rss_mb),
                "yes" if r.found_all_injected else "**no**",
                num(r.run_count),
            ]
        )
    header = [
        "events",
        "layout",
        "file MB",
        "wall s",
        "CPU s",
        "floor s (parser)",
        "x floor",
        "marginal CPU s per million",
        "peak RSS MB",
        "found exactly what was injected",
        "runs",
    ]
    return [*out, *table(header, rows), "", *_checker_phases(section)]


def _checker_phases(section: CheckerResult) -> list[str]:
    """Where the checker's time goes: its phases (medians over the runs) per size and layout."""
    sizes = [r for r in section.sizes if r.phases]
    if not sizes:
        return []
    names = list(dict.fromkeys(p.phase for r in sizes for p in r.phases))
    rows = []
    for r in sizes:
        got = {p.phase: p for p in r.phases}
        cells = [
            f"{num(got[n].wall_s, 2)} / {num(got[n].cpu_s, 2)}" if n in got else "-" for n in names
        ]
        rows.append([num(r.events), str(r.layout), *cells])
    return [
        "Where the time goes (the child's own marks, `RIDECTL_PHASES=1`): wall / CPU seconds "
        "per phase, medians over the runs. CPU is the whole process's (every thread), so the "
        "history's parse, which runs on reader threads from the moment pyarrow is imported, "
        "shows in the phases that overlap it; the parse phase is only the wait for its end.",
        "",
        *table(["events", "layout", *names], rows),
        "",
    ]


def consume_section(section: ConsumeResult | SectionFailed | None) -> list[str]:
    out = ["## 3. Consume and check from the broker", ""]
    failed = failed_note(section)
    if failed or not isinstance(section, ConsumeResult):
        return [*out, failed or "", ""]
    out += [
        f"The {section.topic_events:,} events of a keyed idempotent run written for "
        "this section, read back from the beginning in-process with each client (`consume()` "
        "then `check()` with the run's acknowledgements, what `ridectl check --topic` does with a "
        "run produced from this machine), beside a bare read of the same "
        "records by the same client that keeps nothing (the ceiling the client sets). Every "
        "figure and ratio covers the same span for every client: from client creation to "
        "verdict for ridectl, to the last record for the bare read. The loop columns leave "
        "client start, assignment and end offsets out (ridectl's loop includes its check). "
        f"ridectl and the bare read run side by side {section.repeat} time(s), "
        "alternating which goes first; figures are medians, the ratio the median of the "
        "side-by-side ones.",
        "",
    ]
    rows = []
    for c in section.clients:
        if isinstance(c, ClientUnavailable):
            rows.append([c.client, f"unavailable: {c.unavailable}", *[""] * 9])
            continue
        rows.append(
            [
                c.client,
                num(c.events_per_s),
                num(c.loop_events_per_s),
                num(c.wall_s, 2),
                num(c.consume_s, 2),
                num(c.check_s, 3),
                num(c.cpu_s, 2),
                f"{num(c.bare_records_per_s)} ({c.bare})",
                num(c.bare_loop_records_per_s),
                num(c.bare_cpu_s, 2),
                num(c.ridectl_vs_bare, 2),
            ]
        )
    header = [
        "client",
        "ridectl events/s",
        "loop events/s",
        "wall s",
        "of which consume s",
        "of which check s",
        "CPU s",
        "bare read records/s",
        "bare loop records/s",
        "bare CPU s",
        "ridectl ÷ bare",
    ]
    return [*out, *table(header, rows), ""]


def _first_round_row(run: DemoRun | None) -> list[list[str]]:
    """The row of ``demo --fast`` with the lessons its target was set on (none if not run)."""
    if not run:
        return []
    note = f"; {run.note}" if run.note else ""
    return [
        [
            "`ridectl demo --fast` with the first round's eight lessons (`--scenario` each: "
            f"{', '.join(FIRST_ROUND_LESSONS)})",
            num(run.wall_s, 1),
            f"exit {run.exit_code}{note}",
        ]
    ]


def first_lesson_section(results: BenchResults) -> list[str]:
    out = ["## 4. Time to first lesson", ""]
    lesson = results.first_lesson
    rows: list[list[str]] = []
    if lesson is None:
        rows.append(["`ridectl demo --fast`", "-", "not measured"])
    elif isinstance(lesson, SectionFailed):
        rows.append(["`ridectl demo --fast`", "-", f"failed: {lesson.error}"])
    elif isinstance(lesson, LessonsUnavailable):
        rows.append(["`ridectl demo --fast`", "-", lesson.note])
    else:
        rows += _lesson_rows(lesson)
        rows += _first_round_row(lesson.first_round)
    rows += _cold_start_rows(results)
    tools = results.jars.tools
    if isinstance(tools, ToolJarSet) and tools.download_s is not None:
        rows.append(["kafka-tools jar download (once)", num(tools.download_s, 1), "Maven"])
    else:
        rows.append(
            [
                "jar downloads (once, separate)",
                "-",
                "cached before this run; `ensure_jars` fetches them once with Maven",
            ]
        )
    return [*out, *table(["what", "wall s", "note"], rows), ""]


def _lesson_rows(lesson: FirstLessonResult) -> list[list[str]]:
    """The first lesson alone, then the whole demo until its first lesson and to its end."""
    codes = lesson.first_lesson_exit_codes
    notes = {r.note for r in lesson.first_lesson_runs if r.note}
    rows = [
        [
            f"`ridectl demo --fast --scenario {lesson.first_lesson}`: the first lesson "
            "alone (warm broker)",
            num(lesson.first_lesson_s, 1),
            f"exit {codes}" + (f"; {'; '.join(sorted(notes))}" if notes else ""),
        ]
    ]
    whole = lesson.whole_demo
    stopped = whole.stopped
    rows.append(
        [
            "`ridectl demo --fast`: until its first lesson is judged (warm broker)",
            num(whole.first_lesson_s, 1),
            "the second lesson's heading appears",
        ]
    )
    if stopped and "first lesson" in stopped:
        rows.append(["`ridectl demo --fast`: every lesson", "-", f"stopped {stopped}"])
    elif stopped:
        rows.append(
            [
                "`ridectl demo --fast`: every lesson",
                f"> {num(whole.wall_s, 0)}",
                f"stopped: {stopped}",
            ]
        )
    else:
        rows.append(
            [
                "`ridectl demo --fast`: every lesson",
                num(whole.wall_s, 1),
                f"exit {whole.exit_code}: {whole.last_line or ''}",
            ]
        )
    return rows


def _cold_start_rows(results: BenchResults) -> list[list[str]]:
    cold = results.cold_start
    if cold is None:
        return [["broker cold start", "-", "not measured"]]
    if isinstance(cold, SectionFailed):
        return [["broker cold start", "-", f"failed: {cold.error}"]]
    if isinstance(cold, ColdStartUnavailable):
        return [["broker cold start", "-", cold.unavailable]]
    return [
        [
            "broker cold start (`LocalCluster.up`, fresh state dir)",
            num(cold.wall_s, 1),
            f"{cold.note}; JVM ready after {num(cold.ready_after_s, 1)} s",
        ]
    ]
