"""Tables that fit the terminal they are printed on.

A ``FitTable`` knows which of its columns hold figures (never wrapped, never cut), which hold
prose (wrapped at spaces) and which hold a long note that may move under the table. It picks
its layout when rich renders it, from the width it is given:

1. every cell on one line: boxed, else open (no outer box, two spaces between columns);
2. text and note columns wrapped at spaces: boxed, else open;
3. open, with each note column replaced by footnote numbers listed under the table.

Headers are short labels; a legend under the table says what each one means. A column whose
value is the same on every row can be folded into the title (``Column.fold``), so a setting
shared by every run is said once instead of on each line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from rich import box
from rich.console import Console, ConsoleOptions, JustifyMethod, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

Cell = str | Text


class Kind(Enum):
    """How a column behaves when space is short."""

    #: figures and short tokens: shown whole on one line, never wrapped or cut
    FIGURE = "figure"
    #: prose: wrapped at spaces, never narrower than ``Column.min_width``
    TEXT = "text"
    #: a sentence per row: wrapped like TEXT, or moved to numbered footnotes when narrow
    NOTE = "note"


@dataclass(frozen=True)
class Column:
    label: str
    #: what the label stands for, shown in the legend ("" when the label says it all)
    meaning: str = ""
    kind: Kind = Kind.FIGURE
    #: None: figures to the right, text to the left
    justify: JustifyMethod | None = None
    #: the narrowest a TEXT or NOTE column may become before the layout changes (None: 14
    #: for TEXT, 30 for NOTE, so that a sentence wraps over a few lines, not a word per line)
    min_width: int | None = None
    #: when every row holds the same value, drop the column and put ``fold(value)`` in
    #: the title ("" adds nothing; None from the function, or no function: keep the column)
    fold: Callable[[str], str | None] | None = None
    #: header of a NOTE column once its sentences moved under the table
    ref_label: str = "note"
    #: TEXT cells listing items joined by this: when a cell does not fit its column, each
    #: item goes on a line of its own instead of being broken at any space
    sep: str | None = None


@dataclass(frozen=True)
class _Layout:
    boxed: bool
    #: may TEXT and NOTE columns wrap (else every cell stays on one line)
    wrap: bool
    footnotes: bool
    #: text columns may shrink to their longest word (the last resort)
    tight: bool = False


#: Tried in order; the first that fits is used.
_LAYOUTS = (
    _Layout(boxed=True, wrap=False, footnotes=False),
    _Layout(boxed=False, wrap=False, footnotes=False),
    _Layout(boxed=True, wrap=True, footnotes=False),
    _Layout(boxed=False, wrap=True, footnotes=False),
    _Layout(boxed=False, wrap=True, footnotes=True),
    _Layout(boxed=False, wrap=True, footnotes=True, tight=True),
)


def _plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else cell


def _longest_word(cell: Cell) -> int:
    return max((Text(w).cell_len for w in _plain(cell).split()), default=0)


def _overhead(layout: _Layout, columns: int) -> int:
    """Characters taken by borders and padding (see ``_table``)."""
    return 3 * columns + 1 if layout.boxed else 2 * columns - 2


@dataclass
class FitTable:
    """A table whose layout depends on the width it is rendered at (see the module doc)."""

    columns: Sequence[Column]
    rows: Sequence[Sequence[Cell]]
    title: str | None = None
    #: lines shown under the legend (each wrapped on its own)
    notes: Sequence[str] = ()
    #: print the legend under the table (off for all but the last of a series of tables)
    legend: bool = True
    #: rows of sibling tables printed with this one: widths are measured over them too, so a
    #: series of tables lines up
    siblings: Sequence[Sequence[Cell]] = ()
    #: folded columns' title fragments, filled in by ``__post_init__``
    folded: list[str] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        keep: list[int] = []
        for i, col in enumerate(self.columns):
            said = None
            if col.fold is not None and self._same_everywhere(i):
                said = col.fold(_plain(self.rows[0][i]))
            if said is None:
                keep.append(i)
            elif said:
                self.folded.append(said)
        self.columns = [self.columns[i] for i in keep]
        self.rows = [[row[i] for i in keep] for row in self.rows]
        self.siblings = [[row[i] for i in keep] for row in self.siblings]

    def _same_everywhere(self, index: int) -> bool:
        return len(self.rows) > 1 and len({_plain(r[index]) for r in self.rows}) == 1

    @property
    def full_title(self) -> str | None:
        parts = [p for p in [self.title, ", ".join(self.folded)] if p]
        return ": ".join(parts) if parts else None

    def _natural(self, i: int) -> int:
        cells = [Text(self.columns[i].label), *(r[i] for r in [*self.rows, *self.siblings])]
        return max(Text(_plain(c)).cell_len for c in cells)

    def _minimum(self, i: int, tight: bool) -> int:
        col = self.columns[i]
        if col.kind is Kind.FIGURE:
            return self._natural(i)
        words = max([_longest_word(r[i]) for r in self.rows] + [Text(col.label).cell_len])
        if col.sep is not None and not tight:
            items = (item for r in self.rows for item in _plain(r[i]).split(col.sep))
            words = max(words, *(Text(item).cell_len for item in items))
        if tight:
            return words
        least = col.min_width or (30 if col.kind is Kind.NOTE else 14)
        return max(words, min(self._natural(i), least))

    def _widths(self, layout: _Layout, width: int, refs: bool) -> list[int] | None:
        """Content width of each column, or None when the layout cannot show every figure
        whole and every text column at least at its minimum width."""
        n = len(self.columns)
        flex = [
            i
            for i, c in enumerate(self.columns)
            if c.kind is Kind.TEXT or (c.kind is Kind.NOTE and not refs)
        ]
        natural = [self._natural(i) for i in range(n)]
        if refs:
            for i, c in enumerate(self.columns):
                if c.kind is Kind.NOTE:
                    natural[i] = max(Text(c.ref_label).cell_len, len(str(len(self.rows))))
        room = width - _overhead(layout, n) - sum(natural[i] for i in range(n) if i not in flex)
        wanted = [natural[i] for i in flex]
        if sum(wanted) <= room:
            return natural
        if not layout.wrap:
            return None
        least = [self._minimum(i, layout.tight) for i in flex]
        if sum(least) > room:
            return None
        spare, extra = room - sum(least), [w - m for w, m in zip(wanted, least, strict=True)]
        given = [m + spare * e // max(1, sum(extra)) for m, e in zip(least, extra, strict=True)]
        widths = list(natural)
        for i, w in zip(flex, given, strict=True):
            widths[i] = w
        return widths

    def _table(self, layout: _Layout, widths: list[int] | None, notes: dict[str, int]) -> Table:
        table = Table(
            header_style="bold",
            box=box.HEAVY_HEAD if layout.boxed else box.SIMPLE_HEAD,
            show_edge=layout.boxed,
            pad_edge=layout.boxed,
            padding=(0, 1) if layout.boxed else (0, 1, 0, 0),
        )
        sizes: list[int | None] = list(widths) if widths else [None] * len(self.columns)
        for col, w in zip(self.columns, sizes, strict=True):
            refs = col.kind is Kind.NOTE and layout.footnotes
            table.add_column(
                col.ref_label if refs else col.label,
                justify=col.justify or ("right" if col.kind is Kind.FIGURE else "left"),
                no_wrap=col.kind is Kind.FIGURE or refs,
                width=w,
            )
        for row in self.rows:
            cells: list[Cell] = []
            for col, cell, width in zip(self.columns, row, sizes, strict=True):
                if col.kind is Kind.NOTE and layout.footnotes and _plain(cell):
                    cells.append(str(notes.setdefault(_plain(cell), len(notes) + 1)))
                elif col.sep and isinstance(cell, str) and Text(cell).cell_len > (width or 0):
                    cells.append(cell.replace(col.sep, "\n"))
                else:
                    cells.append(cell)
            table.add_row(*cells)
        return table

    def _legend(self, width: int, refs: bool) -> Text | None:
        """The labels' meanings, packed into lines without breaking an item when it fits."""
        items = [
            f"{c.ref_label}: {c.label}, by number under the table"
            if refs and c.kind is Kind.NOTE
            else f"{c.label}: {c.meaning}"
            for c in self.columns
            if c.meaning or (refs and c.kind is Kind.NOTE)
        ]
        if not items:
            return None
        lines = [items[0]]
        for item in items[1:]:
            if Text(lines[-1] + " · " + item).cell_len <= width:
                lines[-1] += " · " + item
            else:
                lines.append(item)
        return Text("\n".join(lines), style="dim")

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        chosen: tuple[_Layout, list[int] | None] | None = None
        for layout in _LAYOUTS:
            if layout.footnotes and not any(c.kind is Kind.NOTE for c in self.columns):
                if not layout.tight:
                    continue
                layout = _Layout(boxed=False, wrap=True, footnotes=False, tight=True)
            widths = self._widths(layout, width, refs=layout.footnotes)
            if widths is not None:
                chosen = (layout, widths)
                break
        layout, widths = chosen or (_LAYOUTS[-1], None)
        notes: dict[str, int] = {}
        if self.full_title:
            # Printed above the table rather than as its title: a narrow table would wrap it.
            yield Text(self.full_title, style="italic")
        yield self._table(layout, widths, notes)
        if notes:
            grid = Table.grid(padding=(0, 1))
            grid.add_column(justify="right", no_wrap=True)
            grid.add_column()
            for text, number in notes.items():
                grid.add_row(str(number), text)
            yield grid
        legend = self._legend(width, layout.footnotes) if self.legend else None
        if legend is not None:
            yield legend
        for note in self.notes:
            yield Text(note, style="dim")

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(min(options.max_width, 20), options.max_width)


def figure_pair(part: int, whole: int) -> str:
    """``47/300``: never ``47 / 300`` (a space lets a terminal break the figure)."""
    return f"{part}/{whole}"


def ms(value: float | None) -> str:
    """A latency in milliseconds: whole numbers from 100 ms up, one decimal below."""
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"
