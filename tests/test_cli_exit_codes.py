"""Exit statuses come from one enum: no bare number is passed to an exit anywhere in ridectl."""

from __future__ import annotations

import re
from pathlib import Path

from ridectl.errors import ExitCode, RidectlError, UsageError

ROOT = Path(__file__).resolve().parent.parent / "ridectl"
#: an exit or an error code given as a literal number
BARE = re.compile(r"(typer\.Exit|sys\.exit|SystemExit)\(\s*-?\d|\bcode=-?\d")


def test_no_bare_exit_numbers_in_the_code_base() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sorted(ROOT.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if BARE.search(line)
    ]
    assert offenders == []


def test_the_pattern_finds_bare_numbers() -> None:
    # The scan above is only worth something if it recognises what it looks for.
    for line in ("raise typer.Exit(1)", "sys.exit(70)", 'raise RidectlError("x", code=130)'):
        assert BARE.search(line), line
    assert not BARE.search("raise typer.Exit(ExitCode.FOUND)")


def test_errors_carry_an_exit_code() -> None:
    assert UsageError("x").code is ExitCode.USAGE
    assert RidectlError("x", code=ExitCode.INTERRUPTED).code == 130
    assert [c.value for c in ExitCode] == [0, 1, 2, 70, 130]
