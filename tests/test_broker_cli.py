"""``ridectl broker up|status|logs|down`` as a user meets them: the console script in a process
of its own, a broker of its own on free ports in its own state directory (RIDECTL_STATE_DIR),
and the one-line errors for a machine without Java and for a port already taken."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import free_port_block

pytestmark = pytest.mark.kafka


@dataclass
class Ran:
    code: int
    out: str
    err: str


def ridectl(*args: str, env: dict[str, str], timeout: float = 180) -> Ran:
    done = subprocess.run(
        [sys.executable, "-m", "ridectl", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def one_error_line(r: Ran, *parts: str) -> None:
    assert r.code == 2, r
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r
    for part in parts:
        assert part in lines[0], r
    assert "Traceback" not in r.err


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "RIDECTL_STATE_DIR": str(tmp_path / "state"), "COLUMNS": "200"}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    return env


@pytest.fixture
def broker_env(user_env: dict[str, str]) -> Iterator[tuple[dict[str, str], int]]:
    port = free_port_block(2)
    try:
        yield user_env, port
    finally:  # whatever the test did, no broker is left behind
        ridectl("broker", "down", "--wipe", env=user_env)


def test_up_status_logs_down_on_a_free_port(broker_env: tuple[dict[str, str], int]) -> None:
    env, port = broker_env
    state_dir = Path(env["RIDECTL_STATE_DIR"])
    r = ridectl("broker", "up", "--port", str(port), env=env)
    assert r.code == 0, r
    assert r.out.strip() == f"127.0.0.1:{port}"
    assert f"is up at 127.0.0.1:{port}" in r.err
    # A second up reuses the running broker.
    r = ridectl("broker", "up", "--port", str(port), env=env)
    assert r.code == 0 and "already running" in r.err, r

    r = ridectl("broker", "status", "--format", "json", env=env)
    assert r.code == 0, r
    info = json.loads(r.out)
    assert info["running"] is True and info["nodes"] == 1
    assert info["bootstrap"] == f"127.0.0.1:{port}"
    assert info["state_dir"] == str(state_dir)
    assert [p["alive"] for p in info["pids"].values()] == [True]
    r = ridectl("broker", "status", env=env)
    assert r.code == 0 and f"127.0.0.1:{port}" in r.out, r

    r = ridectl("broker", "logs", "--lines", "5", "--node", "1", env=env)
    assert r.code == 0, r
    assert 0 < len(r.out.splitlines()) <= 5
    assert r.out.splitlines()[-1] in (state_dir / "node-1" / "broker.log").read_text()
    r = ridectl("broker", "logs", "--node", "2", env=env)
    one_error_line(r, "no log for node 2")
    # --follow keeps printing what the broker writes from then on, until stopped.
    follow = subprocess.Popen(
        [sys.executable, "-m", "ridectl", "broker", "logs", "--lines", "1", "--follow"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert follow.stdout is not None
        assert follow.stdout.readline()
        # Stopping the broker makes it log its shutdown, which the follower prints.
        r = ridectl("broker", "down", env=env)
        assert r.code == 0 and "Stopped 1 broker process(es)" in r.err, r
        assert follow.stdout.readline()
    finally:
        follow.kill()
        follow.wait()

    r = ridectl("broker", "status", "--format", "json", env=env)
    assert r.code == 1, r
    assert json.loads(r.out) == {"running": False, "state_dir": str(state_dir)}
    assert (state_dir / "node-1" / "data").exists()
    r = ridectl("broker", "down", "--wipe", env=env)
    assert r.code == 0 and "No local broker was running" in r.err, r
    assert f"Wiped the data under {state_dir}" in r.err
    assert not (state_dir / "node-1" / "data").exists()


def test_up_without_java_is_one_line(user_env: dict[str, str], tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**user_env, "PATH": str(empty)}
    env.pop("JAVA_HOME", None)
    r = ridectl("broker", "up", "--port", str(free_port_block(2)), env=env, timeout=60)
    one_error_line(r, "Java not found", "install Java 17+")


def test_up_on_a_port_taken_is_one_line(user_env: dict[str, str]) -> None:
    port = free_port_block(2)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        r = ridectl("broker", "up", "--port", str(port), env=user_env)
    one_error_line(r, f"port {port} on 127.0.0.1 is already in use", "--port")
    r = ridectl("broker", "status", env=user_env)
    assert r.code == 1 and "No local broker is running" in r.out, r
