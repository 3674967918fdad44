"""Every file or folder a command writes is checked before the work starts: an option that names
one is declared through cli.paths, and a bad path fails at once, before any broker is reached."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from conftest import CliResult

from ridectl.cli import _register, app

Cli = Callable[..., CliResult]
#: nothing listens there: a command that got past its option checks would fail to connect
DEAD = "127.0.0.1:1"
OUTPUT_OPTIONS = {"--out", "--out-dir", "--export-svg", "--export-html"}


def _output_options() -> list[tuple[str, str, object]]:
    _register()
    root = typer.main.get_command(app)
    found = []
    stack: list[tuple[str, object]] = [("", root)]
    while stack:
        prefix, command = stack.pop()
        for name, sub in getattr(command, "commands", {}).items():
            stack.append((f"{prefix} {name}".strip(), sub))
        for param in getattr(command, "params", []):
            for opt in OUTPUT_OPTIONS.intersection(getattr(param, "opts", [])):
                found.append((prefix, opt, param))
    return found


def test_every_output_option_is_checked_while_parsing() -> None:
    found = _output_options()
    commands = {name for name, _, _ in found}
    assert {"check", "consume", "demo", "matrix", "bench"} <= commands
    for name, opt, param in found:
        callback = getattr(param, "callback", None)
        owner = getattr(callback, "__qualname__", "")
        assert owner.startswith(("writable_option.", "writable_dir_option.")), (name, opt)


@pytest.mark.parametrize(
    "args",
    [
        ["demo", "--export-svg", "{missing}/demo.svg"],
        ["demo", "--export-html", "{missing}/demo.html"],
        ["matrix", "--export-svg", "{missing}/m.svg"],
        ["matrix", "--export-html", "{missing}/m.html"],
        ["check", "-t", "t", "--export-svg", "{missing}/c.svg"],
        ["check", "-t", "t", "--out", "{missing}/h.ndjson"],
        ["consume", "-t", "t", "--out", "{missing}/h.ndjson"],
        ["bench", "--size", "small", "--out-dir", "{missing}/deeper/results"],
    ],
    ids=lambda a: " ".join(a[:2] if a[0] != "check" else [a[0], a[3]]),
)
def test_a_missing_folder_fails_before_any_work(cli: Cli, tmp_path: Path, args: list[str]) -> None:
    missing = tmp_path / "no-such-dir"
    argv = [a.format(missing=missing) for a in args]
    r = cli(*argv, "-b", DEAD)
    assert r.code == 2, r
    lines = [ln for ln in r.err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cannot write"), r
    assert "does not exist" in lines[0] and "cannot reach" not in r.err, r
    assert r.out == "" and not missing.exists()


def test_an_unwritable_folder_is_refused(cli: Cli, tmp_path: Path) -> None:
    # Permission bits stop everyone but root; a file system that refuses new files (sysfs)
    # stops root too, so the check holds whoever runs the suite.
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        for target in (locked / "d.svg", Path("/sys/ridectl-d.svg")):
            if target.parent == locked and os.geteuid() == 0:
                continue
            r = cli("demo", "--export-svg", str(target), "-b", DEAD)
            assert r.code == 2 and "permission denied" in r.err, r
            assert r.out == "" and not target.exists()
    finally:
        locked.chmod(0o700)


def test_a_file_in_place_of_the_folder_is_named_as_such(cli: Cli, tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    r = cli("demo", "--export-svg", str(afile / "d.svg"), "-b", DEAD)
    assert r.code == 2 and "is a file, not a folder" in r.err, r


def test_the_check_leaves_no_file_behind(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "d.svg"
    r = cli("check", "--from", str(tmp_path / "none.ndjson"), "--export-svg", str(target))
    assert r.code == 2, r  # the history file is missing; the picture was never made
    assert not target.exists()
