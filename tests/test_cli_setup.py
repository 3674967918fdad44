"""``scripts/setup.sh`` keeps pip's noise (setuptools' editable-install warning block) off the
screen when the install works, and shows all of it when the install fails.

The venv's python is replaced by a stand-in that prints like pip and succeeds or fails on
demand, so the test runs in a moment and installs nothing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NOISE = "SetuptoolsDeprecationWarning: a long warning block"


def _fake_venv(tmp_path: Path, exit_code: int) -> Path:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(
        f"#!/bin/sh\necho '{NOISE}'\necho 'ERROR: a real failure' >&2\nexit {exit_code}\n"
    )
    python.chmod(0o755)
    return venv


def _setup(venv: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(REPO / "scripts" / "setup.sh")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "VENV": str(venv)},
        check=False,
    )


@pytest.fixture(autouse=True)
def _tools_present() -> None:
    missing = [t for t in ("java", "mvn", "openssl") if not _which(t)]
    if missing:
        pytest.skip(f"setup.sh would install {missing} first")


def _which(tool: str) -> bool:
    return any((Path(d) / tool).exists() for d in os.environ.get("PATH", "").split(os.pathsep))


def test_a_working_install_is_quiet(tmp_path: Path) -> None:
    venv = _fake_venv(tmp_path, 0)
    r = _setup(venv)
    assert r.returncode == 0, r
    assert NOISE not in r.stdout + r.stderr
    assert r.stdout == "" and r.stderr.count("\n") == 1  # one line saying what it does
    assert NOISE in (venv / "pip-install.log").read_text()  # kept for whoever wants it
    assert (venv / ".ridectl-installed").exists()
    again = _setup(venv)  # installed already: nothing to do, nothing said
    assert again.returncode == 0 and again.stdout == again.stderr == ""


def test_a_failing_install_shows_everything(tmp_path: Path) -> None:
    venv = _fake_venv(tmp_path, 1)
    r = _setup(venv)
    assert r.returncode != 0
    assert "ERROR: a real failure" in r.stderr and NOISE in r.stderr
    assert "installing with pip failed" in r.stderr
    assert not (venv / ".ridectl-installed").exists()
