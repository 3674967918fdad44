"""The comparison matrix: the same rides under a grid of producer settings and faults, each
run judged, so the effect of every setting can be read off one table."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ridectl.clients.idempotence import idempotence_conflicts
from ridectl.clients.order_defaults import one_record_per_request
from ridectl.clients.registry import DEFAULT_CLIENT, ClientName
from ridectl.clients.setting_names import SettingName
from ridectl.clients.settings import ClientSettings
from ridectl.errors import UsageError
from ridectl.faults.spec import parse_fault_spec
from ridectl.judge.kinds import ViolationKind
from ridectl.run.flow import Trial
from ridectl.run.options import round_or_none
from ridectl.scenarios.context import DemoContext


@dataclass(frozen=True)
class Cell:
    keyed: bool
    in_flight: int
    idempotence: bool
    fault: str  # canonical spec text, or "none"
    client: ClientName = DEFAULT_CLIENT

    @property
    def label(self) -> str:
        return (
            f"{self.client.value}, {'keyed' if self.keyed else 'unkeyed'}, "
            f"in-flight {self.in_flight}, "
            f"idempotence {'on' if self.idempotence else 'off'}, fault {self.fault}"
        )


@dataclass
class MatrixRow:
    cell: Cell
    trial: Trial

    def to_dict(self) -> dict[str, object]:
        run, rep = self.trial.run, self.trial.report
        return {
            "client": self.cell.client.value,
            "keyed": self.cell.keyed,
            "max_in_flight": self.cell.in_flight,
            "idempotence": self.cell.idempotence,
            "fault": self.cell.fault,
            "rides": rep.rides,
            "violating_rides": rep.violating_rides,
            "out_of_order": rep.by_kind[ViolationKind.OUT_OF_ORDER],
            "duplicate": rep.by_kind[ViolationKind.DUPLICATE],
            "missing": rep.by_kind[ViolationKind.MISSING],
            "lost": rep.by_kind[ViolationKind.LOST],
            "rides_split": rep.rides_split,
            "events_acked": run.acked,
            "events_per_s": round(run.throughput, 1),
            "ack_p50_ms": round_or_none(run.latency_pct(50)),
            "ack_p99_ms": round_or_none(run.latency_pct(99)),
            "batch_retries": run.batch_retries,
            "faults_injected": run.fault_stats.faults_injected_total if run.fault_stats else 0,
        }


def parse_grid(
    keying: Sequence[str],
    in_flight: Sequence[int],
    idempotence: Sequence[str],
    faults: Sequence[str],
    clients: Sequence[ClientName] = (DEFAULT_CLIENT,),
) -> list[Cell]:
    """The cells of the grid, validated; ``faults`` holds spec texts or "none". The client is
    the outermost axis: each client's rows come together."""
    keyed: list[bool] = []
    for k in keying:
        if k not in ("keyed", "unkeyed"):
            raise UsageError(f"--keying takes keyed or unkeyed, not {k!r}")
        keyed.append(k == "keyed")
    for n in in_flight:
        if n < 1:
            raise UsageError(f"--max-in-flight values must be 1 or more, not {n}")
    idem: list[bool] = []
    for v in idempotence:
        if v not in ("on", "off"):
            raise UsageError(f"--idempotence takes on or off, not {v!r}")
        idem.append(v == "on")
    for f in faults:
        if f != "none":
            parse_fault_spec(f)  # refuse a bad spec before any run starts
    fault_texts = list(faults)
    cells = [
        Cell(k, n, i, f, c)
        for c, k, n, i, f in itertools.product(clients, keyed, in_flight, idem, fault_texts)
        if _possible(n, i)
    ]
    if not cells:
        raise UsageError("the grid is empty")
    return cells


def _possible(in_flight: int, idempotence: bool) -> bool:
    """Whether a producer accepts these settings together (an idempotent one refuses more
    than 5 requests in flight)."""
    settings = ClientSettings(bootstrap="")
    settings.set(SettingName.ENABLE_IDEMPOTENCE, str(idempotence).lower(), origin="matrix")
    settings.set(SettingName.MAX_IN_FLIGHT, str(in_flight), origin="matrix")
    return not idempotence_conflicts(settings)


def run_matrix(
    ctx: DemoContext,
    cells: Sequence[Cell],
    rides: int,
    partitions: int,
    on_row: Callable[[MatrixRow], None] | None = None,
) -> list[MatrixRow]:
    rows: list[MatrixRow] = []
    for n, cell in enumerate(cells, 1):
        # The client's one-record-per-request recipe, unless the user set a key.
        recipe = one_record_per_request(cell.client)
        base = {k: v for k, v in recipe.items() if ctx.settings.get(k) is None}
        producer = {
            **base,
            SettingName.MAX_IN_FLIGHT: str(cell.in_flight),
            SettingName.ENABLE_IDEMPOTENCE: str(cell.idempotence).lower(),
        }
        faults = [] if cell.fault == "none" else [parse_fault_spec(cell.fault)]
        trial = ctx.trial(
            cell.label,
            ctx.topic("matrix", str(n)),
            rides=rides,
            keyed=cell.keyed,
            partitions=partitions,
            producer=producer,
            faults=faults,
            client=cell.client,
        )
        row = MatrixRow(cell, trial)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows
