"""``ridectl proxy`` in front of the real 3-node cluster (``three_nodes`` in conftest): one
listener per broker, metadata that names only the proxy's listeners, and a produce run with a
fault whose records land on every broker through them and are read back and judged."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from conftest import CliResult, free_port_block
from kafka import KafkaAdminClient

from ridectl.broker.local import LocalCluster

pytestmark = [pytest.mark.kafka, pytest.mark.cluster]

READY = re.compile(r"listening on (?P<listen>.+?) \(loopback only\); clients use bootstrap (\S+)")


@dataclass
class RunningProxy:
    process: subprocess.Popen[str]
    listen: list[str]
    bootstrap: str

    def stop(self) -> dict[str, object]:
        """Ctrl-C, as a user stops it; its final counts as JSON."""
        self.process.send_signal(signal.SIGINT)
        out, err = self.process.communicate(timeout=30)
        assert self.process.returncode == 0, err
        stats: dict[str, object] = json.loads(out)
        return stats


@pytest.fixture
def proxy(three_nodes: LocalCluster) -> Iterator[RunningProxy]:
    state = three_nodes.running()
    assert state is not None
    first = free_port_block(3)
    env = {**os.environ, "COLUMNS": "300"}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    command = [
        sys.executable, "-m", "ridectl", "proxy",
        "--upstream", state.bootstrap, "--listen", f"127.0.0.1:{first}",
        "--advertise", "localhost", "--fault", "error:every=5", "--format", "json",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        found = READY.search(line)
        assert found, line + process.stderr.read() if process.poll() is not None else line
        listen = [a.strip() for a in found["listen"].split(",")]
        yield RunningProxy(process, listen, found[2])
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_real_cluster_behind_the_proxy_is_reached_only_through_its_listeners(
    three_nodes: LocalCluster, proxy: RunningProxy, cli: Callable[..., CliResult]
) -> None:
    state = three_nodes.running()
    assert state is not None
    broker_ports = {int(a.rsplit(":", 1)[1]) for a in state.bootstrap.split(",")}
    # One listener per broker, on the ports after --listen's.
    ports = [int(a.rsplit(":", 1)[1]) for a in proxy.listen]
    assert len(ports) == 3 and ports == list(range(ports[0], ports[0] + 3)), proxy.listen
    assert proxy.bootstrap == ",".join(f"localhost:{p}" for p in ports)

    # The cluster as a client learns it through the proxy: three brokers, each at a listener
    # of the proxy under the --advertise name, none at its real port.
    admin = KafkaAdminClient(bootstrap_servers=proxy.bootstrap)
    try:
        brokers = admin.describe_cluster()["brokers"]
    finally:
        admin.close()
    assert len(brokers) == 3
    assert {b["host"] for b in brokers} == {"localhost"}
    assert {b["port"] for b in brokers} == set(ports)
    assert not {b["port"] for b in brokers} & broker_ports

    topic = "proxied-cluster"
    r = cli(
        "produce", "-b", proxy.bootstrap, "-t", topic, "--rides", "200", "--partitions", "3",
        "--replication-factor", "3", "--idempotence", "--acks", "all", "-f", "json",
    )  # fmt: skip
    assert r.code == 0, r
    run = json.loads(r.out)
    assert run["events_acked"] == run["events_sent"] == 1000
    # A new topic of 3 partitions on 3 brokers has one leader on each: the run wrote to all
    # three brokers, each reached through its own listener.
    assert set(run["per_partition"]) == {"0", "1", "2"}, run["per_partition"]
    admin = KafkaAdminClient(bootstrap_servers=state.bootstrap)
    try:
        (described,) = admin.describe_topics([topic])
    finally:
        admin.close()
    leaders = {p["leader_id"] for p in described["partitions"]}
    assert len(leaders) == 3, described

    # Read back through the proxy and judged: idempotence kept every ride whole and in order
    # despite the injected errors.
    r = cli("check", "-b", proxy.bootstrap, "-t", topic, "-f", "json")
    assert r.code == 0, r
    summary = json.loads(r.out)["summary"]
    assert summary["rides"] == 200 and summary["events"] == 1000, summary
    assert all(n == 0 for n in summary["by_kind"].values()), summary

    stats = proxy.stop()
    assert stats["listen"] == proxy.listen
    routes = stats["routes"]
    assert isinstance(routes, dict)
    assert {int(str(v).rsplit(":", 1)[1]) for v in routes.values()} == broker_ports
    injected = stats["faults_injected"]
    assert isinstance(injected, dict) and injected.get("error", 0) > 0, stats
