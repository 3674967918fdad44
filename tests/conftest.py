"""Test fixtures. Kafka tests run against a real Apache Kafka broker that the session starts
(``ridectl.broker.LocalCluster`` on free loopback ports, in a temporary state directory) and
stops at the end. ``RIDECTL_TEST_BOOTSTRAP=host:port`` uses an already running broker instead
(e.g. one from ``docker compose up``)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ridectl.broker.config import ClusterState, SecurityOptions
from ridectl.broker.local import LocalCluster
from ridectl.broker.processes import free_port_block
from ridectl.errors import BrokerError

__all__ = ["CliResult", "free_port_block", "secured_up"]


@contextlib.contextmanager
def secured_up(state_dir: Path, security: SecurityOptions) -> Iterator[ClusterState]:
    """A one-node broker of a test module's own with ``security``, on free ports (tried again
    on new ports when another process took them meanwhile), stopped and wiped at the end."""
    cluster = LocalCluster(state_dir)
    for attempt in range(3):
        try:
            state, _ = cluster.up(nodes=1, port=free_port_block(4), security=security)
            break
        except BrokerError as exc:
            if "already in use" not in str(exc) or attempt == 2:
                raise
            cluster.down(wipe=True)
    try:
        yield state
    finally:
        cluster.down(wipe=True)


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster | None]:
    if os.environ.get("RIDECTL_TEST_BOOTSTRAP"):
        yield None
        return
    state = tmp_path_factory.mktemp("broker-state")
    cluster = LocalCluster(state)
    cluster.up(nodes=1, port=free_port_block(2))
    try:
        yield cluster
    finally:
        cluster.down(wipe=True)


@pytest.fixture(scope="session")
def three_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A 3-node cluster of the session's own (tests marked ``cluster``), apart from the
    one-node session broker; started on first use, stopped at the end. A test that kills a
    node starts it again before it ends."""
    cluster = LocalCluster(tmp_path_factory.mktemp("cluster-state"))
    for attempt in range(3):
        try:
            cluster.up(nodes=3, port=free_port_block(6))
            break
        except BrokerError as exc:
            # Other test sessions on this machine may take a port between the check and
            # the JVM's bind; another block of ports is tried then.
            if "already in use" not in str(exc) or attempt == 2:
                raise
            cluster.down(wipe=True)
    try:
        yield cluster
    finally:
        cluster.down(wipe=True)


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_cluster: LocalCluster | None) -> str:
    env = os.environ.get("RIDECTL_TEST_BOOTSTRAP")
    if env:
        return env
    assert kafka_cluster is not None
    state = kafka_cluster.running()
    assert state is not None, "the test broker is not running"
    return state.bootstrap


@pytest.fixture
def new_topic() -> Callable[[str], str]:
    """Unique topic names, so tests never see each other's records."""

    def make(prefix: str = "t") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:10]}"

    return make


@pytest.fixture(autouse=True)
def _isolated_ridectl_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run in tests remember their last run in a temporary directory, not ~."""
    monkeypatch.setenv("RIDECTL_HOME", str(tmp_path / "ridectl-home"))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)


class CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"CliResult(code={self.code}, out={self.out[-2000:]!r}, err={self.err[-2000:]!r})"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``ridectl ARGS...`` in this process, as the console script would."""
    from ridectl.cli import main
    from ridectl.output import console

    def run(*args: str) -> CliResult:
        console.reset()
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
