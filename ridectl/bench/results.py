"""The results of ``ridectl bench`` as types: what each section measured, per run and per
pair of ridectl and a bare client. The sections build them, the report and the command line
read them, and ``results.json`` is written from them (``codec``), key for key as before.

A field with ``ABSENT_WHEN_NONE`` metadata is a key only some results have; a plain ``None``
field is always written (``null`` when there is no figure).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ridectl.bench.baselines import JavaSample
from ridectl.bench.codec import ABSENT_WHEN_NONE
from ridectl.bench.histories import Layout
from ridectl.bench.plan import Section
from ridectl.clients.base import ClientName

SCHEMA = "ridectl.bench/1"


# ---------------------------------------------------------------------- shared
@dataclass
class SectionFailed:
    """A section that raised: the rest of the bench still ran."""

    error: str


@dataclass
class ClientUnavailable:
    """A client that could not be measured on this machine."""

    client: ClientName
    unavailable: str


@dataclass
class TargetRow:
    """One target of the issue, its figure and whether it is met (None: no verdict)."""

    name: str
    target: str
    figure: str
    met: bool | None


# ---------------------------------------------------------------------- the setting
@dataclass
class Machine:
    cpu: str
    cores: int | None
    memory_gib: float | None
    os: str
    python: str
    java: str | None
    kafka_broker: str | None
    kafka_python: str
    kafka_python_crc32c_c_extension: bool
    ridectl: str
    load_average_at_start: list[float] | None


@dataclass
class BrokerInfo:
    bootstrap: str
    started_by_bench: bool
    ready_after_s: float | None = field(default=None, metadata=ABSENT_WHEN_NONE)
    heap_mb: int | None = field(default=None, metadata=ABSENT_WHEN_NONE)


class JarStatus(StrEnum):
    CACHED = "cached"
    DOWNLOADED = "downloaded"
    UNAVAILABLE = "unavailable"


@dataclass
class JarSet:
    """A jar set on disk: how many jars, how large, and whether this run fetched it."""

    jars: int
    mb: float
    status: JarStatus


@dataclass
class ToolJarSet(JarSet):
    #: seconds the download took (None: it was cached)
    download_s: float | None


@dataclass
class JarsUnavailable:
    status: JarStatus
    reason: str


@dataclass
class JarSets:
    broker: JarSet | None = field(default=None, metadata=ABSENT_WHEN_NONE)
    tools: ToolJarSet | JarsUnavailable | None = field(default=None, metadata=ABSENT_WHEN_NONE)


# ---------------------------------------------------------------------- 1: producers
@dataclass
class RunFailed:
    """A run that raised instead of giving figures, and the CPU it spent."""

    error: str
    cpu_s: float | None = None


@dataclass
class ProduceRun:
    """One producer run (ridectl's or a bare loop's), as the sample gave it, rounded."""

    records: int
    acked: int
    elapsed_s: float
    records_per_s: float
    mib_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    error: str | None
    loop_cpu_s: float | None
    #: the whole run's CPU seconds (this process, or the Java child)
    cpu_s: float | None = None


@dataclass
class ProduceFigures:
    """Medians over the runs of one side of a pair (failed runs kept in ``runs``)."""

    records_per_s: float | None
    mib_per_s: float | None
    p50_ms: float | None
    p99_ms: float | None
    loop_cpu_s: float | None
    failed_runs: int
    runs: list[ProduceRun | RunFailed]
    cpu_s: float | None = None


@dataclass
class ReferenceRun(JavaSample):
    """ProducerPerformance's run (a reference beside the Java rows)."""

    record_bytes: int
    elapsed_s: float
    cpu_s: float | None = None


@dataclass
class StrategyRow:
    """ridectl beside the bare loop of the same client for one strategy."""

    name: str
    title: str
    keyed: bool
    settings: dict[str, str]
    record_bytes: int | None
    ridectl: ProduceFigures
    bare: ProduceFigures
    ridectl_vs_bare: float | None
    ridectl_vs_bare_runs: list[float]
    #: CPU seconds of the timed part, the bare loop's over ridectl's (1.0: the same work)
    loop_cpu_bare_over_ridectl: float | None


@dataclass
class JavaStrategyRow(StrategyRow):
    """A Java row also has ProducerPerformance's run beside it."""

    reference: ReferenceRun | RunFailed
    ridectl_vs_reference: float | None


@dataclass
class ProducerClient:
    client: ClientName
    records: int
    bare: str
    strategies: list[StrategyRow | JavaStrategyRow]


@dataclass
class ProducerResult:
    repeat: int
    partitions: int
    seed: int
    clients: list[ProducerClient | ClientUnavailable]


# ---------------------------------------------------------------------- 2: the checker
@dataclass
class Phase:
    """One phase of the checker child (its own marks): seconds and the peak RSS at its end."""

    phase: str
    wall_s: float | None
    cpu_s: float | None
    peak_rss_mb: float | None


@dataclass
class CheckRun:
    """One ``check --from`` child run."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    exit_code: int
    phases: list[Phase]
    #: what ``wait4`` said, when the child's own peak replaced it
    peak_rss_wait4_mb: float | None = field(default=None, metadata=ABSENT_WHEN_NONE)
    error: str | None = field(default=None, metadata=ABSENT_WHEN_NONE)
    found: dict[str, int] | None = field(default=None, metadata=ABSENT_WHEN_NONE)
    found_all_injected: bool = False


@dataclass
class ParserTiming:
    wall_s: float
    cpu_s: float
    lines: int


@dataclass
class ParserFailed:
    error: str


@dataclass
class Floor:
    """Reading and parsing a history with each parser; ``best`` names the fastest."""

    parsers: dict[str, ParserTiming | ParserFailed]
    best: str | None
    wall_s: float | None
    cpu_s: float | None


@dataclass
class CheckerSize:
    """The checker on one history size in one layout (medians over its runs)."""

    events: int
    layout: Layout
    rides: int
    file_mb: float
    injected: dict[str, int]
    expected: dict[str, int]
    wall_s: float | None
    cpu_s: float | None
    peak_rss_mb: float | None
    s_per_million: float | None
    floor: Floor
    vs_floor: float | None
    cpu_vs_floor: float | None
    found_all_injected: bool
    run_count: int
    exit_codes: list[int]
    phases: list[Phase]
    runs: list[CheckRun]
    #: seconds per extra million events from the size before (``targets.marginal_costs``)
    marginal_wall_s_per_million: float | None = None
    marginal_cpu_s_per_million: float | None = None


@dataclass
class CheckerResult:
    command: str
    slow_run_s: float
    layouts: list[Layout]
    sizes: list[CheckerSize]


# ---------------------------------------------------------------------- 3: consume and check
@dataclass
class ConsumeRun:
    """ridectl reading the run back and judging it, once."""

    events: int
    wall_s: float
    consume_s: float
    read_loop_s: float
    check_s: float
    events_per_s: int | None
    loop_events_per_s: int | None
    violating_rides: int
    cpu_s: float | None = None


@dataclass
class BareReadRun:
    """A bare read of the same records by the same client, once."""

    records: int
    wall_s: float
    loop_s: float
    events_per_s: int | None
    loop_events_per_s: int | None
    cpu_s: float | None = None


@dataclass
class ConsumeClient:
    client: ClientName
    bare: str
    events_per_s: float | None
    loop_events_per_s: float | None
    consume_s: float | None
    check_s: float | None
    wall_s: float | None
    cpu_s: float | None
    bare_records_per_s: float | None
    bare_loop_records_per_s: float | None
    bare_cpu_s: float | None
    ridectl_vs_bare: float | None
    violating_rides: int | None
    runs: list[ConsumeRun]
    bare_runs: list[BareReadRun]


@dataclass
class ConsumeResult:
    topic_events: int
    repeat: int
    clients: list[ConsumeClient | ClientUnavailable]


# ---------------------------------------------------------------------- 4: first lesson
@dataclass
class DemoRun:
    """``ridectl demo ARGS`` run to its end."""

    wall_s: float
    exit_code: int | None
    note: str | None = field(default=None, metadata=ABSENT_WHEN_NONE)


@dataclass
class DemoStream:
    """``ridectl demo --fast`` read as it runs: when its first lesson ended, and its end."""

    first_lesson_s: float | None
    stopped: str | None
    wall_s: float
    exit_code: int | None
    last_line: str | None = field(default=None, metadata=ABSENT_WHEN_NONE)


@dataclass
class LessonsUnavailable:
    available: bool
    note: str


@dataclass
class FirstLessonResult:
    available: bool
    first_lesson: str
    first_lesson_runs: list[DemoRun]
    first_lesson_s: float | None
    first_lesson_exit_codes: list[int | None]
    whole_demo: DemoStream
    first_round: DemoRun | None = field(default=None, metadata=ABSENT_WHEN_NONE)


class BrokerStartKind(StrEnum):
    OWN = "the bench's own broker"
    EXTRA = "extra"


@dataclass
class BrokerStart:
    wall_s: float
    ready_after_s: float
    which: BrokerStartKind


@dataclass
class ColdStartResult:
    wall_s: float | None
    ready_after_s: float | None
    runs: list[BrokerStart]
    note: str


@dataclass
class ColdStartUnavailable:
    unavailable: str


# ---------------------------------------------------------------------- the whole run
@dataclass
class BenchResults:
    """Everything one ``ridectl bench`` measured; a section not measured is None."""

    schema: str
    date: str
    size: str
    repeat: int
    pair_repeat: int
    sections: list[Section]
    clients: list[ClientName]
    machine: Machine
    broker: BrokerInfo
    jars: JarSets
    producer: ProducerResult | SectionFailed | None = field(default=None, metadata=ABSENT_WHEN_NONE)
    consume_check: ConsumeResult | SectionFailed | None = field(
        default=None, metadata=ABSENT_WHEN_NONE
    )
    checker: CheckerResult | SectionFailed | None = field(default=None, metadata=ABSENT_WHEN_NONE)
    first_lesson: FirstLessonResult | LessonsUnavailable | SectionFailed | None = field(
        default=None, metadata=ABSENT_WHEN_NONE
    )
    cold_start: ColdStartResult | ColdStartUnavailable | SectionFailed | None = field(
        default=None, metadata=ABSENT_WHEN_NONE
    )
    targets: list[TargetRow] = field(default_factory=list)
    duration_s: float | None = None

    def failures(self) -> list[tuple[Section, str]]:
        """The sections that raised, with their errors."""
        parts = {
            Section.PRODUCER: self.producer,
            Section.CONSUME_CHECK: self.consume_check,
            Section.CHECKER: self.checker,
            Section.FIRST_LESSON: self.first_lesson,
            Section.COLD_START: self.cold_start,
        }
        return [(s, r.error) for s, r in parts.items() if isinstance(r, SectionFailed)]
