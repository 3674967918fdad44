"""A real failover: kill -9 of the busiest partition leader of a 3-node cluster mid-run.

Each module run starts its own 3-node cluster in a temporary state directory (never the
session broker) and stops it at the end. The figures of every scenario are printed, so
``pytest -s`` shows them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import CliResult, free_port_block

from ridectl.broker.local import LocalCluster
from ridectl.clients.settings import build_settings
from ridectl.errors import BrokerError
from ridectl.scenarios.failover import FailoverOptions, FailoverResult, run_failover

pytestmark = [pytest.mark.kafka, pytest.mark.cluster]


@pytest.fixture(scope="module")
def three_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    cluster = LocalCluster(tmp_path_factory.mktemp("failover-state"))
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


def _run(cluster: LocalCluster, **kw: object) -> FailoverResult:
    state = cluster.running()
    assert state is not None
    settings = build_settings(state.bootstrap, None, [])
    opts = FailoverOptions(cluster=cluster, settings=settings, rides=10_000, seed=11)
    for k, v in kw.items():
        setattr(opts, k, v)
    result = run_failover(opts)
    print(
        "\n" + result.figures_line(),
        {k: round(v, 1) for k, v in result.timings.items()},
        flush=True,
    )
    return result


def _numbers_add_up(r: FailoverResult) -> None:
    p = r.produced
    assert p.sent == r.events == 50_000
    assert p.acked + p.failed + p.unacknowledged == p.sent
    assert not p.interrupted and p.aborted is None
    assert r.report.rides > 0
    assert r.consumed == r.report.events + r.report.foreign
    assert set(r.led_partitions) and 0 < r.sent_at_kill < p.sent
    # every acknowledged event is either consumed or reported lost
    assert r.report.by_kind["lost"] <= p.acked


@pytest.fixture
def with_failover_command() -> None:
    """Attach ``failover`` to the CLI unless the root app already has it."""
    from ridectl.cli import _register, app
    from ridectl.cli import failover as failover_cli

    _register()
    names = {c.name or getattr(c.callback, "__name__", "") for c in app.registered_commands}
    if "failover" not in names:
        failover_cli.register(app)


@pytest.mark.usefixtures("with_failover_command")
def test_failover_acks_all_idempotent_loses_nothing(
    three_nodes: LocalCluster, cli: Callable[..., CliResult]
) -> None:
    # Through the command, as a user would run it; its JSON carries the figures.
    r = cli(
        "failover", "--state-dir", str(three_nodes.state_dir), "--rides", "10000",
        "--acks", "all", "--idempotence", "--max-in-flight", "5", "--seed", "11", "-f", "json",
    )  # fmt: skip
    assert r.code == 0, r
    doc = json.loads(r.out)
    f = doc["figures"]
    print("\n" + json.dumps(f), flush=True)
    assert "killing node" in r.err and "back in sync" in r.err
    assert f["rides"] == 10_000 and f["events"] == f["sent"] == 50_000
    assert f["acked"] == 50_000 and f["failed"] == 0 and f["consumed"] == 50_000
    assert 0 < f["sent_at_kill"] < 50_000 and f["led_partitions"]
    assert f["lost"] == 0 and f["duplicated"] == 0 and f["out_of_order"] == 0
    assert f["missing"] == 0
    assert doc["report"]["summary"]["by_kind"]["lost"] == 0


def test_failover_without_idempotence_and_with_acks_1(three_nodes: LocalCluster) -> None:
    # No assertion on violations: what a failover does to these settings varies run to run.
    r = _run(three_nodes, acks="all", idempotence=False, max_in_flight=5)
    _numbers_add_up(r)
    r1 = _run(three_nodes, acks="1", idempotence=False, max_in_flight=5)
    _numbers_add_up(r1)


@pytest.mark.usefixtures("with_failover_command")
def test_failover_cli_needs_three_nodes(
    cli: Callable[..., CliResult], tmp_path: Path, kafka_cluster: LocalCluster | None
) -> None:
    r = cli("failover", "--state-dir", str(tmp_path / "none"), "--rides", "10")
    assert r.code == 2, r
    assert r.err.startswith("error: no local cluster is running"), r
    assert "ridectl broker up --nodes 3" in r.err
    assert len(r.err.strip().splitlines()) == 1
    if kafka_cluster is not None:  # the session broker has one node
        r = cli("failover", "--state-dir", str(kafka_cluster.state_dir))
        assert r.code == 2 and "3-node cluster" in r.err, r
    r = cli("failover", "--state-dir", str(tmp_path), "--acks", "1", "--rides", "5")
    assert r.code == 2 and "idempotence needs acks=all" in r.err, r
    r = cli("failover", "--state-dir", str(tmp_path), "--kill-at", "1.5")
    assert r.code == 2 and "--kill-at must be between 0 and 1" in r.err, r


def test_failover_with_the_java_client_kills_the_leader_mid_run(three_nodes: LocalCluster) -> None:
    """The kill is timed by the records handed to the client: a Java run is not held in the
    JVM ahead of its clock here (it would report its sends only at their end, after the whole
    run was acknowledged, and the leader would die with nothing in flight)."""
    from ridectl.clients.base import ClientName

    r = _run(three_nodes, client=ClientName.JAVA)
    _numbers_add_up(r)
