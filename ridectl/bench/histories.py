"""Synthetic history files for timing the checker.

A generated history looks like what ``ridectl consume --out`` saves for a keyed run: rides
interleaved as ``interleaved_schedule`` interleaves them, each ride on one partition, offsets
counting up per partition. A small share of rides is damaged on purpose, one kind of damage
per ride, so the checker has every kind of violation to find and the expected counts are
known exactly:

* ``swap``: two consecutive events of the ride were written in reverse order (one
  ``out_of_order`` violation);
* ``producer_dup``: one event was written twice, at two offsets (a ``duplicate`` of the
  ``producer`` sub-kind);
* ``redelivery``: one record was processed twice from the same offset (a ``duplicate`` of the
  ``redelivery`` sub-kind);
* ``missing``: the ride's last event never appears (one ``missing`` violation);
* ``gap``: an event before the ride's last one never appears (one ``gap`` violation).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from ridectl.judge.history import HISTORY_LINE, json_text
from ridectl.judge.lifecycle import LIFECYCLE_LENGTH, interleaved_schedule
from ridectl.run.options import ride_ids

#: The kinds of damage, in the order the rides are drawn for them.
DAMAGE = ("swap", "producer_dup", "redelivery", "missing", "gap")

#: Lines are written to the file in chunks of this many.
_CHUNK = 20_000


#: The layouts a history can be written in: ours (compact, as ``ridectl consume --out`` writes
#: it) and a spaced one (a space after every separator, as Python's ``json.dumps`` or another
#: tool writes it), which no byte-level shortcut of the reader may treat differently.
class Layout(StrEnum):
    COMPACT = "compact"
    SPACED = "spaced"


LAYOUTS: dict[Layout, str] = {
    Layout.COMPACT: HISTORY_LINE,
    Layout.SPACED: HISTORY_LINE.replace(",", ", ").replace(":", ": "),
}


@dataclass
class HistorySpec:
    """What a generated history holds, and what a correct checker must report on it."""

    path: Path
    rides: int
    events: int
    partitions: int
    #: damage kind -> number of rides damaged that way
    injected: dict[str, int] = field(default_factory=dict)

    def expected(self) -> dict[str, int]:
        """The violation counts a correct checker reports (by kind and duplicate sub-kind)."""
        return {
            "out_of_order": self.injected.get("swap", 0),
            "duplicate": self.injected.get("producer_dup", 0) + self.injected.get("redelivery", 0),
            "duplicate_producer": self.injected.get("producer_dup", 0),
            "duplicate_redelivery": self.injected.get("redelivery", 0),
            "missing": self.injected.get("missing", 0),
            "gap": self.injected.get("gap", 0),
            "lost": 0,
        }


def generate_history(
    path: Path,
    events: int,
    *,
    partitions: int = 6,
    damaged_share: float = 0.005,
    seed: int = 42,
    run_id: str = "bench-run",
    layout: Layout = Layout.COMPACT,
) -> HistorySpec:
    """Write an NDJSON history of about ``events`` events (``events // 5`` rides) to ``path``.

    ``damaged_share`` of the rides is damaged for *each* kind in ``DAMAGE`` (so four times
    that share of rides is damaged in all). The exact event count differs from ``events`` by
    the events the damage added or removed. ``layout`` is a key of ``LAYOUTS``.
    """
    line = LAYOUTS.get(layout)
    if line is None:
        raise ValueError(f"unknown layout {layout!r}: one of {', '.join(LAYOUTS)}")
    if events < LIFECYCLE_LENGTH:
        raise ValueError(f"a history needs at least {LIFECYCLE_LENGTH} events, not {events}")
    if not 0.0 <= damaged_share * len(DAMAGE) <= 1.0:
        raise ValueError(f"damaged_share out of range: {damaged_share}")
    rides = events // LIFECYCLE_LENGTH
    rng = random.Random(seed)
    per_kind = round(rides * damaged_share)
    chosen = rng.sample(range(rides), per_kind * len(DAMAGE))
    damage: dict[int, tuple[int, int]] = {}
    for k in range(len(DAMAGE)):
        for ride in chosen[k * per_kind : (k + 1) * per_kind]:
            # The damaged event: for a swap, seq and seq + 1 trade places; a missing event is
            # the last one, a gap one before it.
            top = LIFECYCLE_LENGTH - 1 if DAMAGE[k] in ("swap", "gap") else LIFECYCLE_LENGTH
            target = LIFECYCLE_LENGTH if DAMAGE[k] == "missing" else rng.randint(1, top)
            damage[ride] = (k, target)
    names = [json_text(name) for name in ride_ids(rides)]
    run_text = json_text(run_id)
    next_offset = [0] * partitions
    held: dict[int, int] = {}
    lines: list[str] = []
    position = 0
    with path.open("w", encoding="utf-8") as out:

        def emit(ride: int, seq: int, offset: int | None = None) -> None:
            nonlocal position
            p = ride % partitions
            if offset is None:
                offset = next_offset[p]
                next_offset[p] += 1
            lines.append(line % (position, names[ride], seq, p, offset, run_text))
            position += 1

        for ride, seq in interleaved_schedule(rides, seed=seed, concurrent=64):
            hit = damage.get(ride)
            if hit is None:
                emit(ride, seq)
            else:
                kind, target = DAMAGE[hit[0]], hit[1]
                if kind == "swap" and seq == target:
                    held[ride] = seq  # written after the ride's next event
                elif kind == "swap" and seq == target + 1:
                    emit(ride, seq)
                    emit(ride, held.pop(ride))
                elif seq != target:
                    emit(ride, seq)
                elif kind == "producer_dup":
                    emit(ride, seq)
                    emit(ride, seq)
                elif kind == "redelivery":
                    offset = next_offset[ride % partitions]
                    emit(ride, seq)
                    emit(ride, seq, offset)
                # "missing" and "gap": the event is never written
            if len(lines) >= _CHUNK:
                out.writelines(lines)
                lines.clear()
        out.writelines(lines)
    injected = dict.fromkeys(DAMAGE, per_kind)
    return HistorySpec(path, rides, position, partitions, injected)
