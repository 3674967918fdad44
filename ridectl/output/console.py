"""Consoles for people and for scripts.

Results go to stdout, messages and errors to stderr, so ``--format json`` output can be piped
without anything else mixed in. rich already honours ``NO_COLOR`` and drops colour and
animation when stdout is not a terminal; ``record=True`` lets a view be saved as SVG/HTML.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from ridectl.errors import RidectlError

if TYPE_CHECKING:
    from rich.progress import Progress

_out: Console | None = None
_err: Console | None = None


def out(record: bool = False) -> Console:
    """The stdout console (created once; ``record=True`` on the first call keeps a copy for
    ``--export-svg``/``--export-html``)."""
    global _out
    if _out is None or (record and not _out.record):
        _out = Console(record=record, highlight=False, soft_wrap=False)
    return _out


def err() -> Console:
    global _err
    if _err is None:
        _err = Console(stderr=True, highlight=False)
    return _err


def reset() -> None:
    """Forget the consoles (tests run many commands in one process)."""
    global _out, _err
    _out = _err = None


def export(console: Console, svg: Path | None, html: Path | None, title: str) -> list[Path]:
    """Save what a recording console printed; returns the files written."""
    written: list[Path] = []
    if svg is not None:
        console.save_svg(str(svg), title=title, clear=False)
        written.append(svg)
    if html is not None:
        console.save_html(str(html), clear=False)
        written.append(html)
    return written


@contextlib.contextmanager
def stdout_guard() -> Iterator[None]:
    """Turn a failing stdout (a full disk, an I/O error) into one error line.

    A reader that went away (EPIPE) is left to the caller, which treats it as normal. After a
    failure stdout is pointed at /dev/null so the interpreter's final flush stays quiet."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            raise
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise RidectlError(f"cannot write the results to stdout: {exc.strerror or exc}") from None


def progress_bar(label: str) -> Progress | None:
    """A rich progress bar on stderr when it is a terminal, else a no-op."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    err_console = err()
    if not err_console.is_terminal:
        return None
    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[extra]}"),
        console=err_console,
        transient=True,
    )
