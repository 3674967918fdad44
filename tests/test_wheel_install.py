"""A plain ``pip install`` of ridectl, without uv and outside the work tree, gives a working
command with all its data files (the broker's pom.xml and log4j2.yaml, the Java client's
sources), which the code finds with ``importlib.resources`` only when they are run for real.

The wheel is built by pip from a copy of the tree (so no ``build/`` directory is left in, or
read from, the work tree) and installed with its dependencies into a new virtual environment
in a temporary directory. The dependencies are held to the versions of ``uv.lock``, so pip
takes them from its cache once it has them; the first run downloads them from PyPI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from ridectl import __version__
from ridectl.clients.java import PROGRAMS
from ridectl.clients.partitioners import PARTITIONERS, partition_for
from ridectl.versions import KAFKA_VERSION

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "ridectl"


def _run(cmd: list[str | Path], cwd: Path, timeout: float = 300) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    r = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert r.returncode == 0, f"{cmd} exited {r.returncode}\n{r.stdout[-3000:]}{r.stderr[-3000:]}"
    return r.stdout


def _source_copy(dest: Path) -> Path:
    """What the build reads: the package, pyproject.toml and the README it names."""
    dest.mkdir()
    shutil.copytree(PACKAGE, dest / "ridectl", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, dest / name)
    return dest


def _data_files() -> set[str]:
    """Every file of the package that is not Python source, as a wheel names it."""
    return {
        p.relative_to(REPO).as_posix()
        for p in PACKAGE.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    }


def _locked_pins(lock: Path) -> list[str]:
    """``name==version`` for each package uv.lock takes from the index at one version only
    (a package locked at several versions, one per Python, is left to pip)."""
    with lock.open("rb") as f:
        packages = tomllib.load(f)["package"]
    versions: dict[str, set[str]] = {}
    for package in packages:
        if "registry" in package.get("source", {}):
            versions.setdefault(package["name"], set()).add(package["version"])
    return sorted(f"{name}=={v}" for name, (v, *more) in versions.items() if not more)


_FIND_DATA = """
import sys
from importlib import resources
from ridectl.broker.jars import pom_path
from ridectl.clients.java import PROGRAMS, source_path
files = [pom_path(), *(source_path(p) for p in PROGRAMS)]
files.append(resources.files("ridectl.broker").joinpath("log4j2.yaml"))
for f in files:
    print(f, f.is_file())
"""


def test_the_wheel_works_in_a_new_venv_without_the_work_tree(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], tmp_path)
    python, ridectl = venv / "bin" / "python", venv / "bin" / "ridectl"

    dist, src = tmp_path / "dist", _source_copy(tmp_path / "src")
    _run([python, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, src], tmp_path)
    (wheel,) = dist.glob("ridectl-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        missing = _data_files() - set(zf.namelist())
    assert not missing, (
        f"data files the wheel lacks (see package-data in pyproject.toml): {missing}"
    )

    pins = tmp_path / "pins.txt"
    pins.write_text("\n".join(_locked_pins(REPO / "uv.lock")) + "\n")
    _run([python, "-m", "pip", "install", "-q", "--no-compile", "-c", pins, wheel], tmp_path)

    site = Path(_run([python, "-c", "import ridectl; print(ridectl.__file__)"], tmp_path).strip())
    assert site.is_relative_to(venv), f"ridectl was imported from {site}, not the new venv"

    found = _run([python, "-c", _FIND_DATA], tmp_path).splitlines()
    assert len(found) == len(PROGRAMS) + 2
    for line in found:
        path, exists = line.rsplit(" ", 1)
        assert exists == "True" and Path(path).is_relative_to(venv), line

    version = _run([ridectl, "--version"], tmp_path)
    assert version.strip() == f"ridectl {__version__} (local broker: Apache Kafka {KAFKA_VERSION})"

    partition: list[str | Path] = [
        ridectl,
        "partition",
        "k1",
        "-p",
        "6",
        "--partitioner",
        "all",
        "-f",
        "json",
    ]
    table = json.loads(_run(partition, tmp_path))
    expected = {str(name): partition_for(name, b"k1", 6) for name in PARTITIONERS}
    assert table["keys"] == [{"key": "k1", **expected}]

    usage = _run([ridectl, "broker", "up", "--help"], tmp_path)
    assert "Usage: ridectl broker up" in usage and "--nodes" in usage
