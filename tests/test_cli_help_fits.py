"""Every ``--help`` fits an 80-column terminal: no line wider, no option name cut short, and no
placeholder that spells a Python type (``<list[str]>``) where a reader expects a word.

Rich sizes the help by the terminal: the ``COLUMNS`` variable wins over what the terminal
reports, and Typer passes a fixed width only when ``TERMINAL_WIDTH`` was set as it loaded. The
test sets the first and clears the second, so it renders what an 80-column terminal shows."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
import typer
from conftest import CliResult
from rich.cells import cell_len
from rich.text import Text
from typer.core import TyperArgument, TyperOption

from ridectl.cli import _register, app
from ridectl.cli.options import PANELS

if TYPE_CHECKING:
    from typer._click.core import Command  # the click Typer carries; named for typing only

Cli = Callable[..., CliResult]

WIDTH = 80

#: A placeholder that names a Python type rather than what to type: a generic or container
#: (``<list[str]>``, ``<tuple[int, int]>``, ``<dict>``), an optional or a union.
PYTHON_TYPE = re.compile(r"<[^<>\s]*(\[|\]|\b(list|tuple|dict|set|optional|union|nonetype)\b)")


def _walk(command: Command, path: list[str]) -> Iterator[tuple[list[str], Command]]:
    """Every command under ``command``, groups included, with the words that name it."""
    yield path, command
    subcommands: dict[str, Command] = getattr(command, "commands", {})
    for name, sub in subcommands.items():
        yield from _walk(sub, [*path, name])


def _tree() -> list[tuple[list[str], Command]]:
    _register()
    return list(_walk(typer.main.get_command(app), []))


def _options(command: Command) -> list[TyperOption | TyperArgument]:
    """The parameters the help lists, ``--help`` included (click adds it per context)."""
    ctx = command.make_context("ridectl", [], resilient_parsing=True)
    return [p for p in command.get_params(ctx) if isinstance(p, TyperOption | TyperArgument)]


def _whole(name: str) -> re.Pattern[str]:
    """``name`` with nothing of a longer name glued to either side."""
    return re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])")


@pytest.fixture
def at_80(monkeypatch: pytest.MonkeyPatch) -> None:
    import typer.rich_utils

    monkeypatch.setenv("COLUMNS", str(WIDTH))
    monkeypatch.setattr(typer.rich_utils, "MAX_WIDTH", None)


TREE = _tree()


@pytest.mark.parametrize(("path", "command"), TREE, ids=[" ".join(p) or "ridectl" for p, _ in TREE])
def test_help_fits_80_columns(cli: Cli, at_80: None, path: list[str], command: Command) -> None:
    r = cli(*path, "--help")
    assert r.code == 0, r
    lines = Text.from_ansi(r.out).plain.splitlines()
    page = "\n".join(lines)
    wide = [ln for ln in lines if cell_len(ln) > WIDTH]
    assert not wide, "\n".join(wide)
    # Rich cuts what does not fit its column with an ellipsis; nothing should need cutting.
    assert "…" not in page, page
    for param in _options(command):
        if isinstance(param, TyperOption) and not param.hidden:
            names = [*param.opts, *param.secondary_opts]
            # A row's first line holds every name of its option, each one whole.
            row = [ln for ln in lines if all(_whole(n).search(ln) for n in names)]
            assert row, f"{names} not shown whole:\n{page}"
    typed = PYTHON_TYPE.findall(page.lower())
    assert not typed, page


@pytest.mark.parametrize(("path", "command"), TREE, ids=[" ".join(p) or "ridectl" for p, _ in TREE])
def test_description_paragraphs_wrap_to_the_terminal(path: list[str], command: Command) -> None:
    """Typer's rich help keeps a line break inside a paragraph after the first, so a paragraph
    broken in the source breaks mid-line on any terminal wider or narrower than the source."""
    paragraphs = inspect.cleandoc(command.help or "").split("\n\n")[1:]
    assert not [p for p in paragraphs if "\n" in p]


def test_every_panel_has_a_name_all_commands_share() -> None:
    """An option is looked for under the same panel name in every command."""
    used = {
        (" ".join(path), getattr(param, "rich_help_panel", None))
        for path, command in TREE
        for param in _options(command)
    }
    stray = {(path, panel) for path, panel in used if panel is not None and panel not in PANELS}
    assert not stray
    assert {panel for _, panel in used} >= {"Output", "Connection"}
