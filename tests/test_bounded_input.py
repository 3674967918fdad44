"""Every option of every command, walked with hostile values: a file option given a FIFO, an
endless device, a directory or a file too big to read whole; a number option given a value past
Kafka's own bound (or past the range that makes sense). Each ends in one ``error:`` line naming
the option or the file, exit 2, and no hang: the command runs as a child process with a timeout,
so a read that blocks fails this test instead of stalling the suite.

The walk finds the options itself; the tables below only say which values are out of bounds for
each, and a new option that no table names fails :func:`test_every_option_is_walked`."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.main import get_command

from ridectl.cli import _register, app
from ridectl.clients import settings as client_settings
from ridectl.limits import READ_WHOLE_LIMIT

REPO = Path(__file__).resolve().parent.parent
#: an address nothing listens on (port 1 is never a Kafka broker)
DEAD = "127.0.0.1:1"
#: A guard against a hang, not a measure of speed: the refusals come in well under a second.
HANG = 20.0

#: Arguments each command needs to get as far as its options (no broker is ever reached).
BASE: dict[str, list[str]] = {
    "produce": ["-t", "t", "-b", DEAD, "-X", "bootstrap.timeout.ms=300"],
    "consume": ["-t", "t", "-b", DEAD, "-X", "bootstrap.timeout.ms=300"],
    "check": ["-t", "t", "-b", DEAD, "-X", "bootstrap.timeout.ms=300"],
    "explain": ["r1", "-t", "t", "-b", DEAD, "-X", "bootstrap.timeout.ms=300"],
    "partition": ["k1"],
    "demo": ["-b", DEAD, "-X", "bootstrap.timeout.ms=300"],
    "matrix": ["-b", DEAD, "-X", "bootstrap.timeout.ms=300"],
    "watch": ["-t", "t", "-b", DEAD, "-X", "bootstrap.timeout.ms=300"],
    "proxy": [],
    "failover": ["-b", DEAD, "-X", "bootstrap.timeout.ms=300"],
    "bench": ["--size", "small", "-b", DEAD],
    "broker up": [],
    "broker down": [],
    "broker status": [],
    "broker logs": [],
    "audit": ["-t", "t", "-b", DEAD, "--seq", "v", "-X", "bootstrap.timeout.ms=300"],
}

INT32 = 2**31
INT16 = 2**15
#: Values past each numeric option's bounds, by option name: Kafka's own where Kafka takes the
#: number (partition counts and ids are int32, replication factors int16, ports 1-65535,
#: client settings as the clients accept them), else past the range that makes sense.
PAST: dict[str, list[str]] = {
    "--rides": ["0", "100000000000"],
    "--partitions": ["0", str(INT32), "100000000000"],
    "--replication-factor": ["0", str(INT16)],
    "--max-in-flight": ["0", str(INT32)],
    "--retries": ["-1", str(INT32)],
    "--linger-ms": ["-1", str(INT32)],
    "--batch-size": ["-1", str(INT32)],
    "--concurrent": ["0", str(INT32)],
    "--record-size": ["-1", str(INT32)],
    "--hot-share": ["-0.5", "1.5", "nan"],
    "--zones": ["0", str(INT32)],
    "--grow-to": ["0", str(INT32)],
    "--workers": ["0", str(INT32)],
    "--work-ms": ["-1", "nan", "1e300"],
    "--limit": ["0", str(INT32)],
    "--idle-timeout": ["-1", "nan", "1e300"],
    "--max-seconds": ["-1", "nan", "1e300"],
    "--wait-topic": ["-1", "nan", "1e300"],
    "--kill-at": ["-0.5", "1.5", "nan"],
    "--repeat": ["0", str(INT32)],
    "--nodes": ["0", "100"],
    "--port": ["0", "65536"],
    "--lines": ["-1", str(INT32)],
    "--node": ["0", "100"],
}
#: Numbers that Kafka never sees and any whole number serves: a seed.
UNBOUNDED = {"--seed"}

#: Options naming a file the command reads whole: a size limit applies.
READ_WHOLE = {"--config", "--mapping"}
#: Options naming a file the command streams (no size limit, but a regular file or '-').
STREAMED = {"--from"}
#: Options naming a file the command writes, and folders it writes into.
WRITTEN = {"--out", "--export-svg", "--export-html"}
FOLDERS = {"--state-dir", "--out-dir"}


def _options() -> list[tuple[str, str, type]]:
    """(command, option, annotation) of every option of every command."""
    _register()
    found: list[tuple[str, str, type]] = []

    def walk(cmd: object, path: list[str]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs is not None:
            for name, sub in subs.items():
                walk(sub, [*path, name])
            return
        for param in getattr(cmd, "params", []):
            long = next((o for o in param.opts if o.startswith("--")), param.opts[0])
            found.append((" ".join(path), long, param.type_descriptor.annotation))

    walk(get_command(app), [])
    return found


def _numeric() -> list[tuple[str, str]]:
    return [(c, o) for c, o, t in _options() if t in (int, float)]


def _paths() -> list[tuple[str, str]]:
    return [(c, o) for c, o, t in _options() if t is Path]


def test_every_option_is_walked() -> None:
    numeric = {o for _c, o in _numeric()}
    assert numeric == set(PAST) | UNBOUNDED
    paths = {o for _c, o in _paths()}
    assert paths == READ_WHOLE | STREAMED | WRITTEN | FOLDERS
    assert isinstance(app, typer.Typer)


def _limit_memory() -> None:
    # An endless read must not take the machine with it if it ever comes back.
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def run(args: list[str], tmp_path: Path) -> tuple[int, str]:
    """``ridectl ARGS`` as a child process: (exit code, stderr); a hang fails the test."""
    env = {
        **os.environ,
        "RIDECTL_HOME": str(tmp_path / "home"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "COLUMNS": "200",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "ridectl", *args],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_limit_memory,
    )
    try:
        _out, err = proc.communicate(timeout=HANG)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"ridectl {' '.join(args)} still ran after {HANG:.0f} s: it hangs")
    return proc.returncode, err


def assert_one_error(code: int, err: str, *needles: str) -> None:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, (code, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err and "unexpected" not in err, err
    for needle in needles:
        assert needle in lines[0], (needle, err)


@pytest.mark.parametrize(
    ("command", "option", "value"),
    [(c, o, v) for c, o in _numeric() if o not in UNBOUNDED for v in PAST[o]],
)
def test_a_number_past_its_bound_is_refused(
    tmp_path: Path, command: str, option: str, value: str
) -> None:
    extra = ["--state-dir", str(tmp_path / "st")] if command.startswith("broker") else []
    code, err = run([*command.split(), *BASE[command], *extra, f"{option}={value}"], tmp_path)
    assert_one_error(code, err, option)


def _hostile_files(tmp_path: Path, option: str) -> list[str]:
    """The paths that must be refused for ``option``: a FIFO with no writer (or reader), an
    endless device, a directory, and a file over the read limit for a file read whole."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    if option in FOLDERS:
        return [str(fifo), "/dev/zero"]
    if option in WRITTEN:
        return [str(fifo)]
    big = tmp_path / "big.properties"
    with big.open("wb") as fh:
        fh.truncate(READ_WHOLE_LIMIT + 1)
    paths = [str(fifo), "/dev/zero", "/dev/urandom", str(tmp_path)]
    return [*paths, str(big)] if option in READ_WHOLE else paths


@pytest.mark.parametrize(("command", "option"), _paths())
def test_a_file_option_refuses_what_is_no_regular_file(
    tmp_path: Path, command: str, option: str
) -> None:
    base = [] if option == "--from" else BASE[command]
    for path in _hostile_files(tmp_path, option):
        code, err = run([*command.split(), *base, option, path], tmp_path)
        assert_one_error(code, err, path)


def _file_settings() -> list[str]:
    return sorted(
        s.java for s in client_settings.SETTINGS.values() if s.parse is client_settings._file
    )


def test_the_settings_that_name_files_are_found() -> None:
    assert "ssl.truststore.location" in _file_settings()
    assert "ssl.key.location" in _file_settings()


@pytest.mark.parametrize("key", _file_settings())
def test_a_setting_naming_a_file_refuses_what_is_no_regular_file(tmp_path: Path, key: str) -> None:
    for path in _hostile_files(tmp_path, "--config"):
        code, err = run(["produce", *BASE["produce"], "-X", f"{key}={path}"], tmp_path)
        assert_one_error(code, err, key, path)
    # and the same settings from a config file
    props = tmp_path / "c.properties"
    props.write_text(f"{key}=/dev/zero\n")
    code, err = run(["consume", *BASE["consume"], "-c", str(props)], tmp_path)
    assert_one_error(code, err, key, "/dev/zero")


def test_a_history_on_stdin_is_still_read(tmp_path: Path) -> None:
    """'-' (documented) stays standard input: the guard refuses devices, not the dash."""
    proc = subprocess.run(
        [sys.executable, "-m", "ridectl", "check", "--from", "-", "-f", "json"],
        input='{"pos": 0, "ride_id": "r0", "seq": 1, "partition": 0, "offset": 0}\n',
        capture_output=True,
        text=True,
        timeout=HANG,
        cwd=tmp_path,
        env={**os.environ, "RIDECTL_HOME": str(tmp_path / "home")},
    )
    assert proc.returncode == 0, proc
    assert '"rides": 1' in proc.stdout, proc.stdout
