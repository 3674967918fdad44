"""Every table ridectl prints, rendered at 80, 100 and 120 columns from the real dataclasses:
no header or figure cut ("…") or split over two lines, no line wider than the terminal."""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Callable, Sequence

import pytest
from rich.console import Console, RenderableType
from rich.text import Text

from ridectl.clients.admin import TopicInfo
from ridectl.faults.proxy import ProxyStats
from ridectl.judge.checker import Report, check
from ridectl.judge.history import Ack, History, Observation
from ridectl.judge.kinds import ViolationKind
from ridectl.output.demo import compare_table, load_table, render_outcome
from ridectl.output.failover import render_failover
from ridectl.output.matrix import matrix_table
from ridectl.output.report import render_table
from ridectl.output.run import render_produce
from ridectl.output.tables import Column, FitTable, Kind
from ridectl.output.watch import live_view
from ridectl.run.flow import Trial
from ridectl.run.options import ProduceResult
from ridectl.scenarios.failover import FailoverResult
from ridectl.scenarios.lessons import LESSONS, LessonOutcome
from ridectl.scenarios.matrix import Cell, MatrixRow
from ridectl.scenarios.watch import WatchState

WIDTHS = (80, 100, 120)
GOTCHA_FAULT = "error:every=7,hold=4"

# ----------------------------------------------------------------------------- realistic data

#: processed orders of violating rides, as the checker sees them on a real broker
_SHUFFLES = ([1, 2, 4, 3, 5], [1, 3, 2, 4, 5], [1, 2, 3, 5, 4], [2, 1, 3, 4, 5], [1, 5, 2, 3, 4])


def history(
    rides: int,
    *,
    disordered: int = 0,
    duplicated: int = 0,
    lost: int = 0,
    partitions: int = 3,
    unkeyed: bool = False,
) -> History:
    """``rides`` rides; the first ``disordered`` are read out of order, the next
    ``duplicated`` have a stage read twice, the next ``lost`` miss an acknowledged stage."""
    offsets: Counter[int] = Counter()
    obs: list[Observation] = []
    acked: list[Ack] = []
    for i in range(rides):
        ride_id = f"ride-{i:05d}"
        seqs = [1, 2, 3, 4, 5]
        if i < disordered:
            seqs = _SHUFFLES[i % len(_SHUFFLES)]
        elif i < disordered + duplicated:
            seqs = [1, 2, 2, 3, 4, 5]
        for seq in seqs:
            p = (i + seq) % partitions if unkeyed else i % partitions
            acked.append(Ack(ride_id, seq, p, offsets[p]))
            if disordered + duplicated <= i < disordered + duplicated + lost and seq == 4:
                offsets[p] += 1
                continue
            obs.append(Observation(len(obs), ride_id, seq, p, offsets[p], "run-1"))
            offsets[p] += 1
    return History(obs, acked=acked, run_id="run-1")


def produce_result(
    report: Report,
    *,
    throughput: float,
    p50: float,
    p99: float,
    retries: int = 0,
    injected: int | None = None,
    partitions: int = 3,
    keyed: bool = True,
) -> ProduceResult:
    events = report.events
    result = ProduceResult(
        run_id="20261127-153012-8f3a",
        topic=TopicInfo("ridectl-demo-retry-20261127-153012", partitions, True, 1),
        keyed=keyed,
        rides=report.rides,
        seed=7,
        sent=events,
        acked=events,
        batch_retries=retries,
        per_partition=Counter(report.records_per_partition),
        latencies_ms=[p50] * 98 + [p99] * 2,
        elapsed_s=events / throughput,
        effective={
            "acks": "all",
            "enable.idempotence": "false",
            "max.in.flight.requests.per.connection": "5",
            "retries": "1000000",
            "linger.ms": "0",
            "batch.size": "1",
            "delivery.timeout.ms": "120000",
            "retry.backoff.ms": "0",
            "compression.type": "none",
        },
    )
    if injected is not None:
        result.fault_stats = _proxy_stats(injected, events + retries)
        result.proxy_address = "127.0.0.1:40117"
    return result


def _proxy_stats(injected: int, requests: int) -> ProxyStats:
    hits = tuple(range(7, 7 * injected + 1, 7))
    return ProxyStats(
        listen=("127.0.0.1:40117",),
        routes={"127.0.0.1:40117": "127.0.0.1:36753"},
        bootstrap="127.0.0.1:40117",
        faults=(GOTCHA_FAULT,),
        connections_total=3,
        connections_open=0,
        connections_failed=0,
        requests_by_api={"Produce": requests, "Metadata": 4, "ApiVersions": 3},
        produce_requests=requests,
        faults_injected={"error": injected},
        hit_requests=hits,
        hits_by_fault={GOTCHA_FAULT: hits},
        rewritten_responses=4,
        max_in_flight=5,
    )


def trial(label: str, hist: History, **run: float | int | bool | None) -> Trial:
    report = check(hist)
    return Trial(label, produce_result(report, **run), hist, report)  # type: ignore[arg-type]


def matrix_rows(rides: int = 300) -> list[MatrixRow]:
    """The default 16-run grid, with the figures a real run on one laptop gave."""
    rows: list[MatrixRow] = []
    for keyed in (True, False):
        for in_flight in (1, 5):
            for idem in (True, False):
                for fault in ("none", GOTCHA_FAULT):
                    gotcha = keyed and in_flight == 5 and not idem and fault != "none"
                    hist = history(
                        rides,
                        disordered=47 if gotcha else (0 if keyed else 279),
                        unkeyed=not keyed,
                    )
                    faulty = fault != "none"
                    t = trial(
                        "",
                        hist,
                        throughput=333.4 if faulty else 12_446.0,
                        p50=1986.3 if faulty else 8.4,
                        p99=14_162.7 if faulty else 859.5,
                        injected=214 if faulty else None,
                        keyed=keyed,
                    )
                    rows.append(MatrixRow(Cell(keyed, in_flight, idem, fault), t))
    return rows


def retry_report() -> Report:
    """The retry gotcha at demo size: every ride on one partition, some overtaken, a few
    stages duplicated and lost."""
    return check(history(1000, disordered=41, duplicated=3, lost=2))


def unkeyed_report() -> Report:
    return check(history(300, disordered=120, unkeyed=True, partitions=6))


# ----------------------------------------------------------------------------- checks


def render(draw: Callable[[Console], None], width: int) -> str:
    console = Console(width=width, record=True, file=io.StringIO(), no_color=True, soft_wrap=False)
    draw(console)
    return console.export_text()


def printed(thing: RenderableType) -> Callable[[Console], None]:
    return lambda console: console.print(thing)


def assert_fits(text: str, width: int, whole: Sequence[str]) -> None:
    """Nothing cut, no line wider than the terminal, each of ``whole`` on one line."""
    assert not re.search(r"\S…", text), text  # rich marks a cut cell with … after its text
    lines = text.splitlines()
    too_wide = [line for line in lines if Text(line).cell_len > width]
    assert not too_wide, too_wide
    for item in whole:
        assert any(item in line for line in lines), f"{item!r} cut or split:\n{text}"


def column_cells(text: str, label: str, first: str) -> list[list[str]]:
    """The pieces of the last column of a table, headed ``label`` (left-justified), per row;
    a row starts on a line whose first cell starts with ``first``."""
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if re.search(rf"\b{label}\b", line))
    x = lines[head].index(label)
    rows: list[list[str]] = []
    for line in lines[head + 2 :]:
        if not line.strip() or line.lstrip("│ ").startswith(("└", "─")):
            continue
        if not (line.startswith(("│", " ")) or line.startswith(first)):
            break
        if line.lstrip("│ ").startswith(first):
            rows.append([])
        piece = line[x:].strip(" │")
        if rows and piece:
            rows[-1].append(piece)
    return rows


def header_words(labels: Sequence[str], text: str) -> None:
    for label in labels:
        assert re.search(rf"(^|[\s┃│]){re.escape(label)}($|[\s┃│])", text, re.M), (label, text)


@pytest.mark.parametrize("width", WIDTHS)
def test_matrix_fits(width: int) -> None:
    rows = matrix_rows()
    text = render(printed(matrix_table(rows)), width)
    figures: list[str] = []
    for r in rows:
        rep, run = r.trial.report, r.trial.run
        figures += [f"{rep.violating_rides}/{rep.rides}", f"{run.throughput:,.0f}"]
        figures.append(str(rep.by_kind[ViolationKind.OUT_OF_ORDER]))
    assert_fits(text, width, figures)
    header_words(["key", "infl", "idem", "order", "dup", "violated", "ev/s", "p50", "p99"], text)
    # a fault shared by several rows is said once, in the title of their table
    assert f"fault {GOTCHA_FAULT}" in text
    assert sum(GOTCHA_FAULT in line for line in text.splitlines()) == 1
    # counts that are zero in every run are left out and said once
    assert "No run had missing events" in text
    assert "idem: enable.idempotence" in text  # the legend


@pytest.mark.parametrize("width", WIDTHS)
def test_matrix_with_single_row_faults_fits(width: int) -> None:
    faults = ["none", GOTCHA_FAULT, "lost-ack:every=9", "delay:ms=250,every=3"]
    hist = history(300, disordered=47)
    rows = [
        MatrixRow(
            Cell(True, 5, False, f),
            trial("", hist, throughput=1015.3, p50=676.6, p99=1074.1, injected=40),
        )
        for f in faults
    ]
    text = render(printed(matrix_table(rows)), width)
    assert_fits(text, width, [*faults, "47/300", "1,015", "677", "1,074"])
    # shared settings go to the title, not on each row
    assert "keyed, in-flight 5, idempotence off" in text


@pytest.mark.parametrize("width", WIDTHS)
def test_check_table_fits(width: int) -> None:
    report = retry_report()
    text = render(lambda c: render_table(report, c, limit=8, title="retry gotcha"), width)
    shown = report.per_ride[:8]
    figures = [r.ride_id for r in shown] + ["rides checked"]
    # evidence items stay whole: "p1@6 ▸ p1@8", never "p1@6 ▸" then "p1@8" on the next line
    figures += [f"p{p}@{o}" for r in shown for v in r.violations[:2] for p, o in v.evidence]
    assert_fits(text, width, figures)
    header_words(["ride", "kinds", "cause", "evidence"], text)
    # the legend explains the marks shown, not every mark there is
    assert "N! overtook an earlier stage" in text and "N~" not in text and "»N" not in text
    if re.search(r"\bconsequence\b", text.splitlines()[1] + text.splitlines()[2]):
        # consequences inline: each one whole, over three lines at most (never a word a line)
        cells = column_cells(text, "consequence", "ride-")
        assert len(cells) == len(shown), cells
        for r, lines in zip(shown, cells, strict=True):
            assert " ".join(lines) in {v.consequence for v in r.violations}, lines
            assert len(lines) <= 3, lines
    else:
        # narrow: numbered under the table, one line each
        for r in shown:
            assert any(
                re.search(rf"^\s*\d+ {re.escape(v.consequence)}\s*$", text, re.M)
                for v in r.violations
                if v.consequence
            ), text


@pytest.mark.parametrize("width", WIDTHS)
def test_check_table_of_split_rides_fits(width: int) -> None:
    report = unkeyed_report()
    text = render(lambda c: render_table(report, c, limit=6), width)
    assert_fits(text, width, [r.ride_id for r in report.per_ride[:6]])


def fixes_trials() -> list[Trial]:
    return [
        trial(
            "5 in flight, not idempotent",
            history(1000, disordered=41, duplicated=2),
            throughput=1015.3,
            p50=676.6,
            p99=1074.1,
            retries=143,
            injected=143,
        ),
        trial(
            "1 in flight, not idempotent",
            history(1000),
            throughput=345.2,
            p50=2021.0,
            p99=4025.2,
            retries=143,
            injected=143,
        ),
        trial(
            "idempotent, 5 in flight",
            history(1000),
            throughput=1233.9,
            p50=496.5,
            p99=923.2,
            retries=151,
            injected=151,
        ),
    ]


def hot_key_trials() -> list[Trial]:
    kw: dict[str, float | int] = {"throughput": 12_446.0, "p50": 8.4, "p99": 59.5}
    return [
        trial("unkeyed", history(2000, unkeyed=True, partitions=6), partitions=6, **kw),
        trial("keyed by ride_id", history(2000, partitions=6), partitions=6, **kw),
        trial(
            "keyed by pickup zone (60% airport)",
            history(2000, partitions=6),
            partitions=6,
            **kw,
        ),
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_demo_comparison_fits(width: int) -> None:
    trials = fixes_trials()
    text = render(printed(compare_table(trials)), width)
    figures = [f"{t.report.violating_rides}/{t.report.rides}" for t in trials]
    figures += [f"{t.run.throughput:,.0f}" for t in trials]
    assert_fits(text, width, figures)
    # one fault for every run: said once, in the title
    assert sum(GOTCHA_FAULT in line for line in text.splitlines()) == 1
    hot = hot_key_trials()
    text = render(printed(compare_table(hot)), width)
    assert_fits(text, width, [f"{t.run.throughput:,.0f}" for t in hot])
    assert "fault" not in text.splitlines()[0]


@pytest.mark.parametrize("width", WIDTHS)
def test_demo_load_table_fits(width: int) -> None:
    trials = hot_key_trials()
    text = render(printed(load_table(trials)), width)
    counts = [str(n) for t in trials for n in t.run.per_partition.values()]
    assert_fits(text, width, counts)
    header_words([f"p{p}" for p in range(6)], text)


@pytest.mark.parametrize("width", WIDTHS)
def test_run_summary_fits(width: int) -> None:
    t = fixes_trials()[0]
    text = render(lambda c: render_produce(c, t.run), width)
    figures = [f"{t.run.throughput:,.0f}", f"sent {t.run.sent}", f"acknowledged {t.run.acked}"]
    figures += [f"p{p}:{n}" for p, n in t.run.per_partition.items()]
    figures += ["max.in.flight.requests.per.connection=5", "error x143"]
    assert_fits(text, width, figures)


@pytest.mark.parametrize("width", WIDTHS)
def test_failover_fits(width: int) -> None:
    report = check(history(10_000, duplicated=12, partitions=3))
    run = produce_result(report, throughput=4_210.0, p50=31.2, p99=5_012.9, retries=37)
    result = FailoverResult(
        topic="ridectl-failover-20261127-153012",
        acks="all",
        idempotence=False,
        max_in_flight=5,
        produced=run,
        report=report,
        killed_node=2,
        led_partitions=[0, 2],
        sent_at_kill=15_000,
        heal_s=3.27,
        consumed=report.events,
    )
    text = render(lambda c: render_failover(c, result), width)
    f = result.figures()
    assert_fits(
        text,
        width,
        [
            f"after {f['sent_at_kill']:,} of {f['events']:,} sends",
            f"duplicated {f['duplicated']:,}",
            f"sent {f['sent']:,}",
            f"{f['heal_s']:g}s",
            *(r.ride_id for r in report.per_ride[:25]),
        ],
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_watch_view_fits(width: int) -> None:
    hist = history(600, disordered=40, duplicated=5, unkeyed=True, partitions=6)
    report = check(hist)
    state = WatchState(
        "rides",
        6,
        history=hist,
        records_per_partition=Counter(report.records_per_partition),
        report=report,
    )
    text = render(printed(live_view(state)), width)
    shown = [v for v in report.violations if v.kind.value in ("out_of_order", "duplicate")][-8:]
    assert_fits(text, width, [v.ride_id for v in shown])


@pytest.mark.parametrize("width", WIDTHS)
def test_demo_lesson_outcome_fits(width: int) -> None:
    """A whole lesson as the demo prints it: check table, timelines of a ride with a
    duplicate (six processed events), comparison and loads."""
    obs = [
        Observation(i, "ride-00017", seq, 1, 40 + i, "run-1")
        for i, seq in enumerate([1, 2, 2, 4, 3, 5])
    ]
    focus = trial("5 in flight, not idempotent", History(obs), throughput=1015.3, p50=6.6, p99=74)
    trials = fixes_trials()
    outcome = LessonOutcome(True, "56 events out of order in 41 rides.", trials, focus, True, True)
    lesson = next(lesson for lesson in LESSONS if lesson.name == "retry")
    text = render(lambda c: render_outcome(c, lesson, outcome), width)
    whole = ["ride-00017", "1 2 2+ 4! 3 5", "▼", "▲"]
    whole += [f"{t.report.violating_rides}/{t.report.rides}" for t in trials]
    assert_fits(text, width, whole)
    # every cell of the timeline whole: stage names, or numbers alone with the names below
    assert "3 InProgress ▼" in text or ("3 ▼" in text and "stages: 1 Requested" in text)


# ----------------------------------------------------------------------------- FitTable itself


def sample_table() -> FitTable:
    columns = [
        Column("ride", kind=Kind.FIGURE, justify="left"),
        Column("order", "processing order"),
        Column("what", "what went wrong", Kind.TEXT),
        Column("consequence", kind=Kind.NOTE),
    ]
    rows = [
        [f"ride-{i:05d}", "1 2 4! 3 5", "Completed (4) processed before InProgress (3)", c]
        for i, c in enumerate(
            [
                "the trip ended before it had started: the fare is computed on no distance",
                "the rider was charged before a driver was even assigned",
            ]
        )
    ]
    return FitTable(columns, rows, title="latest violations")


def test_note_column_moves_to_footnotes_only_when_narrow() -> None:
    wide = render(printed(sample_table()), 200)
    narrow = render(printed(sample_table()), 60)
    sentence = "the rider was charged before a driver was even assigned"
    assert sentence in wide and "┃" in wide  # inline, boxed
    assert re.search(rf"^\s*2 {sentence}\s*$", narrow, re.M), narrow
    assert_fits(narrow, 60, ["ride-00001", "1 2 4! 3 5"])


def test_listed_items_go_one_per_line_rather_than_break() -> None:
    items = "p1@6 ▸ p1@7; p1@6 ▸ p1@8; +1"
    columns = [Column("ride", justify="left"), Column("evidence", kind=Kind.TEXT, sep="; ")]
    table = FitTable(columns, [["ride-00004", items], ["ride-00005", "p2@7 ▸ p2@8"]])
    text = render(printed(table), 36)
    assert_fits(text, 36, ["p1@6 ▸ p1@7", "p1@6 ▸ p1@8", "p2@7 ▸ p2@8"])
    assert items in render(printed(table), 80)


def test_shared_values_fold_into_the_title() -> None:
    columns = [Column("fault", fold=lambda v: f"fault {v}"), Column("n")]
    folded = FitTable(columns, [["error:every=7", "1"], ["error:every=7", "2"]], title="runs")
    assert folded.full_title == "runs: fault error:every=7"
    assert [c.label for c in folded.columns] == ["n"]
    kept = FitTable(columns, [["error:every=7", "1"], ["none", "2"]], title="runs")
    assert kept.full_title == "runs" and len(kept.columns) == 2
