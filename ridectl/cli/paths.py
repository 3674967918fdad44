"""Output paths are checked before any work starts, so a typo in a folder name fails at once
instead of after a long run."""

from __future__ import annotations

import os
from pathlib import Path

from ridectl.errors import UsageError


def check_writable(path: Path | None, what: str) -> None:
    """Fail before any work when an output file's folder is missing or not writable."""
    if path is None or path == Path("-"):
        return
    if path.is_dir():
        raise UsageError(f"cannot write {what} {path}: it is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"cannot write {what} {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK) and not (path.exists() and os.access(path, os.W_OK)):
        raise UsageError(f"cannot write {what} {path}: permission denied")
