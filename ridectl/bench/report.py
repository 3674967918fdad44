"""Writing a benchmark's results: ``results.json`` (everything, per run) and ``RESULTS.md``
(the dated tables a person reads)."""

from __future__ import annotations

import json
from pathlib import Path

from ridectl.bench.codec import from_json_value, to_json_value
from ridectl.bench.markdown import num, table
from ridectl.bench.report_sections import (
    checker_section,
    consume_section,
    first_lesson_section,
    producer_section,
)
from ridectl.bench.results import BenchResults, JarSet, JarsUnavailable, ToolJarSet

RESULTS_MD = "RESULTS.md"
RESULTS_JSON = "results.json"


def write_results(results: BenchResults, out_dir: Path) -> tuple[Path, Path]:
    """Write both files into ``out_dir`` (created if needed); returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / RESULTS_MD
    js = out_dir / RESULTS_JSON
    js.write_text(results_json(results), encoding="utf-8")
    md.write_text(render_markdown(results), encoding="utf-8")
    return md, js


def results_json(results: BenchResults) -> str:
    """The text of ``results.json``."""
    return json.dumps(to_json_value(results), indent=2) + "\n"


def read_results(text: str) -> BenchResults:
    """A ``results.json`` read back into its types (``codec.ResultsFormatError`` if it is not
    one; ``ValueError`` if it is not JSON)."""
    return from_json_value(json.loads(text), BenchResults)


def render_markdown(results: BenchResults) -> str:
    out: list[str] = ["# ridectl benchmark", ""]
    out += [
        f"Measured {results.date} with `ridectl bench --size {results.size}` "
        f"(figures are medians of {results.repeat} run(s), "
        f"{results.pair_repeat} for each pair of ridectl and a bare client; the whole "
        f"benchmark took {num(results.duration_s)} s; clients: "
        f"{', '.join(results.clients or ['kafka-python'])}). Written by the command: "
        "re-run it rather than edit this file.",
        "",
    ]
    out += _machine(results)
    out += _targets(results)
    out += producer_section(results.producer)
    out += checker_section(results.checker)
    out += consume_section(results.consume_check)
    out += first_lesson_section(results)
    out += _method(results)
    return "\n".join(out).rstrip() + "\n"


def _jar_set(info: object) -> str:
    if info is None:
        return "-"
    if isinstance(info, JarsUnavailable):
        return f"unavailable ({info.reason})"
    assert isinstance(info, JarSet)
    text = f"{info.jars} jars, {num(info.mb, 1)} MB, {info.status}"
    if isinstance(info, ToolJarSet) and info.download_s is not None:
        text += f" in {num(info.download_s, 1)} s"
    return text


def _machine(results: BenchResults) -> list[str]:
    m = results.machine
    broker = results.broker
    jars = results.jars
    where = (
        f"local, started by the bench (ready in {num(broker.ready_after_s, 1)} s, "
        f"heap {broker.heap_mb} MB)"
        if broker.started_by_bench
        else f"given with -b ({broker.bootstrap})"
    )
    load = m.load_average_at_start
    rows = [
        ["CPU", f"{m.cpu} ({m.cores} cores)"],
        ["memory", f"{num(m.memory_gib, 1)} GiB"],
        ["OS", str(m.os)],
        ["Python", str(m.python)],
        ["Java", str(m.java)],
        ["Kafka broker", f"{m.kafka_broker or 'version not known'}, {where}"],
        [
            "kafka-python",
            f"{m.kafka_python} (crc32c C extension: "
            f"{'yes' if m.kafka_python_crc32c_c_extension else 'no, pure-Python CRC'})",
        ],
        ["ridectl", str(m.ridectl)],
        ["load average at start", " ".join(map(str, load)) if load else "-"],
        [
            "jar sets (cached apart)",
            f"broker: {_jar_set(jars.broker)}; tools: {_jar_set(jars.tools)}",
        ],
    ]
    return ["## Machine", "", *table(["", ""], rows), ""]


def _targets(results: BenchResults) -> list[str]:
    rows = []
    for t in results.targets:
        met = t.met
        verdict = "-" if met is None else ("**met**" if met else "**not met**")
        rows.append([t.name, t.target, t.figure, verdict])
    return ["## Targets", "", *table(["what", "target", "measured", "verdict"], rows), ""]


def _method(results: BenchResults) -> list[str]:
    crc = results.machine.kafka_python_crc32c_c_extension
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
