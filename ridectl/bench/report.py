"""Writing a benchmark's results: ``results.json`` (everything, per run) and ``RESULTS.md``
(the dated tables a person reads)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ridectl.bench.plan import FIRST_ROUND_LESSONS

RESULTS_MD = "RESULTS.md"
RESULTS_JSON = "results.json"


def write_results(results: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write both files into ``out_dir`` (created if needed); returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / RESULTS_MD
    js = out_dir / RESULTS_JSON
    js.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    md.write_text(render_markdown(results), encoding="utf-8")
    return md, js


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, int | float):
        return f"{value:,.{digits}f}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _failed(section: Any) -> str | None:
    if not isinstance(section, dict):
        return "not measured"
    error = section.get("error")
    return f"**failed**: {error}" if error else None


def render_markdown(results: dict[str, Any]) -> str:
    out: list[str] = ["# ridectl benchmark", ""]
    out += [
        f"Measured {results.get('date', '?')} with `ridectl bench --size {results.get('size')}` "
        f"(figures are medians of {results.get('repeat')} run(s), "
        f"{results.get('pair_repeat')} for each pair of ridectl and a bare client; the whole "
        f"benchmark took {_num(results.get('duration_s'))} s; clients: "
        f"{', '.join(results.get('clients') or ['kafka-python'])}). Written by the command: "
        "re-run it rather than edit this file.",
        "",
    ]
    out += _machine(results)
    out += _targets(results)
    out += _producer(results.get("producer"))
    out += _checker(results.get("checker"))
    out += _consume(results.get("consume_check"))
    out += _first_lesson(results)
    out += _method(results)
    return "\n".join(out).rstrip() + "\n"


def _machine(results: dict[str, Any]) -> list[str]:
    m = results.get("machine", {})
    broker = results.get("broker", {})
    jars = results.get("jars", {})
    where = (
        f"local, started by the bench (ready in {_num(broker.get('ready_after_s'), 1)} s, "
        f"heap {broker.get('heap_mb')} MB)"
        if broker.get("started_by_bench")
        else f"given with -b ({broker.get('bootstrap')})"
    )

    def jar_set(name: str) -> str:
        info = jars.get(name)
        if not info:
            return "-"
        if info.get("status") == "unavailable":
            return f"unavailable ({info.get('reason', '')})"
        text = f"{info.get('jars')} jars, {_num(info.get('mb'), 1)} MB, {info.get('status')}"
        if info.get("download_s") is not None:
            text += f" in {_num(info.get('download_s'), 1)} s"
        return text

    load = m.get("load_average_at_start")
    rows = [
        ["CPU", f"{m.get('cpu')} ({m.get('cores')} cores)"],
        ["memory", f"{_num(m.get('memory_gib'), 1)} GiB"],
        ["OS", str(m.get("os"))],
        ["Python", str(m.get("python"))],
        ["Java", str(m.get("java"))],
        ["Kafka broker", f"{m.get('kafka_broker') or 'version not known'}, {where}"],
        [
            "kafka-python",
            f"{m.get('kafka_python')} (crc32c C extension: "
            f"{'yes' if m.get('kafka_python_crc32c_c_extension') else 'no, pure-Python CRC'})",
        ],
        ["ridectl", str(m.get("ridectl"))],
        ["load average at start", " ".join(map(str, load)) if load else "-"],
        ["jar sets (cached apart)", f"broker: {jar_set('broker')}; tools: {jar_set('tools')}"],
    ]
    return ["## Machine", "", *_table(["", ""], rows), ""]


def _targets(results: dict[str, Any]) -> list[str]:
    rows = []
    for t in results.get("targets", []):
        met = t.get("met")
        verdict = "-" if met is None else ("**met**" if met else "**not met**")
        rows.append([t["name"], t["target"], t["figure"], verdict])
    return ["## Targets", "", *_table(["what", "target", "measured", "verdict"], rows), ""]


def _producer(section: Any) -> list[str]:
    out = ["## 1. Producer throughput and acknowledgement latency", ""]
    failed = _failed(section)
    if failed:
        return [*out, failed, ""]
    counts = ", ".join(
        f"{c['client']} {c['records']:,}" for c in section.get("clients", []) if "records" in c
    )
    out += [
        f"Records per run: {counts} (a faster client gets more, so every timed run lasts "
        f"about as long); {section['partitions']} partitions, a fresh topic per run; acks=all, "
        "linger.ms=0, batch.size=16384 for every client. Each client's ridectl run is beside "
        f"a bare loop of the same client, {section.get('repeat')} time(s) per strategy; "
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
    for client in section.get("clients", []):
        out += [f"### {client['client']}", ""]
        if "unavailable" in client:
            out += [f"unavailable: {client['unavailable']}", ""]
            continue
        per_record = 1e6 / max(1, client["records"])
        rows = []
        for s in client.get("strategies", []):
            for key, label in (("ridectl", "ridectl"), ("bare", client["bare"])):
                agg = s.get(key) or {}
                failed_runs = agg.get("failed_runs") or 0
                rows.append(
                    [
                        s["title"] if key == "ridectl" else "",
                        label + (f" ({failed_runs} run(s) failed)" if failed_runs else ""),
                        _num(agg.get("records_per_s")),
                        _num(agg.get("mib_per_s"), 2),
                        _num(agg.get("p50_ms"), 1),
                        _num(agg.get("p99_ms"), 1),
                        _num(agg.get("cpu_s"), 2),
                        _num(_times(agg.get("loop_cpu_s"), per_record), 1),
                    ]
                )
            rows.append(
                [
                    "",
                    "**ridectl ÷ bare**",
                    _num(s.get("ridectl_vs_bare"), 2),
                    *([""] * 4),
                    _num(s.get("loop_cpu_bare_over_ridectl"), 2),
                ]
            )
            rows += _reference_rows(s)
        out += [*_table(header, rows), ""]
    return out


def _reference_rows(s: dict[str, Any]) -> list[list[str]]:
    """ProducerPerformance's run beside the Java rows (a reference, not the target's loop)."""
    ref = s.get("reference")
    if ref is None:
        return []
    if ref.get("error"):
        return [["", f"ProducerPerformance (reference): failed: {ref['error']}", *[""] * 6]]
    return [
        [
            "",
            "ProducerPerformance (reference, one run)",
            _num(ref.get("records_per_s")),
            _num(ref.get("mib_per_s"), 2),
            _num(ref.get("p50_ms"), 1),
            _num(ref.get("p99_ms"), 1),
            _num(ref.get("cpu_s"), 2),
            "",
        ],
        ["", "ridectl ÷ ProducerPerformance", _num(s.get("ridectl_vs_reference"), 2), *[""] * 5],
    ]


def _times(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def _checker(section: Any) -> list[str]:
    out = ["## 2. Checker speed, end to end", ""]
    failed = _failed(section)
    if failed:
        return [*out, failed, ""]
    out += [
        f"`{section.get('command')}` run as a child process (process start to verdict) on "
        "generated histories (keyed rides on 6 partitions, interleaved; 0.5% of the rides per "
        "kind damaged: swapped events, producer duplicates, redeliveries, missing events), in "
        "two layouts: ours (compact, as `consume --out` writes) and spaced (a space after "
        "every separator, as `json.dumps` or `jq` writes). Generating the file is not timed. "
        "The floor is merely reading and parsing the same file in-process with the faster of "
        'msgspec (typed lines, chunked) and pyarrow (typed columns); "x floor" is the '
        "checker's wall time over it. Peak RSS is the child's own (VmHWM at its exit; `wait4` "
        "would add this process's peak, which Linux carries into a child), the largest of the "
        "runs. The marginal CPU cost per extra million events leaves the child's start-up out. "
        f"A size whose first run takes more than {section.get('slow_run_s', 20):g} s is run once.",
        "",
    ]
    rows = []
    for r in section.get("sizes", []):
        base = r.get("floor") or {}
        rows.append(
            [
                _num(r["events"]),
                str(r.get("layout", "")),
                _num(r.get("file_mb"), 1),
                _num(r.get("wall_s"), 2),
                _num(r.get("cpu_s"), 2),
                f"{_num(base.get('wall_s'), 2)} ({base.get('best') or '-'})",
                _num(r.get("vs_floor"), 2),
                _num(r.get("marginal_cpu_s_per_million"), 2),
                _num(r.get("peak_rss_mb")),
                "yes" if r.get("found_all_injected") else "**no**",
                _num(r.get("run_count")),
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
    return [*out, *_table(header, rows), "", *_checker_phases(section)]


def _checker_phases(section: Any) -> list[str]:
    """Where the checker's time goes: its phases (medians over the runs) per size and layout."""
    sizes = [r for r in section.get("sizes", []) if r.get("phases")]
    if not sizes:
        return []
    names = list(dict.fromkeys(p["phase"] for r in sizes for p in r["phases"]))
    rows = []
    for r in sizes:
        got = {p["phase"]: p for p in r["phases"]}
        cells = [
            f"{_num(got[n].get('wall_s'), 2)} / {_num(got[n].get('cpu_s'), 2)}" if n in got else "-"
            for n in names
        ]
        rows.append([_num(r["events"]), str(r.get("layout", "")), *cells])
    return [
        "Where the time goes (the child's own marks, `RIDECTL_PHASES=1`): wall / CPU seconds "
        "per phase, medians over the runs. CPU is the whole process's (every thread), so the "
        "history's parse, which runs on reader threads from the moment pyarrow is imported, "
        "shows in the phases that overlap it; the parse phase is only the wait for its end.",
        "",
        *_table(["events", "layout", *names], rows),
        "",
    ]


def _consume(section: Any) -> list[str]:
    out = ["## 3. Consume and check from the broker", ""]
    failed = _failed(section)
    if failed:
        return [*out, failed, ""]
    out += [
        f"The {section.get('topic_events'):,} events of a keyed idempotent run written for "
        "this section, read back from the beginning in-process with each client (`consume()` "
        "then `check()` with the run's acknowledgements, what `ridectl check --topic` does with a "
        "run produced from this machine), beside a bare read of the same "
        "records by the same client that keeps nothing (the ceiling the client sets). Every "
        "figure and ratio covers the same span for every client: from client creation to "
        "verdict for ridectl, to the last record for the bare read. The loop columns leave "
        "client start, assignment and end offsets out (ridectl's loop includes its check). "
        f"ridectl and the bare read run side by side {section.get('repeat', '?')} time(s), "
        "alternating which goes first; figures are medians, the ratio the median of the "
        "side-by-side ones.",
        "",
    ]
    rows = []
    for c in section.get("clients", []):
        if "unavailable" in c:
            rows.append([c["client"], f"unavailable: {c['unavailable']}", *[""] * 9])
            continue
        rows.append(
            [
                c["client"],
                _num(c.get("events_per_s")),
                _num(c.get("loop_events_per_s")),
                _num(c.get("wall_s"), 2),
                _num(c.get("consume_s"), 2),
                _num(c.get("check_s"), 3),
                _num(c.get("cpu_s"), 2),
                f"{_num(c.get('bare_records_per_s'))} ({c.get('bare')})",
                _num(c.get("bare_loop_records_per_s")),
                _num(c.get("bare_cpu_s"), 2),
                _num(c.get("ridectl_vs_bare"), 2),
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
    return [*out, *_table(header, rows), ""]


def _first_round_row(run: dict[str, Any] | None) -> list[list[str]]:
    """The row of ``demo --fast`` with the lessons its target was set on (none if not run)."""
    if not run:
        return []
    note = f"; {run['note']}" if run.get("note") else ""
    return [
        [
            "`ridectl demo --fast` with the first round's eight lessons (`--scenario` each: "
            f"{', '.join(FIRST_ROUND_LESSONS)})",
            _num(run.get("wall_s"), 1),
            f"exit {run.get('exit_code')}{note}",
        ]
    ]


def _first_lesson(results: dict[str, Any]) -> list[str]:
    out = ["## 4. Time to first lesson", ""]
    lesson = results.get("first_lesson") or {}
    cold = results.get("cold_start") or {}
    jars = results.get("jars", {}).get("tools", {})
    rows: list[list[str]] = []
    if "first_lesson" not in results:
        rows.append(["`ridectl demo --fast`", "-", "not measured"])
    elif lesson.get("error"):
        rows.append(["`ridectl demo --fast`", "-", f"failed: {lesson['error']}"])
    elif not lesson.get("available"):
        rows.append(["`ridectl demo --fast`", "-", str(lesson.get("note", "not available yet"))])
    else:
        codes = lesson.get("first_lesson_exit_codes", [])
        notes = {r.get("note") for r in lesson.get("first_lesson_runs", []) if r.get("note")}
        rows.append(
            [
                f"`ridectl demo --fast --scenario {lesson.get('first_lesson')}`: the first lesson "
                "alone (warm broker)",
                _num(lesson.get("first_lesson_s"), 1),
                f"exit {codes}" + (f"; {'; '.join(sorted(notes))}" if notes else ""),
            ]
        )
        whole = lesson.get("whole_demo") or {}
        stopped = whole.get("stopped")
        rows.append(
            [
                "`ridectl demo --fast`: until its first lesson is judged (warm broker)",
                _num(whole.get("first_lesson_s"), 1),
                "the second lesson's heading appears",
            ]
        )
        if stopped and "first lesson" in stopped:
            rows.append(["`ridectl demo --fast`: every lesson", "-", f"stopped {stopped}"])
        elif stopped:
            rows.append(
                [
                    "`ridectl demo --fast`: every lesson",
                    f"> {_num(whole.get('wall_s'), 0)}",
                    f"stopped: {stopped}",
                ]
            )
        else:
            rows.append(
                [
                    "`ridectl demo --fast`: every lesson",
                    _num(whole.get("wall_s"), 1),
                    f"exit {whole.get('exit_code')}: {whole.get('last_line', '')}",
                ]
            )
    rows += _first_round_row(lesson.get("first_round"))
    if "cold_start" not in results:
        rows.append(["broker cold start", "-", "not measured"])
    elif cold.get("error") or cold.get("unavailable"):
        why = f"failed: {cold['error']}" if cold.get("error") else cold["unavailable"]
        rows.append(["broker cold start", "-", why])
    else:
        rows.append(
            [
                "broker cold start (`LocalCluster.up`, fresh state dir)",
                _num(cold.get("wall_s"), 1),
                f"{cold.get('note', '')}; JVM ready after {_num(cold.get('ready_after_s'), 1)} s",
            ]
        )
    if jars.get("download_s") is not None:
        rows.append(["kafka-tools jar download (once)", _num(jars["download_s"], 1), "Maven"])
    else:
        rows.append(
            [
                "jar downloads (once, separate)",
                "-",
                "cached before this run; `ensure_jars` fetches them once with Maven",
            ]
        )
    return [*out, *_table(["what", "wall s", "note"], rows), ""]


def _method(results: dict[str, Any]) -> list[str]:
    crc = results.get("machine", {}).get("kafka_python_crc32c_c_extension")
    lines = [
        "## How it is measured",
        "",
        "- One broker for everything, never shared with another measurement at the same time; "
        "every producer run writes to a fresh topic.",
        "- ridectl: `run_produce()` as `ridectl produce` runs it, with the client named; its "
        "clock covers the sends and the final flush (the topic is created before). With the "
        "Java client the run's records are handed to the JVM before the clock (up to 64 MiB; "
        "these runs fit), so its clock starts at the command that sends them from the JVM's "
        "heap, as the bare Java loop's starts with its records in its heap. The bare "
        "kafka-python and librdkafka loops get the same records (built before their clock "
        "starts), send them with one latency callback and flush; the clock covers the same span. "
        "Each producer is made before its records are built and asks for the topic's "
        "partitions before its clock starts, so all have connected by then.",
        "- Java: the bare loop (`BareLoop.java`) runs in a JVM started as ridectl's Java client "
        "is (same flags, class path and translated settings); it gets the same records before "
        "its clock, learns the partitions (`partitionsFor`) before it, then sends with one "
        "latency callback per record and flushes; its timed CPU is the JVM's own over that "
        "span. Like ridectl's Java run it gets one uncounted warm-up run in a JVM of its own. "
        "`ProducerPerformance` (`--record-size <ridectl's mean value size> --throughput -1`, "
        "round-robin partitioner, null keys, default JVM flags, its JVM start and JIT warm-up "
        "on its clock) runs once per strategy as a reference only. The bare Java read assigns "
        "the partitions from the beginning, learns the end offsets and positions, then polls "
        "to the end counting records; it is timed from its JVM's start to its end.",
        "- ridectl and the bare loop alternate which goes first in each repetition.",
        "- Ack latency: from `send()` to the acknowledgement callback, so it includes the time "
        "a record waits in the client's buffer when the producer is saturated. For Java, "
        "ridectl's JVM and the bare loop's both measure it themselves with `System.nanoTime()`, "
        "a held record from its real send. The bare "
        "librdkafka loop, which shares one callback between records, takes it from the "
        "record's create timestamp (set inside `produce()`, to the millisecond), not from "
        "librdkafka's `latency()`, which stops before the report waits to be served.",
    ]
    if not crc:
        lines.append(
            "- kafka-python computes record-batch CRC32C in pure Python here (the optional "
            "`crc32c` package is not installed): a large share of both producing and consuming."
        )
    return [*lines, ""]
