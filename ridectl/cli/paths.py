"""Output paths are checked while the options are parsed, before any work starts, so a typo in a
folder name fails at once instead of after a long run. Every option that names a file or folder
to write is declared with ``writable_option``/``writable_dir_option``."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Any

import typer

from ridectl.errors import UsageError


def check_writable(path: Path | None, what: str) -> None:
    """Fail when ``path`` could not be created or overwritten as a file ('-' is stdout).

    The file is really opened for writing (and removed again if this made it): permission
    bits say nothing to root, and a read-only or special file system only shows itself then."""
    if path is None or path == Path("-"):
        return
    if path.is_dir():
        raise UsageError(f"cannot write {what} {path}: it is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise UsageError(f"cannot write {what} {path}: {parent} is a file, not a folder")
    if not parent.is_dir():
        raise UsageError(f"cannot write {what} {path}: folder {parent} does not exist")
    existed = path.exists()
    try:
        # without O_NONBLOCK, opening a FIFO that nobody reads would wait for a reader forever
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o666))
    except OSError as exc:
        if exc.errno == errno.ENXIO and path.is_fifo():
            raise UsageError(
                f"cannot write {what} {path}: it is a FIFO that nothing reads"
            ) from None
        raise UsageError(f"cannot write {what} {path}: {_reason(exc)}") from None
    if not existed:
        path.unlink(missing_ok=True)


def check_writable_dir(path: Path | None, what: str) -> None:
    """Fail when files could not be written into the folder ``path`` (created if missing, as
    long as its parent exists). A scratch file is made and removed to find out."""
    if path is None:
        return
    if path.exists() and not path.is_dir():
        raise UsageError(f"cannot write {what} into {path}: it is not a folder")
    target = path if path.is_dir() else (path.parent if str(path.parent) else Path("."))
    if not target.is_dir():
        raise UsageError(f"cannot write {what} into {path}: folder {target} does not exist")
    try:
        with tempfile.TemporaryFile(dir=target):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write {what} into {path}: {_reason(exc)}") from None


def _reason(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()


# Any: typer.Option() is typed to return Any (it stands in for the parameter's default).
def writable_option(flag: str, what: str, help: str, *short: str, panel: str | None = None) -> Any:
    """A ``typer.Option`` for a file to write, checked as soon as it is parsed; ``panel``
    names the group the help lists it in."""

    def check(value: Path | None) -> Path | None:
        check_writable(value, what)
        return value

    return typer.Option(
        flag, *short, help=help, callback=check, dir_okay=False, rich_help_panel=panel
    )


# Any: typer.Option() is typed to return Any, as above.
def writable_dir_option(
    flag: str, what: str, help: str, *short: str, panel: str | None = None
) -> Any:
    """A ``typer.Option`` for a folder to write into, checked as soon as it is parsed;
    ``panel`` names the group the help lists it in."""

    def check(value: Path | None) -> Path | None:
        check_writable_dir(value, what)
        return value

    return typer.Option(
        flag, *short, help=help, callback=check, file_okay=False, rich_help_panel=panel
    )
